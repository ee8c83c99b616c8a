"""Steering benchmarks on top of a sweep: steerability, consistency and a ranking of methods.

A sweep (:func:`popaudit.sweep`) audits populations named ``"<model>/<method>"`` — one model
under several steering methods, ``"default"`` for the unsteered model — split by country or
any other column. This module computes from its table what steering benchmarks report:

* OpinionQA's **representativeness** of a population for a group (Santurkar et al. 2023,
  "Whose opinions do language models reflect?", ICML): one minus the Wasserstein-1 distance
  between the population's and the group's answer distributions on each item's ordinal
  scale, divided by the scale's length, averaged over items. The sweep's marginal component
  stores it per item as ``representativeness`` (``1 - w1_norm``).
* **steerability**: per group, the best representativeness over the steered methods of a
  model against the default method's (OpinionQA's "steered" vs "default subgroup
  representativeness").
* **consistency**: the share of topics whose best-matched group is the group best matched
  overall (OpinionQA's topic-level consistency).
* a **ranking** of the methods on every component headline of the sweep, with bootstrap
  intervals on paired differences (each method against the best one and against the
  default).

Why the intervals need a re-run. A sweep stores each task's numbers, not its draws, and its
tasks' seeds differ (each derives from the task's name), so the resamples of two methods in
the same split are not the same resamples of gold. Paired draws are therefore made anew: in
split ``s`` the ``b``-th draw resamples gold's respondents with a seed that depends on
``(seed, s, b)`` only (:func:`popaudit._inference.seed_from_name`), so every method of every
model meets the same gold resample ``b``; each simulated population is resampled with its
own seed ``(seed, s, population, b)``; the component is run on the pair (the same code as
the audit, without its floors) and its headlines kept. A method's value in draw ``b`` is the
mean over splits, and the interval of a difference between two methods comes from the
differences of their draws (:func:`popaudit._inference.bootstrap_interval`). Gold's
sampling noise, shared by both sides of a difference, then largely cancels, as it does in
the point estimate. Without the data, the intervals resample splits instead (a paired
bootstrap over countries, from the table alone).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from popaudit._inference import (
    bootstrap_interval,
    progress_bar,
    resolve_seed,
    seed_from_name,
)
from popaudit.components import COMPONENTS, AuditContext
from popaudit.data.io import read_survey
from popaudit.data.survey import Survey
from popaudit.sweeps import ALL, SweepResult, _expand_populations, _load, _subset, read_sweep

__all__ = ["SteerabilityResult", "steerability"]

#: Per-item statistics of the sweep table a representativeness can be built from:
#: statistic -> (component, True when it is a distance in [0, 1]: representativeness = 1 - it).
REPRESENTATIVENESS_METRICS = {
    "representativeness": ("marginal", False),
    "w1_norm": ("marginal", True),
    "js_distance": ("marginal", True),
    "total_variation": ("marginal", True),
    "hellinger": ("marginal", True),
    "accuracy": ("modal", False),
}

#: Headline statistics and which way is better (+1 higher, -1 lower); others are ranked by
#: the side of their noise floor, and statistics without a direction (p-values) are not.
HEADLINE_DIRECTIONS = {
    "mean normalised W1 (ordinal items)": -1, "mean Jensen-Shannon distance": -1,
    "modal accuracy": 1, "modal distance error": -1, "invalid answer rate": -1,
    "polychoric RMSE": -1, "correlation of correlations": 1,
    "factor congruence (overall)": 1, "IW map congruence vs gold": 1,
    "IW items on their dimension": 1, "network max edge difference": -1,
}

#: Components whose headlines are re-computed for paired gold resamples by default (cheap:
#: distributions and modes); ``structure`` re-estimates polychoric matrices for every draw.
PAIRED_COMPONENTS = ("marginal", "modal", "invalid")

#: Columns of :meth:`SteerabilityResult.to_frame`.
TIDY_COLUMNS = ["part", "model", "method", "split", "group", "component", "statistic",
                "value", "rank", "reference", "ci_low", "ci_high", "n"]


@dataclass(frozen=True)
class SteerabilityResult:
    """Steerability, consistency and method ranking of a sweep (:func:`steerability`).

    Attributes
    ----------
    steerability : DataFrame
        One row per model and group: ``model``, ``split``, ``group``,
        ``representativeness_default``, ``representativeness_steered`` (the best steered
        method's), ``best_method``, ``gain`` (steered - default), ``n_items``.
    consistency : DataFrame
        One row per population and set of competing groups (``attribute``: ``"all"`` when the
        groups are the splits, else the split): ``population``, ``model``, ``method``,
        ``attribute``, ``best_group`` (overall), ``consistency``, ``n_topics``, ``n_groups``.
    ranking : DataFrame
        One row per headline statistic, model (``"(all)"``: every model together) and
        method: ``value`` (mean over the splits every method has), ``rank`` (1 = best),
        ``direction``, ``n_splits``, ``best_method``, ``vs_best`` / ``vs_default`` (value
        minus the best / the default method's) with ``_low`` / ``_high`` interval bounds.
    summary : DataFrame
        One row per model: mean default and steered representativeness over its groups,
        mean gain, share of groups improved, the most frequent best method, and the default
        method's consistency.
    representativeness : DataFrame
        The basis: one row per population and group (``representativeness``, ``n_items``).
    draws : dict
        Paired draws ``(component, statistic) -> array (population, split, draw)`` (gold
        resampling), with ``settings["draw_populations"]`` and ``settings["draw_splits"]``
        naming the axes; empty when the intervals resample splits or are not computed.
    settings : dict
        Every option, the integer seed included.
    notes : tuple of str
        Populations left out, undefined numbers, settings that disagree with the sweep.
    """

    steerability: pd.DataFrame
    consistency: pd.DataFrame
    ranking: pd.DataFrame
    summary: pd.DataFrame
    representativeness: pd.DataFrame
    draws: Mapping = field(default_factory=dict, repr=False)
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Every number as one tidy table (:data:`TIDY_COLUMNS`); ``part`` says which table."""
        parts = []
        st = self.steerability
        for stat in ("representativeness_default", "representativeness_steered", "gain"):
            parts.append(pd.DataFrame({
                "part": "steerability", "model": st["model"], "method": st["best_method"],
                "split": st["split"], "group": st["group"], "statistic": stat,
                "value": st[stat], "n": st["n_items"]}))
        co = self.consistency
        parts.append(pd.DataFrame({
            "part": "consistency", "model": co["model"], "method": co["method"],
            "group": co["best_group"],
            "split": co["attribute"], "statistic": "consistency", "value": co["consistency"],
            "n": co["n_topics"]}))
        rk = self.ranking
        if len(rk):
            parts.append(pd.DataFrame({
                "part": "ranking", "model": rk["model"], "method": rk["method"],
                "component": rk["component"], "statistic": rk["statistic"],
                "value": rk["value"], "rank": rk["rank"], "n": rk["n_splits"]}))
            for ref in ("best", "default"):
                parts.append(pd.DataFrame({
                    "part": "ranking", "model": rk["model"], "method": rk["method"],
                    "component": rk["component"], "statistic": rk["statistic"] + " difference",
                    "value": rk[f"vs_{ref}"],
                    "reference": rk["best_method"] if ref == "best"
                    else self.settings.get("default_method"),
                    "ci_low": rk[f"vs_{ref}_low"], "ci_high": rk[f"vs_{ref}_high"],
                    "n": rk["n_splits"]}))
        parts = [p for p in parts if len(p)]
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        return out.reindex(columns=TIDY_COLUMNS)

    def __repr__(self) -> str:
        models = self.summary["model"].tolist() if len(self.summary) else []
        return (f"SteerabilityResult({len(models)} model(s), "
                f"{self.steerability['group'].nunique() if len(self.steerability) else 0} "
                f"group(s), {len(self.ranking)} ranking rows; intervals: "
                f"{self.settings.get('resample')})")


# ------------------------------------------------------------------------------------------
# inputs
# ------------------------------------------------------------------------------------------
def _inputs(sweep) -> tuple[pd.DataFrame, pd.DataFrame | None, dict]:
    """``(table, summary or None, sweep settings)`` of a result, a store or a table."""
    if isinstance(sweep, (str, os.PathLike)):
        sweep = read_sweep(sweep)
    if isinstance(sweep, SweepResult) or (hasattr(sweep, "table") and hasattr(sweep, "summary")):
        table, summary = sweep.table, sweep.summary
        settings = dict(getattr(sweep, "settings", {}) or {})
    elif isinstance(sweep, pd.DataFrame):
        table, summary, settings = sweep, None, {}
    else:
        raise TypeError(f"steerability needs a SweepResult, a sweep store's path or a sweep "
                        f"table (DataFrame), got {type(sweep).__name__}")
    need = {"population", "component", "subgroup", "item", "statistic", "value"}
    missing = sorted(need - set(table.columns))
    if missing:
        raise ValueError(f"the sweep table lacks the column(s) {missing}; pass a SweepResult, "
                         "a store path or SweepResult.table")
    table = table.assign(split=table["split"].astype(str) if "split" in table else ALL)
    if summary is not None:
        summary = summary.assign(split=summary["split"].astype(str) if "split" in summary
                                 else ALL)
    return table, summary, settings


def _model_method(names, separator: str, notes: list) -> dict[str, tuple[str, str]]:
    out, bad = {}, []
    for name in names:
        if separator in name:
            model, method = name.rsplit(separator, 1)
            out[name] = (model, method)
        else:
            bad.append(name)
    if bad:
        notes.append(f"population(s) {', '.join(map(repr, bad))} left out: names must read "
                     f"'<model>{separator}<method>'")
    return out


# ------------------------------------------------------------------------------------------
# representativeness, steerability, consistency (from the table)
# ------------------------------------------------------------------------------------------
def _item_rep(table, names, metric: str, group_by: str) -> pd.DataFrame:
    """Per population, split, group and item: the representativeness of the item."""
    comp, is_distance = REPRESENTATIVENESS_METRICS[metric]
    rows = table[(table["component"] == comp) & (table["statistic"] == metric)
                 & table["population"].isin(list(names))]
    sub = rows["subgroup"].astype("string")
    overall = sub.isna() | (sub == "overall")
    rows = rows[overall] if group_by == "split" else rows[~overall]
    value = pd.to_numeric(rows["value"], errors="coerce").astype(float)
    out = pd.DataFrame({"population": rows["population"].astype(str).to_numpy(),
                        "split": rows["split"].to_numpy(),
                        "group": (rows["split"] if group_by == "split"
                                  else rows["subgroup"]).astype(str).to_numpy(),
                        "item": rows["item"].astype(str).to_numpy(),
                        "rep": (1.0 - value if is_distance else value).to_numpy()})
    return out[np.isfinite(out["rep"])]


def _steerability_table(rep: pd.DataFrame, default_method: str, notes: list) -> pd.DataFrame:
    cols = ["model", "split", "group", "representativeness_default",
            "representativeness_steered", "best_method", "gain", "n_items"]
    out = []
    for (model, split, group), cell in rep.groupby(["model", "split", "group"], sort=True):
        by_method = cell.set_index("method")
        default = by_method.loc[default_method] if default_method in by_method.index else None
        steered = by_method.drop(index=default_method, errors="ignore")
        best = (steered["representativeness"].idxmax() if len(steered)
                and steered["representativeness"].notna().any() else None)
        r_d = float(default["representativeness"]) if default is not None else np.nan
        r_s = float(steered.loc[best, "representativeness"]) if best is not None else np.nan
        n = int(default["n_items"]) if default is not None else (
            int(steered.loc[best, "n_items"]) if best is not None else 0)
        out.append({"model": model, "split": split, "group": group,
                    "representativeness_default": r_d, "representativeness_steered": r_s,
                    "best_method": best, "gain": r_s - r_d, "n_items": n})
    table = pd.DataFrame(out, columns=cols)
    no_default = sorted(set(table.loc[table["representativeness_default"].isna(), "model"]))
    if no_default:
        notes.append(f"model(s) {', '.join(map(repr, no_default))} have no "
                     f"{default_method!r} method in some group: their gain there is undefined")
    no_steer = sorted(set(table.loc[table["best_method"].isna(), "model"]))
    if no_steer:
        notes.append(f"model(s) {', '.join(map(repr, no_steer))} have no steered method in "
                     "some group: their steered representativeness there is undefined")
    return table


def _best(values: pd.Series, tol: float = 1e-12) -> set:
    v = values.dropna()
    return set(v.index[v >= v.max() - tol]) if len(v) else set()


def _consistency_table(items: pd.DataFrame, rep: pd.DataFrame, topics, group_by: str,
                       notes: list) -> pd.DataFrame:
    cols = ["population", "model", "method", "attribute", "best_group", "consistency",
            "n_topics", "n_groups"]
    topic_of = ({str(i): str(i) for i in items["item"].unique()} if topics is None else
                {str(i): str(t) for t, its in topics.items() for i in its})
    unknown = sorted(set(topic_of) - set(items["item"]))
    if topics is not None and unknown:
        notes.append(f"topic item(s) not in the table's {len(unknown)}: "
                     f"{', '.join(unknown[:10])}")
    items = items[items["item"].isin(list(topic_of))].assign(
        topic=lambda d: d["item"].map(topic_of))
    by_topic = items.groupby(["population", "attribute", "group", "topic"])["rep"].mean()
    overall = rep.set_index(["population", "attribute", "group"])["representativeness"]
    out, too_few = [], []
    for (pop, attr), cell in overall.groupby(level=[0, 1], sort=True):
        cell = cell.droplevel([0, 1])
        best_all = _best(cell)
        model, method = rep.loc[rep["population"] == pop, ["model", "method"]].iloc[0]
        if len(cell.dropna()) < 2:
            too_few.append(pop)
            out.append({"population": pop, "model": model, "method": method,
                        "attribute": attr, "best_group": None, "consistency": np.nan,
                        "n_topics": 0, "n_groups": len(cell.dropna())})
            continue
        scores = []
        try:
            mine = by_topic.loc[(pop, attr)]
        except KeyError:
            mine = pd.Series(dtype=float)
        for _topic, t in (mine.groupby(level="topic") if len(mine) else ()):
            best_t = _best(t.droplevel("topic"))
            if best_t:  # ties share the credit: the fraction of the topic's best that is best
                scores.append(len(best_t & best_all) / len(best_t))
        out.append({"population": pop, "model": model, "method": method, "attribute": attr,
                    "best_group": ";".join(sorted(best_all)),
                    "consistency": float(np.mean(scores)) if scores else np.nan,
                    "n_topics": len(scores), "n_groups": len(cell.dropna())})
    if too_few:
        notes.append(f"consistency undefined for {len(set(too_few))} population(s) with fewer "
                     f"than two groups to compare ({'splits' if group_by == 'split' else 'subgroups within a split'})")
    return pd.DataFrame(out, columns=cols)


# ------------------------------------------------------------------------------------------
# ranking (from the summary) and its intervals
# ------------------------------------------------------------------------------------------
def _direction(stat: str, rows: pd.DataFrame) -> int | None:
    if stat in HEADLINE_DIRECTIONS:
        return HEADLINE_DIRECTIONS[stat]
    def has(col):
        return col in rows and pd.to_numeric(rows[col], errors="coerce").notna().any()

    hi, lo = has("floor_high"), has("floor_low")  # a floor on the bad side only
    return -1 if hi and not lo else 1 if lo and not hi else None


def _rank(values: pd.Series, direction: int) -> pd.Series:
    return (direction * -values).rank(method="min").astype("Int64")


def _paired_draws(gold, populations, names, splits, split_by, components, ctx_kw, n_boot,
                  seed, resample_simulated, read_options, progress, notes):
    """``(component, statistic) -> (P, S, n_boot)`` draws and ``-> (P, S)`` points."""
    gold = gold if isinstance(gold, Survey) else read_survey(gold, **dict(read_options))
    pops = _expand_populations(populations)
    missing = [n for n in names if n not in pops]
    if missing:
        notes.append(f"no data given for population(s) {', '.join(map(repr, missing))}: "
                     "their intervals are undefined")
    ctx = AuditContext(**ctx_kw, n_boot=0, n_null=0, seed=seed)
    draws: dict = {}
    points: dict = {}
    shape = (len(names), len(splits))
    golds = {s: _subset(gold, split_by, s) for s in splits}
    failed = []
    with progress_bar(total=len(names) * len(splits), desc="paired draws", unit="task",
                      progress=progress) as bar, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny resampled cells warn; counted as NaN draws
        for i, name in enumerate(names):
            if name not in pops:
                bar.update(len(splits))
                continue
            sim = _load(pops[name], gold, read_options, name)
            for j, s in enumerate(splits):
                bar.update(1)
                try:
                    sim_s = _subset(sim, split_by, s)
                except ValueError:
                    continue
                g_s, n_g, n_s = golds[s], golds[s].n_respondents, sim_s.n_respondents
                for b in range(-1, n_boot):  # -1: the point estimate, nothing resampled
                    if b < 0:
                        g_b, s_b = g_s, sim_s
                    else:
                        rows = np.random.default_rng(
                            seed_from_name(seed, f"{s}/gold/{b}")).integers(0, n_g, n_g)
                        g_b = g_s.subset(rows)
                        s_b = sim_s.subset(np.random.default_rng(
                            seed_from_name(seed, f"{s}/{name}/{b}")).integers(0, n_s, n_s)) \
                            if resample_simulated else sim_s
                    for comp in components:
                        c = COMPONENTS[comp]
                        try:
                            heads = c.headlines(c.run(g_b, {name: s_b}, ctx), name)
                        except Exception as err:  # noqa: BLE001 - a failing draw is NaN
                            failed.append(f"{comp}: {type(err).__name__}: {err}")
                            continue
                        for h in heads:
                            key = (comp, h["statistic"])
                            if key not in draws:
                                draws[key] = np.full((*shape, n_boot), np.nan)
                                points[key] = np.full(shape, np.nan)
                            if b < 0:
                                points[key][i, j] = h["value"]
                            else:
                                draws[key][i, j, b] = h["value"]
    if failed:
        notes.append(f"{len(failed)} paired draw(s) failed and count as undefined; first: "
                     f"{failed[0]}")
    return draws, points


def _split_draws(values: pd.DataFrame, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, splits) multiplicities: splits resampled with replacement, same for all."""
    k = values.shape[1]
    out = np.zeros((n_boot, k))
    for b in range(n_boot):
        idx = np.random.default_rng(seed_from_name(seed, f"splits/{b}")).integers(0, k, k)
        out[b] = np.bincount(idx, minlength=k)
    return out


def _ranking(summary, names, mm, default_method, components, resample, draws, draw_axes,
             n_boot, seed, confidence_level, ci_method, notes) -> pd.DataFrame:
    cols = ["component", "statistic", "direction", "model", "method", "value", "rank",
            "n_splits", "best_method", "vs_best", "vs_best_low", "vs_best_high", "vs_default",
            "vs_default_low", "vs_default_high"]
    summ = summary[summary["population"].isin(list(names))]
    if components is not None:
        summ = summ[summ["component"].isin(list(components))]
    out, skipped = [], []
    pop_index = {p: i for i, p in enumerate(draw_axes[0])}
    split_index = {s: j for j, s in enumerate(draw_axes[1])}
    for (comp, stat), rows in summ.groupby(["component", "statistic"], sort=False):
        direction = _direction(stat, rows)
        if direction is None:
            skipped.append(stat)
            continue
        vals = rows.assign(value=pd.to_numeric(rows["value"], errors="coerce")).pivot_table(
            index="population", columns="split", values="value", aggfunc="first")
        models: dict[str, dict[str, str]] = {}
        for pop in vals.index:
            model, method = mm[pop]
            models.setdefault(model, {})[method] = pop
        groups = [(m, meths) for m, meths in sorted(models.items())]
        methods_all = sorted({me for _, meths in groups for me in meths})
        complete = [(m, meths) for m, meths in groups if set(meths) == set(methods_all)]
        if len(groups) > 1 and len(complete) > 1:
            groups.append(("(all)", None))
        for model, meths in groups:
            if meths is None:  # every model together: cells (model, split) of every method
                cells = {me: [meths_[me] for _, meths_ in complete] for me in methods_all}
            else:
                cells = {me: [p] for me, p in meths.items()}
            # the splits where every method (of every model counted) has a value
            block = {me: vals.loc[pops] for me, pops in cells.items()}
            ok = np.logical_and.reduce([np.isfinite(b.to_numpy(float)).all(axis=0)
                                        for b in block.values()])
            splits = list(vals.columns[ok])
            if not splits:
                notes.append(f"{stat}: no split where every method of {model!r} has a value")
                continue
            value = pd.Series({me: float(b[splits].to_numpy(float).mean())
                               for me, b in block.items()})
            rank = _rank(value, direction)
            best = value.index[rank == 1][0]
            draw_values = _method_draws(comp, stat, cells, splits, resample, draws, pop_index,
                                        split_index, vals, n_boot, seed)
            for me in sorted(value.index, key=lambda x: (rank[x], x)):
                row = {"component": comp, "statistic": stat,
                       "direction": "higher is better" if direction > 0 else "lower is better",
                       "model": model, "method": me, "value": value[me], "rank": int(rank[me]),
                       "n_splits": len(splits), "best_method": best}
                for ref_name, ref in (("best", best), ("default", default_method)):
                    if ref not in value.index:
                        row.update({f"vs_{ref_name}": np.nan, f"vs_{ref_name}_low": np.nan,
                                    f"vs_{ref_name}_high": np.nan})
                        continue
                    diff = value[me] - value[ref]
                    lo = hi = np.nan
                    if draw_values is not None and me != ref:
                        _, lo, hi = bootstrap_interval(
                            diff, draw_values[me] - draw_values[ref],
                            confidence_level=confidence_level, method=ci_method)
                    elif me == ref:
                        lo = hi = 0.0
                    row.update({f"vs_{ref_name}": diff, f"vs_{ref_name}_low": float(lo),
                                f"vs_{ref_name}_high": float(hi)})
                out.append(row)
    if skipped:
        notes.append(f"not ranked (no better direction): {', '.join(dict.fromkeys(skipped))}")
    return pd.DataFrame(out, columns=cols)


def _method_draws(comp, stat, cells, splits, resample, draws, pop_index, split_index, vals,
                  n_boot, seed):
    """method -> (n_boot,) draws of its mean over ``splits`` (and models), or None."""
    if resample == "gold":
        arr = draws.get((comp, stat))
        if arr is None:
            return None
        cols = [split_index[s] for s in splits]
        out = {}
        for me, pops in cells.items():
            rows = [pop_index[p] for p in pops]
            out[me] = arr[np.ix_(rows, cols)].reshape(-1, arr.shape[-1]).mean(axis=0)
        return out
    if resample == "splits" and len(splits) > 1:
        mult = _split_draws(vals[splits], n_boot, seed)  # same resampled splits for all
        out = {}
        for me, pops in cells.items():
            per_split = vals.loc[pops, splits].to_numpy(float).mean(axis=0)
            out[me] = mult @ per_split / len(splits)
        return out
    return None


# ------------------------------------------------------------------------------------------
# the public function
# ------------------------------------------------------------------------------------------
def steerability(sweep, *, default_method: str = "default", separator: str = "/",
                 group_by: str = "split", metric: str = "representativeness",
                 topics: Mapping[str, Sequence[str]] | None = None,
                 components: Sequence[str] | None = None, gold=None,
                 populations: Mapping | None = None, split_by: str | None = None,
                 by: Sequence[str] | None = None, resample: str | None = None,
                 n_boot: int = 200, resample_simulated: bool = True, seed=None,
                 confidence_level: float = 0.95, ci_method: str = "basic",
                 read_options: Mapping | None = None,
                 progress: bool | None = None) -> SteerabilityResult:
    r"""Steerability, consistency and a ranking of steering methods over a sweep.

    Populations are named ``"<model>/<method>"`` (the last ``separator`` splits the name;
    ``"meta/llama-3/persona"`` is model ``meta/llama-3``, method ``persona``); the method
    named ``default_method`` is the unsteered model. A group is a split of the sweep
    (``group_by="split"``: a country, when the sweep is split by country) or a subgroup within
    a split (``group_by="subgroup"``: the audit's ``by`` cells). In a sweep, a population's
    respondents in split ``s`` are compared with gold's in ``s`` only, so a steered method's
    numbers for group ``s`` are those of the model steered toward ``s``.

    What is computed, with :math:`r_{p,g,i}` the per-item representativeness of population
    :math:`p` for group :math:`g` on item :math:`i` (the sweep table's ``representativeness``
    rows, :math:`1 - W_1(p, g; i) / (x_K - x_1)`, OpinionQA's per-question
    :math:`1 - WD/(N-1)`; or ``1 - metric`` for another distance ``metric``):

    * representativeness :math:`R_{p,g} = \operatorname{mean}_i r_{p,g,i}` over the items
      with a value (OpinionQA's :math:`\mathcal{R}_m(G; Q)`);
    * per model :math:`m` and group :math:`g`: :math:`R^{d}_{m,g} = R_{m/\text{default}, g}`
      and :math:`R^{s}_{m,g} = \max_{k \ne \text{default}} R_{m/k, g}`, the best steered
      method, its name, and the gain :math:`R^{s} - R^{d}` (OpinionQA's steered against
      default subgroup representativeness, Figure 5 of the paper; the notebook's
      ``groupby(...).last()`` after sorting by representativeness is this maximum);
    * consistency of population :math:`p`: with :math:`g^* = \arg\max_g R_{p,g}` and, for each
      topic :math:`t` (an item, or a group of items given in ``topics``),
      :math:`g^*_t = \arg\max_g \operatorname{mean}_{i \in t} r_{p,g,i}`, the share of topics
      with :math:`g^*_t = g^*`. Groups compete within an "attribute" — all splits for
      ``group_by="split"``, the subgroups of one split for ``"subgroup"`` — and a
      population's consistency is reported per attribute (OpinionQA averages over its
      attributes; it reports the default models'). Ties share the credit: a topic counts
      :math:`|B_t \cap B| / |B_t|` with :math:`B_t`, :math:`B` the sets of best groups
      (1e-12 tolerance).
    * ranking: for each component headline of the sweep (``summary``; statistics without a
      better direction, such as p-values, are left out), each model's methods by their mean
      over the splits every method of the model has (rank 1 = best; ``"(all)"`` pools the
      models that have every method), with the difference of each method to the best and to
      the default method and a bootstrap interval on that paired difference.

    Intervals (``resample``): ``"gold"`` re-runs small paired bootstraps (the module
    docstring says how; needs ``gold`` and ``populations``, cheap components only unless
    ``components`` says otherwise); ``"splits"`` resamples the splits with replacement,
    the same splits for every method (from the table alone; the variation over countries,
    not gold's sampling noise); ``"none"``. Default: ``"gold"`` when ``gold`` and
    ``populations`` are given, else ``"splits"`` when there are at least two splits. The
    ``"basic"`` interval corrects the bootstrap's bias: sampling noise inflates distances,
    the more the closer a population is to gold, so the interval can lie beside the point
    estimate (it estimates the difference without noise); ``ci_method="percentile"`` gives
    the spread of the draws instead.

    Parameters
    ----------
    sweep : SweepResult, path or DataFrame
        A sweep's result, its store, or its ``table`` (a table alone gives no ranking:
        the headlines are in ``SweepResult.summary``). An :class:`~popaudit.Report`'s
        populations work too (one split).
    default_method : str
        The method name of the unsteered model.
    separator : str
        Separates model and method in a population's name.
    group_by : {"split", "subgroup"}
        What a group is (see above).
    metric : str
        Per-item statistic of :data:`REPRESENTATIVENESS_METRICS` (``representativeness``,
        OpinionQA's; distances such as ``js_distance`` count as ``1 - distance``;
        ``accuracy`` is modal accuracy).
    topics : mapping topic -> items, optional
        Topics of the consistency (default: every item is a topic).
    components : sequence of str, optional
        Components whose headlines are ranked (default: all in the sweep); with
        ``resample="gold"``, those that get intervals (default :data:`PAIRED_COMPONENTS`).
    gold, populations : optional
        The data the sweep ran on (a Survey or file; name -> Survey, file or glob), for
        ``resample="gold"``.
    split_by, by : optional
        As in the sweep (default: the sweep's settings when it records them).
    resample : {"gold", "splits", "none"}, optional
        How the intervals resample (see above).
    n_boot : int
        Paired draws.
    resample_simulated : bool
        With ``"gold"``, also resample each simulated population (its own sampling noise);
        False keeps it fixed, so two identical populations differ by exactly 0.
    seed : int, Generator or None
        Seed of the draws (``settings["seed"]``).
    confidence_level : float
        Level of the intervals.
    ci_method : {"basic", "percentile", "shifted"}
        Interval of :func:`popaudit._inference.bootstrap_interval`.
    read_options : mapping, optional
        For population files, as in :func:`popaudit.sweep`.
    progress : bool or None
        Progress bar over the paired draws (None: only on a terminal).

    Returns
    -------
    SteerabilityResult

    Notes
    -----
    OpinionQA (Santurkar et al. 2023, Section 4 and the ``steerability`` and
    ``consistency`` notebooks of github.com/tatsu-lab/opinions_qa) computes the same
    quantities from answer distributions of 60 US groups; there a group is a demographic
    group and a steered model is prompted toward it. Steering toward countries in a sweep
    split by country is the same computation with countries as groups.

    Examples
    --------
    >>> import pandas as pd
    >>> import popaudit as pa
    >>> rows = [{"population": f"m/{meth}", "split": c, "component": "marginal",
    ...          "subgroup": "overall", "item": i, "statistic": "representativeness",
    ...          "value": v}
    ...         for meth, c, i, v in [("default", "A", "q1", .8), ("default", "B", "q1", .6),
    ...                               ("persona", "A", "q1", .9), ("persona", "B", "q1", .5)]]
    >>> res = pa.steerability(pd.DataFrame(rows))
    >>> res.steerability[["split", "representativeness_steered", "gain"]].round(2)
      split  representativeness_steered  gain
    0     A                         0.9   0.1
    1     B                         0.5  -0.1
    """
    if group_by not in ("split", "subgroup"):
        raise ValueError(f"group_by must be 'split' or 'subgroup', got {group_by!r}")
    if metric not in REPRESENTATIVENESS_METRICS:
        raise ValueError(f"metric must be one of {list(REPRESENTATIVENESS_METRICS)}, got "
                         f"{metric!r}")
    if resample not in (None, "gold", "splits", "none"):
        raise ValueError(f"resample must be 'gold', 'splits' or 'none', got {resample!r}")
    if resample == "gold" and (gold is None or populations is None):
        raise ValueError("resample='gold' re-runs paired bootstraps on the data: pass gold= "
                         "and populations= (as given to popaudit.sweep)")
    seed_value = resolve_seed(seed)[1]
    notes: list[str] = []
    table, summary, sweep_settings = _inputs(sweep)
    names = sorted(set(table["population"].dropna().astype(str)))
    mm = _model_method(names, separator, notes)
    names = [n for n in names if n in mm]

    items = _item_rep(table, names, metric, group_by)
    items["model"] = items["population"].map(lambda p: mm[p][0])
    items["method"] = items["population"].map(lambda p: mm[p][1])
    items["attribute"] = "all" if group_by == "split" else items["split"]
    rep = (items.groupby(["population", "model", "method", "split", "attribute", "group"],
                         sort=True)["rep"].agg(representativeness="mean", n_items="count")
           .reset_index())
    if rep.empty:
        notes.append(f"no {metric!r} rows for {'splits' if group_by == 'split' else 'subgroups'}"
                     " in the table: steerability and consistency are empty")
    steer = _steerability_table(rep, default_method, notes)
    cons = _consistency_table(items, rep, topics, group_by, notes)

    # intervals
    splits = sorted(set(table["split"]))
    if resample is None:
        resample = ("gold" if gold is not None and populations is not None
                    else "splits" if len(splits) > 1 else "none")
    split_by = split_by if split_by is not None else sweep_settings.get("split_by")
    if resample == "gold" and split_by is None and splits != [ALL]:
        raise ValueError("the sweep is split: pass split_by= (its column) to re-run paired "
                         "draws")
    by = list(by) if by is not None else list(sweep_settings.get("by") or [])
    draws, draw_axes = {}, ([], [])
    paired = list(components) if components is not None else [
        c for c in PAIRED_COMPONENTS if summary is not None and c in set(summary["component"])]
    if summary is None:
        notes.append("no headline table (pass a SweepResult or a store, not only its table): "
                     "no ranking")
        ranking = pd.DataFrame()
    else:
        if resample == "gold":
            paired = [c for c in paired if c in COMPONENTS and not COMPONENTS[c].joint]
            draws, points = _paired_draws(
                gold, populations, names, splits, split_by, paired,
                {"by": tuple(by), "ties": sweep_settings.get("ties", "any"),
                 "kl_smoothing": sweep_settings.get("kl_smoothing", 1e-6)},
                int(n_boot), seed_value, resample_simulated, read_options or {}, progress,
                notes)
            draw_axes = (names, splits)
            _check_points(summary, points, names, splits, notes)
            no_draws = sorted(set(summary["component"]) - set(paired)
                              - {"disparity", "cultural_map"})
            if no_draws and components is None:
                notes.append(f"no paired intervals for {', '.join(no_draws)} (re-estimating "
                             "them for every draw is costly; name them in components= to "
                             "have them)")
        ranking = _ranking(summary, names, mm, default_method, components, resample, draws,
                           draw_axes, int(n_boot), seed_value, confidence_level, ci_method,
                           notes)

    summ = _model_summary(steer, cons, default_method)
    settings = {"default_method": default_method, "separator": separator,
                "group_by": group_by, "metric": metric,
                "topics": None if topics is None else {k: list(v) for k, v in topics.items()},
                "components": paired if resample == "gold" else components,
                "resample": resample, "n_boot": int(n_boot),
                "resample_simulated": resample_simulated, "seed": seed_value,
                "confidence_level": confidence_level, "ci_method": ci_method,
                "split_by": split_by, "by": by, "draw_populations": list(draw_axes[0]),
                "draw_splits": list(draw_axes[1])}
    return SteerabilityResult(steerability=steer, consistency=cons, ranking=ranking,
                              summary=summ, representativeness=rep.drop(columns="attribute"),
                              draws=draws, settings=settings, notes=tuple(notes))


def _check_points(summary, points, names, splits, notes) -> None:
    """The un-resampled re-run must give the sweep's numbers, or the settings differ."""
    off = []
    for (comp, stat), arr in points.items():
        rows = summary[(summary["component"] == comp) & (summary["statistic"] == stat)]
        got = rows.set_index(["population", "split"])["value"]
        for i, p in enumerate(names):
            for j, s in enumerate(splits):
                if (p, s) in got.index and np.isfinite(arr[i, j]):
                    ref = float(pd.to_numeric(got.loc[(p, s)], errors="coerce"))
                    if np.isfinite(ref) and abs(ref - arr[i, j]) > 1e-9 * max(1.0, abs(ref)):
                        off.append(f"{stat} of {s}/{p}: sweep {ref:.6g}, re-run {arr[i, j]:.6g}")
    if off:
        notes.append(f"the paired re-run does not reproduce {len(off)} sweep number(s) (other "
                     f"data or settings: by, ties?); first: {off[0]}")


def _model_summary(steer: pd.DataFrame, cons: pd.DataFrame, default_method: str):
    cols = ["model", "n_groups", "representativeness_default", "representativeness_steered",
            "gain", "share_improved", "best_method", "consistency_default"]
    out = []
    for model, rows in steer.groupby("model", sort=True):
        gain = rows["gain"].dropna()
        best = rows["best_method"].dropna()
        c = cons[(cons["model"] == model) & (cons["method"] == default_method)]["consistency"]
        out.append({"model": model, "n_groups": len(rows),
                    "representativeness_default": rows["representativeness_default"].mean(),
                    "representativeness_steered": rows["representativeness_steered"].mean(),
                    "gain": gain.mean() if len(gain) else np.nan,
                    "share_improved": float((gain > 0).mean()) if len(gain) else np.nan,
                    "best_method": best.mode().iloc[0] if len(best) else None,
                    "consistency_default": c.mean() if c.notna().any() else np.nan})
    return pd.DataFrame(out, columns=cols)
