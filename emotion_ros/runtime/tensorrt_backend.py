"""The TensorRT backend: engines built on the device from an export directory.

Engines are run with TensorRT's name-based tensor API on PyTorch CUDA tensors and the
current CUDA stream. At start-up each graph's engine is checked against its sidecar (TensorRT
version, GPU, ONNX hash, precision, shapes): it is rebuilt when missing, and when stale only
if ``force_engine_update`` is set; otherwise the backend refuses with the reasons.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from emotion_ros.artefacts.onnx_artefacts import read_manifest
from emotion_ros.artefacts.onnx_graphs import llm_io_names
from emotion_ros.artefacts.tensorrt_engine import ensure_engine, probe_tensorrt
from emotion_ros.model.config import config_from_dict
from emotion_ros.model.resolve import UNTRAINED_SUFFIX
from emotion_ros.model.tokenizer import TextTokenizer
from emotion_ros.runtime.model_backend import ModelBackend, WindowOutputs, window_graph_inputs

_TORCH_DTYPES = {"FLOAT": torch.float32, "HALF": torch.float16, "INT64": torch.int64, "INT32": torch.int32,
                 "BOOL": torch.bool, "UINT8": torch.uint8}


class EngineRunner:
    """One engine and its execution context; run() takes and returns CUDA tensors by name."""

    def __init__(self, trt, engine_path: Path):
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = runtime.deserialize_cuda_engine(engine_path.read_bytes())
        if self.engine is None:
            raise RuntimeError(f"TensorRT cannot deserialize {engine_path}")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        self.dtypes = {n: _TORCH_DTYPES[self.engine.get_tensor_dtype(n).name] for n in names}

    def run(self, feed: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Raises ValueError for an input shape outside the engine's optimisation profile (which
        TensorRT would otherwise run on whatever its buffers hold)."""
        for name in self.inputs:
            shape = tuple(feed[name].shape)
            if not self.context.set_input_shape(name, shape):
                low, _, high = (tuple(s) for s in self.engine.get_tensor_profile_shape(name, 0))
                raise ValueError(f"input {name} of shape {shape} is outside the engine's profile ({low} to {high}); "
                                 "export again with a profile that covers it")
            tensor = feed[name].to("cuda", self.dtypes[name]).contiguous()
            feed[name] = tensor
            self.context.set_tensor_address(name, tensor.data_ptr())
        results = {}
        for name in self.outputs:
            shape = tuple(self.context.get_tensor_shape(name))
            results[name] = torch.empty(shape, dtype=self.dtypes[name], device="cuda")
            self.context.set_tensor_address(name, results[name].data_ptr())
        stream = torch.cuda.current_stream()
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError("TensorRT execution failed")
        stream.synchronize()
        return results


class TensorRTStepper:
    """llm_step as a generation Stepper, the KV cache kept on the GPU."""

    def __init__(self, step: EngineRunner, embed: EngineRunner, layers: int, kv_heads: int, head_dim: int):
        self.step, self.embed = step, embed
        self.inputs, self.outputs = llm_io_names(layers)
        self.empty = torch.zeros((1, kv_heads, 0, head_dim), dtype=step.dtypes[self.inputs[2]], device="cuda")

    def _run(self, embeds: torch.Tensor) -> torch.Tensor:
        feed = {"inputs_embeds": embeds, "key_mask": self.mask, **dict(zip(self.inputs[2:], self.past))}
        out = self.step.run(feed)
        self.past = [out[name] for name in self.outputs[1:]]
        return out["logits"][0].float().cpu()

    def start(self, prompt_embeds, prompt_mask) -> torch.Tensor:
        self.past = [self.empty] * (len(self.inputs) - 2)
        self.mask = prompt_mask.to("cuda")
        return self._run(prompt_embeds)

    def advance(self, token: int) -> torch.Tensor:
        embeds = self.embed.run({"token_ids": torch.tensor([[token]], dtype=torch.int64)})["embeds"]
        self.mask = torch.cat([self.mask, torch.ones(1, 1, dtype=torch.bool, device="cuda")], dim=1)
        return self._run(embeds)


class TensorRTBackend(ModelBackend):
    name = "tensorrt"

    def __init__(self, directory: str | Path, force_engine_update: bool = False, workspace_mib: int | None = None):
        directory = Path(directory)
        trt, machine = probe_tensorrt()  # TensorRTUnavailable with the reason
        manifest = read_manifest(directory)
        profiles_file = directory / "tensorrt_profiles.json"
        if not profiles_file.is_file():
            raise RuntimeError(f"{directory} was not exported for TensorRT (no tensorrt_profiles.json): "
                               "export with --profile jetson-orin or desktop-gpu")
        shapes = json.loads(profiles_file.read_text())
        report = json.loads((directory / "report.json").read_text())
        workspace = workspace_mib or 2048
        self.runners = {}
        for name, entry in manifest["graphs"].items():
            precision = entry.get("precision", manifest.get("precision", "fp32"))  # per graph: mixed-precision exports
            engine = ensure_engine(trt, machine, directory / entry["file"], directory / f"{name}.engine", shapes[name],
                                   precision, workspace, rebuild=force_engine_update, timing_cache=directory / "timing.cache")
            self.runners[name] = EngineRunner(trt, engine)
        self.artefacts = directory
        model_id = manifest["model_id"]
        super().__init__(config_from_dict(manifest["config"]), TextTokenizer.from_file(directory), model_id,
                         not model_id.endswith(UNTRAINED_SUFFIX), can_explain="llm_step" in self.runners)
        self.profile = report.get("profile")

    def encode_frames(self, frames: np.ndarray) -> np.ndarray:
        out = self.runners["frame_encoder"].run({"frames": torch.from_numpy(np.ascontiguousarray(frames))})
        return out["features"].float().cpu().numpy()

    def locate_faces(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out = self.runners["frame_encoder"].run({"frames": torch.from_numpy(np.ascontiguousarray(frames))})
        return tuple(out[name].float().cpu().numpy() for name in ("features", "keypoints", "embeddings"))

    def read_faces(self, frame: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = self.runners["face_reader"].run({
            "frames": torch.from_numpy(np.ascontiguousarray(frame))[None],
            "boxes": torch.from_numpy(np.ascontiguousarray(boxes, np.float32))[None],
            "keypoints": torch.from_numpy(np.ascontiguousarray(keypoints, np.float32))[None],
        })
        return out["expression"][0].float().cpu().numpy(), out["embeddings"][0].float().cpu().numpy()

    def _run_window(self, views, global_frame, audio, video_present, audio_present, audio_mask, text) -> WindowOutputs:
        inputs = window_graph_inputs(views, global_frame, audio, video_present, audio_present, audio_mask,
                                     text, with_text=self.reads_text)
        out = self.runners["window"].run({name: torch.from_numpy(array) for name, array in inputs.items()})
        scores = torch.softmax(out["logits"].float(), -1).cpu().numpy()
        return WindowOutputs(scores, out["valence_arousal"].float().cpu().numpy(), out["prefix"].float().cpu(),
                             out["prefix_mask"].cpu(), out["speech"].float().cpu().numpy())

    def _embed(self, token_ids: torch.Tensor) -> torch.Tensor:
        return self.runners["token_embedding"].run({"token_ids": token_ids})["embeds"].float().cpu()

    def _stepper(self) -> TensorRTStepper:
        llm = self.llm_config
        return TensorRTStepper(self.runners["llm_step"], self.runners["token_embedding"], llm.layers, llm.kv_heads, llm.head_dim)
