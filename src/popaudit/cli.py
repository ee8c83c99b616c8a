"""Command line: ``popaudit demo``, ``audit``, ``polychoric`` and ``sweep``.

The CLI is the only place that prints. Every command writes its results into the
folder named by ``--out``; step messages and progress go to stderr, the summary to
stdout.
"""

from __future__ import annotations

import argparse
import glob
import re
import sys
import time
import warnings
from pathlib import Path

__all__ = ["build_parser", "main"]

_DESCRIPTION = """\
Audit simulated survey populations (LLM personas, fine-tuned or otherwise steered
models) against real survey data: marginals, subgroup modes, subgroup disparity,
polychoric structure, factors and the Inglehart-Welzel cultural map, each read
against its sampling noise floor."""

_EPILOG = """\
Every command writes into the folder named by --out (created if needed); a sweep
writes into the store its configuration file names.

examples:
  popaudit demo
  popaudit audit gold.csv persona.csv finetuned.csv --by Q260,X003R --weights W_WEIGHT
  popaudit audit gold.sav model.csv --codebook codebook.json --out my-audit
  popaudit polychoric gold.csv --weights W_WEIGHT --se --out gold-polychoric
  popaudit sweep sweep.toml --scheduler tcp://scheduler:8786

Documentation: README.md and docs/cli.md in the source tree."""

_SURVEY_FORMATS = ".csv, .tsv, .parquet, SPSS .sav, Stata .dta"

# suffixes that make an --out value look like a file rather than a folder
_FILE_SUFFIXES = {".csv", ".tsv", ".json", ".html", ".htm", ".png", ".parquet", ".txt"}


class _Say:
    """Step messages with elapsed time on stderr (silent with --quiet)."""

    def __init__(self, quiet: bool = False) -> None:
        self.t0 = time.perf_counter()
        self.quiet = quiet

    def __call__(self, msg: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.t0:6.1f}s] {msg}", file=sys.stderr, flush=True)


class CLIError(ValueError):
    """A user error the CLI reports in one line."""


# ---------------------------------------------------------------------------
# Reading survey files with checks the user can act on
# ---------------------------------------------------------------------------

def _columns_of(path: Path) -> list[str]:
    """Column names of a survey file, read without its data."""
    from popaudit.data.io import _format_of

    if not path.exists():
        raise FileNotFoundError(f"no such survey file: {path}")
    fmt = _format_of(path, None)
    if fmt in ("csv", "tsv"):
        import pandas as pd

        return [str(c) for c in pd.read_csv(path, sep="\t" if fmt == "tsv" else ",",
                                            nrows=0).columns]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    import pyreadstat

    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    _, meta = reader(str(path), metadataonly=True)
    return list(meta.column_names)


def _listing(columns: list[str], limit: int = 12) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    return shown + (f" ... ({len(columns)} columns)" if len(columns) > limit else "")


def _require(path: Path, columns: list[str], wanted: list[str], what: str) -> None:
    missing = [c for c in wanted if c not in columns]
    if not missing:
        return
    import difflib

    names = ", ".join(repr(c) for c in missing)
    noun = "column" if len(missing) == 1 else "columns"
    close = [m for c in missing for m in difflib.get_close_matches(c, columns, n=2, cutoff=0.5)]
    hint = f" (did you mean {', '.join(repr(c) for c in dict.fromkeys(close))}?)" if close else ""
    raise CLIError(f"{noun} {names} ({what}) not found in {path.name}{hint}; its columns are "
                   f"{_listing(columns)}")


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def _item_specs(args, path: Path, columns: list[str], say) -> list:
    """Items of the gold file: names or Item objects (codebook file, then WVS-7 codebook)."""
    from popaudit.data.codebook import WVS7_ITEMS, codebook, codebook_items, read_codebook

    by, weights = _split(args.by), args.weights
    declared = read_codebook(args.codebook) if args.codebook else {}
    if args.items:
        names = _split(args.items)
        _require(path, columns, names, "--items")
    elif declared:
        names = [n for n in declared if n in columns]
        absent = [n for n in declared if n not in columns]
        if not names:
            raise CLIError(f"none of the items in the codebook {Path(args.codebook).name} is a "
                           f"column of {path.name}; its columns are "
                           f"{_listing(columns)}")
        if absent:
            say(f"codebook items not in the gold file, left out: {', '.join(absent)}")
    else:
        names = [c for c in columns if c not in set(by) | {weights}]
    wvs = [] if args.no_wvs_codebook else [n for n in names
                                           if n in set(WVS7_ITEMS) and n not in declared]
    if wvs and not args.items and not declared:
        # a WVS-layout file: its demographic and administrative columns are not items
        cb = codebook()
        other = (set(cb["demographics"]) | set(cb["admin"])) - set(WVS7_ITEMS)
        dropped = [n for n in names if n in other]
        names = [n for n in names if n not in other]
        if dropped:
            say(f"WVS layout: not items (demographic / administrative): {', '.join(dropped)}")
    if not names:
        raise CLIError(f"no item columns left in {path.name} after --by and "
                       "--weights; name them with --items")
    if wvs:
        say(f"scales of {len(wvs)} item(s) from the shipped WVS-7 codebook "
            f"({wvs[0]} ... {wvs[-1]}); --no-wvs-codebook infers them from the data")
    wvs_items = dict(zip(wvs, codebook_items(wvs))) if wvs else {}
    return [declared.get(n) or wvs_items.get(n) or n for n in names]


