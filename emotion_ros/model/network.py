"""The whole network: video, audio (and text) views, Conv-Attention fusion, perception and LLaMA heads.

Names of the fusion module and the four projections into the LLM match Emotion-LLaMAv2
(conv_pro_module, llama_proj, llama_proj_video, llama_proj_audio, llama_proj_fusion). A preset
with a text view (config.text) adds the words as a fourth fusion modality and one LLM token
(llama_proj_text); without one the network is the published three-modality one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from emotion_ros.model.audio import build_audio_encoder
from emotion_ros.model.config import ModelConfig
from emotion_ros.model.face_encoder import largest_face_view
from emotion_ros.model.fusion import ConvProAttention
from emotion_ros.model.llama import LlamaForCausalLM
from emotion_ros.model.perception import PerceptionHead
from emotion_ros.model.text_cues import TEXT_CUES
from emotion_ros.model.video import GlobalView, TemporalView
from emotion_ros.model.voice_cues import CUES

# Modality order of the fusion inputs (the published one, then text) and of `present` masks.
AUDIO, IMAGE, VIDEO, TEXT = 0, 1, 2, 3


@dataclass
class NetworkOutput:
    """logits (B, labels); valence_arousal (B, 2) in [-1, 1]; fused (B, K, C) fusion tokens;
    prefix (B, K + G + K + K [+ 1], D_llm) LLM tokens [fusion | image | video | audio | text, with
    a text view] and prefix_mask (B, same) bool, False where a modality is missing; speech (B,): the share of
    the window's received audio that the in-graph voice-activity detector hears as speech
    (0 without audio), or -1 for an audio view without one."""

    logits: torch.Tensor
    valence_arousal: torch.Tensor
    fused: torch.Tensor
    prefix: torch.Tensor
    prefix_mask: torch.Tensor
    speech: torch.Tensor | None = None

    @property
    def probabilities(self) -> torch.Tensor:
        return torch.softmax(self.logits, dim=-1)


class EmotionNetwork(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.temporal_view = TemporalView(config.video.temporal)
        self.global_view = GlobalView(config.video.global_view, config.video.vision_norm_eps)
        self.audio_encoder = build_audio_encoder(config.audio, config.audio_samples, config.tokens)
        dims = (self.audio_encoder.dim, self.global_view.dim, self.temporal_view.dim)
        if config.text is not None:
            dims += (config.text.dim,)
        self.conv_pro_module = ConvProAttention(dims, config.fusion)
        llm_dim = config.llm.dim
        self.llama_proj = nn.Linear(4 * self.global_view.dim, llm_dim)
        self.llama_proj_video = nn.Linear(self.temporal_view.dim, llm_dim)
        self.llama_proj_audio = nn.Linear(self.audio_encoder.dim, llm_dim)
        self.llama_proj_fusion = nn.Linear(config.fusion.out_dim, llm_dim)
        if config.text is not None:
            self.llama_proj_text = nn.Linear(config.text.dim, llm_dim)
        self.perception_head = PerceptionHead(
            config.fusion.out_dim, config.perception.hidden, len(config.labels), config.perception.dropout
        )
        self.llm = LlamaForCausalLM(config.llm)

    # -- the parts a runtime calls separately (per-frame features are cacheable) -------------
    def encode_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (N, H, W, 3) uint8 RGB -> (N, 4, D_t) per-frame temporal features."""
        return self.temporal_view.encode_frames(frames)

    def locate_faces(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A face reader's frames (N, H, W, 3) uint8 -> (N, SLOTS, 12) face tokens, their
        (N, SLOTS, 6, 2) keypoints and (N, SLOTS, 128) embeddings (face_encoder.py)."""
        return self.temporal_view.locate_faces(frames)

    def read_faces(self, frames: torch.Tensor, boxes: torch.Tensor, keypoints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A face reader's frames (N, H, W, 3) uint8 with faces at boxes (N, M, 4) and keypoints
        (N, M, 6, 2) -> ((N, M, 7) expression logits, (N, M, 128) embeddings), without finding faces."""
        return self.temporal_view.read_faces(frames, boxes, keypoints)

    def forward(
        self,
        frame_features: torch.Tensor,
        global_frame: torch.Tensor,
        audio: torch.Tensor,
        video_present: torch.Tensor,
        audio_present: torch.Tensor,
        audio_mask: torch.Tensor | None = None,
        text: torch.Tensor | None = None,
    ) -> NetworkOutput:
        """One window, or several people's views of one window.

        frame_features (B, T_read, 4, D_t) from encode_frames (T_read = config.window_frames,
        pooled in time to num_frames steps; a face reader's are people's views, see
        face_encoder.person_tokens); global_frame (B, H, W, 3) uint8, the frame seen by the
        global view; audio (B, S) float32 mono at the preset's rate; video_present,
        audio_present (B,) bool; audio_mask (B, S) bool, True where a sample was received (None:
        all); text (B, TEXT_DIM) float32 text cues of the words said (text_cues.py; None or
        present 0: no words), read by a preset with a text view. With one global frame, audio,
        text and flags (batch 1) and B people, the scene, the voice and the words are encoded
        once and shared. A missing modality is masked in the fusion and in the LLM prefix,
        whatever values stand in for it.
        """
        people = frame_features.shape[0]
        cls, image_tokens = self.global_view(global_frame)
        audio_tokens = self.audio_encoder(audio, audio_mask)
        if global_frame.shape[0] == 1:  # shared by every person of the window (a no-op for one)
            cls, image_tokens = cls.expand(people, -1), image_tokens.expand(people, -1, -1)
            audio_tokens = audio_tokens.expand(people, -1, -1)
            video_present, audio_present = video_present.expand(people), audio_present.expand(people)
        steps = self.temporal_view.pool_in_time(frame_features, self.config.num_frames)
        if text is not None and text.shape[0] == 1:
            text = text.expand(people, -1)
        return self.fuse(TemporalView.tokens(steps), cls, image_tokens, audio_tokens, video_present, audio_present, text)

    def fuse(
        self,
        video_tokens: torch.Tensor,
        cls: torch.Tensor,
        image_tokens: torch.Tensor,
        audio_tokens: torch.Tensor,
        video_present: torch.Tensor,
        audio_present: torch.Tensor,
        text: torch.Tensor | None = None,
    ) -> NetworkOutput:
        """The network after its encoders (what a head is trained on when the encoders are frozen).

        video_tokens (B, K, D_t); cls (B, D_g) and image_tokens (B, G, 4 D_g) from the global
        view; audio_tokens (B, K, D_a); video_present, audio_present (B,) bool; text (B,
        TEXT_DIM) text cues, read by a text view (present: its first cue; None: nothing said).
        """
        k = self.config.tokens
        cls_tokens = cls[:, None].expand(-1, k, -1)
        inputs, flags = [audio_tokens, cls_tokens, video_tokens], [audio_present, video_present, video_present]
        if self.config.text is not None:
            if text is None:  # nothing said
                text = torch.zeros(video_tokens.shape[0], self.config.text.dim, device=video_tokens.device)
            text = text.to(self.llama_proj_text.weight.dtype)
            text_present = text[:, TEXT_CUES.index("present")] > 0.5
            inputs.append(text[:, None].expand(-1, k, -1))  # window-level cues on every token, as the voice's
            flags.append(text_present)
        fused = self.conv_pro_module(inputs, torch.stack(flags, dim=1))
        logits, valence_arousal = self.perception_head(fused)
        tokens = [self.llama_proj_fusion(fused), self.llama_proj(image_tokens), self.llama_proj_video(video_tokens),
                  self.llama_proj_audio(audio_tokens)]
        b, g = fused.shape[0], image_tokens.shape[1]
        masks = [torch.ones(b, k, dtype=torch.bool, device=fused.device), video_present[:, None].expand(b, g),
                 video_present[:, None].expand(b, k), audio_present[:, None].expand(b, k)]
        if self.config.text is not None:
            tokens.append(self.llama_proj_text(text)[:, None])
            masks.append(text_present[:, None])
        prefix, prefix_mask = torch.cat(tokens, dim=1), torch.cat(masks, dim=1)
        return NetworkOutput(logits, valence_arousal, fused, prefix, prefix_mask, self.speech(audio_tokens, audio_present))

    def speech(self, audio_tokens: torch.Tensor, audio_present: torch.Tensor) -> torch.Tensor:
        """(B,) the voice cues' speech fraction (NetworkOutput.speech), -1 without voice cues."""
        if self.config.audio.type != "voice_cues":
            return torch.full(audio_present.shape, -1.0, device=audio_tokens.device)
        return audio_tokens[:, 0, CUES.index("speech_fraction")].float() * audio_present

    def forward_window(self, frames: torch.Tensor, audio: torch.Tensor, video_present, audio_present,
                       text: torch.Tensor | None = None) -> NetworkOutput:
        """Convenience: frames (B, T, H, W, 3) uint8; the newest frame is the global view; text
        (B, TEXT_DIM) as forward. A face reader reads the largest face of each frame (the
        runtime follows people instead)."""
        b, t = frames.shape[:2]
        features = self.frame_views(frames.reshape(b * t, *frames.shape[2:]))
        features = features.reshape(b, t, *features.shape[1:])
        return self.forward(features, frames[:, -1], audio, video_present, audio_present, text=text)

    def frame_views(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (N, H, W, 3) uint8 -> (N, 4, D) temporal-view tokens per frame, as forward takes
        them: the encoded frame, or for a face reader its largest face (nobody followed)."""
        features = self.encode_frames(frames)
        return largest_face_view(features) if self.config.video.temporal.type == "face_reader" else features


def build_network(config: ModelConfig, device: str | torch.device = "cpu") -> EmotionNetwork:
    """Build on ``device``; "meta" builds the architecture without allocating any weights."""
    with torch.device(device):
        return EmotionNetwork(config)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
