"""Per-person tracks: stable ids across frames and windows, a timeout, ids never reused, and one
estimate per person, on boxes and on a generated clip of real faces (people_clip.py)."""

import re
import threading
import time

import numpy as np
import pytest

from emotion_ros.samples.people_clip import PEOPLE_SCRIPT, people_clip
from emotion_ros.io.letterbox import Letterbox
from emotion_ros.model.face_encoder import BOX, DETECTION
from emotion_ros.runtime.estimator import EmotionEstimator
from emotion_ros.runtime.people import box_iou
from emotion_ros.runtime.person_tracker import PersonTracker
from emotion_ros.window.config import WindowConfig
from emotion_ros.window.sensor_input import SensorInput

RATE = 10.0  # detections per second


def box_at(x: float, y: float = 0.3, size: float = 0.1) -> np.ndarray:
    return np.array([[x, y, x + size, y + size]])


def run(tracker: PersonTracker, stamps, boxes_at) -> list[np.ndarray]:
    return [tracker.update(t, boxes_at(t)) for t in stamps]


def test_a_new_face_is_confirmed_by_its_second_detection_and_keeps_its_id_while_it_moves():
    tracker = PersonTracker(RATE)
    ids = run(tracker, np.arange(30) / RATE, lambda t: box_at(0.1 + 0.02 * t * RATE))  # 0.02 of the frame per detection
    assert ids[0][0] == -1 and {int(i[0]) for i in ids[1:]} == {1}
    assert tracker.tracked_for(1, 2.9) == pytest.approx(2.8)


@pytest.mark.parametrize("timeout", [0.5, 1.0, 2.0])
def test_a_track_survives_misses_for_its_timeout_and_a_later_face_gets_a_new_id(timeout):
    for away, same in ((timeout, True), (timeout + 0.2, False)):
        tracker = PersonTracker(RATE, timeout)
        seen = run(tracker, np.arange(10) / RATE, lambda t: box_at(0.4))[-1][0]
        back = 0.9 + away
        # nothing found in between (the detector still runs at its rate)
        run(tracker, np.arange(1, round(away * RATE)) / RATE + 0.9, lambda t: np.zeros((0, 4)))
        ids = run(tracker, [back, back + 0.1], lambda t: box_at(0.4))
        assert (ids[-1][0] == seen) == same, (timeout, away, ids)


@pytest.mark.parametrize("rate", [0.5, 1.0, 2.0, 3.0])
def test_slow_detection_rates_still_confirm_on_the_second_detection_and_end_on_the_timeout(rate):
    """Down to one detection per timeout and below (norfair's counters alone cannot say that)."""
    period = 1 / rate
    tracker = PersonTracker(rate, timeout=1.0)
    assert run(tracker, [0.0], lambda t: box_at(0.7))[0][0] == -1  # a single false detection: no track
    assert run(tracker, [period], lambda t: np.zeros((0, 4)))[0].size == 0 and not tracker.tracks
    ids = run(tracker, np.arange(2, 6) * period, lambda t: box_at(0.4))
    assert ids[0][0] == -1 and {int(i[0]) for i in ids[1:]} == {1}, ids
    missed = max(1, int(np.ceil(1.0 * rate - 1e-9)))  # missed detections that make up the timeout
    run(tracker, (6 + np.arange(missed - 1)) * period, lambda t: np.zeros((0, 4)))
    assert 1 in tracker.tracks
    run(tracker, [(5 + missed) * period], lambda t: np.zeros((0, 4)))
    assert not tracker.tracks and tracker.ended == 1


def test_unique_ids_differ_between_runs_and_are_rep155_topic_tokens():
    import random

    from emotion_ros.runtime.estimate import id_prefix, person_id
    from emotion_ros.runtime.rep155 import valid_face_id

    runs = {id_prefix("unique", random.Random(seed)) for seed in range(50)}
    assert len(runs) == 50 and all(valid_face_id(person_id(12, prefix)) for prefix in runs)
    assert person_id(3, id_prefix("sequential")) == "f3" and person_id(-1, next(iter(runs))) == ""
    with pytest.raises(ValueError, match="people.ids must be one of unique, sequential"):
        id_prefix("random")


