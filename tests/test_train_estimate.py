"""The Train page's first estimate, on a server where no run has finished: a few real batches of the chosen
model and data, timed here (sentiment.training.estimate.probe), scaled to the run; checked against the wall
time of actually running ``python -m sentiment.train`` on a slice of a real dataset."""

from __future__ import annotations

import csv
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sentiment.training import estimate

ROOT = Path(__file__).resolve().parent.parent
TINY = dict(cell="gru", pooling="max", hidden=16, embed=32, layers=1, max_len=64, batch_size=64, lr=1e-2)


def hotel_slice(hotel_path: Path, out: Path, n: int = 1600) -> Path:
    """``n`` reviews of the hotel set, drawn at random (the file is sorted by label)."""
    with open(hotel_path, encoding="utf-8", newline="") as f:
        header, *rows = list(csv.reader(f))
    random.Random(0).shuffle(rows)
    with open(out, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *rows[:n]])
    return out


def test_probe_speed_scales_with_reviews_and_epochs():
    p = estimate.ProbeSpeed(import_seconds=1.5, prepare_seconds=1.0, limit=400, encode_per_review=0.001,
                            train_per_review=0.002, val_per_review=0.0005, test_per_review=0.001, test_reviews=500,
                            threads=1)
    assert p.startup(400) == pytest.approx(2.5)
    assert p.startup(1000) == pytest.approx(2.5 + 0.001 * (1000 + 250 - 400 - 200))
    assert p.epoch(1000) == pytest.approx(2.0 + 0.5 * 250 / 1000)
    assert p.seconds(1000, 3) == pytest.approx(p.startup(1000) + 3 * p.epoch(1000) + 0.5 + estimate.FIXED_SECONDS)


def test_probe_key_leaves_out_the_review_count_and_epochs():
    a = estimate.probe_key(dict(TINY, data="hotel", limit=400, epochs=1), 1)
    assert a == estimate.probe_key(dict(TINY, data="hotel", limit=5000, epochs=7), 1)
    assert a != estimate.probe_key(dict(TINY, data="hotel", limit=400), 2)
    assert a != estimate.probe_key(dict(TINY, data="hotel", hidden=64), 1)


@pytest.mark.slow
def test_first_estimate_is_within_30_percent_of_a_real_run(hotel_path, tmp_path):
    """Probe on 400 reviews, estimate a run on 900 for 2 epochs, then run it: within 30% of its wall time."""
    data = hotel_slice(hotel_path, tmp_path / "slice.csv")
    estimate.PROBES.clear()
    t = time.time()
    speed = estimate.probe(dict(TINY, data=str(data), limit=400), threads=1)
    probe_seconds = time.time() - t
    assert speed is not None and speed.limit == 400 and speed.threads == 1
    guess = speed.seconds(900, 2)
    t = time.time()
    done = subprocess.run([sys.executable, "-m", "sentiment.train", "--data", str(data), "--cell", "gru", "--pooling",
                           "max", "--hidden", "16", "--embed", "32", "--layers", "1", "--max-len", "64", "--batch-size",
                           "64", "--lr", "0.01", "--limit", "900", "--epochs", "2", "--threads", "1",
                           "--out", str(tmp_path / "model")], capture_output=True, text=True, cwd=ROOT)
    real = time.time() - t
    assert done.returncode == 0, done.stderr[-2000:]
    print(f"probe {probe_seconds:.1f} s; estimate {guess:.1f} s; real {real:.1f} s ({guess / real - 1:+.0%})")
    assert abs(guess - real) <= 0.3 * real, (guess, real, speed)
    assert estimate.probe(dict(TINY, data=str(data), limit=900), threads=1) is speed  # timed once, then kept


@pytest.mark.slow
def test_the_page_times_batches_when_no_run_has_finished(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))
    monkeypatch.delenv(estimate.PROBE_ENV, raising=False)
    at = AppTest.from_file(str(ROOT / "tests" / "_train_page.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    at.selectbox(key="tr_dataset").set_value("hotel")
    at.slider(key="tr_limit").set_value(500)
    at.run()
    [cap] = [c.value for c in at.caption if "Estimated time" in c.value]
    assert "training batches of this model and data, timed on this server" in cap, cap


def test_a_few_timed_test_batches_give_the_whole_split_by_steps_and_tokens():
    """A packed forward costs per step (however few rows are left) and per token: fitted on four batches
    spread over the sizes, the whole split's time comes out right, where their mean (which weighs the one
    2,000-step batch like the common ones) would be several times too long."""
    steps = [40 + 4 * i for i in range(97)] + [2000]
    tokens = [256 * s * 3 // 4 for s in steps[:-1]] + [60_000]
    cost = [1e-3 * s + 2e-6 * n for s, n in zip(steps, tokens, strict=True)]
    at = [0, 32, 65, 97]
    whole = estimate.batch_seconds([cost[i] for i in at], [steps[i] for i in at], [tokens[i] for i in at], steps, tokens)
    assert whole == pytest.approx(sum(cost), rel=1e-9)
    assert sum(cost[i] for i in at) / len(at) * len(steps) > 1.5 * sum(cost)


def test_timed_batches_of_one_length_fall_back_to_the_time_per_step():
    whole = estimate.batch_seconds([0.2, 0.2], [100, 100], [5000, 5000], [100, 100, 50], [5000, 5000, 2500])
    assert whole == pytest.approx(0.5)