def _with_hint(exc: ValueError) -> CLIError:
    """Turn a data error into one that says which CLI option fixes it."""
    msg = re.sub(r"np\.(?:float|int)\d+\(([^)]*)\)", r"\1", str(exc))
    m = re.search(r"item '([^']+)' has non-integer code", msg)
    if m:
        col = m.group(1)
        msg += (f". If {col!r} holds survey weights, name it with --weights {col}; name "
                f"demographic columns with --by, or choose the items with --items")
    return CLIError(msg)


def _read_gold(args, say, path: Path, name: str = "gold"):
    from popaudit.data.io import read_survey

    columns = _columns_of(path)
    by = _split(args.by)
    _require(path, columns, by, "--by")
    if args.weights:
        _require(path, columns, [args.weights], "--weights")
    items = _item_specs(args, path, columns, say)
    say(f"reading {name} {path} ({len(items)} items)")
    try:
        return read_survey(path, items=items, demographics=by, weights=args.weights,
                           name=name)
    except ValueError as exc:
        raise _with_hint(exc) from None


def _read_simulated(path: Path, gold, by: list[str], say):
    from popaudit.data.io import read_survey

    columns = _columns_of(path)
    lacking = [n for n in gold.item_names if n not in columns]
    if lacking:
        names = ", ".join(repr(n) for n in lacking[:10]) + (" ..." if len(lacking) > 10 else "")
        raise CLIError(f"simulated file {path.name} lacks {len(lacking)} of gold's "
                       f"{gold.n_items} item columns: {names}; add them, or audit fewer items "
                       f"with --items")
    _require(path, columns, by, "--by; every simulated file needs the demographic columns")
    say(f"reading simulated {path}")
    try:
        return read_survey(path, items=gold.items, demographics=by, out_of_scale="invalid")
    except ValueError as exc:
        raise _with_hint(exc) from None


def _out_folder(value: str, writes: str) -> Path:
    out = Path(value)
    if out.suffix.lower() in _FILE_SUFFIXES:
        raise CLIError(f"--out names a folder (popaudit writes {writes} into it); "
                       f"{value!r} looks like a file name: pass a folder such as "
                       f"{str(out.with_suffix(''))!r}")
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {value!r} is a file; pass a folder (popaudit writes {writes} "
                       "into it)")
    out.mkdir(parents=True, exist_ok=True)
    return out


# ---------------------------------------------------------------------------
# Writing results
# ---------------------------------------------------------------------------

def _write_report(rep, out: Path, figures: dict) -> list[str]:
    """results.csv (+ .parquet), summary.json, one PNG per figure, report.html; the names."""
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    written = ["results.csv"]
    rep.to_csv(out / "results.csv")
    try:
        rep.to_parquet(out / "results.parquet")
        written.append("results.parquet")
    except ImportError:  # pyarrow is optional (popaudit[io])
        pass
    rep.to_json(out / "summary.json")
    pngs = {}
    for name, fig in figures.items():
        path = out / f"{name}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        pngs[name] = path
    files = {"full table": "results.csv"}
    if "results.parquet" in written:
        files["full table, Parquet"] = "results.parquet"
    files["headline numbers"] = "summary.json"
    rep.to_html(out / "report.html", figures=pngs, files=files)
    return [*written, "summary.json", "report.html", *(p.name for p in pngs.values())]


