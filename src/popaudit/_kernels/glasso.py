"""Graphical lasso as in R's ``glasso`` 1.11, batched over many matrices (pure JAX).

The algorithm is Friedman, Hastie and Tibshirani's (2008) block coordinate descent,
transcribed from ``glasso.f`` (subroutines ``glasso``, ``connect``, ``lasinv1``,
``lasso``, ``inv``, ``glassopath``) with ``approx = FALSE``: the same variable order,
the same warm starts and the same stopping rules, so the iterates, not just the optimum,
are R's. R stops early (``thr = 1e-4``): two correct solvers that stop elsewhere differ
by up to ~1e-4 in the network, far more than rounding, so matching qgraph's network to
1e-6 needs R's path of iterates, not merely a converged glasso.

Layout and conventions
----------------------
* ``s``: (p, p) symmetric matrix (qgraph passes a correlation matrix), float64.
* ``rho``: (p, p) penalty matrix; ``rho[j, k] = lam`` for the lasso path,
  ``0`` / ``BIG`` (1e10) for a refit with edges forced to zero. The diagonal is not
  penalised (``penalize.diagonal = FALSE``, qgraph's default): ``w[j, j] = s[j, j]``.
* ``w``: (p, p) the estimated covariance, ``wi``: (p, p) its inverse as R returns it,
  **not symmetric**: column ``j`` of ``wi`` comes from the lasso regression of variable
  ``j`` on the others (``wi[k, j] = -beta_kj * wi[j, j]``). qgraph's EBIC counts the
  lower triangle of ``wi``; its network uses the upper triangle (``forceSymmetric``).
* Batches: the public functions take (B, p, p) stacks and are jit-compiled. Inside, the
  batch is the *last* axis, (p, p, B): every step of the coordinate descent is one
  vector operation over all B matrices at once (lock-step; a matrix that has converged
  is masked), and row ``u`` of a state is a contiguous (p, B) slab. This is ``vmap``
  written out by hand, because ``vmap`` of the nested ``while`` loops puts the batch
  first and unrolls badly. Callers enter float64 with ``popaudit._inference.x64()``.

Algorithm (per matrix and penalty)
----------------------------------
1. ``connect``: variables ``j, k`` are linked when ``|s_jk| > rho_jk``; blocks are the
   connected components, found by breadth-first search from the lowest unassigned
   index, neighbours in index order (R's ``connect``/``row``). That BFS order is the
   order of the coordinate descent inside a block, so it is reproduced exactly: the
   matrices are permuted into it, blocks become contiguous ranges.
2. A singleton block gets ``w_jj = s_jj``, ``wi_jj = 1 / s_jj`` and zeros elsewhere.
3. A block of size ``n_b > 1`` runs ``lasinv1``: start from ``w = s`` and ``beta = 0``
   (cold) or from the previous ``(w, wi)`` with ``beta_{.j} = wi_{.j} / (-wi_jj)``
   (warm); ``w_jj = s_jj``. Sweeps over the block's variables ``m`` (BFS order) solve the
   lasso ``min_b 1/2 b'V b - b's_m + sum rho|b|`` with ``V = w_{-m,-m}`` by cyclic
   coordinate descent (soft thresholding, stop when the largest coordinate change of a
   pass is below ``shr / sum|V|``), then set ``w_{-m,m} = V b``. A block stops after
   the sweep whose largest column change ``sum_k |w_km - w_km(old)|`` is below
   ``shr = thr * sum_{j != k in block} |s_jk| / (n_b - 1)``, or after ``maxit`` sweeps.
   The blocks of one matrix run side by side (they do not interact) and stop
   separately, each with its own ``shr``, as R's separate calls do.
4. ``inv``: ``wi_jj = 1 / (w_jj - beta_j' w_{-j,j})`` and ``wi_{-j,j} = -beta_j wi_jj``.
5. ``glassopath``: a cold start at the largest penalty, then warm starts downwards.

Where exact zeros come from
---------------------------
EBIC counts exact non-zeros, so their origin matters. An off-diagonal ``wi[k, j]`` is
exactly 0 (possibly -0.0) when (a) ``k`` and ``j`` lie in different blocks (the entry is
never computed), or (b) the lasso of column ``j`` left ``beta_kj`` at exactly 0: soft
thresholding sets a coordinate to 0 whenever ``|t| <= rho``. Nothing is rounded or
thresholded afterwards. Because each column has its own lasso and R stops early,
``wi[k, j] == 0`` and ``wi[j, k] == 0`` can disagree; qgraph counts the lower triangle.

Reference: Friedman, J., Hastie, T. and Tibshirani, R. (2008). Sparse inverse covariance
estimation with the graphical lasso. Biostatistics 9(3), 432-441; R package glasso 1.11,
``src/glasso.f``.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

__all__ = [
    "BIG",
    "bfs_blocks",
    "glasso",
    "glasso_path",
    "glasso_path_parts",
    "wi_to_network",
]

BIG = 1e10  # R glasso's penalty for an entry forced to zero (argument ``zero``)


# ----------------------------------------------------------------------------------
# blocks (R's connect)
# ----------------------------------------------------------------------------------
def bfs_blocks(adj):
    """Breadth-first order and component labels of a (p, p) boolean adjacency.

    Returns ``order`` (p,) int: variables in R ``connect``'s order (components by their
    lowest index, BFS inside, neighbours in index order), and ``comp`` (p,) int: the
    component (0, 1, ...) of each variable in original indexing.
    """
    p = adj.shape[0]
    idx = jnp.arange(p, dtype=jnp.int32)

    def body(_, st):
        visited, queue, head, tail, comp, ncomp = st
        empty = head == tail
        root = jnp.argmin(visited).astype(jnp.int32)  # lowest unvisited index
        queue = jnp.where(empty, queue.at[tail].set(root), queue)
        visited = jnp.where(empty, visited.at[root].set(True), visited)
        comp = jnp.where(empty, comp.at[root].set(ncomp), comp)
        ncomp = ncomp + empty.astype(jnp.int32)
        tail = tail + empty.astype(jnp.int32)
        node = queue[head]
        nb = adj[node] & ~visited
        pos = tail + jnp.cumsum(nb, dtype=jnp.int32) - 1
        queue = queue.at[jnp.where(nb, pos, p)].set(idx, mode="drop")
        visited = visited | nb
        comp = jnp.where(nb, comp[node], comp)
        tail = tail + jnp.sum(nb, dtype=jnp.int32)
        return visited, queue, head + 1, tail, comp, ncomp

    st = (jnp.zeros(p, bool), jnp.zeros(p, jnp.int32), jnp.int32(0), jnp.int32(0),
          jnp.zeros(p, jnp.int32), jnp.int32(0))
    _, queue, _, _, comp, _ = lax.fori_loop(0, p, body, st)
    return queue, comp


# ----------------------------------------------------------------------------------
# one glasso call (R's glasso with ia = 0, ipen = 0), batch last
# ----------------------------------------------------------------------------------
def _permute(a, order):
    """``a[order][:, order]`` per matrix: a (p, p, B), order (p, B)."""
    return jax.vmap(lambda m, o: m[o][:, o], in_axes=(2, 1), out_axes=2)(a, order)


def _diag(v):
    """(p, B) -> (p, p, B) diagonal matrices."""
    p = v.shape[0]
    return jnp.where(jnp.eye(p, dtype=bool)[:, :, None], v[None, :, :], 0.0)


def _lasso(w, x, s, r, in_blk, thr_l, act, max_pass):
    """R's ``lasso`` for one column of every matrix (all (p, B), scalars (B,)).

    Cyclic coordinate descent over the coordinates ``u`` with ``in_blk[u]`` (the block
    without the column itself); ``s`` enters as the residual ``s_m - V x`` and leaves as
    the residual at the solution. A matrix stops after the pass whose largest
    coordinate change is below ``thr_l``; ``act`` False means no pass at all.

    Each coordinate is visited once per pass, so R's ``dlx`` (largest change in a pass)
    is ``max |x_after - x_before|`` over the pass, taken after it. The coordinate step
    rewrites the whole (p, B) ``x`` with a select instead of an indexed update: XLA then
    fuses the step into two small loops and copies nothing.
    """
    p, _ = x.shape
    rows = jnp.arange(p)[:, None]

    def coord(u, c):
        x, s, go = c
        upd = in_blk[u] & go
        xj = x[u]
        vjj = w[u, u]
        tt = s[u] + vjj * xj
        a = jnp.abs(tt) - r[u]
        new = jnp.where(upd, jnp.where(a > 0.0, jnp.sign(tt) * a / vjj, 0.0), xj)
        x = jnp.where(rows == u, new[None, :], x)
        s = s - (new - xj)[None, :] * w[u]
        return x, s, go

    def one_pass(c):
        x, s, go, npass = c
        x_new, s, _ = lax.fori_loop(0, p, coord, (x, s, go))
        dlx = jnp.max(jnp.abs(x_new - x), axis=0)
        go = go & ~(dlx < thr_l) & (npass + 1 < max_pass)
        return x_new, s, go, npass + 1

    x, s, _, _ = lax.while_loop(lambda c: jnp.any(c[2]), one_pass, (x, s, act, 0))
    return x, s


def _glasso_batch(s, rho, w0, wi0, warm, thr, maxit):
    """R's ``glasso`` on every matrix of s (p, p, B); returns (w, wi, sweeps (B,))."""
    p, _, batch = s.shape
    dtype = s.dtype
    idx = jnp.arange(p)
    offd = (idx[:, None] != idx[None, :])[:, :, None]
    adj = (jnp.abs(s) > rho) & offd
    order, comp = jax.vmap(bfs_blocks, in_axes=2, out_axes=1)(adj)
    # permute into R's block order: blocks are contiguous, sweeps run in index order
    sp = _permute(s, order)
    rp = _permute(rho, order)
    cp = jnp.take_along_axis(comp, order, axis=0)
    same = cp[:, None, :] == cp[None, :, :]
    size = jnp.sum(same, axis=1)
    multi = size > 1
    sdiag = sp[idx, idx]
    in_multi = same & offd & multi[None, :, :]
    w = jnp.where(same & offd, jnp.where(warm, _permute(w0, order), sp), 0.0) + _diag(sdiag)
    wip = _permute(wi0, order)
    # beta[t] (p, B): lasso coefficients of column t (R's xs(:, t)), contiguous per column
    beta = jnp.swapaxes(jnp.where(warm & in_multi, wip / (-wip[idx, idx])[None, :, :], 0.0), 0, 1)
    # per-block tolerance shr = thr * sum_{j != k in block} |s_jk| / (n_b - 1)
    rowsum = jnp.sum(jnp.where(same & offd, jnp.abs(sp), 0.0), axis=1)
    blocksum = jnp.sum(jnp.where(same, rowsum[None, :, :], 0.0), axis=1)
    shr = thr * blocksum / jnp.maximum(size - 1, 1).astype(dtype)
    active = multi & (blocksum != 0.0)
    # absrow[j] = sum_{k in block(j)} |w_jk|, kept up to date column by column, gives R's
    # sum(abs(vv)) = sum_{j, k in block - t} |w_jk| in O(p) per column
    absrow = jnp.sum(jnp.where(same, jnp.abs(w), 0.0), axis=1)

    def sweep(carry):
        w, beta, absrow, active, niter = carry

        def column(t, c):
            # skipped outright when column t is a singleton or converged in every matrix
            # of the batch (one predicate for the batch: a real branch, not a select)
            return lax.cond(jnp.any(active[t]), update_column, lambda t, c: c, t, c)

        def update_column(t, c):
            w, beta, absrow, dcol = c
            blk = same[t]
            in_blk = blk & (idx != t)[:, None]
            act = active[t]
            wt = w[t]
            vsum = jnp.sum(jnp.where(blk, absrow, 0.0), axis=0) - 2.0 * absrow[t] + jnp.abs(wt[t])
            thr_l = shr[t] / jnp.where(act, vsum, 1.0)
            s0 = sp[t]
            bt = beta[t]
            res = s0 - jnp.sum(w * bt[None, :, :], axis=1)
            bt, res = _lasso(w, bt, res, rp[t], in_blk, thr_l, act, maxit)
            newcol = jnp.where(in_blk & act[None, :], s0 - res, wt)
            w = w.at[t].set(newcol).at[:, t].set(newcol)
            beta = beta.at[t].set(bt)
            change = jnp.abs(newcol) - jnp.abs(wt)
            absrow = absrow + jnp.where(in_blk, change, 0.0)
            absrow = absrow.at[t].set(jnp.sum(jnp.where(blk, jnp.abs(newcol), 0.0), axis=0))
            dcol = dcol.at[t].set(jnp.sum(jnp.abs(newcol - wt), axis=0))
            return w, beta, absrow, dcol

        w, beta, absrow, dcol = lax.fori_loop(
            0, p, column, (w, beta, absrow, jnp.zeros((p, batch), dtype)))
        dblk = jnp.max(jnp.where(same, dcol[None, :, :], 0.0), axis=1)
        niter = niter + active.astype(jnp.int32)
        active = active & ~(dblk < shr) & (niter < maxit)
        return w, beta, absrow, active, niter

    w, beta, _, _, niter = lax.while_loop(
        lambda c: jnp.any(c[3]), sweep,
        (w, beta, absrow, active, jnp.zeros((p, batch), jnp.int32)))
    # inv: wi_jj = 1 / (w_jj - beta_j' w_{-j,j}), wi_{-j,j} = -beta_j wi_jj
    xn = -jnp.swapaxes(beta, 0, 1)
    dg = 1.0 / (sdiag + jnp.sum(xn * w, axis=0))
    wi = jnp.where(in_multi, xn * dg[None, :, :], 0.0) + _diag(jnp.where(multi, dg, 1.0 / sdiag))
    inv_order = jnp.argsort(order, axis=0)
    return _permute(w, inv_order), _permute(wi, inv_order), jnp.max(niter, axis=0)


