"""Tests for popaudit.structure.comparison and popaudit.structure.tests.

Reference values: hand-worked p = 2 cases, psych::cortest.jennrich / cortest.normal
fixtures (tests/r/structure_fixtures.R), brute-force Mantel enumeration, a
constructed ecological case with known group means, scipy's Cramér's V, and
invariants (identical inputs give zero distance; symmetry) under hypothesis.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.stats.contingency import association

import popaudit as pa
from popaudit import Item, Survey
from popaudit._inference import x64
from popaudit._kernels import resample as rs
from popaudit.structure.comparison import (
    _bootstrap_interval,
    _matrix_statistics,
    compare_correlations,
)
from popaudit.structure.polychoric import polychoric
from popaudit.structure.tests import (
    jennrich_statistic,
    jennrich_test,
    mantel_test,
    pairwise_difference_tests,
    steiger_statistic,
    steiger_test,
)

FIXTURES = Path(__file__).parent / "fixtures" / "structure"


# ----------------------------------------------------------------------------------------
# helpers


def _one_factor(p: int, load: float) -> np.ndarray:
    r = np.full((p, p), load ** 2)
    np.fill_diagonal(r, 1.0)
    return r


def _ordinal_survey(n: int, p: int, *, load=0.6, seed=0, k=5, weights=None,
                    groups: int = 0) -> Survey:
    """Ordinal items cut from a one-factor normal model (known structure)."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 1))
    x = load * f + np.sqrt(1 - load ** 2) * rng.normal(size=(n, p))
    idx = np.searchsorted(np.linspace(-1.2, 1.2, k - 1), x)
    items = [Item(f"Q{j + 1}", tuple(range(1, k + 1))) for j in range(p)]
    demo = pd.DataFrame({"grp": rng.integers(0, max(groups, 1), n)})
    return Survey.from_category_indices(idx, items, demographics=demo, weights=weights)


def _random_corr(rng: np.random.Generator, p: int, k: int = 2) -> np.ndarray:
    load = rng.uniform(-0.8, 0.8, size=(p, k)) / np.sqrt(k)
    r = load @ load.T
    np.fill_diagonal(r, 1.0)
    return r


# ----------------------------------------------------------------------------------------
# Jennrich and Steiger: hand-worked cases


def test_jennrich_p2_equals_wald_test_of_one_correlation():
    # p = 2, n1 = n2: with m the pooled r and d = r1 - r2 the paper's statistic
    # reduces to c d^2 / (1 - m^2)^2, the Wald test with var(r) = (1 - rho^2)^2 / n;
    # psych's form multiplies it by (1 + m^4) / (1 + m^2) (derivation in docs/structure.md).
    r1 = np.array([[1, .6], [.6, 1]])
    r2 = np.array([[1, .2], [.2, 1]])
    c, m, d = 50.0, 0.4, 0.4
    expected = c * d ** 2 / (1 - m ** 2) ** 2
    assert jennrich_test(r1, r2, 100, 100).statistic == pytest.approx(expected, rel=1e-12)
    psych = jennrich_test(r1, r2, 100, 100, form="psych").statistic
    assert psych == pytest.approx(expected * (1 + m ** 4) / (1 + m ** 2), rel=1e-12)


def test_jennrich_identity_pooled_matrix():
    # R1 = [[1, r], [r, 1]], R2 = [[1, -r], [-r, 1]], n1 = n2 = n: pooled R = I, diag(Z) = 0,
    # chi2 = tr(Z^2) / 2 = 2 n r^2 for both forms.
    r, n = 0.3, 100
    r1 = np.array([[1, r], [r, 1]])
    r2 = np.array([[1, -r], [-r, 1]])
    for form in ("jennrich1970", "psych"):
        res = jennrich_test(r1, r2, n, n, form=form)
        assert res.statistic == pytest.approx(2 * n * r * r, rel=1e-12)
        assert res.df == 1
        assert res.pvalue == pytest.approx(stats.chi2.sf(18.0, 1), rel=1e-12)


def test_steiger_hand_example():
    # (n - 3) (atanh .5 - atanh .3)^2 with n = 103 * 103 / 206 = 51.5
    res = steiger_test(np.array([[1, .5], [.5, 1]]), np.array([[1, .3], [.3, 1]]), 103, 103)
    expected = 48.5 * (np.arctanh(.5) - np.arctanh(.3)) ** 2
    assert res.statistic == pytest.approx(expected, rel=1e-12)
    assert res.df == 1


def test_jennrich_singular_pooled_matrix_is_reported_not_silent():
    r = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=float)
    res = jennrich_test(r, r, 100, 100)
    assert np.isnan(res.statistic) and np.isnan(res.pvalue)
    assert "singular" in res.note


def test_correlation_tests_validate_input():
    r = np.eye(3)
    with pytest.raises(ValueError, match="differ in size"):
        jennrich_test(r, np.eye(4), 100, 100)
    with pytest.raises(ValueError, match="above 3"):
        jennrich_test(r, r, 3, 100)
    with pytest.raises(ValueError, match="form"):
        jennrich_test(r, r, 100, 100, form="other")
    bad = r.copy()
    bad[0, 1] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        steiger_test(bad, r, 100, 100)


# ----------------------------------------------------------------------------------------
# R fixtures (psych 2.2.9)


def _cases():
    data = json.loads((FIXTURES / "cortest.json").read_text())
    return data["cases"]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["name"])
def test_against_psych_fixtures(case):
    r1, r2 = np.array(case["r1"]), np.array(case["r2"])
    n1, n2 = case["n1"], case["n2"]
    # psych prints with R's double precision; both sides use LAPACK solves: 1e-9 relative
    jp = jennrich_test(r1, r2, n1, n2, form="psych")
    assert jp.statistic == pytest.approx(case["jennrich_psych_chi2"], rel=1e-9)
    assert jp.pvalue == pytest.approx(case["jennrich_psych_p"], rel=1e-7, abs=1e-300)
    j70 = jennrich_test(r1, r2, n1, n2)
    assert j70.statistic == pytest.approx(case["jennrich1970_chi2"], rel=1e-9)
    sn = steiger_test(r1, r2, n1, n2)
    assert sn.statistic == pytest.approx(case["steiger_chi2"], rel=1e-9)
    assert sn.pvalue == pytest.approx(case["steiger_p"], rel=1e-7, abs=1e-300)
    assert sn.df == case["steiger_df"]


