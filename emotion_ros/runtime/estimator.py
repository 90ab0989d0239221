"""Window in, EmotionEstimate out: the per-frame cache, the backend and voice activity."""

from __future__ import annotations

import threading
import time

import numpy as np

from emotion_ros.io.letterbox import Letterbox
from emotion_ros.model.face_encoder import person_tokens
from emotion_ros.model.text_cues import text_cues
from emotion_ros.runtime.backend import Backend, BackendError, Perception
from emotion_ros.runtime.estimate import SEQUENTIAL_PREFIX, EmotionEstimate, ExplanationContexts, PersonEstimate
from emotion_ros.runtime.frame_cache import FrameFeatureCache
from emotion_ros.runtime.external_faces import ExternalFaces
from emotion_ros.runtime.face_follower import DEFAULT_DETECTION_RATE, FaceFollower
from emotion_ros.runtime.people import PersonView, people_in_window, slice_members, slice_view
from emotion_ros.runtime.person_tracker import DEFAULT_TRACK_TIMEOUT
from emotion_ros.runtime.voice_activity import voice_activity
from emotion_ros.window.window import Window


MAIN_PERSON_POLICIES = ("largest", "longest", "speaking")
# The main person stays the main person while their face is at least this share of the largest
# one's area, so two people of about the same size do not swap at every window.
MAIN_PERSON_STICKINESS = 0.7


class StaleWindow(RuntimeError):
    """A window cut before a clock jump, reaching the estimator after the new timeline began."""


