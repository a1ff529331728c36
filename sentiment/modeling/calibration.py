"""Calibration: the one place logits become the probabilities GateScope shows.

A model's confidence is rescaled by a temperature T fitted on its *validation* split (Guo et al.
2017): p = softmax(logits / T). T > 1 softens an over-confident model; the argmax, hence the
accuracy, never changes. A checkpoint without a fitted temperature reads with T = 1.

Also here: the expected calibration error (ECE, equal-width confidence bins, Guo et al.) and the
reliability table a figure draws. Fitting and ECE work on numpy arrays of logits [N, C].
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

BINS = 10  # ECE bins, equal width over the confidence [0.5, 1] of a binary model's predicted class
T_RANGE = (0.05, 20.0)  # the temperatures a fit may return
TARGET_ECE = 0.02  # the test split's ECE after calibration a shipped model should reach (issue 15)


def probabilities(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Class probabilities [..., C] from logits [..., C]: softmax(logits / T), in float32."""
    return torch.softmax(logits.float() / float(temperature), dim=-1)


def _softmax_np(logits: np.ndarray, temperature: float) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / temperature  # [N, C]
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, labels: Sequence[int], temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the labels under softmax(logits / T)."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))  # [N, C]
    return float(-logp[np.arange(len(labels)), np.asarray(labels, dtype=np.int64)].mean())


def fit_temperature(logits: np.ndarray, labels: Sequence[int]) -> float:
    """The T in T_RANGE minimising the NLL of the labels (golden-section search on log T; the NLL is
    convex in 1/T). Pass *validation* logits and labels only; ValueError on empty or mismatched input."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or len(logits) == 0 or len(logits) != len(labels):
        raise ValueError(f"need logits [N, C] and N labels (got {logits.shape} and {len(labels)})")
    lo, hi = math.log(T_RANGE[0]), math.log(T_RANGE[1])
    g = (math.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(logits, labels, math.exp(a)), nll(logits, labels, math.exp(b))
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = nll(logits, labels, math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(logits, labels, math.exp(b))
    return float(math.exp((lo + hi) / 2))


def reliability(logits: np.ndarray, labels: Sequence[int], temperature: float = 1.0, bins: int = BINS) -> list[dict]:
    """Per confidence bin (equal width over [0, 1]; empty bins left out): {"lo", "hi", "n",
    "confidence" (mean predicted-class probability), "accuracy"}."""
    p = _softmax_np(logits, temperature)  # [N, C]
    conf, pred = p.max(axis=1), p.argmax(axis=1)
    right = pred == np.asarray(labels, dtype=np.int64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, bins - 1)  # bin (lo, hi]
    rows = []
    for k in range(bins):
        m = idx == k
        if m.any():
            rows.append({"lo": float(edges[k]), "hi": float(edges[k + 1]), "n": int(m.sum()),
                         "confidence": float(conf[m].mean()), "accuracy": float(right[m].mean())})
    return rows


def ece(logits: np.ndarray, labels: Sequence[int], temperature: float = 1.0, bins: int = BINS) -> float:
    """Expected calibration error: sum over bins of (share of reviews) x |accuracy - confidence|."""
    rows = reliability(logits, labels, temperature, bins)
    n = sum(r["n"] for r in rows)
    return float(sum(r["n"] / n * abs(r["accuracy"] - r["confidence"]) for r in rows)) if n else 0.0


def ece_noise(logits: np.ndarray, temperature: float = 1.0, draws: int = 200, seed: int = 0,
              bins: int = BINS) -> dict:
    """The ECE a perfectly calibrated model would show on these reviews, from sampling alone: labels are
    drawn from the calibrated probabilities themselves, ``draws`` times. {"mean", "p95"}."""
    p = _softmax_np(logits, temperature)[:, 1]  # [N]
    rng = np.random.default_rng(seed)
    values = [ece(logits, (rng.random(len(p)) < p).astype(int), temperature, bins) for _ in range(draws)]
    return {"mean": float(np.mean(values)), "p95": float(np.quantile(values, 0.95))}


def _number(value) -> float | None:
    """A finite int or float (not a bool) as a float, else None."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def temperature_of(config: dict) -> float:
    """The temperature a checkpoint's config.json records ({"calibration": {"temperature": T}}), else 1.
    ValueError when it is there but not a positive finite number."""
    cal = config.get("calibration")
    if cal is None:
        return 1.0
    t = cal.get("temperature") if isinstance(cal, dict) else None
    if _number(t) is None or t <= 0:
        raise ValueError(f"calibration temperature must be a positive number (got {t!r})")
    return float(t)


def ece_on_test(record: object) -> tuple[float, bool] | None:
    """A card's calibration record read for a reader of the probability: (the test split's ECE after the
    temperature, whether that is more than sampling explains: above TARGET_ECE and above the noise level
    of a perfectly calibrated model on as many reviews). None without a usable record."""
    if not isinstance(record, dict):
        return None
    after, noise = _number(record.get("test_ece_after")), _number(record.get("test_ece_noise_p95"))
    if after is None or after < 0:
        return None
    return after, after > max(TARGET_ECE, noise or 0.0)
