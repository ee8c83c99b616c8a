"""Run study B's own code on a prepared file tree and record what it computed.

Called by ``make_fixtures.py`` with the Python of the study's environment::

    python run_study.py --study-repo DIR --root ROOT --experiment NAME --out OUT

``DIR`` is the study's checkout (``tdw75/beyond-marginal-distributions``); nothing of it is
copied. Its model-serving imports (``peft``, ``transformers``) are replaced by empty stubs:
the statistics never touch them. With ``ROOT`` as the working directory the script runs,
in order, the study's collation functions exactly as ``scripts/generate_marginal_analysis.py``
calls them (without the marginal analyses) and then ``scripts/generate_correlation_analysis.py``'s
``main`` unchanged. Wrappers around the study's functions record, without changing any
result or any random draw:

* every call of ``calculate_correlation_metrics`` (observed, 1000 bootstrap draws, 1000 null
  and 1000 ceiling draws per level), in call order;
* the random indices of the first draws: pandas ``sample`` (the null's shuffles) and
  ``np.random.permutation`` (the split-half ceiling) and ``np.random.choice`` (the
  bootstrap), all from numpy's global generator seeded with 42 by ``main``.

Outputs in ``OUT``: ``study_output.json`` (what the study printed or returned),
``draws.npz`` (per-draw metrics and indices), and its observed means and correlation
matrices (``*.csv``) as the study wrote them.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import shutil
import sys
import types
from pathlib import Path


def _stub_model_serving() -> None:
    """Empty ``peft`` / ``transformers`` so that ``src.simulation.models`` imports."""

    class _Stub:
        @classmethod
        def from_pretrained(cls, *a, **k):  # pragma: no cover - never called
            raise RuntimeError("model serving is stubbed out")

    for name, attrs in {
        "peft": ["PeftModel"],
        "transformers": ["AutoModelForCausalLM", "AutoTokenizer", "PreTrainedTokenizer",
                         "PreTrainedModel"],
    }.items():
        mod = types.ModuleType(name)
        for a in attrs:
            setattr(mod, a, type(a, (_Stub,), {}))
        sys.modules[name] = mod


def _load_script(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def collate(experiment: str) -> None:
    """The data steps of the study's scripts/generate_marginal_analysis.py, in its order."""
    import pandas as pd
    from src.analysis.aggregations import collate_subgroup_data, persist_data_dict
    from src.analysis.io import create_subdirectory
    from src.analysis.responses import get_base_model_responses
    from src.demographics.config import subgroups
    from src.simulation.experiment import load_experiment

    ex = load_experiment(experiment, "")
    sim_dir = os.path.join(ex.files["directory"], "results", experiment)
    sim = pd.read_csv(os.path.join(sim_dir, f"{experiment}-clean.csv"), index_col=0)
    if "final_response" not in sim.columns:
        sim["final_response"] = sim["response_key"]
    sim = sim.loc[sim["number"] != "Q215"]
    all_qnums = list(sim["number"].unique())
    true = pd.read_csv(os.path.join(ex.files["directory"],
                                    "WV7/WVS_Cross-National_Wave_7_csv_v6_0.csv"), index_col=0)
    sim["subgroup"] = sim["subgroup"].fillna("none")
    base = get_base_model_responses(sim[sim["subgroup"] == "none"], all_qnums)
    data = {n: collate_subgroup_data(true, sim, base, s, all_qnums) for n, s in subgroups.items()}
    create_subdirectory(sim_dir, "metrics")
    create_subdirectory(sim_dir, "latex")
    persist_data_dict(data, create_subdirectory(sim_dir, "data"), "subgroup")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--study-repo", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--experiment", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--k-null", type=int, default=200)
    ap.add_argument("--k-ceiling", type=int, default=10)
    ap.add_argument("--k-boot", type=int, default=2)
    args = ap.parse_args(argv)
    study, root, out = Path(args.study_repo), Path(args.root), Path(args.out)
    os.chdir(root)
    sys.path.insert(0, str(study))
    _stub_model_serving()

    import numpy as np
    import pandas as pd
    import scipy
    import sklearn

    collate(args.experiment)

    import src.analysis.correlations as corr
    from src.simulation.models import adapters
    script = _load_script(study / "scripts" / "generate_correlation_analysis.py",
                          "study_generate_correlation_analysis")

    state = {"phase": None, "boot_iter": -1, "calls": 0}
    metric_calls: list[tuple[str, dict]] = []
    null_idx: list[np.ndarray] = []
    ceiling_idx: list[np.ndarray] = []
    boot_idx: list[np.ndarray] = []
    metrics_dir = root / "data_files" / "results" / args.experiment / "metrics"
    snapshot = out / "observed"

    orig_metrics = corr.calculate_correlation_metrics

    def metrics_wrapper(t, m):
        res = orig_metrics(t, m)
        metric_calls.append((state["phase"], {k: float(v) for k, v in res.items()}))
        return res

    corr.calculate_correlation_metrics = metrics_wrapper

    orig_boot_data = corr.bootstrap_subgroup_data

    def boot_data_wrapper(d):
        state["boot_iter"] += 1
        return orig_boot_data(d)

    corr.bootstrap_subgroup_data = boot_data_wrapper

    orig_choice, orig_perm = np.random.choice, np.random.permutation
    n_groups = 10
    n_draws = 1000

    def choice_wrapper(*a, **k):
        res = orig_choice(*a, **k)
        if state["phase"] == "null":
            # pandas sample(frac=1): one call per subgroup column and draw
            draw = state["calls"] // n_groups
            if draw % n_draws < args.k_null:
                null_idx.append(np.asarray(res))
            state["calls"] += 1
        elif state["phase"] == "bootstrap" and state["boot_iter"] < args.k_boot:
            boot_idx.append(np.asarray(res))
        return res

    def perm_wrapper(*a, **k):
        res = orig_perm(*a, **k)
        if state["phase"] == "ceiling":
            draw = state["calls"] // n_groups
            if draw % n_draws < args.k_ceiling:
                ceiling_idx.append(np.asarray(res))
            state["calls"] += 1
        return res

    np.random.choice, np.random.permutation = choice_wrapper, perm_wrapper

    def phase(name, fn, after=None):
        def wrapped(*a, **k):
            state["phase"], state["calls"] = name, 0
            res = fn(*a, **k)
            state["phase"] = None
            if after is not None:
                after()
            return res
        return wrapped

    def keep_observed():
        shutil.copytree(metrics_dir, snapshot)

    returned = {}

    def keep(name, fn):
        # a copy: the study's main later adds rows to these dicts and renames the
        # bootstrap tables' labels in place while writing its LaTeX tables
        def kept(*a, **k):
            res = fn(*a, **k)
            returned[name] = copy.deepcopy(res)
            return res
        return kept

    script.compare_correlation_structures = phase(
        "observed", keep("observed", script.compare_correlation_structures), keep_observed)
    script.compare_correlation_structures_bootstrap = phase(
        "bootstrap", keep("bootstrap", script.compare_correlation_structures_bootstrap))
    script.lower_bound = phase("null", keep("lower_bound", script.lower_bound))
    script.upper_bound = phase("ceiling", keep("upper_bound", script.upper_bound))

    script.main(args.experiment, "")
    np.random.choice, np.random.permutation = orig_choice, orig_perm

    # ---- per-draw metrics, in the study's call order ----------------------------------
    draws = {}
    models = ["opinion_gpt", "persona"]
    by_phase: dict[str, list[dict]] = {}
    for ph, res in metric_calls:
        by_phase.setdefault(ph, []).append(res)
    assert len(by_phase["observed"]) == 4, len(by_phase["observed"])
    boot = by_phase["bootstrap"]
    assert len(boot) == 4 * n_draws, len(boot)
    for i, (grouping, model) in enumerate([(g, m) for g in ("question", "category")
                                           for m in models]):
        for stat in ("pearson_r", "rmse"):
            draws[f"boot_{grouping}_{model}_{stat}"] = np.array([r[stat] for r in boot[i::4]])
    for ph in ("null", "ceiling"):
        calls = by_phase[ph]
        assert len(calls) == 2 * n_draws, (ph, len(calls))
        for j, grouping in enumerate(("question", "category")):
            for stat in ("pearson_r", "rmse"):
                draws[f"{ph}_{grouping}_{stat}"] = np.array(
                    [r[stat] for r in calls[j * n_draws:(j + 1) * n_draws]])

    # ---- indices ---------------------------------------------------------------------------
    k = args.k_null
    assert len(null_idx) == 2 * k * n_groups
    for j, grouping in enumerate(("question", "category")):
        block = null_idx[j * k * n_groups:(j + 1) * k * n_groups]
        draws[f"null_idx_{grouping}"] = np.stack(block).reshape(k, n_groups, -1).astype(np.uint8)
    k = args.k_ceiling
    assert len(ceiling_idx) == 2 * k * n_groups
    sizes = np.array([len(a) for a in ceiling_idx[:n_groups]])
    draws["ceiling_sizes"] = sizes
    for j, grouping in enumerate(("question", "category")):
        block = ceiling_idx[j * k * n_groups:(j + 1) * k * n_groups]
        draws[f"ceiling_idx_{grouping}"] = np.concatenate(block).reshape(k, -1).astype(np.int16)
    subgroup_files = sorted((root / "data_files" / "results" / args.experiment / "data")
                            .glob("subgroup-opinion_gpt-*-responses.csv"))
    sim_cols = list(pd.read_csv(subgroup_files[0], index_col=0).columns)
    n_sim = len(boot_idx[0])
    k = args.k_boot
    assert len(boot_idx) == k * n_groups * len(models) * len(sim_cols), len(boot_idx)
    draws["boot_idx"] = np.stack(boot_idx).reshape(k, n_groups, len(models), len(sim_cols),
                                                   n_sim).astype(np.uint8)
    np.savez_compressed(out / "draws.npz", **draws)

    # ---- what it printed / returned --------------------------------------------------------
    lb_mean, lb_std = returned["lower_bound"]
    ub_mean, ub_std = returned["upper_bound"]
    latex_dir = root / "data_files" / "results" / args.experiment / "latex"
    result = {
        "study": {"repository": "tdw75/beyond-marginal-distributions", "commit": "5025a90",
                  "entry_point": "scripts/generate_correlation_analysis.py:main",
                  "random_seed": 42},
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__,
                     "pandas": pd.__version__, "scipy": scipy.__version__,
                     "scikit-learn": sklearn.__version__},
        "subgroups": list(adapters),
        "sim_columns": sim_cols,
        "observed": returned["observed"],
        "bootstrap_interval": {g: df.to_dict() for g, df in returned["bootstrap"].items()},
        "null": {"mean": lb_mean, "sd": lb_std},
        "ceiling": {"mean": ub_mean, "sd": ub_std},
        "latex": {p.name: p.read_text() for p in sorted(latex_dir.glob("*.tex"))},
        "recorded": {"k_null": args.k_null, "k_ceiling": args.k_ceiling, "k_boot": args.k_boot},
    }
    with open(out / "study_output.json", "w") as fh:
        json.dump(result, fh, indent=1, sort_keys=True, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
