"""The ONNX Runtime backend: the CPU default.

It runs the graphs of emotion_ros.export (frame encoder, window, token embedding, LLM step).
Given a checkpoint or preset, it exports them once into the cache, keyed by a fingerprint of
the weights, and reuses them on later starts; files that no longer match their manifest are
exported again, never run.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from emotion_ros.artefacts.onnx_artefacts import (StaleArtefacts, export_artefacts, graph_code_fingerprint, read_manifest,
                                                  weights_fingerprint)
from emotion_ros.artefacts.onnx_graphs import llm_io_names
from emotion_ros.model.checkpoint import checkpoint_fingerprint
from emotion_ros.model.config import config_from_dict
from emotion_ros.model.resolve import UNTRAINED_SUFFIX, resolve_model
from emotion_ros.model.tokenizer import TextTokenizer
from emotion_ros.paths import cache_dir
from emotion_ros.runtime.heap import return_freed_memory
from emotion_ros.runtime.model_backend import ModelBackend, WindowOutputs, window_graph_inputs
from emotion_ros.runtime.thread_priority import made_in_background
from emotion_ros.runtime.torch_backend import TorchBackend

_log = logging.getLogger(__name__)
# The cache's graphs are simplified as the deployment profiles' are: onnxslim folds the
# detectors' padding into their convolutions (the frame encoder runs about 15% faster).
SIMPLIFY = True
LLM_GRAPHS = ("token_embedding", "llm_step")  # the language model's: used only to explain


def cpu_session(path: Path, threads: int) -> ort.InferenceSession:
    """A CPU session with the node's options (threads: intra-op threads, 0: ONNX Runtime's choice)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only
    # Idle worker threads must not spin: on a 2-core robot they would steal the cores that
    # decode, convert and run the other backend calls.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxStepper:
    """The LLM step graph as a generation Stepper. The KV cache stays in ONNX Runtime's own
    tensors (I/O binding: each step's present keys and values are bound as the next step's
    past), so no step copies the cache into numpy and back; that copy, made holding Python's
    lock, delayed perception's threads while an explanation decoded."""

    def __init__(self, step: ort.InferenceSession, embed: ort.InferenceSession, layers: int, kv_heads: int, head_dim: int):
        self.step, self.embed = step, embed
        self.inputs, self.outputs = llm_io_names(layers)
        cache_type = {"tensor(float16)": np.float16}.get(step.get_inputs()[2].type, np.float32)
        self.empty = ort.OrtValue.ortvalue_from_numpy(np.zeros((1, kv_heads, 0, head_dim), cache_type))
        self.past: list[ort.OrtValue] = []
        self.mask = np.zeros((1, 0), bool)

    def _run(self, embeds: np.ndarray, mask: np.ndarray) -> torch.Tensor:
        binding = self.step.io_binding()
        binding.bind_cpu_input("inputs_embeds", np.ascontiguousarray(embeds, dtype=np.float32))
        binding.bind_cpu_input("key_mask", np.ascontiguousarray(mask))
        for name, value in zip(self.inputs[2:], self.past):
            binding.bind_ortvalue_input(name, value)
        for name in self.outputs:
            binding.bind_output(name, "cpu")
        self.step.run_with_iobinding(binding)
        logits, *self.past = binding.get_outputs()
        return torch.from_numpy(logits.numpy()[0])

    def start(self, prompt_embeds, prompt_mask) -> torch.Tensor:
        self.past = [self.empty] * (len(self.inputs) - 2)
        self.mask = prompt_mask.numpy()
        return self._run(prompt_embeds.numpy(), self.mask)

    def advance(self, token: int) -> torch.Tensor:
        embeds = self.embed.run(None, {"token_ids": np.array([[token]], np.int64)})[0]
        self.mask = np.concatenate([self.mask, np.ones((1, 1), bool)], axis=1)
        return self._run(embeds, self.mask)


