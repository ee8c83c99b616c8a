"""Tests for popaudit.metrics.marginal: distribution distances and compare_marginals."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy, wasserstein_distance

import popaudit as pa
from popaudit.data.distributions import AnswerDistributions
from popaudit.metrics.marginal import (
    NOMINAL_METRICS,
    ORDINAL_METRICS,
    hellinger,
    is_degenerate,
    js_distance,
    kl_divergence,
    normalised_variance,
    representativeness,
    scale_mean,
    scale_sd,
    total_variation,
    w1_ordinal,
)


def prob_vectors(k_min=2, k_max=10):
    """Pairs of probability vectors of equal length K (with zeros allowed)."""
    def build(k):
        # no subnormals: scipy's jensenshannon overflows to inf on a 5e-324 share
        vec = st.lists(st.floats(0, 1, allow_subnormal=False), min_size=k,
                       max_size=k).filter(lambda v: sum(v) > 1e-3)
        return st.tuples(vec, vec)
    return st.integers(k_min, k_max).flatmap(build).map(
        lambda pq: tuple(np.asarray(v) / np.sum(v) for v in pq))


# -- analytic cases ---------------------------------------------------------------

def test_w1_analytic_and_scipy():
    assert w1_ordinal([1, 0, 0, 0], [0, 0, 0, 1]) == 1.0
    assert w1_ordinal([0, 1, 0], [0, 0, 1]) == 0.5
    assert representativeness([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 1.0
    p, q = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.4, 0.1, 0.1, 0.4])
    ref = wasserstein_distance(np.arange(4), np.arange(4), p, q) / 3
    assert w1_ordinal(p, q) == pytest.approx(ref, abs=1e-14)  # both exact CDF sums


@settings(max_examples=60, deadline=None)
@given(prob_vectors())
def test_w1_matches_scipy(pq):
    p, q = pq
    k = len(p)
    ref = wasserstein_distance(np.arange(k), np.arange(k), p, q) / (k - 1)
    assert float(w1_ordinal(p, q)) == pytest.approx(ref, abs=1e-12)  # float summation order


@settings(max_examples=60, deadline=None)
@given(prob_vectors())
def test_js_matches_scipy(pq):
    p, q = pq
    assert float(js_distance(p, q)) == pytest.approx(jensenshannon(p, q, base=2), abs=1e-7)
    # abs 1e-7: sqrt of a JSD near 0 amplifies rounding (sqrt(1e-15) ~ 3e-8)


def test_tv_hellinger_kl_by_hand():
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.0, 0.5, 0.5])
    assert total_variation(p, q) == 0.5
    assert hellinger(p, q) == pytest.approx(np.sqrt(0.5))  # sqrt(0.5 * (0.5 + 0.5))
    assert hellinger([1, 0], [0, 1]) == 1.0
    assert kl_divergence([0.5, 0.5], [0.25, 0.75], smoothing=0) == pytest.approx(
        0.5 * np.log(2) + 0.5 * np.log(2 / 3))
    assert np.isinf(kl_divergence(p, q, smoothing=0))
    eps = 1e-3
    ps, qs = (p + eps) / (1 + 3 * eps), (q + eps) / (1 + 3 * eps)
    assert kl_divergence(p, q, smoothing=eps) == pytest.approx(entropy(ps, qs), rel=1e-12)
    with pytest.raises(ValueError, match="smoothing"):
        kl_divergence(p, q, smoothing=-1)
    with pytest.raises(TypeError):
        kl_divergence(p, q)  # smoothing must be explicit


def test_scale_moments_and_normalised_variance():
    p = np.array([0.5, 0.0, 0.5])
    assert scale_mean(p, [1, 2, 3]) == 2.0
    assert scale_sd(p, [1, 2, 3]) == 1.0
    assert normalised_variance(p, [1, 2, 3]) == 0.25
    assert normalised_variance([0, 1, 0], [1, 2, 3]) == 0.0
    # non-unit codes: var on codes / range^2 (codes 0, 5, 10; all mass on 0 and 5)
    assert normalised_variance([0.5, 0.5, 0], [0, 5, 10]) == pytest.approx(6.25 / 100)


def test_padding_matches_unpadded():
    p, q = np.array([0.2, 0.3, 0.5]), np.array([0.6, 0.1, 0.3])
    pp, qp = np.r_[p, 0, 0], np.r_[q, 0, 0]
    assert w1_ordinal(pp, qp, n_categories=3) == pytest.approx(w1_ordinal(p, q))
    assert kl_divergence(pp, qp, smoothing=0.01, n_categories=3) == pytest.approx(
        kl_divergence(p, q, smoothing=0.01))
    assert js_distance(pp, qp) == pytest.approx(js_distance(p, q))
    assert normalised_variance(pp, [1, 2, 3, 0, 0], n_categories=3) == pytest.approx(
        normalised_variance(p, [1, 2, 3]))
    # batched with different K per row
    batch = np.stack([pp, np.r_[0.5, 0.5, 0, 0, 0]])
    other = np.stack([qp, np.r_[0, 1, 0, 0, 0]])
    np.testing.assert_allclose(w1_ordinal(batch, other, n_categories=[3, 2]),
                               [w1_ordinal(p, q), 0.5])
    with pytest.raises(ValueError, match="n_categories"):
        w1_ordinal(batch, other, n_categories=[3, 6])


def test_degenerate_flag():
    assert is_degenerate([[0, 1, 0], [0.5, 0.5, 0], [1e-12, 1 - 1e-12, 0]]).tolist() == \
        [True, False, False]
    assert is_degenerate([1e-12, 1 - 1e-12], atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(prob_vectors())
def test_bounds_symmetry_identity(pq):
    p, q = pq
    for f in (w1_ordinal, js_distance, total_variation, hellinger):
        d = float(f(p, q))
        assert 0.0 <= d <= 1.0 + 1e-12
        assert d == pytest.approx(float(f(q, p)), abs=1e-12)
        assert float(f(p, p)) == pytest.approx(0.0, abs=1e-7)  # JS: sqrt of rounding
    assert float(kl_divergence(p, q, smoothing=1e-6)) >= 0
    assert 0.0 <= float(normalised_variance(p, np.arange(len(p)))) <= 0.25 + 1e-12
    # TV bounds: H^2 <= TV <= H * sqrt(2) (Le Cam); W1/(K-1) <= TV
    h, tv = float(hellinger(p, q)), float(total_variation(p, q))
    assert h ** 2 <= tv + 1e-12 and tv <= h * np.sqrt(2) + 1e-12
    assert float(w1_ordinal(p, q)) <= tv + 1e-12


# -- compare_marginals --------------------------------------------------------------

ITEMS = [pa.Item("ord", codes=(1, 2, 3)), pa.Item("bin", codes=(0, 1), kind="binary"),
         pa.Item("nom", codes=(1, 2, 3, 4), kind="nominal")]


def gold_sim():
    gold = pa.Survey(pd.DataFrame({
        "ord": [1, 2, 2, 3], "bin": [0, 0, 1, 1], "nom": [1, 2, 3, 4], "g": [1, 1, 2, 2]}),
        items=ITEMS, demographics=["g"], name="wvs")
    sim = pa.Survey(pd.DataFrame({
        "ord": [2, 2, 2, 2], "bin": [1, 1, 1, 0], "nom": [1, 1, 1, 1], "g": [1, 1, 2, 2]}),
        items=ITEMS, demographics=["g"], name="persona")
    return gold, sim


def test_compare_overall_by_hand():
    gold, sim = gold_sim()
    res = pa.compare_marginals(gold, sim)
    per = res.per_item.set_index("item")
    # ord: gold (.25, .5, .25), sim (0, 1, 0): CDF diffs .25, .25 -> W1 .5, /2 = .25
    assert per.loc["ord", "w1_norm"] == pytest.approx(0.25)
    assert per.loc["ord", "representativeness"] == pytest.approx(0.75)
    assert per.loc["ord", "total_variation"] == pytest.approx(0.5)
    assert per.loc["ord", "mean_diff"] == pytest.approx(0.0)
    assert per.loc["ord", "sd_gold"] == pytest.approx(np.sqrt(0.5))
    assert per.loc["ord", "sd_diff_scaled"] == pytest.approx(-np.sqrt(0.5) / 2)
    assert per.loc["ord", "nvar_gold"] == pytest.approx(0.5 / 4)
    assert per.loc["ord", "nvar_sim"] == 0.0
    assert bool(per.loc["ord", "degenerate_sim"]) and not per.loc["ord", "degenerate_gold"]
    # binary: W1/(K-1) equals TV equals |p1 - q1|
    assert per.loc["bin", "w1_norm"] == pytest.approx(0.25)
    assert per.loc["bin", "total_variation"] == pytest.approx(0.25)
    assert per.loc["bin", "mean_diff"] == pytest.approx(0.25)
    # nominal: TV and JS only, the rest not applicable (<NA>, not NaN)
    assert per.loc["nom", "total_variation"] == pytest.approx(0.75)
    assert per.loc["nom", "js_distance"] == pytest.approx(
        jensenshannon([.25, .25, .25, .25], [1, 0, 0, 0], base=2))
    for m in set(ORDINAL_METRICS) - set(NOMINAL_METRICS):
        assert pd.isna(per.loc["nom", m])
    assert res.n_degenerate_sim == 2 and res.n_degenerate_gold == 0
    assert res.n_pairs == 3
    # long table has no rows for non-applicable metrics and no NaN
    long = res.to_frame()
    assert not long["value"].isna().any()
    assert set(long.loc[long["item"] == "nom", "metric"]) == set(NOMINAL_METRICS)
    assert (long["population"] == "persona").all()
    # summary: means and counts by item kind
    s = res.summary.set_index(["metric", "item_kind"])
    assert s.loc[("w1_norm", "ordinal"), "mean"] == pytest.approx(0.25)
    assert s.loc[("w1_norm", "ordinal"), "n_pairs"] == 2
    assert s.loc[("total_variation", "all"), "n_pairs"] == 3
    assert s.loc[("total_variation", "all"), "mean"] == pytest.approx((0.5 + 0.25 + 0.75) / 3)
    assert ("w1_norm", "nominal") not in s.index
    assert res.mean("total_variation", "nominal") == pytest.approx(0.75)
    assert "persona" in repr(res) and "degenerate" in repr(res)


def test_compare_by_subgroup_and_per_subgroup_means():
    gold, sim = gold_sim()
    res = pa.compare_marginals(gold, sim, by="g", min_size=None)
    assert res.n_pairs == 6
    assert set(res.per_item["subgroup"]) == {"g=1", "g=2"}
    row = res.per_item[(res.per_item.subgroup == "g=1") & (res.per_item.item == "ord")].iloc[0]
    # g=1: gold ord (1, 2) -> (.5, .5, 0); sim all 2 -> (0, 1, 0): W1 = .5, /2
    assert row["w1_norm"] == pytest.approx(0.25)
    ps = res.per_subgroup.set_index(["subgroup", "metric", "item_kind"])
    assert ps.loc[("g=1", "total_variation", "all"), "n_items"] == 3


def test_sim_as_distributions_equals_sim_as_survey():
    gold, sim = gold_sim()
    from_survey = pa.compare_marginals(gold, sim, by="g", min_size=None)
    tab = pa.answer_distributions(sim, by="g").to_frame()
    dist = AnswerDistributions.from_frame(tab, gold.items, subgroup_col=["g"])
    from_table = pa.compare_marginals(gold, dist, min_size=None)  # by taken from the table
    pd.testing.assert_frame_equal(
        from_survey.per_item.drop(columns=["n_sim"]), from_table.per_item.drop(columns=["n_sim"]))


def test_weighted_equals_replicated_rows():
    rng = np.random.default_rng(11)
    n = 80
    items = [pa.Item("A", codes=(1, 2, 3, 4, 5)), pa.Item("B", codes=(1, 2, 3), kind="nominal")]
    idx = np.column_stack([rng.integers(-1, 5, n), rng.integers(0, 3, n)])
    w = rng.integers(1, 5, n)
    demo = pd.DataFrame({"g": rng.integers(0, 2, n)})
    gold_w = pa.Survey.from_category_indices(idx, items, demographics=demo, weights=w)
    rep = np.repeat(np.arange(n), w)
    gold_r = pa.Survey.from_category_indices(idx[rep], items, demographics=demo.iloc[rep])
    sim = pa.Survey.from_category_indices(rng.integers(0, 3, (50, 2)), items,
                                          demographics=pd.DataFrame({"g": rng.integers(0, 2, 50)}))
    a = pa.compare_marginals(gold_w, sim, by="g", min_size=None).per_item
    b = pa.compare_marginals(gold_r, sim, by="g", min_size=None).per_item
    metrics = list(ORDINAL_METRICS)
    np.testing.assert_allclose(a[metrics].to_numpy(float, na_value=-1),
                               b[metrics].to_numpy(float, na_value=-1), atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_compare_invariant_to_row_order(seed):
    rng = np.random.default_rng(seed)
    items = [pa.Item("A", codes=(1, 2, 3, 4)), pa.Item("B", codes=(1, 2, 3), kind="nominal")]

    def survey(n):
        idx = rng.integers(0, 3, (n, 2))
        return pa.Survey.from_category_indices(
            idx, items, demographics=pd.DataFrame({"g": np.arange(n) % 2}),
            weights=rng.uniform(0.2, 2, n))
    gold, sim = survey(30), survey(20)
    a = pa.compare_marginals(gold, sim, by="g", min_size=None).to_frame()
    b = pa.compare_marginals(gold.subset(rng.permutation(30)), sim.subset(rng.permutation(20)),
                             by="g", min_size=None).to_frame()
    np.testing.assert_allclose(a["value"], b["value"], atol=1e-12)  # summation order
    assert (a["value"].between(-10, 10)).all()


def test_empty_cells_skipped_and_counted():
    items = [pa.Item("A", codes=(1, 2))]
    gold = pa.Survey(pd.DataFrame({"A": [1, 2, 2, -1], "g": [1, 1, 2, 3]}), items=items,
                     demographics=["g"])
    tab = pd.DataFrame({"subgroup": ["g=1", "g=1", "g=3", "g=3"], "item": "A",
                        "option": [1, 2, 1, 2], "probability": [0.5, 0.5, 0.2, 0.8]})
    sim = AnswerDistributions.from_frame(tab, items)
    with pytest.raises(ValueError, match="only in gold"):
        pa.compare_marginals(gold, sim, by="g", min_size=None)
    res = pa.compare_marginals(gold, sim, by="g", unmatched="drop", min_size=None)
    assert res.n_pairs == 1  # g=3 has no valid gold answer
    assert res.n_empty_gold == 1 and res.only_gold == ("g=2",)


def test_kl_smoothing_recorded_and_used():
    gold, sim = gold_sim()
    r1 = pa.compare_marginals(gold, sim, kl_smoothing=1e-3)
    r0 = pa.compare_marginals(gold, sim, kl_smoothing=0.0)
    assert r1.kl_smoothing == 1e-3
    ord1 = r1.per_item.set_index("item").loc["ord", "kl_divergence"]
    assert np.isfinite(ord1)
    assert np.isinf(r0.per_item.set_index("item").loc["ord", "kl_divergence"])


def test_speed_200_items_100_subgroups():
    """Metrics over 200 items x 100 subgroups from distributions (sanity, not a benchmark)."""
    import time
    rng = np.random.default_rng(0)
    items = [pa.Item(f"Q{j}", codes=tuple(range(1, 11)) if j % 3 else (1, 2, 3, 4),
                     kind="nominal" if j % 7 == 0 else "ordinal") for j in range(200)]
    G = 100

    def dist():
        K = np.array([it.n_categories for it in items])
        raw = rng.dirichlet(np.ones(10), size=(G, 200))
        raw = np.where(np.arange(10) < K[None, :, None], raw, 0)
        raw /= raw.sum(-1, keepdims=True)
        return AnswerDistributions(items=tuple(items), by=(), keys=tuple(() for _ in range(G)),
                                   labels=tuple(f"s{g}" for g in range(G)), probs=raw,
                                   has_data=np.ones((G, 200), bool), source="probabilities")
    gold, sim = dist(), dist()
    t0 = time.perf_counter()
    res = pa.compare_marginals(gold, sim)
    elapsed = time.perf_counter() - t0
    assert res.n_pairs == 20_000
    assert elapsed < 5.0  # generous on a loaded 2-core CI machine; typical ~0.2 s


# -- option positions (OpinionQA's ordinal values per option) -----------------------------------

def _opinionqa_w1(pos, p, q):
    """OpinionQA's helper: wasserstein_distance(ordinal, ordinal, p, q) / (max - min)."""
    pos = np.asarray(pos, dtype=float)
    return wasserstein_distance(pos, pos, p, q) / (pos.max() - pos.min())


