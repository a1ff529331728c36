"""The structure of an imported model, and its weights in GateScope's names and gate order.

``Structure`` says what the readers found (embedding, recurrent layers and directions, reduction,
head) and holds the weights as a ``SentimentRNN`` state dict (PyTorch's gate order: LSTM i, f, g, o;
GRU r, z, n). ``detect`` finds it from the names and shapes of a PyTorch or Paddle state dict; the
Keras reader builds it from the model's config. ``head_state`` turns a 1-unit sigmoid head into two
logits [0, z] whose softmax is exactly [1 - sigmoid(z), sigmoid(z)], so every view reads P(positive)
as for GateScope's own models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import torch

from sentiment.errors import InputError
from sentiment.modeling.model import ModelConfig

REDUCTIONS = {  # recipe / printed name -> ModelConfig.pooling
    "final_states": "last", "last": "last", "last_step": "last_step", "max": "max", "mean": "mean",
}
REDUCTION_WORDS = {
    "last": "final state of each direction (forward at the last step, backward at the first)",
    "last_step": "every unit at the last time step (out[:, -1])",
    "max": "max over time", "mean": "mean over time",
}
_GATES = {4: "lstm", 3: "gru", 1: "rnn"}

# The facts of how a model ran that its weights may not say. Structure.sources maps each one GateScope
# knows to "read: <where in the file>", "given: <the user's flag or recipe key>" or "assumed: <why, and
# how to set it>"; the printout and the card say the same, so nothing assumed reads as a fact.
FACTS = ("tokenizer", "pad_id", "unk_id", "start_id", "index_from", "max_len", "padding", "truncating",
         "padding_idx", "reduction", "tanh", "hidden_activation")
SOURCES = ("read", "given", "assumed")
HOW_TO_SET = {
    "tokenizer": "--tokenizer word|char|list|keras (recipe \"tokenizer\")",
    "pad_id": "a recipe's \"vocab\": {\"pad_id\": N}", "unk_id": "a recipe's \"vocab\": {\"unk_id\": N}",
    "start_id": "a recipe's \"vocab\": {\"start_id\": N or null}", "index_from": "--index-from K",
    "max_len": "--max-len N", "padding": "--padding pre|post|masked", "truncating": "--truncating pre|post",
    "padding_idx": "--padding-idx N|none (recipe \"padding_idx\")",
    "reduction": "--reduction final_states|last_step|max|mean", "tanh": "--tanh yes|no (recipe \"tanh\")",
    "hidden_activation": "--hidden-activation relu|tanh|sigmoid|linear",
}
FACT_NAMES = {"tokenizer": "tokens", "pad_id": "pad id", "unk_id": "unknown id", "start_id": "start id",
              "index_from": "word index offset", "max_len": "fixed length", "padding": "padding",
              "truncating": "long reviews cut at", "padding_idx": "padding_idx", "reduction": "reduction",
              "tanh": "tanh before the reduction", "hidden_activation": "hidden layer activation"}


@dataclass
class Structure:
    framework: str  # "pytorch" | "keras" | "paddle"
    cell: str
    vocab_size: int
    embed_dim: int
    hidden_size: int
    num_layers: int
    bidirectional: bool
    state: dict[str, torch.Tensor]  # SentimentRNN names
    pooling: str = "last"
    output_activation: str = "none"
    hidden_dense: int = 0
    hidden_activation: str = "relu"
    head: str = "softmax"  # "softmax" (2 units) | "sigmoid" (1 unit)
    padding: str = "post"  # "pre" | "post" | "none" (masked: the model reads no pads)
    truncating: str = "post"
    max_len: int = 200
    found: list[str] = field(default_factory=list)  # what was detected, and from what
    vocab: object = None  # an IdVocab the file itself holds (a Keras TextVectorization layer)
    merge: str = "concat"  # the top layer's directions joined by concat | sum | ave | mul (Keras' merge_mode)
    sources: dict[str, str] = field(default_factory=dict)  # fact (FACTS) -> "read: ..." | "given: ..." | "assumed: ..."
    padding_idx: int | None = None  # Paddle's: this id looks up zeros (its row is zeroed in the weights)
    padding_row: list | None = None  # that row as the file stored it (verify tries the reading without padding_idx)
    tokenizer: dict = field(default_factory=dict)  # the tokenizer spec the checkpoint will record
    ids: dict = field(default_factory=dict)  # the vocabulary's pad_id, unk_id, start_id, index_from

    def model_config(self) -> ModelConfig:
        return ModelConfig(
            vocab_size=self.vocab_size, embed_dim=self.embed_dim, hidden_size=self.hidden_size,
            num_layers=self.num_layers, bidirectional=self.bidirectional, cell=self.cell, pooling=self.pooling,
            dropout=0.0, num_classes=2, padding=self.padding, truncating=self.truncating,
            output_activation=self.output_activation, hidden_dense=self.hidden_dense,
            hidden_activation=self.hidden_activation, merge=self.merge)

    # ---- where each fact came from ----

    def note(self, fact: str, kind: str, why: str) -> None:
        """Record a fact's source; an assumed fact's line says how to set it."""
        if fact not in FACTS or kind not in SOURCES:
            raise ValueError(f"unknown fact {fact!r} or source {kind!r}")
        if kind == "assumed" and fact in HOW_TO_SET:
            why = f"{why}; set it with {HOW_TO_SET[fact]}"
        self.sources[fact] = f"{kind}: {why}"

    def source(self, fact: str) -> str | None:
        """"read" | "given" | "assumed" | None (not known yet)."""
        s = self.sources.get(fact)
        return s.split(":", 1)[0] if s else None

    def assumed(self) -> list[str]:
        """The facts neither read from the file nor given, in FACTS order."""
        return [f for f in FACTS if self.source(f) == "assumed"]

    def fact_values(self) -> dict[str, object]:
        """fact -> its value, in recipe terms (padding "masked" when pads are not read), for every fact with a source."""
        values = {
            "tokenizer": self.tokenizer.get("mode"), "max_len": self.max_len,
            "padding": "masked" if self.padding == "none" else self.padding, "truncating": self.truncating,
            "padding_idx": self.padding_idx, "reduction": "final_states" if self.pooling == "last" else self.pooling,
            "tanh": self.output_activation == "tanh",
            "hidden_activation": self.hidden_activation if self.hidden_dense else None, **self.ids,
        }
        return {f: values.get(f) for f in FACTS if f in self.sources}

    def facts(self) -> dict[str, dict]:
        """The card's record: fact -> {"value", "source": "read" | "given" | "assumed", "why"}."""
        out = {}
        for f, value in self.fact_values().items():
            kind, _, why = self.sources[f].partition(":")
            out[f] = {"value": value, "source": kind, "why": why.strip()}
        return out

    # ---- the printout ----

    def _reduction_words(self) -> str:
        if self.pooling in ("last", "last_step") and not self.bidirectional:
            return "final state (the last time step)"
        return REDUCTION_WORDS[self.pooling]

    def _fact_words(self, fact: str) -> str:
        v = self.fact_values().get(fact)
        side = {"pre": "front", "post": "back"}
        if fact == "reduction":
            return self._reduction_words()
        if fact == "tanh":
            return "yes (tanh on the top layer's outputs)" if v else "no"
        if fact == "padding":
            if v == "masked":
                return "none read (masked, or each review read at its own length)"
            return f"at the {side[v]}, read by the model"
        if fact == "truncating":
            return f"the {side[v]} (keeping the {'last' if v == 'pre' else 'first'} tokens)"
        if fact == "max_len":
            return f"{v} tokens" if self.padding != "none" else f"up to {v} tokens"
        if fact == "padding_idx":
            if self.framework != "paddle":
                return f"{v} (the pad id; PyTorch looks up its stored row)"
            return "none (every id looks up its stored row)" if v is None else f"{v} (id {v} looks up zeros)"
        if fact in ("pad_id", "unk_id", "start_id"):
            if v is None:
                return "none"
            itos = getattr(self.vocab, "itos", None)
            token = itos[v] if itos is not None and 0 <= v < len(itos) and itos[v] else None
            return f"{v}" + (f" ({token!r})" if token else "")
        if fact == "index_from":
            return "ids as in the file" if not v else f"{v} (the word of rank r has id r + {v})"
        if fact == "tokenizer":
            t = self.tokenizer
            extra = ", ! and ? dropped" if t.get("marks") is False else ""
            return f"{v} ({t.get('language', '?')}{extra})"
        return str(v)

    def describe(self) -> str:
        dirs = "bidirectional " if self.bidirectional else ""
        lines = [
            f"framework: {self.framework}",
            f"embedding: {self.vocab_size} x {self.embed_dim}",
            f"recurrent: {self.num_layers} layer(s) {dirs}{self.cell.upper()} {self.hidden_size}",
        ]
        if self.merge != "concat":
            lines.append(f"directions merged: {self.merge} (Keras merge_mode)")
        if "reduction" not in self.sources:
            lines.append(f"reduction: {self._reduction_words()}"
                         + (" after tanh" if self.output_activation == "tanh" and "tanh" not in self.sources else ""))
        if self.hidden_dense:
            lines.append(f"hidden dense: {self.hidden_dense} units"
                         + ("" if "hidden_activation" in self.sources else f", {self.hidden_activation}"))
        lines.append(f"head: {'1 unit, sigmoid' if self.head == 'sigmoid' else '2 units, softmax'}")
        if not {"max_len", "padding", "truncating"} & set(self.sources):
            cut = "front" if self.truncating == "pre" else "back"
            lines.append(f"input: up to {self.max_len} tokens, padding masked (not read), cut at the {cut}"
                         if self.padding == "none" else f"input: {self.max_len} tokens, padded at the "
                         f"{'front' if self.padding == 'pre' else 'back'} and read by the model, cut at the {cut}")
        known = [f for f in FACTS if f in self.sources]
        if known:
            lines.append("how it ran (read: from the file; given: by you; assumed: neither, so check it):")
            for f in known:
                lines.append(f"  {FACT_NAMES[f]}: {self._fact_words(f)}  [{self.sources[f]}]")
        return "\n".join(lines + [f"  - {f}" for f in self.found])


