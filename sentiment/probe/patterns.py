"""Units and patterns across a dataset: a batch trace of a test-split sample, cached on disk, and what
is read from it: unit selection (as LSTMVis does), phrase matching, unit-word profiles with a
co-clustering of units and words (as RNNVis does), and gate saturation over the sample.

This module owns
- ``trace_sample``: every gate, cell and hidden state of a seeded sample of reviews, traced by
  ``probe.recompute`` on length-sorted padded batches, written as a ``BatchTrace`` directory;
- the cache: ``load_or_trace`` / ``cached`` under ``text.cache_dir()/patterns``, one directory per
  (model weights sha256, split, sample size, seed, and whether it is the quick sample of ``quick_indices``
  the page opens on); written under a temporary name and renamed
  into place; a directory that does not validate is removed and traced again;
- ``select_units``, ``match``, ``word_profile`` / ``top_words``, ``cocluster``, ``saturation``.

A BatchTrace directory holds ``index.json`` (model, sample, shapes, saturation counts) and ``.npy``
files loaded memory-mapped: ``ids`` [N_tok] int32, ``offsets`` [N + 1] int64, ``labels`` [N] int8,
``split_index`` [N] int64, ``tokens.txt`` (one token a line) and one float16 array [N_tok, H] per
layer, direction and gate (``L0-forward-i.npy`` ...). Review i's rows are offsets[i]:offsets[i+1];
reviews are stored shortest first (ties by split position), as they were traced.

No streamlit here; the page (``sentiment/ui/patterns.py``) and the figures
(``sentiment/figures/patterns.py``) only call these functions.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
import shutil
import tempfile
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, NamedTuple, Sequence

import numpy as np
import torch

from sentiment.data.batching import collate
from sentiment.data.readers import Example, split_for
from sentiment.data.text import PAD_ID, UNK_ID, cache_dir
from sentiment.errors import GateScopeError, InputError
from sentiment.modeling.checkpoint import Checkpoint
from sentiment.modeling.pooling import length_mask
from sentiment.probe.instrument import DIRECTIONS, GATE_NAMES, SIGMOID_GATES, _eval_mode, recompute
from sentiment.spec import PATTERNS_CACHE_ENV

FORMAT = "gatescope-batch/1"
DEFAULT_SAMPLE = 2000
QUICK_SAMPLE = 200  # the sample the page traces with no click: half positive, half negative, short to long
# (1 thread, 2-core CPU busy with other jobs: imdb-lstm-max 1.0 s for 100 reviews, 1.6 s for 150, 1.9 s for 200,
# 142 MB on disk; hotel-lstm-max 0.6 s for 200; plus reading the IMDB test split, about 2.7 s)
MAX_BATCH = 32  # reviews per batch
TOKENS_PER_BATCH = 4_000  # B * T_max stays under this: batches that stay in the CPU's caches were the fastest
# (600 IMDB reviews, 1 thread: 1.9 s at 1k-4k tokens a batch, 2.2 s at 16k, 2.6-3.3 s one review at a time)
SATURATION = (0.1, 0.9)  # left / right thresholds (Karpathy et al. 2015), as probe.dataset_saturation

Key = tuple[int, str, str]  # (layer, direction, gate)
Progress = Callable[[int, int], None]  # (reviews done, reviews in all)


# ---- the batch trace ----------------------------------------------------------------------------


@dataclass
class BatchTrace:
    """Gates of a sample of reviews, flat: review i is rows offsets[i]:offsets[i+1] of every array."""

    info: dict  # index.json: model, dataset, sample, shapes, saturation counts
    split_index: np.ndarray  # [N] int64: the review's position in the split
    labels: np.ndarray  # [N] int8: gold label (1 = positive)
    offsets: np.ndarray  # [N + 1] int64
    ids: np.ndarray  # [N_tok] int32: vocabulary ids
    tokens: list[str]  # [N_tok]: the tokens as the model read them
    arrays: dict[Key, np.ndarray]  # (layer, direction, gate) -> [N_tok, H] float16 (memory-mapped)
    path: str = ""

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def n_tokens(self) -> int:
        return int(self.offsets[-1])

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)  # [N]

    @property
    def cell(self) -> str:
        return self.info["cell"]

    @property
    def hidden_size(self) -> int:
        return int(self.info["hidden_size"])

    def keys(self) -> list[Key]:
        return list(self.arrays)

    def gates(self) -> list[str]:
        """The gates and states kept (all of the cell's, or only the states when the cache was small)."""
        kept = {k[2] for k in self.arrays}
        return [g for g in GATE_NAMES[self.cell] if g in kept]

    def layers(self) -> list[tuple[int, str]]:
        """(layer, direction) pairs, layer 0 forward first."""
        out: list[tuple[int, str]] = []
        for l, d, _ in self.arrays:
            if (l, d) not in out:
                out.append((l, d))
        return out

    def values(self, key: Key) -> np.ndarray:
        """[N_tok, H] float16, memory-mapped."""
        if key not in self.arrays:
            raise KeyError(f"no {key[2]!r} at layer {key[0]} {key[1]} in this trace; it has {sorted({k[2] for k in self.arrays})}")
        return self.arrays[key]

    def review(self, i: int, key: Key) -> np.ndarray:
        """[T, H] float32 values of review i (0 <= i < n)."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return np.asarray(self.values(key)[a:b], dtype=np.float32)

    def review_tokens(self, i: int) -> list[str]:
        return self.tokens[int(self.offsets[i]): int(self.offsets[i + 1])]

    def review_of_rows(self, rows: np.ndarray) -> np.ndarray:
        """The review index of each flat row [k] -> [k]."""
        return np.searchsorted(self.offsets, rows, side="right") - 1

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in Path(self.path).iterdir()) if self.path and Path(self.path).is_dir() else 0


def _file(key: Key) -> str:
    return f"L{key[0]}-{key[1]}-{key[2]}.npy"


def sample_indices(total: int, n: int, seed: int = 0) -> list[int]:
    """A seeded sample of n positions out of total (all of them, in order, when n >= total), sorted."""
    if n >= total:
        return list(range(total))
    return sorted(random.Random(seed).sample(range(total), n))


def quick_indices(examples: Sequence[Example], n: int = QUICK_SAMPLE, seed: int = 0) -> list[int]:
    """A small sample that shows a dataset at once: n positions, half of them positive and half negative
    (fewer of a label that has fewer), each half length-bucketed: that label's reviews sorted by length
    (characters, then position) cut into equal buckets, one review drawn from each (seeded). Sorted; all
    positions when n >= len(examples)."""
    total = len(examples)
    if n >= total:
        return list(range(total))
    rng = random.Random(seed)
    by_label: dict[int, list[int]] = {}
    for j, (text, y) in enumerate(examples):
        by_label.setdefault(int(y), []).append(j)
    labels = sorted(by_label)
    want = {y: n // len(labels) + (1 if i < n % len(labels) else 0) for i, y in enumerate(labels)}
    short = {y: max(0, want[y] - len(by_label[y])) for y in labels}  # a label with too few gives its share away
    for y in labels:
        want[y] = min(want[y], len(by_label[y]))
    spare = sum(short.values())
    for y in labels:
        extra = min(spare, len(by_label[y]) - want[y])
        want[y] += extra
        spare -= extra
    chosen: list[int] = []
    for y in labels:
        pool = sorted(by_label[y], key=lambda j: (len(examples[j][0]) if isinstance(examples[j][0], str) else 0, j))
        k = want[y]
        for b in range(k):
            lo, hi = b * len(pool) // k, (b + 1) * len(pool) // k
            chosen.append(pool[rng.randrange(lo, hi)])
    return sorted(chosen)


def _batches(lengths: Sequence[int], max_batch: int = MAX_BATCH, tokens: int = TOKENS_PER_BATCH) -> list[slice]:
    """Consecutive slices of length-sorted reviews: at most max_batch reviews, B * T_max <= tokens."""
    out, a = [], 0
    while a < len(lengths):
        b = a + 1
        while b < len(lengths) and b - a < max_batch and (b + 1 - a) * lengths[b] <= tokens:
            b += 1
        out.append(slice(a, b))
        a = b
    return out


def weights_sha256(ckpt: Checkpoint) -> str:
    """The model's weights checksum: its card's, else the weights file's, else of the tensors in memory."""
    sha = ckpt.card.get("weights_sha256") if isinstance(ckpt.card, dict) else None
    if isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha):
        return sha
    f = Path(ckpt.path) / "model.safetensors" if ckpt.path else None
    if f is not None and f.is_file():
        return hashlib.sha256(f.read_bytes()).hexdigest()
    h = hashlib.sha256()
    for k, v in sorted(ckpt.model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().float().numpy().tobytes())
    return h.hexdigest()


