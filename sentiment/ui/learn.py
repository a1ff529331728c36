"""Learn: the LSTM and GRU equations as PyTorch computes them, the same equations with this review's
numbers for a token and unit the user picks, and the vanishing-gradient view (RNN vs LSTM vs GRU)."""

from __future__ import annotations

import streamlit as st

from sentiment import figures
from sentiment.errors import GateScopeError
from sentiment.probe.gradients import input_gradient_norms
from . import common, editdiff, present, selection, share
from .i18n import lang, register, t

register({
    "learn.title": {"en": "Learn the gates", "zh": "学习门控机制"},
    "learn.intro": {"en": "The equations of the cell, as PyTorch computes them, then the same equations with the "
                          "numbers of your review for the token and unit you pick.",
                    "zh": "先看 PyTorch 实际计算的单元方程，再看你选的词元和单元代入本条评论真实数值后的同一组方程。"},
    "learn.equations": {"en": "The equations", "zh": "方程"},
    "learn.lstm.note": {"en": "σ is the logistic sigmoid, ⊙ the element-wise product. i: input gate, f: forget gate, "
                              "g (C̃ in the tutorials): candidate, o: output gate, c: cell state (the conveyor belt), h: hidden state.",
                        "zh": "σ 为 sigmoid 函数，⊙ 为逐元素乘积。i：输入门，f：遗忘门，g（教程中的 C̃）：候选值，o：输出门，c：细胞状态（传送带），h：隐藏状态。"},
    "learn.gru.note": {"en": "PyTorch's GRU keeps the old state with weight z_t and writes the candidate with 1 − z_t; the "
                             "seed tutorials write it the other way round (H_t = (1 − z_t) H_{t−1} + z_t H̃_t). The reset gate r_t "
                             "multiplies the hidden projection W_hn h_{t−1} + b_hn, after the matrix product.",
                       "zh": "PyTorch 的 GRU 用 z_t 保留旧状态、用 1 − z_t 写入候选值；种子教程的写法正好相反（H_t = (1 − z_t) H_{t−1} + z_t H̃_t）。"
                             "重置门 r_t 乘在隐藏投影 W_hn h_{t−1} + b_hn 上，即矩阵乘法之后。"},
    "learn.rnn.note": {"en": "A plain RNN has no gates: every step squashes the whole state through tanh.",
                       "zh": "普通 RNN 没有门：每一步都把整个状态通过 tanh 压缩。"},
    "learn.pick": {"en": "Pick a token and a hidden unit", "zh": "选择一个词元和一个隐藏单元"},
    "learn.token": {"en": "Token", "zh": "词元"},
    "learn.unit": {"en": "Unit", "zh": "单元"},
    "learn.numbers": {"en": "With the numbers of this review", "zh": "代入本条评论的数值"},
    "learn.where": {"en": "Step t = {pos}: token “{token}”, unit {unit}, {where}.", "zh": "时间步 t = {pos}：词元“{token}”，单元 {unit}，{where}。"},
    "learn.token.help": {"en": "The step t: the review's tokens in reading order.", "zh": "时间步 t：按阅读顺序排列的评论词元。"},
    "learn.unit.help": {"en": "One of the hidden units (0 to {last}); each unit has its own gates.",
                        "zh": "隐藏单元之一（0 到 {last}）；每个单元有自己的门。"},
    "learn.check": {"en": "The numbers add up: {parts} (largest difference {diff:.1e}).",
                    "zh": "数值吻合：{parts}（最大差异 {diff:.1e}）。"},
    "learn.check.part": {"en": "the equation gives {name} = {mine:.4f}, the traced model {traced:.4f}",
                         "zh": "按公式算得 {name} = {mine:.4f}，模型追踪值为 {traced:.4f}"},
    "learn.prev.note": {"en": "The previous step is the token before (forward direction) or after (backward direction); "
                              "at the edge the previous state is 0.",
                        "zh": "上一步是前一个词元（正向）或后一个词元（反向）；在边界处上一步状态为 0。"},
    "learn.vanishing": {"en": "Vanishing gradients", "zh": "梯度消失"},
    "learn.vanishing.help": {"en": "The norm of ∂loss/∂x_t (the loss: cross-entropy against each model's own prediction for this review): "
                                   "how strongly the loss still depends on each token's input. "
                                   "Where the plain RNN's curve falls by orders of magnitude, gradients vanish before they "
                                   "reach those tokens; the gates of an LSTM or GRU keep a path open for them.",
                             "zh": "∂loss/∂x_t 的范数（损失：相对于各模型自己对这条评论的预测的交叉熵）：损失对每个词元输入的依赖还有多强。普通 RNN 的曲线下降几个数量级的地方，"
                                   "梯度在到达这些词元之前就消失了；LSTM 和 GRU 的门为它们保留了通路。"},
    "learn.spread": {"en": "{name}: largest / smallest = {r:,.0f}×", "zh": "{name}：最大值 / 最小值 = {r:,.0f} 倍"},
    "learn.vanishing.none": {"en": "No RNN, LSTM and GRU models of this dataset to compare.", "zh": "本数据集没有可比较的 RNN、LSTM 和 GRU 模型。"},
})

