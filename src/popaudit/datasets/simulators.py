"""Simulated populations with *known* failure modes, built from a gold survey.

Each simulator takes a gold :class:`~popaudit.Survey` and returns a new
survey with the same items (same metadata, so ``check_compatible`` passes),
the same demographic columns and the same weight column. Each is a generator
of known truth for testing and demonstrating popaudit's statistics: what it
does to marginals and to correlations is stated exactly below. None is a
model of any real language model.

Common conventions
------------------
- ``seed``: an int or a :class:`numpy.random.Generator`; the only source of
  randomness.
- ``by``: demographic columns whose crossing defines the *cells* a simulator
  works within (``None``: the whole population is one cell).
- ``n``: number of simulated respondents; default the gold size (the gold
  respondents themselves, in order). Otherwise respondents (their
  demographics and weights) are drawn uniformly with replacement from gold.
- Weighted gold distributions are used throughout (unit weights when gold is
  unweighted); "exact in expectation" statements refer to the weighted
  distribution of the simulated survey.
- Missing answers stay missing (they travel with their respondent, or with
  the donated / permuted answers); transformations act on valid answers.
- ``invalid_rate``: after the transformation each answer independently
  becomes *invalid* (unparseable) with this probability.
- Linked items: the national aims Q154/Q155 (first and second choice) are
  handled as one ordered pair, so Q155 != Q154 holds in every simulated
  population. Derived indices Y002 (from Q154/Q155) and Y003 (from Q8, Q14,
  Q15, Q17), when present as items together with their components, are
  recomputed from the simulated components (missing when a component is
  missing or invalid).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from popaudit.data.survey import INVALID, MISSING, Survey
from popaudit.datasets.gold import _y002, _y003

__all__ = [
    "DEFAULT_BY",
    "finetuned_like",
    "mode_collapsed",
    "persona_like",
    "shuffled",
    "simulated_populations",
    "stereotyped",
]

#: Demographic columns :func:`simulated_populations` uses as cells, when gold has them.
DEFAULT_BY: tuple[str, ...] = ("Q260", "X003R", "Q290")

_LINKED = (("Q154", "Q155"),)
_DERIVED = {"Y002": ("Q154", "Q155"), "Y003": ("Q8", "Q14", "Q15", "Q17")}


# ---------------------------------------------------------------------------------------------
# plumbing
# ---------------------------------------------------------------------------------------------
def _weight_name(s: Survey) -> str:
    name = s.weight_name
    return name or "weight"


def _as_by(by, demo: pd.DataFrame) -> list[str]:
    if by is None:
        return []
    cols = [by] if isinstance(by, str) else list(by)
    for c in cols:
        if c not in demo.columns:
            raise KeyError(f"demographic column {c!r} not in the gold survey; demographics are "
                           f"{list(demo.columns)}")
    return cols


def _cells(demo: pd.DataFrame, cols: list[str]) -> tuple[np.ndarray, int]:
    """Integer cell id per row for the crossing of ``cols`` (missing values form their own level)."""
    n = len(demo)
    if not cols:
        return np.zeros(n, dtype=np.int64), 1
    codes = [pd.factorize(demo[c], use_na_sentinel=False)[0] for c in cols]
    cid = np.zeros(n, dtype=np.int64)
    for c in codes:
        cid = cid * (int(c.max()) + 1 if n else 1) + c
    uniq, inv = np.unique(cid, return_inverse=True)
    return inv.astype(np.int64), len(uniq)


class _Unit:
    """One answer unit: a single item, or a linked pair encoded as one composite category."""

    def __init__(self, cols: tuple[int, ...], ks: tuple[int, ...], kind: str):
        self.cols = cols
        self.ks = ks
        self.kind = kind                      # "ordinal", "binary" or "nominal"
        self.K = int(np.prod(ks))

    def encode(self, idx: np.ndarray) -> np.ndarray:
        if len(self.cols) == 1:
            return idx[:, self.cols[0]].astype(np.int64)
        a = idx[:, self.cols[0]].astype(np.int64)
        b = idx[:, self.cols[1]].astype(np.int64)
        return np.where((a >= 0) & (b >= 0), a * self.ks[1] + b, MISSING)

    def decode_into(self, idx: np.ndarray, values: np.ndarray, rows: np.ndarray) -> None:
        """Write valid composite ``values`` back at boolean ``rows``."""
        if len(self.cols) == 1:
            idx[rows, self.cols[0]] = values[rows]
        else:
            idx[rows, self.cols[0]] = values[rows] // self.ks[1]
            idx[rows, self.cols[1]] = values[rows] % self.ks[1]


def _units(items) -> tuple[list[_Unit], dict[str, int]]:
    names = [it.name for it in items]
    pos = {nm: j for j, nm in enumerate(names)}
    derived = {d: pos[d] for d, comps in _DERIVED.items()
               if d in pos and all(c in pos for c in comps)}
    used = set(derived.values())
    units = []
    for pair in _LINKED:
        if all(p in pos for p in pair):
            a, b = (items[pos[p]] for p in pair)
            if a.kind == "nominal" and b.kind == "nominal" and a.codes == b.codes:
                units.append(_Unit((pos[pair[0]], pos[pair[1]]),
                                   (a.n_categories, b.n_categories), "nominal"))
                used |= {pos[pair[0]], pos[pair[1]]}
    for j, it in enumerate(items):
        if j not in used:
            units.append(_Unit((j,), (it.n_categories,), it.kind))
    units.sort(key=lambda u: u.cols[0])
    return units, derived


def _recompute_derived(idx: np.ndarray, items, derived: dict[str, int]) -> None:
    pos = {it.name: j for j, it in enumerate(items)}

    def codes_of(name):
        it = items[pos[name]]
        col = idx[:, pos[name]]
        return np.where(col >= 0, np.asarray(it.codes)[np.clip(col, 0, None)], -9)

    for d, j in derived.items():
        comps = [codes_of(c) for c in _DERIVED[d]]
        val = _y002(*comps) if d == "Y002" else _y003(*comps)
        codes = np.asarray(items[j].codes)
        lookup = {c: k for k, c in enumerate(codes)}
        out = np.full(len(val), MISSING, dtype=np.int16)
        for c, k in lookup.items():
            out[val == c] = k
        idx[:, j] = out


def _cell_dist(values: np.ndarray, cell: np.ndarray, n_cells: int, K: int,
               w: np.ndarray) -> np.ndarray:
    """(n_cells, K) weighted distribution of valid ``values`` within each cell (zero rows if none)."""
    ok = values >= 0
    counts = np.bincount(cell[ok] * K + values[ok], weights=w[ok],
                         minlength=n_cells * K).reshape(n_cells, K)
    tot = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, tot, out=np.zeros_like(counts), where=tot > 0)


def _inverse_cdf(P_rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Category of uniform ``u`` under each row's distribution (rows aligned with ``u``)."""
    F = np.cumsum(P_rows, axis=1)
    F[:, -1] = np.inf                                    # guard against rounding
    return (u[:, None] >= F).sum(axis=1)


