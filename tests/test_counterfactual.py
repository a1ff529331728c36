"""Edit and diff (sentiment.probe.counterfactual), the keep/write split (sentiment.probe.updates) and their figures.

Edits are plain text operations; diffs and splits are checked on the shipped models' traces (real
hotel reviews from ChnSentiCorp, English examples from assets/examples) and on tiny random models.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sentiment import figures, probe
from sentiment.data import readers
from sentiment.data.text import MAX_CHARS
from sentiment.errors import InputError
from sentiment.modeling import checkpoint
from sentiment.probe import counterfactual as cf
from sentiment.probe import updates

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "assets" / "models"
EN_EXAMPLES = [e["text"] for e in json.loads((ROOT / "assets" / "examples" / "en.json").read_text(encoding="utf-8"))]


@pytest.fixture(scope="module")
def shipped():
    cache = {}

    def get(name: str) -> checkpoint.Checkpoint:
        if name not in cache:
            cache[name] = checkpoint.load(MODELS / name)
        return cache[name]

    return get


@pytest.fixture(scope="module")
def hotel_reviews(hotel_path) -> list[str]:
    """Five real hotel reviews of moderate length from ChnSentiCorp."""
    texts = [t for t, _ in readers.load(hotel_path).examples if 20 <= len(t) <= 120]
    return texts[:5]


def edited(text: str, kind: str, language: str, index: int = 0) -> str:
    return cf.apply_edit(text, kind, language, index).text


# ---- built-in edits --------------------------------------------------------------------------------


@pytest.mark.parametrize("text,language,expected", [
    ("The movie was good.", "en", "The movie was not good."),
    ("Good film.", "en", "Not good film."),
    ("It was very good.", "en", "It was not very good."),
    ("It is an excellent film.", "en", "It is a not excellent film."),  # "an" follows the inserted word
    ("服务好。", "zh", "服务不好。"),
    ("房间很干净。", "zh", "房间很不干净。"),
    ("太差了", "zh", "不太差了"),  # 不 goes before 太: never "太不差了"
])
def test_negation_inserts_not(text, language, expected):
    assert edited(text, "negate", language) == expected


@pytest.mark.parametrize("text,language,expected", [
    ("It was not bad at all.", "en", "It was bad at all."),
    ("Not very good.", "en", "Very good."),
    ("It isn't boring.", "en", "It is boring."),
    ("It can't be dull, can't it be dull?", "en", "It can't be dull, can't it be not dull?"),  # "be" in between: not negated
    ("服务不好。", "zh", "服务好。"),
    ("不太满意。", "zh", "太满意。"),
])
def test_negation_of_a_negated_word_takes_the_negation_away(text, language, expected):
    assert edited(text, "negate", language, len(cf.find_edits(text, language, "negate")) - 1) == expected


@pytest.mark.parametrize("text,language,expected", [
    ("The movie was good.", "en", "The movie was very good."),
    ("It was not bad.", "en", "It was not very bad."),
    ("An awful film.", "en", "A very awful film."),
    ("服务好。", "zh", "服务很好。"),
    ("早餐差", "zh", "早餐很差"),
])
def test_intensifier(text, language, expected):
    assert edited(text, "intensify", language) == expected


@pytest.mark.parametrize("text,language,expected", [
    ("The movie was good", "en", "The movie was good. But the ending was awful."),
    ("A boring film!", "en", "A boring film! But the acting was wonderful."),
    ("It was not bad.  ", "en", "It was not bad. But the ending was awful."),  # a negated bad reads positive
    ("房间很干净", "zh", "房间很干净，但是早餐很差。"),
    ("房间很脏。", "zh", "房间很脏。但是服务很热情。"),
])
def test_contrast_appends_a_clause_of_the_other_leaning(text, language, expected):
    assert edited(text, "contrast", language) == expected


def test_every_place_is_offered_in_reading_order():
    text = "Good acting, bad plot, wonderful music."
    edits = cf.find_edits(text, "en", "negate")
    assert [e.word for e in edits] == ["Good", "bad", "wonderful"]
    assert [e.change() for e in edits] == [("Good", "Not good"), ("bad", "not bad"), ("wonderful", "not wonderful")]
    assert edited(text, "negate", "en", 2) == "Good acting, bad plot, not wonderful music."
    assert [e.kind for e in cf.find_edits(text, "en")] == ["negate"] * 3 + ["intensify"] * 3 + ["contrast"]


@pytest.mark.parametrize("text,language,kind,reason", [
    ("I saw it on a Tuesday.", "en", "negate", "no_word"),
    ("I saw it on a Tuesday.", "en", "contrast", "no_word"),
    ("这次出差住这里好像还行", "zh", "negate", "no_word"),  # 出差 and 好像 are not 差 and 好
    ("It was very good and so bad.", "en", "intensify", "all_intensified"),
    ("房间很干净", "zh", "intensify", "all_intensified"),
    ("", "en", "negate", "empty"),
    ("   \n", "zh", "contrast", "empty"),
    (None, "en", "negate", "empty"),
    ("good", "fr", "negate", "language"),
    ("good", "en", "shout", "kind"),
])
def test_edit_that_does_not_apply_is_refused_with_a_reason(text, language, kind, reason):
    """Bad inputs tried: no listed word, all already intensified, empty/None text, unknown language or kind."""
    with pytest.raises(cf.EditRefused) as err:
        cf.apply_edit(text, kind, language)
    assert err.value.reason == reason and isinstance(err.value, InputError) and str(err.value)


def test_edit_place_out_of_range_is_refused():
    """Bad input tried: place 5 (and -1) of a text with one place."""
    for index in (5, -1):
        with pytest.raises(cf.EditRefused, match="applies at 1 place"):
            cf.apply_edit("good", "negate", "en", index)


def test_huge_paste_is_edited_fast_within_what_the_model_reads():
    text = "good movie " * 50_000
    edits = cf.find_edits(text, "en", "negate")  # its time: bench/limits.py
    assert edits and all(e.end <= MAX_CHARS for e in edits)
    assert edits[0].text.startswith("not good movie good movie") and len(edits[0].text) == len(text) + 4


# ---- alignment ----------------------------------------------------------------------------------------


def test_alignment_of_an_insertion():
    al = cf.align_tokens(["the", "movie", "was", "good"], ["the", "movie", "was", "not", "good"])
    assert al.rows == [(0, 0), (1, 1), (2, 2), (None, 3), (3, 4)]
    assert al.ops == ["equal", "equal", "equal", "insert", "equal"]
    assert al.labels() == ["the", "movie", "was", "+not", "good"]
    assert al.index_a.tolist() == [0, 1, 2, -1, 3] and al.paired.tolist() == [True, True, True, False, True]


def test_alignment_of_a_deletion():
    al = cf.align_tokens(["not", "bad", "at", "all"], ["bad", "at", "all"])
    assert al.rows == [(0, None), (1, 0), (2, 1), (3, 2)] and al.ops[0] == "delete"
    assert al.labels()[0] == "−not"


def test_alignment_of_a_replacement():
    """Same length: paired token by token; different lengths: deleted then inserted."""
    al = cf.align_tokens(["it", "was", "good", "!"], ["it", "was", "bad", "!"])
    assert al.rows == [(0, 0), (1, 1), (2, 2), (3, 3)] and al.ops[2] == "replace" and al.labels()[2] == "good→bad"
    al = cf.align_tokens(["it", "was", "great"], ["it", "was", "not", "good"])
    assert al.rows == [(0, 0), (1, 1), (2, None), (None, 2), (None, 3)]
    assert al.ops[2:] == ["delete", "insert", "insert"]


def test_alignment_of_identical_and_empty_sequences():
    assert cf.align_tokens(list("abcab"), list("abcab")).ops == ["equal"] * 5
    al = cf.align_tokens([], ["x"])
    assert al.rows == [(None, 0)] and cf.align_tokens([], []).rows == []


def test_long_reviews_align_without_the_junk_heuristic():
    """In a review of 200+ tokens difflib's autojunk treats every frequent token as junk; with it, this
    insertion would leave only 180 of 360 tokens paired."""
    a = ("it was good and the plot was fun . " * 40).split()
    b = a[:180] + ["not"] + a[180:]
    al = cf.align_tokens(a, b)
    assert al.ops.count("insert") == 1 and al.ops.count("equal") == len(a) == 360


# ---- differences of two traces ------------------------------------------------------------------------


def test_identical_reviews_differ_by_zero(shipped, hotel_reviews):
    tr = probe.trace(shipped("hotel-gru-max"), hotel_reviews[0], occlusion=False)
    d = cf.diff_traces(tr, tr)
    assert d.delta_p == 0 and not d.label_changed
    for gates in d.gates.values():
        for v in gates.values():
            assert not np.isnan(v).any() and np.all(v == 0)
    assert np.all(d.prefix_delta == 0)


@pytest.mark.parametrize("model", ["imdb-lstm-max", "imdb-gru-attention"])
def test_diff_is_b_minus_a_on_aligned_tokens_with_nan_where_unpaired(shipped, model):
    """Negating a word: NaN in the inserted row; elsewhere B − A of the two traces. Layer 0's forward
    direction has not yet read the edit before it, its backward direction after it: zero there, and so
    is the change of the prefix curve before the edit."""
    ck = shipped(model)
    text = EN_EXAMPLES[0]
    e = cf.apply_edit(text, "negate", "en")
    a, b = probe.trace(ck, text, occlusion=False), probe.trace(ck, e.text, occlusion=False)
    d = cf.diff_traces(a, b)
    ins = [r for r, op in enumerate(d.alignment.ops) if op == "insert"]
    assert len(ins) == 1 and d.alignment.labels()[ins[0]] == "+not"
    k = ins[0]
    for (layer, direction), gates in d.gates.items():
        for name, v in gates.items():
            assert v.shape == (len(d.alignment.rows), a.hidden_size)
            assert np.isnan(v[k]).all() and not np.isnan(np.delete(v, k, 0)).any()
            i, j = d.alignment.rows[k + 1]
            assert np.allclose(v[k + 1], b.gate(name, layer, direction)[j] - a.gate(name, layer, direction)[i])
            if direction == "forward":
                assert np.all(v[:k] == 0), (name, direction)
            else:
                assert np.all(v[k + 1:] == 0), (name, direction)
    assert np.allclose(d.prefix_delta[:k], 0, atol=1e-6) and np.isnan(d.prefix_delta[k])
    assert d.delta_p == pytest.approx(float(b.probs[1] - a.probs[1]))


def test_negating_the_praise_of_a_positive_review_lowers_p_positive(shipped):
    """A sanity check of the shipped IMDB LSTM: "not good" reads less positive than "good"."""
    ck = shipped("imdb-lstm-max")
    text = "The movie was good."
    a = probe.trace(ck, text, prefix=False, occlusion=False)
    b = probe.trace(ck, edited(text, "negate", "en"), prefix=False, occlusion=False)
    assert float(b.probs[1]) < float(a.probs[1])


def test_chinese_edit_diff(shipped, hotel_reviews):
    ck = shipped("hotel-lstm-mean")
    text = next(t for t in hotel_reviews if cf.find_edits(t, "zh", "negate"))
    e = cf.apply_edit(text, "negate", "zh")
    d = cf.diff_traces(probe.trace(ck, text, occlusion=False), probe.trace(ck, e.text, occlusion=False))
    assert set(d.alignment.ops) <= {"equal", "insert", "delete", "replace"} and "equal" in d.alignment.ops
    assert np.isnan(d.gate("c", 0, "backward")[~d.alignment.paired]).all()


def test_architectures_that_do_not_match_cannot_be_subtracted(tiny_checkpoint):
    """Bad input tried: an LSTM of 8 units against one of 16, and an LSTM against a GRU."""
    text = "the movie was not good at all"
    a = probe.trace(tiny_checkpoint(cell="lstm", hidden=8), text, occlusion=False)
    b = probe.trace(tiny_checkpoint(cell="lstm", hidden=16), text, occlusion=False)
    g = probe.trace(tiny_checkpoint(cell="gru", hidden=8), text, occlusion=False)
    assert cf.comparable(a, b) == ("hidden", 8, 16) and cf.comparable(a, g) == ("cell", "lstm", "gru")
    with pytest.raises(InputError, match="hidden sizes differ \\(8 vs 16\\)"):
        cf.diff_traces(a, b)
    with pytest.raises(InputError, match="cells differ"):
        cf.gate_diff(a, g)
    same = probe.trace(tiny_checkpoint(cell="lstm", hidden=8, seed=3), text, occlusion=False)
    assert cf.comparable(a, same) is None
    d = cf.diff_traces(a, same)  # two models, one review: before / after retraining
    assert np.allclose(d.gate("h"), same.gate("h") - a.gate("h"))
    with pytest.raises(KeyError):
        d.gate("h", 1, "forward")  # a layer the models do not have
    with pytest.raises(KeyError):
        d.gate("z")  # an LSTM has no z


# ---- kept and written --------------------------------------------------------------------------------


@pytest.mark.parametrize("model,state", [("hotel-lstm-max", "c"), ("hotel-lstm-attention", "c"),
                                         ("hotel-gru-max", "h"), ("hotel-gru-last", "h")])
def test_kept_plus_written_is_the_new_state_on_shipped_models(shipped, hotel_reviews, model, state):
    """LSTM: f_t c_{t-1} + i_t g_t = c_t; GRU: z_t h_{t-1} + (1 - z_t) n_t = h_t, every step, unit, direction."""
    for text in hotel_reviews:
        tr = probe.trace(shipped(model), text, prefix=False, occlusion=False)
        for lt in tr.layers:
            u = updates.cell_updates(tr, lt.layer, lt.direction)
            assert u.state_name == state and u.kept.shape == u.written.shape == (tr.length, tr.hidden_size)
            assert np.abs(u.kept + u.written - lt.gates[state]).max() < 1e-5


def test_kept_plus_written_on_english_and_two_layers(shipped, tiny_checkpoint):
    tr = probe.trace(shipped("imdb-lstm-max"), EN_EXAMPLES[6], prefix=False, occlusion=False)
    u = updates.cell_updates(tr, 0, "backward")
    assert np.abs(u.kept + u.written - tr.gate("c", 0, "backward")).max() < 1e-5
    for cell in ("lstm", "gru"):
        tr = probe.trace(tiny_checkpoint(cell=cell, layers=2), "the plot was not good but i loved it", prefix=False, occlusion=False)
        for lt in tr.layers:
            u = updates.cell_updates(tr, lt.layer, lt.direction)
            assert np.abs(u.kept + u.written - u.state).max() < 1e-5


def test_previous_state_follows_the_reading_direction():
    s = np.arange(6, dtype=float).reshape(3, 2)
    assert updates.previous_state(s, "forward").tolist() == [[0, 0], [0, 1], [2, 3]]
    assert updates.previous_state(s, "backward").tolist() == [[2, 3], [4, 5], [0, 0]]
    with pytest.raises(ValueError):
        updates.previous_state(s, "sideways")


def test_first_step_keeps_nothing(shipped):
    """The state before the first step is 0: the forward direction keeps nothing at token 0, the backward at the last."""
    tr = probe.trace(shipped("imdb-gru-max"), EN_EXAMPLES[3], prefix=False, occlusion=False)
    assert np.all(updates.cell_updates(tr, 0, "forward").kept[0] == 0)
    assert np.all(updates.cell_updates(tr, 0, "backward").kept[-1] == 0)


def test_plain_rnn_and_bad_units_are_refused(tiny_checkpoint):
    """Bad input tried: a vanilla RNN (no gates), a unit past the last, a layer the model lacks."""
    tr = probe.trace(tiny_checkpoint(cell="rnn"), "good movie", prefix=False, occlusion=False)
    with pytest.raises(InputError, match="no gates"):
        updates.cell_updates(tr)
    tr = probe.trace(tiny_checkpoint(cell="lstm", hidden=8), "good movie", prefix=False, occlusion=False)
    u = updates.cell_updates(tr)
    with pytest.raises(ValueError, match="units 0 to 7"):
        updates.unit_summary(u, 8)
    with pytest.raises(KeyError):
        updates.cell_updates(tr, 3, "forward")
    s = updates.unit_summary(u, 2)
    assert 0 <= s["kept_share"] <= 1 and abs(s["top_value"]) == pytest.approx(np.abs(u.written[:, 2]).max())


# ---- figures ----------------------------------------------------------------------------------------------


def spec(fig) -> dict:
    return json.loads(fig.to_json())


def z_of(d: dict) -> np.ndarray:
    from test_figures import bdata

    return bdata(d["z"]).astype(float)


def test_diff_heatmaps_show_gaps_and_a_centred_scale(shipped):
    ck = shipped("imdb-lstm-max")
    text = "The movie was great and the acting was wonderful."
    other = "The movie was not good and the acting was wonderful indeed."
    d = cf.diff_traces(probe.trace(ck, text, occlusion=False), probe.trace(ck, other, occlusion=False))
    s = spec(figures.diff_heatmaps(d, 0, "backward", top_k=5))
    meta = s["layout"]["meta"]
    assert meta["labels"] == ["the", "movie", "was", "−great", "+not", "+good", "and", "the", "acting", "was", "wonderful", "+indeed"]
    assert len(meta["units"]) == 5 and [x["name"] for x in s["data"]] == ["i", "f", "g", "o", "c", "h"]
    unpaired = [r for r, op in enumerate(meta["ops"]) if op in ("insert", "delete")]
    assert len(s["layout"]["shapes"]) == len(unpaired) == 4  # a grey column per token without a partner
    for x in s["data"]:
        z = z_of(x)
        assert z.shape == (5, len(meta["labels"])) and np.isnan(z[:, unpaired]).all()
    for ax in ("coloraxis", "coloraxis2", "coloraxis3"):
        c = s["layout"][ax]
        assert c["cmid"] == 0 and c["cmin"] == -c["cmax"] > -np.inf
    # most changed units first
    change = sum(np.nanmean(np.abs(d.gate(g, 0, "backward")[d.alignment.paired]), 0) for g in meta["gates"])
    assert meta["units"] == list(np.argsort(-change, kind="stable")[:5])
    zh = spec(figures.diff_heatmaps(d, 0, "forward", gates=["f", "c"], lang="zh"))
    assert "门控的变化" in zh["layout"]["title"]["text"] and [x["name"] for x in zh["data"]] == ["f", "c"]
    with pytest.raises(ValueError):
        figures.diff_heatmaps(d, 1, "forward")


def test_diff_prefix_has_both_curves_and_the_change(shipped):
    ck = shipped("hotel-gru-max")
    text = "房间很干净，服务很热情。"
    d = cf.diff_traces(probe.trace(ck, text, occlusion=False), probe.trace(ck, edited(text, "negate", "zh"), occlusion=False))
    s = spec(figures.diff_prefix(d, ("A", "B")))
    assert [x["type"] for x in s["data"]] == ["bar", "scatter", "scatter"]
    assert s["layout"]["meta"]["labels"] == d.alignment.labels()


def test_update_figures_add_up(shipped):
    tr = probe.trace(shipped("imdb-lstm-attention"), EN_EXAMPLES[8], prefix=False, occlusion=False)
    s = spec(figures.update_unit(tr, 17, 0, "backward", lang="zh"))
    kept, written, state = (np.asarray(x["y"] if isinstance(x["y"], list) else z_of({"z": x["y"]}), dtype=float) for x in s["data"])
    assert np.allclose(kept + written, state, atol=1e-5) and np.allclose(state, tr.gate("c", 0, "backward")[:, 17], atol=1e-6)
    assert s["layout"]["barmode"] == "relative" and "单元 17" in s["layout"]["title"]["text"]
    h = spec(figures.update_heatmaps(tr, 0, "forward", top_k=4))
    assert [x["name"] for x in h["data"]] == ["kept", "written", "c"] and len(h["layout"]["meta"]["units"]) == 4
    assert h["layout"]["coloraxis"]["cmin"] == -h["layout"]["coloraxis"]["cmax"]
    with pytest.raises(ValueError, match="out of range"):
        figures.update_unit(tr, 128)
