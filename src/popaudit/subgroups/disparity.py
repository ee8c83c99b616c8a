"""Disparity of fidelity across subgroups, method comparisons, and bias tables, with bootstrap CIs.

* :func:`subgroup_disparity` summarises how unevenly a metric (modal accuracy, NMAE,
  ...) is spread over subgroups: mean, worst and best subgroup, range,
  study A's normalised range ``(max - min) / max``, standard deviation and
  coefficient of variation ``SD / mean``, per split (in-distribution,
  out-of-distribution, all), each with a bootstrap confidence interval, and
  per-subgroup values with CIs. Several simulated populations are scored on
  the *same* bootstrap draws, so :meth:`DisparityResult.compare` gives paired
  differences: does the mean improve while the disparity widens (study A's
  "fairness paradox")? :func:`compare_disparity` does both in one call.
* :func:`bias_table` asks which demographic attributes predict better
  emulation: per-level marginal means of a metric with CIs, and a weighted
  regression of the per-subgroup metric on the attributes.

What the confidence intervals are about
---------------------------------------
Two sources of uncertainty, chosen by ``resample``:

``"respondents"``
    The gold population is a sample: each bootstrap draw resamples gold
    respondents with replacement (the whole sample, or within the cells of
    ``stratify`` columns), recomputes every subgroup's weighted answer
    distribution and hence its modal answer. A respondent carries its
    membership of every (overlapping) subgroup, so single-axis subgroups and
    crossings stay coherent within a draw; weights stay attached to their
    respondent (not re-raked). A respondent-level simulated population is
    resampled the same way, independently; subgroup-level predictions (model
    output) are fixed.
``"items"``
    The questions are a sample of the questions one could ask: each draw
    resamples items with replacement, and per-subgroup means are taken over
    the drawn items (with multiplicity).
``"both"`` (default)
    Both at once: the uncertainty of a conclusion about the method, the
    population and the kind of question, not about these exact questions.

Sampling noise inflates the spread of per-subgroup values (a noisy gold mode
lowers agreement, noisy per-subgroup means widen the range), so the plain
estimates of disparity are biased upward and those of accuracy downward, and
every bootstrap draw adds the same noise once more. The default interval is
therefore the *basic* bootstrap interval ``[2 value - q_hi, 2 value - q_lo]``,
which corrects that bias to first order (its centre is ``bias_corrected =
value - bias`` with ``bias`` = mean of the draws minus the value), clipped to
the statistic's possible values; the plain percentile interval is available
(``ci_method="percentile"``). On synthetic Singapore-like data with
predictions independent of the gold sample (docs/subgroups.md), 95 % basic
intervals covered the population value in 60-93 % of replications for the
mean, SD, CV and normalised range, percentile intervals in 0-7 % (except
accuracy's normalised range): read single-method intervals of spread
statistics as rough, and compare methods through the paired differences,
whose noise largely cancels. All populations in one call share the gold and
item draws. Draws are computed in batches: a sparse respondent x (subgroup,
item, option) design turns every batch of resampling counts into all
subgroups' weighted counts in one sparse product, and the metrics are
vectorised over draws, subgroups and items.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from popaudit._inference import (
    bootstrap_bias,
    bootstrap_interval,
    bootstrap_se,
    renamed_arguments,
    renamed_attribute,
    resolve_seed,
)
from popaudit._inference import warn as _warn
from popaudit.metrics.marginal import js_distance, total_variation, w1_ordinal
from popaudit.metrics.modal import modal_pair_scores, mode_mask
from popaudit.subgroups.definition import (
    FIDELITY_METRICS,
    HIGHER_IS_BETTER,
    SPLITS,
    SubgroupFidelity,
)

__all__ = [
    "RESAMPLE",
    "SPREAD_STATISTICS",
    "STATISTICS",
    "BiasResult",
    "DisparityComparison",
    "DisparityResult",
    "bias_table",
    "compare_disparity",
    "disparity_statistics",
    "subgroup_disparity",
]

RESAMPLE = ("both", "respondents", "items")
#: Bootstrap interval methods (``ci_method``): :func:`popaudit._inference.bootstrap_interval`'s
#: basic, percentile and bias-corrected percentile (``"bca"``, acceleration 0) intervals, and
#: the basic interval on the squared scale (``"basic_squared"``: sampling noise adds its
#: variance to a distance's square, as for the structure RMSE).
CI_METHODS = ("basic", "percentile", "bca", "basic_squared")

#: What the calibration study (issue 15, ``docs/validity.md``) found; every disparity and
#: bias result carries it in its notes.
CALIBRATION_NOTE = (
    "bootstrap intervals of subgroup metrics under-cover (docs/validity.md: WVS-like gold of "
    "2 000, 23 subgroups, respondents resampled, 95 % basic intervals covered the population "
    "value in 27-39 % of samples for mean modal accuracy and NMAE, 58-92 % for the spread "
    "statistics): the bootstrap does not reproduce the bias that sampling noise gives "
    "mode-based metrics; ci_method='basic_squared' covers better for distances (W1: 0.97-0.98 "
    "for mean, SD and range) - read differences between populations on the same draws "
    "(compare) rather than single intervals")
#: Statistics of a metric's spread over subgroups.
STATISTICS: tuple[str, ...] = ("mean", "worst", "best", "min", "max", "range",
                               "normalised_range", "sd", "cv")
#: The statistics that measure disparity (larger = more unequal).
SPREAD_STATISTICS: tuple[str, ...] = ("range", "normalised_range", "sd", "cv")
_LEVEL_STATS = ("mean", "worst", "best", "min", "max")
#: Largest possible value of each statistic (every fidelity metric lies in [0, 1]).
_UPPER = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, np.inf])

#: Upper bound on floats per array in one batch of draws (memory ~ 8 bytes each).
_BATCH_CELLS = 3_000_000
_BATCH_BYTES = 384e6  # respondent multiplicities of one chunk of draws


# ---------------------------------------------------------------------------------------------
# spread statistics (pure)
# ---------------------------------------------------------------------------------------------
def disparity_statistics(values, *, higher_is_better: bool = True, ddof: int = 0) -> dict:
    """Spread of per-subgroup values along the last axis.

    Parameters
    ----------
    values : array_like, shape (..., G)
        One metric value per subgroup (NaN = subgroup absent, ignored).
    higher_is_better : bool
        Direction of the metric: the worst subgroup is the minimum when True,
        the maximum when False.
    ddof : int
        Delta degrees of freedom of the SD (default 0: the subgroups are the
        whole set of interest, not a sample of subgroups).

    Returns
    -------
    dict of ndarray, shape (...)
        One entry per name in :data:`STATISTICS`.

    Notes
    -----
    ``range = max - min``; ``normalised_range = (max - min) / max`` and
    ``cv = SD / mean`` as in study A (methods.md), whatever the metric's
    direction (for an error such as NMAE the max is the worst subgroup).
    Both are NaN when their denominator is 0 (undefined, not zero).

    Examples
    --------
    >>> s = disparity_statistics([0.2, 0.4, 0.6, 0.8])
    >>> [round(float(s[k]), 4) for k in ("mean", "range", "normalised_range", "sd", "cv")]
    [0.5, 0.6, 0.75, 0.2236, 0.4472]
    """
    v = np.asarray(values, dtype=float)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(v, axis=-1)
        lo = np.nanmin(v, axis=-1)
        hi = np.nanmax(v, axis=-1)
        sd = np.nanstd(v, axis=-1, ddof=ddof)
        rng = hi - lo
        nrange = np.where(hi != 0, rng / np.where(hi != 0, hi, 1.0), np.nan)
        cv = np.where(mean != 0, sd / np.where(mean != 0, mean, 1.0), np.nan)
    return {"mean": mean, "worst": lo if higher_is_better else hi,
            "best": hi if higher_is_better else lo, "min": lo, "max": hi, "range": rng,
            "normalised_range": nrange, "sd": sd, "cv": cv}


# ---------------------------------------------------------------------------------------------
# pair metrics: the kernels of popaudit.metrics, on whole batches of draws
# ---------------------------------------------------------------------------------------------
#: fidelity metric -> the key of :func:`popaudit.metrics.modal.modal_pair_scores`
_MODAL_KEYS = {"accuracy": "credit", "nmae": "distance_error",
               "expected_distance": "expected_distance"}


def _pair_scores(p, q, K, ordinal, metrics, ties, sim_ties, tol, positions=None,
                 modes=(None, None)) -> dict:
    """Metric values and applicability for pairs, any leading shape; last two axes (P, Kmax).

    The metric kernels themselves (:func:`~popaudit.metrics.modal.modal_pair_scores`, the
    marginal distances): each subgroup x item value is the one
    :func:`~popaudit.subgroups.definition.subgroup_fidelity` reports. ``modes``: the gold and
    simulated mode masks when already known (shared by the populations of a batch).
    """
    out = {}
    if set(_MODAL_KEYS) & set(metrics):
        sc = modal_pair_scores(p, q, K, ties=ties, sim_ties=sim_ties, tie_tol=tol,
                               positions=positions,
                               metrics=[_MODAL_KEYS[m] for m in _MODAL_KEYS if m in metrics],
                               gold_modes=modes[0], sim_modes=modes[1])
        resolved = ~(sc["unresolved_gold"] | sc["unresolved_sim"])
        for m, key in _MODAL_KEYS.items():
            if m in metrics:
                out[m] = (sc[key], resolved if m == "accuracy" else resolved & ordinal)
    marg = {"w1_norm", "representativeness", "js_distance", "total_variation"} & set(metrics)
    if marg:
        p, q = np.broadcast_arrays(p, q)
        every = np.ones(p.shape[:-1], dtype=bool)
        if {"w1_norm", "representativeness"} & marg:
            w1 = w1_ordinal(p, q, np.maximum(K, 2), positions=positions)
            ok = np.broadcast_to(ordinal, w1.shape)
            if "w1_norm" in metrics:
                out["w1_norm"] = (w1, ok)
            if "representativeness" in metrics:
                out["representativeness"] = (1.0 - w1, ok)
        if "js_distance" in metrics:
            out["js_distance"] = (js_distance(p, q), every)
        if "total_variation" in metrics:
            out["total_variation"] = (total_variation(p, q), every)
    return out


# ---------------------------------------------------------------------------------------------
# the resampling engine
# ---------------------------------------------------------------------------------------------
def _design(idx: np.ndarray, membership: np.ndarray, kmax: int) -> sparse.csr_matrix:
    """Sparse (G*P*Kmax, n): respondent i's valid answer k to item j, in subgroup g."""
    n, P = idx.shape
    G = membership.shape[1]
    ii, gg = np.nonzero(membership)
    cat = idx[ii].astype(np.int64)
    r, j = np.nonzero(cat >= 0)
    rows = (gg[r] * P + j) * kmax + cat[r, j]
    return sparse.csr_matrix((np.ones(len(r)), (rows, ii[r])), shape=(G * P * kmax, n))


