"""Model folders' values checked by type and range (issue 21, item 3): a value of the wrong type or out of
range in config.json, card.json, vocab.json or model.safetensors is refused with a message naming the
file and the key, by the catalog (which lists the folder as unavailable, and the others as before)
and by loading. Each case was found by trying: before, ``hidden_size: null`` raised TypeError,
``bidirectional: "false"`` read as true, ``temperature: 1e308`` gave 50% for every review, int8
weights gave 0.5, ``format: 99`` loaded."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from conftest import make_checkpoint
from safetensors.torch import load_file, save_file

from sentiment import spec
from sentiment.data import vocabs
from sentiment.errors import CheckpointError
from sentiment.i18n import t
from sentiment.modeling import catalog, checkpoint


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return make_checkpoint(tmp_path / "tiny-lstm-max")


def edit(d: Path, name: str = "config.json", **values) -> None:
    """Set keys of a JSON file (nested with "__": model__hidden_size)."""
    obj = json.loads((d / name).read_text())
    for key, value in values.items():
        *parents, last = key.split("__")
        node = obj
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    (d / name).write_text(json.dumps(obj))


def refused(d: Path, *words: str) -> CheckpointError:
    """The catalog lists the folder as unavailable and loading raises, both with a message holding
    ``words`` (the file and the key), in English and in Chinese."""
    entry = catalog.describe(d)
    assert not entry.available and all(w in entry.error for w in words), entry.error
    assert isinstance(entry.problem, CheckpointError) and entry.problem.code
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(d)
    assert all(w in str(info.value) for w in words), str(info.value)
    assert info.value.code and all(w in t(info.value, "zh") for w in words if "." in w or "_" in w)
    return info.value


# ---- config.json: model sizes, names and switches ------------------------------------------------


@pytest.mark.parametrize("key,value", [
    ("hidden_size", None), ("hidden_size", "64"), ("hidden_size", 64.0), ("hidden_size", True), ("hidden_size", -8),
    ("hidden_size", 10**6), ("embed_dim", None), ("embed_dim", 5000), ("num_layers", 9), ("num_layers", None),
    ("vocab_size", 5_000_001), ("vocab_size", None), ("num_classes", 0), ("attn_dim", [64]), ("hidden_dense", -1),
    ("hidden_dense", "8"),
])
def test_sizes_must_be_whole_numbers_in_range(model_dir, key, value):
    edit(model_dir, **{f"model__{key}": value})
    err = refused(model_dir, "config.json", f"model.{key}")
    assert err.code in ("model.field_range", "model.field_int")


@pytest.mark.parametrize("value", ["false", "true", 0, 1, None])
def test_bidirectional_must_be_a_json_boolean(model_dir, value):
    """"false" (a string) read as true before: a switch is true or false, nothing else."""
    edit(model_dir, model__bidirectional=value)
    err = refused(model_dir, "config.json", "model.bidirectional")
    assert err.code == "model.field_bool"


@pytest.mark.parametrize("key,value", [("cell", "transformer"), ("cell", None), ("pooling", 3), ("padding", "both"),
                                       ("truncating", True), ("merge", "max"), ("hidden_activation", "gelu"),
                                       ("output_activation", ["tanh"])])
def test_names_must_be_one_of_their_choices(model_dir, key, value):
    edit(model_dir, **{f"model__{key}": value})
    assert refused(model_dir, "config.json", f"model.{key}").code == "model.field_choice"


@pytest.mark.parametrize("value", [1.0, -0.1, "0.3", None, float("nan")])
def test_dropout_is_a_number_in_zero_to_one(model_dir, value):
    edit(model_dir, model__dropout=value)
    refused(model_dir, "config.json", "model.dropout")


# ---- config.json: the rest -----------------------------------------------------------------------


@pytest.mark.parametrize("value", [1e308, 0, -1.5, 0.01, 25, "1.5", None, True, float("inf"), float("nan")])
def test_the_temperature_is_finite_and_in_range(model_dir, value):
    """1e308 read every review as 50% before; a fit returns T in 0.05..20."""
    edit(model_dir, calibration={"temperature": value})
    refused(model_dir, "config.json", "calibration.temperature")


def test_a_temperature_in_range_loads(model_dir):
    edit(model_dir, calibration={"temperature": 0.05})
    assert checkpoint.load(model_dir).temperature == 0.05
    edit(model_dir, calibration={"temperature": 20})
    assert catalog.describe(model_dir).temperature == 20


@pytest.mark.parametrize("value", [99, 0, "1", None, 1.0, True])
def test_an_unknown_format_is_refused(model_dir, value):
    edit(model_dir, format=value)
    err = refused(model_dir, "config.json", "format")
    assert err.code == "model.format" and str(checkpoint.FORMAT) in str(err)


def test_an_unknown_kind_is_refused(model_dir):
    edit(model_dir, kind="transformer")
    refused(model_dir, "config.json", "kind")


@pytest.mark.parametrize("value", [0, -1, None, "200", 200.0, checkpoint.MAX_LEN + 1])
def test_max_len_is_a_whole_number_in_range(model_dir, value):
    edit(model_dir, max_len=value)
    refused(model_dir, "config.json", "max_len")


def test_an_imported_model_reads_at_most_read_limit_tokens(model_dir):
    """An imported model is padded to max_len: 100,000 made a 5-character review a 402 MB trace."""
    edit(model_dir, max_len=spec.READ_LIMIT + 1)
    assert checkpoint.load(model_dir).max_len == spec.READ_LIMIT + 1  # GateScope's own model: it only cuts
    edit(model_dir, "card.json", imported={"framework": "pytorch"})
    refused(model_dir, "config.json", "max_len", f"{spec.READ_LIMIT:,}")
    edit(model_dir, "card.json", imported=None)
    edit(model_dir, model__padding="post")  # padded to max_len: imported, whatever the card says
    refused(model_dir, "config.json", "max_len")


@pytest.mark.parametrize("tokenizer,key", [
    ({"language": "fr", "mode": "word"}, "language"), ({"language": "zh", "mode": "bpe"}, "mode"),
    ({"language": "zh", "mode": "list", "marks": False}, "marks"), ({"language": "en", "mode": "keras", "split": ""}, "split"),
    ({"language": "en", "mode": "word", "lowercase": True}, "lowercase"),
])
def test_a_tokenizer_spec_gatescope_cannot_read_is_refused(model_dir, tokenizer, key):
    edit(model_dir, tokenizer=tokenizer)
    err = refused(model_dir, "config.json")
    assert err.code == "model.tokenizer" and err.params["key"] == key and "list" in str(err) and "keras" in str(err)


@pytest.mark.parametrize("tokenizer", [{"language": "zh", "mode": "list"}, {"language": "en", "mode": "keras", "lower": False}])
def test_the_tutorial_tokenizers_load(model_dir, tokenizer):
    edit(model_dir, tokenizer=tokenizer)
    assert checkpoint.load(model_dir).tokenizer == tokenizer and catalog.describe(model_dir).available


@pytest.mark.parametrize("name", ["config.json", "card.json"])
def test_json_that_is_a_list_is_refused(model_dir, name):
    (model_dir / name).write_text("[1, 2, 3]")
    assert refused(model_dir, name, "expected a JSON object").code == "model.not_object"


@pytest.mark.parametrize("name", ["config.json", "card.json"])
@pytest.mark.parametrize("depth", [40, 3000])
def test_deep_json_is_refused(model_dir, name, depth):
    """Deeper than any model's JSON (40), and deeper than Python's recursion limit (3000)."""
    obj = json.loads((model_dir / name).read_text())
    text = json.dumps(obj)[:-1] + ', "extra": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    (model_dir / name).write_text(text)
    assert refused(model_dir, name, "nested too deeply").code == "model.too_deep"


def test_an_oversized_config_is_refused_unread(model_dir, monkeypatch):
    monkeypatch.setitem(checkpoint.MAX_JSON_BYTES, "config.json", 10)
    assert refused(model_dir, "config.json", "MB").code == "model.json_too_big"


# ---- model.safetensors and vocab.json ------------------------------------------------------------


def _rewrite_weights(d: Path, dtype: torch.dtype, only: str | None = None) -> None:
    state = load_file(str(d / "model.safetensors"))
    state = {k: (v.to(dtype) if only in (None, k) else v) for k, v in state.items()}
    save_file(state, str(d / "model.safetensors"))
    edit(d, "card.json", weights_sha256=None)


@pytest.mark.parametrize("dtype", [torch.int8, torch.int32, torch.uint8, torch.float64, torch.bool])
def test_weights_that_are_not_float16_32_or_bfloat16_are_refused(model_dir, dtype):
    """int8 weights read as float gave 0.5 for everything before."""
    _rewrite_weights(model_dir, dtype, only="fc.weight")
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(model_dir)
    err = info.value
    assert err.code == "model.weights_dtype" and "model.safetensors" in str(err) and "fc.weight" in str(err)
    assert "F32, F16, BF16" in str(err)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_and_bfloat16_weights_load(model_dir, dtype):
    full = checkpoint.load(model_dir)
    _rewrite_weights(model_dir, dtype)
    half = checkpoint.load(model_dir)
    assert torch.allclose(half.model.fc.weight, full.model.fc.weight, atol=1e-2)


def test_the_bag_of_words_integer_table_still_loads():
    ck = checkpoint.load(spec.models_root() / "hotel-bow")
    assert ck.is_bow


def test_a_vocab_json_whose_sources_are_not_strings_is_refused(model_dir):
    v = vocabs.IdVocab(["<pad>", "<unk>"] + [f"w{i}" for i in range(20)])
    d = json.loads(v.to_json())
    d["sources"] = {"pad_id": 7}
    (model_dir / "vocab.json").write_text(json.dumps(d))
    with pytest.raises(CheckpointError, match=r"vocab.json: corrupt"):
        checkpoint.load(model_dir)


def test_a_vocab_json_whose_tokens_are_not_strings_is_refused(model_dir):
    itos = json.loads((model_dir / "vocab.json").read_text())["itos"]
    (model_dir / "vocab.json").write_text(json.dumps({"itos": itos[:2] + [[1]] + itos[3:]}))
    with pytest.raises(CheckpointError, match=r"vocab.json: corrupt"):
        checkpoint.load(model_dir)


def test_an_old_imported_vocab_json_without_sources_loads(model_dir):
    itos = json.loads((model_dir / "vocab.json").read_text())["itos"]
    (model_dir / "vocab.json").write_text(json.dumps({"itos": itos, "ids": {"pad": 0, "unk": 1, "start": None}}))
    ck = checkpoint.load(model_dir)
    assert isinstance(ck.vocab, vocabs.IdVocab) and ck.vocab.sources["unk_id"] == "given: 1"


# ---- what keeps working ----------------------------------------------------------------------------


def test_every_shipped_model_passes_the_checks():
    entries = catalog.list_models(spec.models_root(), spec.models_root() / "no-runs")
    assert len(entries) >= 20 and all(e.available for e in entries), [e.error for e in entries if not e.available]
    for e in entries:
        cfg = json.loads((Path(e.path) / "config.json").read_text())
        assert math.isfinite(e.temperature or 1.0)
        checkpoint.check_config(cfg, Path(e.path) / "config.json", e.card)


def test_the_catalog_lists_the_good_folders_beside_a_bad_one(tmp_path):
    good = make_checkpoint(tmp_path / "models" / "good-lstm-max")
    bad = make_checkpoint(tmp_path / "models" / "bad-lstm-max", seed=1)
    edit(bad, model__bidirectional="false")
    entries = {e.name: e for e in catalog.list_models(tmp_path / "models", tmp_path / "runs")}
    assert entries["good-lstm-max"].available and str(good) == entries["good-lstm-max"].path
    assert not entries["bad-lstm-max"].available and "model.bidirectional" in entries["bad-lstm-max"].error
