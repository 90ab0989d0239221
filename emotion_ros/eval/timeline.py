"""A timeline plot of emotion states and explanations (PNG), e.g. for the demo."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from emotion_ros.runtime.estimate import EmotionEstimate, Explanation  # noqa: E402


PersonSteps = dict[str, list[tuple[float, str, float]]]  # person id -> (window end [s], label, confidence) each


def plot_timeline(
    estimates: list[EmotionEstimate], explanations: list[Explanation], path: str | Path, title: str = "",
    people: PersonSteps | None = None,
) -> Path:
    """Label probabilities of the main person (stacked), valence/arousal/speaking with the words
    heard (quoted where they were first heard), a lane per
    tracked person with their label (colour) and confidence (opacity) when ``people`` is given,
    and explanation texts over time.

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
    colours = [plt.rcParams["axes.prop_cycle"].by_key()["color"][i % 10] for i in range(len(labels))]
    panels = 4 if people else 3
    figure, axes = plt.subplots(
        panels, 1, figsize=(11, 8 + (1 + 0.4 * len(people) if people else 0)), sharex=True, constrained_layout=True,
        gridspec_kw={"height_ratios": [3, 2, *([1 + 0.4 * len(people)] if people else []), 2]},
    )
    probs, affect, notes = axes[0], axes[1], axes[-1]
    if people:
        _person_lanes(axes[2], people, labels, colours, origin, float(np.median(np.diff(t))) if len(t) > 1 else 0.5)
    probs.stackplot(t, scores, labels=labels, colors=colours, step="post", alpha=0.85)
    probs.set_ylim(0, 1)
    probs.set_ylabel("probability (main person)" if people else "probability")
    probs.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    probs.set_title(title or "emotion timeline")
    affect.plot(t, [e.valence for e in estimates], drawstyle="steps-post", label="valence")
    affect.plot(t, [e.arousal for e in estimates], drawstyle="steps-post", label="arousal")
    speaking = np.array([e.speaking for e in estimates])
    affect.fill_between(t, -1, 1, where=speaking, step="post", color="0.85", label="speaking")
    _heard(affect, t, [e.utterance for e in estimates])
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


def _person_lanes(axis, people: PersonSteps, labels: tuple[str, ...], colours: list[str], origin: float, stride: float) -> None:
    """One lane per person id: each window a bar from its end for one stride (as the steps above)."""
    for lane, (person_id, steps) in enumerate(people.items()):
        for t_end, label, confidence in steps:
            colour = colours[labels.index(label)] if label in labels else "0.5"
            axis.broken_barh([(t_end - origin, stride)], (lane - 0.4, 0.8), color=colour, alpha=0.25 + 0.75 * confidence)
        axis.text(steps[0][0] - origin, lane, f" {person_id}", va="center", fontsize=8, fontweight="bold")
    axis.set_yticks(range(len(people)), list(people))
    axis.set_ylim(len(people) - 0.5, -0.5)
    axis.set_ylabel("people")


def _heard(axis, t: np.ndarray, said: list[str]) -> None:
    """Each utterance quoted once, at the first window that heard it."""
    previous, shown = "", 0
    for x, words in zip(t, said):
        if words and words != previous:
            axis.text(x, 0.95 - 0.25 * (shown % 3), f'"{textwrap.shorten(words, 60)}"', fontsize=7, va="top", color="tab:cyan")
            shown += 1
        previous = words
