"""Shared fixtures: where the real datasets are, and tiny random-weight checkpoints made on the fly."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("GATESCOPE_CACHE", str(ROOT / ".cache"))
torch.set_num_threads(2)

from sentiment.data.text import Vocab  # noqa: E402
from sentiment.modeling import checkpoint  # noqa: E402
from sentiment.modeling.model import ModelConfig, SentimentRNN  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _scan_streamlit_components_once():
    """Each new AppTest scans the metadata of every installed distribution for Streamlit components
    (0.1-0.3 s with keras, paddle and tensorflow installed, a tenth of a page test); the installed
    packages do not change during a session, so the scan runs once and its result is reused."""
    try:
        from streamlit.components.v2 import manifest_scanner
    except ImportError:  # another Streamlit: nothing to reuse
        yield
        return
    scan = manifest_scanner.scan_component_manifests
    manifest_scanner.scan_component_manifests = functools.cache(scan)
    yield
    manifest_scanner.scan_component_manifests = scan


def shared_data_dir() -> Path:
    """The first of the app's own data folders (``spec.data_dirs``, the README's order) that has the datasets."""
    from sentiment import spec

    for d in spec.data_dirs():
        if (d / "ChnSentiCorp_htl_all.csv").exists():
            return d
    raise RuntimeError("the datasets were not found: set GATESCOPE_DATA (see README)")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real datasets (GATESCOPE_DATA or ../shared/data). Tests that need them fail, not skip, without them."""
    return shared_data_dir()


@pytest.fixture(scope="session")
def imdb_path(data_dir: Path) -> Path:
    for name in ("aclImdb_v1.tar.gz", "aclImdb_v1-text.tar.gz", "aclImdb"):
        if (data_dir / name).exists():
            return data_dir / name
    raise RuntimeError(f"no IMDB archive in {data_dir}")


@pytest.fixture(scope="session")
def hotel_path(data_dir: Path) -> Path:
    return data_dir / "ChnSentiCorp_htl_all.csv"


EN_WORDS = "the a movie film was good bad great awful not at all plot acting i loved hated it ! ?".split()
ZH_WORDS = "酒店 房间 很 不 好 差 干净 服务 早餐 不错 再也 不会 ！".split()


def make_checkpoint(
    out: Path,
    cell: str = "lstm",
    pooling: str = "max",
    language: str = "en",
    layers: int = 1,
    bidirectional: bool = True,
    hidden: int = 8,
    embed: int = 6,
    max_len: int = 50,
    seed: int = 0,
) -> Path:
    """A random-weight checkpoint with a tiny vocabulary, saved through checkpoint.save."""
    torch.manual_seed(seed)
    words = ZH_WORDS if language == "zh" else EN_WORDS
    vocab = Vocab(["<pad>", "<unk>"] + words)
    cfg = ModelConfig(vocab_size=len(vocab), embed_dim=embed, hidden_size=hidden, num_layers=layers,
                      bidirectional=bidirectional, cell=cell, pooling=pooling, dropout=0.0)
    model = SentimentRNN(cfg)
    card = {"dataset": "tiny", "format": "csv", "split_seed": 0, "test_accuracy": 0.5, "test_size": 0}
    return checkpoint.save(out, model, vocab, {"language": language, "mode": "word"}, max_len, card)


@pytest.fixture
def tiny_checkpoint(tmp_path: Path):
    """Factory: tiny_checkpoint(cell=..., pooling=..., ...) -> loaded Checkpoint."""
    counter = iter(range(1000))

    def factory(**kw) -> checkpoint.Checkpoint:
        return checkpoint.load(make_checkpoint(tmp_path / f"m{next(counter)}", **kw))

    return factory
