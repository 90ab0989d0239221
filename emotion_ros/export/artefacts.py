"""A directory of exported graphs with a manifest that ties them to the weights they came from.

manifest.json records the network's config, labels, model id, a fingerprint of the weights,
and the sha256 of every graph file. A runtime uses the directory only if every file still
has its recorded hash and the fingerprint matches the weights it was asked to run; anything
else is stale or corrupt and is rebuilt or refused, never run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import onnx
import torch

from emotion_ros.export.onnx_graphs import GRAPHS, OPSET
from emotion_ros.model.checkpoint import file_sha256, unique_state
from emotion_ros.model.network import EmotionNetwork

MANIFEST = "manifest.json"
FORMAT = 1
_log = logging.getLogger(__name__)


class StaleArtefacts(RuntimeError):
    """Exported files that do not match their manifest or the weights they should hold."""


def weights_fingerprint(network: EmotionNetwork) -> str:
    """sha256 over the names, shapes and bytes of every tensor of the network."""
    digest = hashlib.sha256()
    for name, tensor in sorted(unique_state(network).items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def export_artefacts(network: EmotionNetwork, directory: str | Path, model_id: str, graphs: tuple[str, ...] = tuple(GRAPHS)) -> Path:
    """Export the graphs into ``directory`` atomically (a reader never sees a half-written set)."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        files = {}
        for name in graphs:
            path = staging / f"{name}.onnx"
            GRAPHS[name](network, path)
            onnx.checker.check_model(str(path))
            files[name] = {"file": path.name, "sha256": file_sha256(path)}
        manifest = {
            "format": FORMAT,
            "model_id": model_id,
            "weights_fingerprint": weights_fingerprint(network),
            "config": network.config.to_dict(),
            "opset": OPSET,
            "torch": torch.__version__,
            "graphs": files,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(staging, directory)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return directory


def read_manifest(directory: str | Path, graphs: tuple[str, ...] = tuple(GRAPHS), fingerprint: str | None = None) -> dict:
    """The manifest, after checking every listed graph's hash (and the weights' fingerprint)."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise StaleArtefacts(f"{directory} has no {MANIFEST}")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise StaleArtefacts(f"{path} is not valid JSON: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise StaleArtefacts(f"{path}: format {manifest.get('format')} is not {FORMAT}")
    if fingerprint is not None and manifest.get("weights_fingerprint") != fingerprint:
        raise StaleArtefacts(f"{directory} was exported from other weights than {manifest.get('model_id')}")
    for name in graphs:
        entry = manifest.get("graphs", {}).get(name)
        if entry is None:
            raise StaleArtefacts(f"{directory} has no {name} graph")
        graph = directory / entry["file"]
        if not graph.is_file():
            raise StaleArtefacts(f"{graph} is missing")
        if file_sha256(graph) != entry["sha256"]:
            raise StaleArtefacts(f"{graph} does not match its recorded sha256 (modified or corrupt)")
    return manifest
