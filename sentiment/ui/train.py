"""Train: start a small training run in the background, watch it live, cancel it, open its model.

Runs live on disk (``sentiment.training.runs``), so every browser session sees the same runs, and a rerun or
a closed tab never touches a training process. The run list and the selected run are a fragment
refreshed every 2 s (``st.fragment(run_every=2)``): the form above it is not rerun meanwhile.
An uploaded CSV is checked (``sentiment.data.uploads``) on every change, and stored only when a run starts.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import streamlit as st

from sentiment import figures
from sentiment.data import download, readers, uploads
from sentiment.data import text as text_mod
from sentiment.errors import GateScopeError
from sentiment.jsonio import read_json
from sentiment.modeling import catalog
from sentiment.spec import CELLS, LABEL_NAMES, LANGUAGES, POOLINGS
from sentiment.training import estimate, ray_jobs, runs

from . import common, tables
from .i18n import lang, t

K = "tr"
DEVICES = ("auto", "cpu", "cuda")
HIDDEN = (16, 32, 64, 128)
# The page's defaults: the quick run a teacher starts in class. Measured on hotel with --threads 1 (the app's
# policy on 2 cores): 25.5 s of CPU for the whole process (start-up included), test accuracy 85.7%,
# balanced accuracy 82.3% (always saying "positive" scores 67.5%). Batches of 128 at lr 0.01: a small
# GRU learns as much per review as with batches of 32, at a third of the CPU time.
QUICK = dict(cell="gru", pooling="max", hidden=32, epochs=4, limit=5000, max_len=128, batch_size=128, lr=1e-2)
MAX_LENS = (64, 128, 256, 400)
GOTO_KEY = f"{K}_goto_explore"
LISTING_PX = tables.FIT_PX * 3 // 5 - 24  # the runs list's column: 3/5 of the page, less the gap
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def render() -> None:
    goto = st.session_state.pop(GOTO_KEY, None)
    if goto:  # "Use this model" was clicked in the runs fragment: Explore, its link naming the model
        st.switch_page(_explore_page(), query_params=goto)
    st.title(t("train.title"))
    st.caption(t("train.intro"))
    form, listing = st.columns([2, 3], gap="large")
    with form:
        st.subheader(t("train.new"))
        launch_form()
    with listing:
        st.subheader(t("train.runs"))
        live_runs()


# ---- the form ------------------------------------------------------------------------------------


def _limits() -> runs.RunLimits:
    try:
        return runs.RunLimits.browser()
    except GateScopeError as e:  # a bad GATESCOPE_MAX_RUNS / GATESCOPE_RUN_SECONDS: say so, use the defaults
        common.error(e)
        return runs.RunLimits(max_epochs=10, max_limit=5000, allow_any_path=False, max_queued=runs.MAX_QUEUED)


@st.cache_data(show_spinner=False, max_entries=32)
def _language_of(path: str) -> str:
    """A data folder dataset's language ('en', 'zh' or 'unknown'), from its first lines."""
    try:
        return readers.guess_dataset_language(path)
    except GateScopeError:
        return "unknown"


@st.cache_data(show_spinner=False, max_entries=8)
def _preview(content: bytes, filename: str) -> uploads.UploadPreview:
    return uploads.preview_upload(content, filename)


@st.cache_data(show_spinner=False, max_entries=8)
def _validate(content: bytes, filename: str, label_col: str | None, text_col: str | None) -> uploads.UploadSummary:
    return uploads.validate_upload(content, filename, label_col=label_col, text_col=text_col)


