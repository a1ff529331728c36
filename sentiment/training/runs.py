"""Background training runs: a registry on disk and a launcher of detached training processes.

A run is a directory ``<root>/<id>/`` under the runs root (``$GATESCOPE_RUNS``, default ``./runs``)::

    config.json    the training options as given (plus the run's limits); never changed afterwards
    status.json    state, pids, device, times, reason, return code (rewritten atomically)
    metrics.jsonl  progress events from ``sentiment.train --metrics`` (start / step / epoch / done)
    log.txt        the training process's stdout and stderr, and the supervisor's notes
    model/         the checkpoint, renamed into place by the trainer only when training finished
    cancel         a marker file: someone asked for the run to stop

States: ``queued`` -> ``running`` -> ``finished`` | ``failed`` | ``cancelled`` (a queued run can also
be cancelled, or fail). Terminal states are never changed again, so nothing of a finished run is
ever overwritten. Every JSON file is written to a temporary file in the same folder and renamed.

There is no daemon. ``launch()`` creates the directory and spawns a small supervisor process
(``python -m sentiment.runs _supervise DIR``, its own session) that waits for a free slot (at most
``max_concurrent`` runs train at once, first come first served, under a file lock on
``<root>/.lock``), starts ``python -m sentiment.train`` in a session of its own, waits for it,
enforces the hard time limit and records the final state. Nothing is kept in memory: ``list()`` and
``get()`` rebuild the registry from the directories and reconcile it with the processes, so a run
whose processes vanished (a crash, a reboot) reads as failed with the reason "process died".

This module imports only the standard library at load time (the supervisor starts in milliseconds);
it never imports streamlit. CLI: ``python -m sentiment.runs launch [train options] | list |
show RUN_ID | cancel RUN_ID``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from sentiment.errors import GateScopeError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = [  # not "list": a star import must not shadow the builtin; use runs.list or list_runs
    "RunError", "RunConfigError", "RunLimits", "Run", "STATES", "ACTIVE", "TERMINAL", "PROCESS_DIED",
    "runs_root", "uploads_dir", "list_runs", "get", "metrics", "progress", "log_tail", "check_config",
    "available_datasets", "launch", "cancel", "train_argv", "pid_alive", "main",
]

from sentiment.spec import MAX_RUNS_ENV, PROJECT_ROOT, RUN_SECONDS_ENV, RUNS_ENV  # noqa: F401 (names of the runs' settings)

STATES = ("queued", "running", "finished", "failed", "cancelled")
ACTIVE = ("queued", "running")
TERMINAL = ("finished", "failed", "cancelled")
PROCESS_DIED = "process died"
START_GRACE = 30.0  # a queued run may lack its supervisor's pid for this long (it is being launched)
POLL = 0.2  # how often a supervisor looks at its training process
QUEUE_POLL = 0.4  # how often a queued run's supervisor looks for a free slot

_ID_RE = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{8}$")

# The options of ``python -m sentiment.train`` a run may set (all but --out and --metrics, which the
# run owns). A tuple lists the allowed values. tests/test_runs.py holds this table to train.parser().
TRAIN_OPTIONS: dict[str, Any] = {
    "data": str,
    "format": ("imdb", "csv"),
    "cell": ("lstm", "gru", "rnn"),
    "pooling": ("last", "max", "mean", "attention"),
    "layers": int,
    "hidden": int,
    "embed": int,
    "bidirectional": bool,
    "dropout": float,
    "max_len": int,
    "epochs": int,
    "batch_size": int,
    "lr": float,
    "schedule": ("cosine", "constant"),
    "weight_decay": float,
    "clip": float,
    "patience": int,
    "vocab_size": int,
    "min_freq": int,
    "tokenizer": ("word", "char"),
    "device": ("auto", "cpu", "cuda"),
    "limit": int,
    "seed": int,
    "split_seed": int,
    "half": bool,
    "init": str,  # retrain: a model directory, a shipped model's name, or a catalog key (shipped:NAME, run:ID)
    "max_seconds": float,
    "threads": int,
    "bow": bool,  # the bag-of-words reference instead of a gated model
}
TRAIN_DEFAULT_EPOCHS = 5  # sentiment.train's default, for the browser's epoch cap
# sentiment.train options a run does not take: a refit trains an exact number of epochs, which a run's
# time limit (always passed as --max-seconds) could cut short.
SHELL_ONLY_OPTIONS = ("refit", "average_last")


class RunError(GateScopeError):
    """A run that does not exist, or an action the run's state does not allow."""


class RunConfigError(RunError):
    """A proposed run configuration that is invalid or over the limits; nothing was started."""


