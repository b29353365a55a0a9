"""Scores and the finished report: plain data that every reporter formats."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from grader.checks import CheckResult
from grader.rubric import Rubric
from grader.text import inert


@dataclass(frozen=True)
class ScoredCheck:
    id: str
    passed: bool
    score: float
    max_score: float
    message: str
    hint: str = ""


@dataclass(frozen=True)
class Report:
    """One graded submission."""

    submission: str
    checks: tuple[ScoredCheck, ...]
    score: float
    max_score: float
    not_started: bool = False
    tampered: str = ""  # why the sandbox's evidence was not believed ("" when it was)
    metrics: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)  # versions, rubric hash, seed, mode, protections

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def to_dict(self) -> dict:
        """The JSON report (``--format json``)."""
        return {
            "submission": self.submission,
            "passed": self.passed,
            "score": self.score,
            "max_score": self.max_score,
            "not_started": self.not_started,
            "tampered": bool(self.tampered),
            "tampered_reason": self.tampered,
            "checks": [{k: v for k, v in asdict(c).items()} for c in self.checks],
            "metrics": dict(self.metrics),
            "info": dict(self.info),
        }


def _hinted(result: CheckResult, hint_level: str) -> tuple[str, str]:
    if result.passed or hint_level == "fix":
        return result.message, result.hint if not result.passed else ""
    if hint_level == "expected":
        return result.message, ""
    return "failed", ""


def score_checks(results: list[CheckResult], rubric: Rubric) -> tuple[ScoredCheck, ...]:
    """Points per check from the rubric; messages cut to what the rubric's hint level allows."""
    scored = []
    for result in results:
        points = rubric.points[result.id]
        message, hint = _hinted(result, rubric.hint_level)
        message, hint = inert(message, 2000), inert(hint, 1000)  # they quote the submission
        scored.append(ScoredCheck(result.id, result.passed, points if result.passed else 0.0,
                                  points, message, hint))
    return tuple(scored)


def build_report(submission: str, results: list[CheckResult], rubric: Rubric, *,
                 not_started: bool = False, tampered: str = "", metrics: dict | None = None,
                 info: dict | None = None) -> Report:
    checks = score_checks(results, rubric)
    return Report(submission=inert(submission, 500), checks=checks,
                  score=round(sum(c.score for c in checks), 2), max_score=rubric.max_score,
                  not_started=not_started, tampered=inert(tampered, 300),
                  metrics=dict(metrics or {}), info=dict(info or {}))
