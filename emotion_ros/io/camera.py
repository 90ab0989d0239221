"""Frame capture from a camera (OpenCV device index or path) or a video file."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


class CaptureError(RuntimeError):
    """The camera or file cannot be opened or stopped delivering frames."""


@dataclass(frozen=True)
class CapturedFrame:
    """rgb (H, W, 3) uint8; captured_at: when the frame was captured [s, time.monotonic()];
    clock: "device" (the capture backend's own buffer timestamp, V4L2's) or "before_read" (the
    time just before the frame was requested, when the backend gives none)."""

    rgb: np.ndarray
    captured_at: float
    clock: str


def parse_source(source: str | int) -> str | int:
    """'0' -> device index 0; anything else (a /dev/video path, a file, a URL) stays a string."""
    if isinstance(source, int):
        return source
    return int(source) if source.strip().isdigit() else source


def is_device(source: str | int) -> bool:
    """Whether ``source`` names a device or a stream (an index, /dev/..., rtsp:, http): one that
    may appear later, unlike a file."""
    parsed = parse_source(source)
    return isinstance(parsed, int) or parsed.startswith(("/dev/", "rtsp:", "http"))


class CameraCapture:
    """cv2.VideoCapture with RGB output and the facts a publisher needs (fps, is it a file).

    width/height/fps of 0 keep the device's defaults.
    """

    def __init__(self, source: str | int, width: int = 0, height: int = 0, fps: float = 0.0):
        self.source = parse_source(source)
        self._capture: cv2.VideoCapture | None = None
        self._requested = (width, height, fps)

    @property
    def is_file(self) -> bool:
        return isinstance(self.source, str) and Path(self.source).is_file()

    def open(self) -> None:
        if isinstance(self.source, str) and not self.is_file and not self.source.startswith(("/dev/", "rtsp:", "http")):
            raise CaptureError(f"camera source {self.source!r} is neither a device index, a device path nor a file")
        capture = cv2.VideoCapture(self.source)
        if not capture.isOpened():
            raise CaptureError(f"cannot open camera source {self.source!r}")
        width, height, fps = self._requested
        if not self.is_file:
            if width:
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            if height:
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            if fps:
                capture.set(cv2.CAP_PROP_FPS, fps)
        self._capture = capture

    @property
    def fps(self) -> float:
        """Frames per second reported by the device or file (0 when unknown)."""
        value = self._capture.get(cv2.CAP_PROP_FPS) if self._capture is not None else 0.0
        return float(value) if value and np.isfinite(value) else 0.0

    def read(self) -> CapturedFrame | None:
        """The next frame and when it was captured; None at the end of a file or on a failed read."""
        if self._capture is None:
            raise CaptureError("camera is not open")
        before = time.monotonic()
        if not self._capture.grab():
            return None
        captured_at, clock = self._device_time(before)
        ok, bgr = self._capture.retrieve()
        if not ok or bgr is None:
            return None
        return CapturedFrame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), captured_at, clock)

    def _device_time(self, before: float) -> tuple[float, str]:
        """The capture backend's timestamp of the grabbed frame when it has one on the monotonic
        clock (V4L2 reports the kernel's buffer time in CAP_PROP_POS_MSEC), else ``before``."""
        if not self.is_file:
            device = self._capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if np.isfinite(device) and before - 1.0 < device <= time.monotonic():
                return device, "device"
        return before, "before_read"

    def rewind(self) -> None:
        if self._capture is not None:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
