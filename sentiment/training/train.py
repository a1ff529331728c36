"""Training: a plain loop (Adam, clipping, early stopping on validation accuracy, AMP on CUDA)
that writes a checkpoint directory. CLI: ``python -m sentiment.train --data PATH ... --out DIR``; its
options are declared once, in ``sentiment.training.config`` (TrainConfig, its checks, the parser).

The steps of ``fit``: ``prepare`` (read, split, tokenize, encode) -> ``build_model`` -> ``start_session``
(device, DDP, Adam, the ``lr_factor`` schedule, AMP) -> ``run_epochs`` (``train_epoch`` of ``train_step``s,
validation, ``keep_best`` or ``keep_refit``, ``should_stop``) -> test -> ``make_card`` -> checkpoint.

Multi-GPU (or multi-process CPU): ``torchrun --nproc_per_node N -m sentiment.train ...`` trains with
DistributedDataParallel, each rank taking its share of the length buckets; only rank 0 writes.

Progress goes to stderr as a bar; with ``--metrics FILE`` every step and epoch is also appended to
FILE as a JSON line (the background-run page reads it).

Retraining: ``--init MODEL`` (a model directory, or a shipped model's name) starts from that model's
weights (float16 ones are loaded as float32), vocabulary, tokenizer and architecture. The options
that shape the model (MODEL_OPTIONS) then default to the model's; one given with another value is
refused before anything trains, and so is data in another language than the model's. The new card
records ``"init": {"model": <name or path>, "sha256": <the init weights' sha256>}``.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import platform
import random
import re
import shlex
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sentiment.data import batching, readers
from sentiment.data.text import Vocab, guess_language, tokenize
from sentiment.errors import CheckpointError, DataError, GateScopeError
from sentiment.i18n import Note
from sentiment.modeling import catalog, checkpoint
from sentiment.modeling.model import ModelConfig, SentimentRNN
from sentiment.spec import LANGUAGES, READ_LIMIT, RUN_DIR_ENV
from sentiment.training import augment, calibrate
from sentiment.training.config import MODEL_DEFAULTS, MODEL_OPTIONS, TRAIN_COMMAND, TrainConfig, check_threads, parser, to_argv
from sentiment.training.evaluate import encode_examples, logits_ids, metrics, predict_ids

Event = dict
Callback = Callable[[Event], None]


@dataclass
class InitModel:
    """The model a run starts from: the loaded checkpoint and what the new card records of it."""

    checkpoint: checkpoint.Checkpoint
    path: Path
    model: str  # a shipped model's name, else the directory's absolute path
    sha256: str  # of its model.safetensors (checked against its card when loading)

    def card(self) -> dict:
        return {"model": self.model, "sha256": self.sha256}


def find_init(spec: str) -> Path:
    """The model directory of --init: a path, or the name of a shipped model (assets/models)."""
    p = Path(spec).expanduser()
    if p.is_dir():
        return p.resolve()
    shipped = catalog.models_root() / spec
    if spec and "/" not in spec and shipped.is_dir():
        return shipped.resolve()
    raise GateScopeError("train.init_not_found", flag="--init", spec=spec, folder=catalog.models_root())


def load_init(spec: str) -> InitModel:
    """Load the --init model (float32 on the CPU, whatever it was stored as); CheckpointError if it cannot be."""
    path = find_init(spec)
    try:
        ckpt = checkpoint.load(path)
    except GateScopeError as e:
        raise CheckpointError("train.init_unusable", flag="--init", spec=spec, cause=e) from None
    sha = ckpt.card.get("weights_sha256") or hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()
    name = path.name if path.parent == catalog.models_root().resolve() else str(path)
    return InitModel(ckpt, path, name, str(sha))


def init_values(ckpt: checkpoint.Checkpoint) -> dict[str, Any]:
    """The model-shaping options as the checkpoint has them (MODEL_OPTIONS, and its dropout)."""
    c = ckpt.config
    return dict(cell=c.cell, pooling=c.pooling, layers=c.num_layers, hidden=c.hidden_size, embed=c.embed_dim,
                bidirectional=c.bidirectional, max_len=ckpt.max_len, dropout=c.dropout,
                tokenizer=ckpt.tokenizer.get("mode", "word"), vocab_size=len(ckpt.vocab))


def init_conflicts(options: Mapping[str, Any], ckpt: checkpoint.Checkpoint) -> list[str]:
    """The given options that contradict the checkpoint, one phrase each ([] when none do).
    ``options`` maps option names (cell, hidden, ...) to values; None or a missing key is "not given"."""
    have = init_values(ckpt)
    out = []
    for key in MODEL_OPTIONS:
        value = options.get(key)
        if value is None:
            continue
        flag = "--" + key.replace("_", "-")
        if key == "min_freq":
            out.append(f"{flag} {value}: the vocabulary is the model's ({have['vocab_size']:,} tokens), it is not rebuilt")
        elif key == "tokenizer" and ckpt.language != "zh":
            continue  # English is always read word by word, as without --init
        elif key == "bidirectional" and bool(value) != have[key]:
            out.append(("--bidirectional" if value else "--no-bidirectional")
                       + f": the model is {'bidirectional' if have[key] else 'one-directional'}")
        elif key != "bidirectional" and str(value) != str(have[key]):
            out.append(f"{flag} {value}: the model has {have[key]}")
    return out


def resolve(cfg: TrainConfig, init: InitModel | None = None) -> TrainConfig:
    """A copy of ``cfg`` with every model option filled in: the given value, else the --init model's,
    else the default. Raises GateScopeError when a given one contradicts the --init model."""
    if init is None:
        return replace(cfg, **{k: v for k, v in MODEL_DEFAULTS.items() if getattr(cfg, k) is None})
    conflicts = init_conflicts(asdict(cfg), init.checkpoint)
    if conflicts:
        raise GateScopeError("train.init_conflicts", flag="--init", spec=cfg.init, conflicts="; ".join(conflicts))
    have = init_values(init.checkpoint)
    return replace(cfg, **{k: have.get(k, MODEL_DEFAULTS[k]) for k in MODEL_DEFAULTS if getattr(cfg, k) is None})


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def resolve_data(path: str) -> Path:
    """A path, or a known dataset name (imdb, hotel) looked up in the data folders."""
    p = Path(path)
    if p.exists():
        return p
    found = readers.find_dataset(path)
    if found is None:
        raise GateScopeError("train.no_dataset", path=path, folders=", ".join(map(str, readers.data_dirs())))
    return found


def dist_setup(device_name: str) -> tuple[int, int, int]:
    """(rank, world size, local rank). Under torchrun (WORLD_SIZE > 1) joins the process group:
    NCCL on CUDA, gloo on the CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and device_name != "cpu"
    if cuda:
        torch.cuda.set_device(local)
    torch.distributed.init_process_group("nccl" if cuda else "gloo")
    return torch.distributed.get_rank(), world, local


