"""The cap of concurrent runs across servers with different runs folders sharing one Ray cluster (issue 25): they
share no lock, so two of them can both see a free slot and both submit; each job's admission check (``ray_jobs.admit``,
the first command of its entrypoint) lets only the first ``max_concurrent`` of the cluster's GateScope jobs train,
ordered by Ray's submission time then id, and the others end before they touch their run folder, their runs queued
again and submitted under a new submission id.

The first tests need no cluster (a stand-in job client); the last starts the local cluster of tests/_ray_cluster.py
and makes two servers submit at the same instant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from sentiment.training import ray_jobs, registry

ROOT = Path(__file__).resolve().parent.parent
RUN = "20260101-000000-0000abcd"


def job(sid: str, start: int | None, status: str = "RUNNING", gatescope: bool = True) -> SimpleNamespace:
    return SimpleNamespace(submission_id=sid, start_time=start, status=status,
                           metadata={ray_jobs.TAG: "/runs"} if gatescope else {})


def test_every_job_applies_one_order_submission_time_then_id():
    jobs = [job("b", 1000), job("a", 1000), job("c", 999, "PENDING"), job("old", 1, "SUCCEEDED"), job("stopped", 2, "STOPPED"),
            job("other", 5, gatescope=False)]
    assert [ray_jobs.admission(jobs, s) for s in ("c", "a", "b")] == [0, 1, 2]  # finished and foreign jobs do not count
    assert ray_jobs.admission(jobs, "missing") == 3  # a job not listed as active counts every active one


def test_admit_exits_with_the_code_of_its_place(monkeypatch, capsys):
    monkeypatch.setattr(ray_jobs, "_cluster_jobs", lambda addr: [job("a", 1), job("b", 2), job("c", 2)])
    assert ray_jobs.admit("a", 1) == 0 and ray_jobs.admit("b", 2) == 0
    assert ray_jobs.admit_main(["b", "1", "http://x"]) == ray_jobs.NOT_ADMITTED
    assert ray_jobs.admit("c", 2) == ray_jobs.NOT_ADMITTED
    assert "its run waits in the queue again" in capsys.readouterr().out

    def down(addr):
        raise RuntimeError("ConnectionError: refused")

    monkeypatch.setattr(ray_jobs, "_cluster_jobs", down)
    assert ray_jobs.admit("a", 1) == ray_jobs.NO_ADMISSION
    assert "could not read the Ray cluster's job list" in capsys.readouterr().out


def test_the_entrypoint_checks_admission_before_it_touches_the_run_folder(tmp_path):
    d = tmp_path / RUN
    cmd = ray_jobs.entrypoint(d, {"device": "cpu"}, f"{RUN}-3", 2, "http://head:8265")
    admit_at, folder_at = cmd.index("admit_main"), cmd.index(str(d))
    assert admit_at < folder_at and f"{RUN}-3 2 http://head:8265 || exit $?" in cmd


def _run(tmp_path: Path, **status) -> Path:
    d = tmp_path / RUN
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"device": "cpu"}))
    (d / "status.json").write_text(json.dumps({"id": RUN, "state": "running", "backend": "ray", "submitted": 1.0,
                                               "ray_address": "http://x", "created": 1.0, "max_concurrent": 1, **status}))
    return d


def _status(d: Path) -> dict:
    return json.loads((d / "status.json").read_text())


def refused(sid: str) -> SimpleNamespace:
    return SimpleNamespace(status="FAILED", driver_exit_code=ray_jobs.NOT_ADMITTED, message="exit code 75", start_time=1000,
                           end_time=2000, driver_node_id="ab" * 28, driver_agent_http_address="http://10.0.0.7:52365",
                           submission_id=sid)


def test_a_refused_job_queues_its_run_again_without_touching_its_files(tmp_path, monkeypatch):
    d = _run(tmp_path, ray_job=f"{RUN}-2", ray_attempt=2)
    asked = []
    info = lambda sid: asked.append(sid) or refused(sid)
    monkeypatch.setattr(ray_jobs, "client", lambda addr: SimpleNamespace(get_job_info=info))
    registry.settle(d)
    st = _status(d)
    assert asked == [f"{RUN}-2"]  # the run's latest job, not the run id
    assert st["state"] == "queued" and not st["submitted"] and st["ray_attempt"] == 3 and st["ray_job"] is None
    assert "ended" not in st and st.get("reason") is None
    assert "queued again" in (d / "log.txt").read_text()
    assert ray_jobs.unsubmitted(tmp_path) == 1  # the root's supervisor serves it on


def test_a_cancelled_run_whose_job_was_refused_is_cancelled(tmp_path, monkeypatch):
    d = _run(tmp_path)
    (d / "cancel").touch()
    monkeypatch.setattr(ray_jobs, "client", lambda addr: SimpleNamespace(get_job_info=refused))
    registry.settle(d)
    assert _status(d)["state"] == "cancelled"


class FakeClient:
    """The job API, as far as dispatch uses it."""

    def __init__(self, jobs=(), exists: bool = False):
        self.jobs, self.exists, self.submitted = list(jobs), exists, []

    def list_jobs(self):
        return self.jobs

    def submit_job(self, **kw):
        if self.exists:
            raise RuntimeError(f"Job with submission_id {kw['submission_id']} already exists. Please use a different id.")
        self.submitted.append(kw)
        return kw["submission_id"]


@pytest.mark.parametrize("jobs, exists, submits", [
    ([], False, True),  # a free slot: submitted under the run's next id
    ([], True, False),  # a server that died after submitting, before it could record so: "already exists"
    ([job(f"{RUN}-2", 5)], False, False),  # ... and its job is listed: recorded, not submitted again
])
def test_a_queued_again_run_is_submitted_under_its_next_id(tmp_path, monkeypatch, jobs, exists, submits):
    d = _run(tmp_path, state="queued", submitted=None, ray_attempt=2)
    fake = FakeClient(jobs, exists)
    monkeypatch.setattr(ray_jobs, "client", lambda addr: fake)
    ray_jobs.dispatch(tmp_path)
    st = _status(d)
    assert st["submitted"] and st["ray_job"] == f"{RUN}-2" and st["state"] == "queued"
    assert len(fake.submitted) == int(submits)
    if submits:
        kw = fake.submitted[0]
        assert kw["submission_id"] == f"{RUN}-2" and kw["metadata"] == {ray_jobs.TAG: str(tmp_path), ray_jobs.RUN_TAG: RUN}
        assert f"{RUN}-2 1 http://x || exit $?" in kw["entrypoint"]
    assert ray_jobs.unsubmitted(tmp_path) == 1  # submitted, not training yet: the supervisor still serves it


def test_a_full_cluster_keeps_the_run_queued(tmp_path, monkeypatch):
    d = _run(tmp_path, state="queued", submitted=None)
    fake = FakeClient([job("20250101-000000-00000000", 5)])
    monkeypatch.setattr(ray_jobs, "client", lambda addr: fake)
    ray_jobs.dispatch(tmp_path)
    assert not _status(d)["submitted"] and fake.submitted == []


# ---- on a real cluster --------------------------------------------------------------------------------------------

# One server: launches a run, its first look at the cluster's jobs (the launch's dispatch) held until the other
# server has looked too, so both see the slot free and both submit: the race, every time.
SERVER = r"""
import json, pathlib, sys, time
from sentiment.training import ray_jobs, runs
mine, theirs, options = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), json.loads(sys.argv[3])
listed = ray_jobs.active_jobs
def at_the_same_moment(addr):
    busy = listed(addr)
    if not mine.exists():
        mine.touch()
        end = time.time() + 90
        while not theirs.exists() and time.time() < end:
            time.sleep(0.01)
    return busy
