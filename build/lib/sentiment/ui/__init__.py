"""The Streamlit interface: one module per page, each with a ``render()`` function.

``PAGES`` is the one list of pages: adding a page is one line here (its module, its title key in
``i18n.STRINGS``, an icon, its URL path). ``navigation()`` turns the list into ``st.navigation`` and
draws the frame every page shares (the language switch in the sidebar). A page that raises an
unexpected error shows a message, not a traceback; the other pages keep working.

This package is the only part of ``sentiment`` that imports streamlit.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass

import streamlit as st

from . import present
from .i18n import language_switch, t
from .i18n import register

log = logging.getLogger("gatescope.ui")


@dataclass(frozen=True)
class PageSpec:
    module: str  # "sentiment.ui.explore": a module with render()
    title_key: str  # key of the page title in i18n.STRINGS
    icon: str
    url_path: str
    default: bool = False


PAGES: list[PageSpec] = [
    PageSpec("sentiment.ui.explore", "page.explore", ":material/biotech:", "explore", default=True),
    PageSpec("sentiment.ui.compare", "page.compare", ":material/compare_arrows:", "compare"),
    PageSpec("sentiment.ui.patterns", "page.patterns", ":material/scatter_plot:", "patterns"),
    PageSpec("sentiment.ui.learn", "page.learn", ":material/school:", "learn"),
    PageSpec("sentiment.ui.models", "page.models", ":material/inventory_2:", "models"),
    PageSpec("sentiment.ui.train", "page.train", ":material/model_training:", "train"),
]
register({"page.patterns": {"en": "Patterns", "zh": "模式"}})  # the nav title is needed before the page module loads


def _runner(spec: PageSpec):
    def run() -> None:
        try:
            module = importlib.import_module(spec.module)
        except ImportError as e:
            log.exception("page %s", spec.module)
            st.error(t("page.missing", err=e))
            return
        try:
            module.render()
        except Exception as e:  # never a traceback in front of a person; the log keeps it
            log.exception("page %s", spec.module)
            st.error(t("unexpected", err=f"{type(e).__name__}: {e}"), icon=":material/error:")

    run.__name__ = f"page_{spec.url_path}"
    return run


def navigation(pages: list[PageSpec] | None = None):
    """The language switch, then ``st.navigation`` over the pages (titles in the chosen language)."""
    with st.sidebar:
        language_switch()
    present.frame()  # presenter mode: its sidebar switch, and while on, the CSS and the way back
    nav = st.navigation([
        st.Page(_runner(p), title=t(p.title_key), icon=p.icon, url_path=p.url_path, default=p.default)
        for p in (pages if pages is not None else PAGES)
    ])
    with st.sidebar:
        st.caption(t("app.tagline"))
    return nav
