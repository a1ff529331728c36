"""The cache of batch traces: ``load_or_trace`` / ``cached`` under ``text.cache_dir()/patterns``, one
directory per (model weights sha256, split, sample size, seed, and whether it is the quick sample of
``quick_indices`` the page opens on); written under a temporary name and renamed into place; a
directory that does not validate is removed and traced again. One session traces a sample while
the others wait on a lock; the least recently used traces go when the cache passes its size limit
(GATESCOPE_PATTERNS_CACHE_MB)."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path

from filelock import FileLock

from sentiment.data.readers import Example, split_for
from sentiment.data.text import cache_dir
from sentiment.errors import GateScopeError
from sentiment.modeling.checkpoint import Checkpoint
from sentiment.probe.instrument import GATE_NAMES
from sentiment.probe.patterns.trace import (
    DEFAULT_SAMPLE,
    BatchTrace,
    Progress,
    load_dir,
    quick_indices,
    trace_sample,
    weights_sha256,
)


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
    wait for it, instead of thirty identical traces on one server."""
    lock = FileLock(path)
    try:
        lock.acquire()
    except OSError:  # an unwritable cache: no lock, no cache either
        yield
        return
    try:
        yield
    finally:
        # Removed while held, so the cache holds only traces: a session waiting on the removed file
        # tries again on a new one (filelock checks) and then finds the trace made.
        with suppress(OSError):
            path.unlink()
        lock.release()


def touch(path: str | Path) -> None:
    """Mark a cached trace as just used (the size limit removes the least recently used first)."""
    with suppress(OSError):
        os.utime(path)


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
    with suppress(OSError):
        for f in d.rglob("*"):
            with suppress(OSError):  # removed meanwhile by another session
                total += f.stat().st_size if f.is_file() else 0
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
