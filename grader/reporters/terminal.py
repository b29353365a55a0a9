"""The student's view: a checklist with messages and hints, the score, and where it came from."""

from __future__ import annotations

import sys
import textwrap
import time

from grader.report import Report

FANCY = {"pass": "✓", "fail": "✗", "hint": "→", "dot": "·"}
PLAIN = {"pass": "[x]", "fail": "[ ]", "hint": "->", "dot": "|"}


def marks_for(stream) -> dict[str, str]:
    """Fancy marks only where the console can encode them (not on a cp1252 Windows console)."""
    try:
        "".join(FANCY.values()).encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return PLAIN
    return FANCY


def render(report: Report, marks: dict[str, str] = FANCY, width: int = 100) -> str:
    info, metrics = report.info, report.metrics
    name = report.submission
    lines = [f"Sentiment classifier grader {info.get('grader_version', '')} {marks['dot']} {name}", ""]
    if report.tampered:
        lines += [f"Tampered: {report.tampered}. The checks that rest on what your script "
                  "reported score 0.", ""]
    if report.not_started:
        lines += ["Not started: this is still the starter template. Fill in the TODOs in steps "
                  "1-6, then grade it again.", ""]
    label_width = max(len(c.id) for c in report.checks) + 2
    indent = " " * (len(marks["pass"]) + 1 + label_width)
    checks = report.checks
    for i, check in enumerate(checks):
        mark = marks["pass"] if check.passed else marks["fail"]
        points = f"{check.score:g}/{check.max_score:g}"
        head = f"{mark} {check.id.ljust(label_width)}"
        following = checks[i + 1] if i + 1 < len(checks) else None
        same_as_next = following is not None and not check.passed and not following.passed and \
            (following.message, following.hint) == (check.message, check.hint)
        if (report.not_started or same_as_next) and not check.passed:
            lines.append(f"{head}{points}")  # one explanation serves a run of identical failures
            continue
        text = f"{check.message}  ({points})"
        wrapped = textwrap.wrap(text, width - len(indent)) or [""]
        lines.append(head + wrapped[0])
        lines += [indent + more for more in wrapped[1:]]
        if check.hint and not check.passed:
            hint = textwrap.wrap(f"{marks['hint']} {check.hint}", width - len(indent))
            lines += [indent + part for part in hint]
    lines.append("")
    lines.append(f"Score: {report.score:g}/{report.max_score:g}"
                 + ("  (all checks passed)" if report.passed else ""))
    accuracy = metrics.get("test_accuracy")
    if accuracy is not None:
        flag = "  (borderline: within 0.02 of the threshold)" if metrics.get("borderline") else ""
        cached = ", cached" if metrics.get("train_cached") else ""
        lines.append(f"Grader's test accuracy: {accuracy:.4f} (needs > "
                     f"{metrics.get('accuracy_threshold'):g}; the grader's own 50-epoch run on its "
                     f"own data{cached}){flag}")
    own = metrics.get("script_accuracy")
    if own is not None:
        if info.get("mode") == "full":
            lines.append(f"Your script's own test accuracy: {own:.4f}. It differs from the "
                         "grader's because the data, the seed and the weight initialisation differ.")
        elif info.get("script_training_shortened"):
            lines.append(f"Your script's own test accuracy: {own:.4f}, after shortened training "
                         "(one batch, to save time: the grader trains your model fully itself). "
                         "Run with --full to run your script unchanged.")
    missing = info.get("missing_protections") or []
    if missing:
        lines.append("Note: this machine could not apply these sandbox protections: "
                     + ", ".join(missing))
    lines.append(f"TensorFlow {info.get('tensorflow')} {marks['dot']} Keras {info.get('keras')} "
                 f"{marks['dot']} rubric {info.get('rubric_sha256')} {marks['dot']} data seed "
                 f"{info.get('data_seed')} {marks['dot']} {info.get('seconds', 0):.1f} s")
    return "\n".join(lines)


class StatusLine:
    """A live one-line status on a terminal (silent elsewhere)."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.live = bool(getattr(stream, "isatty", lambda: False)())
        self.started = time.monotonic()

    def __call__(self, text: str) -> None:
        if self.live and text:
            elapsed = time.monotonic() - self.started
            self.stream.write(f"\r\033[K{text} ({elapsed:.0f} s)")
            self.stream.flush()

    def clear(self) -> None:
        if self.live:
            self.stream.write("\r\033[K")
            self.stream.flush()
