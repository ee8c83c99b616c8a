"""Tests for two correlation matrices: Jennrich, Steiger, Mantel, per-pair Fisher z.

Plain numpy/scipy functions of matrices (no surveys, no resampling of
respondents); :func:`popaudit.compare_correlations` calls them and adds the
resampling-based p-values. The ``*_statistic`` helpers are vectorised over any
leading batch axes, so a null distribution of matrices ``(B, p, p)`` gives
``(B,)`` statistics in one call.

References
----------
Jennrich, R. I. (1970). An asymptotic chi-square test for the equality of two
correlation matrices. *JASA* 65, 904-912.
Steiger, J. H. (1980). Testing pattern hypotheses on correlation matrices:
alternative statistics and some empirical results. *Multivariate Behavioral
Research* 15, 335-352 (the two-sample form as in ``psych::cortest.normal``).
Mantel, N. (1967). The detection of disease clustering and a generalized
regression approach. *Cancer Research* 27, 209-220.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from popaudit._inference import (
    adjust_pvalues,
    check_correlation_matrix,
    resampling_pvalue,
    resolve_seed,
    with_x64,
)
from popaudit._kernels import resample as _rs

__all__ = [
    "CorrelationTest",
    "jennrich_statistic",
    "jennrich_test",
    "mantel_test",
    "pairwise_difference_tests",
    "steiger_statistic",
    "steiger_test",
]

_JENNRICH_FORMS = ("jennrich1970", "psych")


@dataclass(frozen=True)
class CorrelationTest:
    """Result of a test comparing two correlation matrices.

    Attributes
    ----------
    name : str
        ``"jennrich"``, ``"steiger"`` or ``"mantel"``.
    statistic : float
        Chi-square statistic (Jennrich, Steiger) or the matrix correlation (Mantel).
    df : float or None
        Degrees of freedom of the reference chi-square distribution.
    pvalue : float
        p-value of the test.
    method : str
        How the p-value was obtained (``"asymptotic"``, ``"permutation"``, ``"exact"``).
    null_hypothesis : str
        What a small p-value rejects, in words.
    n : tuple of float
        The sample sizes used ``(n1, n2)`` (Mantel: ``(n_permutations,)``).
    note : str or None
        Why a value is undefined, or a caveat.
    settings : dict
        The options used (``n1``, ``n2``, ``form``; Mantel: ``n_perm``, ``method``,
        ``alternative`` and the integer ``seed`` of random permutations).
    notes : tuple of str
        ``note`` as a tuple (empty when there is none), as every result has.
    """

    name: str
    statistic: float
    df: float | None
    pvalue: float
    method: str
    null_hypothesis: str
    n: tuple[float, ...] = ()
    note: str | None = None
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        if self.note and not self.notes:
            object.__setattr__(self, "notes", (self.note,))

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy table."""
        return pd.DataFrame([{
            "test": self.name, "statistic": self.statistic, "df": self.df,
            "pvalue": self.pvalue, "method": self.method,
            "null_hypothesis": self.null_hypothesis, "note": self.note,
        }])

    def __repr__(self) -> str:
        df = "" if self.df is None else f", df={self.df:g}"
        note = "" if self.note is None else f", note={self.note!r}"
        return (f"CorrelationTest({self.name}: statistic={self.statistic:.4g}{df}, "
                f"pvalue={self.pvalue:.4g}, {self.method}{note})")


def _as_matrix(r, what: str) -> np.ndarray:
    names = list(r.index) if isinstance(r, pd.DataFrame) else None
    arr = r.to_numpy() if isinstance(r, pd.DataFrame) else r
    return check_correlation_matrix(arr, names=names, what=what, unit_diagonal=False)


def _check_pair(r1, r2) -> tuple[np.ndarray, np.ndarray]:
    a = _as_matrix(r1, "r1")
    b = _as_matrix(r2, "r2")
    if a.shape != b.shape:
        raise ValueError(f"correlation matrices differ in size: {a.shape} vs {b.shape}")
    if a.shape[0] < 2:
        raise ValueError("need at least two variables to compare correlation matrices")
    return a, b


def _check_n(n1, n2) -> tuple[float, float]:
    out = []
    for nm, v in (("n1", n1), ("n2", n2)):
        v = float(v)
        if not np.isfinite(v) or v <= 3:
            raise ValueError(f"{nm} must be a sample size above 3, got {v:g}")
        out.append(v)
    return out[0], out[1]


