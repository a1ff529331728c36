"""The Ray backend of background runs: with ``$GATESCOPE_RAY_ADDRESS`` set (a Ray cluster's job address,
``http://HEAD:8265``), each queued run trains as a Ray job instead of under the runs root's local
supervisor. The run folder stays the record (``registry``): the job runs the same ``python -m
sentiment.train ...`` command (``launcher.train_argv``), which writes its metrics, log and model into the
run folder, so the nodes must share the runs folder (a shared filesystem, mounted at the same path) and
the same Python with GateScope installed.

- **Submission** happens under the registry's lock (``dispatch``), first come first served, while fewer
  GateScope jobs than the run's ``max_concurrent`` are pending or running on the whole cluster (counted
  from Ray's job list, by the metadata every GateScope job carries). The job's submission id is the run's
  id (``<run id>-<n>`` for its n-th submission, below), so a second server submitting the same run from the
  same runs folder is told "already exists" and moves on; the job's metadata names its run.
- **Admission**: servers with different runs folders share no lock, so two of them can both see a free slot
  and both submit. Each job therefore checks, before it touches the run folder, that it may train
  (``admit``, the first command of its entrypoint): it lists the cluster's pending and running GateScope
  jobs, orders them by Ray's submission time (the head's clock), then submission id, and trains only when
  fewer than its ``max_concurrent`` come before it. Every job applies this one rule to the same list, so
  of jobs submitted in the same instant the first ones win and the others exit with NOT_ADMITTED, having
  written nothing; their run goes back to the queue (``changes``) and is submitted again, under a new
  submission id, when a slot frees up. The check runs in the job, so a server that dies right after
  submitting changes nothing; the root's supervisor serves a run until its trainer has started.
- **State** comes from Ray, not from process ids (``changes``): PENDING is queued, RUNNING running (with
  the node it runs on), SUCCEEDED finished (when the model is complete), FAILED failed (Ray's reason, or
  the trainer's own), STOPPED cancelled. A run that did not finish loses its partial model, as locally.
- **Resources**: a run on ``cuda`` (or on ``auto`` when the cluster has a GPU) asks one GPU, or one of
  the resource ``$GATESCOPE_RAY_GPU_RESOURCE`` names (a custom resource of the GPU nodes); others one CPU.

``import ray`` happens only in this module, inside its functions: the app runs without Ray installed.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sentiment.jsonio import read_json
from sentiment.spec import PROJECT_ROOT, RAY_ADDRESS_ENV, RAY_GPU_ENV, RUN_DIR_ENV
from sentiment.training.registry import (
    TERMINAL,
    Run,
    RunError,
    _now,
    discard_partial_model,
    first_event,
    locked,
    read_run,
    run_dirs,
    update_status,
)

BACKEND = "ray"
TAG = "gatescope"  # the metadata key every GateScope job carries (its value: the runs root)
RUN_TAG = "gatescope_run"  # the metadata key naming the job's run (its submission id may carry an attempt number)
EXTRA = 'pip install "gatescope[ray]"'
PROBE_SECONDS = 60.0  # how long the start-up check waits for its job
STOP_SECONDS = 30.0  # how long cancel() waits for Ray to say a stopped job has ended
CLUSTER_TTL = 30.0  # how long the cluster's resources are remembered
NOT_REACHABLE = 3  # the exit code of a job whose node does not see the run folder
NOT_ADMITTED = 75  # ... of a job that found the cap taken by GateScope jobs submitted before it (its run is queued again)
NO_ADMISSION = 76  # ... of a job that could not read the cluster's job list to check the cap (its run fails)
ADMIT_TRIES = 3  # how many times a job tries to read the cluster's job list before it gives up
RAY_STATES = {"PENDING": "queued", "RUNNING": "running", "SUCCEEDED": "finished", "FAILED": "failed", "STOPPED": "cancelled"}


def address() -> str | None:
    """The Ray cluster runs train on ($GATESCOPE_RAY_ADDRESS), or None: the local supervisor (the default)."""
    value = (os.environ.get(RAY_ADDRESS_ENV) or "").strip()
    return value or None


def is_ray(status: Any) -> bool:
    """Whether a run's status says it trains as a Ray job."""
    return isinstance(status, dict) and status.get("backend") == BACKEND


