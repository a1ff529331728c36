"""Background runs (sentiment.training.runs): real detached training processes on a tiny synthetic dataset.

Each test has its own runs root in a temporary folder; every run trains a model of a few hundred
parameters on 60 short reviews, so a whole run (most of it importing torch) takes a few seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sentiment.modeling import checkpoint
from sentiment.training import registry, runs
from sentiment.training.runs import RunConfigError, RunError, RunLimits

ROOT = Path(__file__).resolve().parent.parent
TINY = dict(hidden=8, embed=8, epochs=1, max_len=20, min_freq=1, batch_size=16)
LONG = dict(TINY, epochs=5000, patience=100_000)  # minutes of training (200 epochs took 6 s on a quiet CPU): kill, cancel and queue tests cancel it


def write_tiny_csv(path: Path, n: int = 60, seed: int = 0) -> Path:
    rng = random.Random(seed)
    pos, neg = "good great fine lovely superb".split(), "bad awful poor dull terrible".split()
    lines = ["label,review"]
    for i in range(n):
        y = i % 2
        words = pos if y else neg
        lines.append(f'{y},"the film was {rng.choice(words)}, really {rng.choice(words)}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory) -> Path:
    return write_tiny_csv(tmp_path_factory.mktemp("data") / "tiny.csv")


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    """A fresh runs root ($GATESCOPE_RUNS); anything still active at the end is cancelled."""
    r = tmp_path / "runs"
    monkeypatch.setenv("GATESCOPE_RUNS", str(r))
    yield r
    for run in runs.list_runs(r):
        if run.active:
            runs.cancel(run.id, grace=1)


def wait_for(run_id: str, states, timeout: float = 60, root=None, pred=None) -> runs.Run:
    end = time.time() + timeout
    while True:
        run = runs.get(run_id, root)
        if run.state in states and (pred is None or pred(run)):
            return run
        if time.time() > end:
            raise AssertionError(f"run {run_id} still {run.state} after {timeout} s (wanted {states}); log:\n"
                                 + runs.log_tail(run_id, root=root))
        time.sleep(0.05)


def tree_digest(d: Path) -> dict[str, str]:
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tiny_csv) -> runs.Run:
    """One tiny run, launched and finished through the API the page uses (its own runs root)."""
    r = tmp_path_factory.mktemp("finished") / "runs"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GATESCOPE_RUNS", str(r))
        run = runs.launch(dict(TINY, data=str(tiny_csv), name="tiny"))
        assert run.state in ("queued", "running")
        return wait_for(run.id, ("finished", "failed", "cancelled"), timeout=90, root=r)


# ---- the whole path: launch -> loadable checkpoint ------------------------------------------------


@pytest.mark.slow  # training subprocesses
def test_tiny_run_from_launch_to_loadable_checkpoint(finished_run):
    run = finished_run
    assert run.state == "finished", run.reason
    assert run.reason is None and run.status["return_code"] == 0
    assert run.device == "cpu" or run.device.startswith("cuda")
    assert isinstance(run.status["pid"], int) and run.status["pid"] > 0
    assert run.started >= run.created and run.ended >= run.started
    ckpt = checkpoint.load(run.model_dir)
    assert ckpt.model.config.hidden_size == 8
    assert ckpt.card["dataset"] == "tiny"
    assert ckpt.tokenizer == {"language": "en", "mode": "word", "letters": "latin"}  # accented letters kept
    events = runs.metrics(run.id, run.dir.parent)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "start" and "epoch" in kinds and kinds[-1] == "done"
    assert "checkpoint written" in runs.log_tail(run.id, root=run.dir.parent)
    cfg = json.loads((run.dir / "config.json").read_text())
    assert cfg["name"] == "tiny" and cfg["limits"]["max_concurrent"] == 1
    # the registry is rebuilt from the directory alone
    assert [r.id for r in runs.list_runs(run.dir.parent)] == [run.id]


@pytest.mark.slow  # training subprocesses
def test_progress_from_events(finished_run):
    events = runs.metrics(finished_run.id, finished_run.dir.parent)
    p = runs.progress(events)
    assert p["fraction"] == 1.0 and p["epochs"] == 1 and p["device"] == finished_run.device
    assert p["test_accuracy"] == events[-1]["test_accuracy"]
    steps = [e for e in events if e["type"] == "step"]  # a short epoch reports every batch: a curve, not a dot
    assert len(steps) > 1 and [e["batch"] for e in steps] == list(range(1, steps[-1]["batches"] + 1))
    assert runs.progress([])["fraction"] is None
    half = [{"type": "start", "epochs": 4, "device": "cpu"},
            {"type": "step", "epoch": 2, "batch": 5, "batches": 10, "loss": 0.5, "acc": 0.7}]
    assert runs.progress(half)["fraction"] == pytest.approx(15 / 40)


@pytest.mark.slow  # training subprocesses
def test_a_finished_run_is_never_overwritten(finished_run):
    before = tree_digest(finished_run.dir)
    with pytest.raises(RunError, match="already finished"):
        runs.cancel(finished_run.id, root=finished_run.dir.parent)
    assert runs.get(finished_run.id, finished_run.dir.parent).state == "finished"
    assert tree_digest(finished_run.dir) == before


# ---- crashes ---------------------------------------------------------------------------------------


@pytest.mark.slow  # training subprocesses
def test_sigkill_of_training_process_ten_times(root, tiny_csv, finished_run):
    """SIGKILL the training process (pid from status.json) of ten runs in a row: each ends failed
    with the signal as the reason, leaves no checkpoint, and no other run changes."""
    other = root / finished_run.id
    shutil.copytree(finished_run.dir, other)  # a finished run beside the victims
    other_before = tree_digest(other)
    ended: dict[str, dict] = {}
    for i in range(10):
        run = runs.launch(dict(LONG, data=str(tiny_csv)))
        if i == 0:  # once, wait until it is really training (its "start" event is written)
            run = wait_for(run.id, ("running",), pred=lambda r: any(e["type"] == "start" for e in runs.metrics(r.id)))
        else:  # the others die young, whatever they are doing
            run = wait_for(run.id, ("running",))
        pid = run.status["pid"]
        assert json.loads((run.dir / "status.json").read_text())["pid"] == pid
        os.kill(pid, signal.SIGKILL)
        run = wait_for(run.id, ("finished", "failed", "cancelled"), timeout=20)
        assert run.state == "failed"
        assert "SIGKILL" in run.reason
        assert run.status["return_code"] == -signal.SIGKILL
        assert run.model_dir is None and not (run.dir / "model").exists()
        assert not [p for p in run.dir.iterdir() if p.name.startswith(".model")]
        assert not runs.pid_alive(pid, run.status["pid_identity"])
        for rid, st in ended.items():  # the earlier victims are untouched
            assert json.loads((root / rid / "status.json").read_text()) == st
        ended[run.id] = json.loads((run.dir / "status.json").read_text())
        assert tree_digest(other) == other_before
    assert len(ended) == 10
    states = {r.id: r.state for r in runs.list_runs()}
    assert states == {**{rid: "failed" for rid in ended}, other.name: "finished"}


@pytest.mark.slow  # training subprocesses
def test_supervisor_and_trainer_both_gone_reads_as_process_died(root, tiny_csv):
    run = runs.launch(dict(LONG, data=str(tiny_csv)))
    run = wait_for(run.id, ("running",))
    os.kill(run.status["supervisor_pid"], signal.SIGKILL)
    wait_until(lambda: not runs.pid_alive(run.status["supervisor_pid"]), what="dead")
    assert runs.get(run.id).state == "running"  # training goes on without its supervisor
    os.kill(run.status["pid"], signal.SIGKILL)
    run = wait_for(run.id, ("failed",), timeout=10)
    assert run.reason == runs.PROCESS_DIED
    assert not (run.dir / "model").exists()


def _fake_run(root: Path, rid: str, status: dict | None, **files) -> Path:
    d = root / rid
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"data": "x.csv"}))
    if status is not None:
        (d / "status.json").write_text(json.dumps(dict({"id": rid, "created": 1.0}, **status)))
    for name, text in files.items():
        (d / name).write_text(text)
    return d


def test_registry_is_rebuilt_after_a_restart(root):
    """Only directories, no processes: dead active runs become failed ("process died"), the rest stay."""
    root.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs
    me = os.getpid()
    _fake_run(root, "20260101-000000-00000001", {"state": "running", "pid": dead.pid, "supervisor_pid": dead.pid})
    _fake_run(root, "20260101-000000-00000002", {"state": "queued", "supervisor_pid": None})
    _fake_run(root, "20260101-000000-00000003", {"state": "running", "pid": me, "pid_identity": "another-boot:1",
                                                   "supervisor_pid": me, "supervisor_identity": "another-boot:1"})
    _fake_run(root, "20260101-000000-00000004", {"state": "finished", "pid": dead.pid, "device": "cpu"})
    _fake_run(root, "20260101-000000-00000005", {"state": "queued", "supervisor_pid": dead.pid}, cancel="")
    bad = _fake_run(root, "20260101-000000-00000006", None, **{"status.json": '{"state": "runn'})
    d7 = _fake_run(root, "20260101-000000-00000007", {"state": "running", "pid": dead.pid, "supervisor_pid": dead.pid})
    (d7 / ".model.tmp-abc").mkdir()  # a half-written checkpoint of a crashed run
    _fake_run(root, "20260101-000000-00000008", {"state": "running", "pid": me, "supervisor_pid": None,
                                                   "boot_id": "another-boot"})
    (root / "uploads").mkdir()
    (root / "not-a-run").mkdir()
    got = {r.id[-1]: (r.state, r.reason) for r in runs.list_runs()}
    assert got == {
        "1": ("failed", runs.PROCESS_DIED),
        "2": ("failed", runs.PROCESS_DIED),
        "3": ("failed", runs.PROCESS_DIED),  # the pid is alive, but it is another process (pid reused)
        "4": ("finished", None),
        "5": ("cancelled", "cancelled"),
        "6": ("failed", "status.json is missing or unreadable"),
        "7": ("failed", runs.PROCESS_DIED),
        "8": ("failed", runs.PROCESS_DIED),  # recorded before a reboot
    }
    assert not (d7 / ".model.tmp-abc").exists()
    assert (bad / "status.json").read_text() == '{"state": "runn'  # reported, not rewritten
    assert json.loads((root / "20260101-000000-00000001" / "status.json").read_text())["state"] == "failed"
    with pytest.raises(RunError, match="no run"):
        runs.get("20260101-000000-0000000f")
    with pytest.raises(RunError, match="not a run id"):
        runs.get("../etc")


def test_a_run_being_launched_has_a_grace_period_then_reads_as_dead(root, monkeypatch):
    """A queued run whose supervisor is not recorded yet is being launched: it stays queued for
    START_GRACE seconds of the registry's clock (a fake one here), then reads as failed."""
    now = [1000.0]
    monkeypatch.setattr(registry, "clock", lambda: now[0])
    rid = "20260101-000000-0000000b"
    _fake_run(root, rid, {"state": "queued", "supervisor_pid": None, "created": now[0]})
    now[0] += registry.START_GRACE - 1
    assert runs.get(rid).state == "queued"
    now[0] += 2
    run = runs.get(rid)
    assert (run.state, run.reason, run.ended) == ("failed", runs.PROCESS_DIED, now[0])


