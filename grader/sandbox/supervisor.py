"""Run a student's script in a limited child process and collect what it reported.

The child is ``grader.sandbox.probe`` (see its docstring for the event protocol). This side enforces the
limits that need a watcher: wall-clock time, resident memory of the whole process tree, and the
amount of output kept. It never imports TensorFlow and never trusts what the child sends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

MAX_EVENT_BYTES = 4 * 1024 * 1024
MAX_EVENTS = 20_000
POLL_SECONDS = 0.1
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
_BOOT = ("import sys; sys.path.insert(0, sys.argv.pop(1)); "
         "from grader.sandbox.probe import main; sys.exit(main(sys.argv))")


@dataclass(frozen=True)
class Limits:
    """What one run of a student's script may use."""

    timeout_seconds: float = 300.0
    memory_mb: int = 4096
    output_kb: int = 256


@dataclass(frozen=True)
class SandboxRun:
    """Raw outcome of one sandboxed run: events as the child sent them, plus what we measured."""

    events: tuple[dict, ...]
    stdout: str
    stderr: str
    status: str  # "exited" | "timeout" | "memory" | "no_start"
    exit_code: int | None
    wall_seconds: float
    peak_memory_mb: float
    output_truncated: bool = False
    detail: str = ""


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


def _pump_events(stream, events: list, on_event: Callable[[dict], None] | None) -> None:
    buffer = b""
    for chunk in iter(lambda: stream.read1(65536), b""):
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        if len(buffer) > MAX_EVENT_BYTES:
            buffer = b""
        for line in lines:
            if len(events) >= MAX_EVENTS or len(line) > MAX_EVENT_BYTES:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and isinstance(event.get("event"), str):
                events.append(event)
                if on_event is not None:
                    try:
                        on_event(event)
                    except Exception:  # noqa: BLE001 - a status display must not lose events
                        pass


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time) for every process we can see (Linux /proc)."""
    table = {}
    if not os.path.isdir("/proc"):  # macOS, Windows: no tree to watch; limits fall back to time
        return table
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            table[int(entry)] = (int(fields[1]), fields[19].decode())
        except (OSError, IndexError, ValueError):
            continue
    return table


def _tree(root: int, table: dict[int, tuple[int, str]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, stack = set(), [root]
    while stack:
        pid = stack.pop()
        if pid in found:
            continue
        found.add(pid)
        stack.extend(children.get(pid, ()))
    return found & set(table)


def _resident_mb(pids) -> float:
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    return total / 2**20


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
) -> SandboxRun:
    """Run ``script`` under the probe in a fresh temporary directory and return what it reported.

    Args:
        name: the file name the script runs under (tracebacks name it).
        source: the script's text; it is written into the fresh work directory.
        limits: time, memory and output limits.
        full: run the script unchanged (else its ``fit`` calls are shortened).
        extra_files: more files for the work directory (relative name -> content).
        on_event: called from a reader thread for each event, for live status.
        start: starts the probe (same signature as ``start_probe``); batch grading passes a
            fork server's, which forks it from a process that has imported TensorFlow already.
    """
    workdir = tempfile.mkdtemp(prefix="grader-")
    try:
        Path(workdir, name).write_bytes(source)
        for extra, content in (extra_files or {}).items():  # `name` stays the script's
            destination = os.path.realpath(os.path.join(workdir, extra))
            if destination.startswith(workdir + os.sep):
                os.makedirs(os.path.dirname(destination), exist_ok=True)
                Path(destination).write_bytes(content)
        return _supervise(workdir, name, limits, full, on_event, start or start_probe)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def start_probe(spec: dict, env: dict[str, str]) -> subprocess.Popen:
    """Start ``grader.sandbox.probe`` in a fresh interpreter (the default way to start a sandbox).

    Args:
        spec: the probe's spec (``workdir``, ``script``, ``events_fd``, ``full``).
        env: the child's whole environment.

    Returns a ``Popen`` (or an object with its ``pid``, ``stdout``, ``stderr``, ``poll``, ``wait``
    and ``returncode``) whose process group is its own. Raises OSError when it cannot start.
    """
    return subprocess.Popen(
        [sys.executable, "-I", "-B", "-u", "-c", _BOOT, _PACKAGE_PARENT, json.dumps(spec)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        pass_fds=(spec["events_fd"],), cwd=spec["workdir"], env=env, start_new_session=True,
    )


def _supervise(workdir, name, limits, full, on_event, start=start_probe) -> SandboxRun:
    read_fd, write_fd = os.pipe()
    spec = {"workdir": workdir, "script": name, "events_fd": write_fd, "full": full}
    started = time.monotonic()
    try:
        child = start(spec, _child_env(workdir))
    except OSError as exc:
        os.close(read_fd)
        os.close(write_fd)
        return SandboxRun((), "", "", "no_start", None, 0.0, 0.0, detail=str(exc))
    os.close(write_fd)
    events: list[dict] = []
    out, err = _CappedText(limits.output_kb * 1024), _CappedText(limits.output_kb * 1024)
    readers = [
        threading.Thread(target=_pump, args=(child.stdout, out), daemon=True),
        threading.Thread(target=_pump, args=(child.stderr, err), daemon=True),
        threading.Thread(target=_pump_events, args=(os.fdopen(read_fd, "rb"), events, on_event),
                         daemon=True),
    ]
    for reader in readers:
        reader.start()

    status, peak, seen = "exited", 0.0, {}
    while child.poll() is None:
        table = _process_table()
        tree = _tree(child.pid, table)
        seen.update({pid: table[pid][1] for pid in tree})
        peak = max(peak, _resident_mb(tree))
        if peak > limits.memory_mb:
            status = "memory"
        elif time.monotonic() - started > limits.timeout_seconds:
            status = "timeout"
        if status != "exited":
            _kill(child, seen)
            break
        time.sleep(POLL_SECONDS)
    child.wait()
    _kill(child, seen)
    for reader in readers:
        reader.join(timeout=5)
    return SandboxRun(
        events=tuple(events), stdout=out.text(), stderr=err.text(), status=status,
        exit_code=child.returncode, wall_seconds=time.monotonic() - started,
        peak_memory_mb=round(peak, 1), output_truncated=bool(out.dropped or err.dropped),
    )


def _kill(child: subprocess.Popen, seen: dict[int, str]) -> None:
    """Kill the child's process group and every process we saw in its tree (if still the same)."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except OSError:
        pass
    table = _process_table()
    for pid, start in seen.items():
        if pid != os.getpid() and table.get(pid, (None, None))[1] == start:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
