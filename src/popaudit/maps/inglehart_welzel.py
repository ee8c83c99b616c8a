"""The Inglehart–Welzel cultural map: its ten indicators, the official computation, projection.

The map places people and populations on two dimensions, traditional vs
secular-rational values (``tradrat``) and survival vs self-expression values
(``survself``), from ten WVS indicators (:data:`INDICATORS`; recodes and their
sources in :func:`indicator_table`). :func:`fit_map` reproduces the WVS's own
computation on a gold survey and returns an :class:`IWModel`; the model then
scores *any* population with gold's means, SDs, loadings, rotation,
orientation and constants (:meth:`IWModel.score`) — simulated populations and
subgroups are projected onto the gold map, never refitted. :func:`positions`
gives population and subgroup mean positions with bootstrap intervals,
:func:`structure_check` asks whether every item loads on its theoretical
dimension in gold and in each simulated population, and :func:`cultural_map`
runs all three and carries what a figure needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from factor_analyzer import Rotator
from scipy import linalg

from popaudit._inference import renamed_arguments, renamed_attribute, resolve_seed
from popaudit._inference import warn as _warn
from popaudit._kernels.resample import bootstrap_counts, chunk_slices
from popaudit.data.survey import Item, Survey, as_populations
from popaudit.structure.factors import congruence, efa

__all__ = [
    "CONSTANTS",
    "COUNTRY_COLUMNS",
    "DIMENSIONS",
    "INDICATORS",
    "LEVELS",
    "PUBLISHED_LOADINGS",
    "SOURCE_ITEMS",
    "WITHIN_COUNTRY_WEIGHTS",
    "CulturalMap",
    "IWIndicator",
    "IWModel",
    "IWPositions",
    "IWScores",
    "IWStructureCheck",
    "autonomy_index",
    "cultural_map",
    "fit_map",
    "indicator_table",
    "indicators",
    "positions",
    "postmaterialist_index",
    "published_pattern",
    "structure_check",
    "weighted_pairwise_corr",
]

#: The two dimensions, positive pole secular-rational and self-expression.
DIMENSIONS: tuple[str, str] = ("tradrat", "survself")
#: The WVS rescaling of the factor scores: TradAgg = 1.61 TradRat - 0.10,
#: SurvSAgg = 1.81 SurvSelf + 0.038 (WVS Association's map syntax).
CONSTANTS: dict[str, tuple[float, float]] = {"tradrat": (1.61, -0.10),
                                             "survself": (1.81, 0.038)}
_AGG = {"tradrat": "trad_agg", "survself": "surv_self_agg"}

_QUESTIONNAIRE = "WVS-7 master questionnaire (2017-2022) and codebook"
_METHODS = "WVS Association, Inglehart-Welzel cultural map syntax; reference/methods.md"


@dataclass(frozen=True)
class IWIndicator:
    """One of the ten map indicators, in WVS-7 coding.

    ``sign`` is the expected sign of the indicator's loading, in its raw
    coding, on its dimension with the positive pole secular-rational
    (``tradrat``) or self-expression (``survself``).
    """

    name: str
    label: str
    dimension: str
    sources: tuple[str, ...]
    codes: tuple[int, ...]
    recode: str
    high_code_means: str
    sign: int
    reference: str


_INDICATORS: tuple[IWIndicator, ...] = (
    IWIndicator("Q164", "Importance of God", "tradrat", ("Q164",), tuple(range(1, 11)),
                "none (1 not at all important ... 10 very important)", "traditional", -1,
                _QUESTIONNAIRE),
    IWIndicator("Y003", "Autonomy index", "tradrat", ("Q8", "Q14", "Q15", "Q17"),
                (-2, -1, 0, 1, 2),
                "child qualities 1 mentioned / 2 not mentioned -> 1 / 0; "
                "Y003 = (Q8 independence + Q14 determination) - (Q15 religious faith + "
                "Q17 obedience); missing if any of the four is missing",
                "secular-rational (autonomy)", 1, f"{_QUESTIONNAIRE}; {_METHODS}"),
    IWIndicator("Q184", "Abortion justifiable", "tradrat", ("Q184",), tuple(range(1, 11)),
                "none (1 never ... 10 always justifiable)", "secular-rational", 1,
                _QUESTIONNAIRE),
    IWIndicator("Q254", "National pride", "tradrat", ("Q254",), (1, 2, 3, 4),
                "none (1 very ... 4 not at all proud); 5 'I am not [nationality]' -> missing",
                "secular-rational (less pride)", 1, f"{_QUESTIONNAIRE}; {_METHODS}"),
    IWIndicator("Q45", "Greater respect for authority", "tradrat", ("Q45",), (1, 2, 3),
                "none (1 good thing, 2 don't mind, 3 bad thing)", "secular-rational", 1,
                _QUESTIONNAIRE),
    IWIndicator("Y002", "Post-materialist index (4 items)", "survself", ("Q154", "Q155"),
                (1, 2, 3),
                "national aims, first (Q154) and second (Q155) choice, options 1 order, "
                "2 more say, 3 prices, 4 free speech: {1, 3} -> 1 materialist, {2, 4} -> 3 "
                "post-materialist, any other pair -> 2 mixed (a repeated aim too, as the "
                "shipped Y002); missing if either is missing",
                "self-expression (post-materialist)", 1, f"{_QUESTIONNAIRE}; {_METHODS}"),
    IWIndicator("Q46", "Feeling of happiness", "survself", ("Q46",), (1, 2, 3, 4),
                "none (1 very happy ... 4 not at all happy)", "survival (less happy)", -1,
                _QUESTIONNAIRE),
    IWIndicator("Q182", "Homosexuality justifiable", "survself", ("Q182",),
                tuple(range(1, 11)), "none (1 never ... 10 always justifiable)",
                "self-expression", 1, _QUESTIONNAIRE),
    IWIndicator("Q209", "Signing a petition", "survself", ("Q209",), (1, 2, 3),
                "none (1 have done, 2 might do, 3 would never do)", "survival", -1,
                _QUESTIONNAIRE),
    IWIndicator("Q57", "Most people can be trusted", "survself", ("Q57",), (1, 2),
                "none (1 most people can be trusted, 2 need to be very careful)",
                "survival (less trust)", -1, _QUESTIONNAIRE),
)
_BY_NAME = {ind.name: ind for ind in _INDICATORS}

#: The ten indicators in the order of the WVS syntax's variable list.
INDICATORS: tuple[str, ...] = tuple(ind.name for ind in _INDICATORS)

#: Published loadings of the ten indicators on their dimension (Inglehart & Welzel 2005;
#: WVS Association), as magnitudes. They are *nation-level*: principal components of
#: country means with countries as the units. An individual-level (pooled respondents)
#: solution loads far more weakly and is not comparable with them.
PUBLISHED_LOADINGS: dict[str, float] = {
    "Q164": 0.91, "Y003": 0.88, "Q184": 0.82, "Q254": 0.81, "Q45": 0.73,
    "Y002": 0.87, "Q46": 0.81, "Q182": 0.77, "Q209": 0.74, "Q57": 0.46}

#: Levels of the map's solution: respondents as units (pooled), or countries (their means).
LEVELS: tuple[str, str] = ("individual", "nation")
#: Within-country weight columns, in order of preference (WVS-7; the time series' S017).
WITHIN_COUNTRY_WEIGHTS: tuple[str, ...] = ("W_WEIGHT", "S017")
#: Country columns looked for by the nation-level solution, in order of preference.
COUNTRY_COLUMNS: tuple[str, ...] = ("country", "B_COUNTRY_ALPHA", "B_COUNTRY")
#: Countries below which a nation-level solution gets a note (the published one rests on
#: several dozen societies).
_FEW_COUNTRIES = 30
#: Rescaling constants of the nation-level solution: none (the 1.61 / 1.81 constants belong
#: to the pooled individual-level fit).
_NATION_CONSTANTS: dict[str, tuple[float, float]] = {"tradrat": (1.0, 0.0),
                                                     "survself": (1.0, 0.0)}


def published_pattern() -> pd.DataFrame:
    """The published nation-level loadings as a pattern in popaudit's orientation: each
    indicator's magnitude times its expected raw-coding sign on its dimension, 0 on the
    other (published tables show primary loadings only).

    Examples
    --------
    >>> import popaudit as pa
    >>> pa.maps.inglehart_welzel.published_pattern().loc[["Q164", "Q182"]]
          tradrat  survself
    Q164    -0.91      0.00
    Q182     0.00      0.77
    """
    t = np.zeros((len(INDICATORS), 2))
    for i, q in enumerate(INDICATORS):
        ind = _BY_NAME[q]
        t[i, DIMENSIONS.index(ind.dimension)] = ind.sign * PUBLISHED_LOADINGS[q]
    return pd.DataFrame(t, index=list(INDICATORS), columns=list(DIMENSIONS))
#: The WVS-7 questions they are built from.
SOURCE_ITEMS: tuple[str, ...] = ("Q164", "Q8", "Q14", "Q15", "Q17", "Q184", "Q254", "Q45",
                                 "Q154", "Q155", "Q46", "Q182", "Q209", "Q57")
#: Valid raw codes of each source question.
_SOURCE_CODES: dict[str, tuple[int, ...]] = {
    "Q164": tuple(range(1, 11)), "Q8": (1, 2), "Q14": (1, 2), "Q15": (1, 2), "Q17": (1, 2),
    "Q184": tuple(range(1, 11)), "Q254": (1, 2, 3, 4), "Q45": (1, 2, 3), "Q154": (1, 2, 3, 4),
    "Q155": (1, 2, 3, 4), "Q46": (1, 2, 3, 4), "Q182": tuple(range(1, 11)), "Q209": (1, 2, 3),
    "Q57": (1, 2)}
#: Source codes that mean missing although they are not negative.
_EXTRA_MISSING = {"Q254": (5,)}


def indicator_table() -> pd.DataFrame:
    """The ten indicators, their WVS-7 sources, recodes, directions and references.

    Examples
    --------
    >>> import popaudit as pa
    >>> t = pa.maps.inglehart_welzel.indicator_table()
    >>> t.loc["Y002", "sources"], int(t.loc["Q164", "sign"])
    ('Q154, Q155', -1)
    """
    rows = [{"indicator": ind.name, "label": ind.label, "dimension": ind.dimension,
             "sources": ", ".join(ind.sources), "codes": f"{min(ind.codes)}..{max(ind.codes)}",
             "recode": ind.recode, "high_code_means": ind.high_code_means, "sign": ind.sign,
             "reference": ind.reference} for ind in _INDICATORS]
    return pd.DataFrame(rows).set_index("indicator")


# --------------------------------------------------------------------------------------------
# recodes
# --------------------------------------------------------------------------------------------
def _clean(values, name: str, valid: tuple[int, ...]) -> np.ndarray:
    """Raw codes -> float with NaN for missing; negative codes (and item-specific missing
    codes) are missing; anything else outside ``valid`` raises."""
    arr = pd.to_numeric(pd.Series(np.asarray(values, dtype=object).ravel()),
                        errors="coerce").to_numpy(dtype=float)
    arr = np.where(arr < 0, np.nan, arr)
    arr = np.where(np.isin(arr, _EXTRA_MISSING.get(name, ())), np.nan, arr)
    bad = np.isfinite(arr) & ~np.isin(arr, valid)
    if bad.any():
        raise ValueError(f"item {name!r} has code {arr[bad][0]:g} outside its WVS-7 scale "
                         f"{min(valid)}..{max(valid)} ({int(bad.sum())} answer(s))")
    return arr


def autonomy_index(q8, q14, q15, q17) -> np.ndarray:
    """Autonomy index Y003 from four WVS-7 child qualities.

    Each quality is 1 "mentioned" / 2 "not mentioned" (negative codes
    missing); ``Y003 = (Q8 + Q14) - (Q15 + Q17)`` after recoding mentioned
    to 1 and not mentioned to 0, from -2 (obedience and faith only) to 2
    (independence and determination only); missing when any quality is.

    Examples
    --------
    >>> import popaudit as pa
    >>> pa.maps.inglehart_welzel.autonomy_index([1, 2, 1], [1, 2, 2], [2, 1, -1], [2, 1, 2])
    array([ 2., -2., nan])
    """
    parts = []
    for v, q in zip((q8, q14, q15, q17), ("Q8", "Q14", "Q15", "Q17")):
        a = _clean(v, q, (1, 2))
        parts.append(np.where(np.isnan(a), np.nan, (a == 1).astype(float)))
    return parts[0] + parts[1] - parts[2] - parts[3]


def postmaterialist_index(q154, q155) -> np.ndarray:
    """Inglehart's 4-item post-materialist index Y002 from the national aims.

    Q154 first and Q155 second choice among 1 maintaining order, 2 more say in
    government decisions, 3 fighting rising prices, 4 protecting freedom of
    speech: the two materialist aims {1, 3} -> 1 (materialist), the two
    post-materialist aims {2, 4} -> 3 (post-materialist), any other pair ->
    2 (mixed), including a repeated aim (Q154 = Q155; the shipped Y002 codes it
    2 on real WVS-7 records); missing when either choice is.

    Examples
    --------
    >>> import popaudit as pa
    >>> pa.maps.inglehart_welzel.postmaterialist_index([1, 2, 1, 4, 2, -1],
    ...                                               [3, 4, 2, 2, 2, 1])
    array([ 1.,  3.,  2.,  3.,  2., nan])
    """
    a = _clean(q154, "Q154", _SOURCE_CODES["Q154"])
    b = _clean(q155, "Q155", _SOURCE_CODES["Q155"])
    # pure only when two *different* aims of one kind are chosen: a repeated aim
    # (Q154 = Q155) is mixed, as in the Y002 the WVS ships
    two = a != b
    mat = two & np.isin(a, (1, 3)) & np.isin(b, (1, 3))
    post = two & np.isin(a, (2, 4)) & np.isin(b, (2, 4))
    out = np.where(mat, 1.0, np.where(post, 3.0, 2.0))
    return np.where(np.isnan(a) | np.isnan(b), np.nan, out)


def _raw_columns(data, names) -> dict[str, np.ndarray]:
    if isinstance(data, Survey):
        present = set(data.item_names)
        missing = [q for q in names if q not in present]
        if missing:
            raise KeyError(f"item(s) {missing} are not in this survey; the Inglehart-Welzel "
                           f"map needs {list(names)}")
        resp = data.select(list(names)).responses()
        return {q: resp[q].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
                for q in names}
    if isinstance(data, pd.DataFrame):
        missing = [q for q in names if q not in data.columns]
        if missing:
            raise KeyError(f"column(s) {missing} not found; the Inglehart-Welzel map needs "
                           f"{list(names)}")
        return {q: data[q].to_numpy() for q in names}
    raise TypeError(f"expected a Survey or a DataFrame, got {type(data).__name__}")


def indicators(data, *, indices: str = "compute") -> pd.DataFrame:
    """The ten map indicators of each respondent (float, NaN = missing).

    Parameters
    ----------
    data : Survey or DataFrame
        Raw WVS-7 codes of :data:`SOURCE_ITEMS` (negative codes are missing;
        Q254 code 5 "I am not [nationality]" too).
    indices : {"compute", "precomputed"}
        Build Y002 and Y003 from their source questions (default), or take
        the ``Y002``/``Y003`` columns the WVS file ships.

    Returns
    -------
    DataFrame
        Columns :data:`INDICATORS`, one row per respondent.

    Examples
    --------
    >>> import pandas as pd, popaudit as pa
    >>> raw = pd.DataFrame({"Q164": [10, -1], "Q8": [1, 2], "Q14": [1, 2], "Q15": [2, 1],
    ...                     "Q17": [2, 1], "Q184": [1, 5], "Q254": [1, 5], "Q45": [1, 3],
    ...                     "Q154": [1, 2], "Q155": [3, 4], "Q46": [2, 1], "Q182": [1, 7],
    ...                     "Q209": [3, 1], "Q57": [2, 1]})
    >>> pa.maps.inglehart_welzel.indicators(raw).loc[:, ["Q164", "Y003", "Q254", "Y002"]]
       Q164  Y003  Q254  Y002
    0  10.0   2.0   1.0   1.0
    1   NaN  -2.0   NaN   3.0
    """
    if indices not in ("compute", "precomputed"):
        raise ValueError(f"indices must be 'compute' or 'precomputed', got {indices!r}")
    plain = [q for q in INDICATORS if q not in ("Y002", "Y003")]
    if indices == "compute":
        raw = _raw_columns(data, SOURCE_ITEMS)
        derived = {"Y003": autonomy_index(raw["Q8"], raw["Q14"], raw["Q15"], raw["Q17"]),
                   "Y002": postmaterialist_index(raw["Q154"], raw["Q155"])}
    else:
        raw = _raw_columns(data, plain + ["Y002", "Y003"])
        # Y003's valid codes -2 and -1 coincide with WVS missing codes: -5 and below mark
        # the missing index in the WVS files, so only those are missing here.
        y003 = pd.to_numeric(pd.Series(np.asarray(raw["Y003"], dtype=object)),
                             errors="coerce").to_numpy(dtype=float)
        y003 = np.where(y003 <= -3, np.nan, y003)
        bad = np.isfinite(y003) & ~np.isin(y003, (-2, -1, 0, 1, 2))
        if bad.any():
            raise ValueError(f"item 'Y003' has code {y003[bad][0]:g} outside -2..2")
        derived = {"Y003": y003, "Y002": _clean(raw["Y002"], "Y002", (1, 2, 3))}
    cols = {q: derived[q] if q in derived else _clean(raw[q], q, _SOURCE_CODES[q])
            for q in INDICATORS}
    return pd.DataFrame(cols)


# --------------------------------------------------------------------------------------------
# weighted pairwise correlations
# --------------------------------------------------------------------------------------------
def weighted_pairwise_corr(x, weights=None, *, names=None) -> tuple[np.ndarray, np.ndarray]:
    """Weighted Pearson correlations with pairwise deletion.

    Parameters
    ----------
    x : (n, p) array-like
        Values, NaN for missing.
    weights : (n,) array-like, optional
        Non-negative survey weights (default all 1).
    names : sequence of str, optional
        Item names for error messages.

    Returns
    -------
    corr : (p, p) ndarray
    n_pairs : (p, p) ndarray
        Unweighted number of respondents behind each correlation.

    Notes
    -----
    For the pair (j, k) only respondents answering both count; means and
    variances are those of that subsample (as SPSS's pairwise deletion):
    ``r_jk = S_jk / sqrt(S_jj|k S_kk|j)`` with weighted sums of squares and
    products around the pair's weighted means. All pairs at once by matrix
    products of the weighted, zero-filled data with the validity mask.

    Examples
    --------
    >>> import numpy as np, popaudit as pa
    >>> x = np.array([[1., 2, 1], [2, 1, np.nan], [3, 5, 2], [4, 3, 4], [np.nan, 1, 3]])
    >>> r, n = pa.maps.inglehart_welzel.weighted_pairwise_corr(x)
    >>> bool(np.isclose(r[0, 1], np.corrcoef(x[:4, 0], x[:4, 1])[0, 1])), int(n[0, 2])
    (True, 3)
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (respondents x items), got shape {x.shape}")
    n, p = x.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.shape != (n,) or np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be n finite non-negative numbers")
    names = [f"column {j}" for j in range(p)] if names is None else list(names)
    valid = np.isfinite(x)
    m = valid.astype(float)
    # centring first (correlations are shift-invariant) keeps the sums of squares accurate
    count = m.sum(axis=0)
    centre = np.where(count > 0, np.where(valid, x, 0.0).sum(axis=0) / np.maximum(count, 1), 0.0)
    z = np.where(valid, x - centre, 0.0)
    wm = m * w[:, None]
    sw = wm.T @ m                                   # sum of weights over each pair
    s1 = (z * w[:, None]).T @ m                     # s1[j, k]: sum w z_j over pair (j, k)
    s2 = (z * z * w[:, None]).T @ m
    sxy = (z * w[:, None]).T @ z
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - s1 * s1.T / sw
        var = s2 - s1 ** 2 / sw
        r = cov / np.sqrt(var * var.T)
    n_pairs = m.T @ m
    bad = ~np.isfinite(r)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"no correlation between {names[i]!r} and {names[j]!r}: fewer than "
                         "two respondents answered both, or they do not vary among them")
    np.fill_diagonal(r, 1.0)
    return np.clip(r, -1.0, 1.0), n_pairs


