"""Subgroups of a gold population, and per-subgroup fidelity of a simulated one.

* :func:`define_subgroups` builds the subgroups of one demographic column or of
  the crossing of several (each such set of columns is a *stratum*), with
  weighted gold answer distributions per subgroup and item, a minimum cell
  size (small cells excluded with a warning that lists them) and an
  in-distribution / out-of-distribution label per subgroup
  (:meth:`Subgroups.with_split`, :meth:`Subgroups.compositional_split`);
  :func:`study_a_subgroups` makes study A's design in one call.
* :func:`prediction_distributions` turns a model's subgroup-level output (a
  long table subgroup, item, option, probability; or one predicted answer per
  subgroup and item) into distributions checked against the subgroups.
* :func:`subgroup_fidelity` scores a simulated population (respondent-level
  survey or subgroup-level predictions) against gold for every subgroup and
  item: modal accuracy, NMAE, expected ordinal distance and marginal
  distances, per subgroup, per split and overall, and the Modal Diversity
  Score per stratum (:class:`SubgroupFidelity`).

Subgroup labels follow :func:`popaudit.data.distributions.subgroup_label`:
``"sex=female"`` for a single-axis subgroup and
``"sex=female & age_group=25-34"`` for a crossing, the columns in the order the
stratum lists them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from popaudit._inference import renamed_arguments
from popaudit._inference import warn as _warn
from popaudit.data.distributions import (
    MIN_CELL_SIZE,
    AnswerDistributions,
    answer_distributions,
    subgroup_label,
    warn_small_cells,
)
from popaudit.data.survey import Survey
from popaudit.metrics.marginal import compare_marginals
from popaudit.metrics.modal import compare_modes, modal_diversity

__all__ = [
    "FIDELITY_METRICS",
    "HIGHER_IS_BETTER",
    "SPLITS",
    "SubgroupFidelity",
    "Subgroups",
    "crossed_strata",
    "define_subgroups",
    "prediction_distributions",
    "study_a_subgroups",
    "subgroup_fidelity",
]

#: Split labels of a subgroup.
SPLITS: tuple[str, ...] = ("in_distribution", "out_of_distribution", "unassigned")
IN, OUT, UNASSIGNED = SPLITS

#: Metrics :func:`subgroup_fidelity` reports per subgroup x item.
FIDELITY_METRICS: tuple[str, ...] = ("accuracy", "nmae", "expected_distance", "w1_norm",
                                     "representativeness", "js_distance", "total_variation")
#: Direction of each metric (True: higher is better).
HIGHER_IS_BETTER: dict[str, bool] = {
    "accuracy": True, "nmae": False, "expected_distance": False, "w1_norm": False,
    "representativeness": True, "js_distance": False, "total_variation": False}
_ORDINAL_ONLY = frozenset({"nmae", "expected_distance", "w1_norm", "representativeness"})


def _stratum_name(cols: Sequence[str]) -> str:
    return " x ".join(cols)


def _as_strata(strata) -> tuple[tuple[str, ...], ...]:
    if isinstance(strata, str):
        strata = [strata]
    out = []
    seen: dict[frozenset, tuple] = {}
    for s in strata:
        cols = (s,) if isinstance(s, str) else tuple(str(c) for c in s)
        if not cols:
            raise ValueError("a stratum needs at least one column")
        if len(set(cols)) != len(cols):
            raise ValueError(f"stratum {cols} repeats a column")
        key = frozenset(cols)
        if key in seen:
            raise ValueError(f"strata {seen[key]} and {cols} are the same crossing; give it once")
        seen[key] = cols
        out.append(cols)
    if not out:
        raise ValueError("give at least one stratum (a demographic column or a tuple of columns)")
    return tuple(out)


def crossed_strata(axes: Sequence[str], max_order: int = 2) -> list[tuple[str, ...]]:
    """Every single axis and every crossing of up to ``max_order`` axes.

    Examples
    --------
    >>> crossed_strata(["sex", "age_group", "religion"])  # doctest: +NORMALIZE_WHITESPACE
    [('sex',), ('age_group',), ('religion',), ('sex', 'age_group'), ('sex', 'religion'),
     ('age_group', 'religion')]
    """
    axes = [axes] if isinstance(axes, str) else list(axes)
    if max_order < 1:
        raise ValueError(f"max_order must be at least 1, got {max_order}")
    out: list[tuple[str, ...]] = []
    for k in range(1, min(max_order, len(axes)) + 1):
        out += [tuple(c) for c in itertools.combinations(axes, k)]
    return out


def _group_ids(demo: pd.DataFrame, cols: Sequence[str]) -> tuple[np.ndarray, list[tuple]]:
    """Group id per row (-1 where a column is missing) and the sorted keys."""
    grouped = demo.groupby(list(cols), sort=True, dropna=True, observed=True)
    gid = grouped.ngroup().fillna(-1).to_numpy().astype(np.int64)
    keys = []
    for key in grouped.size().index:
        key = key if isinstance(key, tuple) else (key,)
        keys.append(tuple(k.item() if isinstance(k, np.generic) else k for k in key))
    return gid, keys


def _membership(demo: pd.DataFrame, strata, labels: Sequence[str]) -> np.ndarray:
    """(n, G) bool: respondent i belongs to subgroup labels[g]."""
    pos = {lab: g for g, lab in enumerate(labels)}
    M = np.zeros((len(demo), len(labels)), dtype=bool)
    for cols in strata:
        missing = [c for c in cols if c not in demo.columns]
        if missing:
            raise KeyError(f"demographic column(s) {missing} not in the survey; demographics are "
                           f"{list(demo.columns)}")
        gid, keys = _group_ids(demo, cols)
        col_of_key = np.array([pos.get(subgroup_label(cols, k), -1) for k in keys] + [-1])
        target = col_of_key[np.where(gid >= 0, gid, len(keys))]
        rows = np.flatnonzero(target >= 0)
        M[rows, target[rows]] = True
    return M


def _concat(parts: list[AnswerDistributions], name) -> AnswerDistributions:
    items = parts[0].items
    kmax = max(p.kmax for p in parts)

    def pad(a):
        return np.pad(a, ((0, 0), (0, 0), (0, kmax - a.shape[2])))

    return AnswerDistributions(
        items=items, by=(), keys=tuple(() for p in parts for _ in p.labels),
        labels=tuple(lab for p in parts for lab in p.labels),
        probs=np.concatenate([pad(p.probs) for p in parts]),
        has_data=np.concatenate([p.has_data for p in parts]),
        n=np.concatenate([p.n for p in parts]),
        weighted_n=np.concatenate([p.weighted_n for p in parts]),
        n_invalid=np.concatenate([p.n_invalid for p in parts]),
        group_size=np.concatenate([p.group_size for p in parts]),
        source="survey", name=name)


@dataclass(frozen=True, eq=False)
class Subgroups:
    """Subgroups of a gold survey with their weighted answer distributions.

    Attributes
    ----------
    table : DataFrame
        One row per candidate subgroup (kept or excluded): ``subgroup``
        (label), ``stratum`` (e.g. ``"sex x age_group"``), ``order`` (number
        of crossed columns), one column per axis (``None`` when the subgroup
        does not restrict that axis), ``n_respondents`` (unweighted),
        ``weighted_n``, ``kept`` (``n_respondents >= min_size``) and
        ``split``.
    gold : AnswerDistributions
        Weighted gold distributions of the kept subgroups (in table order),
        labelled subgroups (``by=()``).
    strata : tuple of tuple of str
    axes : tuple of str
        Every column used by a stratum, in first-use order.
    min_size : int
    survey : Survey
        The gold survey (kept for resampling).
    membership : ndarray of bool, shape (n, G)
        Respondent x kept subgroup (subgroups overlap across strata).
    settings : dict
        The options used: ``strata``, ``min_size``.
    notes : tuple of str
        Subgroups excluded for having fewer than ``min_size`` respondents.
    """

    table: pd.DataFrame
    gold: AnswerDistributions
    strata: tuple[tuple[str, ...], ...]
    axes: tuple[str, ...]
    min_size: int
    survey: Survey = field(repr=False)
    membership: np.ndarray = field(repr=False)
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    # -- accessors -------------------------------------------------------------
    @property
    def labels(self) -> tuple[str, ...]:
        """Labels of the kept subgroups."""
        return self.gold.labels

    @property
    def kept(self) -> pd.DataFrame:
        """Rows of ``table`` for the kept subgroups."""
        return self.table[self.table["kept"]].reset_index(drop=True)

    @property
    def excluded(self) -> pd.DataFrame:
        """Rows of ``table`` for the subgroups below ``min_size``."""
        return self.table[~self.table["kept"]].reset_index(drop=True)

    def _labels_in(self, split: str) -> tuple[str, ...]:
        k = self.kept
        return tuple(k.loc[k["split"] == split, "subgroup"])

    @property
    def in_distribution(self) -> tuple[str, ...]:
        """Kept subgroups labelled in-distribution."""
        return self._labels_in(IN)

    @property
    def out_of_distribution(self) -> tuple[str, ...]:
        """Kept subgroups labelled out-of-distribution."""
        return self._labels_in(OUT)

    def split_of(self) -> dict[str, str]:
        """Kept subgroup label -> split."""
        k = self.kept
        return dict(zip(k["subgroup"], k["split"]))

    def stratum_of(self) -> dict[str, str]:
        """Subgroup label -> stratum name (kept and excluded)."""
        return dict(zip(self.table["subgroup"], self.table["stratum"]))

    def to_frame(self) -> pd.DataFrame:
        """The subgroup table (a copy)."""
        return self.table.copy()

    # -- distributions of another population ------------------------------------
    def membership_of(self, survey: Survey) -> np.ndarray:
        """(n, G) membership of another survey's respondents in the kept subgroups."""
        return _membership(survey.demographics, self.strata, self.labels)

    def distributions(self, survey: Survey) -> AnswerDistributions:
        """Answer distributions of another survey (e.g. a simulated population)
        for the kept subgroups (same strata, same labels, gold's order).

        Subgroups the survey does not populate are empty cells (``has_data``
        False everywhere).
        """
        if not isinstance(survey, Survey):
            raise TypeError(f"expected a Survey, got {type(survey).__name__}")
        demo = survey.demographics
        for cols in self.strata:
            missing = [c for c in cols if c not in demo.columns]
            if missing:
                raise KeyError(f"the survey {survey.name!r} lacks demographic column(s) {missing} "
                               f"that define the subgroups; its demographics are "
                               f"{list(demo.columns)}")
        parts = []
        for cols in self.strata:
            d = answer_distributions(survey, by=list(cols))
            parts.append(AnswerDistributions(
                items=d.items, by=(), keys=tuple(() for _ in d.labels), labels=d.labels,
                probs=d.probs, has_data=d.has_data, n=d.n, weighted_n=d.weighted_n,
                n_invalid=d.n_invalid, group_size=d.group_size, name=survey.name))
        full = _concat(parts, survey.name)
        present = set(full.labels)
        want = [lab for lab in self.labels if lab in present]
        sub = full.select(subgroups=want)
        if len(want) == len(self.labels):
            return sub
        # subgroups absent from the survey: empty cells, in gold's order
        G = len(self.labels)
        pos = {lab: g for g, lab in enumerate(self.labels)}
        idx = np.array([pos[lab] for lab in want], dtype=np.int64)

        def place(a, fill, dtype):
            out = np.full((G,) + a.shape[1:], fill, dtype=dtype)
            out[idx] = a
            return out

        return AnswerDistributions(
            items=sub.items, by=(), keys=tuple(() for _ in range(G)), labels=self.labels,
            probs=place(sub.probs, 0.0, float), has_data=place(sub.has_data, False, bool),
            n=place(sub.n, 0, np.int64), weighted_n=place(sub.weighted_n, 0.0, float),
            n_invalid=place(sub.n_invalid, 0, np.int64),
            group_size=place(sub.group_size, 0, np.int64), source="survey", name=survey.name)

    # -- splits -------------------------------------------------------------------
    def _resolve(self, spec, what: str) -> set[str]:
        """Labels named by a list of labels and/or strata."""
        if spec is None:
            return set()
        if isinstance(spec, str):
            spec = [spec]
        labels = set(self.table["subgroup"])
        by_stratum: dict[frozenset, list[str]] = {}
        for st, lab in zip(self.table["stratum"], self.table["subgroup"]):
            by_stratum.setdefault(frozenset(st.split(" x ")), []).append(lab)
        out: set[str] = set()
        unknown = []
        for entry in spec:
            if isinstance(entry, str) and entry in labels:
                out.add(entry)
                continue
            cols = entry.split(" x ") if isinstance(entry, str) else list(entry)
            key = frozenset(c.strip() for c in cols)
            if key in by_stratum:
                out.update(by_stratum[key])
            else:
                unknown.append(entry)
        if unknown:
            raise KeyError(f"{what}: {unknown[:5]} name neither a subgroup nor a stratum; "
                           f"strata are {[_stratum_name(s) for s in self.strata]}, labels look "
                           f"like {list(self.labels[:3])}")
        return out

    def with_split(self, in_distribution=None, out_of_distribution=None) -> Subgroups:
        """Label subgroups in-distribution / out-of-distribution.

        Parameters
        ----------
        in_distribution, out_of_distribution : list, optional
            A list whose entries are subgroup labels (``"sex=female & age_group=25-34"``)
            or strata (a column, a tuple of columns, or ``"sex x age_group"``
            for all subgroups of that stratum). When one list is given, every
            other subgroup gets the other label; when both are, subgroups in
            neither are ``"unassigned"``.

        Returns
        -------
        Subgroups
            A copy with the ``split`` column set.
        """
        ins = self._resolve(in_distribution, "in_distribution")
        outs = self._resolve(out_of_distribution, "out_of_distribution")
        both = ins & outs
        if both:
            raise ValueError(f"subgroup(s) {sorted(both)[:5]} are both in- and "
                             "out-of-distribution")
        labs = self.table["subgroup"]
        if in_distribution is not None and out_of_distribution is None:
            split = np.where(labs.isin(ins), IN, OUT)
        elif out_of_distribution is not None and in_distribution is None:
            split = np.where(labs.isin(outs), OUT, IN)
        else:
            split = np.where(labs.isin(ins), IN, np.where(labs.isin(outs), OUT, UNASSIGNED))
        table = self.table.copy()
        table["split"] = split.astype(object)
        return Subgroups(table=table, gold=self.gold, strata=self.strata, axes=self.axes,
                         min_size=self.min_size, survey=self.survey, membership=self.membership,
                         settings=self.settings, notes=self.notes)

    def compositional_split(self, anchor: str) -> Subgroups:
        """Study A's compositional split: single-axis subgroups and the crossings
        that include ``anchor`` are in-distribution; every other crossing is
        out-of-distribution.

        Examples
        --------
        >>> import popaudit as pa
        >>> from popaudit.data.wvs import wvs_survey
        >>> gold = wvs_survey(pa.datasets.wvs_like_frame(n=600, seed=0))
        >>> strata = pa.crossed_strata(["sex", "age_group", "ethnicity"])
        >>> sg = pa.define_subgroups(gold, strata, min_size=1).compositional_split("sex")
        >>> sorted(set(sg.kept.loc[sg.kept["split"] == "out_of_distribution", "stratum"]))
        ['age_group x ethnicity']
        """
        if anchor not in self.axes:
            raise KeyError(f"anchor {anchor!r} is not an axis of these subgroups {self.axes}")
        ins = [cols for cols in self.strata if len(cols) == 1 or anchor in cols]
        return self.with_split(in_distribution=ins)

    def __repr__(self) -> str:
        k = self.kept
        n_ex = int((~self.table["kept"]).sum())
        splits = k["split"].value_counts().to_dict()
        split_txt = ", ".join(f"{s} {splits[s]}" for s in SPLITS if s in splits)
        return (f"Subgroups({len(k)} kept of {len(self.table)} over {len(self.strata)} strata, "
                f"min_size={self.min_size}, {n_ex} excluded; {split_txt}; "
                f"{self.gold.n_items} items, gold {self.survey.name!r})")


