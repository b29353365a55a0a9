"""Load the rubric (points, thresholds, limits, the grader's data) from its TOML file."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
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
# `python -m grader similarity`: what a rubric without a [similarity] table gets (the packaged
# rubric.toml says the same; a test keeps the two equal), and the (low, high) each number may be.
SIMILARITY_DEFAULTS = {
    "floor": 0.3, "threshold": 0.75, "html_pairs": 20, "noise_tokens": 20, "guarantee_tokens": 20,
    "code_common_fraction": 0.3, "architecture_common_fraction": 0.25,
    "rare_fingerprints": 25.0, "rare_choices": 3.0,
    "boilerplate": ("../assignment/sentiment_classifier.py",),
}
_SIMILARITY_RANGES = {
    "floor": (0.0, 1.0), "threshold": (0.0, 1.0), "html_pairs": (1, 1000),
    "noise_tokens": (5, 200), "guarantee_tokens": (5, 400),
    "code_common_fraction": (0.01, 1.0), "architecture_common_fraction": (0.01, 1.0),
    "rare_fingerprints": (0.1, 10_000.0), "rare_choices": (0.1, 100.0),
}
_SIMILARITY_INTEGERS = ("html_pairs", "noise_tokens", "guarantee_tokens")


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
    similarity: Mapping[str, object] = field(
        default_factory=lambda: MappingProxyType(_similarity({}, DEFAULT_RUBRIC)))

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
        similarity=MappingProxyType(_similarity(table.get("similarity", {}), Path(path))),
    )


def _similarity(table, path: Path) -> dict:
    """The [similarity] table over its defaults; boilerplate paths resolved from the rubric's
    folder (they need not exist: the similarity report says which are missing)."""
    if not isinstance(table, dict):
        raise RubricError(f"rubric {path}: [similarity] must be a table. Received: {table!r}")
    unknown = sorted(set(table) - set(SIMILARITY_DEFAULTS))
    if unknown:
        raise RubricError(f"rubric {path}: unknown [similarity] keys {unknown}; known: "
                          f"{sorted(SIMILARITY_DEFAULTS)}")
    settings = {**SIMILARITY_DEFAULTS, **table}
    for key, (low, high) in _SIMILARITY_RANGES.items():
        value = settings[key]
        integer = key in _SIMILARITY_INTEGERS
        if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)) \
                or not low <= value <= high:
            raise RubricError(f"rubric {path}: [similarity] {key} must be "
                              f"{'an integer' if integer else 'a number'} from {low} to {high}. "
                              f"Received: {key}={value!r}")
        settings[key] = int(value) if integer else float(value)
    if settings["floor"] > settings["threshold"]:
        raise RubricError(f"rubric {path}: [similarity] floor must not exceed threshold. "
                          f"Received: floor={settings['floor']}, threshold={settings['threshold']}")
    if settings["guarantee_tokens"] < settings["noise_tokens"]:
        raise RubricError(f"rubric {path}: [similarity] guarantee_tokens must be at least "
                          f"noise_tokens. Received: guarantee_tokens="
                          f"{settings['guarantee_tokens']}, "
                          f"noise_tokens={settings['noise_tokens']}")
    files = settings["boilerplate"]
    if not isinstance(files, (list, tuple)) or not all(isinstance(f, str) for f in files):
        raise RubricError(f"rubric {path}: [similarity] boilerplate must be a list of file paths. "
                          f"Received: boilerplate={files!r}")
    settings["boilerplate"] = tuple(str((Path(path).parent / f).resolve()) for f in files)
    return settings
