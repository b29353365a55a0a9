"""Batch grading: ``python -m grader batch SUBMISSIONS_DIR --out RESULTS_DIR``.

A submissions folder holds one file per student (``alice.py``, ``bob.ipynb``; the id is the stem)
or one folder per student (``carol/…``; the id is the folder name, and every other file in it is
copied beside the graded one into that student's sandbox). Each submission becomes one task whose
payload carries its files as data (versioned JSON), and whose result is its report as data:

    find_submissions ─▶ payload ─▶ grade_payload (a worker slot: fork server + warm retrainer)
                                        └─▶ result ─▶ Results (reports/<id>.json, .txt, .html,
                                                      gradescope/, grades.csv, timings.csv)

Tasks run on local threads (one slot each; the work happens in the slot's processes) or, with
``--scheduler``, on a Dask distributed cluster through ``grade_task``. Results are written on this
side as each one arrives, atomically; a record is reused by a later run when its resume key (the
submission's content hash, the grader version, the rubric's hash, the data seed and the grading
options) is unchanged, so a killed batch resumes where it stopped and never grades twice;
``--only`` and ``--force`` regrade on request.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import csv
import dataclasses
import hashlib
import io
import json
import os
import queue
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from grader.version import __version__
from grader.files import atomic_write
from grader.integrations.lane import Lane
from grader.core.options import GradeOptions
from grader.core.rubric import Rubric
from grader.options import (Parser, add_grading_options, load_rubric_or_usage, options_from_args,
                            positive, usage_error)
from grader.pipeline import GRADER_ERROR, grader_error, guarded
from grader.report import Report, failure_report, main_reason
from grader.retrain.settings import setting_problem
from grader.exercise import get as get_exercise
from grader.rubric import parse_rubric
from grader.sources import MAX_FOLDER_BYTES, SKIPPED_DIRS, SUFFIXES, choose_file, folder_files
from grader.text import csv_cell, inert

Clock = Callable[[], float]

SCHEMA = 1
CSV_INTERVAL_SECONDS = 1.0
EXIT_DONE, EXIT_INCOMPLETE = 0, 1


# --- what to grade ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """One student's files, and which one is graded (None when that cannot be decided)."""

    student: str
    files: tuple[tuple[str, Path], ...]  # (name inside the sandbox, path on disk), sorted
    graded: str | None
    folder: bool = False
    note: str = ""
    problem: str = ""
    entry: str = ""  # top-level entries that are no submission (``grace.txt``): nothing is read

    @property
    def display(self) -> str:
        """How reports name it: ``alice.py``, ``carol/sentiment_classifier.py`` or ``grace.txt``."""
        if self.entry:
            return self.entry
        return f"{self.student}/{self.graded or ''}" if self.folder else (self.graded or "")


def _not_a_submission(path: Path) -> str:
    """Why a top-level entry is not graded ("" when it is a submission)."""
    if path.is_symlink():  # never followed: it could point at another student's files
        return f"{path.name} is a symbolic link; submit the file or folder itself"
    if not (path.is_dir() or path.is_file() and path.suffix in SUFFIXES):
        return f"{path.name} is not a .py, .ipynb or a folder"
    return ""


MAX_ID_BYTES = 150  # results files are named after the id (``reports/<id>.html``, temporary
# ``.<id>.html.<pid>.<thread>.tmp``) and a file name holds at most 255 bytes


def student_id(name: str) -> str:
    """The student id of an entry named ``name`` (a file's stem or a folder's name): the name
    itself, or for one too long to name the results files, its start and a hash of it."""
    raw = os.fsencode(name)
    if len(raw) <= MAX_ID_BYTES:
        return name
    short = name[:MAX_ID_BYTES]
    while len(os.fsencode(short)) > MAX_ID_BYTES - 12:
        short = short[:-1]
    return f"{short}~{_digest(raw)[:10]}"