@pytest.mark.rlive
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed")
def test_against_psych_live(tmp_path):
    rng = np.random.default_rng(7)
    r1 = np.corrcoef(rng.multivariate_normal(np.zeros(5), _one_factor(5, .6), 300).T)
    r2 = np.corrcoef(rng.multivariate_normal(np.zeros(5), _one_factor(5, .5), 200).T)
    np.savetxt(tmp_path / "r1.csv", r1, delimiter=",")
    np.savetxt(tmp_path / "r2.csv", r2, delimiter=",")
    script = (
        "suppressPackageStartupMessages(library(psych));"
        f"a <- as.matrix(read.csv('{tmp_path / 'r1.csv'}', header=FALSE));"
        f"b <- as.matrix(read.csv('{tmp_path / 'r2.csv'}', header=FALSE));"
        "j <- cortest.jennrich(a, b, n1=300, n2=200);"
        "s <- cortest.normal(a, b, n1=300, n2=200);"
        "cat(sprintf('%.15g %.15g', j$chi2, s$chi2))"
    )
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True)
    j_r, s_r = (float(v) for v in out.stdout.split())
    # the CSV round trip keeps 18 significant digits; both sides solve with LAPACK
    assert jennrich_test(r1, r2, 300, 200, form="psych").statistic == pytest.approx(j_r, rel=1e-9)
    assert steiger_test(r1, r2, 300, 200).statistic == pytest.approx(s_r, rel=1e-9)


def test_psych_form_is_miscalibrated_and_paper_form_is_not():
    # Under the null with correlated items psych's statistic rejects too often; the
    # paper's does not. 400 replications of p = 8 items loading .7 on one factor,
    # n = 200 vs 100, Pearson correlations of normal data.
    rng = np.random.default_rng(3)
    p, n1, n2, reps = 8, 200, 100, 400
    sig = _one_factor(p, .7)
    x1 = rng.multivariate_normal(np.zeros(p), sig, size=(reps, n1))
    x2 = rng.multivariate_normal(np.zeros(p), sig, size=(reps, n2))
    r1 = np.stack([np.corrcoef(a.T) for a in x1])
    r2 = np.stack([np.corrcoef(a.T) for a in x2])
    crit = stats.chi2.isf(0.05, p * (p - 1) / 2)
    rate70 = np.mean(jennrich_statistic(r1, r2, n1, n2) > crit)
    rate_psych = np.mean(jennrich_statistic(r1, r2, n1, n2, form="psych") > crit)
    # binomial sd of a rate near .05 over 400 replications is .011: [.02, .09] is ~3.5 sd
    assert 0.02 <= rate70 <= 0.09
    assert rate_psych > 0.15


# ----------------------------------------------------------------------------------------
# batched statistics agree with one-at-a-time


def test_batched_statistics_match_single():
    rng = np.random.default_rng(0)
    g = np.stack([_random_corr(rng, 6) for _ in range(4)])
    s = np.stack([_random_corr(rng, 6) for _ in range(4)])
    batch = jennrich_statistic(g, s, 300, 200)
    single = [jennrich_test(a, b, 300, 200).statistic for a, b in zip(g, s)]
    np.testing.assert_allclose(batch, single, rtol=1e-12)
    np.testing.assert_allclose(steiger_statistic(g, s, 300, 200),
                               [steiger_test(a, b, 300, 200).statistic for a, b in zip(g, s)],
                               rtol=1e-12)
    mask = np.ones(15, dtype=bool)
    stats_b = _matrix_statistics(g, s, sign_mask=mask, correlation=True, n_eigen=3,
                                 tests=(300, 200, "jennrich1970"))
    for i in range(4):
        one = _matrix_statistics(g[i], s[i], sign_mask=mask, correlation=True, n_eigen=3,
                                 tests=(300, 200, "jennrich1970"))
        for k, v in one.items():
            np.testing.assert_allclose(stats_b[k][i], v, rtol=1e-10, err_msg=k)


def test_matrix_statistics_known_values():
    g = np.array([[1, .5, .3], [.5, 1, .4], [.3, .4, 1]])
    s = np.array([[1, .2, .3], [.2, 1, .1], [.3, .1, 1]])
    out = _matrix_statistics(g, s, sign_mask=np.ones(3, bool), correlation=True, n_eigen=3,
                             tests=None)
    d = np.array([-.3, 0, -.3])
    assert out["rmse"] == pytest.approx(np.sqrt(np.mean(d ** 2)))
    assert out["mae"] == pytest.approx(0.2)
    assert out["max_abs_diff"] == pytest.approx(0.3)
    assert out["frobenius"] == pytest.approx(np.linalg.norm(s - g))
    assert out["pearson"] == pytest.approx(stats.pearsonr([.5, .3, .4], [.2, .3, .1])[0])
    assert out["spearman"] == pytest.approx(stats.spearmanr([.5, .3, .4], [.2, .3, .1])[0])
    assert out["sign_agreement"] == 1.0
    ev = np.linalg.eigvalsh(g)[::-1]
    assert out["pc1_share_gold"] == pytest.approx(ev[0] / 3)
    assert out["effective_dependence_gold"] == pytest.approx(1 - np.linalg.det(g) ** (1 / 3))
    assert out["eigenvalue_2_gold"] == pytest.approx(ev[1])


# ----------------------------------------------------------------------------------------
# hypothesis: zero for identical inputs, symmetric where they should be


corr_seeds = st.integers(min_value=0, max_value=2 ** 31 - 1)


@settings(max_examples=30, deadline=None)
@given(seed=corr_seeds, p=st.integers(3, 9))
def test_identical_inputs_give_zero(seed, p):
    r = _random_corr(np.random.default_rng(seed), p)
    out = _matrix_statistics(r, r, sign_mask=np.abs(r[np.triu_indices(p, 1)]) > 0.05,
                             correlation=True, n_eigen=2, tests=(500, 300, "jennrich1970"))
    for k in ("rmse", "mae", "max_abs_diff", "frobenius", "pc1_share_diff",
              "effective_dependence_diff", "jennrich", "steiger"):
        assert abs(out[k]) < 1e-9, k
    assert out["pearson"] == pytest.approx(1.0)
    if "sign_agreement" in out:
        assert out["sign_agreement"] == 1.0


