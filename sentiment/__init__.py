"""GateScope: look inside gated recurrent sentiment models, every gate, every token.

The package's folders are its layers (docs/ARCHITECTURE.md); a module imports only from its own
layer or those below it:

    spec, errors        names every layer shares; errors that carry a message for a person
    data/               text -> tokens -> ids: tokenizers and vocabulary, dataset readers, batches,
                        downloads, uploaded CSVs
    modeling/           the model (embedding, fused LSTM/GRU/RNN, pooling, head), checkpoints, the
                        model catalog, prediction
    probe/              the instrumented model: every gate of every step (Trace), the reference
                        equations, gradients, cell updates, edits and diffs, patterns over a dataset
    figures/            plotly figures built from Traces and run metrics (pure functions)
    interop/            models trained in PyTorch, Keras or PaddlePaddle read (no framework, no code
                        run) and converted into checkpoints; open_model (above probe and figures)
    training/           the training loop, evaluation, the shipped grid, background runs
    viewstate           a view's state as a shareable link (torch-free)
    ui/                 the Streamlit pages (the only importer of streamlit)

The command-line tools are modules of this package: ``python -m sentiment.predict``, ``train``,
``evaluate``, ``trace``, ``grid``, ``download``, ``runs``, ``catalog``, ``convert``.
"""

__version__ = "0.1.0"


def open_model(source, vocab=None, recipe=None, device="cpu", **settings):
    """A model to use from Python (a notebook): a shipped model's name, a run's id, a checkpoint
    directory, or a PyTorch / Keras / PaddlePaddle file with its vocabulary (``check=EXAMPLES``: a few of
    your framework's outputs it must reproduce), or a model object in memory with ``encode=fn`` (your
    pipeline's text -> ids; verified against the object's own outputs). Returns an
    ``OpenModel`` with ``.predict(text)``, ``.trace(text)`` and ``.figures(text)``; see
    ``sentiment.interop.api``. (Imported lazily: ``import sentiment`` stays light.)"""
    from sentiment.interop.api import open_model as _open

    return _open(source, vocab, recipe, device, **settings)
