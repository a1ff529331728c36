"""The vanishing-gradient view's numbers: dLoss/dx_t norms, one per token, equal to autograd through model()."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sentiment.data.batching import collate
from sentiment.probe.gradients import input_gradient_norms


@pytest.mark.parametrize("cell,pooling,layers", [("lstm", "last", 2), ("gru", "attention", 1), ("rnn", "max", 1), ("lstm", "mean", 1)])
def test_norms_match_autograd_through_the_whole_model(tiny_checkpoint, cell, pooling, layers):
    """The per-token norms equal the gradient of the model's own loss w.r.t. its embedded input."""
    ck = tiny_checkpoint(cell=cell, pooling=pooling, layers=layers)
    text = "the movie was good not bad at all"
    norms = input_gradient_norms(ck, text)
    assert all(p.grad is None for p in ck.model.parameters())  # autograd.grad: nothing left on the weights
    ids, lengths = collate([ck.encode(text).ids])
    emb = ck.model.embedding(ids).detach().requires_grad_(True)
    handle = ck.model.embedding.register_forward_hook(lambda m, i, o: emb)
    try:
        logits = ck.model(ids, lengths)
        F.cross_entropy(logits, logits.argmax(1)).backward()
    finally:
        handle.remove()
    assert norms.shape == (len(ck.encode(text).ids),)
    assert torch.allclose(torch.as_tensor(norms), emb.grad[0].norm(dim=-1), atol=1e-6)
    assert not ck.model.training


def test_bad_review_raises_the_input_error(tiny_checkpoint):
    from sentiment.errors import InputError

    with pytest.raises(InputError):
        input_gradient_norms(tiny_checkpoint(), "   ")


@pytest.mark.parametrize("low,high,step", [(1e-3, 1.0, 1), (1e-12, 1.0, 2), (0.5, 2.0, 1)])
def test_the_log_axis_labels_whole_decades_only(low, high, step):
    """The chart's log axis ticks every power of ten (every second one past six decades): no crowded
    2s and 5s between them."""
    from sentiment.figures.learn import gradient_norms

    fig = gradient_norms({"lstm": [low, high], "rnn": [high, 0.0]}, ["a", "b"])
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.yaxis.dtick == step
    assert fig.layout.yaxis.exponentformat == "power"
