"""Tests for popaudit.data.wvs: official-layout files in three formats, recodes, countries, weights."""

import warnings

import numpy as np
import pandas as pd
import pytest

import popaudit as pa
from popaudit.data.io import write_table
from popaudit.data.wvs import (
    DEMOGRAPHIC_COLUMNS,
    ETHNICITY_GROUPINGS,
    age_band_labels,
    derive_demographics,
    read_wvs,
    recode_table,
    wvs_survey,
)
from popaudit.datasets import codebook_items, official_value_labels, wvs_like_frame

N = 300


@pytest.fixture(scope="module")
def frame():
    return wvs_like_frame(n=N, seed=5)


@pytest.fixture(scope="module")
def files(tmp_path_factory, frame):
    d = tmp_path_factory.mktemp("wvs")
    out = {}
    for fmt in ("csv", "sav", "dta"):
        out[fmt] = pa.datasets.write_official_layout(d / f"wvs7.{fmt}", n=N, seed=5)
    return out


@pytest.fixture(scope="module")
def pooled(frame):
    """The synthetic SGP file plus a fake second country (codes renumbered)."""
    other = frame.copy()
    other["B_COUNTRY"] = 276
    other["B_COUNTRY_ALPHA"] = "DEU"
    other["Q290"] = 276001
    other["S018"] = other["S018"] * 2.0
    return pd.concat([frame, other], ignore_index=True)


# -- the three official formats -----------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "sav", "dta"])
def test_official_formats_read_identically(files, frame, fmt):
    s = read_wvs(files[fmt], country="SGP")
    items = codebook_items()
    assert s.item_names == tuple(it.name for it in items)
    assert s.items == items                     # codebook metadata, not inferred
    assert s.n_respondents == N and s.name == "WVS-7 SGP"
    assert s.weight_name == "W_WEIGHT"
    # weights written as doubles: SPSS/Stata keep them to machine precision
    np.testing.assert_allclose(s.weights, frame["W_WEIGHT"].to_numpy(), rtol=1e-12)
    ref = pa.Survey(frame, items, weights="W_WEIGHT")
    np.testing.assert_array_equal(s.category_indices(), ref.category_indices())
    demo = s.demographics
    assert list(demo.columns[:6]) == list(DEMOGRAPHIC_COLUMNS)
    expected = derive_demographics(frame)
    for c in expected.columns:
        assert demo[c].tolist() == expected[c].tolist(), c


def test_formats_agree_with_each_other(files):
    surveys = [read_wvs(files[f], country=702) for f in ("csv", "sav", "dta")]
    for s in surveys[1:]:
        np.testing.assert_array_equal(s.category_indices(), surveys[0].category_indices())
        pd.testing.assert_frame_equal(
            s.demographics[list(DEMOGRAPHIC_COLUMNS)].astype(object),
            surveys[0].demographics[list(DEMOGRAPHIC_COLUMNS)].astype(object))


def test_semicolon_csv_and_lowercase_names(tmp_path, frame):
    low = frame.rename(columns=str.lower)
    path = tmp_path / "wvs7_semicolon.csv"
    low.to_csv(path, sep=";", index=False)
    s = read_wvs(path, country="sgp")
    ref = wvs_survey(frame)
    np.testing.assert_array_equal(s.category_indices(), ref.category_indices())
    assert s.demographics["sex"].tolist() == ref.demographics["sex"].tolist()


# -- recodes ---------------------------------------------------------------------------------

def test_recodes_by_hand():
    raw = pd.DataFrame({
        "Q260": [1, 2, -2, 2, 1],
        "Q262": [16, 24, 25, 64, 99],
        "Q275": [0, 3, 5, -1, 8],
        "Q275R": [1, 2, 3, 2, 3],
        "Q289": [0, 1, 8, 5, -1],
    })
    d = derive_demographics(raw)
    assert d["sex"].tolist() == ["male", "female", None, "female", "male"]
    assert d["age_group"].tolist() == ["16-24", "16-24", "25-34", "55-64", "65+"]
    # ISCED 0-2 lower, 3-4 middle, 5-8 upper; Q275 missing -> Q275R fills in ("middle")
    assert d["education"].tolist() == ["lower", "middle", "upper", "middle", "upper"]
    assert d["religion"].tolist() == ["no denomination", "Roman Catholic", "other Christian",
                                      "Muslim", None]
    broad = derive_demographics(raw, religion="broad")["religion"].tolist()
    assert broad == ["no denomination", "Christian", "Christian", "Muslim", None]
    custom = derive_demographics(raw, age_bands=(18, 30, 60))["age_group"].tolist()
    assert custom == [None, "18-29", "18-29", "60+", "60+"]


