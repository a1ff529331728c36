"""Patterns: units and patterns across a dataset. Trace a sample of a model's test split (cached on
disk), then select units over a token range of one review and find where else they are on together
(as LSTMVis does), see which words raise and lower each unit with units and words co-clustered (as
RNNVis does), and the gate saturation of every unit over the sample (Karpathy et al. 2015).

Widgets and layout only: the work is ``sentiment.probe.patterns``, the figures ``sentiment.figures.patterns``.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import NamedTuple

import streamlit as st

from sentiment import i18n as i18n_tables
from sentiment import serving, spec
from sentiment.data import uploads
from sentiment.errors import GateScopeError
from sentiment.figures import patterns as pf
from sentiment.figures.style import gate_kind, gate_title
from sentiment.modeling import catalog
from sentiment.probe import patterns
from sentiment.probe.instrument import GATE_NAMES, SIGMOID_GATES
from sentiment.probe.patterns import index

from . import common, present, share, waiting
from .i18n import lang, t
from .models import dataset_here

log = logging.getLogger("gatescope.ui")


K = "pt"
DEFAULT_THRESHOLD = {"sigmoid": 0.5, "tanh": 0.3, "cell": 0.5}
SHOWN = 30  # matches listed
# the expected time of an index before one was built here: IMDB test (25,000 reviews), imdb-lstm-max, this 2-core
# CPU busy with two trainings, and quiet (114 s; bench/patterns_index.py, BENCHMARKS.md)
INDEX_SECONDS_PER_REVIEW = 0.02
INDEX_SECONDS_PER_REVIEW_QUIET = 0.0046


@st.cache_resource(show_spinner=False, max_entries=4)
def _open(path: str, stamp: float, sha: str) -> patterns.BatchTrace:
    """A cached batch trace directory, memory-mapped (one per directory and write time)."""
    return patterns.load_dir(path, sha)


@st.cache_resource(show_spinner=False, max_entries=8)
def _profile(path: str, stamp: float, key: tuple, min_count: int) -> patterns.WordProfile:
    return patterns.word_profile(_open(path, stamp, _sha_of(path)), key, min_count)


def _sha_of(path: str) -> str:
    return json.loads((Path(path) / "index.json").read_text(encoding="utf-8"))["weights_sha256"]


def _stamp(path: Path) -> float:
    return (path / "index.json").stat().st_mtime


def tn(key: str, *counts: tuple[str, int], **kw) -> str:
    """``t(key)`` with the singular where a count is 1: each (suffix, count) with count == 1 adds its suffix
    to the key ("patterns.units" + ".one"), when the tables have that key (Chinese has no plural: its
    variants read as the base)."""
    plural = key + "".join(suffix for suffix, count in counts if count == 1)
    return t(plural if plural in i18n_tables.TABLES["en"] else key, **kw)


def batch_for(ckpt, n: int, split: str = "test", quick: bool = False) -> patterns.BatchTrace | None:
    """The cached batch trace of this model's sample, or None (a broken one is removed)."""
    d = patterns.cache_path(ckpt, n, split=split, quick=quick)
    try:
        if not (d / "index.json").is_file():
            return None
        bt = _open(str(d), _stamp(d), patterns.weights_sha256(ckpt))
    except GateScopeError:
        patterns.cached(ckpt, n, split=split, quick=quick)  # removes what does not validate
        return None
    except OSError:  # removed meanwhile (the disk limit, another session): trace again
        return None
    patterns.touch(d)  # in use: the disk limit removes it last
    return bt


