"""Model answers in: every answer form written by hand, matched against the codebook."""

import json

import numpy as np
import pandas as pd
import pytest

import popaudit as pa
from popaudit.data.answers import match_answer, normalise_text
from popaudit.datasets import codebook_items

Q6 = pa.Item("Q6", codes=(1, 2, 3, 4), labels=("Very important", "Rather important",
                                               "Not very important", "Not at all important"))
Q164, Q57, Q45 = codebook_items(["Q164", "Q57", "Q45"])


@pytest.mark.parametrize("answer, code, how", [
    # labels: exact, case- and punctuation-insensitive
    ("Rather important", 2, "label"),
    ("RATHER important!!", 2, "label"),
    ("  rather-important. ", 2, "label"),
    ("Not very important", 3, "label"),
    # listed numbers and letters
    ("2", 2, "number"),
    ("(2)", 2, "number"),
    ("2.", 2, "number"),
    ("B", 2, "letter"),
    ("b)", 2, "letter"),
    ("(B)", 2, "letter"),
    # numbered and lettered labels
    ("2. Rather important", 2, "numbered label (number)"),
    ("2) rather important", 2, "numbered label (number)"),
    ("B. Rather important", 2, "numbered label (letter)"),
    ("D: Not at all important", 4, "numbered label (letter)"),
    # free text around an option
    ("I would say it is rather important to me.", 2, "text"),
    ("Honestly? Not very important.", 3, "text"),          # 'very important' is nested
    ("My answer is B", 2, "text"),
    ("Answer: 4", 4, "text"),
    ("I choose option C because family matters less to me", 3, "text"),
    # a disclaimer followed by an answer is an answer
    ("As an AI I don't have personal opinions, but I'd say rather important", 2, "text"),
])
def test_every_valid_form(answer, code, how):
    assert match_answer(answer, Q6) == ("valid", code, how)


@pytest.mark.parametrize("answer", [
    "I don't have personal opinions.",
    "As an AI language model, I cannot answer that.",
    "I prefer not to say",
    "Refused",
    "Don't know",
    "I'm unable to answer this question.",
])
def test_refusals(answer):
    assert match_answer(answer, Q6) == ("refused", None, "refusal")


@pytest.mark.parametrize("answer, reason", [
    ("", "empty"),
    (None, "empty"),
    (float("nan"), "empty"),
    ("purple monkey dishwasher", "no option named"),
    ("7", "no option named"),                  # no seventh option
    ("E", "no option named"),
    ("Very important or not at all important",
     "ambiguous: names 'Very important', 'Not at all important'"),
    ("2. Very important", "ambiguous: names 'Very important', 'Rather important'"),
    ("Option A or option B", "ambiguous: names 'Very important', 'Rather important'"),
])
def test_invalid_and_ambiguous_are_never_guessed(answer, reason):
    assert match_answer(answer, Q6) == ("invalid", None, reason)


def test_reversed_order_counts_numbers_and_letters_as_shown():
    # shown as 1. Not at all important, 2. Not very important, 3. Rather, 4. Very
    assert match_answer("1", Q6, order="reversed") == ("valid", 4, "number")
    assert match_answer("A", Q6, order="reversed") == ("valid", 4, "letter")
    assert match_answer("3. Rather important", Q6, order="reversed")[:2] == ("valid", 2)
    assert match_answer("Rather important", Q6, order="reversed") == ("valid", 2, "label")
    # the original-order number with a reversed-order listing names two options
    assert match_answer("2. Rather important", Q6, order="reversed")[0] == "invalid"
    # numbers read as codes ignore the order
    assert match_answer("1", Q6, order="reversed", numbers="code") == ("valid", 1, "number")


