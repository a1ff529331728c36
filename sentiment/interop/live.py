"""Models in memory (a notebook): ``open_model(module, vocab=..., encode=fn)`` verifies itself.

A ``torch.nn.Module``, a Keras model or a ``paddle.nn.Layer`` the user holds is saved the way its
framework saves it (``torch.save(state_dict)``, ``model.save(".keras")``, ``paddle.save``) into a
private temporary folder and converted through the normal path (the sandbox reads the file); the
live model itself is then run on a handful of texts through the user's own ``encode(text) -> ids``,
and those outputs (with the ids, which pin the tokenizer and framing) are the examples the
conversion must reproduce (``verify.search``), exactly as ``convert --check`` does.

Keras and Paddle are never imported here unless such an object is passed (and then only to save it
and read its outputs); the kind of an object is told from its class's module, not by importing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from sentiment.data.text import cjk_share
from sentiment.errors import InputError
from sentiment.interop.verify import Example

# Short reviews with what tokenizers disagree on (apostrophes, punctuation, numbers, accented letters,
# Latin letters among Chinese characters), of several lengths: short ones tell whether pads are read.
TEXTS = {
    "en": ("A wonderful film: I loved every minute of it!",
           "The plot was dull and the acting was awful.",
           "It's not bad, but I wouldn't watch it again.",
           "Great.",
           "One of the worst movies of 2019; a waste of time and money, honestly?",
           "The first half drags, yet the ending is beautiful, moving and surprisingly funny; the cast does fine "
           "work throughout.",
           "A naïve, café-style romance... but the 3-D effects? Great!"),
    "zh": ("房间很干净，服务也不错！",
           "太差了，再也不会来了。",
           "早餐一般，但是位置很方便，价格合理。",
           "好",
           "酒店设施陈旧，隔音很差，晚上根本睡不着？",
           "总体来说还可以，前台的服务态度很好，下次还会入住这家酒店。",
           "房间的WiFi很慢，但是早餐不错！"),
}


def kind_of(obj: object) -> str | None:
    """"pytorch" | "keras" | "paddle" for a model object (told from its classes' modules), else None."""
    modules = [getattr(c, "__module__", "") or "" for c in type(obj).__mro__]
    if any(m.startswith(("keras", "tf_keras", "tensorflow")) for m in modules):
        return "keras" if hasattr(obj, "save") else None
    if any(m.startswith("paddle") for m in modules):
        return "paddle" if hasattr(obj, "state_dict") else None
    if any(m.startswith("torch.nn") for m in modules):
        import torch

        return "pytorch" if isinstance(obj, torch.nn.Module) else None
    return None


def save(obj: object, kind: str, folder: Path) -> Path:
    """The model saved as its framework saves it, in ``folder``; InputError when that fails."""
    try:
        if kind == "pytorch":
            import torch

            path = folder / "live.pt"
            torch.save(obj.state_dict(), path)
        elif kind == "keras":
            path = folder / "live.keras"
            obj.save(path)
        else:
            import paddle

            path = folder / "live.pdparams"
            paddle.save(obj.state_dict(), str(path))
    except Exception as e:  # noqa: BLE001 - a user's object: whatever its framework raises becomes one line
        raise InputError("verify.live_save", err=f"{type(e).__name__}: {str(e)[:200]}") from None
    return path


def vocab_file(vocab: object, folder: Path) -> Path | None:
    """A vocabulary as a file: a path as it is, a dict (word -> id) as JSON, a list (id -> token) one
    token a line."""
    if vocab is None or isinstance(vocab, (str, Path)):
        return None if vocab is None else Path(vocab)
    if isinstance(vocab, dict):
        path = folder / "vocab.json"
        path.write_text(json.dumps({str(k): int(v) for k, v in vocab.items()}, ensure_ascii=False), encoding="utf-8")
    else:
        path = folder / "vocab.txt"
        path.write_text("".join(f"{t}\n" for t in vocab), encoding="utf-8")
    return path


def language_of(vocab_path: Path | None) -> str:
    """"zh" when the vocabulary is mostly Chinese, else "en" (which built-in texts to run)."""
    if vocab_path is None:
        return "en"
    with open(vocab_path, encoding="utf-8", errors="replace") as f:
        head = f.read(1 << 20)
    return "zh" if cjk_share(head) > 0.3 else "en"


def _ids(encode: Callable, text: str) -> list[int]:
    """encode(text) as a list of ids (a list, tuple, array or tensor, or a batch of one)."""
    try:
        raw = encode(text)
        arr = np.asarray(raw.detach().cpu() if hasattr(raw, "detach") else raw)
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - the user's function
        raise InputError("verify.live_encode", call=f"encode({text[:40]!r})", kind=f"{type(e).__name__}: {str(e)[:120]}") from None
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 1 or not arr.size or arr.dtype.kind not in "iu" or (arr < 0).any():
        raise InputError("verify.live_encode", call=f"encode({text[:40]!r})", kind=f"{type(raw).__name__} {arr.dtype} {arr.shape}")
    return [int(i) for i in arr]


def _numpy(x: object) -> np.ndarray:
    if isinstance(x, (tuple, list)) and x and not isinstance(x[0], (int, float)):
        x = x[0]  # (logits, state, ...): the first output
    if hasattr(x, "logits"):
        x = x.logits
    if hasattr(x, "detach"):
        x = x.detach().cpu()
    elif hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    return np.asarray(x, dtype=np.float64)


def run(obj: object, kind: str, ids: list[int]) -> np.ndarray:
    """The model's own output for one review's ids, in eval mode (its mode restored after)."""
    if kind == "pytorch":
        import torch

        was = obj.training
        dev = next((p.device for p in obj.parameters()), torch.device("cpu"))
        obj.eval()
        try:
            with torch.no_grad():
                out = obj(torch.tensor([ids], dtype=torch.long, device=dev))
        finally:
            obj.train(was)
    elif kind == "keras":
        out = obj(np.asarray([ids], dtype="int32"), training=False)
    else:
        import paddle

        was = obj.training
        obj.eval()
        try:
            with paddle.no_grad():
                out = obj(paddle.to_tensor(np.asarray([ids], dtype="int64")))
        finally:
            obj.train() if was else obj.eval()
    return _numpy(out).reshape(-1)


def examples(obj: object, kind: str, texts: Sequence[str], encode: Callable) -> list[list[Example]]:
    """The live model's outputs on ``texts`` as examples (text, ids and its P(positive) or logits):
    the readings of its outputs to try, most likely first (a 1-unit output in [0, 1] may be a logit
    or a probability; a Keras model's outputs are its head's activations)."""
    rows = []
    for text in texts:
        ids = _ids(encode, text)
        try:
            out = run(obj, kind, ids)
        except Exception as e:  # noqa: BLE001 - the user's model on the user's ids
            raise InputError("verify.live_failed", fn="encode", text=text[:40], err=f"{type(e).__name__}: {str(e)[:200]}") from None
        if out.size not in (1, 2) or not all(map(math.isfinite, out)):
            raise InputError("verify.live_output", text=text[:40], n=int(out.size), sigmoid="sigmoid")
        rows.append((text, ids, [float(v) for v in out]))
    as_probs = [[Example(i, t, positive=min(1.0, max(0.0, v[-1])), ids=ids) for i, (t, ids, v) in enumerate(rows, 1)]]
    as_logits = [[Example(i, t, logits=v, ids=ids) for i, (t, ids, v) in enumerate(rows, 1)]]
    in_unit = all(0 <= x <= 1 for _, _, v in rows for x in v)
    sums_to_one = all(len(v) == 2 and abs(sum(v) - 1) < 1e-5 for _, _, v in rows)
    if kind == "keras":
        return as_probs
    if len(rows[0][2]) == 2:
        return as_probs if in_unit and sums_to_one else as_logits
    return as_logits + as_probs if in_unit else as_logits
