"""Training the bag-of-words reference (``sentiment.modeling.bow``): the same splits and tokenizer as
the gated models, word 1-2 grams, TF-IDF, L2-regularised logistic regression fitted by L-BFGS.

``python -m sentiment.train --bow --data imdb --out DIR [--init MODEL]``: with ``--init`` the bag of
words takes that gated model's tokenizer and vocabulary (so the two read the very same tokens and
the same unknown words); without it, a vocabulary is built from the training reviews like
``sentiment.train`` builds one. The regularisation strength is chosen on the validation split (never
the test split), the temperature too (``training.calibrate``); the test split is read once, at the end.
"""

from __future__ import annotations

import datetime
import platform
import shlex
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import pairwise
from pathlib import Path

import torch

from sentiment import spec as gs_spec
from sentiment.data import readers
from sentiment.data.text import Vocab, guess_language, tokenize
from sentiment.errors import GateScopeError
from sentiment.modeling import checkpoint
from sentiment.modeling.bow import BagOfWords, BowConfig, Features
from sentiment.training import calibrate
from sentiment.training.evaluate import logits_ids, metrics

MAX_BIGRAMS = 100_000  # the most frequent bigrams (by document frequency) kept as features
MIN_BIGRAM_DF = 3
L2_GRID = (3e-6, 1e-5, 3e-5, 1e-4)  # mean-loss L2 strengths tried (weakest first, warm-started), chosen on validation


