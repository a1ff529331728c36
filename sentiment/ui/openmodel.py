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
from .i18n import t

K = "om"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


_PADDINGS = ["", "pre", "post", "masked"]
_REDUCTIONS = ["", "final_states", "last_step", "max", "mean"]


def _choices() -> dict:
    """The recipe the widgets describe (only what the user set)."""
    c1, c2, c3 = st.columns(3)
    tok = c1.selectbox(t("open.tokenizer"), ["word", "char"], key=f"{K}_tok",
                       format_func=lambda v: t(f"open.tok.{v}"))
    language = c1.selectbox(t("open.language"), ["en", "zh"], key=f"{K}_lang", index=1 if tok == "char" else 0)
    max_len = c2.number_input(t("open.max_len"), 0, 100_000, 0, key=f"{K}_len")
    padding = c2.selectbox(t("open.padding"), _PADDINGS, key=f"{K}_pad", format_func=lambda v: t(f"open.opt.{v}") if v else t("open.auto"))
    truncating = c2.selectbox(t("open.truncating"), ["", "pre", "post"], key=f"{K}_cut",
                              format_func=lambda v: t(f"open.opt.{v}") if v else t("open.auto"))
    reduction = c3.selectbox(t("open.reduction"), _REDUCTIONS, key=f"{K}_red", format_func=lambda v: t(f"open.opt.{v}") if v else t("open.auto"))
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
