"""Batches: length-bucketed index batches and right-padded id tensors with true lengths."""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch


def bucket_batches(lengths: Sequence[int], batch_size: int, shuffle: bool = False, seed: int = 0) -> list[list[int]]:
    """Index batches of similar lengths (little padding): sort within chunks of 50 batches, then shuffle batches."""
    rng = random.Random(seed)
    idx = list(range(len(lengths)))
    if shuffle:
        rng.shuffle(idx)
    chunk = batch_size * 50
    batches: list[list[int]] = []
    for s in range(0, len(idx), chunk):
        part = sorted(idx[s : s + chunk], key=lambda i: lengths[i])
        batches += [part[j : j + batch_size] for j in range(0, len(part), batch_size)]
    if shuffle:
        rng.shuffle(batches)
    return batches


def collate(seqs: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids [B, T] and true lengths [B] (int64, on the CPU, as packing wants)."""
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    ids = torch.full((len(seqs), int(lengths.max())), pad_id, dtype=torch.long)
    for b, s in enumerate(seqs):
        ids[b, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    return ids, lengths
