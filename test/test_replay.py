"""Offline replay: a bag (MCAP, sqlite3) or a media file through the node's pipeline, every window."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from interface_workspace import build_interfaces, interface_env
from recorded_bags import AUDIO_COMMON, T0, audio_common_typestore, replay, write_audio_common_bag, write_bag
from std_msgs.msg import Header

from emotion_ros.io.image import rgb_to_image
from emotion_ros.io.media import probe
from emotion_ros.io.rosbag import BagError, BagWriter, sensor_topics
from emotion_ros.io.stamps import to_stamp
from emotion_ros.runtime.backends import create_backend
from emotion_ros.runtime.offline_replay import OfflineReplay, estimate_record, recorded_items


@pytest.fixture(scope="module")
def backend():
    return create_backend("onnxruntime", "tiny")


@pytest.mark.parametrize("storage, compressed", [("mcap", False), ("sqlite3", True)])
def test_a_bag_replays_every_window_identically(backend, sample_clip, tmp_path, storage, compressed):
    bag = write_bag(sample_clip, tmp_path / "bag", storage, compressed, transcript=True)
    topics = sensor_topics(bag)
    assert topics.image_kind == ("compressed" if compressed else "image") and topics.audio == "/respeaker/audio"
    assert (topics.speech, topics.speech_kind) == ("/speech", "transcript")
    count, first = replay(backend, bag)
    _, second = replay(backend, bag)
    assert first == second  # deterministic
    ends = [r["t_end"] - T0 for r in first]
    duration = probe(str(sample_clip)).duration
    # one state per stride from the first full window, the last reaching past the clip's end
    assert ends == pytest.approx(list(np.arange(2.0, ends[-1] + 1e-6, 0.5)), abs=1e-4)
    # (the AAC track runs a few ms past the video's end: the tail window covers that too)
    assert duration <= ends[-1] < duration + 0.5 + 0.05 and first[-1]["tail"] and not any(r["tail"] for r in first[:-1])
    assert all(r["label"] == "happy" and r["people"] for r in first)
    assert count > 100
    # the recogniser's sentence (spoken 0.5 - 2.55 s, received at 3.05 s) is in every window cut
    # after it arrived: those ending at 3.0 s and later
    said = [r["t_end"] - T0 for r in first if r["utterance"]]
    assert said == pytest.approx(ends[ends.index(pytest.approx(3.0, abs=1e-3)):], abs=1e-3)
    assert {r["utterance"] for r in first} == {"", "Hello, nice to see you."}


def test_a_raw_image_bag_replays_as_its_media_file_does(backend, sample_clip, tmp_path):
    _, from_bag = replay(backend, write_bag(sample_clip, tmp_path / "bag", "mcap", False))
    alone = tmp_path / "clip.mp4"  # without the transcript beside the clip, nor transcribed: the bag has no words either
    alone.write_bytes(sample_clip.read_bytes())
    _, from_file = replay(backend, alone, transcribe=False)
    shift = lambda records: [{**r, "t_start": round(r["t_start"] - T0, 3), "t_end": round(r["t_end"] - T0, 3)} for r in records]  # noqa: E731
    assert [r["label"] for r in from_bag] == [r["label"] for r in from_file]
    assert [r["t_end"] for r in shift(from_bag)] == pytest.approx([r["t_end"] for r in from_file], abs=1e-3)
    np.testing.assert_allclose([list(r["scores"].values()) for r in from_bag],
                               [list(r["scores"].values()) for r in from_file], atol=1e-4)


def test_the_replay_command_writes_states_and_a_summary(sample_clip, tmp_path, capsys):
    from emotion_ros.cli import main

    bag = write_bag(sample_clip, tmp_path / "bag", "mcap", True)
    assert main(["replay", str(bag), "--out", str(tmp_path / "states.jsonl")]) == 0
    summary = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    states = [json.loads(line) for line in (tmp_path / "states.jsonl").read_text().splitlines()]
    assert summary["windows"] == len(states) >= 4 and summary["rejected"] == 0
    assert main(["replay", str(bag), "--image-topic", "/nope"]) == 1
    assert "the bag has no topic /nope" in capsys.readouterr().err


def test_several_image_topics_must_be_chosen_between(tmp_path):
    with BagWriter(tmp_path / "bag", "mcap") as bag:
        for topic in ("/left/image_raw", "/right/image_raw"):
            bag.write(topic, rgb_to_image(np.zeros((4, 4, 3), np.uint8), "rgb8", Header(stamp=to_stamp(1.0))), 10**9)
    with pytest.raises(BagError, match="several image topics"):
        sensor_topics(tmp_path / "bag")
    assert sensor_topics(tmp_path / "bag", image_topic="/left/image_raw").image == "/left/image_raw"
    with pytest.raises(BagError, match="cannot read the bag"):
        sensor_topics(tmp_path / "missing")


def test_two_backends_compared_and_the_states_written_to_a_bag(sample_clip, tmp_path, capsys):
    """ONNX Runtime against PyTorch on one recording: where they disagree, and the node's outputs
    as a bag a ROS tool can read."""
    from emotion_ros.cli import main
    from emotion_ros.io.rosbag import read_messages

    bag = write_bag(sample_clip, tmp_path / "bag", "mcap", False)
    assert main(["replay", str(bag), "--backend", "torch", "--out", str(tmp_path / "torch.jsonl")]) == 0
    capsys.readouterr()
    assert main(["replay", str(bag), "--backend", "onnxruntime", "--bag-out", str(tmp_path / "states"), "--explain-rate", "1",
                 "--compare", str(tmp_path / "torch.jsonl"), "--plot", str(tmp_path / "compare.png")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["windows"]["matched"] == report["windows"]["a"] == report["windows"]["b"] >= 5
    assert report["label_agreement"] == 1.0 and report["score_difference"]["max"] < 1e-3
    assert report["latency_ms"]["a"]["p50"] > 0 and (tmp_path / "compare.png").stat().st_size > 0
    written = list(read_messages(tmp_path / "states", ["/emotion/state", "/emotion/people", "/emotion/explanation"]))
    states = [msg for topic, _, msg in written if topic == "/emotion/state"]
    assert len(states) == report["windows"]["a"] and all(s.label == "happy" for s in states)
    assert sum(topic == "/emotion/people" for topic, _, _ in written) == len(states)
    explanations = [msg for topic, _, msg in written if topic == "/emotion/explanation"]
    assert len(explanations) >= 2 and all(e.text.startswith("About f") and "happy" in e.text for e in explanations)


def test_a_bag_played_at_the_recorded_rate_into_a_sim_time_node_gives_the_same_labels(ros, backend, sample_clip, tmp_path):
    import rclpy
    from rclpy.parameter import Parameter
    from ros_helpers import play_bag_into

    from emotion_ros.io.stamps import to_seconds
    from emotion_ros.nodes.bag_player import BagPlayer
    from emotion_ros.nodes.perception_node import PerceptionNode
    from emotion_ros.nodes.runner import shut_down

    bag = write_bag(sample_clip, tmp_path / "bag", "sqlite3", True)
    _, offline = replay(backend, bag)
    emotion = PerceptionNode(parameter_overrides=[
        Parameter("use_sim_time", value=True), Parameter("qos.reliable", value=True), Parameter("qos.depth", value=100),
        Parameter("compressed", value=True), Parameter("explanation.enabled", value=False)])
    states = []
    emotion.state_listeners.append(lambda m: states.append((round(to_seconds(m.header.stamp), 3), m.label)))
    player_node = rclpy.create_node("bag_player")
    player = BagPlayer(player_node, bag)
    try:
        play_bag_into(emotion, player_node, player)
        now = to_seconds(emotion.get_clock().now().to_msg())
    finally:
        shut_down([emotion])
        player_node.destroy_node()
    assert abs(now - (T0 + 4.0)) < 0.5  # the node ran on the bag's clock
    assert [label for _, label in states] == [r["label"] for r in offline]
    assert [t for t, _ in states] == pytest.approx([r["t_end"] for r in offline], abs=1e-3)


@pytest.mark.parametrize("storage, layout", [("mcap", "ros-drivers"), ("sqlite3", "mgonzs13")])
def test_audio_common_bags_replay_as_our_audio_frames_do(backend, sample_clip, tmp_path, storage, layout):
    """Both audio_common_msgs layouts, without the package installed: the same windows, labels and
    voice cues as the same audio recorded as AudioFrame, and no chunk lost before the AudioInfo."""
    bag = write_audio_common_bag(sample_clip, tmp_path / "bag", storage, layout)
    topics = sensor_topics(bag)
    assert topics.audio == "/audio/audio_stamped"
    assert (topics.audio_kind, topics.audio_info) == (
        ("audio_common_data", "/audio/audio_info") if layout == "ros-drivers" else ("audio_common_stamped", None))
    run = OfflineReplay(backend)
    _, items = recorded_items(bag)
    records = [estimate_record(w, e) for kind, item in items for w, e, _ in run.feed(kind, item)]
    records += [estimate_record(w, e) for w, e, _ in run.finish()]
    assert sum(run.input.rejected.values()) == 0 and run.input.accepted["audio"] > 0
    _, reference = replay(backend, write_bag(sample_clip, tmp_path / "frames", "mcap", False))
    assert [r["t_end"] for r in records] == pytest.approx([r["t_end"] for r in reference], abs=1e-4)
    assert [(r["label"], r["speaking"], r["audio_present"]) for r in records] == [
        (r["label"], r["speaking"], r["audio_present"]) for r in reference]
    np.testing.assert_allclose([r["arousal"] for r in records], [r["arousal"] for r in reference], atol=1e-3)
    np.testing.assert_allclose([r["speaking_probability"] for r in records], [r["speaking_probability"] for r in reference], atol=1e-3)


def test_a_foreign_type_the_bag_does_not_define_is_a_clear_error(tmp_path):
    from rosbags.rosbag2 import Writer

    from emotion_ros.io.rosbag import read_messages

    with Writer(tmp_path / "bag", version=9) as bag:
        connection = bag.add_connection("/audio", "audio_common_msgs/msg/AudioStamped", msgdef="", rihs01="RIHS01_" + "0" * 64)
        bag.write(connection, 10**9, b"\x00\x01\x00\x00")
    with pytest.raises(BagError, match="not installed here and the bag does not store its definition"):
        list(read_messages(tmp_path / "bag", ["/audio"]))
    with pytest.raises(BagError, match="not installed here"):
        list(read_messages(tmp_path / "bag", ["/audio"], installed_only=True))


def test_an_audio_data_stream_needs_its_audio_info_topic(tmp_path):
    from rosbags.rosbag2 import Writer

    store = audio_common_typestore("ros-drivers")
    with Writer(tmp_path / "bag", version=9) as bag:
        bag.add_connection("/mic/audio_stamped", "audio_common_msgs/msg/AudioDataStamped", typestore=store)
    with pytest.raises(BagError, match="no AudioInfo topic"):
        sensor_topics(tmp_path / "bag")


def test_publishing_a_type_that_is_not_installed_is_one_clear_line(sample_clip, tmp_path, capsys):
    """Over DDS the played messages must be real ones: without audio_common_msgs installed the
    player says so (offline replay above reads the same bag)."""
    from emotion_ros.cli import main
    from emotion_ros.io.audio_common import audio_common_types

    if audio_common_types():
        pytest.skip("audio_common_msgs is installed here")
    bag = write_audio_common_bag(sample_clip, tmp_path / "bag", "mcap", "ros-drivers")
    assert main(["replay", str(bag), "--publish"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("audio_common_msgs/msg/AudioDataStamped is not installed here")


@pytest.mark.slow  # a colcon workspace each
@pytest.mark.parametrize("layout", ["ros-drivers", "mgonzs13"])
def test_audio_common_bags_played_into_a_node_with_the_package_installed(sample_clip, tmp_path_factory, layout):
    """With each layout's audio_common_msgs built and installed, the bag is read into the real
    classes, and played over DDS (the AudioInfo latched before the node starts) into a sim-time
    node set to that audio type: the same states as offline, no audio rejected."""
    messages = {msgtype.rsplit("/", 1)[1] + ".msg": text for msgtype, text in AUDIO_COMMON[layout].items()}
    install = build_interfaces(tmp_path_factory.mktemp("audio_common_ws"), "audio_common_msgs", messages)
    out = tmp_path_factory.mktemp("played") / "states.json"
    run = subprocess.run([sys.executable, str(Path(__file__).with_name("audio_common_live.py")), str(sample_clip), layout, str(out)],
                         env=interface_env(install), capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert "AudioInfo" in result["types"] and result["rejected"] == 0
    offline, live = result["offline"], result["live"]
    assert len(offline) >= 5 and all(r["audio_present"] and r["label"] == "happy" for r in offline)
    assert [(s["label"], s["speaking"], s["audio_present"]) for s in live] == [
        (r["label"], r["speaking"], r["audio_present"]) for r in offline]
    assert [s["t_end"] for s in live] == pytest.approx([r["t_end"] for r in offline], abs=1e-3)