def _weighted_counts(A: sparse.csr_matrix, weights: np.ndarray, shape) -> np.ndarray:
    """(b, G, P, Kmax) weighted counts for a (b, n) batch of respondent weights."""
    return np.ascontiguousarray(np.asarray(A @ weights.T).T).reshape((weights.shape[0],) + shape)


def _cells(demo: pd.DataFrame, stratify) -> np.ndarray:
    if stratify is None:
        return np.zeros(len(demo), dtype=np.int64)
    cols = [stratify] if isinstance(stratify, str) else list(stratify)
    missing = [c for c in cols if c not in demo.columns]
    if missing:
        raise KeyError(f"stratify column(s) {missing} not among the demographics "
                       f"{list(demo.columns)}")
    return demo.groupby(cols, sort=True, dropna=False, observed=True).ngroup().to_numpy(
        ).astype(np.int64)


def _respondent_counts(rng: np.random.Generator, cells: np.ndarray, b: int) -> np.ndarray:
    """(b, n) bootstrap multiplicities, resampling within each cell."""
    n = len(cells)
    out = np.zeros((b, n))
    for c in np.unique(cells):
        pos = np.flatnonzero(cells == c)
        out[:, pos] = rng.multinomial(len(pos), np.full(len(pos), 1.0 / len(pos)), size=b)
    return out


class _Side:
    """One population's distributions, fixed or resampled from respondents."""

    def __init__(self, dist, survey, membership, cells, resample_respondents):
        self.G, self.P, self.kmax = dist.n_subgroups, dist.n_items, dist.kmax
        self.fixed = survey is None or not resample_respondents
        self.probs = dist.probs
        self.has = dist.has_data
        if not self.fixed:
            names = list(dist.item_names)
            pos = [survey.item_names.index(nm) for nm in names]
            idx = survey.category_indices()[:, pos]
            self.A = _design(idx, membership, self.kmax)
            self.w = np.asarray(survey.weights_or_ones(), dtype=float)
            self.cells = cells

    def modes(self, K, tol) -> np.ndarray:
        """Mode mask of the fixed distributions (computed once per tolerance)."""
        if getattr(self, "_modes_tol", None) != tol:
            self._modes = mode_mask(self.probs[None], K, tol)
            self._modes_tol = tol
        return self._modes

    def draw(self, rng, b):
        if self.fixed:
            return self.probs[None], self.has[None]
        counts = _respondent_counts(rng, self.cells, b) * self.w[None, :]
        T = _weighted_counts(self.A, counts, (self.G, self.P, self.kmax))
        tot = T.sum(axis=-1)
        has = tot > 0
        probs = np.divide(T, tot[..., None], out=np.zeros_like(T), where=has[..., None])
        return probs, has


