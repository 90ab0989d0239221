"""Helpers for tests that run real ROS 2 nodes in this process."""

from __future__ import annotations

import time
from typing import Callable

from rclpy.executors import SingleThreadedExecutor


def spin_until(nodes, condition: Callable[[], bool], timeout: float) -> bool:
    """Spin the nodes until condition() holds or timeout [s] passes; returns condition()."""
    executor = SingleThreadedExecutor()
    for node in nodes:
        executor.add_node(node)
    deadline = time.monotonic() + timeout
    try:
        while not condition() and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
    finally:
        for node in nodes:
            executor.remove_node(node)
        executor.shutdown()
    return condition()