def _quantile_map(rng, values, rows, cell, P, Q, *, reverse=False) -> np.ndarray:
    """Map each valid answer through its cell's distribution P onto the target Q.

    u = F_P(a - 1) + U p(a) is uniform when a ~ P; the new answer is F_Q^{-1}(u)
    (or F_Q^{-1}(1 - u) with ``reverse``), so it follows Q exactly in expectation
    and keeps the within-cell rank order of the answers (reverses it with ``reverse``).
    """
    out = values.copy()
    sel = np.flatnonzero(rows & (values >= 0))
    if sel.size == 0:
        return out
    c = cell[sel]
    a = values[sel]
    Pc = P[c]
    Fm = np.cumsum(Pc, axis=1) - Pc                       # F(a-1)
    u = Fm[np.arange(sel.size), a] + rng.random(sel.size) * Pc[np.arange(sel.size), a]
    if reverse:
        u = 1.0 - u
    out[sel] = _inverse_cdf(Q[c], np.clip(u, 0.0, 1.0 - 1e-15))
    return out


def _base(gold: Survey, n, rng):
    N = len(gold)
    if n is None:
        rows = np.arange(N)
    else:
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer or None, got {n!r}")
        rows = rng.integers(0, N, size=int(n))
    idx = np.array(gold.category_indices()[rows], dtype=np.int64)
    demo = gold.demographics.iloc[rows].reset_index(drop=True)
    w = None if gold.weights is None else np.asarray(gold.weights)[rows]
    return rows, idx, demo, w


