"""The sentiment model: Embedding -> nn.LSTM | nn.GRU | nn.RNN -> pooling -> dropout -> Linear.

The recurrent layer is PyTorch's fused module (cuDNN on a GPU). It is run one layer and one
direction at a time, with one-layer modules that share its Parameter objects, on right-padded
input: the forward direction reads the real tokens before any padding, and the backward direction
reads each review reversed within its own length (``reverse_padded``), so it starts at the review's
own last token. Real steps are therefore exact, pad steps are zeroed, and a review gives the same
logits alone or in a padded batch. (This is the packed-sequence result without packing: on the CPU
the backward pass through packed sequences was measured 9x slower than through padded ones, and on
an H100 training was 2x faster padded.)

Reading order: ``SentimentRNN``, what it returns (``ModelOutput``) and is built from
(``ModelConfig``), then ``run_rnn``, the recurrence itself. The one-layer modules, the in-length
reversal and the cuDNN switch are in ``sentiment.modeling.recurrence`` (importable from here too).

Shapes: B reviews, T steps (the longest review), E embedding size, H hidden size, D = H x
directions (the top layer's outputs), C classes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from sentiment.modeling.pooling import IMPORT_POOLINGS, POOLINGS, Pooling, PoolResult, length_mask
from sentiment.modeling.recurrence import (  # noqa: F401 (cell_of, cudnn_disabled, reverse_padded: imported from here too)
    cell_of,
    cudnn_disabled,
    direction_modules,
    reverse_padded,
)
from sentiment.spec import CELLS

_RNN = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
PADDINGS = ("none", "pre", "post")
MERGES = ("concat", "sum", "ave", "mul")  # how a bidirectional top layer's two directions are joined (Keras' merge_mode)
ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda v: v}


class SentimentRNN(nn.Module):
    """ids [B, T] -> embedding [B, T, E] -> dropout -> recurrence [B, T, D] (zeros at pads) -> pooling
    [B, D] (or [B, H] when the directions are merged) -> dropout -> (an imported model's Dense layer)
    -> Linear -> logits [B, C]."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = c = config
        self.embedding = nn.Embedding(c.vocab_size, c.embed_dim, padding_idx=0)
        rnn_kwargs = dict(batch_first=True, bidirectional=c.bidirectional, dropout=c.dropout if c.num_layers > 1 else 0.0)
        if c.cell == "rnn":
            rnn_kwargs["nonlinearity"] = "tanh"
        self.rnn = _RNN[c.cell](c.embed_dim, c.hidden_size, c.num_layers, **rnn_kwargs)
        D = c.hidden_size * c.directions
        self.pool = Pooling(c.pooling, D, c.bidirectional, c.attn_dim)
        self.drop = nn.Dropout(c.dropout)
        self.hidden = nn.Linear(c.pooled_size, c.hidden_dense) if c.hidden_dense else None  # imported models only
        self.fc = nn.Linear(c.hidden_dense or c.pooled_size, c.num_classes)

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids [B, T], lengths [B] -> top-layer outputs [B, T, D] (zeros at pad steps)."""
        x = self.drop(self.embedding(ids))  # [B, T, E]
        return run_rnn(self.rnn, x, lengths)  # [B, T, D]

    def head(self, out: torch.Tensor, lengths: torch.Tensor) -> ModelOutput:
        """Pool top-layer outputs [B, T, D] and classify."""
        c = self.config
        seq = torch.tanh(out) if c.output_activation == "tanh" else out  # [B, T, D]
        if c.merge == "concat":
            pool = self.pool(seq, lengths)
        elif self.pool.kind == "last":  # each direction's final state, then merged (Keras, return_sequences=False)
            pool = self.pool(seq, lengths)
            pool = PoolResult(merge_directions(pool.pooled, c.merge), pool.weights, pool.winners)  # pooled [B, H]
        else:  # merged at every step, then pooled over time; a merged unit is no one direction's: no winners
            pool = self.pool(merge_directions(seq, c.merge), lengths)  # [B, T, H] -> [B, H]
            pool = PoolResult(pool.pooled, pool.weights, None)
        z = self.drop(pool.pooled)  # [B, D or H]
        if self.hidden is not None:
            z = ACTIVATIONS[c.hidden_activation](self.hidden(z))  # [B, hidden_dense]
        logits = self.fc(z)  # [B, C]
        return ModelOutput(logits, out, pool)

    def forward_full(self, ids: torch.Tensor, lengths: torch.Tensor) -> ModelOutput:
        return self.head(self.encode(ids, lengths), lengths)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids [B, T], lengths [B] -> logits [B, C]."""
        return self.forward_full(ids, lengths).logits

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


@dataclass
class ModelOutput:
    logits: torch.Tensor  # [B, C]
    outputs: torch.Tensor  # [B, T, D] top layer's hidden states, D = hidden * directions; zero at pads
    pool: PoolResult


@dataclass
class ModelConfig:
    vocab_size: int
    embed_dim: int = 64
    hidden_size: int = 64
    num_layers: int = 1
    bidirectional: bool = True
    cell: str = "lstm"
    pooling: str = "max"
    dropout: float = 0.3
    num_classes: int = 2
    attn_dim: int = 64
    # How an imported model (sentiment.interop) ran in its framework; the defaults are GateScope's own.
    padding: str = "none"  # "none": true lengths, pads masked; "pre" / "post": padded to max_len, pads read
    truncating: str = "post"  # "post": keep the first max_len tokens; "pre": keep the last (Keras' default)
    output_activation: str = "none"  # "tanh": on the top layer's outputs before pooling (seed 3)
    hidden_dense: int = 0  # units of a Dense layer between pooling and head; 0: none
    hidden_activation: str = "relu"  # of that layer: relu | tanh | sigmoid | linear
    merge: str = "concat"  # the top layer's directions: concat [H * 2] | sum | ave | mul [H] (Keras' merge_mode)

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"unknown cell {self.cell!r}; choose one of {', '.join(CELLS)}")
        if self.pooling not in POOLINGS + IMPORT_POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; choose one of {', '.join(POOLINGS)}")
        for name in ("vocab_size", "embed_dim", "hidden_size", "num_layers", "num_classes"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        for name, allowed in (("padding", PADDINGS), ("truncating", ("pre", "post")),
                              ("output_activation", ("none", "tanh")), ("hidden_activation", tuple(ACTIVATIONS)),
                              ("merge", MERGES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"unknown {name} {getattr(self, name)!r}; choose one of {', '.join(allowed)}")
        if int(self.hidden_dense) < 0:
            raise ValueError("hidden_dense must be at least 0")
        if self.merge != "concat" and (not self.bidirectional or self.pooling == "attention"):
            raise ValueError(f"merge {self.merge!r} needs a bidirectional model pooled by last, last_step, max or mean")

    @property
    def reads_padding(self) -> bool:
        """True when the model reads pad steps (an imported model padded to a fixed length)."""
        return self.padding != "none"

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def pooled_size(self) -> int:
        """Units the head reads: hidden x directions, or hidden when the directions are merged."""
        return self.hidden_size * (self.directions if self.merge == "concat" else 1)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def merge_directions(x: torch.Tensor, how: str) -> torch.Tensor:
    """x [..., 2H] (forward half, backward half) -> [..., H]: f + b, (f + b) / 2 or f * b."""
    f, b = x.chunk(2, dim=-1)
    return f + b if how == "sum" else (f + b) / 2 if how == "ave" else f * b


# ---- the recurrence ---------------------------------------------------------------------------------

# How run_rnn runs the recurrence: "padded" (per layer and direction, right-padded input; measured
# faster than packed sequences for training on both the CPU and an H100, see BENCHMARKS.md; in
# training, a batch without padding takes one fused call over every layer and direction), "per-direction"
# (always per layer and direction) or "packed" (one fused call on a PackedSequence). The last two
# are kept for the benchmark's comparison. Read at every call: set it here (tests and the benchmark do).
RNN_PATH = "padded"


def run_rnn(rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """x [B, T, E] right-padded, lengths [B] -> top-layer outputs [B, T, H * directions], zeros at pads.

    The same result as running ``rnn`` on the packed sequence (dropout between layers included)."""
    if RNN_PATH == "packed":
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = rnn(packed)
        return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]
    if RNN_PATH == "padded" and rnn.training and bool((lengths == x.shape[1]).all()):
        # Training on a batch without padding: the whole module in one fused call (every layer and
        # both directions, which cuDNN can overlap); the same outputs as below. Only in training, so
        # that a prediction and the probe's recompute keep running the very same per-direction calls
        # on every device. (Dropout between layers then comes from cuDNN's own generator on a GPU,
        # which torch.manual_seed does not reset; cuDNN training is not bit-repeatable anyway.)
        return rnn(x)[0]  # [B, T, H * dirs]
    mask = length_mask(lengths.to(x.device), x.shape[1])[:, :, None].to(x.dtype)  # [B, T, 1]
    layers = direction_modules(rnn)
    inp = x
    for l, mods in enumerate(layers):
        outs = []
        for d, mod in enumerate(mods):
            mod.training = rnn.training  # cuDNN's backward needs training mode; one layer: no dropout inside
            xi = inp if d == 0 else reverse_padded(inp, lengths)
            out, _ = mod(xi)  # [B, T, H]; steps past a review's length read padding and are dropped
            outs.append(out if d == 0 else reverse_padded(out, lengths))
        inp = torch.cat(outs, -1) * mask.to(outs[0].dtype)  # [B, T, H * dirs]
        if l < len(layers) - 1 and rnn.dropout and rnn.training:
            inp = F.dropout(inp, rnn.dropout, training=True)
    return inp
