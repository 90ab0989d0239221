"""Write test/data/blazeface_reference.npz and blazeface_short_reference.npz: MediaPipe's own
runtime on stored inputs.

The PyTorch ports of the full-range and short-range BlazeFace (emotion_ros/model/blazeface.py,
blazeface_short.py) are checked against these outputs in the tests. They come from the original
model files run by LiteRT (`ai-edge-litert`, Google's TFLite interpreter), not from the ports:

    .venv/bin/python scripts/make_blazeface_reference.py

Input: the astronaut photograph (scikit-image) letterboxed into the model's square input (192 px
full range, 128 px short range), stored as uint8.
Stored: the input, all face logits (2304 / 896), and the 16 box/keypoint values of the 32 best anchors.
"""

from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from skimage import data

from emotion_ros.io.letterbox import letterbox
from emotion_ros.model import blazeface, blazeface_short

DATA = Path(__file__).resolve().parent.parent / "test" / "data"


def write_reference(model: Path, side: int, out: Path) -> None:
    frame = letterbox(data.astronaut()[40:480], side)  # 440 x 512: a 16:14 frame, letterboxed
    interpreter = Interpreter(model_path=str(model))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], frame[None].astype(np.float32) / 127.5 - 1.0)
    interpreter.invoke()
    outputs = {d["name"]: interpreter.get_tensor(d["index"])[0] for d in interpreter.get_output_details()}
    # Output names: full range "reshaped_classifier_face_4", short range "classificators".
    scores = next(v for k, v in outputs.items() if "classif" in k)[:, 0]
    regressors = next(v for k, v in outputs.items() if "regressor" in k)
    best = np.argsort(-scores)[:32]
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, input=frame, scores=scores.astype(np.float32), anchors=best,
                        regressors=regressors[best].astype(np.float32))
    print(f"wrote {out} (best logit {scores.max():.3f})")


def main() -> None:
    write_reference(blazeface.blazeface_tflite_path(), blazeface.INPUT_SIZE, DATA / "blazeface_reference.npz")
    write_reference(blazeface_short.blazeface_short_tflite_path(), blazeface_short.INPUT_SIZE,
                    DATA / "blazeface_short_reference.npz")


if __name__ == "__main__":
    main()
