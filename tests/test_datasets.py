"""Tests for popaudit.datasets: codebook facts, the synthetic WVS-7 gold population and the
steering-method simulators (each checked against the truth it documents)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

import popaudit as pa
from popaudit.data.io import read_table
from popaudit.datasets import (
    GOLD_DEMOGRAPHICS,
    WVS7_ITEMS,
    codebook,
    codebook_items,
    finetuned_like,
    mode_collapsed,
    official_value_labels,
    persona_like,
    shuffled,
    simulated_populations,
    stereotyped,
    write_official_layout,
    wvs_like,
    wvs_like_frame,
    wvs_like_truth,
)

IW_SINGLE = ["Q164", "Q184", "Q254", "Q45", "Q46", "Q182", "Q209", "Q57"]
SGP_Q290 = {702001, 702003, 702004, 702006, 702008}


@pytest.fixture(scope="module")
def gold():
    return wvs_like(n=5000, seed=11)


@pytest.fixture(scope="module")
def big_frame():
    return wvs_like_frame(n=20000, seed=3)


def _valid_codes(frame: pd.DataFrame, cols) -> pd.DataFrame:
    """Item codes with WVS missing codes (and Q254's 5) set to NaN."""
    x = frame[list(cols)].astype(float)
    x = x.where(x > 0)
    if "Q254" in x:
        x["Q254"] = x["Q254"].where(x["Q254"] < 5)
    return x


def _index_frame(s: pa.Survey, drop=("Q154", "Q155")) -> pd.DataFrame:
    idx = s.category_indices().astype(float)
    df = pd.DataFrame(np.where(idx >= 0, idx, np.nan), columns=list(s.item_names))
    return df.drop(columns=[c for c in drop if c in df.columns])


def _mean_abs_corr(s: pa.Survey) -> float:
    c = _index_frame(s).corr().to_numpy()
    return float(np.nanmean(np.abs(c[np.triu_indices_from(c, 1)])))


def _weighted_dist(s: pa.Survey, j: int, rows=None) -> np.ndarray:
    idx = s.category_indices()[:, j]
    w = s.weights_or_ones()
    if rows is not None:
        idx, w = idx[rows], w[rows]
    ok = idx >= 0
    d = np.bincount(idx[ok], weights=w[ok], minlength=s.items[j].n_categories)
    return d / d.sum()


# ---------------------------------------------------------------------------------------------
# codebook facts
# ---------------------------------------------------------------------------------------------
def test_codebook_national_aims_are_the_order_say_prices_speech_battery():
    cb = codebook()
    # Q154/Q155 are the 4-item post-materialist battery (not the Q152/Q153 growth/defence one)
    for q in ("Q154", "Q155"):
        assert cb["items"][q]["labels"] == [
            "Maintaining order in the nation",
            "Giving people more say in important government decisions",
            "Fighting rising prices",
            "Protecting freedom of speech"]
        assert cb["items"][q]["kind"] == "nominal"
    assert "Q152" not in cb["items"]


def test_codebook_iw_items_scales_and_poles_match_the_recipe():
    cb = codebook()["items"]
    expected = {  # item: (codes, pole of a high raw code) -- reference/methods.md
        "Q164": (list(range(1, 11)), "traditional"), "Q184": (list(range(1, 11)), "secular"),
        "Q254": ([1, 2, 3, 4], "secular"), "Q45": ([1, 2, 3], "secular"),
        "Q46": ([1, 2, 3, 4], "survival"), "Q182": (list(range(1, 11)), "self_expression"),
        "Q209": ([1, 2, 3], "survival"), "Q57": ([1, 2], "survival"),
        "Q8": ([1, 2], "traditional"), "Q14": ([1, 2], "traditional"),
        "Q15": ([1, 2], "secular"), "Q17": ([1, 2], "secular"),
    }
    for q, (codes, pole) in expected.items():
        assert cb[q]["codes"] == codes, q
        assert cb[q]["inglehart_welzel"]["high_code_pole"] == pole, q
    assert cb["Q254"]["missing"] == [5]
    assert cb["Q8"]["labels"] == ["Mentioned", "Not mentioned"]
    assert cb["Q45"]["labels"] == ["Good thing", "Don't mind", "Bad thing"]
    assert cb["Q209"]["labels"] == ["Have done", "Might do", "Would never do"]
    assert all(e["sources"] for e in cb.values())


def test_codebook_items_metadata_and_reverse_flags():
    items = {it.name: it for it in codebook_items(derived=True)}
    assert len(WVS7_ITEMS) == 27 and set(WVS7_ITEMS) < set(items)
    assert items["Q254"].missing == (5,)
    assert items["Q57"].kind == "binary" and items["Q154"].kind == "nominal"
    assert items["Y003"].codes == (-2, -1, 0, 1, 2)
    reversed_ = {q for q, it in items.items() if it.reverse}
    assert reversed_ == {"Q164", "Q46", "Q209", "Q57", "Q8", "Q14"}
    with pytest.raises(KeyError, match="Q999"):
        codebook_items(["Q999"])


def test_official_value_labels():
    lab = official_value_labels("SGP")
    assert lab["Q254"][5] == "I am not [nationality]"
    assert lab["Q164"][-1] == "Don't know" and lab["Q164"][-2] == "No answer"
    assert lab["Q290"][702006] == "SG: Malay"
    assert lab["Q290"][702003] == "SG: South Asian Indian, Pakistan, etc."
    assert lab["X003R"][1] == "16-24" and lab["Q260"] == {1: "Male", 2: "Female"}
    assert lab["Y002"][3] == "Postmaterialist" and lab["Y003"][-5].startswith("Missing")
    with pytest.raises(KeyError, match="XYZ"):
        official_value_labels("XYZ")


# ---------------------------------------------------------------------------------------------
# the gold generator
# ---------------------------------------------------------------------------------------------
def test_wvs_like_is_deterministic_under_a_seed_and_differs_across_seeds():
    a = wvs_like_frame(n=800, seed=5)
    pd.testing.assert_frame_equal(a, wvs_like_frame(n=800, seed=5))
    pd.testing.assert_frame_equal(a, wvs_like_frame(n=800, seed=np.random.default_rng(5)))
    b = wvs_like_frame(n=800, seed=6)
    assert (a[list(WVS7_ITEMS)].to_numpy() != b[list(WVS7_ITEMS)].to_numpy()).mean() > 0.3
    s1, s2 = wvs_like(n=800, seed=5), wvs_like(n=800, seed=5)
    assert np.array_equal(s1.category_indices(), s2.category_indices())
    assert np.array_equal(s1.weights, s2.weights)


def test_official_layout_columns_and_codes(big_frame):
    f = big_frame
    expected = (["A_WAVE", "A_YEAR", "B_COUNTRY", "B_COUNTRY_ALPHA", "D_INTERVIEW", "W_WEIGHT",
                 "S018"] + list(WVS7_ITEMS)
                + ["Q260", "Q261", "Q262", "Q275", "Q275R", "Q289", "Q290", "X003R", "Y002",
                   "Y003"])
    assert list(f.columns) == expected
    assert (f["B_COUNTRY"] == 702).all() and (f["B_COUNTRY_ALPHA"] == "SGP").all()
    assert f["D_INTERVIEW"].is_unique
    for it in codebook_items():
        allowed = set(it.codes) | {-1, -2} | set(it.missing)
        assert set(np.unique(f[it.name])) <= allowed, it.name
        assert set(it.codes) <= set(np.unique(f[it.name])), it.name    # every category used
    assert set(f["Q260"]) == {1, 2}
    assert set(f["Q290"]) == SGP_Q290
    assert set(f["Q289"]) <= set(range(10)) and set(f["Q275"]) <= set(range(9))
    bands = np.searchsorted([25, 35, 45, 55, 65], f["Q262"], side="right") + 1
    assert np.array_equal(bands, f["X003R"].to_numpy())
    assert np.array_equal(f["Q275R"], np.select([f.Q275 <= 2, f.Q275 <= 4], [1, 2], 3))
    assert np.array_equal(f["Q261"], f["A_YEAR"] - f["Q262"])
    assert f["Q262"].between(18, 89).all()
    assert set(f.loc[f.Q290 == 702006, "Q289"]) <= {0, 5, 9}      # Malay respondents
    # Q155 never repeats Q154
    both = (f.Q154 > 0) & (f.Q155 > 0)
    assert not (f.Q154[both] == f.Q155[both]).any()


def test_weights_are_poststratification_weights(big_frame):
    w = big_frame["W_WEIGHT"]
    assert (w > 0).all()
    assert w.mean() == pytest.approx(1.0, abs=1e-12)
    assert 0.1 < w.std() < 0.5                       # mild variation
    # constant within sex x age band x ethnic group, varying between them
    per_cell = big_frame.groupby(["Q260", "X003R", "Q290"])["W_WEIGHT"].nunique()
    assert (per_cell == 1).all() and w.nunique() > 10
    assert big_frame["S018"].sum() == pytest.approx(1000.0, rel=1e-12)
    # weighting moves the sample towards the population composition (more young, more men)
    wm = np.average(big_frame["X003R"] == 1, weights=w)
    assert wm > (big_frame["X003R"] == 1).mean()


def test_missing_codes_at_the_stated_rate(big_frame):
    x = big_frame[list(WVS7_ITEMS)].to_numpy()
    # binomial SE over 20 000 x 27 cells is ~0.0003; respondent-level clustering inflates it
    # a few times, so 0.003 is a generous but meaningful tolerance
    assert (x < 0).mean() == pytest.approx(0.03, abs=0.003)
    assert ((x == -1).sum() > 2 * (x == -2).sum())                 # don't know dominates
    assert (big_frame["Q254"] == 5).mean() == pytest.approx(0.01, abs=0.003)
    rate = (big_frame[list(WVS7_ITEMS)] < 0).mean()
    assert rate["Q240"] > rate["Q49"] and rate["Q182"] > 2 * rate["Q8"]   # sensitive items
    # a first-choice national aim that is missing leaves the second missing too
    assert (big_frame.loc[big_frame.Q154 < 0, "Q155"] < 0).all()
    zero = wvs_like_frame(n=500, seed=1, missing_rate=0.0, not_national_rate=0.0)
    assert (zero[list(WVS7_ITEMS)] > 0).all().all() and (zero["Q254"] < 5).all()
    high = wvs_like_frame(n=10000, seed=1, missing_rate=0.1)
    assert (high[list(WVS7_ITEMS)] < 0).to_numpy().mean() == pytest.approx(0.1, abs=0.006)


def test_derived_indices_equal_their_components(big_frame):
    f = big_frame
    q154, q155 = f.Q154.to_numpy(), f.Q155.to_numpy()
    y002 = np.full(len(f), -5)
    ok = (q154 > 0) & (q155 > 0)
    pair = np.sort(np.column_stack([q154, q155]), axis=1)
    y002[ok] = 2
    y002[ok & (pair[:, 0] == 1) & (pair[:, 1] == 3)] = 1      # order + prices
    y002[ok & (pair[:, 0] == 2) & (pair[:, 1] == 4)] = 3      # more say + free speech
    assert np.array_equal(y002, f.Y002.to_numpy())
    comp = f[["Q8", "Q14", "Q15", "Q17"]].to_numpy()
    ok = (comp > 0).all(axis=1)
    m = (comp == 1).astype(int)
    y003 = np.where(ok, m[:, 0] + m[:, 1] - m[:, 2] - m[:, 3], -5)
    assert np.array_equal(y003, f.Y003.to_numpy())
    assert set(f.Y003) == {-5, -2, -1, 0, 1, 2} and set(f.Y002) == {-5, 1, 2, 3}


def test_survey_matches_frame_and_derived_items():
    f = wvs_like_frame(n=600, seed=9)
    s = wvs_like(n=600, seed=9, derived=True)
    assert s.name == "gold" and s.item_names[-2:] == ("Y002", "Y003")
    assert list(s.demographics.columns) == list(GOLD_DEMOGRAPHICS)
    np.testing.assert_array_equal(s.weights, f["W_WEIGHT"])
    resp = s.responses()
    for q in list(WVS7_ITEMS) + ["Y002", "Y003"]:
        raw = f[q].where(f[q] > -3 if q == "Y003" else f[q] > 0)
        if q == "Q254":
            raw = raw.where(raw < 5)
        np.testing.assert_array_equal(resp[q].to_numpy(dtype=float, na_value=np.nan),
                                      raw.to_numpy(dtype=float), err_msg=q)
    with pytest.raises(ValueError, match="country"):
        wvs_like(n=10, country="ATL")
    with pytest.raises(ValueError, match="missing_rate"):
        wvs_like(n=10, missing_rate=0.9)


def test_inglehart_welzel_items_have_the_expected_correlation_signs(big_frame):
    x = _valid_codes(big_frame, IW_SINGLE + ["Y002", "Y003"])
    x["Y003"] = big_frame["Y003"].where(big_frame["Y003"] > -5)
    r = x.corr()
    # traditional/secular: Q164 (high = traditional) against the secular-coded items
    for q in ("Q184", "Q254", "Q45", "Y003"):
        assert r.loc["Q164", q] < -0.05, q
    assert r.loc["Q164", "Q184"] < -0.35
    # survival/self-expression: Q182 and Y002 (high = self-expression) against survival-coded
    assert r.loc["Q182", "Q184"] > 0.2 and r.loc["Q182", "Y002"] > 0.3
    for q in ("Q46", "Q209", "Q57"):
        assert r.loc["Q182", q] < -0.1 and r.loc["Y002", q] < -0.1, q
    # two clear dimensions: within-dimension associations beat cross-dimension ones
    trad, surv = ["Q164", "Q184", "Y003"], ["Q182", "Y002", "Q46", "Q209"]
    within = np.mean([abs(r.loc[a, b]) for g in (trad, surv) for a in g for b in g if a < b])
    cross = np.mean([abs(r.loc[a, b]) for a in ["Q164", "Y003"] for b in ["Q46", "Q209", "Q57"]])
    assert within > 2.5 * cross


def _tetrachoric(a: np.ndarray, b: np.ndarray) -> float:
    """Two-step ML tetrachoric correlation of two 0/1 vectors (reference computation)."""
    p11 = np.mean((a == 1) & (b == 1))
    ta, tb = stats.norm.ppf(1 - a.mean()), stats.norm.ppf(1 - b.mean())

    def gap(rho):
        cdf = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([-ta, -tb])
        return cdf - p11
    return optimize.brentq(gap, -0.99, 0.99)


def test_truth_implied_correlation_matches_the_data():
    s, truth = wvs_like(n=20000, seed=2, missing_rate=0.0, return_truth=True)
    assert repr(truth).startswith("GenerativeTruth(country='SGP', n=20000")
    imp = truth.implied_correlation()
    assert np.allclose(np.diag(imp), 1.0) and np.linalg.eigvalsh(imp.to_numpy()).min() > 0
    # tetrachoric correlation of two child qualities estimates the implied latent correlation;
    # its SE at n = 20 000 is about 0.012, so 0.04 is > 3 SE
    idx = s.category_indices()
    j15, j17 = s.item_names.index("Q15"), s.item_names.index("Q17")
    rho = _tetrachoric(idx[:, j15], idx[:, j17])
    assert rho == pytest.approx(imp.loc["Q15", "Q17"], abs=0.04)
    # the drawn trait scores carry the demographic effects
    demo = s.demographics
    sec = truth.scores["traditional_secular"]
    assert sec[demo.Q289 == 0].mean() > sec[demo.Q289 == 5].mean() + 0.5
    std = truth.standardized_loadings()
    assert std.shape == (25, 3) and (std.abs() < 1).all().all()
    assert truth.to_frame().shape == (75, 3)
    # derived indices: Y003 on the secular pole, Y002 on the self-expression pole
    d = truth.derived_loadings
    assert d.loc["Y003", "traditional_secular"] > 0.5 > abs(d.loc["Y003", "nuisance"])
    assert d.loc["Y002", "survival_self_expression"] > 0.5
    assert truth.loadings.loc["Q15", "traditional_secular"] > 0 > truth.loadings.loc[
        "Q164", "traditional_secular"]
    pd.testing.assert_frame_equal(wvs_like_truth(n=20000, seed=2, missing_rate=0.0).loadings,
                                  truth.loadings)


@pytest.mark.parametrize("fmt", ["csv", "sav", "dta"])
def test_official_layout_round_trip(tmp_path, fmt):
    path = write_official_layout(tmp_path / f"wvs7.{fmt}", n=300, seed=4)
    frame = wvs_like_frame(n=300, seed=4)
    back, labels = read_table(path)
    assert list(back.columns) == list(frame.columns)
    num = [c for c in frame.columns if c != "B_COUNTRY_ALPHA"]
    np.testing.assert_allclose(back[num].to_numpy(float), frame[num].to_numpy(float),
                               rtol=1e-12, atol=0)
    assert (back["B_COUNTRY_ALPHA"] == "SGP").all()
    if fmt != "csv":
        assert labels["Q154"][2] == "Giving people more say in important government decisions"
        assert labels["Q254"][5] == "I am not [nationality]"
        assert labels["Q164"][-1] == "Don't know" and labels["Q164"][10] == "Very important"
        assert labels["Q290"][702004] == "SG: Chinese"
        assert labels["Y003"][2].startswith("2")
    s = pa.read_survey(path, items=codebook_items(), demographics=list(GOLD_DEMOGRAPHICS),
                       weights="W_WEIGHT")
    np.testing.assert_array_equal(s.category_indices(),
                                  wvs_like(n=300, seed=4).category_indices())


# ---------------------------------------------------------------------------------------------
# shuffled: the exact-marginal simulator
# ---------------------------------------------------------------------------------------------
def _assert_same_marginals(a: pa.Survey, b: pa.Survey, rows_a=None, rows_b=None):
    ia = a.category_indices() if rows_a is None else a.category_indices()[rows_a]
    ib = b.category_indices() if rows_b is None else b.category_indices()[rows_b]
    wa = a.weights_or_ones() if rows_a is None else a.weights_or_ones()[rows_a]
    wb = b.weights_or_ones() if rows_b is None else b.weights_or_ones()[rows_b]
    for j in range(ia.shape[1]):
        # unweighted: identical counts of every category, missing (-1) and invalid (-2)
        ca = np.bincount(ia[:, j] + 2, minlength=12)
        cb = np.bincount(ib[:, j] + 2, minlength=12)
        assert np.array_equal(ca, cb), a.item_names[j]
        # weighted: identical up to floating-point summation order
        np.testing.assert_allclose(np.bincount(ia[:, j] + 2, weights=wa, minlength=12),
                                   np.bincount(ib[:, j] + 2, weights=wb, minlength=12),
                                   rtol=1e-12, atol=1e-9, err_msg=a.item_names[j])


def test_shuffled_keeps_every_marginal_exactly(gold):
    by = ["Q260", "X003R"]
    sim = shuffled(gold, by=by, seed=3)
    assert sim.name == "shuffled"
    pd.testing.assert_frame_equal(sim.demographics, gold.demographics)
    np.testing.assert_array_equal(sim.weights, gold.weights)
    _assert_same_marginals(gold, sim)                                     # overall
    for cols in (by, ["Q260"], ["X003R"]):                                # every subgroup
        for rows in gold.demographics.groupby(cols).indices.values():
            _assert_same_marginals(gold, sim, rows, rows)
    # but the answers really moved, independently per item
    moved = (sim.category_indices() != gold.category_indices()).mean()
    assert moved > 0.4


def test_shuffled_destroys_structure(gold):
    # under independence each Pearson r has SD ~ 1/sqrt(5000) = 0.014, so the mean |r| over
    # ~300 pairs is ~0.011; gold's is ~0.14
    assert _mean_abs_corr(gold) > 0.1
    assert _mean_abs_corr(shuffled(gold, seed=4, weights="ignore")) < 0.025
    # within cells only the cell-mean part of the association can survive; with exact weights
    # the weighting cells (sex x age band x ethnic group here) are permutation cells too
    assert _mean_abs_corr(shuffled(gold, seed=4)) < 0.05
    assert _mean_abs_corr(shuffled(gold, by=["Q260", "X003R", "Q290"], seed=4)) < 0.05


def test_shuffled_keeps_linked_aims_and_derived_indices():
    g = wvs_like(n=3000, seed=8, derived=True)
    sim = shuffled(g, by="Q290", seed=1)
    _assert_same_marginals(g.select(["Q154", "Q155", "Y002"]),
                           sim.select(["Q154", "Q155", "Y002"]))
    r = sim.responses()
    both = r.Q154.notna() & r.Q155.notna()
    assert not (r.Q154[both] == r.Q155[both]).any()
    # Y003 is recomputed from independently permuted components, so it stays consistent
    comp = r[["Q8", "Q14", "Q15", "Q17"]]
    m = (comp == 1).astype("Int64")
    y003 = m.Q8 + m.Q14 - m.Q15 - m.Q17
    assert (y003.dropna() == r.Y003[y003.notna()]).all()
    assert r.Y003[comp.isna().any(axis=1)].isna().all()


def test_shuffled_weight_policy(gold):
    rng = np.random.default_rng(0)
    frame = gold.to_frame()
    frame["W_WEIGHT"] = rng.uniform(0.5, 1.5, len(frame))     # continuous weights
    cont = pa.Survey(frame, gold.items, demographics=list(GOLD_DEMOGRAPHICS), weights="W_WEIGHT")
    with pytest.raises(ValueError, match="weights='ignore'"):
        shuffled(cont, seed=0)
    sim = shuffled(cont, by="Q260", seed=0, weights="ignore")
    for rows in cont.demographics.groupby("Q260").indices.values():
        for j in range(cont.n_items):
            a = np.bincount(cont.category_indices()[rows, j] + 2, minlength=12)
            b = np.bincount(sim.category_indices()[rows, j] + 2, minlength=12)
            assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="weights must be"):
        shuffled(gold, weights="approximate")
    with pytest.raises(KeyError, match="religion"):
        shuffled(gold, by="religion")


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_shuffled_exact_marginals_property(data):
    n = data.draw(st.integers(12, 60))
    K = data.draw(st.integers(2, 5))
    p = data.draw(st.integers(1, 4))
    seed = data.draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    codes = rng.integers(-1, K, size=(n, p))                  # -1 = missing
    df = pd.DataFrame(np.where(codes >= 0, codes + 1, -1), columns=[f"V{j}" for j in range(p)])
    df["grp"] = rng.integers(0, 3, n)
    df["w"] = rng.choice([0.5, 1.0, 2.0], n)
    items = [pa.Item(f"V{j}", codes=tuple(range(1, K + 1))) for j in range(p)]
    s = pa.Survey(df, items, demographics=["grp"], weights="w")
    sim = shuffled(s, by="grp", seed=seed)
    for rows in s.demographics.groupby("grp").indices.values():
        _assert_same_marginals(s, sim, rows, rows)


