"""Data: the IMDB archive and folder, ChnSentiCorp, the tutorial's headerless file, generic CSV/TSV,
deterministic splits, --limit, length buckets and collate.

Bad input tried here: an empty file, a whitespace-only file, a header with no label column and one
with no text column, a named column that is not there, labels 5 and 'maybe' (with and without a
header), bytes that are neither UTF-8 nor GB18030, a file with one label only, a row with too few
fields, an unclosed quote, text after a closing quote, a header and nothing else, a path that does
not exist, an unknown format; an aclImdb folder missing a subfolder, a review that is not UTF-8, a
.tar.gz that is not an archive, an archive with no reviews.
"""

from __future__ import annotations

import io
import random
import tarfile
from collections import Counter
from pathlib import Path

import pytest
import torch

from sentiment.data import batching, readers, text
from sentiment.errors import DataError

pytest.importorskip("hypothesis", reason="the property tests draw their cases with hypothesis: pip install -e .[dev]")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# ---- IMDB: the real archive (read once per test session; read_imdb is cached per process) -----


@pytest.fixture(scope="module")
def imdb(imdb_path):
    return readers.read_imdb(imdb_path)


@pytest.mark.slow  # reads the whole IMDB archive
def test_imdb_archive_has_the_official_25000_and_25000(imdb):
    """The archive gives 25,000 training and 25,000 test reviews, each set half positive."""
    assert imdb.format == "imdb" and imdb.name == "imdb"
    for split in ("train", "test"):
        labels = [y for _, y in imdb.official[split]]
        assert len(labels) == 25_000 and sum(labels) == 12_500
    assert len(imdb.examples) == 50_000


@pytest.mark.slow  # reads the whole IMDB archive
def test_imdb_labels_come_from_the_folder(imdb):
    """train/pos/0_9.txt is read as positive and train/neg/0_3.txt as negative."""
    texts = dict(imdb.official["train"])
    pos = next(t for t in texts if t.startswith("Bromwell High is a cartoon comedy."))
    neg = next(t for t in texts if t.startswith("Story of a man who has unnatural feelings for a pig."))
    assert (texts[pos], texts[neg]) == (1, 0)


@pytest.mark.slow  # reads the whole IMDB archive
def test_imdb_text_is_kept_as_published_and_the_tokenizer_drops_br(imdb):
    """29,200 reviews hold the raw <br /> markup; the English tokenizer leaves no trace of it."""
    with_br = [t for t, _ in imdb.examples if "<br />" in t]
    assert len(with_br) == 29_200
    assert not any("br" in text.tokenize_en(t) for t in with_br[:200])


@pytest.mark.slow  # reads the whole IMDB archive
def test_imdb_test_split_is_the_official_test(imdb):
    """split() keeps the official test set and carves 10% validation out of the official train set."""
    s = readers.split(imdb, seed=0)
    assert s.test == imdb.official["test"]
    assert (len(s.train), len(s.val)) == (22_500, 2_500)
    assert Counter(s.train + s.val) == Counter(imdb.official["train"])
    assert s.info["sizes"] == {"train": 22_500, "val": 2_500, "test": 25_000}


@pytest.mark.slow  # reads the whole IMDB archive
def test_imdb_limit_leaves_the_official_test_alone(imdb):
    """--limit on IMDB shrinks train and validation but keeps all 25,000 official test reviews."""
    s = readers.limit(readers.split(imdb, seed=0), 500, seed=0)
    assert len(s.train) == 500 and len(s.val) == 200 and s.test == imdb.official["test"]


# ---- IMDB: a tiny folder and archive written here ----------------------------------------------


def make_acl_imdb(root: Path) -> Path:
    """An aclImdb folder with two reviews per split and label, plus the extra files the release has."""
    for split in ("train", "test"):
        for lab, ratings in (("pos", (9, 7)), ("neg", (2, 4))):
            folder = root / "aclImdb" / split / lab
            folder.mkdir(parents=True)
            for i, r in enumerate(ratings):
                (folder / f"{i}_{r}.txt").write_text(f"{split} {lab} {i}<br />done", encoding="utf-8")
        (root / "aclImdb" / split / "urls_pos.txt").write_text("http://example.com\n", encoding="utf-8")
    (root / "aclImdb" / "README").write_text("readme", encoding="utf-8")
    return root / "aclImdb"


