"""What a model file may declare: the caps every reader checks *before* it allocates or walks.

A model file says how big its parts are (a zip member's unpacked size, a tensor's shape and strides,
an HDF5 dataset's shape, a pickle's nesting); a hostile one says "60000 x 60000" with 38 KB behind it,
or nests one list inside another a hundred thousand times. The readers check each declaration
against the bytes really present and against these caps, then allocate; what does not fit becomes
an ``InputError`` naming the part, never a ``MemoryError``, ``RecursionError`` or a traceback.
Torch-free (numpy only), so a parent process can read the caps without importing torch.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from sentiment.errors import GateScopeError, InputError

MAX_TENSOR_BYTES = 1 << 30  # every tensor of a file, as float32, together: an LSTM/GRU model is far smaller
MAX_OBJECTS = 1_000_000  # objects a walk may visit (shared references counted at every visit)
MAX_DEPTH = 100  # nesting of a pickle's containers or a module tree
MAX_OPCODES = 4_000_000  # pickle instructions: a state dict or pickled module needs a few thousand
MAX_NAME = 4096  # characters of one tensor's dotted name
MAX_UNZIPPED = 1 << 30  # an archive's members, unpacked, together
MAX_RATIO = 200  # unpacked : packed, for a member over RATIO_FROM bytes (weights barely compress)
RATIO_FROM = 1 << 20
MAX_CENTRAL_DIRECTORY = 4 << 20  # bytes of a zip's member list (a few thousand members need ~100 KB)
MAX_JSON_BYTES = 64 << 20  # config.json, model_config (a TextVectorization vocabulary inline included)
JSON_DEPTH = 64  # a Keras config nests about 10 deep
MAX_TEXT_ASSET = 64 << 20  # a vocabulary file inside a .keras
GiB = 2**30

F = TypeVar("F", bound=Callable[..., Any])


# ---- walks: visits and depth --------------------------------------------------------------------


class Budget:
    """Visits left for a walk of a file's objects: each visit of a container costs 1 + its length,
    so a "billion laughs" of shared lists (each visited once per path to it) runs out quickly."""

    def __init__(self, most: int = MAX_OBJECTS, depth: int = MAX_DEPTH):
        self.left, self.most, self.depth = most, most, depth

    def visit(self, depth: int, items: int = 0) -> None:
        if depth > self.depth:
            raise InputError("interop.too_deep", most=self.depth)
        self.left -= 1 + items
        if self.left < 0:
            raise InputError("interop.too_many_objects", most=self.most)


class ByteBudget:
    """Bytes left for the arrays a file's tensors become (float32 copies included)."""

    def __init__(self, most: int = MAX_TENSOR_BYTES):
        self.left, self.most = most, most

    def take(self, nbytes: int) -> None:
        self.left -= nbytes
        if self.left < 0:
            raise InputError("interop.too_many_bytes", size=(self.most - self.left) / GiB, most=self.most / GiB,
                             unit="GiB")


def check_name(name: str) -> str:
    if len(name) > MAX_NAME:
        raise InputError("interop.name_too_long", most=MAX_NAME)
    return name


# ---- tensor views: shape, strides and offset against the storage --------------------------------


def check_view(shape: tuple, stride: tuple, offset: int, numel: int, name: str) -> None:
    """A strided view must lie inside its storage (``numel`` elements) and its elements must not
    overlap: a stride of 0, or strides that revisit elements, make a file of a few bytes declare a
    tensor of any size (60000 x 60000 read from one float), which copying would then allocate."""
    ints = all(isinstance(x, int) and not isinstance(x, bool) for x in (*shape, *stride, offset, numel))
    if not ints or len(shape) != len(stride) or len(shape) > 64:
        raise InputError("interop.view_bad", name=name)
    if offset < 0 or min(shape, default=0) < 0 or min(stride, default=0) < 0:
        raise InputError("interop.view_negative", name=name, shape=tuple(shape), stride=tuple(stride), offset=offset)
    if 0 in shape:
        return
    reach = offset + sum((n - 1) * s for n, s in zip(shape, stride, strict=True)) + 1
    if reach > numel:
        raise InputError("interop.view_outside", name=name, shape=tuple(shape), stride=tuple(stride), offset=offset,
                         numel=numel)
    # the standard non-overlap test: dims sorted by stride, each stride past the span of those below it
    span = 1
    for s, n in sorted((s, n) for n, s in zip(shape, stride, strict=True) if n > 1):
        if s < span:
            raise InputError("interop.view_overlaps", name=name, shape=tuple(shape), stride=tuple(stride))
        span += (n - 1) * s


