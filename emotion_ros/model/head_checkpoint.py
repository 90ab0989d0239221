"""A language head's saved parts: the projections of the perception tokens into a base language
model's embeddings, and LoRA adapters on that base (model/lora.py), in one safetensors file.

The base model's own weights are never in the file: it names the base by sha256, and loading
reads the base (model/gguf_llama.py), merges the adapters into a copy of it and puts the
projections on the network, which then has the plain architecture (its llm is the base's).
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path

from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from emotion_ros.model.checkpoint import CheckpointError
from emotion_ros.model.llama import LlamaForCausalLM
from emotion_ros.model.lora import LoraSettings, adapter_state, add_lora, load_adapter_state, merged_network
from emotion_ros.model.network import EmotionNetwork, build_network

HEAD_FILE = "language_head.safetensors"
PROJECTIONS = ("llama_proj", "llama_proj_video", "llama_proj_audio", "llama_proj_fusion", "llama_proj_text")
ADAPTER_PREFIX = "base_model.model."  # PEFT's names of the adapters' tensors start so


def perception_fingerprint(network: EmotionNetwork) -> str:
    """sha256 over the names and bytes of every tensor but the language model's and the
    projections': the perception (encoders, fusion, perception head) a head was trained on."""
    digest = hashlib.sha256()
    for name, tensor in sorted(network.state_dict().items()):
        if not name.startswith(("llm.", *PROJECTIONS)):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def head_metadata(directory: str | Path) -> dict[str, str]:
    """The metadata of ``directory``/HEAD_FILE (CheckpointError if it is not a language head)."""
    path = Path(directory) / HEAD_FILE
    try:
        with safe_open(str(path), "pt") as handle:
            return handle.metadata() or {}
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{path} is not a language head: {exc}") from exc


def head_network(perception: EmotionNetwork, llm: LlamaForCausalLM) -> EmotionNetwork:
    """``perception``'s encoders, fusion and perception head with ``llm`` as the language model,
    and freshly initialised projections into its embedding space."""
    network = build_network(replace(perception.config, llm=llm.config))
    own = {name: t for name, t in perception.state_dict().items() if not name.startswith(("llm.", *PROJECTIONS))}
    network.load_state_dict(own, strict=False)
    network.llm = copy.deepcopy(llm)  # adapters are injected and merged in place: the base stays as read
    return network.requires_grad_(False).eval()


def save_head_parts(network: EmotionNetwork, peft, settings: LoraSettings, base_sha256: str, path: str | Path,
                    metadata: dict[str, str] | None = None) -> Path:
    """Write ``network``'s projections and ``peft``'s adapters (add_lora's wrapper) to ``path``,
    with the base's sha256, the LoRA settings and the perception's fingerprint."""
    parts = {**{name: t.detach().contiguous() for name, t in network.state_dict().items() if name.startswith(PROJECTIONS)},
             **adapter_state(peft)}
    save_file(parts, str(path), metadata={"base_sha256": base_sha256, "lora": json.dumps(asdict(settings)),
                                          "perception": perception_fingerprint(network), **(metadata or {})})
    return Path(path)


def load_head_parts(perception: EmotionNetwork, base: LlamaForCausalLM, base_sha256: str,
                    directory: str | Path) -> EmotionNetwork:
    """``perception`` with ``base`` (whose file has ``base_sha256``), the adapters of
    ``directory``/HEAD_FILE merged into it, and that file's projections. CheckpointError for a
    file that is not a head, or one trained on another base."""
    path = Path(directory) / HEAD_FILE
    metadata = head_metadata(directory)
    try:
        parts = load_file(str(path))
        lora = json.loads(metadata["lora"])
        settings = LoraSettings(**{**lora, "targets": tuple(lora["targets"])})
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path} is not a language head: {exc}") from exc
    if metadata.get("base_sha256") != base_sha256:
        raise CheckpointError(f"{path} was trained on another base model (sha256 {metadata.get('base_sha256')})")
    network = head_network(perception, base)
    peft = add_lora(network, settings)
    try:
        load_adapter_state(peft, {name: t for name, t in parts.items() if name.startswith(ADAPTER_PREFIX)})
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    network = merged_network(peft)
    projections = {name: t for name, t in parts.items() if not name.startswith(ADAPTER_PREFIX)}
    expected = {name for name in network.state_dict() if name.startswith(PROJECTIONS)}
    if set(projections) != expected:
        raise CheckpointError(f"{path}: projections {sorted(projections)} are not the network's {sorted(expected)}")
    network.load_state_dict(projections, strict=False)
    return network.eval()
