"""Patterns: units and patterns across a dataset. Trace a sample of a model's test split (cached on
disk), then select units over a token range of one review and find where else they are on together
(as LSTMVis does), see which words raise and lower each unit with units and words co-clustered (as
RNNVis does), and the gate saturation of every unit over the sample (Karpathy et al. 2015).

Widgets and layout only: the work is ``sentiment.probe.patterns``, the figures ``sentiment.figures.patterns``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import streamlit as st

from sentiment.modeling import catalog
from sentiment.figures import patterns as pf
from sentiment.probe import patterns
from sentiment.data import uploads
from sentiment.errors import GateScopeError
from sentiment.figures.style import gate_kind, gate_title
from sentiment.probe.instrument import GATE_NAMES, SIGMOID_GATES
from . import common, present
from .i18n import core_message, lang, register, t
from .models import dataset_here

log = logging.getLogger("gatescope.ui")

register({
    "page.patterns": {"en": "Patterns", "zh": "模式"},
    "patterns.title": {"en": "Units and patterns across a dataset", "zh": "跨数据集的单元与模式"},
    "patterns.intro": {"en": "Trace a sample of the model's test reviews once (it is kept on disk), then: pick a token "
                             "range in one review and the units that stay on over it, and find where else in the sample "
                             "those units are on together; see which words raise and lower each unit; and how often each "
                             "gate sits saturated.",
                       "zh": "先把模型测试集的一批评论追踪一次（结果保存在磁盘上），然后：在一条评论里选一段词元和在这段上一直激活的单元，"
                             "找出样本中这些单元同时激活的其他地方；查看哪些词让每个单元升高或降低；以及每个门处于饱和状态的频率。"},
    "patterns.size": {"en": "Reviews in the sample", "zh": "样本中的评论数"},
    "patterns.data": {"en": "Reviews to trace", "zh": "要追踪的评论"},
    "patterns.data.split": {"en": "The model's test split", "zh": "模型的测试集"},
    "patterns.data.upload": {"en": "A CSV of yours", "zh": "你自己的 CSV"},
    "patterns.data.help": {"en": "Trace a sample of the reviews the model was tested on, or of your own labelled reviews "
                                 "(a CSV with a label and a text column).",
                           "zh": "追踪模型测试集的一部分评论，或你自己带标签的评论（含标签列和文本列的 CSV）。"},
    "patterns.upload": {"en": "CSV or TSV with a label column (0/1, neg/pos) and a text column",
                        "zh": "带标签列（0/1、neg/pos）和文本列的 CSV 或 TSV"},
    "patterns.upload.help": {"en": "The file itself is not saved, but the trace of the sample (with its tokens and labels) "
                                   "is cached on this server like any other, until the cache's disk limit removes it.",
                             "zh": "文件本身不会保存，但样本的追踪结果（含词元和标签）会像其他追踪一样缓存在本服务器上，直到缓存的磁盘上限将其删除。"},
    "patterns.nocache": {"en": "The trace could not be kept in the cache folder ({root}): it is used for this view only and "
                               "will be made again next time.",
                         "zh": "追踪结果无法保存到缓存文件夹（{root}）：只用于本次查看，下次需要重新追踪。"},
    "patterns.upload.bad": {"en": "This file cannot be used: {err}", "zh": "无法使用此文件：{err}"},
    "patterns.upload.ok": {"en": "{n:,} labelled reviews ({pos:,} positive, {neg:,} negative).",
                           "zh": "{n:,} 条带标签的评论（正面 {pos:,}，负面 {neg:,}）。"},
    "patterns.upload.language": {"en": "These reviews look {data}, but the model reads {model}: most words will be unknown to it.",
                                 "zh": "这些评论看起来是{data}，但模型读的是{model}：大多数词对它来说是未知的。"},
    "patterns.trace.upload": {"en": "Trace {n:,} of your reviews", "zh": "追踪你的 {n:,} 条评论"},
    "patterns.size.help": {"en": "A seeded sample of the model's test split ({total:,} reviews); the whole split at most. "
                                 "On disk: {bytes:,} bytes per token read (every gate of every layer and direction, float16).",
                           "zh": "从模型测试集（{total:,} 条评论）中按固定种子抽样；最多整个测试集。磁盘占用：每个词元 {bytes:,} 字节"
                                 "（每层、每个方向的全部门控，float16）。"},
    "patterns.trace": {"en": "Trace {n:,} test reviews", "zh": "追踪 {n:,} 条测试评论"},
    "patterns.tracing": {"en": "Tracing: {done:,} of {total:,} reviews", "zh": "追踪中：{done:,} / {total:,} 条评论"},
    "patterns.untraced": {"en": "This sample has not been traced yet for this model. Tracing {n:,} {dataset} reviews takes "
                                "up to a minute on a small CPU (a bar shows how far it is); the result is kept for the next visit.",
                          "zh": "该模型的这个样本还没有追踪过。在小型 CPU 上追踪 {n:,} 条 {dataset} 评论最多约需一分钟（进度条会显示进度）；"
                                "结果会保存下来供下次使用。"},
    "patterns.default": {"en": "Opened on the span where this model's units stay highest; pick your own phrase below or by "
                               "dragging across the tokens.",
                         "zh": "已自动选中本模型单元数值保持最高的片段；可在下方或在词元上拖动来选择你自己的短语。"},
    "patterns.summary": {"en": "{n:,} test reviews ({tokens:,} tokens) traced in {secs:.1f} s · {size} on disk{skipped}",
                         "zh": "已追踪 {n:,} 条测试评论（{tokens:,} 个词元），用时 {secs:.1f} 秒 · 磁盘占用 {size}{skipped}"},
    "patterns.summary.upload": {"en": "{n:,} of your reviews ({tokens:,} tokens) traced in {secs:.1f} s · {size} on disk{skipped}",
                                "zh": "已追踪你的 {n:,} 条评论（{tokens:,} 个词元），用时 {secs:.1f} 秒 · 磁盘占用 {size}{skipped}"},
    "patterns.skipped": {"en": " · {k} reviews without readable words skipped", "zh": " · 跳过了 {k} 条没有可读词语的评论"},
    "patterns.nodata": {"en": "The dataset “{dataset}” is not on this machine, so its test reviews cannot be traced. "
                              "Put it in the data folder (GATESCOPE_DATA, or ../shared/data; see the README).",
                        "zh": "本机上没有数据集“{dataset}”，无法追踪它的测试评论。请把它放到数据文件夹中（GATESCOPE_DATA 或 ../shared/data，见 README）。"},
    "patterns.failed": {"en": "The sample could not be traced: {err}", "zh": "无法追踪样本：{err}"},
    "patterns.gate": {"en": "Gate or state", "zh": "门或状态"},
    "patterns.gate.help": {"en": "Which values to read: a gate (LSTM i f o, GRU r z), a candidate (g, n), the cell state c "
                                 "or the hidden state h.",
                           "zh": "读取哪种数值：门（LSTM 的 i f o，GRU 的 r z）、候选值（g、n）、细胞状态 c 或隐藏状态 h。"},
    "patterns.tab.select": {"en": "Select & match", "zh": "选择与匹配"},
    "patterns.tab.words": {"en": "Unit words", "zh": "单元与词"},
    "patterns.tab.saturation": {"en": "Saturation", "zh": "饱和度"},
    "patterns.source": {"en": "Review", "zh": "评论"},
    "patterns.source.sample": {"en": "from the sample", "zh": "样本中的评论"},
    "patterns.source.own": {"en": "my own", "zh": "自己输入"},
    "patterns.review": {"en": "Review of the sample", "zh": "样本中的评论"},
    "patterns.review.help": {"en": "Shortest first. The number is the review's position in the test split.",
                             "zh": "从短到长排列。编号是该评论在测试集中的位置。"},
    "patterns.review.option": {"en": "#{idx} · {label} · {n} tokens · {start}", "zh": "#{idx} · {label} · {n} 个词元 · {start}"},
    "patterns.own": {"en": "Your review", "zh": "你的评论"},
    "patterns.own.default_en": {"en": "The acting was not bad at all, and I was never bored.", "zh": "The acting was not bad at all, and I was never bored."},
    "patterns.own.default_zh": {"en": "房间很小，服务也差，再也不会来了。", "zh": "房间很小，服务也差，再也不会来了。"},
    "patterns.span": {"en": "Token range", "zh": "词元范围"},
    "patterns.span.help": {"en": "The tokens over which a unit must stay above the threshold. Or drag across the tokens on "
                                 "the heatmap (box select).",
                           "zh": "单元必须在这段词元上一直高于阈值。也可以在热力图上横向拖动框选词元。"},
    "patterns.threshold": {"en": "Threshold", "zh": "阈值"},
    "patterns.threshold.help": {"en": "A unit is on where its value is above this.", "zh": "数值高于该阈值时，单元视为激活。"},
    "patterns.units": {"en": "{k} units stay above {thr} over “{phrase}”: {units}", "zh": "{k} 个单元在“{phrase}”上一直高于 {thr}：{units}"},
    "patterns.units.none": {"en": "No unit stays above {thr} over “{phrase}”. Lower the threshold, shorten the range or pick "
                                  "another gate.",
                            "zh": "没有单元在“{phrase}”上一直高于 {thr}。请降低阈值、缩短范围或换一个门。"},
    "patterns.suggest": {"en": "Use {thr:g}: three units stay above it here", "zh": "使用 {thr:g}：这里有三个单元一直高于它"},
    "patterns.top": {"en": "Match the strongest", "zh": "用最强的几个单元匹配"},
    "patterns.top.help": {"en": "How many of the selected units (highest minimum over the range first) must be on together.",
                          "zh": "选中单元中（按范围内最小值从高到低）需要同时激活的单元个数。"},
    "patterns.minlen": {"en": "Shortest phrase (tokens)", "zh": "最短短语（词元数）"},
    "patterns.matches": {"en": "Where else these units are on together", "zh": "这些单元在别处同时激活的地方"},
    "patterns.matches.count": {"en": "{total:,} phrases in the sample where units {units} are all above {thr} ({share:.0%} of "
                                     "them in positive reviews); the {shown} longest (then strongest):",
                               "zh": "样本中有 {total:,} 个短语里单元 {units} 全部高于 {thr}（其中 {share:.0%} 在正面评论中）；"
                                     "下面是最长（其次最强）的 {shown} 个："},
    "patterns.matches.none": {"en": "No phrase of the sample has these units on together.", "zh": "样本中没有这些单元同时激活的短语。"},
    "patterns.match.row": {"en": "review #{idx} · {label} · {n} tokens · mean {mean:.3f}",
                           "zh": "评论 #{idx} · {label} · {n} 个词元 · 平均 {mean:.3f}"},
    "patterns.mincount": {"en": "Words read at least", "zh": "词的最少出现次数"},
    "patterns.mincount.help": {"en": "Rarer words are left out: their mean says little.", "zh": "更少出现的词不计入：它们的平均值说明不了什么。"},
    "patterns.k": {"en": "Clusters", "zh": "簇数"},
    "patterns.words": {"en": "Words shown", "zh": "显示的词数"},
    "patterns.words.help": {"en": "The words with the largest effect on any unit.", "zh": "对某个单元影响最大的那些词。"},
    "patterns.unit": {"en": "Unit", "zh": "单元"},
    "patterns.raise": {"en": "Words that raise unit {u}", "zh": "让单元 {u} 升高的词"},
    "patterns.lower": {"en": "Words that lower unit {u}", "zh": "让单元 {u} 降低的词"},
    "patterns.words.caption": {"en": "{w:,} words read at least {m} times; each cell: the unit's mean value when the word is "
                                     "read minus its mean over all {tokens:,} tokens. Units and words co-clustered (spectral "
                                     "co-clustering of |difference|), clusters ordered strongest first.",
                               "zh": "{w:,} 个词出现至少 {m} 次；每格：读到该词时单元的平均值减去它在全部 {tokens:,} 个词元上的平均值。"
                                     "单元和词经过共聚类（对 |差值| 做谱共聚类），簇按强度从强到弱排列。"},
    "patterns.col.word": {"en": "word", "zh": "词"},
    "patterns.col.delta": {"en": "difference", "zh": "差值"},
    "patterns.col.count": {"en": "times read", "zh": "出现次数"},
    "patterns.sat.none": {"en": "A plain RNN has no sigmoid gates to saturate.", "zh": "普通 RNN 没有会饱和的 sigmoid 门。"},
    "patterns.sat.caption": {"en": "Each point is a unit: the share of the sample's tokens where the gate is below 0.1 (x) "
                                   "and above 0.9 (y). Units near the right edge (x) are almost always closed; near the top, "
                                   "almost always open; along the dotted line, always one or the other.",
                             "zh": "每个点是一个单元：样本词元中该门低于 0.1（横轴）与高于 0.9（纵轴）的占比。靠右的单元几乎总是关闭，"
                                   "靠上的几乎总是打开，位于虚线上的则总处于其中一种状态。"},
})

K = "pt"
DEFAULT_THRESHOLD = {"sigmoid": 0.5, "tanh": 0.3, "cell": 0.5}
SHOWN = 30  # matches listed


@st.cache_resource(show_spinner=False, max_entries=4)
def _open(path: str, stamp: float, sha: str) -> patterns.BatchTrace:
    """A cached batch trace directory, memory-mapped (one per directory and write time)."""
    return patterns.load_dir(path, sha)


@st.cache_resource(show_spinner=False, max_entries=8)
def _profile(path: str, stamp: float, key: tuple, min_count: int) -> patterns.WordProfile:
    return patterns.word_profile(_open(path, stamp, _sha_of(path)), key, min_count)


def _sha_of(path: str) -> str:
    return json.loads((Path(path) / "index.json").read_text(encoding="utf-8"))["weights_sha256"]


def _stamp(path: Path) -> float:
    return (path / "index.json").stat().st_mtime


def batch_for(ckpt, n: int, split: str = "test") -> patterns.BatchTrace | None:
    """The cached batch trace of this model's sample, or None (a broken one is removed)."""
    d = patterns.cache_path(ckpt, n, split=split)
    try:
        if not (d / "index.json").is_file():
            return None
        bt = _open(str(d), _stamp(d), patterns.weights_sha256(ckpt))
    except GateScopeError:
        patterns.cached(ckpt, n, split=split)  # removes what does not validate
        return None
    except OSError:  # removed meanwhile (the disk limit, another session): trace again
        return None
    patterns.touch(d)  # in use: the disk limit removes it last
    return bt


