"""Minimal pairs: does a model follow negation, double negation, contrast and intensifiers?

Two kinds of evidence, both kept out of training and tuning:

- GateScope's own minimal-pair sets (``assets/pairs/en.tsv``, short movie reviews; ``zh.tsv``, short
  hotel reviews; see ``assets/pairs/README.md``): two sentences of opposite labels that differ as little
  as possible. ``dev`` is for looking and choosing; ``test`` is never tuned on, only reported.
- The counterfactual IMDB test set of Kaushik et al. (ICLR 2020, ``cad/test_paired.tsv``): every
  original review in it is an IMDB *training* review, so only the human-edited reviews are new to a
  model trained on IMDB; ``cad_edited`` finds them by matching each row against IMDB train.

Every figure uses the model's temperature-calibrated probabilities (``evaluate.predict_ids``), the
same a user sees. A model's ``lesson_record`` goes into its card as ``card["lesson"]``.

CLI: ``python -m sentiment.training.pairs --model DIR [--model DIR ...] [--write] [--json] [--wrong]``.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import shlex
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from sentiment import spec
from sentiment.data import readers
from sentiment.data.readers import Example
from sentiment.errors import DataError, GateScopeError
from sentiment.modeling import checkpoint
from sentiment.training import calibrate
from sentiment.training.evaluate import encode_for, predict_ids

COLUMNS = ("pair", "split", "kind", "label", "text")
SPLITS = ("dev", "test")
KINDS = ("negation", "double_negation", "contrast", "intensifier")
LABELS = {"negative": 0, "positive": 1}
CAD_COLUMNS = ("Sentiment", "Text", "batch_id")
CAD_TEST = "cad/test_paired.tsv"  # under a data folder (readers.data_dirs)


@dataclass(frozen=True)
class Pair:
    """Two sentences of opposite labels that differ minimally."""

    id: str
    split: str  # "dev" | "test"
    kind: str  # one of KINDS
    positive: str
    negative: str

    def examples(self) -> list[Example]:
        return [(self.positive, 1), (self.negative, 0)]


def pairs_dir() -> Path:
    """The shipped pair files: ``assets/pairs`` (``sentiment/assets/pairs`` once installed)."""
    return spec.ASSETS_DIR / "pairs"


def pairs_path(which: str | Path) -> Path:
    """``en`` / ``zh``: the shipped set of that language; anything else: a path."""
    return pairs_dir() / f"{which}.tsv" if str(which) in spec.LANGUAGES else Path(which)


# ---- reading and checking a pair file -----------------------------------------------------------------


class _Row(NamedTuple):
    """One sentence of a pair file, checked on its own."""

    line: int
    split: str
    kind: str
    label: str  # "positive" | "negative"
    text: str


def _content_lines(text: str, where: str) -> list[str]:
    """The file's lines (the header first) without the final newline's empty line; DataError if blank."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or not "".join(lines).strip():
        raise DataError("data.empty", path=where)
    return lines


def _check_header(line: str, where: str) -> None:
    header = line.rstrip("\r").split("\t")
    if tuple(h.strip() for h in header) != COLUMNS:
        raise DataError("pairs.header", path=where, expected="\t".join(COLUMNS).replace("\t", " TAB "),
                        header=" TAB ".join(header)[:200])


def _parse_row(line: str, lineno: int, where: str) -> tuple[str, _Row]:
    """(pair id, row) of a non-blank line; DataError for a wrong number of fields, a value not allowed
    in its column or an empty pair id or text."""
    fields = line.split("\t")
    if len(fields) != len(COLUMNS):
        raise DataError("pairs.fields", path=where, line=lineno, n=len(fields), expected=len(COLUMNS),
                        columns=", ".join(COLUMNS))
    pid, split, kind, label, sentence = (f.strip() for f in fields)
    for column, value, choices in (("split", split, SPLITS), ("kind", kind, KINDS), ("label", label, tuple(LABELS))):
        if value not in choices:
            raise DataError("pairs.bad_value", path=where, line=lineno, column=column, value=value[:40],
                            choices=", ".join(choices))
    if not pid:
        raise DataError("pairs.empty_field", path=where, line=lineno, column="pair")
    if not sentence:
        raise DataError("pairs.empty_field", path=where, line=lineno, column="text")
    return pid, _Row(lineno, split, kind, label, sentence)


