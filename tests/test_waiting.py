"""What a waiting student sees (sentiment.ui.waiting): the line's "N ahead", then past two seconds a
progress bar with the elapsed and the expected time. Drawn into a stand-in for st.empty()."""

from __future__ import annotations

import threading
import time

import pytest

from sentiment import serving
from sentiment.ui import waiting


class Box:
    """Records what the page would show in the placeholder."""

    def __init__(self):
        self.shown: list[str] = []

    def info(self, text, icon=None):
        self.shown.append(text)

    def progress(self, share, text=""):
        self.shown.append(text)
        return self

    def empty(self):
        self.shown.append("")


@pytest.fixture
def queue(monkeypatch):
    q = serving.HeavyQueue(1)
    monkeypatch.setattr(serving, "heavy_queue", lambda: q)
    return q


def test_a_student_in_line_is_told_how_many_are_ahead(queue, monkeypatch):
    box = Box()
    monkeypatch.setattr(waiting.st, "empty", lambda: box)
    holder = queue.join()
    assert queue.wait_turn(holder, 0.01)
    threading.Timer(0.6, queue.leave, args=(holder,)).start()
    assert waiting.run_heavy(lambda: 42, task="test-line") == 42
    assert any("1 ahead of you" in s for s in box.shown)


def test_a_wait_past_two_seconds_shows_elapsed_and_expected_time(queue, monkeypatch):
    box = Box()
    monkeypatch.setattr(waiting.st, "empty", lambda: box)
    monkeypatch.setattr(serving, "SHOW_AFTER_S", 0.3)
    monkeypatch.setattr(serving, "DURATIONS", serving.Durations({"slow": 1.0}))
    waiting.run_heavy(lambda: time.sleep(0.8), task="slow", units=2, label="Finding")
    bars = [s for s in box.shown if s.startswith("Finding")]
    assert bars and "of about 2 s" in bars[-1]


def test_the_work_s_own_progress_drives_the_bar(queue, monkeypatch):
    box = Box()
    monkeypatch.setattr(waiting.st, "empty", lambda: box)
    monkeypatch.setattr(serving, "SHOW_AFTER_S", 0.2)
    done = {"now": (1, 4)}
    waiting.run_heavy(lambda: time.sleep(0.6), task="unknown-kind", label=lambda: f"Tracing {done['now'][0]} of 4",
                      progress=lambda: done["now"])
    assert any(s.startswith("Tracing 1 of 4") and "of about" in s for s in box.shown)


def test_an_error_in_the_work_reaches_the_page_and_frees_the_slot(queue, monkeypatch):
    monkeypatch.setattr(waiting.st, "empty", lambda: Box())

    def boom():
        raise ValueError("bad review")

    with pytest.raises(ValueError, match="bad review"):
        waiting.run_heavy(boom, task="test-error")
    assert queue.busy == 0
