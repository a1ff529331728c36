"""Models trained in PyTorch, Keras or PaddlePaddle, opened as GateScope checkpoints.

    sandbox         every user's file is parsed in a child process with memory, CPU and time limits;
                    the server gets back only checked fields and weights
    bounds          what a file may declare (sizes, nesting, zip ratios), checked before allocating
    safepickle      unpicklers that run no code (Paddle arrays; a whole pickled PyTorch module)
    safeh5          HDF5 read without external storage, virtual datasets or links that leave the file
    torch_reader    .pt / .pth / .bin / .safetensors state dicts, and torch.save(model) archives
    keras_reader    .keras (Keras 3) and legacy .h5
    paddle_reader   .pdparams
    structure       what the model is (embedding, recurrent layers, reduction, head), detected from
                    names and shapes; weights in GateScope's names and PyTorch's gate order; each fact
                    of how it ran (tokenizer, ids, length, padding, reduction, ...) read, given or assumed
    recipe          what the user gives for what the file cannot say, checked against what it does say
    verify          --check: the reading of the assumed facts that reproduces the framework's own outputs
    preview         P(positive) under one reading (the Models page's choices)
    live            a model object in a notebook, verified against its own outputs
    convert         file -> checkpoint directory; the CLI python -m sentiment.convert
    api             open_model(...): a notebook-friendly handle (trace, figures)

No framework is imported at run time and nothing from a model file is executed. The imported
model's own preprocessing (vocabulary ids, start token, fixed length, padding side) lives in
sentiment.data.vocabs and ModelConfig, so checkpoints load without this package.
"""
