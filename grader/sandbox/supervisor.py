"""Run a student's script in a limited child process and collect what it reported.

The child is ``grader.sandbox.probe`` (see its docstring for the event protocol). This side makes
the sandbox's cgroup (``resources``), sends the channel key, enforces the limits that need a
watcher (wall-clock time; memory and tasks where no cgroup could be made), keeps a capped copy of
the output, and verifies every event line on the calling thread (``channel``): reader threads
only move bytes. It never imports TensorFlow and never trusts what the child sends.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from grader.sandbox import channel
from grader.sandbox.resources import Cgroup, tree_usage
from grader.text import inert

MAX_EVENT_BYTES = 4 * 1024 * 1024  # the longest: a figure, a base64 PNG of at most 400 KB
MAX_EVENTS = 20_000
MAX_CHANNEL_BYTES = 64 * 1024 * 1024  # everything kept from the event channel, in all
POLL_SECONDS = 0.1
FAST_BACKEND = "numpy"  # fast mode's Keras backend (see ``run_script``)
MIN_RERUN_SECONDS = 20.0  # the least time left in which a fast run that raised is run again
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
_BOOT = ("import sys; sys.path.insert(0, sys.argv.pop(1)); "
         "from grader.sandbox.probe import main; sys.exit(main(sys.argv))")


@dataclass(frozen=True)
class Limits:
    """What one run of a student's script may use."""

    timeout_seconds: float = 300.0
    memory_mb: int = 4096
    output_kb: int = 256
    max_tasks: int = 128
    disk_mb: int = 256


@dataclass(frozen=True)
class SandboxRun:
    """Raw outcome of one sandboxed run: verified events, plus what we measured."""

    events: tuple[dict, ...]
    stdout: str
    stderr: str
    status: str  # "exited" | "timeout" | "memory" | "processes" | "no_start"
    exit_code: int | None
    wall_seconds: float
    peak_memory_mb: float
    output_truncated: bool = False
    detail: str = ""
    tampered: str = ""  # why the channel's evidence cannot be believed ("" when it can)
    limits_enforced_by: str = ""  # "cgroup v1", "cgroup v2" or "polling"
    backend: str = "tensorflow"  # the Keras backend the script ran on
    rerun_because: str = ""  # why a fast run on NumPy was run again on TensorFlow


class _CappedText:
    """Keeps the first and the last part of a stream; counts what was dropped in between."""

    def __init__(self, limit_bytes: int):
        self.head_limit = limit_bytes // 2
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_size = 0
        self.tail_limit = limit_bytes - self.head_limit
        self.dropped = 0

    def feed(self, chunk: bytes) -> None:
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self.tail.append(chunk)
        self.tail_size += len(chunk)
        while self.tail_size - len(self.tail[0]) >= self.tail_limit:
            self.dropped += len(self.tail[0])
            self.tail_size -= len(self.tail.popleft())

    def text(self) -> str:
        tail = b"".join(self.tail)
        if self.tail_size > self.tail_limit:
            cut = self.tail_size - self.tail_limit
            self.dropped += cut
            tail = tail[cut:]
            self.tail_size = self.tail_limit
            self.tail = deque([tail])
        middle = f"\n[... {self.dropped} bytes of output omitted ...]\n".encode() if self.dropped else b""
        return (bytes(self.head) + middle + tail).decode("utf-8", errors="replace")


def _pump(stream, sink: _CappedText) -> None:
    for chunk in iter(lambda: stream.read1(65536), b""):
        sink.feed(chunk)


def _pump_lines(stream, lines: "queue.Queue[bytes | None]") -> None:
    """Split the channel into lines and hand them over raw; nothing is parsed on this thread."""
    buffer, kept, count = b"", 0, 0
    for chunk in iter(lambda: stream.read1(65536), b""):
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        if len(buffer) > MAX_EVENT_BYTES:
            buffer = b""
            lines.put(b"")  # an over-long line is a line the probe never writes
        for line in complete:
            count += 1
            kept += len(line)
            if count > MAX_EVENTS or kept > MAX_CHANNEL_BYTES or len(line) > MAX_EVENT_BYTES:
                lines.put(b"")
                continue
            lines.put(line)
    if buffer:
        lines.put(buffer)
    lines.put(None)


