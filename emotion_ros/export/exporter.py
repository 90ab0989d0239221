"""`emotion-ros export`: a checkpoint -> checked ONNX graphs for a deployment profile.

Steps (each reported through ``progress``):
1. export the profile's graphs at its precision (float16 is baked into the ONNX), simplify
   them with onnxslim, check them with onnx.checker;
2. parity: run every graph in ONNX Runtime against PyTorch (float32) on real inputs (the
   sample clip's frames and speech when espeak-ng is there, else the astronaut photograph and
   a synthetic voice) and check max |difference| against the profile's tolerance; greedy
   decoding through llm_step must give PyTorch's tokens (float32 profiles);
3. onnxruntime profiles: save the optimised graphs, and dynamic int8 graphs with their
   accuracy against float32;
4. tensorrt profiles: check every operator against the list of those TensorRT's ONNX parser
   supports (tensorrt_ops.py; the parser itself needs a Builder, so a GPU), and write the
   optimisation-profile shapes the engine builder uses on the device.
The directory gets manifest.json (hashes), report.json (all numbers) and the tokenizer. Every
step runs on a staging directory beside ``out``; only a set that passed them all replaces
``out``, so a failed export leaves the previous one in place and nothing unchecked to load.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import onnxruntime as ort

from emotion_ros.artefacts.onnx_artefacts import (add_variant, export_artefacts, quantize_dynamic_int8, quantize_llm_int8,
                                                  read_manifest, weights_fingerprint)
from emotion_ros.export.profile import ExportProfile
from emotion_ros.export.tensorrt_ops import unsupported_operators
from emotion_ros.export.tensorrt_shapes import optimisation_profiles
from emotion_ros.model.face_encoder import BOX, DETECTION, person_tokens
from emotion_ros.model.generation import GenerationConfig, generate
from emotion_ros.model.network import EmotionNetwork
from emotion_ros.model.text_cues import text_cues
from emotion_ros.runtime.onnx_backend import OnnxRuntimeBackend, OnnxStepper
from emotion_ros.runtime.people import people_in_window
from emotion_ros.runtime.torch_backend import TorchBackend

Progress = Callable[[str], None]


class ParityError(RuntimeError):
    """An exported graph disagrees with PyTorch beyond the profile's tolerance."""


