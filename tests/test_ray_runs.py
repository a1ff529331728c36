"""Runs on a Ray cluster (issue 25), through ``python -m sentiment.runs``: a local cluster of a head and a worker
node whose custom resource stands in for a GPU (tests/_ray_cluster.py), so every run, asking for "the GPU" on
``auto``, must train on the worker. A run is submitted, trains there, its metrics grow while it runs, it
finishes and its model loads and is listed; a second is cancelled; a third has its training process killed and
ends failed with Ray's reason and no model; one at a time holds for a second server (another runs folder)
sharing the cluster (two submitting in the same instant: tests/test_ray_cap.py); a server restart (a new
process) reads every state from Ray.

What these machines cannot test: a real GPU (the stand-in resource trains on the CPU), nodes on other machines
(here they share one filesystem and one Python by construction), a node lost with its machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the [ray] extra (pip install -e .[ray]) runs these tests")

from _ray_cluster import cluster, env, training_pids  # noqa: E402
from test_runs import LONG, TINY, tree_digest, write_tiny_csv  # noqa: E402

from sentiment.modeling import catalog, checkpoint  # noqa: E402
from sentiment.training import ray_jobs, runs  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent
MEDIUM = dict(TINY, epochs=40, patience=1000)  # a few seconds of training: long enough to be seen running


@pytest.fixture(scope="module")
def ray_cluster():
    return cluster()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_tiny_csv(tmp_path_factory.mktemp("data") / "tiny.csv")


@pytest.fixture
def root(tmp_path, monkeypatch, ray_cluster) -> Path:
    """A runs root whose runs train on the cluster (this process's environment, and the CLI's)."""
    r = tmp_path / "runs"
    for k, v in env(r, ray_cluster).items():
        monkeypatch.setenv(k, v)
    yield r
    for run in runs.list_runs(r):
        if run.active:
            runs.cancel(run.id, root=r)


def cli(*args: str) -> subprocess.CompletedProcess:
    """``python -m sentiment.runs ...`` in a process of its own (the environment: the root fixture's)."""
    return subprocess.run([sys.executable, "-m", "sentiment.runs", *args], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)


def launch(data: Path, options: dict, name: str) -> str:
    argv = ["launch", "--data", str(data), "--name", name]
    for k, v in options.items():
        argv += ["--" + k.replace("_", "-"), str(v)]
    p = cli(*argv)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip().splitlines()[-1]


def wait_for(run_id: str, states, timeout: float = 120, pred=None) -> runs.Run:
    end = time.time() + timeout
    while True:
        run = runs.get(run_id)
        if run.state in states and (pred is None or pred(run)):
            return run
        if time.time() > end:
            raise AssertionError(f"run {run_id} still {run.state} after {timeout} s (wanted {states}): {run.status}\n"
                                 + runs.log_tail(run_id))
        time.sleep(0.1)


def steps(run_id: str) -> int:
    return sum(1 for e in runs.metrics(run_id) if e.get("type") == "step")


def no_model(run: runs.Run) -> bool:
    return run.model_dir is None and not [p for p in run.dir.iterdir() if p.name == "model" or p.name.startswith(".model")]


def test_a_run_trains_on_the_worker_live_and_finishes_with_a_model(root, tiny, ray_cluster):
    rid = launch(tiny, MEDIUM, "on-ray")
    run = wait_for(rid, ("running",), pred=lambda r: steps(r.id) > 0)
    assert run.status["backend"] == "ray" and run.status["node_id"] == ray_cluster.worker_id  # not the head
    assert run.pid is None  # no local process: Ray's job is the run
    first = steps(rid)
    shown = cli("show", rid)  # another process (a restarted server) reads the state from Ray
    assert shown.returncode == 0 and "state    running" in shown.stdout and ray_cluster.worker_id[:8] in shown.stdout
    run = wait_for(rid, ("finished", "failed", "cancelled"))
    assert run.state == "finished", run.reason
    assert steps(rid) > first  # the metrics grew while it trained: the page's live curve
    assert run.status["ray_status"] == "SUCCEEDED" and run.status["return_code"] == 0
    assert run.device == "cpu" and run.node.endswith(f"({ray_cluster.worker_id[:8]})")
    ckpt = checkpoint.load(run.model_dir)
    assert ckpt.model.config.hidden_size == 8
    assert f"run:{rid}" in {e.key for e in catalog.list_models(runs=root) if e.available}  # Explore lists it
    assert "checkpoint written" in runs.log_tail(rid)  # the trainer's own log, in the run folder
    listed = cli("list")
    assert listed.returncode == 0 and f"{rid}  finished" in listed.stdout and ray_cluster.worker_id[:8] in listed.stdout
    before = tree_digest(run.dir)
    with pytest.raises(runs.RunError, match="already finished"):
        runs.cancel(rid)
    assert tree_digest(run.dir) == before


def test_cancel_stops_the_ray_job(root, tiny, ray_cluster):
    rid = launch(tiny, LONG, "to-cancel")
    run = wait_for(rid, ("running",), pred=lambda r: steps(r.id) > 0)
    assert training_pids(run.dir)
    p = cli("cancel", rid)
    assert p.returncode == 0 and f"{rid} cancelled" in p.stdout, p.stderr
    run = runs.get(rid)
    assert run.state == "cancelled" and run.status["ray_status"] == "STOPPED"
    assert no_model(run)
    deadline = time.time() + 30
    while training_pids(run.dir) and time.time() < deadline:
        time.sleep(0.2)
    assert training_pids(run.dir) == []  # Ray stopped the training process
    assert cli("cancel", rid).returncode == 2


def test_a_killed_job_ends_failed_with_rays_reason_and_no_model(root, tiny, ray_cluster):
    rid = launch(tiny, LONG, "to-kill")
    run = wait_for(rid, ("running",), pred=lambda r: steps(r.id) > 0)
    pids = training_pids(run.dir)
    assert len(pids) == 1
    os.kill(pids[0], signal.SIGKILL)
    run = wait_for(rid, ("finished", "failed", "cancelled"), timeout=60)
    assert run.state == "failed"
    assert run.reason.startswith("Ray: ") and "SIGKILL" in run.reason and "-9" in run.reason, run.reason
    assert run.status["ray_status"] == "FAILED"
    assert no_model(run)
    shown = cli("show", rid)
    assert "state    failed: Ray: " in shown.stdout


def test_one_at_a_time_holds_for_every_server_sharing_the_cluster(root, tiny, ray_cluster, tmp_path):
    """While a GateScope job runs on the cluster, a run of the same runs folder and one of another server's folder
    both wait. (Two folders submitting in the same instant: tests/test_ray_cap.py.)"""
    first = launch(tiny, LONG, "first")
    wait_for(first, ("running",))
    second = launch(tiny, LONG, "second")  # same runs folder: waits, not submitted
    other_root = tmp_path / "other-server"
    other = subprocess.run([sys.executable, "-m", "sentiment.runs", "launch", "--data", str(tiny), "--epochs", "1",
                            "--hidden", "8", "--embed", "8", "--min-freq", "1", "--name", "elsewhere"], cwd=ROOT,
                           env=dict(os.environ, GATESCOPE_RUNS=str(other_root)), capture_output=True, text=True, timeout=120)
    assert other.returncode == 0, other.stderr
    elsewhere = other.stdout.strip().splitlines()[-1]
    time.sleep(3)
    assert runs.get(second).state == "queued" and not runs.get(second).status.get("submitted")
    assert runs.get(elsewhere, other_root).state == "queued"  # another server's queue waits for the same cluster
    assert ray_jobs.active_jobs(ray_cluster.address) == {first}
    assert runs.cancel(elsewhere, root=other_root).state == "cancelled"  # (so the slot below goes to this folder)
    runs.cancel(first)  # the slot is free: the next run of this folder's queue is submitted at once
    assert runs.get(second).status.get("submitted")
    for r in (runs.get(second), runs.get(elsewhere, other_root)):
        if r.active:
            runs.cancel(r.id, root=r.dir.parent)


def test_launch_is_refused_clearly_when_the_nodes_cannot_run_gatescope(root, tiny, monkeypatch):
    """The start-up check: a job must read a token this server wrote into the runs folder, with this Python."""
    monkeypatch.setattr(ray_jobs.sys, "executable", "/nonexistent/python")
    root.mkdir(parents=True)
    with pytest.raises(runs.RunError, match="cannot read the runs folder") as e:
        ray_jobs.check_ready(root)
    assert str(root) in str(e.value) and "shared filesystem" in str(e.value)
    assert not list(root.glob(".ray-probe-*")) and runs.list_runs(root) == []


def test_an_unreachable_cluster_is_refused_before_anything_is_queued(tmp_path, tiny, monkeypatch):
    r = tmp_path / "runs"
    monkeypatch.setenv("GATESCOPE_RUNS", str(r))
    monkeypatch.setenv("GATESCOPE_RAY_ADDRESS", "http://127.0.0.1:9")  # nothing listens there
    p = subprocess.run([sys.executable, "-m", "sentiment.runs", "launch", "--data", str(tiny), "--epochs", "1"], cwd=ROOT,
                       env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "does not answer" in p.stderr and "GATESCOPE_RAY_ADDRESS" in p.stderr, p.stderr
    assert runs.list_runs(r) == []