# ---- the cluster ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def client(addr: str) -> Any:
    """The job client of the cluster at ``addr`` (RunError when Ray is missing or the cluster does not answer)."""
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError:
        raise RunError("run.ray_missing", env=RAY_ADDRESS_ENV, ray="Ray", command=EXTRA) from None
    try:
        return JobSubmissionClient(addr)
    except Exception as e:  # ConnectionError, ValueError (a bad address), ...
        raise RunError("run.ray_unreachable", ray="Ray", address=addr, env=RAY_ADDRESS_ENV, err=_first_line(e)) from None


def _first_line(e: BaseException | str, most: int = 300) -> str:
    """The first line of a message (Ray's can hold a whole traceback), shortened; an exception's type named."""
    lines = str(e).strip().splitlines()
    first = lines[0][:most] if lines else ""
    if isinstance(e, BaseException):
        return f"{type(e).__name__}: {first}" if first else type(e).__name__
    return first or "-"


_cluster_cache: dict[str, tuple[float, dict[str, float]]] = {}


def cluster_resources(addr: str) -> dict[str, float]:
    """The cluster's total resources (CPU, GPU, custom ones), summed over its alive nodes; remembered a while."""
    hit = _cluster_cache.get(addr)
    if hit and time.monotonic() - hit[0] < CLUSTER_TTL:
        return hit[1]
    client(addr)  # says clearly when Ray is missing or the cluster does not answer
    from ray.util.state import list_nodes

    try:
        nodes = list_nodes(address=addr, filters=[("state", "=", "ALIVE")])
    except Exception as e:
        raise RunError("run.ray_unreachable", ray="Ray", address=addr, env=RAY_ADDRESS_ENV, err=_first_line(e)) from None
    total: dict[str, float] = {}
    for n in nodes:
        for k, v in (n.resources_total or {}).items():
            if not k.startswith("node:"):
                total[k] = total.get(k, 0.0) + float(v)
    _cluster_cache[addr] = (time.monotonic(), total)
    return total


def gpu_resource() -> str:
    """The resource a GPU run asks one of: Ray's GPU, or $GATESCOPE_RAY_GPU_RESOURCE."""
    return (os.environ.get(RAY_GPU_ENV) or "").strip() or "GPU"


def cluster_gpus(addr: str) -> int:
    """How many GPUs (of ``gpu_resource()``) the cluster has."""
    return int(cluster_resources(addr).get(gpu_resource(), 0))


def wants_gpu(config: dict, addr: str) -> bool:
    """A run asks for a GPU on ``cuda``, and on ``auto`` when the cluster has one."""
    device = config.get("device") or "auto"
    return device.startswith("cuda") or (device == "auto" and cluster_gpus(addr) > 0)


def resources(config: dict, addr: str) -> dict[str, Any]:
    """The job's entrypoint resources: one CPU, and one GPU (or one of the GPU resource) when it wants one."""
    if not wants_gpu(config, addr):
        return {"entrypoint_num_cpus": 1}
    name = gpu_resource()
    if name == "GPU":
        return {"entrypoint_num_cpus": 1, "entrypoint_num_gpus": 1}
    return {"entrypoint_num_cpus": 1, "entrypoint_resources": {name: 1}}


# ---- the start-up check: the nodes see the runs folder ---------------------------------------------


_checked: set[tuple[str, str]] = set()


def check_ready(root: Path, addr: str | None = None) -> None:
    """RunError, clearly, when the cluster does not answer or its nodes cannot read the runs folder: a job
    reads a token this process wrote there, with the same Python and GateScope. Passed once per process."""
    addr = addr or address()
    if addr is None or (addr, str(root)) in _checked:
        return
    c = client(addr)
    probe = root / f".ray-probe-{secrets.token_hex(4)}"
    token = secrets.token_hex(8)
    probe.write_text(token, encoding="utf-8")
    code = ("import sys, pathlib, sentiment.spec; "
            "sys.exit(0 if pathlib.Path(sys.argv[1]).read_text() == sys.argv[2] else 3)")
    try:
        job = _submit(c, addr, entrypoint=shlex.join([sys.executable, "-c", code, str(probe), token]),
                      submission_id=f"gatescope-probe-{token}", entrypoint_num_cpus=0)
        info = _wait(c, job, PROBE_SECONDS)
    finally:
        probe.unlink(missing_ok=True)
    if _status(info) != "SUCCEEDED":
        why = _first_line(getattr(info, "message", None) or "no answer", 500) if info else "no answer"
        raise RunError("run.ray_storage", ray="Ray", address=addr, folder=root, why=why, python=sys.executable)
    _checked.add((addr, str(root)))


