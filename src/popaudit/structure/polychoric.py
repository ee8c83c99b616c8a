"""Two-step polychoric (and tetrachoric) correlations for all item pairs at once.

The plain numpy/pandas face of :mod:`popaudit._kernels.polychoric`:
:func:`polychoric` for one data set (a :class:`~popaudit.data.survey.Survey`, a
DataFrame or an integer array) and :func:`polychoric_batch` for many resamples
of one (bootstrap draws, permutations) in a single compiled computation.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from popaudit import _jaxcache, _settings
from popaudit._inference import nearest_correlation, progress_bar, renamed_attribute, with_x64
from popaudit._inference import warn as _warn
from popaudit._kernels import polychoric as _k
from popaudit.data.survey import Survey

__all__ = ["PolychoricResult", "polychoric", "polychoric_batch"]

_F32_EXACT = 2.0 ** 24  # float32 sums of integers are exact below this


# ----------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class PolychoricResult:
    """Polychoric correlation matrix with thresholds, standard errors and flags.

    Attributes
    ----------
    corr : DataFrame
        p x p correlations (item names on both axes), unit diagonal. After a
        positive-definite repair this is the repaired matrix.
    thresholds : dict
        Item name -> ndarray of its K - 1 thresholds (``qnorm`` of the weighted
        cumulative proportions of all its valid answers). An empty category
        shows as a repeated threshold, or ``-inf`` / ``+inf`` at the ends.
    se : DataFrame or None
        Two-step standard errors of the estimated (unrepaired) correlations,
        ``1 / sqrt(-d2 logL / d rho2)`` with thresholds held fixed; 0 on the
        diagonal; NaN only where ``converged`` is False.
    n : DataFrame
        Pairwise counts: respondents (with a positive weight) who answered both
        items; the diagonal holds each item's count.
    n_eff : DataFrame
        Kish effective sample size of each pair, ``(sum w)^2 / sum w^2`` over the
        same respondents (equal to ``n`` for unweighted data).
    converged : DataFrame of bool
        False where the maximum is on the boundary (``|rho| = 1``, reported as
        exactly +-1) or the iteration did not converge.
    is_pd : bool
        Whether the *estimated* matrix was positive definite.
    pd_repaired : bool
        Whether ``corr`` was replaced by its nearest correlation matrix.
    settings : dict
        The options used (missing, correct, thresholds, pd_repair, dtype,
        min_pairs, on_insufficient, weighted); ``options`` before 0.2 (deprecated).
    item_names : tuple of str
    empty_categories : dict
        Item name -> codes of categories with no (positively weighted) answer.
        Such a category has probability 0, which is the same as dropping it.
    notes : tuple of str
        What the warnings said: pairs set to NaN or at the boundary, the PD repair,
        empty categories.
    """

    corr: pd.DataFrame
    thresholds: dict
    se: pd.DataFrame | None
    n: pd.DataFrame
    n_eff: pd.DataFrame
    converged: pd.DataFrame
    is_pd: bool
    pd_repaired: bool
    settings: dict
    item_names: tuple
    empty_categories: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    options = renamed_attribute("settings")

    def to_frame(self) -> pd.DataFrame:
        """One row per item pair (upper triangle): item1, item2, rho, se, n, converged.

        ``se`` is NaN throughout when standard errors were not requested.
        """
        names = list(self.item_names)
        iu, ju = np.triu_indices(len(names), 1)
        R = self.corr.to_numpy()
        se = (self.se.to_numpy()[iu, ju] if self.se is not None
              else np.full(iu.size, np.nan))
        return pd.DataFrame({
            "item1": [names[i] for i in iu],
            "item2": [names[j] for j in ju],
            "rho": R[iu, ju],
            "se": se,
            "n": self.n.to_numpy()[iu, ju],
            "converged": self.converged.to_numpy()[iu, ju],
        })

    def __repr__(self) -> str:
        p = len(self.item_names)
        npairs = p * (p - 1) // 2
        n_pairs = self.n.to_numpy()[np.triu_indices(p, 1)]
        iu = np.triu_indices(p, 1)
        r = self.corr.to_numpy()[iu]
        nc = int((~self.converged.to_numpy()[iu]).sum())
        w = "weighted" if self.settings.get("weighted") else "unweighted"
        lines = [(f"PolychoricResult({p} items, {npairs} pairs, {w}, missing="
                  f"{self.settings.get('missing')!r})")]
        if npairs:
            fin = r[np.isfinite(r)]  # on_insufficient="nan" can leave no estimable pair
            rho = (f"{fin.min():.3f}..{fin.max():.3f}" if fin.size else "none estimable")
            lines.append(f"  pairwise n: {int(n_pairs.min())}..{int(n_pairs.max())}; "
                         f"rho: {rho}")
        lines.append(f"  not converged / at boundary: {nc}; positive definite: {self.is_pd}"
                     + ("; repaired to nearest correlation matrix" if self.pd_repaired else ""))
        if self.empty_categories:
            lines.append(f"  empty categories: {self.empty_categories}")
        opts = {k: v for k, v in self.settings.items() if k not in ("missing", "weighted")}
        lines.append(f"  options: {opts}")
        with pd.option_context("display.width", 100, "display.max_columns", 8,
                               "display.max_rows", 8, "display.precision", 3):
            lines.append(str(self.corr))
        return "\n".join(lines)


# ----------------------------------------------------------------------------------
# input handling
# ----------------------------------------------------------------------------------
@dataclass
class _Prepared:
    codes: np.ndarray  # (n, p) int32 category indices, -1 missing
    names: tuple
    item_codes: list  # per item: the codes of its categories (for labels)
    weights: np.ndarray | None


def _codes_from_values(values: np.ndarray, names) -> tuple[np.ndarray, list]:
    """Numeric (n, p) array (NaN missing) -> category indices (-1 missing), categories.

    Works on blocks of columns so that temporaries stay small for large n x p.
    """
    n, p = values.shape
    out = np.full((n, p), -1, dtype=np.int32)
    cats: list = []
    block = max(1, int(16e6 // max(n, 1)))
    for j0 in range(0, p, block):  # column blocks bound memory; not a loop over pairs
        v = values[:, j0:j0 + block]
        if np.issubdtype(v.dtype, np.integer) or v.dtype == bool:
            v = v.astype(np.int64) if v.dtype == bool or v.dtype.itemsize > 8 else v
            ok = None  # all valid
            if n:
                codes, c = _code_block_complete(v)
                if codes is not None:
                    out[:, j0:j0 + v.shape[1]] = codes
                    cats += c
                    continue
            ok = np.ones(v.shape, bool)
        else:
            v = v.astype(float)
            ok = np.isfinite(v)
            nonint = ok & (v != np.round(v))
            if nonint.any():
                j = int(np.flatnonzero(nonint.any(axis=0))[0])
                bad = v[nonint[:, j], j][0]
                raise ValueError(f"item {names[j0 + j]!r} has non-integer code {bad:g}; "
                                 "polychoric needs integer category codes")
        out[:, j0:j0 + v.shape[1]], c = _code_block(v, ok)
        cats += c
    return out, cats


def _code_block_complete(v):
    """Integer codes without missing values (the common array input): no masks, and no
    gather when every code between an item's smallest and largest is used."""
    q = v.shape[1]
    lo = v.min(axis=0)
    width = int(np.max(v.max(axis=0) - lo)) + 1 if q else 1
    if width > 4096 or q * width >= 2**31:
        return None, None
    shifted = (v - lo).astype(np.int32)
    flat = shifted + (np.arange(q, dtype=np.int32) * width)
    present = np.bincount(flat.ravel(), minlength=q * width).reshape(q, width) > 0
    if not present.all():
        rank = (np.cumsum(present, axis=1) - 1).astype(np.int32)
        shifted = rank.ravel()[flat]
    cats = [tuple(int(lo[j]) + int(k) for k in np.flatnonzero(present[j])) for j in range(q)]
    return shifted, cats


