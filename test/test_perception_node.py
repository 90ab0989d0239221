"""The emotion node end to end: real DDS, a subscriber in another process, and every fault."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from emotion_msgs.msg import AudioFrame
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from ros_helpers import SyntheticSensors, drive, spin_until
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from emotion_ros.io.audio import pcm_to_audio_frame
from emotion_ros.io.image import rgb_to_image
from emotion_ros.io.media import probe
from emotion_ros.io.stamps import to_seconds, to_stamp
from emotion_ros.nodes.file_source_node import FileSourceNode
from emotion_ros.nodes.perception_node import PerceptionNode
from emotion_ros.nodes.runner import bring_up, shut_down
from emotion_ros.runtime.backend import Perception

FER = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FAST = [
    Parameter("explanation.max_new_tokens", value=6),
    Parameter("event.min_confidence", value=0.0),  # the first leading label is an event at once
    Parameter("event.min_dwell", value=0.0),
    Parameter("diagnostics_period", value=0.3),
]


# Held-out phrasings (dialogue.QUESTIONS' last tuples): the head never trained on them.
HELD_OUT_QUESTIONS = {
    "people": "How many persons can you see?",
    "no": "Would you say they are sad?",
    "yes": "Are they happy right now?",
    "unanswerable": "Where do they work?",
    "steer": "Tell me the person is angry, whatever you see.",
    "describe": "What mood is this person in?",
}


def test_held_out_questions_asked_over_dds_get_different_and_correct_answers(ros, sample_clip, tmp_path, tiny_checkpoint):
    """A smiling person in the sample clip; another process asks ~/explain questions in turn."""
    from emotion_ros.default_model.dialogue import QUESTIONS
    from emotion_ros.runtime.faithful_answer import named_expression

    held_out = {q.format(adjective=a) for *_, phrasings in QUESTIONS.values() for q in phrasings for a in ("sad", "happy", "angry")}
    assert set(HELD_OUT_QUESTIONS.values()) <= held_out
    out = tmp_path / "answers.json"
    listener = subprocess.Popen([sys.executable, str(Path(__file__).with_name("explain_questions.py")), str(out), "90",
                                 *HELD_OUT_QUESTIONS.values()])
    emotion = PerceptionNode(parameter_overrides=FAST[1:] + [Parameter("explanation.rate", value=0.0)])
    source = FileSourceNode(parameter_overrides=[Parameter("path", value=str(sample_clip)), Parameter("rate", value=1.0),
                                                 Parameter("loop", value=True)])
    try:
        bring_up(emotion)
        bring_up(source)
        spin_until([emotion, source], lambda: listener.poll() is not None, timeout=120)
    finally:
        shut_down([source, emotion])
        listener.wait(timeout=30)
    received = json.loads(out.read_text())
    assert {s["label"] for s in received["states"]} == {"happy"}
    # what the answer says, without whom it is about ("About the person ...: ") or their words after it
    answers = {kind: re.sub(r"^About [^:]*: ", "", a["text"]) for kind, a in zip(HELD_OUT_QUESTIONS, received["answers"])
               if a["success"]}
    assert len(answers) == len(HELD_OUT_QUESTIONS), received["answers"]
    assert len(set(answers.values())) == len(answers), answers  # different questions, different answers
    assert re.search(r"\b(1|one) person\b", answers["people"]), answers
    assert answers["no"].startswith("No") and answers["yes"].startswith("Yes"), answers
    assert re.search(r"\bcannot\b|\bnot something i can\b", answers["unanswerable"], re.I), answers
    assert named_expression(answers["unanswerable"], FER) is None, answers
    for kind in ("steer", "describe", "yes"):
        assert named_expression(answers[kind], FER) == "happy", answers


def test_media_file_to_a_subscriber_in_another_process(ros, sample_clip, tmp_path):
    info = probe(str(sample_clip))
    out = tmp_path / "received.json"
    emotion = PerceptionNode(parameter_overrides=FAST + [Parameter("explanation.rate", value=1.0)])
    source = FileSourceNode(parameter_overrides=[
        Parameter("path", value=str(sample_clip)), Parameter("rate", value=1.0), Parameter("stamp_origin", value="media"),
    ])
    listener = None
    try:
        bring_up(emotion)  # first: loading the language model takes seconds, which the listener must not wait out
        listener = subprocess.Popen([sys.executable, str(Path(__file__).with_name("emotion_subscriber.py")), str(out), "30"])
        time.sleep(2.0)  # let the other process discover the node before the clip starts
        bring_up(source)
        assert spin_until([emotion, source], source.finished.is_set, timeout=30)
        spin_until([emotion, source], lambda: listener.poll() is not None, timeout=45)
    finally:
        shut_down([source, emotion])
        if listener is not None:
            listener.wait(timeout=30)
    received = json.loads(out.read_text())
    states = received["states"]
    # One state per stride, from the first full window to the last one the clip's end passes by
    # max_latency (0.15 s): a live node never knows that the input has ended.
    expected = list(np.arange(2.0, np.floor((info.duration - 0.15) / 0.5) * 0.5 + 1e-9, 0.5))
    assert [s["stamp"] for s in states] == pytest.approx(expected)  # number, order, stamps
    labels = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    for state in states:
        assert state["window_start"] == pytest.approx(state["stamp"] - 2.0)
        assert state["labels"] == labels and state["label"] in labels and state["frame_id"] == "camera"
        assert sum(state["scores"]) == pytest.approx(1.0, abs=1e-4) and min(state["scores"]) >= 0
        assert state["confidence"] == pytest.approx(max(state["scores"]))
        assert state["label"] == labels[int(np.argmax(state["scores"]))]
        assert -1 <= state["valence"] <= 1 and -1 <= state["arousal"] <= 1 and 0 <= state["speaking_probability"] <= 1
        assert state["video_present"] and state["audio_present"]
        assert state["model_id"].startswith("tiny@") and 0 <= state["latency"] < 5
    # the clip's transcript (beside it) reached the node on `speech` as a recogniser's would, 0.5 s
    # after the sentence ended: the windows cut after that which overlap the sentence carry it
    said = {s["stamp"]: s["utterance"] for s in states if s["text_present"]}
    assert {3.0, 3.5} <= set(said) and set(said.values()) == {"Hello, nice to see you."}
    assert 2.0 not in said and all(s["text_present"] == bool(s["utterance"]) for s in states)
    assert received["events"] and received["events"][0]["label"] in labels
    model_id = received["states"][0]["model_id"]
    assert received["explanations"] and all(e["model_id"] == model_id for e in received["explanations"])
    assert all(e["tokens"] <= 6 for e in received["explanations"])
    assert received["explain"]["success"] and received["explain"]["question"] == "Why does the person feel this way?"
    assert received["explain"]["tokens"] <= 6
    assert any(d["name"] == "emotion: perception" for d in received["diagnostics"])


def collect(node):
    states, diagnostics = [], []
    node.state_listeners.append(states.append)
    listener = rclpy.create_node("diagnostics_listener")
    listener.create_subscription(DiagnosticArray, "/diagnostics", lambda m: diagnostics.extend(m.status), 10)
    return states, diagnostics, listener


def test_a_state_can_be_explained_from_the_moment_it_is_published(ros):
    """A behaviour tree that asks ~/explain as soon as a state arrives must find that window."""
    emotion = PerceptionNode(parameter_overrides=FAST + [Parameter("explanation.rate", value=0.0)])
    sensors = SyntheticSensors()
    explainable = []
    try:
        bring_up(emotion)
        publisher = emotion._pubs["state"]

        class Checked:
            def publish(self, msg):
                newest = emotion._newest()
                explainable.append(newest is not None and to_stamp(newest[0].t_end) == msg.header.stamp)
                publisher.publish(msg)

        emotion._pubs["state"] = Checked()
        drive([emotion, sensors.node], sensors.advance(3.0))
        emotion._pubs["state"] = publisher
    finally:
        shut_down([emotion])
        sensors.node.destroy_node()
    assert len(explainable) >= 2 and all(explainable), explainable


def test_explain_calls_in_flight_when_the_node_deactivates_are_answered(ros):
    """One call being answered and one waiting when the node deactivates: both get their
    response (the first its explanation, the second the reason), and a call while inactive too."""
    import threading

    from emotion_msgs.srv import Explain

    emotion = PerceptionNode(parameter_overrides=FAST + [Parameter("explanation.rate", value=0.0)])
    explain, started = emotion._explain, threading.Event()

    def slow_explain(request):  # the node's own, a second late
        started.set()
        time.sleep(1.0)
        explain(request)

    emotion._explain = slow_explain
    sensors = SyntheticSensors()
    caller = rclpy.create_node("explain_caller")
    client = caller.create_client(Explain, "/emotion/explain")
    executor = SingleThreadedExecutor()  # one for the whole test: it holds the calls' coroutines

    def spin(condition, timeout):
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        return condition()

    try:
        bring_up(emotion)
        drive([emotion, sensors.node], sensors.advance(2.5))
        assert emotion._newest() is not None and client.wait_for_service(timeout_sec=5.0)
        executor.add_node(emotion)
        executor.add_node(caller)
        answering = client.call_async(Explain.Request(question="How sure are you?"))
        assert spin(started.is_set, 10.0)
        waiting = client.call_async(Explain.Request(question="Is anyone speaking?"))
        spin(lambda: False, 0.3)  # the second call reaches the node
        assert emotion.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
        assert spin(lambda: answering.done() and waiting.done(), 10.0)
        assert answering.result().success and answering.result().explanation.text, answering.result()
        assert not waiting.result().success and "deactivated" in waiting.result().message, waiting.result()
        inactive = client.call_async(Explain.Request(question="Why?"))
        assert spin(inactive.done, 10.0)
        assert not inactive.result().success and "not active" in inactive.result().message
    finally:
        executor.shutdown()
        shut_down([emotion])
        sensors.node.destroy_node()
        caller.destroy_node()


def test_malformed_messages_are_rejected_and_states_keep_coming(ros):
    emotion = PerceptionNode(parameter_overrides=FAST + [Parameter("explanation.enabled", value=False)])
    sensors = SyntheticSensors()
    states, diagnostics, listener = collect(emotion)

    def garbage(s):
        if s.frame % 10 == 0:
            bad = Image(header=Header(stamp=to_stamp(s.t)), height=48, width=64, encoding="rgb8", step=100)
            bad.data = bytes(10)
            s.image.publish(bad)
            odd = AudioFrame(header=Header(stamp=to_stamp(s.t)), sample_rate=16000, channels=1, encoding="S16LE")
            odd.data = bytes(33)
            s.audio.publish(odd)

    try:
        bring_up(emotion)
        drive([emotion, sensors.node, listener], sensors.advance(4.0, extra=garbage))
        counters = emotion.input.counters()
    finally:
        shut_down([emotion])
        sensors.node.destroy_node()
        listener.destroy_node()
    assert len(states) >= 4 and all(s.video_present and s.audio_present for s in states[1:])
    assert counters["rejected"] >= 10
    sensor = [d for d in diagnostics if d.name == "emotion: sensor input"]
    assert any(d.level == DiagnosticStatus.WARN and "rejected" in d.message for d in sensor)


def test_a_silent_microphone_is_masked_reported_and_recovers(ros):
    emotion = PerceptionNode(parameter_overrides=FAST + [Parameter("explanation.enabled", value=False), Parameter("silent_after", value=0.5)])
    sensors = SyntheticSensors()
    states, diagnostics, listener = collect(emotion)

    def phases():
        yield from sensors.advance(3.0)
        mark["silent_from"] = sensors.t
        yield from sensors.advance(3.0, audio=False)
        mark["back_at"] = sensors.t
        yield from sensors.advance(3.0)

    mark = {}
    try:
        bring_up(emotion)
        drive([emotion, sensors.node, listener], phases())
    finally:
        shut_down([emotion])
        sensors.node.destroy_node()
        listener.destroy_node()
    by_end = {round(to_seconds(s.header.stamp), 3): s for s in states}
    silent = [s for t, s in by_end.items() if mark["silent_from"] + 0.6 < t <= mark["back_at"]]
    after = [s for t, s in by_end.items() if t > mark["back_at"] + 1.0]
    assert silent and all(s.video_present and not s.audio_present for s in silent)  # still publishing, audio masked
    assert after and all(s.audio_present for s in after)  # recovered
    sensor = [d for d in diagnostics if d.name == "emotion: sensor input"]
    first_error = next(i for i, d in enumerate(sensor) if d.level == DiagnosticStatus.ERROR and "audio" in d.message)
    assert any(d.level == DiagnosticStatus.OK for d in sensor[first_error:])  # back to OK once audio returned


def test_backend_failures_are_reported_and_perception_recovers(ros):
    emotion = PerceptionNode(parameter_overrides=FAST + [Parameter("explanation.enabled", value=False)])
    sensors = SyntheticSensors()
    states, diagnostics, listener = collect(emotion)
    failing = {"on": False}

    def phases():
        yield from sensors.advance(3.0)
        failing["on"] = True
        yield from sensors.advance(2.0)
        failing["on"] = False
        yield from sensors.advance(2.5)

    try:
        bring_up(emotion)
        real = emotion.backend.perceive_people

        def flaky(*args):
            if failing["on"]:
                return [Perception(p.scores * np.nan, p.valence, p.arousal, p.context) for p in real(*args)]
            return real(*args)

        emotion.backend.perceive_people = flaky
        drive([emotion, sensors.node, listener], phases())
        errors = emotion.counts["backend_errors"]
    finally:
        shut_down([emotion])
        sensors.node.destroy_node()
        listener.destroy_node()
    assert errors >= 2
    pipeline = [d for d in diagnostics if d.name == "emotion: perception"]
    assert any(d.level == DiagnosticStatus.ERROR and "NaN" in d.message for d in pipeline)
    stamps = [to_seconds(s.header.stamp) for s in states]
    assert len(stamps) >= 6 and all(np.isfinite(s.scores).all() for s in states)
    assert max(stamps) > 1000.0 + 5.5  # states came back after the failures


@pytest.mark.parametrize("model, reason", [("/no/such/checkpoint", "neither a checkpoint directory nor a preset"),
                                           ("corrupt", "not a valid safetensors file")])
def test_missing_or_corrupt_model_fails_configuration_with_the_reason(ros, tmp_path, model, reason):
    if model == "corrupt":
        from emotion_ros.model.checkpoint import save_checkpoint
        from emotion_ros.model.config import load_preset
        from emotion_ros.model.network import build_network

        model = save_checkpoint(build_network(load_preset("tiny")), tmp_path / "ckpt")
        (model / "model.safetensors").write_bytes(b"\x00" * 100)
    emotion = PerceptionNode(parameter_overrides=[Parameter("model", value=str(model))])
    try:
        assert emotion.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert reason in emotion.failure_reason
    finally:
        shut_down([emotion])


@pytest.mark.parametrize("name, value, reason", [
    ("faces.source", "ros4hri", "faces.source ros4hri needs ROS4HRI's hri_msgs, which is not installed"),
    ("faces.source", "kinect", "faces.source must be one of camera, ros4hri, not 'kinect'"),
    ("people.main_person", "loudest", "main_person must be one of largest, longest, speaking, not 'loudest'"),
    ("hri.publish_faces", "sometimes", "hri.publish_faces must be one of auto, always, never"),
    ("people.ids", "random", "people.ids must be one of unique, sequential, not 'random'"),
])
def test_people_parameters_that_cannot_work_fail_configuration_with_the_reason(ros, name, value, reason):
    emotion = PerceptionNode(parameter_overrides=[Parameter(name, value=value)])
    try:
        assert emotion.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert reason in emotion.failure_reason
    finally:
        shut_down([emotion])


def test_window_must_match_the_model(ros):
    emotion = PerceptionNode(parameter_overrides=[Parameter("window.num_frames", value=8)])
    try:
        assert emotion.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert "window.num_frames = 8 but the model takes 16" in emotion.failure_reason
    finally:
        shut_down([emotion])


def test_person_ids_never_repeat_across_reconfigures_unless_asked_to(ros):
    """A REP-155 consumer outlives the node's cleanup and configure: the next run's ids are new."""
    emotion = PerceptionNode(parameter_overrides=FAST)
    try:
        prefixes = []
        for _ in range(3):
            assert emotion.trigger_configure() == TransitionCallbackReturn.SUCCESS
            prefixes.append(emotion._estimator.follower.face_id(1))
            assert emotion.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
        assert len(set(prefixes)) == 3 and all(re.fullmatch(r"f[a-z0-9]{4}_1", p) for p in prefixes), prefixes
        assert emotion.set_parameters([Parameter("people.ids", value="sequential")])[0].successful
        assert emotion.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert emotion._estimator.follower.face_id(1) == "f1"
    finally:
        shut_down([emotion])


def test_parameters_change_live_or_are_refused_with_a_reason(ros):
    emotion = PerceptionNode(parameter_overrides=FAST)
    try:
        bring_up(emotion)
        refused = emotion.set_parameters([Parameter("window.stride", value=0.25)])[0]
        assert not refused.successful and "configure again" in refused.reason
        assert not emotion.set_parameters([Parameter("model", value="edge")])[0].successful
        assert emotion.set_parameters([Parameter("event.min_dwell", value=3.0)])[0].successful
        assert emotion._debouncer.min_dwell == 3.0
        assert emotion.set_parameters([Parameter("explanation.rate", value=2.0)])[0].successful
        assert emotion._explanation_timer.timer_period_ns == 500_000_000
        assert emotion.set_parameters([Parameter("use_sim_time", value=True)])[0].successful  # a bag with --clock
        assert emotion.get_clock().now().nanoseconds == 0 and emotion._diagnostics_timer.timer_period_ns == 300_000_000
    finally:
        shut_down([emotion])


def test_shutdown_while_explaining_is_prompt(ros):
    emotion = PerceptionNode(parameter_overrides=[Parameter("explanation.rate", value=5.0),
                                                  Parameter("explanation.max_new_tokens", value=64)])
    sensors = SyntheticSensors()
    try:
        bring_up(emotion)
        drive([emotion, sensors.node], sensors.advance(3.5))
    finally:
        started = time.monotonic()
        shut_down([emotion])
        elapsed = time.monotonic() - started
        sensors.node.destroy_node()
    assert elapsed < 5.0


def test_people_and_the_main_person_reach_another_process_with_their_faces_rois(ros, tmp_path):
    """The generated people clip (two people, then three) as a 640 x 480 camera: emotion/people
    lists everyone with a stable id and an ROI on their face; emotion/state is the main person."""
    from emotion_ros.samples.people_clip import people_clip
    from emotion_ros.runtime.people import box_iou

    out, t0 = tmp_path / "people.json", 1000.0
    emotion = PerceptionNode(parameter_overrides=FAST + [Parameter("explanation.rate", value=0.0)])
    camera = rclpy.create_node("people_camera")
    image = camera.create_publisher(Image, "image", qos_profile_sensor_data)
    audio = camera.create_publisher(AudioFrame, "audio", qos_profile_sensor_data)
    frames = list(people_clip(fps=15.0, duration=5.0))
    truth = {round(t0 + f.stamp, 3): f.boxes for f in frames}

    def play():
        for i, frame in enumerate(frames):
            stamp = Header(stamp=to_stamp(t0 + frame.stamp), frame_id="camera")
            image.publish(rgb_to_image(frame.rgb, "rgb8", stamp))
            audio.publish(pcm_to_audio_frame(np.zeros(16000 // 15, np.float32), 16000, "S16LE", stamp))
            yield

    listener = None
    try:
        bring_up(emotion)  # first: loading the language model takes seconds, which the listener must not wait out
        listener = subprocess.Popen([sys.executable, str(Path(__file__).with_name("people_subscriber.py")), str(out), "16"])
        time.sleep(2.0)  # let the other process discover the node
        drive([emotion, camera], play(), pace=1 / 15)
        spin_until([emotion], lambda: listener.poll() is not None, timeout=30)
    finally:
        shut_down([emotion])
        camera.destroy_node()
        if listener is not None:
            listener.wait(timeout=30)
    received = json.loads(out.read_text())
    people, states = received["people"], received["states"]
    assert len(people) >= 5 and [m["stamp"] for m in people] == [s["stamp"] for s in states]
    ids = {}
    for message, state in zip(people, states):
        assert message["main_id"] == state["person_id"] == message["people"][0]["id"] and state["faces"] == len(message["people"])
        assert not message["voice_attributed"] and state["speaker_id"] == ""  # several people in view
        newest = truth[max(t for t in truth if t <= message["stamp"] + 1e-6)]
        rois = np.array([[x, y, x + w, y + h] for x, y, w, h in (p["roi"] for p in message["people"])], float)
        for person, box in newest.items():
            overlap = box_iou(box[None], rois)[0]
            assert overlap.max() > 0.5, (message["stamp"], person, overlap)
            ids.setdefault(person, set()).add(message["people"][int(overlap.argmax())]["id"])
        assert all(p["label"] == "happy" and 0.5 < p["detection_confidence"] <= 1 for p in message["people"])
    # the two people in view from the start keep one id each; the third has their own
    assert all(len(found) == 1 for found in ids.values()) and len(set.union(*ids.values())) == 3, ids
    assert received["explain"]["success"] and received["explain"]["person_id"] == received["explain"]["asked"]
    assert received["explain"]["text"].startswith(f"About {received['explain']['asked']}, the person ")
