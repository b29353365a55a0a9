"""A rubric as frozen, typed data: points per check, the exercise's protocol, data and limits.

``grader.rubric`` reads and validates a TOML file into a ``Rubric`` (and knows the exercises);
this module only says what the data is. Each table is a frozen dataclass whose fields carry
their ``Rule`` (what the key accepts) and a one-line description, and that also reads like the
mapping it came from (``rubric.exercise.epochs == rubric.exercise["epochs"]``,
``dict(rubric.data)``). An exercise subclasses ``Protocol`` and ``Data`` with its own keys.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterator

# `python -m grader similarity`: what a rubric without a [similarity] table gets (the packaged
# rubric.toml says the same; a test keeps the two equal); grader.rubric validates a table over it
SIMILARITY_DEFAULTS = {
    "floor": 0.3, "threshold": 0.75, "html_pairs": 20, "noise_tokens": 20, "guarantee_tokens": 20,
    "code_common_fraction": 0.3, "architecture_common_fraction": 0.25,
    "rare_fingerprints": 25.0, "rare_choices": 3.0,
    "boilerplate": (),  # an exercise's rubric names its template
}


@dataclass(frozen=True)
class Rule:
    """What one key accepts: an int or a number, within bounds (None: unbounded)."""

    kind: type  # int or float
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself excluded
    high_open: bool = False

    def describe(self) -> str:
        noun = "an integer" if self.kind is int else "a number"
        bounds = []
        if self.low is not None:
            bounds.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            bounds.append(f"{'<' if self.high_open else '<='} {self.high:g}")
        return f"{noun} {' and '.join(bounds)}".strip()

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or (value < self.high or (not self.high_open and value == self.high))


POSITIVE_INT, POSITIVE = Rule(int, 1), Rule(float, 0, low_open=True)
FRACTION_OPEN = Rule(float, 0, 1, low_open=True, high_open=True)


def rule(r: Rule, doc: str):
    """A dataclass field with its validation rule and a one-line description."""
    return field(metadata={"rule": r, "doc": doc})


class Section(Mapping):
    """A rubric table: typed attributes, and mapping access (``section["key"]``) to the same values."""

    table = ""  # the TOML table's name (a class attribute, not a field)

    def __getitem__(self, key: str):
        if key not in self._names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))


@dataclass(frozen=True, eq=True)
class Protocol(Section):
    """The rubric's ``[exercise]`` table as the engine reads it: the data's size, the split, how
    the grader retrains, and the accuracy it must exceed. An exercise subclasses it with what
    its own checks read."""

    table = "exercise"
    n_samples: int = rule(Rule(int, 2), "rows the data has")
    n_features: int = rule(POSITIVE_INT, "features per row")
    n_classes: int = rule(Rule(int, 2), "classes")
    test_fraction: float = rule(FRACTION_OPEN, "share of the rows held out for testing")
    epochs: int = rule(POSITIVE_INT, "epochs for fit and for the grader's retrain")
    batch_size: int = rule(POSITIVE_INT, "batch size for fit and for the grader's retrain")
    validation_split: float = rule(Rule(float, 0, 1, high_open=True), "fit's validation split")
    accuracy_threshold: float = rule(Rule(float, 0, 1, high_open=True),
                                     "the grader's test accuracy must exceed this")
    borderline_margin: float = rule(Rule(float, 0, 1), "accuracies this close are flagged")


@dataclass(frozen=True, eq=True)
class Data(Section):
    """The rubric's ``[data]`` table: the seed of the grader's own data, and the data maker's
    arguments (an exercise subclasses it with those)."""

    table = "data"
    seed: int = rule(Rule(int, 0, 2**32 - 1), "random_state of the data and the split")


@dataclass(frozen=True, eq=True)
class Limits(Section):
    """What a submission may use."""

    table = "limits"
    timeout_seconds: float = rule(POSITIVE, "wall clock for the student's script")
    memory_mb: int = rule(POSITIVE_INT, "resident memory of the script's process tree")
    output_kb: int = rule(POSITIVE_INT, "captured output kept")
    max_parameters: int = rule(POSITIVE_INT, "the grader refuses to retrain a larger model")
    train_timeout_seconds: float = rule(POSITIVE, "wall clock for the grader's retrain")
    train_memory_mb: int = rule(POSITIVE_INT, "resident memory of the grader's retrain")
    max_processes: int = rule(POSITIVE_INT, "tasks the script may run at once")
    disk_mb: int = rule(POSITIVE_INT, "what the script may write in its directory")


@dataclass(frozen=True)
class Rubric:
    points: Mapping[str, float]  # check id -> points, in the exercise's order
    exercise: Protocol  # the [exercise] table, as the exercise's own Protocol subclass
    data: Data
    limits: Limits
    hint_level: str
    sha256: str
    stated_max_score: float = 100.0
    similarity: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType(dict(SIMILARITY_DEFAULTS)))
    bonus: Mapping[str, float] = field(default_factory=dict)  # extra credit per challenge
    source: bytes = field(default=b"", repr=False, compare=False)  # the file's bytes
    name: str = field(default="", compare=False)  # the file's name, for messages
    exercise_name: str = ""  # the exercise it grades (grader.exercise)

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]

    @property
    def max_score(self) -> float:
        return float(sum(self.points.values()))
