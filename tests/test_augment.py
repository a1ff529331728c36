"""Extra training reviews (``python -m sentiment.train --augment ...``): what each source adds, that
only the training split grows, and the files and combinations refused.

The counterfactual pairs are the real ones (``cad/train_paired.tsv`` of Kaushik et al.); their test
file is refused, since it is for measuring.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from sentiment.errors import GateScopeError
from sentiment.training import augment, phrases, train
from sentiment.training.config import TrainConfig


@pytest.fixture(scope="module")
def cad(data_dir: Path) -> Path:
    return data_dir / "cad"


def test_cad_adds_both_members_of_every_pair_with_opposite_labels(cad):
    pairs = augment.read_cad(cad / "train_paired.tsv")
    assert len(pairs) == 1707  # the file's 3,414 rows
    assert all({a[1], b[1]} == {0, 1} for _, (a, b) in pairs)
    assert len(augment.from_cad(str(cad / "train_paired.tsv"), only_changed=False)) == 2 * 1707


def test_cad_sentences_are_the_sentences_an_edit_changed_with_its_review_label(cad):
    a = ("The cast is fine. The story is gripping and the ending is perfect. I saw it twice.", 1)
    b = ("The cast is fine. The story is dull and the ending is silly. I saw it twice.", 0)
    assert augment.changed_sentences(a, b) == [("The story is gripping and the ending is perfect.", 1),
                                               ("The story is dull and the ending is silly.", 0)]
    got = augment.from_cad(str(cad / "train_paired.tsv"), only_changed=True)
    assert 2000 < len(got) < 10000
    assert sum(y for _, y in got) == len(got) // 2  # each changed passage beside its edit, opposite labels
    assert sorted(len(t.split()) for t, _ in got)[len(got) // 2] < 40  # short: a sentence or two


def test_a_folder_means_its_train_and_dev_files_and_a_test_file_is_refused(cad, tmp_path):
    assert [f.name for f in augment.cad_files(str(cad))] == ["train_paired.tsv", "dev_paired.tsv"]
    with pytest.raises(GateScopeError) as e:
        augment.cad_files(str(cad / "test_paired.tsv"))
    assert e.value.code == "train.augment_test"
    bad = tmp_path / "pairs.tsv"
    bad.write_text("label\ttext\npositive\tgood\n", encoding="utf-8")
    with pytest.raises(GateScopeError) as e:
        augment.read_cad(bad)
    assert e.value.code == "pairs.header"


@pytest.mark.parametrize("source,code", [("mixup", "train.augment_kind"), ("cad", "train.augment_path"),
                                         ("cad:/no/such/folder", "train.augment_missing")])
def test_unknown_or_incomplete_sources_are_refused(source, code):
    with pytest.raises(GateScopeError) as e:
        augment.extra_examples([source], [("good", 1), ("bad", 0)], "en", 0)
    assert e.value.code == code


def test_counterfactual_pairs_are_refused_for_a_chinese_dataset(cad):
    with pytest.raises(GateScopeError) as e:
        augment.extra_examples([f"cad:{cad}"], [("很好", 1), ("很差", 0)], "zh", 0)
    assert e.value.code == "train.augment_language"


def test_contrast_joins_two_short_reviews_and_takes_the_label_of_the_second():
    train_set = [("房间很干净", 1), ("服务很热情", 1), ("早餐太难吃了", 0), ("隔音很差", 0)] * 30
    made = augment.contrast(train_set, "zh", seed=0)
    assert len(made) == round(augment.CONTRAST_SHARE * len(train_set))
    for text, label in made:
        second = re.split("，但是|，不过|，可是", text)[-1].rstrip("。")
        assert dict(train_set)[second] == label


@pytest.mark.parametrize("language", ["en", "zh"])
def test_phrases_are_distinct_balanced_and_the_same_for_a_seed(language):
    made = phrases.reviews(language, 2000, seed=3)
    assert len(made) == len({t for t, _ in made}) == 2000
    assert 0.4 < sum(y for _, y in made) / len(made) < 0.6
    assert made == phrases.reviews(language, 2000, seed=3) != phrases.reviews(language, 2000, seed=4)


def test_a_negated_english_clause_takes_the_opposite_label_of_its_word():
    import random

    rng = random.Random(0)
    for _ in range(3000):
        text, label = phrases.en_clause(rng)
        m = re.fullmatch(r"(the [a-z ]+|this [a-z]+) (is|was|are|were)(n't| not| hardly| never)? ([a-z ]+?)( at all)?", text)
        if m and m.group(4) in phrases.EN_POSITIVE + phrases.EN_NEGATIVE:
            polarity = int(m.group(4) in phrases.EN_POSITIVE)
            assert label == (1 - polarity if m.group(3) else polarity), text


def test_only_the_training_split_grows(hotel_path, tmp_path):
    cfg = TrainConfig(data=str(hotel_path), out=str(tmp_path / "m"), limit=300, tokenizer="char")
    plain = train.prepare(train.resolve(cfg))
    more = train.prepare(train.resolve(TrainConfig(**{**cfg.__dict__, "augment": "phrases,contrast"})))
    assert more[0].val == plain[0].val and more[0].test == plain[0].test
    added = {r["source"]: r["reviews"] for r in more[0].info["augment"]}
    assert len(more[3]["train"][0]) == len(plain[3]["train"][0]) + sum(added.values())
    assert added["phrases"] == augment.PHRASES and added["contrast"] > 0


def test_the_card_records_the_sources_and_the_command_reproduces_them(hotel_path, tmp_path):
    out = tmp_path / "m"
    argv = ["--data", str(hotel_path), "--out", str(out), "--limit", "200", "--epochs", "1", "--hidden", "8",
            "--embed", "8", "--max-len", "40", "--tokenizer", "char", "--augment", "phrases", "--threads", "1"]
    assert train.main(argv) == 0
    card = json.loads((out / "card.json").read_text(encoding="utf-8"))
    assert card["augment"] == [{"source": "phrases", "path": None, "reviews": augment.PHRASES}]
    assert "--augment phrases" in card["command"]
    shutil.rmtree(out)


def test_augment_with_a_bag_of_words_is_refused(hotel_path, tmp_path, capsys):
    code = train.main(["--data", str(hotel_path), "--out", str(tmp_path / "b"), "--bow", "--augment", "phrases"])
    assert code == 2 and "--augment" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_a_run_from_the_browser_cannot_name_augment_files():
    from sentiment.training import launcher

    assert "augment" not in launcher.run_options()


def test_keep_last_keeps_the_final_epoch_and_validation_chooses_nothing(hotel_path, tmp_path):
    """--keep last: the weights after the last epoch, even where an earlier epoch scored higher on
    validation (there is no early stop either); validation still fits the temperature."""
    out = tmp_path / "last"
    argv = ["--data", str(hotel_path), "--out", str(out), "--limit", "200", "--epochs", "3", "--patience", "1",
            "--hidden", "8", "--embed", "8", "--max-len", "40", "--tokenizer", "char", "--keep", "last",
            "--lr", "0.5", "--threads", "1"]
    assert train.main(argv) == 0
    card = json.loads((out / "card.json").read_text(encoding="utf-8"))
    assert card["epochs"] == 3 and card["best_epoch"] == 3
    assert card["val_accuracy"] == card["history"][-1]["val_acc"]
    assert card["calibration"]["fitted_on"] == "val"


def test_grammar_1_draws_the_reviews_the_shipped_models_trained_on():
    """Grammar 2 was added beside grammar 1: ``--augment phrases`` in a card still draws the same reviews."""
    import hashlib
    import json

    digest = {lang: hashlib.sha256(json.dumps(phrases.reviews(lang, 2000, 3), ensure_ascii=False).encode()).hexdigest()
              for lang in ("zh", "en")}
    assert digest == {"zh": "4e8542fe66136e9c9c8c9d81a0ba224cb3ff07280c7ec4c0a58dd31d4ec5d89a",
                      "en": "95ef5cbb625fcd486c8f878008171f2e70ae7ccc8877cab76a3c0b1d0b8efdd8"}


def test_grammar_2_is_distinct_balanced_seeded_and_has_the_new_forms():
    made = phrases.reviews("zh", 4000, seed=3, grammar=2)
    assert len(made) == len({t for t, _ in made}) == 4000
    assert 0.4 < sum(y for _, y in made) / len(made) < 0.6
    assert made == phrases.reviews("zh", 4000, seed=3, grammar=2) != phrases.reviews("zh", 4000, seed=3)
    text = "".join(t for t, _ in made)
    assert all(form in text for form in ("没有一个", "从来没", "一尘不染", "有礼貌", "不能不说是"))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_doubly_negated_none_of_them_clause_keeps_the_label_of_its_word(seed):
    import random

    rng, seen = random.Random(seed), 0
    for _ in range(3000):
        slots = phrases._zh_slots(rng, phrases.ZH_ASPECTS_2)
        clause = phrases._zh_none_of_them(rng, slots)
        if clause is None:
            continue
        text, label = clause
        seen += 1
        assert label == (slots.label if text.endswith(f"不{slots.word}") else 1 - slots.label), text
    assert seen > 1000


def test_phrases2_is_an_augment_source_recorded_on_the_card():
    made, record = augment.extra_examples(["phrases2:300"], [("很好", 1), ("很差", 0)], "zh", 0)
    assert len(made) == 300 and made == phrases.reviews("zh", 300, 0, grammar=2)
    assert record == [{"source": "phrases2", "path": None, "reviews": 300}]


@pytest.mark.slow  # draws 120,000 clauses: a few seconds
@pytest.mark.parametrize("language", ["en", "zh"])
def test_no_held_aside_sentence_is_a_sentence_the_grammars_draw(language):
    """The test half of the minimal pairs measures what the grammar did not spell out: none of its
    sentences is a clause or a review that grammar 1 or 2 draws (so a model cannot have trained on it)."""
    import random

    from sentiment.training import pairs

    strip = lambda t: t.rstrip("。.")  # noqa: E731
    held = {strip(s) for q in pairs.load_pairs(language, "test") for s in (q.positive, q.negative)}
    drawn: set[str] = set()
    for grammar in phrases.GRAMMARS:
        rng = random.Random(grammar)
        clause = phrases.en_clause if language == "en" else (lambda r, g=grammar: phrases.zh_clause(r, g))
        drawn.update(strip(clause(rng)[0]) for _ in range(30_000))
        drawn.update(strip(t) for t, _ in phrases.reviews(language, 30_000, 1, grammar))
    known = {"en": {"The script is smart", "The script is not smart"}, "zh": set()}[language]  # en-062: assets/pairs/README.md
    assert held & drawn <= known, sorted((held & drawn) - known)[:10]
