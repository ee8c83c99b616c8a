"""A synthetic gold population in WVS wave 7 layout, generated from known latent traits.

:func:`wvs_like` draws respondents (sex, age, education, religion, ethnicity,
post-stratification weight), gives each two Inglehart-Welzel traits shifted by
demographic effects plus a minor nuisance factor, and cuts each item's latent
response into its categories. Everything comes from one explicit seed, and the
generating model is returned on request (:class:`GenerativeTruth`) so that
factor recovery, polychoric estimates and the cultural map can be checked
against a known truth. The data are synthetic: they follow WVS-7 *coding*
(column names, codes, missing codes, value labels), not any real country's
answers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtri

from popaudit.data.codebook import WVS7_ITEMS, codebook, codebook_items, official_value_labels
from popaudit.data.io import write_table
from popaudit.data.survey import Survey

__all__ = [
    "COUNTRIES",
    "GOLD_DEMOGRAPHICS",
    "GenerativeTruth",
    "write_official_layout",
    "wvs_like",
    "wvs_like_frame",
    "wvs_like_truth",
]

#: The three latent factors, in column order of every loading table.
FACTORS: tuple[str, ...] = ("traditional_secular", "survival_self_expression", "nuisance")

#: Demographic columns of the gold :class:`~popaudit.Survey` returned by :func:`wvs_like`.
GOLD_DEMOGRAPHICS: tuple[str, ...] = ("Q260", "Q262", "X003R", "Q275", "Q275R", "Q289",
                                      "Q290", "B_COUNTRY_ALPHA")

# ---------------------------------------------------------------------------------------------
# The generating model. Loadings are on the raw-code orientation: a positive loading means a
# higher trait value makes a *higher raw code* more likely. Trait 1 runs traditional (-) to
# secular (+), trait 2 survival (-) to self-expression (+); the nuisance factor is a response
# style (acquiescence / scale use) that touches agree-disagree and 10-point items.
# Target marginals are the category shares the thresholds are set for when y* ~ N(0, 1); the
# realised shares differ a little because demographic effects shift the trait means.
# ---------------------------------------------------------------------------------------------
_MODEL: dict[str, tuple[tuple[float, float, float], tuple[float, ...]]] = {
    # item: ((trad_secular, surv_selfexp, nuisance), target marginal over codes)
    "Q6": ((0.75, 0.00, 0.00), (0.45, 0.30, 0.15, 0.10)),
    "Q8": ((-0.40, -0.10, 0.00), (0.55, 0.45)),
    "Q14": ((-0.35, -0.10, 0.00), (0.45, 0.55)),
    "Q15": ((0.70, 0.00, 0.00), (0.35, 0.65)),
    "Q17": ((0.45, 0.10, 0.00), (0.40, 0.60)),
    "Q27": ((0.40, 0.00, -0.30), (0.30, 0.50, 0.15, 0.05)),
    "Q29": ((0.15, 0.50, -0.30), (0.10, 0.30, 0.40, 0.20)),
    "Q43": ((0.00, -0.25, 0.00), (0.35, 0.35, 0.30)),
    "Q45": ((0.40, 0.00, 0.00), (0.75, 0.17, 0.08)),
    "Q46": ((0.00, -0.55, -0.15), (0.35, 0.55, 0.08, 0.02)),
    "Q48": ((0.00, 0.45, 0.25), (0.01, 0.01, 0.02, 0.04, 0.10, 0.14, 0.22, 0.24, 0.12, 0.10)),
    "Q49": ((0.00, 0.55, 0.25), (0.01, 0.01, 0.02, 0.03, 0.10, 0.12, 0.22, 0.26, 0.13, 0.10)),
    "Q57": ((0.00, -0.45, 0.00), (0.35, 0.65)),
    "Q131": ((0.00, -0.30, 0.00), (0.40, 0.50, 0.08, 0.02)),
    "Q164": ((-0.80, 0.00, 0.15), (0.08, 0.03, 0.03, 0.03, 0.07, 0.06, 0.08, 0.12, 0.12, 0.38)),
    "Q173": ((0.65, 0.00, 0.00), (0.60, 0.33, 0.07)),
    "Q182": ((0.20, 0.65, 0.15), (0.30, 0.08, 0.08, 0.07, 0.17, 0.08, 0.07, 0.06, 0.04, 0.05)),
    "Q184": ((0.65, 0.20, 0.15), (0.28, 0.09, 0.09, 0.08, 0.18, 0.09, 0.07, 0.06, 0.03, 0.03)),
    "Q185": ((0.40, 0.35, 0.20), (0.12, 0.06, 0.07, 0.08, 0.22, 0.12, 0.11, 0.10, 0.05, 0.07)),
    "Q186": ((0.45, 0.35, 0.20), (0.22, 0.08, 0.08, 0.08, 0.18, 0.10, 0.09, 0.08, 0.04, 0.05)),
    "Q199": ((0.00, -0.25, -0.15), (0.10, 0.35, 0.38, 0.17)),
    "Q209": ((0.00, -0.55, 0.00), (0.20, 0.45, 0.35)),
    "Q240": ((-0.15, 0.00, 0.20), (0.02, 0.03, 0.06, 0.08, 0.35, 0.18, 0.13, 0.08, 0.03, 0.04)),
    "Q250": ((0.00, 0.35, 0.25), (0.01, 0.01, 0.02, 0.03, 0.08, 0.09, 0.15, 0.21, 0.15, 0.25)),
    "Q254": ((0.40, 0.00, 0.00), (0.45, 0.45, 0.08, 0.02)),
}
#: National aims (Q154 first, Q155 second choice): random-utility model, U_k = a_k + b_k T
#: + c_k S + Gumbel noise; the first choice is the best option, the second the best of the rest
#: (an exploded logit). Options: 1 order, 2 more say, 3 prices, 4 free speech.
_AIMS = pd.DataFrame({"intercept": [0.55, -0.10, 0.65, -0.35],
                      "traditional_secular": [-0.20, 0.15, -0.15, 0.20],
                      "survival_self_expression": [-0.80, 0.80, -0.70, 0.70]},
                     index=pd.Index([1, 2, 3, 4], name="option"))
#: Nominal covariance of the traits (the residual part is set to match it approximately).
_PHI = np.array([[1.00, 0.25, 0.00], [0.25, 1.00, 0.00], [0.00, 0.00, 1.00]])
#: Item missingness: relative propensity (mean over items is rescaled to ``missing_rate``);
#: sensitive items get more "don't know" (-1) and more "no answer" (-2).
_MISSING_WEIGHT = {"Q8": 0.3, "Q14": 0.3, "Q15": 0.3, "Q17": 0.3, "Q46": 0.5, "Q49": 0.5,
                   "Q57": 0.8, "Q154": 1.5, "Q155": 1.5, "Q164": 1.2, "Q182": 2.5, "Q184": 2.5,
                   "Q185": 1.5, "Q186": 2.0, "Q240": 3.0, "Q29": 1.2}
_SENSITIVE = frozenset({"Q164", "Q182", "Q184", "Q185", "Q186", "Q240"})

_DEMO_TERMS = ("age_decades", "female", "education")


@dataclass(frozen=True)
class _Country:
    alpha: str
    numeric: int
    year: int
    sex_sample: tuple[float, float]
    sex_population: tuple[float, float]
    age_sample: tuple[float, ...]
    age_population: tuple[float, ...]
    ethnic_codes: tuple[int, ...]
    ethnic_sample: tuple[float, ...]
    ethnic_population: tuple[float, ...]
    religion_given_ethnicity: dict[int, dict[int, float]]
    education: tuple[float, ...]
    # demographic effects on (trad_secular, surv_selfexp)
    effects: dict[str, tuple[float, float]] = field(default_factory=dict)
    trait_offset: tuple[float, float] = (0.0, 0.0)


_SGP = _Country(
    alpha="SGP", numeric=702, year=2020,
    sex_sample=(0.46, 0.54), sex_population=(0.49, 0.51),
    age_sample=(0.08, 0.15, 0.17, 0.19, 0.20, 0.21),
    age_population=(0.11, 0.18, 0.18, 0.19, 0.17, 0.17),
    # Chinese, Malay, South Asian Indian, Eurasian, Caucasian white
    ethnic_codes=(702004, 702006, 702003, 702008, 702001),
    ethnic_sample=(0.70, 0.16, 0.11, 0.015, 0.015),
    ethnic_population=(0.74, 0.135, 0.09, 0.02, 0.015),
    religion_given_ethnicity={
        702004: {7: 0.40, 0: 0.25, 2: 0.12, 1: 0.07, 9: 0.15, 5: 0.01},
        702006: {5: 0.98, 0: 0.01, 9: 0.01},
        702003: {6: 0.60, 5: 0.21, 2: 0.07, 1: 0.07, 0: 0.02, 9: 0.03},
        702008: {1: 0.40, 2: 0.30, 0: 0.25, 9: 0.05},
        702001: {2: 0.30, 1: 0.25, 0: 0.40, 9: 0.05},
    },
    education=(0.03, 0.07, 0.10, 0.22, 0.10, 0.12, 0.23, 0.10, 0.03),
    effects={
        "age_decades": (-0.12, -0.10), "female": (-0.05, -0.03), "education": (0.06, 0.12),
        "religion=0": (0.55, 0.10), "religion=1": (-0.25, 0.0), "religion=2": (-0.35, 0.0),
        "religion=5": (-0.55, -0.20), "religion=6": (-0.30, -0.05), "religion=7": (0.0, 0.0),
        "religion=9": (-0.10, 0.0),
        "ethnicity=702004": (0.0, 0.0), "ethnicity=702006": (-0.10, -0.10),
        "ethnicity=702003": (-0.05, -0.05), "ethnicity=702008": (0.20, 0.15),
        "ethnicity=702001": (0.30, 0.25),
    },
)

#: Country profiles available to :func:`wvs_like` (ISO 3166 alpha-3).
COUNTRIES: dict[str, _Country] = {"SGP": _SGP}

_AGE_BANDS = ((18, 25), (25, 35), (35, 45), (45, 55), (55, 65), (65, 90))
_RESIDUAL_SD = 0.9


@dataclass(frozen=True, eq=False)
class GenerativeTruth:
    """The known truth behind one :func:`wvs_like` sample.

    Attributes
    ----------
    loadings : DataFrame
        Generating loadings (items x :data:`FACTORS`) on the raw-code
        orientation: y*_j = loadings_j . F + sqrt(uniqueness_j) e_j, and the
        answer is the category of y*_j between consecutive ``thresholds``.
    uniqueness : Series
        Residual variance of each latent response, 1 - l' Phi l with the
        nominal Phi (:attr:`factor_cov`).
    derived_loadings : DataFrame
        Y002 and Y003 are functions of several answers, not cut from one
        latent response, so they have no generating loading; this table gives
        their standardized pattern loadings *estimated from this sample's
        complete answers and factor scores* (polyserial correlations with
        each factor, times the inverse factor correlation matrix), on the same
        scale as :meth:`standardized_loadings`.
    thresholds : dict
        Item -> increasing cut points on the y* scale (K - 1 of them).
    factor_cov : DataFrame
        Nominal factor covariance Phi the uniquenesses are set for.
    realised_factor_cov : DataFrame
        Covariance of the factor scores actually drawn in this sample
        (demographic effects plus residuals).
    demographic_effects : DataFrame
        Effect of each demographic term on the two traits.
    aims_utilities : DataFrame
        Random-utility coefficients of the four national aims (Q154/Q155).
    scores : DataFrame
        Each respondent's latent factor scores (n x 3).
    n, seed, country : as passed to :func:`wvs_like`.
    """

    loadings: pd.DataFrame
    uniqueness: pd.Series
    derived_loadings: pd.DataFrame
    thresholds: dict
    factor_cov: pd.DataFrame
    realised_factor_cov: pd.DataFrame
    demographic_effects: pd.DataFrame
    aims_utilities: pd.DataFrame
    scores: pd.DataFrame
    n: int
    seed: object
    country: str

    def implied_correlation(self, *, realised: bool = True) -> pd.DataFrame:
        """Correlation matrix of the latent responses y* implied by the model.

        This is what a polychoric (tetrachoric for binary items) correlation
        estimates. ``realised=True`` uses the factor covariance of this
        sample, ``False`` the nominal Phi.

        Notes
        -----
        Sigma = L Phi L' + diag(psi), rescaled to unit diagonal.
        """
        phi = (self.realised_factor_cov if realised else self.factor_cov).to_numpy()
        lam = self.loadings.to_numpy()
        cov = lam @ phi @ lam.T + np.diag(self.uniqueness.to_numpy())
        sd = np.sqrt(np.diag(cov))
        corr = cov / np.outer(sd, sd)
        return pd.DataFrame(corr, index=self.loadings.index, columns=self.loadings.index)

    def standardized_loadings(self, *, realised: bool = True) -> pd.DataFrame:
        """Loadings for unit-variance factors and unit-variance y* (pattern coefficients).

        Notes
        -----
        lambda*_jf = lambda_jf sd(F_f) / sd(y*_j). Compare with EFA pattern
        loadings on a polychoric matrix (Tucker congruence after Procrustes).
        """
        phi = (self.realised_factor_cov if realised else self.factor_cov).to_numpy()
        lam = self.loadings.to_numpy()
        var_y = np.einsum("jf,fg,jg->j", lam, phi, lam) + self.uniqueness.to_numpy()
        out = lam * np.sqrt(np.diag(phi))[None, :] / np.sqrt(var_y)[:, None]
        return pd.DataFrame(out, index=self.loadings.index, columns=self.loadings.columns)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per item and factor with the generating loading."""
        long = self.loadings.rename_axis("item").reset_index().melt(
            id_vars="item", var_name="factor", value_name="loading")
        return long

    def __repr__(self) -> str:
        return (f"GenerativeTruth(country={self.country!r}, n={self.n}, seed={self.seed!r}, "
                f"{len(self.loadings)} items x factors {list(self.loadings.columns)})")


