"""The interface's language: the session's choice, the sidebar switch, and ``t(key)`` in that language.

The words themselves live in one table per language, ``sentiment/i18n/en.py`` and ``zh.py`` (shared
with the figures; a test holds the two to the same keys and params). ``t(key, **params)`` looks a key up
in the current language; ``t(error)`` shows a ``GateScopeError`` (or a ``Note``) in that language from its
code and params, and an error without a code as its English message.
The current language lives in ``st.session_state["lang"]`` (the sidebar switch, see ``language_switch``).
"""

from __future__ import annotations

import streamlit as st

from sentiment import i18n as tables
from sentiment.i18n import DEFAULT as DEFAULT_LANG
from sentiment.i18n import LANGUAGES as LANGS

LANG_KEY = "lang"


def lang() -> str:
    """The interface language now: 'en' or 'zh'."""
    try:
        v = st.session_state.get(LANG_KEY, DEFAULT_LANG)
    except Exception:  # outside a Streamlit script run
        v = DEFAULT_LANG
    return v if v in LANGS else DEFAULT_LANG


def t(key, language: str | None = None, /, **kw) -> str:
    """``key`` (a string key, or an error / note with a code) in the current (or given) language."""
    return tables.t(key, language or lang(), **kw)


def language_switch() -> str:
    """The sidebar's language switch; returns the chosen language."""
    if LANG_KEY not in st.session_state:
        q = st.query_params.get("lang")
        st.session_state[LANG_KEY] = q if q in LANGS else DEFAULT_LANG
    st.sidebar.radio(t("lang.label"), list(LANGS), format_func=LANGS.get, key=LANG_KEY, horizontal=True)
    return lang()
