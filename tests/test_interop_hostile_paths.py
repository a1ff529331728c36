"""Hostile model files through every door a user has: ``python -m sentiment.convert``, ``open_model``
and the Models page. Each gets a message; nothing is written; the reading process stays under its
memory limit; no file of the server ends up in a model; the server process itself survives (the
real-browser crash case is tests/test_browser_own_model.py)."""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from sentiment.errors import GateScopeError
from sentiment.interop import sandbox
from tests.test_interop_hostile import (
    CONFIG,
    ONE_FLOAT,
    SECRET,
    Net,
    Storage,
    View,
    deep_dict_pickle,
    dumps,
    external_to,
    legacy_h5,
    shared_dicts,
    torch_zip,
)

ROOT = Path(__file__).resolve().parent.parent
CRASH = ROOT / "tests" / "fixtures" / "h5_crash.h5"


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", __import__("json").dumps(CONFIG))
        z.writestr("model.weights.h5", b"\0" * (64 << 20))
    return out.getvalue()


def hostile_files(secret: Path) -> dict[str, bytes]:
    """name -> bytes of a crafted file (the names' extensions are what a user would upload)."""
    return {
        "crash.h5": CRASH.read_bytes(),  # segfaults the HDF5 library
        "external.h5": legacy_h5(make=external_to(secret)),  # its embedding stored in a server file
        "stride0.pt": torch_zip(dumps(Net({"weight": View(Storage("0", 1), 0, (60000, 60000), (0, 0))})), ONE_FLOAT),
        "laughs.pdparams": pickle.dumps(shared_dicts(60, np.ones(2, np.float32)), protocol=4),
        "deep.pt": torch_zip(deep_dict_pickle(100_000)),
        "bomb.keras": _zip_bomb(),
        "random.bin": os.urandom(4096),
    }


NAMES = ["crash.h5", "external.h5", "stride0.pt", "laughs.pdparams", "deep.pt", "bomb.keras", "random.bin"]


@pytest.fixture
def files(tmp_path, monkeypatch):
    secret = tmp_path / "server-secret.bin"
    secret.write_bytes(SECRET)
    folder = tmp_path / "uploads"
    folder.mkdir()
    for name, data in hostile_files(secret).items():
        (folder / name).write_bytes(data)
    monkeypatch.setenv("GATESCOPE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv(sandbox.MEMORY_ENV, "1G")
    sandbox._CACHE.clear()
    return folder


def _vocab(folder: Path) -> Path:
    v = folder / "vocab.txt"
    v.write_text("\n".join(["<pad>", "<unk>"] + [f"w{i}" for i in range(60)]), encoding="utf-8")
    return v


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_the_cli_prints_one_line_and_writes_nothing(files, tmp_path, name):
    out = tmp_path / "model"
    env = {**os.environ}
    r = subprocess.run([sys.executable, "-m", "sentiment.convert", str(files / name), "--out", str(out),
                        "--vocab", str(_vocab(files)), "--force"], capture_output=True, text=True, timeout=180, env=env)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in r.stderr, r.stderr
    assert "TOP-SECRET" not in r.stdout + r.stderr
    assert not out.exists()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.slow
def test_open_model_raises_a_message_caches_nothing_and_stays_under_the_limit(files, tmp_path, name):
    import sentiment

    with pytest.raises(GateScopeError) as e:
        sentiment.open_model(files / name, vocab=_vocab(files), max_len=50)
    assert e.value.code, str(e.value)  # a message of GateScope's, in both languages
    assert "TOP-SECRET" not in str(e.value)
    assert sandbox.last_peak_bytes < 1 << 30
    imported = tmp_path / "cache" / "imported"
    assert not imported.exists() or not any(imported.iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["crash.h5", "stride0.pt", "laughs.pdparams", "bomb.keras"])
def test_the_models_page_shows_the_message_and_keeps_its_grid_and_table(files, tmp_path, name):
    at = AppTest.from_file(str(ROOT / "tests" / "_models_page.py"), default_timeout=120).run()
    before = (len(at.get("plotly_chart")), len(at.dataframe))
    at.file_uploader(key="om_weights").upload(name, (files / name).read_bytes(), "application/octet-stream").run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert errors  # the message, in place of the result
    assert "Traceback" not in errors and "TOP-SECRET" not in errors
    assert (len(at.get("plotly_chart")), len(at.dataframe)) == before
    imported = tmp_path / "runs" / "imported"
    assert not imported.exists() or not any(imported.iterdir())


def test_the_crash_file_really_crashes_its_reader(files):
    """The fixture is what it claims: read in this process's way, it kills a child with a signal."""
    r = subprocess.run([sys.executable, "-c", "import sys, io, h5py; f = h5py.File(io.BytesIO(open(sys.argv[1], 'rb')"
                        ".read()), 'r'); f.attrs['model_config']", str(files / "crash.h5")], capture_output=True, timeout=60)
    assert r.returncode < 0, r.returncode
