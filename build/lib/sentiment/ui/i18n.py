"""The interface's words in English and Chinese: ``STRINGS`` (key -> {"en": ..., "zh": ...}) and ``t(key)``.

Adding a string: one entry in STRINGS (or ``register({...})`` from a page module). A key missing in
Chinese falls back to English; a missing key shows itself (``[key]``) so it is seen, never raises.
The current language lives in ``st.session_state["lang"]`` (the sidebar switch, see ``language_switch``).
Core messages (``GateScopeError``s, ``Encoded.note``) are English; ``core_message`` translates the
common ones for the Chinese interface and passes any other through unchanged.
"""

from __future__ import annotations

import re

import streamlit as st

LANGS = {"en": "English", "zh": "中文"}
DEFAULT_LANG = "en"
LANG_KEY = "lang"

STRINGS: dict[str, dict[str, str]] = {
    # ---- frame and navigation
    "app.title": {"en": "GateScope", "zh": "GateScope 门控透镜"},
    "app.tagline": {"en": "Look inside LSTM and GRU sentiment models.", "zh": "看清 LSTM 与 GRU 情感模型的内部。"},
    "lang.label": {"en": "Language / 语言", "zh": "语言 / Language"},
    "page.explore": {"en": "Explore", "zh": "探索"},
    "page.compare": {"en": "Compare", "zh": "对比"},
    "page.learn": {"en": "Learn", "zh": "学习"},
    "page.models": {"en": "Models", "zh": "模型"},
    "page.train": {"en": "Train", "zh": "训练"},
    "page.missing": {"en": "This page could not be loaded: {err}", "zh": "无法加载此页面：{err}"},
    "unexpected": {"en": "Something went wrong while drawing this page ({err}). The other pages keep working; "
                         "try another review or model.",
                   "zh": "绘制本页时出错（{err}）。其他页面不受影响；请换一条评论或换一个模型再试。"},
    # ---- model picker and catalog
    "picker.dataset": {"en": "Dataset", "zh": "数据集"},
    "picker.dataset.help": {"en": "The data the model was trained on; it fixes the language it reads.",
                            "zh": "模型的训练数据；它决定模型读哪种语言。"},
    "picker.cell": {"en": "Cell", "zh": "循环单元"},
    "picker.cell.help": {"en": "LSTM: input, forget and output gates and a cell state. GRU: reset and update gates. "
                               "RNN: a plain tanh recurrence, no gates.",
                         "zh": "LSTM：输入门、遗忘门、输出门和细胞状态。GRU：重置门和更新门。RNN：普通 tanh 循环，没有门。"},
    "picker.pooling": {"en": "Pooling", "zh": "池化"},
    "picker.pooling.help": {"en": "How the hidden states of all tokens become one vector: the last step, the maximum "
                                  "per unit, the mean, or an attention-weighted sum.",
                            "zh": "如何把所有词元的隐藏状态合成一个向量：取最后一步、逐单元取最大值、取平均，或按注意力加权求和。"},
    "picker.model": {"en": "Model", "zh": "模型"},
    "picker.model.help": {"en": "Several models match: shipped ones and those your training runs produced.",
                          "zh": "有多个模型符合：随附的模型和你的训练任务产生的模型。"},
    "picker.none": {"en": "No model is available. Shipped models live in assets/models; train one on the Train page.",
                    "zh": "没有可用的模型。随附模型位于 assets/models；也可以在“训练”页训练一个。"},
    "picker.unavailable": {"en": "{n} model(s) unavailable", "zh": "{n} 个模型不可用"},
    "picker.load_failed": {"en": "The model {name} could not be loaded: {err}. Pick another one; the others keep working.",
                           "zh": "无法加载模型 {name}：{err}。请换一个模型，其他模型不受影响。"},
    "source.shipped": {"en": "shipped", "zh": "随附"},
    "source.run": {"en": "trained run", "zh": "训练任务"},
    "lang.en": {"en": "English", "zh": "英文"},
    "lang.zh": {"en": "Chinese", "zh": "中文"},
    "lang.unknown": {"en": "no letters", "zh": "无文字"},
    "cell.lstm": {"en": "LSTM", "zh": "LSTM"},
    "cell.gru": {"en": "GRU", "zh": "GRU"},
    "cell.rnn": {"en": "RNN", "zh": "RNN"},
    "pool.last": {"en": "last", "zh": "末步"},
    "pool.max": {"en": "max", "zh": "最大"},
    "pool.mean": {"en": "mean", "zh": "平均"},
    "pool.attention": {"en": "attention", "zh": "注意力"},
    "card.line": {"en": "{name} · {cell} · {pooling} pooling · {layers} layer(s) × {hidden} units{bi} · {source}",
                  "zh": "{name} · {cell} · {pooling}池化 · {layers} 层 × {hidden} 单元{bi} · {source}"},
    "card.bi": {"en": ", bidirectional", "zh": "，双向"},
    "card.accuracy": {"en": "test accuracy {acc:.1%} on {n:,} reviews", "zh": "测试准确率 {acc:.1%}（{n:,} 条评论）"},
    "card.accuracy_only": {"en": "test accuracy {acc:.1%}", "zh": "测试准确率 {acc:.1%}"},
    "card.size": {"en": "{params} parameters, {size}", "zh": "{params} 个参数，{size}"},
    # ---- review input
    "review.label": {"en": "Review (English or Chinese)", "zh": "评论（英文或中文）"},
    "review.help": {"en": "Type or paste a review. The language is detected; with “Match the model to the review's "
                          "language” on, the dataset follows it. Long reviews are cut to the model's maximum length.",
                    "zh": "输入或粘贴一条评论。语言会被自动识别；勾选“让模型跟随评论语言”时，数据集会随之切换。过长的评论会按模型的最大长度截断。"},
    "review.placeholder": {"en": "e.g. The acting was wonderful, but the plot made no sense.",
                           "zh": "例如：房间很干净，但是早餐太差了。"},
    "review.detected": {"en": "Detected language: {lang} · {chars:,} characters", "zh": "识别的语言：{lang} · {chars:,} 个字符"},
    "review.follow": {"en": "Match the model to the review's language", "zh": "让模型跟随评论语言"},
    "review.follow.help": {"en": "When the review's language changes, switch to a dataset of that language.",
                           "zh": "评论语言变化时，自动切换到该语言的数据集。"},
    "review.other_language": {"en": "This review looks {lang}, but the model reads {model}: it found no words it can read. "
                                    "Pick a {lang} model, or turn on “Match the model to the review's language”.",
                              "zh": "这条评论看起来是{lang}，但模型读的是{model}：找不到它能读的词。请选择{lang}模型，或勾选“让模型跟随评论语言”。"},
    "review.analyse": {"en": "Analyse", "zh": "分析"},
    "example.label": {"en": "Try an example", "zh": "试试示例"},
    "example.placeholder": {"en": "Pick an example review…", "zh": "选一条示例评论……"},
    "example.help": {"en": "Short reviews written for GateScope: clearly positive, clearly negative, mixed, negation, sarcasm.",
                     "zh": "为 GateScope 编写的短评论：明显正面、明显负面、褒贬参半、否定、反讽。"},
    "kind.positive": {"en": "positive", "zh": "正面"},
    "kind.negative": {"en": "negative", "zh": "负面"},
    "kind.mixed": {"en": "mixed", "zh": "褒贬参半"},
    "kind.negation": {"en": "negation", "zh": "否定"},
    "kind.sarcasm": {"en": "sarcasm", "zh": "反讽"},
    # ---- prediction
    "pred.label": {"en": "Prediction", "zh": "预测"},
    "label.positive": {"en": "Positive", "zh": "正面"},
    "label.negative": {"en": "Negative", "zh": "负面"},
    "pred.bar": {"en": "P(positive) = {p:.3f}", "zh": "P(正面) = {p:.3f}"},
    "pred.tokens": {"en": "{n} tokens read, {unk} not in the vocabulary", "zh": "读取 {n} 个词元，其中 {unk} 个不在词表中"},
    "pred.confidence": {"en": "{p:.1%} sure", "zh": "置信度 {p:.1%}"},
    # ---- explore page
    "explore.title": {"en": "Explore a review", "zh": "探索一条评论"},
    "explore.intro": {"en": "Type a review, pick a model, and see every gate of the recurrent layer read it token by token.",
                      "zh": "输入一条评论、选择一个模型，看循环层的每个门如何逐词读它。"},
    "tab.gates": {"en": "Gates", "zh": "门控"},
    "tab.pooling": {"en": "Pooling", "zh": "池化"},
    "tab.reading": {"en": "Reading", "zh": "阅读"},
    "tab.saturation": {"en": "Saturation", "zh": "饱和度"},
    "tab.downloads": {"en": "Downloads", "zh": "下载"},
    "gates.layer": {"en": "Layer and direction", "zh": "层与方向"},
    "gates.layer_option": {"en": "layer {layer} · {direction}", "zh": "第 {layer} 层 · {direction}"},
    "dir.forward": {"en": "forward", "zh": "正向"},
    "dir.backward": {"en": "backward", "zh": "反向"},
    "gates.sort": {"en": "Sort units", "zh": "单元排序"},
    "gates.sort.help": {"en": "Order the hidden units by their hidden state h_t: mean |h| (activity), variance over the "
                              "tokens, or |correlation| with the prediction after each prefix.",
                        "zh": "按隐藏状态 h_t 给单元排序：平均 |h|（活跃度）、随词元的方差，或与逐前缀预测的相关系数绝对值。"},
    "sort.none": {"en": "unit number", "zh": "单元编号"},
    "sort.activity": {"en": "activity", "zh": "活跃度"},
    "sort.variance": {"en": "variance", "zh": "方差"},
    "sort.correlation": {"en": "correlation with the prediction", "zh": "与预测的相关性"},
    "gates.topk": {"en": "Units shown (top K)", "zh": "显示的单元数（前 K 个）"},
    "gates.which": {"en": "Panels", "zh": "面板"},
    "gates.help": {"en": "Tokens run left to right, hidden units top to bottom. Sigmoid gates use one sequential scale "
                         "(0 to 1), tanh quantities one diverging scale (−1 to 1), the cell state its own diverging scale. "
                         "Hover a cell for token, position, unit and value.",
                   "zh": "横轴是词元（从左到右），纵轴是隐藏单元。sigmoid 门共用一个顺序色阶（0 到 1），tanh 量共用一个发散色阶（−1 到 1），"
                         "细胞状态使用自己的发散色阶。悬停可查看词元、位置、单元和数值。"},
    "gates.equations": {"en": "The equations ({cell}, as PyTorch computes them)", "zh": "公式（{cell}，按 PyTorch 的实现）"},
    "pooling.help.max": {"en": "Max pooling keeps, for each unit, its largest value over the tokens: a token's bar is the "
                               "share of units it won (forward and backward directions stacked).",
                         "zh": "最大池化对每个单元取所有词元中的最大值：柱高是该词元赢得的单元占比（正向与反向叠加）。"},
    "pooling.help.last": {"en": "Last pooling reads the forward direction at the last token and the backward direction at "
                                "the first: only those steps reach the classifier.",
                          "zh": "末步池化读取正向在最后一个词元的状态、反向在第一个词元的状态：只有这两步进入分类器。"},
    "pooling.help.mean": {"en": "Mean pooling averages all steps: every token weighs the same.",
                          "zh": "平均池化对所有时间步取平均：每个词元权重相同。"},
    "pooling.help.attention": {"en": "Attention pooling learns a weight per token (softmax over the review) and sums the "
                                     "hidden states with those weights.",
                               "zh": "注意力池化为每个词元学习一个权重（在整条评论上做 softmax），再按权重对隐藏状态求和。"},
    "reading.method": {"en": "Attribution", "zh": "归因方法"},
    "reading.method.help": {"en": "Occlusion: how much P(positive) drops when the token is replaced by <unk>. "
                                  "Integrated gradients: each token's contribution to P(positive), integrated along a path from "
                                  "an all-<pad> review (slower).",
                            "zh": "遮挡：把词元换成 <unk> 后 P(正面) 下降多少。积分梯度：沿从全 <pad> 评论出发的路径积分，"
                                  "得到每个词元对 P(正面) 的贡献（较慢）。"},
    "method.occlusion": {"en": "occlusion", "zh": "遮挡"},
    "method.integrated_gradients": {"en": "integrated gradients", "zh": "积分梯度"},
    "reading.ig_delta": {"en": "Completeness gap of the integrated gradients: {delta:.2g} (attributions sum to the change "
                               "in P(positive) from the all-<pad> baseline, up to this gap).",
                         "zh": "积分梯度的完备性误差：{delta:.2g}（各词元归因之和等于相对全 <pad> 基线的 P(正面) 变化，误差在此范围内）。"},
    "reading.wait": {"en": "Reading the review prefix by prefix and token by token…", "zh": "正在逐前缀、逐词元地重读评论……"},
    "reading.colored": {"en": "The review, each token coloured by its attribution (blue: towards positive, magenta: "
                              "towards negative; dotted underline: not in the vocabulary).",
                        "zh": "评论原文，每个词元按归因着色（蓝色：偏向正面；品红：偏向负面；虚下划线：词表外）。"},
    "reading.prefix.help": {"en": "Each point is the model's P(positive) had the review ended after that token.",
                            "zh": "每个点是：假如评论在该词元处结束，模型给出的 P(正面)。"},
    "saturation.help": {"en": "A saturated gate is nearly closed (below 0.1) or fully open (above 0.9); in the legend, the "
                              "shares of values below | above.",
                        "zh": "饱和的门几乎关闭（低于 0.1）或完全打开（高于 0.9）；图例中给出低于 | 高于阈值的数值占比。"},
    "downloads.json": {"en": "Trace (JSON)", "zh": "追踪数据（JSON）"},
    "downloads.tokens": {"en": "Per-token table (CSV)", "zh": "逐词元表（CSV）"},
    "downloads.gates": {"en": "All gate values (CSV, long format)", "zh": "全部门控值（CSV，长格式）"},
    "downloads.help": {"en": "Each figure downloads as a PNG from its own toolbar (the camera icon, top right of the "
                             "chart, shown on hover): it is drawn by your browser, offline, with no server involved.",
                       "zh": "每张图都可以通过自身工具栏下载为 PNG（悬停时图表右上角的相机图标）：由浏览器离线绘制，无需服务器。"},
    "downloads.note": {"en": "The files are made when you click.", "zh": "点击时才生成文件。"},
    # ---- compare page
    "compare.title": {"en": "Compare two models", "zh": "对比两个模型"},
    "compare.intro": {"en": "Two models read the same review: their predictions, pooling credit, prefix curves and gates side by side.",
                      "zh": "两个模型读同一条评论：并排比较它们的预测、池化贡献、逐前缀曲线和门控。"},
    "compare.a": {"en": "Model A", "zh": "模型 A"},
    "compare.b": {"en": "Model B", "zh": "模型 B"},
    "compare.same": {"en": "Both sides show the same model; pick another one on one side.", "zh": "两边是同一个模型；请在一边换一个模型。"},
    "compare.pooling": {"en": "Pooling credit per token", "zh": "每个词元的池化贡献"},
    "compare.prefix": {"en": "Prediction after each prefix", "zh": "逐前缀的预测"},
    "compare.heatmaps": {"en": "Gates side by side", "zh": "并排查看门控"},
    "compare.tokens_differ": {"en": "The two models read different tokens (their tokenizers or maximum lengths differ); "
                                    "the overlays align tokens by position.",
                              "zh": "两个模型读到的词元不同（分词方式或最大长度不同）；叠加图按位置对齐。"},
}

