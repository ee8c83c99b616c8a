"""Tests for popaudit.data.distributions: weighted answer distributions and prediction tables."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import popaudit as pa
from popaudit.data import distributions as dmod
from popaudit.data.distributions import OVERALL, AnswerDistributions, align, subgroup_label

ITEMS = [pa.Item("Q1", codes=(1, 2, 3)), pa.Item("Q2", codes=(0, 1), kind="binary"),
         pa.Item("Q3", codes=(1, 2, 3, 4), kind="nominal")]


def small_survey(weights=True):
    df = pd.DataFrame({
        "Q1": [1, 2, 2, 3, -1, 3],
        "Q2": [1, 0, 1, "x", 1, 0],
        "Q3": [4, 4, 1, 2, 3, -2],
        "sex": [1, 1, 2, 2, 2, np.nan],
        "w": [1.0, 3.0, 2.0, 2.0, 1.0, 5.0],
    })
    return pa.Survey(df, items=ITEMS, demographics=["sex"], weights="w" if weights else None)


def reference_probs(survey, by):
    """Naive per-group, per-item weighted shares (loops; test oracle only)."""
    demo = survey.demographics
    idx = survey.category_indices()
    w = survey.weights_or_ones()
    out = {}
    for key, rows in demo.groupby(by, sort=True, dropna=True).indices.items():
        key = key if isinstance(key, tuple) else (key,)
        for j, it in enumerate(survey.items):
            col, ww = idx[rows, j], w[rows]
            tot = ww[col >= 0].sum()
            if tot > 0:
                out[(subgroup_label(by, key), it.name)] = np.array(
                    [ww[col == k].sum() / tot for k in range(it.n_categories)])
    return out


def test_weighted_shares_by_hand():
    d = pa.answer_distributions(small_survey(), by="sex")
    assert d.labels == ("sex=1", "sex=2")
    assert d.n_dropped == 1  # the respondent with a missing sex
    # sex=1: Q1 answers 1 (w1), 2 (w3) -> 1/4, 3/4, 0
    np.testing.assert_allclose(d.probs[0, 0], [0.25, 0.75, 0.0, 0.0])
    # sex=2: Q1 answers 2 (w2), 3 (w2), missing (w1) -> 0, .5, .5
    np.testing.assert_allclose(d.probs[1, 0], [0.0, 0.5, 0.5, 0.0])
    # sex=2: Q2 answers 1 (w2), invalid "x", 1 (w1) -> all on code 1
    np.testing.assert_allclose(d.probs[1, 1, :2], [0.0, 1.0])
    assert d.n.tolist() == [[2, 2, 2], [2, 2, 3]]
    assert d.n_invalid.tolist() == [[0, 0, 0], [0, 1, 0]]
    np.testing.assert_allclose(d.weighted_n, [[4, 4, 4], [4, 3, 5]])
    assert d.group_size.tolist() == [2, 3]
    assert d.has_data.all()
    # padding beyond K is zero
    assert d.probs.shape == (2, 3, 4)
    assert (d.probs[:, 1, 2:] == 0).all()


def test_overall_and_unweighted():
    d = pa.answer_distributions(small_survey(weights=False))
    assert d.labels == (OVERALL,)
    assert d.keys == ((),)
    # Q1 valid answers 1, 2, 2, 3, 3 (one missing) -> 1/5, 2/5, 2/5
    np.testing.assert_allclose(d.probs[0, 0, :3], [0.2, 0.4, 0.4])
    assert d.n_dropped == 0


def test_matches_naive_reference_and_chunking(monkeypatch):
    rng = np.random.default_rng(3)
    n, items = 400, [pa.Item(f"Q{j}", codes=tuple(range(1, k + 1)))
                     for j, k in enumerate([2, 4, 5, 10, 3])]
    idx = np.column_stack([rng.integers(-2, it.n_categories, n) for it in items])
    demo = pd.DataFrame({"a": rng.integers(0, 3, n), "b": rng.choice(["x", "y"], n)})
    s = pa.Survey.from_category_indices(idx, items, demographics=demo,
                                        weights=rng.gamma(2.0, size=n))
    ref = reference_probs(s, ["a", "b"])
    d = pa.answer_distributions(s, by=["a", "b"])
    monkeypatch.setattr(dmod, "_BLOCK_CELLS", 2 * n)  # two items per bincount block
    d_chunked = pa.answer_distributions(s, by=["a", "b"])
    np.testing.assert_array_equal(d.probs, d_chunked.probs)
    assert len(ref) == d.has_data.sum()
    for (lab, item), p in ref.items():
        g, j = d.labels.index(lab), d.item_names.index(item)
        np.testing.assert_allclose(d.probs[g, j, :len(p)], p, rtol=1e-12)


def test_weighted_equals_replicated_rows():
    rng = np.random.default_rng(7)
    n = 60
    idx = np.column_stack([rng.integers(-1, 3, n), rng.integers(0, 2, n)])
    items = [pa.Item("A", codes=(1, 2, 3)), pa.Item("B", codes=(0, 1), kind="binary")]
    demo = pd.DataFrame({"g": rng.integers(0, 2, n)})
    w = rng.integers(1, 4, n)
    weighted = pa.Survey.from_category_indices(idx, items, demographics=demo, weights=w)
    rep = np.repeat(np.arange(n), w)
    replicated = pa.Survey.from_category_indices(idx[rep], items, demographics=demo.iloc[rep])
    a = pa.answer_distributions(weighted, by="g")
    b = pa.answer_distributions(replicated, by="g")
    np.testing.assert_allclose(a.probs, b.probs, rtol=1e-12)
    np.testing.assert_allclose(a.weighted_n, b.weighted_n)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_row_order_invariance(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    items = [pa.Item("A", codes=(1, 2, 3, 4)), pa.Item("B", codes=(5, 9), kind="binary")]
    idx = np.column_stack([rng.integers(-2, 4, n), rng.integers(-1, 2, n)])
    idx[0] = [0, 0]  # at least one valid answer per item
    demo = pd.DataFrame({"g": rng.integers(0, 3, n)})
    w = rng.uniform(0.1, 3.0, n)
    s = pa.Survey.from_category_indices(idx, items, demographics=demo, weights=w)
    perm = rng.permutation(n)
    a = pa.answer_distributions(s, by="g")
    b = pa.answer_distributions(s.subset(perm), by="g")
    assert a.labels == b.labels
    np.testing.assert_allclose(a.probs, b.probs, atol=1e-12)  # summation order only
    np.testing.assert_array_equal(a.n, b.n)
    sums = a.probs.sum(axis=2)
    np.testing.assert_allclose(sums[a.has_data], 1.0, atol=1e-12)


def test_empty_cell_when_no_valid_answer():
    df = pd.DataFrame({"Q1": [1, 2, -1], "g": [1, 1, 2]})
    s = pa.Survey(df, items=[pa.Item("Q1", codes=(1, 2))], demographics=["g"])
    d = pa.answer_distributions(s, by="g")
    assert d.has_data.tolist() == [[True], [False]]
    assert (d.probs[1] == 0).all()
    assert len(d.to_frame()) == 2  # the empty cell has no rows
    assert "1 empty cell" in repr(d)


def test_labels_and_keys():
    assert subgroup_label(["sex", "age"], (1, 2.0)) == "sex=1 & age=2"
    assert subgroup_label(["c"], ("SG: Malay",)) == "c=SG: Malay"
    assert subgroup_label([], ()) == "overall"
    d = pa.answer_distributions(small_survey(), by=["sex"])
    f = d.to_frame()
    assert list(f.columns) == ["subgroup", "sex", "item", "option", "label", "probability", "n"]
    assert set(f["subgroup"]) == {"sex=1", "sex=2"}


def test_by_errors():
    s = small_survey()
    with pytest.raises(KeyError, match="'age'"):
        pa.answer_distributions(s, by="age")
    df = pd.DataFrame({"Q1": [1, 2], "item": [1, 2]})
    s2 = pa.Survey(df, items=[pa.Item("Q1", codes=(1, 2))], demographics=["item"])
    with pytest.raises(ValueError, match="clash"):
        pa.answer_distributions(s2, by="item")


# -- from_frame ---------------------------------------------------------------

def test_from_frame_round_trip():
    d = pa.answer_distributions(small_survey(), by="sex")
    f = d.to_frame()
    back = AnswerDistributions.from_frame(f, ITEMS)  # labels verbatim
    assert back.labels == d.labels
    np.testing.assert_allclose(back.probs, d.probs)
    back2 = AnswerDistributions.from_frame(f, ITEMS, subgroup_col=["sex"], n_col="n")
    assert back2.labels == d.labels and back2.by == ("sex",)
    np.testing.assert_array_equal(back2.n, d.n)


def test_from_frame_missing_options_are_zero_and_renormalised():
    tab = pd.DataFrame({"item": ["Q1", "Q1", "Q3"], "option": [1, 3, 2],
                        "probability": [0.4, 0.6 + 5e-7, 1.0]})
    d = AnswerDistributions.from_frame(tab, ITEMS, subgroup_col=None)
    assert d.labels == (OVERALL,)
    assert d.item_names == ("Q1", "Q3")  # items absent from the table are dropped
    assert d.probs[0, 0, 1] == 0.0
    np.testing.assert_allclose(d.probs[0, 0, :3].sum(), 1.0, atol=1e-15)
    assert d.n is None
    assert d.to_frame()["n"].isna().all()


def _tab(**over):
    base = {"subgroup": ["a", "a", "b"], "item": ["Q1", "Q1", "Q1"], "option": [1, 2, 3],
            "probability": [0.5, 0.5, 1.0]}
    base.update(over)
    return pd.DataFrame(base)


@pytest.mark.parametrize("over, exc, pattern", [
    ({"item": ["Q1", "Q1", "Q9"]}, ValueError, r"item\(s\) \['Q9'\]"),
    ({"option": [1, 7, 3]}, ValueError, r"item 'Q1': \['7'\] not in codes \(1, 2, 3\)"),
    ({"option": [1, "two", 3]}, ValueError, "not answer codes"),
    ({"probability": [0.5, 0.5, 1.2]}, ValueError, r"\[0, 1\].*1\.2"),
    ({"probability": [-0.5, 1.5, 1.0]}, ValueError, r"\[0, 1\]"),
    ({"probability": [0.5, np.nan, 1.0]}, ValueError, "finite numbers"),
    ({"probability": [0.5, 0.4, 1.0]}, ValueError, r"subgroup 'a', item 'Q1': sum 0\.9"),
    ({"option": [1, 1, 3]}, ValueError, r"subgroup 'a', item 'Q1', option 1 appears 2 times"),
])
def test_from_frame_errors(over, exc, pattern):
    with pytest.raises(exc, match=pattern):
        AnswerDistributions.from_frame(_tab(**over), ITEMS)


def test_from_frame_missing_column_and_sum_tolerance():
    with pytest.raises(KeyError, match="prob"):
        AnswerDistributions.from_frame(_tab(), ITEMS, prob_col="prob")
    # 2e-6 off: outside the 1e-6 tolerance
    with pytest.raises(ValueError, match="sum 1.000002"):
        AnswerDistributions.from_frame(_tab(probability=[0.5, 0.500002, 1.0]), ITEMS)
    AnswerDistributions.from_frame(_tab(probability=[0.5, 0.5000009, 1.0]), ITEMS)
    with pytest.raises(ValueError, match="differs within"):
        AnswerDistributions.from_frame(_tab().assign(n=[10, 11, 5]), ITEMS, n_col="n")


def test_from_frame_items_from_survey_object():
    d = AnswerDistributions.from_frame(_tab(), small_survey())
    assert d.items[0] == ITEMS[0]


# -- from_predictions -----------------------------------------------------------

def test_from_predictions_one_hot_and_errors():
    tab = pd.DataFrame({"subgroup": ["a", "a", "b"], "item": ["Q1", "Q2", "Q1"],
                        "answer": [3, 0, 2]})
    d = AnswerDistributions.from_predictions(tab, ITEMS)
    np.testing.assert_array_equal(d.probs[0, 0], [0, 0, 1])
    np.testing.assert_array_equal(d.probs[0, 1, :2], [1, 0])
    assert d.has_data.tolist() == [[True, True], [True, False]]
    assert d.n.tolist() == [[1, 1], [1, 0]]
    dup = pd.concat([tab, tab.iloc[:1]])
    with pytest.raises(ValueError, match="subgroup 'a', item 'Q1' has 2 predictions"):
        AnswerDistributions.from_predictions(dup, ITEMS)
    bad = tab.assign(answer=[3, 0, "refuse"])
    with pytest.raises(ValueError, match="refuse"):
        AnswerDistributions.from_predictions(bad, ITEMS)
    d2 = AnswerDistributions.from_predictions(bad, ITEMS, invalid="exclude")
    assert d2.has_data.tolist() == [[True, True], [False, False]]
    assert d2.n_invalid.tolist() == [[0, 0], [1, 0]]


# -- selection and alignment ------------------------------------------------------

def test_select_and_counts_frame():
    d = pa.answer_distributions(small_survey(), by="sex")
    s = d.select(items=["Q2"], subgroups=["sex=2"])
    assert s.probs.shape == (1, 1, 2)
    np.testing.assert_allclose(s.probs[0, 0], [0, 1])
    c = d.counts_frame()
    row = c[(c["subgroup"] == "sex=2") & (c["item"] == "Q2")].iloc[0]
    assert row["n_invalid"] == 1 and row["invalid_rate"] == pytest.approx(1 / 3)
    with pytest.raises(KeyError, match="Q9"):
        d.select(items=["Q9"])


def test_align_matches_labels_and_item_order():
    gold = small_survey()
    sim_tab = pa.answer_distributions(gold, by="sex").select(items=["Q3", "Q1", "Q2"]).to_frame()
    sim = AnswerDistributions.from_frame(sim_tab, ITEMS[::-1], subgroup_col=["sex"])
    al = align(gold, sim)  # by taken from the distributions
    assert al.gold.labels == al.sim.labels == ("sex=1", "sex=2")
    assert al.sim.item_names == al.gold.item_names == ("Q1", "Q2", "Q3")
    np.testing.assert_allclose(al.gold.probs, al.sim.probs)


def test_align_unmatched_and_incompatible():
    gold = small_survey()
    sim = AnswerDistributions.from_frame(_tab(subgroup=["sex=1", "sex=1", "sex=3"]), ITEMS)
    gsel = gold.select(["Q1"])
    with pytest.raises(ValueError, match=r"1 only in gold \(e.g. \['sex=2'\]\).*sex=3"):
        align(gsel, sim, by="sex")
    al = align(gsel, sim, by="sex", unmatched="drop")
    assert al.gold.labels == ("sex=1",)
    assert al.only_gold == ("sex=2",) and al.only_sim == ("sex=3",)
    with pytest.raises(ValueError, match="different items"):
        align(gold, sim, by="sex", unmatched="drop")
    other = [pa.Item("Q1", codes=(1, 2, 3, 4))]
    with pytest.raises(ValueError, match="codes"):
        align(gsel, AnswerDistributions.from_frame(_tab(), other), by="sex")


def test_direct_construction_padding_and_caller_arrays():
    items = (pa.Item("A", codes=(1, 2)),)
    probs = np.zeros((1, 1, 5))  # wider zero padding than the items need
    probs[0, 0, :2] = [0.3, 0.7]
    d = AnswerDistributions(items=items, by=(), keys=((),), labels=(OVERALL,), probs=probs,
                            has_data=np.ones((1, 1), bool), source="probabilities")
    assert probs.flags.writeable  # the caller's array is not frozen
    assert not d.probs.flags.writeable
    gold = pa.Survey(pd.DataFrame({"A": [1, 2, 2]}), items=list(items))
    al = align(gold, d)
    assert al.sim.kmax == al.gold.kmax == 2
    with pytest.raises(ValueError, match="has_data"):
        AnswerDistributions(items=items, by=(), keys=((),), labels=(OVERALL,), probs=probs,
                            has_data=np.ones((2, 1), bool))
