"""The card's test accuracy by review length and by unknown-word share (issue 22): every test review
counted once, the same counts as a review-by-review computation on a tiny model, and
``python -m sentiment.calibrate --lengths-only`` adds only these records (the temperature, the
calibration record and the weights stay as they were)."""

from __future__ import annotations

import csv
import json
import random

import numpy as np
import pytest
import torch
from conftest import EN_WORDS, make_checkpoint

from sentiment.data import readers
from sentiment.data.text import UNK_ID, tokenize
from sentiment.modeling import checkpoint
from sentiment.training import calibrate


def dataset(path, n: int = 400, seed: int = 0):
    """Reviews of 1 to 600 tokens, some with words the tiny vocabulary does not know."""
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["label", "text"])
        for i in range(n):
            length = rng.choice([rng.randint(1, 12), rng.randint(13, 60), rng.randint(61, 600)])
            unknown = rng.choice([0.0, 0.03, 0.1, 0.4])
            words = [f"zork{rng.randint(0, 99)}" if rng.random() < unknown else rng.choice(EN_WORDS) for _ in range(length)]
            w.writerow([i % 2, " ".join(words)])
    return path


@pytest.fixture
def tiny(tmp_path):
    return make_checkpoint(tmp_path / "m", hidden=8, seed=1), dataset(tmp_path / "reviews.csv")


def one_by_one(model_dir, data) -> tuple[list[int], list[float], list[bool]]:
    """(tokens, unknown share, right) of every test review, each run through the model on its own."""
    ck = checkpoint.load(model_dir)
    test = readers.split(readers.load(str(data), "csv"), seed=0).test
    tokens, shares, right = [], [], []
    with torch.no_grad():
        for text, y in test:
            ids = ck.vocab.encode(tokenize(text, ck.tokenizer)[: ck.read_len]) or [UNK_ID]
            logits = ck.model(torch.tensor([ids]), torch.tensor([len(ids)]))
            tokens.append(len(ids))
            shares.append(sum(i == UNK_ID for i in ids) / len(ids))
            right.append(int(logits.argmax(1)) == y)
    return tokens, shares, right


def test_the_buckets_count_every_test_review_once_as_a_review_by_review_count_does(tiny):
    model_dir, data = tiny
    record, rec = calibrate.calibrate(model_dir, str(data), lengths_only=True)
    assert record is None
    tokens, shares, right = one_by_one(model_dir, data)
    by, unk = rec["by_length"], rec["by_unknown"]
    assert by["test_reviews"] == unk["test_reviews"] == len(right) == sum(r["n"] for r in by["buckets"])
    assert sum(r["n"] for r in unk["buckets"]) == len(right)
    assert by["accuracy"] == pytest.approx(np.mean(right)) and by["unit"] == "words"
    for r in by["buckets"]:
        inside = [ok for n, ok in zip(tokens, right) if n >= r["lo"] and (r["hi"] is None or n <= r["hi"])]
        assert (r["n"], r["right"]) == (len(inside), sum(inside)), r
    for r in unk["buckets"]:
        inside = [ok for s, ok in zip(shares, right) if s >= r["lo"] and (r["hi"] is None or s < r["hi"])]
        assert (r["n"], r["right"]) == (len(inside), sum(inside)), r
    assert all(r["n"] for r in by["buckets"][:4])  # the data reach the short buckets, so the counts are tested
    assert (by["p10"], by["p50"]) == (np.quantile(tokens, 0.1), np.quantile(tokens, 0.5))
    assert unk["test_unknown_share"] == pytest.approx(sum(s * n for s, n in zip(shares, tokens)) / sum(tokens))


def test_lengths_only_adds_the_records_and_changes_nothing_else(tiny, capsys):
    model_dir, data = tiny
    calibrate.store_temperature(model_dir, 1.7)
    card = json.loads((model_dir / "card.json").read_text(encoding="utf-8"))
    card.update(calibration={"temperature": 1.7, "fitted_on": "val"}, domain={"test_unknown_share": 0.02})
    (model_dir / "card.json").write_text(json.dumps(card), encoding="utf-8")
    before = {p.name: p.read_bytes() for p in model_dir.iterdir() if p.name != "card.json"}
    assert calibrate.main(["--model", str(model_dir), "--data", str(data), "--lengths-only"]) == 0
    assert {p.name: p.read_bytes() for p in model_dir.iterdir() if p.name != "card.json"} == before
    after = json.loads((model_dir / "card.json").read_text(encoding="utf-8"))
    assert after["calibration"] == card["calibration"] and "domain" not in after
    assert set(after) == set(card) - {"domain"} | {"by_length", "by_unknown"}
    assert "test accuracy" in capsys.readouterr().out


def test_a_record_of_no_reviews_is_refused():
    with pytest.raises(ValueError, match="0 test reviews"):
        calibrate.length_record([], [], 2000)
    with pytest.raises(ValueError, match="2 test reviews but 1"):
        calibrate.length_record([[2], [3]], [True], 2000)


@pytest.mark.parametrize("spec,unit", [({"language": "en", "mode": "word"}, "words"), ({"language": "zh", "mode": "char"}, "characters"),
                                       ({"mode": "list"}, "characters"), ({"mode": "keras", "char_level": True}, "characters"),
                                       ({"mode": "keras"}, "words")])
def test_the_unit_follows_the_tokenizer(spec, unit):
    assert calibrate.length_unit(spec) == unit