# ---------------------------------------------------------------------------------------------
# the other simulators: each documented effect is measurable
# ---------------------------------------------------------------------------------------------
def test_every_simulator_returns_a_compatible_survey(gold):
    sims = simulated_populations(gold, seed=7)
    assert list(sims) == ["persona", "finetuned", "stereotyped", "mode_collapsed", "shuffled"]
    for name, sim in sims.items():
        pa.check_compatible(gold, sim)
        assert sim.name == name and sim.n_respondents == len(gold)
        assert list(sim.demographics.columns) == list(GOLD_DEMOGRAPHICS)
        assert "W_WEIGHT" in sim.to_frame().columns
        r = sim.responses()
        both = r.Q154.notna() & r.Q155.notna()
        assert not (r.Q154[both] == r.Q155[both]).any(), name
    again = simulated_populations(gold, seed=7)
    for name in sims:
        assert np.array_equal(sims[name].category_indices(), again[name].category_indices())
    other = simulated_populations(gold, seed=8)
    assert not np.array_equal(sims["persona"].category_indices(),
                              other["persona"].category_indices())
    small = persona_like(gold, n=700, seed=1)
    assert small.n_respondents == 700 and len(small.weights) == 700


def test_persona_like_attenuates_correlations_by_the_stated_factor(gold):
    sim = persona_like(gold, seed=2, attenuation=0.49, shrink=0.0, invalid_rate=0.0)
    cg = _index_frame(gold).corr().to_numpy()
    cs = _index_frame(sim).corr().to_numpy()
    iu = np.triu_indices_from(cg, 1)
    slope = np.sum(cg[iu] * cs[iu]) / np.sum(cg[iu] ** 2)
    # covariances x 0.49 exactly in expectation with variances unchanged; sampling noise of
    # the ~300 correlations (SD ~0.014 each) puts the slope within about +-0.03
    assert slope == pytest.approx(0.49, abs=0.05)
    default = persona_like(gold, seed=2)
    assert _mean_abs_corr(default) < 0.6 * _mean_abs_corr(gold)
    assert default.invalid_mask.mean() == pytest.approx(0.01, abs=0.002)


