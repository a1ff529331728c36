"""Keras 3 models (backend torch, no TensorFlow) opened in GateScope: predictions and every h_t
equal Keras' own within 1e-5, padding steps included where the model reads them."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is imported: no TensorFlow

import json

import numpy as np
import pytest

from sentiment.interop.convert import convert  # noqa: E402
from sentiment.modeling import checkpoint  # noqa: E402
from sentiment.probe.instrument import trace  # noqa: E402
from sentiment.training.evaluate import predict_ids  # noqa: E402
from tests._interop import imdb_slice, keras_ids, word_index

keras = pytest.importorskip("keras", reason="Keras (on torch) computes these tests' expected numbers: pip install -e .[dev]")
from keras import layers  # noqa: E402

NUM_WORDS, MAXLEN = 10_000, 500


@pytest.fixture(scope="module")
def imdb(imdb_path):
    train, test = imdb_slice(str(imdb_path), 400, 200)
    index = word_index([t for t, _ in train])
    return train, test, index


@pytest.fixture(scope="module")
def files(tmp_path_factory, imdb):
    """Seed 4's model trained one short epoch (one step: Keras' LSTM on a CPU is a Python loop over
    the 500 steps) on 128 real IMDB reviews, saved as .keras and .h5, with the word index as
    keras.datasets.imdb.get_word_index() gives it."""
    train, _, index = imdb
    d = tmp_path_factory.mktemp("keras")
    keras.utils.set_random_seed(4)
    m = keras.Sequential([keras.Input((MAXLEN,), dtype="int32"), layers.Embedding(NUM_WORDS, 32),
                          layers.LSTM(32), layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])
    x = keras_ids([t for t, _ in train[:128]], index, NUM_WORDS, MAXLEN)
    m.fit(x, np.array([y for _, y in train[:128]]), epochs=1, batch_size=128, verbose=0)
    m.save(d / "seed4.keras")
    m.save(d / "seed4.h5")
    (d / "imdb_word_index.json").write_text(json.dumps(index))
    return d, m


def _probs(ckpt, texts):
    return predict_ids(ckpt.model, [ckpt.encode_ids(t) for t in texts])[:, 1].numpy()


def _keras_p(m, x):
    p = m.predict(x, verbose=0, batch_size=200)
    return p[:, 0] if p.shape[1] == 1 else p[:, 1]


@pytest.mark.parametrize("ext", ["keras", "h5"])
@pytest.mark.slow
def test_seed4_predicts_what_keras_predicts_on_200_test_reviews(files, imdb, tmp_path, ext):
    d, m = files
    _, test, index = imdb
    texts = [t for t, _ in test]
    out, s = convert(d / f"seed4.{ext}", tmp_path / "m", d / "imdb_word_index.json")
    ckpt = checkpoint.load(out)
    x = keras_ids(texts, index, NUM_WORDS, MAXLEN)
    assert [ckpt.encode_ids(t) for t in texts[:20]] == x[:20].tolist()  # front padding and cutting, start id 1
    diff = np.abs(_probs(ckpt, texts) - _keras_p(m, x)).max()
    print(f"keras seed4 .{ext}: max |P - keras| = {diff:.3g}")
    assert diff < 1e-5
    assert (s.padding, s.truncating, s.max_len, s.head) == ("pre", "pre", 500, "sigmoid")
    card = checkpoint.read_card(out)
    assert card["imported"]["framework"] == "keras" and len(card["imported"]["sha256"]) == 64


@pytest.mark.slow
def test_seed4_trace_reads_the_front_padding_and_its_h_equals_keras_lstm_outputs(files, imdb, tmp_path):
    d, m = files
    _, test, index = imdb
    ckpt = checkpoint.load(convert(d / "seed4.keras", tmp_path / "m", d / "imdb_word_index.json")[0])
    sub = keras.Sequential([keras.Input((MAXLEN,), dtype="int32"), layers.Embedding(NUM_WORDS, 32),
                            layers.LSTM(32, return_sequences=True)])
    sub.set_weights(m.get_weights()[:4])
    texts = sorted((t for t, _ in test), key=len)[:3]  # short reviews: most of the 500 steps are padding
    keras_h = sub.predict(keras_ids(texts, index, NUM_WORDS, MAXLEN), verbose=0)  # [3, 500, 32]
    for text, kh in zip(texts, keras_h):
        tr = trace(ckpt, text, prefix=False, occlusion=False)
        n_pad = sum(tr.padding)
        assert tr.length == 500 and tr.padding == [True] * n_pad + [False] * (500 - n_pad) and n_pad > 300
        assert tr.tokens[n_pad] == "<start>" and tr.tokens[0] == "<pad>"
        print(f"keras seed4 h_t ({n_pad} pad steps): max |h - keras| = {np.abs(tr.gate('h') - kh).max():.3g}")
        assert np.abs(tr.gate("h") - kh).max() < 1e-5
    full = trace(ckpt, texts[0])  # prefix and occlusion run over the padded frame too
    assert full.prefix_probs.shape == (500,)
    assert abs(full.prefix_probs[-1] - full.probs[1]) < 1e-5


def _bigru(d):
    """Untrained (Keras' CPU training is slow; the weights are random, the comparison as strict)."""
    keras.utils.set_random_seed(7)
    m = keras.Sequential([keras.Input((MAXLEN,), dtype="int32"), layers.Embedding(NUM_WORDS, 16),
                          layers.Bidirectional(layers.GRU(12, return_sequences=True, reset_after=True)),
                          layers.GlobalMaxPooling1D(), layers.Dropout(0.5), layers.Dense(8, activation="relu"),
                          layers.Dense(2, activation="softmax")])
    m.save(d / "bigru.keras")
    return m


@pytest.mark.slow
def test_a_bidirectional_gru_with_max_pooling_reads_padding_in_both_directions_as_keras(files, imdb, tmp_path):
    d, _ = files
    _, test, index = imdb
    m = _bigru(d)
    ckpt = checkpoint.load(convert(d / "bigru.keras", tmp_path / "m", d / "imdb_word_index.json")[0])
    assert (ckpt.config.cell, ckpt.config.bidirectional, ckpt.config.pooling, ckpt.config.hidden_dense) == ("gru", True, "max", 8)
    texts = [t for t, _ in test]
    x = keras_ids(texts, index, NUM_WORDS, MAXLEN)
    diff = np.abs(_probs(ckpt, texts) - _keras_p(m, x)).max()
    print(f"keras bigru: max |P - keras| = {diff:.3g}")
    assert diff < 1e-5
    sub = keras.Sequential([keras.Input((MAXLEN,), dtype="int32"), layers.Embedding(NUM_WORDS, 16),
                            layers.Bidirectional(layers.GRU(12, return_sequences=True, reset_after=True))])
    sub.set_weights(m.get_weights()[:7])
    kh = sub.predict(x[:2], verbose=0)  # [2, 500, 24]: forward then backward units
    for b in range(2):
        tr = trace(ckpt, texts[b], prefix=False, occlusion=False)
        h = np.concatenate([tr.gate("h", 0, "forward"), tr.gate("h", 0, "backward")], -1)
        print(f"keras bigru h_t: max |h - keras| = {np.abs(h - kh[b]).max():.3g}")
        assert np.abs(h - kh[b]).max() < 1e-5


@pytest.mark.slow
def test_a_mask_zero_model_reads_no_padding_and_matches_keras(files, imdb, tmp_path):
    d, _ = files
    _, test, index = imdb
    keras.utils.set_random_seed(3)
    m = keras.Sequential([keras.Input((MAXLEN,), dtype="int32"), layers.Embedding(NUM_WORDS, 16, mask_zero=True),
                          layers.LSTM(10), layers.Dense(1, activation="sigmoid")])
    m.set_weights([w + np.random.default_rng(3).normal(0, 0.2, w.shape).astype("float32") for w in m.get_weights()])
    x = keras_ids([t for t, _ in test], index, NUM_WORDS, MAXLEN)
    m.save(d / "masked.keras")
    ckpt = checkpoint.load(convert(d / "masked.keras", tmp_path / "m", d / "imdb_word_index.json")[0])
    assert ckpt.config.padding == "none" and not ckpt.config.reads_padding
    texts = [t for t, _ in test]
    diff = np.abs(_probs(ckpt, texts) - _keras_p(m, x)).max()
    print(f"keras mask_zero: max |P - keras| = {diff:.3g}")
    assert diff < 1e-5
    sub = keras.Sequential([keras.Input((MAXLEN,), dtype="int32"), layers.Embedding(NUM_WORDS, 16, mask_zero=True),
                            layers.LSTM(10, return_sequences=True)])
    sub.set_weights(m.get_weights()[:4])
    kh = sub.predict(x[:1], verbose=0)[0]  # [500, 10]
    tr = trace(ckpt, texts[0], prefix=False, occlusion=False)
    assert tr.padding is None and tr.length == int((x[0] != 0).sum())
    print(f"keras mask_zero h_t: max |h - keras| = {np.abs(tr.gate('h') - kh[MAXLEN - tr.length:]).max():.3g}")
    assert np.abs(tr.gate("h") - kh[MAXLEN - tr.length:]).max() < 1e-5  # the real steps, at the end
