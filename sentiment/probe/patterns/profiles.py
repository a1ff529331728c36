"""Unit-word profiles and their co-clustering, as RNNVis does: per unit and word, the unit's mean
value when the word is read minus its mean (``word_profile``, ``top_words``), and a spectral
co-clustering of units and the strongest words (``cocluster`` over a seeded ``kmeans``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from sentiment.data.text import PAD_ID, UNK_ID
from sentiment.errors import InputError
from sentiment.probe.patterns.trace import BatchTrace, Key


@dataclass
class WordProfile:
    """Per unit and word: the unit's mean value when the word is read, minus the unit's mean."""

    words: list[str]  # [W] words read at least min_count times (not <unk>)
    ids: np.ndarray  # [W] their vocabulary ids
    counts: np.ndarray  # [W] how often each was read in the sample
    delta: np.ndarray  # [H, W]
    unit_mean: np.ndarray  # [H] the unit's mean over every token of the sample


def word_profile(bt: BatchTrace, key: Key, min_count: int = 10) -> WordProfile:
    """Unit-word profile of one gate (or state) over the sample. InputError when no word is frequent enough."""
    ids = np.asarray(bt.ids, dtype=np.int64)  # [N_tok]
    V = int(ids.max()) + 1
    v = bt.values(key)
    H = v.shape[1]
    sums = torch.zeros(V, H, dtype=torch.float64)
    step = 1 << 16
    for a in range(0, bt.n_tokens, step):
        sums.index_add_(0, torch.from_numpy(ids[a: a + step]), torch.from_numpy(np.asarray(v[a: a + step], dtype=np.float64)))
    counts = np.bincount(ids, minlength=V)  # [V]
    return profile_from_sums(sums.numpy(), counts, bt.n_tokens, ids, lambda row: bt.tokens[row], min_count)


def profile_from_sums(sums: np.ndarray, counts: np.ndarray, n_tokens: int, ids: np.ndarray,
                      token_at: Callable[[int], str], min_count: int = 10) -> WordProfile:
    """A WordProfile from each word's summed values ``sums`` [V, H] and reads ``counts`` [V] over
    ``n_tokens`` tokens whose ids are ``ids`` [N_tok] (a word is named by its first token: ``token_at(row)``).
    InputError when no word is read min_count times."""
    unit_mean = sums.sum(0) / max(1, n_tokens)  # [H]
    keep = np.flatnonzero(counts >= max(1, int(min_count)))
    keep = keep[(keep != UNK_ID) & (keep != PAD_ID)]
    if keep.size == 0:
        raise InputError("patterns.no_frequent_word", n=min_count)
    first = np.full(len(counts), -1, dtype=np.int64)
    uniq, at = np.unique(ids, return_index=True)
    first[uniq] = at
    words = [token_at(int(first[i])) for i in keep]
    delta = (sums[keep] / counts[keep, None] - unit_mean[None, :]).T  # [H, W]
    return WordProfile(words, keep, counts[keep], delta.astype(np.float64), unit_mean)


def top_words(profile: WordProfile, unit: int, k: int = 10) -> tuple[list[tuple[str, float, int]], list[tuple[str, float, int]]]:
    """(the k words that most raise the unit, the k that most lower it): (word, delta, count) each."""
    d = profile.delta[int(unit)]  # [W]
    up = [i for i in np.argsort(-d, kind="stable")[:k] if d[i] > 0]
    down = [i for i in np.argsort(d, kind="stable")[:k] if d[i] < 0]
    row = lambda i: (profile.words[i], float(d[i]), int(profile.counts[i]))  # noqa: E731
    return [row(i) for i in up], [row(i) for i in down]


def strongest_words(profile: WordProfile, max_words: int = 60) -> np.ndarray:
    """Indices of the max_words words with the largest |delta| over any unit (for the heatmap), strongest first."""
    score = np.abs(profile.delta).max(0)  # [W]
    return np.argsort(-score, kind="stable")[: max(1, int(max_words))]


@dataclass
class UnitWords:
    """What the unit-word heatmap shows: the strongest words' columns of a profile, co-clustered."""

    matrix: np.ndarray  # [H, W'] delta of the chosen words
    words: list[str]  # [W']
    counts: np.ndarray  # [W']
    clusters: CoClusters


