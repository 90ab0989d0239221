"""The terminal view of `emotion-ros run` and `demo`: one line per state (the main person, by
id), a line with the others when several people are in view, explanations inline."""

from __future__ import annotations

import threading
from collections import deque

from rich.console import Console
from rich.text import Text

from emotion_ros.io.stamps import to_seconds
from emotion_ros.runtime.messages import msg_to_estimate


class LiveView:
    """Prints EmotionState and Explanation messages as they arrive (thread-safe) and keeps the
    newest ``history`` of them, as estimates and explanations, for a timeline plot: a run on a
    camera for days holds a bounded amount (3600 states are 30 minutes at the default stride)."""

    def __init__(self, console: Console | None = None, history: int = 3600):
        self.console = console or Console(highlight=False)
        self.estimates: deque = deque(maxlen=history)
        self.explanations: deque = deque(maxlen=history)
        self._people: deque[tuple[str, float, str, float]] = deque(maxlen=4 * history)  # id, t_end, label, confidence
        self._origin: float | None = None
        self._lock = threading.Lock()

    def _time(self, seconds: float) -> float:
        if self._origin is None:
            self._origin = seconds
        return seconds - self._origin

    def state(self, msg) -> None:
        estimate = msg_to_estimate(msg)
        with self._lock:
            self.estimates.append(estimate)
            t = self._time(estimate.t_end)
            bar = "#" * round(estimate.confidence * 10)
            line = Text(f"{t:7.2f} s  ")
            if msg.person_visible:
                if msg.person_id:
                    line.append(f"{msg.person_id:<8} ", style="magenta")
                line.append(f"{estimate.label:<9}", style="bold")
                line.append(f" {estimate.confidence:4.2f} {bar:<10}")
            else:
                line.append(f"{'nobody':<9} {'':<15}", style="dim")
            line.append(f" V {estimate.valence:+.2f} A {estimate.arousal:+.2f} ")
            line.append("speaking" if estimate.speaking else "silent  ", style="green" if estimate.speaking else "dim")
            missing = [name for name, present in (("video", estimate.video_present), ("audio", estimate.audio_present)) if not present]
            if missing:
                line.append(f"  (no {' / '.join(missing)})", style="yellow")
            if msg.faces:
                line.append(f"  {msg.faces} face{'s' if msg.faces > 1 else ''}")
            line.append(f" {estimate.latency * 1000:4.0f} ms", style="dim")
            if estimate.text_present:
                words = estimate.utterance if len(estimate.utterance) <= 60 else "..." + estimate.utterance[-57:]
                line.append(f'  "{words}"', style="cyan")
            self.console.print(line)

    @property
    def people_steps(self) -> dict[str, list[tuple[float, str, float]]]:
        """person id -> [(t_end, label, confidence)], over the kept history."""
        with self._lock:
            steps: dict[str, list[tuple[float, str, float]]] = {}
            for person, *step in self._people:
                steps.setdefault(person, []).append(tuple(step))
            return steps

    def people(self, msg) -> None:
        """A PersonEmotionArray: kept per person for the timeline; with several people in view, one
        line naming the others."""
        with self._lock:
            for person in msg.people:
                self._people.append((person.id, to_seconds(msg.header.stamp), person.label, person.confidence))
            if len(msg.people) < 2:
                return
            line = Text(f"{'':11}also  ", style="dim")
            for i, person in enumerate(msg.people[1:]):
                line.append(" · " if i else "")
                line.append(f"{person.id} ", style="magenta")
                line.append(f"{person.label} {person.confidence:.2f}")
            self.console.print(line)

    def explanation(self, msg) -> None:
        from emotion_ros.runtime.estimate import Explanation

        with self._lock:
            self.explanations.append(
                Explanation(to_seconds(msg.window_start), to_seconds(msg.header.stamp), msg.text, msg.label or None,
                            msg.question, msg.tokens_generated, msg.latency)
            )
            self.console.print(Text(f"{self._time(to_seconds(msg.header.stamp)):7.2f} s  explanation: {msg.text!r}", style="cyan"))