def _prepare(gold: Survey, n, seed, cols: list[str]):
    """What every simulator starts from: its random stream, gold's cells (crossings of
    ``cols``) and per-cell weights, the respondents drawn, and the answer units."""
    rng = np.random.default_rng(seed)
    gcell, n_cells = _cells(gold.demographics, cols)
    rows, idx, demo, w = _base(gold, n, rng)
    gidx = np.asarray(gold.category_indices(), dtype=np.int64)
    units, derived = _units(gold.items)
    return (rng, gcell, n_cells, rows, idx, demo, w, gcell[rows], gidx, _gold_weights(gold),
            units, derived)


def _check_rate(name: str, value: float, lo: float = 0.0, hi: float = 1.0) -> float:
    if not (lo <= float(value) <= hi):
        raise ValueError(f"{name} must be between {lo} and {hi}, got {value!r}")
    return float(value)


def _inject_invalid(rng, idx: np.ndarray, rate: float, derived_cols) -> None:
    if rate <= 0:
        return
    mask = rng.random(idx.shape) < rate
    mask[:, list(derived_cols)] = False
    idx[mask] = INVALID


def _build(gold: Survey, idx: np.ndarray, demo: pd.DataFrame, w, name: str) -> Survey:
    cols = {}
    for j, it in enumerate(gold.items):
        col = idx[:, j]
        codes = np.asarray(it.codes, dtype=float)[np.clip(col, 0, None)]
        codes[col == MISSING] = np.nan
        if np.any(col == INVALID):
            obj = codes.astype(object)
            obj[col == INVALID] = "<invalid>"
            cols[it.name] = obj
        else:
            cols[it.name] = codes
    frame = pd.DataFrame(cols)
    demo_cols = [c for c in demo.columns if c not in frame.columns]
    frame = pd.concat([frame, demo[demo_cols].reset_index(drop=True)], axis=1)
    wname = None
    if w is not None:
        wname = _weight_name(gold)
        while wname in frame.columns:
            wname = wname + "_"
        frame[wname] = w
    # "<invalid>" stands for an unparseable model answer: expected here, so no warning
    return Survey(frame, gold.items, demographics=demo_cols, weights=wname, name=name,
                  out_of_scale="invalid")


def _finish(gold, idx, demo, w, name, rng, invalid_rate, derived) -> Survey:
    _inject_invalid(rng, idx, invalid_rate, derived.values())
    _recompute_derived(idx, gold.items, derived)
    return _build(gold, idx, demo, w, name)


def _gold_weights(gold: Survey) -> np.ndarray:
    w = np.asarray(gold.weights_or_ones(), dtype=float)
    return w / w.mean() if w.mean() > 0 else w


