"""The :class:`Report` returned by :func:`popaudit.audit`: one tidy table, a scorecard, exports.

The report holds no statistics of its own; it stores what the components
computed, in one long table with the columns of :data:`COLUMNS`, the headline
numbers with their noise floors and verdicts (``summary``), the component
result objects (for plots and further analysis) and the notes.

What a reader gets:

* :meth:`Report.scorecard`: one row per simulated population, one column per
  component, each cell the component's headline statistic with its noise floor
  and verdict (*beyond floor*, *within noise*, *no floor*, *undefined* with the
  reason);
* :meth:`Report.to_html`: a self-contained page (figures embedded) that opens
  with the scorecard and then has one section per component: how to read it,
  its figures, a short table. The full table is not in the page: it goes to
  :meth:`Report.to_csv` / :meth:`Report.to_parquet`;
* :meth:`Report.to_json`: settings, scorecard, summary and notes (the table only
  when asked).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["COLUMNS", "SCORECARD_COLUMNS", "SECTIONS", "SUMMARY_COLUMNS", "Report", "tidy"]

#: Columns of :attr:`Report.table`, in order (the tidy layout of docs/api.md). ``value`` is
#: the observed statistic, ``estimate`` its bias-corrected estimate where the interval comes
#: from a bias-correcting bootstrap (a value may then lie outside its own interval, its
#: estimate never does); ``floor_low`` / ``floor_high`` bound the noise floor on the side
#: that counts (similarities / distances).
COLUMNS = ["population", "component", "level", "subgroup", "item", "statistic", "value",
           "estimate", "ci_low", "ci_high", "floor_median", "floor_low", "floor_high",
           "beyond_floor", "p_value", "n", "note"]

#: Columns of :attr:`Report.summary`: one headline row per population and statistic.
SUMMARY_COLUMNS = ["population", "component", "statistic", "value", "floor_median",
                   "floor_low", "floor_high", "verdict", "n", "note"]

# what components call their columns -> the tidy name
_ALIASES = {"metric": "statistic", "pvalue": "p_value", "n_respondents": "n"}


def _fmt4(x) -> str:
    return f"{x:.4f}"


def _fmt3(x) -> str:
    return f"{x:.3f}"


def tidy(df: pd.DataFrame, **constants: Any) -> pd.DataFrame:
    """Conform a component's long table to :data:`COLUMNS` (absent columns are NA)."""
    out = df.rename(columns={k: v for k, v in _ALIASES.items()
                             if k in df.columns and v not in df.columns})
    for key, val in constants.items():
        out[key] = val
    for col in COLUMNS:
        if col not in out.columns:
            out[col] = pd.NA
    return out[COLUMNS]


#: Columns of :meth:`Report.scorecard`: one row per simulated population and component.
SCORECARD_COLUMNS = ["population", "component", "statistic", "value", "floor_median",
                     "floor_low", "floor_high", "verdict", "note"]


@dataclass(frozen=True)
class Section:
    """How the report presents one component: title, how to read it, scorecard statistic."""

    title: str
    read: str
    headline: tuple[str, ...] = ()  # scorecard statistic: the first of these that exists


