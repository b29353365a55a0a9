"""What a submission's source may write, read from its syntax tree in the grader's process.

The probe that reports a script's model runs in the script's own process, so a script that sets
out to can rewrite what it reports: through closures, frames, the interpreter's module table,
pickles or compiled modules, or by patching the serializers and Keras classes the report is made
with. The probe's guard notices the patching it can see at run time; this audit is the part the
script cannot switch off. It is an allow-list of what a solution of a Keras exercise writes, and
it refuses the rest, naming the line:

- names with two leading underscores only from a short list (``__name__``, ``__init__``, a
  dunder method *defined* in a class body, ...), in attribute access, class bodies, the strings
  given to reflection, dictionary keys and keyword arguments; a leading underscore only on the
  script's own plain objects;
- classes made with ``class`` only: no ``type(name, bases, namespace)``, and no
  ``functools.wraps``/``update_wrapper`` copying a library's names onto the script's own
  objects (both let a class pass itself off as a Keras one);
- ``getattr``/``setattr``/``hasattr``/``delattr`` and ``operator.attrgetter``/``methodcaller``
  only called, with literal public names; ``exec``, ``eval``, ``compile``, ``__import__`` never;
  ``globals()``/``locals()``/``vars()`` only read with literal public keys;
- no private module (``keras.src``, ``tensorflow.python``, any part starting with ``_``), no
  reflection or code-loading module (``importlib`` beyond ``import_module`` of a literal public
  name and ``reload``, ``runpy``, ``ctypes``, ``inspect``, ``pickle.load``,
  ``numpy.lib.stride_tricks``, ...); no process's file under ``/proc`` (its memory, its
  root) nor ``/dev/fd`` (its descriptors) opened by a literal name;
- an attribute of a library's module or class is set only to data written in the script
  (``px.defaults.template = "plotly_white"``: literals, containers of them, a name bound once to
  one, a library's capitalised constant), and never in the libraries the evidence is made with
  (Keras, TensorFlow, scikit-learn, NumPy, ``json``, ``hmac``, ``os``, ...); no object's Keras
  method or state (``model.compile = ...``, ``type(model).get_config = ...``), whatever the value,
  except on the script's own plain objects; ``model.trainable = False`` is configuration;
- code the script writes to a file (``%%writefile``, ``open(...).write``) is audited as code,
  up to ``MAX_WRITTEN_CODE`` in all, and a file named as Python code must be written from text
  the grader can read;
- a module imported must be installed, handed in beside the submission or written so.

A string that merely mentions one of these names is not refused: only code, and code written to
a file, counts.
"""

from __future__ import annotations

import ast
import re
import importlib.machinery
import io
import os
import sys
import zipfile
from dataclasses import dataclass, field

from grader.sources import (CELL_END, COMPILED_SUFFIXES, DISPLAY_HELPER, SYNTAX_ERROR,
                            describe_line, is_notebook)
from grader.text import inert

# Why a solution does not need what a rule refuses (the second half of each message).
WHY = {
    "dunder": "a name with two leading underscores reaches Python's internals, which no solution "
              "of this exercise needs",
    "private": "a name with a leading underscore is a library's or the grader's internals, which "
               "no solution of this exercise needs",
    "reflection": "a solution names the attributes it uses; reflection with names built at run "
                  "time, or passed around as a value, is not needed",
    "dynamic": "a solution runs only the code it shows and never builds or loads code at run time",
    "module": "this module reaches inside Python or loads hidden code, which no solution of this "
              "exercise needs",
    "private-module": "a library's private modules are its internals; a solution imports only "
                      "public ones",
    "patch": "a solution uses Keras and its libraries as they are: it may set their public "
             "settings to data (px.defaults.template = 'plotly_white'), but never replaces their "
             "functions, classes or a model's methods",
    "written": "a file named as Python code must be written from text the grader can read",
    "compiled": "a submission may hold only .py and .ipynb code (and data), never compiled "
                "modules or path files",
    "unknown-module": "a module must be installed or handed in beside the submission; one the "
                      "script writes while it runs cannot be read by the grader",
    "identity": "a solution writes its classes with `class` and keeps their own names and "
                "modules; making or renaming one at run time lets it pass itself off as a Keras "
                "class",
    "process-files": "the process's own files under /proc and /dev/fd are its memory and its "
                     "descriptors seen from outside, which no solution of this exercise needs",
}

# Dunder attributes a solution may read (``super().__init__``, ``type(m).__name__``).
READABLE_DUNDERS = frozenset({"__name__", "__qualname__", "__module__", "__doc__", "__file__",
                              "__class__", "__version__", "__init__", "__call__"})
# Dunder names a solution may read as a plain name; the last three are the notebook's support.
NAME_DUNDERS = frozenset({"__name__", "__file__", "__doc__", "__debug__", DISPLAY_HELPER,
                          CELL_END, SYNTAX_ERROR})
# Dunder names a module may define.
MODULE_DUNDERS = frozenset({"__all__", "__version__", "__author__", "__doc__"})
# Dunder methods a class body may define.
METHOD_DUNDERS = frozenset({
    "__init__", "__call__", "__len__", "__getitem__", "__iter__", "__next__", "__repr__",
    "__str__", "__enter__", "__exit__", "__contains__", "__bool__", "__eq__", "__ne__",
    "__lt__", "__le__", "__gt__", "__ge__", "__hash__", "__add__", "__sub__", "__mul__",
    "__format__"})
