"""Checkpoints: save/load round-trips, atomic saves that never overwrite, float16 weights, no pickle,
clear errors for partial or corrupt model folders, and how a loaded model reads awkward reviews.

Bad input tried here: a folder missing each of its four files, a truncated model.safetensors (with
and without the checksum in the card), each JSON file truncated, a JSON file that is not an object,
a config.json without its model section, a vocabulary of the wrong size, weights of the wrong shape,
a folder that does not exist; reviews that are empty, whitespace, emoji only, control characters
only, punctuation only, 1 MB long, HTML, Chinese for an English model and English for a Chinese one.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
from conftest import make_checkpoint
from safetensors import safe_open

from sentiment import spec
from sentiment.data import text
from sentiment.data.batching import collate
from sentiment.errors import CheckpointError, InputError
from sentiment.modeling import checkpoint
from sentiment.modeling.predict import predict

BATCH = [[2, 3, 4, 5, 6], [7, 8], [9, 10, 11, 2]]


def logits(ck: checkpoint.Checkpoint, seqs=BATCH) -> torch.Tensor:
    with torch.no_grad():
        return ck.model(*collate(seqs))


# ---- round trip --------------------------------------------------------------------------------


@pytest.mark.parametrize("kw", [
    dict(cell="lstm", pooling="max"),
    dict(cell="gru", pooling="attention", layers=2),
    dict(cell="rnn", pooling="last", bidirectional=False),
    dict(cell="gru", pooling="mean", language="zh"),
], ids=lambda kw: "-".join(str(v) for v in kw.values()))
def test_save_and_load_give_identical_logits(tmp_path, kw):
    """A loaded checkpoint computes exactly the logits of the model that was saved."""
    path = make_checkpoint(tmp_path / "a", **kw)
    first = checkpoint.load(path)
    again = checkpoint.save(tmp_path / "b", first.model, first.vocab, first.tokenizer, first.max_len, first.card)
    second = checkpoint.load(again)
    assert torch.equal(logits(second), logits(first))
    assert second.config == first.config and not second.model.training


def test_load_restores_vocab_tokenizer_max_len_and_card(tmp_path):
    """Vocab, tokenizer spec, max length and card come back as saved; the card gains dtype, checksum, size."""
    ck = checkpoint.load(make_checkpoint(tmp_path / "m", language="zh", max_len=33))
    assert ck.vocab.itos[:4] == ["<pad>", "<unk>", "酒店", "房间"]
    assert ck.tokenizer == {"language": "zh", "mode": "word"} and ck.language == "zh" and ck.max_len == 33
    assert ck.card["dataset"] == "tiny" and ck.card["weights_dtype"] == "float32"
    assert len(ck.card["weights_sha256"]) == 64 and ck.card["parameters"] == ck.model.num_parameters()
    assert checkpoint.read_card(tmp_path / "m") == ck.card and ck.path == str(tmp_path / "m")


def test_a_checkpoint_is_four_files(tmp_path):
    """A model folder holds exactly model.safetensors, config.json, vocab.json and card.json."""
    path = make_checkpoint(tmp_path / "m")
    assert sorted(p.name for p in path.iterdir()) == sorted(checkpoint.FILES)


def test_loading_never_unpickles(tmp_path, monkeypatch):
    """Loading a checkpoint calls neither torch.load nor pickle."""
    path = make_checkpoint(tmp_path / "m")

    def refuse(*a, **k):
        raise AssertionError("unpickling was attempted")

    for target, name in [(torch, "load"), (pickle, "load"), (pickle, "loads"), (pickle, "Unpickler")]:
        monkeypatch.setattr(target, name, refuse)
    assert checkpoint.load(path).config.cell == "lstm"


# ---- saving ------------------------------------------------------------------------------------


def test_save_refuses_an_existing_non_empty_folder(tmp_path, tiny_checkpoint):
    """Saving into a folder that holds anything raises CheckpointError and leaves the folder as it was."""
    ck = tiny_checkpoint()
    target = tmp_path / "taken"
    target.mkdir()
    (target / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"taken: already exists and is not empty; a checkpoint is never overwritten"):
        checkpoint.save(target, ck.model, ck.vocab, ck.tokenizer, ck.max_len, ck.card)
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


def test_save_refuses_to_overwrite_a_checkpoint(tmp_path, tiny_checkpoint):
    """Saving over an existing checkpoint is refused and its weights are untouched."""
    path = make_checkpoint(tmp_path / "m", seed=0)
    before = (path / "model.safetensors").read_bytes()
    other = tiny_checkpoint(seed=1)
    with pytest.raises(CheckpointError, match="never overwritten"):
        checkpoint.save(path, other.model, other.vocab, other.tokenizer, other.max_len, other.card)
    assert (path / "model.safetensors").read_bytes() == before


def test_save_into_an_existing_empty_folder_is_allowed(tmp_path, tiny_checkpoint):
    """An existing empty folder may receive a checkpoint."""
    ck = tiny_checkpoint()
    (tmp_path / "empty").mkdir()
    checkpoint.save(tmp_path / "empty", ck.model, ck.vocab, ck.tokenizer, ck.max_len, ck.card)
    assert torch.equal(logits(checkpoint.load(tmp_path / "empty")), logits(ck))


@pytest.mark.parametrize("broken", ["save_file", "_write_json"])
def test_an_interrupted_save_leaves_no_folder_behind(tmp_path, monkeypatch, tiny_checkpoint, broken):
    """A save that fails half-way leaves neither the target folder nor its temporary folder."""
    ck = tiny_checkpoint()
    parent = tmp_path / "models"
    parent.mkdir()

    def fail(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint, broken, fail)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save(parent / "new", ck.model, ck.vocab, ck.tokenizer, ck.max_len, ck.card)
    assert list(parent.iterdir()) == []


def test_half_precision_weights_load_and_predict_within_tolerance(tmp_path, tiny_checkpoint):
    """half=True stores float16 weights (about half the bytes); they load as float32 and predict nearly the same."""
    full = tiny_checkpoint(cell="gru", pooling="attention", hidden=16, embed=16)
    a = checkpoint.save(tmp_path / "f32", full.model, full.vocab, full.tokenizer, full.max_len, full.card)
    h = checkpoint.save(tmp_path / "f16", full.model, full.vocab, full.tokenizer, full.max_len, full.card, half=True)
    with safe_open(str(h / "model.safetensors"), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()}  # noqa: SIM118 (safe_open has no __iter__) == {torch.float16}
    assert (h / "model.safetensors").stat().st_size < 0.6 * (a / "model.safetensors").stat().st_size
    half = checkpoint.load(h)
    assert half.card["weights_dtype"] == "float16"
    assert {p.dtype for p in half.model.parameters()} == {torch.float32}
    torch.testing.assert_close(logits(half), logits(full), atol=5e-3, rtol=0)
    review = "the film was great , i loved it"
    assert abs(predict(half, review).positive - predict(full, review).positive) < 5e-3


# ---- partial or corrupt folders ----------------------------------------------------------------


@pytest.mark.parametrize("name", checkpoint.FILES)
def test_a_missing_file_is_named(tmp_path, name):
    """A model folder missing one of its four files gives a CheckpointError naming that file as missing."""
    path = make_checkpoint(tmp_path / "m")
    (path / name).unlink()
    with pytest.raises(CheckpointError, match=rf"m/{name}: missing \(a model directory holds"):
        checkpoint.load(path)


def truncate(path: Path, keep: float = 0.5) -> None:
    blob = path.read_bytes()
    path.write_bytes(blob[: int(len(blob) * keep)])


def test_truncated_weights_are_caught_by_the_checksum(tmp_path):
    """A truncated model.safetensors is reported as corrupt or truncated (its checksum differs)."""
    path = make_checkpoint(tmp_path / "m")
    truncate(path / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"model\.safetensors: corrupt or truncated \(its checksum differs"):
        checkpoint.load(path)


@pytest.mark.parametrize("keep", [0.0, 0.001, 0.5, 0.99])
def test_truncated_weights_without_a_checksum_are_named(tmp_path, keep):
    """Without a checksum in the card, a truncated model.safetensors still gives a clear CheckpointError."""
    path = make_checkpoint(tmp_path / "m")
    card = json.loads((path / "card.json").read_text(encoding="utf-8"))
    del card["weights_sha256"]
    (path / "card.json").write_text(json.dumps(card), encoding="utf-8")
    truncate(path / "model.safetensors", keep)
    with pytest.raises(CheckpointError, match=r"model\.safetensors: corrupt or truncated"):
        checkpoint.load(path)


@pytest.mark.parametrize("name", ["config.json", "vocab.json", "card.json"])
def test_truncated_json_is_named(tmp_path, name):
    """A truncated JSON file gives a CheckpointError naming it as corrupt or truncated."""
    path = make_checkpoint(tmp_path / "m")
    truncate(path / name)
    with pytest.raises(CheckpointError, match=rf"{name}: corrupt or truncated"):
        checkpoint.load(path)


@pytest.mark.parametrize("name", ["config.json", "card.json"])
def test_json_that_is_not_an_object_is_named(tmp_path, name):
    """A config or card that is valid JSON but not an object is refused by name."""
    path = make_checkpoint(tmp_path / "m")
    (path / name).write_text("[1, 2, 3]", encoding="utf-8")
    with pytest.raises(CheckpointError, match=rf"{name}: expected a JSON object"):
        checkpoint.load(path)


def test_config_without_its_model_section_is_named(tmp_path):
    """A config.json lacking the model settings is reported as incomplete."""
    path = make_checkpoint(tmp_path / "m")
    cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
    del cfg["model"]
    (path / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"config\.json: incomplete or invalid"):
        checkpoint.load(path)


def test_vocab_of_the_wrong_size_is_named(tmp_path):
    """A vocab.json whose size differs from config.json's is refused with both numbers."""
    path = make_checkpoint(tmp_path / "m")
    itos = json.loads((path / "vocab.json").read_text(encoding="utf-8"))["itos"]
    (path / "vocab.json").write_text(json.dumps({"itos": itos + ["extra"]}), encoding="utf-8")
    with pytest.raises(CheckpointError, match=rf"vocab\.json: {len(itos) + 1} tokens, but config\.json says {len(itos)}"):
        checkpoint.load(path)


