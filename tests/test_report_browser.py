"""The report in a real browser: headless Chromium (Debian's ``chromium`` package).

The page must load without console errors, every image must decode, and the scorecard
must come first; a screenshot is written (``POPAUDIT_UPDATE_DOCS=1`` copies it to
``docs/figures/report_screenshot.png``). Skipped where no Chromium is installed.

The checks run inside the page: a copy of the report gets a probe script at the top of its
``<head>`` that records console errors and failed loads, and after ``load`` writes what it
found into the DOM, which ``chromium --headless --dump-dom`` prints. No browser driver or
Python package beyond the standard library is needed.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import popaudit as pa

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome",
                                            "google-chrome-stable") if shutil.which(n)), None)

_PROBE = """<script>
(function () {
  var errors = [];
  var consoleError = console.error;
  console.error = function () {
    errors.push(Array.prototype.slice.call(arguments).join(" "));
    consoleError.apply(console, arguments);
  };
  window.addEventListener("error", function (e) {
    var t = e.target || {};
    errors.push(e.message || ("failed to load " + (t.src || t.href || t.tagName)));
  }, true);
  window.addEventListener("unhandledrejection", function (e) { errors.push(String(e.reason)); });
  window.addEventListener("load", function () {
    var images = Array.prototype.map.call(document.images, function (i) {
      return {alt: i.alt, ok: i.complete && i.naturalWidth > 0, width: i.naturalWidth};
    });
    var first = document.querySelector("section");
    var out = {errors: errors, images: images,
               scorecard: !!document.getElementById("scorecard-table"),
               first_section: first ? first.id : null,
               scorecard_rows: document.querySelectorAll("#scorecard-table tbody tr").length};
    var pre = document.createElement("pre");
    pre.id = "probe-result";
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  });
})();
</script>"""


def _chromium(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-dev-shm-usage", "--hide-scrollbars", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def probe(page: Path, work: Path) -> dict:
    """Load ``page`` in headless Chromium; return what the probe script found."""
    text = page.read_text(encoding="utf-8")
    probed = work / "probe.html"
    probed.write_text(text.replace("<head>", "<head>" + _PROBE, 1), encoding="utf-8")
    run = _chromium("--virtual-time-budget=20000", "--dump-dom", probed.as_uri())
    m = re.search(r'<pre id="probe-result">(.*?)</pre>', run.stdout, re.DOTALL)
    assert m, f"no probe result; chromium said:\n{run.stderr[-2000:]}"
    return json.loads(html.unescape(m.group(1)))


def screenshot(page: Path, out: Path, *, width: int = 1280, height: int = 1800) -> Path:
    """A PNG of the top of ``page`` as headless Chromium renders it."""
    _chromium(f"--screenshot={out}", f"--window-size={width},{height}",
              "--virtual-time-budget=10000", page.as_uri())
    return out


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("no Chromium (apt-get install chromium) on this machine")
    out = tmp_path_factory.mktemp("browser")
    gold = pa.datasets.wvs_like(n=500, seed=0)
    sims = {"persona": pa.datasets.persona_like(gold, seed=1),
            "shuffled": pa.datasets.shuffled(gold, seed=2)}
    rep = pa.audit(gold, sims, by=["Q260"], n_boot=10, n_null=10, seed=0)
    import matplotlib.pyplot as plt

    figs = rep.figures(gold, sims)
    path = out / "report.html"
    rep.to_html(path, figures=figs, files={"full table": "results.csv"})
    plt.close("all")
    return path


def test_page_loads_clean_and_every_image_decodes(page, tmp_path):
    found = probe(page, tmp_path)
    assert found["errors"] == []
    assert len(found["images"]) >= 6
    bad = [i["alt"] for i in found["images"] if not i["ok"]]
    assert bad == [], f"images that did not decode: {bad}"


def test_scorecard_comes_first(page, tmp_path):
    found = probe(page, tmp_path)
    assert found["scorecard"] and found["first_section"] == "scorecard"
    assert found["scorecard_rows"] == 2              # one row per simulated population


def test_screenshot(page, tmp_path):
    shot = screenshot(page, tmp_path / "report_screenshot.png")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000
    if os.environ.get("POPAUDIT_UPDATE_DOCS") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "figures" / "report_screenshot.png")


def test_the_probe_sees_errors_and_broken_images(tmp_path):
    if CHROMIUM is None:
        pytest.skip("no Chromium (apt-get install chromium) on this machine")
    bad = tmp_path / "bad.html"
    bad.write_text("<!doctype html><html><head><meta charset='utf-8'></head><body>"
                   "<img alt='missing' src='missing.png'>"
                   "<img alt='garbage' src='data:image/png;base64,AAAA'>"
                   "<script>console.error('boom')</script></body></html>", encoding="utf-8")
    found = probe(bad, tmp_path)
    assert "boom" in found["errors"]
    assert [i["ok"] for i in found["images"]] == [False, False]
    assert not found["scorecard"]