def find_submissions(folder: Path, stem: str | None = None) -> tuple[list[Submission], list[str]]:
    """The submissions in ``folder``, sorted by student id, and the entries that were skipped;
    in a student's folder of several files, the one named ``stem`` (default: the default
    exercise's) is graded.

    A top-level entry that is no submission (another kind of file, a symbolic link) is a
    submission with nothing to grade, named by its stem, so that its student gets a row that
    says why; it is only skipped when a real submission has the same id (``alice.txt`` beside
    ``alice.py``).
    """
    entries: dict[str, list[Submission]] = {}
    strays: dict[str, list[tuple[str, str]]] = {}  # id -> (entry, why it is not graded)
    skipped = []
    for path in sorted(Path(folder).iterdir()):
        if path.name.startswith(".") or path.name in SKIPPED_DIRS:
            continue
        why = _not_a_submission(path)
        if why:
            student = student_id(path.name if path.is_dir() else path.stem)
            strays.setdefault(student, []).append((path.name, why))
        elif path.is_dir():
            files = folder_files(path)
            top = [name for name, _ in files if "/" not in name and name.endswith(SUFFIXES)]
            graded, note = choose_file(top, stem or get_exercise().stem)
            problem = "" if graded else note
            size = sum(p.stat().st_size for _, p in files)
            if graded and size > MAX_FOLDER_BYTES:
                graded, problem = None, (f"the folder holds {size // 2**20} MB; a submission may "
                                         f"hold at most {MAX_FOLDER_BYTES // 2**20} MB")
            student = student_id(path.name)
            entries.setdefault(student, []).append(
                Submission(student, tuple(files), graded, True, note if graded else "", problem))
        else:
            student = student_id(path.stem)
            entries.setdefault(student, []).append(
                Submission(student, ((path.name, path),), path.name))
    for student, found in strays.items():
        if student in entries:
            skipped += [name for name, _ in found]
        else:
            entries[student] = [Submission(student, (), None, problem="; ".join(
                why for _, why in found), entry=", ".join(name for name, _ in found))]
    submissions = []
    for student, found in sorted(entries.items()):
        if len(found) == 1:
            submissions.append(found[0])
            continue
        names = [f"{student}/" if f.folder else f.display for f in found]
        files = tuple(sorted({item for f in found for item in f.files}))
        submissions.append(Submission(student, files, None, True, problem=(
            f"several submissions for {student} ({', '.join(names)}): keep one")))
    return submissions, sorted(skipped)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stem(rubric: Rubric) -> str:
    return get_exercise(rubric.exercise_name).stem


def resume_key(submission: Submission, contents: dict[str, bytes], rubric,
               options: GradeOptions) -> str:
    """Content hash of every file, grader version, rubric hash, data seed and grading options."""
    manifest = {"schema": SCHEMA, "grader": __version__, "rubric": rubric.sha256,
                "seed": int(rubric.data["seed"]), "options": options.grading_key(),
                "graded": submission.graded,
                "files": [[name, _digest(contents[name])] for name, _ in submission.files]}
    if submission.problem:  # not graded: the row says why, so a new reason is a new row
        manifest["problem"] = submission.problem
    return _digest(json.dumps(manifest, sort_keys=True).encode())


def read_files(submission: Submission) -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in submission.files}


def make_payload(submission: Submission, contents: dict[str, bytes], key: str, rubric: Rubric,
                 options: GradeOptions) -> dict:
    """Everything a worker needs to grade one submission, as JSON-ready data."""
    return {"schema": SCHEMA, "student": submission.student, "display": submission.display,
            "graded": submission.graded, "key": key,
            "files": {name: base64.b64encode(data).decode() for name, data in contents.items()},
            "rubric": base64.b64encode(rubric.source).decode(), "exercise": rubric.exercise_name,
            "options": options.to_json()}


# --- the worker side --------------------------------------------------------------------------


class Slot(Lane):
    """A grading lane with a name (for timings.csv) that also reads the rubric a task carries."""

    def __init__(self, name: str, origin: Lane | None = None):
        super().__init__(origin=origin)
        self.name = name
        self._rubrics: dict[str, Rubric] = {}

    def rubric(self, raw: bytes, exercise: str | None = None) -> Rubric:
        digest = _digest(raw + b"\0" + str(exercise).encode())
        if digest not in self._rubrics:
            self._rubrics[digest] = parse_rubric(raw, "the batch's rubric", exercise)
        return self._rubrics[digest]


