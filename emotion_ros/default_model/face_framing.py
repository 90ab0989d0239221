"""The face crop's framing, derived from unlabelled faces: where OpenCV's Haar cascade would box
the face that BlazeFace found.

FER2013's faces were boxed by OpenCV's Haar-cascade detector (then checked by people), so the
FER2013 mini-Xception reads a face best framed like that. BlazeFace boxes faces differently
(tighter, centred lower). On the same unlabelled faces, both detectors are run and each
BlazeFace box is paired with the Haar box over the same face; for each pair:

  scale  = Haar side / BlazeFace side (its box's longer side),
  offset = (Haar centre - BlazeFace centre) / BlazeFace side, in the face's axes (u along the
           eye line, v towards the chin, from BlazeFace's keypoints),

and the framing is their median over all pairs (robust to the odd loose Haar box). No expression
score is looked at. The faces: scikit-image's camera photograph and the 100 face crops of
lfw_subset (enlarged and set on grey), both shipped in its wheel, and, when given, the demo
photographs of the face-api npm package (real group photos; not in this repository). The
astronaut, the test person, is left out.

The Haar cascade is OpenCV 4's (`cv2/data/haarcascade_frontalface_default.xml`); this project
runs OpenCV 5, which dropped it, so the cascade runs in another Python (``haar_python``, e.g.
the venv of scripts/make_fer_peer.sh). Its boxes are stored in the report, so the fit can be
checked everywhere: scripts/derive_face_framing.py writes models/face_framing.json.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion_ros.model.box_framing import BoxFraming

LFW_SIDE = 100  # [px] an lfw_subset crop is enlarged to this, then set on grey
FACE_FRACTIONS = (0.2, 0.35, 0.5, 0.7, 0.9)  # face side / frame side: far to close
MATCH_IOU = 0.3  # a Haar box and a BlazeFace box over the same face overlap at least this much
EDGE = 2  # [px] a box this close to the frame's edge is cut by it

HAAR_SCRIPT = r"""
import json, sys
import cv2, numpy as np
cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
images = np.load(sys.argv[1])
out = {}
for name in images.files:
    found = cascade.detectMultiScale(images[name])  # OpenCV's defaults: scale 1.1, 3 neighbours
    out[name] = [[int(x), int(y), int(x + w), int(y + h)] for x, y, w, h in found]