# ---------------------------------------------------------------------------------------------
def _rng(seed) -> np.random.Generator:
    return np.random.default_rng(seed)


def _draw_categorical(rng, probs, size) -> np.ndarray:
    """Indices 0..len(probs)-1 drawn with the given probabilities."""
    cdf = np.cumsum(np.asarray(probs, float))
    cdf /= cdf[-1]
    return np.searchsorted(cdf, rng.random(size), side="right")


def _thresholds(marginal) -> np.ndarray:
    cum = np.cumsum(np.asarray(marginal, float))
    cum /= cum[-1]
    return ndtri(cum[:-1])


def _check_args(n, missing_rate, not_national_rate, country) -> _Country:
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not 0 <= missing_rate <= 0.3:
        raise ValueError(f"missing_rate must be between 0 and 0.3, got {missing_rate!r}")
    if not 0 <= not_national_rate <= 0.3:
        raise ValueError(f"not_national_rate must be between 0 and 0.3, got {not_national_rate!r}")
    if country not in COUNTRIES:
        raise ValueError(f"no synthetic profile for country {country!r}; available: "
                         f"{sorted(COUNTRIES)}")
    return COUNTRIES[country]


def _demographics(rng, n: int, c: _Country) -> pd.DataFrame:
    sex = _draw_categorical(rng, c.sex_sample, n) + 1
    band = _draw_categorical(rng, c.age_sample, n)
    lo = np.array([b[0] for b in _AGE_BANDS])[band]
    hi = np.array([b[1] for b in _AGE_BANDS])[band]
    u = rng.random(n)
    # the open top band thins out with age (quadratic decline), the others are uniform
    top = band == len(_AGE_BANDS) - 1
    u = np.where(top, 1 - np.sqrt(1 - u), u)
    age = np.floor(lo + u * (hi - lo)).astype(np.int64)
    eth_idx = _draw_categorical(rng, c.ethnic_sample, n)
    eth = np.asarray(c.ethnic_codes)[eth_idx]
    rel = np.empty(n, dtype=np.int64)
    ur = rng.random(n)
    for code in c.ethnic_codes:
        sel = eth == code
        table = c.religion_given_ethnicity[code]
        cats = np.array(list(table))
        cdf = np.cumsum(list(table.values()))
        cdf /= cdf[-1]
        rel[sel] = cats[np.searchsorted(cdf, ur[sel], side="right")]
    # education: younger cohorts more educated
    latent = rng.standard_normal(n) - 0.3 * (age - 45) / 10
    edu = np.searchsorted(_thresholds(c.education), latent)
    edu_r = np.select([edu <= 2, edu <= 4], [1, 2], 3)
    # post-stratification weight on sex x age band x ethnicity (constant within each cell)
    ratio = (np.asarray(c.sex_population)[sex - 1] / np.asarray(c.sex_sample)[sex - 1]
             * np.asarray(c.age_population)[band] / np.asarray(c.age_sample)[band]
             * np.asarray(c.ethnic_population)[eth_idx] / np.asarray(c.ethnic_sample)[eth_idx])
    weight = ratio / ratio.mean()
    return pd.DataFrame({"Q260": sex, "Q262": age, "X003R": band + 1, "Q275": edu,
                         "Q275R": edu_r, "Q289": rel, "Q290": eth, "W_WEIGHT": weight})


