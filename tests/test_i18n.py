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


# ---- errors and notes: a code and params, the message from the tables --------------------------------

ERROR_CALL = re.compile(r"""\b(?:\w*Error|Note)\(\s*f?(["'])([a-z_]+(?:\.[a-z_{}\[\]0-9]+)+)\1""")
EDIT_CALL = re.compile(r"""\bEditRefused\(\s*(["'])([a-z_]+)\1""")
LAYERS_WITH_CODES = ("data", "modeling", "probe", "figures", "training", "interop")
# English that may stay in a Chinese message: names of formats, files and technical things.
ALLOWED = {"csv", "utf", "gb18030", "gbk", "json", "http", "sha256", "lstm", "gru", "rnn", "excel", "imdb", "aclimdb",
           "config", "card", "vocab", "model", "tokenizer", "neg", "pos", "positive", "negative", "mb"}


def _codes_raised() -> set[str]:
    """Every literal error code in the converted layers (an f-string code's {...} part matches any)."""
    codes = set()
    paths = [p for layer in LAYERS_WITH_CODES for p in (ROOT / "sentiment" / layer).rglob("*.py")]
    for path in paths + [ROOT / "sentiment" / "viewstate.py"]:
        source = path.read_text(encoding="utf-8")
        codes |= {m.group(2) for m in ERROR_CALL.finditer(source)}
        codes |= {f"edit.{m.group(2)}" for m in EDIT_CALL.finditer(source)}
    return codes


def test_every_error_code_raised_has_a_message_in_both_languages():
    codes = _codes_raised()
    assert len(codes) > 60  # the scan finds the raise sites
    en, zh = i18n.TABLES["en"], i18n.TABLES["zh"]
    missing = []
    for code in codes:
        pattern = re.compile("error." + re.sub(r"\\\{.*?\\\}", r"\\w+", re.escape(code)) + "$")
        if not any(pattern.match(k) for k in en) or not any(pattern.match(k) for k in zh):
            missing.append(code)
    assert missing == []


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


def test_an_error_without_a_code_shows_its_message_in_every_language():
    from sentiment.errors import GateScopeError
    err = GateScopeError("GATESCOPE_MAX_RUNS must be a whole number")
    assert err.code is None and str(err) == "GATESCOPE_MAX_RUNS must be a whole number"
    assert t(err, "zh") == "GATESCOPE_MAX_RUNS must be a whole number"
    assert t(OSError("disk full"), "zh") == "disk full"


def test_another_librarys_error_with_a_numeric_code_is_shown_as_it_is():
    import urllib.error
    err = urllib.error.HTTPError("https://example.org/x", 404, "Not Found", None, None)
    assert t(err, "zh") == str(err)


def test_register_still_adds_a_pages_strings_to_both_tables(monkeypatch):
    from sentiment.ui.i18n import register
    for table in i18n.TABLES.values():
        monkeypatch.setitem(table, "test.only", "")  # restored after the test
    register({"test.only": {"en": "Only {n}", "zh": "仅 {n} 个"}})
    assert (t("test.only", "en", n=2), t("test.only", "zh", n=2)) == ("Only 2", "仅 2 个")


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


def test_the_converted_layers_raise_codes_not_sentences():
    """data, modeling, probe, figures, training, interop and viewstate raise with a code."""
    plain = re.compile(r"""\b(?:GateScope|Input|Data|Checkpoint|Upload|Download)Error\(\s*(?:f?["'](?![a-z_]+\.)|(?!f["']|\w+Error\))[^"'\s)])""")
    paths = [p for layer in LAYERS_WITH_CODES for p in (ROOT / "sentiment" / layer).rglob("*.py")]
    found = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in paths + [ROOT / "sentiment" / "viewstate.py"]
             for m in plain.finditer(p.read_text(encoding="utf-8"))]
    assert found == []


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
