"""Speech recognition: utterances cut by Silero VAD, transcribed by Whisper tiny.en, on audio time."""

import shutil
from dataclasses import replace

import numpy as np
import pytest

from emotion_ros.io.audio import PcmChunk
from emotion_ros.model.checkpoint import CheckpointError
from emotion_ros.runtime.speech_cutter import CutterConfig, SpeechCutter
from emotion_ros.runtime.speech_recognizer import RecognizerConfig, SpeechRecognizer

OPEN = "Please open the door for me."
KITCHEN = "The robot is waiting in the kitchen."


@pytest.fixture(scope="module")
def whisper():
    from emotion_ros.model.whisper_tiny import WHISPER_PACKAGE, load_whisper

    try:
        return load_whisper()
    except CheckpointError as reason:
        if f"{WHISPER_PACKAGE} package is not installed" not in str(reason):
            raise
        pytest.skip(str(reason))


def speak(text: str, rate: int) -> np.ndarray:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make installs it)")
    from emotion_ros.samples.sample_clip import synthesize_speech

    return synthesize_speech(text, rate)


def heard(recognizer: SpeechRecognizer, audio: np.ndarray, rate: int, t0: float = 100.0, chunk: float = 0.1,
          channels: int = 1) -> list:
    """Push ``audio`` as a microphone would, in stamped chunks; everything heard, partials too."""
    step, out = round(chunk * rate), []
    for start in range(0, len(audio), step):
        piece = audio[start : start + step]
        out += recognizer.push(PcmChunk(np.repeat(piece[:, None], channels, axis=1), rate, t0 + start / rate))
    return out + recognizer.finish()


def finals(utterances) -> list:
    return [u for u in utterances if u.final]


def words(text: str) -> list[str]:
    return [w.strip(".,?!").lower() for w in text.split()]


