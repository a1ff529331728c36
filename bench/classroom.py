"""A classroom at once: N browsers open the teacher's shared Explore link together.

Starts `streamlit run app.py` on 127.0.0.1 and drives Debian's Chromium (Playwright): first one
page alone (the baseline, measured in the same run), then N pages at once, each opening the same
link (?model=...&text=...) or, with --distinct, a review of its own (no shared cache). For each page:
seconds from navigation until the prediction and the first gate heatmap are on the page. The
browsers run on the same machine as the server, so on a small machine their own drawing is part of
the figure: read it as an upper bound of what thirty student laptops would see.

    GATESCOPE_DATA=../shared/data python bench/classroom.py [--pages 30] [--distinct] [--model imdb-lstm-max]

Busy mode (``--busy``, no browsers): the server's side of a class on a busy machine, in one process
as Streamlit runs its sessions (threads), through the same path as the Explore page (the serving
queue, the shared trace cache, the figures and their JSON):
1. a fresh 500-token Explore answer (one pass, the full trace for the Reading tab, every figure)
   idle and under ``--busy-procs`` busy torch processes, at the policy's threads and at torch's
   default (one per core): the ratios to idle are the point (target: within 6x at the policy);
2. ``--sessions`` sessions answering a fresh 100-word review each at once, alone and while a
   training run started through the runs launcher trains (target: p95 <= 3 s); the run's epochs
   or steps before and after show that it still progresses. Timed twice per answer: the answer to
   Analyse (prediction and the Gates tab: the page computes only the open tab) and every tab (as if
   each student also opened Pooling, Saturation and Reading at that moment).

    GATESCOPE_DATA=../shared/data python -m bench.classroom --busy [--sessions 20] [--busy-procs 3] [--no-train]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent  # the checkout: streamlit runs its app.py
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--no-first-run", "--no-sandbox"]
# Written for this benchmark (no dataset text).
REVIEW = ("Not bad at all: the acting was wonderful and the music lovely, though the ending dragged a little "
          "and the middle hour felt long.")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far (Linux /proc)."""
    if not pid:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    sys.exit("streamlit did not start")


