"""GateScope core: tokenizers, data, gated RNN sentiment models, probe, training and runs.

Nothing in this package (outside ``sentiment.ui``) imports streamlit.
"""

__version__ = "0.1.0"
