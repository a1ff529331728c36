"""The batch trace: every gate, cell and hidden state of a sample of reviews, traced by
``probe.recompute`` on length-sorted padded batches and written as a ``BatchTrace`` directory.

A BatchTrace directory holds ``index.json`` (model, sample, shapes, saturation counts) and ``.npy``
files loaded memory-mapped: ``ids`` [N_tok] int32, ``offsets`` [N + 1] int64, ``labels`` [N] int8,
``split_index`` [N] int64, ``tokens.txt`` (one token a line) and one float16 array [N_tok, H] per
layer, direction and gate (``L0-forward-i.npy`` ...). Review i's rows are offsets[i]:offsets[i+1];
reviews are stored shortest first (ties by split position), as they were traced.

Which reviews: ``sample_indices`` (seeded) or ``quick_indices`` (the balanced sample the page opens
on); how big: ``sample_bytes`` / ``choose_gates`` (only the states when every gate would not fit).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sentiment.data.batching import collate
from sentiment.data.readers import Example
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
    for j, (_text, y) in enumerate(examples):
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
    files = {k: open(out / _file(k), "wb") for k in keys}  # noqa: SIM115 (closed by _trace_sample)
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
    try:
        _trace_batches(model, seqs, lengths, files, sat, max_batch, tokens_per_batch, progress)
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


def _trace_batches(model, seqs: list, lengths: list[int], files: dict, sat: dict, max_batch: int, tokens_per_batch: int,
                   progress: Progress | None) -> None:
    """Trace the length-sorted reviews batch by batch: each kept gate's rows appended to its file
    (``files``), every sigmoid gate's saturation counts at SATURATION added up in ``sat``."""
    lo, hi = SATURATION
    dev = next(model.parameters()).device
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
