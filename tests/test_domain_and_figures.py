"""What predicts a model's errors, said for one review (issue 22): the rule reads the card's test accuracy
by length and by unknown-word share; the reliability diagram and the accuracy grid's bag-of-words row.
Bad input: a card without the records, a malformed record, an empty review."""

from __future__ import annotations

import copy

import pytest

from sentiment import figures
from sentiment.modeling import domain


def rows(spec):
    return [{"lo": lo, "hi": hi, "n": n, "right": right, "accuracy": right / n if n else None}
            for lo, hi, n, right in spec]


# the shape of a shipped IMDB card: hardly any test reviews under 26 words, and no drop with length
IMDB = {"by_length": {"test_reviews": 25000, "accuracy": 0.898, "read_len": 2000, "unit": "words", "p10": 89.0,
                      "p50": 174.0, "p90": 445.0,
                      "buckets": rows([(1, 10, 6, 5), (11, 25, 28, 27), (26, 50, 583, 525), (51, 100, 2489, 2230),
                                       (101, 200, 11685, 10525), (201, 400, 7064, 6343), (401, None, 3145, 2795)])},
        "by_unknown": {"test_reviews": 25000, "accuracy": 0.898, "test_unknown_share": 0.027, "p50": 0.02, "p95": 0.0625,
                       "buckets": rows([(0.0, 0.02, 12273, 11200), (0.02, 0.05, 10122, 9010), (0.05, 0.1, 2444, 2098),
                                        (0.1, 0.2, 158, 139), (0.2, None, 3, 3)])}}
# a model whose short and unknown-heavy test reviews were clearly less often right
WORSE = copy.deepcopy(IMDB)
WORSE["by_length"]["buckets"][1].update(n=400, right=296)  # 11-25 words: 74%
WORSE["by_unknown"]["buckets"][3].update(n=500, right=400)  # 10-20% unknown: 80%


def test_a_review_shorter_than_nearly_all_test_reviews_gets_the_nearest_measured_lengths():
    (found,) = domain.check([False] * 8, IMDB)
    assert (found.kind, found.value, found.unit) == ("length", 8, "words")
    assert (found.lo, found.hi, found.n, found.accuracy, found.overall) == (26, 50, 583, 525 / 583, 0.898)
    assert found.nearest and found.own == (1, 10, 6)


def test_a_short_review_in_a_clearly_worse_bucket_gets_that_buckets_accuracy():
    found = domain.short_review(15, WORSE)
    assert (found.lo, found.hi, found.n, found.accuracy, found.nearest) == (11, 25, 400, 0.74, False)
    assert domain.short_review(15, IMDB).nearest  # 28 test reviews of 11-25 words: the nearest with enough speaks


@pytest.mark.parametrize("tokens", [60, 120, 174, 900], ids=["under-p10-measured", "typical", "median", "long"])
def test_a_typical_or_long_review_gets_nothing(tokens):
    """60 words is under the 10th percentile, but its bucket (2,489 test reviews) was right as often as all."""
    assert domain.short_review(tokens, IMDB) is None and domain.short_review(tokens, WORSE) is None


def test_a_high_unknown_share_is_named_only_where_the_test_reviews_show_a_drop():
    unk = [True] * 3 + [False] * 17  # 15%
    assert domain.unknown_words(unk, IMDB) is None  # 10-20%: 88% against 89.8%, within sampling
    found = domain.unknown_words(unk, WORSE)
    assert (found.kind, found.value, found.lo, found.hi, found.n, found.accuracy) == ("unknown", 0.15, 0.1, 0.2, 500, 0.8)
    assert domain.unknown_words([True] * 6 + [False] * 14, WORSE) is None  # 30%: 3 test reviews, too few: nothing
    assert domain.unknown_words([True] + [False] * 49, WORSE) is None  # 2%: an ordinary share


