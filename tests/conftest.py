"""Markers: ``slow`` for the end-to-end modules that grade real submissions with TensorFlow; one
retrain cache for the whole test session.

The inner loop is ``python -m pytest -m "not slow"`` (seconds); CI runs everything.

The retrain cache: every grading of the session, in every pytest-xdist worker and every process a
test starts that inherits the environment (``python -m grader``, batch, nbgrader's autograde),
shares one fresh directory, ``GRADER_CACHE_DIR``; so a model is retrained once per session,
whichever module grades it first. The cache is content-addressed (the request and the worker's
settings) and written atomically, so concurrent writers are safe. Fresh per session, never the
user's ``~/.cache/sentiment-grader`` nor one a caller set: a run proves what it retrained itself.
Tests that must retrain (``--no-cache``) or need their own directory say so.
"""

import os

import pytest

# Tests start their own processes; the grading daemon (a process that outlives the command) is
# used only where a test asks for it (tests/test_daemon.py).
os.environ["GRADER_DAEMON"] = "0"

SLOW_MODULES = {"test_corpus", "test_hostile", "test_trust", "test_batch", "test_nbgrader",
                "test_confine", "test_gradescope", "test_bonus_scripts", "test_html_browser",
                "test_students"}

CACHE_NAME = "grader-retrain-cache"


@pytest.hookimpl(trylast=True)  # after pytest's tmp_path plugin has made its factory
def pytest_configure(config):
    """The controller (or a run without xdist) makes the session's retrain cache under pytest's
    base temporary directory and exports it; xdist's workers, started later, inherit it."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    path = config._tmp_path_factory.getbasetemp() / CACHE_NAME
    path.mkdir(parents=True, exist_ok=True)
    os.environ["GRADER_CACHE_DIR"] = str(path)


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module.__name__.rpartition(".")[2] in SLOW_MODULES or \
                item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)
