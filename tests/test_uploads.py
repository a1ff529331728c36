"""Uploaded CSVs (sentiment.data.uploads): bad files are refused with a clear message before any run
starts; good ones are stored normalized under the runs root and read back by the trainer's reader;
a run the Train page launches and the runs refuse (English reviews, a Chinese model to start from)
leaves no stored upload behind, but keeps one that was stored before."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from sentiment.data import readers
from sentiment.data.uploads import (
    MAX_UPLOAD_BYTES,
    MIN_REVIEWS,
    UploadError,
    column_choices,
    preview_upload,
    save_upload,
    validate_upload,
)
from sentiment.errors import DataError
from sentiment.training import runs


def make_csv(rows, header=("label", "review"), delimiter=",") -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    if header:
        w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


GOOD_ROWS = [(i % 2, f"review {i}: " + ("great, lovely film" if i % 2 else 'awful "plot", dull\nacting')) for i in range(40)]


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    r = tmp_path / "runs"
    monkeypatch.setenv("GATESCOPE_RUNS", str(r))
    return r


def uploads_written(root: Path) -> list[str]:
    up = root / "uploads"
    return sorted(p.name for p in up.iterdir()) if up.exists() else []


# ---- bad uploads: refused before launch, nothing written ------------------------------------------


BAD = {
    "empty": (b"", None, None, "upload.csv: the file is empty"),
    "blank lines": (b"\n \r\n\t\n", None, None, "the file is empty"),
    "header only": (b"label,review\n", None, None, "no reviews with a label found"),
    "no label column": (make_csv([("nice", "x")] * 30, header=("title", "review")), None, None, "no label column"),
    "picked label column missing": (make_csv(GOOD_ROWS), "stars", "review", "no column named 'stars'"),
    "non-binary labels": (make_csv([(1 + i % 5, f"review {i}") for i in range(40)]), None, None,
                          "line 3: label '2' is not one of 0/1"),
    "one class only": (make_csv([(1, f"good {i}") for i in range(40)]), None, None,
                       "every review has the label positive; a sentiment dataset needs both"),
    "undecodable (not UTF-8, not GBK)": (b"label,review\n1,ok\n0,\xff\xfe\x80 broken\n", None, None,
                                         "line 3: the file is neither UTF-8 nor GB18030/GBK text; save it as CSV with the UTF-8"),
    "binary": (b"PK\x03\x04\x00\x00\x08\x00" + b"\x00" * 100, None, None, "a binary file, not CSV text"),
    "too few reviews": (make_csv(GOOD_ROWS[:6]), None, None, f"only 6 labelled reviews; at least {MIN_REVIEWS}"),
    "same column twice": (make_csv(GOOD_ROWS), "review", "review", "two different columns"),
    "ragged row": (b"label,title,review\n1,a,good\n0,b\n", None, None, "line 3: 2 fields, but the header has 3"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_upload_is_refused_with_a_message(case, root):
    content, label_col, text_col, message = BAD[case]
    with pytest.raises(UploadError) as e:
        validate_upload(content, "upload.csv", label_col, text_col)
    assert message in str(e.value)
    assert isinstance(e.value, DataError)  # the page catches GateScopeError / DataError
    with pytest.raises(UploadError, match="upload.csv"):
        save_upload(content, "upload.csv", label_col, text_col)
    assert uploads_written(root) == []
    assert runs.list_runs() == []  # nothing was launched


def test_non_binary_labels_say_what_to_do():
    with pytest.raises(UploadError, match="the labels must be binary"):
        validate_upload(make_csv([(i % 5, "x") for i in range(40)]), "stars.csv")


def test_a_20_mb_upload_is_refused_at_once(root, monkeypatch):
    content = make_csv(GOOD_ROWS) * (20 * 1024 * 1024 // len(make_csv(GOOD_ROWS)) + 1)
    assert len(content) > 20 * 1024 * 1024
    decoded = []  # refused on its size, before decoding or parsing
    monkeypatch.setattr(readers, "decode_bytes", lambda *a, **k: decoded.append(1) or "")
    with pytest.raises(UploadError, match=r"the file is 20\.\d MB, over the limit of 10 MB"):
        save_upload(content, "big.csv")
    with pytest.raises(UploadError, match="over the limit"):
        preview_upload(content, "big.csv")
    assert decoded == []
    monkeypatch.undo()
    assert uploads_written(root) == []
    assert MAX_UPLOAD_BYTES == 10 * 1024 * 1024
    assert validate_upload(content[: len(make_csv(GOOD_ROWS))], "ok.csv", max_bytes=10 * 1024 * 1024).reviews == 40


# ---- good uploads ------------------------------------------------------------------------------------


def test_good_upload_is_validated_saved_and_reads_back(root):
    content = make_csv(GOOD_ROWS + [(1, "   ")])  # an empty review is skipped, not an error
    s = validate_upload(content, "My Reviews (2026).csv")
    assert (s.reviews, s.positive, s.negative, s.skipped_empty) == (40, 20, 20, 1)
    assert s.language == "en" and s.path is None and uploads_written(root) == []
    saved = save_upload(content, "My Reviews (2026).csv")
    assert saved.path.parent == root / "uploads" and saved.path.name.startswith("My_Reviews_2026-")
    assert saved.sha256 == s.sha256
    again = save_upload(content, "My Reviews (2026).csv")
    assert again.path == saved.path and uploads_written(root) == [saved.path.name]
    back = readers.load(saved.path)  # what `python -m sentiment.train --data PATH` reads
    assert back.examples == [(t.strip(), y) for y, t in GOOD_ROWS]
    cfg = runs.check_config(dict(data=str(saved.path)), runs.RunLimits.browser())
    assert cfg["data"] == str(saved.path)


def test_columns_picked_by_the_user(root):
    rows = [(f"id{i}", "pos" if i % 3 else "neg", f"opinion number {i}") for i in range(30)]
    content = make_csv(rows, header=("id", "verdict", "opinion"), delimiter="\t")
    p = preview_upload(content, "mine.tsv")
    assert (p.columns, p.headerless, p.label_guess, p.text_guess, p.delimiter) == (["id", "verdict", "opinion"], False, None, None, "\t")
    assert column_choices(content, "mine.tsv") == ["id", "verdict", "opinion"]
    with pytest.raises(UploadError, match="no label column"):
        validate_upload(content, "mine.tsv")
    s = save_upload(content, "mine.tsv", label_col="verdict", text_col="opinion")
    assert (s.reviews, s.positive, s.label_col, s.text_col) == (30, 20, "verdict", "opinion")
    back = readers.load(s.path)  # the picked columns are baked into the stored file
    assert back.examples[0] == ("opinion number 0", 0) and len(back.examples) == 30


def test_gbk_upload_is_decoded(root):
    rows = [(i % 2, ("房间干净，服务很好" if i % 2 else "早餐很差，再也不会来了") + str(i)) for i in range(30)]
    content = make_csv(rows).decode("utf-8").encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    s = save_upload(content, "hotel_gbk.csv")
    assert s.reviews == 30 and s.language == "zh"
    assert readers.load(s.path).examples[1] == ("房间干净，服务很好1", 1)
    assert s.path.read_bytes().decode("utf-8").startswith("label,review\n")


def test_headerless_label_text_file(root):
    content = "\n".join(f"{i % 2},review {i}, with a comma" for i in range(30)).encode("utf-8-sig")
    p = preview_upload(content, "plain.csv")
    assert p.headerless and p.columns == []
    s = validate_upload(content, "plain.csv")
    assert s.reviews == 30
    p = preview_upload(make_csv(GOOD_ROWS, header=("Sentiment", "Text")), "named.csv")
    assert (p.label_guess, p.text_guess) == ("Sentiment", "Text")


# ---- a refused run leaves no upload behind (the Train page's launch) --------------------------------


def test_save_upload_says_whether_it_stored_the_file(root):
    content = make_csv(GOOD_ROWS)
    assert save_upload(content, "mine.csv").created is True
    assert save_upload(content, "mine.csv").created is False  # the same content is stored once


def refused_config() -> dict:
    """English reviews with a Chinese model to start from: refused by check_config."""
    return dict(name="wrong-language", init="shipped:hotel-gru-max", epochs=1, limit=100, device="cpu", batch_size=32)


def test_a_refused_run_removes_the_upload_it_stored(root):
    from sentiment.ui.train import launch_run

    chosen = {"upload": (make_csv(GOOD_ROWS), "english.csv", None, None)}
    with pytest.raises(runs.RunConfigError, match="the model reads Chinese"):
        launch_run(refused_config(), chosen, runs.RunLimits.browser())
    assert uploads_written(root) == []
    assert runs.list_runs() == []


def test_a_refused_run_keeps_an_upload_stored_before(root):
    from sentiment.ui.train import launch_run

    content = make_csv(GOOD_ROWS)
    before = save_upload(content, "english.csv")
    with pytest.raises(runs.RunConfigError):
        launch_run(refused_config(), {"upload": (content, "english.csv", None, None)}, runs.RunLimits.browser())
    assert uploads_written(root) == [before.path.name]
