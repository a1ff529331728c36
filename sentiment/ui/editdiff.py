"""Views shared by Explore, Learn and Compare: edit and compare (a review against an edited copy, or
two models of one architecture on one review), and cell updates split into kept and written.

Widgets and layout only: the edits and differences come from ``sentiment.probe.counterfactual``, the
split from ``sentiment.probe.updates``, the figures from ``sentiment.figures``.
"""

from __future__ import annotations

import streamlit as st

from sentiment import figures
from sentiment.probe import counterfactual as cf
from sentiment.probe import updates

from . import common
from .i18n import lang, t

# ---- edit and compare (Explore) --------------------------------------------------------------------


def _option_label(e: cf.Edit) -> str:
    before, after = e.change()
    if e.kind == "contrast":
        return t("edit.option.append", kind=t(f"edit.kind.{e.kind}"), after=after)
    return t("edit.option", kind=t(f"edit.kind.{e.kind}"), before=before, after=after)


MAX_OPTIONS = 12  # built-in edits offered per kind


def _edits(text: str, language: str) -> tuple[dict[str, cf.Edit], list[tuple[str, cf.EditRefused]]]:
    """option id ("negate:0") -> Edit for every built-in edit that applies; (kind, refusal) for those that do not."""
    found, refused = {}, []
    for kind in cf.EDIT_KINDS:
        try:
            edits = cf.find_edits(text, language, kind)
            if not edits:
                cf.apply_edit(text, kind, language)  # raises the reason
            found.update({f"{kind}:{i}": e for i, e in enumerate(edits[:MAX_OPTIONS])})
        except cf.EditRefused as err:
            refused.append((kind, err))
    return found, refused


def _apply_edit(key: str, language: str) -> None:
    """Callback: apply the picked built-in edit to the edited text, then clear the pick."""
    chosen = st.session_state.get(f"{key}_edit_pick")
    st.session_state[f"{key}_edit_pick"] = None
    if not chosen:
        return
    kind, _, idx = chosen.partition(":")
    try:
        e = cf.apply_edit(st.session_state.get(f"{key}_edit_text", ""), kind, language, int(idx))
    except cf.EditRefused as err:  # the reason in the interface's language
        st.session_state[f"{key}_edit_msg"] = ("refused", t("edit.refused", items=t(
            "edit.refused.item", kind=t(f"edit.kind.{kind}"), why=t(f"edit.refused.{err.reason}",
                                                                    examples=cf.example_words(language)))))
        return
    except ValueError as err:
        st.session_state[f"{key}_edit_msg"] = ("refused", str(err))
        return
    st.session_state[f"{key}_edit_text"] = e.text
    st.session_state[f"{key}_edit_msg"] = ("applied", _option_label(e))


def _typed(key: str) -> None:
    st.session_state[f"{key}_edit_msg"] = None  # the last built-in edit's message no longer describes the text


def _reset(key: str, review: str) -> None:
    st.session_state[f"{key}_edit_text"] = review
    st.session_state[f"{key}_edit_msg"] = None


def edit_tab(entry, review: str, layer: int, direction: str, key: str = "ex") -> None:
    """The edited review (prefilled with the review), built-in edits, both predictions and the
    difference of every gate of one layer and direction on the aligned tokens."""
    if st.session_state.get(f"{key}_edit_src") != review or f"{key}_edit_text" not in st.session_state:
        # a new review, or the box was not drawn last run (Streamlit then forgets it): start again from the review
        st.session_state[f"{key}_edit_src"] = review
        _reset(key, review)
    st.caption(t("edit.help"))
    language = entry.language
    found, refused = _edits(st.session_state.get(f"{key}_edit_text", ""), language)
    labels = {k: _option_label(e) for k, e in found.items()}
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    with c1:
        st.selectbox(t("edit.builtin"), list(found), index=None, key=f"{key}_edit_pick", placeholder=t("edit.builtin.placeholder"),
                     format_func=lambda k: labels.get(k, k), help=t("edit.builtin.help"),
                     on_change=_apply_edit, args=(key, language))
    with c2:
        st.button(t("edit.reset"), key=f"{key}_edit_reset", on_click=_reset, args=(key, review), width="stretch")
    msg = st.session_state.get(f"{key}_edit_msg")
    if msg and msg[0] == "applied":
        st.success(t("edit.applied", what=msg[1]), icon=":material/edit:")
    elif msg:
        st.warning(msg[1], icon=":material/block:")
    if refused:
        st.caption(t("edit.refused", items="; ".join(
            t("edit.refused.item", kind=t(f"edit.kind.{k}"),
              why=t(f"edit.refused.{err.reason}", examples=cf.example_words(language))) for k, err in refused)))
    edited = st.text_area(t("edit.text"), key=f"{key}_edit_text", height=120, on_change=_typed, args=(key,))
    if edited.strip() == review.strip():
        st.info(t("edit.same"), icon=":material/info:")
        return
    with st.spinner(t("reading.wait")):
        a = common.trace_for(entry, review, method=None)
        b = common.trace_for(entry, edited, method=None) if a is not None else None
    if a is None or b is None:
        return
    diff = cf.diff_traces(a, b)  # same model: always comparable
    show_predictions(a, b, diff)
    st.caption(alignment_line(diff.alignment))
    st.caption(t("edit.diff.help"))
    top_k = _topk_slider(int(a.hidden_size), f"{key}_edit_topk", t("edit.topk"))
    common.chart(figures.diff_heatmaps(diff, layer, direction, top_k=top_k, lang=lang()), key=f"{key}_edit_heat",
                 filename=f"diff-l{layer + 1}-{direction}")
    common.chart(figures.diff_prefix(diff, (t("edit.a"), t("edit.b")), lang=lang()), key=f"{key}_edit_prefix",
                 filename="diff-prefix")