def test_a_gap_in_the_stream_counts_as_missed_detections():
    tracker = PersonTracker(RATE, timeout=1.0)
    first = run(tracker, np.arange(5) / RATE, lambda t: box_at(0.4))[-1][0]
    assert run(tracker, [0.4 + 0.8], lambda t: box_at(0.4))[0][0] == first  # 0.8 s without frames
    assert run(tracker, [1.2 + 1.5, 2.8], lambda t: box_at(0.4))[-1][0] != first  # 1.5 s: ended


def test_ids_are_never_reused_after_a_clock_jump():
    tracker = PersonTracker(RATE)
    before = {int(i) for ids in run(tracker, np.arange(10) / RATE, lambda t: np.vstack([box_at(0.1), box_at(0.6)]))
              for i in ids if i >= 0}
    # a bag loop: time goes back to 0, the same people are there
    after = {int(i) for ids in run(tracker, np.arange(10) / RATE, lambda t: np.vstack([box_at(0.1), box_at(0.6)]))
             for i in ids if i >= 0}
    assert before == {1, 2} and after == {3, 4} and tracker.ended == 2


def test_two_faces_passing_each_other_keep_their_ids():
    tracker = PersonTracker(RATE)
    stamps = np.arange(40) / RATE
    # one walks right along y = 0.2, the other left along y = 0.45: they pass at t = 2 s
    ids = run(tracker, stamps, lambda t: np.vstack([box_at(0.1 + 0.15 * t, 0.2, 0.15), box_at(0.7 - 0.15 * t, 0.45, 0.15)]))
    assert all(list(i) == [1, 2] for i in ids[1:])


def frame_faces(estimator, stamp):
    """The follower's faces in the frame stamped ``stamp``: (boxes (F, 4) letterbox fractions, ids (F,))."""
    stamps, tokens = estimator.cache.between(stamp - 1e-6, stamp + 1e-6)
    assert tokens is not None, f"frame {stamp} was not encoded"
    found = tokens[0, :, DETECTION] > 0
    return tokens[0, found][:, BOX], estimator.follower.track_ids(stamps)[0][found]


@pytest.fixture(scope="module")
def clip_run(tiny_checkpoint):
    """The people clip (4:3, 15 fps) through the node's window and estimator, faces found at 10 Hz."""
    from emotion_ros.runtime.torch_backend import TorchBackend

    backend = TorchBackend(str(tiny_checkpoint))
    config = WindowConfig(duration=backend.window, stride=0.5, num_frames=backend.num_frames, max_frame_rate=40.0)
    estimator = EmotionEstimator(backend, cache_capacity=1024, detection_rate=RATE, track_timeout=1.0)
    sensor_input = SensorInput(config, frame_size=backend.frame_size, on_frame=estimator.prefill)
    frames, estimates = [], []
    for frame in people_clip(fps=15.0):
        frames.append(frame)
        estimates += [estimator.estimate(window)[0] for window in sensor_input.frame(frame.stamp, frame.rgb)]
    sensor_input.close()
    return backend, estimator, frames, estimates


def test_people_in_the_clip_keep_one_id_each_and_a_returning_person_gets_a_new_one(clip_run):
    backend, estimator, frames, _ = clip_run
    height, width = frames[0].rgb.shape[:2]
    letterbox = Letterbox(height, width, backend.frame_size)
    segments: dict[tuple[int, int], list[int]] = {}  # (person, span) -> the id matched in each frame
    for frame in frames:
        boxes, ids = frame_faces(estimator, frame.stamp)
        pixels = np.array([letterbox.to_frame(b) for b in boxes]).reshape(-1, 4)
        for person, truth in frame.boxes.items():
            span = next(i for i, (a, b) in enumerate(PEOPLE_SCRIPT[person].spans) if a <= frame.stamp < b)
            if frame.stamp - PEOPLE_SCRIPT[person].spans[span][0] < 0.3:
                continue  # found, then confirmed by the next detection
            overlap = box_iou(truth[None], pixels)[0] if len(pixels) else np.zeros(0)
            segments.setdefault((person, span), []).append(int(ids[overlap.argmax()]) if overlap.size and overlap.max() > 0.4 else -2)
    assert set(segments) == {(0, 0), (1, 0), (2, 0), (2, 1)}
    chosen = {}
    for segment, ids in segments.items():
        values, counts = np.unique(ids, return_counts=True)
        chosen[segment] = int(values[counts.argmax()])
        # one id through the segment, crossing included: every frame found and given that id
        assert counts.max() == len(ids) and chosen[segment] >= 1, (segment, dict(zip(values, counts)))
    assert len(set(chosen.values())) == 4, chosen  # the returning person has a new id