# ---- queue, cancel, limits -----------------------------------------------------------------------


@pytest.mark.slow  # training subprocesses
def test_queue_of_three_with_a_limit_of_one_runs_one_after_another(root, tiny_csv):
    limits = RunLimits(max_concurrent=1)
    launched = [runs.launch(dict(TINY, data=str(tiny_csv), seed=i), limits) for i in range(3)]
    ids = [r.id for r in launched]
    most_running = 0
    end = time.time() + 400  # a deadline, not a timing target: three runs on a busy machine
    while True:
        states = [runs.get(i).state for i in ids]
        most_running = max(most_running, states.count("running"))
        if all(s in runs.TERMINAL for s in states) or time.time() > end:
            break
        time.sleep(0.05)
    assert states == ["finished"] * 3, [runs.get(i).reason for i in ids]
    assert most_running == 1
    done = [runs.get(i) for i in ids]
    for a, b in zip(done, done[1:]):
        assert a.ended <= b.started  # one after another, in the order launched
    assert all(r.model_dir is not None for r in done)


def wait_until(pred, timeout: float = 20, what: str = "") -> None:
    end = time.time() + timeout
    while not pred():
        if time.time() > end:
            raise AssertionError(f"still not {what} after {timeout} s")
        time.sleep(0.05)


