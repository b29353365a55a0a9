"""Where a batch's tasks run: local threads, one slot each, or a Dask distributed cluster."""

from __future__ import annotations

import json
import os
import queue
import socket
import time
from typing import Callable

from grader.core.options import GradeOptions
from grader.core.rubric import Rubric
from grader.pipeline import grader_error
from grader.report import failure_report
from grader.integrations.batch.submissions import SCHEMA, Submission
from grader.integrations.batch.workers import Slot, grade_payload, grade_task


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
                    result = lost_record(payload, exc, rubric)
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
                result = lost_record(payload, exc, rubric)
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


def lost_record(payload: dict, exc: BaseException, rubric: Rubric) -> dict:
    """The record of a task that failed outside ``grade_payload`` (a lost worker, a malformed
    result): ``grader_error``'s report, not final."""
    return {"schema": SCHEMA, "student": payload["student"], "key": payload["key"], "final": False,
            "report": grader_error(payload["display"], exc, rubric).to_dict(),
            "seconds": None, "worker": None}
