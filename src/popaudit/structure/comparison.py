"""Structure comparison: gold vs simulated correlation matrices, read against a noise floor.

:func:`compare_correlations` compares the correlation structure of a gold and a
simulated population at one of two declared levels:

* ``"individual"`` - polychoric correlations among respondents (ordinal and
  binary items) and Cramér's V among nominal items;
* ``"ecological"`` - Pearson correlations between items across subgroup means
  (each mean rescaled to [0, 1]), study B's structure with its permutation null
  and split-half ceiling, in two labelled variants: the method as its paper
  describes it (``"study_b"``, the default) and the computation as its code
  runs it (``"study_b_code"``; :mod:`popaudit.structure.study_b`).

Every statistic comes with a bootstrap CI (respondents of both populations
resampled) and a **noise floor**: its distribution when the "simulated"
population is just another real sample of the same size drawn from gold. All
resampling goes through ``popaudit.polychoric_batch`` with count weights and the
statistics are vectorised over the draws.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import stats

from popaudit._inference import (
    DISTANCE,
    SIMILARITY,
    TWO_SIDED,
    adjust_pvalues,
    bootstrap_interval,
    bootstrap_se,
    cached,
    check_correlation_matrix,
    fingerprint,
    floor_summary,
    harmonic_mean_offdiag,
    is_positive_definite,
    kish_n,
    kish_pairwise,
    positive_definite_note,
    progress_bar,
    renamed_arguments,
    resampling_pvalue,
    resolve_seed,
    spawn,
    with_x64,
)
from popaudit._kernels import resample as _rs
from popaudit.data.survey import Survey, check_compatible
from popaudit.structure import polychoric as _polychoric
from popaudit.structure.tests import (
    jennrich_statistic,
    mantel_test,
    pairwise_difference_tests,
    steiger_statistic,
)

__all__ = ["CorrelationComparison", "MatrixComparison", "compare_correlations"]

# direction of each statistic: what "worse than the floor" means
DESCRIPTOR = "descriptor"  # no floor: a property of one matrix, not a gap
_DIRECTIONS = {
    "rmse": DISTANCE, "mae": DISTANCE, "max_abs_diff": DISTANCE, "frobenius": DISTANCE,
    "pearson": SIMILARITY, "spearman": SIMILARITY, "sign_agreement": SIMILARITY,
    "pc1_share_gold": DESCRIPTOR, "pc1_share_sim": DESCRIPTOR, "pc1_share_diff": TWO_SIDED,
    "effective_dependence_gold": DESCRIPTOR, "effective_dependence_sim": DESCRIPTOR,
    "effective_dependence_diff": TWO_SIDED,
    "jennrich": DISTANCE, "steiger": DISTANCE,
}
_STAT_ORDER = ["rmse", "mae", "max_abs_diff", "frobenius", "pearson", "spearman",
               "sign_agreement", "pc1_share_gold", "pc1_share_sim", "pc1_share_diff",
               "effective_dependence_gold", "effective_dependence_sim",
               "effective_dependence_diff", "jennrich", "steiger", "mantel",
               "pair_tests_holm", "pair_tests_bh", "pair_tests_maxt"]
_COLUMNS = ["level", "matrix", "statistic", "direction", "value", "estimate", "ci_low",
            "ci_high", "ci_method", "floor_median", "floor_low", "floor_high", "floor_percentile",
            "floor_p", "beyond_floor", "df", "pvalue", "p_method", "null_mean", "null_sd",
            "null_median", "null_p", "ceiling_mean", "ceiling_sd", "ceiling_median",
            "ceiling_low", "ceiling_high", "note"]


# ----------------------------------------------------------------------------------------
# result objects


def _frozen_dict(d) -> Mapping:
    return MappingProxyType(dict(d or {}))


@dataclass(frozen=True, repr=False)
class MatrixComparison:
    """Gold vs simulated comparison of one kind of association matrix.

    Attributes
    ----------
    level : {"individual", "ecological"}
    kind : str
        ``"polychoric"``, ``"cramers_v"``, ``"ecological"`` (Pearson across
        subgroup means) or ``"correlation"`` (matrices given directly).
    gold, sim : pandas.DataFrame
        The two ``p x p`` matrices.
    statistics : pandas.DataFrame
        One row per statistic (see :func:`compare_correlations`).
    items : pandas.DataFrame
        Per item: mean absolute deviation of its correlations, sorted worst first.
    pairs : pandas.DataFrame
        Per pair: both correlations, difference, Fisher-z test with Holm and BH
        adjustment (where sample sizes are known), floor of the absolute difference, and
        with permutation draws (Survey inputs) the permutation p-value ``p_perm`` and the
        Westfall-Young step-down max-T adjusted ``p_maxt`` (``permutation_pair_tests``).
    spectrum : pandas.DataFrame or None
        Leading eigenvalues and variance shares of both matrices.
    bootstrap, floor, null, ceiling : mapping of str to ndarray
        Draws per statistic: bootstrap, noise floor, and (ecological level) the
        permutation null and split-half ceiling - what a figure needs.
    extra : mapping
        Ecological level: ``gold_means`` and ``sim_means`` (subgroups x items,
        rescaled to [0, 1]) and ``group_sizes``.
    """

    level: str
    kind: str
    gold: pd.DataFrame
    sim: pd.DataFrame
    statistics: pd.DataFrame
    items: pd.DataFrame
    pairs: pd.DataFrame
    spectrum: pd.DataFrame | None = None
    bootstrap: Mapping[str, np.ndarray] = field(default_factory=dict)
    floor: Mapping[str, np.ndarray] = field(default_factory=dict)
    null: Mapping[str, np.ndarray] = field(default_factory=dict)
    ceiling: Mapping[str, np.ndarray] = field(default_factory=dict)
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def difference(self) -> pd.DataFrame:
        """``sim - gold``, elementwise."""
        return self.sim - self.gold

    @property
    def item_names(self) -> tuple[str, ...]:
        return tuple(self.gold.index)

    def to_frame(self) -> pd.DataFrame:
        """The statistics table (tidy: one row per statistic)."""
        return self.statistics.copy()

    def __repr__(self) -> str:
        return (f"MatrixComparison({self.level}, {self.kind}, {len(self.gold)} items)\n"
                + _format_table(self.statistics))


@dataclass(frozen=True, repr=False)
class CorrelationComparison:
    """Result of :func:`compare_correlations`.

    Attributes
    ----------
    level : {"individual", "ecological"}
        Which structure was compared; every table carries it too.
    comparisons : tuple of MatrixComparison
        The main comparison first (polychoric, ecological or the given
        matrices), then Cramér's V among nominal items when there are any.
    settings : mapping
        Every option that shaped the numbers (seed, draws, floor method, sample
        sizes used by the tests, ...).
    notes : tuple of str
        Caveats: items dropped and why, undefined statistics, degenerate draws.
    gold_fit, sim_fit : object or None
        The ``PolychoricResult`` of each population (individual level).
    """

    level: str
    comparisons: tuple[MatrixComparison, ...]
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    gold_fit: object | None = None
    sim_fit: object | None = None

    @property
    def main(self) -> MatrixComparison:
        return self.comparisons[0]

    @property
    def variant(self) -> str | None:
        """Ecological level: ``"study_b"`` or ``"study_b_code"`` (None at the individual level)."""
        return self.settings.get("variant")

    @property
    def category(self) -> MatrixComparison | None:
        """The category-level ecological comparison (``categories=``), if any."""
        for c in self.comparisons:
            if c.kind == "ecological_category":
                return c
        return None

    @property
    def nominal(self) -> MatrixComparison | None:
        """The Cramér's V comparison of nominal items, if any."""
        for c in self.comparisons:
            if c.kind == "cramers_v":
                return c
        return None

    @property
    def gold(self) -> pd.DataFrame:
        return self.main.gold

    @property
    def sim(self) -> pd.DataFrame:
        return self.main.sim

    @property
    def difference(self) -> pd.DataFrame:
        return self.main.difference

    @property
    def statistics(self) -> pd.DataFrame:
        return self.to_frame()

    @property
    def items(self) -> pd.DataFrame:
        return pd.concat([c.items for c in self.comparisons], ignore_index=True)

    @property
    def pairs(self) -> pd.DataFrame:
        return pd.concat([c.pairs for c in self.comparisons], ignore_index=True)

    @property
    def spectrum(self) -> pd.DataFrame | None:
        return self.main.spectrum

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per (matrix, statistic) with value, CI, floor and p-value."""
        return pd.concat([c.statistics for c in self.comparisons], ignore_index=True)

    def statistic(self, name: str, matrix: str | None = None) -> pd.Series:
        """The table row of one statistic (of the main matrix unless ``matrix`` is given)."""
        comp = self.main if matrix is None else next(
            (c for c in self.comparisons if c.kind == matrix), None)
        if comp is None:
            raise KeyError(f"no {matrix!r} comparison; have "
                           f"{[c.kind for c in self.comparisons]}")
        rows = comp.statistics[comp.statistics["statistic"] == name]
        if rows.empty:
            raise KeyError(f"no statistic {name!r}; have {list(comp.statistics['statistic'])}")
        return rows.iloc[0]

    def __repr__(self) -> str:
        s = self.settings
        def num(v):
            return "?" if v is None else f"{v:.6g}"

        variant = f"variant={s['variant']!r}, " if s.get("variant") else ""
        head = (f"CorrelationComparison(level={self.level!r}, {variant}"
                f"n_gold={num(s.get('n_gold'))}, "
                f"n_sim={num(s.get('n_sim'))}, n_boot={s.get('n_boot')}, "
                f"n_null={s.get('n_null')}, floor={s.get('floor')!r})")
        parts = [head]
        for c in self.comparisons:
            parts.append(f"-- {c.kind} ({len(c.gold)} items)")
            parts.append(_format_table(c.statistics))
        if self.notes:
            parts.append("notes: " + "; ".join(self.notes))
        return "\n".join(parts)


def _format_table(tab: pd.DataFrame) -> str:
    cols = ["statistic", "value", "estimate", "ci_low", "ci_high", "floor_median",
            "floor_low", "floor_high", "floor_p", "pvalue"]
    # ecological level: the null and the ceiling as study B reported them (mean, sd), and p
    cols += [c for c in ("null_mean", "null_sd", "null_p", "ceiling_mean", "ceiling_sd")
             if c in tab.columns and tab[c].notna().any()]
    show = tab[cols].copy()
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        return show.to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="")


# ----------------------------------------------------------------------------------------
# statistics, vectorised over leading batch axes


def _upper(a: np.ndarray) -> np.ndarray:
    p = a.shape[-1]
    iu = np.triu_indices(p, 1)
    return a[..., iu[0], iu[1]]


def _rowwise_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(xc * yc, axis=-1) / np.sqrt(np.sum(xc * xc, axis=-1)
                                                  * np.sum(yc * yc, axis=-1))


def _finite_apply(fn, a: np.ndarray, out_shape: tuple) -> np.ndarray:
    """``fn`` over the matrices of ``a (..., p, p)`` that are finite; NaN elsewhere."""
    flat = a.reshape(-1, *a.shape[-2:])
    ok = np.all(np.isfinite(flat), axis=(-2, -1))
    out = np.full((flat.shape[0], *out_shape), np.nan)
    if ok.any():
        out[ok] = fn(flat[ok])
    return out.reshape((*a.shape[:-2], *out_shape))


def _eigvalsh_desc(a: np.ndarray) -> np.ndarray:
    return _finite_apply(lambda x: np.linalg.eigvalsh(x)[..., ::-1], a, (a.shape[-1],))


def _effective_dependence(eig_desc: np.ndarray) -> np.ndarray:
    """``1 - det(R)^(1/p)`` from the eigenvalues; NaN unless R is positive definite.

    ``det(R)^(1/p)`` is the geometric mean of the eigenvalues; a matrix whose
    smallest eigenvalue is not clearly positive (below ``1e-10`` times the
    largest) has no defined value.
    """
    lam_min = eig_desc[..., -1]
    lam_max = eig_desc[..., 0]
    ok = lam_min > 1e-10 * np.abs(lam_max)
    with np.errstate(invalid="ignore", divide="ignore"):
        geo = np.exp(np.mean(np.log(np.where(ok[..., None], eig_desc, 1.0)), axis=-1))
    return np.where(ok, 1.0 - geo, np.nan)


def _vector_statistics(x: np.ndarray, y: np.ndarray, sign_mask: np.ndarray | None,
                       ) -> dict[str, np.ndarray]:
    """Statistics of two vectors of pairwise associations ``(..., m)``."""
    d = y - x
    out: dict[str, np.ndarray] = {}
    out["rmse"] = np.sqrt(np.mean(d * d, axis=-1))
    out["mae"] = np.mean(np.abs(d), axis=-1)
    out["max_abs_diff"] = np.max(np.abs(d), axis=-1)
    out["frobenius"] = np.sqrt(2.0 * np.sum(d * d, axis=-1))
    if x.shape[-1] >= 3:
        out.update(_pattern_statistics(x, y, sign_mask))
    elif sign_mask is not None and sign_mask.any():
        out.update(_pattern_statistics(x, y, sign_mask, correlations=False))
    return out


def _pattern_statistics(x: np.ndarray, y: np.ndarray, sign_mask: np.ndarray | None, *,
                        correlations: bool = True) -> dict[str, np.ndarray]:
    """Statistics of the *pattern* of two vectors: correlations and sign agreement."""
    out: dict[str, np.ndarray] = {}
    if correlations:
        out["pearson"] = _rowwise_pearson(x, y)
        out["spearman"] = _rowwise_pearson(stats.rankdata(x, axis=-1),
                                           stats.rankdata(y, axis=-1))
    if sign_mask is not None and sign_mask.any():
        same = np.sign(x[..., sign_mask]) == np.sign(y[..., sign_mask])
        out["sign_agreement"] = same.mean(axis=-1)
    return out


def _pattern_floor(g: np.ndarray, floor_gold: np.ndarray, floor_sim: np.ndarray,
                   sign_mask: np.ndarray | None) -> dict[str, np.ndarray]:
    """Floor draws of the pattern statistics without gold's own noise counted as signal.

    Both floor sides are gold plus a resampling deviation, ``g + e1`` and
    ``g + e2``, so they share gold's sampling noise: their correlations across
    pairs are those of ``g`` (spread = structure + noise), while two independent
    samples share only the structure. The shared part is therefore replaced by
    ``c = mean(g) + lambda (g - mean(g))`` with
    ``lambda^2 = max(0, 1 - mean_k Var(e1_k) / Var_k(g_k))``, whose spread across
    pairs estimates the structure's alone; distances do not change (they depend
    on ``e2 - e1`` only).
    """
    gu = _upper(g)
    e1 = _upper(floor_gold) - gu
    e2 = _upper(floor_sim) - gu
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        noise = float(np.nanmean(np.nanvar(e1, axis=0)))
    spread = float(np.var(gu))
    lam = np.sqrt(max(0.0, 1.0 - noise / spread)) if spread > 0 else 0.0
    c = gu.mean() + lam * (gu - gu.mean())
    return _pattern_statistics(c + e1, c + e2, sign_mask, correlations=gu.size >= 3)


def _matrix_statistics(g: np.ndarray, s: np.ndarray, *, sign_mask: np.ndarray | None,
                       correlation: bool, n_eigen: int, tests: tuple | None,
                       ) -> dict[str, np.ndarray]:
    """Every comparison statistic of ``g`` vs ``s``, each of shape ``g.shape[:-2]``.

    ``tests`` is ``(n1, n2, jennrich_form)`` when the chi-square statistics apply.
    """
    g, s = np.broadcast_arrays(np.asarray(g, float), np.asarray(s, float))
    out = _vector_statistics(_upper(g), _upper(s), sign_mask)
    if correlation:
        p = g.shape[-1]
        eg = _eigvalsh_desc(g)
        es = _eigvalsh_desc(s)
        out["pc1_share_gold"] = eg[..., 0] / p
        out["pc1_share_sim"] = es[..., 0] / p
        out["pc1_share_diff"] = out["pc1_share_sim"] - out["pc1_share_gold"]
        edg = _effective_dependence(eg)
        eds = _effective_dependence(es)
        out["effective_dependence_gold"] = edg
        out["effective_dependence_sim"] = eds
        out["effective_dependence_diff"] = eds - edg
        for k in range(min(n_eigen, p)):
            out[f"eigenvalue_{k + 1}_gold"] = eg[..., k]
            out[f"eigenvalue_{k + 1}_sim"] = es[..., k]
        if tests is not None:
            n1, n2, form = tests
            # Jennrich's statistic assumes two positive-definite matrices: a pair (observed or
            # resampled) with one that is not gets NaN, never a number from a near-singular
            # inverse (eigenvalues ascending for the check)
            pd_both = is_positive_definite(eg[..., ::-1]) & is_positive_definite(es[..., ::-1])
            out["jennrich"] = np.where(pd_both, jennrich_statistic(g, s, n1, n2, form=form),
                                       np.nan)
            out["steiger"] = steiger_statistic(g, s, n1, n2)
    return out


def _item_deviation(g: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Per item mean |s - g| over its p - 1 partners: ``(..., p)``."""
    p = g.shape[-1]
    return np.sum(np.abs(s - g), axis=-1) / (p - 1)


