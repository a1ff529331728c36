"""Evaluation: accuracy, balanced accuracy, F1 and the confusion matrix on a model's own split.

CLI: ``python -m sentiment.evaluate --model DIR [--data PATH] [--split test] [--json]``.
The split is rebuilt from the seed recorded in the model's card, so the test reviews are ones
the model never saw. ``--pairs {en,zh,PATH} [--pair-split dev|test|all]`` measures the model on
minimal pairs instead (``training.pairs``; dev for choosing, test never tuned on).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from sentiment.data import batching, readers
from sentiment.data.readers import Example
from sentiment.data.text import tokenize
from sentiment.errors import GateScopeError
from sentiment.modeling import calibration, checkpoint


@torch.no_grad()
def logits_ids(model: nn.Module, seqs: Sequence[Sequence[int]], batch_size: int = 256, device: str | torch.device = "cpu") -> torch.Tensor:
    """Logits [N, C] (float32, on the CPU) for id sequences (each non-empty), batched by length."""
    model.eval()
    out = torch.empty(len(seqs), model.config.num_classes)
    for batch in batching.bucket_batches([len(s) for s in seqs], batch_size):
        ids, lengths = batching.collate([seqs[i] for i in batch])
        out[batch] = model(ids.to(device, non_blocking=True), lengths).float().cpu()
    return out


@torch.no_grad()
def predict_ids(model: nn.Module, seqs: Sequence[Sequence[int]], batch_size: int = 256, device: str | torch.device = "cpu",
                temperature: float = 1.0) -> torch.Tensor:
    """Class probabilities [N, C] (softmax(logits / temperature)) for id sequences, batched by length."""
    return calibration.probabilities(logits_ids(model, seqs, batch_size, device), temperature)


def metrics(pred: Sequence[int], gold: Sequence[int]) -> dict:
    """accuracy, n, confusion [[tn, fp], [fn, tp]] (rows gold neg/pos, columns predicted), balanced accuracy, F1."""
    conf = [[0, 0], [0, 0]]
    for p, g in zip(pred, gold, strict=True):
        conf[int(g)][int(p)] += 1
    n = len(gold)
    (tn, fp), (fn, tp) = conf
    acc = (tn + tp) / n if n else 0.0
    rec_pos = tp / (tp + fn) if tp + fn else 0.0
    rec_neg = tn / (tn + fp) if tn + fp else 0.0
    prec = tp / (tp + fp) if tp + fp else 0.0
    f1 = 2 * prec * rec_pos / (prec + rec_pos) if prec + rec_pos else 0.0
    return {"accuracy": acc, "n": n, "confusion": conf, "balanced_accuracy": (rec_pos + rec_neg) / 2, "f1": f1}


def encode_examples(examples: Sequence[Example], vocab, tokenizer: dict, max_len: int) -> tuple[list[list[int]], list[int]]:
    """Token ids (cut to max_len) and labels; a review with no tokens reads as one <unk>."""
    seqs, labels = [], []
    for text, y in examples:
        ids = vocab.encode(tokenize(text, tokenizer)[:max_len]) or [1]
        seqs.append(ids)
        labels.append(y)
    return seqs, labels


def encode_for(ckpt: checkpoint.Checkpoint, examples: Sequence[Example]) -> tuple[list[list[int]], list[int]]:
    """encode_examples with the model's own framing (an imported model: its start id, cut and padding)."""
    if not ckpt.imported:
        return encode_examples(examples, ckpt.vocab, ckpt.tokenizer, ckpt.read_len)
    return [ckpt.encode_ids(text) for text, _ in examples], [y for _, y in examples]


def evaluate_examples(ckpt: checkpoint.Checkpoint, examples: Sequence[Example], device: str = "cpu") -> dict:
    seqs, labels = encode_for(ckpt, examples)
    probs = predict_ids(ckpt.model, seqs, device=device, temperature=ckpt.temperature)
    return metrics(probs.argmax(1).tolist(), labels)