def parity_inputs(frame_size: int, num_frames: int, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Real frames (T, S, S, 3) uint8 and audio (samples,) float32 for parity checks."""
    from emotion_ros.io.letterbox import letterbox

    try:
        from emotion_ros.io.media import VideoFrame, read_media
        from emotion_ros.samples.sample_clip import make_sample_clip

        with tempfile.TemporaryDirectory() as tmp:
            clip = make_sample_clip(Path(tmp) / "clip.mp4", duration=3.0, fps=10, size=(320, 240))
            frames, chunks = [], []
            for item in read_media(str(clip)):
                if isinstance(item, VideoFrame):
                    frames.append(item.rgb)
                else:
                    chunks.append(item.samples.mean(axis=1))
        import soxr

        audio = soxr.resample(np.concatenate(chunks), 44100, 16000).astype(np.float32)
        frames = [frames[round(i * (len(frames) - 1) / (num_frames - 1))] for i in range(num_frames)]
    except Exception:  # no espeak-ng: a real photograph and a harmonic, syllable-paced "voice"
        from skimage import data

        photo = data.astronaut()
        frames = [np.roll(photo, 4 * i, axis=1) for i in range(num_frames)]
        t = np.arange(samples) / 16000
        audio = (0.2 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 4 * t) > 0)).astype(np.float32)
    frames = np.stack([letterbox(f, frame_size) for f in frames])
    audio = np.pad(audio, (0, max(0, samples - audio.size)))[-samples:]
    return frames, audio


def _max_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def _main_person_views(reference, ref_features: np.ndarray, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The window graph's inputs for both feature sets: for a face reader, the main person's
    view, with the person followed through the frames as the reference sees them."""
    if not reference.reads_faces:
        return ref_features, features
    people = people_in_window(ref_features)
    slots = people[0].slots if people else np.full(len(ref_features), -1)
    return person_tokens(ref_features, slots), person_tokens(features, slots)


def _face_reader_parity(reference: TorchBackend, exported: OnnxRuntimeBackend, frames: np.ndarray) -> dict:
    """The keypoints and embeddings the frame encoder gives, and faces read where a runtime follows
    them (the faces found in the first frame, read in the last), against PyTorch."""
    tokens, keypoints, embeddings = reference.locate_faces(frames[:1])
    found = tokens[0, :, DETECTION] > 0
    boxes, points = tokens[0, found, BOX], keypoints[0, found]
    if not found.any():  # no face in the parity frames: read the middle of the frame
        boxes, points = np.array([[0.3, 0.3, 0.7, 0.7]], np.float32), np.full((1, 6, 2), 0.5, np.float32)
        points[0, 1, 0] = 0.6  # eyes apart
    ours, our_embeddings = exported.read_faces(frames[-1], boxes, points)
    theirs, their_embeddings = reference.read_faces(frames[-1], boxes, points)
    _, exported_keypoints, exported_embeddings = exported.locate_faces(frames[:1])
    return {"keypoints": _max_diff(exported_keypoints, keypoints), "embeddings": _max_diff(exported_embeddings, embeddings),
            "face_reader": _max_diff(ours, theirs) / max(1.0, float(np.abs(theirs).max())),
            "face_reader_embeddings": _max_diff(our_embeddings, their_embeddings)}


PARITY_WORDS = "I really cannot believe this happened again!"  # what is said in parity windows (a text view reads it)


def check_parity(reference: TorchBackend, exported: OnnxRuntimeBackend, tolerance: float, check_tokens: bool,
                 frames: np.ndarray, audio: np.ndarray) -> dict:
    """Max |difference| of every output against PyTorch; raises ParityError beyond tolerance."""
    ref_features, features = reference.encode_frames(frames), exported.encode_frames(frames)
    report = {"frame_features": _max_diff(features, ref_features) / max(1.0, float(np.abs(ref_features).max()))}
    if reference.reads_faces:
        report.update(_face_reader_parity(reference, exported, frames))
    ref_features, features = _main_person_views(reference, ref_features, features)
    said = text_cues(PARITY_WORDS)
    for video, sound, words in ((True, True, True), (True, False, False), (False, True, True)):
        ours = exported.perceive(features, frames[-1], audio, video, sound, text=said if words else None)
        theirs = reference.perceive(ref_features, frames[-1], audio, video, sound, text=said if words else None)
        key = f"video={video},audio={sound}" + (f",words={words}" if reference.reads_text else "")
        report[f"probabilities[{key}]"] = _max_diff(ours.scores, theirs.scores)
        report[f"valence_arousal[{key}]"] = max(abs(ours.valence - theirs.valence), abs(ours.arousal - theirs.arousal))
        prefix = theirs.context[0].float().numpy()
        report[f"prefix[{key}]"] = _max_diff(ours.context[0], prefix) / max(1.0, float(np.abs(prefix).max()))
    failures = {k: v for k, v in report.items() if v > tolerance}
    if check_tokens:
        llm = reference.network.llm
        prompt = reference.perceive(ref_features, frames[-1], audio, True, True).context
        config = GenerationConfig(max_new_tokens=12)
        theirs = generate(llm, prompt[0], prompt[1], config).tokens
        stepper = OnnxStepper(exported.sessions["llm_step"], exported.sessions["token_embedding"],
                              llm.config.layers, llm.config.kv_heads, llm.config.head_dim)
        ours = generate(stepper, prompt[0], prompt[1], config).tokens
        report["greedy_tokens_equal"] = ours == theirs
        if ours != theirs:
            failures["greedy_tokens"] = f"onnx {ours} vs torch {theirs}"
    if failures:
        raise ParityError(f"exported graphs differ from PyTorch beyond {tolerance:g}: {failures}")
    return report


def save_optimised(directory: Path, graphs: dict) -> dict:
    """ONNX Runtime's extended graph optimisations, applied once and saved (portable across CPUs)."""
    saved = {}
    for name, entry in graphs.items():
        target = directory / f"{name}.optimized.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(target)
        options.log_severity_level = 3
        ort.InferenceSession(str(directory / entry["file"]), options, providers=["CPUExecutionProvider"])
        saved[name] = target.name
    return saved


def int8_accuracy(reference: OnnxRuntimeBackend, quantised: OnnxRuntimeBackend, frames: np.ndarray, audio: np.ndarray) -> dict:
    theirs, ours = _main_person_views(reference, reference.encode_frames(frames), quantised.encode_frames(frames))
    a = quantised.perceive(ours, frames[-1], audio, True, True)
    b = reference.perceive(theirs, frames[-1], audio, True, True)
    return {
        "probabilities_max_abs": _max_diff(a.scores, b.scores),
        "valence_arousal_max_abs": max(abs(a.valence - b.valence), abs(a.arousal - b.arousal)),
        "same_label": bool(np.argmax(a.scores) == np.argmax(b.scores)),
        "frame_features_relative": _max_diff(ours, theirs) / max(1.0, float(np.abs(theirs).max())),
    }


def keep_face_reading_float32(half: EmotionNetwork, original: EmotionNetwork) -> None:
    """A face reader's float16 export keeps finding and reading faces in float32: the
    detectors and the FER network are small (well under a GFLOP a frame), and in float16 they
    moved the parity clip's expression logits by up to 0.37 (about 4% of their range), since
    a box a fraction of a pixel off shifts the whole crop. The fusion and the language model,
    where the time goes, stay float16. Each graph's precision is in the manifest."""
    half.temporal_view.preprocess = copy.deepcopy(original.temporal_view.preprocess)  # not re-widened: float16-rounded
    half.temporal_view.encoder = copy.deepcopy(original.temporal_view.encoder)


def export_model(model: str, profile: ExportProfile, out: str | Path, progress: Progress = print) -> dict:
    """Export ``model`` (checkpoint directory or preset) for ``profile`` into ``out`` and check
    it; returns the report. ``out`` is replaced only when every check passed."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-checking-", dir=out.parent))
    try:
        report = _export_checked(model, profile, staging, progress)
        replace_directory(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress(f"wrote {out}")
    return report


def replace_directory(source: Path, target: Path) -> None:
    """Move ``source`` to ``target``, replacing what was there (its old files are removed last)."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}-old-{os.getpid()}")
        os.replace(target, old)
    os.replace(source, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _export_checked(model: str, profile: ExportProfile, out: Path, progress: Progress) -> dict:
    progress(f"loading {model}")
    reference = TorchBackend(model)
    network = reference.network
    fingerprint = weights_fingerprint(network)
    to_export = network
    if profile.precision == "fp16":
        to_export = copy.deepcopy(network).half().eval()
        if reference.reads_faces:
            keep_face_reading_float32(to_export, network)
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer_files = {path.name: path for path in reference.tokenizer.save(scratch)}
        export_artefacts(to_export, out, reference.model_id, profile.graphs, simplify=profile.simplify,
                         fingerprint=fingerprint, extra_files=tokenizer_files, progress=progress)
    manifest = read_manifest(out, graphs=profile.graphs)
    report = {"profile": profile.name, "target": profile.target, "precision": profile.precision,
              "model_id": reference.model_id, "graphs": {}}
    for name, entry in manifest["graphs"].items():
        model_proto = onnx.load(str(out / entry["file"]), load_external_data=False)
        report["graphs"][name] = {"file": entry["file"], "nodes": len(model_proto.graph.node),
                                  "operators": sorted({n.op_type for n in model_proto.graph.node})}
    if set(profile.graphs) >= {"frame_encoder", "window", "token_embedding", "llm_step"}:
        progress("checking parity against PyTorch")
        frames, audio = parity_inputs(reference.frame_size, reference.num_frames, round(reference.window * reference.sample_rate))
        exported = OnnxRuntimeBackend.from_directory(out)
        report["parity"] = check_parity(reference, exported, profile.tolerance, profile.precision == "fp32", frames, audio)
        report["parity"]["tolerance"] = profile.tolerance
    if profile.target == "onnxruntime":
        if profile.optimize:
            progress("saving ONNX Runtime optimised graphs")
            report["optimized"] = save_optimised(out, manifest["graphs"])
            add_variant(out, "optimized", report["optimized"])
        if profile.quantize == "dynamic_int8":
            progress("quantising to dynamic int8")
            report["int8"] = quantize_dynamic_int8(out, tuple(n for n in ("frame_encoder", "face_reader", "window")
                                                               if n in manifest["graphs"]))
            add_variant(out, "int8", report["int8"])
            if "llm_step" in manifest["graphs"]:  # the language model's own variant: used unless refused
                report["llm_int8"] = {"llm_step": quantize_llm_int8(out)}
                add_variant(out, "llm_int8", report["llm_int8"])
            report["int8_accuracy"] = int8_accuracy(OnnxRuntimeBackend.from_directory(out),
                                                    OnnxRuntimeBackend.from_directory(out, int8=True), frames, audio)
    else:
        progress("checking operators against those TensorRT's ONNX parser supports")
        missing = {name: unsupported_operators(graph["operators"]) for name, graph in report["graphs"].items()}
        report["tensorrt_unsupported_operators"] = {k: v for k, v in missing.items() if v}
        if report["tensorrt_unsupported_operators"]:
            raise ParityError(f"operators TensorRT cannot parse: {report['tensorrt_unsupported_operators']}")
        report["tensorrt_profiles"] = optimisation_profiles(profile, manifest["config"], reference.frame_size)
        (out / "tensorrt_profiles.json").write_text(json.dumps(report["tensorrt_profiles"], indent=2))
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str))
    return report
