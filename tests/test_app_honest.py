"""The honest views (AppTest, shipped models): the bag-of-words reference as Compare's model B for both
languages (its per-word contributions add up to its score, its probability is its calibrated one);
it is offered nowhere a trace is needed; Learn's "why gates?" pairs; Explore's "out of its domain?"
note for a review full of words the model never learned, and none for an ordinary one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_figures import bdata

from sentiment.modeling import checkpoint
from sentiment.modeling.predict import predict

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "assets" / "models"
EN = "I expected a boring film, but it was great. Not bad at all."
ZH = "本来以为房间很差，结果很好，服务也不错。"


@pytest.fixture(autouse=True)
def no_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))  # only the shipped models


def page(script: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "tests" / script), default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest, kind: str) -> list[dict]:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return [s for s in specs if s["layout"].get("meta", {}).get("kind") == kind]


@pytest.mark.parametrize("text,dataset,bow", [(EN, ("imdb", "en"), "imdb-bow"), (ZH, ("hotel", "zh"), "hotel-bow")],
                         ids=["en", "zh"])
@pytest.mark.slow
def test_compare_with_the_bag_of_words_as_model_b(text, dataset, bow):
    at = page("_compare_page.py")
    at.text_area(key="cmp_text").input(text).run()
    for side in ("a", "b"):
        at.selectbox(key=f"cmp_{side}_dataset").set_value(dataset).run()
    assert "bag of words" in at.segmented_control(key="cmp_b_cell").options  # the options as shown
    assert "bag of words" not in at.segmented_control(key="cmp_a_cell").options  # A is traced: gated models only
    at.segmented_control(key="cmp_b_cell").set_value("bow").run()
    assert not at.exception, [e.value for e in at.exception]
    (fig,) = charts(at, "word_contributions")
    meta = fig["layout"]["meta"]
    bars = bdata(fig["data"][0]["y"])
    assert bars.sum() + meta["bias"] == pytest.approx(meta["score"], abs=1e-4)
    p = predict(checkpoint.load(MODELS / bow), text).positive
    assert any(f"P(positive) = {p:.3f}" in (pr.proto.text or "") for pr in at.get("progress"))
    assert charts(at, "prefix_curve")  # model A's reading curve above the bars


def test_the_bag_of_words_is_not_offered_where_a_trace_is_needed():
    at = page("_explore_page.py")
    assert "bag of words" not in at.segmented_control(key="ex_cell").options


def test_learn_compares_the_same_words_in_another_order():
    at = page("_learn_page.py")
    (table,) = [d.value for d in at.dataframe if "review" in d.value.columns]
    assert "I expected a boring film, but it was great." in list(table["review"])
    bow = checkpoint.load(MODELS / "imdb-bow")
    row = table[table["review"] == "I expected a great film, but it was boring."].iloc[0]
    assert row["bag of words: P(positive)"] == pytest.approx(predict(bow, row["review"]).positive, abs=1e-3)


@pytest.mark.slow
def test_explore_notes_a_review_unlike_the_training_data():
    at = page("_explore_page.py")
    at.text_area(key="ex_text").input("Zorblax quindle fremp vashti good, nurgle plonk wibbet zanthro, "
                                      "grelb mooflax the snorp.").run()
    assert any("Out of its domain?" in i.value and "IMDB" in i.value for i in at.info)
    at.text_area(key="ex_text").input("The movie was good and the acting was wonderful, I loved the story.").run()
    assert not any("Out of its domain?" in i.value for i in at.info)
