"""The bag of words' reading of one review: each word's contribution to its score.

A bag of words (``sentiment.modeling.bow``) has no gates and no states; its whole decision is the
sum ``z = sum_t contribution_t + bias`` (logit units: > 0 leans positive). This is what the Compare
page shows beside a gated model: the class sees that a word counts the same wherever it stands
(beyond the pairs of words it knows), so "not" or "but" cannot reach a word three tokens away.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from sentiment.data.text import UNK_ID
from sentiment.errors import InputError
from sentiment.modeling.bow import contributions
from sentiment.modeling.checkpoint import Checkpoint
from sentiment.spec import LABEL_NAMES


@dataclass
class WordReading:
    text: str
    tokens: list[str]  # as read (after the reading limit)
    unk: list[bool]
    contributions: np.ndarray  # [T] logit units, > 0 towards positive; sums with bias to the score
    bias: float
    score: float  # z = contributions.sum() + bias
    probs: np.ndarray  # [2] calibrated (Checkpoint.probabilities)
    label: str
    note: str  # in English
    model_name: str = ""
    notes: list = field(default_factory=list)  # the same as sentiment.i18n.Notes (t(note, lang) translates)


@torch.no_grad()
def read(ckpt: Checkpoint, text: str) -> WordReading:
    """One review through a bag-of-words checkpoint. InputError for a review with no words, or for a
    model that is not a bag of words."""
    if not ckpt.is_bow:
        raise InputError("bow.not_bow")
    enc = ckpt.encode(text)
    contrib, bias = contributions(ckpt.model, enc.ids)
    logits = ckpt.model(torch.tensor([enc.ids]), torch.tensor([len(enc.ids)]))  # [1, 2]
    probs = ckpt.probabilities(logits)[0].numpy()
    name = ckpt.path.rstrip("/").rsplit("/", 1)[-1] if ckpt.path else ""
    return WordReading(text, enc.tokens, [i == UNK_ID for i in enc.ids], contrib, bias, float(contrib.sum() + bias),
                       probs, LABEL_NAMES[int(probs.argmax())], enc.note, name, list(enc.notes))
