"""Extra training reviews for a run (``--augment SOURCE``), added to the training split only.

Validation and test stay the dataset's own, so a run's test accuracy is comparable with a model
trained without them. Sources:

- ``cad:PATH``: the counterfactual pairs of Kaushik et al. (ICLR 2020): each IMDB review beside a
  copy a person minimally edited to flip its label (``train_paired.tsv`` / ``dev_paired.tsv``, or a
  folder holding them; a ``test`` file is refused: it is for measuring).
- ``cad-sentences:PATH``: only the sentences those edits changed, each with its review's label:
  short, human-written minimal pairs ("... you'll enjoy Rob Roy." / "... you'll hate Rob Roy.").
- ``phrases``: short reviews made from a small grammar of negation, double negation, intensifiers and
  contrast (``sentiment.training.phrases``), in the dataset's language.
- ``phrases2``: the same with grammar 2 (more Chinese aspects and clause forms: 没有一个…不…, 从来没…过,
  idioms with a 不; its English is grammar 1's). ``phrases`` stays grammar 1, so the commands in
  earlier models' cards still draw the reviews those models trained on.
- ``contrast``: two short training reviews of opposite labels joined by a contrast word ("A, but B";
  "虽然A，但是B"), labelled as the clause after it. Drawn by the run's seed from the run's own
  training split, so nothing outside it is read.
"""

from __future__ import annotations

import difflib
import random
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from sentiment.data.readers import Example
from sentiment.errors import GateScopeError
from sentiment.training import pairs, phrases

SOURCES = ("cad", "cad-sentences", "contrast", "phrases", "phrases2")
PHRASE_GRAMMARS = {"phrases": 1, "phrases2": 2}  # source -> grammar of sentiment.training.phrases
FLAG = "--augment"
CAD_FILES = ("train_paired.tsv", "dev_paired.tsv")
MAX_CHANGED = 2  # sentences on each side of one edit, at most (longer edits rewrite a paragraph)
PHRASES = 4000  # short reviews made from the grammar of sentiment.training.phrases (phrases:N for another count)
MAX_PHRASES = 50_000
CONTRAST_SHARE = 0.1  # contrast reviews made, as a share of the training split
SHORT = {"en": 25, "zh": 20}  # a clause is a training review of at most this many words / characters

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_INSIDE_END = re.compile(r"[.!?]\s|[。！？]")  # a sentence ends inside: not one clause
_TURN = re.compile(r"\b(but|though|although|however|yet|except)\b|但|不过|可是|只是|虽然|然而|就是", re.IGNORECASE)  # a clause that turns already
_CLAUSE_END = re.compile(r"[\s.!?。！？，,；;～~…]+$")


def parse(source: str) -> tuple[str, str | None]:
    """'cad:PATH' -> ('cad', 'PATH'); 'contrast' -> ('contrast', None). Unknown kinds are refused."""
    kind, _, path = source.partition(":")
    if kind not in SOURCES:
        raise GateScopeError("train.augment_kind", flag=FLAG, value=source, kinds=", ".join(SOURCES))
    if kind == "contrast" or (kind in PHRASE_GRAMMARS and not path):
        return kind, None
    if kind in PHRASE_GRAMMARS:  # phrases:N, how many
        if not path.isdigit() or not 0 < int(path) <= MAX_PHRASES:
            raise GateScopeError("train.augment_count", flag=FLAG, value=source, most=MAX_PHRASES)
        return kind, path
    if not path:
        raise GateScopeError("train.augment_path", flag=FLAG, value=source, example="cad:../shared/data/cad")
    return kind, path


def cad_files(path: str) -> list[Path]:
    """The paired TSV files a cad source names: one file, or the train and dev files of a folder."""
    p = Path(path)
    files = [p / name for name in CAD_FILES if (p / name).is_file()] if p.is_dir() else [p]
    if not files or not all(f.is_file() for f in files):
        raise GateScopeError("train.augment_missing", flag=FLAG, path=path, files=" / ".join(CAD_FILES))
    for f in files:
        if "test" in f.name.lower():
            raise GateScopeError("train.augment_test", flag=FLAG, path=str(f))
    return files


