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


def listen_and_ask(node, client, seconds: float, request_for: Callable[[], object | None], answer: Callable[[object], None]) -> None:
    """Spin ``node`` for ``seconds``; once request_for() gives a request and the service is ready,
    call ``client`` with it (once) and give the response to answer()."""
    import rclpy

    future, answered = None, False
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
        if future is None and client.service_is_ready():
            request = request_for()
            if request is not None:
                future = client.call_async(request)
        if future is not None and future.done() and not answered:
            answer(future.result())
            answered = True


def write_and_shut_down(out: str, result: dict, node) -> None:
    """Write what a listener process heard as JSON, then end its ROS context."""
    import json

    import rclpy

    with open(out, "w") as handle:
        json.dump(result, handle)
    node.destroy_node()
    rclpy.shutdown()