def jennrich_statistic(r1, r2, n1, n2, *, form: str = "jennrich1970") -> np.ndarray:
    """Jennrich's chi-square statistic, vectorised over leading batch axes.

    ``r1`` and ``r2`` are ``(..., p, p)`` arrays (broadcast against each other);
    returns ``(...)``. Entries whose pooled matrix is singular are NaN.
    See :func:`jennrich_test` for the formula.
    """
    if form not in _JENNRICH_FORMS:
        raise ValueError(f"form must be one of {_JENNRICH_FORMS}, got {form!r}")
    r1 = np.asarray(r1, dtype=float)
    r2 = np.asarray(r2, dtype=float)
    r1, r2 = np.broadcast_arrays(r1, r2)
    p = r1.shape[-1]
    c = n1 * n2 / (n1 + n2)
    rbar = (n1 * r1 + n2 * r2) / (n1 + n2)
    batch = rbar.shape[:-2]
    flat = rbar.reshape(-1, p, p)
    diff = (r1 - r2).reshape(-1, p, p)
    out = np.full(flat.shape[0], np.nan)
    # Singular pooled matrices give NaN, decided by the smallest eigenvalue; so do
    # matrices with undefined entries (resampled draws where a pair was inestimable).
    finite = np.all(np.isfinite(flat), axis=(-2, -1))
    ev = np.full(flat.shape[:2], np.nan)
    if finite.any():
        ev[finite] = np.linalg.eigvalsh(flat[finite])
    with np.errstate(invalid="ignore"):
        ok = finite & (ev[:, 0] > 1e-10 * np.maximum(ev[:, -1], 1.0))
    if ok.any():
        rb = flat[ok]
        rinv = np.linalg.inv(rb)
        z = np.sqrt(c) * rinv @ diff[ok]
        dz = np.diagonal(z, axis1=-2, axis2=-1)
        if form == "jennrich1970":
            s = np.eye(p) + rb * rinv
            tr = np.einsum("bij,bji->b", z, z)
        else:  # psych::cortest.jennrich (2.2.9): S = R o R and tr(Z Z')
            s = rb * rb
            tr = np.einsum("bij,bij->b", z, z)
        quad = np.einsum("bi,bi->b", dz, np.linalg.solve(s, dz[..., None])[..., 0])
        out[ok] = 0.5 * tr - quad
    return out.reshape(batch)


def steiger_statistic(r1, r2, n1, n2) -> np.ndarray:
    """Steiger's chi-square on Fisher-z differences, vectorised over batch axes.

    ``(n - 3) * sum_{i<j} (atanh r1_ij - atanh r2_ij)^2`` with
    ``n = n1 n2 / (n1 + n2)``; see :func:`steiger_test`.
    """
    r1 = np.asarray(r1, dtype=float)
    r2 = np.asarray(r2, dtype=float)
    p = r1.shape[-1]
    iu = np.triu_indices(p, 1)
    with np.errstate(divide="ignore"):
        z = np.arctanh(r1[..., iu[0], iu[1]]) - np.arctanh(r2[..., iu[0], iu[1]])
    n = n1 * n2 / (n1 + n2)
    return (n - 3.0) * np.sum(z * z, axis=-1)


