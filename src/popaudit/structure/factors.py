"""Exploratory factor analysis of ordinal items, number of factors, and factor recovery.

Everything here works on correlation matrices — normally polychoric ones
(:func:`popaudit.structure.polychoric`) — so that a simulated population's factor
structure can be read against gold's:

- :func:`efa`: exploratory factor analysis (minres or
  maximum likelihood; varimax, promax or oblimin), with the fit statistics
  psych::fa reports for a correlation matrix and ``n.obs``;
- :func:`parallel_analysis`: eigenvalues and scree data, and the number of
  factors by Horn's parallel analysis on polychoric matrices of data with
  the same marginals and n (each item's answers permuted independently);
- :func:`sampling_adequacy`: Kaiser–Meyer–Olkin and Bartlett's sphericity test;
- :func:`align_loadings`, :func:`congruence`, :func:`congruence_matrix`:
  Procrustes alignment of one loading matrix onto another and Tucker's
  congruence coefficient, with Lorenzo-Seva & ten Berge's bands;
- :func:`congruence_noise_floor` and :func:`compare_factors`: gold against
  simulated, read against the congruence of gold with its own resamples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from factor_analyzer import Rotator
from scipy import linalg, optimize, stats

from popaudit._inference import (
    check_correlation_matrix,
    harmonic_mean_offdiag,
    progress_bar,
    renamed_arguments,
    renamed_attribute,
    resolve_seed,
)
from popaudit._inference import warn as _warn
from popaudit.data.survey import Survey
from popaudit.structure.polychoric import polychoric, polychoric_batch

__all__ = [
    "CONGRUENCE_BANDS",
    "Alignment",
    "Congruence",
    "EFAResult",
    "FactorComparison",
    "FitStatistics",
    "NoiseFloor",
    "ParallelAnalysisResult",
    "SamplingAdequacy",
    "align_loadings",
    "compare_factors",
    "congruence",
    "congruence_band",
    "congruence_matrix",
    "congruence_noise_floor",
    "efa",
    "parallel_analysis",
    "sampling_adequacy",
]

METHODS = ("minres", "ml")
ROTATIONS = ("none", "varimax", "promax", "oblimin")
ALIGNMENTS = ("orthogonal", "oblique", "match")

#: Lorenzo-Seva & ten Berge (2006): phi >= .95 the factors can be considered
#: equal, .85 <= phi < .95 fair similarity, below .85 different.
CONGRUENCE_BANDS: tuple[tuple[float, str], ...] = ((0.95, "equal"), (0.85, "fair similarity"),
                                                    (-np.inf, "different"))


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------
def _polychoric_batch(codes, weights, n_categories):
    return np.asarray(polychoric_batch(codes, weights, n_categories=n_categories), dtype=float)


def _ordered_items(data, what: str = "the survey"):
    """A survey restricted to its ordinal and binary items, with a note naming the nominal
    items left out (polychoric correlations need ordered categories); other inputs as given.
    """
    if not isinstance(data, Survey):
        return data, ()
    nominal = [it.name for it in data.items if it.kind == "nominal"]
    if not nominal:
        return data, ()
    kept = [it.name for it in data.items if it.kind != "nominal"]
    if len(kept) < 3:
        raise ValueError(f"{what} has {len(kept)} ordinal or binary item(s) besides the "
                         f"nominal {nominal}; factor analysis needs at least 3 ordered items")
    note = (f"nominal item(s) {nominal} left out of {what}: polychoric correlations need "
            f"ordered categories; {len(kept)} ordinal and binary items analysed")
    return data.select(kept), (note,)


def _as_corr(data, item_names=None) -> tuple[np.ndarray, tuple[str, ...], float | None]:
    """(R, item names, n implied by the input or None) from any accepted input."""
    implied_n = None
    if isinstance(data, Survey):
        data = polychoric(data)
    if hasattr(data, "corr") and not isinstance(data, (pd.DataFrame, np.ndarray)):
        # a PolychoricResult (or anything carrying .corr and optionally .n)
        pair_n = getattr(data, "n", None)
        if pair_n is not None:
            implied_n = harmonic_mean_offdiag(pair_n, names=list(data.corr.columns))
        data = data.corr
    if isinstance(data, pd.DataFrame):
        if list(data.index) != list(data.columns) and not isinstance(data.index, pd.RangeIndex):
            raise ValueError("a correlation DataFrame needs the same labels on rows and columns")
        names = tuple(str(c) for c in data.columns)
        r = data.to_numpy(dtype=float)
    else:
        r = np.asarray(data, dtype=float)
        names = None
    if r.ndim != 2 or r.shape[0] != r.shape[1]:
        raise ValueError(f"a correlation matrix must be square, got shape {r.shape}")
    p = r.shape[0]
    if item_names is not None:
        names = tuple(str(c) for c in item_names)
        if len(names) != p:
            raise ValueError(f"{len(names)} item names for a {p} x {p} matrix")
    elif names is None:
        names = tuple(f"V{i + 1}" for i in range(p))
    if p < 3:
        raise ValueError(f"factor analysis needs at least 3 items, got {p}")
    r = check_correlation_matrix(r, names=names)
    if np.any(np.abs(r) > 1 + 1e-12):
        i, j = np.argwhere(np.abs(r) > 1 + 1e-12)[0]
        raise ValueError(f"correlation between {names[i]!r} and {names[j]!r} is {r[i, j]}")
    r = (r + r.T) / 2
    np.fill_diagonal(r, 1.0)
    return r, names, implied_n


def _as_loadings(x, name: str) -> pd.DataFrame:
    if isinstance(x, EFAResult):
        return x.loadings
    if isinstance(x, pd.DataFrame):
        return x.astype(float)
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} loadings must be 2-D (items x factors), got shape {arr.shape}")
    return pd.DataFrame(arr, index=[f"V{i + 1}" for i in range(arr.shape[0])],
                        columns=[f"F{j + 1}" for j in range(arr.shape[1])])


def _paired(x, y, names=("loadings", "target")) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two loading matrices with the same items (rows of ``x`` put in ``y``'s order)."""
    a, b = _as_loadings(x, names[0]), _as_loadings(y, names[1])
    if set(a.index) != set(b.index):
        only_a = sorted(set(a.index) - set(b.index))
        only_b = sorted(set(b.index) - set(a.index))
        raise KeyError(f"{names[0]} and {names[1]} have different items: only in "
                       f"{names[0]} {only_a}, only in {names[1]} {only_b}")
    a = a.loc[b.index]
    if not np.all(np.isfinite(a.to_numpy())) or not np.all(np.isfinite(b.to_numpy())):
        raise ValueError("loadings must be finite numbers")
    return a, b


