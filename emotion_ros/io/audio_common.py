"""Adapters for the two audio_common_msgs layouts found on ROS 2 robots.

1. ros-drivers/audio_common: ``AudioData`` (``uint8[] data``) or ``AudioDataStamped``
   (``header`` + ``audio: AudioData``), with the format published separately as
   ``AudioInfo`` (``channels``, ``sample_rate``, ``sample_format`` e.g. "S16LE",
   ``coding_format`` "wave"), usually on ``audio_info`` (latched).
2. mgonzs13/audio_common: ``AudioStamped`` (``header`` + ``audio: Audio``), where
   ``Audio`` holds ``info: AudioInfo`` (``format`` as a PortAudio constant, ``channels``,
   ``rate``, ``chunk``) and ``audio_data: AudioData`` with one typed array per format
   (``float32_data``, ``int32_data``, ``int16_data``, ``int8_data``, ``uint8_data``).

The functions only read fields, so they work on the real messages when audio_common_msgs
is installed; ``audio_common_types()`` tells which layouts are importable.
"""

from __future__ import annotations

import importlib

import numpy as np

from emotion_ros.io.audio import PcmChunk, check_duration, check_sample_rate, check_samples, decode_pcm
from emotion_ros.io.errors import InvalidInput

# PortAudio sample formats (portaudio.h) -> (field of AudioData, dtype, full scale, offset)
PORTAUDIO_FORMATS = {
    1: ("float32_data", np.float32, 1.0, 0.0),  # paFloat32
    2: ("int32_data", np.int32, 2.0**31, 0.0),  # paInt32
    8: ("int16_data", np.int16, 2.0**15, 0.0),  # paInt16
    16: ("int8_data", np.int8, 2.0**7, 0.0),  # paInt8
    32: ("uint8_data", np.uint8, 2.0**7, 128.0),  # paUInt8 (offset binary)
}


def audio_common_types() -> dict[str, type]:
    """Message classes of audio_common_msgs importable here, by name (empty if none)."""
    try:
        module = importlib.import_module("audio_common_msgs.msg")
    except ImportError:
        return {}
    names = ("AudioData", "AudioDataStamped", "AudioInfo", "AudioStamped", "Audio")
    return {name: getattr(module, name) for name in names if hasattr(module, name)}


def _stamp(header) -> float:
    return header.stamp.sec + header.stamp.nanosec * 1e-9


def audio_data_to_pcm(msg, info, stamp: float | None = None) -> PcmChunk:
    """Layout 1: AudioData or AudioDataStamped, decoded with the AudioInfo of its stream.

    ``stamp`` overrides the header (and stamps a header-less AudioData, e.g. with the
    receive time).
    """
    if info is None:
        raise InvalidInput("format", "no AudioInfo received yet for this audio stream")
    coding = (info.coding_format or "wave").lower()
    if coding not in ("wave", "wav", "pcm", "raw"):
        raise InvalidInput("encoding", f"compressed audio ({info.coding_format!r}) is not supported; publish wave")
    rate = check_sample_rate(info.sample_rate)
    data = msg.audio.data if hasattr(msg, "audio") else msg.data
    samples = decode_pcm(data, (info.sample_format or "S16LE").upper(), int(info.channels), rate)
    if stamp is None and hasattr(msg, "header"):
        stamp = _stamp(msg.header)
    return PcmChunk(samples, rate, stamp)


def audio_stamped_to_pcm(msg) -> PcmChunk:
    """Layout 2: AudioStamped (header + Audio{info, audio_data})."""
    info = msg.audio.info
    if int(info.format) not in PORTAUDIO_FORMATS:
        raise InvalidInput("encoding", f"unsupported PortAudio sample format {info.format}")
    field, dtype, full_scale, offset = PORTAUDIO_FORMATS[int(info.format)]
    channels = int(info.channels)
    if channels < 1:
        raise InvalidInput("channels", f"audio needs at least one channel, got {channels}")
    rate = check_sample_rate(info.rate)
    data = getattr(msg.audio.audio_data, field)
    check_duration(len(data) / channels, rate)
    values = np.asarray(data, dtype=dtype)
    if values.size == 0:
        raise InvalidInput("empty", f"AudioStamped has no samples in {field}")
    if values.size % channels:
        raise InvalidInput("size", f"{values.size} samples is not a whole number of {channels}-channel frames")
    samples = ((values.astype(np.float32) - np.float32(offset)) / np.float32(full_scale)).reshape(-1, channels)
    return PcmChunk(check_samples(samples), rate, _stamp(msg.header))
