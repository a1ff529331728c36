"""What Explore's "N% sure" is (AppTest): the prediction's help says whether the model is calibrated,
with its temperature and how far off its confidence was on its own test reviews (the card's ECE after
the temperature); when that is more than sampling explains (above 2.0% and above the noise level of a
perfectly calibrated model), the caption under the prediction says to read the percentage as a rough
guide. Tiny random-weight models whose cards carry each kind of record.

Bad input tried: a card without a calibration record, with one that is not a dict, or with a string
ECE: the help says only the temperature, no exception.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_checkpoint
from streamlit.testing.v1 import AppTest

from sentiment.modeling import calibration
from sentiment.training.calibrate import store_temperature

ROOT = Path(__file__).resolve().parent.parent
OVER = {"temperature": 1.77, "test_size": 776, "test_ece_after": 0.0439, "test_ece_noise_p95": 0.0265}
WITHIN = {"temperature": 1.46, "test_size": 25000, "test_ece_after": 0.0065, "test_ece_noise_p95": 0.0044}
UNDER_NOISE = {"temperature": 1.55, "test_size": 776, "test_ece_after": 0.0229, "test_ece_noise_p95": 0.0282}


def explore_with(tmp_path: Path, monkeypatch, record, temperature: float | None = None) -> AppTest:
    """Explore's landing page with one tiny model whose card has this calibration record (None: none) and
    whose config.json has this temperature (default: the record's; None: not calibrated)."""
    model = tmp_path / "models" / "tiny-lstm-max"
    make_checkpoint(model)
    card = json.loads((model / "card.json").read_text(encoding="utf-8"))
    if record is not None:
        card["calibration"] = record
    (model / "card.json").write_text(json.dumps(card), encoding="utf-8")
    temperature = temperature or (record.get("temperature") if isinstance(record, dict) else None)
    if temperature:
        store_temperature(model, temperature)
    monkeypatch.setenv("GATESCOPE_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def prediction_help(at: AppTest) -> str:
    return at.metric[0].proto.help


def rough_guide(at: AppTest) -> bool:
    return any("read the percentage as a rough guide" in c for c in at.caption.values)


@pytest.mark.slow  # over a second on a quiet 2-core CPU (fast-tier durations, 2026-12-07)
def test_a_calibrated_model_says_its_temperature_and_how_far_off_it_was(tmp_path, monkeypatch):
    at = explore_with(tmp_path, monkeypatch, WITHIN)
    words = prediction_help(at)
    assert "T = 1.46" in words and "On its 25,000 test reviews its confidence was off by 0.7 percentage points" in words
    assert not rough_guide(at)


@pytest.mark.slow  # over a second on a quiet 2-core CPU (fast-tier durations, 2026-12-07)
def test_a_model_off_by_more_than_sampling_explains_says_to_read_it_as_a_rough_guide(tmp_path, monkeypatch):
    at = explore_with(tmp_path, monkeypatch, OVER)
    assert "T = 1.77" in prediction_help(at)
    assert any("its confidence was off by 4.4 points on average: read the percentage as a rough guide" in c
               for c in at.caption.values)


@pytest.mark.slow  # over a second on a quiet 2-core CPU (fast-tier durations, 2026-12-07)
def test_a_model_within_the_noise_level_gets_no_warning(tmp_path, monkeypatch):
    at = explore_with(tmp_path, monkeypatch, UNDER_NOISE)
    assert "off by 2.3 percentage points" in prediction_help(at) and not rough_guide(at)


def test_a_model_without_a_temperature_says_it_is_not_calibrated(tmp_path, monkeypatch):
    at = explore_with(tmp_path, monkeypatch, None)
    assert prediction_help(at).startswith("Not calibrated: the probability is the model's own softmax")
    assert not rough_guide(at)


def test_a_refit_model_says_no_held_out_reviews_were_left_to_calibrate_on(tmp_path, monkeypatch):
    model = tmp_path / "models" / "tiny-lstm-max"
    make_checkpoint(model)
    card = json.loads((model / "card.json").read_text(encoding="utf-8"))
    card["refit"] = "trained on train + validation (400 reviews) for 3 epochs; last weights kept"
    (model / "card.json").write_text(json.dumps(card), encoding="utf-8")
    monkeypatch.setenv("GATESCOPE_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert prediction_help(at).startswith("Not calibrated: this model was refit on its training and validation reviews")


@pytest.mark.parametrize("record", [None, "calibrated", {"temperature": 1.2, "test_ece_after": "4%"}],
                         ids=["none", "not-a-dict", "string-ece"])
def test_a_calibrated_model_without_a_usable_record_says_only_its_temperature(tmp_path, monkeypatch, record):
    at = explore_with(tmp_path, monkeypatch, record, temperature=1.2)
    assert prediction_help(at) == ("Calibrated: the probability is softmax(logits / T) with T = 1.20, fitted on "
                                   "the model's validation reviews.")
    assert not rough_guide(at)


def test_over_the_target_means_above_two_points_and_above_the_noise_level():
    assert calibration.ece_on_test(OVER) == (0.0439, True)
    assert calibration.ece_on_test(UNDER_NOISE) == (0.0229, False)
    assert calibration.ece_on_test({"test_ece_after": 0.021}) == (0.021, True)  # no noise level recorded
    assert calibration.ece_on_test({"test_ece_after": float("nan")}) is None