def _submit(c: Any, addr: str, **kw: Any) -> str:
    """Submit a job; one already submitted under that id (by another server) counts as submitted."""
    try:
        return c.submit_job(**kw)
    except Exception as e:
        if "already exists" in str(e):
            return kw["submission_id"]
        raise RunError("run.ray_unreachable", ray="Ray", address=addr, env=RAY_ADDRESS_ENV, err=_first_line(e)) from None


def _wait(c: Any, job: str, seconds: float) -> Any:
    end = time.monotonic() + seconds
    info = None
    while time.monotonic() < end:
        info = c.get_job_info(job)
        if _status(info) in ("SUCCEEDED", "FAILED", "STOPPED"):
            return info
        time.sleep(0.5)
    with contextlib.suppress(Exception):
        c.stop_job(job)
    return info


def _status(info: Any) -> str | None:
    status = getattr(info, "status", None)
    return getattr(status, "value", status)


# ---- submitting queued runs ----------------------------------------------------------------------


ADMIT_CODE = "import sys; from sentiment.training.ray_jobs import admit_main; sys.exit(admit_main())"


def entrypoint(d: Path, config: dict, job: str | None = None, cap: int = 1, addr: str = "") -> str:
    """The job's shell command: in the checkout, the admission check (``admit``: a job beyond the cap exits
    with its code before it touches the run folder), then the run's training command, its output into the
    run's log; a node that does not see the run folder says so and exits with NOT_REACHABLE."""
    from sentiment.training.launcher import train_argv

    argv = train_argv(config, d)
    run, log = shlex.quote(str(d)), shlex.quote(str(d / "log.txt"))
    admit_cmd = shlex.join([sys.executable, "-c", ADMIT_CODE, job or d.name, str(cap), addr])
    missing = shlex.quote(f"GateScope: this node does not see the run folder {d}: share the runs folder with every node")
    return (f"cd {shlex.quote(str(PROJECT_ROOT))} && {admit_cmd} || exit $?; "
            f"if [ ! -d {run} ]; then echo {missing}; exit {NOT_REACHABLE}; fi; "
            f"exec {shlex.join(argv)} >> {log} 2>&1")


def job_id(run_id: str, attempt: int = 1) -> str:
    """The submission id of a run's job: the run id, then ``<run id>-<n>`` for its n-th submission (Ray
    refuses an id it has seen, and a job that lost the race for a slot is submitted again)."""
    return run_id if attempt <= 1 else f"{run_id}-{attempt}"


def _attempt(status: dict) -> int:
    return max(1, int(status.get("ray_attempt") or 1))


def current_job(d: Path, status: dict) -> str:
    """The submission id of a submitted run's (latest) job; a run submitted before attempts existed: its id."""
    return status.get("ray_job") or d.name


def submit(d: Path, addr: str) -> None:
    """Submit a queued run as a job (caller holds the lock); its submission id: ``job_id`` of the run's
    attempt, recorded with the run."""
    config = read_json(d / "config.json") or {}
    st = read_json(d / "status.json") or {}
    attempt, cap = _attempt(st), int(st.get("max_concurrent") or 1)
    job = job_id(d.name, attempt)
    env = {"PYTHONUNBUFFERED": "1", RUN_DIR_ENV: str(d)}
    cmd = entrypoint(d, config, job, cap, addr)
    again = f" (submission {attempt})" if attempt > 1 else ""
    with open(d / "log.txt", "a", encoding="utf-8") as log:
        log.write(f"[runs {time.strftime('%H:%M:%S')}] submitting to the Ray cluster at {addr}{again}\n")
    _submit(client(addr), addr, entrypoint=cmd, submission_id=job, runtime_env={"env_vars": env},
            metadata={TAG: str(d.parent), RUN_TAG: d.name}, **resources(config, addr))
    update_status(d, submitted=_now(), argv=cmd, ray_job=job)


def active_jobs(addr: str) -> set[str]:
    """The GateScope jobs pending or running on the cluster (any server's)."""
    try:
        jobs = client(addr).list_jobs()
    except Exception as e:
        raise RunError("run.ray_unreachable", ray="Ray", address=addr, env=RAY_ADDRESS_ENV, err=_first_line(e)) from None
    return {j.submission_id for j in jobs if TAG in (j.metadata or {}) and _status(j) in ("PENDING", "RUNNING")}


