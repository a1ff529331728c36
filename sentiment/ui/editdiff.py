"""Views shared by Explore, Learn and Compare: edit and compare (a review against an edited copy, or
two models of one architecture on one review), and cell updates split into kept and written.

Widgets and layout only: the edits and differences come from ``sentiment.probe.counterfactual``, the
split from ``sentiment.probe.updates``, the figures from ``sentiment.figures``.
"""

from __future__ import annotations

import streamlit as st

from sentiment.probe import counterfactual as cf
from sentiment import figures
from sentiment.probe import updates
from . import common
from .i18n import lang, register, t

register({
    "tab.edit": {"en": "Edit & compare", "zh": "编辑与对比"},
    "tab.updates": {"en": "Cell updates", "zh": "状态更新"},
    "edit.help": {"en": "Change the review (or apply a built-in edit) and see what changes: both predictions, the prefix "
                        "curves and every gate of the chosen layer and direction, B (edited) minus A (original), on tokens "
                        "aligned where they match.",
                  "zh": "修改评论（或应用一个内置编辑），看看有什么变化：两个预测、逐前缀曲线，以及所选层和方向上每个门的差值"
                        "（B 编辑后 − A 原文），按能对应上的词元对齐。"},
    "edit.text": {"en": "Edited review (B)", "zh": "编辑后的评论（B）"},
    "edit.builtin": {"en": "Built-in edit", "zh": "内置编辑"},
    "edit.builtin.placeholder": {"en": "Apply a built-in edit…", "zh": "应用一个内置编辑……"},
    "edit.builtin.help": {"en": "Negation (“good” → “not good”, “好” → “不好”, or the negation taken away), an intensifier "
                                "(“very”, “很”) or a contrast clause (“But …”, “但是……”), applied to the edited text.",
                          "zh": "否定（“good” → “not good”，“好” → “不好”，或去掉已有的否定）、程度副词（“very”、“很”）或转折句"
                                "（“But …”、“但是……”），作用于编辑框中的文字。"},
    "edit.kind.negate": {"en": "Negation", "zh": "否定"},
    "edit.kind.intensify": {"en": "Intensifier", "zh": "加强"},
    "edit.kind.contrast": {"en": "Contrast", "zh": "转折"},
    "edit.option": {"en": "{kind}: “{before}” → “{after}”", "zh": "{kind}：“{before}” → “{after}”"},
    "edit.option.append": {"en": "{kind}: append “{after}”", "zh": "{kind}：在末尾加上“{after}”"},
    "edit.reset": {"en": "Back to the review", "zh": "恢复原评论"},
    "edit.refused": {"en": "Not applicable to this text: {items}", "zh": "不适用于这段文字：{items}"},
    "edit.refused.item": {"en": "{kind} ({why})", "zh": "{kind}（{why}）"},
    "edit.refused.no_word": {"en": "no sentiment word from the built-in list, e.g. {examples}",
                             "zh": "没有内置列表中的情感词，例如 {examples}"},
    "edit.refused.all_intensified": {"en": "every sentiment word already has an intensifier",
                                     "zh": "每个情感词前都已有程度副词"},
    "edit.refused.empty": {"en": "the text is empty", "zh": "文字为空"},
    "edit.refused.language": {"en": "built-in edits exist for English and Chinese only", "zh": "内置编辑只支持英文和中文"},
    "edit.refused.kind": {"en": "unknown edit", "zh": "未知的编辑"},
    "edit.refused.index": {"en": "no such place in the text", "zh": "文中没有这个位置"},
    "edit.applied": {"en": "Applied: {what}", "zh": "已应用：{what}"},
    "edit.same": {"en": "The edited review is the same as the review: change a word, or apply a built-in edit above.",
                  "zh": "编辑后的评论与原评论相同：改一个词，或在上方应用一个内置编辑。"},
    "edit.a": {"en": "A · original", "zh": "A · 原文"},
    "edit.b": {"en": "B · edited", "zh": "B · 编辑后"},
    # the sign first in both languages: st.metric draws its arrow and colour from the delta's leading sign
    "edit.delta": {"en": "{delta:+.1f} pp P(positive)", "zh": "{delta:+.1f} 个百分点 P(正面)"},
    "edit.flipped": {"en": "The prediction flips: {a} → {b}.", "zh": "预测翻转：{a} → {b}。"},
    "edit.kept": {"en": "The prediction stays {a}; P(positive) moves by {delta:+.1f} percentage points.",
                  "zh": "预测仍为{a}；P(正面) 变化 {delta:+.1f} 个百分点。"},
    "edit.alignment": {"en": "Tokens: {same} aligned and unchanged, {replaced} replaced, {deleted} only in A, {inserted} only in B.",
                       "zh": "词元：{same} 个对齐且未变，{replaced} 个被替换，{deleted} 个仅在 A 中，{inserted} 个仅在 B 中。"},
    "edit.diff.help": {"en": "Each cell is B − A for one unit at one aligned token (red: lower in B, blue: higher). Grey "
                             "columns are tokens one review has and the other has not: no difference there. Units: the most "
                             "changed first.",
                       "zh": "每格是某个单元在某个对齐词元上的 B − A（红：B 更低，蓝：B 更高）。灰色列是只有一条评论才有的词元，"
                             "那里没有差值。单元按变化从大到小排列。"},
    "edit.topk": {"en": "Units shown (most changed)", "zh": "显示的单元数（变化最大）"},
    "updates.help.lstm": {"en": "Each step's cell update split in two: what it kept of the old cell, f_t ⊙ c_{t−1}, and what "
                                "it wrote, i_t ⊙ g_t. They add up to the new cell state c_t.",
                          "zh": "把每一步的细胞状态更新分成两部分：保留的旧细胞状态 f_t ⊙ c_{t−1}，以及写入的新内容 i_t ⊙ g_t。"
                                "两者相加就是新的细胞状态 c_t。"},
    "updates.help.gru": {"en": "Each step's new state is a blend through the update gate z_t: what it kept of the old state, "
                               "z_t ⊙ h_{t−1}, and what it wrote of the candidate, (1 − z_t) ⊙ n_t (PyTorch's convention). "
                               "They add up to h_t.",
                         "zh": "每一步的新状态由更新门 z_t 混合而成：保留的旧状态 z_t ⊙ h_{t−1}，以及写入的候选值 (1 − z_t) ⊙ n_t"
                               "（PyTorch 的约定）。两者相加就是 h_t。"},
    "updates.rnn": {"en": "A plain RNN has no gates: its update cannot be split into kept and written. Pick an LSTM or a GRU.",
                    "zh": "普通 RNN 没有门：它的更新无法分成保留和写入两部分。请选择 LSTM 或 GRU。"},
    "updates.unit": {"en": "Unit for the split over the review", "zh": "查看哪个单元的逐步拆分"},
    "updates.topk": {"en": "Units shown (most written)", "zh": "显示的单元数（写入最多）"},
    "updates.title": {"en": "Kept and written", "zh": "保留与写入"},
    "updates.summary": {"en": "Unit {unit}: on average {kept:.0%} of each step's update was kept and {written:.0%} written; "
                              "it wrote most at token {pos} “{token}” ({value:+.3f}).",
                        "zh": "单元 {unit}：平均每一步的更新中 {kept:.0%} 为保留、{written:.0%} 为写入；写入最多的是第 {pos} 个词元"
                              "“{token}”（{value:+.3f}）。"},
    "ba.title": {"en": "Before / after: B − A on the same review", "zh": "前后对比：同一条评论上的 B − A"},
    "ba.help": {"en": "Both models have the same cell, layers and hidden size (for example a shipped model and a run "
                      "retrained from it), so their gates can be subtracted unit by unit: each cell is B − A.",
                "zh": "两个模型的单元类型、层数和隐藏单元数都相同（例如随附模型和由它重新训练的模型），所以它们的门可以逐单元相减："
                      "每格是 B − A。"},
    "ba.caveat": {"en": "Unit j of A and unit j of B are the same unit only when B was trained starting from A's weights. "
                        "Two models trained separately number their units independently: then this shows how differently "
                        "they read the review, unit number by unit number, not what retraining changed.",
                  "zh": "只有当 B 是从 A 的权重开始训练的，A 的单元 j 与 B 的单元 j 才是同一个单元。分别训练的两个模型各自独立地给单元编号："
                        "此时这里显示的是两者按单元编号读这条评论有多不同，而不是重新训练改变了什么。"},
    "ba.same": {"en": "Both sides are the same model: every difference is 0.", "zh": "两边是同一个模型：所有差值都为 0。"},
    "ba.retrained.b_from_a": {"en": "B was retrained from A: its units are A's units, changed by training, so each cell "
                                    "shows what retraining changed.",
                              "zh": "B 是从 A 重新训练得到的：它的单元就是 A 的单元，只是被训练改变了，所以每格显示的是重新训练带来的变化。"},
    "ba.retrained.a_from_b": {"en": "A was retrained from B: its units are B's units, changed by training, so each cell "
                                    "shows what retraining changed (with the sign turned round: B − A).",
                              "zh": "A 是从 B 重新训练得到的：它的单元就是 B 的单元，只是被训练改变了，所以每格显示的是重新训练带来的变化"
                                    "（符号相反：B − A）。"},
    "ba.mismatch": {"en": "No difference of the gates is shown: {why}. Units of different architectures do not correspond; "
                          "pick two models with the same cell, number of layers and hidden size.",
                    "zh": "不显示门控差值：{why}。不同结构的模型的单元互不对应；请选择单元类型、层数和隐藏单元数都相同的两个模型。"},
    "ba.why.cell": {"en": "the cells differ ({a} vs {b})", "zh": "单元类型不同（{a} 与 {b}）"},
    "ba.why.layers": {"en": "the numbers of layers differ ({a} vs {b})", "zh": "层数不同（{a} 与 {b}）"},
    "ba.why.hidden": {"en": "the hidden sizes differ ({a} vs {b})", "zh": "隐藏单元数不同（{a} 与 {b}）"},
    "ba.why.directions": {"en": "the directions differ ({a} vs {b})", "zh": "方向不同（{a} 与 {b}）"},
    "ba.bi": {"en": "bidirectional", "zh": "双向"},
    "ba.uni": {"en": "one direction", "zh": "单向"},
    "ba.delta": {"en": "P(positive): A {a:.1%}, B {b:.1%} (B − A {delta:+.1f} percentage points).", "zh": "P(正面)：A {a:.1%}，B {b:.1%}（B − A {delta:+.1f} 个百分点）。"},
})


