"""Helpers of the interop tests: real review slices, and the frameworks' own preprocessing written
out independently of GateScope's (a Keras word index as keras.datasets.imdb numbers it)."""

from __future__ import annotations

import functools
import os
import tarfile
from collections import Counter
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

from sentiment.data.text import tokenize_en  # noqa: E402


@functools.lru_cache(maxsize=2)
def imdb_slice(archive: str, n_train: int = 800, n_test: int = 200) -> tuple[list, list]:
    """(train, test) lists of (text, label): balanced, the first files of each official folder."""
    want = {("train", "pos"): n_train // 2, ("train", "neg"): n_train // 2,
            ("test", "pos"): n_test // 2, ("test", "neg"): n_test // 2}
    got: dict = {k: [] for k in want}
    with tarfile.open(archive) as tar:
        for m in tar:
            parts = m.name.split("/")
            if len(parts) == 4 and m.isfile() and m.name.endswith(".txt"):
                key = (parts[1], parts[2])
                if key in got and len(got[key]) < want[key]:
                    got[key].append((tar.extractfile(m).read().decode("utf-8"), int(parts[2] == "pos")))
            if all(len(got[k]) == want[k] for k in want):
                break
    train = [x for pair in zip(got["train", "pos"], got["train", "neg"]) for x in pair]
    test = [x for pair in zip(got["test", "pos"], got["test", "neg"]) for x in pair]
    return train, test


def words(text: str) -> list[str]:
    """Words as the converted model reads them: GateScope's English tokenizer, ! and ? dropped."""
    return [w for w in tokenize_en(text) if w not in ("!", "?")]


def word_index(texts: list[str]) -> dict[str, int]:
    """A Keras-style word index: word -> frequency rank from 1."""
    counts = Counter(w for t in texts for w in words(t))
    return {w: r for r, (w, _) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])), start=1)}


def keras_ids(texts: list[str], index: dict[str, int], num_words: int, maxlen: int):
    """What keras.datasets.imdb + pad_sequences feed a model: start 1, unknown 2, words from 3,
    ids >= num_words unknown; padded and cut at the front."""
    import keras

    seqs = [[1] + [index[w] + 3 if w in index and index[w] + 3 < num_words else 2 for w in words(t)] for t in texts]
    return keras.utils.pad_sequences(seqs, maxlen=maxlen)


def hotel_lines(path: Path) -> list[tuple[str, int]]:
    """hotel_discuss2.csv: label, review split on the first comma."""
    out = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        label, text = line.split(",", 1)
        out.append((text, int(label)))
    return out
