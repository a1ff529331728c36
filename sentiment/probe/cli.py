"""Print a review's Trace: ``python -m sentiment.trace --model DIR [--json] [--ig] TEXT``.

Without --json: the prediction, any note, a per-token table (pooling credit, prefix P(positive),
occlusion, integrated gradients) and each gate's saturation. With --json: ``Trace.to_json()`` in
ASCII (other characters as JSON escapes), so any terminal encoding can print it.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from sentiment import probe
from sentiment.errors import GateScopeError
from sentiment.modeling import checkpoint


def _fmt(a: np.ndarray | None, t: int, spec: str = "+.3f") -> str:
    return "" if a is None else format(float(a[t]), spec)


def render(tr: probe.Trace, max_rows: int = 60) -> str:
    """A readable text summary of a Trace."""
    lines = [
        f"{tr.label}\tP(positive)={tr.probs[1]:.3f}\t{tr.model_name or 'model'}: {tr.num_layers}-layer "
        f"{'bi' if tr.bidirectional else 'uni'}directional {tr.cell.upper()} {tr.hidden_size}, {tr.pooling} pooling",
        f"tokens: {tr.length} ({sum(tr.unk)} <unk>)" + (f", {tr.truncated} cut" if tr.truncated else ""),
    ]
    if tr.note:
        lines.append(f"note: {tr.note}")
    lines.append(f"{'t':>4}  {'token':<16}{'credit':>8}{'prefix':>8}{'occl.':>8}{'IG':>8}")
    for t in range(min(tr.length, max_rows)):
        tok = tr.tokens[t] + ("*" if tr.unk[t] else "")
        lines.append(f"{t:>4}  {tok[:15]:<16}{_fmt(tr.pool_weights, t, '.3f'):>8}{_fmt(tr.prefix_probs, t, '.3f'):>8}"
                     f"{_fmt(tr.occlusion, t):>8}{_fmt(tr.integrated_gradients, t):>8}")
    if tr.length > max_rows:
        lines.append(f"  ... {tr.length - max_rows} more tokens (use --json for all)")
    lines.append("(* = <unk>; occlusion = P(pos) - P(pos with the token replaced by <unk>))")
    sat = tr.saturation()
    if sat:
        lines.append("gate saturation (mean share of steps < 0.1 / > 0.9):")
        for (layer, direction, g), v in sat.items():
            lines.append(f"  layer {layer} {direction:<8} {g}: left {v['left'].mean():.3f}  right {v['right'].mean():.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sentiment.trace", description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="model directory")
    ap.add_argument("--json", action="store_true", help="print Trace.to_json()")
    ap.add_argument("--ig", action="store_true", help="also compute integrated gradients")
    ap.add_argument("--no-prefix", action="store_true", help="skip the prediction after each prefix")
    ap.add_argument("--no-occlusion", action="store_true", help="skip occlusion")
    ap.add_argument("text", nargs="+", metavar="TEXT", help="the review (several words are joined by spaces)")
    args = ap.parse_args(argv)
    try:
        ckpt = checkpoint.load(args.model)
        tr = probe.trace(ckpt, " ".join(args.text), prefix=not args.no_prefix,
                         occlusion=not args.no_occlusion, integrated_gradients=args.ig)
    except GateScopeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:  # ASCII with \u escapes: valid JSON on any terminal encoding, lone surrogates included
        print(json.dumps(json.loads(tr.to_json()), ensure_ascii=True))
    else:
        if hasattr(sys.stdout, "reconfigure"):
            sys.stdout.reconfigure(errors="backslashreplace")  #
        print(render(tr))
    return 0


if __name__ == "__main__":
    sys.exit(main())
