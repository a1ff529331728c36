"""Does a review look like the model's training data? The share of its tokens the model's vocabulary
does not know, against the same share in the model's own test split (``card["domain"]``, written by
``sentiment.calibrate``). Torch-free; Explore turns the answer into its "out of its domain?" note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

MIN_TOKENS = 5  # shorter reviews say too little to judge
FACTOR = 2.0  # unknown share at least this many times the test split's (overall) share ...
FLOOR = 0.05  # ... and above this share, and above the 95th percentile of the test reviews' shares


@dataclass
class DomainCheck:
    share: float  # this review's share of unknown tokens
    test_share: float  # the model's test split: unknown tokens / all tokens
    test_p95: float  # 95th percentile of the test reviews' own shares
    dataset: str  # the model's training data ("imdb", "hotel", ...)
    unlike: bool  # True: the review looks unlike the model's training data


def check(unk: Sequence[bool], card: dict) -> DomainCheck | None:
    """None when the card has no domain record (a model not yet calibrated) or the review is too short."""
    dom = card.get("domain") if isinstance(card, dict) else None
    if not isinstance(dom, dict) or len(unk) < MIN_TOKENS:
        return None
    try:
        test_share, p95 = float(dom["test_unknown_share"]), float(dom["test_unknown_share_p95"])
    except (KeyError, TypeError, ValueError):
        return None
    share = sum(bool(u) for u in unk) / len(unk)
    unlike = share > max(FACTOR * test_share, p95, FLOOR)
    return DomainCheck(share, test_share, p95, str(dom.get("dataset") or card.get("dataset", "")), unlike)