def dispatch(root: Path) -> None:
    """Settle the root's Ray runs (a job refused its slot queues its run again), then submit the queued ones
    a slot is free for, first come first served (caller holds the lock). A slot: fewer GateScope jobs pending
    or running on the cluster than the run's max_concurrent (the jobs' own admission check settles a race
    with another runs folder)."""
    for d in run_dirs(root):
        st = read_json(d / "status.json") or {}
        if is_ray(st) and st.get("state") in ("queued", "running") and st.get("submitted"):
            settle_ray(d)
    runs = [read_run(d) for d in run_dirs(root)]
    waiting = sorted((r for r in runs if is_ray(r.status) and _waiting(r.status)),
                     key=lambda r: (float(r.status.get("created") or 0), r.id))
    if not waiting:
        return
    busy = active_jobs(waiting[0].status.get("ray_address") or "")
    for r in waiting:
        if (r.dir / "cancel").exists():
            update_status(r.dir, state="cancelled", reason="cancelled while queued", ended=_now())
            continue
        job = job_id(r.id, _attempt(r.status))
        if job in busy:  # submitted by a server that stopped before it could record so
            update_status(r.dir, submitted=_now(), ray_job=job)
            continue
        if len(busy) >= int(r.status.get("max_concurrent") or 1):
            break  # first come first served: the runs after it wait too
        submit(r.dir, r.status["ray_address"])
        busy.add(job)


def unsubmitted(root: Path) -> int:
    """How many Ray runs of the root the root's supervisor still serves: those waiting to be submitted, and
    those submitted whose trainer has not started yet (their job may still be refused its slot, which
    queues the run again)."""
    return sum(1 for d in run_dirs(root) if _unserved(d, read_json(d / "status.json")))


def _waiting(st: Any) -> bool:
    return is_ray(st) and st.get("state") == "queued" and not st.get("submitted")


def _unserved(d: Path, st: Any) -> bool:
    if _waiting(st):
        return True
    return is_ray(st) and st.get("state") in ("queued", "running") and not (d / "metrics.jsonl").exists()


# ---- admission: the job's own check of the cap, against the cluster's job list ----------------------


def admission(jobs: list[Any], job: str) -> int:
    """How many of the cluster's pending or running GateScope jobs come before ``job``: ordered by Ray's
    submission time (``start_time``: set by the head, one clock for every server), then submission id. Every
    job applies this one rule to the same list: the first ``max_concurrent`` of them train."""
    def key(j: Any) -> tuple[int, str]:
        t = getattr(j, "start_time", None)
        return (int(t) if t is not None else -1, j.submission_id or "")

    active = [j for j in jobs if TAG in (j.metadata or {}) and _status(j) in ("PENDING", "RUNNING")]
    me = next((j for j in active if j.submission_id == job), None)
    if me is None:  # not listed as active (it is, while it runs this): every other one counts
        return sum(1 for j in active if j.submission_id != job)
    return sum(1 for j in active if j.submission_id != job and key(j) < key(me))


def _cluster_jobs(addr: str) -> list[Any]:
    """The cluster's job list, read from inside a job: through the dashboard address the cluster publishes
    (Ray gives a job's processes $RAY_ADDRESS, the cluster's own address), else through the server's ``addr``."""
    from ray.job_submission import JobSubmissionClient

    ways = ([None] if os.environ.get("RAY_ADDRESS") else []) + ([addr] if addr else [])
    err: BaseException | str = "no address of the cluster"
    for i in range(ADMIT_TRIES if ways else 0):
        if i:
            time.sleep(1.0)
        for where in ways:
            try:
                return JobSubmissionClient(where).list_jobs()
            except Exception as e:  # ConnectionError, ValueError, RuntimeError: the next way, then again
                err = e
    raise RuntimeError(_first_line(err))


def admit(job: str, cap: int, addr: str = "") -> int:
    """The job's admission check (the first command of its entrypoint, on its node): 0 when fewer than
    ``cap`` GateScope jobs come before it, NOT_ADMITTED when the cap is taken, NO_ADMISSION when the job
    list cannot be read. It prints one line and writes nothing into the run folder."""
    try:
        jobs = _cluster_jobs(addr)
    except Exception as e:
        print(f"GateScope: this job could not read the Ray cluster's job list to check the limit of concurrent "
              f"runs: {_first_line(e)}", flush=True)
        return NO_ADMISSION
    ahead = admission(jobs, job)
    if ahead >= cap:
        print(f"GateScope: {ahead} GateScope job(s) submitted before this one hold the cluster's {cap} slot(s): "
              "this job ends without training, and its run waits in the queue again", flush=True)
        return NOT_ADMITTED
    print(f"GateScope: admitted ({ahead} GateScope job(s) before this one, at most {cap} at a time)", flush=True)
    return 0


