"""Tokenizers as tutorials write them (issue 21, item 6), and vocabularies' pad and unknown tokens read
where they are (items 2 and 4).

The expected tokens and ids come from the tutorials' own code run as their users run it: Python's
``list(text)`` over real hotel reviews (read the way the PyTorch hotel tutorial reads
hotel_discuss2.csv, and through GateScope's loader), and tf-keras' ``Tokenizer`` /
``text_to_word_sequence`` / ``pad_sequences`` fitted on a slice of real IMDB reviews. The tf-keras
tests import TensorFlow (slow) and skip where tf-keras is not installed (requirements-dev.txt names
it); the fast tier checks outputs recorded from it.
"""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path

import pytest
import torch

from sentiment.data import readers, text, vocabs
from sentiment.data.text import tokenize
from sentiment.errors import InputError
from sentiment.modeling import checkpoint
from sentiment.modeling.model import ModelConfig, SentimentRNN

LIST_ZH = {"language": "zh", "mode": "list"}
KERAS_EN = {"language": "en", "mode": "keras"}
# What the PyTorch hotel tutorial's preprocessing must keep and GateScope's "char" mode changes.
PUNCT = set("，。！？、；：（）“”")
FULL_WIDTH = set("！？（），：；")


# ---- real reviews ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hotel_reviews(data_dir: Path) -> list[str]:
    """hotel_discuss2.csv read as the tutorial reads it (BOM, split on the first comma): reviews
    with Chinese punctuation, full-width marks, Latin runs and digits, plus ChnSentiCorp through
    GateScope's own loader."""
    lines = (data_dir / "hotel_discuss2.csv").read_text(encoding="utf-8-sig").splitlines()
    tutorial = [line.split(",", 1)[1] for line in lines[:600]]
    picked = [t for t in tutorial if PUNCT & set(t) and re.search(r"[A-Za-z]{2,}", t) and re.search(r"\d", t)][:40]
    picked += [t for t in tutorial if FULL_WIDTH & set(t)][:40]
    loaded = readers.load(data_dir / "ChnSentiCorp_htl_all.csv")
    picked += [t for t, _ in loaded.examples[:80] if t.strip()]
    return picked


@pytest.fixture(scope="module")
def imdb_reviews(data_dir: Path) -> list[str]:
    """The first 300 reviews of the IMDB archive, read straight from the tar (a slice: fast)."""
    out = []
    with tarfile.open(data_dir / "aclImdb_v1-text.tar.gz", "r:gz") as tar:
        for member in tar:
            if member.isfile() and re.search(r"/(train|test)/(pos|neg)/\d+_\d+\.txt$", member.name):
                out.append(tar.extractfile(member).read().decode("utf-8"))
                if len(out) == 300:
                    break
    return out


@pytest.fixture(scope="module")
def keras_text():
    """tf-keras' preprocessing.text (the Tokenizer tutorials use; Keras 3 has no keras.preprocessing.text)."""
    try:  # PaddlePaddle imported after TensorFlow crashes the process; the other way round both work
        import paddle  # noqa: F401
    except ImportError:
        pass
    return pytest.importorskip("tf_keras.preprocessing.text", reason="tf-keras' Tokenizer is what these tests compare with: pip install -e .[dev]")


@pytest.fixture(scope="module")
def pad_sequences(keras_text):
    return pytest.importorskip("tf_keras.preprocessing.sequence", reason="tf-keras' pad_sequences: pip install -e .[dev]").pad_sequences


ODD = ["Hello,World!  It's 10/10 -- A+ <br /><br />Great\tfilm\nreally", "ÉCOLE naïve café ŒUVRE", "",
       "   ", "tabs\t\tand\r\nCRLF", "fullwidth！？ＡＢＣ１２３", "emoji 😀 and ™ ½", "a_b-c.d(e)f[g]h{i}j~k`l"]


def imported_checkpoint(tmp_path: Path, vocab: vocabs.IdVocab, tokenizer: dict, max_len: int,
                        padding: str = "post", truncating: str = "post") -> checkpoint.Checkpoint:
    """A tiny random imported model saved and loaded as a converted one is (card "imported")."""
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=len(vocab), embed_dim=4, hidden_size=3, bidirectional=False, pooling="last_step",
                      dropout=0.0, padding=padding, truncating=truncating)
    card = {"imported": {"framework": "test"}, "dataset": "imported"}
    path = checkpoint.save(tmp_path / "m", SentimentRNN(cfg), vocab, tokenizer, max_len, card)
    return checkpoint.load(path)


