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
