"""The registry of background training runs: run directories on disk, their status files (written
atomically), listing and reading them. Torch-free and streamlit-free: the supervisor, the CLI and
the pages read runs through it without loading a model.

A run is a directory ``<root>/<id>/`` under the runs root (``$GATESCOPE_RUNS``, default ``./runs``)::

    config.json    the training options as given (plus the run's limits); never changed afterwards
    status.json    state, pids, device, times, reason, return code (rewritten atomically)
    metrics.jsonl  progress events from ``sentiment.train --metrics`` (start / step / epoch / done / error)
    log.txt        the training process's stdout and stderr, and the supervisor's notes
    model/         the checkpoint, renamed into place by the trainer only when training finished
    cancel         a marker file: someone asked for the run to stop

States: ``queued`` -> ``running`` -> ``finished`` | ``failed`` | ``cancelled`` (a queued run can also
be cancelled, or fail). Terminal states are never changed again, so nothing of a finished run is
ever overwritten. Nothing is kept in memory: ``list_runs()`` and ``get()`` rebuild the registry from
the directories and reconcile it with the processes, so a run whose processes vanished (a crash, a
reboot) reads as failed with the reason "process died". Writers hold the lock on ``<root>/.lock``.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from sentiment import spec
from sentiment.errors import GateScopeError
from sentiment.jsonio import read_json, write_json_atomic
from sentiment.spec import RUNS_ENV

STATES = ("queued", "running", "finished", "failed", "cancelled")
ACTIVE = ("queued", "running")
TERMINAL = ("finished", "failed", "cancelled")
PROCESS_DIED = "process died"
START_GRACE = 30.0  # a queued run may lack its supervisor's pid for this long (it is being launched)

ID_RE = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{8}$")

clock: Callable[[], float] = time.time  # the registry's clock (tests replace it with a fake one)


class RunError(GateScopeError):
    """A run that does not exist, or an action the run's state does not allow."""


def _now() -> float:
    return clock()


def _iso(t: float | None) -> str:
    if not t:
        return "-"
    return datetime.datetime.fromtimestamp(t).isoformat(sep=" ", timespec="seconds")


def locked(root: Path) -> FileLock:
    """An exclusive lock on ``<root>/.lock`` (between processes and between threads), for ``with``: flock on
    Linux, so the kernel drops it when its holder dies, however it dies."""
    return FileLock(root / ".lock")


# Liveness stays hand-written: psutil's create_time() and boot_time() follow the wall clock (an NTP step
# changes them, psutil issues #2526 and #2541), so a recorded one could make a live run read as dead; the
# boot id and the start in clock ticks since boot never change while the process lives.
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


def root_path(root: str | Path | None = None) -> Path:
    """``root`` as an absolute path, or the runs root."""
    return Path(root).resolve() if root else runs_root()


def runs_root() -> Path:
    """The runs root: $GATESCOPE_RUNS or ./runs, as an absolute path (created if missing)."""
    root = Path(os.environ.get(RUNS_ENV) or "runs").expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def uploads_dir(root: Path | None = None) -> Path:
    """Where accepted uploads are kept (see sentiment.data.uploads)."""
    return (root or runs_root()) / spec.UPLOADS_DIRNAME

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
    def node(self) -> str | None:
        """The Ray node the run trains on (its address and id), for a run on a Ray cluster."""
        return self.status.get("node")

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
    if not ID_RE.match(run_id or ""):
        raise RunError("run.bad_id", run=run_id, example="20260101-120000-0a1b2c3d")
    d = (root or runs_root()) / run_id
    if not d.is_dir():
        raise RunError("run.no_run", run=run_id, folder=d.parent)
    return d


def read_run(d: Path) -> Run:
    config = read_json(d / "config.json") or {}
    status = read_json(d / "status.json")
    if status is None:
        status = {"state": "failed", "reason": "status.json is missing or unreadable", "unreadable": True}
    state = status.get("state")
    if state not in STATES:
        status = dict(status, state="failed", reason=f"unknown state {state!r} in status.json")
    if not status.get("device") and (d / "metrics.jsonl").is_file():
        start = first_event(d / "metrics.jsonl", "start")
        if start and start.get("device"):
            status["device"] = start["device"]
    return Run(d.name, d, status["state"], config, status)


