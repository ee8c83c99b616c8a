"""Two-step polychoric correlations for all item pairs at once (pure JAX).

Layout conventions (the public wrapper :mod:`popaudit.structure.polychoric` prepares them):

* ``codes``: (n, p) integer category indices ``0 .. K_i - 1``; any negative value
  is a missing answer.
* compact one-hot columns: item ``i`` owns columns ``offset_i .. offset_i + K_i - 1``;
  ``col_item`` / ``col_cat`` (length ``P = sum K_i``) say which item and
  category each column is. A missing answer is an all-zero block, so the
  cross-product ``X' diag(w) X`` holds every pairwise contingency table with
  pairwise deletion built in, and its diagonal blocks hold the item marginals
  over all valid answers of the item.
* padded layout: ``pad_idx`` (p, Kmax) maps (item, category) to its compact
  column, or to ``P`` (an all-zero extra row/column) for padding categories
  ``a >= K_i``. Pair tables are gathered as (M, Kmax, Kmax) for the M upper
  triangle pairs ``(iu[m], ju[m])``. Thresholds are padded with ``+inf``, so a
  padding category has zero width and zero count and contributes nothing.

The likelihood of pair ``m`` with fixed thresholds is
``L(rho) = sum_ab n_ab log P_ab(rho)``, where ``P_ab`` comes from differencing
the bivariate normal CDF on the (Kmax+1) x (Kmax+1) grid of thresholds
(computed once per Newton step, never four CDFs per cell). Its derivatives use
``d Phi2 / d rho = phi2`` on the same grid. rho is found by a safeguarded
Newton iteration (Newton inside a shrinking bracket, bisection whenever the
Newton step leaves the bracket or the curvature is not negative), all pairs in
parallel under one ``lax.while_loop``.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.special import ndtr, ndtri

from popaudit._kernels.bvn import _bvn_cdf, _bvn_pdf, _bvn_pdf_drho

__all__ = [
    "batch_pair_tables",
    "compact_tables",
    "fit_pairs",
    "thresholds_from_marginals",
]

# status codes returned per pair
OK, BOUNDARY, NOT_CONVERGED, DEGENERATE = 0, 1, 2, 3


def _limits(dtype):
    """(bracket end, boundary flag level, Newton step tolerance) for a float dtype."""
    if jnp.dtype(dtype) == jnp.float32:
        return 1.0 - 1e-5, 1.0 - 1e-4, 1e-6
    return 1.0 - 1e-9, 1.0 - 1e-6, 1e-11


# ----------------------------------------------------------------------------------
# contingency tables
# ----------------------------------------------------------------------------------
def _onehot(codes, col_item, col_cat, dtype):
    return (codes[:, col_item] == col_cat[None, :]).astype(dtype)


def _chunked_rows(codes, weights, row_chunk):
    n = codes.shape[0]
    n_chunks = -(-n // row_chunk)
    pad = n_chunks * row_chunk - n
    codes = jnp.pad(codes, ((0, pad), (0, 0)), constant_values=-1)
    codes = codes.reshape(n_chunks, row_chunk, codes.shape[1])
    if weights is not None:
        weights = jnp.pad(weights, (0, pad)).reshape(n_chunks, row_chunk)
    return codes, weights


@partial(jax.jit, static_argnames=("row_chunk", "dtype"))
def compact_tables(codes, weights, col_item, col_cat, *, row_chunk, dtype):
    """``X' diag(w) X`` (P, P) for the compact one-hot matrix X of ``codes``.

    ``weights`` may be None (unit weights). Rows are processed in chunks of
    ``row_chunk`` to bound memory; ``dtype`` is the accumulation type (float32 is
    exact for integer counts below 2**24).
    """
    cc, ww = _chunked_rows(codes, weights, row_chunk)
    P = col_item.shape[0]

    def body(acc, xs):
        c, w = xs
        X = _onehot(c, col_item, col_cat, dtype)
        Xw = X if w is None else X * w.astype(dtype)[:, None]
        return acc + Xw.T @ X, None

    acc0 = jnp.zeros((P, P), dtype)
    out, _ = lax.scan(body, acc0, (cc, ww))
    return out


# ----------------------------------------------------------------------------------
# thresholds
# ----------------------------------------------------------------------------------
def thresholds_from_marginals(marg, n_cat):
    """Thresholds ``qnorm(cumulative proportions)`` from (..., Kmax) marginal counts.

    Returns (..., Kmax - 1); entry ``a`` is the upper limit of category ``a``.
    Entries ``a >= K - 1`` (padding) are ``+inf``. An empty first category
    gives ``-inf``, an empty last category ``+inf``, an empty interior category
    a repeated threshold: all exactly (the cumulative sum is divided by its own
    last element, so ``cum == 1`` holds exactly after the last non-empty one).
    """
    kmax = marg.shape[-1]
    cum = jnp.cumsum(marg, axis=-1)
    prop = cum / cum[..., -1:]
    tau = ndtri(jnp.clip(prop[..., :-1], 0.0, 1.0))
    a = jnp.arange(kmax - 1)
    return jnp.where(a < (jnp.asarray(n_cat)[..., None] - 1), tau, jnp.inf)


# ----------------------------------------------------------------------------------
# likelihood on the threshold grid
# ----------------------------------------------------------------------------------
def _diff2(G):
    """Cell masses from a (M, Kmax+1, Kmax+1) grid of CDF-like values."""
    return G[:, 1:, 1:] - G[:, :-1, 1:] - G[:, 1:, :-1] + G[:, :-1, :-1]


def _grid(inner, row_edge, col_edge, corner):
    """Border a (M, Km1, Km1) interior with the rows/cols for -inf (0) and +inf."""
    M, km1 = inner.shape[0], inner.shape[1]
    zc = jnp.zeros((M, km1, 1), inner.dtype)
    mid = jnp.concatenate([zc, inner, row_edge[:, :, None]], axis=2)  # (M, Km1, Kmax+1)
    zr = jnp.zeros((M, 1, km1 + 2), inner.dtype)
    last = jnp.concatenate([jnp.zeros((M, 1), inner.dtype), col_edge,
                            jnp.full((M, 1), corner, inner.dtype)], axis=1)[:, None, :]
    return jnp.concatenate([zr, mid, last], axis=1)


def _cell_derivs(r, tr, tc, phi_r, phi_c):
    """Cell probabilities and their first/second derivatives in rho.

    r (M,), tr/tc (M, Km1) thresholds, phi_r/phi_c their normal CDFs.
    Returns P, dP, d2P each (M, Kmax, Kmax).
    """
    h = tr[:, :, None]
    k = tc[:, None, :]
    rr = r[:, None, None]
    F = _bvn_cdf(h, k, rr)
    zr = jnp.zeros_like(tr)
    zc = jnp.zeros_like(tc)
    P = _diff2(_grid(F, phi_r, phi_c, 1.0))
    dP = _diff2(_grid(_bvn_pdf(h, k, rr), zr, zc, 0.0))
    d2P = _diff2(_grid(_bvn_pdf_drho(h, k, rr), zr, zc, 0.0))
    return P, dP, d2P


def _loglik_derivs(r, tab, tr, tc, phi_r, phi_c):
    """logL, gradient and curvature in rho for each pair; flags impossible cells."""
    P, dP, d2P = _cell_derivs(r, tr, tc, phi_r, phi_c)
    pos = tab > 0
    bad = jnp.any(pos & ~(P > 0), axis=(1, 2))  # a counted cell with zero probability
    Ps = jnp.where(pos & (P > 0), P, 1.0)
    u = dP / Ps
    ll = jnp.sum(jnp.where(pos, tab * jnp.log(Ps), 0.0), axis=(1, 2))
    g = jnp.sum(jnp.where(pos, tab * u, 0.0), axis=(1, 2))
    H = jnp.sum(jnp.where(pos, tab * (d2P / Ps - u * u), 0.0), axis=(1, 2))
    ll = jnp.where(bad, -jnp.inf, ll)
    return ll, g, H, bad


def _start_values(tab, tr, tc, phi_r, phi_c):
    """Pearson correlation of normal scores (E[Z | category]) as a starting value."""
    def scores(t, cdf):
        M = t.shape[0]
        fin = jnp.isfinite(t)
        dens = jnp.where(fin, jnp.exp(-0.5 * jnp.where(fin, t, 0.0) ** 2), 0.0) / jnp.sqrt(
            2 * jnp.pi)
        z = jnp.zeros((M, 1), t.dtype)
        d_lo = jnp.concatenate([z, dens], axis=1)
        d_hi = jnp.concatenate([dens, z], axis=1)
        mass = jnp.concatenate([cdf, z + 1.0], axis=1) - jnp.concatenate([z, cdf], axis=1)
        return jnp.where(mass > 0, (d_lo - d_hi) / jnp.where(mass > 0, mass, 1.0), 0.0)

    sr, sc = scores(tr, phi_r), scores(tc, phi_c)
    tot = jnp.sum(tab, axis=(1, 2))
    tot = jnp.where(tot > 0, tot, 1.0)
    pr = jnp.sum(tab, axis=2) / tot[:, None]
    pc = jnp.sum(tab, axis=1) / tot[:, None]
    mr = jnp.sum(pr * sr, 1)
    mc = jnp.sum(pc * sc, 1)
    vr = jnp.sum(pr * (sr - mr[:, None]) ** 2, 1)
    vc = jnp.sum(pc * (sc - mc[:, None]) ** 2, 1)
    cov = jnp.einsum("ma,mab,mb->m", sr - mr[:, None], tab / tot[:, None, None],
                     sc - mc[:, None])
    den = jnp.sqrt(vr * vc)
    r0 = jnp.where(den > 0, cov / jnp.where(den > 0, den, 1.0), 0.0)
    return jnp.clip(r0, -0.9, 0.9)


def _pair_thresholds(tab, n_row, n_col):
    return (thresholds_from_marginals(jnp.sum(tab, axis=2), n_row),
            thresholds_from_marginals(jnp.sum(tab, axis=1), n_col))


@partial(jax.jit, static_argnames=("max_iter", "pair_chunk"))
def fit_pairs(tab, tr, tc, n_row, n_col, correct, *, max_iter=100, pair_thresholds=False,
              pair_chunk=4096):
    """Maximise each pair's likelihood in rho with fixed thresholds.

    Parameters
    ----------
    tab : (M, Kmax, Kmax) pair tables (already in the count units wanted for the
        standard error and the continuity correction).
    tr, tc : (M, Kmax - 1) item thresholds of the row / column item (+inf padded).
    n_row, n_col : (M,) number of categories K of the row / column item.
    correct : scalar added to every zero cell that lies in a non-empty row and a
        non-empty column of the pair's table (0 = no correction).
    pair_thresholds : bool (traced): use thresholds from the pair table's own
        margins (after the correction) instead of ``tr`` / ``tc`` (polycor's
        convention). Traced, so both conventions share one compiled program.

    Returns
    -------
    dict with ``rho`` (M,), ``info`` (M,) observed information -d2 logL / d rho2
    at rho, ``status`` (M,) int (0 ok, 1 boundary, 2 not converged, 3 degenerate
    table), ``iterations`` (largest over chunks), ``tr``/``tc`` the thresholds used.

    Pairs are solved in chunks of ``pair_chunk`` (``lax.map``), each chunk with
    its own Newton loop, which bounds memory and lets easy chunks stop early.
    """
    M = tab.shape[0]
    if M <= pair_chunk:
        return _fit_chunk(tab, tr, tc, n_row, n_col, correct, max_iter, pair_thresholds)
    n_chunks = -(-M // pair_chunk)
    pad = n_chunks * pair_chunk - M

    def split(x, fill):
        x = jnp.pad(x, ((0, pad),) + ((0, 0),) * (x.ndim - 1), constant_values=fill)
        return x.reshape((n_chunks, pair_chunk) + x.shape[1:])

    # padding pairs have empty tables: degenerate, done before the first step
    xs = (split(tab, 0), split(tr, jnp.inf), split(tc, jnp.inf), split(n_row, 2),
          split(n_col, 2))
    out = lax.map(lambda a: _fit_chunk(*a[:5], correct, max_iter, pair_thresholds), xs)
    res = {k: v.reshape((n_chunks * pair_chunk,) + v.shape[2:])[:M]
           for k, v in out.items() if k != "iterations"}
    res["iterations"] = jnp.max(out["iterations"])
    return res


def _fit_chunk(tab, tr, tc, n_row, n_col, correct, max_iter, pair_thresholds):
    dtype = tab.dtype
    rmax, rbound, tol = _limits(dtype)
    rows_used = jnp.sum(tab, axis=2) > 0
    cols_used = jnp.sum(tab, axis=1) > 0
    degenerate = (jnp.sum(rows_used, 1) < 2) | (jnp.sum(cols_used, 1) < 2)
    zero_fill = (tab == 0) & rows_used[:, :, None] & cols_used[:, None, :]
    tab = jnp.where(zero_fill, tab + correct, tab)
    ptr, ptc = _pair_thresholds(tab, n_row, n_col)
    tr = jnp.where(pair_thresholds, ptr, tr)
    tc = jnp.where(pair_thresholds, ptc, tc)

    phi_r, phi_c = ndtr(tr), ndtr(tc)
    r0 = _start_values(tab, tr, tc, phi_r, phi_c)
    M = tab.shape[0]
    nan = jnp.full((M,), jnp.nan, dtype)
    two = jnp.full((M,), 2.0, dtype)
    state0 = (jnp.asarray(0), r0, jnp.full((M,), -rmax, dtype), jnp.full((M,), rmax, dtype),
              degenerate, nan, jnp.zeros((M,), bool), two, two)

    def cond(state):
        return (state[0] < max_iter) & ~jnp.all(state[4])

    def body(state):
        it, r, lo, hi, done, _, _, dx, dxold = state
        _, g, H, bad = _loglik_derivs(r, tab, tr, tc, phi_r, phi_c)
        # a counted cell with probability 0 means rho is too extreme: step back inwards
        g = jnp.where(bad | ~jnp.isfinite(g), -jnp.sign(r), g)
        # gradient and curvature both exactly 0: every cell density at the threshold grid
        # underflowed, which happens only on a plateau next to |rho| = 1 (e.g. a 2 x 2 table
        # with one empty cell); the likelihood's supremum is then at the boundary
        flat = (g == 0) & (H == 0)
        g = jnp.where(flat, jnp.where(r >= 0, 1.0, -1.0), g)
        lo = jnp.where(g > 0, r, lo)
        hi = jnp.where(g > 0, hi, r)
        step = -g / jnp.where(H < 0, H, -1.0)
        newton = r + step
        # Newton inside the bracket (inclusive: a converged step can round to r itself,
        # which is a bracket end) and shrinking fast enough (less than half the step
        # before last, as in Numerical Recipes' rtsafe); otherwise bisect. The second
        # rule stops Newton from crawling up a likelihood whose supremum is at |rho| = 1.
        use_newton = ((H < 0) & ~bad & (newton >= lo) & (newton <= hi)
                      & (2.0 * jnp.abs(step) <= jnp.abs(dxold)))
        r_new = jnp.where(use_newton, newton, 0.5 * (lo + hi))
        step_small = jnp.abs(r_new - r) < tol
        r_new = jnp.where(done, r, r_new)
        return (it + 1, r_new, lo, hi, done | step_small, H, bad, jnp.abs(r_new - r), dx)

    # The curvature kept for the standard error is the one at the last iterate
    # before the final (smaller than tol) Newton step: relative error ~ tol.
    it, r, _, _, done, H, bad, _, _ = lax.while_loop(cond, body, state0)
    at_bound = jnp.abs(r) > rbound
    status = jnp.where(degenerate, DEGENERATE,
                       jnp.where(at_bound, BOUNDARY, jnp.where(done & ~bad, OK, NOT_CONVERGED)))
    rho = jnp.where(degenerate, jnp.nan, jnp.where(at_bound, jnp.sign(r), r))
    info = jnp.where(status == OK, -H, jnp.nan)
    return {"rho": rho, "info": info, "status": status, "iterations": it, "tr": tr, "tc": tc}


# ----------------------------------------------------------------------------------
# from compact tables to pair estimates
# ----------------------------------------------------------------------------------
def _pairs_from_compact(T, npos, pad_idx, n_cat, iu, ju):
    """Pair tables (rescaled to ``npos``) and item thresholds from a compact table."""
    Te = jnp.pad(T, ((0, 1), (0, 1)))
    marg = Te[pad_idx, pad_idx]  # (p, Kmax): the diagonal of each diagonal block
    tau = thresholds_from_marginals(marg, n_cat)
    tab = Te[pad_idx[iu][:, :, None], pad_idx[ju][:, None, :]]
    wsum = jnp.sum(tab, axis=(1, 2))
    scale = jnp.where(wsum > 0, npos / jnp.where(wsum > 0, wsum, 1.0), 0.0)
    tab = tab * scale[:, None, None].astype(tab.dtype)
    return tab, tau, marg, wsum


# ----------------------------------------------------------------------------------
# batches (bootstrap / permutation)
# ----------------------------------------------------------------------------------
@partial(jax.jit, static_argnames=("row_chunk", "dtype", "fit_dtype", "codes_batched",
                                   "weights_batched"))
def batch_pair_tables(codes, weights, col_item, col_cat, pad_idx, n_cat, iu, ju, *, row_chunk,
                      dtype, fit_dtype, codes_batched, weights_batched):
    """Pair tables and thresholds of a batch of data sets (bootstrap / permutation).

    ``codes`` is (n, p) shared or (B, n, p) (``codes_batched``); ``weights`` is
    None, (n,) shared or (B, n) (``weights_batched``). Each element is
    :func:`compact_tables` then :func:`_pairs_from_compact`, vmapped over the batch (the
    one-hot matrix of shared codes does not depend on the batch and is built
    once). ``dtype`` accumulates the tables, ``fit_dtype`` is returned.

    Returns ``tab`` (B, M, Kmax, Kmax), ``tau`` (B, p, Kmax - 1), ``npos`` (B, M).
    """
    def element(c, w):
        T = compact_tables(c, w, col_item, col_cat, row_chunk=row_chunk, dtype=dtype)
        valid = (c >= 0).astype(dtype)
        if w is not None:
            valid = valid * (w > 0).astype(dtype)[:, None]
        cnt = valid.T @ valid
        npos = cnt[iu, ju].astype(fit_dtype)
        tab, tau, _, _ = _pairs_from_compact(T.astype(fit_dtype), npos, pad_idx, n_cat, iu, ju)
        return tab, tau, npos

    in_axes = (0 if codes_batched else None, 0 if weights_batched else None)
    return jax.vmap(element, in_axes=in_axes)(codes, weights)