# ----------------------------------------------------------------------------------------
# summaries of draws


def _quantiles(draws: np.ndarray, qs) -> np.ndarray:
    d = np.asarray(draws, float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return np.full(len(qs), np.nan)
    return np.quantile(d, qs)


def _floor_summary(obs: float, draws: np.ndarray | None, direction: str,
                   level: float) -> dict:
    out = floor_summary(obs, draws, direction, level)
    out["beyond_floor"] = pd.NA if out["beyond_floor"] is None else out["beyond_floor"]
    return out


def _reference_summary(obs: float, draws: np.ndarray | None, direction: str, prefix: str,
                       level: float) -> dict:
    """Ecological permutation null (``null_*``) or split-half ceiling (``ceiling_*``): mean
    and sd of the draws (as study B reports them) beside the median, quantiles and p-value."""
    if prefix == "null":
        out = {"null_mean": np.nan, "null_sd": np.nan, "null_median": np.nan, "null_p": np.nan}
    else:
        out = {"ceiling_mean": np.nan, "ceiling_sd": np.nan, "ceiling_median": np.nan,
               "ceiling_low": np.nan, "ceiling_high": np.nan}
    if draws is None:
        return out
    d = np.asarray(draws, float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return out
    out[f"{prefix}_mean"] = float(np.mean(d))
    out[f"{prefix}_sd"] = float(bootstrap_se(d)) if d.size > 1 else np.nan
    if prefix == "null":
        out["null_median"] = float(np.median(d))
        if np.isfinite(obs) and direction in (DISTANCE, SIMILARITY):
            # how often a structure-free population scores at least as well
            better = d <= obs if direction == DISTANCE else d >= obs
            out["null_p"] = float(resampling_pvalue(np.sum(better), d.size))
    else:
        a = (1.0 - level) / 2.0
        out["ceiling_median"] = float(np.median(d))
        out["ceiling_low"], out["ceiling_high"] = (float(v) for v in np.quantile(d, [a, 1 - a]))
    return out


# ----------------------------------------------------------------------------------------
# assembling one matrix comparison


@dataclass
class _Draws:
    """Matrices drawn for one comparison; any may be None."""

    boot_gold: np.ndarray | None = None      # (B, p, p) gold bootstrap (or None: fixed gold)
    boot_sim: np.ndarray | None = None       # (B, p, p) sim bootstrap
    floor_gold: np.ndarray | None = None     # (F, p, p) gold side of the floor, None: observed
    floor_sim: np.ndarray | None = None      # (F, p, p) gold resamples at the simulated size
    null_sim: np.ndarray | None = None       # (P, p, p) ecological permutation null
    ceiling_a: np.ndarray | None = None      # (C, p, p) split-half ceiling halves
    ceiling_b: np.ndarray | None = None
    perm_gold: np.ndarray | None = None      # (P, p, p) permutation null of the tests
    perm_sim: np.ndarray | None = None


def _sign_mask(kind: str, g: np.ndarray, draws: _Draws, n_pair, opts: dict,
               notes: list[str]) -> np.ndarray | None:
    """Which gold pairs are "clearly non-zero" for sign agreement (fixed from observed gold)."""
    alpha = 1.0 - opts["ci"]
    sign_mask = None
    gx = _upper(g)
    if kind == "cramers_v":
        return None
    thr = opts["sign_threshold"]
    if isinstance(thr, str):
        if draws.boot_gold is not None:
            lo, hi = np.nanquantile(_upper(draws.boot_gold), [alpha / 2, 1 - alpha / 2], axis=0)
            sign_mask = (lo > 0) | (hi < 0)
        elif n_pair is not None:
            ng = _upper(np.broadcast_to(n_pair[0], g.shape))
            half = stats.norm.ppf(1 - alpha / 2) / np.sqrt(np.maximum(ng - 3.0, 1.0))
            sign_mask = np.abs(np.arctanh(np.clip(gx, -1 + 1e-15, 1 - 1e-15))) > half
        else:
            notes.append(f"{kind}: sign agreement with sign_threshold='ci' needs sample "
                         "sizes or resampling; not computed")
    else:
        sign_mask = np.abs(gx) > float(thr)
    if sign_mask is not None and not sign_mask.any():
        notes.append(f"{kind}: no gold pair is clearly non-zero (sign_threshold="
                     f"{thr!r}); sign agreement not computed")
        sign_mask = None
    return sign_mask


def _statistic_rows(level: str, kind: str, p: int, obs: dict, boot: dict, floor: dict,
                    null: dict, ceiling: dict, perm: dict, opts: dict) -> list[dict]:
    """One row per matrix statistic: value, bootstrap CI, floor, null, ceiling, test p."""
    ci_level = opts["ci"]
    rows = []
    for name in [k for k in _STAT_ORDER if k in obs]:
        direction = _DIRECTIONS[name]
        row = {"level": level, "matrix": kind, "statistic": name, "direction": direction,
               "value": obs[name], "ci_method": None, "df": np.nan, "pvalue": np.nan,
               "p_method": None, "note": None}
        if name in boot and name not in ("jennrich", "steiger"):  # test statistics: no CI
            row.update(_bootstrap_interval(name, obs[name], boot[name], ci_level,
                                           opts["ci_method"], p))
        row.update(_floor_summary(obs[name], floor.get(name), direction, opts["floor_level"]))
        row.update(_reference_summary(obs[name], null.get(name), direction, "null", ci_level))
        row.update(_reference_summary(obs[name], ceiling.get(name), direction, "ceiling",
                                      ci_level))
        if name in ("jennrich", "steiger"):
            row["df"] = p * (p - 1) / 2
            row.update(_test_pvalue(name, obs[name], row["df"], opts["test_pvalue"],
                                    floor.get(name) if opts.get("floor_independent") else None,
                                    perm.get(name), kind=kind))
            if name == "jennrich":
                row["note"] = "; ".join(x for x in (f"form={opts['jennrich_form']}",
                                                    row["note"]) if x)
        if name.startswith("effective_dependence") and not np.isfinite(obs[name]):
            row["note"] = "undefined: a matrix is not positive definite (see notes)"
        rows.append(row)

    return rows


def _test_rows(level: str, kind: str, g: np.ndarray, s: np.ndarray, pairs: pd.DataFrame,
               opts: dict) -> list[dict]:
    """The Mantel test of association and the per-pair tests' summary rows."""
    rows = []
    p = g.shape[0]
    # Mantel test of association
    mantel = None
    if p >= 3 and opts["n_perm"] > 0:
        mantel = mantel_test(g, s, n_perm=opts["n_perm"], method=opts["mantel_method"],
                             seed=opts["rng_mantel"])
        rows.append({"level": level, "matrix": kind, "statistic": "mantel",
                     "direction": SIMILARITY, "value": mantel.statistic, "pvalue": mantel.pvalue,
                     "p_method": f"{mantel.method} ({int(mantel.n[0])}), {opts['mantel_method']}",
                     "note": "H0: no association (a small p is good news)"
                     + (f"; {mantel.note}" if mantel.note else "")})

    if "pvalue" in pairs.columns and pairs["pvalue"].notna().any():
        a_ = opts["alpha"]
        for col, nm in (("p_holm", "pair_tests_holm"), ("p_bh", "pair_tests_bh")):
            rows.append({"level": level, "matrix": kind, "statistic": nm,
                         "direction": DISTANCE,
                         "value": float(np.sum(pairs[col] < a_)),
                         "pvalue": float(np.nanmin(pairs[col])),
                         "p_method": f"min adjusted p over pairs ({pairs['se_method'].iloc[0]})",
                         "note": f"value = pairs with adjusted p < {a_:g}"})
    if "p_maxt" in pairs.columns and pairs["p_maxt"].notna().any():
        a_ = opts["alpha"]
        rows.append({"level": level, "matrix": kind, "statistic": "pair_tests_maxt",
                     "direction": DISTANCE, "value": float(np.sum(pairs["p_maxt"] < a_)),
                     "pvalue": float(np.nanmin(pairs["p_maxt"])),
                     "p_method": f"Westfall-Young step-down max-|z| over {opts['n_perm']} "
                                 "permutations (exact family-wise level)",
                     "note": f"value = pairs with adjusted p < {a_:g}"})

    return rows


def _build_comparison(*, level: str, kind: str, names, g: np.ndarray, s: np.ndarray,
                      draws: _Draws, correlation: bool, opts: dict, n_pair: tuple | None,
                      notes: list[str]) -> MatrixComparison:
    p = g.shape[0]
    names = list(names)
    tests = None
    if correlation and opts.get("n_tests") is not None and kind != "ecological":
        n1, n2 = opts["n_tests"]
        tests = (n1, n2, opts["jennrich_form"])

    sign_mask = _sign_mask(kind, g, draws, n_pair, opts, notes)
    if correlation and kind in ("polychoric", "correlation"):  # respondent-level matrices
        for who, mat in (("gold", g), ("simulated", s)):
            note = positive_definite_note(
                mat, f"{kind}: the {who} matrix",
                "its effective dependence is undefined (NaN)"
                + ("" if tests is None else " and Jennrich's test, which needs two "
                   "positive-definite matrices, is not computed (NaN)")
                + "; the pairwise statistics are unaffected. Repair the matrix first "
                "(popaudit.polychoric(..., pd_repair='nearest'), Higham's nearest correlation "
                "matrix) and compare the repaired matrices to have them")
            if note:
                notes.append(note)

    def stat_fn(a, b):
        return _matrix_statistics(a, b, sign_mask=sign_mask, correlation=correlation,
                                  n_eigen=opts["n_eigen"], tests=tests)

    obs = {k: float(v) for k, v in stat_fn(g, s).items()}

    boot = {}
    if draws.boot_sim is not None or draws.boot_gold is not None:
        bg = g if draws.boot_gold is None else draws.boot_gold
        bs = s if draws.boot_sim is None else draws.boot_sim
        boot = stat_fn(bg, bs)
    floor = {}
    if draws.floor_sim is not None:
        fg = g if draws.floor_gold is None else draws.floor_gold
        floor = stat_fn(fg, draws.floor_sim)
        if draws.floor_gold is not None:
            floor.update(_pattern_floor(g, draws.floor_gold, draws.floor_sim, sign_mask))
    null = stat_fn(g, draws.null_sim) if draws.null_sim is not None else {}
    ceiling = stat_fn(draws.ceiling_a, draws.ceiling_b) if draws.ceiling_a is not None else {}
    perm = stat_fn(draws.perm_gold, draws.perm_sim) if draws.perm_gold is not None else {}

    for name, arr in (("bootstrap", boot), ("floor", floor), ("permutation null", null),
                      ("split-half ceiling", ceiling)):
        if arr and "rmse" in arr:
            bad = int(np.sum(~np.isfinite(arr.get("pearson", arr["rmse"]))))
            if bad:
                notes.append(f"{kind}: {bad} {name} draw(s) gave an undefined statistic "
                             "(a constant column); summaries use the finite draws")

    rows = _statistic_rows(level, kind, p, obs, boot, floor, null, ceiling, perm, opts)
    pairs = _pairs_table(level, kind, names, g, s, boot_gold=draws.boot_gold,
                         boot_sim=draws.boot_sim, floor=(draws, g), n_pair=n_pair,
                         opts=opts, notes=notes)
    rows += _test_rows(level, kind, g, s, pairs, opts)

    table = pd.DataFrame(rows)
    for c in _COLUMNS:
        if c not in table.columns:
            table[c] = np.nan
    table = table[_COLUMNS]

    items = _items_table(level, kind, names, g, s, draws, opts)
    spectrum = _spectrum_table(level, kind, obs, boot, floor, opts) if correlation else None

    def keep(dct):
        return _frozen_dict({k: np.asarray(v) for k, v in dct.items()})

    return MatrixComparison(
        level=level, kind=kind,
        gold=pd.DataFrame(g, index=names, columns=names),
        sim=pd.DataFrame(s, index=names, columns=names),
        statistics=table, items=items, pairs=pairs, spectrum=spectrum,
        bootstrap=keep(boot), floor=keep(floor), null=keep(null), ceiling=keep(ceiling))


#: Where a reference distribution is known to be off (docs/validity.md, issue 15): the note
#: its p-value carries, by (method, statistic, matrix kind); None matches any.
_MISCALIBRATED = {
    ("asymptotic", None, "polychoric"):
        "chi-square reference not calibrated for polychoric matrices (rejects a true null far "
        "too often; docs/validity.md)",
    ("bootstrap", "jennrich", None):
        "bootstrap reference conservative once items are many for the sample size (no "
        "power: its draws' pooled matrix carries gold's noise twice); "
        "test_pvalue='permutation' is exact (docs/validity.md)",
}


def _calibration_note(method: str, name: str, kind: str | None) -> str | None:
    for (m, nm, kd), note in _MISCALIBRATED.items():
        if m == method and nm in (None, name) and kd in (None, kind):
            return note
    return None


def _survey_calibration_notes(*, n_boot: int, n_null: int, floor: str,
                              maxt: bool = False) -> list[str]:
    """What the calibration study on survey-like data (docs/validity.md) found off, for the
    parts of a Survey comparison that were computed."""
    out = []
    if n_boot:
        out.append("calibration (docs/validity.md): the per-pair Fisher-z tests (bootstrap "
                   "standard errors, p_holm / p_bh) are liberal on survey-like data - some pair "
                   "flagged in 8-15 % of two real samples at alpha = 0.05 (99 bootstrap draws)"
                   + ("; the permutation max-T p-values (p_maxt, pair_tests_maxt) hold the "
                      "family-wise level: read those" if maxt
                      else "; read single flagged pairs with care"))
    if n_null and floor == "independent":
        out.append("calibration (docs/validity.md): the noise floors are approximate on "
                   "survey-like data - a second real sample lands beyond them 0-7.5 % of the "
                   "time at the nominal 5 %; for a test use the permutation p-values")
    return out


def _test_pvalue(name: str, obs: float, df: float, method: str, floor_draws, perm_draws, *,
                 kind: str | None = None) -> dict:
    """p-value of a chi-square statistic by the requested reference distribution; a
    reference that the calibration study found off says so in the note."""
    if not np.isfinite(obs):
        return {"pvalue": np.nan, "p_method": None,
                "note": ("undefined: a matrix (gold, simulated or pooled) is singular or not "
                         "positive definite (see notes)") if name == "jennrich"
                else "a correlation of +-1"}
    p_asym = float(stats.chi2.sf(obs, df))
    if method == "auto":
        method = "bootstrap" if floor_draws is not None else "asymptotic"
    caveat = _calibration_note(method, name, kind)
    if method == "asymptotic":
        return {"pvalue": p_asym, "p_method": "asymptotic", "note": caveat}
    draws = floor_draws if method == "bootstrap" else perm_draws
    if draws is None:
        raise ValueError(f"test_pvalue={method!r} needs Survey inputs and "
                         + ("n_null > 0 with floor='independent'" if method == "bootstrap"
                            else "n_perm > 0"))
    d = np.asarray(draws, float).ravel()
    n_all = d.size
    # an infinite draw (Steiger: a resampled correlation at +-1) is more extreme than any
    # finite observed value and counts as such (dropping it would bias the p-value
    # downwards). Undefined draws (NaN: Jennrich's with a matrix
    # that is not positive definite) are left out, which keeps a permutation p-value exact
    # given that the observed statistic is defined.
    d = d[~np.isnan(d)]
    if d.size < max(1, n_all / 2):  # never a p-value from a degenerate reference
        return {"pvalue": np.nan, "p_method": f"{method} ({d.size} of {n_all})",
                "note": f"no {method} p-value: only {d.size} of {n_all} resamples give a defined "
                        "statistic (resampled matrices not positive definite); asymptotic "
                        f"p = {p_asym:.3g}"}
    pval = resampling_pvalue(np.sum(d >= obs), d.size)
    return {"pvalue": float(pval), "p_method": f"{method} ({d.size})",
            "note": "; ".join(x for x in (f"asymptotic p = {p_asym:.3g}", caveat) if x)}


_SQUARED_SCALE = ("rmse", "frobenius")


def _statistic_range(name: str, p: int) -> tuple[float, float]:
    if name in ("rmse", "mae", "max_abs_diff", "frobenius", "jennrich", "steiger") or \
            name.startswith("eigenvalue_"):
        return 0.0, np.inf
    if name in ("pearson", "spearman"):
        return -1.0, 1.0
    if name in ("sign_agreement", "pc1_share_gold", "pc1_share_sim",
                "effective_dependence_gold", "effective_dependence_sim"):
        return 0.0, 1.0
    return -np.inf, np.inf


def _bootstrap_interval(name: str, obs: float, draws: np.ndarray, ci_level: float,
                        method: str, p: int) -> dict:
    """Point estimate and CI of one statistic (:func:`popaudit._inference.bootstrap_interval`).

    RMSE and the Frobenius norm are corrected on the squared scale, where sampling noise adds
    its variance (E[MSE_hat] = MSE + v, E[MSE*] = MSE_hat + v); bounds are the statistic's
    possible values.
    """
    squared = name in _SQUARED_SCALE and method != "percentile"
    est, lo, hi = bootstrap_interval(obs, draws, confidence_level=ci_level, method=method,
                                     squared=squared,
                                     bounds=None if squared else _statistic_range(name, p))
    return {"estimate": float(est), "ci_low": float(lo), "ci_high": float(hi),
            "ci_method": f"{method} (squared)" if squared else method}


def _pairs_table(level, kind, names, g, s, *, boot_gold, boot_sim, floor, n_pair, opts,
                 notes) -> pd.DataFrame:
    p = g.shape[0]
    iu = np.triu_indices(p, 1)
    draws, _ = floor
    se_method = opts["pair_se"]
    tab = None
    correlation_like = kind in ("polychoric", "correlation")
    if correlation_like and se_method == "auto":
        if boot_gold is not None and boot_sim is not None:
            se_method = "bootstrap"
        elif opts.get("se_pair") is not None:
            se_method = "polychoric"
        elif n_pair is not None:
            se_method = "fisher"
        else:
            se_method = None
    if correlation_like and se_method is not None:
        se = None
        if se_method == "bootstrap":
            if boot_gold is None or boot_sim is None:
                raise ValueError("pair_se='bootstrap' needs Survey inputs and n_boot > 0")
            with np.errstate(divide="ignore", invalid="ignore"):
                zg = np.arctanh(_upper(boot_gold))
                zs = np.arctanh(_upper(boot_sim))
            zg[~np.isfinite(zg)] = np.nan
            zs[~np.isfinite(zs)] = np.nan
            with warnings.catch_warnings():  # a pair with < 2 finite draws gets NaN, noted below
                warnings.simplefilter("ignore", RuntimeWarning)
                se_u = np.sqrt(np.nanvar(zg, axis=0, ddof=1) + np.nanvar(zs, axis=0, ddof=1))
            se = np.ones((p, p))
            se[iu] = se_u
            se[iu[1], iu[0]] = se_u
        elif se_method == "polychoric":
            se_g, se_s = opts["se_pair"]
            with np.errstate(divide="ignore", invalid="ignore"):
                var = (se_g / (1 - g ** 2)) ** 2 + (se_s / (1 - s ** 2)) ** 2
            se = np.sqrt(var)
            np.fill_diagonal(se, 1.0)
        elif se_method != "fisher":
            raise ValueError(f"pair_se must be 'auto', 'bootstrap', 'polychoric' or 'fisher', "
                             f"got {se_method!r}")
        if se_method == "fisher" and n_pair is None:
            raise ValueError("pair_se='fisher' needs the sample sizes (pass n=(n_gold, n_sim))")
        if se is not None and np.any(~np.isfinite(se[iu]) | (se[iu] <= 0)):
            bad = np.flatnonzero(~np.isfinite(se[iu]) | (se[iu] <= 0))[0]
            notes.append(f"{kind}: pair ({names[iu[0][bad]]}, {names[iu[1][bad]]}) has no usable "
                         "standard error; its Fisher-z test is undefined")
            se = np.where(np.isfinite(se) & (se > 0), se, np.nan)
        tab = _pair_tests_safe(g, s, se, n_pair, names)
        tab["se_method"] = se_method
    if tab is None:
        tab = pd.DataFrame({"item_a": [names[i] for i in iu[0]],
                            "item_b": [names[j] for j in iu[1]],
                            "r_gold": g[iu], "r_sim": s[iu], "difference": s[iu] - g[iu]})
    if correlation_like and draws.perm_gold is not None and draws.perm_sim is not None:
        tab["p_perm"], tab["p_maxt"] = permutation_pair_tests(g, s, draws.perm_gold,
                                                              draws.perm_sim)
    if draws.floor_sim is not None:
        fg = g if draws.floor_gold is None else draws.floor_gold
        fd = np.abs(_upper(draws.floor_sim) - _upper(fg))
        tab["floor_high"] = np.nanquantile(fd, opts["floor_level"], axis=0)
        tab["beyond_floor"] = np.abs(tab["difference"].to_numpy()) > tab["floor_high"].to_numpy()
    tab.insert(0, "matrix", kind)
    tab.insert(0, "level", level)
    return tab


def permutation_pair_tests(g: np.ndarray, s: np.ndarray, perm_gold: np.ndarray,
                           perm_sim: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pair permutation p-values and Westfall-Young step-down max-T adjusted p-values.

    The statistic of pair ``i`` is ``t_i = |z_sim,i - z_gold,i| / sd_i``, the Fisher-z
    difference over its standard deviation across the observed and the permuted labellings
    (so that pairs with noisier correlations do not dominate the maximum). With ``B`` permutations of the
    pooled respondents (``perm_gold``, ``perm_sim``: (B, p, p) matrices of the relabelled
    groups), ``p_perm_i = (#{b: t_bi >= t_i} + 1) / (B + 1)``, and the step-down max-T
    adjustment (Westfall and Young 1993, algorithm 4.1) compares ``t_i`` with the maximum of
    the permuted statistics over the pairs not more significant than ``i``, then makes the
    p-values monotone. Both are exact under the null that the two populations are one (the
    adjusted ones control the family-wise error at any level), whatever the missing answers,
    weights and mixture of groups, which travel with their respondents. A permuted
    statistic that is undefined (a correlation not estimable in a relabelled group) counts
    as exceeding: conservative. Pairs whose observed statistic is undefined get NaN.

    Returns ``(p_perm, p_maxt)``, each of shape ``(p (p - 1) / 2,)`` in upper-triangle order.

    Reference: Westfall, P. H. and Young, S. S. (1993). *Resampling-based multiple
    testing*. Wiley, ch. 2 and 4.
    """
    lim = 1.0 - 1e-12   # |r| = 1 (a boundary estimate) stays finite on the z scale

    def fisher(r):
        return np.arctanh(np.clip(r, -lim, lim))

    d_obs = fisher(_upper(s)) - fisher(_upper(g))
    d_perm = fisher(_upper(perm_sim)) - fisher(_upper(perm_gold))   # (B, m)
    n_perm = d_perm.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # a pair with < 2 defined draws
        # over the observed labelling *and* the permuted ones: the scale is then the same
        # whichever labelling is the observed one, which keeps max-T exact (over the permuted
        # ones alone, the observed maximum is favoured: 0.075 instead of 0.05 in a check)
        sd = np.nanstd(np.vstack([d_perm, d_obs[None, :]]), axis=0, ddof=1)
    usable = np.isfinite(d_obs) & np.isfinite(sd) & (sd > 0)
    sd = np.where(usable, sd, 1.0)
    t_obs = np.where(usable, np.abs(d_obs) / sd, np.nan)
    t_perm = np.abs(d_perm) / sd
    t_perm = np.where(np.isnan(t_perm), np.inf, t_perm)   # undefined draws count as exceeding
    t_perm = np.where(usable[None, :], t_perm, -np.inf)   # unusable pairs take no part
    p_perm = resampling_pvalue(np.sum(t_perm >= t_obs[None, :], axis=0), n_perm)
    # step-down: pairs from most to least significant; successive maxima over the rest
    order = np.argsort(-np.where(usable, t_obs, -np.inf), kind="stable")
    tail_max = np.maximum.accumulate(t_perm[:, order][:, ::-1], axis=1)[:, ::-1]
    p_sorted = resampling_pvalue(np.sum(tail_max >= t_obs[order][None, :], axis=0), n_perm)
    p_sorted = np.maximum.accumulate(p_sorted)
    p_maxt = np.empty_like(p_sorted)
    p_maxt[order] = p_sorted
    return (np.where(usable, p_perm, np.nan).astype(float),
            np.where(usable, p_maxt, np.nan).astype(float))


def _pair_tests_safe(g, s, se, n_pair, names) -> pd.DataFrame:
    if se is not None and np.isnan(se).any():
        # test the pairs with a standard error; leave the others undefined
        iu = np.triu_indices(g.shape[0], 1)
        ok = np.isfinite(se[iu])
        se_fill = np.where(np.isfinite(se), se, 1.0)
        tab = pairwise_difference_tests(g, s, se_diff=se_fill, names=names)
        for c in ("z", "pvalue", "p_holm", "p_bh"):
            tab.loc[~ok, c] = np.nan
        tab["p_holm"] = adjust_pvalues(tab["pvalue"], "holm")
        tab["p_bh"] = adjust_pvalues(tab["pvalue"], "bh")
        return tab
    if se is not None:
        return pairwise_difference_tests(g, s, se_diff=se, names=names)
    return pairwise_difference_tests(g, s, n1=n_pair[0], n2=n_pair[1], names=names)


def _items_table(level, kind, names, g, s, draws: _Draws, opts) -> pd.DataFrame:
    p = g.shape[0]
    alpha = 1.0 - opts["ci"]
    dev = _item_deviation(g, s)
    absd = np.abs(s - g)
    np.fill_diagonal(absd, -np.inf)
    worst = np.argmax(absd, axis=1)
    off = ~np.eye(p, dtype=bool)
    tab = pd.DataFrame({
        "level": level, "matrix": kind, "item": names, "mean_abs_deviation": dev,
        "mean_abs_r_gold": np.abs(np.where(off, g, 0)).sum(1) / (p - 1),
        "mean_abs_r_sim": np.abs(np.where(off, s, 0)).sum(1) / (p - 1),
        "worst_partner": [names[j] for j in worst],
        "worst_difference": (s - g)[np.arange(p), worst],
    })
    if draws.boot_sim is not None or draws.boot_gold is not None:
        bg = g if draws.boot_gold is None else draws.boot_gold
        bs = s if draws.boot_sim is None else draws.boot_sim
        bd = _item_deviation(bg, bs)
        q_lo, q_hi = np.nanquantile(bd, [alpha / 2, 1 - alpha / 2], axis=0)
        bias = np.nanmean(bd, axis=0) - dev
        if opts["ci_method"] == "percentile":
            tab["estimate"], tab["ci_low"], tab["ci_high"] = dev, q_lo, q_hi
        elif opts["ci_method"] == "shifted":  # as in the statistics table
            tab["estimate"] = np.clip(dev - bias, 0, None)
            tab["ci_low"] = np.clip(q_lo - 2 * bias, 0, None)
            tab["ci_high"] = np.clip(q_hi - 2 * bias, 0, None)
        else:
            tab["estimate"] = np.clip(dev - bias, 0, None)
            tab["ci_low"] = np.clip(2 * dev - q_hi, 0, None)
            tab["ci_high"] = np.clip(2 * dev - q_lo, 0, None)
    if draws.floor_sim is not None:
        fg = g if draws.floor_gold is None else draws.floor_gold
        fd = _item_deviation(fg, draws.floor_sim)
        tab["floor_median"] = np.nanmedian(fd, axis=0)
        tab["floor_high"] = np.nanquantile(fd, opts["floor_level"], axis=0)
        finite = np.isfinite(fd)
        tab["floor_p"] = resampling_pvalue(np.sum((fd >= dev[None, :]) & finite, axis=0),
                                           finite.sum(axis=0))
        tab["beyond_floor"] = dev > tab["floor_high"].to_numpy()
    tab = tab.sort_values("mean_abs_deviation", ascending=False, kind="stable")
    tab.insert(4, "rank", np.arange(1, p + 1))
    return tab.reset_index(drop=True)


def _spectrum_table(level, kind, obs, boot, floor, opts) -> pd.DataFrame:
    rows = []
    k = 1
    while f"eigenvalue_{k}_gold" in obs:
        p_share = obs["pc1_share_gold"] / obs["eigenvalue_1_gold"] if obs["eigenvalue_1_gold"] \
            else np.nan  # 1 / p
        for who in ("gold", "sim"):
            key = f"eigenvalue_{k}_{who}"
            row = {"level": level, "matrix": kind, "component": k, "population": who,
                   "eigenvalue": obs[key], "share": obs[key] * p_share}
            if key in boot:
                ci = _bootstrap_interval(key, obs[key], boot[key], opts["ci"], opts["ci_method"],
                                         0)
                row.update(estimate=ci["estimate"], ci_low=ci["ci_low"], ci_high=ci["ci_high"])
            if who == "sim" and key in floor:
                fs = _floor_summary(obs[key], floor[key], TWO_SIDED, opts["floor_level"])
                row.update(floor_median=fs["floor_median"], floor_low=fs["floor_low"],
                           floor_high=fs["floor_high"], floor_p=fs["floor_p"])
            rows.append(row)
        k += 1
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------
# inputs


def _harmonic(n: np.ndarray) -> float:
    return harmonic_mean_offdiag(n, on_zero="zero")


def _is_polychoric_result(x) -> bool:
    return hasattr(x, "corr") and hasattr(x, "thresholds") and hasattr(x, "n")


def _as_corr_frame(x, what: str) -> pd.DataFrame:
    if _is_polychoric_result(x):
        c = x.corr
    elif isinstance(x, pd.DataFrame):
        c = x
    elif isinstance(x, np.ndarray):
        c = pd.DataFrame(x, index=[f"V{i + 1}" for i in range(x.shape[0])],
                         columns=[f"V{i + 1}" for i in range(x.shape[-1])])
    else:
        raise TypeError(f"{what} must be a Survey, a polychoric result or a correlation "
                        f"matrix, got {type(x).__name__}")
    if c.shape[0] != c.shape[1]:
        raise ValueError(f"{what} correlation matrix must be square, got {c.shape}")
    if list(c.index) != list(c.columns):
        raise ValueError(f"{what} correlation matrix must have the same row and column labels")
    arr = check_correlation_matrix(c.to_numpy(dtype=float), names=list(c.index),
                                   what=f"{what} correlation matrix")
    return pd.DataFrame(arr, index=[str(v) for v in c.index], columns=[str(v) for v in c.index])


# ----------------------------------------------------------------------------------------
# the public function


@renamed_arguments(sim="simulated", ci="confidence_level")
@with_x64
def compare_correlations(gold, simulated, *, level: str | None = None, by=None, items=None,
                         n_boot: int = 1000, n_null: int = 1000, seed=None,
                         confidence_level: float = 0.95, ci_method: str = "auto",
                         floor: str = "independent", floor_level: float = 0.95,
                         sign_threshold: float | str = 0.1, n_eigen: int = 5,
                         n: tuple[float, float] | None = None,
                         test_pvalue: str = "auto", n_perm: int | None = None,
                         jennrich_form: str = "jennrich1970", pair_se: str = "auto",
                         alpha: float = 0.05, mantel_method: str = "pearson",
                         weighted: bool | None = None, ecological_bootstrap: str = "sim",
                         variant: str | None = None, categories=None, cache=None,
                         ) -> CorrelationComparison:
    r"""Compare the correlation structure of a simulated population with gold's.

    Parameters
    ----------
    gold, simulated : Survey, polychoric result or correlation matrix
        Two :class:`~popaudit.Survey` objects (respondent-level data: every
        statistic, bootstrap CIs and noise floors), or two results of
        :func:`popaudit.structure.polychoric` / two square correlation DataFrames (only the
        statistics that need no resampling, and the tests when sample sizes are
        known).
    level : {"individual", "ecological"}, optional
        ``"individual"`` (default): polychoric correlations among respondents of
        ordinal and binary items, plus Cramér's V among nominal items.
        ``"ecological"``: Pearson correlations between items across subgroup
        means, study B's structure (needs ``by``; see ``variant``).
    by : str, list of str or dict, optional
        Subgroups for the ecological level: demographic column(s) (groups =
        observed combinations in gold, looked up in sim), or a dict
        ``name -> spec`` for overlapping groups, where ``spec`` is a callable
        taking a population's demographics DataFrame and returning a boolean
        mask, or a pair ``(gold_mask, sim_mask)``.
    items : list of str, optional
        Compare only these items (default: all of gold's; sim must have them).
    n_boot : int
        Bootstrap draws (respondents of both populations resampled; at the
        ecological level see ``ecological_bootstrap``). 0 disables CIs.
    n_null : int
        Draws of the noise floor (and, ecological level, of the permutation null
        and the split-half ceiling). 0 disables them.
    seed : int or numpy.random.Generator, optional
        Seed of every random draw; the same seed gives the same result.
    confidence_level : float
        Confidence level of the bootstrap intervals (``ci`` before 0.2, deprecated).
    ci_method : {"auto", "shifted", "basic", "percentile"}
        How ``estimate``, ``ci_low`` and ``ci_high`` come from the bootstrap
        draws. ``"shifted"``: bias-corrected ``estimate`` and the percentile
        interval moved by twice the bootstrap bias - an interval for the
        *population* value (RMSE and Frobenius norm on the squared scale);
        ``"basic"``: the basic (reflected) bootstrap interval; ``"percentile"``:
        the quantiles of the draws (see Notes). ``"auto"`` (default): shifted
        at the individual level, percentile at the ecological level (the
        study's intervals; with only the simulated side resampled a bias
        correction would be one-sided).
    floor : {"independent", "resample"}
        How the noise floor compares gold with "another real sample of n_sim".
        ``"independent"`` (default): a bootstrap replicate of gold vs an
        independent resample of size n_sim from gold, so both sides carry their
        own sampling noise like an independent real sample would. ``"resample"``:
        gold itself vs the resample, which omits gold's own sampling noise and is
        too tight unless n_gold >> n_sim (see Notes).
    floor_level : float
        Quantile that bounds the floor: the 95th percentile for distances
        (``floor_high``), the 5th for similarities (``floor_low``), the central
        interval for two-sided statistics.
    sign_threshold : float or "ci"
        A gold correlation counts as clearly non-zero when ``|r| >`` this value,
        or with ``"ci"`` when its bootstrap (else Fisher-z) CI excludes 0.
    n_eigen : int
        Leading eigenvalues reported in ``spectrum``.
    n : (float, float), optional
        Sample sizes (n_gold, n_sim) for the chi-square tests. Default: from the
        surveys (harmonic mean of the pairwise-complete counts, Kish-effective
        when weighted) or from the polychoric results' ``n``.
    test_pvalue : {"auto", "asymptotic", "bootstrap", "permutation"}
        Reference distribution of Jennrich's and Steiger's statistics.
        ``"asymptotic"``: chi-square on p(p-1)/2 df - valid for Pearson
        correlations of normal data only; with polychoric correlations it
        rejects far too often (``docs/structure.md``, ``docs/validity.md``).
        ``"bootstrap"``: the statistic's noise-floor draws (gold replicate vs an
        independent resample of n_sim from gold, i.e. H0 "sim is another sample
        of gold's population"); needs ``floor="independent"`` and ``n_null > 0``
        and costs nothing extra, but Jennrich's is conservative - no power - once
        items are many for the sample size (its draws' pooled matrix carries
        gold's sampling noise twice; ``docs/validity.md``). ``"permutation"``:
        respondents of both surveys pooled and relabelled ``n_perm`` times,
        matrices re-estimated with ``polychoric_batch`` (H0: both populations
        have the same distribution); exact, whatever the missing answers, weights
        and mixture of groups, which travel with their respondents; costs
        ``2 * n_perm`` polychoric matrices. ``"auto"`` (default): ``"permutation"``
        for Survey inputs when ``n_perm > 0``, else ``"bootstrap"`` when its draws
        exist, else ``"asymptotic"``; ``settings["test_pvalue"]`` records the
        choice. The asymptotic p is always given in the note.
    n_perm : int, optional
        Permutations of the permutation test (``test_pvalue``) and of the Mantel
        test. Default: ``n_null`` (999 when ``n_null`` is 0).
    jennrich_form : {"jennrich1970", "psych"}
        See :func:`popaudit.structure.tests.jennrich_test`.
    pair_se : {"auto", "bootstrap", "polychoric", "fisher"}
        Standard error of the per-pair Fisher-z differences. ``"auto"``:
        bootstrap when resampling is possible, else the polychoric standard
        errors when both results carry them, else normal theory.
    alpha : float
        Level at which the per-pair rejections are counted.
    mantel_method : {"pearson", "spearman"}
        Matrix correlation of the Mantel test.
    weighted : bool, optional
        Ecological level only: weight the subgroup means by the survey weights.
        Default False, as the study did (the individual level always uses weights).
    ecological_bootstrap : {"sim", "both"}
        Ecological level: resample each simulated group's respondents (the
        study's choice) or both populations'.
    variant : {"study_b", "study_b_code"}, optional
        Ecological level only; every result records it (``settings["variant"]`` and
        the ``variant`` column). ``"study_b"`` (default): the method as study B's
        paper describes it, done right - WVS missing codes dropped, no rounding,
        item x item permutation null and split-half ceiling, respondents of each
        simulated group resampled, percentile intervals at ``confidence_level``.
        ``"study_b_code"``: the computation as the study's public code runs it, so
        that its published numbers can be reproduced - with gold from
        :func:`~popaudit.structure.study_b.study_b_survey` only -1 is missing (-2,
        -4, -5 averaged in), means rounded to 2 dp and correlations and metrics to
        3 dp, null and ceiling on *subgroup x subgroup* matrices (an odd group's
        last respondent left out of the split), each item column of each simulated
        group resampled on its own with gold fixed, and the interval from the 0.25
        to the 0.975 quantile; only ``rmse`` and ``pearson`` (the study's two
        metrics), no noise floor. ``n_boot`` and ``n_null`` set its draws (the study:
        1000 each), ``seed`` its generator (the study: ``np.random.seed(42)``, a
        stream no other code can share). The table of differences is in
        :mod:`popaudit.structure.study_b` and ``docs/structure.md``.
    categories : "study_b" or mapping, optional
        Ecological level only: also compare the structure of *category* scores, the
        mean of the item scores within each category per subgroup (study B's
        category level): ``"study_b"`` for its 12 WVS-7 topic categories
        (:data:`~popaudit.structure.study_b.STUDY_B_CATEGORIES`; those with at
        least one item), or a mapping ``name -> items``. Adds a comparison of kind
        ``"ecological_category"`` (``statistic(name, matrix="ecological_category")``).
    cache : dict, optional
        Individual level, Survey inputs: a dict shared by comparisons of one gold with
        several simulated populations (:func:`popaudit.audit` passes one). Gold's side -
        its polychoric matrix, bootstrap and noise-floor draws - depends only on gold, the
        simulated population's (effective) size, the draw counts and the seed, so it is
        computed once per such key and reused; the numbers are those of a call without it.

    Returns
    -------
    CorrelationComparison
        ``to_frame()`` gives one row per statistic: ``level, matrix, statistic,
        direction, value, ci_low, ci_high, ci_method, floor_median, floor_low,
        floor_high, floor_percentile, floor_p, beyond_floor, df, pvalue, p_method,
        null_mean, null_sd, null_median, null_p, ceiling_mean, ceiling_sd,
        ceiling_median, ceiling_low, ceiling_high, note`` (and ``variant`` at the
        ecological level).
        ``items`` ranks items by how much their correlations deviate; ``pairs``
        has the per-pair tests (Fisher z with Holm / BH; with Survey inputs also
        permutation and Westfall-Young max-T p-values, ``p_perm`` / ``p_maxt``, whose
        family-wise level is exact); ``spectrum`` the eigenvalues; ``gold``, ``sim``,
        ``difference`` the matrices; ``main.bootstrap`` / ``main.floor`` (and at
        the ecological level ``main.null`` / ``main.ceiling``) the draws.

    Notes
    -----
    Over the :math:`m = p(p-1)/2` off-diagonal pairs with :math:`d = s - g`:
    RMSE :math:`\sqrt{\bar{d^2}}`, MAE :math:`\overline{|d|}`, ``max_abs_diff``,
    Frobenius :math:`\lVert S - G\rVert_F = \sqrt{2\sum d^2}`, the Pearson and
    Spearman correlations of the two vectors of correlations, and sign agreement
    (share of clearly non-zero gold pairs whose sign sim reproduces). Per
    matrix: share of variance of the first principal component
    :math:`\lambda_1/p` and effective dependence :math:`1 - \det(R)^{1/p}`
    (undefined, NaN with a note, for a matrix that is not positive definite);
    ``*_diff`` is sim minus gold. Tests: Jennrich (1970), Steiger (as
    ``psych::cortest.normal``), Mantel (H0 *no association*), and per-pair
    Fisher-z tests with Holm and Benjamini-Hochberg adjustment
    (:mod:`popaudit.structure.tests`).

    **Noise floor.** A simulated population of :math:`n_{sim}` respondents
    cannot match gold better than another real sample of :math:`n_{sim}` would.
    Each floor draw resamples :math:`n_{sim}` gold respondents with
    probabilities proportional to their weights (multinomial count weights) and
    computes the statistic against gold. With ``floor="independent"`` the gold
    side is itself a bootstrap replicate, so the difference has the sampling
    variance :math:`1/n_{gold} + 1/n_{sim}` of two independent samples; with
    ``"resample"`` only :math:`1/n_{sim}`, which makes a second real sample of
    equal size look "beyond the floor" far too often. ``floor_median`` and the
    bound (95th percentile for distances, 5th for similarities, central 95 %
    for signed differences) are reported with ``floor_p``, the share of floor
    draws at least as extreme as the observed value (``(1 + k)/(1 + B)``).

    **CIs.** ``value`` is the statistic of the two observed matrices, the one
    compared with the floor. Sampling noise biases it: distances such as RMSE
    upward (E[MSE_hat] = MSE + v), similarities such as the correlation of
    correlations downward. With the bootstrap bias :math:`b = \overline{\theta^*} -
    \hat\theta`, the default reports ``estimate`` :math:`\hat\theta - b` and the
    interval :math:`[q_{lo} - 2b, q_{hi} - 2b]` for the *population* value (for
    RMSE and Frobenius on the squared scale, where the noise adds its variance);
    it can lie below ``value``. The plain percentile interval sits above the
    observed RMSE and almost never covers the population RMSE; the basic
    interval undercovers a clearly non-zero RMSE (``docs/structure.md`` has the
    coverage study).

    **Ecological level** (study B): per group :math:`g` and item :math:`j` the
    mean answer rescaled to [0, 1] by the item's code range; Pearson
    correlations between items across groups; permutation null = the
    statistics of gold vs gold with group labels shuffled independently within
    each item column (a population with the right item means but no
    cross-item structure); split-half ceiling = the statistics between the two
    halves of every gold group split at random; bootstrap = each simulated
    group's respondents resampled. Items constant across groups in either
    population are dropped with a note. Null and ceiling are summarised by
    their mean and sd (as the study reports them) beside the median, the
    quantiles and the p-value of the observed statistic against the null.

    Examples
    --------
    >>> import numpy as np
    >>> import popaudit as pa
    >>> g = np.array([[1, .5, .3], [.5, 1, .4], [.3, .4, 1]])
    >>> s = np.array([[1, .2, .3], [.2, 1, .1], [.3, .1, 1]])
    >>> res = pa.compare_correlations(g, s, n=(200, 150), n_perm=0)
    >>> round(float(res.statistic("rmse")["value"]), 4)
    0.2449
    >>> round(float(res.statistic("jennrich")["pvalue"]), 4)
    0.0005
    """
    sim, ci = simulated, confidence_level
    level, n_perm, variant = _compare_correlations_iv(
        level=level, ci_method=ci_method, floor=floor, test_pvalue=test_pvalue,
        pair_se=pair_se, ecological_bootstrap=ecological_bootstrap,
        sign_threshold=sign_threshold, ci=ci, floor_level=floor_level, n_boot=n_boot,
        n_null=n_null, n_perm=n_perm, by=by, variant=variant, categories=categories)
    seed_value = resolve_seed(seed)[1]
    rngs = spawn(seed_value, 6)
    if ci_method == "auto":
        ci_method = "percentile" if level == "ecological" else "shifted"
    opts = {"ci": ci, "ci_method": ci_method, "floor_level": floor_level,
            "sign_threshold": sign_threshold, "n_eigen": n_eigen,
            "jennrich_form": jennrich_form, "pair_se": pair_se, "alpha": alpha,
            "mantel_method": mantel_method, "n_perm": int(n_perm), "test_pvalue": test_pvalue,
            "rng_mantel": rngs[5], "floor_independent": floor == "independent"}
    settings = {"level": level, "n_boot": int(n_boot), "n_null": int(n_null),
                "seed": seed_value, "confidence_level": ci, "ci_method": ci_method, "floor": floor, "floor_level": floor_level,
                "sign_threshold": sign_threshold, "test_pvalue": test_pvalue,
                "n_perm": int(n_perm), "jennrich_form": jennrich_form, "pair_se": pair_se,
                "mantel_method": mantel_method}
    notes: list[str] = []
    surveys = isinstance(gold, Survey) and isinstance(sim, Survey)
    if isinstance(gold, Survey) != isinstance(sim, Survey):
        raise TypeError("gold and sim must both be Surveys, or both be polychoric results / "
                        "correlation matrices")
    if test_pvalue == "auto" and level == "individual":
        # permutation: exact for two samples whatever their missing answers, weights and
        # mixture of groups; the bootstrap reference of Jennrich's statistic is conservative
        # once items are many for the sample size (docs/validity.md)
        if surveys and n_perm:
            test_pvalue = "permutation"
            notes.append(f"Jennrich's and Steiger's p-values from {n_perm} permutations of the "
                         "pooled respondents (exact under H0: one distribution; "
                         f"{2 * n_perm} extra polychoric matrices; test_pvalue='bootstrap' "
                         "reuses the noise-floor draws instead, but is conservative with "
                         "many items, docs/validity.md)")
        elif surveys and n_null and floor == "independent":
            test_pvalue = "bootstrap"
        else:
            test_pvalue = "asymptotic"
        opts["test_pvalue"] = settings["test_pvalue"] = test_pvalue
    if level == "ecological":
        if not surveys:
            raise TypeError("the ecological level needs two Surveys (respondent-level data)")
        if by is None:
            raise ValueError("level='ecological' needs by= (subgroup columns or a dict of "
                             "name -> mask)")
        settings["variant"] = variant
        if variant == "study_b_code":
            if weighted:
                raise ValueError("variant='study_b_code' is unweighted, as the study's code; "
                                 "use variant='study_b' for weighted subgroup means")
            if ecological_bootstrap != "sim":
                raise ValueError("variant='study_b_code' resamples the simulated side only, as "
                                 "the study's code; ecological_bootstrap='both' needs "
                                 "variant='study_b'")
            comps = _ecological_code(gold, sim, by=by, items=items, n_boot=int(n_boot),
                                     n_null=int(n_null), rng=rngs[3], categories=categories,
                                     opts=opts, settings=settings, notes=notes)
            settings.update(floor=None, ci_method="study_b_code (0.25 and 0.975 quantiles)")
        else:
            comps = _ecological(gold, sim, by=by, items=items, n_boot=int(n_boot),
                                n_null=int(n_null), rngs=rngs, floor=floor,
                                weighted=bool(weighted), bootstrap=ecological_bootstrap,
                                opts=opts, settings=settings, notes=notes,
                                categories=categories)
        comps = [_with_variant(c, variant) for c in comps]
        return CorrelationComparison(level, tuple(comps), _frozen_dict(settings), tuple(notes))
    if weighted is not None:
        raise ValueError("weighted= applies to the ecological level only; the individual level "
                         "always uses the survey weights")
    if surveys:
        comps, fits = _individual_surveys(gold, sim, items=items, n_boot=int(n_boot),
                                          n_null=int(n_null), rngs=rngs, floor=floor,
                                          n=n, opts=opts, settings=settings, notes=notes,
                                          cache=cache)
        if any(c.kind == "polychoric" for c in comps):
            notes.extend(_survey_calibration_notes(
                n_boot=int(n_boot), n_null=int(n_null), floor=floor,
                maxt=opts["test_pvalue"] == "permutation" and opts["n_perm"] > 0))
        return CorrelationComparison(level, tuple(comps), _frozen_dict(settings), tuple(notes),
                                     gold_fit=fits[0], sim_fit=fits[1])
    comp = _individual_matrices(gold, sim, items=items, n=n, opts=opts, settings=settings,
                                notes=notes)
    if n_boot or n_null:
        notes.append("bootstrap CIs and noise floors need Survey inputs; given matrices, only "
                     "the statistics and the tests that need no resampling are reported")
        settings.update(n_boot=0, n_null=0)
    return CorrelationComparison(level, (comp,), _frozen_dict(settings), tuple(notes),
                                 gold_fit=gold if _is_polychoric_result(gold) else None,
                                 sim_fit=sim if _is_polychoric_result(sim) else None)


def _compare_correlations_iv(*, level, ci_method, floor, test_pvalue, pair_se,
                             ecological_bootstrap, sign_threshold, ci, floor_level, n_boot,
                             n_null, n_perm, by, variant, categories):
    """compare_correlations' argument checks (scipy's ``_*_iv`` habit): every error names the
    argument and what it accepts; returns the normalised ``(level, n_perm, variant)``."""
    if level is None:
        level = "individual"
    if level not in ("individual", "ecological"):
        raise ValueError(f"level must be 'individual' or 'ecological', got {level!r}")
    if ci_method not in ("auto", "shifted", "basic", "percentile"):
        raise ValueError(f"ci_method must be 'auto', 'shifted', 'basic' or 'percentile', got "
                         f"{ci_method!r}")
    if floor not in ("independent", "resample"):
        raise ValueError(f"floor must be 'independent' or 'resample', got {floor!r}")
    if test_pvalue not in ("auto", "asymptotic", "bootstrap", "permutation"):
        raise ValueError(f"test_pvalue must be 'auto', 'asymptotic', 'bootstrap' or "
                         f"'permutation', got {test_pvalue!r}")
    if pair_se not in ("auto", "bootstrap", "polychoric", "fisher"):
        raise ValueError(f"pair_se must be 'auto', 'bootstrap', 'polychoric' or 'fisher', "
                         f"got {pair_se!r}")
    if ecological_bootstrap not in ("sim", "both"):
        raise ValueError(f"ecological_bootstrap must be 'sim' or 'both', got "
                         f"{ecological_bootstrap!r}")
    if isinstance(sign_threshold, str) and sign_threshold != "ci":
        raise ValueError(f"sign_threshold must be a number or 'ci', got {sign_threshold!r}")
    for nm, v in (("ci", ci), ("floor_level", floor_level)):
        if not 0.5 < v < 1:
            raise ValueError(f"{nm} must be between 0.5 and 1, got {v}")
    for nm, v in (("n_boot", n_boot), ("n_null", n_null), ("n_perm", n_perm)):
        if v is None and nm == "n_perm":
            continue
        if int(v) != v or v < 0:
            raise ValueError(f"{nm} must be a non-negative integer, got {v!r}")
    if n_perm is None:  # as many permutations as null draws (Mantel alone: 999)
        n_perm = int(n_null) if n_null else 999
    if test_pvalue == "bootstrap" and (floor != "independent" or not n_null):
        raise ValueError("test_pvalue='bootstrap' uses the noise-floor draws as the null "
                         "distribution: it needs floor='independent' and n_null > 0")
    if test_pvalue == "permutation" and not n_perm:
        raise ValueError("test_pvalue='permutation' needs n_perm > 0")
    if by is not None and level != "ecological":
        raise ValueError("by= defines the subgroups of the ecological level; pass "
                         "level='ecological' (the individual level compares respondents)")
    if level != "ecological" and (variant is not None or categories is not None):
        raise ValueError("variant= and categories= apply to the ecological level (study B); "
                         "pass level='ecological'")
    if level == "ecological":
        variant = "study_b" if variant is None else variant
        if variant not in ("study_b", "study_b_code"):
            raise ValueError(f"variant must be 'study_b' (the method as the paper describes "
                             f"it) or 'study_b_code' (as the study's code runs it), got "
                             f"{variant!r}")
    return level, n_perm, variant


def _individual_matrices(gold, sim, *, items, n, opts, settings, notes) -> MatrixComparison:
    g = _as_corr_frame(gold, "gold")
    s = _as_corr_frame(sim, "sim")
    if set(g.index) != set(s.index):
        raise ValueError(f"gold and sim have different items: only in gold "
                         f"{sorted(set(g.index) - set(s.index))}, only in sim "
                         f"{sorted(set(s.index) - set(g.index))}")
    names = list(g.index) if items is None else [str(x) for x in items]
    for nm in names:
        if nm not in g.index:
            raise KeyError(f"item {nm!r} is not in the correlation matrices")
    if len(names) < 2:
        raise ValueError("need at least two items to compare correlation matrices")
    ga = g.loc[names, names].to_numpy()
    sa = s.loc[names, names].to_numpy()
    n_pair = None
    if n is not None:
        n1, n2 = (float(v) for v in n)
        n_pair = (np.full_like(ga, n1), np.full_like(ga, n2))
    elif _is_polychoric_result(gold) and _is_polychoric_result(sim):
        n_pair = (gold.n.loc[names, names].to_numpy(float),
                  sim.n.loc[names, names].to_numpy(float))
        n1, n2 = _harmonic(n_pair[0]), _harmonic(n_pair[1])
    if n_pair is not None:
        opts["n_tests"] = (n1, n2)
        settings.update(n_gold=n1, n_sim=n2)
    else:
        notes.append("sample sizes unknown (pass n=(n_gold, n_sim)): no chi-square or per-pair "
                     "tests")
    if (_is_polychoric_result(gold) and _is_polychoric_result(sim)
            and getattr(gold, "se", None) is not None and getattr(sim, "se", None) is not None):
        opts["se_pair"] = (gold.se.loc[names, names].to_numpy(float),
                           sim.se.loc[names, names].to_numpy(float))
    kind = "polychoric" if _is_polychoric_result(gold) else "correlation"
    if opts["test_pvalue"] == "permutation":
        raise ValueError("test_pvalue='permutation' needs Survey inputs (respondents to "
                         "relabel)")
    return _build_comparison(level="individual", kind=kind, names=names, g=ga, s=sa,
                             draws=_Draws(), correlation=True, opts=opts, n_pair=n_pair,
                             notes=notes)


def _batched(fn: Callable, codes: np.ndarray, weights: np.ndarray, n_categories,
             desc: str = "resamples") -> np.ndarray:
    """Apply ``polychoric_batch`` over weight draws in memory-bounded chunks (with a bar)."""
    out = []
    chunks = _rs.chunk_slices(weights.shape[0], weights.shape[1] * 4)
    # one chunk: polychoric_batch's own bar says it all; several: this one counts them too
    with progress_bar(total=weights.shape[0], desc=desc, unit="draw",
                      progress=False if len(chunks) == 1 else None) as bar:
        for sl in chunks:
            # a resample that leaves an item constant gives NaN for its pairs (noted later)
            out.append(np.asarray(fn(codes, weights[sl], n_categories=n_categories,
                                     on_insufficient="nan")))
            bar.update(sl.stop - sl.start)
    return np.concatenate(out) if out else np.empty((0,) * 3)


def _gold_side(go: Survey, codes: np.ndarray, kcat, cb_g, cf_s, cf_g) -> dict:
    """Gold's polychoric matrix and its draws (bootstrap ``cb_g``, noise floor at the
    simulated size ``cf_s`` and, for the independent floor, ``cf_g``; each None when not
    drawn): the same for every simulated population of one size, so ``cache``-able."""
    batch = _polychoric.polychoric_batch
    out = {"fit": _polychoric.polychoric(go)}
    if cb_g is not None:
        out["boot"] = _batched(batch, codes, cb_g, kcat, "bootstrap gold")
    if cf_s is not None:
        out["floor_sim"] = _batched(batch, codes, cf_s, kcat, "noise floor")
    if cf_g is not None:   # the first bootstrap draws when there are enough of them
        n_null = len(cf_g)
        out["floor_gold"] = out["boot"][:n_null] if cb_g is not None and len(cb_g) >= n_null \
            else _batched(batch, codes, cf_g, kcat, "noise floor gold")
    return out


def _individual_surveys(gold: Survey, sim: Survey, *, items, n_boot, n_null, rngs, floor, n,
                        opts, settings, notes, cache=None):
    check_compatible(gold, sim)
    names = list(gold.item_names) if items is None else [str(x) for x in items]
    gold = gold.select(names)
    sim = sim.select(names)
    ordinal = [it.name for it in gold.items if it.kind != "nominal"]
    nominal = [it.name for it in gold.items if it.kind == "nominal"]
    if len(ordinal) < 2 and len(nominal) < 2:
        raise ValueError(f"need at least two ordinal/binary items (polychoric) or two nominal "
                         f"items (Cramér's V); have ordinal {ordinal}, nominal {nominal}")
    n_g, n_s = gold.n_respondents, sim.n_respondents
    w_g, w_s = gold.weights, sim.weights
    n_sim_draw = round(kish_n(w_s, n_s))
    settings.update(n_sim_floor=n_sim_draw)
    if w_s is not None:
        notes.append(f"sim is weighted: floor resamples have its Kish effective size "
                     f"{n_sim_draw}")
    rg_boot, rg_floor, rg_perm = rngs[0], rngs[1], rngs[2]
    wg = gold.weights_or_ones()
    ws = sim.weights_or_ones()
    # count weights shared by every matrix kind (same respondents resampled), kept as
    # small integers (CountDraws) and turned into float rows chunk by chunk
    cb_g = _rs.compact_bootstrap_counts(rg_boot, n_g, n_boot) * wg if n_boot else None
    cb_s = _rs.compact_bootstrap_counts(rg_boot, n_s, n_boot) * ws if n_boot else None
    cf_s = _rs.compact_multinomial_counts(rg_floor, n_sim_draw, wg, n_null) if n_null else None
    cf_g = None
    if n_null and floor == "independent":
        if n_boot >= n_null:
            cf_g = cb_g[:n_null]
        else:
            cf_g = _rs.compact_bootstrap_counts(rg_floor, n_g, n_null) * wg
    perm_w = None
    if opts["test_pvalue"] == "permutation" and opts["n_perm"] > 0:
        # exactly n_g of the pooled respondents go to "gold" in each permutation
        labels = _rs.split_labels(rg_perm, n_g + n_s, n_g, opts["n_perm"])
        w_all = np.concatenate([wg, ws])
        perm_w = (_rs.CountDraws(labels, w_all), _rs.CountDraws(~labels, w_all))
    comps = []
    fits = (None, None)
    if len(ordinal) >= 2:
        pcm = _polychoric
        go, so = gold.select(ordinal), sim.select(ordinal)
        codes_g = go.category_indices()
        codes_s = so.category_indices()
        kcat = go.n_categories
        batch = pcm.polychoric_batch
        key = ("compare_correlations/gold", fingerprint(codes_g, wg, kcat, ordinal), n_boot,
               n_null, n_sim_draw, floor, settings["seed"])
        gold_draws = cached(cache, key, lambda: _gold_side(go, codes_g, kcat, cb_g, cf_s, cf_g))
        fit_g = gold_draws["fit"]
        fit_s = pcm.polychoric(so)
        fits = (fit_g, fit_s)
        g = fit_g.corr.loc[ordinal, ordinal].to_numpy(float)
        s = fit_s.corr.loc[ordinal, ordinal].to_numpy(float)
        for who, m in (("gold", g), ("sim", s)):
            if not np.all(np.isfinite(m)):
                i, j = np.argwhere(~np.isfinite(m))[0]
                raise ValueError(f"{who} polychoric correlation of {ordinal[i]!r} and "
                                 f"{ordinal[j]!r} is undefined (no respondent answered both?); "
                                 "drop one with items=...")
        n_pair = (kish_pairwise(go.valid_mask, w_g), kish_pairwise(so.valid_mask, w_s))
        if n is not None:
            n1, n2 = (float(v) for v in n)
        else:
            n1, n2 = _harmonic(n_pair[0]), _harmonic(n_pair[1])
        if min(n1, n2) <= 3:
            notes.append("a pair of items has (almost) no respondents in common; no tests")
            opts["n_tests"] = None
        else:
            opts["n_tests"] = (n1, n2)
        settings.update(n_gold=n1, n_sim=n2)
        draws = _Draws(boot_gold=gold_draws.get("boot"), floor_sim=gold_draws.get("floor_sim"),
                       floor_gold=gold_draws.get("floor_gold"))
        if n_boot:
            draws.boot_sim = _batched(batch, codes_s, cb_s, kcat, "bootstrap simulated")
        if perm_w is not None:
            codes_all = np.concatenate([codes_g, codes_s])
            draws.perm_gold = _batched(batch, codes_all, perm_w[0], kcat, "permutations")
            draws.perm_sim = _batched(batch, codes_all, perm_w[1], kcat, "permutations")
        comps.append(_build_comparison(level="individual", kind="polychoric", names=ordinal,
                                       g=g, s=s, draws=draws, correlation=True, opts=opts,
                                       n_pair=n_pair, notes=notes))
    elif ordinal:
        notes.append(f"only one ordinal/binary item ({ordinal[0]}): no polychoric comparison")
    if len(nominal) >= 2:
        opts_v = dict(opts)
        opts_v["n_tests"] = None
        comps.append(_cramers_v_comparison(gold.select(nominal), sim.select(nominal),
                                           cb_g=cb_g, cb_s=cb_s, cf_g=cf_g, cf_s=cf_s,
                                           opts=opts_v, notes=notes))
    elif nominal:
        notes.append(f"one nominal item ({nominal[0]}) has no partner for Cramér's V")
    return comps, fits


def _onehot(survey: Survey):
    codes = survey.category_indices()
    cols, item_of = [], []
    for j, k in enumerate(survey.n_categories):
        cols.append(codes[:, j][:, None] == np.arange(k)[None, :])
        item_of += [j] * int(k)
    return np.concatenate(cols, axis=1).astype(float), np.asarray(item_of)


def _cramers_v_comparison(gold: Survey, sim: Survey, *, cb_g, cb_s, cf_g, cf_s, opts, notes):
    xg, item_of = _onehot(gold)
    xs, _ = _onehot(sim)
    q = gold.n_items
    g = _rs.cramers_v_batch(gold.weights_or_ones()[None, :], xg, item_of, q)[0]
    s = _rs.cramers_v_batch(sim.weights_or_ones()[None, :], xs, item_of, q)[0]
    names = list(gold.item_names)
    for who, m in (("gold", g), ("sim", s)):
        if not np.all(np.isfinite(m)):
            i, j = np.argwhere(~np.isfinite(m))[0]
            raise ValueError(f"{who} Cramér's V of {names[i]!r} and {names[j]!r} is undefined "
                             "(fewer than two answer categories used among respondents who "
                             "answered both); drop one with items=...")
    draws = _Draws()
    if cb_g is not None:
        draws.boot_gold = _rs.cramers_v_batch(cb_g, xg, item_of, q)
        draws.boot_sim = _rs.cramers_v_batch(cb_s, xs, item_of, q)
    if cf_s is not None:
        draws.floor_sim = _rs.cramers_v_batch(cf_s, xg, item_of, q)
        if cf_g is not None:
            draws.floor_gold = _rs.cramers_v_batch(cf_g, xg, item_of, q)
    return _build_comparison(level="individual", kind="cramers_v", names=names, g=g, s=s,
                             draws=draws, correlation=False, opts=opts, n_pair=None,
                             notes=notes)


# ----------------------------------------------------------------------------------------
# ecological level (study B)


def _resolve_groups(gold: Survey, sim: Survey, by) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``[(label, gold_positions, sim_positions)]`` for each subgroup."""
    groups = []
    if isinstance(by, Mapping):
        for name, spec in by.items():
            if callable(spec):
                gm, sm = spec(gold.demographics), spec(sim.demographics)
            else:
                try:
                    gm, sm = spec
                except (TypeError, ValueError):
                    raise TypeError(f"group {name!r}: give a callable(demographics) -> mask or a "
                                    "pair (gold_mask, sim_mask)") from None
            masks = []
            for who, m, size in (("gold", gm, len(gold)), ("sim", sm, len(sim))):
                m = np.asarray(m)
                if m.dtype != bool or m.shape != (size,):
                    raise ValueError(f"group {name!r}: the {who} mask must be a boolean array "
                                     f"of length {size}, got {m.dtype} {m.shape}")
                masks.append(np.flatnonzero(m))
            groups.append((str(name), masks[0], masks[1]))
    else:
        cols = [by] if isinstance(by, str) else list(by)
        for who, pop in (("gold", gold), ("sim", sim)):
            missing = [c for c in cols if c not in pop.demographics.columns]
            if missing:
                raise KeyError(f"subgroup column(s) {missing} not among the {who} survey's "
                               f"demographics {list(pop.demographics.columns)}")
        gi = gold.demographics.groupby(cols, sort=True, dropna=True, observed=True).indices
        si = sim.demographics.groupby(cols, sort=True, dropna=True, observed=True).indices
        for key, pos in gi.items():
            if key not in si:
                raise ValueError(f"subgroup {key!r} of {cols} has gold respondents but no "
                                 "simulated ones; simulate it or drop it with a dict by=")
            label = key if isinstance(key, tuple) else (key,)
            label = ", ".join(f"{c}={v.item() if isinstance(v, np.generic) else v}"
                              for c, v in zip(cols, label))
            groups.append((label, np.sort(pos), np.sort(si[key])))
    if len(groups) < 3:
        raise ValueError(f"the ecological level correlates items across subgroups and needs at "
                         f"least 3 subgroups; got {len(groups)}")
    for label, gp, sp in groups:
        if gp.size < 2:
            raise ValueError(f"subgroup {label!r} has {gp.size} gold respondent(s); the "
                             "split-half ceiling needs at least 2")
        if sp.size < 1:
            raise ValueError(f"subgroup {label!r} has no simulated respondents")
    return groups


def _rescaled_values(survey: Survey) -> tuple[np.ndarray, np.ndarray]:
    """Answers as codes rescaled to [0, 1] by each item's code range (0 where invalid)."""
    idx = survey.category_indices()
    valid = idx >= 0
    vals = np.zeros(idx.shape)
    for j, it in enumerate(survey.items):
        codes = np.asarray(it.codes, float)
        scaled = (codes - codes.min()) / (codes.max() - codes.min())
        vals[:, j] = np.where(valid[:, j], scaled[np.clip(idx[:, j], 0, None)], 0.0)
    return vals, valid.astype(float)


def _means_batch(counts: np.ndarray, vals: np.ndarray, valid: np.ndarray) -> np.ndarray:
    return np.asarray(_rs.group_means(counts, vals, valid))


@dataclass
class _EcologicalData:
    """What every ecological comparison of one call shares: the subgroups, the rescaled
    answers and their validity, weights, resampling settings and streams, options, notes."""

    groups: list
    vg: np.ndarray
    mg_valid: np.ndarray
    vs: np.ndarray
    ms_valid: np.ndarray
    wg: np.ndarray
    ws: np.ndarray
    weighted: bool
    floor: str
    bootstrap: str
    n_boot: int
    n_null: int
    rb: np.random.Generator   # bootstrap
    rf: np.random.Generator   # noise floor
    rn: np.random.Generator   # permutation null
    rc: np.random.Generator   # split-half ceiling
    opts: dict
    notes: list


def _ecological_comparison(eco: _EcologicalData, kind, unit, unit_names, mg, ms, transform):
    """One matrix comparison of ``unit_names`` (items, or categories of item means) across
    the subgroups; ``transform`` maps item means to the units' means."""
    groups, notes, opts = eco.groups, eco.notes, eco.opts
    vg, mg_valid, vs, ms_valid, wg, ws = eco.vg, eco.mg_valid, eco.vs, eco.ms_valid, eco.wg, eco.ws
    n_boot, n_null, weighted, floor, bootstrap = (eco.n_boot, eco.n_null, eco.weighted,
                                                  eco.floor, eco.bootstrap)
    rb, rf, rn, rc = eco.rb, eco.rf, eco.rn, eco.rc
    corr = _rs.corr_across_rows
    n_groups = len(groups)
    const = [unit_names[j] for j in range(len(unit_names))
             if np.ptp(mg[:, j]) <= 1e-12 or np.ptp(ms[:, j]) <= 1e-12]
    if const:
        notes.append(f"{unit}(s) {const} have the same mean in every subgroup (in gold or "
                     "sim), so no correlation across subgroups; left out")
    keep = np.array([nm not in const for nm in unit_names])
    if keep.sum() < 2:
        raise ValueError(f"fewer than two {unit}s vary across the subgroups; nothing to "
                         "correlate")
    unit_names = [nm for nm, k in zip(unit_names, keep) if k]
    mg, ms = mg[:, keep], ms[:, keep]

    def tr(m):
        return transform(m)[..., keep]

    g = np.asarray(corr(mg[None]))[0]
    s = np.asarray(corr(ms[None]))[0]
    if n_groups <= len(unit_names):
        notes.append(f"{kind} matrices from {n_groups} subgroups and {len(unit_names)} "
                     f"{unit}s are singular: effective dependence is undefined")

    def batch_means(vals, valid, w, which, counts_fn):
        # counts_fn(positions) -> (B, n_group) count weights; one call per subgroup
        return np.stack([_means_batch(counts_fn(grp[which]) * w[grp[which]][None, :],
                                      vals[grp[which]], valid[grp[which]])
                         for grp in groups], axis=1)

    draws = _Draws()
    if n_boot:
        boot = lambda pos: _rs.bootstrap_counts(rb, pos.size, n_boot)
        draws.boot_sim = np.asarray(corr(tr(batch_means(vs, ms_valid, ws, 2, boot))))
        if bootstrap == "both":
            draws.boot_gold = np.asarray(corr(tr(batch_means(vg, mg_valid, wg, 1, boot))))
    if n_null:
        sim_sizes = {grp[0]: round(kish_n(ws[grp[2]] if weighted else None, grp[2].size))
                     for grp in groups}
        fs = np.stack([_means_batch(_rs.multinomial_counts(rf, sim_sizes[grp[0]],
                                                           wg[grp[1]], n_null),
                                    vg[grp[1]], mg_valid[grp[1]]) for grp in groups],
                      axis=1)
        draws.floor_sim = np.asarray(corr(tr(fs)))
        if floor == "independent":
            fb = lambda pos: _rs.bootstrap_counts(rf, pos.size, n_null)
            draws.floor_gold = np.asarray(corr(tr(batch_means(vg, mg_valid, wg, 1, fb))))
        draws.null_sim = np.asarray(corr(_rs.column_shuffles(rn, mg, n_null)))
        halves = [_rs.half_split_masks(rc, grp[1].size, n_null) for grp in groups]
        a = np.stack([_means_batch(h * wg[grp[1]][None, :], vg[grp[1]], mg_valid[grp[1]])
                      for h, grp in zip(halves, groups)], axis=1)
        b = np.stack([_means_batch((~h) * wg[grp[1]][None, :], vg[grp[1]],
                                   mg_valid[grp[1]])
                      for h, grp in zip(halves, groups)], axis=1)
        draws.ceiling_a = np.asarray(corr(tr(a)))
        draws.ceiling_b = np.asarray(corr(tr(b)))
    comp = _build_comparison(level="ecological", kind=kind, names=unit_names, g=g, s=s,
                             draws=draws, correlation=True, opts=opts, n_pair=None,
                             notes=notes)
    labels = [grp[0] for grp in groups]
    extra = {
        "gold_means": pd.DataFrame(mg, index=labels, columns=unit_names),
        "sim_means": pd.DataFrame(ms, index=labels, columns=unit_names),
        "group_sizes": pd.DataFrame({"gold": [grp[1].size for grp in groups],
                                     "sim": [grp[2].size for grp in groups]},
                                    index=labels),
    }
    return comp, extra


def _ecological(gold: Survey, sim: Survey, *, by, items, n_boot, n_null, rngs, floor, weighted,
                bootstrap, opts, settings, notes, categories=None) -> list[MatrixComparison]:
    from popaudit.structure import study_b as _sb

    kept = {**_sb.kept_codes(gold), **_sb.kept_codes(sim)}
    if kept:
        notes.append(f"WVS codes kept as answers (study B's coding) read as missing in variant "
                     f"'study_b': {dict(sorted(kept.items())[:5])}"
                     f"{' ...' if len(kept) > 5 else ''}")
        gold, sim = _sb.drop_kept_codes(gold), _sb.drop_kept_codes(sim)
    check_compatible(gold, sim)
    names = list(gold.item_names) if items is None else [str(x) for x in items]
    gold = gold.select(names)
    sim = sim.select(names)
    nominal = [it.name for it in gold.items if it.kind == "nominal"]
    if nominal:
        notes.append(f"nominal item(s) {nominal} have no meaningful mean; left out of the "
                     "ecological comparison")
        names = [nm for nm in names if nm not in nominal]
        gold, sim = gold.select(names), sim.select(names)
    groups = _resolve_groups(gold, sim, by)
    vg, mg_valid = _rescaled_values(gold)
    vs, ms_valid = _rescaled_values(sim)
    wg = gold.weights_or_ones() if weighted else np.ones(len(gold))
    ws = sim.weights_or_ones() if weighted else np.ones(len(sim))

    def observed_means(vals, valid, w, which):
        out = np.empty((len(groups), vals.shape[1]))
        for k, grp in enumerate(groups):
            pos = grp[which]
            out[k] = _means_batch(w[pos][None, :], vals[pos], valid[pos])[0]
        return out

    mg = observed_means(vg, mg_valid, wg, 1)
    ms = observed_means(vs, ms_valid, ws, 2)
    for who, m in (("gold", mg), ("sim", ms)):
        if np.isnan(m).any():
            k, j = np.argwhere(np.isnan(m))[0]
            raise ValueError(f"subgroup {groups[k][0]!r} has no valid {who} answer to item "
                             f"{names[j]!r}; drop the item or the subgroup")
    all_items = (list(names), mg, ms)   # every item, before the item level drops constant ones
    opts = dict(opts)
    opts["n_tests"] = None
    settings.update(n_gold=len(gold), n_sim=len(sim), n_groups=len(groups), weighted=weighted,
                    ecological_bootstrap=bootstrap)
    eco = _EcologicalData(groups=groups, vg=vg, mg_valid=mg_valid, vs=vs, ms_valid=ms_valid,
                          wg=wg, ws=ws, weighted=weighted, floor=floor, bootstrap=bootstrap,
                          n_boot=n_boot, n_null=n_null, rb=rngs[0], rf=rngs[1], rn=rngs[3],
                          rc=rngs[4], opts=opts, notes=notes)

    # item level (the arrays restricted to the items that vary, as before categories existed)
    comp, extra = _ecological_comparison(eco, "ecological", "item", names, mg, ms, lambda m: m)
    comps = [MatrixComparison(**{**comp.__dict__, "extra": _frozen_dict(extra)})]
    if categories is not None:
        names, mg, ms = all_items
        cats = _sb.resolve_categories(categories, names)
        pos = {nm: j for j, nm in enumerate(names)}
        cols = [[pos[q] for q in qs] for qs in cats.values()]

        def to_categories(m):
            # mean of the item scores in each category (an undefined item mean, in a draw,
            # leaves only its own category undefined)
            m = np.asarray(m)
            return np.stack([m[..., c].mean(axis=-1) for c in cols], axis=-1)

        cat_names = list(cats)
        ccomp, cextra = _ecological_comparison(eco, "ecological_category", "category",
                                               cat_names, to_categories(mg), to_categories(ms),
                                               to_categories)
        cextra["categories"] = _frozen_dict({c: tuple(q) for c, q in cats.items()})
        comps.append(MatrixComparison(**{**ccomp.__dict__, "extra": _frozen_dict(cextra)}))
    return comps


def _with_variant(comp: MatrixComparison, variant: str) -> MatrixComparison:
    """Every ecological table says which variant computed it."""
    tabs = {}
    for name in ("statistics", "items", "pairs"):
        tab = getattr(comp, name).copy()
        if "variant" in tab.columns:
            tab["variant"] = variant
        else:
            tab.insert(1, "variant", variant)
        tabs[name] = tab
    return dataclasses.replace(comp, **tabs)


def _ecological_code(gold: Survey, sim: Survey, *, by, items, n_boot, n_null, rng, categories,
                     opts, settings, notes, draws=None) -> list[MatrixComparison]:
    """``variant="study_b_code"``: study B's computation as its code runs it."""
    from popaudit.structure import study_b as _sb

    check_compatible(_sb.drop_kept_codes(gold), _sb.drop_kept_codes(sim))
    names = list(gold.item_names) if items is None else [str(x) for x in items]
    nominal = [nm for nm in names if gold.item(nm).kind == "nominal"]
    if nominal:
        notes.append(f"nominal item(s) {nominal} have no meaningful mean; left out of the "
                     "ecological comparison")
        names = [nm for nm in names if nm not in nominal]
    if len(names) < 2:
        raise ValueError("the ecological comparison needs at least two ordinal or binary items")
    if not _sb.kept_codes(gold):
        notes.append("gold reads every WVS missing code as missing; study B's code averaged "
                     "-2, -4 and -5 in as numbers (build gold with study_b_survey() to "
                     "reproduce that)")
    groups = _resolve_groups(gold, sim, by)
    cats = _sb.resolve_categories(categories, names)
    res = _sb.code_variant(gold, sim, groups, names, cats, n_boot=n_boot, n_null=n_null,
                           rng=rng, draws=draws)
    settings.update(n_gold=len(gold), n_sim=len(sim), n_groups=len(groups), weighted=False,
                    ecological_bootstrap="sim (each item column on its own)")
    labels = [grp[0] for grp in groups]
    comps = []
    for lvl, kind, unit_names in (("question", "ecological", names),
                                  ("category", "ecological_category", list(cats or ()))):
        if lvl not in res:
            continue
        r = res[lvl]
        undefined = [nm for nm, row in zip(unit_names, r["gold"]) if np.isnan(row).all()] + \
            [nm for nm, row in zip(unit_names, r["sim"]) if np.isnan(row).all()]
        if undefined:
            notes.append(f"{kind}: {sorted(set(undefined))} have no correlation across "
                         "subgroups (constant or missing); the study's metrics leave them out")
        for what in ("bootstrap", "null", "ceiling"):
            d = r[what].get("pearson")
            bad = 0 if d is None else int(np.sum(~np.isfinite(d)))
            if bad:
                notes.append(f"{kind}: {bad} {what} draw(s) gave an undefined statistic; "
                             "summaries use the finite draws")
        rows = _sb.code_statistics(r, kind=kind, variant="study_b_code", ci_level=opts["ci"])
        table = pd.DataFrame(rows)
        for c in _COLUMNS:
            if c not in table.columns:
                table[c] = np.nan
        g, s = r["gold"], r["sim"]
        items_tab = _items_table("ecological", kind, unit_names, g, s, _Draws(), opts)
        pairs = _pairs_table("ecological", kind, unit_names, g, s, boot_gold=None, boot_sim=None,
                             floor=(_Draws(), g), n_pair=None, opts=opts, notes=notes)
        extra = _frozen_dict({
            "gold_means": pd.DataFrame(r["gold_means"], index=labels, columns=unit_names),
            "sim_means": pd.DataFrame(r["sim_means"], index=labels, columns=unit_names),
            "group_sizes": pd.DataFrame({"gold": [grp[1].size for grp in groups],
                                         "sim": [grp[2].size for grp in groups]},
                                        index=labels),
            **({"categories": _frozen_dict({c: tuple(q) for c, q in cats.items()})}
               if lvl == "category" else {}),
        })

        def keep(dct):
            return _frozen_dict({k: np.asarray(v) for k, v in dct.items()})

        comps.append(MatrixComparison(
            level="ecological", kind=kind,
            gold=pd.DataFrame(g, index=unit_names, columns=unit_names),
            sim=pd.DataFrame(s, index=unit_names, columns=unit_names),
            statistics=table[_COLUMNS], items=items_tab, pairs=pairs, spectrum=None,
            bootstrap=keep(r["bootstrap"]), null=keep(r["null"]), ceiling=keep(r["ceiling"]),
            extra=extra))
    return comps
