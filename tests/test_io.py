"""Round trips through CSV, Parquet, SPSS .sav and Stata .dta."""

import numpy as np
import pandas as pd
import pytest

import popaudit as pa
from popaudit.data.io import read_table, write_table

LABELS = {
    "Q46": {1: "Very happy", 2: "Rather happy", 3: "Not very happy", 4: "Not at all happy",
            -1: "Don't know", -2: "No answer"},
    "Q57": {1: "Most people can be trusted", 2: "Need to be very careful"},
}


@pytest.fixture
def frame():
    rng = np.random.default_rng(3)
    n = 60
    return pd.DataFrame(
        {
            "Q46": rng.choice([1, 2, 3, 4, -1, -2], size=n, p=[.3, .4, .15, .1, .03, .02]),
            "Q57": rng.choice([1, 2], size=n),
            "Q260": rng.choice([1, 2], size=n),
            "W_WEIGHT": rng.uniform(0.5, 2.0, size=n),
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".sav", ".dta"])
def test_round_trip(tmp_path, frame, suffix):
    path = write_table(frame, tmp_path / f"gold{suffix}", value_labels=LABELS)
    s = pa.read_survey(path, items=["Q46", "Q57"], demographics=["Q260"], weights="W_WEIGHT")
    ref = pa.Survey(frame, [pa.Item("Q46", (1, 2, 3, 4)), pa.Item("Q57", (1, 2), kind="binary")],
                    demographics=["Q260"], weights="W_WEIGHT")
    np.testing.assert_array_equal(s.category_indices(), ref.category_indices())
    np.testing.assert_allclose(s.weights, ref.weights, rtol=1e-12)
    np.testing.assert_array_equal(s.demographics["Q260"].to_numpy(), frame["Q260"].to_numpy())
    assert s.item("Q46").codes == (1, 2, 3, 4)
    assert s.item("Q57").kind == "binary"
    assert s.name == "gold"
    if suffix in (".sav", ".dta"):
        # value labels of valid codes become category labels; missing codes' labels are dropped
        assert s.item("Q46").labels == ("Very happy", "Rather happy", "Not very happy",
                                        "Not at all happy")


def test_value_labels_extend_scale_beyond_observed(tmp_path):
    # a labelled code nobody chose is still part of the scale
    df = pd.DataFrame({"Q46": [1, 2, 2, 1]})
    path = write_table(df, tmp_path / "x.sav", value_labels=LABELS)
    s = pa.read_survey(path, items=["Q46"])
    assert s.item("Q46").codes == (1, 2, 3, 4)


def test_read_with_gold_items(tmp_path, frame):
    path = write_table(frame, tmp_path / "sim.csv")
    gold = pa.read_survey(path, items=["Q46", "Q57"])
    sim = pa.read_survey(path, items=gold.items)
    assert sim.items == gold.items


def test_read_table_labels(tmp_path, frame):
    path = write_table(frame, tmp_path / "x.dta", value_labels=LABELS)
    df, labels = read_table(path)
    assert labels["Q57"] == LABELS["Q57"]
    assert len(df) == len(frame)


def test_unknown_format(tmp_path):
    p = tmp_path / "data.xlsx"
    p.write_text("x")
    with pytest.raises(ValueError, match="cannot tell the format of 'data.xlsx'"):
        pa.read_survey(p)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such survey file"):
        pa.read_survey(tmp_path / "nope.csv")


# -- bad files: each gets a message that names the file and the problem (issue 12) -------------

def test_duplicate_csv_columns_raise_naming_them(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("q1,q2,q1\n1,2,3\n2,1,1\n")
    # pandas alone would rename the second q1 to q1.1 and read it as an extra item
    with pytest.raises(ValueError, match=r"dup\.csv: duplicate column name\(s\) \['q1'\]"):
        pa.read_survey(path)
    with pytest.raises(ValueError, match=r"duplicate column name\(s\) \['q1'\]"):
        read_table(path)


def test_header_only_csv_says_no_rows(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("q1,q2\n")
    with pytest.raises(ValueError, match=r"header\.csv: the file has no rows"):
        pa.read_survey(path)
    with pytest.raises(ValueError, match=r"header\.csv: the file has no rows"):
        pa.read_wvs(path.rename(tmp_path / "wvs_header.csv"))


def test_empty_file_says_empty(tmp_path):
    for suffix in (".csv", ".parquet", ".sav"):
        path = tmp_path / f"empty{suffix}"
        path.write_bytes(b"")
        with pytest.raises(ValueError, match=rf"empty\{suffix}: the file is empty"):
            pa.read_survey(path)
        with pytest.raises(ValueError, match=rf"empty\{suffix}: the file is empty"):
            pa.read_wvs(path)


def test_header_only_parquet_says_no_rows(tmp_path):
    path = write_table(pd.DataFrame({"q1": pd.Series([], dtype=float)}), tmp_path / "h.parquet")
    with pytest.raises(ValueError, match=r"h\.parquet: the file has no rows"):
        pa.read_survey(path)


def test_scale_gap_in_file_is_filled_with_a_warning(tmp_path):
    path = tmp_path / "gap.csv"
    pd.DataFrame({"q1": [1, 2, 4, 5, 5, 1]}).to_csv(path, index=False)
    with pytest.warns(UserWarning, match=r"item 'q1': code\(s\) \[3\] inside the observed range"):
        s = pa.read_survey(path)
    assert s.item("q1").codes == (1, 2, 3, 4, 5)


def test_value_labels_are_the_scale_without_warning(tmp_path, recwarn):
    # labelled 1..4, nobody answered 3: the file's labels are its codebook, no warning
    df = pd.DataFrame({"Q46": [1, 2, 4, 4, 1]})
    path = write_table(df, tmp_path / "lab.sav", value_labels=LABELS)
    s = pa.read_survey(path)
    assert s.item("Q46").codes == (1, 2, 3, 4)
    assert not [w for w in recwarn if "never given" in str(w.message)]
