"""The source audit (``grader/audit.py``): an allow-list of what a solution writes.

Pure tests: each rule with an honest and a hostile case, no finding in any honest file the
project holds, code written to files audited as code, compiled files beside a submission
refused, and any text or notebook at all read without an exception (hypothesis).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings, strategies as st

from grader.audit import WHY, audit, tampering
from grader.sources import SourceError, notebook_to_script, read_submission

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
HONEST = sorted({*TESTS.glob("corpus/pass_*.py"), *TESTS.glob("corpus/fail_*.py"),
                 *TESTS.glob("students/*.py"), *TESTS.glob("students/*.ipynb"),
                 *TESTS.glob("bonus/*.py"), *TESTS.glob("similarity_class/*.py"),
                 *TESTS.glob("similarity_class/*.ipynb"), *ROOT.glob("assignment/*.py"),
                 *ROOT.glob("assignment/*.ipynb"), *ROOT.glob("solution/*.py"),
                 *ROOT.glob("solution/*.ipynb"),
                 # issue 23's graded attempts that are honest code (the others are hostile)
                 TESTS / "graded" / "decoy_untrained_model.py",
                 TESTS / "graded" / "callback_stops_training.py"})


def rules(code: str) -> list[str]:
    return [f.rule for f in audit(code)]


# Each rule: (id, honest code a solution may write, hostile code it refuses, what is named).
RULES = [
    ("dunder-attribute", "print(type(model).__name__, model.__class__.__name__)\n"
                         "super().__init__(**kwargs)",
     "import keras\nkeras.Model.compile.__closure__", "keras.Model.compile.__closure__"),
    ("dunder-store", "x = model.__class__", "x.__class__ = y", "x.__class__"),
    ("dunder-name", "if __name__ == '__main__':\n    main()", "__builtins__['exec']",
     "__builtins__"),
    ("class-body", "class Scale(keras.layers.Layer):\n    def __init__(self, **kw):\n"
                   "        super().__init__(**kw)\n    def __call__(self, x):\n        return x",
     "class D(Dense):\n    __module__ = 'keras.src.layers.core.dense'",
     "__module__ = ..."),
    ("class-qualname", "class D(Dense):\n    pass", "class D(Dense):\n    __qualname__ = 'Dense'",
     "__qualname__ = ..."),
    ("dunder-method", "class Data:\n    def __len__(self):\n        return 3",
     "class M(keras.Model):\n    def __getattribute__(self, name):\n        return 1",
     "def __getattribute__"),
    ("frame-internals", "history.history['loss']", "import sys\nsys.exc_info()[2].tb_frame",
     "sys.exc_info"),
    ("private-attribute", "class Own:\n    def __init__(self):\n        self._cache = {}",
     "model._compile_config = fake", "model._compile_config"),
    ("private-on-library-subclass", "class L(keras.layers.Layer):\n    def call(self, x):\n"
                                    "        return x",
     "class L(keras.layers.Layer):\n    def call(self, x):\n        self._tracker = None",
     "self._tracker"),
    ("getattr-literal", "getattr(layer, 'rate', None)\nhasattr(model, 'history')",
     "getattr(f, ''.join(['__clo', 'sure__']))", "getattr(f, ...)"),
    ("getattr-variable", "getattr(layer, 'kernel_regularizer')",
     "name = input()\ngetattr(model, name)", "getattr(model, ...)"),
    ("getattr-fstring", "getattr(layer, f'units')", "getattr(model, f'{a}{b}')",
     "getattr(model, ...)"),
    ("getattr-dunder-literal", "getattr(layer, 'units')", "getattr(f, '__clo' + 'sure__')",
     "getattr(f, '__closure__')"),
    ("reduce-getattr", "import functools\nfunctools.reduce(lambda a, b: a + b, [1, 2])",
     "import functools\nfunctools.reduce(getattr, ['__closure__'], f)",
     "getattr used as a value"),
    ("exec-alias", "print(model.summary())", "e = exec\ne('x = 1')", "exec used as a value"),
    ("exec-call", "result = model.evaluate(X, y)", "exec('x = 1')", "exec(...)"),
    ("globals", "if 'model' in globals():\n    pass\nm = globals()['model']",
     "globals()['__buil' + 'tins__']", "globals()['__builtins__']"),
    ("globals-variable", "m = globals().get('model')", "globals()[name]", "globals()[...]"),
    ("vars", "print(vars(args))\nfor k, v in vars(args).items():\n    pass",
     "d = vars(model)\nd['fit'] = f", "vars(model) used as a value"),
    ("attrgetter", "import operator\noperator.attrgetter('units')(layer)",
     "import operator\noperator.attrgetter('__closure__')(f)",
     "operator.attrgetter('__closure__')"),
    ("attrgetter-alias", "from operator import attrgetter\nattrgetter('name')(layer)",
     "from operator import attrgetter as a\nx = a(name)", "operator.attrgetter(...)"),
    ("methodcaller", "import operator\noperator.methodcaller('summary')(model)",
     "import operator\noperator.methodcaller('_get_config')(model)",
     "operator.methodcaller('_get_config')"),
    ("private-module", "from tensorflow.keras.layers import Dense",
     "from keras.src.saving import serialization_lib", "import keras.src.saving"),
    ("tensorflow-python", "import tensorflow as tf\ntf.keras.layers.Dense(8)",
     "from tensorflow.python.keras import layers", "import tensorflow.python.keras"),
    ("underscore-module", "import numpy as np", "import numpy._core", "import numpy._core"),
    ("import-module", "import importlib\nimportlib.import_module('numpy')",
     "import importlib\nimportlib.import_module('keras.src.saving.serialization_lib')",
     "import keras.src.saving.serialization_lib"),
    ("import-module-variable", "import importlib\nimport helpers\nimportlib.reload(helpers)",
     "import importlib\nimportlib.import_module(name)", "importlib.import_module(...)"),
    ("importlib-util", "import importlib", "import importlib.util", "import importlib.util"),
    ("runpy", "import os", "import runpy\nrunpy.run_path('x.py')", "import runpy"),
    ("ctypes", "import numpy as np", "import ctypes", "import ctypes"),
    ("numpy-ctypeslib", "import numpy as np\nnp.zeros(3)", "import numpy as np\nnp.ctypeslib",
     "np.ctypeslib"),
    ("inspect", "import math", "from inspect import currentframe", "import inspect"),
    ("gc", "import gc\ngc.collect()", "import gc\ngc.get_referrers(x)", "gc.get_referrers"),
    ("threading", "import threading\nthreading.Thread(target=f)",
     "import threading\nthreading.enumerate()", "threading.enumerate"),
    ("atexit", "import sys\nsys.exit(0)", "import atexit\natexit.register(f)", "import atexit"),
    ("sys-modules", "import sys\nprint(sys.version)", "import sys\nsys.modules['grader']",
     "sys.modules"),
    ("sys-getframe", "import sys\nsys.stdout.flush()", "import sys as s\ns._getframe(1)",
     "s._getframe"),
    ("types", "from types import SimpleNamespace", "import types\ntypes.FunctionType(c, g)",
     "types.FunctionType"),
    ("pickle", "import pickle\npickle.dump(history.history, f)", "import pickle\npickle.loads(b)",
     "pickle.loads"),
    ("safe-mode", "import keras\nkeras.models.load_model('m.keras')",
     "import keras\nkeras.models.load_model('m.keras', safe_mode=False)",
     "keras.models.load_model(..., safe_mode=...)"),
    ("library-class-store", "import keras\nkeras.utils.set_random_seed(0)",
     "import keras\nkeras.Model.fit = f", "keras.Model.fit = ..."),
    ("imported-class-store", "from keras.layers import Dense\nDense(8)",
     "from keras.layers import Dense\nDense.call = f", "Dense.call = ..."),
    ("alias-store", "import keras\nM = keras.Model\nm = M()", "import keras\nM = keras.Model\nM.fit = f",
     "M.fit = ..."),
    ("type-store", "print(type(model))", "type(model).get_config = f",
     "type(...).get_config = ..."),
    ("method-store", "model.stop_training = True\nlayer.trainable = False\n"
                     "model.optimizer.learning_rate = 0.01",
     "model.get_config = lambda: {}", "model.get_config = ..."),
    ("setattr-library", "setattr(layer, 'trainable', False)",
     "import keras\nsetattr(keras.Model, 'fit', f)", "setattr(keras.Model, 'fit', ...)"),
    ("module-store", "import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\n"
                     "import pandas as pd\npd.options.display.max_columns = 9",
     "import json\njson.dumps = f", "json.dumps = ..."),
    ("callback-store", "class Stop(keras.callbacks.Callback):\n"
                       "    def on_epoch_end(self, epoch, logs=None):\n"
                       "        self.model.stop_training = True",
     "class Stop(keras.callbacks.Callback):\n    def on_train_begin(self, logs=None):\n"
     "        self.model.evaluate = f", "self.model.evaluate = ..."),
    # a library's public settings take data; its functions, classes and methods are never replaced
    ("plotly-defaults", "import plotly.express as px\npx.defaults.template = 'plotly_white'\n"
                        "px.defaults.width = 800",
     "import plotly.express as px\npx.line = f", "px.line = ..."),
    ("plotly-defaults-callable", "import plotly.io as pio\npio.templates.default = 'simple_white'",
     "import plotly.express as px\npx.defaults.template = lambda: 1",
     "px.defaults.template = ..."),
    ("setting-from-a-constant", "import plotly.express as px\nWIDTH = 640\n"
                                "px.defaults.width = WIDTH",
     "import plotly.express as px\nWIDTH = 640\nWIDTH = f\npx.defaults.width = WIDTH",
     "px.defaults.width = ..."),
    ("setting-from-a-library-constant", "import logging\nimport tqdm\n"
                                        "tqdm.tqdm.monitor_interval = logging.ERROR",
     "import tqdm\nimport logging\ntqdm.tqdm.monitor_interval = logging.getLogger",
     "tqdm.tqdm.monitor_interval = ..."),
    ("rcparams", "import matplotlib.pyplot as plt\nplt.rcParams['figure.figsize'] = (8, 4)\n"
                 "import matplotlib\nmatplotlib.rcParams.update({'font.size': 12})",
     "import matplotlib.figure\nmatplotlib.figure.Figure.savefig = f",
     "matplotlib.figure.Figure.savefig = ..."),
    ("pandas-options", "import pandas as pd\npd.options.display.max_rows = 50\n"
                       "pd.options.display.float_format = '{:.2f}'.format",
     "import pandas as pd\npd.read_csv = f", "pd.read_csv = ..."),
    ("seeds", "import numpy as np\nimport tensorflow as tf\nimport keras\nnp.random.seed(0)\n"
              "tf.random.set_seed(0)\nkeras.utils.set_random_seed(0)",
     "import numpy as np\nnp.random.seed = 0", "np.random.seed = ..."),
    ("seaborn", "import seaborn as sns\nsns.set_theme()\nsns.set(style='whitegrid')",
     "import seaborn as sns\nsns.set_theme = f", "sns.set_theme = ..."),
    ("sealed-library", "import keras\nkeras.config.set_floatx('float32')",
     "import keras\nkeras.saving.serialize_keras_object = 0",
     "keras.saving.serialize_keras_object = ..."),
    ("trainable", "model.trainable = False\nlayer.trainable = False\n"
                  "model.layers[0].trainable = False",
     "model.compile = f", "model.compile = ..."),
    ("optimizer-setting", "import keras\noptimizer = keras.optimizers.Adam()\n"
                          "optimizer.learning_rate = 0.001",
     "model.optimizer.apply_gradients = f", "model.optimizer.apply_gradients = ..."),
    ("instance-method-any-value", "layer.kernel_regularizer = keras.regularizers.l2(0.01)",
     "model.make_train_function = None", "model.make_train_function = ..."),
    ("keras-class-setting", "import keras\nkeras.layers.Dense(8, trainable=False)",
     "import keras\nkeras.layers.Dense.trainable = False", "keras.layers.Dense.trainable = ..."),
    ("type-of-a-model", "print(type(model).__name__)",
     "type(model).summary = print", "type(...).summary = ..."),
    ("setattr-module", "import importlib\nimport plotly.express as px\n"
                       "setattr(px.defaults, 'template', 'plotly_white')",
     "import importlib\nm = importlib.import_module('keras.saving')\n"
     "setattr(m, 'serialize_keras_object', f)", "setattr(m, 'serialize_keras_object', ...)"),
    ("setattr-module-data", "setattr(layer, 'trainable', False)",
     "import plotly.express as px\nsetattr(px, 'line', f)", "setattr(px, 'line', ...)"),
    ("delete-setting", "import plotly.express as px\npx.defaults.width = None",
     "import plotly.express as px\ndel px.line", "px.line = ..."),
    ("dunder-setting", "import plotly.express as px\nprint(px.__name__)",
     "import plotly.express as px\npx.defaults.__class__ = object", "px.defaults.__class__"),
    ("time-magic", "get_ipython().run_line_magic('time', 'model.fit(X, y)')",
     "get_ipython().run_line_magic('time', 'import ctypes')", "import ctypes"),
    ("writes-compiled", "open('notes.txt', 'w').write('done')",
     "open('helper.pyc', 'wb').write(data)", "writes helper.pyc"),
    ("writes-code-unreadably", "open('helpers.py', 'w').write('def f(x):\\n    return x\\n')",
     "import base64\nopen('forge.py', 'w').write(base64.b64decode(b).decode())",
     "writes forge.py"),
    ("renames-to-code", "import os\nos.rename('a.csv', 'b.csv')",
     "import os\nos.rename('forge.txt', 'forge.py')", "makes forge.py"),
    # a class made or renamed at run time can claim to be Keras' (row 2 without a class body)
    ("type-three-args", "print(type(model))\nprint(type(model).__name__)",
     "T = type('Dense', (Dense,), {'get_config': f})", "type(name, bases, namespace)"),
    ("metaclass-call", "ok = isinstance(model, type)", "T = type(Dense)('D', (Dense,), {})",
     "type(...)(...)"),
    ("wraps-library", "import functools\ndef deco(f):\n    @functools.wraps(f)\n"
                      "    def inner(*a):\n        return f(*a)\n    return inner",
     "import functools\nfrom keras.layers import Dense\nclass D(Dense):\n    pass\n"
     "functools.update_wrapper(D, Dense, updated=())", "functools.update_wrapper(..., Dense)"),
    ("wraps-class", "import functools\n@functools.lru_cache\ndef f(x):\n    return x",
     "import functools\n@functools.wraps(f, updated=())\nclass D:\n    pass",
     "@functools.wraps(...) on class D"),
    ("dunder-keyword", "config = dict(units=8, activation='relu')",
     "ns = dict(__module__='keras.layers')", "dict(__module__=...)"),
    ("dunder-key", "d = {'units': 8, '_cache': 1}", "ns = {'__qualname__': 'Dense'}",
     "{'__qualname__': ...}"),
    ("stride-tricks", "import numpy as np\nnp.reshape(a, (2, 5))",
     "import numpy as np\nnp.lib.stride_tricks.as_strided(a, (10,), (8,))",
     "np.lib.stride_tricks.as_strided"),
    ("process-files", "open('reviews.csv')\nopen('/tmp/notes.txt', 'w')\n"
                      "print(open('/proc/meminfo').read(), open('/proc/cpuinfo').read())",
     "open('/proc/self/mem', 'rb')", "open('/proc/self/mem')"),
    ("process-files-relative", "open('proc/data.txt')\nopen('../data/reviews.csv')",
     "import os\nos.open('../../../proc/self/fd/3', os.O_WRONLY)",
     "os.open('../../../proc/self/fd/3')"),
]


@pytest.mark.parametrize("rule, honest, hostile, what", RULES, ids=[r[0] for r in RULES])
def test_each_rule_allows_the_honest_case_and_names_the_hostile_one(rule, honest, hostile, what):
    assert audit(honest) == (), audit(honest)
    found = audit(hostile)
    assert found and what in [f.what for f in found], found


@pytest.mark.parametrize("path", HONEST, ids=[p.name for p in HONEST])
def test_no_honest_submission_is_flagged(path):
    assert tampering(read_submission(path).source) == ""


def test_the_honest_corpus_is_all_there():
    """The honest set is the project's corpus, students, bonus, similarity class, assignment and
    solution: a glob that matched nothing would pass every honest test above."""
    folders = {p.parent.name for p in HONEST}
    assert {"corpus", "students", "bonus", "similarity_class", "assignment", "solution",
            "graded"} <= folders and len(HONEST) > 100 and all(p.is_file() for p in HONEST)


def test_every_public_keras_method_is_never_assigned():
    """``KERAS_ATTRIBUTES`` holds every public method of the Keras classes a model is made of,
    in the Keras installed: a method it missed could be replaced on a model object."""
    import inspect

    import keras

    from grader.audit import KERAS_ATTRIBUTES

    classes = [keras.Model, keras.Sequential, keras.layers.Layer, keras.layers.Dense,
               keras.layers.Dropout, keras.optimizers.Optimizer, keras.optimizers.Adam,
               keras.losses.Loss, keras.metrics.Metric, keras.initializers.Initializer,
               keras.regularizers.Regularizer, keras.Variable]

    def method(value) -> bool:
        return callable(value) and not isinstance(value, property) or \
            isinstance(value, (classmethod, staticmethod))

    methods = {name for cls in classes for name in dir(cls) if not name.startswith("_") and
               method(inspect.getattr_static(cls, name, None))}
    assert {"fit", "from_config", "make_train_function", "apply_gradients"} <= methods
    assert methods - KERAS_ATTRIBUTES == set()
    for name in sorted(methods)[::10]:  # and the rule refuses them, on any object
        assert [f.rule for f in audit(f"thing.{name} = 1")] == ["patch"], name


def _notebook(*cells: tuple[str, str]) -> str:
    made = [nbformat.v4.new_markdown_cell(text) if kind == "md" else
            nbformat.v4.new_code_cell(text) for kind, text in cells]
    return notebook_to_script(nbformat.writes(nbformat.v4.new_notebook(cells=made)))


def test_a_notebook_finding_names_its_cell_and_the_support_code_is_not_read():
    source = _notebook(("md", "## Step 3: Build the model"),
                       ("code", "import sys\nchannel = sys.modules['grader.sandbox.channel']"))
    assert tampering(source) == ("line 2 of the cell under “Step 3: Build the model” has "
                                 f"`sys.modules`: {WHY['module']}")


FORGE = ("import operator\nfrom keras import Model\n"
         "signer = operator.attrgetter('__closure__')(Model.compile)\n")


def test_code_a_notebook_writes_with_writefile_is_audited_as_code():
    source = _notebook(("md", "## Helpers"), ("code", "%%writefile forge.py\n" + FORGE),
                       ("code", "import forge"))
    assert tampering(source) == ("line 3 of forge.py, written at line 1 of the cell under "
                                 "“Helpers”, has `operator.attrgetter('__closure__')`: "
                                 f"{WHY['dunder']}")


def test_an_honest_writefile_helper_may_be_imported():
    source = _notebook(("code", "%%writefile helpers.py\ndef width(n):\n    return 2 * n\n"),
                       ("code", "import helpers\nprint(helpers.width(4))"))
    assert tampering(source) == ""


def test_open_write_of_python_source_is_audited_as_code():
    code = f"CODE = {FORGE!r}\nwith open('forge.py', 'w') as handle:\n    handle.write(CODE)\n"
    found = audit(code)
    assert [(f.lineno, f.file, f.file_line, f.what) for f in found][:1] == [
        (3, "forge.py", 3, "operator.attrgetter('__closure__')")]


def test_a_module_written_unreadably_and_imported_is_refused():
    code = ("import base64\nname = 'for' + chr(103) + 'e'\n"
            "open(name + '.py', 'w').write(base64.b64decode(B).decode())\nimport forge\n")
    assert tampering(code) == f"line 4 has `import forge`: {WHY['unknown-module']}"


def test_installed_modules_and_handed_in_helpers_may_be_imported():
    code = "import numpy\nimport helper\nfrom pkg import part\nimport tensorflow.keras\n"
    assert tampering(code, {"helper.py": b"X = 1\n", "pkg/part.py": b"Y = 2\n"}) == ""
    code = "try:\n    import google.colab\nexcept ImportError:\n    pass\n"
    assert tampering(code) == ""


def test_a_helper_module_is_read_too():
    reason = tampering("import helper\n", {"helper.py": b"import ctypes\n", "data.csv": b"1,2"})
    assert reason == f"line 1 of helper.py has `import ctypes`: {WHY['module']}"


def test_a_helper_is_read_with_its_coding_declaration():
    """Python reads ``# coding: utf-7`` files as UTF-7; so does the audit (``+AAo-`` is a new
    line that a plain UTF-8 read sees as part of the comment)."""
    hidden = b"# coding: utf-7\n# +AAo-import ctypes\n"
    assert "import ctypes" in tampering("import helper\n", {"helper.py": hidden})


@pytest.mark.parametrize("name", ["helper.pyc", "fast.cpython-311-x86_64-linux-gnu.so",
                                  "mod.pyd", "zz.pth", "lib/inner.pyc"])
def test_a_compiled_file_beside_the_submission_is_refused(name):
    reason = tampering("print(1)\n", {name: b"\x00\x01", "data.csv": b"1,2"})
    assert reason == f"{name} beside the submission is a compiled module or path file: " \
                     f"{WHY['compiled']}"


def test_an_archive_holding_code_is_refused_whatever_its_name():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("forge.py", FORGE)
    reason = tampering("print(1)\n", {"data.csv": buffer.getvalue()})
    assert reason.startswith("data.csv beside the submission is an archive holding code")
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("reviews.csv", "1,2\n")
    assert tampering("print(1)\n", {"reviews.zip": plain.getvalue()}) == ""


def test_a_message_is_one_inert_line():
    reason = tampering("import helper\n", {"he\x1b[31mlper\n.py": b"import ctypes\n"})
    assert reason and all(ch.isprintable() for ch in reason) and "\x1b" not in reason


def test_folding_does_not_grow_without_bound():
    code = "s = 'ab'\n" + "s = s + s\n" * 40 + "open('x.py', 'w').write(s)\n"
    assert [f.rule for f in audit(code)] == ["written"]


def test_code_written_to_files_is_read_within_a_budget():
    """Row 8 for the audit: 120 KB of code written to 40 files (each a little different) is read
    up to ``MAX_WRITTEN_CODE`` and then refused; the same text written again is read once; a
    name's text is not kept past ``MAX_HELD_TEXT`` (a megabyte doubled a hundred times)."""
    import time
    import tracemalloc

    from grader.audit import MAX_WRITTEN_CODE

    body = "x = 1\n" * 20_000
    started = time.process_time()
    same = f"A = {body!r}\n" + "".join(f"open('f{i}.py', 'w').write(A)\n" for i in range(200))
    assert tampering(same) == ""
    each = f"A = {body!r}\n" + "".join(f"open('f{i}.py', 'w').write(A + '#{i}')\n"
                                       for i in range(40))
    line = MAX_WRITTEN_CODE // len(body) + 2
    assert tampering(each) == (f"line {line} has `writes more than {MAX_WRITTEN_CODE // 1024} "
                               f"KiB of code in all`: {WHY['written']}")
    data = f"A = {body!r}\n" + "".join(f"open('d{i}.csv', 'w').write(A + '#{i}')\n"
                                       for i in range(40))
    assert tampering(data) == ""  # data files past the budget are not code
    tracemalloc.start()
    try:
        doubled = f"A = {'y' * 2**20!r}\n" + "".join(f"S{i} = A + A\n" for i in range(100))
        assert tampering(doubled) == ""
        assert tracemalloc.get_traced_memory()[1] < 100 * 2**20
    finally:
        tracemalloc.stop()
    assert time.process_time() - started < 10


