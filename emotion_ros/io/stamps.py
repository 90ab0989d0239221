"""builtin_interfaces/Time <-> float seconds."""

from __future__ import annotations

import math

from builtin_interfaces.msg import Time

from emotion_ros.io.errors import InvalidInput


def to_seconds(stamp: Time) -> float:
    """A header stamp as float seconds (float64 keeps ~0.2 us resolution for epoch times)."""
    return stamp.sec + stamp.nanosec * 1e-9


def to_stamp(seconds: float) -> Time:
    """Float seconds (>= 0) as a Time message, rounded to the nanosecond."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"cannot stamp a message with time {seconds!r} s")
    total = round(seconds * 1e9)
    return Time(sec=total // 1_000_000_000, nanosec=total % 1_000_000_000)


def checked_seconds(stamp: Time) -> float:
    """A sensor message's header stamp as float seconds; InvalidInput when it is negative.

    Zero is accepted: media time and simulation time start there. A driver that never stamps
    (every stamp zero) shows as duplicate stamps and an unusable topic on /diagnostics.
    """
    if stamp.sec < 0 or stamp.nanosec >= 1_000_000_000:
        raise InvalidInput("stamp", f"invalid header stamp sec={stamp.sec} nanosec={stamp.nanosec}")
    return to_seconds(stamp)