def test_imdb_folder_is_read_with_labels_from_pos_and_neg(tmp_path):
    """An aclImdb folder gives its official train/test, labels from pos/ and neg/, extra files ignored."""
    raw = readers.load(make_acl_imdb(tmp_path))
    assert raw.official["train"] == [("train pos 0<br />done", 1), ("train pos 1<br />done", 1),
                                     ("train neg 0<br />done", 0), ("train neg 1<br />done", 0)]
    assert [y for _, y in raw.official["test"]] == [1, 1, 0, 0]


def test_imdb_folder_parent_is_accepted(tmp_path):
    """The folder that holds aclImdb/ reads the same as aclImdb/ itself."""
    acl = make_acl_imdb(tmp_path / "parent")
    assert readers.load(acl.parent).official == readers.load(acl).official


def test_imdb_archive_is_read_without_unpacking(tmp_path, monkeypatch):
    """A .tar.gz of aclImdb is read in memory: nothing is extracted to disk."""
    acl = make_acl_imdb(tmp_path / "src")
    archive = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(acl, arcname="aclImdb")
    expected = readers.load(acl).official

    def refuse(*a, **k):
        raise AssertionError("the archive was unpacked")

    monkeypatch.setattr(tarfile.TarFile, "extractall", refuse)
    monkeypatch.setattr(tarfile.TarFile, "extract", refuse)
    before = sorted(tmp_path.rglob("*"))
    raw = readers.load(archive)
    assert raw.official == expected
    assert sorted(tmp_path.rglob("*")) == before


def test_imdb_folder_missing_a_subfolder_is_named(tmp_path):
    """An aclImdb folder without test/neg gives a DataError naming that folder."""
    acl = make_acl_imdb(tmp_path)
    for f in (acl / "test" / "neg").iterdir():
        f.unlink()
    (acl / "test" / "neg").rmdir()
    with pytest.raises(DataError, match=r"test/neg: missing"):
        readers.load(acl)


def test_imdb_review_that_is_not_utf8_is_named(tmp_path):
    """A review file that is not UTF-8 gives a DataError naming the file."""
    acl = make_acl_imdb(tmp_path)
    (acl / "train" / "neg" / "5_1.txt").write_bytes(b"caf\xe9 awful")
    with pytest.raises(DataError, match=r"5_1\.txt: not UTF-8"):
        readers.load(acl)


def test_a_tar_gz_that_is_not_an_archive_is_refused(tmp_path):
    """Garbage named .tar.gz gives a DataError saying it is not a readable archive."""
    bad = tmp_path / "aclImdb_v1.tar.gz"
    bad.write_bytes(b"this is not gzip data at all")
    with pytest.raises(DataError, match=r"aclImdb_v1\.tar\.gz: not a readable aclImdb archive"):
        readers.load(bad)


def test_an_archive_without_reviews_is_refused(tmp_path):
    """A valid archive with no aclImdb reviews gives a DataError saying none were found."""
    archive = tmp_path / "other.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("notes.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    with pytest.raises(DataError, match=r"other\.tar\.gz: no reviews found"):
        readers.load(archive)


# ---- the real CSV files ------------------------------------------------------------------------


def test_chnsenticorp_reads_7765_reviews_and_skips_the_empty_one(hotel_path):
    """ChnSentiCorp: 7,765 non-empty reviews (5,322 positive), the one empty review skipped."""
    raw = readers.load(hotel_path)
    assert (raw.name, raw.format) == ("hotel", "csv")
    assert len(raw.examples) == 7_765 and raw.skipped == 1
    assert Counter(y for _, y in raw.examples) == {1: 5_322, 0: 2_443}


