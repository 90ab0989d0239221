"""The health of the perception pipeline as a diagnostic_msgs/DiagnosticStatus."""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue


def perception_status(
    name: str,
    hardware_id: str,
    values: dict[str, object],
    p99_ms: float | None,
    stride: float,
    new_errors: int,
    last_error: str,
) -> DiagnosticStatus:
    """ERROR when the backend failed since the last status, WARN when the p99 latency
    exceeds the stride (estimates fall behind the sensors), else OK."""
    if new_errors:
        level, message = DiagnosticStatus.ERROR, f"backend failed on {new_errors} window(s): {last_error}"
    elif p99_ms is not None and p99_ms > stride * 1000:
        level, message = DiagnosticStatus.WARN, f"p99 latency {p99_ms:.0f} ms exceeds the {stride * 1000:.0f} ms stride"
    else:
        level, message = DiagnosticStatus.OK, "running"
    return DiagnosticStatus(
        level=level, name=name, message=message, hardware_id=hardware_id,
        values=[KeyValue(key=k, value=str(v)) for k, v in values.items()],
    )
