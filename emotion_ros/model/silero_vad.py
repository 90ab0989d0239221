"""Silero VAD (v5/v6, 16 kHz) rebuilt in PyTorch, with the weights its wheel ships.

The `silero-vad` wheel (MIT) ships the network as ONNX; this module reads the 16 kHz graph's
weights with `onnx` (plain tensors, nothing is unpickled; the wheel's safetensors file holds
an older release's weights) and runs a whole window in one batched pass, so the
voice-activity probabilities are part of the exported graph:

  chunks of 512 samples (32 ms), each prefixed with the previous chunk's last 64 samples
  -> reflect-pad 64 -> STFT as a Conv1d (256-sample kernels, hop 128) -> magnitude
  -> 4 x (Conv1d + ReLU) down to one 128-d vector per chunk
  -> LSTM over the chunks (state starts at zero each window) -> ReLU -> 1x1 conv -> sigmoid.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from emotion_ros.paths import package_data_file

SAMPLE_RATE = 16000
CHUNK = 512  # samples per probability (32 ms)
CONTEXT = 64  # samples of the previous chunk each chunk sees
N_FFT, HOP = 256, 128
FREQUENCIES = N_FFT // 2 + 1
HIDDEN = 128


SILERO_SHA256 = "7ed98ddbad84ccac4cd0aeb3099049280713df825c610a8ed34543318f1b2c49"


def silero_weights_path() -> Path:
    """The 16 kHz ONNX graph inside the installed `silero-vad` package."""
    return package_data_file("silero_vad", "data/silero_vad_16k_op15.onnx", "pip install silero-vad==6.2.3",
                             SILERO_SHA256)


class SileroVad(nn.Module):
    """audio (B, S) float32 mono at 16 kHz in [-1, 1] -> (B, ceil(S / 512)) speech probability
    per 32 ms chunk (the last chunk zero-padded)."""

    def __init__(self):
        super().__init__()
        self.stft_conv = nn.Conv1d(1, 2 * FREQUENCIES, N_FFT, stride=HOP, bias=False)
        self.conv1 = nn.Conv1d(FREQUENCIES, 128, 3, padding=1)
        self.conv2 = nn.Conv1d(128, 64, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(64, 64, 3, stride=2, padding=1)
        self.conv4 = nn.Conv1d(64, HIDDEN, 3, padding=1)
        self.lstm = nn.LSTM(HIDDEN, HIDDEN, batch_first=True)
        self.final_conv = nn.Conv1d(HIDDEN, 1, 1)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        b, s = audio.shape[0], int(audio.shape[1])  # a fixed window: exported as constants
        n = -(-s // CHUNK)
        chunks = F.pad(audio, (0, n * CHUNK - s)).reshape(b, n, CHUNK)
        # each chunk prefixed with the previous one's last 64 samples (zeros for the first)
        context = F.pad(chunks[:, :-1, -CONTEXT:], (0, 0, 1, 0))
        chunks = torch.cat([context, chunks], dim=2).reshape(b * n, 1, CONTEXT + CHUNK)
        x = self.stft_conv(F.pad(chunks, (0, CONTEXT), mode="reflect"))
        x = torch.sqrt(x[:, :FREQUENCIES].square() + x[:, FREQUENCIES:].square())
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            x = torch.relu(conv(x))
        x = x.mean(dim=2).reshape(b, n, HIDDEN)  # one position left after the two stride-2 convs
        hidden, _ = self.lstm(x)
        return torch.sigmoid(self.final_conv(torch.relu(hidden).transpose(1, 2)))[:, 0]


# ONNX initializer name -> this module's parameter name
_NAMES = {
    "model.stft.forward_basis_buffer": "stft_conv.weight",
    **{f"model.encoder.{i}.reparam_conv.{kind}": f"conv{i + 1}.{kind}" for i in range(4) for kind in ("weight", "bias")},
    **{f"model.decoder.rnn.{kind}": f"lstm.{kind}_l0" for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")},
    "model.decoder.decoder.2.weight": "final_conv.weight",
    "model.decoder.decoder.2.bias": "final_conv.bias",
}


def _initializers(graph) -> dict:
    """Initializers of a graph and of its If/Loop subgraphs (the 16 kHz branch is one)."""
    import onnx
    from onnx import numpy_helper

    found = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                found.update(_initializers(attribute.g))
    return found


def load_silero_vad(path: str | Path | None = None) -> SileroVad:
    """The wheel's 16 kHz weights (torch.nn.LSTM keeps LSTMCell's gate order and names)."""
    import onnx

    try:
        found = _initializers(onnx.load(str(path or silero_weights_path())).graph)
    except Exception as exc:  # onnx raises DecodeError and others for a damaged file
        raise ValueError(f"cannot read the Silero VAD model: {exc}") from exc
    missing = sorted(set(_NAMES) - set(found))
    if missing:
        raise ValueError(f"the Silero VAD model lacks {', '.join(missing)}")
    model = SileroVad()
    model.load_state_dict({ours: torch.from_numpy(found[theirs].copy()) for theirs, ours in _NAMES.items()})
    return model.eval()
