"""A local Ray cluster for the Ray tests: a head node with one CPU and a worker node with one CPU and the custom
resource ``gatescope_gpu`` standing in for a GPU, so a run that asks for "the GPU" must train on the worker.

Each node is a ``ray start --block`` child of this process (no ``ray stop``, which would stop every Ray on the
machine): terminating it stops that node's processes. One cluster per pytest process, started on first use,
stopped when the process exits.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

GPU_RESOURCE = "gatescope_gpu"
RAY = Path(sys.executable).with_name("ray")


@dataclass
class Cluster:
    address: str  # the job (dashboard) address
    head_id: str
    worker_id: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node_ids(address: str) -> dict[str, bool]:
    from ray.util.state import list_nodes

    return {n.node_id: n.is_head_node for n in list_nodes(address=address, filters=[("state", "=", "ALIVE")])}


def _wait(what: str, ok, seconds: float = 120) -> None:
    end = time.time() + seconds
    while time.time() < end:
        try:
            if ok():
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the local Ray cluster did not start: {what}")


_procs: list[subprocess.Popen] = []
_cluster: Cluster | None = None


def _stop() -> None:
    for p in reversed(_procs):
        p.terminate()
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
    _procs.clear()


def cluster() -> Cluster:
    """The process's local cluster (started now if need be)."""
    global _cluster
    if _cluster is not None:
        return _cluster
    tmp = tempfile.mkdtemp(prefix="gsray")  # short: Ray's socket paths must stay under 107 characters
    gcs, dash = _free_port(), _free_port()
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    for key in [k for k in env if k.startswith("GATESCOPE_RAY")]:
        del env[key]
    common = dict(stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    atexit.register(shutil.rmtree, tmp, True)
    atexit.register(_stop)
    _procs.append(subprocess.Popen([str(RAY), "start", "--head", "--block", f"--port={gcs}", "--num-cpus=1",
                                    "--include-dashboard=true", f"--dashboard-port={dash}", "--dashboard-host=127.0.0.1",
                                    "--disable-usage-stats", f"--temp-dir={tmp}"], **common))
    address = f"http://127.0.0.1:{dash}"
    _wait("head", lambda: urllib.request.urlopen(address + "/api/version", timeout=2).status == 200)
    _procs.append(subprocess.Popen([str(RAY), "start", "--block", f"--address=127.0.0.1:{gcs}", "--num-cpus=1",
                                    f"--resources={json.dumps({GPU_RESOURCE: 1})}"], **common))
    _wait("worker", lambda: len(_node_ids(address)) == 2)
    ids = _node_ids(address)
    _cluster = Cluster(address, next(i for i, head in ids.items() if head), next(i for i, head in ids.items() if not head))
    return _cluster


def env(root: Path, c: Cluster) -> dict[str, str]:
    """The environment of a GateScope process whose runs train on ``c`` (runs root ``root``)."""
    return {"GATESCOPE_RUNS": str(root), "GATESCOPE_RAY_ADDRESS": c.address, "GATESCOPE_RAY_GPU_RESOURCE": GPU_RESOURCE}


def training_pids(run_dir: Path) -> list[int]:
    """The pids of the training processes writing into ``run_dir`` (their command line names it)."""
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                cmd = (p / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"sentiment.train" in cmd and str(run_dir / "model").encode() in cmd:
                pids.append(int(p.name))
    return pids
