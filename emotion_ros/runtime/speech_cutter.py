"""Utterances cut from a stream of audio by Silero VAD, ready for a speech recogniser.

Silero VAD's own 16 kHz graph (the one the default model's voice cues are built from) runs in
its streaming form, 32 ms at a time with its state carried on, through ONNX Runtime. Speech
starts when a chunk's probability reaches ``threshold`` and ends after ``min_silence`` seconds
below ``release`` (hysteresis, as Silero's own iterator does), so a pause between two words
does not split a sentence. Bursts shorter than ``min_speech`` (a cough, a door) are dropped
before any recogniser sees them: Whisper writes sentences into silence and noise, so what it is
given must already be speech.

Times are the stream's own sample clock (first stamp + samples / rate), so each utterance
carries the audio time it was said at, whatever the transcription's delay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emotion_ros.io.audio import CONTINUITY_TOLERANCE  # a larger jump ends the utterance in progress
from emotion_ros.model.silero_vad import CHUNK, CONTEXT, SAMPLE_RATE, silero_weights_path
from emotion_ros.window.config import check_options, option


@dataclass(frozen=True)
class CutterConfig:
    """Where utterances start and end (node parameters `vad.*`). Times in seconds of audio."""

    threshold: float = option(0.5, "Speech probability from which an utterance starts.", 0.05, 0.95)
    release: float = option(0.35, "Speech probability below which silence counts (<= threshold).", 0.01, 0.95)
    min_silence: float = option(0.5, "Silence that ends an utterance [s].", 0.1, 5.0)
    min_speech: float = option(0.25, "Utterances with less speech than this are dropped, never transcribed [s].", 0.0, 5.0)
    padding: float = option(0.2, "Audio kept before an utterance's start and after its end [s].", 0.0, 1.0)
    max_utterance: float = option(15.0, "Longer speech is cut here and transcribed in parts [s].", 1.0, 30.0)
    partial_interval: float = option(
        3.0, "How often the utterance so far is transcribed while it lasts, for incremental results (0: never) [s].",
        0.0, 30.0)
    speculate_after: float = option(
        0.2, "Silence after which the utterance is transcribed ahead, as it will be if the silence lasts "
        "min_silence: its final text is then ready sooner (0: never) [s].", 0.0, 5.0)

    def __post_init__(self):
        check_options(self, "vad")
        if self.release > self.threshold:
            raise ValueError(f"vad: release ({self.release}) must not exceed threshold ({self.threshold})")


@dataclass(frozen=True)
class SpeechSegment:
    """Speech to transcribe: samples (N,) float32 mono at 16 kHz from start to end [s, stream
    time]; final False for the utterance so far (an incremental hypothesis), True for the
    whole utterance or one part of a long one; utterance: the utterance's sequence number;
    tentative: the final segment this utterance will have if the silence that began lasts (to be
    transcribed ahead, never published: the final one, if it comes with the same samples, reuses it)."""

    samples: np.ndarray
    start: float
    end: float
    final: bool
    utterance: int
    tentative: bool = False


class StreamingVad:
    """Silero VAD's 16 kHz graph, one 512-sample chunk at a time, its state carried on."""

    def __init__(self, path=None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path or silero_weights_path()), options, providers=["CPUExecutionProvider"])
        self.rate = np.array(SAMPLE_RATE, np.int64)
        self.reset()

    def reset(self) -> None:
        self.state = np.zeros((2, 1, 128), np.float32)
        self.context = np.zeros((1, CONTEXT), np.float32)

    def __call__(self, chunk: np.ndarray) -> float:
        """Speech probability of ``chunk`` (CHUNK samples) continuing the stream."""
        x = np.concatenate([self.context, chunk[None].astype(np.float32)], axis=1)
        out, self.state = self.session.run(None, {"input": x, "sr": self.rate, "state": self.state})
        self.context = x[:, -CONTEXT:]
        return float(out[0, 0])


