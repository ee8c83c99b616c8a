"""Marginal metrics: how well each item's answer distribution matches, per subgroup.

Two layers:

* pure, vectorised functions on probability vectors (last axis = categories,
  any leading batch shape; zero-padding beyond an item's ``K`` is allowed when
  ``n_categories`` is given): :func:`w1_ordinal`, :func:`representativeness`,
  :func:`js_distance`, :func:`total_variation`, :func:`hellinger`,
  :func:`kl_divergence`, :func:`scale_mean`, :func:`scale_sd`,
  :func:`normalised_variance`, :func:`is_degenerate`;
* :func:`compare_marginals`, which compares a gold and a simulated population
  (surveys or :class:`~popaudit.data.distributions.AnswerDistributions`) item by
  item and subgroup by subgroup and returns a :class:`MarginalResult`.

Ordinal and binary items get every metric; nominal items get total variation,
Jensen-Shannon distance and the degenerate flag only. Formulas and references
are in each function's Notes and in ``docs/metrics.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import rel_entr

from popaudit._inference import renamed_arguments
from popaudit.data.distributions import MIN_CELL_SIZE, align

__all__ = [
    "NOMINAL_METRICS",
    "ORDINAL_METRICS",
    "MarginalResult",
    "compare_marginals",
    "hellinger",
    "is_degenerate",
    "js_distance",
    "kl_divergence",
    "normalised_variance",
    "representativeness",
    "scale_mean",
    "scale_sd",
    "total_variation",
    "w1_ordinal",
]


# ---------------------------------------------------------------------------
# Pure functions on probability vectors
# ---------------------------------------------------------------------------

def _pair(p, q) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    if p.ndim == 0 or p.shape[-1] < 1:
        raise ValueError("probability vectors need a last axis of categories")
    return p, q


def _k(p: np.ndarray, n_categories) -> np.ndarray:
    if n_categories is None:
        return np.full(p.shape[:-1], p.shape[-1], dtype=np.int64)
    k = np.broadcast_to(np.asarray(n_categories, dtype=np.int64), p.shape[:-1])
    if (k < 2).any() or (k > p.shape[-1]).any():
        raise ValueError(f"n_categories must lie in 2..{p.shape[-1]} (the last axis)")
    return k


def _positions(p: np.ndarray, k: np.ndarray, positions) -> np.ndarray | None:
    """Positions broadcast to ``p``'s shape, padding beyond K at the largest valid position
    (so that padded categories add no distance); None for unit spacing."""
    if positions is None:
        return None
    pos = np.asarray(positions, dtype=np.float64)
    if pos.shape[-1] != p.shape[-1]:
        raise ValueError(f"positions have {pos.shape[-1]} categories, probabilities "
                         f"{p.shape[-1]}")
    pos = np.broadcast_to(pos, p.shape)
    valid = np.arange(p.shape[-1]) < k[..., None]
    if not np.all(np.isfinite(np.where(valid, pos, 0.0))):
        raise ValueError("positions must be finite numbers")
    top = np.where(valid, pos, -np.inf).max(axis=-1, keepdims=True)
    return np.where(valid, pos, top)


def _diameter(pos: np.ndarray | None, k: np.ndarray) -> np.ndarray:
    if pos is None:
        return (k - 1).astype(np.float64)
    return pos.max(axis=-1) - pos.min(axis=-1)


def w1_ordinal(p, q, n_categories=None, positions=None) -> np.ndarray:
    """Wasserstein-1 distance on the ordinal scale, normalised by the scale's diameter.

    Parameters
    ----------
    p, q : array_like, shape (..., Kmax)
        Probability vectors over ordered categories (zero-padded beyond ``K``).
    n_categories : int or array_like, optional
        ``K`` per vector (default: the length of the last axis).
    positions : array_like, shape (..., Kmax), optional
        Where each category sits on the scale (:attr:`popaudit.Item.positions`;
        any order, ties allowed). Default: unit spacing ``0, 1, ..., K-1``.

    Returns
    -------
    ndarray, shape (...)
        ``W1 / (max - min position)`` in [0, 1].

    Notes
    -----
    With categories sorted by position ``x_(1) <= ... <= x_(K)``,
    ``W1 = sum_k |F_p(k) - F_q(k)| (x_(k+1) - x_(k))`` with ``F`` the cumulative
    distribution in position order (Vallender 1973); dividing by the diameter
    ``x_(K) - x_(1)`` maps it to [0, 1] as in OpinionQA (Santurkar et al. 2023,
    ``wasserstein_distance(pos, pos, p, q) / (max(pos) - min(pos))``). Unit
    spacing gives ``W1 / (K - 1)``; for equally spaced codes this equals W1 on
    the codes divided by ``max - min`` code.

    Examples
    --------
    >>> float(w1_ordinal([1, 0, 0, 0], [0, 0, 0, 1]))
    1.0
    >>> float(w1_ordinal([0.5, 0.5, 0], [0, 0.5, 0.5]))
    0.5
    >>> float(w1_ordinal([1, 0, 0], [0, 0, 1], positions=[1, 2, 1.5]))  # neutral listed last
    0.5
    """
    p, q = _pair(p, q)
    k = _k(p, n_categories)
    pos = _positions(p, k, positions)
    if pos is None:
        d = np.abs(np.cumsum(p, axis=-1) - np.cumsum(q, axis=-1))[..., :-1].sum(axis=-1)
        return d / (k - 1)
    order = np.argsort(pos, axis=-1, kind="stable")
    ps, qs = np.take_along_axis(p, order, -1), np.take_along_axis(q, order, -1)
    xs = np.take_along_axis(pos, order, -1)
    gaps = np.diff(xs, axis=-1)
    d = (np.abs(np.cumsum(ps, axis=-1) - np.cumsum(qs, axis=-1))[..., :-1] * gaps).sum(axis=-1)
    return d / _diameter(pos, k)


def representativeness(p, q, n_categories=None, positions=None) -> np.ndarray:
    """OpinionQA representativeness ``1 - W1 / diameter`` (1 = identical).

    Notes
    -----
    Santurkar et al. (2023), "Whose opinions do language models reflect?",
    ICML; see :func:`w1_ordinal`.

    Examples
    --------
    >>> float(representativeness([0.5, 0.5, 0], [0, 0.5, 0.5]))
    0.5
    """
    return 1.0 - w1_ordinal(p, q, n_categories, positions)


def js_distance(p, q) -> np.ndarray:
    """Jensen-Shannon distance, base 2 (in [0, 1]).

    Notes
    -----
    ``JS(p, q) = sqrt(0.5 KL(p || m) + 0.5 KL(q || m))`` with ``m = (p + q) / 2``
    and logarithms base 2 (Endres & Schindelin 2003); the same quantity as
    ``scipy.spatial.distance.jensenshannon(p, q, base=2)``. GlobalOpinionQA
    (Durmus et al. 2023) reports ``1 - JS``.

    Examples
    --------
    >>> float(js_distance([1, 0], [0, 1]))
    1.0
    """
    p, q = _pair(p, q)
    m = 0.5 * (p + q)
    jsd = 0.5 * (rel_entr(p, m).sum(axis=-1) + rel_entr(q, m).sum(axis=-1)) / np.log(2.0)
    return np.sqrt(np.clip(jsd, 0.0, 1.0))


def total_variation(p, q) -> np.ndarray:
    """Total variation distance ``0.5 * sum |p - q|`` (in [0, 1]).

    Examples
    --------
    >>> float(total_variation([0.5, 0.5, 0], [0, 0.5, 0.5]))
    0.5
    """
    p, q = _pair(p, q)
    return 0.5 * np.abs(p - q).sum(axis=-1)


def hellinger(p, q) -> np.ndarray:
    """Hellinger distance ``sqrt(0.5 * sum (sqrt p - sqrt q)^2)`` (in [0, 1]).

    Examples
    --------
    >>> float(hellinger([1, 0], [0, 1]))
    1.0
    """
    p, q = _pair(p, q)
    h2 = 0.5 * ((np.sqrt(np.clip(p, 0, None)) - np.sqrt(np.clip(q, 0, None))) ** 2).sum(axis=-1)
    return np.sqrt(np.clip(h2, 0.0, 1.0))


def kl_divergence(p, q, *, smoothing: float, n_categories=None) -> np.ndarray:
    """Kullback-Leibler divergence ``KL(p || q)`` in nats, with additive smoothing.

    Parameters
    ----------
    p, q : array_like, shape (..., Kmax)
        ``p`` the reference (gold), ``q`` the approximation (simulated).
    smoothing : float
        Additive smoothing ``eps >= 0`` applied to *both* vectors over their
        ``K`` categories: ``p' = (p + eps) / (1 + K eps)``. Required: there is
        no silent default. With ``eps = 0`` the result is ``inf`` wherever
        ``q`` has a zero where ``p`` does not.
    n_categories : int or array_like, optional
        ``K`` per vector (padding beyond ``K`` gets no smoothing mass).

    Notes
    -----
    ``KL(p || q) = sum_k p_k log(p_k / q_k)`` (Kullback & Leibler 1951), natural
    logarithm; asymmetric, unbounded.

    Examples
    --------
    >>> round(float(kl_divergence([0.5, 0.5], [0.25, 0.75], smoothing=0)), 6)
    0.143841
    """
    p, q = _pair(p, q)
    eps = float(smoothing)
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"smoothing must be a finite number >= 0, got {smoothing!r}")
    k = _k(p, n_categories)
    if eps > 0:
        valid = np.arange(p.shape[-1]) < k[..., None]
        denom = (1.0 + k * eps)[..., None]
        p = np.where(valid, (p + eps) / denom, 0.0)
        q = np.where(valid, (q + eps) / denom, 0.0)
    # >= 0 in exact arithmetic; clip rounding noise of order 1e-17
    return np.maximum(rel_entr(p, q).sum(axis=-1), 0.0)


def _codes(p: np.ndarray, codes) -> np.ndarray:
    c = np.asarray(codes, dtype=np.float64)
    if c.shape[-1] != p.shape[-1]:
        raise ValueError(f"codes have {c.shape[-1]} categories, probabilities {p.shape[-1]}")
    return np.broadcast_to(c, p.shape)


def scale_mean(p, codes) -> np.ndarray:
    """Mean answer on the item's code scale, ``sum_k p_k c_k``.

    Examples
    --------
    >>> float(scale_mean([0.5, 0, 0.5], [1, 2, 3]))
    2.0
    """
    p = np.asarray(p, dtype=np.float64)
    return (p * _codes(p, codes)).sum(axis=-1)


def scale_sd(p, codes) -> np.ndarray:
    """Standard deviation of the answer on the code scale (population form).

    Examples
    --------
    >>> float(scale_sd([0.5, 0, 0.5], [1, 2, 3]))
    1.0
    """
    p = np.asarray(p, dtype=np.float64)
    c = _codes(p, codes)
    mu = (p * c).sum(axis=-1, keepdims=True)
    return np.sqrt(np.clip((p * (c - mu) ** 2).sum(axis=-1), 0.0, None))


def _code_range(c: np.ndarray, k: np.ndarray) -> np.ndarray:
    valid = np.arange(c.shape[-1]) < k[..., None]
    return np.where(valid, c, -np.inf).max(axis=-1) - np.where(valid, c, np.inf).min(axis=-1)


def normalised_variance(p, codes, n_categories=None) -> np.ndarray:
    """Variance on the code scale divided by ``(max code - min code)^2`` (in [0, 0.25]).

    Notes
    -----
    0 for a degenerate distribution, 0.25 for half the mass on each end of the
    scale; used to show the collapsed spread of simulated answers.

    Examples
    --------
    >>> float(normalised_variance([0.5, 0, 0.5], [1, 2, 3]))
    0.25
    """
    p = np.asarray(p, dtype=np.float64)
    c = _codes(p, codes)
    k = _k(p, n_categories)
    return scale_sd(p, c) ** 2 / _code_range(c, k) ** 2


def is_degenerate(p, *, atol: float = 0.0) -> np.ndarray:
    """Whether a distribution puts all its mass on one answer ("mode collapse").

    A vector is degenerate when exactly one category has probability above
    ``atol`` (default 0: any positive share counts as a second answer).

    Examples
    --------
    >>> is_degenerate([[0, 1, 0], [0.5, 0.5, 0]]).tolist()
    [True, False]
    """
    p = np.asarray(p, dtype=np.float64)
    return (p > atol).sum(axis=-1) == 1


# ---------------------------------------------------------------------------
# Comparing populations
# ---------------------------------------------------------------------------

#: Metrics reported for ordinal and binary items.
ORDINAL_METRICS: tuple[str, ...] = (
    "w1_norm", "representativeness", "js_distance", "total_variation", "hellinger",
    "kl_divergence", "mean_gold", "mean_sim", "mean_diff", "mean_diff_scaled", "sd_gold",
    "sd_sim", "sd_diff", "sd_diff_scaled", "nvar_gold", "nvar_sim", "degenerate_gold",
    "degenerate_sim",
)
#: Metrics reported for nominal items.
NOMINAL_METRICS: tuple[str, ...] = (
    "js_distance", "total_variation", "degenerate_gold", "degenerate_sim",
)
_BOTH = frozenset(NOMINAL_METRICS)


@dataclass(frozen=True, eq=False)
class MarginalResult:
    """Marginal comparison of a simulated population with gold.

    Attributes
    ----------
    per_item : DataFrame
        One row per subgroup x item compared: ``subgroup``, ``item``, ``kind``,
        ``n_categories``, ``n_gold``, ``n_sim`` and the metrics of
        :data:`ORDINAL_METRICS` (nullable ``Float64``; ``<NA>`` marks a metric
        that does not apply to a nominal item, never a failed computation).
    summary : DataFrame
        One row per metric and item kind (``"ordinal"`` = ordinal and binary,
        ``"nominal"``, and ``"all"`` for metrics defined on both): ``mean``,
        ``mean_abs``, ``sd``, ``min``, ``max`` over subgroup x item pairs, and
        the counts that went in (``n_pairs``, ``n_items``, ``n_subgroups``);
        ``sd`` is NaN when a single pair went in.
    per_subgroup : DataFrame
        Mean of each metric over the items of each subgroup, with ``n_items``.
    n_pairs : int
        Subgroup x item pairs compared.
    n_empty_gold, n_empty_sim : int
        Pairs skipped because gold (resp. simulated) had no distribution there.
    n_degenerate_gold, n_degenerate_sim : int
        Compared pairs whose gold (resp. simulated) distribution has one answer only.
    kl_smoothing : float
    by : tuple of str
    population, reference : str
        Names of the simulated and gold populations.
    only_gold, only_sim : tuple of str
        Subgroups dropped because only one population had them (``unmatched="drop"``).
    excluded : tuple of str
        Subgroups left out for having fewer than ``min_size`` respondents.
    min_size : int or None
        The minimum cell size applied.
    settings : dict
        The options used: ``by``, ``kl_smoothing``, ``unmatched``, ``degenerate_atol``,
        ``min_size``.
    notes : tuple of str
        Subgroups left out (too small, or in one population only).
    """

    per_item: pd.DataFrame
    summary: pd.DataFrame
    per_subgroup: pd.DataFrame
    n_pairs: int
    n_empty_gold: int
    n_empty_sim: int
    n_degenerate_gold: int
    n_degenerate_sim: int
    kl_smoothing: float
    by: tuple[str, ...] = ()
    population: str = "simulated"
    reference: str = "gold"
    only_gold: tuple[str, ...] = ()
    only_sim: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    min_size: int | None = None
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Tidy long table: ``population``, ``subgroup``, ``item``, ``kind``,
        ``metric``, ``value`` (only metrics that apply to the item; degenerate
        flags as 0/1) and ``n`` (gold's valid answers behind the pair)."""
        per = self.per_item
        parts = []
        for m in ORDINAL_METRICS:
            col = per[m]
            sel = col.notna().to_numpy()
            parts.append(pd.DataFrame({
                "subgroup": per["subgroup"].to_numpy()[sel], "item": per["item"].to_numpy()[sel],
                "kind": per["kind"].to_numpy()[sel], "metric": m,
                "value": col.to_numpy(dtype=float, na_value=np.nan)[sel],
                "n": per["n_gold"].array[sel]}))
        out = pd.concat(parts, ignore_index=True)
        out.insert(0, "population", self.population)
        return out

    def mean(self, metric: str, kind: str = "ordinal") -> float:
        """Mean of one metric over pairs of one item kind (from ``summary``)."""
        row = self.summary[(self.summary["metric"] == metric) &
                           (self.summary["item_kind"] == kind)]
        if row.empty:
            raise KeyError(f"no {kind!r} pairs with metric {metric!r} in this result; "
                           f"metrics are {sorted(self.summary['metric'].unique())}")
        return float(row["mean"].iloc[0])

    def __repr__(self) -> str:
        s = self.summary.set_index(["metric", "item_kind"])["mean"]

        def get(m, k):
            return f"{s[(m, k)]:.3f}" if (m, k) in s.index else "-"

        kinds = self.per_item["kind"]
        n_ord = int((kinds != "nominal").sum())
        n_nom = int((kinds == "nominal").sum())
        skipped = self.n_empty_gold + self.n_empty_sim
        lines = [
            (f"MarginalResult({self.population!r} vs {self.reference!r}, "
            f"by={list(self.by) or 'overall'})"),
            (f"  pairs compared: {self.n_pairs} (ordinal {n_ord}, nominal {n_nom}); "
            f"skipped empty: {skipped}"),
            (f"  ordinal: W1/diameter {get('w1_norm', 'ordinal')}, representativeness "
            f"{get('representativeness', 'ordinal')}, JS {get('js_distance', 'ordinal')}, "
            f"TV {get('total_variation', 'ordinal')}, Hellinger {get('hellinger', 'ordinal')}, "
            f"KL {get('kl_divergence', 'ordinal')} (smoothing {self.kl_smoothing:g})"),
            (f"  nominal: JS {get('js_distance', 'nominal')}, "
            f"TV {get('total_variation', 'nominal')}"),
            (f"  degenerate distributions: simulated {self.n_degenerate_sim}, "
            f"gold {self.n_degenerate_gold}"),
        ]
        return "\n".join(lines)


