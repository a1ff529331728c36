"""Weight averaging ("model soup", Wortsman et al., ICML 2022): one model whose every weight is the mean
of several runs' weights, fine-tuned from the same start on the same data.

Runs fine-tuned from one checkpoint stay near one another, so their mean is itself a model, often
steadier than any of them on text unlike the training reviews. The soup is an ordinary checkpoint: the
probe traces it as it traces any model (its gates are its own weights' gates). Its card records each
member (name, weights' sha256, training command), the soup's own command, its accuracy on the members'
test and validation splits measured afresh, and a temperature fitted on validation as training does.

CLI: ``python -m sentiment.soup --model RUN [RUN ...] --out DIR [--data PATH]``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch

from sentiment.errors import CheckpointError, GateScopeError
from sentiment.modeling import checkpoint
from sentiment.training import calibrate as calib
from sentiment.training.config import made_by
from sentiment.training.evaluate import evaluate_examples, split_for

# Card fields that must agree for the members' mean to be a model of the same data and splits.
SAME_CARD = ("dataset", "format", "split_seed", "language")
# Card fields measured on the members' own weights: the soup measures its own instead.
MEASURED = ("test_accuracy", "test_size", "test_balanced_accuracy", "test_f1", "test_confusion", "val_accuracy",
            "best_epoch", "history", "train_seconds", "by_length", "by_unknown", "calibration", "lesson", "domain",
            "weights_sha256", "weights_dtype", "init", "command", "train_config", "date", "name", "refit")


def _mismatch(field: str, members: Sequence[checkpoint.Checkpoint], values: list) -> CheckpointError:
    shown = ", ".join(f"{Path(m.path).name}: {v!r}" for m, v in zip(members, values, strict=True))
    return CheckpointError("soup.mismatch", field=field, values=shown)


def check_members(members: Sequence[checkpoint.Checkpoint]) -> None:
    """CheckpointError unless the members can be averaged: at least two, trained here (not imported, not a
    bag of words), with the same architecture, vocabulary, tokenizer, read length, dataset and split."""
    if len(members) < 2:
        raise CheckpointError("soup.members", n=len(members))
    for m in members:
        if m.imported or m.is_bow:
            raise CheckpointError("soup.kind", path=m.path)
    checks = {
        "model": [m.config.to_dict() for m in members],
        "vocabulary": [list(m.vocab.itos) for m in members],
        "tokenizer": [m.tokenizer for m in members],
        "max_len": [m.max_len for m in members],
    } | {f"card {f}": [m.card.get(f) for m in members] for f in SAME_CARD}
    for field, values in checks.items():
        if any(v != values[0] for v in values[1:]):
            raise _mismatch(field, members, values if field != "vocabulary" else [f"{len(v)} words" for v in values])


def average(members: Sequence[checkpoint.Checkpoint]) -> dict[str, torch.Tensor]:
    """Every floating-point weight's mean over the members (computed in float64, returned as float32);
    other tensors (none in a GateScope model) must be equal and are kept."""
    states = [m.model.state_dict() for m in members]
    out = {}
    for k, v in states[0].items():
        if v.is_floating_point():
            out[k] = (sum(s[k].double() for s in states) / len(states)).float()
        elif all(torch.equal(s[k], v) for s in states[1:]):
            out[k] = v
        else:
            raise _mismatch(f"tensor {k}", members, ["differs"] * len(members))
    return out


def member_record(m: checkpoint.Checkpoint, given: str | Path) -> dict:
    """What the soup's card keeps of a member: enough to retrain it and to check it is the one averaged
    (``given``: the member as the command named it)."""
    return {"model": Path(m.path).name, "given": str(given), "weights_sha256": m.card.get("weights_sha256"),
            "command": m.card.get("command"), "init": m.card.get("init"), "val_accuracy": m.card.get("val_accuracy"),
            "test_accuracy": m.card.get("test_accuracy")}


def members_of(card: dict) -> list[dict]:
    """The runs a soup's card lists (each with its "model" name and training "command"); [] for any other card."""
    soup = card.get("soup") if isinstance(card, dict) else None
    if not isinstance(soup, list):
        return []
    return [m for m in soup if isinstance(m, dict) and isinstance(m.get("model"), str) and isinstance(m.get("command"), str)]


