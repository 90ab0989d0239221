"""The words spoken lately, for attaching to the windows they overlap."""

from __future__ import annotations

from emotion_ros.io.transcript import Utterance


class UtteranceBuffer:
    """Utterances in order of their end, kept for ``horizon`` seconds of sensor time after the
    newest. An incremental hypothesis replaces the previous one of the same voice; a final
    result replaces the hypotheses it concludes."""

    def __init__(self, horizon: float):
        self.horizon = horizon
        self._utterances: list[Utterance] = []

    def add(self, utterance: Utterance) -> None:
        # a voice's pending hypothesis is superseded by whatever that voice says next
        self._utterances = [u for u in self._utterances if u.final or u.voice != utterance.voice]
        self._utterances.append(utterance)
        self._utterances.sort(key=lambda u: u.t_end)
        newest = self._utterances[-1].t_end
        self._utterances = [u for u in self._utterances if u.t_end >= newest - self.horizon]

    def during(self, t_start: float, t_end: float) -> tuple[Utterance, ...]:
        """The utterances that overlap [t_start, t_end] [s], in order."""
        return tuple(u for u in self._utterances if u.t_end >= t_start and u.t_start <= t_end)

    def clear(self) -> None:
        self._utterances.clear()

    def __len__(self) -> int:
        return len(self._utterances)
