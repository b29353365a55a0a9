"""A warm sandbox launcher: one process that has imported TensorFlow forks a fresh probe per run.

Importing TensorFlow costs several seconds; a batch pays it once per worker instead of once per
submission. The fork server is started as ``python -I -B -c BOOT PARENT FD`` with the same clean
environment as a sandbox, imports numpy, scikit-learn, TensorFlow and Keras on NumPy (fast mode's
backend; a probe that runs on TensorFlow switches Keras over in ~0.2 s). No TensorFlow op is run,
and BLAS is pinned to one thread, so it stays single-threaded and forking it is safe. It then
serves requests on the ``SOCK_SEQPACKET`` socket ``FD``. Protocol, one JSON message each way:

- server → client, once: ``{"ready": true, "threads": n, "import_seconds": s, "rss_mb": m,
  "anon_mb": a}`` (``anon_mb``: the private memory each forked probe inherits)
- client → server: ``{"spec": {...probe spec...}, "env": {...}}`` with three descriptors attached
  (the child's stdout, stderr and event pipe);
- server → client: ``{"pid": n}``, then ``{"exit": code}`` (``Popen`` style: ``-signal`` when
  killed) when that child ends. One request at a time.
- client → server: ``{"clone": true}`` with one descriptor attached (a socket of a new pair):
  the server forks a copy of itself that serves that socket (and says its hello there), so that
  a second grading lane shares the import instead of paying it again. No reply on this socket.

The forked child becomes exactly what ``sandbox.start_probe`` starts: it makes itself a session
leader, puts the pipes on 0/1/2, closes every other descriptor, enters the work directory, takes
the sandbox environment and runs ``grader.sandbox.probe.main``, which confines it (namespaces, Landlock,
no_new_privs, nobody) before the student's code runs. The server never runs student code. It dies
with the process that started it (``PR_SET_PDEATHSIG``), and its children die with it.

Use from the trusted side::

    server = ForkServer()
    run = sandbox.run_script(name, source, limits=limits, start=server.start)
    server.close()
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROTOCOL = 1
READY_TIMEOUT_SECONDS = 180.0
MAX_MESSAGE = 1 << 20
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
_BOOT = ("import sys; sys.path.insert(0, sys.argv.pop(1)); "
         "from grader.sandbox.forkserver import serve; sys.exit(serve(int(sys.argv[1])))")
_PRELOAD = ("numpy", "sklearn.datasets", "sklearn.model_selection", "tensorflow", "keras",
            "grader.sandbox.probe")


# --- the server side (runs in the fork server process) -------------------------------------------


def _exit_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1


def _resident_mb() -> float:
    with open("/proc/self/statm", "rb") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _anonymous_mb() -> float:
    """Private memory (anonymous and shared-anonymous pages): what a cold probe's imports are
    charged for, and what a forked probe inherits without being charged."""
    total = 0
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(("RssAnon:", "RssShmem:")):
                total += int(line.split()[1])
    return total / 1024


def _become_probe(request: dict, fds: list[int], server: socket.socket) -> None:
    """In the forked child: turn into the probe that ``start_probe`` would have started."""
    code = 1
    try:
        os.setsid()
        server.close()
        out, err, events = fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        for source, target in ((devnull, 0), (out, 1), (err, 2)):
            os.dup2(source, target)
        events = os.dup2(events, 3)
        os.closerange(4, 1 << 16)
        spec, env = dict(request["spec"]), dict(request["env"])
        spec["events_fd"] = events
        os.chdir(spec["workdir"])
        os.environ.clear()
        os.environ.update(env)
        import io
        import tempfile as tempfile_module

        tempfile_module.tempdir = None  # TMPDIR changed
        sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
        for fd, name in ((1, "stdout"), (2, "stderr")):  # like `python -u`
            stream = io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding="utf-8",
                                      errors="backslashreplace", write_through=True)
            setattr(sys, name, stream)
            setattr(sys, f"__{name}__", stream)
        from grader.sandbox import probe as _probe

        code = _probe.main(["-c", json.dumps(spec)])
    except BaseException:  # noqa: BLE001 - never return into the server's loop
        code = 1
    finally:
        os._exit(code if isinstance(code, int) and 0 <= code < 256 else 1)


def _send(server: socket.socket, message: dict) -> None:
    server.sendall(json.dumps(message).encode())


def serve(fd: int) -> int:
    """The fork server's main loop (see the module docstring); returns when the client is gone."""
    from grader.sandbox import confine as _confine

    parent = os.getppid()
    try:
        _confine._prctl(_confine.PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        return 1
    started = time.monotonic()
    import importlib

    for name in _PRELOAD:
        importlib.import_module(name)
    server = socket.socket(fileno=fd)
    threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 1
    _send(server, {"ready": True, "protocol": PROTOCOL, "threads": threads,
                   "import_seconds": round(time.monotonic() - started, 2),
                   "rss_mb": round(_resident_mb(), 1), "anon_mb": round(_anonymous_mb(), 1)})
    clones: set[int] = set()
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(server, MAX_MESSAGE, 3)
        except OSError:
            return 0
        if not message:
            return 0
        clones -= {pid for pid in clones if os.waitpid(pid, os.WNOHANG)[0]}
        clone = False
        try:
            request = json.loads(message)
            clone = isinstance(request, dict) and request.get("clone") is True
            if len(fds) != (1 if clone else 3) or not isinstance(request, dict):
                raise ValueError("a request needs a JSON object and three descriptors "
                                 "(one to clone)")
            pid = os.fork()
        except (ValueError, OSError) as exc:
            for each in fds:
                os.close(each)
            if not clone:  # a failed clone's client sees its socket closed
                _send(server, {"error": f"{type(exc).__name__}: {exc}"[:500]})
            continue
        if clone:
            if pid == 0:
                server.close()
                code = 1
                try:
                    code = serve(fds[0])
                finally:
                    os._exit(code)
            os.close(fds[0])
            clones.add(pid)
            continue
        if pid == 0:
            _become_probe(request, fds, server)
        for each in fds:
            os.close(each)
        _send(server, {"pid": pid})
        _, status = os.waitpid(pid, 0)  # retried on EINTR by Python itself (PEP 475)
        _send(server, {"exit": _exit_code(status)})


# --- the client side (runs in the trusted grader) -------------------------------------------------


def server_env(home: str) -> dict[str, str]:
    """A fork server's environment: a sandbox's, with BLAS on one thread (forking stays safe)."""
    from grader.sandbox.supervisor import FAST_BACKEND, _child_env

    return {**_child_env(home), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "KERAS_BACKEND": FAST_BACKEND}


class ForkServerError(OSError):
    """The fork server could not start or stopped answering."""


class _ForkedProbe:
    """What ``sandbox._supervise`` needs of a ``Popen``, for a probe the fork server forked."""

    def __init__(self, server: "ForkServer", pid: int, stdout, stderr):
        self._server = server
        self.pid = pid
        self.stdout = stdout
        self.stderr = stderr
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._server._exit_status(block=False)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        while self.returncode is None:
            self.returncode = self._server._exit_status(block=True)
        return self.returncode


class ForkServer:
    """A fork server process, started now; ``start`` waits until it is ready.

    ``start`` has the signature of ``sandbox.start_probe``: pass it as ``run_script(start=...)``.
    A server that died (the OS killed it, say) is started again by the next ``start``.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._socket: socket.socket | None = None
        self._home = ""
        self.hello: dict = {}
        self.starts = 0
        self._spawn()

    @classmethod
    def attached(cls, sock: socket.socket) -> "ForkServer":
        """A client of a fork server that someone else started (the grading daemon's); if it
        fails, the next ``start`` starts one of our own."""
        server = cls.__new__(cls)
        server._lock = threading.Lock()
        server._process, server._socket, server._home = None, sock, ""
        server.hello, server.starts = {}, 0
        return server

    def _spawn(self) -> None:
        self._home = tempfile.mkdtemp(prefix="grader-forkserver-")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = server_env(self._home)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-B", "-c", _BOOT, _PACKAGE_PARENT, str(theirs.fileno())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),), cwd=self._home, env=env, start_new_session=True)
        finally:
            theirs.close()
        self._socket = ours
        self.hello = {}
        self.starts += 1

    def _receive(self, timeout: float | None) -> dict | None:
        """The next message; None on time-out. Raises ForkServerError when the server is gone."""
        ready, _, _ = select.select([self._socket], [], [], timeout)
        if not ready:
            return None
        data = self._socket.recv(MAX_MESSAGE)
        if not data:
            raise ForkServerError("the fork server stopped")
        return json.loads(data)

    def wait_ready(self) -> dict:
        """Block until the server has imported TensorFlow; its hello message."""
        if not self.hello:
            message = self._receive(READY_TIMEOUT_SECONDS)
            if not message or not message.get("ready") or message.get("protocol") != PROTOCOL:
                self._stop()
                raise ForkServerError(f"the fork server did not start: {message!r}")
            self.hello = message
        return self.hello

    @property
    def baseline_mb(self) -> float:
        """Resident memory the confined supervisor inherits from the server (counted twice)."""
        return float(self.hello.get("rss_mb", 0.0))

    @property
    def inherited_mb(self) -> float:
        """Private memory every forked probe inherits: a cgroup does not charge it to the
        sandbox, so the sandbox's limit is lowered by it (the same room as a cold start)."""
        try:
            return float(self.wait_ready().get("anon_mb", 0.0))
        except OSError:
            return 0.0

    def clone(self) -> "ForkServer":
        """A second server forked from this one once it is ready (no import of its own; during a
        run, once that run ends); it dies with this one. Raises OSError on failure."""
        with self._lock:
            if self._socket is None:
                raise ForkServerError("the fork server is not running")
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                socket.send_fds(self._socket, [json.dumps({"clone": True}).encode()],
                                [theirs.fileno()])
            except OSError as exc:
                ours.close()
                raise ForkServerError(f"the fork server failed: {exc}") from None
            finally:
                theirs.close()
        return ForkServer.attached(ours)

    def start(self, spec: dict, env: dict[str, str]) -> _ForkedProbe:
        """Fork a probe for ``spec`` (see ``sandbox.start_probe``). Raises OSError on failure."""
        with self._lock:
            if self._socket is None or (self._process is not None
                                        and self._process.poll() is not None):
                self._stop()
                self._spawn()
            try:
                self.wait_ready()
                out_r, out_w = os.pipe()
                err_r, err_w = os.pipe()
                try:
                    socket.send_fds(self._socket, [json.dumps({"spec": spec, "env": env}).encode()],
                                    [out_w, err_w, spec["events_fd"]])
                finally:
                    os.close(out_w)
                    os.close(err_w)
                reply = self._receive(READY_TIMEOUT_SECONDS)
            except (OSError, ValueError) as exc:
                self._stop()
                raise ForkServerError(f"the fork server failed: {exc}") from None
            if not reply or "pid" not in reply:
                os.close(out_r)
                os.close(err_r)
                raise ForkServerError(f"the fork server could not fork: {reply!r}")
            return _ForkedProbe(self, int(reply["pid"]), os.fdopen(out_r, "rb"),
                                os.fdopen(err_r, "rb"))

    def _exit_status(self, block: bool) -> int | None:
        try:
            message = self._receive(None if block else 0)
        except (OSError, ValueError):
            self._stop()
            return -signal.SIGKILL  # the server died, and its child with it
        if message is None:
            return None
        return int(message.get("exit", 1))

    def _stop(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            self._process = None
        if self._home:
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = ""

    def close(self) -> None:
        with self._lock:
            self._stop()
