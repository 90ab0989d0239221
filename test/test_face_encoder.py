"""Face tokens: the encoder's layout, aligned crops, letterboxing, and people across a window."""

import cv2
import numpy as np
import pytest
import torch
from skimage import data

from emotion_ros.samples.face_composites import ASTRONAUT_FACE, paste_faces, scene
from emotion_ros.io.letterbox import Letterbox, letterbox
from emotion_ros.model.config import ConfigError, FrameEncoderConfig, load_preset
from emotion_ros.model.box_framing import BoxFraming
from emotion_ros.model.face_align import crop_theta, image_extent
from emotion_ros.model.face_localiser import sampling_grid
from emotion_ros.model.face_encoder import (
    BOX,
    DETECTION,
    EMPTY_LOGIT,
    EXPRESSION,
    SLOTS,
    FaceFrameEncoder,
    empty_token,
    load_face_knowledge,
    person_tokens,
)
from emotion_ros.model.label_sets import FER_LABELS
from emotion_ros.runtime.people import people_in_window

HAPPY = FER_LABELS.index("happy")


@pytest.fixture(scope="module")
def encoder():
    return load_face_knowledge(FaceFrameEncoder(load_preset("tiny").video.temporal))


def tokens(encoder, rgb: np.ndarray, side: int = 512) -> np.ndarray:
    with torch.no_grad():
        x = torch.from_numpy(letterbox(rgb, side)).permute(2, 0, 1)[None].float() / 255
        _, slots = encoder(x)
    return slots[0].numpy()


def test_the_astronaut_is_one_happy_face_in_slot_zero_and_the_rest_is_empty(encoder):
    out = tokens(encoder, data.astronaut())
    assert out.shape == (SLOTS, 12)
    assert int(out[0, EXPRESSION].argmax()) == HAPPY and out[0, DETECTION] > 1.0
    assert np.abs(out[0, BOX] * 512 - ASTRONAUT_FACE).max() < 12  # [px]
    assert np.array_equal(out[1:], np.broadcast_to(empty_token(), (SLOTS - 1, 12)))


def test_the_largest_face_comes_first(encoder):
    rgb, boxes = paste_faces(scene("brick", 480, 640), [(70, 0.25, 0.5), (150, 0.7, 0.5), (100, 0.45, 0.3)])
    out = tokens(encoder, rgb)
    fit = Letterbox(480, 640, 512)
    found = fit.to_frame(out[:3, BOX])
    widths = found[:, 2] - found[:, 0]
    assert (out[:3, DETECTION] > 0).all() and out[3, DETECTION] == EMPTY_LOGIT
    assert list(widths) == sorted(widths, reverse=True)
    assert abs(found[0, 0] - boxes[1, 0]) < 15  # the 150 px face
    assert (out[:3, EXPRESSION].argmax(axis=1) == HAPPY).all()


def test_a_tilted_face_is_read_upright(encoder):
    """The astronaut rolled by 30 degrees either way: the crop follows the eye line."""
    image = data.astronaut()
    centre = ((ASTRONAUT_FACE[0] + ASTRONAUT_FACE[2]) / 2, (ASTRONAUT_FACE[1] + ASTRONAUT_FACE[3]) / 2)
    for angle in (-30, 30):
        rotated = cv2.warpAffine(image, cv2.getRotationMatrix2D(centre, angle, 1.0), (512, 512), borderMode=cv2.BORDER_REFLECT)
        out = tokens(encoder, rotated)
        assert out[0, DETECTION] > 0 and int(out[0, EXPRESSION].argmax()) == HAPPY


def test_crop_theta_turns_the_eye_line_level():
    box = torch.tensor([[100.0, 100.0, 200.0, 200.0]])
    keypoints = torch.zeros(1, 6, 2)
    angle = np.deg2rad(30)
    keypoints[0, 0] = torch.tensor([150 - 20 * np.cos(angle), 150 - 20 * np.sin(angle)])  # right eye
    keypoints[0, 1] = torch.tensor([150 + 20 * np.cos(angle), 150 + 20 * np.sin(angle)])  # left eye
    theta = crop_theta(box, keypoints, torch.tensor([[0.0, 0.0, 400.0, 400.0]]), 400, 400, BoxFraming(), 128)[0]
    # the crop's rightward axis (u = 1, v = 0) points along the eye line, at half the side
    right = (theta @ torch.tensor([1.0, 0.0, 1.0]) + 1) * 200  # grid units -> pixels
    assert torch.allclose(right, torch.tensor([150 + 50 * np.cos(angle), 150 + 50 * np.sin(angle)]).float(), atol=1e-3)


