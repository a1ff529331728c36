"""The probe: the instrumented model and what is read from it.

``instrument`` (``Trace``: every gate, cell and hidden state of a model on a review, recomputed
from the fused layer's outputs), ``reference`` (one step of each cell written as its equations;
the probe is held to it), ``gradients`` (input gradients through time), ``updates`` (cell updates
split into kept and written), ``counterfactual`` (edits of a review and the diff of two Traces),
``patterns`` (units and phrases across a traced dataset), ``cli`` (``python -m sentiment.trace``).

``from sentiment import probe; probe.trace(ckpt, text)`` is the usual entry.
"""

from sentiment.probe.instrument import (  # noqa: F401 (the probe's public names)
    GATE_NAMES,
    SIGMOID_GATES,
    LayerTrace,
    Trace,
    cell_of,
    dataset_saturation,
    recompute,
    trace,
)
