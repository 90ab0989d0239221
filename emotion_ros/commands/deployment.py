"""`emotion-ros export` and `emotion-ros build-engines`: a checkpoint as checked ONNX graphs for a
deployment profile, and the TensorRT engines of such an export on the machine that runs them."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    export = sub.add_parser("export", help="a checkpoint -> checked ONNX graphs for a deployment profile")
    export.add_argument("checkpoint", help="checkpoint directory or preset name")
    export.add_argument("--profile", required=True, help="cpu, jetson-orin, desktop-gpu, or a profile YAML")
    export.add_argument("--out", required=True, help="output directory")
    export.set_defaults(func=run_export)
    engines = sub.add_parser("build-engines", help="build (or check) the TensorRT engines of an export, on the GPU machine")
    engines.add_argument("directory", help="an export directory from a tensorrt profile")
    engines.add_argument("--force", action="store_true", help="rebuild engines that do not match this machine")
    engines.set_defaults(func=run_build_engines)


def run_export(args: argparse.Namespace) -> int:
    from emotion_ros.export.exporter import export_model
    from emotion_ros.export.profile import load_profile

    profile = load_profile(args.profile)
    report = export_model(args.checkpoint, profile, args.out, progress=lambda line: print(f"[export] {line}", flush=True))
    parity = report.get("parity", {})
    worst = max((v for v in parity.values() if isinstance(v, float) and v != parity.get("tolerance")), default=None)
    if worst is not None:
        print(f"parity with PyTorch: max difference {worst:.2e} (tolerance {profile.tolerance:g})"
              + (", greedy tokens identical" if parity.get("greedy_tokens_equal") else ""))
    if "int8_accuracy" in report:
        accuracy = report["int8_accuracy"]
        print(f"int8: probabilities within {accuracy['probabilities_max_abs']:.2e}, same label: {accuracy['same_label']}")
    if profile.target == "tensorrt":
        print("operators: all parsed by TensorRT; build the engines on the device: "
              f"emotion-ros build-engines {args.out}")
    return 0


def run_build_engines(args: argparse.Namespace) -> int:
    from emotion_ros.runtime.tensorrt_backend import TensorRTBackend

    backend = TensorRTBackend(args.directory, force_engine_update=args.force)
    for name in backend.runners:
        print(f"{name}: {Path(args.directory) / (name + '.engine')}")
    return 0
