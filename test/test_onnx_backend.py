"""The ONNX Runtime backend: exported graphs match PyTorch, and stale files are never run."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from emotion_ros.samples.face_composites import paste_faces, scene
from emotion_ros.artefacts.onnx_artefacts import StaleArtefacts, export_artefacts, read_manifest, weights_fingerprint
from emotion_ros.io.letterbox import letterbox
from emotion_ros.model.checkpoint import checkpoint_fingerprint
from emotion_ros.model.config import load_preset
from emotion_ros.model.face_encoder import person_tokens
from emotion_ros.model.generation import GenerationConfig, generate
from emotion_ros.model.network import build_network
from emotion_ros.model.resolve import resolve_model
from emotion_ros.runtime.backends import create_backend
from emotion_ros.runtime.onnx_backend import OnnxRuntimeBackend, OnnxStepper
from emotion_ros.runtime.people import main_person_view, people_in_window
from emotion_ros.runtime.torch_backend import TorchBackend


@pytest.fixture(scope="module")
def backends(tmp_path_factory):
    cache = tmp_path_factory.mktemp("onnx-cache")
    return TorchBackend("tiny"), OnnxRuntimeBackend.for_model("tiny", cache=cache), cache


def test_onnx_runtime_reads_several_people_in_one_batch_as_pytorch_does(backends):
    torch_backend, onnx_backend, _ = backends
    rgb, _ = paste_faces(scene("grass", 480, 640), [(80, 0.2, 0.4), (150, 0.55, 0.5), (110, 0.85, 0.4)])
    frames = np.repeat(letterbox(rgb, onnx_backend.frame_size)[None], onnx_backend.num_frames, axis=0)
    features = onnx_backend.encode_frames(frames)
    people = people_in_window(features)
    assert len(people) == 3
    views = np.stack([person_tokens(features, person.slots) for person in people])
    audio = np.zeros(32000, np.float32)
    ours = onnx_backend.perceive_people(views, frames[-1], audio, True, False)
    reference = torch_backend.perceive_people(views, frames[-1], audio, True, False)
    assert len(ours) == len(reference) == 3
    for a, b, view in zip(ours, reference, views):
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-5)
        single = onnx_backend.perceive(view, frames[-1], audio, True, False)  # the batch changes nothing
        np.testing.assert_allclose(single.scores, a.scores, atol=1e-5)
        assert int(np.argmax(a.scores)) == torch_backend.labels.index("happy")


def test_frames_with_different_numbers_of_faces_read_alike_alone_and_in_one_batch(backends):
    """The graph reads only the slots faces fill (a data-dependent axis, traced on an empty
    frame): every count, alone or batched with frames that have more or fewer faces, gives the
    tokens PyTorch gives."""
    torch_backend, onnx_backend, _ = backends
    size = onnx_backend.frame_size
    three, _ = paste_faces(scene("grass", 480, 640), [(80, 0.2, 0.4), (150, 0.55, 0.5), (110, 0.85, 0.4)])
    one, _ = paste_faces(scene("gravel", 480, 640), [(120, 0.5, 0.5)])
    frames = np.stack([letterbox(rgb, size) for rgb in (one, np.zeros((480, 640, 3), np.uint8), three)])
    batched, _, embeddings = onnx_backend.locate_faces(frames)
    assert list((batched[:, :, 7] > 0).sum(axis=1)) == [1, 0, 3]
    for i, frame in enumerate(frames):
        alone, _, alone_embeddings = onnx_backend.locate_faces(frame[None])
        np.testing.assert_allclose(alone[0], batched[i], atol=1e-4)
        np.testing.assert_allclose(alone_embeddings[0], embeddings[i], atol=1e-5)
        np.testing.assert_allclose(torch_backend.locate_faces(frame[None])[0][0], alone[0], atol=2e-3, rtol=1e-4)

def test_onnx_runtime_matches_pytorch_on_a_window(backends):
    torch_backend, onnx_backend, _ = backends
    rng = np.random.default_rng(0)
    size = onnx_backend.frame_size  # frames arrive letterboxed to it; a face reader's graph takes no other
    frames = rng.integers(0, 256, (torch_backend.num_frames, size, size, 3), dtype=np.uint8)
    with pytest.raises(Exception, match="dimensions"):
        onnx_backend.encode_frames(frames[:, :120, :160])
    audio = (0.1 * rng.standard_normal(32000)).astype(np.float32)
    features = onnx_backend.encode_frames(frames)
    # expression logits reach +-30: float32 rounding in a different convolution order shows at 1e-4
    np.testing.assert_allclose(features, torch_backend.encode_frames(frames), atol=2e-3, rtol=1e-4)
    features = main_person_view(features, torch_backend.reads_faces)
    for video, sound in ((True, True), (True, False), (False, True)):
        ours = onnx_backend.perceive(features, frames[-1], audio, video, sound)
        reference = torch_backend.perceive(features, frames[-1], audio, video, sound)
        np.testing.assert_allclose(ours.scores, reference.scores, atol=1e-5)
        # valence leaves a tanh after the fusion layers: ONNX Runtime's float32 sums, in another
        # order than PyTorch's, differ by 1.3e-5 on the committed parts (the same weights on
        # every machine since they are committed), so 1e-5 would fail everywhere
        assert ours.valence == pytest.approx(reference.valence, abs=5e-5)
        np.testing.assert_allclose(ours.context[0], reference.context[0].numpy(), atol=1e-3)
        np.testing.assert_array_equal(ours.context[1], reference.context[1].numpy())


def test_onnx_decoding_gives_the_same_tokens_as_pytorch(backends):
    """The exported float32 llm_step: the same greedy tokens and logits within 1e-4."""
    torch_backend, onnx_backend, _ = backends
    llm = torch_backend.network.llm
    # a prompt of real token embeddings (seeded: the same draw in any test order)
    prompt = llm.embed(torch.randint(0, llm.config.vocab_size, (1, 9), generator=torch.Generator().manual_seed(0)))
    mask = torch.ones(1, 9, dtype=torch.bool)
    mask[0, 2:4] = False
    config = GenerationConfig(max_new_tokens=16)
    reference = generate(llm, prompt, mask, config, keep_logits=True)
    float32 = OnnxRuntimeBackend.from_directory(onnx_backend.artefacts, llm_int8=False)
    assert float32.llm_precision == "fp32" and onnx_backend.llm_precision == "int8"
    stepper = OnnxStepper(float32.sessions["llm_step"], float32.sessions["token_embedding"],
                          llm.config.layers, llm.config.kv_heads, llm.config.head_dim)
    ours = generate(stepper, prompt, mask, config, keep_logits=True)
    assert ours.tokens == reference.tokens
    torch.testing.assert_close(torch.stack(ours.step_logits), torch.stack(reference.step_logits), atol=1e-4, rtol=1e-4)


def test_the_int8_language_model_keeps_the_answers_of_real_windows(backends):
    """The node's default decoding (block-wise int8 llm_step) on the chat prompts of real
    photographs' windows says what PyTorch's says of the face and the voice (the wording may
    differ: 86% of held-out answers are the same word for word, eval-head)."""
    from emotion_ros.runtime.faithful_answer import voice_stated
    from emotion_ros.eval.explain_benchmark import _prompts
    from emotion_ros.runtime.faithful_answer import named_expression

    torch_backend, onnx_backend, _ = backends
    stop = (torch_backend.tokenizer.eos_id,)
    config = GenerationConfig(max_new_tokens=48, stop_token_ids=stop)
    for theirs, ours in zip(_prompts(torch_backend), _prompts(onnx_backend)):
        reference = torch_backend.tokenizer.decode(generate(torch_backend._stepper(), theirs.embeds, theirs.mask, config).tokens)
        answer = onnx_backend.tokenizer.decode(generate(onnx_backend._stepper(), ours.embeds, ours.mask, config).tokens)
        labels = torch_backend.labels
        assert named_expression(answer, labels) == named_expression(reference, labels), (answer, reference)
        assert voice_stated(answer) == voice_stated(reference), (answer, reference)


def test_a_checkpoint_whose_graphs_are_cached_starts_without_pytorch(backends, monkeypatch):
    _, onnx_backend, cache = backends

    def refuse(*args, **kwargs):
        raise AssertionError("the cached graphs should have been used")

    monkeypatch.setattr("emotion_ros.runtime.onnx_backend.TorchBackend", refuse)
    again = OnnxRuntimeBackend.for_model("tiny", cache=cache)
    assert again.artefacts == onnx_backend.artefacts
    assert (again.model_id, again.trained) == (onnx_backend.model_id, True)
    assert read_manifest(again.artefacts)["weights_fingerprint"] == checkpoint_fingerprint(resolve_model("tiny"))


def test_the_checkpoint_fingerprint_changes_with_any_of_its_files(tmp_path):
    files = {"config.yaml": "name: tiny\n", "model.safetensors": "weights", "tokenizer.json": "{}",
             "tokenizer_config.json": "{}"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    seen = {checkpoint_fingerprint(tmp_path)}
    for name in files:
        (tmp_path / name).write_text(files[name] + " ")
        seen.add(checkpoint_fingerprint(tmp_path))
    (tmp_path / "notes.txt").write_text("not part of the checkpoint")
    assert checkpoint_fingerprint(tmp_path) in seen and len(seen) == len(files) + 1


def test_the_same_weights_give_the_same_fingerprint_whatever_order_their_metadata_was_written_in(tmp_path):
    """A rebuilt or reassembled checkpoint keeps its cached graphs: safetensors writes the
    metadata in hash-map order, so the file's own bytes differ from one writer to the next."""
    from safetensors.torch import save_file

    from emotion_ros.model.checkpoint import weights_sha256

    tensors = {"a": torch.arange(6.0).reshape(2, 3), "b": torch.ones(4)}
    metadata = {"format": "emotion_ros", "preset": "tiny", "built_by": "emotion-ros assemble-tiny"}
    digests = set()
    for order in (list(metadata), list(reversed(metadata))):
        path = tmp_path / f"{order[0]}.safetensors"
        save_file(tensors, str(path), metadata={key: metadata[key] for key in order})
        size = int.from_bytes(path.read_bytes()[:8], "little")
        digests.add(weights_sha256(path))
        header = json.loads(path.read_bytes()[8:8 + size])
        assert header["__metadata__"] == metadata
    assert len(digests) == 1
    save_file({**tensors, "b": torch.full((4,), 2.0)}, str(tmp_path / "other.safetensors"), metadata=metadata)
    assert weights_sha256(tmp_path / "other.safetensors") not in digests