def define_subgroups(survey: Survey, strata, *, min_size: int = MIN_CELL_SIZE) -> Subgroups:
    """Subgroups from demographic columns or their crossings, with weighted gold distributions.

    Parameters
    ----------
    survey : Survey
        The gold population (weights used when it has them).
    strata : str, or list of str / tuple of str
        Each entry is a stratum: a demographic column (its levels are the
        subgroups) or a tuple of columns (the observed combinations are the
        subgroups). :func:`crossed_strata` lists singles and pairwise crossings.
    min_size : int
        Minimum number of respondents (unweighted, among those with the
        stratum's columns known) for a subgroup to be kept; smaller subgroups
        are excluded with a ``UserWarning`` listing them, and listed in
        ``excluded``.

    Returns
    -------
    Subgroups
        Every subgroup's split is ``"unassigned"`` until
        :meth:`Subgroups.with_split` or :meth:`Subgroups.compositional_split`.

    Notes
    -----
    Gold distributions are those of :func:`popaudit.answer_distributions`:
    ``p[g, j, k] = sum_{i in g} w_i 1{x_ij = k} / sum_{i in g} w_i 1{x_ij valid}``
    (missing and invalid answers excluded). The cell size counts respondents,
    not valid answers: an item's ``n`` in a kept subgroup can fall below
    ``min_size`` when answers are missing (reported in ``gold.n``).

    Examples
    --------
    >>> import pandas as pd
    >>> import popaudit as pa
    >>> df = pd.DataFrame({"Q1": [1, 2, 2, 1, 1], "sex": ["m", "m", "f", "f", "f"],
    ...                    "w": [1.0, 3.0, 1.0, 1.0, 2.0]})
    >>> s = pa.Survey(df, items=[pa.Item("Q1", codes=(1, 2))], demographics=["sex"],
    ...               weights="w")
    >>> sg = pa.define_subgroups(s, "sex", min_size=2)
    >>> sg.labels
    ('sex=f', 'sex=m')
    >>> sg.gold.probs[:, 0, :].tolist()
    [[0.75, 0.25], [0.25, 0.75]]
    """
    if not isinstance(survey, Survey):
        raise TypeError(f"define_subgroups expects a Survey, got {type(survey).__name__}")
    if not isinstance(min_size, (int, np.integer)) or min_size < 1:
        raise ValueError(f"min_size must be a positive integer, got {min_size!r}")
    strata = _as_strata(strata)
    demo = survey.demographics
    axes = tuple(dict.fromkeys(c for cols in strata for c in cols))
    missing = [c for c in axes if c not in demo.columns]
    if missing:
        raise KeyError(f"demographic column(s) {missing} not in the survey; demographics are "
                       f"{list(demo.columns)}")
    w = survey.weights_or_ones()
    rows, parts = [], []
    for cols in strata:
        gid, keys = _group_ids(demo, cols)
        counts = np.bincount(gid[gid >= 0], minlength=len(keys))
        wsum = np.bincount(gid[gid >= 0], weights=w[gid >= 0], minlength=len(keys))
        for g, key in enumerate(keys):
            row = {"subgroup": subgroup_label(cols, key), "stratum": _stratum_name(cols),
                   "order": len(cols)}
            vals = dict(zip(cols, key))
            for a in axes:
                row[a] = vals.get(a)
            row.update({"n_respondents": int(counts[g]), "weighted_n": float(wsum[g]),
                        "kept": bool(counts[g] >= min_size), "split": UNASSIGNED})
            rows.append(row)
        kept = counts >= min_size
        if kept.any():
            d = answer_distributions(survey, by=list(cols))
            d = AnswerDistributions(
                items=d.items, by=(), keys=tuple(() for _ in d.labels), labels=d.labels,
                probs=d.probs, has_data=d.has_data, n=d.n, weighted_n=d.weighted_n,
                n_invalid=d.n_invalid, group_size=d.group_size, name=survey.name)
            parts.append(d.select(subgroups=kept))
    table = pd.DataFrame(rows)
    for a in axes:
        table[a] = pd.Series([r[a] for r in rows], dtype=object)
    dup = table["subgroup"][table["subgroup"].duplicated()]
    if len(dup):
        raise ValueError(f"subgroup label(s) {list(dup[:5])} occur in two strata; rename the "
                         "demographic values so that labels are unique")
    excluded = table[~table["kept"]]
    warn_small_cells([(r.subgroup, f"n={r.n_respondents}") for r in excluded.itertuples()],
                     min_size)
    if not parts:
        raise ValueError(f"no subgroup has at least {min_size} respondents; lower min_size")
    gold = _concat(parts, survey.name)
    M = _membership(demo, strata, gold.labels)
    notes = () if excluded.empty else (
        f"{len(excluded)} subgroup(s) below the minimum cell size {min_size} excluded: "
        + str(list(excluded["subgroup"])[:10]),)
    return Subgroups(table=table, gold=gold, strata=strata, axes=axes, min_size=int(min_size),
                     survey=survey, membership=M,
                     settings={"strata": strata, "min_size": int(min_size)}, notes=notes)


