"""Minimal pairs (issue 22): GateScope's own negation and contrast sets, and the counterfactual IMDB
test set's edited reviews.

- The shipped pair files (assets/pairs/en.tsv, zh.tsv) are well formed: at least 100 pairs per
  language and 60 test pairs, every pair two rows of opposite labels, every kind in both splits, no
  text twice, no text in both dev and test.
- A malformed pair file is refused with a message naming the file, the line and the problem.
- evaluate_pairs on a shipped model gives figures in [0, 1] that agree with predicting each sentence
  on its own through sentiment's predict API.
- cad_edited finds exactly the 487 human-edited reviews of cad/test_paired.tsv, none of them an IMDB
  training review (the 489 others are IMDB training reviews, which an IMDB model has seen).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from sentiment import i18n
from sentiment.errors import DataError
from sentiment.modeling import checkpoint
from sentiment.modeling.predict import predict
from sentiment.training import pairs as P

ROOT = Path(__file__).resolve().parent.parent
PAIR_FILES = {"en": ROOT / "assets" / "pairs" / "en.tsv", "zh": ROOT / "assets" / "pairs" / "zh.tsv"}
HEADER = "pair\tsplit\tkind\tlabel\ttext\n"


def rows_of(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0] + "\n" == HEADER and lines[-1] == "", "header line, LF line ends, a final newline"
    return [line.split("\t") for line in lines[1:-1]]


# ---- the shipped pair files -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_shipped_pair_file_is_well_formed(lang):
    rows = rows_of(PAIR_FILES[lang])
    assert all(len(r) == 5 for r in rows)
    by_pair: dict[str, list[list[str]]] = {}
    for r in rows:
        by_pair.setdefault(r[0], []).append(r)
    assert len(by_pair) >= 100
    for pid, members in by_pair.items():
        assert len(members) == 2, pid
        (_, s1, k1, l1, t1), (_, s2, k2, l2, t2) = members
        assert s1 == s2 and k1 == k2, pid
        assert {l1, l2} == {"positive", "negative"}, pid
        assert t1 != t2 and t1.strip() == t1 and t2.strip() == t2 and t1 and t2, pid
    splits = Counter(m[0][1] for m in by_pair.values())
    assert set(splits) == {"dev", "test"} and splits["test"] >= 60 and splits["dev"] >= 40
    kinds = Counter((m[0][1], m[0][2]) for m in by_pair.values())
    for split in ("dev", "test"):  # every kind, evenly, in both splits
        counts = [kinds[(split, k)] for k in P.KINDS]
        assert min(counts) >= 10 and max(counts) - min(counts) <= 2, (split, counts)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_text_appears_twice_nor_in_both_dev_and_test(lang):
    rows = rows_of(PAIR_FILES[lang])
    texts = [r[4] for r in rows]
    assert len(set(texts)) == len(texts)
    fold = lambda t: "".join(ch for ch in t.lower() if ch.isalnum())  # noqa: E731 (case and punctuation aside)
    dev = {fold(r[4]) for r in rows if r[1] == "dev"}
    test = {fold(r[4]) for r in rows if r[1] == "test"}
    assert not dev & test


def test_the_loader_reads_the_shipped_files_as_pairs():
    for lang in ("en", "zh"):
        every = P.load_pairs(lang)
        dev, test = P.load_pairs(lang, "dev"), P.load_pairs(lang, "test")
        assert len(every) == len(dev) + len(test) and len(test) >= 60
        assert all(q.split == "test" for q in test) and all(q.kind in P.KINDS for q in every)
        assert all(q.positive != q.negative for q in every)


def test_the_chinese_set_is_chinese_and_the_english_set_names_its_contrast_words():
    zh = P.load_pairs("zh")
    assert not any(ch.isascii() and ch.isalpha() for q in zh for t in (q.positive, q.negative) for ch in t)
    contrast_zh = " ".join(q.positive + q.negative for q in zh if q.kind == "contrast")
    assert all(w in contrast_zh for w in ("虽然", "但是", "不过", "可是"))
    contrast_en = " ".join(q.positive + " " + q.negative for q in P.load_pairs("en") if q.kind == "contrast").lower()
    assert all(f" {w} " in f" {contrast_en} " for w in ("but", "though", "although"))


# ---- a malformed pair file --------------------------------------------------------------------------

GOOD = [("p1", "dev", "negation", "positive", "Not bad at all."), ("p1", "dev", "negation", "negative", "Bad, really bad.")]


def write(tmp_path: Path, rows, header: str = HEADER) -> Path:
    p = tmp_path / "pairs.tsv"
    p.write_text(header + "".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    return p


def refusal(path: Path) -> DataError:
    with pytest.raises(DataError) as e:
        P.load_pairs(path)
    return e.value


def test_a_well_formed_small_file_reads(tmp_path):
    (q,) = P.load_pairs(write(tmp_path, GOOD))
    assert (q.id, q.split, q.kind, q.positive, q.negative) == ("p1", "dev", "negation", "Not bad at all.", "Bad, really bad.")


@pytest.mark.parametrize("rows, header, says", [
    (GOOD, "pair\tsplit\tlabel\ttext\n", ["line 1", "header must be", "pair TAB split TAB kind"]),
    ([GOOD[0], ("p1", "dev", "negation", "negative")], HEADER, ["line 3", "4 fields", "pair, split, kind, label, text"]),
    ([GOOD[0], ("p1", "train", "negation", "negative", "x")], HEADER, ["line 3", "split 'train'", "dev, test"]),
    ([GOOD[0], ("p1", "dev", "sarcasm", "negative", "x")], HEADER, ["line 3", "kind 'sarcasm'", "double_negation"]),
    ([GOOD[0], ("p1", "dev", "negation", "neg", "x")], HEADER, ["line 3", "label 'neg'", "positive"]),
    ([GOOD[0], ("p1", "dev", "negation", "negative", " ")], HEADER, ["line 3", "text column is empty"]),
    ([GOOD[0], ("p1", "dev", "negation", "negative", "Not bad at all.")], HEADER, ["line 3", "same text as line 2"]),
    ([GOOD[0]], HEADER, ["pair 'p1' has 1 row", "exactly two"]),
    (GOOD + [("p1", "dev", "negation", "negative", "x")], HEADER, ["pair 'p1' has 3 row", "lines 2, 3, 4"]),
    ([GOOD[0], ("p1", "dev", "negation", "positive", "x")], HEADER, ["pair 'p1'", "both rows are positive"]),
    ([GOOD[0], ("p1", "test", "negation", "negative", "x")], HEADER, ["pair 'p1'", "differ in split", "dev and test"]),
    ([], HEADER, ["no pairs"]),
])
def test_a_malformed_file_is_refused_with_its_line_and_problem(tmp_path, rows, header, says):
    err = refusal(write(tmp_path, rows, header))
    message = str(err)
    assert message.startswith(str(tmp_path / "pairs.tsv"))
    for words in says:
        assert words in message, message
    zh = i18n.t(err, "zh")  # the same message in Chinese, from the error's code
    assert zh != message and str(tmp_path / "pairs.tsv") in zh


def test_a_missing_or_undecodable_file_is_refused(tmp_path):
    assert "no such file" in str(refusal(tmp_path / "nowhere.tsv"))
    bad = tmp_path / "latin1.tsv"
    bad.write_bytes(HEADER.encode() + "p1\tdev\tnegation\tpositive\tcr\xe8me\n".encode("latin-1"))
    assert "not UTF-8" in str(refusal(bad))


# ---- measuring a shipped model ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_model() -> checkpoint.Checkpoint:
    return checkpoint.load(ROOT / "assets" / "models" / "imdb-lstm-max")


def test_evaluate_pairs_gives_shares_in_0_1_by_kind(default_model):
    pairs = P.load_pairs("en", "dev")
    r = P.evaluate_pairs(default_model, pairs)
    assert r["n"] == len(pairs) and r["sentences"] == 2 * len(pairs)
    assert 0 <= r["pair_accuracy"] <= r["accuracy"] <= 1  # both sides right implies each side right
    assert set(r["by_kind"]) == set(P.KINDS)
    assert sum(k["n"] for k in r["by_kind"].values()) == r["n"]
    for k in r["by_kind"].values():
        assert 0 <= k["pair_accuracy"] <= k["accuracy"] <= 1
    assert P.evaluate_pairs(default_model, [])["accuracy"] is None


@pytest.mark.slow
def test_evaluate_pairs_agrees_with_predicting_each_sentence_alone(default_model):
    """The batched figures are those of sentiment's predict API, sentence by sentence (calibrated)."""
    pairs = P.load_pairs("en", "dev")
    right, both = 0, 0
    for q, (pp, pn) in zip(pairs, P.pair_probabilities(default_model, pairs)):
        a, b = predict(default_model, q.positive), predict(default_model, q.negative)
        assert a.positive == pytest.approx(pp, abs=1e-4) and b.positive == pytest.approx(pn, abs=1e-4)
        right += (a.label == "positive") + (b.label == "negative")
        both += a.label == "positive" and b.label == "negative"
    r = P.evaluate_pairs(default_model, pairs)
    assert r["accuracy"] == right / (2 * len(pairs)) and r["pair_accuracy"] == both / len(pairs)
    wrong = P.wrong_sentences(default_model, pairs)
    assert len(wrong) == 2 * len(pairs) - right


