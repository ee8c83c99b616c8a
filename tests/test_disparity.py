"""Tests for popaudit.subgroups.disparity: spread statistics, the resampling engine against a loop over
resampled surveys, a constructed two-method comparison with a known answer (the fairness
paradox), the paradox on synthetic Singapore-like data, and bias tables."""

import warnings

import numpy as np
import pandas as pd
import pingouin as pg
import pytest

import popaudit as pa
from popaudit.datasets.predictions import paradox_predictions
from popaudit.subgroups.definition import FIDELITY_METRICS, define_subgroups, subgroup_fidelity
from popaudit.subgroups.disparity import (
    CALIBRATION_NOTE,
    STATISTICS,
    _metric_draws,
    bias_table,
    compare_disparity,
    disparity_statistics,
    subgroup_disparity,
)

P = 10
ITEMS = [pa.Item(f"Q{j + 1}", codes=(1, 2, 3, 4, 5)) for j in range(P)]
CELLS = ["sex=f & age=o", "sex=f & age=y", "sex=m & age=o", "sex=m & age=y"]


def quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


@pytest.fixture(scope="module")
def clean_gold():
    """Four sex x age cells of 40 respondents; everyone answers code 1 to every item, so the
    gold modes are certain and resampling respondents changes nothing."""
    sex = np.repeat(["f", "f", "m", "m"], 40)
    age = np.repeat(["o", "y", "o", "y"], 40)
    df = pd.DataFrame({f"Q{j + 1}": 1 for j in range(P)}, index=range(160))
    df["sex"], df["age"] = sex, age
    df["w"] = np.tile([1.0, 2.0], 80)
    return pa.Survey(df, ITEMS, demographics=["sex", "age"], weights="w", name="gold")


def answers(hits: dict, miss_code: dict) -> pd.DataFrame:
    """Predict code 1 (the gold mode) on the first ``hits[g]`` items, ``miss_code[g]`` after."""
    rows = []
    for g, h in hits.items():
        for j in range(P):
            rows.append((g, f"Q{j + 1}", 1 if j < h else miss_code[g]))
    return pd.DataFrame(rows, columns=["subgroup", "item", "answer"])


# -- spread statistics ---------------------------------------------------------------------------

def test_disparity_statistics_analytic():
    s = disparity_statistics([0.2, 0.4, 0.6, 0.8])
    assert s["mean"] == pytest.approx(0.5) and s["range"] == pytest.approx(0.6)
    assert s["normalised_range"] == pytest.approx(0.75)
    assert s["sd"] == pytest.approx(np.sqrt(0.05)) and s["cv"] == pytest.approx(np.sqrt(0.05) / .5)
    assert s["worst"] == 0.2 and s["best"] == 0.8
    e = disparity_statistics([0.4, 0.1], higher_is_better=False, ddof=1)
    assert e["worst"] == 0.4 and e["sd"] == pytest.approx(np.std([0.4, 0.1], ddof=1))
    z = disparity_statistics([[0.0, 0.0], [0.1, np.nan]])
    assert np.isnan(z["normalised_range"][0]) and np.isnan(z["cv"][0])   # undefined, not 0
    assert z["range"][1] == 0 and z["mean"][1] == pytest.approx(0.1)


# -- a constructed comparison with a known answer ----------------------------------------------

@pytest.fixture(scope="module")
def constructed(clean_gold):
    sg = define_subgroups(clean_gold, [("sex", "age")], min_size=1)
    base = answers(dict(zip(CELLS, (2, 4, 6, 8))), dict.fromkeys(CELLS, 3))
    tuned = answers(dict(zip(CELLS, (7, 7, 8, 8))), dict(zip(CELLS, (5, 5, 2, 2))))
    return (subgroup_fidelity(sg, base, name="base"),
            subgroup_fidelity(sg, tuned, name="tuned"))