# ---------------------------------------------------------------------------------------------
# simulators
# ---------------------------------------------------------------------------------------------
def shuffled(gold: Survey, by: str | Sequence[str] | None = None, *, seed=0,
             weights: str = "exact", name: str = "shuffled") -> Survey:
    """Permute each item's answers among respondents: every marginal exact, all structure gone.

    Parameters
    ----------
    gold : Survey
    by : str or sequence of str, optional
        Demographic columns; answers are permuted only among respondents of
        the same subgroup (crossing of ``by``), so every subgroup marginal is
        kept as well as the overall one.
    seed : int or numpy.random.Generator
    weights : {"exact", "ignore"}
        ``"exact"`` (default): permute within cells of *equal weight* inside
        each subgroup, so the **weighted** marginals are exact too (the right
        choice for post-stratification weights, which are constant within
        weighting cells -- as those of :func:`wvs_like` are). Raises a
        ``ValueError`` when more than half the respondents have a weight value
        no one else has, i.e. for continuous weights.
        ``"ignore"``: permute within subgroups regardless of weight; the
        unweighted marginals are exact, the weighted ones equal only in
        expectation.
    name : str

    Returns
    -------
    Survey
        Same respondents, demographics and weights, in the same order.

    Notes
    -----
    Known truth. For every item and every subgroup that is a union of the
    permutation cells (each ``by`` subgroup, any coarser grouping of it, and
    the whole population): the multiset of answers (missing included) is
    unchanged, so unweighted counts are identical and, with
    ``weights="exact"``, weighted counts are identical up to floating-point
    summation order. Each item (the Q154/Q155 pair as one unit) gets its own
    independent permutation, so within a cell every association between items
    and between items and finer demographics is destroyed: the expected
    within-cell correlation of any two items is 0, and what remains overall is
    only the association carried by the ``by`` subgroup means. Derived Y002 is
    exact (Q154/Q155 move together); Y003 is recomputed from independently
    permuted components, so its marginal changes -- that change *is* the lost
    structure among the child qualities. With ``weights="exact"`` the
    equal-weight cells are permutation cells too; post-stratification
    weights are constant within demographic weighting cells (sex x age band
    x ethnic group for :func:`wvs_like`), so the association carried by
    those cells' means also survives. Use ``weights="ignore"`` to destroy it
    at the price of weighted marginals that are exact only in expectation.

    Examples
    --------
    >>> import numpy as np
    >>> from popaudit.datasets import wvs_like, shuffled
    >>> gold = wvs_like(n=400, seed=0)
    >>> sim = shuffled(gold, by=["Q260"], seed=1)
    >>> bool(np.array_equal(np.sort(sim.category_indices(), axis=0),
    ...                     np.sort(gold.category_indices(), axis=0)))
    True
    """
    if weights not in ("exact", "ignore"):
        raise ValueError(f"weights must be 'exact' or 'ignore', got {weights!r}")
    rng = np.random.default_rng(seed)
    demo = gold.demographics
    cols = _as_by(by, demo)
    cell, _ = _cells(demo, cols)
    n = len(gold)
    if weights == "exact" and gold.weights is not None:
        _, wid, wcount = np.unique(np.asarray(gold.weights), return_inverse=True,
                                   return_counts=True)
        strata = np.unique(cell * (int(wid.max()) + 1) + wid, return_inverse=True)[1]
        alone = float(np.sum(wcount == 1)) / max(n, 1)
        if alone > 0.5:
            raise ValueError(
                f"{alone:.0%} of respondents have a weight no one else has, so an exact "
                "weighted shuffle would leave them in place; the weights look continuous. "
                "Pass weights='ignore' (unweighted marginals exact, weighted ones equal in "
                "expectation) or round the weights to a few distinct values first")
    else:
        strata = cell
    idx = np.array(gold.category_indices(), dtype=np.int64)
    out = idx.copy()
    units, derived = _units(gold.items)
    target = np.argsort(strata, kind="stable")
    for u in units:
        src = np.lexsort((rng.random(n), strata))
        cc = list(u.cols)
        out[np.ix_(target, cc)] = idx[np.ix_(src, cc)]
    _recompute_derived(out, gold.items, derived)
    return _build(gold, out, demo, gold.weights, name)


