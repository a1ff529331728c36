"""The Train page (AppTest): the form offers the data folder's datasets; a bad upload shows why and
launches nothing; a tiny run started from the page on an uploaded CSV shows up, progresses, finishes,
becomes a model (Models page, Explore's picker); a run can be cancelled from the page."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sentiment.data import text as text_mod
from sentiment.modeling import catalog
from sentiment.training import runs

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("GATESCOPE_ESTIMATE_PROBE", "0")  # the reference speed (the probe: test_train_estimate.py)
    return tmp_path / "runs"


def page(script: str = "_train_page.py") -> AppTest:
    at = AppTest.from_file(str(ROOT / "tests" / script), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def tiny_csv(n: int = 120) -> bytes:
    """An easy English CSV with a header whose columns are not called label/text."""
    rows = "".join(f"{'pos' if i % 2 else 'neg'},{'good fine great' if i % 2 else 'bad awful poor'} film {i}\n" for i in range(n))
    return ("sentiment,review\n" + rows).encode()


def small_form(at: AppTest) -> None:
    at.slider(key="tr_epochs").set_value(1)
    at.slider(key="tr_limit").set_value(100)
    at.select_slider(key="tr_hidden").set_value(16)
    at.select_slider(key="tr_maxlen").set_value(64)


def test_page_lists_the_data_folder_datasets(runs_root):
    """The dataset picker offers the datasets found in the data folder; an estimate is shown; no runs yet."""
    at = page()
    assert {"imdb", "hotel"} <= set(at.selectbox(key="tr_dataset").options)
    assert any("Estimated time" in c.value for c in at.caption)
    assert any("No runs yet" in c.value for c in at.caption)
    assert at.slider(key="tr_epochs").max == runs.RunLimits.browser().max_epochs


@pytest.mark.slow
def test_bad_upload_shows_the_reason_and_launches_nothing(runs_root):
    """Star ratings are not binary labels: the message says so, Start is disabled, no run is made."""
    at = page()
    at.radio(key="tr_source").set_value("upload").run()
    at.file_uploader(key="tr_upload").upload("stars.csv", b"stars,review\n5,great\n1,bad\n3,meh\n", "text/csv").run()
    assert not at.exception
    assert any("cannot be used" in e.value and "binary" in e.value for e in at.error), [e.value for e in at.error]
    assert at.button(key="tr_launch").disabled  # AppTest, like a browser, cannot click it
    assert runs.list_runs(runs_root) == [] and not (runs_root / "uploads").exists()  # nothing stored either


@pytest.mark.slow
def test_bad_run_name_is_refused(runs_root):
    at = page()
    at.text_input(key="tr_name").set_value("../../etc").run()
    assert any("run name" in e.value for e in at.error)
    assert at.button(key="tr_launch").disabled


@pytest.mark.slow  # training subprocesses
def test_tiny_run_from_an_upload_finishes_and_becomes_a_model(runs_root, monkeypatch):
    """Upload a CSV, pick its columns, start: the run appears, progresses and finishes (polled with
    at.run()); its test accuracy is shown, the Models page lists its model, and "Open in Explore"
    selects it in the Explore page's picker."""
    at = page()
    at.radio(key="tr_source").set_value("upload").run()
    at.file_uploader(key="tr_upload").upload("tiny.csv", tiny_csv(), "text/csv").run()
    assert at.selectbox(key="tr_label_col").value == "sentiment" and at.selectbox(key="tr_text_col").value == "review"
    assert any("120 reviews (60 positive, 60 negative" in s.value for s in at.success)
    at.text_input(key="tr_name").set_value("tiny-run")
    small_form(at)
    at.button(key="tr_launch").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    [run] = runs.list_runs(runs_root)
    assert run.config["name"] == "tiny-run" and at.selectbox(key="tr_selected").value == run.id
    seen, deadline = [], time.time() + 120
    while time.time() < deadline:
        at.run()
        seen.append(at.get("progress")[0].proto.text)
        if seen[-1].startswith("finished"):
            break
        time.sleep(1)
    assert seen[-1].startswith("finished"), (seen, runs.log_tail(run.id, root=runs_root))
    assert any("Test accuracy" in s.value for s in at.success)
    # no state in the run picker's label: a browser keeps showing the label it first got ("queued")
    assert at.selectbox(key="tr_selected").options == [f"tiny-run · {run.id}"]
    table = at.dataframe[-1].value
    assert list(table["name"]) == ["tiny-run"] and list(table["state"]) == ["finished"]
    curves = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert {d["name"] for d in curves["data"]} >= {"train loss", "train accuracy"}

    models = page("_models_page.py")  # GATESCOPE_RUNS is this test's runs root
    names = list(models.dataframe[0].value["model"])
    assert any(run.id in n for n in names)
    assert any(e.source == "run" and e.available for e in catalog.list_models(runs=runs_root))

    at.button(key="tr_open").click().run()
    assert not at.exception
    assert at.session_state["ex_model"] == f"run:{run.id}"
    assert dict(at.query_params) == {"model": f"run:{run.id}", "pooling": "max"}  # Explore's link names the model
    explore = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k in ("ex_dataset", "ex_cell", "ex_pooling", "ex_model"):
        explore.session_state[k] = at.session_state[k]
    explore.run()
    assert not explore.exception
    assert any(c.value.startswith(f"tiny-run ({run.id})") for c in explore.caption), [c.value for c in explore.caption]


