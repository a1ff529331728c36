"""Train: start a small training run in the background, watch it live, cancel it, open its model.

Runs live on disk (sentiment.runs), so every browser session sees the same runs, and a rerun or
a closed tab never touches a training process.
"""

from __future__ import annotations

import streamlit as st

from .. import figures, runs, uploads
from ..errors import GateScopeError
from . import common
from .i18n import register, t

register({
    "train.title": {"en": "Train a model", "zh": "训练模型"},
    "train.intro": {"en": "Start a small training run in the background (on the GPU when there is one, else the CPU). "
                          "Runs keep going when you close the tab; every browser sees the same runs.",
                    "zh": "在后台启动一次小规模训练（有 GPU 时用 GPU，否则用 CPU）。关闭页面不影响训练；所有浏览器看到相同的训练任务。"},
    "train.data": {"en": "Data", "zh": "数据"},
    "train.data.folder": {"en": "A dataset in the data folder", "zh": "数据文件夹中的数据集"},
    "train.data.upload": {"en": "Upload a CSV", "zh": "上传 CSV"},
    "train.data.none": {"en": "No dataset found in the data folder (GATESCOPE_DATA). Download IMDB or ChnSentiCorp "
                              "there (see the README), or upload a CSV.",
                        "zh": "数据文件夹（GATESCOPE_DATA）中没有数据集。请按 README 下载 IMDB 或 ChnSentiCorp，或上传 CSV。"},
    "train.dataset": {"en": "Dataset", "zh": "数据集"},
    "train.upload": {"en": "CSV or TSV with a label column (0/1, neg/pos) and a text column", "zh": "含标签列（0/1、neg/pos）和文本列的 CSV 或 TSV"},
    "train.label_col": {"en": "Label column", "zh": "标签列"},
    "train.text_col": {"en": "Text column", "zh": "文本列"},
    "train.upload.ok": {"en": "{n} reviews ({pos} positive) ready.", "zh": "已就绪：{n} 条评论（正面 {pos} 条）。"},
    "train.name": {"en": "Run name", "zh": "任务名称"},
    "train.cell": {"en": "Cell", "zh": "循环单元"},
    "train.pooling": {"en": "Pooling", "zh": "池化"},
    "train.hidden": {"en": "Hidden units", "zh": "隐藏单元数"},
    "train.epochs": {"en": "Epochs", "zh": "训练轮数"},
    "train.limit": {"en": "Training reviews", "zh": "训练评论数"},
    "train.maxlen": {"en": "Max tokens per review", "zh": "每条评论最多词元数"},
    "train.device": {"en": "Device", "zh": "设备"},
    "train.estimate": {"en": "Estimated time on this machine's CPU: about {s} s (much less on a GPU).",
                       "zh": "在本机 CPU 上预计约 {s} 秒（GPU 上快得多）。"},
    "train.launch": {"en": "Start training", "zh": "开始训练"},
    "train.launched": {"en": "Run {id} started.", "zh": "已启动任务 {id}。"},
    "train.runs": {"en": "Runs", "zh": "训练任务"},
    "train.runs.none": {"en": "No runs yet.", "zh": "还没有训练任务。"},
    "train.pick": {"en": "Run", "zh": "任务"},
    "train.cancel": {"en": "Cancel run", "zh": "取消任务"},
    "train.open": {"en": "Open in Explore", "zh": "在“探索”中打开"},
    "train.open.wait": {"en": "The model list is refreshing; try again in a few seconds.", "zh": "模型列表正在刷新，请几秒后再试。"},
    "train.opened": {"en": "Selected in Explore: open the Explore page.", "zh": "已在“探索”中选中：请打开“探索”页。"},
    "train.log": {"en": "Log", "zh": "日志"},
    "train.progress": {"en": "{state} · epoch {epoch}/{epochs} · {device}", "zh": "{state} · 第 {epoch}/{epochs} 轮 · {device}"},
    "train.result": {"en": "Test accuracy {acc:.2%}", "zh": "测试准确率 {acc:.2%}"},
    "train.reason": {"en": "Reason: {reason}", "zh": "原因：{reason}"},
    "state.queued": {"en": "queued", "zh": "排队中"}, "state.running": {"en": "running", "zh": "训练中"},
    "state.finished": {"en": "finished", "zh": "已完成"}, "state.failed": {"en": "failed", "zh": "失败"},
    "state.cancelled": {"en": "cancelled", "zh": "已取消"},
})