def head_state(weight: np.ndarray, bias: np.ndarray | None, head: str) -> dict[str, torch.Tensor]:
    """fc.weight [2, in], fc.bias [2] from a head weight [units, in] (PyTorch layout)."""
    w = torch.as_tensor(np.asarray(weight, dtype=np.float32))
    b = torch.zeros(w.shape[0]) if bias is None else torch.as_tensor(np.asarray(bias, dtype=np.float32))
    if head == "sigmoid":
        if w.shape[0] != 1:
            raise InputError("structure.sigmoid_units", kind="sigmoid", n=w.shape[0])
        w, b = torch.cat([torch.zeros_like(w), w]), torch.cat([torch.zeros(1), b])
    elif w.shape[0] != 2:
        raise InputError("structure.head_units", n=w.shape[0], softmax="softmax", sigmoid="sigmoid")
    return {"fc.weight": w.contiguous(), "fc.bias": b.contiguous()}


# ---- detection from names and shapes (PyTorch, Paddle) ----------------------------------------------

_RNN_KEY = re.compile(r"^(?P<prefix>(?:.*\.)?)weight_ih_l(?P<layer>\d+)(?P<rev>_reverse)?$")
_PADDLE_CELL = re.compile(r"\.\d+\.cell(?:_fw|_bw)?\.")  # Paddle's per-cell copies of the same tensors
_IGNORED = ("num_batches_tracked",)


