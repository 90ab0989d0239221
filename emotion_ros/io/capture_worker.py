"""A camera's capture thread: it alone opens, reads and closes the device.

A device that stops delivering frames is closed and reopened with exponential back-off, as
camera drivers do; a read that blocks is seen by status() (no frame for `stall_after`) while the
thread waits. The device is never closed from another thread while a read may be in progress:
stop() asks the thread to end and, if a read is still blocked when it gives up waiting, the
thread closes the device itself once that read returns.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from emotion_ros.io.camera import CapturedFrame, CaptureError


class Capture(Protocol):
    is_file: bool

    def read(self) -> CapturedFrame | None: ...

    def rewind(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class CaptureStatus:
    """state: capturing, stalled (no frame for stall_after: a blocked or very slow read),
    reopening (the device failed; retrying), ended (a file's end without loop), stopped."""

    state: str
    message: str
    frames: int
    reopens: int
    last_frame_age: float | None  # [s] since the last frame (None: none yet)


class CaptureWorker:
    """Reads frames on its own thread and hands each to ``on_frame(frame)``.

    open_capture() opens the device (raising CaptureError); ``capture`` is an already open one
    to start with. Back-off between reopening attempts doubles from ``retry_min`` to
    ``retry_max`` seconds. ``period`` [s] paces a file at its frame rate (0 for devices).
    """

    def __init__(self, open_capture: Callable[[], Capture], on_frame: Callable[[CapturedFrame], None],
                 capture: Capture | None = None, stall_after: float = 2.0, retry_min: float = 0.5,
                 retry_max: float = 10.0, loop_file: bool = True, period: float = 0.0,
                 log: Callable[[str], None] | None = None):
        self._open, self._on_frame, self._capture = open_capture, on_frame, capture
        self.stall_after, self.retry_min, self.retry_max = stall_after, retry_min, retry_max
        self.loop_file, self.period = loop_file, period
        self._log = log or (lambda message: None)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._delivering = threading.Lock()  # held while on_frame runs: stop() waits for it
        self._state, self._message = "capturing", ""
        self.frames = self.reopens = 0
        self._last_frame: float | None = None
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="camera-capture", daemon=True)

    def start(self) -> "CaptureWorker":
        self._started = time.monotonic()
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> bool:
        """Ask the thread to end; True when it has (and the device is closed). Either way no
        frame is delivered after this returns."""
        self._stop.set()
        with self._delivering:
            pass
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def status(self) -> CaptureStatus:
        with self._lock:
            state, message, last = self._state, self._message, self._last_frame
        age = None if last is None else time.monotonic() - last
        waited = time.monotonic() - (last if last is not None else self._started)
        if state == "capturing" and waited > self.stall_after:
            state = "stalled"
            message = f"no frame for {waited:.1f} s (the device read is blocked or very slow)"
        return CaptureStatus(state, message or state, self.frames, self.reopens, age)

    def _set(self, state: str, message: str = "") -> None:
        with self._lock:
            self._state, self._message = state, message
        if message:
            self._log(message)

    def _run(self) -> None:
        capture, delay, since_rewind, next_due = self._capture, self.retry_min, 0, time.monotonic()
        self._capture = None  # this thread owns it now
        try:
            while not self._stop.is_set():
                if capture is None:
                    try:
                        capture = self._open()
                    except CaptureError as exc:
                        self._set("reopening", f"{exc}; trying again in {delay:g} s")
                        self._stop.wait(delay)
                        delay = min(delay * 2, self.retry_max)
                        continue
                    self.reopens += 1
                    self._set("capturing", "")
                    self._started = time.monotonic()
                frame = capture.read()
                if self._stop.is_set():
                    break
                if frame is None:
                    if capture.is_file and self.loop_file and since_rewind > 0:
                        capture.rewind()
                        since_rewind = 0
                        continue
                    if capture.is_file:
                        self._set("ended", f"end of the file after {self.frames} frames")
                        return
                    self._set("reopening", f"the camera stopped delivering frames; reopening it in {delay:g} s")
                    capture.close()
                    capture = None
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.retry_max)
                    continue
                delay, since_rewind = self.retry_min, since_rewind + 1
                if self.period:
                    next_due += self.period  # a file's real frame timing
                    self._stop.wait(max(0.0, next_due - time.monotonic()))
                with self._delivering:
                    if self._stop.is_set():
                        break
                    with self._lock:
                        self._last_frame = time.monotonic()
                    self.frames += 1
                    self._on_frame(frame)
        finally:
            if capture is not None:
                capture.close()
            with self._lock:
                if self._state != "ended":
                    self._state, self._message = "stopped", ""

