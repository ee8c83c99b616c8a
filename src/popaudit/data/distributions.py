"""Answer distributions per subgroup and item: the shared input of marginal and modal metrics.

An :class:`AnswerDistributions` holds, for every subgroup ``g`` and item ``j``,
a probability vector over the item's ``K_j`` answer categories (in the item's
code order). It is built either from respondent-level answers
(:func:`answer_distributions`, weighted shares of the valid answers) or from a
model's subgroup-level output (:meth:`AnswerDistributions.from_frame` for
probability tables, :meth:`AnswerDistributions.from_predictions` for one
predicted answer per subgroup and item).

Subgroup keys
-------------
Every subgroup has a *label*, the string that identifies it everywhere in
popaudit (tables, alignment of gold and simulated populations):

* ``by=None`` gives a single subgroup labelled ``"overall"``;
* ``by=["sex", "age"]`` gives one subgroup per observed combination, with
  key ``(1, 2)`` and label ``"sex=1 & age=2"`` (values written as integers
  when they are whole numbers, so ``1.0`` and ``1`` give the same label).

Gold and simulated distributions are matched by label (:func:`align`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from popaudit._inference import renamed_arguments
from popaudit._inference import warn as _warn
from popaudit.data.survey import Item, Survey, check_compatible

__all__ = [
    "MIN_CELL_SIZE",
    "OVERALL",
    "Aligned",
    "AnswerDistributions",
    "align",
    "answer_distributions",
    "subgroup_label",
]

#: Label of the single subgroup of a population-level distribution.
OVERALL = "overall"

#: Minimum respondents for a subgroup to be scored (study A: 30), shared by
#: :func:`~popaudit.define_subgroups` and the subgroup comparisons
#: (:func:`~popaudit.compare_modes`, :func:`~popaudit.compare_marginals`, ``audit``).
MIN_CELL_SIZE = 30

#: Tolerance on the sum of a subgroup x item probability vector.
SUM_TOL = 1e-6
#: Slack allowed outside [0, 1] for a single probability (floating-point noise).
_PROB_SLACK = 1e-9

#: Cells (respondents x items) per np.bincount call in answer_distributions (bounds memory).
_BLOCK_CELLS = 4_000_000

_RESERVED = ("subgroup", "item", "option", "label", "probability", "n")


def _fmt_value(v) -> str:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and np.isfinite(v) and v == round(v):
        return str(int(v))
    return str(v)


def subgroup_label(by: Sequence[str], key: Sequence) -> str:
    """The label of a subgroup: ``"col=value & col=value"``, or ``"overall"``.

    Examples
    --------
    >>> subgroup_label(["sex", "age"], (1, 2.0))
    'sex=1 & age=2'
    >>> subgroup_label([], ())
    'overall'
    """
    by = list(by)
    if not by:
        return OVERALL
    if len(by) != len(key):
        raise ValueError(f"subgroup key {tuple(key)} does not match columns {by}")
    return " & ".join(f"{c}={_fmt_value(v)}" for c, v in zip(by, key))


def _as_items(items) -> tuple[Item, ...]:
    if hasattr(items, "items") and not isinstance(items, dict) and not callable(items.items):
        items = items.items  # a Survey or AnswerDistributions
    items = tuple(items)
    for it in items:
        if not isinstance(it, Item):
            raise TypeError(f"items must be Item objects (e.g. gold.items), got {type(it).__name__}")
    return items


@dataclass(frozen=True, eq=False)
class AnswerDistributions:
    """Probability vectors over answer categories, per subgroup and item.

    Build it with :func:`answer_distributions` (from a :class:`~popaudit.Survey`),
    :meth:`from_frame` or :meth:`from_predictions`; the constructor itself does
    no validation of probabilities.

    Attributes
    ----------
    items : tuple of Item
        Item metadata, in column order.
    by : tuple of str
        Demographic columns that define the subgroups (empty for ``"overall"``
        or for subgroups given only by their labels).
    keys : tuple of tuple
        One key per subgroup: the values of the ``by`` columns (empty tuples
        when ``by`` is empty).
    labels : tuple of str
        One unique label per subgroup (see the module docstring).
    probs : ndarray, shape (G, P, Kmax)
        ``probs[g, j, k]`` is the probability of the ``k``-th code of item
        ``j`` in subgroup ``g``; zero-padded beyond ``K_j``. Rows of an empty
        cell (see ``has_data``) are all zero.
    has_data : ndarray of bool, shape (G, P)
        Whether the cell has a distribution (at least one valid answer with
        positive weight, or a row in the prediction table).
    n : ndarray of int, shape (G, P), or None
        Unweighted number of valid answers (None when unknown, e.g. for
        model probabilities without a count column).
    weighted_n : ndarray of float, shape (G, P), or None
        Sum of the weights of the valid answers.
    n_invalid : ndarray of int, shape (G, P), or None
        Number of invalid (unparseable) answers, excluded from ``probs``.
    group_size : ndarray of int, shape (G,), or None
        Respondents in each subgroup (any answers).
    n_dropped : int
        Respondents left out because a ``by`` column was missing for them.
    source : {"survey", "probabilities", "predictions"}
    name : str or None
        Population name (from the survey).
    """

    items: tuple[Item, ...]
    by: tuple[str, ...]
    keys: tuple[tuple, ...]
    labels: tuple[str, ...]
    probs: np.ndarray
    has_data: np.ndarray
    n: np.ndarray | None = None
    weighted_n: np.ndarray | None = None
    n_invalid: np.ndarray | None = None
    group_size: np.ndarray | None = None
    n_dropped: int = 0
    source: str = "survey"
    name: str | None = None

    def __post_init__(self) -> None:
        # read-only views: never change the flags of a caller's array
        for name, dtype in (("probs", np.float64), ("has_data", bool), ("n", np.int64),
                            ("weighted_n", np.float64), ("n_invalid", np.int64),
                            ("group_size", np.int64)):
            arr = getattr(self, name)
            if arr is not None:
                view = np.asarray(arr, dtype=dtype).view()
                view.setflags(write=False)
                object.__setattr__(self, name, view)
        G, P = len(self.labels), len(self.items)
        if self.probs.ndim != 3 or self.probs.shape[:2] != (G, P):
            raise ValueError(f"probs must have shape ({G}, {P}, Kmax), got {self.probs.shape}")
        if len(set(self.labels)) != G:
            dup = pd.Series(self.labels)[pd.Series(self.labels).duplicated()].unique()[:5]
            raise ValueError(f"duplicate subgroup label(s) {list(dup)}")
        if self.has_data.shape != (G, P):
            raise ValueError(f"has_data must have shape ({G}, {P}), got {self.has_data.shape}")
        if len(self.keys) != G:
            raise ValueError(f"{len(self.keys)} subgroup keys for {G} labels")

    # -- survey-like accessors (so check_compatible works on distributions) ---
    @property
    def item_names(self) -> tuple[str, ...]:
        return tuple(it.name for it in self.items)

    def item(self, name: str) -> Item:
        """Metadata of one item by name."""
        for it in self.items:
            if it.name == name:
                return it
        raise KeyError(f"item {name!r} is not in these distributions; items are "
                       f"{self.item_names}")

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_subgroups(self) -> int:
        return len(self.labels)

    @property
    def n_categories(self) -> np.ndarray:
        """K per item, shape (P,)."""
        return np.array([it.n_categories for it in self.items], dtype=np.int64)

    @property
    def kmax(self) -> int:
        return self.probs.shape[2]

    def code_matrix(self) -> np.ndarray:
        """Item codes, zero-padded to shape (P, Kmax) (float64)."""
        out = np.zeros((self.n_items, self.kmax))
        for j, it in enumerate(self.items):
            out[j, : it.n_categories] = it.codes
        return out

    @property
    def has_positions(self) -> bool:
        """Whether any item declares option positions (else unit spacing throughout)."""
        return any(it.positions is not None for it in self.items)

    def position_matrix(self) -> np.ndarray:
        """Option positions of each item (:meth:`popaudit.Item.scale_positions`), padded to
        shape (P, Kmax) with each item's largest position (padding adds no distance)."""
        out = np.zeros((self.n_items, self.kmax))
        for j, it in enumerate(self.items):
            pos = it.scale_positions()
            out[j, : it.n_categories] = pos
            out[j, it.n_categories:] = pos.max()
        return out

    def with_name(self, name: str | None) -> AnswerDistributions:
        return _replace(self, name=name)

    # -- selection -------------------------------------------------------------
    def select(self, items: Sequence[str] | None = None,
               subgroups: Sequence[str] | np.ndarray | None = None) -> AnswerDistributions:
        """Distributions restricted to some items (by name, in the order given)
        and/or subgroups (labels in the order given, or a boolean mask).
        """
        jpos = np.arange(self.n_items)
        if items is not None:
            names = list(items)
            lookup = {nm: j for j, nm in enumerate(self.item_names)}
            unknown = [nm for nm in names if nm not in lookup]
            if unknown:
                raise KeyError(f"item(s) {unknown} not in these distributions; items are "
                               f"{self.item_names}")
            jpos = np.array([lookup[nm] for nm in names], dtype=np.int64)
        gpos = np.arange(self.n_subgroups)
        if subgroups is not None:
            sub = np.asarray(subgroups)
            if sub.dtype == bool:
                if sub.shape != (self.n_subgroups,):
                    raise ValueError(f"subgroup mask has shape {sub.shape}, expected "
                                     f"({self.n_subgroups},)")
                gpos = np.flatnonzero(sub)
            else:
                lookup = {lab: g for g, lab in enumerate(self.labels)}
                labs = [str(x) for x in subgroups]
                unknown = [lab for lab in labs if lab not in lookup]
                if unknown:
                    raise KeyError(f"subgroup(s) {unknown[:10]} not in these distributions; "
                                   f"subgroups are {list(self.labels)[:10]}...")
                gpos = np.array([lookup[lab] for lab in labs], dtype=np.int64)
        ix = np.ix_(gpos, jpos)

        def take(a):
            return None if a is None else a[ix]

        kmax = max((self.items[j].n_categories for j in jpos), default=1)
        return AnswerDistributions(
            items=tuple(self.items[j] for j in jpos), by=self.by,
            keys=tuple(self.keys[g] for g in gpos), labels=tuple(self.labels[g] for g in gpos),
            probs=self.probs[ix][..., :kmax].copy(), has_data=take(self.has_data).copy(),
            n=take(self.n), weighted_n=take(self.weighted_n), n_invalid=take(self.n_invalid),
            group_size=None if self.group_size is None else self.group_size[gpos],
            n_dropped=self.n_dropped, source=self.source, name=self.name)

    # -- tables ----------------------------------------------------------------
    def subgroup_frame(self) -> pd.DataFrame:
        """One row per subgroup: label, the ``by`` columns, and group size."""
        df = pd.DataFrame({"subgroup": list(self.labels)})
        for i, col in enumerate(self.by):
            df[col] = [k[i] for k in self.keys]
        if self.group_size is not None:
            df["group_size"] = self.group_size
        return df

    def to_frame(self) -> pd.DataFrame:
        """Tidy long table, one row per subgroup x item x option of a non-empty cell.

        Columns: ``subgroup`` (label), the ``by`` columns, ``item``, ``option``
        (the answer code), ``label`` (code label), ``probability`` and ``n``
        (unweighted valid answers of the cell; nullable, ``<NA>`` when unknown).
        """
        K = self.n_categories
        G, P = self.has_data.shape
        kk = np.arange(self.kmax)
        mask = self.has_data[:, :, None] & (kk[None, None, :] < K[None, :, None])
        g, j, k = np.nonzero(mask)
        codes = self.code_matrix().astype(np.int64)
        labels = np.empty((P, self.kmax), dtype=object)
        for jj, it in enumerate(self.items):
            labels[jj, : it.n_categories] = list(it.code_labels().values())
        out = {"subgroup": np.asarray(self.labels, dtype=object)[g]}
        for i, col in enumerate(self.by):
            vals = np.empty(G, dtype=object)
            vals[:] = [key[i] for key in self.keys]
            out[col] = vals[g]
        out["item"] = np.asarray(self.item_names, dtype=object)[j]
        out["option"] = codes[j, k]
        out["label"] = labels[j, k]
        out["probability"] = self.probs[g, j, k]
        out["n"] = pd.array(self.n[g, j] if self.n is not None else [pd.NA] * len(g),
                            dtype="Int64")
        return pd.DataFrame(out)

    def counts_frame(self) -> pd.DataFrame:
        """One row per subgroup x item: ``has_data``, ``n``, ``weighted_n``,
        ``n_invalid`` and ``invalid_rate`` (invalid / (valid + invalid), unweighted).
        """
        G, P = self.has_data.shape
        g, j = np.meshgrid(np.arange(G), np.arange(P), indexing="ij")
        g, j = g.ravel(), j.ravel()
        df = pd.DataFrame({"subgroup": np.asarray(self.labels, dtype=object)[g],
                           "item": np.asarray(self.item_names, dtype=object)[j],
                           "has_data": self.has_data.ravel()})

        def col(a, dtype):
            return pd.array(a.ravel() if a is not None else [pd.NA] * len(g), dtype=dtype)

        df["n"] = col(self.n, "Int64")
        df["weighted_n"] = col(self.weighted_n, "Float64")
        df["n_invalid"] = col(self.n_invalid, "Int64")
        if self.n is not None and self.n_invalid is not None:
            tot = (self.n + self.n_invalid).ravel()
            rate = np.divide(self.n_invalid.ravel(), tot, out=np.zeros(len(g)), where=tot > 0)
            df["invalid_rate"] = pd.array(np.where(tot > 0, rate, np.nan), dtype="Float64")
            df.loc[tot == 0, "invalid_rate"] = pd.NA
        return df

    def __repr__(self) -> str:
        nm = f"{self.name!r}, " if self.name else ""
        by = f"by={list(self.by)}" if self.by else (
            "overall" if self.labels == (OVERALL,) else "labelled subgroups")
        empty = int((~self.has_data).sum())
        return (f"AnswerDistributions({nm}{self.n_subgroups} subgroup(s) x {self.n_items} items, "
                f"{by}, source={self.source!r}, {empty} empty cell(s))")

    # -- constructors ----------------------------------------------------------
    @classmethod
    def from_frame(cls, df: pd.DataFrame, items, *,
                   subgroup_col: str | Sequence[str] | None = "subgroup",
                   item_col: str = "item", option_col: str = "option",
                   prob_col: str = "probability", n_col: str | None = None,
                   name: str | None = None) -> AnswerDistributions:
        """Subgroup-level answer distributions from a long probability table.

        Parameters
        ----------
        df : DataFrame
            One row per subgroup x item x option with its probability
            (e.g. a model's normalised token probabilities).
        items : sequence of Item, or a Survey / AnswerDistributions
            Item metadata (typically ``gold.items``). Only items that occur in
            ``df`` are kept, in the order of ``items``.
        subgroup_col : str, list of str or None
            A column of subgroup *labels* (taken verbatim, e.g.
            ``"sex=1 & age=2"``), or a list of demographic columns (labels are
            then built as in :func:`subgroup_label`), or None for a single
            population-level distribution per item (label ``"overall"``).
        item_col, option_col, prob_col : str
            Columns holding item names, answer codes and probabilities.
        n_col : str, optional
            A column with the number of samples behind each distribution
            (constant within a subgroup x item).
        name : str, optional
            Population name.

        Raises
        ------
        KeyError
            A named column is missing.
        ValueError
            Unknown items or options, probabilities outside [0, 1] or not
            numbers, duplicated rows, or a subgroup x item whose probabilities
            do not sum to 1 within 1e-6 (the message names them).

        Notes
        -----
        Options absent from the table have probability 0. Each vector is
        divided by its sum (which differs from 1 by at most 1e-6) so that it
        sums to 1 exactly. Subgroup x item combinations absent from the table
        are empty cells (``has_data`` False); metrics skip them and count them.

        Examples
        --------
        >>> import pandas as pd
        >>> import popaudit as pa
        >>> items = [pa.Item("Q1", codes=(1, 2, 3))]
        >>> tab = pd.DataFrame({"subgroup": ["sex=1", "sex=1", "sex=2"],
        ...                     "item": "Q1", "option": [1, 3, 2],
        ...                     "probability": [0.25, 0.75, 1.0]})
        >>> d = pa.AnswerDistributions.from_frame(tab, items)
        >>> d.probs[:, 0, :].tolist()
        [[0.25, 0.0, 0.75], [0.0, 1.0, 0.0]]
        """
        items = _as_items(items)
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
        cols = [item_col, option_col, prob_col] + ([n_col] if n_col else [])
        g_spec = _subgroup_spec(df, subgroup_col)
        _require_columns(df, cols + g_spec.columns)
        if len(df) == 0:
            raise ValueError("the probability table has no rows")
        kept_items, jpos = _item_positions(df[item_col], items, item_col)
        cat = _option_positions(df[option_col], jpos, kept_items, option_col)
        prob = pd.to_numeric(df[prob_col], errors="coerce").to_numpy(float)
        bad = ~np.isfinite(prob)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"column {prob_col!r} must hold finite numbers: row {df.index[i]} "
                             f"has {df[prob_col].iloc[i]} ({int(bad.sum())} such rows)")
        out = (prob < -_PROB_SLACK) | (prob > 1 + _PROB_SLACK)
        if out.any():
            i = int(np.flatnonzero(out)[0])
            raise ValueError(f"probabilities must lie in [0, 1]: row {df.index[i]} (item "
                             f"{str(df[item_col].iloc[i])!r}, option "
                             f"{_fmt_value(df[option_col].iloc[i])}) has {prob[i]:.9g} "
                             f"({int(out.sum())} such rows)")
        prob = np.clip(prob, 0.0, 1.0)
        gid, keys, labels = g_spec.factorize(df)
        G, P = len(labels), len(kept_items)
        kmax = max(it.n_categories for it in kept_items)
        flat = (gid * P + jpos) * kmax + cat
        dup = pd.Series(flat).duplicated(keep=False).to_numpy()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            raise ValueError(
                f"subgroup {labels[gid[i]]!r}, item {kept_items[jpos[i]].name!r}, option "
                f"{_fmt_value(df[option_col].iloc[i])} appears {int((flat == flat[i]).sum())} times; give "
                f"each subgroup x item x option once ({int(dup.sum())} duplicated rows)")
        probs = np.zeros(G * P * kmax)
        probs[flat] = prob
        probs = probs.reshape(G, P, kmax)
        has = np.zeros(G * P, dtype=bool)
        has[gid * P + jpos] = True
        has = has.reshape(G, P)
        sums = probs.sum(axis=2)
        off = has & (np.abs(sums - 1.0) > SUM_TOL)
        if off.any():
            gg, jj = np.nonzero(off)
            shown = "; ".join(f"subgroup {labels[a]!r}, item {kept_items[b].name!r}: sum "
                              f"{sums[a, b]:.9g}" for a, b in list(zip(gg, jj))[:5])
            raise ValueError(f"probabilities must sum to 1 (within {SUM_TOL:g}) per subgroup and "
                             f"item; {int(off.sum())} do not: {shown}")
        probs = np.where(has[:, :, None], probs / np.where(has, sums, 1.0)[:, :, None], 0.0)
        n = None
        if n_col:
            nv = pd.to_numeric(df[n_col], errors="coerce").to_numpy(float)
            if (~np.isfinite(nv)).any() or (nv < 0).any() or (nv != np.round(nv)).any():
                raise ValueError(f"column {n_col!r} must hold non-negative whole numbers")
            cell = gid * P + jpos
            lo = np.full(G * P, np.inf)
            hi = np.full(G * P, -np.inf)
            np.minimum.at(lo, cell, nv)
            np.maximum.at(hi, cell, nv)
            if (lo[has.ravel()] != hi[has.ravel()]).any():
                c = int(np.flatnonzero(has.ravel() & (lo != hi))[0])
                raise ValueError(f"column {n_col!r} differs within subgroup {labels[c // P]!r}, "
                                 f"item {kept_items[c % P].name!r}; give one count per cell")
            n = np.where(has.ravel(), lo, 0).astype(np.int64).reshape(G, P)
        return cls(items=kept_items, by=g_spec.by, keys=keys, labels=labels, probs=probs,
                   has_data=has, n=n, source="probabilities", name=name)

    @classmethod
    def from_predictions(cls, df: pd.DataFrame, items, *,
                         subgroup_col: str | Sequence[str] | None = "subgroup",
                         item_col: str = "item", answer_col: str = "answer",
                         invalid: str = "raise", name: str | None = None
                         ) -> AnswerDistributions:
        """One predicted answer per subgroup x item, as one-hot distributions.

        Parameters
        ----------
        df : DataFrame
            One row per subgroup x item with the predicted answer code.
        items, subgroup_col, item_col, name
            As in :meth:`from_frame`.
        answer_col : str
            Column of predicted codes.
        invalid : {"raise", "exclude"}
            What to do with an answer that is not one of the item's codes
            (or not a number): raise a ``ValueError`` naming it, or leave the
            cell empty and count it in ``n_invalid``.

        Notes
        -----
        ``n`` is 1 for every cell with a valid prediction.

        Examples
        --------
        >>> import pandas as pd
        >>> import popaudit as pa
        >>> items = [pa.Item("Q1", codes=(1, 2, 3))]
        >>> tab = pd.DataFrame({"subgroup": ["a", "b"], "item": "Q1", "answer": [3, 1]})
        >>> pa.AnswerDistributions.from_predictions(tab, items).probs[:, 0, :].tolist()
        [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
        """
        items = _as_items(items)
        if invalid not in ("raise", "exclude"):
            raise ValueError("invalid must be 'raise' or 'exclude'")
        g_spec = _subgroup_spec(df, subgroup_col)
        _require_columns(df, [item_col, answer_col] + g_spec.columns)
        if len(df) == 0:
            raise ValueError("the prediction table has no rows")
        kept_items, jpos = _item_positions(df[item_col], items, item_col)
        gid, keys, labels = g_spec.factorize(df)
        G, P = len(labels), len(kept_items)
        cell = gid * P + jpos
        dup = pd.Series(cell).duplicated(keep=False).to_numpy()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            raise ValueError(f"subgroup {labels[gid[i]]!r}, item {kept_items[jpos[i]].name!r} "
                             f"has {int((cell == cell[i]).sum())} predictions; give one per "
                             "subgroup x item (or build a Survey from repeated samples)")
        cat = _option_positions(df[answer_col], jpos, kept_items, answer_col,
                                allow_invalid=(invalid == "exclude"))
        ok = cat >= 0
        kmax = max(it.n_categories for it in kept_items)
        probs = np.zeros(G * P * kmax)
        probs[cell[ok] * kmax + cat[ok]] = 1.0
        has = np.zeros(G * P, dtype=bool)
        has[cell[ok]] = True
        n_inv = np.zeros(G * P, dtype=np.int64)
        n_inv[cell[~ok]] = 1
        return cls(items=kept_items, by=g_spec.by, keys=keys, labels=labels,
                   probs=probs.reshape(G, P, kmax), has_data=has.reshape(G, P),
                   n=has.reshape(G, P).astype(np.int64), n_invalid=n_inv.reshape(G, P),
                   source="predictions", name=name)


