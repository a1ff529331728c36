"""Checkpoints: a model is a directory of four files, written atomically, loaded without pickle.

    model.safetensors   weights only (float32, or float16 where the card says so)
    config.json         {"model": ModelConfig, "tokenizer": {...}, "max_len": int, "format": 1,
                        optional "calibration": {"temperature": T, ...} (absent: T = 1)}
    vocab.json          {"itos": [...]}
    card.json           dataset, split seed and sizes, test_accuracy, test_size, epochs,
                        training seconds, device, torch version, date, command, weights_sha256

The directory is first written under a temporary name beside its target and renamed into place
only when complete; an existing checkpoint is never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from sentiment import spec
from sentiment.data import vocabs
from sentiment.data.text import Vocab, check_review, guess_language, other_script, tokenize
from sentiment.errors import CheckpointError, InputError
from sentiment.i18n import Note
from sentiment.jsonio import load_json_object
from sentiment.modeling import calibration
from sentiment.modeling.bow import KIND as BOW
from sentiment.modeling.bow import BagOfWords, BowConfig, is_bow
from sentiment.modeling.model import ModelConfig, SentimentRNN

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
        """The ids the model reads for a dataset review (never raises; no tokens: one unknown id)."""
        tokens = vocabs.read_tokens(text, self.tokenizer) if self.imported else tokenize(text, self.tokenizer)
        if not self.imported:
            return self.vocab.encode(tokens[: self.max_len]) or [1]
        c = self.config
        ids = vocabs.frame(tokens, self.vocab, self.max_len, c.padding, c.truncating).ids
        return ids or [getattr(self.vocab, "unk_id", 1)]

    def _encode_imported(self, text: str, chars: int) -> Encoded:
        """encode() for an imported model: its framework's start id, cutting side and padding."""
        tokens = vocabs.read_tokens(text, self.tokenizer)
        if not tokens:
            raise InputError("review.no_words")
        c = self.config
        f = vocabs.frame(tokens, self.vocab, self.max_len, c.padding, c.truncating)
        notes = []
        if f.truncated or chars > len(text):
            side = "last" if c.truncating == "pre" else "first"
            notes.append(f"The review was cut to the model's {side} {self.max_len} tokens ({f.truncated} more not read).")
        if any(f.padding):
            notes.append(f"This model reads {sum(f.padding)} padding steps ({'before' if c.padding == 'pre' else 'after'} "
                         "the review), as its framework ran it.")
        return Encoded(f.tokens, f.ids, f.truncated, " ".join(notes), padding=f.padding if c.reads_padding else None)

    def encode(self, text: str) -> Encoded:
        """Tokenize and map to ids as training did; raises InputError when nothing is left to read."""
        chars = len(text) if isinstance(text, str) else 0
        text = check_review(text)
        if self.imported:
            return self._encode_imported(text, chars)
        tokens = tokenize(text, self.tokenizer)
        if not tokens:
            script = other_script(text)
            if script:
                raise InputError("review.other_script", script=script)
            raise InputError("review.no_words")
        notes: list[Note] = []
        lang = guess_language(text)
        if lang in ("en", "zh") and self.language in ("en", "zh") and lang != self.language:
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
MAX_LEN = 100_000  # tokens a model may read


def check_config(cfg: dict, where: Path) -> None:
    """Sizes and kinds in config.json within what a model can be, before anything is allocated:
    CheckpointError naming the field otherwise."""
    model, tokenizer = cfg.get("model"), cfg.get("tokenizer")
    if not isinstance(model, dict) or not isinstance(tokenizer, dict):
        raise CheckpointError("model.config_parts", path=where)
    bow = cfg.get("kind") == BOW  # the bag-of-words reference: no recurrent layer (hidden_size 0), bigram rows
    limits = {"vocab_size": LIMITS["vocab_size"], "num_bigrams": 4 * LIMITS["vocab_size"], "num_classes": 16} if bow else LIMITS
    for name, most in limits.items():
        v = model.get(name)
        if v is None and name != "vocab_size":
            continue
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= most:
            raise CheckpointError("model.field_range", path=where, field=f"model.{name}", value=str(v)[:40], most=most)
    max_len = cfg.get("max_len")
    if not isinstance(max_len, int) or isinstance(max_len, bool) or not 1 <= max_len <= MAX_LEN:
        raise CheckpointError("model.field_range", path=where, field="max_len", value=str(max_len)[:40], most=MAX_LEN)
    language, mode = tokenizer.get("language", "en"), tokenizer.get("mode", "word")
    if language not in spec.LANGUAGES or mode not in ("word", "char") or tokenizer.get("letters", "ascii") not in ("ascii", "latin"):
        *first, last = spec.LANGUAGES
        raise CheckpointError("model.tokenizer", path=where, tokenizer=str(tokenizer)[:80], languages=", ".join(first),
                              last=last)
    if not bow and _parameters(model) > MAX_PARAMETERS:
        raise CheckpointError("model.too_many_parameters", path=where, n=_parameters(model), most=MAX_PARAMETERS)


def _parameters(model: dict) -> int:
    """About how many parameters the config describes (embedding and recurrent layers)."""
    v, e, h = model.get("vocab_size", 1), model.get("embed_dim", 64), model.get("hidden_size", 64)
    layers, d = model.get("num_layers", 1), 2 if model.get("bidirectional", True) else 1
    per_gate = {"lstm": 4, "gru": 3}.get(model.get("cell"), 1)
    return v * e + d * per_gate * h * (e + h + 2) + (layers - 1) * d * per_gate * h * (d * h + h + 2)


def read_model_json(path: Path) -> dict:
    """A model directory's JSON file (config.json, card.json) as an object, within its size limit;
    CheckpointError saying what is wrong."""
    return load_json_object(path, CheckpointError, f"missing (a model directory holds {', '.join(FILES)})",
                            MAX_JSON_BYTES.get(path.name, 4 << 20))


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
    check_config(cfg, d / "config.json")  # sizes before anything is read or built from them
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
    if card.get("weights_sha256") and card["weights_sha256"] != _sha256(wpath):
        raise CheckpointError("model.checksum", path=wpath)
    try:
        state = load_file(str(wpath))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError("model.corrupt", path=wpath, err=e) from None
    model = BagOfWords(config) if isinstance(config, BowConfig) else SentimentRNN(config)
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as e:
        raise CheckpointError("model.weights", path=wpath, err=str(e).splitlines()[0]) from None
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        raise CheckpointError("model.not_finite", path=wpath)
    model.to(device).eval()
    return Checkpoint(model, vocab, tokenizer, max_len, card, str(d), temperature)
