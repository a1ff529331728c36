"""Uploaded datasets: checks a CSV someone uploaded (size, encoding, columns, labels) with a clear
message before any run starts, and keeps an accepted one under the runs root for training.

An accepted upload is stored normalized: UTF-8, a ``label,review`` header, labels 0/1, empty
reviews dropped, as ``<runs root>/uploads/<name>-<sha12>.csv`` (same content, same file). The
columns the user picked are thereby baked in, so ``python -m sentiment.train --data FILE`` reads it
with its defaults. Uploads live under the runs root, never in the repository.

Reading is ``sentiment.data.readers.read_csv`` (UTF-8 with or without BOM, or GB18030/GBK; a header with
named columns, or headerless ``label,text`` lines); this module adds the size cap, the check for
binary files, the minimum size and the user's choice of columns.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sentiment import spec
from sentiment.data import readers
from sentiment.data.text import guess_language
from sentiment.errors import DataError
from sentiment.spec import runs_root_path

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # 10 MB
MIN_REVIEWS = 20  # fewer cannot be split 80/10/10 into train, validation and test


class UploadError(DataError):
    """An uploaded file that cannot be used; the message says why and what to do."""


@dataclass
class UploadPreview:
    """What the column pickers need: the header's column names (empty for a headerless
    ``label,text`` file) and the columns GateScope would pick by itself."""

    filename: str
    columns: list[str]
    headerless: bool
    label_guess: str | None
    text_guess: str | None
    delimiter: str


@dataclass
class UploadSummary:
    """An accepted upload. ``path`` is set once it is saved (save_upload)."""

    filename: str
    reviews: int
    positive: int
    negative: int
    skipped_empty: int
    label_col: str | None
    text_col: str | None
    language: str
    size_bytes: int
    sha256: str  # of the normalized file
    examples: list[tuple[str, int]] = field(default_factory=list)  # a few, for display
    path: Path | None = None
    created: bool = False  # save_upload wrote the file (the same content was not stored already)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["path"] = str(self.path) if self.path else None
        return d


def _check_bytes(content: bytes, filename: str, max_bytes: int) -> None:
    if len(content) > max_bytes:
        raise UploadError("upload.too_big", file=filename, mb=len(content) / 1024 / 1024, limit=max_bytes / 1024 / 1024)
    if not content.strip():
        raise UploadError("upload.empty", file=filename)
    if b"\x00" in content[:65536]:
        raise UploadError("upload.binary", file=filename)


def _decode(content: bytes, filename: str) -> str:
    try:
        return readers.decode_bytes(content, filename)
    except DataError as e:
        raise UploadError("upload.encoding", cause=e) from None


def preview_upload(content: bytes, filename: str = "upload.csv", max_bytes: int = MAX_UPLOAD_BYTES) -> UploadPreview:
    """The header of an uploaded CSV/TSV for the column pickers. Raises UploadError for a file too
    big, empty, binary or in an unknown encoding."""
    _check_bytes(content, filename, max_bytes)
    text = _decode(content, filename)
    lines = text.lstrip("\r\n").splitlines()  # LF, CRLF and CR-only line ends, as the readers take them
    first = lines[0] if lines else ""
    delim = "\t" if "\t" in first else ","
    try:
        header = next(csv.reader(io.StringIO(first), delimiter=delim))
    except (csv.Error, StopIteration) as e:
        raise UploadError("upload.header", file=filename, err=e) from None
    headerless = len(header) >= 2 and readers.parse_label(header[0]) is not None
    if headerless:
        return UploadPreview(filename, [], True, None, None, delim)
    names = [h.strip() for h in header]
    lower = [n.lower() for n in names]
    label = next((names[lower.index(c)] for c in readers._LABEL_COLUMNS if c in lower), None)
    text_col = next((names[lower.index(c)] for c in readers._TEXT_COLUMNS if c in lower), None)
    return UploadPreview(filename, names, False, label, text_col, delim)


def column_choices(content: bytes, filename: str = "upload.csv") -> list[str]:
    """The header's column names (empty for a headerless ``label,text`` file)."""
    return preview_upload(content, filename).columns


