"""The locks of the runs and of the pattern cache (filelock), and the liveness judgement they sit beside.

What the crash-safety of runs relies on: each lock excludes other processes and threads, and the kernel
drops it when its holder is SIGKILLed (so a crashed supervisor never blocks the next one); the pattern
cache's lock leaves no file behind. A run recorded by an older GateScope (a "boot_id" in status.json, an
identity of "boot id:start ticks") is judged as before, and a live process is never read as dead.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from filelock import Timeout

from sentiment.probe.patterns import cache
from sentiment.training import registry, runs
from sentiment.training.supervisor import hold_root

ROOT = Path(__file__).resolve().parent.parent

HOLD = """
import sys, time
from pathlib import Path
from sentiment.training import registry, supervisor
root = Path(sys.argv[2])
held = registry.locked(root) if sys.argv[1] == "registry" else supervisor.hold_root(root)
held.acquire() if sys.argv[1] == "registry" else None
print("held", flush=True)
time.sleep(60)
"""


def _holder(kind: str, root: Path) -> subprocess.Popen:
    """A process that takes the registry's or the supervisor's lock on ``root`` and keeps it."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, kind, str(root)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def _kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    proc.stdout.close()


def test_the_registry_lock_excludes_another_process_and_dies_with_it(tmp_path):
    proc = _holder("registry", tmp_path)
    try:
        with pytest.raises(Timeout):
            registry.locked(tmp_path).acquire(timeout=0.2)
    finally:
        _kill(proc)
    lock = registry.locked(tmp_path)
    lock.acquire(timeout=5)  # SIGKILL freed it
    lock.release()


def test_one_supervisor_holds_a_root_and_a_killed_one_lets_the_next_in(tmp_path):
    proc = _holder("supervisor", tmp_path)
    try:
        assert hold_root(tmp_path) is None  # another process serves this root
    finally:
        _kill(proc)
    held = hold_root(tmp_path)
    assert held is not None and held.is_locked
    held.release()
    held.release()  # supervise() releases on leaving and again in its finally
    assert not held.is_locked


def most_inside_at_once(lock) -> int:
    """Four threads enter ``lock()`` five times each: the most that were inside together."""
    inside, most = [0], [0]

    def work():
        for _ in range(5):
            with lock():
                inside[0] += 1
                most[0] = max(most[0], inside[0])
                time.sleep(0.002)
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return most[0]


def test_the_registry_lock_excludes_threads(tmp_path):
    assert most_inside_at_once(lambda: registry.locked(tmp_path)) == 1


def test_the_pattern_cache_lock_excludes_and_leaves_only_traces(tmp_path):
    path = tmp_path / ".key.lock"
    assert most_inside_at_once(lambda: cache._locked(path)) == 1
    assert list(tmp_path.iterdir()) == []  # the lock file is removed with each release


def test_the_pattern_cache_lock_is_skipped_where_the_cache_cannot_be_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    ran = []
    with cache._locked(blocker / "sub" / ".key.lock"):  # its folder cannot exist: no lock, the body still runs
        ran.append(1)
    assert ran == [1]


def _run(root: Path, rid: str, status: dict) -> Path:
    d = root / rid
    (d / ".model.tmp-abc").mkdir(parents=True)  # training is writing its checkpoint
    (d / "config.json").write_text(json.dumps({"data": "x.csv"}))
    (d / "status.json").write_text(json.dumps(dict({"id": rid, "created": 1.0, "state": "running"}, **status)))
    return d


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process identities are read from /proc")
def test_runs_recorded_by_older_versions_are_judged_as_before(tmp_path):
    """Live processes stay live, whichever way their identity was recorded (or not); a recorded identity of
    another process, or a boot id of another boot, reads as dead and its partial checkpoint goes."""
    me, ident = os.getpid(), registry.process_identity(os.getpid())
    assert ident is None or ident.startswith(f"{registry._boot_id()}:")  # the format older run folders hold
    live = {
        "1": {"pid": me, "pid_identity": ident, "supervisor_pid": me, "supervisor_identity": ident,
              "boot_id": registry._boot_id()},
        "2": {"pid": me, "pid_identity": None, "supervisor_pid": None, "boot_id": None},  # identity not recorded
        "3": {"pid": me, "pid_identity": ident, "supervisor_pid": None},  # no boot_id at all
    }
    dead = {
        "4": {"pid": me, "pid_identity": f"{registry._boot_id()}:1", "supervisor_pid": None},  # pid reused
        "5": {"pid": me, "pid_identity": None, "supervisor_pid": None, "boot_id": "another-boot"},
    }
    dirs = {k: _run(tmp_path, f"20260101-000000-0000000{k}", st) for k, st in {**live, **dead}.items()}
    got = {r.id[-1]: (r.state, r.reason) for r in runs.list_runs(tmp_path)}
    assert got == {**dict.fromkeys(live, ("running", None)), **dict.fromkeys(dead, ("failed", runs.PROCESS_DIED))}
    for k, d in dirs.items():
        assert (d / ".model.tmp-abc").exists() == (k in live)
