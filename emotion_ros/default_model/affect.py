"""The default model's teacher: what the fused output should say, given the encoders' cues.

The `tiny` checkpoint's fusion and perception head are fitted (builder.py) to reproduce
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
- words (a text view's cues): their sentiment s (VADER's compound, in [-1, 1]; |s| < 0.05 is
  neutral, as VADER defines it) is evidence about valence. Each class's probability is
  multiplied by exp(WORD_STRENGTH * s * class valence) before the face evidence scales it, so
  clear words decide between the labels an ambiguous face leaves open but do not overturn a
  clear face, and without a face there is still no label; valence moves by WORD_VALENCE * s
  with or without a face.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from emotion_ros.model.face_encoder import DETECTION, EXPRESSION
from emotion_ros.model.label_sets import FER_LABELS as LABELS
from emotion_ros.model.text_cues import TEXT_CUES, sentiment
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
WORD_STRENGTH = 2.5  # how much the words' sentiment reweights the labels (see above)
WORD_VALENCE = 0.3  # valence shift of the most positive or negative words
NEUTRAL_WORDS = 0.05  # |VADER compound| below which words are neutral


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
    speaking (B,) bool; voice_arousal (B,) (meaningful while speaking); words (B,) the words'
    sentiment in [-1, 1], NaN where nothing was said."""

    probabilities: torch.Tensor
    valence_arousal: torch.Tensor
    face: torch.Tensor
    speaking: torch.Tensor
    voice_arousal: torch.Tensor
    words: torch.Tensor


def targets(frame_features: torch.Tensor, audio_tokens: torch.Tensor, video_present: torch.Tensor,
            audio_present: torch.Tensor, text: torch.Tensor | None = None) -> Targets:
    """frame_features (B, T, 4, 12) person-centric face tokens; audio_tokens (B, K, 8);
    video_present, audio_present (B,) bool; text (B, TEXT_DIM) text cues (None: no words)."""
    person = frame_features[:, :, 0]  # (B, T, 12)
    seen = torch.sigmoid(person[..., DETECTION]) * video_present[:, None]  # (B, T)
    readings = torch.softmax(person[..., EXPRESSION], dim=-1)  # (B, T, 7)
    reading = (seen[..., None] * readings).sum(1) / (seen.sum(1, keepdim=True) + 1e-6)
    face = (seen.mean(1) / FULL_EVIDENCE).clamp(0, 1)  # (B,) in [0, 1]
    circumplex = torch.tensor([CIRCUMPLEX[label] for label in LABELS], dtype=readings.dtype)  # (7, 2)
    said = torch.zeros_like(face) if text is None else sentiment(text)
    said = torch.where(said.abs() < NEUTRAL_WORDS, torch.zeros_like(said), said)
    reading = reading * torch.exp(WORD_STRENGTH * said[:, None] * circumplex[:, 0])  # the words' evidence on valence
    reading = reading / reading.sum(1, keepdim=True).clamp_min(1e-12)  # (no face: zeros stay zeros)
    uniform = torch.full_like(reading, 1.0 / reading.shape[1])
    probabilities = face[:, None] * reading + (1 - face[:, None]) * uniform
    valence, face_arousal = (face[:, None] * (reading @ circumplex)).unbind(dim=1)
    valence = (valence + WORD_VALENCE * said).clamp(-1, 1)
    fraction = _cue(audio_tokens, "speech_fraction") * audio_present
    voice = vocal_arousal(audio_tokens)
    share = VOICE_SHARE * (fraction / 0.5).clamp(0, 1)
    arousal = (1 - share) * face_arousal + share * voice
    words = torch.full_like(face, float("nan")) if text is None else \
        torch.where(text[:, TEXT_CUES.index("present")] > 0.5, sentiment(text), torch.nan)
    return Targets(probabilities, torch.stack([valence, arousal], dim=1), face, fraction >= SPEAKING_FRACTION, voice, words)
