"""The machinery under ``model.run_rnn``: one-layer, one-direction views of a fused recurrent module
(cached per module), each review reversed within its own length, and cuDNN switched off safely
across threads.

``model.py`` holds the model and reads top to bottom; these are its helpers. The probe
(``sentiment.probe.instrument``) runs the same one-layer modules so that a Trace recomputes exactly
what the model computed. Every name here is also importable from ``sentiment.modeling.model``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


def cell_of(rnn: nn.Module) -> str:
    return "lstm" if isinstance(rnn, nn.LSTM) else "gru" if isinstance(rnn, nn.GRU) else "rnn"


# ---- one module per layer and direction -----------------------------------------------------------

_DIRECTION_MODULES: weakref.WeakKeyDictionary[nn.RNNBase, list[list[nn.RNNBase]]] = weakref.WeakKeyDictionary()


def direction_modules(rnn: nn.RNNBase) -> list[list[nn.RNNBase]]:
    """[layer][direction] one-layer, one-direction fused modules sharing ``rnn``'s Parameter objects."""
    cached = _DIRECTION_MODULES.get(rnn)
    if cached is not None and all(
        m.weight_hh_l0 is getattr(rnn, f"weight_hh_l{l}{'_reverse' * d}")
        for l, mods in enumerate(cached) for d, m in enumerate(mods)
    ):
        return cached
    if getattr(rnn, "proj_size", 0):
        raise ValueError("LSTMs with proj_size are not supported")
    dirs = 2 if rnn.bidirectional else 1
    kw: dict = dict(batch_first=True, bias=rnn.bias, device="meta")  # meta: no throw-away init
    if cell_of(rnn) == "rnn":
        kw["nonlinearity"] = rnn.nonlinearity
    layers = []
    for l in range(rnn.num_layers):
        in_size = rnn.input_size if l == 0 else rnn.hidden_size * dirs
        mods = []
        for d in range(dirs):
            m = type(rnn)(in_size, rnn.hidden_size, 1, **kw)
            for name in m._flat_weights_names:  # weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0
                setattr(m, name, getattr(rnn, name.replace("_l0", f"_l{l}{'_reverse' * d}")))
            mods.append(m.eval())
        layers.append(mods)
    _DIRECTION_MODULES[rnn] = layers
    return layers


# ---- the backward direction's input ---------------------------------------------------------------


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """x [B, T, ...]: each row's first lengths[b] steps reversed, pad steps left where they are."""
    B, T = x.shape[:2]
    t = torch.arange(T, device=x.device)[None, :]  # [1, T]
    L = lengths.to(x.device)[:, None]  # [B, 1]
    idx = torch.where(t < L, L - 1 - t, t)  # [B, T]
    return x.gather(1, idx.view(B, T, *[1] * (x.dim() - 2)).expand_as(x))


# ---- cuDNN off, shared between threads ------------------------------------------------------------

_cudnn_lock = threading.Lock()
_cudnn_users = 0  # threads inside cudnn_disabled()
_cudnn_saved = True  # the flag as the first of them found it


@contextmanager
def cudnn_disabled() -> Iterator[None]:
    """cuDNN off while any thread needs it off (cuDNN's RNN backward refuses eval mode, and input
    gradients are taken in eval mode). torch.backends.cudnn.flags() is process-wide and restores what
    it found on exit, so two sessions interleaving it could leave cuDNN off for good; here the first
    thread in saves the flag and the last one out restores it."""
    global _cudnn_users, _cudnn_saved
    with _cudnn_lock:
        if _cudnn_users == 0:
            _cudnn_saved = torch.backends.cudnn.enabled
            torch.backends.cudnn.enabled = False
        _cudnn_users += 1
    try:
        yield
    finally:
        with _cudnn_lock:
            _cudnn_users -= 1
            if _cudnn_users == 0:
                torch.backends.cudnn.enabled = _cudnn_saved