def test_age_from_x003r_where_present_else_q262():
    raw = pd.DataFrame({"Q262": [20, 40, 70], "X003R": [2, -5, 6]})
    # X003R wins where valid (row 0: X003R says 25-34 though Q262 says 20); Q262 fills row 1
    assert derive_demographics(raw)["age_group"].tolist() == ["25-34", "35-44", "65+"]
    assert age_band_labels() == ("16-24", "25-34", "35-44", "45-54", "55-64", "65+")
    # custom bands ignore X003R
    assert derive_demographics(raw, age_bands=(16, 50))["age_group"].tolist() == \
        ["16-49", "16-49", "50+"]


def test_synthetic_age_bands_agree_between_x003r_and_q262(frame):
    with_x = derive_demographics(frame)["age_group"]
    without = derive_demographics(frame.drop(columns="X003R"))["age_group"]
    assert with_x.tolist() == without.tolist()


def test_singapore_ethnicity_grouping(frame):
    d = derive_demographics(frame)
    codes = frame["Q290"].to_numpy()
    expect = {702004: "Chinese", 702006: "Malay", 702003: "Indian", 702001: "other",
              702008: "other"}
    assert d["ethnicity"].tolist() == [expect[c] for c in codes]
    assert set(ETHNICITY_GROUPINGS["SGP"]) == {"Chinese", "Malay", "Indian", "other"}


def test_missing_codes_in_items_and_demographics(frame):
    f = frame.copy()
    f.loc[0, "Q46"] = -1
    f.loc[1, "Q46"] = -4
    f.loc[2, "Q254"] = 5          # "I am not [nationality]": item-specific missing
    f.loc[3, "Q260"] = -2
    f.loc[4, "Q289"] = -5
    s = wvs_survey(f)
    j46, j254 = s.item_names.index("Q46"), s.item_names.index("Q254")
    idx = s.category_indices()
    assert idx[0, j46] == pa.MISSING and idx[1, j46] == pa.MISSING
    assert idx[2, j254] == pa.MISSING
    demo = s.demographics
    assert demo.loc[3, "sex"] is None or pd.isna(demo.loc[3, "sex"])
    assert pd.isna(demo.loc[3, "Q260"]) and pd.isna(demo.loc[4, "Q289"])
    assert pd.isna(demo.loc[4, "religion"])
    # respondents with a missing demographic are left out of that axis' subgroups
    d = pa.answer_distributions(s, by="sex")
    assert d.group_size.sum() == N - 1 and d.n_dropped == 1


def test_unknown_codes_are_errors():
    with pytest.raises(ValueError, match="Q260 .*code"):
        derive_demographics(pd.DataFrame({"Q260": [1, 3]}))
    with pytest.raises(ValueError, match="Q289 has code"):
        derive_demographics(pd.DataFrame({"Q289": [0, 7]}), religion={"none": [0]})
    with pytest.raises(ValueError, match="unknown religion grouping"):
        derive_demographics(pd.DataFrame({"Q289": [0]}), religion="nope")
    with pytest.raises(ValueError, match="two groups"):
        derive_demographics(pd.DataFrame({"Q289": [0]}), religion={"a": [0], "b": [0]})


def test_recode_table_lists_every_default():
    t = recode_table()
    assert set(t["column"]) >= {"sex", "age_group", "education", "religion", "ethnicity (SGP)"}
    edu = t[(t["column"] == "education") & (t["source"] == "Q275")]
    assert dict(zip(edu["code"], edu["value"])) == {0: "lower", 1: "lower", 2: "lower",
                                                   3: "middle", 4: "middle", 5: "upper",
                                                   6: "upper", 7: "upper", 8: "upper"}
    assert len(t[t["column"] == "religion"]) == 10


# -- countries, weights, ethnicity groupings ----------------------------------------------

def test_country_selection_by_alpha_or_numeric(pooled):
    a = wvs_survey(pooled, country="SGP")
    b = wvs_survey(pooled, country=702)
    c = wvs_survey(pooled, country="702")
    assert a.n_respondents == b.n_respondents == c.n_respondents == N
    assert set(a.demographics["country"]) == {"SGP"}


def test_country_absent_is_a_clear_error(pooled, files):
    with pytest.raises(ValueError, match=r"country 'FRA' is not in the data; countries present: "
                                         r"\['DEU', 'SGP'\]"):
        wvs_survey(pooled, country="FRA")
    with pytest.raises(ValueError, match="not in the data"):
        read_wvs(files["sav"], country=250)