print(json.dumps({"opencv": cv2.__version__, "boxes": out}))
"""


@dataclass(frozen=True)
class FramingImage:
    """source: which set; name: unique id; fraction: the face's side / the frame's (roughly, for
    grouping); rgb (H, W, 3) uint8."""

    source: str
    name: str
    fraction: float
    rgb: np.ndarray

    @property
    def gray(self) -> np.ndarray:
        """(H, W) uint8: what the Haar cascade reads."""
        import cv2

        return cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY)


def _zoomed(source: str, name: str, rgb: np.ndarray, faces: np.ndarray) -> list[FramingImage]:
    """Square crops of ``rgb`` around each face box (x0, y0, x1, y1 [px]) so that the face's side
    is each of FACE_FRACTIONS of the crop's (the crop shifted inside the photo; skipped when
    larger than the photo)."""
    height, width = rgb.shape[:2]
    images = []
    for k, (x0, y0, x1, y1) in enumerate(faces):
        for fraction in FACE_FRACTIONS:
            side = round(max(x1 - x0, y1 - y0) / fraction)
            if side > min(height, width):
                continue
            left = int(np.clip(round((x0 + x1 - side) / 2), 0, width - side))
            top = int(np.clip(round((y0 + y1 - side) / 2), 0, height - side))
            images.append(FramingImage(source, f"{name}:face{k}:{fraction}", fraction, rgb[top:top + side, left:left + side]))
    return images


def framing_images(encoder, face_api_demo: Path | None = None, lfw_count: int = 100) -> list[FramingImage]:
    """The unlabelled faces at every size in FACE_FRACTIONS: lfw_subset's first ``lfw_count``
    faces on grey, and crops of the camera photograph and of face-api's demo photos around each
    face the encoder finds in them."""
    import cv2
    from skimage import data

    from emotion_ros.samples.scenes import TRAINING_PERSON, photograph

    images = []
    for i, crop in enumerate(data.lfw_subset()[:lfw_count]):
        face = cv2.resize(np.round(crop * 255).astype(np.uint8), (LFW_SIDE, LFW_SIDE), interpolation=cv2.INTER_CUBIC)
        for fraction in FACE_FRACTIONS:
            pad = round(LFW_SIDE * (1 / fraction - 1) / 2)
            canvas = cv2.copyMakeBorder(face, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=128)
            images.append(FramingImage("lfw_subset", f"lfw{i:03d}:{fraction}", fraction, np.repeat(canvas[..., None], 3, axis=2)))
    photos = [("camera", TRAINING_PERSON, photograph(TRAINING_PERSON))]
    if face_api_demo is not None:
        paths = sorted(Path(face_api_demo).glob("sample*.jpg"))
        if not paths:
            raise FileNotFoundError(f"{face_api_demo}: no sample*.jpg (give face-api's demo/ folder)")
        photos += [("face-api demo", path.stem, cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)) for path in paths]
    for source, name, rgb in photos:
        images += _zoomed(source, name, rgb, detector_faces(encoder, rgb, model=0)[0])
    return images


def haar_boxes(images: list[FramingImage], haar_python: str) -> tuple[str, dict[str, list[list[int]]]]:
    """(OpenCV version, {image name: Haar boxes x0, y0, x1, y1 [px]}) from ``haar_python``."""
    with tempfile.TemporaryDirectory() as tmp:
        frames = Path(tmp) / "gray.npz"
        np.savez(frames, **{image.name: image.gray for image in images})
        result = subprocess.run([haar_python, "-c", HAAR_SCRIPT, str(frames)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"the Haar cascade failed in {haar_python}: {result.stderr.strip().splitlines()[-1:]}")
    out = json.loads(result.stdout)
    return out["opencv"], out["boxes"]


def detector_faces(encoder, rgb: np.ndarray, model: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The face encoder's detections as the runtime makes them (letterboxed frame): boxes (F, 4)
    x0, y0, x1, y1 and eyes (F, 2, 2) (right, left) x, y, in frame pixels. model: None for the
    pooled detections, else the index of one model alone, in its own framing (0 full range,
    1 short range)."""
    import torch

    from emotion_ros.io.letterbox import Letterbox, letterbox

    side = encoder.config.image_size
    frame = torch.from_numpy(letterbox(rgb, side)).permute(2, 0, 1)[None].float() / 255
    localiser = encoder.localiser
    with torch.no_grad():
        faces = localiser(frame) if model is None else localiser.suppress(frame, *localiser.candidates(frame)[model])
    keep = (faces.scores[0] > 0).numpy()
    fit = Letterbox(*rgb.shape[:2], side)
    boxes = fit.to_frame(faces.boxes[0, keep].numpy() / side, clip=False)
    eyes = fit.to_frame(faces.keypoints[0, keep, :2].numpy().reshape(-1, 4) / side, clip=False).reshape(-1, 2, 2)
    return boxes, eyes


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from emotion_ros.runtime.people import box_iou

    return box_iou(a, b) if len(a) and len(b) else np.zeros((len(a), len(b)))