def render() -> None:
    st.title(t("patterns.title"))
    st.caption(t("patterns.intro"))
    entry = common.model_picker(K)
    if entry is None:
        return
    data = data_source(entry)
    if data is None:
        return
    ckpt = common.load(entry)
    if ckpt is None:
        return
    bt = sample_controls(entry, ckpt, *data)
    if bt is None:
        return
    gates = [g for g in GATE_NAMES[bt.cell]]
    c1, c2 = st.columns(2)
    with c1:
        gate = common.pick(t("patterns.gate"), gates, f"{K}_gate", "h" if "h" in gates else gates[0],
                           format_func=lambda g: gate_title(g, lang()), help=t("patterns.gate.help"))
    with c2:
        layer, direction = common.pick(t("gates.layer"), bt.layers(), f"{K}_layer", format_func=common.layer_label)
    key = (layer, direction, gate)
    tabs = st.tabs([t("patterns.tab.select"), t("patterns.tab.words"), t("patterns.tab.saturation")])
    with tabs[0]:
        select_and_match(entry, bt, key)
    with tabs[1]:
        unit_words(bt, key)
    with tabs[2]:
        saturation_view(bt)


@st.cache_data(show_spinner=False, max_entries=4)
def _read_upload(content: bytes, filename: str):
    return uploads.read_upload(content, filename)


