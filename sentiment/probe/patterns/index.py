"""A whole split indexed for matching: every review of a split (or of an uploaded dataset) traced once,
keeping only what matching needs, so that "where in the whole test set are these units on together?"
is answered from disk in well under a second.

What is kept: each layer and direction's hidden state h_t, unit by unit, at the tokens where it is
above a floor (``FLOOR``), as float32, exactly as the model's fused recurrence computed it. Hidden
states are sparse above small values (imdb-lstm-max on IMDB test reviews: 6% of unit-token values
above 0.1, 3% above 0.3), so the index takes about 8 bytes x 6% a unit-token instead of 2 bytes for
every value of every gate. A match over units U at a threshold at or above the floor reads only the
lists of U, and it is the exhaustive search over the float32 states (``tests/test_patterns_index.py``
checks it against ``matching.match`` on the same states).

Layout of an index directory (reviews stored shortest first, ties by split position, as a sample is)::

    index.json             model, weights sha256, data, split, n, n_tokens, floor, keys, shards, seconds
    offsets.npy [N+1] int64   review r is token rows offsets[r]:offsets[r+1]
    labels.npy [N] int8, split_index.npy [N] int64, ids.npy [N_tok] int32, punct.npy [N_tok] bool
    tok_bytes.bin, tok_offsets.npy [N_tok+1] int64   every token's utf-8, read a phrase at a time
    shard-00000/           reviews review0..review1, token rows row0..row1 (in index.json "shards")
        ptr.npy [K*H+1] int64    key k's unit u: entries ptr[k*H+u]:ptr[k*H+u+1]
        rows.npy [nnz] int32     token row within the shard, increasing within each unit
        vals.npy [nnz] float32   h_t of that unit at that row (> floor)
    words.npz              ids, sums [read words, K*H] float64, counts [V]: each word's summed states (word
                           profiles); saturation [K, 2, G, H]: tokens with each sigmoid gate below 0.1 / above 0.9

It is built in ``<dir>.partial/``: the reviews' files first, then shard after shard, each written under
a temporary name and renamed, so an interrupted build resumes at the first missing shard; the folder
is renamed to ``<dir>`` when complete.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from sentiment.data.batching import collate
from sentiment.data.readers import Example
from sentiment.errors import GateScopeError, InputError
from sentiment.modeling.checkpoint import Checkpoint
from sentiment.modeling.pooling import length_mask
from sentiment.modeling.recurrence import cell_of, direction_modules, reverse_padded
from sentiment.probe.instrument import DIRECTIONS, SIGMOID_GATES, _eval_mode, run_fused
from sentiment.probe.patterns.matching import Match, Matches, is_punctuation
from sentiment.probe.patterns.trace import SATURATION, _batches, weights_sha256

FORMAT = "gatescope-index/2"  # 2: words.npz also holds the gates' saturation counts
FLOOR = 0.1  # the smallest threshold a whole-split match takes: values at or below it are not kept
SHARD_TOKENS = 120_000  # token rows per shard: its states [rows, K*H] float32 are held in memory (and once transposed):
# 120,000 x 256 x 4 bytes x 2 = 246 MB for a 1-layer BiLSTM 128 (200,000 took the IMDB build to 1,565 MB peak, over 1.5 GB)
MAX_BATCH = 256  # reviews a batch: the fused LSTM step multiplies [B, H] by [H, 4H]; B = 256 ran the
TOKENS_PER_BATCH = 64_000  # IMDB test split fastest here (1,500 reviews: 25k tokens/s, against 7-15k at B = 64)

Key = tuple[int, str, str]  # (layer, direction, "h")
Progress = Callable[[int, int], None]  # (reviews done, reviews in all)


# ---- the states -------------------------------------------------------------------------------------


SIGMOID_BLOCKS = {"lstm": [0, 1, 3], "gru": [0, 1], "rnn": []}  # SIGMOID_GATES' blocks in PyTorch's gate order (i f g o; r z n)


def saturation_counts(cell: str, mod: torch.nn.RNNBase, x: torch.Tensor, h: torch.Tensor, mask: torch.Tensor,
                      low: float = SATURATION[0], high: float = SATURATION[1], step: int = 4096) -> torch.Tensor:
    """[2, G, H] int64: over the real tokens, how often each sigmoid gate (SIGMOID_GATES[cell], G of them)
    of each unit is below low (row 0) and above high (row 1). One direction in its own step order:
    x [B, T, In] its inputs, h [B, T, H] its outputs (zeros at pads), mask [B, T] True at real tokens.

    The gates' pre-activations are recomputed from x_t and h_{t-1} as the probe does (W_i* x_t + b_i* +
    W_h* h_{t-1} + b_h*) and compared with the thresholds' logits (sigma(p) < low exactly when p <
    log(low / (1 - low))), ``step`` token rows at a time: each block stays in cache, and the counts are
    one product with the mask, not a sum over a boolean array (measured 4x faster here)."""
    blocks, H = SIGMOID_BLOCKS[cell], mod.hidden_size
    rows = torch.cat([torch.arange(b * H, (b + 1) * H) for b in blocks])  # the sigmoid gates' rows of W_ih, W_hh
    W_ih, W_hh = mod.weight_ih_l0[rows].t(), mod.weight_hh_l0[rows].t()  # [In, G*H], [H, G*H]
    biases = [b[rows] for b in (getattr(mod, "bias_ih_l0", None), getattr(mod, "bias_hh_l0", None)) if b is not None]
    bias = sum(biases) if biases else x.new_zeros(len(rows))  # [G*H]: b_i* + b_h*
    below, above = math.log(low / (1 - low)), math.log(high / (1 - high))
    x2 = x.reshape(-1, x.shape[-1])  # [B*T, In]
    h_prev = F.pad(h, (0, 0, 1, 0))[:, :-1].reshape(-1, H)  # [B*T, H]: h_{t-1}, h_{-1} = 0
    real = mask.reshape(-1).to(x.dtype)  # [B*T]
    counts = torch.zeros(2, len(rows), dtype=torch.float64, device=x.device)
    for a in range(0, x2.shape[0], step):
        pre = torch.addmm(bias, x2[a: a + step], W_ih).addmm_(h_prev[a: a + step], W_hh)  # [step, G*H]
        m = real[a: a + step]
        counts[0] += m @ (pre < below).to(x.dtype)
        counts[1] += m @ (pre > above).to(x.dtype)
    return counts.round().long().view(2, len(blocks), H)


def hidden_states(rnn: torch.nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor,
                  saturation: torch.Tensor | None = None) -> list[torch.Tensor]:
    """h_t of every layer and direction (layer 0 forward, layer 0 backward, layer 1 forward, ...), each
    [B, T, H] with row t = token t and zeros at pads, from x [B, T, E] right-padded with true lengths [B]:
    the fused recurrence of each direction, as the model runs it. ``saturation`` [K, 2, G, H]: the
    sigmoid gates' counts of ``saturation_counts`` are added to it, key after key."""
    out, inp = [], x
    cell = cell_of(rnn)
    mask = length_mask(lengths, x.shape[1]) if saturation is not None and SIGMOID_BLOCKS[cell] else None
    for mods in direction_modules(rnn):
        hs = []
        for d, mod in enumerate(mods):
            xd = inp if d == 0 else reverse_padded(inp, lengths)  # the direction's own step order
            h = run_fused(mod, xd, lengths)  # [B, T, H]
            if mask is not None:
                saturation[len(out) + d] += saturation_counts(cell, mod, xd, h, mask)
            hs.append(h if d == 0 else reverse_padded(h, lengths))
        out += hs
        inp = torch.cat(hs, -1)  # [B, T, dirs*H]: the next layer's input
    return out