def test_numeric_labels():
    # Q164: 1 'Not at all important', 2..9 numeric labels, 10 'Very important'
    assert match_answer("10", Q164) == ("valid", 10, "number")
    assert match_answer("7", Q164)[:2] == ("valid", 7)
    assert match_answer("Very important", Q164) == ("valid", 10, "label")
    # reversed: "2" is the label of code 2 and the second listed option (code 9)
    assert match_answer("2", Q164, order="reversed")[0:3:2] == (
        "invalid", "ambiguous: names '2', '9'")
    assert match_answer("2", Q164, order="reversed", numbers="code") == ("valid", 2, "number")


def test_apostrophes_and_accents():
    assert normalise_text("Don’t  mind") == "dont mind"
    assert match_answer("don't mind", Q45) == ("valid", 2, "label")
    assert match_answer("DON'T MIND.", Q45) == ("valid", 2, "label")
    assert normalise_text("Très  Important") == "tres important"


def _raw():
    rows = [  # persona, sex, item, order, answer
        (1, "female", "Q6", "original", "Rather important"),
        (1, "female", "Q57", "original", "A"),
        (2, "male", "Q6", "reversed", "1"),                      # -> Not at all important
        (2, "male", "Q57", "reversed", "Most people can be trusted"),
        (3, "female", "Q6", "original", "I don't have personal opinions"),
        (3, "female", "Q57", "original", "banana"),
        (4, "male", "Q6", "original", ("Very or not very... hard to say: very important, "
                                       "or not at all important")),
        (4, "male", "Q57", "reversed", "B"),                     # -> Most people can be trusted
    ]
    return pd.DataFrame(rows, columns=["persona", "sex", "item", "order", "answer"])


def test_read_answers_survey_rates_and_raw_text():
    ans = pa.read_answers(_raw(), [Q6, Q57], demographics=["sex"], order="order")
    s = ans.survey()
    resp = s.responses()
    assert resp["Q6"].tolist()[:2] == [2, 4] and resp["Q57"].tolist()[:2] == [1, 1]
    assert resp["Q57"].iloc[3] == 1
    assert s.invalid_mask.sum() == 2 and s.refused_mask.sum() == 1
    assert s.refusal_rate()["Q6"] == pytest.approx(1 / 3)  # invalid answers left out
    rates = ans.invalid_rate(by="sex").set_index(["sex", "item"])
    assert rates.loc[("female", "Q57"), "invalid_rate"] == 0.5
    assert rates.loc[("male", "Q6"), "invalid_rate"] == 0.5
    assert rates.loc[("female", "Q6"), "refusal_rate"] == 0.5
    overall = ans.invalid_rate().set_index("item")
    assert overall.loc["Q6", "n_answers"] == 4 and overall.loc["Q6", "n_invalid"] == 1
    bad = ans.invalid_answers()
    assert bad["raw"].tolist() == ["banana", _raw()["answer"].iloc[6]]
    assert bad["how"].tolist()[0] == "no option named"
    assert bad["how"].tolist()[1].startswith("ambiguous")
    # the survey compares with gold built on the same items
    gold = pa.Survey(pd.DataFrame({"Q6": [1, 2, 2, 3], "Q57": [1, 2, 2, 2]}), [Q6, Q57])
    pa.compare_marginals(gold, s)
    d = ans.distributions(by="sex")
    assert d.labels == ("sex=female", "sex=male")
    assert d.n_invalid.tolist() == [[0, 1], [1, 0]]


def test_jsonl_csv_parquet_read_the_same(tmp_path):
    raw = _raw()
    # JSONL with nested persona attributes
    path = tmp_path / "answers.jsonl"
    with open(path, "w") as fh:
        fh.writelines(json.dumps({"persona": {"id": r.persona, "sex": r.sex}, "item": r.item,
                                  "order": r.order, "response": r.answer}) + "\n"
                      for r in raw.itertuples())
    a = pa.read_answers(path, [Q6, Q57], persona="persona.id", answer="response",
                        demographics=["sex"], order="order")
    raw.rename(columns={"answer": "response"}).to_csv(tmp_path / "a.csv", index=False)
    b = pa.read_answers(tmp_path / "a.csv", [Q6, Q57], answer="response",
                        demographics=["sex"], order="order")
    raw.to_parquet(tmp_path / "a.parquet")
    c = pa.read_answers(tmp_path / "a.parquet", [Q6, Q57], demographics=["sex"], order="order")
    for x in (a, b, c):
        np.testing.assert_array_equal(x.survey().category_indices(),
                                      c.survey().category_indices())
        assert x.table["raw"].tolist() == raw["answer"].tolist()
    assert a.source == "answers.jsonl"


