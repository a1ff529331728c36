"""The shipped model grid: {imdb, hotel} x {lstm, gru} x {last, max, mean, attention}, plus a
vanilla RNN per dataset. ``python -m sentiment.grid`` rebuilds it from the datasets with the same
seeds and prints the table of accuracies; ``--table`` only prints the table of what is there.

    python -m sentiment.grid --out assets/models            # train every model (GPU if present)
    python -m sentiment.grid --only imdb-gru-max --jobs 4   # a subset, four processes at a time
    python -m sentiment.grid --table --markdown             # the MODELS.md table
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sentiment.errors import GateScopeError
from sentiment.modeling import checkpoint
from sentiment.spec import GATED_CELLS, POOLINGS

CELLS = GATED_CELLS  # the grid's cells: every gated cell with every pooling; the vanilla RNN once (RNN_POOLING)

# Shared settings per dataset; every model of a dataset uses the same seeds (SEEDS, each given once as
# --seed) and split.
DATASETS: dict[str, list[str]] = {
    "imdb": ["--data", "imdb", "--embed", "64", "--hidden", "128", "--layers", "1", "--max-len", "500",
             "--vocab-size", "25000", "--min-freq", "2", "--dropout", "0.5", "--epochs", "12", "--patience", "3",
             "--batch-size", "128", "--lr", "3e-3", "--schedule", "cosine", "--split-seed", "0",
             "--half", "--max-seconds", "450"],
    "hotel": ["--data", "hotel", "--tokenizer", "word", "--embed", "64", "--hidden", "128", "--layers", "1",
              "--max-len", "300", "--vocab-size", "12000", "--min-freq", "2", "--dropout", "0.5", "--epochs", "25",
              "--patience", "5", "--batch-size", "32", "--lr", "2e-3", "--schedule", "cosine",
              "--split-seed", "0", "--half", "--max-seconds", "300"],
}
# Seeds tried per model; the one with the best held-out accuracy is kept (chosen_on: validation's, or
# that of the training reviews held out with --stop-holdout; never the test split's).
SEEDS: dict[str, list[int]] = {"imdb": [1], "hotel": [1, 2, 3]}
RNN_POOLING = "max"  # the vanilla RNN's pooling (max pooling lets it use every step, not only the last)


def grid() -> dict[str, list[str]]:
    """Model name -> the train arguments (without --out) that make it."""
    models = {}
    for ds, args in DATASETS.items():
        for cell in CELLS:
            for pooling in POOLINGS:
                models[f"{ds}-{cell}-{pooling}"] = args + ["--cell", cell, "--pooling", pooling]
        models[f"{ds}-rnn-{RNN_POOLING}"] = args + ["--cell", "rnn", "--pooling", RNN_POOLING]
    return models


def train_all(out: Path, names: list[str], jobs: int, extra: list[str]) -> dict[str, int]:
    """Train the named models (each with its dataset's seeds), `jobs` processes at a time; for each
    model keep the seed with the best validation accuracy. Returns each model's exit code."""
    out.mkdir(parents=True, exist_ok=True)
    todo: list[tuple[str, int]] = []
    for name in names:
        if (out / name).exists():
            print(f"{name}: {out / name} exists, kept as it is", file=sys.stderr)
            continue
        todo += [(name, s) for s in SEEDS[name.split("-")[0]]]
    running: dict[tuple[str, int], subprocess.Popen] = {}
    codes: dict[str, int] = {}
    while todo or running:
        while todo and len(running) < jobs:
            name, seed = todo.pop(0)
            target = out / f".{name}-seed{seed}"
            if target.exists():
                shutil.rmtree(target)
            cmd = [sys.executable, "-m", "sentiment.train", *grid()[name], "--seed", str(seed), *extra, "--out", str(target)]
            with open(out / f".{name}-seed{seed}.log", "w") as log:  # the child keeps its own copy of the file
                running[(name, seed)] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
            print(f"{name} seed {seed}: started", file=sys.stderr)
        for key, proc in list(running.items()):
            if proc.poll() is not None:
                print(f"{key[0]} seed {key[1]}: exit {proc.returncode}", file=sys.stderr)
                codes[key[0]] = codes.get(key[0], 0) or proc.returncode
                del running[key]
        time.sleep(1)
    for name in {n for n in names if not (out / n).exists()}:
        tried = [out / f".{name}-seed{s}" for s in SEEDS[name.split("-")[0]]]
        cards = {d: checkpoint.read_card(d) for d in tried if (d / "card.json").exists()}
        if cards:
            best = max(cards, key=lambda d: chosen_on(cards[d]))
            os.rename(best, out / name)
            on = "held-out training reviews'" if cards[best].get("stop_accuracy") is not None else "validation"
            print(f"{name}: kept {best.name} ({on} accuracy {chosen_on(cards[best]):.4f})", file=sys.stderr)
        for d in tried:
            shutil.rmtree(d, ignore_errors=True)
    return codes


def chosen_on(card: dict) -> float:
    """The accuracy a seed is chosen by: the held-out training reviews' (--stop-holdout) where the run had
    them, so that the validation reviews, which fit the temperature, choose nothing; else validation's."""
    return card["stop_accuracy"] if card.get("stop_accuracy") is not None else card["val_accuracy"]


def _calibration_cells(card: dict) -> list[str]:
    """Temperature, test ECE before and after (sentiment.calibrate), or dashes."""
    cal = card.get("calibration") if isinstance(card.get("calibration"), dict) else {}
    if "temperature" not in cal:
        return ["—"] * 3
    return [f"{cal['temperature']:.2f}", f"{cal['test_ece_before'] * 100:.2f}%", f"{cal['test_ece_after'] * 100:.2f}%"]


def table(root: Path, markdown: bool = False) -> str:
    """One row per model directory under root: cell, pooling, size, parameters, test accuracy, time, device."""
    rows = []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            card = checkpoint.read_card(d)
            cfg = json.loads((d / "config.json").read_text())["model"]
        except (GateScopeError, OSError, ValueError, KeyError) as e:
            rows.append([d.name, "unavailable", str(e)[:60]] + [""] * 11)
            continue
        size = sum(f.stat().st_size for f in d.iterdir()) / 1e6
        rows.append([
            d.name, card.get("dataset", ""), cfg["cell"], cfg["pooling"], str(cfg["num_layers"]),
            f"{cfg['hidden_size']}{' x2' if cfg['bidirectional'] else ''}", f"{card.get('parameters', 0):,}",
            f"{size:.1f} MB", f"{card['test_accuracy'] * 100:.2f}%", f"{card.get('test_balanced_accuracy', 0) * 100:.2f}%",
            f"{card.get('train_seconds', 0):.0f} s", str(card.get("device", "")), *_calibration_cells(card),
        ])
    head = ["model", "dataset", "cell", "pooling", "layers", "hidden", "parameters", "size", "test acc", "balanced acc",
            "train time", "device", "T", "ECE before", "ECE after"]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in [head] + rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sentiment.grid", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="assets/models")
    ap.add_argument("--only", nargs="*", help="model names (default: the whole grid)")
    ap.add_argument("--jobs", type=int, default=1, help="training processes at a time")
    ap.add_argument("--table", action="store_true", help="only print the table of the models in --out")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("extra", nargs=argparse.REMAINDER, help="after --: extra train arguments (e.g. -- --device cpu)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if not args.table:
        names = args.only or list(grid())
        unknown = [n for n in names if n not in grid()]
        if unknown:
            print(f"error: unknown model names {unknown}; known: {', '.join(grid())}", file=sys.stderr)
            return 2
        extra = [a for a in args.extra if a != "--"]
        if {"--refit", "--average-last"} & {a.split("=")[0] for a in extra}:
            print("error: the grid keeps each model's seed by validation accuracy, which a refit has none of; "
                  "train refit models with python -m sentiment.train --refit", file=sys.stderr)
            return 2
        codes = train_all(out, names, args.jobs, extra)
        if any(codes.values()):
            print(f"error: failed: {[n for n, c in codes.items() if c]}", file=sys.stderr)
    print(table(out, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