def grade_payload(payload: dict, slot: Slot, clock: Clock = time.monotonic) -> dict:
    """Grade one payload in ``slot``; the result as JSON-ready data (never raises for a student)."""
    if payload.get("schema") != SCHEMA:
        raise ValueError(f"batch payload schema {payload.get('schema')!r}; expected {SCHEMA}")
    started = clock()
    options = GradeOptions.from_json(payload["options"])
    rubric = slot.rubric(base64.b64decode(payload["rubric"]), payload.get("exercise"))
    files = {name: base64.b64decode(data) for name, data in payload["files"].items()}
    graded = payload["graded"]
    display = inert(payload["display"], 500)

    def make() -> Report:
        with tempfile.TemporaryDirectory(prefix="grader-batch-") as folder:
            path = Path(folder, graded)
            path.write_bytes(files[graded])
            report = slot.grade(path, options, rubric,
                                extra_files={n: b for n, b in files.items() if n != graded})
        return dataclasses.replace(report, submission=display)

    report, data = guarded(display, rubric, make, Report.to_dict)
    # a grader error (also a sandbox that failed before the script started): graded again
    return {"schema": SCHEMA, "student": payload["student"], "key": payload["key"],
            "final": report.reason != GRADER_ERROR, "report": data,
            "seconds": round(clock() - started, 2), "worker": slot.name}


_POOL: "queue.SimpleQueue[Slot]" = queue.SimpleQueue()
_POOL_SLOTS: list[Slot] = []
_POOL_LOCK = threading.Lock()


def _close_pool() -> None:
    for slot in _POOL_SLOTS:
        slot.close()


def grade_task(payload_json: str) -> str:
    """The cluster task: a payload as JSON in, a result as JSON out (one slot per running task)."""
    try:
        slot = _POOL.get_nowait()
    except queue.Empty:
        with _POOL_LOCK:
            if not _POOL_SLOTS:
                atexit.register(_close_pool)
            # host:pid names the cluster worker; a second slot in the same process gets a suffix
            name = f"{socket.gethostname()}:{os.getpid()}"
            slot = (Slot(f"{name}-{len(_POOL_SLOTS) + 1}", origin=_POOL_SLOTS[0]) if _POOL_SLOTS
                    else Slot(name))
            _POOL_SLOTS.append(slot)
    try:
        return json.dumps(grade_payload(json.loads(payload_json), slot))
    finally:
        _POOL.put(slot)


# --- where tasks run --------------------------------------------------------------------------

Done = Callable[[str, dict], None]  # (student, result) on the instructor's side


