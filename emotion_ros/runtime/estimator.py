"""Window in, EmotionEstimate out: the per-frame cache, the backend and voice activity."""

from __future__ import annotations

import time

import numpy as np

from emotion_ros.io.letterbox import Letterbox
from emotion_ros.model.face_encoder import person_tokens
from emotion_ros.runtime.backend import Backend, BackendError, Perception
from emotion_ros.runtime.estimate import EmotionEstimate, PersonEstimate
from emotion_ros.runtime.frame_cache import FrameFeatureCache
from emotion_ros.runtime.face_follower import DEFAULT_DETECTION_RATE, FaceFollower
from emotion_ros.runtime.people import people_in_window, slice_members, slice_view
from emotion_ros.runtime.voice_activity import speaking_probability
from emotion_ros.window.window import Window


class EmotionEstimator:
    """Runs one backend over windows. estimate() is for one worker; prefill() may run on
    another thread at the same time (the frame cache is thread-safe)."""

    def __init__(self, backend: Backend, cache_capacity: int = 256, detection_rate: float | None = DEFAULT_DETECTION_RATE):
        """detection_rate [Hz]: how often a face reader finds faces in frames encoded on arrival
        (it follows them in between); None finds them in every frame."""
        self.backend = backend
        self.cache = FrameFeatureCache(cache_capacity)
        self.follower = FaceFollower(backend, detection_rate) if backend.reads_faces and detection_rate else None

    def estimate(self, window: Window, completed_at: float | None = None) -> tuple[EmotionEstimate, object]:
        """The estimate for ``window`` and the backend context to explain it later.

        completed_at: time.monotonic() when the window was cut (for the latency).
        Raises BackendError when the backend fails or returns non-finite values.
        """
        backend = self.backend
        if window.frames is not None and window.frames.shape[0] != backend.num_frames:
            raise BackendError(f"window has {window.frames.shape[0]} frames, the model takes {backend.num_frames}")
        if window.audio.shape[0] != round(backend.window * backend.sample_rate):
            raise BackendError(f"window has {window.audio.shape[0]} audio samples, the model takes "
                               f"{round(backend.window * backend.sample_rate)}")
        if window.video_present:
            features = self.cache.features(window.frame_stamps, window.frames, backend.encode_frames)
            newest = int(np.flatnonzero(window.frame_mask)[-1])
            global_frame = window.frames[newest]
        else:
            # Masked inside the network: these values never reach its output.
            features = np.zeros((backend.num_frames, *backend.feature_shape), np.float32)
            global_frame = np.zeros((16, 16, 3), np.uint8)
        people: tuple[PersonEstimate, ...] = ()
        if backend.reads_faces:
            # One perception per person, each seeing their own face in every frame read in the
            # window; the first is the main person.
            views, inputs = [], [person_tokens(features, np.full(len(features), -1))]
            if window.video_present:
                tokens, members = self._frames_read(window, features)
                views = people_in_window(tokens, members.any(axis=0))
                inputs = [slice_view(tokens, view.slots, members) for view in views] or inputs
            perceptions = self._perceive(np.stack(inputs), global_frame, window)
            people = tuple(
                PersonEstimate(i, self._frame_box(view.box, window), round(view.seen, 3), p.scores, p.valence, p.arousal)
                for i, (view, p) in enumerate(zip(views, perceptions)))
            perception = perceptions[0]
        else:
            perception = self._perceive(features[None], global_frame, window)[0]
        speaking = speaking_probability(window.audio, window.audio_mask, window.sample_rate) if window.audio_present else 0.0
        latency = time.monotonic() - completed_at if completed_at is not None else 0.0
        estimate = EmotionEstimate(
            t_start=window.t_start, t_end=window.t_end, labels=backend.labels, scores=perception.scores,
            valence=perception.valence, arousal=perception.arousal, speaking_probability=speaking,
            video_present=window.video_present, audio_present=window.audio_present, latency=latency,
            reads_faces=backend.reads_faces, people=people,
        )
        return estimate, perception.context

    def prefill(self, stamp: float, frame: np.ndarray) -> bool:
        """Encode a frame as it arrives (frame (H, W, 3) uint8, letterboxed; in stamp order, from
        one thread), so the window that picks it finds its feature cached, and a face reader's
        window reads every such frame; a frame never prefilled is encoded with its window. A face
        reader finds faces at the follower's rate and follows them in between (face_follower.py)."""
        if self.follower is None:
            return self.cache.prefill(stamp, frame, self.backend.encode_frames)
        return self.cache.prefill(stamp, frame, lambda frames: self.follower.encode(stamp, frames[0])[None])

    def _frames_read(self, window: Window, sampled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every frame of the window with a cached feature (encoded on arrival), and the window's
        picked frames: (face tokens (N, SLOTS, 12) in stamp order, members (T, N) of each slice)."""
        stamps, features = self.cache.between(window.t_start, window.t_end)
        if features is not None:
            stamps, features = np.concatenate([window.frame_stamps, stamps]), np.concatenate([sampled, features])
        else:
            stamps, features = window.frame_stamps, sampled
        _, first, index = np.unique(np.round(stamps * 1e6).astype(np.int64), return_index=True, return_inverse=True)
        members = slice_members(stamps[first], index[: len(sampled)], window.frame_mask, window.t_start, window.t_end)
        return features[first], members

    def _perceive(self, views: np.ndarray, global_frame: np.ndarray, window: Window) -> list[Perception]:
        """views (P, T, 4, D) -> one Perception per view, in one backend call."""
        backend = self.backend
        try:
            perceptions = backend.perceive_people(views, global_frame, window.audio, window.video_present, window.audio_present)
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
        """A box in fractions of the square frame -> pixels of the camera frame."""
        side = window.frames.shape[1]
        height, width = window.source_size or window.frames.shape[1:3]
        return np.round(Letterbox(height, width, side).to_frame(box), 1)
