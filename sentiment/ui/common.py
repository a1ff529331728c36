"""Widgets and cached resources shared by the pages: the model catalog and picker, model loading
(once per process), traces, the review input with examples, the prediction line, chart output.

No tensor math here: models are loaded by ``sentiment.modeling.checkpoint``, read by ``sentiment.probe``,
drawn by ``sentiment.figures``. Every error a person can cause is shown as a message, never a traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence

import streamlit as st

from sentiment import serving, spec
from sentiment.data import text as text_mod
from sentiment.errors import GateScopeError, InputError
from sentiment.figures.style import md_escape
from sentiment.modeling import calibration, catalog, checkpoint

from . import present, waiting
from .i18n import t

log = logging.getLogger("gatescope.ui")


EXAMPLES_DIR = spec.EXAMPLES_DIR
CELL_ORDER = spec.CELLS
POOL_ORDER = spec.POOLINGS  # imported models may add "last_step" (labelled as pool.last_step)
BOW = "bow"  # the bag-of-words reference's "cell" (sentiment.modeling.bow)
FAILED_KEY = "_gatescope_failed_models"  # session: model key -> load error


# ---- cached resources ------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def init_jieba() -> bool:
    """Load jieba's dictionary once per process (its cache folder: GATESCOPE_CACHE, see sentiment.data.text)."""
    text_mod.tokenize_zh("初始化", "word")
    return True


@st.cache_resource(show_spinner=False, max_entries=32)
def load_model(path: str) -> checkpoint.Checkpoint:
    """A checkpoint, loaded once per process. Raises CheckpointError (not cached) for a bad one."""
    ckpt = checkpoint.load(path)
    if ckpt.language == "zh" and ckpt.tokenizer.get("mode", "word") == "word":
        init_jieba()
    return ckpt


TRACES = serving.SharedCache(max_entries=48)  # every session's traces, one process: a review traced once for all


def _trace(path: str, text: str, prefix: bool, occlusion: bool, integrated_gradients: bool):
    """A Trace shared by every session (``TRACES``); computed through the server's queue (the wait is shown)."""
    key = (path, text, prefix, occlusion, integrated_gradients)
    hit, value = TRACES.peek(key)
    if hit:
        return value

    def compute():
        from sentiment.probe.instrument import trace

        return trace(load_model(path), text, prefix=prefix, occlusion=occlusion, integrated_gradients=integrated_gradients)

    heavy = prefix or occlusion or integrated_gradients
    chars = len(text[: text_mod.MAX_CHARS]) if isinstance(text, str) else 1
    return waiting.run_heavy(lambda: TRACES.get(key, compute), task="trace" if heavy else "pass", units=max(1, chars),
                             label=t("wait.trace"))


@st.cache_data(ttl=10, show_spinner=False)
def _catalog(models_root: str, runs_root: str) -> list[catalog.ModelEntry]:
    return catalog.list_models(models_root, runs_root)


def models() -> list[catalog.ModelEntry]:
    """Every model (shipped and from runs), re-read at most every 10 s; the roots are part of the key."""
    return _catalog(str(catalog.models_root()), str(catalog.runs_root()))


def refresh_models() -> None:
    """Forget the cached model list, so a model saved just now shows in every picker at once."""
    _catalog.clear()


@st.cache_data(show_spinner=False)
def examples(language: str) -> list[dict]:
    """Example reviews of one language ('en' | 'zh') from assets/examples; [] if the file is missing or bad."""
    try:
        items = json.loads((EXAMPLES_DIR / f"{language}.json").read_text(encoding="utf-8"))
        return [dict(e, language=language) for e in items if isinstance(e, dict) and isinstance(e.get("text"), str)]
    except (OSError, ValueError) as e:
        log.warning("examples for %s unreadable: %s", language, e)
        return []


# ---- charts -------------------------------------------------------------------------------------------


def plot_config(filename: str) -> dict:
    """plotly's mode bar: PNG export drawn by the browser (works offline), no plotly logo."""
    return {"displaylogo": False, "toImageButtonOptions": {"format": "png", "filename": f"gatescope-{filename}", "scale": 2}}


