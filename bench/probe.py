"""The probe's speed (CPU): recomputing every gate vs the fused forward alone vs a naive step loop.

Part 1, one 400-token review, 2-layer bidirectional LSTM and GRU (embed 128, hidden 128 and 256),
timed in one run:
- "fused": the fused nn.LSTM / nn.GRU forward alone (packed, as SentimentRNN.encode runs it);
- "probe": sentiment.probe.recompute (fused run per layer and direction + every gate recomputed);
- "naive": the reference equations one step at a time (sentiment.probe.reference.step_by_step).
Targets: probe <= 2x fused, naive >= 5x probe.

Part 2, the full Trace (prefix predictions and occlusion, no integrated gradients) of a 400-token
review with shipped models (assets/models/, when present) or a shipped-size stand-in, next to the
"brute" way of getting the same numbers (every prefix and every occluded variant through the model),
and the "matmul floor": the time the recurrent matrix products that exact prefix predictions and
occlusion cannot avoid (bidirectional: 1.5 T^2 cell steps) take alone, at the speed this machine
multiplies [400, H] by [H, gates x H] (best of 20 x 20 products, measured before and after the model's
timings, the faster kept): no gate arithmetic, no pooling, no input projections; "full/floor" is the
full Trace's best time over that floor (issue 24's targets: 1.5x imdb-lstm-max, 2x imdb-gru-attention).
"fused module, same row-steps": PyTorch's own fused nn.LSTM / nn.GRU (one direction, the model's sizes)
over a dense batch of 400 sequences of 400 tokens, scaled to the same 1.5 T^2 row-steps: how far above
the floor PyTorch's own kernels run these steps ("fused/floor"), input projections included.

Part 3, why the step loops take tanh(x) as 2 sigmoid(2x) - 1 (``sentiment.probe.variants.tanh_``):
PyTorch's torch.tanh, torch.sigmoid and that tanh_ on a [2, R, 128] block of states (one step of both
directions), R = 50, 200, 400 rows, in us per call (best of 20 x 200 calls), and the largest difference
of each tanh from float64's over [-12, 12].

    python bench/probe.py [--threads 2] [--reps 10] [--markdown] [--part 1|2|3] [--models a,b]

Needs the package importable: ``pip install -e .`` (as .ci/run does) or run it as
``python -m bench.probe`` from the checkout.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from sentiment import probe
from sentiment.data.batching import collate
from sentiment.data.text import Vocab, tokenize
from sentiment.modeling import checkpoint
from sentiment.modeling.model import ModelConfig, SentimentRNN
from sentiment.probe.reference import step_by_step
from sentiment.probe.variants import tanh_
from sentiment.spec import models_root

T = 400


def best_ms(fn, reps: int) -> tuple[float, float]:
    """(min, median) wall time in ms over reps calls, after one warm-up call."""
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return min(ts), statistics.median(ts)


def part1(reps: int) -> list[list[str]]:
    rows = []
    for cell in ("lstm", "gru"):
        for H in (128, 256):
            torch.manual_seed(0)
            rnn = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(128, H, 2, batch_first=True, bidirectional=True).eval()
            x = torch.randn(1, T, 128)
            lengths = torch.tensor([T])

            def fused():
                with torch.no_grad():
                    rnn(pack_padded_sequence(x, lengths, batch_first=True))

            def probed():
                with torch.no_grad():
                    probe.recompute(rnn, x, lengths)

            f, fm = best_ms(fused, reps)
            p, pm = best_ms(probed, reps)
            n, nm = best_ms(lambda: step_by_step(rnn, x[0]), max(2, reps // 5))
            rows.append([f"2-layer Bi{cell.upper()} {H}", f"{f:.1f}", f"{p:.1f}", f"{n:.0f}", f"{p / f:.2f}x", f"{n / p:.1f}x"])
    return rows


def stand_in() -> checkpoint.Checkpoint:
    """A shipped-size model with random weights: embed 64, 1-layer BiLSTM 128, max pooling."""
    torch.manual_seed(0)
    vocab = Vocab(["<pad>", "<unk>"] + [f"w{i}" for i in range(5000)])
    model = SentimentRNN(ModelConfig(len(vocab), 64, 128, 1, True, "lstm", "max")).eval()
    return checkpoint.Checkpoint(model, vocab, {"language": "en", "mode": "word"}, 500, {}, "stand-in-lstm-max")


def ideal_steps(T: int, bidirectional: bool) -> int:
    """Cell steps (rows x steps) that exact prefix predictions + occlusion of a 1-layer model cannot
    do without: each prefix's backward direction (bidirectional only: T(T+1)/2) and, for each
    occluded token k, the forward steps from k on and the backward steps up to k."""
    occl = T * (T + 1) if bidirectional else T * (T + 1) // 2
    return occl + (T * (T + 1) // 2 if bidirectional else 0)


def matmul_floor_ms(steps: int, H: int, gates: int, rows: int = 400) -> float:
    """Time the recurrent matrix products of `steps` cell steps alone would take ([1, H] @ [H, gates*H]
    each), at the speed this machine multiplies them in batches of `rows`, measured now."""
    a, w = torch.randn(rows, H), torch.randn(gates * H, H)
    best, _ = best_ms(lambda: [a @ w.T for _ in range(20)], 20)
    return steps / rows * best / 20


def fused_module_ms(steps: int, cell: str, In: int, H: int, rows: int = 400) -> float:
    """Time PyTorch's own fused one-direction module (nn.LSTM / nn.GRU / nn.RNN, oneDNN where torch uses
    it) would take for `steps` row-steps, at the speed it runs a dense batch of `rows` sequences of
    `rows` tokens (input projections included, no pooling), measured now: a reference for how close
    to the matmul floor a step loop can come with PyTorch's kernels."""
    torch.manual_seed(0)
    mod = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](In, H, batch_first=True).eval()
    x = torch.randn(rows, rows, In)
    with torch.inference_mode():
        best, _ = best_ms(lambda: mod(x), 3)
    return steps / (rows * rows) * best


