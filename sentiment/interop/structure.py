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

    def model_config(self) -> ModelConfig:
        return ModelConfig(
            vocab_size=self.vocab_size, embed_dim=self.embed_dim, hidden_size=self.hidden_size,
            num_layers=self.num_layers, bidirectional=self.bidirectional, cell=self.cell, pooling=self.pooling,
            dropout=0.0, num_classes=2, padding=self.padding, truncating=self.truncating,
            output_activation=self.output_activation, hidden_dense=self.hidden_dense,
            hidden_activation=self.hidden_activation, merge=self.merge)

    def _reduction_words(self) -> str:
        if self.pooling in ("last", "last_step") and not self.bidirectional:
            return "final state (the last time step)"
        return REDUCTION_WORDS[self.pooling]

    def describe(self) -> str:
        dirs = "bidirectional " if self.bidirectional else ""
        lines = [
            f"framework: {self.framework}",
            f"embedding: {self.vocab_size} x {self.embed_dim}",
            f"recurrent: {self.num_layers} layer(s) {dirs}{self.cell.upper()} {self.hidden_size}",
            f"reduction: {self._reduction_words()}" + (" after tanh" if self.output_activation == "tanh" else ""),
        ]
        if self.merge != "concat":
            lines.insert(3, f"directions merged: {self.merge} (Keras merge_mode)")
        if self.hidden_dense:
            lines.append(f"hidden dense: {self.hidden_dense} units, {self.hidden_activation}")
        lines.append(f"head: {'1 unit, sigmoid' if self.head == 'sigmoid' else '2 units, softmax'}")
        if self.padding == "none":
            lines.append(f"input: up to {self.max_len} tokens, padding masked (not read), cut at the "
                         f"{'front' if self.truncating == 'pre' else 'back'}")
        else:
            lines.append(f"input: {self.max_len} tokens, padded at the {'front' if self.padding == 'pre' else 'back'} "
                         f"and read by the model, cut at the {'front' if self.truncating == 'pre' else 'back'}")
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


def detect(named: dict[str, np.ndarray], framework: str, recipe: dict) -> Structure:
    """A Structure from a flat state dict (name -> array) of a PyTorch or Paddle model."""
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
    _attach_head(s, named, used, D, recipe, framework)
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


def _attach_head(s: Structure, named: dict, used: set, D: int, recipe: dict, framework: str) -> None:
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
