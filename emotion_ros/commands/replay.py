"""`emotion-ros replay`: a recorded bag or media file through the node's pipeline, offline and
lossless (every window, in order), with a progress bar, a JSONL of the states and a summary."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def add_parser(sub) -> None:
    replay = sub.add_parser("replay", help="a rosbag2 bag (MCAP or sqlite3) or a media file through the pipeline, "
                            "offline: every window, the same states on every run (JSONL)")
    replay.add_argument("path", help="a bag directory (with metadata.yaml) or a media file")
    replay.add_argument("--image-topic", help="the bag's camera topic (default: its only Image or CompressedImage topic)")
    replay.add_argument("--audio-topic", help="the bag's microphone topic (default: its only audio topic)")
    replay.add_argument("--speech-topic", help="the bag's speech-recogniser topic, std_msgs/String or hri_msgs/LiveSpeech "
                        "(default: the only one named .../speech)")
    replay.add_argument("--no-transcribe", action="store_true",
                        help="a media file without a transcript beside it: do not transcribe its audio (no words)")
    replay.add_argument("--model", default="tiny", help="checkpoint, export directory or preset")
    replay.add_argument("--backend", default="auto", help="auto, onnxruntime, torch or tensorrt")
    replay.add_argument("--out", help="write one JSON line per window here (default: standard output)")
    replay.add_argument("--bag-out", help="also write the states (/emotion/state, /emotion/people) to a new MCAP bag here")
    replay.add_argument("--compare", help="another replay's JSONL: report where the two disagree (JSON)")
    replay.add_argument("--plot", help="with --compare: a timeline of both runs (PNG)")
    replay.add_argument("--explain-rate", type=float, default=0.0,
                        help="explain the main person every 1/rate seconds of the recording (0: never): an "
                        "\"explanation\" in the JSONL, /emotion/explanation in --bag-out")
    replay.add_argument("--publish", action="store_true",
                        help="instead: publish the bag's camera, microphone and speech on image (or image/compressed), audio "
                        "and speech at "
                        "the recorded rate, with /clock, for a running emotion node with use_sim_time")
    replay.add_argument("--rate", type=float, default=1.0, help="with --publish: a multiple of the recorded pace")
    replay.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from emotion_ros.eval.run_comparison import compare_runs, plot_comparison, read_states
    from emotion_ros.io.rosbag import BagWriter
    from emotion_ros.runtime.backends import create_backend
    from emotion_ros.runtime.messages import estimate_to_msg, explanation_to_msg, people_to_msg
    from emotion_ros.runtime.offline_replay import OfflineReplay, PeriodicExplainer, estimate_record, recorded_items
    from emotion_ros.window.config import emotion_node_parameters

    path = Path(args.path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if args.publish:
        return publish(args, path)
    count, items = recorded_items(path, args.image_topic, args.audio_topic, args.speech_topic,
                                  transcribe=not args.no_transcribe)
    replay = OfflineReplay(create_backend(args.backend, args.model))
    backend = replay.estimator.backend
    explain = PeriodicExplainer(backend, args.explain_rate, emotion_node_parameters()["explanation"]["max_new_tokens"])
    # the states go to --out, else to standard output (unless --compare's report goes there)
    out = open(args.out or os.devnull, "w") if args.out or args.compare else sys.stdout
    bag = BagWriter(args.bag_out) if args.bag_out else None
    started, records = time.monotonic(), []

    def emit(window, estimate, contexts) -> None:
        explanation = explain(estimate, contexts)
        records.append(estimate_record(window, estimate))
        if explanation is not None:
            records[-1]["explanation"] = explanation.text
        out.write(json.dumps(records[-1]) + "\n")
        if bag is not None:
            stamp = round(estimate.t_end * 1e9)
            bag.write("/emotion/state", estimate_to_msg(estimate, "camera", backend.model_id), stamp)
            if estimate.reads_faces:
                bag.write("/emotion/people", people_to_msg(estimate, "camera", backend.model_id), stamp)
            if explanation is not None:
                bag.write("/emotion/explanation", explanation_to_msg(explanation, "camera", backend.model_id), stamp)

    try:
        with tqdm(total=count, unit="msg", disable=None, file=sys.stderr) as bar:
            for kind, item in items:
                for window, estimate, contexts in replay.feed(kind, item):
                    emit(window, estimate, contexts)
                bar.update()
                bar.set_postfix(windows=replay.windows, refresh=False)
            for window, estimate, contexts in replay.finish():
                emit(window, estimate, contexts)
    finally:
        if out is not sys.stdout:
            out.close()
        if bag is not None:
            bag.close()
    wall = time.monotonic() - started
    assembler = replay.input.assembler
    covered = assembler.clock - assembler.first if assembler.clock is not None else 0.0
    first, last = (records[0]["t_end"], records[-1]["t_end"]) if records else (None, None)
    summary = {"windows": replay.windows, "first_window_end": first, "last_window_end": last,
               "input_seconds": round(covered, 3), "wall_seconds": round(wall, 3),
               "real_time_factor": round(covered / wall, 2) if wall > 0 else None,
               "rejected": sum(replay.input.rejected.values())}
    print(json.dumps(summary), file=sys.stderr)
    if args.compare:
        other = read_states(args.compare)
        print(json.dumps(compare_runs(records, other)))
        if args.plot:
            print(f"timeline: {plot_comparison(records, other, args.plot, ('this run', Path(args.compare).name))}",
                  file=sys.stderr)
    return 0


def publish(args: argparse.Namespace, path: Path) -> int:
    """--publish: the bag over DDS at the recorded pace, with /clock."""
    import rclpy

    from emotion_ros.nodes.bag_player import BagPlayer
    from emotion_ros.nodes.runner import ros_session

    with ros_session(args.ros_args) as stop:
        node = rclpy.create_node("bag_player")
        try:
            player = BagPlayer(node, path, args.image_topic, args.audio_topic, args.rate, args.speech_topic)
            deadline = time.monotonic() + 10.0
            while player.subscribers() == 0 and time.monotonic() < deadline and not stop.is_set():
                time.sleep(0.05)  # the node's subscriptions: without them the start is lost
            if player.subscribers() == 0:
                print("no subscriber on the played topics after 10 s: publishing anyway", file=sys.stderr)
            started = time.monotonic()
            count = player.play(stop)
        finally:
            node.destroy_node()
    print(json.dumps({"published": count, "wall_seconds": round(time.monotonic() - started, 3)}), file=sys.stderr)
    return 0

