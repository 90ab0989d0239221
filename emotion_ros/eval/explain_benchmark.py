"""Decoding speed of the language head (JSON report): ONNX Runtime's llm_step and our PyTorch
module against Hugging Face `transformers` `generate` on the same weights, the same prompts
(real windows' chat prompts, perception tokens included) and the same thread count.

Every runtime decodes exactly ``tokens`` greedy tokens (no stop token) after the same prompt, so
tokens per second compare like for like; the greedy tokens are compared too. "onnxruntime" is
the node's decoding (the int8 llm_step), "onnxruntime_fp32" the float32 export's. Times are medians
over the prompts, measured side by side in one run (shared machines are noisy: read ratios).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

import torch
from skimage import data

from emotion_ros.io.transcript import Utterance
from emotion_ros.model.config import LlamaConfig
from emotion_ros.model.generation import GenerationConfig, generate
from emotion_ros.model.llama import LlamaForCausalLM
from emotion_ros.runtime.estimator import EmotionEstimator
from emotion_ros.runtime.explainer import stated_facts, their_words
from emotion_ros.runtime.file_prediction import image_window
from emotion_ros.runtime.model_backend import ModelBackend
from emotion_ros.runtime.onnx_backend import OnnxRuntimeBackend
from emotion_ros.runtime.torch_backend import TorchBackend

# (photograph, what is said, question): real windows of the default model's kind.
PROMPTS = (("astronaut", "", ""), ("astronaut", "This is the worst day of my life.", "Why?"),
           ("coffee", "", "Is anyone there?"), ("chelsea", "Hello, nice to see you.", "How does the person feel?"),
           ("astronaut", "We won the championship last night!", "How sure are you?"))


def transformers_llama(llm: LlamaForCausalLM):
    """Hugging Face's LlamaForCausalLM with ``llm``'s configuration and weights (the names match)."""
    import transformers

    config: LlamaConfig = llm.config
    theirs = transformers.LlamaConfig(
        vocab_size=config.vocab_size, hidden_size=config.dim, intermediate_size=config.ffn_dim,
        num_hidden_layers=config.layers, num_attention_heads=config.heads, num_key_value_heads=config.kv_heads,
        rms_norm_eps=config.rms_eps, rope_theta=config.rope_theta, max_position_embeddings=config.max_positions,
        tie_word_embeddings=config.tie_embeddings, attn_implementation="eager")
    model = transformers.LlamaForCausalLM(theirs).eval()
    model.load_state_dict(llm.state_dict(), strict=False)
    return model


def _prompts(backend: ModelBackend) -> list:
    """The chat prompts of PROMPTS' windows, as the node's explainer builds them."""
    estimator = EmotionEstimator(backend)
    prompts = []
    for photo, said, question in PROMPTS:
        window = image_window(getattr(data, photo)(), backend)
        if said:
            window = replace(window, words=(Utterance(said, 0.0, backend.window),))
        estimate, contexts = estimator.estimate(window)
        prompts.append(backend.prompt(contexts.main, question, their_words(estimate), stated_facts(estimate, None)))
    return prompts


@torch.inference_mode()
def benchmark_explanations(model: str = "tiny", threads: int = 2, tokens: int = 40) -> dict:
    """Tokens per second and seconds per ``tokens``-token explanation of each runtime."""
    torch.set_num_threads(threads)
    reference = TorchBackend(model, threads=threads)
    exported = OnnxRuntimeBackend.for_model(model, threads=threads)
    prompts = _prompts(reference)
    theirs = transformers_llama(reference.network.llm)
    config = GenerationConfig(max_new_tokens=tokens)  # no stop token: every runtime decodes ``tokens``

    def ours(backend: ModelBackend):
        return lambda prompt: generate(backend._stepper(), prompt.embeds, prompt.mask, config).tokens

    def transformers_generate(prompt):
        # our positions count masked prompt slots (llama.py); transformers' default counts only
        # unmasked ones (attention_mask.cumsum), so it is given ours
        positions = torch.arange(prompt.embeds.shape[1])[None]
        out = theirs.generate(inputs_embeds=prompt.embeds, attention_mask=prompt.mask.long(), position_ids=positions,
                              max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False, num_beams=1, pad_token_id=0)
        return out[0, -tokens:].tolist()

    float32 = OnnxRuntimeBackend.from_directory(exported.artefacts, threads=threads, llm_int8=False)
    runtimes = {"onnxruntime": ours(exported), "onnxruntime_fp32": ours(float32), "torch": ours(reference),
                "transformers": transformers_generate}
    results, greedy = {}, {}
    for name, run in runtimes.items():
        run(prompts[0])  # warm-up
        seconds = []
        for prompt in prompts:
            start = time.perf_counter()
            greedy.setdefault(name, []).append(run(prompt))
            seconds.append(time.perf_counter() - start)
        median = statistics.median(seconds)
        results[name] = {"seconds_p50": round(median, 3), "tokens_per_second": round(tokens / median, 1)}
    base = results["transformers"]["tokens_per_second"]
    return {
        "model_id": reference.model_id,
        "threads": threads,
        "new_tokens": tokens,
        "prompts": len(prompts),
        "prompt_tokens": [int(p.embeds.shape[1]) for p in prompts],
        "runtimes": results,
        "speedup_over_transformers": {name: round(r["tokens_per_second"] / base, 2) for name, r in results.items()},
        "greedy_tokens_equal_torch": {name: greedy[name] == greedy["torch"] for name in greedy},
    }
