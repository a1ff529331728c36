"""What an imported model would say under each reading of a fact its file does not say.

The Models page asks how a model was fed where the file cannot say (its source is "assumed") and
shows, beside each choice, the P(positive) GateScope would compute for one review under it. The
numbers come from here, computed as the converted checkpoint computes them (its encode and forward):

    assumed(s, recipe)                   the facts nothing read or gave, that can change a prediction
    current(s, recipe)                   fact -> the value GateScope would convert with now
    options(s, recipe)                   fact -> its plausible values (the current one first)
    p_positive(s, recipe, reading, text) P(positive) of the model read with ``reading`` (fact -> value)
    recipe_of(reading, recipe)           the recipe that gives ``convert`` that reading

Values are in recipe terms (padding "masked" when pads are not read, reduction "final_states" for
each direction's final state); a tokenizer is its spec (``{"language", "mode"[, "marks"]}``). A
Keras word index's offset (``index_from``) moves every word's id: the page reads the file again with
each offset (the sandbox), so a reading here never holds it. Nothing here reads a file: the Structure
and its vocabulary come from the sandbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sentiment import spec
from sentiment.data import text as texts
from sentiment.data import vocabs
from sentiment.errors import InputError
from sentiment.interop import recipe as recipes
from sentiment.interop import verify
from sentiment.interop.structure import Structure
from sentiment.modeling import checkpoint
from sentiment.modeling.model import SentimentRNN
from sentiment.modeling.predict import predict

IDS = ("pad_id", "unk_id", "start_id")
NAMES = {"pad_id": ("<pad>", "[pad]", "<padding>", "[padding]"), "unk_id": ("<unk>", "[unk]", "<oov>", "[oov]", "<unknown>"),
         "start_id": ("<start>", "<s>", "<bos>", "<sos>", "[cls]")}
REDUCTIONS = ("final_states", "last_step", "max", "mean")


def assumed(s: Structure, recipe: dict) -> list[str]:
    """The facts of how the model ran that nothing read or gave, and that can change a prediction."""
    return verify.assumed_facts(s, recipe)


def current(s: Structure, recipe: dict) -> dict[str, Any]:
    """Every fact's value as GateScope would convert the model now."""
    cur = verify.current_values(s, s.vocab, recipe)
    if cur.get("reduction") == "last":
        cur["reduction"] = "final_states"
    return cur


def language(s: Structure) -> str:
    """The language of the model's vocabulary: "zh" when most of its tokens are Chinese."""
    itos = getattr(s.vocab, "itos", None) or []
    sample = [w for w in itos[:20000] if w and not (w.startswith(("<", "[")) and w.endswith((">", "]")))]
    if not sample:
        return (s.tokenizer or {}).get("language", "en")
    return "zh" if sum(texts.cjk_share(w) > 0.5 for w in sample) > 0.3 * len(sample) else "en"


def _tokenizers(s: Structure, cur: dict) -> list[dict]:
    """The current tokenizer, then those of the vocabulary's language (GateScope's words and characters,
    with ! and ? dropped or, where the vocabulary holds them, kept; list(text); Keras' Tokenizer)."""
    lang = language(s)
    itos = set((getattr(s.vocab, "itos", None) or [])[:50000])
    marks = bool(itos & {"!", "?", "！", "？"})
    out = [cur["tokenizer"]]
    for mode in texts.tokenizer_modes(lang):
        if lang == "en" and mode == "list":
            continue  # an English model fed characters one by one is not a tutorial's
        for keep in ((False, True) if mode in ("word", "char") and marks else (False,)):
            r = {"tokenizer": mode, "language": lang, **({"marks": True} if keep else {})}
            try:
                spec_ = recipes.tokenizer_spec(r, s.framework)
                vocabs.read_tokens("ab 12, 好！", spec_)
            except (InputError, ValueError, KeyError):
                continue
            if spec_ not in out:
                out.append(spec_)
    return out


