"""How long a training run will take, said before it starts (the Train page's estimate). Torch-free.

The work of a run is counted in token-steps: each training review costs its tokens (at most
--max-len) in every epoch; each validation review (every epoch) and test review (once) costs a third
of that (a forward pass, no backward); a wider model costs more per token, as sqrt(hidden / 64). The
seconds are the run's start-up (importing torch, reading and tokenizing the data, building the
vocabulary) plus the work divided by a speed in token-steps per second. The speed and the start-up
are those the last finished run on this server showed (so the estimate follows this machine's load
and its thread policy). Before any run has finished, probe() times a few real training batches of the
chosen model and data here, at the run's threads (see below); only when that fails, the speed
measured on the reference machine (2-core CPU, one thread, hotel). A review's tokens are the dataset's typical length, capped: with reviews of mean
length m and a cap c, about m * (1 - exp(-c / m)) (as if lengths were exponential).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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


# ---- the first estimate on a server that has finished no run: time a few real batches ----------------
#
# probe() starts ``python -m sentiment.training.estimate`` at the run's threads and niceness (so under the
# machine's load of the moment, as the run will be): it imports torch, reads and encodes the chosen data
# as the run would (train.prepare), builds the chosen model and times a few real training batches of the
# chosen batch size from the run's own length buckets, then the forward passes of validation and test.
# ProbeSpeed.seconds() scales these to any number of training reviews and epochs. One probe per
# (data, model, batch size, length, threads), kept for the process (PROBES).

PROBE_BATCHES = 6  # timed training batches (after WARM_BATCHES not timed: the first ones are slow)
WARM_BATCHES = 2
PROBE_LIMIT = 1000  # training reviews the probe reads and encodes at most
FIXED_SECONDS = 0.5  # the end of a run: checkpoint, calibration, card
PROBE_TEST_BATCHES = 4  # timed test batches, spread over the test split's batch sizes
TEST_BATCH = 256  # the batch size a run tests with (evaluate.logits_ids' default)


def batch_seconds(took: Sequence[float], steps: Sequence[int], tokens: Sequence[int], all_steps: Sequence[int],
                  all_tokens: Sequence[int]) -> float:
    """Seconds for a set of batches (each ``all_steps`` long, its longest review, holding ``all_tokens``
    tokens) from a few of them timed (``took`` seconds, ``steps``, ``tokens`` each). A packed recurrent
    forward costs a part per step (each step's ops, however few rows are left) and a part per token: both
    fitted by least squares. The timed batches span the sizes, so their mean would weigh the longest,
    rarest batch (2,000 steps of mostly one row) as much as the common ones: 2-3x too slow on IMDB."""
    sxx = sum(a * a for a in steps)
    sxy = sum(a * b for a, b in zip(steps, tokens, strict=True))
    syy = sum(b * b for b in tokens)
    sxt = sum(a * t for a, t in zip(steps, took, strict=True))
    syt = sum(b * t for b, t in zip(tokens, took, strict=True))
    det = sxx * syy - sxy * sxy
    if len(took) >= 2 and det > 1e-9 * sxx * syy:
        per_step, per_token = (sxt * syy - syt * sxy) / det, (syt * sxx - sxt * sxy) / det
        guesses = [per_step * a + per_token * b for a, b in zip(all_steps, all_tokens, strict=True)]
        if min(guesses) > 0:
            return sum(guesses)
    return sum(took) / max(sum(steps), 1) * sum(all_steps)  # per step alone


@dataclass(frozen=True)
class ProbeSpeed:
    """What a probe measured: start-up (import; read, encode at ``limit`` reviews, build the model and optimizer), the encoding seconds
    of one more review, the seconds of one training review (a batch's mean time, over batches of every size, per review),
    of one validation and one test review (forward only), and the test reviews' count."""

    import_seconds: float
    prepare_seconds: float
    limit: int
    encode_per_review: float
    train_per_review: float
    val_per_review: float
    test_per_review: float
    test_reviews: int
    threads: int

    def startup(self, limit: int) -> float:
        """Seconds from the run's start to its first batch: import, read, encode, build."""
        val, val0 = max(limit // 4, 200), max(self.limit // 4, 200)
        return max(0.0, self.import_seconds + self.prepare_seconds
                   + self.encode_per_review * (limit + val - self.limit - val0))

    def epoch(self, limit: int) -> float:
        """Seconds of one epoch: training ``limit`` reviews, then validating."""
        return self.train_per_review * limit + self.val_per_review * max(limit // 4, 200)

    def test(self) -> float:
        """Seconds of the end: testing, calibration, the checkpoint."""
        return self.test_per_review * self.test_reviews + FIXED_SECONDS

    def seconds(self, limit: int, epochs: int) -> float:
        """The estimated wall time of a run on ``limit`` training reviews for ``epochs`` epochs."""
        return self.startup(limit) + epochs * self.epoch(limit) + self.test()


PROBES: dict[tuple, ProbeSpeed] = {}
PROBE_ENV = "GATESCOPE_ESTIMATE_PROBE"  # "0": no probe, the reference machine's speed (the page's fast tests)


def probing() -> bool:
    import os

    return os.environ.get(PROBE_ENV, "1").strip() != "0"


def probe_key(config: dict, threads: int) -> tuple:
    return tuple(str(config.get(k)) for k in ("data", "cell", "pooling", "hidden", "embed", "layers",
                                               "bidirectional", "max_len", "batch_size", "device")) + (threads,)


def probe(config: dict, threads: int = 1, nice: int = 0, timeout: float = 120.0) -> ProbeSpeed | None:
    """Time a few real batches of ``config`` (a run's config: data, cell, hidden, max_len, batch_size, ...)
    in a process of its own at ``threads`` torch threads and niceness ``nice``; cached per process.
    None when the probe fails (the caller falls back to the reference speed)."""
    import json
    import subprocess
    import sys
    import time

    key = probe_key(config, threads)
    if key in PROBES:
        return PROBES[key]
    args = dict(config, limit=min(int(config.get("limit") or PROBE_LIMIT), PROBE_LIMIT), threads=threads, nice=nice)
    t0 = time.time()
    try:
        done = subprocess.run([sys.executable, "-m", "sentiment.training.estimate", json.dumps(args)],
                              capture_output=True, text=True, timeout=timeout)
        out = json.loads(done.stdout.strip().splitlines()[-1])
        out["import_seconds"] = out.pop("imported") - t0
        speed = ProbeSpeed(**out)
    except (OSError, subprocess.SubprocessError, ValueError, IndexError, TypeError, KeyError):
        return None
    PROBES[key] = speed
    return speed


def _probe_child(args: dict) -> dict:
    """The probe's process (see probe()): prints what it measured as one JSON line."""
    import os
    import time

    os.nice(int(args.pop("nice", 0) or 0))
    from dataclasses import fields

    import torch

    from sentiment.data import batching
    from sentiment.data.text import tokenize
    from sentiment.training import train as T  # what a run imports before it starts
    from sentiment.training.config import TrainConfig
    from sentiment.training.evaluate import logits_ids

    imported = time.time()
    threads = int(args.pop("threads", 1) or 1)
    torch.set_num_threads(threads)

    known = {f.name for f in fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in args.items() if k in known and k not in ("out", "metrics")}, out="")
    cfg = T.resolve(cfg)
    t = time.time()
    splits, spec, vocab, enc = T.prepare(cfg)
    device = T.resolve_device(cfg.device)
    model = T.build_model(cfg, None, vocab)
    train_x, train_y = enc["train"]
    s = T.start_session(cfg, model, device, max(1, len(train_x) // cfg.batch_size), 0, 1, 0, None)  # Adam imports dynamo
    prepare_seconds = time.time() - t
    texts = [x for x, _ in splits.train[:200]]
    t = time.time()
    for x in texts:
        vocab.encode(tokenize(x, spec)[: cfg.max_len])
    encode = (time.time() - t) / max(1, len(texts))
    lengths, labels = [len(x) for x in train_x], torch.tensor(train_y)
    batches = T.epoch_batches(s, lengths, 1)
    # A batch costs a fixed part (the optimizer's step over every weight) and a part per padded token: time
    # batches spread evenly over the epoch's batch sizes (B x longest), after a few that warm up.
    by_size = sorted(batches, key=lambda b: len(b) * max(lengths[j] for j in b))
    picked = [by_size[round(k * (len(by_size) - 1) / max(1, PROBE_BATCHES - 1))] for k in range(PROBE_BATCHES)]
    s.model.train()
    took = 0.0
    for i, batch in enumerate(batches[:WARM_BATCHES] + picked):
        t = time.time()
        ids, lens = batching.collate([train_x[j] for j in batch])
        T.train_step(s, ids.to(device), lens, labels[batch].to(device))
        if i >= WARM_BATCHES:
            took += time.time() - t
    train_per_review = took / len(picked) * len(batches) / max(1, len(train_x))
    val_x = enc["val"][0]
    logits_ids(s.model, val_x[:64], device=device)  # warm up the forward pass
    t = time.time()
    logits_ids(s.model, val_x, device=device)
    val_per_review = (time.time() - t) / max(1, len(val_x))
    test_x = enc["test"][0]
    # The test reads every review to its end in length-bucketed batches of TEST_BATCH: time a few of those
    # very batches, spread over their sizes, and fit their cost per step and per token (batch_seconds)
    test_lengths = [len(x) for x in test_x]
    test_batches = sorted(batching.bucket_batches(test_lengths, TEST_BATCH), key=lambda b: len(b) * max(test_lengths[j] for j in b))
    at = sorted({round(k * (len(test_batches) - 1) / max(1, PROBE_TEST_BATCHES - 1)) for k in range(PROBE_TEST_BATCHES)})
    picked = [test_batches[i] for i in at]
    logits_ids(s.model, [test_x[j] for j in picked[len(picked) // 2]], batch_size=TEST_BATCH, device=device)  # warm up
    took = []
    for batch in picked:
        t = time.time()
        logits_ids(s.model, [test_x[j] for j in batch], batch_size=TEST_BATCH, device=device)
        took.append(time.time() - t)
    steps = [max(test_lengths[j] for j in b) for b in test_batches]
    tokens = [sum(test_lengths[j] for j in b) for b in test_batches]
    test_per_review = batch_seconds(took, [steps[i] for i in at], [tokens[i] for i in at], steps, tokens) / max(1, len(test_x))
    return dict(imported=imported, prepare_seconds=prepare_seconds, limit=len(train_x), encode_per_review=encode,
                train_per_review=train_per_review, val_per_review=val_per_review, test_per_review=test_per_review,
                test_reviews=len(test_x), threads=threads)


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(_probe_child(json.loads(sys.argv[1]))))
