"""Edit and diff (counterfactuals): built-in edits of a review, token alignment of two Traces, and
the difference of every gate between them.

This module owns
- the built-in edits (``find_edits``, ``apply_edit``): negation ("good" -> "not good", "好" -> "不好",
  and back), intensifiers ("good" -> "very good", "好" -> "很好") and a contrast clause ("... But
  the ending was awful." / "……但是早餐很差。"), found with a small per-language list of sentiment
  words; an edit that does not apply to a text is refused with ``EditRefused`` saying why;
- ``align_tokens`` / ``align``: which token of review A goes with which of review B
  (difflib.SequenceMatcher over the tokens), with inserted, deleted and replaced tokens marked;
- ``diff_traces``: B minus A for every gate of every layer and direction on the aligned tokens
  ([R, H] arrays, NaN where a token has no partner), the change in prediction and in the prefix curve;
- ``comparable``: whether two traces have gates that can be subtracted (same cell, layers, size).

No model runs here: edits work on text, diffs on two ``probe.Trace`` objects (from one model on two
texts, or from two models of the same architecture on one text).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sentiment.data.text import MAX_CHARS
from sentiment.errors import InputError
from sentiment.spec import LANGUAGES

if TYPE_CHECKING:
    from sentiment.probe.instrument import Trace

EDIT_KINDS = ("negate", "intensify", "contrast")

# ---- the sentiment words the edits look for (gradable adjectives: "not X" and "very X" read well) ----

EN_WORDS: dict[str, int] = {
    **dict.fromkeys(["good", "great", "excellent", "wonderful", "superb", "brilliant", "amazing", "fantastic", "enjoyable", "funny", "beautiful", "moving", "gorgeous", "interesting", "entertaining", "fun", "nice", "lovely", "smart", "warm", "stunning", "convincing", "memorable", "clever", "outstanding", "impressive", "exciting", "charming", "touching", "powerful", "satisfying", "solid"], 1),
    **dict.fromkeys(["bad", "awful", "terrible", "boring", "dull", "horrible", "poor", "weak", "stupid", "predictable", "disappointing", "annoying", "ridiculous", "lazy", "cheap", "tedious", "pointless", "silly", "slow", "confusing", "bland", "forgettable", "painful", "ugly", "mediocre", "unfunny"], -1),
}
EN_NEGATORS = ("not", "never", "hardly")
EN_INTENSIFIERS = ("very", "really", "so", "extremely", "quite", "truly", "incredibly", "too", "pretty", "highly",
                   "absolutely", "totally", "rather", "fairly", "most", "more", "less", "super")
EN_NT = {"can't": "can", "won't": "will", "ain't": "is", "cannot": "can"}  # n't forms that do not just drop "n't"
ZH_WORDS: dict[str, int] = {
    **dict.fromkeys(["好", "干净", "舒服", "舒适", "满意", "热情", "方便", "安静", "漂亮", "划算", "周到", "丰富", "宽敞", "实惠", "整洁", "温馨", "喜欢", "推荐", "值得"], 1),
    **dict.fromkeys(["差", "脏", "吵", "贵", "失望", "糟糕", "难吃", "旧", "简陋", "差劲", "恶劣", "冷淡", "麻烦", "潮湿", "拥挤"], -1),
}
ZH_NEGATORS = ("没有", "不是", "不", "没")  # longest first
ZH_INTENSIFIERS = ("非常", "特别", "十分", "相当", "比较", "很", "太", "挺", "真", "超", "蛮", "最", "更")
ZH_NEGATE_BEFORE = ("太",)  # intensifiers that 不 goes before, not after: "太差了" -> "不太差了" (never "太不差了")
CONTRAST = {  # language -> polarity of the review -> the clause that says the opposite
    "en": {1: "But the ending was awful.", -1: "But the acting was wonderful."},
    "zh": {1: "但是早餐很差。", -1: "但是服务很热情。"},
}
EDIT_INSERT = {"en": {"negate": "not ", "intensify": "very "}, "zh": {"negate": "不", "intensify": "很"}}


class EditRefused(InputError):
    """A built-in edit that does not apply to this text; ``reason`` says why (for translated messages):
    "empty", "language", "kind", "no_word" (no sentiment word from the list), "all_intensified",
    "index" (fewer places than asked for)."""

    def __init__(self, reason: str, kind: str = "", **params):
        super().__init__(f"edit.{reason}", kind=kind, **params)
        self.reason, self.kind = reason, kind


@dataclass(frozen=True)
class Edit:
    """One built-in edit of a text: characters [start, end) of the original replaced by ``after``."""

    kind: str  # "negate" | "intensify" | "contrast"
    language: str  # "en" | "zh"
    original: str  # the text before the edit
    start: int
    end: int
    after: str  # what replaces original[start:end]
    word: str  # the sentiment word the edit is about ("" for a contrast)

    @property
    def before(self) -> str:
        return self.original[self.start:self.end]

    @property
    def text(self) -> str:
        """The edited review."""
        return self.original[: self.start] + self.after + self.original[self.end:]

    def change(self) -> tuple[str, str]:
        """The phrase before and after the edit, up to its sentiment word: ("good", "not good"),
        ("isn't boring", "is boring"); for a contrast ("", the appended clause)."""
        if not self.word:
            return "", self.after.strip(" ，,")
        at = self.original.lower().find(self.word.lower(), self.start)
        stop = max(self.end, at + len(self.word) if at >= 0 else self.end)
        return self.original[self.start:stop], self.after + self.original[self.end:stop]


@dataclass(frozen=True)
class _Hit:
    """A sentiment word in the text and the modifiers right before it."""

    word: str  # as written
    start: int
    end: int
    polarity: int  # +1 / -1 as listed
    negator: tuple[int, int] | None  # span of "not" / "不" that negates it, if any
    intensified: bool


def _words_en(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0), m.start(), m.end()) for m in re.finditer(r"[A-Za-z]+(?:'[A-Za-z]+)*", text)]


def _is_negator_en(word: str) -> bool:
    w = word.lower()
    return w in EN_NEGATORS or w in EN_NT or w.endswith("n't")


def _hits_en(text: str) -> list[_Hit]:
    words = _words_en(text)
    hits = []
    for k, (w, s, e) in enumerate(words):
        if w.lower() not in EN_WORDS:
            continue
        chain, nxt = [], s  # the words right before, separated by spaces only: "not very good"
        for bw, bs, be in reversed(words[max(0, k - 2): k]):
            if text[be:nxt].strip():
                break
            chain.append((bw, bs, be))
            nxt = bs
        intensified = bool(chain) and chain[0][0].lower() in EN_INTENSIFIERS
        cand = chain[1:2] if intensified else chain[:1]
        negator = (cand[0][1], cand[0][2]) if cand and _is_negator_en(cand[0][0]) else None
        hits.append(_Hit(w, s, e, EN_WORDS[w.lower()], negator, intensified))
    return hits


def _split_mods(s: str) -> list[str]:
    """``s`` as a sequence of negators and intensifiers ("很不" -> ["很", "不"]), or [] if it is not one."""
    out, rest = [], s
    while rest:
        for m in (*ZH_NEGATORS, *ZH_INTENSIFIERS):
            if rest.startswith(m):
                out.append(m)
                rest = rest[len(m):]
                break
        else:
            return []
    return out


def _zh_modifiers(text: str, at: int) -> tuple[tuple[int, int] | None, bool]:
    """The negator right before position ``at`` (with at most one intensifier between: "不太好") and
    whether an intensifier sits right before the word or its negator ("很好", "很不好")."""
    negator, intensified, pos = None, False, at
    for _ in range(2):
        m = next((m for m in ZH_NEGATORS if text.endswith(m, 0, pos)), None)
        if m and negator is None:
            negator, pos = (pos - len(m), pos), pos - len(m)
            continue
        m = next((m for m in ZH_INTENSIFIERS if text.endswith(m, 0, pos)), None)
        if not m or intensified:
            break
        intensified, pos = True, pos - len(m)
    return negator, intensified


def _hits_zh(text: str) -> list[_Hit]:
    from sentiment.data.text import _get_jieba  # jieba, loaded once per process

    hits = []
    for tok, _, e in _get_jieba().tokenize(text):
        w = next((w for w in sorted(ZH_WORDS, key=len, reverse=True) if tok.endswith(w)), None)
        if w is None:
            continue
        inside = tok[: len(tok) - len(w)]  # modifiers jieba glued to the word ("不好", "很好")
        if inside and not _split_mods(inside):
            continue  # "出差", "好像": another word that ends like this one
        negator, intensified = _zh_modifiers(text, e - len(w))
        hits.append(_Hit(w, e - len(w), e, ZH_WORDS[w], negator, intensified))
    return hits


def _hits(text: str, language: str) -> list[_Hit]:
    return _hits_zh(text) if language == "zh" else _hits_en(text)


def _check(text: object, language: str, kind: str) -> str:
    if kind not in EDIT_KINDS:
        raise EditRefused("kind", str(kind), choices=", ".join(EDIT_KINDS))
    if language not in LANGUAGES:
        raise EditRefused("language", kind, language=language)
    if not isinstance(text, str) or not text.strip():
        raise EditRefused("empty", kind)
    return text


def _negate(text: str, language: str, h: _Hit) -> Edit:
    """Negate a word ("good" -> "not good"), or take its negation away ("not good" -> "good")."""
    if h.negator is None:
        at = h.start
        if h.intensified and language == "en":  # "very good" -> "not very good"; Chinese: "很好" -> "很不好"
            at = _words_en(text[: h.start])[-1][1]
        elif h.intensified and language == "zh":  # but "太差" -> "不太差"
            at -= next((len(m) for m in ZH_NEGATE_BEFORE if text.endswith(m, 0, at)), 0)
        return _insert(text, language, "negate", at, h.word)
    ns, ne = h.negator
    neg = text[ns:ne]
    if language == "zh":
        return Edit("negate", language, text, ns, ne, "", h.word)
    if neg.lower() not in EN_NEGATORS:  # "isn't" -> "is", "Can't" -> "Can"
        plain = EN_NT.get(neg.lower(), neg[:-3])
        plain = plain[0].upper() + plain[1:] if neg[0].isupper() else plain
        return Edit("negate", language, text, ns, ne, plain, h.word)
    nxt = ne + len(text[ne:]) - len(text[ne:].lstrip())  # the next word's start
    if neg[0].isupper():  # "Not good" -> "Good"
        return Edit("negate", language, text, ns, nxt + 1, text[nxt].upper(), h.word)
    return Edit("negate", language, text, ns, nxt, "", h.word)


def _insert(text: str, language: str, kind: str, at: int, word: str) -> Edit:
    """Insert "not " / "very " (不 / 很) at ``at``, before the sentiment word or its intensifier."""
    ins = EDIT_INSERT[language][kind]
    nxt = text[at: at + 1]
    if language == "en" and nxt.isupper() and text[at + 1: at + 2].islower():  # "Good film" -> "Not good film"
        return Edit(kind, language, text, at, at + 1, ins[0].upper() + ins[1:] + nxt.lower(), word)
    article = re.search(r"\b(an|An|AN)(\s+)$", text[:at]) if language == "en" else None
    if article:  # "an excellent film" -> "a very excellent film", not "an very ..."
        return Edit(kind, language, text, article.start(), at, article.group(1)[0] + article.group(2) + ins, word)
    return Edit(kind, language, text, at, at, ins, word)


def _polarity(hits: Sequence[_Hit]) -> int:
    """+1 / -1: the review's leaning by its listed words (a negated word counts reversed); ties: the last word."""
    signed = [h.polarity * (-1 if h.negator else 1) for h in hits]
    total = sum(signed)
    return (1 if total > 0 else -1) if total else signed[-1]


