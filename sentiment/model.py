"""The sentiment model: Embedding -> nn.LSTM | nn.GRU | nn.RNN -> pooling -> dropout -> Linear.

The recurrent layer is PyTorch's fused module (cuDNN on a GPU); sequences are packed by their
true lengths, so padding never reaches the recurrence, the backward direction starts at each
review's own last token, and a review gives the same logits alone or in a padded batch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .pooling import POOLINGS, Pooling, PoolResult

CELLS = ("lstm", "gru", "rnn")
_RNN = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


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

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"unknown cell {self.cell!r}; choose one of {', '.join(CELLS)}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; choose one of {', '.join(POOLINGS)}")
        for name in ("vocab_size", "embed_dim", "hidden_size", "num_layers", "num_classes"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class ModelOutput:
    logits: torch.Tensor  # [B, C]
    outputs: torch.Tensor  # [B, T, D] top layer's hidden states, D = hidden * directions; zero at pads
    pool: PoolResult


class SentimentRNN(nn.Module):
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
        self.fc = nn.Linear(D, c.num_classes)

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids [B, T], lengths [B] -> top-layer outputs [B, T, D] (zeros at pad steps)."""
        x = self.drop(self.embedding(ids))  # [B, T, E]
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        return out  # [B, T, D]

    def head(self, out: torch.Tensor, lengths: torch.Tensor) -> ModelOutput:
        """Pool top-layer outputs [B, T, D] and classify."""
        pool = self.pool(out, lengths)
        logits = self.fc(self.drop(pool.pooled))  # [B, C]
        return ModelOutput(logits, out, pool)

    def forward_full(self, ids: torch.Tensor, lengths: torch.Tensor) -> ModelOutput:
        return self.head(self.encode(ids, lengths), lengths)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids [B, T], lengths [B] -> logits [B, C]."""
        return self.forward_full(ids, lengths).logits

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
