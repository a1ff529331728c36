"""Refitting on train + validation (``python -m sentiment.train --refit``).

A tiny character-level LSTM on 200 real hotel reviews (ChnSentiCorp): with --refit the validation
reviews join the training set, training runs exactly --epochs epochs (no early stopping, so
--patience does not cut it short), the last weights are kept and tested, and the card says so
instead of reporting a validation accuracy it no longer has.

With --average-last N the weights kept are the mean of the weights after each of the last N epochs.

Bad input tried here: --refit with --max-seconds (a time cap would make the epoch count depend on
the machine), --average-last without --refit, --average-last 0 and more than --epochs: each refused
with exit status 2 and an ``error:`` line, and no output folder is made.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from sentiment.modeling import checkpoint
from sentiment.training import train

pytestmark = pytest.mark.slow  # trains models in-process (minutes on a loaded CPU)

TINY = ["--limit", "200", "--hidden", "8", "--embed", "8", "--max-len", "40", "--tokenizer", "char",
        "--batch-size", "16", "--dropout", "0", "--seed", "1"]


@pytest.fixture(scope="module")
def refit_card(tmp_path_factory, hotel_path) -> dict:
    out = tmp_path_factory.mktemp("refit") / "refit"
    assert train.main(["--data", str(hotel_path), *TINY, "--epochs", "3", "--patience", "1", "--refit", "--out", str(out)]) == 0
    return checkpoint.load(out).card


def test_refit_trains_on_train_and_validation_reviews(refit_card):
    sizes = refit_card["sizes"]  # the split as drawn: 200 training, 200 validation reviews
    assert f"({sizes['train'] + sizes['val']} reviews)" in refit_card["refit"]


def test_refit_runs_every_epoch_and_keeps_the_last_weights(refit_card):
    assert refit_card["epochs"] == 3 and refit_card["best_epoch"] == 3
    assert [h["epoch"] for h in refit_card["history"]] == [1, 2, 3]


def test_refit_reports_no_validation_accuracy(refit_card):
    assert refit_card["val_accuracy"] is None
    assert all(h["val_acc"] is None for h in refit_card["history"])
    assert 0.0 <= refit_card["test_accuracy"] <= 1.0 and refit_card["test_size"] == 776


def test_refit_records_the_command_that_makes_it(refit_card):
    assert "--refit" in refit_card["command"] and refit_card["train_config"]["refit"] is True


def test_a_model_trained_without_refit_has_no_refit_note(tmp_path, hotel_path):
    out = tmp_path / "plain"
    assert train.main(["--data", str(hotel_path), *TINY, "--epochs", "1", "--out", str(out)]) == 0
    card = checkpoint.load(out).card
    assert "refit" not in card and card["val_accuracy"] is not None


def test_refit_with_a_time_limit_is_refused(tmp_path, hotel_path, capsys):
    out = tmp_path / "capped"
    code = train.main(["--data", str(hotel_path), *TINY, "--epochs", "2", "--refit", "--max-seconds", "30", "--out", str(out)])
    assert code == 2
    assert "error: --refit trains exactly --epochs epochs" in capsys.readouterr().err
    assert not out.exists()


def train_recording_epochs(monkeypatch, argv: list[str]) -> list[dict[str, torch.Tensor]]:
    """Run sentiment.train with argv; return the model's weights as they were after each epoch."""
    after_epoch: list[dict[str, torch.Tensor]] = []
    fit = train._fit

    def spy(cfg, callback, *a, **k):
        def cb(event):
            if event["type"] == "epoch":
                after_epoch.append({n: v.detach().clone() for n, v in spy.model.state_dict().items()})
        return fit(cfg, cb, *a, **k)

    real_init = train.SentimentRNN.__init__

    def remember(self, *a, **k):
        real_init(self, *a, **k)
        spy.model = self

    monkeypatch.setattr(train.SentimentRNN, "__init__", remember)
    monkeypatch.setattr(train, "_fit", spy)
    assert train.main(argv) == 0
    return after_epoch


def test_refit_keeps_exactly_the_last_epochs_weights(tmp_path, hotel_path, monkeypatch):
    out = tmp_path / "last"
    after_epoch = train_recording_epochs(
        monkeypatch, ["--data", str(hotel_path), *TINY, "--epochs", "3", "--refit", "--no-half", "--out", str(out)])
    kept = checkpoint.load(out).model.state_dict()
    assert len(after_epoch) == 3
    for name, value in kept.items():
        assert torch.equal(value, after_epoch[2][name]), name