# --------------------------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------------------------
def _orientation(loadings: np.ndarray) -> np.ndarray:
    """Signed permutation O with ``loadings @ O`` in the order (tradrat, survself).

    Self-expression is the factor on which Y002 loads most strongly, signed so
    Q182 loads positively; the other is signed so secular-rational is positive:
    Q45 (bad thing = secular) minus Q164 (God important = traditional) positive.
    """
    idx = {q: i for i, q in enumerate(INDICATORS)}
    surv = int(np.argmax(np.abs(loadings[idx["Y002"]])))
    trad = 1 - surv
    o = np.zeros((2, 2))
    o[trad, 0] = 1.0 if loadings[idx["Q45"], trad] - loadings[idx["Q164"], trad] >= 0 else -1.0
    o[surv, 1] = 1.0 if loadings[idx["Q182"], surv] >= 0 else -1.0
    return o


@dataclass(frozen=True, repr=False)
class IWScores:
    """Respondents' positions on the map.

    ``frame`` has one row per respondent: ``tradrat``, ``survself`` (the
    factor scores), ``trad_agg``, ``surv_self_agg`` (rescaled by
    :data:`CONSTANTS`), ``n_items`` (indicators answered) and ``scored``; NaN
    scores for respondents not scored. ``settings``: the options used (``indices``, and the
    model's ``variant``, ``min_items``, ``missing``); ``notes``: tuple of str.
    """

    frame: pd.DataFrame
    weights: np.ndarray | None
    population: str | None
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def mean(self) -> pd.Series:
        """Weighted mean position over the scored respondents."""
        sc = self.frame["scored"].to_numpy()
        w = np.ones(len(sc)) if self.weights is None else self.weights
        vals = self.frame.loc[sc, ["tradrat", "survself", "trad_agg", "surv_self_agg"]]
        return pd.Series(np.average(vals.to_numpy(), axis=0, weights=w[sc]), index=vals.columns)

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    def __repr__(self) -> str:
        m = self.mean()
        return (f"IWScores({self.population or 'population'}: {int(self.frame['scored'].sum())} "
                f"of {len(self.frame)} scored; mean TradAgg={m['trad_agg']:.3f}, "
                f"SurvSAgg={m['surv_self_agg']:.3f})")