def study_a_subgroups(survey: Survey, axes: Sequence[str] = ("sex", "age_group", "ethnicity",
                                                             "religion"),
                      *, anchor: str = "sex", min_size: int = MIN_CELL_SIZE) -> Subgroups:
    """Study A's design in one call: single axes and pairwise crossings, compositional split.

    In-distribution: the single-axis subgroups and the crossings of
    ``anchor`` with every other axis (sex x age, sex x religion, sex x
    ethnicity); out-of-distribution: the other pairwise crossings (age x
    religion, age x ethnicity, ethnicity x religion). Subgroups need
    ``min_size`` respondents (study A: 30). With the WVS-7 Singapore file and
    study A's groupings this gives 50 in-distribution and 48
    out-of-distribution subgroups (methods.md).

    Examples
    --------
    >>> import warnings
    >>> import popaudit as pa
    >>> gold = pa.wvs_survey(pa.datasets.wvs_like_frame(n=2012, seed=0))
    >>> with warnings.catch_warnings():   # a warning lists the 33 small cells excluded
    ...     warnings.simplefilter("ignore")
    ...     sg = study_a_subgroups(gold)
    >>> len(sg.in_distribution), len(sg.out_of_distribution)
    (52, 52)
    """
    return define_subgroups(survey, crossed_strata(axes, 2), min_size=min_size
                            ).compositional_split(anchor)


