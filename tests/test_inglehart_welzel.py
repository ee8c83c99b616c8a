"""Tests for popaudit.maps.inglehart_welzel: recodes, the official computation, projection, CIs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import popaudit as pa
from popaudit.maps import inglehart_welzel as IW
from popaudit.structure import factors as F

FIX = Path(__file__).parent / "fixtures" / "factors"

needs_polychoric = pytest.mark.skipif(
    importlib.util.find_spec("popaudit.structure.polychoric") is None,
    reason="popaudit.structure.polychoric (another helper's module) has not landed yet")


@pytest.fixture(scope="module")
def gold_and_truth():
    return pa.datasets.wvs_like(n=5000, seed=0, return_truth=True)


@pytest.fixture(scope="module")
def gold(gold_and_truth):
    return gold_and_truth[0]


@pytest.fixture(scope="module")
def model(gold):
    return IW.fit_map(gold)


def _target(truth) -> pd.DataFrame:
    lam = pd.concat([truth.standardized_loadings(), truth.derived_loadings])
    out = lam.loc[list(IW.INDICATORS), ["traditional_secular", "survival_self_expression"]]
    out.columns = list(IW.DIMENSIONS)
    return out


# ------------------------------------------------------------------------------------------
# recodes, on hand-made rows
# ------------------------------------------------------------------------------------------
def test_autonomy_index_covers_minus_two_to_two():
    # all 16 combinations of mentioned (1) / not mentioned (2)
    combos = np.array(np.meshgrid(*[[1, 2]] * 4, indexing="ij")).reshape(4, -1)
    y = IW.autonomy_index(*combos)
    expected = (combos[0] == 1).astype(int) + (combos[1] == 1) - (combos[2] == 1) \
        - (combos[3] == 1)
    np.testing.assert_array_equal(y, expected)
    assert y.min() == -2 and y.max() == 2
    assert IW.autonomy_index([1], [1], [2], [2])[0] == 2      # independence + determination
    assert IW.autonomy_index([2], [2], [1], [1])[0] == -2     # faith + obedience
    # any missing component (WVS negative codes) makes the index missing
    assert np.isnan(IW.autonomy_index([1, 1, 1, 1], [1, -1, 1, 1], [2, 2, -2, 2],
                                      [2, 2, 2, -5])[1:]).all()


def test_postmaterialist_index_standard_mapping():
    q154, q155 = np.array(np.meshgrid([1, 2, 3, 4], [1, 2, 3, 4], indexing="ij")).reshape(2, -1)
    y = IW.postmaterialist_index(q154, q155)
    table = dict(zip(zip(q154, q155), y))
    # 1 order, 2 more say, 3 prices, 4 free speech: {1,3} materialist, {2,4} post-materialist
    assert table[(1, 3)] == table[(3, 1)] == 1
    assert table[(2, 4)] == table[(4, 2)] == 3
    for pair in [(1, 2), (2, 1), (1, 4), (4, 1), (3, 2), (2, 3), (3, 4), (4, 3)]:
        assert table[pair] == 2
    assert set(np.unique(y)) <= {1.0, 2.0, 3.0}
    assert np.isnan(IW.postmaterialist_index([1, -1], [-2, 3])).all()


def test_indicators_recode_table_rows():
    raw = pd.DataFrame({
        "Q164": [10, 1, -1], "Q8": [1, 2, 1], "Q14": [1, 2, 1], "Q15": [2, 1, 2],
        "Q17": [2, 1, -2], "Q184": [1, 10, 5], "Q254": [1, 4, 5], "Q45": [1, 3, 2],
        "Q154": [1, 2, 3], "Q155": [3, 4, 2], "Q46": [1, 4, 2], "Q182": [1, 10, -4],
        "Q209": [3, 1, 2], "Q57": [2, 1, 1]})
    out = IW.indicators(raw)
    assert list(out.columns) == list(IW.INDICATORS)
    np.testing.assert_array_equal(out.loc[0], [10, 2, 1, 1, 1, 1, 1, 1, 3, 2])
    np.testing.assert_array_equal(out.loc[1], [1, -2, 10, 4, 3, 3, 4, 10, 1, 1])
    # row 2: -1 God missing, Y003 missing (Q17 -2), Q254 5 "not [nationality]" missing, -4
    assert out.loc[2].isna().tolist() == [True, True, False, True, False, False, False, True,
                                          False, False]
    table = IW.indicator_table()
    assert list(table.index) == list(IW.INDICATORS)
    assert (table["reference"].str.len() > 0).all()
    assert table.loc["Q57", "sign"] == -1 and table.loc["Y002", "dimension"] == "survself"


def test_indicators_from_survey_equal_indicators_from_frame(gold):
    frame = gold.to_frame()
    a = IW.indicators(gold)
    b = IW.indicators(frame.fillna(-1))  # the survey's missing answers back as WVS codes
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())


def test_y002_y003_equal_the_shipped_columns(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    for fmt in ("csv", "sav"):
        path = pa.datasets.write_official_layout(tmp_path / f"wvs7.{fmt}", n=3000, seed=3)
        df = pd.read_csv(path) if fmt == "csv" else pyreadstat.read_sav(str(path))[0]
        computed = IW.indicators(df)
        shipped = IW.indicators(df, indices="precomputed")
        np.testing.assert_array_equal(computed[["Y002", "Y003"]].to_numpy(),
                                      shipped[["Y002", "Y003"]].to_numpy())
        # and the file really holds missing and every valid value
        assert computed["Y003"].isna().any()
        assert set(computed["Y003"].dropna()) == {-2, -1, 0, 1, 2}
        assert set(computed["Y002"].dropna()) == {1, 2, 3}


def test_recodes_reject_codes_outside_the_scale():
    with pytest.raises(ValueError, match="'Q46' has code 5"):
        IW.indicators(pd.DataFrame({q: [1] for q in IW.SOURCE_ITEMS} | {"Q46": [5]}))
    with pytest.raises(ValueError, match="'Q8' has code 3"):
        IW.autonomy_index([3], [1], [1], [1])
    with pytest.raises(KeyError, match="Q209"):
        IW.indicators(pd.DataFrame({q: [1] for q in IW.SOURCE_ITEMS if q != "Q209"}))


# ------------------------------------------------------------------------------------------
# weighted pairwise correlations and the official pipeline against R
# ------------------------------------------------------------------------------------------
def _fixture_survey() -> pa.Survey:
    df = pd.read_csv(FIX / "iw_data.csv")
    items = [pa.Item(q, codes=tuple(range(-2, 3)) if q == "Y003" else
                     {"Q164": tuple(range(1, 11)), "Q184": tuple(range(1, 11)),
                      "Q182": tuple(range(1, 11)), "Q254": (1, 2, 3, 4), "Q46": (1, 2, 3, 4),
                      "Q45": (1, 2, 3), "Y002": (1, 2, 3), "Q209": (1, 2, 3),
                      "Q57": (1, 2)}[q]) for q in IW.INDICATORS]
    return pa.Survey(df, items, weights="weight")


def test_weighted_pairwise_corr_matches_r_loop():
    df = pd.read_csv(FIX / "iw_data.csv")
    r, n = IW.weighted_pairwise_corr(df[list(IW.INDICATORS)].to_numpy(float),
                                     df["weight"].to_numpy())
    ref = pd.read_csv(FIX / "iw_weighted_pairwise_corr.csv", index_col=0)
    np.testing.assert_allclose(r, ref.to_numpy(), atol=1e-12)  # same sums, other order
    valid = df[list(IW.INDICATORS)].notna().to_numpy().astype(int)
    np.testing.assert_array_equal(n, valid.T @ valid)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1))
def test_weighted_pairwise_corr_invariants(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((40, 4)) @ rng.standard_normal((4, 4))
    np.testing.assert_allclose(IW.weighted_pairwise_corr(x)[0], np.corrcoef(x, rowvar=False),
                               atol=1e-12)
    # integer weights are replicated rows
    w = rng.integers(1, 4, 40)
    x[rng.random(x.shape) < 0.15] = np.nan
    r_w, _ = IW.weighted_pairwise_corr(x, w)
    r_rep, _ = IW.weighted_pairwise_corr(np.repeat(x, w, axis=0))
    np.testing.assert_allclose(r_w, r_rep, atol=1e-12)
    # a pair uses exactly the respondents answering both
    ok = ~np.isnan(x[:, 0]) & ~np.isnan(x[:, 1])
    np.testing.assert_allclose(r_rep[0, 1], np.corrcoef(np.repeat(x[ok, :2], w[ok], axis=0),
                                                        rowvar=False)[0, 1], atol=1e-12)


def test_official_loadings_and_score_weights_match_r_principal_varimax():
    m = IW.fit_map(_fixture_survey(), indices="precomputed")
    np.testing.assert_allclose(m.corr, pd.read_csv(FIX / "iw_weighted_pairwise_corr.csv",
                                                   index_col=0), atol=1e-12)
    ref = pd.read_csv(FIX / "iw_principal_varimax_loadings.csv", index_col=0)
    al = F.align_loadings(m.loadings, ref.set_axis(list(IW.DIMENSIONS), axis=1), method="match")
    # both iterate varimax to convergence (R: eps 1e-14, popaudit: to the optimum); R's
    # relative criterion leaves the angle ~1e-7 short
    np.testing.assert_allclose(al.loadings, ref, atol=1e-6)
    w_ref = pd.read_csv(FIX / "iw_principal_varimax_weights.csv", index_col=0).to_numpy()
    np.testing.assert_allclose(m.score_weights.to_numpy() @ al.rotation, w_ref, atol=1e-6)
    eig = pd.read_json(FIX / "iw_principal_eigenvalues.json")["values"].to_numpy()
    np.testing.assert_allclose(m.eigenvalues, eig, atol=1e-12)


def test_varimax_reaches_kaisers_closed_form_optimum(model):
    # two factors: the Kaiser-normalised varimax angle solves
    # tan 4t = (D - 2AB/p) / (C - (A^2 - B^2)/p)  (Kaiser 1958; Harman 1976, ch. 14)
    a = model.unrotated.to_numpy()
    h = np.sqrt((a ** 2).sum(axis=1))
    x, y = a[:, 0] / h, a[:, 1] / h
    u, v = x ** 2 - y ** 2, 2 * x * y
    p = len(x)
    num = 2 * np.sum(u * v) - 2 * u.sum() * v.sum() / p
    den = np.sum(u ** 2 - v ** 2) - (u.sum() ** 2 - v.sum() ** 2) / p
    t = np.arctan2(num, den) / 4
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    closed = a @ rot
    al = F.align_loadings(model.unrotated.to_numpy() @ model.rotation_matrix, closed,
                          method="match")
    # the criterion is flat at its maximum: a rounding-level change in it moves the angle
    # by ~sqrt(1e-16) = 1e-8
    np.testing.assert_allclose(al.loadings.to_numpy(), closed, atol=2e-8)


# ------------------------------------------------------------------------------------------
# the gold map
# ------------------------------------------------------------------------------------------
def test_orientation_and_theoretical_pattern(model):
    lam = model.loadings
    assert np.argmax(np.abs(lam.loc["Y002"].to_numpy())) == 1     # Y002 marks self-expression
    assert lam.loc["Q182", "survself"] > 0
    assert lam.loc["Q164", "tradrat"] < 0 < lam.loc["Q45", "tradrat"]
    chk = IW.structure_check(model)
    assert chk.items["on_dimension"].all()
    np.testing.assert_allclose(chk.congruence.set_index("dimension")["vs_gold"], 1.0)


def test_gold_map_recovers_generating_structure(gold_and_truth, model):
    target = _target(gold_and_truth[1])
    c = F.congruence(model.loadings, target)  # no rotation towards the truth: orientation only
    assert c.per_factor.min() >= 0.95, c       # observed .995 / .993
    assert c.overall_band == "equal"


def test_scores_are_unit_variance_uncorrelated_on_complete_unweighted_data():
    # SPSS regression component scores: W = R^-1 L = L (L'L)^-1, so cov(Z W) = I exactly
    gold = pa.datasets.wvs_like(n=1500, seed=7, missing_rate=0.0, not_national_rate=0.0)
    m = IW.fit_map(gold, weighted=False)
    s = m.score(gold).frame[["tradrat", "survself"]].to_numpy()
    np.testing.assert_allclose(s.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.cov(s, rowvar=False), np.eye(2), atol=1e-12)
    r, _ = IW.weighted_pairwise_corr(IW.indicators(gold).to_numpy())
    np.testing.assert_allclose(r @ m.score_weights.to_numpy(), m.loadings.to_numpy(),
                               atol=1e-12)


def test_gold_mean_position_is_the_rescaling_intercept(gold):
    # standardised by gold's weighted means; missing at the mean adds nothing: when every
    # respondent is scored the weighted mean score is 0 and the position the intercepts
    m = IW.fit_map(gold, missing="meansub", min_items=1)
    mean = m.score(gold).mean()
    np.testing.assert_allclose(mean[["tradrat", "survself"]], 0.0, atol=1e-12)
    np.testing.assert_allclose(mean[["trad_agg", "surv_self_agg"]], [-0.10, 0.038], atol=1e-12)
    sc = m.score(gold).frame
    np.testing.assert_allclose(sc["trad_agg"], 1.61 * sc["tradrat"] - 0.10)
    np.testing.assert_allclose(sc["surv_self_agg"], 1.81 * sc["survself"] + 0.038)


def test_min_items_rule_and_missing_policies(model):
    base = {"Q164": 5, "Q8": 1, "Q14": 2, "Q15": 2, "Q17": 1, "Q184": 3, "Q254": 2, "Q45": 2,
            "Q154": 1, "Q155": 2, "Q46": 2, "Q182": 4, "Q209": 2, "Q57": 2}
    rows = pd.DataFrame([base] * 3)
    # row 1: 6 indicators left (God, abortion, pride, happiness missing); row 2: 5 left
    rows.loc[1, ["Q164", "Q184", "Q254", "Q46"]] = -1
    rows.loc[2, ["Q164", "Q184", "Q254", "Q46", "Q57"]] = -2
    # the official default: complete cases only (the syntax's saved scores)
    assert model.missing == "complete"
    assert model.score(rows).frame["scored"].tolist() == [True, False, False]
    meansub = IW.fit_map(pa.datasets.wvs_like(n=5000, seed=0), missing="meansub")
    sc = meansub.score(rows).frame
    assert sc["n_items"].tolist() == [10, 6, 5]
    assert sc["scored"].tolist() == [True, True, False]
    assert sc.loc[2, ["tradrat", "survself"]].isna().all()
    # meansub: a missing indicator counts at gold's mean, i.e. z = 0
    z = (IW.indicators(rows).loc[1] - meansub.means) / meansub.sds
    np.testing.assert_allclose(sc.loc[1, ["tradrat", "survself"]],
                               z.fillna(0.0).to_numpy() @ meansub.score_weights.to_numpy())


def test_projection_never_refits(gold, model):
    # a respondent's score depends on gold's map and their own answers only
    sub = gold.subset(np.arange(0, 5000, 7))
    full = model.score(gold).frame.iloc[np.arange(0, 5000, 7)].reset_index(drop=True)
    pd.testing.assert_frame_equal(model.score(sub).frame, full)
    sim = pa.datasets.shuffled(gold, seed=1)
    before = model.loadings.copy()
    model.score(sim)
    pd.testing.assert_frame_equal(model.loadings, before)


def test_positions_with_bootstrap_cis(gold, model):
    sim = pa.datasets.shuffled(gold, seed=2)
    pos = IW.positions(model, {"gold": gold, "shuffled": sim}, by="Q260", n_boot=400, seed=0)
    t = pos.table
    assert list(t["subgroup"]) == ["all", "Q260=1", "Q260=2"] * 2
    assert (t["trad_agg_low"] < t["trad_agg"]).all() and (t["trad_agg"] < t["trad_agg_high"]).all()
    g = t.iloc[0]
    sc = model.score(gold)
    np.testing.assert_allclose(g[["trad_agg", "surv_self_agg"]].to_numpy(float),
                               sc.mean()[["trad_agg", "surv_self_agg"]], rtol=1e-12)
    # bootstrap SE ~ weighted-mean SE; check the interval width against the delta method
    f = sc.frame[sc.frame["scored"]]
    w = gold.weights[sc.frame["scored"].to_numpy()]
    wn = w / w.sum()
    se = np.sqrt(np.sum(wn ** 2 * (f["trad_agg"] - np.sum(wn * f["trad_agg"])) ** 2))
    width = g["trad_agg_high"] - g["trad_agg_low"]
    assert abs(width / (2 * 1.96 * se) - 1) < 0.15  # 400 draws: Monte Carlo error ~ 5 %
    again = IW.positions(model, {"gold": gold, "shuffled": sim}, by="Q260", n_boot=400, seed=0)
    pd.testing.assert_frame_equal(again.table, t)
    long = pos.to_frame()
    assert set(long["dimension"]) == {"trad_agg", "surv_self_agg", "tradrat", "survself"}
    assert len(long) == 4 * len(t)


def test_shuffled_population_fails_the_structure_check(gold, model):
    sim = pa.datasets.shuffled(gold, seed=3)
    for align in ("orient", "procrustes"):
        chk = IW.structure_check(model, {"shuffled": sim}, align=align)
        cong = chk.congruence.set_index(["population", "dimension"])
        assert cong.loc[("gold", "overall"), "vs_target"] > 0.95
        assert cong.loc[("shuffled", "overall"), "vs_gold"] < 0.85
        assert cong.loc[("shuffled", "overall"), "band_vs_gold"] == "different"
        on = chk.items.groupby("population")["on_dimension"].sum()
        assert on["gold"] == 10 and on["shuffled"] < 10


def test_cultural_map_carries_what_a_figure_needs(gold):
    sim = pa.datasets.shuffled(gold, seed=4)
    cm = IW.cultural_map(gold, {"persona": sim}, by="Q260", n_boot=200, seed=0)
    assert set(cm.positions.table["population"]) == {"gold", "persona"}
    for col in ("trad_agg", "trad_agg_low", "trad_agg_high", "surv_self_agg",
                "surv_self_agg_low", "surv_self_agg_high", "n_scored", "Q260"):
        assert col in cm.positions.table
    assert list(cm.gold_loadings.columns) == list(IW.DIMENSIONS)
    assert set(cm.simulated_loadings) == {"persona"}
    assert "CulturalMap(official, individual level)" in repr(cm)
    assert {"population", "dimension", "mean", "ci_low", "ci_high"} <= set(cm.to_frame())
    assert cm.settings["seed"] == 0 and cm.settings["n_boot"] == 200
    assert cm.settings["variant"] == "official" and cm.settings["level"] == "individual"
    assert len(cm.notes) == 1 and "published loadings (.91 ... .46) are nation-level" in cm.notes[0]


def test_confidence_level_and_seed_vocabulary(gold, model):
    sim = pa.datasets.shuffled(gold, seed=5)
    new = IW.positions(model, {"s": sim}, n_boot=30, confidence_level=0.8, seed=3)
    assert new.settings == {"n_boot": 30, "confidence_level": 0.8, "seed": 3, "by": (),
                            "indices": "compute"}
    with pytest.warns(DeprecationWarning, match="'level' is deprecated, use 'confidence_level'"):
        old = IW.positions(model, {"s": sim}, n_boot=30, level=0.8, seed=3)
    pd.testing.assert_frame_equal(old.table, new.table)
    with pytest.warns(DeprecationWarning, match=r"IWPositions.level is deprecated"):
        assert new.level == 0.8
    assert new.n_boot == 30
    fresh = IW.positions(model, {"s": sim}, n_boot=30)             # seed=None is recorded
    pd.testing.assert_frame_equal(
        IW.positions(model, {"s": sim}, n_boot=30, seed=fresh.settings["seed"]).table,
        fresh.table)
    with pytest.warns(DeprecationWarning, match="'level' is deprecated"):
        cm = IW.cultural_map(gold, sim, n_boot=20, level=0.9, seed=1)
    assert cm.settings["confidence_level"] == 0.9
    with pytest.raises(TypeError, match=r"populations\['s'\] is a list"):
        IW.positions(model, {"s": [1, 2]}, n_boot=5)
    unweighted = IW.fit_map(gold.responses().astype("Float64").fillna(-1))
    assert any("unweighted" in n for n in unweighted.notes)


@needs_polychoric
def test_polychoric_variant(gold_and_truth):
    gold, truth = gold_and_truth
    m = IW.fit_map(gold, variant="polychoric")
    assert m.variant == "polychoric" and "polychoric" in repr(m)
    c = F.congruence(m.loadings, _target(truth))
    assert c.per_factor.min() >= 0.95, c       # observed .993 / .989
    assert IW.structure_check(m).items["on_dimension"].all()
    # Thurstone regression weights on the polychoric matrix
    np.testing.assert_allclose(m.corr.to_numpy() @ m.score_weights.to_numpy(),
                               m.loadings.to_numpy(), atol=1e-10)


def test_bad_arguments_are_named(gold):
    with pytest.raises(ValueError, match="variant"):
        IW.fit_map(gold, variant="pca")
    with pytest.raises(ValueError, match="missing"):
        IW.fit_map(gold, missing="impute")
    with pytest.raises(KeyError, match="Q99"):
        IW.positions(IW.fit_map(gold), gold, by="Q99", n_boot=10)
    with pytest.raises(KeyError, match="Q45"):
        IW.fit_map(gold.select([q for q in gold.item_names if q != "Q45"]))


# -- issue 12: the official defaults, Y002 as shipped, the nation-level solution -----------------

def test_repeated_national_aim_is_mixed_as_the_shipped_y002():
    # Q154 = Q155 = 2 (or 1, 3, 4): the shipped Y002 codes it 2; only two *different* aims of
    # one kind are pure
    y = IW.postmaterialist_index([2, 1, 3, 4, 1, 2], [2, 1, 3, 4, 3, 4])
    assert y.tolist() == [2.0, 2.0, 2.0, 2.0, 1.0, 3.0]


def _pooled_frame(n=3000, seed=0):
    """Two 'countries' of the synthetic WVS-7 layout, S018 unlike W_WEIGHT."""
    f = pa.datasets.wvs_like_frame(n=n, seed=seed)
    half = np.arange(n) >= n // 2
    f.loc[half, "B_COUNTRY_ALPHA"] = "MYS"
    f.loc[half, "B_COUNTRY"] = 458
    f["S018"] = np.where(half, 2.0, 0.5) * f["W_WEIGHT"] ** 2
    return f


def test_official_map_weights_by_w_weight_even_when_the_survey_is_weighted_by_s018():
    pooled = pa.wvs_survey(_pooled_frame())
    assert pooled.weight_name == "S018" and "W_WEIGHT" in pooled.demographics.columns
    m = IW.fit_map(pooled)
    assert m.weight_name == "W_WEIGHT" and m.settings["weight"] == "within_country"
    by_column = IW.fit_map(pooled, weight="W_WEIGHT")
    np.testing.assert_allclose(m.loadings, by_column.loadings, atol=1e-14)
    s018 = IW.fit_map(pooled, weight="survey")
    assert s018.weight_name == "S018"
    assert np.abs(s018.loadings.to_numpy() - m.loadings.to_numpy()).max() > 1e-4
    # a survey carrying only S018: the official map falls back with a warning and a note
    only = pooled.select(pooled.item_names)
    only = pa.Survey(only.to_frame().drop(columns=["W_WEIGHT"], errors="ignore"),
                     pooled.items, weights="S018")
    with pytest.warns(UserWarning, match=r"within-country weight \(W_WEIGHT / S017\), which "
                                         r"this survey lacks; its S018 weights are used"):
        fb = IW.fit_map(only)
    assert fb.weight_name == "S018" and any("S018" in n for n in fb.notes)


def test_official_map_scores_complete_cases_only():
    gold = pa.datasets.wvs_like(n=3000, seed=2, missing_rate=0.05)
    complete = IW.indicators(gold).notna().all(axis=1)
    official = IW.fit_map(gold)
    sc = official.score(gold).frame
    assert official.missing == "complete"
    assert sc["scored"].sum() == complete.sum() < len(sc)
    meansub = IW.fit_map(gold, missing="meansub")          # the common practical rule, named
    assert meansub.score(gold).frame["scored"].sum() > complete.sum()
    # correlations are pairwise either way (the syntax): the loadings do not change
    np.testing.assert_allclose(official.loadings, meansub.loadings, atol=1e-14)


def _nations(n_countries=40, per_country=150, seed=0):
    """Respondents of many countries whose *country means* follow the two-dimensional map,
    with large individual noise: raw codes of the ten indicators (Y002/Y003 shipped)."""
    rng = np.random.default_rng(seed)
    pos = rng.normal(size=(n_countries, 2))                  # tradrat, survself per country
    cid = np.repeat(np.arange(n_countries), per_country)
    n = len(cid)
    latent = pos[cid] + rng.normal(scale=1.5, size=(n, 2))
    cols = {}
    for q in IW.INDICATORS:
        ind = IW._BY_NAME[q]
        codes = np.asarray(ind.codes)
        d = IW.DIMENSIONS.index(ind.dimension)
        z = ind.sign * latent[:, d] + rng.normal(scale=1.0, size=n)
        # equal-probability cut of z onto the item's codes
        edges = np.quantile(z, np.linspace(0, 1, len(codes) + 1)[1:-1])
        cols[q] = codes[np.searchsorted(edges, z)]
    df = pd.DataFrame(cols)
    df["country"] = [f"C{c:02d}" for c in cid]
    return df


def test_nation_level_solution_uses_country_means_and_reads_against_published():
    df = _nations()
    nation = IW.fit_map(df, level="nation", indices="precomputed")
    assert nation.level == "nation" and nation.n_obs == 40
    assert nation.settings["country"] == "country" and len(nation.settings["countries"]) == 40
    assert nation.constants == {"tradrat": (1.0, 0.0), "survself": (1.0, 0.0)}
    # the country means carry the map: strong loadings, every item on its dimension
    check = IW.structure_check(nation, indices="precomputed")
    assert check.level == "nation" and "country means as units" in repr(check)
    gold_rows = check.items[check.items["population"] == "gold"]
    assert gold_rows["on_dimension"].all()
    cong = check.congruence.set_index(["population", "dimension"])
    assert cong.loc[("gold", "overall"), "vs_published"] > 0.95
    # individual level on the same respondents: far weaker loadings; published not compared
    indiv = IW.fit_map(df, indices="precomputed")
    assert (np.abs(indiv.loadings).max(axis=1) < np.abs(nation.loadings).max(axis=1)).all()
    ic = IW.structure_check(indiv, indices="precomputed")
    assert ic.level == "individual" and ic.congruence["vs_published"].isna().all()
    assert "published loadings (.91 ... .46) are nation-level" in ic.notes[0]
    assert "respondents as units" in repr(ic)
    # like with like: a population is fitted at the gold model's level
    sim = _nations(seed=1)
    both = IW.structure_check(nation, {"sim": sim}, indices="precomputed")
    assert set(both.congruence["population"]) == {"gold", "sim"}
    with pytest.raises(ValueError, match="at least 3 countries"):
        IW.structure_check(nation, {"one": sim[sim["country"] == "C00"]},
                           indices="precomputed")
    # a population's mean score is the nation-level score of its mean answers
    c00 = df[df["country"] == "C00"]
    mean_score = nation.score(c00, indices="precomputed").mean()[["tradrat", "survself"]]
    z = (c00[list(IW.INDICATORS)].mean() - nation.means) / nation.sds
    np.testing.assert_allclose(mean_score, z.to_numpy() @ nation.score_weights.to_numpy(),
                               atol=1e-12)


def test_nation_level_needs_countries_and_the_official_variant():
    gold = pa.datasets.wvs_like(n=500, seed=0)
    with pytest.raises(ValueError, match="at least 3 countries in column 'B_COUNTRY_ALPHA'"):
        IW.fit_map(gold, level="nation")
    with pytest.raises(ValueError, match="variant='official'"):
        IW.fit_map(gold, level="nation", variant="polychoric")
    with pytest.raises(ValueError, match="level must be one of"):
        IW.fit_map(gold, level="societal")
    few = _nations(n_countries=8, per_country=60)
    m = IW.fit_map(few, level="nation", indices="precomputed")
    assert any("from 8 countries" in n for n in m.notes)
