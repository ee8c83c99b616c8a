"""``audit``: run the components on gold and each simulated population, return a Report.

A loop over :data:`popaudit.components.COMPONENTS`; it computes no statistic of its own. A
component that cannot run for one population (a constant item, a non-positive-definite
matrix, a fully mode-collapsed population) costs only that cell: the cell gets a row with the
reason in ``note``, the report's ``notes`` say so, and every other result is kept.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import pandas as pd

from popaudit._inference import progress_bar, progress_default, resolve_seed, warn
from popaudit.components import COMPONENTS, AuditContext, Component, headline, network_items
from popaudit.data.distributions import AnswerDistributions
from popaudit.data.survey import Survey, as_populations, check_compatible
from popaudit.maps.inglehart_welzel import SOURCE_ITEMS
from popaudit.report import SUMMARY_COLUMNS, Report, tidy

__all__ = ["audit"]


def _selected(structure, networks, factors, cultural_map, subgroups, gold,
              components) -> list[Component]:
    if components is not None:
        unknown = [c for c in components if c not in COMPONENTS]
        if unknown:
            raise ValueError(f"unknown component(s) {unknown}; choose from {list(COMPONENTS)}")
        return [COMPONENTS[c] for c in COMPONENTS if c in components]
    if cultural_map is None:
        cultural_map = set(SOURCE_ITEMS) <= set(gold.item_names)
    if networks is None:
        networks = bool(structure) and 3 <= len(network_items(gold)) <= 60
    on = {"marginal": True, "modal": True, "invalid": True, "structure": bool(structure),
          "networks": bool(networks),
          "factors": bool(factors), "disparity": subgroups is not None,
          "cultural_map": bool(cultural_map)}
    return [c for name, c in COMPONENTS.items() if on.get(name, False)]


def _say_fn(progress) -> Callable[[str], None]:
    if callable(progress):
        return progress
    return lambda msg: None


def audit(gold: Survey, simulated, *, by: str | Sequence[str] | None = None,
          ties: str = "any", kl_smoothing: float = 1e-6, structure: bool = True,
          networks: bool | None = None, factors: int | None = None, cultural_map: bool | None = None,
          subgroups=None, components: Sequence[str] | None = None, n_boot: int = 200,
          n_null: int = 200, seed=None, confidence_level: float = 0.95,
          progress: bool | Callable[[str], None] | None = None) -> Report:
    """Audit one or more simulated populations against gold.

    Parameters
    ----------
    gold : Survey
        The real (reference) population.
    simulated : Survey, AnswerDistributions, or dict of name -> either
        Simulated populations. Respondent-level surveys get every component;
        subgroup-level answer distributions get the marginal, modal and subgroup ones.
    by : str or sequence of str, optional
        Demographic columns whose crossing defines the subgroups for the
        subgroup-level marginal and modal metrics.
    ties : {"any", "fractional", "strict"}
        Tie policy of modal accuracy (see :func:`popaudit.compare_modes`).
    kl_smoothing : float
        Additive smoothing of the KL divergence.
    structure : bool
        Compare polychoric correlation structures (individual level, with
        bootstrap CIs and gold-resample noise floors; see
        :func:`popaudit.compare_correlations`) for respondent-level populations.
    networks : bool, optional
        EBICglasso networks of gold and each respondent-level population over the ordinal
        and binary items, the Network Comparison Test (``n_null`` permutations) and noise
        floors (see :func:`popaudit.compare_networks`). Default: on with ``structure`` when
        there are 3 to 60 such items.
    factors : int, optional
        Number of factors for the exploratory factor comparison (Procrustes
        alignment, Tucker congruence with its noise floor; see
        :func:`popaudit.compare_factors`) over the ordinal items; None skips it.
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
    components : sequence of str, optional
        Run exactly these components (names of :data:`popaudit.components.COMPONENTS`)
        instead of choosing them from the flags above.
    n_boot, n_null : int
        Bootstrap draws for CIs and gold resamples for noise floors.
    seed : int, numpy.random.Generator or None
        Seed of every resampling step; the integer used is in ``report.settings["seed"]``.
    confidence_level : float
        Level of the bootstrap intervals.
    progress : bool, callable or None
        Progress bars over the components and inside the resampling loops (bootstrap
        draws, noise floors, permutations): ``None`` (default) shows them only when stderr
        is a terminal, ``True`` always, ``False`` never. A callable is also called with a
        short message as each step starts (the CLI prints them).

    Returns
    -------
    Report
        ``report.table`` is the tidy long table of every number; ``report.summary`` the
        headline numbers with their floors and verdicts; ``report.results`` holds the
        component result objects keyed by ``(component, population)`` (``"all"`` for the
        joint ones); ``report.notes`` says what could not be computed and why.

    Examples
    --------
    >>> import popaudit as pa
    >>> gold = pa.datasets.wvs_like(n=600, seed=0)
    >>> sim = pa.datasets.shuffled(gold, seed=1)
    >>> rep = pa.audit(gold, {"shuffled": sim}, by=["Q260"], structure=False,
    ...                cultural_map=False, n_null=20, seed=0)
    >>> float(rep.summary.query("statistic == 'modal accuracy'")["value"].iloc[0])
    1.0
    """
    if not isinstance(gold, Survey):
        raise TypeError("gold must be a respondent-level Survey")
    pops = as_populations(simulated, kinds=(Survey, AnswerDistributions))
    for name, sim in pops.items():
        if isinstance(sim, Survey):
            check_compatible(gold, sim, what=("gold", name))
    say = _say_fn(progress)
    bars = progress if isinstance(progress, bool) else None  # a callable: bars on a terminal
    seed_value = resolve_seed(seed)[1]
    ctx = AuditContext(by=tuple([by] if isinstance(by, str) else (by or ())), ties=ties,
                       kl_smoothing=kl_smoothing, n_boot=int(n_boot), n_null=int(n_null),
                       seed=seed_value, confidence_level=confidence_level,
                       n_factors=int(factors) if factors else None, subgroups=subgroups)
    chosen = _selected(structure, networks, factors, cultural_map, subgroups, gold, components)

    tables: list[pd.DataFrame] = []
    results: dict = {}
    summary_rows: list[dict] = []
    notes: list[str] = []
    caught: list[warnings.WarningMessage] = []

    def record(comp: Component, key: str, result, names) -> None:
        results.update(comp.parts(result, key))
        rows = comp.rows(result, key)
        rows["component"] = rows["component"].fillna(comp.name) if "component" in rows \
            else comp.name
        if "population" not in rows:
            rows["population"] = key
        tables.append(tidy(rows))
        for name in names:
            summary_rows.extend({"population": name, "component": comp.name, **h}
                                for h in comp.headlines(result, name))

    def failed(comp: Component, name: str, err: Exception) -> None:
        reason = f"{type(err).__name__}: {err}"
        notes.append(f"{comp.name} could not be computed for {name!r}: {reason}")
        tables.append(tidy(pd.DataFrame({"statistic": ["not computed"], "note": [reason]}),
                           population=name, component=comp.name))
        summary_rows.append({"population": name, "component": comp.name,
                             **headline(comp.name, None, note=f"not computed: {reason}")})

    def attempt(comp: Component, name: str, group: dict, key: str | None = None) -> bool:
        """Run one cell; on failure record why (for a single population) and go on."""
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            try:
                with progress_default(bars):  # the components' own bars follow `progress`
                    result = comp.run(gold, group, ctx)
            except Exception as err:  # noqa: BLE001 - isolate the cell, report the reason
                if len(group) == 1:
                    failed(comp, name, err)
                return False
            finally:
                caught.extend(got)
        record(comp, key or name, result, list(group))
        return True

    bar = progress_bar(total=len(chosen), desc="audit", unit="component", progress=bars)
    for comp in chosen:
        bar.set_postfix_str(comp.name, refresh=False)
        bar.update(1)
        eligible = {n: p for n, p in pops.items() if isinstance(p, comp.accepts)}
        if not eligible:
            continue
        say(f"{comp.describe(ctx)}: {', '.join(eligible)}")
        if comp.joint and len(eligible) > 1:
            if not attempt(comp, "all", eligible):
                for name, sim in eligible.items():  # isolate the population that fails
                    attempt(comp, name, {name: sim})
        elif comp.joint:
            (name, sim), = eligible.items()
            attempt(comp, name, eligible, key="all")
        else:
            for name, sim in eligible.items():
                attempt(comp, name, {name: sim})
    bar.close()

    seen = set()
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        if text not in seen and not issubclass(w.category, DeprecationWarning):
            seen.add(text)
            notes.append(f"warning: {w.message}")
    if seen:
        warn(f"{len(seen)} warning(s) during the audit; they are in report.notes")
    failures = [n for n in notes if not n.startswith("warning: ")]
    if failures:
        warn("; ".join(failures))

    table = pd.concat(tables, ignore_index=True)
    summary = pd.DataFrame(summary_rows, columns=SUMMARY_COLUMNS)
    settings = {"by": list(ctx.by), "ties": ties, "kl_smoothing": kl_smoothing,
                "seed": seed_value, "components": [c.name for c in chosen],
                "factors": ctx.n_factors, "n_boot": ctx.n_boot, "n_null": ctx.n_null,
                "confidence_level": confidence_level, "gold": gold.name or "gold",
                "n_gold": gold.n_respondents, "populations": list(pops)}
    return Report(table=table, results=results, summary=summary, settings=settings,
                  notes=tuple(notes))
