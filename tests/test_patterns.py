"""Units and patterns across a dataset (sentiment.probe.patterns): the batch trace is the probe's, review by
review; its cache round-trips, follows the weights and survives corruption; selection, matching,
unit-word profiles, co-clustering and saturation say what they claim."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import make_checkpoint

from sentiment import probe
from sentiment.errors import InputError
from sentiment.modeling import checkpoint
from sentiment.probe import patterns as P
from sentiment.training import evaluate

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "assets" / "models"


@pytest.fixture(scope="module")
def imdb_lstm():
    return checkpoint.load(MODELS / "imdb-lstm-max")


@pytest.fixture(scope="module")
def imdb_test(data_dir):
    return evaluate.split_for(checkpoint.read_card(MODELS / "imdb-lstm-max")).test


@pytest.fixture(scope="module")
def imdb_batch(imdb_lstm, imdb_test, tmp_path_factory):
    """40 real IMDB test reviews traced by the shipped BiLSTM (max pooling)."""
    return P.load_or_trace(imdb_lstm, n=40, seed=3, examples=imdb_test, root=tmp_path_factory.mktemp("cache"))


@pytest.mark.slow  # traces a sample of the IMDB test split
def test_batch_trace_equals_single_review_traces(imdb_lstm, imdb_test, imdb_batch):
    """Every gate, c and h of 8 sampled reviews equals probe.trace of the review alone (float16 storage)."""
    bt = imdb_batch
    assert bt.n == 40 and bt.info["skipped"] == 0
    assert list(bt.lengths) == sorted(bt.lengths)  # stored shortest first
    for i in np.linspace(0, bt.n - 1, 8).astype(int):
        text, label = imdb_test[int(bt.split_index[i])]
        tr = probe.trace(imdb_lstm, text, prefix=False, occlusion=False)
        assert bt.review_tokens(i) == tr.tokens and int(bt.labels[i]) == label
        assert list(bt.ids[bt.offsets[i]: bt.offsets[i + 1]]) == tr.ids
        for lt in tr.layers:
            for g, want in lt.gates.items():
                got = bt.review(i, (lt.layer, lt.direction, g))
                np.testing.assert_allclose(got, want, atol=1e-3, rtol=1e-3, err_msg=f"review {i} {lt.direction} {g}")


def test_two_layer_gru_batch_trace_equals_probe(tmp_path):
    """Upper layers and GRU gates too (random weights, 2 layers, bidirectional), across padded batches."""
    ck = checkpoint.load(make_checkpoint(tmp_path / "m", cell="gru", layers=2, hidden=8))
    texts = [("the movie was good", 1), ("bad", 0), ("not good at all ! i hated it", 0), ("great acting", 1),
             ("the plot was awful but the film was great", 1)]
    bt = P.trace_sample(ck, texts, tmp_path / "bt", n=5, max_batch=2)  # 3 batches of different lengths
    assert {k[0] for k in bt.keys()} == {0, 1} and {k[2] for k in bt.keys()} == {"r", "z", "n", "h"}
    for i in range(bt.n):
        tr = probe.trace(ck, texts[int(bt.split_index[i])][0], prefix=False, occlusion=False)
        for lt in tr.layers:
            for g, want in lt.gates.items():
                np.testing.assert_allclose(bt.review(i, (lt.layer, lt.direction, g)), want, atol=1e-3)


def test_unreadable_reviews_are_skipped_and_counted(tmp_path):
    """Bad input tried: a review of punctuation only is skipped (counted), not a crash; none readable is an InputError."""
    ck = checkpoint.load(make_checkpoint(tmp_path / "m"))
    bt = P.trace_sample(ck, [("good movie", 1), ("... -- ,,", 0)], tmp_path / "a", n=10)
    assert bt.n == 1 and bt.info["skipped"] == 1
    with pytest.raises(InputError):
        P.trace_sample(ck, [("...", 0)], tmp_path / "b", n=10)


@pytest.mark.slow  # traces a sample of the IMDB test split
def test_cache_round_trip_loads_without_tracing(imdb_lstm, imdb_test, tmp_path):
    calls = []
    first = P.load_or_trace(imdb_lstm, n=12, examples=imdb_test, root=tmp_path, progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1] == (12, 12) and all(d <= t for d, t in calls)
    calls.clear()
    again = P.load_or_trace(imdb_lstm, n=12, examples=imdb_test, root=tmp_path, progress=lambda d, t: calls.append((d, t)))
    assert calls == [] and again.path == first.path
    assert isinstance(again.values((0, "backward", "f")), np.memmap)  # memory-mapped, not read whole
    for key in first.keys():
        assert np.array_equal(np.asarray(first.values(key)), np.asarray(again.values(key)))
    assert again.tokens == first.tokens and np.array_equal(again.split_index, first.split_index)
    assert [p.name for p in tmp_path.iterdir()] == [Path(first.path).name]  # no temporary folder left


def _retrain(path: Path, seed: int) -> checkpoint.Checkpoint:
    """The same model directory with other weights."""
    shutil.rmtree(path)
    return checkpoint.load(make_checkpoint(path, seed=seed))


def test_changed_weights_invalidate_the_cache(tmp_path):
    texts = [("the movie was good", 1), ("bad plot", 0), ("great acting", 1)]
    path = tmp_path / "model"
    old = checkpoint.load(make_checkpoint(path, seed=0))
    bt_old = P.load_or_trace(old, n=3, examples=texts, root=tmp_path / "cache")
    new = _retrain(path, seed=1)
    assert P.weights_sha256(new) != P.weights_sha256(old)
    assert P.cached(new, 3, root=tmp_path / "cache") is None
    calls = []
    bt_new = P.load_or_trace(new, n=3, examples=texts, root=tmp_path / "cache", progress=lambda d, t: calls.append(d))
    assert calls, "the new weights were not traced"
    tr = probe.trace(new, texts[int(bt_new.split_index[0])][0], prefix=False, occlusion=False)
    np.testing.assert_allclose(bt_new.review(0, (0, "forward", "h")), tr.gate("h"), atol=1e-3)
    assert not Path(bt_old.path).exists()  # the stale trace of the same model directory is gone


@pytest.mark.parametrize("damage", ["index", "array", "tokens"])
def test_corrupt_cache_is_rebuilt(tmp_path, damage):
    """Bad input tried: a truncated index.json, a cut .npy file, a tokens file with a line missing."""
    texts = [("the movie was good", 1), ("bad plot", 0), ("great acting", 1)]
    ck = checkpoint.load(make_checkpoint(tmp_path / "m"))
    bt = P.load_or_trace(ck, n=3, examples=texts, root=tmp_path / "cache")
    d = Path(bt.path)
    if damage == "index":
        (d / "index.json").write_text((d / "index.json").read_text()[:40])
    elif damage == "array":
        f = d / "L0-backward-c.npy"
        f.write_bytes(f.read_bytes()[:-20])
    else:
        (d / "tokens.txt").write_text("\n".join((d / "tokens.txt").read_text().split("\n")[:-1]))
    del bt
    assert P.cached(ck, 3, root=tmp_path / "cache") is None
    calls = []
    again = P.load_or_trace(ck, n=3, examples=texts, root=tmp_path / "cache", progress=lambda d, t: calls.append(d))
    assert calls and again.n == 3
    tr = probe.trace(ck, texts[int(again.split_index[2])][0], prefix=False, occlusion=False)
    np.testing.assert_allclose(again.review(2, (0, "backward", "c")), tr.gate("c", 0, "backward"), atol=1e-3)


def test_select_keeps_units_above_threshold_over_the_whole_range():
    v = np.array([[0.9, 0.9, 0.2, 0.7],
                  [0.8, 0.4, 0.9, 0.7],
                  [0.95, 0.9, 0.9, 0.6],
                  [0.1, 0.9, 0.9, 0.1]], dtype=np.float32)  # [T=4, H=4]
    assert list(P.select_units(v, 0, 2, 0.5)) == [0, 3]  # unit 1 dips at token 1, unit 2 at token 0
    assert list(P.select_units(v, 1, 2, 0.5)) == [2, 0, 3]  # highest minimum first
    assert list(P.select_units(v, 3, 3, 0.5)) == [1, 2]
    assert list(P.select_units(v, 0, 3, 0.95)) == []


@pytest.mark.parametrize("bad", [(-1, 2), (2, 1), (0, 4)])
def test_select_refuses_a_range_outside_the_review(bad):
    """Bad input tried: a negative start, start after end, an end past the last token."""
    with pytest.raises(InputError, match="not inside the review"):
        P.select_units(np.zeros((4, 3)), *bad, 0.5)


def _synthetic(tmp_path: Path, values: list[np.ndarray], labels: list[int]) -> P.BatchTrace:
    """A BatchTrace of hand-made [T, H] h arrays (tokens w0, w1, ...)."""
    offsets = np.concatenate([[0], np.cumsum([len(v) for v in values])]).astype(np.int64)
    tokens = [f"w{t}" for v in values for t in range(len(v))]
    info = {"cell": "rnn", "hidden_size": values[0].shape[1], "saturation": {}}
    return P.BatchTrace(info, np.arange(len(values)), np.asarray(labels, np.int8), offsets,
                        np.arange(len(tokens), dtype=np.int32) % 7 + 2, tokens,
                        {(0, "forward", "h"): np.concatenate(values).astype(np.float16)})


def test_match_finds_runs_ranks_them_and_never_crosses_reviews(tmp_path):
    on, off = [0.8, 0.9], [0.8, 0.1]
    r0 = np.array([off, on, on, on, off, on], dtype=np.float32)  # runs 1..3 and 5..5 (end of review)
    r1 = np.array([on, on, off, on, on], dtype=np.float32)  # runs 0..1 (start of review) and 3..4
    bt = _synthetic(tmp_path, [r0, r1], [1, 0])
    matches, total, positive = P.match(bt, (0, "forward", "h"), [0, 1], 0.5, context=1)
    assert total == 4 and positive == 2  # review 0 is positive, review 1 negative
    assert [(m.review, m.start, m.end) for m in matches][0] == (0, 1, 3)  # equally strong: the longest first
    assert {(m.review, m.start, m.end) for m in matches} == {(0, 1, 3), (0, 5, 5), (1, 0, 1), (1, 3, 4)}
    m = matches[0]
    assert m.phrase == ["w1", "w2", "w3"] and m.left == ["w0"] and m.right == ["w4"] and m.label == 1
    last = next(x for x in matches if x.review == 0 and x.start == 5)
    assert last.right == []  # the next review's first token is not this phrase's context
    assert P.match(bt, (0, "forward", "h"), [0, 1], 0.5, min_length=2)[1] == 3


@pytest.mark.slow  # traces a sample of the IMDB test split
def test_match_returns_only_phrases_whose_units_really_are_on(imdb_lstm, imdb_test, imdb_batch):
    """On real reviews: every matched token has every selected unit above the threshold in the probe's own
    single-review trace, and the phrase cannot be extended (the tokens beside it are not all on)."""
    bt, key = imdb_batch, (0, "forward", "h")
    i = int(np.argmax(bt.lengths))
    values = bt.review(i, key)
    units, threshold, start = np.array([], int), 0.0, 3
    for start in range(3, int(bt.lengths[i]) - 1):  # the first two-token span of the longest review with units on
        for threshold in (0.6, 0.5, 0.4, 0.3, 0.2):
            units = P.select_units(values, start, start + 1, threshold)[:3]
            if units.size:
                break
        if units.size:
            break
    assert units.size, "no unit on over any two tokens of the longest review"
    matches, total, positive = P.match(bt, key, units, threshold, limit=25)
    assert 0 <= positive <= total
    assert 0 < len(matches) <= 25 and total >= len(matches)
    every = P.match(bt, key, units, threshold, limit=total)[0]
    assert any(m.review == i and m.start <= start and m.end >= start + 1 for m in every)
    traces = {}
    for m in matches:
        if m.review not in traces:
            traces[m.review] = probe.trace(imdb_lstm, imdb_test[m.split_index][0], prefix=False, occlusion=False).gate("h")
        full = traces[m.review][:, units]  # [T, k] float32, from the probe itself
        assert (full[m.start: m.end + 1] > threshold - 1e-3).all()
        assert m.minimum > threshold and m.mean >= m.minimum
        if m.start > 0:
            assert not (full[m.start - 1] > threshold + 1e-3).all()
        if m.end + 1 < len(full):
            assert not (full[m.end + 1] > threshold + 1e-3).all()
    means = [m.mean for m in matches]
    assert means == sorted(means, reverse=True)  # strongest first, whatever their length


def _worded(tokens: list[str], values: np.ndarray) -> P.BatchTrace:
    """A one-review BatchTrace with these tokens (one vocabulary id per distinct token) and h values [T, H]."""
    ids = {w: i + 2 for i, w in enumerate(dict.fromkeys(tokens))}
    info = {"cell": "rnn", "hidden_size": values.shape[1], "saturation": {}}
    return P.BatchTrace(info, np.arange(1), np.ones(1, np.int8), np.array([0, len(tokens)], np.int64),
                        np.array([ids[w] for w in tokens], np.int32), tokens, {(0, "forward", "h"): values.astype(np.float16)})


def test_match_ranks_by_strength_not_length_and_drops_runs_of_punctuation():
    """A long weak phrase comes after a short strong one; "! ! !" alone is no match (but "not !" is)."""
    tokens = ["a", "long", "weak", "phrase", "x", "strong", "x", "!", "!", "!", "x", "not", "!"]
    v = np.zeros((len(tokens), 1), np.float32)
    v[0:4], v[5], v[7:10], v[11:13] = 0.6, 0.95, 0.99, 0.7
    matches, total, _ = P.match(_worded(tokens, v), (0, "forward", "h"), [0], 0.5)
    assert [m.phrase for m in matches] == [["strong"], ["not", "!"], ["a", "long", "weak", "phrase"]]
    assert total == 3


def test_the_default_selection_finds_units_and_skips_punctuation():
    """The first screen's span: two tokens, no punctuation, over which 3 units stay highest; its threshold
    selects those 3 units."""
    tokens = ["it", "!", "!", "was", "not", "bad"]
    v = np.full((6, 5), -0.2, np.float32)
    v[1:3, :] = 0.99  # punctuation: strongest, but never chosen
    v[3:5, :3] = 0.7  # "was not": three units on
    a, b, thr = P.default_selection(v, tokens)
    assert (a, b) == (3, 4)
    assert list(P.select_units(v, a, b, thr)) == [0, 1, 2]


def test_no_default_selection_in_a_review_of_punctuation():
    assert P.default_selection(np.ones((3, 4), np.float32), ["!", "?", "."]) is None


def test_match_needs_units():
    """Bad input tried: no unit selected."""
    bt = _synthetic(Path("."), [np.ones((3, 2), np.float32)], [1])
    with pytest.raises(InputError, match="at least one unit"):
        P.match(bt, (0, "forward", "h"), [], 0.5)


@pytest.mark.slow  # traces a sample of the IMDB test split
def test_word_profile_is_the_mean_when_read_minus_the_mean(imdb_batch):
    bt, key = imdb_batch, (0, "backward", "o")
    prof = P.word_profile(bt, key, min_count=20)
    v = np.asarray(bt.values(key), dtype=np.float64)
    ids = np.asarray(bt.ids)
    assert prof.counts.min() >= 20 and 1 not in prof.ids
    for w in (0, len(prof.words) // 2, len(prof.words) - 1):
        rows = ids == prof.ids[w]
        assert rows.sum() == prof.counts[w] and bt.tokens[int(np.flatnonzero(rows)[0])] == prof.words[w]
        np.testing.assert_allclose(prof.delta[:, w], v[rows].mean(0) - v.mean(0), atol=1e-9)
    up, down = P.top_words(prof, 5, k=4)
    assert [d for _, d, _ in up] == sorted((d for _, d, _ in up), reverse=True) and all(d > 0 for _, d, _ in up)
    assert all(d < 0 for _, d, _ in down) and up[0][1] == prof.delta[5].max()


def test_cocluster_recovers_planted_blocks_and_orders_them_together():
    """Three planted unit/word blocks, shuffled: the co-clustering finds them and its orders keep each together."""
    rng = np.random.default_rng(0)
    H, W, k = 30, 45, 3
    unit_block, word_block = np.repeat(np.arange(k), H // k), np.repeat(np.arange(k), W // k)
    m = rng.normal(0, 0.05, (H, W))
    for b in range(k):
        m[np.ix_(unit_block == b, word_block == b)] += rng.choice([-1, 1], size=((unit_block == b).sum(), 1)) * (1 + b)
    pu, pw = rng.permutation(H), rng.permutation(W)
    m, unit_block, word_block = m[pu][:, pw], unit_block[pu], word_block[pw]
    cc = P.cocluster(m, k=k, seed=0)
    assert sorted(cc.unit_order) == list(range(H)) and sorted(cc.word_order) == list(range(W))
    for c in cc.clusters:  # each found cluster is one planted block, of units and of words
        assert len(set(unit_block[cc.unit_labels == c])) == 1 and len(set(word_block[cc.word_labels == c])) == 1
        assert set(unit_block[cc.unit_labels == c]) == set(word_block[cc.word_labels == c])
    for order, labels in ((cc.unit_order, cc.unit_labels), (cc.word_order, cc.word_labels)):
        seq = list(labels[order])
        assert [c for i, c in enumerate(seq) if i == 0 or c != seq[i - 1]] == [c for c in cc.clusters if c in seq]
    first = cc.clusters[0]  # the strongest block (|value| 3) comes first
    assert set(unit_block[cc.unit_labels == first]) == {2}


def test_kmeans_is_seeded():
    x = np.random.default_rng(1).normal(size=(50, 2))
    assert np.array_equal(P.kmeans(x, 4, seed=5), P.kmeans(x, 4, seed=5))


@pytest.mark.slow  # traces a sample of the IMDB test split
def test_saturation_is_a_share_and_equals_a_direct_count(imdb_lstm, imdb_test, imdb_batch):
    bt = imdb_batch
    sat = P.saturation(bt)
    assert set(sat) == {(0, d, g) for d in ("forward", "backward") for g in ("i", "f", "o")}
    texts = [imdb_test[int(j)][0] for j in bt.split_index]
    left = {k: 0 for k in sat}
    right = {k: 0 for k in sat}
    steps = 0
    for text in texts:
        tr = probe.trace(imdb_lstm, text, prefix=False, occlusion=False)
        steps += tr.length
        for (l, d, g) in sat:
            left[(l, d, g)] = left[(l, d, g)] + (tr.gate(g, l, d) < 0.1).sum(0)
            right[(l, d, g)] = right[(l, d, g)] + (tr.gate(g, l, d) > 0.9).sum(0)
    assert steps == bt.n_tokens
    for k, s in sat.items():
        assert ((s["left"] >= 0) & (s["left"] <= 1) & (s["right"] >= 0) & (s["right"] <= 1)).all()
        assert (s["left"] + s["right"] <= 1).all()
        np.testing.assert_allclose(s["left"] * steps, left[k], atol=1)  # at most one token on the edge
        np.testing.assert_allclose(s["right"] * steps, right[k], atol=1)
    ref = probe.dataset_saturation(imdb_lstm, texts, max_reviews=len(texts))
    for k in sat:
        np.testing.assert_allclose(sat[k]["left"], ref[k]["left"], atol=1e-6)
    other = P.saturation(bt, 0.2, 0.8)  # other thresholds: counted on the stored values
    k = (0, "forward", "f")
    assert (other[k]["left"] >= sat[k]["left"]).all() and (other[k]["right"] >= sat[k]["right"]).all()


def test_sample_is_seeded_and_capped():
    assert P.sample_indices(10, 20) == list(range(10))
    a, b = P.sample_indices(1000, 50, seed=1), P.sample_indices(1000, 50, seed=1)
    assert a == b and a == sorted(a) and len(set(a)) == 50 and a != P.sample_indices(1000, 50, seed=2)


def test_batches_respect_the_token_budget():
    lengths = sorted(np.random.default_rng(0).integers(1, 500, 300).tolist())
    sl = P._batches(lengths, max_batch=64, tokens=8000)
    assert sl[0].start == 0 and sl[-1].stop == 300 and all(a.stop == b.start for a, b in zip(sl, sl[1:]))
    assert all(s.stop - s.start <= 64 and ((s.stop - s.start) * lengths[s.stop - 1] <= 8000 or s.stop - s.start == 1) for s in sl)


# ---- figures (sentiment.figures.patterns) ---------------------------------------------------------

from sentiment.figures import patterns as pf  # noqa: E402


def test_span_from_a_box_selection_covers_the_tokens_whose_centre_it_covers():
    box = lambda x0, x1: {"points": [], "point_indices": [], "box": [{"xref": "x", "yref": "y", "x": [x0, x1], "y": [0, 5]}], "lasso": []}  # noqa: E731
    assert pf.span_from_selection(box(1.7, 4.2), 10) == (2, 4)
    assert pf.span_from_selection(box(4.2, 1.7), 10) == (2, 4)  # dragged leftwards
    assert pf.span_from_selection(box(3.1, 3.4), 10) == (3, 3)  # inside one token's cell
    assert pf.span_from_selection(box(-3, 50), 10) == (0, 9)  # clipped to the review
    assert pf.span_from_selection({"points": [{"x": 6}, {"x": 4}], "box": []}, 10) == (4, 6)


@pytest.mark.parametrize("bad", [None, {}, {"box": [], "points": []}, {"box": [{"x": []}]}, {"box": [{"x": [12, 15]}]}])
def test_span_from_an_empty_or_outside_selection_is_none(bad):
    """Bad input tried: no selection, an empty one, a box without x, a box right of the review."""
    assert pf.span_from_selection(bad, 10) is None


def test_review_heatmap_is_selectable_and_marks_span_and_units():
    v = np.random.default_rng(0).uniform(size=(6, 4)).astype(np.float32)
    fig = pf.review_heatmap(list("abcdef"), v, "f", span=(1, 3), units=[2, 0])
    assert fig.layout.dragmode == "select" and fig.layout.selectdirection == "h"
    np.testing.assert_allclose(np.asarray(fig.data[0].z), v.T)
    assert [d.type for d in fig.data] == ["heatmap", "scatter", "scatter"]  # the brush row, the selected units
    assert list(fig.data[2].y) == [2, 0]
    rect = fig.layout.shapes[0]
    assert (rect.x0, rect.x1) == (0.5, 3.5)
    assert fig.layout.coloraxis.cmin == 0.0 and fig.layout.coloraxis.cmax == 1.0


def test_review_heatmap_axes_read_as_every_heatmap_s():
    """Every unit row labelled at 32 units or fewer; a long review's token labels thinned, with their positions."""
    rng = np.random.default_rng(1)
    fig = pf.review_heatmap([f"w{i}" for i in range(8)], rng.uniform(size=(8, 32)).astype(np.float32), "h")
    assert list(fig.layout.yaxis.tickvals) == list(range(32)) and fig.layout.yaxis.ticktext[31] == "u31"
    long = pf.review_heatmap([f"w{i}" for i in range(600)], rng.uniform(size=(600, 64)).astype(np.float32), "h")
    assert long.layout.yaxis.tickvals is None  # 64 rows: plotly's own thinned ticks
    labels = list(long.layout.xaxis.ticktext)
    assert 1 < len(labels) <= 60 and all(":" in label for label in labels[1:])  # "120:w120"
    assert list(long.layout.xaxis.autotickangles) == [0, -60, -90]


