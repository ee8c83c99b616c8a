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

from popaudit._inference import warn as _warn

__all__ = [
    "INVALID",
    "MISSING",
    "WVS_MISSING_CODES",
    "Item",
    "Survey",
    "as_populations",
    "check_compatible",
    "infer_items",
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
    positions : sequence of float, optional
        Where each option sits on the scale, one number per code (in the order
        of ``codes``), for every distance-aware metric (W1 and
        representativeness, modal distance error, expected distance). Default
        (None): unit spacing ``0, 1, ..., K-1`` whatever the codes. OpinionQA
        places options by an ordinal value per option, which may be unequal
        and out of listed order, e.g. ``(1, 2, 1.5)`` for a neutral option
        listed last; ``positions=codes`` measures distances on the codes.
        Distances are divided by the diameter ``max - min`` position.

    Examples
    --------
    >>> it = Item("Q1", codes=(1, 2, 3), labels=("Agree", "Disagree", "Neutral"),
    ...           positions=(1, 2, 1.5))
    >>> it.scale_positions().tolist(), it.diameter
    ([1.0, 2.0, 1.5], 1.0)
    >>> Item("Q2", codes=(1, 3, 7)).scale_positions().tolist()
    [0.0, 1.0, 2.0]
    """

    name: str
    codes: tuple[int, ...]
    labels: tuple[str, ...] | None = None
    kind: ItemKind = "ordinal"
    missing: tuple[int, ...] = ()
    text: str | None = None
    reverse: bool = False
    positions: tuple[float, ...] | None = None

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
        if self.positions is not None:
            try:
                pos = tuple(float(x) for x in self.positions)
            except (TypeError, ValueError):
                raise ValueError(f"item {self.name!r} has positions {self.positions!r}; give one "
                                 "number per code") from None
            if len(pos) != len(codes):
                raise ValueError(f"item {self.name!r} has {len(codes)} codes but {len(pos)} "
                                 "positions; give one position per code, in code order")
            if not all(np.isfinite(pos)):
                raise ValueError(f"item {self.name!r} has a non-finite position in {pos}")
            if max(pos) == min(pos):
                raise ValueError(f"item {self.name!r} puts every option at position {pos[0]:g}; "
                                 "positions need at least two distinct values")
            object.__setattr__(self, "positions", pos)

    def scale_positions(self) -> np.ndarray:
        """Option positions used by distance-aware metrics (float array, code order):
        the declared ``positions`` or unit spacing ``0 .. K-1``."""
        if self.positions is None:
            return np.arange(len(self.codes), dtype=float)
        return np.asarray(self.positions, dtype=float)

    @property
    def diameter(self) -> float:
        """``max - min`` position: the divisor that maps distances to [0, 1]."""
        pos = self.scale_positions()
        return float(pos.max() - pos.min())

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
        """Infer an item's scale from observed values (valid = not missing).

        The scale is the contiguous integer range from the lowest to the highest
        observed code: a code inside the range that nobody gave (gold never
        answered 3 on a 1..5 item) is a category with no answers, not a hole in
        the scale, and a ``UserWarning`` names it. Declare the item
        (``Item(name, codes=...)``, or the codebook's items) when the scale
        differs. Two codes make a binary item, more an ordinal one, unless
        ``kind`` is given. To infer one scale for gold and simulated answers
        together, use :func:`infer_items`.

        Examples
        --------
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     it = Item.infer("q1", [1, 2, 4, 5, 5])
        >>> it.codes
        (1, 2, 3, 4, 5)
        >>> print(caught[0].message)  # doctest: +ELLIPSIS
        item 'q1': code(s) [3] inside the observed range 1..5 were never given; ...
        """
        observed = _observed_codes(name, values, missing_codes)
        return _item_from_codes(name, observed, kind)


def _observed_codes(name: str, values, missing_codes: Sequence[int]) -> tuple[int, ...]:
    """Distinct valid integer codes among ``values`` (errors name the item)."""
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
    return tuple(int(c) for c in np.unique(arr))


#: Largest scale :meth:`Item.infer` fills in from observed codes; beyond it, declare the item.
MAX_INFERRED_CODES = 101


def _item_from_codes(name: str, observed: Sequence[int], kind) -> Item:
    lo, hi = min(observed), max(observed)
    if lo == hi:
        raise ValueError(
            f"item {name!r} has a single observed code {lo}; declare its scale with "
            "Item(name, codes=...)"
        )
    if hi - lo + 1 > MAX_INFERRED_CODES:
        raise ValueError(
            f"item {name!r} has codes from {lo} to {hi} ({len(observed)} distinct): too wide "
            "to be a scale; declare it with Item(name, codes=..., missing=...) (a code such "
            "as 99 'refused' belongs in missing=)"
        )
    codes = tuple(range(lo, hi + 1))
    unseen = sorted(set(codes) - set(observed))
    if unseen:
        shown = unseen[:20] + (["..."] if len(unseen) > 20 else [])
        _warn(f"item {name!r}: code(s) {shown} inside the observed range {lo}..{hi} were "
              f"never given; the scale is taken as {lo}..{hi} with no answers there. Declare "
              f"Item({name!r}, codes=...) or use the codebook's items if the scale differs")
    if kind is None:
        kind = "binary" if len(codes) == 2 else "ordinal"
    return Item(name=name, codes=codes, kind=kind)


def infer_items(*data: pd.DataFrame, items: Sequence[str] | None = None,
                missing_codes: Sequence[int] = WVS_MISSING_CODES) -> tuple[Item, ...]:
    """One inferred scale per item from several tables at once (gold and simulated together).

    Inferring each population's scale on its own gives two scales as soon as
    one population never used a code; pass both tables here and build both
    surveys with the result (``Survey(df, items=infer_items(gold_df, sim_df))``).

    Parameters
    ----------
    *data : DataFrame
        Tables of answer codes; each must hold every item column.
    items : sequence of str, optional
        Item columns (default: the columns of the first table).
    missing_codes : sequence of int
        As for :class:`Survey`.

    Returns
    -------
    tuple of Item
        Contiguous integer scales from the lowest to the highest code observed
        in any table (see :meth:`Item.infer`; a warning names codes nobody gave).

    Examples
    --------
    >>> import pandas as pd
    >>> gold = pd.DataFrame({"q1": [1, 2, 2, 3]})
    >>> sim = pd.DataFrame({"q1": [2, 3, 3, 4]})
    >>> [it.codes for it in infer_items(gold, sim)]
    [(1, 2, 3, 4)]
    """
    if not data:
        raise ValueError("infer_items needs at least one table")
    for d in data:
        if not isinstance(d, pd.DataFrame):
            raise TypeError(f"infer_items expects DataFrames, got {type(d).__name__}")
    names = [str(c) for c in (data[0].columns if items is None else items)]
    out = []
    for nm in names:
        absent = [i for i, d in enumerate(data) if nm not in d.columns]
        if absent:
            raise KeyError(f"item column {nm!r} is not in table(s) {absent} (0-based)")
        values = pd.concat([d[nm].astype(object) for d in data], ignore_index=True)
        out.append(Item.infer(nm, values, missing_codes=missing_codes))
    return tuple(out)


def _as_item_tuple(items) -> tuple[Item, ...] | None:
    if items is None:
        return None
    if isinstance(items, Mapping):
        items = [it if isinstance(it, Item) else Item(name=k, **it) for k, it in items.items()]
    return tuple(items)


def _encode_column(item: Item, raw: pd.Series, *, missing_codes: Sequence[int],
                   invalid_codes: Sequence, out_of_scale: str,
                   refusal_codes: Sequence[int] = ()
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw answers of one item -> category indices (-1 missing, -2 invalid), the mask of
    refusals (missing answers whose code is a refusal code) and the mask of text answers
    (not numbers, not declared invalid codes)."""
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
    refusal = {int(c) for c in refusal_codes} - set(code_pos)
    miss = set(missing_codes) | set(item.missing) | refusal
    refused = np.zeros(n, dtype=bool)
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
            if u in refusal:
                refused |= sel
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
    return out, refused & (out == MISSING), unparseable & ~explicit_invalid


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
        invalid or a missing answer (for simulated answers). With the default,
        text answers (counted as invalid) get a ``UserWarning``: invalid answers
        are expected only from simulations.
    refusal_codes : sequence of int, optional
        Missing codes that mean the respondent saw the item and declined to
        answer (e.g. WVS -2 "no answer", Pew 99 "refused"); other missing codes
        are blanks (not asked, not applicable). Needed by
        :meth:`refusal_rate`; refusals are missing answers everywhere else.
    name : str, optional
        A label for the population (used in reports).

    Examples
    --------
    >>> import pandas as pd
    >>> import popaudit as pa
    >>> df = pd.DataFrame({"Q1": [1, 2, 2, -1], "Q2": [1, 3, "refused", 2],
    ...                    "sex": [1, 2, 1, 2]})
    >>> s = pa.Survey(df, items=["Q1", "Q2"], demographics=["sex"], out_of_scale="invalid")
    >>> s.n_respondents, s.item_names
    (4, ('Q1', 'Q2'))
    >>> s.invalid_rate().round(2).to_dict()
    {'Q1': 0.0, 'Q2': 0.25}
    """

    def __init__(self, data: pd.DataFrame, items=None, *, demographics: Sequence[str] | None = None,
                 weights=None, missing_codes: Sequence[int] = WVS_MISSING_CODES,
                 invalid_codes: Sequence = (), out_of_scale: str = "raise",
                 refusal_codes: Sequence[int] = (), name: str | None = None) -> None:
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
        refusal_codes = tuple(int(c) for c in refusal_codes)
        idx = np.empty((n, len(resolved)), dtype=np.int16)
        refused = np.zeros((n, len(resolved)), dtype=bool)
        text_invalid: dict[str, tuple[int, object]] = {}
        for j, it in enumerate(resolved):
            idx[:, j], refused[:, j], text = _encode_column(
                it, data[it.name], missing_codes=missing_codes, invalid_codes=invalid_codes,
                out_of_scale=out_of_scale, refusal_codes=refusal_codes)
            if out_of_scale == "raise" and text.any():
                bad = data[it.name].to_numpy(dtype=object)[text]
                text_invalid[it.name] = (len(bad), bad[0])
            if n and not np.any(idx[:, j] >= 0):
                raise ValueError(
                    f"item {it.name!r} has no valid answers (all {n} are missing or invalid); "
                    "drop it from items=..."
                )
        if text_invalid:
            shown = "; ".join(f"{nm!r}: {k} (e.g. {v!r})"
                              for nm, (k, v) in list(text_invalid.items())[:5])
            more = f" and {len(text_invalid) - 5} more item(s)" if len(text_invalid) > 5 else ""
            _warn(f"answers that are not codes were counted as invalid in {shown}{more}. "
                  "Invalid answers are expected only from simulations: for real (gold) "
                  "data, recode them to a missing code first; for simulated answers pass "
                  "out_of_scale='invalid' (or read raw model answers with "
                  "popaudit.read_answers)")
        self._idx = idx
        self._idx.setflags(write=False)
        self._refusal_codes = refusal_codes
        self._refused = refused if refusal_codes else None
        if self._refused is not None:
            self._refused.setflags(write=False)
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
    def _from_parts(cls, items, idx, demo, weights, weight_name, missing_codes, name,
                    refused=None, refusal_codes=()) -> Survey:
        obj = cls.__new__(cls)
        obj._items = tuple(items)
        obj._idx = np.ascontiguousarray(idx)
        obj._idx.setflags(write=False)
        obj._demo = demo.reset_index(drop=True)
        obj._weights = weights
        obj._weight_name = weight_name
        obj._missing_codes = missing_codes
        obj._refusal_codes = tuple(refusal_codes)
        if refused is not None:
            refused = np.ascontiguousarray(refused, dtype=bool)
            refused.setflags(write=False)
        obj._refused = refused
        obj.name = name
        return obj

    def _parts(self, rows=None, cols=None, **changes) -> Survey:
        """A copy with respondents ``rows`` and items ``cols`` (positions), other fields kept."""
        idx, refused, w, demo = self._idx, self._refused, self._weights, self._demo
        items = self._items
        if rows is not None:
            idx, demo = idx[rows], demo.iloc[rows]
            refused = None if refused is None else refused[rows]
            w = None if w is None else w[rows]
        if cols is not None:
            idx = idx[:, cols]
            refused = None if refused is None else refused[:, cols]
            items = [items[j] for j in cols]
        fields = {"items": items, "idx": idx, "demo": demo, "weights": w,
                  "weight_name": self._weight_name, "missing_codes": self._missing_codes,
                  "name": self.name, "refused": refused, "refusal_codes": self._refusal_codes}
        fields.update(changes)
        return Survey._from_parts(**fields)

    @classmethod
    def from_category_indices(cls, indices, items: Sequence[Item], *, demographics=None,
                              weights=None, name=None, refused=None) -> Survey:
        """Build a survey from an array of category indices (``-1`` missing,
        ``-2`` invalid), e.g. from a simulator; ``refused`` optionally marks the
        missing answers that are refusals (boolean, same shape)."""
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
        ref = None
        if refused is not None:
            ref = np.asarray(refused, dtype=bool)
            if ref.shape != idx.shape:
                raise ValueError(f"refused must have the shape of indices {idx.shape}, got "
                                 f"{ref.shape}")
            ref = ref & (idx == MISSING)
        return cls._from_parts(items, idx.astype(np.int16), demo, w, None, WVS_MISSING_CODES,
                               name, refused=ref)

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
        return self._parts(rows=pos)

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
        return self._parts(cols=pos)

    def with_name(self, name: str) -> Survey:
        return self._parts(name=name)

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
        """Share of missing answers per item (invalid answers not counted).

        Unweighted, over the whole population, and blanks (not asked) and
        refusals together; :meth:`refusal_rate` is the weighted refusal rate
        per subgroup.
        """
        return pd.Series(self.missing_mask.mean(axis=0), index=list(self.item_names),
                         name="missing_rate")

    @property
    def refused_mask(self) -> np.ndarray | None:
        """(n, p) bool: missing answers that are refusals; None when the survey was built
        without ``refusal_codes``."""
        return self._refused

    @property
    def refusal_codes(self) -> tuple:
        """The codes read as refusals (``Survey(refusal_codes=...)``)."""
        return self._refusal_codes

    def refusal_rate(self, by: str | Sequence[str] | None = None, *, weighted: bool = True
                     ) -> pd.Series | pd.DataFrame:
        """Weighted refusal rate per item, optionally per subgroup (OpinionQA's R_H).

        ``R = sum_i w_i 1{refused} / sum_i w_i 1{answered or refused}``: refusals over
        the weight of the respondents who saw the item and either answered or
        declined. Blanks (missing codes that are not refusal codes: not asked,
        not applicable) are left out of both; invalid answers too.

        Parameters
        ----------
        by : str or sequence of str, optional
            Demographic column(s); one row per observed combination.
        weighted : bool
            Use the survey weights (default) or count respondents.

        Returns
        -------
        Series (``by=None``; index items) or DataFrame (subgroups x items); NaN
        where nobody answered or refused.

        Raises
        ------
        ValueError
            The survey was built without ``refusal_codes``.

        Examples
        --------
        >>> import pandas as pd
        >>> import popaudit as pa
        >>> df = pd.DataFrame({"Q1": [1, 2, -2, -4, 1, -2], "sex": [1, 1, 1, 2, 2, 2],
        ...                    "w": [1.0, 1.0, 2.0, 5.0, 1.0, 1.0]})
        >>> s = pa.Survey(df, items=[pa.Item("Q1", codes=(1, 2))], demographics=["sex"],
        ...               weights="w", refusal_codes=(-2,))
        >>> s.refusal_rate().round(3).to_dict()      # 3 / (1 + 1 + 2 + 1 + 1); -4 is a blank
        {'Q1': 0.5}
        >>> s.refusal_rate(by="sex").round(3)["Q1"].to_dict()
        {1: 0.5, 2: 0.5}
        """
        if self._refused is None:
            raise ValueError("this survey has no refusal codes: build it with "
                             "Survey(..., refusal_codes=[...]) naming the codes that mean "
                             "'declined to answer' (WVS: -2 no answer, -1 don't know; "
                             "read_wvs sets them), so that blanks and refusals are told apart")
        w = self.weights_or_ones() if weighted else np.ones(len(self))
        answered = (self._idx >= 0) | self._refused

        def rate(rows):
            num = (self._refused[rows] * w[rows, None]).sum(axis=0)
            den = (answered[rows] * w[rows, None]).sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)

        if by is None:
            return pd.Series(rate(np.arange(len(self))), index=list(self.item_names),
                             name="refusal_rate")
        by_l = [by] if isinstance(by, str) else list(by)
        for col in by_l:
            if col not in self._demo.columns:
                raise KeyError(f"demographic column {col!r} not in this survey; demographics are "
                               f"{list(self._demo.columns)}")
        grouped = self._demo.groupby(by_l, sort=True, dropna=True, observed=True).indices
        rows = {}
        for key, pos in grouped.items():
            key = key if isinstance(key, tuple) else (key,)
            key = tuple(k.item() if isinstance(k, np.generic) else k for k in key)
            rows[key if len(key) > 1 else key[0]] = rate(np.sort(pos))
        out = pd.DataFrame.from_dict(rows, orient="index", columns=list(self.item_names))
        out.index.name = by if isinstance(by, str) else "subgroup"
        return out

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
                             f"items={what[0]}.items (or infer one scale for both with "
                             "popaudit.infer_items)")
        if it.kind != other.kind:
            raise ValueError(f"item {it.name!r} is {it.kind} in {what[0]} but {other.kind} in "
                             f"{what[1]}")
        if not np.array_equal(it.scale_positions(), other.scale_positions()):
            raise ValueError(f"item {it.name!r} has option positions "
                             f"{tuple(it.scale_positions().tolist())} in {what[0]} but "
                             f"{tuple(other.scale_positions().tolist())} in {what[1]}; build "
                             f"the {what[1]} population with items={what[0]}.items")


def as_populations(populations, *, kinds: tuple[type, ...] = (Survey,),
                   default_name: str = "simulated", what: str = "simulated") -> dict:
    """``{name: population}`` from one population or a mapping name -> population.

    One population (an instance of ``kinds``) is named by its ``name`` attribute, else
    ``default_name``. ``what`` names the argument in errors. Every function that takes
    "one or several simulated populations" goes through here.

    >>> import pandas as pd
    >>> s = Survey(pd.DataFrame({"Q1": [1, 2]}), items=[Item("Q1", codes=(1, 2))],
    ...            name="persona")
    >>> list(as_populations(s)), list(as_populations({"a": s, "b": s}))
    (['persona'], ['a', 'b'])
    """
    if isinstance(populations, kinds):
        return {getattr(populations, "name", None) or default_name: populations}
    names = " or ".join(k.__name__ for k in kinds)
    if not isinstance(populations, Mapping) or not populations:
        raise TypeError(f"{what} must be a {names} or a non-empty mapping name -> population, "
                        f"got {type(populations).__name__}")
    for name, pop in populations.items():
        if not isinstance(pop, kinds):
            raise TypeError(f"{what}[{name!r}] is a {type(pop).__name__}, not a {names}")
    return dict(populations)

