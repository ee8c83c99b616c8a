"""Reading World Values Survey wave 7 files, with documented demographic recodes.

:func:`read_wvs` reads an official WVS-7 release file (the cross-national file
or a country file, as CSV, SPSS ``.sav`` or Stata ``.dta``), selects a
country, maps the WVS missing codes, carries the right weight and derives the
demographic columns that subgroup analyses use; :func:`wvs_survey` does the
same for a DataFrame already in memory, and :func:`derive_demographics`
computes the derived columns alone. Item metadata (codes, labels, kind,
item-specific missing codes, direction) come from the codebook facts shipped
in :mod:`popaudit.datasets` for the items popaudit knows; other items get their
scale from the file's value labels (SPSS/Stata) or observed codes.

Derived demographics (every recode is listed by :func:`recode_table`)
-------------------------------------------------------------------
``sex``
    Q260: 1 ``"male"``, 2 ``"female"``.
``age_group``
    Age bands. Default: the WVS's six recoded bands 16-24, 25-34, 35-44,
    45-54, 55-64, 65+ (:data:`WVS_AGE_BANDS`), taken from X003R where the
    file has it (and X003R is valid), otherwise cut from the age Q262.
    Other bands (``age_bands=`` lower bounds) are always cut from Q262.
``education``
    Q275 (ISCED 2011 level 0-8): 0-2 ``"lower"``, 3-4 ``"middle"``, 5-8
    ``"upper"`` (:data:`EDUCATION_GROUPS`, the grouping of the WVS's Q275R);
    where Q275 is missing and the default grouping is used, Q275R fills in.
``religion``
    Q289 (0 no denomination, 1 Roman Catholic, 2 Protestant, 3 Orthodox,
    4 Jew, 5 Muslim, 6 Hindu, 7 Buddhist, 8 other Christian, 9 other), grouped
    by a named grouping of :data:`RELIGION_GROUPINGS` (default
    ``"denomination"``: one group per code) or a mapping.
``ethnicity``
    Q290 (country-specific codes), grouped by the grouping shipped for the
    country (:data:`ETHNICITY_GROUPINGS`; Singapore: Chinese, Malay, Indian,
    other) or a mapping given by the user.
``country``
    B_COUNTRY_ALPHA.

A grouping maps each group label to the source codes it contains; ``None``
in place of the codes means "every other valid code" (a catch-all group).
Negative codes (the WVS missing codes -1 ... -5) are missing in every
demographic column; respondents with a missing value in a column are left out
of the subgroups defined by that column.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from popaudit._inference import warn as _warn
from popaudit.data.codebook import codebook as _codebook
from popaudit.data.codebook import codebook_items
from popaudit.data.io import (
    _format_of,
    check_file,
    check_rows,
    csv_header,
    item_from_values,
    read_table,
)
from popaudit.data.survey import WVS_MISSING_CODES, Item, Survey

__all__ = [
    "DEMOGRAPHIC_COLUMNS",
    "EDUCATION_GROUPS",
    "ETHNICITY_GROUPINGS",
    "RAW_DEMOGRAPHICS",
    "RELIGION_GROUPINGS",
    "SEX_LABELS",
    "WVS_AGE_BANDS",
    "WVS_REFUSAL_CODES",
    "age_band_labels",
    "derive_demographics",
    "read_wvs",
    "recode_table",
    "wvs_survey",
]

#: Lower bounds of the WVS's six recoded age bands (X003R): 16-24, 25-34, ..., 65+.
WVS_AGE_BANDS: tuple[int, ...] = (16, 25, 35, 45, 55, 65)

#: Q260 codes -> ``sex`` values.
SEX_LABELS: dict[int, str] = {1: "male", 2: "female"}

#: Q275 ISCED levels -> ``education`` groups (the WVS's Q275R grouping).
EDUCATION_GROUPS: dict[str, tuple[int, ...]] = {
    "lower": (0, 1, 2), "middle": (3, 4), "upper": (5, 6, 7, 8)}
_Q275R = {1: "lower", 2: "middle", 3: "upper"}

#: Named groupings of Q289 (religious denomination, major groups).
RELIGION_GROUPINGS: dict[str, dict[str, tuple[int, ...]]] = {
    "denomination": {
        "no denomination": (0,), "Roman Catholic": (1,), "Protestant": (2,),
        "Orthodox": (3,), "Jew": (4,), "Muslim": (5,), "Hindu": (6,), "Buddhist": (7,),
        "other Christian": (8,), "other": (9,)},
    "broad": {
        "no denomination": (0,), "Christian": (1, 2, 3, 8), "Muslim": (5,), "Hindu": (6,),
        "Buddhist": (7,), "other": (4, 9)},
}

#: Shipped Q290 groupings by ISO alpha-3 country code (``None`` = every other valid code).
ETHNICITY_GROUPINGS: dict[str, dict[str, tuple[int, ...] | None]] = {
    "SGP": {"Chinese": (702004,), "Malay": (702006,), "Indian": (702003,), "other": None},
}

#: Derived demographic columns, in the order :func:`wvs_survey` adds them.
DEMOGRAPHIC_COLUMNS: tuple[str, ...] = ("sex", "age_group", "education", "religion",
                                        "ethnicity", "country")
#: Raw WVS-7 demographic and administrative columns kept beside the derived ones.
RAW_DEMOGRAPHICS: tuple[str, ...] = ("Q260", "Q261", "Q262", "X003R", "Q275", "Q275R", "Q289",
                                     "Q290", "B_COUNTRY", "B_COUNTRY_ALPHA")
_WEIGHTS = ("W_WEIGHT", "S018", "S017")
#: WVS missing codes read as refusals by default (:meth:`popaudit.Survey.refusal_rate`): -2 "no
#: answer"; -1 "don't know" is a non-answer too (pass ``refusal_codes=(-1, -2)`` to count it),
#: -3 .. -5 are blanks (not applicable, not asked, missing).
WVS_REFUSAL_CODES: tuple[int, ...] = (-2,)
_COUNTRY_COLS = ("B_COUNTRY", "B_COUNTRY_ALPHA")


# ---------------------------------------------------------------------------------------------
# recodes
# ---------------------------------------------------------------------------------------------
def age_band_labels(bounds: Sequence[int] = WVS_AGE_BANDS) -> tuple[str, ...]:
    """Labels of age bands given by their lower bounds: ``"16-24"``, ..., ``"65+"``.

    Examples
    --------
    >>> age_band_labels((18, 30, 60))
    ('18-29', '30-59', '60+')
    """
    b = _check_bounds(bounds)
    return tuple(f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(b)) + (f"{b[-1]}+",)


def _check_bounds(bounds) -> tuple[int, ...]:
    b = tuple(int(x) for x in bounds)
    if len(b) < 1 or any(x < 0 for x in b) or list(b) != sorted(set(b)):
        raise ValueError(f"age_bands must be increasing non-negative lower bounds, got {bounds!r}")
    return b


def _numeric(col: pd.Series) -> np.ndarray:
    """Column as float with WVS missing codes (negative) and non-numbers as NaN."""
    v = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.where(v < 0, np.nan, v)


def _as_labels(values: np.ndarray, mask: np.ndarray) -> pd.Series:
    out = np.full(len(values), None, dtype=object)
    out[mask] = values[mask]
    return pd.Series(out, dtype=object)


def _apply_grouping(codes: np.ndarray, grouping: Mapping, column: str) -> pd.Series:
    """Group labels of valid codes (NaN -> missing); codes in no group raise."""
    lookup: dict[int, str] = {}
    rest = None
    for label, members in grouping.items():
        if members is None:
            if rest is not None:
                raise ValueError(f"{column} grouping has two catch-all groups ({rest!r}, "
                                 f"{label!r}); give None to one group only")
            rest = str(label)
            continue
        for c in members:
            c = int(c)
            if c in lookup:
                raise ValueError(f"{column} code {c} is in two groups ({lookup[c]!r} and "
                                 f"{label!r})")
            lookup[c] = str(label)
    valid = np.isfinite(codes)
    out = np.full(len(codes), None, dtype=object)
    ints = np.where(valid, codes, -1).astype(np.int64)
    unknown = sorted({int(c) for c in np.unique(ints[valid]) if int(c) not in lookup})
    if unknown and rest is None:
        raise ValueError(f"{column} has code(s) {unknown[:10]} that no group contains; add them "
                         "to a group, or give a catch-all group (label: None)")
    for c in np.unique(ints[valid]):
        out[valid & (ints == c)] = lookup.get(int(c), rest)
    return pd.Series(out, dtype=object)


def _resolve_religion(religion) -> Mapping:
    if isinstance(religion, str):
        if religion not in RELIGION_GROUPINGS:
            raise ValueError(f"unknown religion grouping {religion!r}; use one of "
                             f"{sorted(RELIGION_GROUPINGS)} or a mapping {{label: codes}}")
        return RELIGION_GROUPINGS[religion]
    if isinstance(religion, Mapping):
        return religion
    raise TypeError("religion must be a grouping name or a mapping {label: Q289 codes}")


def _resolve_ethnicity(ethnicity, countries: Sequence[str]) -> Mapping | None:
    """The Q290 grouping to use, or None to skip the column."""
    if ethnicity is None:
        return None
    if isinstance(ethnicity, Mapping):
        return ethnicity
    if ethnicity not in ("auto", "shipped"):
        raise ValueError("ethnicity must be 'auto', 'shipped', None or a mapping "
                         "{label: Q290 codes}")
    if len(countries) != 1:
        if ethnicity == "shipped":
            raise ValueError(f"ethnicity='shipped' needs a single country (Q290 codes are "
                             f"country-specific); the data hold {list(countries)[:10]}: select "
                             "one with country=...")
        return None
    c = countries[0]
    if c not in ETHNICITY_GROUPINGS:
        if ethnicity == "shipped":
            raise ValueError(f"no ethnicity grouping is shipped for country {c!r} (shipped: "
                             f"{sorted(ETHNICITY_GROUPINGS)}); pass ethnicity={{label: [Q290 "
                             "codes]}} to group its codes, or ethnicity=None")
        return None
    return ETHNICITY_GROUPINGS[c]


def derive_demographics(frame: pd.DataFrame, *, age_bands: Sequence[int] = WVS_AGE_BANDS,
                        education: Mapping | None = None, religion="denomination",
                        ethnicity="auto", country: str | None = None) -> pd.DataFrame:
    """Derived demographic columns from WVS-7 raw columns (documented recodes).

    Parameters
    ----------
    frame : DataFrame
        WVS-7 columns (any of Q260, Q262, X003R, Q275, Q275R, Q289, Q290,
        B_COUNTRY_ALPHA); a derived column is made when its source is present.
    age_bands : sequence of int
        Lower bounds of the age bands (default :data:`WVS_AGE_BANDS`, read
        from X003R where present); ages below the first bound are missing.
    education : mapping, optional
        ``{label: ISCED codes}`` (default :data:`EDUCATION_GROUPS`).
    religion : str or mapping
        A name in :data:`RELIGION_GROUPINGS` or ``{label: Q289 codes}``.
    ethnicity : "auto", "shipped", None or mapping
        ``"auto"``: the shipped grouping of the (single) country when one
        exists, else no ``ethnicity`` column; ``"shipped"``: the same, but an
        error when none is shipped; ``None``: no column; a mapping
        ``{label: Q290 codes}`` (``None`` as codes for a catch-all group).
    country : str, optional
        ISO alpha-3 code used to pick the shipped ethnicity grouping when the
        frame has no B_COUNTRY_ALPHA column.

    Returns
    -------
    DataFrame
        Columns among :data:`DEMOGRAPHIC_COLUMNS` (object dtype, ``None`` for
        missing), one row per row of ``frame``.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"Q260": [1, 2, -2], "Q262": [19, 70, 40], "Q275": [2, 6, -1],
    ...                     "Q289": [7, 0, 5]})
    >>> derive_demographics(raw).to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'sex': ['male', 'female', None], 'age_group': ['16-24', '65+', '35-44'],
     'education': ['lower', 'upper', None],
     'religion': ['Buddhist', 'no denomination', 'Muslim']}
    """
    cols = {c.upper(): c for c in frame.columns}

    def get(name):
        return frame[cols[name]] if name in cols else None

    out: dict[str, pd.Series] = {}
    q260 = get("Q260")
    if q260 is not None:
        v = _numeric(q260)
        known = np.isin(v, list(SEX_LABELS))
        bad = np.isfinite(v) & ~known
        if bad.any():
            raise ValueError(f"Q260 (sex) has code(s) {sorted(set(v[bad].astype(int)))[:5]}; "
                             "expected 1 male, 2 female or a negative missing code")
        out["sex"] = _as_labels(np.array([SEX_LABELS.get(int(x), "") if np.isfinite(x) else ""
                                          for x in v], dtype=object), known)
    bounds = _check_bounds(age_bands)
    labels = np.array(age_band_labels(bounds), dtype=object)
    q262, x003r = get("Q262"), get("X003R")
    if q262 is not None or (x003r is not None and bounds == WVS_AGE_BANDS):
        n = len(frame)
        band = np.full(n, -1, dtype=np.int64)
        if q262 is not None:
            age = _numeric(q262)
            ok = np.isfinite(age) & (age >= bounds[0])
            band[ok] = np.searchsorted(np.asarray(bounds), age[ok], side="right") - 1
        elif bounds != WVS_AGE_BANDS:  # pragma: no cover - guarded by the condition above
            raise ValueError("custom age_bands need the age column Q262")
        if x003r is not None and bounds == WVS_AGE_BANDS:
            xr = _numeric(x003r)
            okx = np.isin(xr, np.arange(1, 7))
            bad = np.isfinite(xr) & ~okx
            if bad.any():
                raise ValueError(f"X003R has code(s) {sorted(set(xr[bad].astype(int)))[:5]}; "
                                 "expected the six recoded age bands 1..6")
            band[okx] = xr[okx].astype(np.int64) - 1
        out["age_group"] = _as_labels(labels[np.clip(band, 0, None)], band >= 0)
    elif bounds != WVS_AGE_BANDS and x003r is not None:
        raise ValueError("custom age_bands are cut from the age Q262, which is not in the data; "
                         "use the default bands (read from X003R)")
    q275, q275r = get("Q275"), get("Q275R")
    groups = EDUCATION_GROUPS if education is None else education
    if q275 is not None:
        ed = _apply_grouping(_numeric(q275), groups, "Q275")
        if q275r is not None and education is None:
            fill = _numeric(q275r)
            miss = ed.isna().to_numpy() & np.isin(fill, list(_Q275R))
            ed[miss] = [_Q275R[int(x)] for x in fill[miss]]
        out["education"] = ed
    elif q275r is not None and education is None:
        v = _numeric(q275r)
        ok = np.isin(v, list(_Q275R))
        out["education"] = _as_labels(np.array([_Q275R.get(int(x), "") if np.isfinite(x) else ""
                                                 for x in v], dtype=object), ok)
    q289 = get("Q289")
    if q289 is not None:
        out["religion"] = _apply_grouping(_numeric(q289), _resolve_religion(religion), "Q289")
    q290 = get("Q290")
    alpha = get("B_COUNTRY_ALPHA")
    countries = (sorted(pd.unique(alpha.dropna().astype(str))) if alpha is not None
                 else ([country] if country else []))
    if isinstance(ethnicity, Mapping) and q290 is None:
        raise KeyError("an ethnicity grouping was given but the data have no Q290 column")
    if q290 is not None:
        grouping = _resolve_ethnicity(ethnicity, countries)
        if grouping is not None:
            out["ethnicity"] = _apply_grouping(_numeric(q290), grouping, "Q290")
    elif ethnicity == "shipped":
        raise KeyError("ethnicity='shipped' needs the Q290 column, which is not in the data")
    if alpha is not None:
        a = alpha.astype(object).where(alpha.notna(), None)
        out["country"] = pd.Series(a.to_numpy(dtype=object), dtype=object)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def recode_table() -> pd.DataFrame:
    """Every default recode of :func:`derive_demographics`, one row per source code.

    Columns: ``column`` (derived), ``source`` (WVS variable), ``code``
    (source code, or ``"other valid codes"``) and ``value``.

    Examples
    --------
    >>> t = recode_table()
    >>> t[t["column"] == "education"]["value"].unique().tolist()
    ['lower', 'middle', 'upper']
    """
    rows = [("sex", "Q260", c, v) for c, v in SEX_LABELS.items()]
    rows += [("age_group", "X003R", i + 1, lab) for i, lab in enumerate(age_band_labels())]
    rows += [("age_group", "Q262", f">= {lo}" if i == len(WVS_AGE_BANDS) - 1 else
              f"{lo}..{WVS_AGE_BANDS[i + 1] - 1}", lab)
             for i, (lo, lab) in enumerate(zip(WVS_AGE_BANDS, age_band_labels()))]
    rows += [("education", "Q275", c, lab) for lab, cs in EDUCATION_GROUPS.items() for c in cs]
    rows += [("education", "Q275R", c, lab) for c, lab in _Q275R.items()]
    rows += [("religion", "Q289", c, lab)
             for lab, cs in RELIGION_GROUPINGS["denomination"].items() for c in cs]
    for ctry, grouping in ETHNICITY_GROUPINGS.items():
        rows += [(f"ethnicity ({ctry})", "Q290", "other valid codes" if cs is None else c, lab)
                 for lab, cs in grouping.items() for c in ((None,) if cs is None else cs)]
    return pd.DataFrame(rows, columns=["column", "source", "code", "value"]).astype(
        {"code": object})


# ---------------------------------------------------------------------------------------------
# country selection, weights, items
# ---------------------------------------------------------------------------------------------
def _select_country(frame: pd.DataFrame, country) -> tuple[pd.DataFrame, list[str]]:
    """Rows of one country (alpha-3 or numeric code) and the country labels present."""
    has_alpha = "B_COUNTRY_ALPHA" in frame.columns
    has_num = "B_COUNTRY" in frame.columns
    if country is not None and not (has_alpha or has_num):
        raise KeyError(f"cannot select country {country!r}: the data have neither B_COUNTRY nor "
                       "B_COUNTRY_ALPHA")
    alpha = frame["B_COUNTRY_ALPHA"].astype(str).str.strip() if has_alpha else None
    num = pd.to_numeric(frame["B_COUNTRY"], errors="coerce") if has_num else None
    present = sorted(pd.unique(alpha)) if has_alpha else (
        sorted(int(x) for x in pd.unique(num.dropna())) if has_num else [])
    if country is None:
        return frame, [str(x) for x in present]
    c = str(country).strip()
    if c.lstrip("-").isdigit():
        code = int(c)
        if has_num:
            sel = (num == code).to_numpy()
        else:
            known = {v["B_COUNTRY"]: k for k, v in _codebook()["countries"].items()}
            if not has_alpha or code not in known:
                raise KeyError(f"cannot select country {code}: the data have no B_COUNTRY "
                               "column; pass the ISO alpha-3 code")
            sel = (alpha == known[code]).to_numpy()
    else:
        if has_alpha:
            sel = (alpha.str.upper() == c.upper()).to_numpy()
        else:
            known = {k: v["B_COUNTRY"] for k, v in _codebook()["countries"].items()}
            if not has_num or c.upper() not in known:
                raise KeyError(f"cannot select country {c!r}: the data have no B_COUNTRY_ALPHA "
                               "column; pass the ISO numeric code (B_COUNTRY)")
            sel = (num == known[c.upper()]).to_numpy()
    if not sel.any():
        raise ValueError(f"country {country!r} is not in the data; countries present: "
                         f"{present[:30]}{' ...' if len(present) > 30 else ''}")
    sub = frame.loc[sel].reset_index(drop=True)
    label = (sorted(pd.unique(sub["B_COUNTRY_ALPHA"].astype(str).str.strip())) if has_alpha
             else [str(c).upper()])
    return sub, label


def _resolve_weight(frame: pd.DataFrame, weight, n_countries: int) -> str | None:
    if weight is None:
        return None
    if weight == "auto":
        want = "W_WEIGHT" if n_countries <= 1 else "S018"
        if want not in frame.columns:
            _warn(f"no {want} column in the data: the survey is unweighted "
                          f"({'within-country' if want == 'W_WEIGHT' else 'pooled'} analyses "
                          f"use {want})")
            return None
        return want
    if weight not in frame.columns:
        raise KeyError(f"weight column {weight!r} not in the data; WVS-7 weights are W_WEIGHT "
                       "(within a country) and S018 (equilibrated, for pooling countries)")
    if weight == "W_WEIGHT" and n_countries > 1:
        _warn("W_WEIGHT is a within-country weight; pooling several countries usually "
                      "calls for the equilibrated weight S018")
    return weight


def _resolve_items(items, columns: Sequence[str], labels: Mapping,
                   derived_items: bool) -> list[Item]:
    cb = _codebook()
    known = {**cb["items"], **cb["derived"]}
    if items is None:
        names = [q for q in cb["items"] if q in columns]
        if derived_items:
            names += [q for q in cb["derived"] if q in columns]
        if not names:
            raise ValueError("the data hold none of the WVS-7 items in popaudit's codebook; "
                             "name the item columns with items=[...]")
        names = sorted(names, key=lambda q: (q[0], int(q[1:]) if q[1:].isdigit() else 0))
        return list(codebook_items(names))
    out = []
    for it in items:
        if isinstance(it, Item):
            out.append(it)
            continue
        name = str(it).upper()
        if name not in columns:
            raise KeyError(f"item column {it!r} not found in the data")
        if name in known:
            out.append(codebook_items([name])[0])
        else:
            out.append(name)  # resolved from value labels / observed codes below
    return out


def _infer_item(name: str, column: pd.Series, labels: Mapping) -> Item:
    return item_from_values(name, column, labels.get(name), WVS_MISSING_CODES)


def wvs_survey(frame: pd.DataFrame, *, country=None, items=None, weight="auto",
               derived_items: bool = False, age_bands: Sequence[int] = WVS_AGE_BANDS,
               education: Mapping | None = None, religion="denomination", ethnicity="auto",
               keep_raw: bool = True, value_labels: Mapping | None = None,
               refusal_codes: Sequence[int] = WVS_REFUSAL_CODES,
               name: str | None = None) -> Survey:
    """A :class:`~popaudit.Survey` from a DataFrame in the official WVS-7 layout.

    Parameters are those of :func:`read_wvs` (without the file arguments; the
    survey's weights and the weight columns kept beside them as there);
    ``value_labels`` are ``{column: {code: label}}`` used to label items
    outside the shipped codebook.

    Examples
    --------
    >>> import popaudit as pa
    >>> frame = pa.datasets.wvs_like_frame(n=300, seed=0)
    >>> s = wvs_survey(frame, country="SGP")
    >>> s.weight_name, s.demographics.columns[:6].tolist()
    ('W_WEIGHT', ['sex', 'age_group', 'education', 'religion', 'ethnicity', 'country'])
    >>> sorted(s.demographics["ethnicity"].unique())
    ['Chinese', 'Indian', 'Malay', 'other']
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"wvs_survey expects a pandas DataFrame, got {type(frame).__name__}")
    upper = {c: str(c).upper() for c in frame.columns}
    if len(set(upper.values())) != len(upper):
        raise ValueError("column names clash when compared case-insensitively")
    frame = frame.rename(columns=upper)
    frame, countries = _select_country(frame, country)
    wcol = _resolve_weight(frame, weight, len(countries))
    labels = {str(k).upper(): v for k, v in (value_labels or {}).items()}
    resolved = _resolve_items(items, list(frame.columns), labels, derived_items)
    resolved = [it if isinstance(it, Item) else _infer_item(it, frame[it], labels)
                for it in resolved]
    demo = derive_demographics(frame, age_bands=age_bands, education=education,
                               religion=religion, ethnicity=ethnicity,
                               country=countries[0] if len(countries) == 1 else None)
    item_names = {it.name for it in resolved}
    raw = [c for c in RAW_DEMOGRAPHICS if keep_raw and c in frame.columns and c not in item_names]
    data = pd.DataFrame({it.name: frame[it.name].to_numpy() for it in resolved})
    for c in demo.columns:
        data[c] = demo[c].to_numpy(dtype=object)
    for c in raw:
        if c == "B_COUNTRY_ALPHA":
            data[c] = frame[c].astype(str).str.strip().to_numpy(dtype=object)
        else:
            v = pd.to_numeric(frame[c], errors="coerce")
            v = v.where(v >= 0)
            data[c] = v.astype("Int64") if _whole(v) else v.astype(float)
    if wcol is not None:
        data[wcol] = pd.to_numeric(frame[wcol], errors="coerce").to_numpy(float)
    # the other weights stay beside the chosen one (the cultural map's official variant
    # weights by W_WEIGHT even when a pooled file is weighted by S018)
    other_w = [c for c in _WEIGHTS if keep_raw and c in frame.columns and c != wcol
               and c not in item_names]
    for c in other_w:
        data[c] = pd.to_numeric(frame[c], errors="coerce").to_numpy(float)
    if name is None:
        name = f"WVS-7 {countries[0]}" if len(countries) == 1 else "WVS-7 pooled"
    return Survey(data, resolved, demographics=list(demo.columns) + raw + other_w,
                  weights=wcol, refusal_codes=refusal_codes, name=name)