# ---- the modes and their specs -------------------------------------------------------------------


def test_the_modes_are_listed_with_a_line_each():
    modes = text.tokenizer_modes()
    assert set(modes) == {"word", "char", "list", "keras"}
    assert all(isinstance(v, str) and v and "\n" not in v for v in modes.values())
    assert list(text.tokenizer_modes("zh")) == ["word", "char", "list", "keras"]
    assert list(text.tokenizer_modes("en")) == ["word", "keras", "list"]  # GateScope's char mode is Chinese


@pytest.mark.parametrize("spec", [
    {"language": "zh", "mode": "word"}, {"language": "zh", "mode": "char", "marks": False}, LIST_ZH,
    {"language": "en", "mode": "list"}, KERAS_EN, {"language": "en", "mode": "word", "letters": "latin"},
    {"language": "en", "mode": "keras", "filters": "", "lower": False, "split": "\t", "char_level": False},
])
def test_good_specs_pass(spec):
    assert text.tokenizer_problem(spec) is None


@pytest.mark.parametrize("spec,key", [
    ([], "spec"), ({"language": "fr", "mode": "list"}, "language"), ({"language": "en", "mode": "bpe"}, "mode"),
    ({"language": "zh", "mode": "list", "marks": False}, "marks"),  # list(text) drops nothing
    ({"language": "en", "mode": "keras", "letters": "latin"}, "letters"),
    ({"language": "en", "mode": "word", "filters": ""}, "filters"),  # a Keras option on GateScope's words
    ({"language": "en", "mode": "keras", "split": ""}, "split"), ({"language": "en", "mode": "keras", "lower": "yes"}, "lower"),
    ({"language": "en", "mode": "keras", "filters": "!" * 5000}, "filters"), ({"language": "en", "lowr": True}, "lowr"),
])
def test_bad_specs_name_their_key(spec, key):
    assert text.tokenizer_problem(spec) == key


# ---- list(text) --------------------------------------------------------------------------------


def test_list_mode_is_list_text_on_real_hotel_reviews(hotel_reviews):
    """Every character one by one: Chinese punctuation kept, "！" not made "!", Latin runs and digits split."""
    assert len(hotel_reviews) > 100
    differs = 0
    for review in hotel_reviews:
        assert tokenize(review, LIST_ZH) == list(review)
        assert vocabs.read_tokens(review, LIST_ZH) == list(review)
        differs += tokenize(review, {"language": "zh", "mode": "char"}) != list(review)
    assert differs == len(hotel_reviews)  # GateScope's char mode would have read every one of them otherwise


def test_list_mode_normalises_nothing():
    odd = "好！Ａ１<br />x\u3000y\x07z，。 HTML <b>tag</b> ①"
    assert tokenize(odd, LIST_ZH) == list(odd) == tokenize(odd, {"language": "en", "mode": "list"})


def test_an_imported_list_model_reads_the_ids_the_tutorial_feeds(tmp_path, hotel_reviews):
    """The PyTorch hotel tutorial's framing: characters to ids (0 unknown... here <unk> 1), cut to
    200 and padded with 0 at the back; GateScope's encode and encode_ids give the same ids."""
    chars = sorted({c for r in hotel_reviews[:60] for c in r})
    itos = ["<pad>", "<unk>"] + chars
    c2i = {c: i for i, c in enumerate(itos)}
    vocab = vocabs.from_token_list(itos, len(itos))
    ckpt = imported_checkpoint(tmp_path, vocab, LIST_ZH, 200)
    for review in hotel_reviews:
        ids = [c2i.get(c, 1) for c in list(review)][:200]
        ids += [0] * (200 - len(ids))
        enc = ckpt.encode(review)
        assert enc.ids == ids and ckpt.encode_ids(review) == ids
        n = min(len(review), 200)
        assert enc.tokens[:n] == list(review)[:n]


def test_a_long_review_keeps_the_side_the_model_keeps(tmp_path):
    """Past MAX_CHARS the list tokenizer still gives every token: a model that keeps the last 50
    characters (truncating "pre") reads the review's last 50, and the cut is said."""
    vocab = vocabs.from_token_list(["<pad>", "<unk>", "好", "差", "！"], 5)
    ckpt = imported_checkpoint(tmp_path, vocab, LIST_ZH, 50, padding="pre", truncating="pre")
    review = "好" * (text.MAX_CHARS + 500) + "差！" * 25
    enc = ckpt.encode(review)
    assert enc.tokens == list(review)[-50:] and enc.ids == [3, 4] * 25
    assert [n.code for n in enc.notes] == ["note.cut_last_tokens"] and enc.truncated == len(review) - 50
    huge = "好" * (text.MAX_PASTE + 10) + "差！" * 25  # past what a page accepts: cut, on the kept side
    enc = ckpt.encode(huge)
    assert enc.ids == [3, 4] * 25 and [n.code for n in enc.notes] == ["note.cut_last_chars"]
    assert str(enc.notes[0]) == "The review's first 60 characters were cut off: the model read its last 50 tokens."