def run_local(payloads: list[dict], workers: int, rubric: Rubric, options: GradeOptions,
              done: Done) -> float:
    """Grade on this machine: ``workers`` threads, each driving its own slot's processes; the
    seconds spent starting them (imports, before the first submission)."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    # Slots start here, in the main thread: their processes die with it (PR_SET_PDEATHSIG).
    # The first slot's fork server imports TensorFlow; the others' are clones of it.
    started = time.monotonic()
    host = socket.gethostname()
    slots: list[Slot] = []
    for n in range(1, min(workers, len(payloads)) + 1):
        slots.append(Slot(f"{host}:local-{n}", origin=slots[0] if slots else None))
        slots[-1].warm_up(rubric, options)
    free: queue.SimpleQueue = queue.SimpleQueue()
    for slot in slots:  # importing in parallel; per-submission timings then exclude start-up
        slot.wait_ready()
        free.put(slot)
    start_up = time.monotonic() - started

    def task(payload: dict) -> dict:
        slot = free.get()
        try:
            return grade_payload(payload, slot)
        finally:
            free.put(slot)

    executor = ThreadPoolExecutor(max_workers=len(slots) or 1, thread_name_prefix="grade")
    try:
        pending = {executor.submit(task, p): p for p in payloads}
        while pending:
            finished, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                payload = pending.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001
                    result = _lost(payload, exc, rubric)
                done(payload["student"], result)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
        for slot in slots:
            slot.close()
        executor.shutdown(wait=True)
    return start_up


def run_cluster(payloads: list[dict], address: str, rubric: Rubric, done: Done) -> str:
    """Grade on a Dask distributed cluster; results come back as data. Returns a description."""
    from distributed import Client, as_completed

    with Client(address, timeout="60s") as client:
        workers = len(client.scheduler_info().get("workers", {}))
        futures = {}
        for payload in payloads:
            future = client.submit(grade_task, json.dumps(payload), pure=False,
                                   key=f"grade-{payload['student']}-{payload['key'][:12]}-"
                                       f"{os.urandom(4).hex()}")
            futures[future] = payload
        for future in as_completed(futures):
            payload = futures[future]
            try:
                result = json.loads(future.result())
            except Exception as exc:  # noqa: BLE001 - a lost worker costs this submission only
                result = _lost(payload, exc, rubric)
            done(payload["student"], result)
            future.release()
    return f"{workers} cluster worker{'s' * (workers != 1)} at {address}"


def not_graded_record(submission: Submission, key: str, rubric: Rubric) -> dict:
    """The record of a submission with nothing to grade (a folder without one file to grade,
    an entry that is no submission): 0 points, and why; final, so a rerun reuses it."""
    report = failure_report(submission.display, f"not graded: {submission.problem}",
                            "fix the submission folder and run the batch again", rubric,
                            note="not graded").to_dict()
    return {"schema": SCHEMA, "student": submission.student, "key": key, "final": True,
            "report": report, "seconds": None, "worker": None, "note": submission.problem}


def _lost(payload: dict, exc: BaseException, rubric: Rubric) -> dict:
    """The record of a task that failed outside ``grade_payload`` (a lost worker, a malformed
    result): ``grader_error``'s report, not final."""
    return {"schema": SCHEMA, "student": payload["student"], "key": payload["key"], "final": False,
            "report": grader_error(payload["display"], exc, rubric).to_dict(),
            "seconds": None, "worker": None}


# --- results on disk --------------------------------------------------------------------------


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


# --- the progress bar -------------------------------------------------------------------------


class Progress:
    """Count, failures (submissions that did not run to completion) and an ETA on stderr.

    A rich progress bar on a terminal; elsewhere (a pipe, CI) one plain line per submission.
    The ETA comes from measured durations: the mean grading time of this run's submissions, times
    the submissions left, divided by the workers, counting down between results on ``clock``.
    """

    def __init__(self, total: int, already: int, *, workers: int = 1, console=None,
                 quiet: bool = False, clock: Clock = time.monotonic):
        from grader.reporters.terminal import console_for

        self.total, self.done, self.failures = total, already, 0
        self.workers = max(1, workers)
        self.durations: list[float] = []
        self.console = console if console is not None else console_for(sys.stderr)
        self.quiet, self.clock = quiet, clock
        self.live = self.console.is_terminal and not quiet
        self._last = clock()
        self._bar = None

    def eta(self) -> float | None:
        """Seconds left; None while unknown (before the first measured duration, or once the
        countdown ran out with submissions still running: they take longer than the mean)."""
        left = self.total - self.done
        if not left:
            return 0.0
        if not self.durations:
            return None
        mean = sum(self.durations) / len(self.durations)
        remaining = mean * left / min(self.workers, left) - (self.clock() - self._last)
        return remaining if remaining >= 0.5 else None

    def eta_text(self) -> str:
        eta = self.eta()
        return "--" if eta is None else _duration(eta)

    def line(self) -> str:
        """The plain progress text (what a pipe or CI log gets after each submission)."""
        return (f"{self.done}/{self.total} graded, {self.failures} failed to run, "
                f"ETA {self.eta_text()}")

    def start(self) -> None:
        if self.live and self._bar is None:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar,
                                       ProgressColumn, TextColumn)
            from rich.text import Text

            owner = self

            class EtaColumn(ProgressColumn):
                def render(self, task) -> Text:
                    return Text(f"ETA {owner.eta_text()}", style="progress.remaining")

            self._bar = Bar(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("graded, {task.fields[failures]} failed to run"),
                            EtaColumn(), console=self.console, transient=False)
            self._task = self._bar.add_task("grading", total=self.total, completed=self.done,
                                            failures=0)
            self._bar.start()

    def update(self, student: str, record: dict) -> None:
        self.done += 1
        self._last = self.clock()
        if record.get("seconds") is not None:
            self.durations.append(float(record["seconds"]))
        runs = next(c for c in record["report"]["checks"] if c["id"] == "runs")
        self.failures += not runs["passed"]
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, failures=self.failures)
        else:
            report = record["report"]
            self.console.print(f"{inert(student, 200)}: {report['score']:g}/{report['max_score']:g}  "
                               f"{self.line()}", highlight=False, markup=False, soft_wrap=True)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


