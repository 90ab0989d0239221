"""Faces at every distance: a real face that fills the frame, or that an edge of the frame cuts,
is found and read like the same face with a margin around it (the same label, close
probabilities), in the frame encoder's graph as the runtime runs it (letterboxed frames)."""

from dataclasses import dataclass

import cv2
import numpy as np
import pytest
import torch
from skimage import data

from emotion_ros.io.letterbox import Letterbox, letterbox
from emotion_ros.model.config import load_preset
from emotion_ros.model.face_encoder import BOX, DETECTION, EXPRESSION, FaceFrameEncoder, load_face_knowledge
from emotion_ros.model.label_sets import FER_LABELS
from emotion_ros.samples.face_composites import ASTRONAUT_FACE

HAPPY = FER_LABELS.index("happy")
CLOSE = 0.15  # largest change of any class's probability between a face with a margin and cut
CUT = 0.15  # of the face's side that an edge cuts off


@pytest.fixture(scope="module")
def encoder():
    return load_face_knowledge(FaceFrameEncoder(load_preset("tiny").video.temporal))


@dataclass
class Reading:
    found: bool  # a face whose box centre lies in the true face box
    probabilities: np.ndarray  # (7,) of that face


def read(encoder, cases: list[tuple[np.ndarray, np.ndarray]], batch: int = 16) -> list[Reading]:
    """Each (frame (H, W, 3), face box x0, y0, x1, y1 [px]) as the runtime reads it: letterboxed,
    faces found and read."""
    side = encoder.config.image_size
    readings = []
    for start in range(0, len(cases), batch):
        chunk = cases[start:start + batch]
        frames = np.stack([letterbox(frame, side) for frame, _ in chunk])
        with torch.no_grad():
            tokens = encoder(torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255)[1].numpy()
        for (frame, face), slots in zip(chunk, tokens):
            boxes = Letterbox(*frame.shape[:2], side).to_frame(slots[:, BOX])
            centres = (boxes[:, :2] + boxes[:, 2:]) / 2
            inside = (slots[:, DETECTION] > 0) & (centres >= face[:2]).all(axis=1) & (centres <= face[2:]).all(axis=1)
            if inside.any():
                logits = slots[int(np.flatnonzero(inside)[0]), EXPRESSION]
                readings.append(Reading(True, np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()))
            else:
                readings.append(Reading(False, np.zeros(len(FER_LABELS))))
    return readings


def views(image: np.ndarray, face: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Frames of ``image`` with the face at ``face`` [px]: filling the frame (4:3, 16:9, square),
    touching each edge, and cut by each edge -> {name: (frame, the face's box in it)}."""
    x0, y0, x1, y1 = face
    side = max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    height, width = image.shape[:2]

    def window(left: float, top: float, w: float, h: float):
        left, top = int(round(max(0, left))), int(round(max(0, top)))
        right, bottom = int(round(min(width, left + w))), int(round(min(height, top + h)))
        return image[top:bottom, left:right], face - [left, top, left, top]

    out = {"fills the frame": window(x0, y0, x1 - x0, y1 - y0),
           "fills a 4:3 frame's height": window(cx - side * 2 / 3, y0, side * 4 / 3, y1 - y0),
           "fills a 16:9 frame's height": window(cx - side * 8 / 9, y0, side * 16 / 9, y1 - y0)}
    margin = 0.6 * side  # of picture on the other sides
    for edge in ("left", "right", "top", "bottom"):
        for cut, name in ((0.0, "touches"), (CUT, "cut by")):
            left, top, right, bottom = x0 - margin, y0 - margin, x1 + margin, y1 + margin
            if edge == "left":
                left = x0 + cut * side
            elif edge == "right":
                right = x1 - cut * side
            elif edge == "top":
                top = y0 + cut * side
            else:
                bottom = y1 - cut * side
            out[f"{name} the {edge} edge"] = window(left, top, right - left, bottom - top)
    return out


def test_the_astronaut_close_up_or_cut_by_any_edge_is_found_and_reads_as_with_a_margin(encoder):
    image = data.astronaut()
    cases = views(image, ASTRONAUT_FACE)
    reference, *readings = read(encoder, [(image, ASTRONAUT_FACE), *cases.values()])  # the photograph: a wide margin
    assert reference.found and reference.probabilities.argmax() == HAPPY and len(readings) == 11
    for name, reading in zip(cases, readings):
        assert reading.found, name
        assert reading.probabilities.argmax() == HAPPY, name
        # Cut at the top, the brows are outside the frame: happy 0.80 there against 0.997 (the
        # full-range box is kept for a face that model is sure of); the others change by < 0.01.
        limit = 0.2 if name == "cut by the top edge" else CLOSE
        assert np.abs(reading.probabilities - reference.probabilities).max() < limit, name


def lfw_faces() -> tuple[list[np.ndarray], np.ndarray]:
    """lfw_subset's 100 real face crops (brow to chin) enlarged 25 -> 200 px, each on grey with a
    margin of its own size all round (600 px frames), and the face box in them."""
    faces = [cv2.resize(np.round(crop * 255).astype(np.uint8), (200, 200), interpolation=cv2.INTER_CUBIC)
             for crop in data.lfw_subset()[:100]]
    frames = [np.repeat(cv2.copyMakeBorder(f, 200, 200, 200, 200, cv2.BORDER_CONSTANT, value=128)[..., None], 3, axis=2)
              for f in faces]
    return frames, np.array([200.0, 200.0, 400.0, 400.0])


@pytest.mark.slow
def test_lfw_faces_filling_the_frame_or_at_an_edge_are_found_and_read_as_with_a_margin(encoder):
    """Enlarged alone, an lfw_subset crop fills the frame. 25 px faces read less steadily than
    the astronaut's, even with a margin: two margins (the face 1/2 and 2/3 of the frame) agree on
    the label for about 3 in 4 faces. So each view is held to that baseline, over the 100 faces:
    a view reads a face like its margin view as often as another margin does, less 0.1, and its
    median probability change is at most the margin's plus 0.05. Cut faces (15% of the face
    outside the frame, brows or chin gone) must still be found."""
    frames, face = lfw_faces()
    margins = {"margin 1/2": (slice(100, 500), face - 100), "margin 2/3": (slice(150, 450), face - 150)}
    names = [*views(frames[0], face), *margins]
    cases = []
    for frame in frames:
        cases += [(frame, face), *views(frame, face).values(), *((frame[c, c], box) for c, box in margins.values())]
    readings = read(encoder, cases)
    stride = len(names) + 1
    references, found, same, change = readings[::stride], {}, {}, {}
    assert all(reference.found for reference in references)
    for k, name in enumerate(names):
        view = readings[k + 1::stride]
        found[name] = sum(r.found for r in view)
        same[name] = np.mean([r.probabilities.argmax() == ref.probabilities.argmax() for r, ref in zip(view, references) if r.found])
        change[name] = np.median([np.abs(r.probabilities - ref.probabilities).max() for r, ref in zip(view, references) if r.found])
    print({name: (found[name], round(float(same[name]), 2), round(float(change[name]), 3)) for name in names})
    baseline_same, baseline_change = min(same[m] for m in margins), max(change[m] for m in margins)
    for name in names:
        if name.startswith("cut"):
            assert found[name] >= 95, name
        else:
            assert found[name] >= 97, name
            assert same[name] >= baseline_same - 0.1 and change[name] <= baseline_change + 0.05, name
