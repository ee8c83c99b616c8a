"""Tests for popaudit.subgroups.definition: weighted subgroup distributions by hand, cell sizes, splits,
prediction tables (and their bad input), per-subgroup fidelity."""

import warnings

import numpy as np
import pandas as pd
import pytest

import popaudit as pa
from popaudit.subgroups.definition import (
    FIDELITY_METRICS,
    crossed_strata,
    define_subgroups,
    prediction_distributions,
    study_a_subgroups,
    subgroup_fidelity,
)

ITEMS = [pa.Item("Q1", codes=(1, 2, 3)), pa.Item("Q2", codes=(1, 2), kind="binary")]


@pytest.fixture
def tiny():
    df = pd.DataFrame({
        "sex": ["m", "m", "m", "f", "f", "f", "f"],
        "age": ["y", "o", "o", "y", "y", "o", "o"],
        "w": [1.0, 2.0, 1.0, 1.0, 3.0, 1.0, 1.0],
        "Q1": [1, 2, 2, 3, 1, -1, 3],
        "Q2": [1, 1, 2, 2, 2, 1, 1],
    })
    return pa.Survey(df, ITEMS, demographics=["sex", "age"], weights="w", name="tiny")


def quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


@pytest.fixture(scope="module")
def sgp():
    return pa.wvs_survey(pa.datasets.wvs_like_frame(n=2012, seed=0))


@pytest.fixture(scope="module")
def study_a(sgp):
    return quiet(study_a_subgroups, sgp)


# -- weighted subgroup distributions, by hand ------------------------------------------------

def test_weighted_subgroup_distributions_by_hand(tiny):
    sg = define_subgroups(tiny, ["sex", ("sex", "age")], min_size=1)
    assert sg.labels == ("sex=f", "sex=m", "sex=f & age=o", "sex=f & age=y", "sex=m & age=o",
                         "sex=m & age=y")
    # sex=f: Q1 rows (w=1, code 3), (w=3, code 1), (w=1, code 3); row with -1 is missing
    expect_q1 = [[0.6, 0, 0.4], [0.25, 0.75, 0], [0, 0, 1], [0.75, 0, 0.25], [0, 1, 0],
                 [1, 0, 0]]
    expect_q2 = [[2 / 6, 4 / 6], [0.75, 0.25], [1, 0], [0, 1], [2 / 3, 1 / 3], [1, 0]]
    np.testing.assert_allclose(sg.gold.probs[:, 0, :3], expect_q1, atol=1e-15)
    np.testing.assert_allclose(sg.gold.probs[:, 1, :2], expect_q2, atol=1e-15)
    t = sg.table.set_index("subgroup")
    assert t["n_respondents"].tolist() == [4, 3, 2, 2, 2, 1]
    assert t["weighted_n"].tolist() == [6.0, 4.0, 2.0, 4.0, 3.0, 1.0]
    assert t["stratum"].tolist() == ["sex"] * 2 + ["sex x age"] * 4
    assert t.loc["sex=f", "age"] is None and t.loc["sex=f & age=y", "age"] == "y"
    assert sg.gold.n[:, 0].tolist() == [3, 3, 1, 2, 2, 1]      # valid answers to Q1
    # membership: respondents belong to one subgroup per stratum
    assert sg.membership.sum(axis=1).tolist() == [2] * 7
    assert sg.membership[:, 0].tolist() == [False] * 3 + [True] * 4


def test_unweighted_survey_gives_plain_shares(tiny):
    s = pa.Survey(tiny.to_frame().drop(columns="w"), ITEMS, demographics=["sex", "age"])
    sg = define_subgroups(s, "sex", min_size=1)
    np.testing.assert_allclose(sg.gold.probs[0, 0, :3], [1 / 3, 0, 2 / 3])


