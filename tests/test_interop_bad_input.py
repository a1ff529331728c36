"""Bad model files: each refused with a clear message, and nothing written (no checkpoint folder,
no file a pickle asked for)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is imported: no TensorFlow

import pickle

import numpy as np
import pytest
import torch

from sentiment.errors import InputError  # noqa: E402
from sentiment.interop.convert import convert  # noqa: E402

keras = pytest.importorskip("keras", reason="Keras (on torch) computes these tests' expected numbers: pip install -e .[dev]")
from keras import layers  # noqa: E402


class Evil:
    def __init__(self, mark):
        self.mark = mark

    def __reduce__(self):
        return (os.system, (f"touch {self.mark}",))


def refused(tmp_path, source, *args, match: str, **kw):
    out = tmp_path / "out"
    with pytest.raises(InputError, match=match) as e:
        convert(source, out, *args, **kw)
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
    return str(e.value)


@pytest.mark.parametrize("ext", ["pt", "pdparams", "bin"])
@pytest.mark.slow
def test_a_pickle_that_calls_os_system_is_refused_and_runs_nothing(tmp_path, ext):
    mark = tmp_path / "pwned"
    src = tmp_path / f"evil.{ext}"
    src.write_bytes(pickle.dumps({"w": Evil(mark)}))
    msg = refused(tmp_path, src, match="system")
    assert not mark.exists()
    assert "run" in msg


@pytest.mark.slow
def test_a_zip_archive_whose_pickle_calls_os_system_is_refused(tmp_path):
    mark = tmp_path / "pwned"
    torch.save({"w": Evil(mark)}, tmp_path / "evil.pt")  # torch's own archive, a hostile data.pkl
    refused(tmp_path, tmp_path / "evil.pt", match="system")
    assert not mark.exists()


def _seed_like(tmp_path):
    m = keras.Sequential([keras.Input((20,), dtype="int32"), layers.Embedding(30, 4), layers.LSTM(3),
                          layers.Dense(1, activation="sigmoid")])
    m.save(tmp_path / "ok.keras")
    torch.manual_seed(0)
    state = {"emb.weight": torch.randn(30, 4), "lstm.weight_ih_l0": torch.randn(12, 4), "lstm.weight_hh_l0": torch.randn(12, 3),
             "lstm.bias_ih_l0": torch.randn(12), "lstm.bias_hh_l0": torch.randn(12), "fc.weight": torch.randn(2, 3),
             "fc.bias": torch.randn(2)}
    torch.save(state, tmp_path / "ok.pt")
    (tmp_path / "vocab.txt").write_text("\n".join(["<pad>", "<unk>"] + [f"w{i}" for i in range(28)]))
    return state


@pytest.mark.parametrize("name", ["ok.keras", "ok.pt"])
@pytest.mark.slow
def test_a_truncated_file_is_refused(tmp_path, name):
    _seed_like(tmp_path)
    data = (tmp_path / name).read_bytes()
    (tmp_path / f"cut{name[2:]}").write_bytes(data[: len(data) // 2])
    refused(tmp_path, tmp_path / f"cut{name[2:]}", tmp_path / "vocab.txt", match="truncated")


@pytest.mark.slow
def test_a_truncated_pdparams_is_refused(tmp_path):
    import io
    buf = io.BytesIO()
    pickle.dump({"w": np.zeros((30, 4), "float32")}, buf)
    (tmp_path / "cut.pdparams").write_bytes(buf.getvalue()[:-40])
    refused(tmp_path, tmp_path / "cut.pdparams", match="truncated")


@pytest.mark.parametrize("layer, match", [
    (layers.Conv1D(4, 3), "Conv1D is not supported"),
    (layers.LSTM(3, recurrent_activation="hard_sigmoid"), "hard_sigmoid"),
    (layers.GRU(3, reset_after=False), "reset_after=False"),
])
@pytest.mark.slow
def test_an_unsupported_keras_layer_or_setting_is_named(tmp_path, layer, match):
    rest = [layers.GlobalMaxPooling1D()] if isinstance(layer, layers.Conv1D) else []
    m = keras.Sequential([keras.Input((20,), dtype="int32"), layers.Embedding(30, 4), layer, *rest,
                          layers.Dense(1, activation="sigmoid")])
    m.save(tmp_path / "m.keras")
    (tmp_path / "vocab.txt").write_text("\n".join(f"w{i}" for i in range(30)))
    refused(tmp_path, tmp_path / "m.keras", tmp_path / "vocab.txt", match=match)


@pytest.mark.slow
def test_a_merged_bidirectional_layer_below_the_top_is_named(tmp_path):
    """sum / ave / mul are read on the top recurrent layer; below it the next layer would read H units, not 2H."""
    m = keras.Sequential([keras.Input((20,), dtype="int32"), layers.Embedding(30, 4),
                          layers.Bidirectional(layers.LSTM(3, return_sequences=True), merge_mode="sum"),
                          layers.Bidirectional(layers.LSTM(3)), layers.Dense(1, activation="sigmoid")])
    m.save(tmp_path / "m.keras")
    (tmp_path / "vocab.txt").write_text("\n".join(f"w{i}" for i in range(30)))
    refused(tmp_path, tmp_path / "m.keras", tmp_path / "vocab.txt", match="merge_mode='sum' below the top layer")


@pytest.mark.slow
def test_a_vocabulary_smaller_than_the_embedding_is_refused(tmp_path):
    _seed_like(tmp_path)
    (tmp_path / "small.txt").write_text("\n".join(["<pad>", "<unk>", "a", "b"]))
    refused(tmp_path, tmp_path / "ok.pt", tmp_path / "small.txt", match="smaller than the model needs")


@pytest.mark.slow
def test_a_missing_vocabulary_is_asked_for(tmp_path):
    _seed_like(tmp_path)
    refused(tmp_path, tmp_path / "ok.pt", match="needs its vocabulary")


@pytest.mark.slow
def test_shapes_that_fit_no_recipe_are_refused(tmp_path):
    state = _seed_like(tmp_path)
    state["fc.weight"] = torch.randn(2, 9)  # the head reads 9 features; the LSTM gives 3
    torch.save(state, tmp_path / "odd.pt")
    refused(tmp_path, tmp_path / "odd.pt", tmp_path / "vocab.txt", match="shapes fit no recipe")


def test_a_2_gb_upload_is_refused_by_its_size_before_reading(tmp_path):
    big = tmp_path / "huge.pt"
    with open(big, "wb") as f:
        f.truncate(2 * 2**30)  # sparse: no disk used
    msg = refused(tmp_path, big, match="GiB")
    assert "2.0 GiB" in msg


@pytest.mark.slow  # over a second on a quiet 2-core CPU (fast-tier durations, 2026-12-07)
def test_a_bad_recipe_key_is_named(tmp_path):
    _seed_like(tmp_path)
    refused(tmp_path, tmp_path / "ok.pt", tmp_path / "vocab.txt", recipe={"reduce": "max"}, match="unknown key 'reduce'")
