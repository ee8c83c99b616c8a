"""Modal metrics: does the simulated subgroup pick the answer the real subgroup picks most?

* :func:`modes` lists the modal answer(s) of every subgroup x item;
* :func:`compare_modes` scores a simulated population against gold: modal
  accuracy under an explicit tie policy, the distance-aware error
  ``|mode_sim - mode_gold| / (K - 1)`` and the expected ordinal distance
  ``E|X_sim - mode_gold| / (K - 1)``, aggregated over items and subgroups with
  the counts that went in (:class:`ModalResult`);
* :func:`modal_diversity` computes the Modal Diversity Score per item and
  stratum of subgroups (:class:`ModalDiversityResult`).

Ties
----
A category is a mode when its probability is within ``tie_tol`` (absolute,
default 1e-9) of the largest one, so equal weighted shares that differ only by
floating-point rounding count as ties.

For *gold* ties, ``ties=`` chooses:

* ``"any"``: a simulated mode equal to any tied gold mode scores 1; distances
  are to the nearest tied gold mode;
* ``"fractional"``: credit ``1 / (number of tied gold modes)`` when the
  simulated mode is one of them; distances are averaged over the tied gold
  modes;
* ``"strict"``: a gold tie leaves the pair *unresolved*: it gets no score and is
  counted in ``n_unresolved``.

For *simulated* ties, ``sim_ties=`` chooses:

* ``"average"``: each tied simulated mode is taken as the prediction with
  equal chance: credit and distance error are averaged over them;
* ``"first"``: the first tied mode in the item's code order (the lowest code
  of an ordinal item) is the prediction;
* ``"unresolved"``: the pair is unresolved, as for ``ties="strict"``.

Distance metrics use the items' option positions (:attr:`popaudit.Item.positions`;
default unit spacing ``0 .. K-1``, as the marginal W1), divided by the diameter
``max - min`` position, and apply to ordinal and binary items only; for nominal items the
per-pair columns hold ``<NA>`` with ``distance_applicable`` False, and the
summaries count them as ``n_not_applicable``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from popaudit._inference import renamed_arguments
from popaudit.data.distributions import (
    MIN_CELL_SIZE,
    AnswerDistributions,
    align,
    answer_distributions,
)
from popaudit.data.survey import Survey

__all__ = [
    "SIM_TIE_POLICIES",
    "TIE_POLICIES",
    "ModalDiversityResult",
    "ModalResult",
    "compare_modes",
    "modal_diversity",
    "modal_pair_scores",
    "mode_mask",
    "modes",
]

TIE_POLICIES = ("any", "fractional", "strict")
SIM_TIE_POLICIES = ("average", "first", "unresolved")


def mode_mask(probs: np.ndarray, n_categories, tie_tol: float) -> np.ndarray:
    """(..., Kmax) bool: the modes, options within ``tie_tol`` of the row maximum (inside K).

    >>> mode_mask(np.array([.4, .4, .2, 0]), 3, 1e-9).tolist()
    [True, True, False, False]
    """
    valid = np.arange(probs.shape[-1]) < np.asarray(n_categories)[..., None]
    # probabilities are 0 beyond K, so the row maximum is the maximum over the valid options
    return valid & (probs >= probs.max(axis=-1, keepdims=True) - tie_tol)


def _first_only(mask: np.ndarray) -> np.ndarray:
    out = np.zeros_like(mask)
    first = mask.argmax(axis=-1)
    np.put_along_axis(out, first[..., None], True, axis=-1)
    return out & mask.any(axis=-1, keepdims=True)


def _gold_distance(gmask: np.ndarray, n_categories, ties: str, positions=None,
                   at=None, n_modes=None) -> np.ndarray:
    """Distance of options to gold's mode(s) ``gmask`` (..., Kmax): to the nearest one
    (``ties`` "any", "strict") or the mean over them ("fractional").

    Every option, (..., Kmax) with 0 beyond ``K``; or, with ``at`` (..., 1) option indices,
    those options only, (...). ``positions`` (..., Kmax): option positions, default unit
    spacing. ``n_modes``: ``gmask.sum(-1)`` if known. A single mode needs one subtraction
    per option; only tied rows build the (Kmax, Kmax) distance matrix.
    """
    kmax = gmask.shape[-1]
    first = gmask.argmax(axis=-1)[..., None]
    if positions is None:  # unit spacing: positions are the option indices
        pos = np.broadcast_to(np.arange(kmax, dtype=float), gmask.shape)
        x_mode, x_at = first.astype(float), None if at is None else at.astype(float)
    else:
        pos = np.broadcast_to(np.asarray(positions, dtype=float), gmask.shape)
        x_mode = np.take_along_axis(pos, first, axis=-1)
        x_at = None if at is None else np.take_along_axis(pos, at, axis=-1)
    d = np.abs(pos - x_mode) if at is None else np.abs(x_at - x_mode)[..., 0]
    tied = (gmask.sum(axis=-1) if n_modes is None else n_modes) > 1
    if tied.any():
        m, x = gmask[tied], pos[tied]
        D = np.abs(x[:, :, None] - x[:, None, :])  # D[row, k, l] = |x_k - x_l|
        if ties == "fractional":
            rows = (m[:, None, :] * D).sum(axis=-1) / m.sum(axis=-1)[:, None]
        else:
            rows = np.where(m[:, None, :], D, np.inf).min(axis=-1)
        d[tied] = rows if at is None else np.take_along_axis(rows, at[tied], axis=-1)[:, 0]
    if at is not None:
        return d
    return np.where(np.arange(kmax) < np.asarray(n_categories)[..., None], d, 0.0)


def modal_pair_scores(p, q, n_categories, *, ties: str = "any", sim_ties: str = "average",
                      tie_tol: float = 1e-9, positions=None,
                      metrics=("credit", "distance_error", "expected_distance"),
                      gold_modes=None, sim_modes=None) -> dict:
    """Modal metrics of gold / simulated distribution pairs, vectorised over leading axes.

    The one implementation of modal accuracy and the distance-aware errors: used by
    :func:`compare_modes` on the compared pairs and by the subgroup disparity bootstrap on
    whole batches of resampled distributions.

    Parameters
    ----------
    p, q : ndarray, shape (..., Kmax)
        Gold and simulated probabilities (zero beyond each item's ``K``); broadcast
        against each other.
    n_categories : int or ndarray
        ``K`` of each pair, broadcast against the leading axes.
    ties, sim_ties, tie_tol
        As in :func:`compare_modes`.
    positions : ndarray, shape (..., Kmax), optional
        Option positions (:meth:`popaudit.AnswerDistributions.position_matrix`); default unit
        spacing.
    metrics : sequence of str
        The metrics to compute, of ``credit``, ``distance_error``, ``expected_distance``.
    gold_modes, sim_modes : ndarray of bool, shape (..., Kmax), optional
        The mode masks of ``p`` / ``q`` (:func:`mode_mask`) when the caller already has them
        (a bootstrap batch scoring several populations against the same gold draws).

    Returns
    -------
    dict of ndarray
        ``gold_modes``, ``sim_modes`` (bool masks, (..., Kmax)), ``n_gold_modes``,
        ``n_sim_modes``, ``unresolved_gold``, ``unresolved_sim`` and the metrics asked for
        (float; the distance metrics are computed for every pair, the caller keeps the
        ordinal ones).

    Examples
    --------
    >>> s = modal_pair_scores(np.array([.4, .4, .2]), np.array([0, .5, .5]), 3,
    ...                       ties="fractional")
    >>> float(s["credit"]), float(s["distance_error"]), float(s["expected_distance"])
    (0.25, 0.5, 0.5)
    """
    K = np.asarray(n_categories)
    gmask = mode_mask(p, K, tie_tol) if gold_modes is None else gold_modes
    smask = mode_mask(q, K, tie_tol) if sim_modes is None else sim_modes
    n_g = gmask.sum(axis=-1)
    n_s = smask.sum(axis=-1)
    shape = np.broadcast_shapes(n_g.shape, n_s.shape)
    out = {"gold_modes": gmask, "sim_modes": smask, "n_gold_modes": n_g, "n_sim_modes": n_s,
           "unresolved_gold": np.broadcast_to(n_g > 1 if ties == "strict" else False, shape),
           "unresolved_sim": np.broadcast_to(n_s > 1 if sim_ties == "unresolved" else False,
                                             shape)}
    pick = None
    if sim_ties == "first" or not (n_s > 1).any():
        # one predicted option per pair (the first simulated mode): read values there
        pick = np.broadcast_to(smask.argmax(axis=-1), shape)[..., None]

        def at(a):
            a = np.broadcast_to(a, shape + a.shape[-1:])
            return np.take_along_axis(a, pick, axis=-1)[..., 0].astype(float)
    else:
        # every tied simulated mode is a prediction: sum over them, then divide once
        # (summing 1/n_s n_s times need not give exactly 1)
        sw, n_sw = smask.astype(float), np.maximum(n_s, 1).astype(float)

        def at(a):
            return (sw * a).sum(axis=-1) / n_sw
    if "credit" in metrics:
        hit = at(gmask)
        out["credit"] = hit / n_g if ties == "fractional" else hit
    if {"distance_error", "expected_distance"} & set(metrics):
        if positions is None:
            denom = np.maximum(K - 1, 1).astype(float)
        else:
            pos = np.asarray(positions, dtype=float)
            denom = pos.max(axis=-1) - pos.min(axis=-1)
        if "expected_distance" not in metrics and pick is not None:
            # the distance at the predicted option only (the same numbers, no (..., Kmax) rows)
            gm = np.broadcast_to(gmask, shape + gmask.shape[-1:])
            out["distance_error"] = _gold_distance(gm, K, ties, positions, at=pick,
                                                   n_modes=np.broadcast_to(n_g, shape)) / denom
        else:
            dG = _gold_distance(gmask, K, ties, positions, n_modes=n_g)
            if "distance_error" in metrics:
                out["distance_error"] = at(dG) / denom
            out["expected_distance"] = (q * dG).sum(axis=-1) / denom
    return out


def _code_tuples(mask: np.ndarray, codes: np.ndarray) -> list[tuple[int, ...]]:
    """The codes where ``mask`` is True, one tuple per row (in code order)."""
    m = mask.shape[0]
    counts = mask.sum(axis=-1)
    first = codes[np.arange(m), mask.argmax(axis=-1)].astype(np.int64).tolist()
    out: list[tuple[int, ...]] = [(c,) for c in first]
    for r in np.flatnonzero(counts != 1).tolist():
        out[r] = tuple(codes[r][mask[r]].astype(np.int64).tolist())
    return out


def _check_tol(tie_tol: float) -> float:
    tol = float(tie_tol)
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tie_tol must be a finite number >= 0, got {tie_tol!r}")
    return tol


def modes(dist, by: str | Sequence[str] | None = None, *, tie_tol: float = 1e-9
          ) -> pd.DataFrame:
    """Modal answer(s) of every subgroup x item.

    Parameters
    ----------
    dist : AnswerDistributions or Survey
        Distributions, or a survey (split by ``by``).
    by : str or list of str, optional
        Demographic columns, for a survey input.
    tie_tol : float
        Categories within ``tie_tol`` of the largest probability are tied modes.

    Returns
    -------
    DataFrame
        One row per subgroup x item with a distribution: ``subgroup``,
        ``item``, ``kind``, ``modes`` (tuple of codes in code order),
        ``n_modes`` and ``mode_probability``.

    Examples
    --------
    >>> import pandas as pd
    >>> import popaudit as pa
    >>> s = pa.Survey(pd.DataFrame({"Q1": [1, 1, 3, 3, 2]}),
    ...               items=[pa.Item("Q1", codes=(1, 2, 3))])
    >>> pa.modes(s)[["item", "modes", "n_modes"]].to_dict("records")
    [{'item': 'Q1', 'modes': (1, 3), 'n_modes': 2}]
    """
    if isinstance(dist, Survey):
        dist = answer_distributions(dist, by=by)
    elif not isinstance(dist, AnswerDistributions):
        raise TypeError(f"modes expects AnswerDistributions or a Survey, got "
                        f"{type(dist).__name__}")
    elif by is not None:
        raise ValueError("by= applies to a Survey input; these distributions are already split")
    tol = _check_tol(tie_tol)
    gg, jj = np.nonzero(dist.has_data)
    p = dist.probs[gg, jj]
    K = dist.n_categories[jj]
    mask = mode_mask(p, K, tol)
    codes = dist.code_matrix()[jj]
    return pd.DataFrame({
        "subgroup": np.asarray(dist.labels, dtype=object)[gg],
        "item": np.asarray(dist.item_names, dtype=object)[jj],
        "kind": np.array([it.kind for it in dist.items], dtype=object)[jj].astype(str),
        "modes": _code_tuples(mask, codes),
        "n_modes": mask.sum(axis=-1),
        "mode_probability": p.max(axis=-1) if len(gg) else np.zeros(0),
    })


# ---------------------------------------------------------------------------
# compare_modes
# ---------------------------------------------------------------------------

_MODAL_METRICS = ("accuracy", "distance_error", "expected_distance")
_METRIC_COLUMN = {"accuracy": "credit", "distance_error": "distance_error",
                  "expected_distance": "expected_distance"}


@dataclass(frozen=True, eq=False)
class ModalResult:
    """Modal comparison of a simulated population with gold.

    Attributes
    ----------
    per_pair : DataFrame
        One row per subgroup x item compared: ``subgroup``, ``item``,
        ``kind``, ``n_categories``, ``gold_modes`` and ``sim_modes`` (tuples
        of codes), ``n_gold_modes``, ``n_sim_modes``, ``unresolved`` (bool),
        ``unresolved_reason`` (``""``, ``"gold tie"``, ``"simulated tie"`` or
        ``"gold and simulated tie"``), ``n_gold`` and ``n_sim`` (valid answers
        behind each distribution; ``<NA>`` only where unknown, e.g. model
        probabilities without counts), ``credit`` (modal accuracy credit in
        [0, 1]), ``distance_applicable`` (False for nominal items),
        ``distance_error`` and ``expected_distance`` (both in [0, 1]).
        ``<NA>`` appears only where the pair is unresolved or the distance
        metric does not apply.
    summary : DataFrame
        One row per metric (``accuracy``, ``distance_error``,
        ``expected_distance``): ``mean``, ``sd`` and the counts ``n_pairs``
        (all compared), ``n_used``, ``n_unresolved``, ``n_not_applicable``,
        ``n_items``, ``n_subgroups``.
    per_subgroup, per_item : DataFrame
        The same aggregates per subgroup (over its items) and per item (over
        subgroups).
    ties, sim_ties : str
        The tie policies used.
    tie_tol : float
    n_pairs, n_unresolved, n_unresolved_gold, n_unresolved_sim : int
        Pairs compared; unresolved (any reason; by a gold tie; by a simulated tie).
    n_empty_gold, n_empty_sim : int
        Pairs skipped: gold has no distribution; gold has one but the
        simulated population does not.
    by, population, reference, only_gold, only_sim, excluded, min_size
        As in :class:`~popaudit.metrics.marginal.MarginalResult`.
    settings : dict
        The options used: ``by``, ``ties``, ``sim_ties``, ``tie_tol``, ``unmatched``,
        ``min_size``.
    notes : tuple of str
        Subgroups left out (too small, or in one population only).
    """

    per_pair: pd.DataFrame
    summary: pd.DataFrame
    per_subgroup: pd.DataFrame
    per_item: pd.DataFrame
    ties: str
    sim_ties: str
    tie_tol: float
    n_pairs: int
    n_unresolved: int
    n_unresolved_gold: int
    n_unresolved_sim: int
    n_empty_gold: int
    n_empty_sim: int
    by: tuple[str, ...] = ()
    population: str = "simulated"
    reference: str = "gold"
    only_gold: tuple[str, ...] = ()
    only_sim: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    min_size: int | None = None
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def _mean(self, metric: str) -> float:
        row = self.summary[self.summary["metric"] == metric]
        return float(row["mean"].iloc[0]) if len(row) else float("nan")

    @property
    def accuracy(self) -> float:
        """Mean modal-accuracy credit over resolved pairs."""
        return self._mean("accuracy")

    @property
    def distance_error(self) -> float:
        """Mean distance-aware error over resolved ordinal/binary pairs."""
        return self._mean("distance_error")

    @property
    def expected_distance(self) -> float:
        """Mean expected ordinal distance over resolved ordinal/binary pairs."""
        return self._mean("expected_distance")

    def to_frame(self) -> pd.DataFrame:
        """Tidy long table: ``population``, ``subgroup``, ``item``, ``kind``,
        ``metric`` (``accuracy``, ``distance_error``, ``expected_distance``),
        ``value`` and ``n`` (gold's valid answers behind the mode); unresolved
        and not-applicable pairs have no row."""
        parts = []
        for m in _MODAL_METRICS:
            col = self.per_pair[_METRIC_COLUMN[m]]
            sel = col.notna().to_numpy()
            sub = self.per_pair.loc[sel, ["subgroup", "item", "kind"]]
            parts.append(sub.assign(metric=m, value=col[sel].to_numpy(dtype=float),
                                    n=self.per_pair["n_gold"].array[sel]))
        out = pd.concat(parts, ignore_index=True)
        out.insert(0, "population", self.population)
        return out

    def __repr__(self) -> str:
        s = self.summary.set_index("metric")

        def fmt(m):
            if m not in s.index or s.loc[m, "n_used"] == 0:
                return "-"
            return f"{s.loc[m, 'mean']:.3f} (n={int(s.loc[m, 'n_used'])})"

        return "\n".join([
            (f"ModalResult({self.population!r} vs {self.reference!r}, "
            f"by={list(self.by) or 'overall'}, ties={self.ties!r}, sim_ties={self.sim_ties!r})"),
            (f"  pairs compared: {self.n_pairs}; unresolved: {self.n_unresolved} "
            f"(gold ties {self.n_unresolved_gold}, simulated ties {self.n_unresolved_sim})"),
            (f"  accuracy {fmt('accuracy')}, distance error {fmt('distance_error')}, "
            f"expected distance {fmt('expected_distance')}"),
        ])


def _aggregate(metrics: dict, group: np.ndarray, labels, key: str | None,
               gg: np.ndarray, jj: np.ndarray) -> pd.DataFrame:
    """Means and counts of each metric per group (one group when ``key`` is None).

    ``metrics`` maps a metric name to ``(values, used, unresolved, not_applicable)``
    arrays over pairs; ``group`` gives each pair's group index into ``labels``.
    """
    n = len(labels)
    frames = []
    for m, (v, used, unres, na) in metrics.items():
        cnt = np.bincount(group, minlength=n)
        n_used = np.bincount(group[used], minlength=n)
        tot = np.bincount(group[used], weights=v[used], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = tot / n_used  # NaN exactly where n_used == 0
            dev = v[used] - mean[group[used]]
            ss = np.bincount(group[used], weights=dev ** 2, minlength=n)
            sd = np.where(n_used > 1, np.sqrt(ss / (n_used - 1)), np.nan)
        f = pd.DataFrame({"metric": m, "mean": mean, "sd": sd, "n_pairs": cnt,
                          "n_used": n_used,
                          "n_unresolved": np.bincount(group[unres], minlength=n),
                          "n_not_applicable": np.bincount(group[na], minlength=n)})
        if key is None:
            f["n_items"] = np.unique(jj[used]).size
            f["n_subgroups"] = np.unique(gg[used]).size
        else:
            f.insert(0, key, labels)
            f = f[cnt > 0]
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


@renamed_arguments(sim="simulated")
def compare_modes(gold, simulated, by: str | Sequence[str] | None = None, *, ties: str = "any",
                  sim_ties: str = "average", tie_tol: float = 1e-9,
                  unmatched: str = "raise", min_size: int | None = MIN_CELL_SIZE
                  ) -> ModalResult:
    """Modal accuracy and distance-aware errors of a simulated population against gold.

    Parameters
    ----------
    gold, simulated : Survey or AnswerDistributions
        As in :func:`~popaudit.compare_marginals` (``sim`` before 0.2, deprecated).
    by : str or list of str, optional
        Demographic columns defining subgroups for survey inputs.
    ties : {"any", "fractional", "strict"}
        Policy for tied gold modes (see the module docstring).
    sim_ties : {"average", "first", "unresolved"}
        Policy for tied simulated modes.
    tie_tol : float
        Absolute tolerance under which two probabilities are tied.
    unmatched : {"raise", "drop"}
        Subgroups present in one population only.
    min_size : int or None
        Minimum cell size when ``by`` splits surveys into subgroups: a subgroup
        with fewer respondents in gold or in the simulated population is not
        scored (a mode of one respondent is noise) and is listed in a
        ``UserWarning`` and in ``excluded``. Default 30, the constant of
        :func:`~popaudit.define_subgroups`; None scores every subgroup.

    Returns
    -------
    ModalResult

    Notes
    -----
    For a pair with gold modes ``M`` (option positions ``x``; unit spacing unless
    the item declares positions), simulated mode
    weights ``s_k`` (``1/|S|`` on each tied simulated mode for ``"average"``,
    one-hot for ``"first"``) and simulated distribution ``q``, define the
    distance from position ``k`` to gold as ``d(k) = min_{m in M} |k - m|``
    (``"any"``, ``"strict"``) or ``mean_{m in M} |k - m|`` (``"fractional"``), in
    position units, and ``diam = max - min`` position (``K - 1`` for unit spacing).
    Then

    * credit ``= sum_k s_k 1{k in M}`` (``"any"``, ``"strict"``) or
      ``sum_k s_k 1{k in M} / |M|`` (``"fractional"``);
    * distance error ``= sum_k s_k d(k) / diam``;
    * expected distance ``= sum_k q_k d(k) / diam``.

    Modal accuracy and the distance error follow the subgroup modal-accuracy
    and NMAE measures of the Singapore WVS study (methods.md, study A), whose
    tie rules were not published; here they are explicit. Aggregates are
    unweighted means over resolved pairs (distance metrics: over resolved
    ordinal and binary pairs).

    Examples
    --------
    >>> import pandas as pd
    >>> import popaudit as pa
    >>> items = [pa.Item("Q1", codes=(1, 2, 3, 4, 5))]
    >>> gold = pa.Survey(pd.DataFrame({"Q1": [1, 1, 2, 2, 5]}), items=items)  # modes 1 and 2
    >>> sim = pa.Survey(pd.DataFrame({"Q1": [2, 2, 2, 3]}), items=items)      # mode 2
    >>> [pa.compare_modes(gold, sim, ties=t).accuracy for t in ("any", "fractional")]
    [1.0, 0.5]
    >>> pa.compare_modes(gold, sim, ties="strict").n_unresolved
    1
    """
    if ties not in TIE_POLICIES:
        raise ValueError(f"ties must be one of {TIE_POLICIES}, got {ties!r}")
    if sim_ties not in SIM_TIE_POLICIES:
        raise ValueError(f"sim_ties must be one of {SIM_TIE_POLICIES}, got {sim_ties!r}")
    tol = _check_tol(tie_tol)
    al = align(gold, simulated, by, unmatched=unmatched, min_size=min_size)
    gd, sd = al.gold, al.sim
    both = gd.has_data & sd.has_data
    gg, jj = np.nonzero(both)
    p, q = gd.probs[gg, jj], sd.probs[gg, jj]
    K = gd.n_categories[jj]
    codes = gd.code_matrix()[jj]
    kinds = np.array([it.kind for it in gd.items], dtype=object)[jj].astype(str)
    ordered = kinds != "nominal"

    sc = modal_pair_scores(p, q, K, ties=ties, sim_ties=sim_ties, tie_tol=tol,
                           positions=gd.position_matrix()[jj] if gd.has_positions else None)
    gmask, smask = sc["gold_modes"], sc["sim_modes"]
    n_g, n_s = sc["n_gold_modes"], sc["n_sim_modes"]
    unres_gold, unres_sim = sc["unresolved_gold"], sc["unresolved_sim"]
    unresolved = unres_gold | unres_sim
    credit, dist_err, exp_dist = sc["credit"], sc["distance_error"], sc["expected_distance"]

    reason = np.full(len(gg), "", dtype=object)
    reason[unres_gold] = "gold tie"
    reason[unres_sim] = "simulated tie"
    reason[unres_gold & unres_sim] = "gold and simulated tie"

    def na_col(values, na):
        col = pd.array(values, dtype="Float64")
        col[na] = pd.NA
        return col

    per = pd.DataFrame({
        "subgroup": np.asarray(gd.labels, dtype=object)[gg],
        "item": np.asarray(gd.item_names, dtype=object)[jj],
        "kind": kinds, "n_categories": K,
        "gold_modes": _code_tuples(gmask, codes), "sim_modes": _code_tuples(smask, codes),
        "n_gold_modes": n_g, "n_sim_modes": n_s,
        "unresolved": unresolved, "unresolved_reason": reason,
        "n_gold": pd.array(gd.n[gg, jj] if gd.n is not None else [pd.NA] * len(gg),
                           dtype="Int64"),
        "n_sim": pd.array(sd.n[gg, jj] if sd.n is not None else [pd.NA] * len(gg),
                          dtype="Int64"),
        "credit": na_col(credit, unresolved),
        "distance_applicable": ordered,
        "distance_error": na_col(dist_err, unresolved | ~ordered),
        "expected_distance": na_col(exp_dist, unresolved | ~ordered),
    })
    zeros = np.zeros(len(gg), bool)
    metrics = {
        "accuracy": (credit, ~unresolved, unresolved, zeros),
        "distance_error": (dist_err, ~unresolved & ordered, unresolved & ordered, ~ordered),
        "expected_distance": (exp_dist, ~unresolved & ordered, unresolved & ordered, ~ordered),
    }
    return ModalResult(
        per_pair=per, summary=_aggregate(metrics, np.zeros(len(gg), np.int64), [None], None,
                                         gg, jj),
        per_subgroup=_aggregate(metrics, gg, list(gd.labels), "subgroup", gg, jj),
        per_item=_aggregate(metrics, jj, list(gd.item_names), "item", gg, jj),
        ties=ties, sim_ties=sim_ties, tie_tol=tol,
        n_pairs=len(gg), n_unresolved=int(unresolved.sum()),
        n_unresolved_gold=int(unres_gold.sum()), n_unresolved_sim=int(unres_sim.sum()),
        n_empty_gold=int((~gd.has_data).sum()), n_empty_sim=int((gd.has_data & ~sd.has_data
                                                                  ).sum()),
        by=gd.by, population=sd.name or "simulated", reference=gd.name or "gold",
        only_gold=al.only_gold, only_sim=al.only_sim, excluded=al.excluded,
        min_size=min_size,
        settings={"by": gd.by, "ties": ties, "sim_ties": sim_ties, "tie_tol": tol,
                  "unmatched": unmatched, "min_size": min_size},
        notes=al.notes)


# ---------------------------------------------------------------------------
# Modal Diversity Score
# ---------------------------------------------------------------------------

MDS_TIE_POLICIES = ("fractional", "first", "exclude")


@dataclass(frozen=True, eq=False)
class ModalDiversityResult:
    """Modal Diversity Score per item and stratum.

    Attributes
    ----------
    per_item : DataFrame
        One row per stratum x item: ``stratum``, ``item``, ``mds``,
        ``entropy_bits`` (``-sum p log2 p``), ``n_subgroups`` (``|S|``, subgroups
        with a distribution for the item, after ``ties="exclude"``),
        ``n_options`` (``|C| = K``), ``n_distinct_modes`` and
        ``n_tied_subgroups`` (subgroups with tied modes).
    summary : DataFrame
        Per stratum: ``mean`` MDS over items, ``n_items``, ``n_items_skipped``
        (items with fewer than two subgroups, where MDS is undefined) and
        ``n_subgroups``.
    ties : str
    tie_tol : float
    settings : dict
        The options used: ``ties``, ``tie_tol``.
    notes : tuple of str
        How many stratum x item rows were left out (fewer than two subgroups).
    """

    per_item: pd.DataFrame
    summary: pd.DataFrame
    ties: str
    tie_tol: float
    _skipped: pd.DataFrame = field(default=None, repr=False)
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def skipped(self) -> pd.DataFrame:
        """Stratum x item rows left out (fewer than two subgroups with a mode)."""
        return self._skipped.copy()

    def to_frame(self) -> pd.DataFrame:
        """Tidy long table: ``stratum``, ``item``, ``metric`` (``"mds"``), ``value``,
        ``n_subgroups``."""
        return pd.DataFrame({"stratum": self.per_item["stratum"], "item": self.per_item["item"],
                             "metric": "mds", "value": self.per_item["mds"],
                             "n_subgroups": self.per_item["n_subgroups"]})

    def __repr__(self) -> str:
        parts = [f"{r.stratum}: {r.mean:.3f} ({r.n_items} items)"
                 for r in self.summary.itertuples()]
        return (f"ModalDiversityResult(ties={self.ties!r}; mean MDS per stratum: "
                + "; ".join(parts) + ")")


def _resolve_strata(dist, strata) -> list[tuple[str, AnswerDistributions]]:
    if isinstance(dist, Survey):
        if strata is None:
            raise ValueError("modal_diversity on a Survey needs strata=: demographic column(s), "
                             "e.g. strata=['age_group'] or [['sex'], ['sex', 'age_group']]")
        specs = [strata] if isinstance(strata, str) else list(strata)
        out = []
        for spec in specs:
            spec = [spec] if isinstance(spec, str) else list(spec)
            out.append((" x ".join(spec), answer_distributions(dist, by=spec)))
        return out
    if not isinstance(dist, AnswerDistributions):
        raise TypeError(f"modal_diversity expects AnswerDistributions or a Survey, got "
                        f"{type(dist).__name__}")
    if strata is None:
        return [("all", dist)]
    if not isinstance(strata, Mapping):
        raise TypeError("for AnswerDistributions, strata must be None or a mapping "
                        "{stratum name: [subgroup labels]}")
    return [(str(name), dist.select(subgroups=list(labels))) for name, labels in strata.items()]


def modal_diversity(dist, strata=None, *, ties: str = "fractional", tie_tol: float = 1e-9
                    ) -> ModalDiversityResult:
    """Modal Diversity Score (MDS) per item and stratum of subgroups.

    Parameters
    ----------
    dist : AnswerDistributions or Survey
        Subgroup distributions (gold or simulated).
    strata :
        For a Survey: a demographic column, or a list whose entries are
        columns or lists of columns; each entry is one stratum (its subgroups
        are the observed combinations), e.g. ``["sex", "age", ["sex", "age"]]``.
        For AnswerDistributions: None (all subgroups form one stratum
        ``"all"``) or a mapping ``{stratum name: [subgroup labels]}``.
    ties : {"fractional", "first", "exclude"}
        A subgroup with tied modes counts ``1/t`` towards each of its ``t``
        modes, or only its first mode in code order, or is left out of the
        stratum for that item.
    tie_tol : float
        Absolute tolerance for tied modes.

    Returns
    -------
    ModalDiversityResult

    Notes
    -----
    ``MDS = -sum_m p(m) log2 p(m) / log2(min(|S|, |C|))`` with ``p(m)`` the
    share of the stratum's subgroups whose mode is ``m``, ``|S|`` the number of
    subgroups and ``|C|`` the number of options (methods.md, study A). 0 means
    every subgroup has the same mode, 1 maximal divergence. With
    ``ties="fractional"`` a stratum whose tied subgroups spread over more than
    ``|S|`` options can exceed 1 (bounded by ``log2 |C| / log2 |S|``); use
    ``"first"`` or ``"exclude"`` for a score bounded by 1. Items with fewer
    than two subgroups in a stratum have no MDS (``log2 1 = 0``); they are
    listed in ``skipped`` and counted in the summary.

    Examples
    --------
    >>> import pandas as pd
    >>> import popaudit as pa
    >>> tab = pd.DataFrame({"subgroup": ["a", "b", "c", "d"], "item": "Q1",
    ...                     "answer": [1, 1, 2, 3]})
    >>> d = pa.AnswerDistributions.from_predictions(tab, [pa.Item("Q1", codes=(1, 2, 3))])
    >>> res = pa.modal_diversity(d)
    >>> round(float(res.per_item["mds"].iloc[0]), 4)   # H = 1.5 bits / log2(3)
    0.9464
    """
    if ties not in MDS_TIE_POLICIES:
        raise ValueError(f"ties must be one of {MDS_TIE_POLICIES}, got {ties!r}")
    tol = _check_tol(tie_tol)
    rows, skipped, summ = [], [], []
    for name, d in _resolve_strata(dist, strata):
        K = d.n_categories
        mask = mode_mask(d.probs, K[None, :], tol) & d.has_data[:, :, None]
        n_modes = mask.sum(axis=-1)
        tied = n_modes > 1
        if ties == "fractional":
            contrib = mask / np.maximum(n_modes, 1)[:, :, None]
            used = d.has_data
        elif ties == "first":
            contrib = _first_only(mask).astype(float)
            used = d.has_data
        else:
            used = d.has_data & ~tied
            contrib = (mask & used[:, :, None]).astype(float)
        n_sub = used.sum(axis=0)  # (P,)
        share = contrib.sum(axis=0) / np.maximum(n_sub, 1)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            plogp = np.where(share > 0, share * np.log2(np.where(share > 0, share, 1)), 0.0)
            ent = 0.0 - plogp.sum(axis=-1)  # 0.0 - 0.0 is +0.0 (no "-0.0" for consensus)
            mds = ent / np.log2(np.minimum(n_sub, K))
        ok = n_sub >= 2
        frame = pd.DataFrame({
            "stratum": name, "item": list(d.item_names), "mds": mds, "entropy_bits": ent,
            "n_subgroups": n_sub, "n_options": K,
            "n_distinct_modes": (share > 0).sum(axis=-1),
            "n_tied_subgroups": (tied & d.has_data).sum(axis=0),
        })
        rows.append(frame[ok])
        skipped.append(frame.loc[~ok, ["stratum", "item", "n_subgroups"]])
        summ.append({"stratum": name, "mean": float(np.mean(mds[ok])) if ok.any() else np.nan,
                     "n_items": int(ok.sum()), "n_items_skipped": int((~ok).sum()),
                     "n_subgroups": d.n_subgroups})
    per = pd.concat(rows, ignore_index=True)
    skipped = pd.concat(skipped, ignore_index=True)
    return ModalDiversityResult(
        per_item=per, summary=pd.DataFrame(summ), ties=ties, tie_tol=tol, _skipped=skipped,
        settings={"ties": ties, "tie_tol": tol},
        notes=((f"{len(skipped)} stratum x item row(s) left out: fewer than two subgroups "
                "with a mode (see .skipped)"),) if len(skipped) else ())