def _rnn_part(named: dict[str, np.ndarray], hint: str | None) -> tuple[str, dict]:
    prefixes = sorted({m["prefix"] for k in named if (m := _RNN_KEY.match(k))})
    if hint is not None:
        prefixes = [p for p in prefixes if p.rstrip(".") == hint]
    if not prefixes:
        example, modules = "lstm.weight_ih_l0", "nn.LSTM / nn.GRU / paddle.nn.LSTM"
        if hint:
            raise InputError("structure.no_rnn_under", example=example, modules=modules, hint=hint)
        raise InputError("structure.no_rnn", example=example, modules=modules)
    if len(prefixes) > 1:
        raise InputError("structure.several_rnn", names=", ".join(p.rstrip(".") for p in prefixes), recipe='{"rnn": NAME}')
    p = prefixes[0]
    layers = sorted({int(m["layer"]) for k in named if (m := _RNN_KEY.match(k)) and m["prefix"] == p})
    if layers != list(range(len(layers))):
        raise InputError("structure.layer_numbers", key=f"{p}weight_ih_l*", layers=layers, range="0..n-1")
    bidi = f"{p}weight_ih_l0_reverse" in named
    H = named[f"{p}weight_hh_l0"].shape[1]
    G = named[f"{p}weight_ih_l0"].shape[0] // H
    if G not in _GATES or named[f"{p}weight_ih_l0"].shape[0] != G * H:
        raise InputError("structure.gates", key=f"{p}weight_ih_l0", shape=tuple(named[f"{p}weight_ih_l0"].shape), hidden=H)
    return p, {"layers": len(layers), "bidirectional": bidi, "hidden": H, "cell": _GATES[G],
               "input": named[f"{p}weight_ih_l0"].shape[1]}