def _summary_text(rep) -> str:
    """Headline numbers: one row per statistic, one column per population."""
    summary = rep.summary
    if summary.empty:
        return "(no headline numbers)"
    key = "statistic" if "statistic" in summary.columns else "metric"
    wide = summary.pivot_table(index=key, columns="population", values="value",
                               aggfunc="first", sort=False, dropna=False)
    wide = wide[[p for p in rep.populations if p in wide.columns]]
    text = wide.to_string(float_format=lambda x: f"{x:8.3f}")
    if "verdict" in summary.columns:
        beyond = summary[summary["verdict"] == "beyond floor"]
        if len(beyond):
            text += "\n\nbeyond gold's noise floor:"
            for pop, rows in beyond.groupby("population", sort=False):
                text += f"\n  {pop}: " + ", ".join(map(str, rows[key]))
    notes = summary.dropna(subset=["note"]) if "note" in summary else summary[:0]
    for _, row in notes.iterrows():
        text += f"\n  {row['population']}, {row[key]}: {row['note']}"
    return text


def _notes(caught, rep=None) -> list[str]:
    """The report's notes and the other warnings of a command: first lines, each once.

    ``audit`` collects the warnings raised inside it into ``report.notes`` and then warns
    that it did (and repeats its failures); those repeats are not printed again.
    """
    lines = [str(n).removeprefix("warning: ") for n in getattr(rep, "notes", ())]
    known = set(lines)
    for w in caught:
        msg = str(w.message)
        if "they are in report.notes" in msg or msg.split("; ")[0] in known:
            continue
        lines.append(msg)
    return list(dict.fromkeys(line.splitlines()[0] for line in lines if line.strip()))


def _finish(rep, out: Path, figs: dict, caught, elapsed: float) -> None:
    files = _write_report(rep, out, figs)
    print(_summary_text(rep))
    if hasattr(rep, "overview"):
        print("\n" + rep.overview())
    notes = _notes(caught, rep)
    if notes:
        print("\nnotes:")
        for note in notes:
            print(f"  - {note}")
    print(f"\nwrote {out}/ ({len(rep.table)} result rows): {', '.join(files)}")
    print(f"done in {elapsed:.1f} s")


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------

def cmd_demo(args) -> int:
    from popaudit import datasets
    from popaudit.auditing import audit
    from popaudit.data.wvs import wvs_survey
    from popaudit.subgroups.definition import study_a_subgroups

    say = _Say(args.quiet)
    t0 = time.perf_counter()
    out = _out_folder(args.out, "report.html, results.csv, summary.json and figures")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        say(f"generating synthetic gold (n={args.n}, seed={args.seed}) and simulated populations")
        gold = wvs_survey(datasets.wvs_like_frame(n=args.n, seed=args.seed), name="gold")
        sims = datasets.simulated_populations(gold, seed=args.seed + 1)
        by = ["sex", "age_group"]
        subgroups = study_a_subgroups(gold)
        rep = audit(gold, sims, by=by, subgroups=subgroups, seed=args.seed,
                    n_boot=args.n_boot, n_null=args.n_boot, progress=say)
        say("drawing figures")
        figs = rep.figures(gold, sims)
    print(f"popaudit demo: synthetic WVS-like gold, n = {gold.n_respondents}, "
          f"{gold.n_items} items; subgroups by {' x '.join(by)}; study A subgroups: "
          f"{int(subgroups.table['kept'].sum())} kept")
    _finish(rep, out, figs, caught, time.perf_counter() - t0)
    return 0


def cmd_audit(args) -> int:
    from popaudit.auditing import audit

    say = _Say(args.quiet)
    t0 = time.perf_counter()
    out = _out_folder(args.out, "report.html, results.csv, summary.json and figures")
    by = _split(args.by)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gold = _read_gold(args, say, Path(args.gold))
        sims = {}
        for path in map(Path, args.simulated):
            s = _read_simulated(path, gold, by, say)
            if s.name in sims:
                raise CLIError(f"two simulated files are named {s.name!r}; rename one (the "
                               "file name is the population's name)")
            sims[s.name] = s
        rep = audit(gold, sims, by=by or None, seed=args.seed, n_boot=args.n_boot,
                    n_null=args.n_boot, structure=not args.no_structure,
                    factors=args.factors, progress=say)
        say("drawing figures")
        figs = rep.figures(gold, sims)
    _finish(rep, out, figs, caught, time.perf_counter() - t0)
    return 0