def render() -> None:
    st.title(t("patterns.title"))
    st.caption(t("patterns.intro"))
    follow_the_lesson()
    entry = common.model_picker(K, language=lang())  # 中文 opens on the Chinese models' finding
    if entry is None:
        return
    common.show_imported_status(entry.card)  # an imported model: verified, or what was assumed
    data = data_source(entry)
    if data is None:
        return
    ckpt = common.load(entry)
    if ckpt is None:
        return
    bt = sample_controls(entry, ckpt, *data)
    if bt is None:
        return
    gates = bt.gates()  # every gate, or only the states when the cache limit is small
    c1, c2 = st.columns(2)
    with c1:
        gate = common.pick(t("patterns.gate"), gates, f"{K}_gate", "h" if "h" in gates else gates[0],
                           format_func=lambda g: gate_title(g, lang()), help=t("patterns.gate.help"))
    with c2:
        layer, direction = common.pick(t("gates.layer"), bt.layers(), f"{K}_layer", format_func=common.layer_label)
    key = (layer, direction, gate)
    tabs = st.tabs(tab_names(f"{K}_tab"), key=f"{K}_tab", on_change="rerun")  # tracked: a rerun keeps the open tab
    with tabs[0]:
        select_and_match(entry, bt, key, Whole(ckpt, *data))
    with tabs[1]:
        unit_words(bt, key, whole_index(entry, Whole(ckpt, *data), key))
    with tabs[2]:
        saturation_view(bt, whole_index(entry, Whole(ckpt, *data), (layer, direction, "h")))  # any gate: the index is the model's


OWN = f"{K}_text"  # the person's own review (share.follow_session and share.restore write it)
SOURCE = f"{K}_source"  # "sample" | "own": which review the units are selected on


def follow_the_lesson() -> None:
    """The review the page opens on is the same whichever way the person came (typing /patterns, the
    sidebar from another page, a link): the review being followed between pages when there is one, else
    the page as the person left it, else the same default each time.

    - The review followed between pages: the lesson's review and model as Explore, Compare or Learn left
      them since this page last ran (``share.follow_session``), or, on the page's first run in the
      session, a link's ``text`` and ``model`` (``share.restore``). The page opens on it as the person's
      own review ("my own"), traced by that model, its units matched over the model's sample.
    - Otherwise what the person left on this page (the source, the review of the sample, the range, the
      threshold and the sample size are kept across page switches).
    - Otherwise, and for a sample the page has not shown (another dataset, model, size or CSV), the
      sample's default review (``opening_review``), the same every time.

    Patterns only follows: what the person does here does not change the other pages' review."""
    seen = share.SEEN.format(key=K)
    before = st.session_state.get(seen)
    share.follow_session(K)
    followed = st.session_state.get(seen) != before
    share.restore(K)  # once per session: the link's model and review, with a message for what is unusable
    link = st.session_state.pop(share.PENDING.format(key=K), None)  # no token or unit to restore here
    if followed or (link is not None and link.text is not None):
        st.session_state[SOURCE] = "own"


TABS = ("patterns.tab.select", "patterns.tab.words", "patterns.tab.saturation")


def tab_names(key: str) -> list[str]:
    """The tabs' labels in the page's language. The open tab is kept by its label: after a switch of
    language, the kept one becomes the same tab's label in the new language (as on Explore)."""
    names = [t(k) for k in TABS]
    kept = st.session_state.get(key)
    if kept is not None and kept not in names:
        found = [i for i, k in enumerate(TABS) if any(kept == t(k, other) for other in i18n_tables.LANGUAGES)]
        if found:
            st.session_state[key] = names[found[0]]
    return names


@st.cache_data(show_spinner=False, max_entries=4)
def _read_upload(content: bytes, filename: str):
    return uploads.read_upload(content, filename)


def data_source(entry: catalog.ModelEntry) -> tuple[str, list | None, int] | None:
    """What to trace: ("test", None, test size) for the model's own test split, or ("upload-<sha>",
    the (text, label) pairs, their number) for a CSV the person uploads; None after a message."""
    source = common.pick(t("patterns.data"), ["split", "upload"], f"{K}_data", widget=st.radio, horizontal=True,
                         format_func=lambda s: t(f"patterns.data.{s}"), help=t("patterns.data.help"))
    if source == "split":
        if not dataset_here(entry.card):
            st.info(t("patterns.nodata", dataset=entry.dataset or "?"), icon=":material/folder_off:")
            return None
        sizes = entry.card.get("sizes") if isinstance(entry.card.get("sizes"), dict) else {}
        return "test", None, int(sizes.get("test") or entry.test_size or patterns.DEFAULT_SAMPLE)
    up = st.file_uploader(t("patterns.upload"), type=["csv", "tsv", "txt"], key=f"{K}_upload", help=t("patterns.upload.help"),
                          max_upload_size=10)  # MB: data.uploads.MAX_UPLOAD_BYTES
    if up is None:
        return None
    try:
        summary, examples = _read_upload(up.getvalue(), up.name)
    except GateScopeError as e:
        st.error(t("patterns.upload.bad", err=t(e)), icon=":material/error:")
        return None
    if summary.language in spec.LANGUAGES and entry.language in spec.LANGUAGES and summary.language != entry.language:
        st.warning(t("patterns.upload.language", data=t(f"lang.{summary.language}"), model=t(f"lang.{entry.language}")),
                   icon=":material/translate:")
    st.caption(tn("patterns.upload.ok", (".one", summary.reviews), n=summary.reviews, pos=summary.positive, neg=summary.negative))
    return f"upload-{summary.sha256[:16]}", examples, len(examples)


