"""Pooling over an RNN's outputs: last / max / mean / attention, all masked by true lengths.

Each pooling returns a ``PoolResult``: the pooled vector and its per-token credit for the views
(max: the share of units each token won and, per unit, the winning step; mean/attention: the
weights; last: the final step of each direction). Pad positions never count.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from sentiment.spec import POOLINGS


@dataclass
class PoolResult:
    pooled: torch.Tensor  # [B, D]
    weights: torch.Tensor  # [B, T] per-token credit, each row sums to 1 over the true steps
    winners: torch.Tensor | None = None  # [B, D] step each unit was read from (max, last); None otherwise


def length_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """[B, T] bool, True on true (non-pad) steps."""
    return torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]


def pool_last(out: torch.Tensor, lengths: torch.Tensor, bidirectional: bool) -> PoolResult:
    """Forward direction at its true last step (len - 1); backward direction at t = 0, where it ends."""
    B, T, D = out.shape
    last = (lengths - 1).clamp(min=0)  # [B]
    winners = last[:, None].expand(B, D).clone()  # [B, D]
    if bidirectional:
        winners[:, D // 2 :] = 0
    pooled = out.gather(1, winners[:, None, :]).squeeze(1)  # [B, D]
    weights = torch.zeros(B, T, device=out.device, dtype=out.dtype)
    weights.scatter_add_(1, winners, torch.full_like(winners, 1.0 / D, dtype=out.dtype))
    return PoolResult(pooled, weights, winners)


def pool_max(out: torch.Tensor, mask: torch.Tensor) -> PoolResult:
    B, T, D = out.shape
    filled = out.masked_fill(~mask[:, :, None], torch.finfo(out.dtype).min)
    pooled, winners = filled.max(dim=1)  # [B, D], [B, D]
    weights = torch.zeros(B, T, device=out.device, dtype=out.dtype)
    weights.scatter_add_(1, winners, torch.full_like(winners, 1.0 / D, dtype=out.dtype))
    return PoolResult(pooled, weights, winners)


def pool_mean(out: torch.Tensor, mask: torch.Tensor) -> PoolResult:
    m = mask.to(out.dtype)  # [B, T]
    weights = m / m.sum(1, keepdim=True).clamp(min=1)
    pooled = torch.bmm(weights[:, None, :], out).squeeze(1)  # [B, D]
    return PoolResult(pooled, weights)


class AdditiveAttention(nn.Module):
    """score_t = v . tanh(W h_t + b); softmax over the true steps only."""

    def __init__(self, dim: int, attn_dim: int = 64):
        super().__init__()
        self.proj = nn.Linear(dim, attn_dim)
        self.v = nn.Linear(attn_dim, 1, bias=False)

    def forward(self, out: torch.Tensor, mask: torch.Tensor) -> PoolResult:
        scores = self.v(torch.tanh(self.proj(out))).squeeze(-1)  # [B, T]
        scores = scores.float().masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1).to(out.dtype)  # [B, T]
        pooled = torch.bmm(weights[:, None, :], out).squeeze(1)  # [B, D]
        return PoolResult(pooled, weights)


class Pooling(nn.Module):
    """One of POOLINGS over outputs [B, T, D] with true lengths [B]."""

    def __init__(self, kind: str, dim: int, bidirectional: bool, attn_dim: int = 64):
        super().__init__()
        if kind not in POOLINGS:
            raise ValueError(f"unknown pooling {kind!r}; choose one of {', '.join(POOLINGS)}")
        self.kind, self.bidirectional = kind, bidirectional
        self.attention = AdditiveAttention(dim, attn_dim) if kind == "attention" else None

    def forward(self, out: torch.Tensor, lengths: torch.Tensor) -> PoolResult:
        lengths = lengths.to(out.device)
        if self.kind == "last":
            return pool_last(out, lengths, self.bidirectional)
        mask = length_mask(lengths, out.shape[1])
        if self.kind == "max":
            return pool_max(out, mask)
        if self.kind == "mean":
            return pool_mean(out, mask)
        return self.attention(out, mask)
