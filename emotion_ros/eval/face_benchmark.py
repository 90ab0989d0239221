"""`emotion-ros bench-faces`: the visual path's frames per second beside the `fer` package's.

Both read the same 640x480 frames (the astronaut's face pasted into scikit-image scenes, one
face and four faces): ours is letterboxing plus the frame encoder graph (localise, align,
read every face) on the chosen backend; the peer is `fer`'s FER(mtcnn=False).detect_emotions
(OpenCV's Haar cascade, then the same FER2013 mini-Xception as a quantized tflite). `fer`
needs TensorFlow and OpenCV < 5, so it runs in its own Python (``peer_python``, made by
scripts/make_fer_peer.sh); without one the peer is skipped and the report says why. Both are
timed in this run, one after the other, so the ratio is what to read on a shared machine.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from emotion_ros.samples.face_composites import paste_faces, scene
from emotion_ros.runtime.people import box_iou

FRAME = (480, 640)
CASES = {"1 face": [(150, 0.5, 0.45)],
         "4 faces": [(110, 0.15, 0.4), (110, 0.38, 0.55), (110, 0.62, 0.4), (110, 0.85, 0.55)]}

PEER_SCRIPT = r"""
import json, sys, time
import numpy as np
from fer.fer import FER
frames = np.load(sys.argv[1])
repeats = int(sys.argv[2])
detector = FER(mtcnn=False)
out = {}
for name in frames.files:
    bgr = np.ascontiguousarray(frames[name][:, :, ::-1])
    found = detector.detect_emotions(bgr)  # warm-up, and what it finds
    start = time.perf_counter()
    for _ in range(repeats):
        detector.detect_emotions(bgr)
    seconds = (time.perf_counter() - start) / repeats
    out[name] = {"fps": 1.0 / seconds, "boxes": [[int(v) for v in f["box"]] for f in found],
                 "labels": [max(f["emotions"], key=f["emotions"].get) for f in found]}
print(json.dumps(out))
"""


def _frames() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    height, width = FRAME
    return {name: paste_faces(scene("brick", height, width), placements) for name, placements in CASES.items()}


def _ours(backend, frames: dict, repeats: int) -> dict:
    from emotion_ros.io.letterbox import Letterbox, letterbox
    from emotion_ros.model.face_encoder import BOX, DETECTION, EXPRESSION
    from emotion_ros.model.label_sets import FER_LABELS

    report = {}
    for name, (rgb, truth) in frames.items():
        tokens = backend.encode_frames(letterbox(rgb, backend.frame_size)[None])[0]  # warm-up
        start = time.perf_counter()
        for _ in range(repeats):
            backend.encode_frames(letterbox(rgb, backend.frame_size)[None])
        seconds = (time.perf_counter() - start) / repeats
        present = tokens[:, DETECTION] > 0
        boxes = Letterbox(*rgb.shape[:2], backend.frame_size).to_frame(tokens[present][:, BOX])
        report[name] = {"fps": round(1.0 / seconds, 1), "faces": int(present.sum()), "faces_true": len(truth),
                        "faces_matched": _matched(truth, boxes),
                        "labels": [FER_LABELS[i] for i in tokens[present][:, EXPRESSION].argmax(axis=1)]}
    return report


def _matched(truth: np.ndarray, boxes: np.ndarray) -> int:
    if len(boxes) == 0:
        return 0
    return int((box_iou(truth, boxes).max(axis=1) >= 0.5).sum())


def _peer(peer_python: Path | None, frames: dict, repeats: int) -> dict:
    if peer_python is None or not Path(peer_python).is_file():
        return {"skipped": f"no peer Python at {peer_python} (make one with scripts/make_fer_peer.sh)"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "frames.npz"
        np.savez(path, **{name: rgb for name, (rgb, _) in frames.items()})
        result = subprocess.run([str(peer_python), "-c", PEER_SCRIPT, str(path), str(repeats)], capture_output=True,
                                text=True, timeout=600)
    if result.returncode != 0:
        return {"skipped": f"the peer failed: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode}"}
    raw = json.loads(result.stdout.strip().splitlines()[-1])
    report = {}
    for name, entry in raw.items():
        boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in entry["boxes"]], np.float64).reshape(-1, 4)
        report[name] = {"fps": round(entry["fps"], 1), "faces": len(boxes), "faces_true": len(frames[name][1]),
                        "faces_matched": _matched(frames[name][1], boxes), "labels": entry["labels"]}
    return report


def benchmark_faces(model: str = "tiny", backend_name: str = "onnxruntime", peer_python: Path | None = None,
                    repeats: int = 30, threads: int = 0) -> dict:
    from emotion_ros.runtime.backends import create_backend

    backend = create_backend(backend_name, model, threads)
    if not backend.reads_faces:
        raise ValueError(f"model {model!r} does not find faces (its temporal view is not face_reader)")
    frames = _frames()
    ours = _ours(backend, frames, repeats)
    peer = _peer(peer_python, frames, repeats)
    report = {"frame": {"height": FRAME[0], "width": FRAME[1]}, "backend": backend.name, "model": backend.model_id,
              "ours": ours, "fer_peer": peer}
    if "skipped" not in peer:
        report["speedup"] = {name: round(ours[name]["fps"] / peer[name]["fps"], 2) for name in ours}
        report["target_2x_with_one_face"] = report["speedup"]["1 face"] >= 2.0
    return report
