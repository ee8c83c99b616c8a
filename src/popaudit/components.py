"""The audit components: one small object per question ``audit`` asks, all of one shape.

A component has a ``name`` (its value in the report's ``component`` column), says which
populations it can take (``accepts``), and turns ``(gold, populations, context)`` into the
result object of the public function it wraps (``run``). Its result then supplies its own
rows for the report (``rows``: the tidy layout of :data:`popaudit.report.COLUMNS`) and its
headline numbers (``headlines``: one dict per statistic, with the noise floor where one
exists). Components compute nothing themselves: each is a thin adapter over a public
function (``compare_marginals``, ``compare_correlations`` ...).

A component is either *per population* (``run`` receives one simulated population at a time,
so a failure costs only that cell) or *joint* (``joint = True``: one call for every
population, e.g. the cultural map fits gold once; :func:`popaudit.audit` retries a failed joint
run one population at a time to isolate the failure).

To add a component: subclass :class:`Component`, implement ``run``, ``rows`` and
``headlines``, and add an instance to :data:`COMPONENTS` (docs/api.md, "Component protocol").
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

import popaudit as pa
from popaudit._inference import DISTANCE, SIMILARITY, cached, floor_summary, seed_from_name
from popaudit.data.distributions import AnswerDistributions
from popaudit.data.survey import Survey

__all__ = ["COMPONENTS", "AuditContext", "Component", "headline"]


@dataclass(frozen=True)
class AuditContext:
    """Settings every component shares in one audit (from :func:`popaudit.audit`'s arguments)."""

    by: tuple[str, ...] = ()
    ties: str = "any"
    kl_smoothing: float = 1e-6
    n_boot: int = 200
    n_null: int = 200
    seed: int = 0
    confidence_level: float = 0.95
    n_factors: int | None = None
    subgroups: Any = None
    options: Mapping = field(default_factory=dict)
    cache: dict = field(default_factory=dict, repr=False, compare=False)


def headline(statistic: str, value, *, direction: str | None = None, floor_median=np.nan,
             floor_low=np.nan, floor_high=np.nan, n=pd.NA, note: str | None = None) -> dict:
    """One headline row: a statistic, its noise floor (if any) and the verdict it implies.

    ``verdict``: ``"beyond floor"`` when the value is worse than the floor's bound on its bad
    side (``floor_high`` for distances, ``floor_low`` for similarities), ``"within noise"``
    when not, ``"no floor"`` when the statistic has none, ``"undefined"`` when the value is
    not finite (``note`` says why).
    """
    value = float(value) if value is not None and not pd.isna(value) else np.nan
    if not np.isfinite(value):
        verdict = "undefined"
    elif direction == DISTANCE and np.isfinite(floor_high):
        verdict = "beyond floor" if value > floor_high else "within noise"
    elif direction == SIMILARITY and np.isfinite(floor_low):
        verdict = "beyond floor" if value < floor_low else "within noise"
    else:
        verdict = "no floor"
    return {"statistic": statistic, "value": value, "floor_median": floor_median,
            "floor_low": floor_low, "floor_high": floor_high, "verdict": verdict, "n": n,
            "note": note}


class Component:
    """Base class of the audit components (see the module docstring)."""

    name: ClassVar[str]
    accepts: ClassVar[tuple[type, ...]] = (Survey,)
    joint: ClassVar[bool] = False

    def run(self, gold: Survey, populations: dict, ctx: AuditContext):
        """The component's result for ``populations`` (one entry unless ``joint``)."""
        raise NotImplementedError

    def rows(self, result, population: str) -> pd.DataFrame:
        """Tidy rows of ``result`` (columns named as in :data:`popaudit.report.COLUMNS`)."""
        raise NotImplementedError

    def headlines(self, result, population: str) -> list[dict]:
        """Headline rows (:func:`headline`) of ``result`` for one population."""
        return []

    def parts(self, result, key: str) -> dict:
        """The result objects to keep in ``Report.results``, keyed ``(name, population)``."""
        return {(self.name, key): result}

    def describe(self, ctx: AuditContext) -> str:
        """A short progress message."""
        return self.name


def _only(populations: dict):
    (name, pop), = populations.items()
    return name, pop


#: Headline statistics of the marginal and modal components: label -> (component, metric,
#: item kind or None, direction).
_ITEM_HEADLINES = {
    "mean normalised W1 (ordinal items)": ("marginal", "w1_norm", "ordinal", DISTANCE),
    "mean Jensen-Shannon distance": ("marginal", "js_distance", "all", DISTANCE),
    "modal accuracy": ("modal", "accuracy", None, SIMILARITY),
    "modal distance error": ("modal", "distance_error", None, DISTANCE),
}


def _item_headlines(marginal=None, modal=None) -> dict[str, tuple[float, int]]:
    """``label -> (value, n)`` of the marginal and modal headline statistics."""
    out = {}
    for label, (comp, metric, kind, _) in _ITEM_HEADLINES.items():
        res = marginal if comp == "marginal" else modal
        if res is None:
            continue
        summ = res.summary
        rows = summ[(summ["metric"] == metric)
                    & ((summ["item_kind"] == kind) if kind is not None else True)]
        if len(rows):
            r = rows.iloc[0]
            out[label] = (float(r["mean"]), int(r["n_items"] if kind else r["n_used"]))
    return out


def _gold_floor(gold: Survey, n_sim: int, ctx: AuditContext) -> dict[str, np.ndarray]:
    """Noise floor of the marginal and modal headlines for a population of ``n_sim``.

    Each of ``ctx.n_null`` draws compares a bootstrap replicate of gold with an independent
    resample of ``n_sim`` gold respondents (weights kept), the "independent" floor of
    :func:`popaudit.compare_correlations`: what another real sample of that size would
    score; modal statistics over the audit's subgroups (``ctx.by``) as the headline is.
    Computed once per simulated size within an audit.
    """
    def compute() -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed_from_name(ctx.seed, f"item floor {n_sim}"))
        n = gold.n_respondents
        draws: dict[str, list] = {label: [] for label in _ITEM_HEADLINES}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tiny resampled cells warn; the floor is global
            for _ in range(ctx.n_null):
                a = gold.subset(rng.integers(0, n, n))
                b = gold.subset(rng.integers(0, n, int(n_sim)))
                modal = pa.compare_modes(a, b, by=list(ctx.by) or None, ties=ctx.ties,
                                         unmatched="drop" if ctx.by else "raise")
                got = _item_headlines(pa.compare_marginals(a, b, kl_smoothing=ctx.kl_smoothing),
                                      modal)
                for label, values in draws.items():
                    values.append(got.get(label, (np.nan, 0))[0])
        return {k: np.asarray(v, dtype=float) for k, v in draws.items()}

    return cached(ctx.cache, ("item_floor", int(n_sim)), compute)


