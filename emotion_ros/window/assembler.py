"""Cuts time-stamped frames and audio into synchronised sliding windows, on sensor time."""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from emotion_ros.window.audio_buffer import AudioBuffer, AudioInsert
from emotion_ros.window.config import WindowConfig
from emotion_ros.window.frame_buffer import FrameBuffer, FrameInsert
from emotion_ros.window.window import Window

VIDEO, AUDIO = "video", "audio"

# warn(kind, message): kind is a short stable key a caller can rate-limit on.
WarnFn = Callable[[str, str], None]

_log = logging.getLogger(__name__)


def _log_warning(kind: str, message: str) -> None:
    _log.warning("%s", message)


@dataclass
class AssemblerCounters:
    """What the assembler saw and did, for diagnostics. All counts since construction."""

    frames: int = 0  # frames offered
    audio_chunks: int = 0  # audio chunks offered
    windows: int = 0  # windows emitted
    empty_windows: int = 0  # windows skipped because they held no data at all
    duplicates: int = 0  # frames/chunks already buffered (same stamp)
    out_of_order: int = 0  # older than the newest item of the same stream (still used)
    late: int = 0  # arrived after a window they belong to was emitted
    too_old: int = 0  # older than the buffers' history: dropped
    overlaps: int = 0  # audio overlapping buffered audio: dropped
    decimated: int = 0  # frames above max_frame_rate: dropped
    clock_jumps: int = 0  # backward jumps of a stream's stamps: buffers reset
    gaps: int = 0  # a stream resumed after more than stale_after of silence
    resolution_changes: int = 0  # frame shape changed: older frames dropped

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class WindowAssembler:
    """Buffers frames and audio by header stamp and emits a Window every ``stride`` seconds.

    Window ends lie on multiples of ``stride`` (so a replayed bag gives the same windows),
    and a window ending at t is emitted once sensor time (the newest stamp seen, counting
    an audio chunk's end) reaches t + max_latency. Sensor time, not wall time, drives
    everything: feed it messages in any order, and it returns the windows they complete.
    Bad timing never raises: it is counted in ``counters`` and reported through ``warn``.
    """

    def __init__(self, config: WindowConfig, warn: WarnFn | None = None):
        self.config = config
        self.counters = AssemblerCounters()
        self._warn = warn or _log_warning
        self._frames = FrameBuffer(min_spacing=1.0 / config.max_frame_rate)
        self.last_frame_kept = False  # whether the last add_frame buffered its frame
        self.last_admitted = False  # whether the last add_* took its data (a decimated frame counts: the stream lives)
        self._audio = AudioBuffer(config.sample_rate)
        self.timeline = 0  # counts the clock jumps back: see Window.timeline
        self.reset()

    # -- state -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget all buffered data and start a new timeline."""
        self._frames.clear()
        self._audio.clear()
        self._latest: dict[str, float] = {}  # newest start stamp per stream
        self._latest_end: dict[str, float] = {}  # newest end per stream
        self._clock: float | None = None
        self._first: float | None = None
        self._next_index: int | None = None
        self._emitted_until: float | None = None

    def buffered(self) -> tuple[int, int]:
        """(frames, audio chunks) currently held: bounded by history and max_frame_rate."""
        return len(self._frames), len(self._audio)

    @property
    def first(self) -> float | None:
        """The oldest stamp seen on this timeline [s]."""
        return self._first

    @property
    def clock(self) -> float | None:
        """Sensor time: the newest stamp seen (an audio chunk counts at its end) [s]."""
        return self._clock

    # -- input -----------------------------------------------------------------------------
    def add_frame(self, stamp: float, frame: np.ndarray) -> list[Window]:
        """frame: (H, W, 3) uint8 RGB (any fixed-shape array works) captured at ``stamp`` [s]."""
        self.counters.frames += 1
        self.last_frame_kept = self.last_admitted = False
        if not self._admit(VIDEO, stamp, 0.0):
            return []
        result = self._frames.add(stamp, frame)
        self.last_frame_kept = result not in (FrameInsert.DUPLICATE, FrameInsert.DECIMATED)
        self.last_admitted = result is not FrameInsert.DUPLICATE
        if result is FrameInsert.DUPLICATE:
            self.counters.duplicates += 1
            self._warn("duplicate", f"dropped a duplicate frame stamped {stamp:.6f} s")
        elif result is FrameInsert.DECIMATED:
            self.counters.decimated += 1
        elif result is FrameInsert.RESHAPED:
            self.counters.resolution_changes += 1
            self._warn("resolution", f"frame shape changed to {frame.shape}: dropped older frames")
        return self._advance()

    def add_audio(self, stamp: float, samples: np.ndarray) -> list[Window]:
        """samples: (N,) float32 mono at config.sample_rate, the first captured at ``stamp`` [s]."""
        self.counters.audio_chunks += 1
        if samples.ndim != 1 or samples.size == 0:
            raise ValueError(f"add_audio expects non-empty (N,) mono samples, got shape {samples.shape}")
        duration = samples.shape[0] / self.config.sample_rate
        self.last_admitted = False
        if not self._admit(AUDIO, stamp, duration):
            return []
        result = self._audio.add(stamp, samples)
        self.last_admitted = result is AudioInsert.ADDED
        if result is AudioInsert.DUPLICATE:
            self.counters.duplicates += 1
            self._warn("duplicate", f"dropped a duplicate audio chunk stamped {stamp:.6f} s")
        elif result is AudioInsert.OVERLAP:
            self.counters.overlaps += 1
            self._warn("overlap", f"dropped an audio chunk at {stamp:.6f} s that overlaps buffered audio")
        return self._advance()

    def flush(self, partial: bool = False, tail: bool = False) -> list[Window]:
        """Emit every window sensor time has reached, without waiting max_latency (end of input).

        partial: input shorter than one window still gives one window, ending on the last
        stride boundary within the data, with the part before the data masked (as if the
        sensors had just started); a data set's short clips need this, a live stream does not.
        tail: input that goes on past the last stride boundary gets one more window, ending on
        the next boundary, with the time after the input masked (Window.tail), so the windows
        cover the input to its end (a replayed file or bag).
        """
        return self._advance(final=True, partial=partial, tail=tail)

    def _admit(self, stream: str, stamp: float, duration: float) -> bool:
        """Timing checks shared by both streams; False when the item must be dropped."""
        cfg = self.config
        if not math.isfinite(stamp):
            self.counters.too_old += 1
            self._warn("stamp", f"dropped {stream} with a non-finite stamp")
            return False
        latest = self._latest.get(stream)
        if latest is not None and stamp < latest - cfg.clock_jump:
            self.counters.clock_jumps += 1
            self._warn(
                "clock_jump",
                f"{stream} stamps jumped back by {latest - stamp:.3f} s (bag loop or simulation "
                "reset?): window buffers cleared",
            )
            self.reset()
            self.timeline += 1
            latest = None
        if self._clock is not None and stamp + duration < self._clock - cfg.history:
            self.counters.too_old += 1
            self._warn("too_old", f"dropped {stream} stamped {self._clock - stamp:.3f} s behind sensor time")
            return False
        if latest is not None:
            if stamp < latest:
                self.counters.out_of_order += 1
            elif stamp - self._latest_end[stream] > cfg.stale_after:
                self.counters.gaps += 1
                self._warn("gap", f"{stream} resumed after {stamp - self._latest_end[stream]:.3f} s of silence")
        if self._emitted_until is not None and stamp < self._emitted_until:
            self.counters.late += 1
            self._warn(
                "late",
                f"{stream} stamped {stamp:.3f} s arrived after its window was emitted "
                f"(sensor time {self._clock:.3f} s); consider a larger max_latency",
            )
        self._latest[stream] = max(stamp, latest if latest is not None else stamp)
        self._latest_end[stream] = max(stamp + duration, self._latest_end.get(stream, stamp))
        self._clock = max(stamp + duration, self._clock if self._clock is not None else stamp)
        self._first = min(stamp, self._first if self._first is not None else stamp)
        return True

    # -- output ----------------------------------------------------------------------------
    def _advance(self, final: bool = False, partial: bool = False, tail: bool = False) -> list[Window]:
        cfg = self.config
        if self._clock is None:
            return []
        ends_at = math.floor(self._clock / cfg.stride + 1e-9)  # the last boundary within the input
        if self._next_index is None:
            # The first window is the first full one.
            self._next_index = math.ceil((self._first + cfg.duration) / cfg.stride - 1e-9)
        last_index = math.floor((self._clock - (0.0 if final else cfg.max_latency)) / cfg.stride + 1e-9)
        if tail and self._clock > ends_at * cfg.stride + 1e-6:
            last_index = ends_at + 1
        if partial and self.counters.windows == 0 and last_index < self._next_index:
            # The window ending on the last stride boundary inside the data (so neither stream
            # looks stale), or the next one when the data is shorter than a stride.
            last_index = math.floor(self._clock / cfg.stride + 1e-9)
            if last_index * cfg.stride <= self._first:
                last_index += 1
            self._next_index = last_index
        # Windows that end before the oldest buffered data hold nothing: jump over them at
        # once instead of looping over a long gap.
        oldest = self._oldest()
        if oldest is not None:
            first_useful = math.ceil(oldest / cfg.stride - 1e-9)
            if first_useful > self._next_index:
                self.counters.empty_windows += min(first_useful, last_index + 1) - self._next_index
                self._next_index = min(first_useful, last_index + 1)
        windows = []
        while self._next_index <= last_index:
            window = self._build(self._next_index, tail=self._next_index > ends_at)
            self._next_index += 1
            self._emitted_until = window.t_end
            if not window.frame_mask.any() and not window.audio_mask.any():
                self.counters.empty_windows += 1
                # Jump to the first window holding data after this one: a long gap (a stream
                # resuming, a stamp far ahead) costs one step, not one per stride.
                following = self._data_after(window.t_end)
                first_useful = last_index + 1 if following is None else math.ceil(following / cfg.stride - 1e-9)
                if first_useful > self._next_index:
                    skipped = min(first_useful, last_index + 1) - self._next_index
                    self.counters.empty_windows += skipped
                    self._next_index += skipped
                continue
            self.counters.windows += 1
            windows.append(window)
        horizon = self._clock - cfg.history
        self._frames.drop_before(horizon)
        self._audio.drop_before(horizon)
        return windows

    def _data_after(self, t: float) -> float | None:
        """The earliest buffered data at or after ``t`` (a frame's stamp, or audio's time) [s]."""
        candidates = [self._frames.first_at_or_after(t), self._audio.first_at_or_after(t)]
        candidates = [c for c in candidates if c is not None]
        return min(candidates) if candidates else None

    def _oldest(self) -> float | None:
        candidates = [self._frames.oldest, self._audio.oldest]
        candidates = [c for c in candidates if c is not None]
        return min(candidates) if candidates else None

    def _build(self, index: int, tail: bool = False) -> Window:
        cfg = self.config
        t_end = index * cfg.stride
        t_start = t_end - cfg.duration
        slice_len = cfg.duration / cfg.num_frames
        targets = t_start + (np.arange(cfg.num_frames) + 0.5) * slice_len
        frames, stamps, frame_mask = self._frames.sample(targets, t_end, cfg.frame_tolerance)
        # A modality is stale when its newest data is old at the window's end, or, for the tail
        # window of a finished input, at the input's end (the time after it is not silence).
        now = min(t_end, self._clock) if tail else t_end
        video_present = bool(frame_mask.any()) and now - float(np.nanmax(stamps)) <= cfg.stale_after
        audio, audio_mask = self._audio.extract(t_start, cfg.samples_per_window)
        received = np.flatnonzero(audio_mask)
        audio_present = (
            received.size >= cfg.min_audio_coverage * audio_mask.size
            and received.size > 0
            and now - (t_start + (received[-1] + 1) / cfg.sample_rate) <= cfg.stale_after
        )
        return Window(
            index=index,
            t_start=t_start,
            t_end=t_end,
            frames=frames,
            frame_stamps=stamps,
            frame_mask=frame_mask,
            audio=audio,
            audio_mask=audio_mask,
            sample_rate=cfg.sample_rate,
            video_present=video_present,
            audio_present=bool(audio_present),
            timeline=self.timeline,
            tail=tail,
        )
