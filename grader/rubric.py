"""The rubric: points, thresholds, limits and the grader's data, loaded from TOML into typed objects
(``grader.core.rubric``'s frozen ``Rubric``, which this module reads and validates).

A rubric belongs to one exercise (``grader.exercise``): its ``[exercise]`` table's optional ``name``
names it, else the exercise it was loaded for (the default one). ``load_rubric`` validates the whole
file before anything is graded: every key, type and range; unknown keys are refused; the points of
the exercise's checks (its registry's ids) must add up to ``max_score``; the ``[exercise]`` and
``[data]`` tables are the exercise's own (subclasses of ``Protocol`` and ``Data``: what the engine
itself reads, and what the exercise adds). A problem is one ``RubricError`` line that names the key
and what was expected, e.g. ``rubric strict.toml: points.runs must be a number >= 0. Received:
runs='five'``.

Each table is a frozen dataclass that also reads like the mapping it came from
(``rubric.exercise.epochs == rubric.exercise["epochs"]``, ``dict(rubric.data)``). An optional
``[similarity]`` table (``python -m grader similarity``) is laid over its defaults, validated, and
kept as a read-only mapping, ``rubric.similarity``. An optional ``[bonus]`` table gives extra-credit
points per bonus challenge of the exercise (0 when missing: shown, not scored); they add to a
report's score, never to ``max_score``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from types import MappingProxyType

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from grader.core.rubric import SIMILARITY_DEFAULTS, Limits, Rubric, Rule
from grader.exercise import ExerciseError
from grader.exercise import get as get_exercise

HINT_LEVELS = ("fix", "expected", "none")


# the (low, high) each number of the [similarity] table may be
_SIMILARITY_RANGES = {
    "floor": (0.0, 1.0), "threshold": (0.0, 1.0), "html_pairs": (1, 1000),
    "noise_tokens": (5, 200), "guarantee_tokens": (5, 400),
    "code_common_fraction": (0.01, 1.0), "architecture_common_fraction": (0.01, 1.0),
    "rare_fingerprints": (0.1, 10_000.0), "rare_choices": (0.1, 100.0),
}
_SIMILARITY_INTEGERS = ("html_pairs", "noise_tokens", "guarantee_tokens")


class RubricError(ValueError):
    """The rubric file is missing, unreadable or invalid (the message is one line)."""


POINTS_RULE = Rule(float, 0)
TOP_LEVEL = ("hint_level", "max_score", "points", "exercise", "data", "limits", "similarity",
             "bonus")


# --- loading ------------------------------------------------------------------------------------


def default_rubric(exercise: str | None = None) -> Path:
    """The rubric file an exercise ships (the default exercise's for None)."""
    found = get_exercise(exercise)
    return found.path(found.rubric)


def load_rubric(path: Path | None = None, exercise: str | None = None) -> Rubric:
    """Read and validate a rubric file (the exercise's own when ``path`` is None).

    Raises:
        RubricError: the file cannot be read, is invalid, or names no installed exercise; one
            line naming the key.
    """
    try:
        path = Path(path) if path is not None else default_rubric(exercise)
    except ExerciseError as exc:
        raise RubricError(str(exc)) from None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RubricError(f"cannot read rubric {path}: {exc.strerror or exc}") from None
    return parse_rubric(raw, str(path), exercise)


def parse_rubric(raw: bytes, name: str = "rubric.toml", exercise: str | None = None) -> Rubric:
    """Validate a rubric given as the bytes of its TOML file (``name`` appears in messages), for
    ``exercise`` (None: the one the rubric names, else the default one)."""
    try:
        table = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RubricError(f"rubric {name}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(f"rubric {name}: not valid TOML: {exc}") from None
    section = table.get("exercise")
    named = section.pop("name", None) if isinstance(section, dict) else None
    if named is not None and not isinstance(named, str):
        raise RubricError(f"rubric {name}: exercise.name must be the name of an exercise. "
                          f"Received: name={named!r}")
    if named and exercise and named != exercise:
        raise RubricError(f"rubric {name}: it is the rubric of exercise {named!r}, not of "
                          f"{exercise!r}")
    try:
        found = get_exercise(named or exercise)
    except ExerciseError as exc:
        raise RubricError(f"rubric {name}: {exc}") from None
    problems: list[str] = []
    rubric = _build(table, problems, name, raw, found)
    if problems:
        more = f" (and {len(problems) - 1} more problem{'s' * (len(problems) > 2)})" \
            if len(problems) > 1 else ""
        raise RubricError(f"rubric {name}: {problems[0]}{more}")
    return rubric


def _unknown(keys, allowed, where: str, problems: list[str]) -> None:
    for key in keys:
        if key not in allowed:
            problems.append(f"unknown key {where}{key} (expected one of: {', '.join(allowed)})")


def _table(table: dict, key: str, problems: list[str]) -> dict:
    value = table.get(key)
    if value is None:
        problems.append(f"missing table [{key}]")
        return {}
    if not isinstance(value, dict):
        problems.append(f"{key} must be a table ([{key}]). Received: {key}={value!r}")
        return {}
    return value


def _section(cls, values: dict, problems: list[str]):
    names = cls._names()
    _unknown(values, names, f"{cls.table}.", problems)
    found = {}
    for f in dataclasses.fields(cls):
        r: Rule = f.metadata["rule"]
        if f.name not in values:
            problems.append(f"missing key {cls.table}.{f.name} ({f.metadata['doc']}: "
                            f"expected {r.describe()})")
            continue
        value = values[f.name]
        if not r.accepts(value):
            problems.append(f"{cls.table}.{f.name} must be {r.describe()}. "
                            f"Received: {f.name}={value!r}")
            continue
        found[f.name] = r.kind(value)
    return cls(**found) if len(found) == len(names) else None


def _frozen(value):
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _build(table: dict, problems: list[str], name: str, raw: bytes, exercise) -> Rubric | None:
    check_ids = exercise.registry.check_ids
    _unknown(table, TOP_LEVEL, "", problems)
    hint_level = table.get("hint_level", "fix")
    if hint_level not in HINT_LEVELS:
        problems.append(f"hint_level must be one of {', '.join(repr(h) for h in HINT_LEVELS)}. "
                        f"Received: hint_level={hint_level!r}")
    stated = table.get("max_score")
    if stated is None:
        problems.append("missing key max_score (the total the points add up to, e.g. "
                        "max_score = 100)")
    elif not POINTS_RULE.accepts(stated) or stated == 0:
        problems.append(f"max_score must be a number > 0. Received: max_score={stated!r}")
        stated = None
    points_table = _table(table, "points", problems)
    _unknown(points_table, check_ids, "points.", problems)
    points = {}
    for check_id in check_ids:
        value = points_table.get(check_id)
        if value is None and points_table:
            problems.append(f"missing key points.{check_id} (every check needs its points: "
                            f"expected {POINTS_RULE.describe()})")
        elif value is not None and not POINTS_RULE.accepts(value):
            problems.append(f"points.{check_id} must be {POINTS_RULE.describe()}. "
                            f"Received: {check_id}={value!r}")
        elif value is not None:
            points[check_id] = float(value)
    total = sum(points.values())
    if stated is not None and len(points) == len(check_ids) and abs(total - stated) > 1e-9:
        problems.append(f"the points add up to {total:g}, but max_score = {stated:g}: change "
                        "the points or max_score so that they agree")
    bonus = _bonus(table.get("bonus", {}), exercise.registry.bonus_ids, problems)
    sections = [_section(cls, _table(table, cls.table, problems), problems)
                for cls in (exercise.parameters, exercise.data, Limits)]
    parameters, data, limits = sections
    if parameters and data:
        problems.extend(exercise.validate(parameters, data))
    try:
        similarity = _similarity(table.get("similarity", {}), Path(name))
    except RubricError as exc:
        problems.append(str(exc).split(": ", 1)[-1])
        similarity = {}
    if problems:
        return None
    return Rubric(points=MappingProxyType(points), exercise=parameters, data=data, limits=limits,
                  hint_level=hint_level, sha256=hashlib.sha256(raw).hexdigest(),
                  stated_max_score=float(stated), similarity=_frozen(similarity),
                  bonus=MappingProxyType(bonus), source=raw,
                  name=name, exercise_name=exercise.name)


def _bonus(table, bonus_ids, problems: list[str]) -> dict[str, float]:
    """The optional [bonus] table: extra-credit points per challenge (missing ones are 0)."""
    if not isinstance(table, dict):
        problems.append(f"bonus must be a table ([bonus]). Received: bonus={table!r}")
        return {}
    _unknown(table, bonus_ids, "bonus.", problems)
    points = {}
    for bonus_id in bonus_ids:
        value = table.get(bonus_id, 0)
        if not POINTS_RULE.accepts(value):
            problems.append(f"bonus.{bonus_id} must be {POINTS_RULE.describe()}. "
                            f"Received: {bonus_id}={value!r}")
        else:
            points[bonus_id] = float(value)
    return points


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