# Public names that start with an underscore: a named tuple's methods, and ``os._exit``.
PUBLIC_UNDERSCORED = frozenset({"_asdict", "_replace", "_fields", "_make", "_field_defaults"})
PUBLIC_UNDERSCORED_FUNCTIONS = frozenset({"os._exit"})
# Attributes of frames, tracebacks, generators and cells: Python's insides without underscores.
INTERNALS = frozenset({"f_back", "f_globals", "f_locals", "f_code", "f_builtins", "f_trace",
                       "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code",
                       "tb_frame", "tb_next", "cell_contents", "co_code", "co_consts"})
# Modules (and everything under them) a solution never imports.
REFUSED_MODULES = frozenset({
    "ctypes", "cffi", "inspect", "marshal", "dill", "cloudpickle", "dis", "code", "codeop",
    "builtins", "grader", "runpy", "zipimport", "pkgutil", "imp", "site", "atexit", "bdb", "pdb",
    "trace", "shelve", "copyreg", "numpy.ctypeslib", "numpy.lib.stride_tricks",
})
# A library's private modules that do not start with an underscore.
PRIVATE_MODULES = frozenset({"keras.src", "tensorflow.python", "tf_keras.src", "tensorflow.core",
                             "tensorflow.compiler", "tensorflow.tsl"})
# Names in a module a solution may use, when the module's other names are refused.
MODULE_ALLOWED = {
    "importlib": frozenset({"import_module", "reload", "metadata", "invalidate_caches"}),
    "gc": frozenset({"collect", "enable", "disable", "isenabled"}),
    "types": frozenset({"SimpleNamespace"}),
    "pickle": frozenset({"dump", "dumps", "HIGHEST_PROTOCOL", "PicklingError"}),
}
# Names of allowed modules that reach frames, threads, the module table or code loading.
REFUSED_NAMES = frozenset({
    "sys.modules", "sys.meta_path", "sys.path_hooks", "sys.path_importer_cache", "sys.settrace",
    "sys.setprofile", "sys.addaudithook", "sys.audit", "sys.exc_info", "sys.exception",
    "sys.last_traceback", "sys.excepthook", "sys.displayhook", "sys.breakpointhook",
    "sys.unraisablehook", "sys.monitoring", "sys.remote_exec", "sys.set_asyncgen_hooks",
    "sys.call_tracing", "threading.enumerate", "threading.main_thread", "threading.settrace",
    "threading.setprofile", "threading.settrace_all_threads", "threading.setprofile_all_threads",
    "threading.excepthook", "traceback.walk_stack", "traceback.walk_tb", "joblib.load",
    "pandas.read_pickle", "keras.config.enable_unsafe_deserialization",
})
# Calls that take attribute or module names: fine called with literal public names, never
# passed around as values (``functools.reduce(operator.attrgetter, ...)``).
NAME_CALLS = frozenset({"operator.attrgetter", "operator.methodcaller",
                        "importlib.import_module"})
# Attribute stores into a library that a solution may make whatever the value (``sys.stdout =
# buffer``, ``np.float = float``, ``pd.options.display.float_format = "{:.2f}".format``).
ASSIGNABLE = frozenset({"sys.stdout", "sys.stderr", "sys.stdin", "sys.argv", "sys.path",
                        "os.environ", "numpy.float", "numpy.int", "numpy.bool", "numpy.object",
                        "numpy.str", "pandas.options", "matplotlib.rcParams"})
# Libraries the evidence is made with (the model and its serializer, the data and split calls,
# the signed channel): nothing in them is set, not even to data, but for ``ASSIGNABLE``.
SEALED = frozenset({"keras", "tensorflow", "tf_keras", "sklearn", "numpy", "json", "hmac",
                    "hashlib", "os", "sys", "io", "builtins", "grader"})
# A model's, layer's, optimizer's, loss's, metric's or variable's public methods (every one
# Keras has: tests/test_audit.py checks it against the installed Keras), its Keras state, and
# what the serializer and the signed lines are written with: never assigned on any object but
# the script's own plain ones, whatever the value.
KERAS_ATTRIBUTES = frozenset({
    "add", "add_loss", "add_metric", "add_optimizer_variables", "add_variable",
    "add_variable_from_reference", "add_weight", "apply", "apply_gradients", "assign",
    "assign_add", "assign_sub", "build", "build_from_config", "call", "clone", "compile",
    "compile_from_config", "compiled_loss", "compute_loss", "compute_mask", "compute_metrics",
    "compute_output_shape", "compute_output_spec", "count_params", "enable_lora", "evaluate",
    "exclude_from_weight_decay", "export", "finalize_variable_values", "fit", "from_config",
    "get_build_config", "get_compile_config", "get_config", "get_layer", "get_metrics_result",
    "get_quantization_layer_structure", "get_state_tree", "get_weights", "load_own_variables",
    "load_weights", "loss", "make_predict_function", "make_test_function",
    "make_train_function", "numpy", "pop", "predict", "predict_on_batch", "predict_step",
    "quantize", "quantized_build", "quantized_call", "rematerialized_call", "reset_metrics",
    "reset_state", "result", "save", "save_own_variables", "save_weights", "scale_loss",
    "set_state_tree", "set_weights", "stateless_apply", "stateless_call",
    "stateless_compute_loss", "stateless_reset_state", "stateless_result",
    "stateless_update_state", "summary", "symbolic_call", "test_on_batch", "test_step",
    "to_json", "train_on_batch", "train_step", "update_state", "update_step",
    # Keras state the observation reads, and the functions a model is made with
    "layers", "optimizer", "metrics", "compiled_metrics", "train_function", "test_function",
    "predict_function",
    # the serializer's and the channel's writers, and the notebook shell's
    "serialize", "deserialize", "dumps", "dump", "loads", "load", "encode",
    "iterencode", "write", "flush", "run_cell_magic", "run_line_magic", "system", "getoutput",
})
# Calls by bare name that reach code or a namespace by a name held in data.
REFLECTIVE = frozenset({"getattr", "setattr", "delattr", "hasattr"})
NAMESPACES = frozenset({"globals", "locals", "vars"})
DYNAMIC = frozenset({"exec", "eval", "compile", "__import__", "breakpoint"})
# What a namespace read (``vars(args).items()``) may call on its result.
NAMESPACE_READS = frozenset({"items", "keys", "values", "get", "copy"})
WRITERS = frozenset({"write", "writelines", "write_text", "write_bytes"})
OPENERS = frozenset({"open", "io.open", "codecs.open", "pathlib.Path", "Path"})
MOVERS = frozenset({"os.rename", "os.replace", "os.link", "os.symlink", "shutil.copy",
                    "shutil.copy2", "shutil.copyfile", "shutil.move", "shutil.copytree"})
