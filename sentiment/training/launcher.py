"""Starting and stopping background training runs: a run's options checked against the training
schema (``sentiment.training.config``, the parser and config of ``python -m sentiment.train``) plus the
runs' own limits (``RunLimits``), the run created in the registry, and the runs root's supervisor
started if none is serving it (``sentiment.training.supervisor``: one per runs root, however many runs
wait). Cancelling a run. Torch-free at import; looking a dataset or a model up imports the data and
modeling layers.

The priority policy of runs started from the app (``RunLimits.browser``): on a shared server they train
at a lower priority (nice 10) with the CPU threads that leave one core to the interactive pages;
``$GATESCOPE_RUN_POLICY=workstation`` gives them normal priority and every core (one person, one machine).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from sentiment.errors import GateScopeError
from sentiment.jsonio import read_json, write_json_atomic
from sentiment.spec import MAX_RUNS_ENV, PROJECT_ROOT, RUN_POLICY_ENV, RUN_SECONDS_ENV
from sentiment.training import config as schema
from sentiment.training import ray_jobs
from sentiment.training.registry import (
    TERMINAL,
    Run,
    RunError,
    _boot_id,
    _now,
    discard_partial_model,
    get,
    locked,
    new_run_dir,
    pid_alive,
    process_identity,
    read_run,
    root_path,
    run_dir,
    scan,
    update_status,
    uploads_dir,
)

POLL = 0.2  # how often cancel() looks whether the run has ended
SUPERVISOR_LOCK = ".supervisor.lock"  # held (flock) by the runs root's supervisor while it lives
SUPERVISOR_INFO = ".supervisor.json"  # the supervisor serving the root (written by it; "left" once it has left)
SUPERVISOR_SPAWNED = ".supervisor-spawned.json"  # the supervisor launch() started last
# sentiment.train options a run does not take: the run owns where it writes, and a refit trains an exact
# number of epochs, which a run's time limit (always passed as --max-seconds) could cut short.
RUN_OWNED_OPTIONS = ("out", "metrics")
SHELL_ONLY_OPTIONS = ("refit", "average_last", "augment")  # augment names files on the server
RUN_LABELS = ("name", "dataset")  # a run's label and the data's display name; not train options
POLICIES = ("shared", "workstation")


class RunConfigError(RunError):
    """A proposed run configuration that is invalid or over the limits; nothing was started."""


def as_run_config_error(e: GateScopeError) -> RunConfigError:
    """``e`` as a RunConfigError with the same code and params (the same message, translated alike)."""
    return RunConfigError(e.code, **e.params) if e.code else RunConfigError.plain(str(e))


# ---- limits ------------------------------------------------------------------------------------


# Runs that may wait in a runs root's queue at once: the Train page's cap, which the command line
# (python -m sentiment.runs launch) keeps too, since both fill the same queue.
MAX_QUEUED = 20


@dataclass(frozen=True)
class RunLimits:
    """What a launch may ask for. ``RunLimits()`` is for people at a terminal; ``RunLimits.browser()``
    adds the caps and the priority policy for runs started from the web page."""

    max_concurrent: int = 1  # runs training at once; the others wait queued
    max_seconds: float = 900.0  # per-run time limit (passed to train as --max-seconds)
    kill_grace: float = 60.0  # past max_seconds by this much, the run is killed outright
    max_epochs: int | None = None
    max_limit: int | None = None  # at most this many training reviews (train's --limit)
    allow_any_path: bool = True  # False: data must be a dataset of the data folder or an upload
    max_queued: int | None = None  # at most this many runs waiting at once
    nice: int = 0  # the training process's niceness (higher: lower priority)
    spare_cores: int = 0  # CPU cores left to other work (the interactive pages) when choosing --threads

    @classmethod
    def from_env(cls, **overrides: Any) -> RunLimits:
        """Defaults, with $GATESCOPE_MAX_RUNS and $GATESCOPE_RUN_SECONDS applied, then ``overrides``."""
        kw: dict[str, Any] = {}
        try:
            if os.environ.get(MAX_RUNS_ENV):
                kw["max_concurrent"] = int(os.environ[MAX_RUNS_ENV])
            if os.environ.get(RUN_SECONDS_ENV):
                kw["max_seconds"] = float(os.environ[RUN_SECONDS_ENV])
        except ValueError as e:
            raise RunConfigError("run.env_number", a=MAX_RUNS_ENV, b=RUN_SECONDS_ENV, err=e) from None
        kw.update(overrides)
        return cls(**kw)

    @classmethod
    def browser(cls, **overrides: Any) -> RunLimits:
        """Caps for runs started from the browser: 10 epochs, 5,000 training reviews, 15 minutes, 20 runs
        waiting; and the priority policy of $GATESCOPE_RUN_POLICY (shared, the default: nice 10 and a
        core left to the pages; workstation: normal priority, every core)."""
        kw: dict[str, Any] = dict(max_epochs=10, max_limit=5000, allow_any_path=False, max_queued=MAX_QUEUED,
                                  **policy_limits())
        kw.update(overrides)
        return cls.from_env(**kw)

    def threads(self, cpus: int | None = None) -> int:
        """The torch threads of one run: the cores not kept spare, shared by the runs training at once."""
        cpus = cpus or os.cpu_count() or 1
        return max(1, (cpus - self.spare_cores) // max(1, self.max_concurrent))


def policy_limits() -> dict[str, int]:
    """The priority of app-started runs under $GATESCOPE_RUN_POLICY (see the module's docstring)."""
    policy = (os.environ.get(RUN_POLICY_ENV) or "shared").strip().lower()
    if policy not in POLICIES:
        raise RunConfigError("run.policy", env=RUN_POLICY_ENV, policy=policy, a=POLICIES[0], b=POLICIES[1])
    return dict(nice=10, spare_cores=1) if policy == "shared" else dict(nice=0, spare_cores=0)


# ---- checking a run's options --------------------------------------------------------------------


def run_options() -> dict[str, argparse.Action]:
    """The options of ``python -m sentiment.train`` a run may set (the trainer's own parser)."""
    return {k: a for k, a in schema.options().items() if k not in RUN_OWNED_OPTIONS + SHELL_ONLY_OPTIONS}


def _typed(key: str, action: argparse.Action, value: Any) -> Any:
    """``value`` as the parser's option ``key`` takes it; RunConfigError saying why not."""
    option = key.replace("_", "-")
    if action.choices:
        if str(value) not in action.choices:
            raise RunConfigError("run.option_choices", option=option, choices=", ".join(map(str, action.choices)))
        return str(value)
    if schema.is_switch(action):
        if isinstance(value, str):
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise RunConfigError("run.option_switch", option=option, yes="true", no="false")
            return value.lower() in ("true", "1", "yes")
        return bool(value)
    kind = action.type or str
    if kind is int and isinstance(value, float) and not value.is_integer():
        raise RunConfigError("run.option_whole", option=option)
    try:
        typed = kind(value)
    except (TypeError, ValueError):
        raise RunConfigError("run.option_type", option=option, value=value, kind=kind.__name__) from None
    if kind is float and not math.isfinite(typed):
        raise RunConfigError("run.option_finite", option=option)
    return typed


def typed_options(config: Mapping[str, Any]) -> dict:
    """The run's options by the trainer's parser: names, values and types (RunConfigError otherwise)."""
    known = run_options()
    cfg: dict[str, Any] = {}
    for key, value in dict(config).items():
        key = key.replace("-", "_")
        if key in RUN_LABELS:
            if value is not None:
                cfg[key] = str(value)
            continue
        if key in RUN_OWNED_OPTIONS:
            raise RunConfigError("run.owned_option", option=key)
        if key in SHELL_ONLY_OPTIONS:
            if value is None or str(value).lower() == {"refit": "false", "average_last": "1"}[key]:
                continue  # the default: no refit, the last epoch's weights
            raise RunConfigError("run.shell_only", option=key.replace("_", "-"), command="python -m sentiment.train --refit")
        if key not in known:
            raise RunConfigError("run.unknown_option", option=key, known=", ".join(known))
        if value is None:
            continue
        try:
            cfg[key] = _typed(key, known[key], value)
        except ValueError as e:
            raise RunConfigError("run.option_invalid", option=key.replace("_", "-"), err=e) from None
    return cfg


def check_values(cfg: Mapping[str, Any]) -> None:
    """The values' own rules, as ``python -m sentiment.train`` checks them (TrainConfig.validate)."""
    names = {f.name for f in fields(schema.TrainConfig)}
    train_cfg = schema.TrainConfig(out="model", **{k: v for k, v in cfg.items() if k in names and k != "out"})
    try:
        train_cfg.validate(check_device=False)  # a missing GPU is the training process's to report
        schema.check_threads(cfg.get("threads"))
    except GateScopeError as e:
        raise as_run_config_error(e) from None


def check_limits(cfg: dict, limits: RunLimits) -> None:
    """The runs' own limits (epochs, training reviews, time); fills in the review cap and the time limit."""
    epochs = cfg.get("epochs", schema.TrainConfig(data="", out="").epochs)
    if limits.max_epochs is not None and epochs > limits.max_epochs:
        raise RunConfigError("run.epochs_over", option="epochs", epochs=epochs, most=limits.max_epochs)
    if limits.max_limit is not None:
        if cfg.get("limit") is None:
            cfg["limit"] = limits.max_limit  # the cap on dataset size; the card records it
        elif cfg["limit"] > limits.max_limit:
            raise RunConfigError("run.limit_over", option="limit", n=cfg["limit"], most=limits.max_limit)
    if cfg.get("max_seconds") is not None and cfg["max_seconds"] > limits.max_seconds:
        raise RunConfigError("run.seconds_over", option="max-seconds", seconds=cfg["max_seconds"], most=limits.max_seconds)
    cfg.setdefault("max_seconds", float(limits.max_seconds))


def check_config(config: Mapping[str, Any], limits: RunLimits | None = None, root: str | Path | None = None) -> dict:
    """Validate a proposed run by the trainer's schema and ``limits``; returns the normalized config
    (data resolved to an absolute path, time limit filled in). Raises RunConfigError, before anything
    is started, with a message meant for a person."""
    limits = limits or RunLimits.from_env()
    cfg = typed_options(config)
    if not cfg.get("data"):
        raise RunConfigError("run.no_data", names="imdb, hotel")
    check_values(cfg)
    check_limits(cfg, limits)
    r = Path(root).resolve() if root else None
    cfg["data"], dataset = _resolve_data(cfg["data"], limits, r)
    cfg.setdefault("dataset", dataset)
    if cfg.get("init"):
        cfg["init"] = _resolve_init(cfg, limits, r)
    return cfg


def _resolve_init(cfg: Mapping[str, Any], limits: RunLimits, root: Path | None = None) -> str:
    """The absolute path of the model a run starts from (``init``): a catalog key (shipped:NAME,
    run:ID), a model directory or a shipped model's name. It must load, agree with the run's other
    options and read the data's language; browser runs may start only from a model of the catalog."""
    from sentiment.data import readers
    from sentiment.modeling import (
        catalog,  # import torch; only needed for a retraining run
        checkpoint,
    )
    from sentiment.training import train

    value = str(cfg["init"])
    entries = [e for e in catalog.list_models(runs=root) if e.available]
    by_key = {e.key: e for e in entries}
    try:
        path = Path(by_key[value].path).resolve() if value in by_key else train.find_init(value)
    except GateScopeError as e:
        raise as_run_config_error(e) from None
    if not limits.allow_any_path and path not in {Path(e.path).resolve() for e in entries}:
        raise RunConfigError("run.init_not_listed", option="init", value=value)
    try:
        ckpt = checkpoint.load(path)
    except GateScopeError as e:
        raise RunConfigError("run.init_unusable", option="init", cause=e) from None
    conflicts = train.init_conflicts(cfg, ckpt)
    if conflicts:
        raise RunConfigError("run.init_conflicts", option="init", conflicts="; ".join(conflicts))
    try:
        language = readers.guess_dataset_language(cfg["data"])
    except GateScopeError:
        language = "unknown"  # the training process says what is wrong with the data
    if language in train.LANGUAGE_NAMES and language != ckpt.language:
        raise RunConfigError("run.init_language", option="init", model=train.language_name(ckpt.language),
                             data=train.language_name(language))
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
            raise RunConfigError("run.no_dataset", option="data", value=value,
                                 folders=", ".join(str(x) for x in readers.data_dirs()))
        path, name = Path(found).resolve(), value
    if not limits.allow_any_path:
        up = uploads_dir(root).resolve()
        known = {Path(x["path"]) for x in available_datasets()}
        if path not in known and up not in path.parents:
            raise RunConfigError("run.data_not_listed", option="data", value=value)
    return str(path), name


def available_datasets() -> list[dict]:
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


def train_argv(config: Mapping[str, Any], run: Path) -> list[str]:
    """The command line of a run's training process (the options the trainer's parser knows)."""
    known = run_options()
    argv = [sys.executable, "-m", "sentiment.train"]
    for key, value in config.items():
        if key not in known or value is None:
            continue
        if schema.is_switch(known[key]):
            argv.append(schema.flag(key) if value else "--no-" + key.replace("_", "-"))
        else:
            argv += [schema.flag(key), str(value)]
    return argv + ["--out", str(run / "model"), "--metrics", str(run / "metrics.jsonl")]


# ---- launching: the run, and the root's supervisor ---------------------------------------------


def _reap_later(proc: subprocess.Popen) -> None:
    """Collect the supervisor's exit status when it ends, so it never lingers as a zombie."""
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()


def ensure_supervisor(root: Path) -> tuple[int | None, str | None]:
    """The (pid, identity) of the supervisor that will serve ``root``: the one serving it now, else one
    started and not serving yet, else one started now (caller holds the lock). A supervisor takes the
    root and leaves it under this same lock, so a run queued here is always served, and never by two."""
    serving = read_json(root / SUPERVISOR_INFO) or {}
    if not serving.get("left") and pid_alive(serving.get("pid"), serving.get("identity")):
        return serving["pid"], serving.get("identity")
    pending = read_json(root / SUPERVISOR_SPAWNED) or {}
    if pending.get("pid") != serving.get("pid") and pid_alive(pending.get("pid"), pending.get("identity")):
        return pending["pid"], pending.get("identity")
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # the package: installed, or the checkout (cwd) for python -m
    with open(root / ".supervisor.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sentiment.runs", "_supervise", str(root)],
            cwd=str(PROJECT_ROOT), env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True, close_fds=True,
        )
    _reap_later(proc)
    ident = process_identity(proc.pid)
    write_json_atomic(root / SUPERVISOR_SPAWNED, {"pid": proc.pid, "identity": ident, "spawned": _now()})
    return proc.pid, ident