def test_weights_that_do_not_fit_the_config_are_named(tmp_path):
    """Weights of another shape than config.json describes give an error naming the weights file."""
    path = make_checkpoint(tmp_path / "m", hidden=8)
    cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
    cfg["model"]["hidden_size"] = 9
    (path / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"model\.safetensors: weights do not match config\.json"):
        checkpoint.load(path)


def test_a_missing_folder_is_named(tmp_path):
    """Loading a folder that does not exist says so."""
    with pytest.raises(CheckpointError, match=r"nowhere: no such model directory"):
        checkpoint.load(tmp_path / "nowhere")


# ---- reviews a loaded model reads --------------------------------------------------------------


@pytest.fixture(scope="module")
def en(tmp_path_factory) -> checkpoint.Checkpoint:
    return checkpoint.load(make_checkpoint(tmp_path_factory.mktemp("en") / "m", max_len=50))


@pytest.fixture(scope="module")
def zh(tmp_path_factory) -> checkpoint.Checkpoint:
    return checkpoint.load(make_checkpoint(tmp_path_factory.mktemp("zh") / "m", language="zh", max_len=50))


@pytest.mark.parametrize("bad", ["", "   ", "\n\t\r\n "], ids=["empty", "spaces", "whitespace"])
def test_an_empty_review_is_refused(en, bad):
    """Empty or whitespace-only text raises InputError saying the review is empty."""
    with pytest.raises(InputError, match="The review is empty"):
        en.encode(bad)