def sample_controls(entry: catalog.ModelEntry, ckpt, split: str, examples: list | None, total: int
                    ) -> patterns.BatchTrace | None:
    """Sample size, the trace button with its progress bar; the cached trace when there is one."""
    n = int(st.number_input(t("patterns.size"), min_value=1, max_value=max(1, total), value=min(patterns.DEFAULT_SAMPLE, total),
                            step=100, key=f"{K}_n", help=t("patterns.size.help", total=total, bytes=patterns.bytes_per_token(ckpt)),
                            persist_state="session"))  # kept across page switches, as the review and its range
    n = min(n, total)
    bt = batch_for(ckpt, n, split)
    if bt is None:
        # The model's own test split, a sample larger than the quick one: the quick sample is traced with no
        # click (seconds) and shown while the larger one waits for the button.
        quick = quick_sample(entry, ckpt, total) if split == "test" and n > min(patterns.QUICK_SAMPLE, total) else None
        note = st.empty()
        where = entry.dataset if split == "test" else "CSV"
        if quick is not None:
            note.info(t("patterns.quick", n=quick.n, pos=int(quick.labels.sum()), neg=int(quick.n - quick.labels.sum()),
                         full=n, dataset=where), icon=":material/bolt:")
            label = t("patterns.trace.more", n=n)
        else:
            note.info(tn("patterns.untraced", (".one", n), n=n, dataset=where), icon=":material/hourglass_empty:")
            label = tn("patterns.trace", (".one", n), n=n) if split == "test" else tn("patterns.trace.upload", (".one", n), n=n)
        button = st.empty()  # emptied once clicked: a traced sample shows no "Trace" button
        if not button.button(label, key=f"{K}_trace", type="primary"):
            if quick is None:
                return None
            bt = quick
        else:
            note.empty()
            button.empty()
            bt = trace_now(entry, ckpt, n, split, examples)
            if bt is None:
                return None
    skipped = int(bt.info.get("skipped", 0))
    st.caption(tn("patterns.summary" if split == "test" else "patterns.summary.upload", (".one", bt.n), n=bt.n, tokens=bt.n_tokens,
                  secs=float(bt.info.get("seconds", 0.0)), size=catalog.format_bytes(bt.disk_bytes()),
                  skipped=tn("patterns.skipped", (".one", skipped), k=skipped) if skipped else ""))
    cache_line(bt)
    return bt


def trace_now(entry: catalog.ModelEntry, ckpt, n: int, split: str, examples: list | None,
              quick: bool = False) -> patterns.BatchTrace | None:
    """Trace (or read from the cache) this sample through the server's queue, with its progress bar; None
    after an error message. ``quick``: the quick sample (``patterns.quick_indices``) of n reviews."""
    done: dict[str, tuple[int, int]] = {}  # the worker's progress, read by the page's thread

    def progress(k: int, all_: int) -> None:
        done["now"] = (k, all_)

    try:  # through the server's queue; the page shows the wait, then reviews done and the time left
        made = waiting.run_heavy(
            lambda: patterns.load_or_trace(ckpt, n, split=split, examples=examples, progress=progress, quick=quick,
                                          threads=serving.interactive_threads() if quick else None),
            task="patterns", units=n,
            label=lambda: t("patterns.tracing", done=done.get("now", (0, n))[0], total=n),
            progress=lambda: done.get("now"))
    except GateScopeError as e:
        st.error(t("patterns.failed", err=t(e)), icon=":material/error:")
        return None
    except Exception as e:  # never a traceback in front of a person
        log.exception("batch trace of %s", entry.path)
        st.error(t("patterns.failed", err=f"{type(e).__name__}: {e}"), icon=":material/error:")
        return None
    bt = batch_for(ckpt, n, split, quick=quick)
    if bt is None:  # traced, but the cache folder could not keep it: use it for this run only
        st.warning(t("patterns.nocache", root=patterns.cache_root()), icon=":material/warning:")
        bt = made
    return bt