def _effects_table(c: _Country) -> pd.DataFrame:
    eff = pd.DataFrame.from_dict(c.effects, orient="index", columns=list(FACTORS[:2]))
    eff.index.name = "term"
    return eff


def _traits(rng, demo: pd.DataFrame, c: _Country) -> np.ndarray:
    n = len(demo)
    eff = c.effects
    age_dec = (demo["Q262"].to_numpy() - 45) / 10
    female = (demo["Q260"].to_numpy() == 2).astype(float)
    edu = demo["Q275"].to_numpy() - 4.0
    mean = np.zeros((n, 2))
    for k in range(2):
        mean[:, k] = (c.trait_offset[k] + eff["age_decades"][k] * age_dec
                      + eff["female"][k] * female + eff["education"][k] * edu)
    for col, prefix in (("Q289", "religion"), ("Q290", "ethnicity")):
        vals = demo[col].to_numpy()
        for v in np.unique(vals):
            e = eff.get(f"{prefix}={int(v)}", (0.0, 0.0))
            mean[vals == v] += np.asarray(e)
    # residuals correlated so that the total trait correlation is near the nominal 0.25
    r = 0.2
    z = rng.standard_normal((n, 3))
    res_t = _RESIDUAL_SD * z[:, 0]
    res_s = _RESIDUAL_SD * (r * z[:, 0] + np.sqrt(1 - r * r) * z[:, 1])
    return np.column_stack([mean[:, 0] + res_t, mean[:, 1] + res_s, z[:, 2]])