def _agree(flag: bool, world: int, device: torch.device) -> bool:
    """True on every rank if it is True on any (so all ranks stop together)."""
    if world == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return bool(t.item())


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


class Progress:
    """A one-line progress bar on stderr (a line per epoch when stderr is not a terminal)."""

    def __init__(self, total: int, epoch: int, epochs: int, quiet: bool = False):
        self.total, self.epoch, self.epochs, self.quiet = total, epoch, epochs, quiet
        self.tty = sys.stderr.isatty()
        self.t0 = time.time()

    def say(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr)

    def update(self, step: int, loss: float, acc: float) -> None:
        if self.tty and not self.quiet:
            n = int(30 * step / self.total)
            sys.stderr.write(f"\repoch {self.epoch}/{self.epochs} [{'#' * n}{'.' * (30 - n)}] {step}/{self.total} loss {loss:.4f} acc {acc:.3f} {time.time() - self.t0:.0f}s")
            sys.stderr.flush()

    def close(self, text: str) -> None:
        if self.quiet:
            return
        sys.stderr.write(("\r" if self.tty else "") + text + " " * 10 + "\n")
        sys.stderr.flush()


def _emit(event: Event, path: str | None, callback: Callback | None) -> None:
    event = dict(event, time=time.time())
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(event) + "\n")
    if callback:
        callback(event)


LANGUAGE_NAMES = LANGUAGES  # the languages a message names (error.language.<code> in the string tables)
DETAILS = "details.txt"  # in a background run's folder: its full error message (keep_details)


def language_name(code: str | None) -> Note | str | None:
    """A language's name in messages, translated with them (a Note), or the code itself when unknown."""
    return Note(f"language.{code}") if code in LANGUAGE_NAMES else code