def test_clearly_below_needs_both_the_gap_and_more_than_sampling():
    assert domain.clearly_below(400, 0.74, 0.898)
    assert not domain.clearly_below(2444, 0.858, 0.898)  # 4 points: under the 5-point gap
    assert not domain.clearly_below(40, 0.82, 0.898)  # 8 points on 40 reviews: within 2 standard errors (9.6)
    assert not domain.clearly_below(29, 0.0, 0.898)  # too few to measure


def broken(path, value):
    card = copy.deepcopy(WORSE)
    *keys, last = path
    target = card
    for k in keys:
        target = target[k]
    target[last] = value
    return card


@pytest.mark.parametrize("card", [None, {}, {"domain": {"test_unknown_share": 0.02}}, broken(["by_length"], "x"),
                                  broken(["by_length", "buckets"], []), broken(["by_length", "p50"], None),
                                  broken(["by_length", "accuracy"], 1.5),
                                  broken(["by_length", "buckets", 1, "right"], 401),
                                  broken(["by_length", "buckets", 1, "n"], "400")],
                         ids=["no-card", "no-record", "old-record", "not-a-dict", "no-buckets", "no-median",
                              "bad-accuracy", "more-right-than-reviews", "bad-count"])
def test_nothing_is_claimed_without_grounds(card):
    assert domain.short_review(15, card) is None and domain.short_review(8, card) is None


def test_an_empty_or_tiny_review_says_nothing_of_its_unknown_words():
    assert domain.check([], WORSE) == [] and domain.unknown_words([True] * 4, WORSE) is None


def test_each_finding_reads_as_one_sentence_in_english_and_chinese():
    from sentiment.ui.explore import finding_text

    few, measured = domain.short_review(8, IMDB), domain.short_review(15, WORSE)
    unknown = domain.unknown_words([True] * 3 + [False] * 17, WORSE)
    assert finding_text(measured, "en") == ("Short review (15 words): on its own test reviews of 11–25 words (n = 400) "
                                            "this model was right 74% of the time, against 90% overall.")
    assert finding_text(few, "en") == ("Short review (8 words): its own test reviews had only 6 of 1–10 words, too few to "
                                       "measure; on those of 26–50 words, the nearest lengths with enough (n = 583), this "
                                       "model was right 90% of the time, against 90% overall.")
    assert finding_text(unknown, "en").startswith("Many unknown words: 15% of this review's words")
    assert "10%–20% unknown (n = 500) it was right 80%" in finding_text(unknown, "en")
    assert finding_text(measured, "zh") == ("短评论（15 个词）：在它自己的测试评论中，长度为 11–25 个词的共 400 条，"
                                            "模型判对了 74%，而全部测试评论中判对了 90%。")
    for f in (few, unknown):
        assert "{" not in finding_text(f, "zh") and "%" in finding_text(f, "zh")


def test_reliability_diagram_draws_the_cards_bins():
    rows = [{"lo": 0.5, "hi": 0.6, "n": 10, "confidence": 0.55, "accuracy": 0.5},
            {"lo": 0.9, "hi": 1.0, "n": 90, "confidence": 0.97, "accuracy": 0.9}]
    cal = {"temperature": 2.0, "test_ece_before": 0.06, "test_ece_after": 0.01, "reliability_before": rows,
           "reliability_after": rows[:1]}
    fig = figures.reliability_diagram(cal).to_plotly_json()
    ideal, before, after = fig["data"]
    assert list(before["y"]) == [0.5, 0.9] and list(after["x"]) == [0.55]
    assert "ECE 6.00%" in before["name"] and "T = 2.00" in after["name"]


def test_the_grid_gives_the_bag_of_words_its_own_row():
    rows = [dict(cell="lstm", pooling="max", test_accuracy=0.89), dict(cell="gru", pooling="mean", test_accuracy=0.88),
            dict(cell="bow", pooling="none", test_accuracy=0.90)]
    trace = figures.accuracy_grid(rows, "imdb").to_plotly_json()["data"][0]
    assert list(trace["y"]) == ["LSTM", "GRU", "BOW (reference)"] and list(trace["x"]) == ["max", "mean"]
    assert [round(v, 6) for v in trace["z"][2]] == [90.0, 90.0]