def test_chnsenticorp_quoted_reviews_keep_their_commas(hotel_path):
    """Quoted ChnSentiCorp reviews are one field each: their commas stay inside the text."""
    raw = readers.load(hotel_path)
    assert sum("," in t for t, _ in raw.examples) == 2_000
    assert not any("\n" in t for t, _ in raw.examples)  # one row per line: no rows run together


def test_tutorial_file_reads_5265_reviews_2822_positive(data_dir):
    """hotel_discuss2.csv (no header): 5,265 reviews, 2,822 positive."""
    raw = readers.load(data_dir / "hotel_discuss2.csv")
    assert len(raw.examples) == 5_265 and sum(y for _, y in raw.examples) == 2_822 and raw.skipped == 0


def test_tutorial_file_splits_on_the_first_comma_only(data_dir):
    """The 1,366 tutorial reviews with unquoted commas are kept whole, and the BOM is not part of the text."""
    raw = readers.load(data_dir / "hotel_discuss2.csv")
    assert sum("," in t for t, _ in raw.examples) == 1_366
    assert raw.examples[0] == ("一般，一般还是一般，但是服务员比较诚信，收订金是多付了200元，服务员马上电话到房间告知，比较诚信。", 1)
    assert not any("\ufeff" in t for t, _ in raw.examples)


# ---- generic CSV / TSV written here ------------------------------------------------------------


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(content)
    return p


def test_tsv_with_named_columns_in_any_order(tmp_path):
    """A TSV's label and text columns are found by name, wherever they are, with word labels."""
    p = write(tmp_path, "reviews.tsv", b"id\ttext\tsentiment\n1\tgreat film\tpositive\n2\tawful\tneg\n")
    raw = readers.load(p)
    assert raw.examples == [("great film", 1), ("awful", 0)] and raw.name == "reviews"


def test_columns_can_be_named_or_numbered(tmp_path):
    """label_col/text_col pick columns by name or by index when the header names are unusual."""
    p = write(tmp_path, "x.csv", b"stars,words\n1,good\n0,bad\n")
    assert readers.load(p, label_col="Stars", text_col="words").examples == [("good", 1), ("bad", 0)]
    assert readers.load(p, label_col=0, text_col=1).examples == [("good", 1), ("bad", 0)]


def test_crlf_line_ends_leave_no_carriage_returns(tmp_path):
    """CRLF files, with and without a header, read like LF files."""
    with_header = write(tmp_path, "a.csv", b"label,review\r\n1,good film\r\n0,bad film\r\n")
    headerless = write(tmp_path, "b.csv", b"1,good, film\r\n0,bad film\r\n")
    assert readers.load(with_header).examples == [("good film", 1), ("bad film", 0)]
    assert readers.load(headerless).examples == [("good, film", 1), ("bad film", 0)]


def test_quoted_fields_keep_commas_quotes_and_newlines(tmp_path):
    """Quoted CSV fields keep their commas, doubled quotes and line breaks."""
    p = write(tmp_path, "q.csv", b'label,review\n1,"good, really ""good"""\n0,"bad\nand worse"\n')
    assert readers.load(p).examples == [('good, really "good"', 1), ("bad\nand worse", 0)]


def test_unquoted_commas_in_the_last_column_are_kept(tmp_path):
    """With a header, unquoted commas inside the last (text) column stay in the review."""
    p = write(tmp_path, "u.csv", b"label,review\n1,clean, quiet, friendly\n0,dirty\n")
    assert readers.load(p).examples == [("clean, quiet, friendly", 1), ("dirty", 0)]


def test_headerless_quoted_review_is_unquoted(tmp_path):
    """In a headerless file a review wrapped in quotes loses them, with doubled quotes undone."""
    p = write(tmp_path, "h.csv", b'1,"nice, ""quiet"" room"\n0,noisy\n')
    assert readers.load(p).examples == [('nice, "quiet" room', 1), ("noisy", 0)]


def test_utf8_bom_does_not_hide_the_header(tmp_path):
    """A UTF-8 BOM before the header does not change the first column's name."""
    p = write(tmp_path, "bom.csv", "\ufefflabel,review\n1,很好\n0,很差\n".encode("utf-8"))
    assert readers.load(p).examples == [("很好", 1), ("很差", 0)]


