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

from sentiment.modeling import catalog
from sentiment.data import readers
from sentiment.data import download
from sentiment import figures
from sentiment.training import runs
from sentiment.data import uploads
from sentiment.data import text as text_mod
from sentiment.errors import GateScopeError
from . import common, tables
from .i18n import core_message, register, t

register({
    "train.title": {"en": "Train a model", "zh": "训练模型"},
    "train.intro": {"en": "Start a small training run in the background (on the GPU when there is one, else the CPU). "
                          "Runs keep going when you close the tab; every browser sees the same runs.",
                    "zh": "在后台启动一次小规模训练（有 GPU 时用 GPU，否则用 CPU）。关闭页面不影响训练；所有浏览器看到相同的训练任务。"},
    "train.new": {"en": "New run", "zh": "新建训练"},
    "train.data": {"en": "Data", "zh": "数据"},
    "train.data.help": {"en": "A dataset found in the data folder (GATESCOPE_DATA or ../shared/data), or a CSV of your own.",
                        "zh": "数据文件夹（GATESCOPE_DATA 或 ../shared/data）中的数据集，或你自己的 CSV。"},
    "train.data.folder": {"en": "A dataset in the data folder", "zh": "数据文件夹中的数据集"},
    "train.data.upload": {"en": "Upload a CSV", "zh": "上传 CSV"},
    "train.data.none": {"en": "No dataset found in the data folder (GATESCOPE_DATA). Download IMDB or ChnSentiCorp "
                              "with the buttons above, or upload a CSV.",
                        "zh": "数据文件夹（GATESCOPE_DATA）中没有数据集。请用上面的按钮下载 IMDB 或 ChnSentiCorp，或上传 CSV。"},
    "train.dataset": {"en": "Dataset", "zh": "数据集"},
    "dl.title": {"en": "Get the datasets", "zh": "获取数据集"},
    "dl.found": {"en": "{title}: found at `{path}`", "zh": "{title}：已在 `{path}`"},
    "dl.button": {"en": "Download {name} ({mb:.0f} MB) into {folder}", "zh": "下载 {name}（{mb:.0f} MB）到 {folder}"},
    "dl.help": {"en": "From the official source ({url}); checked against its published sha256 before it is kept.",
                "zh": "来自官方来源（{url}）；保存前按公布的 sha256 校验。"},
    "dl.progress": {"en": "{name}: {done:.1f} of {total:.1f} MB", "zh": "{name}：{done:.1f} / {total:.1f} MB"},
    "dl.ok": {"en": "{name} downloaded and checked: {path}", "zh": "{name} 已下载并校验：{path}"},
    "dl.failed": {"en": "Download failed. {err}", "zh": "下载失败。{err}"},
    "train.dataset.help": {"en": "imdb: English movie reviews (50,000). hotel: Chinese hotel reviews (ChnSentiCorp, 7,766). "
                                 "Other CSV files of the data folder are listed by name.",
                           "zh": "imdb：英文影评（50,000 条）。hotel：中文酒店评论（ChnSentiCorp，7,766 条）。数据文件夹中的其他 CSV 按文件名列出。"},
    "train.upload": {"en": "CSV or TSV with a label column (0/1, neg/pos) and a text column",
                     "zh": "含标签列（0/1、neg/pos）和文本列的 CSV 或 TSV"},
    "train.upload.help": {"en": "UTF-8 or GBK, at most 10 MB, at least 20 reviews of both labels. A header row names the "
                                "columns; without one, each line is label,text.",
                          "zh": "UTF-8 或 GBK 编码，最大 10 MB，至少 20 条评论且两种标签都有。首行为列名；没有列名时每行为“标签,文本”。"},
    "train.upload.wait": {"en": "Upload a file to train on it.", "zh": "请上传一个文件用于训练。"},
    "train.upload.bad": {"en": "This file cannot be used: {err}", "zh": "无法使用该文件：{err}"},
    "train.label_col": {"en": "Label column", "zh": "标签列"},
    "train.label_col.help": {"en": "The column holding 0/1 or neg/pos.", "zh": "包含 0/1 或 neg/pos 的列。"},
    "train.text_col": {"en": "Text column", "zh": "文本列"},
    "train.text_col.help": {"en": "The column holding the review text.", "zh": "包含评论文本的列。"},
    "train.upload.ok": {"en": "{n:,} reviews ({pos:,} positive, {neg:,} negative, language: {lang}) ready.",
                        "zh": "已就绪：{n:,} 条评论（正面 {pos:,}，负面 {neg:,}，语言：{lang}）。"},
    "train.name": {"en": "Run name", "zh": "任务名称"},
    "train.name.help": {"en": "A label for the run and its model: letters, digits, - and _ (at most 40).",
                        "zh": "任务及其模型的名称：字母、数字、- 和 _（最多 40 个字符）。"},
    "train.name.bad": {"en": "The run name may hold only letters, digits, “-” and “_”, 1 to 40 of them.",
                       "zh": "任务名称只能包含字母、数字、“-”和“_”，长度 1 到 40。"},
    "train.init": {"en": "Start from", "zh": "起点"},
    "train.init.help": {"en": "Scratch: new random weights. A model: retrain it on this data, starting from its weights, "
                              "vocabulary and architecture (shipped models and finished runs of the data's language). "
                              "Its units stay its units, so Compare can show what retraining changed.",
                        "zh": "从零开始：新的随机权重。选择一个模型：在这份数据上重新训练它，从它的权重、词表和结构开始（与数据语言相同的随附模型和"
                              "已完成的训练任务）。它的单元仍是原来的单元，因此“对比”页可以显示重新训练改变了什么。"},
    "train.init.scratch": {"en": "scratch (new random weights)", "zh": "从零开始（新的随机权重）"},
    "train.init.option": {"en": "{name} ({source}, test accuracy {acc})", "zh": "{name}（{source}，测试准确率 {acc}）"},
    "train.init.arch": {"en": "Retraining {name}: {cell}, {pooling} pooling, {layers} layer(s) of {hidden} units, {dirs}, "
                              "at most {max_len} tokens, its vocabulary. These are the model's and cannot be changed here.",
                        "zh": "重新训练 {name}：{cell}，{pooling}池化，{layers} 层、每层 {hidden} 个单元，{dirs}，最多 {max_len} 个词元，"
                              "沿用它的词表。这些都是该模型的设置，此处不能更改。"},
    "train.init.bi": {"en": "bidirectional", "zh": "双向"},
    "train.init.uni": {"en": "one direction", "zh": "单向"},
    "train.init.none": {"en": "No model of this data's language to start from: training starts from scratch.",
                        "zh": "没有与这份数据语言相同的模型可作起点：将从零开始训练。"},
    "train.run.init": {"en": "Retraining {model} (started from its weights).", "zh": "重新训练 {model}（从它的权重开始）。"},
    "train.cell": {"en": "Cell", "zh": "循环单元"},
    "train.pooling": {"en": "Pooling", "zh": "池化"},
    "train.hidden": {"en": "Hidden units", "zh": "隐藏单元数"},
    "train.hidden.help": {"en": "Units per direction of the (bidirectional, one-layer) recurrent layer.",
                          "zh": "（双向、单层）循环层每个方向的单元数。"},
    "train.epochs": {"en": "Epochs", "zh": "训练轮数"},
    "train.epochs.help": {"en": "Passes over the training reviews; training stops early when validation accuracy stalls.",
                          "zh": "遍历训练评论的次数；验证准确率不再提高时会提前停止。"},
    "train.limit": {"en": "Training reviews", "zh": "训练评论数"},
    "train.limit.help": {"en": "Train on at most this many reviews (a random sample), so a run takes minutes, not hours.",
                         "zh": "最多用这么多条评论训练（随机抽样），让一次训练只需几分钟而不是几小时。"},
    "train.maxlen": {"en": "Max tokens per review", "zh": "每条评论最多词元数"},
    "train.maxlen.help": {"en": "Longer reviews are cut to this many tokens.", "zh": "更长的评论会被截断到这么多词元。"},
    "train.device": {"en": "Device", "zh": "设备"},
    "train.device.help": {"en": "auto: the GPU when there is one, else the CPU.", "zh": "auto：有 GPU 时用 GPU，否则用 CPU。"},
    "train.device.nocuda": {"en": "There is no GPU on this machine: a run on cuda would fail. Pick auto or cpu.",
                            "zh": "本机没有 GPU：在 cuda 上训练会失败。请选择 auto 或 cpu。"},
    "train.estimate": {"en": "Estimated time on this machine's CPU: about {s} (much less on a GPU). Runs stop after {cap} at most.",
                       "zh": "在本机 CPU 上预计约 {s}（GPU 上快得多）。每次训练最长 {cap}。"},
    "train.launch": {"en": "Start training", "zh": "开始训练"},
    "train.launched": {"en": "Run {id} started.", "zh": "已启动任务 {id}。"},
    "train.refused": {"en": "The run was not started: {err}", "zh": "任务未启动：{err}"},
    "train.runs": {"en": "Runs", "zh": "训练任务"},
    "train.runs.none": {"en": "No runs yet.", "zh": "还没有训练任务。"},
    "train.runs.unreadable": {"en": "The runs folder cannot be read: {err}", "zh": "无法读取训练任务文件夹：{err}"},
    "train.pick": {"en": "Run", "zh": "任务"},
    "train.cancel": {"en": "Cancel run", "zh": "取消任务"},
    "train.cancelled": {"en": "Run {id} cancelled.", "zh": "任务 {id} 已取消。"},
    "train.open": {"en": "Open in Explore", "zh": "在“探索”中打开"},
    "train.open.wait": {"en": "The model is not readable yet; try again in a few seconds.", "zh": "模型还不可读，请几秒后再试。"},
    "train.log": {"en": "Log (last lines)", "zh": "日志（最后几行）"},
    "train.progress": {"en": "{state} · epoch {epoch}/{epochs} · {device}", "zh": "{state} · 第 {epoch}/{epochs} 轮 · {device}"},
    "train.waiting": {"en": "{state} · waiting to start", "zh": "{state} · 等待开始"},
    "train.step": {"en": "Step {batch}/{batches} · loss {loss:.3f} · accuracy {acc:.1%}",
                   "zh": "第 {batch}/{batches} 步 · 损失 {loss:.3f} · 准确率 {acc:.1%}"},
    "train.result": {"en": "Test accuracy {acc:.2%} on {n:,} reviews.", "zh": "测试准确率 {acc:.2%}（{n:,} 条评论）。"},
    "train.reason": {"en": "Reason: {reason}", "zh": "原因：{reason}"},
    "train.curves.wait": {"en": "The curves appear after the first logged training steps.", "zh": "记录到最初几步训练后会显示曲线。"},
    "col.device": {"en": "device", "zh": "设备"},
    "col.run": {"en": "run", "zh": "任务"}, "col.name": {"en": "name", "zh": "名称"},
    "col.state": {"en": "state", "zh": "状态"}, "col.elapsed": {"en": "elapsed", "zh": "已用时间"},
    "col.started": {"en": "created", "zh": "创建时间"}, "col.data": {"en": "data", "zh": "数据"},
    "col.test_acc": {"en": "test accuracy (%)", "zh": "测试准确率（%）"},
    "state.queued": {"en": "queued", "zh": "排队中"}, "state.running": {"en": "running", "zh": "训练中"},
    "state.finished": {"en": "finished", "zh": "已完成"}, "state.failed": {"en": "failed", "zh": "失败"},
    "state.cancelled": {"en": "cancelled", "zh": "已取消"},
    "dur.s": {"en": "{s} s", "zh": "{s} 秒"}, "dur.m": {"en": "{m} min {s} s", "zh": "{m} 分 {s} 秒"},
    "dur.m0": {"en": "{m} min", "zh": "{m} 分钟"},
})