def pair_faces(target: np.ndarray, boxes: np.ndarray, eyes: np.ndarray, frame: tuple[int, int]) -> list[dict]:
    """One-to-one pairs of a target box (another detector's) and a box over the same face, with
    that box's eyes (greedy by IoU). A pair with either box at the edge of the (height, width)
    frame is left out: there the frame, not the detector, set the box (a Haar box never leaves
    the image)."""
    target = np.asarray(target, np.float64).reshape(-1, 4)
    overlap = _iou(target, boxes)
    height, width = frame

    def inside(box) -> bool:
        return bool(box[0] > EDGE and box[1] > EDGE and box[2] < width - EDGE and box[3] < height - EDGE)

    pairs = []
    while overlap.size and overlap.max() >= MATCH_IOU:
        i, j = np.unravel_index(int(overlap.argmax()), overlap.shape)
        overlap[i, :], overlap[:, j] = -1, -1
        if not (inside(target[i]) and inside(boxes[j])):
            continue
        pairs.append({"target": [round(v, 2) for v in target[i].tolist()], "box": [round(v, 2) for v in boxes[j].tolist()],
                      "eyes": [round(v, 2) for v in eyes[j].ravel().tolist()]})
    return pairs


def pair_framing(pair: dict) -> tuple[float, float, float]:
    """(scale, offset u, offset v) that turn a pair's box into its target (box_framing.py)."""
    target, box, eyes = (np.asarray(pair[key], np.float64) for key in ("target", "box", "eyes"))
    side = (box[2:] - box[:2]).max()
    direction = eyes[2:] - eyes[:2]
    cos, sin = direction / max(np.linalg.norm(direction), 1e-6)
    dx, dy = ((target[:2] + target[2:]) - (box[:2] + box[2:])) / 2 / side
    return (target[2:] - target[:2]).max() / side, dx * cos + dy * sin, -dx * sin + dy * cos


def fit_framing(pairs: list[dict]) -> dict:
    """The framing (median over pairs) and its spread: {scale, offset [u, v], quartiles, pairs}."""
    values = np.array([pair_framing(pair) for pair in pairs])
    if not len(values):
        raise ValueError("no face was found by both detectors")
    median = np.median(values, axis=0)
    q1, q3 = np.percentile(values, [25, 75], axis=0)
    return {"scale": round(float(median[0]), 3), "offset": [round(float(median[1]), 3), round(float(median[2]), 3)],
            "quartiles": {"scale": [round(q1[0], 3), round(q3[0], 3)], "offset_u": [round(q1[1], 3), round(q3[1], 3)],
                          "offset_v": [round(q1[2], 3), round(q3[2], 3)]},
            "pairs": len(values)}


def _stage(images: list[FramingImage], targets: dict[str, np.ndarray], detect) -> dict:
    """Pair ``detect(image)``'s boxes with each image's target boxes; the fit overall and by source."""
    pairs = {image.name: pair_faces(targets[image.name], *detect(image), image.rgb.shape[:2]) for image in images}
    def groups(key) -> dict:
        chosen = {}
        for image in images:
            chosen.setdefault(str(key(image)), []).extend(pairs[image.name])
        return {group: fit_framing(found) for group, found in sorted(chosen.items()) if found}

    return {"framing": fit_framing([p for found in pairs.values() for p in found]),
            "by_source": groups(lambda image: image.source), "by_fraction": groups(lambda image: image.fraction),
            "pairs": pairs}


def derive_framing(encoder, images: list[FramingImage], haar: dict[str, list[list[int]]],
                   short_framing: BoxFraming | None = None) -> dict:
    """Both stages: the short-range boxes in the full-range framing (the two models alone on
    the same faces), then the Haar-cascade framing of the pooled detections with that framing
    in place (the one just fitted, or ``short_framing``)."""
    full = {image.name: detector_faces(encoder, image.rgb, model=0)[0] for image in images}
    short_to_full = _stage(images, full, lambda image: detector_faces(encoder, image.rgb, model=1))
    framing = short_to_full["framing"]
    encoder.localiser.short_framing = short_framing or BoxFraming(framing["scale"], tuple(framing["offset"]))
    crop = _stage(images, {name: np.asarray(boxes, np.float64) for name, boxes in haar.items()},
                  lambda image: detector_faces(encoder, image.rgb))
    return {"short_to_full": short_to_full, "crop": crop}