def _queue_room(root: Path, limits: RunLimits) -> None:
    """RunConfigError when ``limits.max_queued`` runs already wait (caller holds the lock)."""
    if limits.max_queued is None:
        return
    waiting = sum(1 for r in scan(root, reconcile=False) if r.state == "queued")
    if waiting >= limits.max_queued:
        raise RunConfigError("run.queue_full", n=waiting, most=limits.max_queued)


def launch(config: Mapping[str, Any], limits: RunLimits | None = None, root: str | Path | None = None) -> Run:
    """Validate ``config`` (train options: data, cell, epochs, ...; plus an optional ``name``), create
    the run (queued) and make sure the runs root's supervisor will start it. Returns at once; poll
    ``get(run.id)``."""
    limits = limits or RunLimits.from_env()
    if limits.max_concurrent < 1:
        raise RunConfigError("run.at_least", option="max_concurrent", lo=1)
    cfg = check_config(config, limits, root)
    cfg.setdefault("threads", limits.threads())
    r = root_path(root)
    r.mkdir(parents=True, exist_ok=True)
    cluster = ray_jobs.address()
    if cluster:
        ray_jobs.check_ready(r, cluster)  # refused clearly when the cluster's nodes cannot see the runs folder
    with locked(r):
        _queue_room(r, limits)
        d = new_run_dir(r)
        write_json_atomic(d / "config.json", dict(cfg, limits=asdict(limits)))
        write_json_atomic(d / "status.json", {
            "id": d.name, "state": "queued", "created": _now(), "started": None, "ended": None,
            "pid": None, "pid_identity": None, "supervisor_pid": None, "supervisor_identity": None,
            "boot_id": _boot_id(), "device": None, "reason": None, "return_code": None,
            "max_concurrent": limits.max_concurrent, "max_seconds": cfg["max_seconds"],
            "kill_grace": limits.kill_grace, "nice": limits.nice,
            **({"backend": ray_jobs.BACKEND, "ray_address": cluster} if cluster else {}),
        })
        if cluster:
            return _launch_on_ray(r, d)
        try:
            pid, ident = ensure_supervisor(r)
        except OSError as e:
            update_status(d, state="failed", reason=f"could not start the supervisor ({e})", ended=_now())
        else:
            update_status(d, supervisor_pid=pid, supervisor_identity=ident)
    return read_run(d)


