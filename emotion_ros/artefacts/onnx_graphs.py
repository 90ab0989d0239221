"""The network as ONNX graphs split where a runtime needs the pieces.

  frame_encoder    frames (N, H, W, 3) uint8 -> features (N, 4, D): per frame, so a runtime
                   caches features by frame stamp and encodes only new frames; a face
                   reader's are face tokens (N, SLOTS, 12), with their keypoints (N, SLOTS, 6, 2)
                   and embeddings (N, SLOTS, 128); a face reader takes frames of its frame
                   size, S = H = W (see _frames_axes)
  face_reader      (face readers only) frames (N, S, S, 3) uint8 + boxes (N, M, 4) + keypoints
                   (N, M, 6, 2) -> expression logits (N, M, 7) and embeddings (N, M, 128):
                   faces read where a runtime follows them between detections, without the
                   detector
  window           cached features (one view per person) + global frame + audio + presence
                   flags -> label logits, valence/arousal, and the LLM prefix with its mask,
                   per person
  token_embedding  token ids (1, N) -> embeddings (1, N, D_llm)
  llm_step         embeddings (1, L, D) + key mask + past keys/values of every layer ->
                   next-token logits of the last position + present keys/values (prefill
                   with an empty past, decoding with L = 1)
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from emotion_ros.model.config import ModelConfig
from emotion_ros.model.network import EmotionNetwork
from emotion_ros.model.text_cues import text_cues

OPSET = 17


# Every graph takes and returns float32 (and uint8/bool/int64) tensors whatever precision
# the weights have, so runtimes feed all precisions alike; only the KV cache of llm_step is
# kept in the weights' precision, since it stays inside the runtime between steps.


def reads_faces(config: ModelConfig) -> bool:
    return config.video.temporal.type == "face_reader"


def graphs_for(config: ModelConfig, wanted=None) -> tuple[str, ...]:
    """The graphs a model has (of ``wanted``, default all): face_reader only for a face reader."""
    return tuple(name for name in (wanted or GRAPHS) if name != "face_reader" or reads_faces(config))


def _dtype(network: EmotionNetwork) -> torch.dtype:
    return network.llama_proj.weight.dtype


FRAME_GRAPHS = ("frame_encoder", "face_reader")  # they run the temporal view's frame encoder only


def graph_precision(network: EmotionNetwork, name: str) -> str:
    """"fp16" or "fp32": the precision of the weights graph ``name`` runs (a float16 export may
    keep the frame encoder in float32, see export/exporter.py)."""
    weights = network.temporal_view.encoder if name in FRAME_GRAPHS else network.llama_proj
    return "fp16" if any(p.dtype == torch.float16 for p in weights.parameters()) else "fp32"


class FrameEncoderGraph(nn.Module):
    def __init__(self, network: EmotionNetwork):
        super().__init__()
        self.network = network

    def forward(self, frames: torch.Tensor):
        if reads_faces(self.network.config):
            return tuple(t.float() for t in self.network.locate_faces(frames))
        return self.network.encode_frames(frames).float()


class FaceReaderGraph(nn.Module):
    def __init__(self, network: EmotionNetwork):
        super().__init__()
        self.network = network

    def forward(self, frames: torch.Tensor, boxes: torch.Tensor, keypoints: torch.Tensor):
        return tuple(t.float() for t in self.network.read_faces(frames, boxes, keypoints))


class WindowGraph(nn.Module):
    def __init__(self, network: EmotionNetwork):
        super().__init__()
        self.network = network

    def forward(self, frame_features, global_frame, audio, video_present, audio_present, audio_mask, text=None):
        out = self.network(frame_features.to(_dtype(self.network)), global_frame, audio, video_present, audio_present,
                           audio_mask, text)
        return out.logits.float(), out.valence_arousal.float(), out.prefix.float(), out.prefix_mask, out.speech.float()


class TokenEmbeddingGraph(nn.Module):
    def __init__(self, network: EmotionNetwork):
        super().__init__()
        self.embed_tokens = network.llm.model.embed_tokens

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        return self.embed_tokens(token_ids).float()


class LlmStepGraph(nn.Module):
    def __init__(self, network: EmotionNetwork):
        super().__init__()
        self.llm = network.llm
        self.dtype = _dtype(network)

    def forward(self, inputs_embeds, key_mask, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
        logits, present = self.llm(inputs_embeds.to(self.dtype), key_mask, past)
        return (logits[:, -1].float(), *[t for kv in present for t in kv])


def _export(module: nn.Module, args: tuple, path, inputs: list[str], outputs: list[str], dynamic: dict) -> None:
    module.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter announces its deprecation
        torch.onnx.export(
            module, args, str(path), input_names=inputs, output_names=outputs, dynamic_axes=dynamic,
            opset_version=OPSET, dynamo=False, do_constant_folding=True,
        )


def _frames_axes(config: ModelConfig, count: int) -> tuple[torch.Tensor, dict[int, str]]:
    """Example frames to trace with, and their dynamic axes. A face reader's graphs take frames
    of the model's frame size only (as the node letterboxes them): its detectors' pooling and
    letterbox are fixed by the traced size, and frames already that size are not resized. Other
    encoders resize any frame to their input, so height and width stay dynamic."""
    if reads_faces(config):
        side = config.video.frame_size
        return torch.zeros(count, side, side, 3, dtype=torch.uint8), {0: "frames"}
    return torch.zeros(count, 96, 128, 3, dtype=torch.uint8), {0: "frames", 1: "height", 2: "width"}


def export_frame_encoder(network: EmotionNetwork, path) -> None:
    frames, frame_axes = _frames_axes(network.config, 2)
    outputs, dynamic = ["features"], {"frames": frame_axes, "features": {0: "frames"}}
    if reads_faces(network.config):
        outputs += ["keypoints", "embeddings"]
        dynamic.update(keypoints={0: "frames"}, embeddings={0: "frames"})
    _export(FrameEncoderGraph(network), (frames,), path, ["frames"], outputs, dynamic)


def export_face_reader(network: EmotionNetwork, path) -> None:
    boxes = torch.tensor([[[0.2, 0.2, 0.5, 0.6], [0.5, 0.3, 0.8, 0.7]]])  # example values only: M is dynamic
    frames, frame_axes = _frames_axes(network.config, 1)
    args = (frames, boxes, boxes[..., None, :2].expand(1, 2, 6, 2) + 0.05)
    _export(FaceReaderGraph(network), args, path, ["frames", "boxes", "keypoints"], ["expression", "embeddings"],
            {"frames": frame_axes, "boxes": {0: "frames", 1: "faces"},
             "keypoints": {0: "frames", 1: "faces"}, "expression": {0: "frames", 1: "faces"},
             "embeddings": {0: "frames", 1: "faces"}})


def export_window(network: EmotionNetwork, path) -> None:
    config = network.config
    args = (
        torch.zeros(1, config.window_frames, 4, network.temporal_view.dim),  # float32 in every precision
        torch.zeros(1, 96, 128, 3, dtype=torch.uint8),
        torch.zeros(1, config.audio_samples),
        torch.tensor([True]),
        torch.tensor([True]),
        torch.ones(1, config.audio_samples, dtype=torch.bool),
    )
    inputs = ["frame_features", "global_frame", "audio", "video_present", "audio_present", "audio_mask"]
    if config.text is not None:  # the words' cues (model/text_cues.py), present in the example so the graph reads them
        args += (torch.from_numpy(text_cues("an example")).reshape(1, -1),)
        inputs.append("text")
    # frame_features holds one view per person (dim 0); the scene, audio, words and flags are shared.
    _export(WindowGraph(network), args, path, inputs,
            ["logits", "valence_arousal", "prefix", "prefix_mask", "speech"],
            {"frame_features": {0: "people"}, "global_frame": {1: "height", 2: "width"}, "logits": {0: "people"},
             "valence_arousal": {0: "people"}, "prefix": {0: "people"}, "prefix_mask": {0: "people"},
             "speech": {0: "people"}})


def export_token_embedding(network: EmotionNetwork, path) -> None:
    _export(TokenEmbeddingGraph(network), (torch.zeros(1, 3, dtype=torch.long),), path, ["token_ids"], ["embeds"],
            {"token_ids": {1: "tokens"}, "embeds": {1: "tokens"}})


def llm_io_names(layers: int) -> tuple[list[str], list[str]]:
    past = [f"past_{kind}_{i}" for i in range(layers) for kind in ("key", "value")]
    present = [f"present_{kind}_{i}" for i in range(layers) for kind in ("key", "value")]
    return ["inputs_embeds", "key_mask", *past], ["logits", *present]


def export_llm_step(network: EmotionNetwork, path) -> None:
    config = network.llm.config
    past_len, new = 3, 2  # example sizes only: both axes are dynamic
    past = [torch.zeros(1, config.kv_heads, past_len, config.head_dim, dtype=_dtype(network)) for _ in range(2 * config.layers)]
    args = (torch.zeros(1, new, config.dim), torch.ones(1, past_len + new, dtype=torch.bool), *past)
    inputs, outputs = llm_io_names(config.layers)
    dynamic = {"inputs_embeds": {1: "new"}, "key_mask": {1: "total"}}
    dynamic.update({name: {2: "past"} for name in inputs[2:]})
    dynamic.update({name: {2: "total"} for name in outputs[1:]})
    _export(LlmStepGraph(network), args, path, inputs, outputs, dynamic)


GRAPHS = {
    "frame_encoder": export_frame_encoder,
    "face_reader": export_face_reader,
    "window": export_window,
    "token_embedding": export_token_embedding,
    "llm_step": export_llm_step,
}