def state_rows(ckpt: Checkpoint, seqs: Sequence[Sequence[int]], max_batch: int = MAX_BATCH,
               tokens_per_batch: int = TOKENS_PER_BATCH, saturation: torch.Tensor | None = None,
               ) -> Iterator[tuple[int, np.ndarray]]:
    """(reviews done, states [rows, K*H] float32) batch after batch for length-sorted reviews: the rows of
    review after review, token after token; columns key after key (``keys``), unit after unit.
    ``saturation`` [K, 2, G, H]: the gates' saturation counts are added to it (``hidden_states``)."""
    model = ckpt.model
    dev = next(model.parameters()).device
    lengths = [len(s) for s in seqs]
    with _eval_mode(model), torch.no_grad():
        for sl in _batches(lengths, max_batch, tokens_per_batch):
            ids, lens = collate(seqs[sl])  # [B, T], [B]
            ids, lens = ids.to(dev), lens.to(dev)
            states = torch.cat(hidden_states(model.rnn, model.embedding(ids), lens, saturation), -1)  # [B, T, K*H]
            mask = torch.arange(ids.shape[1], device=dev)[None, :] < lens[:, None]
            yield sl.stop, states[mask].float().cpu().numpy()  # [sum of lengths, K*H]


def keys_of(ckpt: Checkpoint) -> list[Key]:
    c = ckpt.config
    return [(l, DIRECTIONS[d], "h") for l in range(c.num_layers) for d in range(c.directions)]


