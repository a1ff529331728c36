"""Modeling: the sentiment model and what holds it.

``pooling`` (last / max / mean / attention, masked by true lengths), ``model`` (ModelConfig,
SentimentRNN: embedding -> fused LSTM | GRU | RNN -> pooling -> head), ``checkpoint`` (a model
directory, saved atomically, loaded without pickle), ``catalog`` (every model the app offers),
``predict`` (label and probability for texts).
"""
