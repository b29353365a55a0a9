"""Reporters format a finished ``Report``; they never grade.

Each reporter first passes what it formats through ``shown`` (a ``Report``) or ``shown_dict``
(its JSON form, as batch keeps it on disk): every string made inert (``grader.text.inert``),
every number that is not finite replaced, and the numbers every reporter formats (the scores)
made numbers. A report read back from disk or sent by a cluster worker, or one whose values a
submission chose, is then still formatted without a traceback or a control character.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from grader.text import inert_data


@dataclass(frozen=True)
class ReportFormat:
    """One way to write a graded report: its name (``--format``), its file suffix, and the
    reporter module whose ``render(report: Report) -> str`` writes it (imported when used)."""

    name: str
    suffix: str
    module: str

    def render(self, report) -> str:
        return importlib.import_module(self.module).render(report)


# Every report format, the one list the CLI and batch read.
FORMATS = {f.name: f for f in (ReportFormat("text", ".txt", "grader.reporters.terminal"),
                               ReportFormat("json", ".json", "grader.reporters.json"),
                               ReportFormat("html", ".html", "grader.reporters.html"),
                               ReportFormat("gradescope", ".json", "grader.reporters.gradescope"))}
PRINTED = ("text", "json")  # what ``python -m grader --format`` prints
FEEDBACK = ("text", "html")  # what batch writes for each student to read (reports/<id>.<suffix>)

_KEEP = frozenset({"png_base64"})  # validated as a PNG where it is shown (HTML), never printed


def _float(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _entries(value) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def shown_dict(report: dict) -> dict:
    """A report dict (``Report.to_dict()``) safe to format: inert strings, finite numbers, the
    scores as floats, ``checks``/``bonus``/``figures`` as lists of dicts, ``metrics``/``info``
    as dicts."""
    data = inert_data(report if isinstance(report, dict) else {}, keep=_KEEP)
    checks = [{"id": str(c.get("id") or "?"), "passed": c.get("passed") is True,
               "score": _float(c.get("score")), "max_score": _float(c.get("max_score")),
               "message": str(c.get("message") or ""), "hint": str(c.get("hint") or ""),
               "layers": [i for i in c.get("layers") or [] if isinstance(i, int)
                          and not isinstance(i, bool)] if isinstance(c.get("layers"), list)
               else []}
              for c in _entries(data.get("checks"))]
    bonus = [{"id": str(b.get("id") or "?"), "done": b.get("done") is True,
              "message": str(b.get("message") or ""), "score": _float(b.get("score")),
              "max_score": _float(b.get("max_score"))} for b in _entries(data.get("bonus"))]
    return {**data, "submission": str(data.get("submission") or ""), "checks": checks,
            "bonus": bonus, "score": _float(data.get("score")),
            "max_score": _float(data.get("max_score")),
            "passed": bool(checks) and all(c["passed"] for c in checks),
            "not_started": data.get("not_started") is True,
            "tampered": bool(data.get("tampered")),
            "tampered_reason": str(data.get("tampered_reason") or ""),
            "reason": str(data.get("reason") or ""),
            "metrics": data.get("metrics") if isinstance(data.get("metrics"), dict) else {},
            "info": data.get("info") if isinstance(data.get("info"), dict) else {},
            "architecture": data.get("architecture") if isinstance(data.get("architecture"),
                                                                   dict) else None,
            "history": data.get("history") if isinstance(data.get("history"), dict) else None,
            "figures": [f if isinstance(f, dict) else {} for f in data.get("figures") or []]
            if isinstance(data.get("figures"), list) else []}


def shown(report):
    """A ``Report`` safe to format (``shown_dict`` of its JSON form, as a ``Report`` again)."""
    import dataclasses

    from grader.report import Report

    # a figure that is no dict is still one the page says it does not show
    report = dataclasses.replace(report, figures=tuple(f if isinstance(f, dict) else {}
                                                       for f in report.figures or ()))
    return Report.from_dict(shown_dict(report.to_dict()))