def test_constructed_disparity_is_exact(constructed):
    base, tuned = constructed
    # accuracy .2 .4 .6 .8; NMAE (1 - acc) x 0.5 = .4 .3 .2 .1
    np.testing.assert_allclose(base.metric("accuracy")[CELLS], [.2, .4, .6, .8])
    np.testing.assert_allclose(base.metric("nmae")[CELLS], [.4, .3, .2, .1])
    d = subgroup_disparity({"base": base, "tuned": tuned}, n_boot=20, seed=1,
                           resample="respondents")
    exp = {("base", "accuracy"): (0.5, 0.6, 0.75, np.sqrt(.05), np.sqrt(.05) / .5, .2),
           ("base", "nmae"): (0.25, 0.3, 0.75, np.sqrt(.0125), np.sqrt(.0125) / .25, .4),
           ("tuned", "accuracy"): (0.75, 0.1, 0.125, 0.05, 0.05 / .75, .7),
           ("tuned", "nmae"): (0.175, 0.25, 0.25 / 0.3, 0.125, 0.125 / .175, .3)}
    t = d.table.set_index(["population", "metric", "statistic"])
    for (pop, m), vals in exp.items():
        for st, v in zip(("mean", "range", "normalised_range", "sd", "cv", "worst"), vals):
            row = t.loc[(pop, m, st)]
            assert row["value"] == pytest.approx(v, abs=1e-12), (pop, m, st)
            # noise-free gold: every draw is the point estimate, so the CI collapses onto it
            assert row["ci_low"] == pytest.approx(v, abs=1e-12)
            assert row["ci_high"] == pytest.approx(v, abs=1e-12)
    w = d.worst.set_index(["population", "metric"])
    assert w.loc[("base", "accuracy"), "subgroup"] == "sex=f & age=o"
    assert w.loc[("base", "nmae"), "subgroup"] == "sex=f & age=o"
    assert w.loc[("base", "accuracy"), "share_worst"] == 1.0
    per = d.per_subgroup
    assert set(per.columns) >= {"population", "metric", "subgroup", "value", "ci_low", "ci_high",
                                "n_items", "split", "stratum"}
    assert len(per) == 2 * 2 * 4


def test_constructed_fairness_paradox(constructed):
    base, tuned = constructed
    c = compare_disparity(base, tuned, n_boot=20, seed=1, resample="respondents")
    t = c.table.set_index(["metric", "statistic"])
    assert t.loc[("accuracy", "mean"), "diff"] == pytest.approx(0.25)
    assert t.loc[("accuracy", "mean"), "change"] == "improved"
    assert t.loc[("accuracy", "normalised_range"), "change"] == "narrowed"
    assert t.loc[("accuracy", "cv"), "change"] == "narrowed"
    assert t.loc[("nmae", "mean"), "diff"] == pytest.approx(-0.075)
    assert t.loc[("nmae", "mean"), "change"] == "improved"         # lower NMAE is better
    assert t.loc[("nmae", "normalised_range"), "diff"] == pytest.approx(0.25 / 0.3 - 0.75)
    assert t.loc[("nmae", "normalised_range"), "change"] == "widened"
    assert t.loc[("nmae", "cv"), "change"] == "widened"
    par = c.paradox.set_index("metric")["paradox"]
    assert bool(par["nmae"]) and not bool(par["accuracy"])
    assert "paradox" in repr(c)


def test_undefined_statistics_are_noted(clean_gold):
    sg = define_subgroups(clean_gold, [("sex", "age")], min_size=1)
    wrong = answers(dict.fromkeys(CELLS, 0), dict.fromkeys(CELLS, 2))     # accuracy 0 everywhere
    fid = subgroup_fidelity(sg, wrong, name="wrong")
    d = subgroup_disparity(fid, "accuracy", n_boot=5, seed=0, resample="respondents")
    row = d.table.set_index("statistic").loc["normalised_range"]
    assert np.isnan(row["value"]) and row["note"] == "undefined: max is 0"


