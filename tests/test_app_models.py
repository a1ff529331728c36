"""The Models page (AppTest): every model is listed with its card's accuracies; the accuracy grids, the
metrics and the confusion matrix are the cards' numbers; misclassified test reviews come from the
test split, and a model whose dataset is missing says so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sentiment.modeling import catalog
from sentiment.training.config import made_by

ROOT = Path(__file__).resolve().parent.parent
NO_RUNS = ROOT / "tests" / "no-runs-here"


def open_models() -> AppTest:
    at = AppTest.from_file(str(ROOT / "tests" / "_models_page.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def shipped() -> dict[str, catalog.ModelEntry]:
    return {e.key: e for e in catalog.list_models(runs=NO_RUNS)}


def test_table_lists_every_model_with_its_accuracies(monkeypatch):
    monkeypatch.setenv("GATESCOPE_RUNS", str(NO_RUNS))
    at = open_models()
    table = at.dataframe[0].value
    entries = shipped()
    assert len(entries) == 20 and sorted(table["model"]) == sorted(e.name for e in entries.values())  # 18 gated + 2 bow
    for _, row in table.iterrows():
        e = next(x for x in entries.values() if x.name == row["model"])
        assert abs(row["acc. %"] - 100 * e.test_accuracy) < 0.01  # short headers; the full ones in their tooltips
        assert abs(row["bal. acc. %"] - 100 * e.card["test_balanced_accuracy"]) < 0.01
        assert abs(row["F1 %"] - 100 * e.card["test_f1"]) < 0.01
        assert row["reviews"] == e.test_size


@pytest.mark.slow
def test_grid_shows_each_shipped_models_accuracy(monkeypatch):
    """One accuracy grid per dataset; each cell x pooling value is the card's test accuracy."""
    monkeypatch.setenv("GATESCOPE_RUNS", str(NO_RUNS))
    at = open_models()
    grids = [c for c in charts(at) if "test accuracy" in json.dumps(c["layout"].get("title", ""))]
    assert len(grids) == 2
    cards = {(e.dataset, e.cell, e.pooling if e.cell != "bow" else "any"): e.test_accuracy for e in shipped().values()}
    seen, bow_rows = 0, 0
    for g in grids:
        ds = g["layout"]["title"]["text"].split(":")[0]
        trace = g["data"][0]
        for i, cell in enumerate(trace["y"]):
            bow = cell.startswith("BOW")  # the bag-of-words reference: its own row, one accuracy in every column
            bow_rows += bow
            for j, pooling in enumerate(trace["x"]):
                v = trace["z"][i][j]
                if v is not None:
                    seen += not bow
                    key = (ds, "bow", "any") if bow else (ds, cell.lower(), pooling)
                    assert abs(v - 100 * cards[key]) < 1e-6
    assert seen == 18 and bow_rows == 2


