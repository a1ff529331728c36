"""The Train page (AppTest): a bad upload launches nothing; a tiny run started from the page
progresses, finishes and becomes a model in the catalog."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sentiment import catalog, runs

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))
    return tmp_path / "runs"


def page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "tests" / "_train_page.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_page_lists_the_data_folder_datasets(runs_root):
    """The dataset picker offers the datasets found in the data folder."""
    at = page()
    assert {"imdb", "hotel"} <= set(at.selectbox(key="tr_dataset").options)
    assert any("Estimated time" in c.value for c in at.caption)


def test_tiny_run_from_the_page_finishes_and_becomes_a_model(runs_root, hotel_path, monkeypatch):
    """Start: a run appears, progresses and finishes; its model is then listed in the catalog."""
    at = page()
    at.slider(key="tr_epochs").set_value(1)
    at.slider(key="tr_limit").set_value(200)
    at.select_slider(key="tr_hidden").set_value(16)
    at.select_slider(key="tr_maxlen").set_value(64)
    at.selectbox(key="tr_dataset").set_value("hotel")
    at.button(key="tr_launch").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    [run] = runs.list_runs(runs_root)
    deadline = time.time() + 150
    while runs.get(run.id, runs_root).active and time.time() < deadline:
        time.sleep(1)
    run = runs.get(run.id, runs_root)
    assert run.state == "finished", (run.state, run.reason, runs.log_tail(run.id, root=runs_root))
    at.run()
    assert any(run.id in str(o) for o in at.selectbox(key="tr_selected").options)
    assert any("Test accuracy" in s.value for s in at.success)
    assert any(e.source == "run" and e.available for e in catalog.list_models(runs=runs_root))


def test_bad_upload_is_refused_and_launches_nothing(runs_root):
    """An upload whose labels are not binary shows the reason; no run is created."""
    from sentiment import uploads

    with pytest.raises(Exception) as e:
        uploads.save_upload(b"stars,review\n5,great\n1,bad\n3,meh\n", "stars.csv", label_col="stars", text_col="review")
    assert "label" in str(e.value).lower()
    assert runs.list_runs(runs_root) == []
