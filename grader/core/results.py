"""What the trusted retrain gave for one request: plain frozen data (``grader.retrain`` makes it)."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    history: dict | None = None  # per epoch: loss, val_loss, accuracy, val_accuracy
    trials: tuple = ()  # test accuracy per data seed (--trials); test_accuracy is their median
    peak_memory_mb: float | None = None  # the retrain worker's peak resident memory
    engine: str = ""  # what trained it: "numpy" (the fast path), else the Keras backend

    @classmethod
    def from_dict(cls, data: dict) -> "TrainingResult":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)
