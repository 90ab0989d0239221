"""The default `tiny` checkpoint: it recognises a smile in a whole frame and says why."""

import json
import subprocess
import sys

import cv2
import pytest
from skimage import data


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
    assert report["label"] == "happy" and report["scores"]["happy"] > 0.6
    assert report["valence"] > 0.3
    assert "happy" in report["explanation"] and "no sound" in report["explanation"]


def test_the_sample_clip_reads_happy_and_speaking(tiny_checkpoint, sample_clip):
    report = predict("--video", str(sample_clip), "--model", str(tiny_checkpoint))
    assert report["label"] == "happy"
    assert "happy" in report["explanation"] and "speaking" in report["explanation"]


def test_a_photo_without_a_person_gives_no_confident_expression(tiny_checkpoint, tmp_path):
    report = predict("--image", str(photo(tmp_path, "coffee")), "--model", str(tiny_checkpoint))
    assert max(report["scores"].values()) < 0.65
    assert "No face" in report["explanation"]


def test_the_build_report_holds_what_the_model_card_promises(tiny_checkpoint):
    report = json.loads((tiny_checkpoint / "build_report.json").read_text())
    assert report["label_agreement"] >= 0.9  # the fused head keeps the FER reading
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
