"""Waiting for the server, as a person sees it: heavy work queued in ``serving.heavy_queue()`` shows
"Waiting for the server (N ahead)" while in line, then, once a wait passes two seconds, a progress bar
with the elapsed and the expected time (from ``serving.DURATIONS``, or the work's own progress).

``run_heavy(fn, task=..., units=..., label=...)`` is the one entry: the computation runs in a worker
thread (with the session's context, so cached functions work there) while the page keeps drawing the
wait. A session stopped while waiting leaves the line; one stopped while its computation runs lets
it finish (its slot is given back when it ends, and a cached answer is there for the next run).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from sentiment import serving

from .i18n import t

T = TypeVar("T")
POLL_S = 0.25


def wait_line(label: str, elapsed: float, expected: float | None) -> str:
    """The text under the progress bar: label, elapsed seconds and, when known, the expected ones."""
    if expected is None:
        return t("wait.elapsed", label=label, elapsed=elapsed)
    key = "wait.over" if elapsed > expected else "wait.expected"
    return t(key, label=label, elapsed=elapsed, expected=expected)


def _queue_turn(queue: serving.HeavyQueue, box) -> int:
    """Join the line and wait for a slot, telling how many are ahead; returns the ticket (holding a slot)."""
    ticket = queue.join()
    shown = None
    try:
        while not queue.wait_turn(ticket, POLL_S):
            ahead = queue.ahead(ticket)
            if ahead != shown:
                box.info(t("wait.queue", n=ahead), icon=":material/hourglass_top:")
                shown = ahead
    except BaseException:  # the session stopped or reran: out of the line
        queue.leave(ticket)
        raise
    return ticket


def run_heavy(fn: Callable[[], T], task: str = "trace", units: float = 1.0, label: str | Callable[[], str] | None = None,
              progress: Callable[[], tuple[int, int] | None] | None = None) -> T:
    """``fn()`` through the server's queue, with the wait shown in place; returns its value or raises its
    exception. ``task`` and ``units`` give the expected time (``serving.DURATIONS``); ``progress``, when
    given, returns (done, total) of the work so far and then drives the bar instead; ``label`` may be a
    function (read at each update: "Tracing: 120 of 2,000 reviews")."""
    queue = serving.heavy_queue()
    box = st.empty()
    ticket = _queue_turn(queue, box)
    box.empty()
    out: dict = {}

    def work() -> None:
        t0 = time.perf_counter()
        try:
            out["value"] = fn()
            serving.DURATIONS.record(task, time.perf_counter() - t0, units)
        except BaseException as e:  # handed to the page's thread
            out["error"] = e
        finally:
            queue.leave(ticket)

    worker = threading.Thread(target=work, name=f"gatescope-{task}", daemon=True)
    if get_script_run_ctx() is not None:
        add_script_run_ctx(worker)
    worker.start()
    _show_while(worker, box, label or t("wait.computing"), serving.DURATIONS.expected(task, units), progress)
    if "error" in out:
        raise out["error"]
    return out["value"]


def _show_while(worker: threading.Thread, box, label: str | Callable[[], str], expected: float | None,
                progress: Callable[[], tuple[int, int] | None] | None) -> None:
    """Wait for the worker; past ``serving.SHOW_AFTER_S``, a bar with the elapsed and expected time."""
    t0 = time.monotonic()
    bar = None
    while worker.is_alive():
        worker.join(POLL_S)
        elapsed = time.monotonic() - t0
        if not worker.is_alive() or elapsed < serving.SHOW_AFTER_S:
            continue
        share, guess = serving.share_done(elapsed, expected), expected
        done = progress() if progress is not None else None
        if done and done[1] > 0 and done[0] > 0:
            share = min(0.99, done[0] / done[1])
            guess = elapsed / share  # the work's own pace
        text = wait_line(label() if callable(label) else label, elapsed, guess)
        if bar is None:
            bar = box.progress(share or 0.0, text=text)
        else:
            bar.progress(share or 0.0, text=text)
    box.empty()
