"""Figures draw what the result objects hold (and compute nothing new)."""

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


def test_marginal_bars_heights_are_the_distributions(gold):
    sim = pa.datasets.persona_like(gold, seed=1)
    gd, sd = pa.answer_distributions(gold), pa.answer_distributions(sim)
    fig = pa.plots.marginal_bars(gd, {"persona": sd}, items=["Q46", "Q57"], ncols=2)
    ax = fig.axes[0]
    heights = [b.get_height() for b in ax.patches]
    k = gold.item("Q46").n_categories
    assert len(heights) == 2 * k
    np.testing.assert_allclose(heights[:k], gd.probs[0, gd.item_names.index("Q46"), :k])
    np.testing.assert_allclose(heights[k:], sd.probs[0, sd.item_names.index("Q46"), :k])
    plt.close(fig)


def test_metric_by_subgroup_points():
    tab = pd.DataFrame({"subgroup": ["a", "b", "a", "b"],
                        "metric": ["accuracy", "accuracy", "nmae", "nmae"],
                        "mean": [0.5, 0.7, 0.1, 0.2], "lo": [0.4, 0.6, 0, 0],
                        "hi": [0.6, 0.8, 0, 0]})
    ax = pa.plots.metric_by_subgroup({"m1": tab, "m2": tab}, "accuracy", ci=("lo", "hi"))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    xs = ax.lines[0].get_xdata() if ax.lines else None  # markers; CIs are line collections
    assert xs is not None and list(np.round(xs, 6)) == [0.5, 0.7]
    plt.close(ax.figure)


def test_correlation_heatmaps_difference():
    g = pd.DataFrame(np.array([[1, .5], [.5, 1]]), index=["a", "b"], columns=["a", "b"])
    s = pd.DataFrame(np.array([[1, .2], [.2, 1]]), index=["a", "b"], columns=["a", "b"])
    fig = pa.plots.correlation_heatmaps(g, s)
    diff = fig.axes[2].images[0].get_array()
    np.testing.assert_allclose(np.asarray(diff), [[0, -.3], [-.3, 0]])
    plt.close(fig)


def test_cultural_map_and_loadings(gold):
    sim = pa.datasets.shuffled(gold, seed=1)
    cm = pa.maps.inglehart_welzel.cultural_map(gold, {"shuffled": sim}, n_boot=50, seed=0)
    ax = pa.plots.cultural_map(cm)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["gold", "shuffled"]
    pos = cm.positions.table.query("subgroup == 'all'").set_index("population")
    marker = next(ln for ln in ax.lines if ln.get_label() == "shuffled")
    assert marker.get_xdata()[0] == pytest.approx(pos.loc["shuffled", "surv_self_agg"])
    assert marker.get_ydata()[0] == pytest.approx(pos.loc["shuffled", "trad_agg"])
    plt.close(ax.figure)
    fig = pa.plots.loadings(cm.gold_loadings, cm.simulated_loadings)
    assert len(fig.axes) == 2
    plt.close(fig)


def test_noise_floor_lines_are_observed_values(gold):
    sim = pa.datasets.shuffled(gold, seed=1)
    items = [it.name for it in gold.items if it.kind != "nominal"][:8]
    cmp = pa.compare_correlations(gold.select(items), sim.select(items), n_boot=20,
                                  n_null=20, seed=0)
    ax = pa.plots.noise_floor({"shuffled": cmp}, "rmse")
    assert ax.lines[0].get_xdata()[0] == pytest.approx(float(cmp.statistic("rmse")["value"]))
    assert sum(p.get_height() for p in ax.patches) == np.isfinite(cmp.main.floor["rmse"]).sum()
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="no noise-floor draws for statistic 'nope'"):
        pa.plots.noise_floor({"shuffled": cmp}, "nope")