def _loadings() -> pd.DataFrame:
    lam = pd.DataFrame({k: v[0] for k, v in _MODEL.items()}, index=list(FACTORS)).T
    lam.index.name = "item"
    return lam.loc[[q for q in WVS7_ITEMS if q in _MODEL]]


def _apply_missing(rng, codes: dict, demo: pd.DataFrame, missing_rate: float) -> None:
    """Replace answers by WVS missing codes in place (-1 don't know, -2 no answer)."""
    names = [q for q in codes if q != "Q155"]   # Q155 follows Q154
    weight = np.array([_MISSING_WEIGHT.get(q, 1.0) for q in names] + [_MISSING_WEIGHT["Q155"]])
    base = weight / weight.mean() * missing_rate
    rate = dict(zip(names + ["Q155"], base))
    n = len(demo)
    # respondent propensity: older and less educated respondents say "don't know" more often;
    # log-normal with mean exactly 1 so the expected overall rate equals missing_rate
    z = (0.5 * (demo["Q262"].to_numpy() - 45) / 20 - 0.5 * (demo["Q275"].to_numpy() - 4) / 2.5)
    z = (z - z.mean()) / (z.std() or 1.0)
    s = 0.4
    prop = np.exp(s * z - s * s / 2)
    for q in names:
        p = np.minimum(rate[q] * prop, 0.9)
        miss = rng.random(n) < p
        share_na = 0.35 if q in _SENSITIVE else 0.2
        code = np.where(rng.random(n) < share_na, -2, -1)
        codes[q] = np.where(miss, code, codes[q])
        if q == "Q154":
            codes["Q155"] = np.where(miss, code, codes["Q155"])


