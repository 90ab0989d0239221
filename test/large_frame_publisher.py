"""A separate process that publishes camera-sized rgb8 frames at 30 fps with the sensor-data QoS
(best effort), as a robot's camera driver does, plus 16 kHz audio (for test_large_frames.py).

Usage: python large_frame_publisher.py WIDTH HEIGHT SECONDS
"""

import sys
import time

import numpy as np
import rclpy
from emotion_msgs.msg import AudioFrame
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from emotion_ros.io.audio import pcm_to_audio_frame
from emotion_ros.io.image import rgb_to_image
from emotion_ros.io.stamps import to_stamp


def main() -> None:
    width, height, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    rclpy.init()
    node = rclpy.create_node("large_frame_camera")
    image = node.create_publisher(Image, "image", qos_profile_sensor_data)
    audio = node.create_publisher(AudioFrame, "audio", qos_profile_sensor_data)
    frame = rgb_to_image(np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8), "rgb8", Header())
    tone = (0.1 * np.sin(2 * np.pi * 220 * np.arange(1600) / 16000)).astype(np.float32)
    deadline = time.monotonic() + 10
    while image.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    started, sent = time.monotonic(), 0
    while sent < seconds * 30:
        frame.header.stamp = to_stamp(1000.0 + sent / 30)
        image.publish(frame)
        if sent % 3 == 0:
            audio.publish(pcm_to_audio_frame(tone, 16000, "S16LE", Header(stamp=to_stamp(1000.0 + sent / 30))))
        sent += 1
        time.sleep(max(0.0, started + sent / 30 - time.monotonic()))
    print(sent, flush=True)
    time.sleep(0.5)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