def _floored_headlines(result_floor: dict | None, values: dict) -> list[dict]:
    out = []
    for label, (value, n) in values.items():
        direction = _ITEM_HEADLINES[label][3]
        fl = floor_summary(value, None if result_floor is None else result_floor[label],
                           direction, 0.95)
        out.append(headline(label, value, direction=direction, n=n,
                            floor_median=fl["floor_median"], floor_low=fl["floor_low"],
                            floor_high=fl["floor_high"]))
    return out


class Marginals(Component):
    """Per item (and subgroup): W1, Jensen–Shannon, TV, Hellinger, KL, mean and spread."""

    name = "marginal"
    accepts = (Survey, AnswerDistributions)

    def run(self, gold, populations, ctx):
        _, sim = _only(populations)
        overall = pa.compare_marginals(gold, sim, kl_smoothing=ctx.kl_smoothing)
        by = (pa.compare_marginals(gold, sim, by=list(ctx.by), kl_smoothing=ctx.kl_smoothing,
                                   unmatched="drop") if ctx.by else None)
        floor = (_gold_floor(gold, sim.n_respondents, ctx)
                 if isinstance(sim, Survey) and ctx.n_null > 0 else None)
        return {"overall": overall, "by": by, "floor": floor}

    def rows(self, result, population):
        parts = [result[k].to_frame() for k in ("overall", "by") if result[k] is not None]
        return pd.concat(parts, ignore_index=True).drop(columns=["population"], errors="ignore")

    def parts(self, result, key):
        out = {("marginal", key): result["overall"]}
        if result["by"] is not None:
            out[("marginal_by", key)] = result["by"]
        return out

    def headlines(self, result, population):
        return _floored_headlines(result["floor"], _item_headlines(marginal=result["overall"]))


class Modes(Component):
    """Per subgroup and item: modal accuracy (tie policy), distance-aware error."""

    name = "modal"
    accepts = (Survey, AnswerDistributions)

    def run(self, gold, populations, ctx):
        _, sim = _only(populations)
        modal = pa.compare_modes(gold, sim, by=list(ctx.by) or None, ties=ctx.ties,
                                 unmatched="drop" if ctx.by else "raise")
        floor = (_gold_floor(gold, sim.n_respondents, ctx)
                 if isinstance(sim, Survey) and ctx.n_null > 0 else None)
        return {"modal": modal, "floor": floor}

    def rows(self, result, population):
        return result["modal"].to_frame().drop(columns=["population"], errors="ignore")

    def parts(self, result, key):
        return {("modal", key): result["modal"]}

    def headlines(self, result, population):
        return _floored_headlines(result["floor"], _item_headlines(modal=result["modal"]))


