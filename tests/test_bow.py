"""The bag-of-words reference: its score is a sum of per-word contributions (to the last digit), it
matches a plain dense TF-IDF computation, it saves and loads as a checkpoint without pickle, it
learns an obvious toy task through ``sentiment.train --bow``, and the catalog lists it as kind "bow".
Bad input: an impossible configuration, a checkpoint whose bigram table is missing."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
import torch

from sentiment.data.text import Vocab
from sentiment.errors import CheckpointError
from sentiment.modeling import catalog, checkpoint
from sentiment.modeling.bow import BagOfWords, BowConfig, contributions
from sentiment.modeling.predict import predict
from sentiment.training import bow as bow_training
from sentiment.training import train

WORDS = ["<pad>", "<unk>", "good", "bad", "not", "film", "plot", "great", "awful", "the"]


def toy_model(seed: int = 0) -> BagOfWords:
    g = torch.Generator().manual_seed(seed)
    seqs = [[int(i) for i in torch.randint(1, len(WORDS), (12,), generator=g)] for _ in range(40)]
    model = bow_training.build(seqs, len(WORDS), max_bigrams=20)
    model.weight.data = torch.randn(model.config.num_features, generator=g)
    model.bias.data = torch.tensor([0.3])
    return model


def dense_score(model: BagOfWords, ids: list[int]) -> float:
    """The same score, feature by feature, in plain Python."""
    V = model.config.vocab_size
    counts: dict[int, int] = {}
    for i in ids:
        if i > 1:
            counts[i] = counts.get(i, 0) + 1
    pairs = {(int(a), int(b)): V + k for k, (a, b) in enumerate(model.bigrams.tolist())}
    for a, b in zip(ids, ids[1:]):
        if (a, b) in pairs:
            counts[pairs[(a, b)]] = counts.get(pairs[(a, b)], 0) + 1
    x = {f: math.log1p(c) * float(model.idf[f]) for f, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in x.values())) or 1.0
    w, b = model.weight.detach(), float(model.bias.detach())
    return sum(v / norm * float(w[f]) for f, v in x.items()) + b


def test_the_score_matches_a_dense_tfidf_computation():
    model = toy_model()
    rng = random.Random(1)
    seqs = [[rng.randrange(1, len(WORDS)) for _ in range(rng.randrange(1, 15))] for _ in range(20)]
    ids = torch.zeros(len(seqs), 15, dtype=torch.int64)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
    logits = model(ids, torch.tensor([len(s) for s in seqs]))
    z = (logits[:, 1] - logits[:, 0]).tolist()
    assert z == pytest.approx([dense_score(model, s) for s in seqs], abs=1e-5)


def test_word_contributions_add_up_to_the_score():
    model = toy_model()
    ids = [2, 4, 2, 5, 9, 3, 3, 1, 7]
    contrib, bias = contributions(model, ids)
    logits = model(torch.tensor([ids]), torch.tensor([len(ids)]))[0]
    assert contrib.sum() + bias == pytest.approx(float((logits[1] - logits[0]).detach()), abs=1e-5)
    assert contrib[7] == 0.0  # <unk> carries nothing


def test_a_bag_of_words_saves_and_loads_without_pickle(tmp_path):
    model = toy_model()
    path = checkpoint.save(tmp_path / "toy-bow", model, Vocab(WORDS), {"language": "en", "mode": "word"}, 2000,
                           {"dataset": "toy", "test_accuracy": 0.5, "test_size": 2})
    assert json.loads((path / "config.json").read_text())["kind"] == "bow"
    ck = checkpoint.load(path)
    assert ck.is_bow and torch.equal(ck.model.bigrams, model.bigrams)
    ids, lengths = torch.tensor([[2, 4, 7, 3]]), torch.tensor([4])
    assert torch.allclose(ck.model(ids, lengths), model(ids, lengths))
    entry = catalog.describe(path)
    assert entry.available and entry.cell == "bow"


def test_a_missing_bigram_table_is_named(tmp_path):
    from safetensors.torch import load_file, save_file
    path = checkpoint.save(tmp_path / "toy-bow", toy_model(), Vocab(WORDS), {"language": "en", "mode": "word"}, 2000, {})
    state = load_file(str(path / "model.safetensors"))
    state.pop("bigrams")
    save_file(state, str(path / "model.safetensors"))
    card = json.loads((path / "card.json").read_text())
    card.pop("weights_sha256")  # a hand-edited file: the checksum is gone, the mismatch must still be named
    (path / "card.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="weights do not match config.json"):
        checkpoint.load(path)


@pytest.mark.parametrize("bad", [dict(vocab_size=2, num_bigrams=0), dict(vocab_size=10, num_bigrams=-1),
                                 dict(vocab_size=10, num_bigrams=0, num_classes=3)])
def test_an_impossible_configuration_is_refused(bad):
    with pytest.raises(ValueError, match="bag of words needs"):
        BowConfig(**bad)


def test_train_bow_learns_an_obvious_task(tmp_path):
    """Reviews with "great"/"good" are positive, "awful"/"bad" negative, "not good" negative: the
    trained bag of words gets them right, is calibrated on validation, and predicts through predict()."""
    rng = random.Random(0)
    rows = []
    for _ in range(400):
        filler = " ".join(rng.choice(["the film", "the plot", "it was", "and"]) for _ in range(3))
        y = rng.random() < 0.5
        word = rng.choice(["great", "good", "fine"]) if y else rng.choice(["awful", "bad", "not good", "boring"])
        rows.append(f"{int(y)},{filler} {word} {filler}")
    data = tmp_path / "toy.csv"
    data.write_text("label,review\n" + "\n".join(rows), encoding="utf-8")
    cfg = train.TrainConfig(data=str(data), out=str(tmp_path / "toy-bow"), bow=True, min_freq=1)
    card = train.fit(cfg)
    assert card["test_accuracy"] >= 0.95 and card["calibration"]["fitted_on"] == "val"
    ck = checkpoint.load(tmp_path / "toy-bow")
    assert ck.temperature == card["calibration"]["temperature"] and ck.is_bow
    assert predict(ck, "the film was great").label == "positive"
    assert predict(ck, "the plot was not good").label == "negative"
    assert np.isfinite(card["calibration"]["test_ece_after"])
    assert sum(r["n"] for r in card["by_length"]["buckets"]) == card["test_size"] and "domain" not in card


def test_a_run_can_train_a_bag_of_words(tmp_path):
    """The Train page's runs pass --bow through to python -m sentiment.train."""
    from sentiment.training import runs

    argv = runs.train_argv({"data": "hotel", "bow": True}, tmp_path / "r")
    assert argv[1:3] == ["-m", "sentiment.train"] and "--bow" in argv


def test_tracing_a_bag_of_words_is_refused_with_a_pointer(tmp_path):
    from sentiment.errors import InputError
    from sentiment.probe import trace

    path = checkpoint.save(tmp_path / "toy-bow", toy_model(), Vocab(WORDS), {"language": "en", "mode": "word"}, 2000, {})
    with pytest.raises(InputError, match="no gates or states to trace"):
        trace(checkpoint.load(path), "good film")