K = "tr"
CELLS = ("lstm", "gru", "rnn")
POOLINGS = ("last", "max", "mean", "attention")
DEVICES = ("auto", "cpu", "cuda")
HIDDEN = (16, 32, 64, 128)
MAX_LENS = (64, 128, 256, 400)
CPU_REVIEWS_PER_SECOND = 300  # bench/train_throughput.py: small model (hidden 64, 256 tokens), this 2-core CPU
GOTO_KEY = f"{K}_goto_explore"
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def render() -> None:
    if st.session_state.pop(GOTO_KEY, False):  # "Open in Explore" was clicked in the runs fragment
        st.switch_page(_explore_page())
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
        return runs.RunLimits(max_epochs=10, max_limit=5000, allow_any_path=False)


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
    up = st.file_uploader(t("train.upload"), type=["csv", "tsv", "txt"], key=f"{K}_upload", help=t("train.upload.help"))
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
        st.error(t("train.upload.bad", err=core_message(str(e))), icon=":material/error:")
        return None
    except Exception as e:  # an upload must never show a traceback
        st.error(t("train.upload.bad", err=f"{type(e).__name__}: {e}"), icon=":material/error:")
        return None
    lang_name = t(f"lang.{summary.language}") if summary.language in ("en", "zh") else summary.language
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
                st.caption(t("dl.found", title=src.title, path=known[src.name]))
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
                    st.error(t("dl.failed", err=core_message(str(e))), icon=":material/cloud_off:")
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


