"""The finished report of one graded submission: plain frozen data that every reporter formats.

``Report.to_dict`` is the JSON report (``--format json``, batch's ``reports/<id>.json``, a cluster
worker's answer) with its ``schema_version``; ``Report.from_dict`` reads it back, from this
grader or an earlier one (which wrote no version). ``grader.report`` scores and builds it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

SCHEMA_VERSION = 1  # of ``Report.to_dict``'s JSON


@dataclass(frozen=True)
class ScoredCheck:
    id: str
    passed: bool
    score: float
    max_score: float
    message: str
    hint: str = ""
    layers: tuple[int, ...] = ()  # the architecture's layers (indices) a failure concerns


@dataclass(frozen=True)
class ScoredBonus:
    """One bonus challenge: extra credit, added to the score but not to ``max_score``."""

    id: str
    done: bool
    message: str
    score: float
    max_score: float


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
    architecture: dict | None = None  # what `python -m grader similarity` compares (see below)
    reason: str = ""  # a few words when one failure explains the score ("crashed at line 12")
    bonus: tuple[ScoredBonus, ...] = ()
    history: dict | None = None  # the grader's retrain, per epoch: loss, val_loss, accuracy, ...
    # what the script plotted: {"title": str, "png_base64": str, "plotted": [history keys]}
    figures: tuple[dict, ...] = ()

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def to_dict(self) -> dict:
        """The JSON report (``--format json``)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "submission": self.submission,
            "passed": self.passed,
            "score": self.score,
            "max_score": self.max_score,
            "not_started": self.not_started,
            "tampered": bool(self.tampered),
            "tampered_reason": self.tampered,
            "checks": [{**asdict(c), "layers": list(c.layers)} for c in self.checks],
            "bonus": [asdict(b) for b in self.bonus],
            "metrics": dict(self.metrics),
            "info": dict(self.info),
            "architecture": self.architecture,
            "reason": self.reason,
            "history": self.history,
            "figures": [dict(f) for f in self.figures if isinstance(f, dict)],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Report:
        """A report from its JSON form (batch results on disk, a cluster worker's answer)."""
        check_fields = {f.name for f in fields(ScoredCheck)}
        checks = tuple(ScoredCheck(**{k: (tuple(v) if k == "layers" else v)
                                      for k, v in c.items() if k in check_fields})
                       for c in data["checks"])
        bonus_fields = {f.name for f in fields(ScoredBonus)}
        bonus = tuple(ScoredBonus(**{k: v for k, v in b.items() if k in bonus_fields})
                      for b in data.get("bonus") or ())
        known = {f.name for f in fields(cls)} - {"checks", "passed", "tampered", "bonus",
                                                  "figures"}
        tampered = data.get("tampered_reason") or ("tampered" if data.get("tampered") else "")
        return cls(checks=checks, tampered=str(tampered), bonus=bonus,
                   figures=tuple(data.get("figures") or ()),
                   **{k: v for k, v in data.items() if k in known})
