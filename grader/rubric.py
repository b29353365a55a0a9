"""Load the rubric (points, thresholds, limits, the grader's data) from its TOML file."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

DEFAULT_RUBRIC = Path(__file__).with_name("rubric.toml")
CHECK_IDS = ("runs", "data", "split", "hidden_layers", "decreasing_widths", "l2", "dropout",
             "hidden_activations", "output_layer", "loss", "training", "prints_accuracy",
             "loss_decreases", "accuracy")
HINT_LEVELS = ("fix", "expected", "none")


class RubricError(ValueError):
    """The rubric file is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class Rubric:
    points: Mapping[str, float]
    exercise: Mapping[str, float]
    data: Mapping[str, float]
    limits: Mapping[str, float]
    hint_level: str
    sha256: str

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]

    @property
    def max_score(self) -> float:
        return float(sum(self.points.values()))


def load_rubric(path: Path = DEFAULT_RUBRIC) -> Rubric:
    """Read and validate a rubric file."""
    try:
        raw = Path(path).read_bytes()
        table = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RubricError(f"cannot read rubric {path}: {exc}") from None
    points = table.get("points", {})
    missing = [c for c in CHECK_IDS if c not in points]
    unknown = [c for c in points if c not in CHECK_IDS]
    if missing or unknown:
        raise RubricError(f"rubric {path}: points must name exactly the checks {CHECK_IDS}. "
                          f"Missing: {missing}; unknown: {unknown}")
    hint_level = table.get("hint_level", "fix")
    if hint_level not in HINT_LEVELS:
        raise RubricError(f"rubric {path}: hint_level must be one of {HINT_LEVELS}. "
                          f"Received: hint_level={hint_level!r}")
    for section in ("exercise", "data", "limits"):
        if not isinstance(table.get(section), dict):
            raise RubricError(f"rubric {path}: missing [{section}] table")
    return Rubric(
        points=MappingProxyType({c: float(points[c]) for c in CHECK_IDS}),
        exercise=MappingProxyType(dict(table["exercise"])),
        data=MappingProxyType(dict(table["data"])),
        limits=MappingProxyType(dict(table["limits"])),
        hint_level=hint_level,
        sha256=hashlib.sha256(raw).hexdigest(),
    )
