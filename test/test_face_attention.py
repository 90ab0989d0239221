"""Detector-free expression reading: faceness on held-out LFW crops, whole frames vs crops."""

import numpy as np
import pytest
import torch
from skimage import data

from emotion_ros.model.config import FrameEncoderConfig
from emotion_ros.model.face_attention import faceness_accuracy, fit_faceness, lfw_faceness_data
from emotion_ros.model.fer_encoder import FerFrameEncoder
from emotion_ros.model.frame_encoder import FramePreprocessor
from emotion_ros.model.label_sets import FER_LABELS
from emotion_ros.model.mini_xception import to_model_input


WHOLE_FRAME = FrameEncoderConfig(type="fer_mini_xception", image_size=512, patch_size=256, dim=8, mean=(0.5,) * 3,
                                 std=(0.5,) * 3, scales=(192, 256, 320, 384, 512))


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
    whole = FerFrameEncoder(WHOLE_FRAME)  # the FER frame encoder (the default model's scene view)
    whole.network.load_state_dict(network.state_dict())
    whole.faceness.load_state_dict(classifier.state_dict())
    with torch.no_grad():
        images = FramePreprocessor(WHOLE_FRAME)(torch.from_numpy(photo)[None])
        cls, _ = whole(images)
        attention = whole.attention(images)
        crop = network.predict(to_model_input(photo[60:180, 180:300]))[0]
        naive = network.predict(to_model_input(photo))[0]  # the whole frame squeezed to 64 px
    probabilities = torch.softmax(cls[0, :7], 0)
    print("whole frame:", dict(zip(FER_LABELS, probabilities.numpy().round(3))), "crop happy:", round(float(crop[3]), 4))
    assert FER_LABELS[int(probabilities.argmax())] == "happy" and probabilities[3] > 0.9
    assert float((probabilities - crop).abs().max()) < 0.05  # close to what a perfect crop gives
    assert FER_LABELS[int(naive.argmax())] != "happy"  # without the attention the frame is misread
    # The attention sits on the face: its centre of mass falls inside the face box.
    best = max(range(len(attention)), key=lambda i: float(attention[i].sum()))
    weights = attention[best][0].numpy()
    h, w = weights.shape
    ys, xs = np.mgrid[0:h, 0:w]
    cy, cx = (weights * ys).sum() / weights.sum() / h * 512, (weights * xs).sum() / weights.sum() / w * 512
    assert 40 < cy < 220 and 150 < cx < 330
