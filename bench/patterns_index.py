"""Patterns over a whole split (issue 24): the index of every review against today's sample format,
measured in the same run.

- "index": ``patterns.index.build_index`` over the first --reviews reviews of the model's test split
  (all 25,000 of IMDB by default): seconds, bytes on disk, the process's peak resident memory;
- "sample format" (baseline): ``patterns.trace_sample`` (every gate, float16, what the page traces
  today) on --baseline of the same reviews, scaled by tokens to the whole split (said in the output);
- "match": ``match_index`` for --queries random selections (1-5 units of one layer and direction,
  threshold 0.1-0.5), p50 and p95 seconds, and the matches found;
  its baseline: ``matching.match`` over the sample format's float16 arrays of the --baseline reviews,
  scaled by tokens to the whole split.
Targets (issue 24, this 2-core CPU): IMDB test indexed for imdb-lstm-max in at most 5 minutes, at most
1 GB on disk and 1.5 GB peak memory; a match over all of it in at most 1 s (p95 of 20 selections).

    python bench/patterns_index.py [--model imdb-lstm-max] [--reviews 25000] [--baseline 1000] [--threads 2] [--data CSV]
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from sentiment.data.readers import load, split_for
from sentiment.modeling import checkpoint
from sentiment.probe import patterns as P
from sentiment.probe.patterns import index as X
from sentiment.spec import models_root


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _queries(keys, H: int, n: int, seed: int = 0) -> list:
    rng = random.Random(seed)
    return [(rng.choice(keys), rng.sample(range(H), rng.randint(1, 5)), rng.choice([0.1, 0.2, 0.3, 0.4, 0.5]))
            for _ in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="imdb-lstm-max")
    ap.add_argument("--reviews", type=int, default=25_000)
    ap.add_argument("--baseline", type=int, default=1_000)
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", help="a labelled CSV/TSV to index instead of the model's test split (an upload)")
    ap.add_argument("--keep", help="build the index here and keep it (default: a temporary folder, removed)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    path = Path(args.model) if Path(args.model).exists() else models_root() / args.model
    ckpt = checkpoint.load(path)
    t = time.perf_counter()
    reviews = (load(args.data).examples if args.data else split_for(ckpt.card).test)[: args.reviews]
    print(f"{path.name}: {len(reviews):,} {'reviews of ' + args.data if args.data else 'test reviews'} read in {time.perf_counter() - t:.1f} s; torch threads {args.threads}")
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-index-"))
    try:
        _run(ckpt, reviews, work, args)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _run(ckpt, reviews, work: Path, args) -> None:
    before = _peak_mb()
    t = time.perf_counter()
    ix = X.build_index(ckpt, reviews, work / "index")
    build = time.perf_counter() - t
    size = ix.disk_bytes()
    print(f"index: {ix.n:,} reviews, {ix.n_tokens:,} tokens in {build:.1f} s; {size / 1e6:,.0f} MB on disk "
          f"({size / ix.n_tokens:.0f} bytes a token); peak memory {_peak_mb():,.0f} MB (before: {before:,.0f} MB)")
    sub = random.Random(0).sample(range(len(reviews)), min(args.baseline, len(reviews)))
    t = time.perf_counter()
    bt = P.trace_sample(ckpt, [reviews[i] for i in sub], work / "sample", n=len(sub))
    sample_s = time.perf_counter() - t
    scale = ix.n_tokens / bt.n_tokens
    sample_b = bt.disk_bytes()
    print(f"sample format (baseline): {bt.n:,} reviews, {bt.n_tokens:,} tokens in {sample_s:.1f} s, {sample_b / 1e6:,.0f} MB; "
          f"scaled by tokens to the whole split: {sample_s * scale:.0f} s, {sample_b * scale / 1e9:.1f} GB")
    print(f"  index / sample format: time {build / (sample_s * scale):.2f}x, disk {size / (sample_b * scale):.3f}x")
    times, found, base = [], [], []
    for key, units, thr in _queries(ix.keys, ix.hidden_size, args.queries):
        t = time.perf_counter()
        res = X.match_index(ix, key, units, thr)
        times.append(time.perf_counter() - t)
        found.append(res.total)
        t = time.perf_counter()
        P.match(bt, key, units, thr)
        base.append((time.perf_counter() - t) * scale)
    p50, p95 = np.percentile(times, [50, 95])
    b50, b95 = np.percentile(base, [50, 95])
    print(f"match over the index, {len(times)} selections: p50 {p50:.3f} s, p95 {p95:.3f} s "
          f"(matches found: median {int(np.median(found)):,}, max {max(found):,})")
    print(f"  sample format's match scaled to the whole split (baseline): p50 {b50:.3f} s, p95 {b95:.3f} s; "
          f"index / baseline p95 {p95 / b95:.2f}x")


if __name__ == "__main__":
    main()