def _y002(q154: np.ndarray, q155: np.ndarray) -> np.ndarray:
    # a repeated aim (Q154 = Q155) is mixed, as in the Y002 the WVS ships
    two = q154 != q155
    mat = two & np.isin(q154, (1, 3)) & np.isin(q155, (1, 3))
    post = two & np.isin(q154, (2, 4)) & np.isin(q155, (2, 4))
    out = np.where(mat, 1, np.where(post, 3, 2))
    valid = (q154 >= 1) & (q154 <= 4) & (q155 >= 1) & (q155 <= 4)
    return np.where(valid, out, -5)


def _y003(q8, q14, q15, q17) -> np.ndarray:
    comps = np.column_stack([q8, q14, q15, q17])
    valid = np.all((comps == 1) | (comps == 2), axis=1)
    m = (comps == 1).astype(np.int64)
    out = m[:, 0] + m[:, 1] - m[:, 2] - m[:, 3]
    return np.where(valid, out, -5)


def _derived_loadings(derived: dict, F: np.ndarray) -> pd.DataFrame:
    """Standardized pattern loadings of the derived indices, estimated from this sample.

    Polyserial correlation of each index with each factor (Olsson, Drasgow & Dorans 1982
    ad hoc estimator: r * sd(Y) / sum_k phi(tau_k)), turned into pattern coefficients by
    the inverse of the realised factor correlation matrix.
    """
    R = np.corrcoef(F, rowvar=False)
    rows = {}
    for name, y in derived.items():
        y = y.astype(float)
        r = np.array([np.corrcoef(y, F[:, f])[0, 1] for f in range(F.shape[1])])
        _, counts = np.unique(y, return_counts=True)   # codes are consecutive integers
        tau = ndtri(np.cumsum(counts)[:-1] / len(y))
        r_ps = r * y.std() / np.sum(np.exp(-tau ** 2 / 2) / np.sqrt(2 * np.pi))
        rows[name] = np.linalg.solve(R, r_ps)
    out = pd.DataFrame.from_dict(rows, orient="index", columns=list(FACTORS))
    out.index.name = "item"
    return out


