"""In a real browser: upload a Keras model and its word index on the Models page ("Open your own
model"), see the detected structure, convert it, then pick it in Explore and see its heatmaps, the
front padding it reads on their token axis. Skipped without Chromium (as tests/test_browser.py)."""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is imported: no TensorFlow

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from test_browser import no_exception, page, server, shots_dir, wait_idle  # noqa: E402,F401,F811  (fixtures)

keras = pytest.importorskip("keras", reason="Keras (on torch) computes these tests' expected numbers: pip install -e .[dev]")
from keras import layers  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

try:
    from playwright.sync_api import expect
except ImportError:
    expect = None


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("upload")
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((40,), dtype="int32"), layers.Embedding(80, 8), layers.LSTM(6),
                          layers.Dense(1, activation="sigmoid")])
    rng = np.random.default_rng(0)
    m.set_weights([w + rng.normal(0, 0.3, w.shape).astype("float32") for w in m.get_weights()])
    m.save(d / "student.keras")
    words = "the film was good bad great awful not at all plot acting i loved hated it".split()
    words += [f"word{i}" for i in range(80 - len(words))]  # the index covers the embedding's 80 rows
    (d / "word_index.json").write_text(json.dumps({w: i + 1 for i, w in enumerate(words)}))
    return d


def test_upload_a_keras_model_then_see_its_heatmaps_in_explore(page, server, keras_files, tmp_path_factory):  # noqa: F811
    out = shots_dir(tmp_path_factory)
    page.goto(f"{server}/models")
    wait_idle(page)
    page.get_by_text("Open your own model").click()
    uploads = page.locator("[data-testid='stFileUploaderDropzoneInput']")
    uploads.nth(0).set_input_files(str(keras_files / "student.keras"))
    wait_idle(page)
    uploads.nth(1).set_input_files(str(keras_files / "word_index.json"))
    wait_idle(page)
    expect(page.get_by_text("Recurrent: 1 layer(s) of LSTM, 6 units", exact=False)).to_be_visible()
    expect(page.get_by_text("padded at the front and read by the model", exact=False).first).to_be_visible()
    page.get_by_text("Convert anyway, unverified", exact=False).click()  # what the file does not say stays assumed
    wait_idle(page)
    page.get_by_role("button", name="Convert and add to the models").click()
    wait_idle(page)
    expect(page.get_by_text("Added student", exact=False)).to_be_visible()
    no_exception(page)
    page.screenshot(path=str(out / "open-your-own-model.png"))
    page.goto(f"{server}/")
    wait_idle(page)
    page.get_by_role("combobox", name="Dataset").click()
    page.get_by_role("option", name="imported · English").click()
    wait_idle(page)
    box = page.get_by_role("textbox", name="Review (English or Chinese)")
    box.fill("not at all a good film")
    page.get_by_role("button", name="Analyse").click()
    wait_idle(page)
    chart = page.locator("[data-testid='stPlotlyChart'] .main-svg").first
    expect(chart).to_be_visible(timeout=60_000)
    no_exception(page)
    x_ticks = page.locator("[data-testid='stPlotlyChart'] g[class^='x'][class$='tick'] text")  # xtick, x2tick, ... x6tick
    expect(x_ticks.filter(has_text="<pad>").first).to_be_attached(timeout=60_000)
    ticks = x_ticks.all_text_contents()
    assert "<pad>" in ticks and "<start>" in ticks
    page.screenshot(path=str(out / "imported-explore.png"))
