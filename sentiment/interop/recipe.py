"""The recipe: what detection cannot read from a weights file, as a small JSON object.

    {"reduction": "last_step", "tanh": true,          seed 3: tanh, then out[:, -1]
     "padding": "post", "truncating": "post", "max_len": 200,
     "tokenizer": "char", "language": "zh",
     "vocab": {"index_from": 3, "pad_id": 0, "unk_id": 2, "start_id": 1},
     "embedding": NAME, "rnn": NAME, "hidden_layer": NAME, "head_layer": NAME,
     "head": "sigmoid" | "softmax", "hidden_activation": "relu",
     "marks": true,                                    keep ! and ? as tokens (default: dropped)
     "framework": "pytorch" | "keras" | "paddle"}

Every key is optional; unknown keys and values are refused with a message. The command line's
--max-len, --padding, --truncating, --tokenizer and --index-from override the recipe's.
"""

from __future__ import annotations

import json
from pathlib import Path

from sentiment.errors import InputError
from sentiment.interop.structure import REDUCTIONS, Structure

CHOICES = {
    "reduction": tuple(REDUCTIONS), "padding": ("pre", "post", "masked", "none"), "truncating": ("pre", "post"),
    "tokenizer": ("word", "char"), "language": ("en", "zh"), "head": ("sigmoid", "softmax"),
    "hidden_activation": ("relu", "tanh", "sigmoid", "linear"), "framework": ("pytorch", "keras", "paddle"),
}
OTHER_KEYS = {"tanh": bool, "max_len": int, "vocab": dict, "embedding": str, "rnn": str, "hidden_layer": str,
              "head_layer": str, "marks": bool}
VOCAB_KEYS = ("index_from", "pad_id", "unk_id", "start_id")


def check(recipe: dict) -> dict:
    """The recipe, validated (InputError names the bad key or value)."""
    if not isinstance(recipe, dict):
        raise InputError("recipe.not_object")
    for k, v in recipe.items():
        if k in CHOICES:
            if v not in CHOICES[k]:
                raise InputError("recipe.choice", key=k, value=v, choices=", ".join(CHOICES[k]))
        elif k in OTHER_KEYS:
            if not isinstance(v, OTHER_KEYS[k]) or (OTHER_KEYS[k] is int and isinstance(v, bool)):
                raise InputError("recipe.type", key=k, kind=OTHER_KEYS[k].__name__)
        else:
            raise InputError("recipe.unknown_key", key=k, known=", ".join(sorted([*CHOICES, *OTHER_KEYS])))
    if "max_len" in recipe and not 1 <= recipe["max_len"] <= 100_000:
        raise InputError("recipe.range", key="max_len", most=100000)
    for k, v in recipe.get("vocab", {}).items():
        if k not in VOCAB_KEYS or not isinstance(v, int) or isinstance(v, bool):
            raise InputError("recipe.vocab_key", key=k, keys=", ".join(VOCAB_KEYS))
    return recipe


def read(path: str | Path | None) -> dict:
    if path is None:
        return {}
    try:
        return check(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError("recipe.unreadable", file=Path(path).name, err=e) from None


def apply(s: Structure, recipe: dict) -> list[str]:
    """Set what the recipe says on the structure; returns lines saying what was assumed instead."""
    assumed = []
    if "reduction" in recipe:
        s.pooling = REDUCTIONS[recipe["reduction"]]
    elif s.framework != "keras":
        assumed.append(f"reduction {'last_step' if s.pooling == 'last_step' else 'final_states'} "
                       "(not in the weights; set \"reduction\" in a recipe if the model did otherwise)")
    if recipe.get("tanh"):
        s.output_activation = "tanh"
    if "hidden_activation" in recipe:
        s.hidden_activation = recipe["hidden_activation"]
    if "padding" in recipe:
        s.padding = "none" if recipe["padding"] in ("masked", "none") else recipe["padding"]
    elif s.framework != "keras":
        assumed.append("padding at the back, read by the model (no lengths passed, as the seed tutorials do)")
    if "truncating" in recipe:
        s.truncating = recipe["truncating"]
    if "max_len" in recipe:
        s.max_len = recipe["max_len"]
    elif s.framework != "keras":
        assumed.append(f"fixed length {s.max_len} tokens (--max-len to change)")
    return assumed


def tokenizer_spec(recipe: dict, framework: str) -> dict:
    """The tokenizer spec stored in the checkpoint's config."""
    mode = recipe.get("tokenizer", "word")
    lang = recipe.get("language", "zh" if mode == "char" else "en")
    spec = {"language": lang, "mode": mode}
    if lang == "en" and mode == "char":
        raise InputError("recipe.char_english")
    marks = recipe.get("marks", False)  # the seeds' tokenizers (Keras' IMDB index, Paddle's, seed 3's) drop punctuation
    if not marks:
        spec["marks"] = False
    return spec
