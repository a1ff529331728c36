"""Training and evaluation throughput (reviews per second) on real IMDB reviews.

Two model configurations, each timed two ways in the same run:
- baseline "seed loop": written like the seed tutorials: every review cut/padded to 200 tokens,
  no length buckets, no packing, float32, classifier on the last time step;
- GateScope's loop (sentiment.train): length-bucketed batches, the recurrence exact by true length
  (sentiment.modeling.model.run_rnn: one fused call for a batch without padding, else per layer and
  direction on right-padded input), fp16 autocast + GradScaler and cuDNN on CUDA.

Configurations: "seed" = the seed tutorials' model (embedding 30k x 256, 2-layer bidirectional
LSTM 256, batch 64, 200 tokens) and "small" = GateScope's shipped IMDB default (embedding 25k x 64,
1-layer BiLSTM 128, batch 128, 500 tokens max). On CUDA it also times one full IMDB training epoch
of the seed configuration with GateScope's loop, and compares with the seed tutorial's published
59 ms per training step of 64 reviews (about 1,085 reviews/s).

    python bench/train_throughput.py [--device cpu|cuda] [--steps N] [--rnn-path padded|per-direction|packed]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time

import torch
from torch import nn

from sentiment.data import batching, readers
from sentiment.data.text import Vocab, tokenize_en
from sentiment.modeling import model as model_mod
from sentiment.modeling.model import ModelConfig, SentimentRNN

PUBLISHED_MS_PER_STEP = 59.0  # seed tutorial 1 (PaddlePaddle BiLSTM), their GPU, batch 64


class SeedModel(nn.Module):
    """The seed tutorial's classifier: embedding -> LSTM over padded input -> last step -> linear."""

    def __init__(self, vocab: int, embed: int, hidden: int, layers: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed, padding_idx=0)
        self.rnn = nn.LSTM(embed, hidden, layers, batch_first=True, bidirectional=True, dropout=0.5)
        self.fc = nn.Linear(2 * hidden, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.embedding(ids))  # [B, T, 2H]
        return self.fc(out[:, -1, :])


CONFIGS = {
    "seed": dict(vocab=30_000, embed=256, hidden=256, layers=2, batch=64, max_len=200, pooling="last"),
    "small": dict(vocab=25_000, embed=64, hidden=128, layers=1, batch=128, max_len=500, pooling="max"),
}


def load_reviews(n: int, seed: int = 0) -> tuple[list[list[str]], list[int]]:
    path = readers.find_dataset("imdb")
    if path is None:
        sys.exit("IMDB not found: set GATESCOPE_DATA to the folder holding aclImdb_v1.tar.gz")
    train = readers.read_imdb(path).official["train"]
    sample = random.Random(seed).sample(train, n)
    return [tokenize_en(t) for t, _ in sample], [y for _, y in sample]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def synced_clock(device: torch.device) -> float:
    """time.perf_counter() once the device has finished its queued work."""
    sync(device)
    return time.perf_counter()


def time_seed_loop(cfg: dict, seqs: list[list[int]], labels: list[int], device: torch.device, steps: int) -> tuple[float, float]:
    """Reviews/s training and evaluating, the seed tutorial's way (fixed 200/500-token padding, fp32)."""
    model = SeedModel(cfg["vocab"], cfg["embed"], cfg["hidden"], cfg["layers"]).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    T, B = cfg["max_len"], cfg["batch"]
    fixed = torch.zeros(len(seqs), T, dtype=torch.long)
    for i, s in enumerate(seqs):
        s = s[:T]
        fixed[i, : len(s)] = torch.tensor(s)
    y_all = torch.tensor(labels)
    loss_fn = nn.CrossEntropyLoss()

    def batch(k: int) -> tuple[torch.Tensor, torch.Tensor]:
        j = (k * B) % (len(seqs) - B)
        return fixed[j : j + B].to(device), y_all[j : j + B].to(device)

    model.train()
    def train_step(k: int) -> None:
        ids, y = batch(k)
        opt.zero_grad()
        loss_fn(model(ids), y).backward()
        opt.step()

    for k in range(2):  # warm-up
        train_step(k)
    t0 = synced_clock(device)
    for k in range(steps):
        train_step(k)
    train_rps = steps * B / (synced_clock(device) - t0)
    model.eval()
    with torch.no_grad():
        t0 = synced_clock(device)
        for k in range(steps):
            model(batch(k)[0])
        eval_rps = steps * B / (synced_clock(device) - t0)
    return train_rps, eval_rps


