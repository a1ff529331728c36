"""Verified import: a few of the framework's own outputs decide how its model was fed and read.

A weights file does not say everything about how its model ran: the tokenizer, the pad / unknown /
start ids, the fixed length, the padding side and whether pads were read, the reduction, a tanh
before the head, a hidden layer's activation, Paddle's ``padding_idx``. Guessing any of them wrong
changes every prediction without a sign (issue 21). So the user may give a few lines their own
pipeline printed (``read_examples``: JSON lines ``{"text": ..., "positive": p}``, with ``"logits"``
and ``"ids"`` optional), and ``search`` tries the plausible readings of every fact the file does not
say (``Structure.sources``: "assumed") and keeps the one that reproduces every example within
``TOLERANCE``, preferring the reading closest to what was read, given or assumed.

Why it stays fast (a few seconds for a small model and five examples on a 2-core CPU):
- the framing facts (tokenizer, vocabulary ids, length, padding, truncating, padding_idx) only decide
  the ids the model reads: each reading's ids are made in Python, readings that give the same ids are
  run once, and examples with ``"ids"`` reject every framing that does not give exactly those ids;
- the model-level facts (reduction, tanh, hidden activation) only change the head: the recurrent
  layers run once per distinct input and every head reading is applied to their outputs;
- distinct inputs are batched together (one forward for many readings, bucketed by length), and run
  first on one example only (the shortest: pads tell most there); only the readings it does not rule
  out are run on every example;
- readings are tried by how many facts they change (0, 1, 2, ...), and the search stops one level past
  the first level that reproduces exactly (two past a near miss), or when its budget is spent
  (``Result.bounded`` says so). A reading within a tenth of the tolerance is preferred to one that only
  keeps to it, then the one that changes fewest facts; a fact on which the examples' reproducing
  readings disagree is reported undetermined (kept as assumed), never as found.

``convert(..., check=...)`` writes the kept reading and measures it once more through the saved
checkpoint's own encode and forward: the card's ``max_diff`` is that number.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import math
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sentiment import spec
from sentiment.data import vocabs
from sentiment.data.text import MAX_CHARS, cjk_share, tokenizer_problem
from sentiment.errors import InputError
from sentiment.i18n import t
from sentiment.interop import recipe as recipes
from sentiment.interop.structure import FACTS, HOW_TO_SET, REDUCTIONS, Structure
from sentiment.modeling import calibration
from sentiment.modeling.model import SentimentRNN
from sentiment.modeling.pooling import Pooling

TOLERANCE = 1e-4  # |P(positive) - the framework's| (and |logit - the framework's|) a reading must keep to
# A reading within a tenth of the tolerance computes what the framework computed (float32 noise is
# about 1e-7); one that only keeps to the tolerance may be a near miss: an LSTM forgets, so 100 pads
# read before a long review move its P(positive) by less than 1e-4. Exact readings are preferred.
EXACT = 0.1
LOOSEST = 5e-4  # a value printed with 3 decimals is known to +-5e-4; fewer decimals do not loosen it more
MAX_LINES = 1000
MAX_BYTES = 1 << 20
TUTORIAL_LENGTHS = (80, 100, 128, 150, 200, 250, 256, 300, 400, 500, 512)
MAX_FRAMINGS = 20_000  # framings generated at most (then Result.bounded)
BUDGET_MACS = 1.2e11  # multiply-adds the recurrent layers may spend (about 10 s on this 2-core CPU)
BUDGET_SECONDS = 20.0
CHUNK_STEPS = 160_000  # rows x steps per forward
CHUNK_MACS = 2e9  # and multiply-adds per forward (about 0.3 s here): the budget is checked between them
SMALL_HIDDEN = 256  # recurrent layers this narrow are run on one thread (_one_thread)
KEYS = ("text", "positive", "logits", "ids", "label")  # "label" is allowed and ignored
_Q = {k: f'"{k}"' for k in KEYS}  # a key as the messages quote it (a param: the same in every language)
EXAMPLE = '{"text": "a fine film", "positive": 0.93}'
_VOCAB_FACTS = ("index_from", "pad_id", "unk_id", "start_id")


# ---- the examples ---------------------------------------------------------------------------------


class _Printed(float):
    """A float that remembers how many decimals it was printed with (its tolerance)."""

    decimals: int = 17


def _parse_float(text: str) -> float:
    v = _Printed(text)
    mantissa, _, exp = text.lower().partition("e")
    v.decimals = len(mantissa.partition(".")[2]) - (int(exp) if exp else 0)
    return v


@dataclass
class Example:
    line: int  # 1-based line of the file (or item of the list)
    text: str | None = None
    positive: float | None = None
    logits: list[float] | None = None
    ids: list[int] | None = None
    tolerance: float = TOLERANCE  # looser only for values printed with fewer than 4 decimals

    def to_dict(self) -> dict:
        return {k: v for k, v in (("text", self.text), ("positive", self.positive), ("logits", self.logits),
                                  ("ids", self.ids)) if v is not None}


def _tolerance(values: Iterable[float]) -> float:
    decimals = min((getattr(v, "decimals", 17) for v in values), default=17)
    return max(TOLERANCE, min(LOOSEST, 0.5 * 10.0 ** -decimals))


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def example_of(obj: object, line: int) -> Example:
    """One example from a parsed JSON value; InputError naming the line otherwise."""
    if not isinstance(obj, dict):
        raise InputError("verify.not_object", line=line, example=EXAMPLE)
    for k in obj:
        if k not in KEYS:
            raise InputError("verify.unknown_key", line=line, key=str(k)[:40], known=", ".join(KEYS[:4]))
    text, positive, logits, ids = (obj.get(k) for k in ("text", "positive", "logits", "ids"))
    if text is None and ids is None:
        raise InputError("verify.no_input", line=line, text=_Q["text"], ids=_Q["ids"])
    if positive is None and logits is None:
        raise InputError("verify.no_output", line=line, positive=_Q["positive"], logits=_Q["logits"])
    if text is not None and (not isinstance(text, str) or not text.strip() or len(text) > MAX_CHARS):
        raise InputError("verify.bad_text", line=line, key=_Q["text"], most=MAX_CHARS)
    if positive is not None and not (_is_number(positive) and 0 <= positive <= 1):
        raise InputError("verify.bad_positive", line=line, key=_Q["positive"], value=json.dumps(positive)[:40])
    if logits is not None and not (isinstance(logits, list) and len(logits) in (1, 2) and all(map(_is_number, logits))):
        raise InputError("verify.bad_logits", line=line, key=_Q["logits"], value=json.dumps(logits)[:60])
    if ids is not None and not (isinstance(ids, list) and 1 <= len(ids) <= spec.READ_LIMIT and all(
            isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ids)):
        raise InputError("verify.bad_ids", line=line, key=_Q["ids"], most=spec.READ_LIMIT)
    tol = _tolerance([positive] if positive is not None else logits)
    if positive is not None and logits is not None:
        implied = _positive_of(logits)
        if abs(implied - positive) > tol:
            raise InputError("verify.disagree", line=line, pkey=_Q["positive"], positive=float(positive),
                             lkey=_Q["logits"], logits=[float(v) for v in logits], implied=implied)
    return Example(line, text, None if positive is None else float(positive),
                   None if logits is None else [float(v) for v in logits], ids, tol)


def _positive_of(logits: Sequence[float]) -> float:
    """P(positive) of one logit (sigmoid) or two (softmax)."""
    z = logits[0] if len(logits) == 1 else logits[1] - logits[0]
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


def read_examples(source: str | Path | Sequence[dict | Example]) -> list[Example]:
    """Examples from a file path, pasted JSON lines (or one JSON list), or a list of dicts.
    At most MAX_LINES lines and MAX_BYTES bytes; every bad line an InputError with its line number."""
    if isinstance(source, (list, tuple)):
        if len(source) > MAX_LINES:
            raise InputError("verify.too_many", n=len(source), most=MAX_LINES)
        out = [e if isinstance(e, Example) else example_of(e, i) for i, e in enumerate(source, 1)]
        if not out:
            raise InputError("verify.empty", example=EXAMPLE)
        return out
    text = _examples_text(source)
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text, parse_float=_parse_float)
        except (json.JSONDecodeError, RecursionError) as e:
            raise InputError("verify.bad_json", line=getattr(e, "lineno", 1), err=getattr(e, "msg", "too deep"),
                             example=EXAMPLE) from None
        return read_examples(items if isinstance(items, list) else [items])
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        if len(out) >= MAX_LINES:
            raise InputError("verify.too_many", n=sum(1 for r in text.splitlines() if r.strip()), most=MAX_LINES)
        try:
            obj = json.loads(raw, parse_float=_parse_float)
        except (json.JSONDecodeError, RecursionError) as e:
            raise InputError("verify.bad_json", line=n, err=getattr(e, "msg", "too deep"), example=EXAMPLE) from None
        out.append(example_of(obj, n))
    if not out:
        raise InputError("verify.empty", example=EXAMPLE)
    return out


def _examples_text(source: str | Path) -> str:
    """The text of pasted examples or of an examples file (size checked before reading)."""
    if isinstance(source, str) and ("\n" in source or source.lstrip()[:1] in ("{", "[")):
        if len(source.encode("utf-8")) > MAX_BYTES:
            raise InputError("verify.too_big", size=len(source.encode("utf-8")), most=MAX_BYTES)
        return source
    p = Path(source)
    if not p.is_file():
        raise InputError("verify.no_file", path=p)
    if p.stat().st_size > MAX_BYTES:
        raise InputError("verify.too_big", size=p.stat().st_size, most=MAX_BYTES)
    try:
        return p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError("verify.unreadable", file=p.name, err=e) from None


def check_fit(s: Structure, examples: Sequence[Example]) -> None:
    """Examples that cannot belong to this model (an id past its embedding, logits that do not fit
    its head) refused before anything runs."""
    units = 1 if s.head == "sigmoid" else 2
    for e in examples:
        for i in e.ids or ():
            if i >= s.vocab_size:
                raise InputError("verify.id_range", line=e.line, id=i, size=s.vocab_size)
        if e.logits is not None and len(e.logits) != units:
            raise InputError("verify.logit_count", line=e.line, n=len(e.logits), key=_Q["logits"], units=units,
                             head=s.head, positive=_Q["positive"])


# ---- the facts: where each comes from, and its candidates -------------------------------------------


def _value_text(v: object) -> str:
    """A fact's value as the printout shows it."""
    if isinstance(v, dict):  # a tokenizer spec
        extra = [f"{'! and ? dropped' if not v['marks'] else 'marks kept'}"] if "marks" in v else []
        return f"{v.get('mode', 'word')} ({', '.join([v.get('language', 'en'), *extra])})"
    return "none" if v is None else ("yes" if v else "no") if isinstance(v, bool) else str(v)


