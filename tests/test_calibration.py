"""A small calibration cell in CI (issue 15): the default p-values of compare_correlations hold
their level on survey-like data - a mixture of groups, missing answers, survey weights - when
the two populations are random halves of one sample.

The full study is ``benchmarks/calibration.py`` (tables and QQ plots in docs/validity.md).
This cell is seeded and small (p = 6 items, halves of 150, 39 permutations, 50 replications;
a few seconds), yet it fails when the default reference stops being exchangeable (labels
drawn without the weights, missing answers or group mixture travelling with the respondent)
and it tells a miscalibrated reference apart: the asymptotic chi-square p-values of the same
statistics fail the same check.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

import popaudit as pa

P, N_HALF, N_PERM, REPS = 6, 150, 39, 50


def _survey_like(rng: np.random.Generator, n: int) -> pa.Survey:
    """Two groups with different item intercepts and loadings, 10 % of answers missing at
    random by respondent, log-normal weights (design effect ~1.5)."""
    grp = rng.random(n) < 0.4
    lam = np.where(grp[:, None], 0.75, 0.5) * np.linspace(1.0, 0.7, P)[None, :]
    f = rng.standard_normal((n, 1))
    y = f * lam + rng.standard_normal((n, P)) * np.sqrt(1 - lam ** 2) \
        + np.where(grp[:, None], 0.6, -0.2)
    idx = np.digitize(y, [-0.4, 0.5]).astype(np.int16)
    prop = np.exp(rng.normal(0, 0.5, n))[:, None] * 0.1 / np.exp(0.125)
    idx[rng.random((n, P)) < prop] = -1
    w = np.exp(rng.normal(0, 0.64, n))
    items = [pa.Item(f"q{j}", (1, 2, 3)) for j in range(P)]
    return pa.Survey.from_category_indices(idx, items, weights=w / w.mean())


def _uniform_ks(p: np.ndarray, n_draws: int | None, rng) -> float:
    """KS p-value of uniformity; resampling p-values (k + 1)/(B + 1) are spread over their
    step first (exactly uniform for an exact test)."""
    p = np.asarray(p, float)
    if n_draws is not None:
        p = p - rng.random(p.size) / (n_draws + 1)
    return stats.kstest(p, "uniform").pvalue


@pytest.fixture(scope="module")
def halves_cell():
    rng = np.random.default_rng(20260515)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(REPS):
            base = _survey_like(rng, 2 * N_HALF)
            cut = rng.permutation(2 * N_HALF)
            gold, sim = base.subset(np.sort(cut[:N_HALF])), base.subset(np.sort(cut[N_HALF:]))
            res = pa.compare_correlations(gold, sim, n_boot=0, n_null=0, n_perm=N_PERM,
                                          seed=rng)
            t = res.main.statistics.set_index("statistic")
            rows.append({"settings": res.settings["test_pvalue"],
                         **{f"{s}_{c}": t.loc[s, c] for s in ("jennrich", "steiger")
                            for c in ("pvalue", "value", "df", "p_method")}})
    return rows


def test_default_is_the_permutation_reference(halves_cell):
    assert {r["settings"] for r in halves_cell} == {"permutation"}
    assert all(r["jennrich_p_method"].startswith("permutation") for r in halves_cell)


def test_permutation_pvalues_are_exact_resampling_pvalues(halves_cell):
    # (count + 1) / (n + 1): never 0, on the grid of the defined permutation draws
    for r in halves_cell:
        for s in ("jennrich", "steiger"):
            p = r[f"{s}_pvalue"]
            m = int(r[f"{s}_p_method"].split("(")[1].split(")")[0])
            assert m <= N_PERM and m >= N_PERM / 2
            k = p * (m + 1) - 1
            assert 0 <= round(k) <= m and abs(k - round(k)) < 1e-9


def test_permutation_pvalues_of_random_halves_are_uniform(halves_cell):
    rng = np.random.default_rng(1)
    for s in ("jennrich", "steiger"):
        p = np.array([r[f"{s}_pvalue"] for r in halves_cell])
        assert np.isfinite(p).all()
        assert _uniform_ks(p, N_PERM, rng) > 0.01, s
        # level: 5 % of 50 plus binomial slack (upper 99.9 % point of Bin(50, .05): 8)
        assert np.sum(p <= 0.05) <= 8, s


def test_the_check_catches_a_miscalibrated_reference(halves_cell):
    # the same statistics against the chi-square reference: polychoric matrices of weighted,
    # mixed samples are far from its assumptions, and the check says so
    for s in ("jennrich", "steiger"):
        p = np.array([stats.chi2.sf(r[f"{s}_value"], r[f"{s}_df"]) for r in halves_cell])
        assert _uniform_ks(p, None, None) < 0.01, s


def test_permutation_count_follows_the_null_draws_and_references_say_what_they_are():
    rng = np.random.default_rng(5)
    gold, sim = _survey_like(rng, 200), _survey_like(rng, 150)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pa.compare_correlations(gold, sim, n_boot=0, n_null=9, seed=0)
        boot = pa.compare_correlations(gold, sim, n_boot=0, n_null=9, seed=0,
                                       test_pvalue="bootstrap")
        fits = pa.polychoric(gold), pa.polychoric(sim)
        asym = pa.compare_correlations(*fits, n_perm=0)
    assert res.settings["n_perm"] == 9 and res.settings["test_pvalue"] == "permutation"
    assert res.statistic("steiger")["p_method"].startswith("permutation")
    # the former default, kept as an option, carries the calibration study's warning
    assert boot.settings["test_pvalue"] == "bootstrap"
    assert "conservative" in boot.statistic("jennrich")["note"]
    assert "conservative" not in boot.statistic("steiger")["note"]
    # polychoric matrices against the chi-square reference: flagged
    assert asym.settings["test_pvalue"] == "asymptotic"
    for s in ("jennrich", "steiger"):
        assert "not calibrated for polychoric" in asym.statistic(s)["note"]