def _generate(n: int, seed, country: str, missing_rate: float, not_national_rate: float):
    c = _check_args(n, missing_rate, not_national_rate, country)
    rng = _rng(seed)
    demo = _demographics(rng, n, c)
    F = _traits(rng, demo, c)
    lam = _loadings()
    L = lam.to_numpy()
    psi = 1.0 - np.einsum("jf,fg,jg->j", L, _PHI, L)
    if np.any(psi <= 0.05):
        raise AssertionError("generating model has a uniqueness <= 0.05")  # pragma: no cover
    ystar = F @ L.T + rng.standard_normal((n, len(lam))) * np.sqrt(psi)[None, :]
    cb_items = codebook()["items"]
    codes: dict[str, np.ndarray] = {}
    thresholds = {}
    for j, q in enumerate(lam.index):
        tau = _thresholds(_MODEL[q][1])
        thresholds[q] = tau
        cat = np.searchsorted(tau, ystar[:, j])
        codes[q] = np.asarray(cb_items[q]["codes"])[cat]
    # national aims: exploded logit on the traits
    util = (_AIMS["intercept"].to_numpy()[None, :]
            + F[:, [0]] * _AIMS["traditional_secular"].to_numpy()[None, :]
            + F[:, [1]] * _AIMS["survival_self_expression"].to_numpy()[None, :]
            + rng.gumbel(size=(n, 4)))
    order = np.argsort(-util, axis=1)
    codes["Q154"] = order[:, 0] + 1
    codes["Q155"] = order[:, 1] + 1
    codes = {q: codes[q] for q in WVS7_ITEMS}
    complete = {"Y002": _y002(codes["Q154"], codes["Q155"]),
                "Y003": _y003(*(codes[q] for q in ("Q8", "Q14", "Q15", "Q17")))}
    _apply_missing(rng, codes, demo, missing_rate)
    # Q254 code 5 "I am not [nationality]" (item-specific missing), independent of the rest
    not_nat = rng.random(n) < not_national_rate
    codes["Q254"] = np.where(not_nat & (codes["Q254"] > 0), 5, codes["Q254"])

    frame = pd.DataFrame({
        "A_WAVE": np.full(n, 7, dtype=np.int64),
        "A_YEAR": np.full(n, c.year, dtype=np.int64),
        "B_COUNTRY": np.full(n, c.numeric, dtype=np.int64),
        "B_COUNTRY_ALPHA": np.full(n, c.alpha, dtype=object),
        "D_INTERVIEW": c.numeric * 100_000 + np.arange(1, n + 1, dtype=np.int64),
        "W_WEIGHT": demo["W_WEIGHT"].to_numpy(),
    })
    frame["S018"] = frame["W_WEIGHT"] * 1000.0 / frame["W_WEIGHT"].sum()
    for q in WVS7_ITEMS:
        frame[q] = codes[q].astype(np.int64)
    frame["Q260"] = demo["Q260"].to_numpy()
    frame["Q261"] = c.year - demo["Q262"].to_numpy()
    frame["Q262"] = demo["Q262"].to_numpy()
    frame["Q275"] = demo["Q275"].to_numpy()
    frame["Q275R"] = demo["Q275R"].to_numpy()
    frame["Q289"] = demo["Q289"].to_numpy()
    frame["Q290"] = demo["Q290"].to_numpy()
    frame["X003R"] = demo["X003R"].to_numpy()
    frame["Y002"] = _y002(frame["Q154"].to_numpy(), frame["Q155"].to_numpy())
    frame["Y003"] = _y003(*(frame[q].to_numpy() for q in ("Q8", "Q14", "Q15", "Q17")))

    factor_names = list(FACTORS)
    truth = GenerativeTruth(
        loadings=lam,
        uniqueness=pd.Series(psi, index=lam.index, name="uniqueness"),
        thresholds=thresholds,
        factor_cov=pd.DataFrame(_PHI, index=factor_names, columns=factor_names),
        realised_factor_cov=pd.DataFrame(np.cov(F, rowvar=False), index=factor_names,
                                         columns=factor_names),
        derived_loadings=_derived_loadings(complete, F),
        demographic_effects=_effects_table(c),
        aims_utilities=_AIMS.copy(),
        scores=pd.DataFrame(F, columns=factor_names),
        n=n, seed=seed, country=country,
    )
    return frame, truth