@settings(max_examples=30, deadline=None)
@given(seed=corr_seeds, p=st.integers(3, 9), n1=st.integers(10, 2000), n2=st.integers(10, 2000))
def test_symmetry(seed, p, n1, n2):
    rng = np.random.default_rng(seed)
    a, b = _random_corr(rng, p), _random_corr(rng, p)
    ab = _matrix_statistics(a, b, sign_mask=None, correlation=True, n_eigen=2, tests=None)
    ba = _matrix_statistics(b, a, sign_mask=None, correlation=True, n_eigen=2, tests=None)
    for k in ("rmse", "mae", "max_abs_diff", "frobenius", "pearson", "spearman"):
        assert ab[k] == pytest.approx(ba[k], rel=1e-10, abs=1e-12), k
    assert ab["pc1_share_diff"] == pytest.approx(-ba["pc1_share_diff"], abs=1e-12)
    # the tests are symmetric when the samples swap with their sizes
    assert jennrich_statistic(a, b, n1, n2) == pytest.approx(jennrich_statistic(b, a, n2, n1),
                                                             rel=1e-8)
    assert steiger_statistic(a, b, n1, n2) == pytest.approx(steiger_statistic(b, a, n2, n1),
                                                            rel=1e-12)
    assert jennrich_statistic(a, b, n1, n2) >= -1e-8


# ----------------------------------------------------------------------------------------
# Mantel


def _brute_force_mantel(a, b):
    p = a.shape[0]
    iu = np.triu_indices(p, 1)
    obs = np.corrcoef(a[iu], b[iu])[0, 1]
    count = 0
    total = 0
    for perm in itertools.permutations(range(p)):
        bp = b[np.ix_(perm, perm)]
        count += np.corrcoef(a[iu], bp[iu])[0, 1] >= obs - 1e-12
        total += 1
    return obs, count / total


def test_mantel_exact_matches_brute_force():
    rng = np.random.default_rng(5)
    a, b = _random_corr(rng, 5), _random_corr(rng, 5)
    b = 0.5 * b + 0.5 * a  # some association
    obs, p_exact = _brute_force_mantel(a, b)
    res = mantel_test(a, b, n_perm=999)
    assert res.method == "exact"
    assert res.statistic == pytest.approx(obs, rel=1e-12)
    assert res.pvalue == pytest.approx(p_exact, rel=1e-12)
    # random permutations estimate the same p: 4000 draws, binomial sd <= .008
    approx = mantel_test(a, b, n_perm=4000 - 1, seed=1)
    assert approx.method == "exact"  # 5! = 120 <= 3999: still enumerated
    b6 = _random_corr(rng, 7)
    a6 = 0.6 * b6 + 0.4 * _random_corr(rng, 7)
    _, p6 = _brute_force_mantel(a6, b6)
    mc = mantel_test(a6, b6, n_perm=4000, seed=2)
    assert mc.method == "permutation"
    assert mc.pvalue == pytest.approx(p6, abs=0.03)  # 7! = 5040 exact vs 4000 draws
    # settings record the integer seed of random permutations (None when enumerated)
    assert mc.settings["seed"] == 2 and res.settings["seed"] is None
    fresh = mantel_test(a6, b6, n_perm=200)
    assert mantel_test(a6, b6, n_perm=200, seed=fresh.settings["seed"]).pvalue == fresh.pvalue
    assert mc.notes == () and mantel_test(np.full((3, 3), .5) + .5 * np.eye(3), a6[:3, :3],
                                          n_perm=2).notes


def test_mantel_spearman_and_alternatives():
    rng = np.random.default_rng(6)
    a, b = _random_corr(rng, 6), _random_corr(rng, 6)
    iu = np.triu_indices(6, 1)
    res = mantel_test(a, b, method="spearman", n_perm=99, seed=0)
    assert res.statistic == pytest.approx(stats.spearmanr(a[iu], b[iu])[0], rel=1e-12)
    two = mantel_test(a, b, alternative="two-sided", n_perm=99, seed=0)
    assert 0 < two.pvalue <= 1
    with pytest.raises(ValueError, match="three variables"):
        mantel_test(np.eye(2), np.eye(2))
    with pytest.raises(ValueError, match="method"):
        mantel_test(a, b, method="kendall")


# ----------------------------------------------------------------------------------------
# per-pair tests


def test_pairwise_tests_formula_and_adjustment():
    r1 = np.array([[1, .5, .3], [.5, 1, .4], [.3, .4, 1]])
    r2 = np.array([[1, .2, .3], [.2, 1, .1], [.3, .1, 1]])
    tab = pairwise_difference_tests(r1, r2, n1=200, n2=150, names=["a", "b", "c"])
    se = np.sqrt(1 / 197 + 1 / 147)
    z = (np.arctanh([.2, .3, .1]) - np.arctanh([.5, .3, .4])) / se
    np.testing.assert_allclose(tab["z"], z, rtol=1e-12)
    pv = 2 * stats.norm.sf(np.abs(z))
    np.testing.assert_allclose(tab["pvalue"], pv, rtol=1e-12)
    # Holm by hand: sorted p times (m - i), running max, capped at 1
    order = np.argsort(pv)
    holm = np.minimum(1, np.maximum.accumulate(pv[order] * (3 - np.arange(3))))
    expected = np.empty(3)
    expected[order] = holm
    np.testing.assert_allclose(tab["p_holm"], expected, rtol=1e-12)
    np.testing.assert_allclose(tab["p_bh"], stats.false_discovery_control(pv), rtol=1e-12)
    assert list(tab["item_a"]) == ["a", "a", "b"]


# ----------------------------------------------------------------------------------------
# kernels


