"""`emotion-ros eval`: answer test records with a checkpoint (or read stored responses) and
score each benchmark the way MMEVerse scores it.

A record's data set picks its metric family and label list from train/datasets.CATALOGUE; a
data set outside the catalogue is scored as single-label (multi-label for the multi-label
task) over the labels its records use. Under torchrun each process answers a share.

Outputs in ``out``: predictions.jsonl (id, dataset, task, labels, response), report.json,
report.md and confusion_<benchmark>.png.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from emotion_ros.eval.benchmark import BenchmarkResult, score_benchmark, write_report
from emotion_ros.eval.wheel import EmotionWheels
from emotion_ros.train import distributed
from emotion_ros.train.answering import RecordAnswerer
from emotion_ros.train.datasets import spec_for
from emotion_ros.train.features import FeatureCache
from emotion_ros.train.records import LABEL_TASKS, Record, RecordError, read_records
from emotion_ros.train.trainer import encode_clips, load_start

SCORED_TASKS = LABEL_TASKS + ("think",)  # tasks whose answer names labels


def benchmark_of(record: Record) -> tuple[str, str, tuple[str, ...] | None]:
    """(benchmark name, metric family, label list or None for the record's own labels)."""
    spec = spec_for(record.dataset)
    if spec is not None:
        return spec.name, spec.family, spec.labels
    family = "multi_label" if record.task == "multi-label" else "single"
    return record.dataset or "records", family, None


def read_responses(path: str | Path) -> dict[str, str]:
    """{"id": ..., "response": ...} per line (e.g. predictions.jsonl of an earlier run)."""
    responses = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            responses[str(row["id"])] = str(row["response"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise RecordError(f"{path}:{number}: expected {{\"id\": ..., \"response\": ...}}") from None
    return responses


def score_predictions(rows: list[dict], wheels: EmotionWheels | None) -> list[BenchmarkResult]:
    """Group prediction rows (id, dataset, task, labels, response) by benchmark and score each."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    declared: dict[str, tuple[str, ...] | None] = {}
    for row in rows:
        name, family, labels = row["benchmark"], row["family"], row["label_list"]
        groups[(name, family)].append(row)
        declared[name] = tuple(labels) if labels else None
    results = []
    for (name, family), members in sorted(groups.items()):
        labels = declared[name] or tuple(sorted({label.lower() for row in members for label in row["labels"]}))
        if family == "open_vocabulary" and wheels is None:
            continue  # no wheel tables: nothing to score it with (said in the report's meta)
        truth = [tuple(row["labels"]) for row in members]
        results.append(score_benchmark(name, family, truth, [row["response"] for row in members], labels, wheels))
    return results


def evaluate(model: str | None, records_path: str | Path, out: str | Path, splits: tuple[str, ...] | None = ("test",),
             responses_path: str | Path | None = None, wheels: EmotionWheels | None = None,
             max_new_tokens: int = 200, features: str | Path | None = None, progress: bool = True) -> dict:
    """Score ``model`` (or the stored ``responses_path``) on the labelled records; returns the report paths."""
    from tqdm import tqdm

    out = Path(out)
    records = [r for r in read_records(records_path, splits, check_files=responses_path is None)
               if r.task in SCORED_TASKS and r.labels]
    if not records:
        raise RecordError(f"{records_path} has no labelled records of tasks {', '.join(SCORED_TASKS)}"
                          + (f" in splits {', '.join(splits)}" if splits else ""))
    context = distributed.start()
    try:
        if responses_path is not None:
            stored = read_responses(responses_path)
            missing = [r.id for r in records if r.id not in stored]
            if missing:
                raise RecordError(f"{responses_path} has no response for {len(missing)} record(s), e.g. {missing[0]}")
            answered, model_id = [(r, stored[r.id]) for r in records], f"responses from {responses_path}"
        else:
            network, tokenizer = load_start(model, context.device)
            cache = FeatureCache(network, features or out / "features")
            encode_clips(cache, records, context, progress and context.is_main)
            answerer = RecordAnswerer(network, tokenizer, cache, max_new_tokens)
            mine = records[context.rank :: context.world_size]
            answered = [(r, answerer.answer(r).text) for r in tqdm(mine, desc="answering", unit="record",
                                                                    disable=not (progress and context.is_main))]
            model_id = str(model)
        rows = []
        for record, response in answered:
            name, family, labels = benchmark_of(record)
            rows.append({"id": record.id, "dataset": record.dataset, "task": record.task, "labels": list(record.labels),
                         "response": response, "benchmark": name, "family": family,
                         "label_list": list(labels) if labels else None})
        rows = context.gather(rows)
        if not context.is_main:
            return {}
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "predictions.jsonl", "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps({k: row[k] for k in ("id", "dataset", "task", "labels", "response")}) + "\n")
        results = score_predictions(rows, wheels)
        meta = {"model": model_id, "records": str(records_path), "samples": len(rows),
                "emotion wheels": "given" if wheels is not None else "not given (hit rate and open-vocabulary F skipped)"}
        paths = write_report(results, out, title="MMEVerse evaluation", meta=meta)
        return {"report": {str(k): str(v) for k, v in paths.items()},
                "scores": {r.name: r.scores for r in results}}
    finally:
        distributed.stop()