class _Channel:
    """Verifies the probe's signed lines in order and remembers the first sign of tampering."""

    def __init__(self, key: bytes, on_event: Callable[[dict], None] | None):
        self.key = key
        self.on_event = on_event
        self.events: list[dict] = []
        self.tampered = ""
        self.closed = False
        self._seq = 0
        self._ended = False

    def _tamper(self, reason: str) -> None:
        self.tampered = self.tampered or reason

    def feed(self, line: bytes) -> None:
        if not line.strip():
            if line:
                self._tamper("a malformed line on the grader's event channel")
            else:
                self._tamper("more on the grader's event channel than the probe ever writes")
            return
        try:
            event = channel.verify(self.key, line, self._seq)
        except channel.ChannelError as exc:
            self._tamper(f"{exc} on the grader's event channel")
            return
        self._seq += 1
        kind = event["event"]
        if kind == "tamper":
            self._tamper(inert(event.get("reason", "the probe saw its own code changed"), 300))
            return
        if self._ended and kind != "exit":
            self._tamper(f"a '{inert(kind, 40)}' event after the script had ended")
            return
        if kind == "end":
            self._ended = True
        if kind == "exit":
            self.closed = True
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def drain(self, lines: "queue.Queue[bytes | None]") -> bool:
        """Feed every line waiting; False once the channel has closed."""
        while True:
            try:
                line = lines.get_nowait()
            except queue.Empty:
                return True
            if line is None:
                return False
            self.feed(line)


