"""The interface every inference backend implements (torch, ONNX Runtime, TensorRT).

The node, replay, benchmarks and tests program against Backend; model_backend.ModelBackend
implements it once for all three, each supplying only its graph runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


class BackendError(RuntimeError):
    """The backend failed or produced unusable output (e.g. NaN) for one request."""


@dataclass(frozen=True)
class Perception:
    """scores (L,) probabilities; valence, arousal in [-1, 1]; context: what explain() needs
    about this window (backend-specific: the LLM prefix and its mask); speech: the share of the
    window's received audio the model's voice-activity detector hears as speech, None when the
    model has none (NetworkOutput.speech)."""

    scores: np.ndarray
    valence: float
    arousal: float
    context: Any
    speech: float | None = None


@dataclass(frozen=True)
class GeneratedText:
    text: str
    tokens: int


class Backend(Protocol):
    name: str  # "torch", "onnxruntime", "tensorrt"
    model_id: str
    trained: bool  # False for random weights (a preset without a checkpoint, or an export of one)
    labels: tuple[str, ...]
    num_frames: int  # frames per window (the model's window_frames)
    sample_rate: int
    window: float  # seconds of audio per window
    feature_shape: tuple[int, int]  # (4, D) of one frame's cached feature; (8, 12) face tokens if reads_faces
    frame_size: int  # the largest square input of the video views [px]: frames are letterboxed into it
    reads_faces: bool  # the temporal view finds faces: per-frame features are face tokens (face_encoder.py)
    reads_text: bool  # the model has a text view: perceive() reads the words' cues (model/text_cues.py)
    can_explain: bool

    def encode_frames(self, frames: np.ndarray) -> np.ndarray:
        """frames (N, H, W, 3) uint8 RGB -> (N, *feature_shape) float32 per-frame features."""

    def locate_faces(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A face reader's frames (N, H, W, 3) uint8 -> (face tokens (N, 8, 12), keypoints (N, 8, 6, 2)
        x, y as fractions of the frame side, unit-length face embeddings (N, 8, 128))."""

    def read_faces(self, frame: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A face reader's frame (H, W, 3) uint8 and the faces followed in it (boxes (M, 4), keypoints
        (M, 6, 2), fractions of the frame side) -> ((M, 7) expression logits, (M, 128) embeddings),
        float32."""

    def perceive(
        self, features: np.ndarray, global_frame: np.ndarray, audio: np.ndarray, video_present: bool, audio_present: bool,
        audio_mask: np.ndarray | None = None, text: np.ndarray | None = None,
    ) -> Perception:
        """features (T, 4, D) (a person's view when reads_faces); global_frame (H, W, 3) uint8;
        audio (S,) float32; audio_mask (S,) bool, True where a sample was received (None: all);
        text (TEXT_DIM,) float32 cues of the words said (None: none; ignored without a text view)."""

    def perceive_people(
        self, views: np.ndarray, global_frame: np.ndarray, audio: np.ndarray, video_present: bool, audio_present: bool,
        audio_mask: np.ndarray | None = None, text: np.ndarray | None = None,
    ) -> list[Perception]:
        """views (P, T, 4, D): several people's views of one window, read in one batch (the
        scene and the voice are encoded once) -> one Perception per person."""

    def explain(self, context: Any, question: str, max_new_tokens: int, subtitle: str = "", facts: str = "") -> GeneratedText:
        """Generate an answer about the window behind ``context``; subtitle: what the person said
        during it, quoted in the prompt; facts: the published state as a chat model's prompt
        states it (chat_prompt.perception_facts; ignored by a model without a chat template)."""
