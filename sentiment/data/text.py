"""Text: cleaning, tokenizers (English regex, Chinese jieba words or characters, list(text), Keras'
Tokenizer), language guess, Vocab.

A tokenizer is described by a small dict, ``{"language": "en" | "zh", "mode": ...}``, stored in
every checkpoint's config so the app tokenizes exactly as training did (``TOKENIZER_MODES`` says what
each mode does, ``tokenizer_problem`` checks a spec):
- ``"word"``: GateScope's own words (English regex words; Chinese jieba words). English models
  trained since 2026-11-23 also record ``"letters": "latin"``: their words keep accented Latin letters
  ("café", "naïve"); without it (the shipped English models) only a-z are letters, as they were trained.
- ``"char"``: GateScope's Chinese characters (``python -m sentiment.train --tokenizer char``):
  punctuation dropped but ! and ?, width normalised, Latin and digit runs kept whole and lower-cased.
- ``"list"``: Python's ``list(text)``, every character as it is, for models imported from
  character-level tutorials (nothing cleaned, normalised or dropped).
- ``"keras"``: Keras' ``Tokenizer`` / ``text_to_word_sequence`` (optional ``"filters"``, ``"lower"``,
  ``"split"``, ``"char_level"`` as the Keras arguments), for models imported from Keras tutorials.
Imported models (``data.vocabs.read_tokens``) may also record ``"marks": false`` (word and char
modes only: ! and ? dropped, as the seeds' tokenizers did).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from sentiment import spec
from sentiment.errors import InputError

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1

# Raw text beyond this many characters is cut before tokenizing (a 1 MB paste stays fast);
# the model reads at most spec.READ_LIMIT (2,000) tokens anyway, about 11,000 characters of English.
MAX_CHARS = 20_000
# A paste longer than this is cut where it arrives (the page's text box, the server) with a message:
# nothing reads the rest (a 24 MB paste cost a server 802 MB and up to 47 CPU seconds before).
MAX_PASTE = 100_000

_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,200}>")
_EN_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)*|[!?]")  # letters "ascii": "café" reads as "caf"
_LATIN_LOWER = "a-z\u00df-\u00f6\u00f8-\u024f"  # a-z, then Latin-1 and Latin Extended-A/B lower-case letters
_EN_TOKEN_LATIN = re.compile(rf"[0-9{_LATIN_LOWER}]+(?:'[{_LATIN_LOWER}]+)*|[!?]")  # letters "latin": "café"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_ZH_KEEP = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffA-Za-z0-9]")
_ZH_PUNCT_KEEP = {"!", "?", "！", "？"}


def clean(text: str) -> str:
    """Remove HTML line breaks and tags, control characters; normalise width (NFKC)."""
    text = _BR.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)


def tokenize_en(text: str, letters: str = "ascii") -> list[str]:
    """Lower-case words, numbers and apostrophes; ! and ? kept as tokens. ``letters``: "ascii" (a-z)
    or "latin" (accented Latin letters too)."""
    if letters not in ("ascii", "latin"):
        raise ValueError(f"unknown English tokenizer letters {letters!r} (ascii or latin)")
    return (_EN_TOKEN_LATIN if letters == "latin" else _EN_TOKEN).findall(clean(text).lower())


# ---- jieba: loaded once per process, its cache in a folder the user can set -------------------

_jieba_lock = threading.Lock()
_jieba = None


cache_dir = spec.cache_dir  # $GATESCOPE_CACHE or ~/.cache/gatescope (sentiment.spec)


def _get_jieba():
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                folder = cache_dir()
                folder.mkdir(parents=True, exist_ok=True)
                jieba.dt.tmp_dir = str(folder)
                jieba.dt.cache_file = "jieba.cache"
                jieba.initialize()
                _jieba = jieba
    return _jieba


def tokenize_zh(text: str, mode: str = "word") -> list[str]:
    """Chinese: jieba words (``mode="word"``) or single characters (``"char"``).

    Whitespace and punctuation are dropped except ! and ? (which carry sentiment);
    Latin words are lower-cased and kept whole.
    """
    text = clean(text)
    if mode == "char":
        out: list[str] = []
        for piece in re.findall(r"[A-Za-z0-9]+|.", text, flags=re.S):
            if _ZH_KEEP.search(piece):
                out.append(piece.lower())
            elif piece in _ZH_PUNCT_KEEP:
                out.append(piece)
        return out
    if mode != "word":
        raise ValueError(f"unknown Chinese tokenizer mode {mode!r} (word or char)")
    words = _get_jieba().lcut(text)
    return [w.strip().lower() for w in words if _ZH_KEEP.search(w) or w in _ZH_PUNCT_KEEP]


# ---- the tokenizers tutorials write: list(text) and Keras' Tokenizer ------------------------------

# Keras' default filters (keras.preprocessing.text.Tokenizer, text_to_word_sequence): ASCII
# punctuation but the apostrophe, tab and newline.
KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


def tokenize_list(text: str) -> list[str]:
    """Exactly ``list(text)``: every character is a token, as character-level tutorials feed their
    models (punctuation, spaces, Latin letters and digits one by one; nothing cleaned or normalised)."""
    return list(text)


@functools.lru_cache(maxsize=16)
def _keras_table(filters: str, split: str) -> dict[int, str]:
    return str.maketrans({c: split for c in filters})


def tokenize_keras(text: str, filters: str = KERAS_FILTERS, lower: bool = True, split: str = " ",
                   char_level: bool = False) -> list[str]:
    """Keras' ``Tokenizer.texts_to_sequences`` tokens (tf_keras/src/preprocessing/text.py): lower-case
    (``lower``); then with ``char_level`` every character, else each filter character becomes
    ``split``, the text is split on ``split`` and empty pieces are dropped (``text_to_word_sequence``)."""
    if lower:
        text = text.lower()
    if char_level:  # Keras applies no filters at character level
        return list(text)
    return [w for w in text.translate(_keras_table(filters, split)).split(split) if w]


# The modes a tokenizer spec may name, each with what it reads (English: the CLI's help and the
# converter's printout; the pages word their own).
TOKENIZER_MODES: dict[str, str] = {
    "word": "GateScope's words: English lower-case words, numbers, ! and ?; Chinese jieba words "
            "(punctuation dropped but ! and ?)",
    "char": "GateScope's Chinese characters (models trained here with --tokenizer char): punctuation dropped "
            "but ! and ?, full-width marks normalised, Latin letters and digits kept as lower-case runs",
    "list": "Python's list(text): every character one by one (punctuation, spaces, Latin letters and "
            "digits included), nothing normalised, as character-level tutorials feed their models",
    "keras": "Keras' Tokenizer / text_to_word_sequence: lower-cased, each filter character (by default "
             "ASCII punctuation except the apostrophe, plus tab and newline) made a space, split on spaces",
}
# The modes offered per language (tokenizer_modes); a checkpoint may name any mode with either.
_MODES_OFFERED = {"en": ("word", "keras", "list"), "zh": ("word", "char", "list", "keras")}
# Every key a spec may hold, with the modes it belongs to (None: any mode).
TOKENIZER_KEYS: dict[str, tuple[str, ...] | None] = {
    "language": None, "mode": None, "letters": ("word", "char"), "marks": ("word", "char"),
    "filters": ("keras",), "lower": ("keras",), "split": ("keras",), "char_level": ("keras",),
}
_KERAS_LIMITS = {"filters": 1000, "split": 16}  # characters: a spec stays a small dict


def tokenizer_modes(language: str | None = None) -> dict[str, str]:
    """The tokenizer modes (name -> one-line description, English) offered for ``language``
    ("en" or "zh"; None: all of them)."""
    names = _MODES_OFFERED.get(language, tuple(TOKENIZER_MODES)) if language else tuple(TOKENIZER_MODES)
    return {m: TOKENIZER_MODES[m] for m in names}


def tokenizer_problem(tokenizer: object) -> str | None:
    """The first key of a tokenizer spec that GateScope cannot read (an unknown key, a key of
    another mode, a value of the wrong type or out of range), "spec" when it is not a dict, None
    when the spec is good. Callers raise their own coded error naming it."""
    if not isinstance(tokenizer, dict):
        return "spec"
    if tokenizer.get("language", "en") not in spec.LANGUAGES:
        return "language"
    mode = tokenizer.get("mode", "word")
    if not isinstance(mode, str) or mode not in TOKENIZER_MODES:
        return "mode"
    for key in tokenizer:  # a key of another mode would be silently ignored: refused instead
        modes = TOKENIZER_KEYS.get(key, ())
        if key not in TOKENIZER_KEYS or (modes is not None and mode not in modes):
            return str(key)[:40]
    checks = {
        "letters": lambda v: v in ("ascii", "latin"),
        "marks": lambda v: isinstance(v, bool),
        "lower": lambda v: isinstance(v, bool),
        "char_level": lambda v: isinstance(v, bool),
        "filters": lambda v: isinstance(v, str) and len(v) <= _KERAS_LIMITS["filters"],
        "split": lambda v: isinstance(v, str) and 1 <= len(v) <= _KERAS_LIMITS["split"],
    }
    return next((k for k, ok in checks.items() if k in tokenizer and not ok(tokenizer[k])), None)


def tokenize(text: str, spec: dict) -> list[str]:
    """Tokenize with a tokenizer spec (the module's docstring): ``{"language": "en"|"zh", "mode":
    "word"|"char"|"list"|"keras"[, "letters": "latin"][, Keras' "filters", "lower", "split", "char_level"]}``.
    "list" and "keras" read the text as it is: neither ``clean`` nor any normalisation touches it."""
    mode = spec.get("mode", "word")
    if mode == "list":
        return tokenize_list(text)
    if mode == "keras":
        return tokenize_keras(text, spec.get("filters", KERAS_FILTERS), spec.get("lower", True),
                              spec.get("split", " "), spec.get("char_level", False))
    if spec.get("language") == "zh":
        return tokenize_zh(text, mode)
    return tokenize_en(text, spec.get("letters", "ascii"))


def cjk_share(text: str) -> float:
    """Share of CJK characters among the letters (CJK + Latin) of the text; 0.0 if it has none."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    return cjk / (cjk + latin) if cjk + latin else 0.0


def guess_language(text: str) -> str:
    """'zh' when CJK characters dominate, 'en' when Latin letters do, 'unknown' when neither is present.

    A CJK character carries about as much as a whole English word, so CJK characters weigh 3x here.
    """
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    if cjk + latin == 0:
        return "unknown"
    return "zh" if 3 * cjk >= latin else "en"


def cut_paste(text: str) -> tuple[str, int]:
    """(the text cut to MAX_PASTE characters, how many characters were dropped)."""
    return (text, 0) if len(text) <= MAX_PASTE else (text[:MAX_PASTE], len(text) - MAX_PASTE)


_SCRIPTS = ("CYRILLIC", "ARABIC", "HEBREW", "GREEK", "DEVANAGARI", "THAI", "HANGUL", "HIRAGANA", "KATAKANA",
            "ARMENIAN", "GEORGIAN", "BENGALI", "TAMIL", "ETHIOPIC")


def other_script(text: str, sample: int = 2000) -> str | None:
    """The writing system of a text's letters when it is none the tokenizers read ("Cyrillic",
    "Arabic", ...; "another script" when unnamed), else None. Reads at most ``sample`` characters."""
    counts: Counter[str] = Counter()
    for ch in text[:sample]:
        if ch.isalpha() and not _LATIN.match(ch) and not _CJK.match(ch):
            name = unicodedata.name(ch, "")
            counts[next((s for s in _SCRIPTS if name.startswith(s)), "")] += 1
    if not counts:
        return None
    script = counts.most_common(1)[0][0]
    return script.title() if script else "another script"


_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z']*")


def unread_runs(text: str, language: str) -> list[str]:
    """The runs of a review a model of ``language`` cannot read as words: Chinese characters for an
    English model (its tokenizer drops them), Latin words for a Chinese one (its vocabulary has none
    of them), in order, each once."""
    runs = _CJK_RUN.findall(text) if language == "en" else _LATIN_RUN.findall(text) if language == "zh" else []
    return list(dict.fromkeys(runs))


def check_review(text: object) -> str:
    """Validate a typed review; returns it cut to MAX_CHARS. Raises InputError with a clear message."""
    if not isinstance(text, str):
        raise InputError("review.not_text")
    if not text.strip():
        raise InputError("review.empty")
    return text[:MAX_CHARS]


# ---- Vocab -------------------------------------------------------------------------------------


class Vocab:
    """Token <-> id map with ``<pad>``=0 and ``<unk>``=1; saved as JSON, round-trips exactly."""

    def __init__(self, itos: Sequence[str]):
        if list(itos[:2]) != [PAD, UNK]:
            raise ValueError("a Vocab starts with <pad> and <unk>")
        self.itos: list[str] = list(itos)
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("a Vocab has no duplicate tokens")

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], min_freq: int = 2, max_size: int = 20_000) -> Vocab:
        """Most frequent tokens first (ties broken alphabetically), at least min_freq, at most max_size in all."""
        counts: Counter[str] = Counter()
        for tokens in token_lists:
            counts.update(tokens)
        counts.pop(PAD, None)
        counts.pop(UNK, None)
        ranked = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        return cls([PAD, UNK] + ranked[: max(0, max_size - 2)])

    def __len__(self) -> int:
        return len(self.itos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.stoi.get(t, UNK_ID) for t in tokens]

    def decode(self, ids: Sequence[int]) -> list[str]:
        return [self.itos[i] for i in ids]

    def to_json(self) -> str:
        return json.dumps({"itos": self.itos}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Vocab:
        return cls(json.loads(text)["itos"])