PATH_MOVERS = frozenset({"rename", "replace", "symlink_to", "hardlink_to"})
SOURCE_SUFFIXES = (".py", ".pyw")
# Where a process's memory and descriptors show as files (``/proc/self/mem``, ``/proc/1/root``,
# ``/dev/fd/3``); ``/proc/cpuinfo`` and ``/proc/meminfo`` are the machine's, and allowed.
PROCESS_FILES = re.compile(r"/(proc/(self|thread-self|\d+)|dev/(fd|k?mem))"
                           r"(/.*)?")
# What copies one object's ``__module__``, ``__qualname__`` and ``__name__`` onto another.
WRAPPERS = frozenset({"functools.wraps", "functools.update_wrapper"})
MAX_TEXT = 2 * 2**20  # the longest text folded from literals (``s = s + s`` doubles it)
# The audit's own budget, whatever the source: the code written to files it reads in all (the
# same text once), and the folded text it keeps for the script's names at any one time.
MAX_WRITTEN_CODE = 512 * 2**10  # a helper module is a few KiB
MAX_HELD_TEXT = 16 * 2**20
# Names a notebook's code may import although they are not installed: what Colab provides,
# looked up only inside ``try``/``except ImportError``.
PLATFORM_MODULES = frozenset({"google.colab"})


# the script writes files itself: only then can an import be of code the audit never read
_WRITES = re.compile(r"\.write(_text|_bytes)?\s*\(|\bopen\s*\(|%%writefile")


@dataclass(frozen=True)
class Finding:
    """One place in the source that a solution does not need.

    ``file`` and ``file_line`` place it inside code the script writes (``%%writefile forge.py``);
    ``lineno`` is always the line of the script itself.
    """

    lineno: int
    rule: str  # a key of WHY
    what: str  # the construct, as written (``operator.attrgetter('__closure__')``)
    file: str = ""
    file_line: int = 0

    @property
    def why(self) -> str:
        return WHY[self.rule]


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _is_private(name: str) -> bool:
    """``_x`` and name-mangled ``__x``: internals by convention."""
    return name.startswith("_") and not _is_dunder(name)


def _under(full: str, names) -> str | None:
    """The entry of ``names`` that ``full`` is or is inside of (``keras.src`` for
    ``keras.src.saving``), else None."""
    parts = full.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in names:
            return ".".join(parts[:end])
    return None


def _module_refusal(full: str) -> str:
    """The rule a dotted name of a module or of what is in one breaks ("" for none)."""
    parts = full.split(".")
    if parts[0] == "__future__":
        return ""
    if full in PUBLIC_UNDERSCORED_FUNCTIONS:
        return ""
    if any(part.startswith("_") for part in parts) or _under(full, PRIVATE_MODULES):
        return "private-module"
    if _under(full, REFUSED_MODULES) or _under(full, REFUSED_NAMES):
        return "module"
    if parts[0] in MODULE_ALLOWED and len(parts) > 1 and parts[1] not in MODULE_ALLOWED[parts[0]]:
        return "module"
    return ""


@dataclass
class _Budget:
    """What one audit may still read of the code a script writes (shared by the audits of
    written code inside it), and what it already read, by text and depth."""

    code_left: int = MAX_WRITTEN_CODE
    read: dict = field(default_factory=dict)


