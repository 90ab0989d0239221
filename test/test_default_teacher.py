"""The rules the default checkpoint is fitted to, and the explanations it is taught to write."""

import numpy as np
import torch

from emotion_ros.model.face_encoder import BOX, DETECTION, EMPTY_LOGIT, EXPRESSION, empty_token
from emotion_ros.model.voice_cues import CUES
from emotion_ros.default_model.affect import LABELS, targets
from emotion_ros.default_model.cue_windows import synthetic_video
from emotion_ros.default_model.explanations import describe

HAPPY = LABELS.index("happy")


def window(expression: int | None, detection: float = 4.0, speech_fraction=0.0, speech_loudness=0.0, pitch_spread=0.0):
    """4 frames of person-centric face tokens (the face, or nobody, in slot 0), plus voice cues."""
    frames = torch.from_numpy(np.broadcast_to(empty_token(), (1, 4, 4, 12)).copy())
    if expression is not None:
        frames[:, :, 0, EXPRESSION] = 0.0
        frames[:, :, 0, expression] = 12.0
        frames[:, :, 0, DETECTION] = detection
        frames[:, :, 0, BOX] = torch.tensor([0.3, 0.2, 0.5, 0.45])
    audio = torch.zeros(1, 16, 8)
    audio[..., CUES.index("speech_fraction")] = speech_fraction
    audio[..., CUES.index("speech_loudness")] = speech_loudness
    audio[..., CUES.index("pitch_spread")] = pitch_spread
    return frames, audio


def run(expression, video=True, audio=True, **voice):
    frames, tokens = window(expression, **voice)
    return targets(frames, tokens, torch.tensor([video]), torch.tensor([audio]))


def test_a_clear_face_keeps_its_expression():
    out = run(HAPPY)
    assert int(out.probabilities.argmax()) == HAPPY and out.probabilities[0, HAPPY] > 0.99
    valence, arousal = out.valence_arousal[0].tolist()
    assert valence > 0.7 and arousal > 0.3  # happy sits at high valence on the circumplex


def test_without_a_face_or_video_there_is_no_emotion():
    for out in (run(None), run(HAPPY, video=False), run(HAPPY, detection=EMPTY_LOGIT)):
        assert torch.allclose(out.probabilities, torch.full((1, 7), 1 / 7), atol=1e-3)  # no label stands out
        assert float(out.face[0]) < 0.01
        assert out.valence_arousal.abs().max() < 0.01


def test_a_face_seen_in_some_frames_still_counts():
    frames, tokens = window(HAPPY)
    frames[:, 1:, 0] = torch.from_numpy(empty_token())  # seen in 1 of 4 frames
    out = targets(frames, tokens, torch.tensor([True]), torch.tensor([True]))
    assert int(out.probabilities.argmax()) == HAPPY and 0.3 < float(out.face[0]) < 0.7


def test_speaking_loudly_raises_arousal_and_silence_does_not():
    silent = run(LABELS.index("neutral"))
    loud = run(LABELS.index("neutral"), speech_fraction=1.0, speech_loudness=1.5, pitch_spread=1.2)
    quiet = run(LABELS.index("neutral"), speech_fraction=1.0, speech_loudness=-0.5, pitch_spread=0.1)
    assert bool(loud.speaking[0]) and not bool(silent.speaking[0])
    assert loud.valence_arousal[0, 1] > silent.valence_arousal[0, 1] + 0.3
    assert quiet.valence_arousal[0, 1] < silent.valence_arousal[0, 1]
    muted = run(LABELS.index("neutral"), audio=False, speech_fraction=1.0, speech_loudness=1.5)
    assert not bool(muted.speaking[0])
    assert torch.equal(loud.probabilities, silent.probabilities)  # the voice does not change the label


def test_synthetic_video_tokens_cover_every_class_with_faces_and_without():
    readings = np.random.default_rng(1).normal(0, 3, (20, 7)).astype(np.float32)
    frames, cls, quadrants = synthetic_video(2000, 4, np.random.default_rng(0), readings)
    assert frames.shape == (2000, 4, 4, 12) and cls.shape == (2000, 8) and quadrants.shape == (2000, 4, 8)
    assert (frames[:, :, 1:, DETECTION] == EMPTY_LOGIT).all()  # one person per window, in slot 0
    video, audio = torch.ones(2000, dtype=torch.bool), torch.zeros(2000, dtype=torch.bool)
    out = targets(frames, torch.zeros(2000, 16, 8), video, audio)
    top = out.probabilities[out.face > 0.5].argmax(1)
    assert set(top.tolist()) == set(range(7))
    assert (out.face < 0.01).float().mean() > 0.1 and (out.face > 0.7).float().mean() > 0.3


def test_explanations_name_the_expression_and_the_voice():
    probabilities = [0.02, 0.01, 0.02, 0.85, 0.03, 0.02, 0.05]
    assert describe(probabilities, 0.9, True, True, True, 0.6) == (
        "The face shows a clear happy expression. The person is speaking energetically.")
    mixed = [0.05, 0.0, 0.05, 0.3, 0.5, 0.0, 0.1]
    assert describe(mixed, 0.9, True, True, False, 0.0) == (
        "The face shows a moderate sad expression, with a hint of happy. The person is not speaking.")
    assert describe(probabilities, 0.9, False, False, False, 0.0) == (
        "No video is available, so the face cannot be read. There is no sound.")
    assert describe(probabilities, 0.1, True, True, True, -0.5) == "No face is visible. The person is speaking softly."
    assert describe(probabilities, 0.1, True, True, True, -0.5).endswith("speaking softly.")