def cmd_polychoric(args) -> int:
    from popaudit.structure.polychoric import polychoric

    say = _Say(args.quiet)
    out = _out_folder(args.out, "polychoric.csv, pairwise_n.csv and thresholds.csv")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = _read_gold(args, say, Path(args.path), name="survey")
        nominal = [it.name for it in s.items if it.kind == "nominal"]
        if nominal and not args.items:
            # polychoric correlations need ordered categories; the user did not ask for these
            say(f"nominal items left out (no order for polychoric correlations): "
                f"{', '.join(nominal)}")
            s = s.select([it.name for it in s.items if it.kind != "nominal"])
        say(f"polychoric correlations of {s.n_items} items, {s.n_respondents} respondents")
        res = polychoric(s, se=args.se)
    import pandas as pd

    res.corr.to_csv(out / "polychoric.csv")
    res.n.to_csv(out / "pairwise_n.csv")
    rows = [{"item": item, "threshold": k + 1, "value": float(v)}
            for item, th in res.thresholds.items() for k, v in enumerate(th)]
    pd.DataFrame(rows, columns=["item", "threshold", "value"]).to_csv(
        out / "thresholds.csv", index=False)
    written = ["polychoric.csv", "pairwise_n.csv", "thresholds.csv"]
    if args.se and res.se is not None:
        res.se.to_csv(out / "polychoric_se.csv")
        written.append("polychoric_se.csv")
    p = len(res.item_names)
    print(f"{p} x {p} polychoric matrix of {s.n_respondents} respondents"
          + ("" if res.is_pd else "; not positive definite")
          + ("; repaired to the nearest correlation matrix" if res.pd_repaired else ""))
    for note in _notes(caught):
        print(f"note: {note}")
    print(f"wrote {out}/: {', '.join(written)}")
    return 0


# ---------------------------------------------------------------------------
# popaudit sweep: a TOML file describes the sweep
# ---------------------------------------------------------------------------

#: Keys of a sweep file: key -> (accepted types, meaning). Paths are relative to the file.
SWEEP_KEYS = {
    "gold": ((str,), "gold survey file (all splits)"),
    "populations": ((dict,), "table: population name -> file or glob pattern"),
    "split_by": ((str,), "column whose values split the sweep (a country column, say)"),
    "components": ((list,), "audit components (default marginal, modal, invalid, structure)"),
    "store": ((str,), "folder of the results, one Parquet file per task (default sweep-store)"),
    "scheduler": ((str,), "address of a running Dask scheduler (default: a local cluster)"),
    "n_boot": ((int,), "bootstrap draws (default 200)"),
    "n_null": ((int,), "gold resamples of the noise floors (default n_boot)"),
    "seed": ((int,), "the sweep's seed; each task's derives from it and its name (default 0)"),
    "by": ((str, list), "demographic columns whose crossing defines the subgroups"),
    "items": ((str, list), "item columns (default: as popaudit audit)"),
    "codebook": ((str,), "codebook file declaring item scales"),
    "weights": ((str,), "column of survey weights in the gold file"),
    "no_wvs_codebook": ((bool,), "infer WVS-7 items' scales from the data"),
    "factors": ((int,), "also compare K-factor solutions"),
}


