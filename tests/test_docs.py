"""Docs that run: every python example in README.md and docs/*.md, and the API reference build.

Convention for fenced blocks (docs/index.md, "Examples"):

* ```` ```python ```` runs. The blocks of one page run top to bottom in one namespace, like a
  notebook, in a fresh temporary folder.
* ```` ```python no-run ```` is shown but not run: a signature, or code that needs files the
  reader has and the tests do not; the text beside it says why.
* output, shell sessions and file contents go in ```` ```text ````, ```` ```console ````,
  ```` ```bash ```` (never run here).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
KNOWN = {"python", "python no-run", "text", "console", "bash", "json", "r"}


def blocks(path: Path) -> list[tuple[int, str, str]]:
    """(line, info string, code) of every fenced block of a Markdown page."""
    text = path.read_text(encoding="utf-8")
    return [(text[:m.start()].count("\n") + 1, m.group(1).strip(), m.group(2))
            for m in FENCE.finditer(text)]


def runnable(path: Path) -> list[tuple[int, str]]:
    return [(line, code) for line, info, code in blocks(path) if info == "python"]


def test_every_block_follows_the_convention():
    bad = [f"{p.relative_to(ROOT)}:{line}: ```{info}" for p in PAGES
           for line, info, _ in blocks(p) if info not in KNOWN]
    assert not bad, ("fenced blocks need one of " + ", ".join(sorted(KNOWN)) + ":\n"
                     + "\n".join(bad))
    assert sum(len(runnable(p)) for p in PAGES) >= 8


@pytest.mark.parametrize("page", [p for p in PAGES if runnable(p)],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_run(page, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for line, code in runnable(page):
        where = f"{page.relative_to(ROOT)}, block at line {line}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # examples may show warnings; they must not fail
            try:
                exec(compile(code, where, "exec"), namespace)  # noqa: S102 - our own docs
            except Exception as exc:  # noqa: BLE001 - say which block failed, then fail
                pytest.fail(f"{where}: {type(exc).__name__}: {exc}")
    plt.close("all")


def test_readme_covers_the_command_line():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = text.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    assert len([b for b in FENCE.finditer(setup)]) == 2        # exactly two set-up commands
    for command in ("popaudit audit", "popaudit polychoric", "popaudit sweep"):
        assert command in text


@pytest.mark.slow
def test_api_reference_builds_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("myst_parser")
    if shutil.which("sphinx-build") is None and not hasattr(sys, "executable"):
        pytest.skip("no sphinx-build")
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b",
                          "html", "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"),
                          str(tmp_path / "html")], capture_output=True, text=True, timeout=900,
                         check=False)
    assert run.returncode == 0, run.stderr[-4000:]
    reference = (tmp_path / "html" / "reference.html").read_text(encoding="utf-8")
    import popaudit as pa

    for name in ("audit", "compare_correlations", "polychoric", "read_codebook", "Report",
                 "plot_marginals"):
        assert f'id="popaudit.{name}"' in reference or f'.{name}"' in reference, name
    assert pa.__version__ in (tmp_path / "html" / "contents.html").read_text(encoding="utf-8")
