"""The language head decoded as the node decodes it: ONNX Runtime's llm_step, float32 or int8.

The node's ONNX Runtime backend decodes with the block-wise int8 copy of llm_step (the "llm_int8"
variant of its export). compare_decoders() holds it to the same faithfulness checks as the
PyTorch module, on the same held-out windows and questions, so int8 is only the default while
its answers keep the rates.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from emotion_ros.artefacts.onnx_artefacts import export_artefacts, read_manifest
from emotion_ros.default_model.language_head import HeadConfig, faithfulness, make_windows
from emotion_ros.model.gguf_llama import GgufLlama
from emotion_ros.model.network import EmotionNetwork
from emotion_ros.runtime.onnx_backend import LLM_GRAPHS, SIMPLIFY, OnnxStepper, cpu_session


def onnx_decoder(network: EmotionNetwork, directory: str | Path, int8: bool, threads: int = 0) -> Callable[[], OnnxStepper]:
    """Export ``network``'s language model into ``directory`` as the node's cache holds it
    (simplified, with the int8 variant) and return a maker of ONNX Runtime steppers on it."""
    directory = Path(directory)
    export_artefacts(network, directory, network.config.name, graphs=LLM_GRAPHS, simplify=SIMPLIFY, llm_int8=True)
    manifest = read_manifest(directory, graphs=LLM_GRAPHS)
    step_entry = manifest["variants"]["llm_int8"]["llm_step"] if int8 else manifest["graphs"]["llm_step"]
    step = cpu_session(directory / step_entry["file"], threads)
    embed = cpu_session(directory / manifest["graphs"]["token_embedding"]["file"], threads)
    llm = network.config.llm
    return lambda: OnnxStepper(step, embed, llm.layers, llm.kv_heads, llm.head_dim)


def compare_decoders(network: EmotionNetwork, base: GgufLlama, cfg: HeadConfig, seed: int, threads: int = 0) -> dict:
    """Faithfulness of PyTorch float32 and ONNX Runtime int8 decoding on the same fresh held-out
    windows (``seed``) and questions, and how many answers are word for word the same."""
    held_out = make_windows(network, cfg, np.random.default_rng(seed), splits=("held_out",))["held_out"]
    with tempfile.TemporaryDirectory() as scratch:
        decoders = {"torch_fp32": None, "onnxruntime_int8": onnx_decoder(network, scratch, int8=True, threads=threads)}
        measured = {name: faithfulness(network, base, held_out, cfg, np.random.default_rng(seed + 1), decoder, all_answers=True)
                    for name, decoder in decoders.items()}
    # every case's answer, in order: the failures list only some, examples only the first few
    same = [a == b for a, b in zip(*(m.pop("answers") for m in measured.values()))]
    return {"config": {"seed": seed, "held_out": cfg.held_out, "eval_cases": cfg.eval_cases,
                       "max_new_tokens": cfg.max_new_tokens, "photo_variants": cfg.photo_variants},
            "runtimes": measured, "same_answers": round(float(np.mean(same)), 4), "answers_compared": len(same)}
