"""The `emotion-ros bench*` commands: measurements, each printed as one JSON report (runtime
latency per backend, the visual path beside the fer package, cost per person, the model itself,
the language head's decoding beside transformers, the speech recogniser beside pocketsphinx)."""

from __future__ import annotations

import argparse
from pathlib import Path

from emotion_ros.commands.common import CliError
from emotion_ros.paths import cache_dir


def add_parser(sub) -> None:
    runtime = sub.add_parser("bench", help="per-stride latency, real-time factor, drops and RSS per backend (JSON)")
    runtime.add_argument("--clip", help="media file (default: a generated clip of --duration seconds)")
    runtime.add_argument("--duration", type=float, default=60.0, help="length of the generated clip [s] (600 for the 10-minute target)")
    runtime.add_argument("--model", default="tiny", help="checkpoint directory or preset")
    runtime.add_argument("--backends", default="onnxruntime,torch", help="comma-separated backends to compare")
    runtime.add_argument("--threads", type=int, default=0, help="intra-op threads (0: the backend's choice)")
    runtime.add_argument("--explain-rate", type=float, default=0.0,
                         help="explanations per second while perceiving, in real time beside a run without (0: none)")
    runtime.add_argument("--explain-tokens", type=int, default=40, help="tokens decoded per explanation")
    runtime.add_argument("--explain-block", type=float, default=10.0,
                         help="explanations run in every other block of this many seconds of media [s]")
    runtime.add_argument("--out", help="also write the JSON report here")
    runtime.set_defaults(func=run_bench)
    faces = sub.add_parser("bench-faces", help="frames per second of the visual path beside the fer package (JSON)")
    faces.add_argument("--model", default="tiny", help="checkpoint directory or preset")
    faces.add_argument("--backend", default="onnxruntime", help="onnxruntime, torch or tensorrt")
    faces.add_argument("--peer-python", default=".venv-fer-peer/bin/python",
                       help="a Python with fer, TensorFlow and OpenCV < 5 (scripts/make_fer_peer.sh)")
    faces.add_argument("--repeats", type=int, default=30)
    faces.add_argument("--threads", type=int, default=0, help="intra-op threads (0: the backend's choice)")
    faces.set_defaults(func=run_bench_faces)
    people = sub.add_parser("bench-people", help="cost per frame and per stride with 1, 2 and 4 people in view (JSON)")
    people.add_argument("--model", default="tiny", help="checkpoint directory or preset")
    people.add_argument("--backend", default="onnxruntime", help="onnxruntime, torch or tensorrt")
    people.add_argument("--people", default="1,2,4", help="comma-separated people counts")
    people.add_argument("--duration", type=float, default=10.0, help="seconds of 30 fps video per count")
    people.add_argument("--threads", type=int, default=0, help="intra-op threads (0: the backend's choice)")
    people.set_defaults(func=run_bench_people)
    model = sub.add_parser("bench-model", help="parameter counts and forward times of a preset (JSON)")
    model.add_argument("--preset", default="tiny")
    model.add_argument("--repeats", type=int, default=10)
    model.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    model.set_defaults(func=run_bench_model)
    explain = sub.add_parser("bench-explain", help="the language head's decoding speed beside transformers' generate (JSON)")
    explain.add_argument("--model", default="tiny")
    explain.add_argument("--threads", type=int, default=2)
    explain.add_argument("--tokens", type=int, default=40, help="tokens decoded per explanation")
    explain.set_defaults(func=run_bench_explain)
    asr = sub.add_parser("bench-asr", help="the speech recogniser's word error rate beside pocketsphinx, latency and "
                         "CPU load, on held-out synthetic speech (JSON)")
    asr.add_argument("--beam-size", type=int, default=None, help="Whisper's beam width (default: the node's)")
    asr.add_argument("--threads", type=int, default=1, help="Whisper's CPU threads (the node's default: 1)")
    asr.add_argument("--beside-node", action="store_true",
                     help="with the emotion node perceiving the sample clip in real time in another process")
    asr.add_argument("--out", help="also write the JSON report here")
    asr.set_defaults(func=run_bench_asr)


def run_bench(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.eval.runtime_benchmark import benchmark_runtime
    from emotion_ros.samples.sample_clip import make_sample_clip

    if args.clip:
        clip = Path(args.clip)
        if not clip.is_file():
            raise CliError(f"clip not found: {clip}")
    else:
        clip = cache_dir() / f"bench_clip_{args.duration:g}s.mp4"
        if not clip.is_file():
            print(f"generating a {args.duration:g} s 640x480 30 fps benchmark clip at {clip}", flush=True)
            make_sample_clip(clip, duration=args.duration, fps=30, size=(640, 480))
    if args.explain_rate < 0 or args.explain_tokens < 1 or args.explain_block <= 0:
        raise CliError("--explain-rate must be >= 0, --explain-tokens >= 1 and --explain-block > 0")
    report = benchmark_runtime(clip, args.model, tuple(args.backends.split(",")), args.threads, args.explain_rate,
                               args.explain_tokens, args.explain_block)
    text = json.dumps(report, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


def run_bench_faces(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.eval.face_benchmark import benchmark_faces

    peer = Path(args.peer_python) if args.peer_python else None
    print(json.dumps(benchmark_faces(args.model, args.backend, peer, args.repeats, args.threads), indent=2))
    return 0


def run_bench_people(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.eval.people_benchmark import benchmark_people

    counts = tuple(int(c) for c in args.people.split(","))
    print(json.dumps(benchmark_people(args.model, args.backend, counts, args.duration, threads=args.threads), indent=2))
    return 0


def run_bench_model(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.eval.model_benchmark import benchmark_model

    print(json.dumps(benchmark_model(args.preset, repeats=args.repeats, threads=args.threads), indent=2))
    return 0


def run_bench_explain(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.eval.explain_benchmark import benchmark_explanations

    print(json.dumps(benchmark_explanations(args.model, args.threads, args.tokens), indent=2))
    return 0


def run_bench_asr(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.eval.asr_benchmark import asr_benchmark
    from emotion_ros.runtime.speech_recognizer import RecognizerConfig

    clip = None
    if args.beside_node:
        from emotion_ros.commands.run import sample_clip_path

        clip = sample_clip_path(None)
    beam = RecognizerConfig().beam_size if args.beam_size is None else args.beam_size
    report = asr_benchmark(beam, args.threads, clip)
    text = json.dumps(report, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0
