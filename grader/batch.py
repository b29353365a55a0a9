"""Batch grading: ``python -m grader batch SUBMISSIONS_DIR --out RESULTS_DIR``.

A submissions folder holds one file per student (``alice.py``, ``bob.ipynb``; the id is the stem)
or one folder per student (``carol/…``; the id is the folder name, and every other file in it is
copied beside the graded one into that student's sandbox). Each submission becomes one task whose
payload carries its files as data (versioned JSON), and whose result is its report as data:

    find_submissions ─▶ payload ─▶ grade_payload (a worker slot: fork server + warm retrainer)
                                        └─▶ result ─▶ Results (reports/, gradescope/, grades.csv)

Tasks run on local threads (one slot each; the work happens in the slot's processes) or, with
``--scheduler``, on a Dask distributed cluster through ``grade_task``. Results are written on this
side as each one arrives, atomically; a record is reused by a later run when its resume key (the
submission's content hash, the grader version, the rubric's hash, the data seed and the grading
options) is unchanged, so a killed batch resumes where it stopped and never grades twice.
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

from grader import __version__
from grader.lane import Lane
from grader.pipeline import GradeOptions
from grader.rubric import CHECK_IDS, DEFAULT_RUBRIC, RubricError, load_rubric

SCHEMA = 1
ASSIGNMENT_STEM = "sentiment_classifier"
SUFFIXES = (".py", ".ipynb")
MAX_FOLDER_BYTES = 20 * 2**20
SKIPPED_DIRS = {"__pycache__", ".ipynb_checkpoints", ".git", "__MACOSX"}
CSV_INTERVAL_SECONDS = 1.0
EXIT_DONE, EXIT_INCOMPLETE, EXIT_USAGE = 0, 1, 2


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

    @property
    def display(self) -> str:
        """How reports name it: ``alice.py`` or ``carol/sentiment_classifier.py``."""
        return f"{self.student}/{self.graded or ''}" if self.folder else (self.graded or "")


def _folder_files(folder: Path) -> list[tuple[str, Path]]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIPPED_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if not name.startswith(".") and path.is_file() and not path.is_symlink():
                found.append((path.relative_to(folder).as_posix(), path))
    return sorted(found)


def choose_file(candidates: list[str]) -> tuple[str | None, str]:
    """Which of a folder's top-level ``.py``/``.ipynb`` files to grade: (name or None, note)."""
    if len(candidates) == 1:
        return candidates[0], ""
    if not candidates:
        return None, "the folder has no .py or .ipynb file at its top level"
    named = sorted((c for c in candidates if Path(c).stem == ASSIGNMENT_STEM),
                   key=lambda c: (c.endswith(".ipynb"), c))
    others = [c for c in candidates if c != (named[0] if named else None)]
    if named:
        return named[0], (f"graded {named[0]}, the file named like the assignment; "
                          f"{', '.join(others)} copied beside it")
    return None, (f"the folder has {len(candidates)} candidate files ({', '.join(candidates)}) "
                  f"and none is named {ASSIGNMENT_STEM}.py or {ASSIGNMENT_STEM}.ipynb: "
                  "rename the one to grade")


def find_submissions(folder: Path) -> tuple[list[Submission], list[str]]:
    """The submissions in ``folder``, sorted by student id, and the entries that were skipped."""
    entries: dict[str, list[Submission]] = {}
    skipped = []
    for path in sorted(Path(folder).iterdir()):
        if path.name.startswith(".") or path.name in SKIPPED_DIRS:
            continue
        if path.is_dir():
            files = _folder_files(path)
            top = [name for name, _ in files if "/" not in name and name.endswith(SUFFIXES)]
            graded, note = choose_file(top)
            problem = "" if graded else note
            size = sum(p.stat().st_size for _, p in files)
            if graded and size > MAX_FOLDER_BYTES:
                graded, problem = None, (f"the folder holds {size // 2**20} MB; a submission may "
                                         f"hold at most {MAX_FOLDER_BYTES // 2**20} MB")
            entries.setdefault(path.name, []).append(
                Submission(path.name, tuple(files), graded, True, note if graded else "", problem))
        elif path.is_file() and path.suffix in SUFFIXES:
            entries.setdefault(path.stem, []).append(
                Submission(path.stem, ((path.name, path),), path.name))
        else:
            skipped.append(path.name)
    submissions = []
    for student, found in sorted(entries.items()):
        if len(found) == 1:
            submissions.append(found[0])
            continue
        names = [f"{student}/" if f.folder else f.display for f in found]
        files = tuple(sorted({item for f in found for item in f.files}))
        submissions.append(Submission(student, files, None, True, problem=(
            f"several submissions for {student} ({', '.join(names)}): keep one")))
    return submissions, skipped