def data_source(entry: catalog.ModelEntry) -> tuple[str, list | None, int] | None:
    """What to trace: ("test", None, test size) for the model's own test split, or ("upload-<sha>",
    the (text, label) pairs, their number) for a CSV the person uploads; None after a message."""
    source = common.pick(t("patterns.data"), ["split", "upload"], f"{K}_data", widget=st.radio, horizontal=True,
                         format_func=lambda s: t(f"patterns.data.{s}"), help=t("patterns.data.help"))
    if source == "split":
        if not dataset_here(entry.card):
            st.info(t("patterns.nodata", dataset=entry.dataset or "?"), icon=":material/folder_off:")
            return None
        sizes = entry.card.get("sizes") if isinstance(entry.card.get("sizes"), dict) else {}
        return "test", None, int(sizes.get("test") or entry.test_size or patterns.DEFAULT_SAMPLE)
    up = st.file_uploader(t("patterns.upload"), type=["csv", "tsv", "txt"], key=f"{K}_upload", help=t("patterns.upload.help"))
    if up is None:
        return None
    try:
        summary, examples = _read_upload(up.getvalue(), up.name)
    except GateScopeError as e:
        st.error(t("patterns.upload.bad", err=core_message(str(e))), icon=":material/error:")
        return None
    if summary.language in ("en", "zh") and entry.language in ("en", "zh") and summary.language != entry.language:
        st.warning(t("patterns.upload.language", data=t(f"lang.{summary.language}"), model=t(f"lang.{entry.language}")),
                   icon=":material/translate:")
    st.caption(t("patterns.upload.ok", n=summary.reviews, pos=summary.positive, neg=summary.negative))
    return f"upload-{summary.sha256[:16]}", examples, len(examples)