# ---- limits ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunLimits:
    """What a launch may ask for. ``RunLimits()`` is for people at a terminal; ``RunLimits.browser()``
    adds the caps for runs started from the web page."""

    max_concurrent: int = 1  # runs training at once; the others wait queued
    max_seconds: float = 900.0  # per-run time limit (passed to train as --max-seconds)
    kill_grace: float = 60.0  # past max_seconds by this much, the run is killed outright
    max_epochs: int | None = None
    max_limit: int | None = None  # at most this many training reviews (train's --limit)
    allow_any_path: bool = True  # False: data must be a dataset of the data folder or an upload

    @classmethod
    def from_env(cls, **overrides: Any) -> "RunLimits":
        """Defaults, with $GATESCOPE_MAX_RUNS and $GATESCOPE_RUN_SECONDS applied, then ``overrides``."""
        kw: dict[str, Any] = {}
        try:
            if os.environ.get(MAX_RUNS_ENV):
                kw["max_concurrent"] = int(os.environ[MAX_RUNS_ENV])
            if os.environ.get(RUN_SECONDS_ENV):
                kw["max_seconds"] = float(os.environ[RUN_SECONDS_ENV])
        except ValueError as e:
            raise RunConfigError(f"${MAX_RUNS_ENV} / ${RUN_SECONDS_ENV}: not a number ({e})") from None
        kw.update(overrides)
        return cls(**kw)

    @classmethod
    def browser(cls, **overrides: Any) -> "RunLimits":
        """Caps for runs started from the browser: 10 epochs, 5,000 training reviews, 15 minutes."""
        kw: dict[str, Any] = dict(max_epochs=10, max_limit=5000, allow_any_path=False)
        kw.update(overrides)
        return cls.from_env(**kw)


# ---- small helpers -----------------------------------------------------------------------------


def runs_root() -> Path:
    """The runs root: $GATESCOPE_RUNS or ./runs, as an absolute path (created if missing)."""
    root = Path(os.environ.get(RUNS_ENV) or "runs").expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def uploads_dir(root: Path | None = None) -> Path:
    """Where accepted uploads are kept (see sentiment.data.uploads)."""
    return (root or runs_root()) / "uploads"


def _now() -> float:
    return time.time()


def _iso(t: float | None) -> str:
    if not t:
        return "-"
    return datetime.datetime.fromtimestamp(t).isoformat(sep=" ", timespec="seconds")


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to a temporary file beside ``path``, fsync it, and rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_json(path: Path) -> dict | None:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """An exclusive lock on ``<root>/.lock`` (between processes and between threads)."""
    with open(root / ".lock", "a+") as f:
        if fcntl is not None:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state letter, start time) of a process from /proc, or None when unavailable."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = text[text.rfind(")") + 2 :].split()  # fields after "pid (comm)": state is field 3
    return rest[0], rest[19]  # field 22: start time in clock ticks since boot


def process_identity(pid: int) -> str | None:
    """A token that tells this process from a later one that reuses its pid (Linux), else None."""
    st = _proc_stat(pid)
    return f"{_boot_id()}:{st[1]}" if st else None


def pid_alive(pid: int | None, identity: str | None = None) -> bool:
    """True when the process runs (not a zombie) and, if ``identity`` was recorded, is the same one."""
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    st = _proc_stat(int(pid))
    if st is not None:
        if st[0] in ("Z", "X"):
            return False
        if identity and process_identity(int(pid)) != identity:
            return False
    return True


# ---- the Run record ----------------------------------------------------------------------------


@dataclass
class Run:
    """One run as read from its directory."""

    id: str
    dir: Path
    state: str
    config: dict
    status: dict

    @property
    def reason(self) -> str | None:
        return self.status.get("reason")

    @property
    def device(self) -> str | None:
        return self.status.get("device")

    @property
    def pid(self) -> int | None:
        return self.status.get("pid")

    @property
    def created(self) -> float | None:
        return self.status.get("created")

    @property
    def started(self) -> float | None:
        return self.status.get("started")

    @property
    def ended(self) -> float | None:
        return self.status.get("ended")

    @property
    def name(self) -> str:
        return self.config.get("name") or self.id

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def model_dir(self) -> Path | None:
        """The checkpoint directory, only for a finished run."""
        p = self.dir / "model"
        return p if self.state == "finished" and (p / "card.json").is_file() else None

    @property
    def elapsed(self) -> float | None:
        if not self.started:
            return None
        return (self.ended or _now()) - self.started

    def to_dict(self) -> dict:
        d = asdict(self)
        d["dir"] = str(self.dir)
        d["model_dir"] = str(self.model_dir) if self.model_dir else None
        return d


def run_dir(run_id: str, root: Path | None = None) -> Path:
    if not _ID_RE.match(run_id or ""):
        raise RunError(f"{run_id!r} is not a run id (they look like 20260101-120000-0a1b2c3d)")
    d = (root or runs_root()) / run_id
    if not d.is_dir():
        raise RunError(f"no run {run_id} in {d.parent}")
    return d


def _read_run(d: Path) -> Run:
    config = _read_json(d / "config.json") or {}
    status = _read_json(d / "status.json")
    if status is None:
        status = {"state": "failed", "reason": "status.json is missing or unreadable", "unreadable": True}
    state = status.get("state")
    if state not in STATES:
        status = dict(status, state="failed", reason=f"unknown state {state!r} in status.json")
    if not status.get("device") and (d / "metrics.jsonl").is_file():
        start = _first_event(d / "metrics.jsonl", "start")
        if start and start.get("device"):
            status["device"] = start["device"]
    return Run(d.name, d, status["state"], config, status)


