"""Other Keras chains GateScope reads, each exact to Keras within 1e-5 (random weights, short input):
SimpleRNN with mean pooling, stacked bidirectional LSTMs with a hidden Dense layer, a Functional
model, a Masking layer that masks the pad row, and Bidirectional's merge modes sum / ave / mul (at
every step before pooling over time, and on the final states)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is imported: no TensorFlow

import json

import numpy as np
import pytest

from sentiment.interop.convert import convert  # noqa: E402
from sentiment.modeling import checkpoint  # noqa: E402
from sentiment.training.evaluate import predict_ids  # noqa: E402

keras = pytest.importorskip("keras", reason="Keras (on torch) computes these tests' expected numbers: pip install -e .[dev]")
from keras import layers  # noqa: E402

V, T = 60, 24


def _sequential(*body):
    return keras.Sequential([keras.Input((T,), dtype="int32"), layers.Embedding(V, 6), *body])


def _functional():
    inp = keras.Input((T,), dtype="int32")
    x = layers.Embedding(V, 6)(inp)
    x = layers.SpatialDropout1D(0.2)(x)
    x = layers.GRU(5, reset_after=True)(x)
    return keras.Model(inp, layers.Dense(2, activation="softmax")(x))


def _masking():
    m = _sequential(layers.Masking(0.0), layers.LSTM(4), layers.Dense(1, activation="sigmoid"))
    return m


CHAINS = {
    "simplernn-mean": lambda: _sequential(layers.SimpleRNN(5, return_sequences=True), layers.GlobalAveragePooling1D(),
                                          layers.Dense(1, activation="sigmoid")),
    "stacked-bilstm": lambda: _sequential(layers.Bidirectional(layers.LSTM(4, return_sequences=True)),
                                          layers.Bidirectional(layers.LSTM(4)), layers.Dropout(0.3),
                                          layers.Dense(3, activation="tanh"), layers.Dense(1, activation="sigmoid")),
    "functional-gru": _functional,
    "masking": _masking,
    "bigru-sum-max": lambda: _sequential(layers.Bidirectional(layers.GRU(5, return_sequences=True), merge_mode="sum"),
                                         layers.GlobalMaxPooling1D(), layers.Dense(1, activation="sigmoid")),
    "bilstm-ave-final-states": lambda: _sequential(layers.Bidirectional(layers.LSTM(4), merge_mode="ave"),
                                                   layers.Dense(2, activation="softmax")),
    "stacked-bilstm-mul-mean": lambda: _sequential(layers.Bidirectional(layers.LSTM(4, return_sequences=True)),
                                                   layers.Bidirectional(layers.LSTM(4, return_sequences=True), merge_mode="mul"),
                                                   layers.GlobalAveragePooling1D(), layers.Dense(1, activation="sigmoid")),
}
MERGED = [n for n in CHAINS if "-sum-" in n or "-ave-" in n or "-mul-" in n]


def _converted(tmp_path, name):
    """The chain with seeded random weights, saved by Keras and converted: (Keras model, checkpoint, the rng)."""
    keras.utils.set_random_seed(1)
    m = CHAINS[name]()
    rng = np.random.default_rng(0)
    ws = [w + rng.normal(0, 0.4, w.shape).astype("float32") for w in m.get_weights()]
    if name == "masking":
        ws[0][0] = 0.0  # the pad row is all mask_value: Masking then masks exactly the padding
    m.set_weights(ws)
    m.save(tmp_path / "m.keras")
    (tmp_path / "index.json").write_text(json.dumps({f"w{i}": i for i in range(1, 100)}))
    return m, checkpoint.load(convert(tmp_path / "m.keras", tmp_path / "ck", tmp_path / "index.json")[0]), rng


@pytest.mark.parametrize("name", list(CHAINS))
@pytest.mark.slow
def test_keras_chain_predicts_as_keras(tmp_path, name):
    m, ckpt, rng = _converted(tmp_path, name)
    texts = [" ".join(f"w{j}" for j in rng.integers(1, 80, rng.integers(1, 35))) for _ in range(40)]
    seqs = [[1] + [int(w[1:]) + 3 if int(w[1:]) + 3 < V else 2 for w in t.split()] for t in texts]
    x = keras.utils.pad_sequences(seqs, maxlen=T)
    assert [ckpt.encode_ids(t) for t in texts] == x.tolist() or ckpt.config.padding == "none"
    ref = m.predict(x, verbose=0)
    ref = ref[:, 0] if ref.shape[1] == 1 else ref[:, 1]
    ours = predict_ids(ckpt.model, [ckpt.encode_ids(t) for t in texts])[:, 1].numpy()
    assert np.abs(ours - ref).max() < 1e-5




@pytest.mark.parametrize("name", MERGED)
@pytest.mark.slow
def test_a_merged_model_is_traced_and_its_trace_predicts_as_keras(tmp_path, name):
    """The probe runs the merged head too: the trace's probability is Keras' own, its top-layer h_t are
    each direction's (2 x H), and the pooling credit of a merge over time reads as weights over tokens."""
    from sentiment.figures.reading import pooling_credit
    from sentiment.probe import trace

    m, ckpt, _ = _converted(tmp_path, name)
    assert ckpt.config.merge in ("sum", "ave", "mul")
    text = "w3 w7 w11 w2 w40 w9"
    x = keras.utils.pad_sequences([[1] + [int(w[1:]) + 3 for w in text.split()]], maxlen=T)
    ref = m.predict(x, verbose=0)
    ref = ref[0, 0] if ref.shape[1] == 1 else ref[0, 1]
    tr = trace(ckpt, text, prefix=False, occlusion=False)
    assert abs(float(tr.probs[1]) - float(ref)) < 1e-5
    assert [lt.direction for lt in tr.layers[-2:]] == ["forward", "backward"]
    assert all(lt.gates["h"].shape[-1] == ckpt.config.hidden_size for lt in tr.layers)
    credit = pooling_credit(tr)
    assert all(len(v) == len(tr.tokens) for v in credit.values())