def _replace(d: AnswerDistributions, **kw) -> AnswerDistributions:
    fields = {f: getattr(d, f) for f in d.__dataclass_fields__}
    fields.update(kw)
    return AnswerDistributions(**fields)


def _require_columns(df: pd.DataFrame, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"column(s) {missing} not found in the table; columns are "
                       f"{list(df.columns)[:20]}")


class _SubgroupSpec(NamedTuple):
    kind: str  # "overall" | "labels" | "columns"
    columns: list[str]
    by: tuple[str, ...]

    def factorize(self, df: pd.DataFrame) -> tuple[np.ndarray, tuple[tuple, ...], tuple[str, ...]]:
        n = len(df)
        if self.kind == "overall":
            return np.zeros(n, dtype=np.int64), ((),), (OVERALL,)
        sub = df[self.columns]
        if sub.isna().to_numpy().any():
            i = int(np.flatnonzero(sub.isna().to_numpy().any(axis=1))[0])
            raise ValueError(f"subgroup column(s) {self.columns} missing at row {df.index[i]}")
        if self.kind == "labels":
            labs = sub.iloc[:, 0].map(_fmt_value)
            gid, uniq = pd.factorize(labs, sort=True)
            return gid.astype(np.int64), tuple(() for _ in uniq), tuple(str(u) for u in uniq)
        grouped = sub.groupby(self.columns, sort=True, dropna=True, observed=True)
        gid = grouped.ngroup().fillna(-1).to_numpy().astype(np.int64)
        keys = _group_keys(grouped)
        labels = tuple(subgroup_label(self.by, k) for k in keys)
        if len(set(labels)) != len(labels):
            raise ValueError(f"subgroup columns {self.columns} give duplicate labels (e.g. 1 and "
                             "1.0 in one column); make each column's values consistent")
        return gid, keys, labels