def test_persona_like_pulls_means_to_the_scale_centre(gold):
    s = 0.5
    sim = persona_like(gold, seed=3, attenuation=1.0, shrink=s, invalid_rate=0.0)
    g, m = _index_frame(gold), _index_frame(sim)
    for it in gold.items:
        if it.kind == "nominal":
            continue
        c = (it.n_categories - 1) / 2
        # E[x'] - c = (1 - s)(E[x] - c) exactly in expectation; stochastic rounding adds
        # noise of SD <= 0.5/sqrt(5000) = 0.007 to the mean
        assert m[it.name].mean() - c == pytest.approx((1 - s) * (g[it.name].mean() - c),
                                                      abs=0.03), it.name
        if it.n_categories == 10:      # rounding noise (<= 1/4) cannot offset (1 - s)^2 here
            assert m[it.name].std() < g[it.name].std()
    # nominal aims move towards uniform
    j = gold.item_names.index("Q154")
    assert np.ptp(_weighted_dist(sim, j)) < np.ptp(_weighted_dist(gold, j))


def test_mode_collapsed_concentrates_answers_on_the_mode(gold):
    T = 0.3
    sim = mode_collapsed(gold, seed=5, temperature=T)
    for j, it in enumerate(gold.items):
        p = _weighted_dist(gold, j)
        q = _weighted_dist(sim, j)
        assert q.argmax() == p.argmax(), it.name
        assert q.max() > p.max(), it.name
        if it.name in ("Q154", "Q155"):       # collapsed as one ordered pair, checked below
            continue
        target = p ** (1 / T) / np.sum(p ** (1 / T))
        # exact in expectation; multinomial noise at n = 5000 is < 0.01 per category
        np.testing.assert_allclose(q, target, atol=0.03, err_msg=it.name)

    def pair_dist(s):
        i = s.category_indices()
        j1, j2 = s.item_names.index("Q154"), s.item_names.index("Q155")
        ok = (i[:, j1] >= 0) & (i[:, j2] >= 0)
        d = np.bincount(i[ok, j1] * 4 + i[ok, j2], weights=s.weights[ok], minlength=16)
        return d / d.sum()
    p, q = pair_dist(gold), pair_dist(sim)
    np.testing.assert_allclose(q, p ** (1 / T) / np.sum(p ** (1 / T)), atol=0.03)
    same = mode_collapsed(gold, seed=5, temperature=1.0)
    for j in range(gold.n_items):
        np.testing.assert_allclose(_weighted_dist(same, j), _weighted_dist(gold, j), atol=0.03)
    with pytest.raises(ValueError, match="temperature"):
        mode_collapsed(gold, temperature=0)


