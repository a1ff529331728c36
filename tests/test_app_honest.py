"""The honest views (AppTest, shipped models): the bag-of-words reference as Compare's model B for both
languages (its per-word contributions add up to its score, its probability is its calibrated one);
it is offered nowhere a trace is needed; Learn's "why gates?" pairs; Explore's short-review note (how
often the model was right on its own test reviews of that length, issue 22) for a one-line review, and
none for a review of typical length."""

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


@pytest.mark.slow  # over a second on a quiet 2-core CPU (fast-tier durations, 2026-12-07)
def test_learn_compares_the_same_words_in_another_order():
    at = page("_learn_page.py")
    (table,) = [d.value for d in at.dataframe if "bag of words: P(positive)" in d.value.columns]
    assert "I expected a boring film, but it was great." in list(table["review"])
    bow = checkpoint.load(MODELS / "imdb-bow")
    row = table[table["review"] == "I expected a great film, but it was boring."].iloc[0]
    assert row["bag of words: P(positive)"] == pytest.approx(predict(bow, row["review"]).positive, abs=1e-3)


def test_learn_lists_where_the_model_still_fails_measured_now():
    """The "where it still fails" list: the dev minimal-pair sentences this model gets wrong, read now
    (the same sentences and probabilities as sentiment.training.pairs), with how many it got right."""
    from sentiment.training import pairs

    at = page("_learn_page.py")
    name = at.session_state["le_model"] if "le_model" in at.session_state else None  # noqa: SIM401 (AppTest's session state has no .get)
    (table,) = [d.value for d in at.dataframe if "true label" in d.value.columns]
    model_col = next(c for c in table.columns if c.endswith("P(positive)"))
    entry_name = model_col.split(":")[0]
    wrong = pairs.wrong_sentences(checkpoint.load(MODELS / entry_name), pairs.load_pairs("en", "dev"))
    assert list(table["review"]) == [w["text"] for w in wrong][: len(table)]
    assert list(table[model_col]) == pytest.approx([w["p_positive"] for w in wrong][: len(table)], abs=1e-3)
    caption = next(c.value for c in at.caption if "minimal pairs" in c.value)
    assert f"it gets {120 - len(wrong)} of 120 right" in caption, (caption, name)


@pytest.mark.slow
def test_explore_says_how_often_the_model_was_right_on_test_reviews_this_short():
    at = page("_explore_page.py")
    name = f"{at.session_state['ex_dataset'][0]}-{at.session_state['ex_cell']}-{at.session_state['ex_pooling']}"
    by = json.loads((MODELS / name / "card.json").read_text(encoding="utf-8"))["by_length"]
    at.text_area(key="ex_text").input("Not bad at all.").run()
    (near,) = [r for r in by["buckets"] if r["n"] >= 30][:1]
    own = by["buckets"][0]
    assert name.startswith("imdb") and own["n"] < 30  # IMDB's test split has hardly any one-line reviews
    sentence = (f"Short review (4 words): its own test reviews had only {own['n']} of 1–10 words, too few to measure; "
                f"on those of {near['lo']}–{near['hi']} words, the nearest lengths with enough (n = {near['n']:,}), "
                f"this model was right {near['right'] / near['n']:.0%} of the time, against {by['accuracy']:.0%} overall.")
    assert [i.value for i in at.info if i.value.startswith("Short review")] == [sentence]
    long = " ".join(["The movie was good and the acting was wonderful, I loved the story and the music."] * 16)
    at.text_area(key="ex_text").input(long).run()  # 256 words, over the test reviews' median (174)
    assert not at.exception and not any(i.value.startswith("Short review") for i in at.info)
