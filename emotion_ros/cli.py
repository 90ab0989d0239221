"""The `emotion-ros` command.

  emotion-ros demo                 play the sample clip through the sensor pipeline
  emotion-ros sample-clip OUT.mp4  write the sample clip (photo + speech) to a file
  emotion-ros camera|microphone|file-source|window-monitor [--ros-args ...]
                                   run one node, with config/sensors.yaml as defaults
  emotion-ros convert llama HF_DIR --out DIR [--base CKPT | --preset NAME]
  emotion-ros convert v2 CHECKPOINT.pth --llama HF_DIR --out DIR
                                   import foreign weights (safetensors out)
  emotion-ros bench-model [--preset tiny]
                                   parameter counts and forward times (JSON)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

from emotion_ros.paths import cache_dir, share_dir

NODES = {
    "camera": "emotion_ros.nodes.camera_node:CameraNode",
    "microphone": "emotion_ros.nodes.microphone_node:MicrophoneNode",
    "file-source": "emotion_ros.nodes.file_source_node:FileSourceNode",
    "window-monitor": "emotion_ros.nodes.window_monitor_node:WindowMonitorNode",
}


class CliError(RuntimeError):
    """A user-facing failure: printed as one line, exit status 1."""


def _default_params() -> list[str]:
    params = share_dir() / "config" / "sensors.yaml"
    return ["--params-file", str(params)] if params.is_file() else []


def _ros_args(extra: list[str]) -> list[str]:
    """rclpy.init arguments: the default YAML first, so the user's --ros-args override it."""
    user = extra[1:] if extra[:1] == ["--ros-args"] else extra
    return ["emotion-ros", "--ros-args", *_default_params(), *user]


def _load(dotted: str):
    module, name = dotted.split(":")
    return getattr(__import__(module, fromlist=[name]), name)


def sample_clip_path(path: str | None) -> Path:
    """The given clip, or the sample clip (generated into the cache on first use)."""
    if path:
        if not Path(path).is_file():
            raise CliError(f"clip not found: {path}")
        return Path(path)
    from emotion_ros.io.sample_clip import make_sample_clip

    clip = cache_dir() / "sample_clip.mp4"
    if not clip.is_file():
        print(f"generating the sample clip (astronaut photo + espeak-ng speech) at {clip}", flush=True)
        make_sample_clip(clip)
    return clip


def run_demo(args: argparse.Namespace) -> int:
    """File source -> window monitor in one process, printing each window as it is cut."""
    import rclpy
    from rclpy.parameter import Parameter

    from emotion_ros.nodes.file_source_node import FileSourceNode
    from emotion_ros.nodes.runner import shut_down, spin
    from emotion_ros.nodes.window_monitor_node import WindowMonitorNode

    clip = sample_clip_path(args.clip)
    rclpy.init(args=_ros_args(args.ros_args))
    nodes = []
    try:
        source = FileSourceNode(
            parameter_overrides=[
                Parameter("path", value=str(clip)),
                Parameter("rate", value=float(args.rate)),
                Parameter("reliable", value=True),
            ]
        )
        monitor = WindowMonitorNode(parameter_overrides=[Parameter("log_windows", value=False)])
        nodes = [source, monitor]
        origin: list[float] = []  # start of the first window: the demo's time zero

        def show(window) -> None:
            if not origin:
                origin.append(window.t_start)
            t = window.t_end - origin[0]
            video = f"video {int(window.frame_mask.sum()):2d}/{window.frame_mask.size}" if window.video_present else "video  --  "
            audio = f"audio {window.audio_coverage:4.0%}" if window.audio_present else "audio  -- "
            rms = float((window.audio[window.audio_mask] ** 2).mean() ** 0.5) if window.audio_mask.any() else 0.0
            print(f"t={t:6.2f} s  window #{window.index}  {video}  {audio}  audio rms {rms:.3f}", flush=True)

        monitor.window_listeners.append(show)
        print(f"playing {clip} at {args.rate:g}x real time (Ctrl-C to stop)", flush=True)
        drained_at: list[float] = []

        def played_and_drained() -> bool:
            # Keep spinning briefly after the last message so in-flight ones are delivered.
            if source.finished.is_set() and not drained_at:
                drained_at.append(time.monotonic() + 0.5)
            return bool(drained_at) and time.monotonic() > drained_at[0]

        spin(nodes, until=played_and_drained)
        for window in monitor.input.flush() if monitor.input else []:
            show(window)
        counters = monitor.input.counters() if monitor.input else {}
        print(
            f"done: {source.frames_published} frames and {source.chunks_published} audio chunks published, "
            f"{counters.get('windows', 0)} windows, {counters.get('rejected', 0)} rejected messages",
            flush=True,
        )
        return 0
    finally:
        shut_down(nodes)
        rclpy.try_shutdown()


