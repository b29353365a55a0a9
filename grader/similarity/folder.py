"""A batch's results folder as a class to compare, and the files the comparison leaves there.

``analyse`` reads ``reports/<id>.json`` and ``sources/<id>.py|.ipynb`` (it never runs a
submission) and compares them; ``write_files`` writes ``similarity.csv`` and the HTML page the
command had a reporter format (the library imports no reporter).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Iterable, Mapping

from grader.core.similarity import Result, Student
from grader.files import atomic_write
from grader.similarity.fingerprints import read_code
from grader.similarity.scores import compare
from grader.text import csv_cell

SOURCE_SUFFIXES = (".py", ".ipynb")


class SimilarityError(ValueError):
    """RESULTS_DIR cannot be read as the output of a batch."""


def _safe_id(student: str) -> bool:
    return bool(student) and Path(student).name == student and not student.startswith(".")


def class_ids(folder: Path) -> list[str]:
    """The students of the batch that wrote ``folder``: grades.csv's rows, else every report."""
    folder = Path(folder)
    if not (folder / "reports").is_dir():
        raise SimilarityError(f"{folder} holds no reports/ folder: run `python -m grader batch "
                              f"SUBMISSIONS --out {folder}` first")
    saved = sorted(path.stem for path in (folder / "reports").glob("*.json"))
    grades = folder / "grades.csv"
    if not grades.is_file():
        return saved
    # grades.csv shows each id as a spreadsheet-safe cell: map the cells back to the ids
    by_cell = {csv_cell(student): student for student in saved}
    with open(grades, newline="", encoding="utf-8", errors="replace") as handle:
        return [by_cell.get(row["student"], row["student"]) for row in csv.DictReader(handle)
                if row.get("student")]


def source_path(folder: Path, student: str) -> Path | None:
    """The graded file the batch saved for ``student`` (``sources/<id>.py`` or ``.ipynb``)."""
    for suffix in SOURCE_SUFFIXES:
        path = Path(folder) / "sources" / f"{student}{suffix}"
        if path.is_file():
            return path
    return None


def load_class(folder: Path, ids: Iterable[str] | None = None) -> tuple[list[Student], list[str]]:
    """The students of a results folder (or only ``ids``), and notes on what was left out."""
    folder = Path(folder)
    no_source, no_architecture, unreadable = [], [], []
    students = []
    for student in (class_ids(folder) if ids is None else list(ids)):
        if not _safe_id(student):
            unreadable.append(student[:40])
            continue
        try:
            report = json.loads((folder / "reports" / f"{student}.json").read_text("utf-8"))
            report = report["report"] if isinstance(report.get("report"), dict) else report
        except (OSError, ValueError, AttributeError):
            unreadable.append(student)
            continue
        path = source_path(folder, student)
        if path is None:
            no_source.append(student)
            continue
        try:
            code = read_code(path)
        except (OSError, ValueError):
            unreadable.append(student)
            continue
        architecture = report.get("architecture")
        if not isinstance(architecture, dict):
            no_architecture.append(student)
            architecture = None
        accuracy = (report.get("metrics") or {}).get("test_accuracy")
        students.append(Student(student, code, architecture,
                                str(report.get("submission", ""))[:200],
                                accuracy if isinstance(accuracy, (int, float)) else None))
    notes = []
    if no_source:
        notes.append(f"{len(no_source)} without a saved source (not graded, or graded before "
                     f"batches saved sources/), left out: {_some(no_source)}")
    if no_architecture:
        notes.append(f"{len(no_architecture)} without an architecture (no model was built, or "
                     f"the report predates it), compared on code only: {_some(no_architecture)}")
    if unreadable:
        notes.append(f"{len(unreadable)} whose report or source could not be read, left out: "
                     f"{_some(unreadable)}")
    return students, notes


def _some(names: list[str], limit: int = 10) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def read_boilerplate(paths: Iterable[str | Path]) -> tuple[list[str], list[str]]:
    """The boilerplate files' code, and notes on those that could not be read."""
    codes, notes = [], []
    for path in paths:
        try:
            codes.append(read_code(Path(path)))
        except (OSError, ValueError) as exc:
            notes.append(f"boilerplate {path} not read ({getattr(exc, 'strerror', None) or exc}): "
                         "its lines count as the students' own")
    return codes, notes


def analyse(folder: Path, settings: Mapping, extra_boilerplate: Iterable[str | Path] = (),
            ids: Iterable[str] | None = None) -> tuple[Result, dict[str, Student]]:
    """Read a results folder and compare its students (see ``compare``)."""
    settings = {**settings, "boilerplate": tuple(str(p) for p in [*settings["boilerplate"],
                                                                   *extra_boilerplate])}
    students, notes = load_class(folder, ids)
    codes, missing = read_boilerplate(settings["boilerplate"])
    result = compare(students, settings, codes, notes + missing)
    return result, {s.id: s for s in students}


def pairs_csv(result: Result) -> str:
    """similarity.csv: one row per pair at or above the floor, best first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["a", "b", "code_score", "architecture_score", "score"])
    for pair in result.pairs:
        writer.writerow([csv_cell(pair.a), csv_cell(pair.b), f"{pair.code_score:.4f}",
                         f"{pair.architecture_score:.4f}", f"{pair.score:.4f}"])
    return out.getvalue()


def write_files(folder: Path, result: Result, html: str) -> list[Path]:
    """Write similarity.csv and ``html`` (the page ``grader.reporters.similarity_html`` made of
    ``result``) as similarity.html into ``folder``, atomically; their paths."""
    folder = Path(folder)
    written = [folder / "similarity.csv", folder / "similarity.html"]
    atomic_write(written[0], pairs_csv(result))
    atomic_write(written[1], html)
    return written