def test_same_seed_same_draws_and_populations_share_them(constructed):
    base, tuned = constructed
    a = subgroup_disparity(base, n_boot=40, seed=3)
    b = subgroup_disparity(base, n_boot=40, seed=3)
    both = subgroup_disparity({"base": base, "tuned": tuned}, n_boot=40, seed=3)
    pd.testing.assert_frame_equal(a.table, b.table)
    sub = both.table[both.table["population"] == "base"].reset_index(drop=True)
    pd.testing.assert_frame_equal(sub, a.table)                  # paired: same gold/item draws
    c = subgroup_disparity(base, n_boot=40, seed=4)
    assert not np.allclose(c.table["ci_low"], a.table["ci_low"], equal_nan=True)
    assert (a.table["ci_high"] - a.table["ci_low"] > 0).any()   # items resampled: real widths


def test_settings_record_the_integer_seed_that_reproduces_the_draws(constructed):
    base, _ = constructed
    a = subgroup_disparity(base, n_boot=20)                        # seed=None: fresh entropy
    assert isinstance(a.settings["seed"], int)
    again = subgroup_disparity(base, n_boot=20, seed=a.settings["seed"])
    pd.testing.assert_frame_equal(a.table, again.table)
    g = subgroup_disparity(base, n_boot=20, seed=np.random.default_rng(5))
    pd.testing.assert_frame_equal(
        g.table, subgroup_disparity(base, n_boot=20, seed=g.settings["seed"]).table)
    assert a.settings["confidence_level"] == 0.95 and a.settings["ci_method"] == "basic"
    # the only note: what the calibration study found about these intervals (issue 15)
    assert a.notes == (CALIBRATION_NOTE,) and a.compare("base", "base").settings == a.settings
    b = bias_table(base, n_boot=5, seed=2)
    assert b.settings["seed"] == 2 and b.settings["weights"] == "respondents"


def test_old_argument_and_attribute_names_warn_and_still_work(constructed):
    base, tuned = constructed
    new = subgroup_disparity(base, n_boot=20, seed=1, confidence_level=0.8,
                             ci_method="percentile")
    with pytest.warns(DeprecationWarning, match="'ci' is deprecated, use 'confidence_level'"):
        old = subgroup_disparity(base, n_boot=20, seed=1, ci=0.8, interval="percentile")
    pd.testing.assert_frame_equal(old.table, new.table)
    with pytest.warns(DeprecationWarning, match=r"DisparityResult.ci is deprecated"):
        assert new.ci == 0.8
    with pytest.warns(DeprecationWarning, match=r"settings\['ci_method'\]"):
        assert new.interval == "percentile"
    with pytest.warns(DeprecationWarning, match="DisparityComparison.ci"):
        assert compare_disparity(base, tuned, n_boot=5, seed=0, ci=0.8).ci == 0.8
    with pytest.warns(DeprecationWarning, match="'interval' is deprecated"):
        b = bias_table(base, n_boot=5, seed=0, interval="percentile")
    assert b.settings["ci_method"] == "percentile"
    with pytest.raises(TypeError, match="both 'ci'"):
        subgroup_disparity(base, ci=0.9, confidence_level=0.9)


# -- the engine against a loop over resampled surveys --------------------------------------------

@pytest.fixture(scope="module")
def noisy():
    rng = np.random.default_rng(11)
    n = 200
    items = [pa.Item("A", codes=(1, 2, 3, 4)), pa.Item("B", codes=(1, 2, 3)),
             pa.Item("C", codes=(1, 2, 3, 4), kind="nominal"), pa.Item("D", codes=(1, 2),
                                                                      kind="binary")]
    df = pd.DataFrame({
        "A": rng.choice([1, 2, 3, 4, -1], n, p=[.3, .3, .2, .15, .05]),
        "B": rng.choice([1, 2, 3], n), "C": rng.choice([1, 2, 3, 4], n),
        "D": rng.choice([1, 2], n),
        "sex": rng.choice(["f", "m"], n), "age": rng.choice(["o", "y"], n),
        "w": rng.choice([1.0, 2.0], n)})
    gold = pa.Survey(df, items, demographics=["sex", "age"], weights="w")
    strata = ["sex", ("sex", "age")]
    sg = define_subgroups(gold, strata, min_size=1)
    rows = []
    for lab in sg.labels:
        for it in items:
            # probabilities on a 0.1 grid: simulated ties happen
            q = rng.integers(0, 4, it.n_categories).astype(float)
            q = np.round(10 * q / q.sum()) if q.sum() > 0 else np.full(it.n_categories, 0.0)
            q[np.argmax(q)] += 10 - q.sum()
            rows += [(lab, it.name, c, pr / 10) for c, pr in zip(it.codes, q)]
    preds = pd.DataFrame(rows, columns=["subgroup", "item", "option", "probability"])
    return gold, strata, sg, preds


