"""A warm daemon for the student's inner loop: ``python -m grader FILE`` without the imports.

Importing TensorFlow for the sandbox and Keras with JAX for the retrain costs most of a cold
grading. The single-file command therefore keeps one daemon per user, grader version and cache
directory, started by the first grading and gone after ``IDLE_SECONDS`` without one. It holds:

- a fork server (``grader.sandbox.forkserver``: TensorFlow imported, no op run); each grading's
  connection gets its own forked server, which forks a fresh probe per sandbox, exactly as
  batch grading does;
- a spare retrain worker (``grader.retrain.worker``: imported, data made, warmed up), handed to
  the next grading over the socket and replaced.

It never runs student code and never sees results: the grading process supervises the sandbox and
talks to the worker itself. Only the grader can reach it:

- an abstract Unix socket (no file): a sandbox has its own network namespace and Landlock's
  abstract-socket scope, so it cannot connect;
- each side checks the other's uid (``SO_PEERCRED``);
- a secret in a 0600 file of the user's cache directory (which a sandbox cannot read), proved
  both ways by an HMAC of a fresh nonce: whoever squats the name cannot pass for the daemon.

Off with ``--no-daemon`` or ``GRADER_DAEMON=0``; ``python -m grader daemon stop`` stops it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

from grader.version import __version__

IDLE_SECONDS = float(os.environ.get("GRADER_DAEMON_IDLE", 900))
HANDSHAKE_SECONDS = 5.0
READY_SECONDS = 180.0
MAX_MESSAGE = 1 << 16
_PACKAGE = Path(__file__).resolve().parents[1]  # grader/
_BOOT = ("import sys; sys.path.insert(0, sys.argv.pop(1)); "
         "from grader.integrations.daemon import serve; sys.exit(serve(*sys.argv[1:]))")


def enabled() -> bool:
    """Whether the single-file command should use the daemon here."""
    return (os.environ.get("GRADER_DAEMON", "1") not in ("0", "off", "no")
            and sys.platform.startswith("linux") and hasattr(socket, "SOCK_SEQPACKET")
            and hasattr(os, "pidfd_open") and hasattr(socket, "SO_PEERCRED"))


def _home() -> Path:
    from grader.retrain.client import default_cache_dir

    return default_cache_dir() / "daemon"


def _address(home: Path) -> bytes:
    """The abstract socket's name: one daemon per uid, grader code, interpreter, home and numeric
    environment (a shell with another OPENBLAS_CORETYPE talks to a daemon of its own)."""
    from grader.retrain.client import numeric_environment

    numeric = json.dumps(numeric_environment(), sort_keys=True)
    digest = hashlib.sha256(f"{__version__}\0{sys.executable}\0{home}\0{numeric}".encode())
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.read_bytes())
    return f"\0sentiment-grader-{os.getuid()}-{digest.hexdigest()[:24]}".encode()


def _secret(home: Path, create: bool) -> bytes:
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    path = home / "key"
    if create and not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(os.urandom(32))
    info = path.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{path} must be the user's own, mode 0600")
    return path.read_bytes()


def _peer_uid(sock: socket.socket) -> int:
    data = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", data)[2]


def _proof(secret: bytes | bytearray, nonce: str, side: str) -> str:
    return hmac.new(bytes(secret), f"{side}:{nonce}".encode(), hashlib.sha256).hexdigest()


def _send(sock: socket.socket, message: dict) -> None:
    sock.sendall(json.dumps(message).encode())


def _receive(sock: socket.socket, timeout: float) -> dict:
    ready, _, _ = select.select([sock], [], [], timeout)
    if not ready:
        raise TimeoutError("no answer")
    message = json.loads(sock.recv(MAX_MESSAGE) or b"null")
    if not isinstance(message, dict):
        raise ConnectionError("connection closed")
    return message


# --- the daemon (never imported by the grading process's hot path) -----------------------------


class _Spares:
    """A warmed-up retrain worker per worker setup (at most two setups), handed out and
    replaced when the grading that took it is over (or after ``REPLACE_SECONDS``), so that the
    replacement's imports do not compete with that grading for the CPU."""

    REPLACE_SECONDS = 30.0

    def __init__(self):
        self.ready: dict[str, tuple] = {}
        self.handed: list[tuple] = []

    def start(self, setup: str) -> None:
        from grader.retrain.client import spawn_worker

        if setup not in self.ready and len(self.ready) < 2:
            self.ready[setup] = spawn_worker(json.loads(setup))

    def take(self, setup: str):
        spare = self.ready.pop(setup, None)
        if spare is not None and spare[0].poll() is not None:
            shutil.rmtree(spare[1], ignore_errors=True)
            spare = None
        if spare is not None:
            self.handed.append((spare[0], setup, time.monotonic()))
        return spare

    def reap(self) -> None:
        for entry in list(self.handed):
            process, setup, since = entry
            over = process.poll() is not None
            if over:
                self.handed.remove(entry)
            if over or time.monotonic() - since > self.REPLACE_SECONDS:
                self.start(setup)

    def close_pipes(self) -> None:
        """In a forked child: drop the spares' pipes (they are not the child's to hold)."""
        for process, _ in self.ready.values():
            process.stdin.close()
            process.stdout.close()

    def close(self) -> None:
        for process, tmp in self.ready.values():
            process.kill()
            process.wait()
            shutil.rmtree(tmp, ignore_errors=True)