def quick_sample(entry: catalog.ModelEntry, ckpt, total: int) -> patterns.BatchTrace | None:
    """The quick sample of the model's test split (``patterns.QUICK_SAMPLE`` reviews, half of each label,
    short to long): from the cache, else traced now with no click (a few seconds). None after a message."""
    n = min(patterns.QUICK_SAMPLE, total)
    return batch_for(ckpt, n, "test", quick=True) or trace_now(entry, ckpt, n, "test", None, quick=True)


def cache_line(bt: patterns.BatchTrace) -> None:
    """The cache's use of its disk limit, and a note when the limit left room for the states only."""
    st.caption(t("patterns.cache", used=catalog.format_bytes(patterns.cache_bytes()),
                 limit=catalog.format_bytes(patterns.cache_limit_bytes()), env=spec.PATTERNS_CACHE_ENV))
    if len(bt.gates()) < len(GATE_NAMES[bt.cell]):
        st.info(t("patterns.states_only", gates=", ".join(bt.gates())), icon=":material/compress:")


# ---- select & match ---------------------------------------------------------------------------------


def _label(y: int) -> str:
    return t("label.positive") if y == 1 else t("label.negative")


REVIEW_KEY = f"{K}_review"  # the review picker: a position in the sample shown
PICKED = f"{K}_review_picked"  # session: {(model key, split): split index of the review the person picked there}
SAMPLE_SHOWN = f"{K}_review_sample"  # session: the sample the review picker was last set for


def opening_review(bt: patterns.BatchTrace, picked: int | None = None) -> int:
    """The review of the sample (a position in ``bt``) the page opens on, whichever way the person came (typing
    /patterns, the sidebar from another page, a link to the page, back from another page): the review they
    picked on this page earlier in the session for the same model and reviews (``picked``, its position in
    the split), when this sample has it; otherwise the same default every time, the sample's first review
    of at least 20 tokens (the sample runs short to long), else its first."""
    split_index = [int(s) for s in bt.split_index]
    if picked is not None and picked in split_index:
        return split_index.index(picked)
    return next((i for i, n in enumerate(bt.lengths.tolist()) if n >= 20), 0)


def _open_review(entry: catalog.ModelEntry, bt: patterns.BatchTrace, split: str) -> None:
    """Before the review picker: on a sample it was not set for (the page's first run in the session,
    another dataset, model, sample size or CSV) it opens on ``opening_review``, never on the position it
    held in another sample (review 3 of another dataset, and that review's label and text)."""
    sample = (entry.key, split, bt.path or bt.n)
    if st.session_state.get(SAMPLE_SHOWN) == sample and REVIEW_KEY in st.session_state:
        return  # the same sample: the picker keeps the person's choice
    st.session_state[SAMPLE_SHOWN] = sample
    st.session_state[REVIEW_KEY] = opening_review(bt, st.session_state.get(PICKED, {}).get((entry.key, split)))


def _picked(model_key: str, split: str, split_index) -> None:
    """The person picked a review (the picker's on_change): it is the one this model's reviews open on
    for the rest of the session (``opening_review``)."""
    i = st.session_state.get(REVIEW_KEY)
    if isinstance(i, int) and 0 <= i < len(split_index):
        st.session_state.setdefault(PICKED, {})[(model_key, split)] = int(split_index[i])


