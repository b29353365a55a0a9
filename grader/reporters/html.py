"""The student's HTML report: one self-contained page to open in a browser.

``render(report)`` formats a finished ``Report``: the score, which model was graded and why,
the checklist with messages and hints, the grader's accuracy (borderline flag, trials), its
learning curves (SVG, drawn by ``grader.reporters.svg``), the submitted architecture with the
layers failed checks concern marked, the figures the script drew (PNG data URIs, shown only when they really are PNGs), the
bonus challenges, and the versions and seed. No script, no external address. Everything from
the submission (names, messages, figure titles) is untrusted and escaped
(``grader.reporters.page.escape``); numbers are formatted here, never copied as text.
"""

from __future__ import annotations

import base64
import binascii
import math

from grader.report import Report, main_reason, retrain_engine
from grader.reporters import shown
from grader.reporters.page import architecture_html, escape, page
from grader.reporters.svg import line_chart
from grader.reporters.terminal import graded_model_note
from grader.core.similarity import describe

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CURVES = (("Loss", ("loss", "val_loss")), ("Accuracy", ("accuracy", "val_accuracy")))
LEGEND = {"loss": "training loss", "val_loss": "validation loss",
          "accuracy": "training accuracy", "val_accuracy": "validation accuracy"}

_CSS = """
body{max-width:1100px}
.score{font-size:30px;font-weight:700;margin:8px 0 2px}.score.ok{color:#1e7e34}
.badge{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;margin-left:6px;
 vertical-align:middle}.badge.warn{background:#f0b429;color:#1d1d1f}
table.checks{width:100%}table.checks td{vertical-align:top}
td.mark{font-weight:700;width:1.5em;text-align:center}tr.ok td.mark{color:#1e7e34}
tr.bad td.mark{color:#c0392b}tr.bad td.id{font-weight:600}td.id{white-space:nowrap}
.hint{color:#8a5a00;margin-top:2px}.hint::before{content:"→ "}
tr.todo td.mark{color:#999}
.charts{display:flex;flex-wrap:wrap;gap:16px}.charts svg{max-width:100%;height:auto;
 border:1px solid #e0e0e6;background:#fff}
figure{margin:8px 0}figure img{max-width:100%;border:1px solid #e0e0e6}
figcaption{font-size:12px;color:#555}
.arch{max-width:720px}
footer{margin-top:32px;font-size:12px;color:#666;border-top:1px solid #e4e4ea;padding-top:8px}
"""


