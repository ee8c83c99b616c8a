"""The report a person reads: scorecard first, one section per component, small files."""

import base64
import json
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

import popaudit as pa
from popaudit.report import SCORECARD_COLUMNS, SECTIONS, Report


@pytest.fixture(scope="module")
def gold():
    return pa.datasets.wvs_like(n=500, seed=0)


@pytest.fixture(scope="module")
def sims(gold):
    return {"persona": pa.datasets.persona_like(gold, seed=1),
            "shuffled": pa.datasets.shuffled(gold, seed=2)}


@pytest.fixture(scope="module")
def report(gold, sims):
    items = [it.name for it in gold.items if it.kind != "nominal"][:8]
    g = gold.select(items)
    s = {k: v.select(items) for k, v in sims.items()}
    return pa.audit(g, s, by=["Q260"], n_boot=10, n_null=10, seed=0, cultural_map=False)


def test_scorecard_one_row_per_population_and_component(report):
    card = report.scorecard()
    assert list(card.columns) == SCORECARD_COLUMNS
    assert set(card["population"]) == {"persona", "shuffled"}
    assert not card.duplicated(["population", "component"]).any()
    # each cell is the component's headline: the number in the summary, with its verdict
    s = report.summary.set_index(["population", "statistic"])
    for r in card.itertuples():
        assert r.value == pytest.approx(s.loc[(r.population, r.statistic), "value"], nan_ok=True)
        assert r.verdict == s.loc[(r.population, r.statistic), "verdict"]
    rmse = card[(card.component == "structure")].set_index("population")
    assert set(rmse["statistic"]) == {"polychoric RMSE"}
    assert rmse.loc["shuffled", "verdict"] == "beyond floor"


def test_overview_names_populations_and_components_without_floor(report):
    text = report.overview()
    assert "shuffled (Structure" in text
    # marginal and modal headlines have a floor (gold vs a resample of the simulated size);
    # the invalid-answer rate has none, and the overview says so
    without = text.split("No noise floor for")[1]
    assert SECTIONS["invalid"].title in without
    assert not any(SECTIONS[c].title in without for c in ("marginal", "modal", "structure"))


def test_html_scorecard_first_sections_and_no_full_table(report, tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    page = report.to_html(tmp_path / "r.html", figures={"marginal_distance": fig,
                                                         "polychoric_x": fig})
    plt.close(fig)
    assert page.index("id='scorecard'") < page.index("id='marginal'")
    assert page.index("id='scorecard-table'") < page.index("id='structure'")
    for comp in ("marginal", "modal", "structure", "invalid"):
        assert f"<section id='{comp}'>" in page
        assert html_text(SECTIONS[comp].read) in page
    # figures are embedded, each in its component's section
    imgs = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert len(imgs) == 2
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in imgs)
    structure = page[page.index("<section id='structure'>"):]
    assert "fig-polychoric_x" in structure.split("</section>")[0]
    # the full table is not in the page: a few headline rows only
    assert page.count("<tr>") < 60 and len(report.table) > 1000
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == page


def html_text(s):
    import html

    return html.escape(s)


def test_html_draws_its_own_figures_by_default(report):
    before = set(plt.get_fignums())   # figures other tests left open are not ours to judge
    page = report.to_html()
    for name in ("marginal_distance", "modal_accuracy_by_subgroup", "polychoric_persona",
                 "noise_floor_rmse"):
        assert f"fig-{name}" in page, name
    assert set(plt.get_fignums()) == before   # the figures it drew are closed


def test_notes_are_shown(report):
    rep = Report(table=report.table, results=report.results, summary=report.summary,
                 settings=report.settings, notes=("warning: something to know\nsecond line",))
    page = rep.to_html(figures={})
    assert "<section id='notes'>" in page and "warning: something to know" in page


def test_undefined_cells_say_why(report):
    summary = report.summary.copy()
    row = (summary.population == "persona") & (summary.statistic == "polychoric RMSE")
    summary.loc[row, ["value", "verdict", "note"]] = [float("nan"), "undefined",
                                                      "not computed: a singular matrix"]
    rep = Report(table=report.table, results={}, summary=summary, settings=report.settings)
    card = rep.scorecard().set_index(["population", "component"])
    assert card.loc[("persona", "structure"), "verdict"] == "undefined"
    page = rep.to_html(figures={})
    assert "not computed: a singular matrix" in page
    assert "persona, Structure: undefined (not computed: a singular matrix)" in rep.overview()


def test_json_is_small_and_table_optional(report, tmp_path):
    payload = json.loads(report.to_json(tmp_path / "s.json"))
    assert {"settings", "overview", "scorecard", "summary", "notes"} <= set(payload)
    assert "table" not in payload and payload["n_table_rows"] == len(report.table)
    assert len(payload["scorecard"]) == len(report.scorecard())
    full = json.loads(report.to_json(table=True))
    assert len(full["table"]) == len(report.table)


def test_parquet_round_trip(report, tmp_path):
    pytest.importorskip("pyarrow")
    path = report.to_parquet(tmp_path / "t.parquet")
    back = pd.read_parquet(path)
    assert list(back.columns) == list(report.table.columns)
    assert len(back) == len(report.table)
    pd.testing.assert_series_equal(back["value"].astype(float),
                                   report.table["value"].astype(float), check_names=False)


def test_repr_shows_the_scorecard(report):
    text = repr(report)
    assert text.startswith("Report(") and "structure" in text and "shuffled" in text
    assert "<table class='scorecard'" in report._repr_html_()
