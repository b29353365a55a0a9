"""The source audit (``grader/audit.py``): what a submission may not reach, read before it runs.

Pure tests: every rule on a line of its own, no finding in any honest file the project holds,
and any text at all is read without an exception (hypothesis).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from grader.audit import audit, tampering
from grader.sources import notebook_to_script, read_submission

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
HONEST = sorted([*TESTS.glob("corpus/pass_*.py"), *TESTS.glob("corpus/fail_*.py"),
                 *TESTS.glob("students/*"), *TESTS.glob("bonus/*.py"),
                 ROOT / "solution" / "sentiment_classifier.py",
                 ROOT / "assignment" / "sentiment_classifier.py"])


@pytest.mark.parametrize("code, what", [
    ("import keras\nkeras.Model.compile.__closure__", "keras.Model.compile.__closure__"),
    ("f = 1\nf.__code__", "f.__code__"),
    ("cell.cell_contents = 3", "cell.cell_contents"),
    ("import sys\nsys.modules['grader.sandbox.channel']", "sys.modules"),
    ("from sys import modules", "sys.modules"),
    ("import sys as s\ns._getframe(1)", "s._getframe"),
    ("import gc\ngc.get_referrers(x)", "gc.get_referrers"),
    ("import ctypes", "ctypes"),
    ("import importlib.util\nimportlib.util.find_spec('grader')", "importlib.util.find_spec"),
    ("import importlib\nimportlib.import_module('grader.sandbox')",
     "importlib.import_module(grader.sandbox)"),
    ("import importlib\nimportlib.import_module(name)", "importlib.import_module(...)"),
    ("from inspect import currentframe", "inspect"),
    ("import grader.sandbox.probe", "grader.sandbox.probe"),
    ("exec('x = 1')", "exec(...)"),
    ("eval(text)", "eval(...)"),
    ("__import__('os')", "__import__(...)"),
    ("class D: pass\nD.__name__ = 'Dense'", "D.__name__"),
    ("x.__class__ = y", "x.__class__"),
    ("import json\njson.JSONEncoder.encode = f", "json.JSONEncoder.encode"),
    ("from tensorflow.keras.layers import Dense as D\nD.get_config = f", "D.get_config"),
    ("import keras\nM = keras.Model\nM.fit = f", "M.fit"),
    ("import keras\nsetattr(keras.Model, 'fit', f)", "setattr(keras.Model, ...)"),
    ("import json\nvars(json)['dumps'] = f", "vars(json, ...)"),
    ("getattr(f, '__clo' + 'sure__')", "getattr(..., '__closure__')"),
    ("import tensorflow as tf\ndel tf.keras.Model.fit", "tf.keras.Model.fit"),
])
def test_each_rule_flags_its_construct(code, what):
    found = audit(code)
    assert found and found[0].what == what, found


@pytest.mark.parametrize("code", [
    "import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'",
    "import sys\nsys.stdout = open('log.txt', 'w')",
    "import numpy as np\nnp.float = float",
    "import matplotlib.pyplot as plt\nplt.rcParams['figure.dpi'] = 100",
    "import gc\ngc.collect()",
    "print(type(model).__name__, model.__class__.__name__)",
    "if __name__ == '__main__':\n    main()",
    "model.stop_training = True\nmodel.compile(loss='binary_crossentropy')",
    "config = vars(parser.parse_args())\nopt = getattr(keras.optimizers, name)()",
    "from types import SimpleNamespace\nimport pickle\npickle.dump(history.history, f)",
    "print('never use __closure__ or sys.modules')",
    "import importlib\nimport helpers\nimportlib.reload(helpers)\nimportlib.import_module('numpy')",
    "class Scale(keras.layers.Layer):\n    def get_config(self):\n"
    "        return {**super().get_config()}",
])
def test_ordinary_code_is_not_flagged(code):
    assert audit(code) == ()


@pytest.mark.parametrize("path", HONEST, ids=[p.name for p in HONEST])
def test_no_honest_submission_is_flagged(path):
    source = read_submission(path).source
    assert tampering(source) == ""


def test_a_notebook_finding_names_its_cell_and_the_support_code_is_not_read():
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## Step 3: Build the model"),
        nbformat.v4.new_code_cell("import sys\nchannel = sys.modules['grader.sandbox.channel']")])
    source = notebook_to_script(nbformat.writes(notebook))
    assert tampering(source) == ("line 2 of the cell under “Step 3: Build the model” reaches "
                                 "into Python's internals (`sys.modules`)")


def test_a_helper_module_is_read_too():
    reason = tampering("import helper\n", {"helper.py": b"import ctypes\n", "data.csv": b"1,2"})
    assert reason == "line 1 of helper.py imports a module that reaches inside Python (`ctypes`)"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_read_without_an_exception(text):
    for finding in audit(text):
        assert finding.lineno >= 0 and len(finding.what) <= 80
