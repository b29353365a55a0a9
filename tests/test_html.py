"""The student's HTML report (``grader.reporters.html``) and ``--html``: what the page holds, that
nothing from a submission becomes markup, that only real PNGs are shown. Reports are built by the
code that builds real ones (``real_reports``); no TensorFlow. The page in a real browser:
``test_html_browser.py``."""

from __future__ import annotations

import base64
import dataclasses
import io
import math
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from grader import cli
from grader.observation import Figure, Layer
from grader.reporters import html, svg
from real_reports import LAYERS, dense, drop, report as real_report

HOSTILE = '</div><script>alert("x")</script><img src=x onerror=alert(1)>\x1b[31m\u202e'


def history(epochs: int = 50) -> dict:
    """Curves shaped like a real retrain's: falling loss, rising accuracy, a gap for overfitting."""
    return {"loss": [1.4 * math.exp(-i / 9) + 0.2 for i in range(epochs)],
            "val_loss": [1.3 * math.exp(-i / 11) + 0.3 + 0.003 * i for i in range(epochs)],
            "accuracy": [0.5 + 0.45 * (1 - math.exp(-i / 7)) for i in range(epochs)],
            "val_accuracy": [0.5 + 0.4 * (1 - math.exp(-i / 8)) for i in range(epochs)]}


