"""The package's layers, read from its source (docs/ARCHITECTURE.md):

- no module imports a module of a higher layer (imports inside functions count too);
- no cycle between the subpackages;
- ``sentiment.ui`` is the only importer of streamlit;
- the torch-free modules import with torch refused (a subprocess whose import system refuses torch).

The layers are ``LAYERS`` below, and the same levels as the table of docs/ARCHITECTURE.md (a test reads
it); the command-line shims ``sentiment/<tool>.py`` may import anything.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sentiment"
DOC = PACKAGE.parent / "docs" / "ARCHITECTURE.md"

LAYERS = {  # module or subpackage -> layer (a module belongs to its longest prefix here)
    "sentiment.spec": 0,
    "sentiment.errors": 0,
    "sentiment.i18n": 0,  # the string tables (errors carry codes the tables translate)
    "sentiment.jsonio": 0,
    "sentiment.data": 1,
    "sentiment.modeling": 2,
    "sentiment.probe": 3,
    "sentiment.figures": 4,
    "sentiment.training": 5,
    "sentiment.interop": 5,  # models from other frameworks, converted into checkpoints
    "sentiment.serving": 6,  # the shared server's thread policy, queue and trace cache
    "sentiment.viewstate": 6,  # a view as URL parameters: over the catalog's entries, under the pages
    "sentiment.ui": 7,
}
CLI = 8  # sentiment/<tool>.py: python -m sentiment.predict | train | ...

TORCH_FREE = ["sentiment.spec", "sentiment.errors", "sentiment.i18n", "sentiment.jsonio", "sentiment.viewstate", "sentiment.data.readers",
              "sentiment.data.text", "sentiment.training.registry"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(source: str, package: str) -> set[str]:
    """Every dotted name a module's source imports, at any depth (functions, TYPE_CHECKING blocks):
    ``from a.b import c`` gives a.b and a.b.c; relative imports resolved against ``package``."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            names |= {base} | {f"{base}.{a.name}" for a in node.names}
    return names


def imported_names(path: Path) -> set[str]:
    me = module_name(path)
    return imports_of(path.read_text("utf-8"), me if path.name == "__init__.py" else me.rpartition(".")[0])


def own_modules(path: Path) -> set[str]:
    """The GateScope modules a module imports (a name resolved to the longest module that exists;
    the bare package ``sentiment``, which every import loads, left out)."""
    found = set()
    for name in imported_names(path):
        parts = name.split(".")
        while parts and ".".join(parts) not in MODULES:
            parts.pop()
        if len(parts) > 1 and ".".join(parts) != module_name(path):
            found.add(".".join(parts))
    return found


def layer(module: str) -> int:
    keys = [k for k in LAYERS if module == k or module.startswith(k + ".")]
    return LAYERS[max(keys, key=len)] if keys else CLI


def subpackage(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_every_module_has_a_layer():
    """Only the command-line shims sit outside the named layers; each shim is a module of the top folder."""
    shims = [m for m in MODULES if layer(m) == CLI and m != "sentiment"]
    assert shims and all(m.count(".") == 1 for m in shims), shims


def test_no_module_imports_a_higher_layer():
    upward = sorted(f"{m} (layer {layer(m)}) imports {o} (layer {layer(o)})"
                    for m, p in MODULES.items() for o in own_modules(p) if layer(o) > layer(m))
    assert upward == []


def test_no_cycle_between_subpackages():
    edges = {}
    for m, p in MODULES.items():
        for o in own_modules(p):
            if subpackage(o) != subpackage(m):
                edges.setdefault(subpackage(m), set()).add(subpackage(o))

    def reaches(a: str, b: str, seen: set[str]) -> bool:
        return a == b or any(reaches(n, b, seen | {a}) for n in edges.get(a, ()) if n not in seen)

    cycles = sorted(f"{a} <-> {b}" for a, outs in edges.items() for b in outs if reaches(b, a, set()))
    assert cycles == []


def test_only_the_pages_import_streamlit():
    importers = sorted(m for m, p in MODULES.items()
                       if any(n.split(".")[0] == "streamlit" for n in imported_names(p)))
    assert importers and all(m == "sentiment.ui" or m.startswith("sentiment.ui.") for m in importers), importers


def doc_layers(text: str) -> dict[str, int]:
    """The layer table of docs/ARCHITECTURE.md: each `x.py` / `x/` of a row -> the row's level (the
    shims' row: sentiment.<tool>)."""
    found = {}
    for line in text.splitlines():
        row = re.match(r"\|\s*(\d+)\s*\|([^|]+)\|", line)
        for name in re.findall(r"`([^`]+)`", row.group(2)) if row else []:
            found["sentiment." + name.removeprefix("sentiment/").removesuffix("/").removesuffix(".py")] = int(row.group(1))
    return found


def test_the_architecture_doc_has_the_same_layers():
    """docs/ARCHITECTURE.md's table and LAYERS name the same modules at the same levels."""
    doc = doc_layers(DOC.read_text("utf-8"))
    assert doc.pop("sentiment.<tool>", None) == CLI
    assert doc == LAYERS


def test_the_doc_reader_reads_a_row():
    assert doc_layers("| level | layer |\n|---|---|\n| 5 | `training/`, `x.py` | owns |\n| 8 | `sentiment/<tool>.py` |") == {
        "sentiment.training": 5, "sentiment.x": 5, "sentiment.<tool>": 8}


def test_the_checks_see_imports_inside_functions_and_relative_ones():
    source = "def f():\n    from sentiment.training.evaluate import split_for\n    from .. import figures\n"
    names = imports_of(source, "sentiment.probe")
    assert {"sentiment.training.evaluate.split_for", "sentiment.figures"} <= names


BLOCK_TORCH = """
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is refused here: " + name)
sys.meta_path.insert(0, Refuse())
import importlib
importlib.import_module(sys.argv[1])
assert not any(m == "torch" or m.startswith("torch.") for m in sys.modules)
"""


@pytest.mark.parametrize("module", TORCH_FREE)
def test_torch_free_modules_import_without_torch(module):
    if module not in MODULES:
        pytest.skip(f"{module} does not exist (yet)")
    r = subprocess.run([sys.executable, "-c", BLOCK_TORCH, module], capture_output=True, text=True, timeout=120,
                       cwd=PACKAGE.parent)
    assert r.returncode == 0, r.stderr[-2000:]


def test_the_torch_block_refuses_torch():
    """The hook itself works: a module that imports torch fails under it."""
    r = subprocess.run([sys.executable, "-c", BLOCK_TORCH, "sentiment.data.batching"], capture_output=True, text=True,
                       timeout=120, cwd=PACKAGE.parent)
    assert r.returncode != 0 and "torch is refused here" in r.stderr


def test_pyproject_lists_every_package():
    """pyproject.toml lists the packages by hand (for sentiment.assets): every folder with an
    __init__.py is there, and sentiment.assets maps to assets/."""
    import tomllib

    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    on_disk = {module_name(p.parent / "__init__.py") for p in PACKAGE.rglob("__init__.py")}
    assert set(project["packages"]) == on_disk | {"sentiment.assets"}
    assert project["package-dir"] == {"sentiment.assets": "assets"}
