"""Reference outputs of study B's own code, for tests/test_study_b.py.

Usage (from the repository root, in popaudit's environment)::

    python tests/study_b/make_fixtures.py --study-repo DIR --study-python PY

``DIR`` is a checkout of the public repository ``tdw75/beyond-marginal-distributions``
(read at HEAD 5025a90) kept *outside* this repository; ``PY`` is a Python whose
environment has the study's statistical pins (numpy 2.2.3, pandas 2.2.3, scipy 1.15.3,
scikit-learn, pydantic, matplotlib, seaborn, fire, pyyaml). Both can also come from the
environment variables ``STUDY_B_REPO`` and ``STUDY_B_PYTHON``. Nothing of the study's
code is copied here: ``run_study.py`` imports it from ``DIR``.

What it does, for each scenario:

1. popaudit writes a synthetic gold file in the official WVS-7 layout (countries
   assigned from the generator's latent traits, so the study's country groups differ) and
   two simulated populations from popaudit's simulators (``finetuned_like`` as the study's
   "opinion_gpt", ``persona_like`` as its "persona"), 150 answers per item and study
   subgroup, in the study's long "clean" format (invalid answers = -1).
   ``clean``: no missing codes. ``missing``: WVS codes -1 (don't know) and -2 (no answer)
   sprinkled over the items, and -4 (not asked) for Q199 in every BRA interview.
2. ``run_study.py`` (in the study's environment) runs the study's own collation functions
   and its ``scripts/generate_correlation_analysis.py:main`` on these files, recording
   every correlation-metric call and the first permutation / bootstrap indices it drew.
3. The outputs are written to ``tests/fixtures/study_b/<scenario>/`` and the inputs to
   ``tests/fixtures/study_b/inputs/`` (gzip, deterministic).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
OUT = REPO / "tests" / "fixtures" / "study_b"

#: Seed of the synthetic inputs (the study's own seed, 42, is in its experiment config).
SEED = 20261129
N_GOLD = 2000
N_SIM = 150          # simulated answers per item, subgroup and model (the study used 500)
K_NULL, K_CEILING, K_BOOT = 200, 10, 2   # draws whose indices are recorded

#: country -> (ISO numeric, loading on trait 1 traditional->secular, on trait 2
#: survival->self-expression) of the assignment utility; SGP and NLD belong to no study group.
_COUNTRIES = {
    "SGP": (702, 0.0, 0.0), "NLD": (528, 1.2, 1.0), "DEU": (276, 1.0, 0.7),
    "USA": (840, 0.1, 0.9), "MEX": (484, -0.7, 0.4), "BRA": (76, -0.5, 0.1),
    "TUR": (792, -0.8, -0.6), "EGY": (818, -1.2, -1.0),
}

#: The study's subgroups (src/demographics/*.py) in its config order, as pandas rules on the
#: official layout. Used here only to pick the respondents that each steered model imitates.
_STUDY_GROUPS = {
    "liberal": lambda f: f["Q240"].isin([1, 2, 3]),
    "conservative": lambda f: f["Q240"].isin([8, 9, 10]),
    "german": lambda f: f["B_COUNTRY_ALPHA"] == "DEU",
    "american": lambda f: f["B_COUNTRY_ALPHA"] == "USA",
    "latin_america": lambda f: f["B_COUNTRY_ALPHA"].isin(
        ["ARG", "BOL", "BRA", "CHL", "COL", "ECU", "GTM", "MEX", "NIC", "PER", "PRI", "URY",
         "VEN"]),
    "middle_east": lambda f: f["B_COUNTRY_ALPHA"].isin(
        ["CYP", "EGY", "IRN", "IRQ", "JOR", "LBN", "TUR"]),
    "men": lambda f: f["Q260"] == 1,
    "women": lambda f: f["Q260"] == 2,
    "people_over_30": lambda f: f["Q262"].between(30, 45) & ~f["Q261"].between(1900, 1980),
    "old_people": lambda f: f["Q261"].between(1900, 1980),
}

SCENARIOS = {
    "clean": {"missing_rate": 0.0, "not_asked": None},
    "missing": {"missing_rate": 0.08, "not_asked": ("Q199", "BRA")},
}


def gold_frame(missing_rate: float, not_asked, seed: int = SEED) -> pd.DataFrame:
    """A pooled multi-country gold file in the official WVS-7 layout (synthetic)."""
    from popaudit.datasets import wvs_like_frame, wvs_like_truth

    frame = wvs_like_frame(N_GOLD, seed, missing_rate=missing_rate, not_national_rate=0.0)
    scores = wvs_like_truth(N_GOLD, seed, missing_rate=missing_rate,
                            not_national_rate=0.0).scores.to_numpy()
    names = list(_COUNTRIES)
    load = np.array([[v[1], v[2]] for v in _COUNTRIES.values()])
    util = 1.5 * scores[:, :2] @ load.T
    p = np.exp(util - util.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rng = np.random.default_rng(seed + 1)
    u = rng.random(len(frame))
    country = np.array(names)[(p.cumsum(axis=1) < u[:, None]).sum(axis=1)]
    frame["B_COUNTRY_ALPHA"] = country.astype(object)
    frame["B_COUNTRY"] = np.array([_COUNTRIES[c][0] for c in country], dtype=np.int64)
    frame["D_INTERVIEW"] = frame["B_COUNTRY"] * 100_000 + np.arange(1, len(frame) + 1)
    if not_asked is not None:
        item, iso = not_asked
        frame.loc[frame["B_COUNTRY_ALPHA"] == iso, item] = -4
    return frame


def simulated(frame: pd.DataFrame, seed: int = SEED) -> pd.DataFrame:
    """Wide table: model, subgroup, then the 27 items as codes (-1 = missing or invalid)."""
    from popaudit import Survey
    from popaudit.datasets import codebook_items, finetuned_like, persona_like

    gold = Survey(frame, codebook_items(), demographics=["B_COUNTRY_ALPHA", "Q260", "Q262"],
                  weights="W_WEIGHT", name="gold")
    cells = ["B_COUNTRY_ALPHA", "Q260"]
    models = {
        "opinion_gpt": finetuned_like(gold, seed=seed + 2, by=cells, blocks=3, invalid_rate=0.01),
        "persona": persona_like(gold, seed=seed + 3, by=cells, invalid_rate=0.02),
    }
    rng = np.random.default_rng(seed + 4)
    parts = []
    for model, sim in models.items():
        codes = sim.responses().astype("float").fillna(-1).astype(np.int64)
        for group, rule in _STUDY_GROUPS.items():
            pos = np.flatnonzero(rule(frame).to_numpy())
            take = rng.choice(pos, size=N_SIM, replace=pos.size < N_SIM)
            part = codes.iloc[take].reset_index(drop=True)
            part.insert(0, "subgroup", group)
            part.insert(0, "model", model)
            parts.append(part)
    # the un-steered base model (loaded by the study's scripts, unused by its correlations)
    codes = models["persona"].responses().astype("float").fillna(-1).astype(np.int64)
    part = codes.iloc[rng.choice(len(codes), size=N_SIM, replace=False)].reset_index(drop=True)
    part.insert(0, "subgroup", "none")
    part.insert(0, "model", "base")
    parts.append(part)
    return pd.concat(parts, ignore_index=True)


def study_long(sim: pd.DataFrame) -> pd.DataFrame:
    """The study's ``<experiment>-clean.csv``: one row per generated answer."""
    items = [c for c in sim.columns if c not in ("model", "subgroup")]
    rows = []
    for (model, group), part in sim.groupby(["model", "subgroup"], sort=False):
        for q in items:
            rows.append(pd.DataFrame({
                "number": q,
                "subgroup": np.nan if group == "none" else group,
                "is_lora": model == "opinion_gpt",
                "final_response": part[q].to_numpy(),
            }))
    return pd.concat(rows, ignore_index=True)


