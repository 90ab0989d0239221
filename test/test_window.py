"""The window assembler: exact frame picks and audio ranges, and every timing fault."""

import time

import numpy as np
import pytest

from emotion_ros.window import WindowAssembler, WindowConfig
from emotion_ros.window.config import shipped_parameters

RATE = 8000
CFG = WindowConfig(duration=1.0, stride=0.5, num_frames=4, sample_rate=RATE, max_latency=0.15)


def frame(value: int) -> np.ndarray:
    return np.full((2, 3, 3), value % 256, np.uint8)


def chunk(value: float, n: int = 800) -> np.ndarray:
    return np.full(n, value, np.float32)


def feed(assembler, events):
    """events: (stamp, 'v' | 'a', value); returns all windows emitted."""
    windows = []
    for stamp, kind, value in events:
        windows += assembler.add_frame(stamp, frame(value)) if kind == "v" else assembler.add_audio(stamp, chunk(value))
    return windows


def stream(t0=10.0, seconds=3.0, fps=10, audio=True, video=True, offset=0):
    """Frames at fps (value = frame index + offset), audio in 0.1 s chunks (value = chunk index + offset)."""
    events = []
    if video:
        events += [(t0 + i / fps, "v", i + offset) for i in range(round(seconds * fps))]
    if audio:
        events += [(t0 + 0.1 * k, "a", k + offset) for k in range(round(seconds * 10))]
    return sorted(events, key=lambda e: (e[0], e[1]))