# ---------------------------------------------------------------------------------------------
# predictions
# ---------------------------------------------------------------------------------------------
def _labels_from_axes(df: pd.DataFrame, cols: Sequence[str], subgroups: Subgroups) -> pd.Series:
    """Subgroup labels from demographic columns (missing = axis not restricted)."""
    order = {frozenset(s): s for s in subgroups.strata}
    vals = df[list(cols)]
    known = vals.notna().to_numpy()
    out = np.empty(len(df), dtype=object)
    pattern = pd.Series([tuple(r) for r in known])
    for pat in pattern.unique():
        sel = (pattern == pat).to_numpy()
        present = [c for c, k in zip(cols, pat) if k]
        key = frozenset(present)
        if key not in order:
            i = int(np.flatnonzero(sel)[0])
            raise ValueError(f"prediction row {df.index[i]} restricts {present or 'no column'}, "
                             f"which is not a stratum of these subgroups "
                             f"{[_stratum_name(s) for s in subgroups.strata]}")
        scols = order[key]
        sub = vals.loc[sel, list(scols)]
        out[sel] = [subgroup_label(scols, tuple(r)) for r in sub.itertuples(index=False)]
    return pd.Series(out, index=df.index)


def prediction_distributions(table: pd.DataFrame, subgroups: Subgroups, *,
                             subgroup_col: str | Sequence[str] = "subgroup",
                             item_col: str = "item", option_col: str = "option",
                             prob_col: str = "probability", answer_col: str = "answer",
                             name: str | None = None) -> AnswerDistributions:
    """Subgroup-level predictions (probabilities or single answers) checked against subgroups.

    Parameters
    ----------
    table : DataFrame
        Either a probability table (columns ``subgroup``, ``item``,
        ``option``, ``probability``; one row per option) or a table of single
        predicted answers (``subgroup``, ``item``, ``answer``; one row per
        subgroup x item), e.g. a model's modal prediction.
    subgroups : Subgroups
        The gold subgroups the predictions are for.
    subgroup_col : str or list of str
        A column of subgroup labels, or the demographic (axis) columns, with
        a missing value where the subgroup does not restrict that axis.
    item_col, option_col, prob_col, answer_col : str
        Column names.
    name : str, optional
        Name of the simulated population.

    Returns
    -------
    AnswerDistributions
        One distribution (one-hot for single answers) per predicted kept
        subgroup x item, subgroups in gold's order.

    Raises
    ------
    ValueError
        A subgroup label that is no subgroup of ``subgroups``; an item not in
        gold; an option that is not a code of its item; probabilities outside
        [0, 1] or not summing to 1 (within 1e-6) for a subgroup x item;
        duplicated rows.

    Warns
    -----
    UserWarning
        Predictions for subgroups excluded by the minimum cell size (dropped)
        are listed.
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"expected a DataFrame of predictions, got {type(table).__name__}")
    if not isinstance(subgroups, Subgroups):
        raise TypeError(f"expected Subgroups, got {type(subgroups).__name__}")
    df = table.reset_index(drop=True)
    if isinstance(subgroup_col, str):
        if subgroup_col not in df.columns:
            raise KeyError(f"column {subgroup_col!r} not in the prediction table; columns are "
                           f"{list(df.columns)[:20]}")
        labels = df[subgroup_col].astype(str)
    else:
        cols = list(subgroup_col)
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise KeyError(f"column(s) {missing} not in the prediction table")
        labels = _labels_from_axes(df, cols, subgroups)
    known = set(subgroups.table["subgroup"])
    kept = set(subgroups.labels)
    unknown = sorted(set(labels) - known)
    if unknown:
        raise ValueError(f"the predictions name {len(unknown)} subgroup(s) that are not subgroups "
                         f"of the gold population: {unknown[:10]}; labels look like "
                         f"{list(subgroups.labels[:3])}")
    small = sorted(set(labels) & (known - kept))
    if small:
        sizes = subgroups.table.set_index("subgroup")["n_respondents"]
        shown = ", ".join(f"{lab!r} (n={int(sizes[lab])})" for lab in small[:20])
        _warn(f"predictions for {len(small)} subgroup(s) below the minimum cell size "
                      f"{subgroups.min_size} are dropped: {shown}")
    use = labels.isin(kept).to_numpy()
    if not use.any():
        raise ValueError("no prediction is for a kept subgroup")
    df = df.loc[use].assign(__subgroup__=labels[use].to_numpy()).reset_index(drop=True)
    items = subgroups.gold.items
    if prob_col in df.columns:
        d = AnswerDistributions.from_frame(df, items, subgroup_col="__subgroup__",
                                           item_col=item_col, option_col=option_col,
                                           prob_col=prob_col, name=name)
    elif answer_col in df.columns:
        d = AnswerDistributions.from_predictions(df, items, subgroup_col="__subgroup__",
                                                 item_col=item_col, answer_col=answer_col,
                                                 name=name)
    else:
        raise KeyError(f"the prediction table needs a {prob_col!r} column (with {option_col!r}) "
                       f"or an {answer_col!r} column; columns are {list(df.columns)[:20]}")
    order = [lab for lab in subgroups.labels if lab in set(d.labels)]
    return d.select(subgroups=order)


# ---------------------------------------------------------------------------------------------
# per-subgroup fidelity
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SubgroupFidelity:
    """Marginal and modal fidelity of a simulated population, per subgroup and item.

    Attributes
    ----------
    per_pair : DataFrame
        One row per subgroup x item compared: ``subgroup``, ``stratum``,
        ``split``, ``item``, ``kind``, ``n_categories``, ``gold_modes``,
        ``sim_modes``, ``unresolved``, the metrics of
        :data:`FIDELITY_METRICS` (``accuracy`` = modal-accuracy credit,
        ``nmae`` = ``|mode_sim - mode_gold| / (K - 1)``), ``n_gold``, ``n_sim``.
        ``<NA>`` marks a metric that does not apply (nominal items for the
        ordinal metrics) or an unresolved tie.
    per_subgroup : DataFrame
        Long table: ``subgroup``, ``stratum``, ``split``, ``metric``,
        ``value`` (mean over the subgroup's items), ``n_items``,
        ``n_respondents`` (gold).
    summary : DataFrame
        Per ``metric`` and ``split`` (each split present, and ``"all"``):
        ``mean_pairs`` (mean over subgroup x item pairs, study A's headline
        numbers), ``mean_subgroups`` (mean of per-subgroup values),
        ``n_pairs``, ``n_subgroups``.
    diversity : DataFrame
        Modal Diversity Score per stratum (two or more kept subgroups):
        ``stratum``, ``split``, ``mds_gold``, ``mds_sim``, ``mds_diff``
        (sim - gold, mean over items), the ordinal cross-check
        ``w1_pairwise_gold`` / ``w1_pairwise_sim`` (mean W1/(K - 1) between
        every two subgroups of the stratum, over ordinal items), ``n_items``,
        ``n_subgroups``.
    subgroups : Subgroups
    gold, sim : AnswerDistributions
        The aligned distributions compared (same subgroups and items).
    sim_survey : Survey or None
        The simulated respondents, when the simulated population is respondent-level.
    ties, sim_ties : str
    tie_tol : float
    population : str
    missing_subgroups : tuple of str
        Kept subgroups the simulated population has no distribution for.
    settings : dict
        The options used: ``ties``, ``sim_ties``, ``tie_tol``, ``name``.
    notes : tuple of str
        Kept subgroups left out because the simulated population has no answers there.
    """

    per_pair: pd.DataFrame
    per_subgroup: pd.DataFrame
    summary: pd.DataFrame
    diversity: pd.DataFrame
    subgroups: Subgroups = field(repr=False)
    gold: AnswerDistributions = field(repr=False)
    sim: AnswerDistributions = field(repr=False)
    sim_survey: Survey | None = field(repr=False)
    ties: str
    sim_ties: str
    tie_tol: float
    population: str
    missing_subgroups: tuple[str, ...] = ()
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(m for m in FIDELITY_METRICS if m in self.per_pair.columns)

    def metric(self, name: str) -> pd.Series:
        """Per-subgroup values of one metric (index: subgroup label)."""
        if name not in self.metrics:
            raise KeyError(f"metric {name!r} not in this result; metrics are {self.metrics}")
        t = self.per_subgroup[self.per_subgroup["metric"] == name]
        return pd.Series(t["value"].to_numpy(), index=t["subgroup"].to_numpy(), name=name)

    def mean(self, metric: str, split: str = "all") -> float:
        """Mean over subgroup x item pairs of one metric in one split."""
        row = self.summary[(self.summary["metric"] == metric) & (self.summary["split"] == split)]
        if row.empty:
            raise KeyError(f"no {metric!r} for split {split!r}; splits are "
                           f"{sorted(self.summary['split'].unique())}")
        return float(row["mean_pairs"].iloc[0])

    def to_frame(self) -> pd.DataFrame:
        """Tidy long table: ``population``, ``subgroup``, ``stratum``, ``split``,
        ``metric``, ``value``, ``n_items``, ``n_respondents``."""
        out = self.per_subgroup.copy()
        out.insert(0, "population", self.population)
        return out

    def __repr__(self) -> str:
        s = self.summary.set_index(["metric", "split"])

        def get(m, sp):
            return f"{s.loc[(m, sp), 'mean_pairs']:.3f}" if (m, sp) in s.index else "-"

        splits = [sp for sp in (IN, OUT, UNASSIGNED) if (("accuracy", sp) in s.index)]
        parts = [f"{sp}: accuracy {get('accuracy', sp)}, NMAE {get('nmae', sp)}"
                 for sp in splits + ["all"]]
        n_sub = self.per_pair["subgroup"].nunique()
        mds = self.diversity
        mds_txt = (f"; MDS gold {mds['mds_gold'].mean():.3f} vs sim {mds['mds_sim'].mean():.3f}"
                   if len(mds) else "")
        return (f"SubgroupFidelity({self.population!r} vs {self.gold.name or 'gold'!r}, "
                f"{n_sub} subgroups x {self.gold.n_items} items, {len(self.per_pair)} pairs, "
                f"ties={self.ties!r})\n  " + "\n  ".join(parts) + mds_txt)


def _sim_distributions(subgroups: Subgroups, sim, name, kw) -> tuple[AnswerDistributions,
                                                                       Survey | None]:
    if isinstance(sim, Survey):
        return subgroups.distributions(sim), sim
    if isinstance(sim, pd.DataFrame):
        return prediction_distributions(sim, subgroups, name=name, **kw), None
    if isinstance(sim, AnswerDistributions):
        known = set(subgroups.table["subgroup"])
        unknown = sorted(set(sim.labels) - known)
        if unknown:
            raise ValueError(f"the simulated distributions name {len(unknown)} subgroup(s) that "
                             f"are not subgroups of the gold population: {unknown[:10]}")
        small = sorted(set(sim.labels) & (known - set(subgroups.labels)))
        if small:
            _warn(f"simulated distributions for {len(small)} subgroup(s) below the "
                          f"minimum cell size {subgroups.min_size} are dropped: {small[:20]}")
        keep = [lab for lab in subgroups.labels if lab in set(sim.labels)]
        return sim.select(subgroups=keep), None
    raise TypeError("simulated must be a Survey, AnswerDistributions or a prediction "
                    f"DataFrame, got {type(sim).__name__}")


@renamed_arguments(sim="simulated")
def subgroup_fidelity(subgroups: Subgroups, simulated, *, ties: str = "any",
                      sim_ties: str = "average", tie_tol: float = 1e-9,
                      name: str | None = None, **columns) -> SubgroupFidelity:
    """Modal and marginal fidelity of a simulated population for every subgroup x item.

    Parameters
    ----------
    subgroups : Subgroups
        Gold subgroups (:func:`define_subgroups`, :func:`study_a_subgroups`).
    simulated : Survey, AnswerDistributions or DataFrame
        The simulated population: respondent-level answers (a Survey with the
        subgroups' demographic columns), subgroup-level distributions, or a
        prediction table (see :func:`prediction_distributions`; ``columns``
        passes its column-name arguments). (``sim`` before 0.2, deprecated.)
    ties, sim_ties, tie_tol
        Tie policies of :func:`popaudit.compare_modes` (default: a prediction
        matching any tied gold mode is correct; tied simulated modes share
        the credit).
    name : str, optional
        Name of the simulated population (default: its own name).

    Returns
    -------
    SubgroupFidelity

    Notes
    -----
    Per subgroup ``g`` and item ``j`` (gold modes ``M``, simulated mode ``s``,
    category positions ``0..K-1``): modal accuracy ``1{s in M}``;
    ``nmae = min_{m in M} |s - m| / (K - 1)`` (study A's NMAE; its exact
    normalisation was not published: here the distance between category
    positions divided by the scale's diameter, ordinal and binary items only);
    ``expected_distance = E_q |X - M| / (K - 1)`` over the simulated
    distribution ``q``; ``w1_norm``, ``representativeness``, ``js_distance``
    and ``total_variation`` as in :func:`popaudit.compare_marginals`.
    Per-subgroup values are unweighted means over the subgroup's items;
    split summaries are means over subgroup x item pairs (``mean_pairs``) and
    over subgroups (``mean_subgroups``). The Modal Diversity Score
    (``-sum_m p(m) log2 p(m) / log2 min(|S|, |C|)``) is computed per stratum
    for gold and for the simulated population (:func:`popaudit.modal_diversity`).

    Examples
    --------
    >>> import popaudit as pa
    >>> gold = pa.wvs_survey(pa.datasets.wvs_like_frame(n=800, seed=0))
    >>> sg = pa.define_subgroups(gold, ["sex", "age_group"])
    >>> fid = pa.subgroup_fidelity(sg, pa.datasets.persona_like(gold, seed=1))
    >>> round(fid.mean("accuracy"), 3), round(fid.mean("nmae"), 3)
    (0.574, 0.144)
    """
    if not isinstance(subgroups, Subgroups):
        raise TypeError(f"expected Subgroups, got {type(subgroups).__name__}")
    sim_d, sim_survey = _sim_distributions(subgroups, simulated, name, columns)
    pop = name or sim_d.name or "simulated"
    sim_d = sim_d.with_name(pop)
    gold = subgroups.gold
    extra = [nm for nm in sim_d.item_names if nm not in gold.item_names]
    if extra:
        raise ValueError(f"the simulated population has item(s) {extra[:10]} that gold lacks")
    gold = gold.select(items=[nm for nm in gold.item_names if nm in set(sim_d.item_names)])
    sim_d = sim_d.select(items=gold.item_names)
    has = sim_d.has_data.any(axis=1)
    sim_labels = set(np.asarray(sim_d.labels)[has])
    missing = tuple(lab for lab in gold.labels if lab not in sim_labels)
    notes = []
    if missing:
        notes.append(f"the simulated population {pop!r} has no answers for {len(missing)} "
                     f"kept subgroup(s), left out: {list(missing[:20])}")
        _warn(notes[-1])
    keep = [lab for lab in gold.labels if lab in sim_labels]
    if not keep:
        raise ValueError(f"the simulated population {pop!r} covers none of the kept subgroups")
    gold = gold.select(subgroups=keep)
    sim_d = sim_d.select(subgroups=keep)
    # gold's subgroups already passed define_subgroups' minimum cell size
    modal = compare_modes(gold, sim_d, ties=ties, sim_ties=sim_ties, tie_tol=tie_tol,
                          min_size=None)
    marg = compare_marginals(gold, sim_d, min_size=None)
    mcols = ["w1_norm", "representativeness", "js_distance", "total_variation"]
    per = modal.per_pair.drop(columns=["n_gold", "n_sim"]).rename(
        columns={"credit": "accuracy", "distance_error": "nmae"})
    per = per.merge(marg.per_item[["subgroup", "item"] + mcols + ["n_gold", "n_sim"]],
                    on=["subgroup", "item"], how="left", validate="one_to_one")
    strat = subgroups.stratum_of()
    split = subgroups.split_of()
    per.insert(1, "stratum", per["subgroup"].map(strat).astype(object))
    per.insert(2, "split", per["subgroup"].map(split).astype(object))
    per = per[["subgroup", "stratum", "split", "item", "kind", "n_categories", "gold_modes",
               "sim_modes", "unresolved", *FIDELITY_METRICS, "n_gold", "n_sim"]]

    sizes = subgroups.table.set_index("subgroup")["n_respondents"]
    sub_idx, sub_labels = pd.factorize(per["subgroup"], sort=False)
    G = len(sub_labels)
    long_parts, summ = [], []
    split_arr = per["split"].to_numpy(dtype=object)
    sub_split = pd.Series(sub_labels).map(split).to_numpy(dtype=object)
    splits_present = [sp for sp in SPLITS if (split_arr == sp).any()]
    for m in FIDELITY_METRICS:
        v = per[m].to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(v)
        cnt = np.bincount(sub_idx[ok], minlength=G)
        tot = np.bincount(sub_idx[ok], weights=v[ok], minlength=G)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = tot / cnt
        has_m = cnt > 0
        long_parts.append(pd.DataFrame({
            "subgroup": np.asarray(sub_labels, dtype=object)[has_m],
            "metric": m, "value": mean[has_m], "n_items": cnt[has_m]}))
        for sp in splits_present + ["all"]:
            sel = ok & ((split_arr == sp) if sp != "all" else True)
            ssel = has_m & ((sub_split == sp) if sp != "all" else True)
            if not sel.any():
                continue
            summ.append({"metric": m, "split": sp, "mean_pairs": float(v[sel].mean()),
                         "mean_subgroups": float(mean[ssel].mean()),
                         "n_pairs": int(sel.sum()), "n_subgroups": int(ssel.sum())})
    per_sub = pd.concat(long_parts, ignore_index=True)
    per_sub.insert(1, "stratum", per_sub["subgroup"].map(strat).astype(object))
    per_sub.insert(2, "split", per_sub["subgroup"].map(split).astype(object))
    per_sub["n_respondents"] = per_sub["subgroup"].map(sizes).astype(np.int64)
    summary = pd.DataFrame(summ, columns=["metric", "split", "mean_pairs", "mean_subgroups",
                                          "n_pairs", "n_subgroups"])
    diversity = _diversity(gold, sim_d, subgroups, split)
    return SubgroupFidelity(
        per_pair=per, per_subgroup=per_sub, summary=summary, diversity=diversity,
        subgroups=subgroups, gold=gold, sim=sim_d, sim_survey=sim_survey, ties=ties,
        sim_ties=sim_ties, tie_tol=float(tie_tol), population=pop, missing_subgroups=missing,
        settings={"ties": ties, "sim_ties": sim_ties, "tie_tol": float(tie_tol), "name": name},
        notes=tuple(notes))


def _pairwise_w1(d: AnswerDistributions) -> float:
    """Mean W1/(K-1) between every two subgroups' distributions, over ordinal items."""
    ordinal = np.array([it.kind != "nominal" for it in d.items])
    if not ordinal.any():
        return float("nan")
    F = np.cumsum(d.probs[:, ordinal], axis=-1)                       # (G, P', K)
    K = d.n_categories[ordinal]
    inside = np.arange(d.kmax)[None, :] < (K - 1)[:, None]          # k < K - 1
    w1 = (np.abs(F[:, None] - F[None, :]) * inside).sum(-1) / (K - 1)  # (G, G, P')
    ok = d.has_data[:, None, ordinal] & d.has_data[None, :, ordinal]
    iu = np.triu_indices(d.n_subgroups, 1)
    return float(w1[iu][ok[iu]].mean()) if ok[iu].any() else float("nan")


def _diversity(gold: AnswerDistributions, sim: AnswerDistributions, subgroups: Subgroups,
               split: Mapping[str, str]) -> pd.DataFrame:
    strat = subgroups.stratum_of()
    members: dict[str, list[str]] = {}
    for lab in gold.labels:
        members.setdefault(strat[lab], []).append(lab)
    members = {s: labs for s, labs in members.items() if len(labs) >= 2}
    cols = ["stratum", "split", "mds_gold", "mds_sim", "mds_diff", "w1_pairwise_gold",
            "w1_pairwise_sim", "n_items", "n_subgroups"]
    if not members:
        return pd.DataFrame(columns=cols)
    g = modal_diversity(gold, members).summary.rename(columns={"mean": "mds_gold"})
    s = modal_diversity(sim, members).summary.rename(columns={"mean": "mds_sim"})
    out = g[["stratum", "mds_gold", "n_items", "n_subgroups"]].merge(
        s[["stratum", "mds_sim"]], on="stratum")
    out["mds_diff"] = out["mds_sim"] - out["mds_gold"]
    w1 = {st: (_pairwise_w1(gold.select(subgroups=labs)), _pairwise_w1(sim.select(subgroups=labs)))
          for st, labs in members.items()}
    out["w1_pairwise_gold"] = out["stratum"].map({k: v[0] for k, v in w1.items()})
    out["w1_pairwise_sim"] = out["stratum"].map({k: v[1] for k, v in w1.items()})

    def split_of(stratum):
        sp = {split[lab] for lab in members[stratum]}
        return sp.pop() if len(sp) == 1 else "mixed"

    out["split"] = out["stratum"].map(split_of).astype(object)
    return out[cols]
