"""The interface's language: the session's choice, the sidebar switch, and ``t(key)`` in that language.

The words themselves live in one table per language, ``sentiment/i18n/en.py`` and ``zh.py`` (shared
with the figures; a test holds the two to the same keys and params). ``t(key, **params)`` looks a key up
in the current language; ``t(error)`` shows a ``GateScopeError`` (or a ``Note``) in that language from its
code and params, and an error without a code as its English message.
The current language lives in ``st.session_state["lang"]`` (the sidebar switch, see ``language_switch``).
"""

from __future__ import annotations

import re

import streamlit as st

from sentiment import i18n as tables
from sentiment.i18n import DEFAULT as DEFAULT_LANG
from sentiment.i18n import LANGUAGES as LANGS

LANG_KEY = "lang"


# Core (English) messages -> Chinese, for the common cases; matched with re.fullmatch.
_CORE_ZH: list[tuple[str, str]] = [
    (r"The review is empty: type or paste some text\.", "评论为空：请输入或粘贴一些文字。"),
    (r"A review must be text\.", "评论必须是文字。"),
    (r"No words found in the review \(only symbols, emoji or punctuation\)\.", "评论中没有可读的词（只有符号、表情或标点）。"),
    (r"This review looks English, but the model reads Chinese: its prediction means little\.",
     "这条评论看起来是英文，但模型读的是中文：它的预测没有多大意义。"),
    (r"This review looks Chinese, but the model reads English: its prediction means little\.",
     "这条评论看起来是中文，但模型读的是英文：它的预测没有多大意义。"),
    (r"The review was cut to the model's first (\d+) tokens \((\d+) more not read\)\.", r"评论已截断为模型的前 \1 个词元（另有 \2 个未读）。"),
    (r"The review was cut to the model's first (\d+) tokens \(the rest, ([\d,]+) more characters, not read\)\.",
     r"评论已截断为模型的前 \1 个词元（其余 \2 个字符未读）。"),
]


def register(strings: dict[str, dict[str, str]]) -> None:
    """Deprecated: add key -> {"en": ..., "zh": ...} strings to the per-language tables.

    Kept for page modules that still register their own strings; new strings go straight into
    ``sentiment/i18n/en.py`` and ``zh.py``."""
    tables.add(strings)


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


def core_message(message: str, language: str | None = None) -> str:
    """A core (English) message in the interface language: each sentence translated where known."""
    if (language or lang()) != "zh" or not message:
        return message
    out = []
    for sentence in re.split(r"(?<=\.)\s+(?=[A-Z])", message.strip()):
        for pattern, zh in _CORE_ZH:
            m = re.fullmatch(pattern, sentence)
            if m:
                out.append(m.expand(zh))
                break
        else:
            out.append(sentence)
    return "".join(out) if all(not re.search(r"[A-Za-z]", o) for o in out) else " ".join(out)


def language_switch() -> str:
    """The sidebar's language switch; returns the chosen language."""
    if LANG_KEY not in st.session_state:
        q = st.query_params.get("lang")
        st.session_state[LANG_KEY] = q if q in LANGS else DEFAULT_LANG
    st.sidebar.radio(t("lang.label"), list(LANGS), format_func=LANGS.get, key=LANG_KEY, horizontal=True)
    return lang()