@pytest.mark.parametrize("ties,sim_ties", [("any", "average"), ("fractional", "first"),
                                           ("strict", "unresolved")])
def test_engine_matches_a_loop_over_resampled_surveys(noisy, ties, sim_ties):
    gold, strata, sg, preds = noisy
    fid = subgroup_fidelity(sg, preds, ties=ties, sim_ties=sim_ties, name="m")
    labels, items = list(sg.labels), list(sg.gold.item_names)
    rng = np.random.default_rng(0)
    B = 4
    gc = rng.multinomial(len(gold), np.full(len(gold), 1 / len(gold)), size=B).astype(float)
    ic = rng.multinomial(len(items), np.full(len(items), 1 / len(items)), size=B).astype(float)
    point, draws, _ = _metric_draws([fid], FIDELITY_METRICS, n_boot=B, seed=0, resample="both",
                                    stratify=None, labels=labels, items=items, _counts=(gc, ic))
    for mi, m in enumerate(FIDELITY_METRICS):                  # point = the fidelity table
        np.testing.assert_allclose(point[0, mi], fid.metric(m)[labels].to_numpy(), atol=1e-14)
    for b in range(B):
        gb = gold.subset(np.repeat(np.arange(len(gold)), gc[b].astype(int)))
        fb = subgroup_fidelity(define_subgroups(gb, strata, min_size=1), preds, ties=ties,
                               sim_ties=sim_ties)
        pp = fb.per_pair.assign(mult=fb.per_pair["item"].map(dict(zip(items, ic[b]))))
        for mi, m in enumerate(FIDELITY_METRICS):
            v = pp[m].astype(float)
            ok = v.notna() & (pp["mult"] > 0)
            num = (v.fillna(0) * pp["mult"] * ok).groupby(pp["subgroup"]).sum()
            den = (pp["mult"] * ok).groupby(pp["subgroup"]).sum()
            ref = (num / den.where(den > 0)).reindex(labels).to_numpy()
            np.testing.assert_allclose(draws[0, mi, b], ref, atol=1e-12, equal_nan=True,
                                       err_msg=f"{m}, draw {b}")


def test_respondent_level_simulation_is_resampled_too(noisy):
    gold, _, sg, _ = noisy
    sim = quiet(pa.datasets.persona_like, gold, seed=1)
    fid = subgroup_fidelity(sg, sim, name="persona")
    d_items = subgroup_disparity(fid, "w1_norm", n_boot=30, seed=0, resample="items")
    d_resp = subgroup_disparity(fid, "w1_norm", n_boot=30, seed=0, resample="respondents")
    assert (d_resp.table["se"] > 0).any() and (d_items.table["se"] > 0).any()
    # stratified resampling within sex cells runs and differs from the plain bootstrap
    d_strat = subgroup_disparity(fid, "w1_norm", n_boot=30, seed=0, resample="respondents",
                                 stratify="sex")
    assert d_strat.stratify == ("sex",)
    assert not np.allclose(d_strat.table["se"], d_resp.table["se"])


# -- the paradox on synthetic Singapore-like data -----------------------------------------------