def misclassified(ckpt: checkpoint.Checkpoint, examples: Sequence[Example], limit: int = 300,
                  progress: Callable[[int, int], None] | None = None, chunk: int = 50) -> list[dict]:
    """The reviews among the first `limit` examples that the model gets wrong, most confident first:
    [{"text", "label", "p_positive"}]. ``progress(done, total)`` after each ``chunk`` reviews read."""
    sample = list(examples[:limit])
    p_pos: list[float] = []
    for a in range(0, len(sample), chunk):
        seqs, _ = encode_for(ckpt, sample[a: a + chunk])
        p_pos += predict_ids(ckpt.model, seqs, temperature=ckpt.temperature)[:, 1].tolist()
        if progress is not None:
            progress(len(p_pos), len(sample))
    wrong = [{"text": t, "label": readers.LABEL_NAMES[y], "p_positive": p} for (t, y), p in zip(sample, p_pos, strict=True) if (p >= 0.5) != bool(y)]
    return sorted(wrong, key=lambda w: -abs(w["p_positive"] - 0.5))


def split_for(card: dict, data_path: str | None = None) -> readers.Splits:
    """Rebuild the splits a model was trained with, from its card (dataset, format, split seed)."""
    path = data_path or card.get("data_path")
    if not path or not Path(path).exists():
        found = readers.find_dataset(card.get("dataset", ""))
        if found is None:
            raise GateScopeError("train.dataset_not_found", name=card.get("dataset"), flag="--data PATH", env="GATESCOPE_DATA")
        path = str(found)
    raw = readers.load(path, card.get("format"))
    return readers.split(raw, seed=int(card.get("split_seed", 0)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sentiment.evaluate", description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="model directory")
    ap.add_argument("--data", help="dataset path (default: the card's dataset, found in GATESCOPE_DATA)")
    ap.add_argument("--split", default="test", choices=["train", "val", "test"])
    ap.add_argument("--json", action="store_true", help="print {accuracy, n, confusion, ...} as JSON")
    ap.add_argument("--pairs", metavar="{en,zh,PATH}", help="measure on minimal pairs instead of a split: the shipped "
                    "English or Chinese set, or a pair file (assets/pairs/README.md)")
    ap.add_argument("--pair-split", default="dev", choices=["dev", "test", "all"],
                    help="which pairs with --pairs (default dev; test is for reporting, never for tuning)")
    args = ap.parse_args(argv)
    if args.pairs:
        return _main_pairs(args)
    try:
        ckpt = checkpoint.load(args.model)
        if args.split == "val" and ckpt.card.get("refit"):
            print("note: this model was refit on its training and validation reviews, so its validation "
                  "accuracy is not a held-out figure", file=sys.stderr)
        splits = split_for(ckpt.card, args.data)
        result = evaluate_examples(ckpt, getattr(splits, args.split))
    except GateScopeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        (tn, fp), (fn, tp) = result["confusion"]
        print(f"{args.model}: {args.split} accuracy {result['accuracy']:.4f} on {result['n']} reviews "
              f"(balanced {result['balanced_accuracy']:.4f}, F1 {result['f1']:.4f})")
        print("confusion (rows: true neg/pos; columns: predicted neg/pos)")
        print(f"  neg  {tn:6d} {fp:6d}\n  pos  {fn:6d} {tp:6d}")
    return 0


def _main_pairs(args: argparse.Namespace) -> int:
    from sentiment.training import pairs  # it builds on this module

    try:
        ckpt = checkpoint.load(args.model)
        result = pairs.evaluate_pairs(ckpt, pairs.load_pairs(args.pairs, args.pair_split))
    except GateScopeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
        return 0
    if not result["n"]:
        print(f"{args.model}: no {args.pair_split} pairs in {args.pairs}")
        return 0
    print(f"{args.model}: {args.pairs} {args.pair_split} pairs: sentence accuracy {result['accuracy']:.4f} on "
          f"{result['sentences']} sentences, both sides right in {result['pair_accuracy']:.4f} of {result['n']} pairs")
    for kind, r in result["by_kind"].items():
        print(f"  {kind:<16} sentences {r['accuracy']:.4f}  pairs {r['pair_accuracy']:.4f}  (n={r['n']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
