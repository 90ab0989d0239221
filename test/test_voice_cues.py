"""The voice-cue audio view: Silero VAD rebuilt in PyTorch, loudness and pitch."""

import numpy as np
import pytest
import torch

from emotion_ros.model.config import AudioConfig
from emotion_ros.model.silero_vad import CHUNK, CONTEXT, load_silero_vad
from emotion_ros.model.voice_cues import CUES, VoiceCueEncoder, loudness_to_db

RATE = 16000


@pytest.fixture(scope="module")
def vad(silero_model_path):
    return load_silero_vad(silero_model_path)


@pytest.fixture(scope="module")
def encoder(vad):
    module = VoiceCueEncoder(AudioConfig(type="voice_cues", dim=8), 2 * RATE, 16)
    module.vad.load_state_dict(vad.state_dict())
    return module.eval()


def test_silero_port_matches_the_shipped_onnx_graph_chunk_by_chunk(vad, silero_model_path, speech_16k):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(silero_model_path), providers=["CPUExecutionProvider"])
    audio = np.pad(speech_16k, (0, -len(speech_16k) % CHUNK))
    state, context, reference = np.zeros((2, 1, 128), np.float32), np.zeros((1, CONTEXT), np.float32), []
    for start in range(0, len(audio), CHUNK):  # the streaming use the graph was made for
        chunk = np.concatenate([context, audio[None, start : start + CHUNK]], axis=1)
        out, state = session.run(None, {"input": chunk, "state": state, "sr": np.array(RATE, np.int64)})
        context = chunk[:, -CONTEXT:]
        reference.append(out[0, 0])
    with torch.no_grad():
        ours = vad(torch.from_numpy(speech_16k)[None])[0].numpy()
    assert ours.shape == (len(reference),)
    np.testing.assert_allclose(ours, reference, atol=1e-4)
    speech = slice(8000 // CHUNK + 4, (len(speech_16k) - 8000) // CHUNK - 4)
    assert ours[:8000 // CHUNK].max() < 0.2 and np.median(ours[speech]) > 0.8


def test_a_damaged_vad_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "vad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="cannot read the Silero VAD model"):
        load_silero_vad(bad)


def cues(encoder, audio: np.ndarray) -> dict[str, float]:
    with torch.no_grad():
        tokens = encoder(torch.from_numpy(audio.astype(np.float32))[None])[0]
    assert tokens.shape == (16, len(CUES))
    return dict(zip(CUES, tokens.mean(0).tolist()))


def test_pitch_and_voicing_of_a_tone(encoder):
    t = np.arange(2 * RATE) / RATE
    for f0 in (110.0, 220.0, 330.0):
        with torch.no_grad():
            chunk = encoder.chunk_cues(torch.from_numpy((0.3 * np.sin(2 * np.pi * f0 * t)).astype(np.float32))[None])[0]
        voicing, pitch = chunk[1:-1, 2], chunk[1:-1, 3]
        assert voicing.min() > 0.9
        np.testing.assert_allclose(150 * 2 ** pitch.numpy(), f0, rtol=0.02)  # no octave errors


def test_speech_is_detected_and_its_loudness_follows_the_gain(encoder, speech_16k):
    window = speech_16k[6000 : 6000 + 2 * RATE]
    loud, quiet = cues(encoder, window), cues(encoder, window * 0.1)
    assert loud["speech_fraction"] > 0.5 and quiet["speech_fraction"] > 0.5  # the VAD does not depend on level
    louder_db = loudness_to_db(torch.tensor(loud["speech_loudness"])) - loudness_to_db(torch.tensor(quiet["speech_loudness"]))
    assert abs(float(louder_db) - 20.0) < 1.0  # 10x amplitude = 20 dB
    assert loud["pitch_spread"] > 0.1  # speech has intonation


def test_silence_and_noise_are_not_speech(encoder):
    silence = cues(encoder, np.zeros(2 * RATE))
    assert silence["speech_fraction"] < 0.05 and silence["pitch_spread"] == 0.0
    assert loudness_to_db(torch.tensor(silence["loudness"])) == pytest.approx(-80.0, abs=0.1)
    noise = cues(encoder, np.random.default_rng(0).normal(0, 0.01, 2 * RATE))
    assert noise["speech_fraction"] < 0.1


def test_a_gap_is_masked_not_heard_as_silence(encoder, vad, speech_16k):
    """A window whose first 75% never arrived: the cues come from the received quarter only."""
    speech = speech_16k[6000 : 6000 + 2 * RATE].astype(np.float32)
    received = np.zeros(2 * RATE, bool)
    received[-RATE // 2 :] = True
    gap = np.where(received, speech, 0.0).astype(np.float32)
    with torch.no_grad():
        masked = encoder(torch.from_numpy(gap)[None], torch.from_numpy(received)[None])[0]
        zero_filled = encoder(torch.from_numpy(gap)[None])[0]
        quarter = VoiceCueEncoder(AudioConfig(type="voice_cues", dim=8), RATE // 2, 16)
        quarter.vad.load_state_dict(vad.state_dict())
        alone = quarter.eval()(torch.from_numpy(speech[-RATE // 2 :])[None])[0]  # what the quarter says on its own
        whole = encoder(torch.from_numpy(speech)[None], torch.ones(1, 2 * RATE, dtype=torch.bool))[0]
        unmasked = encoder(torch.from_numpy(speech)[None])[0]
    fraction = CUES.index("speech_fraction")
    assert float(zero_filled[0, fraction]) < 0.3  # the gap read as silence: "not speaking"
    assert float(masked[0, fraction]) > 0.6 and abs(float(masked[0, fraction]) - float(alone[0, fraction])) < 0.15
    assert float(masked[0, CUES.index("speech_loudness")]) == pytest.approx(float(alone[0, CUES.index("speech_loudness")]), abs=0.1)
    assert torch.all(masked[:8, :4] == 0)  # tokens over the gap hold nothing
    torch.testing.assert_close(whole, unmasked)  # a full mask changes nothing
