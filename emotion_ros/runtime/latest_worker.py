"""A worker thread with a one-slot mailbox: new work replaces work not yet started."""

from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

from emotion_ros.runtime.thread_priority import lower_this_thread

Item = TypeVar("Item")


class LatestWorker(Generic[Item]):
    """Runs ``process(item)`` on its own thread, always on the newest item submitted.

    Submitting while an item waits replaces it, and ``on_drop(old)`` is told; an item being
    processed always completes. So a slow consumer never builds a queue and never delays
    the producer, which is the point for perception (windows) and explanations (requests).
    Exceptions from ``process`` go to ``on_error`` and the worker goes on. A ``background``
    worker runs at lower OS priority (thread_priority.py): explanations beside perception.
    """

    def __init__(
        self,
        process: Callable[[Item], None],
        name: str,
        on_drop: Callable[[Item], None] | None = None,
        on_error: Callable[[Item, Exception], None] | None = None,
        background: bool = False,
    ):
        self._process, self._on_drop, self._on_error = process, on_drop, on_error
        self._background = background
        self._pending: Item | None = None
        self._has_pending = False
        self._condition = threading.Condition()
        self._stopping = False
        self._busy = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.processed = 0
        self.dropped = 0

    def start(self) -> "LatestWorker[Item]":
        self._thread.start()
        return self

    def submit(self, item: Item) -> None:
        dropped = None
        with self._condition:
            if self._has_pending:
                dropped = self._pending
                self.dropped += 1
            self._pending, self._has_pending = item, True
            self._condition.notify_all()  # the worker, and not only a wait_idle() caller
        if dropped is not None and self._on_drop is not None:
            self._on_drop(dropped)

    def idle(self) -> bool:
        with self._condition:
            return not self._has_pending and not self._busy

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing waits and nothing runs (at most ``timeout`` s); True if so."""
        with self._condition:
            return self._condition.wait_for(lambda: not self._has_pending and not self._busy, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the item in progress, drop the waiting one, and end the thread."""
        with self._condition:
            self._stopping = True
            leftover = self._pending if self._has_pending else None
            self._has_pending = False
            self._condition.notify_all()
        if leftover is not None and self._on_drop is not None:
            self._on_drop(leftover)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        if self._background:
            lower_this_thread()
        while True:
            with self._condition:
                while not self._has_pending and not self._stopping:
                    self._condition.wait()
                if self._stopping:
                    return
                item, self._has_pending, self._busy = self._pending, False, True
            try:
                self._process(item)
                self.processed += 1
            except Exception as exc:  # reported, never fatal to the worker
                if self._on_error is not None:
                    self._on_error(item, exc)
            finally:
                with self._condition:
                    self._busy = False
                    self._condition.notify_all()  # wait_idle()
