"""The package installs as users get it: ``pip install .`` into a fresh virtual environment, then the
command-line tools run from another folder with the shipped models found as package data
(``sentiment/assets``), nothing read from the checkout.

The fresh environment takes its dependencies (torch, streamlit, ...) from the one running the tests
through a ``.pth`` file, so the test installs only GateScope itself (a wheel build with setuptools
from the package index: about a minute).
"""

from __future__ import annotations

import json
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # builds and installs a wheel
def test_pip_install_then_predict_from_another_folder(tmp_path):
    venv, elsewhere = tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n", "utf-8")
    r = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(ROOT)],
                       capture_output=True, text=True, timeout=600, cwd=elsewhere)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run([str(python), "-m", "sentiment.predict", "--model", "imdb-lstm-max", "--json", "great"],
                       capture_output=True, text=True, timeout=300, cwd=elsewhere, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["label"] in ("positive", "negative")
    where = subprocess.run([str(python), "-c", "import sentiment.spec as s; print(s.__file__, s.ASSETS_DIR)"],
                           capture_output=True, text=True, cwd=elsewhere, check=True).stdout
    assert str(ROOT) not in where and "site-packages" in where  # the installed copy, its own assets
