"""The audio encoder: an in-graph log-mel front end and a Whisper-style transformer.

The front end computes Whisper's log-mel spectrogram with ops every exporter knows: the
short-time Fourier transform is a strided Conv1d whose kernels are Hann-windowed cosines
and sines (no STFT op), followed by the mel filterbank as a matmul.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emotion_ros.model.config import AudioConfig
from emotion_ros.model.encoder_block import EncoderBlock
from emotion_ros.model.pooling import adaptive_pool_matrix


def _hz_to_mel(freq: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above (as librosa and Whisper)."""
    freq = np.asarray(freq, dtype=np.float64)
    mels = 3.0 * freq / 200.0
    log_region = freq >= 1000.0
    mels[log_region] = 15.0 + np.log(freq[log_region] / 1000.0) * 27.0 / np.log(6.4)
    return mels


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    mels = np.asarray(mels, dtype=np.float64)
    freq = 200.0 * mels / 3.0
    log_region = mels >= 15.0
    freq[log_region] = 1000.0 * np.exp(np.log(6.4) * (mels[log_region] - 15.0) / 27.0)
    return freq


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) Slaney-normalised triangular filters from 0 Hz to Nyquist."""
    fft_freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    mel_points = _mel_to_hz(np.linspace(_hz_to_mel(np.array([0.0]))[0], _hz_to_mel(np.array([sample_rate / 2]))[0], n_mels + 2))
    lower, centre, upper = mel_points[:-2, None], mel_points[1:-1, None], mel_points[2:, None]
    rising = (fft_freqs[None] - lower) / (centre - lower)
    falling = (upper - fft_freqs[None]) / (upper - centre)
    filters = np.maximum(0.0, np.minimum(rising, falling))
    return (filters * (2.0 / (upper - lower))).astype(np.float32)


class LogMelSpectrogram(nn.Module):
    """audio (B, S) float32 at sample_rate -> (B, n_mels, S // hop) Whisper-normalised log-mel."""

    def __init__(self, config: AudioConfig):
        super().__init__()
        self.n_fft, self.hop = config.n_fft, config.hop_length
        n = torch.arange(config.n_fft, dtype=torch.float64)
        k = torch.arange(config.n_fft // 2 + 1, dtype=torch.float64)[:, None]
        window = torch.hann_window(config.n_fft, periodic=True, dtype=torch.float64)
        angle = 2 * math.pi * k * n / config.n_fft
        kernels = torch.cat([torch.cos(angle) * window, -torch.sin(angle) * window])  # (2F, n_fft)
        self.register_buffer("dft", kernels[:, None].float(), persistent=False)
        filters = mel_filterbank(config.sample_rate, config.n_fft, config.n_mels)
        self.register_buffer("mel", torch.from_numpy(filters), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        # Always in float32, whatever the network's precision: power spectra overflow float16.
        x = F.pad(audio.float()[:, None], (self.n_fft // 2, self.n_fft // 2), mode="reflect")
        spectrum = F.conv1d(x, self.dft.float(), stride=self.hop)[..., :-1]  # Whisper drops the last frame
        real, imag = spectrum.chunk(2, dim=1)
        power = real**2 + imag**2  # (B, F, frames)
        log_mel = torch.log10(torch.clamp(self.mel.float() @ power, min=1e-10))
        peak = log_mel.amax(dim=(1, 2), keepdim=True)
        return (torch.maximum(log_mel, peak - 8.0) + 4.0) / 4.0


def sinusoids(length: int, channels: int, max_timescale: float = 10000.0) -> torch.Tensor:
    """Whisper's fixed positional embedding: (length, channels), sines then cosines."""
    increment = math.log(max_timescale) / (channels // 2 - 1)
    inv = torch.exp(-increment * torch.arange(channels // 2, dtype=torch.float32))
    scaled = torch.arange(length, dtype=torch.float32)[:, None] * inv[None]
    return torch.cat([torch.sin(scaled), torch.cos(scaled)], dim=1)


class AudioEncoder(nn.Module):
    """Whisper-style encoder: two GELU convs (the second with stride 2), fixed sinusoidal
    positions, pre-norm blocks (no bias on k), final LayerNorm; pooled to ``tokens`` tokens.

    forward(audio (B, S) float32) -> (B, tokens, dim).
    """

    def __init__(self, config: AudioConfig, num_samples: int, tokens: int):
        super().__init__()
        self.frontend = LogMelSpectrogram(config)
        self.conv1 = nn.Conv1d(config.n_mels, config.dim, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(config.dim, config.dim, kernel_size=3, stride=2, padding=1)
        positions = (num_samples // config.hop_length + 1) // 2
        self.register_buffer("embed_positions", sinusoids(config.max_positions, config.dim), persistent=False)
        self.layers = nn.ModuleList(
            EncoderBlock(config.dim, config.heads, config.mlp_dim, qkv_bias="qv", eps=1e-5) for _ in range(config.depth)
        )
        self.layer_norm = nn.LayerNorm(config.dim)
        self.register_buffer("pool", adaptive_pool_matrix(positions, tokens), persistent=False)
        self.dim = config.dim

    def forward(self, audio: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """audio (B, S); mask (B, S) bool of received samples: the log-mel encoder reads the gaps
        as silence (it was trained on whole clips), whatever values stand in them."""
        if mask is not None:
            audio = audio * mask.to(audio.dtype)
        mel = self.frontend(audio).to(self.conv1.weight.dtype)
        x = F.gelu(self.conv2(F.gelu(self.conv1(mel)))).transpose(1, 2)  # (B, positions, D)
        x = x + self.embed_positions[: x.shape[1]]
        for layer in self.layers:
            x = layer(x)
        return self.pool @ self.layer_norm(x)


def build_audio_encoder(config: AudioConfig, num_samples: int, tokens: int) -> nn.Module:
    """The preset's audio view: (B, num_samples) audio and an optional (B, num_samples) mask of
    received samples -> (B, tokens, dim); ``dim`` attribute."""
    if config.type == "voice_cues":
        from emotion_ros.model.voice_cues import VoiceCueEncoder

        return VoiceCueEncoder(config, num_samples, tokens)
    return AudioEncoder(config, num_samples, tokens)
