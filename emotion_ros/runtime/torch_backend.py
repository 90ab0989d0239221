"""The PyTorch backend: eager inference with the network from a checkpoint or a preset."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from emotion_ros.model.checkpoint import Checkpoint, load_checkpoint
from emotion_ros.model.config import load_preset
from emotion_ros.model.generation import GenerationConfig, generate
from emotion_ros.model.network import EmotionNetwork, build_network
from emotion_ros.model.prompt import build_prompt, explanation_prompt
from emotion_ros.model.resolve import UNTRAINED_SUFFIX, resolve_model
from emotion_ros.model.tokenizer import TextTokenizer
from emotion_ros.model.video import frame_feature_shape
from emotion_ros.runtime.backend import GeneratedText, Perception, speech_share

_log = logging.getLogger(__name__)


class TorchBackend:
    """Backend on PyTorch (CPU or CUDA). ``trained`` is False for a preset without weights."""

    name = "torch"

    def __init__(self, model: str = "tiny", device: str = "cpu", threads: int = 0, seed: int = 0):
        if threads:
            torch.set_num_threads(threads)
        source = resolve_model(model)
        if isinstance(source, Path):
            checkpoint: Checkpoint = load_checkpoint(source, device=device)
            network, tokenizer, self.model_id, self.trained = checkpoint.network, checkpoint.tokenizer, checkpoint.model_id, True
        else:
            torch.manual_seed(seed)
            network, tokenizer = build_network(load_preset(source), device=device).eval(), None
            self.model_id, self.trained = f"{source}{UNTRAINED_SUFFIX}", False
            _log.warning("model %r has no trained checkpoint: running the preset with random weights", source)
        self.network: EmotionNetwork = network
        self.tokenizer = tokenizer or TextTokenizer.byte_level()
        self.device = device
        config = network.config
        self.labels = tuple(config.labels)
        self.num_frames, self.sample_rate, self.window = config.window_frames, config.audio.sample_rate, config.window
        self.feature_shape = frame_feature_shape(config.video.temporal)
        self.frame_size = max(config.video.temporal.image_size, config.video.global_view.image_size)
        self.reads_faces = config.video.temporal.type == "face_reader"
        self.reads_text = config.text is not None
        self.can_explain = True

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

    def perceive(self, features, global_frame, audio, video_present, audio_present, audio_mask=None, text=None) -> Perception:
        return self.perceive_people(features[None], global_frame, audio, video_present, audio_present, audio_mask, text)[0]

    @torch.inference_mode()
    def perceive_people(self, views, global_frame, audio, video_present, audio_present, audio_mask=None,
                        text=None) -> list[Perception]:
        to = lambda array: torch.from_numpy(np.ascontiguousarray(array)).to(self.device)  # noqa: E731
        flag = lambda value: torch.tensor([bool(value)], device=self.device)  # noqa: E731
        mask = None if audio_mask is None else to(np.asarray(audio_mask, dtype=bool))[None]
        words = to(np.asarray(text, dtype=np.float32))[None] if self.reads_text and text is not None else None
        out = self.network(to(views), to(global_frame)[None], to(audio.astype(np.float32))[None], flag(video_present),
                           flag(audio_present), mask, words)
        scores = out.probabilities.float().cpu().numpy()
        valence_arousal = out.valence_arousal.float().cpu().tolist()
        speech = out.speech.float().cpu().tolist()
        return [Perception(scores[i], *valence_arousal[i], (out.prefix[i : i + 1], out.prefix_mask[i : i + 1]),
                           speech_share(speech[i])) for i in range(len(scores))]

    @torch.inference_mode()
    def explain(self, context, question: str, max_new_tokens: int, subtitle: str = "") -> GeneratedText:
        prefix, prefix_mask = context
        text = explanation_prompt(self.labels, question, subtitle, self.tokenizer)
        prompt = build_prompt(self.network.llm.embed, self.tokenizer, prefix, prefix_mask, text)
        stop = tuple(i for i in (self.tokenizer.eos_id,) if i is not None)
        config = GenerationConfig(max_new_tokens=max_new_tokens, stop_token_ids=stop, vocab_limit=self.tokenizer.vocab_size,
                                  max_positions=self.network.config.llm.max_positions)
        result = generate(self.network.llm, prompt.embeds, prompt.mask, config)
        return GeneratedText(self.tokenizer.decode(result.tokens).strip(), len(result.tokens))
