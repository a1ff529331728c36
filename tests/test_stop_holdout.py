"""Choosing the epoch on held-out training reviews (``python -m sentiment.train --stop-holdout SHARE``).

Without the option the validation reviews choose the epoch (and the grid's seed) and then fit the
temperature: the temperature is fitted where the model was chosen to look good, and on the hotel split
(776 validation reviews) that made five models' test ECE 3-4.4%. With it, a share of the training
reviews (drawn by the split seed) is held out to choose the epoch and stop early, and the validation
reviews only fit the temperature. Real hotel reviews (ChnSentiCorp), tiny character-level models.

Bad input tried here: a share of 0.5, of -0.1 and "nan", --stop-holdout with --refit, --bow and --init: each refused
with exit status 2 and an ``error:`` line, and no output folder is made.
"""

from __future__ import annotations

import numpy as np
import pytest

from sentiment.data import readers
from sentiment.data.text import Vocab, tokenize
from sentiment.modeling import calibration, checkpoint
from sentiment.training import grid, train
from sentiment.training.config import TrainConfig
from sentiment.training.evaluate import encode_examples, logits_ids

TINY = ["--limit", "200", "--hidden", "8", "--embed", "8", "--max-len", "40", "--tokenizer", "char",
        "--batch-size", "16", "--dropout", "0", "--seed", "1", "--no-half"]


@pytest.fixture(scope="module")
def hotel_splits(hotel_path) -> readers.Splits:
    return readers.split(readers.load(hotel_path, None), seed=0)


def test_a_share_of_the_training_reviews_is_held_out_on_its_own(hotel_splits):
    smaller, held = readers.hold_out(hotel_splits, 0.1, seed=0)
    assert len(held) == round(len(hotel_splits.train) * 0.1)
    assert sorted(smaller.train + held) == sorted(hotel_splits.train)  # nothing lost, nothing twice
    assert len(smaller.train) + len(held) == len(hotel_splits.train)
    assert smaller.val == hotel_splits.val and smaller.test == hotel_splits.test
    assert smaller.info["sizes"]["stop"] == len(held) and smaller.info["sizes"]["train"] == len(smaller.train)


def test_the_held_out_reviews_are_drawn_by_the_split_seed(hotel_splits):
    assert readers.hold_out(hotel_splits, 0.1, seed=0)[1] == readers.hold_out(hotel_splits, 0.1, seed=0)[1]
    assert readers.hold_out(hotel_splits, 0.1, seed=0)[1] != readers.hold_out(hotel_splits, 0.1, seed=1)[1]


def test_a_share_of_zero_holds_nothing_out(hotel_splits):
    same, held = readers.hold_out(hotel_splits, 0.0, seed=0)
    assert same is hotel_splits and held == []


@pytest.mark.parametrize("share", ["0.5", "-0.1", "nan"])
def test_a_share_outside_0_to_half_is_refused(tmp_path, hotel_path, capsys, share):
    out = tmp_path / "m"
    assert train.main(["--data", str(hotel_path), *TINY, "--stop-holdout", share, "--out", str(out)]) == 2
    assert "error: --stop-holdout must be at least 0 and below 0.5" in capsys.readouterr().err
    assert not out.exists()


def test_a_held_out_share_with_refit_is_refused(tmp_path, hotel_path, capsys):
    out = tmp_path / "m"
    assert train.main(["--data", str(hotel_path), *TINY, "--stop-holdout", "0.1", "--refit", "--out", str(out)]) == 2
    assert "error: --stop-holdout holds reviews out for early stopping, which --refit" in capsys.readouterr().err
    assert not out.exists()


def test_a_held_out_share_for_the_bag_of_words_is_refused(tmp_path, hotel_path, capsys):
    out = tmp_path / "m"
    assert train.main(["--data", str(hotel_path), "--limit", "200", "--bow", "--stop-holdout", "0.1", "--out", str(out)]) == 2
    assert "error: --stop-holdout chooses a recurrent model's epoch; --bow has no epochs" in capsys.readouterr().err
    assert not out.exists()


def test_a_held_out_share_with_an_init_model_is_refused(tmp_path, hotel_path, capsys):
    """The model a run starts from may have been trained on the very reviews the run would hold out."""
    out = tmp_path / "m"
    code = train.main(["--data", str(hotel_path), "--init", "hotel-gru-max", "--limit", "200", "--epochs", "1",
                       "--stop-holdout", "0.1", "--out", str(out)])
    assert code == 2
    assert "error: --stop-holdout cannot be used with --init" in capsys.readouterr().err
    assert not out.exists()


def prepared(hotel_path, seed: int, share: float = 0.1):
    cfg = train.resolve(TrainConfig(data=str(hotel_path), out="unused", tokenizer="char", max_len=40, seed=seed,
                                    stop_holdout=share))
    return train.prepare(cfg)