class SpeechCutter:
    """push() mono 16 kHz audio in, SpeechSegments out. Counts: utterances (cut and sent),
    dropped_short (speech shorter than min_speech), discontinuities (jumps in the stream's stamps)."""

    def __init__(self, config: CutterConfig = CutterConfig(), vad: StreamingVad | None = None):
        self.config = config
        self.vad = vad or StreamingVad()
        self.utterances = self.dropped_short = self.discontinuities = 0
        self._pending = np.zeros(0, np.float32)  # samples not yet a whole VAD chunk
        self._next: float | None = None  # stream time of the next sample expected [s]
        self._reset_speech()

    def _reset_speech(self) -> None:
        self._history: list[np.ndarray] = []  # recent chunks: the padding before speech, or the speech
        self._start: float | None = None  # stream time where the current speech's audio starts
        self._speech_chunks = 0  # chunks at or above threshold in the current utterance
        self._silent_chunks = 0  # chunks below release since the last speech
        self._last_partial = 0.0

    @property
    def in_speech(self) -> bool:
        return self._start is not None

    def push(self, samples: np.ndarray, stamp: float) -> list[SpeechSegment]:
        """Feed samples (N,) float32 mono 16 kHz whose first one is at ``stamp`` [s]."""
        out: list[SpeechSegment] = []
        if self._next is not None and abs(stamp - self._next) > CONTINUITY_TOLERANCE:
            self.discontinuities += 1
            out += self.finish()
        audio = np.concatenate([self._pending, np.asarray(samples, np.float32)])
        first = stamp - len(self._pending) / SAMPLE_RATE  # stream time of audio[0]
        self._next = stamp + len(samples) / SAMPLE_RATE
        whole = len(audio) // CHUNK * CHUNK
        for i in range(0, whole, CHUNK):
            out += self._step(audio[i : i + CHUNK], first + i / SAMPLE_RATE)
        self._pending = audio[whole:]
        return out

    def _padding_chunks(self) -> int:
        return round(self.config.padding * SAMPLE_RATE / CHUNK)

    def _step(self, chunk: np.ndarray, t: float) -> list[SpeechSegment]:
        """One VAD chunk starting at stream time ``t`` [s]."""
        cfg, seconds = self.config, CHUNK / SAMPLE_RATE
        probability = self.vad(chunk)
        self._history.append(chunk)
        if not self.in_speech:
            del self._history[: -self._padding_chunks() - 1]
            if probability >= cfg.threshold:
                self._start = t + seconds - len(self._history) * seconds
                self._speech_chunks, self._silent_chunks, self._last_partial = 1, 0, t
            return []
        self._speech_chunks += probability >= cfg.threshold
        self._silent_chunks = 0 if probability >= cfg.release else self._silent_chunks + 1
        end = t + seconds
        if self._silent_chunks * seconds >= cfg.min_silence:
            return self._close(trailing=self._silent_chunks - self._padding_chunks())
        if cfg.speculate_after and self._silent_chunks == max(self._padding_chunks(), round(cfg.speculate_after / seconds)) \
                and self._speech_chunks * seconds >= cfg.min_speech:
            audio = self._ended(self._silent_chunks - self._padding_chunks())
            return [SpeechSegment(audio, self._start, self._start + len(audio) / SAMPLE_RATE, True, self.utterances, True)]
        if end - self._start >= cfg.max_utterance:
            return self._close(trailing=0, carry_on=True)
        if cfg.partial_interval and end - self._last_partial >= cfg.partial_interval and not self._silent_chunks:
            self._last_partial = end
            return [SpeechSegment(np.concatenate(self._history), self._start, end, False, self.utterances)]
        return []

    def _close(self, trailing: int, carry_on: bool = False) -> list[SpeechSegment]:
        """End the current utterance, less its last ``trailing`` chunks (silence beyond the
        padding); carry_on: the speech goes on, as the next utterance, from here."""
        audio = self._ended(trailing)
        start, speech_chunks = self._start, self._speech_chunks
        end = start + sum(map(len, self._history)) / SAMPLE_RATE
        self._reset_speech()
        if carry_on:
            self._start, self._last_partial = end, end
        if speech_chunks * CHUNK / SAMPLE_RATE < self.config.min_speech:
            self.dropped_short += 1
            return []
        self.utterances += 1
        return [SpeechSegment(audio, start, start + len(audio) / SAMPLE_RATE, True, self.utterances - 1)]

    def _ended(self, trailing: int) -> np.ndarray:
        """The utterance's audio without its last ``trailing`` chunks."""
        trailing = max(0, min(trailing, len(self._history) - 1))
        return np.concatenate(self._history[: len(self._history) - trailing])

    def finish(self) -> list[SpeechSegment]:
        """End of the stream (or a jump in it): the utterance in progress, ended here."""
        out = self._close(self._silent_chunks - self._padding_chunks()) if self.in_speech and self._history else []
        self._reset_speech()
        self.vad.reset()
        self._pending = np.zeros(0, np.float32)
        self._next = None
        return out
