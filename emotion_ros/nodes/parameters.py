"""Declaring ROS parameters with descriptions and ranges, including from config dataclasses."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import InvalidParameterTypeException
from rclpy.node import Node
from rclpy.parameter import Parameter


def declare(node: Node, name: str, default: Any, description: str, low=None, high=None, read_only: bool = False) -> Any:
    """Declare one parameter with a description (and a range for numbers); return its value."""
    descriptor = ParameterDescriptor(description=description, read_only=read_only)
    if low is not None and high is not None and not isinstance(default, bool):
        if isinstance(default, int):
            descriptor.integer_range = [IntegerRange(from_value=int(low), to_value=int(high), step=0)]
        elif isinstance(default, float):
            descriptor.floating_point_range = [FloatingPointRange(from_value=float(low), to_value=float(high), step=0.0)]
    try:
        return node.declare_parameter(name, default, descriptor).value
    except InvalidParameterTypeException:
        if isinstance(default, bool) or not isinstance(default, (float, str)):
            raise
    # Launch files and `-p name:=value` read every value as YAML: `rate:=0` arrives as an
    # integer (taken as a float) and `source:=0` as one too (taken as its text, "0").
    descriptor.dynamic_typing = True
    value = node.declare_parameter(name, default, descriptor).value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        node.undeclare_parameter(name)
        raise InvalidParameterTypeException(Parameter(name, value=value), "a string" if isinstance(default, str) else "a number")
    if isinstance(default, str):
        node.set_parameters([Parameter(name, Parameter.Type.STRING, str(value))])
        return str(value)
    if low is not None and not low <= value <= high:
        node.undeclare_parameter(name)
        raise ValueError(f"parameter {name} = {value} is outside [{low}, {high}]")
    node.set_parameters([Parameter(name, Parameter.Type.DOUBLE, float(value))])
    return float(value)


def declare_config(node: Node, prefix: str, config_class: type) -> Any:
    """Declare one parameter per field of a config dataclass (``prefix.field``) and build it.

    Field metadata gives each parameter's description and range; the dataclass validates the
    combination, so a bad value fails configuration with its own message.
    """
    defaults = config_class()
    values = {}
    for f in fields(config_class):
        low, high = f.metadata.get("range", (None, None))
        values[f.name] = declare(node, f"{prefix}.{f.name}", getattr(defaults, f.name), f.metadata.get("help", ""), low, high)
    return config_class(**values)


def read_config(node: Node, prefix: str, config_class: type) -> Any:
    """Build a config dataclass from already-declared ``prefix.*`` parameters."""
    return config_class(**{f.name: node.get_parameter(f"{prefix}.{f.name}").value for f in fields(config_class)})