def trace_sample(ckpt: Checkpoint, examples: Sequence[Example], out_dir: str | Path, n: int = DEFAULT_SAMPLE,
                 seed: int = 0, progress: Progress | None = None, info: dict | None = None,
                 max_batch: int = MAX_BATCH, tokens_per_batch: int = TOKENS_PER_BATCH, threads: int | None = None,
                 max_bytes: int | None = None, reserve: Callable[[int], None] | None = None,
                 chosen: Sequence[int] | None = None) -> BatchTrace:
    """Trace a seeded sample of n examples (all when n >= len) into the empty or new directory out_dir;
    ``chosen``: these positions of ``examples`` instead (``quick_indices``; n is then only recorded).

    Reviews the model cannot read (no words) are skipped and counted in info["skipped"]. Progress is
    called with (reviews done, reviews in all) after each batch. InputError when none is readable.
    ``threads``: torch's intra-op threads while tracing (restored after); None keeps the current setting
    (on a busy shared CPU one thread was measured several times faster than two: bench/batch_trace.py).
    ``max_bytes``: the most the directory may take; when every gate would not fit, only the states
    (LSTM c and h, else h) are kept (saturation counts are still made for every sigmoid gate), and
    InputError (before anything is written) when even those would not fit. ``reserve(bytes)`` is
    called with the size before the arrays are written (the cache makes room)."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        return _trace_sample(ckpt, examples, out_dir, n, seed, progress, info, max_batch, tokens_per_batch, max_bytes,
                             reserve, chosen)
    finally:
        if threads:
            torch.set_num_threads(before)


def _encode_sample(ckpt: Checkpoint, examples: Sequence[Example], chosen: Sequence[int]):
    """The chosen reviews encoded, shortest first: (ids, tokens, labels, split positions, how many had no
    words to read). InputError when none has."""
    seqs, tokens, labels, where, skipped = [], [], [], [], 0
    for j in chosen:
        text, y = examples[j]
        try:
            enc = ckpt.encode(text)
        except InputError:
            skipped += 1
            continue
        seqs.append(enc.ids)
        tokens.append(enc.tokens)
        labels.append(int(y))
        where.append(j)
    if not seqs:
        raise InputError("review.none_readable")
    order = sorted(range(len(seqs)), key=lambda i: (len(seqs[i]), where[i]))  # shortest first
    return ([seqs[i] for i in order], [tokens[i] for i in order], [labels[i] for i in order],
            [where[i] for i in order], skipped)


def _save_reviews(out: Path, seqs, offsets: np.ndarray, labels, where, tokens) -> None:
    """The sample's ids, offsets (review r is rows offsets[r]:offsets[r+1]), labels, split positions and tokens."""
    np.save(out / "ids.npy", np.concatenate([np.asarray(s, dtype=np.int32) for s in seqs]))
    np.save(out / "offsets.npy", offsets)
    np.save(out / "labels.npy", np.asarray(labels, dtype=np.int8))
    np.save(out / "split_index.npy", np.asarray(where, dtype=np.int64))
    (out / "tokens.txt").write_text("\n".join(tok.replace("\n", " ") for review in tokens for tok in review), encoding="utf-8")


