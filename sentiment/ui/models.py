"""Models: every model (shipped and trained), its card, confusion matrix, misclassified test reviews,
and the grid of test accuracies (cell x pooling) per dataset.

Numbers come from each model's card (written by training, on the model's own test split; the minimal
pairs and counterfactual reviews by ``python -m sentiment.training.pairs --write``, card["lesson"]); only
the misclassified reviews are computed here, by ``sentiment.training.evaluate`` on the first test reviews.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from sentiment import figures
from sentiment.data import readers
from sentiment.errors import GateScopeError
from sentiment.modeling import calibration
from sentiment.modeling.catalog import ModelEntry, format_bytes, format_count
from sentiment.training import evaluate
from sentiment.training.config import made_by
from sentiment.training.soup import made_by_soup, members_of

from . import common, openmodel, tables, waiting
from .i18n import lang, t

K = "mo"
SAMPLE = 300  # test reviews scanned for mistakes
SHOWN = 20  # mistakes listed


def _pct(v) -> float | None:
    return round(100 * float(v), 2) if isinstance(v, (int, float)) else None


@st.cache_data(show_spinner=False, max_entries=8)
def _test_reviews(path: str, limit: int) -> list:
    """The first ``limit`` reviews of a model's own test split (reading the dataset: the slow part; cached)."""
    return list(evaluate.split_for(common.load_model(path).card).test[:limit])


def _misclassified(path: str, limit: int) -> list[dict]:
    """The mistakes among a model's first ``limit`` test reviews (kept per model for the session), with a
    progress bar while the dataset is read and the model reads the reviews."""
    done = st.session_state.setdefault(f"{K}_wrong_done", {})
    if (path, limit) in done:
        return done[(path, limit)]
    bar = st.progress(0.0, text=t("models.wrong.reading"))
    examples = _test_reviews(path, limit)
    bar.progress(0.05, text=t("models.wrong.progress", done=0, n=len(examples)))
    wrong = evaluate.misclassified(common.load_model(path), examples, limit, progress=lambda d, n: bar.progress(
        0.05 + 0.95 * d / max(1, n), text=t("models.wrong.progress", done=d, n=n)))
    bar.empty()
    done[(path, limit)] = wrong
    return wrong


_searched: set[tuple[str, int]] = set()  # (model, limit) already searched in this process: no queue


def _misclassified_waiting(path: str, limit: int) -> list[dict]:
    """``_misclassified`` through the server's queue, its wait shown with elapsed and expected time."""
    if (path, limit) in _searched:
        return _misclassified(path, limit)
    wrong = waiting.run_heavy(lambda: _misclassified(path, limit), task="misclassified", units=limit,
                              label=t("models.wrong.wait", n=limit))
    _searched.add((path, limit))
    return wrong


def dataset_here(card: dict) -> bool:
    """Whether the model's dataset can be read on this machine (its recorded path, or the data folder)."""
    path = card.get("data_path")
    if path and Path(path).exists():
        return True
    return bool(card.get("dataset")) and readers.find_dataset(str(card["dataset"])) is not None


def render() -> None:
    st.title(t("models.title"))
    st.caption(t("models.intro"))
    openmodel.render()
    ok, bad = common.available_models()
    if not ok:
        st.warning(t("picker.none"), icon=":material/warning:")
        common._show_unavailable(bad)
        return
    grids(ok)
    if any(e.cell == "bow" for e in ok):
        st.caption(t("models.bow"))
    table(ok)
    openmodel.own_models(ok)
    common._show_unavailable(bad)
    entry = pick_model(ok)
    card_view(entry)
    calibration_view(entry)
    lengths_view(entry)
    lesson_view(entry)
    misclassified_view(entry)


def grids(ok: list[ModelEntry]) -> None:
    st.subheader(t("models.grid"), help=t("models.grid.help"))
    ok = [e for e in ok if e.source != "imported"]  # an imported model has no dataset or grid cell
    datasets = common.datasets_of(ok)
    per_row = 2
    for start in range(0, len(datasets), per_row):
        cols = st.columns(per_row)
        for col, (ds, language) in zip(cols, datasets[start:start + per_row], strict=False):
            rows = [dict(cell=e.cell, pooling=e.pooling, test_accuracy=e.test_accuracy) for e in ok
                    if (e.dataset, e.language) == (ds, language)]
            with col:
                common.chart(figures.accuracy_grid(rows, ds, lang=lang()), key=f"{K}_grid_{ds}_{language}",
                             filename=f"grid-{ds}")