def unit_words(profile: WordProfile, max_words: int = 50, k: int = 6, seed: int = 0) -> UnitWords:
    """The max_words strongest words of a profile and a co-clustering of units and those words."""
    idx = strongest_words(profile, max_words)
    m = profile.delta[:, idx]
    return UnitWords(m, [profile.words[j] for j in idx], profile.counts[idx], cocluster(m, k, seed))


def kmeans(x: np.ndarray, k: int, seed: int = 0, iters: int = 60) -> np.ndarray:
    """Labels [n] of a seeded k-means (k-means++ start, Lloyd steps) of the rows of x [n, d]."""
    n = x.shape[0]
    k = max(1, min(int(k), n))
    rng = np.random.default_rng(seed)
    centers = [x[rng.integers(n)]]
    for _ in range(1, k):
        d2 = ((x[:, None, :] - np.asarray(centers)[None]) ** 2).sum(-1).min(1)  # [n]
        p = d2 / d2.sum() if d2.sum() > 0 else np.full(n, 1.0 / n)
        centers.append(x[rng.choice(n, p=p)])
    c = np.asarray(centers, dtype=np.float64)  # [k, d]
    labels = np.full(n, -1)
    for _ in range(iters):
        d2 = ((x[:, None, :] - c[None]) ** 2).sum(-1)  # [n, k]
        new = d2.argmin(1)
        if (new == labels).all():
            break
        labels = new
        for j in range(k):
            members = x[labels == j]
            c[j] = members.mean(0) if len(members) else x[d2.min(1).argmax()]  # an empty cluster takes the farthest point
    return labels


@dataclass
class CoClusters:
    unit_labels: np.ndarray  # [H] cluster of each unit
    word_labels: np.ndarray  # [W] cluster of each word
    unit_order: np.ndarray  # [H] units, cluster by cluster
    word_order: np.ndarray  # [W] words, cluster by cluster, clusters in the same order as the units'
    clusters: list[int]  # the cluster ids in display order
    k: int


def cocluster(matrix: np.ndarray, k: int = 6, seed: int = 0) -> CoClusters:
    """Spectral co-clustering (Dhillon 2001) of a unit x word matrix [H, W] by the size of each response:
    A = |matrix|, A_n = D1^-1/2 A D2^-1/2, the singular vectors 2..l+1 (l = ceil(log2 k)) of units and
    words scaled by D^-1/2, one seeded k-means over both. Clusters are ordered by their mean response
    (strongest first); within one, units and words by their mean response to the cluster's words / units."""
    m = np.asarray(matrix, dtype=np.float64)
    H, W = m.shape
    a = np.abs(m) + 1e-12
    d1, d2 = a.sum(1), a.sum(0)
    an = a / np.sqrt(d1)[:, None] / np.sqrt(d2)[None, :]
    u, _, vt = np.linalg.svd(an, full_matrices=False)
    l = max(1, int(math.ceil(math.log2(max(2, k)))))
    l = min(l, u.shape[1] - 1) if u.shape[1] > 1 else 1
    z = np.vstack([u[:, 1: l + 1] / np.sqrt(d1)[:, None], vt[1: l + 1].T / np.sqrt(d2)[:, None]])  # [H + W, l]
    if z.shape[1] == 0:
        z = np.zeros((H + W, 1))
    z = z / (np.linalg.norm(z, axis=0, keepdims=True) + 1e-12)
    labels = kmeans(z, k, seed)
    ul, wl = labels[:H], labels[H:]
    strength = {}
    for c in np.unique(labels):
        block = a[np.ix_(ul == c, wl == c)]
        strength[int(c)] = float(block.mean()) if block.size else 0.0
    clusters = sorted(strength, key=lambda c: (-strength[c], c))
    unit_order, word_order = [], []
    for c in clusters:
        us, ws = np.flatnonzero(ul == c), np.flatnonzero(wl == c)
        if us.size:
            score = a[np.ix_(us, ws)].mean(1) if ws.size else np.zeros(us.size)
            unit_order += list(us[np.argsort(-score, kind="stable")])
        if ws.size:
            score = a[np.ix_(us, ws)].mean(0) if us.size else np.zeros(ws.size)
            word_order += list(ws[np.argsort(-score, kind="stable")])
    return CoClusters(ul, wl, np.asarray(unit_order, dtype=np.int64), np.asarray(word_order, dtype=np.int64), clusters, int(len(clusters)))
