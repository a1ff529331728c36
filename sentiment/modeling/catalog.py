"""The model catalog: every model the app can offer, shipped (``assets/models``) or made by a run.

A shipped model is a checkpoint directory ``<models root>/<name>/`` (``$GATESCOPE_MODELS``, default
``assets/models`` beside the package), named ``<dataset>-<cell>-<pooling>`` by convention. A run's
model is ``<runs root>/<run id>/model/`` (``$GATESCOPE_RUNS``, default ``./runs``), present only once
the run finished. The catalog reads only ``config.json`` and ``card.json`` (milliseconds for the
whole grid); the weights are read when a model is loaded. A directory that cannot be read is
listed as unavailable with the checkpoint's own error message; listing never raises for it.

CLI: ``python -m sentiment.catalog [--json]`` prints the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sentiment.errors import CheckpointError
from sentiment.i18n import t
from sentiment.jsonio import read_json
from sentiment.modeling import calibration
from sentiment.modeling.checkpoint import FILES, check_config, read_model_json
from sentiment.spec import LANGUAGES, MODELS_ENV, RUNS_ENV, models_root, runs_root_path

IMPORTED_DIR = "imported"  # <runs root>/imported/<name>/: models converted by sentiment.interop


@dataclass
class ModelEntry:
    """One model as the catalog sees it (no weights loaded)."""

    key: str  # unique: "shipped:<name>", "run:<run id>" or "imported:<name>"
    name: str  # directory name (shipped, imported) or the run's name
    source: str  # "shipped" | "run" | "imported" (converted from another framework: <runs root>/imported/<name>)
    path: str  # the checkpoint directory
    available: bool = True
    error: str = ""  # why it is unavailable (a CheckpointError message, English)
    problem: CheckpointError | None = field(default=None, compare=False)  # the same error (its code and params translate it: i18n.t(problem, lang))
    dataset: str = ""  # "imdb", "hotel", a CSV's stem ...
    language: str = ""  # "en" | "zh" (the tokenizer's)
    cell: str = ""  # "lstm" | "gru" | "rnn"
    pooling: str = ""  # "last" | "max" | "mean" | "attention"
    hidden_size: int = 0
    num_layers: int = 0
    bidirectional: bool = False
    max_len: int = 0
    test_accuracy: float | None = None
    test_size: int | None = None
    parameters: int | None = None
    size_bytes: int = 0  # weights file size on disk
    card: dict = field(default_factory=dict)
    temperature: float | None = None  # config.json's fitted temperature; None: not calibrated (read with T = 1)

    @property
    def summary(self) -> str:
        """One line for a person: what it is and how good it is (English; the app formats its own)."""
        if not self.available:
            return f"{self.name}: unavailable ({self.error})"
        parts = [self.name, f"{self.cell.upper()} {self.pooling} pooling", f"{self.dataset} ({_language_name(self.language)})"]
        if self.test_accuracy is not None:
            acc = f"test accuracy {self.test_accuracy:.1%}"
            if self.test_size:
                acc += f" on {self.test_size:,} reviews"
            parts.append(acc)
        if self.parameters:
            parts.append(f"{format_count(self.parameters)} parameters")
        if self.size_bytes:
            parts.append(format_bytes(self.size_bytes))
        return " · ".join(parts)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("problem")  # JSON: the English message is in "error"
        d["summary"] = self.summary
        return d


def _language_name(code: str) -> str:
    """A language's English name (the tables' error.language.<code>), or the code itself when unknown."""
    return t(f"error.language.{code}") if code in LANGUAGES else code


def format_count(n: int) -> str:
    """1234 -> '1.2 k', 1_600_000 -> '1.6 M'."""
    if n >= 1_000_000:
        return f"{n / 1e6:.1f} M"
    if n >= 1_000:
        return f"{n / 1e3:.1f} k"
    return str(n)


def format_bytes(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.0f} kB"
    return f"{n} B"


runs_root = runs_root_path  # $GATESCOPE_RUNS or ./runs, not created (sentiment.spec)


def _split_name(name: str) -> tuple[str, str, str]:
    """'imdb-gru-max' -> ('imdb', 'gru', 'max'); anything else -> (name, '', '')."""
    parts = name.rsplit("-", 2)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else (name, "", "")


def describe(path: str | Path, source: str = "shipped", name: str | None = None, key: str | None = None) -> ModelEntry:
    """Read one checkpoint directory's config and card into a ModelEntry; never raises for a bad one."""
    d = Path(path)
    name = name or d.name
    entry = ModelEntry(key=key or f"{source}:{name}", name=name, source=source, path=str(d))
    ds, cell, pooling = _split_name(name)
    entry.dataset, entry.cell, entry.pooling = ds, cell, pooling  # the name's guess, until the files say
    try:
        if not d.is_dir():
            raise CheckpointError("model.no_dir", path=d)
        cfg = read_model_json(d / "config.json")
        card = read_model_json(d / "card.json")
        check_config(cfg, d / "config.json", card)  # the card says whether it was imported
        model = cfg["model"]
        for f in ("vocab.json", "model.safetensors"):
            if not (d / f).is_file():
                raise CheckpointError("model.missing", path=d / f, files=", ".join(FILES))
        entry.card = card
        entry.language = str(cfg["tokenizer"].get("language", "en"))
        entry.cell = str(model.get("cell", cell or "lstm"))
        entry.pooling = str(model.get("pooling", pooling or "max"))
        entry.hidden_size = int(model.get("hidden_size", 0))
        entry.num_layers = int(model.get("num_layers", 1))
        entry.bidirectional = bool(model.get("bidirectional", True))
        entry.max_len = int(cfg.get("max_len", 0))
        entry.temperature = calibration.temperature_of(cfg) if cfg.get("calibration") is not None else None
        entry.dataset = str(card.get("dataset") or ds)
        acc = card.get("test_accuracy")
        entry.test_accuracy = float(acc) if isinstance(acc, (int, float)) else None
        size = card.get("test_size")
        entry.test_size = int(size) if isinstance(size, (int, float)) else None
        params = card.get("parameters")
        entry.parameters = int(params) if isinstance(params, (int, float)) else None
        entry.size_bytes = (d / "model.safetensors").stat().st_size
    except CheckpointError as e:
        entry.available, entry.error, entry.problem = False, str(e), e
    except (OSError, TypeError, ValueError, AttributeError, RecursionError) as e:
        err = CheckpointError("model.unreadable", path=d, err=e)
        entry.available, entry.error, entry.problem = False, str(err), err
    return entry


