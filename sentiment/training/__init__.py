"""Training: ``config`` (the training options, declared once: TrainConfig, its checks, its command line;
torch-free), ``train`` (the loop in named steps and its CLI), ``evaluate`` (metrics on a model's own
split), ``grid`` (the shipped model grid), ``estimate`` (how long a run will take); background runs:
``registry`` (run directories and status files; torch-free), ``launcher`` (check, launch, cancel),
``supervisor`` (one process per runs root), ``runs_cli`` (``python -m sentiment.runs``), and ``runs``,
the one name the pages use for all of them.
"""
