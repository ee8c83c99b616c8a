"""Steering benchmarks over a sweep: hand-made tables with known answers, paired draws."""

import warnings

import numpy as np
import pandas as pd
import pytest

import popaudit as pa
from conftest import two_country_gold
from popaudit.steering import TIDY_COLUMNS, steerability

# per-item representativeness: population -> split -> values of q1..q4
REP = {
    "m1/default": {"AAA": [.9, .9, .5, .8], "BBB": [.6, .7, .9, .7], "CCC": [.7, .6, .6, .9]},
    "m1/persona": {"AAA": [.8] * 4, "BBB": [.7] * 4, "CCC": [.9] * 4},
    "m1/finetune": {"AAA": [.85] * 4, "BBB": [.6] * 4, "CCC": [.75] * 4},
    "m2/default": {"AAA": [.5] * 4, "BBB": [.5] * 4, "CCC": [.4] * 4},
    "m2/persona": {"AAA": [.8, .6, .5, .5], "BBB": [.8, .5, .5, .5], "CCC": [.5] * 4},
}
ITEMS = ["q1", "q2", "q3", "q4"]


def _table(rep=REP, statistic="representativeness"):
    rows = []
    for pop, splits in rep.items():
        for split, values in splits.items():
            for item, v in zip(ITEMS, values):
                rows.append({"population": pop, "split": split, "component": "marginal",
                             "subgroup": "overall", "item": item, "statistic": statistic,
                             "value": v if statistic == "representativeness" else 1 - v})
                # rows of other statistics and subgroups must be ignored
                rows.append({"population": pop, "split": split, "component": "marginal",
                             "subgroup": "Q260=1", "item": item, "statistic": statistic,
                             "value": 0.0})
                rows.append({"population": pop, "split": split, "component": "modal",
                             "subgroup": "overall", "item": item, "statistic": "accuracy",
                             "value": 1.0})
    return pd.DataFrame(rows)


def test_steerability_is_the_best_steered_method_against_the_default():
    res = steerability(_table())
    st = res.steerability.set_index(["model", "group"])
    expected = {  # (default, steered, best method)
        ("m1", "AAA"): (.775, .85, "finetune"), ("m1", "BBB"): (.725, .7, "persona"),
        ("m1", "CCC"): (.70, .9, "persona"), ("m2", "AAA"): (.5, .6, "persona"),
        ("m2", "BBB"): (.5, .575, "persona"), ("m2", "CCC"): (.4, .5, "persona")}
    for key, (d, s, best) in expected.items():
        row = st.loc[key]
        assert row["representativeness_default"] == pytest.approx(d, abs=1e-12)
        assert row["representativeness_steered"] == pytest.approx(s, abs=1e-12)
        assert row["gain"] == pytest.approx(s - d, abs=1e-12)
        assert row["best_method"] == best and row["n_items"] == 4
    summ = res.summary.set_index("model")
    assert summ.loc["m1", "representativeness_default"] == pytest.approx(2.2 / 3)
    assert summ.loc["m1", "representativeness_steered"] == pytest.approx(2.45 / 3)
    assert summ.loc["m1", "gain"] == pytest.approx(.25 / 3)
    assert summ.loc["m1", "share_improved"] == pytest.approx(2 / 3)
    assert summ.loc["m1", "best_method"] == "persona"
    # the same from W1 distances (representativeness = 1 - w1_norm)
    again = steerability(_table(statistic="w1_norm"), metric="w1_norm")
    pd.testing.assert_frame_equal(again.steerability, res.steerability)


def test_consistency_is_the_share_of_topics_with_the_overall_best_group():
    res = steerability(_table())
    co = res.consistency.set_index("population")
    # m1/default: best overall AAA; items' best AAA, AAA, BBB, CCC
    assert co.loc["m1/default", "best_group"] == "AAA"
    assert co.loc["m1/default", "consistency"] == pytest.approx(0.5)
    assert co.loc["m1/default", "n_topics"] == 4 and co.loc["m1/default", "n_groups"] == 3
    assert co.loc["m1/persona", "consistency"] == 1.0  # every item best in CCC
    # ties: AAA and BBB tie overall and on every item -> every topic matches
    assert co.loc["m2/default", "best_group"] == "AAA;BBB"
    assert co.loc["m2/default", "consistency"] == 1.0
    # best AAA; q1 tie {AAA, BBB} -> 1/2, q2 AAA -> 1, q3 and q4 three-way ties -> 1/3
    assert co.loc["m2/persona", "consistency"] == pytest.approx((.5 + 1 + 1 / 3 + 1 / 3) / 4)
    assert res.summary.set_index("model").loc["m1", "consistency_default"] == 0.5
    # topics as groups of items: a = q1 (AAA), b = q2 (AAA), c = q3, q4 (BBB: .8)
    topics = steerability(_table(), topics={"a": ["q1"], "b": ["q2"], "c": ["q3", "q4"]})
    co = topics.consistency.set_index("population")
    assert co.loc["m1/default", "consistency"] == pytest.approx(2 / 3)
    assert co.loc["m1/default", "n_topics"] == 3


