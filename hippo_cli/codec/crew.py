"""The worker threads of one writer or reader: a :class:`Crew` (no process-global pool).

Why not ``concurrent.futures.ThreadPoolExecutor``: on the 2-core virtual machines this project
is measured on, the first thread a process creates first runs about 3 ms after it is created
(later ones 0.05-0.2 ms; a wake-up of a running thread takes 0.02 ms), and
``threading.Thread.start`` waits for that. A pool that starts its workers on the first jobs of
an ``encode`` or ``decode`` call made the caller wait those milliseconds before any work - the
"cold first frame" of a process's first writer (a 10^6-sample encode takes 15-30 ms). A crew
starts its helpers without waiting (``_thread.start_new_thread``) and the caller takes jobs
too, at once: a helper that starts late takes only the jobs left.
"""

from __future__ import annotations

import _thread
import queue
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any


class _Batch:
    """The jobs of one :meth:`Crew.map`: claimed one at a time by whichever thread is free."""

    def __init__(self, fn: Callable[[Any], Any], items: Sequence,
                 weights: Sequence[float] | None = None) -> None:
        self.fn = fn
        self.items = items
        # the order the jobs are claimed in: the heaviest first, if weighed
        self.order = (sorted(range(len(items)), key=lambda i: -weights[i])
                      if weights is not None else range(len(items)))
        self.results: list = [None] * len(items)
        self.next = 0  # the next job to claim
        self.running = 0  # claimed, not finished
        self.stop = False  # a job failed (or the caller was interrupted): claim no more
        self.error: BaseException | None = None
        self.lock = threading.Lock()
        self.idle = threading.Event()  # no job running and none left to claim

    def _claim(self) -> int:
        with self.lock:
            if self.stop or self.next >= len(self.items):
                return -1
            self.next += 1
            self.running += 1
            return self.order[self.next - 1]

    def _finish(self, error: BaseException | None) -> None:
        with self.lock:
            self.running -= 1
            if error is not None and self.error is None:
                self.error, self.stop = error, True
            if self.running == 0 and (self.stop or self.next >= len(self.items)):
                self.idle.set()

    def work(self, local: threading.local) -> None:
        """Run jobs of this batch until none is left to claim."""
        while (i := self._claim()) >= 0:
            local.busy = True
            error = None
            try:
                self.results[i] = self.fn(self.items[i])
            except BaseException as err:  # handed to the caller, which raises it
                error = err
            finally:
                local.busy = False
                self._finish(error)

    def halt(self) -> None:
        with self.lock:
            self.stop = True
            if self.running == 0:
                self.idle.set()


def _helper(tasks: queue.SimpleQueue, local: threading.local) -> None:
    """A helper thread: the batches put for it, until None."""
    while (batch := tasks.get()) is not None:
        batch.work(local)
        del batch  # (holds the caller's objects only while it works)


def _end(tasks: queue.SimpleQueue, helpers: int) -> None:
    for _ in range(helpers):
        tasks.put(None)


class Crew:
    """``threads - 1`` helper threads, started on the first :meth:`map`, and the caller's
    thread: :meth:`map` runs its jobs on all of them. Each helper ends at :meth:`close` (or when
    the crew is collected, or at exit). Use from one caller thread at a time."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._local = threading.local()  # .busy: this thread is running a job of this crew
        self._helpers = 0
        self._end: weakref.finalize | None = None

    def in_job(self) -> bool:
        """Whether the calling thread is running one of this crew's jobs (a job that would
        hand out jobs of its own runs them itself)."""
        return getattr(self._local, "busy", False)

    def map(self, fn: Callable[[Any], Any], items: Sequence,
            weights: Sequence[float] | None = None) -> list:
        """``[fn(item) for item in items]``, the items on the crew's threads and the caller's.
        Returns when every job has finished; a job's exception is raised here once every job
        already running has finished (none is started after it), so nothing works on the
        caller's data after it returns. ``weights``: each job's expected work; the heaviest
        are started first (so that the threads end together; the results stay in order)."""
        if len(items) < 2 or self.threads < 2:
            return [fn(item) for item in items]
        if self._helpers == 0:
            self._start()
        batch = _Batch(fn, items, weights)
        for _ in range(self._helpers):
            self._tasks.put(batch)
        try:
            batch.work(self._local)
            batch.idle.wait()
        except BaseException:  # interrupted (Ctrl-C): the helpers stop after their job
            batch.halt()
            raise
        if batch.error is not None:
            raise batch.error
        return batch.results

    def _start(self) -> None:
        helpers = self.threads - 1
        for _ in range(helpers):
            _thread.start_new_thread(_helper, (self._tasks, self._local))
            self._helpers += 1
        self._end = weakref.finalize(self, _end, self._tasks, self._helpers)

    def close(self) -> None:
        """End the helper threads (started again by the next :meth:`map`)."""
        if self._end is not None:
            self._end()
            self._end = None
            self._tasks = queue.SimpleQueue()  # (a stale batch or end marker stays behind)
            self._helpers = 0