class OnnxRuntimeBackend(ModelBackend):
    """Runs an export directory (manifest.json + graphs + tokenizer), e.g. from `emotion-ros export`.

    Graphs come from the manifest's "optimized" variant when the export saved one (ONNX
    Runtime's optimisations done once, offline); int8 takes the "int8" variant's graphs (frame
    encoder and window) instead, and refuses an export without them. The language model decodes
    with the "llm_int8" variant's llm_step when the export has one (about 1.9x faster and 530 MiB
    smaller than float32, and as faithful: models/MODEL_CARD.md) unless llm_int8 is False.
    OnnxRuntimeBackend.for_model() exports a checkpoint or preset into the cache first.
    """

    name = "onnxruntime"

    def __init__(self, directory: str | Path, threads: int = 0, int8: bool = False, llm_int8: bool = True):
        directory = Path(directory)
        manifest = read_manifest(directory)  # raises StaleArtefacts on any mismatch
        self.artefacts = directory
        model_id = manifest["model_id"]
        tokenizer = TextTokenizer.from_file(directory) if any(
            (directory / n).is_file() for n in ("tokenizer.json", "tokenizer.model")) else TextTokenizer.byte_level()
        graphs = {name: directory / entry["file"] for name, entry in manifest["graphs"].items()}
        variants = manifest.get("variants", {})
        graphs.update({name: directory / entry["file"] for name, entry in variants.get("optimized", {}).items()})
        if int8:
            if "int8" not in variants:
                raise StaleArtefacts(f"{directory} has no int8 graphs (export with quantize: dynamic_int8)")
            graphs.update({name: directory / entry["file"] for name, entry in variants["int8"].items()})
        if llm_int8:
            graphs.update({name: directory / entry["file"] for name, entry in variants.get("llm_int8", {}).items()})
        self.llm_precision = "int8" if llm_int8 and "llm_int8" in variants else manifest["precision"]
        self.sessions = {}
        for name, path in graphs.items():
            if name in LLM_GRAPHS:  # decoding runs at background priority, so perception keeps the cores
                self.sessions[name] = made_in_background(lambda: cpu_session(path, threads))
            else:
                self.sessions[name] = cpu_session(path, threads)
            return_freed_memory()  # the graph file's bytes, read and freed while loading
        super().__init__(config_from_dict(manifest["config"]), tokenizer, model_id,
                         not model_id.endswith(UNTRAINED_SUFFIX),
                         can_explain="llm_step" in self.sessions and "token_embedding" in self.sessions)

    @classmethod
    def from_directory(cls, directory: str | Path, threads: int = 0, int8: bool = False,
                       llm_int8: bool = True) -> "OnnxRuntimeBackend":
        return cls(directory, threads, int8, llm_int8)

    @classmethod
    def for_model(cls, model: str = "tiny", threads: int = 0, cache: str | Path | None = None,
                  llm_int8: bool = True) -> "OnnxRuntimeBackend":
        """A checkpoint directory or preset, exported once into the cache (keyed by fingerprints
        of the checkpoint's files, or of a preset's random weights, and of the graph code);
        cached files that no longer match their manifest are exported again.

        A checkpoint whose graphs are cached starts without loading PyTorch weights: the node
        then holds the ONNX Runtime sessions only (hundreds of MiB less for the language model).
        """
        exporter = hashlib.sha256(f"{graph_code_fingerprint()} simplify={SIMPLIFY}".encode()).hexdigest()
        source = resolve_model(model)
        fingerprint = checkpoint_fingerprint(source) if isinstance(source, Path) else None
        reference = None
        if fingerprint is None:  # a preset's random weights: seeded, so their fingerprint is stable
            reference = TorchBackend(model, threads=threads)
            fingerprint = weights_fingerprint(reference.network)
        directory = Path(cache or cache_dir() / "onnx") / f"{fingerprint[:16]}-{exporter[:8]}"
        try:
            read_manifest(directory, fingerprint=fingerprint)  # older exporters' graphs live under another key
        except StaleArtefacts as reason:
            reference = reference or TorchBackend(model, threads=threads)
            _log.info("exporting %s to ONNX in %s (%s)", reference.model_id, directory, reason)
            with tempfile.TemporaryDirectory() as scratch:
                tokenizer_files = {path.name: path for path in reference.tokenizer.save(scratch)}
                export_artefacts(reference.network, directory, reference.model_id, simplify=SIMPLIFY,
                                 fingerprint=fingerprint, extra_files=tokenizer_files, llm_int8=True)
        return cls(directory, threads, llm_int8=llm_int8)

    def encode_frames(self, frames: np.ndarray) -> np.ndarray:
        return self.sessions["frame_encoder"].run(None, {"frames": np.ascontiguousarray(frames, dtype=np.uint8)})[0]

    def locate_faces(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(self.sessions["frame_encoder"].run(["features", "keypoints", "embeddings"],
                                                        {"frames": np.ascontiguousarray(frames, dtype=np.uint8)}))

    def read_faces(self, frame: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        expression, embeddings = self.sessions["face_reader"].run(["expression", "embeddings"], {
            "frames": np.ascontiguousarray(frame, dtype=np.uint8)[None],
            "boxes": np.ascontiguousarray(boxes, dtype=np.float32)[None],
            "keypoints": np.ascontiguousarray(keypoints, dtype=np.float32)[None],
        })
        return expression[0], embeddings[0]

    def _run_window(self, views, global_frame, audio, video_present, audio_present, audio_mask, text) -> WindowOutputs:
        logits, valence_arousal, prefix, prefix_mask, speech = self.sessions["window"].run(
            None, window_graph_inputs(views, global_frame, audio, video_present, audio_present, audio_mask,
                                     text, with_text=self.reads_text))
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        scores = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
        return WindowOutputs(scores, valence_arousal, prefix, prefix_mask, speech)

    def _embed(self, token_ids: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.sessions["token_embedding"].run(None, {"token_ids": token_ids.numpy().astype(np.int64)})[0])

    def _stepper(self) -> OnnxStepper:
        llm = self.llm_config
        return OnnxStepper(self.sessions["llm_step"], self.sessions["token_embedding"], llm.layers, llm.kv_heads, llm.head_dim)
