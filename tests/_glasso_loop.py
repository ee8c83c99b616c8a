"""A plain-loop transcription of R glasso 1.11's Fortran (src/glasso.f), for tests.

Line-by-line port of ``glasso`` (block splitting by ``connect``/``row``),
``lasinv1`` (exact block coordinate descent, ``approx = FALSE``), ``lasso``,
``inv`` and ``glassopath``, 0-based. Slow (Python loops) and only meant to pin
the vectorised JAX kernel in ``popaudit._kernels.glasso`` to the reference
algorithm step by step, without R.
"""

from __future__ import annotations

import numpy as np

EPS = 1.0e-7


def connect(ss, rho):
    """Fortran ``connect``: BFS order ``ir`` and block bounds ``ic`` (list of (start, end))."""
    n = ss.shape[0]
    ie = np.zeros(n, dtype=int)
    ir = []
    ic = []
    nc = 0
    for k in range(n):
        if ie[k] > 0:
            continue
        nc += 1
        ie[k] = nc
        start = len(ir)
        ir.append(k)
        frontier = [k]
        while frontier:
            new = []
            for kk in frontier:
                for j in range(n):
                    if ie[j] > 0 or j == kk:
                        continue
                    if abs(ss[j, kk]) <= rho[j, kk]:
                        continue
                    ie[j] = nc
                    new.append(j)
            ir.extend(new)
            frontier = new
        ic.append((start, len(ir) - 1))
    return ir, ic


def lasso(rho, vv, s, thr, x):
    """Fortran ``lasso``: cyclic coordinate descent; ``s`` enters as S_{-m,m}."""
    n = len(x)
    s = s - vv @ x
    while True:
        dlx = 0.0
        for j in range(n):
            xj = x[j]
            x[j] = 0.0
            t = s[j] + vv[j, j] * xj
            if abs(t) - rho[j] > 0.0:
                x[j] = np.sign(t) * (abs(t) - rho[j]) / vv[j, j]
            if x[j] == xj:
                continue
            d = x[j] - xj
            dlx = max(dlx, abs(d))
            s = s - d * vv[:, j]
        if dlx < thr:
            break
    return x, s


def inv(ww, xs):
    n = ww.shape[0]
    xs = -xs
    wwi = np.zeros((n, n))
    for j in range(n):
        others = [k for k in range(n) if k != j]
        wwi[j, j] = 1.0 / (ww[j, j] + xs[:, j] @ ww[others, j])
        wwi[others, j] = wwi[j, j] * xs[:, j]
    return wwi


def lasinv1(ss, rho, warm, thr, maxit, ww, wwi, ipen=0, stats=None):
    n = ss.shape[0]
    nm1 = n - 1
    shr = sum(abs(ss[j, k]) for j in range(n) for k in range(n) if j != k)
    if shr == 0.0:
        ww = np.zeros((n, n))
        wwi = np.zeros((n, n))
        for j in range(n):
            ww[j, j] = ss[j, j] + (rho[j, j] if ipen else 0.0)
            wwi[j, j] = 1.0 / max(ww[j, j], EPS)
        return ww, wwi, 0
    shr = thr * shr / nm1
    if not warm:
        ww = ss.copy()
        xs = np.zeros((nm1, n))
    else:
        ww = ww.copy()
        xs = np.zeros((nm1, n))
        for j in range(n):
            xjj = -wwi[j, j]
            xs[:, j] = [wwi[k, j] / xjj for k in range(n) if k != j]
    for j in range(n):
        ww[j, j] = ss[j, j] + (rho[j, j] if ipen else 0.0)
    niter = 0
    while True:
        dlx = 0.0
        for m in range(n):
            others = [k for k in range(n) if k != m]
            x = xs[:, m].copy()
            ws = ww[:, m].copy()
            vv = ww[np.ix_(others, others)]
            s = ss[others, m].copy()
            ro = rho[others, m]
            so = s.copy()
            x, s = lasso(ro, vv, s, shr / np.sum(np.abs(vv)), x)
            ww[others, m] = so - s
            ww[m, others] = ww[others, m]
            dlx = max(dlx, np.sum(np.abs(ww[:, m] - ws)))
            xs[:, m] = x
        niter += 1
        if niter >= maxit or dlx < shr:
            break
    if stats is not None:
        stats.append(niter)
    return ww, inv(ww, xs), niter


def glasso(sss, rrho, www=None, wwwi=None, warm=False, thr=1e-4, maxit=10_000, ipen=0,
           stats=None):
    """Fortran ``glasso`` (ia = 0). Returns (w, wi)."""
    nn = sss.shape[0]
    www = np.zeros((nn, nn)) if www is None else www.copy()
    wwwi = np.zeros((nn, nn)) if wwwi is None else wwwi.copy()
    ir, ic = connect(sss, rrho)
    for kb, ke in ic:
        idx = ir[kb:ke + 1]
        if len(idx) == 1:
            k = idx[0]
            www[:, k] = www[k, :] = 0.0
            wwwi[:, k] = wwwi[k, :] = 0.0
            continue
        sub = np.ix_(idx, idx)
        ww, wwi, _ = lasinv1(sss[sub], rrho[sub], warm, thr, maxit, www[sub], wwwi[sub],
                             ipen=ipen, stats=stats)
        for k in idx:
            www[:, k] = www[k, :] = 0.0
            wwwi[:, k] = wwwi[k, :] = 0.0
        wwwi[sub] = wwi
        www[sub] = ww
    for j in range(nn):
        if www[j, j] == 0.0:
            www[j, j] = sss[j, j] + (rrho[j, j] if ipen else 0.0)
            wwwi[j, j] = 1.0 / www[j, j]
    return www, wwwi


def glassopath(ss, rholist, thr=1e-4, maxit=10_000, ipen=0, stats=None):
    """Fortran ``glassopath``: (w, wi) arrays of shape (nrho, n, n), rholist ascending."""
    n = ss.shape[0]
    rholist = np.sort(np.asarray(rholist, dtype=float))
    nrho = len(rholist)
    w_path = np.zeros((nrho, n, n))
    wi_path = np.zeros((nrho, n, n))
    ww, wwi = glasso(ss, np.full((n, n), rholist[-1]), thr=thr, maxit=maxit, ipen=ipen)
    for i in range(nrho - 1, -1, -1):
        ww, wwi = glasso(ss, np.full((n, n), rholist[i]), ww, wwi, warm=True, thr=thr,
                         maxit=maxit, ipen=ipen, stats=stats)
        w_path[i] = ww
        wi_path[i] = wwi
    return w_path, wi_path
