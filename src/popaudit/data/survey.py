"""The survey data model every component consumes.

A :class:`Survey` is a table of respondents x items of integer answer codes,
with item metadata (:class:`Item`), optional demographic columns and optional
survey weights. Missing answers and *invalid* answers (simulated answers that
could not be parsed) are kept apart: both are excluded from the statistics,
but invalid answers are reported as a rate of their own.

Internally each answer is stored as a category index ``0 .. K-1`` into the
item's ordered codes, ``-1`` for missing and ``-2`` for invalid; kernels and
metrics consume that array (:meth:`Survey.category_indices`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "INVALID",
    "MISSING",
    "WVS_MISSING_CODES",
    "Item",
    "Survey",
    "check_compatible",
]

#: WVS missing codes: -1 don't know, -2 no answer, -3 not applicable,
#: -4 not asked in survey, -5 missing (unknown).
WVS_MISSING_CODES: tuple[int, ...] = (-1, -2, -3, -4, -5)

#: Category index used for a missing answer.
MISSING = -1
#: Category index used for an invalid (unparseable) answer.
INVALID = -2

ItemKind = Literal["ordinal", "nominal", "binary"]
_KINDS = ("ordinal", "nominal", "binary")


@dataclass(frozen=True)
class Item:
    """Metadata of one survey item.

    Parameters
    ----------
    name : str
        Column name, e.g. ``"Q164"``.
    codes : sequence of int
        The valid answer codes, in scale order (lowest first for ordinal items).
    labels : sequence of str, optional
        One label per code.
    kind : {"ordinal", "nominal", "binary"}
        Measurement level. Binary items have exactly two codes; nominal items
        get no ordinal metrics.
    missing : sequence of int
        Item-specific codes that mean "missing" (in addition to the WVS codes
        -1..-5), e.g. ``(5,)`` for Q254's "I am not [nationality]".
    text : str, optional
        Question wording.
    reverse : bool
        True when *higher* codes mean *less* of the construct the item is read
        as measuring (e.g. Q164 "importance of God" read as secularism).
    """

    name: str
    codes: tuple[int, ...]
    labels: tuple[str, ...] | None = None
    kind: ItemKind = "ordinal"
    missing: tuple[int, ...] = ()
    text: str | None = None
    reverse: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"item name must be a non-empty string, got {self.name!r}")
        codes = tuple(int(c) for c in self.codes)
        object.__setattr__(self, "codes", codes)
        object.__setattr__(self, "missing", tuple(int(c) for c in self.missing))
        if len(codes) < 2:
            raise ValueError(
                f"item {self.name!r} declares {len(codes)} answer code(s); an item needs at "
                "least two categories"
            )
        if len(set(codes)) != len(codes):
            raise ValueError(f"item {self.name!r} declares duplicate codes {codes}")
        if self.kind not in _KINDS:
            raise ValueError(f"item {self.name!r} has kind {self.kind!r}; use one of {_KINDS}")
        if self.kind == "binary" and len(codes) != 2:
            raise ValueError(
                f"item {self.name!r} is binary but declares {len(codes)} codes {codes}"
            )
        if self.kind == "ordinal" and list(codes) != sorted(codes):
            raise ValueError(
                f"ordinal item {self.name!r} must list its codes in increasing order, got {codes}"
            )
        overlap = set(codes) & set(self.missing)
        if overlap:
            raise ValueError(
                f"item {self.name!r} declares code(s) {sorted(overlap)} both valid and missing"
            )
        if self.labels is not None:
            labels = tuple(str(x) for x in self.labels)
            if len(labels) != len(codes):
                raise ValueError(
                    f"item {self.name!r} has {len(codes)} codes but {len(labels)} labels"
                )
            object.__setattr__(self, "labels", labels)

    @property
    def n_categories(self) -> int:
        """Number of answer categories K."""
        return len(self.codes)

    @property
    def is_ordered(self) -> bool:
        """Whether ordinal metrics apply (ordinal and binary items)."""
        return self.kind != "nominal"

    def code_labels(self) -> dict[int, str]:
        """Mapping code -> label (the code itself when no label is known)."""
        labels = self.labels or tuple(str(c) for c in self.codes)
        return dict(zip(self.codes, labels))

    @classmethod
    def infer(cls, name: str, values: Iterable, *, missing_codes: Sequence[int] = WVS_MISSING_CODES,
              kind: ItemKind | None = None) -> Item:
        """Infer an item's codes from observed values (valid = not missing).

        The observed distinct non-missing integer codes become the scale; two
        codes make a binary item, more an ordinal one, unless ``kind`` is given.
        """
        arr = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").to_numpy(float)
        arr = arr[np.isfinite(arr)]
        arr = arr[~np.isin(arr, list(missing_codes))]
        if arr.size == 0:
            raise ValueError(
                f"item {name!r} has no valid answers to infer its scale from; declare it with "
                "Item(name, codes=...)"
            )
        if not np.all(arr == np.round(arr)):
            bad = arr[arr != np.round(arr)][0]
            raise ValueError(f"item {name!r} has non-integer code {bad!r}")
        codes = tuple(int(c) for c in np.unique(arr))
        if len(codes) < 2:
            raise ValueError(
                f"item {name!r} has a single observed code {codes[0]}; declare its scale with "
                "Item(name, codes=...)"
            )
        if kind is None:
            kind = "binary" if len(codes) == 2 else "ordinal"
        return cls(name=name, codes=codes, kind=kind)


def _as_item_tuple(items) -> tuple[Item, ...] | None:
    if items is None:
        return None
    if isinstance(items, Mapping):
        items = [it if isinstance(it, Item) else Item(name=k, **it) for k, it in items.items()]
    return tuple(items)


def _encode_column(item: Item, raw: pd.Series, *, missing_codes: Sequence[int],
                   invalid_codes: Sequence, out_of_scale: str) -> np.ndarray:
    """Raw answers of one item -> category indices (-1 missing, -2 invalid)."""
    values = raw.to_numpy(dtype=object)
    n = values.shape[0]
    out = np.full(n, MISSING, dtype=np.int16)
    # Parse numerics; strings that are not numbers are "unparseable" -> invalid.
    as_num = pd.to_numeric(raw.astype(object), errors="coerce").to_numpy(float)
    isnull = pd.isna(raw).to_numpy()
    unparseable = ~isnull & ~np.isfinite(as_num)
    # numeric inf counts as unparseable too
    explicit_invalid = np.zeros(n, dtype=bool)
    if len(invalid_codes):
        inv = set(invalid_codes)
        explicit_invalid = np.fromiter((v in inv for v in values), dtype=bool, count=n)
    finite = np.isfinite(as_num)
    code_pos = {c: i for i, c in enumerate(item.codes)}
    miss = set(missing_codes) | set(item.missing)
    nonint = finite & (as_num != np.round(as_num))
    if np.any(nonint & ~explicit_invalid):
        bad = as_num[nonint & ~explicit_invalid][0]
        if out_of_scale == "invalid":
            explicit_invalid |= nonint
        else:
            raise ValueError(
                f"item {item.name!r} has non-integer code {bad:g}; answer codes must be integers"
            )
    intval = np.where(finite, np.round(as_num), 0).astype(np.int64)
    uniq = np.unique(intval[finite & ~explicit_invalid])
    for u in uniq:
        u = int(u)
        sel = finite & ~explicit_invalid & (intval == u)
        if u in code_pos:
            out[sel] = code_pos[u]
        elif u in miss:
            out[sel] = MISSING
        elif out_of_scale == "invalid":
            out[sel] = INVALID
        elif out_of_scale == "missing":
            out[sel] = MISSING
        else:
            lo, hi = min(item.codes), max(item.codes)
            scale = f"{lo}..{hi}" if item.codes == tuple(range(lo, hi + 1)) else str(item.codes)
            raise ValueError(
                f"item {item.name!r} has code {u} outside its scale {scale} "
                f"({int(sel.sum())} answer(s)); declare it as missing with Item(missing=...), "
                "or pass out_of_scale='invalid' for simulated answers"
            )
    out[unparseable | explicit_invalid] = INVALID
    return out


class Survey:
    """Respondents x items of integer answer codes, with item metadata.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent. Item columns hold integer codes (NaN / None for
        missing); strings that are not numbers are treated as *invalid*
        (unparseable simulated answers).
    items : sequence of str or Item, or mapping, optional
        The item columns. Names alone make popaudit infer each scale from the
        observed codes; :class:`Item` objects (e.g. ``gold.items``) declare it.
        Default: every column not named as demographic or weight.
    demographics : sequence of str, optional
        Demographic columns kept beside the answers (for subgroups).
    weights : str or array-like, optional
        A column name or an array of non-negative finite survey weights.
    missing_codes : sequence of int
        Codes that mean "missing" for every item (default the WVS codes -1..-5)
        unless an item declares the code as valid.
    invalid_codes : sequence, optional
        Values that mark an unparseable simulated answer (strings that are not
        numbers are always invalid).
    out_of_scale : {"raise", "invalid", "missing"}
        What to do with an integer code outside an item's declared scale:
        raise a ``ValueError`` (default; right for gold data), or count it as an
        invalid or a missing answer (for simulated answers).
    name : str, optional
        A label for the population (used in reports).

    Examples
    --------
    >>> import pandas as pd
    >>> import popaudit as pa
    >>> df = pd.DataFrame({"Q1": [1, 2, 2, -1], "Q2": [1, 3, "refused", 2],
    ...                    "sex": [1, 2, 1, 2]})
    >>> s = pa.Survey(df, items=["Q1", "Q2"], demographics=["sex"])
    >>> s.n_respondents, s.item_names
    (4, ('Q1', 'Q2'))
    >>> s.invalid_rate().round(2).to_dict()
    {'Q1': 0.0, 'Q2': 0.25}
    """

    def __init__(self, data: pd.DataFrame, items=None, *, demographics: Sequence[str] | None = None,
                 weights=None, missing_codes: Sequence[int] = WVS_MISSING_CODES,
                 invalid_codes: Sequence = (), out_of_scale: str = "raise",
                 name: str | None = None) -> None:
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"Survey expects a pandas DataFrame, got {type(data).__name__}")
        if out_of_scale not in ("raise", "invalid", "missing"):
            raise ValueError("out_of_scale must be 'raise', 'invalid' or 'missing'")
        if data.columns.duplicated().any():
            dup = list(data.columns[data.columns.duplicated()])
            raise ValueError(f"duplicate column name(s) {dup}; each item must appear once")
        demographics = list(demographics or [])
        weight_col = weights if isinstance(weights, str) else None
        for col in demographics + ([weight_col] if weight_col else []):
            if col not in data.columns:
                raise KeyError(f"column {col!r} not found in the data; columns are "
                               f"{list(data.columns)[:20]}")
        item_spec = _as_item_tuple(items)
        if item_spec is None:
            excluded = set(demographics) | ({weight_col} if weight_col else set())
            item_spec = tuple(c for c in data.columns if c not in excluded)
        names = [it.name if isinstance(it, Item) else str(it) for it in item_spec]
        seen: set[str] = set()
        for nm in names:
            if nm in seen:
                raise ValueError(f"duplicate item name {nm!r}; each item must appear once")
            seen.add(nm)
        missing_cols = [nm for nm in names if nm not in data.columns]
        if missing_cols:
            raise KeyError(f"item column(s) {missing_cols} not found in the data")
        if not names:
            raise ValueError("a survey needs at least one item")
        resolved = []
        for it, nm in zip(item_spec, names):
            if not isinstance(it, Item):
                it = Item.infer(nm, data[nm], missing_codes=missing_codes)
            resolved.append(it)
        self._items: tuple[Item, ...] = tuple(resolved)
        n = len(data)
        idx = np.empty((n, len(resolved)), dtype=np.int16)
        for j, it in enumerate(resolved):
            idx[:, j] = _encode_column(it, data[it.name], missing_codes=missing_codes,
                                       invalid_codes=invalid_codes, out_of_scale=out_of_scale)
            if n and not np.any(idx[:, j] >= 0):
                raise ValueError(
                    f"item {it.name!r} has no valid answers (all {n} are missing or invalid); "
                    "drop it from items=..."
                )
        self._idx = idx
        self._idx.setflags(write=False)
        self._demo = data[demographics].reset_index(drop=True).copy() if demographics else \
            pd.DataFrame(index=pd.RangeIndex(n))
        if weights is None:
            w = None
        else:
            w = _validate_weights(data[weight_col] if weight_col else weights, n)
        self._weights = w
        self._weight_name = weight_col
        self._missing_codes = tuple(missing_codes)
        self.name = name

    # -- construction helpers ------------------------------------------------
    @classmethod
    def _from_parts(cls, items, idx, demo, weights, weight_name, missing_codes, name) -> Survey:
        obj = cls.__new__(cls)
        obj._items = tuple(items)
        obj._idx = np.ascontiguousarray(idx)
        obj._idx.setflags(write=False)
        obj._demo = demo.reset_index(drop=True)
        obj._weights = weights
        obj._weight_name = weight_name
        obj._missing_codes = missing_codes
        obj.name = name
        return obj

    @classmethod
    def from_category_indices(cls, indices, items: Sequence[Item], *, demographics=None,
                              weights=None, name=None) -> Survey:
        """Build a survey from an array of category indices (``-1`` missing,
        ``-2`` invalid), e.g. from a simulator."""
        idx = np.asarray(indices)
        items = tuple(items)
        if idx.ndim != 2 or idx.shape[1] != len(items):
            raise ValueError(f"indices must be (n, {len(items)}), got shape {idx.shape}")
        for j, it in enumerate(items):
            col = idx[:, j]
            bad = (col >= it.n_categories) | (col < INVALID)
            if bad.any():
                raise ValueError(f"item {it.name!r}: category index {int(col[bad][0])} outside "
                                 f"0..{it.n_categories - 1}")
        n = idx.shape[0]
        demo = pd.DataFrame(demographics).reset_index(drop=True) if demographics is not None \
            else pd.DataFrame(index=pd.RangeIndex(n))
        if len(demo) != n:
            raise ValueError(f"demographics have {len(demo)} rows, answers {n}")
        w = None if weights is None else _validate_weights(weights, n)
        return cls._from_parts(items, idx.astype(np.int16), demo, w, None, WVS_MISSING_CODES,
                               name)

    # -- accessors -----------------------------------------------------------
    @property
    def items(self) -> tuple[Item, ...]:
        """Item metadata, in column order."""
        return self._items

    @property
    def item_names(self) -> tuple[str, ...]:
        return tuple(it.name for it in self._items)

    def item(self, name: str) -> Item:
        """Metadata of one item by name."""
        for it in self._items:
            if it.name == name:
                return it
        raise KeyError(f"item {name!r} is not in this survey; items are {self.item_names}")

    @property
    def n_respondents(self) -> int:
        return self._idx.shape[0]

    def __len__(self) -> int:
        return self._idx.shape[0]

    @property
    def n_items(self) -> int:
        return len(self._items)

    @property
    def weights(self) -> np.ndarray | None:
        """Survey weights (read-only array) or None when unweighted."""
        return self._weights

    @property
    def weight_name(self) -> str | None:
        """Name of the weight column the survey was built with (None if unknown)."""
        return self._weight_name

    def weights_or_ones(self) -> np.ndarray:
        """Weights, or an array of ones when the survey is unweighted."""
        return np.ones(len(self)) if self._weights is None else self._weights

    @property
    def demographics(self) -> pd.DataFrame:
        """Demographic columns (a copy)."""
        return self._demo.copy()

    def category_indices(self) -> np.ndarray:
        """(n, p) int16 array: category index 0..K-1, -1 missing, -2 invalid."""
        return self._idx

    @property
    def n_categories(self) -> np.ndarray:
        return np.array([it.n_categories for it in self._items])

    @property
    def missing_mask(self) -> np.ndarray:
        return self._idx == MISSING

    @property
    def invalid_mask(self) -> np.ndarray:
        return self._idx == INVALID

    @property
    def valid_mask(self) -> np.ndarray:
        return self._idx >= 0

    def responses(self) -> pd.DataFrame:
        """Answers as their codes (nullable ``Int64``; missing and invalid are NA)."""
        cols = {}
        for j, it in enumerate(self._items):
            col = self._idx[:, j]
            codes = np.asarray(it.codes)[np.clip(col, 0, None)]
            cols[it.name] = pd.array(np.where(col >= 0, codes, 0), dtype="Int64")
            cols[it.name][col < 0] = pd.NA
        return pd.DataFrame(cols)

    def to_frame(self) -> pd.DataFrame:
        """Answers, demographics and weights as one DataFrame."""
        parts = [self.responses(), self._demo]
        df = pd.concat(parts, axis=1)
        if self._weights is not None:
            df[self._weight_name or "weight"] = self._weights
        return df

    # -- subsetting ----------------------------------------------------------
    def subset(self, rows) -> Survey:
        """Respondents selected by a boolean mask or integer positions; keeps metadata."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            if rows.shape != (len(self),):
                raise ValueError(f"boolean row mask has shape {rows.shape}, expected "
                                 f"({len(self)},)")
            pos = np.flatnonzero(rows)
        else:
            pos = rows.astype(np.int64)
        w = None if self._weights is None else self._weights[pos]
        return Survey._from_parts(self._items, self._idx[pos], self._demo.iloc[pos], w,
                                  self._weight_name, self._missing_codes, self.name)

    def select(self, items: Sequence[str]) -> Survey:
        """A survey with only the named items (in the order given)."""
        names = list(items)
        pos = []
        for nm in names:
            try:
                pos.append(self.item_names.index(nm))
            except ValueError:
                raise KeyError(f"item {nm!r} is not in this survey; items are "
                               f"{self.item_names}") from None
        return Survey._from_parts([self._items[j] for j in pos], self._idx[:, pos], self._demo,
                                  self._weights, self._weight_name, self._missing_codes,
                                  self.name)

    def with_name(self, name: str) -> Survey:
        return Survey._from_parts(self._items, self._idx, self._demo, self._weights,
                                  self._weight_name, self._missing_codes, name)

    def groupby(self, by: str | Sequence[str]) -> Iterator[tuple[tuple, Survey]]:
        """Yield ``(key, subsurvey)`` for each observed combination of the
        demographic columns ``by`` (rows with a missing demographic are dropped)."""
        by = [by] if isinstance(by, str) else list(by)
        for col in by:
            if col not in self._demo.columns:
                raise KeyError(f"demographic column {col!r} not in this survey; demographics are "
                               f"{list(self._demo.columns)}")
        grouped = self._demo.groupby(by, sort=True, dropna=True, observed=True).indices
        for key, pos in grouped.items():
            key = key if isinstance(key, tuple) else (key,)
            key = tuple(k.item() if isinstance(k, np.generic) else k for k in key)
            yield key, self.subset(np.sort(pos))

    # -- summaries -----------------------------------------------------------
    def invalid_rate(self, by: str | Sequence[str] | None = None) -> pd.Series | pd.DataFrame:
        """Share of invalid (unparseable) answers per item, optionally per subgroup.

        The denominator is every answer (valid, missing or invalid); the rate
        is unweighted, since it describes the simulator, not the population.
        """
        if by is None:
            return pd.Series(self.invalid_mask.mean(axis=0), index=list(self.item_names),
                             name="invalid_rate")
        rows = {}
        for key, sub in self.groupby(by):
            rows[key if len(key) > 1 else key[0]] = sub.invalid_mask.mean(axis=0)
        out = pd.DataFrame.from_dict(rows, orient="index", columns=list(self.item_names))
        out.index.name = by if isinstance(by, str) else "subgroup"
        return out

    def missing_rate(self) -> pd.Series:
        """Share of missing answers per item (invalid answers not counted)."""
        return pd.Series(self.missing_mask.mean(axis=0), index=list(self.item_names),
                         name="missing_rate")

    def __repr__(self) -> str:
        w = "weighted" if self._weights is not None else "unweighted"
        nm = f"{self.name!r}, " if self.name else ""
        demo = list(self._demo.columns)
        return (f"Survey({nm}{len(self)} respondents x {self.n_items} items, {w}, "
                f"demographics={demo})")


