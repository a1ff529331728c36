"""The Patterns page (AppTest): a fresh page opens on a quick sample traced with no click; a sample of the
test split is traced with a progress bar and kept on disk;
units picked over a token range (the slider, the brush's fallback) are the ones that stay above the
threshold, and the phrases listed are the core's matches; a missing dataset is said clearly; Chinese."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sentiment import probe
from sentiment.modeling import checkpoint
from sentiment.probe import patterns

ROOT = Path(__file__).resolve().parent.parent
NO_RUNS = ROOT / "tests" / "no-runs-here"
MODEL = ROOT / "assets" / "models" / "imdb-lstm-max"
N = 40


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("GATESCOPE_RUNS", str(NO_RUNS))
    monkeypatch.setenv("GATESCOPE_CACHE", str(tmp_path / "cache"))
    return tmp_path


def open_page(language: str = "en") -> AppTest:
    at = AppTest.from_file(str(ROOT / "tests" / "_patterns_page.py"), default_timeout=90)
    if language != "en":
        at.session_state["lang"] = language
    at.run()
    assert not at.exception, at.exception
    return at


def traced(at: AppTest) -> AppTest:
    at.number_input(key="pt_n").set_value(N).run()
    at.button(key="pt_trace").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


@pytest.mark.slow
def test_a_fresh_page_opens_on_the_quick_sample_with_no_click(env):
    """An empty cache: the first screen already draws the quick sample's charts (traced with no click), names
    its size and opens on a finding; the full 2,000-review sample is one click away."""
    at = open_page()
    assert at.title[0].value == "Units and patterns across a dataset"
    assert not at.error, [e.value for e in at.error]
    q = patterns.QUICK_SAMPLE
    note = next(i.value for i in at.info if i.value.startswith("Opened on a quick sample"))
    assert f"{q} test reviews ({q // 2} positive, {q // 2} negative" in note and "Trace 2,000 imdb reviews" in note
    assert any(c.value.startswith(f"{q} test reviews (") for c in at.caption), [c.value for c in at.caption]
    kinds = {json.loads(c.proto.spec)["layout"]["meta"]["kind"] for c in at.get("plotly_chart")}
    assert {"review_heatmap", "cocluster_heatmap", "saturation_scatter"} <= kinds
    assert any(" units stay above " in m.value for m in at.markdown)
    assert any("Opened on the span" in c.value for c in at.caption)
    assert at.number_input(key="pt_n").value == 2000
    assert at.button(key="pt_trace").label == "Trace 2,000 test reviews for more"
    quick = patterns.cached(checkpoint.load(MODEL), q, quick=True)  # kept in the cache, under its own key
    assert quick is not None and Path(quick.path).parent == env / "cache" / "patterns" and "-quick-" in Path(quick.path).name
    assert patterns.cached(checkpoint.load(MODEL), 2000) is None  # the full sample waits for the click
    again = open_page()  # a second visit reads it from disk
    assert any(c.value.startswith(f"{q} test reviews (") for c in again.caption)
    shown = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    shown += [o for box in at.selectbox for o in box.options]
    assert not [x for x in shown if re.search(r"(?<![\d,.])1 (tokens|units|phrases|reviews|times)\b", x)]


def test_counts_of_one_read_singular_in_english_and_the_same_in_chinese():
    from sentiment import i18n
    from sentiment.ui.patterns import tn

    row = dict(idx=3, label="Positive", n=1, mean=0.5)
    assert tn("patterns.match.row", (".one", 1), **row) == "review #3 · Positive · 1 token · mean 0.500"
    assert tn("patterns.match.row", (".one", 2), **{**row, "n": 2}) == "review #3 · Positive · 2 tokens · mean 0.500"
    count = dict(total=1, units="u7", thr="0.5", shown=1, share=1.0)
    assert tn("patterns.matches.count", (".one", 1), (".unit", 1), **count).startswith("1 phrase in the sample where unit u7 is above")
    assert tn("patterns.units", (".one", 1), k=1, thr="0.5", phrase="not bad", units="u7").startswith("1 unit stays above")
    assert i18n.t("patterns.match.row.one", "zh", **row) == i18n.t("patterns.match.row", "zh", **row)


@pytest.mark.slow
def test_tracing_a_small_sample_keeps_it_on_disk(env):
    at = traced(open_page())
    assert any(c.value.startswith(f"{N} test reviews (") for c in at.caption), [c.value for c in at.caption]
    assert not any("has not been traced yet" in i.value for i in at.info)
    bt = patterns.cached(checkpoint.load(MODEL), N)
    assert bt is not None and bt.n == N and Path(bt.path).parent == env / "cache" / "patterns"
    again = open_page()  # a new session: the trace is read from disk, no button
    again.number_input(key="pt_n").set_value(N).run()
    assert all(b.key != "pt_trace" for b in again.button)
    assert any(c.value.startswith(f"{N} test reviews (") for c in again.caption)


@pytest.mark.slow
def test_broken_cache_is_traced_again_not_a_crash(env):
    """Bad input tried: the cached sample's index.json cut short on disk; the page offers to trace it again."""
    traced(open_page())
    d = patterns.cache_path(checkpoint.load(MODEL), N)
    (d / "index.json").write_text((d / "index.json").read_text()[:30])
    at = open_page()
    at.number_input(key="pt_n").set_value(N).run()
    assert not at.exception and not at.error
    assert at.button(key="pt_trace") and not d.exists()
    at.button(key="pt_trace").click().run()
    assert any(c.value.startswith(f"{N} test reviews (") for c in at.caption)