def sample_controls(entry: catalog.ModelEntry, ckpt, split: str, examples: list | None, total: int
                    ) -> patterns.BatchTrace | None:
    """Sample size, the trace button with its progress bar; the cached trace when there is one."""
    n = int(st.number_input(t("patterns.size"), min_value=1, max_value=max(1, total), value=min(patterns.DEFAULT_SAMPLE, total),
                            step=100, key=f"{K}_n", help=t("patterns.size.help", total=total, bytes=patterns.bytes_per_token(ckpt))))
    n = min(n, total)
    bt = batch_for(ckpt, n, split)
    if bt is None:
        note = st.empty()
        note.info(t("patterns.untraced", n=n, dataset=entry.dataset if split == "test" else "CSV"), icon=":material/hourglass_empty:")
        label = t("patterns.trace", n=n) if split == "test" else t("patterns.trace.upload", n=n)
        button = st.empty()  # emptied once clicked: a traced sample shows no "Trace" button
        if not button.button(label, key=f"{K}_trace", type="primary"):
            return None
        note.empty()
        button.empty()
        bar = st.progress(0.0, text=t("patterns.tracing", done=0, total=n))

        def progress(done: int, all_: int) -> None:
            bar.progress(min(1.0, done / max(1, all_)), text=t("patterns.tracing", done=done, total=all_))

        try:
            made = patterns.load_or_trace(ckpt, n, split=split, examples=examples, progress=progress)
        except GateScopeError as e:
            bar.empty()
            st.error(t("patterns.failed", err=core_message(str(e))), icon=":material/error:")
            return None
        except Exception as e:  # never a traceback in front of a person
            log.exception("batch trace of %s", entry.path)
            bar.empty()
            st.error(t("patterns.failed", err=f"{type(e).__name__}: {e}"), icon=":material/error:")
            return None
        bar.empty()
        bt = batch_for(ckpt, n, split)
        if bt is None:  # traced, but the cache folder could not keep it: use it for this run only
            st.warning(t("patterns.nocache", root=patterns.cache_root()), icon=":material/warning:")
            bt = made
    skipped = int(bt.info.get("skipped", 0))
    st.caption(t("patterns.summary" if split == "test" else "patterns.summary.upload", n=bt.n, tokens=bt.n_tokens, secs=float(bt.info.get("seconds", 0.0)),
                 size=catalog.format_bytes(bt.disk_bytes()), skipped=t("patterns.skipped", k=skipped) if skipped else ""))
    return bt


