"""The Train page fetches a missing dataset: a button per official dataset, a progress bar, the
checksum checked; afterwards the dataset is offered for a run. Without network it says so and
nothing changes. (A local HTTP server stands in for the official source.)"""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_app_train import page

from sentiment.data import download, readers

ROOT = Path(__file__).resolve().parent.parent
CSV = ("label,review\n" + "1,房间干净，服务很好，下次还来\n0,隔音太差，一夜没睡，再也不来\n" * 200).encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", str(len(CSV)))
        self.end_headers()
        self.wfile.write(CSV)

    def log_message(self, *args):
        pass


@pytest.fixture
def empty_data(tmp_path, monkeypatch):
    """No dataset anywhere: the data folder is an empty temp folder (downloads go there too)."""
    folder = tmp_path / "data"
    monkeypatch.setenv("GATESCOPE_DATA", str(folder))
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(readers, "data_dirs", lambda: [folder])
    return folder


def serve(monkeypatch, url: str | None = None) -> None:
    if url is None:
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{httpd.server_address[1]}/ChnSentiCorp_htl_all.csv"
    monkeypatch.setitem(download.SOURCES, "hotel", download.Source(
        "hotel", "ChnSentiCorp (test copy)", url, "ChnSentiCorp_htl_all.csv", hashlib.sha256(CSV).hexdigest(), len(CSV)))


def test_missing_datasets_offer_a_download(empty_data):
    at = page()
    labels = [b.label for b in at.button]
    assert any("Download imdb (84 MB)" in x for x in labels) and any("Download hotel (3 MB)" in x for x in labels)
    assert "tr_dataset" not in [s.key for s in at.selectbox]  # nothing to train on yet
    assert any("No dataset found" in i.value for i in at.info)


@pytest.mark.slow
def test_download_from_the_page_makes_the_dataset_available(empty_data, monkeypatch):
    serve(monkeypatch)
    at = page()
    at.button(key="tr_dl_hotel").click().run()
    assert not at.exception, at.exception
    assert any("downloaded and checked" in s.value for s in at.success), [s.value for s in at.success]
    assert (empty_data / "ChnSentiCorp_htl_all.csv").read_bytes() == CSV
    assert at.selectbox(key="tr_dataset").value == "hotel"
    assert sorted(p.name for p in empty_data.iterdir()) == ["ChnSentiCorp_htl_all.csv"]  # no partial file
    at.run()  # next visit: found, no button
    assert "tr_dl_hotel" not in [b.key for b in at.button]


@pytest.mark.slow
def test_no_network_says_so_and_changes_nothing(empty_data, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    serve(monkeypatch, f"http://127.0.0.1:{port}/ChnSentiCorp_htl_all.csv")  # nobody listens
    at = page()
    at.button(key="tr_dl_hotel").click().run()
    assert not at.exception
    assert any("Download failed" in e.value and "No network" in e.value for e in at.error), [e.value for e in at.error]
    assert not empty_data.exists() or list(empty_data.iterdir()) == []
    assert "tr_dl_hotel" in [b.key for b in at.button]  # still offered


def test_chinese_interface(empty_data):
    at = AppTest.from_file(str(ROOT / "tests" / "_train_page.py"), default_timeout=60)
    at.session_state["lang"] = "zh"
    at.run()
    assert any("下载 hotel" in b.label for b in at.button), [b.label for b in at.button]
