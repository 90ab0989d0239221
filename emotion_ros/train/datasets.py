"""The MMEVerse data sets: label sets, label columns, prompts and scoring, as published.

Users bring their own copies (the data sets are licence-gated). ``import_label_csv`` turns a
data set's published label file (<DS>_label.csv) into records (records.py); ``CATALOGUE``
tells the evaluation which metrics a benchmark is scored with.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from emotion_ros.model.label_sets import MER_LABELS
from emotion_ros.train.records import Record, RecordError, split_label_text

# Metric families (eval/benchmark.py): accuracy + weighted F1; those plus UAR/WAR; sentiment
# without neutral; multi-label F1/Jaccard; emotion-wheel hit rate; open-vocabulary wheel F.
FAMILIES = ("single", "uar_war", "sentiment", "multi_label", "hit_rate", "open_vocabulary")

EMOTIC = (
    "affection", "anger", "annoyance", "anticipation", "aversion", "confidence", "disapproval", "disconnection",
    "disquietment", "doubt/confusion", "embarrassment", "engagement", "esteem", "excitement", "fatigue", "fear",
    "happiness", "pain", "peace", "pleasure", "sadness", "sensitivity", "suffering", "surprise", "sympathy", "yearning",
)
MAFW = ("anger", "anxiety", "contempt", "disappointment", "disgust", "fear", "happiness", "helplessness", "neutral",
        "sadness", "surprise")
SENTIMENT = ("neutral", "negative", "positive")


@dataclass(frozen=True)
class DataSetSpec:
    """task: the prompt's [task]; labels: the label list the prompt offers (None: open
    vocabulary); label_column / split_column / id_column: columns of the published label CSV;
    label_map: ground-truth rewrites (labels mapped to "" are dropped); family: how the
    benchmark is scored; test_splits: the split values scored."""

    name: str
    task: str
    labels: tuple[str, ...] | None
    label_column: str
    family: str = "single"
    split_column: str = "mode"
    id_column: str = "name"
    test_splits: tuple[str, ...] = ("test",)
    label_map: dict[str, str] = field(default_factory=dict)


CATALOGUE = {spec.name: spec for spec in (
    DataSetSpec("mer2023", "emotion", MER_LABELS, "emotion_label", "hit_rate", test_splits=("test1", "test2", "test3")),
    DataSetSpec("mer2024_semi", "emotion", MER_LABELS, "emotion_label", "hit_rate", test_splits=("test_semi", "other")),
    DataSetSpec("meld_emotion", "emotion", ("anger", "disgust", "fear", "joy", "neutral", "sad", "surprise"),
                "Emotion", "hit_rate", test_splits=("test", "dev")),
    DataSetSpec("caer", "emotion", ("anger", "disgust", "fear", "happy", "neutral", "sad", "surprise"), "emotion_label"),
    DataSetSpec("mc_eiu_emotion", "emotion", ("anger", "disgust", "fear", "happy", "neutral", "sad", "surprise"),
                "emotion"),
    DataSetSpec("dfew", "emotion", ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"), "label",
                "uar_war"),
    DataSetSpec("e3", "emotion", ("angry", "disgusted", "happy", "sad", "sarcastic", "scared", "shy", "surprised"),
                "emotion"),
    DataSetSpec("iemocap", "emotion", ("anger", "sadness", "happiness"), "official_label", "hit_rate",
                test_splits=("Session5",),
                label_map={"excited": "happiness", "frustrated": "", "fear": "", "surprise": "", "disgust": "",
                           "other": "", "xxx": ""}),
    DataSetSpec("mafw", "emotion", MAFW, "single_label", "uar_war"),
    DataSetSpec("mafw_multi", "multi-label", MAFW, "multi_label", "multi_label"),
    DataSetSpec("bold", "multi-label", EMOTIC, "Emotion_label", "multi_label", test_splits=("val",)),
    DataSetSpec("mc_eiu_intent", "intent", ("acknowledging", "agreeing", "consoling", "encouraging", "neutral",
                                             "questioning", "suggesting", "wishing"), "intent"),
    DataSetSpec("meld_sentiment", "sentiment", SENTIMENT, "Sentiment"),
    DataSetSpec("cmu_mosi", "sentiment", SENTIMENT, "label", "sentiment"),
    DataSetSpec("cmu_mosei", "sentiment", SENTIMENT, "label", "sentiment"),
    DataSetSpec("ch_sims_v2_s", "sentiment", SENTIMENT, "label", "sentiment"),
    DataSetSpec("sims", "sentiment", ("positive", "negative"), "val_label", "sentiment"),
    DataSetSpec("ov_merd+", "multi-label", None, "openset", "open_vocabulary"),
)}

# The published instruction of each label task ({labels}: the data set's label list).
LABEL_INSTRUCTIONS = {
    "emotion": "Please determine which emotion label in the video represents: {labels}.",
    "sentiment": "Please determine the sentiment of the person in the video: {labels}.",
    "intent": "Please determine the intent of the person in the video: {labels}.",
    "multi-label": "Please determine which emotion labels in the video represent (one or more): {labels}.",
}
DESCRIPTION_INSTRUCTIONS = {
    "audio": "Describe the person's voice: its tone, loudness and pace, and what they say.",
    "image": "Describe the person's facial expression.",
}


def spec_for(dataset: str) -> DataSetSpec | None:
    return CATALOGUE.get(dataset.lower())


def default_instruction(task: str, labels: tuple[str, ...] | None) -> str:
    """The question a record without its own instruction is asked."""
    if task in LABEL_INSTRUCTIONS and labels:
        return LABEL_INSTRUCTIONS[task].format(labels=", ".join(labels))
    if task in DESCRIPTION_INSTRUCTIONS:
        return DESCRIPTION_INSTRUCTIONS[task]
    from emotion_ros.model.prompt import INSTRUCTIONS

    if task in INSTRUCTIONS:
        return INSTRUCTIONS[task].format(labels=", ".join(labels or ()))
    raise ValueError(f"task {task!r} has no default instruction and the record gives none")


CLIP_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".flv")


def find_clip(directory: Path, name: str) -> Path | None:
    for suffix in CLIP_SUFFIXES:
        candidate = directory / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def import_label_csv(spec: DataSetSpec, label_csv: str | Path, clips: str | Path, label_column: str | None = None,
                     split_column: str | None = None, id_column: str | None = None,
                     subtitle_column: str | None = None, default_split: str = "train") -> tuple[list[Record], list[str]]:
    """Records of one data set's label CSV; clips are found as <clips>/<id>.<video suffix>.

    Returns (records, skipped): ``skipped`` names rows left out (no clip, label mapped away).
    The answer is the ground-truth label(s), lowercased as the published training target is.
    """
    label_csv, clips = Path(label_csv), Path(clips)
    label_column, split_column = label_column or spec.label_column, split_column or spec.split_column
    id_column = id_column or spec.id_column
    if not label_csv.is_file():
        raise RecordError(f"label file not found: {label_csv}")
    with open(label_csv, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    header = rows[0].keys() if rows else ()
    for column in (id_column, label_column):
        if column not in header:
            raise RecordError(f"{label_csv} has no column {column!r} (columns: {', '.join(header)})")
    records, skipped = [], []
    for row in rows:
        name = row[id_column].strip()
        labels = []
        for label in split_label_text(row[label_column]):
            label = spec.label_map.get(label.lower(), label.lower())
            if label:
                labels.append(label)
        clip = find_clip(clips, name)
        if not labels or clip is None:
            skipped.append(f"{name}: {'no clip in ' + str(clips) if clip is None else 'label left out'}")
            continue
        records.append(Record(
            id=f"{spec.name}/{name}", task=spec.task, dataset=spec.name,
            split=(row.get(split_column) or default_split).strip(),
            instruction=default_instruction(spec.task, spec.labels) if spec.labels else "",
            answer=", ".join(labels), labels=tuple(labels),
            subtitle=(row.get(subtitle_column) or "").strip() if subtitle_column else "", clip=clip,
        ))
    return records, skipped