def test_fairness_paradox_on_synthetic_singapore_data():
    gold = pa.wvs_survey(pa.datasets.wvs_like_frame(n=2012, seed=0))
    sg = quiet(pa.study_a_subgroups, gold)
    preds = paradox_predictions(sg, seed=0)
    base = subgroup_fidelity(sg, preds["base"], name="base")
    tuned = subgroup_fidelity(sg, preds["fine-tuned"], name="fine-tuned")
    assert tuned.mean("accuracy") > base.mean("accuracy") + 0.15
    assert tuned.mean("nmae") < base.mean("nmae")
    c = compare_disparity(base, tuned, n_boot=200, seed=0)
    par = c.paradox.set_index(["metric", "split"])
    assert bool(par.loc[("nmae", "all"), "paradox"])
    assert par.loc[("nmae", "all"), "normalised_range_change"] == "widened"
    assert par.loc[("accuracy", "all"), "mean_change"] == "improved"
    assert par.loc[("accuracy", "all"), "normalised_range_change"] == "narrowed"
    assert not bool(par.loc[("accuracy", "all"), "paradox"])


# -- bias tables --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def linear(clean_gold):
    """Accuracy = .5 + .1 male + .2 young, exactly, in every single-axis and crossed subgroup."""
    sg = define_subgroups(clean_gold, ["sex", "age", ("sex", "age")], min_size=1)
    acc = {"sex=f": .5, "sex=m": .6, "age=o": .5, "age=y": .7, "sex=f & age=o": .5,
           "sex=f & age=y": .7, "sex=m & age=o": .6, "sex=m & age=y": .8}
    tab = answers({g: round(a * P) for g, a in acc.items()}, dict.fromkeys(acc, 3))
    return subgroup_fidelity(sg, tab, name="linear")


def test_bias_table_recovers_a_known_linear_effect(linear):
    b = bias_table(linear, "accuracy", weights="equal", n_boot=10, seed=0,
                   resample="respondents")
    coef = b.regression.set_index("term")["coef"]
    assert coef["Intercept"] == pytest.approx(0.5, abs=1e-10)
    assert coef["sex=m"] == pytest.approx(0.1, abs=1e-10)
    assert coef["sex=f"] == pytest.approx(0.0, abs=1e-10)
    assert coef["age=y"] == pytest.approx(0.2, abs=1e-10)
    assert b.fit["r2"] == pytest.approx(1.0)
    assert set(b.regression["reference"][1:]) == {"sex not restricted", "age not restricted"}
    lv = b.levels.set_index(["attribute", "level"])
    assert lv.loc[("sex", "m"), "mean"] == pytest.approx((.6 + .8 + .6) / 3)
    assert lv.loc[("age", "o"), "mean"] == pytest.approx((.5 + .6 + .5) / 3)
    # deviation from the mean over every subgroup that restricts sex (6 of them)
    assert lv.loc[("sex", "m"), "deviation"] == pytest.approx(2.0 / 3 - 3.7 / 6)
    fav = b.favoured.set_index("attribute")
    assert fav.loc["sex", "level"] == "m" and fav.loc["age", "level"] == "y"
    assert fav["clear"].all()
    assert "sex=m" in repr(b) and "age=y" in repr(b)


