"""Training: ``train`` (the loop and its CLI), ``evaluate`` (metrics on a model's own split),
``grid`` (the shipped model grid), ``runs`` (background training runs on disk).
"""