def estimate_seconds(limit: int, epochs: int, max_len: int, hidden: int, dataset: str | None) -> int:
    """A rough CPU estimate: reviews seen, scaled by length and width, plus start-up and testing."""
    seconds = int(limit * epochs * (max_len / 256) * (hidden / 64) ** 0.5 / CPU_REVIEWS_PER_SECOND) + 20
    if dataset == "imdb":
        seconds += 60  # reading the archive and testing on all 25,000 test reviews
    return seconds


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def init_choice(language: str | None) -> catalog.ModelEntry | None:
    """"Start from": scratch (None) or a usable model of the catalog that reads ``language``."""
    try:  # read afresh (milliseconds): a run that finished a moment ago is offered at once
        entries = catalog.list_models()
    except OSError as e:
        common.error(e)
        entries = []
    by_key = {e.key: e for e in entries if e.available and language in ("en", "zh") and e.language == language}

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
    chosen = _data_choice()
    init = init_choice((chosen or {}).get("language"))
    name = st.text_input(t("train.name"), value="my-model", key=f"{K}_name", max_chars=40, help=t("train.name.help"),
                         persist_state="session").strip()
    name_ok = bool(NAME_RE.match(name))
    if not name_ok:
        st.error(t("train.name.bad"), icon=":material/error:")
    fixed = init is not None  # retraining: the architecture is the model's, shown but not editable
    _fix(f"{K}_cell", CELLS, "gru", init.cell if fixed else None)
    _fix(f"{K}_pooling", POOLINGS, "max", init.pooling if fixed else None)
    cell = common.pick(t("train.cell"), CELLS, f"{K}_cell", default="gru", widget=st.segmented_control, required=True,
                       format_func=lambda c: t(f"cell.{c}"), help=t("picker.cell.help"), disabled=fixed)
    pooling = common.pick(t("train.pooling"), POOLINGS, f"{K}_pooling", default="max", widget=st.segmented_control,
                          required=True, format_func=lambda p: t(f"pool.{p}"), help=t("picker.pooling.help"),
                          disabled=fixed)
    max_epochs = int(limits.max_epochs or 10)
    max_limit = int(limits.max_limit or 5000)
    c3, c4 = st.columns(2)
    hidden_opts = _fix(f"{K}_hidden", HIDDEN, 64, init.hidden_size if fixed else None)
    hidden = c3.select_slider(t("train.hidden"), hidden_opts, key=f"{K}_hidden", help=t("train.hidden.help"),
                              disabled=fixed, persist_state="session")
    epochs = c4.slider(t("train.epochs"), 1, max_epochs, min(3, max_epochs), key=f"{K}_epochs", help=t("train.epochs.help"),
                       persist_state="session")
    c5, c6 = st.columns(2)
    limit = c5.slider(t("train.limit"), 100, max_limit, min(2000, max_limit), step=100, key=f"{K}_limit",
                      help=t("train.limit.help"), persist_state="session")
    maxlen_opts = _fix(f"{K}_maxlen", MAX_LENS, 256, init.max_len if fixed else None)
    max_len = c6.select_slider(t("train.maxlen"), maxlen_opts, key=f"{K}_maxlen", help=t("train.maxlen.help"),
                               disabled=fixed, persist_state="session")
    device = common.pick(t("train.device"), DEVICES, f"{K}_device", widget=st.radio, horizontal=True,
                         help=t("train.device.help"))
    device_ok = device != "cuda" or _cuda_available()
    if not device_ok:
        st.warning(t("train.device.nocuda"), icon=":material/warning:")
    seconds = estimate_seconds(limit, epochs, max_len, hidden, (chosen or {}).get("data"))
    st.caption(t("train.estimate", s=duration(seconds), cap=duration(limits.max_seconds)))
    ready = chosen is not None and name_ok and device_ok
    if st.button(t("train.launch"), type="primary", key=f"{K}_launch", disabled=not ready, icon=":material/rocket_launch:"):
        if init is not None:  # the architecture, vocabulary and tokenizer come from the model
            config = dict(name=name, init=init.key, epochs=epochs, limit=limit, device=device, batch_size=32)
        else:
            config = dict(name=name, cell=cell, pooling=pooling, hidden=hidden, embed=64, layers=1, epochs=epochs,
                          limit=limit, max_len=max_len, device=device, batch_size=32)
        try:
            run = launch_run(config, chosen, limits)
        except GateScopeError as e:
            st.error(t("train.refused", err=core_message(str(e))), icon=":material/error:")
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
        st.warning(t("train.runs.unreadable", err=e), icon=":material/warning:")
        return
    if not all_runs:
        st.caption(t("train.runs.none"))
        return
    rows = []
    for r in all_runs:
        acc = None
        if r.state == "finished":
            acc = next((e.get("test_accuracy") for e in reversed(runs.metrics(r.id)) if e.get("type") == "done"), None)
        rows.append({t("col.name"): r.name, t("col.state"): _state(r), t("col.device"): r.device or "—",
                     t("col.elapsed"): duration(r.elapsed), t("col.test_acc"): None if acc is None else round(100 * acc, 2),
                     t("col.data"): r.config.get("dataset", ""), t("col.started"): _when(r.created), t("col.run"): r.id})
    tables.fit(rows)  # every column in view, none cut off on the right
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
        n = next((e.get("test_size") for e in events if e.get("type") == "done"), None) or 0
        st.success(t("train.result", acc=prog["test_accuracy"], n=n), icon=":material/check:")
    if run.reason and run.state in ("failed", "cancelled"):
        (st.error if run.state == "failed" else st.warning)(t("train.reason", reason=run.reason), icon=":material/warning:")
    if any(e.get("type") == "step" for e in events):
        common.chart(figures.run_curves(events), key=f"{K}_curves", filename=f"run-{run.id}")
    elif run.active:
        st.caption(t("train.curves.wait"))
    c1, c2 = st.columns(2)
    if run.active:
        c1.button(t("train.cancel"), key=f"{K}_cancel", icon=":material/stop_circle:", on_click=_cancel, args=(run.id,))
    if run.state == "finished" and run.model_dir is not None and c2.button(
            t("train.open"), key=f"{K}_open", type="primary", icon=":material/biotech:"):
        open_in_explore(run)
    with st.expander(t("train.log"), icon=":material/terminal:"):
        try:
            st.code(runs.log_tail(run.id) or "—", language=None)
        except GateScopeError as e:
            common.error(e)


def _cancel(run_id: str) -> None:
    """The cancel button's callback (before the fragment reruns, so the list shows the new state)."""
    try:
        runs.cancel(run_id)
    except GateScopeError as e:  # it ended meanwhile
        st.session_state[f"{K}_notice"] = ("warning", core_message(str(e)))
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
    st.session_state[GOTO_KEY] = True
    st.rerun(scope="app")


def _explore_page():
    """The Explore page as st.navigation registers it (a page is found by its URL path)."""
    from . import PAGES, _runner

    spec = next(p for p in PAGES if p.url_path == "explore")
    return st.Page(_runner(spec), title=t(spec.title_key), icon=spec.icon, url_path=spec.url_path, default=spec.default)
