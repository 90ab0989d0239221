"""emotion_msgs/AudioFrame <-> PCM, and the streaming mono resampler."""

import numpy as np
import pytest
from emotion_msgs.msg import AudioFrame

from emotion_ros.io.audio import MonoResampler, PcmChunk, audio_frame_to_pcm, pcm_to_audio_frame
from emotion_ros.io.errors import InvalidInput
from emotion_ros.io.stamps import to_stamp


def frame(data: bytes, rate=16000, channels=1, encoding="S16LE", stamp=12.5) -> AudioFrame:
    msg = AudioFrame(sample_rate=rate, channels=channels, encoding=encoding)
    msg.header.stamp = to_stamp(stamp)
    msg.data = data
    return msg


def test_s16le_decodes_hand_made_samples():
    pcm = np.array([0, 16384, -32768, 32767, -1], dtype="<i2")
    chunk = audio_frame_to_pcm(frame(pcm.tobytes()))
    np.testing.assert_array_equal(chunk.samples[:, 0], pcm / np.float32(32768))
    assert chunk.samples.dtype == np.float32 and chunk.samples.shape == (5, 1)
    assert chunk.sample_rate == 16000 and chunk.stamp == pytest.approx(12.5)


def test_f32le_stereo_is_deinterleaved():
    interleaved = np.array([0.1, -0.1, 0.2, -0.2, 0.3, -0.3], dtype="<f4")
    chunk = audio_frame_to_pcm(frame(interleaved.tobytes(), rate=48000, channels=2, encoding="F32LE"))
    np.testing.assert_array_equal(chunk.samples, interleaved.reshape(3, 2))


@pytest.mark.parametrize("encoding", ["S16LE", "F32LE"])
def test_pcm_to_audio_frame_round_trip(encoding):
    samples = np.linspace(-1, 1, 64, dtype=np.float32).reshape(32, 2)
    msg = pcm_to_audio_frame(samples, 44100, encoding)
    assert (msg.sample_rate, msg.channels, msg.encoding) == (44100, 2, encoding)
    back = audio_frame_to_pcm(msg).samples
    np.testing.assert_allclose(back, samples, atol=1 / 32768 if encoding == "S16LE" else 0)


def test_s16le_encoding_clips_instead_of_wrapping():
    msg = pcm_to_audio_frame(np.array([2.0, -2.0], np.float32), 16000, "S16LE")
    np.testing.assert_array_equal(np.frombuffer(bytes(msg.data), "<i2"), [32767, -32768])


@pytest.mark.parametrize(
    "msg, kind",
    [
        (frame(bytes(5)), "size"),  # odd byte count for S16LE
        (frame(bytes(6), channels=2, encoding="S16LE"), "size"),  # not whole stereo frames
        (frame(bytes(6), encoding="F32LE"), "size"),
        (frame(b""), "empty"),
        (frame(bytes(4), encoding="U8"), "encoding"),
        (frame(bytes(4), channels=0), "channels"),
        (frame(bytes(4), rate=12345), "sample_rate"),
        (frame(bytes(4), rate=0), "sample_rate"),
        (frame(np.array([0.0, np.nan], "<f4").tobytes(), encoding="F32LE"), "nonfinite"),
        (frame(np.array([np.inf, 0.0], "<f4").tobytes(), encoding="F32LE"), "nonfinite"),
    ],
)
def test_malformed_audio_is_rejected_with_a_reason(msg, kind):
    with pytest.raises(InvalidInput) as error:
        audio_frame_to_pcm(msg)
    assert error.value.kind == kind and str(error.value)


def sine(freq, rate, seconds, channels=1):
    t = np.arange(round(seconds * rate)) / rate
    mono = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(mono[:, None], channels, axis=1)


def stream(resampler, samples, rate, chunk_s, t0=100.0):
    per = round(chunk_s * rate)
    out = []
    for i in range(0, samples.shape[0], per):
        out += resampler.push(PcmChunk(samples[i : i + per], rate, t0 + i / rate))
    return out


