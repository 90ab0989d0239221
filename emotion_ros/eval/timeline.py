"""A timeline plot of emotion states and explanations (PNG), e.g. for the demo."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from emotion_ros.runtime.estimate import EmotionEstimate, Explanation  # noqa: E402


def plot_timeline(
    estimates: list[EmotionEstimate], explanations: list[Explanation], path: str | Path, title: str = ""
) -> Path:
    """Label probabilities (stacked), valence/arousal/speaking, and explanation texts over time.

    Time is seconds from the first window's end. Returns the written path.
    """
    if not estimates:
        raise ValueError("no estimates to plot")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    origin = estimates[0].t_end
    t = np.array([e.t_end - origin for e in estimates])
    labels = estimates[0].labels
    scores = np.stack([e.scores for e in estimates], axis=1)  # (L, N)
    figure, (probs, affect, notes) = plt.subplots(
        3, 1, figsize=(11, 8), sharex=True, gridspec_kw={"height_ratios": [3, 2, 2]}, constrained_layout=True
    )
    probs.stackplot(t, scores, labels=labels, step="post", alpha=0.85)
    probs.set_ylim(0, 1)
    probs.set_ylabel("probability")
    probs.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    probs.set_title(title or "emotion timeline")
    affect.plot(t, [e.valence for e in estimates], drawstyle="steps-post", label="valence")
    affect.plot(t, [e.arousal for e in estimates], drawstyle="steps-post", label="arousal")
    speaking = np.array([e.speaking for e in estimates])
    affect.fill_between(t, -1, 1, where=speaking, step="post", color="0.85", label="speaking")
    affect.set_ylim(-1.05, 1.05)
    affect.axhline(0, color="0.5", linewidth=0.5)
    affect.set_ylabel("valence / arousal")
    affect.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    notes.set_ylim(0, 1)
    notes.set_yticks([])
    notes.set_xlabel("time [s]")
    for i, explanation in enumerate(explanations):
        x = explanation.t_end - origin
        notes.axvline(x, color="0.6", linewidth=0.8)
        text = textwrap.fill(explanation.text or "(empty)", 40)
        notes.text(x, 0.95 - 0.3 * (i % 3), text, fontsize=7, va="top")
    notes.set_xlim(t[0], max(t[-1], t[0] + 1e-3))
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
