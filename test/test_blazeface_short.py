"""The short-range BlazeFace port against MediaPipe's runtime: a stored reference, live LiteRT on
real photographs (a small and a close-up face), the weight reader's checks, and the anchors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from emotion_ros.io.letterbox import letterbox
from emotion_ros.model.blazeface_short import (INPUT_SIZE, BlazeFaceShortRange, anchor_centres,
                                               blazeface_short_tflite_path, load_blazeface_short)
from emotion_ros.model.tflite_weights import TfliteFormatError, load_convolutions, read_convolutions
from test_face_localiser import run  # the same detector call as the full-range port's tests

REFERENCE = Path(__file__).parent / "data" / "blazeface_short_reference.npz"


@pytest.fixture(scope="module")
def detector():
    return load_blazeface_short()


def test_the_port_matches_mediapipes_runtime_on_the_stored_reference(detector):
    """The reference was written by scripts/make_blazeface_reference.py with LiteRT running
    the original .tflite file."""
    reference = np.load(REFERENCE)
    assert reference["input"].shape == (INPUT_SIZE, INPUT_SIZE, 3)
    scores, regressors = run(detector, reference["input"])
    assert scores.shape == (896,) and regressors.shape == (896, 16)
    assert np.abs(scores - reference["scores"]).max() < 1e-3  # logits
    assert np.abs(regressors[reference["anchors"]] - reference["regressors"]).max() < 1e-2  # [px] of 128
    assert int(scores.argmax()) == int(reference["anchors"][0])


@pytest.mark.parametrize("name", ["coffee", "astronaut close-up"])
def test_the_port_matches_mediapipes_runtime_live_when_it_is_installed(detector, name):
    interpreter_module = pytest.importorskip("ai_edge_litert.interpreter")
    from skimage import data

    # coffee: a 3:2 photograph without a face; the close-up: the astronaut's face fills most of
    # the frame, the case this model is for (its best anchors lie on the coarse 8 grid).
    image = data.coffee() if name == "coffee" else data.astronaut()[40:260, 120:340]
    frame = letterbox(image, INPUT_SIZE)
    interpreter = interpreter_module.Interpreter(model_path=str(blazeface_short_tflite_path()))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], frame[None].astype(np.float32) / 127.5 - 1.0)
    interpreter.invoke()
    outputs = {d["name"]: interpreter.get_tensor(d["index"])[0] for d in interpreter.get_output_details()}
    scores, regressors = run(detector, frame)
    expected_scores = outputs["classificators"][:, 0]
    assert np.abs(scores - expected_scores).max() < 1e-3
    assert np.abs(regressors - outputs["regressors"]).max() < 1e-2
    assert int(scores.argmax()) == int(expected_scores.argmax())


def test_the_weight_reader_refuses_a_model_whose_convolutions_do_not_fit(tmp_path):
    convolutions = read_convolutions(blazeface_short_tflite_path())
    assert len(convolutions) == len(BlazeFaceShortRange().convolutions()) == 37
    with pytest.raises(TfliteFormatError, match="convolutions"):
        load_convolutions(BlazeFaceShortRange().convolutions()[:-1], convolutions, "model")
    swapped = [convolutions[1], convolutions[0], *convolutions[2:]]
    with pytest.raises(TfliteFormatError, match="convolution 0"):
        load_convolutions(BlazeFaceShortRange().convolutions(), swapped, "model")
    # The full-range model's weights do not fit this network.
    from emotion_ros.model.blazeface import blazeface_tflite_path

    with pytest.raises(TfliteFormatError):
        load_blazeface_short(blazeface_tflite_path())


def test_anchors_are_two_per_cell_on_the_16_grid_then_six_per_cell_on_the_8_grid():
    anchors = anchor_centres()
    assert anchors.shape == (896, 2)
    assert torch.allclose(anchors[0], torch.tensor([0.5 / 16, 0.5 / 16]))
    assert torch.equal(anchors[0], anchors[1])  # the two anchors of a cell are consecutive
    assert torch.allclose(anchors[2], torch.tensor([1.5 / 16, 0.5 / 16]))  # row-major: x varies fastest
    assert torch.allclose(anchors[2 * 17], torch.tensor([1.5 / 16, 1.5 / 16]))
    assert torch.allclose(anchors[511], torch.tensor([15.5 / 16, 15.5 / 16]))
    assert torch.allclose(anchors[512:518], torch.tensor([[0.5 / 8, 0.5 / 8]]).expand(6, 2))
    assert torch.allclose(anchors[512 + 6 * 9], torch.tensor([1.5 / 8, 1.5 / 8]))
    assert torch.allclose(anchors[895], torch.tensor([7.5 / 8, 7.5 / 8]))