def chart(fig, key: str, filename: str | None = None, on_select: bool = False) -> None:
    """A plotly figure (scaled in presenter mode); ``on_select``: box selections rerun the page and are
    in ``st.session_state[key]``."""
    kw = dict(on_select="rerun", selection_mode="box") if on_select else {}
    st.plotly_chart(present.scale_figure(fig), key=key, config=plot_config(filename or key), theme="streamlit", **kw)


def error(e: BaseException) -> None:
    """A GateScopeError's message (translated where known) as an error box."""
    st.error(t(e), icon=":material/error:")


# ---- imported models: verified against their framework, or what was assumed ---------------------------

FRAMEWORKS = spec.FRAMEWORKS
IMPORT_FACTS = ("tokenizer", "index_from", "pad_id", "unk_id", "start_id", "max_len", "padding", "truncating",
                "padding_idx", "reduction", "tanh", "hidden_activation")  # an imported model's card "facts"


def framework_name(fw: object) -> str:
    return FRAMEWORKS.get(str(fw), str(fw))


def fact_name(fact: str) -> str:
    """A fact of how an imported model ran (its card's "facts"), in the page's language."""
    return t(f"own.fact.{fact}") if fact in IMPORT_FACTS else str(fact)


def _count(v) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def _diff(v) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else float("nan")


def imported_status(card: dict) -> tuple[str, str]:
    """("ok" | "warn", the line every page shows of an imported model, from its card): verified against
    its framework on N reviews (largest difference X), or not verified, with what was assumed and how to
    verify."""
    card = card if isinstance(card, dict) else {}
    imp = card.get("imported") if isinstance(card.get("imported"), dict) else {}
    fw = framework_name(imp.get("framework", "?"))
    v = card.get("verified", imp.get("verified"))
    if isinstance(v, dict):
        return "ok", t("own.status.verified", framework=framework_name(v.get("framework") or imp.get("framework", "?")),
                       n=_count(v.get("examples")), diff=_diff(v.get("max_diff")))
    how = t("own.status.how")
    u = card.get("unverified", imp.get("unverified"))
    if isinstance(u, dict):
        return "warn", t("own.status.forced", framework=fw, n=_count(u.get("examples")), diff=_diff(u.get("max_diff"))) + " " + how
    facts = imp.get("facts")
    if not isinstance(facts, dict):
        return "warn", t("own.status.old") + " " + how
    assumed = [f for f in IMPORT_FACTS if isinstance(facts.get(f), dict) and facts[f].get("source") == "assumed"]
    if assumed:
        return "warn", t("own.status.assumed", facts=", ".join(fact_name(f) for f in assumed)) + " " + how
    return "warn", t("own.status.given", framework=fw) + " " + how


def show_imported_status(card: dict) -> None:
    """Under an imported model's prediction and card: verified, or not (nothing for GateScope's own models)."""
    if not (isinstance(card, dict) and isinstance(card.get("imported"), dict)):
        return
    kind, words = imported_status(card)
    if kind == "ok":
        st.caption(f":material/verified: {words}")
    else:
        st.info(words, icon=":material/help:")


# ---- model picker -------------------------------------------------------------------------------------


def _lang_name(code: str) -> str:
    return t(f"lang.{code}") if code in spec.LANGUAGES else code


