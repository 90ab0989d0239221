"""A media file cut into windows exactly as the node cuts a live stream."""

from __future__ import annotations

import heapq
from pathlib import Path

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
    sensor_input = SensorInput(config, frame_size=frame_size)
    items = read_media(str(video)) if audio is None else heapq.merge(
        read_video(str(video)), read_audio(str(audio), chunk=0.1), key=lambda item: item.stamp)
    windows = []
    try:
        for item in items:
            windows += sensor_input.frame(item.stamp, item.rgb) if isinstance(item, VideoFrame) else sensor_input.pcm(item)
        windows += sensor_input.flush(partial=partial)
    finally:
        sensor_input.close()
    return windows
