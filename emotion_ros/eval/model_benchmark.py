"""Forward-time and size benchmark of a model preset on this machine (JSON report).

Times are medians over repeated runs after warm-up, single process; compare numbers as
ratios taken in one run, since shared machines are noisy.
"""

from __future__ import annotations

import statistics
import time

import torch

from emotion_ros.model.config import load_preset
from emotion_ros.model.generation import GenerationConfig, generate
from emotion_ros.model.network import build_network, parameter_count


def _median_seconds(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


@torch.no_grad()
def benchmark_model(preset: str = "tiny", repeats: int = 10, threads: int | None = None, new_frames: int | None = None,
                    height: int = 480, width: int = 640, tokens: int = 32) -> dict:
    """Parameter counts, full-window and per-stride forward times, and decoding speed (eager torch, CPU)."""
    if threads:
        torch.set_num_threads(threads)
    config = load_preset(preset)
    network = build_network(config).eval()
    t = config.window_frames
    new_frames = new_frames or max(1, t // 4)  # a 0.5 s stride over a 2 s window
    frames = torch.randint(0, 256, (1, t, height, width, 3), dtype=torch.uint8)
    audio = 0.1 * torch.randn(1, config.audio_samples)
    present = torch.tensor([True])
    features = network.frame_views(frames[0])[None]  # (1, T, 4, D)

    def full_window():
        network.forward_window(frames, audio, present, present)

    def incremental_stride():
        # Only the stride's new frames are encoded; the others come from the per-frame cache.
        fresh = network.frame_views(frames[0, :new_frames])
        cached = torch.cat([features[0, new_frames:], fresh])[None]
        network(cached, frames[:, -1], audio, present, present)

    output = network(features, frames[:, -1], audio, present, present)
    prompt = output.prefix
    decode_config = GenerationConfig(max_new_tokens=tokens)
    decode = _median_seconds(lambda: generate(network.llm, prompt, output.prefix_mask, decode_config), max(3, repeats // 3), 1)
    parts = {
        "temporal_view": network.temporal_view, "global_view": network.global_view, "audio_encoder": network.audio_encoder,
        "conv_pro_module": network.conv_pro_module, "projections": [network.llama_proj, network.llama_proj_video,
        network.llama_proj_audio, network.llama_proj_fusion, *([network.llama_proj_text] if config.text else [])],
        "perception_head": network.perception_head, "llm": network.llm,
    }
    counts = {name: sum(parameter_count(m) for m in (part if isinstance(part, list) else [part])) for name, part in parts.items()}
    full = _median_seconds(full_window, repeats)
    stride = _median_seconds(incremental_stride, repeats)
    return {
        "preset": preset,
        "torch_threads": torch.get_num_threads(),
        "input": {"frames": t, "frame_size": [height, width], "audio_seconds": config.window, "new_frames_per_stride": new_frames},
        "parameters": {"total": parameter_count(network), **counts},
        "full_window_ms": round(full * 1000, 2),
        "incremental_stride_ms": round(stride * 1000, 2),
        "incremental_speedup": round(full / stride, 2),
        "explanation": {"prefix_tokens": int(prompt.shape[1]), "new_tokens": tokens, "seconds": round(decode, 3),
                        "tokens_per_second": round(tokens / decode, 1)},
    }
