"""Patterns over a whole dataset (sentiment.probe.patterns.index, issue 24): the index keeps each unit's
hidden state above a floor, exactly; a match over it is the exhaustive search over the float32 states
(``matching.match`` on the same states held whole), across shards; an interrupted build resumes to the
same index; a threshold under the floor is refused; ``python -m sentiment.patterns`` prints JSON."""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_checkpoint

from sentiment.errors import InputError
from sentiment.modeling import checkpoint
from sentiment.probe import patterns as P
from sentiment.probe.instrument import recompute
from sentiment.probe.patterns import index as X
from sentiment.probe.patterns_cli import main as cli
from sentiment.training import evaluate

ROOT = Path(__file__).resolve().parent.parent
HOTEL = ROOT / "assets" / "models" / "hotel-lstm-max"


@pytest.fixture(scope="module")
def hotel():
    return checkpoint.load(HOTEL)


@pytest.fixture(scope="module")
def hotel_reviews(data_dir):
    return evaluate.split_for(checkpoint.read_card(HOTEL)).test[:120]


@pytest.fixture(scope="module")
def hotel_index(hotel, hotel_reviews, tmp_path_factory):
    """120 real hotel test reviews, in shards of about 1,500 tokens (so matches cross shard borders)."""
    return X.build_index(hotel, hotel_reviews, tmp_path_factory.mktemp("ix") / "hotel", shard_tokens=1500)


@pytest.fixture(scope="module")
def hotel_dense(hotel, hotel_index):
    return dense(hotel, hotel_index)


def dense(ckpt: checkpoint.Checkpoint, ix: X.WholeIndex) -> P.BatchTrace:
    """The same reviews' float32 states held whole, as a BatchTrace: what an exhaustive search reads
    (traced shard by shard, as the index was: the same batches give the same float32 values)."""
    ids = np.load(Path(ix.path) / "ids.npy")
    seqs = [ids[ix.offsets[r]: ix.offsets[r + 1]].tolist() for r in range(ix.n)]
    states = np.concatenate([rows for s in ix.shards for _, rows in X.state_rows(ckpt, seqs[s.review0: s.review1])])
    H = ix.hidden_size
    arrays = {key: states[:, k * H: (k + 1) * H] for k, key in enumerate(ix.keys)}  # [N_tok, H] float32 each
    return P.BatchTrace(dict(ix.info), ix.split_index, ix.labels, ix.offsets, ids, ix.tokens(0, ix.n_tokens), arrays, ix.path)


@pytest.mark.slow  # traces real reviews (or builds an index twice): seconds
def test_more_than_one_shard_and_every_review_kept(hotel_index, hotel_reviews):
    assert len(hotel_index.shards) >= 3
    assert hotel_index.n == len(hotel_reviews) and hotel_index.n_tokens == int(hotel_index.offsets[-1])
    assert sorted(hotel_index.split_index.tolist()) == list(range(len(hotel_reviews)))


@pytest.mark.slow  # traces real reviews (or builds an index twice): seconds
def test_the_lists_hold_exactly_the_values_above_the_floor(hotel_dense, hotel_index):
    bt = hotel_dense
    H = hotel_index.hidden_size
    for k, key in enumerate(hotel_index.keys):
        v = bt.values(key)  # [N_tok, H] float32
        for u in (0, 17, H - 1):
            rows = np.concatenate([s.unit(k * H + u)[0] + s.row0 for s in hotel_index.shards])
            vals = np.concatenate([s.unit(k * H + u)[1] for s in hotel_index.shards])
            assert np.array_equal(rows, np.flatnonzero(v[:, u] > X.FLOOR))
            assert np.array_equal(vals, v[rows, u])  # float32, bit for bit


