"""Emotion-wheel scoring: the hit rate of MER2023 / MER2024 / IEMOCAP / MELD and the set F-score of OV-MERD+.

The published tables (five emotion wheels, a synonym sheet, a word-form sheet) are licence-bound
spreadsheets and are not shipped; users export them to three CSV files (``EmotionWheels.from_files``):

  wheels      ``wheel,word,level1``  one row per word of a wheel, at any level, with its level-1 word
  synonyms    ``word,synonym``       one row per (wheel word, synonym) pair, the eight runs' rows
                                     together, as in the published sheet's ``word_runK`` /
                                     ``synonym_runK`` columns: a response word equal to ``synonym``
                                     may stand for ``word``
  word forms  ``word,base``          one row per (word form, base form) pair, as the published
                                     ``format.csv`` (``name`` = base, ``format`` = its forms)

Behaviours that follow the published scoring code (Emotion-LLaMA-v2 ``evaluation/score_hit_ov.py``,
itself the AffectGPT / OV-MER ``my_affectgpt/evaluation/wheel.py``):

- a response is wrapped as ``[response]``, one leading "[" and one trailing "]" are removed and the
  rest is split on single quotes, double quotes and commas (not on ";", and brackets inside the
  response stay); items are stripped and lowercased, empty ones dropped (``string_to_list``);
- a ground-truth string goes through the same split without the wrapping (so "['a', 'b']" and
  "a, b" both read as two words); a ground-truth sequence is taken item by item;
- a word maps to a wheel's level-1 word as ``func_backward_case3`` does: when a word-form table is
  given, a word that is neither a listed form nor a base is dropped; the candidates are the
  synonym-table targets of every base the word is a form of (a wheel word always targets itself);
  the alphabetically first candidate present in the wheel decides, and the result is that
  candidate's level-1 word; a word with no candidate in the wheel is dropped;
- within a wheel, every word of a level-1 group (the level-1 word itself included) maps to that
  level-1 word; a later row wins when a word is listed twice;
- ground truth and predictions become sets of level-1 words per wheel; samples whose ground truth
  maps to nothing in a wheel (e.g. "neutral") are skipped for that wheel;
- hit rate: mean over scored samples of |pred & gt|, then the mean over wheels;
- OV-MERD+: per wheel P = mean |gt & pred| / |pred| (0 for an empty prediction), R = mean
  |gt & pred| / |gt|, F = 2PR / (P + R); the reported F is the mean of the per-wheel F.

Differences: no word-form table means every word is its own base form, and a word that the synonym
table does not list still targets itself (the published code would fail on either); F is 0 when P
and R are both 0 (the published code divides by zero); a wheel with no scored sample scores NaN.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)
_SEPARATORS = re.compile(r"['\",]")


def _norm(text: str) -> str:
    return text.strip().lower()


def _split_published(text: str) -> list[str]:
    """The published ``string_to_list``: one leading "[" and one trailing "]" off, split on quotes
    and commas, stripped and lowercased, empty items dropped."""
    if text.startswith("["):
        text = text[1:]
    if text.endswith("]"):
        text = text[:-1]
    return [_norm(item) for item in _SEPARATORS.split(text) if item.strip()]


def answer_span(text: str) -> str:
    """The text of the first <answer>...</answer> span, or the whole text when there is none."""
    match = _ANSWER.search(text or "")
    return match.group(1) if match else (text or "")


def response_words(response: str | None) -> list[str]:
    """The emotion words of a free-text response, as the published scorer reads them.

    'happy, "Excited"' -> ['happy', 'excited']; '<think>...</think><answer>sad, tense</answer>' ->
    ['sad', 'tense'] (an answer span, which our models write in the think task, replaces the text).
    """
    return _split_published(f"[{answer_span(response or '')}]")


def truth_words(item: str | Sequence[str] | None) -> list[str]:
    """Ground-truth words: a string is split like a response (without the [..] wrapping), a sequence
    is read item by item; both stripped and lowercased."""
    if item is None:
        return []
    if isinstance(item, str):
        return _split_published(item)
    return [_norm(word) for word in item if word and word.strip()]


def _read_csv(path: str | Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs with lowercased, stripped keys and values; ValueError on a missing column."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:  # -sig: spreadsheet exports often start with a BOM
        reader = csv.DictReader(handle)
        header = [_norm(name) for name in (reader.fieldnames or [])]
        missing = [column for column in columns if column not in header]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (header must be {','.join(columns)}; "
                             f"found {','.join(header) or 'nothing'})")
        rows = []
        for row in reader:
            clean = {_norm(k): _norm(v or "") for k, v in row.items() if k is not None}
            rows.append((reader.line_num, clean))
    return rows


def _alias_table(path: str | Path, target: str, alias: str) -> dict[str, tuple[str, ...]]:
    """{word: the targets it may stand for} from rows of a target and an alias (columns in the
    order the file's documented header has them); a target stands for itself."""
    table: dict[str, set[str]] = {}
    for line, row in _read_csv(path, (target, alias) if target == "word" else (alias, target)):
        if not row[target]:
            raise ValueError(f"{path}: line {line}: empty {target}")
        table.setdefault(row[target], set()).add(row[target])
        if row[alias]:
            table.setdefault(row[alias], set()).add(row[target])
    return {word: tuple(sorted(targets)) for word, targets in table.items()}


@dataclass
class EmotionWheels:
    """The user-supplied wheel tables, lowercased.

    word_forms: word form -> its base form(s) (every base also maps to itself); empty: no table,
        every word is its own base.
    synonyms: word -> candidate wheel words (union of all synonym runs; a wheel word lists itself).
    wheels: wheel name -> {word at any level -> its level-1 word}.
    """

    wheels: dict[str, dict[str, str]]
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    word_forms: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_files(cls, wheel_csv: str | Path, synonyms_csv: str | Path | None = None,
                   word_forms_csv: str | Path | None = None) -> EmotionWheels:
        """Read the CSV exports (headers ``wheel,word,level1`` / ``word,synonym`` / ``word,base``)."""
        wheels: dict[str, dict[str, str]] = {}
        for line, row in _read_csv(wheel_csv, ("wheel", "word", "level1")):
            if not row["wheel"] or not row["level1"]:
                raise ValueError(f"{wheel_csv}: line {line}: empty wheel or level1")
            wheel = wheels.setdefault(row["wheel"], {})
            wheel.setdefault(row["level1"], row["level1"])  # a level-1 word belongs to its own group
            if row["word"]:
                wheel[row["word"]] = row["level1"]
        if not wheels:
            raise ValueError(f"{wheel_csv}: no wheel rows")

        return cls(wheels=wheels,
                   synonyms=_alias_table(synonyms_csv, target="word", alias="synonym") if synonyms_csv else {},
                   word_forms=_alias_table(word_forms_csv, target="base", alias="word") if word_forms_csv else {})

    def map_word(self, word: str, wheel: str) -> str | None:
        """The level-1 word of ``wheel`` that ``word`` stands for, or None (the word is dropped)."""
        levels = self.wheels[wheel]
        word = _norm(word)
        if self.word_forms:
            bases = self.word_forms.get(word, ())
        else:
            bases = (word,)
        candidates = set()
        for base in bases:
            candidates.update(self.synonyms.get(base, ()))
            candidates.add(base)  # only matters for a wheel word the synonym table leaves out
        for candidate in sorted(candidates):  # sorted: one deterministic answer however many candidates match
            if candidate in levels:
                return levels[candidate]
        return None

    def map_words(self, words: Sequence[str], wheel: str) -> set[str]:
        """The set of level-1 words of ``wheel`` that ``words`` map to (unmapped words dropped)."""
        return {level1 for level1 in (self.map_word(w, wheel) for w in words) if level1 is not None}


def _pairs(truth: Sequence, responses: Sequence, wheels: EmotionWheels) -> list[tuple[list[str], list[str]]]:
    if len(truth) != len(responses):
        raise ValueError(f"{len(truth)} ground-truth items but {len(responses)} responses")
    if not truth:
        raise ValueError("no samples to score")
    if not wheels.wheels:
        raise ValueError("no emotion wheels to score with")
    return [(truth_words(t), response_words(r)) for t, r in zip(truth, responses)]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def hit_rate(truth: Sequence[str | Sequence[str]], responses: Sequence[str | None], wheels: EmotionWheels) -> dict:
    """The published hit rate.

    truth: N items, each a label string or a sequence of label strings; responses: N free texts.
    Returns {"hit_rate": mean over wheels, "per_wheel": {wheel: {"hit_rate", "samples"}},
    "samples": the largest number of samples scored by any wheel, "skipped": N - samples}.
    A hit rate counts matched level-1 words, so it can exceed 1 for multi-word ground truth.
    """
    pairs = _pairs(truth, responses, wheels)
    per_wheel = {}
    for name in sorted(wheels.wheels):
        hits = []
        for gt_words, pred_words in pairs:
            gt = wheels.map_words(gt_words, name)
            if not gt:
                continue  # ground truth outside the wheel (e.g. neutral): not scored, as published
            hits.append(len(gt & wheels.map_words(pred_words, name)))
        per_wheel[name] = {"hit_rate": _mean(hits), "samples": len(hits)}
    scored = max(w["samples"] for w in per_wheel.values())
    return {"hit_rate": _mean([w["hit_rate"] for w in per_wheel.values()]), "per_wheel": per_wheel,
            "samples": scored, "skipped": len(pairs) - scored}


def open_vocabulary_f(truth: Sequence[str | Sequence[str]], responses: Sequence[str | None],
                      wheels: EmotionWheels) -> dict:
    """The published OV-MERD+ set precision / recall / F-score.

    truth: N items (label string or sequence); responses: N free texts. Returns {"f_score",
    "precision", "recall": each the mean over wheels, "per_wheel": {wheel: {"f_score", "precision",
    "recall", "samples"}}, "samples": the largest number scored by any wheel, "skipped": N - samples}.
    """
    pairs = _pairs(truth, responses, wheels)
    per_wheel = {}
    for name in sorted(wheels.wheels):
        precision, recall = [], []
        for gt_words, pred_words in pairs:
            gt = wheels.map_words(gt_words, name)
            if not gt:
                continue
            pred = wheels.map_words(pred_words, name)
            precision.append(len(gt & pred) / len(pred) if pred else 0.0)
            recall.append(len(gt & pred) / len(gt))
        p, r = _mean(precision), _mean(recall)
        if math.isnan(p):  # no sample scored in this wheel
            f = math.nan
        else:
            f = 2 * p * r / (p + r) if p + r > 0 else 0.0
        per_wheel[name] = {"f_score": f, "precision": p, "recall": r, "samples": len(precision)}
    scored = max(w["samples"] for w in per_wheel.values())
    average = lambda key: _mean([w[key] for w in per_wheel.values()])  # noqa: E731
    return {"f_score": average("f_score"), "precision": average("precision"), "recall": average("recall"),
            "per_wheel": per_wheel, "samples": scored, "skipped": len(pairs) - scored}
