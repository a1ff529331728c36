"""PyTorch models opened in GateScope: seed 3's hotel-review LSTM (embedding, LSTM, tanh, the last
time step, linear to 2) saved as a state_dict and as a whole module; logits equal within 1e-5, and
the pickled module is read without importing (or running) its class."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest
import torch

from sentiment.data import readers
from sentiment.data.text import tokenize_zh
from sentiment.interop.convert import convert
from sentiment.modeling import checkpoint
from sentiment.probe.instrument import trace
from tests._interop import hotel_lines

ROOT = Path(__file__).resolve().parent.parent
MAXLEN = 200
SEED3 = textwrap.dedent('''
    """Seed 3's model, in a module of its own; importing it or unpickling its class leaves a mark."""
    import os, pathlib
    import torch
    from torch import nn

    def _mark(name):
        if os.environ.get("MARK_DIR"):
            pathlib.Path(os.environ["MARK_DIR"], name).write_text("ran")

    _mark("imported")

    class Seed3(nn.Module):
        def __init__(self, vocab_size, embed=128, hidden=128):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed, padding_idx=0)
            self.lstm = nn.LSTM(embed, hidden, batch_first=True)
            self.fc = nn.Linear(hidden, 2)

        def forward(self, x):
            out, _ = self.lstm(self.embedding(x))
            out = torch.tanh(out)
            return self.fc(out[:, -1, :])

        def __setstate__(self, state):
            _mark("unpickled")
            super().__setstate__(state)
''')


def chars(text: str) -> list[str]:
    """Seed 3's tokens: characters, punctuation dropped."""
    return [c for c in tokenize_zh(text, "char") if c not in "!?！？"]


def seed3_ids(texts, stoi):
    """Seed 3's input: character ids padded with 0 at the back to 200 (cut at the back)."""
    rows = [[stoi.get(c, 1) for c in chars(t)][:MAXLEN] for t in texts]
    return torch.tensor([r + [0] * (MAXLEN - len(r)) for r in rows])


@pytest.fixture(scope="module")
def seed3(tmp_path_factory, data_dir):
    d = tmp_path_factory.mktemp("torch")
    (d / "seed3mod.py").write_text(SEED3)
    sys.path.insert(0, str(d))
    try:
        mod = importlib.import_module("seed3mod")
    finally:
        sys.path.remove(str(d))
    rows = hotel_lines(data_dir / "hotel_discuss2.csv")
    train, test = rows[:2000], rows[-200:]
    counts = Counter(c for t, _ in train for c in chars(t))
    itos = ["<pad>", "<unk>"] + [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:1500]
    (d / "vocab.txt").write_text("\n".join(itos) + "\n", encoding="utf-8")
    stoi = {c: i for i, c in enumerate(itos)}
    torch.manual_seed(3)
    model = mod.Seed3(len(itos), 32, 32)
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for a in range(0, 640, 64):  # a brief training: 10 steps
        batch = train[a: a + 64]
        loss = torch.nn.functional.cross_entropy(model(seed3_ids([t for t, _ in batch], stoi)),
                                                 torch.tensor([y for _, y in batch]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    torch.save(model.state_dict(), d / "seed3_state.pt")
    torch.save(model, d / "seed3_model.pt")  # as the tutorial saves it: a pickle naming seed3mod.Seed3
    sys.modules.pop("seed3mod", None)
    return d, model, stoi, test


RECIPE = {"tokenizer": "char", "tanh": True, "reduction": "last_step", "max_len": MAXLEN}


@pytest.mark.parametrize("name", ["seed3_state.pt", "seed3_model.pt"])
@pytest.mark.slow
def test_seed3_logits_equal_pytorch_within_1e5(seed3, tmp_path, name):
    d, model, stoi, test = seed3
    out, s = convert(d / name, tmp_path / "m", d / "vocab.txt", RECIPE)
    ckpt = checkpoint.load(out)
    texts = [t for t, _ in test]
    ids = seed3_ids(texts, stoi)
    assert [ckpt.encode_ids(t) for t in texts[:20]] == ids[:20].tolist()
    with torch.no_grad():
        ours = ckpt.model(ids, torch.full((len(ids),), MAXLEN))
        ref = model(ids)
    diff = (ours - ref).abs().max().item()
    print(f"pytorch {name}: max |logits - torch| = {diff:.3g}")
    assert diff < 1e-5


@pytest.mark.slow  # over a second on a quiet 2-core CPU (fast-tier durations, 2026-12-07)
def test_seed3_trace_shows_the_last_step_reading_padding(seed3, tmp_path):
    d, model, stoi, test = seed3
    ckpt = checkpoint.load(convert(d / "seed3_state.pt", tmp_path / "m", d / "vocab.txt", RECIPE)[0])
    text = "房间很干净，服务也不错"
    tr = trace(ckpt, text)
    assert tr.length == MAXLEN and tr.padding[:10] == [False] * 10 and all(tr.padding[10:])
    assert tr.pooling == "last_step" and tr.pool_weights[-1] == pytest.approx(1.0)  # the credit goes to a pad step
    with torch.no_grad():
        ids = seed3_ids([text], stoi)
        ref = torch.softmax(model(ids), -1)[0, 1].item()
        h = model.lstm(model.embedding(ids))[0][0].numpy()  # [200, H]: PyTorch's own outputs, pad steps included
    assert abs(tr.probs[1] - ref) < 1e-5
    print(f"pytorch seed3 h_t: max |h - torch| = {abs(tr.gate('h') - h).max():.3g}")
    assert abs(tr.gate("h") - h).max() < 1e-5


@pytest.mark.slow
def test_the_pickled_module_is_read_without_importing_or_unpickling_its_class(seed3, tmp_path):
    d, *_ = seed3
    marks = tmp_path / "marks"
    marks.mkdir()
    env = dict(os.environ, PYTHONPATH=f"{d}{os.pathsep}{ROOT}", MARK_DIR=str(marks))
    r = subprocess.run([sys.executable, "-m", "sentiment.convert", str(d / "seed3_model.pt"), "--out", str(tmp_path / "m"),
                        "--vocab", str(d / "vocab.txt"), "--tokenizer", "char", "--max-len", "200"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "whole pickled module" in r.stdout
    assert list(marks.iterdir()) == []  # neither imported nor unpickled by its own code
    assert "seed3mod" not in r.stderr


@pytest.mark.slow
def test_evaluate_gives_an_imported_model_a_test_accuracy(seed3, tmp_path, data_dir):
    """python -m sentiment.evaluate --data: the accuracy PyTorch's own model has on that test split."""
    d, model, stoi, _ = seed3
    out, _ = convert(d / "seed3_state.pt", tmp_path / "m", d / "vocab.txt", RECIPE)
    r = subprocess.run([sys.executable, "-m", "sentiment.evaluate", "--model", str(out), "--data",
                        str(data_dir / "hotel_discuss2.csv"), "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    test = readers.split(readers.load(data_dir / "hotel_discuss2.csv")).test
    with torch.no_grad():
        pred = model(seed3_ids([t for t, _ in test], stoi)).argmax(1)
    acc = int((pred == torch.tensor([y for _, y in test])).sum()) / len(test)
    assert res["n"] == len(test) == 526 and abs(res["accuracy"] - acc) < 1e-9
