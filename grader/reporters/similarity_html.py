"""similarity.html: the top pairs side by side, matching code marked, both architectures drawn.

Only formats a finished ``grader.core.similarity.Result``. Everything that came from a
submission (ids, code, layer names, settings) is untrusted: control and bidirectional-override
characters are replaced, lengths are capped, every piece of text is escaped
(``grader.reporters.page``, the shell and drawing the student's HTML report shares). One
self-contained file: inline CSS, no script, no external address. The command that compared the
class writes it (``grader.similarity.write_files``).
"""

from __future__ import annotations

import html
from typing import Mapping

from grader.version import __version__
from grader.reporters.page import architecture_html, clean, escape as _e, page
from grader.core.similarity import Pair, Result, Student, describe

MAX_SHOWN_CHARS = 30_000  # of each source, per pair
MAX_NAME = 80

_CSS = """
.below{color:#555;background:#e4e4ea;border-radius:3px;padding:0 5px;font-size:12px}
.side{display:grid;grid-template-columns:1fr 1fr;gap:16px}.side>div{min-width:0}
pre .ln{color:#aaa;display:inline-block;width:3.2em;user-select:none}
mark{background:#ffd54f;color:inherit}
ul.shared{margin:4px 0 4px 18px;padding:0}
"""


def code_html(code: str, spans) -> str:
    """The source with line numbers, its matching spans in <mark>, everything escaped."""
    code = clean(code)
    cut = len(code) > MAX_SHOWN_CHARS
    code = code[:MAX_SHOWN_CHARS]
    spans = [(max(0, a), min(b, len(code))) for a, b in spans if a < len(code)]
    out, position = [], 0
    for number, line in enumerate(code.split("\n"), 1):
        start, end = position, position + len(line)
        parts, at = [], start
        for a, b in spans:
            a, b = max(a, start), min(b, end)
            if a >= b:
                continue
            parts.append(html.escape(code[at:a]))
            parts.append(f"<mark>{html.escape(code[a:b])}</mark>")
            at = b
        parts.append(html.escape(code[at:end]))
        out.append(f'<span class="ln">{number}</span>{"".join(parts)}')
        position = end + 1
    if cut:
        out.append(f'<span class="ln"></span><i>… cut at {MAX_SHOWN_CHARS:,} characters</i>')
    return "<pre>" + "\n".join(out) + "</pre>"


def _badge(pair: Pair, threshold: float) -> str:
    return '<span class="flag">flagged</span>' if pair.score >= threshold else \
        '<span class="below">below threshold</span>'


def _accuracy(student: Student | None) -> str:
    if student is None or student.accuracy is None:
        return "—"
    return f"{student.accuracy:.4f}"


def pair_html(rank: int, pair: Pair, students: Mapping[str, Student], result: Result) -> str:
    threshold = float(result.settings["threshold"])
    a, b = students.get(pair.a), students.get(pair.b)
    rare = {s.key for s in pair.shared}
    views = [describe(s.architecture if s else None) for s in (a, b)]
    widest = max([layer.units or 1 for view in views for layer in view.layers] + [2])
    same = a and b and a.accuracy is not None and a.accuracy == b.accuracy
    accuracy = (f"Grader's accuracy: {_accuracy(a)} and {_accuracy(b)}"
                + (" (equal: a model with the same config trains to the same number)"
                   if same else ""))
    shared = "".join(f"<li>{_e(s.label, 120)} <span class='muted'>— {s.students} of "
                     f"{len(result.students)} students</span></li>" for s in pair.shared[:12])
    shared = (f"<h3>Architecture choices they share that few others made</h3>"
              f"<ul class='shared'>{shared}</ul>" if shared else
              "<p class='muted'>They share no architecture choice that is rare in this class.</p>")
    columns = "".join(
        f"<div><h3>{_e(student_id, MAX_NAME)} <span class='muted'>"
        f"{_e(s.submission if s else '', 120)}</span></h3>"
        f"{architecture_html(view, rare, widest)}"
        f"{code_html(s.code if s else '', spans)}</div>"
        for student_id, s, view, spans in ((pair.a, a, views[0], pair.spans_a),
                                           (pair.b, b, views[1], pair.spans_b)))
    return (f'<h2 id="pair-{rank}">{rank}. {_e(pair.a, MAX_NAME)} ↔ {_e(pair.b, MAX_NAME)} '
            f'{_badge(pair, threshold)}</h2>'
            f"<p>score <b>{pair.score:.2f}</b> · code {pair.code_score:.2f} · architecture "
            f"{pair.architecture_score:.2f} · {accuracy}</p>{shared}"
            f'<p class="muted">Marked: code both have that the boilerplate does not hold and '
            f'that no more than {float(result.settings["code_common_fraction"]):.0%} of the class '
            f'wrote.</p><div class="side">{columns}</div>')


