"""Checkpoints: a directory with model.safetensors, config.yaml and (optionally) a tokenizer.

Loading never unpickles: pickled formats (.pt, .pth, .bin, .ckpt) are refused unless the
caller explicitly allows them, and even then go through torch.load(weights_only=True),
which only rebuilds tensors and plain containers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from emotion_ros.model.config import ConfigError, ModelConfig, config_from_dict
from emotion_ros.model.network import EmotionNetwork, build_network
from emotion_ros.model.tokenizer import TOKENIZER_CONFIG, TextTokenizer

WEIGHTS, CONFIG = "model.safetensors", "config.yaml"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model")
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl")


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, or does not match its architecture."""


@dataclass
class Checkpoint:
    network: EmotionNetwork
    config: ModelConfig
    tokenizer: TextTokenizer | None
    model_id: str  # "<preset>@<first 12 hex digits of the weights' sha256>"
    path: Path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_sha256(path: Path) -> str:
    """sha256 of a safetensors file with its JSON header's keys sorted: the same tensors and
    metadata give the same digest, whatever order the writer put the metadata in (safetensors
    writes it in hash-map order, which changes from one process to the next)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        size = int.from_bytes(handle.read(8), "little")
        try:
            header = json.loads(handle.read(size))
        except (ValueError, MemoryError, OverflowError):
            return file_sha256(path)  # not safetensors: its bytes
        digest.update(json.dumps(header, sort_keys=True).encode())
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_fingerprint(directory: str | Path) -> str:
    """sha256 over the names and hashes of a checkpoint directory's files (config, weights,
    tokenizer): what its exported graphs are keyed by, without building the network."""
    digest = hashlib.sha256()
    for name in (CONFIG, WEIGHTS, *TOKENIZER_FILES, TOKENIZER_CONFIG):
        path = Path(directory) / name
        if path.is_file():
            digest.update(f"{name} {weights_sha256(path) if name == WEIGHTS else file_sha256(path)}\n".encode())
    return digest.hexdigest()


def save_checkpoint(
    network: EmotionNetwork, directory: str | Path, tokenizer: TextTokenizer | None = None, metadata: dict | None = None
) -> Path:
    """Write weights (safetensors; tied weights stored once), config and tokenizer (with its
    tokenizer_config.json where it has one: special tokens, chat template)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().contiguous() for name, tensor in unique_state(network).items()}
    save_file(state, str(directory / WEIGHTS), metadata={"format": "emotion_ros", "preset": network.config.name, **(metadata or {})})
    (directory / CONFIG).write_text(yaml.safe_dump(network.config.to_dict(), sort_keys=False))
    if tokenizer is not None:
        tokenizer.save(directory)
    return directory


def unique_state(network: torch.nn.Module) -> dict[str, torch.Tensor]:
    """state_dict without the aliases of tied parameters (safetensors refuses shared memory);
    the first name of a tied parameter is kept, as named_parameters() does."""
    aliases = {n for n, _ in network.named_parameters(remove_duplicate=False)} - {n for n, _ in network.named_parameters()}
    return {name: tensor for name, tensor in network.state_dict().items() if name not in aliases}


def read_state_dict(path: str | Path, allow_pickle: bool = False) -> dict[str, torch.Tensor]:
    """Tensors from a .safetensors file, or (only with allow_pickle) a pickled torch file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file not found: {path}")
    if path.suffix in PICKLE_SUFFIXES:
        if not allow_pickle:
            raise CheckpointError(
                f"{path.name} is a pickle, which can run code when loaded; convert it to safetensors "
                "(emotion-ros convert) or pass allow_pickle=True for a file you trust"
            )
        try:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # UnpicklingError, RuntimeError, zip errors
            raise CheckpointError(f"cannot read {path}: {exc}") from exc
        return loaded
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{path} is not a valid safetensors file: {exc}") from exc


def _listing(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_state_dict(network: torch.nn.Module, state: dict[str, torch.Tensor], ignore_missing: tuple[str, ...] = ()) -> None:
    """Raise CheckpointError naming every missing, unexpected or mis-shaped tensor."""
    expected = {name: tensor.shape for name, tensor in unique_state(network).items()}
    missing = sorted(n for n in expected if n not in state and not n.startswith(ignore_missing))
    unexpected = sorted(n for n in state if n not in expected)
    mismatched = sorted(
        f"{n} (checkpoint {tuple(state[n].shape)}, model {tuple(expected[n])})"
        for n in expected
        if n in state and tuple(state[n].shape) != tuple(expected[n])
    )
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} tensor(s): {_listing(missing)}")
    if unexpected:
        problems.append(f"unexpected {len(unexpected)} tensor(s): {_listing(unexpected)}")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatch(es): {_listing(mismatched)}")
    if problems:
        raise CheckpointError("checkpoint does not match the architecture: " + "; ".join(problems))


def load_checkpoint(path: str | Path, device: str = "cpu") -> Checkpoint:
    """Load a checkpoint directory: build its architecture from config.yaml, then the weights."""
    path = Path(path)
    if path.is_file() and path.suffix in PICKLE_SUFFIXES:
        read_state_dict(path)  # raises the explanation
    if not path.is_dir():
        raise CheckpointError(f"checkpoint directory not found: {path}")
    if not (path / CONFIG).is_file():
        raise CheckpointError(f"{path} has no {CONFIG}")
    try:
        config = config_from_dict(yaml.safe_load((path / CONFIG).read_text()))
    except (yaml.YAMLError, ConfigError) as exc:
        raise CheckpointError(f"{path / CONFIG}: {exc}") from exc
    weights = path / WEIGHTS
    state = read_state_dict(weights)
    network = build_network(config, device=device)
    check_state_dict(network, state)
    network.load_state_dict(state, strict=False)  # exact match checked above; tied weights load once
    tokenizer = None
    for name in TOKENIZER_FILES:
        if (path / name).is_file():
            tokenizer = TextTokenizer.from_file(path / name)
            break
    if tokenizer is not None and tokenizer.vocab_size > config.llm.vocab_size:
        raise CheckpointError(
            f"tokenizer has {tokenizer.vocab_size} tokens but the LLM embeds only {config.llm.vocab_size}"
        )
    model_id = f"{config.name}@{weights_sha256(weights)[:12]}"
    return Checkpoint(network.eval(), config, tokenizer, model_id, path)