@pytest.mark.slow
def test_a_bag_of_words_model_is_measured_too():
    bow = checkpoint.load(ROOT / "assets" / "models" / "hotel-bow")
    r = P.evaluate_pairs(bow, P.load_pairs("zh", "test"))
    assert r["n"] >= 60 and 0 <= r["accuracy"] <= 1


@pytest.mark.slow
def test_the_lesson_record_is_written_into_the_card_atomically(tmp_path, tiny_checkpoint):
    ckpt = tiny_checkpoint(language="zh")
    record = P.lesson_record(ckpt)
    assert set(record) == {"pairs", "measured"}  # a Chinese model: no counterfactual IMDB figure
    assert record["pairs"]["test"]["n"] >= 60 and record["pairs"]["dev"]["n"] >= 40
    before = json.loads((Path(ckpt.path) / "card.json").read_text(encoding="utf-8"))
    P.write_lesson(ckpt.path, record, "python -m sentiment.training.pairs --model X --write")
    after = json.loads((Path(ckpt.path) / "card.json").read_text(encoding="utf-8"))
    assert after.pop("lesson")["pairs"] == json.loads(json.dumps(record["pairs"]))
    assert after == before
    assert not [p for p in Path(ckpt.path).iterdir() if p.name.startswith(".")]  # no temp file left
    checkpoint.load(ckpt.path)  # still loads (the weights' checksum is untouched)


