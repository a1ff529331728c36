"""Untrusted model files are parsed in a child process with limits; the server only gets back a
validated structure.

An uploaded ``.h5``, ``.keras``, ``.pt`` or ``.pdparams`` is parsed by h5py, zipfile and unpicklers:
C code that a crafted file can crash (an HDF5 segfault killed a whole Streamlit server, and every
student's session with it) or make allocate what the file only declares. So ``read`` copies the
file's bytes into a private folder and runs ``python -m sentiment.interop.sandbox`` on them, which

- limits its own address space (``$GATESCOPE_IMPORT_MEMORY``, default 2 GiB), CPU time and file
  size before it reads a byte of the file, and writes no core dump;
- parses the file as ``convert.structure_here`` does (the readers never import or run what a file
  names) and writes back plain JSON (the structure's fields, the vocabulary) and one raw float32
  file of weights;

and the parent kills it past a wall-clock limit (``$GATESCOPE_IMPORT_SECONDS``, default 60). A
signal, a limit or a timeout becomes an ``InputError`` ("could not be read safely: ..."). The parent
trusts nothing the child sends: every field is type- and range-checked, every tensor's name and
shape must be exactly those of the model the fields describe, and the weights file must be exactly
as long as those shapes say.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

from sentiment.errors import GateScopeError, InputError, _rebuild, is_code

MEMORY_ENV, SECONDS_ENV = "GATESCOPE_IMPORT_MEMORY", "GATESCOPE_IMPORT_SECONDS"
DEFAULT_MEMORY = 2 << 30  # bytes of address space the child may map (torch alone maps about 0.6 GiB)
DEFAULT_SECONDS = 60
MAX_JSON = 64 << 20  # the structure and vocabulary the child sends back
_CACHE: OrderedDict[str, object] = OrderedDict()  # request digest -> Structure (the page reruns often)
_CACHE_SIZE = 8
_CACHE_BYTES = 256 << 20  # weights kept by the cache together: a class's uploads must not fill the server
last_peak_bytes = 0  # the last child's peak resident memory (tests and the README's limits read it)
MAX_VOCAB_BYTES = 256 << 20  # a vocabulary file larger than this is refused before it is read
_SLOTS = threading.BoundedSemaphore(2)  # children at once: thirty uploads in a class queue, the server serves on


# ---- limits -----------------------------------------------------------------------------------------


def _size(text: str) -> int:
    """ "2G", "512M", "1500000000" -> bytes."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


def _env_limit(name: str, parse, default: int, low: int, high: int, example: str) -> int:
    """A limit from the environment (``parse`` reads its text), within [low, high]; InputError otherwise."""
    raw = os.environ.get(name, "")
    try:
        n = parse(raw) if raw else default
    except ValueError:
        n = None
    if n is None or not low <= n <= high:
        raise InputError("sandbox.bad_env", name=name, value=raw, example=example)
    return n


def memory_limit() -> int:
    return _env_limit(MEMORY_ENV, _size, DEFAULT_MEMORY, 256 << 20, 1 << 40, "2G")


def seconds_limit() -> int:
    return _env_limit(SECONDS_ENV, int, DEFAULT_SECONDS, 5, 3600, "60")


# ---- the parent -------------------------------------------------------------------------------------