@pytest.mark.slow
def test_card_and_confusion_matrix_are_the_cards(monkeypatch):
    """The picked model's metrics and confusion heatmap show its card's numbers."""
    monkeypatch.setenv("GATESCOPE_RUNS", str(NO_RUNS))
    at = open_models()
    at.selectbox(key="mo_pick").set_value("shipped:imdb-lstm-max").run()
    entry = shipped()["shipped:imdb-lstm-max"]
    conf = [c for c in charts(at) if "Confusion" in json.dumps(c["layout"].get("title", ""))][0]
    assert conf["data"][0]["z"] == entry.card["test_confusion"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test accuracy"] == f"{entry.test_accuracy:.2%}"
    assert metrics["Balanced accuracy"] == f"{entry.card['test_balanced_accuracy']:.2%}"
    assert metrics["F1 (positive)"] == f"{entry.card['test_f1']:.2%}"
    assert metrics["Test reviews"] == "25,000"
    shown = made_by(entry.card["command"], out=entry.name)  # the command, its --out the model's own folder
    assert shown in [c.value for c in at.code] and "/tmp/" not in shown
    assert any(c.value.startswith("imdb-lstm-max") for c in at.caption)


@pytest.mark.slow
def test_misclassified_reviews_come_from_the_test_split(monkeypatch):
    """'Find misclassified test reviews' lists reviews the model gets wrong, with their true label."""
    monkeypatch.setenv("GATESCOPE_RUNS", str(NO_RUNS))
    at = open_models()
    at.selectbox(key="mo_pick").set_value("shipped:hotel-rnn-max").run()
    at.button(key="mo_wrong").click().run()
    assert not at.exception
    rows = [m.value for m in at.markdown if "P(positive)" in m.value]
    assert 0 < len(rows) <= 20
    assert all("true Positive" in r or "true Negative" in r for r in rows)
    assert any("of the first 300 test reviews are misclassified" in c.value for c in at.caption)
    at.run()  # the list stays for this model across reruns
    assert [m.value for m in at.markdown if "P(positive)" in m.value] == rows


def test_missing_dataset_is_said_clearly(monkeypatch, tmp_path):
    """A model whose dataset is nowhere on this machine: a clear message, no button, no traceback."""
    models = tmp_path / "models"
    shutil.copytree(ROOT / "assets" / "models" / "hotel-rnn-max", models / "gone-rnn-max")
    card = json.loads((models / "gone-rnn-max" / "card.json").read_text(encoding="utf-8"))
    card.update(dataset="gone", data_path=str(tmp_path / "nowhere.csv"))
    (models / "gone-rnn-max" / "card.json").write_text(json.dumps(card), encoding="utf-8")
    monkeypatch.setenv("GATESCOPE_MODELS", str(models))
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))
    at = open_models()
    assert any("“gone” is not on this machine" in i.value for i in at.info), [i.value for i in at.info]
    assert all(b.key != "mo_wrong" for b in at.button)


def test_chinese_interface(monkeypatch):
    """The page's labels follow the interface language."""
    monkeypatch.setenv("GATESCOPE_RUNS", str(NO_RUNS))
    at = AppTest.from_file(str(ROOT / "tests" / "_models_page.py"), default_timeout=60)
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception
    assert at.title[0].value == "模型"
    assert "测试准确率" in [m.label for m in at.metric]


def test_calibration_is_shown_with_its_reliability_diagram(monkeypatch):
    """The picked model's temperature, ECE before and after are its card's; the reliability diagram draws
    the card's bins; the table has the ECE columns."""
    monkeypatch.setenv("GATESCOPE_RUNS", str(NO_RUNS))
    at = open_models()
    entry = shipped()[at.selectbox(key="mo_pick").value]
    cal = entry.card["calibration"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Temperature T"] == f"{cal['temperature']:.3f}"
    assert metrics["ECE before"] == f"{cal['test_ece_before']:.2%}" and metrics["ECE after"] == f"{cal['test_ece_after']:.2%}"
    rel = next(c for c in charts(at) if c["layout"].get("meta", {}).get("kind") == "reliability")
    after = rel["data"][2]
    assert after["y"] == [r["accuracy"] for r in cal["reliability_after"]]
    table = at.dataframe[1].value  # the second table: size, training and calibration
    row = table[table["model"] == entry.name].iloc[0]
    assert abs(row["ECE post %"] - 100 * cal["test_ece_after"]) < 0.01


@pytest.mark.slow
def test_a_bag_of_words_card_opens(monkeypatch):
    monkeypatch.setenv("GATESCOPE_RUNS", str(NO_RUNS))
    at = open_models()
    at.selectbox(key="mo_pick").select("shipped:imdb-bow").run()
    assert not at.exception, at.exception
    assert any("bag-of-words" in c.value for c in at.caption)


@pytest.mark.slow
def test_a_model_chosen_on_held_out_training_reviews_says_so(monkeypatch, tmp_path):
    """A model whose epoch was chosen on training reviews held out (--stop-holdout) says how many, and that
    its validation reviews only fitted the temperature; a shipped model (chosen on validation) does not."""
    models = tmp_path / "models"
    shutil.copytree(ROOT / "assets" / "models" / "hotel-rnn-max", models / "held-rnn-max")
    card = json.loads((models / "held-rnn-max" / "card.json").read_text(encoding="utf-8"))
    card["sizes"] = {"train": 5592, "stop": 621, "val": 776, "test": 776}
    (models / "held-rnn-max" / "card.json").write_text(json.dumps(card), encoding="utf-8")
    shutil.copytree(ROOT / "assets" / "models" / "hotel-gru-max", models / "hotel-gru-max")
    monkeypatch.setenv("GATESCOPE_MODELS", str(models))
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))
    at = open_models()
    at.selectbox(key="mo_pick").set_value("shipped:held-rnn-max").run()
    said = "Its epoch was chosen on 621 training reviews held out of training; the 776 validation reviews only"
    assert any(said in c.value for c in at.caption), [c.value for c in at.caption]
    at.selectbox(key="mo_pick").set_value("shipped:hotel-gru-max").run()
    assert not any("held out of training" in c.value for c in at.caption)