def _code_block(v, ok):
    n, q = v.shape
    any_ok = ok.any(axis=0)
    lo = np.where(any_ok, np.min(np.where(ok, v, np.inf), axis=0), 0)
    hi = np.where(any_ok, np.max(np.where(ok, v, -np.inf), axis=0), 0)
    width = int(np.max(hi - lo)) + 1 if q else 1
    if width <= 4096:
        # small integer ranges (the usual case): one bincount for the whole block
        shifted = np.where(ok, v - lo, 0).astype(np.int64)
        flat = np.arange(q) * width + shifted
        present = np.bincount(flat[ok], minlength=q * width).reshape(q, width) > 0
        rank = np.cumsum(present, axis=1) - 1
        codes = np.where(ok, rank.ravel()[flat], -1).astype(np.int32)
        cats = [tuple(int(lo[j]) + int(k) for k in np.flatnonzero(present[j]))
                for j in range(q)]
        return codes, cats
    codes = np.full((n, q), -1, np.int32)
    cats = []
    for j in range(q):  # wide code ranges: sort-based
        u, inv = np.unique(v[ok[:, j], j], return_inverse=True)
        codes[ok[:, j], j] = inv
        cats.append(tuple(int(c) for c in u))
    return codes, cats


def _check_weights(w, n: int) -> np.ndarray:
    w = np.asarray(w, dtype=float).ravel()
    if w.shape != (n,):
        raise ValueError(f"weights have {w.size} values for {n} respondents")
    if not np.all(np.isfinite(w)):
        i = int(np.flatnonzero(~np.isfinite(w))[0])
        raise ValueError(f"weights must be finite: respondent at row {i} has weight {w[i]!r}")
    if np.any(w < 0):
        i = int(np.flatnonzero(w < 0)[0])
        raise ValueError(f"weights must be non-negative: respondent at row {i} has weight "
                         f"{w[i]:g}")
    if n and w.sum() <= 0:
        raise ValueError("weights sum to zero; at least one respondent needs a positive weight")
    return w


def _prepare(data, weights) -> _Prepared:
    if isinstance(data, Survey):
        nominal = [it.name for it in data.items if it.kind == "nominal"]
        if nominal:
            raise ValueError(f"item(s) {nominal} are nominal; polychoric correlations need "
                             "ordered categories: select ordinal/binary items with "
                             "Survey.select(...)")
        codes = np.asarray(data.category_indices(), dtype=np.int32)
        codes = np.where(codes < 0, -1, codes)
        names = tuple(data.item_names)
        item_codes = [it.codes for it in data.items]
        if weights is None:
            weights = data.weights
    elif isinstance(data, pd.DataFrame):
        df = data
        if isinstance(weights, str):
            if weights not in df.columns:
                raise KeyError(f"weight column {weights!r} not found in the data")
            w_col = weights
            weights = df[w_col].to_numpy()
            df = df.drop(columns=[w_col])
        names = tuple(str(c) for c in df.columns)
        if len(set(names)) != len(names):
            raise ValueError("duplicate column names; each item must appear once")
        vals = np.empty(df.shape, dtype=float)
        for j, c in enumerate(df.columns):
            col = pd.to_numeric(df[c], errors="coerce")
            bad = col.isna() & df[c].notna()
            if bad.any():
                raise ValueError(f"item {names[j]!r} has non-numeric value "
                                 f"{df[c][bad].iloc[0]!r}; code answers as integers (NaN for "
                                 "missing)")
            vals[:, j] = col.to_numpy(dtype=float, na_value=np.nan)
        codes, item_codes = _codes_from_values(vals, names)
    else:
        arr = np.asarray(data)
        if arr.ndim != 2:
            raise ValueError(f"data must be a 2-D (respondents x items) array, got shape "
                             f"{arr.shape}")
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise ValueError(f"data must hold integer codes, got dtype {arr.dtype}")
        names = tuple(f"V{j + 1}" for j in range(arr.shape[1]))
        codes, item_codes = _codes_from_values(arr, names)
    if weights is not None:
        weights = _check_weights(weights, codes.shape[0])
    return _Prepared(codes=codes, names=names, item_codes=item_codes, weights=weights)


# ----------------------------------------------------------------------------------
# layout helpers
# ----------------------------------------------------------------------------------
def _layout(n_cat: np.ndarray):
    """Compact one-hot columns and the padded (p, Kmax) index into them."""
    n_cat = np.asarray(n_cat, dtype=np.int32)
    p = n_cat.size
    kmax = int(n_cat.max())
    offsets = np.concatenate([[0], np.cumsum(n_cat)[:-1]])
    P = int(n_cat.sum())
    col_item = np.repeat(np.arange(p, dtype=np.int32), n_cat)
    col_cat = (np.arange(P) - offsets[col_item]).astype(np.int32)
    a = np.arange(kmax)
    pad_idx = np.where(a[None, :] < n_cat[:, None], offsets[:, None] + a[None, :], P)
    return col_item, col_cat, pad_idx.astype(np.int32), kmax


def _row_chunk(n: int, P: int) -> int:
    """Power-of-two row chunk: ~64 MB of float32 one-hot, at most the (rounded) n."""
    target = max(256, min(65536, int(2 ** math.floor(math.log2(max(16e6 / max(P, 1), 1))))))
    return min(target, 1 << max(8, math.ceil(math.log2(max(n, 1)))))


def _integer_valued(w) -> bool:
    return w is None or bool(np.all(w == np.round(w)))


