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
    arrival_ages: dict[str, float | None] | None = None,
) -> DiagnosticStatus:
    """ERROR when a subscribed topic gives no usable data, WARN when messages were rejected,
    else OK.

    topic_ages: seconds since each topic last delivered data the windows took (None: never).
    arrival_ages: seconds since each topic last delivered any message: a topic whose messages
    arrive but are all unusable (rejected, duplicate stamps, too far behind the other stream)
    is reported as such rather than as silent.
    new_rejections: messages rejected since the previous status.
    """
    arrival_ages = arrival_ages or {}
    unusable = lambda topic: topic_ages[topic] is None or topic_ages[topic] > silent_after  # noqa: E731
    arriving = lambda topic: arrival_ages.get(topic) is not None and arrival_ages[topic] <= silent_after  # noqa: E731
    silent = sorted(topic for topic in topic_ages if unusable(topic) and not arriving(topic))
    useless = sorted(topic for topic in topic_ages if unusable(topic) and arriving(topic))
    if silent or useless:
        level = DiagnosticStatus.ERROR
        problems = [f"no data on {', '.join(silent)} for more than {silent_after:g} s"] if silent else []
        if useless:
            problems.append(f"messages on {', '.join(useless)} arrive but none was usable for more than {silent_after:g} s "
                            "(rejected, duplicate stamps such as an unstamped driver's zeros, or too far behind sensor time: "
                            "see the counters)")
        message = "; ".join(problems)
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
