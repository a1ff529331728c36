"""Model: padding never changes a prediction, pooling credit only on real steps, the recurrence
equals PyTorch's packed-sequence result, and ModelConfig refuses what it cannot build."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from sentiment.data.batching import collate
from sentiment.modeling import model as model_mod
from sentiment.modeling.model import CELLS, ModelConfig, SentimentRNN
from sentiment.modeling.pooling import POOLINGS

VOCAB = 40
REVIEW = [3, 7, 2, 9, 4]  # the review under test: 5 tokens
OTHERS = [[5] * 13, [6, 8] * 5]  # longer reviews it is batched with


def make_model(cell: str = "lstm", pooling: str = "max", bidirectional: bool = True, layers: int = 1, seed: int = 0) -> SentimentRNN:
    torch.manual_seed(seed)
    cfg = ModelConfig(vocab_size=VOCAB, embed_dim=6, hidden_size=5, num_layers=layers, bidirectional=bidirectional,
                      cell=cell, pooling=pooling, dropout=0.3, attn_dim=7)
    return SentimentRNN(cfg).eval()


def batch_with_padding() -> tuple[torch.Tensor, torch.Tensor]:
    """[longer, REVIEW, other longer] right-padded: REVIEW is row 1 with 8 pad steps."""
    return collate([OTHERS[0], REVIEW, OTHERS[1]])


# ---- padding invariance ------------------------------------------------------------------------


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [True, False], ids=["bi", "uni"])
@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("cell", CELLS)
def test_a_review_alone_and_in_a_padded_batch_gives_the_same_logits(cell, pooling, bidirectional, layers):
    """A review's logits do not depend on the longer reviews (and padding) it is batched with."""
    m = make_model(cell, pooling, bidirectional, layers)
    with torch.no_grad():
        alone = m(*collate([REVIEW]))[0]
        batched = m(*batch_with_padding())[1]
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell", CELLS)
def test_pad_token_values_do_not_matter(cell):
    """Whatever ids sit in the pad positions, the logits are the same (pads are never read)."""
    m = make_model(cell, "attention", True, 2)
    ids, lengths = batch_with_padding()
    noisy = ids.clone()
    noisy[1, len(REVIEW):] = torch.arange(2, 2 + noisy.shape[1] - len(REVIEW))
    with torch.no_grad():
        torch.testing.assert_close(m(noisy, lengths), m(ids, lengths), atol=1e-6, rtol=0)


@pytest.mark.parametrize("cell", CELLS)
def test_outputs_are_zero_at_pad_steps(cell):
    """The top layer's outputs are exactly zero past each review's length."""
    m = make_model(cell, "max", True, 2)
    ids, lengths = batch_with_padding()
    with torch.no_grad():
        out = m.forward_full(ids, lengths).outputs
    assert out.shape == (3, 13, 10)
    assert float(out[1, len(REVIEW):].abs().sum()) == 0.0 and float(out[2, 10:].abs().sum()) == 0.0
    assert bool((out[1, : len(REVIEW)].abs().sum(-1) > 0).all())


@pytest.mark.parametrize("bidirectional", [True, False], ids=["bi", "uni"])
@pytest.mark.parametrize("cell", CELLS)
def test_padded_recurrence_equals_the_packed_sequence(monkeypatch, cell, bidirectional):
    """run_rnn's per-direction padded recurrence gives the packed-sequence outputs of the fused module."""
    m = make_model(cell, "mean", bidirectional, 2)
    ids, lengths = batch_with_padding()
    with torch.no_grad():
        padded = m.encode(ids, lengths)
        monkeypatch.setattr(model_mod, "RNN_PATH", "packed")
        packed = m.encode(ids, lengths)
    torch.testing.assert_close(padded, packed, atol=1e-5, rtol=0)


