"""The `emotion-ros` command.

  emotion-ros demo                 play the sample clip through the emotion node, plot a timeline
  emotion-ros run [--clip FILE]    the emotion node on a camera + microphone (or a file)
  emotion-ros sample-clip OUT.mp4  write the sample clip (photo + speech) to a file
  emotion-ros camera|microphone|file-source|window-monitor|emotion [--ros-args ...]
                                   run one node, with config/sensors.yaml as defaults
  emotion-ros convert llama HF_DIR --out DIR [--base CKPT | --preset NAME]
  emotion-ros convert v2 CHECKPOINT.pth --llama HF_DIR --out DIR
                                   import foreign weights (safetensors out)
  emotion-ros predict --image PATH | --video PATH [--audio PATH] [--subtitle TEXT | --transcript FILE] [--json]
  emotion-ros build-tiny [--out models/tiny]
                                   build the default checkpoint from the shipped weights
  emotion-ros export CHECKPOINT --profile cpu|jetson-orin|desktop-gpu --out DIR
  emotion-ros build-engines DIR    TensorRT engines of an export, on the GPU machine
  emotion-ros bench [--duration 600]   runtime latency, real-time factor, drops, RSS (JSON)
  emotion-ros bench-faces [--peer-python PY]   visual path fps beside the fer package (JSON)
  emotion-ros bench-people [--duration 10]   cost per frame with 1, 2 and 4 people, tracking share (JSON)
  emotion-ros bench-model [--preset tiny]
                                   parameter counts and forward times (JSON)

Training on MMEVerse-format records (run under `torchrun ... -m emotion_ros` for several processes):
  emotion-ros sample-set DIR       a small MMEVerse-format set made from generated clips
  emotion-ros import-dataset NAME LABEL_CSV --clips DIR --out RECORDS.jsonl
  emotion-ros train CONFIG [--records F] [--init M] [--output DIR] [--steps N] [--resume]
  emotion-ros teacher-outputs MODEL --records F --out DIR
  emotion-ros eval MODEL --records F --out DIR [--wheel CSV --synonyms CSV]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from emotion_ros.commands import replay as replay_command
from emotion_ros.paths import cache_dir, share_dir

NODES = {
    "camera": "emotion_ros.nodes.camera_node:CameraNode",
    "microphone": "emotion_ros.nodes.microphone_node:MicrophoneNode",
    "file-source": "emotion_ros.nodes.file_source_node:FileSourceNode",
    "window-monitor": "emotion_ros.nodes.window_monitor_node:WindowMonitorNode",
    "emotion": "emotion_ros.nodes.perception_node:PerceptionNode",
}


class CliError(RuntimeError):
    """A user-facing failure: printed as one line, exit status 1."""


def _default_params() -> list[str]:
    """config/sensors.yaml and config/emotion.yaml, the defaults of every node."""
    args = []
    for name in ("sensors.yaml", "emotion.yaml"):
        params = share_dir() / "config" / name
        if params.is_file():
            args += ["--params-file", str(params)]
    return args


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
    from emotion_ros.samples.sample_clip import make_sample_clip

    clip = cache_dir() / "sample_clip.mp4"
    if not clip.is_file() or not clip.with_suffix(".srt").is_file():
        print(f"generating the sample clip (astronaut photo + espeak-ng speech) at {clip}", flush=True)
        make_sample_clip(clip)
    return clip


def run_pipeline(args: argparse.Namespace, clip: Path | None, plot: Path | None = None) -> int:
    """Sources (a media file, or camera + microphone) and the emotion node in one process,
    with a live terminal view; a timeline PNG at the end when ``plot`` is given."""
    from emotion_ros.eval.timeline import plot_timeline
    from emotion_ros.nodes.runner import ros_session

    with ros_session(_ros_args(args.ros_args)) as stop:
        counts, view = _run_nodes(args, clip, stop)
    print(f"done: {counts['states']} states, {counts['events']} label changes, {counts['explanations']} explanations, "
          f"{counts['dropped_windows']} dropped windows, {counts['backend_errors']} backend errors", flush=True)
    if plot is not None and view.estimates:
        title = f"emotion-ros on {clip.name if clip else args.camera}"
        path = plot_timeline(list(view.estimates), list(view.explanations), plot, title=title, people=view.people_steps)
        print(f"timeline: {path}")
    return 0


def _run_nodes(args: argparse.Namespace, clip: Path | None, stop) -> tuple[dict, Any]:
    """The sources and the emotion node until the clip is played (or ``stop``): (counts, live view)."""
    from rclpy.parameter import Parameter

    from emotion_ros.commands.live_view import LiveView
    from emotion_ros.nodes.camera_node import CameraNode
    from emotion_ros.nodes.file_source_node import FileSourceNode
    from emotion_ros.nodes.microphone_node import MicrophoneNode
    from emotion_ros.nodes.perception_node import PerceptionNode
    from emotion_ros.nodes.runner import shut_down, spin

    nodes = []
    try:
        overrides = [Parameter("model", value=args.model)] if args.model else []
        if args.explain_rate is not None:
            overrides.append(Parameter("explanation.rate", value=float(args.explain_rate)))
        emotion = PerceptionNode(parameter_overrides=overrides)
        view = LiveView()
        emotion.state_listeners.append(view.state)
        emotion.people_listeners.append(view.people)
        emotion.explanation_listeners.append(view.explanation)
        if clip is not None:
            source = FileSourceNode(parameter_overrides=[
                Parameter("path", value=str(clip)), Parameter("rate", value=float(args.rate)),
                Parameter("loop", value=bool(args.loop)), Parameter("reliable", value=True),
                # media time: the windows fall where an offline replay of the clip puts them
                Parameter("stamp_origin", value="media"),
            ])
            sources = [source]
            finished = source.finished.is_set
            print(f"playing {clip} at {args.rate:g}x (Ctrl-C to stop)", flush=True)
        else:
            sources = [CameraNode(parameter_overrides=[Parameter("source", value=args.camera)])]
            if args.microphone != "none":
                sources.append(MicrophoneNode(parameter_overrides=[Parameter("device", value=args.microphone)]))
            finished = lambda: False  # noqa: E731  (until Ctrl-C)
            print("running on the camera and microphone (Ctrl-C to stop)", flush=True)
        nodes = [emotion, *sources]  # the consumer first, so it misses nothing
        drained_at: list[float] = []

        def played_and_drained() -> bool:
            # After the last message, give in-flight messages and the workers a moment, then
            # perceive what is left of the clip (the windows up to its end), one by one.
            if finished() and not drained_at:
                drained_at.append(time.monotonic() + 1.0)
            if not drained_at or time.monotonic() < drained_at[0]:
                return False
            emotion.finish_input()
            return True

        spin(nodes, until=played_and_drained, stop=stop)
        return dict(emotion.counts), view
    finally:
        shut_down(nodes)


def run_demo(args: argparse.Namespace) -> int:
    clip = sample_clip_path(args.clip)
    if args.rate == 0:  # as fast as possible: the offline pipeline, every window
        return replay_command.play_offline(args, clip, Path(args.plot))
    return run_pipeline(args, clip, Path(args.plot))


def run_live(args: argparse.Namespace) -> int:
    clip = Path(args.clip) if args.clip else None
    if clip is not None and not clip.is_file():
        raise CliError(f"clip not found: {clip}")
    plot = Path(args.plot) if args.plot else None
    if clip is not None and args.rate == 0:
        return replay_command.play_offline(args, clip, plot)
    return run_pipeline(args, clip, plot)


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
    report = benchmark_runtime(clip, args.model, tuple(args.backends.split(",")), args.threads)
    text = json.dumps(report, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


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


def run_predict(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.runtime.backends import create_backend
    from emotion_ros.runtime.file_prediction import predict_file

    paths = [Path(p) for p in (args.image, args.video, args.audio) if p]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise CliError(f"file not found: {', '.join(missing)}")
    transcript = None
    if args.transcript or args.video:
        from emotion_ros.io.transcript_file import read_transcript, sidecar

        source = Path(args.transcript) if args.transcript else sidecar(args.video)
        if args.transcript and args.image:
            raise CliError("--transcript is for --video (an image's words: --subtitle)")
        transcript = read_transcript(source) if source else None
    backend = create_backend(args.backend, args.model, allow_untrained=args.allow_untrained)
    result = predict_file(
        backend, image=Path(args.image) if args.image else None, video=Path(args.video) if args.video else None,
        audio=Path(args.audio) if args.audio else None, explain=not args.no_explain, max_new_tokens=args.max_new_tokens,
        subtitle=args.subtitle or "", transcript=transcript,
    )
    if args.json:
        print(json.dumps(result.as_json()))
        return 0
    if result.label is None:
        print(f"label: none (nobody visible)   model: {backend.model_id}")
    else:
        print(f"label: {result.label} ({result.confidence:.2f})   model: {backend.model_id}")
    print("scores: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(result.scores.items(), key=lambda kv: -kv[1])))
    print(f"valence {result.valence:+.2f}   arousal {result.arousal:+.2f}   windows {result.windows}")
    for person in result.people:
        x0, y0, x1, y1 = person["box"]
        seen = f"   in {person['windows']} windows, {person['first']:.1f} - {person['last']:.1f} s" if args.video else ""
        print(f"person {person['id']}: {person['label']} ({person['confidence']:.2f})   "
              f"box {x0:.0f},{y0:.0f} - {x1:.0f},{y1:.0f} px{seen}")
    if result.explanation:
        print(f"explanation: {result.explanation}")
    return 0


def run_build_tiny(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.default_model.builder import BuildConfig, build_tiny

    config = BuildConfig(seed=args.seed)
    out = Path(args.out) if args.out else share_dir() / "models" / "tiny"
    report = build_tiny(out, config, progress=lambda line: print(f"[build-tiny] {line}", flush=True))
    print(json.dumps({key: value for key, value in report.items() if key != "config"}))
    print(f"checkpoint: {out}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.train.config import load_train_config
    from emotion_ros.train.trainer import train

    config = load_train_config(args.config, records=args.records, init=args.init, output=args.output, steps=args.steps,
                               batch_size=args.batch_size, teacher=args.teacher)
    summary = train(config, resume=args.resume)
    if "model" in summary:  # the main process
        print(json.dumps(summary))
    return 0


def run_teacher_outputs(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.train.teacher_run import write_teacher_outputs

    splits = tuple(args.splits.split(",")) if args.splits else None
    result = write_teacher_outputs(args.model, args.records, args.out, splits, top_k=args.top_k,
                                   max_new_tokens=args.max_new_tokens, features=args.features)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(result))
    return 0


def run_eval(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.eval.harness import evaluate
    from emotion_ros.eval.wheel import EmotionWheels

    if (args.model is None) == (args.responses is None):
        raise CliError("give a model to answer the records, or --responses with stored answers (not both)")
    wheels = EmotionWheels.from_files(args.wheel, args.synonyms, args.word_forms) if args.wheel else None
    splits = tuple(args.splits.split(",")) if args.splits else None
    result = evaluate(args.model, args.records, args.out, splits, args.responses, wheels, args.max_new_tokens,
                      args.features)
    if result:
        print(json.dumps(result))
    return 0


def run_import_dataset(args: argparse.Namespace) -> int:
    from emotion_ros.train.datasets import CATALOGUE, import_label_csv
    from emotion_ros.train.records import write_records

    spec = CATALOGUE.get(args.name.lower())
    if spec is None:
        raise CliError(f"unknown data set {args.name!r} (known: {', '.join(CATALOGUE)})")
    records, skipped = import_label_csv(spec, args.label_csv, args.clips, args.label_column, args.split_column,
                                        args.id_column, args.subtitle_column, args.split)
    if not records:
        raise CliError(f"no records: {len(skipped)} row(s) skipped, e.g. {skipped[0] if skipped else 'an empty file'}")
    write_records(records, args.out)
    print(f"{len(records)} records -> {args.out}" + (f" ({len(skipped)} skipped, e.g. {skipped[0]})" if skipped else ""))
    return 0


def run_node(name: str, extra: list[str]) -> int:
    from emotion_ros.nodes.runner import main_for

    return main_for(_load(NODES[name]), _ros_args(extra))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emotion-ros", description="Real-time multimodal emotion understanding for ROS 2.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="play the sample clip (or --clip) through the emotion node, plot a timeline")
    demo.add_argument("--clip", help="media file to play instead of the generated sample clip")
    demo.add_argument("--plot", default="output/emotion_timeline.png", help="where to write the timeline PNG")
    run = sub.add_parser("run", help="the emotion node on a camera + microphone, or on a media file")
    run.add_argument("--clip", help="media file to play (default: the camera and microphone)")
    run.add_argument("--camera", default="0", help="camera: OpenCV device index, path or video file")
    run.add_argument("--microphone", default="", help="PortAudio input device ('' = default, 'none' = no audio)")
    run.add_argument("--loop", action="store_true", help="loop the clip")
    run.add_argument("--plot", help="write a timeline PNG here at the end")
    for command in (demo, run):
        command.add_argument("--rate", type=float, default=1.0, help="clip playback speed (1 = real time, 0 = as fast as possible)")
        command.add_argument("--model", help="checkpoint directory or preset (default: config/emotion.yaml's)")
        command.add_argument("--explain-rate", type=float, help="explanations per second (default: config/emotion.yaml's)")
    demo.set_defaults(loop=False)
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
    replay_command.add_parser(sub)
    predict = sub.add_parser("predict", help="the emotion in an image or a media file (label, scores, valence, arousal, explanation)")
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", help="an image file (the whole frame; no face crop needed)")
    source.add_argument("--video", help="a media file: its windows are averaged")
    predict.add_argument("--audio", help="an audio (or media) file heard with the image or video")
    words = predict.add_mutually_exclusive_group()
    words.add_argument("--subtitle", help="what the person says (throughout the image or video)")
    words.add_argument("--transcript", help="with --video: what is said when, as .srt or .jsonl (default: the video's own "
                       "transcript beside it, the same name with .srt or .jsonl)")
    predict.add_argument("--model", default="tiny", help="checkpoint, export directory or preset")
    predict.add_argument("--backend", default="auto", help="auto, onnxruntime, torch or tensorrt")
    predict.add_argument("--allow-untrained", action="store_true", help="run a preset without a checkpoint (random weights)")
    predict.add_argument("--json", action="store_true", help="one JSON object: label, confidence, scores, valence, arousal, "
                         "explanation, windows, people (and timeline for --video)")
    predict.add_argument("--no-explain", action="store_true", help="skip the explanation")
    predict.add_argument("--max-new-tokens", type=int, default=48)
    build_tiny = sub.add_parser("build-tiny", help="build the default tiny checkpoint from the weights packages ship (minutes, CPU)")
    build_tiny.add_argument("--out", help="output directory (default: the package's models/tiny)")
    build_tiny.add_argument("--seed", type=int, default=0)
    export = sub.add_parser("export", help="a checkpoint -> checked ONNX graphs for a deployment profile")
    export.add_argument("checkpoint", help="checkpoint directory or preset name")
    export.add_argument("--profile", required=True, help="cpu, jetson-orin, desktop-gpu, or a profile YAML")
    export.add_argument("--out", required=True, help="output directory")
    engines = sub.add_parser("build-engines", help="build (or check) the TensorRT engines of an export, on the GPU machine")
    engines.add_argument("directory", help="an export directory from a tensorrt profile")
    engines.add_argument("--force", action="store_true", help="rebuild engines that do not match this machine")
    runtime_bench = sub.add_parser("bench", help="per-stride latency, real-time factor, drops and RSS per backend (JSON)")
    runtime_bench.add_argument("--clip", help="media file (default: a generated clip of --duration seconds)")
    runtime_bench.add_argument("--duration", type=float, default=60.0, help="length of the generated clip [s] (600 for the 10-minute target)")
    runtime_bench.add_argument("--model", default="tiny", help="checkpoint directory or preset")
    runtime_bench.add_argument("--backends", default="onnxruntime,torch", help="comma-separated backends to compare")
    runtime_bench.add_argument("--threads", type=int, default=0, help="intra-op threads (0: the backend's choice)")
    runtime_bench.add_argument("--out", help="also write the JSON report here")
    faces_bench = sub.add_parser("bench-faces", help="frames per second of the visual path beside the fer package (JSON)")
    faces_bench.add_argument("--model", default="tiny", help="checkpoint directory or preset")
    faces_bench.add_argument("--backend", default="onnxruntime", help="onnxruntime, torch or tensorrt")
    faces_bench.add_argument("--peer-python", default=".venv-fer-peer/bin/python",
                             help="a Python with fer, TensorFlow and OpenCV < 5 (scripts/make_fer_peer.sh)")
    faces_bench.add_argument("--repeats", type=int, default=30)
    faces_bench.add_argument("--threads", type=int, default=0, help="intra-op threads (0: the backend's choice)")
    people_bench = sub.add_parser("bench-people", help="cost per frame and per stride with 1, 2 and 4 people in view (JSON)")
    people_bench.add_argument("--model", default="tiny", help="checkpoint directory or preset")
    people_bench.add_argument("--backend", default="onnxruntime", help="onnxruntime, torch or tensorrt")
    people_bench.add_argument("--people", default="1,2,4", help="comma-separated people counts")
    people_bench.add_argument("--duration", type=float, default=10.0, help="seconds of 30 fps video per count")
    people_bench.add_argument("--threads", type=int, default=0, help="intra-op threads (0: the backend's choice)")
    bench = sub.add_parser("bench-model", help="parameter counts and forward times of a preset (JSON)")
    bench.add_argument("--preset", default="tiny")
    bench.add_argument("--repeats", type=int, default=10)
    bench.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    sample_set = sub.add_parser("sample-set", help="a small MMEVerse-format set made from generated clips (smoke tests)")
    sample_set.add_argument("out", help="output directory (clips/, train.jsonl, test.jsonl)")
    sample_set.add_argument("--clips-per-label", type=int, default=4, help="training clips per label")
    importer = sub.add_parser("import-dataset", help="a published <DS>_label.csv + its clips -> MMEVerse records (JSONL)")
    importer.add_argument("name", help="data set name (mer2023, meld_emotion, dfew, mafw, ...)")
    importer.add_argument("label_csv", help="the data set's label CSV")
    importer.add_argument("--clips", required=True, help="directory of <name>.mp4 (or .avi, .mkv, ...) clips")
    importer.add_argument("--out", required=True, help="output JSONL")
    importer.add_argument("--label-column", help="override the published ground-truth column")
    importer.add_argument("--split-column", help="override the split column (default: mode)")
    importer.add_argument("--id-column", help="override the clip-name column (default: name)")
    importer.add_argument("--subtitle-column", help="column with what the person says")
    importer.add_argument("--split", default="train", help="split of rows without a split column value")
    trainer = sub.add_parser("train", help="one curriculum stage or a distillation run (torchrun-aware)")
    trainer.add_argument("config", help="stage YAML, or a shipped one: stage1_perception, stage2_cognition, distill")
    trainer.add_argument("--records", help="record file (JSONL or CSV)")
    trainer.add_argument("--init", help="checkpoint directory or preset to start from")
    trainer.add_argument("--output", help="output directory")
    trainer.add_argument("--steps", type=int, help="optimizer steps")
    trainer.add_argument("--batch-size", type=int, help="samples per process and step")
    trainer.add_argument("--teacher", help="teacher-outputs directory (distillation)")
    trainer.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --output")
    teacher = sub.add_parser("teacher-outputs", help="a teacher's answers and top-k logits for records (distillation)")
    teacher.add_argument("model", help="teacher checkpoint directory (e.g. a converted Emotion-LLaMA-v2)")
    teacher.add_argument("--records", required=True, help="record file (JSONL or CSV)")
    teacher.add_argument("--out", required=True, help="output directory")
    teacher.add_argument("--splits", default="train", help="comma-separated splits ('' = all)")
    teacher.add_argument("--top-k", type=int, default=16, help="logits kept per token (0: texts only)")
    evaluation = sub.add_parser("eval", help="MMEVerse metrics of a checkpoint (or stored responses) on test records")
    evaluation.add_argument("model", nargs="?", help="checkpoint directory or preset")
    evaluation.add_argument("--records", required=True, help="record file (JSONL or CSV) with labels")
    evaluation.add_argument("--out", required=True, help="report directory")
    evaluation.add_argument("--splits", default="test", help="comma-separated splits ('' = all)")
    evaluation.add_argument("--responses", help="score stored responses (JSONL: id, response) instead of a model")
    evaluation.add_argument("--wheel", help="emotion-wheel table (CSV: wheel,word,level1) for hit rate / open vocabulary")
    evaluation.add_argument("--synonyms", help="synonym table (CSV: word,synonym)")
    evaluation.add_argument("--word-forms", help="word-form table (CSV: word,base)")
    for command in (teacher, evaluation):
        command.add_argument("--max-new-tokens", type=int, default=200)
        command.add_argument("--features", help="feature cache directory (default: <out>/features); share it "
                             "between runs whose models have the same encoders")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything from --ros-args on belongs to ROS, not to argparse.
    split = argv.index("--ros-args") if "--ros-args" in argv else len(argv)
    args = build_parser().parse_args(argv[:split])
    args.ros_args = argv[split:]
    try:
        if hasattr(args, "func"):  # commands in their own module (emotion_ros/commands/)
            return args.func(args)
        if args.command == "demo":
            return run_demo(args)
        if args.command == "run":
            return run_live(args)
        if args.command == "convert":
            return run_convert(args)
        if args.command == "predict":
            return run_predict(args)
        if args.command == "export":
            return run_export(args)
        if args.command == "build-tiny":
            return run_build_tiny(args)
        if args.command == "build-engines":
            return run_build_engines(args)
        if args.command == "bench-faces":
            return run_bench_faces(args)
        if args.command == "bench-people":
            return run_bench_people(args)
        if args.command == "bench":
            return run_bench(args)
        if args.command == "bench-model":
            return run_bench_model(args)
        if args.command == "train":
            return run_train(args)
        if args.command == "teacher-outputs":
            return run_teacher_outputs(args)
        if args.command == "eval":
            return run_eval(args)
        if args.command == "import-dataset":
            return run_import_dataset(args)
        if args.command == "sample-set":
            import json

            from emotion_ros.train.synthetic_set import make_synthetic_set

            paths = make_synthetic_set(args.out, clips_per_label=args.clips_per_label)
            print(json.dumps({split: str(path) for split, path in paths.items()}))
            return 0
        if args.command == "sample-clip":
            from emotion_ros.samples.sample_clip import make_sample_clip

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
