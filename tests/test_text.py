"""Text: the English and Chinese tokenizers, jieba's cache folder, the language guess, the Vocab.

Bad input tried here: empty and whitespace-only text, text that is not a string, a 1 MB paste,
control characters, HTML, emoji, mixed scripts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sentiment.data import text
from sentiment.data.text import PAD, PAD_ID, UNK, UNK_ID, Vocab
from sentiment.errors import InputError

pytest.importorskip("hypothesis", reason="the property tests draw their cases with hypothesis: pip install -e .[dev]")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


# ---- English -----------------------------------------------------------------------------------


def test_english_tokens_are_lower_case_words_and_numbers():
    """English tokens are the lower-cased words and numbers of the text, punctuation dropped."""
    assert text.tokenize_en("The FILM, released in 1999: Great.") == ["the", "film", "released", "in", "1999", "great"]


def test_english_keeps_apostrophes_inside_words():
    """Contractions and possessives stay one token; a stray apostrophe is not a token."""
    assert text.tokenize_en("I didn't like Nolan's film 'at all'") == ["i", "didn't", "like", "nolan's", "film", "at", "all"]


def test_english_keeps_exclamation_and_question_marks_as_tokens():
    """! and ? are tokens of their own (they carry sentiment); other punctuation is not."""
    assert text.tokenize_en("Really?! No...") == ["really", "?", "!", "no"]


def test_english_removes_imdb_line_breaks():
    """IMDB's <br /> markup (any spelling) separates words and leaves no 'br' token."""
    assert text.tokenize_en("Great.<br /><br />Loved it<BR>again<br/>end") == ["great", "loved", "it", "again", "end"]


def test_english_drops_html_tags_and_control_characters():
    """Other HTML tags and control characters are removed, and the words around them kept apart."""
    assert text.tokenize_en("<b>good</b>\x00film\x07<i>!</i>") == ["good", "film", "!"]


def test_english_of_nothing_readable_is_empty():
    """Emoji, symbols and whitespace give no tokens at all."""
    assert text.tokenize_en("😀🎉 *** \n\t ~~~") == []


# ---- Chinese -----------------------------------------------------------------------------------


def test_chinese_word_mode_gives_jieba_words():
    """The default Chinese tokenizer gives jieba's multi-character words."""
    assert text.tokenize_zh("房间很干净服务不错") == ["房间", "很", "干净", "服务", "不错"]


def test_chinese_char_mode_gives_single_characters():
    """mode='char' gives one token per Chinese character."""
    assert text.tokenize_zh("房间很干净", mode="char") == ["房", "间", "很", "干", "净"]


def test_chinese_drops_punctuation_but_keeps_exclamation_and_question_marks():
    """Chinese punctuation is dropped except ！ and ？, which NFKC turns into ! and ?."""
    assert text.tokenize_zh("好，很好。真的吗？太好了！", mode="char") == ["好", "很", "好", "真", "的", "吗", "?", "太", "好", "了", "!"]
    assert "，" not in text.tokenize_zh("房间很干净，服务不错！") and "!" in text.tokenize_zh("房间很干净，服务不错！")


def test_chinese_keeps_latin_words_whole_and_lower_case():
    """Latin words inside Chinese text stay whole and are lower-cased, in both modes."""
    assert text.tokenize_zh("WiFi很快", mode="char") == ["wifi", "很", "快"]
    assert "wifi" in text.tokenize_zh("WiFi很快")


def test_tokenize_follows_the_spec():
    """tokenize() dispatches on the spec's language and mode; English is the default."""
    assert text.tokenize("很干净", {"language": "zh", "mode": "char"}) == ["很", "干", "净"]
    assert text.tokenize("很干净", {"language": "zh", "mode": "word"}) == ["很", "干净"]
    assert text.tokenize("Fine FILM", {}) == ["fine", "film"]


def test_english_models_trained_now_keep_accented_letters():
    """letters "latin" (recorded by English models trained since 2026-11-23) keeps accented Latin
    letters inside words; without it (the shipped models) only a-z count, as they were trained."""
    review = "A café scene, naïve but ÉLAN-ful; Zoë's über-cool ending! 3 × 4 ÷ 2"
    latin = text.tokenize(review, {"language": "en", "mode": "word", "letters": "latin"})
    assert latin == ["a", "café", "scene", "naïve", "but", "élan", "ful", "zoë's", "über", "cool", "ending", "!", "3", "4", "2"]
    assert text.tokenize(review, {"language": "en", "mode": "word"})[:5] == ["a", "caf", "scene", "na", "ve"]


def test_unknown_english_letters_are_refused():
    with pytest.raises(ValueError, match="'greek'"):
        text.tokenize("fine", {"language": "en", "letters": "greek"})


def test_unknown_chinese_mode_is_refused():
    """A Chinese tokenizer mode other than word or char is an error naming the mode."""
    with pytest.raises(ValueError, match="'bpe'"):
        text.tokenize_zh("很好", mode="bpe")