@pytest.mark.parametrize("encoding,last", [("gbk", "很差"), ("gb18030", "很差𠀀")])  # 𠀀 is in GB18030 only
def test_gbk_and_gb18030_files_are_decoded(tmp_path, encoding, last):
    """A file in GBK or GB18030 (not UTF-8) is decoded, Chinese column names and labels included."""
    p = write(tmp_path, "zh.csv", f"标签,评论\n正面,房间干净,服务好\n负面,{last}\n".encode(encoding))
    with pytest.raises(UnicodeDecodeError):
        p.read_bytes().decode("utf-8")
    assert readers.load(p).examples == [("房间干净,服务好", 1), (last, 0)]


# ---- bad CSV files -----------------------------------------------------------------------------


@pytest.mark.parametrize("content,message", [
    (b"", r"bad\.csv: the file is empty"),
    (b"  \n\r\n\t\n", r"bad\.csv: the file is empty"),
    (b"label,comment_id\n1,5\n0,6\n", r"bad\.csv: line 1: no text column"),
    (b"stars,review\n1,good\n0,bad\n", r"bad\.csv: line 1: no label column"),
    (b"label,review\n1,good\n5,bad\n", r"bad\.csv: line 3: label '5' is not one of"),
    (b"label,review\n1,good\n0,bad\nmaybe,meh\n", r"bad\.csv: line 4: label 'maybe' is not one of"),
    (b"1,good\n5,bad\n", r"bad\.csv: line 2: label '5' is not one of"),
    (b"label,review\n1,good\n0,\xff\xfe\xfa\xfb\n", r"bad\.csv: line 3: the file is neither UTF-8 nor GB18030"),
    (b"label,review\n1,good\n1,fine\n", r"bad\.csv: every review has the label positive"),
    (b"label,review,source\n1,good,web\n0\n", r"bad\.csv: line 3: 1 fields, but the header has 3"),
    (b'label,review\n1,"never closed\n0,bad\n0,worse\n', r"bad\.csv: line 2: .*quote"),
    (b'label,review\n1,good\n0,"bad" and more\n', r"bad\.csv: line 3: .*quote"),
    (b"label,review\n", r"bad\.csv: no reviews with a label found"),
], ids=["empty", "whitespace-only", "no-text-column", "no-label-column", "label-5", "label-maybe", "headerless-label-5",
        "not-utf8-nor-gb18030", "one-label-only", "too-few-fields", "unclosed-quote", "text-after-quote", "header-only"])
def test_bad_csv_names_the_file_line_and_problem(tmp_path, content, message):
    """Each bad CSV raises one DataError naming the file, the line where it applies, and the problem."""
    with pytest.raises(DataError, match=message):
        readers.load(write(tmp_path, "bad.csv", content))


def test_a_named_column_that_is_not_there_is_refused(tmp_path):
    """Asking for a column the header lacks names the column and shows the header."""
    p = write(tmp_path, "c.csv", b"label,review\n1,good\n0,bad\n")
    with pytest.raises(DataError, match=r"c\.csv: line 1: no column named 'stars'; the header is \['label', 'review'\]"):
        readers.load(p, label_col="stars")


def test_a_missing_path_is_refused(tmp_path):
    """A path that does not exist gives a DataError naming it."""
    with pytest.raises(DataError, match=r"nothing\.csv: no such file"):
        readers.load(tmp_path / "nothing.csv")


def test_an_unknown_format_is_refused(tmp_path):
    """A format other than imdb or csv is refused by name."""
    with pytest.raises(DataError, match=r"unknown format 'json'"):
        readers.load(write(tmp_path, "a.csv", b"label,review\n1,a\n0,b\n"), format="json")


# ---- splits ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hotel(hotel_path):
    return readers.load(hotel_path)


def test_csv_split_is_80_10_10(hotel):
    """A CSV dataset is split 80/10/10: 6,213 / 776 / 776 for ChnSentiCorp, with the seed in its info."""
    s = readers.split(hotel, seed=0)
    assert s.info["sizes"] == {"train": 6_213, "val": 776, "test": 776}
    assert (s.info["dataset"], s.info["format"], s.info["split_seed"], s.info["skipped_empty"]) == ("hotel", "csv", 0, 1)


