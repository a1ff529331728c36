"""Hostile model files, crafted here: each reader refuses them with a message (an InputError naming
what is wrong), allocates nothing a file only declares, follows nothing outside the file, and never
raises anything but GateScope's own errors. The readers are called directly (the sandbox that runs
them in a limited child process is tested on its own); the cases that would allocate gigabytes if a
check were missing run in a forked child whose address space may grow by at most 1 GiB."""

from __future__ import annotations

import collections
import copyreg
import io
import json
import multiprocessing
import pickle
import random
import re
import resource
import struct
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from sentiment.errors import GateScopeError, InputError
from sentiment.interop import bounds, convert, keras_reader, paddle_reader, torch_reader

# ---- running a read in a child with little room ------------------------------------------------------


def in_child(fn, *args, more: int = 1 << 30, timeout: float = 60) -> tuple[str, str, float]:
    """fn(*args) in a forked child whose address space may grow by ``more`` bytes at most:
    ("ok" or the exception's type, its message, MB of resident memory the child added)."""
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)

    def child() -> None:
        status = Path("/proc/self/status").read_text()
        vm = int(re.search(r"VmSize:\s+(\d+) kB", status).group(1)) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (vm + more, vm + more))
        start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            fn(*args)
            out = ("ok", "")
        except BaseException as e:  # noqa: BLE001 - whatever it is, the parent asserts on it
            out = (type(e).__name__, str(e)[:2000])
        send.send((*out, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start) / 1024))

    proc = ctx.Process(target=child)
    proc.start()
    try:
        if not recv.poll(timeout):
            raise AssertionError(f"the read took more than {timeout} s")
        return recv.recv()
    finally:
        proc.kill()
        proc.join()


def refused_in_child(fn, *args, match: str) -> str:
    kind, message, grew_mb = in_child(fn, *args)
    assert kind in ("InputError", "Refused"), (kind, message)
    assert re.search(match, message), message
    assert grew_mb < 300, f"{grew_mb:.0f} MB allocated"
    return message


def read_torch(data: bytes, name: str = "m.pt"):
    return torch_reader.read(data, name)


def read_paddle(data: bytes):
    return paddle_reader.read(data, "m.pdparams")


def read_keras(data: bytes):
    kf = keras_reader.read_keras3(data) if data[:2] == b"PK" else keras_reader.read_legacy_h5(data)
    return keras_reader.structure(kf)


# ---- torch archives, crafted -------------------------------------------------------------------------


class Storage:
    """A storage reference as torch.save writes it (a persistent id)."""

    def __init__(self, key: str, numel: int, legacy: bool = False):
        self.pid = ("storage", torch.FloatStorage, key, "cpu", numel) + ((None,) if legacy else ())


class View:
    """A tensor as torch.save writes it: _rebuild_tensor_v2(storage, offset, size, stride, ...),
    with an optional BUILD state (torch's unpickler then calls tensor.set_(*state))."""

    def __init__(self, storage, offset, size, stride, state=None):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())
        self.state = state

    def __reduce__(self):
        out = (torch._utils._rebuild_tensor_v2, self.args)
        return out if self.state is None else (*out, self.state)


class Net:
    """A user's nn.Module subclass as torch.save(model) pickles it: __newobj__ and its __dict__."""

    def __init__(self, params: dict, modules: dict | None = None):
        self.state = {"training": False, "_parameters": params, "_buffers": {}, "_modules": modules or {}}

    def __reduce_ex__(self, protocol):
        return (copyreg.__newobj__, (Net,), self.state)


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, Storage) else None


def dumps(obj, protocol: int = 2) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=protocol).dump(obj)
    return buf.getvalue()


def torch_zip(pkl: bytes, records: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "little")
        for key, raw in (records or {}).items():
            z.writestr(f"archive/data/{key}", raw)
        z.writestr("archive/version", "3\n")
    return out.getvalue()


ONE_FLOAT = {"0": np.ones(1, np.float32).tobytes()}


def deep_dict_pickle(depth: int) -> bytes:
    """{"k": {"k": ... {} ...}} nested ``depth`` deep, written by hand (pickle.dumps would recurse)."""
    key = b"X" + struct.pack("<I", 1) + b"k"
    return b"\x80\x02" + (b"}" + key) * depth + b"}" + b"s" * depth + b"."