def _inits(card: dict) -> list:
    """The init records a model was trained from: its own (``sentiment.train --init``), or, for a weight
    average (``sentiment.soup``), each of its runs'."""
    if not isinstance(card, dict):
        return []
    if "init" in card:
        return [card.get("init")]
    soup = card.get("soup")
    return [m.get("init") if isinstance(m, dict) else None for m in soup] if isinstance(soup, list) and soup else []


def trained_from(card: dict, parent_card: dict) -> bool:
    """True when the model of ``card`` was retrained starting from the weights of ``parent_card``'s
    model: its ``init.sha256`` (written by ``sentiment.train --init``) is the parent's ``weights_sha256``;
    for a weight average, every run's is."""
    inits = _inits(card)
    sha = parent_card.get("weights_sha256") if isinstance(parent_card, dict) else None
    return (bool(inits) and isinstance(sha, str) and bool(sha)
            and all(isinstance(i, dict) and i.get("sha256") == sha for i in inits))


def lineage(a: ModelEntry, b: ModelEntry) -> str | None:
    """How two models are related by retraining: "b_from_a", "a_from_b", or None (unrelated, as far as
    their cards tell)."""
    if trained_from(b.card, a.card):
        return "b_from_a"
    if trained_from(a.card, b.card):
        return "a_from_b"
    return None


def _run_name(run: Path) -> str:
    name = (read_json(run / "config.json") or {}).get("name")
    return f"{name} ({run.name})" if isinstance(name, str) and name and name != run.name else run.name


def list_models(models: str | Path | None = None, runs: str | Path | None = None) -> list[ModelEntry]:
    """Shipped models (sorted by name), then models made by runs (oldest run first), then imported ones.

    ``models`` / ``runs`` default to :func:`models_root` / :func:`runs_root`; a missing root is empty.
    Hidden directories (a checkpoint being written is ``.<name>.tmp-*``) are skipped.
    """
    out: list[ModelEntry] = []
    mroot = Path(models) if models is not None else models_root()
    if mroot.is_dir():
        for d in sorted(mroot.iterdir(), key=lambda p: p.name):
            if d.is_dir() and not d.name.startswith((".", "_")):
                out.append(describe(d, "shipped"))
    rroot = Path(runs) if runs is not None else runs_root()
    if rroot.is_dir():
        for run in sorted(rroot.iterdir(), key=lambda p: p.name):
            if run.is_dir() and not run.name.startswith((".", "_")) and run.name != IMPORTED_DIR and (run / "model").exists():
                out.append(describe(run / "model", "run", name=_run_name(run), key=f"run:{run.name}"))
        out += list_imported(rroot)
    return out


def imported_root(runs: str | Path | None = None) -> Path:
    """Where models converted from PyTorch, Keras or Paddle are kept: ``<runs root>/imported``."""
    return (Path(runs) if runs is not None else runs_root()) / IMPORTED_DIR


def list_imported(runs: str | Path | None = None) -> list[ModelEntry]:
    """Imported models (sentiment.interop), sorted by name; hidden (being written) folders skipped."""
    root = imported_root(runs)
    if not root.is_dir():
        return []
    return [describe(d, "imported") for d in sorted(root.iterdir(), key=lambda p: p.name)
            if d.is_dir() and not d.name.startswith((".", "_"))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sentiment.catalog", description="List the models the app offers.")
    ap.add_argument("--models", help=f"shipped models folder (default ${MODELS_ENV} or assets/models)")
    ap.add_argument("--runs", help=f"runs folder (default ${RUNS_ENV} or ./runs)")
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    args = ap.parse_args(argv)
    for e in list_models(args.models, args.runs):
        if args.json:
            d = e.to_dict()
            d.pop("card")
            print(json.dumps(d, ensure_ascii=False))
        else:
            print(("  " if e.available else "! ") + e.summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