@pytest.mark.slow
def test_the_held_out_reviews_are_neither_trained_on_nor_in_the_vocabulary(hotel_splits, hotel_path):
    splits, spec, vocab, enc = prepared(hotel_path, seed=1)
    held = readers.hold_out(hotel_splits, 0.1, seed=0)[1]  # what the split seed (0) holds out
    assert len(enc["stop"][0]) == len(held) and enc["stop"][1] == [y for _, y in held]
    assert not {t for t, _ in held} & {t for t, _ in splits.train}
    assert len(enc["train"][0]) == len(splits.train) == splits.info["sizes"]["train"]
    assert len(splits.train) + len(held) == len(hotel_splits.train)
    assert vocab == Vocab.build([tokenize(t, spec) for t, _ in splits.train], 2, 20_000)


@pytest.mark.slow
def test_the_held_out_reviews_depend_on_the_split_seed_not_the_training_seed(hotel_path):
    assert prepared(hotel_path, seed=1)[3]["stop"] == prepared(hotel_path, seed=2)[3]["stop"]


def test_the_grid_chooses_a_seed_on_the_held_out_training_reviews_when_there_are_some():
    assert grid.chosen_on({"stop_accuracy": 0.8, "val_accuracy": 0.9}) == 0.8
    assert grid.chosen_on({"val_accuracy": 0.9}) == 0.9


@pytest.fixture(scope="module")
def held_model(tmp_path_factory, hotel_path):
    out = tmp_path_factory.mktemp("stop") / "m"
    argv = ["--data", str(hotel_path), *TINY, "--epochs", "4", "--patience", "4", "--stop-holdout", "0.2", "--out", str(out)]
    assert train.main(argv) == 0
    return checkpoint.load(out)


@pytest.mark.slow
def test_the_kept_epoch_is_the_best_on_the_held_out_training_reviews(held_model):
    card = held_model.card
    stop = [h["stop_acc"] for h in card["history"]]
    assert card["best_epoch"] == 1 + stop.index(max(stop))  # the first epoch that reached the best
    assert card["stop_accuracy"] == max(stop)


@pytest.mark.slow
def test_the_stop_accuracy_is_the_kept_models_on_the_held_out_reviews(held_model, hotel_path):
    splits = readers.limit(readers.split(readers.load(hotel_path, None), seed=0), 200, 1)
    held = readers.hold_out(splits, 0.2, seed=0)[1]
    x, y = encode_examples(held, held_model.vocab, held_model.tokenizer, 40)
    right = (logits_ids(held_model.model, x).argmax(1).numpy() == np.asarray(y)).mean()
    assert held_model.card["stop_accuracy"] == pytest.approx(right, abs=1e-9)


@pytest.mark.slow
def test_the_card_reports_the_kept_weights_validation_accuracy(held_model):
    card = held_model.card
    assert card["val_accuracy"] == card["history"][card["best_epoch"] - 1]["val_acc"]


@pytest.mark.slow
def test_the_held_out_reviews_are_taken_from_training(held_model):
    sizes = held_model.card["sizes"]  # --limit 200 draws 200 training reviews; 20% of them held out
    assert sizes["stop"] == 40 and sizes["train"] == 160 and sizes["val"] == 200


@pytest.mark.slow
def test_the_temperature_is_fitted_on_the_validation_reviews(held_model, hotel_path):
    card = held_model.card
    splits = readers.limit(readers.split(readers.load(hotel_path, None), seed=0), 200, 1)
    x, y = encode_examples(splits.val, held_model.vocab, held_model.tokenizer, 40)  # as training read them
    logits = logits_ids(held_model.model, x).numpy()
    assert card["calibration"]["temperature"] == pytest.approx(calibration.fit_temperature(logits, y), abs=1e-5)
    assert np.isfinite(card["calibration"]["test_ece_after"])


def test_a_runs_curves_show_the_accuracy_that_chose_the_epoch():
    from sentiment.figures import run_curves

    steps = [{"type": "step", "epoch": e, "step": 10 * e, "loss": 0.5, "acc": 0.8} for e in (1, 2)]
    epochs = [{"type": "epoch", "epoch": e, "val_acc": 0.8, "stop_acc": s} for e, s in ((1, 0.7), (2, 0.75))]
    fig = run_curves(steps + epochs)
    held = [tr for tr in fig.data if tr.name == "held-out training reviews (chose the epoch)"]
    assert len(held) == 1 and list(held[0].y) == [0.7, 0.75] and list(held[0].x) == [10, 20]
    without = run_curves(steps + [{"type": "epoch", "epoch": 1, "val_acc": 0.8}])  # validation chose the epoch
    assert [tr.name for tr in without.data] == ["train loss", "train accuracy", "validation accuracy"]