def test_subgroups_as_groups_compete_within_each_split():
    rows = []
    values = {("m/default", "s1"): .6, ("m/default", "s2"): .7, ("m/persona", "s1"): .9,
              ("m/persona", "s2"): .5}
    for split in ("AAA", "BBB"):
        for (pop, sub), v in values.items():
            for item in ITEMS:
                rows.append({"population": pop, "split": split, "component": "marginal",
                             "subgroup": sub, "item": item, "statistic": "representativeness",
                             "value": v + (0.1 if split == "BBB" else 0.0)})
    res = steerability(pd.DataFrame(rows), group_by="subgroup")
    st = res.steerability.set_index(["split", "group"])
    assert st.loc[("AAA", "s1"), "gain"] == pytest.approx(.3)
    assert st.loc[("BBB", "s2"), "gain"] == pytest.approx(-.2)
    co = res.consistency.set_index(["population", "attribute"])
    assert co.loc[("m/default", "AAA"), "best_group"] == "s2"
    assert co.loc[("m/persona", "BBB"), "best_group"] == "s1"
    assert (res.consistency["consistency"] == 1.0).all()


def _summary():
    acc = {"m1/default": [.5, .6, .7], "m1/persona": [.7, .8, .9], "m1/finetune": [.6] * 3,
           "m2/default": [.4, .4, .4], "m2/persona": [.5, .5, .6]}
    js = {"m1/default": [.2, .2, .2], "m1/persona": [.1, .1, .1], "m1/finetune": [.3] * 3,
          "m2/default": [.3, .3, .3], "m2/persona": [.2, .2, .2]}
    rows = []
    for stat, comp, vals in (("modal accuracy", "modal", acc),
                             ("mean Jensen-Shannon distance", "marginal", js)):
        for pop, v in vals.items():
            for split, x in zip(["AAA", "BBB", "CCC"], v):
                rows.append({"population": pop, "component": comp, "statistic": stat,
                             "value": x, "verdict": "no floor", "split": split})
    for pop in acc:
        rows.append({"population": pop, "component": "structure",
                     "statistic": "Jennrich p-value", "value": 0.5, "split": "AAA"})
    return pd.DataFrame(rows)


def test_ranking_of_methods_with_paired_split_intervals():
    sweep = pa.SweepResult(table=_table(), summary=_summary(), tasks=pd.DataFrame())
    res = steerability(sweep, n_boot=200, seed=0)
    assert res.settings["resample"] == "splits"
    rk = res.ranking.set_index(["statistic", "model", "method"])
    acc = rk.loc["modal accuracy"]
    assert acc.loc[("m1", "persona"), "rank"] == 1
    assert acc.loc[("m1", "default"), "rank"] == 2 and acc.loc[("m1", "finetune"), "rank"] == 2
    assert acc.loc[("m1", "persona"), "value"] == pytest.approx(.8)
    assert acc.loc[("m1", "default"), "vs_best"] == pytest.approx(-.2)
    # persona - default is .2 in every split: every paired draw is .2
    row = acc.loc[("m1", "persona")]
    assert row["vs_default"] == pytest.approx(.2)
    assert row["vs_default_low"] == pytest.approx(.2) and row["vs_default_high"] == pytest.approx(.2)
    # finetune - default: .1, 0, -.1 across splits: the interval straddles 0
    row = acc.loc[("m1", "finetune")]
    assert row["vs_default_low"] < 0 < row["vs_default_high"]
    assert -0.1 - 1e-12 <= row["vs_default_low"] and row["vs_default_high"] <= 0.1 + 1e-12
    js = rk.loc["mean Jensen-Shannon distance"]  # lower is better
    assert js.loc[("m1", "persona"), "rank"] == 1 and js.loc[("m1", "finetune"), "rank"] == 3
    assert js.loc[("m1", "persona"), "direction"] == "lower is better"
    assert js.loc[("m2", "persona"), "vs_default"] == pytest.approx(-.1)
    # m2 lacks finetune: no pooled "(all)" ranking; p-values are not ranked
    assert "(all)" not in res.ranking["model"].to_numpy()
    assert any("not ranked" in n and "Jennrich" in n for n in res.notes)
    tidy = res.to_frame()
    assert set(tidy["part"]) == {"steerability", "consistency", "ranking"}
    assert list(tidy.columns) == TIDY_COLUMNS


