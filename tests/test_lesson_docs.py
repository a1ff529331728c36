"""The README says where the datasets are looked for in the order the code looks (issue 14, item 9)."""

from __future__ import annotations

import re
from pathlib import Path

from sentiment import spec

ROOT = Path(__file__).resolve().parent.parent


def test_readme_data_lookup_order_is_the_codes(monkeypatch, tmp_path):
    monkeypatch.setenv("GATESCOPE_DATA", str(tmp_path))
    dirs = spec.data_dirs()
    assert dirs == [tmp_path, Path("data"), spec.PROJECT_ROOT / "data", spec.PROJECT_ROOT.parent / "shared" / "data"]
    text = ROOT.joinpath("README.md").read_text(encoding="utf-8")
    para = re.search(r"## Test it\n(.*?)\n## ", text, re.S).group(1)
    said = [para.index(s) for s in ("`GATESCOPE_DATA`", "`./data/`", "`data/` in the checkout", "`../shared/data/`")]
    assert said == sorted(said), para
