"""Models: every model (shipped and trained), its card, confusion matrix, misclassified test reviews,
and the grid of test accuracies (cell x pooling) per dataset."""

from __future__ import annotations

import streamlit as st

from .. import evaluate, figures
from ..catalog import format_bytes
from ..errors import GateScopeError
from . import common
from .i18n import lang, register, t

register({
    "models.title": {"en": "Models", "zh": "模型"},
    "models.intro": {"en": "Every model GateScope can use: the shipped grid and the models your training runs made. "
                           "Accuracies are on each model's own test split, which it never saw in training.",
                     "zh": "GateScope 可用的全部模型：随附的模型网格，以及你的训练任务产生的模型。准确率都在各自从未见过的测试集上测得。"},
    "models.grid": {"en": "Test accuracy by cell and pooling", "zh": "按循环单元和池化方式的测试准确率"},
    "models.table": {"en": "All models", "zh": "全部模型"},
    "models.pick": {"en": "Model to inspect", "zh": "要查看的模型"},
    "models.card": {"en": "Card", "zh": "模型卡"},
    "models.confusion": {"en": "Confusion matrix on the test split", "zh": "测试集上的混淆矩阵"},
    "models.command": {"en": "Made by", "zh": "生成命令"},
    "models.wrong": {"en": "Misclassified test reviews (among the first {n})", "zh": "被判错的测试评论（前 {n} 条中）"},
    "models.wrong.button": {"en": "Find misclassified test reviews", "zh": "查找被判错的测试评论"},
    "models.wrong.none": {"en": "None of the first {n} test reviews is misclassified.", "zh": "前 {n} 条测试评论全部判对。"},
    "models.wrong.nodata": {"en": "The dataset is not here, so its test reviews cannot be shown: {err}",
                            "zh": "找不到数据集，无法显示测试评论：{err}"},
    "models.wrong.row": {"en": "true {label} · P(positive) = {p:.3f}", "zh": "真实标签 {label} · P(正面) = {p:.3f}"},
    "col.model": {"en": "model", "zh": "模型"}, "col.source": {"en": "source", "zh": "来源"},
    "col.dataset": {"en": "dataset", "zh": "数据集"}, "col.cell": {"en": "cell", "zh": "单元"},
    "col.pooling": {"en": "pooling", "zh": "池化"}, "col.acc": {"en": "test accuracy", "zh": "测试准确率"},
    "col.bacc": {"en": "balanced accuracy", "zh": "平衡准确率"}, "col.n": {"en": "test reviews", "zh": "测试评论数"},
    "col.params": {"en": "parameters", "zh": "参数"}, "col.size": {"en": "size", "zh": "大小"},
    "col.time": {"en": "training (s)", "zh": "训练用时（秒）"}, "col.device": {"en": "device", "zh": "设备"},
})

SAMPLE = 300  # test reviews scanned for mistakes


@st.cache_data(show_spinner=False, max_entries=32)
def _misclassified(path: str, limit: int) -> list[dict]:
    ckpt = common.load_model(path)
    splits = evaluate.split_for(ckpt.card)
    return evaluate.misclassified(ckpt, splits.test, limit)


def render() -> None:
    st.title(t("models.title"))
    st.caption(t("models.intro"))
    ok, bad = common.available_models()
    if not ok:
        st.warning(t("picker.none"), icon=":material/warning:")
        return
    st.subheader(t("models.grid"))
    datasets = common.datasets_of(ok)
    cols = st.columns(max(1, len(datasets)))
    for col, (ds, language) in zip(cols, datasets):
        rows = [dict(cell=e.cell, pooling=e.pooling, test_accuracy=e.test_accuracy) for e in ok
                if (e.dataset, e.language) == (ds, language)]
        with col:
            common.chart(figures.accuracy_grid(rows, ds, lang=lang()), key=f"mo_grid_{ds}_{language}", filename=f"grid-{ds}")

    st.subheader(t("models.table"))
    st.dataframe([{
        t("col.model"): e.name, t("col.source"): t(f"source.{e.source}"), t("col.dataset"): e.dataset,
        t("col.cell"): e.cell, t("col.pooling"): e.pooling,
        t("col.acc"): None if e.test_accuracy is None else round(100 * e.test_accuracy, 2),
        t("col.bacc"): None if e.card.get("test_balanced_accuracy") is None else round(100 * e.card["test_balanced_accuracy"], 2),
        t("col.n"): e.test_size, t("col.params"): e.parameters, t("col.size"): format_bytes(e.size_bytes),
        t("col.time"): e.card.get("train_seconds"), t("col.device"): e.card.get("device", ""),
    } for e in ok], hide_index=True, width="stretch")
    common._show_unavailable(bad)

    by_key = {e.key: e for e in ok}
    key = st.selectbox(t("models.pick"), list(by_key), key="mo_pick",
                       format_func=lambda k: f"{by_key[k].name} ({t('source.' + by_key[k].source)})")
    entry = by_key[key]
    st.caption(common.card_line(entry))
    left, right = st.columns([2, 3])
    with left:
        if entry.card.get("test_confusion"):
            common.chart(figures.confusion_heatmap(entry.card["test_confusion"], t("models.confusion"), lang=lang()),
                         key="mo_confusion", filename=f"confusion-{entry.name}")
    with right:
        st.markdown(f"**{t('models.command')}**")
        st.code(entry.card.get("command", ""), language="bash", wrap_lines=True)
        with st.expander(t("models.card")):
            st.json({k: v for k, v in entry.card.items() if k != "history"}, expanded=False)
    st.subheader(t("models.wrong", n=SAMPLE))
    if st.button(t("models.wrong.button"), key="mo_wrong"):
        try:
            with st.spinner():
                wrong = _misclassified(entry.path, SAMPLE)
        except GateScopeError as e:
            st.info(t("models.wrong.nodata", err=e), icon=":material/info:")
            return
        if not wrong:
            st.success(t("models.wrong.none", n=SAMPLE))
        for w in wrong[:20]:
            label = t("label." + w["label"])
            st.markdown(f"- *{t('models.wrong.row', label=label, p=w['p_positive'])}* — {w['text'][:400]}")

