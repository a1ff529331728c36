"""The training options, declared once: ``TrainConfig`` (what a run of ``python -m sentiment.train``
is given), its checks (``TrainConfig.validate``), its command line (``parser``, ``to_argv``) and the
"made by" line of a model's card (``made_by``). Torch-free: the background runs
(``sentiment.training.launcher``) validate a run with this schema before any training process starts.
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import asdict, dataclass, field
from typing import Any

from sentiment.errors import GateScopeError
from sentiment.spec import CELLS, POOLINGS

SCHEDULES = ("cosine", "constant")
KEEPS = ("best", "last")
DEVICES = ("auto", "cpu", "cuda")
TRAIN_COMMAND = "python -m sentiment.train"

# The options that shape the model (or its vocabulary), with their defaults when training from scratch.
MODEL_DEFAULTS: dict[str, Any] = dict(cell="lstm", pooling="max", layers=1, hidden=64, embed=64, bidirectional=True,
                                      dropout=0.3, max_len=256, vocab_size=20_000, min_freq=2, tokenizer="word")
# Those fixed by an --init model: given with another value, they are refused.
MODEL_OPTIONS = ("cell", "pooling", "layers", "hidden", "embed", "bidirectional", "max_len", "tokenizer",
                 "vocab_size", "min_freq")
# Lower bounds of the whole-number options (the message names the flag).
AT_LEAST = {"layers": 1, "hidden": 1, "embed": 1, "max_len": 1, "epochs": 1, "batch_size": 1, "vocab_size": 3,
            "patience": 1}
# Not options of a TrainConfig: they say where the run writes and how many CPU threads it uses.
PROCESS_OPTIONS = ("out", "metrics", "threads")


def flag(name: str) -> str:
    """The command-line flag of an option: max_len -> --max-len."""
    return "--" + name.replace("_", "-")


@dataclass
class TrainConfig:
    data: str
    out: str
    format: str | None = None
    # The options that shape the model: None means "not given": the default (MODEL_DEFAULTS), or the
    # --init model's. fit() works on a resolved copy (train.resolve()), where none is None.
    cell: str | None = None
    pooling: str | None = None
    layers: int | None = None
    hidden: int | None = None
    embed: int | None = None
    bidirectional: bool | None = None
    dropout: float | None = None
    max_len: int | None = None
    epochs: int = 5
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.0
    clip: float = 1.0
    schedule: str = "cosine"  # learning rate over the planned epochs: cosine (to 5%) or constant
    patience: int = 2
    vocab_size: int | None = None
    min_freq: int | None = None
    tokenizer: str | None = None  # Chinese: word (jieba) or char
    device: str = "auto"
    limit: int | None = None
    seed: int = 0
    split_seed: int = 0
    half: bool = False  # store weights as float16
    init: str | None = None  # start from this model (directory or shipped name): weights, vocab, architecture
    max_seconds: float | None = None  # stop after the epoch that passes this
    refit: bool = False  # train on train + validation for exactly `epochs` epochs and keep the last weights
    average_last: int = 1  # with refit: keep the mean of the weights after each of the last N epochs
    # share of the training reviews held out (drawn by split_seed, from those --limit drew) to choose the epoch
    # and stop early; validation then only fits the temperature, so calibration is not fitted where the choice was made
    stop_holdout: float = 0.0
    metrics: str | None = None
    bow: bool = False  # train the bag-of-words reference instead (sentiment.training.bow)
    keep: str = "best"  # the weights kept: the best validation epoch's (early stopping), or the last epoch's
    augment: str | None = None  # extra training reviews, comma-separated sources (sentiment.training.augment)
    command: str = ""
    extra_card: dict = field(default_factory=dict)

    def validate(self, check_device: bool = True) -> None:
        """Check the values. A resolved config (train.resolve()) is checked whole; in an unresolved one the
        model options not given (None) are skipped. ``check_device``: also check that a CUDA GPU is here.
        The checks run in this order and the first that fails is the error shown."""
        self._check_model_choices()
        self._check_lower_bounds()
        self._check_optimiser()
        self._check_device(check_device)
        self._check_limits()
        self._check_refit()
        self._check_stop_holdout()
        self._check_keep_and_augment()

    def _check_model_choices(self) -> None:
        if self.cell is not None and self.cell not in CELLS:
            raise GateScopeError("train.one_of", flag="--cell", choices=", ".join(CELLS))
        if self.pooling is not None and self.pooling not in POOLINGS:
            raise GateScopeError("train.one_of", flag="--pooling", choices=", ".join(POOLINGS))

    def _check_lower_bounds(self) -> None:
        for name, lo in AT_LEAST.items():
            value = getattr(self, name)
            if value is not None and int(value) < lo:
                raise GateScopeError("train.at_least", flag=flag(name), lo=lo)

    def _check_optimiser(self) -> None:
        if self.schedule not in SCHEDULES:
            raise GateScopeError("train.either", flag="--schedule", a="cosine", b="constant")
        if not self.lr > 0:
            raise GateScopeError("train.positive", flag="--lr")

    def _check_device(self, check_device: bool) -> None:
        if self.device not in DEVICES:
            raise GateScopeError("train.device", flag="--device", a="auto", b="cpu", c="cuda")
        if check_device and self.device == "cuda" and not _cuda_available():
            raise GateScopeError("train.no_cuda", flag="--device", device="cuda", auto="auto", cpu="cpu")

    def _check_limits(self) -> None:
        """--limit (reviews) and --max-seconds."""
        if self.limit is not None and self.limit < 2:
            raise GateScopeError("train.at_least", flag="--limit", lo=2)
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise GateScopeError("train.positive", flag="--max-seconds")

    def _check_refit(self) -> None:
        """--refit and --average-last."""
        if self.refit and self.max_seconds:
            raise GateScopeError("train.refit_time", refit="--refit", epochs="--epochs", seconds="--max-seconds")
        if not 1 <= self.average_last <= self.epochs:
            raise GateScopeError("train.average_range", flag="--average-last", epochs="--epochs")
        if self.average_last > 1 and not self.refit:
            raise GateScopeError("train.average_refit", flag="--average-last", refit="--refit")

    def _check_stop_holdout(self) -> None:
        if not 0 <= self.stop_holdout < 0.5:
            raise GateScopeError("train.stop_range", flag="--stop-holdout")
        if self.stop_holdout and self.refit:
            raise GateScopeError("train.stop_refit", flag="--stop-holdout", refit="--refit")
        if self.stop_holdout and self.init:
            raise GateScopeError("train.stop_init", flag="--stop-holdout", init="--init")
        if self.stop_holdout and self.bow:
            raise GateScopeError("train.stop_bow", flag="--stop-holdout", bow="--bow")

    def _check_keep_and_augment(self) -> None:
        if self.keep not in KEEPS:
            raise GateScopeError("train.either", flag="--keep", a=KEEPS[0], b=KEEPS[1])
        if self.augment and self.bow:
            raise GateScopeError("train.augment_bow", flag="--augment", bow="--bow")

    def resolved(self) -> bool:
        return all(getattr(self, k) is not None for k in MODEL_DEFAULTS)


def _cuda_available() -> bool:
    import torch  # only asked when --device cuda is given

    return bool(torch.cuda.is_available())


def check_threads(threads: int | None) -> None:
    if threads is not None and threads < 1:
        raise GateScopeError("train.at_least", flag="--threads", lo=1)


def to_argv(cfg: TrainConfig) -> list[str]:
    """The command-line arguments that reproduce a TrainConfig."""
    argv = ["--data", cfg.data, "--out", cfg.out]
    defaults = TrainConfig(data="", out="")
    for k, v in asdict(cfg).items():
        if k in ("data", "out", "command", "extra_card", "metrics") or v == getattr(defaults, k):
            continue
        if cfg.init and k in MODEL_OPTIONS:  # the --init model's (a given value could only have agreed)
            continue
        if isinstance(v, bool):
            argv.append(flag(k) if v else "--no-" + k.replace("_", "-"))
        else:
            argv += [flag(k), str(v)]
    return argv


def parser() -> argparse.ArgumentParser:
    d = TrainConfig(data="", out="")
    ap = argparse.ArgumentParser(prog=TRAIN_COMMAND, description="Train a GateScope sentiment model.")
    ap.add_argument("--data", required=True, help="dataset path (aclImdb folder or .tar.gz, or a label/text CSV), or imdb / hotel")
    ap.add_argument("--out", required=True, help="checkpoint directory to create (must not exist)")
    ap.add_argument("--format", choices=["imdb", "csv"], default=None)
    m = MODEL_DEFAULTS
    own = "; with --init, the model's"
    ap.add_argument("--cell", choices=CELLS, default=None, help=f"default {m['cell']}{own}")
    ap.add_argument("--pooling", choices=POOLINGS, default=None, help=f"default {m['pooling']}{own}")
    ap.add_argument("--layers", type=int, default=None, help=f"default {m['layers']}{own}")
    ap.add_argument("--hidden", type=int, default=None, help=f"units per direction; default {m['hidden']}{own}")
    ap.add_argument("--embed", type=int, default=None, help=f"default {m['embed']}{own}")
    ap.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=None,
                    help=f"default bidirectional{own}")
    ap.add_argument("--dropout", type=float, default=None, help=f"default {m['dropout']}{own} (may be changed)")
    ap.add_argument("--max-len", type=int, default=None, help=f"tokens read per review; default {m['max_len']}{own}")
    ap.add_argument("--epochs", type=int, default=d.epochs)
    ap.add_argument("--batch-size", type=int, default=d.batch_size)
    ap.add_argument("--lr", type=float, default=d.lr)
    ap.add_argument("--weight-decay", type=float, default=d.weight_decay)
    ap.add_argument("--clip", type=float, default=d.clip)
    ap.add_argument("--schedule", choices=SCHEDULES, default=d.schedule)
    ap.add_argument("--patience", type=int, default=d.patience)
    ap.add_argument("--vocab-size", type=int, default=None, help=f"default {m['vocab_size']}; with --init, the model's vocabulary")
    ap.add_argument("--min-freq", type=int, default=None, help=f"default {m['min_freq']}; not with --init")
    ap.add_argument("--tokenizer", choices=["word", "char"], default=None,
                    help=f"Chinese: jieba words or characters; default {m['tokenizer']}{own}")
    ap.add_argument("--device", choices=DEVICES, default=d.device)
    ap.add_argument("--limit", type=int, default=None, help="train on N reviews drawn by the seed")
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--split-seed", type=int, default=d.split_seed)
    ap.add_argument("--half", action=argparse.BooleanOptionalAction, default=d.half, help="store weights as float16")
    ap.add_argument("--init", default=None, metavar="MODEL",
                    help="retrain: start from this model (a model directory or a shipped model's name): its weights, "
                         "vocabulary, tokenizer and architecture")
    ap.add_argument("--max-seconds", type=float, default=None)
    ap.add_argument("--refit", action="store_true",
                    help="train on the training and validation reviews for exactly --epochs epochs (no early "
                         "stopping; pick --epochs from an earlier run's best epoch) and keep the last weights")
    ap.add_argument("--average-last", type=int, default=d.average_last, metavar="N",
                    help="with --refit: keep the mean of the weights after each of the last N epochs (default 1: the last)")
    ap.add_argument("--stop-holdout", type=float, default=d.stop_holdout, metavar="SHARE",
                    help="hold this share of the training reviews out to choose the epoch and stop early; the "
                         "validation reviews then only fit the temperature (default 0: validation does both)")
    ap.add_argument("--metrics", default=None, help="append progress events to this JSON-lines file")
    ap.add_argument("--bow", action=argparse.BooleanOptionalAction, default=False,
                    help="train the bag-of-words reference (word 1-2 grams, logistic regression); with --init, "
                         "that model's tokenizer and vocabulary")
    ap.add_argument("--keep", choices=KEEPS, default=d.keep,
                    help="the weights kept: the best validation epoch's (default; early stopping by --patience) or "
                         "the last epoch's (validation then chooses nothing and only fits the temperature)")
    ap.add_argument("--augment", default=None, metavar="SOURCES",
                    help="extra training reviews, comma-separated: cad:PATH (counterfactual pairs, train/dev "
                         "files), cad-sentences:PATH (the sentences their edits changed), contrast (short "
                         "training reviews joined by but/虽然...但是); validation and test stay the dataset's")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    return ap


def options() -> dict[str, argparse.Action]:
    """The options of ``python -m sentiment.train`` by name (data, cell, max_len, ...), as the parser declares them."""
    return {a.dest: a for a in parser()._actions if a.dest != "help"}


def is_switch(action: argparse.Action) -> bool:
    """An on/off option (--half / --no-half, --refit) rather than one that takes a value."""
    return action.nargs == 0


def made_by(command: str, out: str | None = None) -> str:
    """A card's command as a person can rerun it: an option given twice is shown once (its last value,
    the one that counted) and ``--out`` names ``out`` (the model's folder) instead of the temporary
    folder it was trained in."""
    try:
        words = shlex.split(command or "")
    except ValueError:
        return command
    prefix = shlex.split(TRAIN_COMMAND)
    if words[: len(prefix)] != prefix:
        return command
    known = options()
    pairs: list[list[str]] = []  # [flag] or [flag, value], last occurrence wins, in first-seen order
    args = words[len(prefix):]
    i = 0
    while i < len(args):
        word = args[i]
        dest = word[2:].replace("-", "_")
        takes = dest in known and not is_switch(known[dest]) and "=" not in word
        item = args[i: i + 2] if takes else [word]
        i += len(item)
        if out is not None and dest == "out" and len(item) == 2:
            item = ["--out", out]
        same = next((p for p in pairs if p[0] == item[0]), None)
        if same is not None and word.startswith("--"):
            same[:] = item
        else:
            pairs.append(item)
    return " ".join([TRAIN_COMMAND] + [shlex.quote(w) for p in pairs for w in p])
