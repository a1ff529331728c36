"""PyTorch files: a state_dict (``.pt`` / ``.pth`` / ``.bin`` via ``torch.load(weights_only=True)``,
or ``.safetensors``), or a whole pickled module (``torch.save(model)``) read by GateScope's own
unpickler (``safepickle.load_torch_module``), which never imports or runs the module's class.
``weights_only=False`` is never used.
"""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import torch

from sentiment.errors import InputError
from sentiment.interop import safepickle


def _flatten(obj: object, prefix: str = "") -> dict[str, torch.Tensor]:
    """Tensors of a (nested) dict, e.g. {"model_state_dict": {...}} from a training checkpoint."""
    out: dict[str, torch.Tensor] = {}
    if isinstance(obj, torch.Tensor):
        out[prefix.rstrip(".")] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    return out


def read(data: bytes, name: str) -> tuple[dict[str, np.ndarray], list[str]]:
    """(name -> float array, notes) of a PyTorch file's tensors."""
    if name.lower().endswith(".safetensors"):
        from safetensors import SafetensorError
        from safetensors.torch import load
        try:
            tensors = load(data)
        except (SafetensorError, ValueError, OSError) as e:
            raise InputError("interop.truncated", kind="safetensors", err=e) from None
        return {k: v.float().numpy() for k, v in tensors.items()}, ["safetensors state dict"]
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        kind = "state dict (torch.load weights_only=True)"
    except pickle.UnpicklingError as e:  # weights_only refused a global: a whole pickled module?
        if "weights_only" not in str(e) and "Unsupported" not in str(e) and "GLOBAL" not in str(e):
            raise InputError("interop.truncated", kind="PyTorch", err=str(e).splitlines()[0]) from None
        obj, kind = _module(data), "whole pickled module (its class not imported; tensors only)"
    except (RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile) as e:
        raise InputError("interop.truncated", kind="PyTorch", err=str(e).splitlines()[0] if str(e) else type(e).__name__) from None
    tensors = _flatten(obj)
    if not tensors:
        raise InputError("interop.no_tensors")
    return {k: v.detach().float().numpy() for k, v in tensors.items()}, [kind]


def _module(data: bytes) -> dict[str, torch.Tensor]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        named = safepickle.globals_named(data)
        if named:
            raise safepickle.Refused("interop.not_archive_asks", kind="PyTorch", names=", ".join(named),
                                     how="torch.save(model.state_dict(), PATH)") from None
        raise safepickle.Refused("interop.not_archive", kind="PyTorch", how="torch.save(model.state_dict(), PATH)") from None
    root = safepickle.load_torch_module(archive)
    tensors, _modules = safepickle.module_tensors(root)
    return tensors
