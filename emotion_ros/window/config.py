"""Configuration of the sliding window over camera frames and audio."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields


def option(default, help: str, low=None, high=None):
    """A config field with a description and an inclusive range (used for ROS parameters too)."""
    return field(default=default, metadata={"help": help, "range": (low, high)})


def check_options(config, what: str) -> None:
    """ValueError unless every option() field of ``config`` has its type and lies in its range."""
    for f in fields(config):
        value = getattr(config, f.name)
        kind = int if f.type in ("int", int) else float
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
            raise ValueError(f"{what}: {f.name} must be {'an integer' if kind is int else 'a number'}, got {value!r}")
        low, high = f.metadata["range"]
        if not math.isfinite(value) or value < low or value > high:
            raise ValueError(f"{what}: {f.name} = {value!r} is outside [{low}, {high}]")


@dataclass(frozen=True)
class WindowConfig:
    """How sensor streams are cut into windows. Times are seconds of sensor time."""

    duration: float = option(2.0, "Length of one window [s].", 0.1, 60.0)
    stride: float = option(0.5, "A window ends every `stride` seconds, on multiples of it [s].", 0.01, 60.0)
    num_frames: int = option(16, "Frames sampled per window (T), one per equal slice of it.", 1, 256)
    sample_rate: int = option(16000, "Audio rate of the window [Hz]; input audio is resampled to it.", 8000, 96000)
    max_latency: float = option(
        0.15, "Sensor time must pass a window's end by this much before it is emitted, so the slower "
        "modality can catch up [s].", 0.0, 10.0
    )
    frame_tolerance: float = option(
        0.25, "A sampled frame further than this from its slice centre is masked [s].", 0.001, 10.0
    )
    stale_after: float = option(
        0.5, "A modality whose newest data is older than the window end minus this is masked [s].", 0.01, 60.0
    )
    min_audio_coverage: float = option(
        0.25, "Fraction of the window's samples needed for audio to count as present.", 0.0, 1.0
    )
    clock_jump: float = option(
        1.0, "A stream going back in time by more than this resets the buffers (bag loop, sim reset) [s].",
        0.01, 3600.0
    )
    max_frame_rate: float = option(
        40.0, "Frames closer together than 1/max_frame_rate are dropped; bounds memory [Hz].", 1.0, 1000.0
    )

    def __post_init__(self):
        check_options(self, "window config")

    @property
    def samples_per_window(self) -> int:
        return round(self.duration * self.sample_rate)

    @property
    def history(self) -> float:
        """How far back buffers keep data [s]: one window plus the allowed lateness and a stride."""
        return self.duration + self.max_latency + self.stride

    @classmethod
    def from_dict(cls, values: dict) -> "WindowConfig":
        """Build from a mapping (e.g. parsed YAML); unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"window config: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return cls(**values)


def shipped_parameters(file_name: str, node_name: str) -> dict:
    """The ``ros__parameters`` of node ``node_name`` in the package's config/``file_name``, whose
    sections are keyed /**/<node> (so they apply in any namespace)."""
    import yaml

    from emotion_ros.paths import share_dir

    return yaml.safe_load((share_dir() / "config" / file_name).read_text())[f"/**/{node_name}"]["ros__parameters"]


def emotion_node_parameters() -> dict:
    """The emotion node's parameters as shipped in config/emotion.yaml (what `emotion-ros run` and
    `demo` use), for tools that replay the node's pipeline offline."""
    return shipped_parameters("emotion.yaml", "emotion")


def emotion_node_window() -> WindowConfig:
    """The emotion node's window settings: the defaults, with config/emotion.yaml's overrides."""
    return WindowConfig.from_dict(emotion_node_parameters().get("window", {}))