def test_match_markdown_bolds_the_phrase_and_escapes():
    m = P.Match(review=0, split_index=7, label=1, start=2, end=3, mean=0.8, minimum=0.7,
                phrase=["not", "bad"], left=["it", "*was*"], right=["at"])
    assert pf.match_markdown(m) == "… it \\*was\\* **not bad** at …"
    zh = P.Match(0, 1, 0, 1, 2, 0.5, 0.4, phrase=["再也", "不会"], left=["我"], right=["来"])
    assert pf.match_markdown(zh, "zh") == "…我**再也不会**来…"
    row = pf.match_rows([m])[0]
    assert row["phrase"] == "not bad" and row["label"] == "positive" and row["review"] == 7


def test_cocluster_heatmap_shows_the_ordered_matrix():
    rng = np.random.default_rng(2)
    m = rng.normal(size=(8, 6))
    cc = P.cocluster(m, k=2)
    fig = pf.cocluster_heatmap(m, [f"w{j}" for j in range(6)], cc, "h")
    np.testing.assert_allclose(np.asarray(fig.data[0].z), m[np.ix_(cc.unit_order, cc.word_order)])
    assert fig.layout.meta["words"] == [f"w{j}" for j in cc.word_order]
    boundaries = sum(1 for a, b in zip(cc.unit_labels[cc.unit_order], cc.unit_labels[cc.unit_order][1:]) if a != b)
    assert len([s for s in fig.layout.shapes if s.xref == "paper"]) == boundaries > 0


