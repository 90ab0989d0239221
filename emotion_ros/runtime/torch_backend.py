"""The PyTorch backend: eager inference with the network from a checkpoint or a preset."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from emotion_ros.model.checkpoint import Checkpoint, load_checkpoint
from emotion_ros.model.config import load_preset
from emotion_ros.model.generation import TorchStepper
from emotion_ros.model.network import EmotionNetwork, build_network
from emotion_ros.model.resolve import UNTRAINED_SUFFIX, resolve_model
from emotion_ros.model.tokenizer import TextTokenizer
from emotion_ros.runtime.model_backend import ModelBackend, WindowOutputs

_log = logging.getLogger(__name__)


class TorchBackend(ModelBackend):
    """Backend on PyTorch (CPU or CUDA). ``trained`` is False for a preset without weights."""

    name = "torch"

    def __init__(self, model: str = "tiny", device: str = "cpu", threads: int = 0, seed: int = 0):
        if threads:
            torch.set_num_threads(threads)
        source = resolve_model(model)
        if isinstance(source, Path):
            checkpoint: Checkpoint = load_checkpoint(source, device=device)
            network, tokenizer, model_id, trained = checkpoint.network, checkpoint.tokenizer, checkpoint.model_id, True
        else:
            torch.manual_seed(seed)
            network, tokenizer = build_network(load_preset(source), device=device).eval(), None
            model_id, trained = f"{source}{UNTRAINED_SUFFIX}", False
            _log.warning("model %r has no trained checkpoint: running the preset with random weights", source)
        super().__init__(network.config, tokenizer or TextTokenizer.byte_level(), model_id, trained, can_explain=True)
        self.network: EmotionNetwork = network
        self.device = device

    @torch.inference_mode()
    def encode_frames(self, frames: np.ndarray) -> np.ndarray:
        tensor = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device)
        return self.network.encode_frames(tensor).float().cpu().numpy()

    @torch.inference_mode()
    def locate_faces(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        found = self.network.locate_faces(torch.from_numpy(np.ascontiguousarray(frames)).to(self.device))
        return tuple(t.float().cpu().numpy() for t in found)

    @torch.inference_mode()
    def read_faces(self, frame: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        to = lambda array: torch.from_numpy(np.ascontiguousarray(array))[None].to(self.device)  # noqa: E731
        read = self.network.read_faces(to(frame), to(boxes.astype(np.float32)), to(keypoints.astype(np.float32)))
        return tuple(t[0].float().cpu().numpy() for t in read)

    @torch.inference_mode()
    def _run_window(self, views, global_frame, audio, video_present, audio_present, audio_mask, text) -> WindowOutputs:
        """The network itself, not the exported graph's inputs: None stays None (no mask, no
        words), and the prefix stays a tensor on the device for explain()."""
        to = lambda array: torch.from_numpy(np.ascontiguousarray(array)).to(self.device)  # noqa: E731
        flag = lambda value: torch.tensor([bool(value)], device=self.device)  # noqa: E731
        mask = None if audio_mask is None else to(np.asarray(audio_mask, dtype=bool))[None]
        words = to(np.asarray(text, dtype=np.float32))[None] if self.reads_text and text is not None else None
        out = self.network(to(views), to(global_frame)[None], to(audio.astype(np.float32))[None], flag(video_present),
                           flag(audio_present), mask, words)
        return WindowOutputs(out.probabilities.float().cpu().numpy(), out.valence_arousal.float().cpu().numpy(), out.prefix,
                             out.prefix_mask, out.speech.float().cpu().numpy())

    def _embed(self, token_ids: torch.Tensor) -> torch.Tensor:
        return self.network.llm.embed(token_ids)

    def _stepper(self) -> TorchStepper:
        return TorchStepper(self.network.llm)