@pytest.mark.slow  # training subprocesses
def test_cancel_from_the_page(runs_root):
    """A run started on hotel can be cancelled with the page's button; it is then listed as cancelled."""
    at = page()
    at.selectbox(key="tr_dataset").set_value("hotel")
    at.slider(key="tr_limit").set_value(5000)
    at.button(key="tr_launch").click().run()
    assert not at.error, [e.value for e in at.error]
    [run] = runs.list_runs(runs_root)
    at.button(key="tr_cancel").click().run()
    assert not at.exception
    assert runs.get(run.id, runs_root).state == "cancelled"
    assert list(at.dataframe[-1].value["state"]) == ["cancelled"]
    assert all(b.key != "tr_cancel" for b in at.button)  # nothing left to cancel


def _open_in_explore_script(root: str, model: str, review: str) -> None:
    """AppTest script: a session whose Explore review is `review` opens the shipped `model` as the Train
    page's "Open in Explore" does (train.select_in_explore), then draws Explore."""
    import streamlit as st

    from sentiment.modeling import catalog
    from sentiment.ui import explore, train

    if "opened" not in st.session_state:
        st.session_state["ex_text"] = review  # typed on Explore before the run finished
        train.select_in_explore(catalog.describe(catalog.models_root() / model, "shipped", key=f"shipped:{model}"))
        st.session_state["opened"] = True
    explore.render()


ENGLISH_REVIEW = "What a wonderful film, the cast is superb and I loved every minute of it."


def opened_in_explore(model: str, review: str) -> AppTest:
    at = AppTest.from_function(_open_in_explore_script, args=(str(ROOT), model, review), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_open_in_explore_gives_a_chinese_model_a_chinese_review():
    """Bad input tried: an English review left on Explore, then a Chinese (hotel) model opened there. The
    model is kept (it is what the person asked for) and the review becomes a Chinese example, so the
    prediction is not a Chinese model reading English (no "its prediction means little" warning)."""
    at = opened_in_explore("hotel-gru-max", ENGLISH_REVIEW)
    review = at.text_area(key="ex_text").value
    assert review != ENGLISH_REVIEW and text_mod.guess_language(review) == "zh", review
    assert any(c.value.startswith("hotel-gru-max ·") for c in at.caption), [c.value for c in at.caption]
    assert not any("model reads Chinese" in w.value for w in at.warning), [w.value for w in at.warning]


@pytest.mark.slow
def test_open_in_explore_keeps_a_review_of_the_models_language():
    """A person's own review in the model's language stays as it is."""
    at = opened_in_explore("imdb-gru-max", ENGLISH_REVIEW)
    assert at.text_area(key="ex_text").value == ENGLISH_REVIEW
    assert any(c.value.startswith("imdb-gru-max ·") for c in at.caption), [c.value for c in at.caption]


def _away_and_back_script(root: str) -> None:
    """AppTest script: the Train page, or another page while session_state["away"] is set."""
    import streamlit as st

    from sentiment.ui import train

    if st.session_state.get("away"):
        st.write("another page")
    else:
        train.render()


@pytest.mark.slow
def test_the_form_is_kept_across_page_switches(runs_root):
    """Fill the form, visit another page (the form's widgets are not drawn there), come back: every field
    is as it was, not only the pickers (name, hidden units, epochs, reviews, tokens)."""
    at = AppTest.from_function(_away_and_back_script, args=(str(ROOT),), default_timeout=60)
    at.run()
    at.selectbox(key="tr_dataset").set_value("hotel")
    at.text_input(key="tr_name").set_value("kept-run")
    small_form(at)
    at.run()
    at.session_state["away"] = True
    at.run()
    assert not at.slider  # the Train page is not drawn
    at.session_state["away"] = False
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="tr_dataset").value == "hotel" and at.text_input(key="tr_name").value == "kept-run"
    assert (at.slider(key="tr_epochs").value, at.slider(key="tr_limit").value) == (1, 100)
    assert (at.select_slider(key="tr_hidden").value, at.select_slider(key="tr_maxlen").value) == (16, 64)