def find_edits(text: str, language: str, kind: str | None = None) -> list[Edit]:
    """Every built-in edit that applies to ``text`` (of one ``kind``, or all), in reading order per kind.

    negate: one per listed sentiment word (a negated one gets its negation removed); intensify: one
    per listed word that has no intensifier yet; contrast: one clause of the opposite leaning,
    appended. Words are looked for in the first text.MAX_CHARS characters. Raises EditRefused for an unknown kind, language or an empty text."""
    kinds = EDIT_KINDS if kind is None else (kind,)
    for k in kinds:
        _check(text, language, k)
    hits = _hits(text[:MAX_CHARS], language)  # the model reads no further; a huge paste stays fast
    out: list[Edit] = []
    for k in kinds:
        if k == "negate":
            out += [_negate(text, language, h) for h in hits]
        elif k == "intensify":
            out += [_insert(text, language, k, h.start, h.word) for h in hits if not h.intensified]
        elif hits:
            out.append(_contrast(text, language, _polarity(hits)))
    return out


def _contrast(text: str, language: str, polarity: int) -> Edit:
    body = text.rstrip()
    clause = CONTRAST[language][polarity]
    if language == "zh":
        sep = "" if body[-1:] in "。！？!?…；;" else ("" if body[-1:] in "，," else "，")
    else:
        sep = " " if body[-1:] in ".!?" else ". "
    return Edit("contrast", language, text, len(body), len(text), sep + clause, "")