@pytest.mark.parametrize("bidirectional", [True, False], ids=["bi", "uni"])
@pytest.mark.parametrize("cell", CELLS)
def test_a_batch_without_padding_runs_in_one_fused_call_with_the_same_outputs(monkeypatch, cell, bidirectional):
    """Training on equal lengths: the whole module runs once (every layer and direction) and gives
    the per-direction recurrence's outputs and gradients."""
    m = make_model(cell, "mean", bidirectional, 2)
    m.train()
    m.rnn.dropout = 0.0  # dropout would draw different masks on the two paths
    m.drop.p = 0.0
    ids, lengths = collate([OTHERS[0], [4] * 13, list(range(1, 14))])  # three reviews of 13 tokens
    calls = []
    forward = m.rnn.forward
    monkeypatch.setattr(m.rnn, "forward", lambda *a, **k: calls.append(a[0].shape) or forward(*a, **k))
    fused = m.encode(ids, lengths)
    assert calls == [torch.Size([3, 13, 6])]
    fused_grads = torch.autograd.grad(fused.square().sum(), list(m.rnn.parameters()))
    monkeypatch.setattr(model_mod, "RNN_PATH", "per-direction")
    per_direction = m.encode(ids, lengths)
    per_direction_grads = torch.autograd.grad(per_direction.square().sum(), list(m.rnn.parameters()))
    assert len(calls) == 1  # the per-direction path runs the one-layer modules, not the whole one
    torch.testing.assert_close(fused, per_direction, atol=1e-6, rtol=0)
    for g_fused, g_per in zip(fused_grads, per_direction_grads):
        torch.testing.assert_close(g_fused, g_per, atol=1e-5, rtol=0)


def test_predictions_run_per_direction_even_without_padding(monkeypatch):
    """In eval mode (predictions, the probe) a batch without padding still runs the same per-direction
    calls as the probe's recompute, so they agree on every device."""
    m = make_model("lstm", "max", True, 2)
    monkeypatch.setattr(m.rnn, "forward", lambda *a, **k: pytest.fail("the whole module ran in eval mode"))
    with torch.no_grad():
        out = m.encode(*collate([[4] * 9, list(range(1, 10))]))
    assert out.shape == (2, 9, 10)


def test_a_padded_batch_does_not_take_the_fused_call(monkeypatch):
    """One shorter review is enough to run per direction (the fused module would read its pads)."""
    m = make_model("lstm", "max", True, 2).train()
    monkeypatch.setattr(m.rnn, "forward", lambda *a, **k: pytest.fail("the whole module ran on a padded batch"))
    with torch.no_grad():
        out = m.encode(*batch_with_padding())
    assert out.shape == (3, 13, 10)


# ---- pooling credit ----------------------------------------------------------------------------


def pooled(cell: str, pooling: str, bidirectional: bool = True):
    m = make_model(cell, pooling, bidirectional, 1)
    ids, lengths = batch_with_padding()
    with torch.no_grad():
        return m.forward_full(ids, lengths), lengths


@pytest.mark.parametrize("bidirectional", [True, False], ids=["bi", "uni"])
@pytest.mark.parametrize("cell", CELLS)
def test_max_pooling_winners_are_real_steps(cell, bidirectional):
    """Max pooling: every unit's winning step lies inside the review, and pooled equals out[winner]."""
    out, lengths = pooled(cell, "max", bidirectional)
    winners = out.pool.winners
    assert bool((winners < lengths[:, None]).all()) and bool((winners >= 0).all())
    torch.testing.assert_close(out.pool.pooled, out.outputs.gather(1, winners[:, None, :]).squeeze(1), atol=0, rtol=0)


def test_max_pooling_beats_every_real_step_even_when_all_are_negative():
    """Max pooling takes the largest real value even when every real value is below the zero pads."""
    m = make_model("gru", "max", True, 1)
    out = -torch.rand(2, 6, 10) - 1.0  # all real values negative
    lengths = torch.tensor([6, 3])
    out[1, 3:] = 0.0  # zero pads, larger than any real value
    res = m.pool(out, lengths)
    torch.testing.assert_close(res.pooled[1], out[1, :3].max(0).values, atol=0, rtol=0)
    assert int(res.winners[1].max()) < 3


@pytest.mark.parametrize("pooling", ["mean", "attention"])
@pytest.mark.parametrize("cell", CELLS)
def test_mean_and_attention_weights_are_zero_on_pads_and_sum_to_one(cell, pooling):
    """Mean and attention weights vanish on pads, sum to 1 per review, and give the pooled vector."""
    out, lengths = pooled(cell, pooling)
    w = out.pool.weights
    mask = torch.arange(w.shape[1])[None, :] < lengths[:, None]
    assert float(w[~mask].abs().sum()) == 0.0
    assert bool((w[mask] > 0).all())
    torch.testing.assert_close(w.sum(1), torch.ones(3), atol=1e-6, rtol=0)
    torch.testing.assert_close(out.pool.pooled, torch.einsum("bt,btd->bd", w, out.outputs), atol=1e-6, rtol=0)


def test_mean_pooling_is_the_mean_of_the_real_steps():
    """Mean pooling is the plain average over each review's own steps."""
    out, lengths = pooled("lstm", "mean")
    torch.testing.assert_close(out.pool.pooled[1], out.outputs[1, : len(REVIEW)].mean(0), atol=1e-6, rtol=0)