# ---- zip archives (.keras, torch .pt) ---------------------------------------------------------------


def open_zip(data: bytes, kind: str) -> zipfile.ZipFile:
    """The archive, once its member list is small and every member's declared unpacked size, the
    total and the packing ratio are within bounds (zipfile never unpacks past a declared size)."""
    fp = io.BytesIO(data)
    end = zipfile._EndRecData(fp)  # the end record: where the member list is and how long it is
    if end is None:
        raise zipfile.BadZipFile("no end of central directory")
    if end[zipfile._ECD_SIZE] > MAX_CENTRAL_DIRECTORY:
        raise InputError("interop.zip_members", kind=kind, size=end[zipfile._ECD_SIZE] / 2**20,
                         most=MAX_CENTRAL_DIRECTORY / 2**20)
    z = zipfile.ZipFile(fp)
    total = 0
    for info in z.infolist():
        if info.flag_bits & 0x1:
            raise InputError("interop.zip_encrypted", kind=kind, member=info.filename[:200])
        if info.file_size > RATIO_FROM and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise InputError("interop.zip_ratio", kind=kind, member=info.filename[:200], size=info.file_size,
                             packed=info.compress_size, ratio=MAX_RATIO)
        total += info.file_size
        if total > MAX_UNZIPPED:
            raise InputError("interop.zip_too_big", kind=kind, most=MAX_UNZIPPED / GiB, unit="GiB")
    return z


def read_member(z: zipfile.ZipFile, name: str, most: int) -> bytes:
    """One member's bytes, refused unread when it declares more than ``most``."""
    info = z.getinfo(name)  # KeyError when missing: the caller's "truncated" message
    if info.file_size > most:
        raise InputError("interop.member_too_big", member=name[:200], size=info.file_size / 2**20, most=most / 2**20)
    return z.read(info)


# ---- JSON in files --------------------------------------------------------------------------------

def json_depth(raw: bytes) -> int:
    """How deep the brackets of a JSON text nest, brackets inside strings skipped, counted without
    recursion and in linear time (numpy over chunks; no pattern that could backtrack)."""
    text = raw.replace(b"\\\\", b"").replace(b'\\"', b"")  # escaped backslashes, then escaped quotes
    chunk, inside, depth, top = 1 << 22, 0, 0, 0
    for start in range(0, len(text), chunk):
        a = np.frombuffer(text, np.uint8, count=min(chunk, len(text) - start), offset=start)
        quotes = (np.cumsum(a == 34, dtype=np.int32) + inside) & 1  # '"': odd counts are inside a string
        opens = (a == 91) | (a == 123)  # '[' '{'
        closes = (a == 93) | (a == 125)  # ']' '}'
        run = np.cumsum((opens.view(np.int8) - closes.view(np.int8)) * (quotes == 0), dtype=np.int32) + depth
        top, depth, inside = max(top, int(run.max())), int(run[-1]), int(quotes[-1])
    return top


def loads_json(raw: bytes | str, file: str, most_bytes: int = MAX_JSON_BYTES, most_depth: int = JSON_DEPTH) -> Any:
    """The JSON value of a file's text, refused when it is longer or nests deeper than the caps
    (json.JSONDecodeError and UnicodeDecodeError pass to the caller, which names its format)."""
    if len(raw) > most_bytes:
        raise InputError("interop.member_too_big", member=file, size=len(raw) / 2**20, most=most_bytes / 2**20)
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    if json_depth(raw if isinstance(raw, bytes) else raw.encode("utf-8")) > most_depth:
        raise InputError("interop.json_deep", file=file, most=most_depth)
    return json.loads(text)


# ---- the last line of every reader ------------------------------------------------------------------


def messages_only(what: str) -> Callable[[F], F]:
    """A reader entry point raises GateScope's own errors only: anything else a hostile file provokes
    (RecursionError, MemoryError, OverflowError, h5py's RuntimeError, struct.error, KeyError, ...)
    becomes ``interop.unreadable`` naming the file (its ``name`` argument) or ``what``."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def reader(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except GateScopeError:
                raise
            except Exception as e:  # noqa: BLE001 - a file must never reach the user as a traceback
                name = kwargs.get("name", args[1] if len(args) > 1 and isinstance(args[1], str) else what)
                raise InputError("interop.unreadable", file=name, err=type(e).__name__) from None

        return reader  # type: ignore[return-value]

    return wrap
