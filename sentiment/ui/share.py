"""Shareable links: a page's view (model, pooling, review, layer and direction, gates, token and unit; on
Compare a second model and its pooling) in the URL's query parameters, so a link opens exactly the same view.

On a page's first run in a session, ``restore`` reads the link into the widgets' session state (the
model picker's dataset, cell and pooling; the review) and keeps the token, unit and layer until the
review is traced; ``restore_selection`` then checks those against the trace. Compare, with two models,
uses ``restore_pair`` and, once both are traced, ``restore_layer``. Anything unusable in a
link (an unknown model, a token past the review's end, a unit that is not a number, a review too long
for a link) is said in a message and falls back to the default: never a traceback. ``publish`` writes
the view back into the URL as the widgets change and draws the "share this view" box with the link.

The parsing and checking is ``sentiment.viewstate`` (no streamlit); this module only moves values
between ``st.query_params`` and ``st.session_state``.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from sentiment import figures, viewstate
from sentiment.viewstate import Problem

from . import common
from .i18n import LANG_KEY, lang, t

DONE_KEY = "_share_restored"  # session: the page keys whose link was read
PENDING = "_share_pending_{key}"  # session: the link's ViewState until the page has a trace
SESSION_VIEW = "_session_view"  # session: {"text", "model" (catalog key), "rev"}: the review and model of the lesson
SEEN = "_session_view_seen_{key}"  # session: the SESSION_VIEW rev a page last showed


def _plain(v):
    """A value from a link, shown as plain text: Markdown (links, images, emphasis) escaped."""
    return figures.md_escape(v) if isinstance(v, str) else v


def _messages(problems: list[Problem]) -> None:
    for p in problems:
        details = {k: _plain(v) for k, v in p.details.items()}
        st.warning(t("share.problem", what=t(f"share.bad.{p.code}", **details)), icon=":material/link_off:")


def _first_run(key: str) -> bool:
    """True once per session and page key: the run that reads the link."""
    done = st.session_state.setdefault(DONE_KEY, set())
    if key in done:
        return False
    done.add(key)
    return True


def _restore_model(picker_key: str, wanted: str | None, pooling: str | None, side: str = "") -> list[Problem]:
    """The link's model (``wanted``, moved to ``pooling``) into a model picker's widgets (``{picker_key}_dataset``,
    ``_cell``, ``_pooling``, ``_model``); without a model, the pooling alone. Returns what was unusable."""
    if wanted is None:
        if pooling is not None:
            st.session_state[f"{picker_key}_pooling"] = pooling  # kept if the default model's cell has it
        return []
    ok, _ = common.available_models()
    entry, problems = viewstate.find_model(wanted, ok, pooling, side=side)
    if entry is not None:
        st.session_state[f"{picker_key}_dataset"] = (entry.dataset, entry.language)
        st.session_state[f"{picker_key}_cell"] = entry.cell
        st.session_state[f"{picker_key}_pooling"] = entry.pooling
        st.session_state[f"{picker_key}_model"] = entry.key
    return problems


def follow_session(key: str, picker_key: str | None = None) -> None:
    """Before a page's widgets: the session's review and model (set on another page since this page last
    ran) into this page's review (``{key}_text``) and model picker (``picker_key``, default ``key``). One
    review and one model per browser session: Explore, Compare (as model A) and Learn show the same."""
    view = st.session_state.get(SESSION_VIEW)
    seen = SEEN.format(key=key)
    if not view or st.session_state.get(seen) == view["rev"]:
        return
    st.session_state[seen] = view["rev"]
    st.session_state[f"{key}_text"] = view["text"]
    _restore_model(picker_key or key, view["model"], None)


def keep_session(key: str, entry, review: str) -> None:
    """After a page's widgets: its review and model become the session's (``follow_session``)."""
    if entry is None or not isinstance(review, str):
        return
    view = st.session_state.get(SESSION_VIEW)
    if not view or (view["text"], view["model"]) != (review, entry.key):
        view = {"text": review, "model": entry.key, "rev": (view["rev"] + 1) if view else 1}
        st.session_state[SESSION_VIEW] = view
    st.session_state[SEEN.format(key=key)] = view["rev"]


def restore(key: str) -> None:
    """On this page's first run in the session, put the link's model and review into the page's widgets
    (``{key}_dataset``, ``{key}_cell``, ``{key}_pooling``, ``{key}_model``, ``{key}_text``); call it before
    ``common.review_and_model(key)``. Unusable parts give a message and leave the defaults."""
    if not _first_run(key):
        return
    state, problems = viewstate.parse(st.query_params.to_dict())
    problems += _restore_model(key, state.model, state.pooling)
    if state.text is not None:
        st.session_state[f"{key}_text"] = state.text
        if state.model is None:  # no model named: one that reads the review's language
            common.follow_language([key], state.text)
    st.session_state[PENDING.format(key=key)] = state
    _messages(problems)


def restore_pair(key: str, picker_a: str, picker_b: str) -> None:
    """Compare's ``restore``: on the page's first run in the session, the link's model A (``model``,
    ``pooling``) into the picker ``picker_a``, model B (``model_b``, ``pooling_b``) into ``picker_b`` and
    the review into ``{key}_text``; the layer waits for ``restore_layer``. Call it before the pickers."""
    if not _first_run(key):
        return
    state, problems = viewstate.parse(st.query_params.to_dict())
    problems += _restore_model(picker_a, state.model, state.pooling)
    problems += _restore_model(picker_b, state.model_b, state.pooling_b, side=viewstate.SIDE_B)
    if state.text is not None:
        st.session_state[f"{key}_text"] = state.text
        unnamed = [pk for pk, m in ((picker_a, state.model), (picker_b, state.model_b)) if m is None]
        if unnamed:  # a picker the link names no model for: one that reads the review's language
            common.follow_language(unnamed, state.text)
    st.session_state[PENDING.format(key=key)] = state
    _messages(problems)


def restore_layer(key: str, layers, layer_key: str) -> None:
    """Once both reviews are traced (Compare): the link's layer and direction into ``layer_key``'s state
    when both models have it (``layers``: the (layer, direction) pairs they share); a message if not."""
    state = st.session_state.pop(PENDING.format(key=key), None)
    if state is None:
        return
    choice, problems = viewstate.check_layer(state, list(layers))
    if choice is not None:
        st.session_state[layer_key] = choice
    _messages([Problem("layer_missing_both", p.details) if p.code == "layer_missing" else p for p in problems])


def restore_selection(key: str, trace, token_key: str | None = None, unit_key: str | None = None,
                      layer_key: str | None = None, gates_key: str | None = None) -> None:
    """Once the review is traced: the link's token, unit, layer and direction (and gates) into those
    widgets' state where they fit this trace; a message for each that does not. Runs once per link."""
    state = st.session_state.pop(PENDING.format(key=key), None)
    if state is None:
        return
    ok, problems = viewstate.check_selection(state, int(trace.length), int(trace.hidden_size),
                                             [(lt.layer, lt.direction) for lt in trace.layers])
    for name, widget_key in (("token", token_key), ("unit", unit_key), ("layer", layer_key)):
        if widget_key and name in ok:
            st.session_state[widget_key] = ok[name]
    if gates_key and state.gates:
        names = [g for g in state.gates if g in trace.layers[0].gates]
        if names:
            st.session_state[gates_key] = names
        else:
            problems.append(Problem("gates_unknown", {"value": ",".join(state.gates)}))
    _messages(problems)


