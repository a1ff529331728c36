"""Learn: the LSTM and GRU equations as PyTorch computes them, the same equations with this review's
numbers for a token and unit the user picks, and the vanishing-gradient view (RNN vs LSTM vs GRU)."""

from __future__ import annotations

import streamlit as st

from sentiment import figures
from sentiment.errors import GateScopeError
from sentiment.probe.gradients import input_gradient_norms
from sentiment.probe.reference import states_from_gates
from sentiment.spec import CELLS, GATED_CELLS

from . import common, editdiff, present, selection, share, words
from .i18n import lang, t

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
    chosen = share.lesson_review_and_model(K)
    if chosen is None:
        return
    entry, review = chosen
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
    words.why_gates_view(entry, K)


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
    check = states_from_gates(trace.cell, values)  # the reference equations (sentiment.probe.reference)
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
    for cell in sorted(CELLS, key=lambda c: c in GATED_CELLS):  # the ungated cell first: its gradient is the one that vanishes
        of_cell = sorted((e for e in same if e.cell == cell), key=lambda e: (e.pooling != "max", e.source != "shipped"))
        if of_cell:
            chosen[cell] = of_cell[0]
    if len(chosen) < 2:
        st.info(t("learn.vanishing.none"), icon=":material/info:")
        return
    curves, tokens = {}, None
    for e in chosen.values():
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