def persona_like(gold: Survey, n: int | None = None, *, seed=0,
                 by: str | Sequence[str] | None = None, attenuation: float = 0.5,
                 shrink: float = 0.3, invalid_rate: float = 0.01,
                 name: str = "persona") -> Survey:
    """Persona-prompting-like answers: marginals pulled to the scale centre, correlations attenuated.

    Parameters
    ----------
    gold : Survey
    n : int, optional
    seed : int or numpy.random.Generator
    by : str or sequence of str, optional
        Cells (the "persona" attributes) whose answer distributions the
        replacement draws come from.
    attenuation : float in [0, 1]
        Factor multiplying every within-cell covariance between two items
        (1: no attenuation, 0: independent answers within cells).
    shrink : float in [0, 1]
        Pull of ordinal and binary answers towards the scale centre (0: none,
        1: everyone at the centre); nominal items move towards uniform.
    invalid_rate : float
        Share of unparseable answers (default 1 %).
    name : str

    Notes
    -----
    Known truth, in two steps applied to every valid answer:

    1. *Attenuation.* With probability q = 1 - sqrt(attenuation) the answer
       is replaced by an independent draw from gold's weighted distribution
       of that item in the respondent's cell. Cell marginals are unchanged in
       expectation; for two items j != k, Cov(X'_j, X'_k | cell) =
       (1 - q)^2 Cov(X_j, X_k | cell) = attenuation x Cov exactly in
       expectation, variances unchanged.
    2. *Shrink.* On the category-index scale 0..K-1 with centre
       c = (K - 1)/2, x -> c + (1 - shrink)(x - c), then stochastic rounding
       (up with probability equal to the fractional part), so
       E[x'] - c = (1 - shrink)(E[x] - c) exactly: every mean moves towards
       the centre by the factor 1 - shrink. Covariances scale by
       (1 - shrink)^2 while the rounding adds independent noise (variance at
       most 1/4), so variances shrink on long scales but not necessarily on
       short ones (a binary item simply moves towards 50/50), and
       correlations drop a little more than ``attenuation``. Nominal items
       (and the Q154/Q155 pair) are instead replaced with probability
       ``shrink`` by a uniform draw over their observed categories.

    Examples
    --------
    >>> from popaudit.datasets import wvs_like, persona_like
    >>> gold = wvs_like(n=300, seed=0)
    >>> persona_like(gold, seed=1, n=100)
    Survey('persona', 100 respondents x 27 items, weighted, demographics=['Q260', 'Q262', 'X003R', 'Q275', 'Q275R', 'Q289', 'Q290', 'B_COUNTRY_ALPHA'])
    """
    a = _check_rate("attenuation", attenuation)
    s = _check_rate("shrink", shrink)
    invalid_rate = _check_rate("invalid_rate", invalid_rate)
    cols = _as_by(by, gold.demographics)
    (rng, gcell, n_cells, _rows, idx, demo, w, cell, gidx, gw, units,
     derived) = _prepare(gold, n, seed, cols)
    q = 1.0 - np.sqrt(a)
    for u in units:
        vals = u.encode(idx)
        valid = vals >= 0
        P = _cell_dist(u.encode(gidx), gcell, n_cells, u.K, gw)
        # 1. attenuation: independent redraw from the cell distribution
        rep = valid & (rng.random(len(vals)) < q)
        if rep.any():
            vals[rep] = _inverse_cdf(P[cell[rep]], rng.random(int(rep.sum())))
        # 2. shrink towards the centre (ordinal/binary) or towards uniform (nominal)
        if s > 0:
            if u.kind == "nominal":
                support = np.flatnonzero(P.sum(axis=0) > 0)
                uni = valid & (rng.random(len(vals)) < s)
                vals[uni] = rng.choice(support, size=int(uni.sum()))
            else:
                c = (u.K - 1) / 2.0
                x = c + (1.0 - s) * (vals[valid] - c)
                lo = np.floor(x)
                vals[valid] = (lo + (rng.random(x.size) < (x - lo))).astype(np.int64)
        u.decode_into(idx, vals, valid)
    return _finish(gold, idx, demo, w, name, rng, invalid_rate, derived)