def test_a_mere_mention_in_a_string_is_not_flagged():
    assert audit("print('never use __closure__, sys.modules or import ctypes')") == ()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_read_without_an_exception(text):
    for finding in audit(text):
        assert finding.lineno >= 0 and len(finding.what) <= 80 and finding.rule in WHY
    tampering(text, {"h.py": text.encode("utf-8", errors="replace"), "h.pyc": b""})


_PIECES = st.sampled_from(["getattr(", "x", ".", "__closure__", "'", "(", ")", "[", "]", "\n",
                           "import ", "sys", "open('f.py','w').write(", "exec", "=", ",",
                           "class C:\n    ", "def __", "globals()", "vars(", " ", "%%writefile a.py\n"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_code_like_text_is_read_without_an_exception(text):
    for finding in audit(text):
        assert finding.rule in WHY


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                     lambda inner: st.lists(inner, max_size=4) |
                     st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.fixed_dictionaries({"cell_type": st.sampled_from(["code", "markdown", "raw"]),
                                       "source": st.text(max_size=80) | _JSON,
                                       "metadata": _JSON}), max_size=5), _JSON)
def test_any_notebook_json_is_read_without_an_exception(cells, metadata):
    text = json.dumps({"cells": cells, "metadata": metadata, "nbformat": 4,
                       "nbformat_minor": 5})
    try:
        source = notebook_to_script(text)
    except SourceError:
        return
    assert isinstance(tampering(source), str)


