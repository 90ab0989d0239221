"""Test frames with real faces at known places, from the photographs scikit-image ships.

Real faces are scarce offline. The astronaut photograph (a smiling person) is the one real,
labelled expression the packages ship, so the test material is made from it: its head pasted
at several sizes and positions into other scikit-image scenes, in 4:3 and 16:9 frames, one to
four copies per frame, with the face box known for each copy; plus scenes with nobody in them.
None of these frames is used to build or tune the model: the astronaut and the scenes are test
material (samples/scenes.py), which the build never sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from emotion_ros.samples.scenes import TEST_SCENES, photograph

# The astronaut's face in the 512 x 512 photograph [px], annotated by eye: ear to ear, brow to chin.
ASTRONAUT_FACE = np.array([175.0, 72.0, 277.0, 178.0])
HEAD = (130, 10, 320, 250)  # x0, y0, x1, y1 [px] of the pasted region: head, hair and collar
SCENES = TEST_SCENES[:6]  # backgrounds of the composites: coffee, rocket, brick, grass, gravel, page
FRAME_SIZES = {"4:3": (480, 640), "16:9": (720, 1280)}  # (height, width)


@dataclass(frozen=True)
class CompositeFrame:
    """rgb (H, W, 3) uint8; faces (F, 4) x0, y0, x1, y1 [px] of every pasted face; name says how
    it was made."""

    name: str
    rgb: np.ndarray
    faces: np.ndarray


def scene(name: str, height: int, width: int) -> np.ndarray:
    """A scikit-image photograph as an (height, width, 3) uint8 RGB background (resized)."""
    return cv2.resize(photograph(name), (width, height), interpolation=cv2.INTER_AREA)


def paste_faces(background: np.ndarray, placements: list[tuple[float, float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Paste the astronaut's head; placements: (face width [px], centre x, centre y [fractions
    of the frame]) each -> (frame, face boxes (F, 4) [px])."""
    from skimage import data

    source = data.astronaut()
    x0, y0, x1, y1 = HEAD
    head = source[y0:y1, x0:x1]
    frame = background.copy()
    height, width = frame.shape[:2]
    boxes = []
    for face_width, cx, cy in placements:
        scale = face_width / (ASTRONAUT_FACE[2] - ASTRONAUT_FACE[0])
        w, h = max(1, round(head.shape[1] * scale)), max(1, round(head.shape[0] * scale))
        resized = cv2.resize(head, (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        face = (ASTRONAUT_FACE - [x0, y0, x0, y0]) * scale
        left = round(cx * width - (face[0] + face[2]) / 2)
        top = round(cy * height - (face[1] + face[3]) / 2)
        # clip the pasted region to the frame
        sx0, sy0 = max(0, -left), max(0, -top)
        sx1, sy1 = min(w, width - left), min(h, height - top)
        if sx1 > sx0 and sy1 > sy0:  # any of it inside the frame
            frame[top + sy0 : top + sy1, left + sx0 : left + sx1] = resized[sy0:sy1, sx0:sx1]
        boxes.append(face + [left, top, left, top])
    return frame, np.array(boxes, np.float64).reshape(-1, 4)


def composite_frames() -> list[CompositeFrame]:
    """The face test set: single faces of 1/12 to 1/3 of the frame width at several positions,
    groups of two to four, in 4:3 and 16:9 frames over different scenes."""
    frames = []
    for aspect, (height, width) in FRAME_SIZES.items():
        for i, fraction in enumerate((1 / 12, 1 / 8, 1 / 5, 1 / 3)):
            for j, (cx, cy) in enumerate(((0.5, 0.45), (0.25, 0.35), (0.75, 0.6))):
                name = SCENES[(i + j) % len(SCENES)]
                rgb, boxes = paste_faces(scene(name, height, width), [(fraction * width, cx, cy)])
                frames.append(CompositeFrame(f"{aspect} {name} one face 1/{round(1 / fraction)} at {cx},{cy}", rgb, boxes))
        for count in (2, 3, 4):
            xs = np.linspace(0.5 / count, 1 - 0.5 / count, count)
            placements = [(width / (2.5 * count), float(x), 0.4 + 0.15 * (k % 2)) for k, x in enumerate(xs)]
            name = SCENES[count % len(SCENES)]
            rgb, boxes = paste_faces(scene(name, height, width), placements)
            frames.append(CompositeFrame(f"{aspect} {name} {count} faces", rgb, boxes))
    return frames


def empty_frames() -> list[CompositeFrame]:
    """The test scenes, without a person, at their own size and aspect ratio."""
    return [CompositeFrame(name, photograph(name), np.zeros((0, 4))) for name in TEST_SCENES]
