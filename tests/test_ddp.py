"""Multi-process training: torchrun with 2 CPU processes (gloo) trains one model; only rank 0 writes."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from sentiment.modeling import checkpoint


def tiny_csv(path: Path, n: int = 240) -> Path:
    rng = random.Random(0)
    pos = "good great wonderful loved superb fine excellent".split()
    neg = "bad awful boring hated terrible poor dull".split()
    lines = ["label,review"]
    for i in range(n):
        words = pos if i % 2 else neg
        lines.append(f"{i % 2},the film was {' '.join(rng.choice(words) for _ in range(4))}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow  # torchrun
def test_torchrun_two_cpu_processes_write_one_checkpoint(tmp_path):
    """`torchrun --nproc_per_node 2 -m sentiment.train` (gloo) ends with one loadable checkpoint and one event log."""
    data = tiny_csv(tmp_path / "tiny.csv")
    out, metrics = tmp_path / "model", tmp_path / "metrics.jsonl"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "sentiment.train", "--data", str(data), "--hidden", "8", "--embed", "8", "--epochs", "2",
           "--device", "cpu", "--max-len", "20", "--batch-size", "16", "--out", str(out), "--metrics", str(metrics)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env, cwd=Path(__file__).parent.parent)
    assert run.returncode == 0, run.stderr[-3000:]
    ckpt = checkpoint.load(out)
    assert ckpt.card["world_size"] == 2
    events = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [e["type"] for e in events].count("start") == 1  # only rank 0 reports
    assert [e["type"] for e in events].count("done") == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".model")] == []  # no temp dirs left
