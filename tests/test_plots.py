"""Figures draw what the result objects hold (and compute nothing new)."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import popaudit as pa


@pytest.fixture(scope="module")
def gold():
    return pa.datasets.wvs_like(n=600, seed=0)


@pytest.fixture(scope="module")
def cmap(gold):
    sims = {"shuffled": pa.datasets.shuffled(gold, seed=1),
            "persona": pa.datasets.persona_like(gold, seed=2)}
    # meansub scoring: every respondent with 6+ indicators is scored, so the shuffled
    # population (every marginal exact) sits exactly at gold's mean, the crowded case the
    # zoom inset is for (the official complete-case default scores other respondents)
    return pa.maps.inglehart_welzel.cultural_map(gold, sims, n_boot=30, seed=0,
                                                 missing="meansub")


def test_marginals_bars_and_lines_are_the_distributions(gold):
    sim = pa.datasets.persona_like(gold, seed=1)
    gd, sd = pa.answer_distributions(gold), pa.answer_distributions(sim)
    fig = pa.plots.plot_marginals(gd, {"persona": sd}, items=["Q46", "Q57"], ncols=2)
    ax = fig.axes[0]
    k = gold.item("Q46").n_categories
    heights = [b.get_height() for b in ax.patches]
    np.testing.assert_allclose(heights, gd.probs[0, gd.item_names.index("Q46"), :k])
    line = next(ln for ln in ax.lines if ln.get_label() == "persona")
    np.testing.assert_allclose(line.get_ydata(), sd.probs[0, sd.item_names.index("Q46"), :k])
    # says how many of how many items it shows; the legend sits apart from the title
    assert fig.get_suptitle() == "Answer distributions (overall): 2 of 27 items"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["gold", "persona"]
    fig.canvas.draw()
    title_box = fig._suptitle.get_window_extent()
    legend_box = fig.legends[0].get_window_extent()
    assert not title_box.overlaps(legend_box)
    plt.close(fig)


def test_marginals_default_is_every_item(gold):
    gd = pa.answer_distributions(gold)
    fig = pa.plots.plot_marginals(gd, {})
    drawn = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert len(drawn) == gold.n_items
    assert "all 27 items" in fig.get_suptitle()
    plt.close(fig)
    with pytest.raises(KeyError, match="'nope'"):
        pa.plots.plot_marginals(gd, {}, items=["nope"])


def test_marginal_distance_is_sorted_and_complete(gold):
    res = {"persona": pa.compare_marginals(gold, pa.datasets.persona_like(gold, seed=1)),
           "shuffled": pa.compare_marginals(gold, pa.datasets.shuffled(gold, seed=1))}
    ax = pa.plots.plot_marginal_distance(res, "w1_norm")
    per = res["persona"].per_item.set_index("item")["w1_norm"].astype(float)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == per.notna().sum()            # nominal items left out ...
    assert "2 where w1_norm does not apply" in ax.get_title()   # ... and counted
    xs = ax.lines[0].get_xdata()
    np.testing.assert_allclose(xs, per.loc[labels].to_numpy())
    assert list(np.argsort(xs, kind="stable")) == list(range(len(xs)))  # largest at the top
    plt.close(ax.figure)


def test_subgroup_metric_points_sorted():
    tab = pd.DataFrame({"subgroup": ["a", "b", "a", "b"],
                        "metric": ["accuracy", "accuracy", "nmae", "nmae"],
                        "mean": [0.5, 0.7, 0.1, 0.2], "lo": [0.4, 0.6, 0, 0],
                        "hi": [0.6, 0.8, 0, 0]})
    ax = pa.plots.plot_subgroup_metric({"m1": tab, "m2": tab}, "accuracy", ci=("lo", "hi"))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "a"]
    assert list(np.round(ax.lines[0].get_xdata(), 6)) == [0.7, 0.5]
    segs = ax.collections[0].get_segments()
    assert [tuple(np.round(s[:, 0], 6)) for s in segs] == [(0.6, 0.8), (0.4, 0.6)]
    plt.close(ax.figure)


def test_subgroup_metric_many_rows_shows_top_and_bottom():
    n = 115
    tab = pd.DataFrame({"subgroup": [f"g{i}" for i in range(n)], "metric": "accuracy",
                        "value": np.linspace(0, 1, n)})
    ax = pa.plots.plot_subgroup_metric({"persona": tab}, "accuracy", value="value", max_rows=30)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[:15] == [f"g{i}" for i in range(n - 1, n - 16, -1)]
    assert labels[15:] == [f"g{i}" for i in range(14, -1, -1)]
    assert "15 highest and 15 lowest of 115 subgroups" in ax.get_title(loc="left")
    assert any("85 subgroups not shown" in t.get_text() for t in ax.texts)
    plt.close(ax.figure)


def test_correlation_heatmaps_difference():
    g = pd.DataFrame(np.array([[1, .5], [.5, 1]]), index=["a", "b"], columns=["a", "b"])
    s = pd.DataFrame(np.array([[1, .2], [.2, 1]]), index=["a", "b"], columns=["a", "b"])
    fig = pa.plots.plot_correlation_heatmaps(g, s)
    diff = fig.axes[2].images[0].get_array()
    np.testing.assert_allclose(np.asarray(diff), [[0, -.3], [-.3, 0]])
    plt.close(fig)


def test_cultural_map_positions_and_labels(cmap):
    ax = pa.plots.plot_cultural_map(cmap, subgroups=False)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["gold", "shuffled", "persona"]
    pos = cmap.positions.table.query("subgroup == 'all'").set_index("population")
    for pop in labels:
        marker = next(ln for ln in ax.lines if ln.get_label() == pop)
        assert marker.get_xdata()[0] == pytest.approx(pos.loc[pop, "surv_self_agg"])
        assert marker.get_ydata()[0] == pytest.approx(pos.loc[pop, "trad_agg"])
    # shuffled sits exactly at gold's mean: gold is open and on top, so shuffled shows
    gold_marker = next(ln for ln in ax.lines if ln.get_label() == "gold")
    shuffled = next(ln for ln in ax.lines if ln.get_label() == "shuffled")
    assert gold_marker.get_markerfacecolor() == "none"
    assert gold_marker.get_markersize() > shuffled.get_markersize()
    # every population is named on the map, and no two name labels overlap
    fig = ax.figure
    fig.canvas.draw()
    names = [t for t in ax.texts if t.get_text() in labels]
    assert sorted(t.get_text() for t in names) == sorted(labels)
    boxes = [t.get_window_extent() for t in names]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (names[i].get_text(), names[j].get_text())
    # gold and shuffled crowd each other: an inset magnifies them
    assert ax.child_axes, "expected a zoom inset for the crowded markers"
    plt.close(fig)


def test_loadings(cmap):
    fig = pa.plots.plot_loadings(cmap.gold_loadings, cmap.simulated_loadings)
    assert len(fig.axes) == 2
    bars = [p.get_width() for p in fig.axes[0].patches]
    np.testing.assert_allclose(bars, cmap.gold_loadings.iloc[:, 0].to_numpy())
    plt.close(fig)


def test_noise_floor_lines_are_observed_values(gold):
    sim = pa.datasets.shuffled(gold, seed=1)
    items = [it.name for it in gold.items if it.kind != "nominal"][:8]
    cmp = pa.compare_correlations(gold.select(items), sim.select(items), n_boot=20,
                                  n_null=20, seed=0)
    ax = pa.plots.plot_noise_floor({"shuffled": cmp}, "rmse")
    assert ax.lines[0].get_xdata()[0] == pytest.approx(float(cmp.statistic("rmse")["value"]))
    assert sum(p.get_height() for p in ax.patches) == np.isfinite(cmp.main.floor["rmse"]).sum()
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="no noise-floor draws for statistic 'nope'"):
        pa.plots.plot_noise_floor({"shuffled": cmp}, "nope")
    assert not plt.get_fignums()   # the error came before a figure was made


@pytest.mark.parametrize("old, new", [("marginal_bars", "plot_marginals"),
                                      ("metric_by_subgroup", "plot_subgroup_metric"),
                                      ("correlation_heatmaps", "plot_correlation_heatmaps"),
                                      ("cultural_map", "plot_cultural_map"),
                                      ("loadings", "plot_loadings"),
                                      ("noise_floor", "plot_noise_floor")])
def test_old_names_warn_and_forward(old, new):
    g = pd.DataFrame(np.array([[1, .5], [.5, 1]]), index=["a", "b"], columns=["a", "b"])
    assert old not in pa.plots.__all__ and new in pa.plots.__all__
    if old != "correlation_heatmaps":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert getattr(pa.plots, old).__wrapped__ is getattr(pa.plots, new)
        return
    with pytest.warns(DeprecationWarning, match=f"plots.{old} is deprecated.*{new}"):
        fig = getattr(pa.plots, old)(g, g)
    plt.close(fig)


def test_plot_networks_draws_each_network_with_gold_layout():
    gold = pa.datasets.wvs_like(n=400, seed=0).select(["Q164", "Q182", "Q184", "Q46", "Q57",
                                                        "Q45"])
    nets = {"gold": pa.network(gold, corr="pearson"),
            "shuffled": pa.network(pa.datasets.shuffled(gold, seed=1), corr="pearson")}
    fig = pa.plots.plot_networks(nets)
    axes = fig.axes
    assert len(axes) == 2
    for ax, (name, res) in zip(axes, nets.items()):
        assert ax.get_title().startswith(f"{name}\n{res.n_edges} edges")
        # one line segment per edge of that network
        assert sum(len(c.get_paths()) for c in ax.collections[1:]) >= res.n_edges
    plt.close(fig)