# ---- building ---------------------------------------------------------------------------------------


@dataclass
class _Encoded:
    """The reviews a model reads, shortest first (ties by position), held compactly: ids as int32 arrays,
    the tokens' text in a temporary file (``text``), read back in this order when the index is written."""

    ids: list[np.ndarray]  # [T_r] int32 each
    labels: list[int]
    where: list[int]  # position in the examples
    spans: list[tuple[int, int]]  # the review's tokens' bytes in ``text``
    sizes: list[np.ndarray]  # [T_r] int32: each token's utf-8 size
    punct: list[np.ndarray]  # [T_r] bool
    text: Path
    skipped: int


def _encode(ckpt: Checkpoint, examples: Sequence[Example], text: Path) -> _Encoded:
    """Encode every example once, keeping its tokens' text on disk (25,000 IMDB reviews are 5.9 million
    tokens: as Python strings they would take over half a gigabyte). InputError when none is readable."""
    rows, skipped, at = [], 0, 0
    with open(text, "wb") as f:
        for j, (review, y) in enumerate(examples):
            try:
                enc = ckpt.encode(review)
            except InputError:
                skipped += 1
                continue
            encoded = [tok.encode("utf-8") for tok in enc.tokens]
            blob = b"".join(encoded)
            f.write(blob)
            rows.append((np.asarray(enc.ids, dtype=np.int32), int(y), j, (at, at + len(blob)),
                         np.array([len(b) for b in encoded], dtype=np.int32),
                         np.array([is_punctuation(tok) for tok in enc.tokens], dtype=bool)))
            at += len(blob)
    if not rows:
        raise InputError("review.none_readable")
    rows.sort(key=lambda r: (len(r[0]), r[2]))  # shortest first, ties by position
    ids, labels, where, spans, sizes, punct = (list(col) for col in zip(*rows, strict=True))
    return _Encoded(ids, labels, where, spans, sizes, punct, text, skipped)


def _write_reviews(out: Path, enc: _Encoded) -> np.ndarray:
    """The reviews' files (see the module's layout), in the encoded order; returns offsets."""
    offsets = np.zeros(len(enc.ids) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in enc.ids])
    tok_off = np.zeros(int(offsets[-1]) + 1, dtype=np.int64)
    tok_off[1:] = np.cumsum(np.concatenate(enc.sizes))
    src = np.memmap(enc.text, dtype=np.uint8, mode="r") if enc.text.stat().st_size else np.zeros(0, np.uint8)
    with open(out / "tok_bytes.bin", "wb") as f:
        for a, b in enc.spans:
            f.write(src[a:b].tobytes())
    np.save(out / "tok_offsets.npy", tok_off)
    np.save(out / "punct.npy", np.concatenate(enc.punct))
    np.save(out / "ids.npy", np.concatenate(enc.ids))
    np.save(out / "labels.npy", np.asarray(enc.labels, dtype=np.int8))
    np.save(out / "split_index.npy", np.asarray(enc.where, dtype=np.int64))
    np.save(out / "offsets.npy", offsets)  # last: its presence says the reviews' files are complete
    return offsets


def shard_plan(offsets: np.ndarray, shard_tokens: int = SHARD_TOKENS) -> list[tuple[int, int]]:
    """(review0, review1) per shard: consecutive reviews of about shard_tokens token rows (a review is never cut)."""
    plan, a, n = [], 0, len(offsets) - 1
    while a < n:
        b = int(np.searchsorted(offsets, offsets[a] + shard_tokens, side="right")) - 1
        b = min(max(b, a + 1), n)
        plan.append((a, b))
        a = b
    return plan