def _group_keys(grouped) -> tuple[tuple, ...]:
    idx = grouped.size().index
    out = []
    for key in idx:
        key = key if isinstance(key, tuple) else (key,)
        out.append(tuple(k.item() if isinstance(k, np.generic) else k for k in key))
    return tuple(out)


def _subgroup_spec(df, subgroup_col) -> _SubgroupSpec:
    if subgroup_col is None:
        return _SubgroupSpec("overall", [], ())
    if isinstance(subgroup_col, str):
        return _SubgroupSpec("labels", [subgroup_col], ())
    cols = list(subgroup_col)
    if not cols:
        return _SubgroupSpec("overall", [], ())
    return _SubgroupSpec("columns", cols, tuple(cols))


def _item_positions(col: pd.Series, items: tuple[Item, ...], item_col: str
                    ) -> tuple[tuple[Item, ...], np.ndarray]:
    names = col.astype(str).to_numpy()
    known = {it.name for it in items}
    present = set(pd.unique(names))
    unknown = sorted(present - known)
    if unknown:
        raise ValueError(f"column {item_col!r} names item(s) {unknown[:10]} that are not among "
                         f"the declared items ({len(unknown)} unknown)")
    kept = tuple(it for it in items if it.name in present)
    lookup = {it.name: j for j, it in enumerate(kept)}
    return kept, pd.Series(names).map(lookup).to_numpy().astype(np.int64)