def test_small_cells_are_excluded_with_a_listing_warning(tiny):
    with pytest.warns(UserWarning, match=r"1 subgroup\(s\) below the minimum cell size 2 "
                                         r"excluded: 'sex=m & age=y' \(n=1\)"):
        sg = define_subgroups(tiny, ["sex", ("sex", "age")], min_size=2)
    assert "sex=m & age=y" not in sg.labels
    assert sg.excluded["subgroup"].tolist() == ["sex=m & age=y"]
    assert sg.membership.shape == (7, 5) and sg.min_size == 2


def test_bad_strata(tiny):
    with pytest.raises(KeyError, match="religion"):
        define_subgroups(tiny, ["religion"])
    with pytest.raises(ValueError, match="same crossing"):
        define_subgroups(tiny, [("sex", "age"), ("age", "sex")])
    with pytest.raises(ValueError, match="no subgroup has at least 10"):
        quiet(define_subgroups, tiny, "sex", min_size=10)


def test_crossed_strata():
    assert crossed_strata(["a", "b", "c"], 1) == [("a",), ("b",), ("c",)]
    assert len(crossed_strata(["a", "b", "c", "d"], 2)) == 4 + 6


# -- splits ------------------------------------------------------------------------------------

def test_with_split_by_strata_and_labels(tiny):
    sg = define_subgroups(tiny, ["sex", "age", ("sex", "age")], min_size=1)
    a = sg.with_split(in_distribution=["sex", "age"])
    assert set(a.in_distribution) == {"sex=f", "sex=m", "age=o", "age=y"}
    assert len(a.out_of_distribution) == 4
    b = sg.with_split(in_distribution=["sex=f"], out_of_distribution=["sex x age"])
    assert b.split_of()["sex=m"] == "unassigned" and b.split_of()["sex=f & age=o"] == \
        "out_of_distribution"
    c = sg.with_split(out_of_distribution=[("age", "sex")])     # column order does not matter
    assert set(c.in_distribution) == {"sex=f", "sex=m", "age=o", "age=y"}
    with pytest.raises(ValueError, match="both in- and out-of-distribution"):
        sg.with_split(in_distribution=["sex"], out_of_distribution=["sex=f"])
    with pytest.raises(KeyError, match="neither a subgroup nor a stratum"):
        sg.with_split(in_distribution=["sex=x"])


def test_study_a_design(sgp, study_a):
    kept = study_a.kept
    assert (kept["n_respondents"] >= 30).all()
    assert (study_a.excluded["n_respondents"] < 30).all()
    ood = set(kept.loc[kept["split"] == "out_of_distribution", "stratum"])
    ind = set(kept.loc[kept["split"] == "in_distribution", "stratum"])
    assert ood == {"age_group x ethnicity", "age_group x religion", "ethnicity x religion"}
    assert ind == {"sex", "age_group", "ethnicity", "religion", "sex x age_group",
                   "sex x ethnicity", "sex x religion"}
    assert (len(study_a.in_distribution), len(study_a.out_of_distribution)) == (52, 52)
    with pytest.warns(UserWarning, match="33 subgroup"):
        study_a_subgroups(sgp)


# -- prediction tables --------------------------------------------------------------------------

def probs_table(rows):
    return pd.DataFrame(rows, columns=["subgroup", "item", "option", "probability"])


