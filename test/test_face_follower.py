"""Every frame read: faces found at a set rate, followed in between, and a window that pools
every frame it read, on a real face moving through real scenes at 30 frames per second."""

import numpy as np
import pytest

from emotion_ros.samples.face_composites import paste_faces, scene
from emotion_ros.io.letterbox import letterbox
from emotion_ros.model.face_encoder import BOX, DETECTION, EXPRESSION
from emotion_ros.model.label_sets import FER_LABELS
from emotion_ros.runtime.estimator import EmotionEstimator
from emotion_ros.runtime.face_follower import FaceFollower
from emotion_ros.runtime.people import box_iou, slice_members
from emotion_ros.window.config import WindowConfig
from emotion_ros.window.sensor_input import SensorInput

FPS = 30.0
SIDE = 512
HAPPY = FER_LABELS.index("happy")


@pytest.fixture(scope="module")
def backend(tiny_checkpoint):
    from emotion_ros.runtime.torch_backend import TorchBackend

    return TorchBackend(str(tiny_checkpoint))


def walk(count: int, start=(0.3, 0.45), velocity=(0.25, 0.05), width=110, background="coffee", size=(480, 640),
         times=None):
    """count frames (at 30 fps, or at ``times`` [s]) of the astronaut's face moving at ``velocity``
    [frame fractions per s] -> frames (letterboxed) and the true face boxes as fractions of the
    letterbox side."""
    height, frame_width = size
    backdrop = scene(background, height, frame_width)
    frames, boxes = [], []
    offset = np.array([(SIDE - SIDE * frame_width / max(size)) / 2, (SIDE - SIDE * height / max(size)) / 2] * 2)
    for i in range(count):
        t = i / FPS if times is None else times[i]
        frame, box = paste_faces(backdrop, [(width, start[0] + velocity[0] * t, start[1] + velocity[1] * t)])
        frames.append(letterbox(frame, SIDE))
        boxes.append((box[0] * SIDE / max(size) + offset) / SIDE)
    return frames, np.array(boxes)


def test_faces_are_found_at_the_detection_rate_and_followed_in_between(backend):
    frames, truth = walk(30)
    follower = FaceFollower(backend, detection_rate=10.0)
    tokens = np.stack([follower.encode(i / FPS, frame) for i, frame in enumerate(frames)])
    assert (follower.detected, follower.followed) == (10, 20)  # one frame in three is a detection
    assert (tokens[:, 0, DETECTION] > 0).all() and (tokens[:, 1:, DETECTION] < 0).all()
    # The followed boxes keep to the moving face (it moves 8 px per frame in the letterbox).
    overlap = np.array([box_iou(tokens[i, :1, BOX], truth[i][None])[0, 0] for i in range(30)])
    assert overlap.min() > 0.5, overlap.round(2)
    assert (tokens[:, 0, EXPRESSION].argmax(axis=1) == HAPPY).all()


@pytest.mark.slow
def test_followed_reads_agree_with_reads_on_detected_boxes(backend):
    frames, _ = walk(12)
    followed = FaceFollower(backend, detection_rate=10.0)
    detected = FaceFollower(backend, detection_rate=FPS)
    a = np.stack([followed.encode(i / FPS, f) for i, f in enumerate(frames)])[:, 0]
    b = np.stack([detected.encode(i / FPS, f) for i, f in enumerate(frames)])[:, 0]
    assert detected.followed == 0
    probabilities = lambda logits: np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)  # noqa: E731
    assert np.abs(probabilities(a[:, EXPRESSION]) - probabilities(b[:, EXPRESSION])).max() < 0.15
    assert np.diag(box_iou(a[:, BOX], b[:, BOX])).min() > 0.7


def test_a_face_that_leaves_is_lost_at_once_and_an_empty_room_costs_no_more(backend):
    """The face is gone from frame 4 on (between the detections of frames 3 and 6): its read there
    no longer looks like it, so faces are found again on frame 4 itself; then every 3rd frame."""
    frames, _ = walk(4)
    empty = [letterbox(scene("coffee", 480, 640), SIDE)] * 11
    follower = FaceFollower(backend, detection_rate=10.0)
    tokens = np.stack([follower.encode(i / FPS, f) for i, f in enumerate(frames + empty)])
    seen = tokens[:, 0, DETECTION] > 0
    assert seen[:4].all() and not seen[4:].any()
    assert follower.lost == 1 and follower.detected == 6  # frames 0, 3, 4, 7, 10, 13


class ScriptedFaces:
    """A face reader whose detector sees one face at a scripted place: frame i (its pixels all
    equal i) shows the face with centre x = x_at(i) (fractions), and reads it with embedding
    (1, 0, ...), or (0, 1, ...) where x_at(i) is None (gone); logs what it was asked."""

    reads_faces, model_id = True, "scripted"

    def __init__(self, x_at, width=0.2):
        self.x_at, self.width, self.located, self.read = x_at, width, [], []

    def locate_faces(self, frames):
        from emotion_ros.model.face_encoder import SLOTS, empty_token

        i = int(frames[0, 0, 0, 0])
        self.located.append(i)
        tokens, keypoints = np.tile(empty_token(), (1, SLOTS, 1)), np.zeros((1, SLOTS, 6, 2), np.float32)
        embeddings = np.zeros((1, SLOTS, 128), np.float32)
        x = self.x_at(i)
        if x is not None:
            embeddings[0, 0, 0] = 1.0
            tokens[0, 0, DETECTION] = 3.0
            tokens[0, 0, BOX] = [x - self.width / 2, 0.4, x + self.width / 2, 0.6]
            keypoints[0, 0, :, 0], keypoints[0, 0, :, 1] = x, 0.5
        return tokens, keypoints, embeddings

    def read_faces(self, frame, boxes, keypoints):
        i = int(frame[0, 0, 0])
        self.read.append((i, boxes.copy()))
        embeddings = np.zeros((len(boxes), 128), np.float32)
        embeddings[:, 0 if self.x_at(i) is not None else 1] = 1.0
        return np.zeros((len(boxes), len(FER_LABELS)), np.float32), embeddings


