"""Keras models: ``.keras`` (Keras 3: a zip of config.json + model.weights.h5) and legacy ``.h5``.

Read with zipfile and h5py; Keras itself is never imported, nothing in the file is run. The model
must be a chain: [Input] Embedding [Masking] (LSTM | GRU | SimpleRNN | Bidirectional(...))+
[GlobalMaxPooling1D | GlobalAveragePooling1D] [Dense] Dense, with Dropout / SpatialDropout1D
anywhere (inactive at inference). Keras' gate orders become PyTorch's: LSTM i, f, c, o is PyTorch's
i, f, g, o (its one bias becomes bias_ih, bias_hh = 0); GRU z, r, h becomes r, z, n, with
``reset_after=True``'s two biases as bias_ih and bias_hh (Keras' h = z h_prev + (1 - z) h~ is
PyTorch's). Anything else is refused with a message naming the layer and setting.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field

import numpy as np
import torch

from sentiment.errors import InputError
from sentiment.interop import bounds, safeh5
from sentiment.interop.structure import Structure, head_state
from sentiment.modeling.model import MERGES

_SKIP = {"InputLayer", "Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout"}
_RNNS = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "rnn", "CuDNNLSTM": "lstm", "CuDNNGRU": "gru"}
_POOLS = {"GlobalMaxPooling1D": "max", "GlobalMaxPool1D": "max", "GlobalAveragePooling1D": "mean",
          "GlobalAvgPool1D": "mean"}
_DENSE_ACTS = {"relu", "tanh", "sigmoid", "linear"}


def _snake(name: str) -> str:
    """Keras 3's naming.to_snake_case: the weights file's group of a layer is named after its class."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


# ---- the file -------------------------------------------------------------------------------------


@dataclass
class KerasFile:
    config: dict  # the model's config (class_name, config)
    weights: dict[str, list[np.ndarray]]  # layer name -> its variables in Keras' order
    vocabulary: list[str] | None = None  # a TextVectorization layer's, if the file has one
    notes: list[str] = field(default_factory=list)


def _vars(h5: safeh5.H5, group, depth: int = 0) -> list[np.ndarray]:
    """A Keras 3 layer group's variables: vars/0, vars/1, ... (a recurrent layer's are under cell/);
    every link checked (safeh5), and a chain of cell/ groups at most a few deep (HDF5 allows cycles)."""
    found = h5.child(group, "vars")
    n = len(h5.names(found)) if found is not None else 0
    if n:
        return [h5.array(h5.need(found, str(i))) for i in range(n)]
    cell = h5.child(group, "cell")
    if cell is not None and depth < 4:
        return _vars(h5, cell, depth + 1)
    return []