def admit_main(argv: list[str] | None = None) -> int:
    """``python -c ... JOB CAP [ADDRESS]`` (``entrypoint``): ``admit``'s exit code."""
    args = sys.argv[1:] if argv is None else argv
    return admit(args[0], int(args[1]), args[2] if len(args) > 2 else "")


# ---- the state, from Ray -------------------------------------------------------------------------


def _complete(d: Path) -> bool:
    return (d / "model" / "card.json").is_file() and (d / "model" / "model.safetensors").is_file()


def _node(info: Any) -> dict[str, Any]:
    node_id = getattr(info, "driver_node_id", None)
    if not node_id:
        return {}
    host = urlparse(getattr(info, "driver_agent_http_address", None) or "").hostname
    return {"node_id": node_id, "node": f"{host or '?'} ({node_id[:8]})"}


def _times(info: Any) -> dict[str, float]:
    out = {}
    if getattr(info, "start_time", None):
        out["started"] = info.start_time / 1000
    if getattr(info, "end_time", None):
        out["ended"] = info.end_time / 1000
    return out


def _failed_reason(d: Path, info: Any) -> str:
    """Why a job failed: the trainer's own reason when it wrote one, else Ray's (its first line); a job whose
    admission check could not read the job list: the line it printed."""
    from sentiment.training.supervisor import _events

    events = [e for e in _events(d) if e.get("type") == "error" and isinstance(e.get("reason"), str)]
    if events:
        return events[-1]["reason"]
    code = getattr(info, "driver_exit_code", None)
    if code == NO_ADMISSION:
        said = [ln for ln in str(getattr(info, "message", None) or "").splitlines() if ln.startswith("GateScope: ")]
        if said:
            return "Ray: " + said[-1].removeprefix("GateScope: ")[:500]
    message = _first_line(getattr(info, "message", None) or "the job failed", 500).split(", last available logs")[0]
    if isinstance(code, int) and code < 0:
        with contextlib.suppress(ValueError):
            message += f" ({signal.Signals(-code).name})"
    return "Ray: " + message


def changes(d: Path, status: dict) -> dict | None:
    """Status changes for a submitted Ray run, from Ray's job status; None when nothing changed or the
    cluster does not answer (the run keeps its last known state)."""
    if not status.get("submitted") or status.get("state") in TERMINAL:
        return None
    try:
        info = client(status.get("ray_address") or "").get_job_info(current_job(d, status))
    except RunError:
        return None
    except Exception as e:
        if "does not exist" not in str(e):
            return None  # unreachable for now: the next look asks again
        dead = "cancelled" if (d / "cancel").exists() else "failed"
        return {"state": dead, "reason": "the Ray cluster has no record of this job (was it restarted?)", "ended": _now()}
    return _mapped(d, status, info)


def refused(info: Any) -> bool:
    """Whether a job ended in its admission check, the cap taken by jobs submitted before it."""
    return _status(info) == "FAILED" and getattr(info, "driver_exit_code", None) == NOT_ADMITTED


def _requeued(status: dict) -> dict:
    """A run whose job was refused its slot: queued again, to be submitted under its next submission id."""
    return {"state": "queued", "submitted": None, "ray_job": None, "ray_attempt": _attempt(status) + 1,
            "ray_status": None, "started": None, "node": None, "node_id": None, "return_code": None}


