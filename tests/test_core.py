"""The core, as specified in issue 2: tokenizers, Vocab, readers, splits, batches, padding invariance,
checkpoints and the three command-line tools, with the bad inputs each must refuse clearly.

Bad input tried here: empty and whitespace text, a 1 MB text, emoji only, control characters, mixed
scripts, HTML; a CSV with a missing column, a wrong label, bytes that are neither UTF-8 nor GB18030,
an empty file; a checkpoint folder with each file missing, a truncated weights file, truncated JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sentiment import checkpoint, data, text
from sentiment.errors import CheckpointError, DataError, InputError
from sentiment.model import CELLS, ModelConfig, SentimentRNN
from sentiment.pooling import POOLINGS
from sentiment.predict import predict

ROOT = Path(__file__).resolve().parent.parent


# ---- text ----------------------------------------------------------------------------------------


def test_english_tokens_are_lowercase_words_numbers_apostrophes_and_bangs():
    """English: lower-case words, numbers and apostrophes; <br /> removed; ! and ? kept."""
    assert text.tokenize_en("I didn't LOVE it<br /><br />10/10!? Really.") == ["i", "didn't", "love", "it", "10", "10", "!", "?", "really"]


def test_chinese_words_and_characters():
    """Chinese: jieba words by default, single characters on request; punctuation dropped except ！？."""
    words = text.tokenize_zh("房间很干净，服务不错！")
    assert "干净" in words and "，" not in words and "!" in words  # full-width ！ normalised (NFKC)
    assert text.tokenize_zh("房间很干净", mode="char") == ["房", "间", "很", "干", "净"]


def test_jieba_cache_goes_to_the_chosen_folder(tmp_path):
    """jieba's dictionary cache is written into GATESCOPE_CACHE and nowhere else chosen by jieba."""
    env = dict(os.environ, GATESCOPE_CACHE=str(tmp_path / "cache"))
    code = "from sentiment.text import tokenize_zh; print(tokenize_zh('酒店很好'))"
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT, capture_output=True, timeout=60)
    assert (tmp_path / "cache" / "jieba.cache").is_file()


@pytest.mark.parametrize("sample,lang", [("A fine film.", "en"), ("酒店很好", "zh"), ("酒店 hotel 很好", "zh"), ("123 !!", "unknown")])
def test_language_guess(sample, lang):
    """The language guess follows the share of CJK characters."""
    assert text.guess_language(sample) == lang


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.text(min_size=1, max_size=6), max_size=8), max_size=20), st.integers(1, 3), st.integers(2, 40))
def test_vocab_round_trips_exactly(token_lists, min_freq, max_size):
    """A Vocab has <pad>=0, <unk>=1, respects min frequency and max size, and survives JSON exactly."""
    v = text.Vocab.build(token_lists, min_freq, max_size)
    assert v.itos[:2] == ["<pad>", "<unk>"] and len(v) <= max(max_size, 2)
    assert text.Vocab.from_json(v.to_json()) == v


# ---- bad review text ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def en_model(tmp_path_factory):
    from conftest import make_checkpoint

    return checkpoint.load(make_checkpoint(tmp_path_factory.mktemp("m") / "en", max_len=50))


@pytest.mark.parametrize("bad", ["", "   \n\t ", "😀😀🎉", "\x00\x01\x02"])
def test_text_with_nothing_to_read_is_refused(en_model, bad):
    """Empty, whitespace, emoji-only and control-character text give a clear InputError."""
    with pytest.raises(InputError, match="empty|No words"):
        predict(en_model, bad)


def test_a_megabyte_is_cut_with_a_note(en_model):
    """A 1 MB paste predicts quickly and says it was cut to the model's max length."""
    t0 = time.time()
    p = predict(en_model, "good film " * 100_000)
    assert time.time() - t0 < 5 and p.tokens == 50 and "cut" in p.note


def test_html_mixed_scripts_and_other_language(en_model):
    """HTML is stripped; Chinese text through an English model is flagged in the note or refused."""
    assert predict(en_model, "<b>good</b> film<br/>").tokens == 2
    assert "Chinese" in predict(en_model, "good film 非常好的电影，我很喜欢这部电影").note
    with pytest.raises(InputError):
        predict(en_model, "非常好的电影")


# ---- data --------------------------------------------------------------------------------------


