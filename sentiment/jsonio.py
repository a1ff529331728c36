"""Small JSON files on disk (model configs and cards, run status files): read one JSON object, or
write one atomically. Torch-free, imports nothing of GateScope."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def _problem(path: Path, max_bytes: int | None = None) -> tuple[dict | None, str | None]:
    """(the object, None), or (None, what is wrong with the file); a file over ``max_bytes`` is not read."""
    if not path.is_file():
        return None, "missing"
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            return None, f"{size / 1e6:.1f} MB, more than the {max_bytes / 1e6:.0f} MB such a file may take"
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"corrupt or truncated JSON ({e})"
    except RecursionError:
        return None, "corrupt JSON (nested too deeply)"
    if not isinstance(obj, dict):
        return None, "expected a JSON object"
    return obj, None


def read_json(path: Path) -> dict | None:
    """The JSON object in ``path``; None when the file is missing, unreadable, not JSON or not an object."""
    return _problem(Path(path))[0]


def load_json_object(path: Path, error: type[Exception], missing: str = "missing", max_bytes: int | None = None) -> dict:
    """The JSON object in ``path``, else ``error("<path>: <what is wrong>")``; ``missing`` says what a
    missing file means; a file over ``max_bytes`` is refused unread."""
    obj, problem = _problem(Path(path), max_bytes)
    if obj is None:
        raise error(f"{path}: {missing if problem == 'missing' else problem}")
    return obj


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to a temporary file beside ``path``, fsync it, and rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
