"""Retraining from a model (``python -m sentiment.train --init MODEL``), end to end.

A tiny LSTM is trained on 200 real hotel reviews (ChnSentiCorp, character tokens, 8 units: a few
seconds); then it is retrained with --init: from the command line, through a background run, from
the Train page, and shown beside its parent on the Compare page.

Bad input tried here: options that contradict the init model (--cell gru on an LSTM, --hidden 64 on
8 units, --no-bidirectional, --max-len, --pooling, --tokenizer word on a character model, --min-freq,
--vocab-size), an init folder that does not exist, one with truncated weights, one without
vocab.json, English data for a Chinese model, a model the browser may not start from. Each is
refused with exit status 2 and an ``error:`` line (or a RunConfigError), and no output folder is made.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest
from test_app_train import page as train_page
from test_runs import wait_for, write_tiny_csv

from sentiment.modeling import catalog, checkpoint
from sentiment.modeling.model import SentimentRNN
from sentiment.training import runs, train
from sentiment.training.runs import RunConfigError, RunLimits

pytestmark = pytest.mark.slow  # trains and retrains models in-process

ROOT = Path(__file__).resolve().parent.parent
BASE = ["--limit", "200", "--epochs", "1", "--hidden", "8", "--embed", "8", "--max-len", "40", "--tokenizer", "char",
        "--batch-size", "16", "--dropout", "0", "--seed", "1"]
AGAIN = ["--limit", "200", "--epochs", "1", "--batch-size", "16", "--seed", "2"]  # no model options: the init's


def retrain(data: Path, init: Path, out: Path, *extra: str) -> int:
    return train.main(["--data", str(data), "--init", str(init), "--out", str(out), *AGAIN, *extra])


def weights(model_dir: Path) -> dict[str, torch.Tensor]:
    return checkpoint.load(model_dir).model.state_dict()


@pytest.fixture(scope="module")
def base(tmp_path_factory, hotel_path) -> Path:
    """The parent: a tiny character-level LSTM (max pooling) trained from scratch on 200 hotel reviews."""
    out = tmp_path_factory.mktemp("init") / "a-base"
    assert train.main(["--data", str(hotel_path), *BASE, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def retrained(base, hotel_path) -> Path:
    """The child: the parent retrained for one epoch (its own seed and learning rate)."""
    out = base.parent / "b-retrained"
    assert retrain(hotel_path, base, out, "--lr", "0.01") == 0
    return out


# ---- the command line ------------------------------------------------------------------------------


def test_retraining_starts_from_exactly_the_init_weights(base, hotel_path, tmp_path):
    """With a learning rate of 1e-12 a retrained model ends where it started: the parent's weights, to
    1e-9 (a model started from fresh random weights would differ by about 0.1)."""
    out = tmp_path / "still"
    assert retrain(hotel_path, base, out, "--lr", "1e-12") == 0
    parent, child = weights(base), weights(out)
    assert parent.keys() == child.keys()
    for k in parent:
        assert torch.allclose(parent[k], child[k], rtol=0, atol=1e-9), k
    config = checkpoint.load(base).config
    torch.manual_seed(2)  # what --seed 2 from scratch would have started from
    fresh = SentimentRNN(config).state_dict()
    assert not torch.allclose(fresh["rnn.weight_hh_l0"], child["rnn.weight_hh_l0"], atol=1e-3)


def test_retrained_model_keeps_vocab_tokenizer_and_architecture(base, retrained):
    a, b = checkpoint.load(base), checkpoint.load(retrained)
    assert b.vocab.itos == a.vocab.itos
    assert (b.tokenizer, b.max_len) == (a.tokenizer, a.max_len) == ({"language": "zh", "mode": "char"}, 40)
    assert b.config.to_dict() == a.config.to_dict()  # dropout too: not given, so the parent's (0)
    assert b.card["train_config"]["hidden"] == 8 and b.card["train_config"]["init"] == str(base)


def test_retraining_changes_the_weights_and_the_card_records_the_parent(base, retrained):
    a_card, b_card = checkpoint.read_card(base), checkpoint.read_card(retrained)
    assert b_card["init"] == {"model": str(base), "sha256": a_card["weights_sha256"]}
    assert "init" not in a_card
    assert b_card["weights_sha256"] != a_card["weights_sha256"]
    diff = max((weights(retrained)[k] - weights(base)[k]).abs().max().item() for k in weights(base))
    assert diff > 1e-3  # training did move the weights
    assert catalog.trained_from(b_card, a_card) and not catalog.trained_from(a_card, b_card)


def test_options_that_agree_with_the_init_model_are_accepted(base, hotel_path, tmp_path):
    assert retrain(hotel_path, base, tmp_path / "same", "--cell", "lstm", "--hidden", "8", "--bidirectional",
                   "--max-len", "40", "--tokenizer", "char", "--dropout", "0.2") == 0
    assert checkpoint.load(tmp_path / "same").config.dropout == 0.2  # dropout may change: it is not a weight


def test_half_precision_init_is_trained_in_float32(base, hotel_path, tmp_path):
    """A model stored in float16 (as the shipped ones are) starts training from those values as float32."""
    a = checkpoint.load(base)
    half = checkpoint.save(tmp_path / "half", a.model, a.vocab, a.tokenizer, a.max_len, a.card, half=True)
    init = train.load_init(str(half))
    assert all(p.dtype == torch.float32 for p in init.checkpoint.model.parameters())
    assert init.sha256 == checkpoint.read_card(half)["weights_sha256"] != a.card["weights_sha256"]
    assert retrain(hotel_path, half, tmp_path / "out", "--lr", "1e-12") == 0
    child = weights(tmp_path / "out")
    assert checkpoint.read_card(tmp_path / "out")["weights_dtype"] == "float32"
    for k, v in init.checkpoint.model.state_dict().items():
        assert torch.allclose(v, child[k], rtol=0, atol=1e-9), k
    assert not torch.equal(child["rnn.weight_hh_l0"], a.model.state_dict()["rnn.weight_hh_l0"])  # the rounded values


def test_the_command_of_a_retraining_reproduces_it(base, hotel_path):
    """to_argv (the card's command for Python callers) of a resolved --init config parses back to the
    same resolved config, with no model option that --init would refuse."""
    init = train.load_init(str(base))
    cfg = train.resolve(train.TrainConfig(data=str(hotel_path), out="x", init=str(base), dropout=0.1), init)
    argv = train.to_argv(cfg)
    assert "--init" in argv and "--min-freq" not in argv and "--hidden" not in argv and "--dropout" in argv
    again = train.TrainConfig(**{k: v for k, v in vars(train.parser().parse_args(argv)).items() if k != "threads"})
    assert train.resolve(again, init) == cfg


@pytest.mark.parametrize("option, says", [
    (["--cell", "gru"], "--cell gru: the model has lstm"),
    (["--hidden", "64"], "--hidden 64: the model has 8"),
    (["--no-bidirectional"], "--no-bidirectional: the model is bidirectional"),
    (["--max-len", "100"], "--max-len 100: the model has 40"),
    (["--pooling", "mean"], "--pooling mean: the model has max"),
    (["--tokenizer", "word"], "--tokenizer word: the model has char"),
    (["--min-freq", "1"], "--min-freq 1: the vocabulary is the model's"),
    (["--vocab-size", "500"], "--vocab-size 500: the model has"),
])
def test_options_that_contradict_the_init_model_are_refused(base, hotel_path, tmp_path, capsys, option, says):
    out = tmp_path / "out"
    assert retrain(hotel_path, base, out, *option) == 2
    err = capsys.readouterr().err
    assert "error: --init" in err and says in err, err
    assert "Traceback" not in err and not out.exists()


def test_missing_or_corrupt_init_model_is_refused(base, hotel_path, tmp_path, capsys):
    truncated = tmp_path / "truncated"
    shutil.copytree(base, truncated)
    w = truncated / "model.safetensors"
    w.write_bytes(w.read_bytes()[:200])
    no_vocab = tmp_path / "no-vocab"
    shutil.copytree(base, no_vocab)
    (no_vocab / "vocab.json").unlink()
    for init, says in [(tmp_path / "nowhere", "no such model directory"), (truncated, "corrupt or truncated"),
                       (no_vocab, "vocab.json: missing")]:
        out = tmp_path / f"out-{init.name}"
        assert retrain(hotel_path, init, out) == 2
        err = capsys.readouterr().err
        assert "error: --init" in err and says in err, err
        assert not out.exists()


def test_data_in_another_language_is_refused(base, tmp_path, capsys):
    english = write_tiny_csv(tmp_path / "english.csv")
    out = tmp_path / "out"
    assert retrain(english, base, out) == 2
    err = capsys.readouterr().err
    assert "error: --init" in err and "the model reads Chinese, but english.csv is English" in err, err
    assert not out.exists()


# ---- background runs ---------------------------------------------------------------------------------


@pytest.fixture
def models_root(base, tmp_path, monkeypatch) -> Path:
    """A models folder holding the parent as a 'shipped' model, and an empty runs root."""
    root = tmp_path / "models"
    root.mkdir()
    shutil.copytree(base, root / base.name)
    monkeypatch.setenv("GATESCOPE_MODELS", str(root))
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))
    return root


@pytest.mark.slow  # training subprocesses
def test_a_run_with_init_finishes_with_a_model_that_records_it(models_root, hotel_path, tmp_path):
    parent = models_root / "a-base"
    run = runs.launch(dict(data=str(hotel_path), init=f"shipped:{parent.name}", epochs=1, limit=200, batch_size=16))
    assert run.config["init"] == str(parent.resolve())
    run = wait_for(run.id, ("finished", "failed", "cancelled"), timeout=120)
    assert run.state == "finished", (run.reason, runs.log_tail(run.id))
    child = checkpoint.load(run.model_dir)
    assert child.card["init"] == {"model": "a-base", "sha256": checkpoint.read_card(parent)["weights_sha256"]}
    assert child.vocab.itos == checkpoint.load(parent).vocab.itos


def test_browser_runs_start_only_from_catalog_models_that_fit(models_root, base, hotel_path, tmp_path):
    browser, terminal = RunLimits.browser(), RunLimits()
    ok = runs.check_config(dict(data="hotel", init=f"shipped:{base.name}"), browser)
    assert ok["init"] == str((models_root / base.name).resolve())
    english = str(write_tiny_csv(tmp_path / "en.csv"))
    refused = [
        (dict(data="hotel", init=str(base)), browser, "may start only from a model the app lists"),  # not listed
        (dict(data="hotel", init="shipped:no-such-model"), browser, "no such model directory"),
        (dict(data="hotel", init=f"shipped:{base.name}", cell="gru"), browser, "--cell gru: the model has lstm"),
        (dict(data=english, init=str(base)), terminal, "the model reads Chinese, but the data is English"),
    ]
    for config, limits, says in refused:
        with pytest.raises(RunConfigError, match=re.escape(says)):
            runs.check_config(config, limits)
    broken = models_root / "z-broken"
    shutil.copytree(base, broken)
    (broken / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(RunConfigError, match="cannot start from this model"):
        runs.check_config(dict(data="hotel", init=str(broken)), RunLimits())
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # nothing launched


# ---- the pages ---------------------------------------------------------------------------------------


def test_train_page_choosing_a_model_fixes_the_architecture(models_root):
    """Start from the parent: cell, pooling, hidden units and max tokens become the model's and are
    disabled; an estimate is still shown; back to scratch, they are editable again."""
    at = train_page()
    at.selectbox(key="tr_dataset").set_value("hotel").run()
    assert at.selectbox(key="tr_init").value == "scratch"
    at.selectbox(key="tr_init").set_value("shipped:a-base").run()
    assert not at.exception
    fields = [at.segmented_control(key="tr_cell"), at.segmented_control(key="tr_pooling"),
              at.select_slider(key="tr_hidden"), at.select_slider(key="tr_maxlen")]
    assert [f.value for f in fields] == ["lstm", "max", 8, 40]
    assert all(f.disabled for f in fields)
    assert any("Retraining a-base" in i.value and "8 units" in i.value for i in at.info), [i.value for i in at.info]
    assert any("Estimated time" in c.value for c in at.caption)
    at.selectbox(key="tr_init").set_value("scratch").run()
    assert not any(f.disabled for f in [at.segmented_control(key="tr_cell"), at.select_slider(key="tr_hidden")])
    assert at.select_slider(key="tr_maxlen").value in (64, 128, 256, 400)  # 40 is not offered from scratch


def test_train_page_offers_only_models_of_the_datas_language(models_root):
    at = train_page()
    at.selectbox(key="tr_dataset").set_value("imdb").run()
    assert at.selectbox(key="tr_init").options == ["scratch (new random weights)"]  # the parent reads Chinese
    assert any("No model of this data's language" in c.value for c in at.caption)


@pytest.mark.slow  # training subprocesses
def test_train_page_launches_a_retraining_run(models_root, tmp_path):
    at = train_page()
    at.selectbox(key="tr_dataset").set_value("hotel").run()
    at.selectbox(key="tr_init").set_value("shipped:a-base").run()
    at.slider(key="tr_epochs").set_value(1)
    at.slider(key="tr_limit").set_value(100)
    at.button(key="tr_launch").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    [run] = runs.list_runs(tmp_path / "runs")
    assert run.config["init"] == str((models_root / "a-base").resolve())
    assert not {"cell", "pooling", "hidden", "embed", "layers", "max_len"} & set(run.config)  # all from the model
    assert any("Retraining a-base (started from its weights)" in c.value for c in at.caption)
    run = wait_for(run.id, ("finished", "failed", "cancelled"), timeout=120)
    assert run.state == "finished", (run.reason, runs.log_tail(run.id))
    assert checkpoint.read_card(run.model_dir)["init"]["model"] == "a-base"


def compare_page(models: Path, a: str, b: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("GATESCOPE_MODELS", str(models))
    at = AppTest.from_file(str(ROOT / "tests" / "_compare_page.py"), default_timeout=60)
    at.session_state["cmp_text"] = "房间很干净，服务很热情，早餐不错。"
    at.session_state["cmp_a_model"] = f"shipped:{a}"
    at.session_state["cmp_b_model"] = f"shipped:{b}"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def pair(base, retrained, tmp_path) -> Path:
    models = tmp_path / "models"
    for d in (base, retrained):
        shutil.copytree(d, models / d.name)
    return models


def test_compare_says_b_was_retrained_from_a(pair, monkeypatch, tmp_path):
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))
    at = compare_page(pair, "a-base", "b-retrained", monkeypatch)
    assert any("B was retrained from A: its units are A's units, changed by training" in s.value for s in at.success), \
        [s.value for s in at.success]
    assert not any("trained starting from A's weights" in c.value for c in at.caption)  # no caveat
    assert any(json.loads(c.proto.spec)["layout"].get("meta", {}).get("kind") == "diff_heatmaps" for c in at.get("plotly_chart"))


def test_compare_the_other_way_round_and_unrelated_models(pair, base, hotel_path, monkeypatch, tmp_path):
    """A retrained from B says so; a same-shaped model trained separately keeps the caveat."""
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))
    at = compare_page(pair, "b-retrained", "a-base", monkeypatch)
    assert any("A was retrained from B" in s.value for s in at.success)
    other = tmp_path / "other-models"  # another folder: the app caches each folder's listing
    shutil.copytree(base, other / base.name)
    assert train.main(["--data", str(hotel_path), *BASE, "--seed", "5", "--out", str(other / "c-separate")]) == 0
    at = compare_page(other, "a-base", "c-separate", monkeypatch)
    assert "c-separate" in at.selectbox(key="cmp_b_model").value
    assert not any("retrained from" in s.value for s in at.success)
    assert any("trained starting from A's weights" in c.value for c in at.caption)
