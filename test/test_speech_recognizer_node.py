"""The speech_recognizer node over DDS: microphone audio in, `speech` and /diagnostics out."""

import shutil

import numpy as np
import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from emotion_msgs.msg import AudioFrame
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from std_msgs.msg import Header, String

from emotion_ros.io.audio import pcm_to_audio_frame
from emotion_ros.io.stamps import to_stamp
from emotion_ros.nodes.runner import StartupError, bring_up, shut_down
from emotion_ros.nodes.speech_recognizer_node import SpeechRecognizerNode
from ros_helpers import drive, spin_until

KITCHEN = "The robot is waiting in the kitchen."


def test_spoken_words_reach_speech_and_bad_audio_is_reported_not_fatal(ros):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make installs it)")
    from emotion_ros.samples.sample_clip import synthesize_speech

    rate = 48000
    audio = np.concatenate([np.zeros(rate // 2, np.float32), synthesize_speech(KITCHEN, rate), np.zeros(rate, np.float32)])
    node = SpeechRecognizerNode()
    peer = rclpy.create_node("microphone_and_listener")
    microphone = peer.create_publisher(AudioFrame, "audio", qos_profile_sensor_data)
    heard, statuses = [], []
    peer.create_subscription(String, "speech", lambda msg: heard.append(msg.data), QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    peer.create_subscription(DiagnosticArray, "/diagnostics", lambda msg: statuses.extend(msg.status), 10)
    try:
        bring_up(node)
        assert spin_until([node, peer], lambda: microphone.get_subscription_count() > 0, timeout=10)

        def play():
            bad = AudioFrame(header=Header(stamp=to_stamp(50.0)), sample_rate=rate, channels=1, encoding="MP3", data=[1, 2, 3])
            microphone.publish(bad)
            step = rate // 10
            for start in range(0, len(audio), step):
                stamp = 50.0 + start / rate
                microphone.publish(pcm_to_audio_frame(audio[start : start + step], rate, "S16LE", Header(stamp=to_stamp(stamp))))
                yield

        drive([node, peer], play(), pace=0.05)  # twice real time
        assert spin_until([node, peer], lambda: heard, timeout=20)
        spin_until([node, peer], lambda: len(statuses) >= 3, timeout=5)
    finally:
        shut_down([node])
        peer.destroy_node()
    assert [w.strip(".").lower() for w in heard[0].split()] == [w.strip(".").lower() for w in KITCHEN.split()], heard
    assert len(heard) == 1
    values = {kv.key: kv.value for kv in statuses[-1].values}
    assert values["utterances"] == "1" and float(values["real_time_factor"]) < 1.0, values
    assert values["rejected_messages"] == "1" and values["dropped_audio_seconds"] == "0.0", values
    assert any("rejected" in s.message and "MP3" in s.message for s in statuses), [s.message for s in statuses]


def test_a_missing_model_fails_configure_with_the_reason(ros, tmp_path):
    from rclpy.parameter import Parameter

    node = SpeechRecognizerNode(parameter_overrides=[Parameter("model_dir", value=str(tmp_path))])
    try:
        with pytest.raises(StartupError):
            bring_up(node)
        assert "model.bin is missing" in node.failure_reason
    finally:
        shut_down([node])


def test_words_said_to_a_camera_and_microphone_reach_the_windows_and_the_explanations(ros, tmp_path):
    """Only a camera and a microphone (a file source in another process, a clip with no
    transcript), the recogniser and the emotion node: the sentence is heard on `speech`, rides
    in the states' windows, and ~/explain quotes it."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from rclpy.parameter import Parameter

    from emotion_ros.nodes.perception_node import PerceptionNode
    from emotion_ros.samples.sample_clip import make_sample_clip

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make installs it)")
    clip = make_sample_clip(tmp_path / "said.mp4", duration=5.0, fps=15, size=(320, 240), text=KITCHEN)
    clip.with_suffix(".srt").unlink()  # nothing but the camera and the microphone
    out = tmp_path / "heard.json"
    listener = subprocess.Popen([sys.executable, str(Path(__file__).with_name("heard_words.py")), str(out), "120",
                                 "What did the person say?"])
    emotion = PerceptionNode(parameter_overrides=[Parameter("explanation.rate", value=0.0)])
    recognizer = SpeechRecognizerNode()
    sensors = None
    try:
        bring_up(emotion)
        bring_up(recognizer)
        # the camera and microphone start once everyone listens (the file source waits for them)
        sensors = subprocess.Popen([sys.executable, "-m", "emotion_ros.cli", "file-source", "--ros-args", "-p",
                                    f"path:={clip}", "-p", "loop:=true", "-p", "transcript:=none"])
        spin_until([emotion, recognizer], lambda: listener.poll() is not None, timeout=150)
    finally:
        if sensors is not None:
            sensors.terminate()
            sensors.wait(timeout=30)
        shut_down([recognizer, emotion])
        listener.wait(timeout=30)
    received = json.loads(out.read_text())
    said = [w.strip(".").lower() for w in KITCHEN.split()]
    heard = received["speech"][1]  # a whole loop of the clip
    assert [w.strip(".").lower() for w in heard.split()] == said, received
    assert any(heard in words for words in received["said"].values()), received  # in the windows
    # an answer about a window that carried the words quotes them
    about = [a for a in received["answers"] if a["success"] and heard in received["said"].get(a["window"], "")]
    assert about and all(f'"{heard}' in a["text"] for a in about), received["answers"]


def test_run_and_demo_start_the_recogniser_where_there_is_a_microphone_or_an_untranscribed_clip(sample_clip, tmp_path):
    import argparse

    from emotion_ros.commands.run import _hears

    bare = tmp_path / "bare.mp4"
    shutil.copy(sample_clip, bare)
    live = argparse.Namespace(no_transcribe=False, microphone="")
    assert _hears(live, None) and not _hears(argparse.Namespace(no_transcribe=False, microphone="none"), None)
    assert _hears(live, bare) and not _hears(live, sample_clip)  # the clip's transcript wins
    assert not _hears(argparse.Namespace(no_transcribe=True, microphone=""), None)


def test_a_microphone_that_stops_mid_sentence_still_gets_its_words_heard_once(ros):
    """No silence ever ends the utterance: the publisher stalls. After stall_timeout the node ends
    it where the audio stopped and transcribes it, once."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make installs it)")
    from rclpy.parameter import Parameter

    from emotion_ros.samples.sample_clip import synthesize_speech

    rate = 16000
    audio = np.concatenate([np.zeros(rate // 2, np.float32), synthesize_speech(KITCHEN, rate)])
    audio = audio[: len(audio) - rate // 10]  # cut before espeak-ng's own trailing quiet
    node = SpeechRecognizerNode(parameter_overrides=[Parameter("stall_timeout", value=0.5)])
    peer = rclpy.create_node("stalling_microphone")
    microphone = peer.create_publisher(AudioFrame, "audio", qos_profile_sensor_data)
    heard = []
    peer.create_subscription(String, "speech", lambda msg: heard.append(msg.data), QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    try:
        bring_up(node)
        assert spin_until([node, peer], lambda: microphone.get_subscription_count() > 0, timeout=10)

        def play():
            for start in range(0, len(audio), rate // 10):
                microphone.publish(pcm_to_audio_frame(audio[start : start + rate // 10], rate, "S16LE",
                                                      Header(stamp=to_stamp(5.0 + start / rate))))
                yield

        drive([node, peer], play(), pace=0.05)
        spin_until([node, peer], lambda: heard, timeout=10)
        spin_until([node, peer], lambda: False, timeout=1.0)  # nothing more comes
    finally:
        shut_down([node])
        peer.destroy_node()
    assert len(heard) == 1 and {"robot", "kitchen"} <= {w.strip(".").lower() for w in heard[0].split()}, heard


def test_with_hri_msgs_the_words_are_live_speech_incremental_then_final_on_audio_time(hri_workspace, tmp_path):
    """ROS4HRI's LiveSpeech on the voice's topic: hypotheses while the person talks, the final
    text at the end, each stamped with the audio time its words ended."""
    from interface_workspace import run_with_interfaces

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make installs it)")
    result = run_with_interfaces("hri_recogniser_speech.py", tmp_path / "heard.json", hri_workspace)
    heard = result["heard"]
    finals = [m for m in heard if m["final"]]
    partials = [m for m in heard if m["incremental"]]
    assert len(finals) == 1 and partials and heard.index(finals[0]) == len(heard) - 1, heard
    words = lambda text: [w.strip(".,").lower() for w in text.split()]  # noqa: E731
    assert {"robot", "kitchen", "door", "open"} <= set(words(finals[0]["final"])), finals
    assert abs(finals[0]["t"] - result["speech_end"]) < 0.4 and 0.0 < finals[0]["confidence"] <= 1.0, (finals, result)
    assert all(p["t"] < finals[0]["t"] for p in partials)


def test_demo_on_a_clip_without_a_transcript_hears_it_through_the_recogniser_node(tmp_path):
    """`emotion-ros demo --clip` at real time: the file source, the recogniser and the emotion
    node in one process; the live view quotes what was heard."""
    import re
    import subprocess
    import sys

    from emotion_ros.samples.sample_clip import make_sample_clip

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make installs it)")
    clip = make_sample_clip(tmp_path / "said.mp4", duration=5.0, fps=15, size=(320, 240), text=KITCHEN)
    clip.with_suffix(".srt").unlink()
    run = subprocess.run([sys.executable, "-m", "emotion_ros.cli", "demo", "--clip", str(clip), "--plot", str(tmp_path / "t.png")],
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    quoted = re.findall(r'"([^"]+)"', run.stdout)  # the live view quotes the words of each state
    assert quoted and {"robot", "kitchen"} <= {w.strip(".").lower() for w in quoted[-1].split()}, run.stdout[-2000:]
    silent = subprocess.run([sys.executable, "-m", "emotion_ros.cli", "demo", "--clip", str(clip), "--no-transcribe",
                             "--plot", str(tmp_path / "t2.png")], capture_output=True, text=True, timeout=180)
    assert silent.returncode == 0 and "states" in silent.stdout and not re.findall(r'"([^"]+)"', silent.stdout), silent.stdout[-2000:]
