"""The bag-of-words reference: word 1-2 grams, TF-IDF weighted, logistic regression.

It reads the same token ids as the gated models (the same tokenizer and a vocabulary built the same
way), so it can sit beside them everywhere a prediction is made (predict, evaluate, calibration):
``BagOfWords.forward(ids, lengths) -> logits [B, 2]`` like ``SentimentRNN``. It has no gates and no
states, so the probe cannot trace it; what it shows instead is each word's contribution to its
score (``contributions``), which is exactly its decision: a sum, blind to word order beyond a pair.

Features: unigram ids 2..V-1 of the vocabulary (pad and <unk> carry nothing), then the bigrams of
two known words kept at training (``bigrams`` [Nb, 2], sorted by ``a * V + b``), feature V + k. A
review's feature value is log(1 + count) x idf, the vector L2-normalised; the score is
z = w . x + b and the logits are [-z/2, z/2] (so softmax gives sigmoid(z)).

Checkpoint: config.json ``{"kind": "bow", "model": BowConfig, ...}``, the weights ``weight`` [F],
``bias`` [1], ``idf`` [F], ``bigrams`` [Nb, 2] in model.safetensors (no pickle).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
from torch import nn

from sentiment.modeling.pooling import length_mask

KIND = "bow"


@dataclass
class BowConfig:
    vocab_size: int  # V: unigram vocabulary (with <pad>, <unk>)
    num_bigrams: int  # Nb
    num_classes: int = 2
    cell: str = KIND  # what the catalog and the pickers list it as
    pooling: str = "none"
    hidden_size: int = 0
    num_layers: int = 0
    bidirectional: bool = False
    ngram: int = 2

    def __post_init__(self) -> None:
        if int(self.vocab_size) < 3 or int(self.num_bigrams) < 0 or self.num_classes != 2:
            raise ValueError("a bag of words needs vocab_size >= 3, num_bigrams >= 0 and 2 classes")

    @property
    def num_features(self) -> int:
        return self.vocab_size + self.num_bigrams

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> BowConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class Features:
    """A batch as sparse features: one entry per (review, feature) present."""

    rows: torch.Tensor  # [K] review index
    feats: torch.Tensor  # [K] feature index
    values: torch.Tensor  # [K] log(1 + count) x idf / the review's norm


class BagOfWords(nn.Module):
    kind = KIND

    def __init__(self, config: BowConfig):
        super().__init__()
        self.config = c = config
        F = c.num_features
        self.weight = nn.Parameter(torch.zeros(F))
        self.bias = nn.Parameter(torch.zeros(1))
        self.register_buffer("idf", torch.ones(F))
        self.register_buffer("bigrams", torch.zeros(c.num_bigrams, 2, dtype=torch.int64))

    def bigram_keys(self) -> torch.Tensor:
        """[Nb] a * V + b of each kept bigram, ascending (bigrams are stored sorted)."""
        return self.bigrams[:, 0] * self.config.vocab_size + self.bigrams[:, 1]

    def occurrences(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Every feature occurrence of a batch: (row [K], feature [K], first token position [K]).
        ids [B, T], lengths [B]. A bigram occurrence starts at its first word."""
        B, T = ids.shape
        mask = length_mask(lengths.to(ids.device), T)  # [B, T]
        pos = torch.arange(T, device=ids.device).expand(B, T)
        rows = torch.arange(B, device=ids.device)[:, None].expand(B, T)
        uni = mask & (ids > 1)
        r, f, p = [rows[uni]], [ids[uni]], [pos[uni]]
        if T > 1 and self.config.num_bigrams:
            keys = ids[:, :-1] * self.config.vocab_size + ids[:, 1:]  # [B, T-1]
            table = self.bigram_keys()
            at = torch.searchsorted(table, keys).clamp_max(len(table) - 1)
            found = (table[at] == keys) & mask[:, 1:]
            r.append(rows[:, 1:][found])
            f.append(self.config.vocab_size + at[found])
            p.append(pos[:, :-1][found])
        return torch.cat(r), torch.cat(f), torch.cat(p)

    def features(self, ids: torch.Tensor, lengths: torch.Tensor) -> Features:
        """TF-IDF features, L2-normalised per review."""
        B, F = ids.shape[0], self.config.num_features
        r, f, _ = self.occurrences(ids, lengths)
        uniq, counts = torch.unique(r * F + f, return_counts=True)
        rows, feats = uniq // F, uniq % F
        v = torch.log1p(counts.float()) * self.idf[feats]
        norm = torch.zeros(B, device=ids.device).index_add_(0, rows, v * v).sqrt().clamp_min(1e-12)
        return Features(rows, feats, v / norm[rows])

    def score(self, x: Features, batch: int) -> torch.Tensor:
        """z [B] = w . x + b."""
        z = torch.zeros(batch, device=self.weight.device, dtype=self.weight.dtype)
        return z.index_add(0, x.rows, x.values * self.weight[x.feats]) + self.bias

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids [B, T], lengths [B] -> logits [B, 2] = [-z/2, z/2]."""
        z = self.score(self.features(ids, lengths), ids.shape[0])
        return torch.stack([-z / 2, z / 2], 1)

    def num_parameters(self) -> int:
        return self.config.num_features + 1


@torch.no_grad()
def contributions(model: BagOfWords, ids: list[int]) -> tuple[np.ndarray, float]:
    """Each token's share of the score z (logit units; > 0 pushes to positive) and the bias:
    contributions.sum() + bias == z. A word's unigram weight is shared among its occurrences, and a
    bigram's is split between its two words."""
    t = torch.tensor([ids])
    lengths = torch.tensor([len(ids)])
    x = model.features(t, lengths)
    per_feat = dict(zip(x.feats.tolist(), (x.values * model.weight[x.feats]).tolist(), strict=True))
    _, f, p = model.occurrences(t, lengths)
    n_occ: dict[int, int] = {}
    for ff in f.tolist():
        n_occ[ff] = n_occ.get(ff, 0) + 1
    out = np.zeros(len(ids), dtype=np.float64)
    V = model.config.vocab_size
    for ff, pp in zip(f.tolist(), p.tolist(), strict=True):
        share = per_feat[ff] / n_occ[ff]
        if ff < V:
            out[pp] += share
        else:
            out[pp] += share / 2
            out[pp + 1] += share / 2
    return out, float(model.bias)


def is_bow(model: nn.Module) -> bool:
    return getattr(model, "kind", "") == KIND
