"""Several GateScope servers behind a reverse proxy (README, "Several servers behind a reverse proxy"):
two `streamlit run app.py` on localhost behind nginx with docs/nginx-gatescope.conf. A browser's
requests stay on one server (its cookie), new browsers are spread over both, and Streamlit's websocket
is upgraded through the proxy. Skipped where nginx is not installed (apt-get install nginx), a
failure in CI."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "docs" / "nginx-gatescope.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[:4]} exited with {proc.returncode}")
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer")


def _nginx_conf(tmp: Path, proxy: int, a: int, b: int) -> Path:
    """docs/nginx-gatescope.conf with this test's ports, inside a main config nginx can run unprivileged."""
    site = CONF.read_text().replace("8080", str(proxy)).replace("8501", str(a)).replace("8502", str(b))
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / d).mkdir(exist_ok=True)
    main = f"""
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
worker_processes 1;
events {{ worker_connections 256; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
{site}
}}
"""
    out = tmp / "nginx.conf"
    out.write_text(main)
    return out


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    if not Path(NGINX).exists():
        if os.environ.get("CI"):
            pytest.fail("CI needs nginx (apt-get install nginx)")
        pytest.skip("no nginx here (apt-get install nginx)")
    tmp = tmp_path_factory.mktemp("proxy")
    runs = tmp / "runs"  # one runs folder for both servers
    ports = [_free_port(), _free_port()]
    env = dict(os.environ, GATESCOPE_RUNS=str(runs), STREAMLIT_SERVER_COOKIE_SECRET="one-secret-for-the-class")
    servers = [subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                                 "--server.port", str(p), "--server.address", "127.0.0.1",
                                 "--browser.gatherUsageStats", "false"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for p in ports]
    port = _free_port()
    conf = _nginx_conf(tmp, port, *ports)
    nginx = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for p, s in zip(ports, servers):
            _wait(f"http://127.0.0.1:{p}/_stcore/health", s)
        _wait(f"http://127.0.0.1:{port}/_stcore/health", nginx, 20)
        yield port, ports
    finally:
        for proc in [nginx, *servers]:
            proc.terminate()
        for proc in [nginx, *servers]:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _get(port: int, path: str, cookie: str | None = None) -> tuple[int, str, str | None]:
    """(status, the server that answered, the sticky cookie set)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    r = conn.getresponse()
    r.read()
    set_cookie = r.getheader("Set-Cookie") or ""
    m = re.search(r"gatescope_server=([^;]+)", set_cookie)
    conn.close()
    return r.status, r.getheader("X-GateScope-Upstream") or "", m.group(1) if m else None


def test_a_browser_stays_on_one_server(proxy):
    port, _ = proxy
    status, first, key = _get(port, "/")
    assert status == 200 and key
    for path in ["/", "/_stcore/health", "/_stcore/host-config", "/explore"] * 3:
        status, upstream, _ = _get(port, path, cookie=f"gatescope_server={key}")
        assert status == 200 and upstream == first


def test_new_browsers_are_spread_over_both_servers(proxy):
    port, ports = proxy
    seen = {_get(port, "/_stcore/health")[1] for _ in range(40)}
    assert seen == {f"127.0.0.1:{p}" for p in ports}


def test_the_websocket_is_upgraded_through_the_proxy(proxy):
    port, _ = proxy
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: streamlit\r\nCookie: gatescope_server=abc\r\n\r\n").encode())
        head = s.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 101"), head.splitlines()[0]
