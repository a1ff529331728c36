"""The string tables: one per language, the same keys and params in each, every key the code asks for present."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sentiment import i18n
from sentiment.i18n import check_tables, params_of, t

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_tables_have_the_same_keys_and_params():
    assert check_tables() == []


def test_a_key_missing_from_one_language_is_reported():
    tables = {"en": {"a": "x {n}", "b": "y"}, "zh": {"a": "甲 {n}"}}
    assert check_tables(tables) == ["zh: missing b"]


def test_a_param_spelled_differently_is_reported():
    tables = {"en": {"a": "{n:,} reviews"}, "zh": {"a": "{count} 条评论"}}
    assert check_tables(tables) == ["zh: a has params ['count'], en has ['n']"]


def test_params_of_reads_names_with_format_specs():
    assert params_of("{n:,} of {total:.1%} at {path!r}") == {"n", "total", "path"}


def test_t_formats_in_the_language_asked_for():
    assert t("card.accuracy_only", "en", acc=0.875) == "test accuracy 87.5%"
    assert t("card.accuracy_only", "zh", acc=0.875) == "测试准确率 87.5%"


def test_an_unknown_key_shows_itself_and_a_missing_param_leaves_the_template():
    assert t("no.such.key", "zh") == "[no.such.key]"
    assert t("card.accuracy_only", "en", wrong=1) == "test accuracy {acc:.1%}"


def test_an_unknown_language_falls_back_to_english():
    assert t("page.explore", "fr") == "Explore"


def _keys_used_in_code() -> set[tuple[str, str]]:
    """(file, key) for every literal key passed to t(...) / tr(...) in sentiment/."""
    used = set()
    call = re.compile(r"""(?<![\w.])(?:t|say|tables\.t)\(\s*(["'])([a-z][\w.]*\w)\1""")
    for path in (ROOT / "sentiment").rglob("*.py"):
        for m in call.finditer(path.read_text(encoding="utf-8")):
            used.add((str(path.relative_to(ROOT)), m.group(2)))
    return used


def test_every_literal_key_the_code_uses_is_in_the_tables():
    used = _keys_used_in_code()
    assert len(used) > 300  # the scan finds the calls
    missing = sorted(f"{f}: {k}" for f, k in used if k not in i18n.TABLES["en"])
    assert missing == []


@pytest.mark.parametrize("module", ["style", "diffs", "gates", "reading", "patterns", "learn", "models", "marks"])
def test_the_figures_keep_no_words_of_their_own(module):
    source = (ROOT / "sentiment" / "figures" / f"{module}.py").read_text(encoding="utf-8")
    assert "_TEXT" not in source and 'lang != "zh"' not in source and "lang == 'zh'" not in source


def test_the_tables_import_neither_torch_nor_streamlit():
    import subprocess
    import sys
    code = ("import sys; sys.modules['torch'] = None; sys.modules['streamlit'] = None; "
            "import sentiment.i18n as i; print(i.t('page.explore', 'zh'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "探索"
