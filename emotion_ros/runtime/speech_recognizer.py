"""Words from audio: utterances cut by Silero VAD (speech_cutter), transcribed by Whisper tiny.en.

Whisper is known to invent sentences ("Thank you.", "Thanks for watching!") for silence, noise
and music, so it is gated twice: it only ever hears what the VAD took for speech, and a segment
it decodes is dropped when its own no-speech probability says there was no speech, when its
tokens were unlikely (mean log-probability), or when it repeats itself (compression ratio), with
the thresholds Whisper's own decoder uses for the same decisions.

push() takes PCM chunks of any supported rate and channel count (averaged to mono, resampled to
16 kHz on the stream's clock) and returns Utterances on the audio's own time: t_start and
t_end are when the words were said, however long transcribing them took.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from emotion_ros.io.audio import MonoResampler, PcmChunk
from emotion_ros.io.transcript import MAX_CHARACTERS, Utterance
from emotion_ros.model.whisper_tiny import LANGUAGE, WHISPER_SAMPLE_RATE
from emotion_ros.runtime.speech_cutter import SpeechCutter, SpeechSegment
from emotion_ros.window.config import check_options, option


@dataclass(frozen=True)
class RecognizerConfig:
    """How Whisper decodes, and what it is allowed to call speech (node parameters `whisper.*`).
    A segment whose no-speech probability is above no_speech_threshold while its mean token
    log-probability is below log_prob_threshold is not speech (Whisper's own rule)."""

    # 5: on espeak-ng sentences kept for tuning (not the benchmark's), beam 5 had a lower word
    # error rate than greedy in 3 of 5 voices and no higher in any, for about 5% more CPU
    beam_size: int = option(5, "Whisper's beam search width (1: greedy).", 1, 10)
    no_speech_threshold: float = option(0.6, "No-speech probability above which unlikely tokens are dropped.", 0.0, 1.0)
    log_prob_threshold: float = option(-1.0, "Mean token log-probability below which a likely non-speech segment is dropped.",
                                       -10.0, 0.0)
    max_no_speech: float = option(0.9, "No-speech probability above which a segment is dropped, whatever its tokens.",
                                  0.0, 1.0)
    compression_ratio_threshold: float = option(2.4, "gzip ratio above which a segment is a repetition loop.", 1.0, 10.0)

    def __post_init__(self):
        check_options(self, "whisper")


class SpeechRecognizer:
    """Audio chunks in, Utterances out. whisper: a faster_whisper.WhisperModel (model.whisper_tiny).

    Counters for diagnostics: utterances (final ones with words), rejected (segments Whisper's
    gates dropped), audio_seconds (audio pushed) and busy_seconds (time spent transcribing), whose
    ratio is the real-time factor."""

    def __init__(self, whisper, config: RecognizerConfig = RecognizerConfig(), cutter: SpeechCutter | None = None):
        self.whisper, self.config = whisper, config
        self.cutter = cutter or SpeechCutter()
        self.resampler = MonoResampler(WHISPER_SAMPLE_RATE)
        self.utterances = self.rejected = 0
        self.audio_seconds = self.busy_seconds = 0.0
        # the tentative segment transcribed ahead: ((utterance, start, samples), (text, confidence))
        self._ahead: tuple = (None, ("", math.nan))

    @property
    def real_time_factor(self) -> float:
        """Seconds spent transcribing per second of audio heard (NaN before any audio)."""
        return self.busy_seconds / self.audio_seconds if self.audio_seconds else math.nan

    def push(self, chunk: PcmChunk, partials: bool = True) -> list[Utterance]:
        """One stamped chunk of audio; partials False skips incremental hypotheses and
        transcribing ahead (a recogniser that is behind catches up on the finals)."""
        self.audio_seconds += chunk.duration
        segments = []
        for mono in self.resampler.push(chunk):
            segments += self.cutter.push(mono.samples, mono.stamp)
        return self._transcribed(segments, partials)

    def finish(self) -> list[Utterance]:
        """End of the audio: the utterance in progress, transcribed."""
        segments = []
        for mono in self.resampler.finish():
            segments += self.cutter.push(mono.samples, mono.stamp)
        return self._transcribed(segments + self.cutter.finish(), partials=False)

    def _transcribed(self, segments: list[SpeechSegment], partials: bool) -> list[Utterance]:
        heard = []
        for segment in segments:
            if (segment.tentative or not segment.final) and not partials:
                continue
            key = (segment.utterance, segment.start, len(segment.samples))
            if segment.tentative:  # transcribed now, while the silence that may end it is waited for
                self._ahead = (key, self.transcribe(segment.samples))
                continue
            ahead = self._ahead
            if segment.final:
                self._ahead = (None, ("", math.nan))
            reused = segment.final and ahead[0] == key
            text, confidence = ahead[1] if reused else self.transcribe(segment.samples)
            if text:
                heard.append(Utterance(text, segment.start, segment.end, segment.final, confidence))
                self.utterances += segment.final
        return heard

    def transcribe(self, samples: np.ndarray) -> tuple[str, float]:
        """The words in ``samples`` (N,) float32 mono 16 kHz, and their confidence (the mean
        token probability of the kept segments); ("", NaN) when no segment passes the gates."""
        cfg = self.config
        started = time.perf_counter()
        segments, _ = self.whisper.transcribe(
            samples, language=LANGUAGE, beam_size=cfg.beam_size, temperature=0.0, vad_filter=False,
            condition_on_previous_text=False, without_timestamps=True, no_speech_threshold=None,
            log_prob_threshold=None, compression_ratio_threshold=None)
        kept, log_probs = [], []
        for segment in segments:  # a generator: decoding happens here
            if self._is_speech(segment):
                kept.append(segment.text.strip())
                log_probs.append(segment.avg_logprob)
            else:
                self.rejected += 1
        self.busy_seconds += time.perf_counter() - started
        text = " ".join(" ".join(kept).split())[:MAX_CHARACTERS]
        if not any(character.isalnum() for character in text):
            return "", math.nan
        return text, float(np.exp(np.mean(log_probs)))

    def _is_speech(self, segment) -> bool:
        cfg = self.config
        if segment.no_speech_prob > cfg.max_no_speech or segment.compression_ratio > cfg.compression_ratio_threshold:
            return False
        return not (segment.no_speech_prob > cfg.no_speech_threshold and segment.avg_logprob < cfg.log_prob_threshold)
