"""Two GateScope servers behind nginx, as docs/proxy/nginx.conf sets them up for a class larger than one
server process: two `streamlit run app.py` on free ports sharing one runs folder, and nginx (run
unprivileged, its prefix in a tmp dir) in front with the docs' config, its ports filled in and an
``X-Upstream`` header added so the test can see which server answered.

The proxy answers the health check; a browser's session (page, websocket, chart) works through it; one
client sticks to one server while a class is spread over both; a run launched on the shared runs root is
listed on the Train page of each server. Skipped without nginx or Chromium (failed in CI).
"""

from __future__ import annotations

import http.cookiejar
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from sentiment.training import runs

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "docs" / "proxy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--no-sandbox"]
COOKIE = "gatescope_route"
TINY = dict(hidden=8, embed=8, max_len=20, min_freq=1, batch_size=16, epochs=200, patience=1000)  # trains a minute

# the text somewhere in the page: in an element (shown or not, as the table's off-screen columns) or an input's value
SHOWS = """id => document.documentElement.textContent.includes(id)
                || [...document.querySelectorAll('input')].some(i => (i.value || '').includes(id))"""

pytestmark = pytest.mark.slow


def _need(path: str, what: str) -> None:
    if Path(path).exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI needs {what}")
    pytest.skip(f"no {what} here")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_health(url: str, proc: subprocess.Popen, what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.3)
    out = proc.stdout.read().decode(errors="replace")[-2000:] if proc.poll() is not None and proc.stdout else ""
    pytest.fail(f"{what} did not answer {url}/_stcore/health: {out}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def proxy_config(listen: int, upstreams: list[int]) -> str:
    """docs/proxy/nginx.conf with the test's ports, plus the header that names the server that answered."""
    text = CONF.read_text()
    swaps = [("listen 8080;", f"listen 127.0.0.1:{listen};"),
             ("server 127.0.0.1:8501;", f"server 127.0.0.1:{upstreams[0]};"),
             ("server 127.0.0.1:8502;", f"server 127.0.0.1:{upstreams[1]};"),
             ("add_header Set-Cookie $gatescope_route_cookie;",
              "add_header Set-Cookie $gatescope_route_cookie;\n            add_header X-Upstream $upstream_addr always;")]
    for old, new in swaps:
        assert text.count(old) == 1, f"docs/proxy/nginx.conf no longer has exactly one {old!r}"
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def shared_runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("shared-runs")


@pytest.fixture(scope="module")
def servers(shared_runs) -> list[str]:
    """Two `streamlit run app.py` on free ports, one runs folder: their addresses, "127.0.0.1:PORT"."""
    env = dict(os.environ, GATESCOPE_RUNS=str(shared_runs))
    env.setdefault("GATESCOPE_DATA", str(ROOT.parent / "shared" / "data"))
    ports = [_free_port(), _free_port()]
    # each server's output goes to a file: an unread pipe fills and blocks a server that logs
    logs = [open(shared_runs.parent / f"server-{p}.log", "wb") for p in ports]
    procs = [subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(p),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT) for p, log in zip(ports, logs)]
    try:
        for p, proc in zip(ports, procs):
            _wait_health(f"http://127.0.0.1:{p}", proc, "streamlit")
        yield [f"127.0.0.1:{p}" for p in ports]
    finally:
        for proc in procs:
            _stop(proc)
        for log in logs:
            log.close()


