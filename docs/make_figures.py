"""Regenerate the figures in docs/figures from the built-in synthetic data.

Run from the repository root: ``python docs/make_figures.py``.
"""

from pathlib import Path

import matplotlib.pyplot as plt

import popaudit as pa

OUT = Path(__file__).parent / "figures"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    gold = pa.datasets.wvs_like(n=3000, seed=0)
    sims = pa.datasets.simulated_populations(gold, seed=1)
    cmps = {name: pa.compare_correlations(gold, sims[name], n_boot=200, n_null=200, seed=0)
            for name in ("persona", "finetuned", "shuffled")}
    fig = pa.plots.plot_correlation_heatmaps(cmps["shuffled"].gold, cmps["shuffled"].sim,
                                        titles=("gold", "shuffled", "shuffled - gold"))
    fig.savefig(OUT / "structure_heatmaps.png", dpi=80, bbox_inches="tight")
    ax = pa.plots.plot_noise_floor(cmps, "rmse")
    ax.figure.savefig(OUT / "noise_floor_rmse.png", dpi=90, bbox_inches="tight")
    cm = pa.maps.inglehart_welzel.cultural_map(gold, sims, n_boot=500, seed=0)
    ax = pa.plots.plot_cultural_map(cm, subgroups=False)
    ax.figure.savefig(OUT / "cultural_map.png", dpi=90, bbox_inches="tight")
    fig = pa.plots.plot_loadings(cm.gold_loadings, cm.simulated_loadings)
    fig.savefig(OUT / "iw_loadings.png", dpi=80, bbox_inches="tight")
    plt.close("all")


if __name__ == "__main__":
    main()