def time_gatescope_loop(cfg: dict, seqs: list[list[int]], labels: list[int], device: torch.device, steps: int | None) -> tuple[float, float, float]:
    """Reviews/s training and evaluating with sentiment.train's loop; steps=None runs one whole pass."""
    mcfg = ModelConfig(vocab_size=cfg["vocab"], embed_dim=cfg["embed"], hidden_size=cfg["hidden"], num_layers=cfg["layers"],
                       bidirectional=True, cell="lstm", pooling=cfg["pooling"], dropout=0.5)
    model = SentimentRNN(mcfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    loss_fn = nn.CrossEntropyLoss()
    seqs = [s[: cfg["max_len"]] or [1] for s in seqs]
    y_all = torch.tensor(labels)
    batches = batching.bucket_batches([len(s) for s in seqs], cfg["batch"], shuffle=True, seed=0)
    if steps is not None:
        batches = (batches * math.ceil((steps + 2) / len(batches)))[: steps + 2]

    def step(b: list[int]) -> None:
        ids, lengths = batching.collate([seqs[i] for i in b])
        y = y_all[b]
        if amp:
            ids, y = ids.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
            loss = loss_fn(model(ids, lengths).float(), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()

    model.train()
    timed = batches[2:] if steps is not None else batches
    for b in batches[:2]:
        step(b)
    t0 = synced_clock(device)
    for b in timed:
        step(b)
    seconds = synced_clock(device) - t0
    train_rps = sum(len(b) for b in timed) / seconds
    model.eval()
    with torch.no_grad():
        t0 = synced_clock(device)
        for b in timed:
            ids, lengths = batching.collate([seqs[i] for i in b])
            model(ids.to(device, non_blocking=True), lengths)
        eval_rps = sum(len(b) for b in timed) / (synced_clock(device) - t0)
    return train_rps, eval_rps, seconds


def time_full_length_batch(cfg: dict, device: torch.device, reps: int = 3) -> tuple[float, float]:
    """Seconds (best of reps) for forward + backward of the recurrence alone on one batch whose reviews
    all have max_len tokens: run_rnn's fused call over every layer and direction vs per direction."""
    rnn = nn.LSTM(cfg["embed"], cfg["hidden"], cfg["layers"], batch_first=True, bidirectional=True).to(device)
    x = torch.randn(cfg["batch"], cfg["max_len"], cfg["embed"], device=device, requires_grad=True)
    lengths = torch.full((cfg["batch"],), cfg["max_len"])
    best = []
    for path in ("padded", "per-direction"):
        model_mod.RNN_PATH = path
        times = []
        for _ in range(reps + 1):  # the first is a warm-up
            t0 = synced_clock(device)
            model_mod.run_rnn(rnn, x, lengths).sum().backward()
            times.append(synced_clock(device) - t0)
        best.append(min(times[1:]))
    return best[0], best[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--steps", type=int, default=None, help="timed steps per measurement (default: 6 on CPU, 60 on CUDA)")
    ap.add_argument("--reviews", type=int, default=None, help="IMDB training reviews to sample (default 2,000 CPU / 22,500 CUDA)")
    ap.add_argument("--rnn-path", choices=["padded", "per-direction", "packed"], default="padded",
                    help="how the GateScope loop runs the recurrence (sentiment.modeling.model.RNN_PATH); "
                         "--compare-paths times every one of them in the same run")
    ap.add_argument("--compare-paths", action="store_true",
                    help="time the GateScope loop with each recurrence path, all against the same baseline")
    args = ap.parse_args()
    device = torch.device(args.device)
    model_mod.RNN_PATH = args.rnn_path
    paths = ["padded", "per-direction", "packed"] if args.compare_paths else [args.rnn_path]
    if device.type == "cpu":
        torch.set_num_threads(int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1)))
    steps = args.steps or (60 if device.type == "cuda" else 6)
    n = args.reviews or (22_500 if device.type == "cuda" else 2_000)
    tokens, labels = load_reviews(n)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    rows = []
    for cname, cfg in CONFIGS.items():
        vocab = Vocab.build(tokens, 2, cfg["vocab"])
        ids = [vocab.encode(t) for t in tokens]
        cfg = dict(cfg, vocab=max(len(vocab), 3))
        torch.manual_seed(0)
        b_tr, b_ev = time_seed_loop(cfg, ids, labels, device, steps)
        rows.append((cname, "seed loop (baseline)", b_tr, b_ev, 1.0, 1.0))
        for path in paths:
            model_mod.RNN_PATH = path
            torch.manual_seed(0)
            g_tr, g_ev, _ = time_gatescope_loop(cfg, ids, labels, device, steps)
            rows.append((cname, f"GateScope loop ({path})", g_tr, g_ev, g_tr / b_tr, g_ev / b_ev))
        model_mod.RNN_PATH = args.rnn_path
    print(f"device: {name}; torch {torch.__version__}; {n} IMDB training reviews; {steps} timed steps per row")
    head = "| config | loop | train reviews/s | eval reviews/s | train x baseline | eval x baseline |"
    print(head + "\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]:,.0f} | {r[3]:,.0f} | {r[4]:.2f}x | {r[5]:.2f}x |")
    if args.compare_paths:
        print("\nthe recurrence alone, forward + backward, one batch without padding (best of 3):")
        for cname, cfg in CONFIGS.items():
            fused, per = time_full_length_batch(cfg, device)
            print(f"{cname} [{cfg['batch']}, {cfg['max_len']}]: one fused call {fused * 1000:.1f} ms, "
                  f"per direction (baseline) {per * 1000:.1f} ms: {per / fused:.2f}x")
        model_mod.RNN_PATH = args.rnn_path
    if device.type == "cuda":
        vocab = Vocab.build(tokens, 2, CONFIGS["seed"]["vocab"])
        ids = [vocab.encode(t) for t in tokens]
        cfg = dict(CONFIGS["seed"], vocab=len(vocab))
        tr, _, seconds = time_gatescope_loop(cfg, ids, labels, device, None)
        published = 64 / (PUBLISHED_MS_PER_STEP / 1000)
        print(f"\nseed configuration, GateScope loop, one full epoch of {len(ids):,} IMDB reviews: {seconds:.1f} s "
              f"({tr:,.0f} reviews/s) = {tr / published:.1f}x the seed tutorial's published {published:,.0f} reviews/s "
              f"(59 ms per step of 64)")


if __name__ == "__main__":
    main()