def _data_choice() -> dict | None:
    """What the run will train on: {"data": name} for a dataset of the data folder, {"upload": (content,
    filename, label_col, text_col)} for a checked upload; None (with a message) when nothing usable is chosen."""
    source = common.pick(t("train.data"), ["folder", "upload"], f"{K}_source", widget=st.radio, horizontal=True,
                         format_func=lambda s: t(f"train.data.{s}"), help=t("train.data.help"))
    if source == "folder":
        try:
            found = runs.available_datasets()
        except (GateScopeError, OSError) as e:
            common.error(e)
            return None
        if download_panel(found):  # a dataset just arrived: list it
            found = runs.available_datasets()
        if not found:
            st.info(t("train.data.none"), icon=":material/info:")
            return None
        paths = {d["name"]: d["path"] for d in found}
        name = common.pick(t("train.dataset"), list(paths), f"{K}_dataset", help=t("train.dataset.help"))
        return {"data": name, "language": _language_of(paths[name])}
    up = st.file_uploader(t("train.upload"), type=["csv", "tsv", "txt"], key=f"{K}_upload", help=t("train.upload.help"),
                          max_upload_size=10)  # MB: data.uploads.MAX_UPLOAD_BYTES
    if up is None:
        st.caption(t("train.upload.wait"))
        return None
    content, filename = up.getvalue(), up.name
    try:
        preview = _preview(content, filename)
        label_col = text_col = None
        if preview.columns and not preview.headerless:
            cols = list(preview.columns)
            c1, c2 = st.columns(2)
            with c1:
                label_col = common.pick(t("train.label_col"), cols, f"{K}_label_col", default=preview.label_guess,
                                        help=t("train.label_col.help"))
            with c2:
                text_default = preview.text_guess if preview.text_guess in cols else cols[min(1, len(cols) - 1)]
                text_col = common.pick(t("train.text_col"), cols, f"{K}_text_col", default=text_default,
                                       help=t("train.text_col.help"))
        summary = _validate(content, filename, label_col, text_col)
    except GateScopeError as e:
        st.error(t("train.upload.bad", err=t(e)), icon=":material/error:")
        return None
    except Exception as e:  # an upload must never show a traceback
        st.error(t("train.upload.bad", err=f"{type(e).__name__}: {e}"), icon=":material/error:")
        return None
    lang_name = t(f"lang.{summary.language}") if summary.language in LANGUAGES else summary.language
    st.success(t("train.upload.ok", n=summary.reviews, pos=summary.positive, neg=summary.negative, lang=lang_name),
               icon=":material/check:")
    if summary.examples:
        st.dataframe([{t("train.label_col"): y, t("train.text_col"): x[:200]} for x, y in summary.examples[:5]],
                     hide_index=True, width="stretch")
    return {"upload": (content, filename, label_col, text_col), "language": summary.language}


