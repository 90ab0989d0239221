"""Camera driver: publishes `image` (sensor_msgs/Image) from an OpenCV device or a video file."""

from __future__ import annotations

import time

from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from emotion_ros.io.camera import CameraCapture, CaptureError
from emotion_ros.io.image import SUPPORTED_ENCODINGS, pixel_format, rgb_to_image
from emotion_ros.nodes.managed_node import SUCCESS, ManagedNode
from emotion_ros.nodes.parameters import declare
from emotion_ros.nodes.runner import main_for


class CameraNode(ManagedNode):
    """Lifecycle: configure opens the device, activate starts capturing, deactivate stops.

    Frames are stamped with the node clock at capture. A video file plays at its own frame
    rate (real frame timing) and, with `loop`, starts over at the end.
    """

    worker_name = "camera-capture"

    def __init__(self, **kwargs):
        super().__init__("camera", **kwargs)
        declare(self, "source", "0", "OpenCV device index (e.g. '0'), device path, or video file path.")
        declare(self, "frame_id", "camera", "frame_id of the published images.")
        declare(self, "width", 0, "Requested capture width [px]; 0 keeps the device default.", 0, 8192)
        declare(self, "height", 0, "Requested capture height [px]; 0 keeps the device default.", 0, 8192)
        declare(self, "fps", 0.0, "Requested frame rate [Hz]; 0 keeps the device (or file) rate.", 0.0, 240.0)
        declare(self, "encoding", "rgb8", f"Published encoding: one of {', '.join(SUPPORTED_ENCODINGS)}.")
        declare(self, "loop", True, "Restart a video file at its end.")
        self._capture: CameraCapture | None = None
        self._publisher = None
        self.frames_published = 0

    def on_configure(self, state):
        try:
            pixel_format(self.param("encoding"))  # checked before touching the device
            capture = CameraCapture(self.param("source"), self.param("width"), self.param("height"), self.param("fps"))
            capture.open()
        except (CaptureError, ValueError) as exc:
            return self.fail(str(exc))
        self._capture = capture
        self._publisher = self.create_lifecycle_publisher(Image, "image", qos_profile_sensor_data)
        self.get_logger().info(f"opened camera {self.param('source')!r} ({capture.fps:.1f} fps reported)")
        return SUCCESS

    def release(self) -> None:
        if self._capture is not None:
            self._capture.close()
            self._capture = None
        if self._publisher is not None:
            self.destroy_lifecycle_publisher(self._publisher)
            self._publisher = None

    def work(self) -> None:
        capture, encoding, frame_id = self._capture, self.param("encoding"), self.param("frame_id")
        period = 1.0 / (self.param("fps") or capture.fps or 30.0) if capture.is_file else 0.0
        next_due = time.monotonic()
        since_rewind = 0
        while self.running:
            rgb = capture.read()
            if rgb is None:
                if capture.is_file and self.param("loop") and since_rewind > 0:
                    capture.rewind()
                    since_rewind = 0
                    continue
                if capture.is_file:
                    self.get_logger().info(f"end of {capture.source}: {self.frames_published} frames published")
                else:
                    self.get_logger().error(f"camera {capture.source!r} stopped delivering frames")
                return
            since_rewind += 1
            if period:
                # Real frame timing for files: sleep until this frame is due.
                next_due += period
                time.sleep(max(0.0, next_due - time.monotonic()))
            header = Header(stamp=self.get_clock().now().to_msg(), frame_id=frame_id)
            self._publisher.publish(rgb_to_image(rgb, encoding, header))
            self.frames_published += 1


def main(args=None) -> int:
    return main_for(CameraNode, args)