def test_cramers_v_batch_matches_scipy():
    rng = np.random.default_rng(0)
    n, ks = 400, [3, 4, 2]
    codes = np.stack([rng.integers(0, k, n) for k in ks], 1)
    codes[:, 1] = np.where(rng.random(n) < .5, codes[:, 0], codes[:, 1])
    codes[rng.random((n, 3)) < 0.1] = -1
    onehot = np.concatenate([(codes[:, [j]] == np.arange(k)) for j, k in enumerate(ks)], 1)
    item_of = np.repeat(np.arange(3), ks)
    counts = rng.multinomial(n, np.full(n, 1 / n), size=3).astype(float)
    with x64():  # a kernel called directly, outside popaudit's x64-scoped functions
        v = rs.cramers_v_batch(counts, onehot.astype(float), item_of, 3)
    for b in range(3):
        for i, j in itertools.combinations(range(3), 2):
            ok = (codes[:, i] >= 0) & (codes[:, j] >= 0)
            tab = np.zeros((ks[i], ks[j]), dtype=np.int64)
            np.add.at(tab, (codes[ok, i], codes[ok, j]), counts[b, ok].astype(np.int64))
            tab = tab[tab.sum(1) > 0][:, tab.sum(0) > 0]
            assert v[b, i, j] == pytest.approx(association(tab, method="cramer"), rel=1e-10)
            assert v[b, j, i] == v[b, i, j]
    assert np.all(v[:, np.arange(3), np.arange(3)] == 1)


def test_resampling_helpers_shapes_and_invariants():
    rng = np.random.default_rng(0)
    c = rs.bootstrap_counts(rng, 50, 7)
    assert c.shape == (7, 50) and np.all(c.sum(1) == 50)
    m = rs.multinomial_counts(rng, 20, np.r_[np.zeros(10), np.ones(40)], 5)
    assert np.all(m.sum(1) == 20) and np.all(m[:, :10] == 0)  # zero weight never drawn
    h = rs.half_split_masks(rng, 9, 4)
    assert np.all(h.sum(1) == 4)
    mat = np.arange(12.0).reshape(4, 3)
    sh = rs.column_shuffles(rng, mat, 6)
    assert np.all(np.sort(sh, axis=1) == mat[None])  # each column a permutation of itself


# ----------------------------------------------------------------------------------------
# bootstrap intervals


def test_bootstrap_interval_methods_on_known_draws():
    # draws = obs + bias + symmetric spread: shifted and basic agree, centred on obs - bias
    obs, bias = 0.5, 0.1
    draws = obs + bias + np.linspace(-0.2, 0.2, 4001)
    q_lo, q_hi = np.quantile(draws, [0.025, 0.975])
    for method in ("shifted", "basic"):
        ci = _bootstrap_interval("mae", obs, draws, 0.95, method, 5)
        assert ci["estimate"] == pytest.approx(obs - bias)
        assert ci["ci_low"] == pytest.approx(q_lo - 2 * bias)
        assert ci["ci_high"] == pytest.approx(q_hi - 2 * bias)
    pct = _bootstrap_interval("mae", obs, draws, 0.95, "percentile", 5)
    assert (pct["estimate"], pct["ci_low"], pct["ci_high"]) == (obs, q_lo, q_hi)
    # skewed draws: shifted keeps the long tail on the right, basic mirrors it to the left
    skew = obs + bias + stats.expon.ppf(np.linspace(0.0005, 0.9995, 2000)) * 0.05
    sh = _bootstrap_interval("mae", obs, skew, 0.95, "shifted", 5)
    ba = _bootstrap_interval("mae", obs, skew, 0.95, "basic", 5)
    assert sh["ci_high"] - sh["estimate"] > sh["estimate"] - sh["ci_low"]
    assert ba["ci_high"] - ba["estimate"] < ba["estimate"] - ba["ci_low"]


def test_bootstrap_interval_rmse_on_squared_scale_and_clipped():
    # RMSE: bias removed on the squared scale; an RMSE at its noise level gives 0 estimate
    v = 0.01
    draws = np.sqrt(2 * v + np.linspace(-0.002, 0.002, 1001))  # MSE* ~ MSE_hat + v
    ci = _bootstrap_interval("rmse", np.sqrt(v), draws, 0.95, "shifted", 5)
    assert ci["estimate"] == pytest.approx(0.0, abs=1e-6)  # sqrt of a rounding-level MSE
    assert ci["ci_low"] == 0.0 and ci["ci_high"] > 0
    assert ci["ci_method"] == "shifted (squared)"
    # correlations are clipped to [-1, 1]
    ci = _bootstrap_interval("pearson", 0.99, np.full(50, 0.9), 0.95, "shifted", 5)
    assert ci["ci_high"] == 1.0


# ----------------------------------------------------------------------------------------
# compare_correlations on matrices and polychoric results


def test_compare_matrices_needs_no_resampling():
    g = np.array([[1, .5, .3], [.5, 1, .4], [.3, .4, 1]])
    s = np.array([[1, .2, .3], [.2, 1, .1], [.3, .1, 1]])
    res = compare_correlations(g, s, n=(200, 150), n_perm=0)
    assert res.level == "individual"
    tab = res.to_frame()
    assert set(tab["level"]) == {"individual"}
    assert res.statistic("jennrich")["pvalue"] == pytest.approx(
        jennrich_test(g, s, 200, 150).pvalue)
    assert res.statistic("jennrich")["p_method"] == "asymptotic"
    assert np.isnan(res.statistic("rmse")["ci_low"])
    assert any("need Survey inputs" in x for x in res.notes)
    np.testing.assert_allclose(res.difference.to_numpy(), s - g)
    # without sample sizes: no tests, said so
    res2 = compare_correlations(g, s, n_perm=0)
    assert "jennrich" not in set(res2.to_frame()["statistic"])
    assert any("sample sizes unknown" in x for x in res2.notes)
    with pytest.raises(ValueError, match="permutation"):
        compare_correlations(g, s, n=(200, 150), test_pvalue="permutation")


def test_compare_polychoric_results_uses_their_n():
    gold = _ordinal_survey(600, 5, seed=1)
    sim = _ordinal_survey(300, 5, seed=2)
    pg, ps = polychoric(gold), polychoric(sim)
    res = compare_correlations(pg, ps, n_perm=99, seed=0)
    assert res.settings["n_gold"] == pytest.approx(600)
    assert res.settings["n_sim"] == pytest.approx(300)
    np.testing.assert_allclose(res.gold.to_numpy(), pg.corr.to_numpy())
    assert res.main.kind == "polychoric"
    assert res.pairs["se_method"].iloc[0] == "fisher"
    pse = compare_correlations(polychoric(gold, se=True), polychoric(sim, se=True),
                               n_perm=0)
    assert pse.pairs["se_method"].iloc[0] == "polychoric"