def shared_dicts(levels: int, leaf) -> dict:
    """A "billion laughs": each level's two keys refer to the same dict below (2**levels paths)."""
    d = {"w": leaf}
    for _ in range(levels):
        d = {"a": d, "b": d}
    return d


# ---- torch: declared views and storages -------------------------------------------------------------


def test_a_whole_module_with_a_stride_0_60000x60000_parameter_is_refused_unmade():
    pkl = dumps(Net({"weight": View(Storage("0", 1), 0, (60000, 60000), (0, 0))}))
    refused_in_child(read_torch, torch_zip(pkl, ONE_FLOAT), match="more than once")


def test_a_whole_module_view_past_its_storage_is_refused():
    pkl = dumps(Net({"weight": View(Storage("0", 4), 2, (10,), (1,))}))
    with pytest.raises(InputError, match="reaches past its storage of 4 elements"):
        read_torch(torch_zip(pkl, {"0": np.ones(4, np.float32).tobytes()}))


def test_a_whole_module_with_a_negative_stride_is_refused():
    pkl = dumps(Net({"weight": View(Storage("0", 4), 3, (4,), (-1,))}))
    with pytest.raises(InputError, match="negative"):
        read_torch(torch_zip(pkl, {"0": np.ones(4, np.float32).tobytes()}))


@pytest.mark.parametrize("view", [
    View(Storage("0", 1), 0, (60000, 60000), (0, 0)),  # _rebuild_tensor_v2 itself
    View(Storage("0", 1), 0, (1,), (1,), state=(Storage("0", 1), 0, (60000, 60000), (0, 0))),  # set_ by BUILD
], ids=["rebuild", "build"])
def test_a_state_dict_with_an_expanded_view_is_refused_before_it_is_copied(view):
    refused_in_child(read_torch, torch_zip(dumps({"w": view}), ONE_FLOAT), match="more than once")


def test_a_state_dict_with_overlapping_strides_is_refused():
    data = torch_zip(dumps({"w": View(Storage("0", 8), 0, (4, 4), (1, 1))}), {"0": np.ones(8, np.float32).tobytes()})
    with pytest.raises(InputError, match=r"strides \(1, 1\) reads the same stored numbers"):
        read_torch(data)


def test_a_legitimate_view_of_a_larger_storage_still_reads():
    storage = np.arange(12, dtype=np.float32)
    data = torch_zip(dumps({"w": View(Storage("0", 12), 1, (2, 3), (6, 2))}), {"0": storage.tobytes()})
    arrays, _ = read_torch(data)
    assert arrays["w"].tolist() == [[1, 3, 5], [7, 9, 11]]


def test_a_legacy_format_file_still_reads_and_one_declaring_huge_storages_is_refused():
    buf = io.BytesIO()
    torch.save({"w": torch.arange(6.0).reshape(2, 3)}, buf, _use_new_zipfile_serialization=False)
    arrays, _ = read_torch(buf.getvalue())
    assert arrays["w"].tolist() == [[0, 1, 2], [3, 4, 5]]
    main = dumps({"w": View(Storage("k", 10**11, legacy=True), 0, (1,), (1,))})
    head = b"".join(pickle.dumps(x, protocol=2) for x in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}))
    hostile = head + main + pickle.dumps(["k"], protocol=2) + struct.pack("<q", 1) + b"\0" * 4
    refused_in_child(read_torch, hostile, match="storages declare 400,000,000,000 bytes")


@pytest.mark.slow  # over a second on a quiet 2-core CPU (fast-tier durations, 2026-12-07)
def test_a_deep_tuple_as_a_dict_key_is_refused_without_crashing():
    """Hashing a tuple nested 300,000 deep overflows the C stack: torch.load(weights_only=True) of
    this 300 KB archive segfaults (so does pickle.loads); the prescan refuses the key unhashed."""
    pkl = b"\x80\x02}" + b")" + b"\x85" * 300_000 + b"K\x01s."
    refused_in_child(read_torch, torch_zip(pkl), match="dictionary key")


# ---- torch and paddle: size and nesting of the pickle -----------------------------------------------


def test_a_billion_laughs_state_dict_is_refused_within_seconds():
    buf = io.BytesIO()
    torch.save(shared_dicts(60, torch.ones(2)), buf)
    assert len(buf.getvalue()) < 20_000
    start = time.monotonic()
    refused_in_child(read_torch, buf.getvalue(), match="objects")
    assert time.monotonic() - start < 10