@pytest.mark.parametrize("positions", [(1, 2, 1.5), (1, 3, 7), (0, 0.25, 1)])
def test_w1_positions_match_opinionqa(positions):
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(3), size=(2, 20))
    got = w1_ordinal(p, q, positions=positions)
    ref = [_opinionqa_w1(positions, a, b) for a, b in zip(p, q)]
    np.testing.assert_allclose(got, ref, atol=1e-15)  # same CDF sums in position order


def test_item_positions_reach_compare_marginals():
    """Codes [1, 3, 7]: unit spacing by default; positions=codes reproduces OpinionQA run with
    ordinal values = codes, which differs from unit spacing."""
    gold_df = pd.DataFrame({"q": [1] * 6 + [3] * 1 + [7] * 3})
    sim_df = pd.DataFrame({"q": [1] * 2 + [3] * 5 + [7] * 3})
    p, q = np.array([0.6, 0.1, 0.3]), np.array([0.2, 0.5, 0.3])

    def w1(item):
        res = pa.compare_marginals(pa.Survey(gold_df, [item]), pa.Survey(sim_df, [item]))
        return float(res.per_item["w1_norm"].iloc[0]), float(
            res.per_item["representativeness"].iloc[0])

    unit, _ = w1(pa.Item("q", codes=(1, 3, 7)))
    assert unit == pytest.approx(_opinionqa_w1([0, 1, 2], p, q), abs=1e-15)
    on_codes, rep = w1(pa.Item("q", codes=(1, 3, 7), positions=(1, 3, 7)))
    assert on_codes == pytest.approx(_opinionqa_w1([1, 3, 7], p, q), abs=1e-15)
    assert rep == pytest.approx(1 - on_codes, abs=1e-15)
    assert abs(unit - on_codes) > 0.05
    # a neutral option listed last, placed between the other two
    neutral, _ = w1(pa.Item("q", codes=(1, 3, 7), positions=(1, 2, 1.5)))
    assert neutral == pytest.approx(_opinionqa_w1([1, 2, 1.5], p, q), abs=1e-15)