def test_exact_frame_picks_and_audio_sample_ranges():
    windows = feed(WindowAssembler(CFG), stream())
    first = windows[0]
    # First full window: 10.0 + 1.0 s, rounded up to a multiple of the stride.
    assert (first.index, first.t_start, first.t_end) == (22, 10.0, 11.0)
    # Slice centres 10.125, 10.375, 10.625, 10.875 -> nearest frames 10.1, 10.4, 10.6, 10.9.
    np.testing.assert_allclose(first.frame_stamps, [10.1, 10.4, 10.6, 10.9])
    assert [int(f[0, 0, 0]) for f in first.frames] == [1, 4, 6, 9]
    assert first.frames.shape == (4, 2, 3, 3) and first.frame_mask.all()
    # Sample i of the window is sample i % 800 of chunk i // 800.
    assert first.audio.shape == (8000,) and first.audio_mask.all()
    np.testing.assert_array_equal(first.audio, np.arange(8000) // 800)
    assert first.video_present and first.audio_present
    # Then one window per stride, each shifted by exactly one stride.
    assert [w.t_end for w in windows] == pytest.approx([11.0, 11.5, 12.0, 12.5])
    np.testing.assert_allclose(windows[1].frame_stamps, [10.6, 10.9, 11.1, 11.4])
    np.testing.assert_array_equal(windows[1].audio, 5 + np.arange(8000) // 800)


def test_a_window_is_emitted_only_after_max_latency():
    assembler = WindowAssembler(CFG)
    events = stream(seconds=1.1)
    assert feed(assembler, events) == []  # sensor time reached 11.1 < 11.0 + 0.15
    assert len(assembler.add_frame(11.2, frame(0))) == 1
    assert assembler.flush() == []


def test_audio_chunk_off_the_grid_lands_at_its_sample_offset():
    assembler = WindowAssembler(CFG, warn=lambda kind, message: None)
    assembler.add_frame(10.0, frame(0))
    assembler.add_audio(10.05, chunk(1.0, 400))  # 10.05 .. 10.10 s
    (window,) = assembler.add_frame(11.2, frame(1))
    assert window.t_start == 10.0
    np.testing.assert_array_equal(np.flatnonzero(window.audio_mask), np.arange(400, 800))
    assert not window.audio_present  # 5 % coverage < min_audio_coverage


def test_missing_modality_is_masked_not_faked():
    windows = feed(WindowAssembler(CFG), stream(video=False))
    assert windows and all(w.frames is None and not w.video_present and w.audio_present for w in windows)
    assert all(np.isnan(w.frame_stamps).all() and not w.frame_mask.any() for w in windows)
    windows = feed(WindowAssembler(CFG), stream(audio=False))
    assert windows and all(w.video_present and not w.audio_present and not w.audio.any() for w in windows)


def test_stale_camera_is_masked_and_gap_reported():
    events = [e for e in stream() if e[1] == "a" or e[0] <= 10.3 + 1e-9 or e[0] >= 11.6]
    warnings = []
    assembler = WindowAssembler(CFG, warn=lambda kind, message: warnings.append(kind))
    windows = feed(assembler, events)
    first = windows[0]  # [10, 11]: camera silent since 10.3
    assert first.frame_mask.tolist() == [True, True, False, False]
    assert not first.video_present and first.audio_present
    assert assembler.counters.gaps == 1 and "gap" in warnings
    assert windows[-1].video_present  # back after the camera resumed


def test_audio_gap_is_masked_sample_exactly():
    events = [e for e in stream() if not (e[1] == "a" and e[2] in (3, 4))]  # drop 10.3 .. 10.5 s
    window = feed(WindowAssembler(CFG), events)[0]
    missing = np.flatnonzero(~window.audio_mask)
    np.testing.assert_array_equal(missing, np.arange(2400, 4000))
    assert window.audio[2400:4000].max() == 0 and window.audio_present


def test_out_of_order_and_duplicated_messages_give_identical_windows():
    events = stream()
    reference = feed(WindowAssembler(CFG), events)
    rng = np.random.default_rng(3)
    # Shuffle with up to 0.14 s of jitter (less than max_latency) and send everything twice.
    jittered = sorted(events + events, key=lambda e: e[0] + rng.uniform(0, 0.14))
    assembler = WindowAssembler(CFG, warn=lambda kind, message: None)
    windows = feed(assembler, jittered)
    assert [w.index for w in windows] == [w.index for w in reference]
    for a, b in zip(windows, reference):
        np.testing.assert_array_equal(a.frames, b.frames)
        np.testing.assert_array_equal(a.audio, b.audio)
    assert assembler.counters.out_of_order > 0
    assert assembler.counters.duplicates == len(events)


def test_late_message_is_counted_and_never_reemits_a_window():
    assembler = WindowAssembler(CFG, warn=lambda kind, message: None)
    events = [e for e in stream() if e[1] != "v" or abs(e[0] - 12.0) > 1e-9]
    windows = feed(assembler, events)
    assert windows[-1].t_end == 12.5 and windows[-2].frame_mask[-1]
    assert assembler.add_frame(12.0, frame(20)) == []  # belonged to the windows ending 12.0 and 12.5
    assert assembler.counters.late == 1
    assert assembler.counters.clock_jumps == 0
    assert len(windows) == 4 and assembler.counters.windows == 4


def test_bag_loop_resets_buffers_and_starts_a_new_timeline():
    warnings = []
    assembler = WindowAssembler(CFG, warn=lambda kind, message: warnings.append(kind))
    first_pass = feed(assembler, stream())
    second_pass = feed(assembler, stream(offset=100))  # the same stamps again
    assert assembler.counters.clock_jumps == 1 and "clock_jump" in warnings
    assert [w.index for w in second_pass] == [w.index for w in first_pass]
    # Nothing of the first pass leaks into the second.
    assert all(int(f[0, 0, 0]) >= 100 for w in second_pass for f in w.frames)
    assert all(w.audio.min() >= 100 for w in second_pass)


def test_forward_clock_jump_skips_the_gap_at_once():
    assembler = WindowAssembler(CFG, warn=lambda kind, message: None)
    feed(assembler, stream(seconds=2.0))
    started = time.perf_counter()
    windows = feed(assembler, stream(t0=10.0 + 3600.0, seconds=2.0))  # an hour later
    assert time.perf_counter() - started < 1.0
    before, after = [w for w in windows if w.t_end < 3600], [w for w in windows if w.t_end > 3600]
    # Windows still pending before the jump come out, then those holding the new data.
    assert [w.t_end for w in before] == pytest.approx([12.0, 12.5, 13.0])
    assert [w.t_end for w in after] == pytest.approx([3610.0, 3610.5, 3611.0, 3611.5])
    assert assembler.counters.empty_windows >= 7000 and assembler.counters.gaps == 2


def test_too_old_messages_are_dropped():
    cfg = WindowConfig(duration=1.0, stride=0.5, num_frames=4, sample_rate=RATE, clock_jump=5.0)
    assembler = WindowAssembler(cfg, warn=lambda kind, message: None)
    feed(assembler, stream(seconds=2.0))  # sensor time 12.0 s, history 1.65 s
    assembler.add_frame(10.45, frame(0))  # 1.55 s behind: still buffered (late)
    assembler.add_frame(10.3, frame(0))  # 1.7 s behind: dropped
    assembler.add_audio(9.0, chunk(0.0))
    assert assembler.counters.too_old == 2 and assembler.counters.clock_jumps == 0


def test_memory_is_bounded_whatever_the_input_rate():
    cfg = WindowConfig(duration=1.0, stride=0.5, num_frames=4, sample_rate=RATE, max_frame_rate=60.0)
    assembler = WindowAssembler(cfg)
    windows = 0
    for i in range(20_000):  # 1 kHz camera for 20 s, audio in 1 ms chunks
        stamp = 10.0 + i / 1000
        windows += len(assembler.add_frame(stamp, frame(i)))
        windows += len(assembler.add_audio(stamp, chunk(0.0, 8)))
        frames, chunks = assembler.buffered()
        assert frames <= cfg.history * cfg.max_frame_rate + 1
        assert chunks <= cfg.history * 1000 + 1
    assert windows == 38 and assembler.counters.decimated > 15_000


def test_resolution_change_drops_older_frames():
    assembler = WindowAssembler(CFG, warn=lambda kind, message: None)
    for i in range(15):
        assembler.add_frame(10.0 + i / 10, frame(i))
    windows = []
    for i in range(15, 30):
        windows += assembler.add_frame(10.0 + i / 10, np.zeros((4, 4, 3), np.uint8))
    assert assembler.counters.resolution_changes == 1
    assert all(w.frames.shape[1:] == (4, 4, 3) for w in windows)


def test_config_validation_and_yaml():
    with pytest.raises(ValueError, match="unknown key"):
        WindowConfig.from_dict({"duration": 2.0, "strid": 0.5})
    with pytest.raises(ValueError, match="stride"):
        WindowConfig(stride=0.0)
    with pytest.raises(ValueError, match="num_frames"):
        WindowConfig(num_frames=2.5)
    config = WindowConfig.from_dict(shipped_parameters("sensors.yaml", "window_monitor")["window"])
    assert config == WindowConfig()  # the shipped YAML documents the defaults