ray_jobs.active_jobs = at_the_same_moment
print(runs.launch(options).id)
"""


def trainers(roots: list[Path]) -> set[str]:
    """The run folders under ``roots`` a training process (``python -m sentiment.train``) writes into now."""
    found = set()
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"sentiment.train" in cmd and b"--out" in cmd[:-1]:
            out = Path(cmd[cmd.index(b"--out") + 1].decode())
            if any(out.is_relative_to(r) for r in roots):
                found.add(out.parent.name)
    return found


class Watch(threading.Thread):
    """Samples the training processes of ``roots`` every few hundredths of a second; ``most``: the most at once."""

    def __init__(self, roots: list[Path]):
        super().__init__(daemon=True)
        self.roots, self.most, self.seen, self.done = roots, 0, [], threading.Event()

    def run(self):
        while not self.done.is_set():
            now = trainers(self.roots)
            if len(now) > self.most:
                self.most = len(now)
                self.seen.append((time.time(), sorted(now)))
            self.done.wait(0.03)


def span(d: Path) -> tuple[float, float]:
    times = [json.loads(line)["time"] for line in (d / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return min(times), max(times)


@pytest.mark.ray
@pytest.mark.slow
def test_two_runs_folders_submitting_at_once_never_train_two_runs_at_a_time(tmp_path):
    pytest.importorskip("ray", reason="the [ray] extra (pip install -e .[ray]) runs these tests")
    from _ray_cluster import cluster, env
    from test_runs import TINY, write_tiny_csv

    from sentiment.training import runs

    c = cluster()
    end = time.time() + 60
    while ray_jobs.active_jobs(c.address) and time.time() < end:  # another test's jobs, ending
        time.sleep(0.5)
    assert not ray_jobs.active_jobs(c.address)
    data = write_tiny_csv(tmp_path / "tiny.csv")
    roots = [tmp_path / "server-a", tmp_path / "server-b"]
    marks = [tmp_path / "a-looked", tmp_path / "b-looked"]
    watch = Watch(roots)
    watch.start()
    ids: list[str] = []
    try:
        servers = []
        for i, (root, name) in enumerate(zip(roots, ("a", "b"))):
            # on the CPU: a CPU each (the head's, the worker's), so both could train at once
            options = dict(TINY, epochs=8, patience=1000, device="cpu", data=str(data), name=f"race-{name}")
            servers.append(subprocess.Popen(
                [sys.executable, "-c", SERVER, str(marks[i]), str(marks[1 - i]), json.dumps(options)], cwd=ROOT,
                env=dict(os.environ, GATESCOPE_MAX_RUNS="1", **env(root, c)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True))
        for s in servers:
            out, err = s.communicate(timeout=180)
            assert s.returncode == 0, err
            ids.append(out.strip().splitlines()[-1])
        done = time.time() + 300
        while not all(runs.get(i, r).state in registry.TERMINAL for i, r in zip(ids, roots)):
            assert time.time() < done, [runs.get(i, r).status for i, r in zip(ids, roots)]
            time.sleep(0.2)
    finally:
        watch.done.set()
        watch.join()
        for i, r in zip(ids, roots):
            if runs.get(i, r).active:
                runs.cancel(i, root=r)
    got = [runs.get(i, r) for i, r in zip(ids, roots)]
    assert watch.most == 1, f"training at once: {watch.seen}"
    assert [g.state for g in got] == ["finished", "finished"], [(g.state, g.reason) for g in got]
    first, second = sorted(span(g.dir) for g in got)
    assert first[1] < second[0]  # the trainers' own records: one after the other
    # both first jobs were submitted (the race happened) and one lost it
    assert sorted(g.status.get("ray_attempt", 1) for g in got) == [1, 2]
    loser = next(g for g in got if g.status.get("ray_attempt") == 2)
    assert loser.status["ray_job"] == f"{loser.id}-2"
    refused = ray_jobs.client(c.address).get_job_info(loser.id)  # its first job ended in the admission check
    assert refused.status == "FAILED" and refused.driver_exit_code == ray_jobs.NOT_ADMITTED
    assert refused.metadata[ray_jobs.RUN_TAG] == loser.id
    assert "its run waits in the queue again" in refused.message  # the check's line, in Ray's failure message
    starts = [e for e in runs.metrics(loser.id, loser.dir.parent) if e.get("type") == "start"]
    assert len(starts) == 1  # the refused job never started the trainer
    assert "queued again" in (loser.dir / "log.txt").read_text()
