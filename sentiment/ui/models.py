"""Models: every model (shipped and trained), its card, confusion matrix, misclassified test reviews,
and the grid of test accuracies (cell x pooling) per dataset.

Numbers come from each model's card (written by training, on the model's own test split); only the
misclassified reviews are computed here, by ``sentiment.training.evaluate`` on the first test reviews.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from sentiment.data import readers
from sentiment.training import evaluate
from sentiment import figures
from sentiment.modeling.catalog import ModelEntry, format_bytes, format_count
from sentiment.errors import GateScopeError
from . import common, tables
from .i18n import core_message, lang, register, t

register({
    "models.title": {"en": "Models", "zh": "模型"},
    "models.intro": {"en": "Every model GateScope can use: the shipped grid and the models your training runs made. "
                           "Accuracies are on each model's own test split, which it never saw in training.",
                     "zh": "GateScope 可用的全部模型：随附的模型网格，以及你的训练任务产生的模型。准确率都在各自从未见过的测试集上测得。"},
    "models.grid": {"en": "Test accuracy by cell and pooling", "zh": "按循环单元和池化方式的测试准确率"},
    "models.grid.help": {"en": "One grid per dataset: rows are the recurrent cells, columns the poolings; each cell of the "
                               "grid is the test accuracy from the model's card (the best one where several models match).",
                         "zh": "每个数据集一张网格：行是循环单元，列是池化方式；每格是模型卡中的测试准确率（多个模型相同时取最高者）。"},
    "models.table": {"en": "All models", "zh": "全部模型"},
    "models.pick": {"en": "Model to inspect", "zh": "要查看的模型"},
    "models.pick.help": {"en": "Its card, its confusion matrix and the test reviews it gets wrong.",
                         "zh": "查看它的模型卡、混淆矩阵和判错的测试评论。"},
    "models.card": {"en": "Full card (JSON)", "zh": "完整模型卡（JSON）"},
    "models.confusion": {"en": "Confusion matrix on the test split", "zh": "测试集上的混淆矩阵"},
    "models.confusion.none": {"en": "This model's card has no confusion matrix.", "zh": "该模型卡中没有混淆矩阵。"},
    "models.command": {"en": "Made by", "zh": "生成命令"},
    "models.split": {"en": "Split: {scheme} · train {train} · validation {val} · test {test} reviews",
                     "zh": "数据划分：{scheme} · 训练 {train} · 验证 {val} · 测试 {test} 条评论"},
    "models.trained": {"en": "Trained on {device} · {date} · torch {torch} · best epoch {best} of {epochs}",
                       "zh": "训练设备 {device} · {date} · torch {torch} · 最佳轮次 {best}/{epochs}"},
    "models.refit": {"en": "Refit: trained on the training and validation reviews together for {epochs} epochs, "
                            "so it has no held-out validation accuracy (the test reviews stay unseen).",
                     "zh": "重新拟合：训练集与验证集一起训练 {epochs} 轮，因此没有独立的验证准确率（测试评论仍未参与训练）。"},
    "metric.acc": {"en": "Test accuracy", "zh": "测试准确率"},
    "metric.acc.help": {"en": "Share of the test reviews classified correctly.", "zh": "测试评论中分类正确的比例。"},
    "metric.bacc": {"en": "Balanced accuracy", "zh": "平衡准确率"},
    "metric.bacc.help": {"en": "The mean of the recall on positive and on negative reviews: not fooled by an unbalanced test set.",
                         "zh": "正面与负面评论召回率的平均值：不受测试集类别不均衡的影响。"},
    "metric.f1": {"en": "F1 (positive)", "zh": "F1（正面）"},
    "metric.f1.help": {"en": "Harmonic mean of precision and recall for the positive class.",
                       "zh": "正面类别的精确率与召回率的调和平均。"},
    "metric.n": {"en": "Test reviews", "zh": "测试评论数"},
    "metric.params": {"en": "Parameters", "zh": "参数量"},
    "metric.size": {"en": "Weights on disk", "zh": "权重文件大小"},
    "metric.time": {"en": "Training time", "zh": "训练用时"},
    "metric.device": {"en": "Device", "zh": "设备"},
    "metric.seconds": {"en": "{s:,.0f} s", "zh": "{s:,.0f} 秒"},
    "models.wrong": {"en": "Misclassified test reviews (among the first {n})", "zh": "被判错的测试评论（前 {n} 条中）"},
    "models.wrong.help": {"en": "The model reads the first {n} reviews of its own test split; the ones it gets wrong are "
                                "listed, most confident mistakes first.",
                          "zh": "模型读取其测试集的前 {n} 条评论；列出判错的评论，最自信的错误排在前面。"},
    "models.wrong.button": {"en": "Find misclassified test reviews", "zh": "查找被判错的测试评论"},
    "models.wrong.none": {"en": "None of the first {n} test reviews is misclassified.", "zh": "前 {n} 条测试评论全部判对。"},
    "models.wrong.count": {"en": "{k} of the first {n} test reviews are misclassified; the {shown} most confident mistakes:",
                           "zh": "前 {n} 条测试评论中有 {k} 条判错；下面是最自信的 {shown} 条错误："},
    "models.wrong.nodata": {"en": "The dataset “{dataset}” is not on this machine, so its test reviews cannot be shown. "
                                  "Put it in the data folder (GATESCOPE_DATA, or ../shared/data; see the README).",
                            "zh": "本机上没有数据集“{dataset}”，无法显示它的测试评论。请把它放到数据文件夹中（GATESCOPE_DATA 或 ../shared/data，见 README）。"},
    "models.wrong.failed": {"en": "The test reviews could not be read: {err}", "zh": "无法读取测试评论：{err}"},
    "models.wrong.reading": {"en": "Reading the test split…", "zh": "正在读取测试集…"},
    "models.wrong.progress": {"en": "The model is reading the test reviews: {done} of {n}",
                              "zh": "模型正在阅读测试评论：{done} / {n}"},
    "models.wrong.row": {"en": "true {label} · P(positive) = {p:.3f}", "zh": "真实标签 {label} · P(正面) = {p:.3f}"},
    "col.model": {"en": "model", "zh": "模型"}, "col.source": {"en": "source", "zh": "来源"},
    "col.dataset": {"en": "dataset", "zh": "数据集"}, "col.cell": {"en": "cell", "zh": "单元"},
    "col.pooling": {"en": "pooling", "zh": "池化"}, "col.acc": {"en": "test accuracy (%)", "zh": "测试准确率（%）"},
    "col.bacc": {"en": "balanced accuracy (%)", "zh": "平衡准确率（%）"}, "col.f1": {"en": "F1 (%)", "zh": "F1（%）"},
    "col.n": {"en": "test reviews", "zh": "测试评论数"},
    "col.params": {"en": "parameters", "zh": "参数"}, "col.size": {"en": "size", "zh": "大小"},
    "col.time": {"en": "training (s)", "zh": "训练用时（秒）"}, "col.device": {"en": "device", "zh": "设备"},
})

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


def dataset_here(card: dict) -> bool:
    """Whether the model's dataset can be read on this machine (its recorded path, or the data folder)."""
    path = card.get("data_path")
    if path and Path(path).exists():
        return True
    return bool(card.get("dataset")) and readers.find_dataset(str(card["dataset"])) is not None