class EmotionEstimator:
    """Runs one backend over windows. estimate() is for one worker; prefill() may run on
    another thread at the same time (the frame cache and the follower are thread-safe).

    With a face reader, each window gives one estimate per tracked person; the main person, whose
    estimate is the window's, is chosen by ``main_person``: "largest" face, "longest" tracked, or
    the one "speaking" (the voice's person when it can be told, else the largest face).
    """

    def __init__(self, backend: Backend, cache_capacity: int = 256, detection_rate: float = DEFAULT_DETECTION_RATE,
                 track_timeout: float = DEFAULT_TRACK_TIMEOUT, main_person: str = "largest",
                 faces: ExternalFaces | None = None, id_prefix: str = SEQUENTIAL_PREFIX):
        """detection_rate [Hz]: how often a face reader finds faces in frames (it follows them in
        between); track_timeout [s]: how long a face not found keeps its track; faces: take the
        faces another node finds (external_faces.py) instead of finding them; id_prefix: what
        the people's ids start with (estimate.id_prefix)."""
        if main_person not in MAIN_PERSON_POLICIES:
            raise ValueError(f"main_person must be one of {', '.join(MAIN_PERSON_POLICIES)}, not {main_person!r}")
        self.backend = backend
        self.cache = FrameFeatureCache(cache_capacity)
        self.follower = FaceFollower(backend, detection_rate, track_timeout=track_timeout, id_prefix=id_prefix) \
            if backend.reads_faces and faces is None else None
        # Where each frame's faces and their ids come from: FaceFollower or ExternalFaces.
        self.faces: FaceFollower | ExternalFaces | None = faces if faces is not None else self.follower
        self.main_person = main_person
        self._follow_lock = threading.Lock()  # the follower takes frames in stamp order, one at a time
        self._main_track = -1
        self.timeline = 0  # Window.timeline of what the cache and the tracks hold

    def enter_timeline(self, timeline: int) -> bool:
        """Start ``timeline`` when it is newer (stamps jumped back: clear the frame cache, end the
        tracks, forget the main person); False for work from an older one, to skip."""
        with self._follow_lock:
            if timeline < self.timeline:
                return False
            if timeline > self.timeline:
                self.timeline = timeline
                self.cache.clear()
                if self.follower is not None:
                    self.follower.reset()
                self._main_track = -1
            return True

    def estimate(self, window: Window, completed_at: float | None = None) -> tuple[EmotionEstimate, ExplanationContexts]:
        """The estimate for ``window`` and the backend contexts to explain it (per person) later.

        completed_at: time.monotonic() when the window was cut (for the latency).
        Raises BackendError when the backend fails or returns non-finite values, and StaleWindow
        for a window from before a clock jump (its timeline is over).
        """
        if not self.enter_timeline(window.timeline):
            raise StaleWindow(f"the window ending {window.t_end:.3f} s is from before a clock jump")
        backend = self.backend
        if window.frames is not None and window.frames.shape[0] != backend.num_frames:
            raise BackendError(f"window has {window.frames.shape[0]} frames, the model takes {backend.num_frames}")
        if window.audio.shape[0] != round(backend.window * backend.sample_rate):
            raise BackendError(f"window has {window.audio.shape[0]} audio samples, the model takes "
                               f"{round(backend.window * backend.sample_rate)}")
        if window.video_present:
            self._follow(window)
            features = self.cache.features(window.frame_stamps, window.frames, backend.encode_frames)
            newest = int(np.flatnonzero(window.frame_mask)[-1])
            global_frame = window.frames[newest]
        else:
            # Masked inside the network: these values never reach its output. The shapes are the
            # video path's, so every graph runner (TensorRT's fixed profiles too) takes them.
            features = np.zeros((backend.num_frames, *backend.feature_shape), np.float32)
            global_frame = np.zeros((backend.frame_size, backend.frame_size, 3), np.uint8)
        people: tuple[PersonEstimate, ...] = ()
        if backend.reads_faces:
            # One perception per person, each seeing their own face in every frame read in the
            # window; the first is the main person.
            views, inputs = [], [person_tokens(features, np.full(len(features), -1))]
            if window.video_present:
                stamps, tokens, members = self._frames_read(window, features)
                views = self._main_first(people_in_window(tokens, members.any(axis=0), self.faces.track_ids(stamps)),
                                         window.t_end)
                inputs = [slice_view(tokens, view.slots, members) for view in views] or inputs
            perceptions = self._perceive(np.stack(inputs), global_frame, window)
        else:
            perceptions = self._perceive(features[None], global_frame, window)
        perception = perceptions[0]
        speaking = voice_activity(perception, window)
        if backend.reads_faces:
            tracker = self.faces.tracker
            people = tuple(
                PersonEstimate(i, self._frame_box(view.box, window), round(view.seen, 3), p.scores, p.valence, p.arousal,
                               view.track, round(tracker.tracked_for(view.track, window.t_end), 3),
                               round(view.detection, 3), speaking if len(views) == 1 else 0.0,
                               self.faces.face_id(view.track))
                for i, (view, p) in enumerate(zip(views, perceptions)))
        latency = time.monotonic() - completed_at if completed_at is not None else 0.0
        estimate = EmotionEstimate(
            t_start=window.t_start, t_end=window.t_end, labels=backend.labels, scores=perception.scores,
            valence=perception.valence, arousal=perception.arousal, speaking_probability=speaking,
            video_present=window.video_present, audio_present=window.audio_present, latency=latency,
            reads_faces=backend.reads_faces, people=people,
            image_size=(window.source_size or window.frames.shape[1:3]) if window.video_present else None,
            utterance=window.text,
        )
        contexts = ExplanationContexts(perception.context, {p.id: c.context for p, c in zip(people, perceptions) if p.id})
        return estimate, contexts

    def prefill(self, stamp: float, frame: np.ndarray, timeline: int = 0) -> bool:
        """Encode a frame as it arrives (frame (H, W, 3) uint8, letterboxed; in stamp order, from
        one thread), so the window that picks it finds its feature cached, and a face reader's
        window reads every such frame; a frame never prefilled is encoded with its window. A face
        reader finds faces at the follower's rate and follows them in between (face_follower.py).
        A frame from before a clock jump is ignored (False), and so is one not newer than the
        follower's newest: the window's worker and the frame worker both give it frames, and
        an older one would turn its tracks' clock back (every track would end)."""
        if not self.enter_timeline(timeline):
            return False
        if self.faces is None:
            return self.cache.prefill(stamp, frame, self.backend.encode_frames)
        with self._follow_lock:  # the check and the encoding at once: no newer frame can come between
            if stamp <= self.faces.newest_stamp:
                return False
            return self.cache.prefill(stamp, frame, lambda frames: self.faces.encode(stamp, frames[0])[None])

    def _follow(self, window: Window) -> None:
        """Give the follower the window's picked frames newer than any it has seen (when frames
        are not encoded on arrival, or that fell behind), so they have faces followed and ids."""
        if self.faces is None:
            return
        for stamp, frame in zip(window.frame_stamps[window.frame_mask], window.frames[window.frame_mask]):
            self.prefill(float(stamp), frame, window.timeline)

    def _main_first(self, views: list[PersonView], t_end: float) -> list[PersonView]:
        """The people, main person first (by ``main_person``), then by face size."""
        if not views:
            self._main_track = -1
            return views
        largest = views[0].area
        candidates = views
        if self.main_person == "longest":
            tracker = self.faces.tracker
            longest = max(tracker.tracked_for(view.track, t_end) for view in views)
            candidates = [view for view in views if tracker.tracked_for(view.track, t_end) >= longest]
        previous = [view for view in candidates if view.track >= 0 and view.track == self._main_track
                    and view.area >= MAIN_PERSON_STICKINESS * largest]
        main = (previous or candidates)[0]
        self._main_track = main.track
        return [main, *(view for view in views if view is not main)]

    def _frames_read(self, window: Window, sampled: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every frame of the window with a cached feature (encoded on arrival), and the window's
        picked frames: (stamps (N,) [s], face tokens (N, SLOTS, 12) in stamp order, members (T, N)
        of each slice)."""
        stamps, features = self.cache.between(window.t_start, window.t_end)
        if features is not None:
            stamps, features = np.concatenate([window.frame_stamps, stamps]), np.concatenate([sampled, features])
        else:
            stamps, features = window.frame_stamps, sampled
        _, first, index = np.unique(np.round(stamps * 1e6).astype(np.int64), return_index=True, return_inverse=True)
        members = slice_members(stamps[first], index[: len(sampled)], window.frame_mask, window.t_start, window.t_end)
        return stamps[first], features[first], members

    def _perceive(self, views: np.ndarray, global_frame: np.ndarray, window: Window) -> list[Perception]:
        """views (P, T, 4, D) -> one Perception per view, in one backend call."""
        backend = self.backend
        try:
            text = text_cues(window.text) if backend.reads_text else None
            perceptions = backend.perceive_people(views, global_frame, window.audio, window.video_present, window.audio_present,
                                                  window.audio_mask, text)
        except BackendError:
            raise
        except Exception as exc:  # any failure inside the backend is one bad window, not a dead node
            raise BackendError(f"{backend.name} backend failed: {type(exc).__name__}: {exc}") from exc
        for perception in perceptions:
            if not np.isfinite(perception.scores).all() or not np.isfinite([perception.valence, perception.arousal]).all():
                raise BackendError(f"the {backend.name} backend returned NaN or Inf")
        return perceptions

    @staticmethod
    def _frame_box(box: np.ndarray, window: Window) -> np.ndarray:
        """A box in fractions of the square frame -> pixels of the camera frame (the part inside it)."""
        side = window.frames.shape[1]
        height, width = window.source_size or window.frames.shape[1:3]
        return np.round(np.clip(Letterbox(height, width, side).to_frame(box), 0, [width, height] * 2), 1)
