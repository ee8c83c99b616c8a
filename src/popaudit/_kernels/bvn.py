"""Bivariate standard normal distribution: CDF, density and its derivative in rho.

Pure, elementwise JAX functions (they broadcast their arguments) used by the
polychoric likelihood. The CDF is Genz's (2004) BVND algorithm, which
refines Drezner & Wesolowsky (1990):

* for ``|rho| < 0.925``, Sheppard's formula

  .. math:: \\Phi_2(h, k; \\rho) = \\Phi(h)\\Phi(k) + \\frac{1}{2\\pi}
            \\int_0^{\\arcsin\\rho} \\exp\\Big(-\\frac{h^2 + k^2 - 2hk\\sin\\theta}
            {2\\cos^2\\theta}\\Big)\\,d\\theta

  integrated with 6-, 12- or 20-point Gauss-Legendre for the largest ``|rho|``
  below 0.3, 0.75 or 0.925 among the values of a call (Genz's choice);
* for ``|rho| >= 0.925``, Genz's expansion of the integrand around
  ``|rho| = 1`` (Drezner-Wesolowsky's second form) plus a 20-point
  Gauss-Legendre correction.

Both are accurate to about 1e-15 absolute in float64 (the tests check 1e-12
against Owen's T function). Infinite limits are handled exactly:
``Phi2(-inf, k) = 0``, ``Phi2(+inf, k) = Phi(k)``; ``|rho| = 1`` gives the
degenerate limits.

References
----------
Genz, A. (2004). Numerical computation of rectangular bivariate and trivariate
normal and t probabilities. *Statistics and Computing* 14, 251-260.
Drezner, Z. & Wesolowsky, G. O. (1990). On the computation of the bivariate
normal integral. *J. Statist. Comput. Simul.* 35, 101-107.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.scipy.special import ndtr

__all__ = ["bvn_cdf", "bvn_pdf", "bvn_pdf_drho"]

_TWOPI = 2.0 * math.pi
_SQRT_TWOPI = math.sqrt(_TWOPI)
# 20-point Gauss-Legendre rule on [-1, 1] (Genz uses the same 20 nodes, written as
# 10 half-nodes taken with both signs).
_GL_X, _GL_W = (tuple(float(v) for v in a) for a in np.polynomial.legendre.leggauss(20))
# Genz's node counts for Sheppard's integral: 6 points suffice for |r| < 0.3 and 12 for
# |r| < 0.75 (double precision either way); 20 beyond
_GL_LOW = tuple((tuple(float(v) for v in x), tuple(float(v) for v in w))
                for x, w in (np.polynomial.legendre.leggauss(m) for m in (6, 12, 20)))


def _upper_orthant(dh, dk, r):
    """P(X > dh, Y > dk) for finite dh, dk and -1 <= r <= 1 (Genz's BVND).

    Arguments broadcast against each other. Terms that depend on ``r`` alone
    (the quadrature nodes' sines, square roots, ...) are computed at ``r``'s
    own shape, so a grid call ``h[:, :, None], k[:, None, :], r[:, None, None]``
    pays for them once per ``r``, not once per grid point.
    Also returns Phi(-dh) and Phi(-dk) (at their own shapes).
    """
    gx = jnp.asarray(_GL_X, dh.dtype)
    gw = jnp.asarray(_GL_W, dh.dtype)
    # the four univariate CDFs at the limits' own shapes, in one ndtr call
    # (one copy of ndtr in the compiled program instead of four)
    nh, nk = dh.size, dk.size
    nd = ndtr(jnp.concatenate([dh.ravel(), -dh.ravel(), dk.ravel(), -dk.ravel()]))
    p_h, p_mh = nd[:nh].reshape(dh.shape), nd[nh:2 * nh].reshape(dh.shape)
    p_k, p_mk = nd[2 * nh:2 * nh + nk].reshape(dk.shape), nd[2 * nh + nk:].reshape(dk.shape)
    hk = dh * dk
    is_low = jnp.abs(r) < 0.925
    any_low = jnp.any(is_low)
    any_high = jnp.any(~is_low)

    shape = jnp.broadcast_shapes(dh.shape, dk.shape, r.shape)

    # --- |r| < 0.925: Sheppard's integral over arcsin(r), 20-point Gauss-Legendre -------
    def low_branch(nodes):
        def f(_):
            x = jnp.asarray(nodes[0], dh.dtype)
            w = jnp.asarray(nodes[1], dh.dtype)
            asr = jnp.arcsin(jnp.where(is_low, r, 0.0))
            sn = jnp.sin(asr[..., None] * (x + 1.0) * 0.5)  # r's shape + (nodes,)
            inv = 1.0 / (1.0 - sn * sn)
            hs = 0.5 * (dh * dh + dk * dk)
            acc = jnp.sum(w * jnp.exp((sn * hk[..., None] - hs[..., None]) * inv), axis=-1)
            return jnp.broadcast_to(acc * (asr / (2.0 * _TWOPI)) + p_mh * p_mk, shape)
        return f

    # as few nodes as the largest |r| of the lanes that use this branch allows; the
    # branch is skipped entirely when no lane needs it
    r_low_max = jnp.max(jnp.where(is_low, jnp.abs(r), 0.0))
    which = jnp.where(r_low_max < 0.3, 0, jnp.where(r_low_max < 0.75, 1, 2))
    which = jnp.where(any_low, which + 1, 0)
    low = lax.switch(which, [lambda _: jnp.zeros(shape, dh.dtype)]
                     + [low_branch(nodes) for nodes in _GL_LOW], None)

    # --- |r| >= 0.925: expansion around |r| = 1, with k reflected when r < 0 -----------
    high = lax.cond(any_high, _high_branch, lambda *_: jnp.zeros(shape, dh.dtype),
                    dh, dk, r, hk, is_low, p_h, p_mh, p_k, p_mk, gx, gw)
    return jnp.where(is_low, low, high), p_mh, p_mk


def _high_branch(dh, dk, r, hk, is_low, p_h, p_mh, p_k, p_mk, gx, gw):
    shape = jnp.broadcast_shapes(dh.shape, dk.shape, r.shape)
    neg = r < 0
    k = jnp.where(neg, -dk, dk)
    hk2 = jnp.where(neg, -hk, hk)
    h = dh
    interior = jnp.abs(r) < 1.0
    # keep unused lanes finite: they are discarded by the final where
    r_hi = jnp.where(interior & ~is_low, r, 0.95)
    as_ = (1.0 - r_hi) * (1.0 + r_hi)
    a = jnp.sqrt(as_)
    inv_as = 1.0 / as_
    bs = (h - k) ** 2
    b = jnp.sqrt(bs)
    c = (4.0 - hk2) * 0.125
    d = (12.0 - hk2) * 0.0625
    core = a * jnp.exp(-(bs * inv_as + hk2) * 0.5) * (
        1.0 - c * (bs - as_) * (1.0 - d * bs * 0.2) / 3.0 + c * d * as_ * as_ * 0.2)
    hk_ok = hk2 > -160.0
    tail = jnp.exp(-jnp.where(hk_ok, hk2, 0.0) * 0.5) * _SQRT_TWOPI * ndtr(-b / a) * b * (
        1.0 - c * bs * (1.0 - d * bs * 0.2) / 3.0)
    core = core - jnp.where(hk_ok, tail, 0.0)
    a2 = (0.5 * a)[..., None]
    xs = (a2 * (gx + 1.0)) ** 2  # r's shape + (20,)
    rs = jnp.sqrt(1.0 - xs)
    inv_xs = 1.0 / xs
    q = 0.5 / (1.0 + rs) ** 2
    aw = a2 * gw
    bs_, hk_, c_, d_ = bs[..., None], hk2[..., None], c[..., None], d[..., None]
    asr_i = -(bs_ * inv_xs + hk_) * 0.5
    ok = asr_i > -100.0
    term = aw * jnp.exp(jnp.where(ok, asr_i, 0.0)) * (
        jnp.exp(-hk_ * xs * q) / rs - (1.0 + c_ * xs * (1.0 + d_ * xs)))
    core = core + jnp.sum(jnp.where(ok, term, 0.0), axis=-1)
    core = jnp.where(interior, -core / _TWOPI, 0.0)
    p_mk_ref = jnp.where(neg, p_k, p_mk)  # Phi(-k) for the reflected k
    p_k_ref = jnp.where(neg, p_mk, p_k)  # Phi(k)
    pos_part = core + jnp.minimum(p_mh, p_mk_ref)  # + Phi(-max(h, k))
    # r < 0: add P(h < X < k) when k > h, computed on the side with small tails
    neg_extra = jnp.where(k > h, jnp.where(h < 0, p_k_ref - p_h, p_mh - p_mk_ref), 0.0)
    return jnp.broadcast_to(jnp.where(r > 0, pos_part, -core + neg_extra), shape)


def _bvn_cdf(h, k, r):
    h, k, r = jnp.asarray(h), jnp.asarray(k), jnp.asarray(r)
    dt = jnp.result_type(h, k, r, float)
    h, k, r = h.astype(dt), k.astype(dt), r.astype(dt)
    fin_h = jnp.isfinite(h)
    fin_k = jnp.isfinite(k)
    hs = jnp.where(fin_h, h, 0.0)
    ks = jnp.where(fin_k, k, 0.0)
    core, phi_h, phi_k = _upper_orthant(-hs, -ks, r)  # Phi(hs), Phi(ks) come along
    out = jnp.where(fin_h & fin_k, core, 0.0)
    out = jnp.where(fin_h & (k == jnp.inf), phi_h, out)
    out = jnp.where(fin_k & (h == jnp.inf), phi_k, out)
    out = jnp.where((h == jnp.inf) & (k == jnp.inf), 1.0, out)
    out = jnp.where(jnp.isnan(h) | jnp.isnan(k) | jnp.isnan(r), jnp.nan, out)
    return out


def _bvn_pdf_parts(h, k, r):
    fin = jnp.isfinite(h) & jnp.isfinite(k)
    hs = jnp.where(fin, h, 0.0)
    ks = jnp.where(fin, k, 0.0)
    om = (1.0 - r) * (1.0 + r)
    q = hs * hs - 2.0 * r * hs * ks + ks * ks
    dens = jnp.exp(-0.5 * q / om) / (_TWOPI * jnp.sqrt(om))
    return fin, hs, ks, om, q, dens


def _bvn_pdf(h, k, r):
    fin, _, _, _, _, dens = _bvn_pdf_parts(h, k, r)
    return jnp.where(fin, dens, 0.0)


def _bvn_pdf_drho(h, k, r):
    fin, hs, ks, om, q, dens = _bvn_pdf_parts(h, k, r)
    dlog = (hs * ks * om - r * q) / (om * om) + r / om
    return jnp.where(fin, dens * dlog, 0.0)


#: ``bvn_cdf(h, k, r)``: P(X <= h, Y <= k) for a standard bivariate normal with
#: correlation r; elementwise with broadcasting; +-inf limits allowed.
bvn_cdf = jax.jit(_bvn_cdf)
#: ``bvn_pdf(h, k, r)``: the density, which is also d Phi2 / d rho; 0 at infinite limits.
bvn_pdf = jax.jit(_bvn_pdf)
#: ``bvn_pdf_drho(h, k, r)``: d^2 Phi2 / d rho^2 = d pdf / d rho; 0 at infinite limits.
bvn_pdf_drho = jax.jit(_bvn_pdf_drho)