def _between_spread(s: pa.Survey, by: str) -> float:
    """Mean over ordinal items of the SD across subgroups of the weighted mean category."""
    df = _index_frame(s)
    w = s.weights_or_ones()
    groups = s.demographics[by].to_numpy()
    sds = []
    for it in s.items:
        if it.kind == "nominal":
            continue
        x = df[it.name].to_numpy()
        ok = ~np.isnan(x)
        means = [np.average(x[ok & (groups == g)], weights=w[ok & (groups == g)])
                 for g in np.unique(groups)]
        sds.append(np.std(means))
    return float(np.mean(sds))


def test_stereotyped_exaggerates_subgroup_differences(gold):
    by = ["Q260", "X003R", "Q290", "Q289"]
    base = _between_spread(gold, "Q289")
    spreads = [_between_spread(stereotyped(gold, by=by, seed=6, exaggeration=g), "Q289")
               for g in (0.0, 1.0, 2.0)]
    # gamma = 0 reproduces gold's cells up to smoothing by one pseudo-respondent per cell
    assert spreads[0] == pytest.approx(base, rel=0.1)
    assert spreads[0] < spreads[1] < spreads[2]
    assert spreads[1] > 1.5 * base
    auto = stereotyped(gold, seed=6)
    assert _between_spread(auto, "X003R") > _between_spread(gold, "X003R")
    with pytest.raises(ValueError, match="exaggeration"):
        stereotyped(gold, exaggeration=-1)