def _validate_weights(weights, n: int) -> np.ndarray:
    w = pd.to_numeric(pd.Series(np.asarray(weights, dtype=object).ravel()), errors="coerce")
    w = w.to_numpy(dtype=float)
    if w.shape != (n,):
        raise ValueError(f"weights have {w.size} values for {n} respondents")
    bad = ~np.isfinite(w)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"weights must be finite numbers: respondent at row {i} has weight "
                         f"{np.asarray(weights, dtype=object).ravel()[i]!r} "
                         f"({int(bad.sum())} non-finite in all)")
    if (w < 0).any():
        i = int(np.flatnonzero(w < 0)[0])
        raise ValueError(f"weights must be non-negative: respondent at row {i} has weight "
                         f"{w[i]:g} ({int((w < 0).sum())} negative in all)")
    if n and w.sum() <= 0:
        raise ValueError("weights sum to zero; at least one respondent needs a positive weight")
    w.setflags(write=False)
    return w


def check_compatible(a: Survey, b: Survey, *, what: tuple[str, str] = ("gold", "simulated")
                     ) -> None:
    """Raise ``ValueError`` unless two surveys share items with the same metadata.

    Items must have the same names, codes and kind, in any order of columns
    (callers align by name).
    """
    na, nb = set(a.item_names), set(b.item_names)
    if na != nb:
        only_a = sorted(na - nb)
        only_b = sorted(nb - na)
        msg = []
        if only_a:
            msg.append(f"item(s) {only_a} only in {what[0]}")
        if only_b:
            msg.append(f"item(s) {only_b} only in {what[1]}")
        raise ValueError("surveys have different items: " + "; ".join(msg) +
                         "; select common items with Survey.select(...)")
    for it in a.items:
        other = b.item(it.name)
        if it.codes != other.codes:
            raise ValueError(f"item {it.name!r} has codes {it.codes} in {what[0]} but "
                             f"{other.codes} in {what[1]}; build the {what[1]} survey with "
                             f"items={what[0]}.items")
        if it.kind != other.kind:
            raise ValueError(f"item {it.name!r} is {it.kind} in {what[0]} but {other.kind} in "
                             f"{what[1]}")

