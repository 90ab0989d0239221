"""The published MMEVerse scoring rules (V2_FACTS.md section 6), on scikit-learn.

- single label (caer, e3, dfew, mafw, meld, mc_eiu): accuracy and weighted F1;
- UAR / WAR (the DFEW and MAFW convention): mean per-class recall over the classes in the
  ground truth, and plain accuracy;
- sentiment without neutral (cmu_mosi, cmu_mosei, sims, ch_sims_v2_s): samples whose ground
  truth is neutral are dropped, a "neutral" prediction still counts as an error;
- multi-label (mafw_multi, bold): labels split on "," and ";" and lowercased, the binarizer
  fitted on the ground truth only (predicted labels outside it are ignored), micro F1,
  samples F1 and example-based Jaccard.

Predictions are labels already read back from text (model/labels.py: parse_label); an
unreadable prediction is None and counts as wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

UNREADABLE = "<unreadable>"  # stands in for a None prediction: never equal to a label


def _clean(predictions: Sequence[str | None]) -> list[str]:
    return [UNREADABLE if p is None else p for p in predictions]


def _check(truth: Sequence, predictions: Sequence) -> None:
    if len(truth) != len(predictions):
        raise ValueError(f"{len(truth)} ground-truth labels but {len(predictions)} predictions")
    if not truth:
        raise ValueError("no samples to score")


def single_label(truth: Sequence[str], predictions: Sequence[str | None]) -> dict[str, float]:
    """Accuracy and weighted F1 (classes weighted by their ground-truth support)."""
    from sklearn.metrics import accuracy_score, f1_score

    _check(truth, predictions)
    predicted = _clean(predictions)
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "weighted_f1": float(f1_score(truth, predicted, labels=sorted(set(truth)), average="weighted", zero_division=0)),
        "samples": len(truth),
    }


def uar_war(truth: Sequence[str], predictions: Sequence[str | None]) -> dict[str, float]:
    """UAR: recall averaged over the classes present in the ground truth; WAR: accuracy."""
    from sklearn.metrics import accuracy_score, recall_score

    _check(truth, predictions)
    predicted = _clean(predictions)
    return {
        "uar": float(recall_score(truth, predicted, labels=sorted(set(truth)), average="macro", zero_division=0)),
        "war": float(accuracy_score(truth, predicted)),
        "samples": len(truth),
    }


def sentiment_without_neutral(truth: Sequence[str], predictions: Sequence[str | None],
                              neutral: str = "neutral") -> dict[str, float]:
    """single_label() on the samples whose ground truth is not neutral (case-insensitive)."""
    _check(truth, predictions)
    kept = [(t.lower(), (p or UNREADABLE).lower()) for t, p in zip(truth, predictions) if t.lower() != neutral.lower()]
    if not kept:
        raise ValueError("every ground-truth label is neutral: nothing to score without neutral")
    scores = single_label([t for t, _ in kept], [p for _, p in kept])
    return {**scores, "dropped_neutral": len(truth) - len(kept)}


def split_labels(text: str | None) -> list[str]:
    """'Happiness; surprise, fear' -> ['happiness', 'surprise', 'fear']."""
    return [part.strip().lower() for part in re.split(r"[,;]", text or "") if part.strip()]


def multi_label(truth: Sequence[str | Sequence[str]], predictions: Sequence[str | Sequence[str] | None]) -> dict[str, float]:
    """Micro F1, samples F1 and Jaccard; each item is a label string ("a, b") or a list."""
    import warnings

    from sklearn.exceptions import UndefinedMetricWarning
    from sklearn.metrics import f1_score, jaccard_score
    from sklearn.preprocessing import MultiLabelBinarizer

    _check(truth, predictions)
    as_list = lambda item: split_labels(item) if item is None or isinstance(item, str) else [s.lower() for s in item]  # noqa: E731
    binarizer = MultiLabelBinarizer().fit([as_list(t) for t in truth])  # the vocabulary is the ground truth's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # predicted labels outside the vocabulary are ignored, as published
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        y_true = binarizer.transform([as_list(t) for t in truth])
        y_pred = binarizer.transform([as_list(p) for p in predictions])
        if y_true.shape[1] < 2:  # one label is not "multilabel" to scikit-learn; an all-zero column changes no score
            y_true, y_pred = (np.pad(y, ((0, 0), (0, 2 - y.shape[1]))) for y in (y_true, y_pred))
        return {
            "micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
            "samples_f1": float(f1_score(y_true, y_pred, average="samples", zero_division=0)),
            "jaccard": float(jaccard_score(y_true, y_pred, average="samples", zero_division=0)),
            "samples": len(truth),
        }


def confusion(truth: Sequence[str], predictions: Sequence[str | None], labels: Sequence[str]) -> np.ndarray:
    """(len(labels), len(labels) + 1) counts: rows ground truth, columns predictions; the last
    column counts predictions outside ``labels`` (unreadable ones included)."""
    _check(truth, predictions)
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels) + 1), dtype=np.int64)
    for t, p in zip(truth, predictions):
        if t in index:
            matrix[index[t], index.get(p, len(labels))] += 1
    return matrix