def _sweep_config(path: Path) -> dict:
    """The sweep file, checked: known keys of the right types, paths made absolute."""
    import tomllib

    if not path.exists():
        raise FileNotFoundError(f"no such sweep file: {path}")
    try:
        with path.open("rb") as fh:
            conf = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise CLIError(f"{path.name} is not valid TOML: {exc}") from None
    unknown = [k for k in conf if k not in SWEEP_KEYS]
    if unknown:
        import difflib

        close = [m for k in unknown for m in difflib.get_close_matches(k, SWEEP_KEYS, n=1)]
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise CLIError(f"unknown key(s) {', '.join(map(repr, unknown))} in {path.name}{hint}; "
                       f"the keys are {', '.join(SWEEP_KEYS)}")
    for key, value in conf.items():
        types = SWEEP_KEYS[key][0]
        if not isinstance(value, types) or (bool in types) != isinstance(value, bool):
            want = " or ".join({"str": "a string", "dict": "a table", "list": "a list",
                                "int": "an integer", "bool": "true or false"}[t.__name__]
                               for t in types)
            raise CLIError(f"{path.name}: {key} must be {want} ({SWEEP_KEYS[key][1]}), got "
                           f"{value!r}")
    for key in ("gold", "populations"):
        if key not in conf:
            raise CLIError(f"{path.name} has no {key!r} ({SWEEP_KEYS[key][1]})")
    if not conf["populations"]:
        raise CLIError(f"{path.name}: the populations table is empty")
    root = path.resolve().parent
    where = {k: str(root / conf[k]) for k in ("gold", "codebook") if k in conf}
    pops = {}
    for name, pattern in conf["populations"].items():
        if not isinstance(pattern, str):
            raise CLIError(f"{path.name}: population {name!r} must be a file or glob pattern "
                           f"(a string), got {pattern!r}")
        full = str(root / pattern)
        if glob.has_magic(full):  # one population per file, named like popaudit.sweep does
            files = sorted(glob.glob(full))
            if not files:
                raise CLIError(f"{path.name}: population {name!r}: no file matches {pattern!r}")
            pops.update({f"{name}/{Path(f).stem}": f for f in files})
        else:
            pops[str(name)] = full
    return {**conf, **where, "populations": pops,
            "store": str(root / conf.get("store", "sweep-store"))}


def _sweep_scorecard(result) -> str:
    """Each component's headline per population: mean over splits, splits beyond the floor."""
    import pandas as pd

    from popaudit.report import SECTIONS

    summ = result.summary
    if summ.empty:
        return "(no headline numbers)"
    n_splits = summ["split"].nunique()
    order = [c for c in SECTIONS if c in set(summ["component"])]
    order += [c for c in dict.fromkeys(summ["component"]) if c not in order]
    columns = {}
    for comp in order:
        rows = summ[summ["component"] == comp]
        have = list(dict.fromkeys(rows["statistic"]))
        stat = next((h for h in SECTIONS[comp].headline if h in have), None) \
            if comp in SECTIONS else None
        rows = rows[rows["statistic"] == (stat or have[0])]
        cells = {}
        for pop, r in rows.groupby("population", sort=False):
            vals = pd.to_numeric(r["value"], errors="coerce")
            judged = r["verdict"].isin(["beyond floor", "within noise"])
            text = f"{vals.mean():.3f}" if vals.notna().any() else "undefined"
            if judged.any():
                text += f" ({int((r['verdict'] == 'beyond floor').sum())}/{int(judged.sum())})"
            cells[pop] = text
        columns[(comp, stat or have[0])] = cells
    table = pd.DataFrame(columns)
    table = table.reindex(sorted(set(result.tasks["population"]))).fillna("-")
    table.index.name = "population"
    return (f"scorecard: mean over {n_splits} split(s); (k/n): beyond gold's noise floor in "
            f"k of the n splits with a floor\n{table.to_string()}")