class _Auditor(ast.NodeVisitor):
    def __init__(self, depth: int = 0, budget: _Budget | None = None):
        self.depth = depth  # how deep in written code (a written file that writes a file ...)
        self.budget = budget or _Budget()
        self.held = 0  # characters of text in ``strings``
        self.imports: dict[str, str] = {}  # local name -> what it stands for ("sys.modules")
        self.strings: dict[str, str] = {}  # name -> the literal text it was last given
        self.files: dict[str, str] = {}  # name -> the literal file name it was opened on
        self.findings: list[Finding] = []
        self.imported: list[tuple[int, str, bool]] = []  # (line, module, inside try/ImportError)
        self.written: set[str] = set()  # modules written from literal text (audited)
        self.called: set[int] = set()  # ids of nodes that are the function of a call
        self.classes: list[bool] = []  # for each enclosing class: does it derive from a library?
        self.library_classes: set[str] = set()  # the script's classes that do
        self.namespace_reads: set[int] = set()  # ids of globals()/vars() calls only read from
        self.in_class_body: list[bool] = [False]
        self.self_names: list[str | None] = [None]
        self.optional_import = 0  # depth of try blocks that catch ImportError
        self.constants: dict[str, int] = {}  # name -> line of its one binding, to data
        self.stored: dict[int, ast.AST | None] = {}  # id of an attribute stored -> its value

    # --- helpers ---------------------------------------------------------------------------

    def flag(self, node: ast.AST, rule: str, what: str) -> None:
        self.findings.append(Finding(getattr(node, "lineno", 0) or 0, rule, inert(what, 80)))

    def resolved(self, node: ast.AST) -> str | None:
        """The dotted name ``node`` stands for, its first part replaced by what was imported."""
        dotted = _dotted(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head not in self.imports:
            return None
        return self.imports[head] + ("." + rest if rest else "")

    def stands_for(self, node: ast.AST) -> str | None:
        """What ``node`` names in a library: ``resolved``, or the module an
        ``importlib.import_module`` of a literal name returns."""
        if isinstance(node, ast.Call) and self.resolved(node.func) == "importlib.import_module" \
                and len(node.args) == 1 and not node.keywords:
            return self.folded(node.args[0])
        return self.resolved(node)

    def data(self, node: ast.AST | None) -> bool:
        """Whether ``node`` is always plain data written in the script, which nothing can call:
        literals, containers and operators of them, a name bound once (at module level, before)
        to one, a library's capitalised constant (``logging.ERROR``)."""
        if node is None:
            return False
        if isinstance(node, (ast.Constant, ast.JoinedStr)):
            return True
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return all(self.data(e) for e in node.elts)
        if isinstance(node, ast.Dict):
            return None not in node.keys and all(map(self.data, (*node.keys, *node.values)))
        if isinstance(node, ast.UnaryOp):
            return self.data(node.operand)
        if isinstance(node, ast.BinOp):
            return self.data(node.left) and self.data(node.right)
        if isinstance(node, ast.BoolOp):
            return all(map(self.data, node.values))
        if isinstance(node, ast.IfExp):
            return self.data(node.body) and self.data(node.orelse)
        if isinstance(node, ast.Name):
            return self.constants.get(node.id, node.lineno) < node.lineno
        full = self.resolved(node) if isinstance(node, ast.Attribute) else None
        return full is not None and re.fullmatch(r"[A-Z][A-Z0-9_]+", full.rsplit(".", 1)[-1]) \
            is not None

    def folded(self, node: ast.AST | None) -> str | None:
        """The text an expression always is (literals, ``+`` of them, names given one), else
        None."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Constant) and isinstance(node.value, bytes):
            return node.value.decode("utf-8", errors="replace")
        if isinstance(node, ast.Name) and node.id in self.strings:
            return self.strings[node.id]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.folded(node.left), self.folded(node.right)
            if left is None or right is None or len(left) + len(right) > MAX_TEXT:
                return None
            return left + right
        if isinstance(node, ast.JoinedStr) and all(isinstance(v, ast.Constant)
                                                   for v in node.values):
            return "".join(str(v.value) for v in node.values)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in ("encode", "strip", "lstrip", "rstrip") and not node.args:
            return self.folded(node.func.value)
        return None

    def on_self(self, node: ast.AST) -> bool:
        """Whether ``node`` is ``self`` (or ``self.x...``) in a method of the script's own plain
        class (one that derives from no library class)."""
        while isinstance(node, ast.Attribute):
            node = node.value
        own = bool(self.classes) and not self.classes[-1]
        return own and isinstance(node, ast.Name) and node.id == self.self_names[-1]

    def public_name(self, node: ast.AST, text: str | None, what: str, store: bool = False) -> None:
        """A name given to reflection: literal, public, or a readable dunder when only read."""
        if text is None:
            self.flag(node, "reflection", what)
            return
        for part in text.split("."):
            if _is_dunder(part) and (store or part not in READABLE_DUNDERS):
                self.flag(node, "dunder", what)
                return
            if _is_private(part):
                self.flag(node, "private", what)
                return

    # --- imports ---------------------------------------------------------------------------

    def _import(self, node: ast.AST, module: str) -> None:
        rule = _module_refusal(module)
        if rule:
            self.flag(node, rule, f"import {module}")
        self.imported.append((getattr(node, "lineno", 0) or 0, module, self.optional_import > 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._import(node, alias.name)
            if alias.asname:
                self.imports[alias.asname] = alias.name
            else:
                self.imports[alias.name.split(".")[0]] = alias.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            return  # a student's own helper module, audited as a file of its own
        module = node.module or ""
        self._import(node, module)
        for alias in node.names:
            full = f"{module}.{alias.name}"
            if alias.name == "*":
                continue
            rule = _module_refusal(full)
            if rule and not _module_refusal(module):
                self.flag(node, rule, f"from {module} import {alias.name}")
            elif _is_dunder(alias.name):
                self.flag(node, "dunder", f"from {module} import {alias.name}")
            self.imports[alias.asname or alias.name] = full

    def visit_Try(self, node: ast.Try) -> None:
        optional = any(h.type is None or any(
            isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError",
                                                 "Exception", "BaseException")
            for n in ast.walk(h.type)) for h in node.handlers)
        self.optional_import += optional
        for statement in node.body:
            self.visit(statement)
        self.optional_import -= optional
        for part in (*node.handlers, *node.orelse, *node.finalbody):
            self.visit(part)

    visit_TryStar = visit_Try

    # --- definitions -----------------------------------------------------------------------

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for part in (*node.decorator_list, *node.bases, *node.keywords):
            self.visit(part)
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and self.resolved(decorator.func) in WRAPPERS:
                self.flag(decorator, "identity", f"@{self.resolved(decorator.func)}(...) on "
                                                 f"class {node.name}")
        library = any(self.resolved(base) is not None or not isinstance(base, ast.Name) or
                      base.id in self.library_classes for base in node.bases)
        self._bind(node.name, None, None, None)
        if library:
            self.library_classes.add(node.name)
        self.classes.append(library)
        self.in_class_body.append(True)
        for statement in node.body:
            self.visit(statement)
        self.in_class_body.pop()
        self.classes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        in_class = self.in_class_body[-1]
        if _is_dunder(node.name) and not (in_class and node.name in METHOD_DUNDERS):
            self.flag(node, "dunder", f"def {node.name}")
        for part in (*node.decorator_list, node.args, *([node.returns] if node.returns else [])):
            self.visit(part)
        args = node.args.posonlyargs + node.args.args
        if in_class:  # a method: its first argument is the object (a nested def keeps it)
            self.self_names.append(args[0].arg if args else None)
        else:
            self.self_names.append(self.self_names[-1])
        self.in_class_body.append(False)
        for statement in node.body:
            self.visit(statement)
        self.in_class_body.pop()
        self.self_names.pop()
        self._bind(node.name, None, None, None)

    visit_AsyncFunctionDef = visit_FunctionDef

    # --- names and attributes --------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> None:
        name = node.id
        if isinstance(node.ctx, ast.Load):
            if _is_dunder(name) and name not in NAME_DUNDERS:
                self.flag(node, "dunder", name)
            elif id(node) not in self.called and name not in self.imports and (
                    name in REFLECTIVE or name in NAMESPACES or name in DYNAMIC):
                self.flag(node, "reflection" if name not in DYNAMIC else "dynamic",
                          f"{name} used as a value")
            full = self.imports.get(name)
            if full is not None:
                self._reached(node, full, name)
        elif _is_dunder(name) and not (name in MODULE_DUNDERS and not self.classes
                                       and self.self_names[-1] is None):
            self.flag(node, "dunder", f"{name} = ..." if isinstance(node.ctx, ast.Store) else name)

    def _reached(self, node: ast.AST, full: str, written: str) -> None:
        """A name that stands for ``full``: refused modules' and functions' names, and the
        reflective ones when not called."""
        rule = _module_refusal(full)
        if rule:
            self.flag(node, rule, written)
        elif full in NAME_CALLS and id(node) not in self.called:
            self.flag(node, "reflection", f"{written} used as a value")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr, store = node.attr, isinstance(node.ctx, (ast.Store, ast.Del))
        written = _dotted(node) or attr
        if _is_dunder(attr):
            if store or attr not in READABLE_DUNDERS:
                self.flag(node, "dunder", written)
        elif attr in INTERNALS:
            self.flag(node, "dunder", written)
        elif _is_private(attr) and attr not in PUBLIC_UNDERSCORED and \
                self.resolved(node) not in PUBLIC_UNDERSCORED_FUNCTIONS and \
                not self.on_self(node.value):
            self.flag(node, "private", written)
        else:
            full = self.resolved(node)
            if full is not None:
                self._reached(node, full, written)
            if store:
                self._store(node, node.value, attr, self.stored.get(id(node)), f"{written} = ...")
        if isinstance(node.value, ast.Call) and attr in NAMESPACE_READS:
            self.namespace_reads.add(id(node.value))
        self.generic_visit(node)

    def _store(self, node: ast.AST, target: ast.AST, attr: str, value: ast.AST | None,
               written: str) -> None:
        """``target.attr = value`` (``value`` None: unknown, or a delete). Never on
        ``type(...)``/``super()``; never an object's Keras method or state but on the script's
        own plain objects; into a library's module or class, data only and never in ``SEALED``
        (``ASSIGNABLE`` aside)."""
        base = target
        while isinstance(base, ast.Attribute):
            base = base.value
        full = self.stands_for(target)
        if isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and \
                base.func.id in ("type", "super"):
            self.flag(node, "patch", f"{base.func.id}(...).{attr} = ...")
        elif attr in KERAS_ATTRIBUTES and not self.on_self(target):
            self.flag(node, "patch", written)
        elif full is not None and _under(f"{full}.{attr}", ASSIGNABLE) is None and (
                _under(full, SEALED) or not self.data(value)):
            self.flag(node, "patch", written)

    def _namespace_call(self, node: ast.Call) -> str:
        func = node.func
        if isinstance(func, ast.Name) and func.id in NAMESPACES and func.id not in self.imports:
            return func.id
        return ""

    def visit_Subscript(self, node: ast.Subscript) -> None:
        name = isinstance(node.value, ast.Call) and self._namespace_call(node.value)
        if name:
            key = self.folded(node.slice)
            self.public_name(node, key, f"{name}()[{key!r}]" if key is not None
                             else f"{name}()[...]")
            if isinstance(node.ctx, ast.Load):
                self.namespace_reads.add(id(node.value))
            else:
                self.flag(node, "reflection", f"{name}()[...] = ...")
        self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        for key in node.keys:  # ``{"__module__": ...}``: a class namespace, or a forged config
            if isinstance(key, ast.Constant) and isinstance(key.value, str) and \
                    _is_dunder(key.value):
                self.flag(node, "dunder", f"{{{key.value!r}: ...}}")
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        for op, right in zip(node.ops, node.comparators):  # ``"model" in globals()`` reads keys
            if isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, ast.Call):
                self.namespace_reads.add(id(right))
        self.generic_visit(node)

    # --- calls -----------------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        self.called.add(id(func))
        name = func.id if isinstance(func, ast.Name) and func.id not in self.imports else None
        full = self.resolved(func)
        if name == "type" and len(node.args) + len(node.keywords) > 1:
            self.flag(node, "identity", "type(name, bases, namespace)")
        elif isinstance(func, ast.Call) and isinstance(func.func, ast.Name) and \
                func.func.id == "type" and func.func.id not in self.imports:
            self.flag(node, "identity", "type(...)(...)")  # the metaclass, called: a new class
        for keyword in node.keywords:
            if keyword.arg is not None and _is_dunder(keyword.arg):
                self.flag(node, "dunder", f"{_dotted(func) or '...'}({keyword.arg}=...)")
        if name in DYNAMIC:
            self.flag(node, "dynamic", f"{name}(...)")
        elif name in REFLECTIVE:
            self._reflective(node, name)
        elif name in NAMESPACES:
            if id(node) not in self.namespace_reads or (
                    node.args and self.resolved(node.args[0]) is not None):
                inside = (_dotted(node.args[0]) or "...") if node.args else ""
                self.flag(node, "reflection", f"{name}({inside}) used as a value")
        if name in ("print", "len", "sorted", "list", "dict"):  # they only read a namespace
            self.namespace_reads.update(id(arg) for arg in node.args)
        elif full is not None:
            self._library_call(node, full)
        if isinstance(func, ast.Attribute):
            self._method_call(node, func)
        if name == "open" or full in OPENERS or full == "os.open":
            self._process_file(node)
        for keyword, safe in (("safe_mode", True), ("allow_pickle", False)):  # loads pickles
            value = next((k.value for k in node.keywords if k.arg == keyword), None)
            if value is not None and not (isinstance(value, ast.Constant) and value.value is safe):
                self.flag(node, "module", f"{_dotted(func) or '...'}(..., {keyword}=...)")
        if name == "print":
            target = next((k.value for k in node.keywords if k.arg == "file"), None)
            if target is not None:
                self._wrote(node, self._file_of(target), node.args)
        for arg in node.args:
            text = self.folded(arg)
            if text is not None and text.endswith(COMPILED_SUFFIXES):
                self.flag(node, "compiled", f"{_dotted(func) or '...'}({text!r})")
        self.generic_visit(node)

    def _reflective(self, node: ast.Call, name: str) -> None:
        args = node.args
        what = f"{name}({_dotted(args[0]) if args and _dotted(args[0]) else '...'}, "
        text = self.folded(args[1]) if len(args) > 1 else None
        self.public_name(node, text, what + (f"{text!r})" if text is not None else "...)"),
                         store=name in ("setattr", "delattr"))
        if name in ("setattr", "delattr") and args and text is not None:
            value = args[2] if name == "setattr" and len(args) > 2 else None
            self._store(node, args[0], text, value, what + f"{text!r}, ...)")

    def _library_call(self, node: ast.Call, full: str) -> None:
        """Calls of an imported name that are refused by their arguments."""
        if full in ("operator.attrgetter", "operator.methodcaller"):
            names = node.args if full == "operator.attrgetter" else node.args[:1]
            for arg in names or [None]:
                text = self.folded(arg)
                self.public_name(node, text, f"{full}({text!r})" if text is not None
                                 else f"{full}(...)")
        elif full == "importlib.import_module":
            text = self.folded(node.args[0]) if node.args else None
            if text is None or len(node.args) > 1:
                self.flag(node, "reflection", "importlib.import_module(...)")
            else:
                self._import(node, text)
        elif full in MOVERS:
            self._moved(node, node.args[1:2] + [k.value for k in node.keywords if k.arg == "dst"])
        elif full in WRAPPERS:
            wrapped = node.args[1:2] if full == "functools.update_wrapper" else node.args[:1]
            wrapped += [k.value for k in node.keywords if k.arg == "wrapped"]
            if any(self.stands_for(arg) is not None for arg in wrapped):
                self.flag(node, "identity", f"{full}(..., {_dotted(wrapped[0]) or '...'})")

    def _method_call(self, node: ast.Call, func: ast.Attribute) -> None:
        """``x.write(...)`` and the notebook shell's magics: what they write is code."""
        if func.attr in WRITERS:
            self._wrote(node, self._file_of(func.value), node.args)
        elif func.attr in PATH_MOVERS and self._file_of(func.value) is not None:
            self._moved(node, node.args[:1])
        elif func.attr == "run_cell_magic":
            magic = self.folded(node.args[0]) if node.args else None
            line = self.folded(node.args[1]) if len(node.args) > 1 else None
            body = self.folded(node.args[2]) if len(node.args) > 2 else None
            if magic == "writefile" and line is not None and line.split():
                self._wrote(node, line.split()[-1], node.args[2:3])
            elif None in (magic, line, body):
                self.flag(node, "dynamic", "run_cell_magic(...)")
        elif func.attr == "run_line_magic":
            magic = self.folded(node.args[0]) if node.args else None
            line = self.folded(node.args[1]) if len(node.args) > 1 else None
            if magic is None or line is None:
                self.flag(node, "dynamic", "run_line_magic(...)")
            elif magic in ("time", "timeit"):
                self._code(node, line, "")

    def _process_file(self, node: ast.Call) -> None:
        """``open("/proc/self/mem")``: a literal name of one of the process's own files (a
        relative one climbing there from the working directory too)."""
        text = self.folded(node.args[0]) if node.args else None
        if not text:
            return
        path = os.path.normpath(text)
        if not text.startswith("/"):
            if not path.startswith(".."):
                return
            while path.startswith("../") or path == "..":
                path = path[3:]
        if PROCESS_FILES.fullmatch(os.path.normpath("/" + path.lstrip("/"))):
            self.flag(node, "process-files", f"{_dotted(node.func) or '...'}({text[:40]!r})")

    def _file_of(self, node: ast.AST) -> str | None:
        """The literal file name ``node`` is open on (``open("x.py", "w")``, ``Path("x.py")``,
        a name bound by ``with open(...) as f``), else None."""
        if isinstance(node, ast.Name):
            return self.files.get(node.id)
        if isinstance(node, ast.Call) and node.args and (
                self.resolved(node.func) in OPENERS or
                isinstance(node.func, ast.Name) and node.func.id in ("open", "Path")):
            return self.folded(node.args[0])
        return None

    def _wrote(self, node: ast.AST, file: str | None, contents) -> None:
        """What a script writes to ``file`` (None: a name the grader cannot read) is audited as
        code; a Python file must be written from readable text."""
        name = file or "a file"
        if file is not None and file.endswith(COMPILED_SUFFIXES):
            self.flag(node, "compiled", f"writes {file}")
            return
        texts = [self.folded(arg) for arg in contents]
        for text in texts:
            if text is not None:
                self._code(node, text, name)
        if file is not None and file.endswith(SOURCE_SUFFIXES):
            if None in texts or not texts:
                self.flag(node, "written", f"writes {file}")
            elif "/" not in file.strip("./"):
                self.written.add(file.rsplit("/", 1)[-1].rsplit(".", 1)[0])

    def _moved(self, node: ast.AST, targets) -> None:
        for target in targets:
            text = self.folded(target)
            if text is not None and text.endswith(SOURCE_SUFFIXES):
                self.flag(node, "written", f"makes {text}")

    def _code(self, node: ast.AST, text: str, file: str) -> None:
        """Audit ``text`` as code written at ``node`` (text that is no Python is not code)."""
        if self.depth >= 3:
            self.flag(node, "dynamic", "code that writes code that writes code")
            return
        key = (text, self.depth + 1)
        if key not in self.budget.read:
            if len(text) > self.budget.code_left:
                if file in ("", "a file") or file.endswith(SOURCE_SUFFIXES):  # (else: data)
                    self.flag(node, "written", f"writes more than {MAX_WRITTEN_CODE // 2**10} "
                                               "KiB of code in all")
                return
            self.budget.code_left -= len(text)
            self.budget.read[key] = _audit_tree(text.encode("utf-8", errors="replace"),
                                                depth=self.depth + 1, budget=self.budget)
        inner = self.budget.read[key]
        if inner is None:
            return
        for finding in inner.findings:
            self.findings.append(Finding(getattr(node, "lineno", 0) or 0, finding.rule,
                                         finding.what, finding.file or file,
                                         finding.file_line or finding.lineno))
        self.imported += [(getattr(node, "lineno", 0) or 0, module, optional)
                          for _, module, optional in inner.imported]

    # --- assignments -----------------------------------------------------------------------

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        self.stored.update((id(t), node.value) for t in node.targets if isinstance(t, ast.Attribute))
        alias = self.stands_for(node.value)  # ``M = keras.Model``: M stands for keras.Model
        text = self.folded(node.value)
        file = self._opened(node.value)
        for target in node.targets:
            self.visit(target)
            if isinstance(target, ast.Name):
                self._bind(target.id, alias, text, file)

    def _opened(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Call):
            return self._file_of(node)
        return None

    def _bind(self, name: str, alias: str | None, text: str | None, file: str | None) -> None:
        self.held -= len(self.strings.get(name, ""))
        if text is not None and self.held + len(text) > MAX_HELD_TEXT:
            text = None  # past what the audit keeps: the name's text is unknown to it
        self.held += len(text or "")
        for table, value in ((self.imports, alias), (self.strings, text), (self.files, file)):
            if value is None:
                table.pop(name, None)
            else:
                table[name] = value

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if isinstance(item.optional_vars, ast.Name):
                self._bind(item.optional_vars.id, None, None, self._opened(item.context_expr))
            elif item.optional_vars is not None:
                self.visit(item.optional_vars)
        for statement in node.body:
            self.visit(statement)

    visit_AsyncWith = visit_With

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.stored[id(node.target)] = node.value  # ``+= data`` keeps data data
        self.generic_visit(node)
        if isinstance(node.target, ast.Name):
            self._bind(node.target.id, self.imports.get(node.target.id), None,
                       self.files.get(node.target.id))

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.stored[id(node.target)] = node.value if node.value is not None else ast.Constant(None)
        self.generic_visit(node)
        if isinstance(node.target, ast.Name):
            self._bind(node.target.id, None, None, None)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.generic_visit(node)
        self._bind(node.target.id, self.stands_for(node.value), self.folded(node.value),
                   self._opened(node.value))


@dataclass(frozen=True)
class _Read:
    findings: tuple[Finding, ...]
    imported: tuple[tuple[int, str, bool], ...] = ()
    written: frozenset[str] = field(default_factory=frozenset)


def _bound(node: ast.AST) -> list[str]:
    """The names ``node`` binds (an assignment's, a parameter's, an import's, ...)."""
    if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
        return [node.id]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [a.asname or a.name.split(".")[0] for a in node.names]
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return list(node.names)
    if isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)):
        return [node.name] if node.name else []
    if isinstance(node, ast.MatchMapping):
        return [node.rest] if node.rest else []
    return []