def _write_shard(path: Path, states: np.ndarray, floor: float) -> Path:
    """One shard's lists from its states [rows, K*H]: per column, the rows above floor and their values;
    written in a temporary folder beside ``path``, returned (the caller renames it)."""
    cols = np.ascontiguousarray(states.T)  # [K*H, rows]: np.nonzero then walks column after column
    unit, row = np.nonzero(cols > floor)
    ptr = np.zeros(cols.shape[0] + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(np.bincount(unit, minlength=cols.shape[0]))
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    np.save(tmp / "rows.npy", row.astype(np.int32))
    np.save(tmp / "vals.npy", cols[unit, row])
    np.save(tmp / "ptr.npy", ptr)
    return tmp


@dataclass
class _WordSums:
    """Per vocabulary id and column, the sum of the states over every token of that word, and how often
    it was read: what a unit-word profile needs (``word_profile``), added up shard after shard. ``upto``:
    the shards counted so far (saved with the sums in one file, replaced atomically)."""

    sums: torch.Tensor  # [V, K*H] float64
    counts: np.ndarray  # [V] int64
    upto: int
    saturation: torch.Tensor  # [K, 2, G, H] int64: tokens with each sigmoid gate below / above SATURATION

    @classmethod
    def load(cls, d: Path, V: int, C: int, sat_shape: tuple[int, ...]) -> _WordSums:
        try:
            with np.load(d / "words.npz") as z:
                sums, counts, sat = _dense_sums(z), z["counts"], z["saturation"]
                if sums.shape == (V, C) and counts.shape == (V,) and sat.shape == sat_shape:
                    return cls(torch.from_numpy(sums.astype(np.float64)), counts, int(z["upto"]), torch.from_numpy(sat))
        except (OSError, ValueError, KeyError):
            pass
        return cls(torch.zeros(V, C, dtype=torch.float64), np.zeros(V, dtype=np.int64), 0,
                   torch.zeros(sat_shape, dtype=torch.int64))

    def add(self, ids: np.ndarray, states: np.ndarray, step: int = 16_384) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        for a in range(0, len(ids), step):  # in chunks: float64 copies of a whole shard would be 400 MB
            self.sums.index_add_(0, torch.from_numpy(ids[a: a + step]), torch.from_numpy(states[a: a + step]).double())
        self.counts += np.bincount(ids, minlength=len(self.counts))

    def save(self, d: Path, upto: int, compact: bool = False) -> None:
        """Into d/words.npz, atomically. ``compact`` (a finished build): only the rows of the words read
        ([read words, K*H] float64; a test split reads a small part of the vocabulary)."""
        self.upto = upto
        tmp = d / "words.tmp.npz"
        if compact:
            ids = np.flatnonzero(self.counts)
            np.savez(tmp, ids=ids.astype(np.int32), sums=self.sums.numpy()[ids],
                     counts=self.counts, upto=np.int64(upto), saturation=self.saturation.numpy())
        else:
            np.savez(tmp, sums=self.sums.numpy(), counts=self.counts, upto=np.int64(upto),
                     saturation=self.saturation.numpy())
        os.replace(tmp, d / "words.npz")


def _dense_sums(z, cols: slice = slice(None)) -> np.ndarray:
    """The word sums of a words.npz as [V, columns]: stored dense while a build runs, only the read
    words' rows (``ids``) once it is complete."""
    if "ids" not in z:
        return z["sums"][:, cols]
    sums = z["sums"][:, cols]
    dense = np.zeros((len(z["counts"]), sums.shape[1]), dtype=np.float64)
    dense[z["ids"]] = sums
    return dense


def build_index(ckpt: Checkpoint, examples: Sequence[Example], out_dir: str | Path, info: dict | None = None,
                floor: float = FLOOR, shard_tokens: int = SHARD_TOKENS, progress: Progress | None = None,
                should_stop: Callable[[], bool] | None = None) -> WholeIndex:
    """Index every example into out_dir (built in ``out_dir.partial``, resumed from there when an earlier
    build stopped; renamed to out_dir when complete). ``should_stop``: asked between batches; when it says
    yes, the build stops (InputError "patterns.index_stopped"), keeping what is done for the next call."""
    t0 = time.perf_counter()
    final, part = Path(out_dir), Path(str(out_dir) + ".partial")
    part.mkdir(parents=True, exist_ok=True)
    enc = _encode(ckpt, examples, part / "tokens.tmp")
    seqs, skipped = enc.ids, enc.skipped
    offsets = np.load(part / "offsets.npy") if (part / "offsets.npy").exists() else None
    if offsets is None or len(offsets) != len(seqs) + 1 or int(offsets[-1]) != sum(len(s) for s in seqs):
        offsets = _write_reviews(part, enc)
    (part / "tokens.tmp").unlink()
    plan = shard_plan(offsets, shard_tokens)
    K, H = len(keys_of(ckpt)), ckpt.config.hidden_size
    words = _WordSums.load(part, ckpt.config.vocab_size, K * H, (K, 2, len(SIGMOID_BLOCKS[ckpt.config.cell]), H))
    for k, (a, b) in enumerate(plan):
        shard = part / f"shard-{k:05d}"
        if not shard.exists() or words.upto == k:  # a shard to write, or one whose word sums are not in yet
            step = None if progress is None else (lambda done, a=a: progress(a + done, len(seqs)))
            sat = torch.zeros_like(words.saturation) if words.upto == k else None
            states = _shard_states(ckpt, seqs[a:b], int(offsets[b] - offsets[a]), should_stop, step, sat)
            tmp = None if shard.exists() else _write_shard(shard, states, floor)
            if words.upto == k:
                words.add(np.concatenate(seqs[a:b]), states)
                words.saturation += sat
                words.save(part, k + 1)  # before the shard's rename: a shard present has its sums counted
            if tmp is not None:
                os.rename(tmp, shard)
        if progress is not None:
            progress(b, len(seqs))
    index = dict(info or {})
    index.update({
        "format": FORMAT, "cell": ckpt.config.cell, "hidden_size": ckpt.config.hidden_size, "language": ckpt.language,
        "weights_sha256": index.get("weights_sha256") or weights_sha256(ckpt), "n": len(seqs),
        "n_tokens": int(offsets[-1]), "skipped": skipped, "floor": float(floor), "keys": [list(k) for k in keys_of(ckpt)],
        "shards": [[a, b, int(offsets[a]), int(offsets[b])] for a, b in plan], "seconds": round(time.perf_counter() - t0, 3),
    })
    words.save(part, len(plan), compact=True)
    (part / "index.json").write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
    if final.exists():
        shutil.rmtree(final)
    os.rename(part, final)
    return load_index(final)


def _shard_states(ckpt: Checkpoint, seqs: Sequence[Sequence[int]], n_rows: int,
                  should_stop: Callable[[], bool] | None, step: Callable[[int], None] | None = None,
                  saturation: torch.Tensor | None = None) -> np.ndarray:
    """The states [n_rows, K*H] float32 of one shard's reviews, batch after batch into one array;
    ``step(reviews done)`` after each batch; the gates' saturation counts added to ``saturation``."""
    out = np.empty((n_rows, len(keys_of(ckpt)) * ckpt.config.hidden_size), dtype=np.float32)
    at = 0
    for done, rows in state_rows(ckpt, seqs, saturation=saturation):
        if should_stop is not None and should_stop():
            raise InputError("patterns.index_stopped")
        out[at: at + len(rows)] = rows
        at += len(rows)
        if step is not None:
            step(done)
    return out


# ---- reading ----------------------------------------------------------------------------------------


@dataclass
class Shard:
    review0: int
    review1: int
    row0: int  # the shard's first token row in the whole index
    row1: int
    ptr: np.ndarray  # [K*H + 1] int64
    rows: np.ndarray  # [nnz] int32, memory-mapped
    vals: np.ndarray  # [nnz] float32, memory-mapped

    def unit(self, column: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, values) of one column (key k, unit u: column k*H + u) above the floor."""
        a, b = int(self.ptr[column]), int(self.ptr[column + 1])
        return self.rows[a:b], self.vals[a:b]


@dataclass
class WholeIndex:
    info: dict
    offsets: np.ndarray  # [N + 1] int64
    labels: np.ndarray  # [N] int8
    split_index: np.ndarray  # [N] int64
    punct: np.ndarray  # [N_tok] bool, memory-mapped
    tok_bytes: np.ndarray  # uint8, memory-mapped
    tok_offsets: np.ndarray  # [N_tok + 1] int64, memory-mapped
    shards: list[Shard]
    path: str = ""

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def n_tokens(self) -> int:
        return int(self.offsets[-1])

    @property
    def keys(self) -> list[Key]:
        return [(int(k[0]), str(k[1]), str(k[2])) for k in self.info["keys"]]

    @property
    def hidden_size(self) -> int:
        return int(self.info["hidden_size"])

    def tokens(self, a: int, b: int) -> list[str]:
        """Tokens of rows a..b-1 (whole-index rows)."""
        if b <= a:
            return []
        off = np.asarray(self.tok_offsets[a: b + 1]) - int(self.tok_offsets[a])
        blob = bytes(self.tok_bytes[int(self.tok_offsets[a]): int(self.tok_offsets[b])])
        return [blob[off[i]: off[i + 1]].decode("utf-8") for i in range(b - a)]

    def disk_bytes(self) -> int:
        return sum(f.stat().st_size for f in Path(self.path).rglob("*") if f.is_file())


def load_index(path: str | Path, expect_sha: str | None = None) -> WholeIndex:
    """A complete index directory, lists memory-mapped. GateScopeError when it does not validate."""
    d = Path(path)
    try:
        info = json.loads((d / "index.json").read_text(encoding="utf-8"))
        if not isinstance(info, dict) or info.get("format") != FORMAT:
            raise GateScopeError("patterns.not_batch", path=d, format=FORMAT)
        if expect_sha is not None and info.get("weights_sha256") != expect_sha:
            raise GateScopeError("patterns.other_weights", path=d)
        offsets = np.load(d / "offsets.npy")
        columns = len(info["keys"]) * int(info["hidden_size"])
        shards = [_load_shard(d / f"shard-{k:05d}", s, columns) for k, s in enumerate(info["shards"])]
        ix = WholeIndex(info, offsets, np.load(d / "labels.npy"), np.load(d / "split_index.npy"),
                        np.load(d / "punct.npy", mmap_mode="r"), np.memmap(d / "tok_bytes.bin", dtype=np.uint8, mode="r")
                        if (d / "tok_bytes.bin").stat().st_size else np.zeros(0, np.uint8),
                        np.load(d / "tok_offsets.npy", mmap_mode="r"), shards, str(d))
        n, n_tok = int(info["n"]), int(info["n_tokens"])
        ok = (offsets.shape == (n + 1,) and int(offsets[-1]) == n_tok and ix.labels.shape == (n,)
              and ix.punct.shape == (n_tok,) and ix.tok_offsets.shape == (n_tok + 1,)
              and (not shards or (shards[0].row0 == 0 and shards[-1].row1 == n_tok)))
        if not ok:
            raise GateScopeError("patterns.index", path=d)
    except GateScopeError:
        raise
    except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError) as e:
        raise GateScopeError("patterns.unreadable", path=d, err=f"{type(e).__name__}: {e}") from None
    return ix


def _load_shard(d: Path, span: Sequence[int], columns: int) -> Shard:
    ptr = np.load(d / "ptr.npy")
    rows, vals = np.load(d / "rows.npy", mmap_mode="r"), np.load(d / "vals.npy", mmap_mode="r")
    if ptr.shape != (columns + 1,) or rows.shape != vals.shape or int(ptr[-1]) != rows.shape[0]:
        raise GateScopeError("patterns.index", path=d)
    a, b, r0, r1 = (int(v) for v in span)
    return Shard(a, b, r0, r1, ptr, rows, vals)


# ---- matching ---------------------------------------------------------------------------------------


def _key_index(ix: WholeIndex, key: Key) -> int:
    """The position of (layer, direction, gate) among the index's keys; InputError when it has none."""
    keys = ix.keys
    if key not in keys:
        raise InputError("patterns.index_key", key="/".join(map(str, key)), keys=", ".join("/".join(map(str, k)) for k in keys))
    return keys.index(key)


def _column(ix: WholeIndex, key: Key, unit: int) -> int:
    k = _key_index(ix, key)
    if not 0 <= int(unit) < ix.hidden_size:
        raise InputError("patterns.index_unit", unit=unit, last=ix.hidden_size - 1)
    return k * ix.hidden_size + int(unit)


def _phrases(shard: Shard, ix: WholeIndex, columns: list[int], threshold: float, min_length: int):
    """This shard's phrases (whole-index rows start, end, and the mean over the phrase and the units)."""
    n = shard.row1 - shard.row0
    count = np.zeros(n, dtype=np.int32)
    total = np.zeros(n, dtype=np.float64)
    for c in columns:
        rows, vals = shard.unit(c)
        on = np.asarray(vals) > threshold
        r = np.asarray(rows)[on]
        count[r] += 1
        total[r] += np.asarray(vals, dtype=np.float64)[on]
    on = count == len(columns)
    first = ix.offsets[shard.review0: shard.review1] - shard.row0  # review starts within the shard
    last = ix.offsets[shard.review0 + 1: shard.review1 + 1] - shard.row0 - 1
    prev = np.concatenate([[False], on[:-1]])
    prev[first] = False  # a review's first token starts a new phrase
    nxt = np.concatenate([on[1:], [False]])
    nxt[last] = False  # and its last token ends one
    starts, ends = np.flatnonzero(on & ~prev), np.flatnonzero(on & ~nxt)
    lengths = ends - starts + 1
    punct = np.concatenate([[0], np.cumsum(np.asarray(ix.punct[shard.row0: shard.row1]))])
    keep = (lengths >= max(1, int(min_length))) & (lengths - (punct[ends + 1] - punct[starts]) > 0)
    starts, ends, lengths = starts[keep], ends[keep], lengths[keep]
    cs = np.concatenate([[0.0], np.cumsum(np.where(on, total / len(columns), 0.0))])
    means = (cs[ends + 1] - cs[starts]) / lengths
    return starts + shard.row0, ends + shard.row0, means


def match_index(ix: WholeIndex, key: Key, units: Sequence[int], threshold: float, min_length: int = 1,
                limit: int = 50, context: int = 5) -> Matches:
    """``matching.match`` over the whole index: phrases where every unit is above threshold at every
    token, punctuation-only phrases left out, ranked by the mean over the phrase and the units, then
    by length, then by position. InputError for a threshold below the index's floor."""
    units = [int(u) for u in units]
    if not units:
        raise InputError("patterns.no_units")
    floor = float(ix.info["floor"])
    if not threshold >= floor:
        raise InputError("patterns.index_floor", threshold=threshold, floor=floor)
    columns = [_column(ix, key, u) for u in units]
    parts = [_phrases(s, ix, columns, float(threshold), min_length) for s in ix.shards]
    starts = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    ends = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    means = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
    if starts.size == 0:
        return Matches([], 0, 0)
    order = np.lexsort((starts, -(ends - starts + 1), -means))[: max(0, int(limit))]
    reviews = np.searchsorted(ix.offsets, starts, side="right") - 1
    out = [_match(ix, int(reviews[j]), int(starts[j]), int(ends[j]), float(means[j]), columns, context) for j in order]
    return Matches(out, int(starts.size), int(ix.labels[reviews].astype(bool).sum()))


def _match(ix: WholeIndex, r: int, s: int, e: int, mean: float, columns: list[int], context: int) -> Match:
    a, b = int(ix.offsets[r]), int(ix.offsets[r + 1])
    shard = next(sh for sh in ix.shards if sh.row0 <= s < sh.row1)
    lowest = np.inf
    for c in columns:  # the smallest value over the phrase and the units (all above the threshold)
        rows, vals = shard.unit(c)
        lo, hi = np.searchsorted(rows, [s - shard.row0, e - shard.row0 + 1])
        lowest = min(lowest, float(np.min(vals[lo:hi])))
    return Match(review=r, split_index=int(ix.split_index[r]), label=int(ix.labels[r]), start=s - a, end=e - a,
                 mean=mean, minimum=lowest, phrase=ix.tokens(s, e + 1), left=ix.tokens(max(a, s - context), s),
                 right=ix.tokens(e + 1, min(b, e + 1 + context)))


# ---- the cache: one index per model weights and data, shared by every session of a host ------------


def index_path(ckpt: Checkpoint, data_id: str, root: str | Path | None = None) -> Path:
    """Where this model's index of ``data_id`` (e.g. "imdb-test", or an uploaded file's sha256) lives."""
    from sentiment.probe.patterns.cache import cache_key, cache_root

    name = cache_key(ckpt, 0, 0, "x").split(f"-{weights_sha256(ckpt)[:20]}-")[0]
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in data_id)[:80]
    return Path(root or cache_root()) / f"index-{name}-{weights_sha256(ckpt)[:20]}-{safe}-f{FLOOR:g}-v1"