def cmd_sweep(args) -> int:
    from popaudit.sweeps import sweep

    say = _Say(args.quiet)
    t0 = time.perf_counter()
    conf = _sweep_config(Path(args.config))
    if args.store:
        conf["store"] = args.store
    if args.scheduler:
        conf["scheduler"] = args.scheduler
    split_by = conf.get("split_by")
    by = conf.get("by", [])
    by = _split(by) if isinstance(by, str) else [str(b) for b in by]
    items = conf.get("items")
    reading = argparse.Namespace(
        items=",".join(items) if isinstance(items, list) else items,
        by=",".join(dict.fromkeys([*by, *([split_by] if split_by else [])])),
        weights=conf.get("weights"), codebook=conf.get("codebook"),
        no_wvs_codebook=conf.get("no_wvs_codebook", False))
    components = conf.get("components")
    if components is not None:
        from popaudit.components import COMPONENTS

        bad = [c for c in components if c not in COMPONENTS]
        if bad:
            raise CLIError(f"unknown component(s) {', '.join(map(repr, bad))} in "
                           f"{Path(args.config).name}; choose from {', '.join(COMPONENTS)}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gold = _read_gold(reading, say, Path(conf["gold"]))
        wanted = [*gold.item_names, *gold.demographics.columns]
        for name, file in conf["populations"].items():
            path = Path(file)
            cols = _columns_of(path)
            lacking = [c for c in wanted if c not in cols]
            if lacking:
                raise CLIError(f"population {name!r}: {path.name} lacks the column(s) "
                               f"{', '.join(map(repr, lacking[:10]))}"
                               f"{' ...' if len(lacking) > 10 else ''} (gold's items and "
                               "the by / split_by columns)")
        client = None
        if conf.get("scheduler"):
            from dask.distributed import Client

            say(f"connecting to the Dask scheduler at {conf['scheduler']}")
            try:
                client = Client(conf["scheduler"], timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise CLIError(f"cannot reach the Dask scheduler at {conf['scheduler']!r}: "
                               f"{exc}") from None
        else:
            say("starting a local Dask cluster (one worker process per core)")
        n_boot = conf.get("n_boot", 200)
        try:
            say(f"sweep over {len(conf['populations'])} population(s)"
                + (f", split by {split_by}" if split_by else "") + f"; store {conf['store']}")
            res = sweep(gold, conf["populations"], split_by=split_by,
                        components=components, store=conf["store"], client=client,
                        n_boot=n_boot, n_null=conf.get("n_null", n_boot),
                        seed=conf.get("seed", 0), by=by or None,
                        read_options={"out_of_scale": "invalid"},
                        audit_options={"factors": conf["factors"]} if "factors" in conf
                        else None, progress=say)
        finally:
            if client is not None:
                client.close()
    tasks = res.tasks
    ok = int((tasks["status"] == "ok").sum())
    n_split, n_pop = tasks["split"].nunique(), tasks["population"].nunique()
    print(f"popaudit sweep: {len(tasks)} tasks ({n_split} split(s) x {n_pop} "
          f"population(s)): {ok} ok, {len(tasks) - ok} failed; "
          f"{len(res.settings['computed'])} computed now")
    print(_sweep_scorecard(res))
    notes = [*res.notes, *_notes(caught)]
    if notes:
        print("\nnotes:")
        for note in dict.fromkeys(n.splitlines()[0] for n in notes):
            print(f"  - {note}")
    store = conf["store"]
    print(f"\nstore: {store}/ ({len(tasks)} Parquet files, one per task); read it with "
          f"popaudit.read_sweep({store!r})")
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


# ---------------------------------------------------------------------------
# The parser
# ---------------------------------------------------------------------------

def _version() -> str:
    from popaudit import __version__

    return __version__


def _add_reading(p: argparse.ArgumentParser) -> None:
    """Options that say how to read a survey file (audit and polychoric)."""
    p.add_argument("--items", metavar="COLS",
                   help="comma-separated item columns (default: the items of --codebook, "
                        "else every column except --by and --weights)")
    p.add_argument("--by", metavar="COLS",
                   help="comma-separated demographic columns; their crossing defines the "
                        "subgroups (not items)")
    p.add_argument("--weights", metavar="COL",
                   help="column of survey weights in the gold file (not an item)")
    p.add_argument("--codebook", metavar="FILE",
                   help="JSON or CSV file declaring item scales: item, codes, labels, kind "
                        "(ordinal/nominal/binary), missing codes (see docs/cli.md)")
    p.add_argument("--no-wvs-codebook", action="store_true",
                   help="do not take the scales of WVS-7 item columns (Q6, Q46, Q164 ...) "
                        "from the shipped WVS-7 codebook; infer them from the data")


def build_parser() -> argparse.ArgumentParser:
    """The ``popaudit`` argument parser (every option has help text)."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(prog="popaudit", description=_DESCRIPTION, epilog=_EPILOG,
                                formatter_class=fmt)
    p.add_argument("--version", action="version", version=f"popaudit {_version()}",
                   help="print popaudit's version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND",
                           title="commands")

    d = sub.add_parser("demo", formatter_class=fmt,
                       help="audit simulated populations of the built-in synthetic data",
                       description="Audit five simulated populations of built-in synthetic "
                                   "WVS-like data against their gold population\n(every "
                                   "number has a known truth) and write a report folder.")
    d.add_argument("--out", default="popaudit-demo", metavar="DIR",
                   help="output folder (default: %(default)s)")
    d.add_argument("--n", type=int, default=3000, help="gold sample size (default: %(default)s)")
    d.add_argument("--seed", type=int, default=0,
                   help="seed of the data and of every resampling step (default: %(default)s)")
    d.add_argument("--n-boot", type=int, default=50, metavar="B",
                   help="bootstrap draws and gold resamples (default: %(default)s)")
    d.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    d.set_defaults(func=cmd_demo)

    a = sub.add_parser("audit", formatter_class=fmt,
                       help="audit simulated survey files against a gold survey file",
                       description="Audit one or more simulated survey files against a gold "
                                   f"file\n({_SURVEY_FORMATS}) and write report.html,\n"
                                   "results.csv, summary.json and figures into --out. Each "
                                   "simulated\npopulation is named after its file.")
    a.add_argument("gold", help=f"gold (real) survey file: {_SURVEY_FORMATS}")
    a.add_argument("simulated", nargs="+",
                   help="simulated survey file(s) with gold's item columns (and the --by "
                        "columns)")
    _add_reading(a)
    a.add_argument("--out", default="popaudit-report", metavar="DIR",
                   help="output folder (default: %(default)s)")
    a.add_argument("--seed", type=int, default=0,
                   help="seed of every resampling step (default: %(default)s)")
    a.add_argument("--n-boot", type=int, default=200, metavar="B",
                   help="bootstrap draws and gold resamples (default: %(default)s)")
    a.add_argument("--factors", type=int, default=None, metavar="K",
                   help="also compare K-factor solutions (EFA, Procrustes, congruence)")
    a.add_argument("--no-structure", action="store_true",
                   help="skip the polychoric structure comparison (the slowest step)")
    a.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    a.set_defaults(func=cmd_audit)

    c = sub.add_parser("polychoric", formatter_class=fmt,
                       help="polychoric correlation matrix of a survey file",
                       description="Polychoric correlations of every pair of items of a "
                                   f"survey file\n({_SURVEY_FORMATS}); writes "
                                   "polychoric.csv,\npairwise_n.csv and thresholds.csv (and "
                                   "polychoric_se.csv with --se) into --out.")
    c.add_argument("path", help=f"survey file: {_SURVEY_FORMATS}")
    _add_reading(c)
    c.add_argument("--se", action="store_true",
                   help="also write two-step standard errors (polychoric_se.csv)")
    c.add_argument("--out", default="popaudit-polychoric", metavar="DIR",
                   help="output folder (default: %(default)s)")
    c.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    c.set_defaults(func=cmd_polychoric)

    w = sub.add_parser("sweep", formatter_class=fmt,
                       help="many audits (models x steering methods x countries) on Dask",
                       description="Audit many simulated populations, each split by country "
                                   "(or any column), as Dask tasks:\none task per (split, "
                                   "population), one Parquet file per task in the store.\n"
                                   "A sweep that stopped resumes where it stopped. The sweep "
                                   "file (TOML) names\nthe gold file, the populations and the "
                                   "options; see docs/cli.md.",
                       epilog="example sweep.toml:\n"
                              '  gold = "wvs7.csv"\n'
                              '  split_by = "B_COUNTRY_ALPHA"\n'
                              '  components = ["marginal", "modal", "structure"]\n'
                              '  store = "sweep-store"\n'
                              "  n_boot = 200\n"
                              "  [populations]\n"
                              '  "llama-3/default" = "runs/llama3_default.csv"\n'
                              '  "llama-3/persona" = "runs/llama3_persona.csv"\n'
                              '  "gpt-4o" = "runs/gpt4o/*.csv"   # one population per file')
    w.add_argument("config", help="sweep file (TOML); paths in it are relative to its folder")
    w.add_argument("--store", metavar="DIR",
                   help="results folder (overrides the file's store)")
    w.add_argument("--scheduler", metavar="ADDRESS",
                   help="address of a running Dask scheduler, e.g. tcp://host:8786 "
                        "(overrides the file's scheduler; default: a local cluster)")
    w.add_argument("--quiet", action="store_true",
                   help="no progress messages (one line per finished task) on stderr")
    w.set_defaults(func=cmd_sweep)
    return p


def main(argv=None) -> int:
    """Run the ``popaudit`` command line; returns the exit status (2 on a user error)."""
    args = build_parser().parse_args(argv)   # --help and usage errors before any import
    from popaudit._inference import progress_default  # (JAX, SciPy: about 2 s)

    try:
        # --quiet silences the progress bars too; otherwise they show on a terminal
        with progress_default(False if getattr(args, "quiet", False) else None):
            return args.func(args)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"popaudit: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
