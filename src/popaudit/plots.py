"""Matplotlib figures. Each function takes result objects, draws, and returns the Figure or Axes.

Nothing here computes a statistic: the numbers come from the result objects
of the components (distributions, modal, polychoric, structure, factors,
inglehart_welzel). Functions take an optional ``ax`` (or ``axes``) and never
show or save a figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = [
    "correlation_heatmaps",
    "marginal_bars",
    "metric_by_subgroup",
]

_PALETTE = ["#222222", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def marginal_bars(gold, simulated: Mapping, items: Sequence[str] | None = None, *,
                  subgroup: str | None = None, ncols: int = 4, max_items: int = 12):
    """Per-item answer distributions, gold beside each simulated population.

    Parameters
    ----------
    gold : AnswerDistributions
        From :func:`popaudit.answer_distributions`.
    simulated : mapping of name -> AnswerDistributions
    items : sequence of str, optional
        Items to draw (default: the first ``max_items``).
    subgroup : str, optional
        Subgroup label to draw (default: the first, ``"overall"`` when ungrouped).

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = list(items or gold.item_names[:max_items])
    label = subgroup or gold.labels[0]
    dists = {"gold": gold, **dict(simulated)}
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.4 * nrows), squeeze=False)
    width = 0.8 / len(dists)
    for ax, name in zip(axes.flat, names):
        item = gold.item(name)
        x = np.arange(item.n_categories)
        for i, (pop, d) in enumerate(dists.items()):
            g = d.labels.index(label)
            j = d.item_names.index(name)
            p = d.probs[g, j, : item.n_categories]
            ax.bar(x + (i - (len(dists) - 1) / 2) * width, p, width=width, label=pop,
                   color=_PALETTE[i % len(_PALETTE)], alpha=0.85 if i else 1.0)
        ax.set_xticks(x, [str(c) for c in item.codes], fontsize=7)
        ax.set_title(name + (f" ({item.kind})" if item.kind != "ordinal" else ""), fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(dists), fontsize=8, frameon=False)
    fig.suptitle(f"Answer distributions ({label})", y=1.02, fontsize=11)
    fig.tight_layout()
    return fig


def metric_by_subgroup(per_subgroup: Mapping[str, pd.DataFrame], metric: str = "accuracy", *,
                       ax=None, value: str = "mean", ci: tuple[str, str] | None = None):
    """A metric per subgroup, one marker series per simulated population.

    Parameters
    ----------
    per_subgroup : mapping of population name -> DataFrame
        Tables with columns ``subgroup``, ``metric`` and ``value`` (e.g.
        :attr:`popaudit.metrics.modal.ModalResult.per_subgroup`), optionally CI columns.
    metric : str
        Which metric's rows to draw.
    ci : (str, str), optional
        Columns holding the lower and upper CI bounds, drawn as error bars.
    """
    if ax is None:
        n_sub = len({s for df in per_subgroup.values()
                     for s in df.loc[df["metric"] == metric, "subgroup"]})
        _, ax = plt.subplots(figsize=(7, 0.22 * n_sub + 1.5))
    subgroups: list[str] = []
    for df in per_subgroup.values():
        for s in df.loc[df["metric"] == metric, "subgroup"]:
            if s not in subgroups:
                subgroups.append(s)
    y = np.arange(len(subgroups))
    k = len(per_subgroup)
    for i, (pop, df) in enumerate(per_subgroup.items()):
        rows = df[df["metric"] == metric].set_index("subgroup").reindex(subgroups)
        offs = (i - (k - 1) / 2) * 0.8 / max(k, 1)
        vals = rows[value].to_numpy(dtype=float)
        color = _PALETTE[(i + 1) % len(_PALETTE)]
        if ci is not None:
            # segments, not error bars: basic bootstrap intervals need not contain the value
            ax.hlines(y + offs, rows[ci[0]].to_numpy(dtype=float),
                      rows[ci[1]].to_numpy(dtype=float), color=color, lw=1.2, alpha=0.7)
        ax.plot(vals, y + offs, "o", ms=4 if ci is not None else 5, color=color, label=pop)
    ax.set_yticks(y, subgroups, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(metric.replace("_", " "))
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return ax


def correlation_heatmaps(gold_corr: pd.DataFrame, sim_corr: pd.DataFrame, *,
                         titles: Sequence[str] = ("gold", "simulated", "simulated - gold"),
                         axes=None):
    """Gold, simulated and difference correlation matrices side by side.

    Parameters
    ----------
    gold_corr, sim_corr : DataFrame
        Square correlation matrices with the same items (e.g.
        ``pa.polychoric(gold).corr``).
    """
    sim_corr = sim_corr.loc[gold_corr.index, gold_corr.columns]
    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    else:
        fig = axes[0].figure
    mats = [gold_corr.to_numpy(), sim_corr.to_numpy(), sim_corr.to_numpy() - gold_corr.to_numpy()]
    names = list(gold_corr.index)
    for ax, m, title in zip(axes, mats, titles):
        im = ax.imshow(m, vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=6)
        ax.set_yticks(range(len(names)), names, fontsize=6)
    fig.colorbar(im, ax=list(axes), shrink=0.8)
    return fig


def cultural_map(cmap, *, ax=None, subgroups: bool = True, label_subgroups: bool = True):
    """The Inglehart-Welzel cultural map: populations (and subgroups) on the gold axes.

    Parameters
    ----------
    cmap : popaudit.maps.inglehart_welzel.CulturalMap
        From :func:`popaudit.maps.inglehart_welzel.cultural_map`; positions are
        means of respondent scores projected with the *gold* solution.
    subgroups : bool
        Also draw subgroup positions (small markers) when the map has them.

    Notes
    -----
    Each population is drawn at its mean (TradAgg on the y axis, SurvSAgg on
    the x axis, as on the WVS map) with the ellipse whose semi-axes are the
    half-widths of the two marginal bootstrap confidence intervals.
    """
    from matplotlib.patches import Ellipse

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 6))
    tab = cmap.positions.table
    pops = list(dict.fromkeys(tab["population"]))
    for i, pop in enumerate(pops):
        color = _PALETTE[i % len(_PALETTE)]
        rows = tab[tab["population"] == pop]
        main = rows[rows["subgroup"] == "all"]
        if subgroups:
            sub = rows[rows["subgroup"] != "all"]
            ax.plot(sub["surv_self_agg"], sub["trad_agg"], "o", ms=3.5, color=color, alpha=0.55,
                    zorder=4 if pop == "gold" else 2)
            if label_subgroups and pop == "gold":
                for _, r in sub.iterrows():
                    ax.annotate(str(r["subgroup"]), (r["surv_self_agg"], r["trad_agg"]),
                                fontsize=6, color=color, xytext=(3, 2),
                                textcoords="offset points")
        for _, r in main.iterrows():
            x, y = r["surv_self_agg"], r["trad_agg"]
            w = r["surv_self_agg_high"] - r["surv_self_agg_low"]
            h = r["trad_agg_high"] - r["trad_agg_low"]
            ax.add_patch(Ellipse((x, y), w, h, facecolor=color, alpha=0.25, edgecolor=color))
            ax.plot([x], [y], "s" if pop == "gold" else "o", ms=8, color=color, label=pop,
                    zorder=5 if pop == "gold" else 3, mfc="none" if pop == "gold" else color,
                    mew=2)
    ax.axhline(0, color="#999", lw=0.6)
    ax.axvline(0, color="#999", lw=0.6)
    ax.set_xlabel("Survival (-) vs self-expression (+) values")
    ax.set_ylabel("Traditional (-) vs secular-rational (+) values")
    ax.set_title(f"Cultural map ({cmap.model.variant} variant, gold solution)")
    ax.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.grid(alpha=0.2)
    return ax