def test_each_window_reports_every_person_with_their_id_box_and_label(clip_run):
    backend, estimator, frames, estimates = clip_run
    by_stamp = {round(f.stamp, 3): f for f in frames}
    assert len(estimates) >= 14
    main_ids = []
    for estimate in estimates:
        newest = by_stamp[max(s for s in by_stamp if s <= estimate.t_end)]
        visible = set(newest.boxes)
        assert len(estimate.people) >= len(visible)  # plus anyone who left inside the window
        for person in estimate.people:
            assert person.track >= 1 and person.id == f"f{person.track}" and 0 < person.seen <= 1
            assert backend.labels[int(np.argmax(person.scores))] == "happy"  # every copy is the smiling astronaut
            assert 0.5 < person.detection <= 1 and 0 <= person.tracked_for <= estimate.t_end
        # the people still in view at the window's end are where their faces are [px]
        ended = [p for p in estimate.people if p.seen == max(q.seen for q in estimate.people)]
        for truth in newest.boxes.values():
            assert max(box_iou(truth[None], np.stack([p.box for p in estimate.people]))[0]) > 0.5
        assert ended and estimate.person_id == estimate.people[0].id
        main_ids.append(estimate.person_id)
        # several people in view: the voice is not given to any of them
        assert estimate.voice_attributed == (len(estimate.people) <= 1)
    # the main person (largest face, kept while about as large) does not switch
    assert len(set(main_ids)) == 1, main_ids


def estimate_with(people_count: int, speaking: float):
    from emotion_ros.model.label_sets import FER_LABELS
    from emotion_ros.runtime.estimate import EmotionEstimate, PersonEstimate

    labels = FER_LABELS
    scores = np.eye(len(labels), dtype=np.float32)[3] * 0.9 + 0.1 / len(labels)
    people = tuple(PersonEstimate(i, np.array([10.0 + 100 * i, 20.4, 90.6 + 100 * i, 120.0]), 1.0, scores, 0.5, 0.1,
                                  track=i + 1, tracked_for=2.25, detection=0.9,
                                  speaking_probability=speaking if people_count == 1 else 0.0)
                   for i in range(people_count))
    return EmotionEstimate(8.0, 10.0, labels, scores, 0.5, 0.1, speaking, True, True, reads_faces=True, people=people)


def test_the_voice_is_the_only_persons_and_nobody_s_with_several_in_view():
    from emotion_ros.runtime.messages import estimate_to_msg, people_to_msg

    alone = people_to_msg(estimate_with(1, 0.9), "camera", "m")
    assert alone.voice_attributed and alone.people[0].speaking and alone.main_id == "f1"
    assert estimate_to_msg(estimate_with(1, 0.9), "camera", "m").speaker_id == "f1"
    group = people_to_msg(estimate_with(2, 0.9), "camera", "m")
    assert not group.voice_attributed and group.voice_speaking and not any(p.speaking for p in group.people)
    state = estimate_to_msg(estimate_with(2, 0.9), "camera", "m")
    assert state.speaking and state.speaker_id == "" and state.person_id == "f1" and state.faces == 2
    person = group.people[1]
    assert (person.roi.x_offset, person.roi.y_offset, person.roi.width, person.roi.height) == (110, 20, 81, 100)
    assert (person.tracked_for.sec, person.tracked_for.nanosec) == (2, 250_000_000) and person.id == "f2"
    nobody = estimate_to_msg(estimate_with(0, 0.9), "camera", "m")
    assert not nobody.person_visible and nobody.label == "" and nobody.confidence == 0 and nobody.person_id == ""


