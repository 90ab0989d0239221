"""Choosing and building a backend by name."""

from __future__ import annotations

import logging

from emotion_ros.runtime.backend import Backend

_log = logging.getLogger(__name__)

BACKENDS = ("auto", "onnxruntime", "torch")


class BackendUnavailable(RuntimeError):
    pass


def create_backend(name: str, model: str, threads: int = 0) -> Backend:
    """Build the named backend. "auto" takes the fastest one that works here: ONNX Runtime
    (exporting the model once into the cache), else PyTorch; it logs which and why."""
    if name not in BACKENDS:
        raise BackendUnavailable(f"unknown backend {name!r} (available: {', '.join(BACKENDS)})")
    if name in ("auto", "onnxruntime"):
        try:
            from emotion_ros.runtime.onnx_backend import OnnxRuntimeBackend

            backend = OnnxRuntimeBackend(model, threads=threads)
            _log.info("backend %s: ONNX Runtime with %s", name, backend.artefacts)
            return backend
        except (ImportError, RuntimeError) as exc:
            if name == "onnxruntime":
                raise BackendUnavailable(f"ONNX Runtime backend unavailable: {exc}") from exc
            _log.warning("backend auto: ONNX Runtime unavailable (%s); using PyTorch", exc)
    from emotion_ros.runtime.torch_backend import TorchBackend

    return TorchBackend(model, threads=threads)