def _to_last(a):
    return jnp.moveaxis(a, 0, -1)


def _to_first(a):
    return jnp.moveaxis(a, -1, 0)


@partial(jax.jit, static_argnames=("maxit",))
def glasso(s, rho, *, thr=1e-4, maxit=10_000):
    """R's ``glasso(s, rho, penalize.diagonal = FALSE)`` with a cold start, for a batch.

    Parameters
    ----------
    s : (B, p, p) symmetric matrices.
    rho : (B, p, p) penalty matrices (``BIG`` for entries forced to zero, as R's
        argument ``zero`` does).
    thr, maxit : R's convergence threshold and sweep limit.

    Returns
    -------
    w, wi : (B, p, p); sweeps : (B,) sweeps of the slowest block.
    """
    s = _to_last(s)
    zeros = jnp.zeros_like(s)
    w, wi, sweeps = _glasso_batch(s, _to_last(rho), zeros, zeros, False, thr, maxit)
    return _to_first(w), _to_first(wi), sweeps


# ----------------------------------------------------------------------------------
# path and EBIC (qgraph EBICglasso)
# ----------------------------------------------------------------------------------
def _ebic(s, k, n, gamma):
    """qgraph's ``EBIC(S, K, n, gamma)`` per matrix (p, p, B): -2 L + E log n + 4 E gamma log p.

    ``L = n / 2 (log det K - tr(K S))`` with ``log det`` NaN when det K <= 0 (R's
    ``log(det(K))``); E counts the exact non-zeros of the lower triangle of K.
    """
    p = s.shape[0]
    sign, logabs = jnp.linalg.slogdet(_to_first(k))
    logdet = jnp.where(sign > 0, logabs, jnp.nan)
    loglik = n / 2.0 * (logdet - jnp.sum(k * jnp.swapaxes(s, 0, 1), axis=(0, 1)))
    low = jnp.tril(jnp.ones((p, p), bool), -1)[:, :, None]
    e = jnp.sum((k != 0.0) & low, axis=(0, 1))
    return -2.0 * loglik + e * jnp.log(n) + 4.0 * e * gamma * jnp.log(p), e