# ---- edit and compare (Explore) --------------------------------------------------------------------


def _option_label(e: cf.Edit) -> str:
    before, after = e.change()
    if e.kind == "contrast":
        return t("edit.option.append", kind=t(f"edit.kind.{e.kind}"), after=after)
    return t("edit.option", kind=t(f"edit.kind.{e.kind}"), before=before, after=after)


MAX_OPTIONS = 12  # built-in edits offered per kind


def _edits(text: str, language: str) -> tuple[dict[str, cf.Edit], list[tuple[str, cf.EditRefused]]]:
    """option id ("negate:0") -> Edit for every built-in edit that applies; (kind, refusal) for those that do not."""
    found, refused = {}, []
    for kind in cf.EDIT_KINDS:
        try:
            edits = cf.find_edits(text, language, kind)
            if not edits:
                cf.apply_edit(text, kind, language)  # raises the reason
            found.update({f"{kind}:{i}": e for i, e in enumerate(edits[:MAX_OPTIONS])})
        except cf.EditRefused as err:
            refused.append((kind, err))
    return found, refused


def _apply_edit(key: str, language: str) -> None:
    """Callback: apply the picked built-in edit to the edited text, then clear the pick."""
    chosen = st.session_state.get(f"{key}_edit_pick")
    st.session_state[f"{key}_edit_pick"] = None
    if not chosen:
        return
    kind, _, idx = chosen.partition(":")
    try:
        e = cf.apply_edit(st.session_state.get(f"{key}_edit_text", ""), kind, language, int(idx))
    except cf.EditRefused as err:  # the reason in the interface's language
        st.session_state[f"{key}_edit_msg"] = ("refused", t("edit.refused", items=t(
            "edit.refused.item", kind=t(f"edit.kind.{kind}"), why=t(f"edit.refused.{err.reason}",
                                                                    examples=cf.example_words(language)))))
        return
    except ValueError as err:
        st.session_state[f"{key}_edit_msg"] = ("refused", str(err))
        return
    st.session_state[f"{key}_edit_text"] = e.text
    st.session_state[f"{key}_edit_msg"] = ("applied", _option_label(e))