# ---- select & match ---------------------------------------------------------------------------------


def _label(y: int) -> str:
    return t("label.positive") if y == 1 else t("label.negative")


def _review_values(entry: catalog.ModelEntry, bt: patterns.BatchTrace, key: tuple):
    """(tokens, values [T, H]) of the review the person picked (of the sample, or typed); None after a message."""
    source = common.pick(t("patterns.source"), ["sample", "own"], f"{K}_source", widget=st.segmented_control, required=True,
                         format_func=lambda s: t(f"patterns.source.{s}"))
    if source == "own":
        if f"{K}_own" not in st.session_state:
            st.session_state[f"{K}_own"] = t(f"patterns.own.default_{'zh' if entry.language == 'zh' else 'en'}")
        text = st.text_area(t("patterns.own"), key=f"{K}_own", height=90)
        tr = common.trace_for(entry, text, method=None, prefix=False)
        if tr is None:
            return None
        return tr.tokens, tr.gate(key[2], key[0], key[1])
    lengths = bt.lengths
    options = list(range(bt.n))
    default = next((i for i in options if lengths[i] >= 20), 0)
    def label(i: int) -> str:
        start = pf.join_tokens(bt.review_tokens(i)[:8], bt.info.get("language", "en"))
        return t("patterns.review.option", idx=int(bt.split_index[i]), label=_label(int(bt.labels[i])), n=int(lengths[i]), start=start)

    i = common.pick(t("patterns.review"), options, f"{K}_review", default, format_func=label, help=t("patterns.review.help"))
    return bt.review_tokens(i), bt.review(i, key)