@pytest.mark.slow
def test_an_ece_above_what_sampling_explains_is_said_so(monkeypatch):
    """hotel-gru-last's test ECE after its temperature (4.4%) is above 2.0% and above the noise level of a
    perfectly calibrated model on 776 reviews: the page says so; imdb-lstm-max's (0.65%) is not."""
    monkeypatch.setenv("GATESCOPE_RUNS", str(NO_RUNS))
    at = open_models()
    at.selectbox(key="mo_pick").set_value("shipped:hotel-gru-last").run()
    noise = shipped()["shipped:hotel-gru-last"].card["calibration"]["test_ece_noise_p95"]
    after = next(m for m in at.metric if m.label == "ECE after")
    assert f"up to {noise:.2%} on 776 test reviews" in after.proto.help
    assert any("Above 2% and above what sampling explains" in c.value for c in at.caption)
    at.selectbox(key="mo_pick").set_value("shipped:imdb-lstm-max").run()
    assert not any("above what sampling explains" in c.value for c in at.caption)


LESSON = {"pairs": {"set": "en.tsv",
                    "dev": {"n": 60, "sentences": 120, "accuracy": 0.55, "pair_accuracy": 0.2, "by_kind": {}},
                    "test": {"n": 80, "sentences": 160, "accuracy": 0.575, "pair_accuracy": 0.275,
                             "by_kind": {k: {"n": 20, "sentences": 40, "accuracy": a, "pair_accuracy": b} for k, a, b in
                                         (("negation", 0.6, 0.25), ("double_negation", 0.4, 0.0),
                                          ("contrast", 0.75, 0.6), ("intensifier", 0.55, 0.25))}}},
          "cad_edited": {"accuracy": 0.628, "n": 487, "set": "cad/test_paired.tsv (edited reviews)"},
          "measured": "2026-12-01", "command": "python -m sentiment.training.pairs --model X --write"}


