"""Decoding the video and audio tracks of a media file, in presentation-time order (PyAV)."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from emotion_ros.io.audio import PcmChunk


@dataclass(frozen=True)
class VideoFrame:
    """rgb: (H, W, 3) uint8 RGB shown at ``stamp`` seconds from the start of the file."""

    rgb: np.ndarray
    stamp: float


@dataclass(frozen=True)
class MediaInfo:
    path: str
    duration: float  # [s]
    has_video: bool
    has_audio: bool
    fps: float = 0.0  # average video frame rate [Hz]
    width: int = 0
    height: int = 0
    sample_rate: int = 0  # [Hz]
    channels: int = 0


class MediaError(RuntimeError):
    """The file cannot be opened or holds no usable track."""


def _open(path: str) -> av.container.InputContainer:
    if not Path(path).is_file():
        raise MediaError(f"media file not found: {path}")
    try:
        return av.open(path)
    except av.FFmpegError as exc:
        raise MediaError(f"cannot open {path}: {exc}") from exc


def probe(path: str) -> MediaInfo:
    """Track layout and duration of a media file."""
    with _open(path) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise MediaError(f"{path} has neither a video nor an audio track")
        duration = float(container.duration / av.time_base) if container.duration else 0.0
        return MediaInfo(
            path=str(path),
            duration=duration,
            has_video=video is not None,
            has_audio=audio is not None,
            fps=float(video.average_rate) if video is not None and video.average_rate else 0.0,
            width=video.codec_context.width if video is not None else 0,
            height=video.codec_context.height if video is not None else 0,
            sample_rate=audio.codec_context.sample_rate if audio is not None else 0,
            channels=audio.codec_context.channels if audio is not None else 0,
        )


def _decode(container: av.container.InputContainer, stream, path: str):
    """container.decode(stream), with FFmpeg errors turned into MediaError."""
    try:
        yield from container.decode(stream)
    except av.FFmpegError as exc:
        raise MediaError(f"decoding {path} failed: {exc}") from exc


def _start_time(container: av.container.InputContainer) -> float:
    return float(container.start_time / av.time_base) if container.start_time else 0.0


def read_video(path: str) -> Iterator[VideoFrame]:
    """Every frame of the first video track, stamped from the start of the file [s]."""
    with _open(path) as container:
        if not container.streams.video:
            return
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        t0 = _start_time(container)
        fps = float(stream.average_rate or 30)
        for i, frame in enumerate(_decode(container, stream, path)):
            stamp = frame.time - t0 if frame.time is not None else i / fps
            yield VideoFrame(frame.to_ndarray(format="rgb24"), stamp)


def read_audio(path: str, chunk: float = 0.05) -> Iterator[PcmChunk]:
    """The first audio track at its own rate and channel count, in ``chunk``-second pieces.

    Samples are float32 (N, C) in [-1, 1], stamped from the start of the file [s].
    """
    with _open(path) as container:
        if not container.streams.audio:
            return
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        t0 = _start_time(container)
        resampler = av.AudioResampler(format="fltp", rate=rate)
        per_chunk = max(1, round(chunk * rate))
        pending: list[np.ndarray] = []
        pending_len, next_stamp = 0, None
        for frame in _decode(container, stream, path):
            for converted in resampler.resample(frame):
                planar = converted.to_ndarray()  # (C, N) float32
                if next_stamp is None:
                    next_stamp = (converted.time - t0) if converted.time is not None else 0.0
                pending.append(planar.T)
                pending_len += planar.shape[1]
            while pending_len >= per_chunk:
                merged = np.concatenate(pending)
                yield PcmChunk(np.ascontiguousarray(merged[:per_chunk]), rate, next_stamp)
                next_stamp += per_chunk / rate
                pending, pending_len = [merged[per_chunk:]], merged.shape[0] - per_chunk
        if pending_len:
            yield PcmChunk(np.ascontiguousarray(np.concatenate(pending)), rate, next_stamp)


def read_media(path: str, video: bool = True, audio: bool = True, chunk: float = 0.05) -> Iterator[VideoFrame | PcmChunk]:
    """Video frames and audio chunks of one file merged in stamp order."""
    streams = []
    if video:
        streams.append(read_video(path))
    if audio:
        streams.append(read_audio(path, chunk))
    return heapq.merge(*streams, key=lambda item: item.stamp)