# --------------------------------------------------------------------------------------------
# exploratory factor analysis
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FitStatistics:
    """Fit of a factor model to a correlation matrix, as psych::fa reports it.

    ``chi_square`` is psych's ``STATISTIC``: the maximum-likelihood fit
    function at the fitted model times Bartlett's correction
    ``n - 1 - (2p + 5)/6 - 2k/3``, computed for any extraction method.
    ``empirical_chi_square`` is psych's ``chi`` (sum of squared off-diagonal
    residuals times n). Fields that need positive degrees of freedom are None
    when ``dof <= 0``.
    """

    n_obs: float
    n_factors: int
    dof: int
    objective: float
    chi_square: float
    p_value: float | None
    rmsea: float | None
    rmsea_ci: tuple[float | None, float | None]
    rmsea_level: float
    tli: float
    bic: float | None
    null_chi_square: float
    null_dof: int
    empirical_chi_square: float
    rms: float
    crms: float | None

    #: field -> the name psych::fa gives it
    PSYCH_NAMES: ClassVar[dict[str, str]] = {"objective": "objective", "chi_square": "STATISTIC", "dof": "dof",
                   "p_value": "PVAL", "rmsea": "RMSEA[1]", "rmsea_lower": "RMSEA[2]",
                   "rmsea_upper": "RMSEA[3]", "tli": "TLI", "bic": "BIC",
                   "null_chi_square": "null.chisq", "null_dof": "null.dof",
                   "empirical_chi_square": "chi", "rms": "rms", "crms": "crms"}

    def to_frame(self) -> pd.DataFrame:
        """One row per statistic: ``statistic``, ``value``, ``psych_name``."""
        values = {"objective": self.objective, "chi_square": self.chi_square,
                  "dof": self.dof, "p_value": self.p_value, "rmsea": self.rmsea,
                  "rmsea_lower": self.rmsea_ci[0], "rmsea_upper": self.rmsea_ci[1],
                  "tli": self.tli, "bic": self.bic, "null_chi_square": self.null_chi_square,
                  "null_dof": self.null_dof, "empirical_chi_square": self.empirical_chi_square,
                  "rms": self.rms, "crms": self.crms}
        return pd.DataFrame({"statistic": list(values),
                             "value": [np.nan if v is None else float(v) for v in values.values()],
                             "psych_name": [self.PSYCH_NAMES[k] for k in values]})


def _rmsea_ci(chi_sq: float, dof: int, n: float, level: float) -> tuple[float | None, ...]:
    """psych's RMSEA interval: non-centrality parameters by root finding on pchisq."""
    tail = (1 - level) / 2
    upper_bracket = max(n, chi_sq) + 2 * n
    cdf = stats.chi2.cdf(chi_sq, dof)

    def ncp_where(prob):
        return optimize.brentq(lambda x: stats.ncx2.cdf(chi_sq, dof, max(x, 1e-12)) - prob,
                               0.0, upper_bracket)

    hi = np.sqrt(ncp_where(tail) / (n - 1) / dof) if cdf > tail else 0.0
    lo = np.sqrt(ncp_where(1 - tail) / (n - 1) / dof) if cdf > 1 - tail else 0.0
    return float(lo), float(hi)


def _fit_statistics(r: np.ndarray, loadings: np.ndarray, phi: np.ndarray | None, n: float,
                    rmsea_level: float = 0.90) -> FitStatistics:
    p, k = loadings.shape
    model = loadings @ (phi if phi is not None else np.eye(k)) @ loadings.T
    residual = r - model
    np.fill_diagonal(residual, 0.0)
    dof = int(p * (p - 1) / 2 - p * k + k * (k - 1) / 2)
    ss_off = float(np.sum(residual ** 2))
    model_full = model.copy()
    np.fill_diagonal(model_full, 1.0)
    m_inv_r = np.linalg.solve(model_full, r)
    sign, logdet = np.linalg.slogdet(m_inv_r)
    sign0, logdet_r = np.linalg.slogdet(r)
    if sign <= 0 or sign0 <= 0:
        raise ValueError("the likelihood fit statistics need a positive-definite correlation "
                         "matrix and model; repair the matrix (e.g. the polychoric PD repair) "
                         "or pass n_obs=None to skip them")
    objective = float(np.trace(m_inv_r) - logdet - p)
    correction = (n - 1) - (2 * p + 5) / 6 - (2 * k) / 3
    chi_sq = max(objective * correction, 0.0)
    f0 = float(-logdet_r)  # tr(R) - log det R - p with unit diagonal
    null_dof = int(p * (p - 1) / 2)
    m0 = f0 / null_dof
    tli = float((m0 - objective / dof) / (m0 - 1 / correction)) if dof > 0 else np.nan
    if dof > 0:
        p_value = float(stats.chi2.sf(chi_sq, dof))
        rmsea = float(np.sqrt(max(chi_sq / (dof * n) - 1 / (n - 1), 0.0)))
        rmsea_ci = _rmsea_ci(chi_sq, dof, n, rmsea_level)
        bic = float(chi_sq - dof * np.log(n))
        crms = float(np.sqrt(ss_off / (2 * dof)))
    else:
        p_value = rmsea = bic = crms = None
        rmsea_ci = (None, None)
    return FitStatistics(
        n_obs=float(n), n_factors=k, dof=dof, objective=objective, chi_square=float(chi_sq),
        p_value=p_value, rmsea=rmsea, rmsea_ci=rmsea_ci, rmsea_level=rmsea_level, tli=tli,
        bic=bic, null_chi_square=float(f0 * ((n - 1) - (2 * p + 5) / 6)), null_dof=null_dof,
        empirical_chi_square=float(ss_off * n), rms=float(np.sqrt(ss_off / (p * (p - 1)))),
        crms=crms)


@dataclass(frozen=True, repr=False)
class EFAResult:
    """An exploratory factor solution.

    Attributes
    ----------
    loadings : DataFrame
        Items x factors pattern loadings, factors ``F1..Fk`` ordered by
        variance accounted for and signed so that each column sums positive
        (psych's conventions).
    unrotated : DataFrame
        Loadings before rotation; ``loadings = unrotated @ rotation_matrix``.
    rotation_matrix : ndarray
        (k, k) transformation from unrotated to rotated loadings.
    phi : DataFrame or None
        Factor correlations (oblique rotations only).
    structure : DataFrame
        Structure matrix ``loadings @ phi`` (equal to loadings when orthogonal).
    communalities, uniquenesses : Series
        ``diag(L Phi L')`` and ``1 -`` that.
    eigenvalues : ndarray
        Eigenvalues of the analysed correlation matrix, decreasing.
    corr : DataFrame
        The analysed correlation matrix.
    fit : FitStatistics or None
        Fit statistics (None without ``n_obs``).
    settings : dict
        The options used: ``n_factors``, ``method``, ``rotation`` (as asked),
        ``rotation_kwargs``, ``n_obs`` (as given; None when implied by the data).
    notes : tuple of str
        Why no fit statistics or no rotation, where that was decided for the user.
    """

    loadings: pd.DataFrame
    unrotated: pd.DataFrame
    rotation_matrix: np.ndarray
    phi: pd.DataFrame | None
    structure: pd.DataFrame
    communalities: pd.Series
    uniquenesses: pd.Series
    eigenvalues: np.ndarray
    corr: pd.DataFrame
    method: str
    rotation: str
    n_obs: float | None
    fit: FitStatistics | None
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def n_factors(self) -> int:
        return self.loadings.shape[1]

    @property
    def item_names(self) -> tuple[str, ...]:
        return tuple(self.loadings.index)

    def variance_explained(self) -> pd.DataFrame:
        """SS loadings, proportion and cumulative proportion of variance per factor."""
        lam = self.loadings.to_numpy()
        phi = np.eye(lam.shape[1]) if self.phi is None else self.phi.to_numpy()
        ss = np.diag(phi @ lam.T @ lam)
        prop = ss / lam.shape[0]
        return pd.DataFrame({"ss_loadings": ss, "proportion": prop,
                             "cumulative": np.cumsum(prop)}, index=self.loadings.columns)

    def score_weights(self) -> pd.DataFrame:
        """Thurstone regression factor-score weights ``R^{-1} S`` (S the structure matrix).

        Scores are ``Z @ weights`` with Z the standardised item values.
        """
        w = np.linalg.solve(self.corr.to_numpy(), self.structure.to_numpy())
        return pd.DataFrame(w, index=self.loadings.index, columns=self.loadings.columns)

    def to_frame(self) -> pd.DataFrame:
        """Tidy loadings: one row per item and factor (``item``, ``factor``, ``loading``,
        ``communality``)."""
        long = self.loadings.rename_axis(index="item", columns="factor").stack()
        out = long.rename("loading").reset_index()
        out["communality"] = self.communalities.loc[out["item"]].to_numpy()
        return out

    def __repr__(self) -> str:
        head = (f"EFAResult({self.method}, {self.rotation}, {self.n_factors} factor(s), "
                f"{len(self.item_names)} items")
        if self.fit is not None:
            f = self.fit
            head += f", n={f.n_obs:g}: chi2({f.dof})={f.chi_square:.2f}"
            if f.rmsea is not None:
                head += f", RMSEA={f.rmsea:.3f}"
            head += f", TLI={f.tli:.3f}"
        return head + ")\n" + self.loadings.round(3).to_string()