def test_imdb_archive_read_in_place(imdb_path):
    """The aclImdb archive gives the official 25,000/25,000 split, balanced, without unpacking."""
    raw = data.read_imdb(imdb_path)
    for split in ("train", "test"):
        labels = [y for _, y in raw.official[split]]
        assert len(labels) == 25_000 and sum(labels) == 12_500
    with_br = next(t for t, _ in raw.official["train"] if "<br />" in t)  # the raw text is kept as published
    assert "br" not in text.tokenize_en(with_br)


def test_imdb_folder(tmp_path):
    """An aclImdb folder is read like the archive: labels from pos/ and neg/."""
    for split in ("train", "test"):
        for lab, rating in (("pos", 9), ("neg", 2)):
            d = tmp_path / "aclImdb" / split / lab
            d.mkdir(parents=True)
            (d / f"0_{rating}.txt").write_text(f"{lab} review", encoding="utf-8")
    raw = data.load(tmp_path)
    assert raw.official["train"] == [("pos review", 1), ("neg review", 0)]


def test_chnsenticorp_csv(hotel_path):
    """ChnSentiCorp: 7,765 reviews read, the one empty review skipped, labels 1/0."""
    raw = data.load(hotel_path)
    assert len(raw.examples) == 7_765 and raw.skipped == 1
    assert sum(y for _, y in raw.examples) == 5_322


def test_tutorial_file_with_unquoted_commas(data_dir):
    """hotel_discuss2.csv: BOM, no header, commas inside the review: 5,265 rows, 2,822 positive."""
    raw = data.load(data_dir / "hotel_discuss2.csv")
    assert len(raw.examples) == 5_265 and sum(y for _, y in raw.examples) == 2_822


def test_tsv_crlf_quoted_and_gbk(tmp_path):
    """Named columns in a TSV with CRLF, and a GBK-encoded CSV with quoted commas, are read."""
    (tmp_path / "a.tsv").write_bytes("text\tsentiment\r\ngreat film\tpositive\r\nawful\tnegative\r\n".encode())
    assert data.load(tmp_path / "a.tsv").examples == [("great film", 1), ("awful", 0)]
    (tmp_path / "b.csv").write_bytes('label,review\n1,"房间干净,服务好"\n0,很差\n'.encode("gbk"))
    assert data.load(tmp_path / "b.csv").examples == [("房间干净,服务好", 1), ("很差", 0)]


@pytest.mark.parametrize("content,message", [
    (b"", "empty"),
    (b"label,comment_id\n1,5\n", "no text column"),
    (b"stars,review\n1,good\n", "no label column"),
    (b"label,review\n1,good\n5,bad\n", "line 3: label '5'"),
    (b"label,review\n1,good\n\xff\xfe\xfa\xfb\n", "neither UTF-8 nor GB18030"),
])
def test_bad_csv_names_file_line_and_problem(tmp_path, content, message):
    """A bad CSV raises one DataError naming the file, the line and the problem."""
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as e:
        data.load(path)
    assert "bad.csv" in str(e.value)


def test_splits_are_deterministic_and_limit_spares_test(hotel_path, imdb_path):
    """Seeded 80/10/10 for CSV, official test for IMDB; --limit never touches the test split."""
    raw = data.load(hotel_path)
    a, b, c = data.split(raw, 0), data.split(raw, 0), data.split(raw, 1)
    assert a.test == b.test and a.test != c.test
    assert a.info["sizes"] == {"train": 6_213, "val": 776, "test": 776}
    lim = data.limit(a, 300, seed=0)
    assert len(lim.train) == 300 and lim.test == a.test
    imdb = data.split(data.read_imdb(imdb_path), 0)
    assert imdb.test == data.read_imdb(imdb_path).official["test"] and len(imdb.val) == 2_500


def test_buckets_cover_every_review_once_with_less_padding():
    """Length buckets hold every index exactly once and pad far less than arrival order."""
    lengths = [(i * 37) % 400 + 1 for i in range(2_000)]
    batches = data.bucket_batches(lengths, 32, shuffle=True, seed=3)
    assert sorted(i for b in batches for i in b) == list(range(2_000))
    pad = lambda bs: sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in bs)
    plain = [list(range(i, min(i + 32, 2_000))) for i in range(0, 2_000, 32)]
    assert pad(batches) < pad(plain) / 5
    ids, lens = data.collate([[5, 6, 7], [8]])
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and lens.tolist() == [3, 1]


