"""TensorRT engines from the exported ONNX graphs, with a sidecar that says what they were built for.

An engine only runs on the TensorRT version and GPU it was built with, and only holds the
weights of the ONNX it was built from. The sidecar JSON next to each engine records those
(TensorRT version, GPU name and compute capability, ONNX sha256, precision, profile shapes);
at start-up the runtime compares it with the machine and the ONNX file, and rebuilds the
engine or refuses to run it, never runs a stale one.

TensorRT 10 (JetPack 6/7) takes precision as builder flags (FP16); TensorRT 11 (pip) builds
strongly typed networks whose precision comes from the ONNX (the fp16 profiles bake it in).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from emotion_ros.model.checkpoint import file_sha256

_log = logging.getLogger(__name__)


class TensorRTUnavailable(RuntimeError):
    """TensorRT cannot build or run engines here (not installed, or no GPU)."""


class StaleEngine(RuntimeError):
    """An engine does not match this machine or its ONNX, and rebuilding was not allowed."""


@dataclass(frozen=True)
class MachineIdentity:
    tensorrt: str
    gpu: str
    compute_capability: str


def probe_tensorrt():
    """(tensorrt module, MachineIdentity) if engines can be built here; else TensorRTUnavailable
    with the reason. It really constructs a Builder: `import tensorrt` alone succeeds without a GPU."""
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise TensorRTUnavailable(f"the tensorrt Python package is not installed ({exc})") from exc
    try:
        builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
        if builder is None:
            raise RuntimeError("trt.Builder returned None")
    except Exception as exc:  # pybind11 "factory function returned nullptr" without a GPU
        raise TensorRTUnavailable(f"TensorRT {trt.__version__} cannot create a builder (no usable GPU?): {exc}") from exc
    import torch

    if not torch.cuda.is_available():
        raise TensorRTUnavailable("PyTorch sees no CUDA device to run engines with")
    major, minor = torch.cuda.get_device_capability()
    return trt, MachineIdentity(trt.__version__, torch.cuda.get_device_name(), f"{major}.{minor}")


def sidecar_path(engine: Path) -> Path:
    return engine.with_suffix(".json")


def sidecar_mismatches(sidecar: dict, machine: MachineIdentity, onnx_sha256: str, precision: str, shapes: dict) -> list[str]:
    """Why an engine built as ``sidecar`` describes cannot run here (empty: it can)."""
    problems = []
    if sidecar.get("tensorrt") != machine.tensorrt:
        problems.append(f"built with TensorRT {sidecar.get('tensorrt')}, this machine has {machine.tensorrt}")
    if sidecar.get("compute_capability") != machine.compute_capability or sidecar.get("gpu") != machine.gpu:
        problems.append(
            f"built for {sidecar.get('gpu')} (sm {sidecar.get('compute_capability')}), "
            f"this machine has {machine.gpu} (sm {machine.compute_capability})"
        )
    if sidecar.get("onnx_sha256") != onnx_sha256:
        problems.append("built from another ONNX file (the model was re-exported)")
    if sidecar.get("precision") != precision:
        problems.append(f"built for {sidecar.get('precision')}, the profile asks for {precision}")
    if sidecar.get("shapes") != shapes:
        problems.append("built with other optimisation-profile shapes")
    return problems


def build_engine(trt, machine: MachineIdentity, onnx_path: Path, engine_path: Path, shapes: dict, precision: str,
                 workspace_mib: int, timing_cache: Path | None = None) -> Path:
    """Parse ``onnx_path``, build with one optimisation profile of ``shapes`` (input -> [min,
    opt, max]), write the engine and its sidecar. Works with TensorRT 10 and 11."""
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    major = int(trt.__version__.split(".")[0])
    strongly_typed = major >= 11
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if strongly_typed else 0
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT cannot parse {onnx_path.name}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mib << 20)
    if precision == "fp16" and not strongly_typed:
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for name, (low, opt, high) in shapes.items():
        profile.set_shape(name, low, opt, high)
    config.add_optimization_profile(profile)
    cache = None
    if timing_cache is not None:
        cache = config.create_timing_cache(timing_cache.read_bytes() if timing_cache.is_file() else b"")
        config.set_timing_cache(cache, ignore_mismatch=False)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build an engine from {onnx_path.name} (see its log above)")
    engine_path.write_bytes(bytes(serialized))
    if cache is not None:
        timing_cache.write_bytes(bytes(cache.serialize()))
    sidecar = {**asdict(machine), "onnx": onnx_path.name, "onnx_sha256": file_sha256(onnx_path),
               "engine_sha256": file_sha256(engine_path), "precision": precision, "shapes": shapes,
               "strongly_typed": strongly_typed}
    sidecar_path(engine_path).write_text(json.dumps(sidecar, indent=2))
    return engine_path


def ensure_engine(trt, machine: MachineIdentity, onnx_path: Path, engine_path: Path, shapes: dict, precision: str,
                  workspace_mib: int, rebuild: bool, timing_cache: Path | None = None) -> Path:
    """The engine for ``onnx_path``: reused when its sidecar matches, else rebuilt if ``rebuild``,
    else StaleEngine naming every mismatch. A missing engine is always built."""
    onnx_sha = file_sha256(onnx_path)
    if engine_path.is_file() and sidecar_path(engine_path).is_file():
        try:
            sidecar = json.loads(sidecar_path(engine_path).read_text())
        except json.JSONDecodeError:
            sidecar = {}
        problems = sidecar_mismatches(sidecar, machine, onnx_sha, precision, shapes)
        if sidecar.get("engine_sha256") != file_sha256(engine_path):
            problems.append("the engine file does not match its recorded sha256 (corrupt or replaced)")
        if not problems:
            return engine_path
        if not rebuild:
            raise StaleEngine(f"{engine_path.name} cannot run here: {'; '.join(problems)}. "
                              "Rebuild it (force_engine_update: true, or emotion-ros build-engines)")
        _log.warning("rebuilding %s: %s", engine_path.name, "; ".join(problems))
    elif engine_path.is_file() and not rebuild:
        raise StaleEngine(f"{engine_path.name} has no sidecar: its origin is unknown. Rebuild it (force_engine_update: true)")
    return build_engine(trt, machine, onnx_path, engine_path, shapes, precision, workspace_mib, timing_cache)
