"""Verified import (issue 21, item 5): a few of the framework's own outputs decide what the weights do
not say, and GateScope converts only a reading that reproduces every one of them within 1e-4.

The frameworks compute the expected numbers: a student's PyTorch Embedding -> LSTM -> Linear(h[-1])
fed one review at its own length (no padding), a Keras model fed pad_sequences(maxlen=200) at the
front, a Paddle bidirectional LSTM with padding_idx and a pretrained pad row. Models are tiny and
barely trained: the comparisons are as strict either way."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is imported: no TensorFlow backend

import json
import re
from collections import Counter

import numpy as np
import pytest
import torch
from torch import nn

from sentiment.errors import InputError
from sentiment.interop import live, verify
from sentiment.interop.convert import convert, main
from sentiment.modeling import checkpoint
from sentiment.modeling.predict import predict
from tests._interop import hotel_lines, imdb_slice, keras_ids, word_index, words

# Both at collection, Keras (on torch) first: Paddle imported after TensorFlow has run crashes the process.
keras = pytest.importorskip("keras", reason="Keras (on torch) computes these tests' expected numbers: pip install -e .[dev]")
paddle = pytest.importorskip("paddle", reason="PaddlePaddle computes these tests' expected numbers: pip install -e .[dev]")
from keras import layers  # noqa: E402


class Student(nn.Module):
    """The model of a student's first PyTorch notebook: the last hidden state to a linear layer."""

    def __init__(self, vocab_size: int, embed: int = 16, hidden: int = 16):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 2)

    def forward(self, x):
        _, (h, _) = self.lstm(self.emb(x))
        return self.fc(h[-1])


def first_sentences(reviews, n: int = 5) -> list[str]:
    """Short texts (a review's first sentence): with few tokens, pads read or not change P(positive)."""
    out = []
    for text, _ in reviews:
        s = re.split(r"(?<=[.!?])\s", text.replace("<br />", " "))[0]
        if 3 <= len(words(s)) <= 40:
            out.append(s)
    return out[:n]


def examples_texts(reviews) -> list[str]:
    """Five texts as a user would pick them: four short ones and one long review (over 300 words, so
    that where and how long the model cut it is seen)."""
    return first_sentences(reviews, 4) + [next(t for t, _ in reviews if len(words(t)) > 300)]


@pytest.fixture(scope="module")
def imdb(imdb_path):
    return imdb_slice(str(imdb_path), 200, 60)