def peak_frequency(samples, rate):
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return np.fft.rfftfreq(samples.size, 1 / rate)[spectrum.argmax()]


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resampling_to_16k_keeps_pitch_timing_and_continuity(rate):
    resampler = MonoResampler(16000)
    out = stream(resampler, sine(440.0, rate, 2.0, channels=2), rate, chunk_s=0.02)
    # Chunks come out back to back on one clock starting at the first input stamp.
    assert out[0].stamp == pytest.approx(100.0)
    for a, b in zip(out, out[1:]):
        assert b.stamp == pytest.approx(a.stamp + a.samples.shape[0] / 16000, abs=1e-9)
    mono = np.concatenate([c.samples for c in out])
    assert mono.ndim == 1 and mono.dtype == np.float32
    assert abs(mono.size - 32000) <= 0.02 * 32000  # the resampler holds back its filter delay
    assert peak_frequency(mono[2000:30000], 16000) == pytest.approx(440.0, abs=2.0)
    # No clicks at chunk boundaries: the streamed output matches a sine sample by sample.
    t = np.arange(mono.size) / 16000
    assert np.abs(mono[2000:28000] - 0.5 * np.sin(2 * np.pi * 440 * t[2000:28000])).max() < 0.01


def test_native_rate_passes_through_and_multichannel_is_averaged():
    resampler = MonoResampler(16000)
    stereo = np.stack([np.full(160, 0.2, np.float32), np.full(160, 0.6, np.float32)], axis=1)
    (out,) = resampler.push(PcmChunk(stereo, 16000, 5.0))
    np.testing.assert_allclose(out.samples, 0.4)
    assert out.stamp == 5.0


def test_rate_change_and_gap_start_new_streams():
    resampler = MonoResampler(16000)
    stream(resampler, sine(300, 48000, 0.5), 48000, 0.05, t0=10.0)
    after_change = resampler.push(PcmChunk(sine(300, 16000, 0.1), 16000, 10.5))
    assert resampler.sample_rate_changes == 1
    # The 48 kHz stream's tail comes first, then the new stream, stamped at its own start.
    assert after_change[-1].stamp == pytest.approx(10.5)
    assert after_change[0].stamp < 10.5
    resampler.push(PcmChunk(sine(300, 16000, 0.1), 16000, 13.0))  # 2.4 s gap
    assert resampler.discontinuities == 1


def test_jittery_stamps_are_smoothed_onto_the_sample_clock():
    resampler = MonoResampler(16000)
    rng = np.random.default_rng(1)
    out = []
    for i in range(20):
        out += resampler.push(PcmChunk(np.zeros((1600, 1), np.float32), 16000, 1.0 + 0.1 * i + rng.uniform(-0.01, 0.01)))
    stamps = [c.stamp for c in out]
    np.testing.assert_allclose(np.diff(stamps), 0.1, atol=1e-9)
    assert resampler.discontinuities == 0


def test_microphone_stamps_follow_the_sample_clock_despite_late_callbacks():
    from emotion_ros.io.microphone import MicrophoneCapture

    capture = MicrophoneCapture(on_chunk=lambda chunk: None, clock=lambda: 0.0, sample_rate=16000, chunk=0.1)
    rng = np.random.default_rng(0)
    # Callbacks measured 0.1 s apart plus up to 80 ms of scheduling delay: stamps stay evenly spaced.
    stamps = [capture._stamp(10.0 + 0.1 * i + rng.uniform(0, 0.08), 1600) for i in range(50)]
    np.testing.assert_allclose(np.diff(stamps), 0.1)
    # Half a second of samples lost (an overflow): the clock re-anchors forward.
    later = capture._stamp(10.0 + 0.1 * 50 + 0.5, 1600)
    assert capture.resyncs == 1 and later == pytest.approx(15.5)


@pytest.mark.parametrize("device, named", [(None, "the default input device"), ("2", "'2'")])
def test_a_microphone_that_cannot_open_names_the_device_meant(monkeypatch, device, named):
    sounddevice = pytest.importorskip("sounddevice")
    from emotion_ros.io.microphone import MicrophoneCapture, MicrophoneError

    def refuse(**kwargs):
        raise sounddevice.PortAudioError("Error querying device -1")

    monkeypatch.setattr(sounddevice, "InputStream", refuse)
    with pytest.raises(MicrophoneError) as raised:
        MicrophoneCapture(lambda chunk: None, lambda: 0.0, device=device).start()
    assert str(raised.value).startswith(f"cannot open microphone {named}:") and "None" not in str(raised.value)
