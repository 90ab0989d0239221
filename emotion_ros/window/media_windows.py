"""A media file cut into windows exactly as the node cuts a live stream."""

from __future__ import annotations

import heapq
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from emotion_ros.io.media import VideoFrame, read_audio, read_media, read_video
from emotion_ros.window.config import WindowConfig
from emotion_ros.window.sensor_input import SensorInput
from emotion_ros.window.window import Window


def media_windows(video: str | Path, config: WindowConfig, frame_size: int | None = None,
                  audio: str | Path | None = None, partial: bool = False) -> list[Window]:
    """The windows of ``video`` (its own audio track, or the separate file ``audio``).

    Frames are resized to frame_size x frame_size on arrival, as the node does. partial: a
    file shorter than one window still gives one window, its missing start masked.
    Raises io.media.MediaError for unreadable files.
    """
    return list(iter_media_windows(video, config, frame_size, audio, partial))


def iter_media_windows(video: str | Path, config: WindowConfig, frame_size: int | None = None,
                       audio: str | Path | None = None, partial: bool = False,
                       on_frame: Callable[[float, np.ndarray, int], None] | None = None) -> Iterator[Window]:
    """media_windows, each window given as soon as it is cut; on_frame(stamp, rgb, timeline) sees every
    frame the windows keep, in order, before the windows that hold it (as the node's frame worker)."""
    sensor_input = SensorInput(config, frame_size=frame_size, on_frame=on_frame)
    items = read_media(str(video)) if audio is None else heapq.merge(
        read_video(str(video)), read_audio(str(audio), chunk=0.1), key=lambda item: item.stamp)
    try:
        for item in items:
            yield from sensor_input.frame(item.stamp, item.rgb) if isinstance(item, VideoFrame) else sensor_input.pcm(item)
        yield from sensor_input.flush(partial=partial)
    finally:
        sensor_input.close()