def read(data: bytes, name: str, recipe: dict, vocab: str | Path | None = None, *,
         target: str = "sentiment.interop.convert:structure_here"):
    """The Structure of a model file's bytes (its ``vocab`` set when a vocabulary file is given or the
    file holds one), parsed in a limited child process. InputError for anything the child could not
    parse safely. ``target`` (module:function) is the parser; tests pass crashing ones."""
    memory, seconds = memory_limit(), seconds_limit()
    vbytes = None
    if vocab is not None:
        vp = Path(vocab)
        if not vp.is_file():
            raise InputError("interop.no_file", path=vp)
        if vp.stat().st_size > MAX_VOCAB_BYTES:
            raise InputError("interop.too_big", file=vp.name, size=vp.stat().st_size / 2**20,
                             most=MAX_VOCAB_BYTES / 2**20, unit="MiB")
        vbytes = vp.read_bytes()
    head = json.dumps([len(data), name, recipe, target, memory, seconds], sort_keys=True, default=str).encode()
    key = hashlib.sha256(head + data + b"|" + (vbytes or b"-")).hexdigest()
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return copy.deepcopy(_CACHE[key])
    with tempfile.TemporaryDirectory(prefix="gatescope-import-") as tmp:
        folder = Path(tmp)
        os.chmod(folder, 0o700)
        src = folder / "in" / Path(name).name
        src.parent.mkdir()
        src.write_bytes(data)
        vpath = None
        if vbytes is not None:
            vpath = folder / "in" / ("vocab-" + Path(vocab).name)
            vpath.write_bytes(vbytes)
        out = folder / "out"
        out.mkdir()
        request = {"file": str(src), "name": name, "recipe": recipe, "vocab": str(vpath) if vpath else None,
                   "out": str(out), "target": target, "memory": memory, "seconds": seconds}
        with _SLOTS:
            _run_child(request, folder)
        s = _receive(out)
    _remember(key, s)
    return copy.deepcopy(s)


def _weights_bytes(s) -> int:
    return sum(t.numel() * t.element_size() for t in s.state.values())


def _remember(key: str, s) -> None:
    """Keep a parsed structure for the page's next rerun, within the cache's count and bytes."""
    if _weights_bytes(s) > _CACHE_BYTES // 4:
        return
    _CACHE[key] = s
    while len(_CACHE) > _CACHE_SIZE or sum(_weights_bytes(x) for x in _CACHE.values()) > _CACHE_BYTES:
        _CACHE.popitem(last=False)


def _run_child(request: dict, folder: Path) -> None:
    global last_peak_bytes
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "PYTHONDONTWRITEBYTECODE": "1",
           # a second guard behind the readers' own refusal: HDF5 resolves external and virtual data
           # files under these prefixes only (a folder that does not exist)
           "HDF5_EXTFILE_PREFIX": str(folder / "none"), "HDF5_VDS_PREFIX": str(folder / "none")}
    (folder / "request.json").write_text(json.dumps(request), encoding="utf-8")
    with open(folder / "stderr.txt", "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "sentiment.interop.sandbox", str(folder / "request.json")],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env,
                                start_new_session=True, cwd=folder)
        status, last_peak_bytes, timed_out = _wait(proc.pid, request["seconds"])
    if timed_out:
        raise InputError("sandbox.timeout", seconds=request["seconds"], env=SECONDS_ENV)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            raise InputError("sandbox.cpu", seconds=request["seconds"], env=SECONDS_ENV)
        if sig == signal.SIGKILL and last_peak_bytes >= request["memory"] * 0.9:
            raise InputError("sandbox.memory", gib=request["memory"] / 2**30, unit="GiB", env=MEMORY_ENV)
        raise InputError("sandbox.crashed", signal=signal.Signals(sig).name)
    error = folder / "out" / "error.json"
    if error.is_file():
        raise _error_from(error)
    if os.WEXITSTATUS(status) != 0:
        tail = (folder / "stderr.txt").read_bytes()[-2000:].decode("utf-8", "replace")
        memory = "MemoryError" in tail or "can't allocate memory" in tail or "std::bad_alloc" in tail
        if memory:
            raise InputError("sandbox.memory", gib=request["memory"] / 2**30, unit="GiB", env=MEMORY_ENV)
        raise InputError("sandbox.failed", code=os.WEXITSTATUS(status))


