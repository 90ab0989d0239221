"""The rclpy API this package relies on, per ROS 2 distribution, and fallbacks where it differs.

Every rclpy call the package makes is listed in ``RCLPY_API`` with the first distribution that
has it; test_rclpy_api.py walks the package's source and fails on a call missing from the table,
on a table entry the installed rclpy lacks, and on a call that some supported distribution lacks
made anywhere but here, behind feature detection.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from rcl_interfaces.msg import SetParametersResult

DISTRIBUTIONS = ("humble", "iron", "jazzy", "kilted")  # in release order
SUPPORTED = ("humble", "jazzy", "kilted")  # what the README claims
ALL = DISTRIBUTIONS[0]  # in every supported distribution

# Node, LifecycleNode, entity, future, executor and rclpy-module calls, with the first
# distribution that has them.
RCLPY_API: dict[str, str] = {
    # rclpy module
    "init": ALL, "ok": ALL, "shutdown": ALL, "try_shutdown": ALL, "spin": ALL, "create_node": ALL,
    # Node: entities
    "create_publisher": ALL, "destroy_publisher": ALL, "create_subscription": ALL, "destroy_subscription": ALL,
    "create_service": ALL, "destroy_service": ALL, "create_timer": ALL, "destroy_timer": ALL,
    "destroy_node": ALL, "count_publishers": ALL, "resolve_topic_name": ALL,
    # Node: parameters
    "declare_parameter": ALL, "undeclare_parameter": ALL, "get_parameter": ALL, "has_parameter": ALL,
    "set_parameters": ALL, "add_on_set_parameters_callback": ALL,
    "add_post_set_parameters_callback": "iron",  # rclpy#966
    # Node: identity, logging, time
    "get_name": ALL, "get_fully_qualified_name": ALL, "get_logger": ALL, "get_clock": ALL,
    # LifecycleNode (rclpy.lifecycle is in Humble)
    "create_lifecycle_publisher": ALL, "destroy_lifecycle_publisher": ALL, "trigger_configure": ALL,
    "trigger_activate": ALL, "trigger_shutdown": ALL, "on_activate": ALL, "on_deactivate": ALL, "on_cleanup": ALL,
    # executors
    "add_node": ALL, "remove_node": ALL, "spin_once": ALL,
    # publishers, timers, futures (a name our own classes share is listed too: the check is by name)
    "publish": ALL, "get_subscription_count": ALL, "reset": ALL, "done": ALL, "set_result": ALL,
}

# `from rclpy.<module> import <name>` imports the package makes.
RCLPY_IMPORTS: dict[tuple[str, str], str] = {
    ("rclpy.callback_groups", "ReentrantCallbackGroup"): ALL,
    ("rclpy.clock", "Clock"): ALL,  # Clock(clock_type=STEADY_TIME), and create_timer(clock=), since Foxy
    ("rclpy.clock", "ClockType"): ALL,
    ("rclpy.duration", "Duration"): ALL,
    ("rclpy.exceptions", "InvalidParameterTypeException"): ALL,
    ("rclpy.exceptions", "ParameterException"): ALL,
    ("rclpy.executors", "ExternalShutdownException"): ALL,
    ("rclpy.executors", "SingleThreadedExecutor"): ALL,
    ("rclpy.impl.implementation_singleton", "rclpy_implementation"): ALL,
    ("rclpy.lifecycle", "LifecycleNode"): ALL,
    ("rclpy.lifecycle", "TransitionCallbackReturn"): ALL,
    ("rclpy.node", "Node"): ALL,
    ("rclpy.parameter", "Parameter"): ALL,
    ("rclpy.qos", "DurabilityPolicy"): ALL,
    ("rclpy.qos", "QoSProfile"): ALL,
    ("rclpy.qos", "ReliabilityPolicy"): ALL,
    ("rclpy.qos", "qos_profile_sensor_data"): ALL,
    ("rclpy.serialization", "deserialize_message"): ALL,  # since Foxy
    ("rclpy.serialization", "serialize_message"): ALL,
    ("rclpy.signals", "SignalHandlerOptions"): ALL,  # rclpy.init(signal_handler_options=...) since Humble
    ("rclpy.task", "Future"): ALL,
}


def available_in(first: str) -> tuple[str, ...]:
    """The supported distributions that have an API first released in ``first``."""
    return tuple(d for d in SUPPORTED if DISTRIBUTIONS.index(d) >= DISTRIBUTIONS.index(first))


def on_parameters_set(node: Any, check: Callable[[list], SetParametersResult], apply: Callable[[list], None]) -> None:
    """Validate parameter changes with ``check`` and act on accepted ones with ``apply``.

    ``apply(params)`` must take the new values from the Parameter objects. Iron and later call it
    after the values are stored (post-set callback); Humble has no such callback, so there it runs
    at the end of the validating callback, once ``check`` has accepted the change.
    """
    if hasattr(node, "add_post_set_parameters_callback"):
        node.add_on_set_parameters_callback(check)
        node.add_post_set_parameters_callback(apply)
        return

    def check_then_apply(params: Iterable) -> SetParametersResult:
        result = check(params)
        if result.successful:
            apply(list(params))
        return result

    node.add_on_set_parameters_callback(check_then_apply)