_PSI_BOUNDS = (0.005, 1.0)  # uniquenesses, as psych::fa and factor-analyzer bound them


def _top_eigen(a: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = linalg.eigh(a)
    return values[::-1], vectors[:, ::-1][:, :k]


def _minres_objective(psi: np.ndarray, r: np.ndarray, k: int) -> float:
    """Sum of squared residuals of ``R`` (diagonal ``1 - psi``) from its rank-k fit."""
    rr = r.copy()
    np.fill_diagonal(rr, 1.0 - psi)
    values, vectors = _top_eigen(rr, k)
    lam = vectors * np.sqrt(np.maximum(values[:k], np.finfo(float).eps * 100))
    return float(np.sum((rr - lam @ lam.T) ** 2))


def _ml_objective(psi: np.ndarray, r: np.ndarray, k: int) -> float:
    """The discrepancy of R's ``factanal`` at uniquenesses ``psi``."""
    sc = 1.0 / np.sqrt(psi)
    values = linalg.eigvalsh(r * np.outer(sc, sc))[::-1][k:]
    return float(-(np.sum(np.log(values) - values) - k + r.shape[0]))


def _extract(r: np.ndarray, k: int, method: str) -> np.ndarray:
    """Unrotated loadings by minimum residual or maximum likelihood (psych::fa's methods).

    The uniquenesses ``psi`` minimise the objective by L-BFGS-B from ``1 - SMC`` within
    [0.005, 1] (psych's and factor-analyzer's start and bounds); the loadings are then the
    top-k eigenvectors of ``R`` with diagonal ``1 - psi`` (minres) or of
    ``Psi^-1/2 R Psi^-1/2`` rescaled (ML, as R's ``factanal``). popaudit owns this step:
    factor-analyzer 0.5.1's public ``FactorAnalyzer.fit`` fails with scikit-learn >= 1.6
    (``check_array(force_all_finite=...)``) and has no newer release; the psych fixtures in
    tests/test_factors.py hold it to psych's loadings (3.9e-6 minres, 8.4e-5 ML).
    """
    start = np.diag(r) - (1.0 - 1.0 / np.diag(np.linalg.inv(r)))
    objective = _ml_objective if method in ("ml", "mle") else _minres_objective
    res = optimize.minimize(objective, start, args=(r, k), method="L-BFGS-B",
                            bounds=[_PSI_BOUNDS] * r.shape[0], options={"maxiter": 1000})
    if not res.success:
        _warn(f"factor extraction ({method}) did not converge: {res.message}", RuntimeWarning)
    psi = res.x
    if method in ("ml", "mle"):
        sc = 1.0 / np.sqrt(psi)
        values, vectors = _top_eigen(r * np.outer(sc, sc), k)
        return np.sqrt(psi)[:, None] * vectors * np.sqrt(np.maximum(values[:k] - 1.0, 0.0))
    rr = r.copy()
    np.fill_diagonal(rr, 1.0 - psi)
    values, vectors = _top_eigen(rr, k)
    return vectors * np.sqrt(np.maximum(values[:k], 0.0))


def efa(data, n_factors: int, *, method: str = "minres", rotation: str | None = "varimax",
        n_obs: float | None = None, rotation_kwargs: dict | None = None,
        item_names=None) -> EFAResult:
    """Exploratory factor analysis of a correlation matrix.

    Parameters
    ----------
    data : Survey, PolychoricResult, DataFrame or ndarray
        A survey (its polychoric matrix is computed over its ordinal and binary
        items; nominal items are left out with a note), a polychoric result, or
        a correlation matrix.
    n_factors : int
        Number of factors k (1 <= k < number of items).
    method : {"minres", "ml"}
        Minimum residual (unweighted least squares) or maximum likelihood
        extraction (psych::fa's objectives, solved by scipy; see Notes of ``_extract``).
    rotation : {"varimax", "promax", "oblimin", "none"} or None
        Rotation by factor-analyzer's ``Rotator`` (varimax and promax with
        Kaiser normalisation; oblimin with gamma 0 as GPArotation's default).
    n_obs : float, optional
        Sample size for the fit statistics. Default: the harmonic mean of the
        pairwise counts when ``data`` is a survey or a polychoric result, else
        none (no fit statistics). With that default, a correlation matrix that
        is not positive definite gets ``fit=None`` (the likelihood statistics
        are undefined there); an explicit ``n_obs`` raises instead.
    rotation_kwargs : dict, optional
        Passed to ``factor_analyzer.Rotator`` (e.g. ``{"power": 4}`` for promax).
    item_names : sequence of str, optional
        Names for a plain array's rows/columns.

    Returns
    -------
    EFAResult

    Notes
    -----
    Loadings are ordered and signed as psych::fa orders and signs them (after
    rotation: columns by variance accounted for, ``diag(Phi L'L)``, each
    column summing positive). Fit statistics follow psych's ``fa.stats`` for a
    correlation matrix with ``n.obs``: with model ``M = L Phi L'`` given a unit
    diagonal, ``F = tr(M^{-1}R) - log det(M^{-1}R) - p``;
    ``chi2 = F (n - 1 - (2p + 5)/6 - 2k/3)`` on
    ``dof = p(p-1)/2 - pk + k(k-1)/2``; ``RMSEA = sqrt(max(chi2/(dof n) - 1/(n-1), 0))``;
    ``TLI = (M0 - F/dof)/(M0 - 1/nm)`` with ``M0 = -2 log det R / (p(p-1))``
    and ``nm`` the correction above (Tucker & Lewis 1973; Revelle, psych).

    Examples
    --------
    >>> import numpy as np, popaudit as pa
    >>> lam = np.array([[.8, 0], [.7, 0], [.6, 0], [0, .7], [0, .6], [0, .5]])
    >>> r = lam @ lam.T
    >>> np.fill_diagonal(r, 1.0)
    >>> res = pa.structure.factors.efa(r, 2, n_obs=500)
    >>> np.round(np.abs(res.loadings.to_numpy()), 2)[:, 0]
    array([0.8, 0.7, 0.6, 0. , 0. , 0. ])
    >>> round(res.fit.chi_square, 6), res.fit.dof
    (0.0, 4)
    """
    data, selected = _ordered_items(data)
    r, names, implied_n = _as_corr(data, item_names)
    p = r.shape[0]
    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)):
        raise TypeError(f"n_factors must be an integer, got {n_factors!r}")
    k = int(n_factors)
    if not 1 <= k < p:
        raise ValueError(f"n_factors must be between 1 and {p - 1} for {p} items, got {k}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    rotation = "none" if rotation is None else rotation
    if rotation not in ROTATIONS:
        raise ValueError(f"rotation must be one of {ROTATIONS}, got {rotation!r}")
    settings = {"n_factors": k, "method": method, "rotation": rotation,
                "rotation_kwargs": dict(rotation_kwargs or {}),
                "n_obs": None if n_obs is None else float(n_obs)}
    notes = list(selected)
    if k == 1:
        rotation = "none"  # nothing to rotate; the result says so
    fit_required = n_obs is not None
    if n_obs is None:
        n_obs = implied_n
    if n_obs is not None and not n_obs > 1:
        raise ValueError(f"n_obs must be greater than 1, got {n_obs}")

    unrot = _extract(r, k, method)
    unrot = unrot * np.where(unrot.sum(axis=0) < 0, -1.0, 1.0)  # psych signs before rotating
    phi = None
    if rotation != "none":
        rot = Rotator(method=rotation, **(rotation_kwargs or {}))
        lam = np.asarray(rot.fit_transform(unrot), dtype=float)
        t = rot.rotation_ if rotation == "promax" else np.linalg.inv(rot.rotation_).T
        phi = None if rot.phi_ is None else np.asarray(rot.phi_, dtype=float)
    else:
        lam, t = unrot.copy(), np.eye(k)
    signs = np.where(lam.sum(axis=0) < 0, -1.0, 1.0)
    lam, t = lam * signs, t * signs
    if phi is not None:
        phi = phi * np.outer(signs, signs)
    ss = np.diag((np.eye(k) if phi is None else phi) @ lam.T @ lam)
    order = np.argsort(-ss, kind="stable")
    lam, t = lam[:, order], t[:, order]
    if phi is not None:
        phi = phi[np.ix_(order, order)]
    cols = [f"F{j + 1}" for j in range(k)]
    phi_m = np.eye(k) if phi is None else phi
    communal = np.einsum("ij,jk,ik->i", lam, phi_m, lam)
    # The likelihood statistics are undefined for a matrix that is not positive definite
    # (e.g. polychoric correlations at +-1 from a mode-collapsed population): an explicit
    # n_obs asks for them and gets the error; an n_obs implied by the data gets fit=None.
    if n_obs is None:
        fit = None
        notes.append("no fit statistics: the sample size is unknown for a correlation "
                     "matrix (pass n_obs)")
    elif not fit_required and np.linalg.eigvalsh(r)[0] <= 0:
        fit = None
        notes.append("no fit statistics: the correlation matrix is not positive definite, "
                     "so the likelihood statistics are undefined")
    else:
        fit = _fit_statistics(r, lam, phi, float(n_obs))
    return EFAResult(
        loadings=pd.DataFrame(lam, index=list(names), columns=cols),
        unrotated=pd.DataFrame(unrot, index=list(names), columns=cols),
        rotation_matrix=t,
        phi=None if phi is None else pd.DataFrame(phi, index=cols, columns=cols),
        structure=pd.DataFrame(lam @ phi_m, index=list(names), columns=cols),
        communalities=pd.Series(communal, index=list(names), name="communality"),
        uniquenesses=pd.Series(1.0 - communal, index=list(names), name="uniqueness"),
        eigenvalues=np.linalg.eigvalsh(r)[::-1].copy(),
        corr=pd.DataFrame(r, index=list(names), columns=list(names)),
        method=method, rotation=rotation, n_obs=None if n_obs is None else float(n_obs),
        fit=fit, settings=settings, notes=tuple(notes))


# --------------------------------------------------------------------------------------------
# sampling adequacy
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SamplingAdequacy:
    """Kaiser–Meyer–Olkin measure and Bartlett's test of sphericity.

    ``bartlett_*`` are None when no ``n_obs`` is known. ``settings``: ``n_obs`` as given
    (None when implied by the data); ``notes``: tuple of str.
    """

    kmo: float
    kmo_per_item: pd.Series
    n_obs: float | None
    bartlett_statistic: float | None
    bartlett_dof: int
    bartlett_pvalue: float | None
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """``statistic``, ``item`` (None for overall), ``value``."""
        rows = [("kmo", None, self.kmo)]
        rows += [("kmo", it, float(v)) for it, v in self.kmo_per_item.items()]
        rows += [("bartlett_statistic", None, self.bartlett_statistic),
                 ("bartlett_dof", None, float(self.bartlett_dof)),
                 ("bartlett_pvalue", None, self.bartlett_pvalue)]
        return pd.DataFrame(rows, columns=["statistic", "item", "value"])

    def __repr__(self) -> str:
        s = f"SamplingAdequacy(KMO={self.kmo:.3f}"
        if self.bartlett_statistic is not None:
            s += (f", Bartlett chi2({self.bartlett_dof})={self.bartlett_statistic:.1f}, "
                  f"p={self.bartlett_pvalue:.3g}")
        return s + ")"


def sampling_adequacy(data, *, n_obs: float | None = None, item_names=None) -> SamplingAdequacy:
    """KMO (overall and per item) and Bartlett's sphericity test of a correlation matrix.

    Parameters
    ----------
    data : Survey, PolychoricResult, DataFrame or ndarray
        As for :func:`efa`.
    n_obs : float, optional
        Sample size for Bartlett's test (default as in :func:`efa`).

    Notes
    -----
    ``KMO_j = sum_i r_ij^2 / (sum_i r_ij^2 + sum_i q_ij^2)`` over ``i != j``,
    with ``q_ij = -P_ij / sqrt(P_ii P_jj)`` the partial correlations from
    ``P = R^{-1}`` (Kaiser 1970); Bartlett (1951):
    ``chi2 = -(n - 1 - (2p + 5)/6) log det R`` on ``p(p-1)/2`` df.
    factor-analyzer's ``calculate_kmo`` and ``calculate_bartlett_sphericity``
    compute the same from raw data (Pearson correlations); these take the
    matrix, so they apply to polychoric correlations. Tests check both
    against factor-analyzer on raw data and against psych::KMO and
    psych::cortest.bartlett.

    Examples
    --------
    >>> import numpy as np, popaudit as pa

    Equicorrelation .5 among 4 items: every partial correlation is
    .5 / (1 + 2 * .5) = .25, so KMO = .25 / (.25 + .0625) = .8.

    >>> r = np.full((4, 4), 0.5); np.fill_diagonal(r, 1.0)
    >>> res = pa.structure.factors.sampling_adequacy(r, n_obs=100)
    >>> round(res.kmo, 12), res.bartlett_dof
    (0.8, 6)
    """
    r, names, implied_n = _as_corr(data, item_names)
    settings = {"n_obs": None if n_obs is None else float(n_obs)}
    n_obs = implied_n if n_obs is None else n_obs
    p = r.shape[0]
    try:
        prec = np.linalg.inv(r)
    except np.linalg.LinAlgError:
        raise ValueError("the correlation matrix is singular: KMO needs its inverse") from None
    d = np.sqrt(np.diag(prec))
    partial = -prec / np.outer(d, d)
    off = ~np.eye(p, dtype=bool)
    r2 = np.where(off, r ** 2, 0.0)
    q2 = np.where(off, partial ** 2, 0.0)
    per_item = r2.sum(axis=0) / (r2.sum(axis=0) + q2.sum(axis=0))
    overall = float(r2.sum() / (r2.sum() + q2.sum()))
    dof = int(p * (p - 1) / 2)
    stat = pval = None
    if n_obs is not None:
        sign, logdet = np.linalg.slogdet(r)
        if sign <= 0:
            raise ValueError("Bartlett's test needs a positive-definite correlation matrix")
        stat = float(-logdet * (n_obs - 1 - (2 * p + 5) / 6))
        pval = float(stats.chi2.sf(stat, dof))
    return SamplingAdequacy(kmo=overall, kmo_per_item=pd.Series(per_item, index=list(names),
                                                                name="kmo"),
                            n_obs=None if n_obs is None else float(n_obs),
                            bartlett_statistic=stat, bartlett_dof=dof, bartlett_pvalue=pval,
                            settings=settings,
                            notes=() if n_obs is not None else (
                                ("no Bartlett test: the sample size is unknown for a "
                                 "correlation matrix (pass n_obs)"),))


# --------------------------------------------------------------------------------------------
# parallel analysis
# --------------------------------------------------------------------------------------------
def _as_survey(data) -> Survey:
    if isinstance(data, Survey):
        return data
    if isinstance(data, pd.DataFrame):
        return Survey(data)
    arr = np.asarray(data)
    if arr.ndim == 2:
        return Survey(pd.DataFrame(arr, columns=[f"V{j + 1}" for j in range(arr.shape[1])]))
    raise TypeError(f"expected a Survey, a DataFrame or a 2-D array of answer codes, got "
                    f"{type(data).__name__}")


def _reduced_eigenvalues(r: np.ndarray) -> np.ndarray:
    """Eigenvalues (decreasing) of R with squared multiple correlations on the diagonal;
    works on (p, p) or stacked (B, p, p)."""
    smc = 1.0 - 1.0 / np.diagonal(np.linalg.inv(r), axis1=-2, axis2=-1)
    reduced = r.copy()
    idx = np.arange(r.shape[-1])
    reduced[..., idx, idx] = np.clip(smc, 0.0, 1.0)
    return np.linalg.eigvalsh(reduced)[..., ::-1]


def _first_failure(observed: np.ndarray, threshold: np.ndarray) -> int:
    above = observed > threshold
    return int(np.argmin(above)) if not above.all() else int(above.size)


@dataclass(frozen=True, repr=False)
class ParallelAnalysisResult:
    """Eigenvalues of the observed and of the simulated (independent-item) matrices.

    ``n_factors`` counts the leading reduced-matrix eigenvalues (SMCs on the
    diagonal) above the simulated quantile, ``n_components`` the same for
    the full-matrix (principal component) eigenvalues, each up to the first
    that fails (psych::fa.parallel's rule). ``settings``: ``n_null`` (simulated data
    sets), ``quantile``, ``seed`` (the integer that reproduces them), ``batch_size``;
    ``notes``: tuple of str.
    """

    eigenvalues: pd.DataFrame
    n_factors: int
    n_components: int
    n_obs: int
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    n_draws = renamed_attribute("settings", "n_null")
    seed = renamed_attribute("settings", "seed")

    @property
    def quantile(self) -> float:
        """Quantile of the simulated eigenvalues (``settings["quantile"]``)."""
        return self.settings["quantile"]

    def to_frame(self) -> pd.DataFrame:
        """Scree data: ``kind`` ("pc" or "fa"), ``index`` (1..p), ``observed``,
        ``simulated_mean``, ``simulated_quantile``, ``retained``."""
        return self.eigenvalues.copy()

    def __repr__(self) -> str:
        pc = self.eigenvalues[self.eigenvalues["kind"] == "pc"].head(6)
        return (f"ParallelAnalysisResult(n_factors={self.n_factors}, "
                f"n_components={self.n_components}, {self.settings['n_null']} null draws, "
                f"quantile={self.quantile}, n={self.n_obs})\n"
                + pc.drop(columns="kind").round(3).to_string(index=False))


@renamed_arguments(n_draws="n_null")
def parallel_analysis(data, *, n_null: int = 100, quantile: float = 0.95, seed=None,
                      batch_size: int = 25) -> ParallelAnalysisResult:
    """Horn's parallel analysis on polychoric matrices.

    Parameters
    ----------
    data : Survey, DataFrame or 2-D int array
        Respondents x items answers (a survey's nominal items are left out, with
        a note: polychoric correlations need ordered categories).
    n_null : int
        Simulated data sets: draws of the eigenvalues under "no association"
        (``n_draws`` before 0.2, deprecated).
    quantile : float
        Quantile of the simulated eigenvalues an observed one must exceed
        (0.95 after Glorfeld 1995; the mean is reported too).
    seed : int, numpy Generator or None
        Source of the permutations; the integer that reproduces them is in
        ``settings["seed"]``.
    batch_size : int
        Simulated data sets per call of ``polychoric_batch`` (memory bound).

    Returns
    -------
    ParallelAnalysisResult

    Notes
    -----
    Each simulated data set permutes every item's answers independently
    across respondents (psych::fa.parallel's resampling variant): marginals,
    missing answers and n stay exactly those observed, all association is
    destroyed. Survey weights stay with their rows. Observed and simulated
    matrices come from the same estimator, :func:`popaudit.polychoric_batch`,
    in one batched call per ``batch_size`` draws. Eigenvalues are those of the
    full matrix (principal components) and of the matrix with squared
    multiple correlations on the diagonal (common factors).

    Examples
    --------
    >>> import popaudit as pa  # doctest: +SKIP
    >>> res = pa.structure.factors.parallel_analysis(pa.datasets.wvs_like(n=500, seed=0),
    ...                                              n_null=20, seed=1)  # doctest: +SKIP
    """
    survey, selected = _ordered_items(_as_survey(data))
    n_draws = n_null
    if n_draws < 1:
        raise ValueError(f"n_null must be at least 1, got {n_draws}")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    if survey.n_items < 3:
        raise ValueError("parallel analysis needs at least 3 items")
    rng, seed_value = resolve_seed(seed)
    codes = np.asarray(survey.category_indices())
    k = survey.n_categories
    w = survey.weights
    n, p = codes.shape
    observed = _polychoric_batch(codes[None], None if w is None else w[None], k)[0]
    sims = []
    with progress_bar(total=n_draws, desc="parallel analysis", unit="draw") as bar:
        for start in range(0, n_draws, batch_size):
            b = min(batch_size, n_draws - start)
            shuffled = rng.permuted(np.broadcast_to(codes, (b, n, p)), axis=1)
            sims.append(_polychoric_batch(shuffled, w, k).reshape(b, p, p))
            bar.update(b)
    sim = np.concatenate(sims)
    rows = []
    counts = {}
    for kind, fn in (("pc", lambda m: np.linalg.eigvalsh(m)[..., ::-1]),
                     ("fa", _reduced_eigenvalues)):
        obs_ev, sim_ev = fn(observed), fn(sim)
        thr = np.quantile(sim_ev, quantile, axis=0)
        m = _first_failure(obs_ev, thr)
        counts[kind] = m
        rows.append(pd.DataFrame({"kind": kind, "index": np.arange(1, p + 1),
                                  "observed": obs_ev, "simulated_mean": sim_ev.mean(axis=0),
                                  "simulated_quantile": thr,
                                  "retained": np.arange(p) < m}))
    return ParallelAnalysisResult(
        eigenvalues=pd.concat(rows, ignore_index=True), n_factors=counts["fa"],
        n_components=counts["pc"], n_obs=int(n),
        settings={"n_null": int(n_draws), "quantile": float(quantile), "seed": seed_value,
                  "batch_size": int(batch_size)}, notes=selected)


# --------------------------------------------------------------------------------------------
# congruence and alignment
# --------------------------------------------------------------------------------------------
def congruence_band(phi):
    """Lorenzo-Seva & ten Berge's reading of a congruence coefficient.

    ``>= .95`` "equal", ``.85 <= phi < .95`` "fair similarity", else
    "different". Accepts a number (returns a str) or an array (array of str).

    Examples
    --------
    >>> import popaudit as pa
    >>> pa.structure.factors.congruence_band(0.97), pa.structure.factors.congruence_band(0.9)
    ('equal', 'fair similarity')
    """
    arr = np.asarray(phi, dtype=float)
    if np.any(np.isnan(arr)):
        raise ValueError("congruence is NaN: a loading column is all zero")
    out = np.select([arr >= CONGRUENCE_BANDS[0][0], arr >= CONGRUENCE_BANDS[1][0]],
                    [CONGRUENCE_BANDS[0][1], CONGRUENCE_BANDS[1][1]], CONGRUENCE_BANDS[2][1])
    return str(out) if out.ndim == 0 else out.astype(object)


def _tucker(x: np.ndarray, y: np.ndarray, axis=0) -> np.ndarray:
    num = np.sum(x * y, axis=axis)
    den = np.sqrt(np.sum(x * x, axis=axis) * np.sum(y * y, axis=axis))
    if np.any(den == 0):
        raise ValueError("a loading column is all zero: its congruence is undefined")
    return num / den


def congruence_matrix(x, y) -> pd.DataFrame:
    """Tucker congruence between every column of ``x`` and every column of ``y``.

    The same as psych::factor.congruence(x, y) (without its rounding). Rows
    of ``x`` are matched to ``y`` by item name when both are DataFrames.

    Examples
    --------
    >>> import numpy as np, popaudit as pa
    >>> x = np.array([[1., 0], [1, 0], [0, 1]]); y = np.array([[1., 1], [1, 1], [0, 1]])
    >>> pa.structure.factors.congruence_matrix(x, y).round(4).to_numpy()
    array([[1.    , 0.8165],
           [0.    , 0.5774]])
    """
    a, b = _paired(x, y, ("x", "y"))
    xa, yb = a.to_numpy(), b.to_numpy()
    num = xa.T @ yb
    den = np.sqrt(np.outer(np.sum(xa * xa, axis=0), np.sum(yb * yb, axis=0)))
    if np.any(den == 0):
        raise ValueError("a loading column is all zero: its congruence is undefined")
    return pd.DataFrame(num / den, index=a.columns, columns=b.columns)


@dataclass(frozen=True, repr=False)
class Congruence:
    """Tucker's congruence per factor and overall, with interpretation bands.

    ``overall`` is the coefficient over all loadings at once,
    ``sum x y / sqrt(sum x^2 sum y^2)`` over items and factors. ``settings`` (no options:
    empty) and ``notes`` as every result.
    """

    per_factor: pd.Series
    overall: float
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def bands(self) -> pd.Series:
        return pd.Series(congruence_band(self.per_factor.to_numpy()),
                         index=self.per_factor.index, name="band")

    @property
    def overall_band(self) -> str:
        return congruence_band(self.overall)

    def to_frame(self) -> pd.DataFrame:
        """``factor`` (or "overall"), ``congruence``, ``band``."""
        out = pd.DataFrame({"factor": list(self.per_factor.index) + ["overall"],
                            "congruence": list(self.per_factor.to_numpy()) + [self.overall]})
        out["band"] = list(self.bands) + [self.overall_band]
        return out

    def __repr__(self) -> str:
        parts = ", ".join(f"{f}={v:.3f} ({b})" for (f, v), b in
                          zip(self.per_factor.items(), self.bands))
        return f"Congruence({parts}; overall={self.overall:.3f} ({self.overall_band}))"


def congruence(x, target) -> Congruence:
    """Tucker's congruence coefficient between matching columns of two loading matrices.

    Columns are compared in order (align first: :func:`align_loadings`).

    Notes
    -----
    ``phi(x, y) = sum_i x_i y_i / sqrt(sum_i x_i^2 sum_i y_i^2)`` (Tucker 1951);
    bands after Lorenzo-Seva & ten Berge (2006), see :func:`congruence_band`.

    Examples
    --------
    >>> import numpy as np, popaudit as pa
    >>> g = np.array([[.8, .1], [.7, .0], [.1, .6], [.0, .7]])
    >>> c = pa.structure.factors.congruence(g * 0.9, g)
    >>> round(c.overall, 6), list(c.bands)
    (1.0, ['equal', 'equal'])
    """
    a, b = _paired(x, target, ("loadings", "target"))
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"loadings have {a.shape[1]} factors, the target {b.shape[1]}")
    xa, yb = a.to_numpy(), b.to_numpy()
    per = _tucker(xa, yb, axis=0)
    overall = float(np.sum(xa * yb) / np.sqrt(np.sum(xa * xa) * np.sum(yb * yb)))
    return Congruence(per_factor=pd.Series(per, index=b.columns, name="congruence"),
                      overall=overall)


