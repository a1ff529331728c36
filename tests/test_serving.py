"""The shared server's policy (sentiment.serving): torch threads, the queue for heavy work, answers
computed once for every session, and the expected time of a wait."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from sentiment import serving


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)
    serving._applied = None


def test_interactive_work_runs_at_one_torch_thread_by_default(monkeypatch, restore_threads):
    monkeypatch.delenv(serving.THREADS_ENV, raising=False)
    torch.set_num_threads(2)
    serving._applied = None
    assert serving.apply_thread_policy() == 1
    assert torch.get_num_threads() == 1


def test_a_workstation_overrides_the_thread_count(monkeypatch, restore_threads):
    monkeypatch.setenv(serving.THREADS_ENV, "3")
    serving._applied = None
    assert serving.apply_thread_policy() == 3
    assert torch.get_num_threads() == 3


@pytest.mark.parametrize("raw", ["", "many", "-2"])
def test_a_bad_thread_setting_falls_back_to_one(monkeypatch, raw):
    monkeypatch.setenv(serving.THREADS_ENV, raw)
    assert serving.interactive_threads() == 1


def test_zero_threads_means_one_per_core(monkeypatch):
    monkeypatch.setenv(serving.THREADS_ENV, "0")
    assert serving.interactive_threads() >= 1


def test_the_queue_runs_at_most_its_slots_and_tells_each_how_many_are_ahead():
    q = serving.HeavyQueue(1)
    a, b, c = q.join(), q.join(), q.join()
    assert q.wait_turn(a, 0.01)
    assert not q.wait_turn(b, 0.01)  # a holds the only slot
    assert (q.ahead(a), q.ahead(b), q.ahead(c)) == (0, 1, 2)
    assert not q.wait_turn(c, 0.01)  # first come, first served: c waits for b
    q.leave(a)
    assert not q.wait_turn(c, 0.01)
    assert q.wait_turn(b, 0.01)
    q.leave(b)
    assert q.wait_turn(c, 0.01)
    q.leave(c)
    assert q.busy == 0


def test_thirty_sessions_queue_instead_of_running_at_once():
    q = serving.HeavyQueue(2)
    running, most = [0], [0]
    lock = threading.Lock()
    waits: list[int] = []

    def session() -> None:
        with q.slot(on_wait=waits.append, poll=0.01):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.01)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=session) for _ in range(30)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(10)
    assert most[0] == 2
    assert waits and max(waits) <= 29
    assert q.busy == 0


def test_a_session_stopped_while_waiting_leaves_the_line():
    q = serving.HeavyQueue(1)
    holder = q.join()
    assert q.wait_turn(holder, 0.01)

    def stop(_ahead: int) -> None:
        raise KeyboardInterrupt  # what a stopped Streamlit script raises inside a widget call

    with pytest.raises(KeyboardInterrupt), q.slot(on_wait=stop, poll=0.01):
        pass
    assert q.busy == 1  # only the holder
    q.leave(holder)


def test_the_same_request_from_a_second_session_is_not_computed_again():
    cache = serving.SharedCache()
    calls = []

    def compute():
        calls.append(1)
        time.sleep(0.05)
        return "trace"

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(("m", "review"), compute))) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(5)
    assert results == ["trace"] * 8
    assert len(calls) == 1 and cache.computed == 1


def test_a_failed_computation_is_not_kept():
    cache = serving.SharedCache()

    def boom():
        raise ValueError("bad")

    with pytest.raises(ValueError):
        cache.get("k", boom)
    assert cache.peek("k") == (False, None)
    assert cache.get("k", lambda: 2) == 2


def test_the_cache_forgets_the_least_recently_used_first():
    cache = serving.SharedCache(max_entries=2)
    cache.get("a", lambda: 1)
    cache.get("b", lambda: 2)
    cache.peek("a")
    cache.get("c", lambda: 3)
    assert cache.peek("b") == (False, None)
    assert cache.peek("a") == (True, 1)


def test_the_expected_time_comes_from_the_last_runs_of_the_same_kind():
    d = serving.Durations({"patterns": 0.5})
    assert d.expected("patterns", 10) == 5.0  # the default rate until one run is timed
    assert d.expected("unknown") is None
    d.record("patterns", 20.0, 100)
    d.record("patterns", 40.0, 100)
    d.record("patterns", 30.0, 100)
    assert d.expected("patterns", 200) == pytest.approx(60.0)


def test_share_done_stays_below_one_while_waiting():
    assert serving.share_done(1.0, 4.0) == 0.25
    assert serving.share_done(10.0, 4.0) == 0.99
    assert serving.share_done(3.0, None) is None
