"""The recipe: what detection cannot read from a weights file, as a small JSON object.

    {"reduction": "last_step", "tanh": true,          seed 3: tanh, then out[:, -1]
     "padding": "post", "truncating": "post", "max_len": 200,
     "tokenizer": "word" | "char" | "list" | "keras", "language": "zh",
     "vocab": {"index_from": 3, "pad_id": 0, "unk_id": 2, "start_id": 1},
     "padding_idx": 0 | null,                          Paddle's Embedding(padding_idx=...)
     "embedding": NAME, "rnn": NAME, "hidden_layer": NAME, "head_layer": NAME,
     "head": "sigmoid" | "softmax", "hidden_activation": "relu",
     "marks": true,                                    keep ! and ? as tokens (word / char: dropped by default)
     "framework": "pytorch" | "keras" | "paddle"}

Every key is optional; unknown keys and values are refused with a message. The command line's
flags (--max-len, --padding, --truncating, --tokenizer, --index-from, --reduction, --tanh,
--hidden-activation, --padding-idx) override the recipe's.

``apply`` and ``settle_vocab`` record where each fact of how the model ran came from
(``Structure.sources``: read from the file, given here, or assumed); a given value that contradicts
what the file says is refused, naming both.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sentiment import spec as gs_spec
from sentiment.errors import InputError
from sentiment.interop.structure import REDUCTIONS, Structure

CHOICES = {
    "reduction": tuple(REDUCTIONS), "padding": ("pre", "post", "masked", "none"), "truncating": ("pre", "post"),
    "tokenizer": ("word", "char", "list", "keras"), "language": gs_spec.LANGUAGES, "head": ("sigmoid", "softmax"),
    "hidden_activation": ("relu", "tanh", "sigmoid", "linear"), "framework": tuple(gs_spec.FRAMEWORKS),
}
OTHER_KEYS = {"tanh": bool, "max_len": int, "vocab": dict, "embedding": str, "rnn": str, "hidden_layer": str,
              "head_layer": str, "marks": bool, "padding_idx": (int, type(None))}
VOCAB_KEYS = ("index_from", "pad_id", "unk_id", "start_id")
# The flag that gives each fact (the recipe key of the same name gives it too).
FLAGS = {"max_len": "--max-len", "padding": "--padding", "truncating": "--truncating", "tokenizer": "--tokenizer",
         "reduction": "--reduction", "tanh": "--tanh", "hidden_activation": "--hidden-activation",
         "padding_idx": "--padding-idx", "index_from": "--index-from"}


def check(recipe: dict) -> dict:
    """The recipe, validated (InputError names the bad key or value)."""
    if not isinstance(recipe, dict):
        raise InputError("recipe.not_object")
    for k, v in recipe.items():
        if k in CHOICES:
            if v not in CHOICES[k]:
                raise InputError("recipe.choice", key=k, value=v, choices=", ".join(CHOICES[k]))
        elif k in OTHER_KEYS:
            kinds = OTHER_KEYS[k] if isinstance(OTHER_KEYS[k], tuple) else (OTHER_KEYS[k],)
            if not isinstance(v, kinds) or (int in kinds and isinstance(v, bool)):
                raise InputError("recipe.type", key=k, kind=" or ".join("null" if t is type(None) else t.__name__
                                                                         for t in kinds))
        else:
            raise InputError("recipe.unknown_key", key=k, known=", ".join(sorted([*CHOICES, *OTHER_KEYS])))
    if "max_len" in recipe and not 1 <= recipe["max_len"] <= gs_spec.READ_LIMIT:
        raise InputError("recipe.range", key="max_len", most=gs_spec.READ_LIMIT)
    if not isinstance(recipe.get("vocab", {}), dict):
        raise InputError("recipe.type", key="vocab", kind="dict")
    for k, v in recipe.get("vocab", {}).items():
        null_ok = k == "start_id" and v is None  # no start id
        if k not in VOCAB_KEYS or not (null_ok or (isinstance(v, int) and not isinstance(v, bool))):
            raise InputError("recipe.vocab_key", key=k, keys=", ".join(VOCAB_KEYS))
    return recipe


def read(path: str | Path | None) -> dict:
    if path is None:
        return {}
    try:
        return check(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise InputError("recipe.unreadable", file=Path(path).name, err=e) from None


def _said(key: str, value: object) -> str:
    """How the user gave a fact, as the printout and the refusals quote it: "--max-len 200"."""
    shown = "none" if value is None else ("yes" if value is True else "no" if value is False else value)
    return f"{FLAGS[key]} {shown}" if key in FLAGS else f"recipe \"{key}\": {json.dumps(value)}"


def _refuse(s: Structure, fact: str, key: str, value: object, claim: str) -> None:
    """A given value against what the file says: refused, naming both."""
    said = s.sources[fact].split(":", 1)[1].strip()
    raise InputError("facts.contradicts", said=said, given=_said(key, value), claim=claim)


_PAD_RECIPE = '"vocab": {"pad_id": N}'
_PADDING_CLAIMS = {"pre": "pads at the front, read by the model", "post": "pads at the back, read by the model",
                   "none": "no pads read (masked, or each review at its own length)"}


def _given(s: Structure, fact: str, said: str) -> None:
    """A given value's source, unless the file says the same (then it stays read)."""
    if s.source(fact) != "read":
        s.note(fact, "given", said)


