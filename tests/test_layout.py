"""The layout's two promises (issue 24): a pure core, and no import circle.

``grader/core/`` is the data that crosses the grader's boundaries; any part of the grader, a
reporter or the retrain worker imports it, so importing it must load nothing else of ``grader``
and none of the heavy libraries (each module is imported in a fresh interpreter and its
``sys.modules`` read). And no module of ``grader/`` or ``exercises/`` reaches itself through the
imports it runs when it is imported (read from the source with ``ast``; a failure names the loop).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("grader", "exercises")
HEAVY = ("numba", "llvmlite", "scipy", "psutil", "keras", "tensorflow", "jax")
CORE_MODULES = sorted(f"grader.core.{path.stem}" if path.stem != "__init__" else "grader.core"
                      for path in (ROOT / "grader" / "core").glob("*.py"))


def loaded_by(module: str) -> list[str]:
    """The modules a fresh interpreter holds after ``import module`` (run from the repository)."""
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"import {module} failed:\n{done.stderr[-2000:]}"
    return json.loads(done.stdout.splitlines()[-1])


def impurities(module: str) -> list[str]:
    """What importing ``module`` loads that a core module must not: a heavy library, or a module
    of ``grader`` outside ``grader.core`` (the ``grader`` package itself holds only a version)."""
    found = []
    for name in loaded_by(module):
        top = name.partition(".")[0]
        if top in HEAVY:
            found.append(name)
        elif top == "grader" and name != "grader" and name != "grader.core" \
                and not name.startswith("grader.core."):
            found.append(name)
    return found


def test_the_core_has_modules_to_check():
    assert {"grader.core.options", "grader.core.report", "grader.core.request",
            "grader.core.results", "grader.core.rubric", "grader.core.observation",
            "grader.core.similarity"} <= set(CORE_MODULES), CORE_MODULES


@pytest.mark.parametrize("module", CORE_MODULES)
def test_a_core_module_imports_only_the_core_and_no_heavy_library(module):
    found = impurities(module)
    assert not found, (f"importing {module} should load no module of grader outside grader.core "
                       f"and none of {', '.join(HEAVY)}. Found: {', '.join(found)}")


def test_the_purity_check_sees_a_module_outside_the_core():
    # grader.rubric reads the exercises (grader.exercise): the check must name that
    assert "grader.exercise" in impurities("grader.rubric")


# --- the import graph ---------------------------------------------------------------------------


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _statements(body: list[ast.stmt], deep: bool):
    """The statements a module runs when it is imported: its body, into ``if``/``try``/``with``
    blocks and class bodies, never ``if TYPE_CHECKING:``; with ``deep``, also every function's
    body (the imports a function makes when it is called)."""
    for node in body:
        yield node
        if isinstance(node, ast.If):
            if not _type_checking_only(node):
                yield from _statements(node.body, deep)
            yield from _statements(node.orelse, deep)
        elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            for block in (node.body, node.orelse, node.finalbody,
                          *[handler.body for handler in node.handlers]):
                yield from _statements(block, deep)
        elif isinstance(node, (ast.With, ast.For, ast.While, ast.ClassDef)):
            yield from _statements(node.body, deep)
        elif deep and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _statements(node.body, deep)


def import_graph(root: Path, packages=PACKAGES, deep: bool = False) -> dict[str, set[str]]:
    """``{module: the modules of ``packages`` it imports when imported}`` (with ``deep``: or in
    any of its functions), read from the source.

    ``from a import b`` is an arrow to ``a.b`` when that is a module, else to ``a``; the package
    around a module imported is no arrow of its own (Python has it half-initialised already when
    its ``__init__`` imports its own submodules, the way a package hands names on).
    """
    files = {module_name(path, root): path for package in packages
             for path in (root / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        here = name if is_package else name.rpartition(".")[0]
        tree = ast.parse(path.read_text("utf-8"), str(path))
        targets = set()
        for node in _statements(tree.body, deep):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
                    base = f"{anchor}.{base}" if base else anchor
                for alias in node.names:
                    targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in files
                                else base)
        graph[name] = {target for target in targets if target in files and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One loop through each group of modules that import each other (Tarjan's strongly
    connected components), as ``[a, b, ..., a]``; sorted, so a failure reads the same each run."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # recursive: the graph has a few hundred modules at most
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(_loop(group, graph) for group in groups)


def _loop(group: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest loop inside ``group`` from its first module back to it."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & group):
                if target == start:
                    return paths[node] + [start]
                if target not in paths:
                    paths[target] = paths[node] + [target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no loop in {sorted(group)}")  # a strongly connected group has one


def _circles_message(found: list[list[str]], where: str) -> str:
    return f"modules that import each other {where} (each loop: a -> b -> a): " \
        + "; ".join(" -> ".join(loop) for loop in found)


def test_no_import_circle_at_import_time():
    graph = import_graph(ROOT)
    assert len(graph) > 50 and "grader.pipeline" in graph, sorted(graph)
    found = cycles(graph)
    assert not found, _circles_message(found, "when they are imported")


def test_no_import_circle_counting_the_imports_inside_functions():
    # a function-level import hides a circle from Python, not from a reader: options <->
    # pipeline and similarity <-> reporters were such circles
    found = cycles(import_graph(ROOT, deep=True))
    assert not found, _circles_message(found, "(counting the imports inside functions)")


def test_the_circle_check_names_a_circle(tmp_path):
    package = tmp_path / "grader"
    (package / "sub").mkdir(parents=True)
    sources = {
        "__init__.py": "",
        "a.py": "from grader import b, late\n",
        "b.py": "from grader.sub.c import thing\n",
        "sub/__init__.py": "from .c import thing  # a package handing names on: no circle\n",
        "sub/c.py": "import grader.a\nthing = 1\n",
        "late.py": "def f():\n    from grader import a  # at call time: no arrow\n",
        "typed.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from grader import a\n",
    }
    for name, text in sources.items():
        (package / name).write_text(textwrap.dedent(text))
    graph = import_graph(tmp_path, ("grader",))
    assert graph["grader.late"] == set() and graph["grader.typed"] == set()
    assert graph["grader.sub"] == {"grader.sub.c"}
    assert cycles(graph) == [["grader.a", "grader.b", "grader.sub.c", "grader.a"]]
    (package / "sub" / "c.py").write_text("thing = 1\n")
    assert cycles(import_graph(tmp_path, ("grader",))) == []
    assert cycles(import_graph(tmp_path, ("grader",), deep=True)) == \
        [["grader.a", "grader.late", "grader.a"]]
