"""The health of the sensor input as a diagnostic_msgs/DiagnosticStatus."""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue


def input_status(
    name: str,
    hardware_id: str,
    counters: dict[str, int],
    topic_ages: dict[str, float | None],
    silent_after: float,
    new_rejections: int,
) -> DiagnosticStatus:
    """ERROR when a subscribed topic is silent, WARN when messages were rejected, else OK.

    topic_ages: seconds since each topic last delivered an accepted message (None: never).
    new_rejections: messages rejected since the previous status.
    """
    silent = sorted(topic for topic, age in topic_ages.items() if age is None or age > silent_after)
    if silent:
        level = DiagnosticStatus.ERROR
        message = f"no data on {', '.join(silent)} for more than {silent_after:g} s"
    elif new_rejections:
        level = DiagnosticStatus.WARN
        message = f"{new_rejections} malformed message(s) rejected"
    else:
        level, message = DiagnosticStatus.OK, "receiving"
    values = [KeyValue(key=k, value=str(v)) for k, v in counters.items()]
    values += [
        KeyValue(key=f"{topic} age [s]", value="never" if age is None else f"{age:.2f}")
        for topic, age in sorted(topic_ages.items())
    ]
    return DiagnosticStatus(level=level, name=name, message=message, hardware_id=hardware_id, values=values)