@pytest.mark.slow
def test_selected_units_and_matches_are_the_cores(env):
    """Forget gate over tokens 2..4 of the picked review, threshold 0.6 (set with the slider fallback):
    the units listed are select_units', the phrases and their count are match's."""
    at = traced(open_page())
    at.selectbox(key="pt_gate").set_value("f").run()
    at.select_slider(key="pt_span").set_value((2, 4)).run()
    at.slider(key="pt_thr_sigmoid").set_value(0.6).run()
    assert not at.exception
    bt = patterns.cached(checkpoint.load(MODEL), N)
    i = at.selectbox(key="pt_review").value
    key = (0, "forward", "f")
    units = patterns.select_units(bt.review(i, key), 2, 4, 0.6)
    assert units.size > 0
    shown = next(m.value for m in at.markdown if "units stay above 0.6" in m.value)
    assert shown.startswith(f"{units.size} units") and re.findall(r"u(\d+)", shown.split(":")[-1])[:40] == [str(u) for u in units[:40]]
    used = units[: min(5, units.size)]
    matches, total, positive = patterns.match(bt, key, used, 0.6, limit=30)
    count = next(c.value for c in at.caption if "phrases in the sample" in c.value)
    assert count.startswith(f"{total:,} phrases") and ", ".join(f"u{u}" for u in used) in count
    assert f"{positive / total:.0%} of them in positive reviews" in count
    rows = [m.value for m in at.markdown if m.value.startswith("- ") and "review #" in m.value]
    assert len(rows) == len(matches) > 0
    for row, m in zip(rows, matches):
        assert f"**{' '.join(m.phrase)}**" in row.replace("\\", "") and f"review #{m.split_index}" in row
        assert ("Positive" if m.label else "Negative") in row
    heat = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if "review_heatmap" in c.proto.spec][0]
    assert heat["layout"]["meta"]["span"] == [2, 4] and heat["layout"]["meta"]["units"] == [int(u) for u in units]
    assert heat["layout"]["dragmode"] == "select"


@pytest.mark.slow
def test_unit_words_and_saturation_views(env):
    at = traced(open_page())
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    cc = next(f for f in figs if f["layout"]["meta"]["kind"] == "cocluster_heatmap")
    assert sorted(cc["layout"]["meta"]["units"]) == list(range(128)) and len(cc["layout"]["meta"]["words"]) > 5
    sat = next(f for f in figs if f["layout"]["meta"]["kind"] == "saturation_scatter")
    xs = [x for d in sat["data"] if d.get("mode") == "markers" for x in d["x"]]
    assert len(xs) == 2 * 3 * 128 and all(0 <= x <= 1 for x in xs)
    assert len(at.dataframe) == 2  # words that raise and lower the picked unit