#: The report's sections, in order (the scorecard's columns follow it). A component not
#: listed here still gets a column and a section, titled by its name.
SECTIONS: dict[str, Section] = {
    "marginal": Section(
        "Marginals",
        "How far each item's answer distribution is from gold's, averaged over items: "
        "Jensen-Shannon distance (0 = identical, 1 = no overlap) and the Wasserstein-1 "
        "distance on the ordinal scale, normalised by the scale's length. Lower is closer.",
        ("mean Jensen-Shannon distance", "mean normalised W1 (ordinal items)")),
    "modal": Section(
        "Modes",
        "Whether each subgroup's most common answer is gold's (modal accuracy: 1 = every "
        "mode right) and, where it is not, how far off it lies on the scale (distance "
        "error). Ties follow the audit's tie policy.",
        ("modal accuracy", "modal distance error")),
    "disparity": Section(
        "Subgroup disparity",
        "Study A's subgroups: modal accuracy and NMAE per subgroup, and how unevenly they "
        "spread across subgroups out of distribution (normalised range, coefficient of "
        "variation), with bootstrap intervals. A population can improve the mean while "
        "widening the gap between subgroups.",
        ("OOD nmae normalised range", "OOD nmae mean", "OOD accuracy mean")),
    "structure": Section(
        "Structure",
        "How answers hang together: the polychoric correlations of the simulated population "
        "against gold's. RMSE of the differences (lower is closer) and the correlation of "
        "correlations (higher is closer), each read against gold's noise floor: the same "
        "statistic between gold and resamples of gold of the simulated size.",
        ("polychoric RMSE", "correlation of correlations")),
    "factors": Section(
        "Factors",
        "Exploratory factors of simulated and gold answers, aligned by Procrustes rotation; "
        "Tucker's congruence (1 = identical loadings; .95 or more equal, below .85 "
        "different) against the congruence of gold with its own resamples.",
        ("factor congruence (overall)",)),
    "cultural_map": Section(
        "Cultural map",
        "Every population placed on gold's Inglehart-Welzel map (gold's solution; nothing "
        "re-estimated), and its own two-factor structure compared with gold's (congruence "
        "vs gold) and with the theory (share of the ten items on their dimension).",
        ("IW map congruence vs gold", "IW items on their dimension")),
    "networks": Section(
        "Networks",
        "Partial-correlation networks of the items (EBICglasso, qgraph's defaults), simulated "
        "against gold, drawn with gold's layout. The Network Comparison Test's largest edge "
        "difference (lower is closer) is read against gold's noise floor: the same statistic "
        "between gold and resamples of gold of the simulated size.",
        ("network max edge difference",)),
    "invalid": Section(
        "Invalid answers",
        "Share of simulated answers that could not be read as a valid code; they are left "
        "out of every other number.",
        ("invalid answer rate",)),
}

#: Figure name (or name prefix) -> the component whose section shows it.
FIGURE_SECTIONS = {"marginals": "marginal", "marginal_distance": "marginal",
                   "modal_": "modal", "subgroup_": "disparity", "polychoric_": "structure",
                   "noise_floor": "structure", "factor_loadings": "factors",
                   "cultural_map": "cultural_map", "iw_loadings": "cultural_map",
                   "networks": "networks"}

_VERDICT_TEXT = {"beyond floor": "beyond floor", "within noise": "within noise",
                 "no floor": "no noise floor", "undefined": "undefined"}


def _section_of_figure(name: str) -> str | None:
    for key, comp in FIGURE_SECTIONS.items():
        if name == key or (key.endswith("_") and name.startswith(key)):
            return comp
    return None


def _finite(x) -> bool:
    try:
        return x is not None and x is not pd.NA and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _num(x) -> str:
    if not _finite(x):
        return "–"
    x = float(x)
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e4):
        return f"{x:.3g}"
    return f"{x:.3f}"


def _floor_text(row) -> str:
    lo, hi = row.get("floor_low"), row.get("floor_high")
    if _finite(lo) and _finite(hi):
        return f"noise {_num(lo)} to {_num(hi)}"
    if _finite(hi):
        return f"noise ≤ {_num(hi)}"
    if _finite(lo):
        return f"noise ≥ {_num(lo)}"
    return ""


def _text(x) -> str:
    return "" if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)) else str(x)