@pytest.mark.slow  # traces real reviews (or builds an index twice): seconds
def test_the_states_are_the_ones_the_probe_shows(hotel, hotel_index):
    """h from the fused recurrence, per layer and direction, equals the probe's recomputed h."""
    ids = torch.from_numpy(np.load(Path(hotel_index.path) / "ids.npy")[hotel_index.offsets[5]: hotel_index.offsets[6]].astype(np.int64))[None]
    lengths = torch.tensor([ids.shape[1]])
    with torch.no_grad():
        x = hotel.model.embedding(ids)
        mine = X.hidden_states(hotel.model.rnn, x, lengths)
        probe = [r["gates"]["h"] for r in recompute(hotel.model.rnn, x, lengths)]
    for a, b in zip(mine, probe, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


@pytest.mark.slow  # traces real reviews (or builds an index twice): seconds
def test_a_match_is_the_exhaustive_search_over_the_float32_states(hotel_dense, hotel_index):
    bt = hotel_dense
    rng = random.Random(0)
    H = hotel_index.hidden_size
    for _ in range(12):
        key = rng.choice(hotel_index.keys)
        units = rng.sample(range(H), rng.choice([1, 2, 3, 5]))
        threshold = rng.choice([0.1, 0.15, 0.2, 0.3, 0.45])
        want = P.match(bt, key, units, threshold, limit=30)
        got = X.match_index(hotel_index, key, units, threshold, limit=30)
        assert (got.total, got.positive) == (want.total, want.positive)
        assert [(m.review, m.start, m.end, m.phrase, m.left, m.right) for m in got.matches] == \
            [(m.review, m.start, m.end, m.phrase, m.left, m.right) for m in want.matches]
        np.testing.assert_allclose([m.mean for m in got.matches], [m.mean for m in want.matches], rtol=1e-12)
        assert [m.minimum for m in got.matches] == [m.minimum for m in want.matches]


@pytest.mark.slow  # traces real reviews (or builds an index twice): seconds
def test_the_unit_word_profile_over_every_review_is_the_samples_computed_whole(hotel_dense, hotel_index):
    bt = hotel_dense
    for key in hotel_index.keys:
        want = P.word_profile(bt, key, min_count=5)
        got = X.word_profile_of(hotel_index, key, min_count=5)
        assert got.words == want.words and np.array_equal(got.counts, want.counts)
        np.testing.assert_allclose(got.delta, want.delta, rtol=0, atol=1e-9)
        np.testing.assert_allclose(got.unit_mean, want.unit_mean, rtol=0, atol=1e-12)


@pytest.mark.slow  # traces real reviews (or builds an index twice): seconds
def test_a_finished_index_keeps_word_sums_only_for_the_words_it_read(hotel_index):
    with np.load(Path(hotel_index.path) / "words.npz") as z:
        ids, sums, counts = z["ids"], z["sums"], z["counts"]
    read = np.unique(np.load(Path(hotel_index.path) / "ids.npy"))
    assert np.array_equal(ids, read) and np.array_equal(np.flatnonzero(counts), read)
    assert sums.dtype == np.float64 and sums.shape == (len(read), len(hotel_index.keys) * hotel_index.hidden_size)
    assert len(read) < len(counts) / 2  # a test split reads a small part of the vocabulary


@pytest.mark.slow  # traces real reviews (or builds an index twice): seconds
def test_gate_saturation_over_every_review_is_the_samples_counted_whole(hotel, hotel_reviews, hotel_index, tmp_path):
    """The counts the build adds up (gates recomputed from the batch's x_t and h_{t-1}) equal the sample
    format's, which counts every gate of the same reviews as the probe computes them."""
    sample = P.trace_sample(hotel, hotel_reviews, tmp_path / "sample", n=len(hotel_reviews))
    want, got = P.saturation(sample), X.saturation_of(hotel_index)
    assert sorted(got) == sorted(want) and len(got) == 2 * 3  # forward and backward; i, f and o
    for key, w in want.items():
        assert got[key]["steps"] == w["steps"] == hotel_index.n_tokens and got[key]["reviews"] == w["reviews"]
        for side in ("left", "right"):  # a value exactly at 0.1 or 0.9 may round either way in another batch
            assert np.abs(got[key][side] - w[side]).max() * w["steps"] <= 2, (key, side)
    assert max(got[k]["right"].max() for k in got) > 0.1  # there is saturation to count


@pytest.mark.slow  # traces real reviews (or builds an index twice): seconds
def test_a_threshold_under_the_floor_is_refused(hotel_index):
    with pytest.raises(InputError) as e:
        X.match_index(hotel_index, hotel_index.keys[0], [1, 2], X.FLOOR / 2)
    assert e.value.code == "patterns.index_floor"


@pytest.mark.slow  # traces real reviews (or builds an index twice): seconds
def test_an_interrupted_build_resumes_to_the_same_index(tmp_path):
    ck = checkpoint.load(make_checkpoint(tmp_path / "m", cell="gru", layers=2, hidden=8))
    rng = random.Random(1)
    words = "the a movie film was good bad great awful not at all plot acting".split()
    reviews = [(" ".join(rng.choice(words) for _ in range(rng.randint(3, 40))), i % 2) for i in range(60)]
    asked = {"n": 0}

    def stop_after_some() -> bool:
        asked["n"] += 1
        return asked["n"] > 3

    with pytest.raises(InputError):
        X.build_index(ck, reviews, tmp_path / "a", shard_tokens=200, should_stop=stop_after_some)
    partial = tmp_path / "a.partial"
    done_before = sorted(p.name for p in partial.glob("shard-*"))
    assert done_before and not (tmp_path / "a").exists() and not list(partial.glob("*.tmp"))
    resumed = X.build_index(ck, reviews, tmp_path / "a", shard_tokens=200)
    fresh = X.build_index(ck, reviews, tmp_path / "b", shard_tokens=200)
    assert not partial.exists() and len(resumed.shards) == len(fresh.shards) > len(done_before)
    for name in ("ids.npy", "offsets.npy", "tok_bytes.bin", *(f"shard-{k:05d}/{f}" for k in range(len(fresh.shards))
                                                             for f in ("ptr.npy", "rows.npy", "vals.npy"))):
        assert (Path(resumed.path) / name).read_bytes() == (Path(fresh.path) / name).read_bytes(), name
    with np.load(Path(resumed.path) / "words.npz") as r, np.load(Path(fresh.path) / "words.npz") as f:
        assert int(r["upto"]) == int(f["upto"]) == len(fresh.shards)
        assert np.array_equal(r["sums"], f["sums"]) and np.array_equal(r["counts"], f["counts"])
    assert resumed.keys == [(0, "forward", "h"), (0, "backward", "h"), (1, "forward", "h"), (1, "backward", "h")]


@pytest.mark.slow  # traces real reviews (or builds an index twice): seconds
def test_the_command_line_indexes_a_csv_and_matches_in_it(tmp_path, hotel_reviews, capsys):
    csv = tmp_path / "mine.csv"
    csv.write_text("label,review\n" + "".join(f"{y},\"{t.replace(chr(34), '')}\"\n" for t, y in hotel_reviews[:40]),
                   encoding="utf-8")
    assert cli(["index", "--model", str(HOTEL), "--data", str(csv), "--cache", str(tmp_path / "cache")]) == 0
    built = json.loads(capsys.readouterr().out)
    assert built["built"] and built["reviews"] == 40 and built["bytes"] > 0
    assert cli(["match", "--model", str(HOTEL), "--data", str(csv), "--cache", str(tmp_path / "cache"),
                "--units", "3,40", "--threshold", "0.2", "--direction", "backward"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["index"] == built["index"]  # found in the cache, not built again
    assert res["total"] >= len(res["matches"]) and all(m["minimum"] > 0.2 for m in res["matches"])
    assert cli(["match", "--model", str(HOTEL), "--data", str(csv), "--cache", str(tmp_path / "cache"),
                "--units", "3", "--threshold", "0.01"]) == 2
    assert "at least 0.1" in capsys.readouterr().err


def test_start_build_runs_once_in_the_background_and_stop_keeps_what_is_done(tmp_path):
    ck = checkpoint.load(make_checkpoint(tmp_path / "m", cell="lstm", hidden=8))
    rng = random.Random(2)
    words = "the a movie film was good bad great awful not at all plot acting".split()
    reviews = [(" ".join(rng.choice(words) for _ in range(rng.randint(3, 30))), i % 2) for i in range(40)]
    job = X.start_build(ck, lambda: reviews, "tiny-test", root=tmp_path / "cache")
    assert X.start_build(ck, lambda: reviews, "tiny-test", root=tmp_path / "cache") is job  # one build per index
    for _ in range(600):
        if not job.running:
            break
        time.sleep(0.05)
    assert job.error is None and job.done == job.total == 40
    ix = X.cached_index(ck, "tiny-test", root=tmp_path / "cache")
    assert ix is not None and ix.n == 40 and X.build_of(ck, "tiny-test", root=tmp_path / "cache") is job
    stopped = X.start_build(ck, lambda: reviews, "other", root=tmp_path / "cache")
    stopped.stop.set()
    for _ in range(600):
        if not stopped.running:
            break
        time.sleep(0.05)
    assert stopped.error is not None and stopped.error.code == "patterns.index_stopped"
    assert X.cached_index(ck, "other", root=tmp_path / "cache") is None


@pytest.mark.slow  # indexes the hotel test split (776 reviews) from the page
def test_the_page_indexes_the_whole_split_and_matches_in_it(monkeypatch, tmp_path):
    """Patterns in 中文 (the hotel LSTM): the whole-split section offers the index, builds it in the
    background from its button, then lists the matches over every test review with their count."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("GATESCOPE_RUNS", str(ROOT / "tests" / "no-runs-here"))
    monkeypatch.setenv("GATESCOPE_CACHE", str(tmp_path / "cache"))
    at = AppTest.from_file(str(ROOT / "tests" / "_patterns_page.py"), default_timeout=120)
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception, at.exception
    assert any(s.value.startswith("在全部 ") for s in at.subheader), [s.value for s in at.subheader]
    before = set(map(id, X._BUILDS.values()))
    at.button(key="pt_index").click().run()
    assert not at.exception, at.exception
    jobs = [j for j in X._BUILDS.values() if id(j) not in before]  # the build this click started
    deadline = time.monotonic() + 600  # a minute or less alone; more on a CPU shared with other tests
    while any(j.running for j in jobs) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert jobs and all(not j.running and j.error is None for j in jobs), [j.error for j in jobs]
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    ready = next(c.value for c in at.caption if c.value.startswith("索引："))
    tokens = re.search(r"索引：776 条评论，([\d,]+) 个词元", ready)
    assert tokens, ready
    # the unit words over every review: the profile reads all of the index's tokens
    at.session_state["pt_tab"] = "单元与词"
    at.session_state["pt_words_source"] = "whole"
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(f"全部 {tokens.group(1)} 个词元" in c.value for c in at.caption), [c.value for c in at.caption]
    # gate saturation over every review: the counts the build made, over all of the index's tokens
    at.session_state["pt_tab"] = "饱和度"
    at.session_state["pt_sat_source"] = "whole"
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(f"全部 776 条评论的词元（共 {tokens.group(1)} 个" in c.value for c in at.caption), [c.value for c in at.caption]