@pytest.mark.slow  # traces a sample of the IMDB test split
def test_saturation_scatter_one_panel_per_layer_and_direction(imdb_batch):
    sat = P.saturation(imdb_batch)
    fig = pf.saturation_scatter(sat)
    points = [d for d in fig.data if d.mode == "markers"]
    assert len(points) == 6 and {d.name.split(" ")[0] for d in points} == {"i_t", "f_t", "o_t"}
    panels = fig.layout.meta["panels"]  # [[0, "forward"], [0, "backward"]]: axes x, x2
    for d in points:
        layer, direction = panels[0 if d.xaxis == "x" else 1]
        np.testing.assert_allclose(d.x, sat[(layer, direction, d.legendgroup)]["left"])
        np.testing.assert_allclose(d.y, sat[(layer, direction, d.legendgroup)]["right"])
    with pytest.raises(ValueError):
        pf.saturation_scatter({})



@pytest.mark.slow  # traces a sample of the IMDB test split
def test_saturation_legend_sits_under_the_axis_titles(imdb_batch):
    """The gates' legend is below the x-axis titles (about 50 px under the axes), not drawn across them."""
    fig = pf.saturation_scatter(P.saturation(imdb_batch))
    plot_h = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    below = -fig.layout.legend.y * plot_h
    assert fig.layout.legend.yanchor == "top" and 55 <= below <= fig.layout.margin.b - 25

