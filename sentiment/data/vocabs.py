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
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from sentiment.data.text import tokenize
from sentiment.errors import InputError

PAD, UNK, START = "<pad>", "<unk>", "<start>"
_MARKS = ("!", "?", "！", "？")


class IdVocab:
    """Token <-> id map of a framework-trained model: itos[i] is the token of id i ("" for an id no
    token maps to), with the model's own pad, unknown and (optional) start ids."""

    def __init__(self, itos: Sequence[str], pad_id: int = 0, unk_id: int = 1, start_id: int | None = None):
        self.itos: list[str] = [str(t) for t in itos]
        n = len(self.itos)
        for name, i in (("pad_id", pad_id), ("unk_id", unk_id), ("start_id", start_id)):
            if i is not None and not 0 <= int(i) < n:
                raise ValueError(f"{name} {i} is outside the vocabulary's {n} ids")
        self.pad_id, self.unk_id = int(pad_id), int(unk_id)
        self.start_id = None if start_id is None else int(start_id)
        special = {self.pad_id, self.unk_id} | ({self.start_id} if self.start_id is not None else set())
        self.stoi: dict[str, int] = {}
        for i, t in enumerate(self.itos):
            if t and i not in special:
                self.stoi.setdefault(t, i)  # the first (most frequent) id of a token wins

    def __len__(self) -> int:
        return len(self.itos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdVocab) and self.to_json() == other.to_json()

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.stoi.get(t, self.unk_id) for t in tokens]

    def decode(self, ids: Sequence[int]) -> list[str]:
        return [self.itos[i] for i in ids]

    def to_json(self) -> str:
        return json.dumps({"itos": self.itos, "ids": {"pad": self.pad_id, "unk": self.unk_id, "start": self.start_id}},
                          ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "IdVocab":
        d = json.loads(text)
        ids = d["ids"]
        return cls(d["itos"], ids["pad"], ids["unk"], ids.get("start"))


def is_id_vocab_json(text: str) -> bool:
    """True when a vocab.json holds an IdVocab (it names its own ids)."""
    try:
        return isinstance(json.loads(text), dict) and "ids" in json.loads(text)
    except json.JSONDecodeError:
        return False


# ---- vocabulary files ---------------------------------------------------------------------------


def from_word_index(word_index: dict, size: int, index_from: int = 3, pad_id: int = 0,
                    start_id: int | None = 1, unk_id: int = 2) -> IdVocab:
    """A Keras-style word index (word -> rank from 1, as ``keras.datasets.imdb.get_word_index()``):
    id = rank + index_from; ids at or past ``size`` (the embedding's rows) read as unknown."""
    itos = [""] * size
    for i, name in ((pad_id, PAD), (start_id, START), (unk_id, UNK)):
        if i is not None and 0 <= i < size:
            itos[i] = name
    for word, rank in word_index.items():
        i = int(rank) + index_from
        if 0 <= i < size and not itos[i]:
            itos[i] = str(word)
    return IdVocab(itos, pad_id, unk_id, start_id)


def from_token_list(tokens: Sequence[str], size: int, pad_id: int | None = None, unk_id: int | None = None) -> IdVocab:
    """A token-per-line list: id = line number. The pad and unknown ids are the lines "<pad>" / ""
    and "<unk>" / "[UNK]" unless given."""
    itos = list(tokens)[:size] + [""] * max(0, size - len(tokens))

    def find(names: Sequence[str], default: int) -> int:
        return next((i for i, t in enumerate(itos) if t in names), default)

    pad = find((PAD, "[PAD]", ""), 0) if pad_id is None else pad_id
    unk = find((UNK, "[UNK]", "<UNK>", "UNK"), 1) if unk_id is None else unk_id
    return IdVocab(itos, pad, unk, None)


def _from_mapping(data: dict, size: int, name: str, index_from: int | None, ids: dict) -> IdVocab:
    """A JSON word -> id object: a Keras word index (ranks from 1; id = rank + index_from, default 3,
    with pad 0, start 1, unknown 2) or, when it names "<pad>" / "<unk>" or starts at 0, ids as they are."""
    if not all(isinstance(v, int) for v in data.values()):
        raise InputError("vocab.not_ids", file=name)
    direct = PAD in data or UNK in data or min(data.values(), default=1) == 0
    k = index_from if index_from is not None else (0 if direct else 3)
    top = max(data.values(), default=0) + k
    if top + 1 < size:
        raise InputError("vocab.too_few_ids", file=name, top=top, size=size)
    if direct:
        itos = [""] * size
        for w, i in data.items():
            if 0 <= i + k < size:
                itos[i + k] = str(w)
        pad = ids.get("pad_id", data.get(PAD, 0) + k if PAD in data else 0)
        unk = ids.get("unk_id", data[UNK] + k if UNK in data else 1)
        return IdVocab(itos, pad, unk, ids.get("start_id"))
    return from_word_index(data, size, k, ids.get("pad_id", 0), ids.get("start_id", 1), ids.get("unk_id", 2))


def read_vocab_file(path: str | Path, size: int, index_from: int | None = None, ids: dict | None = None) -> IdVocab:
    """A vocabulary file: a JSON object (word -> id or rank), a JSON list, or one token per line
    (id = line number). ``ids`` may set pad_id, unk_id, start_id. InputError when it is unreadable
    or does not fit an embedding of ``size`` rows."""
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
        if isinstance(data, dict):
            return _from_mapping(data, size, p.name, index_from, ids)
        tokens = [str(t) for t in data] if isinstance(data, list) else text.split("\n")
        if tokens and tokens[-1] == "" and not isinstance(data, list):
            tokens = tokens[:-1]
        if len(tokens) < size:
            raise InputError("vocab.too_few_tokens", file=p.name, n=len(tokens), size=size)
        if len(tokens) > size:
            raise InputError("vocab.too_many_tokens", file=p.name, n=len(tokens), size=size)
        return from_token_list(tokens, size, ids.get("pad_id"), ids.get("unk_id"))
    except ValueError as e:
        raise InputError("vocab.invalid", file=p.name, err=e) from None


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
    at the front ("pre") or back ("post"); padding "none": no pads (the model masks them)."""
    ids = vocab.encode(tokens)
    toks = list(tokens)
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
    """The tokenizer's tokens; ``"marks": false`` in the spec drops ! and ? (frameworks whose
    tokenizers strip punctuation, e.g. Keras' IMDB word index)."""
    tokens = tokenize(text, tokenizer)
    if tokenizer.get("marks", True) is False:
        tokens = [t for t in tokens if t not in _MARKS]
    return tokens
