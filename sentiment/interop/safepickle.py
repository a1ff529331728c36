"""Unpicklers that run no code: Paddle's ``.pdparams`` and a whole pickled PyTorch module.

A pickle names functions and classes that Python's own unpickler imports and calls; a malicious
one calls ``os.system``. The unpicklers here never import anything a file names:
- ``load_arrays`` (Paddle): admits only numpy's array reconstructor, ``numpy.ndarray``,
  ``numpy.dtype`` and ``collections.OrderedDict``; any other name refuses the file.
- ``load_torch_module`` (``torch.save(model)``): tensors are rebuilt from the archive's raw
  storages by GateScope's own code; every class the pickle names (the user's model class, torch's
  modules) becomes an inert ``Stub`` that only records the attributes the pickle sets. Calling
  any named function or class (``__reduce__``) refuses the file, naming it.
"""

from __future__ import annotations

import collections
import io
import pickle
import zipfile

import torch

from sentiment.errors import InputError

_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
}


class Refused(InputError):
    """A pickle that asks for something GateScope does not run."""


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _NUMPY_GLOBALS:
            return getattr(__import__(module, fromlist=[name]), name)
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        raise Refused("interop.asks_to_run", name=f"{module}.{name}", how="paddle.save(model.state_dict(), PATH)")

    def persistent_load(self, pid):
        raise Refused("interop.external")


def load_arrays(data: bytes) -> object:
    """A pickle of numpy arrays in plain containers (dict, list, tuple) -> that object."""
    try:
        return _ArrayUnpickler(io.BytesIO(data)).load()
    except Refused:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as e:
        raise InputError("interop.not_array_pickle", err=f"{type(e).__name__}: {e}") from None


def globals_named(data: bytes, limit: int = 5) -> list[str]:
    """The functions and classes a pickle names (read with pickletools; nothing imported or run)."""
    import pickletools

    names, strings = [], []
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                strings.append(str(arg))
            elif op.name == "GLOBAL":
                names.append(str(arg).replace(" ", "."))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                names.append(f"{strings[-2]}.{strings[-1]}")
            if len(names) >= limit:
                break
    except (ValueError, EOFError, pickle.UnpicklingError):
        pass
    return names


# ---- a whole PyTorch module -----------------------------------------------------------------------


class _StubMeta(type):
    def __call__(cls, *args, **kwargs):  # REDUCE: the pickle asks to call the named class or function
        raise Refused("interop.asks_to_call", name=cls.qualname, how="torch.save(model.state_dict(), PATH)")


class Stub(metaclass=_StubMeta):
    """An object of a class the pickle named (never imported): the attributes the pickle set."""

    qualname = "?"

    def __setstate__(self, state) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (dict, slots)
            state = {**(state[0] or {}), **(state[1] or {})}
        object.__setattr__(self, "_stub_state", state if isinstance(state, dict) else {"state": state})


def _stub(module: str, name: str) -> type:
    return _StubMeta(name, (Stub,), {"qualname": f"{module}.{name}"})


_STORAGE_DTYPES = {
    "FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8, "BoolStorage": torch.bool,
}


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    return torch.as_strided(storage, tuple(size), tuple(stride), int(offset)).clone()


def _rebuild_parameter(data, requires_grad=False, hooks=None, state=None):
    return data


def _reconstructor(cls, base, state=None):  # copyreg._reconstructor, for stubs only
    if not (isinstance(cls, type) and issubclass(cls, Stub)):
        raise Refused("interop.asks_to_rebuild", what=repr(cls))
    return object.__new__(cls)


class _ModuleUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str):
        super().__init__(io.BytesIO(data))
        self.archive, self.prefix = archive, prefix

    def find_class(self, module: str, name: str):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch._utils" and name in ("_rebuild_parameter", "_rebuild_parameter_with_state"):
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module in ("builtins", "__builtin__") and name in ("set", "frozenset"):
            return {"set": set, "frozenset": frozenset}[name]
        if (module, name) == ("copyreg", "_reconstructor"):
            return _reconstructor
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        return _stub(module, name)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage" and len(pid) >= 3):
            raise Refused("interop.reference", pid=f"{pid!r:.80}")
        dtype, key = pid[1], str(pid[2])
        if not isinstance(dtype, torch.dtype):
            raise Refused("interop.storage_type", dtype=f"{dtype!r:.80}")
        try:
            raw = self.archive.read(f"{self.prefix}data/{key}")
        except (KeyError, zipfile.BadZipFile, OSError, EOFError) as e:
            raise InputError("interop.storage", key=key, err=e) from None
        return torch.frombuffer(bytearray(raw), dtype=dtype) if raw else torch.empty(0, dtype=dtype)


def load_torch_module(archive: zipfile.ZipFile) -> Stub:
    """The root object of ``torch.save(model)``'s archive, as Stubs and tensors."""
    names = [n for n in archive.namelist() if n.endswith("data.pkl")]
    if not names:
        raise InputError("interop.no_data_pkl", kind="PyTorch", file="data.pkl")
    prefix = names[0][: -len("data.pkl")]
    try:
        order = archive.read(prefix + "byteorder").decode().strip() if prefix + "byteorder" in archive.namelist() else "little"
        if order != "little":
            raise InputError("interop.byte_order", order=order)
        return _ModuleUnpickler(archive.read(names[0]), archive, prefix).load()
    except (Refused, InputError):
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            zipfile.BadZipFile, RuntimeError) as e:
        raise InputError("interop.module_unreadable", err=f"{type(e).__name__}: {e}") from None


def module_tensors(root: object) -> tuple[dict[str, torch.Tensor], dict[str, dict]]:
    """(state_dict-style name -> tensor, module path -> {"class", plain attributes}) of a Stub tree."""
    tensors: dict[str, torch.Tensor] = {}
    modules: dict[str, dict] = {}

    def walk(obj: object, prefix: str) -> None:
        state = getattr(obj, "_stub_state", None)
        if not isinstance(state, dict):
            return
        plain = {k: v for k, v in state.items() if isinstance(v, (bool, int, float, str)) and not k.startswith("_")}
        modules[prefix.rstrip(".")] = {"class": type(obj).qualname, **plain}
        for group in ("_parameters", "_buffers"):
            for name, t in (state.get(group) or {}).items():
                if isinstance(t, torch.Tensor):
                    tensors[prefix + name] = t
        for name, sub in (state.get("_modules") or {}).items():
            if sub is not None:
                walk(sub, f"{prefix}{name}.")

    if not isinstance(root, Stub):
        raise InputError("interop.no_module")
    walk(root, "")
    return tensors, modules