# Setting one fact the recipe gives (``value``: the recipe's value for it) on the structure.


def _apply_reduction(s: Structure, value: str) -> None:
    pooling = REDUCTIONS[value]
    if s.source("reduction") == "read" and pooling != s.pooling:
        _refuse(s, "reduction", "reduction", value, f"the head reads {value}")
    s.pooling = pooling
    _given(s, "reduction", _said("reduction", value))


def _apply_tanh(s: Structure, value: bool) -> None:
    want = "tanh" if value else "none"
    if s.source("tanh") == "read" and want != s.output_activation:
        _refuse(s, "tanh", "tanh", value, "tanh is applied before the head" if value else
                "no tanh is applied before the head")
    s.output_activation = want
    _given(s, "tanh", _said("tanh", value))


def _apply_hidden_activation(s: Structure, act: str) -> None:
    if not s.hidden_dense:
        raise InputError("facts.no_hidden_layer", given=_said("hidden_activation", act))
    if s.source("hidden_activation") == "read" and act != s.hidden_activation:
        _refuse(s, "hidden_activation", "hidden_activation", act, f"the hidden layer applies {act}")
    s.hidden_activation = act
    _given(s, "hidden_activation", _said("hidden_activation", act))


def _apply_padding(s: Structure, value: str) -> None:
    pad = "none" if value in ("masked", "none") else value
    if s.source("padding") == "read" and pad != s.padding:
        _refuse(s, "padding", "padding", value, _PADDING_CLAIMS[pad])
    if pad == "none" and s.framework == "keras" and s.padding != "none" and s.source("max_len") == "read":
        # no mask, and a fixed input length in the file: Keras read every pad it was fed
        raise InputError("facts.contradicts", said=f"no mask_zero and a fixed input of {s.max_len} steps "
                         "(pads are read)", given=_said("padding", value), claim=_PADDING_CLAIMS[pad])
    s.padding = pad
    _given(s, "padding", _said("padding", value))


def _apply_truncating(s: Structure, value: str) -> None:
    if s.source("truncating") == "read" and value != s.truncating:
        _refuse(s, "truncating", "truncating", value,
                f"long reviews are cut at the {'front' if value == 'pre' else 'back'}")
    s.truncating = value
    _given(s, "truncating", _said("truncating", value))


def _apply_max_len(s: Structure, value: int) -> None:
    if s.source("max_len") == "read" and value != s.max_len:
        _refuse(s, "max_len", "max_len", value, f"the model reads {value} steps")
    s.max_len = value
    _given(s, "max_len", _said("max_len", value))


# The facts in the order they are set and checked (the first refusal is the one shown).
_FACT_SETTERS: tuple[tuple[str, Callable[[Structure, Any], None]], ...] = (
    ("reduction", _apply_reduction), ("tanh", _apply_tanh), ("hidden_activation", _apply_hidden_activation),
    ("padding", _apply_padding), ("truncating", _apply_truncating), ("max_len", _apply_max_len),
)


def _check_read_limit(s: Structure) -> None:
    if s.max_len > gs_spec.READ_LIMIT:
        raise InputError("facts.max_len_limit", n=s.max_len, most=gs_spec.READ_LIMIT,
                         why=s.sources.get("max_len", "?"), flag="--max-len")


def _check_padding_idx_framework(s: Structure, recipe: dict) -> None:
    """padding_idx is a Paddle setting: refused for a model of another framework."""
    if "padding_idx" in recipe and s.framework != "paddle":
        raise InputError("facts.padding_idx_paddle", given=_said("padding_idx", recipe["padding_idx"]),
                         framework={"pytorch": "PyTorch", "keras": "Keras"}[s.framework], setting="padding_idx",
                         paddle="Paddle", recipe=_PAD_RECIPE)


