"""Recalibrating a model in place: its temperature fitted on the validation split, its ECE measured
on the test split, and its test accuracy by review length and by share of unknown words (what
predicts its errors), written into config.json and card.json. The weights are never touched, so the
accuracy cannot change.

CLI: ``python -m sentiment.calibrate --model DIR [--data PATH] [--lengths-only] [--dry-run] [--json]``;
``--lengths-only`` adds the length records and leaves the temperature as it is.

The splits are the model's own (rebuilt from its card, ``evaluate.split_for``); the temperature sees
only the validation reviews. A model refit on train + validation has no held-out validation
reviews: it is refused (its confidence could only be fitted on reviews it learned from).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sentiment.data.text import UNK_ID
from sentiment.errors import CheckpointError, GateScopeError
from sentiment.modeling import calibration, checkpoint
from sentiment.training.evaluate import encode_examples, logits_ids, split_for


def unknown_shares(seqs: Sequence[Sequence[int]]) -> np.ndarray:
    """[N] per review, the share of its tokens the vocabulary does not know (<unk>)."""
    return np.array([sum(1 for i in s if i == UNK_ID) / max(len(s), 1) for s in seqs], dtype=np.float64)


# Length buckets, in tokens as the model reads them (words: English words, ! and ?; jieba words for
# Chinese), inclusive; the last one has no upper end. They suit IMDB (median 173 words) and the hotel
# reviews (median about 50 jieba words) alike.
LENGTH_BUCKETS = ((1, 10), (11, 25), (26, 50), (51, 100), (101, 200), (201, 400), (401, None))
# Unknown-word share buckets, [lo, hi); the last one includes 100%.
UNKNOWN_BUCKETS = ((0.0, 0.02), (0.02, 0.05), (0.05, 0.10), (0.10, 0.20), (0.20, None))


def _bucket(value: float, lo: float, hi: float | None, closed: bool) -> bool:
    return value >= lo and (hi is None or (value <= hi if closed else value < hi))


def _rows(values: np.ndarray, correct: np.ndarray, buckets, closed: bool) -> list[dict]:
    rows = []
    for lo, hi in buckets:
        inside = np.array([_bucket(v, lo, hi, closed) for v in values], dtype=bool)
        n, right = int(inside.sum()), int(correct[inside].sum())
        rows.append({"lo": lo, "hi": hi, "n": n, "right": right, "accuracy": right / n if n else None})
    return rows


def length_unit(tokenizer: dict) -> str:
    """What a token of this tokenizer is to a reader: "characters" (char, list, Keras char_level) or "words"."""
    return "characters" if tokenizer.get("mode") in ("char", "list") or tokenizer.get("char_level") else "words"


def length_record(test_seqs: Sequence[Sequence[int]], correct: Sequence[bool], read_len: int, unit: str = "words") -> dict:
    """What predicts the model's errors on its own test split, for Explore's short-review note:
    ``{"by_length": ..., "by_unknown": ...}``, each the test accuracy in buckets (n and right per
    bucket) with the split's percentiles. Lengths are tokens as the model reads them (cut at read_len);
    ``unit`` says what a token is ("words" or "characters")."""
    correct = np.asarray(correct, dtype=bool)
    if len(correct) != len(test_seqs) or not len(correct):
        raise ValueError(f"{len(test_seqs)} test reviews but {len(correct)} outcomes")
    lengths = np.array([len(s) for s in test_seqs], dtype=np.int64)
    shares = unknown_shares(test_seqs)
    tokens, unk = int(lengths.sum()), sum(1 for s in test_seqs for i in s if i == UNK_ID)
    overall = float(correct.mean())
    by_length = {"test_reviews": len(correct), "accuracy": overall, "read_len": read_len, "unit": unit,
                 "p10": float(np.quantile(lengths, 0.1)), "p50": float(np.quantile(lengths, 0.5)),
                 "p90": float(np.quantile(lengths, 0.9)), "buckets": _rows(lengths, correct, LENGTH_BUCKETS, True)}
    by_unknown = {"test_reviews": len(correct), "accuracy": overall, "test_unknown_share": unk / max(tokens, 1),
                  "p50": float(np.quantile(shares, 0.5)), "p95": float(np.quantile(shares, 0.95)),
                  "buckets": _rows(shares, correct, UNKNOWN_BUCKETS, False)}
    return {"by_length": by_length, "by_unknown": by_unknown}


def calibration_record(val_logits: np.ndarray, val_labels: Sequence[int], test_logits: np.ndarray,
                       test_labels: Sequence[int], read_len: int) -> dict:
    """Fit T on validation; ECE (10 bins) and reliability tables before/after, on validation and test."""
    t = calibration.fit_temperature(val_logits, val_labels)
    rec: dict = {"temperature": round(t, 5), "fitted_on": "val", "val_size": len(val_labels),
                 "test_size": len(test_labels), "bins": calibration.BINS, "read_len": read_len}
    for split, lg, y in (("val", val_logits, val_labels), ("test", test_logits, test_labels)):
        rec[f"{split}_ece_before"] = calibration.ece(lg, y, 1.0)
        rec[f"{split}_ece_after"] = calibration.ece(lg, y, t)
        rec[f"{split}_nll_before"] = calibration.nll(lg, y, 1.0)
        rec[f"{split}_nll_after"] = calibration.nll(lg, y, t)
    noise = calibration.ece_noise(test_logits, t)
    rec["test_ece_noise_mean"], rec["test_ece_noise_p95"] = noise["mean"], noise["p95"]
    rec["test_accuracy"] = float((np.asarray(test_logits).argmax(1) == np.asarray(test_labels)).mean())
    rec["reliability_before"] = calibration.reliability(test_logits, test_labels, 1.0)
    rec["reliability_after"] = calibration.reliability(test_logits, test_labels, t)
    return rec


def _replace_json(path: Path, obj: dict) -> None:
    """Write obj to path atomically (temp file beside it, then rename)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def store_temperature(model_dir: str | Path, temperature: float) -> None:
    """config.json gains {"calibration": {"temperature": T, "fitted_on": "val"}}; nothing else changes."""
    d = checkpoint.resolve(model_dir)
    cfg = json.loads((d / "config.json").read_text(encoding="utf-8"))
    cfg["calibration"] = {"temperature": temperature, "fitted_on": "val"}
    _replace_json(d / "config.json", cfg)