def _own_text(entry: catalog.ModelEntry) -> None:
    """The own-review box opens on an example in the model's language, and changes with the model's
    language while it still holds the other language's example (a text the person typed stays)."""
    mine = t(f"patterns.own.default_{'zh' if entry.language == 'zh' else 'en'}")
    examples = {t(f"patterns.own.default_{code}", ui) for code in spec.LANGUAGES for ui in i18n_tables.LANGUAGES}
    if st.session_state.get(OWN) in examples | {None} and st.session_state.get(OWN) != mine:
        st.session_state[OWN] = mine


def _review_values(entry: catalog.ModelEntry, bt: patterns.BatchTrace, key: tuple, split: str = "test"):
    """(tokens, values [T, H]) of the review the person picked (of the sample, or typed); None after a message."""
    source = common.pick(t("patterns.source"), ["sample", "own"], SOURCE, widget=st.segmented_control, required=True,
                         format_func=lambda s: t(f"patterns.source.{s}"))
    if source == "own":
        _own_text(entry)
        text = st.text_area(t("patterns.own"), key=OWN, height=90, persist_state="session")
        tr = common.trace_for(entry, text, method=None, prefix=False)
        if tr is None:
            return None
        return tr.tokens, tr.gate(key[2], key[0], key[1])
    lengths = bt.lengths
    language = bt.info.get("language", "en")

    def label(i: int) -> str:
        start = pf.join_tokens(bt.review_tokens(i)[:8], language)
        return tn("patterns.review.option", (".one", int(lengths[i])), idx=int(bt.split_index[i]), label=_label(int(bt.labels[i])),
                  n=int(lengths[i]), start=start)

    _open_review(entry, bt, split)
    i = common.pick(t("patterns.review"), list(range(bt.n)), REVIEW_KEY, format_func=label, help=t("patterns.review.help"),
                    on_change=_picked, args=(entry.key, split, bt.split_index))
    return bt.review_tokens(i), bt.review(i, key)


def _apply_brush(length: int) -> None:
    """A new box selection on the heatmap sets the token range (before the range slider is drawn)."""
    state = st.session_state.get(f"{K}_brush")
    selection = state.get("selection") if isinstance(state, dict) or hasattr(state, "get") else None
    if not selection:
        return
    stamp = json.dumps(selection, sort_keys=True, default=str)
    if stamp == st.session_state.get(f"{K}_brush_seen"):
        return
    st.session_state[f"{K}_brush_seen"] = stamp
    span = pf.span_from_selection(dict(selection), length)
    if span is not None:
        st.session_state[f"{K}_span"] = span


def _open_on_a_finding(tokens: list, values, key: tuple, span_key: str, thr_key: str, lo: float, hi: float):
    """For a review or gate not shown before: the span and threshold where the data find units
    (``patterns.default_selection``) into the range slider and the threshold. Returns the selection the
    data chose for this review and gate ((start, end), threshold), None when there was none."""
    stamp = hash((tuple(tokens), key))
    if st.session_state.get(f"{K}_opened_for") == stamp:
        return st.session_state.get(f"{K}_opened_default")
    st.session_state[f"{K}_opened_for"] = stamp
    found = patterns.default_selection(values, tokens) if len(tokens) > 1 else None
    chosen = None
    if found is not None:
        a, b, thr = found
        chosen = ((a, b), float(min(hi, max(lo, thr))))
        st.session_state[span_key], st.session_state[thr_key] = chosen
    elif len(tokens) > 1:  # the range slider's labels are this review's tokens: set (and so send) them again
        span = st.session_state.get(span_key)
        st.session_state[span_key] = tuple(span) if _valid_span(span, len(tokens)) else (0, 1)
    st.session_state[f"{K}_opened_default"] = chosen
    return chosen


def _valid_span(span, length: int) -> bool:
    return (isinstance(span, (tuple, list)) and len(span) == 2 and all(isinstance(x, int) for x in span)
            and 0 <= span[0] <= span[1] < length)


def _set_threshold(key: str, value: float) -> None:
    st.session_state[key] = float(value)