def test_no_crop_sample_reads_past_the_picture():
    """Faces at every edge and corner of a letterboxed frame, level and turned, small and larger
    than the picture: every sample's bilinear footprint (half a pixel round it) stays on the
    picture, so neither the sampler's padding nor the black bars are read."""
    frame = torch.zeros(1, 1, 128, 128)
    frame[..., 16:112, :] = 0.5  # a 4:3 picture letterboxed into a square: bars of 16 rows
    extent = image_extent(frame)
    assert extent.tolist() == [[0.0, 16.0, 128.0, 112.0]]
    cases = [(x, y, side, angle) for x in (0.0, 64.0, 128.0) for y in (16.0, 64.0, 112.0)
             for side in (6.0, 40.0, 300.0) for angle in (0.0, 30.0, -45.0)]
    centre = torch.tensor([(x, y) for x, y, _, _ in cases])
    half = torch.tensor([side / 2 for _, _, side, _ in cases])[:, None]
    turn = torch.tensor([(np.cos(np.deg2rad(a)), np.sin(np.deg2rad(a))) for *_, a in cases], dtype=torch.float32)
    boxes = torch.cat([centre - half, centre + half], dim=1)
    keypoints = centre[:, None].repeat(1, 6, 1)
    keypoints[:, 0], keypoints[:, 1] = centre - turn * half / 2, centre + turn * half / 2  # the eyes
    for samples in (16, 128):
        theta = crop_theta(boxes, keypoints, extent.expand(len(cases), 4), 128, 128, BoxFraming(1.2, (0.0, 0.1)), samples)
        pixels = (sampling_grid(theta, samples) + 1) * 64  # grid units -> frame pixels
        assert (pixels[..., 0] >= 0.5 - 1e-4).all() and (pixels[..., 0] <= 127.5 + 1e-4).all()
        assert (pixels[..., 1] >= 16.5 - 1e-4).all() and (pixels[..., 1] <= 111.5 + 1e-4).all()
        # A crop that fits is not shrunk: the small faces keep their side.
        small = torch.tensor([side == 6.0 for _, _, side, _ in cases])
        assert torch.allclose(theta[small, :, :2].norm(dim=1) * 64, half[small].expand(-1, 2) * 1.2, atol=1e-4)


def test_person_tokens_put_one_person_in_slot_zero():
    frames = np.stack([np.broadcast_to(empty_token(), (SLOTS, 12)).copy() for _ in range(3)])
    frames[:, 1, DETECTION] = 3.0
    frames[:, 1, 0] = np.arange(3)
    view = person_tokens(frames, np.array([1, -1, 1]))
    assert view.shape == (3, 4, 12)  # the temporal view's four tokens per frame
    assert view[0, 0, 0] == 0 and view[2, 0, 0] == 2
    assert view[1, 0, DETECTION] == EMPTY_LOGIT and (view[:, 1:, DETECTION] == EMPTY_LOGIT).all()


def test_people_are_followed_back_through_the_window_by_box_overlap():
    t = 4
    frames = np.stack([np.broadcast_to(empty_token(), (4, 12)).copy() for _ in range(t)])
    left, right = np.array([0.1, 0.1, 0.3, 0.35]), np.array([0.6, 0.2, 0.9, 0.6])
    for i in range(t):
        # the two people swap slots between frames; the left one is missing in frame 1
        slots = (0, 1) if i % 2 == 0 else (1, 0)
        frames[i, slots[1], DETECTION], frames[i, slots[1], BOX] = 2.0, right + 0.005 * i
        if i != 1:
            frames[i, slots[0], DETECTION], frames[i, slots[0], BOX] = 2.0, left + 0.005 * i
    people = people_in_window(frames)
    assert len(people) == 2
    main, other = people
    assert main.area > other.area and np.allclose(main.box, right + 0.015)
    assert main.slots.tolist() == [1, 0, 1, 0]
    assert other.slots.tolist() == [0, -1, 0, 1] and other.seen == 0.75
    assert people_in_window(np.broadcast_to(empty_token(), (t, 4, 12))) == []


