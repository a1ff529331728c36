"""Calibration: a temperature fitted on validation logits recovers a known over-confidence, never
changes a prediction, lowers the ECE of an over-confident model, and is the one door to every
probability shown (predict, the probe's prediction, its prefix curve). A checkpoint without one reads
with T = 1; a bad one is named."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import make_checkpoint

from sentiment.errors import CheckpointError
from sentiment.modeling import calibration, checkpoint
from sentiment.modeling.predict import predict
from sentiment.probe import trace


def overconfident(n: int = 4000, k: float = 3.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits k times too large: labels drawn from softmax(z), logits reported as k * z."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2, size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return np.stack([np.zeros(n), k * z], 1), y


def test_the_fitted_temperature_recovers_a_known_overconfidence():
    logits, y = overconfident(k=3.0)
    assert calibration.fit_temperature(logits, y) == pytest.approx(3.0, rel=0.1)


def test_a_temperature_lowers_the_ece_of_an_overconfident_model():
    logits, y = overconfident(k=3.0)
    t = calibration.fit_temperature(logits[:2000], y[:2000])  # fitted on one half, measured on the other
    before, after = calibration.ece(logits[2000:], y[2000:]), calibration.ece(logits[2000:], y[2000:], t)
    assert before > 0.08 and after < 0.03


def test_a_temperature_never_changes_the_predicted_class():
    logits = torch.randn(500, 2) * 5
    for t in (0.3, 1.0, 4.0):
        assert torch.equal(calibration.probabilities(logits, t).argmax(1), logits.argmax(1))


def test_ece_is_zero_when_confidence_matches_accuracy():
    # 10 reviews at confidence 0.8 (logit gap ln 4), 8 of them right
    logits = np.tile([0.0, np.log(4.0)], (10, 1))
    assert calibration.ece(logits, [1] * 8 + [0] * 2) == pytest.approx(0.0, abs=1e-9)


def test_reliability_rows_count_every_review_once():
    logits, y = overconfident(n=1000)
    rows = calibration.reliability(logits, y)
    assert sum(r["n"] for r in rows) == 1000 and all(0.5 - 1e-9 <= r["confidence"] <= 1 for r in rows)


@pytest.mark.parametrize("logits,labels", [(np.zeros((0, 2)), []), (np.zeros((3, 2)), [0, 1]), (np.zeros(3), [0, 1, 1])])
def test_fitting_on_bad_input_is_refused(logits, labels):
    with pytest.raises(ValueError, match="need logits"):
        calibration.fit_temperature(logits, labels)


def with_temperature(path, t) -> None:
    cfg = json.loads((path / "config.json").read_text())
    cfg["calibration"] = {"temperature": t}
    (path / "config.json").write_text(json.dumps(cfg))


def test_a_checkpoint_without_calibration_reads_with_temperature_one(tmp_path):
    ck = checkpoint.load(make_checkpoint(tmp_path / "m"))
    assert ck.temperature == 1.0


def test_predict_and_the_probe_show_calibrated_probabilities(tmp_path):
    """The same logits, softened by T = 2.5 in predict, in the probe's prediction and in its prefix curve."""
    path = make_checkpoint(tmp_path / "m", hidden=16, seed=3)
    plain = checkpoint.load(path)
    with_temperature(path, 2.5)
    warm = checkpoint.load(path)
    text = "the movie was good but the plot was awful ! i hated it"
    a, b = trace(plain, text), trace(warm, text)
    np.testing.assert_allclose(a.logits, b.logits)  # logits (and gates) unchanged
    expected = torch.softmax(torch.tensor(a.logits) / 2.5, -1).numpy()
    np.testing.assert_allclose(b.probs, expected, atol=1e-6)
    assert predict(warm, text).positive == pytest.approx(float(expected[1]), abs=1e-6)
    lp = np.log(a.prefix_probs) - np.log1p(-a.prefix_probs)  # each prefix's logit gap
    np.testing.assert_allclose(b.prefix_probs, 1 / (1 + np.exp(-lp / 2.5)), atol=1e-5)


@pytest.mark.parametrize("bad", [0, -1.0, "hot", None, float("inf")])
def test_a_bad_temperature_is_named(tmp_path, bad):
    path = make_checkpoint(tmp_path / "m")
    with_temperature(path, bad)
    with pytest.raises(CheckpointError, match="config.json.*temperature"):
        checkpoint.load(path)


def test_a_newly_trained_model_is_calibrated_on_its_validation_split(tmp_path, hotel_path):
    """sentiment.train fits the temperature on the validation reviews and stores it with the record."""
    from sentiment.training import train

    card = train.fit(train.TrainConfig(data=str(hotel_path), out=str(tmp_path / "m"), limit=300, epochs=1, hidden=8,
                                       embed=8, max_len=20, batch_size=32, tokenizer="char", device="cpu"))
    cal = card["calibration"]
    assert cal["fitted_on"] == "val" and cal["val_size"] == card["sizes"]["val"] and cal["test_size"] == card["test_size"]
    assert checkpoint.load(tmp_path / "m").temperature == cal["temperature"]
    for key in ("by_length", "by_unknown"):  # what predicts its errors, for Explore (issue 22)
        assert sum(r["n"] for r in card[key]["buckets"]) == card[key]["test_reviews"] == card["test_size"]
        assert card[key]["accuracy"] == pytest.approx(card["test_accuracy"], abs=1e-12)