def _ensure(key: str, options: Sequence, default) -> None:
    """Keep a widget's session value among its options (they change with the other choices)."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default if default in options else options[0]


def _first(options: Sequence, *preferred):
    for p in preferred:
        if p in options:
            return p
    return options[0]


def available_models() -> tuple[list[catalog.ModelEntry], list[catalog.ModelEntry]]:
    """(usable, unavailable): unavailable = unreadable in the catalog or failed to load in this session."""
    failed = st.session_state.get(FAILED_KEY, {})
    ok, bad = [], []
    for e in models():
        if e.available and e.key in failed:
            e = catalog.ModelEntry(**{**e.__dict__, "available": False, "error": str(failed[e.key]), "problem": failed[e.key]})
        (ok if e.available else bad).append(e)
    return ok, bad


def datasets_of(entries: Sequence[catalog.ModelEntry]) -> list[tuple[str, str]]:
    """The (dataset, language) pairs of the entries, in catalog order (a dataset name may recur per language)."""
    out: list[tuple[str, str]] = []
    for e in entries:
        if (e.dataset, e.language) not in out:
            out.append((e.dataset, e.language))
    return out


def follow_language(picker_keys: Sequence[str], review: str) -> None:
    """Switch each picker's dataset to one of the review's language when it reads another (a callback)."""
    language = text_mod.guess_language((review or "")[: text_mod.MAX_CHARS])
    if language not in spec.LANGUAGES:
        return
    ok, _ = available_models()
    matching = [d for d in datasets_of(ok) if d[1] == language]
    for pk in picker_keys:
        current = st.session_state.get(f"{pk}_dataset")
        if matching and (not isinstance(current, tuple) or current[1] != language):
            st.session_state[f"{pk}_dataset"] = matching[0]


def model_picker(key: str, prefer: dict | None = None, language: str | None = None,
                 stacked: bool = False, allow_bow: bool = False) -> catalog.ModelEntry | None:
    """Dataset, cell and pooling choices over the usable models; a model choice when several match.

    ``prefer`` gives the defaults ({"cell": "gru", "pooling": "max", "dataset": "imdb"}); ``language``
    picks the default dataset; ``stacked``: cell above pooling (for a narrow column, where the two
    side by side would cut off their last buttons); ``allow_bow``: offer the bag-of-words references
    too (cell "bow"; they cannot be traced, so only Compare's model B offers them). Returns None (with a
    message) when no model is usable.
    """
    prefer = prefer or {}
    ok, bad = available_models()
    ok = ok if allow_bow else [e for e in ok if e.cell != BOW]
    if not ok:
        st.warning(t("picker.none"), icon=":material/warning:")
        _show_unavailable(bad)
        return None
    ds_options = datasets_of(ok)
    ds_default = _first(ds_options, *[d for d in ds_options if d[0] == prefer.get("dataset")],
                        *[d for d in ds_options if d[1] == (language or "en")])
    dataset = pick(t("picker.dataset"), ds_options, f"{key}_dataset", ds_default, help=t("picker.dataset.help"),
                   format_func=lambda d: f"{d[0]} · {_lang_name(d[1])}")
    of_ds = [e for e in ok if (e.dataset, e.language) == dataset]
    cells = [c for c in CELL_ORDER if any(e.cell == c for e in of_ds)] + sorted({e.cell for e in of_ds} - set(CELL_ORDER))
    c1, c2 = (st.container(), st.container()) if stacked else st.columns(2)
    with c1:
        cell = pick(t("picker.cell"), cells, f"{key}_cell", _first(cells, prefer.get("cell"), "lstm", "gru"),
                    widget=st.segmented_control, required=True, help=t("picker.cell.help"),
                    format_func=lambda c: t(f"cell.{c}") if c in (*CELL_ORDER, BOW) else c)
    of_cell = [e for e in of_ds if e.cell == cell]
    pools = [p for p in POOL_ORDER if any(e.pooling == p for e in of_cell)] + sorted({e.pooling for e in of_cell} - set(POOL_ORDER))
    with c2:
        pooling = pick(t("picker.pooling"), pools, f"{key}_pooling", _first(pools, prefer.get("pooling"), "max", "attention"),
                       widget=st.segmented_control, required=True, help=t("picker.pooling.help"),
                       format_func=lambda p: t(f"pool.{p}") if p in (*POOL_ORDER, "none") else p)
    matches = [e for e in of_cell if e.pooling == pooling]
    if not matches:  # a stale widget value in an odd rerun: fall back to the first of the cell
        matches = of_cell or of_ds
    entry = matches[0]
    if len(matches) > 1:
        by_key = {e.key: e for e in matches}
        chosen = pick(t("picker.model"), list(by_key), f"{key}_model", matches[0].key, help=t("picker.model.help"),
                      format_func=lambda k: f"{by_key[k].name} ({t('source.' + by_key[k].source)})")
        entry = by_key[chosen]
    _show_unavailable(bad)
    return entry


def _show_unavailable(bad: Sequence[catalog.ModelEntry]) -> None:
    if bad:
        with st.expander(t("picker.unavailable", n=len(bad)), icon=":material/block:"):
            for e in bad:
                st.caption(f"**{e.name}**: {t(e.problem) if e.problem is not None else e.error}")


def load(entry: catalog.ModelEntry) -> checkpoint.Checkpoint | None:
    """Load a model (cached); on failure an error box, the model is marked unavailable, None."""
    try:
        return load_model(entry.path)
    except GateScopeError as e:
        st.session_state.setdefault(FAILED_KEY, {})[entry.key] = e
        st.error(t("picker.load_failed", name=entry.name, err=t(e)), icon=":material/error:")
    except Exception as e:  # a model that breaks in an unforeseen way must not take the page down
        log.exception("loading %s", entry.path)
        st.session_state.setdefault(FAILED_KEY, {})[entry.key] = GateScopeError.plain(f"{type(e).__name__}: {e}")
        st.error(t("picker.load_failed", name=entry.name, err=f"{type(e).__name__}: {e}"), icon=":material/error:")
    return None


def card_line(entry: catalog.ModelEntry) -> str:
    """The model's card in one line: name, cell, pooling, size, test accuracy."""
    if entry.cell == BOW:
        parts = [t("card.line.bow", name=entry.name, source=t(f"source.{entry.source}"))]
    else:
        parts = [t("card.line", name=entry.name, cell=t(f"cell.{entry.cell}") if entry.cell in CELL_ORDER else entry.cell,
                   pooling=t(f"pool.{entry.pooling}") if entry.pooling in POOL_ORDER else entry.pooling,
                   layers=entry.num_layers, hidden=entry.hidden_size, bi=t("card.bi") if entry.bidirectional else "",
                   source=t(f"source.{entry.source}"))]
    if entry.test_accuracy is not None:
        parts.append(t("card.accuracy", acc=entry.test_accuracy, n=entry.test_size) if entry.test_size
                     else t("card.accuracy_only", acc=entry.test_accuracy))
    if entry.parameters:
        parts.append(t("card.size", params=catalog.format_count(entry.parameters), size=catalog.format_bytes(entry.size_bytes)))
    return " · ".join(parts)


