"""How one server shares its CPU between many sessions: the thread policy, the queue for heavy work,
and the expected time of a wait. Torch is imported only where threads are set; no streamlit here
(the pages' side is ``sentiment.ui.waiting``).

Thread policy (one place; the Streamlit server applies it once per process, before any session
computes anything):
- interactive work (traces, figures, evaluations in the app) runs torch at ``GATESCOPE_THREADS``
  intra-op threads, default 1. Measured on a 2-core machine with three other busy torch processes,
  a full trace of a 500-token review took 24x its idle time at torch's default 2 threads and 4.3x at
  1 thread (about the fair share of the CPU): threads that wait for each other on a busy CPU lose
  far more than a second core gains. A single-user workstation may set ``GATESCOPE_THREADS=0``
  (torch's default: one thread per core) or any count.
- training runs started by the app: their priority and threads are the runs launcher's
  (``sentiment.training.runs``), meant to leave the interactive work a core.

Heavy work (full traces with prefix predictions and attributions, Patterns tracing, evaluations)
goes through one first-come-first-served queue per process, ``heavy_queue()``: at most
``GATESCOPE_HEAVY_SLOTS`` computations at once (default: one per two cores, at least one). Thirty
sessions then wait in line, each told how many are ahead, instead of thirty computations thrashing
two cores; every one of them finishes sooner than when all run at once.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

THREADS_ENV = "GATESCOPE_THREADS"  # torch threads for interactive work; 0 = torch's default (a thread per core)
HEAVY_SLOTS_ENV = "GATESCOPE_HEAVY_SLOTS"  # heavy computations at once in one server process
DEFAULT_THREADS = 1
SHOW_AFTER_S = 2.0  # a wait longer than this shows elapsed and expected time


# ---- threads ---------------------------------------------------------------------------------------


def _env_int(name: str, default: int, lowest: int) -> int:
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        return default
    return value if value >= lowest else default


def interactive_threads() -> int:
    """Torch intra-op threads for interactive work: $GATESCOPE_THREADS (0 = one per core), default 1."""
    n = _env_int(THREADS_ENV, DEFAULT_THREADS, 0)
    return n if n > 0 else max(1, os.cpu_count() or 1)


_applied: int | None = None
_applied_lock = threading.Lock()


def apply_thread_policy() -> int:
    """Set torch's threads for this process to ``interactive_threads()`` (once; cheap after) and return
    the count. Call it where every session passes, before any computation: the server's navigation."""
    global _applied
    n = interactive_threads()
    if _applied == n:
        return n
    with _applied_lock:
        import torch

        torch.set_num_threads(n)
        with contextlib.suppress(RuntimeError):  # only possible before the first parallel work; harmless after
            torch.set_num_interop_threads(1)
        _applied = n
    return n


# ---- the queue for heavy work ------------------------------------------------------------------------


