"""MMEVerse-style instruction records, read from JSONL or CSV.

One record is one (clip, prompt, answer) sample:

  id           unique name of the sample (the clip's name in the source data set)
  dataset      source data set (a name from datasets.CATALOGUE, or any other)
  split        train / val / test (free text; commands select splits by name)
  task         emotion, sentiment, intent, multi-label, audio, image, reason or think
  instruction  the question after "[task]" (default: the data set's published one for the task)
  answer       the target text (think: "<think>...</think><answer>label</answer>")
  labels       ground-truth label(s): a JSON list, or "a; b" / "a, b" in CSV
  subtitle     what the person says ("" when unknown)
  clip         media file (video with its audio track), relative to the record file
  audio        optional separate audio file for the clip, relative to the record file
  features     optional pre-extracted encoder features (.safetensors, see features.py), relative
               to the record file; used instead of decoding the clip
  valence, arousal  optional floats in [-1, 1]

A record needs an id, a task, a clip or features, and an answer or labels.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

TASKS = ("emotion", "sentiment", "intent", "multi-label", "audio", "image", "reason", "think")
LABEL_TASKS = ("emotion", "sentiment", "intent", "multi-label")  # the answer is the label(s)


class RecordError(ValueError):
    """A record file is missing, malformed, or a record breaks the format."""


@dataclass(frozen=True)
class Record:
    id: str
    task: str
    dataset: str = ""
    split: str = "train"
    instruction: str = ""
    answer: str = ""
    labels: tuple[str, ...] = ()
    subtitle: str = ""
    clip: Path | None = None
    audio: Path | None = None
    features: Path | None = None
    valence: float | None = None
    arousal: float | None = None
    extra: dict = field(default_factory=dict, compare=False, repr=False)  # columns the format does not know

    def to_json(self, relative_to: Path | None = None) -> dict:
        """The record as one JSONL object (paths relative to ``relative_to`` when given)."""
        out = {}
        for key, value in asdict(self).items():
            if key == "extra" or value in (None, "", ()):
                continue
            if isinstance(value, Path) and relative_to is not None:
                value = os.path.relpath(Path(value).resolve(), relative_to.resolve())
            out[key] = list(value) if isinstance(value, tuple) else str(value) if isinstance(value, (Path, str)) else value
        return {**out, **self.extra}


_FIELDS = {f.name for f in fields(Record)} - {"extra"}


def split_label_text(text: str) -> tuple[str, ...]:
    """'happy; surprise, fear' -> ('happy', 'surprise', 'fear')."""
    return tuple(part.strip() for part in re.split(r"[,;]", text) if part.strip())


def _number(value, name: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or not -1.0 <= number <= 1.0:
        raise ValueError(f"{name} must lie in [-1, 1], got {number}")
    return number


def record_from_dict(values: dict, base: Path) -> Record:
    """One record from a parsed JSON object or CSV row; paths are resolved against ``base``."""
    text = lambda key: "" if values.get(key) is None else str(values[key]).strip()  # noqa: E731
    path = lambda key: Path(os.path.normpath(base / text(key))) if text(key) else None  # noqa: E731
    labels = values.get("labels", values.get("label"))
    if isinstance(labels, str):
        labels = split_label_text(labels)
    elif labels is None:
        labels = ()
    elif isinstance(labels, list) and all(isinstance(x, str) for x in labels):
        labels = tuple(x.strip() for x in labels if x.strip())
    else:
        raise ValueError(f"labels must be a string or a list of strings, got {labels!r}")
    record = Record(
        id=text("id"), task=text("task").lower(), dataset=text("dataset"), split=text("split") or "train",
        instruction=text("instruction"), answer=text("answer"), labels=labels, subtitle=text("subtitle"),
        clip=path("clip"), audio=path("audio"), features=path("features"),
        valence=_number(values.get("valence"), "valence"), arousal=_number(values.get("arousal"), "arousal"),
        extra={k: v for k, v in values.items() if k not in _FIELDS | {"label"}},
    )
    if not record.id:
        raise ValueError("id is missing")
    if record.task not in TASKS:
        raise ValueError(f"task {record.task!r} is not one of {', '.join(TASKS)}")
    if record.clip is None and record.features is None:
        raise ValueError("a record needs a clip or features")
    if not record.answer and not record.labels:
        raise ValueError("a record needs an answer or labels")
    return record


def _rows(path: Path) -> Iterable[tuple[int, dict]]:
    if path.suffix == ".jsonl":
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise RecordError(f"{path}:{number}: not JSON: {exc.msg}") from None
                if not isinstance(row, dict):
                    raise RecordError(f"{path}:{number}: a record must be a JSON object")
                yield number, row
    elif path.suffix == ".csv":
        with open(path, encoding="utf-8", newline="") as handle:
            for number, row in enumerate(csv.DictReader(handle), 2):
                yield number, row
    else:
        raise RecordError(f"{path}: records are read from .jsonl or .csv files")


def read_records(path: str | Path, splits: Iterable[str] | None = None, check_files: bool = True) -> list[Record]:
    """Records of a JSONL or CSV file (optionally only those of ``splits``).

    Raises RecordError naming the file and line of the first bad record, duplicate ids, and
    (with check_files) clips or feature files that do not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise RecordError(f"record file not found: {path}")
    wanted = set(splits) if splits is not None else None
    records, seen = [], set()
    for number, row in _rows(path):
        try:
            record = record_from_dict(row, path.parent)
        except ValueError as exc:
            raise RecordError(f"{path}:{number}: {exc}") from None
        if record.id in seen:
            raise RecordError(f"{path}:{number}: duplicate id {record.id!r}")
        seen.add(record.id)
        if wanted is not None and record.split not in wanted:
            continue
        if check_files:
            source = record.features or record.clip
            if not source.is_file():
                raise RecordError(f"{path}:{number}: {source} does not exist")
        records.append(record)
    return records


def write_records(records: Iterable[Record], path: str | Path) -> Path:
    """Write JSONL with paths relative to the file's directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record.to_json(path.parent)) + "\n")
    return path
