"""Spinning lifecycle nodes in one process, with auto-configure/activate and a clean exit."""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
from rclpy.signals import SignalHandlerOptions

from emotion_ros.paths import share_dir

LARGE_FRAME_PROFILE = "fastdds_large_frames.xml"


class StartupError(RuntimeError):
    """A node failed to configure or activate; the message says why."""


def bring_up(node: LifecycleNode) -> None:
    """configure + activate, raising StartupError when a transition fails."""
    for name, transition in (("configure", node.trigger_configure), ("activate", node.trigger_activate)):
        if transition() != TransitionCallbackReturn.SUCCESS:
            reason = getattr(node, "failure_reason", "") or "see the log above"
            raise StartupError(f"{node.get_name()}: {name} failed: {reason}")


def use_large_frame_profile() -> str | None:
    """Point Fast DDS at config/fastdds_large_frames.xml (camera-sized messages over shared
    memory) unless the user chose a profile or another middleware; returns the file used."""
    rmw = os.environ.get("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    chosen = os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE") or os.environ.get("FASTRTPS_DEFAULT_PROFILES_FILE")
    if "fastrtps" not in rmw or chosen:
        return None
    path = share_dir() / "config" / LARGE_FRAME_PROFILE
    if not path.is_file():
        return None
    os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = str(path)
    return str(path)


@contextmanager
def ros_session(args: Sequence[str] | None = None) -> Iterator[threading.Event]:
    """rclpy.init ... rclpy.try_shutdown, with SIGINT and SIGTERM setting the yielded event.

    rclpy's own handlers shut the context down at once, so the nodes' shutdown transitions
    (and their log lines) would then fail on an invalid context. Here a signal only asks spin()
    to return; the caller shuts its nodes down while the context is valid, then the context
    ends. A second signal interrupts at once (KeyboardInterrupt).
    """
    use_large_frame_profile()
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    stop = threading.Event()

    def request_stop(signum, frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)} if in_main_thread else {}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        rclpy.try_shutdown()


def spin(nodes: Sequence[LifecycleNode], autostart: bool = True, until: Callable[[], bool] | None = None,
         stop: threading.Event | None = None) -> None:
    """Bring the nodes up (if autostart) and spin until Ctrl-C, ROS shutdown, ``stop`` or ``until()``.

    A single-threaded executor: the callbacks of these nodes are short, and capture runs on
    the drivers' own threads. (rclpy's multi-threaded executor re-polls busy entities and
    burns a core doing so.)
    """
    executor = SingleThreadedExecutor()
    for node in nodes:
        executor.add_node(node)
    try:
        if autostart:
            for node in nodes:
                bring_up(node)
        while rclpy.ok() and not (stop is not None and stop.is_set()) and not (until and until()):
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        for node in nodes:
            executor.remove_node(node)
        executor.shutdown()


def shut_down(nodes: Sequence[LifecycleNode]) -> None:
    """Take each node through its shutdown transition and destroy it."""
    for node in nodes:
        try:
            node.trigger_shutdown()
        except _rclpy.RCLError:
            pass  # already finalized
        node.destroy_node()


def main_for(node_class: type[LifecycleNode], args: Sequence[str] | None = None) -> int:
    """Entry point of a single-node executable (``ros2 run emotion_ros <node>``).

    Parameters come from ``--ros-args`` as usual; ``autostart`` (default true) configures and
    activates the node at once, set it to false when a lifecycle manager drives the node.
    """
    with ros_session(args) as stop:
        node = None
        try:
            node = node_class()
            autostart = node.declare_parameter("autostart", True).value
            spin([node], autostart=autostart, stop=stop)
            return 0
        except (StartupError, ParameterException, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            if node is not None:
                shut_down([node])
