"""GateScope: look inside gated recurrent sentiment models, every gate, every token.

The package's folders are its layers, lowest first from ``spec`` (the names every layer shares) to
``ui`` (the Streamlit pages); a module imports only from its own layer or those below it. What each
layer owns, and the rules between them, are in docs/ARCHITECTURE.md (tests/test_layers.py holds the
code to its table). The command-line tools are modules of this package: ``python -m sentiment.<tool>``.
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
