"""The Models page's "Open your own model": upload a PyTorch, Keras or PaddlePaddle file (and its
vocabulary), see the structure GateScope detects, fix what it cannot know, convert it into
``<runs root>/imported/<name>/``; every model picker then lists it (catalog source "imported").

Widgets only: reading and conversion are ``sentiment.interop.convert``'s.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import streamlit as st

from sentiment.errors import GateScopeError, InputError
from sentiment.interop import convert as conv
from sentiment.interop import recipe as recipes
from sentiment.modeling.catalog import imported_root

from . import common
from .i18n import register, t

K = "om"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

register({
    "open.title": {"en": "Open your own model", "zh": "打开你自己的模型"},
    "open.intro": {"en": "An LSTM/GRU sentiment classifier trained in PyTorch (state_dict or torch.save(model)), Keras "
                         "(.keras, .h5) or PaddlePaddle (.pdparams). GateScope reads the weights itself: no framework is "
                         "needed and nothing in the file is run. It then runs exactly as its framework ran it, padding "
                         "included.",
                   "zh": "用 PyTorch（state_dict 或 torch.save(model)）、Keras（.keras、.h5）或 PaddlePaddle（.pdparams）训练的 "
                         "LSTM/GRU 情感分类器。GateScope 自己读取权重：不需要安装框架，也不会执行文件中的任何代码。之后它与原框架的"
                         "运行方式完全一致，包括填充。"},
    "open.weights": {"en": "Model file", "zh": "模型文件"},
    "open.vocab": {"en": "Vocabulary (word index JSON, or one token per line)", "zh": "词表（词索引 JSON，或每行一个词）"},
    "open.tokenizer": {"en": "Tokens", "zh": "切分方式"},
    "open.tok.word": {"en": "words", "zh": "词"},
    "open.tok.char": {"en": "Chinese characters", "zh": "汉字"},
    "open.language": {"en": "Language", "zh": "语言"},
    "open.max_len": {"en": "Fixed length (0: from the file or 200)", "zh": "固定长度（0：取自文件或 200）"},
    "open.padding": {"en": "Padding", "zh": "填充"},
    "open.truncating": {"en": "Cut long reviews at", "zh": "长评论截断位置"},
    "open.reduction": {"en": "Reduction before the head", "zh": "分类层之前的汇聚方式"},
    "open.tanh": {"en": "tanh on the outputs first (seed 3)", "zh": "先对输出做 tanh（种子教程 3）"},
    "open.index_from": {"en": "Word index offset (Keras imdb: 3; -1: automatic)", "zh": "词索引偏移（Keras imdb 为 3；-1：自动）"},
    "open.auto": {"en": "as detected", "zh": "按检测结果"},
    "open.recipe": {"en": "Recipe (JSON, optional; overrides the choices above)", "zh": "配方（JSON，可选；覆盖上面的选择）"},
    "open.name": {"en": "Name in the model pickers", "zh": "在模型选择器中的名称"},
    "open.found": {"en": "What GateScope found", "zh": "GateScope 检测到的结构"},
    "open.convert": {"en": "Convert and add to the models", "zh": "转换并加入模型列表"},
    "open.done": {"en": "Added {name}: pick it in any model picker (Explore, Compare, Patterns, Learn).",
                  "zh": "已加入 {name}：可在任何模型选择器中选择它（探索、对比、模式、学习）。"},
    "open.bad_name": {"en": "A name is letters, digits, '.', '_' or '-' (up to 64), starting with a letter or digit.",
                      "zh": "名称由字母、数字、'.'、'_' 或 '-' 组成（最多 64 个），并以字母或数字开头。"},
    "open.exists": {"en": "A model named {name} already exists; choose another name.",
                    "zh": "已存在名为 {name} 的模型；请换一个名称。"},
    "open.too_big": {"en": "The file is {size:.1f} GiB; GateScope opens model files up to 1 GiB.",
                     "zh": "文件大小为 {size:.1f} GiB；GateScope 只打开不超过 1 GiB 的模型文件。"},
})

_PADDINGS = ["", "pre", "post", "masked"]
_REDUCTIONS = ["", "final_states", "last_step", "max", "mean"]


def _choices() -> dict:
    """The recipe the widgets describe (only what the user set)."""
    c1, c2, c3 = st.columns(3)
    tok = c1.selectbox(t("open.tokenizer"), ["word", "char"], key=f"{K}_tok",
                       format_func=lambda v: t(f"open.tok.{v}"))
    language = c1.selectbox(t("open.language"), ["en", "zh"], key=f"{K}_lang", index=1 if tok == "char" else 0)
    max_len = c2.number_input(t("open.max_len"), 0, 100_000, 0, key=f"{K}_len")
    padding = c2.selectbox(t("open.padding"), _PADDINGS, key=f"{K}_pad", format_func=lambda v: v or t("open.auto"))
    truncating = c2.selectbox(t("open.truncating"), ["", "pre", "post"], key=f"{K}_cut",
                              format_func=lambda v: v or t("open.auto"))
    reduction = c3.selectbox(t("open.reduction"), _REDUCTIONS, key=f"{K}_red", format_func=lambda v: v or t("open.auto"))
    tanh = c3.checkbox(t("open.tanh"), key=f"{K}_tanh")
    index_from = c3.number_input(t("open.index_from"), -1, 100, -1, key=f"{K}_idx")
    r: dict = {"tokenizer": tok, "language": language}
    for k, v in (("max_len", int(max_len)), ("padding", padding), ("truncating", truncating), ("reduction", reduction)):
        if v:
            r[k] = v
    if tanh:
        r["tanh"] = True
    if index_from >= 0:
        r["vocab"] = {"index_from": int(index_from)}
    return r


def _recipe(widgets: dict) -> dict:
    text = st.text_area(t("open.recipe"), key=f"{K}_recipe", placeholder='{"tanh": true, "reduction": "last_step"}')
    if not text.strip():
        return recipes.check(widgets)
    try:
        extra = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"recipe: not valid JSON ({e})") from None
    if not isinstance(extra, dict):
        raise InputError("a recipe is a JSON object")
    return recipes.check({**widgets, **extra})


def _save_upload(upload, folder: Path) -> Path:
    if upload.size > conv.MAX_BYTES:
        raise InputError(t("open.too_big", size=upload.size / 2**30))
    path = folder / Path(upload.name).name
    path.write_bytes(upload.getvalue())
    return path


def render() -> None:
    with st.expander(t("open.title"), icon=":material/upload_file:"):
        st.caption(t("open.intro"))
        weights = st.file_uploader(t("open.weights"), key=f"{K}_weights",
                                   type=["keras", "h5", "hdf5", "pt", "pth", "bin", "safetensors", "pdparams"])
        vocab = st.file_uploader(t("open.vocab"), key=f"{K}_vocab", type=["json", "txt"])
        widgets = _choices()
        try:
            recipe = _recipe(widgets)
        except GateScopeError as e:
            common.error(e)
            return
        if weights is None:
            return
        name = st.text_input(t("open.name"), value=Path(weights.name).stem, key=f"{K}_name")
        with tempfile.TemporaryDirectory() as tmp:
            try:
                src = _save_upload(weights, Path(tmp))
                vpath = _save_upload(vocab, Path(tmp)) if vocab is not None else None
                s = conv.read_structure(conv.read_bytes(src), src.name, recipe)
            except GateScopeError as e:
                common.error(e)
                return
            st.markdown(f"**{t('open.found')}**")
            st.code(s.describe(), language=None)
            if st.button(t("open.convert"), key=f"{K}_go", type="primary"):
                _convert(src, vpath, recipe, name)


def _convert(src: Path, vocab: Path | None, recipe: dict, name: str) -> None:
    if not _NAME.match(name):
        st.error(t("open.bad_name"))
        return
    out = imported_root() / name
    if out.exists():
        st.error(t("open.exists", name=name))
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        conv.convert(src, out, vocab, recipe)
    except GateScopeError as e:
        common.error(e)
        return
    common.refresh_models()
    st.success(t("open.done", name=name), icon=":material/check_circle:")