def test_cache_keeps_within_its_size_limit_dropping_the_least_recently_used(tmp_path, monkeypatch):
    """Three models' traces with room for two: the one used longest ago goes, the newest always stays."""
    texts = [("the movie was good", 1), ("bad plot", 0), ("great acting", 1)]
    cks = [checkpoint.load(make_checkpoint(tmp_path / f"m{i}", seed=i)) for i in range(3)]
    root = tmp_path / "cache"
    first = P.load_or_trace(cks[0], n=3, examples=texts, root=root)
    one = sum(f.stat().st_size for f in Path(first.path).rglob("*") if f.is_file())
    monkeypatch.setenv("GATESCOPE_PATTERNS_CACHE_MB", str(2.5 * one / 1e6))
    P.load_or_trace(cks[1], n=3, examples=texts, root=root)
    import os
    os.utime(P.cache_path(cks[1], 3, root=root), (1, 1))  # m1 used long ago
    P.load_or_trace(cks[0], n=3, examples=texts, root=root)  # m0 used now
    P.load_or_trace(cks[2], n=3, examples=texts, root=root)  # a third: over the limit
    assert P.cached(cks[1], 3, root=root) is None
    assert P.cached(cks[0], 3, root=root) is not None and P.cached(cks[2], 3, root=root) is not None