def _open_arrays(out: Path, keys: list, n_tok: int, H: int) -> dict:
    """One .npy file per kept gate, its float16 [n_tok, H] header written; the rows are written in order,
    batch after batch (no page faults of a memmap)."""
    files = {k: open(out / _file(k), "wb") for k in keys}
    for f in files.values():
        np.lib.format.write_array_header_1_0(f, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float16)),
                                                 "fortran_order": False, "shape": (n_tok, H)})
    return files


def _trace_sample(ckpt: Checkpoint, examples: Sequence[Example], out_dir: str | Path, n: int, seed: int,
                  progress: Progress | None, info: dict | None, max_batch: int, tokens_per_batch: int,
                  max_bytes: int | None = None, reserve: Callable[[int], None] | None = None,
                  chosen: Sequence[int] | None = None) -> BatchTrace:
    t0 = time.perf_counter()
    if n < 1:
        raise InputError("patterns.sample_empty")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    picked = list(chosen) if chosen is not None else sample_indices(len(examples), int(n), seed)
    seqs, tokens, labels, where, skipped = _encode_sample(ckpt, examples, picked)
    lengths = [len(s) for s in seqs]
    offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths)
    n_tok = int(offsets[-1])
    model, c = ckpt.model, ckpt.config
    H = c.hidden_size
    text_bytes = sum(len(tok.encode("utf-8")) + 1 for review in tokens for tok in review)
    stored = choose_gates(ckpt, n_tok, len(seqs), text_bytes, max_bytes)
    if reserve is not None:
        reserve(sample_bytes(ckpt, n_tok, len(seqs), text_bytes, stored))
    keys = [(l, DIRECTIONS[d], g) for l in range(c.num_layers) for d in range(c.directions) for g in stored]
    every = [(l, DIRECTIONS[d], g) for l in range(c.num_layers) for d in range(c.directions) for g in GATE_NAMES[c.cell]]
    files = _open_arrays(out, keys, n_tok, H)
    lo, hi = SATURATION
    sat = {k: [np.zeros(H, np.int64), np.zeros(H, np.int64)] for k in every if k[2] in SIGMOID_GATES[c.cell]}
    dev = next(model.parameters()).device
    try:
        with _eval_mode(model), torch.no_grad():
            for sl in _batches(lengths, max_batch, tokens_per_batch):
                ids, lens = collate(seqs[sl])  # [B, T], [B]
                ids, lens = ids.to(dev), lens.to(dev)
                mask = length_mask(lens, ids.shape[1])  # [B, T] bool
                for r in recompute(model.rnn, model.embedding(ids), lens):
                    for g, v in r["gates"].items():  # v [B, T, H]
                        rows = v[mask]  # [sum of lengths, H]: review by review, token by token
                        key = (r["layer"], r["direction"], g)
                        if key in files:
                            files[key].write(rows.to(torch.float16).cpu().numpy().tobytes())
                        if key in sat:
                            sat[key][0] += (rows < lo).sum(0).cpu().numpy()
                            sat[key][1] += (rows > hi).sum(0).cpu().numpy()
                if progress is not None:
                    progress(sl.stop, len(seqs))
    finally:
        for f in files.values():
            f.close()
    _save_reviews(out, seqs, offsets, labels, where, tokens)
    index = dict(info or {})
    index.update({
        "format": FORMAT, "cell": c.cell, "hidden_size": H, "num_layers": c.num_layers, "bidirectional": c.bidirectional,
        "language": ckpt.language, "model_name": index.get("model_name") or (Path(ckpt.path).name if ckpt.path else ""),
        "weights_sha256": index.get("weights_sha256") or weights_sha256(ckpt),
        "n_requested": int(n), "seed": int(seed), "n": len(seqs), "n_tokens": n_tok, "skipped": skipped,
        "arrays": [list(k) for k in keys], "dtype": "float16",
        "saturation": {"low": lo, "high": hi, "steps": n_tok,
                       "counts": {"|".join(map(str, k)): {"left": v[0].tolist(), "right": v[1].tolist()} for k, v in sat.items()}},
        "seconds": round(time.perf_counter() - t0, 3),
    })
    (out / "index.json").write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
    return load_dir(out)