def test_the_live_view_names_the_main_person_and_the_others():
    from rich.console import Console

    from emotion_ros.commands.live_view import LiveView
    from emotion_ros.runtime.messages import estimate_to_msg, people_to_msg

    view = LiveView(Console(record=True, width=120))
    estimate = estimate_with(3, 0.0)
    view.state(estimate_to_msg(estimate, "camera", "m"))
    view.people(people_to_msg(estimate, "camera", "m"))
    text = view.console.export_text()
    assert re.search(r"\bf1 +happy", text) and "3 faces" in text and "also  f2 happy 0.91 · f3 happy 0.91" in text


def test_explanations_say_whom_they_are_about():
    from emotion_ros.runtime.person_description import about

    estimate = estimate_with(2, 0.0)
    assert about(estimate.person("f1"), 640, False, "The face shows a clear happy expression.") == \
        "About f1, the person on the left, tracked for 2 s: The face shows a clear happy expression."
    assert about(estimate.person("f2"), 640, True, "x") == "About f2, tracked for 2 s: x"
    assert about(None, 640, True, "No face is visible.") == "No face is visible."
    assert estimate.person("f9") is None and estimate.person("") is estimate.people[0]


def test_the_timeline_has_a_lane_per_person(tmp_path):
    import matplotlib.image

    from emotion_ros.eval.timeline import plot_timeline

    estimates = [estimate_with(2, 0.0) for _ in range(3)]
    people = {"f1": [(10.0, "happy", 0.9), (10.5, "sad", 0.6)], "f2": [(10.5, "neutral", 0.8)], "f3": [(11.0, "happy", 1.0)]}
    without = matplotlib.image.imread(plot_timeline(estimates, [], tmp_path / "main.png"))
    lanes = matplotlib.image.imread(plot_timeline(estimates, [], tmp_path / "people.png", people=people))
    assert lanes.shape[0] > without.shape[0] and lanes.shape[1] == without.shape[1]


def test_events_follow_the_main_person_and_say_when_nobody_is_left():
    from emotion_ros.runtime.debounce import LabelDebouncer, MainPersonEvents

    labels = ("happy", "sad")
    events = MainPersonEvents(LabelDebouncer(labels, hysteresis=0.1, min_dwell=1.0, min_confidence=0.4))
    happy, sad = np.array([0.9, 0.1]), np.array([0.1, 0.9])
    steps = [("f1", True, happy)] * 3 + [("f2", True, happy)] * 3 + [("f2", True, sad)] * 3 + [("", False, happy)] * 4
    changes = []
    for i, (person, visible, scores) in enumerate(steps):
        change = events.update(10.0 + 0.5 * i, person, visible, scores)
        if change is not None:
            changes.append((10.0 + 0.5 * i, person, change.previous, change.label))
    assert changes == [
        (11.0, "f1", None, "happy"),  # led for 1 s
        (12.5, "f2", None, "happy"),  # a new main person starts from no label
        (14.0, "f2", "happy", "sad"),
        (15.5, "", "sad", ""),  # nobody for 1 s: no label, once
    ]