def made_by_soup(card: dict, out: str | None = None) -> list[tuple[str, str]]:
    """How to make a soup again: (name, command) for each member's training run (its --out its name),
    then ("", the averaging command) with the members and --out (``out``, if given) named as folders."""
    members = members_of(card)
    words = shlex.split(str(card.get("command") or ""))
    given = {m.get("given"): m["model"] for m in members}
    words = [given.get(w, w) for w in words]
    if out is not None and "--out" in words[:-1]:
        words[words.index("--out") + 1] = out
    return [(m["model"], made_by(m["command"], out=m["model"])) for m in members] + [("", shlex.join(words))]


def soup(models: Sequence[str | Path], out: str | Path, command: str, data: str | None = None) -> dict:
    """Write the members' weight average to out (a new directory, written whole or not at all): weights,
    card (members, command, accuracy on test and validation), temperature fitted on validation. The card."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CheckpointError("model.exists", path=out)
    members = [checkpoint.load(checkpoint.resolve(m)) for m in models]
    check_members(members)
    first = members[0]
    model = first.model
    model.load_state_dict(average(members))
    model.eval()
    half = all(m.card.get("weights_dtype") == "float16" for m in members)
    card = {k: v for k, v in first.card.items() if k not in MEASURED}
    secs = [m.card.get("train_seconds") for m in members]
    if all(isinstance(x, (int, float)) for x in secs):
        card["train_seconds"] = round(float(sum(secs)), 1)  # the runs' training: the averaging itself takes a second
    card.update(name=out.name, command=command, soup=[member_record(m, g) for m, g in zip(members, models, strict=True)],
                date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    cfg = checkpoint.read_model_json(Path(first.path) / "config.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.soup-", dir=out.parent))
    try:
        built = staging / out.name
        checkpoint.save(built, model, first.vocab, cfg["tokenizer"], cfg["max_len"], card, half=half)
        ckpt = checkpoint.load(built)  # the stored (maybe float16) weights are the ones measured
        splits = split_for(ckpt.card, data)
        test, val = evaluate_examples(ckpt, splits.test), evaluate_examples(ckpt, splits.val)
        card = checkpoint.read_card(built)
        card.update(test_accuracy=test["accuracy"], test_size=test["n"], test_balanced_accuracy=test["balanced_accuracy"],
                    test_f1=test["f1"], test_confusion=test["confusion"], val_accuracy=val["accuracy"])
        calib._replace_json(built / "card.json", card)
        record, lengths = calib.calibrate(built, data)
        calib.write(built, record, lengths, command)
        if out.exists():
            out.rmdir()  # empty, checked above
        os.rename(built, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return checkpoint.read_card(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sentiment.soup", description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, nargs="+", help="the runs to average (model directories or names): "
                    "the same architecture, vocabulary and dataset, best fine-tuned from one checkpoint")
    ap.add_argument("--out", required=True, help="checkpoint directory to create (must not exist)")
    ap.add_argument("--data", help="dataset path (default: the members' dataset, found in GATESCOPE_DATA)")
    args = ap.parse_args(argv)
    command = "python -m sentiment.soup " + shlex.join(argv if argv is not None else sys.argv[1:])
    try:
        card = soup(args.model, args.out, command, args.data)
    except GateScopeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{args.out}: the mean of {len(card['soup'])} runs; test accuracy {card['test_accuracy']:.4f} on "
          f"{card['test_size']} reviews, validation {card['val_accuracy']:.4f}, temperature "
          f"{card['calibration']['temperature']:.3f}")
    return 0