def test_prediction_tables_and_their_bad_input(tiny):
    sg = quiet(define_subgroups, tiny, ["sex", ("sex", "age")], min_size=2)
    good = probs_table([("sex=f", "Q1", 1, 0.2), ("sex=f", "Q1", 3, 0.8),
                        ("sex=m", "Q2", 2, 1.0)])
    d = prediction_distributions(good, sg)
    assert d.labels == ("sex=f", "sex=m")
    np.testing.assert_allclose(d.probs[0, 0, :3], [0.2, 0, 0.8])
    with pytest.raises(ValueError, match=r"1 subgroup\(s\) that are not subgroups .*'sex=x'"):
        prediction_distributions(probs_table([("sex=x", "Q1", 1, 1.0)]), sg)
    with pytest.raises(ValueError, match=r"item\(s\) \['Q999'\]"):
        prediction_distributions(probs_table([("sex=f", "Q999", 1, 1.0)]), sg)
    with pytest.raises(ValueError, match="not answer codes of their item.*'Q1'"):
        prediction_distributions(probs_table([("sex=f", "Q1", 7, 1.0)]), sg)
    with pytest.raises(ValueError, match="must sum to 1.*'sex=f', item 'Q1': sum 0.9"):
        prediction_distributions(probs_table([("sex=f", "Q1", 1, 0.5), ("sex=f", "Q1", 2, 0.4)]),
                                 sg)
    with pytest.warns(UserWarning, match=r"below the minimum cell size 2 are dropped: "
                                         r"'sex=m & age=y' \(n=1\)"):
        d = prediction_distributions(
            probs_table([("sex=f", "Q1", 1, 1.0), ("sex=m & age=y", "Q1", 1, 1.0)]), sg)
    assert d.labels == ("sex=f",)
    with pytest.raises(KeyError, match="probability"):
        prediction_distributions(pd.DataFrame({"subgroup": ["sex=f"], "item": ["Q1"]}), sg)


def test_predictions_by_axis_columns_and_single_answers(tiny):
    sg = define_subgroups(tiny, ["sex", ("sex", "age")], min_size=1)
    tab = pd.DataFrame({"sex": ["f", "m", "m"], "age": [None, "o", None],
                        "item": ["Q1", "Q1", "Q2"], "answer": [3, 2, 1]})
    d = prediction_distributions(tab, sg, subgroup_col=["sex", "age"])
    assert d.labels == ("sex=f", "sex=m", "sex=m & age=o")
    assert d.source == "predictions"
    bad = tab.assign(sex=[None, None, None])
    with pytest.raises(ValueError, match="not a stratum"):
        prediction_distributions(bad, sg, subgroup_col=["sex", "age"])


# -- fidelity -------------------------------------------------------------------------------------

def test_fidelity_of_single_answers_by_hand(tiny):
    sg = define_subgroups(tiny, ["sex", ("sex", "age")], min_size=1).with_split(
        in_distribution=["sex"])
    # sex=f: gold modes Q1 -> 1 (p .6), Q2 -> 2; predict 3 and 2: accuracy 1/2, NMAE (1 + 0)/2
    # sex=m: gold modes Q1 -> 2, Q2 -> 1; predict 1 and 2: accuracy 0, NMAE (1/2 + 1)/2
    tab = pd.DataFrame({"subgroup": ["sex=f", "sex=f", "sex=m", "sex=m"],
                        "item": ["Q1", "Q2", "Q1", "Q2"], "answer": [3, 2, 1, 2]})
    with pytest.warns(UserWarning, match=r"no answers for 4 kept subgroup"):
        fid = subgroup_fidelity(sg, tab, name="model")
    assert fid.missing_subgroups == sg.labels[2:]
    acc, nmae = fid.metric("accuracy"), fid.metric("nmae")
    assert acc.to_dict() == {"sex=f": 0.5, "sex=m": 0.0}
    assert nmae.to_dict() == {"sex=f": 0.5, "sex=m": 0.75}
    assert fid.mean("accuracy") == 0.25 and fid.mean("nmae", "in_distribution") == 0.625
    pp = fid.per_pair.set_index(["subgroup", "item"])
    assert pp.loc[("sex=f", "Q1"), "gold_modes"] == (1,)
    assert pp.loc[("sex=m", "Q1"), "expected_distance"] == 0.5
    # one-hot predictions: expected distance equals NMAE; W1/(K-1) to a point mass
    assert pp.loc[("sex=f", "Q1"), "w1_norm"] == pytest.approx((0.6 * 2) / 2)
    t = fid.to_frame()
    assert set(t["metric"]) == set(FIDELITY_METRICS) and (t["population"] == "model").all()


