"""Is the person speaking? An energy voice-activity detector over the window's audio."""

from __future__ import annotations

import numpy as np


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