def serve(address_hex: str, secret_path: str, setup: str) -> int:
    """The daemon's main loop (started detached by ``connect``)."""
    import importlib

    from grader.sandbox import forkserver

    spares = _Spares()
    spares.start(setup)  # imports Keras on the other core while this process imports TensorFlow
    for name in forkserver._PRELOAD:
        importlib.import_module(name)
    secret = bytearray(Path(secret_path).read_bytes())
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        listener.bind(bytes.fromhex(address_hex))
    except OSError:
        spares.close()
        return 0  # another daemon answers at this address
    listener.listen(16)
    handlers: set[int] = set()
    last = time.monotonic()
    try:
        while True:
            ready, _, _ = select.select([listener], [], [], 1.0)
            for pid in list(handlers):
                if os.waitpid(pid, os.WNOHANG)[0]:
                    handlers.discard(pid)
            spares.reap()
            if not ready:
                if time.monotonic() - last > IDLE_SECONDS and not handlers and not spares.handed:
                    return 0
                continue
            conn, _ = listener.accept()
            last = time.monotonic()
            with conn:
                try:
                    want = _greet(conn, secret)
                except (OSError, ValueError):
                    continue
                if want.get("want") == "stop":
                    _send(conn, {"stopping": True})
                    return 0
                if want.get("want") == "sandbox":
                    pid = os.fork()
                    if pid == 0:
                        listener.close()
                        spares.close_pipes()
                        secret[:] = bytes(len(secret))  # the sandboxes forked below never see it
                        code = 1
                        try:
                            code = forkserver.serve(conn.detach())
                        finally:
                            os._exit(code)
                    handlers.add(pid)
                elif want.get("want") == "trainer" and isinstance(want.get("setup"), str):
                    spare = spares.take(want["setup"])
                    if spare is None:
                        _send(conn, {"pid": None})
                    else:
                        process, tmp = spare
                        socket.send_fds(conn, [json.dumps({"pid": process.pid, "tmp": tmp}).encode()],
                                        [process.stdin.fileno(), process.stdout.fileno()])
                        process.stdin.close()
                        process.stdout.close()
                    if spare is None:
                        spares.start(want["setup"])
    finally:
        listener.close()
        spares.close()


def _greet(conn: socket.socket, secret: bytearray) -> dict:
    """The daemon's side of the handshake; the client's request."""
    if _peer_uid(conn) != os.getuid():
        raise PermissionError("another user")
    nonce = os.urandom(16).hex()
    _send(conn, {"nonce": nonce})
    request = _receive(conn, HANDSHAKE_SECONDS)
    if not hmac.compare_digest(str(request.get("proof", "")), _proof(secret, nonce, "client")):
        raise PermissionError("bad proof")
    _send(conn, {"proof": _proof(secret, str(request.get("nonce", "")), "daemon")})
    return request


# --- the client (the grading process) ------------------------------------------------------------


class DaemonError(OSError):
    """The daemon could not be reached or did not prove who it is."""