@pytest.mark.slow
def test_negation_and_contrast_come_from_the_cards_lesson_and_read_dash_without_one(monkeypatch, tmp_path):
    """The third table shows each model's minimal-pair test accuracy (sentences, pairs with both right)
    and its accuracy on the counterfactual edited reviews from card["lesson"], "—" where the card has
    none; the picked model's section shows the same figures and its test pairs by kind."""
    models = tmp_path / "models"
    shutil.copytree(ROOT / "assets" / "models" / "imdb-lstm-max", models / "imdb-lstm-max")
    shutil.copytree(ROOT / "assets" / "models" / "hotel-gru-max", models / "hotel-gru-max")
    card = json.loads((models / "imdb-lstm-max" / "card.json").read_text(encoding="utf-8"))
    card["lesson"] = LESSON
    (models / "imdb-lstm-max" / "card.json").write_text(json.dumps(card), encoding="utf-8")
    unmeasured = json.loads((models / "hotel-gru-max" / "card.json").read_text(encoding="utf-8"))
    unmeasured.pop("lesson", None)  # a model whose card was never measured
    (models / "hotel-gru-max" / "card.json").write_text(json.dumps(unmeasured), encoding="utf-8")
    monkeypatch.setenv("GATESCOPE_MODELS", str(models))
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))
    at = open_models()
    table = at.dataframe[2].value
    assert list(table.columns) == ["model", "dataset", "pairs %", "both %", "edited %", "measured"]
    rows = {r["model"]: r for _, r in table.iterrows()}
    assert (rows["imdb-lstm-max"]["pairs %"], rows["imdb-lstm-max"]["both %"], rows["imdb-lstm-max"]["edited %"],
            rows["imdb-lstm-max"]["measured"]) == ("57.5", "27.5", "62.8", "2026-12-01")
    assert [rows["hotel-gru-max"][c] for c in ("pairs %", "both %", "edited %", "measured")] == ["—"] * 4
    at.selectbox(key="mo_pick").set_value("shipped:imdb-lstm-max").run()
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Minimal pairs (sentences)"], metrics["Pairs with both right"], metrics["Edited IMDB reviews"]) == (
        "57.5 %", "27.5 %", "62.8 %")
    bars = next(c for c in charts(at) if c["layout"].get("meta", {}).get("kind") == "pairs")
    assert bars["data"][1]["x"] == [25.0, 0.0, 60.0, 25.0]  # pairs with both right, by kind
    at.selectbox(key="mo_pick").set_value("shipped:hotel-gru-max").run()
    assert any("python -m sentiment.training.pairs --model" in i.value for i in at.info)
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception, at.exception
    assert list(at.dataframe[2].value.columns) == ["模型", "数据集", "句对%", "成对%", "改写%", "测量日期"]


@pytest.mark.slow
def test_the_picked_models_accuracy_by_length_is_its_cards(monkeypatch, tmp_path):
    """The test accuracy by review length (what Explore's short-review note reads) is the card's, bucket by
    bucket; a card without the record says how to measure it."""
    models = tmp_path / "models"
    for name in ("hotel-gru-max", "hotel-lstm-max"):
        shutil.copytree(ROOT / "assets" / "models" / name, models / name)
    card = json.loads((models / "hotel-lstm-max" / "card.json").read_text(encoding="utf-8"))
    del card["by_length"]
    (models / "hotel-lstm-max" / "card.json").write_text(json.dumps(card), encoding="utf-8")
    monkeypatch.setenv("GATESCOPE_MODELS", str(models))
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))
    at = open_models()
    at.selectbox(key="mo_pick").set_value("shipped:hotel-gru-max").run()
    by = json.loads((models / "hotel-gru-max" / "card.json").read_text(encoding="utf-8"))["by_length"]
    (table,) = [d.value for d in at.dataframe if "length (words)" in d.value.columns]
    assert list(table["length (words)"]) == ["1–10", "11–25", "26–50", "51–100", "101–200", "201–400", "401+"]
    assert list(table["test reviews"]) == [f"{r['n']:,}" for r in by["buckets"]]
    assert list(table["right"]) == [f"{r['right'] / r['n']:.1%}" if r["n"] else "—" for r in by["buckets"]]
    assert any(f"All test reviews: {by['accuracy']:.1%} right" in c.value for c in at.caption)
    at.selectbox(key="mo_pick").set_value("shipped:hotel-lstm-max").run()
    assert any("python -m sentiment.calibrate --lengths-only --model" in i.value for i in at.info)


def test_a_weight_average_shows_its_runs_and_how_to_make_it_again(monkeypatch):
    """hotel-lstm-attention is the mean of two fine-tuning runs: the page says so and gives each run's
    command, then the averaging, every folder named as a person would (no temporary paths)."""
    monkeypatch.setenv("GATESCOPE_RUNS", str(NO_RUNS))
    at = open_models()
    at.selectbox(key="mo_pick").set_value("shipped:hotel-lstm-attention").run()
    assert not at.exception
    members = shipped()["shipped:hotel-lstm-attention"].card["soup"]
    code = "\n".join(c.value for c in at.code)
    assert f"python -m sentiment.soup --model {' '.join(m['model'] for m in members)} --out hotel-lstm-attention" in code
    assert all(f"--out {m['model']}" in code for m in members) and "/tmp/" not in code
    assert any(f"mean of {len(members)} training runs" in c.value for c in at.caption)
