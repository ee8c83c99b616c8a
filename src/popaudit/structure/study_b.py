"""Study B's ecological comparison: its subgroups, items and topic categories, and its code.

Study B (``reference/methods.md``) compares the *ecological* correlation structure of WVS-7
answers with that of steered language models: per subgroup and item the mean answer rescaled
to [0, 1], Pearson correlations between items across the subgroups, and the upper triangles of
the two matrices compared by Pearson's rho and RMSE, read against a permutation null and a
split-half ceiling, with bootstrap intervals; the same again on item means averaged within
WVS topic categories.

:func:`~popaudit.compare_correlations` offers that comparison at ``level="ecological"`` in two
labelled variants:

* ``variant="study_b"`` (the default): the method as the paper describes it, done right.
* ``variant="study_b_code"``: the computation as the study's public code
  (``tdw75/beyond-marginal-distributions`` at 5025a90) runs it, so that its published pipeline
  can be reproduced number for number on a WVS file. This module holds that computation.

Where the two differ, read from the study's code:

=======================  =============================================  =======================================
step                     ``"study_b_code"`` (the study's code)          ``"study_b"`` (popaudit's default)
=======================  =============================================  =======================================
missing codes            only -1 is missing; -2, -4, -5 are averaged     every WVS missing code dropped
                         in as numbers
rounding                 means to 2 dp before rescaling (again in the    none
                         table the null reads); correlations, metrics
                         to 3 dp
items                    Q1-Q259 minus its non-ordinal, binary and       the items given (study B's selection:
                         partly-ordinal lists                            :func:`study_b_items`)
subgroups                ten overlapping groups                          the same groups (:func:`study_b_subgroups`)
                         (:func:`study_b_subgroups`)                     or any others
permutation null         10 x 10 *subgroup x subgroup* matrices, items   item x item matrices, subgroup labels
                         shuffled within each subgroup; mean and sd      shuffled within each item; median,
                                                                         quantiles, p-value (and mean, sd)
split-half ceiling       subgroup x subgroup matrices; an odd group      item x item; odd respondent kept
                         drops its last respondent; mean and sd
bootstrap                gold fixed; each item column of each            respondents of each simulated group
                         simulated group resampled on its own; the       resampled; 2.5-97.5 % percentile
                         interval runs from the 0.25 to the 0.975        interval
                         quantile
category level           item means averaged within 12 WVS topic         the same categories, no rounding
                         categories, rounded, then the same pipeline
seed                     ``np.random.seed(42)``                          the user's seed
=======================  =============================================  =======================================
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from popaudit._inference import DISTANCE, SIMILARITY, resampling_pvalue
from popaudit.data.survey import MISSING, WVS_MISSING_CODES, Survey

__all__ = [
    "STUDY_B_CATEGORIES",
    "STUDY_B_CATEGORY_LABELS",
    "STUDY_B_EXCLUDED",
    "STUDY_B_SUBGROUPS",
    "VARIANTS",
    "study_b_categories",
    "study_b_items",
    "study_b_subgroups",
    "study_b_survey",
]

#: The ecological variants of :func:`~popaudit.compare_correlations`.
VARIANTS: tuple[str, ...] = ("study_b", "study_b_code")

#: Study B's ten subgroups, in the order of its configuration (``src/demographics/config.py``).
STUDY_B_SUBGROUPS: tuple[str, ...] = ("liberal", "conservative", "german", "american",
                                      "latin_america", "middle_east", "men", "women",
                                      "people_over_30", "old_people")

_LATIN_AMERICA = ("ARG", "BOL", "BRA", "CHL", "COL", "ECU", "GTM", "MEX", "NIC", "PER", "PRI",
                  "URY", "VEN")
_MIDDLE_EAST = ("CYP", "EGY", "IRN", "IRQ", "JOR", "LBN", "TUR")


def _q(*numbers) -> tuple[str, ...]:
    return tuple(f"Q{i}" for i in numbers)


#: Items study B leaves out of Q1-Q259 (its ``src/data/variables.py``), by its reason.
STUDY_B_EXCLUDED: Mapping[str, tuple[str, ...]] = {
    "not_ordinal": _q(*range(7, 27), 57, *range(91, 94), 149, 150, *range(152, 158), 173, 174,
                      175, 223),
    "binary": _q(139, 140, 141, 144, 145, 151, 165, 166, 167, 168),
    "partially_ordinal": _q(221, 222, 254),
}

_RANGES = (
    ("Social values, attitudes & stereotypes", 1, 45, "Social Values, Norms, Stereotypes"),
    ("Happiness and well-being", 46, 56, "Happiness and Wellbeing"),
    ("Social capital, trust & organizational membership", 57, 105,
     "Social Capital, Trust and Organizational Membership"),
    ("Economic values", 106, 111, "Economic Values"),
    ("Corruption", 112, 120, "Perceptions of Corruption"),
    ("Migration", 121, 130, "Perceptions of Migration"),
    ("Security", 131, 151, "Perceptions of Security"),
    ("Science & technology", 158, 163, "Perceptions about Science and Technology"),
    ("Religious values", 164, 175, "Religious Values"),
    ("Ethical values and norms", 176, 198, "Ethical Values"),
    ("Political interest and political participation", 199, 234,
     "Political Interest and Political Participation"),
    ("Political culture and political regimes", 235, 259,
     "Political Culture and Political Regimes"),
)

#: Study B's 12 topic categories (its ``src/demographics/config.py``), named after the sections
#: of the WVS-7 master questionnaire; the "Postmaterialist index" section (Q152-Q157) is not
#: one of them. Category -> its items, in questionnaire order.
STUDY_B_CATEGORIES: Mapping[str, tuple[str, ...]] = {
    name: _q(*range(lo, hi + 1)) for name, lo, hi, _ in _RANGES}

#: The study's own label of each category (as in its tables).
STUDY_B_CATEGORY_LABELS: Mapping[str, str] = {name: label for name, _, _, label in _RANGES}


def _qnumber(name: str) -> int | None:
    m = re.fullmatch(r"Q(\d+)", str(name).strip().upper())
    return int(m.group(1)) if m else None


def study_b_items(names: Sequence[str]) -> list[str]:
    """Study B's item selection among ``names``: Q1-Q259 minus :data:`STUDY_B_EXCLUDED`.

    Returned in questionnaire order (the order of the study's tables).

    Examples
    --------
    >>> study_b_items(["Q164", "Q8", "Q6", "Q254", "Q260", "Y002", "Q240"])
    ['Q6', 'Q164', 'Q240']
    """
    excluded = {q for qs in STUDY_B_EXCLUDED.values() for q in qs}
    keep = [str(n) for n in names
            if (k := _qnumber(n)) is not None and 1 <= k <= 259 and f"Q{k}" not in excluded]
    return sorted(dict.fromkeys(keep), key=_qnumber)


def study_b_categories(names: Sequence[str]) -> dict[str, list[str]]:
    """The study's topic categories that contain at least one of ``names``, with those items.

    Examples
    --------
    >>> study_b_categories(["Q6", "Q27", "Q164", "Q240"])
    {'Social values, attitudes & stereotypes': ['Q6', 'Q27'], 'Religious values': ['Q164'], \
'Political culture and political regimes': ['Q240']}
    """
    present = {str(n) for n in names}
    out = {}
    for cat, qs in STUDY_B_CATEGORIES.items():
        items = [q for q in qs if q in present]
        if items:
            out[cat] = items
    return out


def resolve_categories(categories, names: Sequence[str]) -> dict[str, list[str]] | None:
    """``categories=`` of :func:`~popaudit.compare_correlations` -> category -> items present."""
    if categories is None or categories is False:
        return None
    if isinstance(categories, str):
        if categories != "study_b":
            raise ValueError(f"categories must be 'study_b', a mapping name -> items or None, "
                             f"got {categories!r}")
        out = study_b_categories(names)
    elif isinstance(categories, Mapping):
        present = set(names)
        out = {}
        for cat, items in categories.items():
            if isinstance(items, str):
                raise TypeError(f"category {cat!r}: give a list of item names, not a string")
            unknown = [q for q in items if q not in present]
            if unknown:
                raise KeyError(f"category {cat!r} names item(s) {unknown} that are not among the "
                               f"compared items")
            if items:
                out[str(cat)] = [str(q) for q in items]
    else:
        raise TypeError(f"categories must be 'study_b', a mapping name -> items or None, got "
                        f"{type(categories).__name__}")
    if len(out) < 2:
        raise ValueError(f"the category level needs at least two categories with items; got "
                         f"{list(out)}")
    return out


# ---------------------------------------------------------------------------------------------
# subgroups
# ---------------------------------------------------------------------------------------------
def _column(survey: Survey, name: str, alternatives=()) -> pd.Series:
    """A demographic column, or an item's answers as codes (missing = NA)."""
    demo = survey.demographics
    for c in (name, *alternatives):
        if c in demo.columns:
            return demo[c].reset_index(drop=True)
    if name in survey.item_names:
        return survey.responses()[name].reset_index(drop=True)
    raise KeyError(f"study B's subgroups need {name!r} (a demographic column or an item) in the "
                   f"survey {survey.name!r}; demographics are {list(demo.columns)} (read the WVS "
                   "file with popaudit.read_wvs or study_b_survey, which keep it)")


def _numeric(col: pd.Series) -> np.ndarray:
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _masks_from_definitions(survey: Survey) -> dict[str, np.ndarray]:
    q240 = _numeric(_column(survey, "Q240"))
    country = _column(survey, "B_COUNTRY_ALPHA", ("country",)).astype("string").str.strip()
    country = country.str.upper().fillna("").to_numpy(dtype=object)
    sex = _numeric(_column(survey, "Q260"))
    age = _numeric(_column(survey, "Q262"))
    born = _numeric(_column(survey, "Q261"))
    born_by_1980 = (born >= 1900) & (born <= 1980)
    return {
        "liberal": np.isin(q240, [1, 2, 3]),
        "conservative": np.isin(q240, [8, 9, 10]),
        "german": country == "DEU",
        "american": country == "USA",
        "latin_america": np.isin(country, _LATIN_AMERICA),
        "middle_east": np.isin(country, _MIDDLE_EAST),
        "men": sex == 1,
        "women": sex == 2,
        # the study's Over30: aged 30-45 *and* born outside 1900-1980
        "people_over_30": (age >= 30) & (age <= 45) & ~born_by_1980,
        "old_people": born_by_1980,
    }


def _masks_of(survey: Survey, column: str | None) -> dict[str, np.ndarray]:
    demo = survey.demographics
    if column is not None and column in demo.columns:
        lab = demo[column].astype("string")
        unknown = sorted(set(lab.dropna()) - set(STUDY_B_SUBGROUPS))
        if unknown:
            raise ValueError(f"column {column!r} of {survey.name!r} labels subgroups "
                             f"{unknown[:5]} that are not study B's {list(STUDY_B_SUBGROUPS)}")
        return {g: (lab == g).fillna(False).to_numpy(dtype=bool) for g in STUDY_B_SUBGROUPS}
    return _masks_from_definitions(survey)


def study_b_subgroups(survey: Survey, simulated: Survey | None = None, *,
                      column: str | None = "subgroup") -> dict:
    """Study B's ten overlapping subgroups, ready for ``compare_correlations(by=...)``.

    The definitions of its code (``src/demographics/*.py``): liberal Q240 in 1-3, conservative
    Q240 in 8-10; german DEU, american USA, latin_america (ARG BOL BRA CHL COL ECU GTM MEX NIC
    PER PRI URY VEN), middle_east (CYP EGY IRN IRQ JOR LBN TUR) by B_COUNTRY_ALPHA; men / women
    Q260 = 1 / 2; people_over_30: Q262 in 30-45 *and* birth year Q261 outside 1900-1980 (so
    30-39-year-olds of a 2020 survey); old_people: Q261 in 1900-1980. Missing answers belong to
    no group, as in the study.

    Parameters
    ----------
    survey : Survey
        Usually gold (a WVS-7 file read with :func:`popaudit.read_wvs` or
        :func:`study_b_survey`): needs Q240 (item or demographic), Q260, Q261, Q262 and
        B_COUNTRY_ALPHA (or ``country``).
    simulated : Survey, optional
        The simulated population. Where it has the demographic ``column`` (the group each
        answer was steered to, as in the study: one sample per group), its masks come from
        that label; otherwise from the same definitions on its own columns.
    column : str or None
        Name of the steered-group label column (values among :data:`STUDY_B_SUBGROUPS`).

    Returns
    -------
    dict
        ``name -> boolean mask`` of ``survey`` (one survey), or ``name -> (gold_mask,
        sim_mask)`` (two), in the study's order.

    Examples
    --------
    >>> import popaudit as pa
    >>> gold = pa.wvs_survey(pa.datasets.wvs_like_frame(n=300, seed=0))
    >>> groups = study_b_subgroups(gold)
    >>> list(groups)[:3], int(groups["women"].sum()) + int(groups["men"].sum())
    (['liberal', 'conservative', 'german'], 300)
    """
    gold = _masks_of(survey, column)
    if simulated is None:
        return gold
    sim = _masks_of(simulated, column)
    return {g: (gold[g], sim[g]) for g in STUDY_B_SUBGROUPS}


# ---------------------------------------------------------------------------------------------
# the study's coding of a WVS file
# ---------------------------------------------------------------------------------------------
def kept_codes(survey: Survey) -> dict[str, tuple[int, ...]]:
    """Per item, the WVS missing codes this survey keeps as answers (:func:`study_b_survey`)."""
    missing = set(getattr(survey, "_missing_codes", WVS_MISSING_CODES))
    out = {}
    for it in survey.items:
        kept = tuple(c for c in it.codes if c < 0 and c in WVS_MISSING_CODES and c not in missing)
        if kept:
            out[it.name] = kept
    return out


def study_b_survey(source, *, items: Sequence[str] | None = None, keep_codes: bool = True,
                   name: str | None = None) -> Survey:
    """A WVS-7 file in study B's coding: its items, and -2, -4, -5 kept as answers.

    Study B's code reads only -1 ("don't know") as missing and averages the other WVS codes
    (-2 no answer, -3 not applicable, -4 not asked, -5 missing) into the means as numbers. This
    reader keeps them as answer categories (labelled), so that
    ``compare_correlations(..., variant="study_b_code")`` reproduces that; with
    ``variant="study_b"`` (the default) they are missing again, as everywhere else in popaudit.
    Use the survey for study B's ecological comparison only: other components would read the
    kept codes as answers.

    Parameters
    ----------
    source : path or DataFrame
        A file or a DataFrame in the official WVS-7 layout (all countries are kept, as the
        study pooled them).
    items : sequence of str, optional
        Default: :func:`study_b_items` of the file's columns.
    keep_codes : bool
        False reads every WVS missing code as missing (as :func:`popaudit.read_wvs` does).
    name : str, optional

    Examples
    --------
    >>> import popaudit as pa
    >>> frame = pa.datasets.wvs_like_frame(n=400, seed=1, missing_rate=0.05)
    >>> gold = study_b_survey(frame)
    >>> gold.item("Q6").codes
    (-2, 1, 2, 3, 4)
    >>> sorted(gold.item_names)[:3]
    ['Q131', 'Q164', 'Q182']
    """
    from popaudit.data.codebook import codebook
    from popaudit.data.wvs import read_wvs, wvs_survey

    if isinstance(source, pd.DataFrame):
        frame = source.rename(columns={c: str(c).upper() for c in source.columns})
        selected = list(items) if items is not None else study_b_items(frame.columns)
        std = wvs_survey(frame, items=selected, name=name or "WVS-7 (study B coding)")
    else:
        if not isinstance(source, (str, os.PathLike)):
            raise TypeError(f"source must be a path or a DataFrame, got {type(source).__name__}")
        from pathlib import Path

        from popaudit.data.io import _format_of, read_table
        from popaudit.data.wvs import _columns_of, _sniff_sep

        path = Path(source)
        fmt = _format_of(path, None)
        columns = [str(c).upper() for c in _columns_of(path, fmt)]
        selected = list(items) if items is not None else study_b_items(columns)
        std = read_wvs(path, items=selected, name=name or "WVS-7 (study B coding)")
        if keep_codes:
            if fmt == "csv":
                frame = pd.read_csv(path, sep=_sniff_sep(path))
                frame = frame.rename(columns={c: str(c).upper() for c in frame.columns})
                frame = frame[[c for c in selected]]
            else:
                frame, _ = read_table(path, format=fmt)
                frame = frame.rename(columns={c: str(c).upper() for c in frame.columns})
    if not selected:
        raise ValueError("the file has none of study B's items (Q1-Q259 outside its excluded "
                         "lists)")
    if not keep_codes:
        return std
    labels = {int(k): v for k, v in codebook()["missing_codes"].items()}
    new_items, cols = [], {}
    for it in std.items:
        raw = pd.to_numeric(frame[it.name], errors="coerce").to_numpy(dtype=float)
        present = {int(v) for v in np.unique(raw[np.isfinite(raw)])}
        extra = sorted(c for c in present if c < 0 and c != -1 and c not in it.codes)
        if not extra:
            new_items.append(it)
        else:
            codes = tuple(sorted(set(it.codes) | set(extra)))
            lab = {**it.code_labels(), **{c: labels.get(c, str(c)) for c in extra}}
            new_items.append(dataclasses.replace(
                it, codes=codes, labels=tuple(lab[c] for c in codes),
                kind="ordinal" if it.kind == "binary" else it.kind,
                missing=tuple(c for c in it.missing if c not in extra), positions=None))
        cols[it.name] = raw
    data = pd.DataFrame(cols)
    demo = std.demographics.reset_index(drop=True)
    for c in demo.columns:
        data[c] = demo[c].to_numpy()
    w = std.weights
    return Survey(data, new_items, demographics=list(demo.columns), weights=w,
                  missing_codes=(-1,), out_of_scale="raise", name=std.name)


def drop_kept_codes(survey: Survey) -> Survey:
    """The survey with the kept WVS codes (:func:`study_b_survey`) read as missing again."""
    kept = kept_codes(survey)
    if not kept:
        return survey
    idx = np.array(survey.category_indices(), dtype=np.int16, copy=True)
    items = []
    for j, it in enumerate(survey.items):
        if it.name not in kept:
            items.append(it)
            continue
        keep = [k for k, c in enumerate(it.codes) if c not in kept[it.name]]
        remap = np.full(it.n_categories, MISSING, dtype=np.int16)
        remap[keep] = np.arange(len(keep), dtype=np.int16)
        col = idx[:, j]
        ok = col >= 0
        col[ok] = remap[col[ok]]
        codes = tuple(it.codes[k] for k in keep)
        lab = None if it.labels is None else tuple(it.labels[k] for k in keep)
        items.append(dataclasses.replace(it, codes=codes, labels=lab, positions=None))
    return Survey.from_category_indices(idx, items, demographics=survey.demographics,
                                        weights=survey.weights, name=survey.name)


# ---------------------------------------------------------------------------------------------
# the computation as the study's code runs it
# ---------------------------------------------------------------------------------------------
_CHUNK = 4_000_000   # elements per temporary array


def code_values(survey: Survey, names: Sequence[str]) -> np.ndarray:
    """Answers as numbers, NaN where missing (-1) or invalid; kept WVS codes as their value."""
    s = survey.select(list(names))
    idx = s.category_indices()
    out = np.full(idx.shape, np.nan)
    for j, it in enumerate(s.items):
        codes = np.asarray(it.codes, dtype=float)
        ok = idx[:, j] >= 0
        out[ok, j] = codes[idx[ok, j]]
    return out


def code_scale(survey: Survey, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Minimum and range of each item's non-negative codes (the study's response maps)."""
    lo, diam = [], []
    for nm in names:
        c = [x for x in survey.item(nm).codes if x >= 0]
        lo.append(min(c))
        diam.append(max(c) - min(c))
    return np.asarray(lo, dtype=float), np.asarray(diam, dtype=float)


def _nanmean_last2(v: np.ndarray) -> np.ndarray:
    """Mean over axis -2 skipping NaN (sum / count, as pandas computes it); NaN if none."""
    ok = np.isfinite(v)
    s = np.where(ok, v, 0.0).sum(axis=-2)
    n = ok.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.where(n > 0, n, 1), np.nan)


def _masked_means(masks: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``(B, n)`` 0/1 masks, ``(n, p)`` values with NaN -> ``(B, p)`` means (sums are exact)."""
    ok = np.isfinite(values)
    s = masks @ np.where(ok, values, 0.0)
    n = masks @ ok.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.where(n > 0, n, 1.0), np.nan)