def _apply_brush(length: int) -> None:
    """A new box selection on the heatmap sets the token range (before the range slider is drawn)."""
    state = st.session_state.get(f"{K}_brush")
    selection = state.get("selection") if isinstance(state, dict) or hasattr(state, "get") else None
    if not selection:
        return
    stamp = json.dumps(selection, sort_keys=True, default=str)
    if stamp == st.session_state.get(f"{K}_brush_seen"):
        return
    st.session_state[f"{K}_brush_seen"] = stamp
    span = pf.span_from_selection(dict(selection), length)
    if span is not None:
        st.session_state[f"{K}_span"] = span


def _open_on_a_finding(tokens: list, values, key: tuple, span_key: str, thr_key: str, lo: float, hi: float):
    """For a review or gate not shown before: the span and threshold where the data find units
    (``patterns.default_selection``) into the range slider and the threshold. Returns the selection the
    data chose for this review and gate ((start, end), threshold), None when there was none."""
    stamp = hash((tuple(tokens), key))
    if st.session_state.get(f"{K}_opened_for") == stamp:
        return st.session_state.get(f"{K}_opened_default")
    st.session_state[f"{K}_opened_for"] = stamp
    found = patterns.default_selection(values, tokens) if len(tokens) > 1 else None
    chosen = None
    if found is not None:
        a, b, thr = found
        chosen = ((a, b), float(min(hi, max(lo, thr))))
        st.session_state[span_key], st.session_state[thr_key] = chosen
    st.session_state[f"{K}_opened_default"] = chosen
    return chosen


def _set_threshold(key: str, value: float) -> None:
    st.session_state[key] = float(value)


def select_and_match(entry: catalog.ModelEntry, bt: patterns.BatchTrace, key: tuple) -> None:
    got = _review_values(entry, bt, key)
    if got is None:
        return
    tokens, values = got
    T = len(tokens)
    _apply_brush(T)
    span_key = f"{K}_span"
    kind = gate_kind(key[2])
    lo, hi = (0.0, 1.0) if kind == "sigmoid" else (-1.0, 1.0) if kind == "tanh" else (-3.0, 3.0)
    opened = _open_on_a_finding(tokens, values, key, span_key, f"{K}_thr_{kind}", lo, hi)
    span = st.session_state.get(span_key)
    if not (isinstance(span, (tuple, list)) and len(span) == 2 and all(isinstance(x, int) for x in span)
            and 0 <= span[0] <= span[1] < T):
        st.session_state.pop(span_key, None)  # another review: back to the default range
    c1, c2 = st.columns([3, 1])
    with c1:
        if T > 1:
            a, b = st.select_slider(t("patterns.span"), options=list(range(T)), value=(0, 1), key=span_key,
                                    help=t("patterns.span.help"), format_func=lambda i: f"{i}: {tokens[i]}")
        else:
            a = b = 0
    with c2:
        thr = st.slider(t("patterns.threshold"), lo, hi, DEFAULT_THRESHOLD[kind], 0.05, key=f"{K}_thr_{kind}",
                        help=t("patterns.threshold.help"))
    if opened == ((a, b), thr):
        st.caption(t("patterns.default"))  # while the selection is still the one the data chose
    units = patterns.select_units(values, a, b, thr)
    fig = pf.review_heatmap(tokens, values, key[2], span=(a, b), units=units, lang=lang())
    st.plotly_chart(present.scale_figure(fig), key=f"{K}_brush", on_select="rerun", selection_mode="box", config=common.plot_config("patterns-review"))
    phrase = pf.join_tokens(tokens[a: b + 1], entry.language)
    if units.size == 0:
        st.info(t("patterns.units.none", thr=f"{thr:g}", phrase=phrase), icon=":material/filter_alt_off:")
        better = patterns.threshold_for(values, a, b)
        if better is not None and lo <= better < thr:
            st.button(t("patterns.suggest", thr=better), key=f"{K}_suggest", on_click=_set_threshold,
                      args=(f"{K}_thr_{kind}", better), icon=":material/tune:")
        return
    listed = ", ".join(f"u{u}" for u in units[:40]) + (" …" if units.size > 40 else "")
    st.markdown(t("patterns.units", k=int(units.size), thr=f"{thr:g}", phrase=phrase, units=listed))
    c1, c2 = st.columns(2)
    with c1:
        k = int(st.number_input(t("patterns.top"), 1, int(units.size), min(int(units.size), 5), key=f"{K}_top",
                                help=t("patterns.top.help"))) if units.size > 1 else 1
    with c2:
        min_len = int(st.number_input(t("patterns.minlen"), 1, 50, 1, key=f"{K}_minlen"))
    used = units[:k]
    st.subheader(t("patterns.matches"))
    matches, total, positive = patterns.match(bt, key, used, thr, min_length=min_len, limit=SHOWN)
    if not matches:
        st.info(t("patterns.matches.none"), icon=":material/search_off:")
        return
    st.caption(t("patterns.matches.count", total=total, units=", ".join(f"u{u}" for u in used), thr=f"{thr:g}",
                 shown=len(matches), share=positive / total))
    language = "zh" if entry.language == "zh" else "en"
    for m in matches:
        st.markdown(f"- {pf.match_markdown(m, language)}  \n  *{t('patterns.match.row', idx=m.split_index, label=_label(m.label), n=m.length, mean=m.mean)}*")