def test_finetuned_like_keeps_marginals_and_breaks_cross_block_correlations(gold):
    block_a = ["Q164", "Q6", "Q173"]
    rest = [q for q in gold.item_names if q not in block_a]
    sim = finetuned_like(gold, seed=4, blocks=[block_a, rest], jitter=0.0)
    cg, cs = _index_frame(gold).corr(), _index_frame(sim).corr()
    # same block (the respondent's own answers): correlation kept exactly
    assert cs.loc["Q164", "Q6"] == pytest.approx(cg.loc["Q164", "Q6"], abs=1e-12)
    # different blocks, one cell: independent (|r| ~ 0.014 under independence)
    assert cg.loc["Q164", "Q184"] < -0.3 and abs(cs.loc["Q164", "Q184"]) < 0.05
    # with cells, the between-cell (ecological) part survives
    cells = finetuned_like(gold, seed=4, by="Q289", blocks=[block_a, rest], jitter=0.0)
    r = _index_frame(cells).corr().loc["Q164", "Q184"]
    assert cg.loc["Q164", "Q184"] < r < -0.05
    # marginals close: donors from the same cell reproduce the distributions
    dflt = finetuned_like(gold, seed=4, by=["Q260", "X003R"])
    for j, it in enumerate(gold.items):
        tv = 0.5 * np.abs(_weighted_dist(dflt, j) - _weighted_dist(gold, j)).sum()
        assert tv < 0.06, it.name
    assert _mean_abs_corr(dflt) < 0.7 * _mean_abs_corr(gold)


