"""``python -m grader batch``: its arguments, the run (discover, reuse, grade, write), the
similarity pass and the summary."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from grader.version import __version__
from grader.files import atomic_write
from grader.core.options import GradeOptions
from grader.core.rubric import Rubric
from grader.options import (Parser, add_grading_options, load_rubric_or_usage, options_from_args,
                            positive, usage_error)
from grader.retrain.settings import setting_problem
from grader.text import inert
from grader.integrations.batch.submissions import (Clock, find_submissions, make_payload,
                                                   read_files, resume_key, submission_stem)
from grader.integrations.batch.results import Results, save_source, valid_result
from grader.integrations.batch.progress import Progress
from grader.integrations.batch.runners import lost_record, not_graded_record, run_cluster, run_local

EXIT_DONE, EXIT_INCOMPLETE = 0, 1


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
        known = {s.student for s in find_submissions(args.submissions, submission_stem(rubric))[0]}
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
    submissions, skipped = find_submissions(folder, submission_stem(rubric))
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
            result = lost_record(by_student[student], ValueError("the worker's result is malformed"),
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