def fact_sources(s: Structure, recipe: dict) -> dict[str, str]:
    """fact -> "read: ..." | "given: ..." | "assumed: ..." (| "found by check: ..."): the Structure's
    own (``Structure.sources``, recorded by the readers and the recipe); a fact it has no word on is
    given when the recipe says it and assumed otherwise."""
    own = dict(getattr(s, "sources", None) or {})
    out = {}
    for f in FACTS:
        if f in own:
            out[f] = own[f]
        elif (f in recipe) or (f in _VOCAB_FACTS and f in recipe.get("vocab", {})):
            out[f] = "given: the recipe or a flag"
        else:
            out[f] = "assumed"
    return out


def is_assumed(source: str) -> bool:
    return source.startswith("assumed")


def current_values(s: Structure, vocab, recipe: dict) -> dict[str, Any]:
    """Every fact's value as the Structure and vocabulary hold it now (recipe terms: padding "masked"
    when pads are not read, reduction "final_states" for each direction's final state)."""
    ids = dict(getattr(s, "ids", None) or {})
    return {
        "tokenizer": dict(getattr(s, "tokenizer", None) or recipes.tokenizer_spec(recipe, s.framework)),
        "index_from": ids.get("index_from", _index_from(vocab)), "pad_id": vocab.pad_id, "unk_id": vocab.unk_id,
        "start_id": vocab.start_id, "max_len": s.max_len,
        "padding": "masked" if s.padding == "none" else s.padding, "truncating": s.truncating,
        "padding_idx": getattr(s, "padding_idx", None),
        "reduction": "final_states" if s.pooling == "last" else s.pooling,
        "tanh": s.output_activation == "tanh", "hidden_activation": s.hidden_activation,
    }


def relevant_facts(s: Structure, examples: Sequence[Example]) -> list[str]:
    """The facts that can change what the model computes on these examples (with no text, only the
    pads of the given ids and the model's own facts)."""
    texts = any(e.text is not None for e in examples)
    out = [f for f in FACTS if texts or f in ("pad_id", "padding")]
    word_index = "index_from" in (getattr(s, "sources", None) or {}) or (s.vocab is not None and _index_from(s.vocab))
    return [f for f in out if (f != "padding_idx" or s.framework == "paddle")
            and (f != "hidden_activation" or s.hidden_dense) and (f != "index_from" or word_index)]


# ---- tokenizers -------------------------------------------------------------------------------------