# ---- Keras' Tokenizer --------------------------------------------------------------------------
# The tests against tf-keras itself import TensorFlow (about 8 s): slow. This one holds the fast tier
# to text_to_word_sequence's outputs, recorded from tf-keras 2.21.


@pytest.mark.parametrize("review,words", [
    ("Hello,World!  It's 10/10 -- A+ <br /><br />Great\tfilm\nreally",
     ["hello", "world", "it's", "10", "10", "a", "br", "br", "great", "film", "really"]),
    ("ÉCOLE naïve café ŒUVRE", ["école", "naïve", "café", "œuvre"]),
    ("fullwidth！？ＡＢＣ１２３", ["fullwidth！？ａｂｃ１２３"]),  # no NFKC, no full-width filters
    ("a_b-c.d(e)f[g]h{i}j~k`l", list("abcdefghijkl")),
    ("tabs\t\tand\r\nCRLF", ["tabs", "and\r", "crlf"]),  # \r is not a filter
])
def test_keras_words_as_recorded_from_tf_keras(review, words):
    assert tokenize(review, KERAS_EN) == words


def test_a_keras_vocabulary_without_oov_leaves_unknown_words_out(tmp_path):
    """texts_to_sequences without an oov_token drops unknown words before pad_sequences pads at the front."""
    vocab = vocabs.from_keras_tokenizer({"the": 1, "film": 2, "good": 3, "rare": 9}, 4, num_words=4)  # rare: past num_words
    ckpt = imported_checkpoint(tmp_path, vocab, KERAS_EN, 6, padding="pre", truncating="pre")
    enc = ckpt.encode("The film, really GOOD!! rare")
    assert enc.ids == [0, 0, 0, 1, 2, 3] and enc.tokens == ["<pad>"] * 3 + ["the", "film", "good"]
    assert ckpt.encode_ids("nothing known") == [0] * 6


def test_keras_options_as_recorded_from_tf_keras():
    spec = dict(KERAS_EN, filters="", lower=False)
    assert tokenize("Hello,World!  It's 10/10 -- A+ <br /><br />Great", spec) == [
        "Hello,World!", "It's", "10/10", "--", "A+", "<br", "/><br", "/>Great"]



@pytest.mark.slow  # imports TensorFlow (tf-keras)
def test_keras_words_equal_text_to_word_sequence(keras_text, imdb_reviews):
    for review in imdb_reviews + ODD:
        assert tokenize(review, KERAS_EN) == keras_text.text_to_word_sequence(review)


@pytest.mark.slow  # imports TensorFlow (tf-keras)
@pytest.mark.parametrize("options", [
    {"filters": "", "lower": False, "split": " "}, {"filters": "!?.,", "lower": True, "split": "\t"},
    {"filters": '"#$%&()*+-/:;<=>@[\\]^_`{|}~\t\n', "lower": False, "split": "--"},
])
def test_keras_options_equal_text_to_word_sequence(keras_text, imdb_reviews, options):
    spec = dict(KERAS_EN, **options)
    assert text.tokenizer_problem(spec) is None
    for review in imdb_reviews[:50] + ODD:
        assert tokenize(review, spec) == keras_text.text_to_word_sequence(review, **options)


@pytest.mark.slow  # imports TensorFlow (tf-keras)
@pytest.mark.parametrize("oov", [None, "<OOV>"])
def test_keras_tokenizer_ids_equal_texts_to_sequences(keras_text, imdb_reviews, oov):
    """Tokenizer(num_words=500) fitted on 200 reviews; on 100 others (and odd text) GateScope's ids
    through an IdVocab of its word_index are texts_to_sequences' (unknown words left out without an
    oov_token, read as it with one; words ranked past num_words alike)."""
    tok = keras_text.Tokenizer(num_words=500, oov_token=oov)
    tok.fit_on_texts(imdb_reviews[:200])
    vocab = vocabs.from_keras_tokenizer(tok.word_index, 500, num_words=500, oov_token=oov)
    assert vocab.unk_id == (1 if oov else None)
    texts = imdb_reviews[200:] + ODD
    expected = tok.texts_to_sequences(texts)
    assert [vocab.encode(tokenize(t, KERAS_EN)) for t in texts] == expected
    assert vocab.sources["unk_id"].startswith("read:") and vocab.sources["pad_id"].startswith("assumed:")
    back = vocabs.IdVocab.from_json(vocab.to_json())
    assert back == vocab and back.unk_id == vocab.unk_id