def jennrich_test(r1, r2, n1, n2, *, form: str = "jennrich1970") -> CorrelationTest:
    r"""Jennrich's (1970) asymptotic chi-square test of equal correlation matrices.

    Parameters
    ----------
    r1, r2 : (p, p) array-like
        Correlation matrices of two independent samples.
    n1, n2 : float
        Their sample sizes.
    form : {"jennrich1970", "psych"}
        ``"jennrich1970"`` (default) is the statistic of the paper;
        ``"psych"`` reproduces ``psych::cortest.jennrich`` (version 2.2.9), which
        uses :math:`S = \bar R \circ \bar R` and :math:`\mathrm{tr}(ZZ^\top)` and is
        *not* calibrated unless the matrices are near the identity (see Notes).

    Returns
    -------
    CorrelationTest

    Notes
    -----
    With :math:`c = n_1 n_2/(n_1+n_2)`, the pooled matrix
    :math:`\bar R = (n_1 R_1 + n_2 R_2)/(n_1+n_2)` and
    :math:`Z = \sqrt{c}\,\bar R^{-1}(R_1 - R_2)`, Jennrich's statistic is

    .. math:: \chi^2 = \tfrac12 \mathrm{tr}(Z^2) - \mathrm{dg}(Z)^\top S^{-1}\mathrm{dg}(Z),
              \qquad S = I + \bar R \circ \bar R^{-1},

    on :math:`p(p-1)/2` degrees of freedom (:math:`\circ` the elementwise product,
    :math:`\mathrm{dg}` the diagonal as a vector). The test assumes multivariate
    normal data and Pearson correlations. ``psych::cortest.jennrich`` computes
    :math:`\tfrac12\mathrm{tr}(ZZ^\top) - \mathrm{dg}(Z)^\top(\bar R\circ\bar R)^{-1}
    \mathrm{dg}(Z)`; the two agree when :math:`\bar R = I`, but under the null
    with correlated variables psych's form rejects far too often (for example
    0.34 instead of 0.05 for ten items loading 0.7 on one factor, n = 200 vs 100;
    ``docs/structure.md``). Both are offered; the paper's is the default.

    Examples
    --------
    >>> import numpy as np
    >>> from popaudit.structure.tests import jennrich_test
    >>> r1 = np.array([[1, .5, .3], [.5, 1, .4], [.3, .4, 1]])
    >>> r2 = np.array([[1, .2, .3], [.2, 1, .1], [.3, .1, 1]])
    >>> res = jennrich_test(r1, r2, 200, 150)
    >>> round(res.statistic, 3), res.df
    (17.595, 3.0)
    """
    a, b = _check_pair(r1, r2)
    n1, n2 = _check_n(n1, n2)
    stat = float(jennrich_statistic(a, b, n1, n2, form=form))
    p = a.shape[0]
    df = p * (p - 1) / 2
    note = None
    if not np.isfinite(stat):
        note = "pooled correlation matrix is singular; the test is undefined"
        pval = float("nan")
    else:
        pval = float(stats.chi2.sf(stat, df))
    return CorrelationTest("jennrich", stat, df, pval, "asymptotic",
                           "the two population correlation matrices are equal", (n1, n2), note,
                           settings={"n1": n1, "n2": n2, "form": form})


def steiger_test(r1, r2, n1, n2) -> CorrelationTest:
    r"""Steiger's chi-square test on Fisher-z differences (``psych::cortest.normal``).

    Parameters
    ----------
    r1, r2 : (p, p) array-like
        Correlation matrices of two independent samples.
    n1, n2 : float
        Their sample sizes.

    Returns
    -------
    CorrelationTest

    Notes
    -----
    :math:`\chi^2 = (n-3)\sum_{i<j}(z_{1,ij} - z_{2,ij})^2` with
    :math:`z = \operatorname{atanh} r` and :math:`n = n_1 n_2/(n_1+n_2)`, on
    :math:`p(p-1)/2` degrees of freedom, as in ``psych::cortest.normal``. The
    sum treats the Fisher-z differences as independent, which holds when the
    population correlations are zero; with correlated items the differences
    are correlated and the test rejects too often under the null (see
    ``docs/structure.md``), so :func:`popaudit.compare_correlations` also offers
    a permutation p-value for it.

    Examples
    --------
    >>> import numpy as np
    >>> from popaudit.structure.tests import steiger_test
    >>> r1 = np.array([[1, .5], [.5, 1]])
    >>> r2 = np.array([[1, .3], [.3, 1]])
    >>> round(steiger_test(r1, r2, 103, 103).statistic, 4)  # (51.5 - 3) * dz^2
    2.7886
    """
    a, b = _check_pair(r1, r2)
    n1, n2 = _check_n(n1, n2)
    stat = float(steiger_statistic(a, b, n1, n2))
    p = a.shape[0]
    df = p * (p - 1) / 2
    note = None
    iu = np.triu_indices(p, 1)
    if np.any(np.abs(a[iu]) >= 1) or np.any(np.abs(b[iu]) >= 1):
        note = "a correlation of +-1 makes its Fisher z infinite"
    return CorrelationTest("steiger", stat, df, float(stats.chi2.sf(stat, df)), "asymptotic",
                           "the two population correlation matrices are equal", (n1, n2), note,
                           settings={"n1": n1, "n2": n2})


