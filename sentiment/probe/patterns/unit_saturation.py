"""Gate saturation over the sample: per unit, the share of tokens with each sigmoid gate below 0.1
("left") or above 0.9 ("right") (Karpathy et al. 2015), as ``probe.dataset_saturation`` counts
one review. (Not named ``saturation.py``: the package re-exports the function ``saturation``.)"""

from __future__ import annotations

import numpy as np

from sentiment.probe.instrument import SIGMOID_GATES
from sentiment.probe.patterns.trace import SATURATION, BatchTrace


def saturation(bt: BatchTrace, low: float = SATURATION[0], high: float = SATURATION[1]) -> dict:
    """Per unit, the share of the sample's tokens with each sigmoid gate below low ("left") and above
    high ("right"), per layer and direction: {(layer, direction, gate): {"left": [H], "right": [H],
    "steps", "reviews"}} (the keys and definitions of probe.dataset_saturation). At the default
    thresholds the counts made from float32 values while tracing are used; otherwise the stored float16."""
    stored = bt.info.get("saturation", {})
    counted = [(int(k.split("|")[0]), k.split("|")[1], k.split("|")[2]) for k in stored.get("counts", {})]
    out = {}
    for key in bt.keys() + [k for k in counted if k not in bt.arrays]:  # a trace that kept only the states
        if key[2] not in SIGMOID_GATES[bt.cell]:
            continue
        counts = stored.get("counts", {}).get("|".join(map(str, key)))
        if key not in bt.arrays and (low, high) != (stored.get("low"), stored.get("high")):
            continue  # not kept, and counted only at the default thresholds
        if counts is not None and (low, high) == (stored.get("low"), stored.get("high")):
            left, right = np.asarray(counts["left"], np.float64), np.asarray(counts["right"], np.float64)
        else:
            v = bt.values(key)
            left, right = np.zeros(v.shape[1]), np.zeros(v.shape[1])
            step = 1 << 16
            for a in range(0, bt.n_tokens, step):
                block = np.asarray(v[a: a + step], dtype=np.float32)
                left += (block < low).sum(0)
                right += (block > high).sum(0)
        out[key] = {"left": left / bt.n_tokens, "right": right / bt.n_tokens, "steps": bt.n_tokens, "reviews": bt.n}
    return out