def _check_fidelities(fids) -> tuple[list[str], list[SubgroupFidelity]]:
    if isinstance(fids, SubgroupFidelity):
        fids = {fids.population: fids}
    elif isinstance(fids, Mapping):
        fids = dict(fids)
    else:
        fids = list(fids)
        names = [f.population for f in fids]
        if len(set(names)) != len(names):
            raise ValueError(f"populations share a name ({names}); pass a mapping "
                             "{name: fidelity}")
        fids = dict(zip(names, fids))
    if not fids:
        raise ValueError("give at least one SubgroupFidelity")
    for nm, f in fids.items():
        if not isinstance(f, SubgroupFidelity):
            raise TypeError(f"{nm!r} is a {type(f).__name__}, not a SubgroupFidelity")
    first = next(iter(fids.values()))
    for nm, f in fids.items():
        if f.subgroups.survey is not first.subgroups.survey or \
                f.subgroups.strata != first.subgroups.strata:
            raise ValueError(f"population {nm!r} was scored against other gold subgroups; "
                             "score every population with the same Subgroups object")
    return [str(k) for k in fids], list(fids.values())


def _common(fids: list[SubgroupFidelity]) -> tuple[list[str], list[str], list[str]]:
    """Subgroups and items every population covers, and notes on those left out (warned)."""
    labels = [lab for lab in fids[0].gold.labels if all(lab in f.gold.labels for f in fids)]
    items = [nm for nm in fids[0].gold.item_names if all(nm in f.gold.item_names for f in fids)]
    notes = []
    dropped = sorted({lab for f in fids for lab in f.gold.labels} - set(labels))
    if dropped:
        notes.append(f"{len(dropped)} subgroup(s) not covered by every population are left "
                     f"out of the comparison: {dropped[:10]}")
    dropped_items = sorted({nm for f in fids for nm in f.gold.item_names} - set(items))
    if dropped_items:
        notes.append(f"{len(dropped_items)} item(s) not covered by every population are left "
                     f"out of the comparison: {dropped_items[:10]}")
    for note in notes:
        _warn(note)
    if not labels or not items:
        raise ValueError("the populations have no subgroup x item in common")
    return labels, items, notes


def _check_boot(n_boot, resample, confidence_level, ci_method="basic") -> None:
    if ci_method not in CI_METHODS:
        raise ValueError(f"ci_method must be one of {CI_METHODS}, got {ci_method!r}")
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise ValueError(f"n_boot must be an integer >= 2, got {n_boot!r}")
    if resample not in RESAMPLE:
        raise ValueError(f"resample must be one of {RESAMPLE}, got {resample!r}")
    if not 0 < confidence_level < 1:
        raise ValueError(f"confidence_level must be between 0 and 1, got {confidence_level!r}")


