"""Media files: decoding, the sample clip, and the file -> window path without ROS."""

import numpy as np
import pytest

from emotion_ros.io.media import MediaError, VideoFrame, probe, read_audio, read_media, read_video
from emotion_ros.window import WindowConfig
from emotion_ros.window.sensor_input import SensorInput


def test_sample_clip_is_a_real_talking_video(sample_clip):
    info = probe(str(sample_clip))
    assert (info.width, info.height, info.fps) == (320, 240, 25.0)
    assert (info.sample_rate, info.channels) == (44100, 2)
    assert info.duration == pytest.approx(4.0, abs=0.05)
    frames = list(read_video(str(sample_clip)))
    assert len(frames) == 100
    np.testing.assert_allclose([f.stamp for f in frames], np.arange(100) / 25, atol=1e-6)
    assert frames[0].rgb.shape == (240, 320, 3) and frames[0].rgb.std() > 20  # a photo, not a blank
    assert np.abs(frames[0].rgb.astype(int) - frames[30].rgb).mean() > 1  # the camera moves
    audio = np.concatenate([c.samples for c in read_audio(str(sample_clip), chunk=0.1)])
    assert audio.shape[1] == 2 and abs(audio.shape[0] / 44100 - 4.0) < 0.05
    speech = np.sqrt((audio[round(0.6 * 44100) : round(1.5 * 44100)] ** 2).mean())
    silence = np.sqrt((audio[: round(0.4 * 44100)] ** 2).mean())
    assert speech > 0.02 and silence < 0.005  # espeak-ng speech after half a second of silence


def test_read_media_merges_tracks_in_stamp_order(sample_clip):
    stamps = [item.stamp for item in read_media(str(sample_clip), chunk=0.05)]
    assert stamps == sorted(stamps)
    kinds = {type(item).__name__ for item in read_media(str(sample_clip))}
    assert kinds == {"VideoFrame", "PcmChunk"}


def test_file_to_windows_without_ros_matches_duration_and_fps(sample_clip):
    """The node-free path: every window complete, frames on the 1/fps grid, audio in place."""
    sensor_input = SensorInput(WindowConfig())
    windows = []
    for item in read_media(str(sample_clip), chunk=0.05):
        if isinstance(item, VideoFrame):
            windows += sensor_input.frame(item.stamp, item.rgb)
        else:
            windows += sensor_input.pcm(item)
    windows += sensor_input.flush()
    assert [w.t_end for w in windows] == [2.0, 2.5, 3.0, 3.5, 4.0]
    for w in windows:
        # Slice centres t_start + (i + 0.5) * 0.125 s; at 25 fps the nearest frame is within 20 ms.
        centres = w.t_start + (np.arange(16) + 0.5) * 0.125
        assert np.abs(w.frame_stamps - centres).max() <= 0.02 + 1e-9
        assert w.frame_mask.all() and w.audio_coverage > 0.99
    assert sensor_input.counters()["rejected"] == 0 and sensor_input.counters()["late"] == 0


def test_missing_and_corrupt_media_give_clear_errors(tmp_path):
    with pytest.raises(MediaError, match="not found"):
        probe(str(tmp_path / "missing.mp4"))
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    with pytest.raises(MediaError, match="cannot open"):
        probe(str(corrupt))