@pytest.mark.parametrize("cell", CELLS)
def test_last_pooling_reads_forward_at_len_minus_1_and_backward_at_0(cell):
    """'last', bidirectional: the forward half at t = len-1, the backward half at t = 0."""
    out, lengths = pooled(cell, "last", True)
    H = 5
    for b, n in enumerate(lengths.tolist()):
        assert torch.equal(out.pool.pooled[b, :H], out.outputs[b, n - 1, :H])
        assert torch.equal(out.pool.pooled[b, H:], out.outputs[b, 0, H:])
        assert out.pool.winners[b, :H].tolist() == [n - 1] * H and out.pool.winners[b, H:].tolist() == [0] * H


@pytest.mark.parametrize("cell", CELLS)
def test_last_pooling_unidirectional_reads_len_minus_1(cell):
    """'last', one direction: every unit is read at the review's own last step."""
    out, lengths = pooled(cell, "last", False)
    for b, n in enumerate(lengths.tolist()):
        assert torch.equal(out.pool.pooled[b], out.outputs[b, n - 1])


@pytest.mark.parametrize("cell", CELLS)
def test_last_pooling_is_the_final_hidden_state_of_each_direction(cell):
    """'last' equals h_n of the fused module on the packed sequence (both directions' final states)."""
    m = make_model(cell, "last", True, 1)
    ids, lengths = batch_with_padding()
    with torch.no_grad():
        res = m.forward_full(ids, lengths)
        packed = pack_padded_sequence(m.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
        _, h = m.rnn(packed)
        h_n = h[0] if cell == "lstm" else h  # [2, B, H]
    torch.testing.assert_close(res.pool.pooled, torch.cat([h_n[0], h_n[1]], -1), atol=1e-6, rtol=0)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_every_pooling_gives_credit_that_sums_to_one_on_real_steps(pooling):
    """The per-token credit of every pooling sums to 1 per review and is zero on pads."""
    out, lengths = pooled("gru", pooling)
    w = out.pool.weights
    mask = torch.arange(w.shape[1])[None, :] < lengths[:, None]
    assert float(w[~mask].abs().sum()) == 0.0
    torch.testing.assert_close(w.sum(1), torch.ones(3), atol=1e-6, rtol=0)


# ---- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize("kw,message", [
    ({"cell": "transformer"}, "unknown cell 'transformer'"),
    ({"pooling": "sum"}, "unknown pooling 'sum'"),
    ({"hidden_size": 0}, "hidden_size must be at least 1"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
])
def test_model_config_refuses_what_it_cannot_build(kw, message):
    """ModelConfig names the bad setting."""
    with pytest.raises(ValueError, match=message):
        ModelConfig(vocab_size=10, **kw)


def test_model_config_round_trips_and_ignores_unknown_keys():
    """to_dict/from_dict round-trips a config; keys it does not know are ignored."""
    cfg = ModelConfig(vocab_size=12, hidden_size=3, cell="gru", pooling="attention", bidirectional=False, num_layers=2)
    assert ModelConfig.from_dict(dict(cfg.to_dict(), future_option=1)) == cfg


def test_logits_have_one_row_per_review_and_one_column_per_class():
    """forward returns [B, num_classes] logits."""
    m = make_model("lstm", "max")
    assert m(*batch_with_padding()).shape == (3, 2)


# ---- cuDNN switched off for input gradients, safely across sessions -----------------------------


def test_cudnn_disabled_interleaved_by_two_threads_leaves_cudnn_as_it_was():
    """A enters, B enters, A leaves, B leaves (two sessions taking gradients at once): cuDNN is off
    while either is inside and on again after both. (torch.backends.cudnn.flags() would leave it off:
    B saved A's "off" and restores it last.)"""
    import threading

    steps = [threading.Event() for _ in range(3)]
    seen: dict[str, bool] = {}

    def a() -> None:
        with model_mod.cudnn_disabled():
            steps[0].set()
            steps[1].wait(5)
            seen["a inside"] = torch.backends.cudnn.enabled
        steps[2].set()

    def b() -> None:
        steps[0].wait(5)
        with model_mod.cudnn_disabled():
            steps[1].set()
            steps[2].wait(5)
            seen["b inside after a left"] = torch.backends.cudnn.enabled

    assert torch.backends.cudnn.enabled
    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"a inside": False, "b inside after a left": False}
    assert torch.backends.cudnn.enabled


def test_cudnn_disabled_restores_the_flag_after_an_error():
    with pytest.raises(RuntimeError), model_mod.cudnn_disabled():
        raise RuntimeError("a failing gradient")
    assert torch.backends.cudnn.enabled