K = "le"

LATEX = {
    "lstm": [r"i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi})",
             r"f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf})",
             r"g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg})",
             r"o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho})",
             r"c_t = f_t \odot c_{t-1} + i_t \odot g_t",
             r"h_t = o_t \odot \tanh(c_t)"],
    "gru": [r"r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})",
            r"z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})",
            r"n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))",
            r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}"],
    "rnn": [r"h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})"],
}


def _num(x: float) -> str:
    """A number for the equations: 3 decimals."""
    return f"{x:.3f}"


def _factor(x: float) -> str:
    """A number as a factor of a product: negative ones in parentheses."""
    return _num(x) if x >= 0 else f"({_num(x)})"


def substituted(cell: str, v: dict[str, float]) -> list[str]:
    """The cell's equations with one step's numbers (LaTeX); ``v`` from figures.step_values."""
    n, f = _num, _factor
    if cell == "lstm":
        return [rf"i_t = \sigma(\dots) = {n(v['i'])}", rf"f_t = \sigma(\dots) = {n(v['f'])}",
                rf"g_t = \tanh(\dots) = {n(v['g'])}", rf"o_t = \sigma(\dots) = {n(v['o'])}",
                rf"c_t = {f(v['f'])} \times {f(v['c_prev'])} + {f(v['i'])} \times {f(v['g'])} = {n(v['c'])}",
                rf"h_t = {f(v['o'])} \times \tanh({n(v['c'])}) = {n(v['h'])}"]
    if cell == "gru":
        return [rf"r_t = \sigma(\dots) = {n(v['r'])}", rf"z_t = \sigma(\dots) = {n(v['z'])}",
                rf"n_t = \tanh(W_{{in}} x_t + b_{{in}} + {f(v['r'])} \odot (W_{{hn}} h_{{t-1}} + b_{{hn}})) = {n(v['n'])}",
                rf"h_t = (1 - {f(v['z'])}) \times {f(v['n'])} + {f(v['z'])} \times {f(v['h_prev'])} = {n(v['h'])}"]
    return [rf"h_t = \tanh(W_{{ih}} x_t + b_{{ih}} + W_{{hh}} h_{{t-1}} + b_{{hh}}) = {n(v['h'])}"]


