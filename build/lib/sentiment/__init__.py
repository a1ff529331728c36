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
    training/           the training loop, evaluation, the shipped grid, background runs
    viewstate           a view's state as a shareable link (torch-free)
    ui/                 the Streamlit pages (the only importer of streamlit)

The command-line tools are modules of this package: ``python -m sentiment.predict``, ``train``,
``evaluate``, ``trace``, ``grid``, ``download``, ``runs``, ``catalog``.
"""

__version__ = "0.1.0"
