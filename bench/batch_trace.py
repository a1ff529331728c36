"""Batch tracing of a dataset sample (sentiment.probe.patterns) against tracing the reviews one at a time.

- "batch": ``patterns.trace_sample``: the sample's reviews, length-sorted, in padded batches through
  ``probe.recompute``, every gate written to float16 .npy files (what the Patterns page runs);
- "one at a time" (baseline): ``probe.trace(ckpt, text, prefix=False, occlusion=False)`` per review,
  the way a per-review tool would collect the same gates; and the same with every gate converted to
  float16 and written to a file, as the batch trace stores them. Measured on a seeded sub-sample of
  the same reviews and scaled by tokens to the whole sample (said in the output);
- "cache load": ``patterns.load_dir`` of the written directory (memory-mapped) and one review read.
Target (issue 7): 2,000 IMDB test reviews batch-traced in under 60 s on this machine's CPU.

    python bench/batch_trace.py [--model assets/models/imdb-lstm-max] [--reviews 2000] [--baseline 200] [--threads 1,2]

Each method is timed with each thread count (torch.set_num_threads): on this shared 2-core machine,
busy with other jobs, OpenMP with 2 threads was measured several times slower than 1.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from sentiment import probe
from sentiment.modeling import checkpoint
from sentiment.probe import patterns
from sentiment.spec import models_root
from sentiment.training import evaluate


def one_at_a_time(ckpt, texts: list[str], write_to: Path | None = None) -> float:
    """Seconds to trace the texts one by one with probe.trace (gates only), after one warm-up; with
    ``write_to``, every gate is also converted to float16 and appended to a file (what the cache stores)."""
    probe.trace(ckpt, texts[0], prefix=False, occlusion=False)
    t0 = time.perf_counter()
    f = open(write_to, "wb") if write_to else None
    try:
        for text in texts:
            tr = probe.trace(ckpt, text, prefix=False, occlusion=False)
            if f is not None:
                for lt in tr.layers:
                    for a in lt.gates.values():
                        f.write(a.astype(np.float16).tobytes())
    finally:
        if f is not None:
            f.close()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(models_root() / "imdb-lstm-max"))
    ap.add_argument("--reviews", type=int, default=2000)
    ap.add_argument("--baseline", type=int, default=200, help="reviews traced one at a time (then scaled by tokens)")
    ap.add_argument("--threads", default="1,2", help="torch intra-op thread counts to time, comma-separated")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reps", type=int, default=2, help="repetitions of each measurement; the best is kept")
    args = ap.parse_args(argv)
    threads = [int(x) for x in args.threads.split(",") if x.strip()]
    ckpt = checkpoint.load(args.model)
    t0 = time.perf_counter()
    test = evaluate.split_for(ckpt.card).test
    t_data = time.perf_counter() - t0
    rows = []
    out = Path(tempfile.mkdtemp(prefix="gatescope-bench-"))
    try:
        for th in threads:
            torch.set_num_threads(th)
            best: dict = {}
            for rep in range(args.reps):
                d = out / f"bt{th}-{rep}"
                t0, c0 = time.perf_counter(), time.process_time()
                bt = patterns.trace_sample(ckpt, test, d, n=args.reviews, seed=args.seed)
                t_batch, c_batch = time.perf_counter() - t0, time.process_time() - c0
                t0 = time.perf_counter()
                again = patterns.load_dir(d)
                again.review(again.n - 1, (0, "forward", "h"))
                t_load = time.perf_counter() - t0
                size = again.disk_bytes()
                del bt, again  # release the memory maps
                shutil.rmtree(d, ignore_errors=True)
                if not best or t_batch < best["batch"]:
                    best = dict(threads=th, batch=t_batch, batch_cpu=c_batch, load=t_load, size=size)
            rows.append(best)
        # the same sample's reviews (the split positions the batch trace recorded), a seeded sub-sample of them
        chosen = patterns.sample_indices(len(test), args.reviews, args.seed)
        readable = []
        for j in chosen:
            try:
                readable.append((j, len(ckpt.encode(test[j][0]).ids)))
            except Exception:
                continue
        n_tok = sum(n for _, n in readable)
        sub = random.Random(args.seed).sample(readable, min(args.baseline, len(readable)))
        sub_tokens = sum(n for _, n in sub)
        for row in rows:
            torch.set_num_threads(row["threads"])
            texts = [test[j][0] for j, _ in sub]
            t_sub = min(one_at_a_time(ckpt, texts) for _ in range(args.reps))
            t_sub_w = min(one_at_a_time(ckpt, texts, out / "single.bin") for _ in range(args.reps))
            row.update(sub=t_sub, single=t_sub * n_tok / sub_tokens, sub_w=t_sub_w, single_w=t_sub_w * n_tok / sub_tokens)
    finally:
        shutil.rmtree(out, ignore_errors=True)

    c = ckpt.config
    print(f"model {Path(args.model).name} ({c.cell}, {c.num_layers} layer(s), hidden {c.hidden_size}, "
          f"{'bi' if c.bidirectional else 'uni'}directional); torch {torch.__version__}; {os.cpu_count()} CPUs; "
          f"load average at the end {os.getloadavg()[0]:.1f} (a shared machine: other jobs were running)")
    print(f"sample: {len(readable):,} test reviews of {ckpt.card.get('dataset')}, {n_tok:,} tokens "
          f"(test split read in {t_data:.1f} s, not counted below)")
    print(f"baseline: probe.trace(prefix=False, occlusion=False) one review at a time, measured on {len(sub)} of the "
          f"reviews ({sub_tokens:,} tokens) and scaled by tokens to the whole sample; every time the best of {args.reps}")
    print()
    print("| threads | method | wall time (s) | reviews/s | x baseline |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['threads']} | one at a time (baseline; {r['sub']:.2f} s measured) | {r['single']:.1f} | "
              f"{len(readable) / r['single']:,.0f} | 1.00x |")
        print(f"| {r['threads']} | one at a time + float16 writes ({r['sub_w']:.2f} s measured) | {r['single_w']:.1f} | "
              f"{len(readable) / r['single_w']:,.0f} | {r['single'] / r['single_w']:.2f}x |")
        print(f"| {r['threads']} | batch: patterns.trace_sample, written to disk (CPU {r['batch_cpu']:.1f} s) | "
              f"{r['batch']:.1f} | {len(readable) / r['batch']:,.0f} | {r['single'] / r['batch']:.2f}x |")
    print()
    for r in rows:
        print(f"threads {r['threads']}: cache on disk {r['size'] / 1e6:,.0f} MB; load (memory-mapped) + one review read "
              f"{r['load'] * 1e3:.1f} ms")
    best = min(rows, key=lambda r: r["batch"])
    verdict = "met" if best["batch"] < 60 else "NOT met"
    print(f"target: {len(readable):,} reviews batch-traced in under 60 s: {verdict} "
          f"(best {best['batch']:.1f} s with {best['threads']} thread(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
