"""How to grade: one frozen ``GradeOptions`` that every command builds (``grader.options`` from the
command line) and every grading path reads.

Its JSON form (``to_json`` / ``from_json``) travels inside a batch task to a cluster worker; the
task's own ``schema`` versions it. ``grading_key`` is the part that changes a grade, which a
batch's resume key holds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

# the fields that change a grade (the batch's resume key holds them)
GRADING_FIELDS = ("timeout", "memory_mb", "full", "trials")


@dataclass(frozen=True)
class GradeOptions:
    """How to grade; ``None`` means "as the rubric says"."""

    timeout: float | None = None
    memory_mb: int | None = None
    full: bool = False
    trials: int = 1
    use_cache: bool = True
    cache_dir: Path | None = None
    rubric_path: Path | None = None  # None: the exercise's own rubric
    exercise: str | None = None  # None: the one the rubric names, else the default exercise

    def to_json(self) -> dict:
        """JSON-ready data (paths as strings; the rubric travels separately, so no
        ``rubric_path``)."""
        return {f.name: str(value) if isinstance(value, Path) else value
                for f in dataclasses.fields(self) if f.name != "rubric_path"
                for value in [getattr(self, f.name)]}

    @classmethod
    def from_json(cls, data: dict) -> GradeOptions:
        """The inverse of ``to_json`` (unknown keys, from a newer grader, are ignored)."""
        known = {f.name for f in dataclasses.fields(cls)} - {"rubric_path"}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("cache_dir") is not None:
            values["cache_dir"] = Path(values["cache_dir"])
        return cls(**values)

    def grading_key(self) -> dict:
        """The options that change a grade, for a resume key."""
        return {name: getattr(self, name) for name in GRADING_FIELDS}