def _typed(key: str) -> None:
    st.session_state[f"{key}_edit_msg"] = None  # the last built-in edit's message no longer describes the text


def _reset(key: str, review: str) -> None:
    st.session_state[f"{key}_edit_text"] = review
    st.session_state[f"{key}_edit_msg"] = None


def edit_tab(entry, review: str, layer: int, direction: str, key: str = "ex") -> None:
    """The edited review (prefilled with the review), built-in edits, both predictions and the
    difference of every gate of one layer and direction on the aligned tokens."""
    if st.session_state.get(f"{key}_edit_src") != review or f"{key}_edit_text" not in st.session_state:
        # a new review, or the box was not drawn last run (Streamlit then forgets it): start again from the review
        st.session_state[f"{key}_edit_src"] = review
        _reset(key, review)
    st.caption(t("edit.help"))
    language = entry.language
    found, refused = _edits(st.session_state.get(f"{key}_edit_text", ""), language)
    labels = {k: _option_label(e) for k, e in found.items()}
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    with c1:
        st.selectbox(t("edit.builtin"), list(found), index=None, key=f"{key}_edit_pick", placeholder=t("edit.builtin.placeholder"),
                     format_func=lambda k: labels.get(k, k), help=t("edit.builtin.help"),
                     on_change=_apply_edit, args=(key, language))
    with c2:
        st.button(t("edit.reset"), key=f"{key}_edit_reset", on_click=_reset, args=(key, review), width="stretch")
    msg = st.session_state.get(f"{key}_edit_msg")
    if msg and msg[0] == "applied":
        st.success(t("edit.applied", what=msg[1]), icon=":material/edit:")
    elif msg:
        st.warning(msg[1], icon=":material/block:")
    if refused:
        st.caption(t("edit.refused", items="; ".join(
            t("edit.refused.item", kind=t(f"edit.kind.{k}"),
              why=t(f"edit.refused.{err.reason}", examples=cf.example_words(language))) for k, err in refused)))
    edited = st.text_area(t("edit.text"), key=f"{key}_edit_text", height=120, on_change=_typed, args=(key,))
    if edited.strip() == review.strip():
        st.info(t("edit.same"), icon=":material/info:")
        return
    with st.spinner(t("reading.wait")):
        a = common.trace_for(entry, review, method=None)
        b = common.trace_for(entry, edited, method=None) if a is not None else None
    if a is None or b is None:
        return
    diff = cf.diff_traces(a, b)  # same model: always comparable
    show_predictions(a, b, diff)
    st.caption(alignment_line(diff.alignment))
    st.caption(t("edit.diff.help"))
    top_k = _topk_slider(int(a.hidden_size), f"{key}_edit_topk", t("edit.topk"))
    common.chart(figures.diff_heatmaps(diff, layer, direction, top_k=top_k, lang=lang()), key=f"{key}_edit_heat",
                 filename=f"diff-l{layer + 1}-{direction}")
    common.chart(figures.diff_prefix(diff, (t("edit.a"), t("edit.b")), lang=lang()), key=f"{key}_edit_prefix",
                 filename="diff-prefix")