@pytest.mark.parametrize("bad", ["😀🎉👍", "\x00\x01\x02\x1b\x7f", "...,;:-", "\u200b\u200b"],
                         ids=["emoji", "control", "punctuation", "zero-width"])
def test_a_review_with_no_words_is_refused(en, bad):
    """Emoji, control characters, punctuation or zero-width characters alone raise InputError: no words found."""
    with pytest.raises(InputError, match="No words found"):
        en.encode(bad)


def test_bangs_alone_are_read(en):
    """'!' and '?' are tokens, so a review of only those is read, not refused."""
    assert en.encode("!!!???...").tokens == ["!", "!", "!", "?", "?", "?"]


def test_a_megabyte_review_is_cut_with_a_note(en):
    """A 1 MB paste reads READ_LIMIT tokens and says it was cut (its time: bench/limits.py)."""
    p = predict(en, "the movie was good ! " * 50_000)
    assert p.tokens == spec.READ_LIMIT and f"cut to the model's first {spec.READ_LIMIT} tokens" in p.note


def test_a_megabyte_chinese_review_is_cut_before_tokenizing(zh, monkeypatch):
    """A 1 MB Chinese paste reaches jieba cut to MAX_CHARS characters (its time: bench/limits.py)."""
    seen = []
    real = text.tokenize_zh
    monkeypatch.setattr(text, "tokenize_zh", lambda s, *a, **kw: seen.append(len(s)) or real(s, *a, **kw))
    enc = zh.encode("房间很干净，服务不错！" * 100_000)
    assert len(enc.ids) == spec.READ_LIMIT and enc.truncated > 0
    assert seen and max(seen) <= text.MAX_CHARS


def test_html_is_stripped_before_reading(en):
    """HTML tags and <br /> are not read as words."""
    assert en.encode("<p>good <b>film</b></p><br /><script>x</script>").tokens == ["good", "film", "x"]


def test_control_characters_inside_words_split_them(en):
    """Control characters act as spaces and never reach the vocabulary."""
    assert en.encode("good\x00film\x1bbad").tokens == ["good", "film", "bad"]


def test_a_chinese_review_for_an_english_model_gets_a_note(en):
    """Mostly-Chinese text read by an English model is read, with a note that the prediction means little."""
    enc = en.encode("good film 这部电影非常好看，我很喜欢")
    assert enc.tokens == ["good", "film"] and "looks Chinese, but the model reads English" in enc.note


def test_an_english_review_for_a_chinese_model_gets_a_note(zh):
    """English text read by a Chinese model gets the other-language note."""
    assert "looks English, but the model reads Chinese" in zh.encode("The room was very clean").note


def test_mixed_scripts_in_the_models_language_get_no_note(en, zh):
    """A Chinese review with a Latin word, or an English one with a Chinese word, is read without a note."""
    assert zh.encode("酒店的WiFi很快，房间不错").note == ""
    assert en.encode("the hotel 酒店 was a good place to stay").note == ""


def test_unknown_words_read_as_unk(en):
    """Words outside the vocabulary map to <unk> (id 1)."""
    assert en.encode("good zyzzyva").ids == [en.vocab.stoi["good"], 1]