def test_a_billion_laughs_whole_module_is_refused_within_seconds():
    net = Net({"w": View(Storage("0", 1), 0, (1,), (1,))})
    for _ in range(20):  # 4**20 paths; 60 nesting levels (3 a module: object, __dict__, _modules)
        net = Net({}, {"a": net, "b": net, "c": net, "d": net})
    start = time.monotonic()
    refused_in_child(read_torch, torch_zip(dumps(net), ONE_FLOAT), match="objects")
    assert time.monotonic() - start < 10


@pytest.mark.slow  # over a second on a quiet 2-core CPU (fast-tier durations, 2026-12-07)
def test_a_billion_laughs_pdparams_is_refused_within_seconds():
    data = pickle.dumps(shared_dicts(60, np.ones(2, np.float32)), protocol=4)
    start = time.monotonic()
    refused_in_child(read_paddle, data, match="objects")
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("where", ["pt", "pdparams"])
def test_a_dict_nested_100000_deep_is_a_message_not_a_recursion_error(where):
    pkl = deep_dict_pickle(100_000)
    with pytest.raises(InputError, match="more than 100 levels deep"):
        read_torch(torch_zip(pkl)) if where == "pt" else read_paddle(pkl)


# ---- paddle / numpy: declared arrays ----------------------------------------------------------------

_RECONSTRUCT = np.zeros(1).__reduce__()[0]


class FakeArray:
    """An array as numpy pickles it: _reconstruct(ndarray, shape0, b"b"), then BUILD
    (version, shape, dtype, is_fortran, raw bytes) -- with whatever shape the test declares."""

    def __init__(self, shape, dtype, raw, first_shape=(0,)):
        self.shape, self.dtype, self.raw, self.first_shape = shape, np.dtype(dtype), raw, first_shape

    def __reduce__(self):
        return (_RECONSTRUCT, (np.ndarray, self.first_shape, b"b"), (1, self.shape, self.dtype, False, self.raw))


def test_a_pdparams_declaring_a_huge_array_with_few_bytes_is_refused():
    data = pickle.dumps({"w": FakeArray((100_000, 30_000), "f4", b"\0" * 16)}, protocol=4)
    assert len(data) < 400
    refused_in_child(read_paddle, data, match=r"declares shape \(100000, 30000\) \(12,000,000,000 bytes\) but holds 16")


def test_a_huge_shape_given_to_the_reconstructor_allocates_nothing():
    data = pickle.dumps({"w": FakeArray((2, 2), "f4", b"\0" * 16, first_shape=(100_000, 30_000))}, protocol=4)
    kind, message, grew_mb = in_child(read_paddle, data)
    assert kind == "ok", message
    assert grew_mb < 300


def test_an_object_array_in_a_pdparams_is_refused():
    data = pickle.dumps({"w": FakeArray((2,), object, [1, 2])}, protocol=4)
    with pytest.raises(InputError, match="type 'O8'"):
        read_paddle(data)


def test_calling_ndarray_from_a_pdparams_is_refused():
    class Alloc:
        def __reduce__(self):
            return (np.ndarray, ((100_000, 30_000), "f4"))

    with pytest.raises(InputError, match="numpy.ndarray"):
        read_paddle(pickle.dumps({"w": Alloc()}, protocol=4))


def test_a_legitimate_pdparams_still_reads_in_fortran_order_and_big_endian():
    w = np.asfortranarray(np.arange(6, dtype=">f4").reshape(2, 3))
    arrays, _ = read_paddle(pickle.dumps({"w": w, "b": np.arange(3, dtype="i8")}, protocol=4))
    assert arrays["w"].tolist() == [[0, 1, 2], [3, 4, 5]] and arrays["b"].tolist() == [0, 1, 2]


# ---- Keras files, crafted with h5py (the layout Keras 3 writes) --------------------------------------

LAYERS = [
    {"class_name": "InputLayer", "config": {"batch_shape": [None, 20], "dtype": "int32", "name": "input_layer"}},
    {"class_name": "Embedding", "config": {"name": "embedding", "input_dim": 30, "output_dim": 4, "mask_zero": False}},
    {"class_name": "LSTM", "config": {"name": "lstm", "units": 3, "activation": "tanh", "recurrent_activation": "sigmoid",
                                      "use_bias": True, "return_sequences": False}},
    {"class_name": "Dense", "config": {"name": "dense", "units": 1, "activation": "sigmoid"}},
]
CONFIG = {"class_name": "Sequential", "config": {"name": "sequential", "layers": LAYERS}}


