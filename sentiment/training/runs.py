"""Background training runs, one name for the three parts: ``registry`` (run directories, status
files, listing and reading; torch-free), ``launcher`` (a run's options checked by the trainer's schema
and the runs' limits, launch, cancel) with ``supervisor`` (one process per runs root that starts the
queued runs and records how they end), and ``runs_cli`` (``python -m sentiment.runs``).
The pages and the tests use ``runs.launch``, ``runs.get``, ``runs.list_runs``, ... from here.
"""

from __future__ import annotations

from sentiment.training.launcher import (  # noqa: F401
    MAX_QUEUED,
    RunConfigError,
    RunLimits,
    available_datasets,
    cancel,
    check_config,
    launch,
    run_options,
    train_argv,
)
from sentiment.training.registry import (  # noqa: F401
    ACTIVE,
    PROCESS_DIED,
    STATES,
    TERMINAL,
    Run,
    RunError,
    get,
    list_runs,
    log_tail,
    metrics,
    pid_alive,
    progress,
    runs_root,
    uploads_dir,
)
from sentiment.training.runs_cli import main  # noqa: F401

__all__ = [  # not "list": a star import must not shadow the builtin; use runs.list or list_runs
    "RunError", "RunConfigError", "RunLimits", "Run", "STATES", "ACTIVE", "TERMINAL", "PROCESS_DIED",
    "runs_root", "uploads_dir", "list_runs", "get", "metrics", "progress", "log_tail", "check_config",
    "available_datasets", "launch", "cancel", "train_argv", "pid_alive", "main",
]

list = list_runs  # noqa: A001 - the issue's name for it: runs.list(); the builtin is not used in this module