# --- end to end: the real grading path reports the audit's findings -----------------------------

SOLUTION = ROOT / "solution" / "sentiment_classifier.py"
# Row 3's attempt (issue 23): reach the probe's signer through the closures of what it wrapped,
# then end the process before the probe can say anything more. Written as a helper's code.
SIGNER = '''import operator
import os
import keras
cells = operator.attrgetter("__closure__")(keras.Model.compile) or ()
print("reached", len(cells), "cells")
'''


def _solution_with(code: str, epochs: int = 2) -> str:
    """The reference solution, trained briefly, then ``code``."""
    return SOLUTION.read_text().replace("epochs=50", f"epochs={epochs}") + "\n" + code


def _assert_tampered(report, *named: str) -> None:
    assert report.tampered and all(word in report.tampered for word in named), report.tampered
    channel = [c for c in report.checks if c.id != "runs"]  # all rest on the sandbox's reports
    assert channel and all(not c.passed and c.score == 0 and c.message.startswith("not counted")
                           and named[0] in c.message for c in channel), channel
    assert report.score <= sum(c.max_score for c in report.checks if c.id == "runs")


@pytest.mark.slow
def test_row_3_attrgetter_of_a_closure_is_tampered_and_named(tmp_path):
    from grader.core.options import GradeOptions
    from grader.pipeline import grade

    script = tmp_path / "sentiment_classifier.py"
    script.write_text(_solution_with(SIGNER + "os._exit(0)\n"))
    line = script.read_text().splitlines().index(
        'cells = operator.attrgetter("__closure__")(keras.Model.compile) or ()') + 1
    report = grade(script, GradeOptions(use_cache=False))
    _assert_tampered(report, f"line {line} ", "operator.attrgetter('__closure__')")