def test_a_limit_below_one_trace_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("GATESCOPE_PATTERNS_CACHE_MB", "0.001")
    texts = [("the movie was good", 1), ("bad plot", 0)]
    ck = checkpoint.load(make_checkpoint(tmp_path / "m"))
    with pytest.raises(InputError, match="trace at most about"):
        P.load_or_trace(ck, n=2, examples=texts, root=tmp_path / "cache")
    assert P.cache_bytes(tmp_path / "cache") == 0


def _upload(n: int) -> list[tuple[str, int]]:
    """An uploaded CSV's reviews (their own source, not a test split)."""
    words = "the a movie film was good bad great awful not at all plot acting i loved hated it".split()
    return [(" ".join(words[(i + k) % len(words)] for k in range(40)), i % 2) for i in range(n)]


def test_uploads_are_held_to_the_cache_limit_keeping_the_states_when_every_gate_would_not_fit(tmp_path, monkeypatch):
    """Issue 16: a 0.29 MB upload wrote 189.5 MB with a 20 MB limit. Here several uploads are traced past
    the limit: the cache never holds more than it, and a sample too big for every gate keeps c and h."""
    ck = checkpoint.load(make_checkpoint(tmp_path / "m", hidden=16))
    root = tmp_path / "cache"
    reviews = _upload(200)  # 8,000 tokens
    every = P.sample_bytes(ck, 8000, 200, 8000 * 6, P.GATE_NAMES["lstm"])
    states = P.sample_bytes(ck, 8000, 200, 8000 * 6, ["c", "h"])
    limit = (every + states) // 2  # every gate does not fit, the states do
    monkeypatch.setenv("GATESCOPE_PATTERNS_CACHE_MB", str(limit / 1e6))
    for k in range(3):
        bt = P.load_or_trace(ck, n=200 - k, split=f"upload-{k}", examples=reviews, root=root)
        assert bt.gates() == ["c", "h"]
        assert P.cache_bytes(root) <= limit
    sat = P.saturation(bt)  # every sigmoid gate still counted while tracing
    assert {k[2] for k in sat} == {"i", "f", "o"}


