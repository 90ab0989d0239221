"""Runtime pieces: the per-frame cache, the estimator, debouncing, workers, voice activity, plots."""

import dataclasses
import threading
import time

import numpy as np
import pytest

from emotion_ros.eval.timeline import plot_timeline
from emotion_ros.runtime.backend import BackendError, Perception
from emotion_ros.runtime.debounce import LabelDebouncer
from emotion_ros.runtime.estimate import EmotionEstimate, Explanation
from emotion_ros.runtime.estimator import EmotionEstimator
from emotion_ros.runtime.frame_cache import FrameFeatureCache
from emotion_ros.runtime.latest_worker import LatestWorker
from emotion_ros.runtime.messages import estimate_to_msg
from emotion_ros.runtime.torch_backend import TorchBackend
from emotion_ros.runtime.voice_activity import speaking_probability
from emotion_ros.window import WindowAssembler, WindowConfig


@pytest.fixture(scope="module")
def backend():
    return TorchBackend("tiny", threads=2)


def windows(count=3, video=True, audio=True, size=(48, 64), num_frames=16):
    """Windows (16 frames: the default model's) from a 30 fps camera (frame value = index) and a tone."""
    assembler = WindowAssembler(WindowConfig(num_frames=num_frames))
    out = []
    for i in range(round((2.0 + 0.5 * count + 0.2) * 30)):
        t = 100.0 + i / 30
        if video:
            out += assembler.add_frame(t, np.full((*size, 3), i % 256, np.uint8))
        if audio and i % 3 == 0:
            n = np.arange(1600)
            out += assembler.add_audio(t, (0.2 * np.sin(2 * np.pi * 300 * (t + n / 16000))).astype(np.float32))
    return out[:count]


def test_cache_encodes_each_frame_once_across_overlapping_windows():
    calls = []

    def encode(frames):  # (N, 4, 1) features holding each frame's pixel value
        calls.append(len(frames))
        return np.repeat(frames[:, 0, 0, :1].astype(np.float32)[:, None, :], 4, axis=1)

    cache = FrameFeatureCache(capacity=64)
    first, second, third = windows(3, num_frames=4)
    features = cache.features(first.frame_stamps, first.frames, encode)
    assert features.shape == (4, 4, 1) and calls == [4]
    cache.features(second.frame_stamps, second.frames, encode)
    cache.features(third.frame_stamps, third.frames, encode)
    # 0.5 s stride over a 2 s window of 4 frames: 1 new frame per window.
    assert calls == [4, 1, 1] and cache.hits == 6 and cache.misses == 6
    # Features come back in the window's order, from the right frames.
    again = cache.features(third.frame_stamps, third.frames, encode)
    np.testing.assert_array_equal(again[:, 0, 0], third.frames[:, 0, 0, 0])
    # A window that picks the same frame twice encodes it once.
    stamps = np.array([1.0, 1.0, 2.0])
    frames = np.stack([np.full((2, 2, 3), v, np.uint8) for v in (5, 5, 6)])
    calls.clear()
    small = FrameFeatureCache(capacity=2)
    small.features(stamps, frames, encode)
    assert calls == [2]


def test_estimator_gives_valid_estimates_and_encodes_only_new_frames(backend):
    estimator = EmotionEstimator(backend)
    estimates = [estimator.estimate(w, time.monotonic())[0] for w in windows(3)]
    for estimate in estimates:
        assert estimate.labels == backend.labels
        assert np.isclose(estimate.scores.sum(), 1.0, atol=1e-5) and (estimate.scores >= 0).all()
        assert estimate.label in backend.labels and estimate.confidence == estimate.scores.max()
        assert -1 <= estimate.valence <= 1 and -1 <= estimate.arousal <= 1
        assert estimate.video_present and estimate.audio_present and estimate.latency >= 0
        # plain grey frames: the model finds no face, so there is nobody to report on
        assert estimate.reads_faces and not estimate.person_visible and estimate.people == ()
        assert estimate.confidence < 0.3
        msg = estimate_to_msg(estimate, "camera", backend.model_id)
        assert msg.label == "" and msg.confidence == 0.0 and not msg.person_visible and msg.faces == 0
    # 8 frames per second read: 4 new frames per 0.5 s stride, each given to the face follower once
    assert estimator.cache.prefilled == 16 + 4 + 4 and estimator.cache.misses == 0
    assert estimator.follower.detected + estimator.follower.followed == 16 + 4 + 4


