"""The README's "Open your own model" notebook example runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- example: open_model -->\n```python\n(.*?)```", text, re.S)
    assert m, "README: the open_model example is missing"
    return m.group(1)


@pytest.mark.slow
def test_the_readme_example_opens_a_pytorch_file_traces_and_draws(tmp_path):
    (tmp_path / "example.py").write_text(readme_example(), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT), GATESCOPE_CACHE=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    label, length, pads = r.stdout.split()
    assert label in ("positive", "negative") and (length, pads) == ("200", "190")
    html = (tmp_path / "gates.html").read_text(encoding="utf-8")
    assert "plotly" in html.lower()
    assert list((tmp_path / "cache" / "imported").iterdir())  # converted once, into the cache


def test_open_model_takes_a_shipped_model_by_name():
    import sentiment

    m = sentiment.open_model("imdb-lstm-max")
    assert m.name == "imdb-lstm-max" and m.trace("a fine film", prefix=False, occlusion=False).padding is None
