"""The supervisor of a runs root: one process per root (``python -m sentiment.runs _supervise ROOT``,
started by ``launcher.ensure_supervisor``), however many runs wait. It holds the lock (an flock, through
filelock) on ``<root>/.supervisor.lock`` while it lives; starts the queued runs first come first served while
fewer than ``max_concurrent`` train (each ``python -m sentiment.train`` in a session of its own, at the
niceness its limits ask for); enforces each run's hard time limit; records how each ended; and leaves
when nothing waits or trains (deciding so under the registry's lock, so a run queued meanwhile is
never left without a supervisor). Torch-free: it starts in milliseconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from sentiment.jsonio import read_json, write_json_atomic
from sentiment.spec import PROJECT_ROOT, RUN_DIR_ENV
from sentiment.training import ray_jobs
from sentiment.training.launcher import SUPERVISOR_INFO, SUPERVISOR_LOCK, signal_group, train_argv
from sentiment.training.registry import (
    ACTIVE,
    Run,
    _now,
    discard_partial_model,
    first_event,
    locked,
    pid_alive,
    process_identity,
    read_run,
    run_dirs,
    settle,
    update_status,
)

POLL = 0.2  # how often the supervisor looks at its training processes
QUEUE_POLL = 1.0  # how often it reads the queue (every run's status) while no run ends
TERM_GRACE = 5.0  # after SIGTERM at the hard time limit, SIGKILL this many seconds later


@dataclass
class Training:
    """A training process this supervisor started, and what it watches for."""

    dir: Path
    proc: subprocess.Popen
    limit: float  # the run's time limit (the trainer stops itself after the epoch that passes it)
    hard: float  # past this, the supervisor stops the process
    t0: float  # time.monotonic() at the start
    kill_at: float | None = None  # SIGKILL at this time.monotonic() (set when the time limit passed)
    device_noted: bool = False


def note(d: Path, msg: str) -> None:
    """A line of the supervisor's in the run's log."""
    with contextlib.suppress(OSError), open(d / "log.txt", "a", encoding="utf-8") as f:
        f.write(f"[runs {time.strftime('%H:%M:%S')}] {msg}\n")


def hold_root(root: Path) -> FileLock | None:
    """The held lock on <root>/.supervisor.lock: this process serves the root; None if another does. An
    flock: the kernel drops it when this process dies, so a killed supervisor never blocks the next one."""
    lock = FileLock(root / SUPERVISOR_LOCK)
    try:
        lock.acquire(blocking=False)
    except Timeout:
        return None
    return lock


def _lower_priority(nice: int):
    return lambda: os.nice(nice)


def start_training(d: Path, status: dict) -> Training | None:
    """Start a queued run's training process (caller holds the lock); None if it could not start."""
    config = read_json(d / "config.json") or {}
    argv = train_argv(config, d)
    note(d, "starting: " + " ".join(argv[1:]))
    nice = int((config.get("limits") or {}).get("nice") or 0)
    env = dict(os.environ, PYTHONUNBUFFERED="1", **{RUN_DIR_ENV: str(d)})  # errors that may quote a file: train.report_error
    try:
        with open(d / "log.txt", "ab") as log:
            child = subprocess.Popen(argv, cwd=str(PROJECT_ROOT), env=env, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=log, start_new_session=True, close_fds=True,
                                     preexec_fn=_lower_priority(nice) if nice > 0 else None)
    except OSError as e:
        update_status(d, state="failed", reason=f"could not start training ({e})", ended=_now())
        return None
    update_status(d, state="running", pid=child.pid, pid_identity=process_identity(child.pid), started=_now(), argv=argv)
    limit = float(status.get("max_seconds") or config.get("max_seconds") or 900)
    return Training(d, child, limit, limit + float(status.get("kill_grace") or 60), time.monotonic())


def scan_locked(root: Path) -> list[Run]:
    """All runs, settled, oldest first (caller holds the lock)."""
    dirs = run_dirs(root)
    for d in dirs:
        settle(d)
    return sorted((read_run(d) for d in dirs), key=lambda r: (float(r.status.get("created") or 0), r.id))


def start_queued(root: Path, trainings: dict[str, Training], waiting_noted: set[str]) -> int:
    """Adopt the queued runs and start those a slot is free for, first come first served (caller holds
    the lock): a run starts while fewer than its max_concurrent runs train or wait before it. Returns how
    many runs still wait."""
    me = {"supervisor_pid": os.getpid(), "supervisor_identity": process_identity(os.getpid())}
    runs = scan_locked(root)
    running = sum(1 for r in runs if r.state == "running")
    ahead = 0
    for r in (r for r in runs if r.state == "queued"):
        if r.status.get("supervisor_pid") != me["supervisor_pid"]:
            update_status(r.dir, **me)
        if (r.dir / "cancel").exists():
            update_status(r.dir, state="cancelled", reason="cancelled while queued", ended=_now())
            continue
        if running + ahead < int(r.status.get("max_concurrent") or 1):
            started = start_training(r.dir, r.status)
            if started is not None:
                trainings[r.id] = started
                running += 1
            continue
        ahead += 1
        if r.id not in waiting_noted:
            note(r.dir, "queued: waiting for a free slot")
            waiting_noted.add(r.id)
    return ahead


def failure_reason(d: Path, rc: int) -> str:
    """Why a training process that exited with ``rc`` failed, for every visitor of the Train page: the
    trainer's own reason (an "error" event, which names a file but never quotes it), else the exit code
    and the exception's type; never a line of the log (it may quote a file the trainer read)."""
    events = [e for e in _events(d) if e.get("type") == "error" and isinstance(e.get("reason"), str)]
    if events:
        return events[-1]["reason"]
    kind = _exception_type(d)
    return f"training exited with code {rc}" + (f" ({kind}; the run's log has the details)" if kind else "")