def apply(s: Structure, recipe: dict) -> list[str]:
    """Set what the recipe says on the structure, recording each fact's source; a given value that
    contradicts what the file says is refused. Returns the facts still assumed."""
    for key, set_fact in _FACT_SETTERS:
        if key in recipe:
            set_fact(s, recipe[key])
    _check_read_limit(s)
    _check_padding_idx_framework(s, recipe)
    _tokenizer_fact(s, recipe)
    return s.assumed()


def _tokenizer_fact(s: Structure, recipe: dict) -> None:
    spec = tokenizer_spec(recipe, s.framework)
    if "tokenizer" in recipe:
        s.note("tokenizer", "given", _said("tokenizer", recipe["tokenizer"])
               + (f", language {spec['language']}" if "language" in recipe else ""))
    elif s.vocab is not None and s.framework == "keras":  # a TextVectorization layer
        s.note("tokenizer", "assumed", "word: GateScope's English words, approximating the TextVectorization "
               "layer's standardize (lower case, punctuation dropped) and whitespace split")
    else:
        s.note("tokenizer", "assumed", f"{spec['mode']}: GateScope's "
               + ("Chinese characters" if spec["mode"] == "char" else "English words" if spec["language"] == "en"
                  else "Chinese words") + (", ! and ? dropped" if spec.get("marks") is False else ""))
    s.tokenizer = spec


def tokenizer_spec(recipe: dict, framework: str) -> dict:
    """The tokenizer spec stored in the checkpoint's config."""
    mode = recipe.get("tokenizer", "word")
    lang = recipe.get("language", "zh" if mode in ("char", "list") else "en")
    spec = {"language": lang, "mode": mode}
    if lang == "en" and mode == "char":
        raise InputError("recipe.char_english")
    if mode in ("word", "char"):  # "list" and "keras" read exactly as their frameworks did: nothing dropped
        marks = recipe.get("marks", False)  # the seeds' tokenizers (Keras' IMDB index, Paddle's, seed 3's) drop punctuation
        if not marks:
            spec["marks"] = False
    elif "marks" in recipe:
        raise InputError("facts.marks_mode", mode=mode, key='"marks"', modes="word, char")
    return spec


# ---- the vocabulary's facts -----------------------------------------------------------------------


def _rank_index(path: str | Path | None) -> dict | None:
    """A vocabulary file's JSON word -> int object (a Keras word index), or None for any other file."""
    if path is None:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
        data = json.loads(text) if text.lstrip()[:1] == "{" else None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not data or not all(isinstance(v, int) and not isinstance(v, bool)
                                                         for v in data.values()):
        return None
    return data


