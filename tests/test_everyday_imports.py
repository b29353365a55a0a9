"""What a student's Keras notebook imports by habit is in the grading environment (issue 22):
pandas and seaborn beside matplotlib, as in Colab, Anaconda and the Jupyter images.

They are base dependencies (``pyproject.toml``), pinned in the Gradescope image's
``requirements.txt``, and readable inside the sandbox; a module that is still missing names the
package that has it. A real-style script that imports both grades 100 in ``test_corpus.py``
(``tests/corpus/pass_pandas_seaborn_habits.py``).
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path

import pytest

from grader.observation import ErrorInfo
from test_checks import RUBRIC, observation
from sentiment_exercise import CHECKS

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
HABITS = ("pandas", "seaborn", "matplotlib")


def _name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower()


def test_pandas_and_seaborn_are_base_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert set(HABITS) <= {_name(r) for r in project["dependencies"]}


def test_the_gradescope_image_installs_them_at_this_machines_versions():
    from importlib import metadata

    from grader.integrations.gradescope_autograder import requirements

    pinned = {_name(line): line for line in requirements().splitlines()}
    for name in HABITS:
        assert pinned[name] == f"{name}=={metadata.version(name)}", pinned.get(name)


@pytest.mark.parametrize("module", HABITS)
def test_the_sandbox_may_read_them(module, tmp_path):
    """Landlock's read rules (``confine._read_paths``) cover each package's files."""
    from grader.sandbox.confine import _read_paths

    where = os.path.realpath(importlib.import_module(module).__file__)
    readable = _read_paths(str(tmp_path), ())
    assert any(where.startswith(path.rstrip("/") + "/") for path in readable), (where, readable)


@pytest.mark.parametrize("line, module, package", [
    ("import cv2", "cv2", "opencv-python"), ("from PIL import Image", "PIL", "Pillow"),
    ("import plotly.express as px", "plotly", "plotly")])
def test_a_module_still_missing_names_its_package(line, module, package):
    obs = observation(status="error", fits=(), test_accuracies=(), evaluated=False, model=None,
                      compile=None, data_calls=(), split_calls=(),
                      error=ErrorInfo("ModuleNotFoundError", f"No module named '{module}'", 3,
                                      line, "exception"))
    runs = CHECKS["runs"](obs, None, RUBRIC)
    assert f"(package {package})" in runs.message, runs.message
    assert f"remove `{line}`" in runs.hint