def _number(value) -> float | None:
    """A finite number from the report (which may have been read back from JSON), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _heading(report: Report) -> str:
    """What the page calls the exercise: the report's own heading (its exercise's)."""
    return str(report.info.get("exercise_heading") or "Keras exercise")


def _header(report: Report) -> str:
    passed = report.passed
    reason = main_reason(report.to_dict())
    status = "all checks passed" if passed else f"main reason: {escape(reason, 200)}"
    parts = [f'<h1>{escape(_heading(report), 80)}: your grader report</h1>'
             f'<p class="muted">{escape(report.submission, 300)}</p>',
             f'<div class="score{" ok" if passed else ""}">{report.score:g} / '
             f'{report.max_score:g}</div><p>{status}</p>']
    note = graded_model_note(report)
    if note:
        parts.append(f'<p class="graded">{escape(note, 400)}</p>')
    if report.tampered:
        parts.append(f'<div class="note"><b>Tampered:</b> {escape(report.tampered, 300)}. The '
                     "checks that rest on what your script reported score 0.</div>")
    if report.not_started:
        parts.append('<div class="note"><b>Not started:</b> this is still the starter template. '
                     "Fill in the TODOs of every step, then grade it again.</div>")
    return "".join(parts)


def _checklist(report: Report) -> str:
    rows = []
    for check in report.checks:
        mark = "✓" if check.passed else "✗"
        hint = f'<div class="hint">{escape(check.hint, 1000)}</div>' \
            if check.hint and not check.passed else ""
        rows.append(f'<tr class="{"ok" if check.passed else "bad"}" id="check-{escape(check.id)}">'
                    f'<td class="mark">{mark}</td><td class="id">{escape(check.id)}</td>'
                    f'<td>{escape(check.message, 2000)}{hint}</td>'
                    f'<td class="n">{check.score:g}/{check.max_score:g}</td></tr>')
    return f'<h2>Checklist</h2><table class="checks">{"".join(rows)}</table>'


def _accuracy(report: Report) -> str:
    metrics, info = report.metrics, report.info
    accuracy = _number(metrics.get("test_accuracy"))
    threshold = _number(metrics.get("accuracy_threshold"))
    lines = []
    if accuracy is None:
        lines.append("<p>The grader could not train your model, so there is no accuracy "
                     "(see the checklist).</p>")
    else:
        flag = ('<span class="badge warn">borderline</span> close to the threshold: a different '
                "seed could land on the other side" if metrics.get("borderline") is True else "")
        needs = f" (needs &gt; {threshold:g})" if threshold is not None else ""
        lines.append(f"<p>Grader's test accuracy: <b>{accuracy:.4f}</b>{needs}, from the "
                     f"grader's own training run on its own data. {flag}</p>")
    trials = metrics.get("trial_accuracies")
    if isinstance(trials, list) and trials:
        values = [v for v in (_number(t) for t in trials[:100]) if v is not None]
        spread = _number(metrics.get("accuracy_spread"))
        spread_text = f"; spread {spread:.4f}" if spread is not None else ""
        lines.append(f"<p>Trials: {len(values)} runs with different seeds gave "
                     f"{', '.join(f'{v:.4f}' for v in values)} (the score uses their median"
                     f"{spread_text}).</p>")
    own = _number(metrics.get("script_accuracy"))
    if own is not None and info.get("mode") == "full":
        lines.append(f"<p class='muted'>Your script's own test accuracy: {own:.4f} (its own "
                     "data, seed and initialisation).</p>")
    elif own is not None and info.get("script_training_shortened"):
        lines.append(f"<p class='muted'>Your script's own test accuracy: {own:.4f}, after "
                     "fast mode's shortened training (the grader trains your model fully itself; "
                     "grade with --full to run your script unchanged).</p>")
    return "<h2>Accuracy</h2>" + "".join(lines)


def _curves(report: Report) -> str:
    history = report.history if isinstance(report.history, dict) else {}
    charts = []
    for title, keys in CURVES:
        series = {LEGEND[k]: history[k] for k in keys if isinstance(history.get(k), list)}
        if series:
            charts.append(line_chart(series, title))
    if not charts:
        return ("<h2>Learning curves</h2><p class='muted'>No per-epoch curves in this report "
                "(the grader's training run did not record them).</p>")
    epochs = max(len(history[k]) for _, keys in CURVES for k in keys
                 if isinstance(history.get(k), list))  # the run's own length, not a sheet's
    return ("<h2>Learning curves</h2><p class='muted'>The grader's own training run of your "
            f"model ({epochs} epochs on its own data, part of the training rows held out for "
            "validation). A validation loss that rises while the training loss falls is "
            "overfitting.</p>"
            f'<div class="charts">{"".join(charts)}</div>')


def _architecture(report: Report) -> str:
    flagged: dict[int, list[str]] = {}
    for check in report.checks:
        for index in check.layers if not check.passed else ():
            if isinstance(index, int) and not isinstance(index, bool):
                flagged.setdefault(index, []).append(check.id)
    view = describe(report.architecture)
    widest = max([layer.units or 1 for layer in view.layers] + [2])
    legend = ("<p class='muted'>Your model, input at the top. Layers outlined in red are the "
              "ones a failed check is about.</p>" if flagged else
              "<p class='muted'>Your model, input at the top.</p>")
    return f"<h2>Your architecture</h2>{legend}{architecture_html(view, set(), widest, flagged)}"


def png_data_uri(encoded) -> str | None:
    """A data URI for a base64 PNG, or None when it does not decode to a PNG."""
    if not isinstance(encoded, str):
        return None
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not data.startswith(PNG_MAGIC):
        return None
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _figures(report: Report) -> str:
    if not report.figures:
        return ""
    shown = []
    for n, figure in enumerate(report.figures, 1):
        figure = figure if isinstance(figure, dict) else {}
        title = escape(figure.get("title") or f"Figure {n}", 200)
        plotted = figure.get("plotted") if isinstance(figure.get("plotted"), list) else []
        caption = title + (f" · plots {escape(', '.join(map(str, plotted)), 300)}"
                           if plotted else "")
        uri = png_data_uri(figure.get("png_base64"))
        if uri is None:
            shown.append(f"<p class='muted'>{title}: not shown (it is not a PNG image).</p>")
        else:
            shown.append(f'<figure><img src="{uri}" alt="{title}"><figcaption>{caption}'
                         "</figcaption></figure>")
    return "<h2>Your figures</h2>" + "".join(shown)


def _bonus(report: Report) -> str:
    if not report.bonus:
        return ""
    scored = any(b.max_score for b in report.bonus)
    rows = []
    for bonus in report.bonus:
        points = f"+{bonus.score:g}/{bonus.max_score:g}" if bonus.max_score else ""
        rows.append(f'<tr class="{"ok" if bonus.done else "todo"}"><td class="mark">'
                    f'{"✓" if bonus.done else "○"}</td><td class="id">{escape(bonus.id)}</td>'
                    f'<td>{escape(bonus.message, 1000)}</td><td class="n">{points}</td></tr>')
    about = ("extra credit beyond the maximum score" if scored else "optional, not scored")
    return (f"<h2>Bonus challenges</h2><p class='muted'>From the exercise sheet ({about}).</p>"
            f'<table class="checks">{"".join(rows)}</table>')


def _footer(report: Report) -> str:
    info = report.info
    fields = [("grader", info.get("grader_version")), ("TensorFlow", info.get("tensorflow")),
              ("Keras", info.get("keras")),
              ("retrained with", retrain_engine(info)),
              ("rubric", info.get("rubric_sha256")),
              ("data seed", info.get("data_seed")), ("mode", info.get("mode"))]
    text = " · ".join(f"{name} {escape(value, 60)}" for name, value in fields if value is not None)
    missing = info.get("missing_protections")
    note = (f"<br>This machine could not apply these sandbox protections: "
            f"{escape(', '.join(map(str, missing)), 500)}" if isinstance(missing, list) and missing
            else "")
    return f"<footer>{text}{note}</footer>"


def render(report: Report) -> str:
    """The whole page for one report."""
    report = shown(report)
    body = "".join((_header(report), _checklist(report), _accuracy(report), _curves(report),
                    _architecture(report), _figures(report), _bonus(report), _footer(report)))
    return page(f"{_heading(report)}: grader report, {report.score:g}/{report.max_score:g}",
                body, _CSS)