K = "tr"
CPU_REVIEWS_PER_SECOND = 300  # bench/train_throughput.py, small model, this 2-core CPU


def render() -> None:
    st.title(t("train.title"))
    st.caption(t("train.intro"))
    form, listing = st.columns([2, 3], gap="large")
    with form:
        launch_form()
    with listing:
        runs_view()


def _data_choice() -> dict | None:
    """The data part of a run's config ({"data": ..., "dataset": ...}), or None when none is usable."""
    source = st.radio(t("train.data"), ["folder", "upload"], key=f"{K}_source", horizontal=True,
                      format_func=lambda s: t(f"train.data.{s}"))
    if source == "folder":
        found = runs.available_datasets()
        if not found:
            st.info(t("train.data.none"), icon=":material/info:")
            return None
        by_name = {d["name"]: d for d in found}
        name = st.selectbox(t("train.dataset"), list(by_name), key=f"{K}_dataset")
        return {"data": name, "dataset": name}
    up = st.file_uploader(t("train.upload"), type=["csv", "tsv", "txt"], key=f"{K}_upload")
    if up is None:
        return None
    content = up.getvalue()
    try:
        preview = uploads.preview_upload(content, up.name)
        label_col = text_col = None
        if preview.columns and not preview.headerless:
            c1, c2 = st.columns(2)
            cols = list(preview.columns)
            label_col = c1.selectbox(t("train.label_col"), cols, key=f"{K}_label_col",
                                     index=cols.index(preview.label_guess) if preview.label_guess in cols else 0)
            text_col = c2.selectbox(t("train.text_col"), cols, key=f"{K}_text_col",
                                    index=cols.index(preview.text_guess) if preview.text_guess in cols else min(1, len(cols) - 1))
        summary = uploads.save_upload(content, up.name, label_col=label_col, text_col=text_col)
    except GateScopeError as e:
        st.error(str(e), icon=":material/error:")
        return None
    st.success(t("train.upload.ok", n=summary.reviews, pos=summary.positive), icon=":material/check:")
    return {"data": str(summary.path), "dataset": up.name}


def launch_form() -> None:
    chosen = _data_choice()
    name = st.text_input(t("train.name"), value="my-model", key=f"{K}_name", max_chars=60)
    cell = st.segmented_control(t("train.cell"), ["lstm", "gru", "rnn"], default="gru", key=f"{K}_cell",
                                format_func=str.upper, required=True)
    pooling = st.segmented_control(t("train.pooling"), ["last", "max", "mean", "attention"], default="max",
                                   key=f"{K}_pooling", required=True)
    c3, c4 = st.columns(2)
    hidden = c3.select_slider(t("train.hidden"), [16, 32, 64, 128], value=64, key=f"{K}_hidden")
    epochs = c4.slider(t("train.epochs"), 1, 10, 3, key=f"{K}_epochs")
    c5, c6 = st.columns(2)
    limit = c5.slider(t("train.limit"), 200, 5000, 2000, step=100, key=f"{K}_limit")
    max_len = c6.select_slider(t("train.maxlen"), [64, 128, 256, 400], value=256, key=f"{K}_maxlen")
    device = st.radio(t("train.device"), ["auto", "cpu", "cuda"], horizontal=True, key=f"{K}_device")
    seconds = int(limit * epochs * (max_len / 256) * (hidden / 64) ** 0.5 / CPU_REVIEWS_PER_SECOND) + 20
    if chosen and chosen.get("dataset") == "imdb":
        seconds += 60  # reading the archive and testing on all 25,000 test reviews
    st.caption(t("train.estimate", s=seconds))
    if st.button(t("train.launch"), type="primary", key=f"{K}_launch", disabled=chosen is None):
        config = dict(chosen, name=name, cell=cell, pooling=pooling, hidden=hidden, embed=64, epochs=epochs,
                      limit=limit, max_len=max_len, device=device, batch_size=32)
        try:
            limits = runs.RunLimits.browser()
            runs.check_config(config, limits)
            run = runs.launch(config, limits)
        except GateScopeError as e:
            st.error(str(e), icon=":material/error:")
            return
        st.session_state[f"{K}_selected"] = run.id
        st.success(t("train.launched", id=run.id), icon=":material/rocket_launch:")


