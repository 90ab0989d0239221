"""The label sets models are trained on, each defined once; presets name them (`labels: fer2013`)."""

from __future__ import annotations

FER_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # FER2013's classes, in its order
MER_LABELS = ("angry", "happy", "neutral", "sad", "surprise", "worried")  # MER2023/2024, Emotion-LLaMA-v2's

LABEL_SETS = {"fer2013": FER_LABELS, "mer": MER_LABELS}