def _metric_draws(fids: list[SubgroupFidelity], metrics: Sequence[str], *, n_boot: int, seed,
                  resample: str, stratify, labels: list[str], items: list[str],
                  _counts=None):
    """Per-subgroup metric values: point (n_pop, M, G), draws (n_pop, M, B, G), n_items.

    ``_counts`` (tests only): explicit (gold_counts (B, n), item_counts (B, P)) instead of
    random draws, to check the engine against a loop over resampled surveys.
    """
    sub = fids[0].subgroups
    survey = sub.survey
    pos = [sub.labels.index(lab) for lab in labels]
    M_gold = sub.membership[:, pos]
    gold = fids[0].gold.select(items=items, subgroups=labels)
    K = gold.n_categories
    ordinal = np.array([it.kind != "nominal" for it in gold.items])
    positions = gold.position_matrix() if gold.has_positions else None
    modal = bool(set(_MODAL_KEYS) & set(metrics))
    G, P = len(labels), len(items)
    rng = np.random.default_rng(seed)
    gold_rng, item_rng, *sim_rngs = rng.spawn(2 + len(fids))
    resp = resample in ("both", "respondents")
    itm = resample in ("both", "items")
    gcells = _cells(survey.demographics, stratify)
    gside = _Side(gold, survey if (resp or _counts is not None) else None, M_gold, gcells,
                  True)
    sims = []
    for f in fids:
        sd = f.sim.select(items=items, subgroups=labels)
        ss = f.sim_survey
        if ss is not None and resp:
            scells = _cells(ss.demographics, stratify) if stratify is not None else \
                np.zeros(len(ss), dtype=np.int64)
            sims.append(_Side(sd, ss, f.subgroups.membership_of(ss)[:, pos], scells, True))
        else:
            sims.append(_Side(sd, None, None, None, False))

    def scores(pg, hg, iw, point=False):
        """(n_pop, M, b, G) per-subgroup means and (n_pop, M, b, G) item counts."""
        b = max(pg.shape[0], iw.shape[0])
        vals = np.full((len(fids), len(metrics), b, G), np.nan)
        cnts = np.zeros((len(fids), len(metrics), b, G))
        gold_modes = {}  # gold's mode masks of this batch, per tie tolerance
        for a, (f, side) in enumerate(zip(fids, sims)):
            ps, hs = (side.probs[None], side.has[None]) if point else side.draw(sim_rngs[a], b)
            modes = (None, None)
            if modal:
                if f.tie_tol not in gold_modes:
                    gold_modes[f.tie_tol] = mode_mask(pg, K, f.tie_tol)
                modes = (gold_modes[f.tie_tol], side.modes(K, f.tie_tol) if side.fixed else None)
            sc = _pair_scores(pg, ps, K, ordinal, metrics, f.ties, f.sim_ties, f.tie_tol,
                              positions=positions, modes=modes)
            both = hg & hs
            for m_i, m in enumerate(metrics):
                v, ok = sc[m]
                use = (both & ok) * iw[:, None, :]
                c = use.sum(axis=-1)
                t = (np.where(use > 0, v, 0.0) * use).sum(axis=-1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    vals[a, m_i] = np.where(c > 0, t / np.where(c > 0, c, 1), np.nan)
                cnts[a, m_i] = c
        return vals, cnts

    point, n_items = scores(gold.probs[None], gold.has_data[None], np.ones((1, P)), point=True)
    B = n_boot if _counts is None else _counts[0].shape[0]
    draws = np.empty((len(fids), len(metrics), B, G))
    # declared option positions: the modal distances go through a (Kmax, Kmax) matrix per pair
    per_draw = G * P * gold.kmax * max(2, len(fids)) * (1 if positions is None else gold.kmax)
    # and the respondent multiplicities of resampled sides, (b, n) float64 with their scaled
    # copy: a fixed budget (not the memory_limit setting, so that the draws of a stratified
    # resample, which depend on the chunking, do not depend on the setting)
    n_rows = sum(len(sd.w) for sd in (gside, *sims) if not sd.fixed)
    step = max(1, min(_BATCH_CELLS // per_draw, int(_BATCH_BYTES // max(24 * n_rows, 1))))
    for s0 in range(0, B, step):
        b = min(step, B - s0)
        if _counts is not None:
            gc = _counts[0][s0:s0 + b] * gside.w[None, :]
            T = _weighted_counts(gside.A, gc, (G, P, gold.kmax))
            tot = T.sum(axis=-1)
            hg = tot > 0
            pg = np.divide(T, tot[..., None], out=np.zeros_like(T), where=hg[..., None])
            iw = _counts[1][s0:s0 + b]
        else:
            pg, hg = gside.draw(gold_rng, b) if resp else (gold.probs[None], gold.has_data[None])
            iw = (item_rng.multinomial(P, np.full(P, 1.0 / P), size=b).astype(float) if itm
                  else np.ones((b, P)))
        draws[:, :, s0:s0 + b] = scores(pg, hg, iw)[0]
    return point[:, :, 0], draws, n_items[:, :, 0]


def _interval(point, draws: np.ndarray, settings: Mapping, axis: int,
              bounds=None) -> tuple[np.ndarray, np.ndarray]:
    """``(ci_low, ci_high)`` of :func:`popaudit._inference.bootstrap_interval` under the
    result's ``confidence_level`` and ``ci_method``."""
    method = settings["ci_method"]
    _, lo, hi = bootstrap_interval(point, draws, confidence_level=settings["confidence_level"],
                                   method=method.removesuffix("_squared"), axis=axis,
                                   bounds=bounds, squared=method.endswith("_squared"))
    return lo, hi


def _check_metrics(metrics) -> tuple[str, ...]:
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    bad = [m for m in metrics if m not in FIDELITY_METRICS]
    if bad or not metrics:
        raise ValueError(f"unknown metric(s) {bad}; choose from {FIDELITY_METRICS}")
    return metrics


# ---------------------------------------------------------------------------------------------
# disparity
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class DisparityComparison:
    """Paired comparison of two populations' subgroup metrics (``b`` minus ``a``).

    Attributes
    ----------
    table : DataFrame
        Per ``metric``, ``split`` and ``statistic``: ``value_a``, ``value_b``,
        ``diff`` (b - a), ``se``, ``ci_low``, ``ci_high`` (paired bootstrap) and
        ``change``: for level statistics (mean, worst, best, min, max)
        ``"improved"`` / ``"worsened"`` in the metric's own direction, for
        spread statistics ``"widened"`` / ``"narrowed"``, and
        ``"no clear change"`` when the CI contains 0.
    paradox : DataFrame
        Per ``metric`` and ``split``: the mean's change, the normalised
        range's and the CV's changes (diff and CI), and ``paradox``: the mean
        improved while the disparity widened (the normalised range or the CV
        widened, neither narrowed) -- study A's fairness paradox.
    a, b : str
        The two populations.
    settings : dict
        The options of the :class:`DisparityResult` compared (``confidence_level``,
        ``ci_method``, ``n_boot``, the integer ``seed`` ...).
    notes : tuple of str
    """

    table: pd.DataFrame
    paradox: pd.DataFrame
    a: str
    b: str
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    ci = renamed_attribute("settings", "confidence_level")
    interval = renamed_attribute("settings", "ci_method")

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:
        s = self.settings
        lines = [(f"DisparityComparison({self.b!r} vs {self.a!r}, paired bootstrap, "
                  f"{s['confidence_level']:.0%} {s['ci_method']} CIs)")]
        for r in self.paradox.itertuples():
            lines.append(
                f"  {r.metric} [{r.split}]: mean {r.mean_diff:+.3f} "
                f"[{r.mean_ci_low:+.3f}, {r.mean_ci_high:+.3f}] ({r.mean_change}); "
                f"normalised range {r.normalised_range_diff:+.3f} "
                f"[{r.normalised_range_ci_low:+.3f}, {r.normalised_range_ci_high:+.3f}] "
                f"({r.normalised_range_change}); CV {r.cv_diff:+.3f} "
                f"[{r.cv_ci_low:+.3f}, {r.cv_ci_high:+.3f}] ({r.cv_change})"
                + ("  <- paradox" if r.paradox else ""))
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class DisparityResult:
    """Disparity of subgroup metrics, per population, metric and split, with bootstrap CIs.

    Attributes
    ----------
    table : DataFrame
        One row per ``population``, ``metric``, ``split`` and ``statistic``
        (:data:`STATISTICS`): ``value`` (the plain estimate),
        ``bias_corrected`` (value minus the bootstrap bias, clipped to the
        statistic's possible values), ``se`` (SD of the
        draws), ``bias``, ``ci_low``, ``ci_high``, ``n_subgroups``, ``note``
        (why a value is undefined, else ``""``).
    per_subgroup : DataFrame
        One row per ``population``, ``metric`` and ``subgroup``: ``stratum``,
        ``split``, ``value``, ``bias_corrected`` (clipped to [0, 1]), ``se``, ``bias``,
        ``ci_low``, ``ci_high``,
        ``n_items``, ``n_respondents`` (gold), ``higher_is_better``.
    worst : DataFrame
        Per ``population``, ``metric`` and ``split``: the worst subgroup, its
        value and CI, and ``share_worst``, the share of draws in which it is
        the worst.
    populations, metrics, splits : tuple of str
    settings : dict
        The options used: ``n_boot``, ``seed`` (the integer that reproduces the draws),
        ``resample``, ``stratify`` (tuple of str or None), ``confidence_level``,
        ``ci_method``, ``ddof``.
    notes : tuple of str
        Subgroups or items left out because some population does not cover them.
    """

    table: pd.DataFrame
    per_subgroup: pd.DataFrame
    worst: pd.DataFrame
    populations: tuple[str, ...]
    metrics: tuple[str, ...]
    splits: tuple[str, ...]
    settings: Mapping
    notes: tuple[str, ...]
    _point: np.ndarray = field(repr=False)
    _draws: np.ndarray = field(repr=False)

    ci = renamed_attribute("settings", "confidence_level")
    interval = renamed_attribute("settings", "ci_method")

    @property
    def n_boot(self) -> int:
        """Bootstrap draws (``settings["n_boot"]``)."""
        return self.settings["n_boot"]

    @property
    def resample(self) -> str:
        """What the draws resample (``settings["resample"]``)."""
        return self.settings["resample"]

    @property
    def stratify(self) -> tuple[str, ...] | None:
        """Columns respondents are resampled within (``settings["stratify"]``)."""
        return self.settings["stratify"]

    @property
    def ddof(self) -> int:
        """Delta degrees of freedom of the SD across subgroups (``settings["ddof"]``)."""
        return self.settings["ddof"]

    def to_frame(self) -> pd.DataFrame:
        """The statistics table (a copy)."""
        return self.table.copy()

    def value(self, population: str, metric: str, statistic: str, split: str = "all") -> float:
        """One statistic's point value."""
        t = self.table
        row = t[(t["population"] == population) & (t["metric"] == metric) &
                (t["statistic"] == statistic) & (t["split"] == split)]
        if row.empty:
            raise KeyError(f"no row for population={population!r}, metric={metric!r}, "
                           f"statistic={statistic!r}, split={split!r}")
        return float(row["value"].iloc[0])

    def compare(self, a: str, b: str) -> DisparityComparison:
        """Paired differences ``b - a`` of every statistic, on the shared draws.

        Parameters
        ----------
        a, b : str
            Population names (e.g. ``"base"`` and ``"fine-tuned"``).
        """
        for nm in (a, b):
            if nm not in self.populations:
                raise KeyError(f"population {nm!r} not in this result {self.populations}")
        ia, ib = self.populations.index(a), self.populations.index(b)
        diff_pt = self._point[ib] - self._point[ia]           # (M, S, T)
        diff_dr = self._draws[ib] - self._draws[ia]           # (M, S, T, B)
        lo, hi = _interval(diff_pt, diff_dr, self.settings, axis=-1)
        se = bootstrap_se(diff_dr, axis=-1)
        bias = bootstrap_bias(diff_pt, diff_dr, axis=-1)
        rows = []
        for mi, m in enumerate(self.metrics):
            sign = 1.0 if HIGHER_IS_BETTER[m] else -1.0
            for si, sp in enumerate(self.splits):
                for ti, st in enumerate(STATISTICS):
                    l, h = lo[mi, si, ti], hi[mi, si, ti]
                    if st in SPREAD_STATISTICS:
                        change = "widened" if l > 0 else "narrowed" if h < 0 else \
                            "no clear change"
                    else:
                        gl, gh = sorted((sign * l, sign * h))
                        change = "improved" if gl > 0 else "worsened" if gh < 0 else \
                            "no clear change"
                    if not (np.isfinite(l) and np.isfinite(h)):
                        change = "undefined"
                    rows.append({"metric": m, "split": sp, "statistic": st,
                                 "value_a": self._point[ia, mi, si, ti],
                                 "value_b": self._point[ib, mi, si, ti],
                                 "diff": diff_pt[mi, si, ti], "se": se[mi, si, ti],
                                 "bias": bias[mi, si, ti], "ci_low": l, "ci_high": h,
                                 "change": change})
        table = pd.DataFrame(rows)
        par = []
        idx = table.set_index(["metric", "split", "statistic"])
        for m in self.metrics:
            for sp in self.splits:
                r = {"metric": m, "split": sp}
                for st in ("mean", "normalised_range", "cv"):
                    row = idx.loc[(m, sp, st)]
                    r[f"{st}_diff"] = row["diff"]
                    r[f"{st}_ci_low"] = row["ci_low"]
                    r[f"{st}_ci_high"] = row["ci_high"]
                    r[f"{st}_change"] = row["change"]
                spread = (r["normalised_range_change"], r["cv_change"])
                widened = "widened" in spread and "narrowed" not in spread
                r["paradox"] = bool(r["mean_change"] == "improved" and widened)
                par.append(r)
        return DisparityComparison(table=table, paradox=pd.DataFrame(par), a=a, b=b,
                                   settings=dict(self.settings), notes=self.notes)

    def __repr__(self) -> str:
        t = self.table.set_index(["population", "metric", "split", "statistic"])
        s = self.settings
        lines = [(f"DisparityResult({len(self.populations)} population(s), "
                  f"n_boot={s['n_boot']}, resample={s['resample']!r}, "
                  f"{s['confidence_level']:.0%} {s['ci_method']} CIs)")]

        def f(key):
            r = t.loc[key]
            return f"{r['value']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"

        for p in self.populations:
            for m in self.metrics:
                for sp in self.splits:
                    lines.append(f"  {p} {m} [{sp}]: mean {f((p, m, sp, 'mean'))}, normalised "
                                 f"range {f((p, m, sp, 'normalised_range'))}, CV "
                                 f"{f((p, m, sp, 'cv'))}")
        return "\n".join(lines)


def _split_masks(fid: SubgroupFidelity, labels, splits) -> tuple[list[str], np.ndarray]:
    split_of = fid.subgroups.split_of()
    arr = np.array([split_of[lab] for lab in labels], dtype=object)
    present = [sp for sp in SPLITS if (arr == sp).any()]
    if splits is None:
        splits = present + ["all"] if len(present) > 1 else ["all"]
    else:
        splits = [splits] if isinstance(splits, str) else list(splits)
        bad = [sp for sp in splits if sp != "all" and sp not in present]
        if bad:
            raise ValueError(f"split(s) {bad} have no subgroups; present: {present + ['all']}")
    masks = np.array([(arr == sp) if sp != "all" else np.ones(len(arr), bool) for sp in splits])
    return list(splits), masks


@renamed_arguments(ci="confidence_level", interval="ci_method")
def subgroup_disparity(fidelity, metrics=("accuracy", "nmae"), *, splits=None,
                       n_boot: int = 1000, seed=None, resample: str = "both", stratify=None,
                       confidence_level: float = 0.95, ci_method: str = "basic",
                       ddof: int = 0) -> DisparityResult:
    """Spread of subgroup metrics (study A's disparity), with bootstrap CIs.

    Parameters
    ----------
    fidelity : SubgroupFidelity, mapping {name: SubgroupFidelity} or list
        One or more simulated populations scored against the *same*
        :class:`~popaudit.subgroups.definition.Subgroups` (e.g. base and fine-tuned).
    metrics : str or sequence of str
        Metrics of :data:`~popaudit.subgroups.definition.FIDELITY_METRICS`.
    splits : str or list, optional
        ``"in_distribution"``, ``"out_of_distribution"``, ``"unassigned"``,
        ``"all"``; default every split present plus ``"all"``.
    n_boot : int
        Bootstrap draws (>= 2).
    seed : int, numpy.random.Generator or None
        Source of every draw; the same integer seed gives the same result. The integer
        that reproduces the draws is recorded in ``settings["seed"]`` (also for None).
    resample : {"both", "respondents", "items"}
        What the CIs are about (see the module docstring).
    stratify : str or list of str, optional
        Gold demographic columns whose cells respondents are resampled within
        (e.g. the weighting cells); default the whole sample.
    confidence_level : float
        Confidence level of the intervals (``ci`` before 0.2, deprecated).
    ci_method : {"basic", "percentile", "bca", "basic_squared"}
        Bootstrap interval: ``"basic"`` (default) ``[2 value - q_hi, 2 value - q_lo]``,
        which corrects the first-order bias of noisy statistics (the ``bias`` column,
        mean of draws minus value), clipped to the statistic's possible values; the
        plain percentile interval ``[q_lo, q_hi]`` (``interval`` before 0.2,
        deprecated); the bias-corrected percentile interval (``"bca"`` with zero
        acceleration); or the basic interval on the squared scale
        (``"basic_squared"``), better for distance metrics. None reaches its nominal
        coverage for mode-based metrics (see the result's notes, ``docs/validity.md``).
    ddof : int
        Delta degrees of freedom of the SD across subgroups (default 0).

    Returns
    -------
    DisparityResult

    Notes
    -----
    Per subgroup ``g`` the metric is the mean over its items (as in
    :class:`~popaudit.subgroups.definition.SubgroupFidelity`); over the subgroups of a
    split: ``mean``, ``worst`` / ``best`` (by the metric's direction),
    ``min``, ``max``, ``range = max - min``, ``normalised_range = (max -
    min) / max`` and ``cv = SD / mean`` (study A), ``sd`` (see
    :func:`disparity_statistics`). Subgroups and items not covered by every
    population are left out (with a warning).

    Examples
    --------
    >>> import popaudit as pa
    >>> gold = pa.wvs_survey(pa.datasets.wvs_like_frame(n=800, seed=0))
    >>> sg = pa.define_subgroups(gold, ["sex", "age_group"])
    >>> fid = pa.subgroup_fidelity(sg, pa.datasets.persona_like(gold, seed=1))
    >>> d = pa.subgroup_disparity(fid, "accuracy", n_boot=50, seed=0)
    >>> round(d.value("persona", "accuracy", "normalised_range"), 3)
    0.353
    """
    names, fids = _check_fidelities(fidelity)
    metrics = _check_metrics(metrics)
    _check_boot(n_boot, resample, confidence_level, ci_method)
    labels, items, notes = _common(fids)
    notes.append(CALIBRATION_NOTE)
    rng, seed_value = resolve_seed(seed)
    settings = _settings(n_boot, seed_value, resample, stratify, confidence_level, ci_method,
                         ddof=int(ddof))
    point, draws, n_items = _metric_draws(fids, metrics, n_boot=n_boot, seed=rng,
                                          resample=resample, stratify=stratify, labels=labels,
                                          items=items)
    splits, masks = _split_masks(fids[0], labels, splits)
    nP, nM, S, T = len(fids), len(metrics), len(splits), len(STATISTICS)
    pt = np.full((nP, nM, S, T), np.nan)
    dr = np.full((nP, nM, S, T, n_boot), np.nan)
    sub = fids[0].subgroups
    strat, split_of = sub.stratum_of(), sub.split_of()
    sizes = sub.table.set_index("subgroup")["n_respondents"]
    lab_arr = np.asarray(labels, dtype=object)
    rows, worst_rows, sub_rows = [], [], []
    for a, pop in enumerate(names):
        for mi, m in enumerate(metrics):
            hib = HIGHER_IS_BETTER[m]
            lo_g, hi_g = _interval(point[a, mi], draws[a, mi], settings, axis=0,
                                   bounds=(0.0, 1.0))
            se_g = bootstrap_se(draws[a, mi], axis=0)
            bias_g = bootstrap_bias(point[a, mi], draws[a, mi], axis=0)
            sub_rows.append(pd.DataFrame({
                "population": pop, "metric": m, "subgroup": lab_arr,
                "stratum": [strat[lab] for lab in labels],
                "split": [split_of[lab] for lab in labels], "value": point[a, mi],
                "bias_corrected": np.clip(point[a, mi] - bias_g, 0.0, 1.0),
                "se": se_g, "bias": bias_g, "ci_low": lo_g, "ci_high": hi_g,
                "n_items": n_items[a, mi].astype(np.int64),
                "n_respondents": [int(sizes[lab]) for lab in labels],
                "higher_is_better": hib}))
            for si, sp in enumerate(splits):
                msk = masks[si]
                sp_pt = disparity_statistics(point[a, mi][msk], higher_is_better=hib, ddof=ddof)
                sp_dr = disparity_statistics(draws[a, mi][:, msk], higher_is_better=hib,
                                             ddof=ddof)
                for ti, st in enumerate(STATISTICS):
                    pt[a, mi, si, ti] = sp_pt[st]
                    dr[a, mi, si, ti] = sp_dr[st]
                vals = point[a, mi][msk]
                n_sub = int(np.isfinite(vals).sum())
                lo, hi = _interval(pt[a, mi, si], dr[a, mi, si], settings, axis=-1,
                                   bounds=(0.0, _UPPER))
                se = bootstrap_se(dr[a, mi, si], axis=-1)
                bias = bootstrap_bias(pt[a, mi, si], dr[a, mi, si], axis=-1)
                for ti, st in enumerate(STATISTICS):
                    note = ""
                    if not np.isfinite(pt[a, mi, si, ti]):
                        note = ("undefined: max is 0" if st == "normalised_range" else
                                "undefined: mean is 0" if st == "cv" else
                                "undefined: fewer than 2 subgroups" if n_sub < 2 else
                                "undefined")
                    rows.append({"population": pop, "metric": m, "split": sp, "statistic": st,
                                 "value": pt[a, mi, si, ti],
                                 "bias_corrected": float(np.clip(pt[a, mi, si, ti] - bias[ti],
                                                                 0.0, _UPPER[ti])),
                                 "se": se[ti], "bias": bias[ti], "ci_low": lo[ti],
                                 "ci_high": hi[ti], "n_subgroups": n_sub, "note": note})
                # worst subgroup and how often it is the worst
                d_sp = draws[a, mi][:, msk]
                fill = np.inf if hib else -np.inf
                d_fill = np.where(np.isfinite(d_sp), d_sp, fill)
                arg = d_fill.argmin(axis=1) if hib else d_fill.argmax(axis=1)
                v_fill = np.where(np.isfinite(vals), vals, fill)
                w_idx = int(v_fill.argmin() if hib else v_fill.argmax())
                labs_sp = lab_arr[msk]
                g_full = int(np.flatnonzero(msk)[w_idx])
                worst_rows.append({"population": pop, "metric": m, "split": sp,
                                   "subgroup": labs_sp[w_idx], "value": vals[w_idx],
                                   "ci_low": lo_g[g_full], "ci_high": hi_g[g_full],
                                   "share_worst": float(np.mean(arg == w_idx))})
    return DisparityResult(
        table=pd.DataFrame(rows), per_subgroup=pd.concat(sub_rows, ignore_index=True),
        worst=pd.DataFrame(worst_rows), populations=tuple(names), metrics=metrics,
        splits=tuple(splits), settings=settings, notes=tuple(notes), _point=pt, _draws=dr)


def _settings(n_boot, seed_value, resample, stratify, confidence_level, ci_method,
              **more) -> dict:
    """The options of a disparity or bias result, as recorded in its ``settings``."""
    strat = None if stratify is None else tuple([stratify] if isinstance(stratify, str)
                                                else stratify)
    return {**more, "n_boot": int(n_boot), "seed": seed_value, "resample": resample,
            "stratify": strat, "confidence_level": float(confidence_level),
            "ci_method": ci_method}


def compare_disparity(a: SubgroupFidelity, b: SubgroupFidelity, metrics=("accuracy", "nmae"),
                      **kwargs) -> DisparityComparison:
    """Paired comparison of two populations' disparity (``b`` minus ``a``).

    Shorthand for ``subgroup_disparity({a.population: a, b.population: b}, metrics,
    **kwargs).compare(a.population, b.population)``; see :func:`subgroup_disparity` for
    the arguments and :class:`DisparityComparison` for the result.
    """
    if a.population == b.population:
        raise ValueError(f"both populations are named {a.population!r}; name them apart "
                         "(subgroup_fidelity(..., name=...))")
    res = subgroup_disparity({a.population: a, b.population: b}, metrics, **kwargs)
    return res.compare(a.population, b.population)


# ---------------------------------------------------------------------------------------------
# bias table
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class BiasResult:
    """Which demographic attributes predict better emulation.

    Attributes
    ----------
    levels : DataFrame
        Per ``attribute`` and ``level``: ``mean`` (weighted mean of the metric
        over the subgroups restricted to that level, in any stratum), ``se``,
        ``ci_low``, ``ci_high``, ``deviation`` (level mean minus the mean over
        all subgroups restricting the attribute) with ``deviation_ci_low`` /
        ``deviation_ci_high``, ``n_subgroups``.
    regression : DataFrame
        Weighted least squares of the per-subgroup metric on level
        indicators: ``term``, ``attribute``, ``level``, ``reference``,
        ``coef``, ``ci_low``, ``ci_high`` (bootstrap), ``se_ols`` and
        ``pval_ols`` (classical, from pingouin; subgroups overlap, so these
        are descriptive), plus ``r2`` in ``fit``.
    favoured : DataFrame
        Per attribute the level with the best mean, its deviation and CI,
        and ``clear`` (the CI excludes 0 on the good side).
    metric : str
    higher_is_better : bool
    population : str
    split : str
    weights : str
    fit : dict
        ``r2``, ``adj_r2``, ``n_subgroups``.
    settings : dict
        The options used: ``metric``, ``attributes``, ``split``, ``weights``, ``n_boot``,
        ``seed`` (the integer that reproduces the draws), ``resample``, ``stratify``,
        ``confidence_level``, ``ci_method``.
    notes : tuple of str
    """

    levels: pd.DataFrame
    regression: pd.DataFrame
    favoured: pd.DataFrame
    metric: str
    higher_is_better: bool
    population: str
    split: str
    weights: str
    fit: dict
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.levels.copy()

    def __repr__(self) -> str:
        word = "higher" if self.higher_is_better else "lower"
        parts = [f"{r.attribute}={r.level} ({r.deviation:+.3f} [{r.deviation_ci_low:+.3f}, "
                 f"{r.deviation_ci_high:+.3f}]{'' if r.clear else ', unclear'})"
                 for r in self.favoured.itertuples()]
        return (f"BiasResult({self.population!r}, {self.metric} ({word} is better), "
                f"split={self.split!r}, weights={self.weights!r}, R2={self.fit['r2']:.3f})\n"
                f"  best emulated: " + "; ".join(parts))


def _design_matrix(attrs: pd.DataFrame, attributes, sizes) -> tuple[pd.DataFrame, list[dict]]:
    cols, terms = {}, []
    for a in attributes:
        v = attrs[a]
        restricted = v.notna().to_numpy()
        levels = list(dict.fromkeys(v[restricted]))
        if not levels:
            continue
        if restricted.all():
            # every subgroup restricts a: drop the most populous level as reference
            tot = {lv: sizes[(v == lv).to_numpy()].sum() for lv in levels}
            ref = max(levels, key=lambda lv: tot[lv])
            use = [lv for lv in levels if lv != ref]
            ref_txt = f"{a}={ref}"
        else:
            use, ref_txt = levels, f"{a} not restricted"
        for lv in use:
            term = f"{a}={lv}"
            cols[term] = (v == lv).to_numpy(dtype=float)
            terms.append({"term": term, "attribute": a, "level": lv, "reference": ref_txt})
    return pd.DataFrame(cols), terms


@renamed_arguments(ci="confidence_level", interval="ci_method")
def bias_table(fidelity: SubgroupFidelity, metric: str = "accuracy", *, attributes=None,
               split: str = "all", weights: str = "respondents", n_boot: int = 1000,
               seed=None, resample: str = "both", stratify=None,
               confidence_level: float = 0.95, ci_method: str = "basic") -> BiasResult:
    """Which demographic attributes predict better emulation, with bootstrap CIs.

    Parameters
    ----------
    fidelity : SubgroupFidelity
    metric : str
        A metric of :data:`~popaudit.subgroups.definition.FIDELITY_METRICS`.
    attributes : list of str, optional
        Demographic axes of the subgroups (default: all).
    split : str
        Subgroups used: ``"all"`` or one split.
    weights : {"respondents", "items", "equal"}
        Weight of a subgroup in the level means and the regression: its gold
        respondents (default; larger subgroups have less noisy gold modes),
        its number of items scored, or 1.
    n_boot, seed, resample, stratify, confidence_level, ci_method
        As in :func:`subgroup_disparity` (same draws for a given seed).

    Returns
    -------
    BiasResult

    Notes
    -----
    Level means: ``sum_{g in L} w_g m_g / sum_{g in L} w_g`` over the
    subgroups ``L`` restricted to the level (single-axis and crossed). The
    regression is ``m_g = b0 + sum_{a, l} b_{a,l} 1{g restricts a to l} +
    e_g`` by weighted least squares: when some subgroups do not restrict
    attribute ``a`` (e.g. ``sex=female`` does not restrict age), the
    reference is "not restricted" and ``b_{a,l}`` is the difference made by
    restricting the subgroup to level ``l``; when every subgroup restricts
    ``a``, the most populous level is the reference. Point estimates and
    classical SEs come from :func:`pingouin.linear_regression` (WLS); CIs from
    the bootstrap draws (the whole fit vectorised over draws).

    Examples
    --------
    >>> import popaudit as pa
    >>> gold = pa.wvs_survey(pa.datasets.wvs_like_frame(n=800, seed=0))
    >>> sg = pa.define_subgroups(gold, pa.crossed_strata(["sex", "age_group"]))
    >>> fid = pa.subgroup_fidelity(sg, pa.datasets.persona_like(gold, seed=1))
    >>> b = pa.bias_table(fid, "accuracy", n_boot=50, seed=0)
    >>> b.favoured["attribute"].tolist()
    ['sex', 'age_group']
    """
    import pingouin as pg

    names, fids = _check_fidelities(fidelity)
    if len(fids) != 1:
        raise ValueError("bias_table takes one population")
    fid = fids[0]
    (metric,) = _check_metrics(metric)
    _check_boot(n_boot, resample, confidence_level, ci_method)
    if weights not in ("respondents", "items", "equal"):
        raise ValueError(f"weights must be 'respondents', 'items' or 'equal', got {weights!r}")
    labels, items, notes = _common(fids)
    notes.append(CALIBRATION_NOTE)
    sub = fid.subgroups
    attributes = list(sub.axes) if attributes is None else (
        [attributes] if isinstance(attributes, str) else list(attributes))
    bad = [a for a in attributes if a not in sub.axes]
    if bad:
        raise KeyError(f"attribute(s) {bad} are not axes of the subgroups {sub.axes}")
    rng, seed_value = resolve_seed(seed)
    settings = _settings(n_boot, seed_value, resample, stratify, confidence_level, ci_method,
                         metric=metric, attributes=tuple(attributes), split=split,
                         weights=weights)
    point, draws, n_items = _metric_draws(fids, (metric,), n_boot=n_boot, seed=rng,
                                          resample=resample, stratify=stratify, labels=labels,
                                          items=items)
    y, Y, nit = point[0, 0], draws[0, 0], n_items[0, 0]      # (G,), (B, G), (G,)
    splits, masks = _split_masks(fid, labels, split)
    msk = masks[0] & np.isfinite(y)
    tab = sub.table.set_index("subgroup").loc[list(labels)]
    sizes = tab["n_respondents"].to_numpy(dtype=float)
    w = {"respondents": sizes, "items": nit.astype(float), "equal": np.ones(len(labels))}[weights]
    y, Y, w, sizes = y[msk], Y[:, msk], w[msk], sizes[msk]
    attrs = tab.loc[msk, attributes].reset_index(drop=True)
    hib = HIGHER_IS_BETTER[metric]

    def wmean(vals, sel):  # vals (..., G)
        ww = w * sel
        return (np.where(np.isfinite(vals), vals, 0.0) * ww).sum(-1) / ww.sum()

    level_rows = []
    for a in attributes:
        v = attrs[a]
        restricted = v.notna().to_numpy()
        if not restricted.any():
            continue
        base_pt, base_dr = wmean(y, restricted), wmean(Y, restricted)
        for lv in dict.fromkeys(v[restricted]):
            sel = (v == lv).to_numpy()
            m_pt, m_dr = wmean(y, sel), wmean(Y, sel)
            lo, hi = (float(v) for v in _interval(m_pt, m_dr, settings, axis=0,
                                                  bounds=(0.0, 1.0)))
            dlo, dhi = (float(v) for v in _interval(m_pt - base_pt, m_dr - base_dr, settings,
                                                    axis=0))
            level_rows.append({"attribute": a, "level": lv, "mean": m_pt,
                               "se": float(bootstrap_se(m_dr, axis=0)), "ci_low": lo,
                               "ci_high": hi,
                               "deviation": m_pt - base_pt, "deviation_ci_low": dlo,
                               "deviation_ci_high": dhi, "n_subgroups": int(sel.sum())})
    levels = pd.DataFrame(level_rows)

    X, terms = _design_matrix(attrs, attributes, sizes)
    Xc = np.column_stack([np.ones(len(y)), X.to_numpy()])
    if np.linalg.matrix_rank(Xc) < Xc.shape[1]:
        raise ValueError("the attribute indicators are collinear for these subgroups (e.g. a "
                         "level that only occurs together with another); drop an attribute")
    if len(y) <= Xc.shape[1]:
        raise ValueError(f"{len(y)} subgroups for {Xc.shape[1]} regression coefficients; use "
                         "fewer attributes or more subgroups")
    fit = pg.linear_regression(X, y, weights=w, as_dataframe=True)
    XtW = Xc.T * (w / w.sum())
    Yf = np.where(np.isfinite(Y), Y, np.nan)
    ok = np.isfinite(Yf).all(axis=1)
    beta = np.linalg.solve(XtW @ Xc, XtW @ Yf[ok].T)             # (p, B_ok)
    blo, bhi = _interval(fit["coef"].to_numpy(), beta, settings, axis=1)
    reg = pd.DataFrame([{"term": "Intercept", "attribute": "", "level": "", "reference": ""}]
                       + terms)
    reg["coef"] = fit["coef"].to_numpy()
    reg["ci_low"], reg["ci_high"] = blo, bhi
    reg["se_ols"] = fit["se"].to_numpy()
    reg["pval_ols"] = fit["pval"].to_numpy()
    fav_rows = []
    for a in attributes:
        t = levels[levels["attribute"] == a]
        if t.empty:
            continue
        r = t.loc[t["mean"].idxmax() if hib else t["mean"].idxmin()]
        good = (r["deviation_ci_low"] > 0) if hib else (r["deviation_ci_high"] < 0)
        fav_rows.append({"attribute": a, "level": r["level"], "mean": r["mean"],
                         "deviation": r["deviation"], "deviation_ci_low": r["deviation_ci_low"],
                         "deviation_ci_high": r["deviation_ci_high"], "clear": bool(good)})
    return BiasResult(
        levels=levels, regression=reg, favoured=pd.DataFrame(fav_rows), metric=metric,
        higher_is_better=hib, population=names[0], split=splits[0], weights=weights,
        fit={"r2": float(fit["r2"].iloc[0]), "adj_r2": float(fit["adj_r2"].iloc[0]),
             "n_subgroups": len(y)}, settings=settings, notes=tuple(notes))