@dataclass(frozen=True, repr=False)
class IWModel:
    """The gold map: everything needed to score any population on it.

    Attributes
    ----------
    variant : {"official", "polychoric"}
        ``"official"``: the WVS computation (weighted Pearson, pairwise
        deletion, principal components, varimax). ``"polychoric"``:
        polychoric correlations and minres EFA with varimax (statistically
        better for ordinal items; *not* the published numbers).
    means, sds : Series
        Gold's weighted indicator means and SDs (standardisation of every
        population).
    corr : DataFrame
        The analysed correlation matrix.
    eigenvalues : ndarray
        Its eigenvalues, decreasing.
    unrotated : DataFrame
        Loadings before rotation.
    rotation_matrix : ndarray
        Varimax rotation, ``rotated = unrotated @ rotation_matrix``.
    orientation : ndarray
        Signed permutation, ``loadings = rotated @ orientation``.
    loadings : DataFrame
        Oriented loadings, columns ``tradrat`` and ``survself``.
    score_weights : DataFrame
        Regression factor-score coefficients: ``scores = Z @ score_weights``.
    constants : dict
        Rescaling ``(slope, intercept)`` per dimension.
    min_items : int
        Indicators a respondent needs to be scored.
    missing : {"meansub", "complete"}
        How a scored respondent's missing indicators enter.
    n_obs : int
        Units of the solution: gold respondents with at least one indicator
        (individual level) or countries (nation level).
    weighted : bool
    settings : dict
        The options of :func:`fit_map` (``variant``, ``level``, ``weight`` as asked and
        ``weight_name`` used, ``min_items``, ``missing``, ``indices``, ``efa_method``,
        ``constants``; at nation level ``country`` and ``countries``).
    notes : tuple of str
        E.g. weights asked for but absent, few countries.
    level : {"individual", "nation"}
        Respondents or country means as the units.
    weight_name : str or None
        The weight used (``"W_WEIGHT"`` for the official map of a WVS-7 file).
    """

    variant: str
    means: pd.Series
    sds: pd.Series
    corr: pd.DataFrame
    pair_counts: pd.DataFrame
    eigenvalues: np.ndarray
    unrotated: pd.DataFrame
    rotation_matrix: np.ndarray
    orientation: np.ndarray
    loadings: pd.DataFrame
    score_weights: pd.DataFrame
    constants: dict
    min_items: int
    missing: str
    n_obs: int
    weighted: bool
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    level: str = "individual"
    weight_name: str | None = None

    def score(self, population, *, indices: str = "compute", name: str | None = None
              ) -> IWScores:
        """Score a population on the gold map (gold's standardisation, weights, orientation
        and constants; nothing is re-estimated).

        Parameters
        ----------
        population : Survey or DataFrame
            Raw WVS-7 codes of :data:`SOURCE_ITEMS`.
        indices : {"compute", "precomputed"}
            As for :func:`indicators`.
        name : str, optional
            Label of the population (default the survey's name).

        Notes
        -----
        ``Z = (x - mean_gold) / sd_gold``; a respondent with at least
        ``min_items`` indicators is scored ``Z W`` with missing indicators at
        the gold mean (``Z = 0``, SPSS's MEANSUB) when ``missing="meansub"``;
        with ``missing="complete"`` only respondents answering all ten are
        scored (SPSS's default for saved scores). Then
        ``trad_agg = 1.61 tradrat - 0.10``, ``surv_self_agg = 1.81 survself + 0.038``
        (individual level; no rescaling at nation level). Respondents carry the
        population's weight of the model's choice (``settings["weight"]``).
        """
        ind = indicators(population, indices=indices)
        x = ind[list(INDICATORS)].to_numpy()
        valid = np.isfinite(x)
        n_items = valid.sum(axis=1)
        need = len(INDICATORS) if self.missing == "complete" else self.min_items
        scored = n_items >= need
        z = np.where(valid, (x - self.means.to_numpy()) / self.sds.to_numpy(), 0.0)
        s = z @ self.score_weights.to_numpy()
        s[~scored] = np.nan
        frame = pd.DataFrame(s, columns=list(DIMENSIONS))
        for d in DIMENSIONS:
            a, b = self.constants[d]
            frame[_AGG[d]] = a * frame[d] + b
        frame["n_items"] = n_items
        frame["scored"] = scored
        w, _, _ = _weights_of(population, self.settings.get("weight", "survey"),
                              self.weighted)
        if name is None and isinstance(population, Survey):
            name = population.name
        return IWScores(frame=frame, weights=None if w is None else np.asarray(w), population=name,
                        settings={"indices": indices, "variant": self.variant,
                                  "min_items": self.min_items, "missing": self.missing})

    def to_frame(self) -> pd.DataFrame:
        """Tidy loadings: ``item``, ``dimension``, ``loading``, ``score_weight``,
        ``theoretical_dimension``, ``expected_sign``."""
        lo = self.loadings.rename_axis(index="item", columns="dimension").stack().rename("loading")
        sw = self.score_weights.rename_axis(index="item", columns="dimension").stack()
        out = lo.to_frame().join(sw.rename("score_weight")).reset_index()
        out["theoretical_dimension"] = [_BY_NAME[i].dimension for i in out["item"]]
        out["expected_sign"] = [_BY_NAME[i].sign for i in out["item"]]
        return out

    def __repr__(self) -> str:
        units = "countries" if self.level == "nation" else "respondents"
        return (f"IWModel({self.variant}, {self.level} level, n={self.n_obs} {units}, "
                f"{'weighted by ' + str(self.weight_name) if self.weighted else 'unweighted'}, "
                f"missing={self.missing!r})\n" + self.loadings.round(3).to_string())