def finetuned_like(gold: Survey, n: int | None = None, *, seed=0,
                   by: str | Sequence[str] | None = None, blocks=3, flip=0,
                   jitter: float = 0.05, invalid_rate: float = 0.0,
                   name: str = "finetuned") -> Survey:
    """Fine-tuning-like answers: marginals close to gold, correlations partly wrong.

    Parameters
    ----------
    gold : Survey
    n : int, optional
    seed : int or numpy.random.Generator
    by : str or sequence of str, optional
        Cells (the subgroups the model was tuned on): donors come from the
        respondent's own cell, so cell marginals are kept.
    blocks : int or sequence of sequences of str
        The items are split into blocks (an int: that many random blocks of
        near-equal size; or explicit lists of item names covering every
        item). The first block keeps the respondent's own answers; every
        other block is copied from its own donor.
    flip : int or sequence of str
        Items (or a number of random items) whose within-cell association with
        everything else is reversed by a rank-reversing quantile map.
    jitter : float
        Probability that a valid ordinal answer moves to a neighbouring
        category (a binary answer flips).
    invalid_rate : float
    name : str

    Notes
    -----
    Known truth. For each respondent and each block after the first, a donor
    is drawn from gold respondents of the same cell with probability
    proportional to their weight, and the block's answers are copied from
    the donor. So, before jitter: every item's cell distribution equals
    gold's exactly in expectation; two items in the *same* block keep their
    full joint distribution; two items in *different* blocks are independent
    within cells, so their correlation keeps only the part carried by the cell
    means (the between-cell, ecological covariance). Flipped items: answer
    a -> F^{-1}(1 - u) with u uniform on [F(a - 1), F(a)] in the item's cell
    distribution F: the cell marginal is unchanged in expectation and every
    within-cell covariance with the item changes sign. Jitter then moves each
    valid ordinal answer one step with probability ``jitter`` (inwards at the
    ends), which changes marginals slightly and attenuates correlations
    slightly.

    Examples
    --------
    >>> from popaudit.datasets import wvs_like, finetuned_like
    >>> gold = wvs_like(n=300, seed=0)
    >>> sim = finetuned_like(gold, seed=2, blocks=[["Q164", "Q184"]] + [
    ...     [q for q in gold.item_names if q not in ("Q164", "Q184")]])
    >>> sim.name, sim.n_respondents
    ('finetuned', 300)
    """
    jitter = _check_rate("jitter", jitter)
    invalid_rate = _check_rate("invalid_rate", invalid_rate)
    cols = _as_by(by, gold.demographics)
    (rng, gcell, n_cells, rows, idx, demo, w, cell, gidx, gw, units,
     derived) = _prepare(gold, n, seed, cols)
    names = gold.item_names
    unit_of = {names[c]: k for k, u in enumerate(units) for c in u.cols}
    # block assignment of units
    if isinstance(blocks, (int, np.integer)):
        if blocks < 1:
            raise ValueError(f"blocks must be >= 1, got {blocks}")
        perm = rng.permutation(len(units))
        assign = np.empty(len(units), dtype=np.int64)
        for b, part in enumerate(np.array_split(perm, min(int(blocks), len(units)))):
            assign[part] = b
    else:
        assign = np.full(len(units), -1, dtype=np.int64)
        for b, blk in enumerate(blocks):
            for nm in blk:
                if nm not in unit_of:
                    if nm in derived:
                        continue
                    raise KeyError(f"item {nm!r} in blocks is not an item of the gold survey")
                assign[unit_of[nm]] = b
        if np.any(assign < 0):
            miss = [names[units[k].cols[0]] for k in np.flatnonzero(assign < 0)]
            raise ValueError(f"blocks do not cover item(s) {miss}; every item needs a block")
    # donors, drawn within cells proportional to weight
    order = np.argsort(gcell, kind="stable")
    cw = np.cumsum(gw[order])
    cell_tot = np.bincount(gcell, weights=gw, minlength=n_cells)
    cell_lo = np.concatenate([[0.0], np.cumsum(cell_tot)[:-1]])
    cell_first = np.concatenate([[0], np.cumsum(np.bincount(gcell, minlength=n_cells))[:-1]])
    cell_last = cell_first + np.bincount(gcell, minlength=n_cells) - 1
    for b in range(1, int(assign.max()) + 1):
        t = cell_lo[cell] + rng.random(len(rows)) * cell_tot[cell]
        pos = np.clip(np.searchsorted(cw, t, side="right"), cell_first[cell], cell_last[cell])
        donor = order[pos]
        for k in np.flatnonzero(assign == b):
            cc = list(units[k].cols)
            idx[:, cc] = gidx[np.ix_(donor, cc)]
    # flips
    if isinstance(flip, (int, np.integer)):
        flip_units = rng.choice(len(units), size=min(int(flip), len(units)), replace=False) \
            if flip else np.array([], dtype=np.int64)
    else:
        flip_units = []
        for nm in flip:
            if nm not in unit_of:
                raise KeyError(f"item {nm!r} in flip is not an item of the gold survey")
            flip_units.append(unit_of[nm])
    for k in flip_units:
        u = units[k]
        vals = u.encode(idx)
        P = _cell_dist(u.encode(gidx), gcell, n_cells, u.K, gw)
        new = _quantile_map(rng, vals, np.ones(len(vals), bool), cell, P, P, reverse=True)
        u.decode_into(idx, new, vals >= 0)
    # jitter
    if jitter > 0:
        for u in units:
            if u.kind == "nominal":
                continue
            j = u.cols[0]
            col = idx[:, j]
            move = (col >= 0) & (rng.random(len(col)) < jitter)
            step = np.where(rng.random(len(col)) < 0.5, -1, 1)
            step = np.where(col == 0, 1, np.where(col == u.K - 1, -1, step))
            idx[move, j] = col[move] + step[move]
    return _finish(gold, idx, demo, w, name, rng, invalid_rate, derived)


def _auto_axes(demo: pd.DataFrame) -> list[str]:
    axes = [c for c in demo.columns if 2 <= demo[c].nunique(dropna=True) <= 12]
    if not axes:
        raise ValueError("no demographic column with 2-12 distinct values to stereotype; pass "
                         "by=[...] explicitly")
    return axes