def bigram_table(seqs: Sequence[Sequence[int]], vocab_size: int, max_bigrams: int = MAX_BIGRAMS,
                 min_df: int = MIN_BIGRAM_DF) -> torch.Tensor:
    """[Nb, 2] the bigrams of two known words in the most training reviews (at least min_df), sorted by a * V + b."""
    df: Counter = Counter()
    for s in seqs:
        df.update({a * vocab_size + b for a, b in pairwise(s) if a > 1 and b > 1})
    keys = sorted(k for k, n in df.most_common(max_bigrams) if n >= min_df)
    k = torch.tensor(keys, dtype=torch.int64)
    return torch.stack([k // vocab_size, k % vocab_size], 1) if len(keys) else torch.zeros(0, 2, dtype=torch.int64)


def design(model: BagOfWords, seqs: Sequence[Sequence[int]], chunk: int = 512) -> Features:
    """The TF-IDF features of id sequences as one sparse list (rows index the sequences), in chunks."""
    rows, cols, vals = [], [], []
    for a in range(0, len(seqs), chunk):
        part = seqs[a:a + chunk]
        T = max(len(s) for s in part)
        ids = torch.zeros(len(part), T, dtype=torch.int64)
        for i, s in enumerate(part):
            ids[i, :len(s)] = torch.tensor(s)
        x = model.features(ids, torch.tensor([len(s) for s in part]))
        rows.append(x.rows + a)
        cols.append(x.feats)
        vals.append(x.values)
    return Features(torch.cat(rows), torch.cat(cols), torch.cat(vals))


def fit_weights(X: Features, y: torch.Tensor, l2: float, w0: torch.Tensor | None = None,
                iters: int = 150) -> tuple[torch.Tensor, torch.Tensor]:
    """Logistic regression on sparse features X (N = len(y) reviews), labels y [N] in {0, 1}: (w [F],
    b [1]) minimising the mean log-loss + l2 / 2 * |w|^2 (L-BFGS, strong Wolfe line search). The score
    is a gather and a scatter-add over the non-zero entries, so each step costs O(non-zeros)."""
    F = len(w0) if w0 is not None else int(X.feats.max()) + 1
    w = (w0.clone() if w0 is not None else torch.zeros(F)).requires_grad_(True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=iters, history_size=20, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-6, tolerance_change=1e-9)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        z = torch.zeros(len(y)).index_add(0, X.rows, X.values * w[X.feats]) + b  # [N]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y) + l2 / 2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach()


def build(train_seqs: Sequence[Sequence[int]], vocab_size: int, max_bigrams: int = MAX_BIGRAMS) -> BagOfWords:
    """An untrained BagOfWords: its bigram table and the training split's smoothed idf."""
    bigrams = bigram_table(train_seqs, vocab_size, max_bigrams)
    model = BagOfWords(BowConfig(vocab_size=vocab_size, num_bigrams=len(bigrams)))
    model.bigrams.copy_(bigrams)
    model.idf.fill_(1.0)
    X = design(model, train_seqs)  # one entry per (review, feature) present
    df = torch.zeros(model.config.num_features).index_add_(0, X.feats, torch.ones_like(X.values))  # [F]
    model.idf.copy_(torch.log((1 + len(train_seqs)) / (1 + df)) + 1)
    return model


def _encode(examples, vocab: Vocab, spec: dict, read_len: int) -> tuple[list[list[int]], list[int]]:
    return [vocab.encode(tokenize(t, spec)[:read_len]) or [1] for t, _ in examples], [y for _, y in examples]


def tokenizer_and_vocab(splits: readers.Splits, like: checkpoint.Checkpoint | None, min_freq: int,
                        vocab_size: int) -> tuple[dict, Vocab]:
    """The --init model's tokenizer and vocabulary, or new ones built from the training reviews."""
    if like is not None:
        return dict(like.tokenizer), like.vocab
    language = "zh" if guess_language(" ".join(t for t, _ in splits.train[:200])) == "zh" else "en"
    spec = {"language": "zh", "mode": "word"} if language == "zh" else {"language": "en", "mode": "word", "letters": "latin"}
    return spec, Vocab.build([tokenize(t, spec) for t, _ in splits.train], min_freq, vocab_size)


def choose_l2(model: BagOfWords, X: Features, y: torch.Tensor, val_x: Sequence[Sequence[int]],
              val_y: Sequence[int], say: Callable[[str], None]) -> tuple[float, float, list[dict]]:
    """Fit each L2 strength of the grid (warm-started), keep the best by validation accuracy."""
    best, history, w = None, [], None
    w = torch.zeros(model.config.num_features)
    for l2 in L2_GRID:
        w, b = fit_weights(X, y, l2, w)
        model.weight.data.copy_(w)
        model.bias.data.copy_(b)
        acc = metrics(logits_ids(model, val_x).argmax(1).tolist(), val_y)["accuracy"]
        history.append({"type": "l2", "l2": l2, "val_acc": acc})
        say(f"L2 {l2:g}: validation accuracy {acc:.4f}")
        if best is None or acc > best[1]:
            best = (l2, acc, w.clone(), b.clone())
    model.weight.data.copy_(best[2])
    model.bias.data.copy_(best[3])
    return best[0], best[1], history


def fit(cfg, callback: Callable[[dict], None] | None = None) -> dict:
    """Train a bag of words from a TrainConfig (data, out, format, split_seed, limit, seed, init,
    min_freq, vocab_size, half, command), write its checkpoint, return the card."""
    t0 = time.time()
    say = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    out = Path(cfg.out)
    if out.exists() and any(out.iterdir()):
        raise GateScopeError("train.out_exists", path=out, flag="--out")
    from sentiment.training.train import resolve_data  # the training CLI's dataset lookup (imdb, hotel, paths)
    path = resolve_data(cfg.data)
    splits = readers.limit(readers.split(readers.load(path, cfg.format), seed=cfg.split_seed), cfg.limit, cfg.seed)
    like = checkpoint.load(cfg.init) if cfg.init else None
    spec, vocab = tokenizer_and_vocab(splits, like, cfg.min_freq or 2, cfg.vocab_size or 30_000)
    read_len = gs_spec.READ_LIMIT
    (tx, ty), (vx, vy), (sx, sy) = (_encode(getattr(splits, s), vocab, spec, read_len) for s in ("train", "val", "test"))
    model = build(tx, len(vocab))
    say(f"bag of words: {len(vocab):,} words, {model.config.num_bigrams:,} bigrams, {len(tx):,} training reviews")
    l2, val_acc, history = choose_l2(model, design(model, tx), torch.tensor(ty, dtype=torch.float32), vx, vy, say)
    if cfg.half:  # test the weights exactly as they will be stored
        for p in (model.weight, model.bias, model.idf):
            p.data.copy_(p.data.half().float())
    val_logits, test_logits = logits_ids(model, vx).numpy(), logits_ids(model, sx).numpy()
    test = metrics(test_logits.argmax(1).tolist(), sy)
    card = dict(splits.info, data_path=str(path), name=out.name, language=spec["language"], kind="bow",
                test_accuracy=test["accuracy"], test_size=test["n"], test_balanced_accuracy=test["balanced_accuracy"],
                test_f1=test["f1"], test_confusion=test["confusion"], val_accuracy=val_acc, l2=l2, history=history,
                features={"words": len(vocab), "bigrams": model.config.num_bigrams, "weighting": "log(1+tf) x idf, L2-normalised"},
                train_seconds=round(time.time() - t0, 1), device="cpu", torch=torch.__version__,
                python=platform.python_version(), read_len=read_len,
                date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                command=cfg.command or "python -m sentiment.train --bow " + shlex.join(["--data", cfg.data, "--out", cfg.out]),
                **({"vocabulary_from": {"model": str(cfg.init), "sha256": like.card.get("weights_sha256", "")}}
                   if like is not None else {}))
    card["calibration"] = calibrate.calibration_record(val_logits, vy, test_logits, sy, read_len)
    card.update(calibrate.length_record(sx, calibrate.correct(test_logits, sy), read_len, calibrate.length_unit(spec)))
    checkpoint.save(out, model, vocab, spec, read_len, card, half=cfg.half)
    calibrate.store_temperature(out, card["calibration"]["temperature"])
    from sentiment.training.train import _emit  # the run page reads the same events
    _emit({"type": "done", "test_accuracy": test["accuracy"], "test_size": test["n"], "out": str(out)}, cfg.metrics, callback)
    say(f"test accuracy {test['accuracy']:.4f} on {test['n']} reviews; checkpoint written to {out}")
    return card