def part2(reps: int, names: list[str]) -> list[list[str]]:
    ckpts = [checkpoint.load(models_root() / n) for n in names if (models_root() / n).is_dir()]
    ckpts = ckpts or [stand_in()]
    rows = []
    rng = np.random.default_rng(0)
    for ck in ckpts:
        words = [w for w in ck.vocab.itos[2:3000] if tokenize(w, ck.tokenizer) == [w]]
        text = (" " if ck.language == "en" else "").join(rng.choice(words, T))  # 400 in-vocabulary tokens
        if ck.language == "zh" and len(ck.encode(text).ids) != T:  # jieba may merge neighbours: use the ids
            continue
        ids = ck.encode(text).ids
        assert len(ids) == T
        c = ck.config
        n_gates = {"lstm": 4, "gru": 3, "rnn": 1}[c.cell]
        floors = [matmul_floor_ms(ideal_steps(T, c.bidirectional), c.hidden_size, n_gates)]  # before and after the timings
        gates, _ = best_ms(lambda: probe.trace(ck, text, prefix=False, occlusion=False), reps)
        pre, _ = best_ms(lambda: probe.trace(ck, text, prefix=True, occlusion=False), reps)
        full, full_med = best_ms(lambda: probe.trace(ck, text), reps)

        def brute():
            with torch.no_grad():
                ck.model(*collate([ids[: t + 1] for t in range(T)]))
                ck.model(*collate([ids[:t] + [1] + ids[t + 1:] for t in range(T)]))

        b, _ = best_ms(brute, 2)
        floors.append(matmul_floor_ms(ideal_steps(T, c.bidirectional), c.hidden_size, n_gates))
        floor = min(floors) if c.num_layers == 1 else float("nan")
        fused = fused_module_ms(ideal_steps(T, c.bidirectional), c.cell, c.embed_dim, c.hidden_size)
        rows.append([Path(ck.path).name, f"E{c.embed_dim} {c.num_layers}x{'Bi' if c.bidirectional else ''}{c.cell.upper()} "
                     f"{c.hidden_size}, {c.pooling}", f"{gates:.0f}", f"{pre:.0f}", f"{full:.0f} (median {full_med:.0f})",
                     f"{b:.0f}", f"{b / full:.1f}x", f"{floor:.0f}", f"{full / floor:.2f}x", f"{fused:.0f}", f"{fused / floor:.2f}x"])
    return rows


def part3() -> list[list[str]]:
    rows = []
    for R in (50, 200, 400):
        x = torch.randn(2, R, 128)
        y, x2 = torch.empty_like(x), 2 * x
        per_call = [best_ms(lambda f=f: [f() for _ in range(200)], 20)[0] / 200 * 1e3 for f in
                    (lambda: torch.tanh(x, out=y), lambda: torch.sigmoid(x, out=y), lambda: tanh_(x2, out=y))]
        rows.append([f"[2, {R}, 128]"] + [f"{t:.1f}" for t in per_call] + [f"{per_call[0] / per_call[2]:.1f}x"])
    v = torch.linspace(-12, 12, 2_000_001)
    want = torch.tanh(v.double())
    errs = [float((got.double() - want).abs().max()) for got in (torch.tanh(v), tanh_(2 * v))]
    rows.append(["max error vs float64", f"{errs[0]:.1e}", "", f"{errs[1]:.1e}", ""])
    return rows


def table(head: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows])
    w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    return "\n".join("  ".join(str(x).rjust(n) for x, n in zip(r, w)) for r in [head] + rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--models", default="imdb-lstm-max,imdb-gru-attention,imdb-lstm-mean",
                    help="shipped models for part 2 (names under assets/models/)")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--part", type=int, choices=(1, 2, 3), help="run only this part")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, T = {T} tokens, batch 1, times in ms (best of reps)")
    if args.part in (None, 1):
        print(table(["model", "fused", "probe", "naive", "probe/fused", "naive/probe"], part1(args.reps), args.markdown))
        print()
    if args.part in (None, 3):
        print(table(["states", "torch.tanh (us)", "torch.sigmoid (us)", "tanh_ = 2 sigmoid(2x) - 1 (us)", "tanh / tanh_"],
                    part3(), args.markdown))
        print()
    if args.part in (None, 2):
        print(table(["model", "config", "Trace (gates only)", "+ prefixes", "full Trace (prefixes + occlusion)",
                     "brute prefixes + occlusion", "brute/full", "matmul floor", "full/floor",
                     "fused module, same row-steps", "fused/floor"],
                    part2(args.reps, args.models.split(",")), args.markdown))


if __name__ == "__main__":
    main()
