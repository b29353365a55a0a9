"""The grader's own training run, seen from the trusted parent (no TensorFlow imported here).

``TrainerProcess`` starts ``grader.retrain.worker`` (a process that never runs student code) early, so
that it imports Keras and makes the grader's data while the student's script runs. Requests
(``grader.core.request``) and results (``grader.core.results``) are versioned JSON lines; results
are cached by the request's hash, because a retrain is deterministic: same config, optimizer,
loss, data and grader version give the same numbers.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import tempfile
import sys
import threading
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterator

import psutil

from grader.version import __version__
from grader.core.request import RetrainRequest
from grader.core.results import TrainingResult
from grader.files import atomic_write
from grader.core.rubric import Rubric
from grader.retrain.settings import retrain_settings
from grader.sandbox.resources import Cgroup

PROTOCOL = 1


def library_versions() -> dict[str, str]:
    """Versions of the libraries that the numbers depend on, read from package metadata (no
    import), and the retrain's settings (its Keras backend and engine)."""
    versions = dict(retrain_settings())
    for name in ("tensorflow", "keras", "jax", "numpy", "numba"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _imports(path: Path, package: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Every import statement of a module's source, at any depth (the worker imports some inside
    functions): (the module imported, the names taken from it)."""
    for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            module = (f"{base}.{node.module}" if node.module else base) if node.level \
                else node.module
            yield module, tuple(alias.name for alias in node.names)


def _spec(name: str):
    """``name``'s module spec, found on the import path without importing anything (None when
    there is no such module)."""
    from importlib.machinery import PathFinder

    spec, path = None, None
    for depth in range(1, name.count(".") + 2):
        spec = PathFinder.find_spec(".".join(name.split(".")[:depth]), path)
        if spec is None:
            return None
        path = spec.submodule_search_locations
        if path is None and depth <= name.count("."):
            return None  # a name inside a module, not a module
    return spec


@functools.lru_cache(maxsize=None)
def retrain_sources(data_maker: str) -> tuple[tuple[str, Path], ...]:
    """The source files that decide a retrain's numbers, as (module, file) sorted by module:
    every module of this package, and every module of the grader's own packages that the worker
    imports, followed through the import statements of the worker and of the exercise's data
    maker's module (``"module:function"``), with the packages around each (their ``__init__``
    runs first). Derived, not listed, so a new module is never left out. Third-party modules
    are not followed: their versions are in the key (``library_versions``)."""
    package = __name__.rpartition(".")[0]
    here = {f"{package}.{path.stem}" if path.stem != "__init__" else package: path
            for path in Path(__file__).parent.glob("*.py")}
    maker = data_maker.partition(":")[0]
    ours = {package.split(".")[0], maker.split(".")[0]}
    todo, found = [f"{package}.worker", maker], {}
    while todo:
        name = todo.pop()
        if name in found or name.split(".")[0] not in ours:
            continue
        spec = _spec(name)
        if spec is None or not spec.has_location or not spec.origin.endswith(".py"):
            continue
        found[name] = Path(spec.origin)
        todo += [name.rpartition(".")[0]] if "." in name else []
        is_package = spec.submodule_search_locations is not None
        for module, names in _imports(found[name], name if is_package else
                                      name.rpartition(".")[0]):
            todo += [module, *(f"{module}.{item}" for item in names if item != "*")]
    found.update(here)
    return tuple(sorted(found.items()))


def _sources_digest(sources) -> str:
    digest = hashlib.sha256()
    for module, path in sources:
        digest.update(module.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def request_key(request: RetrainRequest, setup: dict) -> str:
    """The cache key of ``request`` for a worker started with ``setup`` (``worker_setup``: the
    grader's data, the exercise's sizes and data maker, the retrain's backend and engine): with
    the grader's and the libraries' versions and every source file the worker runs
    (``retrain_sources``) and the numeric environment, so a change to any of them never reuses
    old results."""
    payload = json.dumps([request.to_json(), setup, __version__, library_versions(),
                          _sources_digest(retrain_sources(setup["data_maker"])),
                          numeric_environment()], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def default_cache_dir() -> Path:
    base = os.environ.get("GRADER_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sentiment-grader")
    return Path(base)


class ResultCache:
    """Retrain results on disk, one JSON file per request hash, written atomically."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def get(self, key: str) -> TrainingResult | None:
        try:
            data = json.loads((self.directory / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("protocol") != PROTOCOL:
            return None
        return TrainingResult.from_dict({**data["result"], "cached": True})

    def put(self, key: str, result: TrainingResult) -> None:
        if result.status not in ("ok", "refused"):
            return  # failures may be the machine's, not the model's: try again next time
        try:
            atomic_write(self.directory / f"{key}.json",
                         json.dumps({"protocol": PROTOCOL, "result": asdict(result)}))
        except OSError:
            pass


def worker_setup(rubric: Rubric) -> dict:
    """What a retrain worker is started with: the grader's data and the exercise, and the
    retrain's settings (``SettingError`` for an unknown one)."""
    from grader.exercise import get

    return {"protocol": PROTOCOL, "data": dict(rubric.data), "exercise": dict(rubric.exercise),
            "data_maker": get(rubric.exercise_name).data_maker,
            **retrain_settings()}


# What chooses the kernels, and so the rounding, of the retrain's arithmetic (OpenBLAS' core type
# and cache sizes, MKL's, XLA's and oneDNN's switches): measured, OPENBLAS_CORETYPE alone moves the
# reference solution's grader accuracy from 0.885 to 0.8875.
NUMERIC_VARIABLES = ("OPENBLAS_", "GOTO", "MKL_", "XLA_", "JAX_", "TF_ENABLE_ONEDNN_OPTS", "NPY_")


def numeric_environment(environ=None) -> dict[str, str]:
    """The variables of ``environ`` (the process's own by default) that change the retrain's
    numbers: whoever starts a retrain worker (the command, batch, the daemon) gives it these, so
    a verdict does not depend on the path that graded it."""
    environ = os.environ if environ is None else environ
    return {name: value for name, value in environ.items() if name.startswith(NUMERIC_VARIABLES)}


def spawn_worker(setup: dict) -> tuple[subprocess.Popen, str]:
    """Start ``grader.retrain.worker`` for ``setup``; the process and its private temp directory
    (libraries write generated files there; removed by whoever ends the worker)."""
    root = str(Path(__file__).resolve().parents[2])
    tmp = tempfile.mkdtemp(prefix="grader-retrain-")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1",
           "PYTHONPATH": root, "TMPDIR": tmp,
           **{f"GRADER_RETRAIN_{key.upper()}": str(value) for key, value in {
               **retrain_settings(), **{k: setup[k] for k in ("backend", "engine") if setup.get(k)}
           }.items()}}
    process = subprocess.Popen(
        [sys.executable, "-m", "grader.retrain.worker", json.dumps(setup)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        cwd=root, env=env)
    return process, tmp


class _Adopted:
    """What ``TrainerProcess`` needs of a ``Popen``, for a worker another process started (the
    daemon's spare): watched and killed through a pidfd, so a reused pid is never hit."""

    def __init__(self, pid: int, stdin_fd: int, stdout_fd: int):
        self._pidfd = os.pidfd_open(pid)
        self.pid = pid
        self.stdin = os.fdopen(stdin_fd, "w")
        self.stdout = os.fdopen(stdout_fd, "r")
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._pidfd], [], [], 0)[0]:
            self.returncode = -1  # ended; its status goes to its parent, the daemon
        return self.returncode

    def kill(self) -> None:
        try:
            signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
        except OSError:
            pass

    def wait(self, timeout: float | None = None) -> int:
        select.select([self._pidfd], [], [], timeout)
        if self.poll() is not None:
            os.close(self._pidfd)
            self._pidfd = -1
        return self.returncode if self.returncode is not None else 0


class TrainerProcess:
    """A running ``grader.retrain.worker``: start it early, send it requests, close it."""

    def __init__(self, rubric: Rubric | None, *, adopted: tuple | None = None):
        self.memory_mb = int(rubric.limits["train_memory_mb"]) if rubric else 2048
        if adopted is None:
            self._process, self._tmp = spawn_worker(worker_setup(rubric))
        else:
            self._process, self._tmp = adopted
        self._group = Cgroup.create(self.memory_mb, 512)
        if self._group is not None:
            try:
                for procs in self._group.procs_files():
                    with open(procs, "w") as handle:
                        handle.write(str(self._process.pid))
            except OSError:
                self._group.remove()
                self._group = None
        self._messages: queue.Queue = queue.Queue()
        self._next_id = 0
        self.versions: dict = {}
        self._said_ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    @classmethod
    def adopt(cls, pid: int, stdin_fd: int, stdout_fd: int, tmp: str, rubric: Rubric) -> "TrainerProcess":
        """A worker the daemon started (see ``grader.integrations.daemon``), now this process's to use."""
        return cls(rubric, adopted=(_Adopted(pid, stdin_fd, stdout_fd), tmp))

    def _read(self) -> None:
        for line in self._process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            self._messages.put(message)
            if isinstance(message, dict) and "ready" in message:
                self._said_ready.set()
        self._said_ready.set()  # or ended: nothing more to wait for
        self._messages.put(None)

    def wait_ready(self, timeout: float) -> None:
        """Block until the worker has said it is ready (or ended), at most ``timeout`` seconds."""
        self._said_ready.wait(timeout)

    def submit(self, request: RetrainRequest) -> int | None:
        """Queue a request (cancelling the one in training); its id, or None if the worker is gone."""
        self._next_id += 1
        try:
            self._process.stdin.write(json.dumps({"id": self._next_id,
                                                  "request": request.to_json()}) + "\n")
            self._process.stdin.flush()
        except (OSError, ValueError):
            return None
        return self._next_id

    def wait(self, ident: int, timeout: float,
             on_progress: Callable[[int, int], None] | None = None,
             on_other: Callable[[int, TrainingResult], None] | None = None) -> TrainingResult:
        """The result of request ``ident``; other requests' results go to ``on_other``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self._messages.get(timeout=min(0.5, max(0.05, deadline - time.monotonic())))
            except queue.Empty:
                if self._over_memory():
                    self.close()
                    return self._memory_result()
                if time.monotonic() < deadline:
                    continue
                self.close()
                return TrainingResult("timeout", f"training took longer than {timeout:g} s, "
                                                 "the grader's limit")
            if message is None:
                if self._over_memory():
                    return self._memory_result()
                return TrainingResult("failed", "the grader's training process stopped "
                                                f"(exit status {self._process.wait()})")
            if "ready" in message:
                self.versions = message.get("versions", {})
            elif message.get("id") != ident:
                if "result" in message and on_other is not None:
                    on_other(message["id"], TrainingResult.from_dict(
                        {**message["result"], "versions": self.versions}))
            elif "progress" in message and on_progress is not None:
                on_progress(int(message["progress"]), int(message.get("of", 0)))
            elif "result" in message:
                return TrainingResult.from_dict({**message["result"], "versions": self.versions})

    def _over_memory(self) -> bool:
        if self._group is not None:
            return self._group.memory_killed()
        try:
            return psutil.Process(self._process.pid).memory_info().rss > self.memory_mb * 2**20
        except psutil.Error:
            return False

    def _memory_result(self) -> TrainingResult:
        return TrainingResult("failed", f"training the model needed more than {self.memory_mb} MB, "
                                        "the grader's limit")

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        if self._group is not None:
            self._group.remove()
            self._group = None
        shutil.rmtree(self._tmp, ignore_errors=True)
        for stream in (self._process.stdin, self._process.stdout):
            try:
                stream.close()
            except (OSError, ValueError):
                pass


class Retrainer:
    """Retrain results: from the cache, else from a worker that may have started speculatively.

    ``speculate`` may be called as soon as the student's script compiles a model; ``result`` gives
    the answer for the model finally graded, reusing the speculative run when it is the same.
    """

    def __init__(self, rubric: Rubric, cache: ResultCache | None,
                 spawn: Callable[[Rubric], TrainerProcess] = TrainerProcess):
        self.rubric = rubric
        self.cache = cache
        self._spawn = spawn  # how a worker is started (the grading daemon hands out warm ones)
        self._process: TrainerProcess | None = None
        self._keys: dict[int, str] = {}
        self._latest: tuple[str, int] | None = None

    def key(self, request: RetrainRequest) -> str:
        """``request``'s cache key for the workers this retrainer starts (``worker_setup``)."""
        return request_key(request, worker_setup(self.rubric))

    def start(self) -> None:
        """Start the worker now, so TensorFlow's import overlaps other work."""
        if self._process is None:
            self._process = self._spawn(self.rubric)

    def wait_ready(self) -> None:
        """Block until the started worker has imported Keras and warmed up (so that batch
        timings exclude start-up); a worker that fails is that submission's problem, later."""
        if self._process is not None:
            self._process.wait_ready(float(self.rubric.limits["train_timeout_seconds"]))

    def _submit(self, request: RetrainRequest, key: str) -> int | None:
        self.start()
        ident = self._process.submit(request)
        if ident is not None:
            self._keys[ident] = key
            self._latest = (key, ident)
        return ident

    def speculate(self, request: RetrainRequest) -> None:
        key = self.key(request)
        if (self._latest and self._latest[0] == key) or (self.cache and self.cache.get(key)):
            return
        self._submit(request, key)

    def _store(self, ident: int, result: TrainingResult) -> None:
        if self.cache is not None and ident in self._keys:
            self.cache.put(self._keys[ident], result)

    def result(self, request: RetrainRequest,
               on_progress: Callable[[int, int], None] | None = None,
               trust_cache: bool = True) -> TrainingResult:
        """The retrain result for ``request``. ``trust_cache=False`` ignores cached results (the
        submission's sandbox could write files outside its directory, the cache included)."""
        key = self.key(request)
        hit = self.cache.get(key) if self.cache is not None and trust_cache else None
        if hit is not None:
            return hit
        ident = self._latest[1] if self._latest and self._latest[0] == key else None
        if ident is None:
            ident = self._submit(request, key)
        if ident is None:
            return TrainingResult("failed", "the grader's training process could not start")
        timeout = float(self.rubric.limits["train_timeout_seconds"])
        result = self._process.wait(ident, timeout, on_progress, self._store)
        if not self._process.alive:  # timed out, killed over memory, or crashed: start afresh
            self._process.close()
            self._process, self._latest = None, None
        self._store(ident, result)
        return result

    def close(self) -> None:
        if self._process is not None:
            self._process.close()
            self._process = None