class InvalidAnswers(Component):
    """Share of simulated answers that could not be parsed, per item."""

    name = "invalid"

    def run(self, gold, populations, ctx):
        _, sim = _only(populations)
        return sim

    def rows(self, result, population):
        rates = result.invalid_rate()
        return pd.DataFrame({"item": rates.index, "statistic": "invalid_rate",
                             "value": rates.to_numpy(), "subgroup": "overall"})

    def headlines(self, result, population):
        return [headline("invalid answer rate", float(result.invalid_mask.mean()),
                         n=result.n_respondents)]


class Structure(Component):
    """Polychoric correlation structure against gold's, with bootstrap CIs, floors and tests."""

    name = "structure"

    def describe(self, ctx):
        return (f"correlation structure (polychoric, {ctx.n_boot} bootstrap draws, "
                f"{ctx.n_null} gold resamples)")

    def run(self, gold, populations, ctx):
        _, sim = _only(populations)
        return pa.compare_correlations(gold, sim, n_boot=ctx.n_boot, n_null=ctx.n_null,
                                       seed=ctx.seed, confidence_level=ctx.confidence_level,
                                       cache=ctx.cache)  # gold's draws once per size

    def rows(self, result, population):
        st = result.to_frame()
        st["item"] = st.pop("matrix")
        return st.assign(subgroup="overall")

    def headlines(self, result, population):
        main = result.main.statistics.set_index("statistic")
        p = len(result.main.gold)
        out = []
        for stat, label in (("rmse", "polychoric RMSE"),
                            ("pearson", "correlation of correlations")):
            row = main.loc[stat]
            out.append(headline(label, row["value"], direction=row["direction"],
                                floor_median=row["floor_median"], floor_low=row["floor_low"],
                                floor_high=row["floor_high"], n=p))
        jen = main.loc["jennrich"]
        note = None
        if pd.isna(jen["pvalue"]):
            note = jen.get("note") or ("undefined: " + "; ".join(result.notes))
        out.append(headline("Jennrich p-value", jen["pvalue"], n=p, note=note))
        return out


class Factors(Component):
    """Exploratory factors of gold and simulated, Procrustes-aligned, Tucker congruence."""

    name = "factors"

    def describe(self, ctx):
        return f"factor recovery ({ctx.n_factors} factors)"

    def run(self, gold, populations, ctx):
        _, sim = _only(populations)
        ordinal = [it.name for it in gold.items if it.kind != "nominal"]
        return pa.compare_factors(gold.select(ordinal), sim.select(ordinal), ctx.n_factors,
                                     n_null=ctx.n_null, seed=ctx.seed)

    def rows(self, result, population):
        fr = result.to_frame()
        med = (result.noise_floor.to_frame().set_index("factor")["median"]
               if result.noise_floor is not None else None)
        return pd.DataFrame({
            "item": fr["factor"].astype(str), "statistic": "congruence",
            "value": fr["congruence"], "floor_low": fr["noise_floor"],
            "floor_median": (med.loc[fr["factor"]].to_numpy() if med is not None else np.nan),
            "beyond_floor": fr["below_noise_floor"], "level": "individual",
            "subgroup": "overall"})

    def headlines(self, result, population):
        rows = self.rows(result, population).set_index("item")
        o = rows.loc["overall"]
        return [headline("factor congruence (overall)", o["value"], direction=SIMILARITY,
                         floor_low=o["floor_low"], floor_median=o["floor_median"],
                         n=result.gold.loadings.shape[1])]


class Networks(Component):
    """EBICglasso networks of gold and simulated, the Network Comparison Test, noise floors."""

    name = "networks"

    def describe(self, ctx):
        return (f"psychometric networks (EBICglasso; NCT with {ctx.n_null} permutations, "
                f"{ctx.n_null} gold resamples)")

    def run(self, gold, populations, ctx):
        _, sim = _only(populations)
        items = network_items(gold)
        return pa.compare_networks(gold.select(items), sim.select(items), n_perm=ctx.n_null,
                                   n_null=ctx.n_null, seed=ctx.seed,
                                   cache=ctx.cache)  # gold's floor networks once per size

    def rows(self, result, population):
        st = result.to_frame()
        return st.assign(item="network", level="individual", subgroup="overall")

    def parts(self, result, key):
        return {("networks", key): result}

    def headlines(self, result, population):
        out = []
        for stat, label in (("max_edge_difference", "network max edge difference"),):
            r = result.statistic(stat)
            h = headline(label, r["value"], direction=r["direction"],
                         floor_median=r["floor_median"], floor_low=r["floor_low"],
                         floor_high=r["floor_high"], n=len(result.gold.item_names))
            out.append(h)
        out.append(headline("NCT p-value (network structure)", result.pvalue,
                            n=len(result.gold.item_names)))
        return out


def network_items(gold: Survey) -> list[str]:
    """The items a network is estimated on: the ordinal and binary ones."""
    return [it.name for it in gold.items if it.kind != "nominal"]


