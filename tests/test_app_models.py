"""The Models page (AppTest): the accuracy grid and the confusion matrix are the cards' numbers."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from sentiment import catalog

ROOT = Path(__file__).resolve().parent.parent


def open_models(monkeypatch) -> AppTest:
    at = AppTest.from_file(str(ROOT / "tests" / "_models_page.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_grid_shows_each_shipped_models_accuracy(monkeypatch):
    """One accuracy grid per dataset; each cell x pooling value is the card's test accuracy."""
    at = open_models(monkeypatch)
    grids = [c for c in charts(at) if "test accuracy" in json.dumps(c["layout"].get("title", ""))]
    assert len(grids) == 2
    cards = {(e.dataset, e.cell, e.pooling): e.test_accuracy for e in catalog.list_models(runs=ROOT / "no-runs-here")}
    for g in grids:
        ds = g["layout"]["title"]["text"].split(":")[0]
        trace = g["data"][0]
        for i, cell in enumerate(trace["y"]):
            for j, pooling in enumerate(trace["x"]):
                v = trace["z"][i][j]
                if v is not None:
                    assert abs(v - 100 * cards[(ds, cell.lower(), pooling)]) < 1e-6


def test_confusion_matrix_is_the_cards(monkeypatch):
    """The confusion heatmap of the picked model shows its card's test confusion counts."""
    at = open_models(monkeypatch)
    key = at.selectbox(key="mo_pick").value
    entry = {e.key: e for e in catalog.list_models(runs=ROOT / "no-runs-here")}[key]
    conf = [c for c in charts(at) if "Confusion" in json.dumps(c["layout"].get("title", ""))][0]
    assert conf["data"][0]["z"] == entry.card["test_confusion"]
    assert entry.name in " ".join(c.value for c in at.caption)


def test_misclassified_reviews_come_from_the_test_split(monkeypatch):
    """'Find misclassified test reviews' lists reviews the model gets wrong, with their true label."""
    at = open_models(monkeypatch)
    at.selectbox(key="mo_pick").set_value("shipped:hotel-rnn-max").run()
    at.button(key="mo_wrong").click().run()
    assert not at.exception
    rows = [m.value for m in at.markdown if "P(positive)" in m.value]
    assert rows, [m.value for m in at.markdown]
    assert all("true Positive" in r or "true Negative" in r for r in rows)