def _constants(tree: ast.Module, auditor: _Auditor) -> dict[str, int]:
    """Names the whole source binds once, at module level, to data (``WIDTH = 800``): the
    line of that binding."""
    count: dict[str, int] = {}
    for node in ast.walk(tree):
        for name in _bound(node):
            count[name] = count.get(name, 0) + 1
    return {s.targets[0].id: s.lineno for s in tree.body
            if isinstance(s, ast.Assign) and len(s.targets) == 1 and
            isinstance(s.targets[0], ast.Name) and count[s.targets[0].id] == 1 and
            auditor.data(s.value)}


def _audit_tree(source: str | bytes, depth: int = 0, budget: _Budget | None = None) -> _Read | None:
    """The audit of ``source``; None when it is no Python (the syntax check reports that).
    Bytes are read as Python reads a file, by its coding declaration."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, UnicodeError, LookupError):
        return None
    auditor = _Auditor(depth, budget)
    try:
        auditor.constants = _constants(tree, auditor)
        auditor.visit(tree)
    except RecursionError:
        return _Read((Finding(0, "dynamic", "code nested too deeply to be read"),))
    return _Read(tuple(auditor.findings), tuple(auditor.imported), frozenset(auditor.written))


def audit(source: str | bytes, first_line: int = 1) -> tuple[Finding, ...]:
    """Every place in ``source`` (from line ``first_line`` on) that a solution does not need."""
    read = _audit_tree(source)
    if read is None:
        return ()
    return tuple(f for f in read.findings if f.lineno >= first_line or f.lineno == 0)


# --- what a submission hands in beside its graded file ---------------------------------------


def _installed(module: str) -> bool:
    """Whether ``module`` (a dotted name) can be found where the grader runs, without running
    any code: its top level, and one level below a namespace package (``google.colab``)."""
    top, _, rest = module.partition(".")
    if not top or top in sys.builtin_module_names or top in sys.stdlib_module_names:
        return bool(top)
    here = {"", os.getcwd(), os.path.realpath(os.getcwd())}
    path = [p for p in sys.path if p not in here]
    try:
        spec = importlib.machinery.PathFinder.find_spec(top, path)
        if spec is not None and spec.origin is None and rest and spec.submodule_search_locations:
            spec = importlib.machinery.PathFinder.find_spec(
                f"{top}.{rest.split('.')[0]}", list(spec.submodule_search_locations))
    except (ImportError, ValueError, OSError):
        return False
    return spec is not None


def _archive_with_code(data: bytes) -> bool:
    """Whether ``data`` is a zip archive holding Python code (importable from ``sys.path``
    whatever the file's name)."""
    if not data.startswith(b"PK") and b"PK\x05\x06" not in data[-65_600:]:
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return any(n.endswith(SOURCE_SUFFIXES + COMPILED_SUFFIXES) for n in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError):
        return False


def _helper_modules(helpers: dict[str, bytes]) -> set[str]:
    """The top-level module names the files handed in provide (``helper.py``, ``pkg/...``)."""
    names = set()
    for name in helpers:
        first = name.split("/")[0]
        names.add(first[: -len(".py")] if "/" not in name and first.endswith(".py") else first)
    return names


def _sentence(where: str, finding: Finding) -> str:
    return f"{where} has `{finding.what}`: {finding.why}"


def tampering(source: str, helpers: dict[str, bytes] | None = None) -> str:
    """Why what the submission reports cannot be believed: its first finding, placed the way
    the student sees it (a notebook's cell, a helper module's name); "" when there is none."""
    helpers = helpers or {}
    for name in sorted(helpers):
        kind = ("a compiled module or path file" if name.endswith(COMPILED_SUFFIXES) else
                "an archive holding code" if _archive_with_code(helpers[name]) else "")
        if kind:
            return (f"{inert(name, 80)} beside the submission is {kind}: "
                    f"{WHY['compiled']}")
    notebook = is_notebook(source)  # its first line is the grader's own support code
    reads = [("", _audit_tree(source.encode("utf-8")), 2 if notebook else 1)]
    reads += [(name, _audit_tree(helpers[name]), 1) for name in sorted(helpers)
              if name.endswith(SOURCE_SUFFIXES)]
    for name, read, first_line in reads:
        for finding in (read.findings if read else ()):
            if finding.lineno < first_line and finding.lineno != 0:
                continue
            where = describe_line(source, finding.lineno) if not name else \
                f"line {finding.lineno} of {inert(name, 80)}"
            if finding.file:
                where = f"line {finding.file_line} of {inert(finding.file, 80)}, written at {where},"
            return _sentence(where, finding)
    known = _helper_modules(helpers).union(*(r.written for _, r, _ in reads if r))
    texts = [source.split("\n", 1)[-1] if notebook else source, *(helpers[name].decode("utf-8", "replace") for name in helpers
                       if name.endswith(SOURCE_SUFFIXES))]
    if not any(_WRITES.search(text) for text in texts):
        # a module that is merely not installed fails as a missing module, not as tampering
        return ""
    for name, read, first_line in reads:
        for lineno, module, optional in (read.imported if read else ()):
            if lineno < first_line or module.split(".")[0] in known or _installed(module) or (
                    optional and _under(module, PLATFORM_MODULES)):
                continue
            where = describe_line(source, lineno) if not name else \
                f"line {lineno} of {inert(name, 80)}"
            return _sentence(where, Finding(lineno, "unknown-module", f"import {module}"))
    return ""