# ---- model -------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional,layers", [(True, 2), (False, 1)])
def test_padding_never_changes_a_prediction(cell, pooling, bidirectional, layers):
    """A review alone and in a padded batch with longer reviews gives the same logits."""
    torch.manual_seed(0)
    m = SentimentRNN(ModelConfig(vocab_size=30, embed_dim=6, hidden_size=5, num_layers=layers, bidirectional=bidirectional,
                                 cell=cell, pooling=pooling, dropout=0.2)).eval()
    review = [3, 7, 2, 9]
    alone = m(*data.collate([review]))
    ids, lengths = data.collate([[4] * 11, review, [5, 6] * 4])
    with torch.no_grad():
        out = m.forward_full(ids, lengths)
    assert torch.allclose(out.logits[1], alone[0], atol=1e-5)
    assert float(out.pool.weights[1, 4:].abs().sum()) == 0.0  # no credit on pads
    assert torch.allclose(out.pool.weights.sum(1), torch.ones(3), atol=1e-5)
    if out.pool.winners is not None:
        assert int(out.pool.winners[1].max()) < 4


def test_last_pooling_reads_each_directions_final_step():
    """'last': the forward half at t = len-1, the backward half at t = 0."""
    torch.manual_seed(0)
    m = SentimentRNN(ModelConfig(vocab_size=30, embed_dim=4, hidden_size=3, cell="gru", pooling="last")).eval()
    ids, lengths = data.collate([[3, 4, 5], [6]])
    out = m.forward_full(ids, lengths)
    assert torch.equal(out.pool.pooled[0, :3], out.outputs[0, 2, :3]) and torch.equal(out.pool.pooled[0, 3:], out.outputs[0, 0, 3:])


# ---- checkpoints -------------------------------------------------------------------------------


def test_checkpoint_round_trip_and_never_overwritten(tmp_path, tiny_checkpoint):
    """Saved and loaded weights give identical logits; saving over an existing model is refused."""
    from conftest import make_checkpoint

    path = make_checkpoint(tmp_path / "m", cell="gru", pooling="attention")
    a = checkpoint.load(path)
    model = SentimentRNN(a.config)
    model.load_state_dict(a.model.state_dict())
    ids, lengths = data.collate([[2, 3, 4]])
    assert torch.equal(a.model(ids, lengths), model.eval()(ids, lengths))
    with pytest.raises(CheckpointError, match="never overwritten"):
        checkpoint.save(path, a.model, a.vocab, a.tokenizer, a.max_len, a.card)


