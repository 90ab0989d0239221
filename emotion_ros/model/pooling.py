"""Adaptive average pooling as a fixed matrix: exact, and exportable for any sizes."""

from __future__ import annotations

import math

import torch


def adaptive_pool_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """(n_out, n_in) averaging weights with torch.nn.AdaptiveAvgPool1d's bins.

    Bin i covers [floor(i * n_in / n_out), ceil((i + 1) * n_in / n_out)). ONNX exporters
    reject adaptive pooling when n_in is not a multiple of n_out; a matmul always exports.
    """
    weights = torch.zeros(n_out, n_in)
    for i in range(n_out):
        start, end = (i * n_in) // n_out, math.ceil((i + 1) * n_in / n_out)
        weights[i, start:end] = 1.0 / (end - start)
    return weights
