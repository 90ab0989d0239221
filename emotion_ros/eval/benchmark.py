"""Scoring one benchmark from free-text responses, and writing the report.

``score_benchmark`` reads each response back into a prediction the way its metric family needs
(train/datasets.py: FAMILIES) and scores it with metrics.py / wheel.py; ``write_report`` writes
report.json, report.md and one confusion-matrix PNG per single-label benchmark.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion_ros.eval import metrics
from emotion_ros.eval.wheel import EmotionWheels, answer_span, hit_rate, open_vocabulary_f
from emotion_ros.model.labels import parse_label
from emotion_ros.train.datasets import FAMILIES

OTHER = "other"  # the confusion matrix's last column: predictions outside the label list, unreadable ones included


@dataclass
class BenchmarkResult:
    """The scores of one benchmark.

    scores: metric name -> value (floats in [0, 1] except hit rates, which count matched words per
        sample; ints for sample counts); per-wheel values are keyed "<metric>@<wheel>".
    labels: the closed label set the responses were read against (None: open vocabulary).
    confusion: (len(labels), len(labels) + 1) int counts, rows ground truth, columns predictions
        plus a final "other" column; None for families without a single label per sample.
    samples: number of samples given (the scores' own "samples" count the scored ones).
    """

    name: str
    family: str
    scores: dict[str, float | int]
    labels: tuple[str, ...] | None = None
    confusion: np.ndarray | None = None
    samples: int = 0


def _canonical(truth: Sequence[tuple[str, ...]], labels: Sequence[str]) -> list[str]:
    """First ground-truth label of each sample, in the label list's spelling."""
    spelling = {label.lower(): label for label in labels}
    first = []
    for i, item in enumerate(truth):
        if isinstance(item, str):
            item = (item,)
        if not item:
            raise ValueError(f"sample {i} has no ground-truth label")
        word = item[0].strip()
        # A ground-truth word form outside the list (MELD's "sadness" for the prompt's "sad") is
        # read like an answer; one that names no label stays as it is, and counts as its own class.
        first.append(spelling.get(word.lower()) or parse_label(word, labels) or word)
    return first


def _need_labels(name: str, family: str, labels: tuple[str, ...] | None) -> tuple[str, ...]:
    if not labels:
        raise ValueError(f"{name}: the {family!r} family needs the benchmark's label list")
    return tuple(labels)


def _closed_set(truth, responses, labels) -> tuple[list[str], list[str | None], dict[str, float | int]]:
    gt = _canonical(truth, labels)
    predicted = [parse_label(response or "", labels) for response in responses]
    return gt, predicted, metrics.single_label(gt, predicted)


def _flatten(prefix: str, result: dict, keys: Sequence[str]) -> dict[str, float | int]:
    """Main values under their own names, per-wheel ones as "<metric>@<wheel>"."""
    scores: dict[str, float | int] = {key: result[key] for key in keys}
    scores[f"{prefix}_samples"] = result["samples"]
    scores[f"{prefix}_skipped"] = result["skipped"]
    for wheel, values in result["per_wheel"].items():
        for key in keys:
            scores[f"{key}@{wheel}"] = values[key]
    return scores


def score_benchmark(name: str, family: str, truth: Sequence[tuple[str, ...]], responses: Sequence[str],
                    labels: tuple[str, ...] | None, wheels: EmotionWheels | None = None) -> BenchmarkResult:
    """Score N free-text responses against N ground-truth label tuples.

    single / uar_war: the label parse_label reads from each response against truth[i][0];
    accuracy + weighted F1 (+ UAR / WAR). sentiment: the same, lowercased, neutral ground truth
    dropped. multi_label: the response's <answer> span (or whole text) split on "," and ";".
    hit_rate: the wheel hit rate when ``wheels`` is given, plus closed-set accuracy / weighted F1
    when ``labels`` is (so there are numbers without the licence-bound wheel tables).
    open_vocabulary: the wheel set F-score; needs ``wheels``.
    """
    if family not in FAMILIES:
        raise ValueError(f"{name}: unknown metric family {family!r} (one of {', '.join(FAMILIES)})")
    if len(truth) != len(responses):
        raise ValueError(f"{name}: {len(truth)} ground-truth items but {len(responses)} responses")
    if not truth:
        raise ValueError(f"{name}: no samples to score")
    labels = tuple(labels) if labels else None
    scores: dict[str, float | int] = {}
    confusion = None

    if family in ("single", "uar_war"):
        labels = _need_labels(name, family, labels)
        gt, predicted, scores = _closed_set(truth, responses, labels)
        if family == "uar_war":
            scores = {**scores, **metrics.uar_war(gt, predicted)}
        confusion = metrics.confusion(gt, predicted, labels)
    elif family == "sentiment":
        labels = tuple(label.lower() for label in _need_labels(name, family, labels))
        gt = [label.lower() for label in _canonical(truth, labels)]
        predicted = [parse_label(response or "", labels) for response in responses]
        scores = metrics.sentiment_without_neutral(gt, predicted)
        # Every sample, neutral ground truth included: the matrix shows what the dropped rows were called.
        confusion = metrics.confusion(gt, predicted, labels)
    elif family == "multi_label":
        predicted = [metrics.split_labels(answer_span(response or "")) for response in responses]
        scores = metrics.multi_label(list(truth), predicted)
    elif family == "hit_rate":
        if labels is None and wheels is None:
            raise ValueError(f"{name}: the hit-rate family needs the label list or the --wheel tables")
        if labels is not None:
            gt, predicted, scores = _closed_set(truth, responses, labels)
            confusion = metrics.confusion(gt, predicted, labels)
        if wheels is not None:
            scores = {**scores, **_flatten("hit_rate", hit_rate(truth, responses, wheels), ("hit_rate",))}
    else:  # open_vocabulary
        if wheels is None:
            raise ValueError(f"{name}: open-vocabulary scoring needs the emotion-wheel tables (--wheel); "
                             "they are licence-bound and not shipped")
        result = open_vocabulary_f(truth, responses, wheels)
        scores = _flatten("ov", result, ("f_score", "precision", "recall"))

    return BenchmarkResult(name=name, family=family, scores=scores, labels=labels, confusion=confusion,
                           samples=len(truth))


def _safe_name(name: str) -> str:
    """A file-name-safe benchmark name: 'ov_merd+' -> 'ov_merd_'."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _json_value(value):
    """NaN / inf become null so report.json stays strict JSON."""
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _format(value) -> str:
    if isinstance(value, (bool, int, np.integer)):
        return str(int(value))
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.4f}"


def _plot_confusion(result: BenchmarkResult, path: Path) -> None:
    """Row-normalised colours (each ground-truth row sums to 1), raw counts written in the cells."""
    # The object API with an Agg canvas: no pyplot, so no global backend switch in the caller's process.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    counts = np.asarray(result.confusion)
    rows = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, rows, out=np.zeros(counts.shape, dtype=float), where=rows > 0)
    rows_labels = list(result.labels or [])
    columns = rows_labels + [OTHER]

    size = 1.0 + 0.6 * len(columns)
    figure = Figure(figsize=(size + 1.5, size))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, label="fraction of the ground-truth row")
    axes.set_xticks(range(len(columns)), columns, rotation=45, ha="right")
    axes.set_yticks(range(len(rows_labels)), rows_labels)
    axes.set_xlabel("prediction")
    axes.set_ylabel("ground truth")
    axes.set_title(result.name)
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            axes.text(j, i, str(int(counts[i, j])), ha="center", va="center", fontsize=8,
                      color="white" if fractions[i, j] > 0.5 else "black")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def write_report(results: Sequence[BenchmarkResult], out_dir: str | Path, title: str = "",
                 meta: dict | None = None) -> dict[str, Path]:
    """Write report.json, report.md and confusion_<name>.png (benchmarks with a confusion matrix).

    Returns the written paths: "json", "markdown", and "confusion_<benchmark name>" per PNG.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = dict(meta or {})
    names = [r.name for r in results]
    if len(set(names)) != len(names):
        raise ValueError(f"benchmark names repeat: {names}")
    files = [_safe_name(n) for n in names]
    if len(set(files)) != len(files):
        raise ValueError(f"benchmark names clash once made file-name safe: {files}")

    written: dict[str, Path] = {}
    pngs: dict[str, str] = {}
    for result, safe in zip(results, files):
        if result.confusion is not None:
            png = out_dir / f"confusion_{safe}.png"
            _plot_confusion(result, png)
            pngs[result.name] = png.name
            written[f"confusion_{result.name}"] = png

    report = {
        "title": title,
        "meta": {key: _json_value(value) for key, value in meta.items()},
        "benchmarks": {
            r.name: {
                "family": r.family,
                "samples": int(r.samples),
                "scores": {key: _json_value(value) for key, value in r.scores.items()},
                "labels": list(r.labels) if r.labels is not None else None,
                "confusion": np.asarray(r.confusion).tolist() if r.confusion is not None else None,
                "confusion_png": pngs.get(r.name),
            }
            for r in results
        },
    }
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(report, indent=2, allow_nan=False, default=str) + "\n", encoding="utf-8")
    written["json"] = json_path

    cell = lambda text: str(text).replace("|", "\\|")  # noqa: E731  (a "|" would split the table cell)
    lines = [f"# {title or 'Benchmark report'}", ""]
    if meta:
        lines += [f"- {cell(key)}: {cell(value)}" for key, value in meta.items()] + [""]
    lines += ["| benchmark | family | samples | metrics | confusion |", "|---|---|---:|---|---|"]
    for r in results:
        shown = ", ".join(f"{key} {_format(value)}" for key, value in r.scores.items())
        link = f"[png]({pngs[r.name]})" if r.name in pngs else "-"
        lines.append(f"| {cell(r.name)} | {r.family} | {r.samples} | {cell(shown)} | {link} |")
    md_path = out_dir / "report.md"
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    written["markdown"] = md_path
    return written
