"""Checkpoints: a model is a directory of four files, written atomically, loaded without pickle.

    model.safetensors   weights only (float32, or float16 where the card says so)
    config.json         {"model": ModelConfig, "tokenizer": {...}, "max_len": int, "format": 1,
                        optional "calibration": {"temperature": T, ...} (absent: T = 1)}
    vocab.json          {"itos": [...]}; an imported model's also {"ids": {"pad", "unk", "start"},
                        "sources": {where each id came from}} (data.vocabs.IdVocab)
    card.json           dataset, split seed and sizes, test_accuracy, test_size, epochs,
                        training seconds, device, torch version, date, command, weights_sha256

The directory is first written under a temporary name beside its target and renamed into place
only when complete; an existing checkpoint is never overwritten. Loading (and the catalog) check
every value of config.json by type and range before anything is built (``check_config``), the JSON
files' size and nesting, and each weight's type in the safetensors header; a bad folder is a
CheckpointError naming the file and the key.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from sentiment import spec
from sentiment.data import text as texts
from sentiment.data import vocabs
from sentiment.data.text import Vocab, check_review, guess_language, other_script, tokenize
from sentiment.errors import CheckpointError, InputError
from sentiment.i18n import Note
from sentiment.modeling import calibration
from sentiment.modeling.bow import KIND as BOW
from sentiment.modeling.bow import BagOfWords, BowConfig, is_bow
from sentiment.modeling.model import ACTIVATIONS, MERGES, PADDINGS, ModelConfig, SentimentRNN
from sentiment.modeling.pooling import IMPORT_POOLINGS, POOLINGS

FILES = ("model.safetensors", "config.json", "vocab.json", "card.json")
FORMAT = 1


@dataclass
class Encoded:
    tokens: list[str]  # the tokens the model reads (after truncation)
    ids: list[int]  # their vocabulary ids
    truncated: int = 0  # tokens dropped past max_len
    note: str = ""  # anything the user should be told (truncation, other language, unknown words), in English
    notes: list[Note] = field(default_factory=list)  # the same, as codes and params (t(note, lang) translates)
    padding: list[bool] | None = None  # imported models that read padding: True at pad steps (ids include them)


@dataclass
class Checkpoint:
    model: SentimentRNN  # or a BagOfWords (config.json "kind": "bow"), which has no gates to trace
    vocab: Vocab
    tokenizer: dict
    max_len: int
    card: dict = field(default_factory=dict)
    path: str = ""
    temperature: float = 1.0  # fitted on the validation split (config.json "calibration"); 1 = none

    @property
    def config(self) -> ModelConfig:
        return self.model.config

    @property
    def read_len(self) -> int:
        """Tokens read per review: to its end, up to spec.READ_LIMIT (or max_len, the length the model
        was trained on, where that is longer)."""
        return max(self.max_len, spec.READ_LIMIT)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """[..., C] calibrated class probabilities from logits [..., C]: every probability GateScope
        shows comes from here (softmax(logits / T)); the logits themselves are left as they are."""
        return calibration.probabilities(logits, self.temperature)

    @property
    def is_bow(self) -> bool:
        return is_bow(self.model)

    @property
    def language(self) -> str:
        return self.tokenizer.get("language", "en")

    @property
    def imported(self) -> bool:
        """A model converted from another framework (sentiment.interop): framed as that framework did."""
        return bool(self.card.get("imported")) or isinstance(self.vocab, vocabs.IdVocab)

    def encode_ids(self, text: str) -> list[int]:
        """The ids the model reads for a dataset review (never raises; no tokens: one unknown id, or
        one pad id for a vocabulary without an unknown id)."""
        if not self.imported:
            return self.vocab.encode(tokenize(text, self.tokenizer)[: self.max_len]) or [1]
        c = self.config
        tokens = vocabs.read_tokens(_imported_text(text, self.tokenizer, c.truncating)[0], self.tokenizer)
        ids = vocabs.frame(tokens, self.vocab, self.max_len, c.padding, c.truncating).ids
        unk = getattr(self.vocab, "unk_id", 1)
        return ids or [self.vocab.pad_id if unk is None else unk]

    def _assumed(self, fact: str) -> bool:
        """Whether the card of an imported model says ``fact`` was assumed at conversion (neither read
        from its file nor given), so a note must not state it as how its framework ran it."""
        facts = (self.card.get("imported") or {}).get("facts") if isinstance(self.card.get("imported"), dict) else None
        entry = facts.get(fact) if isinstance(facts, dict) else None
        return isinstance(entry, dict) and entry.get("source") == "assumed"

    def _encode_imported(self, text: str) -> Encoded:
        """encode() for an imported model: its framework's tokens, start id, cutting side and padding.
        The text is cut only past what any review needs (MAX_PASTE characters for the "list" and
        "keras" tokenizers, MAX_CHARS for GateScope's own), on the side the model keeps."""
        c = self.config
        kept, chars_cut = _imported_text(text, self.tokenizer, c.truncating)
        tokens = vocabs.read_tokens(kept, self.tokenizer)
        if not tokens:
            raise InputError("review.no_words")
        f = vocabs.frame(tokens, self.vocab, self.max_len, c.padding, c.truncating)
        if not f.ids:  # every word unknown to a vocabulary that leaves unknown words out, and no padding
            raise InputError("review.no_known_words")
        notes: list[Note] = []
        last = c.truncating == "pre"
        if chars_cut:
            read = len(f.ids) - sum(f.padding)
            notes.append(Note("note.cut_last_chars" if last else "note.cut_chars", n=read, chars=chars_cut))
        elif f.truncated:
            notes.append(Note("note.cut_last_tokens" if last else "note.cut_tokens", n=self.max_len, more=f.truncated))
        if any(f.padding):
            side = "before" if c.padding == "pre" else "after"
            if self._assumed("padding"):
                notes.append(Note(f"note.pads_{side}_assumed", n=sum(f.padding), flag="--padding"))
            else:
                notes.append(Note(f"note.pads_{side}", n=sum(f.padding)))
        return Encoded(f.tokens, f.ids, f.truncated, " ".join(map(str, notes)), notes,
                       padding=f.padding if c.reads_padding else None)

    def encode(self, text: str) -> Encoded:
        """Tokenize and map to ids as training did; raises InputError when nothing is left to read."""
        chars = len(text) if isinstance(text, str) else 0
        cut = check_review(text)
        if self.imported:
            return self._encode_imported(text)
        text = cut
        tokens = tokenize(text, self.tokenizer)
        if not tokens:
            script = other_script(text)
            if script:
                raise InputError("review.other_script", script=script)
            raise InputError("review.no_words")
        notes: list[Note] = []
        lang = guess_language(text)
        if lang in spec.LANGUAGES and self.language in spec.LANGUAGES and lang != self.language:
            notes.append(Note(f"note.looks_{lang}_reads_{self.language}"))
        limit = self.read_len
        truncated = max(0, len(tokens) - limit)
        if chars > len(text):  # a huge paste: only its first MAX_CHARS characters were tokenized
            tokens = tokens[: limit]
            notes.append(Note("note.cut_chars", n=len(tokens), chars=chars - len(text)))
        elif truncated:
            tokens = tokens[: limit]
            notes.append(Note("note.cut_tokens", n=limit, more=truncated))
        ids = self.vocab.encode(tokens)
        return Encoded(tokens, ids, truncated, " ".join(map(str, notes)), notes)


def _imported_text(text: str, tokenizer: dict, truncating: str) -> tuple[str, int]:
    """(the part of a review an imported model's tokenizer reads, how many characters were cut). The
    "list" and "keras" tokenizers are cheap, so they read up to MAX_PASTE characters (all a page
    accepts), and so give every token their frameworks give within the model's max_len (at most
    spec.READ_LIMIT); GateScope's own (jieba) read MAX_CHARS. A model that keeps the last tokens
    (truncating "pre") keeps the end of the text."""
    most = texts.MAX_PASTE if tokenizer.get("mode") in ("list", "keras") else texts.MAX_CHARS
    if len(text) <= most:
        return text, 0
    return (text[-most:] if truncating == "pre" else text[:most]), len(text) - most


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")


def save(
    out_dir: str | Path,
    model: SentimentRNN,
    vocab: Vocab | vocabs.IdVocab,
    tokenizer: dict,
    max_len: int,
    card: dict,
    half: bool = False,
) -> Path:
    """Write a checkpoint directory atomically; refuses to overwrite an existing one."""
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise CheckpointError("model.exists", path=out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        dtype = torch.float16 if half else torch.float32
        state = {k: v.detach().to("cpu", dtype if v.is_floating_point() else v.dtype).contiguous()
                 for k, v in model.state_dict().items()}
        save_file(state, str(tmp / "model.safetensors"))
        cfg = {"format": FORMAT, "model": model.config.to_dict(), "tokenizer": tokenizer, "max_len": max_len}
        if is_bow(model):
            cfg["kind"] = BOW
        _write_json(tmp / "config.json", cfg)
        (tmp / "vocab.json").write_text(vocab.to_json(), encoding="utf-8")
        card = dict(card, weights_dtype=str(dtype).replace("torch.", ""), weights_sha256=_sha256(tmp / "model.safetensors"))
        card.setdefault("parameters", model.num_parameters())
        _write_json(tmp / "card.json", card)
        if out.exists():
            out.rmdir()  # empty, checked above
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


# What a model directory may hold before anything is built from it (a shared server reads folders
# it did not write): sizes checked against the files and the config first, values after loading.
LIMITS = {"vocab_size": 2_000_000, "embed_dim": 4096, "hidden_size": 4096, "num_layers": 8, "attn_dim": 4096,
          "num_classes": 16}
MAX_PARAMETERS = 200_000_000  # 800 MB of float32 weights
MAX_JSON_BYTES = {"config.json": 1 << 20, "card.json": 4 << 20, "vocab.json": 64 << 20}
MAX_JSON_DEPTH = 32  # config.json and card.json nest a few levels; deeper is not a model's
MAX_LEN = 100_000  # tokens a GateScope-trained model may read (an imported one: spec.READ_LIMIT)
# The values of config.json's "model" that are names (each one of a few) or switches.
CHOICES = {"cell": spec.CELLS, "pooling": POOLINGS + IMPORT_POOLINGS, "padding": PADDINGS, "truncating": ("pre", "post"),
           "output_activation": ("none", "tanh"), "hidden_activation": tuple(ACTIVATIONS), "merge": MERGES}
BOW_CHOICES = {"cell": (BOW,), "pooling": ("none",)}
SWITCHES = ("bidirectional",)
# Weights are floating point (an int8 table read as float gives nonsense); the bag of words' bigram
# table is the one integer tensor a model here declares.
FLOAT_DTYPES = ("F32", "F16", "BF16")
INT_DTYPES = ("I64", "I32")


def _shown(value: object) -> str:
    """A config value as JSON writes it (null, "false", 1e+308), short."""
    try:
        return json.dumps(value, ensure_ascii=False)[:40]
    except (TypeError, ValueError, RecursionError):
        return str(type(value).__name__)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_int(v: object, where: Path, field: str, least: int, most: int) -> None:
    if not _is_int(v) or not least <= v <= most:
        if least == 1:
            raise CheckpointError("model.field_range", path=where, field=field, value=_shown(v), most=most)
        raise CheckpointError("model.field_int", path=where, field=field, value=_shown(v), least=least, most=most)


def _check_number(v: object, where: Path, field: str, least: float, most: float, below: bool = False) -> None:
    """A finite JSON number in [least, most] (``below``: most itself excluded)."""
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and least <= v <= most
    if not ok or (below and v == most):
        raise CheckpointError("model.field_number", path=where, field=field, value=_shown(v), least=least, most=most)


def _check_model(model: dict, where: Path, bow: bool) -> None:
    """config.json's "model": every size a whole number in range (a null or a string refused, not
    skipped), names among their choices, switches true or false."""
    limits = {"vocab_size": LIMITS["vocab_size"], "num_bigrams": 4 * LIMITS["vocab_size"], "num_classes": 16} if bow else LIMITS
    for name, most in limits.items():
        if name in model or name == "vocab_size":
            _check_int(model.get(name), where, f"model.{name}", 1, most)
    ints = {"hidden_size": (0, 0), "num_layers": (0, 0), "ngram": (1, 2)} if bow else {"hidden_dense": (0, LIMITS["hidden_size"])}
    for name, (least, most) in ints.items():
        if name in model:
            _check_int(model[name], where, f"model.{name}", least, most)
    for name, choices in (BOW_CHOICES if bow else CHOICES).items():
        if name in model and (not isinstance(model[name], str) or model[name] not in choices):
            raise CheckpointError("model.field_choice", path=where, field=f"model.{name}", value=_shown(model[name]),
                                  choices=", ".join(choices))
    for name in SWITCHES:
        if name in model and not isinstance(model[name], bool):
            raise CheckpointError("model.field_bool", path=where, field=f"model.{name}", value=_shown(model[name]))
    if "dropout" in model:
        _check_number(model["dropout"], where, "model.dropout", 0.0, 1.0, below=True)


def _check_calibration(cfg: dict, where: Path) -> None:
    """A fitted temperature in the range a fit may return (1e308 would read every review as 50%)."""
    if "calibration" not in cfg:
        return
    cal = cfg["calibration"]
    if not isinstance(cal, dict):
        raise CheckpointError("model.field_choice", path=where, field="calibration", value=_shown(cal),
                              choices="{\"temperature\": T}")
    lo, hi = calibration.T_RANGE
    _check_number(cal.get("temperature"), where, "calibration.temperature", lo * (1 - 1e-9), hi * (1 + 1e-9))


def is_imported(cfg: dict, card: dict | None = None) -> bool:
    """A model converted from another framework: its card says so, or it reads padding (only
    imported models are padded to a fixed length)."""
    model = cfg.get("model") if isinstance(cfg.get("model"), dict) else {}
    return bool((card or {}).get("imported")) or model.get("padding", "none") != "none"


def check_config(cfg: dict, where: Path, card: dict | None = None) -> None:
    """Every value in config.json of the type and range a model can have, before anything is
    allocated: sizes, names, switches, the format, the kind, max_len (at most spec.READ_LIMIT for an
    imported model: it is padded to it), the tokenizer spec and the temperature. CheckpointError
    naming the file and the key otherwise. ``card``: the card beside it, which says whether the model
    was imported."""
    model, tokenizer = cfg.get("model"), cfg.get("tokenizer")
    if not isinstance(model, dict) or not isinstance(tokenizer, dict):
        raise CheckpointError("model.config_parts", path=where)
    if "format" in cfg and (not _is_int(cfg["format"]) or cfg["format"] != FORMAT):
        raise CheckpointError("model.format", path=where, value=_shown(cfg["format"]), known=FORMAT)
    if "kind" in cfg and cfg["kind"] != BOW:
        raise CheckpointError("model.field_choice", path=where, field="kind", value=_shown(cfg["kind"]), choices=BOW)
    bow = cfg.get("kind") == BOW  # the bag-of-words reference: no recurrent layer (hidden_size 0), bigram rows
    _check_model(model, where, bow)
    _check_int(cfg.get("max_len"), where, "max_len", 1, spec.READ_LIMIT if is_imported(cfg, card) else MAX_LEN)
    key = texts.tokenizer_problem(tokenizer)
    if key is not None:
        *first, last = spec.LANGUAGES
        raise CheckpointError("model.tokenizer", path=where, tokenizer=_shown(tokenizer)[:80], key=key,
                              languages=", ".join(first), last=last, modes=", ".join(texts.TOKENIZER_MODES))
    _check_calibration(cfg, where)
    if not bow and _parameters(model) > MAX_PARAMETERS:
        raise CheckpointError("model.too_many_parameters", path=where, n=_parameters(model), most=MAX_PARAMETERS)


def _parameters(model: dict) -> int:
    """About how many parameters the config describes (embedding and recurrent layers)."""
    v, e, h = model.get("vocab_size", 1), model.get("embed_dim", 64), model.get("hidden_size", 64)
    layers, d = model.get("num_layers", 1), 2 if model.get("bidirectional", True) else 1
    per_gate = {"lstm": 4, "gru": 3}.get(model.get("cell"), 1)
    return v * e + d * per_gate * h * (e + h + 2) + (layers - 1) * d * per_gate * h * (d * h + h + 2)


def read_model_json(path: Path) -> dict:
    """A model directory's JSON file (config.json, card.json) as an object, within its size and
    nesting limits; CheckpointError saying what is wrong."""
    if not path.is_file():
        raise CheckpointError("model.missing", path=path, files=", ".join(FILES))
    most = MAX_JSON_BYTES.get(path.name, 4 << 20)
    try:
        size = path.stat().st_size
        if size > most:
            raise CheckpointError("model.json_too_big", path=path, mb=size / 1e6, most=most / 1e6)
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError("model.bad_json", path=path, err=e) from None
    except RecursionError:
        raise CheckpointError("model.too_deep", path=path, most=MAX_JSON_DEPTH) from None
    if not isinstance(obj, dict):
        raise CheckpointError("model.not_object", path=path)
    if _deeper_than(obj, MAX_JSON_DEPTH):
        raise CheckpointError("model.too_deep", path=path, most=MAX_JSON_DEPTH)
    return obj


def _deeper_than(obj: object, most: int) -> bool:
    """Whether JSON nests more than ``most`` levels (walked without recursion)."""
    stack = [(obj, 1)]
    while stack:
        o, depth = stack.pop()
        if isinstance(o, (dict, list)):
            if depth > most:
                return True
            stack.extend((v, depth + 1) for v in (o.values() if isinstance(o, dict) else o))
    return False


def read_card(model_dir: str | Path) -> dict:
    return read_model_json(Path(model_dir) / "card.json")


def resolve(model: str | Path) -> Path:
    """A model directory from a path, or from the name of a shipped model (``imdb-lstm-max``), of a
    run (its id: ``<runs root>/<id>/model``) or of an imported model (``<runs root>/imported/<name>``)
    when no such path exists. CheckpointError if none is."""
    d = Path(model)
    if d.is_dir():
        return d
    name = str(model)
    if name and "/" not in name and "\\" not in name and name not in (".", ".."):
        for candidate in (spec.models_root() / name, spec.runs_root_path() / name / "model",
                          spec.runs_root_path() / "imported" / name):  # imported: sentiment.interop
            if candidate.is_dir():
                return candidate
    raise CheckpointError("model.not_found", path=d)


def load(model_dir: str | Path, device: str = "cpu") -> Checkpoint:
    """Load a checkpoint directory for inference (eval mode, float32). CheckpointError names the bad file."""
    d = resolve(model_dir)
    cfg = read_model_json(d / "config.json")
    card = read_model_json(d / "card.json")
    check_config(cfg, d / "config.json", card)  # sizes before anything is read or built from them
    wpath = d / "model.safetensors"
    if not wpath.is_file():
        raise CheckpointError("model.missing", path=wpath, files=", ".join(FILES))
    if wpath.stat().st_size > 4 * _parameters(cfg["model"]) + (16 << 20):
        raise CheckpointError("model.weights_too_big", path=wpath, mb=wpath.stat().st_size / 1e6)
    try:
        vpath = d / "vocab.json"
        if vpath.is_file() and vpath.stat().st_size > MAX_JSON_BYTES["vocab.json"]:
            raise CheckpointError("model.vocab_too_big", path=vpath, mb=vpath.stat().st_size / 1e6)
        vtext = vpath.read_text(encoding="utf-8")
        vocab = vocabs.IdVocab.from_json(vtext) if vocabs.is_id_vocab_json(vtext) else Vocab.from_json(vtext)
        if not all(isinstance(t, str) for t in vocab.itos):
            raise ValueError("every token of itos must be a string")
    except FileNotFoundError:
        raise CheckpointError("model.missing", path=d / "vocab.json", files=", ".join(FILES)) from None
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError, RecursionError) as e:
        raise CheckpointError("model.corrupt", path=d / "vocab.json", err=f"{type(e).__name__}: {str(e)[:120]}") from None
    try:
        config = (BowConfig if cfg.get("kind") == BOW else ModelConfig).from_dict(cfg["model"])
        tokenizer = dict(cfg["tokenizer"])
        max_len = int(cfg["max_len"])
        temperature = calibration.temperature_of(cfg)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise CheckpointError("model.config", path=d / "config.json", err=e) from None
    if config.vocab_size != len(vocab):
        raise CheckpointError("model.vocab_size", path=d / "vocab.json", n=len(vocab), expected=config.vocab_size)
    if isinstance(vocab, vocabs.IdVocab):  # an imported model's vocabulary: it is padded up to max_len
        _check_int(max_len, d / "config.json", "max_len", 1, spec.READ_LIMIT)
    if card.get("weights_sha256") and card["weights_sha256"] != _sha256(wpath):
        raise CheckpointError("model.checksum", path=wpath)
    model = BagOfWords(config) if isinstance(config, BowConfig) else SentimentRNN(config)
    try:
        _check_dtypes(wpath, model)
        state = load_file(str(wpath))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError("model.corrupt", path=wpath, err=e) from None
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as e:
        raise CheckpointError("model.weights", path=wpath, err=str(e).splitlines()[0]) from None
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        raise CheckpointError("model.not_finite", path=wpath)
    model.to(device).eval()
    return Checkpoint(model, vocab, tokenizer, max_len, card, str(d), temperature)


def _check_dtypes(wpath: Path, model: torch.nn.Module) -> None:
    """Each tensor in model.safetensors of a type the model's own tensor can take (read from the
    file's header, before any weight): floating-point weights float32, float16 or bfloat16, the bag
    of words' integer bigram table integers. CheckpointError naming the tensor otherwise."""
    expected = model.state_dict()
    with safe_open(str(wpath), "pt") as f:
        for name in f.keys():  # noqa: SIM118 (safetensors' safe_open is not a dict: no __iter__)
            dtype = str(f.get_slice(name).get_dtype())
            want = expected.get(name)
            allowed = INT_DTYPES if want is not None and not want.is_floating_point() else FLOAT_DTYPES
            if dtype not in allowed:
                raise CheckpointError("model.weights_dtype", path=wpath, name=name[:80], dtype=dtype,
                                      allowed=", ".join(allowed))
