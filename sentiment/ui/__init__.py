"""The Streamlit interface: one module per page, each with a ``render()`` function.

``PAGES`` is the one list of pages: adding a page is one line here (its module, its title key in
the string tables, sentiment/i18n/en.py and zh.py, an icon, its URL path). ``navigation()`` turns the list into
``st.navigation`` (``st_pages``: the default page is served at ``/`` and, hidden, at its own path, so ``/explore?...``
works too) and draws the frame every page shares (the language switch in the sidebar). A page that raises an
unexpected error shows a message, not a traceback; the other pages keep working.

This package is the only part of ``sentiment`` that imports streamlit.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass

import streamlit as st

from sentiment import serving

from . import present
from .i18n import language_switch, t

log = logging.getLogger("gatescope.ui")


@dataclass(frozen=True)
class PageSpec:
    module: str  # "sentiment.ui.explore": a module with render()
    title_key: str  # key of the page title in the string tables (sentiment/i18n)
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


def st_pages(spec: PageSpec) -> list:
    """The ``st.Page`` objects of one page. The default page is served at ``/`` (Streamlit gives the
    default page no path of its own), so it is registered twice: at ``/`` (in the navigation) and, hidden,
    at its own path, so that a typed ``/explore?model=...`` link opens it, not a "Page not found" dialog.
    The first is the one to ``st.switch_page`` to."""
    page = st.Page(_runner(spec), title=t(spec.title_key), icon=spec.icon, url_path="" if spec.default else spec.url_path,
                   default=spec.default)
    if not spec.default:
        return [page]
    return [page, st.Page(_runner(spec), title=t(spec.title_key), icon=spec.icon, url_path=spec.url_path,
                          visibility="hidden")]


def navigation(pages: list[PageSpec] | None = None):
    """The language switch, then ``st.navigation`` over the pages (titles in the chosen language).
    First the server's thread policy (``sentiment.serving``): every session passes here before computing."""
    serving.apply_thread_policy()
    with st.sidebar:
        language_switch()
    present.frame()  # presenter mode: its sidebar switch, and while on, the CSS and the way back
    nav = st.navigation([page for p in (pages if pages is not None else PAGES) for page in st_pages(p)])
    with st.sidebar:
        st.caption(t("app.tagline"))
    return nav
