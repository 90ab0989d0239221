"""Records -> training samples -> padded batches for the head (encoders frozen, features cached).

A sample's token layout is the prompt format of model/prompt.py:

  [BOS "[INST] <Vid>"] [prefix: the network's P multimodal tokens] ["</Vid> ... [/INST]" answer EOS]

The first part is the same for every sample, so the prefix sits at a fixed position; the text
after it (prompt tail + answer) is right-padded per batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from emotion_ros.model.labels import parse_label
from emotion_ros.model.prompt import PLACEHOLDER, instruction_text
from emotion_ros.model.text_cues import text_cues
from emotion_ros.model.tokenizer import TextTokenizer
from emotion_ros.train.datasets import default_instruction, spec_for
from emotion_ros.train.features import KEYS, ClipFeatures, FeatureCache
from emotion_ros.train.records import LABEL_TASKS, Record
from emotion_ros.train.teacher import TeacherOutputs

IGNORE = -100  # targets that carry no loss (F.cross_entropy's ignore_index)
VIDEO_ONLY, AUDIO_ONLY = ("image",), ("audio",)  # description tasks see one modality


def record_words(record: Record) -> torch.Tensor:
    """(TEXT_DIM,) the text view's cues of what the record's person says (none for a task that
    sees one modality)."""
    said = "" if record.task in VIDEO_ONLY + AUDIO_ONLY else record.subtitle
    return torch.from_numpy(text_cues(said))


def record_prompt(record: Record) -> str:
    """The prompt text of a record (PLACEHOLDER where the multimodal tokens go)."""
    instruction = record.instruction
    if not instruction:
        spec = spec_for(record.dataset)
        instruction = default_instruction(record.task, spec.labels if spec and spec.labels else record.labels)
    return instruction_text(record.task, (), record.subtitle, question=instruction)


def record_answer(record: Record) -> str:
    """The training target. Label answers are lowercased, as the published targets are
    (blip_caption), so generated labels match the scorers' exact-string comparison."""
    return record.answer.lower() if record.task in LABEL_TASKS else record.answer


@dataclass
class Sample:
    """One record, ready to batch: features of all its windows, token ids, targets."""

    record: Record
    features: ClipFeatures
    text_ids: list[int]  # prompt tail + answer (+ EOS)
    answer_start: int  # index in text_ids of the first answer token
    label: int  # index into the model's labels, or IGNORE
    valence_arousal: tuple[float, float] | None
    teacher_top: tuple[torch.Tensor, torch.Tensor] | None  # (A, k) ids and log-probs over the answer tokens


class TrainingSet(torch.utils.data.Dataset):
    """Samples of ``records``; features come from ``cache`` (encoded on first use)."""

    def __init__(self, records: list[Record], cache: FeatureCache, tokenizer: TextTokenizer, labels: tuple[str, ...],
                 max_answer_tokens: int = 200, teacher: TeacherOutputs | None = None, use_teacher_texts: bool = False,
                 use_teacher_logits: bool = False):
        self.records, self.cache, self.tokenizer, self.labels = records, cache, tokenizer, labels
        self.max_answer_tokens, self.teacher = max_answer_tokens, teacher
        self.use_teacher_texts, self.use_teacher_logits = use_teacher_texts, use_teacher_logits

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> Sample:
        record = self.records[index]
        tokenizer = self.tokenizer
        tail = record_prompt(record).split(PLACEHOLDER)[1]
        prompt_ids = tokenizer.encode(tail)
        teacher_top = None
        logits = self.teacher.logits(record.id) if self.teacher and self.use_teacher_logits else None
        if logits is not None:  # the teacher's own tokens, so its logits line up with the targets
            tokens, top_ids, top_logprobs = (t[: self.max_answer_tokens + 1] for t in logits)
            answer_ids, teacher_top = tokens.tolist(), (top_ids, top_logprobs)
        else:
            text = record_answer(record)
            if self.teacher is not None and self.use_teacher_texts and record.id in self.teacher.texts:
                text = self.teacher.texts[record.id]
            answer_ids = tokenizer.encode(" " + text)[: self.max_answer_tokens] + [tokenizer.eos_id]
        label = IGNORE
        if len(record.labels) == 1 and record.task in ("emotion", "reason", "think"):
            parsed = parse_label(record.labels[0], self.labels)
            label = self.labels.index(parsed) if parsed is not None else IGNORE
        va = None if record.valence is None or record.arousal is None else (record.valence, record.arousal)
        return Sample(record, self.cache.load(record), prompt_ids + answer_ids, len(prompt_ids), label, va,
                      teacher_top)