@pytest.fixture(scope="module")
def student(imdb, tmp_path_factory):
    """The student's model trained a few steps, one review at a time at its own length (no padding),
    its state_dict and its word -> id vocabulary."""
    train, _ = imdb
    d = tmp_path_factory.mktemp("student")
    counts = Counter(w for t, _ in train for w in words(t))
    stoi = {w: i for i, w in enumerate(["<pad>", "<unk>"] + [w for w, _ in counts.most_common(1500)])}
    torch.manual_seed(0)
    model = Student(len(stoi))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for text, y in train[:24]:
        loss = nn.functional.cross_entropy(model(torch.tensor([encode(stoi, text)])), torch.tensor([y]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    torch.save(model.state_dict(), d / "student.pt")
    (d / "vocab.json").write_text(json.dumps(stoi), encoding="utf-8")
    return d, model, stoi


def encode(stoi: dict, text: str) -> list[int]:
    return [stoi.get(w, 1) for w in words(text)]


@torch.no_grad()
def student_p(model, stoi, text: str) -> float:
    return torch.softmax(model(torch.tensor([encode(stoi, text)])), -1)[0, 1].item()


def write_examples(path, texts, probs) -> None:
    path.write_text("".join(json.dumps({"text": t, "positive": float(p)}) + "\n" for t, p in zip(texts, probs)),
                    encoding="utf-8")


# ---- the examples file -------------------------------------------------------------------------------


def test_examples_are_read_from_json_lines_with_blank_lines_skipped():
    ex = verify.read_examples('{"text": "a fine film", "positive": 0.93125}\n\n{"ids": [4, 5], "logits": [-1.5, 2]}\n')
    assert [(e.line, e.text, e.positive, e.logits, e.ids) for e in ex] == [
        (1, "a fine film", 0.93125, None, None), (3, None, None, [-1.5, 2.0], [4, 5])]
    assert ex[0].tolerance == verify.TOLERANCE


@pytest.mark.parametrize("line, words_", [
    ('{"text": "ok", "positive": 0.5', "not JSON"),
    ('[1, 2]', "expected a JSON object"),
    ('{"text": "ok"}', '"positive"'),
    ('{"positive": 0.5}', '"text"'),
    ('{"text": "ok", "positive": 1.5}', "from 0 to 1"),
    ('{"text": "ok", "logits": [1, 2, 3]}', "1 or 2 finite numbers"),
    ('{"ids": [1, -2], "positive": 0.5}', "whole numbers from 0"),
    ('{"text": "", "positive": 0.5}', "non-empty string"),
    ('{"text": "ok", "postive": 0.5}', "unknown key 'postive'"),
    ('{"text": "ok", "positive": 0.9, "logits": [0.0, 0.0]}', "disagree"),
])
def test_every_bad_line_is_named_by_its_number(line, words_):
    text = '{"text": "fine", "positive": 0.25}\n' + line + "\n"
    with pytest.raises(InputError) as e:
        verify.read_examples(text)
    assert str(e.value).startswith("examples line 2:") and words_ in str(e.value), str(e.value)


def test_an_examples_file_is_bounded_before_it_is_read(tmp_path):
    big = tmp_path / "big.jsonl"
    big.write_text('{"text": "fine", "positive": 0.25}\n' * (verify.MAX_LINES + 1), encoding="utf-8")
    with pytest.raises(InputError, match="at most 1,000"):
        verify.read_examples(big)
    with pytest.raises(InputError, match="at most 1,048,576"):
        verify.read_examples("\n" + "x" * (verify.MAX_BYTES + 1))
    with pytest.raises(InputError, match="no such examples file"):
        verify.read_examples(tmp_path / "missing.jsonl")
    with pytest.raises(InputError, match="no examples"):
        verify.read_examples("\n\n")


def test_a_value_printed_with_three_decimals_is_compared_to_its_precision():
    ex = verify.read_examples('{"text": "a", "positive": 0.532}\n{"text": "b", "positive": 5.3214e-1}')
    assert ex[0].tolerance == pytest.approx(5e-4) and ex[1].tolerance == verify.TOLERANCE


# ---- (a) the student's PyTorch model: fed with no padding ---------------------------------------------


@pytest.mark.slow
def test_the_students_state_dict_with_five_of_its_outputs_is_reproduced_and_verified(student, imdb, tmp_path,
                                                                                      capsys):
    d, model, stoi = student
    _, test = imdb
    texts = examples_texts(test)
    write_examples(tmp_path / "ex.jsonl", texts, [student_p(model, stoi, t) for t in texts])
    rc = main([str(d / "student.pt"), "--out", str(tmp_path / "m"), "--vocab", str(d / "vocab.json"),
               "--check", str(tmp_path / "ex.jsonl")])
    out = capsys.readouterr().out
    assert rc == 0, out
    card = checkpoint.read_card(tmp_path / "m")
    v = card["verified"]
    print(f"student: {v}")
    assert v["examples"] == 5 and v["max_diff"] < 1e-4 and v["framework"] == "pytorch"
    assert v["facts_found"]["padding"] == "masked"  # one review at its own length: no pads read
    assert f"verified against pytorch on 5 reviews (largest difference {v['max_diff']:.2g})" in out
    assert "found by check" in out
    ckpt = checkpoint.load(tmp_path / "m")
    others = [t for t, _ in test[5:25]]  # whole reviews it was not checked on
    diff = max(abs(predict(ckpt, t).positive - student_p(model, stoi, t)) for t in others)
    print(f"student, 20 other reviews: max |P - torch| = {diff:.3g}")
    assert diff < 1e-4


@pytest.mark.slow
def test_without_check_the_printout_says_not_verified_and_what_was_assumed(student, tmp_path, capsys):
    d, *_ = student
    rc = main([str(d / "student.pt"), "--out", str(tmp_path / "m"), "--vocab", str(d / "vocab.json")])
    out = capsys.readouterr().out
    assert rc == 0
    line = next(x for x in out.splitlines() if x.startswith("not verified: assumed "))
    for fact in ("max_len", "padding", "reduction", "tanh"):
        assert fact in line
    assert "run with --check EXAMPLES" in line
    assert checkpoint.read_card(tmp_path / "m")["verified"] is None


@pytest.mark.slow
def test_examples_with_ids_pin_the_framing(student, imdb, tmp_path):
    """"ids" (what the student's pipeline fed the model) decide the tokenizer and framing."""
    d, model, stoi = student
    _, test = imdb
    texts = first_sentences(test[10:])
    ex = [{"text": t, "ids": encode(stoi, t), "positive": student_p(model, stoi, t)} for t in texts]
    out, _ = convert(d / "student.pt", tmp_path / "m", d / "vocab.json", check=ex)
    v = checkpoint.read_card(out)["verified"]
    assert v["max_diff"] < 1e-4 and v["facts_found"]["padding"] == "masked"


# ---- (d) examples nothing reproduces; (e) a bad examples file --------------------------------------------


@pytest.mark.slow
def test_another_models_outputs_are_refused_naming_the_closest_reading_and_forced_is_unverified(student, imdb,
                                                                                                  tmp_path, capsys):
    d, _, stoi = student
    _, test = imdb
    torch.manual_seed(1)
    other = Student(len(stoi)).eval()  # not the model in the file
    texts = first_sentences(test)
    write_examples(tmp_path / "ex.jsonl", texts, [student_p(other, stoi, t) for t in texts])
    with pytest.raises(InputError) as e:
        convert(d / "student.pt", tmp_path / "m", d / "vocab.json", check=tmp_path / "ex.jsonl")
    msg = str(e.value)
    print(msg)
    assert e.value.code == "verify.none_reproduces" and "the closest (" in msg and "is off by" in msg
    assert "--force" in msg and not (tmp_path / "m").exists()
    rc = main([str(d / "student.pt"), "--out", str(tmp_path / "m"), "--vocab", str(d / "vocab.json"),
               "--check", str(tmp_path / "ex.jsonl"), "--force"])
    out = capsys.readouterr().out
    assert rc == 0
    card = checkpoint.read_card(tmp_path / "m")
    assert card["verified"] is None and card["unverified"]["max_diff"] > 1e-4 and card["unverified"]["closest"]
    assert "not verified: no reading reproduced the 5 examples" in out


@pytest.mark.slow  # over a second on a quiet 2-core CPU (fast-tier durations, 2026-12-07)
def test_a_bad_examples_file_is_one_line_with_its_line_number_and_nothing_is_written(student, tmp_path, capsys):
    d, *_ = student
    (tmp_path / "ex.jsonl").write_text('{"text": "fine", "positive": 0.2}\n{"text": "bad", "positive": "high"}\n',
                                       encoding="utf-8")
    rc = main([str(d / "student.pt"), "--out", str(tmp_path / "m"), "--vocab", str(d / "vocab.json"),
               "--check", str(tmp_path / "ex.jsonl")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert 'examples line 2: "positive" must be a number from 0 to 1' in err
    assert not (tmp_path / "m").exists()


# ---- (f) a live model in a notebook ----------------------------------------------------------------------


@pytest.mark.slow
def test_open_model_verifies_a_live_torch_module_against_itself(student, imdb, tmp_path, monkeypatch):
    import sentiment

    monkeypatch.setenv("GATESCOPE_CACHE", str(tmp_path / "cache"))
    _, model, stoi = student
    _, test = imdb
    was = model.train()  # left in training mode by the student: GateScope runs it in eval and restores it
    m = sentiment.open_model(model, vocab=stoi, encode=lambda t: encode(stoi, t))
    assert was.training and model.training
    model.eval()
    assert m.verified["examples"] == len(live.TEXTS["en"]) and m.verified["max_diff"] < 1e-4
    assert m.verified["facts_found"]["padding"] == "masked"
    text = test[30][0]
    assert abs(m.predict(text).positive - student_p(model, stoi, text)) < 1e-4
    with pytest.raises(InputError, match="encode=fn"):
        sentiment.open_model(model, vocab=stoi)


@pytest.mark.slow
def test_open_model_checks_a_file_against_examples(student, imdb, tmp_path, monkeypatch):
    import sentiment

    monkeypatch.setenv("GATESCOPE_CACHE", str(tmp_path / "cache"))
    d, model, stoi = student
    _, test = imdb
    texts = examples_texts(test)
    examples = [{"text": t, "positive": student_p(model, stoi, t)} for t in texts]
    m = sentiment.open_model(d / "student.pt", vocab=d / "vocab.json", check=examples)
    assert m.verified["examples"] == 5 and m.verified["facts_found"]["padding"] == "masked"
    assert sentiment.open_model(d / "student.pt", vocab=d / "vocab.json").verified is None
    bad = [dict(e, positive=1 - e["positive"]) for e in examples]
    with pytest.raises(InputError, match="no reading reproduces"):
        sentiment.open_model(d / "student.pt", vocab=d / "vocab.json", check=bad)
    assert len(list((tmp_path / "cache" / "imported").iterdir())) == 2  # nothing cached for the refused one


# ---- (b) Keras, padded to 200 at the front; (c) Paddle with padding_idx -----------------------------------


@pytest.mark.slow
def test_a_keras_model_padded_to_200_at_the_front_is_reproduced_from_text_and_positive(imdb, tmp_path):
    train, test = imdb
    index = word_index([t for t, _ in train])
    keras.utils.set_random_seed(4)
    m = keras.Sequential([keras.Input((None,), dtype="int32"), layers.Embedding(2000, 16), layers.LSTM(8),
                          layers.Dense(1, activation="sigmoid")])  # no input length in the file: 500 assumed
    rng = np.random.default_rng(3)
    m.set_weights([w + rng.normal(0, 0.3, w.shape).astype("float32") for w in m.get_weights()])
    m.save(tmp_path / "imdb.keras")
    (tmp_path / "index.json").write_text(json.dumps(index), encoding="utf-8")
    texts = examples_texts(test)
    probs = m.predict(keras_ids(texts, index, 2000, 200), verbose=0)[:, 0]  # pad_sequences(maxlen=200)
    write_examples(tmp_path / "ex.jsonl", texts, probs)
    out, s = convert(tmp_path / "imdb.keras", tmp_path / "m", tmp_path / "index.json", check=tmp_path / "ex.jsonl")
    v = checkpoint.read_card(out)["verified"]
    print(f"keras: {v}")
    assert v["examples"] == 5 and v["max_diff"] < 1e-4
    ckpt = checkpoint.load(out)
    others = [t for t, _ in test[5:25]]
    ref = m.predict(keras_ids(others, index, 2000, 200), verbose=0)[:, 0]
    ours = np.array([predict(ckpt, t).positive for t in others])
    print(f"keras, 20 other reviews: max |P - keras| = {np.abs(ours - ref).max():.3g}")
    assert np.abs(ours - ref).max() < 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("padding_idx", [True, False])
def test_a_paddle_model_with_or_without_padding_idx_is_reproduced(imdb, tmp_path, padding_idx):
    train, test = imdb
    ranks = word_index([t for t, _ in train])
    vocab = {w: r - 1 for w, r in ranks.items() if r <= 1500}
    vocab["<unk>"], vocab["<pad>"] = len(vocab), len(vocab) + 1
    pad = vocab["<pad>"]

    class Seeds(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            self.embedding = paddle.nn.Embedding(len(vocab), 16, padding_idx=pad if padding_idx else None)
            self.rnn = paddle.nn.LSTM(16, 12, num_layers=2, direction="bidirectional")
            self.fc = paddle.nn.Linear(24, 2)

        def forward(self, x):
            _, (h, _) = self.rnn(self.embedding(x))
            return paddle.nn.functional.softmax(self.fc(paddle.concat([h[-2], h[-1]], -1)), -1)

    paddle.seed(12)
    model = Seeds()
    w = model.embedding.weight.numpy()
    w[pad] = np.random.default_rng(0).normal(0, 1, w.shape[1])  # pretrained vectors loaded into the table
    model.embedding.weight.set_value(w)
    model.eval()
    paddle.save(model.state_dict(), str(tmp_path / "seeds.pdparams"))
    (tmp_path / "dict.json").write_text(json.dumps(vocab), encoding="utf-8")

    def ids(t, n=128):
        r = [vocab.get(x, vocab["<unk>"]) for x in words(t)][:n]
        return r + [pad] * (n - len(r))

    texts = examples_texts(test)
    probs = model(paddle.to_tensor(np.array([ids(t) for t in texts], dtype="int64"))).numpy()[:, 1]
    write_examples(tmp_path / "ex.jsonl", texts, probs)
    out, s = convert(tmp_path / "seeds.pdparams", tmp_path / "m", tmp_path / "dict.json", check=tmp_path / "ex.jsonl")
    v = checkpoint.read_card(out)["verified"]
    print(f"paddle padding_idx={padding_idx}: {v}")
    assert v["max_diff"] < 1e-4 and v["facts_found"].get("padding_idx", "?") == (pad if padding_idx else None)
    ckpt = checkpoint.load(out)
    others = [t for t, _ in test[5:25]]
    ref = model(paddle.to_tensor(np.array([ids(t) for t in others], dtype="int64"))).numpy()[:, 1]
    ours = np.array([predict(ckpt, t).positive for t in others])
    assert np.abs(ours - ref).max() < 1e-4


# ---- what a state dict does not hold, found: the head's facts; Chinese list(text) -----------------------


class Bentrevett(nn.Module):
    """A bidirectional LSTM read by cat(hidden[-2], hidden[-1]), a tanh hidden layer, fed padded at the
    back to 100 (pads read)."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, 8)
        self.rnn = nn.LSTM(8, 8, batch_first=True, bidirectional=True)
        self.hidden = nn.Linear(16, 8)
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        _, (h, _) = self.rnn(self.embedding(x))
        return self.fc(torch.tanh(self.hidden(torch.cat([h[-2], h[-1]], -1))))


@pytest.mark.slow
def test_the_reduction_hidden_activation_and_length_a_state_dict_does_not_hold_are_found(student, imdb, tmp_path):
    d, _, stoi = student
    _, test = imdb
    torch.manual_seed(5)
    model = Bentrevett(len(stoi)).eval()
    torch.save(model.state_dict(), tmp_path / "bi.pt")

    def fed(text: str) -> list[int]:
        ids = encode(stoi, text)[:100]
        return ids + [0] * (100 - len(ids))

    texts = examples_texts(test)
    with torch.no_grad():
        probs = torch.softmax(model(torch.tensor([fed(t) for t in texts])), -1)[:, 1].tolist()
    write_examples(tmp_path / "ex.jsonl", texts, probs)
    out, s = convert(tmp_path / "bi.pt", tmp_path / "m", d / "vocab.json", check=tmp_path / "ex.jsonl")
    v = checkpoint.read_card(out)["verified"]
    print(f"bidirectional, hidden tanh: {v}")
    assert v["max_diff"] < 1e-4
    assert {k: v["facts_found"][k] for k in ("reduction", "hidden_activation", "max_len", "padding")} == {
        "reduction": "final_states", "hidden_activation": "tanh", "max_len": 100, "padding": "post"}
    assert s.sources["hidden_activation"].startswith("found by check")


@pytest.mark.slow
def test_a_chinese_character_model_fed_list_text_is_found_from_five_hotel_reviews(data_dir, tmp_path):
    """Seed 3's model (tanh, the last step, 200 characters padded at the back) on list(text): every
    character, "，" and "。" included, which GateScope's own character tokenizer drops."""
    rows = hotel_lines(data_dir / "hotel_discuss2.csv")
    counts = Counter(c for t, _ in rows[:600] for c in t)
    itos = ["<pad>", "<unk>"] + [c for c, _ in counts.most_common(1200)]
    assert "，" in itos and "。" in itos
    (tmp_path / "vocab.txt").write_text("".join(c + "\n" for c in itos), encoding="utf-8")
    stoi = {c: i for i, c in enumerate(itos)}

    class Seed3(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(len(itos), 8, padding_idx=0)
            self.lstm = nn.LSTM(8, 8, batch_first=True)
            self.fc = nn.Linear(8, 2)

        def forward(self, x):
            return self.fc(torch.tanh(self.lstm(self.embedding(x))[0])[:, -1, :])

    def fed(text: str) -> list[int]:
        ids = [stoi.get(c, 1) for c in list(text)][:200]
        return ids + [0] * (200 - len(ids))

    torch.manual_seed(3)
    model = Seed3().eval()
    torch.save(model.state_dict(), tmp_path / "seed3.pt")
    # Reviews near or past 200 characters: the last step seed 3 reads is then a character, not a pad
    # (after ~100 pads every review gives the same P(positive), whatever its characters).
    texts = [t for t, _ in rows[-300:] if "，" in t and 190 <= len(t) <= 260][:5]
    with torch.no_grad():
        probs = torch.softmax(model(torch.tensor([fed(t) for t in texts])), -1)[:, 1].tolist()
    write_examples(tmp_path / "ex.jsonl", texts, probs)
    out, s = convert(tmp_path / "seed3.pt", tmp_path / "m", tmp_path / "vocab.txt", check=tmp_path / "ex.jsonl")
    v = checkpoint.read_card(out)["verified"]
    print(f"chinese list(text): {v}")
    assert v["max_diff"] < 1e-4 and v["facts_found"]["tokenizer"]["mode"] == "list" and v["facts_found"]["tanh"] is True
    ckpt = checkpoint.load(out)
    others = [t for t, _ in rows[-600:-300] if len(t) >= 150][:30]
    with torch.no_grad():
        ref = torch.softmax(model(torch.tensor([fed(t) for t in others])), -1)[:, 1]
    diff = max(abs(predict(ckpt, t).positive - float(p)) for t, p in zip(others, ref))
    print(f"chinese list(text), 30 other reviews: max |P - torch| = {diff:.3g}")
    assert diff < 1e-4


@pytest.mark.slow
def test_verifying_imports_neither_keras_nor_paddle():
    """Keras and Paddle are imported only when such a live object is passed (to save it and run it)."""
    import subprocess
    import sys

    code = ("import sys; [sys.modules.__setitem__(m, None) for m in ('keras', 'paddle', 'tensorflow', 'tf_keras')]; "
            "import sentiment.interop.api, sentiment.interop.verify, sentiment.interop.live, sentiment.interop.convert; "
            "print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]