def _launch_on_ray(root: Path, d: Path) -> Run:
    """Submit the queued run now if a slot is free, else make sure a supervisor submits it when one frees
    up (caller holds the lock). A cluster that stopped answering leaves it queued for the next look."""
    with contextlib.suppress(RunError):
        ray_jobs.dispatch(root)
    if ray_jobs.unsubmitted(root):
        try:
            ensure_supervisor(root)
        except OSError as e:
            update_status(d, state="failed", reason=f"could not start the supervisor ({e})", ended=_now())
    return read_run(d)


# ---- cancelling ----------------------------------------------------------------------------------


def signal_group(pid: int | None, sig: int) -> None:
    if not pid:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(int(pid), sig)


def cancel(run_id: str, grace: float = 5.0, root: str | Path | None = None) -> Run:
    """Stop a queued or running run and mark it cancelled: SIGTERM to the training process group,
    SIGKILL after ``grace`` seconds. RunError if the run has already ended."""
    r = root_path(root)
    d = run_dir(run_id, r)
    with locked(r):
        st = read_json(d / "status.json") or {}
        state = st.get("state")
        if state in TERMINAL:
            if state == "finished":
                raise RunError("run.already_finished", run=run_id)
            raise RunError("run.already_ended", run=run_id, state=state)
        on_ray = ray_jobs.is_ray(st)  # a Ray job: stopped through Ray (below, without this lock)
        if not on_ray:
            (d / "cancel").touch()
            if state == "queued":
                update_status(d, state="cancelled", reason="cancelled while queued", ended=_now())
                return read_run(d)
            pid, ident = st.get("pid"), st.get("pid_identity")
            if pid_alive(pid, ident):
                signal_group(pid, signal.SIGTERM)
    if on_ray:
        return ray_jobs.cancel(d, r)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and pid_alive(pid, ident):
        time.sleep(0.05)
    if pid_alive(pid, ident):
        signal_group(pid, signal.SIGKILL)
    for _ in range(int(5 / POLL)):  # the supervisor records the end (get() does, if it is gone)
        run = get(run_id, r)
        if run.state in TERMINAL:
            return run
        time.sleep(POLL)
    with locked(r):  # a supervisor alive but stuck: record it here
        if not pid_alive(pid, ident):
            discard_partial_model(d)
        update_status(d, state="cancelled", reason="cancelled", ended=_now())
    return read_run(d)