def heavy_slots() -> int:
    """How many heavy computations run at once: $GATESCOPE_HEAVY_SLOTS, default one per two cores."""
    return _env_int(HEAVY_SLOTS_ENV, max(1, (os.cpu_count() or 1) // 2), 1)


class HeavyQueue:
    """First come, first served, at most ``slots`` at once. ``ahead(ticket)`` is what a waiting person
    is told: how many computations run or wait before theirs."""

    def __init__(self, slots: int):
        self.slots = max(1, int(slots))
        self._cond = threading.Condition()
        self._waiting: deque[int] = deque()
        self._running: set[int] = set()
        self._next = 0

    def join(self) -> int:
        with self._cond:
            self._next += 1
            self._waiting.append(self._next)
            return self._next

    def ahead(self, ticket: int) -> int:
        """Computations before ``ticket``: those running and those that joined earlier; 0 once it runs."""
        with self._cond:
            if ticket in self._running:
                return 0
            try:
                return len(self._running) + self._waiting.index(ticket)
            except ValueError:
                return 0

    def wait_turn(self, ticket: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the ticket's turn; True once it runs (it then holds a slot)."""
        with self._cond:
            deadline = time.monotonic() + timeout
            while not self._may_start(ticket):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            self._waiting.remove(ticket)
            self._running.add(ticket)
            return True

    def _may_start(self, ticket: int) -> bool:
        return len(self._running) < self.slots and bool(self._waiting) and self._waiting[0] == ticket

    def leave(self, ticket: int) -> None:
        """Give the slot back (or leave the line without having run)."""
        with self._cond:
            self._running.discard(ticket)
            with contextlib.suppress(ValueError):
                self._waiting.remove(ticket)
            self._cond.notify_all()

    @property
    def busy(self) -> int:
        """Computations running or waiting now."""
        with self._cond:
            return len(self._running) + len(self._waiting)

    @contextmanager
    def slot(self, on_wait: Callable[[int], None] | None = None, poll: float = 0.25) -> Iterator[None]:
        """Hold a slot for the block; while waiting, ``on_wait(ahead)`` every ``poll`` seconds. An
        exception in ``on_wait`` (a session stopped) leaves the line."""
        ticket = self.join()
        try:
            while not self.wait_turn(ticket, poll):
                if on_wait is not None:
                    on_wait(self.ahead(ticket))
            yield
        finally:
            self.leave(ticket)


_queue: HeavyQueue | None = None
_queue_lock = threading.Lock()


def heavy_queue() -> HeavyQueue:
    """This process's queue for heavy work (made on first use with ``heavy_slots()``)."""
    global _queue
    with _queue_lock:
        if _queue is None:
            _queue = HeavyQueue(heavy_slots())
        return _queue


# ---- answers shared by every session ---------------------------------------------------------------


class SharedCache:
    """Answers computed once per process for every session: the same review on the same model in
    thirty browsers is traced once. Least recently used entries go first past ``max_entries``.
    Sessions asking for the same key at once wait for the first one's answer (one computation); an
    exception is not kept, so the next ask computes again."""

    def __init__(self, max_entries: int = 64):
        self.max_entries = max(1, int(max_entries))
        self._values: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict = {}  # key -> lock held while it is computed
        self.computed = 0  # how many times a value was computed (for tests and the bench)

    def peek(self, key) -> tuple[bool, object]:
        """(True, value) when the key is cached (marked as just used), else (False, None); never computes."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return True, self._values[key]
            return False, None

    def get(self, key, compute: Callable[[], object]):
        """The cached value of ``key``, else ``compute()`` once, kept for everyone."""
        hit, value = self.peek(key)
        if hit:
            return value
        with self._lock:
            key_lock = self._computing.setdefault(key, threading.Lock())
        with key_lock:
            hit, value = self.peek(key)  # computed by another session while this one waited
            if hit:
                return value
            try:
                value = compute()
                with self._lock:
                    self.computed += 1
                    self._values[key] = value
                    while len(self._values) > self.max_entries:
                        self._values.popitem(last=False)
            finally:
                with self._lock:
                    self._computing.pop(key, None)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


# ---- expected time -------------------------------------------------------------------------------------


class Durations:
    """Seconds per unit of work of each task kind, from the last few runs in this process, to tell a
    waiting person about how long the wait is. ``expected(task, units)`` is None until one run of
    that kind has finished (or a default was given)."""

    def __init__(self, defaults: dict[str, float] | None = None, keep: int = 5):
        self._rates: dict[str, deque[float]] = {}
        self._defaults = dict(defaults or {})
        self._keep = keep
        self._lock = threading.Lock()

    def record(self, task: str, seconds: float, units: float = 1.0) -> None:
        if units <= 0 or seconds < 0:
            return
        with self._lock:
            self._rates.setdefault(task, deque(maxlen=self._keep)).append(seconds / units)

    def expected(self, task: str, units: float = 1.0) -> float | None:
        with self._lock:
            rates = list(self._rates.get(task, ()))
        if rates:
            return statistics.median(rates) * units
        rate = self._defaults.get(task)
        return rate * units if rate is not None else None


# Seconds per unit measured on a 2-core CPU (2026-12), used until this server has timed its own.
DURATIONS = Durations({
    "misclassified": 23.0 / 300,  # per test review (the first search also reads the dataset)
    "evaluate": 23.0 / 300,
    "patterns": 64.0 / 2000,  # per review of the sample
    "trace": 0.001,  # per character of the review, a full trace (prefix predictions and occlusion)
    "pass": 0.00002,  # per character, one pass of the model
})


def share_done(elapsed: float, expected: float | None) -> float | None:
    """How far along a wait is, for a progress bar: elapsed / expected, kept under 1 while it lasts;
    None when nothing is known of its length."""
    if expected is None or expected <= 0:
        return None
    return min(0.99, max(0.0, elapsed / expected))