@pytest.mark.slow
def test_row_5_a_writefile_module_then_imported_is_tampered_and_named(tmp_path):
    from grader.core.options import GradeOptions
    from grader.pipeline import grade

    cells = [nbformat.v4.new_markdown_cell("## Build the model"),
             nbformat.v4.new_code_cell(_solution_with("")),
             nbformat.v4.new_markdown_cell("## Helpers"),
             nbformat.v4.new_code_cell("%%writefile forge.py\n" + SIGNER),
             nbformat.v4.new_code_cell("import forge")]
    path = tmp_path / "sentiment_classifier.ipynb"
    path.write_text(nbformat.writes(nbformat.v4.new_notebook(cells=cells)))
    report = grade(path, GradeOptions(use_cache=False))
    _assert_tampered(report, "line 4 of forge.py, written at line 1 of the cell under “Helpers”",
                     "operator.attrgetter('__closure__')")


@pytest.mark.slow
def test_row_6_a_compiled_helper_in_a_batch_folder_is_tampered_in_grades_csv(tmp_path):
    import csv
    import py_compile

    from rich.console import Console

    from grader.integrations import batch
    from grader.core.options import GradeOptions
    from grader.rubric import load_rubric

    subs, out = tmp_path / "subs", tmp_path / "out"
    (subs / "mallory").mkdir(parents=True)
    source = tmp_path / "helper.py"
    source.write_text(SIGNER)
    py_compile.compile(str(source), cfile=str(subs / "mallory" / "helper.pyc"), doraise=True)
    (subs / "mallory" / "sentiment_classifier.py").write_text(_solution_with("import helper\n"))
    console = Console(file=io.StringIO(), width=200)
    assert batch.run_batch(subs, out, load_rubric(), GradeOptions(use_cache=False), workers=1,
                           console=console) == batch.EXIT_DONE
    with open(out / "grades.csv", newline="") as handle:
        row = next(csv.DictReader(handle))
    assert row["student"] == "mallory" and "tampered" in row["note"], row
    report = json.loads((out / "reports" / "mallory.json").read_text())["report"]
    assert report["tampered"] and report["tampered_reason"].startswith(
        "helper.pyc beside the submission is a compiled module or path file")
    assert float(row["score"]) <= 10, row