@dataclass(frozen=True, repr=False)
class Alignment:
    """Loadings aligned onto a target.

    Attributes
    ----------
    loadings : DataFrame
        Aligned loadings, in the target's rows and column names.
    rotation : ndarray
        (k, k) matrix with ``aligned = original @ rotation``.
    matched : dict
        target column -> the original column matched to it.
    signs : dict
        target column -> +1 or -1, the sign applied to the matched column.
    phi : DataFrame or None
        Factor correlations implied by an oblique alignment.
    method : str
    settings : dict
        ``method``.
    notes : tuple of str
    """

    loadings: pd.DataFrame
    rotation: np.ndarray
    matched: dict
    signs: dict
    phi: pd.DataFrame | None
    method: str
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Aligned loadings, one row per item and factor."""
        return (self.loadings.rename_axis(index="item", columns="factor").stack()
                .rename("loading").reset_index())

    def __repr__(self) -> str:
        pairs = ", ".join(f"{t}<-{'-' if self.signs[t] < 0 else ''}{s}"
                          for t, s in self.matched.items())
        return f"Alignment({self.method}: {pairs})\n" + self.loadings.round(3).to_string()


def align_loadings(loadings, target, *, method: str = "orthogonal") -> Alignment:
    """Rotate a loading matrix onto a target (simulated loadings onto gold).

    Parameters
    ----------
    loadings, target : EFAResult, DataFrame or ndarray
        Items x factors, same items (matched by name for DataFrames) and the
        same number of factors.
    method : {"orthogonal", "oblique", "match"}
        ``"match"``: only reorder and reflect columns (Hungarian assignment on
        absolute congruence, then signs); ``"orthogonal"``: the orthogonal
        Procrustes rotation ``argmin ||L T - G||`` over ``T'T = I``
        (Schönemann 1966; scipy.linalg.orthogonal_procrustes) — it contains
        every column permutation and reflection, so matching is implied and
        is reported; ``"oblique"``: least-squares target rotation
        ``T = (L'L)^{-1} L'G`` with columns rescaled so the implied factor
        correlations ``Phi = T^{-1} T^{-T}`` have a unit diagonal (Hurley &
        Cattell 1962; psych::target.rot).

    Returns
    -------
    Alignment

    Examples
    --------
    >>> import numpy as np, popaudit as pa
    >>> g = np.array([[.8, .1], [.7, .0], [.1, .6], [.0, .7]])
    >>> a = pa.structure.factors.align_loadings(-g[:, ::-1], g, method="match")
    >>> a.matched, a.signs
    ({'F1': 'F2', 'F2': 'F1'}, {'F1': -1, 'F2': -1})
    """
    if method not in ALIGNMENTS:
        raise ValueError(f"method must be one of {ALIGNMENTS}, got {method!r}")
    a, b = _paired(loadings, target, ("loadings", "target"))
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"loadings have {a.shape[1]} factors, the target {b.shape[1]}; "
                         "fit both with the same number of factors")
    la, g = a.to_numpy(), b.to_numpy()
    k = la.shape[1]
    phi_ab = congruence_matrix(a, b).to_numpy()  # original columns x target columns
    src, tgt = optimize.linear_sum_assignment(-np.abs(phi_ab))
    perm = np.empty(k, dtype=int)
    perm[tgt] = src
    signs = np.where(phi_ab[perm, np.arange(k)] < 0, -1, 1)
    match = np.zeros((k, k))
    match[perm, np.arange(k)] = signs
    phi = None
    if method == "match":
        rot = match
    elif method == "orthogonal":
        rot, _ = linalg.orthogonal_procrustes(la, g)
    else:
        u, *_ = np.linalg.lstsq(la, g, rcond=None)
        u = u @ np.diag(np.sqrt(np.diag(np.linalg.inv(u.T @ u))))
        ui = np.linalg.inv(u)
        phi = pd.DataFrame(ui @ ui.T, index=b.columns, columns=b.columns)
        rot = u
    return Alignment(loadings=pd.DataFrame(la @ rot, index=b.index, columns=b.columns),
                     rotation=rot,
                     matched={b.columns[j]: a.columns[perm[j]] for j in range(k)},
                     signs={b.columns[j]: int(signs[j]) for j in range(k)},
                     phi=phi, method=method, settings={"method": method})


# --------------------------------------------------------------------------------------------
# gold against simulated, with a noise floor
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class NoiseFloor:
    """Congruence of gold with resamples of itself.

    ``floor`` holds, per factor and "overall", the ``quantile`` of the
    congruences between gold's loadings and those of gold resampled with
    replacement at ``n_resample`` respondents: a simulated population whose
    congruence falls below it differs by more than sampling does. ``settings``:
    ``n_null`` (resamples), ``quantile``, ``n_resample``, ``seed`` (the integer that
    reproduces them), ``method``, ``rotation``, ``align``, ``batch_size``; ``notes``:
    tuple of str.
    """

    draws: pd.DataFrame
    floor: pd.Series
    n_resample: int
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    n_draws = renamed_attribute("settings", "n_null")

    @property
    def quantile(self) -> float:
        """The lower quantile reported as the floor (``settings["quantile"]``)."""
        return self.settings["quantile"]

    def to_frame(self) -> pd.DataFrame:
        """``factor`` (or "overall"), ``floor``, ``median`` of the draws."""
        med = self.draws.median()
        return pd.DataFrame({"factor": self.floor.index, "floor": self.floor.to_numpy(),
                             "median": med.loc[self.floor.index].to_numpy()})

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={v:.3f}" for k, v in self.floor.items())
        return (f"NoiseFloor(q={self.quantile}, {self.settings['n_null']} resamples of "
                f"{self.n_resample}: {parts})")


@renamed_arguments(n_draws="n_null")
def congruence_noise_floor(gold: Survey, n_factors: int, *, reference: EFAResult | None = None,
                           n_resample: int | None = None, n_null: int = 100,
                           quantile: float = 0.05, method: str = "minres",
                           rotation: str | None = "varimax", align: str = "orthogonal",
                           seed=None, batch_size: int = 25,
                           floor: str = "independent") -> NoiseFloor:
    """Congruence of gold's factor loadings with those of gold's own resamples.

    Parameters
    ----------
    gold : Survey
    n_factors : int
    reference : EFAResult, optional
        Gold's solution (fitted here when omitted, with ``method``/``rotation``).
    n_resample : int, optional
        Respondents per resample: the simulated population's size (default
        gold's size).
    n_null, quantile : int, float
        Number of resamples of gold (draws of the congruence under "no difference";
        ``n_draws`` before 0.2, deprecated) and the lower quantile reported as the floor.
    method, rotation, align
        As for :func:`efa` and :func:`align_loadings`.
    seed : int, numpy Generator or None
        Source of the resamples; the integer that reproduces them is in
        ``settings["seed"]``.
    batch_size : int
        Resamples per call of ``polychoric_batch``.
    floor : {"independent", "resample"}
        What a draw compares. ``"independent"`` (default): a bootstrap replicate of
        gold (gold's size, refitted) with an independent resample of ``n_resample``
        (refitted, aligned onto the replicate), so that both sides carry their own
        sampling noise, as gold and a second real sample would. ``"resample"``: the
        ``reference`` solution itself with the resample - it omits gold's own noise
        and is too tight: on survey-like data a second real sample fell below it in
        about 30 % of replications at a nominal 5 % (``docs/validity.md``).

    Notes
    -----
    A resample is a row of multinomial counts over gold's respondents (times
    their survey weights); ``polychoric_batch`` computes the resampled
    polychoric matrices in batches from those count weights; each is factored (one factor-analyzer fit per
    resample), aligned onto the reference and compared by Tucker's
    coefficient. With ``floor="independent"`` the replicate is first aligned onto
    the reference (so that its factors keep the reference's names), then the
    resample onto the aligned replicate; a draw costs two polychoric matrices and
    two fits.
    """
    if not isinstance(gold, Survey):
        raise TypeError("the noise floor resamples gold's respondents: pass gold as a Survey")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    if floor not in ("independent", "resample"):
        raise ValueError(f"floor must be 'independent' or 'resample', got {floor!r}")
    n_draws = n_null
    if n_draws < 2:
        raise ValueError(f"n_null must be at least 2, got {n_draws}")
    rng, seed_value = resolve_seed(seed)
    if reference is None:
        reference = efa(gold, n_factors, method=method, rotation=rotation)
    if reference.n_factors != n_factors:
        raise ValueError(f"reference has {reference.n_factors} factors, asked for {n_factors}")
    codes = np.asarray(gold.category_indices())
    w = gold.weights
    n, p = codes.shape
    m = int(n if n_resample is None else n_resample)
    if m < p + 1:
        raise ValueError(f"n_resample={m} is too small for {p} items")
    names = list(gold.item_names)
    rows = []
    bar = progress_bar(total=n_draws, desc="congruence noise floor", unit="draw")
    for start in range(0, n_draws, batch_size):
        b = min(batch_size, n_draws - start)
        # a resample as multinomial counts over gold's rows, times the survey weights
        counts = rng.multinomial(m, np.full(n, 1.0 / n), size=b).astype(float)
        mats = _polychoric_batch(codes, counts if w is None else counts * w,
                                 gold.n_categories).reshape(b, p, p)
        gmats = None
        if floor == "independent":  # gold's side: a bootstrap replicate of gold's size
            gcounts = rng.multinomial(n, np.full(n, 1.0 / n), size=b).astype(float)
            gmats = _polychoric_batch(codes, gcounts if w is None else gcounts * w,
                                      gold.n_categories).reshape(b, p, p)
        for i, mat in enumerate(mats):  # one optimisation per matrix (factor-analyzer style)
            fit = efa(pd.DataFrame(mat, index=names, columns=names), n_factors, method=method,
                      rotation=rotation)
            target = reference
            if gmats is not None:
                gfit = efa(pd.DataFrame(gmats[i], index=names, columns=names), n_factors,
                           method=method, rotation=rotation)
                target = align_loadings(gfit, reference, method=align).loadings
            al = align_loadings(fit, target, method=align)
            c = congruence(al.loadings, target)
            rows.append({**c.per_factor.to_dict(), "overall": c.overall})
            bar.update(1)
    bar.close()
    draws = pd.DataFrame(rows)
    return NoiseFloor(draws=draws, floor=draws.quantile(quantile).rename("floor"),
                      n_resample=m,
                      settings={"n_null": int(n_draws), "quantile": float(quantile),
                                "n_resample": m, "seed": seed_value, "method": method,
                                "rotation": rotation, "align": align,
                                "batch_size": int(batch_size), "floor": floor})


@dataclass(frozen=True, repr=False)
class FactorComparison:
    """Gold and simulated factor solutions, aligned and compared.

    ``settings``: the options of :func:`compare_factors` (``n_factors``, ``method``,
    ``rotation``, ``align``, ``noise_floor``, ``n_null``, ``quantile`` and the integer
    ``seed``); ``notes``: those of the two solutions, prefixed ``gold:`` / ``simulated:``.
    """

    gold: EFAResult
    simulated: EFAResult
    alignment: Alignment
    congruence: Congruence
    noise_floor: NoiseFloor | None
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """``factor`` (or "overall"), ``congruence``, ``band``, ``noise_floor``,
        ``below_noise_floor``."""
        out = self.congruence.to_frame()
        if self.noise_floor is None:
            out["noise_floor"] = np.nan
            out["below_noise_floor"] = pd.array([pd.NA] * len(out), dtype="boolean")
        else:
            fl = self.noise_floor.floor.loc[out["factor"]].to_numpy()
            out["noise_floor"] = fl
            out["below_noise_floor"] = out["congruence"].to_numpy() < fl
        return out

    def __repr__(self) -> str:
        return ("FactorComparison(gold vs simulated, "
                f"{self.gold.method}/{self.gold.rotation}, align={self.alignment.method})\n"
                + self.to_frame().round(3).to_string(index=False))


@renamed_arguments(n_draws="n_null")
def compare_factors(gold, simulated, n_factors: int, *, method: str = "minres",
                    rotation: str | None = "varimax", align: str = "orthogonal",
                    noise_floor: bool = True, n_null: int = 100, quantile: float = 0.05,
                    seed=None, floor: str = "independent") -> FactorComparison:
    """Factor the gold and simulated populations, align simulated onto gold, compare.

    Parameters
    ----------
    gold, simulated : Survey, PolychoricResult or correlation matrix
        Same items. The noise floor needs gold as a :class:`Survey`. Surveys
        are analysed over their ordinal and binary items (nominal items are
        left out with a note, as :func:`parallel_analysis` does).
    n_factors : int
    method, rotation : str
        As for :func:`efa`.
    align : {"orthogonal", "oblique", "match"}
        As for :func:`align_loadings`.
    noise_floor : bool
        Compute gold-vs-resampled-gold congruence at the simulated size.
    n_null, quantile, seed, floor
        For :func:`congruence_noise_floor` (``n_draws`` before 0.2, deprecated).
        ``floor="independent"`` (default): the floor compares a bootstrap replicate
        of gold with an independent resample at the simulated size, as gold and a
        second real sample would differ; ``"resample"`` (before 0.2) compared gold's
        own solution with the resample and was too tight (``docs/validity.md``).

    Returns
    -------
    FactorComparison

    Notes
    -----
    Bands after Lorenzo-Seva & ten Berge (2006): >= .95 equal, .85-.94 fair
    similarity, < .85 different. A congruence below the noise floor is lower
    than what two real samples of these sizes give.
    """
    gold, gold_sel = _ordered_items(gold, "gold")
    simulated, sim_sel = _ordered_items(simulated, "the simulated population")
    g = efa(gold, n_factors, method=method, rotation=rotation)
    s = efa(simulated, n_factors, method=method, rotation=rotation)
    al = align_loadings(s, g, method=align)
    seed_value = resolve_seed(seed)[1]
    if floor not in ("independent", "resample"):
        raise ValueError(f"floor must be 'independent' or 'resample', got {floor!r}")
    nf = None
    if noise_floor:
        if not isinstance(gold, Survey):
            raise ValueError("the noise floor resamples gold's respondents: pass gold as a "
                             "Survey, or noise_floor=False")
        m = simulated.n_respondents if isinstance(simulated, Survey) else None
        nf = congruence_noise_floor(gold, n_factors, reference=g, n_resample=m,
                                    n_null=n_null, quantile=quantile, method=method,
                                    rotation=rotation, align=align, seed=seed_value,
                                    floor=floor)
    settings = {"n_factors": int(n_factors), "method": method, "rotation": rotation,
                "align": align, "noise_floor": bool(noise_floor), "n_null": int(n_null),
                "quantile": float(quantile), "seed": seed_value,
                "floor": floor if noise_floor else None}
    notes = gold_sel + sim_sel + tuple(f"{who}: {n}" for who, res in (("gold", g),
                                                                        ("simulated", s))
                                       for n in res.notes)
    return FactorComparison(gold=g, simulated=s, alignment=al,
                            congruence=congruence(al.loadings, g), noise_floor=nf,
                            settings=settings, notes=notes)