def render(result: Result, students: Mapping[str, Student]) -> str:
    """The whole page."""
    settings = result.settings
    top = list(result.pairs[: int(settings["html_pairs"])])
    rows = "".join(
        f'<tr><td class="n">{i}</td><td><a href="#pair-{i}">{_e(p.a, MAX_NAME)}</a></td>'
        f'<td><a href="#pair-{i}">{_e(p.b, MAX_NAME)}</a></td><td class="n">{p.code_score:.2f}'
        f'</td><td class="n">{p.architecture_score:.2f}</td><td class="n"><b>{p.score:.2f}</b>'
        f'</td><td>{_badge(p, float(settings["threshold"]))}</td></tr>'
        for i, p in enumerate(top, 1))
    table = (f"<table><tr><th>#</th><th>a</th><th>b</th><th>code</th><th>architecture</th>"
             f"<th>score</th><th></th></tr>{rows}</table>" if top else
             "<p>No pair reaches the floor.</p>")
    clusters = "".join(f"<li>{', '.join(_e(m, MAX_NAME) for m in c)}</li>"
                       for c in result.clusters[:100])
    notes = "".join(f"<li>{_e(n, 600)}</li>" for n in result.notes)
    flagged = len(result.flagged())
    title = f"Similar submissions ({len(result.students)} students)"
    return page(title, f"""<h1>Similar submissions</h1>
<p class="muted">{len(result.students)} submissions compared · {len(result.pairs)} pairs at or
above the floor {float(settings["floor"]):.2f} · {flagged} flagged at or above the threshold
{float(settings["threshold"]):.2f} · sentiment-grader {_e(__version__)}</p>
<div class="note"><b>Evidence for a person to read, never a verdict.</b> Honest students of the
same exercise write alike and often build the same 256 → 128 → 64 model; a high score says where
to look, not what happened. <b>code</b>: how much of each submission's own code (not the starter
template or the sheet, not what much of the class wrote) the other one holds, robust to renamed
variables, reordered statements, comments and layout; full only when that is a substantial amount
of uncommon code. <b>architecture</b>: the model choices both
made that are rare in this class (widths, rates, factors, names, optimizer settings, seeds),
weighted by how rare. <b>score</b> = 1 − (1 − code) × (1 − architecture).</div>
{f"<h3>Notes</h3><ul>{notes}</ul>" if notes else ""}
<h3>Clusters of flagged pairs</h3>
{f"<ul>{clusters}</ul>" if clusters else "<p class='muted'>None.</p>"}
<h3>Top pairs</h3>
{table}
{"".join(pair_html(i, p, students, result) for i, p in enumerate(top, 1))}
<p class="muted">Settings (the rubric's [similarity] table):
{_e(_settings_text(settings), 2000)}</p>""", _CSS)


def _settings_text(settings: Mapping) -> str:
    return ", ".join(f"{k}={v if not isinstance(v, tuple) else list(v)}"
                     for k, v in settings.items() if k != "boilerplate") + \
        f"; boilerplate: {', '.join(str(p) for p in settings.get('boilerplate', ())) or 'none'}"
