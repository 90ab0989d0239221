"""Configuration of the sliding window over camera frames and audio."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class WindowConfig:
    """How sensor streams are cut into windows. Times are seconds of sensor time.

    window:          duration of one window [s]
    stride:          a window ends every `stride` seconds, on multiples of `stride` [s]
    num_frames:      T, frames sampled per window (one per equal slice of the window)
    sample_rate:     audio rate of the window [Hz] (audio is resampled to it on input)
    max_latency:     how long sensor time must pass a window's end before the window is
                     emitted, so the slower modality can catch up [s]
    frame_tolerance: a sampled frame further than this from its slice centre is masked [s]
    stale_after:     a modality whose newest data is older than window end - stale_after is
                     masked as missing [s]
    min_audio_coverage: fraction of the window's samples needed for audio to count as present
    clock_jump:      a stream going back in time by more than this resets the buffers (bag
                     loop, simulation reset) [s]
    max_frame_rate:  frames closer together than 1/max_frame_rate are dropped, which bounds
                     memory whatever the camera rate [Hz]
    """

    window: float = 2.0
    stride: float = 0.5
    num_frames: int = 16
    sample_rate: int = 16000
    max_latency: float = 0.15
    frame_tolerance: float = 0.25
    stale_after: float = 0.5
    min_audio_coverage: float = 0.25
    clock_jump: float = 1.0
    max_frame_rate: float = 120.0

    def __post_init__(self):
        positive = ("window", "stride", "sample_rate", "frame_tolerance", "stale_after", "clock_jump", "max_frame_rate")
        for name in positive:
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"window config: {name} must be a positive number, got {value!r}")
        if not isinstance(self.sample_rate, int):
            raise ValueError(f"window config: sample_rate must be an integer, got {self.sample_rate!r}")
        if not isinstance(self.num_frames, int) or self.num_frames < 1:
            raise ValueError(f"window config: num_frames must be a positive integer, got {self.num_frames!r}")
        if self.max_latency < 0:
            raise ValueError(f"window config: max_latency must be >= 0, got {self.max_latency!r}")
        if not 0.0 <= self.min_audio_coverage <= 1.0:
            raise ValueError(f"window config: min_audio_coverage must be in [0, 1], got {self.min_audio_coverage!r}")

    @property
    def samples_per_window(self) -> int:
        return round(self.window * self.sample_rate)

    @property
    def history(self) -> float:
        """How far back buffers keep data [s]: one window plus the allowed lateness."""
        return self.window + self.max_latency + self.stride

    @classmethod
    def from_dict(cls, values: dict) -> "WindowConfig":
        """Build from a mapping (e.g. parsed YAML); unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"window config: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return cls(**values)