def update_status(d: Path, **changes: Any) -> dict:
    """Read-modify-write status.json (caller holds the lock). A terminal state is never changed."""
    status = read_json(d / "status.json")
    if status is None:
        raise RunError("run.no_status", path=d / "status.json")
    if status.get("state") in TERMINAL:
        return status
    status.update(changes)
    write_json_atomic(d / "status.json", status)
    return status


def reconcile_changes(d: Path, status: dict) -> dict | None:
    """Status changes for an active run whose processes are gone, else None (no side effects). A run on
    a Ray cluster is judged by Ray's job status instead (``ray_jobs.changes``)."""
    if status.get("backend") == "ray":
        from sentiment.training import ray_jobs  # imports ray only when a run is on a cluster

        return ray_jobs.changes(d, status)
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


def settle(d: Path) -> None:
    """Record the end of an active run whose processes are gone (caller holds the lock)."""
    st = read_json(d / "status.json")
    if st and st.get("state") in ACTIVE and st.get("backend") == "ray":
        from sentiment.training import ray_jobs

        ray_jobs.settle_ray(d)  # Ray's job status; stops a job past its time limit
    elif st and st.get("state") in ACTIVE:
        ch = reconcile_changes(d, st)
        if ch:
            if ch.get("state") in ("failed", "cancelled"):
                discard_partial_model(d)
            update_status(d, **ch)


def needs_settling(d: Path) -> bool:
    st = read_json(d / "status.json")
    return bool(st and st.get("state") in ACTIVE and reconcile_changes(d, st) is not None)


def discard_partial_model(d: Path) -> None:
    """A run that did not finish must not leave a checkpoint (or a half-written one) behind."""
    for p in d.iterdir():
        if p.name == "model" or p.name.startswith(".model.tmp-"):
            shutil.rmtree(p, ignore_errors=True)


def run_dirs(root: Path) -> list[Path]:
    """The run directories (a directory still being created by launch(), without status.json for
    less than START_GRACE seconds, is left out)."""
    try:
        dirs = [p for p in root.iterdir() if ID_RE.match(p.name) and p.is_dir()]
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


def scan(root: Path, reconcile: bool = True) -> list[Run]:
    """All runs, oldest first. With ``reconcile``, dead active runs are marked failed first."""
    dirs = run_dirs(root)
    if reconcile:
        submit_waiting(root, dirs)
    stale = [d for d in dirs if needs_settling(d)] if reconcile else []
    if stale:
        with locked(root):
            for d in stale:
                settle(d)
    return _sorted([read_run(d) for d in dirs])


def list_runs(root: str | Path | None = None) -> list[Run]:
    """Every run under the root, oldest first, reconciled with the live processes (also ``runs.list``)."""
    return scan(root_path(root))


def get(run_id: str, root: str | Path | None = None) -> Run:
    """One run (reconciled). RunError if there is no such run."""
    r = root_path(root)
    d = run_dir(run_id, r)
    submit_waiting(r, [d])
    if needs_settling(d):
        with locked(r):
            settle(d)
    return read_run(d)


def submit_waiting(root: Path, dirs: list[Path]) -> None:
    """When one of ``dirs`` is a Ray run waiting to be submitted, submit the queued runs a slot is free
    for (``ray_jobs.dispatch``); a cluster that does not answer leaves them queued for the next look."""
    waiting = False
    for d in dirs:
        st = read_json(d / "status.json") or {}
        waiting = waiting or (st.get("backend") == "ray" and st.get("state") == "queued" and not st.get("submitted"))
    if not waiting:
        return
    from sentiment.training import ray_jobs

    with contextlib.suppress(RunError), locked(root):
        ray_jobs.dispatch(root)


def first_event(path: Path, kind: str) -> dict | None:
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


def metrics(run_id: str, root: str | Path | None = None) -> list[dict]:
    """The run's progress events so far (start, step, epoch, done), in order. A line still being
    written is left out."""
    d = run_dir(run_id, root_path(root))
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
    d = run_dir(run_id, root_path(root))
    try:
        with open(d / "log.txt", "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4 * max_chars))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return text[-max_chars:]


def progress(events: list[dict]) -> dict:
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


def new_run_dir(root: Path) -> Path:
    """A fresh directory with a new id: os.mkdir is atomic, so an id is never handed out twice."""
    for _ in range(100):
        rid = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(4)
        d = root / rid
        try:
            os.mkdir(d)
            return d
        except FileExistsError:
            continue
    raise RunError("run.no_new_dir", path=root)