def scripted_frame(i):
    return np.full((4, 4, 3), i, np.uint8)


def test_a_face_lost_between_detections_is_looked_for_on_that_frame():
    backend = ScriptedFaces(lambda i: 0.5 if i < 2 else None)
    follower = FaceFollower(backend, detection_rate=10.0)
    for i in range(4):
        follower.encode(i / FPS, scripted_frame(i))
    assert backend.located == [0, 2] and [frame for frame, _ in backend.read] == [1, 2]  # frame 3: nobody to follow
    assert follower.lost == 1


def test_followed_boxes_move_with_the_velocity_of_the_last_two_detections():
    backend = ScriptedFaces(lambda i: 0.3 + 0.01 * i)
    follower = FaceFollower(backend, detection_rate=10.0)
    for i in range(7):
        follower.encode(i / FPS, scripted_frame(i))
    assert backend.located == [0, 3, 6]
    frame, boxes = backend.read[-1]  # frame 5: two frames after the detection at frame 3
    assert frame == 5 and np.allclose(boxes[0, [0, 2]], [0.35 - 0.1, 0.35 + 0.1], atol=1e-5)


def test_the_follower_detects_again_when_time_jumps_or_a_face_walks_out():
    backend = ScriptedFaces(lambda i: 0.5)
    follower = FaceFollower(backend, detection_rate=2.0)
    follower.encode(10.0, scripted_frame(0))
    follower.encode(10.0 + 1 / FPS, scripted_frame(1))
    follower.encode(3.0, scripted_frame(2))  # a bag loop
    follower.encode(3.0 + 0.9, scripted_frame(3))  # a gap longer than max_gap
    assert backend.located == [0, 2, 3] and follower.followed == 1
    # Moving right by 0.03 of the width per frame: seen at 0.98 on frame 3, it is predicted out of
    # view on frame 4, and looked for there instead of on frame 6.
    backend = ScriptedFaces(lambda i: 0.89 + 0.03 * i)
    follower = FaceFollower(backend, detection_rate=10.0)
    for i in range(5):
        follower.encode(i / FPS, scripted_frame(i))
    assert backend.located == [0, 3, 4] and [frame for frame, _ in backend.read] == [1, 2]


def test_slices_hold_the_frames_stamped_in_them_or_their_picked_frame():
    stamps = np.array([0.05, 0.1, 0.3, 0.35, 0.9])
    members = slice_members(stamps, np.array([1, 3, 3, 4]), np.array([True, True, False, True]), 0.0, 1.0)
    assert members.tolist() == [[True, True, False, False, False], [False, False, True, True, False],
                                [False, False, False, False, False], [False, False, False, False, True]]


def test_a_window_reads_every_frame_encoded_on_arrival(backend):
    """30 fps into the node's window: the follower encodes each frame as it arrives, and each
    window's people are read from all 60 frames (not only the 16 it picks)."""
    frames, _ = walk(90, velocity=(0.1, 0.0))
    config = WindowConfig(duration=2.0, stride=0.5, num_frames=backend.num_frames, max_frame_rate=40.0)
    estimator = EmotionEstimator(backend, detection_rate=10.0)
    sensor_input = SensorInput(config, frame_size=SIDE, on_frame=estimator.prefill)
    windows = []
    for i, frame in enumerate(frames):
        windows += sensor_input.frame(i / FPS, frame)
    windows += sensor_input.flush()
    sensor_input.close()
    assert windows and estimator.follower.detected + estimator.follower.followed == 90
    assert 0.3 < estimator.follower.detected / 90 < 0.4
    window = windows[-1]
    _, tokens, members = estimator._frames_read(window, estimator.cache.features(window.frame_stamps, window.frames,
                                                                                  backend.encode_frames))
    assert members.sum() >= 58 and (members.sum(axis=0) <= 1).all()
    estimate, _ = estimator.estimate(window)
    [person] = estimate.people
    assert estimate.label == "happy" and estimate.confidence > 0.5 and person.seen > 0.95


def test_a_slice_padded_with_empty_frames_pools_like_its_frames_alone():
    import torch

    from emotion_ros.model.face_encoder import empty_token, pool_face_tokens

    rng = np.random.default_rng(0)
    frames = torch.from_numpy(rng.normal(size=(3, 4, 12)).astype(np.float32))
    frames[..., DETECTION] = torch.tensor([2.0, -1.0, 0.5])[:, None]
    padded = torch.cat([frames, torch.from_numpy(np.tile(empty_token(), (2, 4, 1)))])
    members = torch.tensor([True, True, True, False, False])
    assert torch.allclose(pool_face_tokens(padded, members), pool_face_tokens(frames), atol=1e-5)
    assert not torch.allclose(pool_face_tokens(padded), pool_face_tokens(frames), atol=1e-3)
