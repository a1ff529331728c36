"""The names every layer shares, and where things live. Torch-free, imports nothing of GateScope.

Cells, poolings, directions, gate names (as in the equations), languages, labels and the model files
GateScope imports; the folders GateScope reads and writes and the environment variables that move
them. A module that needs one of these names takes it from here, so a cell or a pooling is spelled in
one place (tests/test_names.py fails on a literal list of them anywhere else in sentiment/).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

# ---- models --------------------------------------------------------------------------------------

CELLS = ("lstm", "gru", "rnn")
GATED_CELLS = ("lstm", "gru")
POOLINGS = ("last", "max", "mean", "attention")
# The poolings that read each unit at one step (a Trace's pool_winners): the views show the share of
# units each token won; the other poolings weigh every step (the views show the weights).
WINNER_POOLINGS = ("last", "max")
DIRECTIONS = ("forward", "backward")
# Per cell, the gates and states a Trace holds, in the order the views show them:
# LSTM i_t, f_t, g_t (candidate), o_t, c_t, h_t; GRU r_t, z_t, n_t (candidate), h_t; RNN h_t.
GATE_NAMES = {"lstm": ["i", "f", "g", "o", "c", "h"], "gru": ["r", "z", "n", "h"], "rnn": ["h"]}
SIGMOID_GATES = {"lstm": ["i", "f", "o"], "gru": ["r", "z"], "rnn": []}
ALL_GATES = tuple(dict.fromkeys(g for cell in CELLS for g in GATE_NAMES[cell]))  # every gate name once: i f g o c h r z n

# ---- models from other frameworks (sentiment.interop) ---------------------------------------------

FRAMEWORKS = {"pytorch": "PyTorch", "keras": "Keras", "paddle": "PaddlePaddle"}  # reader -> the name people write


class ImportFormat(NamedTuple):
    """A model file GateScope imports, by its extension."""

    reader: str  # the framework whose reader parses it (a key of FRAMEWORKS)
    label: str  # that framework as people write it
    upload: str | None  # the Models page uploader's type (the extension without its dot); None: not offered there


IMPORT_FORMATS: dict[str, ImportFormat] = {
    ext: ImportFormat(reader, FRAMEWORKS[reader], ext[1:] if offered else None)
    for ext, reader, offered in ((".keras", "keras", True), (".h5", "keras", True), (".hdf5", "keras", True),
                                 (".pt", "pytorch", True), (".pth", "pytorch", True), (".bin", "pytorch", True),
                                 (".safetensors", "pytorch", True), (".ckpt", "pytorch", False),
                                 (".pdparams", "paddle", True))
}
UPLOAD_TYPES = [f.upload for f in IMPORT_FORMATS.values() if f.upload]  # st.file_uploader's type=

# ---- text ----------------------------------------------------------------------------------------

LANGUAGES = ("en", "zh")
# Prediction, evaluation and the probe read a review to its end, up to READ_LIMIT tokens (or the
# model's own max_len where that is longer); training may cut reviews shorter (its --max-len).
READ_LIMIT = 2000
LABEL_NAMES = ["negative", "positive"]
DATASETS = ("imdb", "hotel")

# ---- where things live ---------------------------------------------------------------------------

DATA_ENV = "GATESCOPE_DATA"  # a folder of datasets, searched first
MODELS_ENV = "GATESCOPE_MODELS"  # the shipped models folder
RUNS_ENV = "GATESCOPE_RUNS"  # the runs root (training runs and uploads)
CACHE_ENV = "GATESCOPE_CACHE"  # caches (jieba's dictionary, pattern traces)
MAX_RUNS_ENV = "GATESCOPE_MAX_RUNS"  # how many runs may train at once (default 1)
RUN_SECONDS_ENV = "GATESCOPE_RUN_SECONDS"  # per-run time limit in seconds (default 900)
RUN_DIR_ENV = "GATESCOPE_RUN_DIR"  # set by the runs' supervisor for a training process: its run folder
RUN_POLICY_ENV = "GATESCOPE_RUN_POLICY"  # app-started runs: shared (nice 10, a core left to the pages) or workstation
RAY_ADDRESS_ENV = "GATESCOPE_RAY_ADDRESS"  # a Ray cluster's job address (http://HEAD:8265): runs train there as Ray jobs
RAY_GPU_ENV = "GATESCOPE_RAY_GPU_RESOURCE"  # the Ray resource a GPU run asks one of (default: Ray's own GPU)
PATTERNS_CACHE_ENV = "GATESCOPE_PATTERNS_CACHE_MB"  # the most pattern traces may take on disk

UPLOADS_DIRNAME = "uploads"  # accepted uploads: <runs root>/uploads

PACKAGE_DIR = Path(__file__).resolve().parent


def _assets_dir() -> Path:
    """``sentiment/assets`` in an installed package (``pip install .``), else ``assets/`` in the checkout."""
    inside = PACKAGE_DIR / "assets"
    return inside if inside.is_dir() else PACKAGE_DIR.parent / "assets"


ASSETS_DIR = _assets_dir()
PROJECT_ROOT = PACKAGE_DIR.parent  # the checkout (or site-packages, once installed)
EXAMPLES_DIR = ASSETS_DIR / "examples"


def models_root() -> Path:
    """Shipped models: $GATESCOPE_MODELS or the package's assets/models."""
    env = os.environ.get(MODELS_ENV)
    return Path(env).expanduser().resolve() if env else ASSETS_DIR / "models"


def runs_root_path() -> Path:
    """Training runs: $GATESCOPE_RUNS or ./runs, absolute (not created here)."""
    return Path(os.environ.get(RUNS_ENV) or "runs").expanduser().resolve()


def data_dirs() -> list[Path]:
    """Folders searched for datasets: $GATESCOPE_DATA, ./data, data/ and ../shared/data beside the checkout."""
    dirs = [Path(os.environ[DATA_ENV])] if os.environ.get(DATA_ENV) else []
    return dirs + [Path("data"), PROJECT_ROOT / "data", PROJECT_ROOT.parent / "shared" / "data"]


def download_dir() -> Path:
    """Where downloads go: $GATESCOPE_DATA if set, else ./data."""
    return Path(os.environ.get(DATA_ENV) or "data")


def cache_dir() -> Path:
    """Where GateScope may write caches: $GATESCOPE_CACHE or ~/.cache/gatescope."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "gatescope")
