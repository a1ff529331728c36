"""Unpicklers that run no code and trust no declared size: Paddle's ``.pdparams``, a whole pickled
PyTorch module, and a check of any torch pickle before ``torch.load`` reads it.

A pickle names functions and classes that Python's own unpickler imports and calls; a malicious
one calls ``os.system``. The unpicklers here never import anything a file names:
- ``load_arrays`` (Paddle): admits only numpy's array reconstructor, ``numpy.ndarray``,
  ``numpy.dtype`` and ``collections.OrderedDict``; any other name refuses the file. The arrays are
  rebuilt by GateScope's own code: numeric types only, and the declared shape times the item size
  must equal the raw bytes present before anything is allocated.
- ``load_torch_module`` (``torch.save(model)``): tensors are rebuilt from the archive's raw
  storages by GateScope's own code, each view checked against its storage (``bounds.check_view``);
  every class the pickle names (the user's model class, torch's modules) becomes an inert ``Stub``
  that only records the attributes the pickle sets. Calling any named function or class
  (``__reduce__``) refuses the file, naming it.
- ``prescan`` / ``prescan_legacy``: a torch pickle read as a skeleton (every global and call an
  inert ``_Node``; nothing is called) so its size, nesting and dict keys are checked before
  ``torch.load(weights_only=True)`` builds it.

All three run on Python's own pure-Python unpickler (``pickle._Unpickler``), not the C one: the C
unpickler allocates a byte string's declared length before reading it, and hashes whatever a file
puts in a dict key (a tuple nested two million deep crashes the process; shared nested tuples take
forever). Here every instruction is counted (``bounds.MAX_OPCODES``), every dict key and set member
must be a plain value before it is hashed, and the objects built are walked with a visit budget.
"""

from __future__ import annotations

import collections
import io
import pickle
import re
import zipfile
from typing import Any

import numpy as np
import torch

from sentiment.errors import InputError
from sentiment.interop import bounds

_NUMPY_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
_ATOMS = (str, bytes, int, float, bool, type(None))
_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # torch's legacy (pre-zip) format begins with this pickle


class Refused(InputError):
    """A pickle that asks for something GateScope does not run."""


def _short(obj: object) -> str:
    """A few characters naming an object from a file, without repr-ing a structure of any size."""
    return repr(obj)[:80] if isinstance(obj, _ATOMS) else type(obj).__name__


# ---- the bounded unpickler every reader here runs on ---------------------------------------------