def _rows_by_pair(lines: Sequence[str], where: str) -> dict[str, list[_Row]]:
    """The rows below the header grouped by pair id, in file order; DataError for a bad row or a text
    that appears twice."""
    rows: dict[str, list[_Row]] = defaultdict(list)
    seen: dict[str, int] = {}
    for lineno, line in enumerate(lines, 2):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        pid, row = _parse_row(line, lineno, where)
        if row.text in seen:
            raise DataError("pairs.duplicate_text", path=where, line=lineno, first=seen[row.text])
        seen[row.text] = lineno
        rows[pid].append(row)
    return rows


def _make_pair(pid: str, members: Sequence[_Row], where: str) -> Pair:
    """The pair of a pair id's rows: exactly two, of the same split and kind and opposite labels."""
    at = ", ".join(str(m.line) for m in members)
    if len(members) != 2:
        raise DataError("pairs.rows", path=where, pair=pid, n=len(members), lines=at)
    a, b = members
    for column in ("split", "kind"):
        if getattr(a, column) != getattr(b, column):
            raise DataError("pairs.mixed", path=where, pair=pid, lines=at, column=column,
                            a=getattr(a, column), b=getattr(b, column))
    if a.label == b.label:
        raise DataError("pairs.same_label", path=where, pair=pid, lines=at, label=a.label)
    pos, neg = (a, b) if a.label == "positive" else (b, a)
    return Pair(pid, a.split, a.kind, pos.text, neg.text)


def parse_pairs(text: str, where: str) -> list[Pair]:
    """The pairs of a pair file's text (UTF-8 TSV, header pair/split/kind/label/text, no quoting), in
    file order. DataError, naming the file and line, for anything a pair file must not have."""
    lines = _content_lines(text, where)
    _check_header(lines[0], where)
    rows = _rows_by_pair(lines[1:], where)
    if not rows:
        raise DataError("pairs.none", path=where)
    return [_make_pair(pid, members, where) for pid, members in rows.items()]


def load_pairs(which: str | Path, split: str | None = None) -> list[Pair]:
    """The pairs of a pair file (``en``, ``zh`` or a path), those of one split if ``split`` is dev or
    test (``None`` or ``all``: every pair). DataError for a missing, undecodable or malformed file."""
    p = pairs_path(which)
    if not p.is_file():
        raise DataError("data.no_file", path=p)
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError("data.not_utf8", path=p) from None
    except OSError as e:
        raise DataError("data.unreadable", path=p, err=e.strerror or e) from None
    pairs = parse_pairs(text, str(p))
    if split in (None, "all"):
        return pairs
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)} or all, not {split!r}")
    return [q for q in pairs if q.split == split]


# ---- measuring --------------------------------------------------------------------------------------


def pair_probabilities(ckpt: checkpoint.Checkpoint, pairs: Sequence[Pair]) -> list[tuple[float, float]]:
    """[(P(positive) of the positive sentence, P(positive) of the negative sentence)] per pair,
    calibrated (softmax(logits / T)); each sentence is read on its own, as ``predict`` reads it."""
    examples = [ex for q in pairs for ex in q.examples()]
    if not examples:
        return []
    seqs, _ = encode_for(ckpt, examples)
    p = predict_ids(ckpt.model, seqs, temperature=ckpt.temperature)[:, 1].tolist()
    return list(zip(p[0::2], p[1::2], strict=True))  # two sentences per pair


def _figures(outcomes: Sequence[tuple[bool, bool]]) -> dict:
    n = len(outcomes)
    right = sum(a + b for a, b in outcomes)
    both = sum(a and b for a, b in outcomes)
    return {"n": n, "sentences": 2 * n, "accuracy": right / (2 * n) if n else None,
            "pair_accuracy": both / n if n else None}


def evaluate_pairs(ckpt: checkpoint.Checkpoint, pairs: Sequence[Pair]) -> dict:
    """``{"n": pairs, "sentences", "accuracy": share of sentences right, "pair_accuracy": share of
    pairs with both sentences right, "by_kind": {kind: the same figures}}`` (accuracies None when
    there are no pairs). A sentence is right when its calibrated P(positive) is on its label's side of 0.5."""
    probs = pair_probabilities(ckpt, pairs)
    outcomes = [(pp >= 0.5, pn < 0.5) for pp, pn in probs]
    record = _figures(outcomes)
    by: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for q, o in zip(pairs, outcomes, strict=True):
        by[q.kind].append(o)
    record["by_kind"] = {k: _figures(by[k]) for k in KINDS if k in by}
    return record


