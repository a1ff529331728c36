"""How long a training run will take, said before it starts (the Train page's estimate). Torch-free.

The work of a run is counted in token-steps: each training review costs its tokens (at most
--max-len) in every epoch; each validation review (every epoch) and test review (once) costs a third
of that (a forward pass, no backward); a wider model costs more per token, as sqrt(hidden / 64). The
seconds are the run's start-up (importing torch, reading and tokenizing the data, building the
vocabulary) plus the work divided by a speed in token-steps per second. The speed and the start-up
are those the last finished run on this server showed (so the estimate follows this machine's load
and its thread policy); before any run, those measured on the reference machine (2-core CPU, one
thread, hotel). A review's tokens are the dataset's typical length, capped: with reviews of mean
length m and a cap c, about m * (1 - exp(-c / m)) (as if lengths were exponential).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

# Mean tokens per training review (hotel: jieba words; imdb: English words), measured on the train split.
TYPICAL_TOKENS = {"hotel": 68.0, "imdb": 270.0}
OTHER_TOKENS = 100.0  # a dataset we know nothing of (an upload)
TEST_REVIEWS = {"hotel": 776, "imdb": 25_000}  # the test split's size (untouched by --limit)
FORWARD_SHARE = 1 / 3  # a review tested or validated costs this share of a trained one


@dataclass(frozen=True)
class Speed:
    """How fast runs train here: token-steps per second, the start-up seconds, and where that was measured."""

    token_steps_per_second: float
    startup_seconds: float
    source: str | None = None  # the run id it was measured on; None: the reference machine


# Measured on the reference machine (2-core CPU, torch 2.13, --threads 1) as CPU seconds, which is the wall
# time of a machine otherwise idle: the Train page's quick run on hotel (GRU 32, 4 epochs of 5,000 reviews,
# 128 tokens, batches of 128) took 25.5 s in all, about 8 s of it start-up (a 128-review run took 6.2 s);
# 894,000 token-steps in 17.5 s. A GRU 64 run (3 epochs, batches of 64) is then estimated at 26.7 s: it took 30.5 s.
REFERENCE = Speed(token_steps_per_second=50_000.0, startup_seconds=8.0)


def review_tokens(dataset: str | None, max_len: int) -> float:
    """The mean tokens a review of ``dataset`` is trained on, cut at ``max_len``."""
    m = TYPICAL_TOKENS.get(dataset or "", OTHER_TOKENS)
    return m * (1 - math.exp(-max_len / m))


def token_steps(train: int, val: int, test: int, epochs: int, max_len: int, hidden: int, dataset: str | None) -> float:
    """The work of a run, in token-steps (see the module's docstring)."""
    per_review = review_tokens(dataset, max_len) * math.sqrt(hidden / 64)
    return per_review * (epochs * train + FORWARD_SHARE * (epochs * val + test))


def split_sizes(limit: int, dataset: str | None) -> tuple[int, int, int]:
    """(train, validation, test) reviews of a run on ``limit`` training reviews (as readers.limit draws them)."""
    return limit, max(limit // 4, 200), TEST_REVIEWS.get(dataset or "", max(limit // 8, 20))


def estimate_seconds(limit: int, epochs: int, max_len: int, hidden: int, dataset: str | None,
                     speed: Speed = REFERENCE) -> float:
    """The seconds a run will take from its start to its model: start-up plus the work at ``speed``."""
    train, val, test = split_sizes(limit, dataset)
    work = token_steps(train, val, test, epochs, max_len, hidden, dataset)
    return speed.startup_seconds + work / speed.token_steps_per_second


def measured_speed(run_id: str, config: dict, status: dict, events: Iterable[dict]) -> Speed | None:
    """The speed and start-up a finished run showed (its status's start time, its progress events' times,
    its sizes); None when they are not all there."""
    if config.get("init"):  # a retraining run's sizes are its model's, not in its config
        return None
    events = list(events)
    start = next((e for e in events if e.get("type") == "start"), None)
    done = next((e for e in events if e.get("type") == "done"), None)
    epochs = [e for e in events if e.get("type") == "epoch"]
    started = status.get("started")
    if not (start and done and epochs and started and isinstance(start.get("sizes"), dict)):
        return None
    try:
        sizes = start["sizes"]
        startup = float(start["time"]) - float(started)
        busy = float(done["time"]) - float(start["time"])
        work = token_steps(int(sizes["train"]), int(sizes["val"]), int(sizes["test"]), len(epochs),
                           int(config.get("max_len") or 256), int(config.get("hidden") or 64), config.get("dataset"))
    except (KeyError, TypeError, ValueError):
        return None
    if busy <= 0 or startup < 0 or work <= 0:
        return None
    return Speed(work / busy, startup, run_id)
