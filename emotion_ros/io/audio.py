"""emotion_msgs/AudioFrame <-> numpy PCM, and a stream converter to mono at the model's rate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr
from emotion_msgs.msg import AudioFrame
from std_msgs.msg import Header

from emotion_ros.io.errors import InvalidInput
from emotion_ros.io.payload import set_payload

# Sample rates accepted from microphones and files [Hz]; anything else is refused, since an
# odd rate almost always means a mis-filled message rather than real hardware.
SUPPORTED_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)

# Longest audio chunk accepted [s]: microphones send 10-100 ms, bags up to about a second. A
# longer one would advance sensor time past everything else at once.
MAX_CHUNK_SECONDS = 2.0
CONTINUITY_TOLERANCE = 0.03  # [s] a larger jump between chunks of one stream starts a new stream

# Float samples beyond this are not audio scaled to [-1, 1] (1e20, or int16-scaled floats):
# refused rather than clipped, so a mis-scaled driver is seen at once.
MAX_FLOAT_AMPLITUDE = 16.0

# encoding -> (numpy dtype, full-scale value)
PCM_ENCODINGS = {
    "S16LE": (np.dtype("<i2"), 32768.0),
    "F32LE": (np.dtype("<f4"), 1.0),
}


@dataclass(frozen=True)
class PcmChunk:
    """Decoded audio: samples (N, C) float32 in [-1, 1] at sample_rate [Hz].

    stamp is the capture time of the first sample [s], or None when the source has no header.
    """

    samples: np.ndarray
    sample_rate: int
    stamp: float | None = None

    @property
    def duration(self) -> float:
        return self.samples.shape[0] / self.sample_rate


def check_sample_rate(sample_rate: int) -> int:
    if int(sample_rate) not in SUPPORTED_SAMPLE_RATES:
        raise InvalidInput(
            "sample_rate",
            f"unsupported sample rate {sample_rate} Hz (supported: "
            f"{', '.join(str(r) for r in SUPPORTED_SAMPLE_RATES)})",
        )
    return int(sample_rate)


def check_finite(samples: np.ndarray) -> np.ndarray:
    if not np.isfinite(samples).all():
        bad = int(samples.size - np.count_nonzero(np.isfinite(samples)))
        raise InvalidInput("nonfinite", f"audio holds {bad} NaN/Inf sample(s)")
    return samples


def check_duration(frames: float, sample_rate: int) -> None:
    """Refuse a chunk of ``frames`` samples per channel longer than MAX_CHUNK_SECONDS (before decoding it)."""
    if frames / sample_rate > MAX_CHUNK_SECONDS:
        raise InvalidInput("size", f"an audio chunk of {frames / sample_rate:.1f} s is longer than the "
                           f"{MAX_CHUNK_SECONDS:g} s limit (split it into shorter messages)")


def check_samples(samples: np.ndarray) -> np.ndarray:
    """Decoded float samples: finite, and within MAX_FLOAT_AMPLITUDE of full scale."""
    check_finite(samples)
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    if peak > MAX_FLOAT_AMPLITUDE:
        raise InvalidInput("range", f"audio samples reach {peak:.3g}; float audio must be scaled to [-1, 1]")
    return samples


def decode_pcm(data, encoding: str, channels: int, sample_rate: int | None = None) -> np.ndarray:
    """Interleaved PCM bytes -> (N, channels) float32 scaled to [-1, 1].

    With ``sample_rate``, more than MAX_CHUNK_SECONDS of audio is refused before decoding."""
    if encoding not in PCM_ENCODINGS:
        raise InvalidInput(
            "encoding", f"unsupported audio encoding {encoding!r} (supported: {', '.join(PCM_ENCODINGS)})"
        )
    if channels < 1:
        raise InvalidInput("channels", f"audio needs at least one channel, got {channels}")
    dtype, full_scale = PCM_ENCODINGS[encoding]
    raw = np.frombuffer(data, dtype=np.uint8)
    if raw.size == 0:
        raise InvalidInput("empty", "audio frame holds no samples")
    frame_bytes = dtype.itemsize * channels
    if raw.size % frame_bytes:
        raise InvalidInput(
            "size",
            f"{raw.size} bytes is not a whole number of {channels}-channel {encoding} frames "
            f"({frame_bytes} bytes each)",
        )
    if sample_rate:
        check_duration(raw.size / frame_bytes, sample_rate)
    samples = raw.view(dtype).reshape(-1, channels).astype(np.float32)
    if full_scale != 1.0:
        samples /= np.float32(full_scale)
    return check_samples(samples)


def audio_frame_to_pcm(msg: AudioFrame) -> PcmChunk:
    """Validate and decode an AudioFrame (no resampling)."""
    rate = check_sample_rate(msg.sample_rate)
    samples = decode_pcm(msg.data, msg.encoding, int(msg.channels), rate)
    stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
    return PcmChunk(samples, rate, stamp)


def pcm_to_audio_frame(
    samples: np.ndarray, sample_rate: int, encoding: str = "S16LE", header: Header | None = None
) -> AudioFrame:
    """Build an AudioFrame from (N,) or (N, C) float samples in [-1, 1] (clipped for S16LE)."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[:, None]
    if samples.ndim != 2 or samples.shape[1] < 1 or samples.shape[1] > 255:
        raise InvalidInput("channels", f"expected (N,) or (N, C<=255) samples, got shape {samples.shape}")
    check_sample_rate(sample_rate)
    check_finite(samples)
    if encoding not in PCM_ENCODINGS:
        raise InvalidInput("encoding", f"unsupported audio encoding {encoding!r}")
    dtype, full_scale = PCM_ENCODINGS[encoding]
    if encoding == "S16LE":
        pcm = np.clip(np.round(samples * full_scale), -32768, 32767).astype(dtype)
    else:
        pcm = samples.astype(dtype)
    msg = AudioFrame()
    if header is not None:
        msg.header = header
    msg.sample_rate = int(sample_rate)
    msg.channels = int(samples.shape[1])
    msg.encoding = encoding
    set_payload(msg, pcm.tobytes())
    return msg