def loadings(gold_loadings: pd.DataFrame, simulated: Mapping[str, pd.DataFrame], *, axes=None):
    """Loadings gold vs each simulated population, one panel per factor.

    Parameters
    ----------
    gold_loadings : DataFrame
        Items x factors (e.g. ``CulturalMap.gold_loadings`` or
        ``EFAResult.loadings``).
    simulated : mapping of name -> DataFrame
        Loadings aligned to gold (same items and factor columns).
    """
    factors = list(gold_loadings.columns)
    if axes is None:
        fig, axes = plt.subplots(1, len(factors), figsize=(4.2 * len(factors), 4.2),
                                 squeeze=False)
        axes = axes[0]
    else:
        fig = axes[0].figure
    items = list(gold_loadings.index)
    y = np.arange(len(items))
    for ax, fac in zip(axes, factors):
        ax.barh(y, gold_loadings[fac].to_numpy(), color="#cccccc", label="gold")
        for i, (pop, lo) in enumerate(simulated.items()):
            ax.plot(lo.loc[items, fac].to_numpy(), y, "o", ms=4,
                    color=_PALETTE[(i + 1) % len(_PALETTE)], label=pop)
        ax.set_yticks(y, items, fontsize=7)
        ax.invert_yaxis()
        ax.axvline(0, color="#999", lw=0.6)
        ax.set_xlim(-1, 1)
        ax.set_title(str(fac), fontsize=10)
    axes[-1].legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def noise_floor(comparisons: Mapping, statistic: str = "rmse", *, ax=None, bins: int = 30):
    """Observed statistic of each population against gold's noise-floor distribution.

    Parameters
    ----------
    comparisons : mapping of name -> CorrelationComparison
        From :func:`popaudit.compare_correlations` on surveys (so floor draws exist).
    statistic : str
        A statistic with floor draws, e.g. ``"rmse"``, ``"pearson"``, ``"jennrich"``.

    Notes
    -----
    The histogram is the statistic between gold and independent gold resamples
    of the simulated size (the first population's floor; the floor depends on
    the simulated n only). Each vertical line is a simulated population's
    observed value: a line beyond the histogram is a gap sampling alone does
    not produce.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    first = next(iter(comparisons.values())).main
    draws = np.asarray(first.floor.get(statistic, []), dtype=float)
    draws = draws[np.isfinite(draws)]
    if draws.size == 0:
        raise ValueError(f"no noise-floor draws for statistic {statistic!r}; compare surveys "
                         f"(not matrices) with n_null > 0; have {sorted(first.floor)}")
    ax.hist(draws, bins=bins, color="#bbbbbb", label=f"noise floor ({draws.size} resamples)")
    for i, (name, cmp) in enumerate(comparisons.items()):
        row = cmp.main.statistics.set_index("statistic").loc[statistic]
        ax.axvline(float(row["value"]), color=_PALETTE[(i + 1) % len(_PALETTE)], lw=2,
                   label=name)
    ax.set_xlabel(f"{statistic} (gold vs population)")
    ax.set_ylabel("resamples")
    ax.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return ax
