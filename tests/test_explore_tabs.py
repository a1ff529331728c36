"""Explore's tabs are addressed by name (explore.TABS keys), not by position: each tab's content is drawn
inside the tab whose label is that tab's, and only the open tab holds anything (AppTest, a tiny model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_checkpoint
from streamlit.testing.v1 import AppTest

from sentiment.i18n import t
from sentiment.ui import explore
from sentiment.ui.i18n import LANGS

ROOT = Path(__file__).resolve().parent.parent

# What each tab shows, told apart by the kind of its charts, or by a widget only that tab has.
CHARTS = {
    explore.TAB_GATES: ["gate_heatmaps"],
    explore.TAB_POOLING: ["pooling_bar"],
    explore.TAB_READING: ["prefix_curve", "attribution_bar"],
    explore.TAB_SATURATION: ["saturation_histogram"],
    explore.TAB_EDIT: [],
    explore.TAB_UPDATES: ["update_heatmaps", "update_unit"],
    explore.TAB_DOWNLOADS: [],
}


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("explore-tabs")
    make_checkpoint(root / "models" / "tiny-lstm-max", cell="lstm", pooling="max")
    (root / "runs").mkdir()
    mp = pytest.MonkeyPatch()
    mp.setenv("GATESCOPE_MODELS", str(root / "models"))
    mp.setenv("GATESCOPE_RUNS", str(root / "runs"))
    yield
    mp.undo()


def test_tab_keys_are_the_tabs_shown():
    assert set(CHARTS) == set(explore.TABS) and len(explore.TABS) == len(set(explore.TABS))
    for language in LANGS:
        labels = [t(k, language) for k in explore.TABS]
        assert len(set(labels)) == len(labels), labels  # a label names one tab (the open one is kept by it)


def _kinds(container) -> list[str]:
    return [json.loads(c.proto.spec)["layout"].get("meta", {}).get("kind") for c in container.get("plotly_chart")]


@pytest.mark.slow
@pytest.mark.parametrize("key", explore.TABS)
def test_each_tab_draws_in_its_own_tab(tiny_models, key):
    at = AppTest.from_file(str(ROOT / "tests" / "_explore_page.py"), default_timeout=120)
    at.session_state["ex_tab"] = t(key, "en")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    tabs = {tab.label: tab for tab in at.tabs}
    assert list(tabs) == [t(k, "en") for k in explore.TABS]
    mine = tabs[t(key, "en")]
    assert _kinds(mine) == CHARTS[key]
    if key == explore.TAB_EDIT:
        assert [s.key for s in mine.selectbox if s.key and s.key.endswith("_edit_pick")]
    if key == explore.TAB_DOWNLOADS:
        assert mine.get("download_button")
    for label, other in tabs.items():
        if label != t(key, "en"):
            assert not other.children, label  # a closed tab is not drawn