def prepare(
    cfg: TrainConfig, init: InitModel | None = None
) -> tuple[readers.Splits, dict, Vocab, dict[str, tuple[list[list[int]], list[int]]]]:
    """Read, split, tokenize, build the vocabulary (or take the --init model's) and encode every split.
    ``cfg`` is resolved (see resolve())."""
    path = resolve_data(cfg.data)
    raw = readers.load(path, cfg.format)
    splits = readers.limit(readers.split(raw, seed=cfg.split_seed), cfg.limit, cfg.seed)
    splits, stop = readers.hold_out(splits, cfg.stop_holdout, cfg.split_seed)
    sample = " ".join(t for t, _ in splits.train[:200])
    language = "zh" if guess_language(sample) == "zh" else "en"
    if cfg.augment:  # extra reviews join the training split only; validation and test stay the dataset's
        extra, splits.info["augment"] = augment.extra_examples(cfg.augment.split(","), splits.train, language, cfg.seed)
        splits.train = splits.train + extra
    if init is not None:
        spec = dict(init.checkpoint.tokenizer)
        if spec.get("language", "en") != language:
            raise GateScopeError("train.init_language", flag="--init", spec=cfg.init, file=Path(cfg.data).name,
                                 model=language_name(spec.get("language", "en")), data=language_name(language))
        vocab = init.checkpoint.vocab
        train_tokens = [tokenize(t, spec) for t, _ in splits.train]
    else:
        spec = {"language": language, "mode": cfg.tokenizer} if language == "zh" else \
            {"language": language, "mode": "word", "letters": "latin"}
        train_tokens = [tokenize(t, spec) for t, _ in splits.train]
        vocab = Vocab.build(train_tokens, cfg.min_freq, cfg.vocab_size)
    encoded = {
        "train": ([vocab.encode(tok[: cfg.max_len]) or [1] for tok in train_tokens], [y for _, y in splits.train]),
        "val": encode_examples(splits.val, vocab, spec, cfg.max_len),
        "test": encode_examples(splits.test, vocab, spec, max(cfg.max_len, READ_LIMIT)),  # read whole, as evaluate does
    }
    if stop:  # held out of training to choose the epoch (--stop-holdout); validation then only calibrates
        encoded["stop"] = encode_examples(stop, vocab, spec, cfg.max_len)
    if cfg.refit:  # the validation reviews join the training set (the vocabulary stays the train split's)
        (tx, ty), (vx, vy) = encoded["train"], encoded["val"]
        encoded["train"] = (tx + vx, ty + vy)
    splits.info["data_path"] = str(path)
    return splits, spec, vocab, encoded


def fit(cfg: TrainConfig, callback: Callback | None = None) -> dict:
    """Train, keep the best weights by validation accuracy, test them, write the checkpoint. Returns the card.
    With ``cfg.init`` training starts from that model (checked, like every option, before anything trains)."""
    if cfg.bow:  # the bag-of-words reference: its own module (init = the model whose vocabulary it takes)
        from sentiment.training import bow
        cfg.validate(check_device=False)  # the options it shares (it trains on the CPU whatever --device says)
        return bow.fit(cfg, callback)
    t_start = time.time()
    init = load_init(cfg.init) if cfg.init else None
    cfg = resolve(cfg, init)
    cfg.validate()
    out = Path(cfg.out)
    if out.exists() and any(out.iterdir()):
        raise GateScopeError("train.out_exists", path=out, flag="--out")
    rank, world, local = dist_setup(cfg.device)
    try:
        return _fit(cfg, callback, rank, world, local, out, t_start, init)
    finally:
        if world > 1:
            torch.distributed.destroy_process_group()


def lr_factor(schedule: str, step: int, total_steps: int) -> float:
    """The learning rate after ``step`` optimizer steps, as a fraction of --lr. cosine: from 1 down to 0.05
    over the planned ``total_steps`` (then flat); constant: always 1."""
    if schedule != "cosine":
        return 1.0
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps))


