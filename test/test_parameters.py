"""Parameters as launch files and the command line give them: every value read as YAML, and the
package's YAML files applied whatever the nodes' namespace."""

from pathlib import Path

import pytest
import rclpy
from rclpy.exceptions import InvalidParameterTypeException
from rclpy.node import Node
from rclpy.parameter import Parameter

from emotion_ros.nodes.parameters import declare

CONFIG = Path(__file__).resolve().parents[1] / "config"


def node_with(ros_args: list[str], name: str, namespace: str = "", overrides: list[Parameter] = ()) -> Node:
    context = rclpy.Context()
    rclpy.init(args=["--ros-args", *ros_args], context=context)
    return Node(name, namespace=namespace, context=context, parameter_overrides=list(overrides))


def test_yaml_typed_numbers_are_taken_as_the_declared_string_or_float():
    """`camera_source:=0` and `rate:=2` arrive as integers (launch_ros reads substitutions as YAML)."""
    node = node_with([], "camera", overrides=[Parameter("source", value=0), Parameter("device", value=2),
                                               Parameter("rate", value=2), Parameter("name", value=True)])
    try:
        assert declare(node, "source", "0", "device index or path") == "0"
        assert node.get_parameter("source").value == "0"  # stored as the string too
        assert declare(node, "device", "", "PortAudio device") == "2"
        assert declare(node, "rate", 1.0, "rate [Hz]", 0.0, 10.0) == 2.0
        with pytest.raises(InvalidParameterTypeException, match="a string"):
            declare(node, "name", "", "a name")  # a boolean is no device name
    finally:
        node.destroy_node()
        node.context.try_shutdown()


@pytest.mark.parametrize("namespace", ["", "robot1", "robots/one"])
def test_the_sensor_yaml_configures_the_nodes_in_any_namespace(namespace):
    node = node_with(["--params-file", str(CONFIG / "sensors.yaml")], "camera", namespace)
    try:
        assert declare(node, "width", 0, "width [px]", 0, 8192) == 640
        assert declare(node, "fps", 0.0, "rate [Hz]", 0.0, 240.0) == 30.0
    finally:
        node.destroy_node()
        node.context.try_shutdown()


def test_the_emotion_yaml_configures_the_node_in_any_namespace():
    node = node_with(["--params-file", str(CONFIG / "emotion.yaml")], "emotion", "robot1")
    try:
        assert declare(node, "diagnostics_period", 0.5, "period [s]", 0.1, 60.0) == 1.0
        assert declare(node, "model", "", "model") == "tiny"
    finally:
        node.destroy_node()
        node.context.try_shutdown()
