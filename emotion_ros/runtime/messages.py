"""EmotionEstimate / Explanation <-> emotion_msgs messages."""

from __future__ import annotations

import numpy as np
from emotion_msgs.msg import EmotionState
from emotion_msgs.msg import Explanation as ExplanationMsg
from std_msgs.msg import Header

from emotion_ros.io.stamps import to_seconds, to_stamp
from emotion_ros.runtime.estimate import EmotionEstimate, Explanation


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
        valence=float(estimate.valence),
        arousal=float(estimate.arousal),
        speaking=estimate.speaking,
        speaking_probability=float(estimate.speaking_probability),
        video_present=estimate.video_present,
        audio_present=estimate.audio_present,
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
    )


def explanation_to_msg(explanation: Explanation, frame_id: str, model_id: str) -> ExplanationMsg:
    return ExplanationMsg(
        header=Header(stamp=to_stamp(explanation.t_end), frame_id=frame_id),
        window_start=to_stamp(max(explanation.t_start, 0.0)),
        label=explanation.label or "",
        question=explanation.question,
        text=explanation.text,
        latency=float(explanation.latency),
        tokens_generated=explanation.tokens,
        model_id=model_id,
    )