@dataclass
class Session:
    """What one training process works with: the model (``net`` is its DDP wrapper, or the model), the
    optimizer and its schedule, the device, and where progress goes (only rank 0 reports)."""

    cfg: TrainConfig
    device: torch.device
    model: SentimentRNN
    net: nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    rank: int
    world: int
    metrics_path: str | None
    callback: Callback | None
    step: int = 0  # optimizer steps so far, over all epochs

    @property
    def lead(self) -> bool:
        return self.rank == 0

    @property
    def use_amp(self) -> bool:
        return self.device.type == "cuda"

    def emit(self, event: Event) -> None:
        _emit(event, self.metrics_path, self.callback)


@dataclass
class Kept:
    """The weights a run keeps: the best epoch's by validation accuracy (or, with --stop-holdout, by the
    held-out training reviews' accuracy), or (refit) the last epochs' mean."""

    state: dict | None = None
    acc: float | None = -1.0
    epoch: int = 0
    bad_epochs: int = 0  # epochs since validation accuracy last improved


def build_model(cfg: TrainConfig, init: InitModel | None, vocab: Vocab) -> SentimentRNN:
    """A new model (seeded by --seed), or the --init model's architecture and weights with this run's dropout."""
    if init is not None:  # the init model's architecture (attention size included)
        mcfg = replace(init.checkpoint.config, dropout=cfg.dropout)
    else:
        mcfg = ModelConfig(
            vocab_size=len(vocab), embed_dim=cfg.embed, hidden_size=cfg.hidden, num_layers=cfg.layers,
            bidirectional=cfg.bidirectional, cell=cfg.cell, pooling=cfg.pooling, dropout=cfg.dropout,
        )
    seed_everything(cfg.seed)
    model = SentimentRNN(mcfg)
    if init is not None:
        model.load_state_dict(init.checkpoint.model.state_dict())  # float32 (checkpoint.load upcasts float16)
    return model


