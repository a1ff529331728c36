"""What a person sees on an AppTest page, as text, and the English words in it.

``visible_texts(at)`` walks every element (markdown, captions, titles, alerts, labels, help, options,
buttons, tabs, expanders, metrics, table headers) and every plotly chart's words (titles, axis titles,
legend names, annotations, colour-bar titles, hover templates). ``english_words(text, allowed)``
returns the English words of a text that are not allowed: model names, gate symbols, technical names
and the user's own text are; the rest should be Chinese when the interface is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

# technical names and symbols a Chinese page may show as they are (lower case)
TECHNICAL = {
    "lstm", "gru", "rnn", "imdb", "chnsenticorp", "csv", "json", "tsv", "png", "utf", "gbk", "gb18030", "url", "http",
    "https", "p", "pytorch", "gatescope", "softmax", "sigmoid", "tanh", "σ", "unk", "pad", "cls", "id", "ids", "k",
    "a", "b", "x", "y", "w", "h", "c", "i", "f", "g", "o", "r", "z", "n", "t", "u", "s", "ms", "mb", "kb", "gb", "m",
    "acc", "cpu", "cuda", "gpu", "mps", "amp", "ddp", "torchrun", "jieba", "ig", "hotel", "e", "d", "l",
    "std", "log", "exp", "v", "q", "safetensors", "streamlit", "python", "plotly", "nvidia", "torch", "amd", "intel",
    "ece", "logits", "bow",  # calibration's and the bag of words' technical names
    "keras", "paddlepaddle", "pdparams", "tensorflow",  # the frameworks a model may come from
    "maas", "chinesenlpcorpus",  # proper names: the IMDB dataset's first author, the corpus that hosts ChnSentiCorp
}
SYMBOL = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\b[a-zA-Z]_(?:t|\{t[−-]1\}|t[−-]1|\w+)\b|\bW_\w+|\bb_\w+|\bx_t\b")  # i_t, c_{t−1}, W_ii, b_hn
QUOTED = re.compile(r"…[^…\n]*…|“[^”]*”|‘[^’]*’|「[^」]*」|\w*…")  # "… excerpt …" of a review: the data's own words  # quoted examples of the user's language, a cut-off word
MARKUP = re.compile(r'\{"[^{}]*\}|' r"%\{[^}]*\}|<[^>]+>|:material/\w+:|\*\*|`[^`]*`|https?://\S+|\$[^$]*\$")  # plotly fields, HTML, icons, code, URLs, TeX
FILE_OR_PATH = re.compile(r"\bstate_dict\b|\b[\w.]+\([\w.]*\)|[\w.-]+\.(?:json|csv|txt|tsv|gz|png|safetensors|py)\b|[\w.~-]*/[\w./*~-]*|--[\w-]+|\bpython -m [\w.]+")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9']*")  # a word with a digit (H100, cu130, u12) is a name, not English


def english_words(text: str, allowed: set[str], names: Iterable[str] = ()) -> list[str]:
    """The English words of ``text`` outside markup, symbols, file names, ``names`` (model names, the
    user's text: removed whole) and the allowed words."""
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    text = MARKUP.sub(" ", text)
    text = QUOTED.sub(" ", text)
    text = FILE_OR_PATH.sub(" ", text)
    text = SYMBOL.sub(" ", text)
    words = [w for w in WORD.findall(text) if not any(ch.isdigit() for ch in w)]
    return [w for w in words if w.lower().strip("'") not in TECHNICAL and w.lower().strip("'") not in allowed
            and w.strip("'") not in allowed]


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _title_text(title) -> str:
    """A plotly title given as a string or as {"text": ...}."""
    if isinstance(title, dict):
        return str(title.get("text", ""))
    return title if isinstance(title, str) else ""


FIGURE_KEYS = ("title", "name", "hovertemplate", "texttemplate", "legendgrouptitle")


def figure_texts(spec: dict) -> Iterator[tuple[str, str]]:
    """(where, text) for the words of a plotly figure: titles, axes, legend, annotations, hover templates."""
    layout = spec.get("layout", {})
    for key, v in layout.items():
        if key == "title" or key.startswith(("xaxis", "yaxis", "coloraxis", "legend")):
            if key == "title":
                yield "layout.title", _title_text(v)
            elif isinstance(v, dict):
                yield f"layout.{key}.title", _title_text(v.get("title"))
                yield f"layout.{key}.colorbar", _title_text((v.get("colorbar") or {}).get("title"))
        if key == "annotations":
            yield from (("layout.annotations", a.get("text", "")) for a in v if isinstance(a, dict))
    for i, tr in enumerate(spec.get("data", [])):
        for key in FIGURE_KEYS:
            if key == "name" and tr.get("type") == "heatmap":
                continue  # a heatmap's name is an id: never shown (its hover names the panel through meta)
            if key in tr:
                yield from ((f"data[{i}].{key}", s) for s in _strings(tr[key]))
        if isinstance(tr.get("colorbar"), dict):
            yield f"data[{i}].colorbar", _title_text(tr["colorbar"].get("title"))
        meta = tr.get("meta")
        if isinstance(meta, str):
            yield f"data[{i}].meta", meta


WIDGET_FIELDS = ("label", "help", "placeholder", "options", "body", "caption")


def _proto_texts(el) -> Iterator[tuple[str, str]]:
    kind = getattr(el, "type", type(el).__name__)
    proto = getattr(el, "proto", None)
    if kind in ("latex", "json", "code"):  # formulas, raw data and code are not words of the interface
        return
    if kind == "plotly_chart" and proto is not None:
        yield from ((f"chart {w}", s) for w, s in figure_texts(json.loads(proto.spec)))
        return
    if proto is None:
        return
    for field in WIDGET_FIELDS:
        if hasattr(proto, field):
            value = getattr(proto, field)
            if isinstance(value, str):
                yield f"{kind}.{field}", value
            elif field == "options":
                for o in value:
                    yield f"{kind}.option", o if isinstance(o, str) else getattr(o, "content", None) or getattr(o, "label", "")
    if kind in ("tab", "expander", "status"):
        yield f"{kind}.label", getattr(proto, "label", "") or getattr(el, "label", "")
    if kind in ("progress", "text"):
        yield f"{kind}.text", getattr(proto, "text", "") or getattr(proto, "body", "")
    if kind == "metric":
        yield "metric.label", proto.label
    if kind in ("arrow_data_frame", "dataframe", "table"):
        try:
            yield from ((f"{kind}.column", str(c)) for c in el.value.columns)
        except Exception:
            pass


def _walk(node) -> Iterator:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def visible_texts(at) -> list[tuple[str, str]]:
    """(where, text) for everything the page shows in words, sidebar included."""
    out = []
    for root in (at.main, at.sidebar):
        for node in _walk(root):
            if getattr(node, "type", "") == "tab" or type(node).__name__ in ("Tab", "Expander"):
                out.append((type(node).__name__, getattr(node, "label", "") or ""))
            out += list(_proto_texts(node))
    return [(w, s) for w, s in out if s]


def english_on(at, allowed: Iterable[str], names: Iterable[str] = ()) -> list[tuple[str, str, list[str]]]:
    """(where, text, English words) for each visible text with English words that are not allowed."""
    allowed = {a for a in allowed} | {a.lower() for a in allowed}
    names = list(names)
    found = []
    for where, text in visible_texts(at):
        words = english_words(text, allowed, names)
        if words:
            found.append((where, text[:160], words))
    return found
