"""Domain names spelled once: cells, poolings, directions, gate names, languages and import formats
live in ``sentiment/spec.py``; every other module takes them from there.

- No module of the package holds a literal tuple, list or set that is one of those names (the same
  strings in any order): a module that needs the poolings imports ``spec.POOLINGS``, so adding a
  pooling cannot leave a page, the grid or shared links behind.
- For each pooling of ``spec.POOLINGS``: the Train page offers it, the grid trains it, a shared link
  carries it, and the Explore and Models pages show it with its words (AppTest, in Chinese, on tiny
  models of every pooling).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from sentiment import i18n, spec

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sentiment"


def spelled_names() -> dict[str, frozenset[str]]:
    """spec's name lists (two names or more), each as the set of its strings."""
    names = {"CELLS": spec.CELLS, "GATED_CELLS": spec.GATED_CELLS, "POOLINGS": spec.POOLINGS,
             "WINNER_POOLINGS": spec.WINNER_POOLINGS, "DIRECTIONS": spec.DIRECTIONS, "ALL_GATES": spec.ALL_GATES,
             "LANGUAGES": spec.LANGUAGES, "FRAMEWORKS": tuple(spec.FRAMEWORKS), "IMPORT_FORMATS": tuple(spec.IMPORT_FORMATS),
             "UPLOAD_TYPES": spec.UPLOAD_TYPES}
    names |= {f"GATE_NAMES[{c!r}]": g for c, g in spec.GATE_NAMES.items()}
    names |= {f"SIGMOID_GATES[{c!r}]": g for c, g in spec.SIGMOID_GATES.items()}
    return {k: frozenset(v) for k, v in names.items() if len(set(v)) > 1}


def literal_spellings(trees: dict[str, ast.Module]) -> list[str]:
    """Every literal tuple, list or set of strings, outside spec.py, that equals one of spec's names."""
    names = spelled_names()
    found = []
    for path, tree in trees.items():
        if path == "sentiment/spec.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and node.elts and all(
                    isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
                strings = frozenset(e.value for e in node.elts)
                found += [f"{path}:{node.lineno}: {ast.unparse(node)} is spec.{k}" for k, v in names.items() if v == strings]
    return found


@pytest.mark.slow
def test_no_module_spells_a_domain_name_list_of_its_own():
    trees = {str(p.relative_to(ROOT)): ast.parse(p.read_text(encoding="utf-8")) for p in sorted(PACKAGE.rglob("*.py"))}
    assert len(trees) > 100 and "sentiment/spec.py" in trees  # the scan reads the package
    assert literal_spellings(trees) == []


def test_the_scan_sees_a_list_in_any_order():
    pools, langs = list(reversed(spec.POOLINGS)), tuple(reversed(spec.LANGUAGES))
    planted = ast.parse(f'POOLS = {pools!r}\nif lang in {langs!r}: pass\n'
                        f'ok = {spec.POOLINGS[:-1]!r}\nexts = {{".pt", ".keras"}}\n')
    assert literal_spellings({"sentiment/ui/planted.py": planted}) == [
        f"sentiment/ui/planted.py:1: {pools!r} is spec.POOLINGS", f"sentiment/ui/planted.py:2: {langs!r} is spec.LANGUAGES"]
    assert literal_spellings({"sentiment/spec.py": planted}) == []


def test_the_names_agree_with_each_other():
    assert tuple(c for c in spec.CELLS if spec.SIGMOID_GATES[c]) == spec.GATED_CELLS
    assert set(spec.WINNER_POOLINGS) < set(spec.POOLINGS)
    assert set(spec.ALL_GATES) == {g for c in spec.CELLS for g in spec.GATE_NAMES[c]}
    assert tuple(i18n.LANGUAGES) == tuple(i18n.TABLES) == spec.LANGUAGES  # the switch, the tables, the names
    assert {f.reader for f in spec.IMPORT_FORMATS.values()} == set(spec.FRAMEWORKS)
    assert all(f.upload in (None, ext[1:]) for ext, f in spec.IMPORT_FORMATS.items())


@pytest.mark.parametrize("ext", spec.IMPORT_FORMATS)
def test_each_import_format_is_read_by_its_framework(ext):
    from sentiment.interop.convert import framework_of
    from sentiment.interop.recipe import CHOICES

    fmt = spec.IMPORT_FORMATS[ext]
    assert framework_of("model" + ext.upper(), b"") == fmt.reader and fmt.reader in CHOICES["framework"]


# ---- every pooling, everywhere ----------------------------------------------------------------------------


@pytest.mark.parametrize("pooling", spec.POOLINGS)
def test_the_grid_the_options_and_shared_links_carry_each_pooling(pooling):
    from sentiment import viewstate
    from sentiment.training import grid
    from sentiment.training.config import parser

    models = grid.grid()
    assert all(f"{ds}-{cell}-{pooling}" in models for ds in grid.DATASETS for cell in spec.GATED_CELLS)
    assert parser().parse_args(["--data", "d.csv", "--out", "m", "--pooling", pooling]).pooling == pooling  # sentiment.train
    state, problems = viewstate.parse({"model": "imdb-lstm-max", "pooling": pooling, "model_b": "x", "pooling_b": pooling})
    assert problems == [] and state.pooling == state.pooling_b == pooling
    assert viewstate.encode({"pooling": pooling, "pooling_b": pooling}) == {"pooling": pooling, "pooling_b": pooling}
    for lang in spec.LANGUAGES:  # its words: the picker's label, the Explore tab's help, the figure's title
        for key in (f"pool.{pooling}", f"pooling.help.{pooling}", f"fig.pool_{pooling}"):
            assert key in i18n.TABLES[lang], (lang, key)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The Explore, Train and Models pages in Chinese, over tiny models of every gated cell and pooling."""
    from conftest import make_checkpoint
    from streamlit.testing.v1 import AppTest

    root = tmp_path_factory.mktemp("poolings")
    for cell in spec.GATED_CELLS:
        for pooling in spec.POOLINGS:
            make_checkpoint(root / "models" / f"tiny-{cell}-{pooling}", cell=cell, pooling=pooling)
    (root / "runs").mkdir()
    mp = pytest.MonkeyPatch()
    mp.setenv("GATESCOPE_MODELS", str(root / "models"))
    mp.setenv("GATESCOPE_RUNS", str(root / "runs"))
    mp.setenv("GATESCOPE_ESTIMATE_PROBE", "0")  # the Train page's estimate from its reference speed
    shown = {}
    for page in ("explore", "train", "models"):
        at = AppTest.from_file(str(ROOT / "tests" / f"_{page}_page.py"), default_timeout=60)
        at.session_state["lang"] = "zh"
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        shown[page] = at
    yield shown
    mp.undo()


@pytest.mark.parametrize("pooling", spec.POOLINGS)
@pytest.mark.slow
def test_every_page_offers_each_pooling(pages, pooling):
    label = i18n.t(f"pool.{pooling}", "zh")
    assert label in pages["explore"].segmented_control(key="ex_pooling").options  # the pickers (Explore, Compare, ...)
    assert label in pages["train"].segmented_control(key="tr_pooling").options
    models = pages["models"]
    grids = [json.loads(c.proto.spec) for c in models.get("plotly_chart")]
    grids = [g for g in grids if g["data"] and g["data"][0].get("type") == "heatmap" and len(g["data"][0]["y"]) == 2]
    assert grids and all(label in g["data"][0]["x"] for g in grids)  # the accuracy grid: LSTM and GRU rows
    table = models.dataframe[0].value
    assert label in set(table[table.columns[3]])  # the models table's pooling column