def test_bad_arguments():
    g = _ordinal_survey(100, 3, seed=0)
    with pytest.raises(ValueError, match="level='ecological'"):
        compare_correlations(g, g, by="grp")
    with pytest.raises(ValueError, match="needs by="):
        compare_correlations(g, g, level="ecological")
    with pytest.raises(ValueError, match="level must be"):
        compare_correlations(g, g, level="group")
    with pytest.raises(TypeError, match="both be Surveys"):
        compare_correlations(g, np.eye(3))
    other = _ordinal_survey(100, 4, seed=0)
    with pytest.raises(ValueError, match="different items"):
        compare_correlations(g, other)
    with pytest.raises(ValueError, match="floor"):
        compare_correlations(g, g, floor="bootstrap")
    with pytest.raises(ValueError, match="floor='independent'"):
        compare_correlations(g, g, test_pvalue="bootstrap", floor="resample")
    with pytest.raises(ValueError, match="n_perm > 0"):
        compare_correlations(g, g, test_pvalue="permutation", n_perm=0)
    with pytest.raises(ValueError, match="non-negative integer"):
        compare_correlations(g, g, n_boot=-1)


# ----------------------------------------------------------------------------------------
# compare_correlations on surveys (polychoric_batch under the hood)


# Survey tests share sizes (gold 400, sim 200, 5 items, 20 draws) so that the jit-compiled
# polychoric kernels are compiled once for the module.
N_DRAWS = 20


@pytest.fixture(scope="module")
def two_samples():
    gold = _ordinal_survey(400, 5, seed=11)
    sim = _ordinal_survey(200, 5, seed=12)
    return gold, sim


def test_survey_comparison_end_to_end(two_samples):
    gold, sim = two_samples
    res = compare_correlations(gold, sim, n_boot=N_DRAWS, n_null=N_DRAWS, n_perm=199, seed=0)
    tab = res.to_frame()
    assert list(tab.columns[:5]) == ["level", "matrix", "statistic", "direction", "value"]
    assert {"rmse", "pearson", "jennrich", "steiger", "mantel", "pair_tests_holm"} <= set(
        tab["statistic"])
    rmse = res.statistic("rmse")
    assert rmse["floor_median"] > 0 and rmse["floor_high"] > rmse["floor_median"]
    assert 0 < rmse["floor_p"] <= 1
    assert rmse["ci_low"] <= rmse["estimate"] <= rmse["ci_high"]
    pear = res.statistic("pearson")
    assert np.isnan(pear["floor_high"]) and pear["floor_low"] <= pear["floor_median"]
    # the default reference for Survey inputs: permutations of the pooled respondents
    # (issue 15: exact; the bootstrap reference of Jennrich's statistic is conservative)
    assert res.settings["test_pvalue"] == "permutation"
    assert res.statistic("jennrich")["p_method"] == "permutation (199)"
    assert any("199 permutations" in n for n in res.notes)
    # draws for figures
    assert res.main.bootstrap["rmse"].shape == (N_DRAWS,)
    assert res.main.floor["rmse"].shape == (N_DRAWS,)
    assert res.items["rank"].tolist() == [1, 2, 3, 4, 5]
    assert res.items["mean_abs_deviation"].is_monotonic_decreasing
    assert len(res.pairs) == 10 and res.pairs["se_method"].iloc[0] == "bootstrap"
    assert set(res.spectrum["population"]) == {"gold", "sim"}
    assert res.gold_fit is not None and "rmse" in repr(res)
    # the observed value matches the statistics of the stored matrices
    d = (res.sim - res.gold).to_numpy()[np.triu_indices(5, 1)]
    assert rmse["value"] == pytest.approx(np.sqrt(np.mean(d ** 2)))


def test_sign_threshold_ci_and_ci_methods(two_samples):
    gold, sim = two_samples
    res = compare_correlations(gold, sim, n_boot=N_DRAWS, n_null=N_DRAWS, n_perm=0, seed=0,
                               sign_threshold="ci", ci_method="percentile")
    row = res.statistic("sign_agreement")
    assert 0 <= row["value"] <= 1 and row["ci_method"] == "percentile"
    assert res.statistic("rmse")["estimate"] == res.statistic("rmse")["value"]
    assert res.settings["ci_method"] == "percentile"
    with pytest.raises(ValueError, match="sign_threshold"):
        compare_correlations(gold, sim, sign_threshold="large")
    with pytest.raises(ValueError, match="ci_method"):
        compare_correlations(gold, sim, ci_method="bca")


def test_same_seed_same_result(two_samples):
    gold, sim = two_samples
    a = compare_correlations(gold, sim, n_boot=N_DRAWS, n_null=N_DRAWS, n_perm=49,
                             seed=3).to_frame()
    b = compare_correlations(gold, sim, n_boot=N_DRAWS, n_null=N_DRAWS, n_perm=49,
                             seed=3).to_frame()
    pd.testing.assert_frame_equal(a, b)


def test_identical_survey_sits_at_zero(two_samples):
    gold, _ = two_samples
    res = compare_correlations(gold, gold, n_boot=N_DRAWS, n_null=N_DRAWS, n_perm=0, seed=0)
    assert res.statistic("rmse")["value"] == 0
    assert res.statistic("rmse")["floor_p"] == 1.0  # every floor draw is >= 0
    assert res.statistic("pearson")["value"] == pytest.approx(1.0)
    assert not res.statistic("rmse")["beyond_floor"]


def test_floor_resample_vs_independent(two_samples):
    gold, sim = two_samples
    ind = compare_correlations(gold, sim, n_boot=N_DRAWS, n_null=N_DRAWS, n_perm=0, seed=1)
    res = compare_correlations(gold, sim, n_boot=N_DRAWS, n_null=N_DRAWS, n_perm=0, seed=1,
                               floor="resample")
    # the independent floor adds gold's own sampling noise: a wider floor
    assert ind.statistic("rmse")["floor_median"] > res.statistic("rmse")["floor_median"]
    assert res.settings["floor"] == "resample"


