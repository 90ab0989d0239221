"""Model presets: one YAML file fully determines the architecture.

Every section is a frozen dataclass; unknown keys and missing required sections are errors,
so a typo in a preset never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emotion_ros.config_schema import build_dataclass, plain
from emotion_ros.model.label_sets import LABEL_SETS
from emotion_ros.model.text_cues import TEXT_DIM
from emotion_ros.paths import share_dir

FRAME_ENCODER_TYPES = ("vit", "fer_mini_xception", "face_reader")  # built by frame_encoders.py

# ImageNet and CLIP normalisation constants (RGB, on [0, 1] pixels).
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)


class ConfigError(ValueError):
    """A preset or checkpoint config is malformed."""


@dataclass(frozen=True)
class FrameEncoderConfig:
    """A per-frame image encoder (ViT): patch tokens on a grid plus a CLS token.

    final_norm: apply a LayerNorm after the last block (EVA-ViT-g as a timm model has one,
    the in-model global view has none). qkv_bias: "qv" gives q and v a bias but not k (EVA),
    "all" biases all three, "none" none.
    """

    type: str = "vit"
    image_size: int = 224  # input side [px]; frames are resized (no crop) to a square
    patch_size: int = 16
    dim: int = 192
    depth: int = 4
    heads: int = 3
    mlp_dim: int = 768
    qkv_bias: str = "all"
    final_norm: bool = True
    norm_eps: float = 1e-6
    resize: str = "bilinear"  # bilinear | bicubic
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    scales: tuple[int, ...] = ()  # fer_mini_xception: frame sides [px] the frame is read at
    # face_reader: the crop's framing relative to the detected box (model/face_align.py):
    crop_scale: float = 1.0  # crop side / box side
    crop_offset: tuple[float, float] = (0.0, 0.0)  # crop centre - box centre, along the eye line and to the chin, / box side

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size

    def check(self, where: str) -> None:
        if self.type not in FRAME_ENCODER_TYPES:
            raise ConfigError(f"{where}.type: unknown frame encoder {self.type!r} (known: {', '.join(FRAME_ENCODER_TYPES)})")
        if self.type == "face_reader":
            if where != "video.temporal" or self.dim != 12 or not 0.5 <= self.crop_scale <= 2.0 or any(
                    abs(value) > 0.5 for value in self.crop_offset):
                raise ConfigError(f"{where}: face_reader is a temporal view of dim 12 (face tokens) "
                                  "and needs crop_scale in [0.5, 2] and crop_offset within +-0.5")
            return
        if self.type == "fer_mini_xception":
            if self.grid != 2 or self.dim != 8 or not self.scales:
                raise ConfigError(f"{where}: fer_mini_xception gives dim 8 on a 2x2 grid (patch_size = image_size / 2) "
                                  "and needs scales")
            return
        if self.image_size % self.patch_size:
            raise ConfigError(f"{where}: image_size {self.image_size} is not a multiple of patch_size {self.patch_size}")
        if self.dim % self.heads:
            raise ConfigError(f"{where}: dim {self.dim} is not divisible by heads {self.heads}")
        if self.qkv_bias not in ("qv", "all", "none"):
            raise ConfigError(f"{where}.qkv_bias must be qv, all or none, got {self.qkv_bias!r}")
        if self.resize not in ("bilinear", "bicubic"):
            raise ConfigError(f"{where}.resize must be bilinear or bicubic, got {self.resize!r}")


@dataclass(frozen=True)
class VideoConfig:
    """temporal: encodes each of the window's T frames (pooled to 2x2 tokens per frame).
    global_view: encodes one frame at higher resolution (patch tokens grouped 4 -> 1, plus CLS).
    """

    temporal: FrameEncoderConfig
    global_view: FrameEncoderConfig
    vision_norm_eps: float = 1e-5  # ln_vision after the global encoder

    @property
    def frame_size(self) -> int:
        """The side [px] of the square frames are letterboxed into on arrival: the larger view's input."""
        return max(self.temporal.image_size, self.global_view.image_size)


@dataclass(frozen=True)
class AudioConfig:
    """The audio view.

    type "whisper": log-mel front end (Whisper's: 25 ms Hann window, 10 ms hop) and a
    Whisper-style encoder. type "voice_cues": speech probability, loudness, pitch and their
    spread (voice_cues.py; 8 values per token, 16 kHz), for small models; only sample_rate and
    dim (8) apply.
    """

    type: str = "whisper"
    sample_rate: int = 16000
    n_mels: int = 80
    n_fft: int = 400
    hop_length: int = 160
    dim: int = 192
    depth: int = 2
    heads: int = 3
    mlp_dim: int = 768
    max_positions: int = 1500  # encoder positions after the stride-2 conv (1500 = 30 s)


@dataclass(frozen=True)
class TextConfig:
    """The text view: what the person said during the window, as a fourth fusion modality (after
    audio, image, video) and LLM tokens. type "lexicon_cues": sentiment, punctuation and length
    of the words (text_cues.py; dim 8). Presets without it (the published three-modality fusion)
    read the words in the LLM prompt only."""

    type: str = "lexicon_cues"
    dim: int = 8