async def open_link(browser, url: str, timeout_s: float) -> float:
    """Seconds until the page shows a prediction and a drawn heatmap with a token of the review."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    t0 = time.perf_counter()
    try:
        await page.goto(url, timeout=timeout_s * 1000)
        await page.locator("[data-testid='stPlotlyChart'] text").filter(has_text="acting").first.wait_for(
            state="attached", timeout=timeout_s * 1000)
        await page.get_by_text("positive", exact=False).first.wait_for(timeout=timeout_s * 1000)
        return time.perf_counter() - t0
    finally:
        await context.close()


async def run(args: argparse.Namespace, url: str, server_pid: int) -> None:
    from playwright.async_api import async_playwright

    def link(i: int | None) -> str:
        text = REVIEW if i is None or not args.distinct else f"{REVIEW} Seen by student {i + 1}."
        return f"{url}/?model={args.model}&text={quote(text)}"

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        await open_link(browser, link(None), args.timeout)  # the first visit loads the model
        c0 = cpu_seconds(server_pid)
        alone = await open_link(browser, link(None), args.timeout)
        c1 = cpu_seconds(server_pid)
        t0 = time.perf_counter()
        results = await asyncio.gather(*(open_link(browser, link(i), args.timeout) for i in range(args.pages)),
                                       return_exceptions=True)
        wall = time.perf_counter() - t0
        c2 = cpu_seconds(server_pid)
        await browser.close()
    times = sorted(r for r in results if isinstance(r, float))
    failed = [r for r in results if not isinstance(r, float)]
    print(f"{args.pages} pages at once ({'a review each' if args.distinct else 'the same link'}), model {args.model}, "
          f"{os.cpu_count()} CPU cores shared by the server and the browsers")
    print("| pages | median s | slowest s | x one page alone |\n|---|---|---|---|")
    print(f"| 1 (baseline) | {alone:.1f} | {alone:.1f} | 1.0x |")
    if times:
        med = statistics.median(times)
        print(f"| {args.pages} at once | {med:.1f} | {times[-1]:.1f} | {med / alone:.1f}x (slowest {times[-1] / alone:.1f}x) |")
    print(f"all {len(times)} pages drawn within {wall:.1f} s" + (f"; {len(failed)} failed: {failed[0]!r}" if failed else ""))
    print(f"the server's own CPU time: {c1 - c0:.2f} s for the page alone, {(c2 - c1) / args.pages:.2f} s a page "
          f"for the {args.pages} ({c2 - c1:.1f} s in all); the rest of the wall time is the browsers' and the network's")


# ---- busy mode -----------------------------------------------------------------------------------------

WORDS = ["the", "acting", "was", "wonderful", "but", "the", "plot", "dragged", "and", "i", "was", "bored", "by", "the", "middle", "hour", "though", "the", "music", "was", "lovely", "and", "the", "ending", "made", "up", "for", "most", "of", "it"]


def fresh_review(n_words: int, salt: int) -> str:
    """A review of n_words no session has asked before (the order of words differs per salt)."""
    import random

    rng = random.Random(salt)
    return " ".join(rng.choice(WORDS) for _ in range(n_words))


FIRST_VIEWS: list[float] = []  # seconds until the prediction and the heatmaps were ready, per answer


def explore_answer(ckpt, text: str, cache, every_tab: bool = True) -> float:
    """Seconds for everything the Explore page can compute for a fresh review: what Analyse draws (one
    pass, queued; the Gates tab's heatmaps with the selection marks, as JSON), then the other tabs as if
    the student opened each (the pooling bar, the saturation histogram, the Reading tab's full trace,
    queued, and its figures). The page computes only the open tab (lazy tabs), so the first part is
    the answer to Analyse; its time is appended to FIRST_VIEWS."""
    from sentiment import figures, serving
    from sentiment.figures import marks
    from sentiment.probe.instrument import trace

    t0 = time.perf_counter()
    queue = serving.heavy_queue()
    with queue.slot():
        base = cache.get((text, "pass"), lambda: trace(ckpt, text, prefix=False, occlusion=False))
    gates = list(base.layers[0].gates)
    heat = figures.gate_heatmaps(base, 0, "forward", gates=gates, sort="none", top_k=min(32, base.hidden_size), lang="en")
    marks.mark_selection(heat, 0, 0).to_json()
    FIRST_VIEWS.append(time.perf_counter() - t0)
    if not every_tab:
        return FIRST_VIEWS[-1]
    figures.pooling_bar(base, lang="en").to_json()
    figures.saturation_histogram(base, 0, "forward", lang="en").to_json()
    with queue.slot():
        full = cache.get((text, "full"), lambda: trace(ckpt, text))
    figures.prefix_curve(full, lang="en").to_json()
    figures.attribution_bar(full, "occlusion", lang="en").to_json()
    return time.perf_counter() - t0


def busy_process() -> subprocess.Popen:
    """A torch process keeping the CPU busy at torch's default threads (as a training run or another app)."""
    code = "import torch\na = torch.randn(384, 384)\nwhile True:\n    a = torch.tanh(a @ a)"
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


REPS = 1  # fresh answers per measurement (--reps)


def median_answer(ckpt, n_words: int, salt: int, reps: int | None = None) -> float:
    from sentiment import serving

    times = [explore_answer(ckpt, fresh_review(n_words, salt + r), serving.SharedCache()) for r in range(reps or REPS)]
    print(f"  ({n_words} words: {', '.join(f'{x:.2f} s' for x in times)})")
    return statistics.median(times)


def bench_threads(ckpt, busy: int) -> None:
    """Step 1: a fresh 500-token answer idle and under `busy` torch processes, policy vs default threads."""
    import torch

    from sentiment import serving

    policy, default = serving.interactive_threads(), os.cpu_count() or 1
    rows = []
    for threads in dict.fromkeys((policy, default)):
        torch.set_num_threads(threads)
        print(f"  {threads} torch thread(s), idle:")
        idle = median_answer(ckpt, TOKENS, 100 * threads)
        procs = [busy_process() for _ in range(busy)]
        try:
            time.sleep(1.0)
            print(f"  {threads} torch thread(s), {busy} busy processes:")
            loaded = median_answer(ckpt, TOKENS, 1000 + 100 * threads)
        finally:
            stop(procs)
        rows.append((threads, idle, loaded))
    torch.set_num_threads(policy)
    print(f"\n1. A fresh {TOKENS}-token Explore answer (pass, full trace, figures), {busy} busy torch processes")
    print("| torch threads | idle s | busy s | busy / idle |\n|---|---|---|---|")
    for threads, idle, loaded in rows:
        tag = " (policy)" if threads == policy else " (torch default)"
        print(f"| {threads}{tag} | {idle:.2f} | {loaded:.2f} | {loaded / idle:.1f}x |")


def sessions_at_once(ckpt, n: int, salt: int, every_tab: bool = True) -> list[float]:
    """n sessions (threads of one server process) answering a fresh 100-word review each at once: the
    answer to Analyse only, or with every tab opened."""
    import threading

    from sentiment import serving

    cache, times, go = serving.SharedCache(), [], threading.Event()
    FIRST_VIEWS.clear()

    def session(i: int) -> None:
        go.wait()
        times.append(explore_answer(ckpt, fresh_review(100, salt + i), cache, every_tab))

    threads = [threading.Thread(target=session, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    go.set()
    for th in threads:
        th.join()
    return sorted(times)


def p95(times: list[float]) -> float:
    return times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def launch_training(runs_root: Path) -> str:
    """A training run through the runs launcher (as the Train page starts one); returns its id."""
    env = dict(os.environ, GATESCOPE_RUNS=str(runs_root))
    out = subprocess.run([sys.executable, "-m", "sentiment.runs", "launch", "--data", "hotel", "--epochs", "30",
                          "--limit", "3000", "--max-seconds", "600", "--name", "bench-busy"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        sys.exit(f"the training run did not start: {out.stderr.strip()[-400:]}")
    return out.stdout.strip().splitlines()[-1].split()[-1]


def run_progress(runs_root: Path, run_id: str) -> tuple[int, float]:
    """(lines of the run's metrics so far, CPU seconds its training process has used)."""
    import json

    f = runs_root / run_id / "metrics.jsonl"
    lines = len(f.read_text(encoding="utf-8").splitlines()) if f.is_file() else 0
    try:
        pid = int(json.loads((runs_root / run_id / "status.json").read_text(encoding="utf-8")).get("pid") or 0)
        cpu = cpu_seconds(pid)
    except (OSError, ValueError, TypeError):
        cpu = 0.0
    return lines, cpu


def cancel_training(runs_root: Path, run_id: str) -> None:
    env = dict(os.environ, GATESCOPE_RUNS=str(runs_root))
    subprocess.run([sys.executable, "-m", "sentiment.runs", "cancel", run_id], cwd=ROOT, env=env, capture_output=True, timeout=120)


def bench_sessions(ckpt, n: int, train: bool) -> None:
    """Step 2: n sessions at once, without and with a training run."""
    import tempfile

    alone = median_answer(ckpt, 100, 5000, reps=max(3, REPS))
    alone_first = statistics.median(FIRST_VIEWS[-max(3, REPS):])
    rows = [("1 session alone (baseline): every tab", [alone], alone, ""),
            ("1 session alone (baseline): the answer to Analyse", [alone_first], alone_first, "")]
    rows += [(f"{n} at once: the answer to Analyse", sessions_at_once(ckpt, n, 6000, every_tab=False), alone_first, ""),
             (f"{n} at once: every tab", sessions_at_once(ckpt, n, 6500), alone, "")]
    if train:
        runs_root = Path(tempfile.mkdtemp(prefix="gatescope-bench-runs-"))
        run_id = launch_training(runs_root)
        try:
            for _ in range(120):  # until its training process runs
                if run_progress(runs_root, run_id)[1] > 0:
                    break
                time.sleep(1)
            time.sleep(3)
            for every_tab, what, base in ((False, "the answer to Analyse", alone_first), (True, "every tab", alone)):
                before, t0 = run_progress(runs_root, run_id), time.perf_counter()
                times = sessions_at_once(ckpt, n, 7000 + 500 * every_tab, every_tab)
                after, wall = run_progress(runs_root, run_id), time.perf_counter() - t0
                note = (f"the run used {after[1] - before[1]:.1f} CPU s in those {wall:.1f} s "
                        f"and logged {after[0] - before[0]} metrics lines")
                rows.append((f"{n} at once + a training run: {what}", times, base, note))
        finally:
            cancel_training(runs_root, run_id)
    print(f"\n2. Sessions answering a fresh 100-word review each (one server process, {os.cpu_count()} cores). "
          "The answer to Analyse: the prediction and the Gates tab (the page computes only the open tab); "
          "every tab: each student also opens Pooling, Saturation and Reading at once")
    print("| sessions | median s | p95 s | slowest s | p95 / alone |\n|---|---|---|---|---|")
    for name, times, base, note in rows:
        print(f"| {name} | {statistics.median(times):.2f} | {p95(times):.2f} | {times[-1]:.2f} | {p95(times) / base:.1f}x |"
              + (f" {note}" if note else ""))


TOKENS = 500  # words of step 1's review (--tokens)


def busy_main(args: argparse.Namespace) -> None:
    import signal

    from sentiment import serving
    from sentiment.modeling import checkpoint

    global REPS, TOKENS
    REPS, TOKENS = max(1, args.reps), max(10, args.tokens)
    sys.stdout.reconfigure(line_buffering=True)  # each line as it is measured, also into a file
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # the busy processes and the run are stopped on the way out

    threads = serving.apply_thread_policy()
    print(f"load average at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores; "
          f"policy: {threads} torch thread(s), {serving.heavy_slots()} heavy slot(s); model {args.model}")
    ckpt = checkpoint.load(args.model)
    explore_answer(ckpt, fresh_review(50, 1), serving.SharedCache())  # warm up
    if not args.skip_threads:
        bench_threads(ckpt, args.busy_procs)
    bench_sessions(ckpt, args.sessions, train=not args.no_train)
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=30)
    ap.add_argument("--distinct", action="store_true", help="each page a review of its own")
    ap.add_argument("--model", default="imdb-lstm-max")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds a page may take")
    ap.add_argument("--url", help="a server already running (with --pid, its process id for the CPU figures)")
    ap.add_argument("--pid", type=int, help="the --url server's process id")
    ap.add_argument("--busy", action="store_true", help="busy mode: server-side answers under load (no browsers)")
    ap.add_argument("--sessions", type=int, default=20, help="busy mode: sessions answering at once")
    ap.add_argument("--busy-procs", type=int, default=3, help="busy mode: busy torch processes for step 1")
    ap.add_argument("--no-train", action="store_true", help="busy mode: no training run in step 2")
    ap.add_argument("--skip-threads", action="store_true", help="busy mode: only step 2")
    ap.add_argument("--reps", type=int, default=1, help="busy mode: fresh answers per measurement (median)")
    ap.add_argument("--tokens", type=int, default=500, help="busy mode: words of step 1's review")
    args = ap.parse_args()
    if args.busy:
        busy_main(args)
        return
    if args.url:
        asyncio.run(run(args, args.url.rstrip("/"), args.pid or 0))
        return
    proc, url = start_server()
    try:
        asyncio.run(run(args, url, proc.pid))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