def start_session(cfg: TrainConfig, model: SentimentRNN, device: torch.device, steps_per_epoch: int, rank: int,
                  world: int, local: int, callback: Callback | None) -> Session:
    """Move the model to the device (wrapped in DistributedDataParallel under torchrun: same initial weights
    on every rank, gradients averaged) and set up Adam, the learning-rate schedule and AMP."""
    model = model.to(device)
    net: nn.Module = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[local] if device.type == "cuda" else None)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda")
    if device.type == "cuda":
        torch.backends.cudnn.enabled = True  # cudnn.benchmark stays off: bucketed batches vary in length
    total_steps = max(1, cfg.epochs * (steps_per_epoch // world))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: lr_factor(cfg.schedule, k, total_steps))
    lead = rank == 0
    return Session(cfg, device, model, net, opt, sched, scaler, rank, world,
                   cfg.metrics if lead else None, callback if lead else None)


def epoch_batches(s: Session, lengths: list[int], epoch: int) -> list[list[int]]:
    """This epoch's length-bucketed batches (shuffled by --seed and the epoch); under torchrun this rank's
    share (a distributed sampler over the buckets, equal counts on every rank)."""
    batches = batching.bucket_batches(lengths, s.cfg.batch_size, shuffle=True, seed=s.cfg.seed * 1000 + epoch)
    if s.world > 1:
        batches = batches[: max(s.world, len(batches) // s.world * s.world)][s.rank::s.world]
    return batches


def train_step(s: Session, ids: torch.Tensor, lens: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on a batch (ids [B, T], lens [B], y [B]): forward (AMP on CUDA), backward, clip,
    step, schedule. ``y`` is on the model's device. Returns (loss, logits [B, 2]), still on the device."""
    with torch.autocast(s.device.type, dtype=torch.float16, enabled=s.use_amp):
        logits = s.net(ids, lens)
        loss = LOSS(logits.float(), y)
    s.opt.zero_grad(set_to_none=True)
    s.scaler.scale(loss).backward()
    s.scaler.unscale_(s.opt)
    nn.utils.clip_grad_norm_(s.model.parameters(), s.cfg.clip)
    s.scaler.step(s.opt)
    s.scaler.update()
    s.sched.step()
    s.step += 1
    return loss, logits


LOSS = nn.CrossEntropyLoss()


def report_every(batches: int) -> int:
    """How often (in batches) an epoch reports a step: every batch of a short epoch, so even a one-epoch
    run draws a curve, and about 50 points of a long one."""
    return max(1, batches // 50)


def train_epoch(s: Session, batches: list[list[int]], train: tuple[list[list[int]], torch.Tensor], epoch: int,
                bar: Progress) -> tuple[float, float]:
    """One pass over this epoch's batches; returns the epoch's mean (loss, accuracy) on the training reviews."""
    s.model.train()
    train_x, labels = train
    tot_loss = torch.zeros((), device=s.device)  # summed on the device: no sync per step
    tot_correct = torch.zeros((), device=s.device)
    tot_n = 0
    every = report_every(len(batches))
    for bi, batch in enumerate(batches, 1):
        ids, lens = batching.collate([train_x[i] for i in batch])
        y = labels[batch]
        if s.device.type == "cuda":
            ids, y = ids.pin_memory().to(s.device, non_blocking=True), y.pin_memory().to(s.device, non_blocking=True)
        loss, logits = train_step(s, ids, lens, y)
        tot_loss += loss.detach().float() * len(batch)
        tot_correct += (logits.argmax(1) == y).sum()
        tot_n += len(batch)
        if bi % every == 0 or bi == len(batches):
            avg_loss, avg_acc = tot_loss.item() / tot_n, tot_correct.item() / tot_n
            bar.update(bi, avg_loss, avg_acc)
            s.emit({"type": "step", "epoch": epoch, "step": s.step, "batch": bi, "batches": len(batches),
                    "loss": avg_loss, "acc": avg_acc})
    return avg_loss, avg_acc


def keep_best(s: Session, kept: Kept, epoch: int, val_acc: float) -> None:
    """Keep the weights of the epoch with the best validation accuracy; count the epochs without progress."""
    if val_acc > kept.acc:
        kept.acc, kept.epoch, kept.bad_epochs = val_acc, epoch, 0
        kept.state = {k: v.detach().clone() for k, v in s.model.state_dict().items()}
    else:
        kept.bad_epochs += 1


def keep_refit(s: Session, kept: Kept, epoch: int) -> None:
    """A refit keeps the last epoch's weights, or the running mean over the last --average-last epochs."""
    cfg = s.cfg
    kept.epoch, kept.acc = epoch, None
    k = epoch - (cfg.epochs - cfg.average_last)  # 1..average_last over the last epochs
    if k >= 1:
        now = {n: v.detach().clone() for n, v in s.model.state_dict().items()}
        kept.state = now if k == 1 else {
            n: kept.state[n] + (v - kept.state[n]) / k if v.is_floating_point() else v for n, v in now.items()}


def should_stop(s: Session, kept: Kept, epoch: int, t_start: float, bar: Progress, held: bool = False) -> bool:
    """Early stopping (--patience) and the time limit (--max-seconds), agreed by every rank. ``held``: the
    epoch is chosen on held-out training reviews (--stop-holdout), not on validation."""
    cfg = s.cfg
    if _agree(kept.bad_epochs >= cfg.patience, s.world, s.device):
        on = "held-out training reviews' (--stop-holdout)" if held else "validation"
        bar.say(f"early stop: {on} accuracy has not improved for {cfg.patience} epochs")
        return True
    if _agree(bool(cfg.max_seconds) and time.time() - t_start > cfg.max_seconds, s.world, s.device):
        bar.say(f"time limit of {cfg.max_seconds:.0f}s reached after epoch {epoch}")
        return True
    return False


def run_epochs(s: Session, enc: dict, t_start: float) -> tuple[Kept, list[dict]]:
    """The epochs: train, measure on the validation reviews, keep the best (or refit) weights, stop early
    when told to. Returns the kept weights and one record per epoch."""
    cfg = s.cfg
    train_x, train_y = enc["train"]
    lengths, labels = [len(x) for x in train_x], torch.tensor(train_y)
    kept, history = Kept(), []
    for epoch in range(1, cfg.epochs + 1):
        batches = epoch_batches(s, lengths, epoch)
        bar = Progress(len(batches), epoch, cfg.epochs, quiet=not s.lead)
        loss, acc = train_epoch(s, batches, (train_x, labels), epoch, bar)
        val_acc = None if cfg.refit else accuracy(s, enc["val"])  # a refit has no held-out reviews
        rec = {"type": "epoch", "epoch": epoch, "train_loss": loss, "train_acc": acc, "val_acc": val_acc,
               "seconds": time.time() - t_start}
        if "stop" in enc:  # the epoch is chosen on the held-out training reviews, not on validation
            rec["stop_acc"] = accuracy(s, enc["stop"])
        history.append(rec)
        s.emit(rec)
        bar.close(f"epoch {epoch}/{cfg.epochs}: loss {loss:.4f} train acc {acc:.4f} "
                  + ("(refit on train + validation)" if cfg.refit else f"val acc {val_acc:.4f}")
                  + (f" stop acc {rec['stop_acc']:.4f}" if "stop" in enc else "")
                  + f" ({time.time() - bar.t0:.0f}s)")
        if cfg.refit:
            keep_refit(s, kept, epoch)
            continue
        if cfg.keep == "last":  # nothing chosen on validation (no early stop): it only fits the temperature
            kept.acc, kept.epoch = val_acc, epoch
            kept.state = {k: v.detach().clone() for k, v in s.model.state_dict().items()}
        else:
            keep_best(s, kept, epoch, rec.get("stop_acc", val_acc))
        if should_stop(s, kept, epoch, t_start, bar, held="stop" in enc):
            break
    return kept, history


def accuracy(s: Session, split: tuple[list[list[int]], list[int]]) -> float:
    x, y = split
    return metrics(predict_ids(s.model, x, device=s.device).argmax(1).tolist(), y)["accuracy"]


def _fit(cfg: TrainConfig, callback: Callback | None, rank: int, world: int, local: int, out: Path, t_start: float,
         init: InitModel | None = None) -> dict:
    """Build, train epoch by epoch, keep the best weights, test them and write the checkpoint (rank 0)."""
    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", local)
    splits, spec, vocab, enc = prepare(cfg, init)
    model = build_model(cfg, init, vocab)
    s = start_session(cfg, model, device, math.ceil(len(enc["train"][0]) / cfg.batch_size), rank, world, local, callback)
    s.emit({"type": "start", "device": str(device), "sizes": splits.info["sizes"], "params": model.num_parameters(),
            "vocab": len(vocab), "epochs": cfg.epochs, "world_size": world,
            "init": init.card() if init is not None else None})
    kept, history = run_epochs(s, enc, t_start)
    state = kept.state
    if cfg.half:  # test the weights exactly as they will be stored
        state = {k: v.half().to(v.dtype) if v.is_floating_point() else v for k, v in state.items()}
    s.model.load_state_dict(state)
    train_seconds = time.time() - t_start
    if not s.lead:
        torch.distributed.barrier()  # rank 0 tests and writes the checkpoint
        return {}
    test_x, test_y = enc["test"]
    test_logits = logits_ids(s.model, test_x, device=device)
    test = metrics(test_logits.argmax(1).tolist(), test_y)
    card = make_card(s, splits.info, spec, test, kept, history, train_seconds, out, init, len(enc["train"][0]))
    if "stop" in enc:  # kept.acc is the held-out training reviews' accuracy; validation's, of the kept weights
        card.update(stop_accuracy=kept.acc, val_accuracy=accuracy(s, enc["val"]))
    calibrate_card(card, s.model, enc, test_logits, cfg, device)
    checkpoint.save(out, s.model.cpu(), vocab, spec, cfg.max_len, card, half=cfg.half)
    if "calibration" in card:
        calibrate.store_temperature(out, card["calibration"]["temperature"])
    s.emit({"type": "done", "test_accuracy": test["accuracy"], "test_size": test["n"], "out": str(out)})
    print(f"test accuracy {test['accuracy']:.4f} on {test['n']} reviews; checkpoint written to {out}", file=sys.stderr)
    if world > 1:
        torch.distributed.barrier()
    return card


def calibrate_card(card: dict, model: nn.Module, enc: dict, test_logits: torch.Tensor, cfg: TrainConfig, device) -> None:
    """A temperature for the probabilities, fitted on the held-out validation reviews (none for a refit,
    which has none), with the test split's ECE before and after; and for every model its test accuracy by
    review length and by share of unknown words (card["by_length"], card["by_unknown"])."""
    card.update(calibrate.length_record(enc["test"][0], calibrate.correct(test_logits.numpy(), enc["test"][1]),
                                        max(cfg.max_len, READ_LIMIT), calibrate.length_unit({"mode": cfg.tokenizer})))
    if cfg.refit or not enc["val"][1]:
        return
    val_logits = logits_ids(model, enc["val"][0], device=device).numpy()
    card["calibration"] = calibrate.calibration_record(val_logits, enc["val"][1], test_logits.numpy(), enc["test"][1],
                                                       max(cfg.max_len, READ_LIMIT))


def make_card(s: Session, info: dict, spec: dict, test: dict, kept: Kept, history: list[dict], train_seconds: float,
              out: Path, init: InitModel | None, train_reviews: int) -> dict:
    """The model card: data and splits, test metrics, the kept epoch, the history, where and how it was trained."""
    cfg, device = s.cfg, s.device
    epochs_run = len(history)
    return dict(
        info,
        name=out.name,
        language=spec["language"],
        test_accuracy=test["accuracy"],
        test_size=test["n"],
        test_balanced_accuracy=test["balanced_accuracy"],
        test_f1=test["f1"],
        test_confusion=test["confusion"],
        val_accuracy=kept.acc,
        best_epoch=kept.epoch,
        epochs=epochs_run,
        history=history,
        train_seconds=round(train_seconds, 1),
        device=str(device) if device.type == "cpu" else f"cuda ({torch.cuda.get_device_name(device)})",
        torch=torch.__version__,
        python=platform.python_version(),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        command=cfg.command or TRAIN_COMMAND + " " + " ".join(shlex.quote(a) for a in to_argv(cfg)),
        train_config={k: v for k, v in asdict(cfg).items() if k not in ("extra_card", "command", "metrics")},
        world_size=s.world,
        **({"init": init.card()} if init is not None else {}),
        **({"refit": f"trained on train + validation ({train_reviews} reviews) for {epochs_run} epochs; "
                     + ("last weights kept" if cfg.average_last == 1 else
                        f"the mean of the weights after each of the last {cfg.average_last} epochs kept")
                     + ", no validation accuracy"} if cfg.refit else {}),
        **cfg.extra_card,
    )


def public_reason(error: GateScopeError, cfg: TrainConfig, details: bool = False) -> str:
    """The reason a background run shows every visitor of the Train page: the message, except that an
    error about a file's content (a dataset, an --init model) names the file and says what kind of
    problem it is, without quoting any of it (the message may quote a line of the file). ``details``:
    the full message was kept in the run's details.txt (keep_details)."""
    where = f"; the details are in the run's folder ({DETAILS})" if details else ""
    if isinstance(error, DataError):
        line = re.search(r": (line \d+):", str(error))
        return f"{cfg.data}: cannot be read as a dataset of labelled reviews" + (f" ({line.group(1)})" if line else "") + where
    if isinstance(error, CheckpointError):
        return f"--init {cfg.init}: the model cannot be loaded" + where
    return str(error)


def keep_details(error: GateScopeError, run_dir: Path) -> bool:
    """Write a background run's full message, which may quote the file it read, to a new details.txt in
    its folder, readable by its owner only, out of the log the Train page shows. False when it cannot
    (the folder is gone, or a details.txt is already there: nothing is overwritten)."""
    try:
        fd = os.open(run_dir / DETAILS, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"{error}\n")
    except OSError:
        return False
    return True


def report_error(error: GateScopeError, cfg: TrainConfig) -> None:
    """Say why training stopped: the whole message on a terminal; in a background run (the supervisor sets
    RUN_DIR_ENV) only what every visitor of the Train page may read, the rest in its details.txt."""
    run_dir = os.environ.get(RUN_DIR_ENV)
    quotes = isinstance(error, (DataError, CheckpointError))  # the message may quote the file it read
    reason = public_reason(error, cfg, details=bool(run_dir) and quotes and keep_details(error, Path(run_dir)))
    print(f"error: {reason if run_dir else error}", file=sys.stderr)
    if cfg.metrics:  # what a background run shows as its reason
        _emit({"type": "error", "kind": type(error).__name__, "reason": reason}, cfg.metrics, None)


def main(argv: list[str] | None = None) -> int:
    args = vars(parser().parse_args(argv))
    threads = args.pop("threads")
    try:
        check_threads(threads)
    except GateScopeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if threads:
        torch.set_num_threads(threads)
    cfg = TrainConfig(**args)
    cfg.command = TRAIN_COMMAND + " " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    try:
        fit(cfg)
    except GateScopeError as e:
        report_error(e, cfg)
        return 2
    except KeyboardInterrupt:
        print("interrupted: no checkpoint written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