INDEX_BYTES = 1024  # index.json without its saturation counts, at most


def sample_bytes(ckpt: Checkpoint, n_tokens: int, n_reviews: int, text_bytes: int, gates: Sequence[str]) -> int:
    """Bytes a batch trace directory takes: float16 arrays of the gates kept, ids, offsets, labels,
    positions, the tokens' text (``text_bytes``, one newline each included) and the index."""
    c = ckpt.config
    n_arrays = c.num_layers * c.directions * len(gates)
    counts = c.num_layers * c.directions * len(SIGMOID_GATES[c.cell]) * 2 * c.hidden_size * 10  # left, right per unit
    index = INDEX_BYTES + counts + (n_arrays + 4) * 160  # + a .npy header per file and its name in the index
    return n_arrays * n_tokens * c.hidden_size * 2 + 4 * n_tokens + 17 * n_reviews + 8 + text_bytes + index


def state_gates(cell: str) -> list[str]:
    """The states a cell has (LSTM c and h, else h): what is kept when every gate would not fit."""
    return [g for g in GATE_NAMES[cell] if g in ("c", "h")]


def choose_gates(ckpt: Checkpoint, n_tokens: int, n_reviews: int, text_bytes: int, max_bytes: int | None) -> list[str]:
    """Every gate when the sample fits in ``max_bytes``, else the states, else only h; InputError
    with the sample size that would fit when even h does not."""
    cell = ckpt.config.cell
    options = [GATE_NAMES[cell], state_gates(cell), ["h"]]
    if max_bytes is None:
        return options[0]
    for gates in options:
        if sample_bytes(ckpt, n_tokens, n_reviews, text_bytes, gates) <= max_bytes:
            return gates
    need = sample_bytes(ckpt, n_tokens, n_reviews, text_bytes, ["h"])
    fits = max(0, int(n_reviews * (max_bytes - INDEX_BYTES) / max(1, need - INDEX_BYTES)))
    raise InputError("patterns.too_big", mb=need / 1e6, limit=max_bytes / 1e6, env=PATTERNS_CACHE_ENV, fits=fits)


