"""Models trained in PyTorch, Keras or PaddlePaddle, opened as GateScope checkpoints.

    safepickle      unpicklers that run no code (Paddle arrays; a whole pickled PyTorch module)
    torch_reader    .pt / .pth / .bin / .safetensors state dicts, and torch.save(model) archives
    keras_reader    .keras (Keras 3) and legacy .h5, read with zipfile / h5py
    paddle_reader   .pdparams
    structure       what the model is (embedding, recurrent layers, reduction, head), detected from
                    names and shapes; weights in GateScope's names and PyTorch's gate order
    recipe          the JSON recipe for what detection cannot know
    convert         file -> checkpoint directory; the CLI python -m sentiment.convert
    api             open_model(...): a notebook-friendly handle (trace, figures)

No framework is imported at run time and nothing from a model file is executed. The imported
model's own preprocessing (vocabulary ids, start token, fixed length, padding side) lives in
sentiment.data.vocabs and ModelConfig, so checkpoints load without this package.
"""
