"""Datasets: readers for the official formats, deterministic splits, length-bucketed batches.

Readers
- IMDB (Maas et al. 2011): the ``aclImdb/`` folder, its parent, or the ``aclImdb_v1.tar.gz`` archive
  itself (read in memory, never unpacked to disk). Official train/test kept.
- CSV/TSV with a label column and a text column: ChnSentiCorp (``label,review``), the tutorial's
  headerless ``label,review`` file with unquoted commas, or any file with named columns.
  UTF-8 (with or without BOM) or GB18030, detected. Errors name the file, line and problem.

Splits: IMDB keeps its official test set and carves validation out of train with a seed;
CSV sets get a seeded 80/10/10 split. ``Splits.info`` (seed, sizes) goes into the model card.
"""

from __future__ import annotations

import csv
import io
import random
import re
import tarfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sentiment import spec
from sentiment.errors import DataError, GateScopeError

Example = tuple[str, int]  # (text, label) with label 1 = positive, 0 = negative

LABEL_NAMES = spec.LABEL_NAMES
_POS = {"1", "1.0", "pos", "positive", "正面", "积极", "好评"}
_NEG = {"0", "0.0", "-1", "-1.0", "neg", "negative", "负面", "消极", "差评"}
_LABEL_COLUMNS = ["label", "labels", "sentiment", "polarity", "class", "y", "target", "标签", "情感"]
_TEXT_COLUMNS = ["review", "text", "comment", "content", "sentence", "body", "x", "评论", "内容", "文本"]

KNOWN_FILES = {
    "imdb": ["aclImdb_v1.tar.gz", "aclImdb_v1-text.tar.gz", "aclImdb"],
    "hotel": ["ChnSentiCorp_htl_all.csv"],
}


@dataclass
class RawData:
    """A dataset as read: ``official`` holds the official splits where the format has them."""

    name: str
    format: str  # "imdb" | "csv"
    path: str
    examples: list[Example]
    official: dict[str, list[Example]] = field(default_factory=dict)
    skipped: int = 0  # rows dropped because their review was empty


@dataclass
class Splits:
    train: list[Example]
    val: list[Example]
    test: list[Example]
    info: dict


# ---- where the data lives ----------------------------------------------------------------------


data_dirs = spec.data_dirs  # $GATESCOPE_DATA, ./data, ../shared/data (sentiment.spec)


def find_dataset(name: str) -> Path | None:
    """The first file or folder for a known dataset (``imdb`` or ``hotel``) in data_dirs(), else None."""
    for d in data_dirs():
        for fname in KNOWN_FILES.get(name, [name]):
            p = d / fname
            if p.exists():
                return p
    return None


def guess_format(path: str | Path) -> str:
    p = Path(path)
    if p.is_dir() or p.name.endswith((".tar.gz", ".tgz")):
        return "imdb"
    return "csv"


def guess_dataset_language(path: str | Path, sample_bytes: int = 65536) -> str:
    """'en' or 'zh' for a dataset without reading all of it: an IMDB folder or archive is English; a
    CSV/TSV is judged by its first ``sample_bytes`` (as training judges its reviews). 'unknown' when
    neither script is there; DataError when the file cannot be read."""
    from sentiment.data.text import guess_language

    p = Path(path)
    if guess_format(p) == "imdb":
        return "en"
    try:
        with open(p, "rb") as f:
            head = f.read(sample_bytes)
    except OSError as e:
        raise DataError("data.unreadable", path=p, err=e.strerror or e) from None
    for cut in range(4):  # the sample may end inside a multi-byte character
        try:
            return guess_language(decode_bytes(head[: len(head) - cut], str(p)))
        except DataError:
            continue
    raise DataError("data.encoding", path=p)


def load(path: str | Path, format: str | None = None, **csv_options) -> RawData:
    """Read a dataset in its official format; raises DataError with file, line and problem."""
    p = Path(path)
    if not p.exists():
        raise DataError("data.no_file", path=p)
    fmt = format or guess_format(p)
    if fmt == "imdb":
        return read_imdb(p)
    if fmt == "csv":
        return read_csv(p, **csv_options)
    raise DataError("data.format", path=p, format=fmt)


# ---- IMDB --------------------------------------------------------------------------------------

