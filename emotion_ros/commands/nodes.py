"""`emotion-ros camera|microphone|file-source|window-monitor|emotion|speech-recognizer [--ros-args ...]`: one node,
with config/sensors.yaml and config/emotion.yaml as its defaults."""

from __future__ import annotations

import argparse

from emotion_ros.commands.common import ros_args

NODES = {
    "camera": "emotion_ros.nodes.camera_node:CameraNode",
    "microphone": "emotion_ros.nodes.microphone_node:MicrophoneNode",
    "file-source": "emotion_ros.nodes.file_source_node:FileSourceNode",
    "window-monitor": "emotion_ros.nodes.window_monitor_node:WindowMonitorNode",
    "emotion": "emotion_ros.nodes.perception_node:PerceptionNode",
    "speech-recognizer": "emotion_ros.nodes.speech_recognizer_node:SpeechRecognizerNode",
}


def add_parser(sub) -> None:
    for name in NODES:
        sub.add_parser(name, help=f"run the {name} node (ROS arguments after --ros-args)").set_defaults(func=run_node)


def _load(dotted: str):
    # imported only when run: the node modules pull in rclpy and the model
    module, name = dotted.split(":")
    return getattr(__import__(module, fromlist=[name]), name)


def run_node(args: argparse.Namespace) -> int:
    from emotion_ros.nodes.runner import main_for

    return main_for(_load(NODES[args.command]), ros_args(args.ros_args))