def weights() -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(0)
    w = lambda *shape: rng.normal(size=shape).astype(np.float32)  # noqa: E731
    return {"embedding": [w(30, 4)], "lstm": [w(4, 12), w(3, 12), w(12)], "dense": [w(3, 1), w(1)]}


def plain(group, name: str, array: np.ndarray) -> None:
    group.create_dataset(name, data=array)


def legacy_h5(config=CONFIG, make=plain) -> bytes:
    """A legacy Keras .h5: model_config, model_weights/<layer>/<weight_names>; ``make`` writes each
    dataset (a test's hostile one for the embedding)."""
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        mw = f.create_group("model_weights")
        for layer, arrays in weights().items():
            g = mw.create_group(layer)
            names = [f"{layer}/w{i}" for i in range(len(arrays))]
            g.attrs["weight_names"] = [n.encode() for n in names]
            for n, a in zip(names, arrays):
                make(g, n, a)
    return buf.getvalue()


def keras3(config=CONFIG, make=plain, weights_h5: bytes | None = None) -> bytes:
    """A Keras 3 .keras zip: config.json and model.weights.h5 (layers/<name>/vars/i, cell/vars/i)."""
    if weights_h5 is None:
        buf = io.BytesIO()
        with h5py.File(buf, "w") as f:
            for layer, arrays in weights().items():
                g = f.create_group(f"layers/{layer}/cell/vars" if layer == "lstm" else f"layers/{layer}/vars")
                for i, a in enumerate(arrays):
                    make(g, str(i), a)
        weights_h5 = buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("config.json", config if isinstance(config, str) else json.dumps(config))
        z.writestr("model.weights.h5", weights_h5)
    return out.getvalue()


@pytest.mark.parametrize("make_file", [legacy_h5, keras3], ids=["h5", "keras"])
def test_the_crafted_keras_files_are_read(make_file):
    s = read_keras(make_file())
    assert (s.vocab_size, s.embed_dim, s.hidden_size, s.cell) == (30, 4, 3, "lstm")


SECRET = b"TOP-SECRET server file " * 21  # 483 bytes: 120 floats' worth


def external_to(secret: Path):
    def make(group, name, array):
        if array.shape == (30, 4):
            group.create_dataset(name, shape=(30, 4), dtype="f4", external=[(str(secret), 0, 480)])
        else:
            plain(group, name, array)
    return make


@pytest.mark.parametrize("make_file", [legacy_h5, keras3], ids=["h5", "keras"])
def test_external_storage_pointing_at_a_server_file_is_refused_and_not_read(tmp_path, make_file):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(SECRET)
    data = make_file(make=external_to(secret))
    assert SECRET[:20] not in data
    with pytest.raises(InputError, match="keeps its data in an external file") as e:
        read_keras(data)
    assert "TOP-SECRET" not in str(e.value)


def _source_file(tmp_path: Path) -> Path:
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.full((30, 4), 7.0, np.float32)
    return other


@pytest.mark.parametrize("make_file", [legacy_h5, keras3], ids=["h5", "keras"])
def test_a_virtual_dataset_is_refused(tmp_path, make_file):
    other = _source_file(tmp_path)

    def make(group, name, array):
        if array.shape != (30, 4):
            return plain(group, name, array)
        layout = h5py.VirtualLayout(shape=(30, 4), dtype="f4")
        layout[:] = h5py.VirtualSource(str(other), "x", shape=(30, 4))
        group.create_virtual_dataset(name, layout)

    with pytest.raises(InputError, match="virtual dataset"):
        read_keras(make_file(make=make))


@pytest.mark.parametrize("link", ["ExternalLink", "SoftLink"])
@pytest.mark.parametrize("make_file", [legacy_h5, keras3], ids=["h5", "keras"])
def test_a_link_that_leaves_the_object_tree_is_refused(tmp_path, make_file, link):
    other = _source_file(tmp_path)

    def make(group, name, array):
        if array.shape != (30, 4):
            return plain(group, name, array)
        group[name] = h5py.ExternalLink(str(other), "/x") if link == "ExternalLink" else h5py.SoftLink("/elsewhere")

    with pytest.raises(InputError, match=f"is a {link}"):
        read_keras(make_file(make=make))


