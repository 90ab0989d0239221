"""The trained face localiser: the BlazeFace port against MediaPipe's runtime, decoding and
suppression, and faces found in real photographs at several sizes, positions and aspect ratios."""

from pathlib import Path

import numpy as np
import pytest
import torch

from emotion_ros.samples.face_composites import composite_frames, empty_frames
from emotion_ros.model.blazeface import BlazeFaceFullRange, anchor_centres, blazeface_tflite_path, load_blazeface
from emotion_ros.model.blazeface_short import load_blazeface_short
from emotion_ros.model.face_localiser import FaceLocaliser, _greedy_keep, _iou, sampling_grid
from emotion_ros.model.tflite_weights import TfliteFormatError, load_convolutions, read_convolutions
from emotion_ros.runtime.people import box_iou

REFERENCE = Path(__file__).parent / "data" / "blazeface_reference.npz"


@pytest.fixture(scope="module")
def detector():
    return load_blazeface()


@pytest.fixture(scope="module")
def localiser(detector):
    localiser = FaceLocaliser(max_faces=4).eval()
    localiser.detector.load_state_dict(detector.state_dict())
    localiser.detector_short.load_state_dict(load_blazeface_short().state_dict())
    return localiser


def run(detector, frame: np.ndarray):
    with torch.no_grad():
        x = torch.from_numpy(frame.astype(np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]
        scores, regressors = detector(x)
    return scores[0].numpy(), regressors[0].numpy()


def test_the_port_matches_mediapipes_runtime_on_the_stored_reference(detector):
    """The reference was written by scripts/make_blazeface_reference.py with LiteRT running
    the original .tflite file."""
    reference = np.load(REFERENCE)
    scores, regressors = run(detector, reference["input"])
    assert np.abs(scores - reference["scores"]).max() < 1e-3  # logits
    assert np.abs(regressors[reference["anchors"]] - reference["regressors"]).max() < 1e-2  # [px] of 192
    assert int(scores.argmax()) == int(reference["anchors"][0])


def test_the_port_matches_mediapipes_runtime_live_when_it_is_installed(detector):
    interpreter_module = pytest.importorskip("ai_edge_litert.interpreter")
    from skimage import data

    from emotion_ros.io.letterbox import letterbox

    frame = letterbox(data.coffee(), 192)  # another real photograph, 3:2
    interpreter = interpreter_module.Interpreter(model_path=str(blazeface_tflite_path()))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], frame[None].astype(np.float32) / 127.5 - 1.0)
    interpreter.invoke()
    outputs = {d["name"]: interpreter.get_tensor(d["index"])[0] for d in interpreter.get_output_details()}
    scores, regressors = run(detector, frame)
    expected_scores = next(v for k, v in outputs.items() if "classifier" in k)[:, 0]
    expected_regressors = next(v for k, v in outputs.items() if "regressor" in k)
    assert np.abs(scores - expected_scores).max() < 1e-3
    assert np.abs(regressors - expected_regressors).max() < 1e-2


def test_the_weight_reader_refuses_foreign_and_mismatched_files(tmp_path):
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(TfliteFormatError):
        read_convolutions(junk)
    convolutions = read_convolutions(blazeface_tflite_path())
    with pytest.raises(TfliteFormatError, match="convolutions"):
        load_convolutions(BlazeFaceFullRange().convolutions()[:-1], convolutions, "model")
    swapped = [convolutions[1], convolutions[0], *convolutions[2:]]
    with pytest.raises(TfliteFormatError, match="convolution 0"):
        load_convolutions(BlazeFaceFullRange().convolutions(), swapped, "model")


def test_anchors_are_the_cell_centres_of_the_48_grid():
    anchors = anchor_centres()
    assert anchors.shape == (2304, 2)
    assert torch.allclose(anchors[0], torch.tensor([0.5 / 48, 0.5 / 48]))
    assert torch.allclose(anchors[49], torch.tensor([1.5 / 48, 1.5 / 48]))  # row-major: x varies fastest


def test_sampling_grid_is_affine_grid():
    theta = torch.tensor([[[0.8, -0.2, 0.1], [0.3, 1.1, -0.2]]])
    expected = torch.nn.functional.affine_grid(theta, [1, 3, 7, 7], align_corners=False)
    assert torch.allclose(sampling_grid(theta, 7), expected, atol=1e-6)


def test_the_two_detectors_inputs_share_one_pooling():
    """The short-range input (512 -> 128: pooled by 4) is pooled from the full-range one's 2x
    pooling: the same means as pooling the frame by 4."""
    frames = torch.rand(2, 3, 512, 512)
    pooled = {1: frames}
    FaceLocaliser.detector_input(frames, 192, pooled)
    short = FaceLocaliser.detector_input(frames, 128, pooled)
    assert sorted(pooled) == [1, 2, 4]
    assert torch.allclose(short, torch.nn.functional.avg_pool2d(frames, 4) * 2 - 1, atol=1e-6)


def test_greedy_suppression_keeps_the_best_of_each_cluster_and_chains_correctly():
    boxes = torch.tensor([[[0, 0, 10, 10], [1, 0, 11, 10], [8, 0, 18, 10], [30, 30, 40, 40]]], dtype=torch.float32)
    overlap = _iou(boxes) > 0.3
    keep = _greedy_keep(torch.ones(1, 4, dtype=torch.bool), overlap, rounds=4)
    # box 1 overlaps box 0 (suppressed); box 2 overlaps box 1 only, which is gone: kept
    assert keep.tolist() == [[True, False, True, True]]


def test_every_pasted_face_is_found_with_its_box_and_empty_scenes_give_none():
    """42 real faces (the astronaut's, pasted at 1/12 to 1/3 of the frame width, 1 to 4 per
    frame, 4:3 and 16:9) and the 12 test scenes without a person, through the face encoder:
    both detectors, then the faceness check of faces only the short-range model found."""
    from emotion_ros.model.config import load_preset
    from emotion_ros.model.face_encoder import BOX, DETECTION, FaceFrameEncoder, load_face_knowledge

    encoder = load_face_knowledge(FaceFrameEncoder(load_preset("tiny").video.temporal))
    found = total = false_positives = 0
    for frame in composite_frames() + empty_frames():
        height, width = frame.rgb.shape[:2]
        with torch.no_grad():
            tokens = encoder.locate(torch.from_numpy(frame.rgb).permute(2, 0, 1)[None].float() / 255)[0][0].numpy()
        detected = tokens[tokens[:, DETECTION] > 0][:, BOX] * [width, height, width, height]
        total += len(frame.faces)
        if len(frame.faces) == 0:
            false_positives += len(detected)
            continue
        iou = box_iou(frame.faces, detected) if len(detected) else np.zeros((len(frame.faces), 1))
        found += int((iou.max(axis=1) >= 0.5).sum())
        false_positives += int((iou.max(axis=0) < 0.5).sum()) if len(detected) else 0
    assert total == 42 and found == total and false_positives == 0
