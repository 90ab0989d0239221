"""rosbag2 bags (MCAP or sqlite3) without a ROS install.

The `rosbags` library reads and writes the container; rclpy (de)serialises the messages, so a
message read from a bag is the same object a subscription would deliver. A type that is not
installed here (audio_common_msgs is not on PyPI) is read with the definition the bag carries,
into an object with the same fields.
"""

from __future__ import annotations

import importlib
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from rclpy.serialization import deserialize_message, serialize_message
from rosbags.rosbag2 import Reader, ReaderError, StoragePlugin, Writer, WriterError
from rosbags.interfaces import MessageDefinitionFormat
from rosbags.typesys import Stores, get_types_from_idl, get_types_from_msg, get_typestore

IMAGE_TYPES = {"sensor_msgs/msg/Image": "image", "sensor_msgs/msg/CompressedImage": "compressed"}
AUDIO_TYPES = {"emotion_msgs/msg/AudioFrame": "audio_frame", "audio_common_msgs/msg/AudioStamped": "audio_common_stamped",
               "audio_common_msgs/msg/AudioDataStamped": "audio_common_data"}
AUDIO_INFO_TYPE = "audio_common_msgs/msg/AudioInfo"  # the format of an AudioDataStamped stream
# a speech recogniser's output; picked without --speech-topic only on a topic named .../speech
TRANSCRIPT_TYPES = {"std_msgs/msg/String": "transcript", "hri_msgs/msg/LiveSpeech": "live_speech"}
STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}


class BagError(RuntimeError):
    """A bag that cannot be read or written, or whose topics cannot be chosen; the message says why."""


def message_class(msgtype: str) -> type:
    """"sensor_msgs/msg/Image" -> the rclpy message class (BagError when it is not installed)."""
    package, _, name = msgtype.split("/")
    try:
        return getattr(importlib.import_module(f"{package}.msg"), name)
    except (ImportError, AttributeError) as exc:
        raise BagError(f"message type {msgtype} is not installed here") from exc


@dataclass(frozen=True)
class SensorTopics:
    """The bag's camera, microphone and speech-recogniser topics and how to read them
    (IMAGE_TYPES / AUDIO_TYPES / TRANSCRIPT_TYPES values); audio_info: the AudioInfo topic of an
    AudioDataStamped stream."""

    image: str | None
    image_kind: str | None
    audio: str | None
    audio_kind: str | None
    audio_info: str | None = None
    speech: str | None = None
    speech_kind: str | None = None

    def kinds(self) -> dict[str, str]:
        """topic -> kind of every topic to read ("audio_info" for the AudioInfo topic)."""
        pairs = ((self.image, self.image_kind), (self.audio, self.audio_kind), (self.audio_info, "audio_info"),
                 (self.speech, self.speech_kind))
        return {topic: kind for topic, kind in pairs if topic is not None}


def _pick(connections: dict[str, str], types: dict[str, str], chosen: str | None, what: str) -> tuple[str | None, str | None]:
    if chosen is not None:
        if chosen not in connections:
            raise BagError(f"the bag has no topic {chosen} (topics: {', '.join(sorted(connections))})")
        if connections[chosen] not in types:
            raise BagError(f"{chosen} is {connections[chosen]}, not {what} ({', '.join(types)})")
        return chosen, types[connections[chosen]]
    found = sorted(topic for topic, msgtype in connections.items() if msgtype in types)
    if len(found) > 1:
        raise BagError(f"the bag has several {what} topics ({', '.join(found)}): choose one")
    return (found[0], types[connections[found[0]]]) if found else (None, None)


def sensor_topics(path: str | Path, image_topic: str | None = None, audio_topic: str | None = None,
                  speech_topic: str | None = None) -> SensorTopics:
    """The camera, microphone and speech-recogniser topics of a bag: the given ones, else the only
    one of each type (for words, the only String or LiveSpeech topic named .../speech)."""
    with open_bag(path) as reader:
        connections = {c.topic: c.msgtype for c in reader.connections}
    image, image_kind = _pick(connections, IMAGE_TYPES, image_topic, "image")
    audio, audio_kind = _pick(connections, AUDIO_TYPES, audio_topic, "audio")
    if image is None and audio is None:
        raise BagError(f"{path} has no image or audio topic (topics: {', '.join(sorted(connections)) or 'none'})")
    info = _audio_info_topic(connections, audio) if audio_kind == "audio_common_data" else None
    named = connections if speech_topic else {t: m for t, m in connections.items() if t.rsplit("/", 1)[-1] == "speech"}
    speech, speech_kind = _pick(named, TRANSCRIPT_TYPES, speech_topic, "speech")
    return SensorTopics(image, image_kind, audio, audio_kind, info, speech, speech_kind)


def _audio_info_topic(connections: dict[str, str], audio: str) -> str:
    """The AudioInfo topic of ``audio``: its sibling `audio_info` (audio_capture's layout), else the only one."""
    found = sorted(topic for topic, msgtype in connections.items() if msgtype == AUDIO_INFO_TYPE)
    sibling = audio.rsplit("/", 1)[0] + "/audio_info"
    if sibling in found or len(found) == 1:
        return sibling if sibling in found else found[0]
    raise BagError(f"{audio} is AudioDataStamped, whose format is published separately as AudioInfo, but the bag has "
                   + (f"several AudioInfo topics ({', '.join(found)}) and none is {sibling}" if found else "no AudioInfo topic"))