class _Bounded(pickle._Unpickler):
    """Python's unpickler with a cap on instructions, plain keys only, and no BUILD but the ones a
    subclass admits (``_build``)."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file: io.BytesIO):
        super().__init__(file)
        self.ops = 0

    # every dict key and set member is checked before it is hashed
    def _key(self, key: object) -> object:
        if isinstance(key, _ATOMS) or self._opaque(key):
            return key
        if type(key) is tuple and len(key) <= 16 and all(isinstance(k, _ATOMS) for k in key):
            return key
        raise Refused("interop.bad_key", kind=type(key).__name__)

    def _opaque(self, obj: object) -> bool:  # objects hashed by identity (a subclass's inert stand-ins)
        return False

    def _target(self, obj: object, kind: type) -> Any:
        if not isinstance(obj, kind):
            raise Refused("interop.asks_to_rebuild", what=type(obj).__name__)
        return obj

    def load_setitem(self) -> None:
        value, key = self.stack.pop(), self.stack.pop()
        self._target(self.stack[-1], dict)[self._key(key)] = value

    def load_setitems(self) -> None:
        items = self.pop_mark()
        target = self._target(self.stack[-1], dict)
        for i in range(0, len(items) - 1, 2):
            target[self._key(items[i])] = items[i + 1]

    def load_dict(self) -> None:
        items = self.pop_mark()
        self.append({self._key(items[i]): items[i + 1] for i in range(0, len(items) - 1, 2)})

    def load_additems(self) -> None:
        items = self.pop_mark()
        target = self._target(self.stack[-1], set)
        for item in items:
            target.add(self._key(item))

    def load_frozenset(self) -> None:
        self.append(frozenset(self._key(item) for item in self.pop_mark()))

    def load_build(self) -> None:
        state = self.stack.pop()
        self._build(self.stack[-1], state)

    def _build(self, inst: object, state: object) -> None:  # BUILD: inst.__setstate__(state)
        raise Refused("interop.asks_to_rebuild", what=type(inst).__name__)

    def load_newobj(self) -> None:
        args = self.stack.pop()
        self.append(self._new(self.stack.pop(), args))

    def load_newobj_ex(self) -> None:
        _kwargs, args = self.stack.pop(), self.stack.pop()
        self.append(self._new(self.stack.pop(), args))

    def _new(self, cls: object, args: object) -> object:  # NEWOBJ: cls.__new__(cls, *args)
        raise Refused("interop.asks_to_rebuild", what=_short(cls))

    def safe_set(self, items=()) -> set:
        return {self._key(x) for x in items}

    def safe_frozenset(self, items=()) -> frozenset:
        return frozenset(self._key(x) for x in items)

    def safe_ordered_dict(self, items=()) -> collections.OrderedDict:
        out = collections.OrderedDict()
        for pair in items:
            key, value = pair
            out[self._key(key)] = value
        return out


for _name in ("load_setitem", "load_setitems", "load_dict", "load_additems", "load_frozenset", "load_build",
              "load_newobj", "load_newobj_ex"):
    _op = getattr(pickle, _name[5:].upper())[0]
    _Bounded.dispatch[_op] = getattr(_Bounded, _name)


def _counted(step):
    def counted(self: _Bounded) -> None:
        self.ops += 1
        if self.ops > bounds.MAX_OPCODES:
            raise InputError("interop.too_many_objects", most=bounds.MAX_OPCODES)
        step(self)

    return counted


_Bounded.dispatch = {op: _counted(step) for op, step in _Bounded.dispatch.items()}


def _children(obj: object) -> tuple[int, list]:
    """(how many items a visit of obj iterates, the containers among them) for a walk."""
    if isinstance(obj, dict):
        items = [*obj.keys(), *obj.values()]
    elif isinstance(obj, (list, tuple, set, frozenset)):
        items = list(obj)
    elif isinstance(obj, _Node):
        items = obj.parts
    elif isinstance(obj, Stub):
        items = [obj.__dict__.get("_stub_state")]
    else:
        return 0, []
    return len(items), [x for x in items if not isinstance(x, _ATOMS)]


def check_walk(root: object, budget: bounds.Budget | None = None) -> None:
    """Walk every container reachable from ``root`` (shared ones at every path to them), iteratively,
    within ``budget``'s visits and depth: what the readers' own walks may then do safely."""
    budget = budget or bounds.Budget()
    stack = [(root, 0)]
    while stack:
        obj, depth = stack.pop()
        n, subs = _children(obj)
        budget.visit(depth, n)
        stack.extend((s, depth + 1) for s in subs)


# ---- Paddle / numpy arrays ------------------------------------------------------------------------

_DTYPE_SPEC = re.compile(r"[<>|=]?(b1|[iuf][1248]|f2)")


class _NdarrayName:
    """``numpy.ndarray`` as a pickle names it: the subtype argument of the reconstructor only."""

    def __init__(self, *args, **kwargs):
        raise Refused("interop.asks_to_call", name="numpy.ndarray", how="paddle.save(model.state_dict(), PATH)")


class _DType:
    """``numpy.dtype(spec, align, copy)`` and its BUILD state, for plain numeric types only."""

    def __init__(self, spec: object = None, align: object = False, copy: object = False):
        if not (isinstance(spec, str) and _DTYPE_SPEC.fullmatch(spec)):
            raise Refused("interop.array_dtype", dtype=_short(spec))
        self.dtype = np.dtype(spec)

    def __setstate__(self, state: object) -> None:
        # (version, byteorder, subarray, names, fields, elsize, alignment, flags): no fields, no subarray
        if not (isinstance(state, tuple) and len(state) >= 5 and state[1] in ("<", ">", "|", "=")
                and state[2] is None and state[3] is None and state[4] is None):
            raise Refused("interop.array_dtype", dtype=_short(state))
        if state[1] in "<>" and self.dtype.itemsize > 1:
            self.dtype = self.dtype.newbyteorder(state[1])


class _ArrayState:
    """What numpy's ``_reconstruct`` returns, before its BUILD: the array is made in ``__setstate__``
    from the raw bytes, only when the declared shape and type account for exactly those bytes."""

    def __init__(self, budget: bounds.ByteBudget):
        self.budget, self.array = budget, None

    def __setstate__(self, state: object) -> None:
        if isinstance(state, tuple) and len(state) == 5:
            state = state[1:]  # (version, shape, dtype, is_fortran, raw)
        if not (isinstance(state, tuple) and len(state) == 4):
            raise Refused("interop.array_state", kind=type(state).__name__)
        shape, dtype, fortran, raw = state
        if not isinstance(dtype, _DType):
            raise Refused("interop.array_dtype", dtype=_short(dtype))
        if not (isinstance(shape, tuple) and len(shape) <= 32
                and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)):
            raise Refused("interop.array_state", kind=type(shape).__name__)
        if not isinstance(raw, (bytes, bytearray)):
            raise Refused("interop.array_dtype", dtype=type(raw).__name__)
        need = dtype.dtype.itemsize
        for n in shape:
            need *= n
        if need != len(raw):
            raise Refused("interop.array_bytes", shape=shape, need=need, have=len(raw))
        self.budget.take(need)
        array = np.frombuffer(raw, dtype.dtype) if need else np.zeros(0, dtype.dtype)
        self.array = array.reshape(shape, order="F" if fortran else "C")


class _ArrayUnpickler(_Bounded):
    def __init__(self, data: bytes):
        super().__init__(io.BytesIO(data))
        self.budget = bounds.ByteBudget()

    def find_class(self, module: str, name: str):
        if (module, name) in _NUMPY_RECONSTRUCT:
            return self._reconstruct
        if (module, name) == ("numpy", "ndarray"):
            return _NdarrayName
        if (module, name) == ("numpy", "dtype"):
            return _DType
        if (module, name) == ("collections", "OrderedDict"):
            return self.safe_ordered_dict
        raise Refused("interop.asks_to_run", name=f"{module}.{name}"[:200], how="paddle.save(model.state_dict(), PATH)")

    def _reconstruct(self, subtype: object = None, shape: object = None, dtype: object = None) -> _ArrayState:
        if subtype is not _NdarrayName:  # the shape and type that count come with the BUILD
            raise Refused("interop.asks_to_rebuild", what=_short(subtype))
        return _ArrayState(self.budget)

    def _build(self, inst: object, state: object) -> None:
        if not isinstance(inst, (_ArrayState, _DType)):
            raise Refused("interop.asks_to_rebuild", what=type(inst).__name__)
        inst.__setstate__(state)

    def persistent_load(self, pid):
        raise Refused("interop.external")


def _arrays(obj: object, budget: bounds.Budget, depth: int = 0) -> object:
    """The loaded object with each ``_ArrayState`` replaced by its array (dicts, lists, tuples)."""
    if isinstance(obj, _ArrayState):
        if obj.array is None:
            raise InputError("interop.not_array_pickle", err="an array without its data")
        return obj.array
    if isinstance(obj, dict):
        budget.visit(depth, len(obj))
        out = type(obj)() if isinstance(obj, collections.OrderedDict) else {}
        for k, v in obj.items():
            out[k] = _arrays(v, budget, depth + 1)
        return out
    if isinstance(obj, (list, tuple)):
        budget.visit(depth, len(obj))
        return type(obj)(_arrays(v, budget, depth + 1) for v in obj)
    return obj


def load_arrays(data: bytes) -> object:
    """A pickle of numpy arrays in plain containers (dict, list, tuple) -> that object."""
    try:
        return _arrays(_ArrayUnpickler(data).load(), bounds.Budget())
    except InputError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            UnicodeDecodeError) as e:
        raise InputError("interop.not_array_pickle", err=f"{type(e).__name__}: {str(e)[:200]}") from None


def globals_named(data: bytes, limit: int = 5) -> list[str]:
    """The functions and classes a pickle names (read with pickletools; nothing imported or run)."""
    import pickletools

    names, strings = [], []
    try:
        for i, (op, arg, _) in enumerate(pickletools.genops(data)):
            if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                strings.append(str(arg)[:100])
            elif op.name == "GLOBAL":
                names.append(str(arg).replace(" ", ".")[:200])
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                names.append(f"{strings[-2]}.{strings[-1]}")
            if len(names) >= limit or i > bounds.MAX_OPCODES:
                break
    except (ValueError, EOFError, pickle.UnpicklingError, UnicodeDecodeError):
        pass
    return names


# ---- a torch pickle as a skeleton, checked before torch.load --------------------------------------


class _Node:
    """A global a pickle names, or the result of calling one: nothing is imported or called; the
    arguments, items and state are kept only so that the walk counts them."""

    __slots__ = ("name", "parts")

    def __init__(self, name: str, parts: list | None = None):
        self.name, self.parts = name, parts if parts is not None else []

    def __call__(self, *args):  # REDUCE, INST, OBJ
        return _Node(self.name + "()", list(args))

    def append(self, item):  # APPEND(S) onto a call's result (a list subclass, say)
        self.parts.append(item)

    def extend(self, items):
        self.parts.extend(items)

    def add(self, item):
        self.parts.append(item)


class _Skeleton(_Bounded):
    def __init__(self, file: io.BytesIO):
        super().__init__(file)
        self.storages: list[tuple] = []  # the persistent ids: ("storage", type, key, location, numel, ...)
        self.loose: list = []  # BUILD states given to objects other than _Nodes

    def find_class(self, module: str, name: str) -> _Node:
        return _Node(f"{module}.{name}"[:200])

    def persistent_load(self, pid):
        if isinstance(pid, tuple):
            self.storages.append(pid)
        return _Node("storage", [pid])

    def _opaque(self, obj: object) -> bool:
        return isinstance(obj, _Node)

    def _target(self, obj: object, kind: type) -> Any:
        if isinstance(obj, _Node):  # items of a call's result (an OrderedDict, say): kept for the walk
            return _Parts(obj)
        return super()._target(obj, kind)

    def _build(self, inst: object, state: object) -> None:
        if isinstance(inst, _Node):
            inst.parts.append(state)
        else:  # torch's unpickler decides what it admits; the state is walked all the same
            self.loose.append(state)

    def _new(self, cls: object, args: object) -> object:
        return _Node(f"{cls.name if isinstance(cls, _Node) else '?'}.__new__", [args])


class _Parts:
    """A _Node seen as the dict or set a SETITEM / ADDITEMS fills."""

    def __init__(self, node: _Node):
        self.node = node

    def __setitem__(self, key, value):
        self.node.parts += [key, value]

    def add(self, item):
        self.node.parts.append(item)


def _skeleton(file: io.BytesIO) -> tuple[object, list[tuple]]:
    u = _Skeleton(file)
    try:
        root = u.load()
    except InputError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            UnicodeDecodeError) as e:
        raise InputError("interop.truncated", kind="PyTorch", err=f"{type(e).__name__}: {str(e)[:200]}") from None
    check_walk([root, u.loose])
    return root, u.storages


def prescan(data: bytes) -> list[tuple]:
    """Check one pickle (a torch archive's data.pkl) as a skeleton: its instructions, dict keys,
    objects and nesting within bounds. Returns its storage references."""
    return _skeleton(io.BytesIO(data))[1]


def _element_size(storage_type: object) -> int:
    """Bytes per element of a storage class a legacy pickle names (``torch.FloatStorage``)."""
    name = storage_type.name if isinstance(storage_type, _Node) else ""
    dtype = _STORAGE_DTYPES.get(name[len("torch."):]) if name.startswith("torch.") else None
    if dtype is None:
        raise InputError("interop.storage_type", dtype=name[:80] or "?")
    return dtype.itemsize


def prescan_legacy(data: bytes) -> bool:
    """Check torch's legacy (pre-zip) format: its pickles as skeletons, and the storages it declares
    (allocated by torch.load before their bytes are read) against the file's size. False when the
    file is not that format (its first pickle is not torch's magic number)."""
    f = io.BytesIO(data)
    magic, _ = _skeleton(f)
    if magic != _MAGIC_NUMBER:
        return False
    for _ in range(2):  # the protocol version, the system info
        _skeleton(f)
    _, storages = _skeleton(f)
    declared: dict[str, int] = {}
    for pid in storages:
        if len(pid) < 5 or not isinstance(pid[4], int) or pid[4] < 0:
            raise InputError("interop.reference", pid=_short(pid))
        declared[_short(pid[2])] = pid[4] * _element_size(pid[1])
    if sum(declared.values()) > len(data):
        raise InputError("interop.storage_size", need=sum(declared.values()), have=len(data))
    _skeleton(f)  # the storage keys
    return True


# ---- a whole PyTorch module -----------------------------------------------------------------------


class _StubMeta(type):
    def __call__(cls, *args, **kwargs):  # REDUCE: the pickle asks to call the named class or function
        raise Refused("interop.asks_to_call", name=cls.qualname, how="torch.save(model.state_dict(), PATH)")


class Stub(metaclass=_StubMeta):
    """An object of a class the pickle named (never imported): the attributes the pickle set."""

    qualname = "?"

    def __setstate__(self, state) -> None:
        if isinstance(state, tuple) and len(state) == 2 and all(isinstance(s, (dict, type(None))) for s in state):
            state = {**(state[0] or {}), **(state[1] or {})}  # (dict, slots)
        object.__setattr__(self, "_stub_state", state if isinstance(state, dict) else {"state": state})


def _stub(module: str, name: str) -> type:
    return _StubMeta(name[:100], (Stub,), {"qualname": f"{module}.{name}"[:200]})


_STORAGE_DTYPES = {
    "FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8, "BoolStorage": torch.bool,
}


def _rebuild_parameter(data, requires_grad=False, hooks=None, state=None):
    return data


def _reconstructor(cls, base, state=None):  # copyreg._reconstructor, for stubs only
    if not (isinstance(cls, type) and issubclass(cls, Stub)):
        raise Refused("interop.asks_to_rebuild", what=_short(cls))
    return object.__new__(cls)


class _ModuleUnpickler(_Bounded):
    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str):
        super().__init__(io.BytesIO(data))
        self.archive, self.prefix = archive, prefix
        self.storages: dict[tuple, torch.Tensor] = {}  # (key, dtype) -> its raw storage, read once
        self.keys: dict[int, str] = {}  # id(storage tensor) -> its key, to name it in messages
        self.budget = bounds.ByteBudget()

    def find_class(self, module: str, name: str):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return self._rebuild_tensor
        if module == "torch._utils" and name in ("_rebuild_parameter", "_rebuild_parameter_with_state"):
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        if (module, name) == ("collections", "OrderedDict"):
            return self.safe_ordered_dict
        if module in ("builtins", "__builtin__") and name in ("set", "frozenset"):
            return {"set": self.safe_set, "frozenset": self.safe_frozenset}[name]
        if (module, name) == ("copyreg", "_reconstructor"):
            return _reconstructor
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        return _stub(module, name)

    def _opaque(self, obj: object) -> bool:
        return isinstance(obj, (Stub, torch.dtype))

    def _build(self, inst: object, state: object) -> None:
        # a module's state dict onto its Stub; never Tensor.__setstate__ (its set_ would bypass the view check)
        if isinstance(inst, Stub):
            inst.__setstate__(state)
        elif type(inst) is collections.OrderedDict and isinstance(state, dict):
            pass  # an OrderedDict's instance attributes: nothing GateScope reads
        else:
            raise Refused("interop.asks_to_rebuild", what=type(inst).__name__)

    def _new(self, cls: object, args: object) -> object:
        if isinstance(cls, type) and issubclass(cls, Stub):
            return object.__new__(cls)
        raise Refused("interop.asks_to_rebuild", what=_short(cls))

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage" and len(pid) >= 3):
            raise Refused("interop.reference", pid=_short(pid))
        dtype, key = pid[1], pid[2]
        if not isinstance(dtype, torch.dtype):
            raise Refused("interop.storage_type", dtype=_short(dtype))
        if not isinstance(key, str) or len(key) > 100:
            raise Refused("interop.reference", pid=_short(key))
        if (key, dtype) not in self.storages:  # a storage referred to again is not read again
            try:
                raw = bounds.read_member(self.archive, f"{self.prefix}data/{key}", bounds.MAX_UNZIPPED)
            except (KeyError, zipfile.BadZipFile, OSError, EOFError) as e:
                raise InputError("interop.storage", key=key, err=e) from None
            t = torch.frombuffer(bytearray(raw), dtype=dtype) if raw else torch.empty(0, dtype=dtype)
            self.storages[key, dtype] = t
            self.keys[id(t)] = key
        return self.storages[key, dtype]

    def _rebuild_tensor(self, storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
        if not (isinstance(storage, torch.Tensor) and id(storage) in self.keys):
            raise Refused("interop.asks_to_rebuild", what=_short(storage))
        if not (isinstance(size, tuple) and isinstance(stride, tuple)):
            raise InputError("interop.view_bad", name=f"data/{self.keys[id(storage)]}")
        bounds.check_view(size, stride, offset, storage.numel(), f"data/{self.keys[id(storage)]}")
        numel = 1
        for n in size:
            numel *= n
        self.budget.take(numel * storage.element_size())  # the copy below; views of one storage add up
        return torch.as_strided(storage, size, stride, offset).clone()


def load_torch_module(archive: zipfile.ZipFile) -> Stub:
    """The root object of ``torch.save(model)``'s archive, as Stubs and tensors."""
    names = [n for n in archive.namelist() if n.endswith("data.pkl")]
    if not names:
        raise InputError("interop.no_data_pkl", kind="PyTorch", file="data.pkl")
    prefix = names[0][: -len("data.pkl")]
    try:
        order = "little"
        if prefix + "byteorder" in archive.namelist():
            order = bounds.read_member(archive, prefix + "byteorder", 64).decode().strip()
        if order != "little":
            raise InputError("interop.byte_order", order=order[:20])
        return _ModuleUnpickler(bounds.read_member(archive, names[0], bounds.MAX_UNZIPPED), archive, prefix).load()
    except (Refused, InputError):
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            UnicodeDecodeError, zipfile.BadZipFile, RuntimeError) as e:
        raise InputError("interop.module_unreadable", err=f"{type(e).__name__}: {str(e)[:200]}") from None


def module_tensors(root: object) -> tuple[dict[str, torch.Tensor], dict[str, dict]]:
    """(state_dict-style name -> tensor, module path -> {"class", plain attributes}) of a Stub tree,
    walked within a visit budget (a module shared by many parents counts at each) and depth."""
    tensors: dict[str, torch.Tensor] = {}
    modules: dict[str, dict] = {}
    budget = bounds.Budget()

    def walk(obj: object, prefix: str, depth: int) -> None:
        state = getattr(obj, "_stub_state", None)
        if not isinstance(state, dict):
            return
        budget.visit(depth, len(state))
        bounds.check_name(prefix)
        plain = {k: v for k, v in state.items()
                 if isinstance(k, str) and isinstance(v, (bool, int, float, str)) and not k.startswith("_")}
        modules[prefix.rstrip(".")] = {"class": type(obj).qualname, **plain}
        for group in ("_parameters", "_buffers"):
            params = state.get(group) or {}
            if isinstance(params, dict):
                budget.visit(depth + 1, len(params))
                for name, t in params.items():
                    if isinstance(t, torch.Tensor):
                        tensors[bounds.check_name(f"{prefix}{name}")] = t
        subs = state.get("_modules") or {}
        if isinstance(subs, dict):
            budget.visit(depth + 1, len(subs))
            for name, sub in subs.items():
                if sub is not None:
                    walk(sub, f"{prefix}{name}.", depth + 1)

    if not isinstance(root, Stub):
        raise InputError("interop.no_module")
    walk(root, "", 0)
    return tensors, modules
