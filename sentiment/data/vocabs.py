"""Vocabularies of imported models, and the fixed-length framing their frameworks fed them.

GateScope's own ``Vocab`` numbers tokens ``<pad>`` = 0, ``<unk>`` = 1, words from 2. A model trained
in another framework keeps that framework's ids, so this module owns
- ``IdVocab``: any id -> token table with its own pad, unknown and start ids (a Keras word index
  with ``index_from``; a token-per-line list; a Keras TextVectorization vocabulary);
- readers of those three vocabulary files (``read_vocab_file``);
- ``frame``: the start token, cutting at the front or back, and padding at the front or back to a
  fixed length, as ``keras.utils.pad_sequences`` and the seed tutorials do;
- ``read_tokens``: the tokenizer plus the imported model's own token filter.

Torch-free; ``checkpoint.load`` reads an ``IdVocab`` back from vocab.json when it has ``"ids"``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sentiment.data.text import KERAS_FILTERS, tokenize, tokenizer_problem
from sentiment.errors import InputError

PAD, UNK, START = "<pad>", "<unk>", "<start>"
KERAS_TOKENIZER = "Keras Tokenizer"  # keras.preprocessing.text.Tokenizer (tf.keras, tf_keras; not in Keras 3)
_MARKS = ("!", "?", "！", "？")


class IdVocab:
    """Token <-> id map of a framework-trained model: itos[i] is the token of id i ("" for an id no
    token maps to), with the model's own pad, unknown and (optional) start ids.

    ``unk_id`` None: the model has no unknown id, and words outside the vocabulary are left out (a
    Keras ``Tokenizer`` without ``oov_token``: ``texts_to_sequences`` drops them). ``sources`` says
    where each id came from, for the converter's printout and the card: "read: ..." (found in the
    vocabulary file), "given: ..." (passed in by the user or the caller) or "assumed: ..." (a default)."""

    def __init__(self, itos: Sequence[str], pad_id: int = 0, unk_id: int | None = 1, start_id: int | None = None,
                 sources: dict[str, str] | None = None):
        self.itos: list[str] = [str(t) for t in itos]
        n = len(self.itos)
        for name, i in (("pad_id", pad_id), ("unk_id", unk_id), ("start_id", start_id)):
            if i is not None and not 0 <= int(i) < n:
                raise ValueError(f"{name} {i} is outside the vocabulary's {n} ids")
        self.pad_id = int(pad_id)
        self.unk_id = None if unk_id is None else int(unk_id)
        self.start_id = None if start_id is None else int(start_id)
        self.sources: dict[str, str] = _sources(sources, {"pad_id": self.pad_id, "unk_id": self.unk_id,
                                                          "start_id": self.start_id})
        # The tokenizer spec the vocabulary file names (a Keras Tokenizer's JSON), else None; the
        # checkpoint's config keeps the spec, vocab.json does not.
        self.tokenizer: dict | None = None
        special = {self.pad_id, self.unk_id, self.start_id} - {None}
        self.stoi: dict[str, int] = {}
        for i, t in enumerate(self.itos):
            if t and i not in special:
                self.stoi.setdefault(t, i)  # the first (most frequent) id of a token wins

    def __len__(self) -> int:
        return len(self.itos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdVocab) and self.to_json() == other.to_json()

    def known(self, tokens: Sequence[str]) -> list[str]:
        """The tokens the model reads: all of them, or (no unknown id) those in the vocabulary."""
        return list(tokens) if self.unk_id is not None else [t for t in tokens if t in self.stoi]

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Ids of ``tokens``: unknown ones read as ``unk_id``, or are left out when there is none."""
        if self.unk_id is None:
            return [self.stoi[t] for t in tokens if t in self.stoi]
        return [self.stoi.get(t, self.unk_id) for t in tokens]

    def decode(self, ids: Sequence[int]) -> list[str]:
        return [self.itos[i] for i in ids]

    def to_json(self) -> str:
        return json.dumps({"itos": self.itos, "ids": {"pad": self.pad_id, "unk": self.unk_id, "start": self.start_id},
                           "sources": self.sources}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> IdVocab:
        """An IdVocab's JSON; files written before 2026-12 have no "sources" (each id then reads "given")."""
        d = json.loads(text)
        ids = d["ids"]
        return cls(d["itos"], ids["pad"], ids.get("unk", 1), ids.get("start"), d.get("sources"))


def _sources(given: object, ids: dict[str, int | None]) -> dict[str, str]:
    """Where each id came from: ``given``'s entries (str -> str only; ValueError otherwise), and
    "given: <id>" for an id it does not describe (the caller passed it in)."""
    if given is not None and not (isinstance(given, dict) and all(isinstance(k, str) and isinstance(v, str)
                                                                   for k, v in given.items())):
        raise ValueError("sources must map id names to strings")
    out = {k: v[:200] for k, v in (given or {}).items() if k in ids}
    for name, i in ids.items():
        out.setdefault(name, "given: none" if i is None else f"given: {i}")
    return out


def is_id_vocab_json(text: str) -> bool:
    """True when a vocab.json holds an IdVocab (it names its own ids)."""
    try:
        return isinstance(json.loads(text), dict) and "ids" in json.loads(text)
    except json.JSONDecodeError:
        return False


# ---- vocabulary files ---------------------------------------------------------------------------


# How vocabularies name their specials: <pad>, [PAD], PAD ... in any case (Chinese-Text-Classification-
# Pytorch's TextRNN appends "<UNK>", "<PAD>" last; BERT-style lists hold "[PAD]", "[UNK]"). Bracketed
# forms count anywhere; a bare "pad" / "unk" in lower case is also an English word, so it counts
# only among the first two ids, where specials are put.
_SPECIAL_NAMES = {"pad_id": "pad", "unk_id": "unk"}
_SPECIAL_HEAD = 2


def _special_rank(token: str, i: int, name: str) -> int | None:
    """How surely ``token`` at id ``i`` is the special ``name`` ("pad" or "unk"): 0 bracketed, 1 bare,
    None not it."""
    low = token.lower()
    if low in (f"<{name}>", f"[{name}]"):
        return 0
    if low == name and (token != low or i < _SPECIAL_HEAD):
        return 1
    return None


def find_specials(tokens: dict[int, str]) -> dict[str, tuple[int, str]]:
    """The pad and unknown ids a vocabulary names (``tokens``: id -> token): {"pad_id": (id, token),
    "unk_id": (id, token)} for those found; a bracketed name wins over a bare one, then the lower id."""
    found: dict[str, tuple[int, int, str]] = {}
    for i, t in tokens.items():
        for key, name in _SPECIAL_NAMES.items():
            rank = _special_rank(t, i, name)
            if rank is not None and (key not in found or (rank, i) < found[key][:2]):
                found[key] = (rank, i, t)
    return {k: (i, t) for k, (_, i, t) in found.items()}


def from_word_index(word_index: dict, size: int, index_from: int = 3, pad_id: int = 0,
                    start_id: int | None = 1, unk_id: int = 2, sources: dict[str, str] | None = None) -> IdVocab:
    """A Keras-style word index (word -> rank from 1, as ``keras.datasets.imdb.get_word_index()``):
    id = rank + index_from; ids at or past ``size`` (the embedding's rows) read as unknown. The ids
    default to ``imdb.load_data``'s (pad 0, start 1, oov 2), recorded as assumed unless ``sources``
    says otherwise."""
    itos = [""] * size
    for i, name in ((pad_id, PAD), (start_id, START), (unk_id, UNK)):
        if i is not None and 0 <= i < size:
            itos[i] = name
    for word, rank in word_index.items():
        i = int(rank) + index_from
        if 0 <= i < size and not itos[i]:
            itos[i] = str(word)
    said = {"pad_id": f"assumed: {pad_id} (the value keras.utils.pad_sequences pads with)",
            "start_id": f"assumed: {start_id} (imdb.load_data's start_char)" if start_id is not None else "assumed: none",
            "unk_id": f"assumed: {unk_id} (imdb.load_data's oov_char)"}
    return IdVocab(itos, pad_id, unk_id, start_id, dict(said, **(sources or {})))


def from_keras_tokenizer(word_index: dict, size: int, num_words: int | None = None,
                         oov_token: str | None = None) -> IdVocab:
    """The ids a fitted Keras ``Tokenizer`` gives (``texts_to_sequences``): word_index's ids as they
    are (from 1), only those below ``num_words`` when it is set, 0 for padding; with ``oov_token``
    other words read as its id, without one they are left out (the vocabulary has no unknown id).
    InputError when the tokenizer gives ids the embedding of ``size`` rows does not have."""
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in word_index.values()):
        raise InputError("vocab.keras_ids", what=KERAS_TOKENIZER)
    top = min(num_words, max(word_index.values(), default=0) + 1) if num_words else max(word_index.values(), default=0) + 1
    if top > size:
        raise InputError("vocab.more_ids_than_rows", what=KERAS_TOKENIZER, top=top - 1, size=size)
    itos = [PAD] + [""] * (size - 1)
    for word, i in word_index.items():
        if i < top and not itos[i]:
            itos[i] = str(word)
    unk = word_index.get(oov_token) if oov_token is not None else None
    if oov_token is not None and (unk is None or unk >= size):
        raise InputError("vocab.keras_oov", what=KERAS_TOKENIZER, token=str(oov_token)[:40])
    sources = {"pad_id": "assumed: 0 (the value keras.utils.pad_sequences pads with; the Tokenizer never gives 0)",
               "unk_id": f"read: oov_token {oov_token!r} at id {unk}" if unk is not None
               else "read: no oov_token (texts_to_sequences leaves unknown words out)",
               "start_id": "read: none (a Tokenizer adds no start id)"}
    return IdVocab(itos, 0, unk, None, sources)