def wvs_like_frame(n: int = 5000, seed=0, *, country: str = "SGP", missing_rate: float = 0.03,
                   not_national_rate: float = 0.01) -> pd.DataFrame:
    """The synthetic gold population as a DataFrame in the official WVS-7 layout.

    Columns: ``A_WAVE``, ``A_YEAR``, ``B_COUNTRY`` (ISO numeric), ``B_COUNTRY_ALPHA``,
    ``D_INTERVIEW``, ``W_WEIGHT``, ``S018`` (equilibrated to sum 1000), the
    items Q6 ... Q254 as integer codes with WVS missing codes (-1 don't know,
    -2 no answer; Q254 also 5 "I am not [nationality]"), the demographics
    ``Q260``, ``Q261`` (birth year), ``Q262``, ``Q275``, ``Q275R``, ``Q289``,
    ``Q290``, ``X003R``, and the derived indices ``Y002`` and ``Y003``
    (``-5`` when a component is missing). Value labels:
    :func:`~popaudit.datasets.official_value_labels`.

    Parameters are those of :func:`wvs_like`; the same ``(n, seed, ...)`` gives
    the same respondents as :func:`wvs_like`.

    Examples
    --------
    >>> from popaudit.datasets import wvs_like_frame
    >>> df = wvs_like_frame(n=200, seed=1)
    >>> int(df.loc[0, "B_COUNTRY"]), df.loc[0, "B_COUNTRY_ALPHA"]
    (702, 'SGP')
    >>> sorted(df["Y002"].unique().tolist())[-3:]
    [1, 2, 3]
    """
    frame, _ = _generate(n, seed, country, missing_rate, not_national_rate)
    return frame