def load_or_build_index(ckpt: Checkpoint, examples: Sequence[Example] | None, data_id: str, info: dict | None = None,
                        root: str | Path | None = None, progress: Progress | None = None,
                        should_stop: Callable[[], bool] | None = None) -> tuple[WholeIndex, bool]:
    """(the index, whether it was built now): the cached one, else built (resuming an interrupted build)
    under a lock, so that sessions asking at once build it once. ``examples`` is called for only when a
    build is needed (None: the model's own test split, rebuilt from its card)."""
    from filelock import FileLock

    from sentiment.data.readers import split_for
    from sentiment.probe.patterns.cache import prune_to_size

    final = index_path(ckpt, data_id, root)
    sha = weights_sha256(ckpt)
    if final.exists():
        try:
            return load_index(final, sha), False
        except GateScopeError:
            shutil.rmtree(final, ignore_errors=True)
    final.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(final.parent / f".{final.name}.lock")):
        if final.exists():  # built by another session while we waited
            return load_index(final, sha), False
        if examples is None:
            examples = split_for(ckpt.card).test
        meta = {"model_name": Path(ckpt.path).name if ckpt.path else "", "model_path": str(ckpt.path),
                "weights_sha256": sha, "data": data_id, **(info or {})}
        ix = build_index(ckpt, examples, final, meta, progress=progress, should_stop=should_stop)
    prune_to_size(final.parent, keep=final)
    return ix, True


