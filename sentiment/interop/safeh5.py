"""HDF5 files (legacy Keras ``.h5``, a ``.keras``'s ``model.weights.h5``) read with h5py, trusting
nothing the file declares until it is checked against the bytes present.

HDF5 can point outside the file: a dataset's data may live in another file (external storage, a
virtual dataset) and a link may name another file or path (external and soft links). An upload
with ``external=[("/etc/passwd", 0, 1440)]`` would otherwise import the server's file into a model.
Here a link is followed only when it is a hard link (checked with ``getlink=True`` before opening),
a dataset is read only when its data is inside the file, uses no filter but gzip, lzf, shuffle and
fletcher32, is a plain number type, and its declared size fits both the bytes it has in the file and
``bounds.MAX_TENSOR_BYTES`` (for all datasets together); attributes are capped before they are read.
"""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np

from sentiment.errors import InputError
from sentiment.interop import bounds

FILTERS = {1: "gzip", 2: "shuffle", 3: "fletcher32", 32000: "lzf"}
_PACKING = {1, 32000}  # filters that compress: a declared size may exceed the stored bytes by MAX_RATIO
MAX_MEMBERS = 10_000  # links in one group (a Keras model has one per layer)
MAX_CHUNKS = 1_000_000
MAX_ATTR_BYTES = bounds.MAX_JSON_BYTES


def h5py_module():
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a runtime dependency
        raise InputError("keras.needs_h5py", keras="Keras", package="h5py", install="pip install h5py") from None
    return h5py


_GCOL = re.compile(rb"GCOL\x01\x00\x00\x00")  # a global heap collection: signature, version 1, reserved


def check_global_heaps(data: bytes) -> None:
    """Walk each global heap collection (where variable-length strings such as model_config live) as
    HDF5 will, before it does: HDF5 allocates a collection's declared size, and an object whose size
    does not move the walk forward loops forever (seen in fuzzed Keras files). Each collection must
    lie inside the file and each object must advance within it."""
    for m in _GCOL.finditer(data):
        start = m.start()
        size = int.from_bytes(data[start + 8:start + 16], "little")
        end = start + size
        if size < 16 or end > len(data):
            raise InputError("interop.h5_heap", offset=start, format="HDF5")
        p = start + 16
        while p < end:
            if p + 16 > end:  # too little left for an object header: free space
                break
            index = int.from_bytes(data[p:p + 2], "little")
            length = int.from_bytes(data[p + 8:p + 16], "little")
            need = length if index == 0 else 16 + (length + 7) // 8 * 8
            if need <= 0 or p + need > end:
                raise InputError("interop.h5_heap", offset=start, format="HDF5")
            p += need