def _spec(mode: str, language: str, marks: bool | None = None) -> dict | None:
    """A tokenizer spec as the checkpoint stores it (None where this GateScope has no such tokenizer)."""
    r = {"tokenizer": mode, "language": language, **({"marks": marks} if marks is not None else {})}
    try:
        spec_ = recipes.tokenizer_spec(r, "pytorch")
        if tokenizer_problem(spec_) is not None:
            return None
        vocabs.read_tokens("ab 12, 好！", spec_)
    except (InputError, ValueError, KeyError):
        return None
    return spec_


def _vocab_language(vocab) -> str:
    sample = [w for w in vocab.itos[:20000] if w and w not in (vocabs.PAD, vocabs.UNK, vocabs.START)]
    return "zh" if sample and sum(cjk_share(w) > 0.5 for w in sample) > 0.3 * len(sample) else "en"


def _tokenizers(current: dict, vocab) -> list[dict]:
    """The current tokenizer first, then those the tutorials of the vocabulary's language use: English
    words (GateScope's, ! and ? dropped or kept) and Keras' Tokenizer; Chinese list(text), GateScope's
    characters and jieba words. Marks kept only where the vocabulary holds ! or ?; Chinese words only
    where it holds words, characters only where it holds characters."""
    lang = _vocab_language(vocab)
    head = vocab.itos[:50000]
    marks = bool(set(head) & {"!", "?", "！", "？"})
    if lang == "en":
        options = [("word", False), ("keras", None)] + ([("word", True)] if marks else [])
    else:
        cjk = [w for w in vocab.itos[:20000] if w and cjk_share(w) > 0.5]
        single = sum(len(w) == 1 for w in cjk) / max(1, len(cjk))
        options = ([("list", None), ("char", False)] + ([("char", True)] if marks else [])) if single >= 0.5 else []
        options += ([("word", False)] + ([("word", True)] if marks else [])) if single < 0.8 else []
    out = [current]
    for mode, m in options:
        spec_ = _spec(mode, lang, m)
        if spec_ is not None and spec_ not in out:
            out.append(spec_)
    return out


# ---- vocabulary ids ------------------------------------------------------------------------------------

_PAD_NAMES = {"<pad>", "[pad]", "<padding>", "[padding]"}
_UNK_NAMES = {"<unk>", "[unk]", "<oov>", "[oov]", "<unknown>"}
_START_NAMES = {"<start>", "<s>", "<bos>", "<sos>", "[cls]"}


def _named(itos: Sequence[str], names: set[str]) -> list[int]:
    return [i for i, w in enumerate(itos) if w and w.lower() in names][:3]


def _index_from(vocab) -> int | None:
    """The offset of a Keras word index read with <pad> <start> <unk> first (None for other tables)."""
    itos = vocab.itos
    if len(itos) < 5 or itos[0] != vocabs.PAD:
        return None
    first = next((i for i, w in enumerate(itos) if w and w not in (vocabs.PAD, vocabs.START, vocabs.UNK)), None)
    if first is None or first < 1 or itos[first - 1] != "":
        return None
    return first - 1


@dataclass(frozen=True)
class _Ids:
    index_from: int | None
    pad: int
    unk: int | None
    start: int | None


class _VocabVariant:
    """The vocabulary read with other ids (and, for a Keras word index, another offset)."""

    def __init__(self, ids: _Ids, base, shift: int, dist: int, order: tuple):
        self.ids, self.base, self.shift, self.dist, self.order = ids, base, shift, dist, order
        self._vocab = None

    @property
    def vocab(self) -> vocabs.IdVocab:
        """The IdVocab of this variant (built on first use: O(vocabulary size))."""
        if self._vocab is None:
            b = self.base
            if (self.ids.pad, self.ids.unk, self.ids.start, self.shift) == (b.pad_id, b.unk_id, b.start_id, 0):
                self._vocab = b
            else:
                itos = _shifted(list(b.itos), self.shift, self.ids) if self.shift else b.itos
                self._vocab = vocabs.IdVocab(itos, self.ids.pad, self.ids.unk, self.ids.start, dict(b.sources))
        return self._vocab


def _shifted(itos: list[str], shift: int, ids: _Ids) -> list[str]:
    """A Keras word index's table read with another index_from: every word moved by ``shift``."""
    special = {vocabs.PAD, vocabs.START, vocabs.UNK}
    out = [""] * len(itos)
    for i, w in enumerate(itos):
        if w and w not in special and 0 <= i + shift < len(out):
            out[i + shift] = w
    for i, name in ((ids.pad, vocabs.PAD), (ids.start, vocabs.START), (ids.unk, vocabs.UNK)):
        if i is not None and not out[i]:
            out[i] = name
    return out


def _vocab_variants(vocab, free: dict[str, bool], index_from: int | None) -> list[_VocabVariant]:
    """The vocabulary's own ids first, then the conventions of the tutorials for the ids that were
    assumed: pad 0 / unknown 1 (GateScope, most PyTorch code), unknown 0 / pad 1 (torchtext), tokens
    named <pad> / <unk> / <start> in any case, no start id; and a Keras word index (offset ``k``)
    read from 3 (imdb.load_data: pad 0, start 1, unknown 2) or 0 (a Tokenizer's word_index with an
    oov_token)."""
    n, k = len(vocab), _index_from(vocab)
    pads = [vocab.pad_id] + ((_named(vocab.itos, _PAD_NAMES) + [0, 1]) if free["pad_id"] else [])
    unks = [vocab.unk_id] + ((_named(vocab.itos, _UNK_NAMES) + [1, 0]) if free["unk_id"] else [])
    starts = [vocab.start_id] + (([None] + _named(vocab.itos, _START_NAMES)) if free["start_id"] else [])
    out, seen = [], set()

    def add(ids: _Ids, shift: int, dist: int, order: tuple) -> None:
        if ids in seen or ids.pad == ids.unk or (ids.start is not None and ids.start in (ids.pad, ids.unk)) or \
                not all(i is None or 0 <= i < n for i in (ids.pad, ids.unk, ids.start)):
            return
        seen.add(ids)
        out.append(_VocabVariant(ids, vocab, shift, dist, order))

    for (a, p), (b, u), (c, st) in itertools.product(enumerate(dict.fromkeys(pads)), enumerate(dict.fromkeys(unks)),
                                                     enumerate(dict.fromkeys(starts))):
        add(_Ids(index_from, p, u, st), 0, (a > 0) + (b > 0) + (c > 0), (0, a, b, c))
    if k is not None and free["index_from"]:
        for j, (k2, pad, start, unk) in enumerate(((3, 0, 1, 2), (0, 0, None, None)), 1):
            if k2 == k:
                continue
            if unk is None:  # a Tokenizer's word_index: unknown words read as its oov_token's id
                oov = [i + k2 - k for i in _named(vocab.itos, _UNK_NAMES) if i + k2 - k > 0]
                if not oov:
                    continue
                unk = oov[0]
            dist = 1 + (pad != vocab.pad_id) + (unk != vocab.unk_id) + (start != vocab.start_id)
            add(_Ids(k2, pad, unk, start), k2 - k, dist, (j, 0, 0, 0))
    return out