def write(model_dir: str | Path, record: dict | None, lengths: dict, command: str) -> None:
    """Store the temperature in config.json and the records in card.json; the weights are not touched.
    ``record`` None (``--lengths-only``): only the length and unknown-word records change."""
    d = checkpoint.resolve(model_dir)
    card = json.loads((d / "card.json").read_text(encoding="utf-8"))
    if record is not None:
        store_temperature(d, record["temperature"])
        card["calibration"] = dict(record, date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                                   command=command)
    card.pop("domain", None)  # the unknown-word summary it held is in by_unknown
    card.update(lengths)
    _replace_json(d / "card.json", card)


def correct(logits, labels: Sequence[int]) -> np.ndarray:
    """[N] bool: the argmax of each review's logits is its label (a temperature cannot move it)."""
    return np.asarray(logits).argmax(1) == np.asarray(labels)


def calibrate(model_dir: str | Path, data: str | None = None, lengths_only: bool = False) -> tuple[dict | None, dict]:
    """(calibration record, length records) of one model, from its own validation and test splits.
    ``lengths_only``: the test split only; the calibration record is None and the temperature stays."""
    ckpt = checkpoint.load(model_dir)
    if ckpt.card.get("refit") and not lengths_only:
        raise CheckpointError("calibrate.refit", path=model_dir)
    splits = split_for(ckpt.card, data)
    read_len = ckpt.read_len
    test_x, test_y = encode_examples(splits.test, ckpt.vocab, ckpt.tokenizer, read_len)
    test_logits = logits_ids(ckpt.model, test_x).numpy()
    lengths = length_record(test_x, correct(test_logits, test_y), read_len, length_unit(ckpt.tokenizer))
    if lengths_only:
        return None, lengths
    val_x, val_y = encode_examples(splits.val, ckpt.vocab, ckpt.tokenizer, read_len)
    val_logits = logits_ids(ckpt.model, val_x).numpy()
    return calibration_record(val_logits, val_y, test_logits, test_y, read_len), lengths


def describe(model: str, record: dict | None, lengths: dict, dry_run: bool) -> str:
    """One line for the terminal: the temperature and ECE (when fitted), the shortest bucket and the median's."""
    by = lengths["by_length"]
    rows = [r for r in by["buckets"] if r["n"]]
    typical = next(r for r in by["buckets"] if r["lo"] <= by["p50"] and (r["hi"] is None or by["p50"] <= r["hi"]))
    span = lambda r: f"{r['lo']}-{r['hi']}" if r["hi"] is not None else f"{r['lo']}+"  # noqa: E731
    text = f"{model}: "
    if record is not None:
        text += (f"T = {record['temperature']:.3f} (validation, {record['val_size']} reviews); test ECE "
                 f"{record['test_ece_before']:.2%} -> {record['test_ece_after']:.2%}; ")
    text += (f"test accuracy {by['accuracy']:.4f}; {span(rows[0])} tokens {rows[0]['accuracy']:.1%} (n={rows[0]['n']}), "
             f"{span(typical)} tokens {typical['accuracy']:.1%} (n={typical['n']}); median {by['p50']:.0f}, p10 {by['p10']:.0f}")
    return text + (" (dry run: nothing written)" if dry_run else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sentiment.calibrate", description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, nargs="+", help="model directories (or shipped model names)")
    ap.add_argument("--data", help="dataset path (default: the card's dataset, found in GATESCOPE_DATA)")
    ap.add_argument("--lengths-only", action="store_true",
                    help="only measure the test accuracy by review length and by unknown-word share (card.json's "
                         "by_length and by_unknown); the temperature and the calibration record stay as they are")
    ap.add_argument("--dry-run", action="store_true", help="measure and print, write nothing")
    ap.add_argument("--json", action="store_true", help="print each record as one JSON line")
    args = ap.parse_args(argv)
    command = "python -m sentiment.calibrate " + shlex.join(argv if argv is not None else sys.argv[1:])
    status = 0
    for model in args.model:
        try:
            record, lengths = calibrate(model, args.data, lengths_only=args.lengths_only)
            if not args.dry_run:
                write(model, record, lengths, command)
        except GateScopeError as e:
            print(f"error: {e}", file=sys.stderr)
            status = 2
            continue
        if args.json:
            shown = {k: v for k, v in (record or {}).items() if not k.startswith("reliability")}
            print(json.dumps({"model": str(model), **shown, **lengths}))
        else:
            print(describe(str(model), record, lengths, args.dry_run))
    return status
