"""Finding a model's checkpoint: a directory, or a preset's bundled one under share/models/."""

from __future__ import annotations

from pathlib import Path

from emotion_ros.paths import share_dir

UNTRAINED_SUFFIX = "@untrained"  # ends the model id of random weights
CHECKPOINT_FILE = "model.safetensors"


def resolve_model(model: str) -> Path | str:
    """A checkpoint directory for ``model`` (a directory, its model.safetensors, or a preset's
    bundled checkpoint models/<name>/), or the preset name itself when no checkpoint exists
    (untrained)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    if path.is_file() and path.name == CHECKPOINT_FILE:  # the weights file: its directory holds the rest
        return path.parent
    bundled = share_dir() / "models" / model
    if (bundled / CHECKPOINT_FILE).is_file():
        return bundled
    if path.suffix or "/" in model:
        raise FileNotFoundError(f"model {model!r} is neither a checkpoint directory nor a preset name")
    return model


def untrained_reason(preset: str) -> str:
    """Why ``preset`` cannot run without ``allow_untrained``, and the command that fixes it."""
    if preset == "tiny":
        return (f"the default model is not built ({share_dir() / 'models' / 'tiny'} has no model.safetensors): run "
                "`emotion-ros build-tiny` once (about 7 minutes on 2 CPU cores; in a colcon workspace "
                "`ros2 run emotion_ros emotion-ros build-tiny`); random weights run only with allow_untrained "
                "(tests and timing)")
    return (f"preset {preset!r} has no trained checkpoint: give a checkpoint directory (emotion-ros train or "
            "convert); random weights run only with allow_untrained (tests and timing)")
