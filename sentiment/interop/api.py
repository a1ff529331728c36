"""A notebook-friendly handle on any model: ``open_model(...)``, ``.predict(text)``, ``.trace(text)``,
``.figures(text)``.

``open_model`` takes a shipped model's name (``"imdb-lstm-max"``), a run's id, a checkpoint
directory, or a framework's file (``.keras``, ``.h5``, ``.pt``, ``.pth``, ``.bin``, ``.safetensors``,
``.pdparams``) with its vocabulary; a framework file is converted once into the cache
(``$GATESCOPE_CACHE/imported/<hash>``, keyed by the bytes of the file, vocabulary and recipe) and
loaded from there afterwards.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from sentiment import spec
from sentiment.interop.convert import _EXT, convert
from sentiment.modeling import checkpoint
from sentiment.modeling.predict import Prediction, predict
from sentiment.probe.instrument import Trace, trace


@dataclass
class OpenModel:
    checkpoint: checkpoint.Checkpoint

    @property
    def name(self) -> str:
        return Path(self.checkpoint.path).name

    def predict(self, text: str) -> Prediction:
        return predict(self.checkpoint, text)

    def trace(self, text: str, **kw) -> Trace:
        """Every gate of every step (sentiment.probe.instrument.trace); pad steps the model reads are
        traced too and flagged in ``Trace.padding``."""
        return trace(self.checkpoint, text, **kw)

    def figures(self, text_or_trace: str | Trace, layer: int = 0, direction: str = "forward", lang: str = "en") -> dict:
        """The Explore page's figures of one review: {"gates", "prefix", "pooling", "occlusion"} (plotly),
        with pad steps the model reads shaded grey."""
        from sentiment import figures

        tr = text_or_trace if isinstance(text_or_trace, Trace) else self.trace(text_or_trace)
        out = {
            "gates": figures.gate_heatmaps(tr, layer=layer, direction=direction, lang=lang),
            "prefix": figures.prefix_curve(tr, lang=lang),
            "pooling": figures.pooling_bar(tr, lang=lang),
            "occlusion": figures.attribution_bar(tr, "occlusion", lang=lang),
        }
        for fig in out.values():
            mark_padding(fig, tr)
        return out


def mark_padding(fig, tr: Trace):
    """Shade the pad steps a model reads (Trace.padding) on every token axis of a figure."""
    if not tr.padding or not any(tr.padding):
        return fig
    runs, start = [], None
    for t, p in enumerate(list(tr.padding) + [False]):
        if p and start is None:
            start = t
        elif not p and start is not None:
            runs.append((start, t - 1))
            start = None
    axes = sorted({k.replace("axis", "") for k in fig.layout.to_plotly_json() if k.startswith("xaxis")}) or ["x"]
    for xref in axes:
        for a, b in runs:
            fig.add_shape(type="rect", x0=a - 0.5, x1=b + 0.5, y0=0, y1=1, xref=xref, yref="paper",
                          fillcolor="grey", opacity=0.25, line_width=0, layer="above")
    fig.update_layout(meta={**(fig.layout.meta or {}), "padding_steps": int(sum(tr.padding))})
    return fig


def _digest(*parts: Path | dict | None) -> str:
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, Path):
            h.update(p.read_bytes())
        h.update(json.dumps(p, sort_keys=True).encode() if isinstance(p, dict) else b"|")
    return h.hexdigest()[:20]


def open_model(source: str | Path, vocab: str | Path | None = None, recipe: dict | None = None,
               device: str = "cpu", **settings) -> OpenModel:
    """A model by name, checkpoint directory or framework file. ``settings`` are recipe keys
    (``max_len=200, padding="post", tokenizer="char", tanh=True, reduction="last_step"``)."""
    p = Path(source)
    if p.is_file() and (p.suffix.lower() in _EXT or p.suffix == ""):
        recipe = {**(recipe or {}), **settings}
        key = _digest(p, Path(vocab) if vocab else None, recipe)
        out = spec.cache_dir() / "imported" / key
        if not out.is_dir():
            out.parent.mkdir(parents=True, exist_ok=True)
            convert(p, out, vocab, recipe)
        return OpenModel(checkpoint.load(out, device))
    return OpenModel(checkpoint.load(source, device))