def apply_edit(text: str, kind: str, language: str, index: int = 0) -> Edit:
    """The ``index``-th place (in reading order) where the built-in edit ``kind`` applies to ``text``.

    Raises EditRefused with a message a person can act on when it does not apply."""
    edits = find_edits(text, language, kind)
    if not edits:
        if kind == "intensify" and _hits(text[:MAX_CHARS], language):
            raise EditRefused("all_intensified", kind)
        raise EditRefused("no_word", kind, examples=example_words(language))
    if not isinstance(index, int) or not 0 <= index < len(edits):
        raise EditRefused("index", kind, n=len(edits), index=index)
    return edits[index]


def example_words(language: str) -> str:
    """The first few listed sentiment words of a language, for messages ("good, great, excellent, wonderful…")."""
    words = list(ZH_WORDS if language == "zh" else EN_WORDS)
    return ("、" if language == "zh" else ", ").join(words[:4]) + "…"


# ---- alignment of two token sequences ---------------------------------------------------------------


@dataclass(frozen=True)
class Alignment:
    """Rows in reading order, each a token of A, of B, or both: ``rows[k] = (i or None, j or None)``."""

    tokens_a: list[str]
    tokens_b: list[str]
    rows: list[tuple[int | None, int | None]]
    ops: list[str]  # per row: "equal" | "replace" (paired, different tokens) | "delete" (A only) | "insert" (B only)

    @property
    def index_a(self) -> np.ndarray:
        """[R] position in A of each row, -1 where A has no token."""
        return np.array([-1 if i is None else i for i, _ in self.rows], dtype=np.int64)

    @property
    def index_b(self) -> np.ndarray:
        """[R] position in B of each row, -1 where B has no token."""
        return np.array([-1 if j is None else j for _, j in self.rows], dtype=np.int64)

    @property
    def paired(self) -> np.ndarray:
        """[R] bool: the row has a token in both reviews."""
        return (self.index_a >= 0) & (self.index_b >= 0)

    def labels(self) -> list[str]:
        """One label per row: the token ("good"), "a→b" for a replacement, "−a" deleted, "+b" inserted."""
        out = []
        for (i, j), op in zip(self.rows, self.ops, strict=True):
            if op == "equal":
                out.append(self.tokens_a[i])
            elif op == "replace":
                out.append(f"{self.tokens_a[i]}→{self.tokens_b[j]}")
            elif op == "delete":
                out.append(f"−{self.tokens_a[i]}")
            else:
                out.append(f"+{self.tokens_b[j]}")
        return out