def _weighted_moments(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    valid = np.isfinite(x)
    wm = valid * w[:, None]
    sw = wm.sum(axis=0)
    xz = np.where(valid, x, 0.0)
    mean = (wm * xz).sum(axis=0) / sw
    ss = (wm * np.where(valid, x - mean, 0.0) ** 2).sum(axis=0)
    # SPSS (frequency-weight) convention: divide by the sum of weights minus one
    return mean, np.sqrt(ss / (sw - 1.0))


_UNWEIGHTED_NOTE = ("weights were asked for but gold has none (a DataFrame, or a Survey "
                    "without weights): the map is unweighted")
_WEIGHT_CHOICES = ("within_country", "survey")


def _weights_of(data, weight, weighted: bool = True, *, gold: bool = False
                ) -> tuple[np.ndarray | None, str | None, tuple[str, ...]]:
    """(weights or None, the weight's name, notes) for the map's weight choice.

    ``"within_country"``: W_WEIGHT / S017, as the survey's weights or as a demographic
    column beside other weights (read_wvs keeps W_WEIGHT when it weights a pooled file by
    S018); ``"survey"``: the survey's own weights; a column name; None: unweighted.
    """
    if weight is None or not weighted:
        return None, None, ()
    if not isinstance(data, Survey):
        return None, None, (_UNWEIGHTED_NOTE,) if gold else ()
    demo = data.demographics

    def column(name):
        vals = pd.to_numeric(demo[name], errors="coerce").to_numpy(dtype=float,
                                                                    na_value=np.nan)
        bad = ~np.isfinite(vals) | (vals < 0)
        if bad.any():
            raise ValueError(f"weight column {name!r} has {int(bad.sum())} missing or negative "
                             f"value(s) (first at row {int(np.flatnonzero(bad)[0])})")
        return vals

    if weight == "survey":
        if data.weights is None:
            return None, None, (_UNWEIGHTED_NOTE,) if gold else ()
        return np.asarray(data.weights, dtype=float), data.weight_name or "survey weights", ()
    if weight == "within_country":
        if data.weight_name in WITHIN_COUNTRY_WEIGHTS:
            return np.asarray(data.weights, dtype=float), data.weight_name, ()
        for c in WITHIN_COUNTRY_WEIGHTS:
            if c in demo.columns:
                return column(c), c, ()
        if data.weights is None:
            return None, None, (_UNWEIGHTED_NOTE,) if gold else ()
        if data.weight_name != "S018":  # a weight of another name: taken as within-country
            label = data.weight_name or "survey weights"
            return (np.asarray(data.weights, dtype=float), label,
                    ((f"the survey's weights ({label}) are taken as the within-country "
                      "weight"),) if gold else ())
        note = (f"the official map weights by the within-country weight (W_WEIGHT / S017), "
                f"which this survey lacks; its {data.weight_name} weights are used instead "
                "(read_wvs keeps W_WEIGHT beside S018; weight='survey' makes this choice "
                "explicit)")
        if gold:
            _warn(note)
        return np.asarray(data.weights, dtype=float), data.weight_name, (note,)
    if data.weight_name == weight:
        return np.asarray(data.weights, dtype=float), weight, ()
    if weight in demo.columns:
        return column(weight), weight, ()
    raise KeyError(f"weight {weight!r} is neither the survey's weight ({data.weight_name!r}) "
                   f"nor a demographic column ({list(demo.columns)[:15]}); use "
                   f"'within_country', 'survey', None or a column name")


def _country_column(data, country) -> str:
    cols = data.demographics.columns if isinstance(data, Survey) else data.columns
    if country is not None:
        if country not in cols:
            raise KeyError(f"country column {country!r} not found; columns are "
                           f"{list(cols)[:20]}")
        return country
    for c in COUNTRY_COLUMNS:
        if c in cols:
            return c
    raise KeyError(f"the nation-level map needs a country column (one of {COUNTRY_COLUMNS}, or "
                   "country=...); the data have none")


def _countries(data, country) -> tuple[np.ndarray, np.ndarray, str]:
    """(country id per row, -1 where missing; country labels; the column used)."""
    col = _country_column(data, country)
    vals = (data.demographics[col] if isinstance(data, Survey) else data[col])
    ids, labels = pd.factorize(vals, sort=True)
    return ids.astype(np.int64), np.asarray(labels, dtype=object), col


def _unit_means(x: np.ndarray, w: np.ndarray, ids: np.ndarray, n_units: int) -> np.ndarray:
    """(units, p) weighted means of each indicator over the unit's respondents who answered
    it (NaN where none did)."""
    ok = ids >= 0
    valid = np.isfinite(x) & ok[:, None]
    wm = valid * w[:, None]
    sums = np.zeros((n_units, x.shape[1]))
    wsum = np.zeros((n_units, x.shape[1]))
    np.add.at(sums, ids[ok], (wm * np.where(valid, x, 0.0))[ok])
    np.add.at(wsum, ids[ok], wm[ok])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(wsum > 0, sums / wsum, np.nan)


def _indicator_survey(ind: pd.DataFrame, weights) -> Survey:
    items = [Item(q, codes=_BY_NAME[q].codes, kind="binary" if len(_BY_NAME[q].codes) == 2
                  else "ordinal") for q in INDICATORS]
    idx = np.full(ind.shape, -1, dtype=np.int16)
    for j, q in enumerate(INDICATORS):
        col = ind[q].to_numpy()
        ok = np.isfinite(col)
        idx[ok, j] = np.searchsorted(np.asarray(_BY_NAME[q].codes), col[ok])
    return Survey.from_category_indices(idx, items, weights=weights)


def fit_map(gold, *, variant: str = "official", level: str = "individual",
            weight: str | None = "within_country", missing: str | None = None,
            min_items: int = 6, country: str | None = None, indices: str = "compute",
            efa_method: str = "minres", weighted: bool = True) -> IWModel:
    """Fit the Inglehart–Welzel map on a gold population.

    Parameters
    ----------
    gold : Survey or DataFrame
        Raw WVS-7 codes of :data:`SOURCE_ITEMS` (a DataFrame is unweighted).
    variant : {"official", "polychoric"}
        ``"official"`` reproduces the WVS syntax; ``"polychoric"`` is the
        statistically better variant (polychoric correlations of the ten
        ordinal indicators, minres EFA, varimax), clearly not the published
        computation.
    level : {"individual", "nation"}
        ``"individual"``: respondents (pooled over countries) are the units, as
        the WVS syntax computes the map and its TradAgg / SurvSAgg constants.
        ``"nation"``: the country means of the ten indicators are the units
        (principal components of country means): the level of the published
        loadings (.91 ... .46). Needs a country column (``country``) with at
        least 3 countries; official variant only.
    weight : "within_country", "survey", None or a column name
        Default ``"within_country"``: W_WEIGHT (S017 in the time series), the
        weight of the official syntax, whether it is the survey's weight or a
        demographic column beside another weight (:func:`popaudit.read_wvs`
        weights a pooled file by the equilibrated S018 and keeps W_WEIGHT
        beside it); a survey without it falls back to its own weights with a
        warning. ``"survey"``: the survey's weights whatever they are;
        ``None``: unweighted; a name: that weight or demographic column.
    missing : {"complete", "meansub"}, optional
        Scoring of respondents with missing indicators. Default: ``"complete"``
        for the official variant (only respondents answering all ten are scored,
        as the syntax's saved scores), ``"meansub"`` for the polychoric one
        (at least ``min_items`` indicators, missing ones at the gold mean, SPSS's
        /MISSING MEANSUB).
    min_items : int
        Indicators (of 10) a respondent needs under ``missing="meansub"``.
    country : str, optional
        Country column for ``level="nation"`` (default: the first of
        :data:`COUNTRY_COLUMNS` present).
    indices : {"compute", "precomputed"}
        Y002/Y003 from their source questions, or the shipped columns.
    efa_method : {"minres", "ml"}
        Extraction for the polychoric variant.
    weighted : bool
        False is the same as ``weight=None`` (kept for existing calls).

    Returns
    -------
    IWModel

    Notes
    -----
    The official computation, as the WVS Association's SPSS syntax does it
    (quoted by the public replication TheEconomist/cultural_map_python):
    negative codes missing; Pearson correlations weighted by the within-country
    weight, pairwise deletion (:func:`weighted_pairwise_corr`); principal
    components ``L0 = V_2 Lambda_2^{1/2}`` of the two largest eigenvalues;
    varimax with Kaiser normalisation (iterated to the optimum); orientation
    fixed after rotation (:func:`_orientation`: Y002 marks the self-expression
    factor, Q182 positive on it; secular positive by Q45 and Q164); regression
    factor scores ``R^{-1} L = L (L'L)^{-1}`` from gold's weighted means and
    SDs (divisor: sum of weights - 1), complete cases only. With these defaults
    (``variant="official"``, ``level="individual"``, ``weight="within_country"``,
    ``missing="complete"``) the computation is the one that reproduces the
    official scores; every other choice is a named option. The nation-level
    solution standardises countries by the mean and SD of the country means
    and uses no rescaling constants (1, 0): a population's mean score is the
    nation-level score of its mean answers. The polychoric variant uses
    Thurstone's ``R^{-1} L`` with the polychoric R.

    Examples
    --------
    >>> import popaudit as pa
    >>> model = pa.maps.inglehart_welzel.fit_map(pa.datasets.wvs_like(n=2000, seed=0))
    >>> model.loadings.round(2).loc[["Q164", "Q182"]]
          tradrat  survself
    Q164    -0.79     -0.05
    Q182     0.33      0.68
    >>> model.level, model.weight_name, model.missing
    ('individual', 'W_WEIGHT', 'complete')
    >>> model.score(pa.datasets.wvs_like(n=300, seed=1)).frame.columns.tolist()[:4]
    ['tradrat', 'survself', 'trad_agg', 'surv_self_agg']
    """
    if variant not in ("official", "polychoric"):
        raise ValueError(f"variant must be 'official' or 'polychoric', got {variant!r}")
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    if level == "nation" and variant != "official":
        raise ValueError("the nation-level solution is principal components of country means "
                         "(variant='official'); polychoric correlations need respondents")
    if missing is None:
        missing = "complete" if variant == "official" else "meansub"
    if missing not in ("meansub", "complete"):
        raise ValueError(f"missing must be 'meansub' or 'complete', got {missing!r}")
    if not 1 <= int(min_items) <= len(INDICATORS):
        raise ValueError(f"min_items must be between 1 and {len(INDICATORS)}, got {min_items}")
    if isinstance(weight, str) and weight not in _WEIGHT_CHOICES and not isinstance(gold, Survey):
        raise KeyError(f"weight {weight!r}: a DataFrame has no weights; pass a Survey or "
                       "weight=None")
    ind = indicators(gold, indices=indices)
    x_all = ind[list(INDICATORS)].to_numpy()
    sw, wname, notes = _weights_of(gold, weight, weighted, gold=True)
    names = list(INDICATORS)
    settings = {"variant": variant, "level": level, "weight": weight if weighted else None,
                "weight_name": wname, "weighted": sw is not None, "min_items": int(min_items),
                "missing": missing, "indices": indices, "efa_method": efa_method}
    if level == "nation":
        ids, labels, ccol = _countries(gold, country)
        w_resp = np.ones(len(x_all)) if sw is None else sw
        x = _unit_means(x_all, w_resp, ids, len(labels))
        used = np.isfinite(x).any(axis=1)
        x, labels = x[used], labels[used]
        w = np.ones(len(x))
        if len(x) < 3:
            raise ValueError(f"the nation-level map needs at least 3 countries in column "
                             f"{ccol!r}; the data have {len(x)} ({list(labels)[:5]})")
        if len(x) < _FEW_COUNTRIES:
            notes += ((f"nation-level solution from {len(x)} countries: loadings of country "
                       f"means are unstable below about {_FEW_COUNTRIES} (the published "
                       "solution rests on several dozen societies)"),)
        settings.update({"country": ccol, "countries": tuple(str(c) for c in labels)})
        n_obs = len(x)
    else:
        used = np.isfinite(x_all).any(axis=1)
        x = x_all[used]
        w = np.ones(len(x)) if sw is None else sw[used]
        n_obs = int(used.sum())
    for j, q in enumerate(INDICATORS):
        col = x[:, j][np.isfinite(x[:, j])]
        if col.size < 2 or np.all(col == col[0]):
            raise ValueError(f"indicator {q!r} has no variation ({col.size} valid "
                             f"{'country means' if level == 'nation' else 'answers'}, all "
                             "alike): the map cannot be fitted on these data")
    means, sds = _weighted_moments(x, w)
    if variant == "official":
        r, n_pairs = weighted_pairwise_corr(x, w, names=names)
        vals, vecs = np.linalg.eigh(r)
        vals, vecs = vals[::-1], vecs[:, ::-1]
        unrot = vecs[:, :2] * np.sqrt(vals[:2])
        unrot = unrot * np.where(unrot.sum(axis=0) < 0, -1.0, 1.0)
        # tol=0: iterate until the criterion stops increasing, i.e. to the optimum (for two
        # factors, Kaiser's closed-form angle; factor-analyzer's default 1e-5 stops short)
        rot = Rotator(method="varimax", normalize=True, tol=0.0, max_iter=10_000)
        rotated = np.asarray(rot.fit_transform(unrot))
        t = np.asarray(rot.rotation_)
        eig = vals
    else:
        from popaudit.structure.polychoric import polychoric

        pc = polychoric(_indicator_survey(ind[used].reset_index(drop=True), None if sw is None
                                          else w))
        fit = efa(pc, 2, method=efa_method, rotation="varimax")
        r = fit.corr.loc[names, names].to_numpy()
        n_pairs = np.asarray(pc.n, dtype=float)
        unrot = fit.unrotated.loc[names].to_numpy()
        t = fit.rotation_matrix
        rotated = fit.loadings.loc[names].to_numpy()
        eig = fit.eigenvalues
    o = _orientation(rotated)
    lam = rotated @ o
    if variant == "official":
        weights = lam @ np.linalg.inv(lam.T @ lam)
    else:
        weights = linalg.solve(r, lam, assume_a="sym")
    constants = dict(CONSTANTS if level == "individual" else _NATION_CONSTANTS)
    settings["constants"] = constants
    return IWModel(
        variant=variant, means=pd.Series(means, index=names, name="mean"),
        sds=pd.Series(sds, index=names, name="sd"),
        corr=pd.DataFrame(r, index=names, columns=names),
        pair_counts=pd.DataFrame(n_pairs, index=names, columns=names),
        eigenvalues=np.asarray(eig, dtype=float),
        unrotated=pd.DataFrame(unrot, index=names, columns=["C1", "C2"]),
        rotation_matrix=t, orientation=o,
        loadings=pd.DataFrame(lam, index=names, columns=list(DIMENSIONS)),
        score_weights=pd.DataFrame(weights, index=names, columns=list(DIMENSIONS)),
        constants=constants, min_items=int(min_items), missing=missing,
        n_obs=n_obs, weighted=sw is not None, settings=settings, notes=tuple(notes),
        level=level, weight_name=wname)


# --------------------------------------------------------------------------------------------
# population and subgroup positions
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class IWPositions:
    """Mean positions of populations and subgroups on the gold map, with bootstrap CIs.

    ``table`` has one row per population and subgroup (``subgroup`` "all" for
    the whole population, demographic columns for subgroups): ``n_scored``,
    and for ``trad_agg``, ``surv_self_agg``, ``tradrat``, ``survself`` the
    mean with ``*_low`` / ``*_high`` percentile bounds. ``settings``: ``n_boot``,
    ``confidence_level``, ``seed`` (the integer that reproduces the draws), ``by``,
    ``indices``; ``notes``: tuple of str.
    """

    table: pd.DataFrame
    by: tuple[str, ...]
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    level = renamed_attribute("settings", "confidence_level")

    @property
    def n_boot(self) -> int:
        """Bootstrap draws (``settings["n_boot"]``)."""
        return self.settings["n_boot"]

    def to_frame(self) -> pd.DataFrame:
        """Long table: ``population``, ``subgroup``, ``dimension``, ``mean``, ``ci_low``,
        ``ci_high``, ``n_scored``."""
        rows = []
        for d in ("trad_agg", "surv_self_agg", "tradrat", "survself"):
            part = self.table[["population", "subgroup", "n_scored"]].copy()
            part["dimension"] = d
            part["mean"] = self.table[d].to_numpy()
            part["ci_low"] = self.table[f"{d}_low"].to_numpy()
            part["ci_high"] = self.table[f"{d}_high"].to_numpy()
            rows.append(part)
        cols = ["population", "subgroup", "dimension", "mean", "ci_low", "ci_high", "n_scored"]
        return pd.concat(rows, ignore_index=True)[cols]

    def __repr__(self) -> str:
        cols = ["population", "subgroup", "n_scored", "trad_agg", "trad_agg_low",
                "trad_agg_high", "surv_self_agg", "surv_self_agg_low", "surv_self_agg_high"]
        return (f"IWPositions({int(self.settings['confidence_level'] * 100)}% bootstrap CIs, "
                f"{self.n_boot} draws)\n"
                + self.table[cols].round(3).to_string(index=False))


def _boot_means(values: np.ndarray, w: np.ndarray, n_boot: int, rng) -> np.ndarray:
    """(n_boot, d) weighted means of bootstrap resamples of the rows, by count matrices."""
    n = len(values)
    out = []
    for sl in chunk_slices(n_boot, n):
        counts = bootstrap_counts(rng, n, sl.stop - sl.start) * w
        out.append((counts @ values) / counts.sum(axis=1, keepdims=True))
    return np.concatenate(out)


def _as_populations(populations) -> dict:
    return as_populations(populations, kinds=(Survey, pd.DataFrame), default_name="population",
                          what="populations")


@renamed_arguments(level="confidence_level")
def positions(model: IWModel, populations, *, by=None, n_boot: int = 1000,
              confidence_level: float = 0.95, seed=None,
              indices: str = "compute") -> IWPositions:
    """Population (and subgroup) mean positions on the gold map with bootstrap CIs.

    Parameters
    ----------
    model : IWModel
        The gold map (:func:`fit_map`).
    populations : Survey or mapping name -> Survey
        Scored with :meth:`IWModel.score` (never refitted).
    by : str or sequence of str, optional
        Demographic column(s): subgroup positions besides the overall one.
    n_boot : int
        Bootstrap resamples of respondents (per population / subgroup).
    confidence_level : float
        Confidence level of the percentile intervals (``level`` before 0.2, deprecated).
    seed : int, numpy Generator or None
        Source of the draws; the integer that reproduces them is in ``settings["seed"]``.

    Notes
    -----
    The position is the (survey-weighted) mean score of the scored
    respondents. Bootstrap: respondents resampled with replacement, all draws
    at once as a (draws x respondents) count matrix C, means
    ``(C w) S / (C w) 1``; percentile intervals.
    """
    level = confidence_level
    if not 0 < level < 1:
        raise ValueError(f"confidence_level must be in (0, 1), got {level}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    rng, seed_value = resolve_seed(seed)
    by_cols = () if by is None else ((by,) if isinstance(by, str) else tuple(by))
    dims = ["trad_agg", "surv_self_agg", "tradrat", "survself"]
    rows = []
    for name, pop in _as_populations(populations).items():
        sc = model.score(pop, indices=indices, name=name)
        groups = [("all", {}, np.ones(len(sc.frame), dtype=bool))]
        if by_cols:
            if not isinstance(pop, Survey):
                raise TypeError("subgroup positions need Surveys with demographics")
            demo = pop.demographics
            miss = [c for c in by_cols if c not in demo.columns]
            if miss:
                raise KeyError(f"demographic column(s) {miss} not in population {name!r}; "
                               f"it has {list(demo.columns)}")
            for key, pos in demo.groupby(list(by_cols), sort=True, dropna=True,
                                         observed=True).indices.items():
                key = key if isinstance(key, tuple) else (key,)
                mask = np.zeros(len(sc.frame), dtype=bool)
                mask[pos] = True
                label = ", ".join(f"{c}={k}" for c, k in zip(by_cols, key))
                groups.append((label, dict(zip(by_cols, key)), mask))
        w_all = np.ones(len(sc.frame)) if sc.weights is None else sc.weights
        for label, keys, mask in groups:
            sel = mask & sc.frame["scored"].to_numpy()
            vals = sc.frame.loc[sel, dims].to_numpy()
            w = w_all[sel]
            row = {"population": name, "subgroup": label, **keys, "n_scored": int(sel.sum())}
            if sel.sum() == 0 or w.sum() <= 0:
                raise ValueError(f"population {name!r}, subgroup {label!r} has no scored "
                                 "respondent (each needs the minimum number of indicators)")
            mean = np.average(vals, axis=0, weights=w)
            boot = _boot_means(vals, w, n_boot, rng)
            lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2], axis=0)
            for j, d in enumerate(dims):
                row[d], row[f"{d}_low"], row[f"{d}_high"] = mean[j], lo[j], hi[j]
            rows.append(row)
    table = pd.DataFrame(rows)
    front = ["population", "subgroup", *by_cols, "n_scored"]
    table = table[front + [c for c in table.columns if c not in front]]
    return IWPositions(table=table, by=by_cols,
                       settings={"n_boot": int(n_boot), "confidence_level": float(level),
                                 "seed": seed_value, "by": by_cols, "indices": indices})