ACCURACY_COLS = ("model", "dataset", "cell", "pooling", "acc", "bacc", "f1", "n")
MAKING_COLS = ("model", "source", "params", "size", "time", "device", "temperature", "ece_before", "ece_after")
LESSON_COLS = ("model", "dataset", "pairs", "pairs_both", "cad", "measured")  # card["lesson"]; "—" where absent


def table(ok: list[ModelEntry]) -> None:
    """Every model in two tables (its test scores; its size, training and calibration), each narrow enough
    to show every header and value whole beside the sidebar on a 1280 px screen, in either language:
    short headers ("col.s.*"), the full wording in each header's tooltip."""
    st.subheader(t("models.table"))
    rows = [_row(e) for e in ok]
    for part, cols in (("scores", ACCURACY_COLS), ("making", MAKING_COLS), ("lesson", LESSON_COLS)):
        st.caption(t(f"models.table.{part}"))
        tables.fit([{t(f"col.s.{c}"): r[c] for c in cols} for r in rows],
                   helps={t(f"col.s.{c}"): t(f"col.{c}") for c in cols})


def _row(e: ModelEntry) -> dict:
    cal = _cal(e.card)
    return {
        "model": e.name, "source": t(f"source.{e.source}"), "dataset": e.dataset,
        "cell": t(f"cell.{e.cell}") if e.cell in (*common.CELL_ORDER, common.BOW) else e.cell,
        "pooling": t(f"pool.{e.pooling}") if e.pooling in (*common.POOL_ORDER, "none", "last_step") else e.pooling,
        "acc": _pct(e.test_accuracy), "bacc": _pct(e.card.get("test_balanced_accuracy")),
        "f1": _pct(e.card.get("test_f1")), "n": e.test_size, "params": e.parameters,
        "size": format_bytes(e.size_bytes), "time": e.card.get("train_seconds"),
        "device": str(e.card.get("device", "")).split(" (")[0],  # "cuda"; the whole name is on the card
        "temperature": cal.get("temperature"),
        "ece_before": _pct(cal.get("test_ece_before")), "ece_after": _pct(cal.get("test_ece_after")),
        **_lesson_cells(e.card),
    }


def _lesson(card: dict) -> dict:
    """The card's "lesson" record (minimal pairs, counterfactual reviews), {} when it has none."""
    lesson = card.get("lesson") if isinstance(card, dict) else None
    return lesson if isinstance(lesson, dict) else {}


def _part(record: dict, *keys: str) -> dict:
    for k in keys:
        record = record.get(k) if isinstance(record, dict) else None
    return record if isinstance(record, dict) else {}


def _pct_text(v) -> str:
    """A share as a percentage with one decimal, "—" when not measured (every cell of the column a string)."""
    return f"{100 * float(v):.1f}" if isinstance(v, (int, float)) and not isinstance(v, bool) else "—"


def _lesson_cells(card: dict) -> dict:
    """The lesson table's cells: test minimal pairs (sentences right, pairs with both right), the
    counterfactual edited reviews' accuracy and the date measured; "—" where the card has none."""
    lesson = _lesson(card)
    test, cad = _part(lesson, "pairs", "test"), _part(lesson, "cad_edited")
    return {"pairs": _pct_text(test.get("accuracy")), "pairs_both": _pct_text(test.get("pair_accuracy")),
            "cad": _pct_text(cad.get("accuracy")), "measured": str(lesson.get("measured") or "—")[:10]}


def _cal(card: dict) -> dict:
    cal = card.get("calibration") if isinstance(card, dict) else None
    return cal if isinstance(cal, dict) else {}


def calibration_view(entry: ModelEntry) -> None:
    """ECE before and after, the temperature, and the reliability diagram from the card."""
    st.subheader(t("models.calibration"), help=t("models.calibration.help"))
    cal = _cal(entry.card)
    if "temperature" not in cal:
        st.info(t("models.calibration.none", path=entry.path), icon=":material/info:")
        return
    left, right = st.columns([1, 2])
    with left:
        st.metric(t("metric.temperature"), f"{cal['temperature']:.3f}",
                  help=t("metric.temperature.help", n=f"{cal.get('val_size', 0):,}"))
        noise = cal.get("test_ece_noise_p95")
        for key in ("ece_before", "ece_after"):
            v = cal.get(f"test_{key}")
            st.metric(t(f"metric.{key}"), f"{v:.2%}" if isinstance(v, (int, float)) else "—",
                      help=t("metric.ece_after.help", noise=noise, n=f"{cal.get('test_size', 0):,}")
                      if key == "ece_after" and isinstance(noise, (int, float)) else None)
        read = calibration.ece_on_test(cal)
        if read is not None and read[1]:  # more than sampling explains
            st.caption(t("models.ece_over", target=calibration.TARGET_ECE))
    with right:
        common.chart(figures.reliability_diagram(cal, lang=lang()), key=f"{K}_reliability",
                     filename=f"reliability-{entry.name}")


