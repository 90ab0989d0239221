"""Detector-free expression reading: faceness on held-out LFW crops, whole frames vs crops."""

import numpy as np
import pytest
import torch
from skimage import data

from emotion_ros.model.face_attention import WholeFrameExpression, faceness_accuracy, fit_faceness, lfw_faceness_data
from emotion_ros.model.mini_xception import FER_LABELS, to_model_input


@pytest.fixture(scope="module")
def reader(fer_network):
    network = fer_network
    faceness_data = lfw_faceness_data()
    classifier = fit_faceness(network, faceness_data)
    return network, classifier, faceness_data


def test_faceness_separates_held_out_faces_from_non_faces(reader):
    network, classifier, faceness_data = reader
    assert len(faceness_data.test) == 60 and not set(faceness_data.test) & set(faceness_data.train)
    accuracy = faceness_accuracy(network, classifier, faceness_data)
    print(f"faceness accuracy on 60 held-out lfw_subset crops: {accuracy:.3f}")
    assert accuracy >= 0.95


def test_the_whole_astronaut_frame_reads_happy_like_the_crop(reader):
    network, classifier, _ = reader
    photo = data.astronaut()  # 512 x 512, the face is about 120 px of it: no cropping here
    whole = WholeFrameExpression(network, classifier)
    with torch.no_grad():
        result = whole(to_model_input(photo, size=None))
        crop = network.predict(to_model_input(photo[60:180, 180:300]))[0]
        naive = network.predict(to_model_input(photo))[0]  # the whole frame squeezed to 64 px
    probabilities = result.probabilities[0]
    print("whole frame:", dict(zip(FER_LABELS, probabilities.numpy().round(3))), "crop happy:", round(float(crop[3]), 4))
    assert FER_LABELS[int(probabilities.argmax())] == "happy" and probabilities[3] > 0.9
    assert float((probabilities - crop).abs().max()) < 0.05  # close to what a perfect crop gives
    assert FER_LABELS[int(naive.argmax())] != "happy"  # without the attention the frame is misread
    # The attention sits on the face: its centre of mass falls inside the face box.
    best = max(range(len(result.attention)), key=lambda i: float(result.attention[i].sum()))
    weights = result.attention[best][0].numpy()
    h, w = weights.shape
    ys, xs = np.mgrid[0:h, 0:w]
    cy, cx = (weights * ys).sum() / weights.sum() / h * 512, (weights * xs).sum() / weights.sum() / w * 512
    assert 40 < cy < 220 and 150 < cx < 330
