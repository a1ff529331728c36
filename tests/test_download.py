"""Fetching a dataset: checked by size and sha256, atomic, and a clear message for every failure.

A local HTTP server stands in for the official sources (CI has no internet). Bad cases tried: the
server unreachable (no network), HTTP 404, a file whose checksum is wrong, a connection cut
half-way, an unknown dataset name, a data folder that cannot be created. After each, the data
folder holds no file, complete or partial."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest

from sentiment.data import download
from sentiment.data.download import DownloadError, Source

PAYLOAD = ("label,review\n" + "1,房间干净，服务很好\n0,太吵了，再也不来\n" * 5000).encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = PAYLOAD
        if self.path == "/missing.csv":
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/cut.csv":  # promise all, send half, hang up
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serve(handler):
    """A local HTTP server with this handler, for a module's tests: yields its base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def server():
    yield from _serve(_Handler)


def source(url: str, sha: str | None = None, size: int | None = None) -> Source:
    return Source("hotel", "test", url, "ChnSentiCorp_htl_all.csv", sha or hashlib.sha256(PAYLOAD).hexdigest(),
                  len(PAYLOAD) if size is None else size)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_saves_the_checked_file_and_reports_progress(server, tmp_path):
    seen = []
    path = download.download("hotel", tmp_path, progress=lambda done, total: seen.append((done, total)),
                             source=source(f"{server}/ok.csv"))
    assert path == tmp_path / "ChnSentiCorp_htl_all.csv" and path.read_bytes() == PAYLOAD
    assert leftovers(tmp_path) == ["ChnSentiCorp_htl_all.csv"]  # no temporary file left
    assert seen[0] == (0, len(PAYLOAD)) and seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) > 2


def test_downloaded_csv_is_a_dataset_the_loader_reads(server, tmp_path, monkeypatch):
    download.download("hotel", tmp_path, source=source(f"{server}/ok.csv"))
    monkeypatch.setenv("GATESCOPE_DATA", str(tmp_path))
    from sentiment.data import readers
    assert readers.find_dataset("hotel") == tmp_path / "ChnSentiCorp_htl_all.csv"
    assert len(readers.load(readers.find_dataset("hotel")).examples) == 10_000


def test_existing_dataset_is_not_fetched_again(tmp_path):
    (tmp_path / "ChnSentiCorp_htl_all.csv").write_bytes(b"mine")
    path = download.download("hotel", tmp_path, source=source("http://127.0.0.1:9/never"))
    assert path.read_bytes() == b"mine"


def test_wrong_checksum_saves_nothing(server, tmp_path):
    with pytest.raises(DownloadError, match="does not match its published sha256.*Nothing was saved"):
        download.download("hotel", tmp_path, source=source(f"{server}/ok.csv", sha="0" * 64))
    assert leftovers(tmp_path) == []


def test_wrong_size_saves_nothing(server, tmp_path):
    with pytest.raises(DownloadError, match="published file has"):
        download.download("hotel", tmp_path, source=source(f"{server}/ok.csv", size=len(PAYLOAD) + 1))
    assert leftovers(tmp_path) == []


def test_no_network_is_said_plainly(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match="No network: could not reach 127.0.0.1.*Nothing was saved") as e:
        download.download("hotel", tmp_path, source=source(f"http://127.0.0.1:{port}/x.csv"), timeout=5)
    assert "ChnSentiCorp_htl_all.csv" in str(e.value)  # says what to fetch by hand
    assert leftovers(tmp_path) == []


def test_unknown_host_is_no_network(tmp_path):
    with pytest.raises(DownloadError, match="No network"):
        download.download("hotel", tmp_path, source=source("http://no-such-host.invalid/x.csv"), timeout=5)
    assert leftovers(tmp_path) == []


def test_http_error_is_named(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download.download("hotel", tmp_path, source=source(f"{server}/missing.csv"))
    assert leftovers(tmp_path) == []


def test_cut_connection_saves_nothing(server, tmp_path):
    with pytest.raises(DownloadError, match="Nothing was saved"):
        download.download("hotel", tmp_path, source=source(f"{server}/cut.csv"), timeout=5)
    assert leftovers(tmp_path) == []


def test_unknown_dataset_name(tmp_path):
    with pytest.raises(DownloadError, match="Unknown dataset 'mnist'"):
        download.download("mnist", tmp_path)
    assert leftovers(tmp_path) == []


def test_data_folder_that_cannot_be_made(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DownloadError, match="Cannot create the data folder"):
        download.download("hotel", blocker / "data", source=source("http://127.0.0.1:9/x"))


def test_sources_are_the_official_files():
    assert download.SOURCES["imdb"].url == "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
    assert download.SOURCES["imdb"].sha256.startswith("c40f74a18d3b61f9")
    from sentiment.data import readers
    for name, src in download.SOURCES.items():
        assert src.filename in readers.KNOWN_FILES[name]


def test_shared_hotel_file_matches_the_published_checksum(data_dir):
    """The copy in ../shared/data is byte for byte the file the download checks against."""
    p = Path(data_dir) / "ChnSentiCorp_htl_all.csv"
    if not p.exists():
        pytest.skip("no shared ChnSentiCorp")
    assert hashlib.sha256(p.read_bytes()).hexdigest() == download.SOURCES["hotel"].sha256
    assert p.stat().st_size == download.SOURCES["hotel"].size


def test_cli_without_network_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(download.SOURCES, "hotel", source("http://127.0.0.1:9/x.csv"))
    assert download.main(["hotel", "--dir", str(tmp_path)]) == 2
    assert "error: No network" in capsys.readouterr().err
    assert leftovers(tmp_path) == []


class _Chunked(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.path == "/too-much.csv":  # complete, but longer than the published file
            body = PAYLOAD + b"x" * 1000
            self.wfile.write(f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
            return
        self.wfile.write(f"{len(PAYLOAD):x}\r\n".encode() + PAYLOAD[:100])  # a chunk cut short, then hang up
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def chunked():
    yield from _serve(_Chunked)


def test_cut_chunked_download_is_a_message_not_a_traceback(chunked, tmp_path):
    with pytest.raises(DownloadError, match="Nothing was saved"):
        download.download("hotel", tmp_path, source=source(f"{chunked}/cut.csv"), timeout=5)
    assert leftovers(tmp_path) == []


def test_more_bytes_than_published_are_refused(chunked, tmp_path):
    with pytest.raises(DownloadError, match="sent more than the published"):
        download.download("hotel", tmp_path, source=source(f"{chunked}/too-much.csv"), timeout=5)
    assert leftovers(tmp_path) == []
