"""Weight averaging (``python -m sentiment.soup``): the mean of runs fine-tuned from one model.

Two tiny LSTMs are fine-tuned from one base on 200 real hotel reviews (character tokens, 8 units: a
few seconds each) and averaged. Bad input tried: one run, runs of another architecture or vocabulary,
an imported-style mismatch of datasets, an output folder that exists; each is refused with an
``error:`` line and nothing is written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from sentiment.modeling import catalog, checkpoint
from sentiment.training import soup, train
from sentiment.training.evaluate import evaluate_examples, split_for

pytestmark = pytest.mark.slow  # trains three tiny models in-process

BASE = ["--limit", "200", "--epochs", "1", "--hidden", "8", "--embed", "8", "--max-len", "40", "--tokenizer", "char",
        "--batch-size", "16", "--dropout", "0", "--seed", "1", "--threads", "1"]
AGAIN = ["--limit", "200", "--epochs", "1", "--batch-size", "16", "--threads", "1"]


@pytest.fixture(scope="module")
def runs(hotel_path, tmp_path_factory) -> dict[str, Path]:
    """A base model and two runs fine-tuned from it (seeds 2 and 3), plus one of another size."""
    root = tmp_path_factory.mktemp("soup")
    base, a, b, other = (root / n for n in ("base", "a", "b", "other"))
    assert train.main(["--data", str(hotel_path), "--out", str(base), *BASE]) == 0
    for out, seed in ((a, "2"), (b, "3")):
        assert train.main(["--data", str(hotel_path), "--out", str(out), "--init", str(base), *AGAIN, "--seed", seed]) == 0
    assert train.main(["--data", str(hotel_path), "--out", str(other), *BASE[:4], "--hidden", "6", *BASE[6:]]) == 0
    return {"base": base, "a": a, "b": b, "other": other, "root": root}


def test_every_weight_of_the_soup_is_the_runs_mean(runs):
    out = runs["root"] / "mean"
    assert soup.main(["--model", str(runs["a"]), str(runs["b"]), "--out", str(out)]) == 0
    made, a, b = (checkpoint.load(p) for p in (out, runs["a"], runs["b"]))
    sa, sb = a.model.state_dict(), b.model.state_dict()
    for k, v in made.model.state_dict().items():
        torch.testing.assert_close(v, (sa[k] + sb[k]) / 2, rtol=1e-6, atol=1e-7, msg=k)
    assert made.vocab.itos == a.vocab.itos and made.config.to_dict() == a.config.to_dict()
    shutil.rmtree(out)


def test_the_card_lists_the_runs_and_the_soups_own_measured_accuracy(runs, hotel_path):
    out = runs["root"] / "card"
    assert soup.main(["--model", str(runs["a"]), str(runs["b"]), "--out", str(out)]) == 0
    made = checkpoint.load(out)
    card = made.card
    assert [m["model"] for m in card["soup"]] == ["a", "b"]
    for m, run in zip(card["soup"], (runs["a"], runs["b"]), strict=True):
        run_card = json.loads((run / "card.json").read_text(encoding="utf-8"))
        assert m["weights_sha256"] == run_card["weights_sha256"] and m["command"] == run_card["command"]
    splits = split_for(card, str(hotel_path))
    assert card["test_accuracy"] == evaluate_examples(made, splits.test)["accuracy"]
    assert card["val_accuracy"] == evaluate_examples(made, splits.val)["accuracy"]
    assert card["calibration"]["temperature"] == made.temperature > 0
    assert card["command"].startswith("python -m sentiment.soup --model ")
    assert "best_epoch" not in card and "history" not in card and "init" not in card  # the runs', not the soup's
    assert card["train_seconds"] == round(sum(m.card["train_seconds"] for m in map(checkpoint.load, (runs["a"], runs["b"]))), 1)
    shutil.rmtree(out)


def test_how_to_make_it_again_names_the_runs_as_folders(runs):
    out = runs["root"] / "again"
    assert soup.main(["--model", str(runs["a"]), str(runs["b"]), "--out", str(out)]) == 0
    steps = soup.made_by_soup(checkpoint.read_card(out), out="again")
    assert [name for name, _ in steps] == ["a", "b", ""]
    assert steps[0][1].startswith("python -m sentiment.train ") and " --out a " in f"{steps[0][1]} "
    assert steps[-1][1] == "python -m sentiment.soup --model a b --out again"
    shutil.rmtree(out)


@pytest.mark.parametrize("which,message", [
    (["a"], "at least two runs"),
    (["a", "other"], "differ in model"),
])
def test_runs_that_cannot_be_averaged_are_refused(runs, which, message, capsys):
    out = runs["root"] / "refused"
    assert soup.main(["--model", *[str(runs[w]) for w in which], "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() and not list(runs["root"].glob(".refused*"))


def test_runs_of_another_vocabulary_are_refused(runs, capsys):
    """Two runs of one size trained apart (not from one base) read different vocabularies."""
    out = runs["root"] / "vocab"
    assert soup.main(["--model", str(runs["a"]), str(runs["base"]), "--out", str(out)]) == 0  # the base shares a's vocabulary
    shutil.rmtree(out)
    twin = runs["root"] / "twin"
    shutil.copytree(runs["a"], twin)
    vocab = json.loads((twin / "vocab.json").read_text(encoding="utf-8"))
    vocab["itos"][-1] = "☃"  # one word changed: the same size, another vocabulary
    (twin / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    assert soup.main(["--model", str(runs["a"]), str(twin), "--out", str(out)]) == 2
    assert "differ in vocabulary" in capsys.readouterr().err and not out.exists()
    shutil.rmtree(twin)


def test_a_folder_that_exists_is_never_overwritten(runs, capsys):
    out = runs["root"] / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert soup.main(["--model", str(runs["a"]), str(runs["b"]), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_a_soup_of_runs_from_one_model_counts_as_retrained_from_it(runs):
    """The Compare page says B was retrained from A (so its units are A's, changed by training) for a soup
    whose every run started from A."""
    out = runs["root"] / "lineage"
    assert soup.main(["--model", str(runs["a"]), str(runs["b"]), "--out", str(out)]) == 0
    made, base, other = (checkpoint.read_card(p) for p in (out, runs["base"], runs["other"]))
    assert catalog.trained_from(made, base) and not catalog.trained_from(made, other)
    assert not catalog.trained_from(base, made)
    shutil.rmtree(out)
