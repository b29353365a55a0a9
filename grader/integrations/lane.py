"""What many gradings in one process share: a fork server and warm retrain workers.

Batch grading keeps one ``Lane`` per worker, nbgrader one per autograde run, the test suite one per
test process: TensorFlow is imported once for all the sandboxes (``grader.sandbox.forkserver``) and once
for all the retrains. Where the fork server cannot run (not Linux), each sandbox starts cold, as in
``python -m grader FILE``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from grader.options import cache_directory, with_limits
from grader.core.options import GradeOptions
from grader.pipeline import grade
from grader.report import Report
from grader.core.rubric import Rubric
from grader.sandbox import SandboxRun, run_script, start_probe
from grader.retrain.client import ResultCache, Retrainer, TrainerProcess


class Lane:
    """A fork server (started on first use) and one retrain worker per rubric and cache.

    A lane made with ``origin`` (another lane of the same process) clones the origin's fork
    server instead of starting its own: TensorFlow is imported once for all the lanes.
    """

    def __init__(self, warm: bool = True, origin: "Lane | None" = None):
        self.warm = warm
        self._origin = origin
        self._server = None
        self._retrainers: dict[tuple, Retrainer] = {}

    def retrainer(self, rubric: Rubric, options: GradeOptions) -> Retrainer:
        cache_dir = cache_directory(options)
        key = (rubric.sha256, str(cache_dir))
        if key not in self._retrainers:
            self._retrainers[key] = Retrainer(rubric, ResultCache(Path(cache_dir)) if cache_dir else None,
                                              spawn=self._trainer)
        return self._retrainers[key]

    def _trainer(self, rubric: Rubric) -> TrainerProcess:
        return TrainerProcess(rubric)

    def _fork_server(self):
        from grader.sandbox.forkserver import ForkServer

        origin = self._origin._server if self._origin is not None else None
        if origin:
            try:
                return origin.clone()
            except OSError:  # the origin's server is gone: start one of our own
                pass
        return ForkServer()

    def runner(self) -> Callable[..., SandboxRun]:
        """``run_script`` with sandboxes forked from the fork server, else started cold."""
        if not self.warm:
            return run_script
        if self._server is None:
            try:
                self._server = self._fork_server()
            except (OSError, AttributeError):  # no SOCK_SEQPACKET or no fork: start cold
                self._server = False
        if not self._server:
            return run_script

        server = self._server

        def start(spec: dict, env: dict[str, str]):
            try:
                return server.start(spec, env)
            except OSError:  # the fork server failed: this sandbox starts cold instead
                return start_probe(spec, env)

        def run(*args, **kwargs) -> SandboxRun:  # asks the server when a sandbox starts, not now
            return run_script(*args, start=start, inherited_mb=server.inherited_mb, **kwargs)

        return run

    def warm_up(self, rubric: Rubric, options: GradeOptions) -> None:
        """Start the processes now, without waiting: their imports run side by side."""
        self.retrainer(rubric, options).start()
        self.runner()

    def wait_ready(self) -> None:
        """Block until the fork server has imported TensorFlow and every retrain worker is ready
        (so timings exclude start-up)."""
        if self._server:
            try:
                self._server.wait_ready()
            except OSError:
                pass  # the first start() tries again; a failure is that submission's `runs`
        for retrainer in self._retrainers.values():
            retrainer.wait_ready()

    def grade(self, path: Path, options: GradeOptions, rubric: Rubric, **kwargs) -> Report:
        """``pipeline.grade`` with this lane's fork server and retrain worker."""
        return grade(path, options, rubric=with_limits(rubric, options),
                     retrainer=self.retrainer(rubric, options), runner=self.runner(), **kwargs)

    def close(self) -> None:
        while self._retrainers:
            self._retrainers.popitem()[1].close()
        if self._server:
            self._server.close()
        self._server = None


class DaemonLane(Lane):
    """The single-file command's lane: its fork server and retrain worker come warm from the
    grading daemon (``grader.integrations.daemon``); where the daemon fails, they start here as usual."""

    def __init__(self, daemon):
        super().__init__(warm=True)
        self._daemon = daemon

    def _fork_server(self):
        return self._daemon.fork_server()

    def _trainer(self, rubric: Rubric) -> TrainerProcess:
        try:
            adopted = self._daemon.trainer(rubric)
        except OSError:
            adopted = None
        return adopted or TrainerProcess(rubric)
