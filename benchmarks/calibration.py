"""Calibration of popaudit's default p-values, noise floors and intervals on survey-like data.

Issue 15: the older study (``benchmarks/structure_calibration.py``) used complete, homogeneous
data. Here every replication draws data from ``benchmarks/survey_like.py`` (country-like
groups with differing thresholds and loadings, 10-15 % missing answers at random or not at
random, survey weights with design effect ~1.5, some matrices not positive definite) and
runs the public functions as a user would:

* ``compare_correlations`` (one call per replication with ``test_pvalue="permutation"``: the
  same call also yields the bootstrap p-value - the former default - from its noise-floor
  draws, by the library's own rule, and the asymptotic one): Jennrich and Steiger p-values,
  per-pair tests (Holm, BH: any rejection), noise floors (share beyond the floor), RMSE
  interval coverage of the population RMSE;
* ``compare_factors``: share of simulated solutions below the congruence noise floor.

Null cells: two samples of one population, and random halves of one sample. Departure cells
(power): the simulated population's loadings or group mixture changed by a known amount.

Usage (from the repository root)::

    python benchmarks/calibration.py timing             # seconds per replication, per cell
    python benchmarks/calibration.py run                # every cell, its default replications
    python benchmarks/calibration.py run --cells halves_small --reps 50
    python benchmarks/calibration.py report             # tables (markdown) + QQ plots

``run`` appends one CSV row per replication to ``benchmarks/results/calibration/<cell>.csv``
(replication seeds are fixed per cell and index, so an interrupted run resumes where it
stopped and the same replications are never drawn twice); ``report`` reads those files,
prints the markdown tables of ``docs/validity.md`` and writes
``docs/figures/calibration_qq.png``. Rates come with 95 % Clopper-Pearson intervals;
uniformity is checked with a Kolmogorov-Smirnov test (resampling p-values ``(k + 1)/(B + 1)``
are randomised within their step first, which makes an exact p-value exactly uniform).

Cost on the shared 2-core machine: ``timing`` measures it; the default replication counts in
:data:`CELLS` were sized from it so that the whole study runs in about 40 minutes of one core.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import survey_like as sl

ALPHA = 0.05
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "benchmarks", "results", "calibration")
FIG = os.path.join(ROOT, "docs", "figures")


@dataclass(frozen=True)
class Cell:
    """One cell of the study: how gold and simulated are drawn, what is run, how often."""

    name: str
    label: str
    gold: sl.Spec
    sim: sl.Spec | None = None      # None: random halves of one gold sample
    n_sim: int | None = None        # simulated size (two-sample cells; default gold's n)
    reps: int = 200
    draws: int = 99                 # n_boot = n_null = n_perm
    what: str = "structure"         # "structure" or "factors"
    null: bool = True
    seed: int = 15
    extra: dict = field(default_factory=dict)


_K5 = {"max_categories": 5}
_HALVES_REAL = sl.PRESETS["halves"]                                   # n 1400, p 25, K 2-10
_HALVES_SMALL = sl.Spec(n=600, p=15, n_groups=24, missing_rate=0.10, name="halves, small",
                        **_K5)
_TWO = sl.Spec(n=500, p=12, n_groups=12, missing_rate=0.10, name="two samples", **_K5)
_MNAR = dataclasses.replace(_TWO, missing="mnar", missing_rate=0.15, name="two samples, MNAR")
_NONPD = sl.Spec(n=250, p=16, n_groups=8, missing_rate=0.15, binary_share=0.4,
                 name="n 250, p 16, 40 % binary", **_K5)

CELLS: dict[str, Cell] = {c.name: c for c in [
    Cell("halves_small", "random halves, n 600 (300 + 300), p 15, K 2-5, 24 groups, 10 % MAR",
         _HALVES_SMALL, reps=800),
    Cell("two_samples", "two samples, n 500 + 500, p 12, K 2-5, 12 groups, 10 % MAR",
         _TWO, sim=_TWO, reps=200),
    Cell("halves_real", "random halves, n 1400 (700 + 700), p 25, K 2-10, 48 groups, 10 % MAR",
         _HALVES_REAL, reps=30),
    Cell("two_unequal_mnar", "two samples, n 500 + 250, p 12, 15 % MNAR",
         _MNAR, sim=_MNAR, n_sim=250, reps=100),
    Cell("power_loadings", "two samples, n 500 + 500, p 12; simulated loadings x 0.8 on a "
         "third of the items", _TWO, sim=sl.departure(_TWO, "loadings", 0.2), reps=100,
         null=False),
    Cell("power_mixture", "two samples, n 500 + 500, p 12; simulated group mixture tilted "
         "(between-group part only)", _TWO, sim=sl.departure(_TWO, "mixture", 1.5), reps=100,
         null=False),
    Cell("small_nonpd", "two samples, n 250 + 250, p 16, 40 % binary, 15 % MAR "
         "(matrices mostly not PD)", _NONPD, sim=_NONPD, reps=60),
    Cell("factors_two", "compare_factors, 2 factors, two samples, n 500 + 500, p 12",
         _TWO, sim=_TWO, reps=40, draws=50, what="factors"),
    Cell("disparity", "subgroup_disparity, WVS-like gold n 2000 (23 subgroups), fixed "
         "predictions", _TWO, reps=300, draws=200, what="disparity", extra={"n": 2000}),
]}


# --------------------------------------------------------------------------------------------
# one replication
# --------------------------------------------------------------------------------------------
def _samples(cell: Cell, rng: np.random.Generator):
    if cell.sim is None:
        return sl.halves(sl.draw(cell.gold, rng), rng)
    gold = sl.draw(cell.gold, rng, name="gold")
    sim = sl.draw(cell.sim, rng, n=cell.n_sim or cell.gold.n, name="simulated")
    return gold, sim


_TRUTH: dict = {}


def true_rmse(cell: Cell) -> float:
    """RMSE between the two populations' polychoric matrices (0 in null cells).

    The population polychoric matrix is estimated from one complete sample of 200 000
    (polychoric correlations of a normal mixture: the probability limit of the estimator).
    """
    if cell.null or cell.sim is None:
        return 0.0
    if cell.name not in _TRUTH:
        import popaudit as pa

        mats = []
        for spec in (cell.gold, cell.sim):
            s = sl.draw(dataclasses.replace(spec, missing="none", deff=1.0), 7, n=200_000)
            mats.append(pa.polychoric(s).corr.to_numpy(float))
        iu = np.triu_indices(mats[0].shape[0], 1)
        _TRUTH[cell.name] = float(np.sqrt(np.mean((mats[0][iu] - mats[1][iu]) ** 2)))
    return _TRUTH[cell.name]


def structure_rep(cell: Cell, rng: np.random.Generator) -> dict:
    from popaudit import compare_correlations
    from popaudit.structure.comparison import _test_pvalue

    gold, sim = _samples(cell, rng)
    d = cell.draws
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = compare_correlations(gold, sim, n_boot=d, n_null=d, n_perm=d,
                                   test_pvalue="permutation", seed=rng)
    t = res.main.statistics.set_index("statistic")
    row = {}
    for name in ("jennrich", "steiger"):
        v, df = float(t.loc[name, "value"]), float(t.loc[name, "df"])
        row[f"{name}_value"] = v
        row[f"{name}_df"] = df
        row[f"{name}_asym"] = float(stats.chi2.sf(v, df)) if np.isfinite(v) else np.nan
        row[f"{name}_perm"] = float(t.loc[name, "pvalue"])
        boot = _test_pvalue(name, v, df, "bootstrap", res.main.floor.get(name), None)
        row[f"{name}_boot"] = boot["pvalue"]
        fl = np.asarray(res.main.floor.get(name, []), float)
        row[f"{name}_floor_defined"] = float(np.mean(np.isfinite(fl))) if fl.size else np.nan
        row[f"{name}_floor_mean"] = float(np.mean(fl[np.isfinite(fl)])) \
            if np.isfinite(fl).any() else np.nan
    for tag, nm in (("holm", "pair_tests_holm"), ("bh", "pair_tests_bh"),
                    ("maxt", "pair_tests_maxt")):
        ok = nm in t.index
        row[f"pairs_{tag}_any"] = float(t.loc[nm, "value"] > 0) if ok else np.nan
        row[f"pairs_{tag}_minp"] = float(t.loc[nm, "pvalue"]) if ok else np.nan
    # the per-pair z statistics: Holm rejects some pair iff max |z| passes its bound, so other
    # references (e.g. Student t for the bootstrap standard errors) can be read off later
    z = np.abs(res.pairs["z"].to_numpy(float)) if "z" in res.pairs else np.array([])
    z = z[np.isfinite(z)]
    row["pairs_m"] = int(z.size)
    row["pairs_max_abs_z"] = float(z.max()) if z.size else np.nan
    for nm in ("rmse", "mae", "max_abs_diff", "pearson"):
        b = t.loc[nm, "beyond_floor"]
        row[f"{nm}_beyond"] = np.nan if b is None or pd.isna(b) else float(bool(b))
        row[f"{nm}_floor_p"] = float(t.loc[nm, "floor_p"])
    truth = true_rmse(cell)
    row["rmse_true"] = truth
    row["rmse_value"] = float(t.loc["rmse", "value"])
    lo, hi = float(t.loc["rmse", "ci_low"]), float(t.loc["rmse", "ci_high"])
    row["rmse_ci_low"], row["rmse_ci_high"] = lo, hi
    row["rmse_cover"] = float(lo <= truth <= hi) if np.isfinite(lo) else np.nan
    ev = [np.linalg.eigvalsh(m.to_numpy(float))[0] for m in (res.main.gold, res.main.sim)]
    row["min_eig"] = float(min(ev))
    return row


def factors_rep(cell: Cell, rng: np.random.Generator) -> dict:
    """compare_factors with its default floor ("independent") and, on the same data, the
    former floor ("resample": gold's own solution against resamples)."""
    from popaudit import compare_factors
    from popaudit.structure.factors import congruence_noise_floor

    gold, sim = _samples(cell, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = compare_factors(gold, sim, 2, n_null=cell.draws, seed=rng)
        old = congruence_noise_floor(gold, 2, reference=res.gold, n_resample=len(sim),
                                     n_null=cell.draws, floor="resample", seed=rng)
    f = res.to_frame().set_index("factor")
    row = {}
    for k in f.index:
        c = float(f.loc[k, "congruence"])
        row[f"below_{k}"] = float(bool(f.loc[k, "below_noise_floor"]))
        row[f"below_old_{k}"] = float(c < old.floor[k])
        row[f"congruence_{k}"] = c
        # the floor's p-value: share of floor draws at or below the observed congruence
        for tag, nf in (("", res.noise_floor), ("old_", old)):
            d = nf.draws[k].to_numpy(float)
            row[f"floor_p_{tag}{k}"] = float((np.sum(d <= c) + 1) / (d.size + 1))
    return row


# strata whose every subgroup has well over min_size = 30 respondents at n = 2000, so the
# set of subgroups is the same in every replication and in the population
_DISPARITY_STRATA = ["Q260", "X003R", "Q275R", ("Q260", "X003R")]
_DISPARITY_METRICS = ("accuracy", "nmae", "w1_norm")
_DISPARITY_STATS = ("mean", "sd", "cv", "range", "normalised_range")
_DISPARITY_METHODS = ("basic", "percentile", "shifted", "bca", "basic_squared")


def _disparity_setup(cell: Cell):
    """Fixed predictions (an independent sample's subgroup distributions) and the population
    values of every statistic (the same pipeline on a gold sample of 100 000)."""
    import popaudit as pa

    if cell.name in _TRUTH:
        return _TRUTH[cell.name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = pa.define_subgroups(pa.datasets.wvs_like(n=cell.extra["n"], seed=99_999),
                                   _DISPARITY_STRATA).gold
        big = pa.define_subgroups(pa.datasets.wvs_like(n=100_000, seed=123_456),
                                  _DISPARITY_STRATA)
        d = pa.subgroup_disparity(pa.subgroup_fidelity(big, pred, name="pred"),
                                  _DISPARITY_METRICS, n_boot=2, seed=0,
                                  resample="respondents")
    truth = d.table.query("split == 'all'").set_index(["metric", "statistic"])["value"]
    _TRUTH[cell.name] = (pred, truth)
    return _TRUTH[cell.name]


def disparity_rep(cell: Cell, rng: np.random.Generator) -> dict:
    """subgroup_disparity on a fresh gold sample against fixed predictions: does each
    interval method cover the population value of each spread statistic?"""
    import popaudit as pa
    from popaudit._inference import bootstrap_interval
    from popaudit.subgroups.disparity import STATISTICS

    pred, truth = _disparity_setup(cell)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gold = pa.datasets.wvs_like(n=cell.extra["n"], seed=rng)
        sg = pa.define_subgroups(gold, _DISPARITY_STRATA)
        d = pa.subgroup_disparity(pa.subgroup_fidelity(sg, pred, name="pred"),
                                  _DISPARITY_METRICS, n_boot=cell.draws, seed=rng,
                                  resample="respondents")
    si = list(d.splits).index("all")
    row = {}
    for mi, m in enumerate(d.metrics):
        for st in _DISPARITY_STATS:
            ti = STATISTICS.index(st)
            pt, dr = d._point[0, mi, si, ti], d._draws[0, mi, si, ti]
            tv = float(truth.get((m, st), np.nan))
            row[f"{m}_{st}_value"] = float(pt)
            row[f"{m}_{st}_true"] = tv
            for meth in _DISPARITY_METHODS:
                _, lo, hi = bootstrap_interval(pt, dr, method=meth.split("_")[0],
                                               squared=meth.endswith("_squared"),
                                               confidence_level=0.95)
                row[f"{m}_{st}_cover_{meth}"] = float(lo <= tv <= hi) \
                    if np.isfinite(lo) and np.isfinite(tv) else np.nan
    return row


def run_cell(cell: Cell, reps: int | None = None, *, out_dir: str = OUT,
             max_seconds: float | None = None) -> str:
    """Append replications ``done .. reps-1`` of ``cell`` to its CSV; returns the path."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{cell.name}.csv")
    done = 0
    if os.path.exists(path):
        with open(path) as fh:
            done = max(0, sum(1 for _ in fh) - 1)
    reps = cell.reps if reps is None else reps
    fn = {"structure": structure_rep, "factors": factors_rep,
          "disparity": disparity_rep}[cell.what]
    t_start = time.time()
    for i in range(done, reps):
        rng = np.random.default_rng([cell.seed, i])
        t0 = time.process_time()
        row = {"rep": i, **fn(cell, rng)}
        row["cpu_seconds"] = round(time.process_time() - t0, 3)
        new = not os.path.exists(path)
        with open(path, "a", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(row))
            if new:
                w.writeheader()
            w.writerow(row)
        if (i + 1) % 10 == 0:
            print(f"  {cell.name}: {i + 1}/{reps} ({time.time() - t_start:.0f} s)",
                  file=sys.stderr, flush=True)
        if max_seconds is not None and time.time() - t_start > max_seconds:
            print(f"  {cell.name}: stopped at {i + 1} replications (time limit)",
                  file=sys.stderr, flush=True)
            break
    return path


# --------------------------------------------------------------------------------------------
# summaries
# --------------------------------------------------------------------------------------------
def rate(x) -> tuple[int, int, float, float, float]:
    """(hits, n, rate, low, high) of a 0/1 array (NaN ignored), Clopper-Pearson 95 %."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    n, k = x.size, int(np.sum(x))
    if n == 0:
        return 0, 0, np.nan, np.nan, np.nan
    ci = stats.binomtest(k, n).proportion_ci(method="exact")
    return k, n, k / n, ci.low, ci.high


def fmt_rate(x, target: tuple[float, float] | None = None) -> str:
    _, n, r, lo, hi = rate(x)
    if n == 0:
        return "-"
    s = f"{r:.3f} [{lo:.3f}, {hi:.3f}]"
    if target is not None and not (target[0] <= r <= target[1]):
        s = f"**{s}**"
    return s


def rejected(p) -> np.ndarray:
    """1 where a p-value is at most ALPHA, 0 above, NaN where it is undefined (not counted)."""
    p = np.asarray(p, float)
    return np.where(np.isfinite(p), (p <= ALPHA).astype(float), np.nan)


def randomised(p, draws: int | None) -> np.ndarray:
    """Resampling p-values ``(k+1)/(B+1)`` spread uniformly over their step (exactly uniform
    when the test is exact); continuous p-values unchanged."""
    p = np.asarray(p, float)
    p = p[np.isfinite(p)]
    if draws is None:
        return p
    step = 1.0 / (draws + 1)
    u = np.random.default_rng(0).random(p.size)
    return np.clip(p - u * step, 0.0, 1.0)


def ks_p(p, draws: int | None) -> float:
    p = randomised(p, draws)
    if p.size < 5:
        return np.nan
    return float(stats.kstest(p, "uniform").pvalue)


def load(name: str):
    path = os.path.join(OUT, f"{name}.csv")
    return pd.read_csv(path) if os.path.exists(path) else None


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]


def report(cells: list[str] | None = None, figure: bool = True) -> str:
    """The markdown tables of docs/validity.md from the stored replications (and the QQ
    figure). Bold: a rate outside its target (type-I error [0.035, 0.065], coverage >= 0.93).
    """
    names = list(CELLS) if cells is None else cells
    data = {nm: load(nm) for nm in names}
    data = {nm: df for nm, df in data.items() if df is not None}
    level = (0.035, 0.065)
    struct_null = [nm for nm in data if CELLS[nm].what == "structure" and CELLS[nm].null]
    struct_alt = [nm for nm in data if CELLS[nm].what == "structure" and not CELLS[nm].null]
    lines = []
    # -- matrix tests under the null
    rows = []
    for nm in struct_null:
        c, df = CELLS[nm], data[nm]
        for t in ("jennrich", "steiger"):
            cols = [fmt_rate(rejected(df[f"{t}_{m}"]), level) for m in ("asym", "boot", "perm")]
            ks = [ks_p(df[f"{t}_{m}"], None if m == "asym" else c.draws)
                  for m in ("asym", "boot", "perm")]
            defined = " / ".join(str(int(np.isfinite(df[f"{t}_{m}"]).sum()))
                                 for m in ("asym", "boot", "perm"))
            rows.append([c.label, t.capitalize(), f"{defined} of {len(df)}", *cols,
                         " / ".join(f"{v:.2g}" for v in ks)])
    lines += ["### Matrix tests under the null", "",
              ("Rejection rate at alpha = 0.05 among the defined p-values, with its 95 % "
               "Clopper-Pearson interval; KS: p-value of a Kolmogorov-Smirnov test of "
               "uniformity of the p-values. A p-value is undefined when the observed "
               "statistic is (Jennrich: a matrix not positive definite; Steiger: a "
               "correlation at +-1) or when fewer than half the reference draws are."), ""]
    lines += _table(["cell", "test", "p defined: asym / boot / perm", "asymptotic",
                     "bootstrap (old default)",
                     "permutation (new default)", "KS p: asym / boot / perm"], rows)
    # -- the issue's own check on random halves: before / after
    rows = []
    for nm in struct_null:
        c, df = CELLS[nm], data[nm]
        for t in ("jennrich", "steiger"):
            for m, lab in (("boot", "bootstrap (old default)"),
                           ("perm", "permutation (new default)")):
                p = df[f"{t}_{m}"].dropna()
                rows.append([c.label, t.capitalize(), lab, len(p),
                             f"{np.sum(p < 0.2)} ({np.mean(p < 0.2):.2f})",
                             f"{np.sum(p < 0.05)} ({np.mean(p < 0.05):.3f})",
                             f"{np.median(p):.2f}"])
    lines += ["", "### Before and after: p-values of two samples of one population", "",
              ("Expected under a true null: 20 % of p-values below 0.2, 5 % below 0.05, "
               "median 0.5."), ""]
    lines += _table(["cell", "test", "reference", "p-values", "below 0.2", "below 0.05",
                     "median p"], rows)
    # -- why the bootstrap reference of Jennrich's statistic is too wide
    rows = []
    for nm in struct_null:
        c, df = CELLS[nm], data[nm]
        ok = np.isfinite(df["jennrich_value"]) & np.isfinite(df["jennrich_floor_mean"])
        if ok.any():
            d = df[ok]
            rows.append([c.label, int(d["jennrich_df"].iloc[0]),
                         f"{np.median(d['jennrich_value'] / d['jennrich_df']):.2f}",
                         f"{np.median(d['jennrich_floor_mean'] / d['jennrich_df']):.2f}",
                         f"{np.median(d['steiger_value'] / d['steiger_df']):.2f}",
                         f"{np.median(d['steiger_floor_mean'] / d['steiger_df']):.2f}"])
    lines += ["", "### Jennrich's bootstrap reference is too wide", "",
              ("Medians over replications of the statistic divided by its degrees of freedom: "
               "observed (two samples of one population) and the mean of its noise-floor "
               "draws (the bootstrap reference)."), ""]
    lines += _table(["cell", "df", "Jennrich observed / df", "Jennrich floor draws / df",
                     "Steiger observed / df", "Steiger floor draws / df"], rows)
    # -- pair tests and floors under the null
    rows = []
    for nm in struct_null:
        c, df = CELLS[nm], data[nm]
        m, z = df["pairs_m"], df["pairs_max_abs_z"]
        t_any = (z >= stats.t.isf(ALPHA / 2 / m.clip(lower=1), 2 * (c.draws - 1))).astype(float)
        t_any[~np.isfinite(z)] = np.nan
        rows.append([c.label, len(df), fmt_rate(df["pairs_holm_any"], level),
                     fmt_rate(t_any, level), fmt_rate(df["pairs_bh_any"], level),
                     *[fmt_rate(df[f"{s}_beyond"], level)
                       for s in ("rmse", "mae", "max_abs_diff", "pearson")],
                     f"{ks_p(df['rmse_floor_p'], c.draws):.2g}",
                     fmt_rate(df["rmse_cover"], (0.93, 1.0))])
    lines += ["", "### Per-pair tests and noise floors under the null", "",
              ("Share of replications with some pair flagged (Holm, BH; 'Holm, t' reads the "
               "same z statistics against Student's t with the bootstrap's degrees of freedom) "
               "and share beyond the noise floor; target 0.05. Last columns: uniformity of "
               "the RMSE floor p-value, and coverage of the true RMSE (0) by its interval."), ""]
    lines += _table(["cell", "reps", "pairs Holm (any)", "pairs Holm, t", "pairs BH (any)",
                     "RMSE beyond floor", "MAE beyond floor", "max beyond floor",
                     "Pearson beyond floor", "KS p of RMSE floor_p", "RMSE CI covers 0"], rows)
    # -- departures
    rows = []
    for nm in struct_alt:
        c, df = CELLS[nm], data[nm]
        rows.append([c.label, len(df), f"{df['rmse_true'].iloc[0]:.3f}",
                     *[fmt_rate(rejected(df[f"{t}_{m}"])) for t in ("jennrich", "steiger")
                       for m in ("boot", "perm")],
                     fmt_rate(df["pairs_holm_any"]), fmt_rate(df["rmse_beyond"]),
                     fmt_rate(df["rmse_cover"], (0.93, 1.0))])
    lines += ["", "### Departures: power at alpha = 0.05 and RMSE interval coverage", ""]
    lines += _table(["cell", "reps", "true RMSE", "Jennrich bootstrap",
                     "Jennrich permutation", "Steiger bootstrap", "Steiger permutation",
                     "pairs Holm (any)", "RMSE beyond floor", "RMSE CI coverage (shifted)"],
                    rows)
    # -- factors
    rows = []
    for nm in [n for n in data if CELLS[n].what == "factors"]:
        c, df = CELLS[nm], data[nm]
        for tag, lab in (("old_", "resample (old default)"), ("", "independent (new default)")):
            rows.append([c.label, len(df), lab,
                         *[fmt_rate(df[f"below_{tag}{k}"], level) for k in ("overall", "F1", "F2")],
                         f"{ks_p(df[f'floor_p_{tag}overall'], c.draws):.2g}"])
    if rows:
        lines += ["", "### Factor congruence noise floor under the null", "",
                  "Share of second real samples below the floor (target 0.05).", ""]
        lines += _table(["cell", "reps", "floor", "overall", "F1", "F2",
                         "KS p of floor p (overall)"], rows)
    # -- disparity
    rows = []
    for nm in [n for n in data if CELLS[n].what == "disparity"]:
        c, df = CELLS[nm], data[nm]
        for m in _DISPARITY_METRICS:
            for st in _DISPARITY_STATS:
                if f"{m}_{st}_true" not in df:
                    continue
                rows.append([m, st, f"{df[f'{m}_{st}_true'].iloc[0]:.3f}",
                             f"{df[f'{m}_{st}_value'].mean():.3f}",
                             *[fmt_rate(df[f"{m}_{st}_cover_{meth}"], (0.93, 1.0))
                               for meth in _DISPARITY_METHODS]])
        if rows:
            lines += ["", (f"### Disparity intervals: coverage of the population value "
                           f"({c.label}, {len(df)} samples, {c.draws} draws)"), ""]
            lines += _table(["metric", "statistic", "population value", "mean estimate",
                             *[f"{meth}{' (default)' if meth == 'basic' else ''}"
                               for meth in _DISPARITY_METHODS]], rows)
    # -- cost
    rows = [[CELLS[nm].label, len(df), f"{df['cpu_seconds'].median():.1f}",
             f"{df['cpu_seconds'].sum() / 60:.1f}"] for nm, df in data.items()]
    lines += ["", "### Cost", ""]
    lines += _table(["cell", "reps", "CPU s per replication (median)", "CPU min in all"],
                    rows)
    if figure:
        qq_figure(names)
    return "\n".join(lines)


def qq_figure(names: list[str], path: str | None = None) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [(CELLS[n], load(n)) for n in names]
    cells = [(c, df) for c, df in cells if df is not None and c.what == "structure" and c.null]
    if not cells:
        return None
    fig, axes = plt.subplots(2, len(cells), figsize=(3.2 * len(cells), 6.4), squeeze=False)
    styles = {"asym": ("asymptotic", "tab:red"), "boot": ("bootstrap (old default)", "tab:orange"),
              "perm": ("permutation (new default)", "tab:blue")}
    for j, (c, df) in enumerate(cells):
        for i, t in enumerate(("jennrich", "steiger")):
            ax = axes[i, j]
            shown = 0
            for m, (lab, col) in styles.items():
                p = np.sort(randomised(df[f"{t}_{m}"], None if m == "asym" else c.draws))
                if p.size:
                    q = (np.arange(1, p.size + 1) - 0.5) / p.size
                    ax.plot(q, p, color=col, lw=1.5, label=lab)
                    shown += 1
            if not shown:
                ax.text(0.5, 0.5, "undefined in every\nreplication (matrices\nnot positive definite)",
                        ha="center", va="center", fontsize=8, color="0.3")
            ax.plot([0, 1], [0, 1], color="0.5", lw=0.8, ls="--")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.set_aspect("equal")
            ax.set_title(f"{t.capitalize()}: {c.name} ({len(df)})", fontsize=9)
            if j == 0:
                ax.set_ylabel("observed p-value quantile")
            if i == 1:
                ax.set_xlabel("uniform quantile")
    axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.suptitle("p-values under the null on survey-like data (on the diagonal = calibrated)",
                 fontsize=10)
    fig.tight_layout()
    os.makedirs(FIG, exist_ok=True)
    path = path or os.path.join(FIG, "calibration_qq.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["run", "report", "timing"])
    ap.add_argument("--cells", default=None, help="comma-separated cell names (default all)")
    ap.add_argument("--reps", type=int, default=None, help="replications (default per cell)")
    ap.add_argument("--max-seconds", type=float, default=None,
                    help="stop each cell after this many wall seconds (resumable)")
    args = ap.parse_args()
    names = list(CELLS) if args.cells is None else args.cells.split(",")
    if args.command == "timing":
        for nm in names:
            c = CELLS[nm]
            fn = {"structure": structure_rep, "factors": factors_rep,
                  "disparity": disparity_rep}[c.what]
            fn(c, np.random.default_rng(0))  # compile
            secs = []
            for i in range(2):
                t0 = time.process_time()
                fn(c, np.random.default_rng(i + 1))
                secs.append(time.process_time() - t0)
            print(f"{nm}: {np.median(secs):.2f} CPU s per replication; default {c.reps} reps "
                  f"-> {c.reps * np.median(secs) / 60:.1f} CPU min", flush=True)
    elif args.command == "run":
        t0 = time.time()
        for nm in names:
            run_cell(CELLS[nm], args.reps, max_seconds=args.max_seconds)
        print(f"done in {time.time() - t0:.0f} s", file=sys.stderr)
    else:
        print(report(names))


if __name__ == "__main__":
    main()
