"""The default model's teacher: what the fused output should say, given the encoders' cues.

The `tiny` checkpoint's fusion and perception head are fitted (tiny_builder.py) to reproduce
these rules, which keep the FER2013 expression reading of the person's aligned face and add
the voice. A window is about one person: their face is the first slot of each frame's face
tokens (face_encoder.py; person_tokens puts it there).

- labels: the person's per-frame expression readings, each weighted by its detection
  probability. The fewer frames show the face, the more the distribution falls back to
  uniform: no face, no emotion (confidence 1/7). The scene (global view) and the audio do
  not change the label.
- valence and arousal: the reading placed on Russell's circumplex (class coordinates below),
  scaled by the face evidence (0 without a face), with arousal blended towards the voice's
  arousal while the person speaks (louder speech and livelier pitch mean higher arousal).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from emotion_ros.model.face_encoder import DETECTION, EXPRESSION
from emotion_ros.model.mini_xception import FER_LABELS as LABELS
from emotion_ros.model.voice_cues import CUES, SEMITONES_SCALE, SPEAKING_FRACTION, loudness_to_db

# Circumplex (valence, arousal) of each class, in [-1, 1], after Russell (1980) and the
# placements used by AffectNet's annotators.
CIRCUMPLEX = {
    "angry": (-0.6, 0.7), "disgust": (-0.7, 0.3), "fear": (-0.6, 0.8), "happy": (0.8, 0.5),
    "sad": (-0.7, -0.4), "surprise": (0.3, 0.8), "neutral": (0.0, 0.0),
}
FULL_EVIDENCE = 0.5  # share of the window's frames showing the face that counts as fully seen
QUIET_DB, LOUD_DB = -45.0, -15.0  # [dBFS] speech level mapped to vocal energy 0..1
LIVELY_SEMITONES = 8.0  # pitch spread [semitones] that counts as fully lively
VOICE_SHARE = 0.5  # of arousal, while speaking throughout the window


def _cue(tokens: torch.Tensor, name: str) -> torch.Tensor:
    return tokens[:, 0, CUES.index(name)]  # window-level cues repeat on every token


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


def targets(frame_features: torch.Tensor, audio_tokens: torch.Tensor, video_present: torch.Tensor,
            audio_present: torch.Tensor) -> Targets:
    """frame_features (B, T, 4, 12) person-centric face tokens; audio_tokens (B, K, 8);
    video_present, audio_present (B,) bool."""
    person = frame_features[:, :, 0]  # (B, T, 12)
    seen = torch.sigmoid(person[..., DETECTION]) * video_present[:, None]  # (B, T)
    readings = torch.softmax(person[..., EXPRESSION], dim=-1)  # (B, T, 7)
    reading = (seen[..., None] * readings).sum(1) / (seen.sum(1, keepdim=True) + 1e-6)
    face = (seen.mean(1) / FULL_EVIDENCE).clamp(0, 1)  # (B,) in [0, 1]
    uniform = torch.full_like(reading, 1.0 / reading.shape[1])
    probabilities = face[:, None] * reading + (1 - face[:, None]) * uniform
    circumplex = torch.tensor([CIRCUMPLEX[label] for label in LABELS], dtype=readings.dtype)  # (7, 2)
    valence, face_arousal = (face[:, None] * (reading @ circumplex)).unbind(dim=1)
    fraction = _cue(audio_tokens, "speech_fraction") * audio_present
    voice = vocal_arousal(audio_tokens)
    share = VOICE_SHARE * (fraction / 0.5).clamp(0, 1)
    arousal = (1 - share) * face_arousal + share * voice
    return Targets(probabilities, torch.stack([valence, arousal], dim=1), face, fraction >= SPEAKING_FRACTION, voice)
