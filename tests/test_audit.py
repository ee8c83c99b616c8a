"""audit() composes the components; the report's table, summary and exports."""

import json

import numpy as np
import pandas as pd
import pytest

import popaudit as pa
from popaudit.auditing import audit
from popaudit.report import COLUMNS


@pytest.fixture(scope="module")
def gold():
    return pa.datasets.wvs_like(n=800, seed=0)


@pytest.fixture(scope="module")
def report(gold):
    sims = {"shuffled": pa.datasets.shuffled(gold, seed=1),
            "persona": pa.datasets.persona_like(gold, seed=2)}
    return audit(gold, sims, by=["Q260"], seed=0, n_boot=30, n_null=30, networks=False)


def test_table_is_tidy(report):
    assert list(report.table.columns) == COLUMNS
    assert set(report.populations) == {"shuffled", "persona"}
    assert {"marginal", "modal", "invalid", "structure", "cultural_map"} <= set(
        report.table["component"])
    levels = set(report.table.loc[report.table.component == "structure", "level"])
    assert levels == {"individual"}


def test_structure_rows_are_the_comparison(report):
    cmp = report.results[("structure", "shuffled")]
    t = report.table
    row = t[(t.population == "shuffled") & (t.component == "structure")
            & (t.statistic == "rmse") & (t.item == "polychoric")]
    assert float(row["value"].iloc[0]) == pytest.approx(float(cmp.statistic("rmse")["value"]))
    # shuffling destroys structure: its RMSE lies beyond gold's resampling noise floor
    assert float(row["value"].iloc[0]) > float(row["floor_high"].iloc[0])


def test_cultural_map_rows(report):
    cm = report.results[("cultural_map", "all")]
    t = report.table
    rows = t[(t.component == "cultural_map") & (t.statistic == "trad_agg")]
    assert set(rows["population"]) == {"gold", "shuffled", "persona"}
    pos = cm.positions.table.query("subgroup == 'all'").set_index("population")
    got = rows.set_index("population")["value"].astype(float)
    assert got["persona"] == pytest.approx(pos.loc["persona", "trad_agg"])


def test_numbers_come_from_components(report, gold):
    sim = report.results[("marginal", "persona")]
    t = report.table
    row = t[(t.population == "persona") & (t.component == "marginal") & (t.subgroup == "overall")
            & (t.item == "Q164") & (t.statistic == "w1_norm")]
    expected = sim.per_item.set_index("item").loc["Q164", "w1_norm"]
    assert float(row["value"].iloc[0]) == pytest.approx(float(expected), abs=0)


def test_shuffled_matches_every_marginal_and_mode(report):
    s = report.summary.set_index(["population", "statistic"])["value"]
    assert s[("shuffled", "mean normalised W1 (ordinal items)")] == pytest.approx(0, abs=1e-12)
    assert s[("shuffled", "modal accuracy")] == 1.0
    assert s[("persona", "modal accuracy")] < 1.0
    assert s[("persona", "invalid answer rate")] > 0