def test_a_new_timeline_voids_the_evidence_but_announces_the_label_ending():
    """A bag loop after f1 was announced happy: the new run's first person starts from no label,
    and a new run showing nobody ends f1's label (subscribers still hold it)."""
    from emotion_ros.runtime.debounce import LabelDebouncer, MainPersonEvents

    events = MainPersonEvents(LabelDebouncer(("happy", "sad"), hysteresis=0.1, min_dwell=1.0, min_confidence=0.4))
    happy, sad = np.array([0.9, 0.1]), np.array([0.1, 0.9])
    for t in (10.0, 10.5, 11.0, 11.5):
        events.update(t, "f1", True, happy)
    events.update(12.0, "f1", True, sad)  # a challenger, 0.5 s of the 1 s dwell
    events.reset()
    assert events.debouncer.current == "happy"
    person_returns = [events.update(t, "f1", True, sad) for t in (10.0, 10.5, 11.0)]  # the dwell restarts
    assert [c.label if c else None for c in person_returns] == [None, None, "sad"] and person_returns[2].previous is None
    events.reset()
    nobody = [events.update(t, "", False, happy) for t in (10.0, 10.5, 11.0)]
    assert [c.label if c else None for c in nobody] == [None, None, ""] and nobody[2].previous == "sad"


def test_a_face_passing_behind_another_keeps_its_id(tiny_checkpoint):
    """Two people at the same height walk through each other: one face hides the other for about
    a second (less than the timeout); both come out with the ids they went in with."""
    from emotion_ros.samples.people_clip import Walk
    from emotion_ros.runtime.torch_backend import TorchBackend

    backend = TorchBackend(str(tiny_checkpoint))
    duration = 6.0
    script = (Walk("behind", ((0.0, duration),), (0.15, 0.45), (0.85, 0.45), width=0.13),
              Walk("in front", ((0.0, duration),), (0.85, 0.5), (0.15, 0.5), width=0.13))  # pasted last: in front
    config = WindowConfig(duration=backend.window, stride=0.5, num_frames=backend.num_frames, max_frame_rate=40.0)
    estimator = EmotionEstimator(backend, cache_capacity=1024, detection_rate=RATE, track_timeout=1.0)
    sensor_input = SensorInput(config, frame_size=backend.frame_size, on_frame=estimator.prefill)
    frames = list(people_clip(fps=15.0, script=script, duration=duration))
    for frame in frames:
        sensor_input.frame(frame.stamp, frame.rgb)
    letterbox = Letterbox(480, 640, backend.frame_size)
    ids_of = {0: set(), 1: set()}
    hidden = 0
    for frame in frames:
        if frame.stamp < 0.2:
            continue  # before confirmation
        boxes, ids = frame_faces(estimator, frame.stamp)
        pixels = np.array([letterbox.to_frame(b) for b in boxes]).reshape(-1, 4)
        people = list(frame.boxes)
        overlap = box_iou(np.stack([frame.boxes[p] for p in people]), pixels) if len(pixels) else np.zeros((2, 0))
        owner = {face: people[int(overlap[:, face].argmax())] for face in range(len(pixels)) if overlap[:, face].max() > 0.5}
        for face, person in owner.items():  # each face found is the person it overlaps most
            ids_of[person].add(int(ids[face]))
        hidden += 0 not in owner.values()
    assert hidden >= 8  # the face behind was out of sight for at least 0.5 s
    assert len(ids_of[0]) == len(ids_of[1]) == 1 and ids_of[0] != ids_of[1], ids_of
    assert estimator.follower.tracker.total_ids == 2


def test_the_live_view_keeps_a_bounded_history():
    import io

    from rich.console import Console

    from emotion_ros.commands.live_view import LiveView
    from emotion_ros.runtime.messages import estimate_to_msg, people_to_msg

    view = LiveView(Console(file=io.StringIO()), history=10)
    for _ in range(50):
        estimate = estimate_with(2, 0.0)
        view.state(estimate_to_msg(estimate, "camera", "m"))
        view.people(people_to_msg(estimate, "camera", "m"))
    assert len(view.estimates) == 10 and sum(len(steps) for steps in view.people_steps.values()) == 40


class SlowFaceFinding:
    """A backend whose face finding takes ``delay`` s longer (a busy machine), otherwise the real one."""

    def __init__(self, backend, delay: float):
        self._backend, self._delay = backend, delay

    def locate_faces(self, frames):
        time.sleep(self._delay)
        return self._backend.locate_faces(frames)

    def __getattr__(self, name):
        return getattr(self._backend, name)