def lengths_view(entry: ModelEntry) -> None:
    """The test accuracy by review length, from card["by_length"] (what Explore's short-review note reads)."""
    st.subheader(t("models.lengths"), help=t("models.lengths.help"))
    by = entry.card.get("by_length") if isinstance(entry.card, dict) else None
    try:
        unit = t(f"domain.unit.{'characters' if by.get('unit') == 'characters' else 'words'}")
        rows = [{t("models.lengths.span", unit=unit): f"{r['lo']:,}–{r['hi']:,}" if r["hi"] is not None else f"{r['lo']:,}+",
                 t("models.lengths.n"): f"{r['n']:,}",
                 t("models.lengths.accuracy"): f"{r['right'] / r['n']:.1%}" if r["n"] else "—"} for r in by["buckets"]]
        line = t("models.lengths.caption", accuracy=float(by["accuracy"]), p10=float(by["p10"]), p50=float(by["p50"]), unit=unit)
    except (AttributeError, KeyError, TypeError, ValueError):
        st.info(t("models.lengths.none", command=f"python -m sentiment.calibrate --lengths-only --model {entry.path}"),
                icon=":material/info:")
        return
    tables.fit(rows, total=480)
    st.caption(line)


def lesson_view(entry: ModelEntry) -> None:
    """Negation and contrast: the picked model's minimal pairs (test split) by kind and its accuracy on
    the counterfactual edited reviews, from card["lesson"]; how to measure them where the card has none."""
    st.subheader(t("models.lesson"), help=t("models.lesson.help"))
    lesson = _lesson(entry.card)
    test = _part(lesson, "pairs", "test")
    if not test:
        st.info(t("models.lesson.none", command=f"python -m sentiment.training.pairs --model {entry.path} --write"),
                icon=":material/info:")
        return
    cad = _part(lesson, "cad_edited")
    left, right = st.columns([1, 2])
    with left:
        st.metric(t("metric.pairs"), _pct_text(test.get("accuracy")) + " %" if test.get("accuracy") is not None else "—",
                  help=t("metric.pairs.help", n=test.get("n", 0), sentences=test.get("sentences", 0)))
        st.metric(t("metric.pairs_both"), _pct_text(test.get("pair_accuracy")) + " %" if test.get("pair_accuracy") is not None else "—",
                  help=t("metric.pairs_both.help"))
        if cad or lesson.get("cad_missing"):  # English IMDB models only
            st.metric(t("metric.cad"), _pct_text(cad.get("accuracy")) + " %" if cad.get("accuracy") is not None else "—",
                      help=t("metric.cad.help", n=cad.get("n", 0)))
        st.caption(t("models.lesson.measured", date=str(lesson.get("measured") or "—")[:10]))
    with right:
        common.chart(figures.pairs_by_kind(lesson, "test", lang=lang()), key=f"{K}_pairs", filename=f"pairs-{entry.name}")


def pick_model(ok: list[ModelEntry]) -> ModelEntry:
    by_key = {e.key: e for e in ok}
    labels = {k: f"{e.name} ({t('source.' + e.source)})" for k, e in by_key.items()}
    key = common.pick(t("models.pick"), list(by_key), f"{K}_pick", format_func=lambda k: labels.get(k, k),
                      help=t("models.pick.help"))
    return by_key[key]