@dataclass(frozen=True)
class BatchOptions:
    """Grading options that travel with every task (they change results, so they are in the key)."""

    timeout: float | None = None
    memory_mb: int | None = None
    full: bool = False
    use_cache: bool = True
    cache_dir: str | None = None  # on the machine that grades; None: its default

    def keyed(self) -> dict:
        return {"timeout": self.timeout, "memory_mb": self.memory_mb, "full": self.full}

    def grade_options(self) -> GradeOptions:
        return GradeOptions(timeout=self.timeout, memory_mb=self.memory_mb, full=self.full,
                            use_cache=self.use_cache,
                            cache_dir=Path(self.cache_dir) if self.cache_dir else None)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def resume_key(submission: Submission, contents: dict[str, bytes], rubric, options: BatchOptions) -> str:
    """Content hash of every file, grader version, rubric hash, data seed and grading options."""
    manifest = {"schema": SCHEMA, "grader": __version__, "rubric": rubric.sha256,
                "seed": int(rubric.data["seed"]), "options": options.keyed(),
                "graded": submission.graded,
                "files": [[name, _digest(contents[name])] for name, _ in submission.files]}
    return _digest(json.dumps(manifest, sort_keys=True).encode())


def read_files(submission: Submission) -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in submission.files}


def make_payload(submission: Submission, contents: dict[str, bytes], key: str,
                 rubric_bytes: bytes, options: BatchOptions) -> dict:
    """Everything a worker needs to grade one submission, as JSON-ready data."""
    return {"schema": SCHEMA, "student": submission.student, "display": submission.display,
            "graded": submission.graded, "key": key,
            "files": {name: base64.b64encode(data).decode() for name, data in contents.items()},
            "rubric": base64.b64encode(rubric_bytes).decode(),
            "options": dataclasses.asdict(options)}


# --- the worker side --------------------------------------------------------------------------


class Slot(Lane):
    """A grading lane that also reads the rubric each cluster task carries as bytes."""

    def __init__(self):
        super().__init__()
        self._rubrics: dict[str, object] = {}

    def rubric(self, raw: bytes):
        digest = _digest(raw)
        if digest not in self._rubrics:
            with tempfile.TemporaryDirectory(prefix="grader-rubric-") as folder:
                path = Path(folder, "rubric.toml")
                path.write_bytes(raw)
                self._rubrics[digest] = load_rubric(path)
        return self._rubrics[digest]


def _failure_report(display: str, message: str, hint: str, rubric) -> dict:
    """A proper report with every check failed, for a submission the grader could not grade."""
    from grader.checks import CheckResult
    from grader.report import build_report

    results = [CheckResult("runs", False, message, hint)] + [
        CheckResult(c, False, "not checked: the submission could not be graded") for c in CHECK_IDS[1:]]
    info = {"grader_version": __version__, "rubric_sha256": rubric.short_hash,
            "data_seed": int(rubric.data["seed"])}
    return build_report(display, results, rubric, info=info).to_dict()


def grade_payload(payload: dict, slot: Slot) -> dict:
    """Grade one payload in ``slot``; the result as JSON-ready data (never raises for a student)."""
    if payload.get("schema") != SCHEMA:
        raise ValueError(f"batch payload schema {payload.get('schema')!r}; expected {SCHEMA}")
    started = time.monotonic()
    options = BatchOptions(**payload["options"])
    rubric = slot.rubric(base64.b64decode(payload["rubric"]))
    files = {name: base64.b64decode(data) for name, data in payload["files"].items()}
    graded = payload["graded"]
    final = True
    try:
        with tempfile.TemporaryDirectory(prefix="grader-batch-") as folder:
            path = Path(folder, graded)
            path.write_bytes(files[graded])
            report = slot.grade(path, options.grade_options(), rubric,
                                extra_files={n: b for n, b in files.items() if n != graded})
        report = dataclasses.replace(report, submission=payload["display"]).to_dict()
    except Exception as exc:  # noqa: BLE001 - a grader failure costs this submission only
        report = _failure_report(payload["display"], f"the grader failed on this submission "
                                 f"({type(exc).__name__}: {exc})"[:500],
                                 "tell your instructor; it is graded again on the next run", rubric)
        final = False
    return {"schema": SCHEMA, "student": payload["student"], "key": payload["key"], "final": final,
            "report": report, "seconds": round(time.monotonic() - started, 2),
            "worker": f"{socket.gethostname()}:{os.getpid()}"}


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
            slot = Slot()
            _POOL_SLOTS.append(slot)
    try:
        return json.dumps(grade_payload(json.loads(payload_json), slot))
    finally:
        _POOL.put(slot)


