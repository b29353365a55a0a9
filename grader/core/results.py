"""What grading found, as plain frozen data: the trusted retrain's numbers for one request
(``grader.retrain`` makes a ``TrainingResult``), and what each check and bonus challenge of the
exercise found (``grader.checks`` and ``grader.bonus`` make them; ``grader.report`` scores them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# what a TrainingResult.history holds, per epoch (the worker records them, the report draws them)
HISTORY_KEYS = ("loss", "val_loss", "accuracy", "val_accuracy")


@dataclass(frozen=True)
class TrainingResult:
    """Numbers from one trusted retrain, or why there are none."""

    status: str  # ok | refused | failed | timeout
    message: str = ""
    test_accuracy: float | None = None
    val_accuracy: float | None = None
    first_loss: float | None = None
    last_loss: float | None = None
    epochs: int = 0
    seconds: float = 0.0
    cached: bool = False
    versions: dict = field(default_factory=dict)
    history: dict | None = None  # per epoch: HISTORY_KEYS
    trials: tuple = ()  # test accuracy per data seed (--trials); test_accuracy is their median
    peak_memory_mb: float | None = None  # the retrain worker's peak resident memory
    engine: str = ""  # what trained it: "numpy" (the fast path), else the Keras backend

    @classmethod
    def from_dict(cls, data: dict) -> "TrainingResult":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass(frozen=True)
class CheckResult:
    """What one check found (its id is the check's name in the exercise's registry)."""

    id: str
    passed: bool
    message: str
    hint: str = ""
    note: str = ""  # a few words for the instructor when this failure explains the score
    layers: tuple[int, ...] = ()  # the model layers (indices) a failure concerns, for drawings


@dataclass(frozen=True)
class BonusResult:
    """What one bonus challenge found: done or not, and why."""

    id: str
    done: bool
    message: str