def read_keras_tokenizer(data: dict, size: int, name: str = "tokenizer.json", language: str = "en") -> tuple[IdVocab, dict]:
    """A Keras ``Tokenizer.to_json()`` object -> (its vocabulary, the tokenizer spec it names:
    mode "keras" with its filters, lower, split and char_level; ``language`` as the caller says, the
    file does not). InputError when it is not one."""
    config = data.get("config") if isinstance(data, dict) else None
    try:
        word_index = json.loads(config["word_index"]) if isinstance(config["word_index"], str) else config["word_index"]
        num_words, oov = config.get("num_words"), config.get("oov_token")
        spec = {"language": language, "mode": "keras", "filters": config.get("filters", KERAS_FILTERS),
                "lower": config.get("lower", True), "split": config.get("split", " "),
                "char_level": config.get("char_level", False)}
    except (TypeError, KeyError, AttributeError, json.JSONDecodeError, RecursionError):
        raise _not_keras_tokenizer(name) from None
    if (not isinstance(word_index, dict) or tokenizer_problem(spec) is not None
            or not (num_words is None or (isinstance(num_words, int) and not isinstance(num_words, bool) and num_words > 0))
            or not (oov is None or isinstance(oov, str))):
        raise _not_keras_tokenizer(name)
    return from_keras_tokenizer(word_index, size, num_words, oov), spec


