"""The student's view: a checklist with messages and hints, the score, and where it came from.

``render`` gives the report as plain text (what a pipe, a CI log and batch's ``reports/<id>.txt``
get); ``show`` prints the same lines through rich, coloured where the terminal has colour.
``console_for`` is the one place a rich console is made: rich detects whether the stream is a
terminal (plain text for pipes and CI; ``NO_COLOR`` and ``FORCE_COLOR`` are honoured), and marks
fall back to ASCII where the stream cannot encode them (a cp1252 console).
"""

from __future__ import annotations

import sys
import time
from typing import Callable

from rich.console import Console
from rich.text import Text

from grader.checks import own_accuracy
from grader.report import Report, retrain_engine
from grader.reporters import shown as _shown
from grader.text import inert

FANCY = {"pass": "✓", "fail": "✗", "hint": "→", "dot": "·", "todo": "○"}
PLAIN = {"pass": "[x]", "fail": "[ ]", "hint": "->", "dot": "|", "todo": "[ ]"}
WIDTH = 100
PASS, FAIL, HINT, DIM, BOLD = "bold green", "bold red", "yellow", "dim", "bold"


def marks_for(stream) -> dict[str, str]:
    """Fancy marks only where the console can encode them (not on a cp1252 Windows console)."""
    try:
        "".join(FANCY.values()).encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return PLAIN
    return FANCY


def console_for(stream) -> Console:
    """A rich console on ``stream``: colour and live output only where it is a terminal."""
    return Console(file=stream, highlight=False, soft_wrap=True, emoji=False)


