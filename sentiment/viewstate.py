"""A view's state as a shareable link: the query parameters of a GateScope URL, parsed and checked.

A teacher's link (``/learn?model=imdb-lstm-max&text=...&token=3&unit=5``) names the model, the review,
the selected token and unit, the layer and direction, the gates shown, presenter mode and the
language; a Compare link (``/compare?model=imdb-lstm-max&model_b=imdb-gru-max&text=...``) names a
second model too, B (``model_b``, ``pooling_b``), next to model A (``model``, ``pooling``). ``parse`` turns the raw parameters into a ``ViewState`` and a list of ``Problem``s (each a
code and its details, never an exception); ``check_selection`` checks the token, unit and layer
against a traced review once its length and size are known; ``encode`` writes a state back as
parameters. Messages for people are the UI's business (``sentiment.ui.share`` translates the codes).

No streamlit here: the same functions serve the app, the tests and anyone building a link by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from sentiment.spec import ALL_GATES, DIRECTIONS, POOLINGS

if TYPE_CHECKING:
    from sentiment.modeling.catalog import ModelEntry

MAX_TEXT = 2_000  # characters of review a link may carry (URLs past ~8 KB break in proxies and chat apps)
MAX_INDEX = 1_000_000  # any token or unit index above this is nonsense, not a number to try
GATES = ALL_GATES  # a link may name any cell's gates (spec.GATE_NAMES); DIRECTIONS and POOLINGS are spec's
# the parameters a page's view owns (the page path is st.navigation's; lang and present are the frame's)
VIEW_KEYS = ("model", "pooling", "model_b", "pooling_b", "text", "layer", "dir", "gates", "token", "unit")
SIDE_B = "_b"  # the suffix of model B's parameters (model_b, pooling_b) and of their problems' codes


@dataclass(frozen=True)
class Problem:
    """Something wrong in a link: ``code`` names it (``"model_unknown"``...), ``details`` fill its message."""

    code: str
    details: dict = field(default_factory=dict)


@dataclass
class ViewState:
    """What a link asks for; None where it says nothing (or said something unusable)."""

    model: str | None = None  # a model's catalog key ("shipped:imdb-lstm-max", "run:<id>") or name
    pooling: str | None = None  # "last" | "max" | "mean" | "attention"
    model_b: str | None = None  # Compare's second model (B), as ``model``
    pooling_b: str | None = None  # its pooling, as ``pooling``
    text: str | None = None  # the review
    layer: int | None = None  # 0-based (the link says 1-based, as the interface does)
    direction: str | None = None  # "forward" | "backward"
    gates: list[str] | None = None  # gate names shown on the heatmaps
    token: int | None = None  # 0-based position in the review's tokens
    unit: int | None = None  # 0-based hidden unit
    present: bool = False  # presenter mode

    @property
    def selection(self) -> dict:
        """The parts checked against a trace: token, unit, layer, direction (None ones left out)."""
        return {k: v for k, v in (("token", self.token), ("unit", self.unit), ("layer", self.layer),
                                  ("direction", self.direction)) if v is not None}


def _index(raw: str, name: str, problems: list[Problem], base: int = 0) -> int | None:
    """A non-negative integer parameter (``base`` 1: the link counts from 1); None and a problem if not."""
    s = raw.strip()
    if not s.isascii() or not s.isdigit() or len(s) > 7 or int(s) > MAX_INDEX:
        problems.append(Problem("not_index", {"name": name, "value": raw[:40]}))
        return None
    v = int(s) - base
    if v < 0:
        problems.append(Problem("not_index", {"name": name, "value": raw[:40]}))
        return None
    return v


def _last(params: Mapping[str, str | Sequence[str]], name: str) -> str | None:
    """A parameter's value (the last one where it is given several times); None if absent or not text."""
    v = params.get(name)
    if isinstance(v, (list, tuple)):
        v = v[-1] if v else None
    return v if isinstance(v, str) else None


# Readers of one parameter each: the value for the ViewState (None if absent or unusable, with a
# problem in ``problems`` for an unusable one).


def _read_model(raw: str | None, side: str, problems: list[Problem]) -> str | None:
    if raw is None or not raw.strip():
        return None
    if len(raw) > 200:
        problems.append(Problem("model_unknown" + side, {"value": raw[:40] + "…"}))
        return None
    return raw.strip()


def _read_pooling(raw: str | None, side: str, problems: list[Problem]) -> str | None:
    if not raw:
        return None
    if raw in POOLINGS:
        return raw
    problems.append(Problem("pooling_unknown" + side, {"value": raw[:40]}))
    return None


def _read_text(raw: str | None, problems: list[Problem]) -> str | None:
    if raw is None:
        return None
    if len(raw) > MAX_TEXT:
        problems.append(Problem("text_long", {"chars": len(raw), "max": MAX_TEXT}))
        return None
    if not raw.strip():
        problems.append(Problem("text_empty", {}))
        return None
    return raw


def _read_index(raw: str | None, name: str, problems: list[Problem], base: int = 0) -> int | None:
    return None if raw is None else _index(raw, name, problems, base=base)


def _read_direction(raw: str | None, problems: list[Problem]) -> str | None:
    if raw is None:
        return None
    if raw in DIRECTIONS:
        return raw
    problems.append(Problem("dir_unknown", {"value": raw[:40]}))
    return None


