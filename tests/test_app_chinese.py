"""Every page in Chinese (AppTest): no English word in what a person sees, charts included.

Each page is opened with the interface in 中文 and walked: markdown, captions, titles, alerts, widget
labels, help, options, buttons, tabs, table headers, and every chart's title, axis titles, legend names,
annotations, colour-bar titles and hover templates (tests/_visible_text.py). A word is allowed when it is a
model name, a gate symbol (i_t, c_{t−1}, W_hi ...), a technical name (LSTM, GRU, IMDB, ChnSentiCorp, CSV,
P(...) ...), a file name or path, or part of the user's own text (the review, the example reviews).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _visible_text import english_on, english_words
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
NO_RUNS = ROOT / "tests" / "no-runs-here"
MODELS = sorted(p.name for p in (ROOT / "assets" / "models").iterdir() if p.is_dir())
ZH_REVIEW = "房间很干净，服务也不错，但是早餐太差了。"


def _example_words() -> set[str]:
    words = set()
    for f in (ROOT / "assets" / "examples").glob("*.json"):
        words |= set(re.findall(r"[A-Za-z][A-Za-z']*", json.dumps(json.loads(f.read_text(encoding="utf-8")), ensure_ascii=False)))
    return words


USER_WORDS = _example_words()


@pytest.fixture(autouse=True)
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("GATESCOPE_RUNS", str(NO_RUNS))
    monkeypatch.setenv("GATESCOPE_CACHE", str(tmp_path / "cache"))


def open_zh(page: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "tests" / f"_{page}_page.py"), default_timeout=120)
    at.session_state["lang"] = "zh"
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def assert_chinese(at: AppTest, *user_text: str) -> None:
    words = set(USER_WORDS)
    for text in user_text:
        words |= set(re.findall(r"[A-Za-z][A-Za-z']*", text))
    english = english_on(at, words, MODELS)
    assert english == [], "\n".join(f"{w}: {ws} in {s!r}" for w, s, ws in english)


# ---- the check itself ------------------------------------------------------------------------------


def test_the_check_finds_english_in_a_chinese_sentence():
    assert english_words("第 1 层 · forward", set()) == ["forward"]
    assert english_words("单元编号", set()) == []


def test_the_check_allows_symbols_names_files_and_the_users_words():
    text = "i_t · 输入门 · c_{t−1} · LSTM · P(正面) · imdb-lstm-max · reviews.csv · /tmp/x · “very good”"
    assert english_words(text, {"wonderful"}, ["imdb-lstm-max"]) == []
    assert english_words("wonderful 电影", {"wonderful"}) == []


# ---- the pages -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_explore_in_chinese_with_the_default_review():
    at = open_zh("explore")
    review = at.text_area[0].value
    assert at.get("plotly_chart")
    assert_chinese(at, review)


EXPLORE_TABS = ("tab.gates", "tab.pooling", "tab.reading", "tab.saturation", "tab.updates", "tab.downloads", "tab.edit")


@pytest.mark.slow
def test_explore_in_chinese_with_a_chinese_review_and_an_edit():
    """Every tab of Explore opened in turn (a tab is drawn when open), the last one with a built-in edit applied."""
    from sentiment.i18n import t

    at = open_zh("explore")
    at.text_area[0].set_value(ZH_REVIEW).run()
    drawn = 0
    for tab in EXPLORE_TABS:
        at.session_state["ex_tab"] = t(tab, "zh")
        at.run()
        if tab == "tab.edit":
            edits = [s for s in at.selectbox if s.key and s.key.endswith("_edit_pick")]
            assert edits and edits[0].options
            edits[0].set_value(edits[0].options[0]).run()
        assert not at.exception, [e.value for e in at.exception]
        drawn += len(at.get("plotly_chart"))
        assert_chinese(at, ZH_REVIEW, *(a.value for a in at.text_area))
    assert drawn >= 7


@pytest.mark.slow  # over a second on a quiet 2-core CPU (fast-tier durations, 2026-12-07)
def test_compare_in_chinese():
    at = open_zh("compare")
    assert at.get("plotly_chart")
    assert_chinese(at, *(a.value for a in at.text_area))


@pytest.mark.slow
def test_learn_in_chinese():
    at = open_zh("learn")
    assert_chinese(at, *(a.value for a in at.text_area))


def test_models_in_chinese():
    at = open_zh("models")
    assert at.get("plotly_chart")
    assert_chinese(at)


@pytest.mark.slow
def test_train_in_chinese():
    at = open_zh("train")
    assert_chinese(at)


@pytest.mark.slow
def test_patterns_in_chinese_after_a_small_trace():
    at = open_zh("patterns")
    opened = [o for box in at.selectbox for o in box.options if re.match(r"#\d+ · ", o)]  # the quick sample, no click
    opened += [o for box in at.select_slider for o in box.options if re.match(r"\d+: ", o)]
    assert opened and at.get("plotly_chart")
    assert_chinese(at, *opened)
    at.number_input(key="pt_n").set_value(40).run()
    at.button(key="pt_trace").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.get("plotly_chart")
    sample = [o for box in at.selectbox for o in box.options if re.match(r"#\d+ · ", o)]  # the dataset's reviews
    sample += [o for box in at.select_slider for o in box.options if re.match(r"\d+: ", o)]  # one review's tokens
    assert sample
    assert_chinese(at, *sample)


def test_the_frame_in_chinese():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    switch = at.radio(key="lang")
    assert switch.label == "语言 / Language" and switch.options == ["English", "中文"]  # bilingual on purpose: the way back
    assert_chinese(at, "Language English", *(a.value for a in at.text_area))


def test_the_frame_in_presenter_mode_in_chinese():
    from sentiment.ui import present

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["lang"] = "zh"
    at.session_state[present.PRESENT_KEY] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.button(key="present_exit")
    assert_chinese(at, "Language English", *(a.value for a in at.text_area))


@pytest.mark.slow
def test_a_bad_upload_on_train_is_explained_in_chinese():
    """The core's error (a code and params) reaches the page in Chinese: file name and labels as params."""
    at = open_zh("train")
    at.radio(key="tr_source").set_value("upload").run()
    at.file_uploader(key="tr_upload").upload("stars.csv", b"stars,review\n5,great\n1,bad\n3,meh\n", "text/csv").run()
    assert not at.exception
    assert any("stars.csv" in e.value and "标签" in e.value for e in at.error), [e.value for e in at.error]
    assert_chinese(at, "great bad meh stars review")


