"""Imported models live under <runs root>/imported/<name>/: the catalog lists them beside runs (so
every model picker offers them), checkpoint.load finds them by name, and the Models page shows them
and offers "Open your own model"."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from sentiment.interop.convert import convert
from sentiment.modeling import catalog, checkpoint

ROOT = Path(__file__).resolve().parent.parent


def imported_model(runs: Path) -> Path:
    torch.manual_seed(0)
    state = {"emb.weight": torch.randn(12, 4), "rnn.weight_ih_l0": torch.randn(9, 4), "rnn.weight_hh_l0": torch.randn(9, 3),
             "rnn.bias_ih_l0": torch.randn(9), "rnn.bias_hh_l0": torch.randn(9), "out.weight": torch.randn(1, 3),
             "out.bias": torch.randn(1)}
    torch.save(state, runs / "tiny.pt")
    (runs / "vocab.txt").write_text("\n".join(["<pad>", "<unk>"] + "the film was good bad not at all i it".split()))
    return convert(runs / "tiny.pt", runs / "imported" / "tiny-gru", runs / "vocab.txt",
                   {"head": "sigmoid", "max_len": 12})[0]


@pytest.mark.slow
def test_the_catalog_lists_imported_models_and_load_finds_them_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path))
    imported_model(tmp_path)
    entries = [e for e in catalog.list_models(runs=tmp_path) if e.source == "imported"]
    assert [(e.key, e.name, e.cell, e.available) for e in entries] == [("imported:tiny-gru", "tiny-gru", "gru", True)]
    ckpt = checkpoint.load("tiny-gru")
    assert ckpt.imported and ckpt.card["imported"]["framework"] == "pytorch"
    assert ckpt.encode("the film was not good").padding == [False] * 5 + [True] * 7


@pytest.mark.slow
def test_the_models_page_shows_an_imported_model_and_the_open_your_own_model_section(tmp_path, monkeypatch):
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path))
    imported_model(tmp_path)
    at = AppTest.from_file(str(ROOT / "tests" / "_models_page.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert "Open your own model" in [e.label for e in at.expander]
    assert "tiny-gru" in list(at.dataframe[0].value["model"])


@pytest.mark.slow
def test_explore_traces_an_imported_model_with_its_padding_steps(tmp_path, monkeypatch):
    """The only model offered is an imported one that reads padding: Explore's heatmap has the pad
    steps on its token axis."""
    runs, models = tmp_path / "runs", tmp_path / "models"
    runs.mkdir()
    models.mkdir()
    monkeypatch.setenv("GATESCOPE_RUNS", str(runs))
    monkeypatch.setenv("GATESCOPE_MODELS", str(models))
    imported_model(runs)
    at = AppTest.from_file(str(ROOT / "tests" / "_explore_page.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.text_area(key="ex_text").input("the film was not good at all")
    at.button(key="ex_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    import json
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    heat = [s for s in specs if any(d["type"] == "heatmap" for d in s["data"])]
    assert heat, "no heatmap drawn"
    ticks = [v for k, ax in heat[0]["layout"].items() if k.startswith("xaxis") for v in (ax.get("ticktext") or [])]
    assert "<pad>" in ticks or "&lt;pad&gt;" in ticks


@pytest.mark.slow  # over a second on a quiet 2-core CPU (fast-tier durations, 2026-12-07)
def test_open_model_figures_shade_the_pad_steps_the_model_reads(tmp_path):
    import sentiment

    m = sentiment.open_model(imported_model(tmp_path))
    figs = m.figures("the film was not good")  # 5 words, 7 pad steps after them
    assert figs["gates"].layout.meta["padding_steps"] == 7
    rects = [s for s in figs["gates"].layout.shapes if s.type == "rect" and s.fillcolor == "grey"]
    assert rects and all((s.x0, s.x1) == (4.5, 11.5) for s in rects)