def download_panel(found: list[dict]) -> bool:
    """The official datasets: where each was found, or a button that fetches it (progress, checksum).
    True when one was downloaded now."""
    known = {d["name"]: d["path"] for d in found}
    missing = [s for s in download.SOURCES.values() if s.name not in known]
    fetched = False
    with st.expander(t("dl.title"), expanded=bool(missing), icon=":material/download:"):
        for src in download.SOURCES.values():
            if src.name in known:
                st.caption(t("dl.found", title=t(f"dl.source.{src.name}"), path=known[src.name]))
                continue
            folder = download.target_dir().resolve()
            if st.button(t("dl.button", name=src.name, mb=src.size / 1e6, folder=folder), key=f"{K}_dl_{src.name}",
                         help=t("dl.help", url=src.url), icon=":material/download:"):
                bar = st.progress(0.0, text=t("dl.progress", name=src.name, done=0.0, total=src.size / 1e6))

                def show(done: int, total: int, bar=bar, name=src.name) -> None:
                    bar.progress(min(1.0, done / max(total, 1)), text=t("dl.progress", name=name, done=done / 1e6,
                                                                       total=total / 1e6))

                try:
                    path = download.download(src.name, progress=show)
                except download.DownloadError as e:
                    bar.empty()
                    st.error(t("dl.failed", err=t(e)), icon=":material/cloud_off:")
                else:
                    st.success(t("dl.ok", name=src.name, path=path), icon=":material/check:")
                    st.session_state[f"{K}_dataset"] = src.name
                    fetched = True
    return fetched


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(round(seconds))
    if s < 120:
        return t("dur.s", s=s)
    return t("dur.m", m=s // 60, s=s % 60) if s % 60 else t("dur.m0", m=s // 60)


def measured_speed() -> estimate.Speed:
    """How fast the last finished run (trained from scratch) went on this server; else the reference CPU's."""
    try:
        for r in reversed(runs.list_runs()):
            if r.state == "finished" and not r.config.get("init"):
                speed = estimate.measured_speed(r.id, r.config, r.status, runs.metrics(r.id))
                if speed is not None:
                    return speed
    except (GateScopeError, OSError):
        pass
    return estimate.REFERENCE


def estimate_caption(limit: int, epochs: int, max_len: int, hidden: int, dataset: str | None, cap: float,
                     probe: dict | None = None, limits: runs.RunLimits | None = None) -> None:
    """The estimated run time, and how it was computed (sentiment.training.estimate). ``probe``: the run's
    config, timed on this server (a few real batches, once per config) when no run has finished here."""
    speed = measured_speed()
    if speed.source is None and probe is not None and limits is not None and estimate.probing():
        with st.spinner(t("train.estimate.probing")):
            timed = estimate.probe(probe, threads=limits.threads(), nice=limits.nice)
        if timed is not None:
            st.caption(t("train.estimate", s=duration(timed.seconds(limit, epochs)), cap=duration(cap)) + " " + t(
                "train.estimate.probe", batches=estimate.PROBE_BATCHES, threads=timed.threads,
                startup=duration(timed.startup(limit)), epoch=duration(timed.epoch(limit)),
                test=duration(timed.test())))
            return
    seconds = estimate.estimate_seconds(limit, epochs, max_len, hidden, dataset, speed)
    source = t("train.estimate.run", run=speed.source) if speed.source else t("train.estimate.ref")
    st.caption(t("train.estimate", s=duration(seconds), cap=duration(cap)) + " " + t(
        "train.estimate.how", epochs=epochs, reviews=limit, tokens=estimate.review_tokens(dataset, max_len),
        speed=speed.token_steps_per_second, startup=duration(speed.startup_seconds), source=source))


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def cluster() -> dict | None:
    """With $GATESCOPE_RAY_ADDRESS, the Ray cluster runs train on, checked (it answers, its nodes see the runs
    folder) and said: {"address", "gpus", "ok"}; the reason shown when it cannot take runs. None: runs train here."""
    addr = ray_jobs.address()
    if addr is None:
        return None
    try:
        with st.spinner(t("train.ray.checking", ray="Ray")):
            ray_jobs.check_ready(runs.runs_root(), addr)
        total = ray_jobs.cluster_resources(addr)
    except (GateScopeError, OSError) as e:
        st.error(t("train.ray.refused", err=t(e) if isinstance(e, GateScopeError) else f"{type(e).__name__}: {e}"),
                 icon=":material/cloud_off:")
        return {"address": addr, "gpus": 0, "ok": False}
    gpus = int(total.get(ray_jobs.gpu_resource(), 0))
    st.caption(t("train.ray.where", ray="Ray", address=addr, gpus=gpus, cpus=int(total.get("CPU", 0))))
    return {"address": addr, "gpus": gpus, "ok": True}


def where(run) -> str:
    """Where a run trains: its device, and the cluster node for a run on Ray."""
    device = run.device or "—"
    return f"{device} · {run.node}" if run.node else device


def init_choice(language: str | None) -> catalog.ModelEntry | None:
    """"Start from": scratch (None) or a usable model of the catalog that reads ``language``."""
    try:  # read afresh (milliseconds): a run that finished a moment ago is offered at once
        entries = catalog.list_models()
    except OSError as e:
        common.error(e)
        entries = []
    by_key = {e.key: e for e in entries if e.available and language in LANGUAGES and e.language == language
              and e.cell != common.BOW}  # a bag of words has no gated architecture to retrain

    def label(k: str) -> str:
        if k == "scratch":
            return t("train.init.scratch")
        e = by_key[k]
        acc = "—" if e.test_accuracy is None else f"{e.test_accuracy:.1%}"
        return t("train.init.option", name=e.name, source=t(f"source.{e.source}"), acc=acc)

    choice = common.pick(t("train.init"), ["scratch", *by_key], f"{K}_init", default="scratch", format_func=label,
                         help=t("train.init.help"))
    if not by_key:
        st.caption(t("train.init.none"))
    entry = by_key.get(choice)
    if entry is not None:
        st.info(t("train.init.arch", name=entry.name, cell=t(f"cell.{entry.cell}"), pooling=t(f"pool.{entry.pooling}"),
                  layers=entry.num_layers, hidden=entry.hidden_size, max_len=entry.max_len,
                  dirs=t("train.init.bi") if entry.bidirectional else t("train.init.uni")), icon=":material/history:")
    return entry


def _fix(key: str, options: tuple, default, fixed) -> list:
    """A widget's options and session value: the model's value when one is fixed (added to the options
    if need be), else the kept value when it is still an option, else the default."""
    if fixed is not None:
        st.session_state[key] = fixed
        return sorted(set(options) | {fixed}) if isinstance(fixed, int) else list(options)
    if st.session_state.get(key) not in options:
        st.session_state[key] = default
    return list(options)


def launch_form() -> None:
    limits = _limits()
    on_cluster = cluster()
    chosen = _data_choice()
    init = init_choice((chosen or {}).get("language"))
    name = st.text_input(t("train.name"), value="my-model", key=f"{K}_name", max_chars=40, help=t("train.name.help"),
                         persist_state="session").strip()
    name_ok = bool(NAME_RE.match(name))
    if not name_ok:
        st.error(t("train.name.bad"), icon=":material/error:")
    fixed = init is not None  # retraining: the architecture is the model's, shown but not editable
    _fix(f"{K}_cell", CELLS, QUICK["cell"], init.cell if fixed else None)
    _fix(f"{K}_pooling", POOLINGS, QUICK["pooling"], init.pooling if fixed else None)
    cell = common.pick(t("train.cell"), CELLS, f"{K}_cell", default=QUICK["cell"], widget=st.segmented_control, required=True,
                       format_func=lambda c: t(f"cell.{c}"), help=t("picker.cell.help"), disabled=fixed)
    pooling = common.pick(t("train.pooling"), POOLINGS, f"{K}_pooling", default=QUICK["pooling"], widget=st.segmented_control,
                          required=True, format_func=lambda p: t(f"pool.{p}"), help=t("picker.pooling.help"),
                          disabled=fixed)
    max_epochs = int(limits.max_epochs or 10)
    max_limit = int(limits.max_limit or 5000)
    c3, c4 = st.columns(2)
    hidden_opts = _fix(f"{K}_hidden", HIDDEN, QUICK["hidden"], init.hidden_size if fixed else None)
    hidden = c3.select_slider(t("train.hidden"), hidden_opts, key=f"{K}_hidden", help=t("train.hidden.help"),
                              disabled=fixed, persist_state="session")
    epochs = c4.slider(t("train.epochs"), 1, max_epochs, min(QUICK["epochs"], max_epochs), key=f"{K}_epochs", help=t("train.epochs.help"),
                       persist_state="session")
    c5, c6 = st.columns(2)
    limit = c5.slider(t("train.limit"), 100, max_limit, min(QUICK["limit"], max_limit), step=100, key=f"{K}_limit",
                      help=t("train.limit.help"), persist_state="session")
    maxlen_opts = _fix(f"{K}_maxlen", MAX_LENS, QUICK["max_len"], init.max_len if fixed else None)
    max_len = c6.select_slider(t("train.maxlen"), maxlen_opts, key=f"{K}_maxlen", help=t("train.maxlen.help"),
                               disabled=fixed, persist_state="session")
    device = common.pick(t("train.device"), DEVICES, f"{K}_device", widget=st.radio, horizontal=True,
                         help=t("train.device.help"), format_func=lambda d: t(f"device.{d}"))
    device_ok = device != "cuda" or (on_cluster["gpus"] > 0 if on_cluster else _cuda_available())
    if not device_ok:
        st.warning(t("train.device.nocuda"), icon=":material/warning:")
    probe = None
    if chosen and chosen.get("data") and init is None and not on_cluster:  # from scratch, on this server
        probe = dict(data=chosen["data"], cell=cell, pooling=pooling, hidden=hidden, embed=64, layers=1, limit=limit,
                     max_len=max_len, batch_size=QUICK["batch_size"], lr=QUICK["lr"],
                     device="cpu" if device == "cuda" and not device_ok else device)
    estimate_caption(limit, epochs, max_len, hidden, (chosen or {}).get("data"), limits.max_seconds, probe, limits)
    ready = chosen is not None and name_ok and device_ok and (on_cluster is None or on_cluster["ok"])
    if st.button(t("train.launch"), type="primary", key=f"{K}_launch", disabled=not ready, icon=":material/rocket_launch:"):
        if init is not None:  # the architecture, vocabulary and tokenizer come from the model
            config = dict(name=name, init=init.key, epochs=epochs, limit=limit, device=device, batch_size=32)
        else:
            config = dict(name=name, cell=cell, pooling=pooling, hidden=hidden, embed=64, layers=1, epochs=epochs,
                          limit=limit, max_len=max_len, device=device, batch_size=QUICK["batch_size"], lr=QUICK["lr"])
        try:
            run = launch_run(config, chosen, limits)
        except GateScopeError as e:
            st.error(t("train.refused", err=t(e)), icon=":material/error:")
            return
        except OSError as e:
            st.error(t("train.refused", err=f"{type(e).__name__}: {e}"), icon=":material/error:")
            return
        st.session_state[f"{K}_selected"] = run.id
        st.success(t("train.launched", id=run.id), icon=":material/rocket_launch:")


def launch_run(config: dict, chosen: dict, limits: runs.RunLimits) -> runs.Run:
    """Launch the form's run on a dataset of the data folder (chosen["data"]) or an upload
    (chosen["upload"] = (content, filename, label column, text column), stored under the runs root
    first). A refused run changes nothing: an upload stored by this call is removed again."""
    saved = None
    try:
        if "upload" in chosen:
            content, filename, label_col, text_col = chosen["upload"]
            saved = uploads.save_upload(content, filename, label_col=label_col, text_col=text_col)
            config = dict(config, data=str(saved.path), dataset=Path(filename).stem[:40] or "upload")
        else:
            config = dict(config, data=chosen["data"])
        runs.check_config(config, limits)
        return runs.launch(config, limits)
    except (GateScopeError, OSError):
        if saved is not None and saved.created and not any(
                r.config.get("data") == str(saved.path) for r in runs.list_runs()):  # another session's run may use it
            saved.path.unlink(missing_ok=True)
        raise


# ---- the runs (live) -----------------------------------------------------------------------------


def _state(run) -> str:
    return t(f"state.{run.state}") if run.state in runs.STATES else str(run.state)


def _when(ts: float | None) -> str:
    return datetime.datetime.fromtimestamp(ts).strftime("%m-%d %H:%M:%S") if ts else "—"


@st.fragment(run_every=2)
def live_runs() -> None:
    """The run list and the selected run, re-read from disk every 2 s without rerunning the page."""
    try:
        all_runs = list(reversed(runs.list_runs()))  # newest first
    except (GateScopeError, OSError) as e:
        st.warning(t("train.runs.unreadable", err=t(e)), icon=":material/warning:")
        return
    if not all_runs:
        st.caption(t("train.runs.none"))
        return
    rows = []  # every cell a string: no Python "None" while a run trains (no accuracy yet: a dash)
    for r in all_runs:
        acc = None
        if r.state == "finished":
            acc = next((e.get("test_accuracy") for e in reversed(runs.metrics(r.id)) if e.get("type") == "done"), None)
        rows.append({t("col.name"): r.name, t("col.state"): _state(r), t("col.device"): where(r),
                     t("col.elapsed"): duration(r.elapsed), t("col.test_acc"): "—" if acc is None else f"{100 * acc:.2f}",
                     t("col.data"): r.config.get("dataset", ""), t("col.started"): _when(r.created), t("col.run"): r.id})
    tables.fit(rows, total=LISTING_PX)  # every column in view, none cut off on the right
    by_id = {r.id: r for r in all_runs}
    # no state in the label: a browser keeps showing the label the picker first had (the state is in the table)
    labels = {i: f"{r.name} · {i}" for i, r in by_id.items()}
    run_id = common.pick(t("train.pick"), list(by_id), f"{K}_selected", format_func=lambda i: labels.get(i, i))
    run_view(by_id[run_id])


def run_view(run) -> None:
    """The selected run: progress, result or reason, curves, cancel / open in Explore, log tail."""
    try:
        events = runs.metrics(run.id)
    except GateScopeError as e:
        common.error(e)
        return
    notice = st.session_state.pop(f"{K}_notice", None)
    if notice:
        (st.warning if notice[0] == "warning" else st.info)(notice[1], icon=":material/info:")
    if run.config.get("init"):
        init = Path(run.config["init"])
        st.caption(t("train.run.init", model=init.parent.name if init.name == "model" else init.name))
    prog = runs.progress(events)
    if run.node:
        device = run.device or prog["device"] or ""
        st.caption(t("train.run.where", node=run.node, device="GPU" if device.startswith("cuda") else "CPU" if device else "…"))
    if prog["epoch"]:
        text = t("train.progress", state=_state(run), epoch=prog["epoch"], epochs=prog["epochs"] or run.config.get("epochs", "?"),
                 device=run.device or prog["device"] or "…")
    else:
        text = t("train.waiting", state=_state(run))
    fraction = 1.0 if run.state == "finished" else float(prog["fraction"] or 0.0)
    st.progress(min(1.0, max(0.0, fraction)), text=text)
    if run.active and prog["batch"] and prog["loss"] is not None and prog["acc"] is not None:
        st.caption(t("train.step", batch=prog["batch"], batches=prog["batches"] or "?", loss=prog["loss"], acc=prog["acc"]))
    if prog["test_accuracy"] is not None:
        result_badge(run, prog["test_accuracy"], next((e.get("test_size") for e in events if e.get("type") == "done"), 0))
    if run.reason and run.state in ("failed", "cancelled"):
        (st.error if run.state == "failed" else st.warning)(t("train.reason", reason=run.reason), icon=":material/warning:")
    if any(e.get("type") == "step" for e in events):
        common.chart(figures.run_curves(events, lang=lang()), key=f"{K}_curves", filename=f"run-{run.id}")
    elif run.active:
        st.caption(t("train.curves.wait"))
    c1, c2 = st.columns(2)
    if run.active:
        c1.button(t("train.cancel"), key=f"{K}_cancel", icon=":material/stop_circle:", on_click=_cancel, args=(run.id,))
    if run.state == "finished" and run.model_dir is not None and c2.button(
            t("train.open"), key=f"{K}_open", type="primary", icon=":material/biotech:", help=t("train.open.help")):
        open_in_explore(run)
    with st.expander(t("train.log"), icon=":material/terminal:"):
        try:
            st.code(runs.log_tail(run.id) or "—", language=None)
        except GateScopeError as e:
            common.error(e)


def majority(confusion) -> tuple[float, int] | None:
    """(share, label) of the test split's more common label, from a card's confusion [true][predicted]."""
    try:
        per_label = [sum(int(v) for v in row) for row in confusion]
    except (TypeError, ValueError):
        return None
    if len(per_label) != 2 or sum(per_label) == 0:
        return None
    label = int(per_label[1] >= per_label[0])
    return per_label[label] / sum(per_label), label


def result_badge(run, acc: float, n: int) -> None:
    """The test accuracy, held against always saying the majority label: a model that is not clearly
    better than that (by 2 points, and balanced accuracy at least 60%) is told so plainly."""
    card = read_json(run.model_dir / "card.json") if run.model_dir is not None else None
    base = majority((card or {}).get("test_confusion"))
    bal = (card or {}).get("test_balanced_accuracy")
    if base is None or not isinstance(bal, (int, float)):
        st.success(t("train.result", acc=acc, n=n or 0), icon=":material/check:")
        return
    words = dict(acc=acc, n=n or 0, base=base[0], bal=bal, label=t(f"label.{LABEL_NAMES[base[1]]}").lower())
    if acc >= base[0] + 0.02 and bal >= 0.6:
        st.success(t("train.result.good", **words), icon=":material/check:")
    else:
        st.warning(t("train.result.poor", **words), icon=":material/warning:")


def _cancel(run_id: str) -> None:
    """The cancel button's callback (before the fragment reruns, so the list shows the new state)."""
    try:
        runs.cancel(run_id)
    except GateScopeError as e:  # it ended meanwhile
        st.session_state[f"{K}_notice"] = ("warning", t(e))
    else:
        st.session_state[f"{K}_notice"] = ("info", t("train.cancelled", id=run_id))


def select_in_explore(entry: catalog.ModelEntry, prefix: str = "ex") -> None:
    """Set the Explore page's model picker (its session keys) to ``entry``; a review there in another
    language than the model's becomes the first example of the model's language."""
    st.session_state[f"{prefix}_dataset"] = (entry.dataset, entry.language)
    st.session_state[f"{prefix}_cell"] = entry.cell
    st.session_state[f"{prefix}_pooling"] = entry.pooling
    st.session_state[f"{prefix}_model"] = entry.key
    review = st.session_state.get(f"{prefix}_text")
    if isinstance(review, str) and text_mod.guess_language(review) not in ("unknown", entry.language):
        # a review left there in another language: the model the person asked for reads an example of its own
        first = common.examples(entry.language)
        if first:
            st.session_state[f"{prefix}_text"] = first[0]["text"]


def open_in_explore(run) -> None:
    """Select the run's model in the Explore page's picker and go there."""
    entry = catalog.describe(run.model_dir, "run", key=f"run:{run.id}")
    if not entry.available:
        st.info(t("train.open.wait"), icon=":material/hourglass:")
        return
    common.refresh_models()  # the pickers must list the new model now
    select_in_explore(entry)
    # this runs inside the fragment: switch pages from a full run of the page (see render)
    st.session_state[GOTO_KEY] = {"model": entry.key, "pooling": entry.pooling}
    st.rerun(scope="app")


def _explore_page():
    """The Explore page as st.navigation registers it (a page is found by its URL path; see ``st_pages``)."""
    from . import PAGES, st_pages

    return st_pages(next(p for p in PAGES if p.url_path == "explore"))[0]