@dataclass
class Batch:
    """B samples. Encoder outputs as in features.py, one window each; text_ids (B, N) padded
    with pad; text_mask (B, N) bool; text_targets (B, N): the token each text position holds
    where it is part of the answer, else IGNORE; label (B,) or IGNORE; valence_arousal (B, 2)
    with va_mask (B,); teacher_ids / teacher_logprobs (B, N, k) aligned with text positions,
    teacher_mask (B, N); words (B, TEXT_DIM) the cues of each record's subtitle, as the runtime
    computes them (model/text_cues.py; zeros where a task does not see the words)."""

    features: ClipFeatures
    text_ids: torch.Tensor
    text_mask: torch.Tensor
    text_targets: torch.Tensor
    label: torch.Tensor
    valence_arousal: torch.Tensor
    va_mask: torch.Tensor
    teacher_ids: torch.Tensor | None = None
    teacher_logprobs: torch.Tensor | None = None
    teacher_mask: torch.Tensor | None = None
    words: torch.Tensor | None = None

    def to(self, device: torch.device) -> Batch:
        moved = {name: (value.to(device) if isinstance(value, torch.Tensor) else value)
                 for name, value in vars(self).items() if name != "features"}
        features = ClipFeatures(*(getattr(self.features, key).to(device) for key in KEYS))
        return Batch(features=features, **moved)


def make_batch(samples: list[Sample], pad_id: int, generator: torch.Generator | None = None,
               video_dropout: float = 0.0, audio_dropout: float = 0.0) -> Batch:
    """Pick one window per sample (random with a generator, else the middle one), mask the
    modality a task does not see, apply modality dropout, and pad the text."""
    windows = []
    for sample in samples:
        count = len(sample.features)
        index = int(torch.randint(count, (1,), generator=generator)) if generator is not None else count // 2
        window = sample.features.window(index)
        task = sample.record.task
        video, audio = window.video_present.clone(), window.audio_present.clone()
        if task in AUDIO_ONLY:
            video[:] = False
        elif task in VIDEO_ONLY:
            audio[:] = False
        elif generator is not None and bool(video) and bool(audio):
            u = float(torch.rand((), generator=generator))
            if u < video_dropout:
                video[:] = False
            elif u < video_dropout + audio_dropout:
                audio[:] = False
        window.video_present, window.audio_present = video, audio
        windows.append(window)
    features = ClipFeatures(*(torch.cat([getattr(w, key) for w in windows]) for key in KEYS))
    b, n = len(samples), max(len(s.text_ids) for s in samples)
    text_ids = torch.full((b, n), pad_id, dtype=torch.long)
    text_mask = torch.zeros(b, n, dtype=torch.bool)
    targets = torch.full((b, n), IGNORE, dtype=torch.long)
    with_teacher = [s for s in samples if s.teacher_top is not None]
    k = with_teacher[0].teacher_top[0].shape[1] if with_teacher else 0
    teacher_ids = torch.zeros(b, n, k, dtype=torch.long) if k else None
    teacher_logprobs = torch.zeros(b, n, k) if k else None
    teacher_mask = torch.zeros(b, n, dtype=torch.bool) if k else None
    for i, sample in enumerate(samples):
        ids = torch.tensor(sample.text_ids)
        text_ids[i, : len(ids)] = ids
        text_mask[i, : len(ids)] = True
        targets[i, sample.answer_start : len(ids)] = ids[sample.answer_start :]
        if k and sample.teacher_top is not None:
            top_ids, top_logprobs = sample.teacher_top
            if top_ids.shape[1] != k:
                raise ValueError("teacher outputs mix different top-k sizes")
            span = slice(sample.answer_start, sample.answer_start + len(top_ids))
            teacher_ids[i, span], teacher_logprobs[i, span], teacher_mask[i, span] = top_ids, top_logprobs, True
    label = torch.tensor([s.label for s in samples], dtype=torch.long)
    va = torch.tensor([s.valence_arousal or (0.0, 0.0) for s in samples], dtype=torch.float32)
    va_mask = torch.tensor([s.valence_arousal is not None for s in samples])
    words = torch.stack([record_words(s.record) for s in samples])
    return Batch(features, text_ids, text_mask, targets, label, va, va_mask, teacher_ids, teacher_logprobs, teacher_mask, words)