def _option_positions(col: pd.Series, jpos: np.ndarray, items: tuple[Item, ...], option_col: str,
                      allow_invalid: bool = False) -> np.ndarray:
    """Category index of each row's code within its item (-2 where invalid and allowed)."""
    num = pd.to_numeric(col, errors="coerce").to_numpy(float)
    kmax = max(it.n_categories for it in items)
    # lookup table code -> category per item, via a sorted search on (item, code)
    cat = np.full(len(col), -2, dtype=np.int64)
    finite = np.isfinite(num) & (num == np.round(num))
    pair_item = np.repeat(np.arange(len(items)), [it.n_categories for it in items])
    pair_code = np.concatenate([np.asarray(it.codes, dtype=np.int64) for it in items])
    pair_cat = np.concatenate([np.arange(it.n_categories) for it in items])
    lut = pd.Series(pair_cat, index=pd.MultiIndex.from_arrays([pair_item, pair_code]))
    code_int = np.where(finite, num, 0).astype(np.int64)
    found = lut.reindex(pd.MultiIndex.from_arrays([jpos, code_int])).to_numpy()
    ok = finite & ~pd.isna(found)
    cat[ok] = found[ok].astype(np.int64)
    if (~ok).any() and not allow_invalid:
        bad = np.flatnonzero(~ok)
        per_item: dict[str, list] = {}
        for i in bad[:200]:
            per_item.setdefault(items[jpos[i]].name, []).append(col.iloc[i])
        shown = "; ".join(
            f"item {nm!r}: {sorted(set(map(str, v)))[:5]} not in codes {_item_by(items, nm).codes}"
            for nm, v in list(per_item.items())[:5])
        raise ValueError(f"column {option_col!r} has {len(bad)} value(s) that are not answer codes "
                         f"of their item: {shown}")
    assert kmax >= 1
    return cat