# --------------------------------------------------------------------------------------------
# the two-factor structure check
# --------------------------------------------------------------------------------------------
def _target() -> pd.DataFrame:
    t = np.zeros((len(INDICATORS), 2))
    for i, q in enumerate(INDICATORS):
        t[i, DIMENSIONS.index(_BY_NAME[q].dimension)] = _BY_NAME[q].sign
    return pd.DataFrame(t, index=list(INDICATORS), columns=list(DIMENSIONS))


@dataclass(frozen=True, repr=False)
class IWStructureCheck:
    """Does each item load on its theoretical dimension, in gold and in each population?

    ``items``: one row per population and indicator — theoretical
    ``dimension``, ``expected_sign``, ``loading_tradrat``, ``loading_survself``,
    ``primary`` (loading on the theoretical dimension times the expected sign:
    positive when it points the theoretical way), ``cross`` (loading on the
    other dimension) and ``on_dimension`` (``primary > |cross|``).
    ``congruence``: one row per population and dimension (and "overall") —
    Tucker's congruence against the theoretical target pattern, against gold
    and, at nation level only, against the published loadings
    (``vs_published``; NaN at individual level, where they do not apply), with
    Lorenzo-Seva & ten Berge bands. ``loadings``: the oriented (or aligned)
    loadings of every population. ``level``: the level every solution was
    fitted at (``"individual"``: respondents as units; ``"nation"``: country
    means) — gold and populations always at the same one. ``settings``:
    ``align``, ``indices``, ``level``; ``notes``: tuple of str.
    """

    items: pd.DataFrame
    congruence: pd.DataFrame
    loadings: dict
    align: str
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    level: str = "individual"

    def to_frame(self) -> pd.DataFrame:
        return self.items.copy()

    def __repr__(self) -> str:
        on = self.items.groupby("population", sort=False)["on_dimension"].sum()
        c = self.congruence[self.congruence["dimension"] == "overall"].set_index("population")
        pub = self.level == "nation"
        lines = [f"  {p}: {int(on[p])}/{len(INDICATORS)} items on their dimension; congruence "
                 f"vs target {c.loc[p, 'vs_target']:.3f}, vs gold {c.loc[p, 'vs_gold']:.3f}"
                 + (f", vs published {c.loc[p, 'vs_published']:.3f}" if pub else "")
                 for p in on.index]
        units = ("country means as units; compared with the published nation-level loadings"
                 if pub else "respondents as units; the published loadings are nation-level "
                 "and are not compared")
        return (f"IWStructureCheck(level={self.level!r}: {units}; align={self.align!r})\n"
                + "\n".join(lines))


