"""Recalibrating a model in place: its temperature fitted on the validation split, its ECE measured
on the test split, and its test split's share of unknown words, written into config.json and
card.json. The weights are never touched, so the accuracy cannot change.

CLI: ``python -m sentiment.calibrate --model DIR [--data PATH] [--dry-run] [--json]``.

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
from pathlib import Path
from typing import Sequence

import numpy as np

from sentiment.data.text import UNK_ID
from sentiment.errors import CheckpointError, GateScopeError
from sentiment.modeling import calibration, checkpoint
from sentiment.training.evaluate import encode_examples, logits_ids, split_for


def unknown_shares(seqs: Sequence[Sequence[int]]) -> np.ndarray:
    """[N] per review, the share of its tokens the vocabulary does not know (<unk>)."""
    return np.array([sum(1 for i in s if i == UNK_ID) / max(len(s), 1) for s in seqs], dtype=np.float64)


def domain_record(test_seqs: Sequence[Sequence[int]], dataset: str) -> dict:
    """What the test split looks like to the model, for Explore's "out of its domain?" note."""
    shares = unknown_shares(test_seqs)
    tokens = sum(len(s) for s in test_seqs)
    unk = sum(1 for s in test_seqs for i in s if i == UNK_ID)
    return {"dataset": dataset, "test_unknown_share": unk / max(tokens, 1),
            "test_unknown_share_p50": float(np.quantile(shares, 0.5)),
            "test_unknown_share_p95": float(np.quantile(shares, 0.95)), "test_reviews": len(test_seqs)}


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


def write(model_dir: str | Path, record: dict, domain: dict, command: str) -> None:
    """Store the temperature in config.json and the record in card.json; the weights are not touched."""
    d = checkpoint.resolve(model_dir)
    card = json.loads((d / "card.json").read_text(encoding="utf-8"))
    store_temperature(d, record["temperature"])
    card["calibration"] = dict(record, date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                               command=command)
    card["domain"] = domain
    _replace_json(d / "card.json", card)


def calibrate(model_dir: str | Path, data: str | None = None) -> tuple[dict, dict]:
    """(calibration record, domain record) of one model, from its own validation and test splits."""
    ckpt = checkpoint.load(model_dir)
    if ckpt.card.get("refit"):
        raise CheckpointError("calibrate.refit", path=model_dir)
    splits = split_for(ckpt.card, data)
    read_len = ckpt.read_len
    val_x, val_y = encode_examples(splits.val, ckpt.vocab, ckpt.tokenizer, read_len)
    test_x, test_y = encode_examples(splits.test, ckpt.vocab, ckpt.tokenizer, read_len)
    val_logits = logits_ids(ckpt.model, val_x).numpy()
    test_logits = logits_ids(ckpt.model, test_x).numpy()
    record = calibration_record(val_logits, val_y, test_logits, test_y, read_len)
    return record, domain_record(test_x, str(ckpt.card.get("dataset", "")))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sentiment.calibrate", description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, nargs="+", help="model directories (or shipped model names)")
    ap.add_argument("--data", help="dataset path (default: the card's dataset, found in GATESCOPE_DATA)")
    ap.add_argument("--dry-run", action="store_true", help="measure and print, write nothing")
    ap.add_argument("--json", action="store_true", help="print each record as one JSON line")
    args = ap.parse_args(argv)
    command = "python -m sentiment.calibrate " + shlex.join(argv if argv is not None else sys.argv[1:])
    status = 0
    for model in args.model:
        try:
            record, domain = calibrate(model, args.data)
            if not args.dry_run:
                write(model, record, domain, command)
        except GateScopeError as e:
            print(f"error: {e}", file=sys.stderr)
            status = 2
            continue
        if args.json:
            print(json.dumps({"model": str(model), **{k: v for k, v in record.items() if not k.startswith("reliability")}}))
        else:
            print(f"{model}: T = {record['temperature']:.3f} (validation, {record['val_size']} reviews); test ECE "
                  f"{record['test_ece_before']:.2%} -> {record['test_ece_after']:.2%}; test accuracy {record['test_accuracy']:.4f}"
                  + (" (dry run: nothing written)" if args.dry_run else ""))
    return status