_IMDB_NAME = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")


@lru_cache(maxsize=2)
def _read_imdb_cached(path: str, mtime: float) -> RawData:
    p = Path(path)
    found: list[tuple[str, int, int, str]] = []  # split, label, id, text
    if p.is_dir():
        base = p / "aclImdb" if (p / "aclImdb").is_dir() else p
        for split in ("train", "test"):
            for lab in ("pos", "neg"):
                folder = base / split / lab
                if not folder.is_dir():
                    raise DataError("data.imdb_folder", path=folder)
                for f in folder.glob("*.txt"):
                    m = _IMDB_NAME.search(f.as_posix())
                    if m:
                        found.append((split, int(lab == "pos"), int(m.group(3)), _decode(f.read_bytes(), f)))
    else:
        try:
            with tarfile.open(p, "r:*") as tar:
                for member in tar:
                    m = _IMDB_NAME.search(member.name)
                    if not (m and member.isfile()):
                        continue
                    data = tar.extractfile(member).read()
                    found.append((m.group(1), int(m.group(2) == "pos"), int(m.group(3)), _decode(data, p / member.name)))
        except (tarfile.TarError, EOFError, OSError) as e:
            raise DataError("data.imdb_archive", path=p, err=e) from None
    if not found:
        raise DataError("data.imdb_empty", path=p, pattern="aclImdb/train/pos/*_*.txt")
    found.sort(key=lambda r: (r[0], -r[1], r[2]))
    official = {s: [(t, y) for (sp, y, _, t) in found if sp == s] for s in ("train", "test")}
    return RawData("imdb", "imdb", str(p), official["train"] + official["test"], official)


def read_imdb(path: str | Path) -> RawData:
    """IMDB from the aclImdb folder (or its parent) or the .tar.gz archive; cached per process."""
    p = Path(path).resolve()
    return _read_imdb_cached(str(p), p.stat().st_mtime)


