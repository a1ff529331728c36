"""Patterns over a whole dataset from the command line, printing JSON:

    python -m sentiment.patterns index --model M [--data PATH] [--split test]
    python -m sentiment.patterns match --model M [--data PATH] --units 12,40,77 --threshold 0.3
                                       [--layer 0] [--direction forward] [--limit 20] [--min-length 1]

``index`` traces every review of the model's own split (its test split unless --split says another; the
dataset is found as training finds it) or of a labelled CSV/TSV (--data), and keeps the index in the
Patterns cache, where the app finds it too. ``match`` builds the index first if there is none, then
prints the phrases where every unit is above the threshold at every token: the count, how many are in
positive reviews, and the strongest ones with their review and context.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

from sentiment.data import readers
from sentiment.errors import GateScopeError
from sentiment.modeling import checkpoint
from sentiment.probe.patterns.index import FLOOR, Key, load_or_build_index, match_index
from sentiment.spec import DIRECTIONS


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m sentiment.patterns", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("index", "match"):
        p = sub.add_parser(name)
        p.add_argument("--model", required=True, help="a model directory or a shipped model's name")
        p.add_argument("--data", help="a labelled CSV/TSV of your own (default: the model's own dataset)")
        p.add_argument("--split", choices=("test", "val", "train"), default="test", help="the model's split (default test)")
        p.add_argument("--cache", help="the cache folder (default: GATESCOPE_CACHE's patterns folder)")
    m = sub.choices["match"]
    m.add_argument("--units", required=True, help="unit numbers, comma-separated (0 .. hidden size - 1)")
    m.add_argument("--threshold", type=float, required=True, help=f"every unit above this at every token (at least {FLOOR})")
    m.add_argument("--layer", type=int, default=None, help="default: the top layer")
    m.add_argument("--direction", choices=DIRECTIONS, default=DIRECTIONS[0])
    m.add_argument("--limit", type=int, default=20, help="the strongest matches printed (default 20)")
    m.add_argument("--min-length", type=int, default=1, help="phrases of at least this many tokens")
    return ap


def _model(name: str) -> checkpoint.Checkpoint:
    from sentiment.spec import models_root

    path = Path(name)
    return checkpoint.load(path if path.exists() else models_root() / name)


def _data(ckpt: checkpoint.Checkpoint, data: str | None, split: str):
    """(examples or None for the model's own test split, the data's id in the cache)."""
    if data:
        raw = readers.load(data)
        digest = hashlib.sha256(Path(data).read_bytes()).hexdigest()[:20]
        return raw.examples, f"file-{digest}"
    if split == "test":
        return None, f"{ckpt.card.get('dataset', 'data')}-test"
    return getattr(readers.split_for(ckpt.card), split), f"{ckpt.card.get('dataset', 'data')}-{split}"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    t0 = time.perf_counter()
    try:
        ckpt = _model(args.model)
        examples, data_id = _data(ckpt, args.data, args.split)
        ix, built = load_or_build_index(ckpt, examples, data_id, root=args.cache)
        out = {"index": ix.path, "built": built, "reviews": ix.n, "tokens": ix.n_tokens, "floor": ix.info["floor"],
               "bytes": ix.disk_bytes(), "build_seconds": ix.info.get("seconds")}
        if args.command == "match":
            layer = ckpt.config.num_layers - 1 if args.layer is None else args.layer
            key: Key = (layer, args.direction, "h")
            t1 = time.perf_counter()
            res = match_index(ix, key, [int(u) for u in args.units.split(",") if u.strip()], args.threshold,
                              min_length=args.min_length, limit=args.limit)
            out = {"total": res.total, "positive": res.positive, "seconds": round(time.perf_counter() - t1, 4),
                   "matches": [vars(m) for m in res.matches], "index": ix.path}
    except (GateScopeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out["total_seconds"] = round(time.perf_counter() - t0, 3)
    print(json.dumps(out, ensure_ascii=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