# ---- readings -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Framing:
    tok: int  # index into the tokenizer labels
    voc: int  # index into the vocabulary variants
    padding: str  # "pre" | "post" | "masked"
    max_len: int
    truncating: str
    padding_idx: int | None  # Paddle's: this id looked up as zeros
    dist: int
    order: tuple


@dataclass(frozen=True)
class _Head:
    reduction: str
    tanh: bool
    activation: str
    dist: int
    order: tuple


def _ordered(current: object, options: Iterable[object], free: bool) -> list:
    """The current value first, then the other options (only the current one when it is not free)."""
    return list(dict.fromkeys([current, *options])) if free else [current]


def _heads(s: Structure, cur: dict, free: dict[str, bool]) -> list[_Head]:
    reductions = _ordered(cur["reduction"], ("final_states", "last_step", "max", "mean"), free["reduction"])
    if not s.bidirectional:  # one direction: its final state is its last step
        other = "last_step" if cur["reduction"] == "final_states" else "final_states"
        reductions = [r for r in reductions if r != other]
    tanhs = _ordered(cur["tanh"], (False, True), free["tanh"])
    acts = _ordered(cur["hidden_activation"], ("relu", "tanh", "sigmoid", "linear"),
                    free["hidden_activation"] and bool(s.hidden_dense))
    out = []
    for (a, r), (b, th), (c, act) in itertools.product(enumerate(reductions), enumerate(tanhs), enumerate(acts)):
        out.append(_Head(r, th, act, (a > 0) + (b > 0) + (c > 0), (a, b, c)))
    return sorted(out, key=lambda h: (h.dist, h.order))


def _lengths(cur: dict, examples: Sequence[Example], padded: bool, free: bool) -> list[int]:
    """Candidate fixed lengths: the current one, the examples' own id lengths, the tutorials' lengths.
    Masked (unpadded) readings prefer reading to the end (spec.READ_LIMIT)."""
    if not free:
        return [cur["max_len"]]
    own = sorted({len(e.ids) for e in examples if e.ids})
    if padded:
        return [x for x in dict.fromkeys([cur["max_len"], *own, *TUTORIAL_LENGTHS]) if x <= spec.READ_LIMIT]
    return list(dict.fromkeys([spec.READ_LIMIT, cur["max_len"], *TUTORIAL_LENGTHS]))


# ---- running the model -----------------------------------------------------------------------------------


def _frame(ids: list[int], start: int | None, max_len: int, padding: str, truncating: str, pad: int,
           unk: int | None) -> tuple[list[int], bool]:
    """vocabs.frame on ids: (the ids the model reads, whether anything was cut). Checkpoint.encode_ids
    reads one unknown id (or pad id, with no unknown id) for a review with no tokens."""
    if start is not None:
        ids = [start] + ids
    cut = len(ids) > max_len
    if cut:
        ids = ids[len(ids) - max_len:] if truncating == "pre" else ids[:max_len]
    n = max_len - len(ids) if padding in ("pre", "post") else 0
    out = [pad] * n + ids if padding == "pre" else ids + [pad] * n
    return (out or [pad if unk is None else unk]), cut


def _strip(ids: list[int], pad: int) -> list[int]:
    """Given ids without the pad runs at either end (a masked model does not read them)."""
    a, b = 0, len(ids)
    while a < b and ids[a] == pad:
        a += 1
    while b > a and ids[b - 1] == pad:
        b -= 1
    return ids[a:b] or ids[:1]


def _longest(key: tuple) -> int:
    return max(map(len, key[1]))


_threads_lock = threading.Lock()
_threads_users = 0
_threads_saved = 1


@contextmanager
def _one_thread(small: bool) -> Iterator[None]:
    """Torch on one intra-op thread while a search runs a small model: its kernels are a few
    microseconds a step, and on a busy 2-core machine two threads' barriers made them up to 8x slower
    (measured: nn.LSTM(16, 12), 300 rows x 300 steps, 16 ms on one thread, 130 ms on two). The
    setting is process-wide: the first search in saves it, the last one out restores it."""
    global _threads_users, _threads_saved
    if not small:
        yield
        return
    with _threads_lock:
        if _threads_users == 0:
            _threads_saved = torch.get_num_threads()
            torch.set_num_threads(1)
        _threads_users += 1
    try:
        yield
    finally:
        with _threads_lock:
            _threads_users -= 1
            if _threads_users == 0:
                torch.set_num_threads(_threads_saved)


