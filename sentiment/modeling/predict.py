"""Prediction: label and probability for texts. CLI: ``python -m sentiment.predict --model DIR [--json] TEXT...``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass

import torch

from sentiment.data.batching import collate
from sentiment.data.readers import LABEL_NAMES
from sentiment.errors import GateScopeError
from sentiment.modeling import checkpoint


@dataclass
class Prediction:
    label: str  # "positive" | "negative"
    probability: float  # of that label
    positive: float  # P(positive)
    tokens: int
    note: str = ""


@torch.no_grad()
def predict(ckpt: checkpoint.Checkpoint, text: str) -> Prediction:
    """One review -> Prediction; InputError for empty text or text with no words."""
    enc = ckpt.encode(text)
    ids, lengths = collate([enc.ids])
    probs = ckpt.probabilities(ckpt.model(ids, lengths))[0]  # [C], calibrated
    k = int(probs.argmax())
    return Prediction(LABEL_NAMES[k], float(probs[k]), float(probs[1]), len(enc.ids), enc.note)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sentiment.predict", description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("texts", nargs="+", metavar="TEXT")
    args = ap.parse_args(argv)
    try:
        ckpt = checkpoint.load(args.model)
    except GateScopeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    status = 0
    for text in args.texts:
        try:
            p = predict(ckpt, text)
        except GateScopeError as e:
            if args.json:
                print(json.dumps({"error": str(e)}, ensure_ascii=False))
            else:
                print(f"error: {e}", file=sys.stderr)
            status = 2
            continue
        if args.json:
            print(json.dumps(asdict(p), ensure_ascii=False))
        else:
            print(f"{p.label}\t{p.probability:.3f}\t{text[:60]!r}" + (f"\n  note: {p.note}" if p.note else ""))
    return status


if __name__ == "__main__":
    sys.exit(main())
