"""Tests for the Survey data model: encoding, missing vs invalid, validation, subsetting."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import popaudit as pa
from popaudit.data.survey import INVALID, MISSING


def _toy():
    return pd.DataFrame(
        {
            "Q1": [1, 2, 3, -1, 2, np.nan],
            "Q2": [1, 2, "n/a", 2, -2, 1],
            "Q254": [1, 5, 4, 2, 3, 4],
            "sex": [1, 2, 1, 2, 1, 2],
            "w": [1.0, 2.0, 0.5, 1.0, 1.0, 1.5],
        }
    )


ITEMS = [
    pa.Item("Q1", codes=(1, 2, 3)),
    pa.Item("Q2", codes=(1, 2), kind="binary"),
    pa.Item("Q254", codes=(1, 2, 3, 4), missing=(5,)),
]


def test_encoding_missing_and_invalid_are_apart():
    s = pa.Survey(_toy(), ITEMS, demographics=["sex"], weights="w")
    idx = s.category_indices()
    assert idx[:, 0].tolist() == [0, 1, 2, MISSING, 1, MISSING]
    # "n/a" cannot be parsed: invalid, not missing; -2 is the WVS "no answer": missing
    assert idx[:, 1].tolist() == [0, 1, INVALID, 1, MISSING, 0]
    # Q254's item-specific code 5 is missing
    assert idx[:, 2].tolist() == [0, MISSING, 3, 1, 2, 3]
    assert s.invalid_rate().to_dict() == {"Q1": 0.0, "Q2": pytest.approx(1 / 6), "Q254": 0.0}
    assert s.missing_rate()["Q1"] == pytest.approx(2 / 6)
    np.testing.assert_array_equal(s.weights, [1.0, 2.0, 0.5, 1.0, 1.0, 1.5])


def test_invalid_rate_by_subgroup():
    s = pa.Survey(_toy(), ITEMS, demographics=["sex"])
    rates = s.invalid_rate("sex")
    assert rates.loc[1, "Q2"] == pytest.approx(1 / 3)
    assert rates.loc[2, "Q2"] == 0.0


def test_explicit_invalid_codes():
    df = pd.DataFrame({"Q1": [1, 2, 99, 3]})
    s = pa.Survey(df, [pa.Item("Q1", (1, 2, 3))], invalid_codes=(99,))
    assert s.category_indices()[:, 0].tolist() == [0, 1, INVALID, 2]


def test_inferred_items():
    df = pd.DataFrame({"Q1": [1, 2, 2, 4, -1], "Q2": [1, 2, 1, 2, 1]})
    with pytest.warns(UserWarning, match=r"item 'Q1': code\(s\) \[3\] inside the observed range"):
        s = pa.Survey(df)
    assert s.item("Q1").codes == (1, 2, 3, 4)  # never a hole in the scale
    assert s.item("Q1").kind == "ordinal"
    assert s.item("Q2").kind == "binary"


def test_responses_roundtrip_codes():
    s = pa.Survey(_toy(), ITEMS, demographics=["sex"], weights="w")
    r = s.responses()
    assert r["Q254"].tolist()[:3] == [1, pd.NA, 4]
    assert str(r["Q1"].dtype) == "Int64"
    frame = s.to_frame()
    assert list(frame.columns) == ["Q1", "Q2", "Q254", "sex", "w"]


def test_code_outside_scale_names_item_and_value():
    df = pd.DataFrame({"Q164": [1, 5, 11]})
    with pytest.raises(ValueError, match=r"item 'Q164' has code 11 outside its scale 1\.\.10"):
        pa.Survey(df, [pa.Item("Q164", tuple(range(1, 11)))])


def test_out_of_scale_as_invalid_for_simulated_answers():
    df = pd.DataFrame({"Q164": [1, 5, 11]})
    s = pa.Survey(df, [pa.Item("Q164", tuple(range(1, 11)))], out_of_scale="invalid")
    assert s.category_indices()[:, 0].tolist() == [0, 4, INVALID]


def test_non_integer_code():
    with pytest.raises(ValueError, match=r"item 'Q1' has non-integer code 1\.5"):
        pa.Survey(pd.DataFrame({"Q1": [1, 1.5, 2]}), [pa.Item("Q1", (1, 2))])


@pytest.mark.parametrize(
    "weights, match",
    [
        ([1.0, -1.0, 1.0], r"non-negative: respondent at row 1 has weight -1"),
        ([1.0, np.nan, 1.0], r"finite numbers: respondent at row 1"),
        ([1.0, np.inf, 1.0], r"finite numbers: respondent at row 1"),
        ([0.0, 0.0, 0.0], r"weights sum to zero"),
        ([1.0, 1.0], r"weights have 2 values for 3 respondents"),
    ],
)
def test_bad_weights(weights, match):
    df = pd.DataFrame({"Q1": [1, 2, 1]})
    with pytest.raises(ValueError, match=match):
        pa.Survey(df, ["Q1"], weights=weights)


def test_duplicate_item_names():
    df = pd.DataFrame({"Q1": [1, 2, 1]})
    with pytest.raises(ValueError, match=r"duplicate item name 'Q1'"):
        pa.Survey(df, ["Q1", "Q1"])


def test_duplicate_columns():
    df = pd.DataFrame([[1, 2], [2, 1]], columns=["Q1", "Q1"])
    with pytest.raises(ValueError, match=r"duplicate column name"):
        pa.Survey(df)


def test_item_with_no_valid_answers():
    df = pd.DataFrame({"Q1": [1, 2, 1], "Q2": [-1, -2, np.nan]})
    with pytest.raises(ValueError, match=r"item 'Q2' has no valid answers"):
        pa.Survey(df, ["Q1", pa.Item("Q2", (1, 2))])
    with pytest.raises(ValueError, match=r"item 'Q2' has no valid answers to infer"):
        pa.Survey(df, ["Q1", "Q2"])


def test_missing_columns():
    df = pd.DataFrame({"Q1": [1, 2, 1]})
    with pytest.raises(KeyError, match=r"Q9"):
        pa.Survey(df, ["Q1", "Q9"])
    with pytest.raises(KeyError, match=r"'age'"):
        pa.Survey(df, ["Q1"], demographics=["age"])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"codes": (1,)}, "at least two categories"),
        ({"codes": (1, 1, 2)}, "duplicate codes"),
        ({"codes": (3, 2, 1)}, "increasing order"),
        ({"codes": (1, 2, 3), "kind": "binary"}, "binary but declares 3 codes"),
        ({"codes": (1, 2), "kind": "interval"}, "kind 'interval'"),
        ({"codes": (1, 2), "labels": ("a",)}, "2 codes but 1 labels"),
        ({"codes": (1, 2, 5), "missing": (5,)}, "both valid and missing"),
    ],
)
def test_item_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pa.Item("Qx", **kwargs)


def test_valid_negative_codes_when_declared():
    # derived indices such as the autonomy index use -2..2: declared codes win over WVS missing
    df = pd.DataFrame({"Y003": [-2, -1, 0, 1, 2, -5]})
    s = pa.Survey(df, [pa.Item("Y003", (-2, -1, 0, 1, 2))])
    assert s.category_indices()[:, 0].tolist() == [0, 1, 2, 3, 4, MISSING]


def test_subset_select_keep_metadata():
    s = pa.Survey(_toy(), ITEMS, demographics=["sex"], weights="w", name="gold")
    women = s.subset(s.demographics["sex"].to_numpy() == 2)
    assert len(women) == 3
    assert women.items == s.items
    np.testing.assert_array_equal(women.weights, [2.0, 1.0, 1.5])
    assert women.name == "gold"
    sel = s.select(["Q254", "Q1"])
    assert sel.item_names == ("Q254", "Q1")
    np.testing.assert_array_equal(sel.category_indices()[:, 1], s.category_indices()[:, 0])
    with pytest.raises(KeyError, match="item 'Q7' is not in this survey"):
        s.select(["Q7"])


def test_groupby_partitions_rows():
    s = pa.Survey(_toy(), ITEMS, demographics=["sex"], weights="w")
    parts = dict(s.groupby("sex"))
    assert set(parts) == {(1,), (2,)}
    assert sum(len(p) for p in parts.values()) == len(s)
    assert isinstance(next(iter(parts))[0], int)


def test_check_compatible():
    a = pa.Survey(_toy(), ITEMS)
    b = pa.Survey(_toy(), ITEMS[:2] + [pa.Item("Q254", (1, 2, 3, 4, 5))])
    with pytest.raises(ValueError, match=r"item 'Q254' has codes \(1, 2, 3, 4\) in gold"):
        pa.check_compatible(a, b)
    c = a.select(["Q1", "Q2"])
    with pytest.raises(ValueError, match=r"\['Q254'\] only in gold"):
        pa.check_compatible(a, c)
    pa.check_compatible(a, a.select(["Q2", "Q254", "Q1"]))


def test_from_category_indices_validates():
    items = [pa.Item("Q1", (1, 2, 3))]
    s = pa.Survey.from_category_indices(np.array([[0], [2], [-1], [-2]]), items)
    assert s.invalid_rate()["Q1"] == 0.25
    with pytest.raises(ValueError, match=r"item 'Q1': category index 3 outside 0\.\.2"):
        pa.Survey.from_category_indices(np.array([[0], [3]]), items)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=5), min_size=3, max_size=40), st.randoms())
def test_encoding_is_row_order_invariant(values, rnd):
    values = values + [1, 5]
    df = pd.DataFrame({"Q1": values})
    perm = list(range(len(values)))
    rnd.shuffle(perm)
    item = [pa.Item("Q1", (1, 2, 3, 4, 5))]
    a = pa.Survey(df, item).category_indices()[:, 0]
    b = pa.Survey(df.iloc[perm], item).category_indices()[:, 0]
    np.testing.assert_array_equal(a[perm], b)
    np.testing.assert_array_equal(a, np.asarray(values) - 1)


# -- issue 12: scales, refusals, text in gold ---------------------------------------------------

def test_scale_with_a_gap_is_the_contiguous_range_and_w1_uses_it():
    from scipy.stats import wasserstein_distance

    gold = pd.DataFrame({"q1": [1] * 4 + [2] * 3 + [4] * 2 + [5] * 1})   # nobody answered 3
    sim = pd.DataFrame({"q1": [1] * 1 + [2] * 2 + [4] * 3 + [5] * 4})
    with pytest.warns(UserWarning, match=r"code\(s\) \[3\] inside the observed range 1\.\.5"):
        items = pa.infer_items(gold, sim)
    assert items[0].codes == (1, 2, 3, 4, 5)
    g, s = pa.Survey(gold, items), pa.Survey(sim, items)
    w1 = float(pa.compare_marginals(g, s).per_item["w1_norm"].iloc[0])
    ref = wasserstein_distance(gold["q1"], sim["q1"]) / 4          # on the codes, diameter 4
    assert w1 == pytest.approx(ref, abs=1e-15)
    # the old inference (codes 1, 2, 4, 5 at unit spacing: the gap counted as one step,
    # divided by 3) gave another number
    holes = pa.Item("q1", codes=(1, 2, 4, 5))
    old = float(pa.compare_marginals(pa.Survey(gold, [holes]), pa.Survey(sim, [holes]))
                .per_item["w1_norm"].iloc[0])
    assert old == pytest.approx(1 / 3) and w1 == pytest.approx(0.35)


def test_infer_items_gives_one_scale_for_gold_and_simulated():
    gold = pd.DataFrame({"q1": [1, 2, 2, 3], "q2": [1, 2, 1, 2]})
    sim = pd.DataFrame({"q1": [2, 3, 4, 4], "q2": [2, 2, 2, 1]})
    items = pa.infer_items(gold, sim)
    assert [it.codes for it in items] == [(1, 2, 3, 4), (1, 2)]
    pa.check_compatible(pa.Survey(gold, items), pa.Survey(sim, items))
    # inferred apart, they differ, and the error says how to fix it
    with pytest.raises(ValueError, match="infer_items"):
        pa.check_compatible(pa.Survey(gold), pa.Survey(sim))
    with pytest.raises(KeyError, match="'q2' is not in table"):
        pa.infer_items(gold, sim[["q1"]])


def test_absurdly_wide_inferred_scale_raises():
    with pytest.raises(ValueError, match=r"'q1' has codes from 1 to 999.*missing="):
        pa.Item.infer("q1", [1, 2, 3, 999])


def test_text_answers_in_gold_warn_but_not_for_simulations():
    df = pd.DataFrame({"Q1": [1, 2, "refused", "n/a", 1]})
    item = [pa.Item("Q1", codes=(1, 2))]
    with pytest.warns(UserWarning, match=r"counted as invalid in 'Q1': 2 \(e\.g\. 'refused'\)\. "
                                         "Invalid answers are expected only from simulations"):
        s = pa.Survey(df, item)
    assert s.invalid_rate()["Q1"] == pytest.approx(0.4)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pa.Survey(df, item, out_of_scale="invalid")      # simulated answers: expected, silent
        pa.Survey(pd.DataFrame({"Q1": [1, 2, 99]}), item, invalid_codes=[99])


def test_refusal_rate_weighted_per_subgroup_blanks_apart():
    # codes: -2 refused (WVS "no answer"), -4 not asked (blank), -1 don't know
    df = pd.DataFrame({"Q1": [1, 2, -2, -4, 1, -2, -1, 2],
                       "g": ["a", "a", "a", "a", "b", "b", "b", "b"],
                       "w": [1.0, 1.0, 2.0, 9.0, 1.0, 3.0, 1.0, 1.0]})
    s = pa.Survey(df, [pa.Item("Q1", codes=(1, 2))], demographics=["g"], weights="w",
                  refusal_codes=(-2,))
    # a: refused 2 over answered 1 + 1 + 2 (the blank's 9 left out); b: 3 / (1 + 3 + 1)
    by = s.refusal_rate(by="g")["Q1"]
    assert by["a"] == pytest.approx(2 / 4) and by["b"] == pytest.approx(3 / 5)
    assert s.refusal_rate()["Q1"] == pytest.approx(5 / 9)
    assert s.refusal_rate(weighted=False)["Q1"] == pytest.approx(2 / 6)
    # missing_rate is unweighted and mixes blanks, don't knows and refusals
    assert s.missing_rate()["Q1"] == pytest.approx(4 / 8)
    # subsets and selections keep the refusal marks
    assert s.subset(np.arange(4)).refusal_rate()["Q1"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no refusal codes"):
        pa.Survey(df, [pa.Item("Q1", codes=(1, 2))]).refusal_rate()
    # a refusal code outside the missing codes (Pew's 99) is a missing answer and a refusal
    pew = pa.Survey(pd.DataFrame({"Q1": [1, 99, 2, 99]}), [pa.Item("Q1", codes=(1, 2))],
                    refusal_codes=(99,))
    assert pew.refusal_rate()["Q1"] == 0.5 and pew.valid_mask.sum() == 2


def test_item_positions_are_checked():
    it = pa.Item("q", codes=(1, 2, 3), positions=(1, 2, 1.5))
    assert it.diameter == 1.0 and it.positions == (1.0, 2.0, 1.5)
    assert pa.Item("q", codes=(1, 3, 7)).scale_positions().tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="3 codes but 2 positions"):
        pa.Item("q", codes=(1, 2, 3), positions=(1, 2))
    with pytest.raises(ValueError, match="at least two distinct"):
        pa.Item("q", codes=(1, 2), positions=(1, 1))
    with pytest.raises(ValueError, match="non-finite"):
        pa.Item("q", codes=(1, 2), positions=(1, float("nan")))
    a = pa.Survey(pd.DataFrame({"q": [1, 2]}), [pa.Item("q", codes=(1, 2, 3))])
    b = pa.Survey(pd.DataFrame({"q": [1, 2]}), [it])
    with pytest.raises(ValueError, match="option positions"):
        pa.check_compatible(a, b)


def test_warnings_point_at_the_callers_line():
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pa.Survey(pd.DataFrame({"Q1": [1, 2, "x"]}), [pa.Item("Q1", codes=(1, 2))])
    assert caught and caught[0].filename == __file__
