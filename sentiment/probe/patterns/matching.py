"""Select and match, as LSTMVis does: the units that stay on over a span of one review
(``select_units``, ``threshold_for``, ``default_selection``), then every phrase of the sample where
all of them are on together (``match``), punctuation-only phrases left out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from sentiment.errors import InputError
from sentiment.probe.patterns.trace import BatchTrace, Key


def select_units(values: np.ndarray, start: int, end: int, threshold: float) -> np.ndarray:
    """The units whose value stays above threshold at every token start..end (inclusive), as LSTMVis
    selects hidden units: values [T, H] -> unit indices [k], the highest minimum over the range first.
    InputError for an empty or out-of-range token range."""
    T = values.shape[0]
    start, end = int(start), int(end)
    if not 0 <= start <= end < T:
        raise InputError("patterns.range", start=start, end=end, last=T - 1)
    low = np.asarray(values[start: end + 1], dtype=np.float32).min(0)  # [H]
    units = np.flatnonzero(low > threshold)
    return units[np.argsort(-low[units], kind="stable")]


def threshold_for(values: np.ndarray, start: int, end: int, k: int = 3, step: float = 0.05) -> float | None:
    """The highest threshold (a multiple of ``step``) that ``select_units`` passes for at least k units
    over tokens start..end (fewer when the model has fewer units); None when no unit ever qualifies
    on this grid. values [T, H]."""
    T, H = values.shape
    start, end = int(start), int(end)
    if not 0 <= start <= end < T or H == 0:
        return None
    low = np.sort(np.asarray(values[start: end + 1], dtype=np.float32).min(0))[::-1]  # [H], highest first
    kth = float(low[min(k, H) - 1])
    thr = math.floor(kth / step) * step
    while thr >= kth:  # strictly below the k-th unit's minimum: select_units keeps values > threshold
        thr -= step
    return round(thr, 10)


def is_punctuation(token: str) -> bool:
    """Whether a token is only punctuation or symbols ("!", "...", "。", "<br />" pieces): never a pattern."""
    return bool(token) and not any(ch.isalnum() for ch in token)


def punctuation_rows(bt: BatchTrace) -> np.ndarray:
    """[N_tok] bool: the sample's punctuation tokens (worked out once per vocabulary id; kept on ``bt``)."""
    cached = getattr(bt, "_punct", None)
    if cached is not None:
        return cached
    ids = np.asarray(bt.ids, dtype=np.int64)
    uniq, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    punct = np.array([is_punctuation(bt.tokens[int(i)]) for i in first], dtype=bool)[inverse.reshape(-1)]
    bt._punct = punct  # type: ignore[attr-defined]
    return punct


def default_selection(values: np.ndarray, tokens: Sequence[str], k: int = 3, widths: Sequence[int] = (2, 3, 1)
                      ) -> tuple[int, int, float] | None:
    """A first selection that finds units: the span of ``widths[0]`` tokens (then the other widths), free of
    punctuation, over which at least ``k`` units stay highest, and the threshold just under the k-th of
    them (``threshold_for``). (start, end, threshold), or None when no span qualifies. values [T, H]."""
    T, H = values.shape
    if T == 0 or H == 0:
        return None
    punct = np.array([is_punctuation(tok) for tok in tokens[:T]], dtype=bool)
    v = np.asarray(values, dtype=np.float32)
    for w in widths:
        if w > T:
            continue
        best, best_low = None, -np.inf
        for a in range(T - w + 1):
            if punct[a: a + w].any():
                continue
            low = np.sort(v[a: a + w].min(0))[::-1][min(k, H) - 1]  # the k-th highest unit's minimum
            if low > best_low:
                best, best_low = a, float(low)
        if best is not None:
            thr = threshold_for(v, best, best + w - 1, k)
            if thr is not None:
                return best, best + w - 1, thr
    return None


