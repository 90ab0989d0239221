"""Training configuration: one curriculum stage (or a distillation run) per YAML file.

The shipped stages live in config/train/: stage1_perception.yaml, stage2_cognition.yaml and
distill.yaml. Relative paths in a file are relative to the working directory.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from emotion_ros.config_schema import build_dataclass, plain
from emotion_ros.model.lora import LoraSettings
from emotion_ros.paths import share_dir
from emotion_ros.train.records import TASKS

FINETUNE = ("full", "lora")
# What a stage trains besides the LLM (full) or its LoRA adapters: the published trainable
# set (Conv-Attention and the four projections) plus the node's perception head.
DEFAULT_MODULES = ("conv_pro_module", "perception_head", "llama_proj", "llama_proj_video", "llama_proj_audio",
                   "llama_proj_fusion")


class TrainConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ModalityDropout:
    """Per sample, the probability of masking the video (both views) or the audio; never both."""

    video: float = 0.1
    audio: float = 0.1


@dataclass(frozen=True)
class LossWeights:
    lm: float = 1.0  # answer tokens (cross-entropy)
    label: float = 1.0  # perception head vs the record's label, when it is one of the model's labels
    valence_arousal: float = 1.0  # perception head vs the record's valence/arousal, when given
    kd: float = 1.0  # teacher logits (KL at the distillation temperature)


@dataclass(frozen=True)
class Distillation:
    """teacher: a directory written by `emotion-ros teacher-outputs`. sequence: train on the
    teacher's texts instead of the records' answers; logits: add KL to its top-k logits."""

    teacher: str = ""
    sequence: bool = True
    logits: bool = True
    temperature: float = 2.0


@dataclass(frozen=True)
class TrainConfig:
    stage: str = "perception"
    init: str = "tiny"  # checkpoint directory or preset name to start from
    records: str = ""  # JSONL or CSV record file
    splits: tuple[str, ...] = ("train",)
    tasks: tuple[str, ...] = ("emotion", "sentiment", "intent", "multi-label", "audio", "image")
    output: str = "runs/stage1"
    features: str = ""  # feature cache directory (default <output>/../features)
    steps: int = 1000
    batch_size: int = 8  # per process
    lr: float = 2e-4
    min_lr_ratio: float = 0.1  # cosine decay to lr * min_lr_ratio
    warmup_steps: int = 50
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    finetune: str = "lora"
    lora: LoraSettings = field(default_factory=LoraSettings)
    train_modules: tuple[str, ...] = DEFAULT_MODULES
    modality_dropout: ModalityDropout = field(default_factory=ModalityDropout)
    loss: LossWeights = field(default_factory=LossWeights)
    distill: Distillation | None = None
    max_answer_tokens: int = 200
    save_every: int = 500
    keep_checkpoints: int = 2
    log_every: int = 10
    seed: int = 0
    num_workers: int = 0
    precision: str = "fp32"  # fp32, or bf16 autocast on GPUs

    def check(self) -> None:
        if not self.records:
            raise TrainConfigError("records: no record file given (set it in the config or pass --records)")
        unknown = sorted(set(self.tasks) - set(TASKS))
        if unknown or not self.tasks:
            raise TrainConfigError(f"tasks: unknown {unknown} (known: {', '.join(TASKS)})")
        if self.finetune not in FINETUNE:
            raise TrainConfigError(f"finetune must be one of {FINETUNE}, got {self.finetune!r}")
        if self.precision not in ("fp32", "bf16"):
            raise TrainConfigError(f"precision must be fp32 or bf16, got {self.precision!r}")
        for name in ("steps", "batch_size", "save_every", "log_every", "keep_checkpoints", "max_answer_tokens"):
            if getattr(self, name) < 1:
                raise TrainConfigError(f"{name} must be at least 1")
        if not 0 <= self.modality_dropout.video <= 1 or not 0 <= self.modality_dropout.audio <= 1:
            raise TrainConfigError("modality_dropout probabilities must lie in [0, 1]")
        if self.modality_dropout.video + self.modality_dropout.audio > 1:
            raise TrainConfigError("modality_dropout: video + audio must not exceed 1 (one modality always stays)")
        if self.distill is not None and not self.distill.teacher:
            raise TrainConfigError("distill.teacher: no teacher-outputs directory given")

    @property
    def feature_dir(self) -> Path:
        return Path(self.features) if self.features else Path(self.output).parent / "features"

    def to_dict(self) -> dict[str, Any]:
        return plain(asdict(self))


def resolve_config_path(name_or_path: str | Path) -> Path:
    """A YAML path, or the name of a shipped stage (e.g. stage1_perception)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = share_dir() / "config" / "train" / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped
    raise TrainConfigError(f"training config not found: {name_or_path}")


def load_train_config(name_or_path: str | Path, **overrides) -> TrainConfig:
    """Load a stage YAML; keyword overrides (None = keep) replace top-level keys."""
    path = resolve_config_path(name_or_path)
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise TrainConfigError(f"{path}: not valid YAML: {exc}") from None
    config = build_dataclass(TrainConfig, values, path.name, TrainConfigError)
    changes = {k: v for k, v in overrides.items() if v is not None}
    if "teacher" in changes:
        config = replace(config, distill=replace(config.distill or Distillation(), teacher=changes.pop("teacher")))
    config = replace(config, **changes)
    config.check()
    return config
