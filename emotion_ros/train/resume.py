"""Training checkpoints for resuming: trainable weights and optimizer state, no pickles.

<output>/checkpoints/step-NNNNNNN/
  trainable.safetensors   the parameters being trained (LoRA adapters and the named modules)
  optimizer.safetensors   AdamW moments per parameter, keyed by parameter name
  state.json              step, the stage's config, and the optimizer's scalar state
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from emotion_ros.train.config import TrainConfig

# Settings that must not change between a run and its resumption.
FIXED = ("init", "records", "splits", "tasks", "finetune", "lora", "train_modules", "seed", "steps", "batch_size")


class ResumeError(ValueError):
    pass


def checkpoint_dir(output: Path, step: int) -> Path:
    return output / "checkpoints" / f"step-{step:07d}"


def latest_checkpoint(output: Path) -> Path | None:
    found = sorted(p for p in (output / "checkpoints").glob("step-*") if (p / "state.json").is_file())
    return found[-1] if found else None


def save_training_state(output: Path, step: int, parameters: dict[str, torch.nn.Parameter],
                        optimizer: torch.optim.Optimizer, config: TrainConfig, keep: int) -> Path:
    """Write a checkpoint atomically and keep only the newest ``keep``."""
    target = checkpoint_dir(output, step)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    save_file({name: p.detach().cpu().contiguous() for name, p in parameters.items()},
              str(partial / "trainable.safetensors"))
    names = {id(p): name for name, p in parameters.items()}
    moments, scalars = {}, {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            for key, value in optimizer.state.get(p, {}).items():
                if isinstance(value, torch.Tensor) and value.dim() > 0:
                    moments[f"{names[id(p)]}::{key}"] = value.detach().cpu().contiguous()
                else:
                    scalars[f"{names[id(p)]}::{key}"] = float(value)
    save_file(moments, str(partial / "optimizer.safetensors"))
    state = {"step": step, "config": config.to_dict(), "optimizer_scalars": scalars}
    (partial / "state.json").write_text(json.dumps(state, indent=2) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    for old in sorted((output / "checkpoints").glob("step-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def load_training_state(directory: Path, parameters: dict[str, torch.nn.Parameter],
                        optimizer: torch.optim.Optimizer, config: TrainConfig) -> int:
    """Restore weights and optimizer from ``directory``; returns the step it was saved at."""
    try:
        state = json.loads((directory / "state.json").read_text())
        weights = load_file(str(directory / "trainable.safetensors"))
        moments = load_file(str(directory / "optimizer.safetensors"))
    except (OSError, json.JSONDecodeError, SafetensorError) as exc:
        raise ResumeError(f"cannot read training checkpoint {directory}: {exc}") from None
    saved, current = state.get("config", {}), config.to_dict()
    changed = [key for key in FIXED if saved.get(key) != current.get(key)]
    if changed:
        raise ResumeError(f"{directory} was written with different {', '.join(changed)}; resume with the same "
                          "settings or start a new output directory")
    if set(weights) != set(parameters):
        raise ResumeError(f"{directory} holds other trainable parameters than this run trains")
    with torch.no_grad():
        for name, p in parameters.items():
            if weights[name].shape != p.shape:
                raise ResumeError(f"{directory}: {name} is {tuple(weights[name].shape)}, expected {tuple(p.shape)}")
            p.copy_(weights[name])
    by_name = {id(p): name for name, p in parameters.items()}
    for group in optimizer.param_groups:
        for p in group["params"]:
            name = by_name[id(p)]
            entry = {key.split("::")[1]: value.to(p.device) for key, value in moments.items()
                     if key.split("::")[0] == name}
            entry.update({key.split("::")[1]: torch.tensor(value) for key, value in state["optimizer_scalars"].items()
                          if key.split("::")[0] == name})
            if entry:
                optimizer.state[p] = entry
    return int(state["step"])