# --- where tasks run --------------------------------------------------------------------------

Done = Callable[[str, dict], None]  # (student, result) on the instructor's side


def run_local(payloads: list[dict], workers: int, rubric, options: BatchOptions, done: Done) -> None:
    """Grade on this machine: ``workers`` threads, each driving its own slot's processes."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    # Slots start here, in the main thread: their processes die with it (PR_SET_PDEATHSIG).
    slots = [Slot() for _ in range(min(workers, len(payloads)))]
    free: queue.SimpleQueue = queue.SimpleQueue()
    for slot in slots:
        slot.warm_up(rubric, options.grade_options())
    for slot in slots:  # importing in parallel; per-submission timings then exclude start-up
        slot.wait_ready()
        free.put(slot)

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


def run_cluster(payloads: list[dict], address: str, rubric, done: Done) -> str:
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


def _lost(payload: dict, exc: BaseException, rubric) -> dict:
    message = f"the grading task failed ({type(exc).__name__}: {exc})"[:500]
    return {"schema": SCHEMA, "student": payload["student"], "key": payload["key"], "final": False,
            "report": _failure_report(payload["display"], message,
                                      "it is graded again on the next run", rubric),
            "seconds": None, "worker": None}


# --- results on disk --------------------------------------------------------------------------


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def save_source(out: Path, submission: Submission, contents: dict[str, bytes]) -> None:
    """``sources/<id>.py|.ipynb``: the graded file as graded, so that ``python -m grader
    similarity`` works from RESULTS_DIR alone; none when nothing is graded."""
    keep = None
    if submission.graded:
        keep = Path(out) / "sources" / f"{submission.student}{Path(submission.graded).suffix}"
        data = contents[submission.graded]
        if not keep.is_file() or keep.read_bytes() != data:
            _atomic_write(keep, data)
    for suffix in SUFFIXES:
        stale = Path(out) / "sources" / f"{submission.student}{suffix}"
        if stale != keep:
            stale.unlink(missing_ok=True)


def valid_result(result: dict, student: str) -> bool:
    """Is this a result record we can write (from disk or from a worker: validate it)?"""
    try:
        report = result["report"]
        return (result.get("schema") == SCHEMA and result.get("student") == student
                and isinstance(result.get("key"), str) and isinstance(report["score"], (int, float))
                and [c["id"] for c in report["checks"]] == list(CHECK_IDS))
    except (KeyError, TypeError):
        return False


class Results:
    """RESULTS_DIR: one record per student, written as each arrives; the CSVs derive from them."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.reports = self.folder / "reports"
        self.records: dict[str, dict] = {}
        self._written = 0.0

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
            if isinstance(record, dict) and valid_result(record, path.stem):
                found[path.stem] = record
        return found

    def add(self, student: str, record: dict) -> None:
        text = json.dumps(record, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        _atomic_write(self.reports / f"{student}.json", text.encode())
        from grader.reporters import gradescope

        _atomic_write(self.folder / "gradescope" / student / "results.json",
                      (gradescope.render(record["report"]) + "\n").encode())
        self.records[student] = record

    def write_tables(self, order: list[str], force: bool = False) -> None:
        """Rewrite grades.csv and timings.csv (at most once a second unless ``force``)."""
        if not force and time.monotonic() - self._written < CSV_INTERVAL_SECONDS:
            return
        rows = [self.records[s] for s in order if s in self.records]
        _atomic_write(self.folder / "grades.csv", grades_csv(rows).encode())
        _atomic_write(self.folder / "timings.csv", timings_csv(rows).encode())
        self._written = time.monotonic()


def _number(value) -> str:
    return "" if value is None else f"{float(value):g}"


def grades_csv(records: Iterable[dict]) -> str:
    """One row per student (in the given order): totals and per-check scores; no timings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "submission", "score", "max_score", "passed", *CHECK_IDS,
                     "test_accuracy", "note"])
    for record in records:
        report = record["report"]
        points = {c["id"]: c["score"] for c in report["checks"]}
        accuracy = report.get("metrics", {}).get("test_accuracy")
        writer.writerow([record["student"], report["submission"], _number(report["score"]),
                         _number(report["max_score"]), "yes" if report["passed"] else "no",
                         *(_number(points[c]) for c in CHECK_IDS),
                         "" if accuracy is None else f"{accuracy:.4f}",
                         record.get("note", "") if record.get("final") else
                         "grader error: graded again on the next run"])
    return out.getvalue()


def timings_csv(records: Iterable[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "seconds", "script_seconds", "retrain_seconds", "retrain_cached",
                     "worker"])
    for record in records:
        metrics = record["report"].get("metrics", {})
        writer.writerow([record["student"], _number(record.get("seconds")),
                         _number(metrics.get("run_seconds")), _number(metrics.get("train_seconds")),
                         metrics.get("train_cached", ""), record.get("worker") or ""])
    return out.getvalue()


# --- the progress line ------------------------------------------------------------------------


class Progress:
    """Count, failures (submissions that did not run to completion) and ETA, on stderr."""

    def __init__(self, total: int, already: int, stream=sys.stderr, quiet: bool = False):
        self.total, self.done, self.failures = total, already, 0
        self.graded = 0
        self.remaining = total - already
        self.stream, self.quiet = stream, quiet
        self.live = bool(getattr(stream, "isatty", lambda: False)())
        self.started = time.monotonic()

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.started
        left = self.remaining - self.graded
        eta = "--" if not self.graded else _duration(elapsed / self.graded * left)
        width = 24
        filled = round(width * self.done / self.total) if self.total else width
        return (f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} graded, "
                f"{self.failures} failed to run, ETA {eta}")

    def update(self, student: str, record: dict) -> None:
        self.done += 1
        self.graded += 1
        runs = next(c for c in record["report"]["checks"] if c["id"] == "runs")
        self.failures += not runs["passed"]
        if self.quiet:
            return
        if self.live:
            self.stream.write(f"\r\033[K{self.line()}")
        else:
            report = record["report"]
            self.stream.write(f"{student}: {report['score']:g}/{report['max_score']:g}  "
                              f"{self.line()}\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.live and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


# --- the command ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    from grader.cli import Parser, add_grading_options

    parser = Parser(
        prog="python -m grader batch",
        description="Grade a folder of submissions (one file or one folder per student) in "
                    "parallel; results are written as they finish, and a rerun grades only "
                    "what is new or changed.")
    parser.add_argument("submissions", type=Path, help="folder of .py/.ipynb files or student folders")
    parser.add_argument("--out", type=Path, required=True, metavar="RESULTS_DIR",
                        help="where grades.csv, timings.csv, reports/ and gradescope/ go")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="parallel submissions on this machine (default: the number of cores)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the tasks on a Dask distributed cluster (e.g. tcp://host:8786)")
    add_grading_options(parser)
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="retrain cache on the grading machines (default: theirs)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    prog = "python -m grader batch"

    def usage(message: str) -> int:
        print(f"{prog}: error: {message}", file=sys.stderr)
        return EXIT_USAGE

    if not args.submissions.is_dir():
        return usage(f"no such folder: {args.submissions}")
    for name in ("workers", "timeout", "memory_mb"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            return usage(f"--{name.replace('_', '-')} must be positive. Received: {value}")
    if args.workers and args.scheduler:
        return usage("--workers and --scheduler exclude each other (the cluster has its own)")
    rubric_path = args.rubric or DEFAULT_RUBRIC
    try:
        rubric = load_rubric(rubric_path)
    except RubricError as exc:
        return usage(str(exc))
    options = BatchOptions(timeout=args.timeout, memory_mb=args.memory_mb, full=args.full,
                           use_cache=not args.no_cache, cache_dir=args.cache_dir)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return usage(f"cannot create {args.out}: {exc.strerror or exc}")
    return run_batch(args.submissions, args.out, rubric, rubric_path.read_bytes(), options,
                     workers=args.workers or _cores(), scheduler=args.scheduler,
                     quiet=args.quiet)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def run_batch(folder: Path, out: Path, rubric, rubric_bytes: bytes, options: BatchOptions, *,
              workers: int, scheduler: str | None = None, quiet: bool = False) -> int:
    """Grade what is new or changed in ``folder`` into ``out``; write the summary. Exit status."""
    started = time.monotonic()
    submissions, skipped = find_submissions(folder)
    results = Results(out)
    earlier = results.load()
    order = [s.student for s in submissions]
    payloads, reused, now = [], [], []
    for submission in submissions:
        contents = read_files(submission)
        save_source(out, submission, contents)
        key = resume_key(submission, contents, rubric, options)
        record = earlier.get(submission.student)
        if record and record["key"] == key and record.get("final"):
            results.records[submission.student] = record
            reused.append(submission.student)
        elif submission.graded is None:
            report = _failure_report(submission.display, f"not graded: {submission.problem}",
                                     "fix the submission folder and run the batch again", rubric)
            results.add(submission.student, {
                "schema": SCHEMA, "student": submission.student, "key": key, "final": True,
                "report": report, "seconds": 0.0, "worker": None, "note": submission.problem})
            now.append(submission.student)
        else:
            payloads.append(make_payload(submission, contents, key, rubric_bytes, options))
    notes = {s.student: s.note for s in submissions}
    results.write_tables(order, force=True)
    if skipped and not quiet:
        print(f"skipped (not .py, .ipynb or a folder): {', '.join(skipped)}", file=sys.stderr)
    progress = Progress(len(submissions), len(submissions) - len(payloads), quiet=quiet)

    def done(student: str, result: dict) -> None:
        if not valid_result(result, student):
            payload = next(p for p in payloads if p["student"] == student)
            result = _lost(payload, ValueError("the worker's result is malformed"), rubric)
        result["note"] = notes.get(student, "")
        results.add(student, result)
        results.write_tables(order)
        now.append(student)
        progress.update(student, result)

    try:
        if not payloads:
            where = "nothing new to grade"
        elif scheduler:
            where = run_cluster(payloads, scheduler, rubric, done)
        else:
            count = min(workers, len(payloads))
            run_local(payloads, count, rubric, options, done)
            where = f"{count} local worker{'s' * (count != 1)}"
    except KeyboardInterrupt:
        results.write_tables(order, force=True)
        print(f"interrupted: {len(now)} graded in this run are saved; run again to finish",
              file=sys.stderr)
        return 130
    finally:
        progress.finish()
    results.write_tables(order, force=True)
    return _finish(out, results, order, now, reused, time.monotonic() - started, where, quiet,
                   rubric)


def _similarity(out: Path, order: list[str], rubric) -> tuple[str, dict]:
    """The summary's similarity section; similarity.csv and similarity.html written beside it."""
    from grader import similarity
    from grader.reporters import similarity_text

    try:
        result, students = similarity.analyse(out, rubric.similarity, ids=order)
        similarity.write_files(out, result, students)
    except Exception as exc:  # noqa: BLE001 - the grades are written; this section is extra
        message = f"{type(exc).__name__}: {exc}"[:300]
        return f"Similarity: not computed ({message})", {"error": message}
    return (similarity_text.render(result, top=5) + f"\nSimilar submissions side by side: "
            f"{out / 'similarity.html'}", result.to_dict(top=10))


def _finish(out: Path, results: Results, order: list[str], now: list[str], reused: list[str],
            seconds: float, where: str, quiet: bool, rubric) -> int:
    from grader.reporters import summary as summary_reporter

    records = [results.records[s] for s in order if s in results.records]
    figures = summary_reporter.summarize(records)
    text = summary_reporter.render(figures, graded_now=len(now), reused=len(reused),
                                   seconds=seconds, workers=where)
    plot = summary_reporter.plot(records, out / "scores.png")
    text += f"\nResults: {out / 'grades.csv'}" + (f"; plot: {plot}" if plot else
                                                  "; no plot (pip install matplotlib)")
    incomplete = [r["student"] for r in records if not r.get("final")]
    if incomplete:
        text += (f"\nThe grader itself failed on {len(incomplete)} submission(s) "
                 f"({', '.join(incomplete[:10])}): run the batch again to retry them")
    similar_text, similar = _similarity(out, order, rubric)
    text += "\n" + similar_text
    run = {"graded_this_run": sorted(now), "reused": sorted(reused), "seconds": round(seconds, 1),
           "where": where, "grader_version": __version__}
    _atomic_write(out / "summary.json",
                  (json.dumps({**figures, "similarity": similar, "run": run}, indent=2)
                   + "\n").encode())
    _atomic_write(out / "summary.txt", (text + "\n").encode())
    if not quiet:
        print(text)
    return EXIT_INCOMPLETE if incomplete else EXIT_DONE