def _update_status(d: Path, **changes: Any) -> dict:
    """Read-modify-write status.json (caller holds the lock). A terminal state is never changed."""
    status = _read_json(d / "status.json")
    if status is None:
        raise RunError(f"{d / 'status.json'}: missing or unreadable")
    if status.get("state") in TERMINAL:
        return status
    status.update(changes)
    write_json_atomic(d / "status.json", status)
    return status


def _finish_reason_from_log(d: Path) -> str | None:
    """The trainer's own last 'error: ...' line (a GateScopeError message), if any."""
    try:
        with open(d / "log.txt", "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 20000))
            tail = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    lines = [ln.strip() for ln in tail.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if ln.startswith("error: "):
            return ln[len("error: ") :]
    for ln in reversed(lines):  # a Python traceback's last line, or argparse's complaint
        if re.match(r"^[A-Za-z_.]+(Error|Exception): ", ln) or "error: argument" in ln:
            return ln
    return None


def _reconcile(d: Path, status: dict) -> dict | None:
    """Status changes for an active run whose processes are gone, else None (no side effects)."""
    state = status.get("state")
    dead = "cancelled" if (d / "cancel").exists() else "failed"
    why = "cancelled" if dead == "cancelled" else PROCESS_DIED
    boot_ok = status.get("boot_id") in (None, _boot_id())
    sup_alive = boot_ok and pid_alive(status.get("supervisor_pid"), status.get("supervisor_identity"))
    if state == "queued":
        if sup_alive:
            return None
        if not status.get("supervisor_pid") and _now() - float(status.get("created") or 0) < START_GRACE:
            return None  # being launched right now
        return {"state": dead, "reason": why, "ended": _now()}
    if state == "running":
        if sup_alive:
            return None
        if boot_ok and pid_alive(status.get("pid"), status.get("pid_identity")):
            return None  # the supervisor is gone but training goes on; a later look settles it
        if (d / "model" / "card.json").is_file() and (d / "model" / "model.safetensors").is_file():
            return {"state": "finished", "ended": _now(), "reason": None}
        return {"state": dead, "reason": why, "ended": _now()}
    return None


def _settle(d: Path) -> None:
    """Record the end of an active run whose processes are gone (caller holds the lock)."""
    st = _read_json(d / "status.json")
    if st and st.get("state") in ACTIVE:
        ch = _reconcile(d, st)
        if ch:
            if ch["state"] != "finished":
                _discard_partial_model(d)
            _update_status(d, **ch)


def _needs_settling(d: Path) -> bool:
    st = _read_json(d / "status.json")
    return bool(st and st.get("state") in ACTIVE and _reconcile(d, st) is not None)


def _discard_partial_model(d: Path) -> None:
    """A run that did not finish must not leave a checkpoint (or a half-written one) behind."""
    for p in d.iterdir():
        if p.name == "model" or p.name.startswith(".model.tmp-"):
            shutil.rmtree(p, ignore_errors=True)


def _run_dirs(root: Path) -> list[Path]:
    """The run directories (a directory still being created by launch(), without status.json for
    less than START_GRACE seconds, is left out)."""
    try:
        dirs = [p for p in root.iterdir() if _ID_RE.match(p.name) and p.is_dir()]
    except FileNotFoundError:
        return []
    out = []
    for p in dirs:
        if not (p / "status.json").exists():
            with contextlib.suppress(OSError):
                if _now() - p.stat().st_mtime < START_GRACE:
                    continue
        out.append(p)
    return out


def _sorted(runs: list[Run]) -> list[Run]:
    return sorted(runs, key=lambda r: (float(r.status.get("created") or 0), r.id))


def _scan(root: Path, reconcile: bool = True) -> list[Run]:
    """All runs, oldest first. With ``reconcile``, dead active runs are marked failed first."""
    dirs = _run_dirs(root)
    stale = [d for d in dirs if _needs_settling(d)] if reconcile else []
    if stale:
        with _locked(root):
            for d in stale:
                _settle(d)
    return _sorted([_read_run(d) for d in dirs])


# ---- public API --------------------------------------------------------------------------------


def list_runs(root: str | Path | None = None) -> "list[Run]":
    """Every run under the root, oldest first, reconciled with the live processes (also ``runs.list``)."""
    return _scan(Path(root).resolve() if root else runs_root())


def get(run_id: str, root: str | Path | None = None) -> Run:
    """One run (reconciled). RunError if there is no such run."""
    r = Path(root).resolve() if root else runs_root()
    d = run_dir(run_id, r)
    if _needs_settling(d):
        with _locked(r):
            _settle(d)
    return _read_run(d)


def _first_event(path: Path, kind: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                with contextlib.suppress(ValueError):
                    ev = json.loads(line)
                    if isinstance(ev, dict) and ev.get("type") == kind:
                        return ev
    except OSError:
        pass
    return None


def metrics(run_id: str, root: str | Path | None = None) -> "list[dict]":
    """The run's progress events so far (start, step, epoch, done), in order. A line still being
    written is left out."""
    d = run_dir(run_id, Path(root).resolve() if root else None)
    events = []
    try:
        with open(d / "metrics.jsonl", encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n"):
                    break
                with contextlib.suppress(ValueError):
                    ev = json.loads(line)
                    if isinstance(ev, dict):
                        events.append(ev)
    except FileNotFoundError:
        pass
    return events


def log_tail(run_id: str, max_chars: int = 4000, root: str | Path | None = None) -> str:
    """The end of the run's log (the trainer's messages)."""
    d = run_dir(run_id, Path(root).resolve() if root else None)
    try:
        with open(d / "log.txt", "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4 * max_chars))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return text[-max_chars:]


def progress(events: "list[dict]") -> dict:
    """Where a run stands, from its events (see metrics()): {"epoch", "epochs", "batch", "batches",
    "fraction" (0..1 of all planned batches), "loss", "acc", "val_acc", "test_accuracy", "device"};
    missing values are None. Early stopping or the time limit can end a run before fraction 1."""
    out: dict[str, Any] = dict.fromkeys(
        ["epoch", "epochs", "batch", "batches", "fraction", "loss", "acc", "val_acc", "test_accuracy", "device"])
    for ev in events:
        t = ev.get("type")
        if t == "start":
            out.update(epochs=ev.get("epochs"), device=ev.get("device"), fraction=0.0)
        elif t == "step":
            out.update(epoch=ev.get("epoch"), batch=ev.get("batch"), batches=ev.get("batches"),
                       loss=ev.get("loss"), acc=ev.get("acc"))
        elif t == "epoch":
            out.update(epoch=ev.get("epoch"), val_acc=ev.get("val_acc"))
        elif t == "done":
            out.update(test_accuracy=ev.get("test_accuracy"), fraction=1.0)
    if out["fraction"] != 1.0 and out["epochs"] and out["epoch"] and out["batches"]:
        done = (out["epoch"] - 1) * out["batches"] + (out["batch"] or 0)
        out["fraction"] = min(1.0, done / (out["epochs"] * out["batches"]))
    return out


def check_config(config: Mapping[str, Any], limits: RunLimits | None = None, root: str | Path | None = None) -> dict:
    """Validate a proposed run against the option table and ``limits``; returns the normalized config
    (data resolved to an absolute path, time limit filled in). Raises RunConfigError, before anything
    is started, with a message meant for a person."""
    limits = limits or RunLimits.from_env()
    cfg: dict[str, Any] = {}
    extra = {"name", "dataset"}  # a run's label and the data's display name; not train options
    for key, value in dict(config).items():
        key = key.replace("-", "_")
        if key in extra:
            if value is not None:
                cfg[key] = str(value)
            continue
        if key in ("out", "metrics"):
            raise RunConfigError(f"{key!r} is set by the run itself (the checkpoint goes to the run's model/ folder)")
        if key in SHELL_ONLY_OPTIONS:
            if value is None or str(value).lower() == {"refit": "false", "average_last": "1"}[key]:
                continue  # the default: no refit, the last epoch's weights
            raise RunConfigError(f"{key.replace('_', '-')}: a refit trains an exact number of epochs, which a run's "
                                 "time limit could cut short; run python -m sentiment.train --refit from a shell instead")
        kind = TRAIN_OPTIONS.get(key)
        if kind is None:
            raise RunConfigError(f"unknown training option {key!r}; known: {', '.join(TRAIN_OPTIONS)}")
        if value is None:
            continue
        try:
            if isinstance(kind, tuple):
                value = str(value)
                if value not in kind:
                    raise ValueError(f"must be one of {', '.join(kind)}")
            elif kind is bool:
                if isinstance(value, str):
                    if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError("must be true or false")
                    value = value.lower() in ("true", "1", "yes")
                value = bool(value)
            elif kind is int:
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError("must be a whole number")
                value = int(value)
            elif kind is float:
                value = float(value)
                if value != value or value in (float("inf"), float("-inf")):
                    raise ValueError("must be a finite number")
            else:
                value = str(value)
        except (TypeError, ValueError) as e:
            msg = str(e) if "must" in str(e) else f"{value!r} is not a valid {kind.__name__}"
            raise RunConfigError(f"{key.replace('_', '-')}: {msg}") from None
        cfg[key] = value
    if not cfg.get("data"):
        raise RunConfigError("no data: give a dataset name (imdb, hotel), a dataset path or an uploaded CSV")
    for name, lo in [("layers", 1), ("hidden", 1), ("embed", 1), ("max_len", 1), ("epochs", 1), ("batch_size", 1),
                     ("vocab_size", 3), ("limit", 2), ("threads", 1), ("patience", 1)]:
        if name in cfg and cfg[name] < lo:
            raise RunConfigError(f"{name.replace('_', '-')} must be at least {lo}")
    if "lr" in cfg and not cfg["lr"] > 0:
        raise RunConfigError("lr must be positive")
    if "max_seconds" in cfg and not cfg["max_seconds"] > 0:
        raise RunConfigError("max-seconds must be positive")

    epochs = cfg.get("epochs", TRAIN_DEFAULT_EPOCHS)
    if limits.max_epochs is not None and epochs > limits.max_epochs:
        raise RunConfigError(f"epochs: {epochs} is over the limit of {limits.max_epochs} for runs started here")
    if limits.max_limit is not None:
        if cfg.get("limit") is None:
            cfg["limit"] = limits.max_limit  # the cap on dataset size; the card records it
        elif cfg["limit"] > limits.max_limit:
            raise RunConfigError(
                f"limit: {cfg['limit']} training reviews is over the limit of {limits.max_limit} for runs started here"
            )
    if cfg.get("max_seconds") is not None and cfg["max_seconds"] > limits.max_seconds:
        raise RunConfigError(
            f"max-seconds: {cfg['max_seconds']:g} s is over the time limit of {limits.max_seconds:g} s per run"
        )
    cfg.setdefault("max_seconds", float(limits.max_seconds))
    cfg["data"], dataset = _resolve_data(cfg["data"], limits, Path(root).resolve() if root else None)
    cfg.setdefault("dataset", dataset)
    if cfg.get("init"):
        cfg["init"] = _resolve_init(cfg, limits, Path(root).resolve() if root else None)
    return cfg


def _resolve_init(cfg: Mapping[str, Any], limits: RunLimits, root: Path | None = None) -> str:
    """The absolute path of the model a run starts from (``init``): a catalog key (shipped:NAME,
    run:ID), a model directory or a shipped model's name. It must load, agree with the run's other
    options and read the data's language; browser runs may start only from a model of the catalog."""
    from sentiment.modeling import catalog  # import torch; only needed for a retraining run
    from sentiment.modeling import checkpoint
    from sentiment.data import readers
    from sentiment.training import train

    value = str(cfg["init"])
    entries = [e for e in catalog.list_models(runs=root) if e.available]
    by_key = {e.key: e for e in entries}
    try:
        path = Path(by_key[value].path).resolve() if value in by_key else train.find_init(value)
    except GateScopeError as e:
        raise RunConfigError(str(e)) from None
    if not limits.allow_any_path and path not in {Path(e.path).resolve() for e in entries}:
        raise RunConfigError(f"init: {value}: runs started here may start only from a model the app lists "
                             "(a shipped model, or a finished run's)")
    try:
        ckpt = checkpoint.load(path)
    except GateScopeError as e:
        raise RunConfigError(f"init: cannot start from this model: {e}") from None
    conflicts = train.init_conflicts(cfg, ckpt)
    if conflicts:
        raise RunConfigError(f"init: options that contradict the model: {'; '.join(conflicts)}. "
                             "Leave them out (they are taken from the model).")
    try:
        language = readers.guess_dataset_language(cfg["data"])
    except GateScopeError:
        language = "unknown"  # the training process says what is wrong with the data
    if language in train.LANGUAGE_NAMES and language != ckpt.language:
        names = train.LANGUAGE_NAMES
        raise RunConfigError(f"init: the model reads {names.get(ckpt.language, ckpt.language)}, but the data is "
                             f"{names[language]}: start from a model of the data's language")
    return str(path)


def _resolve_data(value: str, limits: RunLimits, root: Path | None = None) -> tuple[str, str]:
    """(absolute path, display name) of a run's data: a path, or a dataset name (imdb, hotel, a file
    name) looked up in the data folders. Browser runs may use only those datasets and the uploads."""
    p = Path(value).expanduser()
    if p.exists():
        path, name = p.resolve(), p.name
    else:
        from sentiment.data import readers  # imports torch; only needed to look a dataset name up

        found = readers.find_dataset(value)
        if found is None:
            raise RunConfigError(
                f"data: {value}: no such file, and no dataset of that name in the data folders "
                f"({', '.join(str(x) for x in readers.data_dirs())})"
            )
        path, name = Path(found).resolve(), value
    if not limits.allow_any_path:
        up = uploads_dir(root).resolve()
        known = {Path(x["path"]) for x in available_datasets()}
        if path not in known and up not in path.parents:
            raise RunConfigError(f"data: {value}: runs started here may use the datasets of the data folder or an uploaded CSV")
    return str(path), name


def available_datasets() -> "list[dict]":
    """The datasets a run can use: the known ones (imdb, hotel) found in the data folders
    ($GATESCOPE_DATA, ./data, ../shared/data), and any other .csv/.tsv there. Each is
    {"name", "path", "format"}; ``name`` is what to put in the config's ``data``."""
    from sentiment.data import readers  # imports torch

    out: list[dict] = []
    seen: set[Path] = set()
    for name in readers.KNOWN_FILES:
        p = readers.find_dataset(name)
        if p is not None:
            out.append({"name": name, "path": str(Path(p).resolve()), "format": readers.guess_format(p)})
            seen.add(Path(p).resolve())
    for d in readers.data_dirs():
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            rp = p.resolve()
            if p.suffix.lower() in (".csv", ".tsv") and p.is_file() and rp not in seen:
                seen.add(rp)
                out.append({"name": p.name, "path": str(rp), "format": "csv"})
    return out


def train_argv(config: Mapping[str, Any], run: Path) -> "list[str]":
    """The command line of a run's training process."""
    argv = [sys.executable, "-m", "sentiment.train"]
    for key, value in config.items():
        if key not in TRAIN_OPTIONS or value is None:
            continue
        flag = "--" + key.replace("_", "-")
        if TRAIN_OPTIONS[key] is bool:
            argv.append(flag if value else "--no-" + key.replace("_", "-"))
        else:
            argv += [flag, str(value)]
    return argv + ["--out", str(run / "model"), "--metrics", str(run / "metrics.jsonl")]


def _new_run_dir(root: Path) -> Path:
    """A fresh directory with a new id: os.mkdir is atomic, so an id is never handed out twice."""
    for _ in range(100):
        rid = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(4)
        d = root / rid
        try:
            os.mkdir(d)
            return d
        except FileExistsError:
            continue
    raise RunError(f"{root}: could not create a new run directory")


def _reap_later(proc: subprocess.Popen) -> None:
    """Collect the supervisor's exit status when it ends, so it never lingers as a zombie."""
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()


def launch(config: Mapping[str, Any], limits: RunLimits | None = None, root: str | Path | None = None) -> Run:
    """Validate ``config`` (train options: data, cell, epochs, ...; plus an optional ``name``), create
    the run (queued) and start its supervisor, detached. Returns at once; poll ``get(run.id)``."""
    limits = limits or RunLimits.from_env()
    if limits.max_concurrent < 1:
        raise RunConfigError("max_concurrent must be at least 1")
    cfg = check_config(config, limits, root)
    if "threads" not in cfg:
        cfg["threads"] = max(1, (os.cpu_count() or 1) // limits.max_concurrent)
    r = Path(root).resolve() if root else runs_root()
    r.mkdir(parents=True, exist_ok=True)
    d = _new_run_dir(r)
    write_json_atomic(d / "config.json", dict(cfg, limits=asdict(limits)))
    created = _now()
    write_json_atomic(d / "status.json", {
        "id": d.name, "state": "queued", "created": created, "started": None, "ended": None,
        "pid": None, "pid_identity": None, "supervisor_pid": None, "supervisor_identity": None,
        "boot_id": _boot_id(), "device": None, "reason": None, "return_code": None,
        "max_concurrent": limits.max_concurrent, "max_seconds": cfg["max_seconds"], "kill_grace": limits.kill_grace,
    })
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join(
        [str(PROJECT_ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
    try:
        with open(d / "log.txt", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "sentiment.runs", "_supervise", str(d)],
                cwd=str(PROJECT_ROOT), env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True, close_fds=True,
            )
    except OSError as e:
        with _locked(r):
            _update_status(d, state="failed", reason=f"could not start the supervisor ({e})", ended=_now())
        return _read_run(d)
    _reap_later(proc)
    with _locked(r):
        st = _read_json(d / "status.json") or {}
        if not st.get("supervisor_pid"):
            _update_status(d, supervisor_pid=proc.pid, supervisor_identity=process_identity(proc.pid))
    return _read_run(d)


def _signal_group(pid: int | None, sig: int) -> None:
    if not pid:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(int(pid), sig)


def cancel(run_id: str, grace: float = 5.0, root: str | Path | None = None) -> Run:
    """Stop a queued or running run and mark it cancelled: SIGTERM to the training process group,
    SIGKILL after ``grace`` seconds. RunError if the run has already ended."""
    r = Path(root).resolve() if root else runs_root()
    d = run_dir(run_id, r)
    with _locked(r):
        st = _read_json(d / "status.json") or {}
        state = st.get("state")
        if state in TERMINAL:
            raise RunError(f"run {run_id} has already " + ("finished" if state == "finished" else f"ended ({state})")
                           + "; nothing to cancel")
        (d / "cancel").touch()
        if state == "queued":
            _update_status(d, state="cancelled", reason="cancelled while queued", ended=_now())
            return _read_run(d)
        pid, ident = st.get("pid"), st.get("pid_identity")
        if pid_alive(pid, ident):
            _signal_group(pid, signal.SIGTERM)
    deadline = _now() + grace
    while _now() < deadline and pid_alive(pid, ident):
        time.sleep(0.05)
    if pid_alive(pid, ident):
        _signal_group(pid, signal.SIGKILL)
    for _ in range(int(5 / POLL)):  # the supervisor records the end (get() does, if it is gone)
        run = get(run_id, r)
        if run.state in TERMINAL:
            return run
        time.sleep(POLL)
    with _locked(r):  # a supervisor alive but stuck: record it here
        if not pid_alive(pid, ident):
            _discard_partial_model(d)
        _update_status(d, state="cancelled", reason="cancelled", ended=_now())
    return _read_run(d)


# ---- the supervisor ----------------------------------------------------------------------------


def _slot_free(root: Path, me: Path, status: dict) -> bool:
    """Whether ``me`` may start now (caller holds the lock): fewer than max_concurrent running, and
    the queued runs launched before it take the slots first."""
    runs = _scan_locked(root)
    running = sum(1 for r in runs if r.state == "running")
    created = float(status.get("created") or 0)
    ahead = sum(1 for r in runs if r.state == "queued" and r.dir != me
                and (float(r.status.get("created") or 0), r.id) < (created, me.name))
    return running + ahead < int(status.get("max_concurrent") or 1)


def _scan_locked(root: Path) -> "list[Run]":
    """All runs, settled (caller holds the lock)."""
    dirs = _run_dirs(root)
    for d in dirs:
        _settle(d)
    return [_read_run(d) for d in dirs]


def _note(msg: str) -> None:
    print(f"[runs {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def supervise(d: Path) -> int:
    """Body of the supervisor process of run directory ``d``: queue, train, record the outcome."""
    d = Path(d).resolve()
    root = d.parent
    config = _read_json(d / "config.json") or {}
    with _locked(root):
        st = _update_status(d, supervisor_pid=os.getpid(), supervisor_identity=process_identity(os.getpid()))
    child: subprocess.Popen | None = None
    queued_noted = False
    while child is None:
        with _locked(root):
            st = _read_json(d / "status.json") or {}
            if st.get("state") != "queued":
                return 0  # cancelled (or failed) while queued
            if (d / "cancel").exists():
                _update_status(d, state="cancelled", reason="cancelled while queued", ended=_now())
                return 0
            if _slot_free(root, d, st):
                argv = train_argv(config, d)
                _note("starting: " + " ".join(argv[1:]))
                env = dict(os.environ, PYTHONUNBUFFERED="1")
                try:
                    with open(d / "log.txt", "ab") as log:
                        child = subprocess.Popen(argv, cwd=str(PROJECT_ROOT), env=env, stdin=subprocess.DEVNULL,
                                                 stdout=log, stderr=log, start_new_session=True, close_fds=True)
                except OSError as e:
                    _update_status(d, state="failed", reason=f"could not start training ({e})", ended=_now())
                    return 1
                _update_status(d, state="running", pid=child.pid, pid_identity=process_identity(child.pid),
                               started=_now(), argv=argv)
        if child is None:
            if not queued_noted:
                _note("queued: waiting for a free slot")
                queued_noted = True
            time.sleep(QUEUE_POLL)

    limit = float(st.get("max_seconds") or config.get("max_seconds") or 900)
    hard = limit + float(st.get("kill_grace") or 60)
    t0 = _now()
    timed_out = False
    device_noted = False
    while True:
        try:
            child.wait(timeout=POLL * 2)
            break
        except subprocess.TimeoutExpired:
            pass
        if not device_noted:
            start = _first_event(d / "metrics.jsonl", "start")
            if start:
                device_noted = True
                with _locked(root):
                    _update_status(d, device=start.get("device"))
        if not timed_out and _now() - t0 > hard:
            timed_out = True
            _note(f"time limit: {limit:g} s (+{hard - limit:g} s grace) passed; stopping the training process")
            _signal_group(child.pid, signal.SIGTERM)
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _signal_group(child.pid, signal.SIGKILL)
    rc = child.returncode
    model = d / "model"
    complete = (model / "card.json").is_file() and (model / "model.safetensors").is_file()
    start = _first_event(d / "metrics.jsonl", "start") or {}
    with _locked(root):
        changes: dict[str, Any] = {"ended": _now(), "return_code": rc}
        if start.get("device"):
            changes["device"] = start["device"]
        if rc == 0 and complete:
            changes.update(state="finished", reason=None)
        else:
            _discard_partial_model(d)
            if (d / "cancel").exists():
                changes.update(state="cancelled", reason="cancelled")
            elif timed_out:
                changes.update(state="failed", reason=f"time limit of {limit:g} s exceeded; the training process was stopped")
            elif rc is not None and rc < 0:
                try:
                    signame = signal.Signals(-rc).name
                except ValueError:
                    signame = f"signal {-rc}"
                changes.update(state="failed", reason=f"the training process was killed ({signame})")
            elif rc == 0:
                changes.update(state="failed", reason="training exited without writing a checkpoint")
            else:
                changes.update(state="failed", reason=_finish_reason_from_log(d) or f"training exited with code {rc}")
        st = _update_status(d, **changes)
    _note(f"{st.get('state')}" + (f": {st.get('reason')}" if st.get("reason") else ""))
    return 0


# ---- CLI ---------------------------------------------------------------------------------------


def _fmt_event(ev: dict) -> str:
    t = ev.get("type")
    if t == "start":
        return f"start: device {ev.get('device')}, sizes {ev.get('sizes')}, {ev.get('params')} parameters, vocab {ev.get('vocab')}"
    if t == "step":
        return f"step {ev.get('step')} (epoch {ev.get('epoch')}, batch {ev.get('batch')}/{ev.get('batches')}): loss {ev.get('loss', 0):.4f} acc {ev.get('acc', 0):.3f}"
    if t == "epoch":
        val = ev.get("val_acc")  # None for a refit (no held-out reviews)
        return (f"epoch {ev.get('epoch')}: train loss {ev.get('train_loss', 0):.4f} train acc {ev.get('train_acc', 0):.3f} "
                + ("no validation (refit)" if val is None else f"val acc {val:.3f}") + f" ({ev.get('seconds', 0):.0f} s)")
    if t == "done":
        return f"done: test accuracy {ev.get('test_accuracy', 0):.4f} on {ev.get('test_size')} reviews"
    return json.dumps(ev)


def _cli_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m sentiment.runs", description="Background training runs of GateScope.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    la = sub.add_parser("launch", help="queue a training run (the options of python -m sentiment.train, less --out/--metrics); prints its id last")
    for key, kind in TRAIN_OPTIONS.items():
        flag = "--" + key.replace("_", "-")
        if kind is bool:
            la.add_argument(flag, action=argparse.BooleanOptionalAction, default=None)
        elif isinstance(kind, tuple):
            la.add_argument(flag, choices=kind, default=None)
        else:
            la.add_argument(flag, type=kind, default=None, required=key == "data")
    la.add_argument("--name", default=None, help="a label for the run")
    la.add_argument("--max-concurrent", type=int, default=None, help=f"runs training at once (default ${MAX_RUNS_ENV} or 1)")
    la.add_argument("--kill-grace", type=float, default=None, help="seconds past --max-seconds before a hard kill (default 60)")
    sub.add_parser("list", help="all runs, oldest first")
    sh = sub.add_parser("show", help="a run's state and its metrics so far")
    sh.add_argument("run_id")
    ca = sub.add_parser("cancel", help="stop a queued or running run")
    ca.add_argument("run_id")
    sv = sub.add_parser("_supervise", help=argparse.SUPPRESS)
    sv.add_argument("dir")
    return ap


def main(argv: "list[str] | None" = None) -> int:
    args = _cli_parser().parse_args(argv)
    try:
        if args.cmd == "_supervise":
            return _supervise_main(Path(args.dir))
        if args.cmd == "launch":
            opts = vars(args)
            over = {k: opts[k] for k in ("max_concurrent", "kill_grace") if opts.get(k) is not None}
            if opts.get("max_seconds") is not None:
                over["max_seconds"] = opts["max_seconds"]
            limits = RunLimits.from_env(**over)
            cfg = {k: v for k, v in opts.items() if (k in TRAIN_OPTIONS or k == "name") and v is not None}
            run = launch(cfg, limits)
            print(f"queued run {run.id} in {run.dir} (at most {limits.max_concurrent} at once; "
                  f"time limit {run.status.get('max_seconds'):g} s)", file=sys.stderr)
            print(run.id)
            return 0
        if args.cmd == "list":
            runs = list_runs()
            if not runs:
                print(f"no runs in {runs_root()}")
            for r in runs:
                extra = f"  ({r.reason})" if r.reason else ""
                print(f"{r.id}  {r.state:<9}  {r.device or '-':<6}  {_iso(r.created)}  {Path(r.config.get('data', '')).name}{extra}")
            return 0
        if args.cmd == "show":
            r = get(args.run_id)
            print(f"run      {r.id}" + (f" ({r.config['name']})" if r.config.get("name") else ""))
            print(f"state    {r.state}" + (f": {r.reason}" if r.reason else ""))
            print(f"device   {r.device or '-'}")
            print(f"pid      {r.pid or '-'}")
            print(f"created  {_iso(r.created)}   started {_iso(r.started)}   ended {_iso(r.ended)}")
            print(f"data     {r.config.get('data')}")
            print(f"model    {r.model_dir or '-'}")
            evs = metrics(r.id)
            print(f"metrics  {len(evs)} events")
            last_step = None
            for ev in evs:
                if ev.get("type") == "step":
                    last_step = ev
                    continue
                print("  " + _fmt_event(ev))
            if last_step and r.active:
                print("  latest " + _fmt_event(last_step))
            return 0
        if args.cmd == "cancel":
            r = cancel(args.run_id)
            print(f"{r.id} {r.state}" + (f": {r.reason}" if r.reason else ""))
            return 0
    except GateScopeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 2


def _supervise_main(d: Path) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in the launching terminal is not for us
    try:
        return supervise(d)
    except BaseException as e:  # record why, rather than leave the run "running" until the next look
        with contextlib.suppress(Exception), _locked(d.parent):
            st = _read_json(d / "status.json") or {}
            if st.get("state") in ACTIVE:
                if pid_alive(st.get("pid"), st.get("pid_identity")):
                    _signal_group(st.get("pid"), signal.SIGKILL)  # no orphan may write a checkpoint later
                _discard_partial_model(d)
            _update_status(d, state="failed", reason=f"supervisor error: {type(e).__name__}: {e}", ended=_now())
        raise


list = list_runs  # noqa: A001 - the issue's name for it: runs.list(); the builtin is not used in this module


if __name__ == "__main__":
    sys.exit(main())
