"""Training: a plain loop (Adam, clipping, early stopping on validation accuracy, AMP on CUDA)
that writes a checkpoint directory. CLI: ``python -m sentiment.train --data PATH ... --out DIR``.

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

import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import random
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from sentiment.modeling import catalog
from sentiment.modeling import checkpoint
from sentiment.data import readers, batching
from sentiment.errors import GateScopeError
from sentiment.training import calibrate
from sentiment.training.evaluate import encode_examples, logits_ids, metrics, predict_ids
from sentiment.modeling.model import CELLS, ModelConfig, SentimentRNN
from sentiment.modeling.pooling import POOLINGS
from sentiment.spec import READ_LIMIT
from sentiment.data.text import Vocab, guess_language, tokenize

Event = dict
Callback = Callable[[Event], None]


@dataclass
class TrainConfig:
    data: str
    out: str
    format: str | None = None
    # The options that shape the model: None means "not given": the default (MODEL_DEFAULTS), or the
    # --init model's. fit() works on a resolved copy (resolve()), where none is None.
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
    metrics: str | None = None
    bow: bool = False  # train the bag-of-words reference instead (sentiment.training.bow)
    command: str = ""
    extra_card: dict = field(default_factory=dict)

    def validate(self) -> None:
        """Check a resolved config (see resolve())."""
        if any(getattr(self, k) is None for k in MODEL_DEFAULTS):
            raise GateScopeError("internal: validate() needs a resolved TrainConfig (train.resolve)")
        if self.cell not in CELLS:
            raise GateScopeError(f"--cell must be one of {', '.join(CELLS)}")
        if self.pooling not in POOLINGS:
            raise GateScopeError(f"--pooling must be one of {', '.join(POOLINGS)}")
        for name, lo in [("layers", 1), ("hidden", 1), ("embed", 1), ("max_len", 1), ("epochs", 1), ("batch_size", 1), ("vocab_size", 3)]:
            if int(getattr(self, name)) < lo:
                raise GateScopeError(f"--{name.replace('_', '-')} must be at least {lo}")
        if self.schedule not in ("cosine", "constant"):
            raise GateScopeError("--schedule must be cosine or constant")
        if not self.lr > 0:
            raise GateScopeError("--lr must be positive")
        if self.device not in ("auto", "cpu", "cuda"):
            raise GateScopeError("--device must be auto, cpu or cuda")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise GateScopeError("--device cuda: no CUDA GPU is available here (use --device auto or cpu)")
        if self.limit is not None and self.limit < 2:
            raise GateScopeError("--limit must be at least 2")
        if self.refit and self.max_seconds:
            raise GateScopeError("--refit trains exactly --epochs epochs: leave out --max-seconds")
        if not 1 <= self.average_last <= self.epochs:
            raise GateScopeError("--average-last must be between 1 and --epochs")
        if self.average_last > 1 and not self.refit:
            raise GateScopeError("--average-last needs --refit (without it, validation picks the best epoch's weights)")


# The options that shape the model (or its vocabulary), with their defaults when training from scratch.
MODEL_DEFAULTS: dict[str, Any] = dict(cell="lstm", pooling="max", layers=1, hidden=64, embed=64, bidirectional=True,
                                      dropout=0.3, max_len=256, vocab_size=20_000, min_freq=2, tokenizer="word")
# Those fixed by an --init model: given with another value, they are refused.
MODEL_OPTIONS = ("cell", "pooling", "layers", "hidden", "embed", "bidirectional", "max_len", "tokenizer",
                 "vocab_size", "min_freq")


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
    raise GateScopeError(f"--init {spec}: no such model directory, and no shipped model of that name in {catalog.models_root()}")


def load_init(spec: str) -> InitModel:
    """Load the --init model (float32 on the CPU, whatever it was stored as); CheckpointError if it cannot be."""
    path = find_init(spec)
    try:
        ckpt = checkpoint.load(path)
    except GateScopeError as e:
        raise GateScopeError(f"--init {spec}: cannot start from this model: {e}") from None
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
        raise GateScopeError(f"--init {cfg.init}: options that contradict the model: {'; '.join(conflicts)}. "
                             "Leave them out (they are taken from the model) or train from scratch.")
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
        raise GateScopeError(f"{path}: no such file, and no dataset of that name in {', '.join(map(str, readers.data_dirs()))}")
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


LANGUAGE_NAMES = {"en": "English", "zh": "Chinese"}


def prepare(
    cfg: TrainConfig, init: InitModel | None = None
) -> tuple[readers.Splits, dict, Vocab, dict[str, tuple[list[list[int]], list[int]]]]:
    """Read, split, tokenize, build the vocabulary (or take the --init model's) and encode every split.
    ``cfg`` is resolved (see resolve())."""
    path = resolve_data(cfg.data)
    raw = readers.load(path, cfg.format)
    splits = readers.limit(readers.split(raw, seed=cfg.split_seed), cfg.limit, cfg.seed)
    sample = " ".join(t for t, _ in splits.train[:200])
    language = "zh" if guess_language(sample) == "zh" else "en"
    if init is not None:
        spec = dict(init.checkpoint.tokenizer)
        if spec.get("language", "en") != language:
            want = LANGUAGE_NAMES.get(spec.get("language", "en"), spec.get("language"))
            raise GateScopeError(
                f"--init {cfg.init}: the model reads {want}, but {Path(cfg.data).name} is {LANGUAGE_NAMES[language]}: "
                f"retrain it on {want} reviews, or train from scratch")
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
        return bow.fit(cfg, callback)
    t_start = time.time()
    init = load_init(cfg.init) if cfg.init else None
    cfg = resolve(cfg, init)
    cfg.validate()
    out = Path(cfg.out)
    if out.exists() and any(out.iterdir()):
        raise GateScopeError(f"{out}: already exists and is not empty; choose another --out")
    rank, world, local = dist_setup(cfg.device)
    try:
        return _fit(cfg, callback, rank, world, local, out, t_start, init)
    finally:
        if world > 1:
            torch.distributed.destroy_process_group()


def _fit(cfg: TrainConfig, callback: Callback | None, rank: int, world: int, local: int, out: Path, t_start: float,
         init: InitModel | None = None) -> dict:
    lead = rank == 0  # only rank 0 reports and writes
    metrics_path, callback = (cfg.metrics, callback) if lead else (None, None)
    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", local)
    splits, spec, vocab, enc = prepare(cfg, init)
    if init is not None:  # the init model's architecture (attention size included), with this run's dropout
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
    model = model.to(device)
    net: nn.Module = model
    if world > 1:  # DistributedDataParallel: same initial weights on every rank, gradients averaged
        net = nn.parallel.DistributedDataParallel(model, device_ids=[local] if device.type == "cuda" else None)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    if device.type == "cuda":
        torch.backends.cudnn.enabled = True  # cudnn.benchmark stays off: bucketed batches vary in length
    loss_fn = nn.CrossEntropyLoss()
    train_x, train_y = enc["train"]
    lengths = [len(s) for s in train_x]
    total_steps = max(1, cfg.epochs * (math.ceil(len(train_x) / cfg.batch_size) // world))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(k, total_steps) / total_steps)) if cfg.schedule == "cosine" else 1.0
    )
    labels_t = torch.tensor(train_y)
    _emit({"type": "start", "device": str(device), "sizes": splits.info["sizes"], "params": model.num_parameters(),
           "vocab": len(vocab), "epochs": cfg.epochs, "world_size": world,
           "init": init.card() if init is not None else None}, metrics_path, callback)

    best_acc, best_state, best_epoch, bad_epochs = -1.0, None, 0, 0
    history = []
    step = 0
    epochs_run = 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        batches = batching.bucket_batches(lengths, cfg.batch_size, shuffle=True, seed=cfg.seed * 1000 + epoch)
        if world > 1:  # a distributed sampler over length buckets: each rank its share, equal counts
            batches = batches[: max(world, len(batches) // world * world)][rank::world]
        bar = Progress(len(batches), epoch, cfg.epochs, quiet=not lead)
        tot_loss = torch.zeros((), device=device)  # summed on the device: no sync per step
        tot_correct = torch.zeros((), device=device)
        tot_n = 0
        for bi, batch in enumerate(batches, 1):
            ids, lens = batching.collate([train_x[i] for i in batch])
            y = labels_t[batch]
            if device.type == "cuda":
                ids, y = ids.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                logits = net(ids, lens)
                loss = loss_fn(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            scaler.step(opt)
            scaler.update()
            sched.step()
            step += 1
            n = len(batch)
            tot_loss += loss.detach().float() * n
            tot_correct += (logits.argmax(1) == y).sum()
            tot_n += n
            if bi % 20 == 0 or bi == len(batches):
                avg_loss, avg_acc = tot_loss.item() / tot_n, tot_correct.item() / tot_n
                bar.update(bi, avg_loss, avg_acc)
                _emit({"type": "step", "epoch": epoch, "step": step, "batch": bi, "batches": len(batches),
                       "loss": avg_loss, "acc": avg_acc}, metrics_path, callback)
        epochs_run = epoch
        val_acc = None  # a refit has no held-out reviews
        if not cfg.refit:
            val_x, val_y = enc["val"]
            val_acc = metrics(predict_ids(model, val_x, device=device).argmax(1).tolist(), val_y)["accuracy"]
        rec = {"type": "epoch", "epoch": epoch, "train_loss": avg_loss, "train_acc": avg_acc,
               "val_acc": val_acc, "seconds": time.time() - t_start}
        history.append(rec)
        _emit(rec, metrics_path, callback)
        bar.close(f"epoch {epoch}/{cfg.epochs}: loss {avg_loss:.4f} train acc {avg_acc:.4f} "
                  + ("(refit on train + validation)" if cfg.refit else f"val acc {val_acc:.4f}")
                  + f" ({time.time() - bar.t0:.0f}s)")
        if cfg.refit:  # keep the last epoch's weights, or the mean over the last average_last epochs
            best_epoch, best_acc = epoch, None
            k = epoch - (cfg.epochs - cfg.average_last)  # 1..average_last over the last epochs
            if k >= 1:
                now = {n: v.detach().clone() for n, v in model.state_dict().items()}
                best_state = now if k == 1 else {
                    n: best_state[n] + (v - best_state[n]) / k if v.is_floating_point() else v for n, v in now.items()}
            continue
        if val_acc > best_acc:
            best_acc, best_epoch, bad_epochs = val_acc, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
        if _agree(bad_epochs >= cfg.patience, world, device):
            bar.say(f"early stop: validation accuracy has not improved for {cfg.patience} epochs")
            break
        if _agree(bool(cfg.max_seconds) and time.time() - t_start > cfg.max_seconds, world, device):
            bar.say(f"time limit of {cfg.max_seconds:.0f}s reached after epoch {epoch}")
            break

    if cfg.half:  # test the weights exactly as they will be stored
        best_state = {k: v.half().to(v.dtype) if v.is_floating_point() else v for k, v in best_state.items()}
    model.load_state_dict(best_state)
    train_seconds = time.time() - t_start
    if not lead:
        torch.distributed.barrier()  # rank 0 tests and writes the checkpoint
        return {}
    test_x, test_y = enc["test"]
    test_logits = logits_ids(model, test_x, device=device)
    test = metrics(test_logits.argmax(1).tolist(), test_y)
    card = dict(
        splits.info,
        name=out.name,
        language=spec["language"],
        test_accuracy=test["accuracy"],
        test_size=test["n"],
        test_balanced_accuracy=test["balanced_accuracy"],
        test_f1=test["f1"],
        test_confusion=test["confusion"],
        val_accuracy=best_acc,
        best_epoch=best_epoch,
        epochs=epochs_run,
        history=history,
        train_seconds=round(train_seconds, 1),
        device=str(device) if device.type == "cpu" else f"cuda ({torch.cuda.get_device_name(device)})",
        torch=torch.__version__,
        python=platform.python_version(),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        command=cfg.command or "python -m sentiment.train " + " ".join(shlex.quote(a) for a in to_argv(cfg)),
        train_config={k: v for k, v in asdict(cfg).items() if k not in ("extra_card", "command", "metrics")},
        world_size=world,
        **({"init": init.card()} if init is not None else {}),
        **({"refit": f"trained on train + validation ({len(enc['train'][0])} reviews) for {epochs_run} epochs; "
                     + ("last weights kept" if cfg.average_last == 1 else
                        f"the mean of the weights after each of the last {cfg.average_last} epochs kept")
                     + ", no validation accuracy"} if cfg.refit else {}),
        **cfg.extra_card,
    )
    if not cfg.refit and enc["val"][1]:  # a temperature for the probabilities, fitted on the held-out validation reviews
        val_logits = logits_ids(model, enc["val"][0], device=device).numpy()
        card["calibration"] = calibrate.calibration_record(val_logits, enc["val"][1], test_logits.numpy(), test_y,
                                                           max(cfg.max_len, READ_LIMIT))
        card["domain"] = calibrate.domain_record(test_x, str(card.get("dataset", "")))
    checkpoint.save(out, model.cpu(), vocab, spec, cfg.max_len, card, half=cfg.half)
    if "calibration" in card:
        calibrate.store_temperature(out, card["calibration"]["temperature"])
    _emit({"type": "done", "test_accuracy": test["accuracy"], "test_size": test["n"], "out": str(out)}, metrics_path, callback)
    print(f"test accuracy {test['accuracy']:.4f} on {test['n']} reviews; checkpoint written to {out}", file=sys.stderr)
    if world > 1:
        torch.distributed.barrier()
    return card


def to_argv(cfg: TrainConfig) -> list[str]:
    """The command-line arguments that reproduce a TrainConfig."""
    argv = ["--data", cfg.data, "--out", cfg.out]
    defaults = TrainConfig(data="", out="")
    for k, v in asdict(cfg).items():
        if k in ("data", "out", "command", "extra_card", "metrics") or v == getattr(defaults, k):
            continue
        if cfg.init and k in MODEL_OPTIONS:  # the --init model's (a given value could only have agreed)
            continue
        flag = "--" + k.replace("_", "-")
        if isinstance(v, bool):
            argv.append(flag if v else "--no-" + k.replace("_", "-"))
        else:
            argv += [flag, str(v)]
    return argv


def parser() -> argparse.ArgumentParser:
    d = TrainConfig(data="", out="")
    ap = argparse.ArgumentParser(prog="python -m sentiment.train", description="Train a GateScope sentiment model.")
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
    ap.add_argument("--schedule", choices=["cosine", "constant"], default=d.schedule)
    ap.add_argument("--patience", type=int, default=d.patience)
    ap.add_argument("--vocab-size", type=int, default=None, help=f"default {m['vocab_size']}; with --init, the model's vocabulary")
    ap.add_argument("--min-freq", type=int, default=None, help=f"default {m['min_freq']}; not with --init")
    ap.add_argument("--tokenizer", choices=["word", "char"], default=None,
                    help=f"Chinese: jieba words or characters; default {m['tokenizer']}{own}")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default=d.device)
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
    ap.add_argument("--metrics", default=None, help="append progress events to this JSON-lines file")
    ap.add_argument("--bow", action=argparse.BooleanOptionalAction, default=False,
                    help="train the bag-of-words reference (word 1-2 grams, logistic regression); with --init, "
                         "that model's tokenizer and vocabulary")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = vars(parser().parse_args(argv))
    threads = args.pop("threads")
    if threads:
        torch.set_num_threads(threads)
    cfg = TrainConfig(**args)
    cfg.command = "python -m sentiment.train " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    try:
        fit(cfg)
    except GateScopeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: no checkpoint written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