@pytest.mark.slow
def test_jieba_cache_goes_only_into_the_gatescope_cache_folder(tmp_path):
    """With GATESCOPE_CACHE set, jieba's dictionary cache is written there and not into the temp folder."""
    cache, tmp = tmp_path / "cache", tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, GATESCOPE_CACHE=str(cache), TMPDIR=str(tmp), TEMP=str(tmp), TMP=str(tmp))
    code = "from sentiment.data.text import tokenize_zh; print(' '.join(tokenize_zh('酒店很干净')))"
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["酒店", "很", "干净"]
    assert (cache / "jieba.cache").is_file()
    assert list(tmp.iterdir()) == []


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    """cache_dir() is GATESCOPE_CACHE when set, else ~/.cache/gatescope."""
    monkeypatch.setenv("GATESCOPE_CACHE", str(tmp_path))
    assert text.cache_dir() == tmp_path
    monkeypatch.delenv("GATESCOPE_CACHE")
    assert text.cache_dir() == Path.home() / ".cache" / "gatescope"


# ---- language guess ----------------------------------------------------------------------------


@pytest.mark.parametrize("sample,language", [
    ("A fine film with a moving story.", "en"),
    ("房间干净整洁，服务热情周到。", "zh"),
    ("这家酒店的 WiFi 很快", "zh"),  # a Latin word among Chinese characters
    ("I loved the 酒店 and the staff, great stay", "en"),  # one Chinese word in English text
    ("12345 !!! 😀", "unknown"),
    ("", "unknown"),
])
def test_language_guess(sample, language):
    """The language guess weighs CJK characters against Latin letters; neither present is 'unknown'."""
    assert text.guess_language(sample) == language


# ---- review checks -----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "   ", "\n\t \r\n"])
def test_empty_or_whitespace_review_is_refused(bad):
    """An empty or whitespace-only review raises InputError saying it is empty."""
    with pytest.raises(InputError, match="empty"):
        text.check_review(bad)


@pytest.mark.parametrize("bad", [None, 42, b"good film"])
def test_a_review_must_be_a_string(bad):
    """Anything but a str raises InputError saying a review must be text."""
    with pytest.raises(InputError, match="must be text"):
        text.check_review(bad)


def test_a_megabyte_review_is_cut_to_max_chars():
    """A 1 MB paste is cut to MAX_CHARS before tokenizing, so it stays fast."""
    assert text.check_review("x" * 1_000_000) == "x" * text.MAX_CHARS


# ---- Vocab -------------------------------------------------------------------------------------


def test_vocab_reserves_pad_and_unk():
    """<pad> is id 0 and <unk> id 1; unknown tokens encode to 1."""
    v = Vocab.build([["good", "good"]], min_freq=1)
    assert (v.stoi[PAD], v.stoi[UNK]) == (PAD_ID, UNK_ID) == (0, 1)
    assert v.encode(["good", "never-seen"]) == [2, UNK_ID]
    assert v.decode([0, 1, 2]) == [PAD, UNK, "good"]


def test_vocab_orders_by_frequency_then_alphabet_and_applies_min_freq():
    """Tokens below min_freq are left out; the rest are ranked by count, ties alphabetically."""
    v = Vocab.build([["b", "a", "c", "b"], ["a", "b", "d"], ["c"]], min_freq=2)
    assert v.itos == [PAD, UNK, "b", "a", "c"]


def test_vocab_max_size_counts_pad_and_unk():
    """max_size bounds the whole vocabulary, <pad> and <unk> included."""
    v = Vocab.build([["a"] * 5 + ["b"] * 4 + ["c"] * 3], min_freq=1, max_size=4)
    assert v.itos == [PAD, UNK, "a", "b"]


def test_vocab_rejects_a_malformed_token_list():
    """A Vocab must start with <pad>, <unk> and hold no duplicates."""
    with pytest.raises(ValueError):
        Vocab(["a", PAD, UNK])
    with pytest.raises(ValueError):
        Vocab([PAD, UNK, "a", "a"])


tokens = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(tokens, max_size=10), max_size=15), st.integers(1, 3), st.integers(2, 30))
def test_vocab_json_round_trips_exactly(token_lists, min_freq, max_size):
    """Any built Vocab keeps <pad>=0, <unk>=1, min_freq and max_size, and survives to_json/from_json exactly."""
    v = Vocab.build(token_lists, min_freq=min_freq, max_size=max_size)
    assert v.itos[:2] == [PAD, UNK] and len(v) <= max_size
    counts = {}
    for tl in token_lists:
        for t in tl:
            counts[t] = counts.get(t, 0) + 1
    assert all(counts[t] >= min_freq for t in v.itos[2:])
    back = Vocab.from_json(v.to_json())
    assert back == v and back.itos == v.itos and back.stoi == v.stoi


def test_unread_runs_lists_what_a_model_of_the_other_language_cannot_read():
    """A mixed review: Chinese runs for an English model, Latin words for a Chinese one (each once, in order)."""
    from sentiment.data.text import unread_runs

    mixed = "The staff were kind and 房间很干净, great stay. 服务好，房间很干净"
    assert unread_runs(mixed, "en") == ["房间很干净", "服务好"]
    assert unread_runs("房间很干净, the breakfast was great", "zh") == ["the", "breakfast", "was", "great"]
    assert unread_runs("only English here", "en") == [] and unread_runs("只有中文", "zh") == []
