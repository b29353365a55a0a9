"""The HTML report in a real headless Chromium (Debian's ``chromium``): the reference solution's
page (graded for real) and a failing report's page with curves, a figure and hostile names.
Chromium must log no console message at all (no script error, no Content-Security-Policy
violation, no failed load), and the plots must really be drawn: the screenshot holds the
curves', the architecture's and the figure's colours.

Skipped only when no Chromium can be found (CI installs it: ``.ci/run``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from grader.reporters import html
from grader.reporters.svg import COLOURS
from test_corpus import grade_file, shared_cache_dir
from test_html import failing_report


ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solution" / "sentiment_classifier.py"
CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)
MAGENTA = (255, 0, 255)  # the failing report's figure (test_html.png)
DENSE_BOX = (219, 232, 251)  # .dense boxes of the architecture drawing

if CHROMIUM is None:
    pytest.skip("no chromium on this machine (apt-get install chromium)", allow_module_level=True)


def chromium(page: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
         "--v=0", "--hide-scrollbars", "--window-size=1200,4000", *args, page.as_uri()],
        capture_output=True, text=True, timeout=120)


def console(result: subprocess.CompletedProcess) -> list[str]:
    """What the page said on the console: errors, CSP violations, failed loads."""
    return [line for line in result.stderr.splitlines() if ":CONSOLE" in line]


def colour_pixels(screenshot: Path, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
    """How many pixels of the screenshot are within ``tolerance`` of ``rgb`` on every channel."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(screenshot).convert("RGB"), dtype=np.int16)
    return int((np.abs(pixels - np.array(rgb, dtype=np.int16)) <= tolerance).all(axis=2).sum())


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """The solution graded as test_hostile grades it (its retrain from the session's shared
    cache), and the failing report of test_html, each written as its page."""
    folder = tmp_path_factory.mktemp("html")
    solution = grade_file(SOLUTION, shared_cache_dir(tmp_path_factory)).report
    assert solution.passed
    reports = {"solution": solution, "failing": failing_report()}
    for name, report in reports.items():
        (folder / f"{name}.html").write_text(html.render(report), encoding="utf-8")
    return {name: folder / f"{name}.html" for name in reports}


def test_console_errors_are_caught(tmp_path):
    """The check below can fail: a page with a script error logs it."""
    bad = tmp_path / "bad.html"
    bad.write_text("<p>x</p><script>undefined_function()</script>", encoding="utf-8")
    assert any("Uncaught ReferenceError" in line for line in console(chromium(bad, "--dump-dom")))


@pytest.mark.parametrize("name", ["solution", "failing"])
def test_the_page_renders_without_console_messages_and_its_plots_are_visible(pages, name,
                                                                           tmp_path):
    page, shot = pages[name], tmp_path / f"{name}.png"
    dom = chromium(page, "--dump-dom", f"--screenshot={shot}")
    assert dom.returncode == 0 and shot.exists()
    assert console(dom) == [], console(dom)
    assert "<script" not in dom.stdout  # a submission's names stayed text
    assert colour_pixels(shot, DENSE_BOX, 4) > 2000  # the architecture is drawn
    if name == "solution":
        assert "all checks passed" in dom.stdout and "100 / 100" in dom.stdout
        if "<svg" in dom.stdout:  # the retrain recorded per-epoch curves
            assert colour_pixels(shot, hex_rgb(COLOURS[0])) > 300
        return
    assert dom.stdout.count("<svg") == 2 and dom.stdout.count("<polyline") == 4
    assert dom.stdout.count("<img") == 1
    for colour in COLOURS[:2]:  # training (solid) and validation (dashed) lines
        assert colour_pixels(shot, hex_rgb(colour)) > 300, colour
    assert colour_pixels(shot, MAGENTA, 4) >= 120 * 80  # the script's figure, at full size
    assert "&lt;script&gt;" in dom.stdout