def cached_index(ckpt: Checkpoint, data_id: str, root: str | Path | None = None) -> WholeIndex | None:
    """The complete index of this model and data, or None (none yet, or one that does not validate)."""
    path = index_path(ckpt, data_id, root)
    if not (path / "index.json").is_file():
        return None
    try:
        return load_index(path, weights_sha256(ckpt))
    except GateScopeError:
        return None


# ---- builds in the background: one per index in a server process, shared by its sessions ------------


@dataclass
class Build:
    """An index being built in a thread of this process; sessions read its progress and may stop it."""

    path: str
    total: int = 0  # reviews (0 until they are read)
    done: int = 0
    resumed_from: int = 0  # reviews an earlier, stopped build had indexed (its complete shards)
    started: float = 0.0  # time.monotonic()
    finished: bool = False
    error: GateScopeError | None = None  # how it ended when it failed (stopped: "patterns.index_stopped")
    stop: threading.Event = None  # type: ignore[assignment]

    @property
    def running(self) -> bool:
        return not self.finished


_BUILDS: dict[str, Build] = {}
_BUILDS_LOCK = threading.Lock()


def build_of(ckpt: Checkpoint, data_id: str, root: str | Path | None = None) -> Build | None:
    """This process's build of that index (running, or how the last one ended), if any."""
    with _BUILDS_LOCK:
        return _BUILDS.get(str(index_path(ckpt, data_id, root)))


