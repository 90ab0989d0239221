"""`emotion-ros export`: profiles, checked graphs, parity, int8, TensorRT metadata and stale engines."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter

from emotion_ros.artefacts import tensorrt_engine
from emotion_ros.artefacts.onnx_artefacts import StaleArtefacts, read_manifest
from emotion_ros.export.exporter import export_model
from emotion_ros.export.profile import ExportProfile, ProfileError, load_profile
from emotion_ros.artefacts.tensorrt_engine import MachineIdentity, StaleEngine, TensorRTUnavailable, ensure_engine, sidecar_mismatches
from emotion_ros.export.tensorrt_ops import unsupported_operators
from emotion_ros.nodes.perception_node import PerceptionNode
from emotion_ros.nodes.runner import bring_up, shut_down
from emotion_ros.runtime.onnx_backend import OnnxRuntimeBackend
from emotion_ros.runtime.people import main_person_view


@pytest.fixture(scope="module")
def cpu_export(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "tiny-cpu"
    return out, export_model("tiny", load_profile("cpu"), out, progress=lambda line: None)


@pytest.fixture(scope="module")
def jetson_export(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "tiny-jetson"
    return out, export_model("tiny", load_profile("jetson-orin"), out, progress=lambda line: None)


@pytest.mark.slow
def test_cpu_export_is_checked_optimised_and_quantised(cpu_export):
    out, report = cpu_export
    manifest = read_manifest(out)
    assert set(manifest["graphs"]) == {"frame_encoder", "face_reader", "window", "token_embedding", "llm_step"}
    assert set(manifest["variants"]) == {"optimized", "int8", "llm_int8"} and manifest["precision"] == "fp32"
    assert set(manifest["variants"]["int8"]) == {"frame_encoder", "face_reader", "window"}
    assert set(manifest["variants"]["llm_int8"]) == {"llm_step"}
    assert OnnxRuntimeBackend.from_directory(out).llm_precision == "int8"
    assert OnnxRuntimeBackend.from_directory(out, llm_int8=False).llm_precision == "fp32"
    parity = report["parity"]
    # faces found, and faces read where they are followed
    assert {"keypoints", "embeddings", "face_reader", "face_reader_embeddings"} <= set(parity)
    assert parity["greedy_tokens_equal"] is True
    assert all(v <= 1e-4 for k, v in parity.items() if isinstance(v, float) and k != "tolerance")
    accuracy = report["int8_accuracy"]
    # int8 is opt-in; on the default checkpoint it moves probabilities by about 0.05 (measured)
    assert accuracy["same_label"] and accuracy["probabilities_max_abs"] < 0.1
    assert (out / "tokenizer.json").is_file() and json.loads((out / "report.json").read_text())["profile"] == "cpu"
    # onnxslim made the graphs smaller than the exporter's raw output would be.
    assert report["graphs"]["window"]["nodes"] < 600


@pytest.mark.slow
def test_jetson_export_bakes_float16_and_uses_only_parsable_operators(jetson_export):
    out, report = jetson_export
    manifest = read_manifest(out)
    assert manifest["precision"] == "fp16"
    # Mixed precision: faces are found and read in float32, fusion and the language model in float16.
    assert {name: entry["precision"] for name, entry in manifest["graphs"].items()} == {
        "frame_encoder": "fp32", "face_reader": "fp32", "window": "fp16", "token_embedding": "fp16", "llm_step": "fp16"}
    assert report["tensorrt_unsupported_operators"] == {}
    assert all(v <= 2e-2 for k, v in report["parity"].items() if isinstance(v, float))
    frame_keys = ("frame_features", "keypoints", "embeddings", "face_reader", "face_reader_embeddings")
    assert all(report["parity"][k] < 1e-4 for k in frame_keys), report["parity"]  # float32 weights, not re-widened float16
    shapes = json.loads((out / "tensorrt_profiles.json").read_text())
    assert shapes["frame_encoder"]["frames"] == [[1, 512, 512, 3], [4, 512, 512, 3], [16, 512, 512, 3]]
    assert shapes["face_reader"]["boxes"] == [[1, 1, 4], [1, 2, 4], [1, 8, 4]]
    # SmolLM2's cache: 30 layers of 3 key/value heads of 64
    assert shapes["llm_step"]["past_key_0"] == [[1, 3, 0, 64], [1, 3, 320, 64], [1, 3, 576, 64]]
    assert sum(name.startswith("past_") for name in shapes["llm_step"]) == 2 * 30
    assert shapes["llm_step"]["key_mask"] == [[1, 1], [1, 640], [1, 1088]]
    import onnx

    weights = onnx.load(str(out / "window.onnx")).graph.initializer
    assert any(w.data_type == onnx.TensorProto.FLOAT16 for w in weights)
    weights = onnx.load(str(out / "frame_encoder.onnx")).graph.initializer
    assert not any(w.data_type == onnx.TensorProto.FLOAT16 for w in weights)


@pytest.mark.slow
def test_the_node_runs_on_exported_artefacts_and_refuses_corrupt_ones(ros, cpu_export, tmp_path):
    out, _ = cpu_export
    for int8 in (False, True):
        node = PerceptionNode(parameter_overrides=[Parameter("model", value=str(out)), Parameter("int8", value=int8)])
        try:
            bring_up(node)
            assert node.backend.name == "onnxruntime" and node.backend.artefacts == out
            rng = np.random.default_rng(0)
            size = node.backend.frame_size  # as the node letterboxes frames
            frames = rng.integers(0, 256, (node.backend.num_frames, size, size, 3), dtype=np.uint8)
            features = main_person_view(node.backend.encode_frames(frames), node.backend.reads_faces)
            result = node.backend.perceive(features, frames[-1], np.zeros(32000, np.float32), True, False)
            assert np.isclose(result.scores.sum(), 1.0, atol=1e-5)
            boxes, keypoints = np.array([[0.3, 0.3, 0.6, 0.6]], np.float32), np.full((1, 6, 2), 0.45, np.float32)
            expression, embeddings = node.backend.read_faces(frames[-1], boxes, keypoints)
            assert expression.shape == (1, 7) and np.isclose(np.linalg.norm(embeddings), 1.0, atol=1e-3)
        finally:
            shut_down([node])
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    graph = broken / "frame_encoder.onnx"
    graph.write_bytes(graph.read_bytes()[:-100] + bytes(100))
    with pytest.raises(StaleArtefacts, match="does not match its recorded sha256"):
        OnnxRuntimeBackend.from_directory(broken)
    node = PerceptionNode(parameter_overrides=[Parameter("model", value=str(broken))])
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert "frame_encoder.onnx does not match its recorded sha256" in node.failure_reason
    finally:
        shut_down([node])


MACHINE = MachineIdentity(tensorrt="10.3.0", gpu="Orin", compute_capability="8.7")
SHAPES = {"frames": [[1, 224, 224, 3], [4, 224, 224, 3], [16, 224, 224, 3]]}


def fake_build(calls):
    def build(trt, machine, onnx_path, engine_path, shapes, precision, workspace, timing_cache=None):
        calls.append(engine_path.name)
        engine_path.write_bytes(b"engine for " + machine.gpu.encode())
        sidecar = {"tensorrt": machine.tensorrt, "gpu": machine.gpu, "compute_capability": machine.compute_capability,
                   "onnx_sha256": tensorrt_engine.file_sha256(onnx_path), "precision": precision, "shapes": shapes,
                   "engine_sha256": tensorrt_engine.file_sha256(engine_path)}
        tensorrt_engine.sidecar_path(engine_path).write_text(json.dumps(sidecar))
        return engine_path
    return build


def test_stale_engines_are_rebuilt_or_refused_never_run(tmp_path, monkeypatch):
    """The decisions around an engine, with the GPU build replaced by a recorder."""
    calls = []
    monkeypatch.setattr(tensorrt_engine, "build_engine", fake_build(calls))
    onnx_file, engine = tmp_path / "frame_encoder.onnx", tmp_path / "frame_encoder.engine"
    onnx_file.write_bytes(b"graph v1")
    ensure = lambda machine=MACHINE, rebuild=False, precision="fp16": ensure_engine(  # noqa: E731
        None, machine, onnx_file, engine, SHAPES, precision, 1024, rebuild)
    ensure()
    assert calls == ["frame_encoder.engine"]  # missing: built
    ensure()
    assert len(calls) == 1  # matching sidecar: reused
    jetpack7 = MachineIdentity("10.16.0", "Orin", "8.7")
    with pytest.raises(StaleEngine, match=r"built with TensorRT 10\.3\.0, this machine has 10\.16\.0.*force_engine_update"):
        ensure(jetpack7)
    ensure(jetpack7, rebuild=True)
    assert len(calls) == 2
    onnx_file.write_bytes(b"graph v2")  # re-exported model
    with pytest.raises(StaleEngine, match="another ONNX file"):
        ensure(jetpack7)
    ensure(jetpack7, rebuild=True)
    engine.write_bytes(b"garbage")  # corrupt engine
    with pytest.raises(StaleEngine, match="does not match its recorded sha256"):
        ensure(jetpack7)
    with pytest.raises(StaleEngine, match="float|fp32"):
        ensure(jetpack7, precision="fp32")
    tensorrt_engine.sidecar_path(engine).unlink()
    with pytest.raises(StaleEngine, match="no sidecar"):
        ensure(jetpack7)


def test_sidecar_mismatches_name_every_difference():
    sidecar = {"tensorrt": "10.3.0", "gpu": "Orin", "compute_capability": "8.7", "onnx_sha256": "a",
               "precision": "fp16", "shapes": SHAPES}
    assert sidecar_mismatches(sidecar, MACHINE, "a", "fp16", SHAPES) == []
    other = MachineIdentity("11.4.0", "NVIDIA RTX 4090", "8.9")
    problems = sidecar_mismatches(sidecar, other, "b", "fp32", {"frames": []})
    assert len(problems) == 5 and "RTX 4090" in problems[1]


@pytest.mark.slow
def test_tensorrt_builds_engines_where_a_gpu_exists(jetson_export):
    try:
        tensorrt_engine.probe_tensorrt()
    except TensorRTUnavailable as reason:
        pytest.skip(f"TensorRT cannot build engines here: {reason}")
    from emotion_ros.runtime.tensorrt_backend import TensorRTBackend

    out, _ = jetson_export
    backend = TensorRTBackend(out, force_engine_update=True)
    reference = OnnxRuntimeBackend.from_directory(out)
    size = reference.frame_size  # the engines' profiles take frames of the frame size only
    frames = np.random.default_rng(0).integers(0, 256, (4, size, size, 3), dtype=np.uint8)
    np.testing.assert_allclose(backend.encode_frames(frames), reference.encode_frames(frames), atol=5e-2)


def test_profiles_and_operator_coverage():
    for name in ("cpu", "jetson-orin", "desktop-gpu"):
        assert load_profile(name).name == name
    with pytest.raises(ProfileError, match="unknown export profile"):
        load_profile("tpu")
    with pytest.raises(ProfileError, match="min <= opt <= max"):
        ExportProfile(name="x", target="tensorrt", frames=(4, 1, 16))
    with pytest.raises(ProfileError, match="precision"):
        ExportProfile(name="x", target="tensorrt", precision="int4")
    assert unsupported_operators(["MatMul", "Softmax", "MyCustomOp", "LayerNormalization"]) == ["MyCustomOp"]


@pytest.mark.slow
def test_export_cli_reports_and_fails_cleanly(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "emotion_ros.cli", "export", "tiny", "--profile", "jetson-orin",
                         "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "[export] checking operators against those TensorRT's ONNX parser supports" in ok.stdout
    assert "emotion-ros build-engines" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "emotion_ros.cli", "export", "tiny", "--profile", "tpu",
                          "--out", str(tmp_path / "x")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "unknown export profile 'tpu'" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_a_failed_check_leaves_the_previous_export_and_nothing_unchecked(tmp_path, monkeypatch):
    from emotion_ros.export import exporter

    out = tmp_path / "cpu"
    out.mkdir()
    (out / "manifest.json").write_text('{"model_id": "the previous, checked export"}')

    def parity_fails(*args, **kwargs):
        raise exporter.ParityError("exported graphs differ from PyTorch beyond 1e-05: {'valence': 0.1}")

    monkeypatch.setattr(exporter, "check_parity", parity_fails)
    with pytest.raises(exporter.ParityError):
        export_model("tiny", load_profile("cpu"), out, progress=lambda line: None)
    assert [p.name for p in tmp_path.iterdir()] == ["cpu"]  # no staging left behind
    assert [p.name for p in out.iterdir()] == ["manifest.json"]
    assert "previous" in (out / "manifest.json").read_text()


@pytest.mark.slow
def test_edge_preset_exports_for_jetson_on_cpu(tmp_path):
    """The Jetson-sized model (314 M parameters): about a minute and 6 GB of RAM here."""
    report = export_model("edge", load_profile("jetson-orin"), tmp_path / "edge", progress=lambda line: None)
    assert report["tensorrt_unsupported_operators"] == {}
    assert all(v <= 2e-2 for k, v in report["parity"].items() if isinstance(v, float))
    assert read_manifest(tmp_path / "edge")["config"]["name"] == "edge"


class RecordingSession:
    """An ONNX Runtime session that records the shape of every input it is fed, by run() or by
    I/O binding (the language model's decoding binds its inputs)."""

    def __init__(self, session, graph, seen):
        self.session, self.graph, self.seen = session, graph, seen

    def record(self, name, shape):
        self.seen.setdefault(self.graph, {}).setdefault(name, set()).add(tuple(shape))

    def run(self, outputs, inputs):
        for name, value in inputs.items():
            self.record(name, np.shape(value))
        return self.session.run(outputs, inputs)

    def io_binding(self):
        return RecordingBinding(self.session.io_binding(), self)

    def run_with_iobinding(self, binding, *args):
        return self.session.run_with_iobinding(binding.binding, *args)

    def __getattr__(self, name):
        return getattr(self.session, name)


class RecordingBinding:
    """An I/O binding that records the shape of every input bound to it."""

    def __init__(self, binding, session: RecordingSession):
        self.binding, self.session = binding, session

    def bind_cpu_input(self, name, value):
        self.session.record(name, np.shape(value))
        self.binding.bind_cpu_input(name, value)

    def bind_ortvalue_input(self, name, value):
        self.session.record(name, value.shape())
        self.binding.bind_ortvalue_input(name, value)

    def __getattr__(self, name):
        return getattr(self.binding, name)


@pytest.mark.slow
@pytest.mark.parametrize("profile_name", ["jetson-orin", "desktop-gpu"])
def test_every_shape_the_runtime_feeds_fits_the_tensorrt_profiles(cpu_export, sample_clip, profile_name):
    """Video windows, audio-only windows and explanations (the longest question allowed) through
    the estimator, checked against the optimisation profiles TensorRT engines are built with."""
    import dataclasses

    from emotion_ros.export.tensorrt_shapes import optimisation_profiles
    from emotion_ros.io.transcript import Utterance
    from emotion_ros.model.chat_prompt import perception_facts
    from emotion_ros.model.prompt import SUBTITLE_CHARACTERS
    from emotion_ros.runtime.estimator import EmotionEstimator
    from emotion_ros.runtime.explain_limits import MAX_QUESTION_TOKENS
    from emotion_ros.window.config import emotion_node_window
    from emotion_ros.window.media_windows import iter_media_windows

    out, _ = cpu_export
    backend = OnnxRuntimeBackend.from_directory(out)
    seen = {}
    backend.sessions = {graph: RecordingSession(session, graph, seen) for graph, session in backend.sessions.items()}
    estimator = EmotionEstimator(backend)
    windows = list(iter_media_windows(sample_clip, emotion_node_window(), backend.frame_size, on_frame=estimator.prefill))
    audio_only = dataclasses.replace(windows[-1], video_present=False, frames=None,
                                     frame_mask=np.zeros_like(windows[-1].frame_mask))
    said = dataclasses.replace(windows[0], words=(Utterance("What a lovely surprise, thank you so much!", 0.0, 2.0),))
    for window in windows + [audio_only, said]:
        _, contexts = estimator.estimate(window)
    question = " ".join(["why"] * MAX_QUESTION_TOKENS)
    while len(backend.tokenizer.encode(question)) > MAX_QUESTION_TOKENS:
        question = question[:-4]
    # the longest prompt: the longest question and the most words a prompt quotes, in words the
    # tokenizer never saw (about a token per character)
    backend.explain(contexts.main, question, 4, subtitle="zq" * SUBTITLE_CHARACTERS,
                    facts=perception_facts(4, "surprise", 0.99, "not speaking"))
    config = read_manifest(out)["config"]
    profiles = optimisation_profiles(load_profile(profile_name), config, backend.frame_size)
    # the default checkpoint's language model: SmolLM2's 30 layers, 3 key/value heads of 64
    assert (config["llm"]["layers"], config["llm"]["kv_heads"], config["llm"]["dim"] // config["llm"]["heads"]) == (30, 3, 64)
    assert profiles["llm_step"]["past_value_29"][2] == [1, 3, load_profile(profile_name).past_tokens[2], 64]
    outside = []
    for graph, inputs in profiles.items():
        for name, (low, _, high) in inputs.items():
            for shape in seen.get(graph, {}).get(name, ()):
                if len(shape) != len(low) or any(not lo <= n <= hi for n, lo, hi in zip(shape, low, high)):
                    outside.append(f"{graph}.{name}: fed {shape}, profile {low}..{high}")
    assert {"window", "face_reader", "llm_step"} <= set(seen) and "text" in seen["window"]
    assert not outside, outside


def test_an_input_outside_the_engines_profile_is_refused_before_it_runs():
    """EngineRunner with TensorRT's answers stubbed (no GPU here): set_input_shape says False
    for a shape outside the profile, and nothing is copied to the GPU or run."""
    import torch

    from emotion_ros.runtime.tensorrt_backend import EngineRunner

    class Context:
        def set_input_shape(self, name, shape):
            return shape[1:] == (512, 512, 3) and 1 <= shape[0] <= 16

        def execute_async_v3(self, stream):
            raise AssertionError("ran on a shape outside the profile")

    class Engine:
        def get_tensor_profile_shape(self, name, profile):
            return [(1, 512, 512, 3), (4, 512, 512, 3), (16, 512, 512, 3)]

    runner = EngineRunner.__new__(EngineRunner)
    runner.engine, runner.context, runner.inputs, runner.outputs = Engine(), Context(), ["frames"], ["features"]
    runner.dtypes = {"frames": torch.uint8, "features": torch.float16}
    with pytest.raises(ValueError, match=r"frames of shape \(4, 224, 224, 3\) is outside the engine's profile "
                                         r"\(\(1, 512, 512, 3\) to \(16, 512, 512, 3\)\)"):
        runner.run({"frames": torch.zeros(4, 224, 224, 3, dtype=torch.uint8)})
