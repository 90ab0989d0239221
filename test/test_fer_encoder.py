"""The FER frame encoder as a pluggable per-frame encoder of the network."""

import dataclasses

import pytest
import torch
from skimage import data

from emotion_ros.model.config import FrameEncoderConfig, load_preset
from emotion_ros.model.fer_encoder import FerFrameEncoder, load_fer_knowledge
from emotion_ros.model.mini_xception import FER_LABELS
from emotion_ros.model.network import build_network

FER = FrameEncoderConfig(type="fer_mini_xception", image_size=512, patch_size=256, dim=8, mean=(0.5,) * 3,
                         std=(0.5,) * 3, scales=(192, 256, 320, 384, 512))


@pytest.fixture(scope="module")
def network(fer_network):
    tiny = load_preset("tiny")
    config = dataclasses.replace(tiny, video=dataclasses.replace(tiny.video, temporal=FER, global_view=FER))
    config.check()
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
    frames = torch.from_numpy(data.astronaut())[None, None].expand(1, 16, 512, 512, 3)
    with torch.no_grad():
        out = network.forward_window(frames, torch.zeros(1, 32000), torch.tensor([True]), torch.tensor([False]))
    assert out.prefix.shape[1] == 64 + 1 + 64 + 64  # the global view groups its 4 quadrant tokens into one
    assert torch.isfinite(out.logits).all()


def test_fer_encoder_configs_are_checked():
    from emotion_ros.model.config import ConfigError

    with pytest.raises(ConfigError, match="dim 8 on a 2x2 grid"):
        dataclasses.replace(FER, dim=16).check("video.temporal")