def stereotyped(gold: Survey, n: int | None = None, *, seed=0,
                by: str | Sequence[str] | None = None, exaggeration: float = 1.0,
                invalid_rate: float = 0.0, name: str = "stereotyped") -> Survey:
    """Stereotyped answers: each demographic group's deviation from the average exaggerated.

    Parameters
    ----------
    gold : Survey
    n : int, optional
    seed : int or numpy.random.Generator
    by : str or sequence of str, optional
        The demographic axes whose effects are exaggerated. Default: every
        demographic column with 2 to 12 distinct values.
    exaggeration : float >= 0
        gamma below; 0 reproduces gold's cell distributions (up to the
        smoothing), 1 adds each axis's effect once more on the log scale.
    invalid_rate : float
    name : str

    Notes
    -----
    Known truth. With p(k) gold's weighted distribution of an item, p_a(k)
    that of level a of an axis and p_c(k) that of the respondent's cell c
    (the crossing of the axes), each smoothed by one pseudo-respondent
    answering from p, a respondent with levels (a_1, ..., a_m) answers from

        log p'(k) = log p_c(k) + gamma sum_i [log p_{a_i}(k) - log p(k)] + const,

    so every subgroup's log-ratio to the population is pushed further in the
    direction it already leans: differences between subgroup means grow with
    gamma (axes that are associated with each other, such as religion and
    ethnic group, reinforce each other). Each answer is moved
    onto p' by a quantile map within the respondent's cell (the crossing of
    the axes), so the cell distribution equals p' exactly in expectation and
    the within-cell rank order of the answers is kept (within-cell
    association is preserved as far as the new marginals allow).

    Examples
    --------
    >>> from popaudit.datasets import wvs_like, stereotyped
    >>> gold = wvs_like(n=300, seed=0)
    >>> stereotyped(gold, by=["Q290"], seed=1).name
    'stereotyped'
    """
    if not np.isfinite(exaggeration) or exaggeration < 0:
        raise ValueError(f"exaggeration must be a finite number >= 0, got {exaggeration!r}")
    invalid_rate = _check_rate("invalid_rate", invalid_rate)
    gdemo = gold.demographics
    axes = _as_by(by, gdemo) if by is not None else _auto_axes(gdemo)
    (rng, gcell, n_cells, _rows, idx, demo, w, cell, gidx, gw, units,
     derived) = _prepare(gold, n, seed, axes)
    axis_levels = [_cells(gdemo, [a]) for a in axes]          # (ids, n_levels) per axis
    # level of each axis for each cell
    first_row = np.zeros(n_cells, dtype=np.int64)
    first_row[gcell[::-1]] = np.arange(len(gcell))[::-1]
    g = float(exaggeration)
    for u in units:
        gv = u.encode(gidx)
        p = _cell_dist(gv, np.zeros(len(gv), np.int64), 1, u.K, gw)[0]
        logp = np.log(np.where(p > 0, p, 1.0))
        ok = gv >= 0
        cc = np.bincount(gcell[ok] * u.K + gv[ok], weights=gw[ok],
                         minlength=n_cells * u.K).reshape(n_cells, u.K)
        p_cell = (cc + p[None, :]) / (cc.sum(axis=1, keepdims=True) + 1.0)
        logq = np.log(np.where(p_cell > 0, p_cell, 1.0))
        for ids, n_lev in axis_levels:
            ok = gv >= 0
            counts = np.bincount(ids[ok] * u.K + gv[ok], weights=gw[ok],
                                 minlength=n_lev * u.K).reshape(n_lev, u.K)
            pa = (counts + p[None, :]) / (counts.sum(axis=1, keepdims=True) + 1.0)
            dev = np.log(np.where(pa > 0, pa, 1.0)) - logp[None, :]
            logq += g * dev[ids[first_row]]
        logq[:, p <= 0] = -np.inf
        logq -= logq.max(axis=1, keepdims=True)
        Q = np.exp(logq)
        Q /= Q.sum(axis=1, keepdims=True)
        P = _cell_dist(gv, gcell, n_cells, u.K, gw)
        vals = u.encode(idx)
        new = _quantile_map(rng, vals, np.ones(len(vals), bool), cell, P, Q)
        u.decode_into(idx, new, vals >= 0)
    return _finish(gold, idx, demo, w, name, rng, invalid_rate, derived)