def test_with_track_ids_a_face_never_confirmed_is_nobody_and_one_found_once_joins_its_track():
    t = 4
    frames = np.stack([np.broadcast_to(empty_token(), (4, 12)).copy() for _ in range(t)])
    frames[3, 0, DETECTION], frames[3, 0, BOX] = 2.0, [0.1, 0.1, 0.3, 0.35]  # found once, in the newest frame
    unconfirmed = np.full((t, 4), -1)
    assert people_in_window(frames, ids=unconfirmed) == []  # a one-frame false detection is nobody
    assert len(people_in_window(frames)) == 1  # without tracking, the newest frame's faces are the people
    frames[2, 1, DETECTION], frames[2, 1, BOX] = 2.0, [0.11, 0.1, 0.31, 0.35]
    ids = unconfirmed.copy()
    ids[2, 1] = 7  # confirmed a frame earlier: the face found once joins that track
    (person,) = people_in_window(frames, ids=ids)
    assert person.track == 7 and person.slots.tolist() == [-1, -1, 1, 0]


@pytest.mark.parametrize("size", [(480, 640), (720, 1280), (640, 480)])
def test_letterbox_keeps_the_aspect_ratio_and_maps_boxes_back(size):
    height, width = size
    rgb = np.full((height, width, 3), 200, np.uint8)
    canvas = letterbox(rgb, 512)
    fit = Letterbox(height, width, 512)
    (w, h), (x, y) = fit.size, fit.offset
    assert canvas.shape == (512, 512, 3) and abs(w / h - width / height) < 0.01
    assert canvas[y + h // 2, x + w // 2, 0] == 200 and canvas[0, 0, 0] == (0 if (x or y) else 200)
    box = np.array([x + 0.25 * w, y + 0.5 * h, x + 0.75 * w, y + h]) / 512
    assert np.allclose(fit.to_frame(box), [0.25 * width, 0.5 * height, 0.75 * width, height], atol=1.0)


def test_face_reader_config_is_checked():
    with pytest.raises(ConfigError, match="face_reader"):
        FrameEncoderConfig(type="face_reader", image_size=512, dim=8).check("video.temporal")
    with pytest.raises(ConfigError, match="face_reader"):
        FrameEncoderConfig(type="face_reader", image_size=512, dim=12).check("video.global_view")
    FrameEncoderConfig(type="face_reader", image_size=512, dim=12).check("video.temporal")


def test_a_group_of_five_is_read_face_by_face(encoder):
    rgb, boxes = paste_faces(scene("gravel", 720, 1280), [(150, x, 0.45 + 0.1 * (i % 2)) for i, x in
                                                          enumerate((0.1, 0.3, 0.5, 0.7, 0.9))])
    out = tokens(encoder, rgb)
    assert (out[:5, DETECTION] > 0).all() and (out[5:, DETECTION] == EMPTY_LOGIT).all()
    assert (out[:5, EXPRESSION].argmax(axis=1) == HAPPY).all()


def test_pooling_in_time_weights_frames_by_how_surely_they_show_the_face():
    from emotion_ros.model.face_encoder import pool_face_tokens

    groups = torch.from_numpy(np.broadcast_to(empty_token(), (2, 4, 4, 12)).copy())  # 2 steps of 4 frames
    groups[0, 0, 0, EXPRESSION] = torch.arange(7.0)
    groups[0, 1, 0, EXPRESSION] = 3 * torch.arange(7.0)
    groups[0, :2, 0, DETECTION] = 6.0  # seen in 2 of 4 frames, equally surely
    pooled = pool_face_tokens(groups)
    assert torch.allclose(pooled[0, 0, EXPRESSION], 2 * torch.arange(7.0), atol=1e-3)
    assert abs(float(torch.sigmoid(pooled[0, 0, DETECTION])) - 0.5) < 0.01
    assert torch.equal(pooled[1], torch.from_numpy(np.broadcast_to(empty_token(), (4, 12)).copy()))  # nobody: empty
    assert torch.equal(pooled[0, 1:], pooled[1, 1:])


def test_frames_read_must_be_a_multiple_of_the_time_steps():
    import dataclasses

    config = load_preset("tiny")
    assert config.window_frames == 16 and config.num_frames == 4
    with pytest.raises(ConfigError, match="frames_read"):
        dataclasses.replace(config, frames_read=10).check()