@pytest.mark.slow
def test_own_review_selects_units(env):
    """A typed review instead of one of the sample: its own trace gives the units, matched over the sample."""
    at = traced(open_page())
    at.segmented_control(key="pt_source").set_value("own").run()
    at.text_area(key="pt_text").set_value("not bad at all , really not bad").run()
    at.selectbox(key="pt_gate").set_value("f").run()
    at.select_slider(key="pt_span").set_value((0, 1)).run()
    at.slider(key="pt_thr_sigmoid").set_value(0.5).run()
    assert not at.exception and not at.error
    heat = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if "review_heatmap" in c.proto.spec][0]
    assert heat["layout"]["meta"]["tokens"] == ["not", "bad", "at", "all", "really", "not", "bad"]
    tr = probe.trace(checkpoint.load(MODEL), "not bad at all , really not bad", prefix=False, occlusion=False)
    thr = at.slider(key="pt_thr_sigmoid").value
    units = patterns.select_units(tr.gate("f"), 0, 1, thr)
    assert units.size > 0 and heat["layout"]["meta"]["units"] == [int(u) for u in units]
    assert any(m.value.startswith(f"{units.size} units stay above {thr:g} over “not bad”") for m in at.markdown)
    assert any("phrases in the sample" in c.value for c in at.caption)


@pytest.mark.slow
def test_the_page_opens_on_a_selection_that_finds_units(env):
    """Once traced, the first screen already shows units and matches: the span and threshold come from the data."""
    at = traced(open_page())
    assert not [i.value for i in at.info if "No unit stays above" in i.value]
    assert any(" units stay above " in m.value for m in at.markdown)
    assert any("phrases in the sample" in c.value for c in at.caption)
    assert any("Opened on the span" in c.value for c in at.caption)


def test_missing_dataset_is_said_clearly(env, monkeypatch):
    """Bad input tried: a model whose dataset is nowhere on this machine: a message, no trace button."""
    models = env / "models"
    shutil.copytree(MODEL, models / "gone-lstm-max")
    card = json.loads((models / "gone-lstm-max" / "card.json").read_text(encoding="utf-8"))
    card.update(dataset="gone", data_path=str(env / "nowhere.csv"))
    (models / "gone-lstm-max" / "card.json").write_text(json.dumps(card), encoding="utf-8")
    monkeypatch.setenv("GATESCOPE_MODELS", str(models))
    at = open_page()
    assert any("“gone” is not on this machine" in i.value for i in at.info), [i.value for i in at.info]
    assert all(b.key != "pt_trace" for b in at.button)


@pytest.mark.slow
def test_chinese_interface(env):
    at = open_page("zh")
    assert at.title[0].value == "跨数据集的单元与模式"
    assert at.selectbox(key="pt_dataset").value == ("hotel", "zh")  # 中文 opens on the Chinese models
    assert at.button(key="pt_trace").label == "追踪 776 条测试评论以看到更多"  # hotel's whole test split
    assert any(i.value.startswith(f"先打开一个快速样本：{patterns.QUICK_SAMPLE} 条测试评论") for i in at.info)
    assert at.get("plotly_chart")


@pytest.mark.slow
def test_chinese_hotel_sample_joins_words_without_spaces(env):
    """A Chinese model (hotel GRU): its reviews' words are joined without spaces, labels and rows in Chinese."""
    at = open_page("zh")
    at.selectbox(key="pt_dataset").set_value(("hotel", "zh")).run()
    at.segmented_control(key="pt_cell").set_value("gru").run()
    traced(at)
    at.slider(key="pt_thr_tanh").set_value(0.0).run()
    assert not at.exception and not at.error
    units = next(m.value for m in at.markdown if "个单元在“" in m.value)
    phrase = units.split("“")[1].split("”")[0]
    assert phrase and " " not in phrase
    rows = [m.value for m in at.markdown if m.value.startswith("- ") and "评论 #" in m.value]
    assert rows and all(("负面" in r or "正面" in r) for r in rows)
    assert all(" " not in r.split("**")[1] for r in rows)  # the bold phrase


