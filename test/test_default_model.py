"""The default `tiny` checkpoint: it finds faces, reads each one, and says why; nobody, no label."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from skimage import data

from emotion_ros.eval.face_composites import ASTRONAUT_FACE, composite_frames
from emotion_ros.runtime.people import box_iou


def predict(*args):
    result = subprocess.run([sys.executable, "-m", "emotion_ros.cli", "predict", *args, "--json", "--backend", "torch"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def photo(tmp_path, name):
    path = tmp_path / f"{name}.png"
    image = getattr(data, name)()
    cv2.imwrite(str(path), image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


def test_the_whole_astronaut_frame_reads_happy_and_the_explanation_says_so(tiny_checkpoint, tmp_path):
    report = predict("--image", str(photo(tmp_path, "astronaut")), "--model", str(tiny_checkpoint))
    assert report["label"] == "happy" and report["confidence"] > 0.6 and report["scores"]["happy"] == report["confidence"]
    assert report["valence"] > 0.3
    assert "happy" in report["explanation"] and "no sound" in report["explanation"]
    [person] = report["people"]
    assert person["id"] == 0 and person["label"] == "happy"
    assert box_iou(np.array([person["box"]]), ASTRONAUT_FACE[None])[0, 0] > 0.6


@pytest.mark.parametrize("aspect", ["4:3", "16:9"])
def test_every_face_of_a_group_is_found_and_read_happy_at_its_place(tiny_checkpoint, tmp_path, aspect):
    frame = next(f for f in composite_frames() if f.name.startswith(aspect) and f.name.endswith("3 faces"))
    path = tmp_path / "group.png"
    cv2.imwrite(str(path), cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR))
    report = predict("--image", str(path), "--model", str(tiny_checkpoint), "--no-explain")
    assert report["label"] == "happy" and len(report["people"]) == 3
    boxes = np.array([person["box"] for person in report["people"]])
    assert (box_iou(frame.faces, boxes).max(axis=1) > 0.5).all()
    assert all(person["label"] == "happy" for person in report["people"])


def test_the_sample_clip_reads_happy_and_speaking(tiny_checkpoint, sample_clip):
    report = predict("--video", str(sample_clip), "--model", str(tiny_checkpoint))
    assert report["label"] == "happy"
    assert "happy" in report["explanation"] and "speaking" in report["explanation"]
    timeline = report["timeline"]
    assert len(timeline) == report["windows"] and all(step["people"] == 1 for step in timeline)
    assert [step["t"] for step in timeline] == sorted(step["t"] for step in timeline)


@pytest.mark.parametrize("name", ["coffee", "chelsea", "rocket", "page"])
def test_a_photo_without_a_person_gives_no_person_and_no_label(tiny_checkpoint, tmp_path, name):
    report = predict("--image", str(photo(tmp_path, name)), "--model", str(tiny_checkpoint))
    assert report["label"] is None and report["confidence"] == 0.0 and report["people"] == []
    assert max(report["scores"].values()) < 0.3
    assert report["explanation"].startswith("No face is visible.")


def test_the_build_report_holds_what_the_model_card_promises(tiny_checkpoint):
    report = json.loads((tiny_checkpoint / "build_report.json").read_text())
    assert report["label_agreement"] >= 0.9  # where a face is seen, the fused head keeps its FER reading
    assert report["no_face_max_confidence"] < 0.3  # and without one it invents no label
    assert report["arousal_mae"] < 0.1 and report["valence_mae"] < 0.1
    assert report["explanations_naming_label"] >= 0.9


def test_a_reduced_build_is_deterministic_and_loads(tmp_path):
    if not __import__("shutil").which("espeak-ng"):
        pytest.skip("espeak-ng is not installed (make installs it)")
    import torch
    from safetensors.torch import load_file

    from emotion_ros.model.checkpoint import load_checkpoint
    from emotion_ros.train.tiny_builder import BuildConfig, build_tiny

    config = BuildConfig(windows=48, held_out=8, fusion_steps=4, fusion_batch=16, llm_steps=2, llm_batch=4,
                         explain_checks=1, photo_variants=1, sentences=1)
    build_tiny(tmp_path / "a", config)
    build_tiny(tmp_path / "b", config)
    first, second = (load_file(tmp_path / name / "model.safetensors") for name in ("a", "b"))
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
    assert (tmp_path / "a" / "tokenizer.json").read_bytes() == (tmp_path / "b" / "tokenizer.json").read_bytes()
    checkpoint = load_checkpoint(tmp_path / "a")
    assert checkpoint.tokenizer is not None and checkpoint.tokenizer.vocab_size <= checkpoint.config.llm.vocab_size
    assert checkpoint.tokenizer.decode(checkpoint.tokenizer.encode("The face shows a clear happy expression.")) == (
        "The face shows a clear happy expression.")
