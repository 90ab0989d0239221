"""The voice-cue audio view: is the person speaking, how loudly, at what pitch, how lively.

An alternative to the Whisper-style encoder for small models. It has no trained weights of
its own: Silero VAD (silero_vad.py) gives the speech probability, and signal processing
gives the rest, per 32 ms chunk of the window:

- loudness: RMS level in dBFS;
- voicing and pitch: the peak of the normalised autocorrelation (Boersma's window
  correction) between 2.5 and 20 ms lags, i.e. F0 in 50-400 Hz, computed from the power
  spectrum with fixed DFT matrices (every exporter knows matmul);

then, over the whole window, weighted by the speech probability: the fraction of speech, the
loudness of speech, and the spread of pitch and loudness (intonation and emphasis, the
prosodic cues of arousal). Chunk values are pooled to K tokens; window values are repeated
on every token. Each cue is scaled to about [-2, 2] (see CUE_SCALES).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from emotion_ros.model.config import AudioConfig
from emotion_ros.model.pooling import adaptive_pool_matrix
from emotion_ros.model.silero_vad import CHUNK, SAMPLE_RATE, SileroVad

CUES = ("speech", "loudness", "voicing", "pitch", "speech_fraction", "speech_loudness", "pitch_spread", "loudness_spread")
DFT_SIZE = 2 * CHUNK  # zero-padded to twice the frame: the autocorrelation does not wrap around
MIN_F0, MAX_F0 = 50.0, 400.0  # [Hz]
LAGS = range(round(SAMPLE_RATE / MAX_F0), round(SAMPLE_RATE / MIN_F0) + 1)  # [samples]
REFERENCE_F0 = 150.0  # [Hz] pitch is log2(F0 / 150), in octaves
FLOOR_DB = -80.0  # [dBFS] digital silence reads as this
LOUDNESS_CENTRE, LOUDNESS_SCALE = -40.0, 20.0  # dBFS -> (dB + 40) / 20, so -80..0 dBFS -> -2..2
SEMITONES_SCALE, SPREAD_DB_SCALE = 6.0, 10.0  # pitch spread / 6 semitones, loudness spread / 10 dB
OCTAVE_COST = 0.05  # per octave of lag, favours F0 over its subharmonics (as Praat's octave cost)
MIN_SPEECH_CHUNKS = 8.0  # ~0.25 s: spreads over less speech than this are scaled down
# The person is speaking when Silero VAD hears speech in this share of the window's received
# audio (the speech_fraction cue): the one rule behind `speaking` in states and in explanations.
SPEAKING_FRACTION = 0.3


def loudness_to_db(loudness: torch.Tensor) -> torch.Tensor:
    """Inverse of the loudness scaling: cue value -> dBFS."""
    return loudness * LOUDNESS_SCALE + LOUDNESS_CENTRE


class VoiceCueEncoder(nn.Module):
    """audio (B, S) float32 mono at 16 kHz, mask (B, S) bool (True where a sample was received;
    None: all) -> (B, K, 8) cue tokens, in CUES order.

    Chunks with fewer than half their samples received are left out of every cue: the window
    values are over the received audio only, and a token pools only received chunks (a token
    with none reads 0), so a gap is never heard as silence."""

    def __init__(self, config: AudioConfig, samples: int, tokens: int):
        super().__init__()
        if config.sample_rate != SAMPLE_RATE:
            raise ValueError(f"voice cues need {SAMPLE_RATE} Hz audio, the preset says {config.sample_rate}")
        self.dim = len(CUES)
        self.vad = SileroVad()
        chunks = -(-samples // CHUNK)
        self.register_buffer("pool", adaptive_pool_matrix(chunks, tokens), persistent=False)  # (K, N)
        window = torch.hann_window(CHUNK, periodic=False, dtype=torch.float64)
        n = torch.arange(CHUNK, dtype=torch.float64)
        k = torch.arange(DFT_SIZE // 2 + 1, dtype=torch.float64)
        angle = 2 * math.pi * n[:, None] * k[None] / DFT_SIZE
        self.register_buffer("dft_cos", (window[:, None] * torch.cos(angle)).float(), persistent=False)  # (512, 513)
        self.register_buffer("dft_sin", (window[:, None] * torch.sin(angle)).float(), persistent=False)
        lags = torch.arange(LAGS.start, LAGS.stop, dtype=torch.float64)
        # r(lag) = sum_k c_k P_k cos(2 pi k lag / N) / N, c_k = 2 except at DC and Nyquist
        weights = torch.full((k.numel(),), 2.0, dtype=torch.float64)
        weights[0] = weights[-1] = 1.0
        inverse = weights[:, None] * torch.cos(2 * math.pi * k[:, None] * torch.cat([torch.zeros(1), lags])[None] / DFT_SIZE)
        self.register_buffer("inverse", (inverse / DFT_SIZE).float(), persistent=False)  # (513, 1 + lags)
        window_acf = torch.stack([(window[: CHUNK - t] * window[t:]).sum() for t in LAGS]) / window.square().sum()
        self.register_buffer("window_acf", window_acf.float(), persistent=False)
        self.register_buffer("lags", lags.float(), persistent=False)
        self.register_buffer("octave_cost", (OCTAVE_COST * torch.log2(lags / lags[0])).float(), persistent=False)

    def chunk_cues(self, audio: torch.Tensor) -> torch.Tensor:
        """audio (B, S) -> (B, N, 4) float32: speech probability, loudness, voicing, pitch per chunk.

        Signal processing stays in float32 in a half-precision network (a -80 dB floor and
        autocorrelation ratios underflow in float16); only the VAD runs in the network's dtype.
        """
        b, s = audio.shape[0], int(audio.shape[1])
        speech = self.vad(audio.to(self.vad.final_conv.weight.dtype)).float()  # (B, N)
        audio = audio.float()
        n = speech.shape[1]
        frames = torch.nn.functional.pad(audio, (0, n * CHUNK - s)).reshape(b, n, CHUNK)
        power = frames.square().mean(dim=2)
        db = 10 * torch.log10(power + 10 ** (FLOOR_DB / 10))
        spectrum = (frames @ self.dft_cos.float()).square() + (frames @ self.dft_sin.float()).square()  # (B, N, 513)
        acf = spectrum @ self.inverse.float()  # (B, N, 1 + lags)
        normalised = acf[..., 1:] / acf[..., :1].clamp_min(1e-12) / self.window_acf.float()
        best = (normalised - self.octave_cost.float()).argmax(dim=2)
        voicing = normalised.gather(2, best[..., None])[..., 0].clamp(0.0, 1.0)
        pitch = torch.log2(SAMPLE_RATE / self.lags.float()[best] / REFERENCE_F0) * voicing  # unvoiced chunks read as 150 Hz
        loudness = (db - LOUDNESS_CENTRE) / LOUDNESS_SCALE
        return torch.stack([speech, loudness, voicing, pitch], dim=2)

    def received_chunks(self, mask: torch.Tensor | None, audio: torch.Tensor, chunks: int) -> torch.Tensor:
        """(B, N) float: 1 for chunks with at least half their samples received, else 0."""
        if mask is None:
            return torch.ones(audio.shape[0], chunks, dtype=torch.float32, device=audio.device)
        padded = torch.nn.functional.pad(mask.float(), (0, chunks * CHUNK - int(mask.shape[1])))
        return (padded.reshape(mask.shape[0], chunks, CHUNK).mean(dim=2) >= 0.5).float()

    def forward(self, audio: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        cues = self.chunk_cues(audio)
        received = self.received_chunks(mask, audio, cues.shape[1])  # (B, N)
        cues = cues * received[..., None]
        speech, loudness, voicing, pitch = cues.unbind(dim=2)
        fraction = speech.sum(dim=1, keepdim=True) / received.sum(dim=1, keepdim=True).clamp_min(1.0)  # (B, 1)

        def weighted_mean_std(values: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            total = weights.sum(dim=1, keepdim=True) + 1e-6
            mean = (values * weights).sum(dim=1, keepdim=True) / total
            var = ((values - mean).square() * weights).sum(dim=1, keepdim=True) / total
            return mean, var.clamp_min(0.0).sqrt()

        speech_loudness, loudness_spread = weighted_mean_std(loudness, speech)
        _, pitch_spread = weighted_mean_std(pitch, speech * voicing)
        enough = (speech.sum(dim=1, keepdim=True) / MIN_SPEECH_CHUNKS).clamp(max=1.0)
        pitch_spread, loudness_spread = pitch_spread * enough, loudness_spread * enough
        window = torch.cat(
            [fraction, speech_loudness, pitch_spread * 12 / SEMITONES_SCALE, loudness_spread * LOUDNESS_SCALE / SPREAD_DB_SCALE],
            dim=1,
        )  # (B, 4)
        weights = self.pool.float()[None] * received[:, None]  # (B, K, N): each token pools its received chunks
        weights = weights / weights.sum(dim=2, keepdim=True).clamp_min(1e-6)
        tokens = torch.einsum("bkn,bnc->bkc", weights, cues)  # (B, K, 4)
        out = torch.cat([tokens, window[:, None].expand(-1, tokens.shape[1], -1)], dim=2)
        return out.to(self.vad.final_conv.weight.dtype)