def read_cad(path: Path) -> list[tuple[str, list[Example]]]:
    """[(batch_id, [(text, label), (text, label)])] of one paired TSV (``pairs.read_cad``); rows whose
    pair is incomplete or not of opposite labels are left out."""
    grouped: dict[str, list[Example]] = defaultdict(list)
    for batch_id, example in pairs.read_cad(path):
        grouped[batch_id].append(example)
    return [(k, v) for k, v in grouped.items() if len(v) == 2 and v[0][1] != v[1][1]]


def sentences(text: str) -> list[str]:
    text = re.sub(r"\s+", " ", _BR.sub(" ", text)).strip()
    return [s for s in _SENTENCE_END.split(text) if s]


def changed_sentences(a: Example, b: Example) -> list[Example]:
    """The sentences that differ between the two members of a pair, each with its member's label."""
    sa, sb = sentences(a[0]), sentences(b[0])
    out: list[Example] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=sa, b=sb, autojunk=False).get_opcodes():
        if op == "replace" and i2 - i1 <= MAX_CHANGED and j2 - j1 <= MAX_CHANGED:
            out += [(" ".join(sa[i1:i2]), a[1]), (" ".join(sb[j1:j2]), b[1])]
    return out


def from_cad(path: str, only_changed: bool) -> list[Example]:
    out: list[Example] = []
    for f in cad_files(path):
        for _, (a, b) in read_cad(f):
            out += changed_sentences(a, b) if only_changed else [a, b]
    return out


def _clause(text: str) -> str:
    return _CLAUSE_END.sub("", text.strip())


def _joins(language: str, a: str, b: str, rng: random.Random) -> str:
    """One review saying a, then b after a contrast word (the sentiment is b's)."""
    if language == "zh":
        form = rng.choice(("{a}，但是{b}。", "虽然{a}，但是{b}。", "{a}，不过{b}。", "{a}，可是{b}。"))
        return form.format(a=a, b=b)
    form = rng.choice(("{a}, but {b}.", "Although {a}, {b}.", "{a}, though {b}.", "{a}. However, {b}."))
    return form.format(a=_lower_first(a) if form.startswith("Although") else a, b=_lower_first(b))


def _lower_first(clause: str) -> str:
    """A sentence's first letter in lower case, to follow a comma ("I" and its contractions kept)."""
    first = clause.split(" ", 1)[0]
    if first == "I" or first.startswith("I'") or first.isupper():
        return clause
    return clause[0].lower() + clause[1:]


def contrast(train: Sequence[Example], language: str, seed: int) -> list[Example]:
    """Short training reviews of opposite labels joined by a contrast word, labelled as the second."""
    limit = SHORT.get(language, SHORT["en"])
    size = (lambda t: len(t)) if language == "zh" else (lambda t: len(t.split()))
    short = {0: [], 1: []}
    for text, y in train:
        clause = _clause(text)
        if clause and size(clause) <= limit and not _INSIDE_END.search(clause) and not _TURN.search(clause):
            short[y].append(clause)
    if not short[0] or not short[1]:
        return []
    rng = random.Random(seed + 17)
    out: list[Example] = []
    for _ in range(round(CONTRAST_SHARE * len(train))):
        second = rng.randrange(2)
        a, b = rng.choice(short[1 - second]), rng.choice(short[second])
        out.append((_joins(language, a, b, rng), second))
    return out


def extra_examples(sources: Sequence[str], train: Sequence[Example], language: str, seed: int) -> tuple[list[Example], list[dict]]:
    """The extra training reviews of every source, and a record of each for the model's card. Contrast
    draws its clauses from the training split and the other sources' reviews."""
    out: list[Example] = []
    record: list[dict] = []
    parsed = [parse(s) for s in sources]
    for kind, path in parsed:
        if kind.startswith("cad") and language != "en":
            raise GateScopeError("train.augment_language", flag=FLAG, value=f"{kind}:{path}")
    for kind, path in sorted(parsed, key=lambda kp: kp[0] == "contrast"):  # contrast last: it joins the others' clauses
        if kind == "contrast":
            got = contrast(list(train) + out, language, seed)
        elif kind in PHRASE_GRAMMARS:
            got = phrases.reviews(language, int(path or PHRASES), seed, PHRASE_GRAMMARS[kind])
        else:
            got = from_cad(path, kind == "cad-sentences")
        out += got
        record.append({"source": kind, "path": Path(path).name if path and kind not in PHRASE_GRAMMARS else None, "reviews": len(got)})
    return out, record
