"""The bag-of-words reference on a page: its prediction and its per-word contributions (Compare's
model B), and the Learn page's "why gates?" comparison on built-in examples.

No tensor math here: ``sentiment.probe.words.read`` reads the review, ``sentiment.figures`` draws it."""

from __future__ import annotations

import streamlit as st

from sentiment import figures
from sentiment.errors import GateScopeError
from sentiment.modeling import catalog
from sentiment.probe.words import WordReading, read
from sentiment.spec import LANGUAGES
from sentiment.training import pairs

from . import common
from .i18n import lang, t

# Written for GateScope: pairs with the same words in another order (the turn comes last in each, so the
# first review of a pair is positive, the second negative).
WHY_EXAMPLES = {
    "en": [("I expected a boring film, but it was great.", "I expected a great film, but it was boring."),
           ("The start is slow and dull, yet the ending is wonderful.", "The start is wonderful, yet the ending is slow and dull."),
           ("The jokes are not funny at all, but the story is wonderful.", "The story is wonderful, but the jokes are not funny at all.")],
    "zh": [("本来以为房间很差，结果很好。", "本来以为房间很好，结果很差。"),
           ("位置不方便，但是服务特别好。", "服务特别好，但是位置不方便。")],
}


@st.cache_resource(show_spinner=False, max_entries=64)
def _read(path: str, text: str) -> WordReading:
    return read(common.load_model(path), text)


def reading_for(entry: catalog.ModelEntry, review: str) -> WordReading | None:
    """The bag of words' reading of a review (cached); None after showing an error."""
    try:
        return _read(entry.path, review)
    except GateScopeError as e:
        common.error(e)
    return None


def contributions_view(reading: WordReading, trace_a, key: str) -> None:
    """Compare with a bag of words as B: its per-word contributions, under model A's reading curve."""
    st.subheader(t("words.title"), help=t("words.help"))
    st.caption(t("words.help"))
    if trace_a is not None and trace_a.prefix_probs is not None:
        st.markdown(f"**{t('words.prefix')}**")
        common.chart(figures.prefix_curve(trace_a, lang=lang()), key=f"{key}_bow_prefix", filename="compare-prefix-a")
    common.chart(figures.word_contributions(reading, lang=lang()), key=f"{key}_bow_words", filename="bow-contributions")


def reference_for(entry: catalog.ModelEntry) -> catalog.ModelEntry | None:
    """The bag-of-words reference of the entry's dataset and language, shipped first."""
    ok, _ = common.available_models()
    refs = [e for e in ok if e.cell == common.BOW and (e.dataset, e.language) == (entry.dataset, entry.language)]
    return sorted(refs, key=lambda e: e.source != "shipped")[0] if refs else None


def why_gates_view(entry: catalog.ModelEntry, key: str) -> None:
    """Learn: built-in pairs of reviews, the same words in another order, through the bag of words and the gated model."""
    st.subheader(t("words.why"))
    st.caption(t("words.why.help"))
    ref = reference_for(entry)
    if ref is None or common.load(ref) is None:
        st.info(t("words.why.none"), icon=":material/info:")
        return
    rows = []
    for pair in WHY_EXAMPLES.get(entry.language, []):
        for text in pair:
            bow = reading_for(ref, text)
            gated = common.trace_for(entry, text, method=None, prefix=False)
            if bow is None or gated is None:
                return
            rows.append({t("words.col.review"): text, t("words.col.bow"): round(float(bow.probs[1]), 3),
                         t("words.col.gated", name=entry.name): round(float(gated.probs[1]), 3)})
    st.dataframe(rows, hide_index=True, width="stretch")
    still_fails_view(entry)


@st.cache_data(show_spinner=False, max_entries=32)
def _wrong(path: str, language: str) -> tuple[list[dict], int]:
    """(the dev minimal-pair sentences this model gets wrong, how many sentences were read)."""
    dev = pairs.load_pairs(language, "dev")
    return pairs.wrong_sentences(common.load_model(path), dev), 2 * len(dev)


def still_fails_view(entry: catalog.ModelEntry, most: int = 6) -> None:
    """Learn: where the model still fails, measured now on the dev half of GateScope's minimal pairs
    (negation, double negation, contrast, intensifiers; assets/pairs), and the held-aside half's figure
    from its card when it was measured."""
    if entry.language not in LANGUAGES or common.load(entry) is None:
        return
    st.subheader(t("words.fails"))
    try:
        wrong, total = _wrong(str(entry.path), entry.language)
    except GateScopeError as e:
        common.error(e)
        return
    lesson = (entry.card or {}).get("lesson", {}) if isinstance(entry.card, dict) else {}
    held = (lesson.get("pairs") or {}).get("test", {}).get("accuracy") if isinstance(lesson, dict) else None
    st.caption(t("words.fails.help", right=total - len(wrong), total=total)
               + ("" if held is None else " " + t("words.fails.held", acc=held)))
    if not wrong:
        st.success(t("words.fails.none"), icon=":material/check:")
        return
    st.dataframe([{t("words.col.review"): w["text"], t("words.fails.kind"): t(f"pairs.kind.{w['kind']}"),
                   t("words.fails.label"): t(f"label.{w['label']}"), t("words.col.gated", name=entry.name): round(w["p_positive"], 3)}
                  for w in wrong[:most]], hide_index=True, width="stretch")