def run_convert(args: argparse.Namespace) -> int:
    from emotion_ros.model.convert import convert_emotion_llama_v2, convert_hf_llama

    if args.source_kind == "llama":
        report = convert_hf_llama(args.source, args.out, preset=args.preset, base=args.base)
    else:
        print("reading the official checkpoint with torch.load(weights_only=True): tensors only, no code", flush=True)
        report = convert_emotion_llama_v2(args.source, args.llama, args.out, preset=args.preset or "v2", lora_alpha=args.lora_alpha)
    print(f"wrote {report.tensors} tensors to {report.out}")
    if report.merged_lora:
        print(f"merged LoRA into {len(report.merged_lora)} projections")
    if report.missing:
        print(f"not in the source (train or convert them separately): {', '.join(report.missing)}")
    print(f"tokenizer: {report.tokenizer or 'none found in the source directory'}")
    return 0


def run_bench_model(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.eval.model_benchmark import benchmark_model

    print(json.dumps(benchmark_model(args.preset, repeats=args.repeats, threads=args.threads), indent=2))
    return 0


def run_node(name: str, extra: list[str]) -> int:
    from emotion_ros.nodes.runner import main_for

    return main_for(_load(NODES[name]), _ros_args(extra))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emotion-ros", description="Real-time multimodal emotion understanding for ROS 2.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="play the sample clip (or --clip) through the sensor pipeline")
    demo.add_argument("--clip", help="media file to play instead of the generated sample clip")
    demo.add_argument("--rate", type=float, default=1.0, help="playback speed (1 = real time, 0 = as fast as possible)")
    clip = sub.add_parser("sample-clip", help="write the sample clip (astronaut photo + espeak-ng speech)")
    clip.add_argument("out", help="output .mp4 path")
    clip.add_argument("--duration", type=float, default=6.0, help="minimum duration [s]")
    for name in NODES:
        sub.add_parser(name, help=f"run the {name} node (ROS arguments after --ros-args)")
    convert = sub.add_parser("convert", help="import foreign weights into a checkpoint directory")
    kinds = convert.add_subparsers(dest="source_kind", required=True)
    llama = kinds.add_parser("llama", help="a Hugging Face Llama directory (config.json + safetensors) as the LLaMA head")
    llama.add_argument("source", help="Hugging Face model directory")
    llama.add_argument("--out", required=True, help="output checkpoint directory")
    llama.add_argument("--base", help="checkpoint that provides the rest of the network")
    llama.add_argument("--preset", default="tiny", help="preset for the rest of the network when there is no --base")
    v2 = kinds.add_parser("v2", help="an official Emotion-LLaMA-v2 training checkpoint plus its base Llama")
    v2.add_argument("source", help="checkpoint_N.pth ({'model': state_dict})")
    v2.add_argument("--llama", required=True, help="the base Llama-2-7b-chat-hf directory")
    v2.add_argument("--out", required=True, help="output checkpoint directory")
    v2.add_argument("--preset", default="v2", help="preset of the non-LLM parts")
    v2.add_argument("--lora-alpha", type=float, default=16.0, help="LoRA alpha (the published run used 16 with r=64)")
    bench = sub.add_parser("bench-model", help="parameter counts and forward times of a preset (JSON)")
    bench.add_argument("--preset", default="tiny")
    bench.add_argument("--repeats", type=int, default=10)
    bench.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything from --ros-args on belongs to ROS, not to argparse.
    split = argv.index("--ros-args") if "--ros-args" in argv else len(argv)
    args = build_parser().parse_args(argv[:split])
    args.ros_args = argv[split:]
    try:
        if args.command == "demo":
            return run_demo(args)
        if args.command == "convert":
            return run_convert(args)
        if args.command == "bench-model":
            return run_bench_model(args)
        if args.command == "sample-clip":
            from emotion_ros.io.sample_clip import make_sample_clip

            print(make_sample_clip(args.out, duration=args.duration))
            return 0
        return run_node(args.command, args.ros_args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line for the user; the traceback on request
        if os.environ.get("EMOTION_ROS_DEBUG"):
            traceback.print_exc()
        print(f"emotion-ros {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
