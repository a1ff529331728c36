"""Errors GateScope raises for bad input: each carries a code and params, and reads as an English sentence.

``raise DataError("data.no_column", where=path, line=1, column="text")`` makes an error whose ``code``
and ``params`` name the message template ``error.<code>`` in the string tables (sentiment/i18n/en.py,
zh.py): ``str(e)`` is the English message (CLIs and logs read it), and the interface shows
``sentiment.i18n.t(e, "zh")`` in the user's language. A code the English table does not have fails
loudly where the error is made (``KeyError``: a mistyped code would otherwise reach the Chinese page
verbatim). A sentence the tables cannot hold (another program's own words) is said deliberately:
``GateScopeError.plain("...")`` has ``code`` None, and every language shows that sentence as it is.
tests/test_i18n.py checks every code the package passes, in both tables, and that no raise site passes
an English sentence instead.
"""

from __future__ import annotations

from typing import Any

from sentiment import i18n


def is_code(text: str) -> bool:
    """Whether ``text`` names a message template (``error.<text>`` in the English table)."""
    return isinstance(text, str) and "error." + text in i18n.TABLES[i18n.DEFAULT]


class GateScopeError(Exception):
    """Base class: the message says what was wrong and, where it helps, what to do."""

    code: str | None
    params: dict[str, Any]

    def __init__(self, code: str, /, **params: Any) -> None:
        if not is_code(code):
            raise KeyError(f"no message error.{code} in sentiment/i18n/en.py (a deliberate plain sentence: "
                           f"{type(self).__name__}.plain(text))")
        self.code, self.params = code, params
        super().__init__(i18n.t(self, "en"))

    @classmethod
    def plain(cls, message: str) -> GateScopeError:
        """An error whose message is a plain sentence, shown as it is in every language (``code`` None):
        for words the tables cannot hold, such as another program's error message."""
        return _rebuild_plain(cls, str(message))

    def __reduce__(self):  # pickles with its code and params (a plain message as itself)
        if self.code is None:
            return (_rebuild_plain, (type(self), str(self)))
        return (_rebuild, (type(self), self.code, self.params))


def _rebuild(cls: type, code: str, params: dict[str, Any]) -> GateScopeError:
    err = cls.__new__(cls)
    GateScopeError.__init__(err, code, **params)
    return err


def _rebuild_plain(cls: type, message: str) -> GateScopeError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.code, err.params = None, {}
    return err


class InputError(GateScopeError):
    """A review (or other user-typed input) that cannot be used as it is."""


class DataError(GateScopeError):
    """A dataset file that cannot be read: the message names the file, line and problem."""


class CheckpointError(GateScopeError):
    """A model directory that is missing, partial or corrupt: the message names the file."""