def _events(d: Path) -> list[dict]:
    out = []
    with contextlib.suppress(OSError), open(d / "metrics.jsonl", encoding="utf-8") as f:
        for line in f:
            with contextlib.suppress(ValueError):
                ev = json.loads(line)
                if isinstance(ev, dict):
                    out.append(ev)
    return out


def _exception_type(d: Path) -> str | None:
    """The type of the exception a Python traceback at the end of the run's log ends with (only its name)."""
    try:
        with open(d / "log.txt", "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 20000))
            tail = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    for ln in reversed([ln.strip() for ln in tail.splitlines() if ln.strip()]):
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_.]*(?:Error|Exception|Interrupt))\b", ln)
        if m:
            return m.group(1)
    return None


def outcome(t: Training, timed_out: bool) -> dict[str, Any]:
    """The status changes that record how a run's training process ended."""
    d, rc = t.dir, t.proc.returncode
    complete = (d / "model" / "card.json").is_file() and (d / "model" / "model.safetensors").is_file()
    changes: dict[str, Any] = {"ended": _now(), "return_code": rc}
    start = first_event(d / "metrics.jsonl", "start") or {}
    if start.get("device"):
        changes["device"] = start["device"]
    if rc == 0 and complete:
        return dict(changes, state="finished", reason=None)
    discard_partial_model(d)
    if (d / "cancel").exists():
        return dict(changes, state="cancelled", reason="cancelled")
    if timed_out:
        return dict(changes, state="failed",
                    reason=f"time limit of {t.limit:g} s exceeded; the training process was stopped")
    if rc is not None and rc < 0:
        try:
            signame = signal.Signals(-rc).name
        except ValueError:
            signame = f"signal {-rc}"
        return dict(changes, state="failed", reason=f"the training process was killed ({signame})")
    if rc == 0:
        return dict(changes, state="failed", reason="training exited without writing a checkpoint")
    return dict(changes, state="failed", reason=failure_reason(d, rc))


def watch(root: Path, t: Training) -> bool:
    """Look at one training process: note its device, enforce the hard time limit, and record its end.
    True when it has ended (and its end is recorded)."""
    if not t.device_noted:
        start = first_event(t.dir / "metrics.jsonl", "start")
        if start:
            t.device_noted = True
            with locked(root):
                update_status(t.dir, device=start.get("device"))
    if t.proc.poll() is None:
        now = time.monotonic()
        if t.kill_at is None and now - t.t0 > t.hard:
            note(t.dir, f"time limit: {t.limit:g} s (+{t.hard - t.limit:g} s grace) passed; stopping the training process")
            signal_group(t.proc.pid, signal.SIGTERM)
            t.kill_at = now + TERM_GRACE
        elif t.kill_at is not None and now > t.kill_at:
            signal_group(t.proc.pid, signal.SIGKILL)
        return False
    with locked(root):
        st = update_status(t.dir, **outcome(t, timed_out=t.kill_at is not None))
    note(t.dir, f"{st.get('state')}" + (f": {st.get('reason')}" if st.get("reason") else ""))
    return True


def supervise(root: Path) -> int:
    """Body of the supervisor process of ``root``: serve the queue until nothing waits or trains."""
    root = Path(root).resolve()
    me = {"pid": os.getpid(), "identity": process_identity(os.getpid()), "started": _now()}
    with locked(root):  # take the root under the registry's lock (see launcher.ensure_supervisor)
        holder = hold_root(root)
        if holder is None:
            return 0  # another supervisor serves this root
        write_json_atomic(root / SUPERVISOR_INFO, me)
    trainings: dict[str, Training] = {}
    noted: set[str] = set()
    try:
        last_scan, ended = 0.0, True
        while True:
            if ended or time.monotonic() - last_scan > QUEUE_POLL:  # the queue: when a run ended, else now and then
                with locked(root):
                    waiting = start_queued(root, trainings, noted)
                    if not trainings and not waiting:  # leave under the lock: a launch after this starts another
                        write_json_atomic(root / SUPERVISOR_INFO, dict(me, left=_now()))
                        holder.release()
                        return 0
                last_scan = time.monotonic()
            ended = False
            for rid, t in list(trainings.items()):
                if watch(root, t):
                    del trainings[rid]
                    ended = True
            time.sleep(POLL)
    except BaseException as e:  # record why, rather than leave the runs "running" until the next look
        _abandon(root, trainings, e)
        raise
    finally:
        holder.release()


def _abandon(root: Path, trainings: dict[str, Training], error: BaseException) -> None:
    """The supervisor is failing: stop its training processes (no orphan may write a checkpoint later)
    and mark their runs failed."""
    with contextlib.suppress(Exception), locked(root):
        for t in trainings.values():
            st = read_json(t.dir / "status.json") or {}
            if st.get("state") in ACTIVE:
                if pid_alive(st.get("pid"), st.get("pid_identity")):
                    signal_group(st.get("pid"), signal.SIGKILL)
                discard_partial_model(t.dir)
            update_status(t.dir, state="failed", reason=f"supervisor error: {type(error).__name__}: {error}",
                          ended=_now())


def supervise_main(path: Path) -> int:
    """``_supervise ROOT`` (or a run directory, as older launches named it: its root is served)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in the launching terminal is not for us
    path = Path(path).resolve()
    root = path.parent if (path / "config.json").is_file() else path
    if ray_jobs.address():  # runs train on a Ray cluster: this process only submits the queued ones
        return ray_jobs.serve(root)
    return supervise(root)
