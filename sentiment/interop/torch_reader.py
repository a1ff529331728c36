"""PyTorch files: a state_dict (``.pt`` / ``.pth`` / ``.bin`` via ``torch.load(weights_only=True)``,
or ``.safetensors``), or a whole pickled module (``torch.save(model)``) read by GateScope's own
unpickler (``safepickle.load_torch_module``), which never imports or runs the module's class.
``weights_only=False`` is never used.

Before ``torch.load`` sees a file: a zip archive's members are checked (``bounds.open_zip``) and its
pickle is read as a skeleton (``safepickle.prescan``: instructions, dict keys, objects, nesting);
a legacy file's declared storages must fit the file. After it: every tensor's view must fit its
storage without overlapping (a stride-0 60000 x 60000 view of one float is refused, never copied)
and all of them together, as float32, within ``bounds.MAX_TENSOR_BYTES``.
"""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import torch

from sentiment.errors import InputError
from sentiment.interop import bounds, safepickle

_ZIP = b"PK\x03\x04"  # torch.load reads a file starting so as an archive


def _flatten(obj: object) -> dict[str, torch.Tensor]:
    """Tensors of a (nested) dict, e.g. {"model_state_dict": {...}} from a training checkpoint,
    walked within a visit budget (a dict shared by many parents counts at each) and depth."""
    out: dict[str, torch.Tensor] = {}
    budget = bounds.Budget()

    def walk(o: object, prefix: str, depth: int) -> None:
        if isinstance(o, torch.Tensor):
            out[bounds.check_name(prefix.rstrip("."))] = o
        elif isinstance(o, dict):
            budget.visit(depth, len(o))
            bounds.check_name(prefix)
            for k, v in o.items():
                walk(v, f"{prefix}{k}.", depth + 1)

    walk(obj, "", 0)
    return out


def _as_arrays(tensors: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """Float arrays of the tensors, each view checked against its storage first, and their float32
    bytes together within the cap: nothing a file merely declares is copied."""
    budget = bounds.ByteBudget()
    for name, t in tensors.items():
        if t.layout != torch.strided or t.device.type != "cpu" or t.is_complex() or t.is_quantized:
            raise InputError("interop.tensor_kind", name=name[:200], kind=f"{t.layout}, {t.dtype}, {t.device.type}")
        bounds.check_view(tuple(t.shape), tuple(t.stride()), t.storage_offset(),
                          t.untyped_storage().nbytes() // t.element_size(), name[:200])
        budget.take(t.numel() * 4)
    return {k: v.detach().float().numpy() for k, v in tensors.items()}


@bounds.messages_only("PyTorch")
def read(data: bytes, name: str, modules: dict | None = None) -> tuple[dict[str, np.ndarray], list[str]]:
    """(name -> float array, notes) of a PyTorch file's tensors; a whole pickled module's module tree
    (path -> {"class", plain attributes}, in the order __init__ made them) goes into ``modules``."""
    if name.lower().endswith(".safetensors"):
        return _safetensors(data), ["safetensors state dict"]
    obj, kind = _load(data, {} if modules is None else modules)
    tensors = _flatten(obj)
    if not tensors:
        raise InputError("interop.no_tensors")
    return _as_arrays(tensors), [kind]


def _safetensors(data: bytes) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        tensors = load(data)  # the format itself checks every tensor's byte range against the file
    except (SafetensorError, ValueError, OSError) as e:
        raise InputError("interop.truncated", kind="safetensors", err=str(e)[:200]) from None
    return _as_arrays(tensors)


def _prescan(data: bytes) -> bool:
    """Check what torch.load would trust; False when the file is no torch format at all."""
    if data[:4] == _ZIP:
        try:
            archive = bounds.open_zip(data, "PyTorch")
        except (zipfile.BadZipFile, EOFError, OSError) as e:
            raise InputError("interop.truncated", kind="PyTorch", err=f"{type(e).__name__}: {str(e)[:200]}") from None
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl")]
        for n in pickles:
            safepickle.prescan(bounds.read_member(archive, n, bounds.MAX_UNZIPPED))
        return bool(pickles)
    return safepickle.prescan_legacy(data)


def _load(data: bytes, modules: dict) -> tuple[object, str]:
    if not _prescan(data):  # a plain pickle: the whole-module reader names what it asks to run
        return _module(data, modules), "whole pickled module (its class not imported; tensors only)"
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True), \
            "state dict (torch.load weights_only=True)"
    except pickle.UnpicklingError as e:  # weights_only refused a global: a whole pickled module?
        if "weights_only" not in str(e) and "Unsupported" not in str(e) and "GLOBAL" not in str(e):
            raise InputError("interop.truncated", kind="PyTorch", err=str(e).splitlines()[0][:200]) from None
        return _module(data, modules), "whole pickled module (its class not imported; tensors only)"
    except (RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile) as e:
        err = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise InputError("interop.truncated", kind="PyTorch", err=err) from None


def _module(data: bytes, modules: dict) -> dict[str, torch.Tensor]:
    try:
        archive = bounds.open_zip(data, "PyTorch")
    except zipfile.BadZipFile:
        named = safepickle.globals_named(data)
        if named:
            raise safepickle.Refused("interop.not_archive_asks", kind="PyTorch", names=", ".join(named),
                                     how="torch.save(model.state_dict(), PATH)") from None
        raise safepickle.Refused("interop.not_archive", kind="PyTorch", how="torch.save(model.state_dict(), PATH)") from None
    root = safepickle.load_torch_module(archive)
    tensors, found = safepickle.module_tensors(root)
    modules.update(found)
    return tensors
