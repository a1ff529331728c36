"""One dependency list: pyproject.toml.

- ``[project] dependencies`` names every library the package imports (at any depth), but the
  frameworks of models a user hands over in memory (``sentiment.interop.live`` imports theirs only
  then); ``[project.optional-dependencies] dev`` names everything else the tests and benchmarks import.
- requirements.txt and requirements-dev.txt (kept for hosts that read only those) say the same.
- A test file imports an optional framework (keras, paddle, hypothesis, ...) only through
  ``pytest.importorskip`` with a reason, so an environment without it skips that file instead of
  stopping the collection; in CI (``$CI`` set) every one of them must be installed.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
# The distribution of an import name, where the two differ.
DISTRIBUTION = {"paddle": "paddlepaddle", "tf_keras": "tf-keras", "tensorflow": "tensorflow-cpu", "yaml": "pyyaml",
                "PIL": "pillow"}
# Frameworks whose models a user may hand over in memory: imported only when one is (never installed by GateScope).
USERS_OWN = {"keras", "paddle", "tensorflow", "tf_keras"}
LOCAL = {"sentiment", "tests", "bench", "conftest"}


def normal(requirement: str) -> str:
    """A requirement without spaces or comment, its name normalized (PEP 503): "tf_keras == 2.21" -> "tf-keras==2.21"."""
    text = re.sub(r"\s+", "", requirement.split("#")[0])
    found = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", text)
    return re.sub(r"[-_.]+", "-", found.group()).lower() + text[found.end():]


def name(requirement: str) -> str:
    """A requirement's distribution name, normalized: "streamlit>=1.67,<2" -> "streamlit"."""
    return re.match(r"[a-z0-9-]+", normal(requirement)).group()


def distribution(module: str) -> str:
    return name(DISTRIBUTION.get(module, module))


@functools.cache
def parsed(root: Path) -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text("utf-8")) for path in sorted(root.rglob("*.py"))}


@functools.cache
def imported(root: Path) -> dict[str, set[str]]:
    """Third-party import names under ``root`` -> the files importing them (importorskip calls count)."""
    found: dict[str, set[str]] = {}
    for path, tree in parsed(root).items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            elif _importorskip(node):
                names = [node.args[0].value]
            else:
                continue
            for n in names:
                top = n.split(".")[0]
                if top and top not in sys.stdlib_module_names and top not in LOCAL and not top.startswith(("test_", "_")):
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _importorskip(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "importorskip"
            and bool(node.args) and isinstance(node.args[0], ast.Constant))


def requirements_file(path: Path) -> set[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text("utf-8").splitlines())
    return {normal(line) for line in lines if line}


RUNTIME = {name(r) for r in PROJECT["dependencies"]}
DEV = {name(r) for r in PROJECT["optional-dependencies"]["dev"]}
# The other extras (ray): imported by the package only inside the functions that need them (the app runs without).
EXTRAS = {name(r) for k, reqs in PROJECT["optional-dependencies"].items() if k != "dev" for r in reqs}


@pytest.mark.slow
def test_the_package_imports_only_its_dependencies():
    used = {m: files for m, files in imported(ROOT / "sentiment").items() if m not in USERS_OWN}
    assert {"torch", "numpy", "h5py", "jieba", "streamlit"} <= set(used)  # the scan reads every depth
    assert {m: sorted(f) for m, f in used.items() if distribution(m) not in RUNTIME | EXTRAS} == {}
    assert EXTRAS <= DEV  # the tests run with every extra


@pytest.mark.slow  # over a second on a quiet 2-core CPU (fast-tier durations, 2026-12-07)
def test_an_extra_is_imported_only_inside_functions():
    """``import ray`` at a module's top would make the whole app need it."""
    top = {str(path.relative_to(ROOT)): [n for n in _top_imports(tree) if n not in sys.stdlib_module_names
                                         and n not in LOCAL and not n.startswith("_") and distribution(n) in EXTRAS]
           for path, tree in parsed(ROOT / "sentiment").items()}
    assert {f: names for f, names in top.items() if names} == {}


def _top_imports(tree: ast.Module) -> list[str]:
    names = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.append(node.module.split(".")[0])
    return names


@pytest.mark.slow
def test_the_dev_extra_has_everything_the_tests_import():
    used = {**imported(ROOT / "tests"), **imported(ROOT / "bench")}
    assert {"keras", "paddle", "hypothesis", "playwright", "tf_keras"} <= set(used)  # importorskip counts
    assert {m: sorted(f) for m, f in used.items() if distribution(m) not in RUNTIME | DEV} == {}
    assert "ruff" in DEV  # the lint CI runs


def test_the_requirements_files_say_what_pyproject_says():
    assert requirements_file(ROOT / "requirements.txt") == {normal(r) for r in PROJECT["dependencies"]}
    assert requirements_file(ROOT / "requirements-dev.txt") == {normal(r) for r in PROJECT["optional-dependencies"]["dev"]}


def optional_modules() -> set[str]:
    """Import names of the dev extra's libraries the tests import (pytest itself is no option)."""
    return {m for m in imported(ROOT / "tests") if distribution(m) in DEV and m != "pytest"}


def unguarded_imports(tree: ast.Module, optional: set[str]) -> list[str]:
    """Module-level imports of an optional library not preceded by ``pytest.importorskip`` of it."""
    guarded, bad = set(), []
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.Expr)) and _importorskip(node.value):
            guarded.add(node.value.args[0].value.split(".")[0])
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        bad += [f"line {node.lineno}: {n}" for n in names if n.split(".")[0] in optional - guarded]
    return bad


@pytest.mark.slow  # over a second on a quiet 2-core CPU (fast-tier durations, 2026-12-07)
def test_optional_frameworks_are_imported_through_importorskip():
    optional = optional_modules()
    assert {"keras", "paddle", "hypothesis"} <= optional
    found = {str(p.relative_to(ROOT)): unguarded_imports(tree, optional) for p, tree in parsed(ROOT / "tests").items()}
    assert {f: bad for f, bad in found.items() if bad} == {}


def test_the_import_guard_sees_an_unguarded_import():
    tree = ast.parse('import keras\nimport pytest\npaddle = pytest.importorskip("paddle", reason="x")\n'
                     'import paddle.nn\nfrom hypothesis import given\n')
    assert unguarded_imports(tree, {"keras", "paddle", "hypothesis"}) == ["line 1: keras", "line 5: hypothesis"]


def test_every_optional_framework_is_installed_in_ci():
    """CI installs .[dev], so nothing the tests could skip is missing there."""
    missing = sorted(m for m in optional_modules() if importlib.util.find_spec(m) is None)
    if missing and not os.environ.get("CI"):
        pytest.skip(f"not installed here (their tests skip): {', '.join(missing)}; pip install -e .[dev]")
    assert missing == []