def test_permutation_pvalue(two_samples):
    gold, sim = two_samples
    res = compare_correlations(gold, sim, n_boot=0, n_null=0, n_perm=N_DRAWS,
                               test_pvalue="permutation", seed=0)
    row = res.statistic("jennrich")
    assert row["p_method"] == f"permutation ({N_DRAWS})"
    assert 1 / (N_DRAWS + 1) <= row["pvalue"] <= 1
    assert "asymptotic p" in row["note"]


def test_weighted_survey_uses_kish_sizes(two_samples):
    _, sim = two_samples
    w = np.r_[np.full(200, 0.5), np.full(200, 1.5)]
    gold = _ordinal_survey(400, 5, seed=3, weights=w)
    res = compare_correlations(gold, sim, n_boot=N_DRAWS, n_null=N_DRAWS, n_perm=0, seed=0)
    kish = w.sum() ** 2 / np.sum(w ** 2)
    assert res.settings["n_gold"] == pytest.approx(kish)
    np.testing.assert_allclose(res.gold.to_numpy(), polychoric(gold).corr.to_numpy())


def test_nominal_items_get_cramers_v():
    rng = np.random.default_rng(0)
    n = 500
    a = rng.integers(0, 3, n)
    b = np.where(rng.random(n) < .6, a, rng.integers(0, 3, n))
    c = rng.integers(0, 4, n)
    o = rng.integers(0, 5, n)
    items = [Item("Q1", (1, 2, 3, 4, 5)), Item("N1", (1, 2, 3), kind="nominal"),
             Item("N2", (1, 2, 3), kind="nominal"), Item("N3", (1, 2, 3, 4), kind="nominal")]
    gold = Survey.from_category_indices(np.column_stack([o, a, b, c]), items)
    sim_idx = gold.category_indices().copy()
    sim_idx[:, 1] = rng.permutation(sim_idx[:, 1])  # break N1-N2
    sim = Survey.from_category_indices(sim_idx, items)
    res = compare_correlations(gold, sim, n_boot=N_DRAWS, n_null=N_DRAWS, n_perm=0, seed=0)
    v = res.nominal
    assert v is not None and v is res.main and list(v.gold.index) == ["N1", "N2", "N3"]
    tab = np.zeros((3, 3), dtype=np.int64)
    np.add.at(tab, (a, b), 1)
    assert v.gold.loc["N1", "N2"] == pytest.approx(association(tab, method="cramer"), rel=1e-10)
    assert set(v.items.iloc[:2]["item"]) == {"N1", "N2"}
    assert v.statistics.set_index("statistic").loc["max_abs_diff", "beyond_floor"]
    assert set(res.to_frame()["matrix"]) == {"cramers_v"}
    assert any("only one ordinal/binary item" in x for x in res.notes)


# ----------------------------------------------------------------------------------------
# ecological level


def _ecological_case():
    """Four groups whose members all answer the same: group means known exactly."""
    means = np.array([[1, 2, 4], [2, 1, 3], [3, 4, 2], [5, 5, 1]])  # groups x items, codes 1..5
    rows, groups = [], []
    for gi, m in enumerate(means):
        for _ in range(4):
            rows.append(m - 1)
            groups.append(f"g{gi}")
    items = [Item(f"Q{j + 1}", (1, 2, 3, 4, 5)) for j in range(3)]
    demo = pd.DataFrame({"grp": groups})
    gold = Survey.from_category_indices(np.array(rows), items, demographics=demo)
    return gold, means


def test_ecological_known_group_means():
    gold, means = _ecological_case()
    sim_means = np.array([[1, 1, 5], [2, 3, 3], [4, 4, 2], [5, 4, 1]])
    rows = np.repeat(sim_means - 1, 3, axis=0)
    demo = pd.DataFrame({"grp": np.repeat([f"g{i}" for i in range(4)], 3)})
    sim = Survey.from_category_indices(rows, gold.items, demographics=demo)
    res = compare_correlations(gold, sim, level="ecological", by="grp", n_boot=20, n_null=50,
                               n_perm=0, seed=0)
    assert res.level == "ecological" and set(res.to_frame()["level"]) == {"ecological"}
    assert res.settings["ci_method"] == "percentile"  # the study's intervals
    # 4 groups, 3 items: the matrices are full rank here; effective dependence is defined
    assert np.isfinite(res.statistic("effective_dependence_gold")["value"])
    scaled = (means - 1) / 4  # rescaled to [0, 1]
    np.testing.assert_allclose(res.main.extra["gold_means"].to_numpy(), scaled)
    np.testing.assert_allclose(res.gold.to_numpy(), np.corrcoef(means.T), atol=1e-12)
    np.testing.assert_allclose(res.sim.to_numpy(), np.corrcoef(sim_means.T), atol=1e-12)
    iu = np.triu_indices(3, 1)
    g, s = np.corrcoef(means.T)[iu], np.corrcoef(sim_means.T)[iu]
    assert res.statistic("rmse")["value"] == pytest.approx(np.sqrt(np.mean((g - s) ** 2)))
    assert res.statistic("pearson")["value"] == pytest.approx(np.corrcoef(g, s)[0, 1])
    # every member of a group answers alike: each half has the group's mean, so the
    # split-half ceiling is exact agreement, and bootstrapping the sim changes nothing
    assert res.statistic("rmse")["ceiling_median"] == pytest.approx(0, abs=1e-12)
    assert res.statistic("pearson")["ceiling_low"] == pytest.approx(1)
    assert np.allclose(res.main.bootstrap["rmse"], res.statistic("rmse")["value"])
    # permutation null: shuffled columns of the gold means, 50 draws
    assert res.main.null["rmse"].shape == (50,)
    assert np.isfinite(res.statistic("pearson")["null_median"])


def test_ecological_permutation_null_is_exact_shuffle():
    gold, _ = _ecological_case()
    res = compare_correlations(gold, gold, level="ecological", by="grp", n_boot=0, n_null=200,
                               n_perm=0, seed=1)
    # identical populations sit at the top of the null and at the ceiling
    assert res.statistic("rmse")["value"] == 0
    assert res.statistic("pearson")["null_p"] == pytest.approx(
        (1 + np.sum(res.main.null["pearson"] >= 1 - 1e-12)) / 201)
    # the null's correlations are those of the shuffled gold means
    assert res.main.null["rmse"].min() >= 0


