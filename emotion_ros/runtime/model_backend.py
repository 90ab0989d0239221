"""What every backend of one model shares, whatever runs its graphs (torch, ONNX Runtime, TensorRT).

ModelBackend takes the sizes and labels from the ModelConfig, turns one run of the window
graph into Perceptions and answers explain() with the prompt and decoding of
model/prompt.py and model/generation.py. A backend is then only its graph runner:
encode_frames, locate_faces, read_faces and three hooks, _run_window (the window graph),
_embed (token embedding) and _stepper (the LLM step), so the backends cannot drift apart in
anything but the arithmetic of their runtime.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, NamedTuple

import numpy as np
import torch

from emotion_ros.model.chat_prompt import chat_text
from emotion_ros.model.config import ModelConfig
from emotion_ros.model.generation import GenerationConfig, Stepper, generate
from emotion_ros.model.prompt import Prompt, build_prompt, explanation_prompt
from emotion_ros.model.text_cues import text_cues
from emotion_ros.model.tokenizer import TextTokenizer
from emotion_ros.model.video import frame_feature_shape
from emotion_ros.runtime.backend import GeneratedText, Perception


class WindowOutputs(NamedTuple):
    """One run of the window graph over P people's views of one window, in its outputs' order.

    scores (P, L) float32 probabilities: each runtime takes its own softmax (the network's in
    torch, on the GPU in TensorRT), since one shared softmax would move scores by an ulp in
    the others; valence_arousal (P, 2) in [-1, 1] and speech (P,) numpy arrays, speech the share
    of the received audio heard as speech (negative: the model has no voice-activity detector);
    prefix (P, K, D_llm) and prefix_mask (P, K) bool: the LLM prefix in the runtime's own arrays,
    kept as Perception.context until explain() reads it back."""

    scores: np.ndarray
    valence_arousal: np.ndarray
    prefix: Any
    prefix_mask: Any
    speech: np.ndarray


class ModelBackend(ABC):
    """A Backend (backend.py) for one model whose graphs a subclass runs.

    Sets every attribute the Backend protocol names from ``config`` once, plus tokenizer and
    llm_config (the LLM's sizes); ``trained`` is False for random weights and ``can_explain``
    whether the LLM's graphs are there (an export may leave them out).
    """

    name: str  # "torch", "onnxruntime", "tensorrt"

    def __init__(self, config: ModelConfig, tokenizer: TextTokenizer, model_id: str, trained: bool, can_explain: bool):
        self.model_id, self.trained, self.tokenizer = model_id, trained, tokenizer
        self.labels = tuple(config.labels)
        self.num_frames, self.sample_rate, self.window = config.window_frames, config.audio.sample_rate, config.window
        self.feature_shape = frame_feature_shape(config.video.temporal)
        self.frame_size = config.video.frame_size
        self.reads_faces = config.video.temporal.type == "face_reader"
        self.reads_text = config.text is not None
        self.llm_config = config.llm
        self.can_explain = can_explain

    # -- the graph runner: what each backend supplies -------------------------------------
    @abstractmethod
    def encode_frames(self, frames: np.ndarray) -> np.ndarray:
        """As Backend.encode_frames: frames (N, H, W, 3) uint8 -> (N, *feature_shape) float32."""

    @abstractmethod
    def locate_faces(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As Backend.locate_faces: frames (N, H, W, 3) uint8 -> face tokens, keypoints, embeddings."""

    @abstractmethod
    def read_faces(self, frame: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """As Backend.read_faces: frame (H, W, 3) uint8, faces (M, 4), (M, 6, 2) -> logits, embeddings."""

    @abstractmethod
    def _run_window(self, views: np.ndarray, global_frame: np.ndarray, audio: np.ndarray, video_present: bool,
                    audio_present: bool, audio_mask: np.ndarray | None, text: np.ndarray | None) -> WindowOutputs:
        """The window graph on perceive_people()'s arguments, as they came (None included)."""

    @abstractmethod
    def _embed(self, token_ids: torch.Tensor) -> torch.Tensor:
        """Token ids (1, N) int64 -> their LLM embeddings (1, N, D_llm), as build_prompt takes them."""

    @abstractmethod
    def _stepper(self) -> Stepper:
        """A fresh LLM stepper (model/generation.py) for decoding one explanation."""

    # -- shared -----------------------------------------------------------------------------
    def perceive(
        self, features: np.ndarray, global_frame: np.ndarray, audio: np.ndarray, video_present: bool, audio_present: bool,
        audio_mask: np.ndarray | None = None, text: np.ndarray | None = None,
    ) -> Perception:
        """One person's view (T, 4, D) of a window; see Backend.perceive."""
        return self.perceive_people(features[None], global_frame, audio, video_present, audio_present, audio_mask, text)[0]

    def perceive_people(
        self, views: np.ndarray, global_frame: np.ndarray, audio: np.ndarray, video_present: bool, audio_present: bool,
        audio_mask: np.ndarray | None = None, text: np.ndarray | None = None,
    ) -> list[Perception]:
        """Views (P, T, 4, D) of one window, read in one run of the window graph -> P Perceptions,
        each holding its own row of the LLM prefix as context."""
        out = self._run_window(views, global_frame, audio, video_present, audio_present, audio_mask, text)
        return [Perception(out.scores[i], float(out.valence_arousal[i, 0]), float(out.valence_arousal[i, 1]),
                           (out.prefix[i : i + 1], out.prefix_mask[i : i + 1]), _speech_share(out.speech[i]))
                for i in range(len(out.scores))]

    def prompt(self, context: Any, question: str, subtitle: str = "", facts: str = "") -> Prompt:
        """The prompt of explain() as embeddings: a language model with a chat template gets its
        chat (model/chat_prompt.py), stating ``facts``; one without, the Emotion-LLaMA prompt."""
        prefix, prefix_mask = (torch.as_tensor(part) for part in context)  # ONNX Runtime's are numpy
        template = self.tokenizer.chat_template
        if template:
            text = chat_text(template, question, subtitle, self.tokenizer, facts)
        else:
            text = explanation_prompt(self.labels, question, subtitle, self.tokenizer)
        return build_prompt(self._embed, self.tokenizer, prefix, prefix_mask, text, add_bos=not template)

    @torch.inference_mode()  # the prompt and the decoding loop build no autograd graph, whatever the runtime
    def explain(self, context: Any, question: str, max_new_tokens: int, subtitle: str = "", facts: str = "") -> GeneratedText:
        """Greedy answer of at most ``max_new_tokens`` tokens about the window behind ``context``
        (a Perception's), from prompt(); see Backend.explain."""
        prompt = self.prompt(context, question, subtitle, facts)
        stop = tuple(i for i in (self.tokenizer.eos_id,) if i is not None)
        config = GenerationConfig(max_new_tokens=max_new_tokens, stop_token_ids=stop, vocab_limit=self.tokenizer.vocab_size,
                                  max_positions=self.llm_config.max_positions)
        result = generate(self._stepper(), prompt.embeds, prompt.mask, config)
        return GeneratedText(self.tokenizer.decode(result.tokens).strip(), len(result.tokens))


def window_graph_inputs(views: np.ndarray, global_frame: np.ndarray, audio: np.ndarray, video_present: bool,
                        audio_present: bool, audio_mask: np.ndarray | None = None,
                        text: np.ndarray | None = None, with_text: bool = False) -> dict[str, np.ndarray]:
    """The exported window graph's inputs for one window, as every graph runner feeds them:
    frame_features (P, T, ...) float32, global_frame (1, S, S, 3) uint8, audio (1, N) float32,
    video_present and audio_present (1,) bool, audio_mask (1, N) bool (all True when None), and
    with_text (a model with a text view) text (1, TEXT_DIM) float32 (the words' cues; None: no
    words). The shapes must lie inside the TensorRT optimisation profiles
    (export/tensorrt_shapes.py) for every window the runtime cuts."""
    if audio_mask is None:
        audio_mask = np.ones(np.shape(audio), dtype=bool)
    inputs = {
        "frame_features": np.ascontiguousarray(views, dtype=np.float32),
        "global_frame": np.ascontiguousarray(global_frame, dtype=np.uint8)[None],
        "audio": np.ascontiguousarray(audio, dtype=np.float32)[None],
        "video_present": np.array([bool(video_present)]),
        "audio_present": np.array([bool(audio_present)]),
        "audio_mask": np.ascontiguousarray(audio_mask, dtype=bool)[None],
    }
    if with_text:
        inputs["text"] = (text_cues("") if text is None else np.ascontiguousarray(text, dtype=np.float32)).reshape(1, -1)
    return inputs


def _speech_share(value: float) -> float | None:
    """A window graph's speech output as Perception.speech (negative: the model has no VAD)."""
    return None if value < 0 else float(value)
