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
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sentiment import spec
from sentiment.errors import InputError
from sentiment.interop import live, verify
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

    @property
    def verified(self) -> dict | None:
        """The card's "verified" entry ({"examples", "max_diff", "framework", "facts_found"}) of an
        imported model checked against its framework's outputs; None otherwise."""
        return self.checkpoint.card.get("verified")

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


def open_model(source: object, vocab: object = None, recipe: dict | None = None, device: str = "cpu",
               check: object = None, encode: Callable | None = None, texts: Sequence[str] | None = None,
               force: bool = False, **settings) -> OpenModel:
    """A model by name, checkpoint directory or framework file, or a live model object (a
    ``torch.nn.Module``, a Keras model, a ``paddle.nn.Layer``) with ``encode(text) -> ids``, your
    pipeline's own. ``settings`` are recipe keys (``max_len=200, padding="post", tokenizer="char",
    tanh=True, reduction="last_step"``). ``check``: a few of your framework's outputs (an examples file,
    pasted JSON lines or a list of dicts; sentiment.interop.verify) that the conversion must reproduce;
    a live model is checked against its own outputs on ``texts`` (default: a few short reviews in the
    vocabulary's language). ``force``: convert even when nothing reproduces them (marked unverified)."""
    recipe = {**(recipe or {}), **settings}
    if not isinstance(source, (str, Path)):
        return _open_live(source, vocab, recipe, device, encode, texts, force)
    p = Path(source)
    if p.is_file() and (p.suffix.lower() in _EXT or p.suffix == ""):
        examples = verify.read_examples(check) if check is not None else None
        return _converted(p, vocab, recipe, device, examples, force)
    return OpenModel(checkpoint.load(source, device))


def _converted(path: Path, vocab: object, recipe: dict, device: str, examples: list | None, force: bool) -> OpenModel:
    """A framework file converted once into the cache (keyed by its bytes, vocabulary, recipe and examples)."""
    checked = {"check": [e.to_dict() for e in examples], "force": force} if examples is not None else None
    key = _digest(path, Path(vocab) if vocab else None, recipe, checked)
    out = spec.cache_dir() / "imported" / key
    if not out.is_dir():
        out.parent.mkdir(parents=True, exist_ok=True)
        convert(path, out, vocab, recipe, check=examples, force=force)
    return OpenModel(checkpoint.load(out, device))


def _open_live(obj: object, vocab: object, recipe: dict, device: str, encode: Callable | None,
               texts: Sequence[str] | None, force: bool) -> OpenModel:
    """A model object in memory: saved as its framework saves it, converted through the sandbox, and
    verified against its own outputs on a few texts run through ``encode``."""
    kind = live.kind_of(obj)
    if kind is None:
        raise InputError("verify.live_kind", kind=type(obj).__name__, kinds="torch.nn.Module, keras.Model, paddle.nn.Layer")
    if encode is None:
        raise InputError("verify.live_needs_encode", how="encode=fn")
    with tempfile.TemporaryDirectory(prefix="gatescope-live-") as tmp:
        folder = Path(tmp)
        vpath = live.vocab_file(vocab, folder)
        texts = list(texts) if texts else list(live.TEXTS[live.language_of(vpath)])
        path = live.save(obj, kind, folder)
        readings = live.examples(obj, kind, texts, encode)
        for i, examples in enumerate(readings):  # its outputs as logits, then as probabilities
            try:
                return _converted(path, vpath, recipe, device, examples, force and i == len(readings) - 1)
            except InputError as e:
                if not (e.code or "").startswith("verify.") or i == len(readings) - 1:
                    raise
    raise AssertionError("unreachable")  # pragma: no cover
