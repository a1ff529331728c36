"""Thirty browsers on one server: what one session computed, the next one reads (AppTest, two
sessions in one process as in one Streamlit server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_checkpoint
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


@pytest.fixture(scope="module")
def one_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("classroom")
    make_checkpoint(root / "models" / "tiny-lstm-max", cell="lstm", pooling="max")
    mp = pytest.MonkeyPatch()
    mp.setenv("GATESCOPE_MODELS", str(root / "models"))
    mp.setenv("GATESCOPE_RUNS", str(root / "runs"))
    yield root
    mp.undo()


def _session(review: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.text_area(key="ex_text").input(review)
    at.button(key="ex_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.get("plotly_chart"), "no chart drawn"
    return at


@pytest.mark.slow
def test_a_second_session_asking_the_same_review_computes_nothing_again(one_model, monkeypatch):
    from sentiment.probe import instrument

    calls: list[str] = []
    real = instrument.trace
    monkeypatch.setattr(instrument, "trace", lambda ckpt, text, **kw: calls.append(text) or real(ckpt, text, **kw))
    review = "the acting was good but the plot was awful and i hated it"
    _session(review)
    first = len(calls)
    assert first >= 1
    _session(review)  # another browser, the same review: nothing traced again
    assert len(calls) == first
    _session(review + " !")  # another review is traced
    assert len(calls) > first


@pytest.mark.slow
def test_a_paste_at_the_text_box_limit_says_it_was_cut(one_model):
    from sentiment.data import text as text_mod

    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.text_area(key="ex_text").input(("a fine film " * 10_000)[: text_mod.MAX_PASTE]).run()  # what the browser sends
    assert not at.exception, [e.value for e in at.exception]
    assert any("was cut to its first" in w.value for w in at.warning)


@pytest.mark.slow
def test_a_24_mb_value_is_never_read_whole(one_model, monkeypatch):
    """A client that sends more than the text box allows (no browser cut): the page stays up, and
    nothing reads more than MAX_CHARS of it (the language guess once read all 24 MB)."""
    from sentiment.data import text as text_mod

    seen: list[int] = []
    guess = text_mod.guess_language
    monkeypatch.setattr(text_mod, "guess_language", lambda s: seen.append(len(s)) or guess(s))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.text_area(key="ex_text").input("a fine film " * 2_000_000).run()  # 24 MB
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.text_area(key="ex_text").value) <= text_mod.MAX_PASTE
    assert max(seen, default=0) <= text_mod.MAX_CHARS