def wrong_sentences(ckpt: checkpoint.Checkpoint, pairs: Sequence[Pair]) -> list[dict]:
    """The sentences the model gets wrong: [{"pair", "kind", "label", "text", "p_positive"}], file order.
    Meant for dev: test errors are not read (assets/pairs/README.md)."""
    out = []
    for q, (pp, pn) in zip(pairs, pair_probabilities(ckpt, pairs), strict=True):
        for label, text, p, ok in (("positive", q.positive, pp, pp >= 0.5), ("negative", q.negative, pn, pn < 0.5)):
            if not ok:
                out.append({"pair": q.id, "kind": q.kind, "label": label, "text": text, "p_positive": round(p, 4)})
    return out


# ---- the counterfactual IMDB test set -------------------------------------------------------------


def normalise(text: str) -> str:
    """A review compared across files: ``<br />`` as a space, whitespace runs as one space."""
    return " ".join(text.replace("<br />", " ").split())


def read_cad(path: str | Path) -> list[tuple[str, Example]]:
    """[(batch_id, (text, label))] of a counterfactual pair file (TSV, header Sentiment, Text, batch_id;
    quoted fields as a CSV writer quotes them; label 1 positive), in file order. DataError names the
    file and line."""
    p = Path(path)
    if not p.is_file():
        raise DataError("data.no_file", path=p)
    text = readers.decode_bytes(p.read_bytes(), str(p))
    rows = csv.reader(io.StringIO(text, newline=""), delimiter="\t", strict=True)
    out: list[tuple[str, Example]] = []
    try:
        header = next(rows, None)
        if header is None or tuple(h.strip() for h in header) != CAD_COLUMNS:
            raise DataError("pairs.header", path=p, expected=" TAB ".join(CAD_COLUMNS),
                            header=" TAB ".join(header or [])[:200])
        start = rows.line_num + 1
        for row in rows:
            lineno, start = start, rows.line_num + 1
            if not row or not any(c.strip() for c in row):
                continue
            if len(row) != len(CAD_COLUMNS):
                raise DataError("pairs.fields", path=p, line=lineno, n=len(row), expected=len(CAD_COLUMNS),
                                columns=", ".join(CAD_COLUMNS))
            label = readers.parse_label(row[0])
            if label is None:
                raise DataError("data.bad_label_named", path=p, line=lineno, label=row[0].strip()[:30])
            if not row[1].strip():
                raise DataError("pairs.empty_field", path=p, line=lineno, column="Text")
            out.append((row[2].strip(), (row[1], label)))
    except csv.Error as e:
        raise DataError("data.quotes", path=p, line=start, err=e) from None
    return out


def cad_edited(cad_tsv: str | Path, imdb_path: str | Path) -> list[Example]:
    """The human-edited reviews of a counterfactual pair file: its rows that are not IMDB training
    reviews (compared after ``normalise``), as (text, label) with label 1 positive, in file order."""
    train = {normalise(t) for t, _ in readers.load(imdb_path, "imdb").official["train"]}
    return [ex for _, ex in read_cad(cad_tsv) if normalise(ex[0]) not in train]


def find_cad_test() -> Path | None:
    """``cad/test_paired.tsv`` in the first data folder that has it (readers.data_dirs), else None."""
    for d in readers.data_dirs():
        if (d / CAD_TEST).is_file():
            return d / CAD_TEST
    return None


def evaluate_cad(ckpt: checkpoint.Checkpoint, edited: Sequence[Example]) -> dict:
    """Accuracy over the edited reviews (calibrated probabilities): ``{"accuracy", "n"}``."""
    seqs, labels = encode_for(ckpt, edited)
    pred = predict_ids(ckpt.model, seqs, temperature=ckpt.temperature).argmax(1).tolist()
    right = sum(int(p == y) for p, y in zip(pred, labels, strict=True))
    return {"accuracy": right / len(labels) if labels else None, "n": len(labels)}


# ---- a model's record -------------------------------------------------------------------------------


def is_imdb(ckpt: checkpoint.Checkpoint) -> bool:
    """An English model trained on IMDB (its originals are in the counterfactual set's train side)."""
    return ckpt.language == "en" and str(ckpt.card.get("dataset", "")).lower() == "imdb"