def test_bias_regression_weights_and_reference_level(linear):
    b = bias_table(linear, "nmae", weights="respondents", n_boot=10, seed=0,
                   resample="respondents")
    tab = linear.subgroups.table.set_index("subgroup").loc[list(linear.subgroups.labels)]
    y = linear.metric("nmae")[tab.index].to_numpy()
    X = pd.DataFrame({t: (tab[a] == lv).astype(float).to_numpy()
                      for t, a, lv in b.regression[["term", "attribute", "level"]].iloc[1:]
                      .itertuples(index=False)})
    ref = pg.linear_regression(X, y, weights=tab["n_respondents"].to_numpy(float))
    np.testing.assert_allclose(b.regression["coef"], ref["coef"], atol=1e-12)
    sw = np.sqrt(tab["n_respondents"].to_numpy(float))
    Xc = np.column_stack([np.ones(len(y)), X.to_numpy()])
    lstsq = np.linalg.lstsq(Xc * sw[:, None], y * sw, rcond=None)[0]
    np.testing.assert_allclose(b.regression["coef"], lstsq, atol=1e-12)
    # only crossed subgroups: every subgroup restricts both axes -> a level is the reference
    sg = define_subgroups(linear.subgroups.survey, [("sex", "age")], min_size=1)
    tab2 = answers(dict(zip(CELLS, (5, 7, 6, 8))), dict.fromkeys(CELLS, 3))
    fid2 = subgroup_fidelity(sg, tab2)
    b2 = bias_table(fid2, "accuracy", weights="equal", n_boot=5, seed=0, resample="respondents")
    assert set(b2.regression["reference"][1:]) <= {"sex=f", "sex=m", "age=o", "age=y"}
    coef2 = b2.regression.set_index("term")["coef"]
    assert len(coef2) == 3


def test_bad_input(constructed, noisy, linear):
    base = constructed[0]
    with pytest.raises(ValueError, match="n_boot"):
        subgroup_disparity(base, n_boot=1)
    with pytest.raises(ValueError, match="resample"):
        subgroup_disparity(base, resample="questions")
    with pytest.raises(ValueError, match="ci_method"):
        subgroup_disparity(base, ci_method="studentized")
    with pytest.raises(ValueError, match="unknown metric"):
        subgroup_disparity(base, "f1")
    with pytest.raises(ValueError, match="share a name"):
        subgroup_disparity([base, base])
    other = subgroup_fidelity(noisy[2], noisy[3])
    with pytest.raises(ValueError, match="other gold subgroups"):
        subgroup_disparity({"a": base, "b": other})
    with pytest.raises(KeyError, match="population 'x'"):
        subgroup_disparity(base, n_boot=2, seed=0).compare("base", "x")
    with pytest.raises(KeyError, match="attribute"):
        bias_table(linear, attributes=["religion"], n_boot=2)
    with pytest.raises(ValueError, match="weights"):
        bias_table(linear, weights="size", n_boot=2)
    assert set(STATISTICS) >= {"normalised_range", "cv", "worst"}


# -- synthetic prediction tables ---------------------------------------------------------------

def test_modal_predictions_hit_rates_distances_and_probabilities(clean_gold):
    from popaudit.datasets.predictions import modal_predictions
    sg = define_subgroups(clean_gold, [("sex", "age")], min_size=1)
    tab = modal_predictions(sg, hit_rate=dict(zip(CELLS, (0.2, 0.4, 0.6, 0.8))),
                            miss_distance=0.5, seed=0)
    fid = subgroup_fidelity(sg, tab)
    np.testing.assert_allclose(fid.metric("accuracy")[CELLS], [.2, .4, .6, .8])
    # gold mode code 1 (position 0): a miss of half the 5-point scale is code 3
    assert set(tab.loc[tab["answer"] != 1, "answer"]) == {3}
    probs = modal_predictions(sg, hit_rate=0.5, miss_distance=1.0, seed=0, kind="probabilities")
    sums = probs.groupby(["subgroup", "item"])["probability"].sum()
    np.testing.assert_allclose(sums, 1.0)
    d = pa.AnswerDistributions.from_frame(probs, ITEMS)
    fid_p = subgroup_fidelity(sg, d)
    np.testing.assert_allclose(fid_p.metric("accuracy"), 0.5)
    np.testing.assert_allclose(fid_p.metric("nmae"), 0.5)        # misses at the far end
    with pytest.raises(ValueError, match="hit_rate"):
        modal_predictions(sg, hit_rate=1.5)


def test_paradox_predictions_reference(clean_gold):
    sg = define_subgroups(clean_gold, [("sex", "age")], min_size=1)
    out = paradox_predictions(sg, seed=0, reference=sg)
    pd.testing.assert_frame_equal(out["base"], paradox_predictions(sg, seed=0)["base"])
    small = define_subgroups(clean_gold, ["sex"], min_size=1)
    with pytest.raises(KeyError, match="reference lacks"):
        paradox_predictions(sg, reference=small)


