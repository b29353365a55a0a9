"""The sentiment exercise as the tests read it: its registry's ids and entries, its rubric file."""

from grader.exercise import get

EXERCISE = get("sentiment")
REGISTRY = EXERCISE.registry
CHECKS = REGISTRY.checks
CHECK_IDS = REGISTRY.check_ids
BONUS_IDS = REGISTRY.bonus_ids
FROM_THE_CHANNEL = frozenset(k for k, entry in CHECKS.items() if entry.from_the_channel)
RUBRIC_FILE = EXERCISE.path(EXERCISE.rubric)
NOTEBOOK = EXERCISE.path(EXERCISE.notebook)
TEMPLATE = EXERCISE.path(EXERCISE.template)
SOLUTION = EXERCISE.path(EXERCISE.solution)