def lesson_record(ckpt: checkpoint.Checkpoint, cad: Sequence[Example] | None = None,
                  cad_path: str | Path | None = None, imdb_path: str | Path | None = None) -> dict:
    """``{"pairs": {"set", "dev": {...}, "test": {...}}, "cad_edited": {...}, "measured": ISO date}`` of
    one model: its language's minimal pairs (evaluate_pairs per split), and for an English IMDB model
    the counterfactual edited reviews (``cad``, or read from ``cad_path`` / ``imdb_path``, by default
    found in the data folders; left out, with ``cad_missing``, when they are not there)."""
    if ckpt.language not in spec.LANGUAGES:
        raise DataError("pairs.no_set", path=ckpt.path, language=ckpt.language)
    pairs = load_pairs(ckpt.language)
    record: dict = {"pairs": {"set": f"{ckpt.language}.tsv"}}
    for split in SPLITS:
        record["pairs"][split] = evaluate_pairs(ckpt, [q for q in pairs if q.split == split])
    if is_imdb(ckpt):
        if cad is None:
            cad_path = cad_path or find_cad_test()
            imdb_path = imdb_path or readers.find_dataset("imdb")
            if cad_path is not None and imdb_path is not None:
                cad = cad_edited(cad_path, imdb_path)
        if cad is not None:
            record["cad_edited"] = dict(evaluate_cad(ckpt, cad), set="cad/test_paired.tsv (edited reviews)")
        else:
            record["cad_missing"] = True
    record["measured"] = datetime.date.today().isoformat()
    return record


def write_lesson(model_dir: str | Path, record: dict, command: str) -> None:
    """card.json gains ``"lesson": record`` (with the command), written atomically; nothing else changes."""
    d = checkpoint.resolve(model_dir)
    card = json.loads((d / "card.json").read_text(encoding="utf-8"))
    card["lesson"] = dict(record, command=command)
    calibrate._replace_json(d / "card.json", card)


# ---- the command line -------------------------------------------------------------------------------


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}"


def table(rows: Sequence[tuple[str, dict]]) -> str:
    """A Markdown table: per model, sentence and pair accuracy on dev and test, test by kind, CAD edited."""
    head = ["model", "dev sent.", "dev pairs", "test sent.", "test pairs"] + [f"test {k} (pairs)" for k in KINDS] + ["CAD edited"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in rows:
        dev, test = r["pairs"]["dev"], r["pairs"]["test"]
        kinds = [_pct(test["by_kind"].get(k, {}).get("pair_accuracy")) for k in KINDS]
        cad = r.get("cad_edited")
        cells = [name, _pct(dev["accuracy"]), _pct(dev["pair_accuracy"]), _pct(test["accuracy"]), _pct(test["pair_accuracy"])]
        cells += kinds + [f"{_pct(cad['accuracy'])} (n={cad['n']})" if cad else "—"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sentiment.training.pairs", description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, action="append", help="model directory or shipped model name (repeatable)")
    ap.add_argument("--write", action="store_true", help="store the record as card.json's \"lesson\" in each model folder")
    ap.add_argument("--json", action="store_true", help="print each model's record as one JSON line")
    ap.add_argument("--wrong", action="store_true", help="also list the dev sentences each model gets wrong (never test's)")
    args = ap.parse_args(argv)
    command = "python -m sentiment.training.pairs " + shlex.join(argv if argv is not None else sys.argv[1:])
    status, rows, cad = 0, [], None
    for model in args.model:
        try:
            ckpt = checkpoint.load(model)
            if is_imdb(ckpt) and cad is None:  # read IMDB once for every model
                cad_path, imdb_path = find_cad_test(), readers.find_dataset("imdb")
                if cad_path is not None and imdb_path is not None:
                    cad = cad_edited(cad_path, imdb_path)
            record = lesson_record(ckpt, cad=cad)
            if args.write:
                write_lesson(model, record, command)
        except GateScopeError as e:
            print(f"error: {e}", file=sys.stderr)
            status = 2
            continue
        name = Path(ckpt.path).name
        rows.append((name, record))
        if args.json:
            print(json.dumps({"model": name, **record}, ensure_ascii=False))
        if args.wrong:
            wrong = wrong_sentences(ckpt, load_pairs(ckpt.language, "dev"))
            print(f"{name}: {len(wrong)} dev sentences wrong", file=sys.stderr if args.json else sys.stdout)
            for w in wrong:
                print(f"  {w['pair']} {w['kind']:<15} {w['label']:<8} P(pos)={w['p_positive']:.3f}  {w['text']}",
                      file=sys.stderr if args.json else sys.stdout)
    if rows and not args.json:
        print(table(rows))
        if any(r.get("cad_missing") for _, r in rows):
            print("note: cad/test_paired.tsv or the IMDB archive was not found in the data folders "
                  "(set GATESCOPE_DATA): no counterfactual figure", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
