"""REP-155 output: the label mapping, topic names and regions; and, with an hri_msgs-shaped
interface package built from REP-155's field list in a test workspace, the topics over DDS."""

import numpy as np
import pytest
from interface_workspace import run_with_interfaces

from emotion_ros.runtime.rep155 import TRACKED_FACES, expression_for, face_topic, normalized_roi

REP155_EXPRESSIONS = {"neutral", "angry", "sad", "happy", "surprised", "disgusted", "scared"}


def test_every_label_of_every_preset_maps_onto_a_rep155_expression():
    from emotion_ros.model.config import load_preset

    for preset in ("tiny", "edge", "v2"):
        labels = load_preset(preset).labels
        assert {expression_for(label) for label in labels} <= REP155_EXPRESSIONS, preset
    assert [expression_for(l) for l in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")] == \
        ["angry", "disgusted", "scared", "happy", "sad", "surprised", "neutral"]
    assert expression_for("worried") == "scared" and expression_for("Joy") == "happy" and expression_for("contempt") == ""


def test_face_topics_and_regions_follow_rep155():
    assert TRACKED_FACES == "/humans/faces/tracked"
    assert face_topic("f12", "expression") == "/humans/faces/f12/expression"
    for bad in ("", "12", "f 1", "f/1"):
        with pytest.raises(ValueError, match="not a REP-155 face id"):
            face_topic(bad, "roi")
    assert normalized_roi(np.array([64.0, 48.0, 192.0, 240.0]), (480, 640)) == pytest.approx((0.1, 0.1, 0.3, 0.5))
    assert normalized_roi(np.array([-5.0, 0.0, 700.0, 500.0]), (480, 640)) == (0.0, 0.0, 1.0, 1.0)


def test_faces_expressions_regions_and_ids_cross_dds_with_an_hri_msgs_package(hri_workspace, tmp_path):
    heard = run_with_interfaces("hri_roundtrip.py", tmp_path / "heard.json", hri_workspace, timeout=120)
    assert not heard["elsewhere_before"] and heard["elsewhere_seen_by_listener"]
    assert ["f1", "f2"] in heard["tracked"] and heard["tracked"][-1] == ["f1"]
    first = {(e["face"], e["expression"]) for e in heard["expression"]}
    assert {("f1", "sad"), ("f2", "surprised"), ("f1", "scared")} <= first
    assert all(e["valence"] == pytest.approx(-0.4) and e["arousal"] == pytest.approx(0.3) and e["confidence"] == pytest.approx(0.7)
               for e in heard["expression"])
    f2 = next(r for r in heard["roi"] if r["face"] == "f2")
    assert f2["box"] == pytest.approx([0.5, 0.25, 0.75, 0.75]) and f2["c"] == pytest.approx(0.95)
    # a face's topics go when its track ends
    assert heard["publishers_of_f2_with_two"] == 1 and heard["publishers_of_f2_after"] == 0


def test_behind_a_ros4hri_face_pipeline_the_node_reads_its_faces_by_their_ids(hri_workspace, tmp_path):
    heard = run_with_interfaces("hri_face_source.py", tmp_path / "heard.json", hri_workspace, timeout=180)
    people = heard["people"]
    assert len(people) >= 3 and heard["crops_read"] >= 100
    for message in people:
        by_id = {p["id"]: p for p in message["people"]}
        assert set(by_id) == {"abcde", "fghij"}, message  # the other node's ids, not ours
        assert all(p["label"] == "happy" and p["confidence"] > 0.5 for p in by_id.values())  # the astronaut, and mirrored
        assert all(p["detection"] == pytest.approx(0.9, abs=0.01) for p in by_id.values())
        # the regions the other node gave, in pixels of the 640 x 480 camera image
        assert by_id["abcde"]["roi"] == pytest.approx([64, 96, 128, 144], abs=2)
        assert by_id["fghij"]["roi"] == pytest.approx([384, 144, 96, 144], abs=2)
    assert {face for face, expression in heard["expressions"] if expression == "happy"} == {"abcde", "fghij"}
    assert heard["tracked_publishers"] == 1  # the other node's: faces are not published twice


def test_a_ros4hri_recogniser_s_live_speech_reaches_the_windows_it_overlaps(hri_workspace, tmp_path):
    """LiveSpeech on `speech` (transcript_type live_speech): stamped hypotheses, replaced by the
    final result, in the states of the windows that overlap them."""
    heard = run_with_interfaces("hri_live_speech.py", tmp_path / "heard.json", hri_workspace, timeout=180)
    said = {state["t"]: state["utterance"] for state in heard["states"]}
    assert not heard["rejected"]
    assert said[1002.5] == "" and said[1003.5] == "I can"  # the hypothesis, before the final result
    assert said[1004.5] == said[1005.5] == "I can't believe it"  # ... then only the final one
    assert said[1007.0] == ""  # 3.1 s after it ended: no longer in a 2 s window
