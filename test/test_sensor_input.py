"""Messages in, windows out: bad input is rejected, counted, reported, and harmless."""

from types import SimpleNamespace

import numpy as np
import pytest
from emotion_msgs.msg import AudioFrame
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from emotion_ros.io.audio import pcm_to_audio_frame
from emotion_ros.io.audio_common import audio_common_types, audio_data_to_pcm, audio_stamped_to_pcm
from emotion_ros.io.errors import InvalidInput
from emotion_ros.io.image import rgb_to_compressed, rgb_to_image
from emotion_ros.io.stamps import to_stamp
from emotion_ros.nodes.throttled_log import ThrottledLog
from emotion_ros.window import WindowConfig
from emotion_ros.window.sensor_input import SensorInput

CFG = WindowConfig(duration=1.0, stride=0.5, num_frames=4, sample_rate=16000)


def header(t):
    return Header(stamp=to_stamp(t), frame_id="test")


def good_messages(seconds=3.0):
    """Camera at 10 fps (bgr8) and a 48 kHz stereo microphone in 0.1 s chunks."""
    msgs = []
    for i in range(round(seconds * 10)):
        t = 50.0 + i / 10
        rgb = np.full((4, 6, 3), i, np.uint8)
        msgs.append(("image", rgb_to_image(rgb, "bgr8", header(t))))
        tone = 0.3 * np.sin(2 * np.pi * 220 * (t + np.arange(4800) / 48000))
        msgs.append(("audio", pcm_to_audio_frame(np.stack([tone, tone], 1), 48000, "S16LE", header(t))))
    return msgs


def bad_messages(t):
    def image(**fields):
        msg = Image(header=header(t), height=4, width=6, encoding="rgb8", step=18)
        msg.data = bytes(72)
        for key, value in fields.items():
            setattr(msg, key, value)
        return msg

    def audio(data=bytes(3200), **fields):
        msg = AudioFrame(header=header(t), sample_rate=16000, channels=1, encoding="S16LE")
        msg.data = data
        for key, value in fields.items():
            setattr(msg, key, value)
        return msg

    return [
        ("image", image(encoding="jpeg2000"), "encoding"),
        ("image", image(step=17), "size"),
        ("image", image(height=0), "empty"),
        ("image", image(data=bytes(71)), "size"),
        ("audio", audio(data=bytes(3201)), "size"),
        ("audio", audio(data=np.full(800, np.nan, "<f4").tobytes(), encoding="F32LE"), "nonfinite"),
        ("audio", audio(data=np.full(800, np.inf, "<f4").tobytes(), encoding="F32LE"), "nonfinite"),
        ("audio", audio(sample_rate=1234), "sample_rate"),
        ("audio", audio(encoding="mp3"), "encoding"),
    ]


def run(sensor_input, msgs):
    windows = []
    for topic, msg in msgs:
        windows += sensor_input.image(msg) if topic == "image" else sensor_input.audio(msg)
    return windows


def test_every_malformed_message_is_rejected_counted_and_harmless():
    reports = []
    clean = run(SensorInput(CFG), good_messages())
    noisy_input = SensorInput(CFG, report=lambda *r: reports.append(r))
    mixed = []
    for i, (topic, msg) in enumerate(good_messages()):
        mixed.append((topic, msg))
        if i % 6 == 0:
            mixed += [(t, m) for t, m, _ in bad_messages(50.0 + i / 20)]
    noisy = run(noisy_input, mixed)

    assert len(noisy) == len(clean) > 0
    for a, b in zip(noisy, clean):
        np.testing.assert_array_equal(a.frames, b.frames)
        np.testing.assert_array_equal(a.audio, b.audio)
        assert a.video_present and a.audio_present
    expected = {(topic, kind) for topic, _, kind in bad_messages(0.0)}
    assert set(noisy_input.rejected) == expected
    assert noisy_input.counters()["rejected"] == sum(noisy_input.rejected.values()) == 9 * 10
    assert {(source, kind) for source, kind, _ in reports} == expected
    assert all("rejected" in message for _, _, message in reports)


def test_windows_hold_resampled_mono_audio_in_the_right_place():
    windows = run(SensorInput(CFG), good_messages())
    window = windows[1]
    t = window.t_start + np.arange(window.audio.size) / 16000
    expected = 0.3 * np.sin(2 * np.pi * 220 * t)
    # The streaming resampler delays nothing on the window's timeline.
    assert np.abs(window.audio - expected).max() < 0.01
    assert [int(f[0, 0, 0]) for f in window.frames] == [6, 9, 11, 14]  # bgr8 frames, RGB out