def card_view(entry: ModelEntry) -> None:
    card = entry.card
    st.caption(common.card_line(entry))
    common.show_imported_status(card)
    m = st.columns(4)
    m[0].metric(t("metric.acc"), f"{entry.test_accuracy:.2%}" if entry.test_accuracy is not None else "—",
                help=t("metric.acc.help"))
    bacc, f1 = card.get("test_balanced_accuracy"), card.get("test_f1")
    m[1].metric(t("metric.bacc"), f"{bacc:.2%}" if isinstance(bacc, (int, float)) else "—", help=t("metric.bacc.help"))
    m[2].metric(t("metric.f1"), f"{f1:.2%}" if isinstance(f1, (int, float)) else "—", help=t("metric.f1.help"))
    m[3].metric(t("metric.n"), f"{entry.test_size:,}" if entry.test_size else "—")
    m = st.columns(4)
    m[0].metric(t("metric.params"), format_count(entry.parameters) if entry.parameters else "—")
    m[1].metric(t("metric.size"), format_bytes(entry.size_bytes) if entry.size_bytes else "—")
    secs = card.get("train_seconds")
    m[2].metric(t("metric.time"), t("metric.seconds", s=secs) if isinstance(secs, (int, float)) else "—")
    m[3].metric(t("metric.device"), _short_device(card.get("device")))
    sizes = card.get("sizes") if isinstance(card.get("sizes"), dict) else {}
    if sizes:
        st.caption(t("models.split", scheme=t(how[0], **how[1]) if (how := readers.split_words(card)) else card.get("split_scheme", "—"), train=f"{sizes.get('train', 0):,}",
                     val=f"{sizes.get('val', 0):,}", test=f"{sizes.get('test', 0):,}"))
    members = members_of(card)
    if members:
        st.caption(t("models.soup", n=len(members), members=", ".join(m["model"] for m in members),
                     date=str(card.get("date", "—"))[:16].replace("T", " ")))
    else:
        st.caption(t("models.trained", device=card.get("device", "—"), date=str(card.get("date", "—"))[:16].replace("T", " "),
                     torch=card.get("torch", "—"), best=card.get("best_epoch", "—"), epochs=card.get("epochs", "—")))
    if card.get("refit"):
        st.caption(t("models.refit", epochs=card.get("epochs", "—")))
    if sizes.get("stop"):
        st.caption(t("models.stop", stop=f"{sizes['stop']:,}", val=f"{sizes.get('val', 0):,}"))
    left, right = st.columns([2, 3])
    with left:
        conf = card.get("test_confusion")
        if _is_2x2(conf):
            common.chart(figures.confusion_heatmap(conf, t("models.confusion"), lang=lang()),
                         key=f"{K}_confusion", filename=f"confusion-{entry.name}")
        else:
            st.info(t("models.confusion.none"), icon=":material/info:")
    with right:
        st.markdown(f"**{t('models.command')}**")
        command = made_by(str(card.get("command") or ""), out=entry.name if entry.source == "shipped" else None)
        if members:  # each run's own command, then the averaging
            command = "\n".join(f"# {name or t('models.soup.mean')}\n{line}"
                                 for name, line in made_by_soup(card, out=entry.name if entry.source == "shipped" else None))
        st.code(command or "—", language="bash", wrap_lines=True)
        with st.expander(t("models.card"), icon=":material/description:"):
            st.json({k: v for k, v in card.items() if k != "history"}, expanded=False)


def _short_device(device) -> str:
    """'cuda (NVIDIA H100 80GB HBM3)' -> 'cuda'; the full name is in the caption below."""
    return str(device).split(" (")[0] if device else "—"


def _is_2x2(conf) -> bool:
    return (isinstance(conf, list) and len(conf) == 2
            and all(isinstance(r, list) and len(r) == 2 and all(isinstance(v, (int, float)) for v in r) for r in conf))


def misclassified_view(entry: ModelEntry) -> None:
    st.subheader(t("models.wrong", n=SAMPLE), help=t("models.wrong.help", n=SAMPLE))
    if not dataset_here(entry.card):
        st.info(t("models.wrong.nodata", dataset=entry.dataset or "?"), icon=":material/folder_off:")
        return
    shown_key = f"{K}_wrong_for"
    if st.button(t("models.wrong.button"), key=f"{K}_wrong"):
        st.session_state[shown_key] = entry.key
    if st.session_state.get(shown_key) != entry.key:
        return
    if common.load(entry) is None:
        return
    try:
        wrong = _misclassified_waiting(entry.path, SAMPLE)
    except GateScopeError as e:
        st.warning(t("models.wrong.failed", err=t(e)), icon=":material/warning:")
        return
    if not wrong:
        st.success(t("models.wrong.none", n=SAMPLE), icon=":material/check:")
        return
    st.caption(t("models.wrong.count", k=len(wrong), n=SAMPLE, shown=min(SHOWN, len(wrong))))
    for w in wrong[:SHOWN]:
        label = t("label." + w["label"]) if w["label"] in ("positive", "negative") else w["label"]
        text = w["text"] if len(w["text"]) <= 400 else w["text"][:400] + "…"
        st.markdown(f"- *{t('models.wrong.row', label=label, p=w['p_positive'])}* — {_escape(text)}")


def _escape(s: str) -> str:
    """Review text shown as plain text inside markdown (IMDB reviews hold <br /> tags, asterisks...)."""
    return figures.md_escape(s.replace("<br />", " ").replace("<br/>", " "))