def test_ecological_dict_groups_overlap_and_constant_items():
    gold = _ordinal_survey(600, 4, seed=2, groups=4)
    sim = _ordinal_survey(300, 4, seed=3, groups=4)
    by = {"a": lambda d: d["grp"] <= 1, "b": lambda d: d["grp"] >= 1,
          "c": lambda d: d["grp"] == 2, "d": lambda d: d["grp"] != 2}
    res = compare_correlations(gold, sim, level="ecological", by=by, n_boot=10, n_null=10,
                               n_perm=0, seed=0)
    assert list(res.main.extra["group_sizes"].index) == ["a", "b", "c", "d"]
    assert res.main.extra["group_sizes"]["gold"].sum() > 600  # overlapping groups
    with pytest.raises(ValueError, match="at least 3 subgroups"):
        compare_correlations(gold, sim, level="ecological", by={"a": by["a"], "b": by["b"]})
    with pytest.raises(ValueError, match="boolean array"):
        compare_correlations(gold, sim, level="ecological",
                             by={"a": (np.ones(3), np.ones(3)), "b": by["b"], "c": by["c"]})


# ----------------------------------------------------------------------------------------
# the headline: marginals perfect, structure gone


_HAVE_DATASETS = importlib.util.find_spec("popaudit.datasets.simulators") is not None


@pytest.mark.slow
@pytest.mark.skipif(not _HAVE_DATASETS, reason="popaudit.datasets (wvs_like, shuffled) missing")
def test_headline_shuffled_vs_second_sample():
    from popaudit.datasets import shuffled, wvs_like

    gold = wvs_like(n=1500, seed=0)
    sim = shuffled(gold, seed=1)
    # every marginal is exact: marginal metrics sit at their floor of 0 (W1 and TV to
    # rounding; the JS *distance* is a square root, so a 1e-16 divergence reads 1e-8)
    summ = pa.compare_marginals(gold, sim).summary.set_index("metric")["max"].abs()
    assert summ.loc[["w1_norm", "total_variation"]].max() < 1e-12
    assert summ.loc[["js_distance"]].max() < 1e-6
    res = compare_correlations(gold, sim, n_boot=100, n_null=100, n_perm=199, seed=0)
    poly = res.to_frame().query("matrix == 'polychoric'").set_index("statistic")
    for stat in ("rmse", "mae", "max_abs_diff", "frobenius", "pearson", "spearman",
                 "sign_agreement", "pc1_share_diff", "effective_dependence_diff", "jennrich",
                 "steiger"):
        assert poly.loc[stat, "beyond_floor"], stat
        assert poly.loc[stat, "floor_p"] < 0.02, stat
    assert poly.loc["jennrich", "pvalue"] < 0.01
    assert poly.loc["pair_tests_holm", "value"] > 50
    # a second sample of the same generator: nothing rejects, nothing beyond its floor
    second = wvs_like(n=1500, seed=1)
    res2 = compare_correlations(gold, second, n_boot=100, n_null=100, n_perm=199, seed=0)
    poly2 = res2.to_frame().query("matrix == 'polychoric'").set_index("statistic")
    for stat in ("rmse", "mae", "pearson", "spearman", "pc1_share_diff", "jennrich"):
        assert not poly2.loc[stat, "beyond_floor"], stat
    for stat in ("jennrich", "steiger", "pair_tests_holm", "pair_tests_bh"):
        assert poly2.loc[stat, "pvalue"] > 0.05, stat


def test_non_positive_definite_polychoric_matrix_is_said_and_never_gives_p_one():
    """Pairwise-missing answers can give a polychoric matrix that is not positive definite
    (real records: 250 respondents, 25 items, minimum eigenvalue -0.008). Then: a warning and
    a note with the minimum eigenvalue; effective dependence NaN with its reason; Jennrich's
    test NaN with its reason, never a bootstrap p of 1.0 from a reference without draws."""
    from popaudit.structure.comparison import _test_pvalue

    rng = np.random.default_rng(0)

    def block(n, r):
        z = rng.multivariate_normal([0, 0], [[1, r], [r, 1]], size=n)
        return np.digitize(z, [-0.5, 0.5]) + 1

    n = 120   # three groups, each answering two of x0..x2: +.9, +.9 and -.9 cannot coexist
    X = np.full((3 * n, 4), np.nan)
    X[:n, [0, 1]], X[n:2 * n, [1, 2]], X[2 * n:, [0, 2]] = block(n, .9), block(n, .9), \
        block(n, -.9)
    X[:, 3] = rng.integers(1, 4, 3 * n)
    names = [f"x{j}" for j in range(4)]
    items = [pa.Item(nm, codes=(1, 2, 3)) for nm in names]
    gold = pa.Survey(pd.DataFrame(X, columns=names), items)
    z = rng.multivariate_normal(np.zeros(4), 0.3 + 0.7 * np.eye(4), size=600)
    sim = pa.Survey(pd.DataFrame(np.digitize(z, [-0.5, 0.5]) + 1, columns=names), items)
    min_eig = np.linalg.eigvalsh(pa.polychoric(gold).corr.to_numpy())[0]
    assert min_eig < -0.5
    with pytest.warns(UserWarning, match=rf"the gold matrix is not positive definite \(minimum "
                                         rf"eigenvalue {min_eig:.3g}\)"):
        res = pa.compare_correlations(gold, sim, n_boot=20, n_null=20, seed=0,
                                      test_pvalue="bootstrap")
    assert any(f"minimum eigenvalue {min_eig:.3g}" in n for n in res.notes)
    tab = res.to_frame().set_index("statistic")
    assert np.isnan(tab.loc["effective_dependence_gold", "value"])
    assert "not positive definite" in tab.loc["effective_dependence_gold", "note"]
    assert np.isnan(tab.loc["jennrich", "value"]) and np.isnan(tab.loc["jennrich", "pvalue"])
    assert "not positive definite" in tab.loc["jennrich", "note"]
    # a reference distribution without (enough) defined draws gives no p-value at all
    out = _test_pvalue("jennrich", 890.7, 6.0, "bootstrap", np.full(50, np.nan), None)
    assert np.isnan(out["pvalue"]) and "only 0 of 50 resamples" in out["note"]
    out = _test_pvalue("jennrich", 3.0, 6.0, "bootstrap", np.r_[np.full(30, np.nan),
                                                                np.arange(20.0)], None)
    assert np.isnan(out["pvalue"])