def response_maps() -> dict:
    """``variables/response_map_original.json`` for the synthetic items (WVS value labels)."""
    from popaudit.datasets import WVS7_ITEMS, official_value_labels

    labels = official_value_labels("SGP")
    return {q: {str(k): v for k, v in sorted(labels[q].items())} for q in WVS7_ITEMS}


def write_gz(src: Path, dst: Path) -> None:
    with open(src, "rb") as fh, open(dst, "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        shutil.copyfileobj(fh, gz)


def prepare(scenario: str, work: Path) -> Path:
    """Write the scenario's inputs (checked in) and the study's file tree under ``work``."""
    from popaudit.data.io import write_table
    from popaudit.datasets import official_value_labels

    spec = SCENARIOS[scenario]
    frame = gold_frame(spec["missing_rate"], spec["not_asked"])
    sim = simulated(frame)
    root = work / scenario
    data = root / "data_files"
    (data / "WV7").mkdir(parents=True)
    (data / "variables").mkdir()
    exp = f"synthetic_{scenario}"
    (data / "results" / exp).mkdir(parents=True)
    (root / "experiments").mkdir()
    wvs = write_table(frame, data / "WV7" / "WVS_Cross-National_Wave_7_csv_v6_0.csv",
                      value_labels=official_value_labels("SGP"))
    study_long(sim).to_csv(data / "results" / exp / f"{exp}-clean.csv")
    with open(data / "variables" / "response_map_original.json", "w") as fh:
        json.dump(response_maps(), fh)
    # the study's experiment config: its base.yaml sets random_seed 42
    base = ("setup:\n  name: \"base\"\n  random_seed: 42\n\nfiles:\n  directory: \"data_files\"\n"
            "  variables: \"variables.csv\"\n  subset: \"final_subset.json\"\n\n"
            "simulation:\n  sample_size: 500\n  batch_size: 100\n")
    (root / "experiments" / "base.yaml").write_text(base)
    (root / "experiments" / f"{exp}.yaml").write_text(f"setup:\n  name: \"{exp}\"\n")
    inputs = OUT / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    write_gz(wvs, inputs / f"{scenario}_wvs7.csv.gz")
    sim_csv = root / "sim_wide.csv"
    sim.to_csv(sim_csv, index=False)
    write_gz(sim_csv, inputs / f"{scenario}_sim.csv.gz")
    return root


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--study-repo", default=os.environ.get("STUDY_B_REPO"),
                    help="checkout of tdw75/beyond-marginal-distributions (outside this repo)")
    ap.add_argument("--study-python", default=os.environ.get("STUDY_B_PYTHON", sys.executable),
                    help="python of an environment with the study's pins")
    ap.add_argument("--scenario", action="append", choices=sorted(SCENARIOS),
                    help="scenario(s) to build (default: all)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary study tree")
    args = ap.parse_args(argv)
    if not args.study_repo or not Path(args.study_repo, "src", "analysis",
                                           "correlations.py").exists():
        ap.error("--study-repo (or STUDY_B_REPO) must point at a checkout of "
                 "tdw75/beyond-marginal-distributions")
    study_repo = Path(args.study_repo).resolve()
    if REPO in study_repo.parents or study_repo == REPO:
        ap.error("keep the study's checkout outside this repository")
    work = Path(tempfile.mkdtemp(prefix="study_b_"))
    try:
        for scenario in args.scenario or list(SCENARIOS):
            root = prepare(scenario, work)
            out = OUT / scenario
            if out.exists():
                shutil.rmtree(out)
            out.mkdir(parents=True)
            cmd = [args.study_python, str(HERE / "run_study.py"), "--study-repo", str(study_repo),
                   "--root", str(root), "--experiment", f"synthetic_{scenario}",
                   "--out", str(out), "--k-null", str(K_NULL), "--k-ceiling", str(K_CEILING),
                   "--k-boot", str(K_BOOT)]
            print(f"[{scenario}] running the study's code ...", flush=True)
            subprocess.run(cmd, check=True, cwd=root)
            meta = json.loads((out / "study_output.json").read_text())
            meta["inputs"] = {"seed": SEED, "n_gold": N_GOLD, "n_sim_per_group": N_SIM,
                              **{k: v for k, v in SCENARIOS[scenario].items()}}
            (out / "study_output.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
            print(f"[{scenario}] wrote {out.relative_to(REPO)}", flush=True)
    finally:
        if args.keep:
            print(f"study tree kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