def render() -> None:
    st.title(t("models.title"))
    st.caption(t("models.intro"))
    ok, bad = common.available_models()
    if not ok:
        st.warning(t("picker.none"), icon=":material/warning:")
        common._show_unavailable(bad)
        return
    grids(ok)
    table(ok)
    common._show_unavailable(bad)
    entry = pick_model(ok)
    card_view(entry)
    misclassified_view(entry)


def grids(ok: list[ModelEntry]) -> None:
    st.subheader(t("models.grid"), help=t("models.grid.help"))
    datasets = common.datasets_of(ok)
    per_row = 2
    for start in range(0, len(datasets), per_row):
        cols = st.columns(per_row)
        for col, (ds, language) in zip(cols, datasets[start:start + per_row]):
            rows = [dict(cell=e.cell, pooling=e.pooling, test_accuracy=e.test_accuracy) for e in ok
                    if (e.dataset, e.language) == (ds, language)]
            with col:
                common.chart(figures.accuracy_grid(rows, ds, lang=lang()), key=f"{K}_grid_{ds}_{language}",
                             filename=f"grid-{ds}")


def table(ok: list[ModelEntry]) -> None:
    st.subheader(t("models.table"))
    tables.fit([{
        t("col.model"): e.name, t("col.source"): t(f"source.{e.source}"), t("col.dataset"): e.dataset,
        t("col.cell"): t(f"cell.{e.cell}") if e.cell in common.CELL_ORDER else e.cell,
        t("col.pooling"): t(f"pool.{e.pooling}") if e.pooling in common.POOL_ORDER else e.pooling,
        t("col.acc"): _pct(e.test_accuracy), t("col.bacc"): _pct(e.card.get("test_balanced_accuracy")),
        t("col.f1"): _pct(e.card.get("test_f1")), t("col.n"): e.test_size, t("col.params"): e.parameters,
        t("col.size"): format_bytes(e.size_bytes), t("col.time"): e.card.get("train_seconds"),
        t("col.device"): str(e.card.get("device", "")).split(" (")[0],  # "cuda"; the whole name is on the card
    } for e in ok])


def pick_model(ok: list[ModelEntry]) -> ModelEntry:
    by_key = {e.key: e for e in ok}
    labels = {k: f"{e.name} ({t('source.' + e.source)})" for k, e in by_key.items()}
    key = common.pick(t("models.pick"), list(by_key), f"{K}_pick", format_func=lambda k: labels.get(k, k),
                      help=t("models.pick.help"))
    return by_key[key]


def card_view(entry: ModelEntry) -> None:
    card = entry.card
    st.caption(common.card_line(entry))
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
        st.caption(t("models.split", scheme=card.get("split_scheme", "—"), train=f"{sizes.get('train', 0):,}",
                     val=f"{sizes.get('val', 0):,}", test=f"{sizes.get('test', 0):,}"))
    st.caption(t("models.trained", device=card.get("device", "—"), date=str(card.get("date", "—"))[:16].replace("T", " "),
                 torch=card.get("torch", "—"), best=card.get("best_epoch", "—"), epochs=card.get("epochs", "—")))
    if card.get("refit"):
        st.caption(t("models.refit", epochs=card.get("epochs", "—")))
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
        st.code(card.get("command", "") or "—", language="bash", wrap_lines=True)
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
        wrong = _misclassified(entry.path, SAMPLE)
    except GateScopeError as e:
        st.warning(t("models.wrong.failed", err=core_message(str(e))), icon=":material/warning:")
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
