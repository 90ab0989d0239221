"""The default model's teacher: what the fused output should say, given the encoders' cues.

The `tiny` checkpoint's fusion and perception head are fitted (tiny_builder.py) to reproduce
these rules, which keep the FER2013 expression reading and add the voice:

- labels: the frames' expression readings, each weighted by how face-like its best location
  is (faceness), the newest frame (global view) counting double; the less face evidence the
  window has, the more the distribution falls back to a low-confidence neutral. The audio
  does not change the label.
- valence and arousal: the label distribution placed on Russell's circumplex (class
  coordinates below), with arousal blended towards the voice's arousal while the person
  speaks (louder speech and livelier pitch mean higher arousal).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from emotion_ros.model.voice_cues import CUES, SEMITONES_SCALE, loudness_to_db

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# Circumplex (valence, arousal) of each class, in [-1, 1], after Russell (1980) and the
# placements used by AffectNet's annotators.
CIRCUMPLEX = {
    "angry": (-0.6, 0.7), "disgust": (-0.7, 0.3), "fear": (-0.6, 0.8), "happy": (0.8, 0.5),
    "sad": (-0.7, -0.4), "surprise": (0.3, 0.8), "neutral": (0.0, 0.0),
}
NO_FACE_PRIOR = (0.4 / 6,) * 6 + (0.6,)  # without face evidence: neutral, with low confidence
GLOBAL_WEIGHT = 2.0  # the newest frame, read at denser scales
FACE_THRESHOLD, FACE_SOFTNESS = 12.0, 2.0  # faceness logit -> confidence sigmoid((f - 12) / 2)
SPEAKING_FRACTION = 0.3  # of the window, for "is speaking"
QUIET_DB, LOUD_DB = -45.0, -15.0  # [dBFS] speech level mapped to vocal energy 0..1
LIVELY_SEMITONES = 8.0  # pitch spread [semitones] that counts as fully lively
VOICE_SHARE = 0.5  # of arousal, while speaking throughout the window


def _cue(tokens: torch.Tensor, name: str) -> torch.Tensor:
    return tokens[:, 0, CUES.index(name)]  # window-level cues repeat on every token


def frame_reading(quadrants: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """quadrants (..., 4, 8) -> (expression logits (..., 7) pooled by faceness, face confidence (...))."""
    faceness = quadrants[..., 7]
    logits = (torch.softmax(faceness, dim=-1)[..., None] * quadrants[..., :7]).sum(dim=-2)
    return logits, face_confidence(faceness.amax(dim=-1))


def face_confidence(faceness: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid((faceness - FACE_THRESHOLD) / FACE_SOFTNESS)


def vocal_arousal(audio_tokens: torch.Tensor) -> torch.Tensor:
    """(B, K, 8) voice cues -> (B,) in [-1, 1]: loudness of speech and liveliness of pitch."""
    energy = ((loudness_to_db(_cue(audio_tokens, "speech_loudness")) - QUIET_DB) / (LOUD_DB - QUIET_DB)).clamp(0, 1)
    lively = (_cue(audio_tokens, "pitch_spread") * SEMITONES_SCALE / LIVELY_SEMITONES).clamp(0, 1)
    return 2 * (0.6 * energy + 0.4 * lively) - 1


@dataclass
class Targets:
    """probabilities (B, 7); valence_arousal (B, 2); face (B,) evidence in [0, 1];
    speaking (B,) bool; voice_arousal (B,) (meaningful while speaking)."""

    probabilities: torch.Tensor
    valence_arousal: torch.Tensor
    face: torch.Tensor
    speaking: torch.Tensor
    voice_arousal: torch.Tensor


def targets(frame_features: torch.Tensor, global_cls: torch.Tensor, global_quadrants: torch.Tensor,
            audio_tokens: torch.Tensor, video_present: torch.Tensor, audio_present: torch.Tensor) -> Targets:
    """frame_features (B, T, 4, 8); global_cls (B, 8); global_quadrants (B, 4, 8);
    audio_tokens (B, K, 8); video_present, audio_present (B,) bool."""
    frame_logits, frame_face = frame_reading(frame_features)  # (B, T, 7), (B, T)
    global_face = face_confidence(torch.maximum(global_cls[:, 7], global_quadrants[..., 7].amax(dim=1)))
    evidence = torch.cat([frame_face, GLOBAL_WEIGHT * global_face[:, None]], dim=1) * video_present[:, None]
    readings = torch.softmax(torch.cat([frame_logits, global_cls[:, None, :7]], dim=1), dim=-1)  # (B, T+1, 7)
    reading = (evidence[..., None] * readings).sum(1) / (evidence.sum(1, keepdim=True) + 1e-6)
    face = evidence.sum(1) / (frame_features.shape[1] + GLOBAL_WEIGHT)  # (B,) in [0, 1]
    prior = torch.tensor(NO_FACE_PRIOR, dtype=readings.dtype)
    probabilities = face[:, None] * reading + (1 - face[:, None]) * prior
    circumplex = torch.tensor([CIRCUMPLEX[label] for label in LABELS], dtype=readings.dtype)  # (7, 2)
    valence, face_arousal = (probabilities @ circumplex).unbind(dim=1)
    fraction = _cue(audio_tokens, "speech_fraction") * audio_present
    voice = vocal_arousal(audio_tokens)
    share = VOICE_SHARE * (fraction / 0.5).clamp(0, 1)
    arousal = (1 - share) * face_arousal + share * voice
    return Targets(probabilities, torch.stack([valence, arousal], dim=1), face, fraction >= SPEAKING_FRACTION, voice)
