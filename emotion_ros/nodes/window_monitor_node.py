"""Window monitor: subscribes to `image` and `audio`, cuts windows, reports their timing.

Use it to check that a robot's camera and microphone streams line up before running
perception; it logs every window and publishes input health on /diagnostics.
"""

from __future__ import annotations

from typing import Callable

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult

from emotion_ros.nodes.managed_node import SUCCESS, ManagedNode
from emotion_ros.nodes.parameters import declare, declare_config, read_config
from emotion_ros.nodes.runner import main_for
from emotion_ros.nodes.sensor_subscriptions import SensorSubscriptions, check_sensor_parameters, declare_sensor_parameters
from emotion_ros.nodes.throttled_log import ThrottledLog
from emotion_ros.window.config import WindowConfig
from emotion_ros.window.diagnostics import input_status
from emotion_ros.window.sensor_input import SensorInput
from emotion_ros.window.window import Window


def refuse_live_window_changes(node, params) -> SetParametersResult:
    """window.* shapes the buffers: changing it needs a reconfigure, so refuse it while configured."""
    for p in params:
        if p.name.startswith("window.") and getattr(node, "input", None) is not None:
            return SetParametersResult(
                successful=False,
                reason=f"{p.name} shapes the window buffers: deactivate and clean up the node, then configure again",
            )
    return SetParametersResult(successful=True)


class WindowMonitorNode(ManagedNode):
    """Lifecycle: configure builds the window assembler, activate subscribes."""

    def __init__(self, **kwargs):
        super().__init__("window_monitor", **kwargs)
        declare_config(self, "window", WindowConfig)
        declare_sensor_parameters(self)
        declare(self, "log_windows", True, "Log one line per window.")
        declare(self, "diagnostics_period", 1.0, "Period of /diagnostics messages [s].", 0.1, 60.0)
        self.add_on_set_parameters_callback(lambda params: refuse_live_window_changes(self, params))
        self.window_listeners: list[Callable[[Window], None]] = []
        self.input: SensorInput | None = None
        self._throttled = ThrottledLog(self.get_logger().warning)
        self._sensors: SensorSubscriptions | None = None
        self._reported_rejections = 0
        self._diagnostics_pub = None
        self._timer = None

    def on_configure(self, state):
        try:
            config = read_config(self, "window", WindowConfig)
        except ValueError as exc:
            return self.fail(str(exc))
        problem = check_sensor_parameters(self)
        if problem:
            return self.fail(problem)
        self.input = SensorInput(config, report=self._throttled)
        self._sensors = SensorSubscriptions(self, self.input, self._on_windows, self._throttled)
        self._diagnostics_pub = self.create_lifecycle_publisher(DiagnosticArray, "/diagnostics", 10)
        return SUCCESS

    def start(self):
        self._sensors.start()
        self._timer = self.create_wall_timer(self.param("diagnostics_period"), self._publish_diagnostics)
        return SUCCESS

    def stop(self) -> None:
        if self._sensors is not None:
            self._sensors.stop()
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None

    def release(self) -> None:
        if self.input is not None:
            self.input.close()
        self.input = None
        self._sensors = None
        if self._diagnostics_pub is not None:
            self.destroy_lifecycle_publisher(self._diagnostics_pub)
            self._diagnostics_pub = None

    def _on_windows(self, windows: list[Window]) -> None:
        for window in windows:
            if self.param("log_windows"):
                self.get_logger().info(window.summary())
            for listener in self.window_listeners:
                listener(window)

    def _publish_diagnostics(self) -> None:
        if self.input is None or self._diagnostics_pub is None:
            return
        counters = self.input.counters()
        status = input_status(
            name=f"{self.get_name()}: sensor input",
            hardware_id=self.get_fully_qualified_name(),
            counters=counters,
            topic_ages=self._sensors.topic_ages(),
            silent_after=self.param("silent_after"),
            new_rejections=counters["rejected"] - self._reported_rejections,
            arrival_ages=self._sensors.arrival_ages(),
        )
        self._reported_rejections = counters["rejected"]
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics_pub.publish(array)


def main(args=None) -> int:
    return main_for(WindowMonitorNode, args)