def view_params(entry, review: str, entry_b=None, **selection) -> dict[str, str]:
    """The query parameters of a view: the model (its name, or its key where names repeat), its pooling,
    Compare's model B (``entry_b``) and its pooling, the review and the selection (``layer=(layer,
    direction)``, ``token``, ``unit``, ``gates``)."""
    ok, _ = common.available_models()
    values: dict[str, object] = {"model": viewstate.model_param(entry, ok), "pooling": entry.pooling}
    if entry_b is not None:
        values.update({"model_b": viewstate.model_param(entry_b, ok), "pooling_b": entry_b.pooling})
    values["text"] = review
    layer = selection.pop("layer", None)
    if layer is not None:
        values["layer"], values["dir"] = int(layer[0]), layer[1]
    values.update(selection)
    return viewstate.encode(values)


def publish(params: Mapping[str, str], slot=None, help_key: str = "share.help") -> None:
    """Write the view's parameters into the URL (those of ``viewstate.VIEW_KEYS`` not given are removed;
    the language and presenter mode are kept) and, in ``slot`` (an ``st.empty``), the share box
    (``help_key``: its caption, what the link keeps)."""
    qp = st.query_params
    for k in viewstate.VIEW_KEYS:
        if k in params:
            if qp.get(k) != params[k]:
                qp[k] = params[k]
        elif k in qp:
            del qp[k]
    if (lang() != "en" or LANG_KEY in qp) and qp.get(LANG_KEY) != lang():
        qp[LANG_KEY] = lang()
    if slot is not None:
        with slot.container():
            share_box(params, help_key)


def set_param(name: str, value) -> None:
    """One view parameter in the URL (e.g. the token while the step-through plays), the others left."""
    if name in viewstate.VIEW_KEYS and value is not None and st.query_params.get(name) != str(value):
        st.query_params[name] = str(value)


def link(params: Mapping[str, str]) -> tuple[str, bool]:
    """(the link to this view, whether it is whole): the app's address from ``st.context.url`` and the
    query string; without an address (a test run) only ``?...``, to append to the address bar's."""
    full = dict(params)
    if lang() != "en":
        full[LANG_KEY] = lang()
    if st.session_state.get("present"):
        full["present"] = "1"
    query = viewstate.query_string(full)
    try:
        base = st.context.url
    except Exception:  # outside a browser session
        base = None
    return (f"{base}?{query}", True) if base else (f"?{query}", False)


def share_box(params: Mapping[str, str], help_key: str = "share.help") -> None:
    """A popover with the link to this view, its copy button, and what the link leaves out."""
    url, whole = link(params)
    with st.popover(t("share.button"), icon=":material/share:"):
        st.caption(t(help_key))
        st.code(url, language=None, wrap_lines=True)
        if not whole:
            st.caption(t("share.relative"))
        if "text" not in params:
            st.caption(t("share.text_left_out", max=viewstate.MAX_TEXT))


def lesson_review_and_model(key: str):
    """The page's review and model: the lesson's (as another page left them), or a shared link's on its
    first run, then as the person picks them; kept for the other pages. (entry, review), or None."""
    follow_session(key)
    restore(key)
    chosen = common.review_and_model(key)
    if chosen is not None:
        keep_session(key, *chosen)
    return chosen
