"""PaddlePaddle models opened in GateScope: seeds 1-2's 2-layer bidirectional LSTM and GRU (small
sizes) saved with paddle.save; P(positive) equals Paddle's within 1e-5 on 200 real IMDB reviews,
padded with <pad> at the back to 200 tokens and read with no lengths, as the seeds run them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sentiment.interop.convert import convert
from sentiment.modeling import checkpoint
from sentiment.probe.instrument import trace
from sentiment.training.evaluate import predict_ids
from tests._interop import imdb_slice, word_index, words

paddle = pytest.importorskip("paddle", reason="PaddlePaddle computes these tests' expected numbers: pip install -e .[dev]")

SEQ_LEN = 200


class Seeds12(paddle.nn.Layer):
    """Embedding -> 2-layer bidirectional LSTM | GRU -> [last forward state, last backward state] -> Linear -> softmax."""

    def __init__(self, cell: str, vocab_size: int, pad_id: int, embed: int = 16, hidden: int = 12):
        super().__init__()
        self.embedding = paddle.nn.Embedding(vocab_size, embed, padding_idx=pad_id)
        self.rnn = getattr(paddle.nn, cell)(embed, hidden, num_layers=2, direction="bidirectional", dropout=0.5)
        self.dropout = paddle.nn.Dropout(0.5)
        self.fc = paddle.nn.Linear(2 * hidden, 2)

    def forward(self, x):
        _, state = self.rnn(self.embedding(x))
        h = state[0] if isinstance(state, tuple) else state  # [layers * 2, B, H]
        return paddle.nn.functional.softmax(self.fc(self.dropout(paddle.concat([h[-2], h[-1]], -1))), -1)


@pytest.fixture(scope="module")
def imdb_dict(imdb_path, tmp_path_factory):
    """The seeds' vocabulary: the dataset's word index (ids from 0), then <unk>, then <pad>."""
    train, test = imdb_slice(str(imdb_path), 400, 200)
    ranks = word_index([t for t, _ in train])
    vocab = {w: r - 1 for w, r in ranks.items() if r <= 3000}
    vocab["<unk>"] = len(vocab)
    vocab["<pad>"] = len(vocab)
    path = tmp_path_factory.mktemp("paddle") / "word_dict.json"
    path.write_text(json.dumps(vocab))
    return vocab, path, train, test


def seeds_ids(texts, vocab):
    rows = [[vocab.get(w, vocab["<unk>"]) for w in words(t)][:SEQ_LEN] for t in texts]
    return np.array([r + [vocab["<pad>"]] * (SEQ_LEN - len(r)) for r in rows], dtype="int64")


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
@pytest.mark.slow
def test_seeds_1_2_predict_what_paddle_predicts(imdb_dict, tmp_path, cell):
    vocab, vpath, train, test = imdb_dict
    paddle.seed(12)
    model = Seeds12(cell, len(vocab), vocab["<pad>"])
    opt = paddle.optimizer.Adam(1e-2, parameters=model.parameters())
    for a in range(0, 320, 64):  # brief training: 5 steps
        batch = train[a: a + 64]
        loss = paddle.nn.functional.cross_entropy(
            paddle.log(model(paddle.to_tensor(seeds_ids([t for t, _ in batch], vocab))) + 1e-9),
            paddle.to_tensor(np.array([[y] for _, y in batch])), use_softmax=False)
        loss.backward()
        opt.step()
        opt.clear_grad()
    model.eval()
    paddle.save(model.state_dict(), str(tmp_path / f"{cell}.pdparams"))
    out, s = convert(tmp_path / f"{cell}.pdparams", tmp_path / "m", vpath, {"max_len": SEQ_LEN})
    assert (s.cell, s.num_layers, s.bidirectional, s.pooling, s.padding) == (cell.lower(), 2, True, "last", "post")
    ckpt = checkpoint.load(out)
    texts = [t for t, _ in test]
    x = seeds_ids(texts, vocab)
    assert [ckpt.encode_ids(t) for t in texts[:20]] == x[:20].tolist()
    ref = model(paddle.to_tensor(x)).numpy()[:, 1]
    ours = predict_ids(ckpt.model, [ckpt.encode_ids(t) for t in texts])[:, 1].numpy()
    diff = np.abs(ours - ref).max()
    print(f"paddle {cell}: max |P - paddle| = {diff:.3g}")
    assert diff < 1e-5
    tr = trace(ckpt, texts[0], prefix=False, occlusion=False)
    assert tr.length == SEQ_LEN and tr.padding[-1] and tr.tokens[-1] == "<pad>"  # the padding is traced
    out, _ = model.rnn(model.embedding(paddle.to_tensor(x[:1])))  # [1, 200, 2H]: Paddle's top layer
    h = np.concatenate([tr.gate("h", 1, "forward"), tr.gate("h", 1, "backward")], -1)
    print(f"paddle {cell} h_t (top layer): max |h - paddle| = {np.abs(h - out.numpy()[0]).max():.3g}")
    assert np.abs(h - out.numpy()[0]).max() < 1e-5
