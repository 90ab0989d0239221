"""Is the person speaking? The model's own voice-activity detector, or an energy one for models
without it.

Models with voice cues (the default) run Silero VAD inside their graph, and the same speech
share drives their explanations ("The person is speaking ..."), so a state and its explanation
agree. Whisper-style audio views have no VAD output: their windows fall back to the energy
detector below.
"""

from __future__ import annotations

import numpy as np

from emotion_ros.runtime.backend import Perception
from emotion_ros.window.window import Window



def voice_activity(perception: Perception, window: Window) -> float:
    """The window's speaking probability in [0, 1] (speaking from model.voice_cues.SPEAKING_FRACTION on)."""
    if not window.audio_present:
        return 0.0
    if perception.speech is not None:
        return perception.speech
    return speaking_probability(window.audio, window.audio_mask, window.sample_rate)


def speaking_probability(audio: np.ndarray, mask: np.ndarray, sample_rate: int, recent: float = 1.0) -> float:
    """Fraction of voiced 30 ms frames in the last ``recent`` seconds, in [0, 1].

    A frame is voiced when its level is above -45 dBFS and at least 12 dB above the window's
    noise floor (its 10th-percentile frame level), so steady background noise does not count
    as speech however loud it is. Frames with missing samples are ignored.
    """
    hop = int(0.03 * sample_rate)
    tail = audio[-int(recent * sample_rate):]
    valid = mask[-tail.size:]
    count = tail.size // hop
    if count == 0:
        return 0.0
    frames = tail[: count * hop].reshape(count, hop)
    complete = valid[: count * hop].reshape(count, hop).all(axis=1)
    if not complete.any():
        return 0.0
    level = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    whole = audio[: (audio.size // hop) * hop].reshape(-1, hop)
    whole_valid = mask[: whole.size].reshape(-1, hop).all(axis=1)
    whole_level = 10 * np.log10(np.mean(whole.astype(np.float64) ** 2, axis=1) + 1e-12)
    floor = np.percentile(whole_level[whole_valid], 10) if whole_valid.any() else -120.0
    voiced = (level > -45.0) & (level > floor + 12.0) & complete
    return float(voiced.sum() / complete.sum())