class CulturalMap(Component):
    """Gold's Inglehart–Welzel map; every population projected onto it; structure check."""

    name = "cultural_map"
    joint = True

    def describe(self, ctx):
        return "Inglehart-Welzel map: fit on gold, project every population"

    def run(self, gold, populations, ctx):
        return pa.cultural_map(gold, populations or None, n_boot=ctx.n_boot, seed=ctx.seed)

    def rows(self, result, population):
        pos = result.positions.table
        pos = pos[pos["subgroup"] == "all"]
        parts = [pd.DataFrame({"population": pos["population"], "statistic": dim,
                               "value": pos[dim], "ci_low": pos[f"{dim}_low"],
                               "ci_high": pos[f"{dim}_high"], "n": pos["n_scored"]})
                 for dim in ("trad_agg", "surv_self_agg")]
        cong = result.structure.congruence
        for col in ("vs_gold", "vs_target"):
            parts.append(pd.DataFrame({"population": cong["population"],
                                       "item": cong["dimension"],
                                       "statistic": f"congruence_{col}", "value": cong[col]}))
        return pd.concat(parts, ignore_index=True).assign(level="individual", subgroup="overall")

    def headlines(self, result, population):
        cong = result.structure.congruence
        overall = cong[cong["dimension"] == "overall"].set_index("population")
        items = result.structure.items
        on = items[items["population"] == population]["on_dimension"].mean()
        k = len(pa.maps.inglehart_welzel.INDICATORS)
        return [headline("IW map congruence vs gold", overall.loc[population, "vs_gold"],
                         direction=SIMILARITY, n=k),
                headline("IW items on their dimension", on, n=k)]


class Subgroups(Component):
    """Study A: per-subgroup accuracy and NMAE, their disparity, and its change."""

    name = "disparity"
    accepts = (Survey, AnswerDistributions)
    joint = True

    def describe(self, ctx):
        return (f"subgroup fidelity ({len(ctx.subgroups.table)} subgroups) and disparity "
                f"({ctx.n_boot} bootstrap draws)")

    def run(self, gold, populations, ctx):
        fids = {name: pa.subgroup_fidelity(ctx.subgroups, sim, name=name)
                for name, sim in populations.items()}
        disp = pa.subgroup_disparity(fids, n_boot=ctx.n_boot, seed=ctx.seed)
        names = list(populations)
        changes = {other: disp.compare(names[0], other) for other in names[1:]}
        return {"fidelity": fids, "disparity": disp, "change": changes}

    def rows(self, result, population):
        disp = result["disparity"]
        # basic intervals are centred on the bias-corrected estimate, which sits beside each
        # value (a value may lie outside its own interval; its estimate does not)
        per = disp.per_subgroup.rename(columns={"n_respondents": "n", "metric": "statistic",
                                                "bias_corrected": "estimate"})
        per = per.assign(component="subgroup_fidelity")
        tab = disp.table.rename(columns={"statistic": "stat", "bias_corrected": "estimate"})
        tab = tab.assign(statistic=tab["metric"] + "_" + tab["stat"], subgroup=tab["split"])
        parts = [per, tab.drop(columns=["metric"])]
        first = disp.populations[0]
        for other, cmp in result["change"].items():
            t = cmp.table
            parts.append(t.assign(statistic=t["metric"] + "_" + t["statistic"] + "_change",
                                  value=t["diff"], estimate=t["diff"] - t["bias"],
                                  subgroup=t["split"],
                                  population=f"{other} vs {first}").drop(columns=["metric"]))
        return pd.concat(parts, ignore_index=True)

    def parts(self, result, key):
        out = {("subgroup_fidelity", name): fid for name, fid in result["fidelity"].items()}
        out[("disparity", key)] = result["disparity"]
        out.update({("disparity_change", other): c for other, c in result["change"].items()})
        return out

    def headlines(self, result, population):
        tab = result["disparity"].table
        rows = tab[(tab["population"] == population) & (tab["split"] == "out_of_distribution")]
        out = []
        for metric, stat in (("accuracy", "mean"), ("nmae", "mean"),
                             ("nmae", "normalised_range"), ("nmae", "cv")):
            hit = rows[(rows["metric"] == metric) & (rows["statistic"] == stat)]
            if len(hit):
                n = int(hit["n_subgroups"].iloc[0]) if "n_subgroups" in hit else pd.NA
                out.append(headline(f"OOD {metric} {stat.replace('_', ' ')}",
                                    hit["value"].iloc[0], n=n))
        return out


#: Every component, in the order ``audit`` runs them.
COMPONENTS: dict[str, Component] = {c.name: c for c in (
    Marginals(), Modes(), InvalidAnswers(), Structure(), Networks(), Factors(), Subgroups(),
    CulturalMap())}