def load_dir(path: str | Path, expect_sha: str | None = None) -> BatchTrace:
    """A BatchTrace directory, arrays memory-mapped. GateScopeError when anything does not validate."""
    d = Path(path)
    try:
        info = json.loads((d / "index.json").read_text(encoding="utf-8"))
        if not isinstance(info, dict) or info.get("format") != FORMAT:
            raise GateScopeError("patterns.not_batch", path=d, format=FORMAT)
        if expect_sha is not None and info.get("weights_sha256") != expect_sha:
            raise GateScopeError("patterns.other_weights", path=d)
        n, n_tok, H = int(info["n"]), int(info["n_tokens"]), int(info["hidden_size"])
        offsets = np.load(d / "offsets.npy")
        ids = np.load(d / "ids.npy", mmap_mode="r")
        labels = np.load(d / "labels.npy")
        split_index = np.load(d / "split_index.npy")
        tokens = (d / "tokens.txt").read_text(encoding="utf-8").split("\n")
        ok = (offsets.shape == (n + 1,) and offsets[0] == 0 and offsets[-1] == n_tok and bool((np.diff(offsets) > 0).all())
              and ids.shape == (n_tok,) and labels.shape == (n,) and split_index.shape == (n,) and len(tokens) == n_tok)
        if not ok:
            raise GateScopeError("patterns.index", path=d)
        arrays = {}
        for k in info["arrays"]:
            key = (int(k[0]), str(k[1]), str(k[2]))
            a = np.load(d / _file(key), mmap_mode="r")
            if a.shape != (n_tok, H) or a.dtype != np.float16:
                raise GateScopeError("patterns.shape", path=d / _file(key), shape=a.shape, expected=(n_tok, H))
            arrays[key] = a
        if not arrays:
            raise GateScopeError("patterns.no_arrays", path=d)
    except GateScopeError:
        raise
    except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError) as e:
        raise GateScopeError("patterns.unreadable", path=d, err=f"{type(e).__name__}: {e}") from None
    return BatchTrace(info, split_index, labels, offsets, ids, tokens, arrays, str(d))


# ---- the cache ----------------------------------------------------------------------------------


def cache_root() -> Path:
    return cache_dir() / "patterns"


def cache_key(ckpt: Checkpoint, n: int, seed: int = 0, split: str = "test", quick: bool = False) -> str:
    """A directory name: the model's name (for people) and weights sha256 (for the cache), split, n, seed;
    ``quick``: the balanced, length-bucketed sample of ``quick_indices`` (another key than the seeded one)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(ckpt.path).name if ckpt.path else "model")[:60] or "model"
    return f"{name}-{weights_sha256(ckpt)[:20]}-{split}{'-quick' if quick else ''}-n{int(n)}-s{int(seed)}-v1"


def cache_path(ckpt: Checkpoint, n: int, seed: int = 0, split: str = "test", root: str | Path | None = None,
               quick: bool = False) -> Path:
    """Where this model's sample is (or would be) cached."""
    return Path(root or cache_root()) / cache_key(ckpt, n, seed, split, quick)


def bytes_per_token(ckpt: Checkpoint) -> int:
    """Disk taken by one token of a batch trace: every gate of every layer and direction, float16."""
    c = ckpt.config
    return c.num_layers * c.directions * len(GATE_NAMES[c.cell]) * c.hidden_size * 2 + 4


