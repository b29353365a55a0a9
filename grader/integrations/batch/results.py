"""A batch's results on disk, written as each arrives: reports/<id>.json, .txt and .html,
Gradescope's results.json, grades.csv and timings.csv; a record is reused while its resume key
holds."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Iterable

from grader.files import atomic_write
from grader.core.rubric import Rubric
from grader.pipeline import GRADER_ERROR, guarded
from grader.report import Report, main_reason
from grader.sources import SUFFIXES
from grader.text import csv_cell, inert
from grader.integrations.batch.submissions import SCHEMA, Clock, Submission

CSV_INTERVAL_SECONDS = 1.0


def save_source(out: Path, submission: Submission, contents: dict[str, bytes]) -> None:
    """``sources/<id>.py|.ipynb``: the graded file as graded, so that ``python -m grader
    similarity`` works from RESULTS_DIR alone; none when nothing is graded."""
    keep = None
    if submission.graded:
        keep = Path(out) / "sources" / f"{submission.student}{Path(submission.graded).suffix}"
        data = contents[submission.graded]
        if not keep.is_file() or keep.read_bytes() != data:
            atomic_write(keep, data)
    for suffix in SUFFIXES:
        stale = Path(out) / "sources" / f"{submission.student}{suffix}"
        if stale != keep:
            stale.unlink(missing_ok=True)


def valid_result(result: dict, student: str, rubric: Rubric) -> bool:
    """Is this a result record we can write (from disk or from a worker: validate it), with a
    report on the checks of the rubric's exercise?"""
    try:
        report = result["report"]
        return (result.get("schema") == SCHEMA and result.get("student") == student
                and isinstance(result.get("key"), str) and isinstance(report["score"], (int, float))
                and [c["id"] for c in report["checks"]] == list(rubric.points))
    except (KeyError, TypeError):
        return False


def feedback_files(report: dict) -> dict[str, str]:
    """What the student is sent, by suffix: ``.txt`` (exactly the terminal report they would
    see) and ``.html`` (the HTML report: the same, with curves, architecture and figures)."""
    return _feedback(Report.from_dict(report))


def _feedback(report: Report) -> dict[str, str]:
    from grader.reporters import FEEDBACK, FORMATS

    return {FORMATS[name].suffix: FORMATS[name].render(report) + ("\n" if name == "text" else "")
            for name in FEEDBACK}


def _json(record: dict) -> str:
    """A record as JSON: every character past ASCII escaped, so that the file holds no control
    or bidi character even where the student id (a file name) has some."""
    return json.dumps(record, indent=2, ensure_ascii=True, sort_keys=True, allow_nan=False) + "\n"


