"""What predicts a model's errors, said for one review: the model's own test accuracy by review length
and by share of unknown words (``card["by_length"]``, ``card["by_unknown"]``, written by
``sentiment.calibrate`` and by training). Torch-free; Explore turns a finding into one sentence.

Issue 22 found that the former "out of its domain?" rule (a review's share of unknown words against
its test split's) fired on 25-58% of the reviews of six out-of-domain sets, with the same error rate
whether it fired or not, while length did predict errors (the IMDB models: 71-78% right on
one-sentence reviews, 89% on full ones). So a note is given only where the model's own test reviews
show something:

- a review shorter than the model's median test review, when its test reviews of that length were
  clearly less often right than all of them (``clearly_below``); or when the review is shorter than
  90% of them (below the 10th percentile) and the test split had too few reviews of its length to
  measure (under ``MIN_N``): then the nearest length bucket with enough speaks, and the note says
  which lengths it covers and how few of the review's own length there were;
- a review with more unknown words than the median test review, when test reviews with that share
  were clearly less often right. Too few test reviews at that share: nothing is said.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_N = 30  # a bucket with fewer test reviews is too small to measure an accuracy on
GAP = 0.05  # "clearly below": at least 5 points under the overall accuracy ...
Z = 2.0  # ... and more than 2 standard errors of a bucket that size
MIN_TOKENS = 5  # a shorter review's share of unknown words says too little


@dataclass
class Finding:
    kind: str  # "length" or "unknown"
    value: float  # the review's tokens (length) or its share of unknown tokens (unknown)
    lo: float  # the bucket measured: lo..hi tokens (inclusive), or shares [lo, hi); hi None: no upper end
    hi: float | None
    n: int  # its test reviews
    accuracy: float  # the model's accuracy on them
    overall: float  # the model's accuracy on its whole test split
    unit: str = "words"  # what a token is: "words" or "characters"
    own: tuple[float, float | None, int] | None = None  # the review's own bucket (lo, hi, n) when it had too few

    @property
    def nearest(self) -> bool:
        """True when the review's own bucket had too few test reviews and a nearby one speaks for it."""
        return self.own is not None


def clearly_below(n: int, accuracy: float, overall: float) -> bool:
    """A bucket's accuracy is clearly under the overall one: by GAP, and by more than sampling explains."""
    gap = overall - accuracy
    return n >= MIN_N and gap >= GAP and gap > Z * math.sqrt(max(overall * (1 - overall), 1e-12) / n)


def _num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _record(card, key: str, fields: Sequence[str]) -> tuple[dict, list[dict]] | None:
    """The card's record and its buckets (each with its accuracy from right / n), None when any part is unusable."""
    rec = card.get(key) if isinstance(card, dict) else None
    if not isinstance(rec, dict) or not isinstance(rec.get("buckets"), list) or not rec["buckets"]:
        return None
    if not all(_num(rec.get(f)) for f in ("accuracy", *fields)) or not 0 <= rec["accuracy"] <= 1:
        return None
    rows = []
    for b in rec["buckets"]:
        if not (isinstance(b, dict) and _num(b.get("lo")) and (b.get("hi") is None or _num(b["hi"]))
                and isinstance(b.get("n"), int) and isinstance(b.get("right"), int) and 0 <= b["right"] <= b["n"]):
            return None
        rows.append(dict(lo=b["lo"], hi=b["hi"], n=b["n"], accuracy=b["right"] / b["n"] if b["n"] else 0.0))
    return rec, rows


def _index(rows: list[dict], value: float, closed: bool) -> int | None:
    for i, r in enumerate(rows):
        if value >= r["lo"] and (r["hi"] is None or (value <= r["hi"] if closed else value < r["hi"])):
            return i
    return None


def _nearest(rows: list[dict], i: int) -> int | None:
    """The bucket nearest to i with at least MIN_N test reviews (the shorter one on a tie)."""
    enough = [j for j, r in enumerate(rows) if r["n"] >= MIN_N]
    return min(enough, key=lambda j: (abs(j - i), j)) if enough else None


def short_review(tokens: int, card: dict) -> Finding | None:
    """A finding for a review of ``tokens`` tokens (as the model reads them), or None."""
    found = _record(card, "by_length", ("p10", "p50"))
    if found is None or tokens < 1:
        return None
    rec, rows = found
    overall, unit = float(rec["accuracy"]), "characters" if rec.get("unit") == "characters" else "words"
    i = _index(rows, tokens, closed=True)
    if i is None or tokens >= rec["p50"]:
        return None
    own = rows[i]
    if own["n"] >= MIN_N:
        if not clearly_below(own["n"], own["accuracy"], overall):
            return None
        return Finding("length", tokens, own["lo"], own["hi"], own["n"], own["accuracy"], overall, unit)
    j = _nearest(rows, i)
    if j is None:
        return None
    near = rows[j]
    if tokens >= rec["p10"] and not clearly_below(near["n"], near["accuracy"], overall):
        return None
    return Finding("length", tokens, near["lo"], near["hi"], near["n"], near["accuracy"], overall, unit,
                   own=(own["lo"], own["hi"], own["n"]))


def unknown_words(unk: Sequence[bool], card: dict) -> Finding | None:
    """A finding for a review whose tokens are unknown to the vocabulary where ``unk`` is True, or None."""
    found = _record(card, "by_unknown", ("p50",))
    if found is None or len(unk) < MIN_TOKENS:
        return None
    rec, rows = found
    share = sum(bool(u) for u in unk) / len(unk)
    i = _index(rows, share, closed=False)
    if i is None or share <= rec["p50"] or not clearly_below(rows[i]["n"], rows[i]["accuracy"], float(rec["accuracy"])):
        return None
    unit = "characters" if isinstance(card.get("by_length"), dict) and card["by_length"].get("unit") == "characters" else "words"
    r = rows[i]
    return Finding("unknown", share, r["lo"], r["hi"], r["n"], r["accuracy"], float(rec["accuracy"]), unit)


def check(unk: Sequence[bool], card: dict) -> list[Finding]:
    """Every finding for a review the model read as these tokens (``unk``: True where a token is <unk>)."""
    return [f for f in (short_review(len(unk), card), unknown_words(unk, card)) if f is not None]
