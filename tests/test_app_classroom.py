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


def test_a_second_session_asking_the_same_review_computes_nothing_again(one_model):
    from sentiment.ui import common

    review = "the acting was good but the plot was awful and i hated it"
    _session(review)
    computed = common.TRACES.computed
    _session(review)
    assert common.TRACES.computed == computed
    _session(review + " !")  # another review is traced
    assert common.TRACES.computed > computed