class MonoResampler:
    """Turns a stream of PCM chunks from one source into mono float32 at ``target_rate``.

    Multi-channel audio is averaged to mono. Chunks at another rate go through a streaming
    soxr resampler, so chunk boundaries leave no artefacts; the output is stamped on the
    stream's own sample clock (first input stamp + samples emitted / target_rate), which
    also removes the jitter of callback-time stamps. A chunk that does not continue the
    stream (a gap or jump larger than ``continuity_tolerance`` seconds) or that changes the
    sample rate starts a new stream; the resampler's tail of the old one is emitted first.
    """

    def __init__(self, target_rate: int = 16000, continuity_tolerance: float = CONTINUITY_TOLERANCE):
        self.target_rate = check_sample_rate(target_rate)
        self.continuity_tolerance = continuity_tolerance
        self.sample_rate_changes = 0
        self.discontinuities = 0
        self._rate: int | None = None
        self._stream: soxr.ResampleStream | None = None
        self._t0 = 0.0  # stamp of the current stream's first input sample [s]
        self._consumed = 0  # input samples consumed by the current stream
        self._emitted = 0  # output samples emitted by the current stream

    def reset(self) -> None:
        self._rate = None
        self._stream = None

    def push(self, chunk: PcmChunk) -> list[PcmChunk]:
        """Feed one chunk; return zero or more mono chunks at target_rate, in time order."""
        if chunk.stamp is None:
            raise ValueError("MonoResampler needs stamped chunks")
        mono = chunk.samples.mean(axis=1, dtype=np.float32) if chunk.samples.ndim == 2 else chunk.samples
        out: list[PcmChunk] = []
        if self._rate is not None:
            expected = self._t0 + self._consumed / self._rate
            if chunk.sample_rate != self._rate:
                self.sample_rate_changes += 1
                out += self._flush()
            elif abs(chunk.stamp - expected) > self.continuity_tolerance:
                self.discontinuities += 1
                out += self._flush()
        if self._rate is None:
            self._rate = chunk.sample_rate
            self._t0 = chunk.stamp
            self._consumed = self._emitted = 0
            self._stream = (
                None
                if self._rate == self.target_rate
                else soxr.ResampleStream(self._rate, self.target_rate, 1, dtype="float32", quality="HQ")
            )
        self._consumed += mono.shape[0]
        resampled = mono if self._stream is None else self._stream.resample_chunk(mono)
        out += self._emit(resampled)
        return out

    def _emit(self, samples: np.ndarray) -> list[PcmChunk]:
        if samples.size == 0:
            return []
        stamp = self._t0 + self._emitted / self.target_rate
        self._emitted += samples.shape[0]
        return [PcmChunk(np.ascontiguousarray(samples, dtype=np.float32), self.target_rate, stamp)]

    def finish(self) -> list[PcmChunk]:
        """End of input: the samples still inside the resampler's filter, then a fresh state."""
        return self._flush()

    def _flush(self) -> list[PcmChunk]:
        tail = [] if self._stream is None else self._emit(self._stream.resample_chunk(np.zeros(0, np.float32), last=True))
        self.reset()
        return tail
