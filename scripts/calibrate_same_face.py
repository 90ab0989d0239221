"""The follower's SAME_FACE threshold: chosen on one set of real faces, checked on others.

A followed face is still there when the embedding of its read (face_encoder.py) stays close to
the embedding found at its detection. The threshold is chosen on scikit-image's lfw_subset (100
face and 100 non-face crops of 25 x 25 px, read at 64 px like every crop): halfway between the
1st percentile of a face against itself shifted, scaled and turned a little, and the 99th of a
face against a non-face. It is then checked, not tuned, on faces found in frames: the astronaut
composites (its face at several sizes and places over scikit-image scenes), and the faces of
face-api's demo photographs when given (--face-api DIR: the npm package's demo/ folder, not in
this repository): each face against itself a few pixels on, and against the same place with the
face gone (a scikit-image scene without people). Prints JSON.

    .venv/bin/python scripts/calibrate_same_face.py [--face-api path/to/package/demo]
"""

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import torch
from skimage import data

from emotion_ros.samples.face_composites import composite_frames, scene
from emotion_ros.io.letterbox import letterbox
from emotion_ros.model.face_encoder import DETECTION
from emotion_ros.runtime.face_follower import SAME_FACE
from emotion_ros.runtime.torch_backend import TorchBackend

SIDE = 512


def lfw_threshold(backend: TorchBackend, seed: int = 0) -> dict:
    encoder = backend.network.temporal_view.encoder
    crops = data.lfw_subset()  # (200, 25, 25) in [0, 1]: 100 faces, then 100 non-faces
    rng = np.random.default_rng(seed)

    def jitter(crop):
        turn = cv2.getRotationMatrix2D((12, 12), rng.uniform(-5, 5), rng.uniform(0.93, 1.07))
        turn[:, 2] += rng.uniform(-1.2, 1.2, 2)
        return cv2.warpAffine(crop.astype(np.float32), turn, (25, 25), borderMode=cv2.BORDER_REFLECT)

    def embed(batch):
        gray = np.stack([cv2.resize(c.astype(np.float32), (64, 64)) for c in batch])[:, None] * 2 - 1
        with torch.inference_mode():
            return encoder.read_crops(torch.from_numpy(gray))[1].numpy()

    faces, others = embed(crops[:100]), embed(crops[100:])
    same = (faces * embed([jitter(c) for c in crops[:100]])).sum(axis=1)
    different = (faces @ others.T).ravel()
    low, high = float(np.percentile(same, 1)), float(np.percentile(different, 99))
    return {"same_face_p1": round(low, 3), "face_vs_non_face_p99": round(high, 3), "threshold": round((low + high) / 2, 3)}


def pairs(backend: TorchBackend, frame: np.ndarray, moved: np.ndarray, empty: np.ndarray) -> tuple[list, list]:
    """Cosines of each face found in ``frame`` with its read in ``moved`` and in ``empty``, at its box."""
    tokens, keypoints, embeddings = (a[0] for a in backend.locate_faces(frame[None]))
    found = tokens[:, DETECTION] > 0
    boxes, points = tokens[found, 8:12], keypoints[found]
    if not found.any():
        return [], []
    still = (backend.read_faces(moved, boxes, points)[1] * embeddings[found]).sum(axis=1)
    gone = (backend.read_faces(empty, boxes, points)[1] * embeddings[found]).sum(axis=1)
    return still.tolist(), gone.tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--face-api", type=Path, help="the @vladmandic/face-api package's demo/ folder")
    args = parser.parse_args()
    backend = TorchBackend("tiny")
    report = {"chosen_on_lfw_subset": lfw_threshold(backend), "SAME_FACE": SAME_FACE}
    still, gone = [], []
    for composite in composite_frames():
        frame = composite.rgb
        moved = np.roll(frame, (3, 4), axis=(0, 1))  # a few pixels on
        empty = scene("coffee", *frame.shape[:2])
        a, b = pairs(backend, letterbox(frame, SIDE), letterbox(moved, SIDE), letterbox(empty, SIDE))
        still += a
        gone += b
    sets = {"astronaut composites": (still, gone)}
    if args.face_api:
        still, gone = [], []
        for path in sorted(args.face_api.glob("*.jpg")):
            photo = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
            empty = scene("coffee", *photo.shape[:2])
            a, b = pairs(backend, letterbox(photo, SIDE), letterbox(np.roll(photo, (4, 6), axis=(0, 1)), SIDE),
                         letterbox(empty, SIDE))
            still += a
            gone += b
        sets["face-api photographs"] = (still, gone)
    for name, (still, gone) in sets.items():
        report[name] = {"faces": len(still), "still_there_min": round(min(still), 3), "gone_max": round(max(gone), 3),
                        "kept_when_there": sum(s >= SAME_FACE for s in still), "lost_when_gone": sum(g < SAME_FACE for g in gone)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
