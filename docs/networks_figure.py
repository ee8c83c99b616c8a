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

import popaudit as pa

ITEMS = ["Q6", "Q8", "Q14", "Q17", "Q27", "Q45", "Q46", "Q164", "Q182", "Q184", "Q209", "Q254"]


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
    fig = pa.plots.plot_networks(results)  # one layout (gold's) for every panel
    fig.tight_layout()
    out = Path(__file__).parent / "figures" / "networks.png"
    fig.savefig(out, dpi=130)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