@pytest.mark.slow  # training subprocesses
def test_cancel_a_running_and_a_queued_run(root, tiny_csv):
    """Cancel a queued run, then the running one ahead of it: the running one's process is stopped; the
    queued one never starts training, even once the slot is free (its status is never rewritten to
    running, it has no training pid, and nothing of training is in its folder)."""
    limits = RunLimits(max_concurrent=1)
    a = runs.launch(dict(LONG, data=str(tiny_csv)), limits)
    b = runs.launch(dict(LONG, data=str(tiny_csv)), limits)
    a = wait_for(a.id, ("running",))
    assert runs.get(b.id).state == "queued"  # one slot, taken by a
    b = runs.cancel(b.id)
    assert (b.state, b.reason) == ("cancelled", "cancelled while queued")
    a = runs.cancel(a.id, grace=3)
    assert a.state == "cancelled"
    assert not runs.pid_alive(a.pid, a.status["pid_identity"])
    assert not (a.dir / "model").exists()
    with pytest.raises(RunError, match="already ended"):
        runs.cancel(a.id)
    sup = b.status["supervisor_pid"]
    wait_until(lambda: not runs.pid_alive(sup), what="left by the supervisor")  # the queue was served to its end
    b = runs.get(b.id)
    assert (b.state, b.pid, b.started) == ("cancelled", None, None)
    assert not (b.dir / "metrics.jsonl").exists() and "starting:" not in runs.log_tail(b.id)


