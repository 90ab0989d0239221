"""Finding a model's checkpoint: a directory, or a preset's bundled one under share/models/."""

from __future__ import annotations

from pathlib import Path

from emotion_ros.model.assembly_record import check_assembly
from emotion_ros.model.checkpoint import WEIGHTS as CHECKPOINT_FILE
from emotion_ros.model.config import available_presets
from emotion_ros.paths import share_dir

UNTRAINED_SUFFIX = "@untrained"  # ends the model id of random weights


def resolve_model(model: str) -> Path | str:
    """A checkpoint directory for ``model`` (a directory, its model.safetensors, or a preset's
    bundled checkpoint models/<name>/), or the preset name itself when no checkpoint exists
    (untrained). A preset's name is the preset, whatever the working directory holds: a
    directory of that name is given as a path (./tiny). CheckpointError for a checkpoint of the
    package's models/ that is stale against the package's parts (model/assembly_record.py)."""
    path = Path(model).expanduser()
    if path.is_file() and path.name == CHECKPOINT_FILE:  # the weights file: its directory holds the rest
        path = path.parent
    models = share_dir() / "models"
    bundled = models / model
    named = "/" not in model and "\\" not in model  # a name, not a path
    if named and (model in available_presets() or (bundled / CHECKPOINT_FILE).is_file()):
        if not (bundled / CHECKPOINT_FILE).is_file():
            return model
        path = bundled
    if path.is_dir():
        if path.resolve().parent == models.resolve():  # the package's own, assembled from its parts
            check_assembly(path, share_dir())
        return path
    if path.suffix or "/" in model:
        raise FileNotFoundError(f"model {model!r} is neither a checkpoint directory nor a preset name")
    return model


def untrained_reason(preset: str) -> str:
    """Why ``preset`` cannot run without ``allow_untrained``, and the command that fixes it."""
    if preset == "tiny":
        return (f"the default model is not assembled ({share_dir() / 'models' / 'tiny'} has no model.safetensors): run "
                "`emotion-ros assemble-tiny` once (seconds; in a colcon workspace "
                "`ros2 run emotion_ros emotion-ros assemble-tiny`); random weights run only with allow_untrained "
                "(tests and timing)")
    return (f"preset {preset!r} has no trained checkpoint: give a checkpoint directory (emotion-ros train or "
            "convert); random weights run only with allow_untrained (tests and timing)")