def own_csv(n: int = 60) -> bytes:
    """Reviews written for this test (not from a dataset): clearly positive or negative, with a header."""
    good = ["a wonderful film, I loved every minute", "great acting and a moving story", "funny, warm and beautifully shot"]
    bad = ["a boring film, I hated every minute", "awful acting and a silly story", "dull, cold and badly shot"]
    rows = [f"{i % 2},{(good if i % 2 else bad)[i % 3]} ({i})" for i in range(n)]
    return ("label,text\n" + "\n".join(rows) + "\n").encode()


@pytest.mark.slow
def test_own_csv_is_traced_and_its_reviews_offered(env):
    """The person's own labelled reviews: traced (progress, cache) and the sample's reviews are theirs."""
    at = open_page()
    at.radio(key="pt_data").set_value("upload").run()
    at.file_uploader(key="pt_upload").upload("mine.csv", own_csv(), "text/csv").run()
    assert not at.exception, at.exception
    assert any("60 labelled reviews (30 positive, 30 negative)" in c.value for c in at.caption)
    at.number_input(key="pt_n").set_value(20).run()
    at.button(key="pt_trace").click().run()
    assert not at.exception, at.exception
    assert any(c.value.startswith("20 of your reviews (") for c in at.caption), [c.value for c in at.caption]
    cached = [d for d in (env / "cache" / "patterns").iterdir() if "upload-" in d.name]
    assert len(cached) == 1
    bt = patterns.load_dir(cached[0])
    assert bt.n == 20 and set(bt.labels.tolist()) <= {0, 1}
    assert "wonderful" in " ".join(" ".join(bt.review_tokens(i)) for i in range(bt.n)) or \
        "boring" in " ".join(" ".join(bt.review_tokens(i)) for i in range(bt.n))


@pytest.mark.slow
def test_bad_own_csv_is_refused_and_nothing_traced(env):
    """Bad input tried: star ratings instead of binary labels."""
    at = open_page()
    cache = env / "cache" / "patterns"
    before = sorted(cache.iterdir()) if cache.exists() else []  # the test split's quick sample, traced on opening
    at.radio(key="pt_data").set_value("upload").run()
    at.file_uploader(key="pt_upload").upload("stars.csv", b"stars,review\n5,great\n1,bad\n3,meh\n", "text/csv").run()
    assert not at.exception
    assert any("cannot be used" in e.value for e in at.error), [e.value for e in at.error]
    assert "pt_trace" not in [b.key for b in at.button]
    assert (sorted(cache.iterdir()) if cache.exists() else []) == before  # nothing of the upload traced


@pytest.mark.slow
def test_chinese_csv_for_an_english_model_is_warned(env):
    at = open_page()
    at.radio(key="pt_data").set_value("upload").run()
    rows = "\n".join(f"{i % 2},{'房间很干净，服务很好' if i % 2 else '太吵了，再也不来'}{i}" for i in range(40))
    at.file_uploader(key="pt_upload").upload("zh.csv", ("label,review\n" + rows).encode(), "text/csv").run()
    assert any("look Chinese" in w.value for w in at.warning), [w.value for w in at.warning]


@pytest.mark.slow
def test_no_unit_above_the_threshold_offers_one_that_selects_some(env):
    """A threshold no unit reaches over the range: the message, and a button with the highest
    threshold that keeps three units; clicking it selects them."""
    at = traced(open_page())
    at.selectbox(key="pt_gate").set_value("f").run()
    at.select_slider(key="pt_span").set_value((0, 6)).run()
    at.slider(key="pt_thr_sigmoid").set_value(1.0).run()
    assert any("No unit stays above 1" in i.value for i in at.info), [i.value for i in at.info]
    bt = patterns.cached(checkpoint.load(MODEL), N)
    values = bt.review(at.selectbox(key="pt_review").value, (0, "forward", "f"))
    thr = patterns.threshold_for(values, 0, 6)
    at.button(key="pt_suggest").click().run()
    assert not at.exception
    assert at.slider(key="pt_thr_sigmoid").value == pytest.approx(thr)
    assert any(f"units stay above {thr:g}" in m.value for m in at.markdown)