def test_exports(report, tmp_path):
    report.to_csv(tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv")
    assert len(back) == len(report.table)
    payload = json.loads(report.to_json(tmp_path / "s.json"))
    assert payload["settings"]["by"] == ["Q260"]
    assert len(payload["summary"]) == len(report.summary)
    html = report.to_html(tmp_path / "r.html")
    assert "<table" in html and "modal accuracy" in html
    assert "Report(" in repr(report)


def test_subgroup_level_predictions(gold):
    # a model's predicted answer distributions per subgroup (e.g. token probabilities)
    dist = pa.answer_distributions(gold, by=["Q260"])
    rep = audit(gold, {"exact": dist}, by=["Q260"])
    assert "structure" not in set(rep.table["component"])  # needs respondent-level data
    s = rep.summary.set_index("statistic")["value"]
    assert s["modal accuracy"] == 1.0
    assert s["mean normalised W1 (ordinal items)"] == pytest.approx(0, abs=1e-12)


def test_mismatched_items_are_an_error(gold):
    other = gold.select(list(gold.item_names[:5]))
    with pytest.raises(ValueError, match="only in gold"):
        audit(gold, {"partial": other}, structure=False)


def test_bad_simulated_argument(gold):
    with pytest.raises(TypeError, match="simulated must be"):
        audit(gold, [gold])
    with pytest.raises(TypeError, match="gold must be"):
        audit(np.zeros((3, 3)), gold)


def test_study_a_subgroups_in_the_report():
    import warnings

    gold = pa.wvs_survey(pa.datasets.wvs_like_frame(n=900, seed=0))
    sims = {"persona": pa.datasets.persona_like(gold, seed=1),
            "finetuned": pa.datasets.finetuned_like(gold, seed=2)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sg = pa.study_a_subgroups(gold)
    rep = audit(gold, sims, subgroups=sg, structure=False, cultural_map=False, n_boot=30)
    disp = rep.results[("disparity", "all")]
    t = rep.table
    per = t[t.component == "subgroup_fidelity"]
    assert len(per) == len(disp.per_subgroup)
    change = t[(t.component == "disparity") & (t.population == "finetuned vs persona")]
    assert len(change) == len(disp.compare("persona", "finetuned").table)
    # a value outside its own (bias-corrected) interval always has its estimate beside it,
    # and the estimate lies inside the interval
    ci = t[pd.to_numeric(t.ci_low, errors="coerce").notna()]
    v, e, lo, hi = (ci[c].astype(float) for c in ("value", "estimate", "ci_low", "ci_high"))
    outside = (v < lo - 1e-12) | (v > hi + 1e-12)
    assert outside.any() and e[outside].notna().all()
    assert ((e[e.notna()] >= lo[e.notna()] - 1e-9) & (e[e.notna()] <= hi[e.notna()] + 1e-9)).all()


def test_undefined_jennrich_pvalue_says_why():
    # mode collapse pushes polychoric pairs to |rho| = 1: the pooled matrix is singular
    gold = pa.datasets.wvs_like(n=600, seed=0)
    sim = pa.datasets.mode_collapsed(gold, seed=1)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = audit(gold, {"mc": sim}, n_boot=10, n_null=10, cultural_map=False, networks=False)
    row = rep.summary[rep.summary.statistic == "Jennrich p-value"].iloc[0]
    if pd.isna(row["value"]):
        assert "singular" in row["note"] or "undefined" in row["note"]
    else:
        assert 0 <= row["value"] <= 1 and pd.isna(row["note"])


def test_fully_mode_collapsed_population_is_audited_loudly(gold):
    # every respondent answers every item with its first code: no variation at all
    idx = np.zeros((gold.n_respondents, gold.n_items), dtype=int)
    ones = pa.Survey.from_category_indices(idx, gold.items, demographics=gold.demographics,
                                           name="ones")
    with pytest.warns(UserWarning, match="could not be computed"):
        rep = audit(gold, {"ones": ones}, by=["Q260"], n_boot=10, n_null=10, seed=0)
    comps = set(rep.table.loc[rep.table.population == "ones", "component"])
    assert {"marginal", "modal"} <= comps
    s = rep.summary.set_index("statistic")["value"]
    assert s["modal accuracy"] < 1
    assert s["mean normalised W1 (ordinal items)"] > 0
    # the structural component has a row that says why, and the report's notes say so too
    failed = rep.summary[rep.summary.verdict == "undefined"]
    assert "structure" in set(failed["component"])
    assert all(isinstance(n, str) and n for n in failed["note"])
    assert any(n.startswith("structure could not be computed for 'ones'") for n in rep.notes)


def test_one_failing_population_keeps_the_others(gold):
    idx = np.zeros((gold.n_respondents, gold.n_items), dtype=int)
    ones = pa.Survey.from_category_indices(idx, gold.items, demographics=gold.demographics)
    sims = {"ones": ones, "shuffled": pa.datasets.shuffled(gold, seed=1)}
    with pytest.warns(UserWarning, match="could not be computed for 'ones'"):
        rep = audit(gold, sims, n_boot=10, n_null=10, seed=0, networks=False)
    row = rep.summary[(rep.summary.population == "shuffled")
                      & (rep.summary.statistic == "polychoric RMSE")].iloc[0]
    assert np.isfinite(row["value"]) and row["verdict"] == "beyond floor"
    assert rep.settings["seed"] == 0


def test_seed_none_records_the_integer_that_reproduces(gold):
    sim = pa.datasets.shuffled(gold, seed=1)
    a = audit(gold, {"s": sim}, structure=False, cultural_map=False)
    b = audit(gold, {"s": sim}, structure=False, cultural_map=False, seed=a.settings["seed"])
    assert isinstance(a.settings["seed"], int)
    pd.testing.assert_frame_equal(a.table, b.table)


def test_audit_subgroups_get_the_minimum_cell_size_and_n():
    """A subgroup below define_subgroups' minimum cell size (30) is not scored in the
    marginal and modal components; the report says which, and every row carries n."""
    gold = pa.datasets.wvs_like(n=400, seed=0)          # Q289 = 1: 24 respondents
    sim = pa.datasets.shuffled(gold, seed=1)
    with pytest.warns(UserWarning, match="warning"):
        rep = pa.audit(gold, {"s": sim}, by=["Q289"], structure=False, cultural_map=False)
    assert any("below the minimum cell size 30 excluded" in n and "'Q289=1' (n=24 in gold"
               in n for n in rep.notes)
    rows = rep.table[rep.table["component"].isin(["marginal", "modal"])]
    assert "Q289=1" not in set(rows["subgroup"]) and "Q289=0" in set(rows["subgroup"])
    assert rows["n"].notna().all()


def test_marginal_and_modal_headlines_have_a_noise_floor(gold):
    sims = {"shuffled": pa.datasets.shuffled(gold, seed=1),
            "persona": pa.datasets.persona_like(gold, seed=2)}
    rep = audit(gold, sims, by=["Q260"], n_boot=10, n_null=20, seed=0, structure=False,
                cultural_map=False)
    s = rep.summary.set_index(["population", "statistic"])
    w1, acc = "mean normalised W1 (ordinal items)", "modal accuracy"
    # a distance is bounded above, a similarity below; shuffling keeps every marginal
    assert s.loc[("shuffled", w1), "floor_high"] > 0
    assert np.isnan(s.loc[("shuffled", w1), "floor_low"])
    assert s.loc[("shuffled", w1), "verdict"] == "within noise"
    assert s.loc[("persona", w1), "verdict"] == "beyond floor"
    assert 0 < s.loc[("persona", acc), "floor_low"] < 1
    assert s.loc[("persona", acc), "verdict"] == "beyond floor"
    # one floor per simulated size, shared by the populations of that size
    assert s.loc[("shuffled", acc), "floor_low"] == s.loc[("persona", acc), "floor_low"]


def test_networks_component_reads_the_nct_against_its_floor():
    gold = pa.datasets.wvs_like(n=500, seed=0).select(["Q164", "Q182", "Q184", "Q46", "Q57",
                                                        "Q45", "Q131", "Q6"])
    sims = {"shuffled": pa.datasets.shuffled(gold, seed=1)}
    rep = audit(gold, sims, n_boot=10, n_null=20, seed=0, components=["networks"])
    row = rep.summary[rep.summary.statistic == "network max edge difference"].iloc[0]
    assert row["verdict"] == "beyond floor" and row["value"] > row["floor_high"]
    nct = rep.results[("networks", "shuffled")]
    assert row["value"] == pytest.approx(nct.statistic("max_edge_difference")["value"])
    assert set(rep.table.loc[rep.table.component == "networks", "item"]) == {"network"}
