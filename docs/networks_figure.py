"""The figure of docs/networks.md: gold's network beside a second gold sample, a persona-like
simulation and a shuffled population, drawn with one fixed layout.

Usage: ``python docs/networks_figure.py`` (writes docs/figures/networks.png; about a
minute: four polychoric matrices and EBICglasso paths).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a script, not the library: no display needed
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402

import popaudit as pa  # noqa: E402

ITEMS = ["Q6", "Q8", "Q14", "Q17", "Q27", "Q45", "Q46", "Q164", "Q182", "Q184", "Q209", "Q254"]


def draw(result, pos, ax, title):
    g = result.to_networkx()
    edges = list(g.edges(data=True))
    colors = ["#1f77b4" if d["weight"] > 0 else "#d62728" for _, _, d in edges]
    widths = [8 * d["abs_weight"] for _, _, d in edges]
    nx.draw_networkx_nodes(g, pos, ax=ax, node_color="#f2f2f2", edgecolors="#444444",
                           node_size=520)
    nx.draw_networkx_labels(g, pos, ax=ax, font_size=7)
    nx.draw_networkx_edges(g, pos, ax=ax, edgelist=[(u, v) for u, v, _ in edges],
                           edge_color=colors, width=widths)
    ax.set_title(f"{title}\n{result.n_edges} edges, lambda = {result.lambda_:.3f}", fontsize=9)
    ax.margins(0.12)
    ax.set_axis_off()


def main() -> None:
    gold = pa.datasets.wvs_like(n=1500, seed=0).select(ITEMS)
    populations = {
        "gold (n = 1500)": gold,
        "second gold sample": pa.datasets.wvs_like(n=1500, seed=1).select(ITEMS),
        "persona-like": pa.datasets.persona_like(gold, seed=0),
        "shuffled": pa.datasets.shuffled(gold, seed=0),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = {k: pa.network(v) for k, v in populations.items()}
    ref = results["gold (n = 1500)"].to_networkx()
    ref_w = nx.Graph()
    ref_w.add_nodes_from(ref.nodes)
    ref_w.add_weighted_edges_from((u, v, d["abs_weight"]) for u, v, d in ref.edges(data=True))
    pos = nx.spring_layout(ref_w, weight="weight", seed=3)  # one layout for every panel
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.6))
    for ax, (name, res) in zip(axes, results.items(), strict=True):
        draw(res, pos, ax, name)
    fig.suptitle("EBICglasso networks (polychoric input), blue positive, red negative "
                 "partial correlations", fontsize=10)
    fig.tight_layout()
    out = Path(__file__).parent / "figures" / "networks.png"
    fig.savefig(out, dpi=130)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
