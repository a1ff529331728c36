"""Conversion: a PyTorch, Keras or PaddlePaddle file -> a GateScope checkpoint directory.

CLI: ``python -m sentiment.convert SOURCE --out DIR [--vocab FILE] [--recipe FILE]
[--tokenizer word|char|list|keras] [--max-len N] [--padding pre|post|masked] [--truncating pre|post]
[--index-from K] [--reduction final_states|last_step|max|mean] [--tanh yes|no]
[--hidden-activation relu|tanh|sigmoid|linear] [--padding-idx N|none] [--check EXAMPLES [--force]]``.
The framework is told from the file; the detected structure is printed with every fact of how the
model ran and where it came from (read from the file, given here, or assumed: ``Structure.sources``);
a flag that contradicts the file is refused, naming both. The checkpoint's card records
``"imported": {"framework", "file", "sha256", "recipe", "facts": {fact: {"value", "source", "why"}}}``.
Every check runs before anything is written, and the directory appears only when complete
(checkpoint.save).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import torch

from sentiment.data import vocabs
from sentiment.errors import GateScopeError, InputError
from sentiment.interop import bounds, keras_reader, paddle_reader, sandbox, torch_reader, verify
from sentiment.interop import recipe as recipes
from sentiment.interop.structure import Structure, detect
from sentiment.modeling import checkpoint
from sentiment.modeling.model import SentimentRNN
from sentiment.spec import IMPORT_FORMATS, READ_LIMIT

MAX_BYTES = 1 << 30  # 1 GiB: a larger upload is refused before it is read
_EXT = {ext: f.reader for ext, f in IMPORT_FORMATS.items()}  # extension -> framework


def read_bytes(path: str | Path) -> bytes:
    """A model file's bytes; InputError for a missing, empty or too large file (checked before reading)."""
    p = Path(path)
    if not p.is_file():
        raise InputError("interop.no_file", path=p)
    size = p.stat().st_size
    if size > MAX_BYTES:
        raise InputError("interop.too_big", file=p.name, size=size / 2**30, most=MAX_BYTES / 2**30, unit="GiB")
    if size == 0:
        raise InputError("interop.empty", file=p.name)
    return p.read_bytes()


def framework_of(name: str, data: bytes, hint: str | None = None) -> str:
    """"keras" | "pytorch" | "paddle", from the recipe, the extension, or the file's first bytes."""
    if hint:
        return hint
    ext = Path(name).suffix.lower()
    if ext in _EXT:
        return _EXT[ext]
    if data[:8] == b"\x89HDF\r\n\x1a\n":
        return "keras"
    if data[:2] == b"PK":
        try:  # the member list only, bounded as every reader's (nothing is unpacked)
            names = bounds.open_zip(data, name).namelist()
        except (zipfile.BadZipFile, GateScopeError):
            names = []
        return "keras" if "config.json" in names else "pytorch"
    if data[:1] == b"\x80":
        return "paddle"
    *first, last = IMPORT_FORMATS
    raise InputError("interop.framework", file=name, extensions=", ".join(first), last=last)


def read_structure(data: bytes, name: str, recipe: dict, vocab: str | Path | None = None) -> Structure:
    """The structure of a model file's bytes, with the recipe applied, parsed in a limited child process
    (sandbox.read); its ``vocab`` is the vocabulary file's when one is given, else the file's own."""
    return sandbox.read(data, name, recipe, vocab)


@bounds.messages_only("model file")
def structure_here(data: bytes, name: str, recipe: dict) -> Structure:
    """The structure of a model file's bytes, with the recipe applied, parsed in this process: only the
    sandbox's child calls it on a user's file."""
    fw = framework_of(name, data, recipe.get("framework"))
    if fw == "keras":
        kf = keras_reader.read_keras3(data) if data[:2] == b"PK" else keras_reader.read_legacy_h5(data)
        s = keras_reader.structure(kf)
    else:
        modules: dict = {}
        named, notes = torch_reader.read(data, name, modules) if fw == "pytorch" else paddle_reader.read(data, name)
        s = detect(named, fw, recipe, modules)
        s.found[:0] = notes
    recipes.apply(s, recipe)  # each fact's source (Structure.sources): read, given or assumed
    if s.vocab is not None:  # the file's own (a TextVectorization layer's)
        recipes.settle_vocab(s, s.vocab, recipe)
    return s


@bounds.messages_only("vocabulary file")
def build_vocab(s: Structure, vocab_path: str | Path | None, recipe: dict):
    """The model's vocabulary (a vocabulary file's, else the model file's own), with where its ids came
    from recorded on the structure (recipe.settle_vocab)."""
    v = recipe.get("vocab", {})
    if vocab_path is not None:
        vocab = vocabs.read_vocab_file(vocab_path, s.vocab_size, v.get("index_from"),
                                       {k: x for k, x in v.items() if k != "index_from"})
        return recipes.settle_vocab(s, vocab, recipe, vocab_path)
    if s.vocab is not None:
        return recipes.settle_vocab(s, s.vocab, recipe)
    raise InputError("interop.needs_vocab", option="--vocab FILE", example="imdb_word_index.json")


