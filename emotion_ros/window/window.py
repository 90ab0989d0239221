"""One time window of synchronised camera frames and audio: what the model consumes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emotion_ros.io.transcript import Utterance


@dataclass(frozen=True)
class Window:
    """Frames and audio over [t_start, t_end] seconds of sensor time.

    index:        t_end / stride; consecutive windows have consecutive indices
    frames:       (T, H, W, 3) uint8 RGB (or whatever per-frame arrays were buffered), one
                  per slice of the window; None when no frame was available at all
    frame_stamps: (T,) float64 stamps of the picked frames [s] (NaN where frames is None)
    frame_mask:   (T,) bool, True where the picked frame lies within the frame tolerance of
                  its slice centre; slices without one repeat the nearest frame
    audio:        (S,) float32 mono in [-1, 1] at sample_rate, S = window * sample_rate;
                  sample i is at t_start + i / sample_rate; zeros where nothing was received
    audio_mask:   (S,) bool, True where a sample was received
    video_present / audio_present: the modality is usable (enough data, not stale); a model
                  must mask the modality when False rather than read zeros
    source_size:  (height, width) [px] of the camera's frames before they were letterboxed
                  into the model's square (io/letterbox.py), or None when not letterboxed
    timeline:     which run of sensor time the window belongs to: it counts up when the stamps
                  jump back (bag loop, simulation reset), so consumers reset what they keep
    tail:         the last window of a finished input (a file, a bag), which extends past its
                  end: the time after it is masked (WindowAssembler.flush(tail=True))
    words:        the utterances (io/transcript.py) that overlap the window, as far as the
                  recogniser had delivered them when the window was cut
    """

    index: int
    t_start: float
    t_end: float
    frames: np.ndarray | None
    frame_stamps: np.ndarray
    frame_mask: np.ndarray
    audio: np.ndarray
    audio_mask: np.ndarray
    sample_rate: int
    video_present: bool
    audio_present: bool
    source_size: tuple[int, int] | None = None
    timeline: int = 0
    tail: bool = False
    words: tuple[Utterance, ...] = ()

    @property
    def duration(self) -> float:
        return self.t_end - self.t_start

    @property
    def text(self) -> str:
        """What was said during the window ("" when nothing was)."""
        return " ".join(u.text for u in self.words)

    @property
    def audio_coverage(self) -> float:
        """Fraction of the window's audio samples that were received."""
        return float(self.audio_mask.mean()) if self.audio_mask.size else 0.0

    def summary(self) -> str:
        """One human-readable line, for logs and the terminal view."""
        video = f"{int(self.frame_mask.sum())}/{self.frame_mask.size} frames" if self.video_present else "no video"
        audio = f"audio {self.audio_coverage:.0%}" if self.audio_present else "no audio"
        words = f", says {self.text!r}" if self.words else ""
        return f"window #{self.index} [{self.t_start:.3f}, {self.t_end:.3f}] s: {video}, {audio}{words}"