def select_and_match(entry: catalog.ModelEntry, bt: patterns.BatchTrace, key: tuple, whole: Whole | None = None) -> None:
    got = _review_values(entry, bt, key, whole.split if whole is not None else "test")
    if got is None:
        return
    tokens, values = got
    T = len(tokens)
    _apply_brush(T)
    span_key = f"{K}_span"
    kind = gate_kind(key[2])
    lo, hi = (0.0, 1.0) if kind == "sigmoid" else (-1.0, 1.0) if kind == "tanh" else (-3.0, 3.0)
    opened = _open_on_a_finding(tokens, values, key, span_key, f"{K}_thr_{kind}", lo, hi)
    if not _valid_span(st.session_state.get(span_key), T):
        st.session_state.pop(span_key, None)  # another review: back to the default range
    c1, c2 = st.columns([3, 1])
    with c1:
        if T > 1:
            a, b = st.select_slider(t("patterns.span"), options=list(range(T)), value=(0, 1), key=span_key,
                                    help=t("patterns.span.help"), format_func=lambda i: f"{i}: {tokens[i]}",
                                    persist_state="session")
        else:
            a = b = 0
    with c2:
        thr = st.slider(t("patterns.threshold"), lo, hi, DEFAULT_THRESHOLD[kind], 0.05, key=f"{K}_thr_{kind}",
                        help=t("patterns.threshold.help"), persist_state="session")
    if opened == ((a, b), thr):
        st.caption(t("patterns.default"))  # while the selection is still the one the data chose
    units = patterns.select_units(values, a, b, thr)
    fig = pf.review_heatmap(tokens, values, key[2], span=(a, b), units=units, lang=lang())
    st.plotly_chart(present.scale_figure(fig), key=f"{K}_brush", on_select="rerun", selection_mode="box", config=common.plot_config("patterns-review"))
    phrase = pf.join_tokens(tokens[a: b + 1], entry.language)
    if units.size == 0:
        st.info(t("patterns.units.none", thr=f"{thr:g}", phrase=phrase), icon=":material/filter_alt_off:")
        better = patterns.threshold_for(values, a, b)
        if better is not None and lo <= better < thr:
            st.button(t("patterns.suggest", thr=better), key=f"{K}_suggest", on_click=_set_threshold,
                      args=(f"{K}_thr_{kind}", better), icon=":material/tune:")
        return
    listed = ", ".join(f"u{u}" for u in units[:40]) + (" …" if units.size > 40 else "")
    st.markdown(tn("patterns.units", (".one", int(units.size)), k=int(units.size), thr=f"{thr:g}", phrase=phrase, units=listed))
    c1, c2 = st.columns(2)
    with c1:
        k = int(st.number_input(t("patterns.top"), 1, int(units.size), min(int(units.size), 5), key=f"{K}_top",
                                help=t("patterns.top.help"))) if units.size > 1 else 1
    with c2:
        min_len = int(st.number_input(t("patterns.minlen"), 1, 50, 1, key=f"{K}_minlen"))
    used = units[:k]
    st.subheader(t("patterns.matches"))
    matches, total, positive = patterns.match(bt, key, used, thr, min_length=min_len, limit=SHOWN)
    if not matches:
        st.info(t("patterns.matches.none"), icon=":material/search_off:")
    else:
        st.caption(tn("patterns.matches.count", (".one", total), (".unit", len(used)), total=total, units=", ".join(f"u{u}" for u in used), thr=f"{thr:g}",
                     shown=len(matches), share=positive / total))
        match_list(entry, matches)
    if whole is not None:
        whole_split(entry, whole, key, [int(u) for u in used], thr, min_len)


def match_list(entry: catalog.ModelEntry, matches: list) -> None:
    language = "zh" if entry.language == "zh" else "en"
    for m in matches:
        st.markdown(f"- {pf.match_markdown(m, language)}  \n  *{tn('patterns.match.row', ('.one', m.length), idx=m.split_index, label=_label(m.label), n=m.length, mean=m.mean)}*")


# ---- the whole split ------------------------------------------------------------------------------------


class Whole(NamedTuple):
    """What the sample was drawn from, to index whole: the model's test split, or the person's upload."""

    ckpt: object
    split: str  # "test", or "upload-<sha>"
    examples: list | None  # None: the model's own test split
    total: int

    def data_id(self, entry: catalog.ModelEntry) -> str:
        return f"{entry.dataset or 'data'}-test" if self.examples is None else self.split