def convert(source: str | Path, out: str | Path, vocab: str | Path | None = None, recipe: dict | None = None,
            name: str | None = None, check: object = None, force: bool = False) -> tuple[Path, Structure]:
    """Write a checkpoint directory from a model file. InputError / CheckpointError, nothing written.
    ``check``: a few of the framework's own outputs (an examples file, pasted JSON lines or a list;
    sentiment.interop.verify): the reading of the assumed facts that reproduces them is written, and
    nothing when none does unless ``force`` (the card then says the model is unverified)."""
    recipe = recipes.check(dict(recipe or {}))
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError("interop.out_exists", path=out)
    data = read_bytes(source)
    fname = name or Path(source).name
    s = read_structure(data, fname, recipe, vocab)
    if s.vocab is None:
        raise InputError("interop.needs_vocab", option="--vocab FILE", example="imdb_word_index.json")
    v = s.vocab
    checked = verify.run_check(s, v, check, recipe) if check is not None else None
    if checked is not None and checked.reproduced:  # the reading that reproduces the examples
        s, v = checked.structure, checked.vocab
    elif checked is not None and not force:
        raise verify.refusal(checked)
    model = SentimentRNN(s.model_config())
    try:
        model.load_state_dict(s.state)
    except RuntimeError as e:
        raise InputError("interop.no_recipe_fits", err=str(e).splitlines()[0]) from None
    model.eval()
    T = s.max_len if s.padding != "none" else 1
    with torch.no_grad():
        logits = model(torch.full((1, T), v.pad_id, dtype=torch.long), torch.tensor([T]))  # [1, 2]
    if not torch.isfinite(logits).all():
        raise InputError("interop.not_finite")
    card = {
        "imported": {"framework": s.framework, "file": fname, "sha256": hashlib.sha256(data).hexdigest(),
                     "recipe": recipe, "head": s.head, "structure": s.describe().splitlines(),
                     "facts": s.facts(), "tokenizer": s.tokenizer},
        "dataset": "imported",  # the model pickers group imported models under this name
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__,
    }
    tokenizer = s.tokenizer or recipes.tokenizer_spec(recipe, s.framework)
    card.update(verify.card_entries(checked, model, v, tokenizer, s.max_len, force))
    path = checkpoint.save(out, model, v, tokenizer, s.max_len, card)
    return path, s


def _padding_idx(text: str) -> int | None:
    if text.strip().lower() in ("none", "null"):
        return None
    try:
        return int(text)
    except ValueError:
        raise InputError("facts.padding_idx_flag", value=text[:40], flag="--padding-idx", none="none") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sentiment.convert", description=__doc__.splitlines()[0])
    ap.add_argument("source", help="model file: " + ", ".join(IMPORT_FORMATS))
    ap.add_argument("--out", required=True, help="checkpoint directory to write (must not exist)")
    ap.add_argument("--vocab", help="vocabulary: Keras word index JSON, JSON word -> id, or one token per line")
    ap.add_argument("--recipe", help="JSON recipe for what detection cannot know (see sentiment.interop.recipe)")
    ap.add_argument("--tokenizer", choices=list(recipes.CHOICES["tokenizer"]),
                    help="word: GateScope's words; char: its Chinese characters; list: Python's list(text); "
                         "keras: Keras' Tokenizer (filters, lower case, split on spaces)")
    ap.add_argument("--max-len", type=int, help=f"the fixed length the model was fed (1 to {READ_LIMIT})")
    ap.add_argument("--padding", choices=["pre", "post", "masked"])
    ap.add_argument("--truncating", choices=["pre", "post"])
    ap.add_argument("--index-from", type=int, help="a Keras word index's offset (imdb.load_data's index_from, 3)")
    ap.add_argument("--reduction", choices=list(recipes.CHOICES["reduction"]),
                    help="final_states: cat(hidden[-2], hidden[-1]); last_step: out[:, -1]; max / mean over time")
    ap.add_argument("--tanh", choices=["yes", "no"], help="whether forward() applied tanh to the outputs before the reduction")
    ap.add_argument("--hidden-activation", choices=list(recipes.CHOICES["hidden_activation"]))
    ap.add_argument("--padding-idx", help="Paddle's Embedding(padding_idx=N): that id looks up zeros; none for no padding_idx")
    ap.add_argument("--check", metavar="EXAMPLES",
                    help="JSON lines of your framework's own outputs ({\"text\": ..., \"positive\": P}, optional "
                         "\"logits\" and \"ids\"): the assumed facts are found by reproducing them")
    ap.add_argument("--force", action="store_true", help="with --check: convert even when no reading reproduces "
                    "the examples (the model is marked unverified)")
    args = ap.parse_args(argv)
    try:
        recipe = recipes.read(args.recipe)
        for key in ("tokenizer", "max_len", "padding", "truncating", "reduction", "hidden_activation"):
            if getattr(args, key) is not None:
                recipe[key] = getattr(args, key)
        if args.tanh is not None:
            recipe["tanh"] = args.tanh == "yes"
        if args.padding_idx is not None:
            recipe["padding_idx"] = _padding_idx(args.padding_idx)
        if args.index_from is not None:
            recipe["vocab"] = {**recipe.get("vocab", {}), "index_from": args.index_from}
        path, s = convert(args.source, args.out, args.vocab, recipe, check=args.check, force=args.force)
    except GateScopeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (Exception, RecursionError) as e:  # noqa: BLE001 - one line for any file, never a traceback
        print(f"error: {InputError('interop.unexpected', err=type(e).__name__)}", file=sys.stderr)
        return 2
    print(s.describe())
    print(verify.summary(checkpoint.read_card(path), "en", s.assumed()))
    print(f"wrote {path}")
    return 0
