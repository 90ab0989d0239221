"""Training windows for the default model's fusion and heads, as encoder outputs (tokens).

The encoders are frozen, so windows are made directly as what they output:
- voice cues from real speech: espeak-ng sentences at several rates and pitches, cut into
  2 s windows with random level, background noise and pauses, plus silence and noise alone,
  all run through the real VoiceCueEncoder;
- video tokens: one person's face tokens, shaped like the face encoder's (7 expression logits,
  a detection logit and a box in slot 0, the other slots empty; frames of a window sharing an
  expression, some frames missing the face, some windows without any face), covering every
  class at every strength around real FER readings of real faces; scene tokens (global view)
  as clutter; and real windows from photographs (builder.py passes them in).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from emotion_ros.model.face_encoder import BOX, DETECTION, EXPRESSION, empty_token
from emotion_ros.model.voice_cues import VoiceCueEncoder

SENTENCES = (
    "Hello there, it is good to see you again.",
    "Could you please hand me the red cup on the table?",
    "I am not sure what you mean by that.",
    "Watch out, the door is closing!",
    "We finished the whole project yesterday evening.",
    "Why did nobody tell me about the meeting?",
    "That was the best concert I have ever been to!",
    "Please leave me alone for a while.",
    "The weather looks nice today, shall we go for a walk?",
    "I really cannot believe this happened again.",
)
RATES = (120, 170, 230)  # [words per minute]
PITCHES = (20, 50, 85)  # espeak-ng pitch, 0-99
BACKGROUND = np.array([3.0, -9.0, 2.0, 0.0, 1.0, 0.0, 2.0])  # typical clutter logits (measured on photographs)


@dataclass
class TokenWindows:
    """frame_features (B, T, 4, 12) person-centric face tokens; global_cls (B, 8); global_quadrants (B, 4, 8);
    audio_tokens (B, K, 8); video_present, audio_present (B,) bool; text (B, TEXT_DIM) the words'
    cues; sentence (B,) int64 which sentence was said (word_windows.py; -1: nothing)."""

    frame_features: torch.Tensor
    global_cls: torch.Tensor
    global_quadrants: torch.Tensor
    audio_tokens: torch.Tensor
    video_present: torch.Tensor
    audio_present: torch.Tensor
    text: torch.Tensor
    sentence: torch.Tensor

    def __len__(self) -> int:
        return self.frame_features.shape[0]

    def take(self, index) -> "TokenWindows":
        return TokenWindows(*(getattr(self, f)[index] for f in self.__dataclass_fields__))

    def update_digest(self, digest) -> None:
        """Feed every tensor's bytes, field by field, to a hashlib ``digest`` (data fingerprints)."""
        for name in self.__dataclass_fields__:
            digest.update(getattr(self, name).numpy().tobytes())

    @staticmethod
    def concat(parts: list["TokenWindows"]) -> "TokenWindows":
        return TokenWindows(*(torch.cat([getattr(p, f) for p in parts]) for f in TokenWindows.__dataclass_fields__))


def speech_pool(sample_rate: int = 16000, sentences: int = len(SENTENCES)) -> list[np.ndarray]:
    """The first ``sentences`` sentences at every rate and pitch: float32 mono clips at ``sample_rate``."""
    from emotion_ros.samples.sample_clip import synthesize_speech

    return [synthesize_speech(text, sample_rate, rate, pitch)
            for text in SENTENCES[:sentences] for rate in RATES for pitch in PITCHES]


def audio_windows(pool: list[np.ndarray], count: int, samples: int, rng: np.random.Generator) -> np.ndarray:
    """(count, samples) float32 windows: speech (with pauses) 75 %, silence or noise alone 25 %."""
    windows = np.zeros((count, samples), np.float32)
    for i in range(count):
        if rng.random() < 0.75:
            clip = pool[rng.integers(len(pool))]
            pause = rng.integers(0, samples)  # leading silence: speech fills anything from all to none
            track = np.concatenate([np.zeros(pause, np.float32), clip, np.zeros(samples, np.float32)])
            start = rng.integers(0, max(1, len(track) - samples))
            peak = np.abs(clip).max() + 1e-9
            windows[i] = track[start : start + samples] / peak * 10 ** (rng.uniform(-36, 0) / 20)
        windows[i] += rng.normal(0, 10 ** (rng.uniform(-80, -35) / 20), samples).astype(np.float32)
    return np.clip(windows, -1, 1)


@torch.no_grad()
def voice_cue_tokens(encoder: VoiceCueEncoder, audio: np.ndarray, batch: int = 256) -> torch.Tensor:
    return torch.cat([encoder(torch.from_numpy(audio[i : i + batch])) for i in range(0, len(audio), batch)])


def synthetic_video(count: int, frames: int, rng: np.random.Generator,
                    real_readings: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(frame_features (count, T, 4, 12), global_cls (count, 8), global_quadrants (count, 4, 8)).

    real_readings (R, 7): FER logits of real faces; each synthetic face starts from one (half
    of them shrunk towards uniform) and is pushed towards a random class by a random strength,
    sometimes with a runner-up, so every class appears at every strength, alone or beside
    another, with the spread real faces have.
    """
    tokens = np.broadcast_to(empty_token(), (count, frames, 4, empty_token().size)).copy()
    has_face = rng.random(count) < 0.8
    for i in np.flatnonzero(has_face):
        label = rng.integers(7)
        if rng.random() < 0.5:  # a real face's reading pushed towards the label, up to very clear
            base, strength = real_readings[rng.integers(len(real_readings))] * rng.uniform(0.3, 1.2), rng.uniform(0, 25)
        else:  # a weak reading: one label a little (faint) to well (clear) above the rest, maybe a runner-up
            base, strength = real_readings[rng.integers(len(real_readings))] * rng.uniform(0.0, 0.3), rng.uniform(0, 6)
            if rng.random() < 0.5:
                base = base + rng.uniform(0, strength) * np.eye(7)[rng.integers(7)]
        expression = base + strength * np.eye(7)[label]
        jitter = rng.uniform(0.2, 3.0)
        detection = rng.uniform(0.0, 8.0)  # detector scores 0.5 .. 0.9997
        size = rng.uniform(0.04, 0.6)
        x0, y0 = rng.uniform(0, 1 - size, 2)
        missing = rng.uniform(0, 0.6)  # share of frames where the face is turned away or lost
        for t in range(frames):
            if rng.random() < missing:
                continue
            tokens[i, t, 0, EXPRESSION] = expression + rng.normal(0, jitter, 7)
            tokens[i, t, 0, DETECTION] = detection + rng.normal(0, 1.0)
            tokens[i, t, 0, BOX] = np.clip([x0, y0, x0 + size, y0 + size] + rng.normal(0, 0.01, 4), 0, 1)
    # The scene (global view): whole-frame readings of clutter, with or without a face in it.
    quadrants = np.empty((count, 4, 8), np.float32)
    quadrants[..., :7] = BACKGROUND + rng.normal(0, 3.0, (count, 4, 7))
    quadrants[..., 7] = rng.uniform(-5, 20, (count, 4))
    quadrants = torch.from_numpy(quadrants)
    weights = torch.softmax(quadrants[..., 7], dim=-1)[..., None]
    global_cls = torch.cat([(weights * quadrants[..., :7]).sum(1), quadrants[..., 7].amax(1, keepdim=True)], 1)
    return torch.from_numpy(tokens), global_cls, quadrants
