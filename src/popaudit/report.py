"""The :class:`Report` returned by :func:`popaudit.auditing`: one tidy table, figures, exports.

The report holds no statistics of its own; it stores what the components
computed, in one long table with the columns of :data:`COLUMNS`, plus the
component result objects (for plots and further analysis) and figures.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["COLUMNS", "SUMMARY_COLUMNS", "Report", "tidy"]

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


@dataclass(frozen=True)
class Report:
    """Everything :func:`popaudit.auditing` computed.

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

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_csv(self, path) -> Path:
        path = Path(path)
        self.table.to_csv(path, index=False)
        return path

    def to_json(self, path=None) -> str:
        """The summary, settings and table as JSON (written to ``path`` if given)."""
        def clean(v):
            if v is pd.NA or (isinstance(v, float) and not math.isfinite(v)):
                return None
            return v.item() if hasattr(v, "item") else v

        payload = {
            "settings": {k: clean(v) if not isinstance(v, list | tuple | dict) else v
                         for k, v in self.settings.items()},
            "summary": [{k: clean(v) for k, v in row.items()}
                        for row in self.summary.to_dict(orient="records")],
            "table": [{k: clean(v) for k, v in row.items()}
                      for row in self.table.to_dict(orient="records")],
        }
        text = json.dumps(payload, indent=2, default=str)
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_html(self, path=None, *, figures: dict[str, str] | None = None) -> str:
        """A self-contained HTML page: summary, settings, table (and figure files if given)."""
        parts = ["<!doctype html><html><head><meta charset='utf-8'><title>popaudit report</title>",
                 ("<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
                 "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;"
                 "padding:2px 6px}</style></head><body><h1>popaudit report</h1>"),
                 "<h2>Summary</h2>", self.summary.to_html(index=False, float_format=_fmt4),
                 "<h2>Settings</h2><pre>", html.escape(json.dumps(self.settings, indent=1,
                                                                   default=str)), "</pre>"]
        for title, src in (figures or {}).items():
            parts.append(f"<h2>{html.escape(title)}</h2><img src='{html.escape(src)}' "
                         "style='max-width:100%'>")
        parts += ["<h2>All results</h2>",
                  self.table.to_html(index=False, float_format=_fmt4, na_rep=""),
                  "</body></html>"]
        text = "".join(parts)
        if path is not None:
            Path(path).write_text(text)
        return text

    def __repr__(self) -> str:
        pops = ", ".join(self.populations)
        lines = [f"Report({len(self.table)} rows; populations: {pops})"]
        if not self.summary.empty:
            lines.append(self.summary.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return ("<b>popaudit Report</b>" +
                self.summary.to_html(index=False, float_format=_fmt3))
