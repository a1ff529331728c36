"""Data: from text and files to batches of ids.

``text`` (tokenizers, language guess, Vocab), ``readers`` (the official dataset formats, any
label/text CSV, deterministic splits; torch-free), ``batching`` (length-bucketed batches, padded
id tensors), ``download`` (the two datasets from their official sources), ``uploads`` (CSV files a
person uploads, checked before any run).
"""