def test_populations_are_compared_on_common_subgroups_and_items(constructed):
    base, _ = constructed
    sg = base.subgroups
    part = answers(dict(zip(CELLS[:3], (2, 4, 6))), dict.fromkeys(CELLS[:3], 3))
    part = part[part["item"] != "Q10"]
    with pytest.warns(UserWarning, match="no answers for 1 kept subgroup"):
        fid = subgroup_fidelity(sg, part, name="partial")
    with pytest.warns(UserWarning) as rec:
        d = subgroup_disparity({"base": base, "partial": fid}, n_boot=5, seed=0,
                               resample="respondents")
    msgs = " ".join(str(w.message) for w in rec)
    assert "1 subgroup(s) not covered" in msgs and "1 item(s) not covered" in msgs
    assert set(d.per_subgroup["subgroup"]) == set(CELLS[:3])
    assert (d.per_subgroup["n_items"] == P - 1).all()


def test_declared_option_positions_reach_the_bootstrap_engine():
    # the engine calls the metric kernels, so positions count as in subgroup_fidelity
    rng = np.random.default_rng(3)
    n = 240
    items = [pa.Item("A", codes=(1, 2, 3, 4), positions=(0, 1, 3, 2)),
             pa.Item("B", codes=(1, 2, 3))]
    df = pd.DataFrame({"A": rng.integers(1, 5, n), "B": rng.integers(1, 4, n),
                       "sex": rng.choice(["f", "m"], n)})
    gold = pa.Survey(df, items, demographics=["sex"])
    sim = pa.Survey(df.assign(A=rng.integers(1, 5, n), B=rng.integers(1, 4, n)), items,
                    demographics=["sex"])
    sg = define_subgroups(gold, "sex", min_size=1)
    metrics = ("accuracy", "nmae", "expected_distance", "w1_norm")
    for ties, sim_ties in (("any", "average"), ("fractional", "first")):
        fid = subgroup_fidelity(sg, sim, ties=ties, sim_ties=sim_ties)
        point, _draws, _ = _metric_draws([fid], metrics, n_boot=3, seed=0, resample="both",
                                        stratify=None, labels=list(sg.labels),
                                        items=["A", "B"])
        for mi, m in enumerate(metrics):
            np.testing.assert_allclose(point[0, mi], fid.metric(m)[list(sg.labels)],
                                       atol=1e-14, err_msg=m)


def test_interval_methods_of_the_calibration_study(constructed):
    """bca (bias-corrected percentile) and basic_squared come from the inference core;
    basic_squared is the basic interval of the squared statistic, square-rooted."""
    from popaudit._inference import bootstrap_interval

    base, _ = constructed
    res = {m: subgroup_disparity(base, "w1_norm", n_boot=40, seed=3, ci_method=m)
           for m in ("basic", "bca", "basic_squared")}
    t = {m: r.table.query("split == 'all' and statistic == 'sd'").iloc[0]
         for m, r in res.items()}
    pt = res["basic"]._point[0, 0, list(res["basic"].splits).index("all"),
                             STATISTICS.index("sd")]
    dr = res["basic"]._draws[0, 0, list(res["basic"].splits).index("all"),
                             STATISTICS.index("sd")]
    _, lo, hi = bootstrap_interval(pt, dr, method="basic", squared=True, bounds=(0.0, 0.5))
    assert (t["basic_squared"]["ci_low"], t["basic_squared"]["ci_high"]) == \
        pytest.approx((float(lo), float(hi)))
    assert 0 <= t["bca"]["ci_low"] <= t["bca"]["ci_high"] <= 0.5
    assert all(r.notes == (CALIBRATION_NOTE,) for r in res.values())
    with pytest.raises(ValueError, match="ci_method"):
        subgroup_disparity(base, "w1_norm", n_boot=5, ci_method="studentized")