def test_finetuned_like_flip_reverses_an_association(gold):
    sim = finetuned_like(gold, seed=1, blocks=1, flip=["Q184"], jitter=0.0)
    cg, cs = _index_frame(gold).corr(), _index_frame(sim).corr()
    assert cg.loc["Q184", "Q164"] < -0.3 and cs.loc["Q184", "Q164"] > 0.3
    j = gold.item_names.index("Q184")
    np.testing.assert_allclose(_weighted_dist(sim, j), _weighted_dist(gold, j), atol=0.03)
    assert cs.loc["Q6", "Q164"] == pytest.approx(cg.loc["Q6", "Q164"], abs=1e-12)
    with pytest.raises(ValueError, match="cover"):
        finetuned_like(gold, blocks=[["Q164"]])
    with pytest.raises(KeyError, match="Q999"):
        finetuned_like(gold, flip=["Q999"])


def test_invalid_answers_are_reported_apart(gold):
    sim = mode_collapsed(gold, seed=1, invalid_rate=0.05)
    rate = sim.invalid_rate()
    assert rate.mean() == pytest.approx(0.05, abs=0.005)
    assert np.all(sim.missing_mask.mean(axis=0) < 0.15)
    with pytest.raises(ValueError, match="invalid_rate"):
        persona_like(gold, invalid_rate=2.0)