def _read(content: bytes, filename: str, label_col: str | int | None, text_col: str | int | None,
          max_bytes: int) -> readers.RawData:
    _check_bytes(content, filename, max_bytes)
    _decode(content, filename)  # the encoding message with its advice
    if label_col is not None and text_col is not None and label_col == text_col:
        raise UploadError("upload.same_column", file=filename, column=label_col)
    try:
        raw = readers.read_csv(filename, label_col=label_col, text_col=text_col, data=content)
    except DataError as e:
        if e.code in ("data.bad_label", "data.bad_label_named"):
            raise UploadError("upload.bad_label", cause=e) from None
        raise UploadError("upload.unreadable", cause=e) from None
    if len(raw.examples) < MIN_REVIEWS:
        raise UploadError("upload.too_few", file=filename, n=len(raw.examples), min=MIN_REVIEWS)
    return raw


def _normalized(raw: readers.RawData) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["label", "review"])
    for text, y in raw.examples:
        w.writerow([y, text])
    return buf.getvalue().encode("utf-8")


def _summary(raw: readers.RawData, content: bytes, filename: str, label_col, text_col, normalized: bytes) -> UploadSummary:
    pos = sum(y for _, y in raw.examples)
    sample = " ".join(t for t, _ in raw.examples[:200])
    lang = guess_language(sample)
    return UploadSummary(
        filename=filename, reviews=len(raw.examples), positive=pos, negative=len(raw.examples) - pos,
        skipped_empty=raw.skipped, label_col=None if label_col is None else str(label_col),
        text_col=None if text_col is None else str(text_col), language=lang, size_bytes=len(content),
        sha256=hashlib.sha256(normalized).hexdigest(), examples=[(t[:200], y) for t, y in raw.examples[:5]],
    )


def validate_upload(content: bytes, filename: str, label_col: str | int | None = None, text_col: str | int | None = None,
                    max_bytes: int = MAX_UPLOAD_BYTES) -> UploadSummary:
    """Check an upload without writing anything: UploadError (a DataError) with a message for the
    user if it is too big, empty, binary, undecodable, lacks the label or text column, has a label
    that is not binary, holds one class only, or has fewer than MIN_REVIEWS reviews."""
    raw = _read(content, filename, label_col, text_col, max_bytes)
    return _summary(raw, content, filename, label_col, text_col, _normalized(raw))


def read_upload(content: bytes, filename: str, label_col: str | int | None = None, text_col: str | int | None = None,
                max_bytes: int = MAX_UPLOAD_BYTES) -> tuple[UploadSummary, list[tuple[str, int]]]:
    """validate_upload's checks, then the (text, label) pairs themselves (for tracing, not training)."""
    raw = _read(content, filename, label_col, text_col, max_bytes)
    return _summary(raw, content, filename, label_col, text_col, _normalized(raw)), list(raw.examples)


def _safe_stem(filename: str) -> str:
    stem = Path(filename.replace("\\", "/")).stem
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._-")
    return (stem or "upload")[:40]


def uploads_dir(root: Path | None = None) -> Path:
    """Where accepted uploads are kept: ``<runs root>/uploads`` (the runs root: $GATESCOPE_RUNS or ./runs)."""
    return (root or runs_root_path()) / "uploads"


def save_upload(content: bytes, filename: str, label_col: str | int | None = None, text_col: str | int | None = None,
                max_bytes: int = MAX_UPLOAD_BYTES, root: str | Path | None = None) -> UploadSummary:
    """Validate an upload and store it normalized under ``<runs root>/uploads/``; the summary's
    ``path`` is what a run's config takes as ``data``. The same content is stored once."""

    raw = _read(content, filename, label_col, text_col, max_bytes)
    normalized = _normalized(raw)
    summary = _summary(raw, content, filename, label_col, text_col, normalized)
    folder = (Path(root).resolve() if root else spec.runs_root_path()) / spec.UPLOADS_DIRNAME
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{_safe_stem(filename)}-{summary.sha256[:12]}.csv"
    if not out.exists():
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(normalized)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, out)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        summary.created = True
    summary.path = out
    return summary
