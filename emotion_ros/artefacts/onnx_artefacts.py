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

from emotion_ros.artefacts.onnx_graphs import GRAPHS, OPSET, graph_precision, graphs_for
from emotion_ros.model.checkpoint import file_sha256, unique_state
from emotion_ros.model.config import config_from_dict
from emotion_ros.model.network import EmotionNetwork

MANIFEST = "manifest.json"
FORMAT = 5  # 3: face readers export face_reader; 4: the window graph takes audio_mask and gives speech;
# 5: a model with a text view's window graph takes text
_log = logging.getLogger(__name__)


class StaleArtefacts(RuntimeError):
    """Exported files that do not match their manifest or the weights they should hold."""


def weights_fingerprint(network: EmotionNetwork) -> str:
    """sha256 over the network's configuration and the names, shapes and bytes of every tensor.

    The configuration counts too: settings without weights (frames read per window, the face
    crop's margin) change the exported graphs.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps(network.config.to_dict(), sort_keys=True).encode())
    for name, tensor in sorted(unique_state(network).items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def graph_code_fingerprint() -> str:
    """sha256 over the source of the code the graphs are traced from (the model and these
    exporters): a cache of exported graphs is only reused by the code that wrote it."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for source in sorted([*(package / "model").glob("*.py"), *(package / "artefacts").glob("*.py")]):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def export_artefacts(
    network: EmotionNetwork,
    directory: str | Path,
    model_id: str,
    graphs: tuple[str, ...] = tuple(GRAPHS),
    simplify: bool = False,
    fingerprint: str | None = None,
    extra_files: dict[str, Path] | None = None,
    progress=None,
    llm_int8: bool = False,
) -> Path:
    """Export the graphs into ``directory`` atomically (a reader never sees a half-written set).

    simplify runs onnxslim (constant folding, dead-node and shape-op elimination) on each graph.
    fingerprint defaults to the fingerprint of ``network``; pass the float32 original's when
    exporting a converted (e.g. float16) copy. extra_files are copied in (e.g. the tokenizer).
    llm_int8 also writes a block-wise int8 copy of llm_step (the "llm_int8" variant).
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        files = {}
        for name in graphs_for(network.config, graphs):
            if progress is not None:
                progress(f"exporting {name}")
            path = staging / f"{name}.onnx"
            GRAPHS[name](network, path)
            if simplify:
                import onnxslim

                onnx.save(onnxslim.slim(str(path)), str(path))
            onnx.checker.check_model(str(path))
            files[name] = {"file": path.name, "sha256": file_sha256(path), "precision": graph_precision(network, name)}
        for name, source in (extra_files or {}).items():
            shutil.copyfile(source, staging / name)
        variants = {}
        if llm_int8 and "llm_step" in files:
            if progress is not None:
                progress("quantising llm_step to block-wise int8")
            file = quantize_llm_int8(staging)
            variants["llm_int8"] = {"llm_step": {"file": file, "sha256": file_sha256(staging / file)}}
        manifest = {
            "format": FORMAT,
            "model_id": model_id,
            "precision": "fp16" if network.llama_proj.weight.dtype == torch.float16 else "fp32",
            "weights_fingerprint": fingerprint or weights_fingerprint(network),
            "config": network.config.to_dict(),
            "opset": OPSET,
            "torch": torch.__version__,
            "graphs": files,
        }
        if variants:
            manifest["variants"] = variants
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
    try:
        graphs = graphs_for(config_from_dict(manifest["config"]), graphs)
    except (KeyError, TypeError, ValueError) as exc:
        raise StaleArtefacts(f"{path} has no usable model config: {exc}") from exc
    entries = [(name, manifest.get("graphs", {}).get(name)) for name in graphs]
    entries += [(f"{variant} {name}", entry) for variant, files in manifest.get("variants", {}).items() for name, entry in files.items()]
    for name, entry in entries:
        if entry is None:
            raise StaleArtefacts(f"{directory} has no {name} graph")
        graph = directory / entry["file"]
        if not graph.is_file():
            raise StaleArtefacts(f"{graph} is missing")
        if file_sha256(graph) != entry["sha256"]:
            raise StaleArtefacts(f"{graph} does not match its recorded sha256 (modified or corrupt)")
    return manifest


def quantize_dynamic_int8(directory: Path, graphs: tuple[str, ...]) -> dict[str, str]:
    """Dynamic int8 copies (weights int8, activations quantised at run time) of ``directory``'s
    graphs, as <name>.int8.onnx; returns graph name -> file name."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    written = {}
    quiet = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # the quantiser logs whole graphs as "advice"
    try:
        for name in graphs:
            source, target = directory / f"{name}.onnx", directory / f"{name}.int8.onnx"
            quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
            written[name] = target.name
    finally:
        logging.getLogger().setLevel(quiet)
    return written


# The language model's int8: its matrix products' weights in blocks of 32 with a scale each
# (MatMulNBits, 8 bits), activations quantised per block too (accuracy level 4: int8 dot
# products). Whole-tensor int8 (quantize_dynamic) changes many of its answers; these blocks keep
# them (`emotion-ros eval-head`, models/MODEL_CARD.md).
LLM_INT8_BLOCK = 32


def quantize_llm_int8(directory: Path, graph: str = "llm_step") -> str:
    """A block-wise int8 copy of ``directory``/<graph>.onnx as <graph>.int8.onnx; returns its file name."""
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    target = directory / f"{graph}.int8.onnx"
    quantizer = MatMulNBitsQuantizer(onnx.load(str(directory / f"{graph}.onnx")), bits=8, block_size=LLM_INT8_BLOCK,
                                     is_symmetric=True, accuracy_level=4)
    log = logging.getLogger(MatMulNBitsQuantizer.__module__)
    level = log.level
    log.setLevel(logging.WARNING)  # it logs every node it quantises
    try:
        quantizer.process()
    finally:
        log.setLevel(level)
    quantizer.model.save_model_to_file(str(target), use_external_data_format=False)
    return target.name


def add_variant(directory: str | Path, variant: str, files: dict[str, str]) -> None:
    """Record derived graphs (graph name -> file name), e.g. optimised or int8 ones, with their hashes."""
    directory = Path(directory)
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest.setdefault("variants", {})[variant] = {
        name: {"file": file, "sha256": file_sha256(directory / file)} for name, file in files.items()
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2))
