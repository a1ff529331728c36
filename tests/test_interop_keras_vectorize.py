"""A Keras model that reads raw text through a TextVectorization layer: GateScope takes the layer's own
vocabulary from the .keras file, pads and cuts at the back as the layer does, and predicts as Keras.

Keras builds a TextVectorization layer only with TensorFlow installed, which GateScope's tests do not
install. So the model after the layer (Embedding, LSTM, Dense) is a real Keras model saved by Keras,
and the layer itself is written into the file as Keras' saving code writes an adapted one: its
``get_config()`` entry in config.json (``vocabulary`` None once adapted) and its vocabulary, special
tokens first, in ``assets/layers/text_vectorization/vocabulary.txt``
(keras/src/layers/preprocessing/text_vectorization.py, index_lookup.py ``save_assets``). Keras' own
prediction is made on the ids that vocabulary gives (out-of-vocabulary 1, padded with 0 at the back).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is imported: no TensorFlow

import json
import zipfile

import numpy as np
import pytest

from sentiment.interop.convert import convert  # noqa: E402
from sentiment.modeling import checkpoint  # noqa: E402
from sentiment.training.evaluate import predict_ids  # noqa: E402

keras = pytest.importorskip("keras", reason="Keras (on torch) computes these tests' expected numbers: pip install -e .[dev]")
from keras import layers  # noqa: E402

SEQ = 12  # the layer's output_sequence_length
WORDS = ["the", "movie", "was", "great", "bad", "acting", "plot", "boring", "loved", "it", "not", "a"]
VOCAB = ["", "[UNK]"] + WORDS  # get_vocabulary(include_special_tokens=True): mask, OOV, then by frequency


def _vectorization_config() -> dict:
    return {"module": "keras.layers", "class_name": "TextVectorization", "registered_name": None, "config": {
        "name": "text_vectorization", "trainable": True, "dtype": "string", "max_tokens": len(VOCAB),
        "standardize": "lower_and_strip_punctuation", "split": "whitespace", "ngrams": None, "output_mode": "int",
        "output_sequence_length": SEQ, "pad_to_max_tokens": False, "sparse": False, "ragged": False,
        "vocabulary": None, "idf_weights": None, "encoding": "utf-8", "vocabulary_size": len(VOCAB)}}


def _with_vectorization(src, dst) -> None:
    """A copy of a saved .keras file with an adapted TextVectorization layer first, as Keras writes one."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            raw = zin.read(item.filename)
            if item.filename == "config.json":
                cfg = json.loads(raw)
                body = cfg["config"]["layers"]
                if body and body[0]["class_name"] == "InputLayer":
                    body[0]["config"].update(batch_shape=[None], dtype="string")
                body.insert(1, _vectorization_config())
                raw = json.dumps(cfg).encode()
            zout.writestr(item, raw)
        zout.writestr("assets/layers/text_vectorization/vocabulary.txt", "\n".join(VOCAB))


def _ids(text: str) -> list[int]:
    """What the adapted layer gives: lower case, punctuation stripped, split on spaces, OOV 1, padded or cut at the back."""
    words = "".join(ch for ch in text.lower() if ch.isalnum() or ch.isspace()).split()
    ids = [VOCAB.index(w) if w in VOCAB else 1 for w in words][:SEQ]
    return ids + [0] * (SEQ - len(ids))


@pytest.mark.slow
def test_a_text_vectorization_model_reads_its_own_vocabulary_and_predicts_as_keras(tmp_path):
    keras.utils.set_random_seed(3)
    m = keras.Sequential([keras.Input((SEQ,), dtype="int32"), layers.Embedding(len(VOCAB), 6),
                          layers.LSTM(5), layers.Dense(1, activation="sigmoid")])
    rng = np.random.default_rng(3)
    m.set_weights([w + rng.normal(0, 0.5, w.shape).astype("float32") for w in m.get_weights()])
    m.save(tmp_path / "body.keras")
    _with_vectorization(tmp_path / "body.keras", tmp_path / "m.keras")

    path, s = convert(tmp_path / "m.keras", tmp_path / "ck")  # no --vocab: the file holds it
    ckpt = checkpoint.load(path)
    texts = ["The movie was great!", "Boring plot, bad acting.", "I loved it", "not a great movie at all, the plot "
             "was boring and the acting was bad and it was not what I loved", "zebra quantum"]
    assert ckpt.config.padding == "post" and ckpt.config.truncating == "post"
    assert [ckpt.encode_ids(t) for t in texts] == [_ids(t) for t in texts]
    ref = m.predict(np.array([_ids(t) for t in texts]), verbose=0)[:, 0]
    ours = predict_ids(ckpt.model, [ckpt.encode_ids(t) for t in texts])[:, 1].numpy()
    assert np.abs(ours - ref).max() < 1e-5
    assert any("TextVectorization" in line for line in s.found)