def test_pooled_weight_is_s018_and_w_weight_warns(pooled):
    s = wvs_survey(pooled)
    assert s.weight_name == "S018" and s.name == "WVS-7 pooled"
    np.testing.assert_allclose(s.weights, pooled["S018"].to_numpy())
    assert "ethnicity" not in s.demographics.columns   # Q290 codes are per country
    with pytest.warns(UserWarning, match="within-country weight"):
        wvs_survey(pooled, weight="W_WEIGHT")
    with pytest.raises(KeyError, match="weight column 'NOPE'"):
        wvs_survey(pooled, weight="NOPE")
    assert wvs_survey(pooled, country="SGP", weight=None).weights is None


def test_missing_weight_column_warns(frame):
    with pytest.warns(UserWarning, match="no W_WEIGHT column"):
        s = wvs_survey(frame.drop(columns="W_WEIGHT"))
    assert s.weights is None


def test_ethnicity_grouping_without_a_shipped_one(pooled):
    with pytest.raises(ValueError, match="no ethnicity grouping is shipped for country 'DEU'"):
        wvs_survey(pooled, country="DEU", ethnicity="shipped")
    with pytest.raises(ValueError, match="needs a single country"):
        wvs_survey(pooled, ethnicity="shipped")
    # "auto": silently no column; a mapping: used
    assert "ethnicity" not in wvs_survey(pooled, country="DEU").demographics.columns
    s = wvs_survey(pooled, country="DEU", ethnicity={"German": [276001]})
    assert set(s.demographics["ethnicity"]) == {"German"}


def test_items_outside_the_codebook_take_the_file_labels(tmp_path, frame):
    f = frame[["B_COUNTRY", "B_COUNTRY_ALPHA", "W_WEIGHT", "Q46", "Q260"]].copy()
    f["Q1"] = np.resize([1, 2, 3, -1], len(f))   # code 4 never chosen, but labelled
    labels = official_value_labels()
    labels["Q1"] = {1: "Very important", 2: "Rather important", 3: "Not very important",
                    4: "Not at all important", -1: "Don't know"}
    path = write_table(f, tmp_path / "q1.sav", value_labels=labels)
    s = read_wvs(path, items=["Q46", "Q1"])
    q1 = s.item("Q1")
    assert q1.codes == (1, 2, 3, 4) and q1.labels[3] == "Not at all important"
    assert s.item("Q46") == codebook_items(["Q46"])[0]
    with pytest.raises(KeyError, match="Q999"):
        read_wvs(path, items=["Q999"])


def test_keep_raw_false_and_derived_items(frame):
    s = wvs_survey(frame, keep_raw=False, derived_items=True)
    assert list(s.demographics.columns) == list(DEMOGRAPHIC_COLUMNS)
    assert s.item_names[-2:] == ("Y002", "Y003")


def test_simulators_run_on_a_wvs_survey(frame):
    gold = wvs_survey(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = pa.datasets.persona_like(gold, seed=0)
    assert list(sim.demographics.columns) == list(gold.demographics.columns)
    assert sim.weight_name == "W_WEIGHT"


def test_weights_kept_beside_the_chosen_one_match_the_docs(pooled, frame):
    """read_wvs docs: 'auto' weights one country by W_WEIGHT and a pooled file by S018; the
    other weight columns stay as demographics, and the cultural map's official variant
    takes W_WEIGHT from there (docs/factors.md)."""
    from popaudit.maps import inglehart_welzel as IW

    one = wvs_survey(frame)
    assert one.weight_name == "W_WEIGHT" and "S018" in one.demographics.columns
    s = wvs_survey(pooled)
    assert s.weight_name == "S018"
    np.testing.assert_allclose(s.demographics["W_WEIGHT"].to_numpy(float),
                               pooled["W_WEIGHT"].to_numpy())
    assert IW.fit_map(s).weight_name == "W_WEIGHT"
    assert "W_WEIGHT" not in wvs_survey(pooled, keep_raw=False).demographics.columns


def test_refusals_are_told_apart_from_blanks(frame):
    f = frame.copy()
    f.loc[:9, "Q46"] = -2        # no answer: a refusal
    f.loc[10:19, "Q46"] = -4     # not asked: a blank
    s = wvs_survey(f, weight=None)
    answered = (~f["Q46"].isin([-1, -3, -4, -5])).sum()
    assert s.refusal_rate()["Q46"] == pytest.approx(((f["Q46"] == -2).sum()) / answered)
    both = wvs_survey(f, weight=None, refusal_codes=(-1, -2))
    assert both.refusal_rate()["Q46"] >= s.refusal_rate()["Q46"]