# Core (English) messages -> Chinese, for the common cases; matched with re.fullmatch.
_CORE_ZH: list[tuple[str, str]] = [
    (r"The review is empty: type or paste some text\.", "评论为空：请输入或粘贴一些文字。"),
    (r"A review must be text\.", "评论必须是文字。"),
    (r"No words found in the review \(only symbols, emoji or punctuation\)\.", "评论中没有可读的词（只有符号、表情或标点）。"),
    (r"This review looks English, but the model reads Chinese: its prediction means little\.",
     "这条评论看起来是英文，但模型读的是中文：它的预测没有多大意义。"),
    (r"This review looks Chinese, but the model reads English: its prediction means little\.",
     "这条评论看起来是中文，但模型读的是英文：它的预测没有多大意义。"),
    (r"The review was cut to the model's first (\d+) tokens \((\d+) more not read\)\.", r"评论已截断为模型的前 \1 个词元（另有 \2 个未读）。"),
    (r"The review was cut to the model's first (\d+) tokens \(the rest, ([\d,]+) more characters, not read\)\.",
     r"评论已截断为模型的前 \1 个词元（其余 \2 个字符未读）。"),
]


def register(strings: dict[str, dict[str, str]]) -> None:
    """Add a page's strings (a later page module may keep its own dict and register it)."""
    STRINGS.update(strings)


