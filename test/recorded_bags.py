"""Bags as robots record them, written from the sample clip, and their offline replay (shared by
test_replay.py and the processes it starts)."""

import numpy as np
from rclpy.serialization import serialize_message
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from std_msgs.msg import Header, String

from emotion_ros.io.audio import pcm_to_audio_frame
from emotion_ros.io.image import rgb_to_compressed, rgb_to_image
from emotion_ros.io.media import VideoFrame, read_media
from emotion_ros.io.rosbag import BagWriter
from emotion_ros.io.stamps import to_stamp
from emotion_ros.io.transcript_file import read_transcript, sidecar
from emotion_ros.runtime.offline_replay import OfflineReplay, estimate_record, recorded_items

T0 = 1_700_000_000.0  # the robot's clock when it recorded


def write_bag(clip, path, storage, compressed, transcript=False):
    """The clip as a robot records it: camera and microphone topics stamped with its clock (and
    with ``transcript``, a recogniser's String on /speech 0.5 s after each sentence ends)."""
    with BagWriter(path, storage) as bag:
        for said in read_transcript(sidecar(clip)) if transcript else []:
            bag.write("/speech", String(data=said.text), int((T0 + said.t_end + 0.5) * 1e9))
        for item in read_media(str(clip), chunk=0.05):
            header = Header(stamp=to_stamp(T0 + item.stamp), frame_id="camera")
            if isinstance(item, VideoFrame):
                msg = rgb_to_compressed(item.rgb, "jpeg", header=header) if compressed else rgb_to_image(item.rgb, "rgb8", header)
                bag.write("/head_camera/image_raw" + ("/compressed" if compressed else ""), msg, int((T0 + item.stamp) * 1e9))
            else:
                bag.write("/respeaker/audio", pcm_to_audio_frame(item.samples, item.sample_rate, "S16LE", header),
                          int((T0 + item.stamp) * 1e9))
    return path


def replay(backend, path, transcribe=True):
    run = OfflineReplay(backend)
    count, items = recorded_items(path, transcribe=transcribe)
    records = [estimate_record(w, e) for kind, item in items for w, e, _ in run.feed(kind, item)]
    records += [estimate_record(w, e) for w, e, _ in run.finish()]
    for record in records:
        del record["latency_ms"]
    return count, records


# audio_common_msgs as its two maintained packages define it (it is not on PyPI: these bags
# carry the definitions, as rosbag2 records them, and are read without the package installed)
AUDIO_COMMON = {
    "ros-drivers": {
        "audio_common_msgs/msg/AudioData": "uint8[] data\n",
        "audio_common_msgs/msg/AudioDataStamped": "std_msgs/Header header\naudio_common_msgs/AudioData audio\n",
        "audio_common_msgs/msg/AudioInfo": "uint8 channels\nuint32 sample_rate\nstring sample_format\nuint32 bitrate\nstring coding_format\n",
    },
    "mgonzs13": {
        "audio_common_msgs/msg/AudioData": "float32[] float32_data\nint32[] int32_data\nint32[] int24_data\nint16[] int16_data\n"
                                           "int8[] int8_data\nuint8[] uint8_data\n",
        "audio_common_msgs/msg/AudioInfo": "int32 format\nint32 channels\nint32 rate\nint32 chunk\n",
        "audio_common_msgs/msg/Audio": "audio_common_msgs/AudioData audio_data\naudio_common_msgs/AudioInfo info\n",
        "audio_common_msgs/msg/AudioStamped": "std_msgs/Header header\naudio_common_msgs/Audio audio\n",
    },
}


def audio_common_typestore(layout):
    """rosbags' Kilted types plus ``layout``'s audio_common_msgs."""
    store = get_typestore(Stores.ROS2_KILTED)
    for msgtype, text in AUDIO_COMMON[layout].items():
        store.register(get_types_from_msg(text, msgtype))
    return store


def write_audio_common_bag(clip, path, storage, layout):
    """The clip as a robot with audio_common records it: raw images, and audio as ros-drivers'
    audio_capture publishes it (AudioDataStamped on audio/audio_stamped, its AudioInfo on
    audio/audio_info, here recorded only after the first chunks) or as mgonzs13's (AudioStamped,
    int16 samples, the format in every message)."""
    store = audio_common_typestore(layout)
    T = store.types
    plugin = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}[storage]
    with Writer(path, version=9, storage_plugin=plugin) as bag:
        image = bag.add_connection("/camera/image_raw", "sensor_msgs/msg/Image", typestore=store)
        stamped = "audio_common_msgs/msg/" + ("AudioDataStamped" if layout == "ros-drivers" else "AudioStamped")
        audio = bag.add_connection("/audio/audio_stamped", stamped, typestore=store)
        info = bag.add_connection("/audio/audio_info", "audio_common_msgs/msg/AudioInfo", typestore=store)
        chunks = 0
        for item in read_media(str(clip), chunk=0.05):
            t = T0 + item.stamp
            header = Header(stamp=to_stamp(t), frame_id="camera")
            if isinstance(item, VideoFrame):
                bag.write(image, int(t * 1e9), serialize_message(rgb_to_image(item.rgb, "rgb8", header)))
                continue
            pcm = np.round(np.clip(item.samples, -1, 1) * 32767).astype("<i2")
            head = T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=int(t), nanosec=round(t % 1 * 1e9)), frame_id="mic")
            if layout == "ros-drivers":
                msg = T[stamped](header=head, audio=T["audio_common_msgs/msg/AudioData"](data=pcm.reshape(-1).view(np.uint8)))
            else:
                empty = {name: np.zeros(0, dtype) for name, dtype in (
                    ("float32_data", np.float32), ("int32_data", np.int32), ("int24_data", np.int32), ("int8_data", np.int8),
                    ("uint8_data", np.uint8))}
                msg = T[stamped](header=head, audio=T["audio_common_msgs/msg/Audio"](
                    audio_data=T["audio_common_msgs/msg/AudioData"](int16_data=pcm.reshape(-1), **empty),
                    info=T["audio_common_msgs/msg/AudioInfo"](format=8, channels=pcm.shape[1], rate=item.sample_rate, chunk=len(pcm))))
            bag.write(audio, int(t * 1e9), store.serialize_cdr(msg, stamped))
            chunks += 1
            if layout == "ros-drivers" and chunks == 3:
                bag.write(info, int(t * 1e9), store.serialize_cdr(T["audio_common_msgs/msg/AudioInfo"](
                    channels=pcm.shape[1], sample_rate=item.sample_rate, sample_format="S16LE", bitrate=0,
                    coding_format="wave"), "audio_common_msgs/msg/AudioInfo"))
    return path
