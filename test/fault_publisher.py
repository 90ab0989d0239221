"""A separate process that streams a synthetic camera and microphone in real time and injects
faults (for test_fault_injection.py).

Usage: python fault_publisher.py SCENARIO SECONDS [SUBSCRIBERS]
  (streaming starts once each topic has SUBSCRIBERS subscribers, default 1)
  rejected      compressed camera; at 2 s three decompression bombs, F32 audio of 1e20 and
                1e30, a 20 MB audio chunk, then negative stamps on both streams
  jumps         at 2 s a frame stamped a day ahead, at 3 s one stamped near 2^31 s
  zero_stamps   every camera frame stamped zero (an unstamped driver)
  audio_behind  audio stamped 180 s behind the camera
"""

import struct
import sys
import time

import cv2
import numpy as np
import rclpy
from builtin_interfaces.msg import Time
from emotion_msgs.msg import AudioFrame
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from emotion_ros.io.audio import pcm_to_audio_frame
from emotion_ros.io.image import rgb_to_compressed, rgb_to_image
from emotion_ros.io.payload import set_payload
from emotion_ros.io.stamps import to_stamp

T0 = 1000.0


def bomb() -> bytes:
    """A valid small JPEG whose frame header claims 30000 x 30000 pixels."""
    ok, jpeg = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))
    data = bytearray(jpeg.tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 30000, 30000)
    return bytes(data)


def f32_audio(value: float, stamp: float) -> AudioFrame:
    frame = AudioFrame(header=Header(stamp=to_stamp(stamp)), sample_rate=16000, channels=1, encoding="F32LE")
    set_payload(frame, np.full(1600, value, np.float32).tobytes())
    return frame


def main() -> None:
    scenario, seconds = sys.argv[1], float(sys.argv[2])
    subscribers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    rclpy.init()
    node = rclpy.create_node("fault_publisher")
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    compressed = scenario == "rejected"
    image = node.create_publisher(CompressedImage if compressed else Image, "image/compressed" if compressed else "image", qos)
    audio = node.create_publisher(AudioFrame, "audio", qos)
    # Discovery: messages sent before a subscriber is matched are lost to it (volatile QoS).
    deadline = time.monotonic() + 30.0
    while min(image.get_subscription_count(), audio.get_subscription_count()) < subscribers and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    time.sleep(0.2)  # the other side matches us too
    started, frame, chunk, injected = time.monotonic(), 0, 0, set()
    tone = (0.2 * np.sin(2 * np.pi * 220 * np.arange(1600) / 16000)).astype(np.float32)
    while (elapsed := time.monotonic() - started) < seconds:
        while frame / 15 <= elapsed:
            stamp = to_stamp(T0 + frame / 15)
            if scenario == "zero_stamps":
                stamp = Time()
            rgb = np.full((48, 64, 3), 40 + frame % 100, np.uint8)
            image.publish(rgb_to_compressed(rgb, "jpeg", header=Header(stamp=stamp)) if compressed
                          else rgb_to_image(rgb, "rgb8", Header(stamp=stamp)))
            frame += 1
        while chunk / 10 <= elapsed:
            behind = 180.0 if scenario == "audio_behind" else 0.0
            audio.publish(pcm_to_audio_frame(tone, 16000, "S16LE", Header(stamp=to_stamp(T0 + chunk / 10 - behind))))
            chunk += 1
        now = T0 + elapsed
        if scenario == "rejected" and elapsed > 2.0 and "rejected" not in injected:
            injected.add("rejected")
            for _ in range(3):
                message = CompressedImage(header=Header(stamp=to_stamp(now)), format="jpeg")
                set_payload(message, bomb())
                image.publish(message)
            audio.publish(f32_audio(1e20, now + 0.01))
            audio.publish(f32_audio(1e30, now + 0.02))
            huge = AudioFrame(header=Header(stamp=to_stamp(now + 0.03)), sample_rate=16000, channels=1, encoding="F32LE")
            set_payload(huge, np.zeros(5_000_000, np.float32).tobytes())
            audio.publish(huge)
            negative = Header(stamp=Time(sec=-995, nanosec=500_000_000))
            image.publish(rgb_to_compressed(np.zeros((48, 64, 3), np.uint8), "jpeg", header=negative))
            audio.publish(pcm_to_audio_frame(tone, 16000, "S16LE", negative))
        if scenario == "jumps" and elapsed > 2.0 and "day" not in injected:
            injected.add("day")
            image.publish(rgb_to_image(np.zeros((48, 64, 3), np.uint8), "rgb8", Header(stamp=to_stamp(now + 86400))))
        if scenario == "jumps" and elapsed > 3.0 and "2^31" not in injected:
            injected.add("2^31")
            image.publish(rgb_to_image(np.zeros((48, 64, 3), np.uint8), "rgb8", Header(stamp=Time(sec=2**31 - 10))))
        time.sleep(0.005)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