# ---- review input -------------------------------------------------------------------------------------


def _use_example(key: str, picker_keys: Sequence[str]) -> None:
    chosen = st.session_state.get(f"{key}_example")
    if chosen:
        language, idx = chosen.split(":", 1)
        items = examples(language)
        if idx.isdigit() and int(idx) < len(items):
            st.session_state[f"{key}_text"] = items[int(idx)]["text"]
            if st.session_state.get(f"{key}_follow", True):
                follow_language(picker_keys, items[int(idx)]["text"])
    st.session_state[f"{key}_example"] = None


def _cut_paste(key: str) -> None:
    """A review longer than MAX_PASTE characters is cut in the session at once (nothing reads the rest);
    the page says so under the text box."""
    text = st.session_state.get(f"{key}_text")
    if isinstance(text, str) and len(text) > text_mod.MAX_PASTE:
        st.session_state[f"{key}_text"], st.session_state[f"{key}_cut"] = text_mod.cut_paste(text)


def _text_changed(key: str, picker_keys: Sequence[str]) -> None:
    _cut_paste(key)
    if st.session_state.get(f"{key}_follow", True):
        follow_language(picker_keys, st.session_state.get(f"{key}_text", ""))


def review_and_model(key: str):
    """The page header shared by Explore and Learn: review input on the left, model picker on the right.
    Returns (entry, review), or None when no model is usable or the picked one fails to load."""
    left, right = present.controls(key).columns([3, 2], gap="large")  # hidden in presenter mode
    with right:
        entry = model_picker(key, stacked=True)
    with left:
        review = review_input(key, picker_keys=[key], default_language=entry.language if entry else "en")
    present.review_banner(review)
    if entry is None or load(entry) is None:
        return None
    return entry, review


