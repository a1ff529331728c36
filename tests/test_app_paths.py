"""Small things a person sees (issue 22, items 4, 5 and 7), in AppTest and on figures: the default page also has
its own path (a typed ``/explore?...`` link finds it), the Train page's runs table shows no Python "None", a
run's accuracy axis has round ticks, the language switch names the languages. The same in a real browser:
tests/test_browser_paths.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


def _pages_script() -> None:
    import streamlit as st

    from sentiment.ui import PAGES, st_pages

    st.session_state["pages"] = [[p.url_path, p._default, p.visibility] for spec in PAGES for p in st_pages(spec)]


def test_the_default_page_is_served_at_the_root_and_at_its_own_path():
    from sentiment.ui import PAGES

    at = AppTest.from_function(_pages_script, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    pages = at.session_state["pages"]
    default = next(p for p in PAGES if p.default)
    assert [p for p in pages if p[1]] == [["", True, "visible"]]  # the root, in the navigation
    assert [default.url_path, False, "hidden"] in pages  # and its own path, hidden: no second link
    paths = [p[0] for p in pages]
    assert len(set(paths)) == len(paths)
    assert [p[0] for p in pages if p[2] == "visible" and not p[1]] == [p.url_path for p in PAGES if not p.default]


def test_the_explore_page_of_use_this_model_is_the_registered_one():
    """"Use this model" switches to the page object st.navigation registered at the root."""

    def script() -> None:
        import streamlit as st

        from sentiment.ui import train

        page = train._explore_page()
        st.session_state["explore"] = [page.url_path, page._default]

    at = AppTest.from_function(script, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["explore"] == ["", True]


def _switch_script() -> None:
    from sentiment.ui.i18n import language_switch

    language_switch()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_language_switch_names_the_languages(lang):
    at = AppTest.from_function(_switch_script, default_timeout=30)
    at.query_params["lang"] = lang
    at.run()
    assert not at.exception, at.exception
    [radio] = at.sidebar.radio
    assert radio.options == ["English", "中文"]
    assert radio.value == lang


def fake_running_run(root: Path) -> str:
    rid = "20260101-120000-0000beef"
    d = root / rid
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"name": "live", "data": "hotel", "epochs": 2, "limit": 400, "max_len": 64,
                                               "hidden": 16}))
    (d / "status.json").write_text(json.dumps({"id": rid, "state": "running", "created": 100.0, "started": 101.0,
                                               "device": None, "reason": None}))
    events = [{"type": "start", "device": "cpu", "sizes": {"train": 400, "val": 200, "test": 100}, "epochs": 2, "time": 111.0}]
    events += [{"type": "step", "epoch": 1, "step": b, "batch": b, "batches": 12, "loss": 0.7 - b / 100,
                "acc": 0.19 + b / 15, "time": 111.0 + b} for b in range(1, 13)]
    (d / "metrics.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return rid


@pytest.mark.slow  # over a second on a quiet 2-core CPU (fast-tier durations, 2026-12-07)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_runs_table_of_a_training_run_has_no_none(tmp_path, monkeypatch, lang):
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))
    fake_running_run(tmp_path / "runs")
    at = AppTest.from_file(str(ROOT / "tests" / "_train_page.py"), default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, at.exception
    df = at.dataframe[-1].value  # the runs table (the last table on the page)
    assert len(df) == 1
    cells = [str(v) for v in df.iloc[0].tolist()]
    assert "None" not in cells and "nan" not in cells and "<NA>" not in cells, cells
    acc_col = next(c for c in df.columns if "%" in c)
    assert df[acc_col].iloc[0] == "—"


def test_a_runs_accuracy_axis_has_round_ticks():
    from sentiment.figures import run_curves

    steps = [{"type": "step", "epoch": 1, "step": b, "loss": 0.7, "acc": a} for b, a in enumerate([0.19, 0.457, 0.725, 0.992])]
    spec = json.loads(run_curves(steps + [{"type": "epoch", "epoch": 1, "val_acc": 0.8}]).to_json())
    y2 = spec["layout"]["yaxis2"]
    assert (y2["tickmode"], y2["tick0"], y2["dtick"], y2["range"]) == ("linear", 0.1, 0.1, [0.1, 1.0])
    assert y2["tickformat"] == ".0%"
    high = [{"type": "step", "epoch": 1, "step": b, "loss": 0.3, "acc": a} for b, a in enumerate([0.83, 0.9, 0.97])]
    y2 = json.loads(run_curves(high).to_json())["layout"]["yaxis2"]
    assert (y2["tick0"], y2["dtick"], y2["range"]) == (0.8, 0.05, [0.8, 1.0])
    for tick in (y2["tick0"] + i * y2["dtick"] for i in range(5)):  # 80%, 85%, ... 100%: round
        assert abs(round(tick * 100) - tick * 100) < 1e-6