def structure_check(model: IWModel, populations=None, *, align: str = "orient",
                    indices: str = "compute") -> IWStructureCheck:
    """Primary loadings, cross-loadings and congruence of the two-factor IW structure.

    Parameters
    ----------
    model : IWModel
        The gold map (its loadings are gold's row of the table).
    populations : Survey or mapping name -> Survey, optional
        Each is *fitted* with the gold model's settings (this checks structure;
        positions never refit) and compared with the theory and with gold.
    align : {"orient", "procrustes"}
        ``"orient"``: each population's varimax solution oriented by the same
        identification rules as gold (Y002 marks self-expression); the check
        of the theory as is. ``"procrustes"``: orthogonal Procrustes rotation
        onto gold's loadings first (the most favourable alignment).

    Notes
    -----
    Like is compared with like: every population is fitted at the model's
    ``level`` (individual: respondents; nation: country means, which needs
    several countries in each population), and the published loadings
    (:func:`published_pattern`) enter only at nation level, the level they were
    computed at. Target pattern: each indicator's expected sign on its
    dimension, 0 on the other. Tucker's congruence per dimension and over both.
    """
    if align not in ("orient", "procrustes"):
        raise ValueError(f"align must be 'orient' or 'procrustes', got {align!r}")
    target = _target()
    nation = model.level == "nation"
    published = published_pattern()
    gold_l = model.loadings
    loads = {"gold": gold_l}
    for name, pop in ({} if populations is None else _as_populations(populations)).items():
        if name == "gold":
            raise ValueError("'gold' is reserved for the model's own loadings; rename the "
                             "population")
        try:
            fit = fit_map(pop, variant=model.variant, level=model.level,
                          weight=model.settings.get("weight", "within_country"),
                          weighted=model.weighted, min_items=model.min_items,
                          missing=model.missing, indices=indices,
                          country=model.settings.get("country"))
        except (ValueError, KeyError) as err:
            raise ValueError(f"the map's structure cannot be re-estimated on population "
                             f"{name!r}: {err}") from err
        lam = fit.loadings
        if align == "procrustes":
            rot, _ = linalg.orthogonal_procrustes(fit.loadings.to_numpy(), gold_l.to_numpy())
            lam = pd.DataFrame(fit.loadings.to_numpy() @ rot, index=gold_l.index,
                               columns=gold_l.columns)
        loads[name] = lam
    item_rows, cong_rows = [], []
    for name, lam in loads.items():
        la = lam.to_numpy()
        for i, q in enumerate(INDICATORS):
            ind = _BY_NAME[q]
            k = DIMENSIONS.index(ind.dimension)
            primary = la[i, k] * ind.sign
            cross = la[i, 1 - k]
            item_rows.append({"population": name, "item": q, "dimension": ind.dimension,
                              "expected_sign": ind.sign, "loading_tradrat": la[i, 0],
                              "loading_survself": la[i, 1], "primary": primary, "cross": cross,
                              "on_dimension": bool(primary > abs(cross))})
        vs_t = congruence(lam, target).to_frame().set_index("factor")
        vs_g = congruence(lam, gold_l).to_frame().set_index("factor")
        vs_p = congruence(lam, published).to_frame().set_index("factor") if nation else None
        for d in [*DIMENSIONS, "overall"]:
            cong_rows.append({"population": name, "dimension": d,
                              "vs_target": vs_t.loc[d, "congruence"],
                              "band_vs_target": vs_t.loc[d, "band"],
                              "vs_gold": vs_g.loc[d, "congruence"],
                              "band_vs_gold": vs_g.loc[d, "band"],
                              "vs_published": vs_p.loc[d, "congruence"] if nation else np.nan,
                              "band_vs_published": vs_p.loc[d, "band"] if nation else None})
    notes = (() if nation else ((
        "individual-level solutions (respondents as units): the published loadings (.91 ... "
        ".46) are nation-level and are not compared (vs_published is NaN); fit the map with "
        "level='nation' to compare with them"),))
    return IWStructureCheck(items=pd.DataFrame(item_rows), congruence=pd.DataFrame(cong_rows),
                            loadings=loads, align=align,
                            settings={"align": align, "indices": indices, "level": model.level},
                            notes=notes, level=model.level)


