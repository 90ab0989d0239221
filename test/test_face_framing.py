"""The face crop's framing: derived from unlabelled faces (models/face_framing.json), in use in
the localiser and the preset, and reproduced from what this machine's packages ship."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from emotion_ros.default_model.face_framing import (
    derive_framing,
    detector_faces,
    fit_framing,
    framing_images,
    haar_boxes,
    pair_framing,
)
from emotion_ros.model.box_framing import BoxFraming, reframe
from emotion_ros.model.config import load_preset
from emotion_ros.model.face_encoder import FaceFrameEncoder, load_face_knowledge
from emotion_ros.model.face_localiser import SHORT_TO_FULL

REPORT = json.loads((Path(__file__).parents[1] / "models" / "face_framing.json").read_text())


@pytest.fixture(scope="module")
def encoder():
    return load_face_knowledge(FaceFrameEncoder(load_preset("tiny").video.temporal))


def all_pairs(stage: str) -> list[dict]:
    return [pair for pairs in REPORT[stage]["pairs"].values() for pair in pairs]


def test_the_localiser_and_the_preset_use_the_framing_the_stored_pairs_give():
    short, crop = (fit_framing(all_pairs(stage)) for stage in ("short_to_full", "crop"))
    assert SHORT_TO_FULL == BoxFraming(short["scale"], tuple(short["offset"]))
    temporal = load_preset("tiny").video.temporal
    assert (temporal.crop_scale, list(temporal.crop_offset)) == (crop["scale"], crop["offset"])
    assert crop["pairs"] >= 100 and REPORT["crop"]["by_source"].keys() >= {"lfw_subset", "face-api demo"}


def test_a_pair_framing_is_the_similarity_that_makes_the_box_its_target():
    """A box and a target made from it by a known scale and offset, with the face turned 30
    degrees: pair_framing recovers both, and reframe applies them."""
    angle = np.deg2rad(30)
    box = np.array([100.0, 100.0, 180.0, 180.0])
    eyes = np.array([140 - 15 * np.cos(angle), 130 - 15 * np.sin(angle), 140 + 15 * np.cos(angle), 130 + 15 * np.sin(angle)])
    framing = BoxFraming(1.2, (0.05, -0.1))
    keypoints = torch.zeros(1, 6, 2)
    keypoints[0, :2] = torch.tensor(eyes.reshape(2, 2))
    centre, size = reframe(torch.tensor(box[None]), keypoints, framing)
    target = torch.cat([centre - size / 2, centre + size / 2], dim=1)[0].numpy()
    scale, u, v = pair_framing({"target": target.tolist(), "box": box.tolist(), "eyes": eyes.tolist()})
    assert np.allclose([scale, u, v], [1.2, 0.05, -0.1], atol=1e-6)


@pytest.mark.slow
def test_a_reduced_derivation_reproduces_the_stored_pairs(encoder):
    """The stored pairs of the faces every machine has (lfw_subset's and the camera
    photograph's, the stored Haar boxes standing in for the cascade) come out again."""
    images = framing_images(encoder, lfw_count=3)
    stored = {name: [pair["target"] for pair in pairs] for name, pairs in REPORT["crop"]["pairs"].items()}
    assert all(image.name in stored for image in images)
    report = derive_framing(encoder, images, {image.name: stored[image.name] for image in images}, SHORT_TO_FULL)
    for stage in ("short_to_full", "crop"):
        for image in images:
            found, expected = report[stage]["pairs"][image.name], REPORT[stage]["pairs"][image.name]
            assert len(found) == len(expected), (stage, image.name)
            for a, b in zip(found, expected):
                assert np.abs(np.subtract(a["box"], b["box"])).max() < 1.0 and a["target"] == pytest.approx(b["target"], abs=1.0)


def haar_python() -> str | None:
    """A Python whose OpenCV still has the Haar cascade (OpenCV 4), if this machine has one."""
    for candidate in (os.environ.get("EMOTION_ROS_HAAR_PYTHON"), ".venv-fer-peer/bin/python"):
        if candidate and Path(candidate).exists():
            probe = subprocess.run([candidate, "-c", "import cv2; cv2.CascadeClassifier"], capture_output=True)
            if probe.returncode == 0:
                return candidate
    return None


def test_the_stored_haar_boxes_are_what_the_cascade_finds(encoder):
    python = haar_python()
    if python is None:
        pytest.skip("no Python with OpenCV 4's Haar cascade (scripts/make_fer_peer.sh makes one, "
                    "or set EMOTION_ROS_HAAR_PYTHON)")
    images = framing_images(encoder, lfw_count=3)
    _, boxes = haar_boxes(images, python)
    stored = {name: [pair["target"] for pair in pairs] for name, pairs in REPORT["crop"]["pairs"].items()}
    for image in images:
        for target in stored[image.name]:  # every paired Haar box is among the cascade's boxes
            assert any(np.allclose(target, box) for box in boxes[image.name]), image.name


def test_detections_are_in_frame_pixels_whatever_the_aspect_ratio(encoder):
    """The derivation's boxes are the runtime's: letterboxed detection mapped back to the frame."""
    from emotion_ros.samples.face_composites import paste_faces, scene

    rgb, truth = paste_faces(scene("brick", 360, 640), [(120, 0.3, 0.5)])
    boxes, eyes = detector_faces(encoder, rgb)
    assert len(boxes) == 1 and np.abs(boxes[0] - truth[0]).max() < 15
    assert eyes[0, 0, 0] < eyes[0, 1, 0]  # the person's right eye is on the image's left