def review_input(key: str, picker_keys: Sequence[str], default_language: str = "en") -> str:
    """Text area, 'try an example', language detection and the follow-language switch; returns the text."""
    if f"{key}_text" not in st.session_state:
        first = examples(default_language)
        st.session_state[f"{key}_text"] = first[0]["text"] if first else ""
    options = [f"{lang}:{i}" for lang in spec.LANGUAGES for i in range(len(examples(lang)))]
    labels = {}
    for lang in spec.LANGUAGES:
        for i, ex in enumerate(examples(lang)):
            snippet = ex["text"][:48] + ("…" if len(ex["text"]) > 48 else "")
            labels[f"{lang}:{i}"] = f"{_lang_name(lang)} · {t('kind.' + ex.get('kind', 'mixed'))} · {snippet}"
    st.selectbox(t("example.label"), options, index=None, key=f"{key}_example", placeholder=t("example.placeholder"),
                 format_func=lambda o: labels.get(o, o), help=t("example.help"),
                 on_change=_use_example, args=(key, tuple(picker_keys)))
    _cut_paste(key)
    review = st.text_area(t("review.label"), key=f"{key}_text", height=150, help=t("review.help"),
                          max_chars=text_mod.MAX_PASTE,  # the browser itself cuts a longer paste
                          placeholder=t("review.placeholder"), on_change=_text_changed, args=(key, tuple(picker_keys)),
                          persist_state="session")
    cut = st.session_state.pop(f"{key}_cut", 0)
    if cut or len(review) >= text_mod.MAX_PASTE:  # cut here, or by the browser (the text box's max_chars)
        st.warning(t("review.cut", kept=text_mod.MAX_PASTE) + (" " + t("review.cut_more", cut=cut) if cut else ""),
                   icon=":material/content_cut:")
    c1, c2 = st.columns([3, 1])
    with c1:
        st.checkbox(t("review.follow"), value=True, key=f"{key}_follow", help=t("review.follow.help"), persist_state="session")
        language = text_mod.guess_language(review[: text_mod.MAX_CHARS])
        st.caption(t("review.detected", lang=_lang_name(language) if language != "unknown" else t("lang.unknown"), chars=len(review)))
    with c2:
        st.button(t("review.analyse"), type="primary", key=f"{key}_go", width="stretch")
    return review


# ---- traces and the prediction ------------------------------------------------------------------------


def trace_for(entry: catalog.ModelEntry, review: str, method: str | None = "occlusion", prefix: bool = True):
    """The probe's Trace of a review (cached per model, text and options); None after showing an error.

    ``method``: the attribution to compute ("occlusion", "integrated_gradients" or None); ``prefix``:
    whether to compute the prediction after each prefix. Without both, a trace is one pass of the
    model (fast): pages draw what needs only that first and ask for the rest where it is shown.
    """
    try:
        return _trace(entry.path, review, prefix, method == "occlusion", method == "integrated_gradients")
    except InputError as e:
        language = text_mod.guess_language(review[: text_mod.MAX_CHARS] if isinstance(review, str) else "")
        if language in spec.LANGUAGES and language != entry.language:  # e.g. Chinese through an English tokenizer
            st.error(t("review.other_language", lang=_lang_name(language), model=_lang_name(entry.language)),
                     icon=":material/translate:")
        else:
            error(e)
    except GateScopeError as e:
        error(e)
    except Exception as e:
        log.exception("tracing %r with %s", review[:80], entry.path)
        st.error(t("unexpected", err=f"{type(e).__name__}: {e}"), icon=":material/error:")
    return None


def confidence_words(entry: catalog.ModelEntry) -> tuple[str, str | None]:
    """What the shown probability is for this model (the metric's help): calibrated with its temperature
    and how far off it was on its test reviews, or not calibrated; and a short warning when that is more
    than sampling explains (None otherwise)."""
    if entry.temperature is None:
        return t("pred.refit.help" if isinstance(entry.card, dict) and entry.card.get("refit") else "pred.raw.help"), None
    record = entry.card.get("calibration") if isinstance(entry.card, dict) else None
    read = calibration.ece_on_test(record)
    n = record.get("test_size") if isinstance(record, dict) and isinstance(record.get("test_size"), int) else 0
    if read is None or not n:  # calibrated, but its card does not say how it did on test reviews
        return t("pred.calibrated.help", T=entry.temperature), None
    ece, over = read
    words = t("pred.calibrated.help", T=entry.temperature) + " " + t("pred.ece.help", n=f"{n:,}", pts=100 * ece)
    return words, (t("pred.rough", pts=100 * ece) if over else None)


