"""What a submission's source reaches into, read from its syntax tree before anything runs.

The probe that reports a script's model runs in the script's own process, so a script that sets
out to can rewrite what it reports: through closures, frames, the interpreter's module table, or
by patching the serializers and Keras classes the report is made with. The probe's guard notices
the patching it can see at run time; this audit is the part that the script cannot switch off,
because it reads the source in the grader's process. It flags the few things that no solution
of this exercise needs and that every such rewrite needs: Python's introspection internals,
code built from strings, and assignments into the grader's, the standard library's or Keras'
own modules and classes. Only the script's own text counts: a string that merely mentions one
of these names is not flagged.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from grader.sources import describe_line, is_notebook

# Attributes that reach a function's or a frame's insides, or replace what an object is.
INTERNALS = frozenset({
    "__closure__", "__code__", "__globals__", "__defaults__", "__kwdefaults__", "__builtins__",
    "__dict__", "__subclasses__", "__bases__", "__mro__", "__setattr__", "__delattr__",
    "__getattribute__", "__self__", "__func__", "__wrapped__", "cell_contents",
    "f_back", "f_globals", "f_locals", "f_code", "f_builtins", "gi_frame", "cr_frame",
    "tb_frame", "tb_next", "__import__", "__loader__", "__spec__",
})
# Attributes that may be read but not assigned: they say what a class or an object is.
IDENTITY = frozenset({"__class__", "__name__", "__qualname__", "__module__"})
# Modules whose only use here would be to reach inside the interpreter or load hidden code.
MODULES = frozenset({"ctypes", "_ctypes", "cffi", "inspect", "marshal", "dill", "cloudpickle",
                     "dis", "code", "codeop", "builtins", "grader"})
# Functions of allowed modules that reach the same places.
FUNCTIONS = frozenset({
    "sys._getframe", "sys._current_frames", "sys.settrace", "sys.setprofile", "sys.addaudithook",
    "sys.modules", "sys.meta_path", "sys.path_hooks", "sys.path_importer_cache",
    "gc.get_objects", "gc.get_referrers", "gc.get_referents", "pickle.load", "pickle.loads",
    "types.FunctionType", "types.CodeType", "types.CellType", "importlib.util.find_spec",
    "importlib.util.spec_from_file_location", "importlib.util.module_from_spec",
    "importlib.machinery", "importlib.__import__",
})
BUILTINS = frozenset({"exec", "eval", "compile", "__import__"})
# Modules whose own objects a script may not assign into (``json.dumps = ...``,
# ``Dense.get_config = ...``, ``setattr(keras.Model, ...)``), with the attributes that are fine.
GUARDED = frozenset({"json", "hmac", "hashlib", "builtins", "io", "os", "sys", "keras",
                     "tensorflow", "tf_keras", "sklearn", "grader", "gc", "functools", "abc",
                     "socket", "threading", "signal", "atexit"})
ASSIGNABLE = frozenset({"sys.stdout", "sys.stderr", "sys.stdin", "sys.argv", "sys.path",
                        "os.environ"})


@dataclass(frozen=True)
class Finding:
    """One place in the source that reaches where a submission may not."""

    lineno: int
    what: str  # the construct, as written (``keras.Model.compile.__closure__``)
    why: str  # "reaches into Python's internals", ...


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _folded(node: ast.AST) -> str | None:
    """A string the expression always is (literals and ``+`` of literals), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _folded(node.left), _folded(node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in node.values):
        return "".join(str(v.value) for v in node.values)
    return None


