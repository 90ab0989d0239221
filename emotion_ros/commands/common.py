"""What several `emotion-ros` commands share: the user-facing error and the ROS arguments of
the commands that run nodes."""

from __future__ import annotations

from emotion_ros.paths import share_dir


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


def ros_args(extra: list[str]) -> list[str]:
    """rclpy.init arguments: the default YAML first, so the user's --ros-args override it."""
    user = extra[1:] if extra[:1] == ["--ros-args"] else extra
    return ["emotion-ros", "--ros-args", *_default_params(), *user]