@pytest.mark.parametrize("chunked", [False, True], ids=["contiguous", "gzip-chunks"])
def test_an_h5_dataset_declared_1e9_by_6_with_no_data_is_refused_unread(chunked):
    def make(group, name, array):
        if array.shape != (30, 4):
            return plain(group, name, array)
        kw = {"chunks": (1000, 6), "compression": "gzip"} if chunked else {}
        group.create_dataset(name, shape=(10**9, 6), dtype="f4", **kw)

    data = legacy_h5(make=make)
    assert len(data) < 100_000
    refused_in_child(read_keras, data, match=r"declares shape \(1000000000, 6\) \(24,000,000,000 bytes\) but has 0 bytes")


def test_an_h5_dataset_of_strings_is_refused():
    def make(group, name, array):
        if array.shape != (30, 4):
            return plain(group, name, array)
        group.create_dataset(name, data=np.array([b"a", b"b"]))

    with pytest.raises(InputError, match="is not a plain number type"):
        read_keras(legacy_h5(make=make))


def test_an_oversized_attribute_is_refused_unread():
    buf = io.BytesIO()
    with h5py.File(buf, "w", libver="latest") as f:  # dense attribute storage: attributes over 64 KB
        f.attrs["model_config"] = json.dumps(CONFIG)
        f.create_group("model_weights/dense").attrs["weight_names"] = np.zeros(2048, "S1024")  # 2 MB; 1 MB allowed
    with pytest.raises(InputError, match="attribute weight_names: 2,097,152 bytes"):
        read_keras(buf.getvalue())


def test_a_global_heap_object_that_does_not_advance_is_refused_before_hdf5_loops_on_it():
    """HDF5 walks a global heap collection object by object; one of size 0 never moves it forward
    (h5py hangs reading model_config); the heaps are walked first, in Python, within the file."""
    data = bytearray(legacy_h5())
    heap = data.index(b"GCOL\x01\x00\x00\x00")
    data[heap + 16:heap + 18], data[heap + 24:heap + 32] = b"\0\0", b"\0" * 8  # object 0 ("free space") of size 0
    kind, message, _ = in_child(read_keras, bytes(data), timeout=30)
    assert kind == "InputError" and "global heap at byte" in message, (kind, message)


# ---- Keras: JSON and the config's shape -------------------------------------------------------------


@pytest.mark.parametrize("make_file", [legacy_h5, keras3], ids=["h5", "keras"])
def test_a_config_nested_2000_deep_is_a_message(make_file):
    deep = '{"class_name": "Sequential", "config": ' + "[" * 2000 + "]" * 2000 + "}"
    data = keras3(config=deep) if make_file is keras3 else None
    if data is None:
        buf = io.BytesIO()
        with h5py.File(buf, "w") as f:
            f.attrs["model_config"] = deep
        data = buf.getvalue()
    with pytest.raises(InputError, match="JSON nested more than 64 levels deep"):
        read_keras(data)


def test_brackets_inside_json_strings_do_not_count_as_nesting():
    text = json.dumps({"filters": "[" * 500 + "{" * 500 + '\\"]', "x": [[1]]})
    assert bounds.json_depth(text.encode()) == 3
    assert bounds.loads_json(text, "config.json")["x"] == [[1]]


@pytest.mark.parametrize("config, match", [
    ([1, 2, 3], "the model config is a list, not a JSON object"),
    ({"class_name": "Sequential", "config": {"layers": [1, "two"]}},
     r"layer 0 of the model config is not a layer object \(bad or missing class_name, config"),
    ({"class_name": "Sequential", "config": {"layers": [{"config": {}}]}}, r"layer 0 .*missing class_name"),
    ({"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": []}]}}, r"missing config"),
    ({"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"name": 7}}]}},
     r"missing name"),
    ({"class_name": "Sequential", "config": {"layers": [LAYERS[0], {"class_name": "Bidirectional",
                                                                   "config": {"name": "b", "layer": "LSTM"}}]}},
     r"layer 1 .*missing class_name, config"),
    ({"class_name": "Sequential", "config": "layers"}, "lists no layers"),
])
@pytest.mark.parametrize("make_file", [legacy_h5, keras3], ids=["h5", "keras"])
def test_a_config_of_the_wrong_shape_is_a_message(make_file, config, match):
    with pytest.raises(InputError, match=match):
        read_keras(make_file(config=config))


