"""Compare: two models on the same review, side by side (LSTM vs GRU, or two poolings). Model B may
be a bag-of-words reference (``ui.words``): then its per-word contributions are its view.

The view (models A and B with their poolings, the review, the heatmaps' layer and direction) lives in the
URL, as on Explore and Learn (``share``): a link opens the same comparison."""

from __future__ import annotations

import streamlit as st

from sentiment import figures
from sentiment.modeling import catalog

from . import common, editdiff, present, share, words
from .i18n import lang, t

K = "cmp"
SIDES = ("a", "b")
HALF_WIDTH_TICKS = 26  # token labels on a heatmap half the page wide (figures.TOKEN_TICKS on a whole width)


def render() -> None:
    st.title(t("compare.title"))
    st.caption(t("compare.intro"))
    share_slot = st.empty()  # the "share this view" box, filled once the view is known
    review, cols, entries = pick_review_and_models()
    if any(e is None for e in entries):
        return
    share.keep_session(K, entries[0], review)
    if entries[1].cell == common.BOW:
        with_bag_of_words(cols, entries, review)
        return
    traced = trace_both(cols, entries, review)
    if traced is None:
        return
    traces, names = traced
    st.subheader(t("compare.pooling"))
    common.chart(figures.compare_pooling(traces, names, lang=lang()), key=f"{K}_pool", filename="compare-pooling")
    st.subheader(t("compare.prefix"))
    common.chart(figures.compare_prefix(traces, names, lang=lang()), key=f"{K}_prefix", filename="compare-prefix")
    heatmaps(traces, entries, review, share_slot)


def pick_review_and_models() -> tuple[str, list, list]:
    """The review (shared with the other pages, or from a link) and models A and B, side by side."""
    pickers = [f"{K}_{s}" for s in SIDES]
    share.follow_session(K, pickers[0])  # the lesson's review and model (as A), as another page left them
    share.restore_pair(K, *pickers)  # a shared link's models and review (first run only)
    with present.controls(K):  # hidden in presenter mode, like the other pages' inputs
        review = common.review_input(K, picker_keys=pickers)
    present.review_banner(review)
    cols = st.columns(2, gap="large")
    entries = []
    for side, col, prefer in zip(SIDES, cols, ({"cell": "lstm"}, {"cell": "gru"}), strict=True):
        with col:
            st.subheader(t(f"compare.{side}"))
            with present.controls(f"{K}_{side}"):
                entries.append(common.model_picker(f"{K}_{side}", prefer=prefer, stacked=True, allow_bow=side == "b"))
    return review, cols, entries


def trace_both(cols, entries, review: str) -> tuple[list, list[str]] | None:
    """Both models' traces and predictions (None after an error was shown), with their display names."""
    traces, names = [], []
    for col, entry in zip(cols, entries, strict=True):
        with col:
            if common.load(entry) is None:
                return None
            with st.spinner():
                tr = common.trace_for(entry, review, method=None)  # prefix curves, no attribution
            if tr is None:
                return None
            common.show_prediction(tr, entry, compact=True)
            traces.append(tr)
            names.append(entry.name)
    if entries[0].key == entries[1].key:
        st.info(t("compare.same"), icon=":material/info:")
        names = [f"{names[0]} (A)", f"{names[1]} (B)"]
    if traces[0].tokens != traces[1].tokens:
        st.warning(t("compare.tokens_differ"), icon=":material/warning:")
    return traces, names


def heatmaps(traces: list, entries: list, review: str, share_slot) -> None:
    """The gates side by side for a layer both models have, then before/after when one was retrained from the other."""
    st.subheader(t("compare.heatmaps"))
    shared = [c for c in common.layer_options(traces[0]) if c in common.layer_options(traces[1])] or [(0, "forward")]
    share.restore_layer(K, shared, f"{K}_layer")  # the link's layer, if both models have it
    c1, c2, c3 = present.controls(f"{K}_heat").columns(3)
    with c1:
        choice = common.pick(t("gates.layer"), shared, f"{K}_layer", format_func=common.layer_label, disabled=len(shared) == 1)
    share.publish(share.view_params(entries[0], review, entry_b=entries[1], layer=choice), share_slot,
                  help_key="share.help.compare")
    with c2:
        sort = common.pick(t("gates.sort"), figures.SORTS, f"{K}_sort", default="none",
                           format_func=lambda s: t(f"sort.{s}"), help=t("gates.sort.help"))
    H = min(int(tr.hidden_size) for tr in traces)
    with c3:
        top_k = common.top_k_slider(f"{K}_topk", H, 16)
    st.caption(t("gates.help"))
    for side, col, tr, entry in zip(SIDES, st.columns(2), traces, entries, strict=True):
        with col:
            fig = figures.gate_heatmaps(tr, choice[0], choice[1], sort=sort, top_k=top_k, lang=lang(),
                                        max_ticks=HALF_WIDTH_TICKS)
            common.chart(fig, key=f"{K}_heat_{side}", filename=f"gates-{entry.name}")
            with st.expander(t("gates.equations", cell=tr.cell.upper()), icon=":material/function:"):
                st.code("\n".join(figures.EQUATIONS.get(tr.cell, [])), language=None)
    editdiff.before_after(traces, entries[0].key == entries[1].key, choice[0], choice[1], top_k, key=K,
                          lineage=catalog.lineage(entries[0], entries[1]))


def with_bag_of_words(cols, entries, review: str) -> None:
    """A gated model (A) beside the bag-of-words reference (B): predictions, then B's per-word contributions
    under A's reading curve."""
    a, b = entries
    if common.load(a) is None or common.load(b) is None:
        return
    with cols[0]:
        with st.spinner():
            tr = common.trace_for(a, review, method=None)  # with the prefix curve
        if tr is None:
            return
        common.show_prediction(tr, a, compact=True)
    with cols[1]:
        reading = words.reading_for(b, review)
        if reading is None:
            return
        common.show_prediction(reading, b, compact=True)
    words.contributions_view(reading, tr, K)
