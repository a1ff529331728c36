"""What the Explore page computes for a new review, timed on a 400-token review with a shipped model.

Baseline: a plain prediction (tokenize + encode + the fused model's forward), measured in the same run.
Rows: the fast pass the page shows first (tokenize + predict + trace of every gate + the five Explore
figures built and serialised to JSON, as st.plotly_chart does), and the slower extras the Reading
tab asks for (prefix predictions, occlusion, integrated gradients).

    python bench/app_latency.py [--model assets/models/imdb-lstm-max] [--reps 5] [--tokens 400]
    python bench/app_latency.py --tokens 1500 --fast   # a whole long review (issue 15): first draw < 1 s

Reviews are read whole up to spec.READ_LIMIT (2,000) tokens; --fast times only the baseline and the
page's first draw (the Reading tab's extras grow with the square of the length).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from sentiment import figures, probe
from sentiment.modeling import checkpoint
from sentiment.modeling.predict import predict

# 400 tokens of plain English written for this benchmark (no dataset text).
SENTENCE = ("the film opens slowly but the acting is honest and warm , and by the middle i was not bored at all ; "
            "still the ending felt rushed and a little silly , which is a pity because the music was lovely . ")


def review(tokens: int, ckpt: checkpoint.Checkpoint) -> str:
    text = SENTENCE
    while len(ckpt.encode(text).ids) < tokens:
        text += SENTENCE
    words = text.split()
    while len(ckpt.encode(" ".join(words)).ids) > tokens:
        words.pop()
    return " ".join(words)


def timed(fn, reps: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def page_figures(tr: probe.Trace) -> None:
    """The Explore page's figures for one trace, serialised as st.plotly_chart does."""
    for fig in (figures.gate_heatmaps(tr, 0, "forward", top_k=32), figures.pooling_bar(tr),
                figures.saturation_histogram(tr, 0, "forward")):
        fig.to_json()
    if tr.prefix_probs is not None:
        figures.prefix_curve(tr).to_json()
    if tr.occlusion is not None:
        figures.attribution_bar(tr, "occlusion").to_json()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="assets/models/imdb-lstm-max")
    ap.add_argument("--tokens", type=int, default=400)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--fast", action="store_true", help="only the baseline and the page's first draw")
    ap.add_argument("--target-ms", type=float, default=1000.0, help="the first draw's target (default 1 s)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    ckpt = checkpoint.load(args.model)
    ckpt.max_len = max(ckpt.max_len, args.tokens)
    text = review(args.tokens, ckpt)
    n = len(ckpt.encode(text).ids)
    rows = [
        ("predict only (baseline)", lambda: predict(ckpt, text)),
        ("fast pass: predict + trace of every gate", lambda: probe.trace(ckpt, text, prefix=False, occlusion=False)),
        ("fast pass + Explore figures (page's first draw)",
         lambda: page_figures(probe.trace(ckpt, text, prefix=False, occlusion=False))),
        ("+ prefix predictions", lambda: probe.trace(ckpt, text, prefix=True, occlusion=False)),
        ("+ prefix predictions + occlusion (full Trace, no IG)", lambda: probe.trace(ckpt, text, prefix=True, occlusion=True)),
        ("integrated gradients only", lambda: probe.trace(ckpt, text, prefix=False, occlusion=False, integrated_gradients=True)),
    ]
    if args.fast:
        rows = rows[:3]
    base = None
    print(f"model {args.model}; {n} tokens; torch {torch.__version__}; {torch.get_num_threads()} CPU threads; median of {args.reps}")
    print("| step | ms | x baseline |\n|---|---|---|")
    for name, fn in rows:
        ms = timed(fn, args.reps)
        base = base or ms
        print(f"| {name} | {ms:,.1f} | {ms / base:.1f}x |")
        if name.startswith("fast pass + Explore figures"):
            first_draw = ms
    verdict = "met" if first_draw < args.target_ms else "NOT met"
    print(f"\nfirst draw of a {n}-token review: {first_draw:,.0f} ms = {first_draw / base:.1f}x the plain prediction; "
          f"target {args.target_ms:,.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