def _rnn_state(named: dict, p: str, info: dict, used: set) -> dict[str, torch.Tensor]:
    state = {}
    dirs = 2 if info["bidirectional"] else 1
    G, H = {"lstm": 4, "gru": 3, "rnn": 1}[info["cell"]], info["hidden"]
    for l in range(info["layers"]):
        for d in range(dirs):
            sfx = f"l{l}" + ("_reverse" if d else "")
            want_in = info["input"] if l == 0 else H * dirs
            for kind, shape in (("weight_ih", (G * H, want_in)), ("weight_hh", (G * H, H)),
                                ("bias_ih", (G * H,)), ("bias_hh", (G * H,))):
                key = f"{p}{kind}_{sfx}"
                if key not in named:
                    if kind.startswith("bias"):
                        state[f"rnn.{kind}_{sfx}"] = torch.zeros(G * H)
                        continue
                    raise InputError("structure.missing_tensor", key=key)
                if tuple(named[key].shape) != shape:
                    raise InputError("structure.shape", key=key, shape=tuple(named[key].shape), expected=shape)
                state[f"rnn.{kind}_{sfx}"] = torch.as_tensor(np.asarray(named[key], dtype=np.float32))
                used.add(key)
    return state


def _linears(named: dict, used: set, framework: str) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """prefix -> (weight [out, in] in PyTorch layout, bias) of the 2-D tensors not yet used."""
    out = {}
    for k, v in named.items():
        if k in used or v.ndim != 2 or not k.endswith("weight"):
            continue
        prefix = k[: -len("weight")]
        w = v.T if framework == "paddle" else v  # paddle.nn.Linear keeps [in, out]
        out[prefix.rstrip(".")] = (w, named.get(prefix + "bias"))
    return out


def detect(named: dict[str, np.ndarray], framework: str, recipe: dict, modules: dict | None = None) -> Structure:
    """A Structure from a flat state dict (name -> array) of a PyTorch or Paddle model; ``modules``
    (module path -> {"class", plain attributes}) of a whole pickled PyTorch module, whose classes and
    attributes say some of how it ran (an nn.Tanh, an nn.Embedding's padding_idx)."""
    named = {k: np.asarray(v) for k, v in named.items() if not _PADDLE_CELL.search("." + k) and not k.endswith(_IGNORED)}
    p, info = _rnn_part(named, recipe.get("rnn"))
    used: set[str] = set()
    state = _rnn_state(named, p, info, used)
    found = [f"recurrent tensors {p}weight_ih_l* ... ({info['cell'].upper()}: weight_ih rows = "
             f"{ {'lstm': 4, 'gru': 3, 'rnn': 1}[info['cell']] } x hidden)"]
    emb_name = recipe.get("embedding") or _find_embedding(named, used, info["input"])
    emb = named.get(emb_name)
    if emb is None or emb.ndim != 2 or emb.shape[1] != info["input"]:
        raise InputError("structure.embedding", name=emb_name, shape=None if emb is None else tuple(emb.shape),
                         n=info["input"])
    used.add(emb_name)
    state["embedding.weight"] = torch.as_tensor(np.asarray(emb, dtype=np.float32))
    found.append(f"embedding {emb_name} {tuple(emb.shape)}")
    dirs = 2 if info["bidirectional"] else 1
    D = info["hidden"] * dirs
    s = Structure(framework, info["cell"], emb.shape[0], emb.shape[1], info["hidden"], info["layers"],
                  info["bidirectional"], state, found=found)
    hidden_name, head_name = _attach_head(s, named, used, D, recipe, framework)
    _default_facts(s)
    if modules:
        _module_facts(s, modules, p.rstrip("."), emb_name, hidden_name, head_name)
    left = sorted(k for k in named if k not in used and named[k].size > 1)
    if left:
        raise InputError("structure.left_over", names=", ".join(left[:6]), more=" ..." if len(left) > 6 else "",
                         chain="embedding -> LSTM/GRU/RNN -> [Linear ->] Linear")
    return s