def test_simulators_on_an_unweighted_survey_without_demographics(gold):
    bare = pa.Survey(gold.to_frame(), gold.items, name="bare")
    sims = simulated_populations(bare, seed=1)
    assert list(sims) == ["persona", "finetuned", "mode_collapsed", "shuffled"]
    for sim in sims.values():
        assert sim.weights is None and sim.demographics.shape[1] == 0
    _assert_same_marginals(bare, sims["shuffled"])
    with pytest.raises(ValueError, match="by=\\[...\\]"):
        stereotyped(bare)


def test_simulators_recompute_derived_indices():
    g = wvs_like(n=800, seed=2, derived=True)
    for name, sim in simulated_populations(g, seed=2).items():
        r = sim.responses()
        m = (r[["Q8", "Q14", "Q15", "Q17"]] == 1).astype("Int64")
        y003 = m.Q8 + m.Q14 - m.Q15 - m.Q17
        assert (y003.dropna() == r.Y003[y003.notna()]).all(), name
        assert r.Y003[y003.isna()].isna().all(), name
        pair = r[["Q154", "Q155"]].dropna().astype(int)
        y002 = np.where(pair.isin([1, 3]).all(axis=1), 1,
                        np.where(pair.isin([2, 4]).all(axis=1), 3, 2))
        assert np.array_equal(y002, r.Y002[pair.index].to_numpy(dtype=int)), name
