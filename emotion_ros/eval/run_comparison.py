"""Where two replays of one recording disagree (two models, two backends, int8 vs float).

Each run is the JSONL that `emotion-ros replay` writes, one line per window; windows are
matched by their end time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def read_states(path: str | Path) -> list[dict]:
    lines = Path(path).read_text().splitlines()
    try:
        return [json.loads(line) for line in lines if line.strip()]
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not a replay's JSONL (one JSON object per line): {exc}") from exc


def compare_runs(a: list[dict], b: list[dict]) -> dict:
    """Label agreement over the windows both runs have (nobody in view counts as a label), score,
    valence and arousal differences, and each run's perception latency."""
    by_end = {round(r["t_end"], 3): r for r in b}
    pairs = [(r, by_end[round(r["t_end"], 3)]) for r in a if round(r["t_end"], 3) in by_end]
    if not pairs:
        raise ValueError("the two runs share no window (are they replays of the same recording?)")
    agree = [x["label"] == y["label"] for x, y in pairs]
    labels = sorted(set(pairs[0][0]["scores"]) & set(pairs[0][1]["scores"]))
    scores = np.array([[abs(x["scores"][k] - y["scores"][k]) for k in labels] for x, y in pairs])
    latency = lambda run: {"p50": round(float(np.percentile([r["latency_ms"] for r in run], 50)), 2),  # noqa: E731
                           "p99": round(float(np.percentile([r["latency_ms"] for r in run], 99)), 2)}
    return {
        "windows": {"a": len(a), "b": len(b), "matched": len(pairs)},
        "label_agreement": round(float(np.mean(agree)), 4),
        "disagreements": [{"t_end": x["t_end"], "a": x["label"], "b": y["label"]} for (x, y), same in zip(pairs, agree) if not same],
        "score_difference": {"mean": round(float(scores.mean()), 6), "max": round(float(scores.max()), 6)},
        "valence_mae": round(float(np.mean([abs(x["valence"] - y["valence"]) for x, y in pairs])), 6),
        "arousal_mae": round(float(np.mean([abs(x["arousal"] - y["arousal"]) for x, y in pairs])), 6),
        "latency_ms": {"a": latency(a), "b": latency(b)},
    }


def plot_comparison(a: list[dict], b: list[dict], path: str | Path, names: tuple[str, str] = ("a", "b")) -> Path:
    """Both runs over time: the main person's label and valence (top), arousal (bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (labels, affect) = plt.subplots(2, 1, figsize=(10, 5), sharex=True, constrained_layout=True)
    names_seen = sorted({r["label"] or "nobody" for r in a + b})
    for run, name, marker in ((a, names[0], "o"), (b, names[1], "x")):
        t = [r["t_end"] - a[0]["t_end"] for r in run]
        labels.plot(t, [names_seen.index(r["label"] or "nobody") for r in run], marker, label=name)
        affect.plot(t, [r["valence"] for r in run], label=f"{name} valence")
        affect.plot(t, [r["arousal"] for r in run], linestyle="--", label=f"{name} arousal")
    labels.set_yticks(range(len(names_seen)), names_seen)
    labels.legend(loc="upper right")
    affect.set_ylim(-1.05, 1.05)
    affect.set_xlabel("time [s]")
    affect.legend(loc="upper right", fontsize="small", ncol=2)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
