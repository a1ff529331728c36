"""The shipped grid (issue 3): all 18 models are there, within the size budget, load fast and read
the obvious reviews right."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentiment.modeling import checkpoint
from sentiment.modeling.pooling import POOLINGS
from sentiment.modeling.predict import predict

ROOT = Path(__file__).resolve().parent.parent


# ---- shipped models ----------------------------------------------------------------------------

SHIPPED = sorted(p for p in (ROOT / "assets" / "models").iterdir() if p.is_dir() and not p.name.startswith("."))
OBVIOUS = {
    "en": ("An absolute masterpiece. Brilliant acting, a moving story, I loved every minute of it.",
           "The worst film I have ever seen. Boring, stupid and a complete waste of time."),
    "zh": ("房间干净整洁，服务热情周到，早餐丰富，下次还会再来。", "房间又脏又小，服务态度极差，再也不会入住了。"),
}


def test_the_full_grid_is_shipped():
    """18 models: {imdb, hotel} x {lstm, gru} x four poolings, plus a vanilla RNN per dataset."""
    names = {p.name for p in SHIPPED}
    assert {f"{d}-{c}-{p}" for d in ("imdb", "hotel") for c in ("lstm", "gru") for p in POOLINGS} <= names
    assert any(n.startswith("imdb-rnn") for n in names) and any(n.startswith("hotel-rnn") for n in names)
    assert sum(f.stat().st_size for p in SHIPPED for f in p.iterdir()) <= 60e6


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_model_loads_fast_and_gets_the_obvious_right(path):
    """Each shipped model loads (in under a second: bench/limits.py), has a complete card, and reads the obvious reviews right."""
    ck = checkpoint.load(path)
    assert {"test_accuracy", "test_size", "dataset", "command", "split_seed"} <= set(ck.card)
    good, bad = OBVIOUS[ck.language]
    assert predict(ck, good).label == "positive"
    assert predict(ck, bad).label == "negative"


@pytest.mark.parametrize("language,dataset", [("en", "imdb"), ("zh", "hotel")])
def test_the_lesson_models_read_learns_why_gates_pairs_right(language, dataset):
    """Learn's "why gates?" pairs (the same words in another order) are read right by the models a lesson
    opens on (LSTM with max pooling) and by the best-reading one (attention), so the page shows gates
    doing what the bag of words cannot."""
    from sentiment.ui.words import WHY_EXAMPLES

    for name in (f"{dataset}-lstm-max", f"{dataset}-lstm-attention"):
        ck = checkpoint.load(Path(SHIPPED[0]).parent / name)
        for positive, negative in WHY_EXAMPLES[language]:  # the turn comes last: the clause after it decides
            assert (predict(ck, positive).label, predict(ck, negative).label) == ("positive", "negative"), (name, positive)