def _decode(data: bytes, where: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError("data.not_utf8", path=where) from None


# ---- CSV / TSV ---------------------------------------------------------------------------------


def decode_bytes(data: bytes, where: str) -> str:
    """UTF-8 (BOM stripped) or, failing that, GB18030 (which covers GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise DataError("data.encoding_line", path=where, line=line) from None
    _check_gbk_plausible(text, where)
    return text


def _check_gbk_plausible(text: str, where: str, sample: int = 200_000) -> None:
    """GB18030 decodes almost any bytes: Latin-1 "crème brûlée" reads as "cr鑝e br鹟閑", Shift-JIS as
    rare characters. Chinese text in GBK is nearly all common (GB2312) characters; when fewer than 90%
    of the non-ASCII characters are, the file is in another encoding: DataError asking for UTF-8."""
    odd = [ch for ch in text[:sample] if ord(ch) > 127]
    if not odd:
        return
    common = sum(1 for ch in odd if _in_gb2312(ch))
    if common / len(odd) < 0.9:
        rare = next(i for i, ch in enumerate(text[:sample]) if ord(ch) > 127 and not _in_gb2312(ch))
        line = text[:rare].count("\n") + 1
        raise DataError("data.unlikely_gbk", path=where, line=line, sample=text[max(0, rare - 8): rare + 8].strip(),
                        encodings="Latin-1, Windows-1252, Shift-JIS ...")


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


def parse_label(value: str) -> int | None:
    v = value.strip().lower()
    if v in _POS:
        return 1
    if v in _NEG:
        return 0
    return None


def _pick_column(header: list[str], wanted: str | int | None, candidates: list[str], what: str, where: str) -> int:
    names = [h.strip().lower() for h in header]
    if isinstance(wanted, int):
        if not 0 <= wanted < len(header):
            raise DataError("data.no_column_number", path=where, column=wanted, n=len(header))
        return wanted
    if wanted is not None:
        if wanted.strip().lower() not in names:
            raise DataError("data.no_column_named", path=where, column=wanted, header=header)
        return names.index(wanted.strip().lower())
    for c in candidates:
        if c in names:
            return names.index(c)
    raise DataError(f"data.no_{what}_column", path=where, candidates=", ".join(candidates[:6]), header=header)


def _headerless_rows(text: str, delim: str, where: str) -> tuple[list[Example], int]:
    """(examples, reviews skipped as empty) of headerless label<sep>text lines."""
    examples: list[Example] = []
    skipped = 0
    # headerless label<sep>text lines; the text may contain unquoted separators
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if delim not in line:
            raise DataError("data.no_separator", path=where, line=lineno, delim=delim)
        lab, review = line.split(delim, 1)
        y = parse_label(lab)
        if y is None:
            raise DataError("data.bad_label", path=where, line=lineno, label=lab.strip()[:30])
        review = review.strip()
        if len(review) >= 2 and review[0] == review[-1] == '"':
            review = review[1:-1].replace('""', '"')
        if not review:
            skipped += 1
            continue
        examples.append((review, y))
    return examples, skipped


def _header_rows(text: str, delim: str, header: list[str], label_col: str | int | None, text_col: str | int | None,
                 where: str) -> tuple[list[Example], int]:
    """(examples, reviews skipped as empty) of a CSV with a header, the columns found by name (or given)."""
    examples: list[Example] = []
    skipped = 0
    li = _pick_column(header, label_col, _LABEL_COLUMNS, "label", where)
    ti = _pick_column(header, text_col, _TEXT_COLUMNS, "text", where)
    if li == ti:
        raise DataError("data.same_column", path=where)
    # strict: a stray or unclosed quote is an error naming its line, not rows silently merged into one
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    start = 1  # the line where the record being read begins
    try:
        next(rows)  # the header, read above
        start = rows.line_num + 1
        for row in rows:
            lineno, start = start, rows.line_num + 1
            if not row or not any(c.strip() for c in row):
                continue
            if len(row) <= max(li, ti):
                raise DataError("data.fields", path=where, line=lineno, n=len(row), header_n=len(header))
            if len(row) > len(header) and ti == len(header) - 1:
                row = row[:ti] + [delim.join(row[ti:])]  # unquoted separators inside the last column
            y = parse_label(row[li])
            if y is None:
                raise DataError("data.bad_label_named", path=where, line=lineno, label=row[li].strip()[:30])
            review = row[ti].strip()
            if not review:
                skipped += 1
                continue
            examples.append((review, y))
    except csv.Error as e:
        raise DataError("data.quotes", path=where, line=start, err=e) from None
    return examples, skipped


def read_csv(
    path: str | Path,
    label_col: str | int | None = None,
    text_col: str | int | None = None,
    data: bytes | None = None,
    name: str | None = None,
) -> RawData:
    """A label/text CSV or TSV. With a header, columns are found by name (or given); without one,
    each line is ``label,text`` split on the FIRST separator (the review may hold commas)."""
    where = str(path)
    raw = Path(path).read_bytes() if data is None else data
    text = decode_bytes(raw, where)
    if not text.strip():
        raise DataError("data.empty", path=where)
    first = text.split("\n", 1)[0]
    delim = "\t" if "\t" in first else ","
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        header = next(rows)
    except csv.Error as e:
        raise DataError("data.bad_header", path=where, err=e) from None
    if len(header) >= 2 and parse_label(header[0]) is not None and label_col is None and text_col is None:
        examples, skipped = _headerless_rows(text, delim, where)
    else:
        examples, skipped = _header_rows(text, delim, header, label_col, text_col, where)
    if not examples:
        raise DataError("data.no_reviews", path=where)
    labels = {y for _, y in examples}
    if len(labels) < 2:
        raise DataError("data.one_label", path=where, label=LABEL_NAMES[labels.pop()])
    nm = name or ("hotel" if "chnsenticorp" in Path(where).name.lower() else Path(where).stem)
    return RawData(nm, "csv", where, examples, skipped=skipped)


# ---- splits ------------------------------------------------------------------------------------


_SCHEMES = {  # the two schemes split() has ever written, for cards made before "split" was recorded
    "official": re.compile(r"official test; validation (\d+)% of official train \(seed (-?\d+)\)"),
    "seeded": re.compile(r"seeded (\d+)%/(\d+)%/(\d+)% \(seed (-?\d+)\)"),
}


def split_words(info: dict) -> tuple[str, dict] | None:
    """How a card's data was split, as a string-table key and params ("split.seeded", {...}), or None
    when the card does not say in a form this code wrote (then show its split_scheme as it is)."""
    how = info.get("split")
    if not isinstance(how, dict):
        how = None
        for kind, pattern in _SCHEMES.items():
            m = pattern.fullmatch(str(info.get("split_scheme", "")))
            if m:
                v = [int(x) for x in m.groups()]
                how = ({"kind": kind, "val": v[0] / 100, "seed": v[1]} if kind == "official" else
                       {"kind": kind, "train": v[0] / 100, "val": v[1] / 100, "test": v[2] / 100, "seed": v[3]})
    if how is None or how.get("kind") not in _SCHEMES:
        return None
    return f"split.{how['kind']}", {k: v for k, v in how.items() if k != "kind"}


def split(raw: RawData, seed: int = 0, val_fraction: float = 0.1, test_fraction: float = 0.1) -> Splits:
    """Deterministic splits: official test kept where there is one, else a seeded 80/10/10."""
    rng = random.Random(seed)
    if "test" in raw.official:
        train = list(raw.official["train"])
        rng.shuffle(train)
        n_val = round(len(train) * val_fraction)
        val, train = train[:n_val], train[n_val:]
        test = list(raw.official["test"])
        scheme = f"official test; validation {val_fraction:.0%} of official train (seed {seed})"
        how = {"kind": "official", "val": val_fraction, "seed": seed}
    else:
        ex = list(raw.examples)
        rng.shuffle(ex)
        n_test = round(len(ex) * test_fraction)
        n_val = round(len(ex) * val_fraction)
        test, val, train = ex[:n_test], ex[n_test : n_test + n_val], ex[n_test + n_val :]
        scheme = f"seeded {1 - val_fraction - test_fraction:.0%}/{val_fraction:.0%}/{test_fraction:.0%} (seed {seed})"
        how = {"kind": "seeded", "train": 1 - val_fraction - test_fraction, "val": val_fraction, "test": test_fraction, "seed": seed}
    info = {
        "dataset": raw.name,
        "format": raw.format,
        "split_seed": seed,
        "split_scheme": scheme,  # in English, for a person reading the card
        "split": how,  # the same as data (split_words gives the words in any language)
        "sizes": {"train": len(train), "val": len(val), "test": len(test)},
        "skipped_empty": raw.skipped,
    }
    return Splits(train, val, test, info)


def limit(splits: Splits, n: int | None, seed: int) -> Splits:
    """Keep n training reviews drawn by the seed (validation shrinks to max(n // 4, 200)); test untouched."""
    if not n or n >= len(splits.train):
        return splits
    rng = random.Random(seed + 1)
    train = rng.sample(splits.train, n)
    val = rng.sample(splits.val, min(len(splits.val), max(n // 4, 200)))
    info = dict(splits.info, limit=n, sizes={"train": len(train), "val": len(val), "test": len(splits.test)})
    return Splits(train, val, splits.test, info)


def hold_out(splits: Splits, share: float, seed: int) -> tuple[Splits, list[Example]]:
    """Move ``share`` of the training reviews (drawn by the seed) into a held-out set of their own, for
    choosing the epoch; returns the smaller splits and that set. share 0: the splits as they are, no set."""
    n = round(len(splits.train) * share)
    if not n:
        return splits, []
    order = list(range(len(splits.train)))
    random.Random(f"stop-{seed}").shuffle(order)
    held, kept = sorted(order[:n]), sorted(order[n:])
    sizes = dict(splits.info["sizes"], train=len(kept), stop=n)
    info = dict(splits.info, sizes=sizes, stop_holdout=share)
    return Splits([splits.train[i] for i in kept], splits.val, splits.test, info), [splits.train[i] for i in held]


def split_for(card: dict, data_path: str | None = None) -> Splits:
    """Rebuild the splits a model was trained with, from its card (dataset, format, split seed)."""
    path = data_path or card.get("data_path")
    if not path or not Path(path).exists():
        found = find_dataset(card.get("dataset", ""))
        if found is None:
            raise GateScopeError("train.dataset_not_found", name=card.get("dataset"), flag="--data PATH", env="GATESCOPE_DATA")
        path = str(found)
    raw = load(path, card.get("format"))
    return split(raw, seed=int(card.get("split_seed", 0)))