@renamed_arguments(sim="simulated")
def compare_marginals(gold, simulated, by: str | Sequence[str] | None = None, *,
                      kl_smoothing: float = 1e-6, unmatched: str = "raise",
                      degenerate_atol: float = 0.0,
                      min_size: int | None = MIN_CELL_SIZE) -> MarginalResult:
    """Compare answer distributions of a simulated population with gold, per item and subgroup.

    Parameters
    ----------
    gold, simulated : Survey or AnswerDistributions
        Respondent-level surveys (weighted distributions are computed) or
        subgroup-level distributions (e.g. model probabilities). Items must
        match in names, codes and kind (:func:`~popaudit.check_compatible`).
        (``sim`` before 0.2, deprecated.)
    by : str or list of str, optional
        Demographic columns defining subgroups for survey inputs (see
        :func:`~popaudit.data.distributions.align`); None compares whole populations.
    kl_smoothing : float
        Additive smoothing for :func:`kl_divergence` (default ``1e-6``,
        reported in the result).
    unmatched : {"raise", "drop"}
        Subgroups present in one population only: raise, or drop and list them.
    degenerate_atol : float
        Threshold of :func:`is_degenerate`.
    min_size : int or None
        Minimum cell size when ``by`` splits surveys into subgroups: a subgroup
        with fewer respondents in gold or in the simulated population is left
        out with a ``UserWarning`` listing it (default 30, the constant of
        :func:`~popaudit.define_subgroups`); listed in ``excluded``. None keeps
        every subgroup.

    Returns
    -------
    MarginalResult

    Notes
    -----
    Per subgroup ``g`` and item ``j`` with gold vector ``p`` and simulated
    ``q``: ``w1_norm = W1(p, q) / diameter`` on the item's option positions
    (:attr:`popaudit.Item.positions`; default unit spacing, diameter ``K - 1``),
    ``representativeness = 1 - w1_norm``, ``js_distance`` (base 2),
    ``total_variation``, ``hellinger``, ``kl_divergence = KL(p || q)`` (nats,
    smoothed), means and SDs on the code scale with ``*_diff = sim - gold`` and
    ``*_diff_scaled = *_diff / (max - min code)``, ``nvar_* = var / (max - min
    code)^2``, and the degenerate flags. Nominal items get ``js_distance``,
    ``total_variation`` and the flags only. Pairs where either population has
    no distribution are skipped and counted. Aggregates are unweighted means
    over subgroup x item pairs (over items when ``by`` is None).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import popaudit as pa
    >>> items = [pa.Item("Q1", codes=(1, 2, 3))]
    >>> gold = pa.Survey(pd.DataFrame({"Q1": [1, 2, 2, 3]}), items=items)
    >>> sim = pa.Survey(pd.DataFrame({"Q1": [2, 2, 2, 2]}), items=items)
    >>> res = pa.compare_marginals(gold, sim)
    >>> res.per_item.loc[0, ["w1_norm", "total_variation"]].astype(float).tolist()
    [0.25, 0.5]
    >>> res.n_degenerate_sim
    1
    """
    al = align(gold, simulated, by, unmatched=unmatched, min_size=min_size)
    gd, sd = al.gold, al.sim
    both = gd.has_data & sd.has_data
    gg, jj = np.nonzero(both)
    p = gd.probs[gg, jj]
    q = sd.probs[gg, jj]
    K = gd.n_categories[jj]
    codes = gd.code_matrix()[jj]
    pos = gd.position_matrix()[jj] if gd.has_positions else None
    kinds = np.array([it.kind for it in gd.items], dtype=object)[jj]
    nominal = kinds == "nominal"
    crange = _code_range(codes, K)

    w1 = w1_ordinal(p, q, K, positions=pos) if len(K) else np.zeros(0)
    mg, ms = scale_mean(p, codes), scale_mean(q, codes)
    sg, ss = scale_sd(p, codes), scale_sd(q, codes)
    values = {
        "w1_norm": w1,
        "representativeness": 1.0 - w1,
        "js_distance": js_distance(p, q),
        "total_variation": total_variation(p, q),
        "hellinger": hellinger(p, q),
        "kl_divergence": kl_divergence(p, q, smoothing=kl_smoothing, n_categories=K)
        if len(K) else np.zeros(0),
        "mean_gold": mg, "mean_sim": ms, "mean_diff": ms - mg, "mean_diff_scaled": (ms - mg) / crange,
        "sd_gold": sg, "sd_sim": ss, "sd_diff": ss - sg, "sd_diff_scaled": (ss - sg) / crange,
        "nvar_gold": sg ** 2 / crange ** 2, "nvar_sim": ss ** 2 / crange ** 2,
        "degenerate_gold": is_degenerate(p, atol=degenerate_atol).astype(float),
        "degenerate_sim": is_degenerate(q, atol=degenerate_atol).astype(float),
    }
    sub_labels = np.asarray(gd.labels, dtype=object)[gg]
    item_names = np.asarray(gd.item_names, dtype=object)[jj]
    kind_str = kinds.astype(str)
    per = pd.DataFrame({"subgroup": sub_labels, "item": item_names, "kind": kind_str,
                        "n_categories": K})
    for name, arr in (("n_gold", gd.n), ("n_sim", sd.n)):
        per[name] = pd.array(arr[gg, jj] if arr is not None else [pd.NA] * len(gg), dtype="Int64")
    for m in ORDINAL_METRICS:
        col = pd.array(values[m], dtype="Float64")
        if m not in _BOTH:
            col[nominal] = pd.NA
        per[m] = col
    per["degenerate_gold"] = values["degenerate_gold"].astype(bool)
    per["degenerate_sim"] = values["degenerate_sim"].astype(bool)

    m_pairs = len(gg)
    kind_groups = {"ordinal": ~nominal, "nominal": nominal, "all": np.ones(m_pairs, bool)}
    summ_rows, sub_parts = [], []
    G = gd.has_data.shape[0]
    for m in ORDINAL_METRICS:
        v = values[m]
        for kname, kmask in kind_groups.items():
            if m not in _BOTH and kname != "ordinal":
                continue  # ordinal-only metric: no nominal or "all" rows
            sel = kmask
            npairs = int(sel.sum())
            if npairs == 0:
                continue
            x = v[sel]
            with np.errstate(invalid="ignore"):  # sd of inf KL values (smoothing=0) is NaN
                spread = x.std(ddof=1) if npairs > 1 else np.nan
            summ_rows.append({
                "metric": m, "item_kind": kname, "mean": x.mean(), "mean_abs": np.abs(x).mean(),
                "sd": spread, "min": x.min(), "max": x.max(),
                "n_pairs": npairs, "n_items": int(np.unique(jj[sel]).size),
                "n_subgroups": int(np.unique(gg[sel]).size)})
            cnt = np.bincount(gg[sel], minlength=G)
            tot = np.bincount(gg[sel], weights=x, minlength=G)
            has = cnt > 0
            sub_parts.append((np.flatnonzero(has), m, kname, tot[has] / cnt[has], cnt[has]))
    summary = pd.DataFrame(summ_rows, columns=["metric", "item_kind", "mean", "mean_abs", "sd",
                                               "min", "max", "n_pairs", "n_items",
                                               "n_subgroups"])
    if sub_parts:
        labels_arr = np.asarray(gd.labels, dtype=object)
        per_subgroup = pd.DataFrame({
            "subgroup": np.concatenate([labels_arr[g] for g, *_ in sub_parts]),
            "metric": np.concatenate([np.full(len(g), m, dtype=object)
                                      for g, m, *_ in sub_parts]),
            "item_kind": np.concatenate([np.full(len(g), k, dtype=object)
                                         for g, _, k, *_ in sub_parts]),
            "mean": np.concatenate([x[3] for x in sub_parts]),
            "n_items": np.concatenate([x[4] for x in sub_parts]),
        })
    else:
        per_subgroup = pd.DataFrame(columns=["subgroup", "metric", "item_kind", "mean",
                                             "n_items"])
    return MarginalResult(
        per_item=per, summary=summary, per_subgroup=per_subgroup, n_pairs=int(m_pairs),
        n_empty_gold=int((~gd.has_data).sum()), n_empty_sim=int((gd.has_data & ~sd.has_data
                                                                  ).sum()),
        n_degenerate_gold=int(values["degenerate_gold"].sum()),
        n_degenerate_sim=int(values["degenerate_sim"].sum()), kl_smoothing=float(kl_smoothing),
        by=gd.by, population=sd.name or "simulated", reference=gd.name or "gold",
        only_gold=al.only_gold, only_sim=al.only_sim, excluded=al.excluded,
        min_size=min_size,
        settings={"by": gd.by, "kl_smoothing": float(kl_smoothing), "unmatched": unmatched,
                  "degenerate_atol": float(degenerate_atol), "min_size": min_size},
        notes=al.notes)