def _not_keras_tokenizer(name: str) -> InputError:
    return InputError("vocab.keras_tokenizer", file=name, writer=f"{KERAS_TOKENIZER}.to_json()",
                      keys="word_index, num_words, oov_token, filters, lower, split, char_level")


def is_keras_tokenizer(data: object) -> bool:
    """True for the object ``keras.preprocessing.text.Tokenizer.to_json()`` writes."""
    return isinstance(data, dict) and data.get("class_name") == "Tokenizer" and isinstance(data.get("config"), dict)


def from_token_list(tokens: Sequence[str], size: int, pad_id: int | None = None, unk_id: int | None = None,
                    name: str = "vocabulary") -> IdVocab:
    """A token-per-line list: id = line number (from 0). The pad and unknown ids are those of the
    tokens that name them (``find_specials``: "<pad>", "[PAD]", "<UNK>", ... in any case, anywhere),
    else a "" line for padding (Keras' TextVectorization), else 0 and 1, unless given."""
    itos = list(tokens)[:size] + [""] * max(0, size - len(tokens))
    found = find_specials(dict(enumerate(itos)))
    if "pad_id" not in found and "" in itos:
        found["pad_id"] = (itos.index(""), "")
    ids, sources = {}, {}
    for key, given, default in (("pad_id", pad_id, 0), ("unk_id", unk_id, 1)):
        ids[key], sources[key] = _choose(key, given, found, default, name)
    sources["start_id"] = "assumed: none (no start id)"
    return IdVocab(itos, ids["pad_id"], ids["unk_id"], None, sources)