def cached(ckpt: Checkpoint, n: int, seed: int = 0, split: str = "test", root: str | Path | None = None,
           quick: bool = False) -> BatchTrace | None:
    """The cached BatchTrace of this model and sample, or None (absent, or broken: then it is removed)."""
    d = cache_path(ckpt, n, seed, split, root, quick)
    if not d.exists():
        return None
    try:
        return load_dir(d, weights_sha256(ckpt))
    except GateScopeError:
        shutil.rmtree(d, ignore_errors=True)
        return None


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if need be): one session traces a sample while the others
    wait for it, instead of thirty identical traces on one server. No lock where the OS has none."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    try:
        f = open(path, "a")
    except OSError:  # an unwritable cache: no lock, no cache either
        yield
        return
    with f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            # Removed so the cache holds only traces. A session that opened it before the removal
            # still gets the lock after us and then finds the trace made; at worst two sessions trace
            # the same sample when the first one failed.
            path.unlink(missing_ok=True)
            fcntl.flock(f, fcntl.LOCK_UN)


def touch(path: str | Path) -> None:
    """Mark a cached trace as just used (the size limit removes the least recently used first)."""
    try:
        os.utime(path)
    except OSError:
        pass


def load_or_trace(ckpt: Checkpoint, n: int = DEFAULT_SAMPLE, seed: int = 0, split: str = "test",
                  examples: Sequence[Example] | None = None, progress: Progress | None = None,
                  root: str | Path | None = None, threads: int | None = None, quick: bool = False) -> BatchTrace:
    """The cached trace of this model's sample, else a new one, written atomically into the cache.
    ``quick``: the balanced, length-bucketed sample of ``quick_indices`` (cached under its own key).

    ``examples`` default to the model's own split (rebuilt from its card by ``readers.split_for``;
    GateScopeError when its dataset is not on this machine). Sessions asking for the same sample at
    once trace it once: the others wait on a lock and then read it. A valid cached trace is never
    replaced while someone may be reading it. When the cache folder cannot be written, the trace is
    made in a temporary folder and returned (not cached)."""
    bt = cached(ckpt, n, seed, split, root, quick)
    if bt is not None:
        touch(bt.path)
        return bt
    root = Path(root or cache_root())
    key = cache_key(ckpt, n, seed, split, quick)
    try:
        root.mkdir(parents=True, exist_ok=True)
        writable = True
    except OSError:
        writable = False
    with _locked(root / f".{key}.lock") if writable else nullcontext():
        bt = cached(ckpt, n, seed, split, root, quick)  # traced by another session while we waited
        if bt is not None:
            touch(bt.path)
            return bt
        if examples is None:
            examples = getattr(split_for(ckpt.card), split)
        try:
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root)) if writable else None
        except OSError:
            tmp = None
        cache_it = tmp is not None
        if tmp is None:  # a cache folder we cannot write: trace into a temporary folder, not cached
            tmp = Path(tempfile.mkdtemp(prefix="gatescope-patterns-"))
        sha = weights_sha256(ckpt)
        info = {"model_name": Path(ckpt.path).name if ckpt.path else "", "model_path": str(ckpt.path),
                "weights_sha256": sha, "dataset": ckpt.card.get("dataset", ""), "split": split,
                "sample": "quick" if quick else "seeded"}
        try:
            limit = cache_limit_bytes() if cache_it else None  # held for every source, uploads included
            trace_sample(ckpt, examples, tmp, n=n, seed=seed, progress=progress, info=info, threads=threads, max_bytes=limit,
                         reserve=None if limit is None else lambda need: prune_to_size(root, limit=limit - need),
                         chosen=quick_indices(examples, n, seed) if quick else None)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if not cache_it:
            return load_dir(tmp, sha)
        final = root / key
        if final.exists():  # not valid (cached() said so): nobody can be using it
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.rename(tmp, final)
        except OSError:
            return load_dir(tmp, sha)
    _prune_stale(root, str(ckpt.path), sha)
    prune_to_size(root, keep=final)
    return load_dir(final, sha)


def cache_limit_bytes() -> int:
    """The most the pattern traces may take on disk together: GATESCOPE_PATTERNS_CACHE_MB (default 4096)."""
    try:
        mb = float(os.environ.get("GATESCOPE_PATTERNS_CACHE_MB") or 4096)
    except ValueError:
        mb = 4096.0
    return int(max(mb, 0) * 1e6)


def cache_bytes(root: str | Path | None = None) -> int:
    """What the cached traces take on disk now (unfinished temporary folders included)."""
    root = Path(root or cache_root())
    return sum(_size(d) for d in root.iterdir() if d.is_dir()) if root.is_dir() else 0