class _Auditor(ast.NodeVisitor):
    def __init__(self):
        self.imports: dict[str, str] = {}  # local name -> what it was imported as ("sys.modules")
        self.findings: list[Finding] = []

    def flag(self, node: ast.AST, what: str, why: str) -> None:
        self.findings.append(Finding(getattr(node, "lineno", 0) or 0, what[:80], why))

    def resolved(self, node: ast.AST) -> str | None:
        """The dotted name ``node`` stands for, its first part replaced by what was imported."""
        dotted = _dotted(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head not in self.imports:
            return None
        return self.imports[head] + ("." + rest if rest else "")

    def _imported(self, node: ast.AST, module: str) -> None:
        top = module.split(".")[0]
        if top in MODULES:
            self.flag(node, module, "imports a module that reaches inside Python")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._imported(node, alias.name)
            if alias.asname:
                self.imports[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.imports[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:
            return  # a student's own helper module
        self._imported(node, module)
        for alias in node.names:
            full = f"{module}.{alias.name}"
            if full in FUNCTIONS or alias.name in INTERNALS:
                self.flag(node, full, "imports what reaches inside Python")
            self.imports[alias.asname or alias.name] = full

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in INTERNALS:
            self.flag(node, _dotted(node) or node.attr, "reaches into Python's internals")
        elif node.attr in IDENTITY and isinstance(node.ctx, (ast.Store, ast.Del)):
            self.flag(node, _dotted(node) or node.attr, "changes what a class or object is")
        else:
            full = self.resolved(node)
            if full is not None and full in FUNCTIONS:
                self.flag(node, _dotted(node) or full, "reaches into Python's internals")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        full = self.imports.get(node.id)
        if full in FUNCTIONS and isinstance(node.ctx, ast.Load):
            self.flag(node, node.id, "reaches into Python's internals")
        elif node.id in ("__builtins__", "__import__", "__loader__", "__spec__"):
            self.flag(node, node.id, "reaches into Python's internals")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in BUILTINS and func.id not in self.imports:
            self.flag(node, f"{func.id}(...)", "runs code built at run time")
        elif isinstance(func, ast.Name) and func.id in ("getattr", "setattr", "delattr", "hasattr",
                                                        "vars"):
            self._reflective(node, func.id)
        elif self.resolved(func) == "importlib.import_module":  # a literal name is an import
            name = _folded(node.args[0]) if node.args else None
            if name is None or name.split(".")[0] in MODULES:
                self.flag(node, f"importlib.import_module({name or '...'})",
                          "imports what reaches inside Python")
        self.generic_visit(node)

    def _reflective(self, node: ast.Call, name: str) -> None:
        args = node.args
        attribute = _folded(args[1]) if len(args) > 1 else None
        if attribute is not None and (attribute in INTERNALS or
                                      (name in ("setattr", "delattr") and attribute in IDENTITY)):
            self.flag(node, f"{name}(..., {attribute!r})", "reaches into Python's internals")
        elif name in ("setattr", "delattr", "vars") and args and self._guarded(args[0]):
            self.flag(node, f"{name}({_dotted(args[0]) or '...'}, ...)",
                      "changes the grader's, Python's or Keras' own code")

    def _guarded(self, node: ast.AST) -> str | None:
        """The guarded object ``node`` is part of (a module, or a class or function imported
        from one: ``keras.Model.fit``, ``os.environ["X"]``), or None (the script's own objects,
        and what a call returned)."""
        while isinstance(node, ast.Subscript):
            node = node.value
        full = self.resolved(node)
        if full is None or full.split(".")[0] not in GUARDED:
            return None
        if any(full == ok or full.startswith(ok + ".") for ok in ASSIGNABLE):
            return None
        return full

    def _assigned(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._assigned(element)
        elif isinstance(target, ast.Starred):
            self._assigned(target.value)
        elif isinstance(target, (ast.Attribute, ast.Subscript)) and self._guarded(target):
            self.flag(target, _dotted(target) or self._guarded(target) or "",
                      "changes the grader's, Python's or Keras' own code")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._assigned(target)
        alias = self.resolved(node.value)  # ``M = keras.Model``: M is guarded as keras.Model is
        for target in node.targets:
            if isinstance(target, ast.Name):
                if alias is not None:
                    self.imports[target.id] = alias
                else:
                    self.imports.pop(target.id, None)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._assigned(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._assigned(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._assigned(target)
        self.generic_visit(node)


def audit(source: str, first_line: int = 1) -> tuple[Finding, ...]:
    """Every place in ``source`` (from line ``first_line`` on) that reaches where a submission
    may not. A source that does not parse has no findings: the syntax check reports it."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    auditor = _Auditor()
    try:
        auditor.visit(tree)
    except RecursionError:
        return (Finding(0, "deeply nested code", "is nested too deeply to be read"),)
    return tuple(f for f in auditor.findings if f.lineno >= first_line or f.lineno == 0)


def tampering(source: str, helpers: dict[str, bytes] | None = None) -> str:
    """Why what the submission reports cannot be believed: its first finding, placed the way
    the student sees it (a notebook's cell, a helper module's name); "" when there is none."""
    notebook = is_notebook(source)  # its first line is the grader's own support code
    for finding in audit(source, first_line=2 if notebook else 1):
        return f"{describe_line(source, finding.lineno)} {finding.why} (`{finding.what}`)"
    for name, data in sorted((helpers or {}).items()):
        if not name.endswith(".py"):
            continue
        for finding in audit(data.decode("utf-8", errors="replace")):
            return f"line {finding.lineno} of {name} {finding.why} (`{finding.what}`)"
    return ""