def _mapped(d: Path, status: dict, info: Any) -> dict | None:
    if refused(info) and not (d / "cancel").exists():
        return _requeued(status)
    ray_state = _status(info)
    state = RAY_STATES.get(ray_state or "", status.get("state"))
    ch: dict[str, Any] = {"ray_status": ray_state, **_node(info), **_times(info)}
    start = first_event(d / "metrics.jsonl", "start") or {}
    if start.get("device"):
        ch["device"] = start["device"]
    exit_code = getattr(info, "driver_exit_code", None)
    if exit_code is not None:
        ch["return_code"] = exit_code
    if state == "finished" and not _complete(d):
        state, ch["reason"] = "failed", "training exited without writing a checkpoint"
    elif state == "failed":
        ch["reason"] = "cancelled" if (d / "cancel").exists() else _failed_reason(d, info)
        state = "cancelled" if (d / "cancel").exists() else "failed"
    elif state == "cancelled":
        ch["reason"] = "cancelled" if (d / "cancel").exists() else "Ray: " + _first_line(info.message or "stopped", 500)
    if state == "running" and _over_time({**status, **ch}):  # the hard stop the local supervisor gives (settle_ray stops the job)
        state, ch["reason"] = "failed", f"time limit of {float(status.get('max_seconds') or 900):g} s exceeded; the Ray job was stopped"
    ch["state"] = state
    if state in TERMINAL:
        ch.setdefault("ended", _now())
        if state == "finished":
            ch["reason"] = None
    ch = {k: v for k, v in ch.items() if status.get(k) != v}
    return ch or None


def _over_time(status: dict) -> bool:
    """Past the run's time limit and its grace (the trainer stops itself after the epoch that passes the limit)."""
    started = status.get("started")
    hard = float(status.get("max_seconds") or 900) + float(status.get("kill_grace") or 60)
    return bool(started) and _now() - float(started) > hard


def settle_ray(d: Path) -> None:
    """Record what Ray says of a submitted run (caller holds the lock); a run that did not finish loses its
    partial model, and a job past its time limit is stopped."""
    st = read_json(d / "status.json") or {}
    ch = changes(d, st)
    if not ch:
        return
    if ch.get("state") == "failed" and (ch.get("ray_status") or st.get("ray_status")) == "RUNNING":
        with contextlib.suppress(Exception):
            client(st.get("ray_address") or "").stop_job(current_job(d, st))
    if ch.get("state") in ("failed", "cancelled"):
        discard_partial_model(d)
    if ch.get("state") == "queued" and st.get("submitted") and not ch.get("submitted"):
        with open(d / "log.txt", "a", encoding="utf-8") as log:
            log.write(f"[runs {time.strftime('%H:%M:%S')}] the Ray job {current_job(d, st)} found the cluster's "
                      "slots taken by GateScope jobs submitted before it and ended without training: queued again\n")
    update_status(d, **ch)


# ---- cancelling ----------------------------------------------------------------------------------


def cancel(d: Path, root: Path) -> Run:
    """Stop a Ray run: a queued one is cancelled at once, a submitted one's job is stopped, then the run is
    recorded cancelled once Ray says the job has ended (the caller checked the run is active)."""
    with locked(root):
        (d / "cancel").touch()
        st = read_json(d / "status.json") or {}
        if not st.get("submitted"):
            update_status(d, state="cancelled", reason="cancelled while queued", ended=_now())
            return read_run(d)
    c = client(st.get("ray_address") or "")
    with contextlib.suppress(Exception):
        c.stop_job(current_job(d, st))
    end = time.monotonic() + STOP_SECONDS
    while time.monotonic() < end:
        with locked(root):
            settle_ray(d)
            if read_run(d).state in TERMINAL:
                dispatch(root)  # a slot is free: the next queued run goes
                return read_run(d)
        time.sleep(0.2)
    with locked(root):  # Ray never said it ended: record the cancel here
        discard_partial_model(d)
        update_status(d, state="cancelled", reason="cancelled (the Ray job did not confirm it stopped)", ended=_now())
    return read_run(d)


# ---- serving the queue ---------------------------------------------------------------------------


def serve(root: Path, poll: float = 1.0) -> int:
    """The runs root's supervisor under Ray: submit the queued runs as slots free up, and queue again those
    whose job was refused its slot, until every run of the root is training or has ended (training jobs
    need no watching: every look at a run asks Ray)."""
    from sentiment.jsonio import write_json_atomic
    from sentiment.training.launcher import SUPERVISOR_INFO
    from sentiment.training.registry import process_identity
    from sentiment.training.supervisor import hold_root

    me = {"pid": os.getpid(), "identity": process_identity(os.getpid()), "started": _now(), "backend": BACKEND}
    with locked(root):
        holder = hold_root(root)
        if holder is None:
            return 0
        write_json_atomic(root / SUPERVISOR_INFO, me)
    try:
        while True:
            with locked(root):
                with contextlib.suppress(RunError):
                    dispatch(root)
                if not unsubmitted(root):
                    write_json_atomic(root / SUPERVISOR_INFO, dict(me, left=_now()))
                    return 0
            time.sleep(poll)
    finally:
        holder.release()
