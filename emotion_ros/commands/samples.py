"""`emotion-ros sample-clip` and `emotion-ros sample-set`: generated media, the sample clip of the
demo and a small MMEVerse-format training set for smoke tests."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    clip = sub.add_parser("sample-clip", help="write the sample clip (astronaut photo + espeak-ng speech)")
    clip.add_argument("out", help="output .mp4 path")
    clip.add_argument("--duration", type=float, default=6.0, help="minimum duration [s]")
    clip.set_defaults(func=run_sample_clip)
    sample_set = sub.add_parser("sample-set", help="a small MMEVerse-format set made from generated clips (smoke tests)")
    sample_set.add_argument("out", help="output directory (clips/, train.jsonl, test.jsonl)")
    sample_set.add_argument("--clips-per-label", type=int, default=4, help="training clips per label")
    sample_set.set_defaults(func=run_sample_set)


def run_sample_clip(args: argparse.Namespace) -> int:
    from emotion_ros.samples.sample_clip import make_sample_clip

    print(make_sample_clip(args.out, duration=args.duration))
    return 0


def run_sample_set(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.train.synthetic_set import make_synthetic_set

    paths = make_synthetic_set(args.out, clips_per_label=args.clips_per_label)
    print(json.dumps({split: str(path) for split, path in paths.items()}))
    return 0