@pytest.mark.slow  # imports TensorFlow (tf-keras)
def test_a_keras_tokenizer_json_gives_its_vocabulary_and_spec(keras_text, imdb_reviews, tmp_path):
    tok = keras_text.Tokenizer(num_words=300, filters='!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n<', lower=True)
    tok.fit_on_texts(imdb_reviews[:100])
    path = tmp_path / "tokenizer.json"
    path.write_text(tok.to_json(), encoding="utf-8")
    vocab = vocabs.read_vocab_file(path, 300)
    assert vocab.tokenizer == {"language": "en", "mode": "keras", "filters": tok.filters, "lower": True, "split": " ",
                               "char_level": False}
    texts = imdb_reviews[100:150]
    assert [vocab.encode(tokenize(t, vocab.tokenizer)) for t in texts] == tok.texts_to_sequences(texts)
    with pytest.raises(InputError, match="index_from 3 was given, but this Keras Tokenizer JSON gives 0"):
        vocabs.read_vocab_file(path, 300, index_from=3)
    with pytest.raises(InputError, match="gives ids up to 299, but the embedding has 100 rows"):
        vocabs.read_vocab_file(path, 100)


@pytest.mark.slow  # imports TensorFlow (tf-keras)
def test_char_level_keras_tokenizer(keras_text, hotel_reviews):
    tok = keras_text.Tokenizer(char_level=True, lower=True)
    tok.fit_on_texts(hotel_reviews[:50])
    vocab = vocabs.from_keras_tokenizer(tok.word_index, len(tok.word_index) + 1)
    spec = {"language": "zh", "mode": "keras", "char_level": True}
    texts = hotel_reviews[50:]
    assert [vocab.encode(tokenize(t, spec)) for t in texts] == tok.texts_to_sequences(texts)


@pytest.mark.slow  # imports TensorFlow (tf-keras)
def test_an_imported_keras_model_reads_pad_sequences_ids(keras_text, pad_sequences, imdb_reviews, tmp_path):
    """The Keras IMDB tutorial's feed, end to end through a saved checkpoint: texts_to_sequences, then
    pad_sequences(maxlen=80) padded and cut at the front (its defaults)."""
    tok = keras_text.Tokenizer(num_words=400)
    tok.fit_on_texts(imdb_reviews[:200])
    vocab = vocabs.from_keras_tokenizer(tok.word_index, 400, num_words=400)
    ckpt = imported_checkpoint(tmp_path, vocab, KERAS_EN, 80, padding="pre", truncating="pre")
    assert ckpt.tokenizer == KERAS_EN and ckpt.vocab.unk_id is None
    texts = imdb_reviews[200:260]
    expected = pad_sequences(tok.texts_to_sequences(texts), maxlen=80).tolist()
    assert [ckpt.encode(t).ids for t in texts] == expected
    assert [ckpt.encode_ids(t) for t in texts] == expected
    with pytest.raises(InputError, match="None of the words"):
        imported_checkpoint(tmp_path / "masked", vocab, KERAS_EN, 80, padding="none").encode("zzzq xxyyq")


# ---- pad and unknown ids read from the vocabulary ------------------------------------------------


def textrnn_vocab(words: list[str]) -> dict[str, int]:
    """Chinese-Text-Classification-Pytorch's build_vocab: words by frequency from 0, then
    ``vocab_dic.update({UNK: len(vocab_dic), PAD: len(vocab_dic) + 1})``."""
    vocab_dic = {w: i for i, w in enumerate(words)}
    vocab_dic.update({"<UNK>": len(vocab_dic), "<PAD>": len(vocab_dic) + 1})
    return vocab_dic