def _mantel_vectors(a: np.ndarray, b: np.ndarray, method: str):
    p = a.shape[0]
    iu = np.triu_indices(p, 1)
    if method == "pearson":
        bt = b
        x = a[iu]
    elif method == "spearman":
        # A joint permutation of rows and columns only rearranges b's
        # off-diagonal entries, so ranking them once is exact.
        ranks = stats.rankdata(b[iu])
        bt = np.zeros_like(b)
        bt[iu] = ranks
        bt = bt + bt.T
        x = stats.rankdata(a[iu])
    else:
        raise ValueError(f"method must be 'pearson' or 'spearman', got {method!r}")
    return x, bt, iu


@with_x64
def mantel_test(a, b, *, n_perm: int = 999, method: str = "pearson",
                alternative: str = "greater", seed=None) -> CorrelationTest:
    r"""Mantel permutation test of association between two symmetric matrices.

    Parameters
    ----------
    a, b : (p, p) array-like
        Symmetric matrices (here correlation matrices); diagonals are ignored.
    n_perm : int
        Number of random joint row/column permutations of ``b``. When
        ``p! <= n_perm`` every permutation is enumerated and the p-value is exact.
    method : {"pearson", "spearman"}
        Correlation between the upper triangles.
    alternative : {"greater", "two-sided", "less"}
        ``"greater"`` (default) tests for positive association.
    seed : int, numpy.random.Generator or None
        Seed of the permutations. An integer or None is recorded in ``settings["seed"]``
        (None there when the permutations are enumerated); a Generator is used as it is
        (the caller's stream, e.g. :func:`~popaudit.compare_correlations`, which records
        its own integer seed) and recorded as None.

    Returns
    -------
    CorrelationTest
        ``statistic`` is the matrix correlation; ``method`` is ``"permutation"``
        or ``"exact"``.

    Notes
    -----
    The statistic is :math:`r(\mathrm{vech}^*(A), \mathrm{vech}^*(B))` over the
    :math:`p(p-1)/2` off-diagonal pairs. Under the null hypothesis of *no
    association*, items are exchangeable, so the joint permutation
    :math:`B_{\pi(i)\pi(j)}` leaves the distribution unchanged; the p-value is
    :math:`(1 + \#\{r_\pi \ge r\})/(1 + N_\pi)` (Mantel 1967). It is a test of
    association, not of equality: two samples of the same population give a
    *small* Mantel p-value.

    Examples
    --------
    >>> import numpy as np
    >>> from popaudit.structure.tests import mantel_test
    >>> a = np.array([[1, .6, .5, .1], [.6, 1, .4, 0], [.5, .4, 1, .2], [.1, 0, .2, 1]])
    >>> res = mantel_test(a, a, n_perm=999)   # 4! = 24 permutations: exact
    >>> res.method, round(res.statistic, 3), round(res.pvalue, 4)
    ('exact', 1.0, 0.0417)
    """
    a, b = _check_pair(a, b)
    if alternative not in ("greater", "two-sided", "less"):
        raise ValueError(f"alternative must be 'greater', 'two-sided' or 'less', got "
                         f"{alternative!r}")
    n_perm = int(n_perm)
    if n_perm < 1:
        raise ValueError(f"n_perm must be positive, got {n_perm}")
    p = a.shape[0]
    if p < 3:
        raise ValueError("the Mantel test needs at least three variables (three pairs)")
    x, bt, iu = _mantel_vectors(a, b, method)
    obs = float(_rs.mantel_statistics(x, bt, np.arange(p)[None, :], iu)[0])
    exact = math.factorial(p) <= n_perm
    seed_value = None
    if exact:
        perms = _rs.all_permutations(p)
        null = _rs.mantel_statistics(x, bt, perms, iu)
    else:
        if isinstance(seed, np.random.Generator):
            rng = seed
        else:
            rng, seed_value = resolve_seed(seed)
        null = _rs.mantel_statistics(x, bt, _rs.random_permutations(rng, n_perm, p), iu)
    tol = 1e-12  # ties of floating-point equal statistics count as "as extreme"
    if alternative == "greater":
        k = np.sum(null >= obs - tol)
    elif alternative == "less":
        k = np.sum(null <= obs + tol)
    else:
        k = np.sum(np.abs(null) >= abs(obs) - tol)
    if exact:
        pval = k / null.size
    else:
        pval = float(resampling_pvalue(k, n_perm))
    note = None
    if not np.isfinite(obs):
        note = "a matrix has constant off-diagonal entries; the matrix correlation is undefined"
        pval = float("nan")
    return CorrelationTest("mantel", obs, None, float(pval), "exact" if exact else "permutation",
                           "no association between the two matrices",
                           (float(null.size),), note,
                           settings={"n_perm": n_perm, "method": method,
                                     "alternative": alternative, "seed": seed_value})