def _glasso_path(s, lambdas, n, gamma, thr_cut, *, thr=1e-4, maxit=10_000, keep_path=False):
    """qgraph ``EBICglasso`` core for a batch: glasso path, EBIC, selected precision.

    Parameters
    ----------
    s : (B, p, p) correlation matrices (symmetric, unit diagonal).
    lambdas : (B, nlam) penalties in **descending** order (R's grid reversed): R's
        ``glassopath`` starts cold at the largest, then warm-starts downwards.
    n : (B,) sample sizes in the EBIC.
    gamma : (B,) EBIC hyperparameter.
    thr_cut : (B,) qgraph's ``threshold = TRUE`` cut ``log(p (p - 1) / 2) / sqrt(n)``
        applied to ``|wi|`` before the EBIC, or 0 for no thresholding.
    thr, maxit : glasso's convergence threshold and sweep limit.
    keep_path : also return every wi (B, nlam, p, p); memory grows with nlam.

    Returns
    -------
    ebic, edges : (B, nlam) EBIC and E (non-zeros in the lower triangle of wi).
    selected : (B,) index into ``lambdas`` of the selected penalty: R's ``which.min``
        over ascending lambda, so ties go to the smaller lambda (-1: every EBIC NaN).
    wi : (B, p, p) the selected (thresholded) precision matrix, not symmetric.
    sweeps : (B, nlam) sweeps of the slowest block per lambda (diagnostics).
    path : (B, nlam, p, p) when ``keep_path``, else an empty array.
    """
    s = _to_last(s)
    p, _, batch = s.shape
    dtype = s.dtype
    lambdas = jnp.swapaxes(lambdas, 0, 1)  # (nlam, B)
    nlam = lambdas.shape[0]
    ones = jnp.ones((p, p, 1), dtype)
    zeros = jnp.zeros_like(s)
    w, wi, _ = _glasso_batch(s, lambdas[0] * ones, zeros, zeros, False, thr, maxit)

    def step(carry, lam_i):
        w, wi, best, best_i, best_k = carry
        lam, i = lam_i
        w, wi, sweeps = _glasso_batch(s, lam * ones, w, wi, True, thr, maxit)
        k = jnp.where(jnp.abs(wi) < thr_cut, 0.0, wi)
        e_val, e_cnt = _ebic(s, k, n, gamma)
        better = e_val <= best  # later = smaller lambda wins ties; NaN never wins
        best = jnp.where(better, e_val, best)
        best_i = jnp.where(better, i, best_i)
        best_k = jnp.where(better, k, best_k)
        out = (e_val, e_cnt, sweeps, _to_first(wi) if keep_path else jnp.zeros((0,), dtype))
        return (w, wi, best, best_i, best_k), out

    init = (w, wi, jnp.full(batch, jnp.inf, dtype), jnp.full(batch, -1, jnp.int32), zeros)
    (_, _, _, best_i, best_k), (ebic, e, sweeps, path) = lax.scan(
        step, init, (lambdas, jnp.arange(nlam, dtype=jnp.int32)))
    if keep_path:
        path = jnp.moveaxis(path, 0, 1)
    return (ebic.T, e.T, best_i, _to_first(best_k), sweeps.T, path)


