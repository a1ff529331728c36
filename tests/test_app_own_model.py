"""The Models page's "Open your own model" (AppTest; issue 21 and issue 22 item 7).

- An upload never harms the page: random bytes give a message in place of the result, and the grid
  and the table are still drawn.
- A student's PyTorch state dict (Embedding -> LSTM -> Linear(h[-1]), trained a few steps, fed each
  review at its own length) uploaded with every default: the page asks how it was fed (padding, fixed
  length, reduction ...), each choice with the P(positive) it gives, and converts nothing until every
  assumed fact is answered, examples verify it, or the user insists.
- With the student's answer (no padding read) or with five of the student's own P(positive), the
  converted model gives the student's own P(positive) within 1e-4 (computed here with torch); the
  pages then say how it was verified.
- In 中文 the whole block is Chinese (tests/_visible_text.py's check, the choices' captions too).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import torch
from _visible_text import english_on
from streamlit.testing.v1 import AppTest
from torch import nn

from sentiment import i18n
from sentiment.modeling import checkpoint
from sentiment.modeling.predict import predict
from sentiment.ui import common, openmodel

ROOT = Path(__file__).resolve().parent.parent
WORDS = "the film was good bad great awful not at all plot acting i loved hated it boring fun story".split()
TRAIN = [("the film was good", 1), ("i loved it", 1), ("great fun", 1), ("the plot was boring", 0),
         ("awful acting", 0), ("i hated it", 0)]
REVIEWS = ["the film was not good at all", "i loved the acting", "boring plot", "great story but awful acting",
           "it was fun", "not bad at all"]
REVIEW = "the film was not good at all"


class Student(nn.Module):
    """issue 21's student: Embedding -> LSTM -> Linear on h[-1], each review fed at its own length."""

    def __init__(self, n: int):
        super().__init__()
        self.emb = nn.Embedding(n, 8)
        self.lstm = nn.LSTM(8, 6, batch_first=True)
        self.fc = nn.Linear(6, 1)

    def forward(self, x):
        _, (h, _) = self.lstm(self.emb(x))
        return self.fc(h[-1]).squeeze(-1)


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    d = tmp_path_factory.mktemp("student")
    vocab = {"<pad>": 0, "<unk>": 1, **{w: i + 2 for i, w in enumerate(WORDS)}}
    torch.manual_seed(0)
    net = Student(len(vocab))
    opt = torch.optim.Adam(net.parameters(), 0.02)
    for _ in range(4):  # a few steps: its answers are not all near 0 or 1
        for text, y in TRAIN:
            loss = nn.functional.binary_cross_entropy_with_logits(net(ids_of(text, vocab)), torch.tensor([float(y)]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    torch.save(net.state_dict(), d / "student.pt")
    (d / "vocab.json").write_text(json.dumps(vocab))
    with torch.no_grad():
        own = {t: float(torch.sigmoid(net(ids_of(t, vocab)))) for t in REVIEWS}
    return {"dir": d, "own": own, "weights": (d / "student.pt").read_bytes(), "vocab": (d / "vocab.json").read_bytes()}


def ids_of(text: str, vocab: dict) -> torch.Tensor:
    return torch.tensor([[vocab.get(w, 1) for w in text.split()]])


@pytest.fixture(autouse=True)
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("GATESCOPE_CACHE", str(tmp_path / "cache"))
    common.refresh_models()


def block(lang: str = "en") -> AppTest:
    at = AppTest.from_file(str(ROOT / "tests" / "_own_model_page.py"), default_timeout=120)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, student: dict) -> AppTest:
    at.file_uploader(key="om_weights").upload("student.pt", student["weights"], "application/octet-stream").run()
    at.file_uploader(key="om_vocab").upload("vocab.json", student["vocab"], "application/json").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def radio(at: AppTest, fact: str):
    return at.radio(key=f"om_q_{fact}")


def captions(r) -> list[str]:
    return list(r.proto.captions)


def answer(at: AppTest, fact: str, value) -> None:
    r = radio(at, fact)
    labels = r.options
    want = openmodel.value_words(fact, value)
    r.set_value(labels.index(want))


def converted(tmp_path: Path, name: str = "student") -> checkpoint.Checkpoint:
    return checkpoint.load(tmp_path / "runs" / "imported" / name)


# ---- an upload never harms the page ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_random_bytes_give_a_message_and_the_grid_and_table_stay(lang, tmp_path):
    at = AppTest.from_file(str(ROOT / "tests" / "_models_page.py"), default_timeout=120)
    at.session_state["lang"] = lang
    at.run()
    charts, tables = len(at.get("plotly_chart")), len(at.dataframe)
    assert charts >= 2 and tables >= 1
    noise = os.urandom(4096)
    at.file_uploader(key="om_weights").upload("random.bin", noise, "application/octet-stream").run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    assert "Something went wrong" not in errors[0] and "KeyError: 1" not in errors[0][:12]
    if lang == "zh":
        assert re.search(r"[\u4e00-\u9fff]", errors[0]), errors[0]  # the message in the session's language
    assert len(at.get("plotly_chart")) == charts and len(at.dataframe) == tables  # the grid and the table stay


@pytest.mark.slow
def test_a_file_too_big_for_the_page_is_refused_with_the_limit():
    at = block()
    assert at.file_uploader(key="om_weights").proto.max_upload_size_mb == openmodel.MODEL_MB
    help_text = at.file_uploader(key="om_weights").proto.help
    assert f"{openmodel.MODEL_MB} MB" in help_text and f"{openmodel.PROXY_MB} MB" in help_text
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    assert f"maxUploadSize = {openmodel.MODEL_MB}" in config  # what the uploader says is the server's limit


# ---- the student's state dict -------------------------------------------------------------------------


@pytest.mark.slow
def test_with_every_default_the_page_asks_how_it_was_fed(student):
    at = upload(block(), student)
    asked = {r.key.removeprefix("om_q_") for r in at.radio}
    assert {"padding", "max_len", "reduction"} <= asked
    pad = radio(at, "padding")
    assert pad.value is None  # nothing chosen for the user
    assert pad.options == [openmodel.value_words("padding", v) for v in ("post", "pre", "masked")]
    caps = captions(pad)
    assert all(c.startswith("P(positive) ") for c in caps) and "GateScope's guess" in caps[0]
    read_pads, masked = (float(caps[i].split()[1]) for i in (0, 2))
    assert abs(read_pads - masked) > 0.01, caps  # the 192 pads change the answer: the choice matters
    for fact in ("max_len", "reduction"):
        assert all(c.startswith("P(positive) ") for c in captions(radio(at, fact)))
    assert at.button(key="om_go").disabled  # nothing assumed silently
    assert "Not yet answered" in at.warning[0].value


@pytest.mark.slow
def test_the_choices_show_the_students_own_p_for_the_students_answer(student):
    at = upload(block(), student)
    at.text_input(key="om_review").input(REVIEW).run()
    caps = captions(radio(at, "padding"))
    assert abs(float(caps[2].split()[1]) - student["own"][REVIEW]) <= 6e-4  # printed with 3 decimals


@pytest.mark.slow
def test_with_the_students_answer_the_model_gives_the_students_own_p(student, tmp_path):
    at = upload(block(), student)
    for r in list(at.radio):
        fact = r.key.removeprefix("om_q_")
        if fact != "padding":
            r.set_value(0)  # GateScope's guess, confirmed: the student fed the text split on spaces, no start id
    answer(at, "padding", "masked")
    at.run()
    assert not at.button(key="om_go").disabled
    at.button(key="om_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Added student" in s.value for s in at.success)
    ckpt = converted(tmp_path)
    for text, p in student["own"].items():
        assert abs(predict(ckpt, text).positive - p) < 1e-4, text
    facts = ckpt.card["imported"]["facts"]
    assert facts["padding"]["source"] == "given" and facts["padding"]["value"] == "masked"
    kind, words = common.imported_status(ckpt.card)
    assert kind == "warn" and words.startswith("Not verified against PyTorch: every fact was read from the file or given")


@pytest.mark.slow
def test_with_five_examples_the_model_is_verified_and_gives_the_students_own_p(student, tmp_path):
    at = upload(block(), student)
    lines = "\n".join(json.dumps({"text": t, "positive": round(p, 6)}) for t, p in list(student["own"].items())[:5])
    at.text_area(key="om_examples").input(lines).run()
    at.button(key="om_check_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    ok = [s.value for s in at.success]
    assert any(s.startswith("Verified against PyTorch on 5 reviews") for s in ok), ok
    assert not at.button(key="om_go").disabled
    at.button(key="om_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    ckpt = converted(tmp_path)
    for text, p in student["own"].items():
        assert abs(predict(ckpt, text).positive - p) < 1e-4, text
    assert ckpt.card["verified"]["examples"] == 5 and ckpt.card["verified"]["max_diff"] <= 1e-4
    kind, words = common.imported_status(ckpt.card)
    assert kind == "ok" and words.startswith("Verified against PyTorch on 5 reviews (largest difference")


@pytest.mark.slow
def test_examples_that_nothing_reproduces_convert_nothing_unless_the_user_insists(student, tmp_path):
    at = upload(block(), student)
    lines = "\n".join(json.dumps({"text": t, "positive": 0.5 if p < 0.5 else 0.01}) for t, p in list(student["own"].items())[:4])
    at.text_area(key="om_examples").input(lines).run()
    at.button(key="om_check_go").click().run()
    errors = [e.value for e in at.error]
    assert any(e.startswith("Not reproduced: the closest reading") for e in errors), errors
    assert at.button(key="om_go").disabled
    at.checkbox(key="om_anyway").check().run()
    at.button(key="om_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    card = converted(tmp_path).card
    assert card.get("verified") is None and card["unverified"]["examples"] == 4
    kind, words = common.imported_status(card)
    assert kind == "warn" and words.startswith("Not verified: converted although PyTorch's outputs were not reproduced")


@pytest.mark.slow
def test_convert_anyway_lists_what_was_assumed_on_every_page(student, tmp_path):
    at = upload(block(), student)
    at.checkbox(key="om_anyway").check().run()
    at.button(key="om_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    card = converted(tmp_path).card
    kind, words = common.imported_status(card)
    assert kind == "warn" and words.startswith("Not verified: assumed ")
    for fact in ("padding", "max_len", "reduction"):
        assert openmodel.fact_name(fact) in words
    assert "--check" in words  # how to verify
    # the Models page's list of own models says the same, in both languages
    for lang in ("en", "zh"):
        page = AppTest.from_file(str(ROOT / "tests" / "_models_page.py"), default_timeout=120)
        page.session_state["lang"] = lang
        page.run()
        text = " ".join(m.value for m in page.markdown)
        assert "student" in text and i18n.t("own.status.assumed", lang, facts="").split("{")[0][:6] in text


# ---- 中文 ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_block_is_chinese_in_chinese(student):
    at = upload(block("zh"), student)
    review = at.text_input(key="om_review").value
    english = english_on(at, set(), names=[review, "student.pt", "vocab.json", "student"])
    assert english == [], "\n".join(f"{w}: {ws} in {s!r}" for w, s, ws in english)
    for r in at.radio:  # the choices' captions: the P(正面) each gives
        for c in captions(r):
            assert c.startswith("P(正面) ") and "guess" not in c
    assert "P(正面)" in captions(radio(at, "padding"))[0] and "GateScope 的猜测" in captions(radio(at, "padding"))[0]


def test_every_fact_and_value_has_words_in_both_languages():
    en, zh = i18n.TABLES["en"], i18n.TABLES["zh"]
    keys = [f"own.fact.{f}" for f in common.IMPORT_FACTS] + [f"own.why.{f}" for f in common.IMPORT_FACTS]
    keys += [f"own.src.{k}" for k in ("read", "given", "assumed", "found")]
    keys += [f"own.v.padding.{k}" for k in ("pre", "post", "masked")] + [f"own.v.trunc.{k}" for k in ("pre", "post")]
    keys += [f"own.v.red.{k}" for k in ("final_one", "final_states", "last_step", "max", "mean")]
    keys += [f"own.v.tok.{k}" for k in ("word", "word_marks", "zhword", "zhword_marks", "char", "char_marks", "list", "keras")]
    keys += [f"own.s.head.{k}" for k in ("sigmoid", "softmax")]
    assert [k for k in keys if k not in en or k not in zh] == []


def test_the_status_line_of_each_card(monkeypatch):
    monkeypatch.setattr(openmodel, "t", lambda key, *a, **kw: i18n.t(key, "en", **kw))
    monkeypatch.setattr(common, "t", lambda key, *a, **kw: i18n.t(key, "en", **kw))
    base = {"imported": {"framework": "keras", "facts": {"padding": {"value": "post", "source": "assumed", "why": ""},
                                                         "max_len": {"value": 200, "source": "read", "why": ""}}}}
    assert common.imported_status({**base, "verified": {"examples": 5, "max_diff": 3e-7, "framework": "keras"}}) == (
        "ok", "Verified against Keras on 5 reviews (largest difference 3e-07).")
    kind, words = common.imported_status({**base, "verified": None})
    assert kind == "warn" and words.startswith("Not verified: assumed Padding.") and "--check" in words
    kind, words = common.imported_status({"imported": {"framework": "pytorch"}})
    assert words.startswith("Not verified: converted before GateScope recorded")


# ---- every page that shows an imported model says how it was verified ----------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind,lang", [("verified", "en"), ("verified", "zh"), ("assumed", "en"), ("assumed", "zh")])
def test_explore_compare_and_models_say_whether_an_imported_model_was_verified(student, tmp_path, monkeypatch, kind, lang):
    from sentiment.interop.convert import convert

    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setenv("GATESCOPE_MODELS", str(models))  # the imported model is the only one
    common.refresh_models()
    d = student["dir"]
    examples = "\n".join(json.dumps({"text": t, "positive": round(p, 6)}) for t, p in student["own"].items()) + "\n"
    convert(d / "student.pt", tmp_path / "runs" / "imported" / "mine", d / "vocab.json", {},
            check=examples if kind == "verified" else None)
    if kind == "verified":
        want = {"en": "Verified against PyTorch on 6 reviews", "zh": "已与 PyTorch 核对，共 6 条评论"}[lang]
    else:
        want = {"en": "Not verified: assumed Tokens", "zh": "未核对：假定了切分方式"}[lang]
    how = {"en": "To verify:", "zh": "核对方法："}[lang]
    for page in ("explore", "compare", "models"):
        at = AppTest.from_file(str(ROOT / "tests" / f"_{page}_page.py"), default_timeout=120)
        at.session_state["lang"] = lang
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        shown = [c.value for c in at.caption] + [i.value for i in at.info] + [m.value for m in at.markdown]
        assert any(want in s for s in shown), (page, shown)
        if kind == "assumed":
            assert any(want in s and how in s for s in shown), page