class _Runner:
    """The model of a Structure, run on many candidate inputs at once; every head reading applied to
    the recurrent outputs of one forward."""

    def __init__(self, s: Structure, examples: Sequence[Example], heads: list[_Head]):
        model = SentimentRNN(s.model_config())
        model.load_state_dict(s.state)
        self.models = {"base": model.eval()}
        self.base = model.config
        self.heads = heads
        D = s.hidden_size * (2 if s.bidirectional else 1)
        self.pools = {r: Pooling(REDUCTIONS[r], D, s.bidirectional) for r in {h.reduction for h in heads}}
        self.configs = [dataclasses.replace(self.base, pooling=REDUCTIONS[h.reduction], output_activation="tanh" if h.tanh
                                            else "none", hidden_activation=h.activation) for h in heads]
        gates = {"lstm": 4, "gru": 3, "rnn": 1}[s.cell]
        dirs = 2 if s.bidirectional else 1
        H = s.hidden_size
        self.macs_per_step = dirs * gates * H * (s.embed_dim + H + (s.num_layers - 1) * (dirs * H + H))
        self.macs = 0.0
        self.pos = torch.tensor([np.nan if e.positive is None else e.positive for e in examples], dtype=torch.float64)
        self.logits = [e.logits for e in examples]
        self.tol = torch.tensor([e.tolerance for e in examples], dtype=torch.float64)
        self.emb = s.state["embedding.weight"]
        self.probe = min(range(len(examples)), key=lambda e: len(examples[e].text or "") or len(examples[e].ids or ()))
        # Paddle's padding_idx as the Structure holds it: that row zeroed, the stored one kept aside
        self.pidx = getattr(s, "padding_idx", None) if s.framework == "paddle" else None
        row = getattr(s, "padding_row", None)
        self.stored_row = None if row is None else torch.tensor(row, dtype=self.emb.dtype)

    def _rows(self, padding_idx: int | None) -> dict[int, torch.Tensor] | None:
        """The embedding rows that differ from the Structure's under a padding_idx reading (None: one
        the weights cannot give, a zeroed row whose stored values were not kept)."""
        if padding_idx == self.pidx:
            return {}
        out = {}
        if self.pidx is not None:
            if self.stored_row is None:
                return None
            out[self.pidx] = self.stored_row
        if padding_idx is not None:
            out[padding_idx] = torch.zeros_like(self.emb[padding_idx])
        return {i: r for i, r in out.items() if not torch.equal(r, self.emb[i])}

    def changed_ids(self, padding_idx: int | None, other: object = "base") -> set[int] | None:
        """The ids whose rows differ between two padding_idx readings (``other`` "base": the
        Structure's own); None when either cannot be given."""
        a = self._rows(padding_idx)
        b = {} if other == "base" else self._rows(other)
        if a is None or b is None:
            return None
        row = lambda rows, i: rows.get(i, self.emb[i])  # noqa: E731
        return {i for i in set(a) | set(b) if not torch.equal(row(a, i), row(b, i))}

    def _model(self, padding_idx) -> SentimentRNN:
        if padding_idx not in self.models:
            m = copy.deepcopy(self.models["base"])
            with torch.no_grad():
                for i, r in (self._rows(padding_idx) or {}).items():
                    m.embedding.weight[i] = r  # Paddle looks up zeros for its padding_idx
            self.models[padding_idx] = m
        return self.models[padding_idx]

    @torch.no_grad()
    def evaluate(self, inputs: list[tuple], deadline: float) -> tuple[dict, bool]:
        """inputs: (embedding, rows) with a row per example -> {input: (max diff [heads], max diff /
        tolerance [heads])}. Each input is first run on one example only (the probe: the shortest,
        which tells most about pads); only those that some head reproduces there are run on all of
        them (the others keep the probe's numbers: not matches). Stops (second value True) when the
        multiply-add budget or the ``deadline`` is spent."""
        out, stopped = self._stage(inputs, [self.probe], deadline)
        passed = [k for k in inputs if k in out and (out[k][1] <= 1.0).any()]
        if len(self.pos) > 1 and not stopped:
            full, stopped = self._stage(passed, list(range(len(self.pos))), deadline)
            out.update(full)
            for k in passed:
                if k not in full:
                    del out[k]  # only its probe was run: not known
        return out, stopped

    @torch.no_grad()
    def _stage(self, inputs: list[tuple], examples: list[int], deadline: float) -> tuple[dict, bool]:
        out: dict = {}
        by_model: dict = {}
        for key in inputs:
            by_model.setdefault(key[0], []).append(key)
        for emb, keys in by_model.items():
            model = self._model(emb)
            keys.sort(key=lambda k: max(len(k[1][e]) for e in examples))
            chunk: list = []
            T = 0
            for key in keys + [None]:
                L = 0 if key is None else max(len(key[1][e]) for e in examples)
                cost = (len(chunk) + 1) * len(examples) * max(T, L)
                if chunk and (key is None or cost > CHUNK_STEPS or cost * self.macs_per_step > CHUNK_MACS):
                    if self.macs >= BUDGET_MACS or time.perf_counter() > deadline:
                        return out, True
                    out.update(self._run(model, chunk, examples))
                    chunk, T = [], 0
                if key is not None:
                    chunk.append(key)
                    T = max(T, L)
        return out, False

    def _run(self, model: SentimentRNN, keys: list[tuple], examples: list[int]) -> dict:
        rows = [k[1][e] for k in keys for e in examples]
        n = len(examples)
        lengths = torch.tensor([len(r) for r in rows])
        ids = torch.zeros(len(rows), int(lengths.max()), dtype=torch.long)
        for b, r in enumerate(rows):
            ids[b, :len(r)] = torch.as_tensor(r)
        self.macs += float(lengths.max()) * len(rows) * self.macs_per_step
        enc = model.encode(ids, lengths)  # [B, T, D]: the recurrent layers once for every head reading
        diffs, ratios = [], []
        tol = self.tol[examples].repeat(len(keys)).view(len(keys), n)
        saved = (model.config, model.pool)
        try:
            for cfg, h in zip(self.configs, self.heads, strict=True):
                model.config, model.pool = cfg, self.pools[h.reduction]
                d = self._diffs(model.head(enc, lengths).logits.double(), examples).view(len(keys), n)
                diffs.append(d.amax(1))
                ratios.append((d / tol).amax(1))
        finally:
            model.config, model.pool = saved
        D, R = torch.stack(diffs, 1).numpy(), torch.stack(ratios, 1).numpy()  # [keys, heads]
        return {k: (D[i], R[i]) for i, k in enumerate(keys)}

    def _diffs(self, logits: torch.Tensor, examples: list[int]) -> torch.Tensor:
        """|P(positive) - given| and |logits - given| per row (rows repeat ``examples`` in order)."""
        n = len(examples)
        p = calibration.probabilities(logits, 1.0).double()[:, 1]
        d = (p - self.pos[examples].repeat(logits.shape[0] // n)).abs().nan_to_num(0.0)
        for j, e in enumerate(examples):
            given = self.logits[e]
            if given is None:
                continue
            rows = logits[j::n]
            mine = (rows[:, 1] - rows[:, 0])[:, None] if len(given) == 1 else rows
            d[j::n] = torch.maximum(d[j::n], (mine - torch.tensor(given, dtype=torch.float64)).abs().amax(1))
        return d


# ---- the search ----------------------------------------------------------------------------------------


@dataclass
class Result:
    reproduced: bool
    max_diff: float  # of the kept reading (or of the closest, when none reproduces)
    examples: int
    framework: str
    reading: dict[str, Any]  # every relevant fact -> its value in the kept (or closest) reading
    sources: dict[str, str]  # every fact -> "read: ..." | "given: ..." | "assumed: ..." | "found by check: ..."
    found: dict[str, Any]  # assumed facts the examples decided -> value
    undetermined: list[str]  # assumed facts the examples leave open (other values reproduce too)
    alternatives: int  # other readings that reproduce every example as well
    tried: int  # readings compared
    bounded: bool  # the search stopped at its budget before trying every plausible reading
    seconds: float
    diffs: list[float] = field(default_factory=list)  # per example, of the kept reading
    worst_line: int = 0  # the example farthest off
    no_ids_match: int = 0  # a line whose ids no framing gives (0: none)
    structure: Structure | None = None  # the kept reading applied (a copy)
    vocab: Any = None
    tokenizer: dict = field(default_factory=dict)  # the kept reading's tokenizer spec (the checkpoint's)
    checked: list = field(default_factory=list)  # the examples
    closest: dict = field(default_factory=dict)  # when none reproduces: {"reading", "max_diff"} of the closest

    def card(self) -> dict:
        """The card's "verified" entry (reproduced) or "unverified" one (written anyway with --force)."""
        diff = float(f"{self.max_diff:.3g}") if math.isfinite(self.max_diff) else None  # None: ids not given
        d = {"examples": self.examples, "max_diff": diff, "framework": self.framework,
             "facts_found": {k: self.found[k] for k in self.found}}
        if self.undetermined:
            d["undetermined"] = list(self.undetermined)
        if self.alternatives:
            d["alternatives"] = self.alternatives
        if self.bounded:
            d["bounded"] = True
        if self.closest:
            d["closest"] = self.closest
        return d

    def reading_text(self) -> str:
        return ", ".join(f"{k} {_value_text(v)}" for k, v in self.reading.items()
                         if k in self.found or k in self.undetermined)


def search(s: Structure, vocab, examples: Sequence[Example], recipe: dict | None = None) -> Result:
    """The reading of every assumed fact that reproduces all ``examples`` (within each one's
    tolerance), preferring the one that changes the fewest facts; when none does, the closest.
    ``vocab``: the model's IdVocab (None: the Structure's own). The Structure is left as it is; the
    Result holds a copy set to the kept reading (``Result.structure``, ``.vocab``, ``.tokenizer``)."""
    t0 = time.perf_counter()
    recipe = dict(recipe or {})
    vocab = vocab if vocab is not None else s.vocab
    if vocab is None:
        raise InputError("interop.needs_vocab", option="--vocab FILE", example="imdb_word_index.json")
    check_fit(s, examples)
    sources = fact_sources(s, recipe)
    cur = current_values(s, vocab, recipe)
    relevant = relevant_facts(s, examples)
    free = {f: f in relevant and is_assumed(sources[f]) for f in FACTS}
    heads = _heads(s, cur, free)
    space = _Space(s, vocab, examples, cur, free)
    runner = _Runner(s, examples, heads)
    evaluated: dict = {}
    seen: dict = {}  # framing -> its input, for every framing run
    matches: list = []  # (rank, framing, head index, diff)
    tried, bounded = 0, space.bounded
    for level, group in itertools.groupby(space.framings, key=lambda f: f.dist):
        inputs = {f: key for f in group if (key := space.input_of(f, runner)) is not None}
        with _one_thread(s.hidden_size <= SMALL_HIDDEN):
            got, stop = runner.evaluate(list(dict.fromkeys(k for k in inputs.values() if k not in evaluated)),
                                        t0 + BUDGET_SECONDS)
        evaluated.update(got)
        for f, key in inputs.items():
            if key not in evaluated:
                continue
            seen[f] = key
            D, R = evaluated[key]
            tried += len(heads)
            for h, head in enumerate(heads):
                if R[h] <= 1.0:
                    matches.append(((int(R[h] > EXACT), f.dist + head.dist, f.order + head.order), f, h, float(D[h])))
        if stop:
            bounded = True
            break
        best = min((m[0] for m in matches), default=None)
        if best is not None and level >= best[1] + 1 + best[0]:  # one level past the first that reproduces
            break  # exactly (two past a near miss): farther readings cannot be kept
    closest = None if matches else _closest(runner, heads, seen, evaluated, t0 + BUDGET_SECONDS + 10)
    res = _result(s, examples, space, heads, runner, matches, closest, sources, free, relevant, tried, bounded)
    res.seconds = time.perf_counter() - t0
    return res


def _closest(runner: _Runner, heads: list[_Head], seen: dict, evaluated: dict, deadline: float) -> tuple | None:
    """The reading nearest to the examples when none reproduces them. Most inputs were run on the
    probe example only (a lower bound of their difference): the few nearest are run on all examples
    before one is named."""
    keys = sorted({k for k in seen.values()}, key=lambda k: float(evaluated[k][0].min()))[:8]
    with _one_thread(True):
        full, _ = runner._stage(keys, list(range(len(runner.pos))), deadline)
    best = None
    for f, key in seen.items():
        if key not in full:
            continue
        D = full[key][0]
        for h, head in enumerate(heads):
            rank = (1, f.dist + head.dist, f.order + head.order)
            if best is None or (float(D[h]), rank) < (best[3], best[0]):
                best = (rank, f, h, float(D[h]))
    return best


class _Space:
    """The framings to try: tokenizer x vocabulary ids x padding x length x truncating x padding_idx,
    each generated once, sorted by how many facts it changes."""

    def __init__(self, s: Structure, vocab, examples: Sequence[Example], cur: dict, free: dict[str, bool]):
        self.examples = examples
        self.toks = _tokenizers(cur["tokenizer"], vocab) if free["tokenizer"] else [cur["tokenizer"]]
        self.variants = _vocab_variants(vocab, free, cur["index_from"])
        self.cur, self.free = cur, free
        self._tokens: dict = {}
        self._ids: dict = {}
        self.bounded = False
        self.framings = self._generate()
        self.max_dist = max((f.dist for f in self.framings), default=0)

    def _generate(self) -> list[_Framing]:
        cur, free = self.cur, self.free
        paddings = _ordered(cur["padding"], ("pre", "post", "masked"), free["padding"])
        truncs = _ordered(cur["truncating"], ("pre", "post"), free["truncating"])
        out = []
        for (a, _), (b, var), (c, pad) in itertools.product(enumerate(self.toks), enumerate(self.variants),
                                                            enumerate(paddings)):
            lengths = _lengths(cur, self.examples, pad != "masked", free["max_len"])
            pidxs = _ordered(cur["padding_idx"], (None, var.ids.pad), free["padding_idx"])
            for (d, L), (e, tr), (g, pi) in itertools.product(enumerate(lengths), enumerate(truncs), enumerate(pidxs)):
                dist = (a > 0) + var.dist + (c > 0) + (d > 0) + (e > 0) + (g > 0)
                out.append(_Framing(a, b, pad, L, tr, pi, dist, (a, *var.order, c, d, e, g)))
                if len(out) >= MAX_FRAMINGS:
                    self.bounded = True
                    return sorted(out, key=lambda f: (f.dist, f.order))
        return sorted(out, key=lambda f: (f.dist, f.order))

    def tokens(self, tok: int, e: int) -> list[str]:
        if (tok, e) not in self._tokens:
            self._tokens[tok, e] = vocabs.read_tokens(self.examples[e].text, self.toks[tok])
        return self._tokens[tok, e]

    def ids(self, tok: int, voc: int, e: int) -> list[int]:
        """An example's ids before framing under this tokenizer and vocabulary."""
        var = self.variants[voc]
        key = (tok, var.ids, var.shift, e)
        if key not in self._ids:
            self._ids[key] = var.vocab.encode(self.tokens(tok, e))
        return self._ids[key]

    def rows(self, f: _Framing) -> tuple[tuple, bool] | None:
        """(the ids each example is read as, whether any was cut), or None when the framing
        contradicts an example's given ids."""
        var = self.variants[f.voc].ids
        rows, cut = [], False
        for e, ex in enumerate(self.examples):
            given = None if ex.ids is None else (_strip(ex.ids, var.pad) if f.padding == "masked" else ex.ids)
            if ex.text is None:
                rows.append(tuple(given))
                continue
            row, c = _frame(self.ids(f.tok, f.voc, e), var.start, f.max_len, f.padding, f.truncating, var.pad, var.unk)
            if given is not None and row != given:
                return None
            cut |= c
            rows.append(tuple(row))
        return tuple(rows), cut

    def input_of(self, f: _Framing, runner: _Runner) -> tuple | None:
        """(embedding, rows): what the model reads under framing f; None when the framing contradicts
        given ids or changes nothing a framing tried before it does not (a fact that cannot matter
        here is tried at its current value only, and listed as undetermined instead)."""
        got = self.rows(f)
        if got is None:
            return None
        rows, cut = got
        d_len, e_tr, g_pi = f.order[-3:]
        if not cut and e_tr > 0:  # truncating, with nothing cut
            return None
        if f.padding == "masked" and not cut and d_len > 0:
            return None  # unpadded: every length that cuts nothing reads the same
        changed = runner.changed_ids(f.padding_idx)
        if changed is None:  # a padding_idx reading the weights cannot give (the zeroed row is not kept)
            return None
        used = bool(changed) and any(i in changed for r in rows for i in r)
        if not used and g_pi > 0:
            return None
        return (f.padding_idx if used else "base", rows)

    def facts(self, f: _Framing) -> dict[str, Any]:
        var = self.variants[f.voc].ids
        return {"tokenizer": self.toks[f.tok], "index_from": var.index_from, "pad_id": var.pad, "unk_id": var.unk,
                "start_id": var.start, "max_len": f.max_len, "padding": f.padding, "truncating": f.truncating,
                "padding_idx": f.padding_idx}


def _reading(space: _Space, heads: list[_Head], f: _Framing, h: int) -> dict[str, Any]:
    head = heads[h]
    return {**space.facts(f), "reduction": head.reduction, "tanh": head.tanh, "hidden_activation": head.activation}


def _result(s: Structure, examples, space: _Space, heads, runner: _Runner, matches, closest, sources, free, relevant,
            tried, bounded) -> Result:
    n = len(examples)
    pick = min(matches, key=lambda m: (m[0], m[3])) if matches else closest
    matches = [m for m in matches if m[0][0] == pick[0][0]] if matches else []  # as exact as the kept one
    if pick is None:  # every framing contradicted some example's given ids
        line = next((e.line for e in examples if e.text is not None and e.ids is not None), 0)
        return Result(False, math.inf, n, s.framework, {}, dict(sources), {}, [], 0, tried, bounded, 0.0,
                      no_ids_match=line)
    _, f, h, diff = pick
    full = _reading(space, heads, f, h)
    reading = {k: full[k] for k in FACTS if k in relevant}
    values: dict[str, set] = {k: set() for k in reading}
    for _, f2, h2, _ in matches:
        other = _reading(space, heads, f2, h2)
        for k in values:
            values[k].add(json.dumps(other[k], sort_keys=True))
    undetermined = [k for k in reading if free[k] and (len(values[k]) > 1 or _left_open(k, f, examples, space, runner))]
    found = {k: reading[k] for k in reading if free[k] and k not in undetermined}
    res = Result(bool(matches), diff, n, s.framework, reading, dict(sources), found, undetermined,
                 max(0, len(matches) - 1), tried, bounded, 0.0)
    if matches:
        for k in reading:
            if k in found:
                res.sources[k] = f"found by check: the only value that reproduces the {n} examples" + (
                    " of those tried (the search stopped at its budget)" if bounded else "")
            elif k in undetermined and json.dumps(reading[k], sort_keys=True) == json.dumps(space.cur[k], sort_keys=True):
                res.sources[k] = f"{sources[k]} (the {n} examples agree with it, and with other values too)"
            elif k in undetermined:
                res.sources[k] = (f"assumed: {_value_text(reading[k])}, with the facts the check found (the {n} examples "
                                  f"agree with other values too); set it with {HOW_TO_SET.get(k, 'a recipe')}")
    res.vocab = _with_sources(space.variants[f.voc].vocab, res.sources)
    res.structure = apply_reading(s, res.vocab, reading, res.sources, runner._rows(f.padding_idx) or {})
    res.tokenizer = dict(reading.get("tokenizer") or space.cur["tokenizer"])
    return res


def _with_sources(vocab, sources: dict[str, str]):
    """The vocabulary with its ids' sources as the check left them (a copy: the search's is shared)."""
    v = copy.copy(vocab)
    v.sources = {**(getattr(vocab, "sources", None) or {}), **{k: sources[k] for k in ("pad_id", "unk_id", "start_id")
                                                               if k in sources}}
    return v


def _left_open(fact: str, f: _Framing, examples, space: _Space, runner: _Runner) -> bool:
    """Facts tried at one value only because nothing here depends on them (nothing cut: truncating;
    unpadded and nothing cut: the length; no padding_idx row read) are open even with one match."""
    if fact in ("truncating", "max_len"):
        rows = space.rows(f)
        cut = rows is not None and rows[1]
        return not cut and (fact == "truncating" or f.padding == "masked")
    if fact == "padding_idx":  # another value whose differing rows these examples never read
        rows = space.rows(f)
        alt = [v for v in (None, space.variants[f.voc].ids.pad) if v != f.padding_idx]
        return rows is not None and any(
            (changed := runner.changed_ids(v, f.padding_idx)) is not None and not any(i in changed for r in rows[0] for i in r)
            for v in alt)
    return False


def apply_reading(s: Structure, vocab, reading: dict, sources: dict | None = None,
                  rows: dict[int, torch.Tensor] | None = None) -> Structure:
    """A copy of the Structure set to a reading's facts (``rows``: embedding rows to set, Paddle's
    padding_idx); the original is left as it is."""
    out = copy.copy(s)
    out.state = dict(s.state)
    out.found = list(s.found)
    out.sources = {**(getattr(s, "sources", None) or {}), **{k: v for k, v in (sources or {}).items() if k in reading}}
    if "padding" in reading:
        out.padding = "none" if reading["padding"] == "masked" else reading["padding"]
    for fact in ("max_len", "truncating", "hidden_activation", "padding_idx"):
        if fact in reading:
            setattr(out, fact, reading[fact])
    if "reduction" in reading:
        out.pooling = REDUCTIONS[reading["reduction"]]
    if "tanh" in reading:
        out.output_activation = "tanh" if reading["tanh"] else "none"
    if "tokenizer" in reading:
        out.tokenizer = dict(reading["tokenizer"])
    if rows:
        w = out.state["embedding.weight"].clone()
        for i, r in rows.items():
            w[i] = r
        out.state["embedding.weight"] = w
    ids = dict(getattr(s, "ids", None) or {})
    ids.update({"pad_id": vocab.pad_id, "unk_id": vocab.unk_id, "start_id": vocab.start_id})
    if reading.get("index_from") is not None:
        ids["index_from"] = reading["index_from"]
    out.ids = ids
    out.vocab = vocab
    return out


# ---- the converted model, measured through its own checkpoint --------------------------------------------


@torch.no_grad()
def measure(ckpt, examples: Sequence[Example]) -> list[float]:
    """Each example's difference from the framework, through the checkpoint's own encode and forward
    (what every page computes): |P(positive) - given| and |logits - given|; inf where the text's ids
    differ from the given ones."""
    from sentiment.data.batching import collate

    rows, bad = [], []
    pad = getattr(ckpt.vocab, "pad_id", 0)
    for e in examples:
        if e.text is not None:
            ids = ckpt.encode_ids(e.text)
            given = None if e.ids is None else (e.ids if ckpt.config.reads_padding else _strip(e.ids, pad))
            bad.append(given is not None and ids != given)
        else:
            ids = e.ids if ckpt.config.reads_padding else _strip(e.ids, pad)
            bad.append(False)
        rows.append(ids)
    ids, lengths = collate(rows)
    logits = ckpt.model(ids, lengths).double()
    p = ckpt.probabilities(logits).double()[:, 1]
    out = []
    for i, e in enumerate(examples):
        d = 0.0 if e.positive is None else abs(float(p[i]) - e.positive)
        if e.logits is not None:
            mine = [float(logits[i, 1] - logits[i, 0])] if len(e.logits) == 1 else logits[i].tolist()
            d = max(d, max(abs(a - b) for a, b in zip(mine, e.logits, strict=True)))
        out.append(math.inf if bad[i] else d)
    return out


def settle(res: Result, diffs: list[float], examples: Sequence[Example]) -> Result:
    """The Result with the checkpoint's own differences (measure): reproduced only if they hold too."""
    if not res.reproduced and not res.closest:
        res.closest = {"reading": dict(res.reading),
                       "max_diff": float(f"{res.max_diff:.3g}") if math.isfinite(res.max_diff) else None}
    res.diffs = [float(d) for d in diffs]
    res.max_diff = max(res.diffs)
    res.worst_line = examples[int(np.argmax(diffs))].line
    res.reproduced = res.reproduced and all(d <= e.tolerance for d, e in zip(diffs, examples, strict=True))
    return res


def run_check(s: Structure, vocab, check: object, recipe: dict) -> Result:
    """``convert --check``: the examples read and the search run; refused (InputError naming the closest
    reading) when nothing reproduces them, unless the caller forces the conversion."""
    examples = list(check) if isinstance(check, (list, tuple)) and all(isinstance(e, Example) for e in check) \
        else read_examples(check)
    res = search(s, vocab, examples, recipe)
    res.checked = examples
    if not res.reproduced and not res.no_ids_match:  # the example the closest reading misses most
        diffs = measure(_checkpoint(res.structure, res.vocab, res.tokenizer), examples)
        res.worst_line = examples[int(np.argmax(diffs))].line
        res.max_diff = max(diffs)
    return res


def _checkpoint(s: Structure, vocab, tokenizer: dict):
    """An in-memory checkpoint of a Structure (what convert would write)."""
    from sentiment.modeling.checkpoint import Checkpoint

    model = SentimentRNN(s.model_config())
    model.load_state_dict(s.state)
    return Checkpoint(model.eval(), vocab, tokenizer, s.max_len, {"imported": True})


def card_entries(res: Result | None, model, vocab, tokenizer: dict, max_len: int, force: bool) -> dict:
    """The card's "verified" (and, when forced, "unverified") entries of a converted model: the model
    measured once more through its own checkpoint's encode and forward (``measure``); InputError
    (``refusal``) when that does not reproduce the examples and ``force`` is not set."""
    if res is None:
        return {"verified": None}
    from sentiment.modeling.checkpoint import Checkpoint

    if res.reproduced or force:
        settle(res, measure(Checkpoint(model, vocab, tokenizer, max_len, {"imported": True}), res.checked), res.checked)
    if res.reproduced:
        return {"verified": res.card()}
    if not force:
        raise refusal(res)
    return {"verified": None, "unverified": res.card()}


def refusal(res: Result) -> InputError:
    """Why nothing is written: no framing gives some line's ids, or the closest reading is off."""
    if res.no_ids_match:
        return InputError("verify.ids_unmatched", line=res.no_ids_match, ids=_Q["ids"], tried=res.tried)
    return InputError("verify.none_reproduces", reading=res.reading_text() or "as assumed", diff=res.max_diff,
                      line=res.worst_line, tried=res.tried, flags="--tokenizer, --max-len, --padding", force="--force")


# ---- what is printed and shown ----------------------------------------------------------------------------


def assumed_facts(s: Structure, recipe: dict | None = None, examples: Sequence[Example] = ()) -> list[str]:
    """The relevant facts nothing read or gave (what an unverified import assumed)."""
    sources = fact_sources(s, dict(recipe or {}))
    rel = relevant_facts(s, examples or [Example(0, text="x", positive=0.5)])
    return [f for f in rel if is_assumed(sources[f])]


def summary(card: dict, lang: str = "en", assumed: Sequence[str] | None = None) -> str:
    """An imported model's card in one line: "verified against <framework> on N reviews (largest
    difference X)", or "not verified: assumed A, B, C — run with --check ..." (``assumed``: the facts;
    default those the card's "imported" "facts" record as assumed)."""
    if assumed is None:
        facts = (card.get("imported") or {}).get("facts") or {}
        assumed = [f for f, d in facts.items() if isinstance(d, dict) and d.get("source") == "assumed"]
    v = card.get("verified")
    if v:
        return t("verify.verified", lang, framework=v.get("framework", "?"), n=v.get("examples", 0), diff=v.get("max_diff", 0.0))
    u = card.get("unverified")
    if u:
        diff = u.get("max_diff")
        return t("verify.forced", lang, n=u.get("examples", 0), diff=diff if isinstance(diff, (int, float)) else math.inf)
    return t("verify.not_verified", lang, facts=", ".join(assumed) or "-")
