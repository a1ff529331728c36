"""Untrusted model files are parsed in a limited child process (sentiment.interop.sandbox): a reader
that crashes, runs away with memory or time, or answers with something other than the model it
describes, costs the server nothing but a message."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from sentiment.errors import InputError
from sentiment.interop import convert, sandbox
from sentiment.modeling import checkpoint

# Parsers standing in for a reader that a crafted file broke: the sandbox runs whatever target it is
# given exactly as it runs the real readers (in the child, under the same limits).
READERS = textwrap.dedent('''
    import ctypes, os, signal, time
    import numpy as np

    def segfault(data, name, recipe):
        ctypes.string_at(0)  # a null pointer read, as the HDF5 library's crash on a crafted .h5

    def abort(data, name, recipe):
        os.kill(os.getpid(), signal.SIGABRT)

    def greedy(data, name, recipe):
        held = []
        while True:  # what a declared 60000 x 60000 tensor does
            held.append(np.ones(1 << 27))

    def spin(data, name, recipe):
        while True:
            pass

    def sleepy(data, name, recipe):
        time.sleep(3600)

    def recursion(data, name, recipe):
        def down(n):
            return down(n + 1)
        return down(0)

    def liar(data, name, recipe):
        from sentiment.interop.convert import structure_here
        s = structure_here(data, name, recipe)
        s.hidden_size += 1  # the weights no longer fit the model the fields describe
        return s
''')


@pytest.fixture
def readers(tmp_path, monkeypatch):
    (tmp_path / "hostile_readers.py").write_text(READERS)
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    sandbox._CACHE.clear()
    return "hostile_readers"


@pytest.fixture(scope="module")
def small_pt(tmp_path_factory):
    """A real PyTorch state dict: Embedding(40, 8) -> LSTM(8, 6) -> Linear(6, 2)."""
    torch.manual_seed(0)
    m = torch.nn.ModuleDict({"emb": torch.nn.Embedding(40, 8), "lstm": torch.nn.LSTM(8, 6, batch_first=True),
                             "fc": torch.nn.Linear(6, 2)})
    path = tmp_path_factory.mktemp("pt") / "small.pt"
    torch.save(m.state_dict(), path)
    return path


def _read(path, readers, fn, **kw):
    return sandbox.read(path.read_bytes(), path.name, {}, target=f"{readers}:{fn}", **kw)


def test_a_reader_that_segfaults_becomes_a_message(readers, small_pt):
    with pytest.raises(InputError, match="could not be read safely.*SIGSEGV") as e:
        _read(small_pt, readers, "segfault")
    assert e.value.code == "sandbox.crashed"


def test_a_reader_that_aborts_becomes_a_message(readers, small_pt):
    with pytest.raises(InputError, match="SIGABRT"):
        _read(small_pt, readers, "abort")


def test_memory_is_limited_and_the_peak_stays_under_the_limit(readers, small_pt, monkeypatch):
    monkeypatch.setenv(sandbox.MEMORY_ENV, "1G")
    with pytest.raises(InputError, match="more than 1.0 GiB") as e:
        _read(small_pt, readers, "greedy")
    assert e.value.code == "sandbox.memory"
    assert 0 < sandbox.last_peak_bytes < 1 << 30


@pytest.mark.slow
def test_a_reader_that_runs_too_long_is_killed(readers, small_pt, monkeypatch):
    monkeypatch.setenv(sandbox.SECONDS_ENV, "5")
    t = time.monotonic()
    with pytest.raises(InputError, match="longer than 5 s|more than 5 s of CPU"):
        _read(small_pt, readers, "sleepy")
    assert time.monotonic() - t < 15


@pytest.mark.slow
def test_a_reader_that_spins_is_stopped_by_its_cpu_or_wall_limit(readers, small_pt, monkeypatch):
    monkeypatch.setenv(sandbox.SECONDS_ENV, "5")
    with pytest.raises(InputError, match="could not be read safely"):
        _read(small_pt, readers, "spin")


def test_a_recursion_error_is_one_line(readers, small_pt):
    with pytest.raises(InputError, match="could not be read safely: RecursionError"):
        _read(small_pt, readers, "recursion")


@pytest.mark.slow
def test_weights_that_do_not_fit_the_described_model_are_refused(readers, small_pt):
    with pytest.raises(InputError, match="failed its check") as e:
        _read(small_pt, readers, "liar")
    assert e.value.code == "sandbox.bad_reply"


@pytest.mark.slow
def test_the_child_reads_a_real_file_as_this_process_would(small_pt):
    sandbox._CACHE.clear()
    data = small_pt.read_bytes()
    child = convert.read_structure(data, small_pt.name, {})
    here = convert.structure_here(data, small_pt.name, {})
    assert child.describe() == here.describe()
    assert set(child.state) == set(here.state)
    for k in here.state:
        assert torch.equal(child.state[k], here.state[k]), k


def test_a_bad_limit_in_the_environment_is_a_message(small_pt, monkeypatch):
    monkeypatch.setenv(sandbox.MEMORY_ENV, "lots")
    with pytest.raises(InputError, match="GATESCOPE_IMPORT_MEMORY='lots'"):
        sandbox.read(small_pt.read_bytes(), small_pt.name, {})


@pytest.mark.slow
def test_the_server_process_never_imports_h5py_for_an_upload(tmp_path):
    """convert() on a Keras file parses it in the child: this process never loads h5py."""
    code = textwrap.dedent(f'''
        import sys
        from sentiment.interop import convert
        try:
            convert.convert({str(tmp_path / "x.h5")!r}, {str(tmp_path / "out")!r})
        except Exception as e:
            print(type(e).__name__, e)
        print("h5py" in sys.modules, "keras" in sys.modules)
    ''')
    (tmp_path / "x.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(4000))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "False False", out.stdout + out.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_convert_cli_prints_one_line_for_random_bytes(tmp_path):
    src = tmp_path / "random.bin"
    src.write_bytes(os.urandom(4096))
    out = subprocess.run([sys.executable, "-m", "sentiment.convert", str(src), "--out", str(tmp_path / "m")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and out.stderr.startswith("error: "), out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_a_converted_model_still_loads_and_predicts(small_pt, tmp_path):
    sandbox._CACHE.clear()
    path, _ = convert.convert(small_pt, tmp_path / "m", recipe={"max_len": 20},
                              vocab=_vocab(tmp_path))
    ck = checkpoint.load(path)
    assert ck.config.hidden_size == 6 and ck.config.vocab_size == 40


def _vocab(tmp_path):
    v = tmp_path / "vocab.txt"
    v.write_text("\n".join(["<pad>", "<unk>"] + [f"w{i}" for i in range(38)]), encoding="utf-8")
    return v


def test_a_state_dict_missing_a_recurrent_tensor_is_a_message_not_a_key_error(tmp_path):
    """Found by fuzzing: weight_ih_l0 without weight_hh_l0 used to escape as a KeyError."""
    path = tmp_path / "half.pt"
    torch.save({"emb.weight": torch.zeros(10, 4), "lstm.weight_ih_l0": torch.zeros(24, 4),
                "fc.weight": torch.zeros(2, 6)}, path)
    with pytest.raises(InputError) as e:
        convert.structure_here(path.read_bytes(), path.name, {})
    assert e.value.code is not None  # a message in both languages, never the bare exception


@pytest.mark.slow
def test_the_cache_keeps_small_structures_and_never_more_than_its_bytes(small_pt):
    sandbox._CACHE.clear()
    s = convert.read_structure(small_pt.read_bytes(), small_pt.name, {})
    assert len(sandbox._CACHE) == 1  # the page's next rerun reads it without a child
    big = convert.structure_here(small_pt.read_bytes(), small_pt.name, {})
    big.state["embedding.weight"] = torch.zeros(sandbox._CACHE_BYTES // 64 + 1, 4)  # over a quarter of the cache
    sandbox._remember("big", big)
    assert "big" not in sandbox._CACHE
    for i in range(6):  # six fifths: the oldest must go
        mid = convert.structure_here(small_pt.read_bytes(), small_pt.name, {})
        mid.state["embedding.weight"] = torch.zeros(sandbox._CACHE_BYTES // 80, 4)  # a fifth of the cache
        sandbox._remember(f"mid{i}", mid)
    assert sum(sandbox._weights_bytes(x) for x in sandbox._CACHE.values()) <= sandbox._CACHE_BYTES
    assert "mid5" in sandbox._CACHE and "mid0" not in sandbox._CACHE and s is not None