def png(colour=(255, 0, 255), size=(120, 80)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text."""

    def __init__(self, page: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, name: str) -> list[dict]:
        return [attrs for tag, attrs in self.tags if tag == name]


def failing_report(**changes):
    """Fails hidden_layers and l2 (a two-hidden-layer model without L2), with a hostile layer
    name, curves and two figures: one real PNG, one that only claims to be one."""
    LAYERS["hostile"] = (dense(256, l2=0.0), drop(), Layer("Dense", HOSTILE, units=64,
                                                           activation="relu"),
                         dense(1, "sigmoid", l2=0.0))
    figures = (Figure(f"Loss {HOSTILE}", png(), ("loss", "val_loss")),
               Figure("fake", b"GIF89a" + b"\0" * 20, ("loss",)))
    return real_report(f"bob{HOSTILE}.py", layers="hostile", history=history(),
                       figures=figures, **changes)


def test_the_page_holds_the_checklist_score_curves_architecture_figures_bonus_and_versions():
    report = failing_report()
    page = html.render(report)
    tags = Tags(page)
    text = " ".join(tags.text)
    assert f"{report.score:g} / 100" in text and "main reason: failed hidden_layers, l2" in text
    for check in report.checks:
        assert check.message.split(" (")[0][:40] in text or "<" in check.message
    assert next(c.hint for c in report.checks if c.id == "l2") in text
    # the learning curves: two charts, a line per series, the legend names them
    charts = tags.all("svg")
    assert len(charts) == 2 and len(tags.all("polyline")) == 4
    assert {"training loss", "validation loss", "training accuracy",
            "validation accuracy"} <= set(t.strip() for t in tags.text)
    # the architecture: four layers, the ones failed checks concern marked with their ids
    boxes = [a for a in tags.all("div") if "layer" in a.get("class", "").split()]
    assert len(boxes) == 4
    assert [("bad" in a["class"].split()) for a in boxes] == [True, False, True, False]
    assert "✗ hidden_layers, l2" in text
    # figures: the real PNG as a data URI, the fake one refused
    images = tags.all("img")
    assert len(images) == 1 and images[0]["src"].startswith("data:image/png;base64,")
    assert base64.b64decode(images[0]["src"].split(",", 1)[1]) == png()
    assert "fake: not shown (it is not a PNG image)" in text
    # bonus challenges, versions and seed
    assert "Bonus challenges" in text and "dropout_comparison" in text
    assert f"data seed {report.info['data_seed']}" in text and "TensorFlow" in text


def test_nothing_from_a_submission_becomes_markup():
    page = html.render(failing_report())
    tags = Tags(page)
    assert not tags.all("script") and all(a.get("onerror") is None for _, a in tags.tags)
    assert [t for t, _ in tags.tags if t == "img"] == ["img"]  # only the real figure
    assert "\x1b" not in page and "\u202e" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page  # shown, as text


def test_the_page_loads_nothing_and_runs_nothing():
    page = html.render(failing_report())
    tags = Tags(page)
    policy = [a for a in tags.all("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    assert policy and "default-src 'none'" in policy[0]["content"]
    assert not tags.all("link") and not tags.all("script") and not tags.all("iframe")
    for _, attrs in tags.tags:
        for name in ("src", "href"):
            assert attrs.get(name) is None or attrs[name].startswith(("data:image/png;", "#"))
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page and "@import" not in page and "url(" not in page


def test_figures_that_are_not_png_are_not_shown():
    assert html.png_data_uri(base64.b64encode(png()).decode()) is not None
    for claim in ("not base64!", base64.b64encode(b"<svg onload=alert(1)>").decode(), None, 7,
                  base64.b64encode(png()).decode() + '"><script>'):
        assert html.png_data_uri(claim) is None
    report = dataclasses.replace(real_report(), figures=({"title": "x", "png_base64": "%%"},
                                                         "not a dict"))
    page = html.render(report)
    assert "<img" not in page and page.count("not shown (it is not a PNG image)") == 2


def test_without_curves_architecture_or_accuracy_the_page_says_so():
    page = html.render(real_report("carol.py", not_started=True))
    assert "No per-epoch curves in this report" in page and "<svg" not in page
    assert "no architecture recorded" in page
    assert "could not train your model" in page and "Not started" in page


def test_borderline_and_trials_are_shown():
    report = real_report(accuracy=0.71)
    metrics = {**report.metrics, "trial_accuracies": [0.70, 0.71, 0.73], "accuracy_spread": 0.03}
    text = " ".join(Tags(html.render(dataclasses.replace(report, metrics=metrics))).text)
    assert "borderline" in text and "close to the threshold" in text
    assert "3 runs with different seeds gave 0.7000, 0.7100, 0.7300" in text
    assert "spread 0.0300" in text
    assert "borderline" not in html.render(real_report(accuracy=0.91))


def test_the_page_survives_a_round_trip_through_json():
    """Batch writes reports/<id>.html from the JSON record: the same page."""
    from grader.report import Report

    report = failing_report()
    assert html.render(Report.from_dict(report.to_dict())) == html.render(report)


def test_the_svg_plotter_leaves_gaps_and_rounds_its_ticks():
    chart = svg.line_chart({"loss": [1.0, None, float("nan"), 0.5, 0.4], "x": []}, "t<")
    tags = Tags(chart)
    assert len(tags.all("polyline")) == 1 and len(tags.all("circle")) == 1  # 1.0 alone, 0.5-0.4
    assert "t&lt;" in chart
    assert svg.nice_ticks(0.2123, 1.4871) == [0.0, 0.5, 1.0, 1.5]
    assert svg.nice_ticks(0.51, 0.93) == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert svg.nice_ticks(0.5, 0.5) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert "no values recorded" in svg.line_chart({"loss": [None]}, "empty")


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False),
       st.floats(allow_nan=False, allow_infinity=False))
def test_nice_ticks_are_finite_and_cover_any_two_finite_values(a, b):
    """Found by hypothesis: a loss of 1.3e308 made the ticks Python ints past the float range,
    and the HTML report crashed on OverflowError."""
    low, high = min(a, b), max(a, b)
    ticks = svg.nice_ticks(low, high)
    assert len(ticks) >= 2 and all(isinstance(t, float) and math.isfinite(t) for t in ticks)
    assert ticks == sorted(ticks) and ticks[0] <= low and ticks[-1] >= high or low == high
    svg.line_chart({"loss": [a, b]}, "t")  # and the chart draws them


def test_cli_html_writes_the_page_and_refuses_a_missing_folder(tmp_path, capsys):
    submission = tmp_path / "a.py"
    submission.write_text("print(1)\n")
    assert cli.main([str(submission), "--html", str(tmp_path / "no" / "r.html")]) == 2
    assert "--html" in capsys.readouterr().err and not (tmp_path / "no").exists()
    assert cli.main([str(submission), "--html", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_cli_html_writes_the_page(tmp_path, capsys):
    """End to end through ``python -m grader FILE --html``: a syntax error is graded without
    running anything, so this needs no TensorFlow."""
    submission = tmp_path / "broken.py"
    submission.write_text("model = Sequential(\nprint('<b>hi</b>')\n")
    out = tmp_path / "report.html"
    assert cli.main([str(submission), "--html", str(out)]) == 1
    page = out.read_text(encoding="utf-8")
    assert "syntax error" in page and "0 / 100" in page and "<b>hi" not in page
    assert "Score: 0/100" in capsys.readouterr().out  # the terminal report is printed as well


def test_the_page_says_which_model_was_graded_and_why_as_text():
    """The note the terminal shows (``info["graded_model"]``), on the page too; a model name is
    the script's own text, so it is escaped; a tampered report has none (nothing was judged)."""
    from grader.reporters import terminal

    report = real_report()
    note = "`real`, trained and then evaluated on the test split"
    graded = dataclasses.replace(report, info={**report.info, "graded_model": note})
    text = " ".join(Tags(html.render(graded)).text)
    assert f"Graded model: {note}." in text and f"Graded model: {note}." in terminal.render(graded)
    assert "Graded model" not in html.render(report)
    hostile = dataclasses.replace(report, info={**report.info, "graded_model": f"`{HOSTILE}`"})
    page = html.render(hostile)
    tags = Tags(page)
    assert not tags.all("script") and all(a.get("onerror") is None for _, a in tags.tags)
    assert "\x1b" not in page and "\u202e" not in page
    assert '<p class="graded">Graded model: `&lt;/div&gt;&lt;script&gt;alert(&quot;x&quot;)' in page
    tampered = dataclasses.replace(graded, tampered="the script replaced keras.Model.fit")
    assert "Graded model" not in html.render(tampered)