class Results:
    """RESULTS_DIR: one record per student, written as each arrives; the CSVs derive from them.

    Per student: ``reports/<id>.json`` (the record: the JSON report and the resume key),
    ``reports/<id>.txt`` and ``.html`` (the feedback to send), ``gradescope/<id>/results.json``.
    A report that cannot be formatted is that student's grader error (``guarded``), not final.
    """

    def __init__(self, folder: Path, clock: Clock = time.monotonic, rubric: Rubric | None = None):
        from grader.rubric import load_rubric

        self.rubric = rubric or load_rubric()
        self.folder = Path(folder)
        self.reports = self.folder / "reports"
        self.records: dict[str, dict] = {}
        self.clock = clock
        self._written: float | None = None

    def load(self) -> dict[str, dict]:
        """Records of an earlier run (leftover temporary files of a killed run are removed)."""
        for leftover in self.folder.rglob(".*.tmp"):
            leftover.unlink(missing_ok=True)
        found = {}
        for path in sorted(self.reports.glob("*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(record, dict) and valid_result(record, path.stem, self.rubric):
                found[path.stem] = record
        return found

    def add(self, student: str, record: dict) -> dict:
        """Write one student's record and feedback files (the record last: it marks them done);
        the record as written."""
        record = self._write_feedback(student, record)
        atomic_write(self.reports / f"{student}.json", _json(record))
        self.records[student] = record
        return record

    def keep(self, student: str, record: dict) -> None:
        """Reuse an earlier record (writing its feedback files if an older grader did not)."""
        if not (self.reports / f"{student}.txt").exists():
            record = self._write_feedback(student, record)
        self.records[student] = record

    def merge(self, earlier: dict[str, dict], order: list[str]) -> list[str]:
        """Keep an earlier run's record for each student in ``order`` this run has none for (it
        was interrupted before regrading them), so that the tables hold every result saved on
        disk, never fewer rows than before; the students it kept, in order."""
        taken = [s for s in order if s not in self.records and s in earlier]
        for student in taken:
            self.keep(student, earlier[student])
        return taken

    def _write_feedback(self, student: str, record: dict) -> dict:
        """Write the feedback files and Gradescope's results.json; the record, with the grader
        error's report instead when its report cannot be formatted."""
        from grader.reporters import FORMATS

        def files(report: Report) -> tuple[dict, dict[Path, str]]:
            out = {self.reports / f"{student}{suffix}": text
                   for suffix, text in _feedback(report).items()}
            out[self.folder / "gradescope" / student / "results.json"] = \
                FORMATS["gradescope"].render(report) + "\n"
            return report.to_dict(), out

        report, (data, out) = guarded(inert(student, 200), self.rubric,
                                      lambda: Report.from_dict(record["report"]), files)
        for path, text in out.items():
            atomic_write(path, text)
        return {**record, "report": data,
                "final": bool(record.get("final")) and report.reason != GRADER_ERROR}

    def write_tables(self, order: list[str], force: bool = False) -> None:
        """Rewrite grades.csv and timings.csv (at most once a second unless ``force``)."""
        now = self.clock()
        if not force and self._written is not None and now - self._written < CSV_INTERVAL_SECONDS:
            return
        rows = [self.records[s] for s in order if s in self.records]
        atomic_write(self.folder / "grades.csv", grades_csv(rows, tuple(self.rubric.points)))
        atomic_write(self.folder / "timings.csv", timings_csv(rows))
        self._written = now


def _number(value) -> str:
    return "" if value is None else f"{float(value):g}"


def csv_note(record: dict) -> str:
    """grades.csv's note: the main reason for a low score in a few words, then how the
    submission was read ("graded sentiment_classifier.py, the file named like the assignment")."""
    if not record.get("final"):
        return "grader error: graded again on the next run"
    parts = [main_reason(record["report"]), record.get("note", "")]
    return "; ".join(part for part in parts if part)


def grades_csv(records: Iterable[dict], check_ids: tuple[str, ...]) -> str:
    """One row per student (in the given order): totals and per-check scores (``check_ids``, the
    exercise's); no timings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "submission", "score", "max_score", "passed", *check_ids,
                     "test_accuracy", "note"])
    for record in records:
        report = record["report"]
        points = {c["id"]: c["score"] for c in report["checks"]}
        accuracy = report.get("metrics", {}).get("test_accuracy")
        writer.writerow([csv_cell(record["student"]), csv_cell(report["submission"]),
                         _number(report["score"]), _number(report["max_score"]),
                         "yes" if report["passed"] else "no",
                         *(_number(points[c]) for c in check_ids),
                         "" if accuracy is None else f"{accuracy:.4f}", csv_cell(csv_note(record))])
    return out.getvalue()


def timings_csv(records: Iterable[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "seconds", "script_seconds", "retrain_seconds", "retrain_cached",
                     "worker"])
    for record in records:
        metrics = record["report"].get("metrics", {})
        writer.writerow([csv_cell(record["student"]), _number(record.get("seconds")),
                         _number(metrics.get("run_seconds")), _number(metrics.get("train_seconds")),
                         metrics.get("train_cached", ""), csv_cell(record.get("worker") or "")])
    return out.getvalue()