def test_fidelity_of_gold_against_itself(tiny):
    sg = define_subgroups(tiny, ["sex", ("sex", "age")], min_size=1)
    fid = subgroup_fidelity(sg, tiny, name="copy")
    assert (fid.metric("accuracy") == 1).all()
    assert (fid.metric("nmae") == 0).all() and (fid.metric("w1_norm") == 0).all()
    assert fid.sim_survey is tiny
    np.testing.assert_allclose(fid.diversity["mds_diff"], 0)
    # pairwise W1/(K-1) between sex=f and sex=m: Q1 CDFs (.6 .6 1) vs (.25 1 1) -> .75 / 2;
    # Q2 (binary) |1/3 - .75|; mean over the two items
    row = fid.diversity.set_index("stratum").loc["sex"]
    assert row["w1_pairwise_gold"] == pytest.approx((0.375 + 5 / 12) / 2)
    assert row["w1_pairwise_sim"] == row["w1_pairwise_gold"]


def test_fidelity_matches_compare_modes_and_marginals_per_stratum(sgp):
    sg = define_subgroups(sgp, ["sex", ("sex", "age_group")])
    sim = quiet(pa.datasets.persona_like, sgp, seed=2)
    fid = subgroup_fidelity(sg, sim, ties="fractional")
    for by in (["sex"], ["sex", "age_group"]):
        modal = pa.compare_modes(sgp, sim, by=by, ties="fractional").per_subgroup
        acc = modal[modal["metric"] == "accuracy"].set_index("subgroup")["mean"]
        np.testing.assert_allclose(fid.metric("accuracy")[acc.index], acc, rtol=0, atol=1e-14)
        marg = pa.compare_marginals(sgp, sim, by=by).per_subgroup
        w1 = marg[(marg["metric"] == "w1_norm")].set_index("subgroup")["mean"]
        np.testing.assert_allclose(fid.metric("w1_norm")[w1.index], w1, atol=1e-14)
    s = fid.summary.set_index(["metric", "split"])
    # the "all" row: mean over pairs = the per-pair column's mean
    assert s.loc[("nmae", "all"), "mean_pairs"] == pytest.approx(
        fid.per_pair["nmae"].astype(float).mean())
    assert s.loc[("accuracy", "all"), "n_subgroups"] == len(sg.labels)


def test_fidelity_on_the_study_a_split_reports_both_splits(study_a):
    from popaudit.datasets.predictions import modal_predictions
    tab = modal_predictions(study_a, hit_rate=0.5, miss_distance=0.5, seed=0)
    fid = subgroup_fidelity(study_a, tab, name="m")
    splits = set(fid.summary["split"])
    assert splits == {"in_distribution", "out_of_distribution", "all"}
    # exact construction: every subgroup hits round(0.5 * 27) = 14 of 27 items
    np.testing.assert_allclose(fid.metric("accuracy"), 14 / 27)
    assert set(fid.diversity["split"]) == {"in_distribution", "out_of_distribution"}
    assert "accuracy" in repr(fid)


def test_fidelity_simulated_keyword_settings_and_notes(tiny):
    sg = define_subgroups(tiny, "sex", min_size=1)
    assert sg.settings == {"strata": (("sex",),), "min_size": 1} and sg.notes == ()
    new = subgroup_fidelity(sg, simulated=tiny, name="copy")
    with pytest.warns(DeprecationWarning, match="'sim' is deprecated, use 'simulated'"):
        old = subgroup_fidelity(sg, sim=tiny, name="copy")
    pd.testing.assert_frame_equal(old.per_pair, new.per_pair)
    assert new.settings == {"ties": "any", "sim_ties": "average", "tie_tol": 1e-9,
                            "name": "copy"}
    assert new.notes == ()
    assert sg.compositional_split("sex").settings == sg.settings


def test_fidelity_bad_input(tiny):
    sg = define_subgroups(tiny, "sex", min_size=1)
    with pytest.raises(TypeError, match="simulated must be"):
        subgroup_fidelity(sg, [1, 2])
    other = pa.Survey(tiny.to_frame(), ITEMS, demographics=["age"])
    with pytest.raises(KeyError, match="lacks demographic column"):
        subgroup_fidelity(sg, other)