def test_one_supervisor_serves_every_waiting_run(root, tiny_csv):
    """Six runs queued behind a running one: one supervisor process for the runs root, not one per run."""
    limits = RunLimits(max_concurrent=1)
    launched = [runs.launch(dict(LONG, data=str(tiny_csv)), limits) for _ in range(6)]
    wait_for(launched[0].id, ("running",))
    assert {runs.get(r.id).state for r in launched[1:]} == {"queued"}
    supervisors = supervisor_processes(root)
    assert len(supervisors) == 1, supervisors
    assert {runs.get(r.id).status["supervisor_pid"] for r in launched} == set(supervisors)


def supervisor_processes(root: Path) -> list[int]:
    """The live processes running ``sentiment.runs _supervise`` for ``root`` (or a run folder in it)."""
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            argv = (p / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"_supervise" in argv and any(a.decode(errors="replace").startswith(str(root)) for a in argv) \
                and runs.pid_alive(int(p.name)):
            found.append(int(p.name))
    return found


@pytest.mark.slow
def test_the_supervisor_leaves_when_nothing_waits_and_a_later_launch_starts_another(root, tiny_csv):
    first = runs.launch(dict(TINY, data=str(tiny_csv)))
    first = wait_for(first.id, ("finished", "failed"), timeout=90)
    assert first.state == "finished", first.reason
    wait_until(lambda: not supervisor_processes(root), what="gone")
    second = wait_for(runs.launch(dict(TINY, data=str(tiny_csv))).id, ("finished", "failed"), timeout=90)
    assert second.state == "finished", second.reason
    assert second.status["supervisor_pid"] != first.status["supervisor_pid"]


def test_the_browser_queue_has_a_limit(root, tiny_csv):
    limits = RunLimits(max_concurrent=1, max_queued=2)
    runs.launch(dict(LONG, data=str(tiny_csv)), limits)
    runs.launch(dict(LONG, data=str(tiny_csv)), limits)
    with pytest.raises(RunConfigError, match="2 runs are already waiting to train"):
        runs.launch(dict(LONG, data=str(tiny_csv)), limits)
    assert len(runs.list_runs()) == 2
    assert RunLimits.browser().max_queued == 20


def niceness(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rfind(")") + 2:].split()[16])  # field 19: nice


