"""The seam between the engine and an exercise: what an exercise package declares, and where the
installed ones are found.

An exercise is a package (``exercises/<name>/`` in this repository, or any package named by a
``grader.exercises`` entry point) whose ``EXERCISE`` is an :class:`Exercise`: its sheet, template,
solution and rubric, its :class:`Registry` of checks and bonus challenges, the rubric tables it
adds, and the texts its hints use. The engine reads exercises only through this module and holds
no literal of any of them.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.metadata
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

ENTRY_POINTS = "grader.exercises"
BUILT_IN = "exercises"  # the package that holds this repository's exercises


class ExerciseError(LookupError):
    """No installed exercise has that name (the message lists the installed ones)."""


@dataclass(frozen=True)
class Entry:
    """One named function of an exercise's registry: a check, or a bonus challenge (extra credit:
    its points add to the score, never to ``max_score``)."""

    id: str
    function: Callable
    extra_credit: bool = False
    from_the_channel: bool = True  # its evidence comes from the sandbox's event channel
    hints: Any = None  # an engine check's words (grader.checks.Hints), passed as its last argument

    def __call__(self, *args):
        extra = () if self.hints is None else (self.hints,)
        return dataclasses.replace(self.function(*args, *extra), id=self.id)


class Registry(Mapping):
    """An exercise's checks and bonus challenges in the order reports show them; a function's name
    is its id (``@checks.check def dropout(...)`` is the check ``dropout``)."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def _add(self, function: Callable, **kind) -> Callable:
        name = function.__name__
        if name in self._entries:
            raise ValueError(f"two checks are named {name!r}")
        self._entries[name] = Entry(name, function, **kind)
        return function

    def check(self, function: Callable | None = None, *, hints: Any = None,
              from_the_channel: bool = True):
        """Register ``function(observation, training, rubric) -> CheckResult`` as a check (an
        engine check with ``hints``: ``function(observation, training, rubric, hints)``)."""
        if function is None:
            return functools.partial(self.check, hints=hints, from_the_channel=from_the_channel)
        return self._add(function, hints=hints, from_the_channel=from_the_channel)

    def bonus(self, function: Callable) -> Callable:
        """Register ``function(observation) -> BonusResult`` as a bonus challenge."""
        return self._add(function, extra_credit=True)

    def __getitem__(self, key: str) -> Entry:
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def checks(self) -> dict[str, Entry]:
        return {k: e for k, e in self._entries.items() if not e.extra_credit}

    @property
    def bonuses(self) -> dict[str, Entry]:
        return {k: e for k, e in self._entries.items() if e.extra_credit}

    @property
    def check_ids(self) -> tuple[str, ...]:
        return tuple(self.checks)

    @property
    def bonus_ids(self) -> tuple[str, ...]:
        return tuple(self.bonuses)


@dataclass(frozen=True)
class Exercise:
    """What an exercise package declares. Paths are relative to ``root`` (the repository, for the
    built-in exercises), so that ``python -m grader exercises`` can show them as written."""

    name: str
    title: str
    root: Path
    package: Path  # the exercise's own folder
    sheet: Path
    template: Path  # the students' starter file, in assignment/
    solution: Path  # the reference solution (full marks), in solution/
    rubric: Path
    registry: Registry
    parameters: type  # the rubric's [exercise] table (a grader.rubric.Protocol subclass)
    data: type  # the rubric's [data] table (a grader.rubric.Data subclass)
    # (parameters, data) -> problems that no single key shows; "" each is fine
    validate: Callable[[Any, Any], list[str]] = lambda parameters, data: []
    # the trusted retrain's data: "module:function(data: dict, parameters: dict) -> dict"
    data_maker: str = "grader.retrain.data:classification_data"
    notebook: Path | None = None  # the generated nbgrader source notebook
    steps: Mapping[int, tuple[str, ...]] = field(default_factory=dict)  # "# Step N" -> check ids
    final_checks: tuple[str, ...] = ()  # checks of the whole run, after the steps
    heading: str = ""  # what a report's first line calls it ("Sentiment classifier"); "": title

    @property
    def stem(self) -> str:
        """The name a submission has (the template's, ``sentiment_classifier`` say), without its
        suffix: in a folder of several files, the file named so is graded."""
        return self.template.stem

    def path(self, relative: Path) -> Path:
        """A path of the exercise as a file on this machine."""
        return self.root / relative

    def describe(self) -> dict[str, str]:
        """What ``python -m grader exercises --format json`` prints of it."""
        return {"name": self.name, "title": self.title, "template": self.template.as_posix(),
                "solution": self.solution.as_posix(), "rubric": self.rubric.as_posix()}


def _module_of(name: str):
    for point in importlib.metadata.entry_points(group=ENTRY_POINTS):
        if point.name == name:
            return point.load()
    return importlib.import_module(f"{BUILT_IN}.{name}")


def names() -> tuple[str, ...]:
    """The installed exercises' names: this repository's, and those of entry points."""
    found = set()
    try:
        package = importlib.import_module(BUILT_IN)
        found.update(m.name for m in pkgutil.iter_modules(package.__path__) if m.ispkg)
    except ImportError:
        pass
    found.update(p.name for p in importlib.metadata.entry_points(group=ENTRY_POINTS))
    return tuple(sorted(found))


def default_name() -> str:
    """The exercise a command grades when none is named (the built-in package's ``DEFAULT``)."""
    return getattr(importlib.import_module(BUILT_IN), "DEFAULT")


@functools.lru_cache(maxsize=None)
def get(name: str | None = None) -> Exercise:
    """The installed exercise called ``name`` (the default one for None).

    Raises:
        ExerciseError: no installed exercise has that name.
    """
    name = name or default_name()
    if name not in names():
        raise ExerciseError(f"no exercise is called {name!r}; the installed ones are: "
                            f"{', '.join(names())} (python -m grader exercises lists them)")
    found = _module_of(name)
    exercise = getattr(found, "EXERCISE", found)
    if not isinstance(exercise, Exercise) or exercise.name != name:
        raise ExerciseError(f"the package of exercise {name!r} declares no EXERCISE of that name")
    return exercise


def installed() -> list[Exercise]:
    """Every installed exercise, by name."""
    return [get(name) for name in names()]