def test_interrupted_save_leaves_nothing(tmp_path, monkeypatch, tiny_checkpoint):
    """A save that fails half-way leaves neither the target nor a temporary folder."""
    ck = tiny_checkpoint()
    monkeypatch.setattr(checkpoint, "_write_json", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        checkpoint.save(tmp_path / "new", ck.model, ck.vocab, ck.tokenizer, ck.max_len, {})
    assert list(tmp_path.iterdir()) == [] or all(not p.name.startswith((".new", "new")) for p in tmp_path.iterdir())


@pytest.mark.parametrize("name", checkpoint.FILES)
def test_missing_file_is_named(tmp_path, name):
    """A model folder missing any one of its four files gives an error naming that file."""
    from conftest import make_checkpoint

    path = make_checkpoint(tmp_path / "m")
    (path / name).unlink()
    with pytest.raises(CheckpointError, match=name):
        checkpoint.load(path)


@pytest.mark.parametrize("name", checkpoint.FILES)
def test_truncated_file_is_named(tmp_path, name):
    """A truncated weights, config, vocab or card file gives an error naming it."""
    from conftest import make_checkpoint

    path = make_checkpoint(tmp_path / "m")
    blob = (path / name).read_bytes()
    (path / name).write_bytes(blob[: len(blob) // 2])
    with pytest.raises(CheckpointError, match=name):
        checkpoint.load(path)


# ---- command line ------------------------------------------------------------------------------


def run_cli(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, hotel_path):
    out = tmp_path_factory.mktemp("train") / "model"
    r = run_cli("sentiment.train", "--data", str(hotel_path), "--limit", "300", "--epochs", "1", "--hidden", "8",
                "--embed", "8", "--max-len", "40", "--seed", "3", "--out", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    return out


def test_train_writes_a_complete_card(trained):
    """A tiny training run writes a loadable checkpoint whose card says how it was made and how it scored."""
    card = checkpoint.load(trained).card
    for key in ("dataset", "format", "split_seed", "sizes", "test_size", "epochs", "train_seconds", "device", "torch", "date", "command"):
        assert key in card, key
    assert card["sizes"]["train"] == 300 and card["test_size"] == 776 and 0 <= card["test_accuracy"] <= 1


def test_evaluate_reproduces_the_card(trained, hotel_path):
    """evaluate --json rebuilds the card's split and finds the card's test accuracy."""
    r = run_cli("sentiment.evaluate", "--model", str(trained), "--data", str(hotel_path), "--json")
    result = json.loads(r.stdout)
    assert set(result) >= {"accuracy", "n", "confusion"}
    assert result["accuracy"] == pytest.approx(checkpoint.read_card(trained)["test_accuracy"], abs=1e-9)


def test_training_is_reproducible_on_cpu(trained, hotel_path, tmp_path):
    """The same seed on the CPU gives the same weights."""
    again = tmp_path / "again"
    r = run_cli("sentiment.train", "--data", str(hotel_path), "--limit", "300", "--epochs", "1", "--hidden", "8",
                "--embed", "8", "--max-len", "40", "--seed", "3", "--out", str(again))
    assert r.returncode == 0
    a, b = checkpoint.load(trained).model.state_dict(), checkpoint.load(again).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_predict_prints_label_and_probability(trained):
    """predict --json prints a label and a probability per text; an empty text is an error line."""
    r = run_cli("sentiment.predict", "--model", str(trained), "--json", "房间很干净", "   ")
    first, second = (json.loads(line) for line in r.stdout.splitlines())
    assert first["label"] in ("positive", "negative") and 0.5 <= first["probability"] <= 1
    assert "empty" in second["error"] and r.returncode == 2


@pytest.mark.parametrize("args,message", [
    (["sentiment.train", "--data", "/nonexistent.csv", "--out", "/tmp/x-never"], "no such file"),
    (["sentiment.evaluate", "--model", "/nonexistent-model"], "no such model directory"),
    (["sentiment.predict", "--model", "/nonexistent-model", "hi"], "no such model directory"),
])
def test_cli_errors_are_one_clear_line(args, message):
    """Bad arguments exit 2 with 'error: ...' and no traceback."""
    r = run_cli(*args, timeout=60)
    assert r.returncode == 2 and "error:" in r.stderr and message in r.stderr and "Traceback" not in r.stderr


def test_train_refuses_an_existing_output(trained, hotel_path):
    """--out pointing at an existing model is refused before anything is trained."""
    r = run_cli("sentiment.train", "--data", str(hotel_path), "--out", str(trained), timeout=60)
    assert r.returncode == 2 and "already exists" in r.stderr and "Traceback" not in r.stderr


# ---- shipped models ----------------------------------------------------------------------------

SHIPPED = sorted(p for p in (ROOT / "assets" / "models").iterdir() if p.is_dir() and not p.name.startswith("."))
OBVIOUS = {
    "en": ("An absolute masterpiece. Brilliant acting, a moving story, I loved every minute of it.",
           "The worst film I have ever seen. Boring, stupid and a complete waste of time."),
    "zh": ("房间干净整洁，服务热情周到，早餐丰富，下次还会再来。", "房间又脏又小，服务态度极差，再也不会入住了。"),
}


def test_the_full_grid_is_shipped():
    """18 models: {imdb, hotel} x {lstm, gru} x four poolings, plus a vanilla RNN per dataset."""
    names = {p.name for p in SHIPPED}
    assert {f"{d}-{c}-{p}" for d in ("imdb", "hotel") for c in ("lstm", "gru") for p in POOLINGS} <= names
    assert any(n.startswith("imdb-rnn") for n in names) and any(n.startswith("hotel-rnn") for n in names)
    assert sum(f.stat().st_size for p in SHIPPED for f in p.iterdir()) <= 60e6


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_model_loads_fast_and_gets_the_obvious_right(path):
    """Each shipped model loads in under a second, has a complete card, and reads the obvious reviews right."""
    t0 = time.time()
    ck = checkpoint.load(path)
    assert time.time() - t0 < 1.0
    assert {"test_accuracy", "test_size", "dataset", "command", "split_seed"} <= set(ck.card)
    good, bad = OBVIOUS[ck.language]
    assert predict(ck, good).label == "positive"
    assert predict(ck, bad).label == "negative"