@pytest.mark.slow
def test_the_cli_prints_a_table_and_writes_nothing_without_write(capsys):
    card = (ROOT / "assets" / "models" / "hotel-gru-max" / "card.json").read_bytes()
    assert P.main(["--model", "hotel-gru-max"]) == 0
    out = capsys.readouterr().out
    assert "| hotel-gru-max |" in out and "test pairs" in out
    assert (ROOT / "assets" / "models" / "hotel-gru-max" / "card.json").read_bytes() == card


# ---- the counterfactual IMDB test set ----------------------------------------------------------------


def _cad_paths() -> tuple[Path, Path]:
    cad, imdb = P.find_cad_test(), P.readers.find_dataset("imdb")
    if cad is None or imdb is None:
        pytest.skip("cad/test_paired.tsv and the IMDB archive are not in the data folders (set GATESCOPE_DATA)")
    return cad, imdb


@pytest.mark.slow
def test_cad_edited_finds_the_487_edited_reviews_and_none_is_an_imdb_train_review():
    cad, imdb = _cad_paths()
    rows = P.read_cad(cad)
    assert len(rows) == 976
    edited = P.cad_edited(cad, imdb)
    assert len(edited) == 487
    train = {P.normalise(t) for t, _ in P.readers.load(imdb, "imdb").official["train"]}
    assert not any(P.normalise(t) in train for t, _ in edited)
    assert sum(P.normalise(t) in train for _, (t, _) in rows) == 489  # the originals (one pair's both sides)
    assert {y for _, y in edited} == {0, 1}


def test_a_cad_file_with_another_header_is_refused(tmp_path):
    p = tmp_path / "cad.tsv"
    p.write_text("label\ttext\n1\tgood\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 1: the header must be Sentiment TAB Text TAB batch_id"):
        P.read_cad(p)
    p.write_text('Sentiment\tText\tbatch_id\nPositive\t"A ""quoted"" review."\t7\nMaybe\tx\t7\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 3: label 'Maybe'"):
        P.read_cad(p)


@pytest.mark.slow
def test_sentiment_evaluate_measures_pairs_of_one_split(capsys):
    from sentiment.training import evaluate

    assert evaluate.main(["--model", "hotel-lstm-max", "--pairs", "zh", "--pair-split", "dev", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["n"] == len(P.load_pairs("zh", "dev")) and set(r["by_kind"]) == set(P.KINDS)
    assert evaluate.main(["--model", "hotel-lstm-max", "--pairs", "nowhere.tsv"]) == 2
    assert "nowhere.tsv: no such file" in capsys.readouterr().err