def _wait(pid: int, seconds: float) -> tuple[int, int, bool]:
    """(wait status, the child's peak resident bytes as last sampled, whether it was killed for running
    past ``seconds``). The peak is read from /proc while the child runs: the rusage that wait4 reports
    would include the parent's own pages, which the child shared before it exec'd."""
    deadline = time.monotonic() + seconds
    delay, peak = 0.005, 0
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status, peak, False
        peak = max(peak, _resident_peak(pid))
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            return status, peak, True
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _resident_peak(pid: int) -> int:
    """The process's resident high-water mark (VmHWM) in bytes; 0 where /proc cannot tell."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _error_from(path: Path) -> GateScopeError:
    """The child's error, rebuilt as the same code (params are plain strings) or a generic message."""
    try:
        if path.stat().st_size > 65536:
            raise ValueError
        d = json.loads(path.read_text(encoding="utf-8"))
        code, params = d.get("code"), d.get("params")
        if isinstance(code, str) and is_code(code) and isinstance(params, dict) and \
                all(isinstance(k, str) and isinstance(v, (str, int, float)) for k, v in params.items()):
            return _rebuild(InputError, code, params)  # the child's code, as the child raised it
        reason = str(d.get("reason", ""))[:300]
    except (ValueError, OSError, UnicodeDecodeError):
        reason = "?"
    return InputError("sandbox.unsafe", reason=reason or "?")


# ---- what the child sends back, checked --------------------------------------------------------------

_INT_FIELDS = {"vocab_size": 5_000_000, "embed_dim": 4096, "hidden_size": 4096, "num_layers": 10,
               "hidden_dense": 4096, "max_len": 100_000}
_STR_FIELDS = ("framework", "cell", "pooling", "output_activation", "hidden_activation", "head", "padding",
               "truncating", "merge")


def _check_fields(d: object) -> dict:
    """The Structure's plain fields, each of its type and in range; InputError otherwise."""
    from sentiment.interop.structure import Structure

    names = {f.name for f in dataclasses.fields(Structure)} - {"state", "vocab"}
    if not isinstance(d, dict) or set(d) - names:
        raise InputError("sandbox.bad_reply", what="fields")
    for k, most in _INT_FIELDS.items():
        v = d.get(k)
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= most:
            raise InputError("sandbox.bad_reply", what=k)
    for k in _STR_FIELDS:
        if k in d and not (isinstance(d[k], str) and len(d[k]) <= 40):
            raise InputError("sandbox.bad_reply", what=k)
    if not isinstance(d.get("bidirectional"), bool):
        raise InputError("sandbox.bad_reply", what="bidirectional")
    for k, v in d.items():
        if k in _INT_FIELDS or k in _STR_FIELDS or k == "bidirectional":
            continue
        if not _plain(v):
            raise InputError("sandbox.bad_reply", what=k)
    return d


def _plain(v: object, depth: int = 0) -> bool:
    """JSON of strings, numbers, booleans, lists and string-keyed dicts, a few levels deep."""
    if depth > 6:
        return False
    if v is None or isinstance(v, (bool, int, float)):
        return True
    if isinstance(v, str):
        return len(v) <= 100_000
    if isinstance(v, list):
        return len(v) <= 10_000 and all(_plain(x, depth + 1) for x in v)
    if isinstance(v, dict):
        return len(v) <= 10_000 and all(isinstance(k, str) and _plain(x, depth + 1) for k, x in v.items())
    return False


