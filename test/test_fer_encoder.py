"""The FER frame encoder as a pluggable per-frame encoder of the network."""

import dataclasses

import numpy as np
import pytest
import torch
from skimage import data

from emotion_ros.model.config import FrameEncoderConfig, load_preset
from emotion_ros.model.fer_encoder import FerFrameEncoder, load_fer_knowledge
from emotion_ros.model.label_sets import FER_LABELS
from emotion_ros.model.network import build_network

FER = FrameEncoderConfig(type="fer_mini_xception", image_size=512, patch_size=256, dim=8, mean=(0.5,) * 3,
                         std=(0.5,) * 3, scales=(192, 256, 320, 384, 512))


@pytest.fixture(scope="module")
def network(fer_network):
    # tiny's scene view reads whole frames with this encoder; here both views do (as tiny once did)
    tiny = load_preset("tiny")
    temporal = dataclasses.replace(tiny.video.global_view, scales=(192, 256, 320, 384))
    config = dataclasses.replace(tiny, frames_read=0, video=dataclasses.replace(tiny.video, temporal=temporal))
    net = build_network(config).eval()
    load_fer_knowledge(net.temporal_view.encoder)
    load_fer_knowledge(net.global_view.encoder)
    return net


def test_frame_tokens_carry_the_expression_and_where_the_face_is(network):
    astronaut = torch.from_numpy(data.astronaut())[None]  # the whole frame
    encoder = network.temporal_view.encoder
    assert isinstance(encoder, FerFrameEncoder)
    with torch.no_grad():
        cls, patches = encoder(network.temporal_view.preprocess(astronaut))
        features = network.encode_frames(astronaut)
    assert FER_LABELS[int(cls[0, :7].argmax())] == "happy"
    assert torch.softmax(cls[0, :7], 0)[3] > 0.95
    faceness = patches[0, :, :, 7]
    assert faceness[0, 0] == faceness.max()  # the face is in the top-left quadrant
    assert features.shape == (1, 4, 8)  # the per-frame feature the runtime caches


def test_the_network_runs_a_window_with_fer_views(network):
    config = network.config
    frames = torch.from_numpy(data.astronaut())[None, None].expand(1, config.num_frames, 512, 512, 3)
    with torch.no_grad():
        out = network.forward_window(frames, torch.zeros(1, config.audio_samples), torch.tensor([True]), torch.tensor([False]))
    k = config.tokens
    assert out.prefix.shape[1] == k + 1 + k + k + 1  # the global view groups its 4 quadrant tokens into one; + the words
    assert torch.isfinite(out.logits).all()


def test_fer_encoder_configs_are_checked():
    from emotion_ros.model.config import ConfigError

    with pytest.raises(ConfigError, match="dim 8 on a 2x2 grid"):
        dataclasses.replace(FER, dim=16).check("video.temporal")


def test_whole_frames_under_camera_motion_read_like_the_face_crop(network, fer_network):
    """How close the detector-free reading comes to a tight crop (the published preprocessing)."""
    from emotion_ros.samples.sample_clip import camera_motion
    from emotion_ros.model.mini_xception import to_model_input

    photo, results = data.astronaut(), []
    with torch.no_grad():
        crop = fer_network.predict(to_model_input(photo[60:180, 180:300]))[0]
        frames = torch.from_numpy(np.stack([camera_motion(photo, 0.5 * t, (384, 384)) for t in range(12)]))
        for view in (network.temporal_view, network.global_view):
            cls, _ = view.encoder(view.preprocess(frames))
            whole = torch.softmax(cls[:, :7], dim=1)
            agree = float((whole.argmax(1) == crop.argmax()).float().mean())
            gap = float((whole - crop).abs().sum(1).mean() / 2)  # total variation distance
            print(f"{type(view).__name__}: top-1 agreement with the crop {agree:.2f}, mean total variation {gap:.3f}")
            results.append((agree, gap))
    # Measured: temporal view (4 scales) 0.75 / 0.28, global view (5 scales) 0.83 / 0.21.
    assert all(agree >= 0.65 and gap < 0.35 for agree, gap in results)


def test_every_frame_encoder_type_a_preset_may_name_is_built():
    from emotion_ros.model.config import FRAME_ENCODER_TYPES
    from emotion_ros.model.frame_encoders import ENCODERS

    assert sorted(ENCODERS) == sorted(FRAME_ENCODER_TYPES)