def show_predictions(a, b, diff: cf.TraceDiff) -> None:
    """A's and B's predictions side by side, B with the change in P(positive)."""
    c1, c2 = st.columns(2)
    for col, tr, name, delta in ((c1, a, "edit.a", None), (c2, b, "edit.b", diff.delta_p)):
        label = t("label." + tr.label) if tr.label in ("positive", "negative") else tr.label
        with col:
            st.metric(t(name), label, t("edit.delta", delta=100 * delta) if delta is not None else t("pred.bar", p=float(tr.probs[1])),
                      delta_color="normal" if delta is not None else "off", delta_arrow="auto" if delta is not None else "off")
            st.progress(min(1.0, max(0.0, float(tr.probs[1]))), text=t("pred.bar", p=float(tr.probs[1])))
    name_a = t("label." + diff.label_a) if diff.label_a in ("positive", "negative") else diff.label_a
    name_b = t("label." + diff.label_b) if diff.label_b in ("positive", "negative") else diff.label_b
    if diff.label_changed:
        st.warning(t("edit.flipped", a=name_a, b=name_b), icon=":material/swap_horiz:")
    else:
        st.caption(t("edit.kept", a=name_a, delta=100 * diff.delta_p))


def alignment_line(al: cf.Alignment) -> str:
    return t("edit.alignment", same=al.ops.count("equal"), replaced=al.ops.count("replace"),
             deleted=al.ops.count("delete"), inserted=al.ops.count("insert"))


