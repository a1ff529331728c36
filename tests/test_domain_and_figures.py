"""The "out of its domain?" rule, the reliability diagram and the accuracy grid's bag-of-words row.
Bad input: a card without a domain record, a review too short to judge."""

from __future__ import annotations

import pytest

from sentiment import figures
from sentiment.modeling import domain

CARD = {"dataset": "imdb", "domain": {"dataset": "imdb", "test_unknown_share": 0.02, "test_unknown_share_p95": 0.06}}


def test_a_review_full_of_unknown_words_looks_out_of_domain():
    found = domain.check([True] * 4 + [False] * 6, CARD)
    assert found.unlike and found.share == 0.4 and found.dataset == "imdb"


def test_an_ordinary_review_does_not():
    assert not domain.check([False] * 19 + [True], CARD).unlike  # 5%: under the test split's 95th percentile


@pytest.mark.parametrize("unk,card", [([True] * 10, {"dataset": "imdb"}), ([True] * 3, CARD),
                                      ([True] * 10, {"domain": {"dataset": "x"}}), ([True] * 10, None)],
                         ids=["no-record", "too-short", "incomplete-record", "no-card"])
def test_nothing_is_claimed_without_grounds(unk, card):
    assert domain.check(unk, card) is None


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