def _size(d: Path) -> int:
    total = 0
    try:
        for f in d.rglob("*"):
            try:
                total += f.stat().st_size if f.is_file() else 0
            except OSError:  # removed meanwhile by another session
                pass
    except OSError:
        pass
    return total


def prune_to_size(root: Path, keep: Path | None = None, limit: int | None = None) -> list[Path]:
    """Remove the least recently used cached traces (never ``keep``) until all fit in ``limit`` bytes
    (default cache_limit_bytes()); returns what was removed. Unfinished temporary folders are left alone."""
    limit = cache_limit_bytes() if limit is None else limit
    dirs = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")] if root.is_dir() else []
    sizes = {d: _size(d) for d in dirs}
    total, removed = sum(sizes.values()), []

    def used(d: Path) -> float:
        try:
            return d.stat().st_mtime
        except OSError:
            return 0.0

    for d in sorted(dirs, key=used):  # oldest use first
        if total <= limit:
            break
        if keep is not None and d.resolve() == Path(keep).resolve():
            continue
        shutil.rmtree(d, ignore_errors=True)
        total -= sizes[d]
        removed.append(d)
    return removed


def _prune_stale(root: Path, model_path: str, sha: str) -> None:
    """Remove cached traces of the same model directory made with other weights (a retrained model)."""
    if not model_path:
        return
    for d in root.iterdir():
        try:
            info = json.loads((d / "index.json").read_text(encoding="utf-8"))
            if info.get("model_path") == model_path and info.get("weights_sha256") != sha:
                shutil.rmtree(d, ignore_errors=True)
        except (OSError, ValueError, AttributeError):
            continue


# ---- select and match ----------------------------------------------------------------------------


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


# ---- unit-word profiles and co-clustering ---------------------------------------------------------


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
    total = sums.sum(0).numpy()  # [H]
    unit_mean = total / max(1, bt.n_tokens)
    keep = np.flatnonzero(counts >= max(1, int(min_count)))
    keep = keep[(keep != UNK_ID) & (keep != PAD_ID)]
    if keep.size == 0:
        raise InputError("patterns.no_frequent_word", n=min_count)
    first = np.full(V, -1, dtype=np.int64)
    uniq, at = np.unique(ids, return_index=True)
    first[uniq] = at
    words = [bt.tokens[int(first[i])] for i in keep]
    delta = (sums.numpy()[keep] / counts[keep, None] - unit_mean[None, :]).T  # [H, W]
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
    clusters: "CoClusters"


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


# ---- saturation over the sample -----------------------------------------------------------------


def saturation(bt: BatchTrace, low: float = SATURATION[0], high: float = SATURATION[1]) -> dict:
    """Per unit, the share of the sample's tokens with each sigmoid gate below low ("left") and above
    high ("right"), per layer and direction: {(layer, direction, gate): {"left": [H], "right": [H],
    "steps", "reviews"}} (the keys and definitions of probe.dataset_saturation). At the default
    thresholds the counts made from float32 values while tracing are used; otherwise the stored float16."""
    stored = bt.info.get("saturation", {})
    counted = [(int(k.split("|")[0]), k.split("|")[1], k.split("|")[2]) for k in stored.get("counts", {})]
    out = {}
    for key in bt.keys() + [k for k in counted if k not in bt.arrays]:  # a trace that kept only the states
        if key[2] not in SIGMOID_GATES[bt.cell]:
            continue
        counts = stored.get("counts", {}).get("|".join(map(str, key)))
        if key not in bt.arrays and (low, high) != (stored.get("low"), stored.get("high")):
            continue  # not kept, and counted only at the default thresholds
        if counts is not None and (low, high) == (stored.get("low"), stored.get("high")):
            left, right = np.asarray(counts["left"], np.float64), np.asarray(counts["right"], np.float64)
        else:
            v = bt.values(key)
            left, right = np.zeros(v.shape[1]), np.zeros(v.shape[1])
            step = 1 << 16
            for a in range(0, bt.n_tokens, step):
                block = np.asarray(v[a: a + step], dtype=np.float32)
                left += (block < low).sum(0)
                right += (block > high).sum(0)
        out[key] = {"left": left / bt.n_tokens, "right": right / bt.n_tokens, "steps": bt.n_tokens, "reviews": bt.n}
    return out
