"""The string tables: one per language, the same keys and params in each, every key the code asks for present."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from sentiment import i18n, spec
from sentiment.i18n import check_tables, params_of, t

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sentiment"


def _trees(root: Path = PACKAGE) -> dict[str, ast.Module]:
    """Every module of the package, parsed: relative path -> tree."""
    return {str(p.relative_to(ROOT)): ast.parse(p.read_text(encoding="utf-8")) for p in sorted(root.rglob("*.py"))}


TREES = _trees()


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


def language_dicts(trees: dict[str, ast.Module]) -> list[str]:
    """Words kept outside the tables: every dict literal keyed by all the languages whose values are
    strings (``{"en": "...", "zh": "..."}``, nested or not), outside sentiment/i18n/. Dicts of reviews
    (example texts in the review's own language: lists, tuples, dicts of them) are data, not words."""
    found = []
    for path, tree in trees.items():
        if Path(path).parts[:2] == ("sentiment", "i18n"):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Dict):
                continue
            by_key = {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)}
            if set(spec.LANGUAGES) <= set(by_key) and all(
                    isinstance(by_key[lang], ast.JoinedStr) or isinstance(getattr(by_key[lang], "value", None), str)
                    for lang in spec.LANGUAGES):
                found.append(f"{path}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def test_no_module_keeps_words_of_its_own():
    """The string tables are the only place with words per language: the whole package is scanned."""
    assert len(TREES) > 100  # the scan reads the package
    assert language_dicts(TREES) == []


def test_the_language_dict_scan_sees_one():
    planted = ast.parse('WORDS = {"title": {"en": "Bag of words", "zh": "词袋"}}\nOK = {"en": ["a review"], "zh": ["评论"]}')
    assert language_dicts({"sentiment/figures/planted.py": planted}) == [
        "sentiment/figures/planted.py:1: {'en': 'Bag of words', 'zh': '词袋'}"]
    assert language_dicts({"sentiment/i18n/planted.py": planted}) == []


def test_the_tables_import_neither_torch_nor_streamlit():
    import subprocess
    import sys
    code = ("import sys; sys.modules['torch'] = None; sys.modules['streamlit'] = None; "
            "import sentiment.i18n as i; print(i.t('page.explore', 'zh'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "探索"


# ---- errors and notes: a code and params, the message from the tables --------------------------------

# English that may stay in a Chinese message: names of formats, files and technical things.
ALLOWED = {"csv", "utf", "gb18030", "gbk", "json", "http", "sha256", "lstm", "gru", "rnn", "excel", "imdb", "aclimdb",
           "config", "card", "vocab", "model", "tokenizer", "neg", "pos", "positive", "negative", "mb"}


def _base_names(cls: ast.ClassDef) -> set[str]:
    return {b.id if isinstance(b, ast.Name) else b.attr for b in cls.bases if isinstance(b, (ast.Name, ast.Attribute))}


def _code_prefix(cls: ast.ClassDef) -> str:
    """A class whose __init__ passes ``f"<prefix>{reason}"`` up (EditRefused: "edit."): that prefix."""
    for node in ast.walk(cls):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__" \
                and node.args and isinstance(node.args[0], ast.JoinedStr):
            head = node.args[0].values[0]
            return head.value if isinstance(head, ast.Constant) else ""
    return ""


def message_classes(trees: dict[str, ast.Module]) -> dict[str, str]:
    """GateScopeError and every class derived from it in the package (read from the source), and Note:
    class name -> the prefix its constructor puts before the code it is given."""
    classes = [n for tree in trees.values() for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    found = {"GateScopeError": "", "Note": ""}
    while more := {c.name: _code_prefix(c) for c in classes if c.name not in found and _base_names(c) & set(found)}:
        found |= more
    return found


def code_patterns(arg: ast.expr, prefix: str = "") -> list[tuple[str, str]] | None:
    """The table keys a code argument names: (its source, a regex; an f-string's {...} part matches a
    word), both branches of ``a if c else b``; None when the argument is no literal (a code passed on,
    checked where the error is made)."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [(ast.unparse(arg), re.escape(prefix + arg.value))]
    if isinstance(arg, ast.JoinedStr):
        return [(ast.unparse(arg), re.escape(prefix) + "".join(
            re.escape(v.value) if isinstance(v, ast.Constant) else r"\w+" for v in arg.values))]
    if isinstance(arg, ast.IfExp):
        a, b = code_patterns(arg.body, prefix), code_patterns(arg.orelse, prefix)
        return None if a is None or b is None else a + b
    return None


def message_calls(trees: dict[str, ast.Module]) -> list[tuple[str, ast.Call, list | None]]:
    """(where, call, its code_patterns) for every error or note the package makes with a code."""
    classes = message_classes(trees)
    calls = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args:
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                if name in classes:
                    calls.append((f"{path}:{node.lineno}", node, code_patterns(node.args[0], classes[name])))
    return calls


def unknown_codes(trees: dict[str, ast.Module], tables: dict[str, dict[str, str]]) -> list[str]:
    """Calls whose literal code is not ``error.<code>`` in every table."""
    bad = []
    for where, _, patterns in message_calls(trees):
        for source, pattern in patterns or []:
            key = re.compile("error." + pattern + "$")
            bad += [f"{where}: {source} ({lang})" for lang, table in tables.items() if not any(key.match(k) for k in table)]
    return bad


def sentences_raised(trees: dict[str, ast.Module]) -> list[str]:
    """Errors made with an English sentence (a string built at run time: str(...), +, %) instead of a code.
    A deliberate plain sentence is ``SomeError.plain(text)``, which this does not count."""
    built = (ast.BinOp, ast.Call)
    return [f"{where}: {ast.unparse(call.args[0])[:60]}" for where, call, patterns in message_calls(trees)
            if patterns is None and isinstance(call.args[0], built)]


@pytest.mark.slow  # over a second on a quiet 2-core CPU (fast-tier durations, 2026-12-07)
def test_every_error_code_the_package_uses_has_a_message_in_both_languages():
    calls = message_calls(TREES)
    assert len({p for _, _, ps in calls for p in ps or []}) > 150  # the scan finds the raise sites, in every layer
    assert unknown_codes(TREES, i18n.TABLES) == []


def test_the_code_scan_sees_a_mistyped_code_an_edit_and_an_f_string():
    planted = ast.parse('raise InputError("data.no_colum")\nraise EditRefused("no_such")\n'
                        'raise DataError(f"data.no_{what}_column")\nraise EditRefused("empty")\n'
                        'raise DataError("data.fields" if a else "data.no_such")\n'
                        'class EditRefused(InputError):\n    def __init__(self, reason):\n'
                        '        super().__init__(f"edit.{reason}")\n')
    trees = {**TREES, "sentiment/planted.py": planted}
    assert unknown_codes(trees, i18n.TABLES) == [
        "sentiment/planted.py:1: 'data.no_colum' (en)", "sentiment/planted.py:1: 'data.no_colum' (zh)",
        "sentiment/planted.py:2: 'no_such' (en)", "sentiment/planted.py:2: 'no_such' (zh)",
        "sentiment/planted.py:5: 'data.no_such' (en)", "sentiment/planted.py:5: 'data.no_such' (zh)"]


def test_no_error_is_made_with_a_sentence_instead_of_a_code():
    """Every error a person may read carries a code (its words in the tables) or says it is plain."""
    assert sentences_raised(TREES) == []


def test_the_sentence_scan_sees_sentences():
    planted = ast.parse('raise DataError("file is empty")\nraise InputError(f"{path}: no such file")\n'
                        'raise CheckpointError("bad " + name)\nraise GateScopeError(str(e))\n'
                        'raise GateScopeError.plain(str(e))\nraise InputError(e.code, **e.params)\n')
    trees = {"sentiment/planted.py": planted, "sentiment/errors.py": TREES["sentiment/errors.py"]}
    assert unknown_codes(trees, i18n.TABLES) == [
        "sentiment/planted.py:1: 'file is empty' (en)", "sentiment/planted.py:1: 'file is empty' (zh)",
        "sentiment/planted.py:2: f'{path}: no such file' (en)", "sentiment/planted.py:2: f'{path}: no such file' (zh)"]
    assert sentences_raised(trees) == ["sentiment/planted.py:3: 'bad ' + name", "sentiment/planted.py:4: str(e)"]


def _english_words(template: str) -> list[str]:
    literal = re.sub(r"\{[^{}]*\}", " ", template)  # the params are the user's or the machine's words
    literal = re.sub(r"[\w.-]+\.(json|txt|safetensors)\b|[\w*.]*[\w*]/[\w/*.]*", " ", literal)  # file names, paths
    return [w for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", literal) if w.lower() not in ALLOWED]


def test_chinese_error_messages_have_no_english_words_outside_their_params():
    zh = {k: v for k, v in i18n.TABLES["zh"].items() if k.startswith("error.")}
    assert len(zh) > 60
    assert {k: _english_words(v) for k, v in zh.items() if _english_words(v)} == {}


def test_the_english_word_check_sees_english():
    assert _english_words("{path}：file is empty") == ["file", "is", "empty"]


def test_an_error_reads_english_and_translates_from_its_code():
    from sentiment.errors import DataError
    err = DataError("data.fields", path="a.csv", line=3, n=4, header_n=2)
    assert str(err) == "a.csv: line 3: 4 fields, but the header has 2"
    assert (err.code, err.params["line"]) == ("data.fields", 3)
    assert t(err, "zh") == "a.csv：第 3 行：有 4 个字段，但表头有 2 个"


def test_an_error_inside_an_error_is_translated_too():
    from sentiment.data.uploads import UploadError
    from sentiment.errors import DataError
    err = UploadError("upload.encoding", cause=DataError("data.not_utf8", path="r.csv"))
    assert str(err) == "r.csv: not UTF-8 text; save it as CSV with the UTF-8 encoding"
    assert t(err, "zh") == "r.csv：不是 UTF-8 文本；请另存为 UTF-8 编码的 CSV"


def test_a_plain_error_shows_its_message_in_every_language():
    import pickle

    from sentiment.errors import GateScopeError, InputError
    err = InputError.plain("RuntimeError: CUDA error: out of memory")
    assert isinstance(err, InputError) and err.code is None and str(err) == "RuntimeError: CUDA error: out of memory"
    assert t(err, "zh") == "RuntimeError: CUDA error: out of memory"
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is InputError and back.code is None and str(back) == str(err)
    assert t(OSError("disk full"), "zh") == "disk full"
    assert GateScopeError.plain("x").params == {}


@pytest.mark.parametrize("code", ["data.no_colum", "GATESCOPE_MAX_RUNS must be a whole number", ""])
def test_an_unknown_code_fails_where_the_error_is_made(code):
    """A mistyped code would reach the Chinese page verbatim: it raises at construction instead."""
    from sentiment.errors import DataError
    with pytest.raises(KeyError, match=r"no message error\..* DataError\.plain"):
        DataError(code, path="a.csv")


def test_another_librarys_error_with_a_numeric_code_is_shown_as_it_is():
    import urllib.error
    err = urllib.error.HTTPError("https://example.org/x", 404, "Not Found", None, None)
    assert t(err, "zh") == str(err)


def test_an_error_survives_pickling_with_its_code():
    import pickle

    from sentiment.errors import CheckpointError
    err = pickle.loads(pickle.dumps(CheckpointError("model.checksum", path="m/model.safetensors")))
    assert err.code == "model.checksum" and str(err).startswith("m/model.safetensors: corrupt")


def test_a_real_error_from_the_core_translates(tmp_path):
    from sentiment.data import readers
    from sentiment.errors import DataError
    bad = tmp_path / "reviews.csv"
    bad.write_text("label,text\n1,good\nmaybe,odd\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        readers.read_csv(bad)
    assert "line 3" in str(info.value) and "maybe" in str(info.value)
    assert "第 3 行" in t(info.value, "zh") and "标签" in t(info.value, "zh")


def test_a_note_reads_english_and_translates():
    from sentiment.i18n import Note
    note = Note("note.cut_tokens", n=400, more=12)
    assert str(note) == "The review was cut to the model's first 400 tokens (12 more not read)."
    assert t(note, "zh") == "评论已截断为模型的前 400 个词元（另有 12 个未读）。"
    with pytest.raises(KeyError):
        Note("note.no_such_note")


def test_no_regular_expression_back_translation_is_left():
    source = (ROOT / "sentiment" / "ui" / "i18n.py").read_text(encoding="utf-8")
    assert "core_message" not in source and "import re" not in source
    assert not [p for p in (ROOT / "sentiment").rglob("*.py") if "core_message" in p.read_text(encoding="utf-8")]


@pytest.mark.slow
def test_a_traces_notes_translate_and_survive_its_json():
    from sentiment import probe
    from sentiment.modeling import checkpoint
    from sentiment.probe.instrument import Trace

    ckpt = checkpoint.load(ROOT / "assets" / "models" / "imdb-lstm-max")
    tr = probe.trace(ckpt, "good " * (ckpt.read_len + 7), prefix=False, occlusion=False)
    assert [n.code for n in tr.notes] == ["note.cut_tokens"] and "7 more not read" in tr.note
    back = Trace.from_json(tr.to_json())
    assert back.notes == tr.notes and t(back.notes[0], "zh") == f"评论已截断为模型的前 {ckpt.read_len} 个词元（另有 7 个未读）。"