@pytest.fixture(scope="module")
def report_data():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gold = pa.datasets.wvs_like(n=300, seed=0).select(
            ["Q164", "Q182", "Q184", "Q46", "Q57", "Q45", "Q6", "Q8"])
        sims = {"m/default": gold.with_name("m/default"),
                "m/shuffled": pa.datasets.shuffled(gold, by=["Q260"], seed=1),
                "m/persona": pa.datasets.persona_like(gold, seed=2),
                "m/sample": pa.datasets.wvs_like(n=300, seed=7).select(gold.item_names)}
        rep = pa.audit(gold, sims, by=["Q260"], components=["marginal", "modal"], n_boot=5,
                       n_null=5, seed=0)
    return gold, sims, rep


def test_paired_gold_draws_reproduce_the_audit_and_cancel_shared_noise(report_data):
    gold, sims, rep = report_data
    res = steerability(rep, gold=gold, populations=sims, n_boot=30, seed=1,
                       resample_simulated=False)
    assert res.settings["resample"] == "gold"
    assert not any("does not reproduce" in n for n in res.notes), res.notes
    rk = res.ranking.set_index(["statistic", "method"])
    # shuffled keeps every item's distribution within Q260 exactly: against each gold
    # resample its marginal and modal headlines equal gold's own copy's, draw by draw
    for stat in ("mean normalised W1 (ordinal items)", "modal accuracy"):
        row = rk.loc[(stat, "shuffled")]
        # (1e-12: the shuffled rows sum in another order)
        assert row["vs_default"] == pytest.approx(0.0, abs=1e-12)
        assert row["vs_default_low"] == pytest.approx(0.0, abs=1e-12)
        assert row["vs_default_high"] == pytest.approx(0.0, abs=1e-12)
    # persona is far off: its difference to the default is beyond its paired interval's 0
    row = rk.loc[("mean Jensen-Shannon distance", "persona")]
    assert row["vs_default_low"] > 0
    # pairing matters: another sample of gold's population against gold's copy; the same
    # draws unpaired (gold resample b against b + 1) vary more
    arr = res.draws[("marginal", "mean Jensen-Shannon distance")]
    pops = res.settings["draw_populations"]
    a = arr[pops.index("m/sample"), 0]
    b = arr[pops.index("m/default"), 0]
    assert np.std(a - b) < 0.8 * np.std(a - np.roll(b, 1))  # 0.0071 vs 0.0100 (seed 1)


def test_paired_draws_over_a_sweep_reproduce_each_task(tmp_path):
    from dask.distributed import Client, LocalCluster

    gold = two_country_gold(200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sims = {"m/default": pa.datasets.shuffled(gold, seed=1),
                "m/persona": pa.datasets.persona_like(gold, seed=2)}
    with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        sw = pa.sweep(gold, sims, split_by="B_COUNTRY_ALPHA", components=["marginal", "modal"],
                      by=["Q260"], store=tmp_path / "s", client=client, n_boot=5, n_null=5,
                      seed=0)
    res = steerability(sw, gold=gold, populations=sims, n_boot=10, seed=0)
    assert res.settings["split_by"] == "B_COUNTRY_ALPHA" and res.settings["by"] == ["Q260"]
    assert not any("does not reproduce" in n for n in res.notes), res.notes
    assert res.draws[("modal", "modal accuracy")].shape == (2, 2, 10)
    rk = res.ranking
    assert rk["n_splits"].eq(2).all() and rk["vs_default_low"].notna().all()
    st = res.steerability.set_index("group")
    assert list(st.index) == ["AAA", "BBB"] and (st["best_method"] == "persona").all()


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match="pass gold= and populations="):
        steerability(_table(), resample="gold")
    with pytest.raises(ValueError, match="group_by must be"):
        steerability(_table(), group_by="country")
    with pytest.raises(TypeError, match="SweepResult"):
        steerability([1, 2])
    res = steerability(_table().assign(population="nomethod"))
    assert any("'<model>/<method>'" in n for n in res.notes)
    assert res.ranking.empty and any("no ranking" in n for n in res.notes)
