"""Choosing and building a backend by name."""

from __future__ import annotations

import logging
from pathlib import Path

from emotion_ros.model.resolve import resolve_model, untrained_reason
from emotion_ros.runtime.backend import Backend

_log = logging.getLogger(__name__)

BACKENDS = ("auto", "tensorrt", "onnxruntime", "torch")


class BackendUnavailable(RuntimeError):
    pass


class UntrainedModel(BackendUnavailable):
    """The model names a preset without trained weights, and untrained weights were not allowed."""


def create_backend(name: str, model: str, threads: int = 0, force_engine_update: bool = False, int8: bool = False,
                   allow_untrained: bool = False) -> Backend:
    """Build the named backend. "auto" takes the fastest one that works here: TensorRT for a
    TensorRT export directory on a machine that can build engines, then ONNX Runtime (exporting
    a checkpoint once into the cache), then PyTorch; it logs which and why.

    A preset without a trained checkpoint raises UntrainedModel (saying how to get one) unless
    ``allow_untrained``: random weights produce confident nonsense, fine for tests and timing only.
    """
    if name not in BACKENDS:
        raise BackendUnavailable(f"unknown backend {name!r} (available: {', '.join(BACKENDS)})")
    if not allow_untrained and isinstance(resolve_model(model), str):
        raise UntrainedModel(untrained_reason(model))  # before exporting or loading anything
    backend = _build(name, model, threads, force_engine_update, int8)
    if not allow_untrained and not backend.trained:  # an export of random weights
        raise UntrainedModel(f"{model} holds untrained weights ({backend.model_id}); allow untrained weights to run it "
                             "(tests only)")
    return backend


def _build(name: str, model: str, threads: int, force_engine_update: bool, int8: bool) -> Backend:
    is_tensorrt_export = (Path(model) / "tensorrt_profiles.json").is_file()
    if name == "tensorrt" or (name == "auto" and is_tensorrt_export):
        from emotion_ros.artefacts.tensorrt_engine import TensorRTUnavailable
        from emotion_ros.runtime.tensorrt_backend import TensorRTBackend

        try:
            return TensorRTBackend(model, force_engine_update=force_engine_update)
        except TensorRTUnavailable as exc:
            if name == "tensorrt":
                raise BackendUnavailable(f"TensorRT backend unavailable: {exc}") from exc
            _log.warning("backend auto: %s; using ONNX Runtime on the same export", exc)
    if name in ("auto", "onnxruntime"):
        try:
            from emotion_ros.runtime.onnx_backend import OnnxRuntimeBackend

            if (Path(model) / "manifest.json").is_file():  # an export directory
                backend = OnnxRuntimeBackend.from_directory(model, threads=threads, int8=int8)
            else:
                backend = OnnxRuntimeBackend.for_model(model, threads=threads)
            _log.info("backend %s: ONNX Runtime with %s", name, backend.artefacts)
            return backend
        except (ImportError, RuntimeError) as exc:
            if name == "onnxruntime" or (Path(model) / "manifest.json").is_file():
                # An export directory holds no PyTorch weights to fall back on.
                raise BackendUnavailable(f"ONNX Runtime backend unavailable: {exc}") from exc
            _log.warning("backend auto: ONNX Runtime unavailable (%s); using PyTorch", exc)
    from emotion_ros.runtime.torch_backend import TorchBackend

    return TorchBackend(model, threads=threads)
