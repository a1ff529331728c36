"""Command lines (run as subprocesses): train writes a complete, loadable checkpoint; evaluate and
predict read it back; training is reproducible on the CPU; bad arguments give one clear line.
And the shipped models: each loads, has a card, and reads the obvious reviews right.

Bad input tried here: a data path that does not exist, --out pointing at an existing model, no
--data at all, an unknown --cell, --limit 1, a CSV with a bad label, a model folder that does not
exist, a model with truncated weights, a model folder missing vocab.json, an empty review to predict.
"""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sentiment.modeling import checkpoint
from sentiment.modeling.predict import predict

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--limit", "300", "--epochs", "1", "--hidden", "8", "--embed", "8", "--max-len", "40",
        "--tokenizer", "char", "--pooling", "mean", "--batch-size", "8", "--lr", "0.03", "--dropout", "0", "--seed", "3",
        "--threads", "1"]


def run_cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def assert_clean_error(r: subprocess.CompletedProcess, message: str) -> None:
    """Exit status 2, an 'error:' line naming the problem, and no traceback."""
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert "error:" in r.stderr and message in r.stderr, r.stderr[-2000:]
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout


@pytest.fixture(scope="module")
def tutorial_csv(data_dir) -> Path:
    return data_dir / "hotel_discuss2.csv"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tutorial_csv) -> Path:
    """A tiny model trained by the CLI on 300 reviews of the tutorial's hotel file (about 5 s)."""
    out = tmp_path_factory.mktemp("train") / "model"
    r = run_cli("sentiment.train", "--data", str(tutorial_csv), *TINY, "--out", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    return out


# ---- train -------------------------------------------------------------------------------------


@pytest.mark.slow  # training subprocesses
def test_train_writes_a_loadable_checkpoint(trained):
    """The training CLI writes the four checkpoint files, and the model loads."""
    assert sorted(p.name for p in trained.iterdir()) == sorted(checkpoint.FILES)
    ck = checkpoint.load(trained)
    assert ck.language == "zh" and ck.tokenizer == {"language": "zh", "mode": "char"} and ck.max_len == 40
    assert (ck.config.hidden_size, ck.config.embed_dim) == (8, 8)


@pytest.mark.slow  # training subprocesses
def test_train_writes_a_complete_card(trained):
    """The card says what data, split and settings made the model, how it scored, and where and when."""
    card = checkpoint.read_card(trained)
    assert (card["dataset"], card["format"], card["split_seed"]) == ("hotel_discuss2", "csv", 0)
    assert card["sizes"] == {"train": 300, "val": 200, "test": 526}
    assert card["test_size"] == 526 and 0.0 <= card["test_accuracy"] <= 1.0
    assert card["epochs"] == 1 and card["train_seconds"] >= 0
    assert card["device"] == "cpu" and card["torch"] == torch.__version__
    assert datetime.datetime.fromisoformat(card["date"]).tzinfo is not None
    assert card["command"].startswith("python -m sentiment.train ") and "--limit 300" in card["command"]


@pytest.mark.slow  # training subprocesses
def test_evaluate_json_reproduces_the_cards_test_accuracy(trained):
    """evaluate --json rebuilds the card's test split and prints the card's accuracy, size and confusion."""
    r = run_cli("sentiment.evaluate", "--model", str(trained), "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(r.stdout)
    card = checkpoint.read_card(trained)
    assert {"accuracy", "n", "confusion"} <= set(result)
    assert result["accuracy"] == card["test_accuracy"] and result["n"] == card["test_size"]
    assert result["confusion"] == card["test_confusion"] and sum(map(sum, result["confusion"])) == result["n"]
    (tn, fp), (fn, tp) = result["confusion"]
    assert tn + fn > 0 and fp + tp > 0  # the model predicts both labels, so the equality above means something


@pytest.mark.slow  # training subprocesses
def test_predict_json_prints_label_and_probability(trained):
    """predict --json prints one JSON line per review with its label and that label's probability."""
    r = run_cli("sentiment.predict", "--model", str(trained), "--json", "房间干净整洁，服务热情周到", "房间又脏又小")
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(lines) == 2
    for p in lines:
        assert p["label"] in ("positive", "negative") and 0.5 <= p["probability"] <= 1.0
        assert p["positive"] == pytest.approx(p["probability"] if p["label"] == "positive" else 1 - p["probability"])


@pytest.mark.slow  # training subprocesses
def test_predict_matches_the_library(trained):
    """The CLI's probability is the one sentiment.predict computes in-process."""
    review = "早餐丰富，下次还会再来"
    r = run_cli("sentiment.predict", "--model", str(trained), "--json", review)
    assert json.loads(r.stdout)["positive"] == pytest.approx(predict(checkpoint.load(trained), review).positive, abs=1e-6)


@pytest.mark.slow  # training subprocesses
def test_predict_reports_an_empty_review_and_goes_on(trained):
    """An empty review gets an error line (exit 2) while the other reviews are still predicted."""
    r = run_cli("sentiment.predict", "--model", str(trained), "--json", "   ", "房间很好")
    first, second = (json.loads(line) for line in r.stdout.splitlines())
    assert "The review is empty" in first["error"] and second["label"] in ("positive", "negative")
    assert r.returncode == 2 and "Traceback" not in r.stderr


@pytest.mark.slow  # training subprocesses
def test_training_is_reproducible_with_a_seed_on_cpu(trained, tutorial_csv, tmp_path):
    """Training again with the same seed on the CPU gives identical weights and the same test accuracy."""
    again = tmp_path / "again"
    r = run_cli("sentiment.train", "--data", str(tutorial_csv), *TINY, "--out", str(again))
    assert r.returncode == 0, r.stderr[-2000:]
    a, b = checkpoint.load(trained), checkpoint.load(again)
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert a.card["test_accuracy"] == b.card["test_accuracy"] and a.vocab == b.vocab


# ---- bad arguments -----------------------------------------------------------------------------


@pytest.mark.slow  # training subprocesses
def test_train_refuses_an_existing_output(trained, tutorial_csv):
    """--out pointing at an existing model exits 2 with a clear error, and the model is left as it was."""
    before = (trained / "model.safetensors").read_bytes()
    r = run_cli("sentiment.train", "--data", str(tutorial_csv), "--out", str(trained), timeout=120)
    assert_clean_error(r, "already exists and is not empty")
    assert (trained / "model.safetensors").read_bytes() == before


@pytest.mark.parametrize("args,message", [
    (["--data", "/nonexistent/reviews.csv"], "/nonexistent/reviews.csv: no such file"),
    ([], "the following arguments are required: --data"),
    (["--data", "x.csv", "--cell", "transformer"], "invalid choice: 'transformer'"),
    (["--data", "x.csv", "--limit", "1"], "--limit must be at least 2"),
], ids=["missing-data-path", "no-data-argument", "unknown-cell", "limit-1"])
@pytest.mark.slow  # training subprocesses
def test_train_bad_arguments_give_one_clear_error(tmp_path, args, message):
    """Bad training arguments exit 2 with 'error:' naming the problem, no traceback, and no checkpoint."""
    r = run_cli("sentiment.train", *args, "--out", str(tmp_path / "out"), timeout=120)
    assert_clean_error(r, message)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # training subprocesses
def test_train_on_a_bad_csv_names_the_line(tmp_path):
    """Training on a CSV with a bad label exits 2 with the file, line and label in the error."""
    bad = tmp_path / "bad.csv"
    bad.write_text("label,review\n1,great\n0,awful\n5,so-so\n", encoding="utf-8")
    r = run_cli("sentiment.train", "--data", str(bad), "--out", str(tmp_path / "out"), timeout=120)
    assert_clean_error(r, "bad.csv: line 4: label '5'")


@pytest.fixture
def broken_models(trained, tmp_path) -> dict[str, Path]:
    truncated = tmp_path / "truncated"
    shutil.copytree(trained, truncated)
    blob = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(blob[: len(blob) // 2])
    no_vocab = tmp_path / "no-vocab"
    shutil.copytree(trained, no_vocab)
    (no_vocab / "vocab.json").unlink()
    return {"missing": tmp_path / "nowhere", "truncated": truncated, "no-vocab": no_vocab}


@pytest.mark.parametrize("tool", ["sentiment.evaluate", "sentiment.predict"])
@pytest.mark.parametrize("model,message", [
    ("missing", "nowhere: no such model directory"),
    ("truncated", "model.safetensors: corrupt or truncated"),
    ("no-vocab", "vocab.json: missing"),
])
@pytest.mark.slow  # training subprocesses
def test_evaluate_and_predict_refuse_a_bad_model_folder(broken_models, tool, model, message):
    """evaluate and predict on a missing, truncated or partial model folder exit 2 naming the bad file."""
    extra = ["--json"] if tool == "sentiment.evaluate" else ["房间很好"]
    r = run_cli(tool, "--model", str(broken_models[model]), *extra, timeout=120)
    assert_clean_error(r, message)


# ---- the shipped models ------------------------------------------------------------------------

SHIPPED = sorted(p for p in (ROOT / "assets" / "models").iterdir() if p.is_dir() and not p.name.startswith("."))
OBVIOUS = {
    "en": ("An absolute masterpiece. Brilliant acting, a moving story, I loved every minute of it.",
           "The worst film I have ever seen. Boring, stupid and a complete waste of time."),
    "zh": ("房间干净整洁，服务热情周到，早餐丰富，下次还会再来。", "房间又脏又小，服务态度极差，再也不会入住了。"),
}


def test_vanilla_rnn_models_are_shipped_for_both_languages():
    """Among the shipped models are vanilla RNNs for IMDB and for the hotel reviews."""
    loaded = [checkpoint.load(p) for p in SHIPPED if "rnn" in p.name]
    assert {("en", "rnn"), ("zh", "rnn")} <= {(ck.language, ck.config.cell) for ck in loaded}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_model_has_a_card_and_reads_the_obvious_right(path):
    """Each shipped model loads, its card names its dataset, command and test score, and it reads an
    obviously positive and an obviously negative review in its language right."""
    ck = checkpoint.load(path)
    card = ck.card
    assert {"test_accuracy", "test_size", "dataset", "command"} <= set(card)
    assert 0.5 < card["test_accuracy"] <= 1.0 and card["test_size"] > 0
    made_by = [m["command"] for m in card.get("soup", [])] or [card["command"]]  # a weight average: each run's command
    assert all(c.startswith("python -m sentiment.train") for c in made_by), made_by
    if "soup" in card:
        assert card["command"].startswith("python -m sentiment.soup --model ")
    good, bad = OBVIOUS[ck.language]
    assert predict(ck, good).label == "positive"
    assert predict(ck, bad).label == "negative"