def rescale(means: np.ndarray, lo: np.ndarray, diam: np.ndarray) -> np.ndarray:
    """The study's item score: mean rounded to 2 dp, then (mean - min) / (max - min)."""
    return (np.round(means, 2) - lo) / diam


def category_means(q: np.ndarray, columns: Sequence[Sequence[int]]) -> np.ndarray:
    """``(..., G, p)`` item scores -> ``(..., G, c)`` category means rounded to 2 dp."""
    out = []
    for cols in columns:
        x = np.ascontiguousarray(q[..., list(cols)])
        ok = np.isfinite(x)
        s = np.where(ok, x, 0.0).sum(axis=-1)
        n = ok.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append(np.where(n > 0, s / np.where(n > 0, n, 1), np.nan))
    return np.round(np.stack(out, axis=-1), 2)


def pairwise_corr(x: np.ndarray) -> np.ndarray:
    """Pearson correlations between the columns of ``(B, R, C)`` across its rows, each pair
    over the rows where both are present (as ``DataFrame.corr``); NaN for a constant column."""
    x = np.asarray(x, dtype=float)
    b, r, c = x.shape
    ok = np.isfinite(x)
    out = np.empty((b, c, c))
    if ok.all():
        const = x.max(axis=1) == x.min(axis=1)
        cen = x - x.mean(axis=1, keepdims=True)
        cov = np.einsum("brc,brd->bcd", cen, cen)
        d = np.sqrt(np.einsum("bcc->bc", cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            out = cov / (d[:, :, None] * d[:, None, :])
        bad = const[:, :, None] | const[:, None, :]
        out[bad] = np.nan
        return out
    step = max(1, _CHUNK // max(1, r * c * c))
    for s0 in range(0, b, step):
        xs, oks = x[s0:s0 + step], ok[s0:s0 + step]
        m = oks[:, :, :, None] & oks[:, :, None, :]                 # (b, R, C, C)
        n = m.sum(axis=1)
        xi = np.where(m, xs[:, :, :, None], 0.0)
        xj = np.where(m, xs[:, :, None, :], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mi = xi.sum(axis=1) / n
            mj = xj.sum(axis=1) / n
            ci = np.where(m, xs[:, :, :, None] - mi[:, None], 0.0)
            cj = np.where(m, xs[:, :, None, :] - mj[:, None], 0.0)
            cov = (ci * cj).sum(axis=1)
            r_ = cov / np.sqrt((ci * ci).sum(axis=1) * (cj * cj).sum(axis=1))
        big = np.where(m, xs[:, :, :, None], -np.inf).max(axis=1)
        small = np.where(m, xs[:, :, :, None], np.inf).min(axis=1)
        bigj = np.where(m, xs[:, :, None, :], -np.inf).max(axis=1)
        smallj = np.where(m, xs[:, :, None, :], np.inf).min(axis=1)
        r_[(big <= small) | (bigj <= smallj) | (n < 2)] = np.nan
        out[s0:s0 + step] = r_
    return out


def corr3(x: np.ndarray) -> np.ndarray:
    """``pairwise_corr`` rounded to 3 dp, as the study's ``construct_correlation_matrix``."""
    return np.round(pairwise_corr(x), 3)


def code_metrics(t: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The study's metrics of ``(B, C, C)`` pairs (``t`` broadcasts): rho and RMSE to 3 dp.

    Rows that are entirely NaN in either matrix are dropped from both (its
    ``calculate_correlation_metrics``); the upper triangles are compared.
    """
    t = np.asarray(t, dtype=float)
    m = np.asarray(m, dtype=float)
    if t.ndim == 2:
        t = t[None]
    t, m = np.broadcast_arrays(t, m)
    b = t.shape[0]
    rows = ~np.isnan(t).all(axis=2) & ~np.isnan(m).all(axis=2)      # (B, C)
    rho = np.full(b, np.nan)
    rmse = np.full(b, np.nan)
    patterns, inverse = np.unique(rows, axis=0, return_inverse=True)
    for k, pat in enumerate(patterns):
        sel = np.flatnonzero(inverse.reshape(-1) == k)
        keep = np.flatnonzero(pat)
        if keep.size < 2:
            continue
        iu = np.triu_indices(keep.size, 1)
        x = t[sel][:, keep][:, :, keep][:, iu[0], iu[1]]
        y = m[sel][:, keep][:, :, keep][:, iu[0], iu[1]]
        xm = x - x.mean(axis=1, keepdims=True)
        ym = y - y.mean(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (xm * ym).sum(axis=1) / np.sqrt((xm * xm).sum(axis=1) * (ym * ym).sum(axis=1))
        rho[sel] = np.clip(r, -1.0, 1.0)
        rmse[sel] = np.sqrt(np.mean((x - y) ** 2, axis=1))
    return np.round(rho, 3), np.round(rmse, 3)


def study_mean_sd(draws: np.ndarray) -> tuple[float, float]:
    """Mean and sd (ddof 1) of draws, to 3 dp, computed as pandas does (NaN skipped)."""
    d = np.asarray(draws, dtype=float)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return np.nan, np.nan
    avg = d.sum() / d.size
    sd = np.sqrt(((avg - d) ** 2).sum() / (d.size - 1))
    return float(np.round(avg, 3)), float(np.round(sd, 3))


def study_interval(draws: np.ndarray) -> tuple[float, float]:
    """The study's bootstrap "interval": the 0.25 and 0.975 quantiles of the draws, to 3 dp
    (linear interpolation, as ``DataFrame.quantile``)."""
    d = np.asarray(draws, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return np.nan, np.nan
    lo = np.percentile(d, 0.25 * 100.0)
    hi = np.percentile(d, 0.975 * 100.0)
    return float(np.round(lo, 3)), float(np.round(hi, 3))


@dataclasses.dataclass
class CodeInputs:
    """What the study's code works from, per subgroup: answers as numbers and the scale."""

    names: list[str]
    lo: np.ndarray
    diam: np.ndarray
    gold: list[np.ndarray]       # per group: (n_g, p) gold answers (NaN missing)
    sim: list[np.ndarray]        # per group: (m_g, p) simulated answers
    categories: dict[str, list[str]] | None

    @property
    def category_columns(self) -> list[list[int]]:
        pos = {nm: j for j, nm in enumerate(self.names)}
        return [[pos[q] for q in qs] for qs in (self.categories or {}).values()]


def code_inputs(gold: Survey, sim: Survey, groups, names, categories) -> CodeInputs:
    vg = code_values(gold, names)
    vs = code_values(sim, names)
    lo, diam = code_scale(gold, names)
    return CodeInputs(names=list(names), lo=lo, diam=diam,
                      gold=[vg[gp] for _, gp, _ in groups], sim=[vs[sp] for _, _, sp in groups],
                      categories=categories)


def code_observed(inp: CodeInputs) -> dict:
    """Item scores, category means and correlation matrices of both populations."""
    qg = rescale(np.stack([_nanmean_last2(v) for v in inp.gold]), inp.lo, inp.diam)
    qs = rescale(np.stack([_nanmean_last2(v) for v in inp.sim]), inp.lo, inp.diam)
    out = {"question": {"gold_means": qg, "sim_means": qs,
                        "gold": corr3(qg[None])[0], "sim": corr3(qs[None])[0]}}
    if inp.categories:
        cg = category_means(qg, inp.category_columns)
        cs = category_means(qs, inp.category_columns)
        out["category"] = {"gold_means": cg, "sim_means": cs,
                           "gold": corr3(cg[None])[0], "sim": corr3(cs[None])[0]}
    return out


def code_null(means: np.ndarray, perms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Permutation null as the study's ``lower_bound``: ``means`` (G, p) as it re-reads them
    (rounded to 2 dp), ``perms`` (P, G, p) the order of the p rows in each subgroup's column.

    Its matrices are *subgroup x subgroup* (the means table is not transposed there)."""
    x = np.round(means, 2).T                                        # (p, G): items x subgroups
    ref = corr3(x[None])[0]                                         # (G, G)
    rho, rmse = [], []
    step = max(1, _CHUNK // max(1, x.size * 4))
    cols = np.arange(x.shape[1])
    for s0 in range(0, perms.shape[0], step):
        pm = perms[s0:s0 + step]                                    # (b, G, p)
        shuffled = x[pm.transpose(0, 2, 1), cols[None, None, :]]   # (b, p, G)
        r, e = code_metrics(ref, corr3(shuffled))
        rho.append(r)
        rmse.append(e)
    return np.concatenate(rho), np.concatenate(rmse)


def code_ceiling(inp: CodeInputs, level: str, n_draws: int, *, perms=None,
                 rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Split-half ceiling as the study's ``upper_bound``. Per draw and gold group g, a
    permutation of the first n'_g = 2 floor(n_g / 2) rows (an odd group drops its last
    respondent): its first half is one half, the rest the other. ``perms[g]`` gives them as
    ``(C, n'_g)`` (e.g. the study's own); otherwise ``rng`` draws them. Matrices are
    *subgroup x subgroup*; item scores are not rounded again before the correlation."""
    rho, rmse = np.empty(n_draws), np.empty(n_draws)
    biggest = max(v.shape[0] for v in inp.gold)
    step = max(1, _CHUNK // max(1, biggest * len(inp.gold)))
    cols = inp.category_columns
    for s0 in range(0, n_draws, step):
        sl = slice(s0, min(n_draws, s0 + step))
        b = sl.stop - sl.start
        qa, qb = [], []
        for g, v in enumerate(inp.gold):
            even = v.shape[0] - v.shape[0] % 2
            h = perms[g][sl] if perms is not None else \
                np.argsort(rng.random((b, even)), axis=1)
            mid = h.shape[1] // 2
            ma = np.zeros((b, v.shape[0]))
            mb = np.zeros((b, v.shape[0]))
            np.put_along_axis(ma, h[:, :mid], 1.0, axis=1)
            np.put_along_axis(mb, h[:, mid:], 1.0, axis=1)
            qa.append(rescale(_masked_means(ma, v), inp.lo, inp.diam))
            qb.append(rescale(_masked_means(mb, v), inp.lo, inp.diam))
        qa, qb = np.stack(qa, axis=1), np.stack(qb, axis=1)         # (b, G, p)
        if level == "category":
            qa, qb = category_means(qa, cols), category_means(qb, cols)
        r, e = code_metrics(corr3(qa.transpose(0, 2, 1)), corr3(qb.transpose(0, 2, 1)))
        rho[sl], rmse[sl] = r, e
    return rho, rmse


def code_bootstrap(inp: CodeInputs, observed: dict, n_draws: int, *, indices=None,
                   rng: np.random.Generator | None = None) -> dict:
    """Bootstrap as the study's ``compare_correlation_structures_bootstrap``: gold fixed; each
    item column of each simulated group resampled on its own. ``indices[g]`` gives the rows
    drawn as ``(B, p, m_g)`` (e.g. the study's own); otherwise ``rng`` draws them. Returns per
    level ``(rho, rmse)`` draws."""
    p = len(inp.names)
    out = {lvl: (np.empty(n_draws), np.empty(n_draws)) for lvl in observed}
    biggest = max(v.shape[0] for v in inp.sim)
    step = max(1, _CHUNK // max(1, biggest * p * len(inp.sim)))
    cols = inp.category_columns
    jj = np.arange(p)
    for s0 in range(0, n_draws, step):
        sl = slice(s0, min(n_draws, s0 + step))
        b = sl.stop - sl.start
        q = []
        for g, v in enumerate(inp.sim):
            m = v.shape[0]
            ix = indices[g][sl] if indices is not None else rng.integers(0, m, size=(b, p, m))
            drawn = v[ix, jj[None, :, None]]                        # (b, p, m)
            q.append(rescale(_nanmean_last2(drawn.transpose(0, 2, 1)), inp.lo, inp.diam))
        q = np.stack(q, axis=1)                                     # (b, G, p)
        r, e = code_metrics(observed["question"]["gold"], corr3(q))
        out["question"][0][sl], out["question"][1][sl] = r, e
        if "category" in observed:
            c = category_means(q, cols)
            r, e = code_metrics(observed["category"]["gold"], corr3(c))
            out["category"][0][sl], out["category"][1][sl] = r, e
    return out


def code_variant(gold: Survey, sim: Survey, groups, names, categories, *, n_boot: int,
                 n_null: int, rng: np.random.Generator, draws: dict | None = None) -> dict:
    """Everything study B's code computes, from popaudit's inputs.

    ``draws`` may give random indices in the study's shapes (e.g. the study's own, recorded):
    ``{"bootstrap": [per group (B, p, m_g)], "null": {level: (P, G, k)}, "ceiling": {level:
    [per group (C, n'_g)]}}``; what it does not give comes from ``rng``. Returns per level
    (``"question"``, ``"category"``) the observed matrices and scores, rho and RMSE, and the
    bootstrap, null and ceiling draws of both.
    """
    draws = draws or {}
    inp = code_inputs(gold, sim, groups, names, categories)
    observed = code_observed(inp)
    levels = list(observed)
    result = {}
    for lvl in levels:
        o = observed[lvl]
        rho, rmse = code_metrics(o["gold"], o["sim"][None])
        result[lvl] = {**o, "pearson": float(rho[0]), "rmse": float(rmse[0]),
                       "bootstrap": {}, "null": {}, "ceiling": {}}
    given = draws.get("bootstrap")
    if n_boot or given is not None:
        nb = given[0].shape[0] if given is not None else n_boot
        boot = code_bootstrap(inp, observed, nb, indices=given, rng=rng)
        for lvl in levels:
            result[lvl]["bootstrap"] = {"pearson": boot[lvl][0], "rmse": boot[lvl][1]}
    sizes = {"question": len(inp.names), "category": len(inp.category_columns)}
    for lvl in levels:
        perms = draws.get("null", {}).get(lvl)
        if perms is None and n_null:
            perms = np.argsort(rng.random((n_null, len(inp.gold), sizes[lvl])), axis=2)
        if perms is not None:
            r, e = code_null(observed[lvl]["gold_means"], perms)
            result[lvl]["null"] = {"pearson": r, "rmse": e}
        halves = draws.get("ceiling", {}).get(lvl)
        if halves is not None or n_null:
            nc = halves[0].shape[0] if halves is not None else n_null
            r, e = code_ceiling(inp, lvl, nc, perms=halves, rng=rng)
            result[lvl]["ceiling"] = {"pearson": r, "rmse": e}
    return result


def code_statistics(level_result: dict, *, kind: str, variant: str, ci_level: float) -> list:
    """Rows of the statistics table for the two metrics the study reports."""
    rows = []
    a = (1.0 - ci_level) / 2.0
    for name, direction in (("rmse", DISTANCE), ("pearson", SIMILARITY)):
        obs = level_result[name]
        row = {"level": "ecological", "variant": variant, "matrix": kind, "statistic": name,
               "direction": direction, "value": obs, "estimate": obs, "df": np.nan,
               "pvalue": np.nan, "p_method": None}
        boot = level_result["bootstrap"].get(name)
        if boot is not None:
            row["ci_low"], row["ci_high"] = study_interval(boot)
            row["ci_method"] = "study_b_code (0.25 and 0.975 quantiles)"
        null = level_result["null"].get(name)
        if null is not None:
            d = null[np.isfinite(null)]
            row["null_mean"], row["null_sd"] = study_mean_sd(d)
            row["null_median"] = float(np.median(d)) if d.size else np.nan
            if d.size and np.isfinite(obs):
                better = d <= obs if direction == DISTANCE else d >= obs
                row["null_p"] = float(resampling_pvalue(np.sum(better), d.size))
        ceil = level_result["ceiling"].get(name)
        if ceil is not None:
            d = ceil[np.isfinite(ceil)]
            row["ceiling_mean"], row["ceiling_sd"] = study_mean_sd(d)
            if d.size:
                row["ceiling_median"] = float(np.median(d))
                row["ceiling_low"], row["ceiling_high"] = (
                    float(v) for v in np.quantile(d, [a, 1 - a]))
        row["note"] = ("null and ceiling on subgroup x subgroup matrices, as the study's code "
                       "computes them")
        rows.append(row)
    return rows