def lang() -> str:
    """The interface language now: 'en' or 'zh'."""
    try:
        v = st.session_state.get(LANG_KEY, DEFAULT_LANG)
    except Exception:  # outside a Streamlit script run
        v = DEFAULT_LANG
    return v if v in LANGS else DEFAULT_LANG


def t(key: str, language: str | None = None, **kw) -> str:
    """The string for ``key`` in the current (or given) language, formatted with ``kw``."""
    entry = STRINGS.get(key)
    if entry is None:
        return f"[{key}]"
    s = entry.get(language or lang()) or entry.get("en", f"[{key}]")
    if kw:
        try:
            return s.format(**kw)
        except (KeyError, IndexError, ValueError):
            return s
    return s


def core_message(message: str, language: str | None = None) -> str:
    """A core (English) message in the interface language: each sentence translated where known."""
    if (language or lang()) != "zh" or not message:
        return message
    out = []
    for sentence in re.split(r"(?<=\.)\s+(?=[A-Z])", message.strip()):
        for pattern, zh in _CORE_ZH:
            m = re.fullmatch(pattern, sentence)
            if m:
                out.append(m.expand(zh))
                break
        else:
            out.append(sentence)
    return "".join(out) if all(not re.search(r"[A-Za-z]", o) for o in out) else " ".join(out)


def language_switch() -> str:
    """The sidebar's language switch; returns the chosen language."""
    if LANG_KEY not in st.session_state:
        q = st.query_params.get("lang")
        st.session_state[LANG_KEY] = q if q in LANGS else DEFAULT_LANG
    st.sidebar.radio(t("lang.label"), list(LANGS), format_func=LANGS.get, key=LANG_KEY, horizontal=True)
    return lang()