def test_textrnns_unk_and_pad_last_are_read(tmp_path, hotel_reviews):
    chars = sorted({c for r in hotel_reviews[:30] for c in r})
    mapping = textrnn_vocab(chars)
    n = len(mapping)
    (tmp_path / "vocab.json").write_text(json.dumps(mapping, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "vocab.txt").write_text("\n".join(sorted(mapping, key=mapping.get)) + "\n", encoding="utf-8")
    for name in ("vocab.json", "vocab.txt"):
        v = vocabs.read_vocab_file(tmp_path / name, n)
        assert (v.pad_id, v.unk_id) == (n - 1, n - 2), name
        assert v.sources["pad_id"] == f"read: token '<PAD>' at id {n - 1}"
        assert v.sources["unk_id"] == f"read: token '<UNK>' at id {n - 2}"
        assert v.encode(["☃"]) == [n - 2] and v.encode([chars[0]]) == [0]  # id 0 is a real character


@pytest.mark.parametrize("pad,unk", [("<pad>", "<unk>"), ("[PAD]", "[UNK]"), ("PAD", "UNK"), ("<Pad>", "<Unk>"),
                                     ("[pad]", "[unk]"), ("Pad", "Unk")])
@pytest.mark.parametrize("where", [(0, 1), (7, 3), (10, 11)])
def test_specials_in_any_case_at_any_position(pad, unk, where):
    tokens = [f"w{i}" for i in range(10)]
    for tok, at in sorted(zip((pad, unk), where), key=lambda x: x[1]):
        tokens.insert(at, tok)
    v = vocabs.from_token_list(tokens, len(tokens))
    assert (v.itos[v.pad_id], v.itos[v.unk_id]) == (pad, unk)
    assert v.sources["pad_id"].startswith("read: ") and pad in v.sources["pad_id"]


def test_bare_lower_case_pad_is_a_word_past_the_first_ids():
    tokens = ["", "[UNK]"] + [f"w{i}" for i in range(20)] + ["pad", "unk"]
    v = vocabs.from_token_list(tokens, len(tokens))
    assert (v.pad_id, v.unk_id) == (0, 1)  # TextVectorization's "" and [UNK]; "pad" and "unk" stay words
    assert v.encode(["pad", "unk"]) == [22, 23]
    head = vocabs.from_token_list(["pad", "unk", "a"], 3)
    assert (head.pad_id, head.unk_id) == (0, 1) and head.sources["unk_id"] == "read: token 'unk' at id 1"


def test_no_specials_are_assumed_and_say_so():
    v = vocabs.from_token_list(["a", "b", "c"], 3)
    assert (v.pad_id, v.unk_id) == (0, 1)
    assert v.sources == {"pad_id": "assumed: 0 (no <pad> in the vocabulary)",
                         "unk_id": "assumed: 1 (no <unk> in the vocabulary)", "start_id": "assumed: none (no start id)"}


def test_a_given_id_the_vocabulary_contradicts_is_refused(tmp_path):
    (tmp_path / "v.txt").write_text("a\nb\n<UNK>\n<PAD>\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"v.txt: pad_id 0 was given, but the vocabulary has '<PAD>' at id 3"):
        vocabs.read_vocab_file(tmp_path / "v.txt", 4, ids={"pad_id": 0})
    v = vocabs.read_vocab_file(tmp_path / "v.txt", 4, ids={"pad_id": 3})
    assert v.pad_id == 3 and v.sources["pad_id"].startswith("given: 3")
    (tmp_path / "g.txt").write_text("a\nb\nc\n", encoding="utf-8")
    assert vocabs.read_vocab_file(tmp_path / "g.txt", 3, ids={"unk_id": 2}).sources["unk_id"] == "given: 2"


def test_a_keras_word_index_says_its_ids_are_assumed(tmp_path):
    (tmp_path / "wi.json").write_text(json.dumps({"the": 1, "film": 2, "good": 3}), encoding="utf-8")
    v = vocabs.read_vocab_file(tmp_path / "wi.json", 7)
    assert (v.pad_id, v.start_id, v.unk_id) == (0, 1, 2) and v.encode(["the", "good"]) == [4, 6]
    assert all(s.startswith("assumed: ") for s in v.sources.values())


def test_crlf_token_lists_lose_their_carriage_returns(tmp_path):
    (tmp_path / "v.txt").write_bytes(b"<pad>\r\n<unk>\r\ngood\r\n")
    v = vocabs.read_vocab_file(tmp_path / "v.txt", 3)
    assert v.itos == ["<pad>", "<unk>", "good"]


def test_old_vocab_json_without_sources_still_loads():
    old = json.dumps({"itos": ["<pad>", "<unk>", "a"], "ids": {"pad": 0, "unk": 1, "start": None}})
    v = vocabs.IdVocab.from_json(old)
    assert (v.pad_id, v.unk_id, v.start_id) == (0, 1, None)
    assert v.sources == {"pad_id": "given: 0", "unk_id": "given: 1", "start_id": "given: none"}
    assert vocabs.IdVocab.from_json(v.to_json()) == v