def _png(fig_or_file, base: Path | None) -> bytes:
    """PNG bytes of a matplotlib Figure (or Axes), a PNG file path, or PNG bytes."""
    if isinstance(fig_or_file, bytes | bytearray):
        return bytes(fig_or_file)
    if isinstance(fig_or_file, str | Path):
        path = Path(fig_or_file)
        if not path.is_absolute() and base is not None and not path.exists():
            path = base / path
        return path.read_bytes()
    fig = getattr(fig_or_file, "figure", fig_or_file)  # an Axes gives its Figure
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return buf.getvalue()


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1180px;
margin:1.5em auto;padding:0 1em;color:#222;line-height:1.4}
h1{margin-bottom:.1em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.meta{color:#666;font-size:13px;margin-top:0}
.lead{font-size:15px;background:#f6f6f6;border-left:4px solid #888;padding:.6em .9em}
table{border-collapse:collapse;font-size:13px;margin:.6em 0}
td,th{border:1px solid #ddd;padding:4px 8px;vertical-align:top}
th{background:#fafafa;text-align:left}
table.scorecard td{min-width:7.5em}
table.scorecard th small,table.scorecard td small{display:block;color:#666;font-weight:normal}
.v{font-size:15px;font-variant-numeric:tabular-nums}
.verdict{display:inline-block;border-radius:3px;padding:0 5px;font-size:12px;margin-top:2px}
.beyond-floor{background:#f8d3d0;color:#8a1f11}.within-noise{background:#d7efd9;color:#1d5e24}
.no-floor{background:#ececec;color:#555}.undefined{background:#fbe8c4;color:#7a4b00}
.read{color:#444;max-width:60em}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:12px;color:#666}
nav a{margin-right:1em;font-size:13px}
.notes li{margin-bottom:.3em;font-size:13px}
details{margin:.5em 0}pre{font-size:12px;background:#f6f6f6;padding:.6em;overflow:auto}
"""


@dataclass(frozen=True)
class Report:
    """Everything :func:`popaudit.audit` computed.

    Attributes
    ----------
    table : DataFrame
        Tidy long table (:data:`COLUMNS`), one row per (population, component, level,
        subgroup, item, statistic), with value, bias-corrected estimate, confidence
        interval, noise floor, p-value, n and note where they exist (NA otherwise).
    results : dict
        Component result objects keyed by ``(component, population)``.
    summary : DataFrame
        Headline numbers (:data:`SUMMARY_COLUMNS`), one row per population and statistic,
        each with its noise floor where one exists and a verdict.
    settings : dict
        Arguments the audit ran with (the integer seed, subgroups, resampling counts).
    notes : tuple of str
        What the reader must know: components that could not run for a population (and
        why), and the warnings raised during the audit.
    """

    table: pd.DataFrame
    results: dict = field(default_factory=dict)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    settings: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def populations(self) -> list[str]:
        """The simulated populations audited (table rows may also name gold or contrasts)."""
        if "populations" in self.settings:
            return list(self.settings["populations"])
        return list(dict.fromkeys(self.table["population"].dropna()))

    # ------------------------------------------------------------------ scorecard
    def _components(self) -> list[str]:
        present = list(dict.fromkeys(self.summary["component"].dropna())) \
            if "component" in self.summary else []
        return [c for c in SECTIONS if c in present] + [c for c in present if c not in SECTIONS]

    def _headline_statistic(self, component: str) -> str | None:
        rows = self.summary[self.summary["component"] == component]
        if rows.empty:
            return None
        have = list(dict.fromkeys(rows["statistic"]))
        sec = SECTIONS.get(component)
        for stat in (sec.headline if sec else ()):
            if stat in have:
                return stat
        with_floor = rows[rows["verdict"].isin(["beyond floor", "within noise"])]
        return str(with_floor["statistic"].iloc[0] if len(with_floor) else have[0])

    def scorecard(self) -> pd.DataFrame:
        """One row per simulated population and component: its headline statistic.

        Returns
        -------
        DataFrame
            Columns :data:`SCORECARD_COLUMNS`. The statistic of a component is the first of
            :data:`SECTIONS` ``[component].headline`` that the audit produced; a component
            that could not run for a population shows its ``not computed`` row (verdict
            ``undefined``, the reason in ``note``).

        Examples
        --------
        >>> import popaudit as pa
        >>> gold = pa.datasets.wvs_like(n=400, seed=0)
        >>> rep = pa.audit(gold, {"shuffled": pa.datasets.shuffled(gold, seed=1)},
        ...                structure=False, cultural_map=False, seed=0)
        >>> card = rep.scorecard()
        >>> list(card["component"]), list(card["verdict"])
        (['marginal', 'modal', 'invalid'], ['within noise', 'within noise', 'no floor'])
        """
        out = []
        if self.summary.empty:
            return pd.DataFrame(columns=SCORECARD_COLUMNS)
        for comp in self._components():
            stat = self._headline_statistic(comp)
            rows = self.summary[self.summary["component"] == comp]
            for pop in self.populations:
                mine = rows[rows["population"] == pop]
                hit = mine[mine["statistic"] == stat]
                if hit.empty:
                    hit = mine[mine["verdict"] == "undefined"]
                if hit.empty:
                    continue
                r = hit.iloc[0]
                out.append({c: r.get(c, pd.NA) for c in SCORECARD_COLUMNS})
        return pd.DataFrame(out, columns=SCORECARD_COLUMNS)

    def overview(self) -> str:
        """The scorecard in words: which populations are beyond gold's noise floor where.

        Also says plainly which components have no noise floor, so that their numbers are
        read as descriptions, not verdicts.
        """
        card = self.scorecard()
        if card.empty:
            return "No headline numbers."
        lines = []
        beyond = {p: list(g["component"]) for p, g in
                  card[card["verdict"] == "beyond floor"].groupby("population", sort=False)}
        floored = card[card["verdict"].isin(["beyond floor", "within noise"])]
        pops = self.populations
        if len(floored):
            if beyond:
                parts = [f"{p} ({', '.join(_title(c) for c in comps)})"
                         for p, comps in beyond.items()]
                lines.append(f"{len(beyond)} of {len(pops)} simulated populations differ from "
                             "gold by more than sampling noise explains: " + "; ".join(parts)
                             + ".")
            within = [p for p in pops if p not in beyond and p in set(floored["population"])]
            if within:
                lines.append("Within gold's noise wherever a floor exists: "
                             + ", ".join(within) + ".")
        no_floor = [c for c in dict.fromkeys(card["component"])
                    if not card[card["component"] == c]["verdict"].isin(
                        ["beyond floor", "within noise"]).any()]
        if no_floor:
            lines.append("No noise floor for " + ", ".join(_title(c) for c in no_floor)
                         + ": their numbers describe, they do not decide.")
        undefined = card[card["verdict"] == "undefined"]
        for r in undefined.itertuples():
            lines.append(f"{r.population}, {_title(r.component)}: undefined"
                         + (f" ({r.note})" if _text(r.note) else "") + ".")
        return " ".join(lines)

    # ------------------------------------------------------------------ figures
    def figures(self, gold=None, simulated: Mapping | None = None) -> dict:
        """Draw the report's figures from the result objects.

        Parameters
        ----------
        gold, simulated : Survey and mapping of name -> Survey, optional
            Needed only for the answer-distribution panels (``marginals``), which draw
            the populations' answers themselves; every other figure comes from
            :attr:`results`.

        Returns
        -------
        dict of str -> matplotlib.figure.Figure
            Keyed by file-friendly names (``marginals``, ``marginal_distance``,
            ``modal_accuracy_by_subgroup``, ``subgroup_accuracy``, ``subgroup_nmae``,
            ``polychoric_<population>``, ``noise_floor_rmse``, ``factor_loadings``,
            ``cultural_map``, ``iw_loadings``), each drawn only when its results exist.
        """
        from popaudit import plots

        figs: dict = {}
        res = self.results
        pops = self.populations
        if gold is not None and simulated:
            from popaudit.data.distributions import answer_distributions
            from popaudit.data.survey import Survey

            surveys = {n: s for n, s in simulated.items() if isinstance(s, Survey)}
            figs["marginals"] = plots.plot_marginals(
                answer_distributions(gold),
                {n: answer_distributions(s) for n, s in surveys.items()})
        marg = {n: res[("marginal", n)] for n in pops if ("marginal", n) in res}
        if marg:
            figs["marginal_distance"] = plots.plot_marginal_distance(
                marg, "js_distance").figure
        per_sub = {n: res[("modal", n)].per_subgroup for n in pops if ("modal", n) in res}
        if per_sub and any(df["subgroup"].nunique() > 1 for df in per_sub.values()):
            by = " x ".join(self.settings.get("by", [])) or "subgroup"
            ax = plots.plot_subgroup_metric(per_sub, "accuracy")
            ax.figure.suptitle(f"Modal accuracy by subgroup ({by})", fontsize=10)
            figs["modal_accuracy_by_subgroup"] = ax.figure
        disp = res.get(("disparity", "all"))
        if disp is not None:
            per = disp.per_subgroup
            names = list(dict.fromkeys(per["population"]))[:2]
            two = {n: per[per["population"] == n] for n in names}
            for metric in ("accuracy", "nmae"):
                if not (per["metric"] == metric).any():
                    continue
                ax = plots.plot_subgroup_metric(two, metric, value="value",
                                                ci=("ci_low", "ci_high"))
                ax.figure.suptitle(f"Study A subgroups: {metric} with bootstrap intervals",
                                   fontsize=10)
                figs[f"subgroup_{metric}"] = ax.figure
        structural = {n: res[("structure", n)] for n in pops if ("structure", n) in res}
        for n, cmp in structural.items():
            figs[f"polychoric_{n}"] = plots.plot_correlation_heatmaps(
                cmp.gold, cmp.sim, titles=("gold", n, f"{n} - gold"))
        if structural:
            try:
                ax = plots.plot_noise_floor(structural, "rmse")
                ax.set_title("Polychoric RMSE against gold's noise floor")
                figs["noise_floor_rmse"] = ax.figure
            except ValueError:  # matrices without floor draws
                pass
        nets = {n: res[("networks", n)] for n in pops if ("networks", n) in res}
        if nets:
            first = next(iter(nets.values()))
            figs["networks"] = plots.plot_networks(
                {"gold": first.gold, **{n: c.simulated for n, c in nets.items()}})
        fac = {n: res[("factors", n)] for n in pops if ("factors", n) in res}
        if fac:
            first = next(iter(fac.values()))
            figs["factor_loadings"] = plots.plot_loadings(
                first.gold.loadings, {n: f.alignment.loadings for n, f in fac.items()})
        cm = res.get(("cultural_map", "all"))
        if cm is not None:
            figs["cultural_map"] = plots.plot_cultural_map(cm, subgroups=False).figure
            figs["iw_loadings"] = plots.plot_loadings(cm.gold_loadings, cm.simulated_loadings)
        return figs

    # ------------------------------------------------------------------ exports
    def to_frame(self) -> pd.DataFrame:
        """The tidy table (a copy)."""
        return self.table.copy()

    def to_csv(self, path) -> Path:
        """Write the full tidy table as CSV."""
        path = Path(path)
        self.table.to_csv(path, index=False)
        return path

    def to_parquet(self, path) -> Path:
        """Write the full tidy table as Parquet (needs pyarrow: ``pip install 'popaudit[io]'``).

        Columns that mix numbers and text (``item``, ``n``) are stored as text; numeric
        columns as float64.
        """
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("writing Parquet needs pyarrow: pip install 'popaudit[io]'"
                              ) from exc
        path = Path(path)
        _arrow_safe(self.table).to_parquet(path, index=False)
        return path

    def to_json(self, path=None, *, table: bool = False) -> str:
        """Settings, scorecard, summary and notes as JSON (written to ``path`` if given).

        Parameters
        ----------
        table : bool
            Also include the full tidy table (large: it is in :meth:`to_csv` already).
        """
        def clean(v):
            if v is None or v is pd.NA or (isinstance(v, float) and not math.isfinite(v)):
                return None
            return v.item() if hasattr(v, "item") else v

        def records(df):
            return [{k: clean(v) for k, v in row.items()} for row in df.to_dict(orient="records")]

        payload = {
            "settings": {k: clean(v) if not isinstance(v, list | tuple | dict) else v
                         for k, v in self.settings.items()},
            "overview": self.overview() if not self.summary.empty else "",
            "scorecard": records(self.scorecard()),
            "summary": records(self.summary),
            "notes": list(self.notes),
            "n_table_rows": len(self.table),
        }
        if table:
            payload["table"] = records(self.table)
        text = json.dumps(payload, indent=1, default=str)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_html(self, path=None, *, figures: Mapping | None = None,
                files: Mapping[str, str] | None = None) -> str:
        """A self-contained HTML page: scorecard first, then one section per component.

        Parameters
        ----------
        path : path-like, optional
            Where to write the page.
        figures : mapping of name -> Figure, PNG path or PNG bytes, optional
            Figures to embed (PNG, base64), each in the section of its component (see
            :data:`FIGURE_SECTIONS`). Default: :meth:`figures` drawn from the results.
            Pass ``{}`` for none.
        files : mapping of label -> file name, optional
            Companion files to list (e.g. ``{"full table": "results.csv"}``).

        Returns
        -------
        str
            The page. It holds no data table beyond the headline numbers; the full
            table belongs in :meth:`to_csv` / :meth:`to_parquet`.
        """
        base = Path(path).parent if path is not None else None
        own = figures is None
        if own:
            figures = self.figures()
        try:
            images = {name: _png(fig, base) for name, fig in figures.items()}
        finally:
            if own:
                import matplotlib.pyplot as plt

                for fig in figures.values():
                    plt.close(fig)
        text = _render(self, images, dict(files or {}))
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def __repr__(self) -> str:
        pops = ", ".join(self.populations)
        lines = [f"Report({len(self.table)} rows; populations: {pops})"]
        card = self.scorecard()
        if not card.empty:
            wide = card.pivot_table(index="population", columns="component", values="value",
                                    aggfunc="first", sort=False)
            lines.append(wide.to_string(float_format=lambda x: f"{x:.3f}"))
            lines.append(self.overview())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return ("<b>popaudit Report</b>" + _scorecard_html(self)
                + f"<p>{html.escape(self.overview())}</p>")


def _title(component: str) -> str:
    sec = SECTIONS.get(component)
    return sec.title if sec else component.replace("_", " ")


def _arrow_safe(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype != object and str(out[col].dtype) not in ("str", "string"):
            continue
        vals = out[col].dropna()
        num = pd.to_numeric(vals, errors="coerce")
        if len(vals) and num.notna().all() and not vals.map(lambda v: isinstance(v, str)).any():
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
        elif vals.map(lambda v: isinstance(v, bool)).all() and len(vals):
            out[col] = out[col].astype("boolean")
        else:
            out[col] = out[col].map(lambda v: None if v is None or v is pd.NA
                                    or (isinstance(v, float) and math.isnan(v)) else str(v))
    return out


def _verdict_html(verdict, note) -> str:
    v = _text(verdict) or "undefined"
    cls = v.replace(" ", "-")
    title = f" title='{html.escape(_text(note))}'" if _text(note) else ""
    return f"<span class='verdict {cls}'{title}>{html.escape(_VERDICT_TEXT.get(v, v))}</span>"


def _cell(row) -> str:
    if row is None:
        return "<td><small>not run</small></td>"
    parts = [f"<div class='v'>{_num(row['value'])}</div>"]
    floor = _floor_text(row)
    if floor:
        parts.append(f"<small>{html.escape(floor)}</small>")
    parts.append(_verdict_html(row["verdict"], row.get("note")))
    if row["verdict"] == "undefined" and _text(row.get("note")):
        parts.append(f"<small>{html.escape(_text(row['note'])[:160])}</small>")
    return "<td>" + "".join(parts) + "</td>"


def _scorecard_html(rep: Report) -> str:
    card = rep.scorecard()
    if card.empty:
        return "<p>No headline numbers.</p>"
    comps = list(dict.fromkeys(card["component"]))
    head = ["<th>population</th>"]
    for c in comps:
        stats = list(dict.fromkeys(card.loc[(card["component"] == c)
                                            & (card["verdict"] != "undefined"), "statistic"]))
        head.append(f"<th><a href='#{html.escape(c)}'>{html.escape(_title(c))}</a>"
                    f"<small>{html.escape(stats[0] if stats else '')}</small></th>")
    body = []
    for pop in rep.populations:
        mine = card[card["population"] == pop]
        if mine.empty:
            continue
        cells = [f"<th>{html.escape(str(pop))}</th>"]
        for c in comps:
            hit = mine[mine["component"] == c]
            cells.append(_cell(hit.iloc[0] if len(hit) else None))
        body.append("<tr>" + "".join(cells) + "</tr>")
    return ("<table class='scorecard' id='scorecard-table'><thead><tr>" + "".join(head)
            + "</tr></thead><tbody>" + "".join(body) + "</tbody></table>")


def _component_table(rep: Report, comp: str) -> str:
    rows = rep.summary[rep.summary["component"] == comp]
    if rows.empty:
        return ""
    pops = [p for p in rep.populations if p in set(rows["population"])]
    stats = list(dict.fromkeys(rows["statistic"]))
    head = "<tr><th>statistic</th>" + "".join(f"<th>{html.escape(str(p))}</th>"
                                              for p in pops) + "</tr>"
    body = []
    for stat in stats:
        cells = [f"<th>{html.escape(str(stat))}</th>"]
        for p in pops:
            hit = rows[(rows["statistic"] == stat) & (rows["population"] == p)]
            cells.append(_cell(hit.iloc[0]) if len(hit) else "<td></td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return "<table class='component'>" + head + "".join(body) + "</table>"


def _render(rep: Report, images: dict[str, bytes], files: dict[str, str]) -> str:
    from popaudit import __version__

    st = rep.settings
    comps = rep._components()
    meta = [f"gold: {st.get('gold', 'gold')}"
            + (f" (n = {st['n_gold']})" if st.get("n_gold") is not None else ""),
            f"{len(rep.populations)} simulated population(s): {', '.join(rep.populations)}"]
    if st.get("by"):
        meta.append("subgroups by " + " x ".join(map(str, st["by"])))
    for key, label in (("n_boot", "bootstrap draws"), ("n_null", "gold resamples"),
                       ("seed", "seed")):
        if st.get(key) is not None:
            meta.append(f"{label} {st[key]}")
    meta.append(f"popaudit {__version__}")
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             "<meta name='viewport' content='width=device-width, initial-scale=1'>",
             "<link rel='icon' href='data:,'><title>popaudit report</title>",
             f"<style>{_CSS}</style></head><body>",
             "<h1>popaudit report</h1>",
             f"<p class='meta'>{html.escape(' · '.join(meta))}</p>",
             "<section id='scorecard'><h2>Scorecard</h2>",
             f"<p class='lead'>{html.escape(rep.overview())}</p>",
             _scorecard_html(rep),
             ("<p class='read'>Each cell: the component's headline statistic for the "
             "population, the range sampling noise alone produces (gold against resamples of "
             "gold of the simulated size), and the verdict: <i>beyond floor</i> (a gap "
             "sampling does not explain), <i>within noise</i>, <i>no noise floor</i> (the "
             "number describes, it does not decide) or <i>undefined</i> (with the reason). "
             "Every headline statistic is in the section of its component.</p></section>")]
    if rep.notes:
        items = []
        for note in rep.notes:
            first, _, rest = str(note).partition("\n")
            short = first if len(first) <= 400 else first[:400] + " ..."
            detail = (f"<details><summary>more</summary><pre>{html.escape(str(note))}</pre>"
                      "</details>" if rest or len(first) > 400 else "")
            items.append(f"<li>{html.escape(short)}{detail}</li>")
        parts.append(f"<section id='notes'><h2>Notes</h2><ul class='notes'>{''.join(items)}"
                     "</ul></section>")
    parts.append("<nav>" + "".join(f"<a href='#{html.escape(c)}'>{html.escape(_title(c))}</a>"
                                   for c in comps) + "</nav>")
    placed = set()
    for comp in comps:
        sec = SECTIONS.get(comp)
        n_rows = int((rep.table["component"] == comp).sum()) if "component" in rep.table else 0
        parts.append(f"<section id='{html.escape(comp)}'><h2>{html.escape(_title(comp))}</h2>")
        if sec:
            parts.append(f"<p class='read'>{html.escape(sec.read)}</p>")
        for name, png in images.items():
            if _section_of_figure(name) == comp:
                parts.append(_figure_html(name, png))
                placed.add(name)
        parts.append(_component_table(rep, comp))
        parts.append(f"<p class='meta'>{n_rows} rows of this component in the full table"
                     + (f" ({html.escape(files['full table'])})" if "full table" in files
                        else "") + ".</p></section>")
    rest = [n for n in images if n not in placed]
    if rest:
        parts.append("<section id='other-figures'><h2>Other figures</h2>")
        parts += [_figure_html(n, images[n]) for n in rest]
        parts.append("</section>")
    parts.append("<section id='files'><h2>Files and settings</h2>")
    parts.append(f"<p>The full tidy table has {len(rep.table)} rows"
                 + ("; it is in " + ", ".join(f"<code>{html.escape(f)}</code> ({html.escape(k)})"
                                              for k, f in files.items())
                    if files else " (Report.to_csv / Report.to_parquet)") + ".</p>")
    parts.append("<details><summary>settings</summary><pre>"
                 + html.escape(json.dumps(rep.settings, indent=1, default=str))
                 + "</pre></details></section></body></html>")
    return "".join(parts)


def _figure_html(name: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    label = html.escape(name.replace("_", " "))
    return (f"<figure id='fig-{html.escape(name)}'><img alt='{label}' "
            f"src='data:image/png;base64,{data}'><figcaption>{label}</figcaption></figure>")