def _choose(key: str, given: int | None, found: dict[str, tuple[int, str]], default: int, name: str,
            offset: int = 0) -> tuple[int, str]:
    """(the id, where it came from) of a pad or unknown id: given (InputError when the vocabulary
    names another), else read from the vocabulary (its id + ``offset``), else ``default``."""
    if key in found:
        i, tok = found[key][0] + offset, found[key][1]
        if given is not None and given != i:
            raise InputError("vocab.given_contradicts", file=name, key=key, given=given, token=tok, read=i)
        return i, f"given: {i} (the vocabulary's {tok!r} too)" if given is not None else f"read: token {tok!r} at id {i}"
    if given is not None:
        return given, f"given: {given}"
    return default, f"assumed: {default} (no {'<pad>' if key == 'pad_id' else '<unk>'} in the vocabulary)"


def _from_mapping(data: dict, size: int, name: str, index_from: int | None, ids: dict) -> IdVocab:
    """A JSON word -> id object: a Keras word index (ranks from 1; id = rank + index_from, default 3,
    with pad 0, start 1, unknown 2) or, when it names a pad or unknown token (``find_specials``) or
    starts at 0, ids as they are."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in data.values()):
        raise InputError("vocab.not_ids", file=name)
    found = find_specials({i: str(w) for w, i in data.items()})
    direct = bool(found) or min(data.values(), default=1) == 0
    k = index_from if index_from is not None else (0 if direct else 3)
    top = max(data.values(), default=0) + k
    if top + 1 < size:
        raise InputError("vocab.too_few_ids", file=name, top=top, size=size)
    given = {key: f"given: {v}" for key, v in ids.items() if v is not None}
    if not direct:
        return from_word_index(data, size, k, ids.get("pad_id", 0), ids.get("start_id", 1), ids.get("unk_id", 2),
                               given)
    itos = [""] * size
    for w, i in data.items():
        if 0 <= i + k < size:
            itos[i + k] = str(w)
    chosen, sources = {}, {}
    for key, default in (("pad_id", 0), ("unk_id", 1)):
        chosen[key], sources[key] = _choose(key, ids.get(key), found, default, name, k)
    start = ids.get("start_id")
    sources["start_id"] = given.get("start_id", "assumed: none (no start id)")
    return IdVocab(itos, chosen["pad_id"], chosen["unk_id"], start, sources)


def read_vocab_file(path: str | Path, size: int, index_from: int | None = None, ids: dict | None = None) -> IdVocab:
    """A vocabulary file: a JSON object (word -> id or rank), a Keras ``Tokenizer.to_json()``, a JSON
    list, or one token per line (id = line number). ``ids`` may set pad_id, unk_id, start_id. The
    IdVocab's ``sources`` say where each id came from; for a Keras Tokenizer its ``tokenizer`` is the
    spec the file names. InputError when it is unreadable, does not fit an embedding of ``size``
    rows, or names other ids than those given."""
    p, ids = Path(path), dict(ids or {})
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError("vocab.unreadable", file=p.name, err=e) from None
    data = None
    if text.lstrip()[:1] in ("{", "["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError("vocab.bad_json", file=p.name, err=e) from None
    try:
        if is_keras_tokenizer(data):
            return _keras_tokenizer_file(data, size, p.name, index_from, ids)
        if isinstance(data, dict):
            return _from_mapping(data, size, p.name, index_from, ids)
        tokens = [str(t) for t in data] if isinstance(data, list) else _lines(text)
        if len(tokens) < size:
            raise InputError("vocab.too_few_tokens", file=p.name, n=len(tokens), size=size)
        if len(tokens) > size:
            raise InputError("vocab.too_many_tokens", file=p.name, n=len(tokens), size=size)
        return from_token_list(tokens, size, ids.get("pad_id"), ids.get("unk_id"), p.name)
    except ValueError as e:
        raise InputError("vocab.invalid", file=p.name, err=e) from None


def _lines(text: str) -> list[str]:
    """A token-per-line file's tokens: split at line ends only (a character vocabulary may hold any
    other character, spaces included), CRLF when every line ends so; no token after a final line end."""
    crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
    lines = text.split("\r\n" if crlf else "\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def _keras_tokenizer_file(data: dict, size: int, name: str, index_from: int | None, ids: dict) -> IdVocab:
    """read_vocab_file for a Keras Tokenizer's JSON: its own ids; given ids or an offset that differ
    from them are refused."""
    vocab, spec = read_keras_tokenizer(data, size, name)
    if index_from not in (None, 0):
        raise InputError("vocab.keras_given", file=name, key="index_from", given=index_from, what=KERAS_TOKENIZER, read=0)
    for key in ("pad_id", "unk_id", "start_id"):
        if ids.get(key) is not None and ids[key] != getattr(vocab, key):
            raise InputError("vocab.keras_given", file=name, key=key, given=ids[key], what=KERAS_TOKENIZER,
                             read=getattr(vocab, key))
    vocab.tokenizer = spec
    return vocab


# ---- framing ------------------------------------------------------------------------------------


@dataclass
class Framed:
    ids: list[int]  # the ids the model reads, pads included
    tokens: list[str]  # a token per id ("<pad>" at pad steps, "<start>" for a start id)
    padding: list[bool]  # True at pad steps
    truncated: int  # tokens cut


def frame(tokens: Sequence[str], vocab, max_len: int, padding: str = "none", truncating: str = "post") -> Framed:
    """tokens -> the model's input: a start id first (if the vocabulary has one), cut to max_len at
    the back ("post", keep the first tokens) or front ("pre", keep the last), then padded to max_len
    at the front ("pre") or back ("post"); padding "none": no pads (the model masks them). Words a
    vocabulary without an unknown id does not have are left out first, as Keras' Tokenizer does."""
    toks = vocab.known(tokens) if isinstance(vocab, IdVocab) else list(tokens)
    ids = vocab.encode(toks)
    start = getattr(vocab, "start_id", None)
    if start is not None:
        ids, toks = [start] + ids, [START] + toks
    cut = max(0, len(ids) - max_len)
    if cut:
        keep = slice(cut, None) if truncating == "pre" else slice(0, max_len)
        ids, toks = ids[keep], toks[keep]
    n_pad = max_len - len(ids) if padding in ("pre", "post") else 0
    pad_id = getattr(vocab, "pad_id", 0)
    pads, flags = [pad_id] * n_pad, [False] * len(ids)
    if padding == "pre":
        return Framed(pads + ids, [PAD] * n_pad + toks, [True] * n_pad + flags, cut)
    return Framed(ids + pads, toks + [PAD] * n_pad, flags + [True] * n_pad, cut)


def read_tokens(text: str, tokenizer: dict) -> list[str]:
    """The tokenizer's tokens; ``"marks": false`` in a word or char spec drops ! and ? (frameworks
    whose tokenizers strip punctuation, e.g. Keras' IMDB word index). The "list" and "keras" modes
    are read exactly as their frameworks read them: nothing is dropped after them."""
    tokens = tokenize(text, tokenizer)
    if tokenizer.get("mode", "word") in ("word", "char") and tokenizer.get("marks", True) is False:
        tokens = [t for t in tokens if t not in _MARKS]
    return tokens