def test_app_runs_train_at_low_priority_and_leave_a_core(root, tiny_csv, monkeypatch):
    """The browser's policy on a shared server: nice 10, and the cores less one (at least one thread)."""
    monkeypatch.delenv("GATESCOPE_RUN_POLICY", raising=False)
    limits = RunLimits.browser(allow_any_path=True, max_epochs=None)
    assert (limits.nice, limits.spare_cores) == (10, 1)
    assert limits.threads(cpus=2) == 1 and limits.threads(cpus=8) == 7
    run = wait_for(runs.launch(dict(LONG, data=str(tiny_csv)), limits).id, ("running",))
    assert niceness(run.pid) == 10
    argv = run.status["argv"]
    assert argv[argv.index("--threads") + 1] == str(max(1, (os.cpu_count() or 1) - 1))
    assert niceness(run.status["supervisor_pid"]) == niceness(os.getpid())  # only the training is lowered
    runs.cancel(run.id, grace=1)


def test_a_workstation_gives_app_runs_every_core(monkeypatch):
    monkeypatch.setenv("GATESCOPE_RUN_POLICY", "workstation")
    limits = RunLimits.browser()
    assert (limits.nice, limits.spare_cores, limits.threads(cpus=8)) == (0, 0, 8)
    monkeypatch.setenv("GATESCOPE_RUN_POLICY", "everything")
    with pytest.raises(RunConfigError, match="GATESCOPE_RUN_POLICY=everything: must be shared or workstation"):
        RunLimits.browser()


@pytest.mark.slow
def test_a_failed_runs_reason_never_quotes_the_file_it_read(root, tmp_path):
    """A file that is no dataset (its header holds a secret): the reason names the file and the kind of
    problem, and quotes nothing of it."""
    secret = tmp_path / "notes.csv"
    secret.write_text("password,hunter2-SECRET\nalpha,beta\ngamma,delta\n", encoding="utf-8")
    run = wait_for(runs.launch(dict(TINY, data=str(secret))).id, ("failed", "finished"), timeout=60)
    assert run.state == "failed"
    assert str(secret) in run.reason and "cannot be read as a dataset of labelled reviews" in run.reason
    assert "SECRET" not in run.reason and "password" not in run.reason
    assert run.status["return_code"] == 2


@pytest.mark.slow
def test_a_failed_runs_log_never_quotes_the_file_it_read(root, tmp_path):
    """The Train page shows every visitor a run's log: it says what the reason says; the full message,
    with the file's header, is in the run's details.txt, readable by its owner only."""
    secret = tmp_path / "notes.csv"
    secret.write_text("password,hunter2-SECRET\nalpha,beta\ngamma,delta\n", encoding="utf-8")
    run = wait_for(runs.launch(dict(TINY, data=str(secret))).id, ("failed", "finished"), timeout=60)
    log = runs.log_tail(run.id)
    assert f"error: {run.reason}" in log and "SECRET" not in log and "password" not in log
    details = registry.run_dir(run.id) / "details.txt"
    assert "hunter2-SECRET" in details.read_text(encoding="utf-8")
    assert details.stat().st_mode & 0o077 == 0
    assert "(details.txt)" in run.reason