def _child_env(workdir: str) -> dict[str, str]:
    """A clean environment: no secrets from ours, caches and home inside the work directory."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "KERAS_HOME": os.path.join(workdir, ".keras"),
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": os.path.join(workdir, ".matplotlib"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "CUDA_VISIBLE_DEVICES": "-1",
        # The same number of threads on every machine, so that max_tasks means the same thing.
        "TF_NUM_INTRAOP_THREADS": "2",
        "TF_NUM_INTEROP_THREADS": "2",
        "OMP_NUM_THREADS": "2",
        "OPENBLAS_NUM_THREADS": "2",
        "MKL_NUM_THREADS": "2",
    }


def run_script(
    name: str,
    source: bytes,
    *,
    limits: Limits = Limits(),
    full: bool = False,
    extra_files: dict[str, bytes] | None = None,
    on_event: Callable[[dict], None] | None = None,
    start: Callable[..., subprocess.Popen] | None = None,
    inherited_mb: float = 0.0,
    backend: str | None = None,
) -> SandboxRun:
    """Run ``script`` under the probe in a fresh temporary directory and return what it reported.

    In fast mode the script first runs with Keras on NumPy (``FAST_BACKEND``): nothing of
    TensorFlow's runtime starts, and ``fit`` is recorded rather than trained. A run that raised
    is run again on TensorFlow, in what is left of the time limit, so that an error the student
    sees is the one TensorFlow gives (and a difference between backends costs time, not points).

    Args:
        name: the file name the script runs under (tracebacks name it).
        source: the script's text; it is written into the fresh work directory.
        limits: time, memory, task, disk and output limits.
        full: run the script unchanged on TensorFlow (else its ``fit`` calls are shortened).
        extra_files: more files for the work directory (relative name -> content).
        on_event: called on this thread for each verified event, for live status.
        start: starts the probe (same signature as ``start_probe``); batch grading passes a
            fork server's, which forks it from a process that has imported TensorFlow already.
        inherited_mb: private memory such a forked probe inherits; a cgroup does not charge it,
            so it is counted against the limit here (the same room as a cold start).
        backend: run on this Keras backend only ("numpy" or "tensorflow"); by default, the
            policy above (``full`` always runs on TensorFlow).
    """
    def once(on: str, run_limits: Limits) -> SandboxRun:
        return _run_once(name, source, extra_files, run_limits, full, on, on_event,
                         start or start_probe, inherited_mb)

    if full or backend:
        return once("tensorflow" if full else backend, limits)
    fast = once(FAST_BACKEND, limits)
    why = _rerun_reason(fast)
    left = limits.timeout_seconds - fast.wall_seconds
    if not why or left < MIN_RERUN_SECONDS:
        return fast
    rerun = once("tensorflow", replace(limits, timeout_seconds=left))
    return replace(rerun, wall_seconds=fast.wall_seconds + rerun.wall_seconds,
                   peak_memory_mb=max(fast.peak_memory_mb, rerun.peak_memory_mb),
                   rerun_because=why)


def _rerun_reason(run: SandboxRun) -> str:
    """Why a fast run's outcome may be NumPy's and not TensorFlow's ("" when it is not): the
    script raised (a NumPy array has no ``.numpy()``; Keras on NumPy cannot train)."""
    if run.status != "exited" or run.tampered:
        return ""
    for event in run.events:
        if event.get("event") == "error" and event.get("kind") in ("exception", "memory"):
            return f"the run on NumPy raised {inert(str(event.get('type')), 60)}"
    return ""


def _run_once(name, source, extra_files, limits, full, backend, on_event, start,
              inherited_mb) -> SandboxRun:
    workdir = tempfile.mkdtemp(prefix="grader-")
    try:
        Path(workdir, name).write_bytes(source)
        for extra, content in (extra_files or {}).items():  # `name` stays the script's
            destination = os.path.realpath(os.path.join(workdir, extra))
            if destination.startswith(workdir + os.sep):
                os.makedirs(os.path.dirname(destination), exist_ok=True)
                Path(destination).write_bytes(content)
        return _supervise(workdir, name, limits, full, backend, on_event, start, inherited_mb)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def start_probe(spec: dict, env: dict[str, str]) -> subprocess.Popen:
    """Start ``grader.sandbox.probe`` in a fresh interpreter (the default way to start a sandbox).

    Args:
        spec: the probe's spec (``workdir``, ``script``, ``events_fd``, ``full``, limits).
        env: the child's whole environment.

    Returns a ``Popen`` (or an object with its ``pid``, ``stdout``, ``stderr``, ``poll``, ``wait``
    and ``returncode``) whose process group is its own. Raises OSError when it cannot start.
    """
    return subprocess.Popen(
        [sys.executable, "-I", "-B", "-u", "-c", _BOOT, _PACKAGE_PARENT, json.dumps(spec)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        pass_fds=(spec["events_fd"],), cwd=spec["workdir"], env=env, start_new_session=True,
    )


def _supervise(workdir, name, limits, full, backend, on_event, start=start_probe,
               inherited_mb=0.0) -> SandboxRun:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    key = os.urandom(channel.KEY_BYTES)
    group = Cgroup.create(max(64, int(limits.memory_mb - inherited_mb)), limits.max_tasks)
    charged = inherited_mb if group else 0.0  # polling sees inherited pages in RSS already
    spec = {"workdir": workdir, "script": name, "events_fd": theirs.fileno(), "full": full,
            "backend": backend, "disk_mb": limits.disk_mb,
            "cgroup_procs": group.procs_files() if group else []}
    started = time.monotonic()
    try:
        child = start(spec, _child_env(workdir))
    except OSError as exc:
        ours.close()
        theirs.close()
        if group:
            group.remove()
        return SandboxRun((), "", "", "no_start", None, 0.0, 0.0, detail=str(exc),
                          backend=backend)
    theirs.close()
    try:
        ours.sendall(key)  # the probe reads it before any student code runs
    except OSError:
        pass
    ours.shutdown(socket.SHUT_WR)
    lines: queue.Queue = queue.Queue()
    out, err = _CappedText(limits.output_kb * 1024), _CappedText(limits.output_kb * 1024)
    readers = [
        threading.Thread(target=_pump, args=(child.stdout, out), daemon=True),
        threading.Thread(target=_pump, args=(child.stderr, err), daemon=True),
        threading.Thread(target=_pump_lines, args=(ours.makefile("rb"), lines), daemon=True),
    ]
    for reader in readers:
        reader.start()
    received = _Channel(key, on_event)
    status, peak, seen = "exited", 0.0, {}
    try:
        while child.poll() is None:
            received.drain(lines)
            if group is not None:
                usage = group.usage()
                over_memory = group.memory_killed()
                tasks = usage.tasks
            else:
                usage, tree = tree_usage(child.pid)
                seen.update({pid: _start_time(pid) for pid in tree})
                over_memory = usage.memory_mb > limits.memory_mb
                tasks = usage.tasks
            peak = max(peak, usage.memory_mb + charged)
            if over_memory:
                status = "memory"
            elif tasks >= limits.max_tasks or (group is not None and group.tasks_refused()):
                status = "processes"
            elif time.monotonic() - started > limits.timeout_seconds:
                status = "timeout"
            if status != "exited":
                _kill(child, seen, group)
                break
            time.sleep(POLL_SECONDS)
        child.wait()
        if group is not None:
            peak = max(peak, group.usage().memory_mb + charged)
            if status == "exited" and group.memory_killed():
                status = "memory"
        _kill(child, seen, group)
        for reader in readers[:2]:
            reader.join(timeout=5)
        readers[2].join(timeout=5)
        while received.drain(lines) and readers[2].is_alive():
            time.sleep(0.01)
        received.drain(lines)
    finally:
        ours.close()
        if group is not None:
            group.remove()
    return SandboxRun(
        events=tuple(received.events), stdout=out.text(), stderr=err.text(), status=status,
        exit_code=child.returncode, wall_seconds=time.monotonic() - started,
        peak_memory_mb=round(peak, 1), output_truncated=bool(out.dropped or err.dropped),
        tampered=received.tampered,
        limits_enforced_by=f"cgroup v{group.version}" if group else "polling",
        backend=backend,
    )


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return ""


def _kill(child: subprocess.Popen, seen: dict[int, str], group: Cgroup | None) -> None:
    """Kill the child's process group, its cgroup, and every process we saw in its tree (if
    still the same process)."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except OSError:
        pass
    if group is not None:
        group.kill_all()
    for pid, start in seen.items():
        if pid != os.getpid() and start and _start_time(pid) == start:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
