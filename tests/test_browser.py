"""The exported notebook report in a real browser: headless Chromium renders the verdict and every figure, offline."""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from nv12kit.notebook_report import render_notebook

ROOT = pathlib.Path(__file__).resolve().parents[1]
GUIDED = ROOT / "notebooks" / "01_guided_triage.ipynb"

# Notebook 01 with its defaults (demo_robust, healthy): planes, round-trip error and the pixel-exact image and
# round trip side by side (step 2), histogram and floor-against-amplitude curve (step 5), and the report's planes,
# round trip, histogram, curve and what another convention would cost.
EXPECTED_IMAGES = 3 + 2 + 5


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if pathlib.Path("/usr/bin/chromium").exists() else None


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed: apt-get install chromium (CI installs it in .ci/run)")

# Everything that could reach the network is switched off; the page must not need it.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]

# Added to a copy of the page only: counts the <img> elements the browser actually decoded.
_PROBE = """<script>window.addEventListener('load', function () {
  var ok = Array.prototype.filter.call(document.images, function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.setAttribute('data-images-decoded', String(ok.length));
});</script>"""


def _run(args: list[str], profile: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=180, check=False)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    return render_notebook(GUIDED, folder / "guided.html")


def test_screenshot_of_the_report_is_not_blank(report, tmp_path):
    shot = tmp_path / "page.png"
    done = _run([f"--screenshot={shot}", "--window-size=1200,3000", report.as_uri()], tmp_path / "profile")
    assert shot.exists(), done.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"), np.float64)
    assert pixels.shape == (3000, 1200, 3)
    assert pixels.std() > 20  # text and figures, not an empty page
    not_white = (pixels < 235).any(axis=2).mean()
    assert not_white > 0.05
    # The U and V planes are drawn in blue and red: colour on the page means the figures were painted.
    saturation = pixels.max(axis=2) - pixels.min(axis=2)
    assert (saturation > 80).mean() > 0.01


def test_rendered_dom_has_the_verdict_and_every_figure_decoded(report, tmp_path):
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    done = _run(["--dump-dom", probe.as_uri()], tmp_path / "profile")
    dom = done.stdout
    assert "</html>" in dom, done.stderr[-2000:]
    assert len(re.findall(r"<img\b", dom)) == EXPECTED_IMAGES
    decoded = re.search(r'data-images-decoded="(\d+)"', dom)
    assert decoded is not None and int(decoded.group(1)) == EXPECTED_IMAGES
    assert "verdict: healthy" in dom
    assert re.search(r"Verdict:\s*<code>healthy</code>", dom)