def wvs_like(n: int = 5000, seed=0, *, country: str = "SGP", missing_rate: float = 0.03,
             not_national_rate: float = 0.01, derived: bool = False, name: str = "gold",
             return_truth: bool = False):
    """A synthetic gold population in WVS wave 7 coding, from known latent traits.

    Parameters
    ----------
    n : int
        Number of respondents.
    seed : int or numpy.random.Generator
        All randomness comes from this seed; the same seed gives the same data.
    country : str
        Country profile (ISO 3166 alpha-3); ``"SGP"``: a Singapore-like
        composition (sex, six age bands, Q290 ethnic groups Chinese / Malay /
        South Asian Indian / Eurasian / Caucasian, religion by ethnic group,
        ISCED education).
    missing_rate : float
        Expected share of item answers coded as WVS missing (-1 don't know,
        -2 no answer), averaged over items (default 3 %). Sensitive items
        (Q164, Q182, Q184-Q186, Q240) get more, the child qualities fewer;
        older and less educated respondents answer "don't know" more often.
    not_national_rate : float
        Share of Q254 answers coded 5 "I am not [nationality]" (item-specific
        missing), on top of ``missing_rate``.
    derived : bool
        Also include the derived indices Y002 (post-materialism, 1-3) and
        Y003 (autonomy, -2..2) as items.
    name : str
        Name of the returned survey.
    return_truth : bool
        Also return the :class:`GenerativeTruth`.

    Returns
    -------
    Survey, or (Survey, GenerativeTruth)
        Items with full codebook metadata (:func:`codebook_items`),
        demographics :data:`GOLD_DEMOGRAPHICS`, weights ``W_WEIGHT``.

    Notes
    -----
    Generating model (all parameters in :class:`GenerativeTruth`):

    1. Demographics drawn from a *sample* composition; W_WEIGHT is the
       post-stratification weight to the *population* composition on sex x
       age band x ethnic group (constant within those cells, mean 1).
    2. Two traits, traditional (-) to secular (+) and survival (-) to
       self-expression (+): demographic effects (older, female, more
       religious, Muslim, Malay -> more traditional / survival; more
       education, no religion -> more secular / self-expression) plus
       correlated normal residuals; a third, independent nuisance factor
       (response style).
    3. Each item's latent response y*_j = l_j . F + e_j with
       Var(e_j) = 1 - l_j' Phi l_j, cut at thresholds that give skewed,
       realistic marginals; a higher y* gives a higher raw code, so loadings
       carry the item's direction (Q164 loads negatively on secularism, Q15
       positively since code 2 is "religious faith not mentioned").
    4. National aims Q154/Q155: exploded logit over the four aims, the
       post-materialist aims (2 more say, 4 free speech) favoured by the
       self-expression trait; Q155 != Q154 always.
    5. WVS missing codes sprinkled as described under ``missing_rate``.

    This is a generator of known truth for testing statistics, not a model
    of any real population.

    Examples
    --------
    >>> import popaudit as pa
    >>> gold = pa.datasets.wvs_like(n=500, seed=0)
    >>> gold
    Survey('gold', 500 respondents x 27 items, weighted, demographics=['Q260', 'Q262', 'X003R', 'Q275', 'Q275R', 'Q289', 'Q290', 'B_COUNTRY_ALPHA'])
    >>> gold.item("Q154").labels[1]
    'Giving people more say in important government decisions'
    """
    frame, truth = _generate(n, seed, country, missing_rate, not_national_rate)
    items = codebook_items(derived=derived)
    s = Survey(frame, items, demographics=list(GOLD_DEMOGRAPHICS), weights="W_WEIGHT",
               name=name)
    return (s, truth) if return_truth else s


def wvs_like_truth(n: int = 5000, seed=0, *, country: str = "SGP", missing_rate: float = 0.03,
                   not_national_rate: float = 0.01) -> GenerativeTruth:
    """The :class:`GenerativeTruth` of ``wvs_like(n, seed, ...)`` (same arguments, same sample).

    Examples
    --------
    >>> from popaudit.datasets import wvs_like_truth
    >>> t = wvs_like_truth(n=300, seed=0)
    >>> float(t.loadings.loc["Q164", "traditional_secular"])
    -0.8
    """
    _, truth = _generate(n, seed, country, missing_rate, not_national_rate)
    return truth


def write_official_layout(path: str | os.PathLike, n: int = 5000, seed=0, *,
                          country: str = "SGP", format: str | None = None,
                          missing_rate: float = 0.03, not_national_rate: float = 0.01) -> Path:
    """Write the synthetic gold population as a WVS-7-style file (CSV, Parquet, .sav, .dta).

    SPSS and Stata files carry the WVS value labels (categories and missing
    codes). Returns the path written.

    Examples
    --------
    >>> import os, tempfile
    >>> from popaudit.datasets import write_official_layout
    >>> p = write_official_layout(os.path.join(tempfile.mkdtemp(), "wvs7.csv"), n=50)
    >>> p.name
    'wvs7.csv'
    """
    frame = wvs_like_frame(n, seed, country=country, missing_rate=missing_rate,
                           not_national_rate=not_national_rate)
    return write_table(frame, path, format=format, value_labels=official_value_labels(country))
