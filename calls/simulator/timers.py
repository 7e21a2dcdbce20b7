"""A timer wheel for the simulator: steps due later run on a small pool of threads.

A text's progress (queued, sent, delivered, each posted as a callback) is a
chain of short steps, each scheduling the next when it is done, so a text
holds no thread while it waits and its callbacks keep their order. Thousands
of texts in flight cost a heap entry each, not a sleeping thread each.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

logger = logging.getLogger(__name__)


class Timers:
    def __init__(self, *, workers: int = 32) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._stopping = False
        self._pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="carrier-step"
        )
        self._thread = threading.Thread(
            target=self._run, name="carrier-timers", daemon=True
        )
        self._thread.start()

    def later(self, delay: float, job: Callable[[], None]) -> None:
        with self._changed:
            if self._stopping:
                return
            heapq.heappush(
                self._heap, (time.monotonic() + max(0.0, delay), next(self._order), job)
            )
            self._changed.notify()

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._heap.clear()
            self._changed.notify()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._stopping and (
                    not self._heap or self._heap[0][0] > time.monotonic()
                ):
                    timeout = (
                        self._heap[0][0] - time.monotonic() if self._heap else None
                    )
                    self._changed.wait(timeout)
                if self._stopping:
                    return
                _, _, job = heapq.heappop(self._heap)
            try:
                self._pool.submit(self._guarded, job)
            except RuntimeError:  # the pool shut down meanwhile
                return

    @staticmethod
    def _guarded(job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:  # noqa: BLE001 - one text's trouble must not stop the others
            logger.exception("a simulated step failed")