def whole_split(entry: catalog.ModelEntry, whole: Whole, key: tuple, units: list[int], thr: float, min_len: int) -> None:
    """The same units over every review of the split: from its index, built once (in the background,
    with a bar, elapsed and expected time, and a stop button) and kept on disk for every session."""
    st.subheader(t("patterns.whole.title", n=whole.total))
    if key[2] != "h":
        st.caption(t("patterns.whole.only_h", h=gate_title("h", lang())))
        return
    data_id = whole.data_id(entry)
    job = index.build_of(whole.ckpt, data_id)
    if job is not None and job.running:
        _index_progress(whole, data_id)
        return
    ix = whole_index(entry, whole, key)
    if ix is None:
        _offer_index(whole, data_id, job)
        return
    if thr < ix.info["floor"]:
        st.info(t("patterns.whole.floor", floor=ix.info["floor"], thr=f"{thr:g}"), icon=":material/filter_alt_off:")
        return
    found = index.match_index(ix, key, units, thr, min_length=min_len, limit=SHOWN)
    st.caption(t("patterns.whole.ready", n=ix.n, tokens=ix.n_tokens, secs=float(ix.info.get("seconds") or 0),
                 size=catalog.format_bytes(ix.disk_bytes())))
    if not found.matches:
        st.info(t("patterns.matches.none"), icon=":material/search_off:")
        return
    st.caption(tn("patterns.whole.count", (".one", found.total), (".unit", len(units)), total=found.total, n=ix.n,
                  units=", ".join(f"u{u}" for u in units), thr=f"{thr:g}", shown=len(found.matches), share=found.positive / found.total))
    match_list(entry, found.matches)


def _offer_index(whole: Whole, data_id: str, job: index.Build | None) -> None:
    """The button that starts (or continues) the index, with what an earlier build left."""
    if job is not None and job.error is not None:
        (st.info if job.error.code == "patterns.index_stopped" else st.error)(t(job.error), icon=":material/info:")
    part = index.partial_reviews(whole.ckpt, data_id)
    lo, hi = (max(1, round(whole.total * s / 60)) for s in (INDEX_SECONDS_PER_REVIEW_QUIET, INDEX_SECONDS_PER_REVIEW))
    minutes = str(lo) if lo == hi else f"{lo}-{hi}"  # a quiet server to a busy one
    label = t("patterns.whole.resume", done=part[0], n=part[1]) if part else t("patterns.whole.build", n=whole.total, minutes=minutes)
    st.caption(t("patterns.whole.what", floor=index.FLOOR))
    if st.button(label, key=f"{K}_index", icon=":material/manage_search:"):
        index.start_build(whole.ckpt, lambda: whole.examples, data_id)
        st.rerun()


@st.fragment(run_every=2.0)
def _index_progress(whole: Whole, data_id: str) -> None:
    """The running build's bar (every 2 s): reviews done, elapsed and expected time; a stop button."""
    job = index.build_of(whole.ckpt, data_id)
    if job is None or not job.running:
        st.rerun()  # finished: the whole page shows the index
        return
    elapsed = time.monotonic() - job.started
    share = job.done / job.total if job.total else 0.0
    left = max(1, (job.total or whole.total) - job.resumed_from)  # what this build (maybe a resumed one) has to do
    done_here = (job.done - job.resumed_from) / left
    expected = elapsed / done_here if done_here > 0.02 else left * INDEX_SECONDS_PER_REVIEW
    label = t("patterns.whole.building", done=job.done, n=job.total or whole.total)
    st.progress(min(share, 0.99), text=waiting.wait_line(label, elapsed, expected))
    if st.button(t("patterns.whole.stop"), key=f"{K}_index_stop", icon=":material/stop_circle:"):
        job.stop.set()


# ---- unit words ---------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False, max_entries=4)
def _open_index(path: str, stamp: float, sha: str) -> index.WholeIndex:
    """A complete index directory, memory-mapped (one per directory and write time, shared by the sessions)."""
    return index.load_index(path, sha)


@st.cache_resource(show_spinner=False, max_entries=8)
def _whole_profile(path: str, stamp: float, sha: str, key: tuple, min_count: int) -> patterns.WordProfile:
    return index.word_profile_of(_open_index(path, stamp, sha), key, min_count)