def _item_by(items, name):
    return next(it for it in items if it.name == name)


def answer_distributions(survey: Survey, by: str | Sequence[str] | None = None
                         ) -> AnswerDistributions:
    """Weighted answer distributions per subgroup and item of a survey.

    Parameters
    ----------
    survey : Survey
        Respondent-level answers (weights used when the survey has them).
    by : str or list of str, optional
        Demographic columns whose observed combinations define the subgroups;
        None gives one ``"overall"`` distribution per item. Respondents with a
        missing value in a ``by`` column are left out (counted in ``n_dropped``).

    Returns
    -------
    AnswerDistributions

    Notes
    -----
    For subgroup ``g``, item ``j`` and category ``k``,
    ``p[g, j, k] = sum_i w_i 1{x_ij = k} / sum_i w_i 1{x_ij valid}`` over the
    respondents ``i`` of ``g``; missing and invalid answers are excluded (the
    analysis is pairwise-complete per item). A cell whose valid answers have
    zero total weight (or that has none) is empty: ``has_data`` is False and
    its probabilities are zero. Computed with one ``np.bincount`` per block of
    items, no loop over respondents.

    Examples
    --------
    >>> import pandas as pd
    >>> import popaudit as pa
    >>> df = pd.DataFrame({"Q1": [1, 2, 2, 3, -1], "sex": [1, 1, 2, 2, 2],
    ...                    "w": [1.0, 1.0, 2.0, 2.0, 1.0]})
    >>> s = pa.Survey(df, items=[pa.Item("Q1", codes=(1, 2, 3))], demographics=["sex"],
    ...               weights="w")
    >>> d = pa.answer_distributions(s, by="sex")
    >>> d.labels
    ('sex=1', 'sex=2')
    >>> d.probs[:, 0, :].tolist()
    [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]]
    >>> d.n.tolist()
    [[2], [2]]
    """
    if not isinstance(survey, Survey):
        raise TypeError(f"answer_distributions expects a Survey, got {type(survey).__name__}")
    by_t = (by,) if isinstance(by, str) else tuple(by or ())
    n_resp = len(survey)
    if by_t:
        demo = survey.demographics
        missing = [c for c in by_t if c not in demo.columns]
        if missing:
            raise KeyError(f"demographic column(s) {missing} not in this survey; demographics "
                           f"are {list(demo.columns)}")
        clash = [c for c in by_t if c in _RESERVED]
        if clash:
            raise ValueError(f"demographic column name(s) {clash} clash with the columns of "
                             f"the distribution table {_RESERVED}; rename them")
        grouped = demo.groupby(list(by_t), sort=True, dropna=True, observed=True)
        gid = grouped.ngroup().fillna(-1).to_numpy().astype(np.int64)
        keys = _group_keys(grouped)
        labels = tuple(subgroup_label(by_t, k) for k in keys)
        if len(set(labels)) != len(labels):
            raise ValueError(f"columns {list(by_t)} give duplicate subgroup labels; make each "
                             "column's values consistent")
    else:
        gid = np.zeros(n_resp, dtype=np.int64)
        keys, labels = ((),), (OVERALL,)
    G = len(labels)
    idx = survey.category_indices()
    P = idx.shape[1]
    K = survey.n_categories
    kmax = int(K.max())
    w = survey.weights_or_ones().astype(float)
    in_group = gid >= 0
    counts_w = np.zeros((G, P, kmax))
    counts = np.zeros((G, P, kmax), dtype=np.int64)
    n_inv = np.zeros((G, P), dtype=np.int64)
    gsel, wsel, isel = gid[in_group], w[in_group], idx[in_group]
    block = max(1, int(_BLOCK_CELLS // max(len(gsel), 1)))
    for j0 in range(0, P, block):
        j1 = min(P, j0 + block)
        pc = j1 - j0
        sub = isel[:, j0:j1].astype(np.int64)
        cell = gsel[:, None] * pc + np.arange(pc)[None, :]
        valid = sub >= 0
        flat = (cell * kmax + sub)[valid]
        ww = np.broadcast_to(wsel[:, None], sub.shape)[valid]
        counts_w[:, j0:j1] = np.bincount(flat, weights=ww, minlength=G * pc * kmax
                                         ).reshape(G, pc, kmax)
        counts[:, j0:j1] = np.bincount(flat, minlength=G * pc * kmax).reshape(G, pc, kmax)
        n_inv[:, j0:j1] = np.bincount(cell[sub == -2], minlength=G * pc).reshape(G, pc)
    wtot = counts_w.sum(axis=2)
    has = wtot > 0
    probs = np.divide(counts_w, wtot[:, :, None], out=np.zeros_like(counts_w),
                      where=has[:, :, None])
    group_size = np.bincount(gsel, minlength=G).astype(np.int64)
    return AnswerDistributions(
        items=survey.items, by=by_t, keys=keys, labels=labels, probs=probs, has_data=has,
        n=counts.sum(axis=2), weighted_n=wtot, n_invalid=n_inv, group_size=group_size,
        n_dropped=int((~in_group).sum()), source="survey", name=survey.name)


class Aligned(NamedTuple):
    """Gold and simulated distributions on the same items and subgroups."""

    gold: AnswerDistributions
    sim: AnswerDistributions
    only_gold: tuple[str, ...]
    only_sim: tuple[str, ...]
    #: Subgroups left out for having fewer than ``min_size`` respondents in either population.
    excluded: tuple[str, ...] = ()

    @property
    def notes(self) -> tuple[str, ...]:
        """One note per kind of subgroup left out (too small; in one population only), for
        the ``notes`` of the results built on this alignment."""
        out = []
        if self.excluded:
            out.append(f"{len(self.excluded)} subgroup(s) below the minimum cell size left "
                       f"out: {list(self.excluded)[:10]}")
        for who, labels in (("gold", self.only_gold), ("the simulated population",
                                                       self.only_sim)):
            if labels:
                out.append(f"{len(labels)} subgroup(s) only in {who} left out: "
                           f"{list(labels)[:10]}")
        return tuple(out)


def warn_small_cells(cells: Sequence[tuple[str, str]], min_size: int, where: str = "") -> None:
    """The one warning for subgroups below the minimum cell size (``define_subgroups`` and the
    subgroup comparisons): ``cells`` are ``(label, size text)`` pairs."""
    if not cells:
        return
    shown = ", ".join(f"{lab!r} ({size})" for lab, size in cells[:20])
    more = f" and {len(cells) - 20} more" if len(cells) > 20 else ""
    _warn(f"{len(cells)} subgroup(s) below the minimum cell size {min_size} excluded"
          f"{where}: {shown}{more}")


def check_min_size(min_size) -> int | None:
    if min_size is None:
        return None
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 1:
        raise ValueError(f"min_size must be a positive integer or None, got {min_size!r}")
    return int(min_size)


def _to_dist(x, by, role: str) -> AnswerDistributions:
    if isinstance(x, AnswerDistributions):
        if by is not None and x.by and tuple(by) != x.by:
            raise ValueError(f"by={list(by)} applies to Survey inputs, but the {role} "
                             f"distributions are already split by {list(x.by) or 'labels'}; "
                             "pass by=None or build them with the same columns")
        return x
    if isinstance(x, Survey):
        return answer_distributions(x, by=by)
    raise TypeError(f"{role} must be a Survey or AnswerDistributions, got {type(x).__name__}")


@renamed_arguments(sim="simulated")
def align(gold, simulated, by: str | Sequence[str] | None = None, *, unmatched: str = "raise",
          what: tuple[str, str] = ("gold", "simulated"), min_size: int | None = None
          ) -> Aligned:
    """Put gold and simulated populations on the same items and subgroups.

    Parameters
    ----------
    gold, simulated : Survey or AnswerDistributions
        (``sim`` before 0.2, deprecated.)
    by : str or list of str, optional
        Demographic columns for the inputs that are surveys. When None and one
        input is distributions split by columns, a survey input is split by the
        same columns.
    unmatched : {"raise", "drop"}
        Subgroups present in only one population: raise a ``ValueError``
        naming them, or drop them (they are listed in the result).
    what : pair of str
        Names of the two populations in messages.
    min_size : int, optional
        Minimum cell size: when the populations are split into subgroups, a
        subgroup with fewer respondents than this in either population (sizes
        known for survey inputs: respondents in the subgroup, as
        :func:`~popaudit.define_subgroups` counts them) is left out, with a
        ``UserWarning`` listing it. None keeps every subgroup.

    Returns
    -------
    Aligned
        ``(gold, sim, only_gold, only_sim, excluded)``: the simulated items in
        gold's order, subgroups in gold's order.
    """
    if unmatched not in ("raise", "drop"):
        raise ValueError("unmatched must be 'raise' or 'drop'")
    min_size = check_min_size(min_size)
    by_t = None if by is None else ((by,) if isinstance(by, str) else tuple(by))
    if by_t is None:
        for x in (gold, simulated):
            if isinstance(x, AnswerDistributions) and x.by:
                by_t = x.by
                break
    gd = _to_dist(gold, by_t if isinstance(gold, Survey) or by is not None else None, what[0])
    sd = _to_dist(simulated, by_t if isinstance(simulated, Survey) or by is not None else None,
                  what[1])
    check_compatible(gd, sd, what=what)
    sset = set(sd.labels)
    gset = set(gd.labels)
    only_gold = tuple(lab for lab in gd.labels if lab not in sset)
    only_sim = tuple(lab for lab in sd.labels if lab not in gset)
    if (only_gold or only_sim) and unmatched == "raise":
        msg = []
        if only_gold:
            msg.append(f"{len(only_gold)} only in {what[0]} (e.g. {list(only_gold[:5])})")
        if only_sim:
            msg.append(f"{len(only_sim)} only in {what[1]} (e.g. {list(only_sim[:5])})")
        hint = "; pass unmatched='drop' to compare the common subgroups"
        if OVERALL in (gd.labels[0], sd.labels[0]) and (gd.n_subgroups == 1 or
                                                         sd.n_subgroups == 1):
            hint = ("; one population is not split into subgroups: pass by=[...] for the "
                    "survey, or build both with the same subgroups")
        raise ValueError("subgroups differ between the populations: " + "; ".join(msg) + hint)
    common = [lab for lab in gd.labels if lab in sset]
    if not common:
        raise ValueError(f"no subgroup is common to {what[0]} ({list(gd.labels[:5])}) and "
                         f"{what[1]} ({list(sd.labels[:5])})")
    excluded: list[tuple[str, str]] = []
    split = not (len(common) == 1 and common[0] == OVERALL)
    if min_size is not None and split:
        sizes = [dict(zip(d.labels, d.group_size.tolist())) if d.group_size is not None
                 else {} for d in (gd, sd)]
        keep = []
        for lab in common:
            small = [f"n={sz[lab]} in {who}" for sz, who in zip(sizes, what)
                     if lab in sz and sz[lab] < min_size]
            if small:
                excluded.append((lab, ", ".join(small)))
            else:
                keep.append(lab)
        warn_small_cells(excluded, min_size, where=f" from the comparison of {what[1]} with "
                                                   f"{what[0]}")
        if not keep:
            raise ValueError(f"no subgroup has at least {min_size} respondents in both "
                             f"{what[0]} and {what[1]}; lower min_size (or pass None)")
        common = keep
    # select() also trims both to the same zero padding (Kmax of the common items)
    gd2 = gd.select(subgroups=common)
    sd2 = sd.select(items=gd.item_names, subgroups=common)
    return Aligned(gd2, sd2, only_gold, only_sim, tuple(lab for lab, _ in excluded))