# --------------------------------------------------------------------------------------------
# everything a figure needs
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class CulturalMap:
    """The gold map, population and subgroup positions, and the structure check.

    Carries what the cultural-map figure and the loadings plot need:
    ``positions.table`` (population / subgroup means with CIs on TradAgg and
    SurvSAgg), ``gold_loadings`` and ``simulated_loadings`` (refitted, for the
    loadings plot), and the ``model``. ``settings``: the options of :func:`cultural_map`
    (with the integer ``seed`` of the bootstrap draws); ``notes``: those of the model,
    the positions and the structure check.
    """

    model: IWModel
    positions: IWPositions
    structure: IWStructureCheck
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def gold_loadings(self) -> pd.DataFrame:
        return self.model.loadings

    @property
    def simulated_loadings(self) -> dict:
        return {k: v for k, v in self.structure.loadings.items() if k != "gold"}

    def to_frame(self) -> pd.DataFrame:
        """Positions, long (see :meth:`IWPositions.to_frame`)."""
        return self.positions.to_frame()

    def __repr__(self) -> str:
        return (f"CulturalMap({self.model.variant}, {self.model.level} level)\n"
                f"{self.positions!r}\n{self.structure!r}")


def cultural_map(gold: Survey, simulated=None, *, by=None, variant: str = "official",
                 level: str = "individual", weight: str | None = "within_country",
                 missing: str | None = None, n_boot: int = 1000,
                 confidence_level: float = 0.95, seed=None, min_items: int = 6,
                 weighted: bool = True, country: str | None = None,
                 align: str = "orient") -> CulturalMap:
    """Fit the map on gold, project gold and simulated populations, check the structure.

    Parameters
    ----------
    gold : Survey
    simulated : Survey or mapping name -> Survey, optional
    by : str or sequence of str, optional
        Demographic columns for subgroup positions.
    variant, level, weight, missing, min_items, weighted, country
        As for :func:`fit_map` (defaults: the official computation). A number
        passed as ``level`` is the confidence level of before 0.2 (deprecated).
    n_boot, confidence_level, seed
        As for :func:`positions`.
    align
        As for :func:`structure_check`.

    Returns
    -------
    CulturalMap

    Examples
    --------
    >>> import popaudit as pa
    >>> gold = pa.datasets.wvs_like(n=2000, seed=0)
    >>> sim = pa.datasets.shuffled(gold, seed=1)
    >>> cm = pa.maps.inglehart_welzel.cultural_map(gold, {"shuffled": sim}, n_boot=200, seed=0)
    >>> cm.structure.congruence.query("dimension == 'overall'")[["population", "band_vs_gold"]]
      population band_vs_gold
    2       gold        equal
    5   shuffled    different
    """
    if not isinstance(level, str):  # the confidence level's old name
        _warn("cultural_map(): a number as 'level' is deprecated, use 'confidence_level' "
              "('level' is now the map's level, 'individual' or 'nation')", DeprecationWarning)
        level, confidence_level = "individual", float(level)
    model = fit_map(gold, variant=variant, level=level, weight=weight, weighted=weighted,
                    min_items=min_items, missing=missing, country=country)
    sims = {} if simulated is None else _as_populations(simulated)
    seed_value = resolve_seed(seed)[1]
    pos = positions(model, {"gold": gold, **sims}, by=by, n_boot=n_boot,
                    confidence_level=confidence_level, seed=seed_value)
    check = structure_check(model, sims or None, align=align)
    settings = {**model.settings, **pos.settings, **check.settings}
    return CulturalMap(model=model, positions=pos, structure=check, settings=settings,
                       notes=model.notes + pos.notes + check.notes)