def test_bad_inputs_are_named(tmp_path):
    raw = _raw()
    with pytest.raises(ValueError, match=r"item\(s\) \['Q99'\] that are not among"):
        pa.read_answers(raw.assign(item="Q99"), [Q6, Q57])
    twice = pd.concat([raw, raw.iloc[[0]]])
    with pytest.raises(ValueError, match=r"answers item 'Q6' 2 times; give a sample column"):
        pa.read_answers(twice, [Q6, Q57])
    ok = pa.read_answers(twice.assign(sample=[0] * len(raw) + [1]), [Q6, Q57],
                         sample="sample")
    assert ok.n_respondents == 5
    with pytest.raises(ValueError, match="differ within respondent"):
        pa.read_answers(raw.assign(sex=["f", "m"] * 4), [Q6, Q57], demographics=["sex"])
    with pytest.raises(ValueError, match="'original' or 'reversed'"):
        pa.read_answers(raw.assign(order="sideways"), [Q6, Q57], order="order")
    (tmp_path / "e.jsonl").write_text("")
    with pytest.raises(ValueError, match=r"e\.jsonl: the file is empty"):
        pa.read_answers(tmp_path / "e.jsonl", [Q6])
    (tmp_path / "h.csv").write_text("persona,item,answer\n")
    with pytest.raises(ValueError, match=r"h\.csv: the file has no rows"):
        pa.read_answers(tmp_path / "h.csv", [Q6])
    (tmp_path / "j.jsonl").write_text('{"persona": 1}\n{oops\n')
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        pa.read_answers(tmp_path / "j.jsonl", [Q6])


def test_option_probabilities_to_subgroup_distributions():
    tab = pd.DataFrame({
        "persona": [1, 1, 1, 2, 2, 3, 3, 4],
        "sex": ["f", "f", "f", "f", "f", "m", "m", "m"],
        "item": "Q57",
        "option": ["A", "B", " the", "A", "B", "B", "A", "maybe"],
        "probability": [0.6, 0.3, 0.1, 0.2, 0.8, 0.5, 0.0, 0.9],
    })
    ans = pa.read_answer_probabilities(tab, [Q57], demographics=["sex"])
    d = ans.distributions(by="sex")
    # f: persona 1 (2/3, 1/3) renormalised over matched tokens, persona 2 (.2, .8)
    np.testing.assert_allclose(d.probs[0, 0], [(2 / 3 + 0.2) / 2, (1 / 3 + 0.8) / 2])
    # m: persona 3 all on B; persona 4 named no option: invalid, not in the mean
    np.testing.assert_allclose(d.probs[1, 0], [0.0, 1.0])
    assert d.n.tolist() == [[2], [1]]
    rates = ans.invalid_rate(by="sex").set_index("sex")
    assert rates.loc["m", "invalid_rate"] == 0.5 and rates.loc["f", "invalid_rate"] == 0.0
    unmatched = ans.invalid_answers()
    assert unmatched["option"].tolist() == [" the", "maybe"]
    assert ans.table["mass_matched"].iloc[0] == pytest.approx(0.9)
    with pytest.raises(ValueError, match="not respondents"):
        ans.survey()
    # reversed order: "A" is the last listed option
    rev = pa.read_answer_probabilities(tab.iloc[:2], [Q57], order="reversed")
    np.testing.assert_allclose(rev.distributions().probs[0, 0], [1 / 3, 2 / 3])
