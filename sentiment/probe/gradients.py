"""Gradients through time: how much each input step still moves the loss (the vanishing-gradient view).

``input_gradient_norms(ckpt, text)``: the L2 norm of dLoss/dx_t for every token's embedding x_t, with the
loss the cross-entropy against the model's own predicted label. A plain tanh RNN's norms typically
fade for tokens far from where pooling reads; gated cells keep them up.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from sentiment.data.batching import collate
from sentiment.modeling.checkpoint import Checkpoint
from sentiment.modeling.model import cudnn_disabled, run_rnn


def input_gradient_norms(ckpt: Checkpoint, text: str) -> np.ndarray:
    """[T] ||dLoss/dx_t||_2 for the review's tokens (eval mode: no dropout; cuDNN off for the backward)."""
    enc = ckpt.encode(text)
    model = ckpt.model
    device = next(model.parameters()).device
    ids, lengths = collate([enc.ids])
    was_training = model.training
    model.eval()
    try:
        with cudnn_disabled():
            x = model.embedding(ids.to(device)).detach().requires_grad_(True)  # [1, T, E]
            out = run_rnn(model.rnn, x, lengths)  # [1, T, D]
            logits = model.head(out, lengths).logits  # [1, C]
            loss = F.cross_entropy(logits, logits.argmax(1))
            (grad,) = torch.autograd.grad(loss, x)
    finally:
        model.train(was_training)
    return grad[0].norm(dim=-1).cpu().numpy()  # [T]
