"""Frames of any aspect ratio into the model's square input, without squashing.

The frame is shrunk (area averaging) or enlarged (bilinear) until its longer side fits the
square, and centred on black padding. Letterbox keeps a face's proportions, which a face
detector and an expression network trained on real faces need; boxes found on the square map
back to the frame with Letterbox.to_frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Letterbox:
    """Where a height x width frame sits in a side x side square (integer pixels)."""

    height: int
    width: int
    side: int

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) [px] of the resized frame inside the square."""
        scale = self.side / max(self.height, self.width)
        return max(1, round(self.width * scale)), max(1, round(self.height * scale))

    @property
    def offset(self) -> tuple[int, int]:
        """(x, y) [px] of the resized frame's top-left corner in the square."""
        w, h = self.size
        return (self.side - w) // 2, (self.side - h) // 2

    def to_frame(self, box: np.ndarray, clip: bool = True) -> np.ndarray:
        """box (..., 4) x0, y0, x1, y1 as fractions of the square's side -> frame pixels, clipped
        to the frame unless ``clip`` is False."""
        (w, h), (ox, oy) = self.size, self.offset
        pixels = np.asarray(box, np.float64) * self.side - [ox, oy, ox, oy]
        pixels = pixels * [self.width / w, self.height / h, self.width / w, self.height / h]
        return np.clip(pixels, 0, [self.width, self.height, self.width, self.height]) if clip else pixels

    def from_frame(self, box: np.ndarray) -> np.ndarray:
        """box (..., 4) x0, y0, x1, y1 in frame pixels -> fractions of the square's side (to_frame's inverse)."""
        (w, h), (ox, oy) = self.size, self.offset
        pixels = np.asarray(box, np.float64) * [w / self.width, h / self.height, w / self.width, h / self.height]
        return (pixels + [ox, oy, ox, oy]) / self.side


def letterbox(rgb: np.ndarray, side: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (side, side, 3) uint8, aspect ratio kept, centred on black."""
    height, width = rgb.shape[:2]
    if (height, width) == (side, side):
        return rgb
    fit = Letterbox(height, width, side)
    (w, h), (x, y) = fit.size, fit.offset
    interpolation = cv2.INTER_AREA if w < width else cv2.INTER_LINEAR
    canvas = np.zeros((side, side, 3), np.uint8)
    canvas[y : y + h, x : x + w] = cv2.resize(rgb, (w, h), interpolation=interpolation)
    return canvas