def _state(run) -> str:
    return t(f"state.{run.state}") if run.state in ("queued", "running", "finished", "failed", "cancelled") else run.state


def runs_view() -> None:
    st.subheader(t("train.runs"))
    live_runs()


@st.fragment(run_every=2)
def live_runs() -> None:
    """The run list and the selected run, refreshed every 2 s without rerunning the page."""
    all_runs = list(reversed(runs.list_runs()))
    if not all_runs:
        st.caption(t("train.runs.none"))
        return
    st.dataframe([{"id": r.id, t("train.name"): r.name, "state": _state(r), t("train.device"): r.device or "",
                   "s": None if r.elapsed is None else round(r.elapsed)} for r in all_runs], hide_index=True, width="stretch")
    ids = [r.id for r in all_runs]
    if st.session_state.get(f"{K}_selected") not in ids:
        st.session_state[f"{K}_selected"] = ids[0]
    by_id = {r.id: r for r in all_runs}
    run_id = st.selectbox(t("train.pick"), ids, key=f"{K}_selected", format_func=lambda i: f"{by_id[i].name} · {i} · {_state(by_id[i])}")
    run = by_id[run_id]
    events = runs.metrics(run.id)
    prog = runs.progress(events)
    st.progress(float(prog["fraction"] or 0.0), text=t("train.progress", state=_state(run), epoch=prog["epoch"] or 0,
                                                          epochs=prog["epochs"] or run.config.get("epochs", "?"),
                                                          device=run.device or prog["device"] or "…"))
    if prog["test_accuracy"] is not None:
        st.success(t("train.result", acc=prog["test_accuracy"]), icon=":material/check:")
    if run.reason and run.state in ("failed", "cancelled"):
        st.warning(t("train.reason", reason=run.reason), icon=":material/warning:")
    if any(e.get("type") in ("step", "epoch") for e in events):
        common.chart(figures.run_curves(events), key=f"{K}_curves_{run.id}", filename=f"run-{run.id}")
    c1, c2 = st.columns(2)
    if run.active and c1.button(t("train.cancel"), key=f"{K}_cancel_{run.id}"):
        try:
            runs.cancel(run.id)
        except GateScopeError as e:
            st.error(str(e))
    if run.state == "finished" and run.model_dir and c2.button(t("train.open"), key=f"{K}_open_{run.id}"):
        open_in_explore(run)
    with st.expander(t("train.log")):
        st.code(runs.log_tail(run.id) or "", language=None)


def open_in_explore(run) -> None:
    """Select the run's model in the Explore page's picker."""
    entry = next((e for e in common.models() if e.path and run.model_dir and str(run.model_dir) in e.path), None)
    if entry is None:  # the model list is re-read every few seconds
        st.info(t("train.open.wait"), icon=":material/hourglass:")
        return
    st.session_state["ex_dataset"] = (entry.dataset, entry.language)
    st.session_state["ex_cell"] = entry.cell
    st.session_state["ex_pooling"] = entry.pooling
    st.session_state["ex_model"] = entry.key
    st.success(t("train.opened"), icon=":material/arrow_forward:")
