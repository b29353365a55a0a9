"""The batch's progress line: graded so far, failed to run, the time left."""

from __future__ import annotations

import sys
import time

from grader.text import inert
from grader.integrations.batch.submissions import Clock


class Progress:
    """Count, failures (submissions that did not run to completion) and an ETA on stderr.

    A rich progress bar on a terminal; elsewhere (a pipe, CI) one plain line per submission.
    The ETA comes from measured durations: the mean grading time of this run's submissions, times
    the submissions left, divided by the workers, counting down between results on ``clock``.
    """

    def __init__(self, total: int, already: int, *, workers: int = 1, console=None,
                 quiet: bool = False, clock: Clock = time.monotonic):
        from grader.reporters.terminal import console_for

        self.total, self.done, self.failures = total, already, 0
        self.workers = max(1, workers)
        self.durations: list[float] = []
        self.console = console if console is not None else console_for(sys.stderr)
        self.quiet, self.clock = quiet, clock
        self.live = self.console.is_terminal and not quiet
        self._last = clock()
        self._bar = None

    def eta(self) -> float | None:
        """Seconds left; None while unknown (before the first measured duration, or once the
        countdown ran out with submissions still running: they take longer than the mean)."""
        left = self.total - self.done
        if not left:
            return 0.0
        if not self.durations:
            return None
        mean = sum(self.durations) / len(self.durations)
        remaining = mean * left / min(self.workers, left) - (self.clock() - self._last)
        return remaining if remaining >= 0.5 else None

    def eta_text(self) -> str:
        eta = self.eta()
        return "--" if eta is None else _duration(eta)

    def line(self) -> str:
        """The plain progress text (what a pipe or CI log gets after each submission)."""
        return (f"{self.done}/{self.total} graded, {self.failures} failed to run, "
                f"ETA {self.eta_text()}")

    def start(self) -> None:
        if self.live and self._bar is None:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar,
                                       ProgressColumn, TextColumn)
            from rich.text import Text

            owner = self

            class EtaColumn(ProgressColumn):
                def render(self, task) -> Text:
                    return Text(f"ETA {owner.eta_text()}", style="progress.remaining")

            self._bar = Bar(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("graded, {task.fields[failures]} failed to run"),
                            EtaColumn(), console=self.console, transient=False)
            self._task = self._bar.add_task("grading", total=self.total, completed=self.done,
                                            failures=0)
            self._bar.start()

    def update(self, student: str, record: dict) -> None:
        self.done += 1
        self._last = self.clock()
        if record.get("seconds") is not None:
            self.durations.append(float(record["seconds"]))
        runs = next(c for c in record["report"]["checks"] if c["id"] == "runs")
        self.failures += not runs["passed"]
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, failures=self.failures)
        else:
            report = record["report"]
            self.console.print(f"{inert(student, 200)}: {report['score']:g}/{report['max_score']:g}  "
                               f"{self.line()}", highlight=False, markup=False, soft_wrap=True)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