def align_tokens(a: Sequence[str], b: Sequence[str]) -> Alignment:
    """Align two token lists with difflib.SequenceMatcher (no junk heuristic). A replaced block of the
    same length is paired token by token ("good" -> "bad"); one of different lengths becomes deletions
    then insertions, since no token of it has a clear partner."""
    a, b = [str(x) for x in a], [str(x) for x in b]
    rows: list[tuple[int | None, int | None]] = []
    ops: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            rows += list(zip(range(i1, i2), range(j1, j2), strict=True))
            ops += [tag] * (i2 - i1)
            continue
        rows += [(i, None) for i in range(i1, i2)] + [(None, j) for j in range(j1, j2)]
        ops += ["delete"] * (i2 - i1) + ["insert"] * (j2 - j1)
    return Alignment(a, b, rows, ops)


def align(a: Trace, b: Trace) -> Alignment:
    """The token alignment of two traces."""
    return align_tokens(a.tokens, b.tokens)


def on_rows(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """values [T, ...] placed on aligned rows [R, ...] by index [R] (-1 -> NaN)."""
    values = np.asarray(values, dtype=np.float64)
    out = np.full((len(index), *values.shape[1:]), np.nan)
    ok = index >= 0
    out[ok] = values[index[ok]]
    return out


# ---- differences of two traces ------------------------------------------------------------------------

MISMATCH = ("cell", "layers", "hidden", "directions")  # what may differ; the messages are error.diff.<reason>


def comparable(a: Trace, b: Trace) -> tuple[str, object, object] | None:
    """None when the gates of a and b can be subtracted unit by unit (same cell, number of layers,
    hidden size and directions), else (reason, value in a, value in b) with a reason of MISMATCH."""
    for reason, attr in (("cell", "cell"), ("layers", "num_layers"), ("hidden", "hidden_size"),
                         ("directions", "bidirectional")):
        va, vb = getattr(a, attr), getattr(b, attr)
        if va != vb:
            return reason, va, vb
    return None


def _require_comparable(a: Trace, b: Trace) -> None:
    reason = comparable(a, b)
    if reason is not None:
        raise InputError(f"diff.{reason[0]}", a=reason[1], b=reason[2])


@dataclass
class TraceDiff:
    """B minus A on aligned tokens. Arrays are [R, ...] over ``alignment.rows``; NaN where a row has
    no token in one of the reviews."""

    alignment: Alignment
    gates: dict[tuple[int, str], dict[str, np.ndarray]]  # (layer, direction) -> gate -> [R, H]
    p_a: float  # P(positive) of A
    p_b: float
    label_a: str
    label_b: str
    prefix_a: np.ndarray | None  # [R] A's prefix P(positive) on the rows (NaN where A has no token)
    prefix_b: np.ndarray | None
    cell: str = ""
    hidden_size: int = 0

    @property
    def delta_p(self) -> float:
        """Change in P(positive), B - A."""
        return self.p_b - self.p_a

    @property
    def label_changed(self) -> bool:
        return self.label_a != self.label_b

    @property
    def prefix_delta(self) -> np.ndarray | None:
        """[R] B - A of the prefix curves (NaN where a row is not paired)."""
        if self.prefix_a is None or self.prefix_b is None:
            return None
        return self.prefix_b - self.prefix_a

    def gate(self, name: str, layer: int = 0, direction: str = "forward") -> np.ndarray:
        """[R, H] B - A of one gate of one layer and direction."""
        if (layer, direction) not in self.gates:
            raise KeyError(f"no layer {layer} {direction} in these traces")
        g = self.gates[(layer, direction)]
        if name not in g:
            raise KeyError(f"a {self.cell.upper()} has no {name!r}; it has {', '.join(g)}")
        return g[name]


def gate_diff(a: Trace, b: Trace, alignment: Alignment | None = None, layer: int = 0,
              direction: str = "forward") -> dict[str, np.ndarray]:
    """gate -> [R, H]: B's value minus A's on each aligned row, NaN where a row is not paired."""
    _require_comparable(a, b)
    al = alignment or align(a, b)
    ia, ib = al.index_a, al.index_b
    both = al.paired
    ia, ib = np.where(both, ia, -1), np.where(both, ib, -1)
    out = {}
    for name in _layer_gates(a, layer, direction):
        ga, gb = a.gate(name, layer, direction), b.gate(name, layer, direction)  # [T_a, H], [T_b, H]
        out[name] = on_rows(gb[: len(b.tokens)], ib) - on_rows(ga[: len(a.tokens)], ia)
    return out


def _layer_gates(tr: Trace, layer: int, direction: str) -> list[str]:
    for lt in tr.layers:
        if lt.layer == layer and lt.direction == direction:
            return list(lt.gates)
    raise KeyError(f"no layer {layer} {direction} in this trace")


def diff_traces(a: Trace, b: Trace) -> TraceDiff:
    """Everything that changed from A to B: every gate of every layer and direction on the aligned
    tokens, the prediction, and the prefix curves (when both traces have them).

    InputError when the two traces' gates cannot be subtracted (see ``comparable``)."""
    _require_comparable(a, b)
    al = align(a, b)
    gates = {(lt.layer, lt.direction): gate_diff(a, b, al, lt.layer, lt.direction) for lt in a.layers}
    pa = None if a.prefix_probs is None else on_rows(np.asarray(a.prefix_probs)[: len(a.tokens)], al.index_a)
    pb = None if b.prefix_probs is None else on_rows(np.asarray(b.prefix_probs)[: len(b.tokens)], al.index_b)
    return TraceDiff(alignment=al, gates=gates, p_a=float(a.probs[1]), p_b=float(b.probs[1]), label_a=a.label,
                     label_b=b.label, prefix_a=pa, prefix_b=pb, cell=a.cell, hidden_size=int(a.hidden_size))
