"""The model catalog: shipped models and run models, described from their config and card; broken ones listed, never raised."""

from __future__ import annotations

import json

import pytest
from conftest import make_checkpoint

from sentiment import spec
from sentiment.modeling import catalog

RUN = "20260101-120000-0a1b2c3d"


@pytest.fixture
def roots(tmp_path):
    models, runs = tmp_path / "models", tmp_path / "runs"
    make_checkpoint(models / "imdb-gru-max", cell="gru", pooling="max")
    make_checkpoint(models / "hotel-lstm-last", cell="lstm", pooling="last", language="zh", layers=2)
    (runs / RUN).mkdir(parents=True)
    (runs / RUN / "config.json").write_text(json.dumps({"name": "my-attention"}))
    make_checkpoint(runs / RUN / "model", cell="lstm", pooling="attention")
    (runs / "20260101-130000-0a1b2c3e").mkdir()  # a run still training: no model yet, not listed
    return models, runs


def test_lists_shipped_then_runs(roots):
    models, runs = roots
    entries = catalog.list_models(models, runs)
    assert [e.key for e in entries] == ["shipped:hotel-lstm-last", "shipped:imdb-gru-max", f"run:{RUN}"]
    hotel, imdb, run = entries
    assert all(e.available and not e.error for e in entries)
    assert (imdb.source, imdb.cell, imdb.pooling, imdb.language, imdb.dataset) == ("shipped", "gru", "max", "en", "tiny")
    assert (hotel.language, hotel.num_layers, hotel.bidirectional, hotel.hidden_size) == ("zh", 2, True, 8)
    assert imdb.path == str(models / "imdb-gru-max")
    assert (run.source, run.name, run.pooling, run.path) == ("run", f"my-attention ({RUN})", "attention", str(runs / RUN / "model"))
    assert imdb.test_accuracy == 0.5 and imdb.parameters and imdb.size_bytes > 0
    assert "test accuracy 50.0%" in imdb.summary and "GRU max pooling" in imdb.summary and "parameters" in imdb.summary


def test_broken_directories_are_unavailable(tmp_path):
    models = tmp_path / "models"
    make_checkpoint(models / "good-lstm-max")
    (models / "empty-gru-max").mkdir()
    bad_json = make_checkpoint(models / "badjson-gru-max")
    (bad_json / "config.json").write_text("{not json")
    no_vocab = make_checkpoint(models / "novocab-lstm-mean")
    (no_vocab / "vocab.json").unlink()
    not_obj = make_checkpoint(models / "list-lstm-last")
    (not_obj / "card.json").write_text("[1, 2]")
    (models / ".imdb-gru-max.tmp-abc").mkdir()  # a checkpoint being written: skipped
    (models / "README.md").write_text("not a model")
    entries = {e.name: e for e in catalog.list_models(models, tmp_path / "no-runs")}
    assert set(entries) == {"good-lstm-max", "empty-gru-max", "badjson-gru-max", "novocab-lstm-mean", "list-lstm-last"}
    assert entries["good-lstm-max"].available
    for name, words in [("empty-gru-max", "config.json: missing"), ("badjson-gru-max", "corrupt or truncated JSON"),
                        ("novocab-lstm-mean", "vocab.json: missing"), ("list-lstm-last", "expected a JSON object")]:
        e = entries[name]
        assert not e.available and words in e.error, (name, e.error)
        assert "unavailable" in e.summary
    # the name's guess stays for an unreadable directory, so the picker could still say what it was
    assert (entries["empty-gru-max"].cell, entries["empty-gru-max"].pooling) == ("gru", "max")


def test_roots_from_environment(roots, monkeypatch, tmp_path):
    models, runs = roots
    monkeypatch.setenv("GATESCOPE_MODELS", str(models))
    monkeypatch.setenv("GATESCOPE_RUNS", str(runs))
    assert catalog.models_root() == models.resolve() and catalog.runs_root() == runs.resolve()
    assert len(catalog.list_models()) == 3
    monkeypatch.setenv("GATESCOPE_MODELS", str(tmp_path / "nowhere"))
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "nowhere-runs"))
    assert catalog.list_models() == []
    assert not (tmp_path / "nowhere-runs").exists()  # listing creates nothing
    monkeypatch.delenv("GATESCOPE_MODELS")
    assert catalog.models_root() == spec.ASSETS_DIR / "models" == spec.PROJECT_ROOT / "assets" / "models"


def test_cli(roots, capsys):
    models, runs = roots
    (models / "empty-lstm-max").mkdir()
    assert catalog.main(["--models", str(models), "--runs", str(runs)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4 and out[0].startswith("! empty-lstm-max: unavailable")
    assert catalog.main(["--models", str(models), "--runs", str(runs), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["available"] for r in rows] == [False, True, True, True] and "card" not in rows[1]


def test_formatting():
    assert catalog.format_count(1_600_000) == "1.6 M" and catalog.format_count(12_345) == "12.3 k" and catalog.format_count(7) == "7"
    assert catalog.format_bytes(3 << 20) == "3.0 MB" and catalog.format_bytes(2048) == "2 kB" and catalog.format_bytes(5) == "5 B"
