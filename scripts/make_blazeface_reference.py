"""Write test/data/blazeface_reference.npz: MediaPipe's own runtime on a stored input.

The PyTorch port of the full-range BlazeFace (emotion_ros/model/blazeface.py) is checked
against these outputs in the tests. They come from the original model file run by LiteRT
(`ai-edge-litert`, Google's TFLite interpreter), not from the port:

    .venv/bin/python scripts/make_blazeface_reference.py

Input: the astronaut photograph (scikit-image) letterboxed into 192 x 192, stored as uint8.
Stored: the input, all 2304 face logits, and the 16 box/keypoint values of the 32 best anchors.
"""

from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from skimage import data

from emotion_ros.io.letterbox import letterbox
from emotion_ros.model.blazeface import INPUT_SIZE, blazeface_tflite_path

OUT = Path(__file__).resolve().parent.parent / "test" / "data" / "blazeface_reference.npz"


def main() -> None:
    frame = letterbox(data.astronaut()[40:480], INPUT_SIZE)  # 440 x 512: a 16:14 frame, letterboxed
    interpreter = Interpreter(model_path=str(blazeface_tflite_path()))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], frame[None].astype(np.float32) / 127.5 - 1.0)
    interpreter.invoke()
    outputs = {d["name"]: interpreter.get_tensor(d["index"])[0] for d in interpreter.get_output_details()}
    scores = next(v for k, v in outputs.items() if "classifier" in k)[:, 0]
    regressors = next(v for k, v in outputs.items() if "regressor" in k)
    best = np.argsort(-scores)[:32]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, input=frame, scores=scores.astype(np.float32), anchors=best,
                        regressors=regressors[best].astype(np.float32))
    print(f"wrote {OUT} (best logit {scores.max():.3f})")


if __name__ == "__main__":
    main()