class Daemon:
    """The grading process's handle: a connection per request, each one authenticated."""

    def __init__(self, home: Path | None = None):
        self.home = home or _home()
        self.address = _address(self.home)
        self.secret = _secret(self.home, create=True)

    def _connect(self, request: dict, timeout: float = HANDSHAKE_SECONDS) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            sock.connect(self.address)
            if _peer_uid(sock) != os.getuid():
                raise DaemonError("the daemon's socket belongs to another user")
            nonce = os.urandom(16).hex()
            theirs = _receive(sock, timeout).get("nonce", "")
            _send(sock, {**request, "proof": _proof(self.secret, str(theirs), "client"),
                         "nonce": nonce})
            answer = _receive(sock, timeout)
            if not hmac.compare_digest(str(answer.get("proof", "")),
                                       _proof(self.secret, nonce, "daemon")):
                raise DaemonError("the daemon did not prove it knows the secret")
        except (OSError, ValueError) as exc:
            sock.close()
            raise DaemonError(f"daemon: {exc}") from None
        return sock

    def launch(self, setup: dict, on_start=lambda: None) -> None:
        """Start the daemon, detached, unless one answers (``on_start`` is called when it has
        to); return once it answers."""
        from grader.retrain.client import numeric_environment
        from grader.sandbox.forkserver import server_env

        try:
            self._connect({"want": "ping"}).close()
            return
        except DaemonError:
            pass
        on_start()
        workdir = self.home / "run"
        workdir.mkdir(mode=0o700, exist_ok=True)
        # the user's numeric settings, then the sandbox's (one BLAS thread: forking stays safe)
        env = {**numeric_environment(), **server_env(str(workdir)),
               "GRADER_CACHE_DIR": str(self.home.parent),
               "GRADER_DAEMON_IDLE": str(IDLE_SECONDS)}
        subprocess.Popen(
            [sys.executable, "-I", "-B", "-c", _BOOT, str(_PACKAGE.parent), self.address.hex(),
             str(self.home / "key"), json.dumps(setup, sort_keys=True)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=workdir, env=env, start_new_session=True)
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.1)
            try:
                self._connect({"want": "ping"}).close()
                return
            except DaemonError:
                continue
        raise DaemonError("the daemon did not start")

    def fork_server(self):
        """A fork server of the daemon's, for this grading's sandboxes."""
        from grader.sandbox.forkserver import ForkServer

        return ForkServer.attached(self._connect({"want": "sandbox"}))

    def trainer(self, rubric):
        """The daemon's spare retrain worker for ``rubric``, or None (then start one)."""
        from grader.retrain.client import TrainerProcess, worker_setup

        setup = json.dumps(worker_setup(rubric), sort_keys=True)
        with self._connect({"want": "trainer", "setup": setup}) as sock:
            ready, _, _ = select.select([sock], [], [], HANDSHAKE_SECONDS)
            if not ready:
                return None
            message, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 2)
        try:
            answer = json.loads(message or b"null")
            if not isinstance(answer, dict) or not answer.get("pid") or len(fds) != 2:
                raise ValueError("no spare")
            return TrainerProcess.adopt(int(answer["pid"]), fds[0], fds[1], str(answer["tmp"]),
                                        rubric)
        except (ValueError, OSError):
            for fd in fds:
                os.close(fd)
            return None

    def stop(self) -> int:
        """Stop this user's daemons of this home, of any grader version; how many stopped."""
        stopped = 0
        for address in {self.address, *_listening(f"sentiment-grader-{os.getuid()}-")}:
            try:
                with _at(self, address):
                    self._connect({"want": "stop"}).close()
                stopped += 1
            except DaemonError:
                continue  # another home's daemon: its secret is not ours
        return stopped


def _listening(prefix: str) -> set[bytes]:
    """Abstract socket addresses starting with ``prefix`` that this network namespace lists."""
    try:
        with open("/proc/net/unix") as handle:
            names = [fields[-1] for fields in map(str.split, handle) if len(fields) >= 8]
    except OSError:
        return set()
    return {b"\0" + name[1:].encode() for name in names if name.startswith("@" + prefix)}


@contextlib.contextmanager
def _at(daemon: Daemon, address: bytes):
    """``daemon`` talking to ``address`` for a moment (an older grader version's daemon)."""
    saved, daemon.address = daemon.address, address
    try:
        yield
    finally:
        daemon.address = saved


def main(argv: list[str]) -> int:
    """``python -m grader daemon stop|status``."""
    action = argv[0] if argv else "status"
    if action not in ("stop", "status"):
        print("usage: python -m grader daemon stop|status", file=sys.stderr)
        return 2
    daemon = Daemon()
    if action == "stop":
        stopped = daemon.stop()
        print(f"stopped {stopped} daemon{'s' if stopped != 1 else ''}" if stopped
              else "no daemon was running")
        return 0
    try:
        daemon._connect({"want": "ping"}).close()
        print(f"running (exits after {IDLE_SECONDS:g} s without a grading)")
    except DaemonError:
        print("not running")
    return 0