def test_a_layer_setting_of_the_wrong_type_is_a_message_not_a_type_error():
    layers = [dict(LAYERS[0]), LAYERS[1], {**LAYERS[2], "config": {**LAYERS[2]["config"], "units": [3]}}, LAYERS[3]]
    with pytest.raises(InputError, match=r"could not be read \(TypeError\)"):
        read_keras(keras3(config={"class_name": "Sequential", "config": {"layers": layers}}))


# ---- zip archives ------------------------------------------------------------------------------------


def test_a_zip_bomb_keras_is_refused_before_unpacking():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", json.dumps(CONFIG))
        z.writestr("model.weights.h5", b"\0" * (64 << 20))  # 64 MB of zeros in ~64 KB
    assert len(out.getvalue()) < 200_000
    refused_in_child(read_keras, out.getvalue(), match="model.weights.h5 unpacks .* refused as a zip bomb")


def _patched_central_directory(data: bytes, member: str, **fields) -> bytes:
    """The archive with one member's central-directory entry lying (flags, sizes): zipfile trusts it."""
    i = data.index(b"PK\x01\x02")
    while data[i + 46:i + 46 + struct.unpack_from("<H", data, i + 28)[0]] != member.encode():
        i = data.index(b"PK\x01\x02", i + 4)
    entry = bytearray(data[i:i + 46])
    if "flags" in fields:
        struct.pack_into("<H", entry, 8, fields["flags"])
    if "size" in fields:
        struct.pack_into("<II", entry, 20, fields["size"], fields["size"])
    return data[:i] + bytes(entry) + data[i + 46:]


def test_members_declaring_more_than_a_gib_in_all_are_refused():
    data = keras3()
    lying = _patched_central_directory(data, "model.weights.h5", size=(1 << 30) + 1)
    with pytest.raises(InputError, match=r"unpacks to more than 1 GiB"):
        read_keras(lying)


def test_an_encrypted_member_is_refused():
    data = _patched_central_directory(keras3(), "config.json", flags=0x1)
    with pytest.raises(InputError, match="config.json is encrypted"):
        read_keras(data)


def test_a_pt_archive_bomb_is_refused_before_torch_reads_it():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", dumps({"w": View(Storage("0", 16 << 20), 0, (16 << 20,), (1,))}))
        z.writestr("archive/data/0", b"\0" * (64 << 20))
    refused_in_child(read_torch, out.getvalue(), match="zip bomb")


# ---- anything at all: a message, never a traceback ---------------------------------------------------

PREFIXES = {"plain": b"", "zip": b"PK\x03\x04", "hdf5": b"\x89HDF\r\n\x1a\n", "pickle": b"\x80\x02", "pickle4": b"\x80\x04\x95"}


@pytest.mark.parametrize("prefix", PREFIXES, ids=list(PREFIXES))
@pytest.mark.parametrize("ext", [".pt", ".pth", ".bin", ".safetensors", ".pdparams", ".keras", ".h5"])
def test_random_bytes_are_a_message_whatever_the_extension(ext, prefix):
    rng = random.Random(f"{ext}{prefix}")
    data = PREFIXES[prefix] + bytes(rng.getrandbits(8) for _ in range(4096))

    def read() -> None:
        try:
            convert.structure_here(data, f"random{ext}", {})
        except GateScopeError as e:
            raise InputError("interop.unreadable", file="random", err=type(e).__name__) from e

    kind, message, _ = in_child(read)
    assert kind == "InputError", (kind, message)


def test_a_symlink_named_pt_pointing_at_a_text_file_is_a_message(tmp_path):
    (tmp_path / "notes.txt").write_text("root:x:0:0:root:/root:/bin/bash\n" * 20)
    (tmp_path / "model.pt").symlink_to(tmp_path / "notes.txt")
    with pytest.raises(InputError, match="truncated or not a PyTorch file"):
        convert.structure_here(convert.read_bytes(tmp_path / "model.pt"), "model.pt", {})


def test_an_unexpected_error_inside_a_reader_becomes_unreadable(monkeypatch):
    monkeypatch.setattr(torch_reader, "_load", lambda data, modules: (_ for _ in ()).throw(OverflowError("x")))
    with pytest.raises(InputError, match=r"m.pt: could not be read \(OverflowError\)"):
        read_torch(b"\x80\x02}.")
