"""Explore (the landing page): one review, one model; prediction, gates, pooling, reading, saturation, downloads."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import streamlit as st

from sentiment import figures
from sentiment.figures import marks
from sentiment.modeling import domain

from . import common, editdiff, present, selection, share
from .i18n import LANGS, lang, t

if TYPE_CHECKING:
    from streamlit.elements.lib.mutable_tab_container import TabContainer

    from sentiment.modeling.catalog import ModelEntry
    from sentiment.probe.instrument import Trace

K = "ex"  # this page's widget key prefix
METHODS = ("occlusion", "integrated_gradients")


def render() -> None:
    st.title(t("explore.title"))
    st.caption(t("explore.intro"))
    share_slot = st.empty()  # the "share this view" box, filled once the view is known
    chosen = share.lesson_review_and_model(K)
    if chosen is None:
        return
    entry, review = chosen
    method = st.session_state.get(f"{K}_method", "occlusion")
    method = method if method in METHODS else "occlusion"
    # one pass of the model (fast) gives the prediction and every tab but Reading and Downloads, which
    # need the prefix predictions and the attribution (one pass per token), computed when opened
    with st.spinner():
        base = common.trace_for(entry, review, method=None, prefix=False)
    if base is None:
        return
    share.restore_selection(K, base, token_key=f"{K}_token", unit_key=f"{K}_unit", layer_key=f"{K}_layer",
                            gates_key=f"{K}_gates_{base.cell}")
    common.show_prediction(base, entry)
    domain_note(base, entry)
    full = lambda: common.trace_for(entry, review, method)  # noqa: E731 (cached after the first call)
    # Tracked tabs: a rerun keeps the open tab, and only the open tab is computed (the Reading tab's
    # full trace, a prefix pass and an occlusion pass per token, waits until someone opens it).
    tabs = open_tabs(f"{K}_tab")
    if TAB_GATES in tabs:
        with tabs[TAB_GATES]:
            layer, direction = gates_tab(base, K, full=full)
    else:
        layer, direction = kept_layer(base, K)
    share.publish(share.view_params(entry, review, layer=(layer, direction), token=st.session_state.get(f"{K}_token"),
                                    unit=st.session_state.get(f"{K}_unit"), gates=_gates_param(base)), share_slot)
    _one_pass_tabs(tabs, entry, review, base, layer, direction)
    _full_trace_tabs(tabs, full, method)


def _one_pass_tabs(tabs: dict[str, TabContainer], entry: ModelEntry, review: str, base: Trace, layer: int,
                   direction: str) -> None:
    """The open tabs besides Gates that the model's one pass (``base``) serves: Pooling, Saturation,
    Edit and Updates, at the Gates tab's layer and direction."""
    if TAB_POOLING in tabs:
        with tabs[TAB_POOLING]:
            pooling_tab(base)
    if TAB_SATURATION in tabs:
        with tabs[TAB_SATURATION]:
            saturation_tab(base, layer, direction)
    if TAB_EDIT in tabs:
        with tabs[TAB_EDIT]:
            editdiff.edit_tab(entry, review, layer, direction, K)
    if TAB_UPDATES in tabs:
        with tabs[TAB_UPDATES]:
            editdiff.updates_tab(base, layer, direction, K)


def _full_trace_tabs(tabs: dict[str, TabContainer], full: Callable[[], Trace | None], method: str) -> None:
    """Reading and Downloads, which need the full trace (prefix predictions and attribution): computed
    only when one of them is open, its spinner shown in the first of them that is."""
    needing_trace = [key for key in (TAB_READING, TAB_DOWNLOADS) if key in tabs]
    if not needing_trace:
        return
    with tabs[needing_trace[0]], st.spinner(t("reading.wait")):
        trace = full()
    if trace is None:
        return
    if TAB_READING in tabs:
        with tabs[TAB_READING]:
            reading_tab(trace, method)
    if TAB_DOWNLOADS in tabs:
        with tabs[TAB_DOWNLOADS]:
            downloads_tab(trace)


# The tabs by the i18n key of their label; the page addresses each tab by its key, never by position.
TAB_GATES = "tab.gates"
TAB_POOLING = "tab.pooling"
TAB_READING = "tab.reading"
TAB_SATURATION = "tab.saturation"
TAB_EDIT = "tab.edit"
TAB_UPDATES = "tab.updates"
TAB_DOWNLOADS = "tab.downloads"
TABS = (TAB_GATES, TAB_POOLING, TAB_READING, TAB_SATURATION, TAB_EDIT, TAB_UPDATES, TAB_DOWNLOADS)  # in the order shown


