"""Encoder outputs of a clip's windows, cached on disk: the encoders are frozen in training.

A clip is decoded into windows by the node's own path (window/media_windows.py), so training
and inference see identical preprocessing; each window is encoded as the runtime encodes it
(the newest valid frame is the global view; a missing modality is zeros, masked downstream).

File format (safetensors), W windows:
  video_tokens (W, K, D_t)  cls (W, D_g)  image_tokens (W, G, 4 D_g)  audio_tokens (W, K, D_a)
  video_present (W,) uint8  audio_present (W,) uint8
metadata "encoders": the fingerprint of the encoders and window settings that made it. A
record's pre-extracted ``features`` file uses the same format.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from emotion_ros.model.network import EmotionNetwork
from emotion_ros.model.video import TemporalView
from emotion_ros.runtime.frame_cache import FrameFeatureCache
from emotion_ros.runtime.people import main_person_view
from emotion_ros.train.records import Record
from emotion_ros.window.config import WindowConfig
from emotion_ros.window.media_windows import media_windows
from emotion_ros.window.window import Window

KEYS = ("video_tokens", "cls", "image_tokens", "audio_tokens", "video_present", "audio_present")


class FeatureError(ValueError):
    """A feature file is unreadable or does not fit the network's encoders."""


@dataclass
class ClipFeatures:
    """The encoder outputs of W windows (shapes in the module docstring)."""

    video_tokens: torch.Tensor
    cls: torch.Tensor
    image_tokens: torch.Tensor
    audio_tokens: torch.Tensor
    video_present: torch.Tensor
    audio_present: torch.Tensor

    def __len__(self) -> int:
        return self.video_tokens.shape[0]

    def window(self, index: int) -> ClipFeatures:
        return ClipFeatures(*(getattr(self, key)[index : index + 1] for key in KEYS))

    def tensors(self) -> dict[str, torch.Tensor]:
        return {key: getattr(self, key) for key in KEYS}


def window_config(network: EmotionNetwork) -> WindowConfig:
    config = network.config
    return WindowConfig(duration=config.window, num_frames=config.window_frames, sample_rate=config.audio.sample_rate)


def encoder_fingerprint(network: EmotionNetwork) -> str:
    """sha256 over the encoders' weights, their configuration and the window settings."""
    digest = hashlib.sha256()
    config = network.config
    digest.update(json.dumps([config.to_dict()["video"], config.to_dict()["audio"], config.window,
                              config.window_frames], sort_keys=True).encode())
    for module in (network.temporal_view, network.global_view, network.audio_encoder):
        for name, tensor in sorted(module.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().float().numpy().tobytes())
    return digest.hexdigest()


@torch.no_grad()
def encode_windows(network: EmotionNetwork, windows: list[Window]) -> ClipFeatures:
    """Run the frozen encoders over windows, as runtime/estimator.py feeds them."""
    config, rows = network.config, []
    size = network.config.video.frame_size
    cache = FrameFeatureCache(capacity=4 * config.window_frames)  # overlapping windows share frames
    encode = lambda frames: network.encode_frames(torch.from_numpy(np.ascontiguousarray(frames))).numpy()  # noqa: E731
    for window in windows:
        if window.video_present:
            features = cache.features(window.frame_stamps, window.frames, encode)
            reads_faces = config.video.temporal.type == "face_reader"
            features = torch.from_numpy(main_person_view(features, reads_faces, window.frame_mask))
            newest = int(np.flatnonzero(window.frame_mask)[-1])
            global_frame = torch.from_numpy(np.ascontiguousarray(window.frames[newest]))
        else:  # masked inside the network: the values never matter
            features = torch.zeros(config.window_frames, 4, network.temporal_view.dim)
            global_frame = torch.zeros(size, size, 3, dtype=torch.uint8)
        cls, image_tokens = network.global_view(global_frame[None])
        audio = network.audio_encoder(torch.from_numpy(window.audio.astype(np.float32))[None])
        steps = network.temporal_view.pool_in_time(features[None], config.num_frames)
        rows.append((TemporalView.tokens(steps)[0], cls[0], image_tokens[0], audio[0],
                     torch.tensor(window.video_present), torch.tensor(window.audio_present)))
    return ClipFeatures(*(torch.stack(column) for column in zip(*rows)))


def save_features(features: ClipFeatures, path: Path, fingerprint: str) -> Path:
    """Atomic write (other processes may read the cache meanwhile)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {key: value.float().contiguous() for key, value in features.tensors().items()}
    for key in ("video_present", "audio_present"):
        tensors[key] = features.tensors()[key].to(torch.uint8)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    save_file(tensors, str(partial), metadata={"encoders": fingerprint})
    partial.replace(path)
    return path


def load_features(path: Path, network: EmotionNetwork) -> ClipFeatures:
    """Read a feature file and check its shapes against the network."""
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise FeatureError(f"{path} is not a readable safetensors feature file: {exc}") from None
    missing = [key for key in KEYS if key not in tensors]
    if missing:
        raise FeatureError(f"{path} lacks {', '.join(missing)}")
    config = network.config
    expected = {
        "video_tokens": (config.tokens, network.temporal_view.dim),
        "cls": (network.global_view.dim,),
        "image_tokens": (config.global_tokens, 4 * network.global_view.dim),
        "audio_tokens": (config.tokens, network.audio_encoder.dim),
    }
    count = tensors["video_tokens"].shape[0]
    for key, shape in expected.items():
        if tuple(tensors[key].shape) != (count, *shape):
            raise FeatureError(f"{path}: {key} is {tuple(tensors[key].shape)}, the model needs (W, {', '.join(map(str, shape))})")
    if count == 0:
        raise FeatureError(f"{path} holds no windows")
    return ClipFeatures(*(tensors[key].bool() if key.endswith("present") else tensors[key] for key in KEYS))


class FeatureCache:
    """Encoder outputs per record: its pre-extracted file, else a cached encoding of its clip.

    Cache files live in ``directory`` and are named by a hash of the clip files (path, size,
    modification time) and the encoder fingerprint, so a changed clip or encoder is re-encoded.
    """

    def __init__(self, network: EmotionNetwork, directory: str | Path):
        self.network = network
        self.directory = Path(directory)
        self.fingerprint = encoder_fingerprint(network)

    def path(self, record: Record) -> Path:
        if record.features is not None:
            return record.features
        digest = hashlib.sha256(self.fingerprint.encode())
        for source in (record.clip, record.audio):
            if source is not None:
                stat = source.stat()
                digest.update(f"{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        return self.directory / f"{digest.hexdigest()[:32]}.safetensors"

    def ensure(self, record: Record) -> Path:
        """Encode the record's clip unless its features exist; returns the feature file."""
        path = self.path(record)
        if path.is_file() or record.features is not None:
            return path
        windows = media_windows(record.clip, window_config(self.network), self.network.config.video.frame_size, record.audio,
                                partial=True)
        if not windows:
            raise FeatureError(f"{record.clip} gave no window (no frames and no audio?)")
        return save_features(encode_windows(self.network, windows), path, self.fingerprint)

    def load(self, record: Record) -> ClipFeatures:
        return load_features(self.ensure(record), self.network)
