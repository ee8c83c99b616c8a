"""Tests for popaudit.structure.factors: psych parity, analytic cases, invariants, recovery."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ortho_group

import popaudit as pa
from popaudit.structure import factors as F

FIX = Path(__file__).parent / "fixtures" / "factors"
CASES = {"A": (2, 500), "B": (3, 800)}
FITS = [("minres", "varimax"), ("ml", "varimax"), ("minres", "oblimin"), ("minres", "promax"),
        ("ml", "none")]


def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(FIX / f"{name}.csv", index_col=0)


def _json(name: str) -> dict:
    return json.loads((FIX / f"{name}.json").read_text())


def _exact_model(lam: np.ndarray) -> np.ndarray:
    r = lam @ lam.T
    np.fill_diagonal(r, 1.0)
    return r


needs_polychoric = pytest.mark.skipif(
    importlib.util.find_spec("popaudit.structure.polychoric") is None,
    reason="popaudit.structure.polychoric (another helper's module) has not landed yet")

LAM2 = np.array([[.8, .1], [.7, .2], [.6, 0], [.5, .3], [.1, .7], [.2, .6], [0, .5], [.3, .4]])


# ------------------------------------------------------------------------------------------
# parity with psych (fixtures from tests/r/factors_fixtures.R)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("fm,rotate", FITS)
def test_loadings_match_psych_fa(case, fm, rotate):
    k, n = CASES[case]
    res = F.efa(_csv(f"corr_{case}"), k, method=fm, rotation=rotate, n_obs=n)
    ref = _csv(f"loadings_{case}_{fm}_{rotate}")
    ref.columns = res.loadings.columns
    al = F.align_loadings(res.loadings, ref, method="match")
    # psych's L-BFGS-B (analytic gradient, factr 1e7) and factor-analyzer's (numeric gradient)
    # stop a little apart: observed max |diff| 8e-5; the issue asks for 1e-3 after alignment.
    np.testing.assert_allclose(al.loadings.to_numpy(), ref.to_numpy(), atol=1e-3)
    assert np.abs(al.loadings.to_numpy() - ref.to_numpy()).max() < 2e-4
    # psych's ordering and sign conventions are reproduced, so no reordering was needed
    assert al.matched == {c: c for c in ref.columns}
    assert set(al.signs.values()) == {1}
    if rotate in ("oblimin", "promax"):
        np.testing.assert_allclose(res.phi.to_numpy(), _csv(f"phi_{case}_{fm}_{rotate}"),
                                   atol=1e-5)  # follows the loadings' optimiser tolerance


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("fm,rotate", FITS)
def test_fit_statistics_match_psych_fa(case, fm, rotate):
    k, n = CASES[case]
    ref = _json(f"stats_{case}_{fm}_{rotate}")
    f = F.efa(_csv(f"corr_{case}"), k, method=fm, rotation=rotate, n_obs=n).fit
    assert f.dof == ref["dof"]
    assert f.null_dof == ref["null_dof"]
    # the statistics are smooth in the loadings, which agree to ~1e-5 (see above)
    np.testing.assert_allclose(f.objective, ref["objective"], rtol=1e-5)
    np.testing.assert_allclose(f.chi_square, ref["STATISTIC"], rtol=1e-5)
    np.testing.assert_allclose(f.p_value, ref["PVAL"], atol=1e-5)
    np.testing.assert_allclose(f.rmsea, ref["RMSEA"], atol=1e-6)
    np.testing.assert_allclose(f.rmsea_ci, [ref["RMSEA_lower"], ref["RMSEA_upper"]], atol=1e-6)
    np.testing.assert_allclose(f.tli, ref["TLI"], atol=1e-6)
    np.testing.assert_allclose(f.bic, ref["BIC"], rtol=1e-5)
    np.testing.assert_allclose(f.null_chi_square, ref["null_chisq"], rtol=1e-10)
    np.testing.assert_allclose(f.empirical_chi_square, ref["chi"], rtol=1e-5)
    np.testing.assert_allclose(f.rms, ref["rms"], rtol=1e-5)
    np.testing.assert_allclose(f.crms, ref["crms"], rtol=1e-5)
    res = F.efa(_csv(f"corr_{case}"), k, method=fm, rotation=rotate, n_obs=n)
    np.testing.assert_allclose(res.uniquenesses, ref["uniquenesses"], atol=1e-4)


@pytest.mark.parametrize("case", sorted(CASES))
def test_sampling_adequacy_matches_psych(case):
    n = CASES[case][1]
    ref = _json(f"adequacy_{case}")
    res = F.sampling_adequacy(_csv(f"corr_{case}"), n_obs=n)
    np.testing.assert_allclose(res.kmo, ref["MSA"], rtol=1e-12)
    np.testing.assert_allclose(res.kmo_per_item, ref["MSAi"], rtol=1e-12)
    np.testing.assert_allclose(res.bartlett_statistic, ref["chisq"], rtol=1e-12)
    assert res.bartlett_dof == ref["df"]
    np.testing.assert_allclose(res.bartlett_pvalue, ref["p_value"], atol=1e-300)


def test_sampling_adequacy_matches_factor_analyzer_on_raw_data():
    from factor_analyzer.factor_analyzer import calculate_bartlett_sphericity, calculate_kmo

    rng = np.random.default_rng(3)
    x = rng.standard_normal((400, 2)) @ LAM2.T + rng.standard_normal((400, 8)) * 0.6
    per_item, overall = calculate_kmo(x)
    stat, pval = calculate_bartlett_sphericity(x)
    res = F.sampling_adequacy(np.corrcoef(x, rowvar=False), n_obs=400)
    np.testing.assert_allclose(res.kmo, overall, rtol=1e-10)
    np.testing.assert_allclose(res.kmo_per_item, per_item, rtol=1e-10)
    np.testing.assert_allclose(res.bartlett_statistic, stat, rtol=1e-10)
    np.testing.assert_allclose(res.bartlett_pvalue, pval, rtol=1e-8, atol=1e-300)


def test_congruence_equals_psych_factor_congruence():
    # on psych's own loadings the two computations must agree to rounding
    a = _csv("loadings_A_minres_varimax")
    b = _csv("loadings_A_ml_none")
    ref = _csv("congruence_A_minres_varimax_vs_ml_none")
    np.testing.assert_allclose(F.congruence_matrix(a, b), ref, atol=1e-14)
    truth = _csv("truth_A")
    truth.index = a.index
    np.testing.assert_allclose(F.congruence_matrix(a, truth),
                               _csv("congruence_A_minres_varimax_vs_truth"), atol=1e-14)
    c = _csv("loadings_B_minres_varimax")
    d = _csv("loadings_B_minres_oblimin")
    np.testing.assert_allclose(F.congruence_matrix(c, d),
                               _csv("congruence_B_minres_varimax_vs_minres_oblimin"), atol=1e-14)
    # and on popaudit's loadings, to the loadings' agreement
    mine = F.congruence_matrix(F.efa(_csv("corr_A"), 2).loadings,
                               F.efa(_csv("corr_A"), 2, method="ml", rotation="none").loadings)
    np.testing.assert_allclose(mine, ref, atol=1e-5)


def test_oblique_alignment_equals_psych_target_rot():
    src = _csv("loadings_A_ml_none")
    truth = _csv("truth_A")
    truth.index, truth.columns = src.index, src.columns
    al = F.align_loadings(src, truth, method="oblique")
    np.testing.assert_allclose(al.loadings, _csv("targetrot_A_ml_none_to_truth"), atol=1e-12)
    np.testing.assert_allclose(al.phi, _csv("targetrot_phi_A_ml_none_to_truth"), atol=1e-12)


@pytest.mark.rlive
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed")
def test_fixture_script_reproduces_fixtures(tmp_path):
    repo = Path(__file__).parents[1]
    script = repo / "tests" / "r" / "factors_fixtures.R"
    (tmp_path / "tests" / "fixtures").mkdir(parents=True)
    subprocess.run(["Rscript", str(script)], cwd=tmp_path, check=True, capture_output=True,
                   timeout=300)
    for name in ("loadings_A_minres_varimax", "loadings_B_ml_varimax", "iw_weighted_pairwise_corr"):
        new = pd.read_csv(tmp_path / "tests" / "fixtures" / "factors" / f"{name}.csv", index_col=0)
        np.testing.assert_allclose(new, _csv(name), rtol=1e-12)


# ------------------------------------------------------------------------------------------
# analytic cases and invariants
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["minres", "ml"])
def test_exact_factor_model_is_recovered(method):
    r = _exact_model(LAM2)
    res = F.efa(r, 2, method=method, rotation="none", n_obs=1000)
    al = F.align_loadings(res.loadings, LAM2, method="orthogonal")
    # the optimiser's tolerance bounds the recovery (factor-analyzer's L-BFGS-B defaults)
    np.testing.assert_allclose(al.loadings.to_numpy(), LAM2, atol=2e-3)
    np.testing.assert_allclose(res.communalities, (LAM2 ** 2).sum(axis=1), atol=2e-3)
    assert res.fit.chi_square < 1e-2
    assert res.fit.rmsea == 0.0
    assert res.fit.rmsea_ci[0] == 0.0


def test_one_factor_is_not_rotated():
    lam = np.array([[.8], [.7], [.6], [.5], [.4]])
    res = F.efa(_exact_model(lam), 1, rotation="varimax", n_obs=300)
    assert res.rotation == "none" and res.phi is None
    np.testing.assert_allclose(res.loadings.to_numpy(), lam, atol=2e-3)
    assert res.fit.dof == 5


@pytest.mark.parametrize("rotation", ["none", "varimax", "promax", "oblimin"])
def test_rotation_matrix_maps_unrotated_to_rotated(rotation):
    res = F.efa(_csv("corr_B"), 3, rotation=rotation)
    np.testing.assert_allclose(res.unrotated.to_numpy() @ res.rotation_matrix,
                               res.loadings.to_numpy(), atol=1e-12)
    implied = res.loadings.to_numpy() @ (np.eye(3) if res.phi is None else res.phi.to_numpy()) \
        @ res.loadings.to_numpy().T
    # rotation leaves the common part of the model unchanged
    np.testing.assert_allclose(implied, res.unrotated.to_numpy() @ res.unrotated.to_numpy().T,
                               atol=1e-10)
    assert np.all(res.loadings.sum(axis=0) > 0)
    ss = res.variance_explained()["ss_loadings"].to_numpy()
    assert np.all(np.diff(ss) <= 1e-12)


def test_score_weights_are_thurstone_regression():
    res = F.efa(_csv("corr_A"), 2)
    r = res.corr.to_numpy()
    np.testing.assert_allclose(r @ res.score_weights().to_numpy(), res.loadings.to_numpy(),
                               atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), k=st.integers(2, 4))
def test_orthogonal_procrustes_undoes_any_rotation(seed, k):
    rng = np.random.default_rng(seed)
    lam = rng.uniform(-0.8, 0.8, size=(9, k))
    t = ortho_group.rvs(k, random_state=seed)
    al = F.align_loadings(lam @ t, lam, method="orthogonal")
    np.testing.assert_allclose(al.loadings.to_numpy(), lam, atol=1e-10)
    c = F.congruence(al.loadings, lam)
    np.testing.assert_allclose(c.per_factor, 1.0, atol=1e-12)
    assert c.overall_band == "equal"
    # an orthogonal rotation keeps the model implied by the loadings
    np.testing.assert_allclose(al.rotation @ al.rotation.T, np.eye(k), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), k=st.integers(2, 5))
def test_matching_undoes_permutation_and_reflection(seed, k):
    rng = np.random.default_rng(seed)
    lam = np.zeros((3 * k, k))
    for j in range(k):  # simple structure, so matching is unambiguous
        lam[3 * j:3 * j + 3, j] = rng.uniform(0.4, 0.9, 3)
    perm = rng.permutation(k)
    signs = rng.choice([-1.0, 1.0], k)
    al = F.align_loadings(lam[:, perm] * signs, lam, method="match")
    np.testing.assert_allclose(al.loadings.to_numpy(), lam, atol=1e-14)
    assert [al.matched[f"F{j + 1}"] for j in range(k)] == \
        [f"F{int(np.flatnonzero(perm == j)[0]) + 1}" for j in range(k)]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1))
def test_congruence_is_scale_invariant_and_bounded(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((7, 3)), rng.standard_normal((7, 3))
    c = F.congruence(x, y)
    assert np.all(np.abs(c.per_factor) <= 1 + 1e-12)
    c2 = F.congruence(x * rng.uniform(0.1, 10), y)
    np.testing.assert_allclose(c2.per_factor, c.per_factor, rtol=1e-12)
    np.testing.assert_allclose(F.congruence(x, x).per_factor, 1.0)
    # per factor: the diagonal of psych's congruence matrix
    np.testing.assert_allclose(np.diag(F.congruence_matrix(x, y)), c.per_factor, rtol=1e-12)


def test_congruence_bands_follow_lorenzo_seva_ten_berge():
    assert F.congruence_band(0.95) == "equal"
    assert F.congruence_band(0.9499) == "fair similarity"
    assert F.congruence_band(0.85) == "fair similarity"
    assert F.congruence_band(0.8499) == "different"
    assert list(F.congruence_band([0.99, 0.2])) == ["equal", "different"]
    with pytest.raises(ValueError, match="NaN"):
        F.congruence_band(np.nan)


def test_congruence_overall_and_frame():
    g = np.array([[.8, 0], [.7, 0], [0, .6], [0, .7]])
    s = np.array([[.8, 0], [.7, 0], [.6, 0], [0, .7]])
    c = F.congruence(s, g)
    np.testing.assert_allclose(c.per_factor, [(.64 + .49) / np.sqrt(1.49 * 1.13), .7 / .7 *
                                              .7 / np.sqrt(.85)])
    np.testing.assert_allclose(c.overall, (.64 + .49 + .49) / np.sqrt(1.98 * 1.98))
    out = c.to_frame()
    assert list(out["factor"]) == ["F1", "F2", "overall"]
    assert list(out["band"]) == list(F.congruence_band(out["congruence"].to_numpy()))


def test_efa_result_frame_and_repr():
    res = F.efa(_csv("corr_A"), 2, n_obs=500)
    out = res.to_frame()
    assert list(out.columns) == ["item", "factor", "loading", "communality"]
    assert len(out) == 20
    assert "RMSEA" in repr(res)
    fs = res.fit.to_frame()
    assert fs.set_index("statistic").loc["chi_square", "psych_name"] == "STATISTIC"


# ------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------
def test_bad_input_is_named():
    r = _exact_model(LAM2)
    with pytest.raises(ValueError, match="square"):
        F.efa(r[:, :5], 2)
    bad = r.copy()
    bad[0, 1] = 0.9
    with pytest.raises(ValueError, match="symmetric"):
        F.efa(bad, 2)
    cov = r * 2
    with pytest.raises(ValueError, match="not 1"):
        F.efa(cov, 2)
    with pytest.raises(ValueError, match="between 1 and 7"):
        F.efa(r, 8)
    with pytest.raises(ValueError, match="method"):
        F.efa(r, 2, method="pa")
    with pytest.raises(ValueError, match="rotation"):
        F.efa(r, 2, rotation="quartimax")
    nan = r.copy()
    nan[2, 3] = nan[3, 2] = np.nan
    with pytest.raises(ValueError, match="'V3' and 'V4'"):
        F.efa(nan, 2)
    a = pd.DataFrame(LAM2, index=list("abcdefgh"))
    b = pd.DataFrame(LAM2, index=list("abcdefgz"))
    with pytest.raises(KeyError, match="'h'"):
        F.congruence(a, b)
    with pytest.raises(ValueError, match="3 factors"):
        F.align_loadings(np.ones((8, 3)), LAM2)
    with pytest.raises(ValueError, match="all zero"):
        F.congruence(np.zeros((8, 2)), LAM2)


# ------------------------------------------------------------------------------------------
# with polychoric matrices (needs popaudit.structure.polychoric and popaudit.datasets)
# ------------------------------------------------------------------------------------------
def _ordinal(lam: np.ndarray, n: int, seed: int, k: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((n, lam.shape[1]))
    y = f @ lam.T + rng.standard_normal((n, lam.shape[0])) * np.sqrt(1 - (lam ** 2).sum(1))
    cuts = np.quantile(rng.standard_normal(100_000), np.linspace(0, 1, k + 1)[1:-1])
    codes = np.searchsorted(cuts, y) + 1
    return pd.DataFrame(codes, columns=[f"V{j + 1}" for j in range(lam.shape[0])])


@needs_polychoric
def test_parallel_analysis_finds_two_factors_and_none():
    data = _ordinal(LAM2, 600, seed=5)
    res = F.parallel_analysis(pa.Survey(data), n_null=20, seed=0)
    assert res.n_factors == 2
    assert res.n_components == 2
    shuffled = np.random.default_rng(1).permuted(data.to_numpy(), axis=0)  # column by column
    noise = pa.Survey(pd.DataFrame(shuffled, columns=data.columns))
    assert F.parallel_analysis(noise, n_null=20, seed=0).n_components == 0
    tab = res.to_frame()
    assert set(tab["kind"]) == {"pc", "fa"}
    pc = tab[tab["kind"] == "pc"]
    # full-matrix eigenvalues of a correlation matrix sum to p; simulated ones hover around 1
    np.testing.assert_allclose(pc["observed"].sum(), 8, rtol=1e-8)
    np.testing.assert_allclose(pc["simulated_mean"].sum(), 8, rtol=1e-8)
    assert list(pc["retained"]) == [True, True] + [False] * 6
    # same seed, same draws
    again = F.parallel_analysis(pa.Survey(data), n_null=20, seed=0)
    pd.testing.assert_frame_equal(again.to_frame(), tab)


@needs_polychoric
def test_efa_on_survey_uses_polychoric_and_pairwise_n():
    data = _ordinal(LAM2, 500, seed=7)
    data.iloc[:40, 0] = -1  # missing answers: the pairwise n differ
    survey = pa.Survey(data)
    res = F.efa(survey, 2)
    from popaudit.structure.polychoric import polychoric

    pc = polychoric(survey)
    np.testing.assert_allclose(res.corr.to_numpy(), pc.corr.to_numpy())
    n = pc.n.to_numpy().astype(float)
    off = n[~np.eye(8, dtype=bool)]
    np.testing.assert_allclose(res.n_obs, off.size / np.sum(1 / off))
    al = F.align_loadings(res, LAM2)
    assert F.congruence(al.loadings, LAM2).overall > 0.97


def _pure_iw_items():
    """wvs_like items that load on the two Inglehart-Welzel traits only (no nuisance)."""
    truth = pa.datasets.wvs_like_truth(n=10, seed=0)
    lam = truth.loadings
    return list(lam.index[(lam["nuisance"] == 0)])


@needs_polychoric
@pytest.mark.slow
def test_gold_recovers_generating_structure_and_shuffled_fails():
    gold, truth = pa.datasets.wvs_like(n=5000, seed=11, return_truth=True)
    items = _pure_iw_items()
    gold = gold.select(items)
    target = truth.standardized_loadings().loc[items, ["traditional_secular",
                                                      "survival_self_expression"]]
    target.columns = ["F1", "F2"]
    res = F.efa(gold, 2)
    al = F.align_loadings(res, target)
    c = F.congruence(al.loadings, target)
    assert c.per_factor.min() >= 0.95, c
    # a population with every marginal exactly gold's and no structure
    rng = np.random.default_rng(2)
    codes = rng.permuted(np.asarray(gold.category_indices()), axis=0)
    shuffled = pa.Survey.from_category_indices(codes, gold.items)
    cmp = F.compare_factors(gold, shuffled, 2, n_null=20, seed=3)
    out = cmp.to_frame().set_index("factor")
    assert out.loc["overall", "congruence"] < 0.85        # observed .23
    assert out.loc["overall", "band"] == "different"
    assert out["below_noise_floor"].all()
    assert cmp.noise_floor.floor.min() > 0.95              # gold vs its resamples: .985-.998


@needs_polychoric
@pytest.mark.slow
def test_datasets_shuffled_fails_against_noise_floor():
    shuffled = getattr(pa.datasets, "shuffled", None)
    if shuffled is None:
        pytest.skip("popaudit.datasets.shuffled has not landed yet")
    gold = pa.datasets.wvs_like(n=3000, seed=4).select(_pure_iw_items())
    sim = shuffled(gold, seed=5)
    cmp = F.compare_factors(gold, sim, 2, n_null=20, seed=6)
    out = cmp.to_frame().set_index("factor")
    # shuffled keeps the weighting cells' (sex x age x ethnicity) means, hence a little of the
    # demographically driven structure: observed overall .63, floor .99
    assert out.loc["overall", "congruence"] < 0.85
    assert out["below_noise_floor"].all()


@needs_polychoric
def test_null_draws_vocabulary_settings_and_deprecated_names():
    survey = pa.Survey(_ordinal(LAM2, 300, seed=5))
    res = F.parallel_analysis(survey, n_null=5, seed=2)
    assert res.settings == {"n_null": 5, "quantile": 0.95, "seed": 2, "batch_size": 25}
    with pytest.warns(DeprecationWarning, match="'n_draws' is deprecated, use 'n_null'"):
        old = F.parallel_analysis(survey, n_draws=5, seed=2)
    pd.testing.assert_frame_equal(old.to_frame(), res.to_frame())
    with pytest.warns(DeprecationWarning, match=r"ParallelAnalysisResult.n_draws"):
        assert res.n_draws == 5
    with pytest.warns(DeprecationWarning, match=r"ParallelAnalysisResult.seed"):
        assert res.seed == 2
    fresh = F.parallel_analysis(survey, n_null=5)               # seed=None is recorded
    again = F.parallel_analysis(survey, n_null=5, seed=fresh.settings["seed"])
    pd.testing.assert_frame_equal(again.to_frame(), fresh.to_frame())
    with pytest.warns(DeprecationWarning, match="'n_draws' is deprecated"):
        cmp = F.compare_factors(survey, survey, 2, n_draws=3, seed=4)
    assert cmp.settings["n_null"] == 3 and cmp.settings["seed"] == 4
    assert cmp.noise_floor.settings["seed"] == 4 and cmp.noise_floor.settings["n_null"] == 3
    with pytest.warns(DeprecationWarning, match=r"NoiseFloor.n_draws"):
        assert cmp.noise_floor.n_draws == 3
    assert cmp.gold.settings["n_factors"] == 2 and cmp.notes == ()
    assert cmp.alignment.settings == {"method": "orthogonal"} and cmp.congruence.notes == ()


def test_non_pd_matrix_fit_statistics_skipped_only_when_n_is_implied():
    # a mode-collapsed population can give polychoric correlations at +-1: not PD
    r = np.array([[1.0, 0.99, 0.99, 0.1],
                  [0.99, 1.0, 0.5, 0.1],
                  [0.99, 0.5, 1.0, 0.1],
                  [0.1, 0.1, 0.1, 1.0]])
    assert np.linalg.eigvalsh(r)[0] < 0
    res = pa.structure.factors.efa(r, 1)
    assert res.fit is None and "sample size is unknown" in res.notes[0]
    with pytest.raises(ValueError, match="positive-definite"):
        pa.structure.factors.efa(r, 1, n_obs=500)
    assert np.all(np.isfinite(res.loadings.to_numpy()))


def test_nominal_items_are_left_out_with_a_note():
    """The docs/factors.md example: the WVS-like survey has nominal Q154/Q155; efa,
    compare_factors and parallel_analysis analyse the ordinal and binary items and say so."""
    import popaudit as pa
    from popaudit.structure import factors as F

    gold = pa.datasets.wvs_like(n=600, seed=0)
    nominal = [it.name for it in gold.items if it.kind == "nominal"]
    assert nominal == ["Q154", "Q155"]
    fit = F.efa(gold, 2)
    assert not set(nominal) & set(fit.loadings.index)
    assert "nominal item(s) ['Q154', 'Q155'] left out" in fit.notes[0]
    sim = pa.datasets.shuffled(gold, seed=1)
    cmp = pa.compare_factors(gold, sim, n_factors=2, n_null=3, seed=0)
    assert len(cmp.gold.loadings) == gold.n_items - 2
    assert any("['Q154', 'Q155'] left out of gold" in n for n in cmp.notes)
    assert any("left out of the simulated population" in n for n in cmp.notes)
    pa_res = F.parallel_analysis(gold, n_null=3, seed=0)
    assert "left out" in pa_res.notes[0]
    with pytest.raises(ValueError, match="at least 3 ordered items"):
        F.efa(gold.select(["Q154", "Q155", "Q57", "Q46"]), 1)
