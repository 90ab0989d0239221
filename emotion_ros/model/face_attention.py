"""Detector-free expression reading: a learned faceness map pools mini-Xception's expression maps.

No face detector crops the frame. The FER mini-Xception is fully convolutional, so on a whole
frame it gives an expression map (7 x h x w) and, one layer earlier, a feature map (128 x h x w).
A linear "faceness" classifier on those features, trained on real face and non-face crops
(`skimage.data.lfw_subset()`), scores every location; run at several scales (so faces of
different sizes meet the 64 px the network was trained on), its scores, softmaxed over all
locations and scales, weight the expression maps into one prediction (FerFrameEncoder,
fer_encoder.py, does that pooling).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emotion_ros.model.mini_xception import MiniXception

FEATURE_LEVEL = -2  # the last module's output: the head's input, at the expression map's resolution
TRAINING_SIZE = 64


class FacenessClassifier(nn.Module):
    """Logistic regression on standardised features: logit = w . (f - mean) / std + b, applied
    at every location of a (N, C, h, w) feature map (a 1x1 convolution)."""

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))
        self.weight = nn.Parameter(torch.zeros(channels))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        normed = (features - self.mean[:, None, None]) / self.std[:, None, None]
        return torch.einsum("nchw,c->nhw", normed, self.weight) + self.bias


@dataclass(frozen=True)
class FacenessData:
    """lfw_subset: images (200, 25, 25) in [0, 1]; labels 1 = face (the first 100); a fixed split."""

    images: np.ndarray
    labels: np.ndarray
    train: np.ndarray
    test: np.ndarray


def lfw_faceness_data(test_fraction: float = 0.3, seed: int = 0) -> FacenessData:
    from skimage import data

    images = data.lfw_subset().astype(np.float32)
    labels = np.array([1] * 100 + [0] * 100)
    order = np.random.default_rng(seed).permutation(len(images))
    cut = round(len(images) * (1 - test_fraction))
    return FacenessData(images, labels, np.sort(order[:cut]), np.sort(order[cut:]))


def _pooled_features(network: MiniXception, images: np.ndarray) -> torch.Tensor:
    """(N, C) spatial means of the faceness features of crops resized to the training size."""
    x = torch.from_numpy(images)[:, None]
    x = F.interpolate(x, size=(TRAINING_SIZE, TRAINING_SIZE), mode="bilinear", align_corners=False)
    with torch.no_grad():
        return network.features((x - 0.5) * 2)[FEATURE_LEVEL].mean(dim=(2, 3))


def fit_faceness(network: MiniXception, data: FacenessData, l2: float = 1e-2) -> FacenessClassifier:
    """Fit the classifier on the training crops (L-BFGS, deterministic)."""
    features = _pooled_features(network, data.images)
    train = torch.from_numpy(data.train)
    classifier = FacenessClassifier(features.shape[1])
    classifier.mean.copy_(features[train].mean(0))
    classifier.std.copy_(features[train].std(0) + 1e-6)
    normed = (features[train] - classifier.mean) / classifier.std
    target = torch.from_numpy(data.labels[data.train]).float()
    optimizer = torch.optim.LBFGS([classifier.weight, classifier.bias], max_iter=200)

    def loss():
        optimizer.zero_grad()
        value = F.binary_cross_entropy_with_logits(normed @ classifier.weight + classifier.bias, target)
        value = value + l2 * classifier.weight.pow(2).sum()
        value.backward()
        return value

    optimizer.step(loss)
    return classifier.requires_grad_(False)


def faceness_accuracy(network: MiniXception, classifier: FacenessClassifier, data: FacenessData) -> float:
    """Accuracy on the held-out crops."""
    with torch.no_grad():
        logits = classifier(_pooled_features(network, data.images[data.test])[:, :, None, None])[:, 0, 0]
    return float(((logits > 0).numpy() == data.labels[data.test].astype(bool)).mean())

