"""Markers: ``slow`` for the end-to-end modules that grade real submissions with TensorFlow.

The inner loop is ``python -m pytest -m "not slow"`` (seconds); CI runs everything.
"""

import os

import pytest

# Tests start their own processes; the grading daemon (a process that outlives the command) is
# used only where a test asks for it (tests/test_daemon.py).
os.environ["GRADER_DAEMON"] = "0"

SLOW_MODULES = {"test_corpus", "test_hostile", "test_trust", "test_batch", "test_nbgrader",
                "test_confine", "test_gradescope", "test_bonus_scripts", "test_html_browser",
                "test_students"}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module.__name__.rpartition(".")[2] in SLOW_MODULES or \
                item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)
