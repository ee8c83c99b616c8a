"""Tests for popaudit.metrics.modal: modes, modal accuracy with tie policies, distances, MDS."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import popaudit as pa
from popaudit.data.distributions import AnswerDistributions

ORD5 = pa.Item("Q", codes=(1, 2, 3, 4, 5))
NOM3 = pa.Item("N", codes=(1, 2, 3), kind="nominal")


def dist(vectors, items=(ORD5,), name=None):
    """AnswerDistributions from {(subgroup, item): probability vector}."""
    rows = []
    by_name = {it.name: it for it in items}
    for (sub, item), vec in vectors.items():
        for code, pr in zip(by_name[item].codes, vec):
            rows.append({"subgroup": sub, "item": item, "option": code, "probability": pr})
    return AnswerDistributions.from_frame(pd.DataFrame(rows), list(items), name=name)


def one(gold_vec, sim_vec, **kw):
    res = pa.compare_modes(dist({("s", "Q"): gold_vec}), dist({("s", "Q"): sim_vec}), **kw)
    return res, res.per_pair.iloc[0]


# -- hand-computed tie cases ----------------------------------------------------------

GOLD_TIE = [0.4, 0.4, 0.1, 0.1, 0.0]   # gold modes codes 1 and 2 (positions 0, 1)
SIM_ONE = [0.0, 0.6, 0.4, 0.0, 0.0]    # simulated mode code 2 (position 1)


def test_gold_tie_any():
    res, row = one(GOLD_TIE, SIM_ONE, ties="any")
    assert row["gold_modes"] == (1, 2) and row["sim_modes"] == (2,)
    assert row["credit"] == 1.0
    assert row["distance_error"] == 0.0
    # d(k) = distance to nearest gold mode = [0, 0, 1, 2, 3]; E = .4 * 1 / (K - 1)
    assert row["expected_distance"] == pytest.approx(0.4 / 4)
    assert res.accuracy == 1.0 and res.n_unresolved == 0


def test_gold_tie_fractional():
    _, row = one(GOLD_TIE, SIM_ONE, ties="fractional")
    assert row["credit"] == 0.5
    # d(k) = mean(|k - 0|, |k - 1|) = [.5, .5, 1.5, 2.5, 3.5]
    assert row["distance_error"] == pytest.approx(0.5 / 4)
    assert row["expected_distance"] == pytest.approx((0.6 * 0.5 + 0.4 * 1.5) / 4)


def test_gold_tie_strict_is_unresolved_and_reported():
    res, row = one(GOLD_TIE, SIM_ONE, ties="strict")
    assert bool(row["unresolved"]) and row["unresolved_reason"] == "gold tie"
    assert pd.isna(row["credit"]) and pd.isna(row["distance_error"])
    assert res.n_unresolved == res.n_unresolved_gold == 1
    s = res.summary.set_index("metric")
    assert s.loc["accuracy", "n_pairs"] == 1 and s.loc["accuracy", "n_used"] == 0
    assert s.loc["accuracy", "n_unresolved"] == 1
    assert res.to_frame().empty
    # a resolved pair in the same comparison is scored normally
    gold = dist({("a", "Q"): GOLD_TIE, ("b", "Q"): [0, 0, 1, 0, 0]})
    sim = dist({("a", "Q"): SIM_ONE, ("b", "Q"): [0, 0, 0.7, 0.3, 0]})
    res2 = pa.compare_modes(gold, sim, ties="strict")
    assert res2.accuracy == 1.0 and res2.n_unresolved == 1
    assert res2.summary.set_index("metric").loc["accuracy", "n_used"] == 1


@pytest.mark.parametrize("sim_ties, credit, dist_err", [
    ("average", 0.5, (0 + 1) / 2 / 4),   # sim modes at positions 2, 3; gold at 2
    ("first", 1.0, 0.0),                 # first tied sim mode = position 2
])
def test_sim_tie_policies(sim_ties, credit, dist_err):
    _, row = one([0, 0, 1, 0, 0], [0, 0, 0.5, 0.5, 0], sim_ties=sim_ties)
    assert row["sim_modes"] == (3, 4)
    assert row["credit"] == credit
    assert row["distance_error"] == pytest.approx(dist_err)
    # expected distance ignores sim_ties: (.5 * 0 + .5 * 1) / 4
    assert row["expected_distance"] == pytest.approx(0.125)


def test_sim_tie_unresolved():
    res, row = one([0, 0, 1, 0, 0], [0.5, 0, 0, 0.5, 0], sim_ties="unresolved")
    assert row["unresolved_reason"] == "simulated tie" and pd.isna(row["credit"])
    assert res.n_unresolved_sim == 1 and res.n_unresolved_gold == 0
    _, avg = one([0, 0, 1, 0, 0], [0.5, 0, 0, 0.5, 0], sim_ties="average")
    assert avg["credit"] == 0.0
    assert avg["distance_error"] == pytest.approx((2 + 1) / 2 / 4)


def test_both_tied():
    gold, sim = [0.4, 0.4, 0.2, 0, 0], [0, 0.5, 0.5, 0, 0]  # G = {0, 1}, S = {1, 2}
    assert one(gold, sim, ties="any")[1]["credit"] == 0.5        # mean(1, 0)
    assert one(gold, sim, ties="fractional")[1]["credit"] == 0.25  # mean(1/2, 0)
    assert one(gold, sim, ties="any")[1]["distance_error"] == pytest.approx(0.5 * 1 / 4)
    _, row = one(gold, sim, ties="strict", sim_ties="unresolved")
    assert row["unresolved_reason"] == "gold and simulated tie"


def test_tie_tolerance():
    items = [pa.Item("Q", codes=(1, 2, 3))]
    # weights .1 + .2 on code 1 vs .3 on code 2: equal up to floating-point rounding
    gold = pa.Survey(pd.DataFrame({"Q": [1, 1, 2, 3], "w": [0.1, 0.2, 0.3, 0.05]}), items=items,
                     weights="w")
    assert pa.modes(gold)["modes"].iloc[0] == (1, 2)
    assert pa.modes(gold, tie_tol=0)["modes"].iloc[0] == (1,)


def test_nominal_distance_not_applicable():
    gold = dist({("s", "Q"): [0, 1, 0, 0, 0], ("s", "N"): [0.2, 0.5, 0.3]}, items=(ORD5, NOM3))
    sim = dist({("s", "Q"): [0, 0, 0, 1, 0], ("s", "N"): [0.6, 0.2, 0.2]}, items=(ORD5, NOM3))
    res = pa.compare_modes(gold, sim)
    per = res.per_pair.set_index("item")
    assert per.loc["N", "credit"] == 0.0 and not per.loc["N", "distance_applicable"]
    assert pd.isna(per.loc["N", "distance_error"]) and pd.isna(per.loc["N", "expected_distance"])
    assert per.loc["Q", "distance_error"] == pytest.approx(2 / 4)
    s = res.summary.set_index("metric")
    assert s.loc["accuracy", "n_used"] == 2
    assert s.loc["distance_error", "n_used"] == 1
    assert s.loc["distance_error", "n_not_applicable"] == 1
    long = res.to_frame()
    assert set(long.loc[long["item"] == "N", "metric"]) == {"accuracy"}
    assert not long["value"].isna().any()


def test_aggregation_counts_per_subgroup_and_item():
    gold = dist({("a", "Q"): [1, 0, 0, 0, 0], ("b", "Q"): [0, 1, 0, 0, 0],
                 ("a", "N"): [1, 0, 0], ("b", "N"): [0.5, 0.5, 0]}, items=(ORD5, NOM3))
    sim = dist({("a", "Q"): [1, 0, 0, 0, 0], ("b", "Q"): [0, 0, 0, 0, 1],
                ("a", "N"): [0, 1, 0], ("b", "N"): [0, 1, 0]}, items=(ORD5, NOM3))
    res = pa.compare_modes(gold, sim, ties="strict")
    # pairs: aQ correct, bQ wrong (distance 3/4), aN wrong, bN unresolved (gold tie)
    assert res.n_pairs == 4 and res.n_unresolved == 1
    assert res.accuracy == pytest.approx(1 / 3)
    assert res.distance_error == pytest.approx((0 + 0.75) / 2)
    ps = res.per_subgroup.set_index(["subgroup", "metric"])
    assert ps.loc[("a", "accuracy"), "mean"] == 0.5 and ps.loc[("a", "accuracy"), "n_used"] == 2
    assert ps.loc[("b", "accuracy"), "mean"] == 0.0 and ps.loc[("b", "accuracy"), "n_used"] == 1
    assert ps.loc[("b", "accuracy"), "n_unresolved"] == 1
    pi = res.per_item.set_index(["item", "metric"])
    assert pi.loc[("Q", "accuracy"), "mean"] == 0.5
    assert pi.loc[("N", "distance_error"), "n_not_applicable"] == 2
    s = res.summary.set_index("metric")
    assert s.loc["accuracy", "n_items"] == 2 and s.loc["accuracy", "n_subgroups"] == 2
    assert "unresolved: 1" in repr(res)


def test_surveys_by_subgroup_and_policy_errors():
    items = [pa.Item("Q", codes=(1, 2, 3))]
    gold = pa.Survey(pd.DataFrame({"Q": [1, 1, 2, 3, 3, 2], "g": [1, 1, 1, 2, 2, 2]}),
                     items=items, demographics=["g"])
    sim = pa.Survey(pd.DataFrame({"Q": [1, 2, 3, 3], "g": [1, 1, 2, 2]}), items=items,
                    demographics=["g"])
    res = pa.compare_modes(gold, sim, by="g", sim_ties="first", min_size=None)
    assert res.per_pair["subgroup"].tolist() == ["g=1", "g=2"]
    assert res.per_pair["credit"].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="ties must be one of"):
        pa.compare_modes(gold, sim, ties="random")
    with pytest.raises(ValueError, match="sim_ties"):
        pa.compare_modes(gold, sim, sim_ties="lowest")


def prob_vec(k):
    return st.lists(st.integers(0, 4), min_size=k, max_size=k).filter(sum).map(
        lambda v: np.asarray(v, float) / sum(v))  # small integers: ties are common


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6).flatmap(lambda k: st.tuples(prob_vec(k), prob_vec(k))),
       st.sampled_from(["any", "fractional", "strict"]),
       st.sampled_from(["average", "first", "unresolved"]))
def test_bounds_and_identity(pq, ties, sim_ties):
    p, q = pq
    item = pa.Item("Q", codes=tuple(range(1, len(p) + 1)))
    g = AnswerDistributions.from_frame(pd.DataFrame({
        "item": "Q", "option": item.codes, "probability": p}), [item], subgroup_col=None)
    s = AnswerDistributions.from_frame(pd.DataFrame({
        "item": "Q", "option": item.codes, "probability": q}), [item], subgroup_col=None)
    row = pa.compare_modes(g, s, ties=ties, sim_ties=sim_ties).per_pair.iloc[0]
    if not row["unresolved"]:
        for c in ("credit", "distance_error", "expected_distance"):
            assert 0.0 <= row[c] <= 1.0 + 1e-12
        if row["credit"] == 1.0:  # an exact hit has no distance error
            assert row["distance_error"] == 0.0
    same = pa.compare_modes(g, g, ties="any", sim_ties=sim_ties).per_pair.iloc[0]
    if not same["unresolved"]:
        assert same["credit"] == 1.0 and same["distance_error"] == 0.0


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_row_order_invariance(seed):
    rng = np.random.default_rng(seed)
    items = [pa.Item("A", codes=(1, 2, 3, 4)), pa.Item("B", codes=(1, 2, 3), kind="nominal")]

    def survey(n):
        return pa.Survey.from_category_indices(
            rng.integers(0, 3, (n, 2)), items,
            demographics=pd.DataFrame({"g": np.arange(n) % 3}), weights=rng.integers(1, 4, n))
    gold, sim = survey(24), survey(18)
    a = pa.compare_modes(gold, sim, by="g", ties="fractional", min_size=None).per_pair
    b = pa.compare_modes(gold.subset(rng.permutation(24)), sim.subset(rng.permutation(18)),
                         by="g", ties="fractional", min_size=None).per_pair
    pd.testing.assert_frame_equal(a, b)  # integer weights: shares exact, ties identical


# -- Modal Diversity Score ------------------------------------------------------------

def predictions(answers, item=ORD5):
    tab = pd.DataFrame({"subgroup": [f"s{i}" for i in range(len(answers))], "item": item.name,
                        "answer": answers})
    return AnswerDistributions.from_predictions(tab, [item])


@pytest.mark.parametrize("answers, expected", [
    ([2, 2, 2, 2], 0.0),                                 # consensus
    ([1, 2, 3], 1.0),                                    # |S| = 3 subgroups, 3 modes
    ([1, 1, 2, 3], 1.5 / np.log2(4)),                    # min(|S|=4, |C|=5) = 4
    ([1, 5], 1.0),                                       # min(2, 5) = 2
    ([1, 1, 1, 2], -(0.75 * np.log2(0.75) + 0.25 * np.log2(0.25)) / 2),
])
def test_mds_analytic(answers, expected):
    res = pa.modal_diversity(predictions(answers))
    assert float(res.per_item["mds"].iloc[0]) == pytest.approx(expected, abs=1e-12)
    assert int(res.per_item["n_subgroups"].iloc[0]) == len(answers)


def test_mds_options_bound_the_denominator():
    item = pa.Item("B", codes=(0, 1), kind="binary")
    res = pa.modal_diversity(predictions([0, 0, 1, 1, 0, 1], item=item))
    assert float(res.per_item["mds"].iloc[0]) == pytest.approx(1.0)  # log2(min(6, 2)) = 1


def test_mds_tie_policies():
    four = pa.Item("F", codes=(1, 2, 3, 4))
    d = dist({("a", "F"): [0.5, 0.5, 0, 0], ("b", "F"): [0, 0, 0.5, 0.5]}, items=(four,))
    frac = pa.modal_diversity(d, ties="fractional")
    assert float(frac.per_item["mds"].iloc[0]) == pytest.approx(2.0)  # exceeds 1: documented
    assert int(frac.per_item["n_tied_subgroups"].iloc[0]) == 2
    first = pa.modal_diversity(d, ties="first")
    assert float(first.per_item["mds"].iloc[0]) == pytest.approx(1.0)  # modes 1 and 3
    excl = pa.modal_diversity(d, ties="exclude")
    assert excl.per_item.empty and len(excl.skipped) == 1
    assert excl.summary["n_items_skipped"].iloc[0] == 1


def test_mds_strata_from_survey_and_mapping():
    items = [pa.Item("Q", codes=(1, 2, 3))]
    df = pd.DataFrame({"Q": [1, 1, 2, 2, 3, 3, 3, 1],
                       "sex": [1, 1, 2, 2, 1, 1, 2, 2], "age": [1, 1, 1, 1, 2, 2, 2, 2]})
    s = pa.Survey(df, items=items, demographics=["sex", "age"])
    res = pa.modal_diversity(s, strata=["sex", ["sex", "age"]])
    assert res.summary["stratum"].tolist() == ["sex", "sex x age"]
    per = res.per_item.set_index("stratum")
    # sex x age cells: (1,1)->1, (2,1)->2, (1,2)->3, (2,2)->{1,3} tie (fractional)
    p = np.array([1.5, 1, 1.5]) / 4
    assert float(per.loc["sex x age", "mds"]) == pytest.approx(
        -(p * np.log2(p)).sum() / np.log2(3))
    d = pa.answer_distributions(s, by=["sex", "age"])
    res2 = pa.modal_diversity(d, strata={"age=1": ["sex=1 & age=1", "sex=2 & age=1"]})
    assert float(res2.per_item["mds"].iloc[0]) == pytest.approx(1.0)  # modes 1 vs 2, log2 2
    with pytest.raises(ValueError, match="strata"):
        pa.modal_diversity(s)
    one_group = pa.modal_diversity(d, strata={"x": ["sex=1 & age=1"]})
    assert one_group.per_item.empty and one_group.summary["n_items_skipped"].iloc[0] == 1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=2, max_size=12))
def test_mds_bounds(answers):
    item = pa.Item("Q", codes=tuple(range(6)))
    res = pa.modal_diversity(predictions(answers, item=item), ties="first")
    mds = float(res.per_item["mds"].iloc[0])
    assert -1e-12 <= mds <= 1 + 1e-12
    assert (mds == 0) == (len(set(answers)) == 1)
    # invariant to the order of subgroups
    rev = pa.modal_diversity(predictions(answers[::-1], item=item), ties="first")
    assert float(rev.per_item["mds"].iloc[0]) == pytest.approx(mds, abs=1e-12)


def test_mds_consensus_is_positive_zero():
    res = pa.modal_diversity(predictions([3, 3, 3]))
    assert str(float(res.per_item["mds"].iloc[0])) == "0.0"


def test_modal_distances_use_item_positions():
    """Gold mode on the first option, simulated mode on the third; positions (1, 2, 1.5)
    put the third option halfway: distance error 0.5 instead of 1 at unit spacing."""
    gold_df = pd.DataFrame({"q": [1, 1, 1, 2, 3]})
    sim_df = pd.DataFrame({"q": [3, 3, 3, 1, 2]})
    unit = pa.Item("q", codes=(1, 2, 3))
    placed = pa.Item("q", codes=(1, 2, 3), positions=(1, 2, 1.5))
    r_unit = pa.compare_modes(pa.Survey(gold_df, [unit]), pa.Survey(sim_df, [unit]))
    r_pos = pa.compare_modes(pa.Survey(gold_df, [placed]), pa.Survey(sim_df, [placed]))
    assert r_unit.distance_error == 1.0 and r_pos.distance_error == 0.5
    # expected distance: q = (.2, .2, .6) at distances (0, 1, 0.5) over diameter 1
    assert r_pos.expected_distance == pytest.approx(0.2 * 1 + 0.6 * 0.5)
    assert r_unit.expected_distance == pytest.approx((0.2 * 1 + 0.6 * 2) / 2)


def test_subgroup_of_one_is_not_scored_and_n_is_filled():
    """A subgroup with one respondent gets define_subgroups' minimum cell size (30), a
    warning naming it, and is listed in ``excluded``; every scored row carries its n."""
    import inspect

    from popaudit.data.distributions import MIN_CELL_SIZE
    from popaudit.subgroups.definition import define_subgroups

    assert inspect.signature(define_subgroups).parameters["min_size"].default == MIN_CELL_SIZE
    rng = np.random.default_rng(0)
    items = [pa.Item("A", codes=(1, 2, 3))]
    g = np.array(["big"] * 80 + ["tiny"])
    gold = pa.Survey(pd.DataFrame({"A": rng.integers(1, 4, 81), "g": g}), items,
                     demographics=["g"])
    sim = pa.Survey(pd.DataFrame({"A": rng.integers(1, 4, 81), "g": g}), items,
                    demographics=["g"])
    with pytest.warns(UserWarning, match=r"1 subgroup\(s\) below the minimum cell size 30 "
                                         r"excluded from the comparison of simulated with gold: "
                                         r"'g=tiny' \(n=1 in gold, n=1 in simulated\)"):
        res = pa.compare_modes(gold, sim, by="g")
    assert res.excluded == ("g=tiny",) and res.min_size == 30
    assert set(res.per_pair["subgroup"]) == {"g=big"}
    assert res.per_pair["n_gold"].tolist() == [80] and res.per_pair["n_sim"].tolist() == [80]
    long = res.to_frame()
    assert long["n"].notna().all() and (long["n"] == 80).all()
    with pytest.warns(UserWarning, match="'g=tiny'"):
        marg = pa.compare_marginals(gold, sim, by="g")
    assert marg.excluded == ("g=tiny",) and marg.to_frame()["n"].notna().all()
    # min_size=None scores every subgroup; whole populations are never filtered
    assert pa.compare_modes(gold, sim, by="g", min_size=None).n_pairs == 2
    small = gold.subset(np.arange(10))
    assert pa.compare_modes(small, small).n_pairs == 1
    with pytest.raises(ValueError, match="min_size must be a positive integer"):
        pa.compare_modes(gold, sim, by="g", min_size=0)


def test_simulated_keyword_settings_and_notes():
    items = [pa.Item("Q1", codes=(1, 2, 3))]
    g = np.repeat(["a", "b", "tiny"], [40, 40, 1])
    gold = pa.Survey(pd.DataFrame({"Q1": np.tile([1, 2, 2], 27), "g": g}), items,
                     demographics=["g"])
    sim = pa.Survey(pd.DataFrame({"Q1": np.tile([2, 3, 3], 27), "g": g}), items,
                    demographics=["g"])
    new = pa.compare_modes(gold, simulated=sim)
    with pytest.warns(DeprecationWarning, match="'sim' is deprecated, use 'simulated'"):
        old = pa.compare_modes(gold, sim=sim)
    pd.testing.assert_frame_equal(old.per_pair, new.per_pair)
    assert new.settings == {"by": (), "ties": "any", "sim_ties": "average", "tie_tol": 1e-9,
                            "unmatched": "raise", "min_size": 30}
    assert new.notes == ()
    with pytest.warns(UserWarning, match="tiny"):
        by_g = pa.compare_modes(gold, sim, by="g")
    assert by_g.settings["by"] == ("g",)
    assert by_g.notes == ("1 subgroup(s) below the minimum cell size left out: ['g=tiny']",)
    with pytest.warns(DeprecationWarning, match="'sim' is deprecated"):
        marg = pa.compare_marginals(gold, sim=sim)
    assert marg.settings["kl_smoothing"] == 1e-6 and marg.notes == ()
    with pytest.warns(DeprecationWarning, match="'sim' is deprecated"):
        al = pa.data.distributions.align(gold, sim=sim)
    assert al.notes == ()
    mds = pa.modal_diversity(gold, [("g",)])
    assert mds.settings == {"ties": "fractional", "tie_tol": 1e-9}