def test_a_shared_cache_reuses_gold_draws_and_changes_no_number():
    import popaudit as pa

    gold = pa.datasets.wvs_like(n=500, seed=0).select(["Q6", "Q8", "Q14", "Q45", "Q46", "Q164"])
    sims = [pa.datasets.shuffled(gold, seed=1), pa.datasets.persona_like(gold, seed=2)]
    kw = {"n_boot": 6, "n_null": 5, "seed": 3}
    cache: dict = {}
    for sim in sims:
        alone = pa.compare_correlations(gold, sim, **kw)
        shared = pa.compare_correlations(gold, sim, **kw, cache=cache)
        pd.testing.assert_frame_equal(alone.to_frame(), shared.to_frame())
        np.testing.assert_array_equal(alone.main.floor["rmse"], shared.main.floor["rmse"])
    assert len(cache) == 1   # gold's fit, bootstrap and floor draws computed once
    (gold_side,) = cache.values()
    assert gold_side["boot"].shape == (6, 6, 6) and not gold_side["floor_sim"].flags.writeable
    pa.compare_correlations(gold, sims[0], **{**kw, "n_null": 4}, cache=cache)
    assert len(cache) == 2   # other draw counts, other key


def _maxt_by_loop(t_obs, t_perm):
    """Westfall-Young step-down max-T written as the book's loop (algorithm 4.1)."""
    m, n_perm = t_obs.size, t_perm.shape[0]
    order = sorted(range(m), key=lambda i: -t_obs[i])
    p_sorted, running = [], 0.0
    for k, i in enumerate(order):
        rest = order[k:]
        count = sum(max(t_perm[b, j] for j in rest) >= t_obs[i] for b in range(n_perm))
        running = max(running, (count + 1) / (n_perm + 1))
        p_sorted.append(running)
    out = np.empty(m)
    out[order] = p_sorted
    return out


def test_permutation_pair_tests_match_the_plain_algorithm():
    from popaudit.structure.comparison import _upper, permutation_pair_tests

    rng = np.random.default_rng(3)
    p, n_perm = 5, 39

    def corr():
        a = rng.normal(size=(60, p))
        return np.corrcoef(a, rowvar=False)

    g, s = corr(), corr()
    pg = np.stack([corr() for _ in range(n_perm)])
    ps = np.stack([corr() for _ in range(n_perm)])
    p_perm, p_maxt = permutation_pair_tests(g, s, pg, ps)
    d = np.arctanh(_upper(s)) - np.arctanh(_upper(g))
    dp = np.arctanh(_upper(ps)) - np.arctanh(_upper(pg))
    sd = np.vstack([dp, d]).std(axis=0, ddof=1)   # observed labelling included
    t_obs, t_perm = np.abs(d) / sd, np.abs(dp) / sd
    np.testing.assert_allclose(p_perm, ((t_perm >= t_obs).sum(0) + 1) / (n_perm + 1))
    np.testing.assert_allclose(p_maxt, _maxt_by_loop(t_obs, t_perm))
    # adjusted >= raw, both in [1/(B+1), 1]; the most significant pair's adjusted p is the
    # single-step one (max over all pairs)
    assert np.all(p_maxt >= p_perm) and p_perm.min() >= 1 / (n_perm + 1) and p_maxt.max() <= 1
    top = np.argmax(t_obs)
    assert p_maxt[top] == ((t_perm.max(1) >= t_obs[top]).sum() + 1) / (n_perm + 1)


def test_maxt_pair_tests_in_survey_comparisons():
    import popaudit as pa

    gold = pa.datasets.wvs_like(n=600, seed=0).select(["Q6", "Q8", "Q14", "Q17", "Q45", "Q46"])
    shuffled = pa.datasets.shuffled(gold, seed=1)
    res = pa.compare_correlations(gold, shuffled, n_boot=10, n_null=10, n_perm=39, seed=0)
    row = res.statistic("pair_tests_maxt")
    pairs = res.pairs
    assert row["value"] == (pairs["p_maxt"] < 0.05).sum() >= 1   # structure destroyed
    assert row["pvalue"] == pytest.approx(1 / 40)
    assert (pairs["p_maxt"] >= pairs["p_perm"]).all()
    # matrices without respondents have no permutations, so no such test
    mats = pa.compare_correlations(res.main.gold, res.main.sim, n=(600, 600), n_perm=0)
    assert "p_maxt" not in mats.pairs and "pair_tests_maxt" not in set(
        mats.main.statistics["statistic"])


def test_maxt_holds_its_level_under_the_null():
    # a seeded calibration cell (about 2 s): two groups of one Gaussian population, Pearson
    # correlations, 19 permutations (exact level 1/20 = 0.05). Scaling each pair by the
    # permuted labellings alone (not the observed one) gave 0.136 here; this 0.035.
    from popaudit.structure.comparison import permutation_pair_tests

    rng = np.random.default_rng(11)
    p, n, n_perm, reps = 6, 40, 19, 1000
    chol = np.linalg.cholesky(0.3 * np.ones((p, p)) + 0.7 * np.eye(p))
    hits = 0
    for _ in range(reps):
        x = rng.standard_normal((2 * n, p)) @ chol.T
        labs = np.argsort(rng.random((n_perm, 2 * n)), axis=1)
        pg = np.stack([np.corrcoef(x[lab[:n]], rowvar=False) for lab in labs])
        ps = np.stack([np.corrcoef(x[lab[n:]], rowvar=False) for lab in labs])
        _, p_maxt = permutation_pair_tests(np.corrcoef(x[:n], rowvar=False),
                                           np.corrcoef(x[n:], rowvar=False), pg, ps)
        hits += p_maxt.min() <= 0.05
    assert 0.025 <= hits / reps <= 0.075   # binomial sd 0.007 at 0.05
