"""Matplotlib figures. Each ``plot_*`` function takes result objects, draws, and returns the
Figure or Axes.

Nothing here computes a statistic: the numbers come from the result objects
of the components (answer distributions, marginal and modal results, subgroup
disparity, structure comparisons, factors, the cultural map). Sorting rows by
a value and choosing which rows to show are the only operations on them.
Functions take an optional ``ax`` (or ``axes``) and never show or save a figure.

Where a figure shows only some of the rows it was given, it says so on the
figure itself (how many, which, and by what rule).

The names without the ``plot_`` prefix (``marginal_bars``, ``metric_by_subgroup``,
``correlation_heatmaps``, ``cultural_map``, ``loadings``, ``noise_floor``) are
deprecated aliases kept for one release; they warn with a ``DeprecationWarning``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd

__all__ = [
    "plot_correlation_heatmaps",
    "plot_cultural_map",
    "plot_loadings",
    "plot_marginal_distance",
    "plot_marginals",
    "plot_networks",
    "plot_noise_floor",
    "plot_subgroup_metric",
]

_GOLD = "#222222"
_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
            "#17becf"]
_MARKERS = ["o", "D", "^", "v", "P", "X", "h", "<"]


def _color(i: int) -> str:
    return _PALETTE[i % len(_PALETTE)]


# ---------------------------------------------------------------------------
# Marginals
# ---------------------------------------------------------------------------

def plot_marginals(gold, simulated: Mapping, items: Sequence[str] | None = None, *,
                   subgroup: str | None = None, ncols: int = 5):
    """Answer distributions per item: gold as bars, each simulated population as a line.

    Small multiples, one panel per item, all items by default. When ``items``
    selects fewer than gold has, the title says how many of how many are shown.

    Parameters
    ----------
    gold : AnswerDistributions
        From :func:`popaudit.answer_distributions`.
    simulated : mapping of name -> AnswerDistributions
        Simulated populations with the same items.
    items : sequence of str, optional
        Items to draw, in this order (default: every item of ``gold``).
    subgroup : str, optional
        Subgroup label to draw (default: the first, ``"overall"`` when ungrouped).
    ncols : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        Panel ``i`` holds one bar per answer code (gold's proportions) and one
        line per simulated population (its proportions, in legend order).

    Examples
    --------
    >>> import popaudit as pa
    >>> gold = pa.datasets.wvs_like(n=300, seed=0)
    >>> sim = pa.datasets.shuffled(gold, seed=1)
    >>> fig = pa.plots.plot_marginals(pa.answer_distributions(gold),
    ...                               {"shuffled": pa.answer_distributions(sim)},
    ...                               items=["Q46", "Q57"])
    >>> fig.get_suptitle()
    'Answer distributions (overall): 2 of 27 items'
    """
    all_items = list(gold.item_names)
    names = list(items) if items is not None else all_items
    unknown = [n for n in names if n not in all_items]
    if unknown:
        raise KeyError(f"item(s) {unknown} not in gold's distributions; items are {all_items}")
    label = subgroup or gold.labels[0]
    if label not in gold.labels:
        raise KeyError(f"subgroup {label!r} not in gold's distributions; subgroups are "
                       f"{list(gold.labels)}")
    ncols = max(1, min(ncols, len(names)))
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 1.9 * nrows + 0.9),
                             squeeze=False, layout="constrained")
    gi = gold.labels.index(label)
    for ax, name in zip(axes.flat, names):
        item = gold.item(name)
        k = item.n_categories
        x = np.arange(k)
        ax.bar(x, gold.probs[gi, all_items.index(name), :k], width=0.75, color="#cfcfcf",
               edgecolor="#9a9a9a", lw=0.5, label="gold")
        for i, (pop, d) in enumerate(simulated.items()):
            j = d.item_names.index(name)
            p = d.probs[d.labels.index(label), j, :k]
            # nominal categories have no order: markers only, no connecting line
            ax.plot(x, p, marker=_MARKERS[i % len(_MARKERS)], ms=3.5, lw=1.1, color=_color(i),
                    label=pop, ls="none" if item.kind == "nominal" else "-")
        ax.set_xticks(x, [str(c) for c in item.codes], fontsize=6)
        ax.tick_params(axis="y", labelsize=6)
        ax.set_title(name + (f" ({item.kind})" if item.kind != "ordinal" else ""), fontsize=8)
        ax.set_ylim(0, None)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    order = [labels.index("gold")] + [i for i, lab in enumerate(labels) if lab != "gold"]
    handles, labels = [handles[i] for i in order], [labels[i] for i in order]
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 6),
               fontsize=8, frameon=False)
    shown = (f"all {len(all_items)} items" if len(names) == len(all_items)
             else f"{len(names)} of {len(all_items)} items")
    fig.suptitle(f"Answer distributions ({label}): {shown}", fontsize=11)
    return fig


def plot_marginal_distance(results: Mapping, metric: str = "js_distance", *, ax=None,
                           subgroup: str = "overall"):
    """Sorted dot plot of one marginal metric: every item, one marker per population.

    Parameters
    ----------
    results : mapping of name -> MarginalResult
        From :func:`popaudit.compare_marginals` (ungrouped, or pick ``subgroup``).
    metric : str
        A column of ``MarginalResult.per_item`` (``"js_distance"``, ``"w1_norm"``,
        ``"total_variation"`` ...). Items where the metric does not apply (nominal
        items for ordinal metrics) are left out and counted in the title.
    subgroup : str
        Which subgroup's rows to draw.

    Returns
    -------
    matplotlib.axes.Axes
        Items sorted by their largest value over the populations, largest at the top.

    Examples
    --------
    >>> import popaudit as pa
    >>> gold = pa.datasets.wvs_like(n=300, seed=0)
    >>> res = {"persona": pa.compare_marginals(gold, pa.datasets.persona_like(gold, seed=1))}
    >>> ax = pa.plots.plot_marginal_distance(res, "js_distance")
    >>> len(ax.get_yticklabels())
    27
    """
    frames = {}
    for pop, res in results.items():
        per = res.per_item
        if metric not in per.columns:
            raise KeyError(f"metric {metric!r} is not a column of MarginalResult.per_item; "
                           f"columns are {list(per.columns)}")
        rows = per[per["subgroup"] == subgroup]
        if rows.empty:
            raise KeyError(f"no rows for subgroup {subgroup!r}; subgroups are "
                           f"{sorted(per['subgroup'].unique())}")
        frames[pop] = rows.set_index("item")[metric].astype(float)
    wide = pd.DataFrame(frames)
    n_all = len(wide)
    wide = wide.dropna(how="all")
    order = wide.max(axis=1).sort_values(ascending=True).index
    wide = wide.loc[order]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.2 * len(wide) + 1.4), layout="constrained")
    y = np.arange(len(wide))
    for i, pop in enumerate(wide.columns):
        ax.plot(wide[pop].to_numpy(), y, _MARKERS[i % len(_MARKERS)], ms=4.5, color=_color(i),
                label=pop, alpha=0.9, ls="none", clip_on=False)
    ax.set_yticks(y, list(wide.index), fontsize=7)
    ax.set_ylim(-0.7, len(wide) - 0.3)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlim(left=0)
    ax.set_xlabel(f"{metric.replace('_', ' ')} (gold vs population)")
    left = n_all - len(wide)
    note = f"all {n_all} items" if not left else (
        f"{len(wide)} of {n_all} items ({left} where {metric} does not apply)")
    ax.set_title(f"{metric.replace('_', ' ')} per item, {subgroup}: {note}", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return ax


# ---------------------------------------------------------------------------
# Subgroups
# ---------------------------------------------------------------------------

def plot_subgroup_metric(per_subgroup: Mapping[str, pd.DataFrame], metric: str = "accuracy", *,
                         ax=None, value: str = "mean", ci: tuple[str, str] | None = None,
                         sort: bool = True, max_rows: int = 30):
    """A metric per subgroup as a sorted dot plot, one marker series per population.

    With more than ``max_rows`` subgroups, only the ``max_rows // 2`` lowest and
    highest (by the first population's value) are drawn, on either side of a gap,
    and the figure says so; every subgroup stays in the result's table.

    Parameters
    ----------
    per_subgroup : mapping of population name -> DataFrame
        Tables with columns ``subgroup``, ``metric`` and ``value`` (e.g.
        :attr:`popaudit.metrics.modal.ModalResult.per_subgroup`), optionally CI columns.
    metric : str
        Which metric's rows to draw.
    value : str
        Column holding the number drawn.
    ci : (str, str), optional
        Columns holding the lower and upper CI bounds, drawn as segments.
    sort : bool
        Sort subgroups by the first population's value (highest at the top);
        False keeps the order of the tables.
    max_rows : int
        Most subgroups drawn.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> import popaudit as pa
    >>> tab = pd.DataFrame({"subgroup": list("abc"), "metric": "accuracy",
    ...                     "mean": [0.5, 0.9, 0.7]})
    >>> ax = pa.plots.plot_subgroup_metric({"persona": tab}, "accuracy")
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['b', 'c', 'a']
    """
    pops = list(per_subgroup)
    if not pops:
        raise ValueError("per_subgroup is empty: pass at least one population's table")
    subgroups: list[str] = []
    for df in per_subgroup.values():
        for s in df.loc[df["metric"] == metric, "subgroup"]:
            if s not in subgroups:
                subgroups.append(s)
    if not subgroups:
        raise KeyError(f"no rows with metric {metric!r}")
    first = per_subgroup[pops[0]]
    key = (first[first["metric"] == metric].set_index("subgroup")[value]
           .reindex(subgroups).astype(float))
    if sort:
        # highest first; NaN (subgroups the first population lacks) last
        subgroups = list(key.sort_values(ascending=False, na_position="last").index)
    n_total = len(subgroups)
    half = max(1, max_rows // 2)
    truncated = n_total > max_rows
    if truncated:
        shown = subgroups[:half] + subgroups[-half:]
        ypos = np.r_[np.arange(half), np.arange(half) + half + 1]  # a blank row as the gap
    else:
        shown = subgroups
        ypos = np.arange(n_total)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.19 * (len(shown) + truncated) + 1.6),
                             layout="constrained")
    k = len(pops)
    for i, pop in enumerate(pops):
        df = per_subgroup[pop]
        rows = df[df["metric"] == metric].set_index("subgroup").reindex(shown)
        offs = (i - (k - 1) / 2) * 0.6 / max(k, 1)
        color = _color(i)
        if ci is not None:
            # segments, not error bars: basic bootstrap intervals need not contain the value
            ax.hlines(ypos + offs, rows[ci[0]].to_numpy(dtype=float),
                      rows[ci[1]].to_numpy(dtype=float), color=color, lw=1.1, alpha=0.6)
        ax.plot(rows[value].to_numpy(dtype=float), ypos + offs, _MARKERS[i % len(_MARKERS)],
                ms=3.5 if ci is not None else 4.5, color=color, label=pop, ls="none")
    ax.set_yticks(ypos, shown, fontsize=6.5)
    ax.set_ylim(ypos.max() + 0.7, -0.7)
    ax.set_xlabel(metric.replace("_", " "))
    ax.grid(axis="x", alpha=0.3)
    if truncated:
        ax.axhline(half, color="#999", lw=0.6, ls=(0, (2, 3)))
        ax.annotate(f"{n_total - 2 * half} subgroups not shown", (0.5, half),
                    xycoords=("axes fraction", "data"), ha="center", va="center",
                    fontsize=7, color="#555", backgroundcolor="white")
        by = f"{pops[0]}'s {metric.replace('_', ' ')}" if sort else "table order"
        note = (f"the {half} highest and {half} lowest of {n_total} subgroups by {by}; "
                "all are in the table")
    else:
        note = f"all {n_total} subgroups" + (f", sorted by {pops[0]}" if sort and k > 1 else "")
    ax.set_title(note, fontsize=8, loc="left", color="#444")
    ax.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return ax


# ---------------------------------------------------------------------------
# Structure
# ---------------------------------------------------------------------------

def plot_correlation_heatmaps(gold_corr: pd.DataFrame, sim_corr: pd.DataFrame, *,
                              titles: Sequence[str] = ("gold", "simulated", "simulated - gold"),
                              axes=None):
    """Gold, simulated and difference correlation matrices side by side.

    Parameters
    ----------
    gold_corr, sim_corr : DataFrame
        Square correlation matrices with the same items (e.g.
        ``pa.polychoric(gold).corr``).
    titles : three str
        Panel titles.

    Returns
    -------
    matplotlib.figure.Figure
        The third panel's image is ``sim_corr - gold_corr``.

    Examples
    --------
    >>> import pandas as pd
    >>> import popaudit as pa
    >>> g = pd.DataFrame([[1, .5], [.5, 1]], index=["a", "b"], columns=["a", "b"])
    >>> fig = pa.plots.plot_correlation_heatmaps(g, g)
    >>> float(abs(fig.axes[2].images[0].get_array()).max())
    0.0
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


def plot_noise_floor(comparisons: Mapping, statistic: str = "rmse", *, ax=None, bins: int = 30):
    """Observed statistic of each population against gold's noise-floor distribution.

    Parameters
    ----------
    comparisons : mapping of name -> CorrelationComparison
        From :func:`popaudit.compare_correlations` on surveys (so floor draws exist).
    statistic : str
        A statistic with floor draws, e.g. ``"rmse"``, ``"pearson"``, ``"jennrich"``.
    bins : int
        Histogram bins.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The histogram is the statistic between gold and independent gold resamples
    of the simulated size (the first population's floor; the floor depends on
    the simulated n only). Each vertical line is a simulated population's
    observed value: a line beyond the histogram is a gap sampling alone does
    not produce.
    """
    first = next(iter(comparisons.values())).main
    draws = np.asarray(first.floor.get(statistic, []), dtype=float)
    draws = draws[np.isfinite(draws)]
    if draws.size == 0:   # checked before a figure exists: an error leaves no figure open
        raise ValueError(f"no noise-floor draws for statistic {statistic!r}; compare surveys "
                         f"(not matrices) with n_null > 0; have {sorted(first.floor)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    ax.hist(draws, bins=bins, color="#bbbbbb", label=f"noise floor ({draws.size} resamples)")
    for i, (name, cmp) in enumerate(comparisons.items()):
        row = cmp.main.statistics.set_index("statistic").loc[statistic]
        ax.axvline(float(row["value"]), color=_color(i), lw=2, label=name)
    ax.set_xlabel(f"{statistic} (gold vs population)")
    ax.set_ylabel("resamples")
    ax.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return ax


def plot_loadings(gold_loadings: pd.DataFrame, simulated: Mapping[str, pd.DataFrame], *,
                  axes=None):
    """Loadings gold vs each simulated population, one panel per factor.

    Parameters
    ----------
    gold_loadings : DataFrame
        Items x factors (e.g. ``CulturalMap.gold_loadings`` or
        ``EFAResult.loadings``).
    simulated : mapping of name -> DataFrame
        Loadings aligned to gold (same items and factor columns).

    Returns
    -------
    matplotlib.figure.Figure
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
            ax.plot(lo.loc[items, fac].to_numpy(), y, _MARKERS[i % len(_MARKERS)], ms=4,
                    color=_color(i), label=pop, ls="none")
        ax.set_yticks(y, items, fontsize=7)
        ax.invert_yaxis()
        ax.axvline(0, color="#999", lw=0.6)
        ax.set_xlim(-1, 1)
        ax.set_title(str(fac), fontsize=10)
    axes[-1].legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------
# The cultural map
# ---------------------------------------------------------------------------

def _overlaps(a, b) -> float:
    """Overlap area of two display-space boxes (x0, y0, x1, y1)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0.0) * max(h, 0.0)


def _place_labels(ax, xy: Sequence[tuple[float, float]], texts: Sequence[str],
                  colors: Sequence[str], fontsizes: Sequence[float], *, marker_px: float = 9.0):
    """Annotate points with labels that avoid each other, the points and the axes' edge.

    Greedy: each label, in turn, takes the first candidate offset (nearest first,
    eight directions) whose box overlaps no placed label and no point; failing
    that, the candidate with the least overlap. Labels away from their point get a
    leader line. Returns the annotations.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    pts = ax.transData.transform(np.asarray(xy, dtype=float).reshape(-1, 2))
    axbox = ax.get_window_extent(renderer)
    bounds = (axbox.x0, axbox.y0, axbox.x1, axbox.y1)
    r = marker_px * fig.dpi / 72.0
    taken = [(px - r, py - r, px + r, py + r) for px, py in pts]
    dirs = [(1, 1), (-1, 1), (1, -1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1)]
    out = []
    for (x, y), text, color, fontsize in zip(xy, texts, colors, fontsizes):
        best = None
        for radius in (9, 16, 26, 38, 52, 70):
            for dx, dy in dirs:
                norm = np.hypot(dx, dy)
                off = (radius * dx / norm, radius * dy / norm)
                ann = ax.annotate(text, (x, y), xytext=off, textcoords="offset points",
                                  fontsize=fontsize, color=color,
                                  ha="left" if dx > 0 else "right" if dx < 0 else "center",
                                  va="bottom" if dy > 0 else "top" if dy < 0 else "center")
                bb = ann.get_window_extent(renderer)
                box = (bb.x0, bb.y0, bb.x1, bb.y1)
                inside = (box[0] >= bounds[0] and box[1] >= bounds[1]
                          and box[2] <= bounds[2] and box[3] <= bounds[3])
                cost = sum(_overlaps(box, t) for t in taken) + (0 if inside else 1e9)
                ann.remove()
                if best is None or cost < best[0]:
                    best = (cost, off, box, dx, dy, radius)
                if cost == 0:
                    break
            if best[0] == 0:
                break
        _, off, box, dx, dy, radius = best
        arrow = ({"arrowstyle": "-", "color": color, "lw": 0.6, "shrinkA": 0, "shrinkB": 3}
                 if radius > 9 else None)
        ann = ax.annotate(text, (x, y), xytext=off, textcoords="offset points",
                          fontsize=fontsize, color=color, arrowprops=arrow, zorder=7,
                          ha="left" if dx > 0 else "right" if dx < 0 else "center",
                          va="bottom" if dy > 0 else "top" if dy < 0 else "center")
        taken.append(box)
        out.append(ann)
    return out


def _draw_positions(ax, main: pd.DataFrame, colors, markers, *, big: float = 1.0):
    """Ellipses and markers of the populations' mean positions; returns label points."""
    from matplotlib.patches import Ellipse

    xy, text, color = [], [], []
    for _, r in main.iterrows():
        pop = r["population"]
        x, y = r["surv_self_agg"], r["trad_agg"]
        w = r["surv_self_agg_high"] - r["surv_self_agg_low"]
        h = r["trad_agg_high"] - r["trad_agg_low"]
        ax.add_patch(Ellipse((x, y), w, h, facecolor=colors[pop], alpha=0.12,
                             edgecolor=colors[pop], lw=0.8))
        if pop == "gold":  # open and on top: whatever sits at gold's position shows inside
            ax.plot([x], [y], "s", ms=15 * big, mfc="none", mec=colors[pop], mew=1.6, label=pop,
                    zorder=6, ls="none")
        else:
            ax.plot([x], [y], markers[pop], ms=7 * big, color=colors[pop], mec="white",
                    mew=0.6, label=pop, zorder=5, ls="none")
        xy.append((x, y))
        text.append(pop)
        color.append(colors[pop])
    return xy, text, color


def _crowded(ax, xy, px: float = 14.0) -> list[int]:
    """Indices of points within ``px`` display pixels of another point (one cluster)."""
    if len(xy) < 2:
        return []
    pts = ax.transData.transform(np.asarray(xy, dtype=float))
    d = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    close = d < px * ax.figure.dpi / 72.0
    if not close.any():
        return []
    # the connected group of the first crowded point
    seed = int(np.argmax(close.any(axis=1)))
    group, frontier = {seed}, [seed]
    while frontier:
        i = frontier.pop()
        for j in np.flatnonzero(close[i]):
            if j not in group:
                group.add(int(j))
                frontier.append(int(j))
    return sorted(group)


def plot_cultural_map(cmap, *, ax=None, subgroups: bool = True, label_subgroups: bool = True,
                      zoom: bool = True):
    """The Inglehart-Welzel cultural map: populations (and subgroups) on the gold axes.

    Parameters
    ----------
    cmap : popaudit.maps.inglehart_welzel.CulturalMap
        From :func:`popaudit.maps.inglehart_welzel.cultural_map`; positions are
        means of respondent scores projected with the *gold* solution.
    subgroups : bool
        Also draw subgroup positions (small markers) when the map has them.
    label_subgroups : bool
        Label gold's subgroup markers.
    zoom : bool
        When population markers crowd each other, add an inset that magnifies them.

    Returns
    -------
    matplotlib.axes.Axes
        One marker line per population labelled with its name, at its position
        (the inset, if any, is ``ax.child_axes[0]``).

    Notes
    -----
    Each population is drawn at its mean (TradAgg on the y axis, SurvSAgg on
    the x axis, as on the WVS map) with the ellipse whose semi-axes are the
    half-widths of the two marginal bootstrap confidence intervals. Gold is a
    large open square drawn *over* the others, so a population at gold's position
    (a shuffled population, whose mean scores equal gold's exactly) shows inside
    it; every population is also named beside its marker, labels placed so that
    they do not overlap. Markers closer than about a marker's width get an inset
    that magnifies their neighbourhood.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 6), layout="constrained")
    tab = cmap.positions.table
    pops = list(dict.fromkeys(tab["population"]))
    sims = [p for p in pops if p != "gold"]
    colors = {"gold": _GOLD, **{p: _color(i) for i, p in enumerate(sims)}}
    markers = {"gold": "s", **{p: _MARKERS[i % len(_MARKERS)] for i, p in enumerate(sims)}}
    sub_xy, sub_text = [], []
    if subgroups:
        for pop in pops:
            sub = tab[(tab["population"] == pop) & (tab["subgroup"] != "all")]
            if len(sub):
                ax.plot(sub["surv_self_agg"], sub["trad_agg"], markers[pop], ms=3.5,
                        color=colors[pop], alpha=0.55, zorder=4 if pop == "gold" else 2,
                        ls="none")
                if label_subgroups and pop == "gold":
                    sub_xy += list(zip(sub["surv_self_agg"], sub["trad_agg"]))
                    sub_text += [str(s) for s in sub["subgroup"]]
    main = tab[tab["subgroup"] == "all"]
    label_xy, label_text, label_color = _draw_positions(ax, main, colors, markers)
    ax.axhline(0, color="#999", lw=0.6)
    ax.axvline(0, color="#999", lw=0.6)
    ax.set_xlabel("Survival (-) vs self-expression (+) values")
    ax.set_ylabel("Traditional (-) vs secular-rational (+) values")
    ax.set_title(f"Cultural map ({cmap.model.variant} variant, gold solution)")
    ax.grid(alpha=0.2)
    ax.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5),
              markerscale=0.7)
    # fix the limits (with room for labels) before measuring label boxes
    ax.autoscale_view()
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    ax.set_xlim(x0 - 0.15 * (x1 - x0), x1 + 0.15 * (x1 - x0))
    ax.set_ylim(y0 - 0.12 * (y1 - y0), y1 + 0.12 * (y1 - y0))
    ax.figure.canvas.draw()
    crowded = _crowded(ax, label_xy) if zoom else []
    if crowded:
        _zoom_inset(ax, main.iloc[crowded], colors, markers, label_xy)
    _place_labels(ax, label_xy + sub_xy, label_text + sub_text,
                  label_color + [_GOLD] * len(sub_xy),
                  [8.5] * len(label_xy) + [6] * len(sub_xy))
    return ax


def _zoom_inset(ax, rows: pd.DataFrame, colors, markers, all_xy):
    """Inset magnifying crowded population markers, in the emptiest corner of ``ax``."""
    xs = rows["surv_self_agg"].to_numpy(dtype=float)
    ys = rows["trad_agg"].to_numpy(dtype=float)
    cx, cy = float(xs.mean()), float(ys.mean())
    (ax0, ax1), (ay0, ay1) = ax.get_xlim(), ax.get_ylim()
    # a window a few times the markers' spread (at least 3 % of the map's range)
    half = max(2.0 * max(np.ptp(xs), np.ptp(ys)), 0.03 * max(ax1 - ax0, ay1 - ay0))
    size = 0.34
    corners = [(0.64, 0.62), (0.12, 0.62), (0.64, 0.1), (0.12, 0.1)]
    pts = np.asarray(all_xy, dtype=float)
    fx = (pts[:, 0] - ax0) / (ax1 - ax0)
    fy = (pts[:, 1] - ay0) / (ay1 - ay0)
    best = min(corners, key=lambda c: int(((fx > c[0] - 0.12) & (fx < c[0] + size + 0.05)
                                            & (fy > c[1] - 0.1)
                                            & (fy < c[1] + size + 0.05)).sum()))
    ins = ax.inset_axes([best[0], best[1], size, size])
    _draw_positions(ins, rows, colors, markers, big=1.1)
    ins.set_xlim(cx - half, cx + half)
    ins.set_ylim(cy - half, cy + half)
    ins.tick_params(labelsize=6)
    ins.set_title("zoom", fontsize=7, color="#555", pad=2)
    ins.grid(alpha=0.2)
    ax.indicate_inset_zoom(ins, edgecolor="#777")
    ax.figure.canvas.draw()
    _place_labels(ins, [(x, y) for x, y in zip(rows["surv_self_agg"], rows["trad_agg"])],
                  list(rows["population"]), [colors[p] for p in rows["population"]],
                  [7.5] * len(rows))
    return ins


# ---------------------------------------------------------------------------
# Deprecated names (one release)
# ---------------------------------------------------------------------------

def _deprecated(old: str, new):
    @functools.wraps(new)
    def wrapper(*args, **kwargs):
        warnings.warn(f"popaudit.plots.{old} is deprecated and will be removed in the next "
                      f"release; use popaudit.plots.{new.__name__}", DeprecationWarning,
                      stacklevel=2)
        return new(*args, **kwargs)

    wrapper.__name__ = old
    wrapper.__qualname__ = old
    wrapper.__doc__ = (f"Deprecated alias of :func:`{new.__name__}` (removed in the next "
                       "release).")
    return wrapper


marginal_bars = _deprecated("marginal_bars", plot_marginals)
metric_by_subgroup = _deprecated("metric_by_subgroup", plot_subgroup_metric)
correlation_heatmaps = _deprecated("correlation_heatmaps", plot_correlation_heatmaps)
cultural_map = _deprecated("cultural_map", plot_cultural_map)
loadings = _deprecated("loadings", plot_loadings)
noise_floor = _deprecated("noise_floor", plot_noise_floor)


# ---------------------------------------------------------------------------
# networks
# ---------------------------------------------------------------------------
def plot_networks(networks: Mapping, *, layout_seed: int = 3, axes=None):
    """Networks side by side with one fixed layout (the first network's).

    Parameters
    ----------
    networks : mapping name -> NetworkResult
        E.g. ``{"gold": cmp.gold, "persona": cmp.simulated}``; the first one fixes the node
        positions (a weighted spring layout on its absolute partial correlations), so a
        missing or moved edge reads as a difference, not as a new drawing.
    layout_seed : int
        Seed of the spring layout.
    axes : sequence of Axes, optional
        One per network.

    Returns
    -------
    matplotlib.figure.Figure
        Blue edges positive, red negative partial correlations; width proportional to the
        absolute weight; each title gives the number of edges and the selected lambda.
    """
    items = list(networks.items())
    if not items:
        raise ValueError("no network to draw")
    ref = items[0][1].to_networkx()
    weighted = nx.Graph()
    weighted.add_nodes_from(ref.nodes)
    weighted.add_weighted_edges_from((u, v, d["abs_weight"]) for u, v, d in ref.edges(data=True))
    pos = nx.spring_layout(weighted, weight="weight", seed=layout_seed)
    if axes is None:
        fig, axes = plt.subplots(1, len(items), figsize=(3.3 * len(items), 3.6), squeeze=False)
        axes = axes[0]
    else:
        fig = axes[0].figure
    for ax, (name, res) in zip(axes, items, strict=True):
        g = res.to_networkx()
        edges = list(g.edges(data=True))
        nx.draw_networkx_nodes(g, pos, ax=ax, node_color="#f2f2f2", edgecolors="#444444",
                               node_size=420)
        nx.draw_networkx_labels(g, pos, ax=ax, font_size=7)
        nx.draw_networkx_edges(g, pos, ax=ax, edgelist=[(u, v) for u, v, _ in edges],
                               edge_color=["#1f77b4" if d["weight"] > 0 else "#d62728"
                                           for _, _, d in edges],
                               width=[8 * d["abs_weight"] for _, _, d in edges])
        ax.set_title(f"{name}\n{res.n_edges} edges, lambda = {res.lambda_:.3f}", fontsize=9)
        ax.margins(0.12)
        ax.set_axis_off()
    fig.suptitle("EBICglasso networks: blue positive, red negative partial correlations",
                 fontsize=10)
    return fig