@bounds.messages_only(".keras")
def read_keras3(data: bytes) -> KerasFile:
    """A Keras 3 ``.keras`` zip: its members' sizes checked before any is unpacked (bounds.open_zip),
    config.json's size and nesting bounded, the weights read through safeh5."""
    try:
        z = bounds.open_zip(data, ".keras")
        config = bounds.loads_json(bounds.read_member(z, "config.json", bounds.MAX_JSON_BYTES), "config.json")
        wbytes = bounds.read_member(z, "model.weights.h5", bounds.MAX_UNZIPPED)
        assets = {n: bounds.read_member(z, n, bounds.MAX_TEXT_ASSET).decode("utf-8")
                  for n in z.namelist() if n.startswith("assets/") and n.endswith(".txt") and "vocabulary" in n}
    except (zipfile.BadZipFile, KeyError, EOFError, OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError("interop.truncated", kind=".keras", err=f"{type(e).__name__}: {str(e)[:200]}") from None
    layers = _layer_list(config)
    weights: dict[str, list[np.ndarray]] = {}
    used: dict[str, int] = {}
    try:
        with safeh5.H5(wbytes, "model.weights.h5") as h5:
            root = h5.child(h5.file, "layers") or h5.file
            for layer in layers:
                if layer["class_name"] == "InputLayer":
                    continue
                key = _snake(layer["class_name"])
                used[key] = used.get(key, -1) + 1
                key = key if used[key] == 0 else f"{key}_{used[key]}"
                name = layer["config"].get("name", "")
                g = h5.child(root, key) or h5.child(root, name)
                if g is None:
                    continue
                if layer["class_name"] == "Bidirectional":
                    weights[name] = _vars(h5, h5.need(g, "forward_layer")) + _vars(h5, h5.need(g, "backward_layer"))
                else:
                    weights[name] = _vars(h5, g)
    except (OSError, KeyError, ValueError) as e:
        raise InputError("interop.truncated", kind="model.weights.h5", err=f"{type(e).__name__}: {str(e)[:200]}") from None
    vocab = None
    for text in assets.values():  # the last vocabulary asset (in the zip's order) is the one kept
        vocab = text.split("\n")
    return KerasFile(config, weights, vocab)


@bounds.messages_only("Keras .h5")
def read_legacy_h5(data: bytes) -> KerasFile:
    """A Keras 2 / tf.keras ``model.save("m.h5")`` file: model_config (an attribute, size and nesting
    bounded) and model_weights/<layer>/<weight_names>, every link and dataset checked (safeh5)."""
    try:
        with safeh5.H5(data, "Keras .h5") as h5:
            raw = h5.attr(h5.file["/"], "model_config")
            if raw is None:
                raise InputError("keras.weights_only", ext=".h5", weights_call="model.save_weights",
                                 save_call="model.save(PATH)")
            if isinstance(raw, np.ndarray) and raw.size == 1:
                raw = raw.reshape(-1)[0]
            if not isinstance(raw, (bytes, str)):
                raise InputError("interop.truncated_model", kind="Keras .h5", err=f"model_config is {type(raw).__name__}")
            config = bounds.loads_json(raw, "model_config")
            mw = h5.child(h5.file, "model_weights") or h5.file
            weights = {}
            for name in h5.names(mw):
                g = h5.child(mw, name)
                names = h5.attr(g, "weight_names", most=1 << 20)
                wn = [w.decode() if isinstance(w, bytes) else str(w) for w in ([] if names is None else names)]
                weights[name] = [h5.array(h5.path(g, w)) for w in wn]
    except InputError:
        raise
    except (OSError, KeyError, ValueError, json.JSONDecodeError) as e:
        raise InputError("interop.truncated_model", kind="Keras .h5", err=f"{type(e).__name__}: {str(e)[:200]}") from None
    return KerasFile(config, weights)


def _layer_list(config: dict) -> list[dict]:
    """The config's layers, each checked to be a layer object (class_name, config, a string name)
    before anything reads it: a hostile config.json is a message, never an AttributeError."""
    if not isinstance(config, dict):
        raise InputError("keras.config_not_object", kind=type(config).__name__)
    cfg = config.get("config", {})
    layers = cfg.get("layers") if isinstance(cfg, dict) else cfg
    if not isinstance(layers, list):
        raise InputError("keras.no_layers")
    for i, layer in enumerate(layers):
        _check_layer(layer, i)
        nodes = layer.get("inbound_nodes") or []
        if not isinstance(nodes, list):
            raise InputError("keras.layer_not_object", index=i, key="inbound_nodes")
        if len(nodes) > 1 or (nodes and len(_args_of(nodes[0])) > 1):
            raise InputError("keras.inputs", name=layer["config"].get("name"), sequential="Sequential",
                             functional="Functional")
    return layers


def _check_layer(layer: object, index: int, inner: bool = False) -> None:
    """A layer object: {"class_name": str, "config": {...}} whose name, if any, is a string; a wrapper's
    (Bidirectional's) layer and backward_layer too."""
    if not isinstance(layer, dict):
        raise InputError("keras.layer_not_object", index=index, key="class_name, config")
    for key, kind in (("class_name", str), ("config", dict)):
        if not isinstance(layer.get(key), kind):
            raise InputError("keras.layer_not_object", index=index, key=key)
    if not isinstance(layer["config"].get("name", ""), str):
        raise InputError("keras.layer_not_object", index=index, key="name")
    if layer["class_name"] == "Bidirectional" and not inner and "layer" not in layer["config"]:
        raise InputError("keras.layer_not_object", index=index, key="layer")
    for key in ("layer", "backward_layer"):
        sub = layer["config"].get(key)
        if sub is not None and not inner:
            _check_layer(sub, index, inner=True)


def _args_of(node) -> list:
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        args = node.get("args", [])
        args = args if isinstance(args, list) else [args]
        return args[0] if len(args) == 1 and isinstance(args[0], list) else args
    return node if isinstance(node, list) else [node]  # Keras 2: [[name, i, j, kwargs], ...]


# ---- the structure ----------------------------------------------------------------------------------


def _check_rnn(layer: dict, where: str, backward: bool = False) -> dict:
    c = layer["config"]
    name = c.get("name", layer["class_name"])
    kind = _RNNS[layer["class_name"]]
    if layer["class_name"].startswith("CuDNN"):
        raise InputError("keras.cudnn", layer=f"{where}{name}", cls=layer["class_name"], cudnn="cuDNN", keras="Keras 2")
    if c.get("activation", "tanh") != "tanh":
        raise InputError("keras.only", layer=f"{where}{name}", option="activation", value=c.get("activation"), only="tanh")
    if kind != "rnn" and c.get("recurrent_activation", "sigmoid") != "sigmoid":
        raise InputError("keras.recurrent_activation", layer=f"{where}{name}", option="recurrent_activation",
                         value=c.get("recurrent_activation"), only="sigmoid", old="hard_sigmoid", keras="Keras 2",
                         setting="recurrent_activation='sigmoid'")
    if kind == "gru" and not c.get("reset_after", False):
        raise InputError("keras.reset_after", layer=f"{where}{name}", setting="reset_after=False", ours="reset_after=True",
                         cudnn="cuDNN", torch="PyTorch")
    for flag in ("go_backwards", "stateful", "return_state"):
        if c.get(flag) and not (flag == "go_backwards" and backward):
            raise InputError("keras.setting", layer=f"{where}{name}", setting=f"{flag}=True")
    return {"cell": kind, "units": int(c["units"]), "use_bias": c.get("use_bias", True),
            "return_sequences": bool(c.get("return_sequences", False)), "name": name}


def _rnn_weights(cell: str, H: int, ws: list[np.ndarray], use_bias: bool, name: str) -> dict[str, torch.Tensor]:
    """Keras kernel [In, G*H], recurrent_kernel [H, G*H], bias -> PyTorch's weight_ih, weight_hh, bias_ih, bias_hh."""
    if len(ws) < 2:
        raise InputError("keras.no_weights", layer=name)
    k, rk = ws[0], ws[1]
    G = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    bias = ws[2] if use_bias and len(ws) > 2 else np.zeros((2, G * H) if cell == "gru" else (G * H,), np.float32)
    if k.shape[1] != G * H or rk.shape != (H, G * H):
        raise InputError("keras.kernels", layer=name, kernel=k.shape, recurrent=rk.shape, cell=cell.upper(), units=H)
    if cell == "gru":
        if bias.ndim != 2:
            raise InputError("keras.gru_bias", layer=name, shape=bias.shape, setting="reset_after=True")
        order = np.concatenate([np.arange(H, 2 * H), np.arange(0, H), np.arange(2 * H, 3 * H)])  # z,r,h -> r,z,n
        k, rk, b_ih, b_hh = k[:, order], rk[:, order], bias[0][order], bias[1][order]
    else:
        b_ih, b_hh = bias, np.zeros_like(bias)
    t = lambda a: torch.as_tensor(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
    return {"weight_ih": t(k.T), "weight_hh": t(rk.T), "bias_ih": t(b_ih), "bias_hh": t(b_hh)}


@dataclass
class _Walk:
    max_len: int | None = None
    emb: np.ndarray | None = None
    mask: bool = False
    rnns: list[dict] = field(default_factory=list)
    pooling: str | None = None
    denses: list[tuple[dict, list[np.ndarray]]] = field(default_factory=list)
    vectorize: dict | None = None
    len_from: str | None = None  # where the file says the input length (a layer and its setting)
    mask_from: str | None = None  # the setting that masks the pads (Embedding(mask_zero=True), Masking)


def _input_len(c: dict) -> int | None:
    shape = c.get("batch_shape") or c.get("batch_input_shape")
    if shape and len(shape) >= 2 and shape[1]:
        return int(shape[1])
    return int(c["input_length"]) if c.get("input_length") else None


def _walk(kf: KerasFile) -> _Walk:
    w = _Walk()
    for layer in _layer_list(kf.config):
        cls, c = layer["class_name"], layer.get("config", {})
        name = c.get("name", cls)
        if w.vectorize is None and not w.max_len and _input_len(c):
            w.max_len = _input_len(c)
            w.len_from = f"{cls} {name!r}: " + (f"input_length={w.max_len}" if c.get("input_length") else
                                               f"batch_shape=(None, {w.max_len})")
        if cls in _SKIP:
            continue
        if cls == "TextVectorization":
            w.vectorize = c
            w.max_len = c.get("output_sequence_length")  # None: each batch padded to its longest review
            w.len_from = f"TextVectorization(output_sequence_length={w.max_len})" if w.max_len else None
            continue
        if w.denses and cls != "Dense":
            raise InputError("keras.after_dense", name=name, cls=cls, dense="Dense")
        if cls == "Embedding":
            ws = kf.weights.get(name) or []
            if w.emb is not None or not ws:
                raise InputError("keras.second_embedding", name=name)
            w.emb, w.mask = ws[0], bool(c.get("mask_zero"))
            w.mask_from = f"Embedding {name!r}: mask_zero=True" if w.mask else None
        elif cls == "Masking":
            w.mask = _masking_is_mask_zero(w.emb, c, name)
            w.mask_from = f"Masking {name!r}: mask_value={float(c.get('mask_value', 0.0))}, exactly the pad row (id 0)"
        elif cls in _RNNS or cls == "Bidirectional":
            _add_rnn(w, layer, kf.weights.get(name) or [])
        elif cls in _POOLS:
            if c.get("keepdims") or c.get("data_format", "channels_last") != "channels_last":
                raise InputError("keras.pool_options", name=name, cls=cls, a="keepdims", b="channels_first")
            w.pooling = _POOLS[cls]
        elif cls == "Dense":
            w.denses.append((c, kf.weights.get(name) or []))
        else:
            raise InputError("keras.layer_kind", name=name, cls=cls, known="Embedding, Masking, LSTM, GRU, SimpleRNN, "
                             "Bidirectional, GlobalMax/AveragePooling1D, Dropout, Dense")
    return w


def _masking_is_mask_zero(emb: np.ndarray | None, c: dict, name: str) -> bool:
    """A Masking layer right after the embedding masks the steps whose vector equals mask_value:
    the same as mask_zero when exactly the pad row (id 0) does."""
    v = float(c.get("mask_value", 0.0))
    if emb is None:
        raise InputError("keras.masking_first", name=name, masking="Masking", embedding="Embedding")
    hits = np.flatnonzero((emb == v).all(1))
    if list(hits) != [0]:
        raise InputError("keras.masking_rows", name=name, masking="Masking", setting=f"mask_value={v}",
                         rows=list(hits[:5]), mask_zero="mask_zero")
    return True


def _add_rnn(w: _Walk, layer: dict, ws: list[np.ndarray]) -> None:
    c = layer["config"]
    if w.pooling is not None:
        raise InputError("keras.rnn_after_pool", name=c.get("name"))
    if layer["class_name"] == "Bidirectional":
        mode = c.get("merge_mode", "concat")
        if mode not in MERGES:  # None: the two directions returned as a list
            raise InputError("keras.merge_mode", name=c.get("name"), bidi="Bidirectional", setting=f"merge_mode={mode!r}",
                             only=", ".join(MERGES))
        inner = _check_rnn(c["layer"], f"{c.get('name')}/")
        if c.get("backward_layer"):
            back = _check_rnn(c["backward_layer"], f"{c.get('name')}/", backward=True)
            if (back["cell"], back["units"]) != (inner["cell"], inner["units"]):
                raise InputError("keras.directions_differ", name=c.get("name"))
        half = len(ws) // 2
        dirs = [_rnn_weights(inner["cell"], inner["units"], ws[:half], inner["use_bias"], c.get("name")),
                _rnn_weights(inner["cell"], inner["units"], ws[half:], inner["use_bias"], c.get("name"))]
        w.rnns.append({**inner, "name": c.get("name"), "dirs": dirs, "merge": mode})
    else:
        inner = _check_rnn(layer, "")
        w.rnns.append({**inner, "dirs": [_rnn_weights(inner["cell"], inner["units"], ws, inner["use_bias"], inner["name"])]})


def _check_found(w: _Walk) -> None:
    """An Embedding and at least one recurrent layer."""
    if w.emb is None:
        raise InputError("keras.no_embedding", embedding="Embedding")
    if not w.rnns:
        raise InputError("keras.no_rnn", kinds="LSTM, GRU, SimpleRNN")


def _check_stack(rnns: list[dict]) -> None:
    """Stacked recurrent layers that make one fused stack: the same cell, units and directions, every
    layer below the top returning its sequence and concatenating its directions."""
    first = rnns[0]
    for r in rnns[1:]:
        if (r["cell"], r["units"], len(r["dirs"])) != (first["cell"], first["units"], len(first["dirs"])):
            raise InputError("keras.stack_differs", name=r["name"])
    for r in rnns[:-1]:
        if not r["return_sequences"]:
            raise InputError("keras.stack_sequences", name=r["name"], setting="return_sequences=False")
        if r.get("merge", "concat") != "concat":  # the next layer would read H units, not H x 2: no fused stack
            raise InputError("keras.merge_mode", name=r["name"], bidi="Bidirectional",
                             setting=f"merge_mode={r['merge']!r} below the top layer", only="concat")


def _check_reduction(w: _Walk) -> None:
    """The top recurrent layer's output is pooled (a sequence) or is the last step (no pooling layer)."""
    last = w.rnns[-1]
    if last["return_sequences"] and w.pooling is None:
        raise InputError("keras.no_pooling", name=last["name"], setting="return_sequences=True")
    if not last["return_sequences"] and w.pooling is not None:
        raise InputError("keras.pooling_last_step", setting="return_sequences=False")
    if w.mask and w.pooling == "max":
        raise InputError("keras.mask_max", mask_zero="mask_zero", pool="GlobalMaxPooling1D", keras="Keras")


def _torch_state(w: _Walk) -> dict[str, torch.Tensor]:
    """The embedding and recurrent weights under GateScope's state dict names (rnn.weight_ih_l0_reverse...)."""
    state = {"embedding.weight": torch.as_tensor(np.ascontiguousarray(w.emb, dtype=np.float32))}
    for l, r in enumerate(w.rnns):
        for d, ws in enumerate(r["dirs"]):
            for k, v in ws.items():
                state[f"rnn.{k}_l{l}{'_reverse' * d}"] = v
    return state


def _set_vocabulary(s: Structure, kf: KerasFile, w: _Walk) -> None:
    """The vocabulary of a TextVectorization layer (or the file's vocabulary asset), if there is one."""
    words = kf.vocabulary
    if w.vectorize is not None and isinstance(w.vectorize.get("vocabulary"), list):
        words = ["", "[UNK]"] + [str(v) for v in w.vectorize["vocabulary"]]  # get_vocabulary() order
    if words is not None:
        from sentiment.data.vocabs import from_token_list
        s.vocab = from_token_list(words, s.vocab_size)  # id 0 "" (mask), 1 "[UNK]"
        s.found.append(f"vocabulary of {len(words)} tokens from the TextVectorization layer (its standardize is "
                       "approximated by GateScope's tokenizer: lower case, punctuation dropped)")


@bounds.messages_only("Keras")
def structure(kf: KerasFile) -> Structure:
    """The Structure of a Keras model file."""
    w = _walk(kf)
    _check_found(w)
    _check_stack(w.rnns)
    _check_reduction(w)
    first, last = w.rnns[0], w.rnns[-1]
    H, dirs = first["units"], len(first["dirs"])
    state = _torch_state(w)
    side = "post" if w.vectorize is not None else "pre"  # TextVectorization pads and cuts at the back
    free = w.vectorize is not None and not w.max_len  # no fixed length: a review alone is read unpadded
    s = Structure("keras", first["cell"], w.emb.shape[0], w.emb.shape[1], H, len(w.rnns), dirs == 2, state,
                  pooling=w.pooling or "last", padding="none" if w.mask or free else side, truncating=side,
                  max_len=w.max_len or 500, merge=last.get("merge", "concat"))
    s.found.append(f"layers: {', '.join(l['class_name'] for l in _layer_list(kf.config))}")
    _keras_facts(s, w)
    _keras_head(s, w.denses, H * dirs if s.merge == "concat" else H)
    _set_vocabulary(s, kf, w)
    return s


def _keras_facts(s: Structure, w: _Walk) -> None:
    """What the file says of how the model ran (its layers' settings), and what it does not (how the
    ids were padded and cut before the model: keras.utils.pad_sequences' defaults assumed)."""
    if w.len_from:
        s.note("max_len", "read", f"{w.max_len} ({w.len_from})")
    elif w.vectorize is not None:
        s.note("max_len", "assumed", f"{s.max_len}: the TextVectorization layer has no output_sequence_length, so "
               f"a review is read whole; GateScope cuts it at {s.max_len} tokens")
    else:
        s.note("max_len", "assumed", f"{s.max_len}: the file has no input length (seed 4 pads to 500; IMDB tutorials "
               "often to 200)")
    if w.mask:
        s.note("padding", "read", f"pads are masked, not read ({w.mask_from})")
    elif w.vectorize is not None:
        s.note("padding", "read", "at the back (the TextVectorization layer pads at the back)" if w.max_len else
               "none: the TextVectorization layer has no fixed length, so a review alone is read unpadded")
    else:
        s.note("padding", "assumed", "at the front, read by the model (keras.utils.pad_sequences' default; the "
               "file has no mask_zero, so Keras read every pad it was fed)")
    if w.vectorize is not None:
        s.note("truncating", "read", "at the back (the TextVectorization layer cuts at the back)")
    else:
        s.note("truncating", "assumed", "at the front (keras.utils.pad_sequences' default: the last tokens kept)")
    last = w.rnns[-1]
    s.note("reduction", "read", f"{_POOL_LAYERS.get(w.pooling, '')}" if w.pooling else
           f"{last['name']}: return_sequences=False, the final state")
    s.note("tanh", "read", "no: the layers between the recurrent layers and the head are in the file, none applies tanh")


_POOL_LAYERS = {"max": "GlobalMaxPooling1D", "mean": "GlobalAveragePooling1D"}


def _keras_head(s: Structure, denses: list, D: int) -> None:
    if not denses or len(denses) > 2:
        raise InputError("keras.denses", dense="Dense", n=len(denses))
    *hidden, (hc, hws) = denses
    if hidden:
        c, ws = hidden[0]
        if c.get("activation", "linear") not in _DENSE_ACTS:
            raise InputError("keras.activation", name=c.get("name"), option="activation", value=c.get("activation"))
        if not ws or ws[0].shape[0] != D:
            raise InputError("keras.dense_input", name=c.get("name"), shape=ws[0].shape if ws else None, d=D)
        s.hidden_dense, s.hidden_activation = ws[0].shape[1], c.get("activation", "linear")
        s.note("hidden_activation", "read", f"{s.hidden_activation} (Dense {c.get('name')!r}: "
               f"activation={s.hidden_activation!r})")
        s.state["hidden.weight"] = torch.as_tensor(np.ascontiguousarray(ws[0].T, dtype=np.float32))
        s.state["hidden.bias"] = torch.as_tensor(np.asarray(ws[1] if len(ws) > 1 else np.zeros(ws[0].shape[1]), dtype=np.float32))
        D = ws[0].shape[1]
    act = hc.get("activation", "linear")
    if not hws or hws[0].shape[0] != D:
        raise InputError("keras.dense_input", name=hc.get("name"), shape=hws[0].shape if hws else None, d=D)
    units = hws[0].shape[1]
    if (units, act) not in ((1, "sigmoid"), (2, "softmax")):
        raise InputError("keras.head", name=hc.get("name"), units=units, option="activation", value=act,
                         sigmoid="sigmoid", softmax="softmax")
    s.head = "sigmoid" if units == 1 else "softmax"
    s.state.update(head_state(hws[0].T, hws[1] if len(hws) > 1 else None, s.head))
