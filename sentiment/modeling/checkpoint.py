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
from sentiment.errors import CheckpointError, InputError
from sentiment.modeling import calibration
from sentiment.modeling.bow import KIND as BOW, BagOfWords, BowConfig, is_bow
from sentiment.modeling.model import ModelConfig, SentimentRNN
from sentiment.data.text import Vocab, check_review, guess_language, tokenize

FILES = ("model.safetensors", "config.json", "vocab.json", "card.json")
FORMAT = 1


@dataclass
class Encoded:
    tokens: list[str]  # the tokens the model reads (after truncation)
    ids: list[int]  # their vocabulary ids
    truncated: int = 0  # tokens dropped past max_len
    note: str = ""  # anything the user should be told (truncation, other language, unknown words)


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

    def encode(self, text: str) -> Encoded:
        """Tokenize and map to ids as training did; raises InputError when nothing is left to read."""
        chars = len(text) if isinstance(text, str) else 0
        text = check_review(text)
        tokens = tokenize(text, self.tokenizer)
        if not tokens:
            raise InputError("No words found in the review (only symbols, emoji or punctuation).")
        notes = []
        lang = guess_language(text)
        names = {"en": "English", "zh": "Chinese"}
        if lang in names and lang != self.language:
            notes.append(
                f"This review looks {names[lang]}, but the model reads {names.get(self.language, self.language)}: "
                "its prediction means little."
            )
        limit = self.read_len
        truncated = max(0, len(tokens) - limit)
        if chars > len(text):  # a huge paste: only its first MAX_CHARS characters were tokenized
            tokens = tokens[:limit]
            notes.append(f"The review was cut to the model's first {len(tokens)} tokens "
                         f"(the rest, {chars - len(text):,} more characters, not read).")
        elif truncated:
            tokens = tokens[:limit]
            notes.append(f"The review was cut to the model's first {limit} tokens ({truncated} more not read).")
        ids = self.vocab.encode(tokens)
        return Encoded(tokens, ids, truncated, " ".join(notes))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")


def save(
    out_dir: str | Path,
    model: SentimentRNN,
    vocab: Vocab,
    tokenizer: dict,
    max_len: int,
    card: dict,
    half: bool = False,
) -> Path:
    """Write a checkpoint directory atomically; refuses to overwrite an existing one."""
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise CheckpointError(f"{out}: already exists and is not empty; a checkpoint is never overwritten")
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


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(f"{path}: missing (a model directory holds {', '.join(FILES)})")
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: corrupt or truncated JSON ({e})") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return obj


def read_card(model_dir: str | Path) -> dict:
    return _read_json(Path(model_dir) / "card.json")


def resolve(model: str | Path) -> Path:
    """A model directory from a path, or from the name of a shipped model (``imdb-lstm-max``) or of a
    run (its id: ``<runs root>/<id>/model``) when no such path exists. CheckpointError if none is."""
    d = Path(model)
    if d.is_dir():
        return d
    name = str(model)
    if name and "/" not in name and "\\" not in name and name not in (".", ".."):
        for candidate in (spec.models_root() / name, spec.runs_root_path() / name / "model"):
            if candidate.is_dir():
                return candidate
    raise CheckpointError(f"{d}: no such model directory (nor a shipped model or run of that name)")


def load(model_dir: str | Path, device: str = "cpu") -> Checkpoint:
    """Load a checkpoint directory for inference (eval mode, float32). CheckpointError names the bad file."""
    d = resolve(model_dir)
    cfg = _read_json(d / "config.json")
    card = _read_json(d / "card.json")
    try:
        vocab = Vocab.from_json((d / "vocab.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{d / 'vocab.json'}: missing (a model directory holds {', '.join(FILES)})") from None
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{d / 'vocab.json'}: corrupt or truncated ({e})") from None
    try:
        config = (BowConfig if cfg.get("kind") == BOW else ModelConfig).from_dict(cfg["model"])
        tokenizer = dict(cfg["tokenizer"])
        max_len = int(cfg["max_len"])
        temperature = calibration.temperature_of(cfg)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"{d / 'config.json'}: incomplete or invalid ({e})") from None
    if config.vocab_size != len(vocab):
        raise CheckpointError(f"{d / 'vocab.json'}: {len(vocab)} tokens, but config.json says {config.vocab_size}")
    wpath = d / "model.safetensors"
    if not wpath.is_file():
        raise CheckpointError(f"{wpath}: missing (a model directory holds {', '.join(FILES)})")
    if card.get("weights_sha256") and card["weights_sha256"] != _sha256(wpath):
        raise CheckpointError(f"{wpath}: corrupt or truncated (its checksum differs from the one in card.json)")
    try:
        state = load_file(str(wpath))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{wpath}: corrupt or truncated ({e})") from None
    model = BagOfWords(config) if isinstance(config, BowConfig) else SentimentRNN(config)
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as e:
        raise CheckpointError(f"{wpath}: weights do not match config.json ({str(e).splitlines()[0]})") from None
    model.to(device).eval()
    return Checkpoint(model, vocab, tokenizer, max_len, card, str(d), temperature)