def _chunks(text: str) -> list[str]:
    """``text`` split at the spaces outside code: a call, an index or a string literal
    (``print(f'Test accuracy: {accuracy:.4f}')``, ``Dense(1, activation='sigmoid')``) is one
    chunk, never broken; prose in parentheses and apostrophes ("the grader's") still wrap."""
    chunks, current, opened, quote = [], "", [], ""
    for i, char in enumerate(text):
        before = text[i - 1] if i else " "
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`" and (not before.isalnum() or (
                before in "frbuFRBU" and not (text[i - 2] if i > 1 else " ").isalnum())):
            quote = char
        elif char in "([{":
            opened.append(char != "(" or before.isalnum() or before in "_.)]")
        elif char in ")]}" and opened:
            opened.pop()
        if char == " " and not any(opened) and not quote:
            chunks.append(current)
            current = ""
        else:
            current += char
    return chunks + [current]


def wrap_code_safe(text: str, width: int) -> list[str]:
    """``text`` wrapped at ``width`` without ever breaking code: a bracketed or quoted piece that
    does not fit on the line goes to the next one whole (and may run past ``width``)."""
    out, line = [], ""
    for chunk in _chunks(text):
        if line and len(line) + 1 + len(chunk) > width:
            out.append(line.rstrip())
            line = chunk
        else:
            line = f"{line} {chunk}" if line else chunk
    return out + [line] if line or not out else out


def _number(value) -> float | None:
    """A number the report holds, else None (it may have been read back from JSON)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def lines(report: Report, marks: dict[str, str] = FANCY, width: int = WIDTH) -> list[Text]:
    """The report as styled lines (``Text.plain`` of each is the plain report)."""
    report = _shown(report)
    info, metrics = report.info, report.metrics
    noun = "notebook" if report.submission.endswith(".ipynb") else "script"
    heading = inert(str(info.get("exercise_heading") or "Keras exercise"), 80)
    out = [Text.assemble((f"{heading} grader {info.get('grader_version', '')}", BOLD),
                         f" {marks['dot']} {report.submission}"), Text()]
    if report.tampered:
        out += [Text(f"Tampered: {report.tampered}. The checks that rest on what your {noun} "
                     "reported score 0.", BOLD), Text()]
    if report.not_started:
        out += [Text("Not started: this is still the starter template. Fill in the TODOs in steps "
                     "1-6, then grade it again.", HINT), Text()]
    label_width = max((len(c.id) for c in report.checks), default=4) + 2
    indent = " " * (len(marks["pass"]) + 1 + label_width)
    first_with = {}  # (message, hint) -> the first failed check that says it
    for check in report.checks:
        mark = Text(marks["pass"], PASS) if check.passed else Text(marks["fail"], FAIL)
        points = f"{check.score:g}/{check.max_score:g}"
        head = Text.assemble(mark, " ", (check.id.ljust(label_width), BOLD if not check.passed else ""))
        message = check.message
        if not check.passed:
            said = first_with.setdefault((check.message, check.hint), check.id)
            if said != check.id:  # one cause, shown once: the others point to it
                out.append(head + Text(f"same reason as {said} above  ({points})", DIM))
                continue
        wrapped = wrap_code_safe(f"{message}  ({points})", width - len(indent)) or [""]
        body = [Text(part) for part in wrapped]
        body[-1].highlight_regex(r"\(\d[\d.]*/[\d.]+\)$", DIM)
        out.append(head + body[0])
        out += [Text(indent) + part for part in body[1:]]
        if check.hint and not check.passed and not report.not_started:
            hint = wrap_code_safe(f"{marks['hint']} {check.hint}", width - len(indent))
            out += [Text(indent) + Text(part, HINT) for part in hint]
    if report.figures:
        shown = "; ".join(
            (f"“{f.get('title')}”" if f.get("title") else "untitled")
            + (f" (plots {', '.join(map(str, f.get('plotted')))})"
               if isinstance(f.get("plotted"), list) and f.get("plotted") else "")
            for f in report.figures)
        count = len(report.figures)
        out += [Text()] + [Text(part) for part in wrap_code_safe(
            f"Figures: {count} captured from your {noun}: {shown}", width)]
    out += bonus_lines(report, marks, width)
    out.append(Text())
    note = graded_model_note(report)
    if note:
        out += [Text(part) for part in wrap_code_safe(note, width)]
    out.append(Text(f"Score: {report.score:g}/{report.max_score:g}"
                    + ("  (all checks passed)" if report.passed else ""),
                    "bold green" if report.passed else BOLD))
    accuracy, threshold = _number(metrics.get("test_accuracy")), metrics.get("accuracy_threshold")
    if accuracy is not None:
        flag = "  (borderline: within 0.02 of the threshold)" if metrics.get("borderline") else ""
        cached = ", cached" if metrics.get("train_cached") else ""
        needs = f"needs > {threshold:g}; " if isinstance(threshold, (int, float)) else ""
        trials = metrics.get("trial_accuracies")
        trials = trials if isinstance(trials, list) else []
        runs = (f"the median of the grader's {len(trials)} runs on its own data seeds, spread "
                f"{_number(metrics.get('accuracy_spread')) or 0:.4f}" if len(trials) > 1
                else "the grader's own run on its own data")
        out.append(Text.assemble(f"Grader's test accuracy: {accuracy:.4f} ({needs}{runs}{cached})",
                                 (flag, HINT)))
    own = _number(metrics.get("script_accuracy"))
    if own is not None:
        if info.get("mode") == "full":
            said = (f"Your {noun}'s own test accuracy: {own:.4f}. It differs from the grader's "
                    "because the data, the seed and the weight initialisation differ.")
        elif info.get("script_training_shortened"):
            said = (f"Your {noun}'s own test accuracy: {own_accuracy(own, shortened=True)} "
                    f"(--full runs your {noun} unchanged).")
        else:
            said = ""
        out += [Text(part) for part in wrap_code_safe(said, width)] if said else []
    missing = info.get("missing_protections")
    if isinstance(missing, list) and missing:
        out.append(Text("Note: this machine could not apply these sandbox protections: "
                        + ", ".join(map(str, missing)), HINT))
    engine = retrain_engine(info)
    retrain = f" {marks['dot']} retrained with {engine}" if engine else ""
    out.append(Text(f"TensorFlow {info.get('tensorflow')} {marks['dot']} Keras {info.get('keras')}{retrain} "
                    f"{marks['dot']} rubric {info.get('rubric_sha256')} {marks['dot']} data seed "
                    f"{info.get('data_seed')} {marks['dot']} {_number(info.get('seconds')) or 0:.1f} s", DIM))
    return out


def graded_model_note(report: Report) -> str:
    """Which model the checks judged and why ("Graded model: `real`, trained and then
    evaluated on the test split."), "" when unknown or the evidence was tampered with; the
    terminal and HTML reports both show it."""
    graded = report.info.get("graded_model")
    return f"Graded model: {graded}." if isinstance(graded, str) and graded and \
        not report.tampered else ""


def bonus_heading(report: Report) -> str:
    """"Bonus challenges (optional, ...)": whether they earn extra credit under this rubric."""
    if any(b.max_score for b in report.bonus):
        return "Bonus challenges (optional: extra credit beyond the maximum score)"
    return "Bonus challenges (optional, not scored)"


def bonus_lines(report: Report, marks: dict[str, str] = FANCY, width: int = WIDTH) -> list[Text]:
    """The "Bonus challenges" section: one line per challenge of the exercise sheet."""
    if not report.bonus:
        return []
    out = [Text(), Text(bonus_heading(report), BOLD)]
    label_width = max((len(b.id) for b in report.bonus), default=4) + 2
    indent = " " * (len(marks["pass"]) + 1 + label_width)
    for bonus in report.bonus:
        mark = Text(marks["pass"], PASS) if bonus.done else Text(marks["todo"], DIM)
        points = f"  (+{bonus.score:g}/{bonus.max_score:g})" if bonus.max_score else ""
        wrapped = wrap_code_safe(bonus.message + points, width - len(indent)) or [""]
        out.append(Text.assemble(mark, " ", bonus.id.ljust(label_width), wrapped[0]))
        out += [Text(indent + part) for part in wrapped[1:]]
    return out


def render(report: Report, marks: dict[str, str] = FANCY, width: int = WIDTH) -> str:
    """The report as plain text."""
    return "\n".join(line.plain for line in lines(report, marks, width))


ASCII = {"→": "->", "·": "|", "✓": "[x]", "✗": "[ ]", "○": "[ ]", "≥": ">=", "≤": "<=", "…": "...",
         "—": "-", "–": "-", "━": "-"}


def encodable(text: str, encoding: str | None) -> str:
    """``text`` as ``encoding`` can show it: arrows and marks as ASCII, anything else as "?"."""
    encoding = encoding or "ascii"
    try:
        text.encode(encoding)
        return text
    except (UnicodeEncodeError, LookupError):
        pass
    text = "".join(ASCII.get(char, char) for char in text)
    try:
        return text.encode(encoding, errors="replace").decode(encoding)
    except LookupError:
        return text.encode("ascii", errors="replace").decode("ascii")


def styled(report: Report, console: Console) -> list[Text]:
    """The report's lines as ``console`` shows them (styled on a terminal, plain elsewhere).

    On a console that cannot encode the marks and arrows (cp1252), they become ASCII.
    """
    width = min(WIDTH, console.width) if console.is_terminal else WIDTH
    encoding = getattr(console.file, "encoding", None)
    marks = marks_for(console.file)
    return [Text(encodable(line.plain, encoding), line.style) if marks is PLAIN else line
            for line in lines(report, marks, width)]


def print_lines(styled_lines: list[Text], console: Console) -> None:
    for line in styled_lines:
        console.print(line, soft_wrap=True)


def show(report: Report, console: Console) -> None:
    """Print the report on ``console`` (``styled``)."""
    print_lines(styled(report, console), console)


class StatusLine:
    """A live one-line status on a terminal (silent elsewhere)."""

    def __init__(self, console: Console | None = None, clock: Callable[[], float] = time.monotonic):
        self.console = console if console is not None else console_for(sys.stderr)
        self.live = self.console.is_terminal
        self.clock = clock
        self.started = clock()
        self._status = None

    def __call__(self, text: str) -> None:
        if not (self.live and text):
            return
        shown = f"{text} ({self.clock() - self.started:.0f} s)"
        if self._status is None:
            self._status = self.console.status(shown, spinner="dots")
            self._status.start()
        else:
            self._status.update(shown)

    def clear(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