# ---- unit words ---------------------------------------------------------------------------------------


def unit_words(bt: patterns.BatchTrace, key: tuple) -> None:
    c1, c2, c3 = st.columns(3)
    with c1:
        min_count = int(st.number_input(t("patterns.mincount"), 1, 10_000, max(3, min(20, bt.n // 100)), key=f"{K}_mincount",
                                        help=t("patterns.mincount.help")))
    with c2:
        k = int(st.slider(t("patterns.k"), 2, 12, 6, key=f"{K}_k"))
    with c3:
        n_words = int(st.slider(t("patterns.words"), 10, 120, 50, 5, key=f"{K}_nwords", help=t("patterns.words.help")))
    path = Path(bt.path)
    try:
        prof = _profile(str(path), _stamp(path), key, min_count)
    except GateScopeError as e:
        st.info(core_message(str(e)), icon=":material/info:")
        return
    view = patterns.unit_words(prof, n_words, k=k, seed=0)
    cc = view.clusters
    fig = pf.cocluster_heatmap(view.matrix, view.words, cc, key[2], lang=lang(), counts=view.counts)
    common.chart(fig, key=f"{K}_cocluster", filename="patterns-unit-words")
    st.caption(t("patterns.words.caption", w=len(prof.words), m=min_count, tokens=bt.n_tokens))
    unit = int(st.number_input(t("patterns.unit"), 0, bt.hidden_size - 1, int(cc.unit_order[0]), key=f"{K}_unit"))
    up, down = patterns.top_words(prof, unit, k=12)
    cols = st.columns(2)
    for col, title, rows in ((cols[0], t("patterns.raise", u=unit), up), (cols[1], t("patterns.lower", u=unit), down)):
        with col:
            st.markdown(f"**{title}**")
            st.dataframe([{t("patterns.col.word"): w, t("patterns.col.delta"): round(d, 4), t("patterns.col.count"): c}
                          for w, d, c in rows], hide_index=True, width="stretch")


# ---- saturation ---------------------------------------------------------------------------------------


def saturation_view(bt: patterns.BatchTrace) -> None:
    if not SIGMOID_GATES.get(bt.cell):
        st.info(t("patterns.sat.none"), icon=":material/info:")
        return
    common.chart(pf.saturation_scatter(patterns.saturation(bt), lang=lang()), key=f"{K}_saturation", filename="patterns-saturation")
    st.caption(t("patterns.sat.caption"))