# ---- what stays on screen after a switch, and the review the page opens on -------------------------------
# A browser holds a choice widget's value as its label, and Streamlit sends a value only with ``set_value``:
# without it the browser keeps the label it showed, even one no option has any more (then a selectbox shows
# that old text, and a radio shows nothing chosen). ``Shown`` follows what a browser shows from run to run.

HOTEL = ROOT / "assets" / "models" / "hotel-lstm-max"
CJK = re.compile(r"[\u4e00-\u9fff]")


class Shown:
    """The label a browser shows for each selectbox and radio of the page, run after run."""

    def __init__(self, at: AppTest):
        self.labels: dict[str, str] = {}
        self.after(at)

    def after(self, at: AppTest) -> dict[str, str]:
        for w in [*at.selectbox, *at.radio]:
            p = w.proto
            if p.set_value:
                self.labels[w.key] = p.raw_value
            elif w.key not in self.labels:  # drawn for the first time: its default option
                self.labels[w.key] = p.options[p.default]
        return self.labels


def switch_language(at: AppTest, language: str) -> AppTest:
    at.session_state["lang"] = language  # what the sidebar's switch sets (tests/test_app_paths.py)
    at.run()
    assert not at.exception, at.exception
    return at


def opening_of(model: Path) -> int:
    """The review a page opens on in the model's quick sample: the first of at least 20 tokens."""
    bt = patterns.cached(checkpoint.load(model), patterns.QUICK_SAMPLE, quick=True)
    return next(i for i, n in enumerate(bt.lengths.tolist()) if n >= 20)


@pytest.mark.slow
def test_after_switching_to_english_every_choice_shows_one_of_its_english_options(env):
    """中文 → English: each selectbox and radio shows one of its options, in English: no Chinese label left
    over, and "Reviews to trace" has its option chosen (it showed none)."""
    at = open_page("zh")
    shown = Shown(at)
    assert shown.labels["pt_data"] == "模型的测试集"
    switch_language(at, "en")
    labels = shown.after(at)
    for w in [*at.selectbox, *at.radio]:
        assert labels[w.key] in w.options, (w.key, labels[w.key], w.options)
    assert labels["pt_data"] == "The model's test split"
    assert labels["pt_dataset"] == "hotel · Chinese" and labels["pt_gate"] == "h_t · hidden state"
    assert " · Positive · " in labels["pt_review"] or " · Negative · " in labels["pt_review"]
    assert not [k for k, v in labels.items() if CJK.search(v) and k != "pt_review"]  # the review's own words may be Chinese


@pytest.mark.slow
def test_after_switching_the_language_the_same_tab_stays_open(env):
    """The open tab is kept by its label: "单元与词" becomes "Unit words", not the first tab."""
    at = open_page("zh")
    at.session_state["pt_tab"] = "单元与词"
    at.run()
    switch_language(at, "en")
    assert at.session_state["pt_tab"] == "Unit words"


@pytest.mark.slow
def test_switching_the_dataset_shows_a_review_of_the_new_sample_the_one_its_page_opens_on(env):
    """IMDB → hotel: the review picker shows a review of the hotel sample (not the IMDB review's label), the
    same one a page opened on hotel shows; the token range is read on that review's tokens."""
    at = open_page()
    shown = Shown(at)
    imdb_review = shown.labels["pt_review"]
    at.selectbox(key="pt_dataset").set_value(("hotel", "zh")).run()
    assert not at.exception, at.exception
    review = at.selectbox(key="pt_review")
    label = shown.after(at)["pt_review"]
    assert label != imdb_review and label in review.options
    assert review.value == opening_of(HOTEL) and label == review.options[review.value]
    bt = patterns.cached(checkpoint.load(HOTEL), patterns.QUICK_SAMPLE, quick=True)
    span = at.select_slider(key="pt_span")
    assert span.options == [f"{i}: {tok}" for i, tok in enumerate(bt.review_tokens(review.value))]


# ---- the review the page opens on, whichever way the person came ----------------------------------------

LESSON = "The plot was thin but the acting was wonderful and I was not bored at all."