def start_build(ckpt: Checkpoint, examples: Callable[[], Sequence[Example] | None], data_id: str,
                root: str | Path | None = None) -> Build:
    """Build (or resume) the index in a background thread, once per index in this process: a second
    call while it runs returns the running build. ``examples`` is called in that thread."""
    path = str(index_path(ckpt, data_id, root))
    with _BUILDS_LOCK:
        running = _BUILDS.get(path)
        if running is not None and running.running:
            return running
        kept = partial_reviews(ckpt, data_id, root)  # a resumed build's bar starts where the last one stopped
        job = Build(path, total=kept[1] if kept else 0, done=kept[0] if kept else 0, resumed_from=kept[0] if kept else 0,
                    started=time.monotonic(), stop=threading.Event())
        _BUILDS[path] = job

    def progress(done: int, total: int) -> None:
        job.done, job.total = max(done, job.resumed_from), total

    def work() -> None:
        try:
            load_or_build_index(ckpt, examples(), data_id, root=root, progress=progress, should_stop=job.stop.is_set)
        except GateScopeError as e:
            job.error = e
        except Exception as e:  # noqa: BLE001 (said on the page, not a traceback)
            job.error = GateScopeError.plain(f"{type(e).__name__}: {e}")
        finally:
            job.finished = True

    threading.Thread(target=work, name="gatescope-index", daemon=True).start()
    return job


