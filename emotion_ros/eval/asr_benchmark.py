"""`emotion-ros bench-asr`: the speech recogniser's word error rate beside pocketsphinx, its
latency after an utterance ends and its CPU load during continuous speech, in one run (JSON).

The speech is synthetic: espeak-ng voices, rates and sentences that no test or fixture uses
(the tests speak with espeak-ng's default voice and their own sentences). Each sentence is
streamed through the node's own path (SpeechRecognizer: Silero VAD, then Whisper tiny.en) in
0.1 s chunks, as a microphone delivers it; pocketsphinx (its bundled US English model) decodes
the same 16 kHz audio as one utterance. Word error rate is corpus-level (jiwer) on lowercased
words without punctuation.

Latency is what a live stream sees: from the end of the speech (its last 10 ms above -40 dBFS)
to when the final transcript is ready, with each chunk pushed when it has been said or, when
transcribing put the recogniser behind, when it catches up (`stream`). CPU load is this
process's CPU time over the continuous stream's duration, with incremental results and
transcription ahead as the node does them. With ``beside_node`` the emotion node
plays a clip in real time in another process (`emotion-ros run --clip ... --loop`) throughout.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from emotion_ros.io.audio import PcmChunk
from emotion_ros.model.whisper_tiny import WHISPER_SAMPLE_RATE
from emotion_ros.runtime.speech_cutter import CutterConfig, SpeechCutter
from emotion_ros.runtime.speech_recognizer import RecognizerConfig, SpeechRecognizer

RATE = WHISPER_SAMPLE_RATE
CHUNK = 0.1  # [s] per pushed chunk, as the microphone node publishes
# Sentences no test, fixture or training corpus speaks.
HELD_OUT_SENTENCES = (
    "Can you bring me a glass of water?", "My sister is coming to visit next week.",
    "I left my keys on the table by the window.", "Turn left at the end of the hallway.",
    "That was the best film I have seen this year.", "I think the battery is running low.",
    "Would you like to play a game with me?", "The train was late again this morning.",
    "Please put the books back on the shelf.", "I cannot find my phone anywhere.",
    "We should leave before the traffic gets bad.", "Thank you for helping me with the boxes.",
    "The children are playing in the garden.", "How long will the repair take?",
    "I feel tired after such a long day.", "Could you speak a little more slowly?",
    "The doctor said I need more rest.", "Let us meet at the station at noon.",
    "This soup is much too salty for me.", "Show me where the bathroom is, please.",
    "I am worried about the exam on Friday.", "The music in this room is very loud.",
    "Do you know when the shop closes?", "She bought a new bicycle for her son.",
)
# (espeak-ng voice, words per minute, pitch): none is the tests' default voice
VOICES = (("en-us", 140, 45), ("en-gb-x-rp", 160, 60), ("en-us+f3", 150, 70), ("en-gb-scotland", 150, 40),
          ("en-029", 135, 50), ("en-us-nyc+m3", 165, 35), ("en-gb-x-gbclan+f2", 145, 65), ("en-gb-x-gbcwmd", 155, 55))
TARGETS = {"wer": 0.10, "latency_p50_s": 1.0, "cpu_cores": 0.3}


def normalised(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())


def speech_end(speech: np.ndarray, rate: int = RATE) -> float:
    """Seconds from the start of ``speech`` to its last 10 ms above -40 dBFS (espeak-ng ends with quiet)."""
    hop = rate // 100
    frames = speech[: len(speech) // hop * hop].reshape(-1, hop)
    loud = np.flatnonzero(10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12) > -40.0)
    return (loud[-1] + 1) * hop / rate if loud.size else 0.0


def spoken_set(sentences=HELD_OUT_SENTENCES, voices=VOICES) -> list[tuple[str, tuple, np.ndarray]]:
    """(sentence, voice, 16 kHz speech) for each sentence, the voices taken in turn."""
    from emotion_ros.samples.sample_clip import synthesize_speech

    spoken = []
    for i, sentence in enumerate(sentences):
        voice, words_per_minute, pitch = voices[i % len(voices)]
        spoken.append((sentence, voices[i % len(voices)], synthesize_speech(sentence, RATE, words_per_minute, pitch, voice)))
    return spoken


def stream(recognizer: SpeechRecognizer, audio: np.ndarray):
    """Push ``audio`` in CHUNK pieces as a live stream delivers them; yields (final utterance,
    when it was ready [s of audio time]). Each chunk arrives when its last sample has been said
    and is pushed once the recogniser has finished the previous ones (a worker that falls behind
    catches up later, as the node's does), so "ready" includes every transcription's wall time."""
    step, free = round(CHUNK * RATE), 0.0
    for start in range(0, len(audio), step):
        began = max(free, min(start + step, len(audio)) / RATE)  # it arrives, or the worker gets to it
        clock = time.perf_counter()
        heard = recognizer.push(PcmChunk(audio[start : start + step, None], RATE, start / RATE))
        free = began + time.perf_counter() - clock
        yield from ((utterance, free) for utterance in heard if utterance.final)
    clock = time.perf_counter()
    heard = recognizer.finish()
    free = max(free, len(audio) / RATE) + time.perf_counter() - clock
    yield from ((utterance, free) for utterance in heard)


def pocketsphinx_text(decoder, speech: np.ndarray) -> str:
    pcm = (np.clip(speech, -1.0, 1.0) * 32767).astype(np.int16).tobytes()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    return decoder.hyp().hypstr if decoder.hyp() is not None else ""


def asr_benchmark(beam_size: int = RecognizerConfig().beam_size, threads: int = 1, beside_node: Path | None = None,
                  progress=print) -> dict:
    """The report (see the module docstring); beside_node: a clip the emotion node plays meanwhile."""
    import jiwer
    from pocketsphinx import Decoder

    from emotion_ros.model.whisper_tiny import load_whisper

    whisper = load_whisper(threads=threads)
    config = RecognizerConfig(beam_size=beam_size)
    progress(f"speaking {len(HELD_OUT_SENTENCES)} held-out sentences in {len(VOICES)} espeak-ng voices")
    spoken = spoken_set()
    node = _start_emotion_node(beside_node, progress) if beside_node is not None else None
    try:
        progress("transcribing each sentence as a stream (Whisper) and as one utterance (pocketsphinx)")
        decoder = Decoder(samprate=RATE, loglevel="FATAL")
        references, whisper_texts, sphinx_texts, latencies, failures = [], [], [], [], []
        lead, tail = np.zeros(RATE // 2, np.float32), np.zeros(RATE * 3 // 2, np.float32)
        for sentence, voice, speech in spoken:
            audio = np.concatenate([lead, speech, tail])
            finals = list(stream(SpeechRecognizer(whisper, config), audio))
            text = " ".join(u.text for u, _ in finals)
            if finals:
                latencies.append(finals[-1][1] - (len(lead) / RATE + speech_end(speech)))
            references.append(normalised(sentence))
            whisper_texts.append(normalised(text))
            sphinx_texts.append(normalised(pocketsphinx_text(decoder, speech)))
            if whisper_texts[-1] != references[-1]:
                failures.append({"said": sentence, "heard": text, "voice": voice[0]})
        progress("continuous speech: every sentence with 0.3 s pauses, incremental results on")
        pause = np.zeros(round(0.3 * RATE), np.float32)
        continuous = np.concatenate([part for _, _, speech in spoken for part in (speech, pause)])
        recognizer = SpeechRecognizer(whisper, config, SpeechCutter(CutterConfig()))
        cpu = time.process_time()
        heard = list(stream(recognizer, continuous))
        cpu = time.process_time() - cpu
    finally:
        if node is not None:
            node.terminate()
            node.wait(timeout=30)
    duration = len(continuous) / RATE
    report = {
        "speech": "synthetic (espeak-ng)", "sentences": len(spoken), "voices": [v[0] for v in VOICES],
        "beam_size": beam_size, "threads": threads, "beside_emotion_node": node is not None,
        "whisper_tiny_en": {"wer": round(float(jiwer.wer(references, whisper_texts)), 4), "sentences_wrong": len(failures),
                            "failures": failures},
        "pocketsphinx": {"wer": round(float(jiwer.wer(references, sphinx_texts)), 4)},
        "latency_s": _latency(latencies),
        "continuous": {"audio_seconds": round(duration, 2), "cpu_cores": round(cpu / duration, 3),
                       "utterances": len(heard)},
    }
    report["targets"] = {
        f"wer_at_most_{TARGETS['wer']}": report["whisper_tiny_en"]["wer"] <= TARGETS["wer"],
        f"latency_p50_at_most_{TARGETS['latency_p50_s']}_s": bool(latencies) and report["latency_s"]["p50"] <= TARGETS["latency_p50_s"],
        f"cpu_at_most_{TARGETS['cpu_cores']}_core": report["continuous"]["cpu_cores"] <= TARGETS["cpu_cores"],
    }
    return report


def _latency(latencies: list[float]) -> dict | None:
    """p50, p90 and max [s] of the final transcripts' latency after the speech ended."""
    if not latencies:
        return None
    return {"p50": round(float(np.percentile(latencies, 50)), 3), "p90": round(float(np.percentile(latencies, 90)), 3),
            "max": round(float(max(latencies)), 3), "finals": len(latencies)}


def _start_emotion_node(clip: Path, progress) -> subprocess.Popen:
    """`emotion-ros run` on ``clip`` in real time, looping, once it has published its first state."""
    command = [sys.executable, "-m", "emotion_ros.cli", "run", "--clip", str(clip), "--loop", "--rate", "1", "--no-transcribe"]
    node = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180
    for line in node.stdout:
        if re.match(r"\s+\d+\.\d\d s  \w+", line):
            progress("the emotion node is perceiving the clip in another process")
            _drain(node)
            return node
        if time.monotonic() > deadline:
            break
    node.terminate()
    raise RuntimeError("the emotion node did not publish a state within 180 s")


def _drain(process: subprocess.Popen) -> None:
    """Read the process's output on a thread, so a full pipe never blocks it."""
    import threading

    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