def mode_collapsed(gold: Survey, n: int | None = None, *, seed=0,
                   by: str | Sequence[str] | None = None, temperature: float = 0.3,
                   invalid_rate: float = 0.0, name: str = "mode_collapsed") -> Survey:
    """Mode-collapsed answers: each cell's answer distribution sharpened towards its mode.

    Parameters
    ----------
    gold : Survey
    n : int, optional
    seed : int or numpy.random.Generator
    by : str or sequence of str, optional
        Cells within which distributions collapse (``None``: the whole
        population collapses onto one set of modes, erasing subgroup
        differences too).
    temperature : float > 0
        T below; T < 1 concentrates (T -> 0: everyone gives the cell's modal
        answer), T = 1 keeps gold's distribution, T > 1 flattens.
    invalid_rate : float
    name : str

    Notes
    -----
    Known truth. In each cell the item's distribution p becomes
    p'(k) = p(k)^(1/T) / sum_l p(l)^(1/T) (exactly in expectation), via a
    rank-preserving quantile map of each answer. The modal answer is
    unchanged and, for T < 1 and a non-uniform p, its share strictly grows;
    entropy falls. Within-cell rank order is kept, but as answers pile onto
    the mode the variance, and with it the visible covariance, collapses.

    Examples
    --------
    >>> from popaudit.datasets import wvs_like, mode_collapsed
    >>> gold = wvs_like(n=300, seed=0)
    >>> mode_collapsed(gold, seed=1, temperature=0.2).name
    'mode_collapsed'
    """
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    invalid_rate = _check_rate("invalid_rate", invalid_rate)
    cols = _as_by(by, gold.demographics)
    (rng, gcell, n_cells, _rows, idx, demo, w, cell, gidx, gw, units,
     derived) = _prepare(gold, n, seed, cols)
    for u in units:
        P = _cell_dist(u.encode(gidx), gcell, n_cells, u.K, gw)
        with np.errstate(divide="ignore"):
            logq = np.where(P > 0, np.log(np.where(P > 0, P, 1.0)) / temperature, -np.inf)
        mx = logq.max(axis=1, keepdims=True)
        mx = np.where(np.isfinite(mx), mx, 0.0)
        Q = np.exp(logq - mx)
        tot = Q.sum(axis=1, keepdims=True)
        Q = np.divide(Q, tot, out=np.zeros_like(Q), where=tot > 0)
        vals = u.encode(idx)
        new = _quantile_map(rng, vals, np.ones(len(vals), bool), cell, P, Q)
        u.decode_into(idx, new, vals >= 0)
    return _finish(gold, idx, demo, w, name, rng, invalid_rate, derived)


def simulated_populations(gold: Survey, seed=0, *, n: int | None = None,
                          by: str | Sequence[str] | None = None) -> dict[str, Survey]:
    """One simulated population per failure mode, for demos and benchmarks.

    Returns ``{"persona": ..., "finetuned": ..., "stereotyped": ...,
    "mode_collapsed": ..., "shuffled": ...}`` with default strengths, each
    from its own independent random stream of ``seed``. ``by`` (default: those
    of :data:`DEFAULT_BY` that gold has) sets the cells of every simulator;
    ``n`` the size of all but ``shuffled`` (which always keeps gold's
    respondents). ``"stereotyped"`` is left out when gold has no demographic
    column to exaggerate.

    Examples
    --------
    >>> from popaudit.datasets import wvs_like, simulated_populations
    >>> sims = simulated_populations(wvs_like(n=300, seed=0), seed=0)
    >>> list(sims)
    ['persona', 'finetuned', 'stereotyped', 'mode_collapsed', 'shuffled']
    """
    if by is None:
        by = [c for c in DEFAULT_BY if c in gold.demographics.columns] or None
    streams = np.random.SeedSequence(seed if isinstance(seed, (int, np.integer)) else
                                     int(np.random.default_rng(seed).integers(2**63))).spawn(5)
    rngs = [np.random.default_rng(s) for s in streams]
    weights = "exact"
    if gold.weights is not None:
        _, counts = np.unique(np.asarray(gold.weights), return_counts=True)
        if np.sum(counts == 1) > 0.5 * len(gold):
            weights = "ignore"
    out = {"persona": persona_like(gold, n, seed=rngs[0], by=by),
           "finetuned": finetuned_like(gold, n, seed=rngs[1], by=by)}
    demo = gold.demographics
    if by is not None or any(2 <= demo[c].nunique(dropna=True) <= 12 for c in demo.columns):
        out["stereotyped"] = stereotyped(gold, n, seed=rngs[2], by=by)
    out["mode_collapsed"] = mode_collapsed(gold, n, seed=rngs[3])
    out["shuffled"] = shuffled(gold, by=by, seed=rngs[4], weights=weights)
    return out