# --- the command ------------------------------------------------------------------------------


class _Parser(Parser):
    """The batch's parser: a usage error caused by an id that starts with '-' after ``--only``
    (argparse reads it as an option) says how to give that id."""

    def parse_known_args(self, args=None, namespace=None):
        self._argv = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message):
        argv = getattr(self, "_argv", [])
        after = argv[argv.index("--only") + 1:] if "--only" in argv else []
        dashed = [a for a in after if a.startswith("-")
                  and a.partition("=")[0] not in self._option_string_actions]
        if dashed:
            message += (f"; an id that starts with '-' is given as --only={dashed[0]} (one such "
                        "id per --only)")
        super().error(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m grader batch",
        description="Grade a folder of submissions (one file or one folder per student) in "
                    "parallel; results are written as they finish, and a rerun grades only "
                    "what is new or changed.")
    parser.add_argument("submissions", type=Path, help="folder of .py/.ipynb files or student folders")
    parser.add_argument("--out", type=Path, required=True, metavar="RESULTS_DIR",
                        help="where grades.csv, timings.csv, reports/ and gradescope/ go")
    parser.add_argument("--only", nargs="+", action="extend", metavar="ID",
                        help="regrade just these students (even if unchanged); the others keep "
                             "their saved results; an id that starts with '-' goes as "
                             "--only=-ID")
    parser.add_argument("--force", action="store_true",
                        help="ignore saved results: regrade every submission (or every --only one)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="parallel submissions on this machine (default: the number of cores)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the tasks on a Dask distributed cluster (e.g. tcp://host:8786)")
    add_grading_options(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    prog = "python -m grader batch"
    if not args.submissions.is_dir():
        return usage_error(prog, f"no such folder: {args.submissions}")
    problem = positive(args, "workers", "timeout", "memory_mb") or setting_problem()
    if problem:
        return usage_error(prog, problem)
    if args.workers and args.scheduler:
        return usage_error(prog, "--workers and --scheduler exclude each other (the cluster has "
                                 "its own)")
    rubric = load_rubric_or_usage(prog, args.rubric, args.exercise)
    if isinstance(rubric, int):
        return rubric
    if args.only:
        known = {s.student for s in find_submissions(args.submissions, _stem(rubric))[0]}
        unknown = sorted(set(args.only) - known)
        if unknown:
            return usage_error(prog, f"--only: no submission in {inert(args.submissions)} for "
                                     f"{', '.join(inert(name, 200) for name in unknown)}")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return usage_error(prog, f"cannot create {args.out}: {exc.strerror or exc}")
    return run_batch(args.submissions, args.out, rubric, options_from_args(args),
                     workers=args.workers or _cores(), scheduler=args.scheduler,
                     quiet=args.quiet, only=args.only, force=args.force)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def run_batch(folder: Path, out: Path, rubric: Rubric, options: GradeOptions, *, workers: int,
              scheduler: str | None = None, quiet: bool = False,
              only: Iterable[str] | None = None, force: bool = False, console=None,
              clock: Clock = time.monotonic) -> int:
    """Grade what is new or changed in ``folder`` into ``out``; write the summary. Exit status.

    Args:
        only: grade just these students (even when unchanged); keep the others' saved results.
        force: ignore saved results (of every student, or of the ``only`` ones).
        console: where progress and the summary go (default: stderr and stdout, rich-detected).
        clock: the time source for the ETA, the summary's duration and the CSV rewrite rate.
    """
    from grader.reporters.terminal import console_for

    started = clock()
    submissions, skipped = find_submissions(folder, _stem(rubric))
    results = Results(out, clock, rubric)
    earlier = results.load()
    order = [s.student for s in submissions]
    selected = set(only) if only else None
    payloads, ungraded, reused, now, kept, outdated = [], [], [], [], [], []
    for submission in submissions:
        contents = read_files(submission)
        save_source(out, submission, contents)
        key = resume_key(submission, contents, rubric, options)
        record = earlier.get(submission.student)
        if selected is not None and submission.student not in selected:
            if record:  # not asked for: keep it as it is, even if outdated
                results.keep(submission.student, record)
                kept.append(submission.student)
                if record["key"] != key or not record.get("final"):
                    outdated.append(submission.student)
            continue
        regrade = force or selected is not None
        if record and record["key"] == key and record.get("final") and not regrade:
            results.keep(submission.student, record)
            reused.append(submission.student)
        elif submission.graded is None:
            ungraded.append(not_graded_record(submission, key, rubric))
        else:
            payloads.append(make_payload(submission, contents, key, rubric, options))
    notes = {s.student: s.note or s.problem for s in submissions}
    results.write_tables(order, force=True)
    err = console if console is not None else console_for(sys.stderr)
    strays = [s.entry for s in submissions if s.entry]
    for names, what in ((strays, "not graded, a row with 0 points that says why"),
                        (skipped, "skipped, beside a submission of the same id")):
        if names and not quiet:
            err.print(f"{what} (not a .py, .ipynb or a folder, or a symbolic link): "
                      f"{', '.join(inert(name, 200) for name in names)}", highlight=False,
                      markup=False, soft_wrap=True)
    in_run = len(submissions) - len(kept) if selected is None else len(selected)
    progress = Progress(in_run, len(reused), workers=min(workers, len(payloads) or 1),
                        console=err, quiet=quiet, clock=clock)
    by_student = {p["student"]: p for p in payloads}

    def done(student: str, result: dict) -> None:
        if not valid_result(result, student, rubric):
            result = _lost(by_student[student], ValueError("the worker's result is malformed"),
                           rubric)
        result["note"] = notes.get(student, "")
        result = results.add(student, result)
        results.write_tables(order)
        now.append(student)
        progress.update(student, result)

    progress.start()
    start_up, interrupted = 0.0, False
    try:
        for record in ungraded:  # no sandbox: written at once, with a progress line each
            done(record["student"], record)
        if not payloads:
            where = "nothing new to grade"
        elif scheduler:
            where = run_cluster(payloads, scheduler, rubric, done)
        else:
            count = min(workers, len(payloads))
            start_up = run_local(payloads, count, rubric, options, done)
            where = f"{count} local worker{'s' * (count != 1)}"
    except KeyboardInterrupt:
        interrupted, where = True, "interrupted"
    finally:
        progress.finish()
    # interrupted: the students not graded again yet keep their saved results in the tables
    from_earlier = results.merge(earlier, order)
    results.write_tables(order, force=True)
    run = RunFacts(graded_now=sorted(now), reused=sorted(reused), kept=sorted(kept),
                   outdated=sorted(outdated), seconds=clock() - started, where=where,
                   start_up_seconds=start_up, from_earlier=from_earlier, interrupted=interrupted)
    code = _finish(out, results, order, run, quiet, console, rubric)
    if not interrupted:
        return code
    err.print(f"interrupted: grades.csv holds {len(results.records)} of {len(order)} students, "
              f"{len(now)} graded in this run and {len(results.records) - len(now)} saved by an "
              "earlier run; run again to finish", highlight=False, markup=False, soft_wrap=True)
    return 130


@dataclass(frozen=True)
class RunFacts:
    """What this run did, for the summary."""

    graded_now: list[str]
    reused: list[str]
    kept: list[str]  # not selected by --only: saved results kept as they were
    outdated: list[str]  # of those, the ones whose files, rubric or options changed since
    seconds: float
    where: str
    start_up_seconds: float = 0.0  # local workers: starting their processes, before grading
    from_earlier: list[str] = dataclasses.field(default_factory=list)  # interrupted: kept as saved
    interrupted: bool = False


def _similarity(out: Path, order: list[str], rubric) -> tuple[str, dict]:
    """The summary's similarity section; similarity.csv and similarity.html written beside it."""
    from grader import similarity
    from grader.reporters import similarity_html, similarity_text

    try:
        result, students = similarity.analyse(out, rubric.similarity, ids=order)
        similarity.write_files(out, result, similarity_html.render(result, students))
    except Exception as exc:  # noqa: BLE001 - the grades are written; this section is extra
        message = f"{type(exc).__name__}: {exc}"[:300]
        return f"Similarity: not computed ({message})", {"error": message}
    return (similarity_text.render(result, top=5) + f"\nSimilar submissions side by side: "
            f"{out / 'similarity.html'}", result.to_dict(top=10))


def _finish(out: Path, results: Results, order: list[str], run: RunFacts, quiet: bool,
            console, rubric) -> int:
    from grader.reporters import summary as summary_reporter
    from grader.reporters.terminal import console_for

    records = [results.records[s] for s in order if s in results.records]
    figures = summary_reporter.summarize(records)
    lines = summary_reporter.lines(figures, graded_now=len(run.graded_now), reused=len(run.reused),
                                   seconds=run.seconds, workers=run.where)
    if run.kept:
        lines.append(summary_reporter.plain(
            f"--only: {len(run.kept)} other submission{'s' * (len(run.kept) != 1)} kept as saved"
            + (f"; {len(run.outdated)} of them changed since ({', '.join(run.outdated[:10])}): "
               "run without --only to regrade them" if run.outdated else "")))
    plot = summary_reporter.plot(records, out / "scores.png")
    lines.append(summary_reporter.plain(
        f"Results: {out / 'grades.csv'}; feedback to send: {out / 'reports'}/<id>.txt"
        + (f"; plot: {plot}" if plot else "; no plot (pip install matplotlib)")))
    not_graded = [r for r in records if r["report"].get("reason") == "not graded"]
    if not_graded:
        lines.append(summary_reporter.plain(
            f"Not graded ({len(not_graded)}, 0 points): "
            + "; ".join(f"{r['student']}: {r.get('note') or 'nothing to grade'}"
                        for r in not_graded[:10]) + ("; ..." if len(not_graded) > 10 else "")))
    incomplete = [r["student"] for r in records if not r.get("final")]
    if incomplete:
        lines.append(summary_reporter.plain(
            f"The grader itself failed on {len(incomplete)} submission(s) "
            f"({', '.join(incomplete[:10])}): run the batch again to retry them", "bold red"))
    if run.interrupted:
        missing = len(order) - len(records)
        lines.append(summary_reporter.plain(
            f"Interrupted: {len(run.from_earlier)} row(s) are an earlier run's results, not "
            f"graded again yet" + (f" ({', '.join(run.from_earlier[:10])})" if run.from_earlier
                                   else "")
            + (f"; {missing} submission(s) have no result yet" if missing else "")
            + ": run the batch again to finish", "bold red"))
        similar_text, similar = ("Similarity: not computed (the batch was interrupted)",
                                 {"error": "the batch was interrupted"})
    else:
        similar_text, similar = _similarity(out, order, rubric)
    lines += [summary_reporter.plain(line) for line in similar_text.splitlines()]
    facts = {"graded_this_run": run.graded_now, "reused": run.reused, "kept": run.kept,
             "outdated": run.outdated, "seconds": round(run.seconds, 1), "where": run.where,
             "start_up_seconds": round(run.start_up_seconds, 1),
             "not_graded": [r["student"] for r in not_graded], "interrupted": run.interrupted,
             "from_earlier_run": run.from_earlier, "grader_version": __version__}
    atomic_write(out / "summary.json", json.dumps({**figures, "similarity": similar, "run": facts},
                                                   indent=2) + "\n")
    atomic_write(out / "summary.txt", "\n".join(line.plain for line in lines) + "\n")
    if not quiet:
        out_console = console if console is not None else console_for(sys.stdout)
        for line in lines:
            out_console.print(line, soft_wrap=True)
    return EXIT_INCOMPLETE if incomplete else EXIT_DONE