def test_estimator_reports_every_person_with_the_largest_face_first(backend):
    from emotion_ros.samples.face_composites import paste_faces, scene
    from emotion_ros.io.letterbox import letterbox

    rgb, truth = paste_faces(scene("grass", 480, 640), [(90, 0.25, 0.45), (160, 0.7, 0.5)])
    (window,) = windows(1, size=(512, 512))
    window.frames[:] = letterbox(rgb, 512)
    window = dataclasses.replace(window, source_size=(480, 640))
    estimate, _ = EmotionEstimator(backend).estimate(window)
    assert estimate.person_visible and [p.index for p in estimate.people] == [0, 1]
    main, other = estimate.people
    assert abs(main.box[0] - truth[1, 0]) < 12 and abs(other.box[0] - truth[0, 0]) < 12  # [px] of the 640 x 480 frame
    assert main.seen == 1.0 and np.array_equal(estimate.scores, main.scores)
    assert all(backend.labels[int(np.argmax(p.scores))] == "happy" for p in estimate.people)
    msg = estimate_to_msg(estimate, "camera", backend.model_id)
    assert msg.person_visible and msg.faces == 2 and msg.label == "happy"


def test_estimator_handles_a_window_without_video(backend):
    (window,) = windows(1, video=False)
    estimate, context = EmotionEstimator(backend).estimate(window)
    assert not estimate.video_present and estimate.audio_present
    assert np.isclose(estimate.scores.sum(), 1.0, atol=1e-5)


class FailingBackend:
    """The real backend, except that perceive_people() raises or returns NaN."""

    def __init__(self, inner, mode):
        self.inner, self.mode = inner, mode

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def perceive_people(self, *args):
        if self.mode == "raise":
            raise RuntimeError("CUDA out of memory")
        return [Perception(p.scores * np.nan, p.valence, p.arousal, p.context) for p in self.inner.perceive_people(*args)]


@pytest.mark.parametrize("mode, message", [("raise", "torch backend failed: RuntimeError: CUDA out of memory"), ("nan", "NaN")])
def test_backend_failures_become_backend_errors(backend, mode, message):
    with pytest.raises(BackendError, match=message):
        EmotionEstimator(FailingBackend(backend, mode)).estimate(windows(1)[0])


def test_debouncer_needs_a_lead_that_lasts():
    labels = ("happy", "sad", "neutral")
    debouncer = LabelDebouncer(labels, hysteresis=0.15, min_dwell=1.0, min_confidence=0.4)
    happy, sad, close = [0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.45, 0.4, 0.15]
    events = []
    for i, scores in enumerate([happy] * 4 + [sad, happy, sad, happy] + [sad] * 4 + [close] * 6):
        change = debouncer.update(i * 0.5, scores)
        if change:
            events.append((change.stamp, change.previous, change.label))
    # happy once it has led for 1 s; the flicker never leads for 1 s; sad 1 s after it starts
    # leading at 4.0 s; in "close", happy leads sad by 0.05 < hysteresis: no switch.
    assert events == [(1.0, None, "happy"), (5.0, "happy", "sad")]


def test_latest_worker_drops_stale_work_and_survives_errors():
    gate = threading.Event()
    seen, dropped, errors = [], [], []

    def process(item):
        gate.wait(5)
        if item == "boom":
            raise ValueError("bad item")
        seen.append(item)

    worker = LatestWorker(process, "test", on_drop=dropped.append, on_error=lambda item, exc: errors.append(str(exc))).start()
    worker.submit(1)
    time.sleep(0.1)  # 1 is now being processed
    for item in (2, 3, "boom"):
        worker.submit(item)
    gate.set()
    deadline = time.monotonic() + 5
    while not worker.idle() and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.submit(4)
    while not worker.idle() and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.stop()
    assert seen == [1, 4] and dropped == [2, 3] and errors == ["bad item"]
    assert worker.dropped == 2 and not worker._thread.is_alive()