def open_tabs(key: str) -> dict[str, TabContainer]:
    """Draw the page's tabs in TABS' order (the open one kept under ``key``) and return the open ones by
    their TABS key: the open one where tabs track it, every one where they do not (``open`` is None)."""
    tabs = st.tabs(tab_names(key), key=key, on_change="rerun")
    return {name: tab for name, tab in zip(TABS, tabs, strict=True) if tab.open is not False}


def tab_names(key: str) -> list[str]:
    """The tabs' labels in the page's language. The open tab is kept by its label: after a switch of
    language, the kept one becomes the same tab's label in the new language."""
    names = [t(k) for k in TABS]
    kept = st.session_state.get(key)
    if kept is not None and kept not in names:
        found = [i for i, k in enumerate(TABS) if any(kept == t(k, other) for other in LANGS)]
        if found:
            st.session_state[key] = names[found[0]]
    return names


def kept_layer(trace, key: str) -> tuple[int, str]:
    """The layer and direction the Gates tab's picker holds, kept among this trace's as the picker keeps it."""
    choices = common.layer_options(trace)
    common._ensure(f"{key}_layer", choices, choices[0])
    return st.session_state[f"{key}_layer"]


def domain_note(trace, entry) -> None:
    """What the model's own test reviews say about reviews like this one, where they show something:
    how often it was right on test reviews this short (or with this many unknown words)."""
    for found in domain.check(trace.unk, entry.card):
        st.info(finding_text(found), icon=":material/straighten:" if found.kind == "length" else ":material/help:")


def _span(lo, hi, share: bool = False) -> str:
    fmt = (lambda v: f"{v:.0%}") if share else (lambda v: f"{v:,}")  # noqa: E731
    return f"{fmt(lo)}–{fmt(hi)}" if hi is not None else f"{fmt(lo)}+"


def finding_text(found: domain.Finding, language: str | None = None) -> str:
    """One sentence for a finding of ``domain.check``, in the page's language (or the one given)."""
    say = lambda key, **kw: t(key, language, **kw)  # noqa: E731
    params = dict(n=found.n, accuracy=found.accuracy, overall=found.overall, unit=say(f"domain.unit.{found.unit}"))
    if found.kind == "unknown":
        return say("domain.unknown", share=found.value, span=_span(found.lo, found.hi, share=True), **params)
    if found.nearest:
        lo, hi, few = found.own
        return say("domain.short_few", tokens=int(found.value), few=few, own=_span(lo, hi), span=_span(found.lo, found.hi),
                   **params)
    return say("domain.short", tokens=int(found.value), span=_span(found.lo, found.hi), **params)


def gates_tab(trace, key: str, full=None) -> tuple[int, str]:
    """Controls (layer and direction, sort, top K, panels) and the heatmaps; returns the layer and direction.

    ``full``: a callable giving the trace with prefix predictions, needed to sort units by correlation."""
    choices = common.layer_options(trace)
    H = int(trace.hidden_size)
    gate_names = list(trace.layers[0].gates)
    c1, c2, c3, c4 = present.controls(f"{key}_gates").columns([2, 2, 2, 3])
    with c1:
        choice = common.pick(t("gates.layer"), choices, f"{key}_layer", format_func=common.layer_label,
                             disabled=len(choices) == 1)
    with c2:
        sort = common.pick(t("gates.sort"), figures.SORTS, f"{key}_sort", default="none",
                           format_func=lambda s: t(f"sort.{s}"), help=t("gates.sort.help"))
    with c3:
        top_k = common.top_k_slider(f"{key}_topk", H, 32)
    with c4:
        gates_key = f"{key}_gates_{trace.cell}"
        if gates_key not in st.session_state:
            st.session_state[gates_key] = gate_names
        titles = {g: figures.gate_title(g, lang()) for g in gate_names}
        shown = st.multiselect(t("gates.which"), gate_names, key=gates_key, format_func=titles.get, persist_state="session")
    shown = shown or gate_names
    with st.expander(t("gates.equations", cell=trace.cell.upper()), icon=":material/function:"):
        st.code("\n".join(figures.EQUATIONS.get(trace.cell, [])), language=None)
        st.caption(" · ".join(figures.gate_title(g, lang()) for g in gate_names))
    st.caption(t("gates.help"))
    if sort == "correlation" and trace.prefix_probs is None and full is not None:
        with st.spinner(t("reading.wait")):
            trace = full() or trace
    fig = figures.gate_heatmaps(trace, choice[0], choice[1], gates=shown, sort=sort, top_k=top_k, lang=lang())
    _apply_cell_pick(key, fig.layout.meta)  # a box dragged over a cell last run picks its token and unit
    tok, unit = selected(trace, key, choice)
    if marks.mark_selection(fig, tok, unit).layout.meta["selection"]["row"] is None:
        st.caption(t("sel.hidden_row", unit=unit))
    st.caption(t("sel.drag"))
    fig.update_layout(dragmode="select")
    common.chart(fig, key=f"{key}_heat", filename=f"gates-{trace.cell}-l{choice[0] + 1}-{choice[1]}", on_select=True)
    return choice