def show_predictions(a, b, diff: cf.TraceDiff) -> None:
    """A's and B's predictions side by side, B with the change in P(positive)."""
    c1, c2 = st.columns(2)
    for col, tr, name, delta in ((c1, a, "edit.a", None), (c2, b, "edit.b", diff.delta_p)):
        label = t("label." + tr.label) if tr.label in ("positive", "negative") else tr.label
        with col:
            st.metric(t(name), label, t("edit.delta", delta=100 * delta) if delta is not None else t("pred.bar", p=float(tr.probs[1])),
                      delta_color="normal" if delta is not None else "off", delta_arrow="auto" if delta is not None else "off")
            st.progress(min(1.0, max(0.0, float(tr.probs[1]))), text=t("pred.bar", p=float(tr.probs[1])))
    name_a = t("label." + diff.label_a) if diff.label_a in ("positive", "negative") else diff.label_a
    name_b = t("label." + diff.label_b) if diff.label_b in ("positive", "negative") else diff.label_b
    if diff.label_changed:
        st.warning(t("edit.flipped", a=name_a, b=name_b), icon=":material/swap_horiz:")
    else:
        st.caption(t("edit.kept", a=name_a, delta=100 * diff.delta_p))


def alignment_line(al: cf.Alignment) -> str:
    return t("edit.alignment", same=al.ops.count("equal"), replaced=al.ops.count("replace"),
             deleted=al.ops.count("delete"), inserted=al.ops.count("insert"))


def _topk_slider(H: int, key: str, label: str, default: int = 16) -> int:
    if H <= 1:
        return 1
    st.session_state[key] = min(H, int(st.session_state.get(key, min(H, default))))
    return st.slider(label, 1, H, key=key)


# ---- cell updates (Explore, Learn) --------------------------------------------------------------------


def updates_tab(trace, layer: int, direction: str, key: str = "ex") -> None:
    """Kept / written / state heatmaps for one layer and direction, then one unit over the review."""
    if trace.cell not in updates.STATE_OF:
        st.info(t("updates.rnn"), icon=":material/info:")
        return
    st.caption(t(f"updates.help.{trace.cell}"))
    c1, c2 = st.columns(2)
    with c1:
        top_k = _topk_slider(int(trace.hidden_size), f"{key}_upd_topk", t("updates.topk"))
    fig = figures.update_heatmaps(trace, layer, direction, top_k=top_k, lang=lang())
    with c2:  # first shown: the heatmap's top unit (the one that wrote most), not unit 0
        unit = _unit_input(trace, f"{key}_upd_unit", default=int(fig.layout.meta["units"][0]))
    common.chart(fig, key=f"{key}_upd_heat", filename=f"updates-l{layer + 1}-{direction}")
    unit_updates(trace, layer, direction, unit, key)


def _unit_input(trace, key: str, default: int = 0) -> int:
    last = max(0, int(trace.hidden_size) - 1)
    if not isinstance(st.session_state.get(key), int) or not 0 <= st.session_state[key] <= last:
        st.session_state[key] = min(max(0, default), last)
    return int(st.number_input(t("updates.unit"), 0, last, key=key, step=1))


def unit_updates(trace, layer: int, direction: str, unit: int, key: str, explain: bool = False) -> None:
    """One unit's kept and written over the review, with the resulting state, and a one-line summary
    (``explain``: the split's equations in a caption first)."""
    if trace.cell not in updates.STATE_OF:
        st.info(t("updates.rnn"), icon=":material/info:")
        return
    if explain:
        st.caption(t(f"updates.help.{trace.cell}"))
    common.chart(figures.update_unit(trace, int(unit), layer, direction, lang=lang()), key=f"{key}_upd_unit_chart",
                 filename=f"updates-unit{unit}")
    s = updates.unit_summary(updates.cell_updates(trace, layer, direction), int(unit))
    st.caption(t("updates.summary", unit=int(unit), kept=s["kept_share"], written=1 - s["kept_share"], pos=s["top_write"],
                 token=trace.tokens[s["top_write"]], value=s["top_value"]))


# ---- before / after (Compare) ---------------------------------------------------------------------------


def before_after(traces, same_model: bool, layer: int, direction: str, top_k: int, key: str = "cmp",
                 lineage: str | None = None) -> None:
    """B − A of the gates of one layer and direction when the two models' architectures match; else why not.
    ``lineage`` (catalog.lineage: "b_from_a", "a_from_b" or None) says whether one was retrained from the other."""
    st.subheader(t("ba.title"))
    a, b = traces
    reason = cf.comparable(a, b)
    if reason is not None:
        why, va, vb = reason
        st.info(t("ba.mismatch", why=t(f"ba.why.{why}", a=_value(va), b=_value(vb))), icon=":material/info:")
        return
    diff = cf.diff_traces(a, b)
    st.caption(t("ba.help"))
    if same_model:
        st.caption(t("ba.same"))
    elif lineage in ("b_from_a", "a_from_b"):
        st.success(t(f"ba.retrained.{lineage}"), icon=":material/history:")
    else:
        st.caption(t("ba.caveat"))
    st.caption(t("ba.delta", a=diff.p_a, b=diff.p_b, delta=100 * diff.delta_p) + " " + alignment_line(diff.alignment))
    common.chart(figures.diff_heatmaps(diff, layer, direction, top_k=top_k, lang=lang()), key=f"{key}_ba_heat",
                 filename=f"before-after-l{layer + 1}-{direction}")


def _value(v) -> str:
    if isinstance(v, bool):
        return t("ba.bi") if v else t("ba.uni")
    return v.upper() if isinstance(v, str) else str(v)