@pytest.mark.slow
def test_corrupt_or_stale_artefacts_are_detected_and_rebuilt(backends, tmp_path):
    _, onnx_backend, cache = backends
    directory = onnx_backend.artefacts
    manifest = read_manifest(directory)
    window = directory / manifest["graphs"]["window"]["file"]
    data = bytearray(window.read_bytes())
    data[len(data) // 2] ^= 0xFF
    window.write_bytes(bytes(data))
    with pytest.raises(StaleArtefacts, match="does not match its recorded sha256"):
        read_manifest(directory)
    # The backend never runs the modified file: it exports the graphs again.
    rebuilt = OnnxRuntimeBackend.for_model("tiny", cache=cache)
    assert read_manifest(rebuilt.artefacts)["graphs"]["window"]["sha256"] == manifest["graphs"]["window"]["sha256"]
    # Graphs of other weights are refused by fingerprint.
    torch.manual_seed(1)
    other = build_network(load_preset("tiny")).eval()
    export_artefacts(other, tmp_path / "other", "tiny@other")
    with pytest.raises(StaleArtefacts, match="other weights"):
        read_manifest(tmp_path / "other", fingerprint=weights_fingerprint(onnx_backend_reference()))
    # ... and so are graphs of the same weights under another configuration (frames read per window).
    reference = onnx_backend_reference()
    regrouped = build_network(dataclasses.replace(reference.config, frames_read=8)).eval()
    regrouped.load_state_dict(reference.state_dict())
    assert weights_fingerprint(regrouped) != weights_fingerprint(reference)
    (tmp_path / "other" / "manifest.json").write_text("{broken")
    with pytest.raises(StaleArtefacts, match="not valid JSON"):
        read_manifest(tmp_path / "other")
    missing = json.loads((directory / "manifest.json").read_text())
    (directory / missing["graphs"]["llm_step"]["file"]).unlink()
    with pytest.raises(StaleArtefacts, match="missing"):
        read_manifest(directory)


def onnx_backend_reference():
    return TorchBackend("tiny").network


def test_auto_prefers_onnx_runtime_and_torch_can_be_forced():
    assert create_backend("auto", "tiny").name == "onnxruntime"
    assert create_backend("torch", "tiny").name == "torch"
    with pytest.raises(RuntimeError, match="unknown backend"):
        create_backend("tensorflow", "tiny")


@pytest.mark.parametrize("aspect, placements", [
    ("4:3", [(640 / 12, 0.25, 0.35)]),  # far: a face 1/12 of the frame wide, off centre
    ("16:9", [(1280 / 3, 0.5, 0.45)]),  # near: a third of the frame
    ("16:9", [(1280 / 7.5, x, 0.45) for x in (0.17, 0.5, 0.83)]),  # three people
])
def test_int8_explanations_of_each_person_near_far_and_in_groups_agree_with_their_state(backends, aspect, placements):
    """The node's explainer on its default decoding (int8 llm_step): every person in view is
    explained, each answer names that person's published label and the voice, and none needs replacing."""
    from emotion_ros.runtime.estimator import EmotionEstimator
    from emotion_ros.runtime.explainer import explain_person
    from emotion_ros.runtime.faithful_answer import published_label, voice_stated
    from emotion_ros.runtime.file_prediction import image_window
    from emotion_ros.samples.face_composites import FRAME_SIZES

    _, onnx_backend, _ = backends
    rgb, _ = paste_faces(scene("coffee", *FRAME_SIZES[aspect]), placements)
    estimate, contexts = EmotionEstimator(onnx_backend).estimate(image_window(rgb, onnx_backend))
    assert len(estimate.people) == len(placements)
    for person in estimate.people:
        explanation = explain_person(onnx_backend, estimate, contexts.of(person.id), person.id, "", 48)
        # the default question is answered with the reading: it names the label, and the voice as it is
        assert not explanation.replaced and explanation.label == published_label(estimate, person), explanation
        assert voice_stated(explanation.text) == "no sound", explanation  # a still image: no microphone