def settle_vocab(s: Structure, v, recipe: dict, path: str | Path | None = None):
    """Record where the vocabulary's ids came from (pad, unknown, start, a word index's offset), check
    them against what the model file says (Keras' mask_zero masks id 0; a pickled nn.Embedding's
    padding_idx names the pad id), and settle Paddle's padding_idx (its row zeroed: Paddle looks up
    zeros for that id whatever the row holds). Returns the vocabulary (a new one when the file's
    padding_idx gave the pad id)."""
    from sentiment.data.vocabs import IdVocab, find_specials

    given = recipe.get("vocab", {})
    vs = dict(getattr(v, "sources", None) or {})
    if isinstance(getattr(v, "tokenizer", None), dict):  # a Keras Tokenizer's JSON names its tokenizer
        if "tokenizer" in recipe and recipe["tokenizer"] != v.tokenizer.get("mode"):
            raise InputError("facts.contradicts", said=f"the vocabulary file is a Keras Tokenizer's "
                             f"(mode {v.tokenizer.get('mode')})", given=_said("tokenizer", recipe["tokenizer"]),
                             claim=f"the model read {recipe['tokenizer']} tokens")
        s.tokenizer = dict(v.tokenizer)
        s.note("tokenizer", "read", f"{s.tokenizer.get('mode')}: the Keras Tokenizer JSON's filters, lower, split")
    if s.padding_idx is not None and s.framework == "pytorch":  # a pickled nn.Embedding(padding_idx=p)
        p, pad_src = s.padding_idx, vs.get("pad_id", "assumed")
        if v.pad_id != p and pad_src.startswith("assumed"):
            v = IdVocab(v.itos, p, v.unk_id, v.start_id, {**vs, "pad_id": f"read: nn.Embedding(padding_idx={p})"})
            vs = dict(v.sources)
        elif v.pad_id != p and pad_src.startswith("read"):
            raise InputError("facts.pad_differs", said=f"nn.Embedding(padding_idx={p})", pad=v.pad_id,
                             why=pad_src.split(":", 1)[1].strip(), recipe=_PAD_RECIPE)
    masked = s.sources.get("padding", "")
    if s.source("padding") == "read" and s.padding == "none" and v.pad_id != 0 and ("mask_zero" in masked or
                                                                                     "Masking" in masked):
        raise InputError("facts.pad_differs", said=masked.split(":", 1)[1].strip() + ", which masks id 0 only",
                         pad=v.pad_id, why=vs.get("pad_id", "?"), recipe=_PAD_RECIPE)
    for fact in ("pad_id", "unk_id", "start_id"):
        src = vs.get(fact) or f"assumed: {getattr(v, fact)}"
        if fact in given:
            src = f"given: vocab.{fact} = {json.dumps(given[fact])}"
        kind, _, why = src.partition(":")
        s.note(fact, kind if kind in ("read", "given", "assumed") else "assumed", why.strip())
    ids = {"pad_id": v.pad_id, "unk_id": v.unk_id, "start_id": v.start_id}
    index = _rank_index(path)
    if index is not None and getattr(v, "tokenizer", None) is None:
        direct = bool(find_specials({i: str(w) for w, i in index.items()})) or min(index.values()) == 0
        k = given.get("index_from", 0 if direct else 3)
        ids["index_from"] = k
        if "index_from" in given:
            _check_offset(index, k, v, len(v.itos))
            s.note("index_from", "given", _said("index_from", k))
        elif direct:
            s.note("index_from", "read", "0: the vocabulary's ids are used as they are (it names its specials or starts at 0)")
        else:
            s.note("index_from", "assumed", "3: keras.datasets.imdb's index_from (ids 0, 1, 2 are pad, start and "
                   "unknown)")
    s.ids = ids
    s.vocab = v
    if s.framework == "paddle":
        _paddle_padding_idx(s, v, recipe)
    return v


def _check_offset(index: dict, k: int, v, size: int) -> None:
    """A given word index offset that puts words on the pad, start or unknown id is refused."""
    special = {i: name for name, i in (("pad", v.pad_id), ("start", v.start_id), ("unknown", v.unk_id)) if i is not None}
    hit = sorted((r + k, w) for w, r in index.items() if r + k in special and v.itos[r + k] != w)
    if hit:
        i, w = hit[0]
        raise InputError("facts.index_collides", given=_said("index_from", k), word=w, id=i, name=special[i],
                         ids=", ".join(f"{n} {i}" for i, n in sorted(special.items())), imdb="keras.datasets.imdb",
                         flag="--index-from 3", tokenizer="Keras Tokenizer")


def _paddle_padding_idx(s: Structure, v, recipe: dict) -> None:
    import torch

    weight = s.state["embedding.weight"]
    n = weight.shape[0]
    if "padding_idx" in recipe:
        p = recipe["padding_idx"]
        if p is not None:
            if not -n <= p < n:
                raise InputError("facts.padding_idx_range", given=_said("padding_idx", p), n=n, setting="padding_idx",
                                 none="none")
            p = p % n  # Paddle counts a negative padding_idx from the end
        s.note("padding_idx", "given", _said("padding_idx", recipe["padding_idx"]))
    else:
        p = v.pad_id
        if not bool(weight[p].any()):
            s.note("padding_idx", "read", f"row {p} (the pad id's) is all zeros in the file, so ids {p} look up "
                   f"zeros with or without paddle.nn.Embedding(padding_idx={p})")
        else:
            s.note("padding_idx", "assumed", f"{p}, the pad id: paddle.nn.Embedding(padding_idx={p}) looks up zeros for "
                   f"it whatever row {p} holds (as seeds 1-2 build it); a state dict does not store padding_idx, and "
                   f"row {p} here is not zeros; give none if the model had no padding_idx")
    s.padding_idx = p
    if p is not None:
        w = weight.clone()
        s.padding_row = [float(x) for x in w[p]]  # kept: verify.search tries the reading without padding_idx
        w[p] = torch.zeros(w.shape[1])
        s.state["embedding.weight"] = w