def whole_index(entry: catalog.ModelEntry, whole: Whole, key: tuple) -> index.WholeIndex | None:
    """The complete index of every review the sample was drawn from, when there is one (hidden state only)."""
    if key[2] != "h":
        return None
    path = index.index_path(whole.ckpt, whole.data_id(entry))
    try:
        return _open_index(str(path), _stamp(path), patterns.weights_sha256(whole.ckpt))
    except (GateScopeError, OSError):  # none yet, removed meanwhile, or one that does not validate
        return None


def unit_words(bt: patterns.BatchTrace, key: tuple, ix: index.WholeIndex | None = None) -> None:
    source = "sample"
    if ix is not None:  # every review, from the index's word sums
        source = common.pick(t("patterns.words.source"), ["sample", "whole"], f"{K}_words_source", widget=st.radio,
                             horizontal=True, format_func=lambda s: t(f"patterns.words.source.{s}", n=ix.n if s == "whole" else bt.n))
    c1, c2, c3 = st.columns(3)
    with c1:
        min_count = int(st.number_input(t("patterns.mincount"), 1, 10_000, max(3, min(20, bt.n // 100)), key=f"{K}_mincount",
                                        help=t("patterns.mincount.help")))
    with c2:
        k = int(st.slider(t("patterns.k"), 2, 12, 6, key=f"{K}_k"))
    with c3:
        n_words = int(st.slider(t("patterns.words"), 10, 120, 50, 5, key=f"{K}_nwords", help=t("patterns.words.help")))
    path = Path(bt.path if source == "sample" else ix.path)
    try:
        prof = (_profile(str(path), _stamp(path), key, min_count) if source == "sample"
                else _whole_profile(str(path), _stamp(path), ix.info["weights_sha256"], key, min_count))
    except GateScopeError as e:
        st.info(t(e), icon=":material/info:")
        return
    view = patterns.unit_words(prof, n_words, k=k, seed=0)
    cc = view.clusters
    fig = pf.cocluster_heatmap(view.matrix, view.words, cc, key[2], lang=lang(), counts=view.counts)
    common.chart(fig, key=f"{K}_cocluster", filename="patterns-unit-words")
    st.caption(tn("patterns.words.caption", (".once", min_count), w=len(prof.words), m=min_count,
                  tokens=bt.n_tokens if source == "sample" else ix.n_tokens))
    unit = int(st.number_input(t("patterns.unit"), 0, bt.hidden_size - 1, int(cc.unit_order[0]), key=f"{K}_unit"))
    up, down = patterns.top_words(prof, unit, k=12)
    cols = st.columns(2)
    for col, title, rows in ((cols[0], t("patterns.raise", u=unit), up), (cols[1], t("patterns.lower", u=unit), down)):
        with col:
            st.markdown(f"**{title}**")
            st.dataframe([{t("patterns.col.word"): w, t("patterns.col.delta"): round(d, 4), t("patterns.col.count"): c}
                          for w, d, c in rows], hide_index=True, width="stretch")


# ---- saturation ---------------------------------------------------------------------------------------


def saturation_view(bt: patterns.BatchTrace, ix: index.WholeIndex | None = None) -> None:
    """The gates' saturation per unit over the sample, or over every review when the index is built
    (counted while it was built: ``index.saturation_of``)."""
    if not SIGMOID_GATES.get(bt.cell):
        st.info(t("patterns.sat.none"), icon=":material/info:")
        return
    source = "sample"
    if ix is not None:
        source = common.pick(t("patterns.sat.source"), ["sample", "whole"], f"{K}_sat_source", widget=st.radio,
                             horizontal=True, format_func=lambda s: t(f"patterns.words.source.{s}", n=ix.n if s == "whole" else bt.n))
    sat = patterns.saturation(bt) if source == "sample" else index.saturation_of(ix)
    common.chart(pf.saturation_scatter(sat, lang=lang()), key=f"{K}_saturation", filename="patterns-saturation")
    st.caption(t("patterns.sat.caption") if source == "sample" else t("patterns.sat.caption.whole", n=ix.n, tokens=ix.n_tokens))