def show_prediction(trace, entry: catalog.ModelEntry, compact: bool = False) -> None:
    """Label with its probability, the P(positive) bar, the card line and any note (as a warning).
    ``trace``: the probe's Trace, or a bag of words' WordReading (the same fields, no language)."""
    p_pos = float(trace.probs[1])
    p_label = float(trace.probs.max())
    label = t("label." + trace.label) if trace.label in spec.LABEL_NAMES else trace.label
    sure = t("pred.confidence", p=p_label)
    about, rough = confidence_words(entry)
    if compact:
        st.metric(t("pred.label"), label, sure, delta_color="off", delta_arrow="off", help=about)
        st.progress(min(1.0, max(0.0, p_pos)), text=t("pred.bar", p=p_pos))
    else:
        c1, c2 = st.columns([1, 3], vertical_alignment="center")
        c1.metric(t("pred.label"), label, sure, delta_color="off", delta_arrow="off", help=about)
        c2.progress(min(1.0, max(0.0, p_pos)), text=t("pred.bar", p=p_pos))
    unk = int(sum(bool(u) for u in trace.unk))
    st.caption(card_line(entry) + " · " + t("pred.tokens", n=len(trace.tokens), unk=unk)
               + (" · " + rough if rough else ""))
    show_imported_status(entry.card)
    if trace.note:
        st.warning(" ".join(t(n) for n in getattr(trace, "notes", ())) or trace.note, icon=":material/warning:")
    unread_note(trace)


def unread_words(trace) -> list[str]:
    """What of a mixed-language review the model did not read: Chinese an English model dropped, English
    words a Chinese model saw only as <unk>."""
    if trace.language == "en":
        return text_mod.unread_runs(trace.text, "en")
    latin = set(text_mod.unread_runs(trace.text, "zh"))
    return list(dict.fromkeys(tok for tok, u in zip(trace.tokens, trace.unk, strict=True) if u and tok in latin | {w.lower() for w in latin}))


def unread_note(trace) -> None:
    """A mixed review: say what the model did not read (never drop a script without a word)."""
    runs = unread_words(trace) if getattr(trace, "language", None) in spec.LANGUAGES else []
    if runs:
        shown = ", ".join(f"“{r}”" for r in runs[:12]) + (" …" if len(runs) > 12 else "")
        st.info(t(f"unread.{trace.language}", runs=md_escape(shown)), icon=":material/translate:")


def layer_options(trace) -> list[tuple[int, str]]:
    return [(lt.layer, lt.direction) for lt in trace.layers]


def layer_label(choice: tuple[int, str]) -> str:
    return t("gates.layer_option", layer=choice[0] + 1, direction=t(f"dir.{choice[1]}"))


PICK_SHOWN = "_gatescope_pick_shown"  # session: a pick's key -> (its value, that value's label) as last drawn


def _relabel(key: str, labels: dict) -> None:
    """The browser holds a choice widget's value as its label, and Streamlit sends a value only when it
    changes. ``_ensure`` reads the kept value before the widget, with the last run's labels, so after a
    change of language (or of what an option stands for: review 3 of another sample) the browser kept the
    old label: Chinese after a switch to English, an empty radio, another dataset's review. When the kept
    value's label changed since it was last drawn, the value is set again, which sends the new label."""
    value = st.session_state.get(key)
    shown = st.session_state.setdefault(PICK_SHOWN, {})
    before = shown.get(key)
    label = labels.get(value)
    if before is not None and before[0] == value and before[1] != label:
        st.session_state[key] = value
    shown[key] = (value, label)


def pick(label: str, options: Sequence, key: str, default=None, format_func: Callable = str, widget=None, **kw):
    """A selectbox (or another single-choice widget) whose kept value is sanitised against its options,
    and shown with its label of this run (``_relabel``)."""
    options = list(options)
    _ensure(key, options, default if default is not None else options[0])
    kw.setdefault("persist_state", "session")  # kept across page switches
    labels = {o: format_func(o) for o in options}  # now, in this run's language (not later, outside the run)
    _relabel(key, labels)
    return (widget or st.selectbox)(label, options, key=key, format_func=lambda o: labels.get(o, str(o)), **kw)


def top_k_slider(key: str, H: int, default: int) -> int:
    """How many units the heatmaps show (1 to H, kept for the session); 1 without a slider when H is 1."""
    if H <= 1:
        return 1
    st.session_state[key] = min(H, int(st.session_state.get(key, min(H, default))))
    return st.slider(t("gates.topk"), 1, H, key=key, persist_state="session")