def _apply_cell_pick(key: str, meta) -> None:
    """A new box selection on the heatmaps sets the token and unit pickers (before they are drawn)."""
    state = st.session_state.get(f"{key}_heat")
    sel = state.get("selection") if hasattr(state, "get") else None
    if not sel:
        return
    stamp = repr(sel)
    if stamp == st.session_state.get(f"{key}_heat_seen"):
        return
    st.session_state[f"{key}_heat_seen"] = stamp
    token, unit = marks.cell_from_selection(dict(sel), dict(meta or {}))
    if token is not None:
        st.session_state[f"{key}_token"] = token
    if unit is not None:
        st.session_state[f"{key}_unit"] = unit


def selected(trace, key: str, choice: tuple[int, str]) -> tuple[int, int]:
    """The token and unit pickers and the unit's gate values there; returns (token, unit)."""
    with st.container(border=True):
        s1, s2 = st.columns([5, 1])
        with s1:
            tok = selection.token_picker(key, trace)
        with s2:
            unit = selection.unit_picker(key, trace)
        selection.gate_values(trace, choice[0], choice[1], tok, unit)
    return tok, unit


def _gates_param(trace) -> list[str] | None:
    """The gates shown on the heatmaps, for the link; None when all are (the default)."""
    shown = st.session_state.get(f"{K}_gates_{trace.cell}") or []
    return list(shown) if shown and list(shown) != list(trace.layers[0].gates) else None


def saturation_tab(trace: Trace, layer: int, direction: str) -> None:
    st.caption(t("saturation.help"))
    common.chart(figures.saturation_histogram(trace, layer, direction, lang=lang()), key=f"{K}_sat", filename="saturation")


def pooling_tab(trace) -> None:
    st.caption(t(f"pooling.help.{trace.pooling}"))
    common.chart(figures.pooling_bar(trace, lang=lang()), key=f"{K}_pool", filename=f"pooling-{trace.pooling}")


def reading_tab(trace, method: str) -> None:
    st.caption(t("reading.prefix.help"))
    common.chart(figures.prefix_curve(trace, lang=lang()), key=f"{K}_prefix", filename="prefix")
    common.pick(t("reading.method"), METHODS, f"{K}_method", default="occlusion", widget=st.radio,
                format_func=lambda m: t(f"method.{m}"), horizontal=True, help=t("reading.method.help"))
    st.caption(t("reading.colored"))
    scores = figures.attribution(trace, method)
    delta = getattr(trace, "ig_delta", None)
    if method == "integrated_gradients" and delta is not None:
        st.caption(t("reading.ig_delta", delta=delta))
    st.markdown(figures.attribution_html(trace.tokens, scores, trace.unk, trace.language), unsafe_allow_html=True)
    common.chart(figures.attribution_bar(trace, method, lang=lang()), key=f"{K}_attr", filename=f"attribution-{method}")


def downloads_tab(trace) -> None:
    st.caption(t("downloads.note"))
    stem = f"gatescope-{trace.model_name or trace.cell}".replace(" ", "_")
    c1, c2, c3 = st.columns(3)
    c1.download_button(t("downloads.json"), data=trace.to_json, file_name=f"{stem}-trace.json", mime="application/json",
                       on_click="ignore", icon=":material/download:", key=f"{K}_dl_json")
    c2.download_button(t("downloads.tokens"), data=lambda: figures.tokens_csv(trace), file_name=f"{stem}-tokens.csv",
                       mime="text/csv", on_click="ignore", icon=":material/download:", key=f"{K}_dl_tokens")
    c3.download_button(t("downloads.gates"), data=lambda: figures.gates_csv(trace), file_name=f"{stem}-gates.csv",
                       mime="text/csv", on_click="ignore", icon=":material/download:", key=f"{K}_dl_gates")
    st.info(t("downloads.help"), icon=":material/photo_camera:")