def _receive(out: Path):
    """The child's reply -> a Structure whose weights are exactly those of the model it describes."""
    import numpy as np
    import torch

    from sentiment.data.vocabs import IdVocab
    from sentiment.interop.structure import Structure
    from sentiment.modeling.model import SentimentRNN

    reply = out / "structure.json"
    if not reply.is_file() or reply.stat().st_size > MAX_JSON:
        raise InputError("sandbox.bad_reply", what="structure.json")
    try:
        d = json.loads(reply.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InputError("sandbox.bad_reply", what="structure.json") from None
    if not isinstance(d, dict):
        raise InputError("sandbox.bad_reply", what="structure.json")
    fields = _check_fields(d.get("fields"))
    s = Structure(**fields, state={})
    try:
        with torch.device("meta"):
            want = {k: tuple(v.shape) for k, v in SentimentRNN(s.model_config()).state_dict().items()}
    except (ValueError, TypeError) as e:
        raise InputError("sandbox.bad_reply", what=f"config ({e})") from None
    tensors = d.get("tensors")
    if not isinstance(tensors, list) or not all(isinstance(t, list) and len(t) == 2 and isinstance(t[0], str)
                                                and isinstance(t[1], list) for t in tensors):
        raise InputError("sandbox.bad_reply", what="tensors")
    if {t[0] for t in tensors} != set(want) or len(tensors) != len(want) or \
            any(tuple(shape) != want[k] for k, shape in tensors):
        raise InputError("sandbox.bad_reply", what="tensor names or shapes")
    total = sum(int(np.prod(want[k], dtype=np.int64)) for k, _ in tensors)
    raw = out / "tensors.bin"
    if not raw.is_file() or raw.stat().st_size != total * 4:
        raise InputError("sandbox.bad_reply", what="tensors.bin")
    flat = np.fromfile(raw, dtype="<f4")
    at = 0
    for k, _ in tensors:
        n = int(np.prod(want[k], dtype=np.int64))
        s.state[k] = torch.from_numpy(flat[at:at + n].reshape(want[k]).copy())
        at += n
    vocab = d.get("vocab")
    if vocab is not None:
        try:
            if not isinstance(vocab, str):
                raise TypeError
            s.vocab = IdVocab.from_json(vocab)
        except (ValueError, TypeError, KeyError, IndexError, RecursionError):
            raise InputError("sandbox.bad_reply", what="vocab") from None
    return s


# ---- the child --------------------------------------------------------------------------------------


def _limit_self(memory: int, seconds: int) -> None:
    """Limits on this process, set before the file is read (the parent's threads make preexec unsafe)."""
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (memory, memory))


def _send(out: Path, s) -> None:
    import numpy as np

    fields = {f.name: getattr(s, f.name) for f in dataclasses.fields(s) if f.name not in ("state", "vocab")}
    names = list(s.state)
    with open(out / "tensors.bin", "wb") as f:
        for k in names:
            f.write(np.ascontiguousarray(s.state[k].detach().float().numpy(), dtype="<f4").tobytes())
    vocab = s.vocab.to_json() if s.vocab is not None else None
    reply = {"fields": fields, "tensors": [[k, list(s.state[k].shape)] for k in names], "vocab": vocab}
    (out / "structure.json").write_text(json.dumps(reply, ensure_ascii=False, default=str), encoding="utf-8")


def _child(request_path: str) -> int:
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    out = Path(request["out"])
    _limit_self(int(request["memory"]), int(request["seconds"]))
    try:
        import importlib

        module, fn = request["target"].split(":")
        parse = getattr(importlib.import_module(module), fn)
        data = Path(request["file"]).read_bytes()
        s = parse(data, request["name"], request["recipe"])
        if request["vocab"] is not None:
            from sentiment.interop.convert import build_vocab

            s.vocab = build_vocab(s, request["vocab"], request["recipe"])
        _send(out, s)
    except GateScopeError as e:
        params = {k: v if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)[:2000]
                  for k, v in (e.params or {}).items()}
        (out / "error.json").write_text(json.dumps({"code": e.code, "params": params, "reason": str(e)[:2000]}),
                                        encoding="utf-8")
    except MemoryError:
        (out / "error.json").write_text(json.dumps({"code": "sandbox.memory", "params": {
            "gib": int(request["memory"]) / 2**30, "unit": "GiB", "env": MEMORY_ENV}}), encoding="utf-8")
    except BaseException as e:  # noqa: BLE001 - anything else a crafted file provokes is one line back
        memory = "can't allocate memory" in str(e) or "bad_alloc" in str(e)
        code = "sandbox.memory" if memory else None
        params = {"gib": int(request["memory"]) / 2**30, "unit": "GiB", "env": MEMORY_ENV} if memory else {}
        (out / "error.json").write_text(json.dumps({"code": code, "params": params,
                                                    "reason": f"{type(e).__name__}: {str(e)[:200]}"}),
                                        encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1]))
