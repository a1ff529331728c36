"""Units and patterns across a dataset: a batch trace of a test-split sample, cached on disk, and what
is read from it: unit selection (as LSTMVis does), phrase matching, unit-word profiles with a
co-clustering of units and words (as RNNVis does), and gate saturation over the sample.

One module a step, in the order the page uses them:
- ``trace``: ``trace_sample`` (every gate, cell and hidden state of a seeded sample of reviews, traced
  by ``probe.recompute`` on length-sorted padded batches), written and read back (``load_dir``) as a
  ``BatchTrace`` directory, whose layout its docstring gives;
- ``cache``: ``load_or_trace`` / ``cached`` under ``text.cache_dir()/patterns``, keyed by the model's
  weights, split, sample size, seed and sample kind, atomic, locked, held to a size limit;
- ``matching``: ``select_units``, ``threshold_for``, ``default_selection``, ``match``;
- ``profiles``: ``word_profile`` / ``top_words``, ``unit_words``, ``cocluster`` (over ``kmeans``);
- ``unit_saturation``: ``saturation``.

Every name is importable from here (``from sentiment.probe import patterns; patterns.match(...)``).
To monkeypatch one, patch it in the module that defines it and in the modules that call it
(``cache.load_or_trace`` calls ``trace.trace_sample`` by its name in ``cache``).

No streamlit here; the page (``sentiment/ui/patterns.py``) and the figures
(``sentiment/figures/patterns.py``) only call these functions.
"""

from sentiment.probe.instrument import DIRECTIONS, GATE_NAMES, SIGMOID_GATES  # noqa: F401 (as before the split)
from sentiment.probe.patterns.cache import (  # noqa: F401 (the package's public names)
    bytes_per_token,
    cache_bytes,
    cache_key,
    cache_limit_bytes,
    cache_path,
    cache_root,
    cached,
    load_or_trace,
    prune_to_size,
    touch,
)
from sentiment.probe.patterns.matching import (  # noqa: F401
    Match,
    Matches,
    default_selection,
    is_punctuation,
    match,
    on_together,
    punctuation_rows,
    select_units,
    threshold_for,
)
from sentiment.probe.patterns.profiles import (  # noqa: F401
    CoClusters,
    UnitWords,
    WordProfile,
    cocluster,
    kmeans,
    strongest_words,
    top_words,
    unit_words,
    word_profile,
)
from sentiment.probe.patterns.trace import (  # noqa: F401
    DEFAULT_SAMPLE,
    FORMAT,
    INDEX_BYTES,
    MAX_BATCH,
    QUICK_SAMPLE,
    SATURATION,
    TOKENS_PER_BATCH,
    BatchTrace,
    Key,
    Progress,
    _batches,
    choose_gates,
    load_dir,
    quick_indices,
    sample_bytes,
    sample_indices,
    state_gates,
    trace_sample,
    weights_sha256,
)
from sentiment.probe.patterns.unit_saturation import saturation  # noqa: F401