class H5:
    """An HDF5 file held in memory, opened read-only, with checked access to its parts."""

    def __init__(self, data: bytes, where: str):
        self.h5py = h5py_module()
        self.size, self.where = len(data), where
        self.budget = bounds.ByteBudget()
        check_global_heaps(data)
        self.file = self.h5py.File(io.BytesIO(data), "r")

    def __enter__(self) -> H5:
        return self

    def __exit__(self, *exc) -> None:
        self.file.close()

    # ---- links and groups ----

    def child(self, group: Any, name: str) -> Any:
        """``group[name]`` when name is a hard link of the group; None when there is no such link."""
        if not isinstance(group, self.h5py.Group) or not name or "/" in name or name in (".", ".."):
            return None
        key, h5l = name.encode(), self.h5py.h5l
        if not group.id.links.exists(key):  # the link itself is read: nothing is followed or opened
            return None
        kind = group.id.links.get_info(key).type
        if kind != h5l.TYPE_HARD:
            link = {h5l.TYPE_SOFT: "SoftLink", h5l.TYPE_EXTERNAL: "ExternalLink"}.get(kind, "UserDefinedLink")
            raise InputError("interop.h5_link", name=f"{group.name.rstrip('/')}/{name}"[:200], link=link, format="HDF5")
        return group[name]

    def need(self, group: Any, name: str) -> Any:
        """``child``, and a "truncated" message naming the missing part."""
        obj = self.child(group, name)
        if obj is None:
            raise InputError("interop.truncated", kind=self.where, err=f"no {name[:100]!r} in {group.name[:100]}")
        return obj

    def path(self, group: Any, path: str) -> Any:
        """An object by a relative path ("lstm/lstm_cell/kernel:0"), every step a hard link."""
        obj = group
        for part in path.split("/"):
            if part in ("", "."):
                continue
            obj = self.need(obj, part)
        return obj

    def names(self, group: Any) -> list[str]:
        """The group's link names, at most MAX_MEMBERS of them."""
        n = group.id.get_num_objs() if isinstance(group, self.h5py.Group) else 0
        if n > MAX_MEMBERS:
            raise InputError("interop.h5_members", name=group.name[:200], most=MAX_MEMBERS, format="HDF5")
        return list(group.keys()) if n else []

    # ---- attributes ----

    def attr(self, obj: Any, name: str, most: int = MAX_ATTR_BYTES) -> Any:
        """An attribute's value, or None; refused unread when it declares more than ``most`` bytes."""
        key = name.encode()
        if not self.h5py.h5a.exists(obj.id, key):
            return None
        aid = self.h5py.h5a.open(obj.id, key)
        count = 1
        for n in aid.shape or ():
            count *= n
        try:
            stored = aid.get_storage_size()
        except RuntimeError:  # h5py reports an empty attribute's 0 bytes as an error
            stored = 0
        declared = max(count * aid.dtype.itemsize, stored)
        if declared > most or count > MAX_MEMBERS:
            raise InputError("interop.h5_attr", name=name, size=declared, most=most, format="HDF5")
        return obj.attrs[name]

    # ---- datasets ----

    def array(self, ds: Any) -> np.ndarray:
        """A dataset's values, read only after its storage, filters, type and size are checked."""
        if not isinstance(ds, self.h5py.Dataset):
            raise InputError("interop.truncated", kind=self.where, err=f"{getattr(ds, 'name', '?')[:100]} is not a dataset")
        name = ds.name[:200]
        dcpl = ds.id.get_create_plist()
        layout = dcpl.get_layout()
        if layout == self.h5py.h5d.VIRTUAL:
            raise InputError("interop.h5_virtual", name=name, format="HDF5")
        if dcpl.get_external_count() > 0:
            raise InputError("interop.h5_external", name=name, format="HDF5")
        filters = [dcpl.get_filter(i)[0] for i in range(dcpl.get_nfilters())]
        unknown = [f for f in filters if f not in FILTERS]
        if unknown:
            raise InputError("interop.h5_filter", name=name, filter=unknown[0], known=", ".join(FILTERS.values()))
        dtype, shape = ds.dtype, ds.shape
        if shape is None or dtype.kind not in "fiub" or dtype.fields or dtype.subdtype or dtype.itemsize > 8:
            raise InputError("interop.h5_dtype", name=name, dtype=str(dtype)[:80], format="HDF5")
        need = dtype.itemsize
        for n in shape:
            need *= n
        have = self._stored(ds, layout)
        packed = any(f in _PACKING for f in filters)
        if need > have and not (packed and need <= max(bounds.RATIO_FROM, bounds.MAX_RATIO * have) and have > 0):
            raise InputError("interop.h5_size", name=name, shape=tuple(shape), need=need, have=have, format="HDF5")
        self.budget.take(need)
        return np.asarray(ds[()])

    def _stored(self, ds: Any, layout: int) -> int:
        """Bytes the dataset really has inside the file (a contiguous block or chunks past the end of
        the file count for nothing: h5py would read zeros there, or another object's bytes)."""
        h5d = self.h5py.h5d
        if layout == h5d.COMPACT:
            return ds.id.get_storage_size()  # in the object header, which the file holds
        if layout == h5d.CONTIGUOUS:
            offset, size = ds.id.get_offset(), ds.id.get_storage_size()
            return size if offset is not None and offset + size <= self.size else 0
        if layout == h5d.CHUNKED:
            if ds.id.get_num_chunks() > MAX_CHUNKS:
                raise InputError("interop.h5_members", name=ds.name[:200], most=MAX_CHUNKS, format="HDF5")
            total = 0

            def chunk(info) -> None:
                nonlocal total
                if info.byte_offset is not None and info.byte_offset + info.size <= self.size:
                    total += info.size

            ds.id.chunk_iter(chunk)
            return total
        return 0
