"""Sphinx configuration: the guide (these Markdown pages, through MyST) and the API reference
generated from popaudit's numpydoc docstrings.

Build (warnings are errors, as in CI's ``tests/test_docs.py``)::

    pip install -e ".[docs]"
    sphinx-build -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import importlib
import inspect

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx.util.nodes import nested_parse_with_titles

import popaudit

project = "popaudit"
author = "popaudit developers"
release = version = popaudit.__version__
root_doc = "contents"
extensions = ["myst_parser", "sphinx.ext.autodoc", "numpydoc"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "figures/*.py"]
html_theme = "alabaster"
html_title = f"popaudit {release}"
myst_heading_anchors = 3
autodoc_member_order = "bysource"
autodoc_typehints = "none"            # the numpydoc Parameters sections say it in words
numpydoc_show_class_members = False   # members are documented by autodoc, once
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
suppress_warnings = ["myst.header"]   # guide pages may start below level 1 in places

# The public face, grouped for the reference: title -> modules whose public names go there.
GROUPS = [
    ("Audit and report", ["popaudit.auditing", "popaudit.report"]),
    ("Data: surveys, files, codebooks, answer distributions",
     ["popaudit.data.survey", "popaudit.data.io", "popaudit.data.wvs", "popaudit.data.codebook",
      "popaudit.data.answers", "popaudit.data.distributions"]),
    ("Marginal and modal metrics", ["popaudit.metrics.marginal", "popaudit.metrics.modal"]),
    ("Subgroups", ["popaudit.subgroups.definition", "popaudit.subgroups.disparity"]),
    ("Structure: polychoric correlations, comparison, factors, networks",
     ["popaudit.structure.polychoric", "popaudit.structure.comparison",
      "popaudit.structure.factors", "popaudit.structure.networks"]),
    ("The cultural map", ["popaudit.maps.inglehart_welzel"]),
    ("Sweeps and steering benchmarks", ["popaudit.sweeps", "popaudit.steering"]),
]
MODULE_PAGES = [("Figures (popaudit.plots)", "popaudit.plots"),
                ("Synthetic data (popaudit.datasets)", "popaudit.datasets")]


def _directive_for(qualname: str, obj) -> list[str]:
    if inspect.isclass(obj):
        return [f".. autoclass:: {qualname}", "   :members:", ""]
    if callable(obj):
        return [f".. autofunction:: {qualname}", ""]
    return [f".. autodata:: {qualname}", "   :annotation:", ""]


class PublicAPI(Directive):
    """``.. popaudit-api::`` expands to autodoc entries for every public name.

    Names come from ``popaudit.__all__`` (and the ``__all__`` of ``popaudit.plots`` and
    ``popaudit.datasets``), so a new public function is in the reference without editing it.
    """

    has_content = False

    def run(self):
        lines: list[str] = []
        public = {n: getattr(popaudit, n) for n in popaudit.__all__
                  if n not in popaudit._MODULES and not n.startswith("__")}
        placed: set[str] = set()
        for title, modules in GROUPS:
            names = [n for n in public if getattr(public[n], "__module__", None) in modules
                     or popaudit._PUBLIC.get(n) in modules]
            if not names:
                continue
            lines += [title, "-" * len(title), ""]
            for n in names:
                lines += _directive_for(f"popaudit.{n}", public[n])
                placed.add(n)
        rest = [n for n in public if n not in placed]
        if rest:
            lines += ["Other", "-----", ""]
            for n in rest:
                lines += _directive_for(f"popaudit.{n}", public[n])
        for title, modname in MODULE_PAGES:
            mod = importlib.import_module(modname)
            lines += [title, "-" * len(title), "", f".. automodule:: {modname}",
                      "   :no-members:", ""]
            for n in mod.__all__:
                lines += _directive_for(f"{modname}.{n}", getattr(mod, n))
        node = nodes.section()
        node.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source="popaudit-api"), node)
        return node.children


def setup(app):
    app.add_directive("popaudit-api", PublicAPI)