def fake_finished_run(root: Path, confusion: list[list[int]], balanced: float, name: str = "tiny") -> str:
    """A finished run's folder as the runs registry reads it (no training): status, config, progress
    events (one epoch of 12 logged batches) and a model card with the test confusion."""
    rid = "20260101-120000-0000abcd"
    d = root / rid
    (d / "model").mkdir(parents=True)
    n = sum(map(sum, confusion))
    acc = (confusion[0][0] + confusion[1][1]) / n
    (d / "config.json").write_text(json.dumps({"name": name, "data": "/x/hotel.csv", "dataset": "hotel", "epochs": 1,
                                               "limit": 400, "max_len": 64, "hidden": 16}))
    (d / "status.json").write_text(json.dumps({"id": rid, "state": "finished", "created": 100.0, "started": 101.0,
                                               "ended": 131.0, "device": "cpu", "reason": None, "return_code": 0}))
    events = [{"type": "start", "device": "cpu", "sizes": {"train": 400, "val": 200, "test": n}, "epochs": 1, "time": 111.0}]
    events += [{"type": "step", "epoch": 1, "step": b, "batch": b, "batches": 12, "loss": 0.7 - b / 100, "acc": 0.5 + b / 100,
                "time": 111.0 + b} for b in range(1, 13)]
    events += [{"type": "epoch", "epoch": 1, "train_loss": 0.6, "train_acc": 0.6, "val_acc": 0.7, "seconds": 25, "time": 125.0},
               {"type": "done", "test_accuracy": acc, "test_size": n, "time": 130.0}]
    (d / "metrics.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (d / "model" / "card.json").write_text(json.dumps({"test_accuracy": acc, "test_balanced_accuracy": balanced,
                                                       "test_confusion": confusion}))
    return rid


def test_a_model_no_better_than_the_majority_is_told_so(runs_root):
    """The hotel test split is 67.5% positive: a model that says "positive" to everything scores 67.53%
    and must not get a green check."""
    fake_finished_run(runs_root, [[0, 252], [0, 524]], 0.5)
    at = page()
    assert not at.success
    [warn] = [w.value for w in at.warning]
    assert warn.startswith("Test accuracy 67.53% on 776 reviews: no better than always saying “positive” (67.53%")


def test_a_model_clearly_better_than_the_majority_gets_its_check(runs_root):
    fake_finished_run(runs_root, [[200, 52], [60, 464]], 0.85)
    at = page()
    [ok] = [s.value for s in at.success]
    assert ok.startswith("Test accuracy 85.57% on 776 reviews: better than always saying “positive” (67.53%)")
    assert not at.warning


@pytest.mark.slow  # over a second on a quiet 2-core CPU (fast-tier durations, 2026-12-07)
def test_a_one_epoch_run_draws_a_curve_of_its_batches(runs_root):
    fake_finished_run(runs_root, [[200, 52], [60, 464]], 0.85)
    curves = json.loads(page().get("plotly_chart")[0].proto.spec)
    loss = next(d for d in curves["data"] if d["name"] == "train loss")
    assert len(loss["x"]) == 12


@pytest.mark.slow
def test_the_estimate_says_how_it_is_computed_and_follows_the_last_run(runs_root):
    """Before any run: the reference CPU's speed; after one: that run's, and the estimate for the same
    settings is the time that run took."""
    at = page()
    assert any("Estimated time" in c.value and "2-core reference CPU" in c.value for c in at.caption)
    rid = fake_finished_run(runs_root, [[200, 52], [60, 464]], 0.85)
    at = page()
    at.selectbox(key="tr_dataset").set_value("hotel")
    at.slider(key="tr_epochs").set_value(1)
    at.slider(key="tr_limit").set_value(400)
    at.select_slider(key="tr_hidden").set_value(16)
    at.select_slider(key="tr_maxlen").set_value(64)
    at.run()
    [cap] = [c.value for c in at.caption if "Estimated time" in c.value]
    assert "about 29 s" in cap and f"the last finished run here ({rid})" in cap, cap  # 130 - 101 s


@pytest.mark.slow
def test_the_default_run_is_the_quick_one(runs_root):
    """The form opens on the quick run (a GRU of 32 units, 4 epochs of 5,000 reviews of 128 tokens) that makes a
    useful hotel model in class; its estimate on the reference CPU is under a minute."""
    at = page()
    at.selectbox(key="tr_dataset").set_value("hotel").run()
    assert (at.session_state["tr_cell"], at.session_state["tr_pooling"]) == ("gru", "max")
    assert (at.select_slider(key="tr_hidden").value, at.slider(key="tr_epochs").value, at.slider(key="tr_limit").value,
            at.select_slider(key="tr_maxlen").value) == (32, 4, 5000, 128)
    [cap] = [c.value for c in at.caption if "Estimated time" in c.value]
    seconds = int(re.search(r"about (\d+) s", cap).group(1))
    assert 10 < seconds <= 60, cap