def _find_embedding(named: dict, used: set, width: int) -> str:
    cands = [k for k, v in named.items() if k not in used and v.ndim == 2 and v.shape[1] == width and v.shape[0] > 2]
    named_emb = [k for k in cands if "emb" in k.lower()]
    if len(named_emb) == 1 or len(cands) == 1:
        return (named_emb or cands)[0]
    raise InputError("structure.which_embedding", candidates=", ".join(cands) or "none", recipe='{"embedding": NAME}')


def _attach_head(s: Structure, named: dict, used: set, D: int, recipe: dict, framework: str) -> tuple[str | None, str]:
    lin = _linears(named, used, framework)
    head_name = recipe.get("head_layer")
    hidden_name = recipe.get("hidden_layer")
    if head_name is None:
        ends = [k for k, (w, _) in lin.items() if w.shape[0] in (1, 2)]
        if len(ends) != 1:
            raise InputError("structure.which_head", ends=", ".join(ends) or "none found", recipe='{"head_layer": NAME}')
        head_name = ends[0]
    if head_name not in lin:
        raise InputError("structure.head_not_found", name=head_name, names=", ".join(lin) or "no linear layers")
    w, b = lin[head_name]
    if hidden_name is None and w.shape[1] != D:
        hidden_name = next((k for k, (hw, _) in lin.items() if k != head_name and hw.shape == (w.shape[1], D)), None)
    if hidden_name is not None:
        hw, hb = lin[hidden_name]
        if hw.shape[1] != D or w.shape[1] != hw.shape[0]:
            raise InputError("structure.hidden_fit", name=hidden_name, shape=tuple(hw.shape), d=D, head=tuple(w.shape))
        s.hidden_dense = hw.shape[0]
        s.state["hidden.weight"] = torch.as_tensor(np.asarray(hw, dtype=np.float32)).contiguous()
        s.state["hidden.bias"] = torch.as_tensor(np.asarray(hb if hb is not None else np.zeros(hw.shape[0]), dtype=np.float32))
        used.update({hidden_name + ".weight", hidden_name + ".bias"})
        s.found.append(f"hidden layer {hidden_name} {D} -> {hw.shape[0]}")
    elif w.shape[1] != D:
        raise InputError("structure.head_reads", name=head_name, n=w.shape[1], d=D, hidden=s.hidden_size,
                         dirs=2 if s.bidirectional else 1)
    s.head = recipe.get("head") or ("sigmoid" if w.shape[0] == 1 else "softmax")
    s.state.update(head_state(w, b, s.head))
    used.update({head_name + ".weight", head_name + ".bias"})
    s.found.append(f"head {head_name} {w.shape[1]} -> {w.shape[0]} ({s.head})")
    return hidden_name, head_name


# ---- what a state dict does not say, and what a pickled module's classes do --------------------------


def _default_facts(s: Structure) -> None:
    """The facts a PyTorch or Paddle state dict does not hold: each assumed, saying from where."""
    weights = "the weights do not say how forward() ran"
    if s.framework == "pytorch":
        s.pooling = "last_step"
        s.note("reduction", "assumed", "last_step: out[:, -1] (seed 3's, and Chinese-Text-Classification-Pytorch's); "
               + ("the same as the final state for one direction" if not s.bidirectional else
                  "cat(hidden[-2], hidden[-1]) (bentrevett's) is final_states") + f"; {weights}")
    else:
        s.note("reduction", "assumed", "final_states: the last layer's final forward and backward states, "
               f"as seeds 1-2 concatenate them; {weights}")
    s.note("tanh", "assumed", f"no (seed 3 applies torch.tanh to the outputs first); {weights}")
    if s.hidden_dense:
        s.note("hidden_activation", "assumed", f"relu; {weights}")
    s.note("padding", "assumed", "at the back and read by the model (no lengths passed, as the seed tutorials do)")
    s.note("truncating", "assumed", "at the back (the first tokens kept)")
    s.note("max_len", "assumed", f"{s.max_len} (the seed tutorials' length)")


