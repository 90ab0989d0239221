"""Filling the uint8[] payload of a message quickly."""

from __future__ import annotations


def set_payload(msg, payload: bytes) -> None:
    """Set ``msg.data`` (a uint8[] field) from bytes.

    The generated setter wraps bytes into array.array('B'), which rclpy's C conversion then
    copies element by element at publish time: about 35 ms for one 512x512 RGB frame,
    against 0.6 ms for bytes (measured with serialize_message). The generated class keeps
    the value in ``_data``, which accepts bytes, so store them there directly.
    """
    if not isinstance(payload, bytes):
        raise TypeError(f"payload must be bytes, got {type(payload).__name__}")
    if hasattr(msg, "_data"):
        msg._data = payload
    else:  # a message class generated differently: the public setter is always correct
        msg.data = payload
