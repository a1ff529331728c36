"""PaddlePaddle ``.pdparams`` (``paddle.save(model.state_dict(), PATH)``): a pickle of numpy arrays,
read by ``safepickle.load_arrays``, which admits only arrays and plain containers. Paddle's
recurrent layers keep PyTorch's names and gate orders (LSTM i, f, g, o; GRU r, z, c with
h = z h_prev + (1 - z) c~, PyTorch's n), checked against real Paddle in the tests; its Linear keeps
[in, out] (transposed on reading, see structure._linears). Each array's declared shape must match
its bytes before it is made (safepickle), and all of them as float32 within bounds.MAX_TENSOR_BYTES.
"""

from __future__ import annotations

import numpy as np

from sentiment.errors import InputError
from sentiment.interop import bounds, safepickle


@bounds.messages_only("PaddlePaddle")
def read(data: bytes, name: str) -> tuple[dict[str, np.ndarray], list[str]]:
    obj = safepickle.load_arrays(data)
    if not isinstance(obj, dict):
        raise InputError("interop.not_dict", how="paddle.save(model.state_dict(), PATH)")
    out = {}
    budget = bounds.ByteBudget()
    for k, v in obj.items():
        if k == "StructuredToParameterName@@":
            continue
        if isinstance(v, tuple) and len(v) == 2 and isinstance(v[1], np.ndarray):  # (name, array) of old Paddle
            v = v[1]
        if not isinstance(v, np.ndarray) or v.dtype.kind not in "fiu":
            raise InputError("interop.not_numeric", key=str(k)[:200], kind=type(v).__name__)
        budget.take(v.size * 4)
        out[str(k)] = v.astype(np.float32)
    if not out:
        raise InputError("interop.no_arrays")
    return out, ["paddle state dict (arrays only)"]
