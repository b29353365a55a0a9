"""The worker side of a batch: a slot (fork server and warm retrain worker) grades a payload;
``grade_task`` is the same for a Dask worker."""

from __future__ import annotations

import atexit
import base64
import dataclasses
import json
import os
import queue
import socket
import tempfile
import threading
import time
from pathlib import Path

from grader.integrations.lane import Lane
from grader.core.options import GradeOptions
from grader.core.rubric import Rubric
from grader.pipeline import GRADER_ERROR, guarded
from grader.report import Report
from grader.rubric import parse_rubric
from grader.text import inert
from grader.integrations.batch.submissions import SCHEMA, Clock, digest


class Slot(Lane):
    """A grading lane with a name (for timings.csv) that also reads the rubric a task carries."""

    def __init__(self, name: str, origin: Lane | None = None):
        super().__init__(origin=origin)
        self.name = name
        self._rubrics: dict[str, Rubric] = {}

    def rubric(self, raw: bytes, exercise: str | None = None) -> Rubric:
        key = digest(raw + b"\0" + str(exercise).encode())
        if key not in self._rubrics:
            self._rubrics[key] = parse_rubric(raw, "the batch's rubric", exercise)
        return self._rubrics[key]


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
