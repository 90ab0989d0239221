"""Choosing and building a backend by name."""

from __future__ import annotations

import logging

from emotion_ros.runtime.backend import Backend

_log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch")


class BackendUnavailable(RuntimeError):
    pass


def create_backend(name: str, model: str, threads: int = 0) -> Backend:
    """Build the named backend. "auto" takes the fastest one available here and says which."""
    if name not in BACKENDS:
        raise BackendUnavailable(f"unknown backend {name!r} (available: {', '.join(BACKENDS)})")
    from emotion_ros.runtime.torch_backend import TorchBackend

    backend = TorchBackend(model, threads=threads)
    if name == "auto":
        _log.info("backend auto: using torch (no exported ONNX/TensorRT artefacts for %s)", backend.model_id)
    return backend