def render() -> None:
    st.title(t("learn.title"))
    st.caption(t("learn.intro"))
    share_slot = st.empty()  # the "share this view" box, filled once the view is known
    share.follow_session(K)  # the review and model of the lesson, as another page left them
    share.restore(K)  # a shared link's model and review (first run only)
    chosen = common.review_and_model(K)
    if chosen is None:
        return
    entry, review = chosen
    share.keep_session(K, entry, review)
    trace = common.trace_for(entry, review, method=None, prefix=False)
    if trace is None:
        return
    share.restore_selection(K, trace, token_key=f"{K}_token", unit_key=f"{K}_unit", layer_key=f"{K}_layer")
    common.show_prediction(trace, entry, compact=True)
    st.subheader(t("learn.pick"))
    c1, c2 = st.columns([3, 1])
    with c1:
        layer, direction = common.pick(t("gates.layer"), common.layer_options(trace), f"{K}_layer", format_func=common.layer_label)
    with c2:
        unit = selection.unit_picker(K, trace, "learn.unit", "learn.unit.help")
    # previous / play / next: the token, the equations and their numbers follow the current token
    present.step_through(K, int(trace.length), f"{K}_token", lambda: numbers_view(trace, layer, direction, unit))
    share.publish(share.view_params(entry, review, layer=(layer, direction), token=st.session_state.get(f"{K}_token"),
                                    unit=unit), share_slot)

    st.subheader(t("learn.vanishing"))
    st.caption(t("learn.vanishing.help"))
    vanishing_view(entry, review)


def numbers_view(trace, layer: int, direction: str, unit: int) -> None:
    """The token slider, then the equations beside the same equations with this token's and unit's numbers."""
    tok = selection.token_picker(K, trace, "learn.token", "learn.token.help")
    share.set_param("token", tok)  # while playing, the link follows the token
    values = figures.step_values(trace, layer, direction, int(tok), int(unit))
    st.caption(t("learn.where", token=trace.tokens[int(tok)], pos=int(tok), unit=int(unit),
                 where=common.layer_label((layer, direction))))
    general, numbers = st.columns(2, gap="large")
    with general:
        st.markdown(f"**{t('learn.equations')}**")
        for line in LATEX[trace.cell]:
            st.latex(line)
    with numbers:
        st.markdown(f"**{t('learn.numbers')}**")
        for line in substituted(trace.cell, values):
            st.latex(line)
    st.caption(t(f"learn.{trace.cell}.note"))
    check = figures.recombine(trace.cell, values)
    if check:
        worst = max(abs(check[k] - values[k]) for k in check)
        parts = [t("learn.check.part", name=f"{k}_t", mine=check[k], traced=values[k]) for k in check]
        (st.success if worst < 1e-3 else st.warning)(
            t("learn.check", parts="; ".join(parts), diff=worst), icon=":material/check:" if worst < 1e-3 else ":material/warning:")
    st.caption(t("learn.prev.note"))
    st.subheader(t("updates.title"))
    editdiff.unit_updates(trace, layer, direction, int(unit), K, explain=True)


def vanishing_view(entry, review: str) -> None:
    ok, _ = common.available_models()
    same = [e for e in ok if (e.dataset, e.language) == (entry.dataset, entry.language)]
    chosen = {}
    for cell in ("rnn", "lstm", "gru"):
        of_cell = sorted((e for e in same if e.cell == cell), key=lambda e: (e.pooling != "max", e.source != "shipped"))
        if of_cell:
            chosen[cell] = of_cell[0]
    if len(chosen) < 2:
        st.info(t("learn.vanishing.none"), icon=":material/info:")
        return
    curves, tokens = {}, None
    for cell, e in chosen.items():
        ck = common.load(e)
        if ck is None:
            continue
        try:
            curves[e.name] = _norms(e.path, review)
            tokens = tokens or ck.encode(review).tokens
        except GateScopeError as err:
            common.error(err)
            return
    if curves and tokens:
        common.chart(figures.gradient_norms(curves, tokens, lang=lang()), key=f"{K}_grad", filename="vanishing-gradients")
        st.caption(" · ".join(t("learn.spread", name=name, r=figures.spread(ys)) for name, ys in curves.items()))


@st.cache_data(show_spinner=False, max_entries=64)
def _norms(path: str, review: str) -> list[float]:
    return input_gradient_norms(common.load_model(path), review).tolist()