def test_a_trace_that_fits_keeps_every_gate(tmp_path):
    ck = checkpoint.load(make_checkpoint(tmp_path / "m"))
    bt = P.load_or_trace(ck, n=20, split="upload-x", examples=_upload(20), root=tmp_path / "cache")
    assert bt.gates() == P.GATE_NAMES["lstm"]


def test_sessions_asking_at_once_trace_the_sample_once(tmp_path):
    """Four threads (four browser sessions) ask for the same untraced sample: one traces, the others
    wait and read it; all get the same trace and the cache holds exactly it."""
    import threading
    texts = [("the movie was good", 1), ("bad plot", 0), ("great acting", 1)] * 10
    ck = checkpoint.load(make_checkpoint(tmp_path / "m"))
    traced, got, errors = [], [], []

    def ask():
        try:
            bt = P.load_or_trace(ck, n=30, examples=texts, root=tmp_path / "cache",
                                 progress=lambda d, t: traced.append(threading.get_ident()))
            got.append(bt.path)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors and len(got) == 4 and len(set(got)) == 1
    assert len(set(traced)) == 1  # one session traced
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [Path(got[0]).name]


def test_unwritable_cache_traces_once_and_returns_the_trace(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    texts = [("the movie was good", 1), ("bad plot", 0)]
    ck = checkpoint.load(make_checkpoint(tmp_path / "m"))
    bt = P.load_or_trace(ck, n=2, examples=texts, root=blocker / "cache")
    assert bt.n == 2 and P.cached(ck, 2, root=blocker / "cache") is None


def test_threshold_for_selects_at_least_k_units():
    rng = np.random.default_rng(0)
    values = rng.uniform(-1, 1, size=(12, 9)).astype(np.float32)
    for a, b in [(0, 0), (2, 5), (0, 11)]:
        thr = P.threshold_for(values, a, b, k=3)
        assert len(P.select_units(values, a, b, thr)) >= 3
        assert len(P.select_units(values, a, b, thr + 0.05)) < 3  # the highest such multiple of 0.05
    assert P.threshold_for(values, 5, 2) is None and P.threshold_for(values, 0, 12) is None


def test_the_quick_sample_is_balanced_length_bucketed_seeded_and_capped():
    """Half of each label (a label with too few gives its share to the other), spread from the shortest to the
    longest review of each label, the same for the same seed; everything when n covers the split."""
    examples = [("w " * (j % 97 + 1), int(j % 3 == 0)) for j in range(3000)]  # a third positive, lengths 1..97
    got = P.quick_indices(examples, 200, seed=0)
    assert got == sorted(set(got)) and len(got) == 200
    assert sum(examples[j][1] for j in got) == 100
    for y in (0, 1):
        lengths = sorted(len(examples[j][0]) // 2 for j in got if examples[j][1] == y)
        assert lengths[0] <= 2 and lengths[-1] >= 96  # short to long
        assert max(np.diff(lengths)) <= 3  # evenly spread: one review a length bucket
    assert P.quick_indices(examples, 200, seed=0) == got and P.quick_indices(examples, 200, seed=1) != got
    few = [("good", 1)] * 5 + [("bad", 0)] * 100
    picked = P.quick_indices(few, 20)
    assert sum(few[j][1] for j in picked) == 5 and len(picked) == 20
    assert P.quick_indices(few, 500) == list(range(105))


def test_the_quick_sample_is_cached_under_its_own_key(tmp_path):
    """load_or_trace(quick=True) traces quick_indices' reviews into a directory of its own: the seeded sample
    of the same size is another trace, and a second call reads the cache."""
    ck = checkpoint.load(make_checkpoint(tmp_path / "m", hidden=8))
    examples = [(("good great fine " if j % 2 else "bad awful dull ") * (j % 7 + 1), j % 2) for j in range(60)]
    quick = P.load_or_trace(ck, 10, examples=examples, root=tmp_path / "c", quick=True)
    assert list(quick.split_index) != [] and sorted(quick.split_index.tolist()) == P.quick_indices(examples, 10)
    assert "-quick-" in Path(quick.path).name and quick.info["sample"] == "quick"
    seeded = P.load_or_trace(ck, 10, examples=examples, root=tmp_path / "c")
    assert Path(seeded.path) != Path(quick.path) and seeded.info["sample"] == "seeded"
    again = P.cached(ck, 10, root=tmp_path / "c", quick=True)
    assert again is not None and again.path == quick.path