def on_page(at: AppTest, name: str) -> AppTest:
    """The person goes to another page of the same session ("explore"), or back to Patterns ("patterns")."""
    at.session_state["test_page"] = name
    at.run()
    assert not at.exception, at.exception
    return at


def heat_tokens(at: AppTest) -> list[str]:
    heat = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "review_heatmap" in c.proto.spec)
    return heat["layout"]["meta"]["tokens"]


@pytest.mark.slow
def test_coming_from_explore_opens_on_the_review_and_model_explore_showed(env):
    """The lesson's review, followed between pages: Patterns opens on it as the person's own review, traced by
    the lesson's model (a GRU here), its units matched over that model's sample."""
    at = AppTest.from_file(str(ROOT / "tests" / "_patterns_page.py"), default_timeout=90)
    at.session_state["ex_text"], at.session_state["ex_cell"] = LESSON, "gru"
    on_page(at, "explore")
    on_page(at, "patterns")
    assert at.segmented_control(key="pt_source").value == "own"
    assert at.text_area(key="pt_text").value == LESSON
    assert at.segmented_control(key="pt_cell").value == "gru"
    tr = probe.trace(checkpoint.load(ROOT / "assets" / "models" / "imdb-gru-max"), LESSON, prefix=False, occlusion=False)
    assert heat_tokens(at) == tr.tokens


@pytest.mark.slow
def test_a_link_opens_on_its_review_and_model(env):
    """/patterns?model=imdb-gru-max&text=...: the link's review, as the person's own, on the link's model."""
    at = AppTest.from_file(str(ROOT / "tests" / "_patterns_page.py"), default_timeout=90)
    at.query_params.update({"model": "imdb-gru-max", "text": LESSON})
    at.run()
    assert not at.exception, at.exception
    assert at.segmented_control(key="pt_source").value == "own"
    assert at.text_area(key="pt_text").value == LESSON and at.segmented_control(key="pt_cell").value == "gru"


@pytest.mark.slow
def test_with_no_review_to_follow_the_page_opens_on_the_same_default_review_each_time(env):
    """Typed /patterns, again in another session, or a link that names no review: the sample's first review
    of at least 20 tokens, on the same range and threshold."""
    def opened(at: AppTest) -> tuple:
        kind = "tanh" if at.selectbox(key="pt_gate").value == "h" else "sigmoid"
        return (at.segmented_control(key="pt_source").value, at.selectbox(key="pt_review").value,
                at.select_slider(key="pt_span").value, at.slider(key=f"pt_thr_{kind}").value)

    first, again = opened(open_page()), opened(open_page())
    link = AppTest.from_file(str(ROOT / "tests" / "_patterns_page.py"), default_timeout=90)
    link.query_params.update({"model": "imdb-lstm-max"})
    link.run()
    assert first == again == opened(link)
    assert first[:2] == ("sample", opening_of(MODEL))


@pytest.mark.slow
def test_back_from_another_page_the_page_shows_what_the_person_left(env):
    """The sample, the review picked in it, the range and the threshold are kept while the person is on
    another page (where the lesson's review did not change)."""
    at = AppTest.from_file(str(ROOT / "tests" / "_patterns_page.py"), default_timeout=90)
    on_page(at, "explore")
    on_page(at, "patterns")  # follows Explore's review; the person goes back to the sample's reviews
    at.segmented_control(key="pt_source").set_value("sample").run()
    traced(at)
    at.selectbox(key="pt_review").set_value(N - 3).run()
    at.selectbox(key="pt_gate").set_value("f").run()
    at.select_slider(key="pt_span").set_value((1, 3)).run()
    at.slider(key="pt_thr_sigmoid").set_value(0.7).run()
    left = heat_tokens(at)
    on_page(at, "explore")
    on_page(at, "patterns")
    assert at.number_input(key="pt_n").value == N
    assert at.segmented_control(key="pt_source").value == "sample" and at.selectbox(key="pt_review").value == N - 3
    assert heat_tokens(at) == left
    assert at.select_slider(key="pt_span").value == (1, 3) and at.slider(key="pt_thr_sigmoid").value == pytest.approx(0.7)