def options(s: Structure, recipe: dict) -> dict[str, list]:
    """fact -> its plausible values (the current one first) for every assumed fact."""
    cur = current(s, recipe)
    v = s.vocab
    n = len(v) if v is not None else 0
    out: dict[str, list] = {}
    for f in assumed(s, recipe):
        if f == "tokenizer":
            vals = _tokenizers(s, cur)
        elif f in IDS:
            named = [i for i, w in enumerate(getattr(v, "itos", [])[:50000]) if w and w.lower() in NAMES[f]][:3]
            vals = {"pad_id": [*named, 0, 1], "unk_id": [*named, 1, 0], "start_id": [None, *named, 1]}[f]
            others = {cur[g] for g in IDS if g != f}  # two roles never share an id
            vals = [x for x in vals if x is None or (0 <= x < n and x not in others)]
        elif f == "index_from":
            vals = [3, 0] if cur["index_from"] is not None else []
        elif f == "max_len":
            vals = sorted(x for x in {cur["max_len"], *verify.TUTORIAL_LENGTHS} if x <= spec.READ_LIMIT)
        elif f == "padding":
            vals = ["post", "pre", "masked"]
        elif f == "truncating":
            vals = ["post", "pre"]
        elif f == "padding_idx":
            vals = [None, getattr(v, "pad_id", 0)]
        elif f == "reduction":
            # one direction: its final state is its last step (out[:, -1]); GateScope names it as the file's reader did
            vals = list(REDUCTIONS) if s.bidirectional else [cur["reduction"] if cur["reduction"] in
                                                             ("final_states", "last_step") else "last_step", "max", "mean"]
        elif f == "tanh":
            vals = [False, True]
        elif f == "hidden_activation":
            vals = ["relu", "tanh", "sigmoid", "linear"]
        else:
            vals = []
        out[f] = sorted(set(vals) | {cur[f]}) if f == "max_len" else _unique([cur[f], *vals])
    return out


def _unique(values: list) -> list:
    out: list = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def recipe_of(reading: dict, recipe: dict | None = None) -> dict:
    """``recipe`` with the reading's facts as recipe keys (what ``convert`` is given for them)."""
    r = {k: (dict(v) if isinstance(v, dict) else v) for k, v in (recipe or {}).items()}
    for f, value in reading.items():
        if f == "tokenizer":
            mode = value.get("mode", "word")
            r.pop("marks", None)
            r["tokenizer"], r["language"] = mode, value.get("language", "en")
            if mode in ("word", "char") and "marks" not in value:
                r["marks"] = True
        elif f in (*IDS, "index_from"):
            r.setdefault("vocab", {})[f] = value
        elif f in ("reduction", "padding", "truncating", "max_len", "tanh", "hidden_activation", "padding_idx"):
            r[f] = value
    return recipes.check(r)


def _vocab_with(s: Structure, reading: dict, cur: dict):
    """The vocabulary with the reading's pad, unknown and start ids."""
    v = s.vocab
    ids = {f: reading.get(f, cur[f]) for f in IDS}
    if all(ids[f] == cur[f] for f in IDS):
        return v
    try:
        out = vocabs.IdVocab(v.itos, ids["pad_id"], ids["unk_id"], ids["start_id"])
    except ValueError:
        raise InputError("preview.ids", pad=ids["pad_id"], unk=ids["unk_id"], start=ids["start_id"]) from None
    if getattr(v, "tokenizer", None) is not None:
        out.tokenizer = v.tokenizer
    return out


def checkpoint_under(s: Structure, recipe: dict, reading: dict) -> checkpoint.Checkpoint:
    """The checkpoint ``convert`` would write with ``reading`` (in memory: nothing is written)."""
    if s.vocab is None:
        raise InputError("interop.needs_vocab", option="--vocab FILE", example="imdb_word_index.json")
    cur = current(s, recipe)
    rest = {k: v for k, v in reading.items() if k not in IDS and k != "index_from"}
    s2 = verify.apply_reading(s, _vocab_with(s, reading, cur), rest)
    tok = dict(s2.tokenizer or recipes.tokenizer_spec(recipe, s.framework))
    model = SentimentRNN(s2.model_config())
    model.load_state_dict(s2.state)
    return checkpoint.Checkpoint(model.eval(), s2.vocab, tok, s2.max_len, card={"imported": {"framework": s.framework}})


def p_positive(s: Structure, recipe: dict, reading: dict, text: str) -> float:
    """P(positive) of ``text`` under ``reading``, as the converted model will compute it."""
    return predict(checkpoint_under(s, recipe, reading), text).positive


def effects(s: Structure, recipe: dict, answers: dict, text: str, fact: str, values: Sequence) -> list[float | None]:
    """P(positive) of ``text`` for each value of ``fact``, the other facts as answered (or as assumed);
    None where a value cannot be read with the others (an id outside the vocabulary, no known token)."""
    out: list[float | None] = []
    for value in values:
        try:
            out.append(p_positive(s, recipe, {**answers, fact: value}, text))
        except InputError:
            out.append(None)
    return out