def test_csv_split_parts_are_disjoint_and_cover_the_data(hotel):
    """Train, validation and test together hold every review exactly once."""
    s = readers.split(hotel, seed=0)
    assert Counter(s.train + s.val + s.test) == Counter(hotel.examples)


def test_same_seed_gives_the_same_split(hotel):
    """Splitting twice with the same seed gives identical train, validation and test lists."""
    a, b = readers.split(hotel, seed=7), readers.split(hotel, seed=7)
    assert (a.train, a.val, a.test) == (b.train, b.val, b.test)


def test_different_seed_gives_a_different_split(hotel):
    """Another seed gives another test set."""
    assert set(readers.split(hotel, seed=0).test) != set(readers.split(hotel, seed=1).test)


def test_limit_never_touches_test(hotel):
    """--limit draws n training reviews and shrinks validation, but the test list is left as it was."""
    s = readers.split(hotel, seed=0)
    lim = readers.limit(s, 300, seed=0)
    assert lim.test is s.test
    assert len(lim.train) == 300 and set(lim.train) <= set(s.train)
    assert len(lim.val) == 200 and set(lim.val) <= set(s.val)
    assert lim.info["limit"] == 300 and lim.info["sizes"] == {"train": 300, "val": 200, "test": 776}


def test_limit_is_seeded(hotel):
    """The limited training set depends on the seed only."""
    s = readers.split(hotel, seed=0)
    assert readers.limit(s, 100, seed=3).train == readers.limit(s, 100, seed=3).train != readers.limit(s, 100, seed=4).train


def test_no_limit_or_a_large_limit_keeps_everything(hotel):
    """limit None (or one above the training size) returns the splits unchanged."""
    s = readers.split(hotel, seed=0)
    assert readers.limit(s, None, seed=0) is s and readers.limit(s, 10**6, seed=0) is s


# ---- batches -----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 500), max_size=400), st.integers(1, 40), st.booleans(), st.integers(0, 10))
def test_buckets_hold_every_index_exactly_once(lengths, batch_size, shuffle, seed):
    """bucket_batches returns every index exactly once, in batches no larger than batch_size."""
    batches = batching.bucket_batches(lengths, batch_size, shuffle=shuffle, seed=seed)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(1 <= len(b) <= batch_size for b in batches)


def padding(batches: list[list[int]], lengths: list[int]) -> int:
    return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)


def test_buckets_pad_far_less_than_arrival_order(hotel):
    """On real ChnSentiCorp review lengths, bucketing pads less than a fifth of what unbucketed batches do."""
    rng = random.Random(0)
    examples = rng.sample(hotel.examples, len(hotel.examples))
    lengths = [len(t) for t, _ in examples]
    bucketed = batching.bucket_batches(lengths, 64, shuffle=True, seed=0)
    plain = [list(range(i, min(i + 64, len(lengths)))) for i in range(0, len(lengths), 64)]
    assert padding(bucketed, lengths) < padding(plain, lengths) / 5


def test_buckets_are_seeded(hotel):
    """The same seed gives the same batches; another seed another order."""
    lengths = [len(t) for t, _ in hotel.examples[:1000]]
    a = batching.bucket_batches(lengths, 32, shuffle=True, seed=1)
    assert a == batching.bucket_batches(lengths, 32, shuffle=True, seed=1) != batching.bucket_batches(lengths, 32, shuffle=True, seed=2)


def test_collate_pads_right_and_returns_true_lengths():
    """collate right-pads with the pad id and returns int64 lengths on the CPU."""
    ids, lengths = batching.collate([[5, 6, 7], [8], [9, 10]])
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]]
    assert lengths.tolist() == [3, 1, 2] and lengths.dtype == torch.long and lengths.device.type == "cpu"
    assert batching.collate([[4], [5, 6]], pad_id=9)[0].tolist() == [[4, 9], [5, 6]]