glasso_path = partial(jax.jit, static_argnames=("maxit", "keep_path"))(_glasso_path)


@partial(jax.jit, static_argnames=("parts", "maxit", "keep_path"))
def glasso_path_parts(s, lambdas, n, gamma, thr_cut, *, parts=2, thr=1e-4, maxit=10_000,
                      keep_path=False):
    """:func:`glasso_path` on ``parts`` equal slices of the batch, as independent loops.

    One program whose slices share no data: XLA's CPU runtime may run their loops side by
    side on its own threads (two Python threads each running a program deadlocked XLA:CPU
    here), and a smaller lock-step group wastes fewer steps waiting for its slowest
    matrix. The batch size must be a multiple of ``parts``; outputs as
    :func:`glasso_path`, concatenated.
    """
    size = s.shape[0] // parts
    outs = [_glasso_path(*(a[k * size:(k + 1) * size] for a in (s, lambdas, n, gamma, thr_cut)),
                         thr=thr, maxit=maxit, keep_path=keep_path) for k in range(parts)]
    return tuple(jnp.concatenate([o[i] for o in outs]) for i in range(len(outs[0])))


@jax.jit
def wi_to_network(wi):
    """qgraph's ``wi2net`` + ``forceSymmetric``: ``-cov2cor(wi)`` from the upper triangle.

    ``cov2cor`` as R computes it: ``Is = sqrt(1 / diag)``, ``(Is_i * wi_ij) * Is_j``.
    (B, p, p) -> (B, p, p) symmetric with zero diagonal.
    """
    d = jnp.sqrt(1.0 / jnp.diagonal(wi, axis1=1, axis2=2))
    r = -((d[:, :, None] * wi) * d[:, None, :])
    up = jnp.triu(r, 1)
    return up + jnp.swapaxes(up, 1, 2)
