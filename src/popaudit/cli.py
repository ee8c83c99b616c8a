"""Command line: ``popaudit demo``, ``popaudit audit``, ``popaudit polychoric``.

The CLI is the only place that prints; it writes results into a folder.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["main"]


class _Progress:
    """Step messages with elapsed time on stderr."""

    def __init__(self, quiet: bool = False) -> None:
        self.t0 = time.perf_counter()
        self.quiet = quiet

    def __call__(self, msg: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.t0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def _write_report(rep, out: Path, figures: dict) -> dict[str, str]:
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    rep.to_csv(out / "results.csv")
    rep.to_json(out / "summary.json")
    files = {}
    for name, fig in figures.items():
        path = out / f"{name}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        files[name.replace("_", " ")] = path.name
    rep.to_html(out / "report.html", figures=files)
    return files


def _summary_text(rep) -> str:
    wide = rep.summary.pivot_table(index="metric", columns="population", values="value",
                                   aggfunc="first", sort=False, dropna=False)
    wide = wide[[p for p in rep.populations if p in wide.columns]]
    text = wide.to_string(float_format=lambda x: f"{x:8.3f}")
    notes = rep.summary.dropna(subset=["note"]) if "note" in rep.summary else rep.summary[:0]
    for _, row in notes.iterrows():
        text += f"\n  {row['population']}, {row['metric']}: {row['note']}"
    return text


def _demo_figures(gold, sims, rep) -> dict:
    from popaudit import plots
    from popaudit.data.distributions import answer_distributions

    figs = {}
    gd = answer_distributions(gold)
    sd = {name: answer_distributions(s) for name, s in sims.items()}
    figs["marginals"] = plots.plot_marginals(gd, sd)
    per_sub = {name: rep.results[("modal", name)].per_subgroup for name in sims}
    ax = plots.plot_subgroup_metric(per_sub, "accuracy")
    ax.set_title("Modal accuracy by subgroup (sex x age band)")
    figs["modal_accuracy_by_subgroup"] = ax.figure
    disp = rep.results.get(("disparity", "all"))
    if disp is not None:
        per = disp.per_subgroup
        two = {name: per[per["population"] == name] for name in ("persona", "finetuned")}
        for metric in ("accuracy", "nmae"):
            ax = plots.plot_subgroup_metric(two, metric, value="value", ci=("ci_low", "ci_high"))
            ax.set_title(f"Study A subgroups: {metric} with bootstrap CIs")
            figs[f"subgroup_{metric}"] = ax.figure
    for name in ("persona", "shuffled"):
        cmp = rep.results.get(("structure", name))
        if cmp is not None:
            figs[f"polychoric_{name}"] = plots.plot_correlation_heatmaps(
                cmp.gold, cmp.sim, titles=("gold", name, f"{name} - gold"))
    structural = {name: rep.results[("structure", name)] for name in sims
                  if ("structure", name) in rep.results}
    if structural:
        ax = plots.plot_noise_floor(structural, "rmse")
        ax.set_title("Polychoric RMSE against gold's noise floor")
        figs["noise_floor_rmse"] = ax.figure
    cm = rep.results.get(("cultural_map", "all"))
    if cm is not None:
        figs["cultural_map"] = plots.plot_cultural_map(cm, subgroups=False).figure
        figs["iw_loadings"] = plots.plot_loadings(cm.gold_loadings, cm.simulated_loadings)
    return figs


def cmd_demo(args) -> int:
    import warnings

    from popaudit import datasets
    from popaudit.auditing import audit
    from popaudit.data.wvs import wvs_survey
    from popaudit.subgroups.definition import study_a_subgroups

    say = _Progress(args.quiet)
    t0 = time.perf_counter()
    say(f"generating synthetic gold (n={args.n}, seed={args.seed}) and simulated populations")
    gold = wvs_survey(datasets.wvs_like_frame(n=args.n, seed=args.seed), name="gold")
    sims = datasets.simulated_populations(gold, seed=args.seed + 1)
    by = ["sex", "age_group"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        subgroups = study_a_subgroups(gold)
    rep = audit(gold, sims, by=by, subgroups=subgroups, seed=args.seed, n_boot=args.n_boot,
                n_null=args.n_boot, progress=say)
    say("drawing figures")
    figs = _demo_figures(gold, sims, rep)
    out = Path(args.out)
    files = _write_report(rep, out, figs)
    elapsed = time.perf_counter() - t0
    print(f"popaudit demo: synthetic WVS-like gold, n = {gold.n_respondents}, "
          f"{gold.n_items} items; subgroups by {' x '.join(by)}; study A subgroups: "
          f"{int(subgroups.table['kept'].sum())} kept")
    for w in caught:
        print(f"note: {str(w.message).splitlines()[0]}")
    print(_summary_text(rep))
    print(f"\nwrote {out}/: results.csv ({len(rep.table)} rows), summary.json, report.html, "
          + ", ".join(f"{f}" for f in files.values()))
    print(f"done in {elapsed:.1f} s")
    return 0


def cmd_audit(args) -> int:
    from popaudit.auditing import audit
    from popaudit.data.io import read_survey

    say = _Progress(args.quiet)
    items = args.items.split(",") if args.items else None
    by = args.by.split(",") if args.by else []
    say(f"reading gold {args.gold}")
    gold = read_survey(args.gold, items=items, demographics=by, weights=args.weights,
                       name="gold")
    sims = {}
    for path in args.simulated:
        say(f"reading simulated {path}")
        s = read_survey(path, items=gold.items, demographics=by, out_of_scale="invalid")
        sims[s.name] = s
    rep = audit(gold, sims, by=by or None, seed=args.seed, n_boot=args.n_boot,
                n_null=args.n_boot, structure=not args.no_structure, progress=say)
    _write_report(rep, Path(args.out), {})
    print(_summary_text(rep))
    print(f"\nwrote {args.out}/")
    return 0


def cmd_polychoric(args) -> int:
    from popaudit.data.io import read_survey
    from popaudit.structure.polychoric import polychoric

    items = args.items.split(",") if args.items else None
    s = read_survey(args.path, items=items, weights=args.weights)
    res = polychoric(s, se=args.se)
    out = Path(args.out)
    res.corr.to_csv(out)
    print(f"wrote {out}: {len(res.item_names)} x {len(res.item_names)} polychoric matrix")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="popaudit", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="audit simulated populations of the built-in synthetic data")
    d.add_argument("--out", default="popaudit-demo", help="output folder (default: %(default)s)")
    d.add_argument("--n", type=int, default=3000, help="gold sample size (default: %(default)s)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--n-boot", type=int, default=50,
                   help="bootstrap draws and gold resamples (default: %(default)s)")
    d.add_argument("--quiet", action="store_true", help="no progress messages")
    d.set_defaults(func=cmd_demo)

    a = sub.add_parser("audit", help="audit simulated survey files against a gold file")
    a.add_argument("gold", help="gold survey file (.csv, .parquet, .sav, .dta)")
    a.add_argument("simulated", nargs="+", help="simulated survey file(s), same item columns")
    a.add_argument("--items", help="comma-separated item columns (default: all but --by/--weights)")
    a.add_argument("--by", help="comma-separated demographic columns defining subgroups")
    a.add_argument("--weights", help="weight column of the gold file")
    a.add_argument("--out", default="popaudit-report")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--n-boot", type=int, default=200,
                   help="bootstrap draws and gold resamples (default: %(default)s)")
    a.add_argument("--no-structure", action="store_true",
                   help="skip the polychoric structure comparison")
    a.add_argument("--quiet", action="store_true")
    a.set_defaults(func=cmd_audit)

    c = sub.add_parser("polychoric", help="polychoric correlation matrix of a survey file")
    c.add_argument("path")
    c.add_argument("--items")
    c.add_argument("--weights")
    c.add_argument("--se", action="store_true")
    c.add_argument("--out", default="polychoric.csv")
    c.set_defaults(func=cmd_polychoric)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(f"popaudit: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