def test_silence_noise_and_tones_give_no_words_although_whisper_alone_invents_them(whisper):
    """A minute each of silence, noise and music-like tones: no words. Whisper itself, given the
    same audio without the gates, writes words into every one of them."""
    rate, rng = 16000, np.random.default_rng(7)
    notes = rng.choice([262.0, 294.0, 330.0, 392.0, 440.0, 523.0], 120)
    tones = 0.3 * np.sin(2 * np.pi * np.cumsum(np.repeat(notes, rate // 2)) / rate)
    minute = {"silence": np.zeros(60 * rate), "noise": 0.1 * rng.standard_normal(60 * rate), "tones": tones}
    for name, audio in minute.items():
        audio = audio.astype(np.float32)
        recognizer = SpeechRecognizer(whisper)
        assert heard(recognizer, audio, rate) == [], name
        segments, _ = whisper.transcribe(audio[: 10 * rate], language="en", beam_size=1, temperature=0.0, vad_filter=False,
                                         condition_on_previous_text=False, without_timestamps=True,
                                         no_speech_threshold=None, log_prob_threshold=None, compression_ratio_threshold=None)
        invented = " ".join(s.text for s in segments).strip()
        assert invented, f"Whisper alone wrote nothing for {name}: the gates are not what is tested"
        assert recognizer.transcribe(audio[: 10 * rate]) == ("", pytest.approx(float("nan"), nan_ok=True)), name


def test_two_sentences_are_heard_once_each_at_the_time_they_were_said(whisper):
    rate = 44100
    first, second = speak(OPEN, rate), speak(KITCHEN, rate)
    pause = np.zeros(rate, np.float32)
    audio = np.concatenate([pause, first, pause, pause, second, pause])
    said = finals(heard(SpeechRecognizer(whisper), audio, rate, channels=2))
    assert [words(u.text) for u in said] == [words(OPEN), words(KITCHEN)]
    spoken = [(100.0 + 1.0, 100.0 + 1.0 + len(first) / rate),
              (100.0 + 3.0 + len(first) / rate, 100.0 + 3.0 + (len(first) + len(second)) / rate)]
    for utterance, (start, end) in zip(said, spoken):
        # espeak-ng's own leading and trailing quiet, and the cutter's 0.2 s padding
        assert start - 0.3 <= utterance.t_start <= start + 0.4 and end - 0.4 <= utterance.t_end <= end + 0.3, (utterance, start, end)
        assert 0.0 < utterance.confidence <= 1.0


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
def test_every_microphone_rate_and_clipped_audio_are_heard(whisper, rate):
    audio = np.concatenate([np.zeros(rate // 2, np.float32), speak(KITCHEN, rate), np.zeros(rate, np.float32)])
    clipped = np.clip(audio * 4.0, -0.5, 0.5)  # a gain set far too high
    for signal in (audio, clipped):
        said = finals(heard(SpeechRecognizer(whisper), signal, rate))
        assert len(said) == 1 and {"robot", "kitchen"} <= set(words(said[0].text)), (rate, said)


def test_a_gap_or_a_stall_ends_the_utterance_and_loses_or_repeats_no_words(whisper):
    rate = 16000
    first, second = speak(OPEN, rate), speak(KITCHEN, rate)
    recognizer = SpeechRecognizer(whisper)
    # the first sentence stops mid-stream (a stalled publisher): finish() ends it where it stopped
    said = heard(recognizer, np.concatenate([np.zeros(rate // 2, np.float32), first]), rate, t0=10.0)
    # then 3 s of audio never arrive, and the second sentence comes with stamps after the gap
    said += heard(recognizer, np.concatenate([np.zeros(rate // 2, np.float32), second, np.zeros(rate, np.float32)]), rate,
                  t0=10.5 + len(first) / rate + 3.0)
    assert [words(u.text) for u in finals(said)] == [words(OPEN), words(KITCHEN)]
    # a jump inside one stream is seen as one too
    recognizer = SpeechRecognizer(whisper)
    step, t, out = 1600, 0.0, []
    audio = np.concatenate([np.zeros(rate // 2, np.float32), first, np.zeros(rate // 4, np.float32)])
    for start in range(0, len(audio), step):
        out += recognizer.push(PcmChunk(audio[start : start + step, None], rate, t))
        t += step / rate + (2.0 if start == len(audio) // step // 2 * step else 0.0)
    out += recognizer.finish()
    assert recognizer.cutter.discontinuities == 1 and out, out


def test_speech_longer_than_the_maximum_is_transcribed_in_parts(whisper):
    rate = 16000
    speech = np.concatenate([speak(OPEN, rate), speak(KITCHEN, rate), speak(OPEN, rate)])
    config = CutterConfig(max_utterance=3.0, partial_interval=0.0)
    said = finals(heard(SpeechRecognizer(whisper, cutter=SpeechCutter(config)), speech, rate))
    assert len(said) >= 2, said
    for part in said:
        assert part.t_end - part.t_start <= config.max_utterance + 0.05, part
    for before, after in zip(said, said[1:]):
        assert after.t_start >= before.t_end - 1e-6, (before, after)  # no audio transcribed twice
    assert {"door", "kitchen"} <= {w for u in said for w in words(u.text)}


def test_incremental_results_come_while_the_person_talks_and_the_final_one_at_the_end(whisper):
    rate = 16000
    speech = np.concatenate([np.zeros(rate // 2, np.float32), speak(KITCHEN, rate), speak(OPEN, rate), np.zeros(rate, np.float32)])
    said = heard(SpeechRecognizer(whisper, cutter=SpeechCutter(CutterConfig(partial_interval=1.0))), speech, rate)
    partials = [u for u in said if not u.final]
    assert partials and said[-1].final and len(finals(said)) == 1, said
    assert all(p.t_start == said[-1].t_start and p.t_end < said[-1].t_end for p in partials)
    # behind: only the finals
    quiet = SpeechRecognizer(whisper, cutter=SpeechCutter(CutterConfig(partial_interval=1.0)))
    step, out = 1600, []
    for start in range(0, len(speech), step):
        out += quiet.push(PcmChunk(speech[start : start + step, None], rate, start / rate), partials=False)
    assert [u.final for u in out + quiet.finish()] == [True]


def test_vad_and_whisper_settings_are_checked():
    with pytest.raises(ValueError, match="release"):
        CutterConfig(threshold=0.4, release=0.6)
    with pytest.raises(ValueError, match="max_utterance"):
        CutterConfig(max_utterance=45.0)
    with pytest.raises(ValueError, match="beam_size"):
        RecognizerConfig(beam_size=0)


def test_an_altered_whisper_file_is_refused(tmp_path):
    from emotion_ros.model.whisper_tiny import WHISPER_FILES, checked_whisper_directory

    for name in WHISPER_FILES:
        (tmp_path / name).write_bytes(b"not the model")
    with pytest.raises(CheckpointError, match="not the pinned"):
        checked_whisper_directory(tmp_path, WHISPER_FILES)
    (tmp_path / "model.bin").unlink()
    with pytest.raises(CheckpointError, match="model.bin is missing"):
        checked_whisper_directory(tmp_path)


def test_offline_runs_hear_a_clip_without_a_transcript_and_a_transcript_still_wins(whisper, sample_clip, tmp_path):
    """predict --json lists what it heard (media time, where the transcript says it was said),
    replay's lines carry each window's words, --no-transcribe hears nothing, and a transcript
    beside the clip is read instead of the audio."""
    import json
    import subprocess
    import sys

    from emotion_ros.io.transcript_file import read_transcript

    written = read_transcript(sample_clip.with_suffix(".srt"))[0]  # "Hello, nice to see you."
    bare = tmp_path / "clip.mp4"
    shutil.copy(sample_clip, bare)

    def cli(*args):
        run = subprocess.run([sys.executable, "-m", "emotion_ros.cli", *args], capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        return run.stdout

    predicted = json.loads(cli("predict", "--video", str(bare), "--json", "--no-explain"))
    assert len(predicted["words"]) == 1, predicted["words"]
    said = predicted["words"][0]
    assert {"hello", "see", "you"} <= set(words(said["text"])), said  # espeak-ng's "nice" is heard as "guys"
    assert abs(said["start"] - written.t_start) < 0.4 and abs(said["end"] - written.t_end) < 0.4, (said, written)
    assert json.loads(cli("predict", "--video", str(bare), "--json", "--no-explain", "--no-transcribe"))["words"] == []
    beside = json.loads(cli("predict", "--video", str(sample_clip), "--json", "--no-explain"))["words"]
    assert beside == [{"start": round(written.t_start, 3), "end": round(written.t_end, 3), "text": written.text}]

    # as live, words reach the windows perceived after they were said: those that end after the
    # utterance ends and still overlap it
    lines = [json.loads(line) for line in cli("replay", str(bare)).splitlines()]
    after = [line for line in lines if line["t_end"] >= said["end"] and line["t_start"] <= said["end"]]
    assert after and all([w["text"] for w in line["words"]] == [said["text"]] for line in after), lines
    assert all(not line["words"] for line in lines if line["t_end"] < said["start"] or line["t_start"] > said["end"])


def test_an_utterance_is_transcribed_ahead_while_its_ending_silence_is_waited_for(whisper):
    """Once 0.2 s of silence follows speech, the utterance is transcribed as it will end; if the
    silence lasts, the final result is that transcription (ready sooner); if the person goes on,
    it is dropped and the whole utterance is transcribed."""
    rate = 16000
    calls = []

    class Counting(SpeechRecognizer):
        def transcribe(self, samples):
            calls.append(len(samples))
            return super().transcribe(samples)

    cutter = CutterConfig(partial_interval=0.0)
    first, second = speak(OPEN, rate), speak(KITCHEN, rate)
    said = heard(Counting(whisper, cutter=SpeechCutter(cutter)), np.concatenate([first, np.zeros(rate, np.float32)]), rate)
    assert [words(u.text) for u in said] == [words(OPEN)] and len(calls) == 1, calls
    calls.clear()
    # a 0.3 s pause: transcribed ahead, then the person goes on, one utterance in the end
    from emotion_ros.eval.asr_benchmark import speech_end

    pause = np.zeros(round(0.3 * rate), np.float32)
    audio = np.concatenate([first[: round(speech_end(first) * rate)], pause, second, np.zeros(rate, np.float32)])
    said = heard(Counting(whisper, cutter=SpeechCutter(cutter)), audio, rate)
    assert [words(u.text) for u in said] == [words(OPEN) + words(KITCHEN)], said
    assert len(calls) >= 2 and calls[-1] > len(second) + len(pause), calls
    calls.clear()
    heard(Counting(whisper, cutter=SpeechCutter(replace(cutter, speculate_after=0.0))), audio, rate)
    assert len(calls) == 1, calls  # without it, once at the end
