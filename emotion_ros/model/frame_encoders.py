"""The per-frame encoders a preset can name (`video.*.type`)."""

from __future__ import annotations

from emotion_ros.model.config import FrameEncoderConfig
from emotion_ros.model.face_encoder import FaceFrameEncoder
from emotion_ros.model.fer_encoder import FerFrameEncoder
from emotion_ros.model.frame_encoder import FrameEncoder
from emotion_ros.model.vision import VisionTransformer

# config.py checks presets against FRAME_ENCODER_TYPES before anything is built
ENCODERS = {"vit": VisionTransformer, "fer_mini_xception": FerFrameEncoder, "face_reader": FaceFrameEncoder}


def build_frame_encoder(config: FrameEncoderConfig) -> FrameEncoder:
    return ENCODERS[config.type](config)