def test_average_last_keeps_the_mean_of_the_last_epochs_weights(tmp_path, hotel_path, monkeypatch):
    """The kept weights are the mean of the weights after epochs 2 and 3 (recorded as training ran)."""
    out = tmp_path / "avg"
    after_epoch = train_recording_epochs(monkeypatch, ["--data", str(hotel_path), *TINY, "--epochs", "3", "--refit",
                                                       "--average-last", "2", "--no-half", "--out", str(out)])
    kept = checkpoint.load(out).model.state_dict()
    assert len(after_epoch) == 3
    for name, value in kept.items():
        torch.testing.assert_close(value, (after_epoch[1][name] + after_epoch[2][name]) / 2, atol=1e-6, rtol=0)
    assert not torch.equal(kept["fc.weight"], after_epoch[2]["fc.weight"])  # not simply the last epoch's
    assert "the last 2 epochs" in checkpoint.load(out).card["refit"]


@pytest.mark.parametrize("options, message", [
    (["--average-last", "2"], "--average-last needs --refit"),
    (["--refit", "--average-last", "0"], "--average-last must be between 1 and --epochs"),
    (["--refit", "--average-last", "3"], "--average-last must be between 1 and --epochs"),
], ids=["without-refit", "zero", "more-than-epochs"])
def test_bad_average_last_is_refused(tmp_path, hotel_path, capsys, options, message):
    out = tmp_path / "bad"
    assert train.main(["--data", str(hotel_path), *TINY, "--epochs", "2", *options, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_refit_epoch_is_logged_without_a_validation_accuracy():
    from sentiment.training import runs_cli

    line = runs_cli.fmt_event({"type": "epoch", "epoch": 2, "train_loss": 0.3, "train_acc": 0.9, "val_acc": None, "seconds": 5})
    assert line == "epoch 2: train loss 0.3000 train acc 0.900 no validation (refit) (5 s)"


def test_evaluating_a_refit_model_on_validation_says_it_is_not_held_out(refit_card, capsys, tmp_path_factory):
    from sentiment.training import evaluate

    out = next(tmp_path_factory.getbasetemp().glob("refit*/refit"))
    assert evaluate.main(["--model", str(out), "--split", "val", "--json"]) == 0
    assert "refit on its training and validation reviews" in capsys.readouterr().err


def test_the_grid_refuses_refit_options(capsys, tmp_path):
    from sentiment.training import grid

    assert grid.main(["--out", str(tmp_path / "models"), "--only", "hotel-lstm-max", "--", "--refit"]) == 2
    assert "a refit has none" in capsys.readouterr().err
    assert not (tmp_path / "models").exists()


def test_the_models_page_says_a_model_was_refit(refit_card, tmp_path_factory, tmp_path, monkeypatch):
    """A run's refit model, picked on the Models page, is described as trained on train + validation."""
    from streamlit.testing.v1 import AppTest

    src = next(tmp_path_factory.getbasetemp().glob("refit*/refit"))
    run = tmp_path / "runs" / "20260101-120000-0a1b2c3d"
    run.mkdir(parents=True)
    (run / "config.json").write_text('{"name": "refit-run"}')
    shutil.copytree(src, run / "model")
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))
    at = AppTest.from_file(str(Path(__file__).parent / "_models_page.py"), default_timeout=60)
    at.run()
    at.selectbox(key="mo_pick").set_value("run:20260101-120000-0a1b2c3d").run()
    assert not at.exception, at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "Refit: trained on the training and validation reviews together for 3 epochs" in captions


def test_made_by_shows_a_shipped_models_command_as_a_person_can_rerun_it():
    """The grid trained each seed in a temporary folder and passed --seed twice: the "made by" line names
    the model's folder and gives --seed once, with the value that counted."""
    from sentiment.training.config import made_by

    recorded = ("python -m sentiment.train --data hotel --epochs 25 --seed 1 --split-seed 0 --half --cell gru "
                "--pooling last --seed 2 --out /tmp/grid/models/.hotel-gru-last-seed2")
    shown = made_by(recorded, out="hotel-gru-last")
    assert shown == ("python -m sentiment.train --data hotel --epochs 25 --seed 2 --split-seed 0 --half --cell gru "
                     "--pooling last --out hotel-gru-last")
    assert made_by("not a train command") == "not a train command"