def _topk_slider(H: int, key: str, label: str, default: int = 16) -> int:
    if H <= 1:
        return 1
    st.session_state[key] = min(H, int(st.session_state.get(key, min(H, default))))
    return st.slider(label, 1, H, key=key)


# ---- cell updates (Explore, Learn) --------------------------------------------------------------------


def updates_tab(trace, layer: int, direction: str, key: str = "ex") -> None:
    """Kept / written / state heatmaps for one layer and direction, then one unit over the review."""
    if trace.cell not in updates.STATE_OF:
        st.info(t("updates.rnn"), icon=":material/info:")
        return
    st.caption(t(f"updates.help.{trace.cell}"))
    c1, c2 = st.columns(2)
    with c1:
        top_k = _topk_slider(int(trace.hidden_size), f"{key}_upd_topk", t("updates.topk"))
    fig = figures.update_heatmaps(trace, layer, direction, top_k=top_k, lang=lang())
    with c2:  # first shown: the heatmap's top unit (the one that wrote most), not unit 0
        unit = _unit_input(trace, f"{key}_upd_unit", default=int(fig.layout.meta["units"][0]))
    common.chart(fig, key=f"{key}_upd_heat", filename=f"updates-l{layer + 1}-{direction}")
    unit_updates(trace, layer, direction, unit, key)


def _unit_input(trace, key: str, default: int = 0) -> int:
    last = max(0, int(trace.hidden_size) - 1)
    if not isinstance(st.session_state.get(key), int) or not 0 <= st.session_state[key] <= last:
        st.session_state[key] = min(max(0, default), last)
    return int(st.number_input(t("updates.unit"), 0, last, key=key, step=1))


def unit_updates(trace, layer: int, direction: str, unit: int, key: str, explain: bool = False) -> None:
    """One unit's kept and written over the review, with the resulting state, and a one-line summary
    (``explain``: the split's equations in a caption first)."""
    if trace.cell not in updates.STATE_OF:
        st.info(t("updates.rnn"), icon=":material/info:")
        return
    if explain:
        st.caption(t(f"updates.help.{trace.cell}"))
    common.chart(figures.update_unit(trace, int(unit), layer, direction, lang=lang()), key=f"{key}_upd_unit_chart",
                 filename=f"updates-unit{unit}")
    s = updates.unit_summary(updates.cell_updates(trace, layer, direction), int(unit))
    st.caption(t("updates.summary", unit=int(unit), kept=s["kept_share"], written=1 - s["kept_share"], pos=s["top_write"],
                 token=trace.tokens[s["top_write"]], value=s["top_value"]))


# ---- before / after (Compare) ---------------------------------------------------------------------------


def before_after(traces, same_model: bool, layer: int, direction: str, top_k: int, key: str = "cmp",
                 lineage: str | None = None) -> None:
    """B − A of the gates of one layer and direction when the two models' architectures match; else why not.
    ``lineage`` (catalog.lineage: "b_from_a", "a_from_b" or None) says whether one was retrained from the other."""
    st.subheader(t("ba.title"))
    a, b = traces
    reason = cf.comparable(a, b)
    if reason is not None:
        why, va, vb = reason
        st.info(t("ba.mismatch", why=t(f"ba.why.{why}", a=_value(va), b=_value(vb))), icon=":material/info:")
        return
    diff = cf.diff_traces(a, b)
    st.caption(t("ba.help"))
    if same_model:
        st.caption(t("ba.same"))
    elif lineage in ("b_from_a", "a_from_b"):
        st.success(t(f"ba.retrained.{lineage}"), icon=":material/history:")
    else:
        st.caption(t("ba.caveat"))
    st.caption(t("ba.delta", a=diff.p_a, b=diff.p_b, delta=100 * diff.delta_p) + " " + alignment_line(diff.alignment))
    common.chart(figures.diff_heatmaps(diff, layer, direction, top_k=top_k, lang=lang()), key=f"{key}_ba_heat",
                 filename=f"before-after-l{layer + 1}-{direction}")


def _value(v) -> str:
    if isinstance(v, bool):
        return t("ba.bi") if v else t("ba.uni")
    return v.upper() if isinstance(v, str) else str(v)
