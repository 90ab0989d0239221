"""`emotion-ros demo` and `emotion-ros run`: the sources (a media file, or camera + microphone)
and the emotion node in one process, with a live terminal view and an optional timeline plot."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from emotion_ros.commands.common import CliError, ros_args
from emotion_ros.commands.offline_play import play_offline
from emotion_ros.paths import cache_dir


def add_parser(sub) -> None:
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
        command.add_argument("--no-transcribe", action="store_true",
                             help="no speech recogniser: words come only from a clip's transcript file")
    demo.set_defaults(loop=False, func=run_demo)
    run.set_defaults(func=run_live)


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


def run_demo(args: argparse.Namespace) -> int:
    clip = sample_clip_path(args.clip)
    if args.rate == 0:  # as fast as possible: the offline pipeline, every window
        return play_offline(args, clip, Path(args.plot))
    return run_pipeline(args, clip, Path(args.plot))


def run_live(args: argparse.Namespace) -> int:
    clip = Path(args.clip) if args.clip else None
    if clip is not None and not clip.is_file():
        raise CliError(f"clip not found: {clip}")
    plot = Path(args.plot) if args.plot else None
    if clip is not None and args.rate == 0:
        return play_offline(args, clip, plot)
    return run_pipeline(args, clip, plot)


def run_pipeline(args: argparse.Namespace, clip: Path | None, plot: Path | None = None) -> int:
    """Sources (a media file, or camera + microphone) and the emotion node in one process,
    with a live terminal view; a timeline PNG at the end when ``plot`` is given."""
    from emotion_ros.eval.timeline import plot_timeline
    from emotion_ros.nodes.runner import ros_session

    with ros_session(ros_args(args.ros_args)) as stop:
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
    from emotion_ros.nodes.speech_recognizer_node import SpeechRecognizerNode

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
        if _hears(args, clip):
            sources.append(SpeechRecognizerNode())
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


def _hears(args: argparse.Namespace, clip: Path | None) -> bool:
    """Whether the speech recogniser runs: on the microphone, or on a clip without a transcript
    beside it (a transcript, which the file source publishes, wins), unless --no-transcribe."""
    from emotion_ros.io.transcript_file import sidecar

    if args.no_transcribe:
        return False
    return sidecar(clip) is None if clip is not None else args.microphone != "none"