def partial_reviews(ckpt: Checkpoint, data_id: str, root: str | Path | None = None) -> tuple[int, int] | None:
    """(reviews indexed, reviews in all) of an interrupted build left on disk, or None."""
    part = Path(str(index_path(ckpt, data_id, root)) + ".partial")
    try:
        offsets = np.load(part / "offsets.npy")
    except (OSError, ValueError):
        return None
    plan = shard_plan(offsets)
    done = [b for k, (_, b) in enumerate(plan) if (part / f"shard-{k:05d}").is_dir()]
    return (max(done, default=0), len(offsets) - 1)


# ---- unit-word profiles over every review -----------------------------------------------------------


def word_profile_of(ix: WholeIndex, key: Key, min_count: int = 10):
    """``profiles.word_profile`` over every review of the index (from the word sums the build added up):
    per unit and word, the unit's mean value when the word is read minus its mean. InputError when no
    word is read min_count times."""
    from sentiment.probe.patterns.profiles import profile_from_sums

    k, H = _key_index(ix, key), ix.hidden_size
    with np.load(Path(ix.path) / "words.npz") as z:
        sums, counts = _dense_sums(z, slice(k * H, (k + 1) * H)), z["counts"]  # [V, H], [V]
    ids = np.asarray(np.load(Path(ix.path) / "ids.npy", mmap_mode="r"))
    return profile_from_sums(sums, counts, ix.n_tokens, ids, lambda row: ix.tokens(row, row + 1)[0], min_count)


def saturation_of(ix: WholeIndex) -> dict:
    """Gate saturation over every review of the index, counted while it was built (at SATURATION's
    thresholds): {(layer, direction, gate): {"left": [H], "right": [H], "steps", "reviews"}}, the keys and
    definitions of ``patterns.saturation`` over a sample."""
    with np.load(Path(ix.path) / "words.npz") as z:
        counts = z["saturation"]  # [K, 2, G, H]
    gates = SIGMOID_GATES[ix.info["cell"]]
    return {(layer, direction, g): {"left": counts[k, 0, j] / max(1, ix.n_tokens), "right": counts[k, 1, j] / max(1, ix.n_tokens),
                                    "steps": ix.n_tokens, "reviews": ix.n}
            for k, (layer, direction, _) in enumerate(ix.keys) for j, g in enumerate(gates)}