def _whole(v: pd.Series) -> bool:
    x = v.to_numpy(dtype=float, na_value=np.nan)
    x = x[np.isfinite(x)]
    return bool(np.all(x == np.round(x)))


def _columns_of(path: Path, fmt: str) -> list[str]:
    if fmt in ("csv", "tsv"):
        return csv_header(path, _sniff_sep(path) if fmt == "csv" else "\t")
    if fmt == "parquet":
        import pyarrow.parquet as pq
        return list(pq.read_schema(path).names)
    import pyreadstat
    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    _, meta = reader(str(path), metadataonly=True)
    return list(meta.column_names)


def _sniff_sep(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        head = fh.readline()
    return max((",", ";", "\t"), key=head.count)


def read_wvs(path: str | os.PathLike, *, country=None, items=None, weight="auto",
             format: str | None = None, derived_items: bool = False,
             age_bands: Sequence[int] = WVS_AGE_BANDS, education: Mapping | None = None,
             religion="denomination", ethnicity="auto", keep_raw: bool = True,
             refusal_codes: Sequence[int] = WVS_REFUSAL_CODES,
             name: str | None = None) -> Survey:
    """Read an official WVS-7 file (cross-national or country file) into a Survey.

    Parameters
    ----------
    path : path-like
        A ``.csv`` (comma, semicolon or tab separated), ``.sav``, ``.dta`` or
        ``.parquet`` file with the WVS-7 column names (matched
        case-insensitively).
    country : str or int, optional
        ISO alpha-3 (``"SGP"``, matched against B_COUNTRY_ALPHA) or numeric
        code (``702``, against B_COUNTRY). None keeps every country.
    items : sequence of str or Item, optional
        Item columns. Default: every item of popaudit's WVS-7 codebook present
        in the file. Codebook items get the codebook metadata; others their
        scale from the file's value labels and observed codes.
    weight : "auto", str or None
        The survey's weights. ``"auto"``: W_WEIGHT (within-country) for one
        country, S018 (equilibrated: every country counts alike) when several
        countries are pooled; or a column name; or None (unweighted). The other
        weight columns of the file (W_WEIGHT, S018, S017) are kept as
        demographics (with ``keep_raw``): the cultural map's official variant
        weights by W_WEIGHT whatever the survey's weights are
        (:func:`popaudit.maps.inglehart_welzel.fit_map`, docs/factors.md).
    format : str, optional
        Overrides the format implied by the suffix.
    derived_items : bool
        With ``items=None``, also read the derived indices Y002 and Y003.
    age_bands, education, religion, ethnicity
        Demographic recodes (see :func:`derive_demographics`).
    keep_raw : bool
        Keep the raw demographic columns (Q260, Q262, X003R, Q275, Q275R,
        Q289, Q290, B_COUNTRY, B_COUNTRY_ALPHA) as demographics too, with
        missing codes mapped to NA, and the weight columns not used as weights.
    refusal_codes : sequence of int
        Missing codes read as refusals (default -2 "no answer"; -1 "don't
        know" is another non-answer, -3 .. -5 are blanks): the weighted refusal
        rate per subgroup is :meth:`popaudit.Survey.refusal_rate`.
    name : str, optional
        Survey name (default ``"WVS-7 <country>"``).

    Returns
    -------
    Survey
        Items with WVS missing codes (-1 ... -5, and item-specific codes such
        as Q254's 5) mapped to missing; demographics: the derived columns of
        :data:`DEMOGRAPHIC_COLUMNS` that the file supports, then the raw
        ones; weights from the chosen column (``Survey.weight_name``).

    Raises
    ------
    ValueError
        The country is not in the file (the message lists those present), an
        item has a code outside its scale, or a demographic recode meets an
        unknown code.
    KeyError
        A requested column (item, weight, Q290 for an ethnicity grouping) is
        absent.

    Notes
    -----
    Only the needed columns are read (items, demographics, country codes and
    weights), so the full cross-national file (about 97 000 rows) reads in
    seconds. No WVS data ship with popaudit; the synthetic
    :func:`popaudit.datasets.write_official_layout` writes files in this
    layout for tests and examples.

    Examples
    --------
    >>> import os, tempfile
    >>> import popaudit as pa
    >>> path = pa.datasets.write_official_layout(
    ...     os.path.join(tempfile.mkdtemp(), "wvs7.sav"), n=200, seed=1)
    >>> gold = read_wvs(path, country=702)
    >>> gold.n_respondents, gold.weight_name, gold.name
    (200, 'W_WEIGHT', 'WVS-7 SGP')
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such WVS file: {path}")
    fmt = _format_of(path, format)
    check_file(path)
    columns = _columns_of(path, fmt)
    upper = {str(c).upper(): c for c in columns}
    cb = _codebook()
    if items is None:
        item_names = [q for q in cb["items"] if q in upper]
        if derived_items:
            item_names += [q for q in cb["derived"] if q in upper]
    else:
        item_names = [it.name if isinstance(it, Item) else str(it) for it in items]
        missing = [nm for nm in item_names if nm.upper() not in upper]
        if missing:
            raise KeyError(f"item column(s) {missing[:10]} not found in {path.name}")
    wanted = [nm.upper() for nm in item_names] + list(RAW_DEMOGRAPHICS) + list(_WEIGHTS)
    if isinstance(weight, str) and weight != "auto":
        wanted.append(weight.upper())
    use = list(dict.fromkeys(upper[c] for c in wanted if c in upper))
    if fmt == "csv":
        data = check_rows(pd.read_csv(path, sep=_sniff_sep(path), usecols=use), path)
        labels: dict = {}
    else:
        data, labels = read_table(path, format=fmt, columns=use)
    if isinstance(weight, str) and weight != "auto":
        weight = weight.upper()
    return wvs_survey(data, country=country, items=items, weight=weight,
                      derived_items=derived_items, age_bands=age_bands, education=education,
                      religion=religion, ethnicity=ethnicity, keep_raw=keep_raw,
                      value_labels=labels, refusal_codes=refusal_codes, name=name)
