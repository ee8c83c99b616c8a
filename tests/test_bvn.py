"""Bivariate normal CDF kernel: against Owen's T, limits, derivatives, identities."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr, owens_t

from popaudit._inference import x64
from popaudit._kernels.bvn import bvn_cdf, bvn_pdf, bvn_pdf_drho


@pytest.fixture(autouse=True)
def _float64():
    """The kernels are called directly here, outside popaudit's public (x64-scoped) functions."""
    with x64():
        yield


def owen_reference(h, k, r):
    """Phi2(h, k; r) through Owen's T (scipy's owens_t is accurate to ~1e-16).

    Phi2 = Phi(h)/2 + Phi(k)/2 - T(h, a_h) - T(k, a_k) - beta (Owen 1956), h, k != 0.
    """
    s = np.sqrt(1.0 - r * r)
    ah = (k - r * h) / (h * s)
    ak = (h - r * k) / (k * s)
    beta = np.where((h * k > 0) | ((h * k == 0) & (h + k >= 0)), 0.0, 0.5)
    return 0.5 * ndtr(h) + 0.5 * ndtr(k) - owens_t(h, ah) - owens_t(k, ak) - beta


def test_against_owens_t_whole_range_of_rho():
    rng = np.random.default_rng(7)
    m = 4000
    h = rng.uniform(-6, 6, m)
    k = rng.uniform(-6, 6, m)
    r = np.concatenate([rng.uniform(-0.925, 0.925, m // 4),
                        rng.uniform(0.925, 1 - 1e-9, m // 4),
                        -rng.uniform(0.925, 1 - 1e-9, m // 4),
                        1 - 10.0 ** rng.uniform(-9, -1, m // 4) * rng.choice([1, -1], m // 4)])
    r = np.clip(r, -1 + 1e-12, 1 - 1e-12)
    got = np.asarray(bvn_cdf(h, k, r))
    want = owen_reference(h, k, r)
    # Genz's BVND with 20-point Gauss-Legendre is accurate to ~1e-15 absolute
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("lo, hi", [(0.0, 0.3), (0.3, 0.75), (0.75, 0.925)])
def test_fewer_quadrature_nodes_for_smaller_rho(lo, hi):
    # a call whose |rho| all lie below .3 (.75) uses Genz's 6 (12) nodes
    rng = np.random.default_rng(11)
    h, k = rng.uniform(-6, 6, 3000), rng.uniform(-6, 6, 3000)
    r = rng.uniform(lo, hi, 3000) * rng.choice([-1, 1], 3000)
    np.testing.assert_allclose(np.asarray(bvn_cdf(h, k, r)), owen_reference(h, k, r), rtol=0,
                               atol=1e-12)


def test_known_values():
    # Phi2(0, 0; r) = 1/4 + arcsin(r) / (2 pi)
    r = np.array([-0.999, -0.95, -0.5, 0.0, 0.3, 0.9, 0.93, 0.9999])
    np.testing.assert_allclose(np.asarray(bvn_cdf(0.0, 0.0, r)),
                               0.25 + np.arcsin(r) / (2 * np.pi), atol=1e-15)
    # r = 0: product of the margins
    np.testing.assert_allclose(float(bvn_cdf(0.7, -1.3, 0.0)), ndtr(0.7) * ndtr(-1.3),
                               atol=1e-16)


def test_infinite_limits_and_degenerate_rho():
    inf = np.inf
    h = np.array([-inf, 0.3, inf, inf, 0.3, -inf, 1.0])
    k = np.array([0.5, -inf, 0.5, inf, inf, inf, np.nan])
    got = np.asarray(bvn_cdf(h, k, 0.6))
    want = np.array([0.0, 0.0, ndtr(0.5), 1.0, ndtr(0.3), 0.0, np.nan])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[:6], want[:6], atol=1e-16)
    # r = +1: Phi(min(h, k)); r = -1: max(0, Phi(h) + Phi(k) - 1)
    assert float(bvn_cdf(0.3, -0.2, 1.0)) == pytest.approx(ndtr(-0.2), abs=1e-15)
    assert float(bvn_cdf(0.3, -0.2, -1.0)) == pytest.approx(ndtr(0.3) + ndtr(-0.2) - 1,
                                                            abs=1e-15)
    assert float(bvn_cdf(-0.3, -0.2, -1.0)) == 0.0


def test_density_and_its_derivative_are_the_rho_derivatives():
    rng = np.random.default_rng(3)
    h, k = rng.uniform(-3, 3, 50), rng.uniform(-3, 3, 50)
    r = rng.uniform(-0.97, 0.97, 50)
    e = 1e-5
    d1 = (np.asarray(bvn_cdf(h, k, r + e)) - np.asarray(bvn_cdf(h, k, r - e))) / (2 * e)
    # central differences: truncation ~e^2 f''' plus rounding ~1e-16 / e
    np.testing.assert_allclose(np.asarray(bvn_pdf(h, k, r)), d1, rtol=1e-6, atol=1e-9)
    d2 = (np.asarray(bvn_pdf(h, k, r + e)) - np.asarray(bvn_pdf(h, k, r - e))) / (2 * e)
    np.testing.assert_allclose(np.asarray(bvn_pdf_drho(h, k, r)), d2, rtol=1e-5, atol=1e-8)
    # zero at infinite limits (no NaN from inf * 0)
    assert float(bvn_pdf(np.inf, 0.2, 0.5)) == 0.0
    assert float(bvn_pdf_drho(-np.inf, 0.2, 0.5)) == 0.0


def test_float32_inputs_stay_float32():
    out = bvn_cdf(np.float32(0.2), np.float32(-0.4), np.float32(0.5))
    assert out.dtype == np.float32
    assert float(out) == pytest.approx(float(bvn_cdf(0.2, -0.4, 0.5)), abs=1e-6)


finite = st.floats(-8, 8, allow_nan=False)
corr = st.floats(-1, 1, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(finite, finite, corr)
def test_identities(h, k, r):
    f = float(bvn_cdf(h, k, r))
    # symmetry in the two arguments
    assert f == pytest.approx(float(bvn_cdf(k, h, r)), abs=1e-13)
    # P(X<h, Y<k; r) + P(X<h, Y>k; r) = Phi(h), and P(X<h, -Y<-k; -r) = P(X<h, Y>k; r)
    assert f + float(bvn_cdf(h, -k, -r)) == pytest.approx(ndtr(h), abs=1e-13)
    # Frechet bounds
    assert max(0.0, ndtr(h) + ndtr(k) - 1) - 1e-13 <= f <= min(ndtr(h), ndtr(k)) + 1e-13
