"""``audit``: run every component on gold and each simulated population, return a Report.

This module composes the components' public functions; it computes no
statistic of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from popaudit.data.distributions import AnswerDistributions
from popaudit.data.survey import Survey, check_compatible
from popaudit.maps import inglehart_welzel as iw
from popaudit.metrics.marginal import compare_marginals
from popaudit.metrics.modal import compare_modes
from popaudit.report import Report, tidy

__all__ = ["audit"]

_HEADLINE = {  # (component, metric, item kind) -> summary label
    ("marginal", "w1_norm", "ordinal"): "mean normalised W1 (ordinal items)",
    ("marginal", "js_distance", "all"): "mean Jensen-Shannon distance",
    ("modal", "accuracy", None): "modal accuracy",
    ("modal", "distance_error", None): "modal distance error",
}


def _as_populations(simulated) -> dict:
    if isinstance(simulated, Survey | AnswerDistributions):
        name = getattr(simulated, "name", None) or "simulated"
        return {name: simulated}
    if not isinstance(simulated, Mapping) or not simulated:
        raise TypeError("simulated must be a Survey, AnswerDistributions, or a non-empty dict "
                        "of name -> population")
    return dict(simulated)


def audit(gold: Survey, simulated, *, by: str | Sequence[str] | None = None,
          ties: str = "any", kl_smoothing: float = 1e-6, structure: bool = True,
          factors: int | None = None, cultural_map: bool | None = None,
          subgroups=None, n_boot: int = 200,
          n_null: int = 200, seed: int = 0,
          progress: Callable[[str], None] | None = None) -> Report:
    """Audit one or more simulated populations against gold.

    Parameters
    ----------
    gold : Survey
        The real (reference) population.
    simulated : Survey, AnswerDistributions, or dict of name -> either
        Simulated populations. Respondent-level surveys get every component;
        subgroup-level answer distributions get the marginal and modal ones.
    by : str or sequence of str, optional
        Demographic columns whose crossing defines the subgroups for the
        subgroup-level marginal and modal metrics.
    ties : {"any", "fractional", "strict"}
        Tie policy of modal accuracy (see :func:`popaudit.metrics.modal.compare_modes`).
    kl_smoothing : float
        Additive smoothing of the KL divergence.
    structure : bool
        Compare polychoric correlation structures (individual level, with
        bootstrap CIs and gold-resample noise floors; see
        :func:`popaudit.compare_correlations`) for respondent-level populations.
    factors : int, optional
        Number of factors for the exploratory factor comparison (Procrustes
        alignment, Tucker congruence with its noise floor; see
        :func:`popaudit.structure.factors.compare_factors`) over the ordinal items; None
        skips it.
    cultural_map : bool, optional
        Place every population on gold's Inglehart-Welzel map and check each
        item's dimension (default: when gold has the map's WVS-7 items).
    subgroups : popaudit.Subgroups, optional
        Study A's subgroup analysis (e.g. ``pa.study_a_subgroups(gold)``):
        per-subgroup modal accuracy and NMAE of every population, their
        disparity across subgroups with bootstrap CIs, split by
        in- / out-of-distribution, and the change between the first
        population and each other one (does the mean improve while the
        disparity widens?).
    n_boot, n_null : int
        Bootstrap draws for CIs and gold resamples for noise floors.
    seed : int
        Seed of every resampling step (bootstrap CIs, noise floors).
    progress : callable, optional
        Called with a short message as each step starts (the CLI shows them).

    Returns
    -------
    Report
        ``report.table`` is the tidy long table of every number; ``report.results``
        holds the component result objects keyed by ``(component, population)``.

    Examples
    --------
    >>> import popaudit as pa
    >>> gold = pa.datasets.wvs_like(n=600, seed=0)
    >>> sim = pa.datasets.shuffled(gold, seed=1)
    >>> rep = pa.audit(gold, {"shuffled": sim}, by=["Q260"])
    >>> float(rep.summary.query("metric == 'modal accuracy'")["value"].iloc[0])
    1.0
    """
    if not isinstance(gold, Survey):
        raise TypeError("gold must be a respondent-level Survey")
    pops = _as_populations(simulated)
    say = progress or (lambda msg: None)
    by_list = [by] if isinstance(by, str) else list(by or [])
    tables: list[pd.DataFrame] = []
    results: dict = {}
    summary_rows: list[dict] = []

    for name, sim in pops.items():
        if isinstance(sim, Survey):
            check_compatible(gold, sim, what=("gold", name))
        say(f"marginal metrics: {name}")
        marg = compare_marginals(gold, sim, kl_smoothing=kl_smoothing)
        results[("marginal", name)] = marg
        tables.append(tidy(marg.to_frame().drop(columns=["population"], errors="ignore"),
                           population=name, component="marginal"))
        if by_list:
            marg_by = compare_marginals(gold, sim, by=by_list, kl_smoothing=kl_smoothing,
                                        unmatched="drop")
            results[("marginal_by", name)] = marg_by
            tables.append(tidy(marg_by.to_frame().drop(columns=["population"], errors="ignore"),
                               population=name, component="marginal"))
        say(f"modal metrics: {name}")
        modal = compare_modes(gold, sim, by=by_list or None, ties=ties,
                              unmatched="drop" if by_list else "raise")
        results[("modal", name)] = modal
        tables.append(tidy(modal.to_frame().drop(columns=["population"], errors="ignore"),
                           population=name, component="modal"))
        for _, row in marg.summary.iterrows():
            key = ("marginal", row["metric"], row["item_kind"])
            if key in _HEADLINE:
                summary_rows.append({"population": name, "metric": _HEADLINE[key],
                                     "value": row["mean"], "n": row["n_items"]})
        for _, row in modal.summary.iterrows():
            key = ("modal", row["metric"], None)
            if key in _HEADLINE:
                summary_rows.append({"population": name, "metric": _HEADLINE[key],
                                     "value": row["mean"], "n": row["n_used"]})
        if isinstance(sim, Survey):
            rates = sim.invalid_rate()
            summary_rows.append({"population": name, "metric": "invalid answer rate",
                                 "value": float(sim.invalid_mask.mean()), "n": sim.n_respondents})
            inv = pd.DataFrame({"item": rates.index, "metric": "invalid_rate",
                                "value": rates.to_numpy(), "subgroup": "overall"})
            tables.append(tidy(inv, population=name, component="invalid"))

    surveys = {name: sim for name, sim in pops.items() if isinstance(sim, Survey)}
    if structure and surveys:
        _structure(gold, surveys, n_boot, n_null, seed, say, tables, results, summary_rows)
    if factors and surveys:
        _factors(gold, surveys, int(factors), n_null, seed, say, tables, results, summary_rows)
    if subgroups is not None:
        _fairness(subgroups, pops, n_boot, seed, say, tables, results, summary_rows)
    if cultural_map is None:
        cultural_map = set(iw.SOURCE_ITEMS) <= set(gold.item_names)
    if cultural_map:
        _cultural_map(gold, surveys, n_boot, seed, say, tables, results, summary_rows)

    table = pd.concat(tables, ignore_index=True)
    summary = pd.DataFrame(summary_rows,
                           columns=["population", "metric", "value", "floor", "n", "note"])
    settings = {"by": by_list, "ties": ties, "kl_smoothing": kl_smoothing, "seed": seed,
                "structure": bool(structure), "factors": factors,
                "cultural_map": bool(cultural_map), "n_boot": n_boot, "n_null": n_null,
                "gold": gold.name or "gold", "n_gold": gold.n_respondents,
                "populations": list(pops)}
    return Report(table=table, results=results, summary=summary, settings=settings)


def _structure(gold, surveys, n_boot, n_null, seed, say, tables, results, summary_rows):
    from popaudit.structure.comparison import compare_correlations

    for name, sim in surveys.items():
        say(f"correlation structure (polychoric, {n_boot} bootstrap draws, {n_null} gold "
            f"resamples): {name}")
        cmp = compare_correlations(gold, sim, n_boot=n_boot, n_null=n_null, seed=seed)
        results[("structure", name)] = cmp
        st = cmp.to_frame().rename(columns={"statistic": "metric", "floor_high": "floor_q95"})
        st["item"] = st["matrix"]
        tables.append(tidy(st, population=name, component="structure", subgroup="overall"))
        main = cmp.main.statistics.set_index("statistic")
        for stat, label in (("rmse", "polychoric RMSE"),
                            ("pearson", "correlation of correlations")):
            row = main.loc[stat]
            summary_rows.append({"population": name, "metric": label, "value": row["value"],
                                 "floor": row["floor_median"], "n": len(cmp.main.gold)})
        jen = main.loc["jennrich"]
        why = jen.get("note") if pd.isna(jen["pvalue"]) else None
        summary_rows.append({"population": name, "metric": "Jennrich p-value",
                             "value": jen["pvalue"], "n": len(cmp.main.gold),
                             "note": why or (None if pd.notna(jen["pvalue"]) else
                                             "undefined: " + "; ".join(cmp.notes))})


def _factors(gold, surveys, n_factors, n_null, seed, say, tables, results, summary_rows):
    from popaudit.structure.factors import compare_factors

    ordinal = [it.name for it in gold.items if it.kind != "nominal"]
    g = gold.select(ordinal)
    for name, sim in surveys.items():
        say(f"factor recovery ({n_factors} factors): {name}")
        fc = compare_factors(g, sim.select(ordinal), n_factors, n_draws=n_null, seed=seed)
        results[("factors", name)] = fc
        fr = fc.to_frame()
        long = pd.DataFrame({"item": fr["factor"].astype(str), "metric": "congruence",
                             "value": fr["congruence"], "floor_median": fr["noise_floor"]})
        tables.append(tidy(long, population=name, component="factors", level="individual",
                           subgroup="overall"))
        overall = fr[fr["factor"].astype(str) == "overall"].iloc[0]
        summary_rows.append({"population": name, "metric": "factor congruence (overall)",
                             "value": overall["congruence"], "floor": overall["noise_floor"],
                             "n": n_factors})


def _cultural_map(gold, surveys, n_boot, seed, say, tables, results, summary_rows):
    say("Inglehart-Welzel map: fit on gold, project every population")
    cm = iw.cultural_map(gold, surveys or None, n_boot=n_boot, seed=seed)
    results[("cultural_map", "all")] = cm
    pos = cm.positions.table
    pos = pos[pos["subgroup"] == "all"]
    for dim in ("trad_agg", "surv_self_agg"):
        long = pd.DataFrame({"population": pos["population"], "metric": dim,
                             "value": pos[dim], "ci_low": pos[f"{dim}_low"],
                             "ci_high": pos[f"{dim}_high"], "n": pos["n_scored"]})
        tables.append(tidy(long, component="cultural_map", level="individual",
                           subgroup="overall"))
    cong = cm.structure.congruence
    long = pd.DataFrame({"population": cong["population"], "item": cong["dimension"],
                         "metric": "congruence_vs_gold", "value": cong["vs_gold"]})
    tables.append(tidy(long, component="cultural_map", level="individual", subgroup="overall"))
    long = long.assign(metric="congruence_vs_target", value=cong["vs_target"].to_numpy())
    tables.append(tidy(long, component="cultural_map", level="individual", subgroup="overall"))
    on = cm.structure.items.groupby("population", sort=False)["on_dimension"].mean()
    overall = cong[cong["dimension"] == "overall"].set_index("population")
    for name in surveys:
        summary_rows.append({"population": name, "metric": "IW map congruence vs gold",
                             "value": overall.loc[name, "vs_gold"], "n": len(iw.INDICATORS)})
        summary_rows.append({"population": name, "metric": "IW items on their dimension",
                             "value": on.loc[name], "n": len(iw.INDICATORS)})


def _fairness(subgroups, pops, n_boot, seed, say, tables, results, summary_rows):
    from popaudit.subgroups.definition import subgroup_fidelity
    from popaudit.subgroups.disparity import subgroup_disparity

    fids = {}
    for name, sim in pops.items():
        say(f"subgroup fidelity ({len(subgroups.table)} subgroups): {name}")
        fids[name] = subgroup_fidelity(subgroups, sim, name=name)
        results[("subgroup_fidelity", name)] = fids[name]
    say(f"disparity across subgroups ({n_boot} bootstrap draws)")
    disp = subgroup_disparity(fids, n_boot=n_boot, seed=seed)
    results[("disparity", "all")] = disp
    per = disp.per_subgroup
    tables.append(tidy(per.rename(columns={"n_respondents": "n"}), component="subgroup_fidelity"))
    tab = disp.table.rename(columns={"statistic": "stat"})
    tab = tab.assign(metric=tab["metric"] + "_" + tab["stat"], subgroup=tab["split"])
    tables.append(tidy(tab, component="disparity"))
    for name in pops:
        rows = tab[(tab["population"] == name) & (tab["split"] == "out_of_distribution")]
        for metric in ("accuracy_mean", "nmae_mean", "nmae_normalised_range", "nmae_cv"):
            hit = rows[rows["metric"] == metric]
            if len(hit):
                summary_rows.append({"population": name,
                                     "metric": "OOD " + metric.replace("_", " "),
                                     "value": float(hit["value"].iloc[0]),
                                     "n": int(hit["n_subgroups"].iloc[0])
                                     if "n_subgroups" in hit else pd.NA})
    names = list(pops)
    for other in names[1:]:
        cmp = disp.compare(names[0], other)
        results[("disparity_change", other)] = cmp
        ch = cmp.table.assign(metric=cmp.table["metric"] + "_" + cmp.table["statistic"]
                              + "_change", value=cmp.table["diff"], subgroup=cmp.table["split"])
        tables.append(tidy(ch, population=f"{other} vs {names[0]}", component="disparity"))
