"""Deployment profiles (export/*.yaml): what to build for which target."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import yaml

from emotion_ros.artefacts.onnx_graphs import GRAPHS
from emotion_ros.paths import share_dir

PRECISIONS = ("fp32", "fp16")
TARGETS = ("onnxruntime", "tensorrt")
QUANTIZATIONS = ("none", "dynamic_int8")


class ProfileError(ValueError):
    pass


@dataclass(frozen=True)
class ExportProfile:
    """target: onnxruntime (CPU) or tensorrt (GPU engines built on the device).

    precision: the weights' precision, baked into the ONNX graphs (TensorRT 11 builds strongly
    typed networks from it; TensorRT 10 also gets the FP16 builder flag). A face reader's fp16
    export keeps its frame graphs float32 (exporter.keep_face_reading_float32).
    frames / prompt_tokens / past_tokens: (min, opt, max) of the dynamic axes, used as the
    TensorRT optimisation profiles: frames encoded per call, tokens fed to llm_step per call,
    tokens already in its KV cache.
    tolerance: max |difference| of probabilities (and relative of features) allowed in parity.
    """

    name: str
    target: str
    precision: str = "fp32"
    opset: int = 17
    graphs: tuple[str, ...] = tuple(GRAPHS)
    simplify: bool = True
    optimize: bool = True  # onnxruntime: save the optimised graph next to the exported one
    quantize: str = "none"  # onnxruntime: dynamic_int8 also writes int8 graphs and their accuracy
    frames: tuple[int, int, int] = (1, 4, 16)
    prompt_tokens: tuple[int, int, int] = (1, 320, 512)
    past_tokens: tuple[int, int, int] = (0, 320, 576)
    workspace_mib: int = 2048
    tensorrt_versions: tuple[str, ...] = ("10", "11")
    tolerance: float = 1e-4
    description: str = ""

    def __post_init__(self):
        if self.target not in TARGETS:
            raise ProfileError(f"profile {self.name}: target must be one of {TARGETS}, got {self.target!r}")
        if self.precision not in PRECISIONS:
            raise ProfileError(f"profile {self.name}: precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.quantize not in QUANTIZATIONS:
            raise ProfileError(f"profile {self.name}: quantize must be one of {QUANTIZATIONS}, got {self.quantize!r}")
        unknown = set(self.graphs) - set(GRAPHS)
        if unknown:
            raise ProfileError(f"profile {self.name}: unknown graphs {sorted(unknown)} (known: {', '.join(GRAPHS)})")
        for axis in ("frames", "prompt_tokens", "past_tokens"):
            low, opt, high = getattr(self, axis)
            if not 0 <= low <= opt <= high:
                raise ProfileError(f"profile {self.name}: {axis} must be min <= opt <= max, got {getattr(self, axis)}")


def load_profile(name_or_path: str) -> ExportProfile:
    path = Path(name_or_path)
    if not path.suffix:
        path = share_dir() / "export" / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (share_dir() / "export").glob("*.yaml"))
        raise ProfileError(f"unknown export profile {name_or_path!r} (available: {', '.join(known)})")
    values = yaml.safe_load(path.read_text())
    known_keys = {f.name for f in dataclasses.fields(ExportProfile)}
    unknown = sorted(set(values) - known_keys)
    if unknown:
        raise ProfileError(f"{path}: unknown key(s) {', '.join(unknown)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return ExportProfile(**values)