def _numpy_tables_serial(codes, weights, n_cat, dtype, step_bytes=128e6):
    offsets = np.concatenate([[0], np.cumsum(n_cat)[:-1]]).astype(np.int64)
    P = int(np.sum(n_cat))
    n = codes.shape[0]
    T = np.zeros((P, P), dtype)
    # column blocks skip the lower triangle, but below a few thousand columns one full
    # product is faster (single-threaded OpenBLAS, P = 600: 0.09 s full vs 0.10 s in two)
    G = 2 if P >= 2048 else 1
    edges = np.linspace(0, P, G + 1).astype(int)
    step = max(256, int(step_bytes // (np.dtype(dtype).itemsize * max(P, 1))))
    for s in range(0, n, step):  # row chunks and G column blocks; no loop over pairs
        c = codes[s:s + step]
        m = c.shape[0]
        # one-hot by direct indexing; a missing answer goes to a scratch column P
        Xs = np.zeros((m, P + 1), dtype)
        Xs[np.arange(m)[:, None], np.where(c >= 0, offsets[None, :] + c, P)] = 1.0
        X = Xs[:, :P]
        Xw = X if weights is None else X * weights[s:s + step, None].astype(dtype)
        for g in range(G):
            a, b = edges[g], edges[g + 1]
            T[a:b, a:] += Xw[:, a:b].T @ X[:, a:]
    return T


def _numpy_tables(codes, weights, n_cat, dtype):
    """Upper triangle (with diagonal) of ``X' diag(w) X`` with numpy's BLAS.

    Row chunks bound memory; column blocks skip most of the lower triangle,
    which the kernel never reads (pairs i < j only). float32 is exact for
    integer weights whose total is below 2**24.

    The rows are split between one worker thread per core, each running BLAS
    single-threaded, and the partial tables are added: as fast as threaded BLAS
    on an idle machine and several times faster on a busy one, where OpenBLAS's
    own threads wait for each other.
    """
    P = int(np.sum(n_cat))
    n = codes.shape[0]
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    budget = 512e6 // max(P * P * np.dtype(dtype).itemsize, 1)
    workers = int(max(1, min(cores, 8, budget, n // 2048)))
    if workers == 1:
        return _numpy_tables_serial(codes, weights, n_cat, dtype)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return _numpy_tables_serial(codes, weights, n_cat, dtype)
    parts = np.array_split(np.arange(n), workers)

    def run(idx):
        w = None if weights is None else weights[idx[0]:idx[-1] + 1]
        return _numpy_tables_serial(codes[idx[0]:idx[-1] + 1], w, n_cat, dtype,
                                    step_bytes=128e6 / workers)

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as ex:
        tables = list(ex.map(run, parts))
    T = tables[0]
    for t in tables[1:]:
        T += t
    return T


def _batch_tables_serial(codes, weights, n_cat, dtype, codes_batched, step_bytes,
                         counts=True):
    """Tables ``X_b' diag(w_b) X_b`` (b, P, P) and valid-pair counts (b, p, p) of a unit.

    ``codes`` (n, p) shared or (b, n, p); ``weights`` None, (n,) or (b, n). With shared
    codes and batched weights all draws of a row chunk are one GEMM: the one-hot blocks
    of the draws, each holding its weights instead of ones, side by side, against the
    one-hot block ((m, b (P+1))' (m, P+1); column P takes missing answers and is
    dropped); with batched codes a stacked matmul. A respondent counts in the pair
    counts where both answers are valid and its weight is positive (``counts=False``:
    not computed, None returned).
    """
    offsets = np.concatenate([[0], np.cumsum(n_cat)[:-1]]).astype(np.int64)
    P, p = int(np.sum(n_cat)), n_cat.size
    n = codes.shape[-2]
    b = codes.shape[0] if codes_batched else weights.shape[0]
    Q = P + 1
    T = np.zeros((b, Q, Q), dtype)
    cdt = np.float64 if n >= _F32_EXACT else np.float32
    cnt = np.zeros((b, p + 1, p + 1), cdt)
    item = np.arange(p)
    step = max(64, int(step_bytes // (np.dtype(dtype).itemsize * max(2 * b * Q, 1))))
    for r in range(0, n, step):  # row chunks (memory bound); no loop over draws or pairs
        c = codes[..., r:r + step, :]
        m = c.shape[-2]
        rows = np.arange(m)
        col = np.where(c >= 0, offsets + c, P)  # (m, p) or (b, m, p)
        icol = np.where(c >= 0, item, p)  # validity: column p collects missing answers
        w = None if weights is None else np.asarray(weights[..., r:r + step], dtype)
        if not codes_batched:  # w (b, m): one GEMM for the unit
            X = np.zeros((m, Q), dtype)
            X[rows[:, None], col] = 1.0
            # row r of draw b's block: w[b, r] times row r of X (C order, so the reshape
            # below is a view)
            wt = np.ascontiguousarray(w.T)  # (m, b): contiguous, twice as fast below
            left = np.empty((m, b, Q), dtype)
            np.multiply(wt[:, :, None], X[:, None, :], out=left)
            T += (left.reshape(m, b * Q).T @ X).reshape(b, Q, Q)
            del left
            if not counts:
                continue
            V = np.zeros((m, p + 1), cdt)
            V[rows[:, None], icol] = 1.0
            lv = np.empty((m, b, p + 1), cdt)
            np.multiply((wt > 0).astype(cdt)[:, :, None], V[:, None, :], out=lv)
            cnt += (lv.reshape(m, b * (p + 1)).T @ V).reshape(b, p + 1, p + 1)
            continue
        bi = np.arange(b)[:, None, None]
        X = np.zeros((b, m, Q), dtype)
        X[bi, rows[None, :, None], col] = 1.0
        V = np.zeros((b, m, p + 1), cdt)
        V[bi, rows[None, :, None], icol] = 1.0
        if w is None:
            left, lv = X, V
        else:
            wb = np.broadcast_to(w, (b, m))[:, :, None]
            left = np.zeros((b, m, Q), dtype)
            left[bi, rows[None, :, None], col] = wb
            lv = np.zeros((b, m, p + 1), cdt)
            lv[bi, rows[None, :, None], icol] = wb > 0
        T += np.matmul(left.transpose(0, 2, 1), X)
        if counts:
            cnt += np.matmul(lv.transpose(0, 2, 1), V)
    return T[:, :P, :P], (cnt[:, :p, :p] if counts else None)


def _batch_tables_numpy(codes, weights, n_cat, dtype, codes_batched, budget, counts=True):
    """:func:`_batch_tables_serial` with the rows split over one thread per core."""
    n = codes.shape[-2]
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    workers = int(max(1, min(cores, 8, n // 1024)))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        workers = 1
    if workers == 1:
        return _batch_tables_serial(codes, weights, n_cat, dtype, codes_batched, budget,
                                    counts)
    parts = np.array_split(np.arange(n), workers)

    def run(idx):
        rows = slice(idx[0], idx[-1] + 1)
        w = None if weights is None else weights[..., rows]
        return _batch_tables_serial(codes[..., rows, :], w, n_cat, dtype, codes_batched,
                                    budget / workers, counts)

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as ex:
        parts = list(ex.map(run, parts))
    T, cnt = parts[0]
    for t, k in parts[1:]:
        T += t
        if counts:
            cnt += k
    return T, cnt


def _pair_tables_numpy(T, npos, pad_idx, n_cat, iu, ju, dtype=None):
    """numpy twin of the kernels' ``_pairs_from_compact`` (no compilation per data shape).

    Pair tables (..., M, Kmax, Kmax) gathered from the upper triangle of the compact
    table(s) ``T`` (..., P, P) and rescaled to sum to ``npos`` (None: left in weight
    units), in ``dtype`` (default T's); item thresholds (..., p, Kmax - 1), ``+inf`` for
    padding categories. Gathers straight from ``T`` (padding categories masked to 0),
    so no padded or converted copy of the (P, P) tables is made.
    """
    dtype = T.dtype if dtype is None else np.dtype(dtype)
    P = T.shape[-1]
    real = pad_idx < P  # (p, Kmax): False for padding categories
    idx = np.where(real, pad_idx, 0)
    marg = T[..., idx, idx].astype(dtype) * real
    cum = np.cumsum(marg, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        prop = np.clip(cum / cum[..., -1:], 0.0, 1.0)
    a = np.arange(pad_idx.shape[1] - 1)
    tau = np.where(a[None, :] < n_cat[:, None] - 1, ndtri(prop[..., :-1]), np.inf)
    tab = T[..., idx[iu][:, :, None], idx[ju][:, None, :]].astype(dtype, copy=False)
    tab *= (real[iu][:, :, None] & real[ju][:, None, :])
    if npos is not None:
        wsum = tab.sum(axis=(-2, -1))
        scale = np.divide(npos, wsum, out=np.zeros_like(wsum), where=wsum > 0)
        tab *= scale[..., None, None]
    return tab, tau


#: benchmarks/polychoric_profile.py sets a list; each call then appends (stage, wall s, cpu s)
_PROFILE: list | None = None
_last_mark = [0.0, 0.0]


def _stage(name: str | None = None) -> None:
    """Close a stage of the profile (no-op unless ``_PROFILE`` is a list)."""
    if _PROFILE is None:
        return
    now = (time.perf_counter(), time.process_time())
    if name is not None:
        _PROFILE.append((name, now[0] - _last_mark[0], now[1] - _last_mark[1]))
    _last_mark[:] = now


#: polychoric_batch on CPU: tables from numpy's BLAS (True) or from the JAX kernel (False,
#: the accelerator path; the tests use it to run that path on CPU devices)
_BATCH_TABLES_ON_CPU = True

#: pairs per call of the Newton kernel: one compiled shape per (Kmax, dtype) serves any
#: number of items, and chunks without |rho| >= .925 skip that branch of the CDF
_PAIR_CHUNK = 256


def _fit_in_chunks(tab, tr, tc, n_row, n_col, correct, *, pair_thresholds, devices=None):
    """:func:`_k.fit_pairs` over fixed-size chunks of pairs (the last one padded).

    The loop runs over chunks of ``_PAIR_CHUNK`` pairs, each solved vectorised;
    padding pairs have empty tables and are skipped by the kernel. With several
    ``devices`` the chunks are spread over them (the same chunks as on one device,
    so the same results).
    """
    M, K = tab.shape[0], tab.shape[-1]
    C = _PAIR_CHUNK
    tab, tr, tc = np.asarray(tab), np.asarray(tr), np.asarray(tc)
    n_row, n_col = np.asarray(n_row), np.asarray(n_col)
    # pairs in order of their starting |rho|: a chunk of weak correlations takes the
    # 6-node quadrature and skips the |rho| >= .925 branch of the CDF, where an unsorted
    # chunk almost always holds one strong pair that needs 20 nodes
    order = None
    if M > C:
        order = np.argsort(_start_abs(tab, tr, tc), kind="stable")
        tab, tr, tc, n_row, n_col = tab[order], tr[order], tc[order], n_row[order], n_col[order]
    _stage("start values, pair order")
    n_chunks = max(1, -(-M // C))
    pad = n_chunks * C - M
    # small problems: round Kmax up (2, 5, 10, 16, 24, ...) so that they share compiled
    # programs; the extra categories are empty and have zero width (no effect)
    kb = K
    if M <= 4 * C:
        kb = next(b for b in (2, 5, 10, *range(16, 8 * K + 16, 8)) if b >= K)
    # numpy slices: slicing JAX arrays at many offsets would compile a slice per offset
    tab = np.pad(tab, ((0, pad), (0, kb - K), (0, kb - K)))
    tr = np.pad(tr, ((0, pad), (0, kb - K)), constant_values=np.inf)
    tc = np.pad(tc, ((0, pad), (0, kb - K)), constant_values=np.inf)
    n_row = np.pad(n_row, (0, pad), constant_values=2)
    n_col = np.pad(n_col, (0, pad), constant_values=2)
    # numpy scalars, not jnp: an eager JAX op would compile a small program of its own
    corr = np.asarray(correct, tab.dtype)
    pt = np.asarray(bool(pair_thresholds))
    # one compiled program per (Kmax, dtype) and device, stored across sessions: a new
    # process loads it without tracing or compiling. Chunk i runs on device i mod D: the
    # calls are dispatched asynchronously, so all devices work at once, and each chunk
    # meets the same program whatever the number of devices (the same bits)
    fits = [_jaxcache.load_or_compile(_k.fit_pairs, "fit_pairs",
                                      (tab[:C], tr[:C], tc[:C], n_row[:C], n_col[:C], corr),
                                      {"pair_thresholds": pt}, {"pair_chunk": C}, device=d)
            for d in (devices or (None,))]
    parts = [fits[i % len(fits)](tab[s:s + C], tr[s:s + C], tc[s:s + C], n_row[s:s + C],
                                 n_col[s:s + C], corr, pair_thresholds=pt)
             for i, s in enumerate(range(0, n_chunks * C, C))]
    out = {k: np.concatenate([np.asarray(q[k]) for q in parts])[:M]
           for k in ("rho", "info", "status")}
    _stage("Newton iterations (likelihood on the threshold grid)")
    if order is not None:
        back = np.empty_like(order)
        back[order] = np.arange(M)
        out = {k: v[back] for k, v in out.items()}
    return out


def _start_abs(tab, tr, tc):
    """|Pearson correlation of normal scores| per pair: the kernel's starting value, here
    only to order the pairs (numpy; ignores the continuity correction)."""
    M = tab.shape[0]

    def scores(t):
        fin = np.isfinite(t)
        dens = np.where(fin, np.exp(-0.5 * np.where(fin, t, 0.0) ** 2), 0.0)
        z = np.zeros((M, 1))
        cdf = ndtr(t)
        mass = np.concatenate([cdf, z + 1.0], 1) - np.concatenate([z, cdf], 1)
        d = np.concatenate([z, dens], 1) - np.concatenate([dens, z], 1)
        return np.divide(d, mass, out=np.zeros_like(d), where=mass > 0)

    tot = tab.sum(axis=(1, 2))
    pt = tab / np.where(tot > 0, tot, 1.0)[:, None, None]
    pr, pc = pt.sum(2), pt.sum(1)
    sr, sc = scores(tr), scores(tc)
    sr -= np.sum(pr * sr, 1, keepdims=True)
    sc -= np.sum(pc * sc, 1, keepdims=True)
    cov = np.einsum("ma,mab,mb->m", sr, pt, sc)
    den = np.sqrt(np.sum(pr * sr * sr, 1) * np.sum(pc * sc * sc, 1))
    return np.abs(np.divide(cov, den, out=np.zeros_like(cov), where=den > 0))


def _on_cpu() -> bool:
    return jax.default_backend() == "cpu"


def _unit_size(B, n, p, P, M, kmax, *, D, tsz, rc, n_pad, limit, step_budget, numpy_tables,
               codes_batched, batch_chunk) -> int:
    """Draws per unit of :func:`polychoric_batch`, from the memory budget ``limit``."""
    if numpy_tables:
        # bytes per draw: tables (one partial per worker thread and their sum), pair
        # tables (gathered, ordered and padded copies)
        per_elem = P * P * 3 * tsz + 5 * M * kmax * kmax * 8
        fits = max(1, int((limit - step_budget) // per_elem))
        return min(B, fits) if batch_chunk is None else max(1, int(batch_chunk))
    if batch_chunk is None:
        # bytes per draw of a unit: its one-hot row chunk, compact table (with the copies
        # of the gather), pair tables (kernel output, host copy, ordering and padding
        # copies) and padded inputs; D units are in memory at once
        per_elem = (rc * P * tsz * (1 + codes_batched) + P * P * (2 * tsz + 16)
                    + 5 * M * kmax * kmax * 8 + n_pad * (4 * p * codes_batched + 16))
        fits = max(1, int(limit // (D * per_elem)))
        up = 1 << max(0, math.ceil(math.log2(B)))
        return up if up <= fits else 1 << int(math.log2(fits))
    # a power of two: few distinct compiled shapes; padding elements are empty
    return 1 << max(0, math.ceil(math.log2(max(1, int(batch_chunk)))))


def _numpy_unit(c, w, n_cat, pad_idx, iu, ju, *, tdt, fdt, codes_batched, step_budget,
                need_counts):
    """Pair tables, thresholds and pair counts of one unit of draws, from numpy's BLAS."""
    T, cnt = _batch_tables_numpy(c, w, n_cat, np.dtype(tdt), codes_batched, step_budget,
                                 counts=need_counts)
    npc = cnt[:, iu, ju] if need_counts else None
    tab, tau = _pair_tables_numpy(T, npc, pad_idx, n_cat, iu, ju, dtype=fdt)
    del T, cnt
    if not need_counts:  # rho does not depend on the tables' scale
        npc = (tab.sum(axis=(-2, -1)) > 0).astype(float)
    return tab, tau, npc


def _jax_unit(c, w, bc, n_pad, *, tdt, device, layout, static):
    """The same from the JAX kernel on ``device``, padded to ``bc`` draws of ``n_pad`` rows
    (arrays not yet computed: the call returns at once)."""
    n, p = c.shape[-2:]
    cpad = np.full(((bc,) if c.ndim == 3 else ()) + (n_pad, p), -1, np.int32)
    if c.ndim == 3:
        cpad[:c.shape[0], :n] = c
    else:
        cpad[:n] = c
    wj = None
    if w is not None:
        wj = np.zeros(((bc,) if w.ndim == 2 else ()) + (n_pad,), tdt)
        if w.ndim == 2:
            wj[:w.shape[0], :n] = w
        else:
            wj[:n] = w
    cj, wj = jax.device_put((cpad, wj), device)
    return _k.batch_pair_tables(cj, wj, *layout, **static)


# ----------------------------------------------------------------------------------
# the steps of polychoric()
# ----------------------------------------------------------------------------------
def _empty_categories(codes: np.ndarray, n_cat: np.ndarray, names, item_codes) -> dict:
    """Codes of each item nobody (with positive weight) chose; a constant item is an error.

    One bincount for all items: code + 1 (missing -> 0) in item blocks of ``kmax + 1``.
    """
    p = codes.shape[1]
    kmax = int(n_cat.max())
    flat = (codes + 1) + np.arange(p, dtype=np.int32) * (kmax + 1)
    counts = np.bincount(flat.ravel(), minlength=p * (kmax + 1)).reshape(p, kmax + 1)[:, 1:]
    n_obs_cat = (counts > 0).sum(1)
    const = np.flatnonzero(n_obs_cat < 2)
    if const.size:
        def what(j):
            if n_obs_cat[j] == 0:
                return "no valid answers"
            return f"only code {item_codes[j][int(np.argmax(counts[j]))]}"

        desc = ", ".join(f"{names[j]!r} ({what(j)})" for j in const[:10])
        raise ValueError(f"constant item(s) {desc}: a polychoric correlation needs at least two "
                         "observed categories; drop the item(s)")
    return {names[j]: tuple(item_codes[j][a] for a in range(n_cat[j]) if counts[j, a] == 0)
            for j in range(p) if np.any(counts[j, :n_cat[j]] == 0)}


def _contingency_tables(codes: np.ndarray, w, n_cat: np.ndarray, dtype: str):
    """All pairs' contingency tables as one one-hot cross-product ``X' diag(w) X``.

    float32 accumulation is exact for integer weights below 2**24; on CPU numpy's BLAS is
    faster than XLA's matrix product (much faster in float64) and skips the lower triangle.
    """
    n, p = codes.shape
    wsum_total = n if w is None else float(w.sum())
    exact32 = _integer_valued(w) and wsum_total < _F32_EXACT
    tdt = jnp.float32 if dtype == "float32" or exact32 else jnp.float64
    if _on_cpu():
        return _numpy_tables(codes, w, n_cat, np.dtype(tdt))
    col_item, col_cat, _, _ = _layout(n_cat)
    rc = _row_chunk(n, int(n_cat.sum()))
    n_pad = -(-max(n, 1) // rc) * rc
    cpad = np.full((n_pad, p), -1, np.int32)
    cpad[:n] = codes
    wj = None
    if w is not None:
        wpad = np.zeros(n_pad)
        wpad[:n] = w
        wj = jnp.asarray(wpad, tdt)
    return _k.compact_tables(jnp.asarray(cpad), wj, jnp.asarray(col_item), jnp.asarray(col_cat),
                             row_chunk=rc, dtype=tdt)


def _screen_pairs(rho, status, npair, names, min_pairs: int, on_insufficient: str,
                  notes: list) -> tuple[np.ndarray, np.ndarray]:
    """Pairs too thin to estimate (NaN, or an error) and pairs on the boundary (a warning)."""
    iu, ju = np.triu_indices(len(names), 1)
    insufficient = (npair < min_pairs) | (status == _k.DEGENERATE)
    if insufficient.any():
        if on_insufficient == "raise":
            raise ValueError(
                f"{int(insufficient.sum())} item pair(s) cannot be estimated: "
                f"{_pair_names(names, iu, ju, insufficient)} have fewer than min_pairs="
                f"{min_pairs} joint answers or use a single category of an item among their "
                "joint answers; drop an item, lower min_pairs, or pass on_insufficient='nan'")
        rho = np.where(insufficient, np.nan, rho)
        notes.append(f"{int(insufficient.sum())} item pair(s) not estimable (fewer than "
                     f"min_pairs={min_pairs} joint answers or a single category), set to NaN: "
                     f"{_pair_names(names, iu, ju, insufficient)}")
    flagged = ~insufficient & (status != _k.OK)
    if flagged.any():
        notes.append(
            f"{int(flagged.sum())} pair(s) with the maximum on the boundary |rho| = 1 or not "
            f"converged (converged=False): {_pair_names(names, iu, ju, flagged)}")
        _warn(notes[-1])
    return rho, insufficient


def _pairwise_kish(V: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Kish effective size of every pair's joint respondents: (sum w)^2 / sum w^2."""
    V = V.astype(np.float64)
    Vw = V * w[:, None]
    sw = Vw.T @ V
    sw2 = (Vw * w[:, None]).T @ V
    return np.where(sw2 > 0, sw * sw / np.where(sw2 > 0, sw2, 1.0), 0.0)


def _is_pd(R: np.ndarray) -> bool:
    if not np.all(np.isfinite(R)):
        return False
    try:
        np.linalg.cholesky(R)
    except np.linalg.LinAlgError:
        return False
    return True


# ----------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------
def _pair_names(names, iu, ju, mask, limit=10):
    idx = np.flatnonzero(mask)
    s = ", ".join(f"({names[iu[m]]!r}, {names[ju[m]]!r})" for m in idx[:limit])
    return s + (f" and {idx.size - limit} more" if idx.size > limit else "")


_OPTIONS = {"dtype": ("float64", "float32"), "thresholds": ("item", "pair"),
            "on_insufficient": ("raise", "nan")}


def _check_options(**given) -> None:
    """Options shared by :func:`polychoric` and :func:`polychoric_batch`."""
    for name, value in given.items():
        allowed = _OPTIONS[name]
        if value not in allowed:
            raise ValueError(f"{name} must be " + " or ".join(repr(a) for a in allowed)
                             + f", got {value!r}")


@with_x64
@_jaxcache.compilation_cache()
def polychoric(data, *, weights=None, missing: Literal["pairwise", "listwise"] = "pairwise",
               correct: float = 0.0, se: bool = False,
               pd_repair: Literal["nearest"] | None = None, dtype: str = "float64",
               thresholds: Literal["item", "pair"] = "item", min_pairs: int = 10,
               on_insufficient: Literal["raise", "nan"] = "raise") -> PolychoricResult:
    """Two-step polychoric correlations of all item pairs, computed at once.

    Parameters
    ----------
    data : Survey, DataFrame or 2-D integer array
        A :class:`~popaudit.data.survey.Survey` (its category indices, items and
        weights are used), or respondents x items integer codes with NaN for
        missing; each column's sorted distinct codes are then its categories.
    weights : array-like of shape (n,) or str, optional
        Survey weights (non-negative). Overrides a Survey's weights; with a
        DataFrame a column name may be given (the column is then not an item).
    missing : {"pairwise", "listwise"}
        Pairwise: each pair uses the respondents who answered both items, and
        thresholds use all valid answers of each item (lavaan's ``lavCor(...,
        missing = "pairwise")``). Listwise: only respondents who answered every
        item (lavaan's default).
    correct : float
        Continuity correction: added to every empty cell of a pair's table that
        lies in a non-empty row and column, before rho is estimated; thresholds
        stay those of the items (``psych::tetrachoric(correct = .5)``'s
        convention). Default 0: no correction, as lavaan and polycor.
    se : bool
        Also return standard errors (two-step, thresholds held fixed).
    pd_repair : {None, "nearest"}
        If ``"nearest"`` and the estimated matrix is not positive definite,
        replace it by Higham's nearest correlation matrix (``pd_repaired``).
    dtype : {"float64", "float32"}
        Working precision. float32 is faster on accelerators but only good to
        about 1e-5; it is never chosen silently.
    thresholds : {"item", "pair"}
        ``"item"`` (default; lavaan, psych): thresholds from each item's
        marginal over all its valid answers. ``"pair"`` (polycor::hetcor):
        thresholds from the margins of each pair's own table; identical without
        missing data. ``result.thresholds`` always reports the item thresholds.
    min_pairs : int
        Smallest number of joint answers for which a pair is estimated.
    on_insufficient : {"raise", "nan"}
        A pair with fewer than ``min_pairs`` joint answers, or whose joint
        answers use a single category of either item (rho not identified),
        raises a ``ValueError`` naming the pairs (default), or with ``"nan"``
        gets rho = NaN and ``converged = False``.

    Returns
    -------
    PolychoricResult

    Raises
    ------
    ValueError
        On a constant item (fewer than two observed categories), a nominal
        Survey item, bad weights or codes, or insufficient pairs (see above).

    Warns
    -----
    UserWarning
        When some pair's maximum is on the boundary (``|rho| = 1``) or did not
        converge; those pairs have ``converged = False``.

    Notes
    -----
    Two-step estimation (Olsson 1979): item ``i`` with K categories has
    thresholds :math:`\\tau_{i,a} = \\Phi^{-1}(\\sum_{b \\le a} w_{ib} / \\sum_b w_{ib})`
    from its weighted category totals; then for every pair, with thresholds
    fixed, rho maximises

    .. math:: \\ell(\\rho) = \\sum_{a,b} n_{ab} \\log P_{ab}(\\rho),\\quad
              P_{ab} = \\Phi_2(\\tau_{i,a}, \\tau_{j,b}; \\rho) - \\Phi_2(\\tau_{i,a-1},
              \\tau_{j,b}; \\rho) - \\Phi_2(\\tau_{i,a}, \\tau_{j,b-1}; \\rho)
              + \\Phi_2(\\tau_{i,a-1}, \\tau_{j,b-1}; \\rho),

    the estimator of ``polycor::polychor(ML = FALSE)`` and
    ``lavaan::lavCor``. :math:`n_{ab}` is the weighted table of the pair,
    rescaled to sum to the pair's number of (positively weighted) respondents
    (lavaan's normalisation). The standard error is
    :math:`1/\\sqrt{-\\ell''(\\hat\\rho)}`, the observed information in rho with
    thresholds fixed, which is what polycor reports for ``ML = FALSE``; it
    ignores threshold uncertainty and, for weighted data, the design effect of
    unequal weights (``n_eff`` gives the Kish effective size; multiplying the
    SE by ``sqrt(n / n_eff)`` is the usual rough allowance).

    All pairs are estimated together in JAX: the contingency tables are the
    blocks of one one-hot cross-product ``X' diag(w) X`` and rho is found by a
    safeguarded Newton iteration on all pairs in parallel. See
    ``docs/polychoric.md`` for the agreement with R.

    References
    ----------
    Olsson, U. (1979). Maximum likelihood estimation of the polychoric
    correlation coefficient. *Psychometrika* 44, 443-460.
    Higham, N. J. (2002). Computing the nearest correlation matrix. *IMA J.
    Numer. Anal.* 22, 329-343.

    Examples
    --------
    >>> import numpy as np
    >>> import popaudit as pa
    >>> rng = np.random.default_rng(0)
    >>> z = rng.multivariate_normal([0, 0], [[1, .6], [.6, 1]], size=2000)
    >>> x = np.digitize(z, [-1.0, 0.0, 0.8])          # two 4-category items
    >>> res = pa.polychoric(x, se=True)
    >>> round(float(res.corr.iloc[0, 1]), 2)
    0.6
    >>> res.to_frame().columns.tolist()
    ['item1', 'item2', 'rho', 'se', 'n', 'converged']
    """
    if missing not in ("pairwise", "listwise"):
        raise ValueError(f"missing must be 'pairwise' or 'listwise', got {missing!r}")
    if pd_repair not in (None, "nearest"):
        raise ValueError(f"pd_repair must be None or 'nearest', got {pd_repair!r}")
    _check_options(dtype=dtype, thresholds=thresholds, on_insufficient=on_insufficient)
    correct = float(correct)
    if not (correct >= 0 and np.isfinite(correct)):
        raise ValueError(f"correct must be a non-negative number, got {correct!r}")
    min_pairs = int(min_pairs)

    _stage()
    prep = _prepare(data, weights)
    codes, names, w = prep.codes, prep.names, prep.weights
    if missing == "listwise":
        keep = np.all(codes >= 0, axis=1)
        if not keep.any():
            raise ValueError("no respondent answered every item; use missing='pairwise'")
        codes = codes[keep]
        w = None if w is None else w[keep]
    n, p = codes.shape
    if p < 1:
        raise ValueError("polychoric needs at least one item")
    n_cat = np.array([len(c) for c in prep.item_codes], dtype=np.int32)

    # respondents that count: valid answer and positive weight
    pos_w = np.ones(n, bool) if w is None else w > 0
    # float32 counts are exact below 2**24 respondents; float64 beyond
    V = ((codes >= 0) & pos_w[:, None]).astype(np.float32 if n < _F32_EXACT else np.float64)
    npos_mat = (V.T @ V).astype(np.float64)
    empty = _empty_categories(codes if w is None or pos_w.all() else codes[pos_w], n_cat,
                              names, prep.item_codes)
    iu, ju = np.triu_indices(p, 1)
    fdt = jnp.float64 if dtype == "float64" else jnp.float32
    _, _, pad_idx, _ = _layout(n_cat)
    _stage("input coding, counts, checks")
    T = _contingency_tables(codes, w, n_cat, dtype)
    _stage("contingency tables (one-hot cross-product)")
    tab, tau = _pair_tables_numpy(np.asarray(T, dtype=fdt), npos_mat[iu, ju], pad_idx, n_cat,
                                  iu, ju)
    _stage("pair tables, thresholds")
    out = _fit_in_chunks(tab, tau[iu], tau[ju], n_cat[iu], n_cat[ju], correct,
                         pair_thresholds=thresholds == "pair")
    rho = np.asarray(out["rho"], dtype=float)
    info = np.asarray(out["info"], dtype=float)
    status = np.asarray(out["status"])
    tau = np.asarray(tau, dtype=float)

    notes: list[str] = []
    rho, insufficient = _screen_pairs(rho, status, npos_mat[iu, ju], names, min_pairs,
                                      on_insufficient, notes)

    R = np.eye(p)
    R[iu, ju] = rho
    R[ju, iu] = rho
    conv = np.ones((p, p), bool)
    ok = ~insufficient & (status == _k.OK)
    conv[iu, ju] = ok
    conv[ju, iu] = ok
    se_df = None
    if se:
        S = np.zeros((p, p))
        s = np.where(ok & (info > 0), 1.0 / np.sqrt(np.where(info > 0, info, 1.0)), np.nan)
        S[iu, ju] = s
        S[ju, iu] = s
        se_df = pd.DataFrame(S, index=list(names), columns=list(names))

    neff = npos_mat.copy() if w is None else _pairwise_kish(V, w)

    is_pd = _is_pd(R)
    repaired = False
    if pd_repair == "nearest" and not is_pd:
        if not np.all(np.isfinite(R)):
            raise ValueError("cannot repair a correlation matrix with missing (NaN) entries")
        R = nearest_correlation(R)
        repaired = True
        notes.append("the estimated matrix was not positive definite: corr is its nearest "
                     "correlation matrix (pd_repair='nearest')")

    thr = {names[j]: tau[j, :n_cat[j] - 1].copy() for j in range(p)}
    idx = list(names)
    settings = {"missing": missing, "correct": correct, "thresholds": thresholds,
                "pd_repair": pd_repair, "dtype": dtype, "min_pairs": min_pairs,
                "on_insufficient": on_insufficient, "weighted": w is not None}
    if empty:
        notes.append(f"categories with no answer (probability 0, as if dropped): {empty}")
    _stage("standard errors, n_eff, PD check, result")
    return PolychoricResult(
        corr=pd.DataFrame(R, index=idx, columns=idx),
        thresholds=thr,
        se=se_df,
        n=pd.DataFrame(npos_mat.round().astype(np.int64), index=idx, columns=idx),
        n_eff=pd.DataFrame(neff, index=idx, columns=idx),
        converged=pd.DataFrame(conv, index=idx, columns=idx),
        is_pd=is_pd,
        pd_repaired=repaired,
        settings=settings,
        item_names=tuple(names),
        empty_categories=empty,
        notes=tuple(notes),
    )


@with_x64
@_jaxcache.compilation_cache()
def polychoric_batch(codes, weights=None, *, n_categories=None, dtype: str = "float64",
                     correct: float = 0.0, thresholds: Literal["item", "pair"] = "item",
                     min_pairs: int = 1, on_insufficient: Literal["raise", "nan"] = "raise",
                     batch_chunk: int | None = None,
                     memory_limit: int | str | None = None) -> np.ndarray:
    """Polychoric matrices of many resamples of one data set, in one computation.

    Parameters
    ----------
    codes : int array (n, p) or (B, n, p)
        Category indices ``0 .. K-1``; negative = missing (pairwise deletion).
    weights : None, array (n,) or (B, n)
        Non-negative weights. A bootstrap passes shared ``codes`` (n, p) and
        multinomial resampling counts (B, n); a permutation test passes (B, n, p)
        codes. At least one of the two carries the batch axis.
    n_categories : int or array (p,), optional
        Categories per item (default: largest index + 1 over the whole batch).
    dtype : {"float64", "float32"}
    correct, thresholds : as in :func:`polychoric`.
    min_pairs, on_insufficient : as in :func:`polychoric`, per batch element
        (an element where a pair cannot be estimated, e.g. an item constant in
        the resample, raises naming the element and the pair, or gives NaN).
    batch_chunk : int, optional
        Elements computed together on one device (rounded up to a power of two);
        default: as many as ``memory_limit`` allows.
    memory_limit : int or str, optional
        Memory budget of the working arrays (e.g. ``"2GiB"``; default the
        ``memory_limit`` setting, see :func:`popaudit.set_options`): the draws are
        processed in units sized to stay under it.

    Returns
    -------
    ndarray (B, p, p)
        Each element equals ``polychoric(...)`` on that resample (same
        thresholds convention: each element's own weighted marginals). Pairs
        with the maximum on the boundary hold exactly +-1.

    Notes
    -----
    The contingency tables and thresholds of a chunk of ``batch_chunk``
    elements come from one jit-compiled JAX computation (vmap over the chunk;
    the one-hot matrix of shared codes is built once); the pairs of all its
    elements then go through the same Newton kernel as :func:`polychoric`, in
    fixed chunks of pairs. There is no Python loop over draws or pairs.
    With several devices (GPUs, or CPU devices from
    ``XLA_FLAGS=--xla_force_host_platform_device_count=N``) the units of draws
    and the chunks of pairs are spread over all of them; the results are the
    same bits as on one device. Weights are used as in :func:`polychoric` (rescaled within each pair to the
    number of respondents with positive weight), so multinomial counts act as
    frequency weights for rho.

    Examples
    --------
    >>> import numpy as np
    >>> import popaudit as pa
    >>> rng = np.random.default_rng(1)
    >>> z = rng.multivariate_normal([0, 0, 0], np.eye(3) * .5 + .5, size=500)
    >>> x = np.digitize(z, [-.5, .5])                  # three 3-category items
    >>> boot = rng.multinomial(500, np.full(500, 1 / 500), size=20)   # (20, 500)
    >>> pa.polychoric_batch(x, boot).shape
    (20, 3, 3)
    """
    _check_options(dtype=dtype, thresholds=thresholds, on_insufficient=on_insufficient)
    c = np.asarray(codes)
    if c.ndim not in (2, 3):
        raise ValueError(f"codes must be (n, p) or (B, n, p), got shape {c.shape}")
    if not np.issubdtype(c.dtype, np.integer):
        if np.issubdtype(c.dtype, np.floating) and np.all(c == np.round(c)):
            c = c.astype(np.int64)
        else:
            raise ValueError(f"codes must be integer category indices, got dtype {c.dtype}")
    codes_batched = c.ndim == 3
    n, p = c.shape[-2:]
    w = None if weights is None else np.asarray(weights, dtype=float)
    weights_batched = w is not None and w.ndim == 2
    if w is not None:
        if w.ndim not in (1, 2) or w.shape[-1] != n:
            raise ValueError(f"weights must be (n,) or (B, n) with n={n}, got shape {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("weights must be finite and non-negative")
    if not (codes_batched or weights_batched):
        raise ValueError("no batch axis: pass codes of shape (B, n, p) or weights of shape "
                         "(B, n); for one data set use polychoric()")
    B = c.shape[0] if codes_batched else w.shape[0]
    if codes_batched and weights_batched and w.shape[0] != B:
        raise ValueError(f"codes have {B} batch elements but weights {w.shape[0]}")
    c = np.where(c < 0, -1, c).astype(np.int32)
    if n_categories is None:
        n_cat = np.maximum(c.max(axis=tuple(range(c.ndim - 1))) + 1, 2)
    else:
        n_cat = np.broadcast_to(np.asarray(n_categories, dtype=np.int32), (p,)).copy()
        over = c.max(axis=tuple(range(c.ndim - 1))) >= n_cat
        if over.any():
            j = int(np.flatnonzero(over)[0])
            raise ValueError(f"item {j} has category index {int(c[..., j].max())} >= "
                             f"n_categories {int(n_cat[j])}")
    n_cat = n_cat.astype(np.int32)
    if np.any(n_cat < 2):
        raise ValueError("every item needs at least two categories")

    iu, ju = np.triu_indices(p, 1)
    M = iu.size
    col_item, col_cat, pad_idx, kmax = _layout(n_cat)
    P = int(n_cat.sum())
    fdt = jnp.float64 if dtype == "float64" else jnp.float32
    w_total = float(n if w is None else np.max(w.sum(-1)) if w.ndim == 2 else w.sum())
    exact32 = _integer_valued(w) and w_total < _F32_EXACT
    tdt = jnp.float32 if (dtype == "float32" or exact32) else jnp.float64
    rc = _row_chunk(n, P)
    n_pad = -(-max(n, 1) // rc) * rc
    # draws are spread over every device JAX sees: one unit of ``bc`` draws per device at
    # a time, and each unit meets the same programs whatever the number of devices
    devices = tuple(jax.devices())
    D = len(devices)
    tsz = np.dtype(tdt).itemsize
    limit = _settings.memory_limit() if memory_limit is None else \
        _settings.parse_bytes(memory_limit)
    # on CPU the tables come from numpy's BLAS (one GEMM per unit and row chunk; XLA's CPU
    # matrix products are several times slower), the Newton kernel from JAX
    numpy_tables = _on_cpu() and _BATCH_TABLES_ON_CPU
    # the pairwise counts of respondents with positive weight rescale each table to them;
    # that matters for the continuity correction and min_pairs only (rho is the same for
    # any scale of a table), so without those the tables stay in weight units
    need_counts = bool(correct) or min_pairs > 1
    # the row chunk of the numpy tables: its one-hot blocks of a unit take this much
    step_budget = min(256e6, limit / 8)
    bc = _unit_size(B, n, p, P, M, kmax, D=D, tsz=tsz, rc=rc, n_pad=n_pad, limit=limit,
                    step_budget=step_budget, numpy_tables=numpy_tables,
                    codes_batched=codes_batched, batch_chunk=batch_chunk)
    static = {"row_chunk": rc, "dtype": tdt, "fit_dtype": fdt, "codes_batched": codes_batched,
              "weights_batched": weights_batched}
    layout = (col_item, col_cat, pad_idx, n_cat, iu, ju)
    on_device = [jax.device_put(layout, d) for d in devices]
    rho = np.empty((B, M))
    status = np.empty((B, M), np.int8)
    npos = np.empty((B, M))
    k1 = kmax - 1
    units = list(range(0, B, bc))
    group = 1 if numpy_tables else D
    bar = progress_bar(total=B, desc="polychoric resamples", unit="draw")
    for g in range(0, len(units), group):  # groups of units (memory bound), not single draws
        pending = []
        for d, s in enumerate(units[g:g + group]):  # dispatched asynchronously
            e = min(B, s + bc)
            cu = c[s:e] if codes_batched else c
            wu = None if w is None else w[s:e] if weights_batched else w
            if numpy_tables:
                tables = _numpy_unit(cu, wu, n_cat, pad_idx, iu, ju, tdt=tdt, fdt=fdt,
                                     codes_batched=codes_batched, step_budget=step_budget,
                                     need_counts=need_counts)
            else:  # asynchronous: the device works while the next unit is prepared
                tables = _jax_unit(cu, wu, bc, n_pad, tdt=tdt, device=devices[d],
                                   layout=on_device[d], static=static)
            pending.append((s, e, tables))
        for s, e, (tab, tau, npc) in pending:
            b = e - s  # real elements; the padding ones are not fitted
            tau = np.asarray(tau)[:b]
            out = _fit_in_chunks(np.asarray(tab)[:b].reshape(b * M, kmax, kmax),
                                 tau[:, iu].reshape(b * M, k1), tau[:, ju].reshape(b * M, k1),
                                 np.tile(n_cat[iu], b), np.tile(n_cat[ju], b), float(correct),
                                 pair_thresholds=thresholds == "pair",
                                 devices=devices if D > 1 else None)
            rho[s:e] = out["rho"].reshape(b, M)
            status[s:e] = out["status"].reshape(b, M)
            npos[s:e] = np.asarray(npc)[:b]
            del tab, tau, out
            bar.update(b)
    bar.close()
    insufficient = (npos < min_pairs) | (status == _k.DEGENERATE)
    if insufficient.any():
        if on_insufficient == "raise":
            b, m = np.argwhere(insufficient)[0]
            raise ValueError(
                f"batch element {int(b)}: item pair ({int(iu[m])}, {int(ju[m])}) cannot be "
                f"estimated (fewer than min_pairs={min_pairs} joint answers or a single "
                f"category of an item among them; {int(insufficient.sum())} such pair(s) in "
                "the batch); pass on_insufficient='nan' to get NaN there")
        rho = np.where(insufficient, np.nan, rho)
    R = np.broadcast_to(np.eye(p), (B, p, p)).copy()
    R[:, iu, ju] = rho
    R[:, ju, iu] = rho
    return R
