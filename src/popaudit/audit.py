"""``audit``: run every component on gold and each simulated population, return a Report.

This module composes the components' public functions; it computes no
statistic of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from popaudit.distributions import AnswerDistributions
from popaudit.marginal import compare_marginals
from popaudit.modal import compare_modes
from popaudit.report import Report, tidy
from popaudit.survey import Survey, check_compatible

__all__ = ["audit"]

_HEADLINE = {
    ("marginal", "w1_norm"): "mean normalised W1 (ordinal items)",
    ("marginal", "js_distance"): "mean Jensen-Shannon distance",
    ("modal", "accuracy"): "modal accuracy",
    ("modal", "distance_error"): "modal distance error",
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
          ties: str = "any", kl_smoothing: float = 1e-6, seed: int = 0,
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
        Tie policy of modal accuracy (see :func:`popaudit.modal.compare_modes`).
    kl_smoothing : float
        Additive smoothing of the KL divergence.
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
            key = ("marginal", row["metric"])
            if key in _HEADLINE and row["item_kind"] in ("ordinal", "all"):
                if key == ("marginal", "js_distance") and row["item_kind"] != "all":
                    continue
                summary_rows.append({"population": name, "metric": _HEADLINE[key],
                                     "value": row["mean"], "n": row["n_items"]})
        for _, row in modal.summary.iterrows():
            key = ("modal", row["metric"])
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

    table = pd.concat(tables, ignore_index=True)
    summary = pd.DataFrame(summary_rows, columns=["population", "metric", "value", "n"])
    settings = {"by": by_list, "ties": ties, "kl_smoothing": kl_smoothing, "seed": seed,
                "gold": gold.name or "gold", "n_gold": gold.n_respondents,
                "populations": list(pops)}
    return Report(table=table, results=results, summary=summary, settings=settings)