@pytest.fixture(scope="module")
def proxy(servers, tmp_path_factory) -> str:
    """nginx in front of the two servers, with the docs' config: the proxy's URL."""
    _need(NGINX, "nginx (apt-get install nginx)")
    prefix = tmp_path_factory.mktemp("nginx")
    (prefix / "logs").mkdir()
    (prefix / "temp").mkdir()
    port = _free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(proxy_config(port, [int(s.rsplit(":", 1)[1]) for s in servers]))
    proc = subprocess.Popen([NGINX, "-p", str(prefix), "-e", "logs/error.log", "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_health(url, proc, "nginx", seconds=20)
        yield url
    finally:
        _stop(proc)


def get(url: str, cookie: str | None = None, opener=None):
    """(status, headers, body) of a GET, with an optional route cookie."""
    req = urllib.request.Request(url, headers={"Cookie": f"{COOKIE}={cookie}"} if cookie else {})
    with (opener or urllib.request.build_opener()).open(req, timeout=30) as r:
        return r.status, r.headers, r.read()


def route_keys(proxy: str, servers: list[str]) -> dict[str, str]:
    """A route cookie value for each server (found by asking the proxy which server a value reaches)."""
    keys: dict[str, str] = {}
    for i in range(200):
        key = f"pin-{i}"
        keys.setdefault(get(proxy + "/_stcore/health", key)[1]["X-Upstream"], key)
        if set(keys) >= set(servers):
            return keys
    raise AssertionError(f"200 route cookies reached only {sorted(keys)}")


def test_the_proxy_answers_the_health_check_from_one_of_the_servers(proxy, servers):
    status, headers, body = get(proxy + "/_stcore/health")
    assert (status, body) == (200, b"ok")
    assert headers["X-Upstream"] in servers


def test_one_client_sticks_to_one_server_and_a_class_is_spread_over_both(proxy, servers):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    first = get(proxy + "/", opener=opener)[1]
    assert COOKIE in (first.get("Set-Cookie") or ""), "the first answer gives the browser its route cookie"
    seen = {get(proxy + path, opener=opener)[1]["X-Upstream"]
            for path in ["/", "/_stcore/health", "/_stcore/host-config"] * 4}
    assert seen == {first["X-Upstream"]}
    again = get(proxy + "/", opener=opener)[1]
    assert "Set-Cookie" not in again, "a browser that has the cookie is not given another"
    # thirty students, thirty fresh browsers: both servers get some
    class_ = [get(proxy + "/_stcore/health")[1]["X-Upstream"] for _ in range(30)]
    assert set(class_) == set(servers), class_


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module's browser tests."""
    _need(CHROMIUM, "Chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("/nonexistent", "playwright (requirements-dev.txt)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.mark.browser
def test_explore_draws_its_chart_through_the_proxy_over_a_websocket(proxy, servers, browser):
    port = proxy.rsplit(":", 1)[1]
    text = urllib.parse.quote("the movie was not bad at all, I loved it")
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    try:
        page = context.new_page()
        page.set_default_timeout(180_000)  # minutes only on a loaded machine; seconds idle
        with page.expect_websocket(lambda ws: "/_stcore/stream" in ws.url) as opened:
            response = page.goto(f"{proxy}/?model=imdb-lstm-max&text={text}")
        assert response.headers["x-upstream"] in servers
        socket_ = opened.value
        assert socket_.url == f"ws://127.0.0.1:{port}/_stcore/stream"
        page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg")  # drawn from the session's messages
        assert not socket_.is_closed()
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        context.close()


def tiny_csv(path: Path, n: int = 60) -> Path:
    rng = random.Random(0)
    pos, neg = "good great fine lovely superb".split(), "bad awful poor dull terrible".split()
    rows = [f'{i % 2},"the film was {rng.choice(pos if i % 2 else neg)}, really {rng.choice(pos if i % 2 else neg)}"'
            for i in range(n)]
    path.write_text("label,review\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.browser
def test_a_run_launched_on_the_shared_root_is_listed_by_both_servers(proxy, servers, shared_runs, browser, tmp_path):
    """What one server launches (runs.launch on its runs root) the other lists: each server's Train page,
    reached through the proxy by a browser pinned to it, shows the run. (The run is cancelled at once:
    the list shows runs in every state, and the test's CPU goes to the pages.)"""
    keys = route_keys(proxy, servers)
    run = runs.launch(dict(TINY, data=str(tiny_csv(tmp_path / "tiny.csv")), name="proxy-run"),
                      runs.RunLimits(nice=10), root=shared_runs)
    runs.cancel(run.id, grace=1, root=shared_runs)
    for server in servers:
        context = browser.new_context(viewport={"width": 1400, "height": 1200})
        try:
            context.add_cookies([{"name": COOKIE, "value": keys[server], "url": proxy}])
            page = context.new_page()
            page.set_default_timeout(180_000)
            response = page.goto(f"{proxy}/train")
            assert response.headers["x-upstream"] == server
            page.get_by_text("proxy-run").first.wait_for(state="attached")
            page.wait_for_function(SHOWS, arg=run.id)  # in the runs table or the run picker
            assert page.locator("[data-testid='stException']").count() == 0
        finally:
            context.close()
