"""The Ray backend without a cluster (issue 25): Ray is an optional dependency (the app, the runs and the Train page
import without it; asking for a cluster without it is refused with the extra to install), and Ray's job states
map to the runs' states (tests/test_ray_runs.py runs the real thing on a local cluster)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from sentiment.training import ray_jobs, registry

ROOT = Path(__file__).resolve().parent.parent
NO_RAY = "import sys; sys.modules['ray'] = None\n"  # `import ray` raises ImportError from here on


def run_without_ray(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_RAY + code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **env))


@pytest.mark.slow  # a Python process of its own
def test_the_app_imports_and_launches_without_ray(tmp_path):
    p = run_without_ray("import sentiment.training.runs, sentiment.training.ray_jobs, sentiment.training.supervisor, "
                        "sentiment.ui.train\nfrom sentiment.training import ray_jobs\nassert ray_jobs.address() is None\n"
                        "print('ok')", GATESCOPE_RUNS=str(tmp_path / "runs"))
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr


@pytest.mark.slow  # a Python process of its own
def test_a_cluster_without_ray_installed_is_refused_with_the_extra_to_install(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("label,review\n1,good\n0,bad\n" * 10)
    p = run_without_ray("from sentiment.training import runs\n"
                        f"try:\n    runs.launch(dict(data={str(data)!r}, epochs=1))\n"
                        "except runs.RunError as e:\n    print(e)\n",
                        GATESCOPE_RUNS=str(tmp_path / "runs"), GATESCOPE_RAY_ADDRESS="http://127.0.0.1:9")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == 'GATESCOPE_RAY_ADDRESS is set, but Ray is not installed here: pip install "gatescope[ray]"'
    assert registry.run_dirs(tmp_path / "runs") == []  # nothing queued


def _run(tmp_path: Path, model: bool = False, partial: bool = False, cancel: bool = False) -> Path:
    d = tmp_path / "20260101-000000-0000abcd"
    d.mkdir()
    (d / "config.json").write_text("{}")
    (d / "status.json").write_text(json.dumps({"state": "running", "backend": "ray", "submitted": 1.0,
                                               "ray_address": "http://x"}))
    if model:
        (d / "model").mkdir()
        for f in ("card.json", "model.safetensors"):
            (d / "model" / f).write_text("{}")
    if partial:
        (d / ".model.tmp-1").mkdir()
    if cancel:
        (d / "cancel").touch()
    return d


def info(status: str, message: str = "", code: int | None = None, start: float = 1.0) -> SimpleNamespace:
    return SimpleNamespace(status=status, message=message, driver_exit_code=code, start_time=int(start * 1000), end_time=3000,
                           driver_node_id="ab" * 28, driver_agent_http_address="http://10.0.0.7:52365")


@pytest.mark.parametrize("job, extra, state, reason", [
    (info("SUCCEEDED", code=0), dict(model=True), "finished", None),
    (info("SUCCEEDED", code=0), {}, "failed", "training exited without writing a checkpoint"),
    (info("FAILED", "Job entrypoint command failed with exit code -9, last available logs (truncated to 20,000 chars):", -9),
     dict(partial=True), "failed", "Ray: Job entrypoint command failed with exit code -9 (SIGKILL)"),
    (info("STOPPED", "Job was intentionally stopped."), dict(cancel=True, partial=True), "cancelled", "cancelled"),
    (info("FAILED", "killed", -15), dict(cancel=True), "cancelled", "cancelled"),
])
def test_rays_job_status_is_the_runs_state(tmp_path, monkeypatch, job, extra, state, reason):
    d = _run(tmp_path, **extra)
    monkeypatch.setattr(ray_jobs, "client", lambda addr: SimpleNamespace(get_job_info=lambda rid: job))
    registry.settle(d)
    st = json.loads((d / "status.json").read_text())
    assert st["state"] == state and st.get("reason") == reason
    assert st["node"] == "10.0.0.7 (abababab)" and st["ended"] == 3.0
    left = {p.name for p in d.iterdir()}
    assert ("model" in left) == (state == "finished") and not [n for n in left if n.startswith(".model")]


def test_a_running_job_keeps_its_partial_model_and_records_its_node(tmp_path, monkeypatch):
    d = _run(tmp_path, partial=True)
    now = time.time()
    monkeypatch.setattr(ray_jobs, "client", lambda addr: SimpleNamespace(get_job_info=lambda rid: info("RUNNING", start=now)))
    registry.settle(d)
    st = json.loads((d / "status.json").read_text())
    assert st["state"] == "running" and st["node"].startswith("10.0.0.7") and (d / ".model.tmp-1").is_dir()
    assert not registry.needs_settling(d)  # nothing new: the status is not rewritten at every look


def test_a_cluster_that_does_not_answer_leaves_the_run_as_it_was(tmp_path, monkeypatch):
    d = _run(tmp_path)

    def down(rid):
        raise ConnectionError("refused")

    monkeypatch.setattr(ray_jobs, "client", lambda addr: SimpleNamespace(get_job_info=down))
    before = (d / "status.json").read_text()
    registry.settle(d)
    assert (d / "status.json").read_text() == before


def test_a_job_past_its_time_limit_is_stopped_and_fails(tmp_path, monkeypatch):
    d = _run(tmp_path, partial=True)
    st = json.loads((d / "status.json").read_text())
    (d / "status.json").write_text(json.dumps(dict(st, max_seconds=1, kill_grace=0)))
    stopped = []
    job = SimpleNamespace(get_job_info=lambda rid: info("RUNNING"), stop_job=stopped.append)
    monkeypatch.setattr(ray_jobs, "client", lambda addr: job)
    registry.settle(d)  # Ray says the job started at t=1 s: long past 1 s + 0 s of grace
    st = json.loads((d / "status.json").read_text())
    assert st["state"] == "failed" and st["reason"].startswith("time limit of 1 s exceeded")
    assert stopped == [d.name] and not (d / ".model.tmp-1").exists()