@dataclass(frozen=True)
class FusionConfig:
    """Conv-Attention pre-fusion (Emotion-LLaMAv2's ConvProAttention)."""

    hidden: tuple[int, int] = (512, 128)  # the published '512,128'
    out_dim: int = 256
    conv_blocks: int = 4
    dropout: float = 0.1


@dataclass(frozen=True)
class LlamaConfig:
    """A LLaMA-architecture decoder (names and conventions of Hugging Face's LlamaForCausalLM)."""

    vocab_size: int = 32000
    dim: int = 256
    layers: int = 4
    heads: int = 4
    kv_heads: int = 2
    ffn_dim: int = 688
    rms_eps: float = 1e-5
    rope_theta: float = 10000.0
    max_positions: int = 2048
    tie_embeddings: bool = False

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads

    def check(self) -> None:
        if self.dim % self.heads or self.heads % self.kv_heads:
            raise ConfigError(
                f"llm: dim {self.dim} must divide by heads {self.heads}, and heads by kv_heads {self.kv_heads}"
            )
        if self.head_dim % 2:
            raise ConfigError(f"llm: head_dim {self.head_dim} must be even for rotary embeddings")


@dataclass(frozen=True)
class PerceptionConfig:
    hidden: int = 128
    dropout: float = 0.1


@dataclass(frozen=True)
class ModelConfig:
    """A whole network. num_frames x 4 is the token count K of every modality's fusion input."""

    name: str
    labels: tuple[str, ...]
    num_frames: int
    window: float  # seconds of audio per window
    video: VideoConfig
    audio: AudioConfig
    fusion: FusionConfig
    llm: LlamaConfig
    perception: PerceptionConfig = field(default_factory=PerceptionConfig)
    text: TextConfig | None = None
    frames_read: int = 0  # frames per window the temporal view reads (0: num_frames), pooled to num_frames steps

    @property
    def window_frames(self) -> int:
        """Frames a window holds: the temporal view reads them all, then pools them in time to
        num_frames steps (consecutive groups of window_frames / num_frames frames)."""
        return self.frames_read or self.num_frames

    @property
    def tokens(self) -> int:
        """K: temporal tokens (T frames x 2x2), also the pooled audio and repeated CLS count."""
        return self.num_frames * 4

    @property
    def audio_samples(self) -> int:
        return round(self.window * self.audio.sample_rate)

    @property
    def global_tokens(self) -> int:
        return self.video.global_view.grid**2 // 4

    def check(self) -> None:
        if len(self.labels) < 2 or len(set(self.labels)) != len(self.labels):
            raise ConfigError(f"labels must be at least two distinct names, got {list(self.labels)}")
        self.video.temporal.check("video.temporal")
        if self.frames_read and (self.frames_read < self.num_frames or self.frames_read % self.num_frames):
            raise ConfigError(f"frames_read {self.frames_read} must be a multiple of num_frames {self.num_frames}")
        self.video.global_view.check("video.global_view")
        if self.video.global_view.grid**2 % 4:
            raise ConfigError("video.global_view: the patch grid must hold a multiple of 4 tokens (grouped 4 -> 1)")
        if self.audio.type not in ("whisper", "voice_cues"):
            raise ConfigError(f"audio.type: unknown audio encoder {self.audio.type!r} (known: whisper, voice_cues)")
        if self.audio.type == "voice_cues":
            if self.audio.dim != 8 or self.audio.sample_rate != 16000:
                raise ConfigError("audio: voice_cues gives dim 8 and needs sample_rate 16000")
        elif self.audio.dim % self.audio.heads:
            raise ConfigError(f"audio: dim {self.audio.dim} is not divisible by heads {self.audio.heads}")
        if self.text is not None and (self.text.type, self.text.dim) != ("lexicon_cues", TEXT_DIM):
            raise ConfigError(f"text: the only text view is lexicon_cues of dim {TEXT_DIM}, got {self.text.type} of {self.text.dim}")
        frames = self.audio_samples // self.audio.hop_length // 2
        if frames > self.audio.max_positions:
            raise ConfigError(f"audio: a {self.window} s window gives {frames} encoder positions > max_positions")
        self.llm.check()

    def to_dict(self) -> dict[str, Any]:
        return plain(dataclasses.asdict(self))


def config_from_dict(values: dict) -> ModelConfig:
    """values: a parsed preset or checkpoint config; `labels` is a list of names or the name of a
    label set (label_sets.py)."""
    labels = values.get("labels")
    if isinstance(labels, str):
        if labels not in LABEL_SETS:
            raise ConfigError(f"labels: unknown label set {labels!r} (known: {', '.join(LABEL_SETS)})")
        values = {**values, "labels": list(LABEL_SETS[labels])}
    config = build_dataclass(ModelConfig, values, "", ConfigError)
    config.check()
    return config


def preset_path(name: str) -> Path:
    return share_dir() / "models" / f"{name}.yaml"


def available_presets() -> list[str]:
    return sorted(p.stem for p in (share_dir() / "models").glob("*.yaml"))


def load_preset(name_or_path: str | Path) -> ModelConfig:
    """A preset by name (models/<name>.yaml) or by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = preset_path(str(name_or_path))
        if not path.is_file():
            raise ConfigError(f"unknown preset {name_or_path!r} (available: {', '.join(available_presets())})")
    try:
        values = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read preset {path}: {exc}") from exc
    return config_from_dict(values)