@contextmanager
def open_bag(path: str | Path) -> Iterator[Reader]:
    """An open Reader of the bag at ``path`` (its directory); BagError when it cannot be read."""
    try:
        reader = Reader(Path(path))
        reader.open()
    except (ReaderError, OSError) as exc:
        raise BagError(f"cannot read the bag {path}: {exc}") from exc
    try:
        yield reader
    finally:
        reader.close()


def read_messages(path: str | Path, topics: list[str], installed_only: bool = False) -> Iterator[tuple[str, int, Any]]:
    """(topic, receive time [ns], message) of ``topics``, in the order they were recorded: an rclpy
    message where its type is installed, else (unless ``installed_only``) an object with the same
    fields, read with the definition stored in the bag."""
    with open_bag(path) as reader:
        connections = [c for c in reader.connections if c.topic in topics]
        decoders = _decoders(connections, installed_only)
        for connection, timestamp, raw in reader.messages(connections=connections):
            yield connection.topic, timestamp, decoders[connection.topic](raw)


def _decoders(connections: list, installed_only: bool) -> dict[str, Callable[[bytes], Any]]:
    """topic -> a function from the serialised message to the message (see read_messages)."""
    decoders, foreign = {}, []
    for connection in connections:
        try:
            cls = message_class(connection.msgtype)
        except BagError:
            if installed_only:
                raise
            foreign.append(connection)
            continue
        decoders[connection.topic] = lambda raw, cls=cls: deserialize_message(raw, cls)
    if foreign:
        typestore = _typestore_from_bag(foreign)
        for connection in foreign:
            decoders[connection.topic] = lambda raw, msgtype=connection.msgtype: typestore.deserialize_cdr(raw, msgtype)
    return decoders


def _typestore_from_bag(connections: list):
    """rosbags' Kilted type store plus the definitions the bag stores for ``connections`` (rosbag2
    keeps each topic's .msg, with the types it uses, since Iron; MCAP always)."""
    typestore, types = get_typestore(Stores.ROS2_KILTED), {}
    for connection in connections:
        definition = connection.msgdef
        if definition.format == MessageDefinitionFormat.MSG and definition.data:
            types.update(get_types_from_msg(definition.data, connection.msgtype))
        elif definition.format == MessageDefinitionFormat.IDL and definition.data:
            # one IDL, or several, each after a line of 80 "=" and an "IDL: name" line
            separator = "=" * 80 + "\n"
            parts = definition.data.split(separator)[1:] if definition.data.startswith(separator) else [definition.data]
            for part in parts:
                types.update(get_types_from_idl(part.split("\n", 1)[1] if part.startswith("IDL: ") else part))
        else:
            raise BagError(f"{connection.topic}: {connection.msgtype} is not installed here and the bag does not store "
                           "its definition (bags recorded before Iron): install the package that defines it")
    typestore.register(types)
    return typestore


def _package_definitions(package: str) -> dict[str, str]:
    """Every installed .msg of ``package`` ("pkg/msg/Name" -> text): <prefix>/share/<package>/msg,
    the prefix found from the ament index or from where the package's Python module lives."""
    prefixes = [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    module = Path(importlib.import_module(f"{package}.msg").__file__)
    prefixes.append(module.parents[5])  # <prefix>/lib/pythonX.Y/site-packages/<package>/msg/__init__.py
    for prefix in prefixes:
        folder = prefix / "share" / package / "msg"
        if folder.is_dir():
            return {f"{package}/msg/{path.stem}": path.read_text() for path in sorted(folder.glob("*.msg"))}
    raise BagError(f"cannot find the message definitions of {package} (share/{package}/msg)")


def _typestore_with(msgtype: str):
    """rosbags' type store for Kilted, plus the installed definitions of ``msgtype``'s package
    when it lacks it (all of them: a message may contain another of its package)."""
    typestore = get_typestore(Stores.ROS2_KILTED)
    if msgtype not in typestore.types:
        types = {}
        for name, text in _package_definitions(msgtype.split("/")[0]).items():
            types.update(get_types_from_msg(text, name))
        typestore.register(types)
    return typestore


class BagWriter:
    """Writes rclpy messages to a new rosbag2 bag (storage "mcap" or "sqlite3"); a context manager."""

    def __init__(self, path: str | Path, storage: str = "mcap"):
        if storage not in STORAGES:
            raise BagError(f"unknown bag storage {storage!r} (available: {', '.join(STORAGES)})")
        self.path, self._connections = Path(path), {}
        try:
            self._writer = Writer(self.path, version=9, storage_plugin=STORAGES[storage])
            self._writer.open()
        except (WriterError, OSError) as exc:
            raise BagError(f"cannot write the bag {path}: {exc}") from exc

    def write(self, topic: str, msg: Any, timestamp_ns: int) -> None:
        connection = self._connections.get(topic)
        if connection is None:
            module, name = type(msg).__module__.split(".")[0], type(msg).__name__
            msgtype = f"{module}/msg/{name}"
            connection = self._connections[topic] = self._writer.add_connection(
                topic, msgtype, typestore=_typestore_with(msgtype))
        self._writer.write(connection, int(timestamp_ns), serialize_message(msg))

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> "BagWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
