"""EmotionEstimate / Explanation <-> emotion_msgs messages."""

from __future__ import annotations

import math

import numpy as np
from builtin_interfaces.msg import Duration
from emotion_msgs.msg import EmotionState
from emotion_msgs.msg import Explanation as ExplanationMsg
from emotion_msgs.msg import PersonEmotion, PersonEmotionArray
from sensor_msgs.msg import RegionOfInterest
from std_msgs.msg import Header

from emotion_ros.io.stamps import to_seconds, to_stamp
from emotion_ros.runtime.estimate import EmotionEstimate, Explanation, PersonEstimate


def estimate_to_msg(estimate: EmotionEstimate, frame_id: str, model_id: str) -> EmotionState:
    return EmotionState(
        header=Header(stamp=to_stamp(estimate.t_end), frame_id=frame_id),
        window_start=to_stamp(max(estimate.t_start, 0.0)),
        labels=list(estimate.labels),
        scores=[float(s) for s in estimate.scores],
        label=estimate.label if estimate.person_visible else "",
        confidence=estimate.confidence if estimate.person_visible else 0.0,
        person_visible=estimate.person_visible,
        faces=len(estimate.people),
        person_id=estimate.person_id,
        speaker_id=estimate.speaker_id,
        valence=float(estimate.valence),
        arousal=float(estimate.arousal),
        speaking=estimate.speaking,
        speaking_probability=float(estimate.speaking_probability),
        video_present=estimate.video_present,
        audio_present=estimate.audio_present,
        text_present=estimate.text_present,
        utterance=estimate.utterance,
        model_id=model_id,
        latency=float(estimate.latency),
    )


def msg_to_estimate(msg: EmotionState) -> EmotionEstimate:
    return EmotionEstimate(
        t_start=to_seconds(msg.window_start),
        t_end=to_seconds(msg.header.stamp),
        labels=tuple(msg.labels),
        scores=np.asarray(msg.scores, dtype=np.float32),
        valence=msg.valence,
        arousal=msg.arousal,
        speaking_probability=msg.speaking_probability,
        video_present=msg.video_present,
        audio_present=msg.audio_present,
        latency=msg.latency,
        utterance=msg.utterance,
    )


def box_to_roi(box: np.ndarray) -> RegionOfInterest:
    """box (4,) x0, y0, x1, y1 [px] -> the smallest whole-pixel region that holds it."""
    x0, y0 = max(0, math.floor(box[0])), max(0, math.floor(box[1]))
    return RegionOfInterest(x_offset=x0, y_offset=y0, width=max(0, math.ceil(box[2]) - x0),
                            height=max(0, math.ceil(box[3]) - y0))


def person_to_msg(person: PersonEstimate, labels: tuple[str, ...]) -> PersonEmotion:
    top = int(np.argmax(person.scores))
    seconds = int(person.tracked_for)
    return PersonEmotion(
        id=person.id, roi=box_to_roi(person.box), detection_confidence=float(person.detection), seen=float(person.seen),
        tracked_for=Duration(sec=seconds, nanosec=int(round((person.tracked_for - seconds) * 1e9)) % 1_000_000_000),
        scores=[float(s) for s in person.scores], label=labels[top], confidence=float(person.scores[top]),
        valence=float(person.valence), arousal=float(person.arousal),
        speaking=person.speaking, speaking_probability=float(person.speaking_probability),
    )


def people_to_msg(estimate: EmotionEstimate, frame_id: str, model_id: str) -> PersonEmotionArray:
    return PersonEmotionArray(
        header=Header(stamp=to_stamp(estimate.t_end), frame_id=frame_id),
        window_start=to_stamp(max(estimate.t_start, 0.0)),
        labels=list(estimate.labels),
        people=[person_to_msg(person, estimate.labels) for person in estimate.people],
        main_id=estimate.person_id,
        voice_attributed=estimate.voice_attributed,
        voice_speaking=estimate.speaking,
        voice_speaking_probability=float(estimate.speaking_probability),
        utterance=estimate.utterance,
        model_id=model_id,
    )


def explanation_to_msg(explanation: Explanation, frame_id: str, model_id: str) -> ExplanationMsg:
    return ExplanationMsg(
        header=Header(stamp=to_stamp(explanation.t_end), frame_id=frame_id),
        window_start=to_stamp(max(explanation.t_start, 0.0)),
        person_id=explanation.person_id,
        label=explanation.label or "",
        question=explanation.question,
        text=explanation.text,
        latency=float(explanation.latency),
        tokens_generated=explanation.tokens,
        model_id=model_id,
    )
