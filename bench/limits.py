"""The wall-clock limits the tests used to assert, timed here instead (tests check behaviour only).

Each row: a case, its baseline measured in the same run, the ratio, and the limit the project keeps:
- a 1 MB English paste predicted (cut to MAX_CHARS before tokenizing) vs a one-sentence review; limit 2 s;
- a 1 MB Chinese paste encoded through jieba vs one sentence; limit 3 s;
- edits found in a 0.5 MB paste (only within what the model reads) vs in one sentence; limit 2 s;
- the five Explore figures of a 400-token trace built and serialised vs the trace itself; limit 0.6 s
  (the page's budget is 300 ms on an idle machine);
- each shipped model loaded (checkpoint.load) vs reading its files' bytes; limit 1 s.

    python bench/limits.py [--reps 3]

Needs the package importable: ``pip install -e .`` (as .ci/run does) or ``python -m bench.limits``
from the checkout.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from sentiment import figures, probe
from sentiment.modeling import checkpoint
from sentiment.modeling.predict import predict
from sentiment.probe import counterfactual as cf
from sentiment.spec import models_root

SENTENCE = "the movie was good but the ending was not great ! "
ZH_SENTENCE = "房间很干净，服务不错！"


def best_s(fn: Callable[[], object], reps: int) -> float:
    """The best wall time in seconds over reps calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def row(name: str, case: Callable[[], object], baseline: Callable[[], object], limit: float, reps: int) -> str:
    c, b = best_s(case, reps), best_s(baseline, reps)
    verdict = "ok" if c < limit else "OVER"
    return f"{name:<48} {c * 1e3:9.1f} ms  baseline {b * 1e3:8.1f} ms  ratio {c / max(b, 1e-9):7.1f}x  limit {limit:.1f} s  {verdict}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    en, zh = checkpoint.load(models_root() / "imdb-lstm-max"), checkpoint.load(models_root() / "hotel-lstm-max")
    zh.encode("预热")  # jieba's dictionary loaded outside the timing
    long_en = SENTENCE * (400 // 10)
    tr = probe.trace(en, long_en, prefix=True, occlusion=True)

    def explore_figures() -> None:
        for fig in (figures.gate_heatmaps(tr, sort="correlation", top_k=32), figures.pooling_bar(tr),
                    figures.prefix_curve(tr), figures.attribution_bar(tr), figures.saturation_histogram(tr)):
            fig.to_json()

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, best of {args.reps}")
    print(row("1 MB English paste: predict", lambda: predict(en, "the movie was good ! " * 50_000),
              lambda: predict(en, SENTENCE), 2.0, args.reps))
    print(row("1 MB Chinese paste: encode (jieba)", lambda: zh.encode(ZH_SENTENCE * 100_000),
              lambda: zh.encode(ZH_SENTENCE), 3.0, args.reps))
    print(row("0.5 MB paste: find negation edits", lambda: cf.find_edits("good movie " * 50_000, "en", "negate"),
              lambda: cf.find_edits("good movie", "en", "negate"), 2.0, args.reps))
    print(row(f"Explore figures, {tr.length} tokens x {tr.hidden_size} units", explore_figures,
              lambda: probe.trace(en, long_en, prefix=True, occlusion=True), 0.6, args.reps))
    for d in sorted(p for p in models_root().iterdir() if p.is_dir()):
        print(row(f"load {d.name}", lambda: checkpoint.load(d),
                  lambda: [f.read_bytes() for f in d.iterdir() if f.is_file()], 1.0, args.reps))


if __name__ == "__main__":
    main()