def test_voice_activity_separates_speech_from_silence_and_steady_noise():
    rate, rng = 16000, np.random.default_rng(0)
    mask = np.ones(32000, bool)
    silence = (1e-4 * rng.standard_normal(32000)).astype(np.float32)
    noise = (0.1 * rng.standard_normal(32000)).astype(np.float32)
    speech = silence.copy()
    t = np.arange(32000) / rate
    syllables = (np.sin(2 * np.pi * 4 * t) > 0) & (t > 0.8)  # 4 Hz syllable rhythm in the last 1.2 s
    speech[syllables] += (0.3 * np.sin(2 * np.pi * 220 * t))[syllables].astype(np.float32)
    assert speaking_probability(silence, mask, rate) == 0.0
    assert speaking_probability(noise, mask, rate) < 0.1
    assert speaking_probability(speech, mask, rate) > 0.4
    assert speaking_probability(speech, np.zeros_like(mask), rate) == 0.0


def test_timeline_plot_is_written(tmp_path):
    labels = ("happy", "sad")
    estimates = [EmotionEstimate(t, t + 2, labels, np.array([p, 1 - p], np.float32), p, -p, 0.9, True, True)
                 for t, p in ((0.0, 0.2), (0.5, 0.7), (1.0, 0.9))]
    explanations = [Explanation(0.5, 2.5, "She smiles and her voice is bright.", "happy", "", 9, 0.3)]
    path = plot_timeline(estimates, explanations, tmp_path / "plots" / "timeline.png", title="test")
    import matplotlib.image

    image = matplotlib.image.imread(path)
    assert image.shape[0] > 400 and image.shape[1] > 600
    with pytest.raises(ValueError):
        plot_timeline([], [], tmp_path / "empty.png")


@pytest.mark.slow
def test_speaking_is_the_models_own_voice_activity_and_its_explanations_agree(backend, sample_clip):
    """One voice-activity detector: the state's speaking share is the in-graph Silero VAD's speech
    share, and the explanation says what the published state says; a window missing most of its
    audio is judged on what arrived."""
    import dataclasses

    import torch

    from emotion_ros.runtime.faithful_answer import voice_stated
    from emotion_ros.model.voice_cues import CUES
    from emotion_ros.runtime.explainer import explain_person
    from emotion_ros.window.config import emotion_node_window
    from emotion_ros.window.media_windows import iter_media_windows

    estimator = EmotionEstimator(backend)
    clip_windows = list(iter_media_windows(sample_clip, emotion_node_window(), backend.frame_size, on_frame=estimator.prefill))
    received = np.zeros_like(clip_windows[1].audio_mask)
    received[-received.size // 4:] = True  # only the last quarter arrived
    gap = dataclasses.replace(clip_windows[1], audio=np.where(received, clip_windows[1].audio, 0).astype(np.float32),
                              audio_mask=received)
    agree = []
    for window in clip_windows + [gap]:
        estimate, contexts = estimator.estimate(window)
        with torch.no_grad():
            tokens = backend.network.audio_encoder(torch.from_numpy(window.audio)[None], torch.from_numpy(window.audio_mask)[None])
        assert estimate.speaking_probability == pytest.approx(float(tokens[0, 0, CUES.index("speech_fraction")]), abs=1e-5)
        text = explain_person(backend, estimate, contexts.main, estimate.person_id, "", 48).text
        # every window, those near the threshold too (the masked window's share is 0.317 against 0.3):
        # the explanation says what the published state says
        agree.append((voice_stated(text), estimate.speaking, round(estimate.speaking_probability, 3), text))
    assert clip_windows[0].audio_present and any(estimator.estimate(w)[0].speaking for w in clip_windows)
    assert len(agree) >= 5 and all(said == ("speaking" if speaking else "not speaking") for said, speaking, *_ in agree), agree