def _read_gates(raw: str | None, problems: list[Problem]) -> list[str] | None:
    if raw is None:
        return None
    names = [g for g in raw.split(",") if g]
    if names and all(g in GATES for g in names):
        return list(dict.fromkeys(names))
    problems.append(Problem("gates_unknown", {"value": raw[:40]}))
    return None


def parse(params: Mapping[str, str | Sequence[str]]) -> tuple[ViewState, list[Problem]]:
    """The view a link asks for, and what in it could not be used (each dropped part stays None)."""
    def one(name: str) -> str | None:
        return _last(params, name)

    state, problems = ViewState(), []
    for side in ("", SIDE_B):  # model A (model, pooling), then model B (model_b, pooling_b)
        setattr(state, "model" + side, _read_model(one("model" + side), side, problems))
        setattr(state, "pooling" + side, _read_pooling(one("pooling" + side), side, problems))
    state.text = _read_text(one("text"), problems)
    state.token = _read_index(one("token"), "token", problems)
    state.unit = _read_index(one("unit"), "unit", problems)
    state.layer = _read_index(one("layer"), "layer", problems, base=1)
    state.direction = _read_direction(one("dir"), problems)
    state.gates = _read_gates(one("gates"), problems)
    state.present = one("present") in ("1", "true", "yes", "on")
    return state, problems


def find_model(wanted: str, entries: Iterable[ModelEntry], pooling: str | None = None,
               side: str = "") -> tuple[ModelEntry | None, list[Problem]]:
    """The usable model a link names (by catalog key, then by name), moved to ``pooling`` when a sibling
    (same dataset, language and cell) has it. None and a problem when no usable model has that name.
    ``side``: "" for ``model`` (A), ``SIDE_B`` for ``model_b``, whose problems' codes end in ``_b``."""
    entries = list(entries)
    entry = next((e for e in entries if e.key == wanted), None) or next((e for e in entries if e.name == wanted), None)
    if entry is None:
        return None, [Problem("model_unknown" + side, {"value": wanted[:60]})]
    if pooling and pooling != entry.pooling:
        sibling = next((e for e in entries if (e.dataset, e.language, e.cell, e.pooling)
                        == (entry.dataset, entry.language, entry.cell, pooling)), None)
        if sibling is None:
            return entry, [Problem("pooling_missing" + side, {"pooling": pooling, "model": entry.name})]
        return sibling, []
    return entry, []


def model_param(entry: ModelEntry, entries: Iterable[ModelEntry]) -> str:
    """How a link names a model: its name where that is unambiguous among ``entries``, else its key."""
    same = [e for e in entries if e.name == entry.name]
    return entry.name if len(same) <= 1 else entry.key


def check_selection(state: ViewState, length: int, hidden: int, layers: Sequence[tuple[int, str]]) -> tuple[dict, list[Problem]]:
    """The link's token, unit, layer and direction that fit a traced review of ``length`` tokens and
    ``hidden`` units per direction with these (layer, direction) pairs; a problem for each that does not."""
    ok, problems = {}, []
    if state.token is not None:
        if state.token < length:
            ok["token"] = state.token
        else:
            problems.append(Problem("token_range", {"value": state.token, "last": length - 1}))
    if state.unit is not None:
        if state.unit < hidden:
            ok["unit"] = state.unit
        else:
            problems.append(Problem("unit_range", {"value": state.unit, "last": hidden - 1}))
    layer, found = check_layer(state, layers)
    if layer is not None:
        ok["layer"] = layer
    return ok, problems + found


def check_layer(state: ViewState, layers: Sequence[tuple[int, str]]) -> tuple[tuple[int, str] | None, list[Problem]]:
    """The link's (layer, direction) when it is one of ``layers`` (a missing direction reads "forward", a
    missing layer the first); None and a problem when it is not, None alone when the link names neither."""
    if state.layer is None and state.direction is None:
        return None, []
    layer = state.layer if state.layer is not None else layers[0][0]
    direction = state.direction or "forward"
    if (layer, direction) in layers:
        return (layer, direction), []
    return None, [Problem("layer_missing", {"layer": layer + 1, "direction": direction,
                                            "n": max(l for l, _ in layers) + 1})]


def encode(values: Mapping[str, object]) -> dict[str, str]:
    """Query parameters for a view: None values dropped, the layer written 1-based, gates comma-joined,
    a review longer than MAX_TEXT left out (a link cannot carry it)."""
    out: dict[str, str] = {}
    for k, v in values.items():
        if v is None or v is False:
            continue
        if k == "layer":
            out["layer"] = str(int(v) + 1)
        elif k == "gates":
            out["gates"] = ",".join(v)
        elif k == "text":
            if 0 < len(str(v)) <= MAX_TEXT:
                out["text"] = str(v)
        elif k == "present":
            out["present"] = "1"
        else:
            out[k] = str(v)
    return out


def query_string(params: Mapping[str, str]) -> str:
    """``a=1&text=...`` with every character a URL needs escaped (spaces as %20, Chinese as UTF-8)."""
    from urllib.parse import quote

    return urlencode(params, quote_via=quote)
