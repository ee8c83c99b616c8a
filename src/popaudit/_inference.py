"""What every component shares, written once: precision scope, warnings, seeds, resampling
summaries (noise floors, bootstrap intervals, p-values, multiple testing), effective sample
sizes, and the correlation-matrix check.

The components (marginal and modal floors, structure, factors, subgroup disparity, the
cultural map, networks) import from here; nothing in this module knows about items or
surveys beyond arrays and labels.

Conventions
-----------
* Draws are arrays with the draw axis given by ``axis`` (default last); non-finite draws are
  ignored (a bootstrap replicate on which a statistic is undefined does not count).
* A p-value from ``n`` resampled statistics of which ``count`` are at least as extreme as the
  observed one is ``(count + 1) / (n + 1)`` (Davison & Hinkley 1997, eq. 4.11): never 0, and
  exact under the null for permutation tests.
* Seeds: ``int | numpy.random.Generator | None``. :func:`resolve_seed` turns any of them into
  a generator *and* the integer that reproduces it, which every result records in
  ``settings["seed"]``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import os
import sys
import warnings
from collections.abc import Callable

import jax
import numpy as np
from scipy import stats

__all__ = [
    "DISTANCE",
    "SIMILARITY",
    "TWO_SIDED",
    "adjust_pvalues",
    "bootstrap_bias",
    "bootstrap_interval",
    "cached",
    "check_correlation_matrix",
    "fingerprint",
    "floor_summary",
    "harmonic_mean_offdiag",
    "is_positive_definite",
    "jackknife_acceleration",
    "kish_n",
    "kish_pairwise",
    "nearest_correlation",
    "positive_definite_note",
    "progress_bar",
    "progress_default",
    "renamed_arguments",
    "renamed_attribute",
    "resampling_pvalue",
    "resolve_seed",
    "seed_from_name",
    "spawn",
    "warn",
    "with_x64",
    "x64",
]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

#: How a statistic reads against its noise floor: larger is worse (RMSE, W1), smaller is
#: worse (correlation of correlations, congruence), or both ways (a signed difference).
DISTANCE, SIMILARITY, TWO_SIDED = "distance", "similarity", "two-sided"


# --------------------------------------------------------------------------------------------
# precision and warnings
# --------------------------------------------------------------------------------------------
def x64():
    """Context manager: JAX float64 inside popaudit's own computations only.

    popaudit's kernels need float64 (likelihoods near |rho| = 1, glasso convergence), but
    the user's own JAX code keeps whatever precision its process chose: the switch is
    JAX's thread-local config context, restored on exit.
    """
    enable = getattr(jax, "enable_x64", None)
    if enable is None:  # JAX < 0.5 keeps it under experimental
        from jax.experimental import enable_x64 as enable
    return enable(True)


def with_x64(func):
    """Decorator: run ``func`` inside :func:`x64` (public entry points that call kernels)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with x64():
            return func(*args, **kwargs)

    return wrapper


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` attributed to the first caller outside popaudit.

    A warning then points at the user's line, however deep inside popaudit it was raised
    (``stacklevel`` counted by hand breaks whenever a function moves or gains a wrapper).
    """
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    # stacklevel 1 is this function, 2 its caller: the first frame outside is level + 1
    warnings.warn(message, category, stacklevel=level + 1)


def renamed_arguments(**old_to_new: str) -> Callable:
    """Decorator: accept old keyword names for one release, with a ``DeprecationWarning``.

    >>> @renamed_arguments(ci="confidence_level")
    ... def f(*, confidence_level=0.95):
    ...     return confidence_level
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     f(ci=0.9), w[0].category.__name__
    (0.9, 'DeprecationWarning')
    """

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{func.__name__}() got both {old!r} (deprecated) and "
                                        f"{new!r}; pass {new!r} only")
                    warn(f"{func.__name__}(): {old!r} is deprecated, use {new!r}",
                         DeprecationWarning)
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper

    return decorate


class renamed_attribute:  # lower case: used like ``property``
    """Descriptor: an old result attribute kept for one release, read-only, with a
    ``DeprecationWarning`` that names its replacement.

    ``new`` is the attribute that replaces it; ``key`` an entry of that attribute (e.g.
    ``renamed_attribute("settings", "confidence_level")`` reads ``settings["confidence_level"]``).

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class R:
    ...     settings: dict
    ...     ci = renamed_attribute("settings", "confidence_level")
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     R({"confidence_level": 0.9}).ci, str(w[0].message)
    (0.9, "R.ci is deprecated, use .settings['confidence_level']")
    """

    def __init__(self, new: str, key: str | None = None):
        self.new, self.key = new, key
        self.owner, self.name = "result", "?"

    def __set_name__(self, owner, name):
        self.owner, self.name = owner.__name__, name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        where = self.new if self.key is None else f"{self.new}[{self.key!r}]"
        warn(f"{self.owner}.{self.name} is deprecated, use .{where}", DeprecationWarning)
        value = getattr(obj, self.new)
        return value if self.key is None else value[self.key]

    def __set__(self, obj, value):
        raise AttributeError(f"{self.owner}.{self.name} is read-only (deprecated alias of "
                             f"{self.new})")


# --------------------------------------------------------------------------------------------
# seeds
# --------------------------------------------------------------------------------------------
def resolve_seed(seed) -> tuple[np.random.Generator, int]:
    """``(generator, integer)`` from ``int | numpy.random.Generator | None``.

    The integer reproduces the run: ``np.random.default_rng(integer)`` is the generator
    returned. ``None`` takes fresh entropy (recorded, so the run can be repeated); a
    ``Generator`` is advanced by one draw of the integer, so successive calls with the same
    generator differ, as numpy users expect.

    >>> rng, s = resolve_seed(7)
    >>> s, rng.integers(100) == np.random.default_rng(7).integers(100)
    (7, np.True_)
    """
    if isinstance(seed, np.random.Generator):
        value = int(seed.integers(0, 2**63 - 1))
    elif seed is None:
        value = int(np.random.SeedSequence().entropy)
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        value = int(seed)
    else:
        raise TypeError(f"seed must be an int, a numpy.random.Generator or None, got "
                        f"{type(seed).__name__}")
    return np.random.default_rng(value), value


def spawn(seed, n: int) -> list[np.random.Generator]:
    """``n`` independent generators (SeedSequence children) from an integer seed.

    Equal to ``np.random.default_rng(seed).spawn(n)`` for a fresh integer seed: streams for
    parallel work that never overlap, whatever order they are consumed in.
    """
    if isinstance(seed, np.random.Generator):
        return seed.spawn(n)
    return [np.random.default_rng(c) for c in np.random.SeedSequence(int(seed)).spawn(n)]


def seed_from_name(seed: int, name: str) -> int:
    """A task's seed from the run's integer seed and the task's name (stable across runs,
    machines, worker counts and task order).

    >>> seed_from_name(0, "model-a/persona") == seed_from_name(0, "model-a/persona")
    True
    """
    digest = hashlib.sha256(str(name).encode("utf-8")).digest()
    words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]
    return int(np.random.SeedSequence([int(seed), *words]).generate_state(2, np.uint64)
               .view(np.uint64)[0] >> np.uint64(1))


# --------------------------------------------------------------------------------------------
# gold's own draws, computed once per audit
# --------------------------------------------------------------------------------------------
def fingerprint(*parts) -> str:
    """A digest of arrays and plain values: the identity of the data a result came from.

    Arrays count by dtype, shape and bytes; anything else by its ``repr``. Used as a cache
    key, so equal data give equal keys whatever object holds them.

    >>> a = np.arange(6).reshape(2, 3)
    >>> fingerprint(a, "x") == fingerprint(a.copy(), "x") != fingerprint(a.T, "x")
    True
    """
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        if isinstance(part, np.ndarray):
            arr = np.ascontiguousarray(part)
            h.update(repr((arr.dtype.str, arr.shape)).encode())
            h.update(arr.tobytes())
        else:
            h.update(repr(part).encode())
        h.update(b"\x00")
    return h.hexdigest()


def cached(cache, key, compute: Callable):
    """``compute()``, kept in ``cache[key]`` when a cache (a dict) is given.

    Gold's side of a comparison (its bootstrap and noise-floor draws) depends on gold, the
    simulated size and the seed only; :func:`popaudit.audit` passes one dict to every
    population's comparison so that side is computed once. Arrays put in the cache are made
    read-only, so a caller that would change them in place fails loudly instead of
    corrupting the next comparison.
    """
    if cache is None:
        return compute()
    if key not in cache:
        value = compute()
        for arr in (value.values() if isinstance(value, dict) else (value,)):
            if isinstance(arr, np.ndarray):
                arr.setflags(write=False)
        cache[key] = value
    return cache[key]


# --------------------------------------------------------------------------------------------
# resampling summaries
# --------------------------------------------------------------------------------------------
def _finite(draws) -> np.ndarray:
    d = np.asarray(draws, dtype=float)
    return d[np.isfinite(d)]


def resampling_pvalue(count, n):
    """``(count + 1) / (n + 1)``: the p-value of a bootstrap or permutation reference."""
    return (np.asarray(count, dtype=float) + 1.0) / (np.asarray(n, dtype=float) + 1.0)


def floor_summary(observed: float, draws, direction: str, level: float) -> dict:
    """Where an observed statistic stands in its noise-floor draws.

    Returns ``floor_median``, ``floor_low`` / ``floor_high`` (the ``level`` quantile on the
    bad side: the upper one for distances, the lower one for similarities, both for
    two-sided statistics), ``floor_percentile`` (mid-rank of the observed value, in %),
    ``floor_p`` (resampling p-value of "no worse than sampling noise") and ``beyond_floor``.
    ``direction`` is :data:`DISTANCE`, :data:`SIMILARITY`, :data:`TWO_SIDED`, or anything
    else for a descriptor without a floor (all NaN).

    >>> floor_summary(0.9, np.arange(100) / 100, DISTANCE, 0.95)["beyond_floor"]
    False
    """
    out = {"floor_median": np.nan, "floor_low": np.nan, "floor_high": np.nan,
           "floor_percentile": np.nan, "floor_p": np.nan, "beyond_floor": None}
    if draws is None or direction not in (DISTANCE, SIMILARITY, TWO_SIDED):
        return out
    d = _finite(draws)
    if d.size == 0 or not np.isfinite(observed):
        return out
    tol = 1e-12 * max(1.0, abs(observed))
    n_lt = np.sum(d < observed - tol)
    n_le = np.sum(d <= observed + tol)
    n_ge = np.sum(d >= observed - tol)
    out["floor_median"] = float(np.median(d))
    out["floor_percentile"] = float(100.0 * (n_lt + 0.5 * (n_le - n_lt)) / d.size)
    if direction == DISTANCE:
        out["floor_high"] = float(np.quantile(d, level))
        out["floor_p"] = float(resampling_pvalue(n_ge, d.size))
        out["beyond_floor"] = bool(observed > out["floor_high"])
    elif direction == SIMILARITY:
        out["floor_low"] = float(np.quantile(d, 1.0 - level))
        out["floor_p"] = float(resampling_pvalue(n_le, d.size))
        out["beyond_floor"] = bool(observed < out["floor_low"])
    else:
        a = (1.0 - level) / 2.0
        out["floor_low"], out["floor_high"] = (float(v) for v in np.quantile(d, [a, 1 - a]))
        out["floor_p"] = float(min(1.0, 2.0 * resampling_pvalue(min(n_le, n_ge), d.size)))
        out["beyond_floor"] = bool(observed < out["floor_low"] or observed > out["floor_high"])
    return out


def _nan_draws(draws, axis: int) -> np.ndarray:
    d = np.asarray(draws, dtype=float)
    return np.where(np.isfinite(d), d, np.nan), axis


def bootstrap_bias(point, draws, *, axis: int = -1) -> np.ndarray:
    """Bootstrap estimate of the bias, ``mean(draws) - point`` (non-finite draws ignored)."""
    d, axis = _nan_draws(draws, axis)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(d, axis=axis) - np.asarray(point, dtype=float)


def bootstrap_se(draws, *, axis: int = -1) -> np.ndarray:
    """Bootstrap standard error (``ddof=1``; non-finite draws ignored)."""
    d, axis = _nan_draws(draws, axis)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanstd(d, axis=axis, ddof=1)


def _quantiles_at(d: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Linear-interpolation quantiles of the finite values along the last axis of ``d`` at
    per-element levels ``q`` (``d.shape[:-1]``), as ``np.nanquantile`` would give them."""
    srt = np.sort(np.where(np.isfinite(d), d, np.inf), axis=-1)
    n_f = np.sum(np.isfinite(d), axis=-1)
    pos = np.clip(q, 0.0, 1.0) * np.maximum(n_f - 1, 0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n_f - 1, 0))
    frac = pos - lo
    v_lo = np.take_along_axis(srt, lo[..., None], axis=-1)[..., 0]
    v_hi = np.take_along_axis(srt, hi[..., None], axis=-1)[..., 0]
    with np.errstate(invalid="ignore"):
        return np.where(frac > 0, v_lo + frac * (v_hi - v_lo), v_lo)


def bootstrap_interval(point, draws, *, confidence_level: float = 0.95,
                       method: str = "basic", axis: int = -1,
                       bounds: tuple[float, float] | None = None,
                       squared: bool = False,
                       acceleration=0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""``(estimate, ci_low, ci_high)`` of a statistic from its bootstrap draws.

    With :math:`b = \overline{\theta^*} - \hat\theta` the bootstrap bias and :math:`q_a`
    the quantiles of the draws:

    * ``"percentile"``: :math:`[q_{a/2}, q_{1-a/2}]`, estimate :math:`\hat\theta` (the
      sampling variability of the observed value);
    * ``"basic"``: :math:`[2\hat\theta - q_{1-a/2}, 2\hat\theta - q_{a/2}]`, estimate
      :math:`\hat\theta - b`;
    * ``"shifted"``: the percentile interval moved by :math:`-2b` (it keeps the skewness
      of the draws), estimate :math:`\hat\theta - b`;
    * ``"bca"``: Efron's (1987) bias-corrected and accelerated percentile interval
      :math:`[q_{\alpha_1}, q_{\alpha_2}]`,
      :math:`\alpha_{1,2} = \Phi(z_0 + (z_0 + z_{a/2, 1-a/2}) / (1 - A (z_0 + z_{a/2,
      1-a/2})))` with :math:`z_0 = \Phi^{-1}` (share of draws below :math:`\hat\theta`,
      ties counted half) and acceleration :math:`A` (``acceleration``, e.g. from a
      jackknife: :func:`jackknife_acceleration`; 0, the default, gives the bias-corrected
      percentile interval); estimate :math:`\hat\theta`. It corrects the *median* bias
      of the draws, which the mean-based ``"basic"`` correction misses for skewed,
      bounded statistics (spread over subgroups).

    ``squared=True`` corrects on the squared scale (RMSE, Frobenius norm: sampling noise
    adds its variance to the mean square) and takes square roots after clipping at 0.
    ``bounds`` clips estimate and interval to the statistic's possible values. Vectorised:
    ``point`` broadcasts against ``draws`` with ``axis`` removed; draws that are not finite
    are ignored, and fewer than two finite draws give NaN.

    >>> est, lo, hi = bootstrap_interval(1.0, np.array([0.8, 1.0, 1.2, 1.4]),
    ...                                  method="percentile", confidence_level=0.5)
    >>> float(est), float(lo), float(hi)
    (1.0, 0.95, 1.25)
    """
    if method not in ("basic", "percentile", "shifted", "bca"):
        raise ValueError(f"ci_method must be 'basic', 'percentile', 'shifted' or 'bca', got "
                         f"{method!r}")
    d, axis = _nan_draws(draws, axis)
    point = np.asarray(point, dtype=float)
    a = (1.0 - confidence_level) / 2.0
    enough = np.sum(np.isfinite(d), axis=axis) >= 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "bca":
            dl = np.moveaxis(d, axis, -1)
            pt = np.broadcast_to(point, dl.shape[:-1])
            fin = np.isfinite(dl)
            n_f = np.maximum(np.sum(fin, axis=-1), 1)
            below = np.sum(fin & (dl < pt[..., None]), axis=-1)
            equal = np.sum(fin & (dl == pt[..., None]), axis=-1)
            share = np.clip((below + 0.5 * equal) / n_f, 0.5 / n_f, 1 - 0.5 / n_f)
            z0 = stats.norm.ppf(share)
            acc = np.broadcast_to(np.asarray(acceleration, dtype=float), z0.shape)
            levels = []
            for zq in stats.norm.ppf([a, 1 - a]):
                levels.append(stats.norm.cdf(z0 + (z0 + zq) / (1 - acc * (z0 + zq))))
            lo, hi = (_quantiles_at(dl, lv) for lv in levels)
            est = pt + 0.0 * lo
        elif method == "percentile":
            q = np.nanquantile(d, [a, 1 - a], axis=axis)
            est, lo, hi = point + 0.0 * q[0], q[0], q[1]
        else:
            t, t_star = (point ** 2, d ** 2) if squared else (point, d)
            bias = np.nanmean(t_star, axis=axis) - t
            q = np.nanquantile(t_star, [a, 1 - a], axis=axis)
            if method == "shifted":
                lo, hi = q[0] - 2 * bias, q[1] - 2 * bias
            else:
                lo, hi = 2 * t - q[1], 2 * t - q[0]
            est = t - bias
            if squared:
                est, lo, hi = (np.sqrt(np.maximum(v, 0.0)) for v in (est, lo, hi))
    if bounds is not None:
        est, lo, hi = (np.clip(v, *bounds) for v in (est, lo, hi))
    est, lo, hi = (np.where(enough & np.isfinite(point), v, np.nan) for v in (est, lo, hi))
    return est, lo, hi


def jackknife_acceleration(jackknife, *, axis: int = -1) -> np.ndarray:
    r"""Efron's acceleration :math:`A = \sum (\bar\theta_{(.)} - \theta_{(i)})^3 / (6 [\sum
    (\bar\theta_{(.)} - \theta_{(i)})^2]^{3/2})` from leave-one-(group-)out estimates, for
    ``bootstrap_interval(..., method="bca")``; 0 where undefined."""
    j, axis = _nan_draws(jackknife, axis)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        u = np.nanmean(j, axis=axis, keepdims=True) - j
        num = np.nansum(u ** 3, axis=axis)
        den = 6.0 * np.nansum(u ** 2, axis=axis) ** 1.5
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def adjust_pvalues(pvalues, method: str = "holm") -> np.ndarray:
    """Multiple-testing adjustment over the finite p-values (NaN stays NaN).

    ``method``: ``"holm"``, ``"bonferroni"``, ``"bh"`` / ``"fdr_bh"`` (Benjamini–Hochberg),
    ``"by"`` (Benjamini–Yekutieli) or ``"none"``. Holm and Bonferroni through pingouin,
    the false-discovery rates through scipy.

    >>> adjust_pvalues([0.01, 0.04, np.nan, 0.03], "holm").round(2).tolist()
    [0.03, 0.06, nan, 0.06]
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if method == "none":
        return p.copy()
    if not ok.any():
        return out
    if method in ("holm", "bonferroni"):
        import pingouin  # imported here: it pulls in statsmodels (seconds) for this one call

        out[ok] = np.asarray(pingouin.multicomp(p[ok], method=method)[1], dtype=float)
    elif method in ("bh", "fdr_bh", "by", "fdr_by"):
        out[ok] = stats.false_discovery_control(p[ok], method=method[-2:])
    else:
        raise ValueError(f"p_adjust must be 'holm', 'bonferroni', 'bh', 'by' or 'none', got "
                         f"{method!r}")
    return out


# --------------------------------------------------------------------------------------------
# effective sample sizes
# --------------------------------------------------------------------------------------------
def kish_n(weights, n: int | None = None) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` (``n`` when unweighted)."""
    if weights is None:
        if n is None:
            raise ValueError("give weights or n")
        return float(n)
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / np.sum(w * w))


def kish_pairwise(valid: np.ndarray, weights=None) -> np.ndarray:
    """``(p, p)`` pairwise-complete sample sizes (Kish effective sizes when weighted).

    ``valid`` is the ``(n, p)`` boolean mask of answered items.
    """
    v = np.asarray(valid, dtype=float)
    if weights is None:
        return v.T @ v
    w = np.asarray(weights, dtype=float)
    s1 = (v * w[:, None]).T @ v
    s2 = (v * (w * w)[:, None]).T @ v
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s2 > 0, s1 * s1 / s2, 0.0)


def harmonic_mean_offdiag(n, *, names=None, on_zero: str = "raise") -> float:
    """Harmonic mean of the off-diagonal pairwise counts of a ``(p, p)`` matrix.

    The sample size implied by a pairwise-complete correlation matrix. A pair with no
    respondent in common raises (``on_zero="raise"``, naming the pair when ``names`` are
    given) or gives 0 (``on_zero="zero"``).
    """
    n = np.asarray(n, dtype=float)
    iu = np.triu_indices(n.shape[0], 1)
    x = n[iu]
    if np.any(x <= 0):
        if on_zero == "zero":
            return 0.0
        k = int(np.argmax(x <= 0))
        pair = ("" if names is None else
                f" ({names[iu[0][k]]!r} and {names[iu[1][k]]!r})")
        raise ValueError(f"some item pairs have no respondent in common{pair}; the correlation "
                         "matrix is not estimable for them: drop one item of each such pair")
    return float(x.size / np.sum(1.0 / x))


# --------------------------------------------------------------------------------------------
# correlation matrices
# --------------------------------------------------------------------------------------------
def check_correlation_matrix(r, *, names=None, what: str = "the correlation matrix",
                             atol: float = 1e-8, unit_diagonal: bool = True) -> np.ndarray:
    """A square, finite, symmetric matrix with unit diagonal, as float64 — or a clear error.

    The one validator of every component that accepts a correlation matrix. Errors name the
    offending pair or item (``names``) and say what to do. Positive definiteness is not
    required here; the functions that need it check it themselves and say so.
    """
    arr = np.asarray(r, dtype=float)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{what} must be square, got shape {arr.shape}")
    p = arr.shape[0]
    names = [f"V{i + 1}" for i in range(p)] if names is None else [str(x) for x in names]
    if len(names) != p:
        raise ValueError(f"{len(names)} item names for a {p} x {p} matrix")
    if not np.all(np.isfinite(arr)):
        i, j = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{what}: the correlation between {names[i]!r} and {names[j]!r} is "
                         f"{arr[i, j]}, not finite (no respondent answered both?); drop one of "
                         "the items")
    if not np.allclose(arr, arr.T, atol=atol, rtol=0):
        i, j = np.unravel_index(int(np.argmax(np.abs(arr - arr.T))), arr.shape)
        raise ValueError(f"{what} is not symmetric: entries ({names[i]!r}, {names[j]!r}) and "
                         f"({names[j]!r}, {names[i]!r}) differ by {abs(arr[i, j] - arr[j, i]):.3g}")
    if unit_diagonal and not np.allclose(np.diag(arr), 1.0, atol=atol, rtol=0):
        j = int(np.argmax(np.abs(np.diag(arr) - 1)))
        raise ValueError(f"{what}: the diagonal entry of {names[j]!r} is {arr[j, j]:g}, not 1; "
                         "pass a correlation (not covariance) matrix")
    return arr


#: A correlation matrix counts as positive definite when its smallest eigenvalue exceeds
#: this multiple of its largest (the rule of the Jennrich statistic and effective dependence).
PD_TOL = 1e-10


def nearest_correlation(A: np.ndarray, *, eig_tol=1e-6, conv_tol=1e-7, posd_tol=1e-8,
                         maxit=100) -> np.ndarray:
    """Higham's (2002) nearest correlation matrix by alternating projections.

    Dykstra-corrected projections onto the positive semidefinite cone and the
    unit-diagonal set, then eigenvalues floored at ``posd_tol`` times the
    largest and the diagonal rescaled to 1: the defaults of R's
    ``Matrix::nearPD(corr = TRUE)``, with which it agrees. Used where a correlation
    matrix must be positive definite (``pd_repair="nearest"`` of the polychoric matrix, of
    a network's input and of its resamples).

    >>> r = np.array([[1, .9, .1], [.9, 1, .9], [.1, .9, 1]])
    >>> bool(np.linalg.eigvalsh(r)[0] < 0 < np.linalg.eigvalsh(nearest_correlation(r))[0])
    True
    """
    X = np.array(A, dtype=float)
    n = X.shape[0]
    dS = np.zeros_like(X)
    converged = False
    for _ in range(maxit):  # iterations of one p x p problem, not pairs
        Y = X
        R = Y - dS
        d, Q = np.linalg.eigh(R)
        keep = d > eig_tol * d[-1]
        if not keep.any():
            raise ValueError("the correlation matrix seems negative semidefinite; cannot repair")
        Qk = Q[:, keep]
        X = (Qk * d[keep]) @ Qk.T
        dS = X - R
        X = X.copy()
        np.fill_diagonal(X, 1.0)
        conv = np.abs(Y - X).sum(1).max() / np.abs(Y).sum(1).max()
        if conv <= conv_tol:
            converged = True
            break
    if not converged:
        warn(f"nearest correlation matrix did not converge in {maxit} iterations",
             RuntimeWarning)
    d, Q = np.linalg.eigh(X)
    eps = posd_tol * abs(d[-1])
    if d[0] < eps:
        d = np.maximum(d, eps)
        o_diag = np.diag(X).copy()
        X = (Q * d) @ Q.T
        D = np.sqrt(np.maximum(eps, o_diag) / np.diag(X))
        X = D[:, None] * X * D[None, :]
    np.fill_diagonal(X, 1.0)
    return 0.5 * (X + X.T) if n else X


def is_positive_definite(eig_asc) -> np.ndarray:
    """Positive definite by :data:`PD_TOL`, from eigenvalues in *ascending* order (``...,
    p``); NaN eigenvalues (a matrix with undefined entries) are not."""
    ev = np.asarray(eig_asc, dtype=float)
    with np.errstate(invalid="ignore"):
        return ev[..., 0] > PD_TOL * np.maximum(np.abs(ev[..., -1]), 1.0)


def positive_definite_note(r, what: str, consequences: str) -> str | None:
    """A note, also given as a warning, when a correlation matrix is not positive definite.

    Returns None for a positive-definite matrix; otherwise
    ``"<what> is not positive definite (minimum eigenvalue -0.008): <consequences>"``,
    warned through :func:`warn` so the user sees it where they called.
    """
    arr = np.asarray(r, dtype=float)
    if not np.all(np.isfinite(arr)):
        return None  # undefined entries are reported where they arise
    ev = np.linalg.eigvalsh(arr)
    if is_positive_definite(ev):
        return None
    note = f"{what} is not positive definite (minimum eigenvalue {ev[0]:.3g}): {consequences}"
    warn(note)
    return note


# --------------------------------------------------------------------------------------------
# progress
# --------------------------------------------------------------------------------------------
_PROGRESS: contextvars.ContextVar[bool | None] = contextvars.ContextVar("popaudit_progress",
                                                                       default=None)


@contextlib.contextmanager
def progress_default(progress: bool | None):
    """Within the block, bars whose caller passed ``progress=None`` follow ``progress``.

    ``audit(progress=False)`` and ``popaudit ... --quiet`` use it to silence the bars of the
    functions they call, which have no ``progress`` argument of their own.

    Examples
    --------
    >>> import io
    >>> with progress_default(False):
    ...     bar = progress_bar(range(2), progress=None, file=io.StringIO(), delay=0)
    >>> bar.disable
    True
    """
    token = _PROGRESS.set(progress)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def progress_bar(iterable=None, *, total: int | None = None, desc: str | None = None,
                 progress: bool | None = None, unit: str = "it", file=None, delay: float = 1.0):
    """A progress bar (tqdm) for a long loop, silent unless someone is watching.

    Parameters
    ----------
    iterable : iterable, optional
        Wrapped and returned as the bar; without it, call ``update(k)`` on the bar.
    total : int, optional
        Number of steps (default ``len(iterable)`` when it has one).
    desc : str, optional
        Label in front of the bar ("bootstrap", "polychoric chunks" ...).
    progress : bool or None
        ``True`` shows the bar, ``False`` never does, ``None`` (the default of every public
        function that takes ``progress``) follows the enclosing :func:`progress_default`
        block if any, else shows the bar only when ``file`` is a terminal, so logs, CI and
        piped output stay clean.
    file : file-like, optional
        Where the bar is written (default ``sys.stderr``).
    delay : float
        Seconds before the bar first appears: loops shorter than this print nothing.

    Returns
    -------
    tqdm.tqdm
        Usable as an iterator or a context manager; a disabled bar does nothing.

    Examples
    --------
    >>> total = 0
    >>> for k in progress_bar(range(3), desc="draws", progress=False):
    ...     total += k
    >>> total
    3
    """
    from tqdm import tqdm

    if progress is None:
        progress = _PROGRESS.get()
    disable = None if progress is None else not progress
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, leave=False,
                file=sys.stderr if file is None else file, delay=delay, mininterval=0.5,
                dynamic_ncols=True)