def pairwise_difference_tests(r1, r2, *, se_diff=None, n1=None, n2=None,
                              names=None) -> pd.DataFrame:
    r"""Fisher-z test of equal correlations for every pair, with Holm and BH adjustment.

    Parameters
    ----------
    r1, r2 : (p, p) array-like
        Correlation matrices of two independent samples.
    se_diff : (p, p) array-like, optional
        Standard error of :math:`\operatorname{atanh} r_1 - \operatorname{atanh} r_2`
        per pair (e.g. from a bootstrap). Default: the normal-theory value
        :math:`\sqrt{1/(n_1-3) + 1/(n_2-3)}`.
    n1, n2 : float or (p, p) array-like, optional
        Sample sizes (per pair when arrays), needed when ``se_diff`` is None.
    names : sequence of str, optional
        Variable names.

    Returns
    -------
    pandas.DataFrame
        One row per pair: ``item_a, item_b, r_gold, r_sim, difference, z, pvalue,
        p_holm, p_bh``.

    Notes
    -----
    :math:`z = (\operatorname{atanh} r_2 - \operatorname{atanh} r_1)/\mathrm{se}`,
    two-sided normal p-value; Holm's step-down adjustment (family-wise error)
    via ``pingouin.multicomp`` and Benjamini-Hochberg (false discovery rate) via
    ``scipy.stats.false_discovery_control``. The normal-theory standard error is
    that of Pearson correlations of normal data; polychoric correlations vary
    more, so pass a bootstrap ``se_diff`` for them.

    Examples
    --------
    >>> import numpy as np
    >>> from popaudit.structure.tests import pairwise_difference_tests
    >>> r1 = np.array([[1, .5, .3], [.5, 1, .4], [.3, .4, 1]])
    >>> r2 = np.array([[1, .2, .3], [.2, 1, .1], [.3, .1, 1]])
    >>> pairwise_difference_tests(r1, r2, n1=200, n2=150)["p_holm"].round(4).tolist()
    [0.0044, 1.0, 0.006]
    """
    a, b = _check_pair(r1, r2)
    p = a.shape[0]
    iu = np.triu_indices(p, 1)
    names = [f"V{i + 1}" for i in range(p)] if names is None else [str(x) for x in names]
    if len(names) != p:
        raise ValueError(f"{len(names)} names for {p} variables")
    with np.errstate(divide="ignore", invalid="ignore"):
        dz = np.arctanh(b[iu]) - np.arctanh(a[iu])
    if se_diff is None:
        if n1 is None or n2 is None:
            raise ValueError("give se_diff or both sample sizes n1 and n2")
        m1 = np.broadcast_to(np.asarray(n1, dtype=float), (p, p))[iu]
        m2 = np.broadcast_to(np.asarray(n2, dtype=float), (p, p))[iu]
        if np.any(m1 <= 3) or np.any(m2 <= 3):
            raise ValueError("every pair needs more than 3 observations in each sample for "
                             "a Fisher-z test")
        se = np.sqrt(1.0 / (m1 - 3.0) + 1.0 / (m2 - 3.0))
    else:
        se = np.broadcast_to(np.asarray(se_diff, dtype=float), (p, p))[iu]
        if np.any(~np.isfinite(se)) or np.any(se <= 0):
            raise ValueError("se_diff must be positive and finite for every pair")
    z = dz / se
    pv = 2.0 * stats.norm.sf(np.abs(z))
    # NaN only where both correlations are +-1 with the same sign
    p_holm, p_bh = adjust_pvalues(pv, "holm"), adjust_pvalues(pv, "bh")
    return pd.DataFrame({
        "item_a": [names[i] for i in iu[0]], "item_b": [names[j] for j in iu[1]],
        "r_gold": a[iu], "r_sim": b[iu], "difference": b[iu] - a[iu], "z": z,
        "pvalue": pv, "p_holm": p_holm, "p_bh": p_bh,
    })