@pytest.mark.slow
def test_a_finished_run_on_train_in_chinese(tmp_path, monkeypatch):
    """A tiny run from an upload, followed to the end in Chinese: run table, progress, curves, result."""
    import time

    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))
    rows = "".join(f"{'pos' if i % 2 else 'neg'},{'good fine great' if i % 2 else 'bad awful poor'} film {i}\n" for i in range(120))
    at = open_zh("train")
    at.radio(key="tr_source").set_value("upload").run()
    at.file_uploader(key="tr_upload").upload("tiny.csv", ("sentiment,review\n" + rows).encode(), "text/csv").run()
    at.text_input(key="tr_name").set_value("tiny-run")
    at.slider(key="tr_epochs").set_value(1)
    at.slider(key="tr_limit").set_value(100)
    at.button(key="tr_launch").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    from sentiment.training import runs

    deadline = time.time() + 180
    while time.time() < deadline and runs.list_runs(tmp_path / "runs")[0].state not in ("finished", "failed"):
        time.sleep(1)
    at.run()
    assert runs.list_runs(tmp_path / "runs")[0].state == "finished"
    assert at.get("plotly_chart") and at.dataframe
    assert_chinese(at, "tiny-run sentiment review good fine great bad awful poor film", *(o for o in at.selectbox(key="tr_selected").options))


@pytest.mark.slow  # over a second on a quiet 2-core CPU (fast-tier durations, 2026-12-07)
@pytest.mark.parametrize("cell,pooling", [("gru", "attention"), ("rnn", "max"), ("lstm", "last"), ("gru", "mean")])
def test_explore_in_chinese_for_each_kind_of_model(cell, pooling):
    at = open_zh("explore", ex_cell=cell, ex_pooling=pooling)
    assert at.get("plotly_chart") and any(f"-{cell}-{pooling} · " in c.value for c in at.caption)
    assert_chinese(at, at.text_area[0].value)


@pytest.mark.parametrize("dataset,cell", [("hotel", "gru"), ("imdb", "rnn")])
@pytest.mark.slow
def test_learn_in_chinese_for_other_cells(dataset, cell):
    at = open_zh("learn", le_dataset=(dataset, "zh" if dataset == "hotel" else "en"), le_cell=cell, le_follow=False)
    assert any(cell.upper() in c.value for c in at.caption), [c.value for c in at.caption]
    assert_chinese(at, *(a.value for a in at.text_area))