_ACTS = {"Tanh": "tanh", "ReLU": "relu", "Sigmoid": "sigmoid", "Identity": "linear"}


def _module_facts(s: Structure, modules: dict, rnn: str, emb: str, hidden: str | None, head: str) -> None:
    """Read what a whole pickled PyTorch module says: its classes in the order __init__ made them (an
    activation module between the hidden Linear and the head is the hidden activation; one with no
    hidden layer, or a Tanh besides a placed one, acts before the head), nn.Embedding's padding_idx,
    nn.LSTM's batch_first and bidirectional."""
    order = list(modules)
    cls = {k: str(v.get("class", "")) for k, v in modules.items()}
    short = {k: c.rsplit(".", 1)[-1] for k, c in cls.items()}
    at = {k: i for i, k in enumerate(order)}
    emb_mod = emb[: -len(".weight")] if emb.endswith(".weight") else emb
    if emb_mod in modules:
        e = modules[emb_mod]
        if isinstance(e.get("padding_idx"), int) and not isinstance(e.get("padding_idx"), bool):
            p = e["padding_idx"]
            s.padding_idx = p if p >= 0 else s.vocab_size + p
            s.note("padding_idx", "read", f"nn.Embedding(padding_idx={p}) ({emb_mod}): PyTorch still looks up "
                   "that row as stored, so it names the pad id and changes nothing else")
    if rnn in modules:
        r = modules[rnn]
        s.found.append(f"{short[rnn]}({rnn}): batch_first={r.get('batch_first')}, bidirectional={r.get('bidirectional')}, "
                       f"num_layers={r.get('num_layers')}")
        if r.get("bidirectional") is not None and bool(r.get("bidirectional")) != s.bidirectional:
            raise InputError("facts.module_differs", module=rnn, setting=f"bidirectional={r.get('bidirectional')}",
                             tensors="bidirectional" if s.bidirectional else "one direction")
    acts = [(k, _ACTS[short[k]]) for k in order if short[k] in _ACTS and cls[k].startswith("torch.nn.")]
    if not acts:
        s.note("tanh", "assumed", "no (the file holds no nn.Tanh module; forward() may still call torch.tanh)")
        if s.hidden_dense:
            s.note("hidden_activation", "assumed", "relu (the file holds no activation module; forward() may call "
                   "F.relu, torch.tanh or none)")
        return
    head_at = at.get(head, len(order))
    placed = [(k, a) for k, a in acts if hidden in at and at[hidden] < at[k] < head_at]
    loose = [(k, a) for k, a in acts if (k, a) not in placed and at[k] < head_at]
    words = lambda k: f"{short[k]} module {k!r}"  # noqa: E731
    if s.hidden_dense and placed:
        k, a = placed[0]
        s.hidden_activation = a
        s.note("hidden_activation", "read", f"{a}: the {words(k)} between {hidden} and {head}")
    elif s.hidden_dense and loose:
        k, a = loose[0]
        s.hidden_activation = a
        s.note("hidden_activation", "assumed", f"{a}: the file's only activation module, the {words(k)} (where "
               "forward() applies it is not in the file)")
        s.note("tanh", "assumed", f"no (the {words(k)} was taken as the hidden layer's activation; forward() may "
               "apply it before the head instead)")
        return
    tanh = [k for k, a in loose if a == "tanh"]
    others = [k for k, a in loose if a not in ("tanh", "linear")]
    if others:
        raise InputError("facts.module_activation", module=words(others[0]), rnn=rnn, head=hidden or head, ours="tanh",
                         hidden="relu, tanh, sigmoid")
    if tanh:
        s.output_activation = "tanh"
        s.note("tanh", "read", f"yes: the {words(tanh[0])}, before {hidden or head}")
    elif not (s.hidden_dense and placed):
        s.note("tanh", "assumed", "no (the file holds no nn.Tanh module before the head; forward() may still call torch.tanh)")
    else:
        s.note("tanh", "assumed", "no (the file's activation module acts in the hidden layer; forward() may still "
               "call torch.tanh before it)")
