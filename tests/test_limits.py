"""The limits a shared server needs (issue 16): each bad input found by trying gets one clear message,
and nothing is built from it first. Model folders, pasted text, upload encodings and line ends,
reviews in scripts no model reads, and the trace CLI on odd text and terminals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import make_checkpoint
from safetensors.torch import load_file, save_file

from sentiment.data import readers, uploads
from sentiment.data.text import MAX_PASTE, cut_paste
from sentiment.errors import CheckpointError, DataError, InputError
from sentiment.modeling import catalog, checkpoint

ROOT = Path(__file__).resolve().parent.parent


# ---- model folders ----------------------------------------------------------------------------


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return make_checkpoint(tmp_path / "tiny-lstm-max")


def _edit_config(d: Path, **model) -> None:
    cfg = json.loads((d / "config.json").read_text())
    cfg["model"].update(model)
    (d / "config.json").write_text(json.dumps(cfg))


def _refused(d: Path, words: str) -> None:
    """Both the catalog and loading say the same clear thing (no other exception)."""
    entry = catalog.describe(d)
    assert not entry.available and words in entry.error, entry.error
    with pytest.raises(CheckpointError, match=words):
        checkpoint.load(d)


def test_a_card_nested_two_thousand_deep_is_refused_not_a_recursion_error(model_dir):
    (model_dir / "card.json").write_text('{"a": ' * 2000 + "1" + "}" * 2000)
    _refused(model_dir, "nested too deeply")
    assert catalog.list_models(model_dir.parent, model_dir.parent / "no-runs")  # listing still works


def test_a_huge_hidden_size_is_refused_before_any_allocation(model_dir, monkeypatch):
    _edit_config(model_dir, hidden_size=100_000_000)
    built = []  # nothing of 77 GB is attempted: no model is built from the config
    monkeypatch.setattr(checkpoint, "SentimentRNN", lambda *a, **k: built.append(1))
    _refused(model_dir, "hidden_size")
    assert built == []


def test_a_ten_million_word_vocabulary_is_refused_before_it_is_read(model_dir):
    _edit_config(model_dir, vocab_size=10_000_000)
    (model_dir / "vocab.json").write_text(json.dumps({"itos": ["<pad>", "<unk>"] + [f"w{i}" for i in range(20)]}))
    _refused(model_dir, "vocab_size")


def test_an_oversized_vocabulary_file_is_refused_by_its_size(model_dir, monkeypatch):
    monkeypatch.setitem(checkpoint.MAX_JSON_BYTES, "vocab.json", 100)
    with pytest.raises(CheckpointError, match="more than a vocabulary"):
        checkpoint.load(model_dir)


@pytest.mark.parametrize("field,value", [("num_layers", 0), ("hidden_size", "64"), ("embed_dim", 1.5),
                                         ("num_classes", 10**9), ("hidden_size", True)])
def test_model_sizes_must_be_whole_numbers_in_range(model_dir, field, value):
    _edit_config(model_dir, **{field: value})
    _refused(model_dir, field)


@pytest.mark.parametrize("cfg_patch,words", [({"model": [1, 2]}, "no model or tokenizer"),
                                             ({"tokenizer": {"language": "fr"}}, "tokenizer"),
                                             ({"max_len": -3}, "max_len"), ({"max_len": "long"}, "max_len")])
def test_a_config_of_the_wrong_kind_is_a_message(model_dir, cfg_patch, words):
    cfg = json.loads((model_dir / "config.json").read_text())
    cfg.update(cfg_patch)
    (model_dir / "config.json").write_text(json.dumps(cfg))
    _refused(model_dir, words)


def test_nan_weights_are_refused_instead_of_showing_nan_percent_sure(model_dir):
    w = model_dir / "model.safetensors"
    state = load_file(str(w))
    name = next(iter(state))
    state[name] = torch.full_like(state[name], float("nan"))
    save_file(state, str(w))
    card = json.loads((model_dir / "card.json").read_text())
    card.pop("weights_sha256", None)
    (model_dir / "card.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        checkpoint.load(model_dir)


def test_a_weights_file_far_larger_than_the_config_is_refused_before_reading(model_dir):
    w = model_dir / "model.safetensors"
    with open(w, "ab") as f:
        f.truncate(w.stat().st_size + (64 << 20))  # sparse: no disk used
    with pytest.raises(CheckpointError, match="far more than"):
        checkpoint.load(model_dir)


# ---- pasted text ---------------------------------------------------------------------------------


def test_a_24_mb_paste_is_cut_with_a_message_before_anything_reads_it_all():
    text = "good movie " * (24_000_000 // 11)
    kept, cut = cut_paste(text)
    assert len(kept) == MAX_PASTE and cut == len(text) - MAX_PASTE


def test_a_normal_review_is_not_cut():
    assert cut_paste("a fine film") == ("a fine film", 0)


# ---- uploads: encodings and line ends -------------------------------------------------------------


def _csv(text: str, encoding: str, n: int = 24) -> bytes:
    rows = "".join(f"{i % 2},{text} {i}\n" for i in range(n))
    return ("label,review\n" + rows).encode(encoding)


@pytest.mark.parametrize("encoding,text", [("latin-1", "crème brûlée, très bien"), ("cp1252", "déjà vu, naïve"),
                                           ("shift_jis", "とても良い映画でした")])
def test_text_in_another_encoding_is_refused_not_read_as_garbled_chinese(encoding, text):
    with pytest.raises(DataError, match="UTF-8"):
        readers.decode_bytes(_csv(text, encoding), "reviews.csv")
    with pytest.raises(uploads.UploadError, match="UTF-8"):
        uploads.validate_upload(_csv(text, encoding), "reviews.csv")


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8"])
def test_chinese_in_gbk_and_utf8_is_still_read(encoding):
    assert "房间很干净" in readers.decode_bytes(_csv("房间很干净，服务也好", encoding), "hotel.csv")


def test_a_csv_with_cr_only_line_ends_is_accepted_on_the_page_as_by_the_readers():
    content = _csv("a fine film", "utf-8").replace(b"\n", b"\r")
    preview = uploads.preview_upload(content, "old-mac.csv")
    assert preview.columns == ["label", "review"]
    assert uploads.validate_upload(content, "old-mac.csv").reviews == 24
    assert len(readers.read_csv("old-mac.csv", data=content).examples) == 24


# ---- reviews in scripts no model reads -------------------------------------------------------------


@pytest.mark.parametrize("review,script", [("Фильм был очень хорош", "Cyrillic"), ("كان الفيلم رائعا", "Arabic"),
                                           ("הסרט היה נהדר", "Hebrew")])
def test_a_review_in_another_script_is_told_which_languages_the_models_read(tiny_checkpoint, review, script):
    ckpt = tiny_checkpoint()
    with pytest.raises(InputError) as e:
        ckpt.encode(review)
    assert script in str(e.value) and "English" in str(e.value) and "Chinese" in str(e.value)
    assert "only symbols" not in str(e.value)


def test_emoji_alone_still_says_only_symbols(tiny_checkpoint):
    with pytest.raises(InputError, match="only symbols"):
        tiny_checkpoint().encode("😀 ... ★ ♥")


# ---- the trace CLI ---------------------------------------------------------------------------------


def _cli(args: list[str], encoding: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONIOENCODING=encoding, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "sentiment.trace", *args], capture_output=True, env=env, timeout=120)


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "utf-8"])
@pytest.mark.slow
def test_trace_json_prints_on_any_terminal_encoding(model_dir, encoding):
    r = _cli(["--model", str(model_dir), "--json", "--no-occlusion", "the film was good — très bon 好"], encoding)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert json.loads(r.stdout.decode("ascii"))["label"] in ("positive", "negative")


@pytest.mark.slow
def test_trace_json_survives_lone_surrogates(model_dir):
    env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONPATH=str(ROOT))
    arg = os.fsencode("good film \udcff bad")  # an undecodable byte in the argument, as a shell can pass it
    r = subprocess.run([sys.executable, "-m", "sentiment.trace", "--model", str(model_dir), "--json", "--no-occlusion",
                        arg], capture_output=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert json.loads(r.stdout)["tokens"]