def test_a_terminal_run_with_a_metrics_file_says_the_whole_message_and_writes_no_details(tmp_path, capsys):
    """Only a run the supervisor started keeps its details apart: on a terminal the person who typed the
    command sees the whole message, and a details.txt beside the metrics file is left as it was."""
    from sentiment.training import train

    notes = tmp_path / "notes.csv"
    notes.write_text("password,hunter2-SECRET\nalpha,beta\ngamma,delta\n", encoding="utf-8")
    mine = tmp_path / "details.txt"
    mine.write_text("my own notes\n", encoding="utf-8")
    code = train.main(["--data", str(notes), "--metrics", str(tmp_path / "progress.jsonl"), "--out", str(tmp_path / "m")])
    assert code == 2
    assert "hunter2-SECRET" in capsys.readouterr().err
    assert mine.read_text(encoding="utf-8") == "my own notes\n"
    event = json.loads((tmp_path / "progress.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert "SECRET" not in event["reason"] and "details.txt" not in event["reason"]


def test_a_crash_is_told_by_its_exception_type_only(root):
    d = root / "20260101-000000-0000000a"
    d.mkdir(parents=True)
    (d / "log.txt").write_text("Traceback (most recent call last):\n  ...\nValueError: could not parse 'hunter2'\n")
    from sentiment.training import supervisor

    assert supervisor.failure_reason(d, 1) == "training exited with code 1 (ValueError; the run's log has the details)"


@pytest.mark.slow  # training subprocesses
def test_hard_time_limit_stops_a_run(root, tiny_csv):
    # killed 0.3 s after it starts: before the trainer could even import torch and stop by itself
    run = runs.launch(dict(LONG, data=str(tiny_csv)), RunLimits(max_seconds=0.1, kill_grace=0.2))
    assert run.status["max_seconds"] == 0.1
    run = wait_for(run.id, ("failed", "finished", "cancelled"), timeout=20)
    assert run.state == "failed" and "time limit of 0.1 s" in run.reason
    assert "--max-seconds" in run.status["argv"]
    assert not (run.dir / "model").exists()


@pytest.mark.slow  # training subprocesses
def test_training_error_is_the_reason(root, tiny_csv):
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    run = runs.launch(dict(TINY, data=str(tiny_csv), device="cuda"))
    run = wait_for(run.id, ("failed", "finished"), timeout=30)
    assert run.state == "failed" and "no CUDA GPU" in run.reason and run.status["return_code"] == 2


def test_check_config_and_browser_limits(root, tiny_csv, tmp_path, monkeypatch):
    browser = RunLimits.browser()
    assert browser.max_concurrent == 1 and browser.max_seconds == 900
    with pytest.raises(RunConfigError, match="epochs: 50 is over the limit of 10"):
        runs.check_config(dict(data="imdb", epochs=50), browser)
    with pytest.raises(RunConfigError, match="limit: 20000 training reviews is over the limit"):
        runs.check_config(dict(data="imdb", limit=20000), browser)
    with pytest.raises(RunConfigError, match="max-seconds: 3600 s is over"):
        runs.check_config(dict(data=str(tiny_csv), max_seconds=3600))
    with pytest.raises(RunConfigError, match="unknown training option 'colour'"):
        runs.check_config(dict(data=str(tiny_csv), colour="red"))
    with pytest.raises(RunConfigError, match="refit: a refit trains an exact number of epochs"):
        runs.check_config(dict(data=str(tiny_csv), refit=True))
    with pytest.raises(RunConfigError, match="average-last: a refit trains an exact number of epochs"):
        runs.check_config(dict(data=str(tiny_csv), average_last=3))
    assert "refit" not in runs.check_config(dict(data=str(tiny_csv), refit=False, average_last=1))
    with pytest.raises(RunConfigError, match="cell: must be one of lstm, gru, rnn"):
        runs.check_config(dict(data=str(tiny_csv), cell="transformer"))
    with pytest.raises(RunConfigError, match="hidden: 'big' is not a valid int"):
        runs.check_config(dict(data=str(tiny_csv), hidden="big"))
    with pytest.raises(RunConfigError, match="hidden must be at least 1"):
        runs.check_config(dict(data=str(tiny_csv), hidden=0))
    with pytest.raises(RunConfigError, match="set by the run itself"):
        runs.check_config(dict(data=str(tiny_csv), out="/tmp/x"))
    with pytest.raises(RunConfigError, match="no such file, and no dataset"):
        runs.check_config(dict(data="no-such-dataset"))
    with pytest.raises(RunConfigError, match="datasets of the data folder or an uploaded CSV"):
        runs.check_config(dict(data=str(tiny_csv)), browser)  # an arbitrary server path
    with pytest.raises(RunConfigError, match="no data"):
        runs.check_config({})
    cfg = runs.check_config(dict(data=str(tiny_csv), epochs="3", bidirectional="false"))
    assert cfg["epochs"] == 3 and cfg["bidirectional"] is False and cfg["max_seconds"] == 900
    assert cfg["data"] == str(tiny_csv.resolve()) and cfg["dataset"] == "tiny.csv"
    from sentiment.data.uploads import save_upload

    up = save_upload(tiny_csv.read_bytes(), "my reviews.csv")
    cfg = runs.check_config(dict(data=str(up.path), epochs=2), browser)
    assert cfg["limit"] == browser.max_limit  # the dataset-size cap is applied
    # a dataset of the data folder, by name, is allowed from the browser
    monkeypatch.setenv("GATESCOPE_DATA", str(tiny_csv.parent))
    assert any(d["name"] == "tiny.csv" and d["format"] == "csv" for d in runs.available_datasets())
    cfg2 = runs.check_config(dict(data="tiny.csv"), browser)
    assert cfg2["data"] == str(tiny_csv.resolve()) and cfg2["dataset"] == "tiny.csv"
    # nothing was created by refused configs
    assert [p.name for p in root.iterdir() if registry.ID_RE.match(p.name)] == []
    argv = runs.train_argv(dict(cfg, bidirectional=False, half=True), tmp_path / "r")
    assert argv[1:3] == ["-m", "sentiment.train"] and "--no-bidirectional" in argv and "--half" in argv
    assert argv[-4:] == ["--out", str(tmp_path / "r" / "model"), "--metrics", str(tmp_path / "r" / "metrics.jsonl")]


def test_run_ids_are_never_reused(root):
    root.mkdir()
    made = {registry.new_run_dir(root).name for _ in range(200)}
    assert len(made) == 200 and all(registry.ID_RE.match(m) for m in made)


# ---- command line ----------------------------------------------------------------------------------


def cli(*args, env_root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, GATESCOPE_RUNS=str(env_root))
    return subprocess.run([sys.executable, "-m", "sentiment.runs", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.slow  # training subprocesses
def test_cli_launch_list_show_cancel(root, tiny_csv, finished_run):
    p = cli("launch", "--data", str(tiny_csv), "--hidden", "8", "--embed", "8", "--epochs", str(LONG["epochs"]), "--patience", str(LONG["patience"]),
            "--min-freq", "1", "--max-len", "20", "--name", "from-cli", env_root=root)
    assert p.returncode == 0, p.stderr
    rid = p.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{8}", rid)
    assert runs.get(rid).state in runs.ACTIVE  # it returned at once, long before LONG's epochs could end
    run = wait_for(rid, ("running",))
    assert json.loads((run.dir / "status.json").read_text())["pid"] == run.pid
    assert run.config["name"] == "from-cli" and run.config["epochs"] == LONG["epochs"]
    p = cli("list", env_root=root)
    assert p.returncode == 0 and rid in p.stdout and "running" in p.stdout
    p = cli("show", rid, env_root=root)
    assert p.returncode == 0 and "state    running" in p.stdout and f"pid      {run.pid}" in p.stdout
    p = cli("cancel", rid, env_root=root)
    assert p.returncode == 0 and f"{rid} cancelled" in p.stdout
    assert runs.get(rid).state == "cancelled"
    p = cli("cancel", rid, env_root=root)
    assert p.returncode == 2 and "nothing to cancel" in p.stderr
    # show on a finished run: state and the metrics
    p = cli("show", finished_run.id, env_root=finished_run.dir.parent)
    assert p.returncode == 0
    assert "state    finished" in p.stdout and "epoch 1: train loss" in p.stdout and "done: test accuracy" in p.stdout
    # bad options are refused before anything starts
    n = len(runs.list_runs())
    p = cli("launch", "--data", "no-such-dataset", env_root=root)
    assert p.returncode == 2 and "no such file, and no dataset" in p.stderr
    p = cli("show", "20260101-000000-deadbeef", env_root=root)
    assert p.returncode == 2 and "no run" in p.stderr
    assert len(runs.list_runs()) == n


def test_cli_launch_keeps_the_pages_queue_cap(root, tiny_csv, capsys):
    """`python -m sentiment.runs launch` fills the queue the Train page fills: past the page's 20
    waiting runs it is refused with the page's message, exit code 2, and nothing is written."""
    from sentiment.training import launcher, runs_cli

    assert RunLimits.browser().max_queued == launcher.MAX_QUEUED == 20
    for i in range(launcher.MAX_QUEUED):
        _fake_run(root, f"20260101-000000-{i:08x}", {"state": "queued", "supervisor_pid": None})
    (root / ".lock").touch()  # as the launches that queued them left it
    before = tree_digest(root)
    code = runs_cli.main(["launch", "--data", str(tiny_csv), "--epochs", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == f"error: {RunConfigError('run.queue_full', n=20, most=20)}"
    assert "20 runs are already waiting to train (at most 20)" in err
    assert tree_digest(root) == before  # no run folder, no supervisor record