@dataclass
class Match:
    """A phrase where all selected units are on together."""

    review: int  # index in the BatchTrace (0..n-1)
    split_index: int  # position of the review in the split
    label: int  # gold label (1 = positive)
    start: int  # first token of the phrase (position in the review)
    end: int  # last token (inclusive)
    mean: float  # mean value over the phrase and the units
    minimum: float  # smallest value over the phrase and the units (> threshold)
    phrase: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)  # up to `context` tokens before
    right: list[str] = field(default_factory=list)  # up to `context` tokens after

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def on_together(bt: BatchTrace, key: Key, units: Sequence[int], threshold: float) -> np.ndarray:
    """[N_tok] bool: every unit of ``units`` above threshold at that token."""
    units = np.asarray(units, dtype=np.int64)
    if units.size == 0:
        raise InputError("patterns.no_units")
    v = bt.values(key)
    on = np.empty(bt.n_tokens, dtype=bool)
    step = 1 << 16
    for a in range(0, bt.n_tokens, step):
        on[a: a + step] = (np.asarray(v[a: a + step][:, units]) > threshold).all(1)
    return on


class Matches(NamedTuple):
    matches: list[Match]  # the first ``limit``, ranked
    total: int  # phrases that matched in all
    positive: int  # how many of them are in positive reviews


def match(bt: BatchTrace, key: Key, units: Sequence[int], threshold: float, min_length: int = 1,
          limit: int = 50, context: int = 5) -> Matches:
    """Phrases of the sample where every selected unit is above threshold at every token, ranked by
    strength: the mean value over the whole phrase and the units (strongest first), then by length.
    Phrases of punctuation alone ("! ! !") are left out. Returns (the first ``limit`` matches, how
    many phrases matched in all, how many of those are in positive reviews). A phrase never crosses
    two reviews."""
    units = np.asarray(units, dtype=np.int64)
    on = on_together(bt, key, units, threshold)  # [N_tok]
    prev = np.concatenate([[False], on[:-1]])
    prev[bt.offsets[:-1]] = False  # a review's first token starts a new phrase
    nxt = np.concatenate([on[1:], [False]])
    nxt[bt.offsets[1:] - 1] = False  # and its last token ends one
    starts = np.flatnonzero(on & ~prev)
    ends = np.flatnonzero(on & ~nxt)  # paired with starts, in order
    lengths = ends - starts + 1
    punct = np.concatenate([[0], np.cumsum(punctuation_rows(bt))])
    words = lengths - (punct[ends + 1] - punct[starts])  # tokens of each phrase that are not punctuation
    keep = (lengths >= max(1, int(min_length))) & (words > 0)
    starts, ends, lengths = starts[keep], ends[keep], lengths[keep]
    if starts.size == 0:
        return Matches([], 0, 0)
    v = bt.values(key)
    mean_row = np.empty(bt.n_tokens, dtype=np.float64)  # mean over the units, per token
    step = 1 << 16
    for a in range(0, bt.n_tokens, step):
        mean_row[a: a + step] = np.asarray(v[a: a + step][:, units], dtype=np.float64).mean(1)
    cs = np.concatenate([[0.0], np.cumsum(mean_row)])
    means = (cs[ends + 1] - cs[starts]) / lengths
    order = np.lexsort((starts, -lengths, -means))[: max(0, int(limit))]
    out = []
    for j in order:
        s, e = int(starts[j]), int(ends[j])
        r = int(bt.review_of_rows(np.array([s]))[0])
        a, b = int(bt.offsets[r]), int(bt.offsets[r + 1])
        block = np.asarray(v[s: e + 1][:, units], dtype=np.float32)
        out.append(Match(review=r, split_index=int(bt.split_index[r]), label=int(bt.labels[r]), start=s - a, end=e - a,
                         mean=float(means[j]), minimum=float(block.min()), phrase=bt.tokens[s: e + 1],
                         left=bt.tokens[max(a, s - context): s], right=bt.tokens[e + 1: min(b, e + 1 + context)]))
    positive = int(bt.labels[bt.review_of_rows(starts)].astype(bool).sum())
    return Matches(out, int(starts.size), positive)