def test_compressed_images_feed_the_same_windows():
    sensor_input = SensorInput(CFG)
    windows = []
    for i in range(20):
        msg = rgb_to_compressed(np.full((8, 8, 3), 10 * i, np.uint8), "png", header=header(50.0 + i / 10))
        windows += sensor_input.compressed_image(msg)
    bad = CompressedImage(header=header(52.0), format="png")
    bad.data = b"garbage"
    assert sensor_input.compressed_image(bad) == []
    assert sensor_input.rejected == {("image/compressed", "corrupt"): 1}
    assert windows and windows[0].frames.shape == (4, 8, 8, 3)


def test_sample_rate_change_mid_stream_is_reported_and_stays_in_time():
    reports = []
    sensor_input = SensorInput(CFG, report=lambda *r: reports.append(r[1]))
    windows = []
    for i in range(30):
        t = 50.0 + i / 10
        rate = 48000 if i < 15 else 22050
        n = rate // 10
        windows += sensor_input.audio(pcm_to_audio_frame(np.full(n, 0.25, np.float32), rate, "F32LE", header(t)))
    assert "sample_rate" in reports and sensor_input.counters()["sample_rate_changes"] == 1
    # Around the switch at 51.5 s every sample is still accounted for (resampler edges aside).
    around = [w for w in windows if w.t_start <= 51.5 <= w.t_end]
    assert around and all(w.audio_coverage > 0.97 for w in around)


def test_throttled_log_writes_one_line_per_problem_per_period():
    lines, now = [], [0.0]
    log = ThrottledLog(lines.append, period=5.0, clock=lambda: now[0])
    for _ in range(100):
        log("image", "size", "bad size")
    log("audio", "size", "bad audio")
    now[0] = 6.0
    log("image", "size", "bad size")
    assert lines == ["[image] bad size", "[audio] bad audio", "[image] bad size (99 more like this in the last 6 s)"]


# -- audio_common_msgs layouts -------------------------------------------------------------
def stamped_header(t):
    return SimpleNamespace(stamp=SimpleNamespace(sec=int(t), nanosec=round((t % 1) * 1e9)))


def test_ros_drivers_layout_with_audio_info():
    pcm = (np.arange(8, dtype="<i2") * 1000).tobytes()
    msg = SimpleNamespace(header=stamped_header(3.25), audio=SimpleNamespace(data=pcm))
    info = SimpleNamespace(channels=2, sample_rate=44100, sample_format="S16LE", coding_format="wave", bitrate=0)
    chunk = audio_data_to_pcm(msg, info)
    assert chunk.sample_rate == 44100 and chunk.stamp == pytest.approx(3.25)
    np.testing.assert_allclose(chunk.samples, (np.arange(8).reshape(4, 2) * 1000) / 32768)
    with pytest.raises(InvalidInput, match="AudioInfo"):
        audio_data_to_pcm(msg, None)
    with pytest.raises(InvalidInput, match="compressed"):
        audio_data_to_pcm(msg, SimpleNamespace(**{**vars(info), "coding_format": "mp3"}))


@pytest.mark.parametrize(
    "fmt, field, values, expected",
    [
        (1, "float32_data", [0.5, -0.25], [0.5, -0.25]),
        (2, "int32_data", [2**30, -(2**31)], [0.5, -1.0]),
        (8, "int16_data", [16384, -32768], [0.5, -1.0]),
        (16, "int8_data", [64, -128], [0.5, -1.0]),
        (32, "uint8_data", [192, 0], [0.5, -1.0]),
    ],
)
def test_mgonzs13_layout_every_portaudio_format(fmt, field, values, expected):
    data = {name: [] for name in ("float32_data", "int32_data", "int16_data", "int8_data", "uint8_data")}
    data[field] = values
    msg = SimpleNamespace(
        header=stamped_header(7.5),
        audio=SimpleNamespace(info=SimpleNamespace(format=fmt, channels=1, rate=16000, chunk=2), audio_data=SimpleNamespace(**data)),
    )
    chunk = audio_stamped_to_pcm(msg)
    np.testing.assert_allclose(chunk.samples[:, 0], expected)
    assert chunk.stamp == 7.5 and chunk.sample_rate == 16000


def test_real_audio_common_messages_when_installed():
    types = audio_common_types()
    if not types:
        pytest.skip("audio_common_msgs is not importable here (it is not on PyPI); duck-typed layouts tested above")
    if "AudioStamped" in types:
        msg = types["AudioStamped"]()
        msg.audio.info.format, msg.audio.info.channels, msg.audio.info.rate = 8, 1, 16000
        msg.audio.audio_data.int16_data = [0, 16384]
        np.testing.assert_allclose(audio_stamped_to_pcm(msg).samples[:, 0], [0.0, 0.5])
    if "AudioDataStamped" in types:
        msg = types["AudioDataStamped"]()
        msg.audio.data = np.array([0, 16384], "<i2").tobytes()
        info = types["AudioInfo"](channels=1, sample_rate=16000, sample_format="S16LE", coding_format="wave")
        np.testing.assert_allclose(audio_data_to_pcm(msg, info).samples[:, 0], [0.0, 0.5])
