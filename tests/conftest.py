"""Markers: ``slow`` for the end-to-end modules that grade real submissions with TensorFlow.

The inner loop is ``python -m pytest -m "not slow"`` (seconds); CI runs everything.
"""

import pytest

SLOW_MODULES = {"test_corpus", "test_hostile", "test_trust", "test_batch", "test_nbgrader",
                "test_confine", "test_gradescope", "test_students"}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module.__name__.rpartition(".")[2] in SLOW_MODULES or \
                item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)
