"""Camera driver: publishes `image` (sensor_msgs/Image) from an OpenCV device or a video file.

Stamps: each frame is stamped with its capture time on the node clock (sim time under
use_sim_time): the capture backend's own buffer timestamp where it gives one (V4L2 devices),
otherwise the time just before the frame was requested; never the time after decoding.
`/diagnostics` reports the capture: ERROR while no frame arrives for `stall_timeout` or while
the device is being reopened (with back-off up to `retry_max_interval`) after it failed.
"""

from __future__ import annotations

import time
from typing import Callable

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.duration import Duration
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from emotion_ros.io.camera import CameraCapture, CapturedFrame, CaptureError, is_device
from emotion_ros.io.capture_worker import CaptureWorker
from emotion_ros.io.image import SUPPORTED_ENCODINGS, pixel_format, rgb_to_image
from emotion_ros.nodes.managed_node import SUCCESS, ManagedNode
from emotion_ros.nodes.parameters import declare
from emotion_ros.nodes.runner import main_for

LEVELS = {"capturing": DiagnosticStatus.OK, "ended": DiagnosticStatus.OK, "stopped": DiagnosticStatus.OK,
          "stalled": DiagnosticStatus.ERROR, "reopening": DiagnosticStatus.ERROR}


class CameraNode(ManagedNode):
    """Lifecycle: configure opens the device (failing with the reason), activate starts the
    capture thread, deactivate stops it. A video file plays at its own frame rate and, with
    `loop`, starts over at the end.

    open_capture: a factory for the capture (default: CameraCapture from the parameters), e.g.
    to drive the node with a simulated device.
    """

    def __init__(self, open_capture: Callable[[], object] | None = None, **kwargs):
        super().__init__("camera", **kwargs)
        declare(self, "source", "0", "OpenCV device index (e.g. '0'), device path, or video file path.")
        declare(self, "frame_id", "camera", "frame_id of the published images.")
        declare(self, "width", 0, "Requested capture width [px]; 0 keeps the device default.", 0, 8192)
        declare(self, "height", 0, "Requested capture height [px]; 0 keeps the device default.", 0, 8192)
        declare(self, "fps", 0.0, "Requested frame rate [Hz]; 0 keeps the device (or file) rate.", 0.0, 240.0)
        declare(self, "encoding", "rgb8", f"Published encoding: one of {', '.join(SUPPORTED_ENCODINGS)}.")
        declare(self, "loop", True, "Restart a video file at its end.")
        declare(self, "stall_timeout", 2.0, "No frame for this long is an ERROR on /diagnostics [s].", 0.1, 600.0)
        declare(self, "retry_max_interval", 10.0,
                "A device that stops delivering frames is reopened after 0.5 s, then twice as long each time, "
                "up to this [s].", 0.5, 600.0)
        declare(self, "diagnostics_period", 1.0, "Period of /diagnostics messages [s].", 0.1, 60.0)
        self._open_capture = open_capture or self._default_capture
        self._capture = None
        self._capture_worker: CaptureWorker | None = None
        self._publisher = self._diagnostics = self._timer = None
        self.frames_published = 0

    def _default_capture(self) -> CameraCapture:
        capture = CameraCapture(self.param("source"), self.param("width"), self.param("height"), self.param("fps"))
        capture.open()
        return capture

    def on_configure(self, state):
        try:
            pixel_format(self.param("encoding"))  # checked before touching the device
            self._capture = self._open_capture()
        except ValueError as exc:
            return self.fail(str(exc))
        except CaptureError as exc:
            if not is_device(self.param("source")):  # a missing file will not appear: a configuration error
                return self.fail(str(exc))
            # A camera not plugged in (yet): the node runs, tries again and says so on /diagnostics.
            self.get_logger().warning(f"{exc}: trying again when active, reported on /diagnostics")
        self._publisher = self.create_lifecycle_publisher(Image, "image", qos_profile_sensor_data)
        self._diagnostics = self.create_lifecycle_publisher(DiagnosticArray, "/diagnostics", 10)
        if self._capture is not None:
            fps = getattr(self._capture, "fps", 0.0)
            self.get_logger().info(f"opened camera {self.param('source')!r} ({fps:.1f} fps reported)")
        return SUCCESS

    def start(self):
        capture, self._capture = self._capture, None  # the capture thread owns the device from now on
        period = 0.0
        if capture is not None and capture.is_file:
            period = 1.0 / (self.param("fps") or getattr(capture, "fps", 0.0) or 30.0)
        self._capture_worker = CaptureWorker(self._open_capture, self._publish, capture, stall_after=self.param("stall_timeout"),
                                     retry_max=self.param("retry_max_interval"), loop_file=self.param("loop"),
                                     period=period, log=self.get_logger().warning).start()
        self._timer = self.create_wall_timer(self.param("diagnostics_period"), self._publish_diagnostics)
        return SUCCESS

    def stop(self) -> None:
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None
        if self._capture_worker is not None and not self._capture_worker.stop():
            self.get_logger().warning("the camera read is blocked: the device will be closed when it returns")
        self._capture_worker = None

    def release(self) -> None:
        if self._capture is not None:  # configured, never activated
            self._capture.close()
            self._capture = None
        for publisher in (self._publisher, self._diagnostics):
            if publisher is not None:
                self.destroy_lifecycle_publisher(publisher)
        self._publisher = self._diagnostics = None

    def _publish(self, frame: CapturedFrame) -> None:
        elapsed = max(0.0, time.monotonic() - frame.captured_at)
        stamp = self.get_clock().now() - Duration(nanoseconds=int(elapsed * 1e9))
        header = Header(stamp=stamp.to_msg(), frame_id=self.param("frame_id"))
        self._publisher.publish(rgb_to_image(frame.rgb, self.param("encoding"), header))
        self.frames_published += 1

    def _publish_diagnostics(self) -> None:
        worker = self._capture_worker
        if worker is None or self._diagnostics is None:
            return
        status = worker.status()
        age = "never" if status.last_frame_age is None else f"{status.last_frame_age:.2f}"
        values = {"source": self.param("source"), "frames": str(status.frames), "reopened": str(status.reopens),
                  "last frame age [s]": age}
        array = DiagnosticArray(status=[DiagnosticStatus(
            level=LEVELS[status.state], name=f"{self.get_name()}: capture", message=status.message,
            hardware_id=str(self.param("source")), values=[KeyValue(key=k, value=v) for k, v in values.items()])])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics.publish(array)


def main(args=None) -> int:
    return main_for(CameraNode, args)
