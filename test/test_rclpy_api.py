"""The rclpy API the package uses stays inside what every distribution the README names offers."""

import ast
import inspect
import re
from pathlib import Path

import rclpy
import rclpy.client
import rclpy.executors
import rclpy.lifecycle
import rclpy.node
import rclpy.publisher
import rclpy.subscription
import rclpy.task
import rclpy.timer
from rclpy.parameter import Parameter

import emotion_ros
from emotion_ros.nodes.perception_node import PerceptionNode
from emotion_ros.nodes.rclpy_api import DISTRIBUTIONS, RCLPY_API, RCLPY_IMPORTS, SUPPORTED, available_in
from emotion_ros.nodes.runner import bring_up, shut_down

PACKAGE = Path(emotion_ros.__file__).parent
README = PACKAGE.parent / "README.md"


def rclpy_calls() -> set[str]:
    """Public methods of rclpy's nodes, entities, futures and executors, and the rclpy module's functions."""
    names = set()
    owners = (rclpy.node.Node, rclpy.lifecycle.LifecycleNode, rclpy.executors.SingleThreadedExecutor, rclpy.publisher.Publisher,
              rclpy.subscription.Subscription, rclpy.client.Client, rclpy.timer.Timer, rclpy.task.Future, rclpy)
    for owner in owners:
        for name, value in inspect.getmembers(owner):
            if not name.startswith("_") and callable(value) and not inspect.isclass(value) \
                    and (getattr(value, "__module__", None) or "").startswith("rclpy"):
                names.add(name)
    return names


def uses_of_rclpy() -> dict[str, set[str]]:
    """{api name or 'module:name': files} over the ROS side of the package (nodes/, behaviours/
    and every module that imports rclpy)."""
    calls, used = rclpy_calls(), {}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        if path.parent.name not in ("nodes", "behaviours") and not any(isinstance(n, ast.ImportFrom) and (n.module or "").startswith("rclpy")
                   or isinstance(n, ast.Import) and any(a.name.startswith("rclpy") for a in n.names) for n in imports):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in calls:
                used.setdefault(node.attr, set()).add(path.name)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rclpy"):
                for alias in node.names:
                    used.setdefault(f"{node.module}:{alias.name}", set()).add(path.name)
    return used


def test_every_rclpy_call_the_package_makes_is_in_the_table():
    used = uses_of_rclpy()
    unknown = sorted(n for n in used if ":" not in n and n not in RCLPY_API)
    unknown += sorted(n for n in used if ":" in n and tuple(n.split(":")) not in RCLPY_IMPORTS)
    assert not unknown, f"rclpy API used but not in nodes/rclpy_api.py (add it with its first distribution): {unknown}"
    assert {n for n in used if ":" not in n} >= {"create_lifecycle_publisher", "add_on_set_parameters_callback"}


def test_the_table_matches_the_installed_rclpy():
    calls = rclpy_calls()
    assert set(RCLPY_API) <= calls, sorted(set(RCLPY_API) - calls)
    for module, name in RCLPY_IMPORTS:
        assert hasattr(__import__(module, fromlist=[name]), name), f"{module}.{name}"
    assert all(first in DISTRIBUTIONS for first in list(RCLPY_API.values()) + list(RCLPY_IMPORTS.values()))


def test_calls_missing_from_a_supported_distribution_go_through_a_fallback():
    partial = {name for name, first in RCLPY_API.items() if available_in(first) != SUPPORTED}
    assert "add_post_set_parameters_callback" in partial  # Iron and later only
    outside = {name: files - {"rclpy_api.py"} for name, files in uses_of_rclpy().items() if name in partial}
    assert not any(outside.values()), f"call these through nodes/rclpy_api.py's fallbacks: {outside}"


def test_the_readme_names_exactly_the_supported_distributions():
    heading = re.search(r"## With a ROS 2 distribution \(([^)]*)\)", README.read_text()).group(1)
    assert [d.strip().lower() for d in heading.split(",")] == list(SUPPORTED)


class HumbleNode(PerceptionNode):
    """rclpy as in Humble: no post-set parameter callback."""

    def __getattribute__(self, name):
        if name == "add_post_set_parameters_callback":
            raise AttributeError(name)
        return super().__getattribute__(name)


def test_live_parameters_apply_without_a_post_set_callback(ros):
    emotion = HumbleNode(parameter_overrides=[Parameter("explanation.rate", value=1.0)])
    try:
        bring_up(emotion)
        assert emotion.set_parameters([Parameter("event.min_dwell", value=3.0)])[0].successful
        assert emotion._debouncer.min_dwell == 3.0 and emotion.param("event.min_dwell") == 3.0
        assert emotion.set_parameters([Parameter("explanation.rate", value=4.0)])[0].successful
        assert emotion._explanation_timer.timer_period_ns == 250_000_000
        refused = emotion.set_parameters([Parameter("window.stride", value=0.25)])[0]
        assert not refused.successful and emotion._debouncer.min_dwell == 3.0
    finally:
        shut_down([emotion])
