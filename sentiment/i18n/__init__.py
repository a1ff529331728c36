"""GateScope's words: one string table per language and ``t(key, lang, **params)``. Torch-free, streamlit-free.

``en.STRINGS`` and ``zh.STRINGS`` map a key to a template formatted with ``str.format`` and named
``{params}``. Both tables have the same keys and the same params (``check_tables`` says where they
differ; a test runs it). Keys: ``<area>.<name>`` for the interface, ``fig.<name>`` for the figures,
``error.<code>`` for the message of a ``GateScopeError`` raised with that code.

``t(key, lang)`` never raises: a key missing from a language falls back to English, an unknown key
shows itself as ``[key]`` so it is seen; a template that cannot be formatted with the given params is
returned unformatted. ``t`` also takes a ``Message`` (an error or note with a code and params): its
text in that language, its params translated too when they are ``Message``s themselves.

Adding a string: one line in en.py and one in zh.py, the same key and params (tests/test_i18n.py checks
both, and that every literal key the code passes to ``t`` exists). Adding an error: a template
``error.<code>`` in both tables, then ``raise DataError("<code>", path=..., line=...)``; ``str(e)`` is
the English text (a code en.py lacks raises where the error is made). Words per language live only here:
tests/test_i18n.py scans the package for ``{"en": ..., "zh": ...}`` dicts elsewhere. The interface (sentiment/ui/i18n.py) calls ``t`` with the session's language.
"""

from __future__ import annotations

import string
from typing import Any, Protocol, runtime_checkable

from sentiment.i18n import en, zh

LANGUAGES: dict[str, str] = {"en": "English", "zh": "中文"}
DEFAULT = "en"
TABLES: dict[str, dict[str, str]] = {"en": en.STRINGS, "zh": zh.STRINGS}


@runtime_checkable
class Message(Protocol):
    """Anything with a code and params (``GateScopeError``, ``Note``): ``t`` renders ``error.<code>``."""

    code: str | None
    params: dict[str, Any]


class Note:
    """A core message that is not an error (a review cut short, a review in the other language):
    ``str(note)`` is the English text, ``t(note, "zh")`` the Chinese."""

    def __init__(self, code: str, **params: Any) -> None:
        if "error." + code not in en.STRINGS:
            raise KeyError(f"no message error.{code} in sentiment/i18n/en.py")
        self.code, self.params = code, params

    def __str__(self) -> str:
        return t(self, "en")

    def __repr__(self) -> str:
        return f"Note({self.code!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Note) and (self.code, self.params) == (other.code, other.params)

    def __hash__(self) -> int:
        return hash((self.code, tuple(sorted(self.params))))


def params_of(template: str) -> set[str]:
    """The named fields of a template: 'line {n:,} of {path}' -> {'n', 'path'}."""
    names = set()
    for _, field, spec, _ in string.Formatter().parse(template):
        if field is not None:
            names.add(field.split(".")[0].split("[")[0])
            if spec:
                names |= params_of(spec)
    return names


def check_tables(tables: dict[str, dict[str, str]] | None = None) -> list[str]:
    """Every difference between the language tables: keys missing from one, params that differ."""
    tables = tables or TABLES
    problems = []
    reference = tables[DEFAULT]
    for lang, table in tables.items():
        if lang == DEFAULT:
            continue
        problems += [f"{lang}: missing {k}" for k in reference.keys() - table.keys()]
        problems += [f"{lang}: extra {k} (not in {DEFAULT})" for k in table.keys() - reference.keys()]
        for k in reference.keys() & table.keys():
            a, b = params_of(reference[k]), params_of(table[k])
            if a != b:
                problems.append(f"{lang}: {k} has params {sorted(b)}, {DEFAULT} has {sorted(a)}")
    return sorted(problems)


def _render_params(params: dict[str, Any], lang: str) -> dict[str, Any]:
    return {k: (t(v, lang) if isinstance(v, Message) and not isinstance(v, type) else v) for k, v in params.items()}


def t(key: str | Message | BaseException, lang: str = DEFAULT, /, **params: Any) -> str:
    """The text of ``key`` in ``lang`` ('en' | 'zh'), formatted with ``params`` (``key`` and ``lang`` are
    positional-only, so a template may have params named ``lang`` or ``key``).

    ``key`` may be a ``Message`` (an error or note with ``code`` and ``params``): its template is
    ``error.<code>``. An exception without a code is shown as its own (English) message."""
    if not isinstance(key, str):
        code = getattr(key, "code", None)
        if not isinstance(code, str) or not isinstance(getattr(key, "params", None), dict):
            return str(key)  # an error without a code (or another library's numeric one) speaks for itself
        key, params = "error." + code, {**_render_params(getattr(key, "params", {}), lang), **params}
    table = TABLES.get(lang, TABLES[DEFAULT])
    template = table.get(key)
    if template is None:
        template = TABLES[DEFAULT].get(key)
        if template is None:
            return f"[{key}]"
    if not params:
        return template
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError, AttributeError):
        return template
