"""A small MMEVerse-format data set made from generated clips, to try the training commands.

Each clip films a photograph that ships with scikit-image under a moving camera and speaks
one sentence with espeak-ng: the smiling astronaut with a bright, quick voice (happy), or
the cameraman with a flat, slow one (neutral). Records cover every curriculum task. Test clips
speak sentences no training clip speaks, in voices (rate and pitch) outside the training
voices' range; but the two photographs are the only real faces scikit-image ships, so they are
the same in both splits. It is a smoke test of the pipeline, not a benchmark: a score on its
test split says nothing about accuracy; use the real data sets for that.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion_ros.model.label_sets import MER_LABELS
from emotion_ros.train.datasets import default_instruction
from emotion_ros.train.records import Record, write_records

DATASET = "synthetic"


@dataclass(frozen=True)
class Persona:
    label: str
    photo: str  # skimage.data name
    voice: tuple[int, int]  # espeak-ng words per minute, pitch (training clips: within 10 of it)
    test_voice: tuple[int, int]  # the test clips' voice: more than 10 away in rate and pitch
    valence: float
    arousal: float
    face: str
    voice_text: str
    sentences: tuple[str, ...]  # training clips
    test_sentences: tuple[str, ...]


PERSONAS = (
    Persona("happy", "astronaut", (175, 70), (195, 85), 0.7, 0.4, "The person is smiling broadly.",
            "The voice is bright, high and quick.",
            ("What a lovely day it is!", "I am so glad you came.", "This is wonderful news.",
             "I really love this place."),
            ("We won the match today!", "Thank you, this made my week.")),
    Persona("neutral", "camera", (120, 30), (100, 15), 0.0, -0.3, "The person looks calm, with a still face.",
            "The voice is flat, low and slow.",
            ("The meeting starts at ten.", "Please put the box on the table.", "The train leaves from platform two.",
             "I will check the list later."),
            ("The report is on the second shelf.", "Turn left after the bridge.")),
)


def _records(clip: Path, name: str, split: str, persona: Persona, sentence: str) -> list[Record]:
    common = dict(dataset=DATASET, split=split, subtitle=sentence, clip=clip, labels=(persona.label,),
                  valence=persona.valence, arousal=persona.arousal)
    reason = f"{persona.face} {persona.voice_text} So the person feels {persona.label}."
    records = [Record(id=f"{name}/emotion", task="emotion", instruction=default_instruction("emotion", MER_LABELS),
                      answer=persona.label, **common)]
    if split == "train":
        records += [
            Record(id=f"{name}/audio", task="audio", answer=f"{persona.voice_text} The person says: {sentence}",
                   **common),
            Record(id=f"{name}/image", task="image", answer=persona.face, **common),
            Record(id=f"{name}/reason", task="reason", answer=reason, **common),
            Record(id=f"{name}/think", task="think", instruction=default_instruction("think", MER_LABELS),
                   answer=f"<think>{reason}</think><answer>{persona.label}</answer>", **common),
        ]
    return records


def make_synthetic_set(directory: str | Path, clips_per_label: int = 4, test_per_label: int = 2,
                       duration: float = 2.5, size: tuple[int, int] = (192, 144), seed: int = 0) -> dict[str, Path]:
    """Write clips/ and train.jsonl, test.jsonl into ``directory``; returns the record files."""
    from emotion_ros.samples.sample_clip import make_sample_clip
    from emotion_ros.samples.scenes import photograph

    directory = Path(directory)
    rng = np.random.default_rng(seed)
    splits: dict[str, list[Record]] = {"train": [], "test": []}
    for persona in PERSONAS:
        photo = photograph(persona.photo)
        for i in range(clips_per_label + test_per_label):
            split = "train" if i < clips_per_label else "test"
            if split == "train":
                sentence = persona.sentences[i % len(persona.sentences)]
                rate, pitch = (int(v + rng.integers(-10, 11)) for v in persona.voice)
            else:
                sentence = persona.test_sentences[(i - clips_per_label) % len(persona.test_sentences)]
                rate, pitch = persona.test_voice
            name = f"{persona.label}_{i:02d}"
            clip = make_sample_clip(directory / "clips" / f"{name}.mp4", duration=duration, fps=15, size=size,
                                    text=sentence, image=photo, words_per_minute=rate, pitch=pitch)
            splits[split] += _records(clip, name, split, persona, sentence)
    return {split: write_records(records, directory / f"{split}.jsonl") for split, records in splits.items()}