@pytest.mark.slow
def test_tracks_last_while_the_person_stays_in_view_when_face_finding_is_slow(tiny_checkpoint):
    """The node's threads at 30 fps: frames encoded on arrival by one worker, windows by another,
    with face finding slow enough that the window's worker often encodes frames the frame worker
    has not reached. No frame may reach the tracker after a newer one (its clock would go back
    and every track would end): one person in view the whole time keeps one id."""
    from skimage import data

    from emotion_ros.runtime.latest_worker import LatestWorker
    from emotion_ros.runtime.torch_backend import TorchBackend

    backend = SlowFaceFinding(TorchBackend(str(tiny_checkpoint)), delay=0.08)
    config = WindowConfig(duration=backend.window, stride=0.5, num_frames=backend.num_frames, max_frame_rate=40.0)
    estimator = EmotionEstimator(backend, cache_capacity=1024, detection_rate=RATE, track_timeout=1.0)
    errors, ids = [], []

    def on_error(item, exc):
        errors.append(exc)

    def estimate(window):
        ids.append([p.id for p in estimator.estimate(window)[0].people])

    frames = LatestWorker(lambda item: estimator.prefill(*item), "frames", on_error=on_error).start()
    windows = LatestWorker(estimate, "windows", on_error=on_error).start()
    sensor_input = SensorInput(config, frame_size=backend.frame_size, on_frame=lambda *item: frames.submit(item))
    photo, fps = data.astronaut(), 30.0
    started = time.monotonic()
    for n in range(int(6 * fps)):
        stamp = n / fps
        time.sleep(max(0.0, started + stamp - time.monotonic()))
        for window in sensor_input.frame(stamp, photo):
            windows.submit(window)
    for worker in (frames, windows):
        worker.wait_idle(30.0)
        worker.stop()
    sensor_input.close()
    assert not errors, errors
    assert len(ids) >= 4 and all(people == ["f1"] for people in ids[1:]), ids
    assert estimator.follower.tracker.ended == 0 and estimator.follower.tracker.total_ids == 1


class FrameWorkerRightAfterTheCheck:
    """The follower, but the first read of its newest stamp lets another thread (the frame
    worker) encode a newer frame right after the value was read: the interleaving of a busy
    machine, made certain."""

    def __init__(self, follower, frame_worker: threading.Thread):
        self._follower, self._frame_worker, self._raced = follower, frame_worker, False

    @property
    def newest_stamp(self) -> float:
        value = self._follower.newest_stamp
        if not self._raced:
            self._raced = True
            self._frame_worker.start()
            self._frame_worker.join(0.5)  # it waits for the lock if the check holds it
        return value

    def __getattr__(self, name):
        return getattr(self._follower, name)


def test_a_frame_older_than_one_the_frame_worker_encoded_never_reaches_the_tracker(tiny_checkpoint):
    from types import SimpleNamespace

    from skimage import data

    from emotion_ros.io.letterbox import letterbox
    from emotion_ros.runtime.torch_backend import TorchBackend

    backend = TorchBackend(str(tiny_checkpoint))
    estimator = EmotionEstimator(backend, detection_rate=RATE, track_timeout=1.0)
    photo = letterbox(data.astronaut(), backend.frame_size)
    for n in range(30):  # one person for a second at 30 fps, frames encoded on arrival
        estimator.prefill(n / 30, photo)
    tracker = estimator.follower.tracker
    assert tracker.tracks and tracker.ended == 0
    frame_worker = threading.Thread(target=estimator.prefill, args=(31 / 30, photo))
    estimator.faces = FrameWorkerRightAfterTheCheck(estimator.follower, frame_worker)
    # the window's worker follows the window's newest frame, which the frame worker skipped
    window = SimpleNamespace(frame_stamps=np.array([30 / 30]), frame_mask=np.array([True]), frames=photo[None], timeline=0)
    estimator._follow(window)
    frame_worker.join(10.0)
    assert estimator.follower.newest_stamp == 31 / 30
    assert tracker.ended == 0 and tracker.total_ids == 1, "the tracker's clock went back: every track ended"
