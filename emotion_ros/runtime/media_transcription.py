"""What was said in a media file: its transcript beside it, else its own audio transcribed.

Offline runs (predict, replay, demo --clip) hear as the robot does: the same VAD-cut utterances
and the same Whisper tiny.en as the speech_recognizer node, on the file's audio. A transcript
file (.srt or .jsonl, see io/transcript_file.py) wins when there is one: it is what a person
wrote down, which no recogniser beats.
"""

from __future__ import annotations

from pathlib import Path

from emotion_ros.io.media import probe, read_audio
from emotion_ros.io.transcript import Utterance
from emotion_ros.io.transcript_file import read_transcript, sidecar
from emotion_ros.runtime.speech_recognizer import SpeechRecognizer

READ_CHUNK = 0.1  # [s] of audio per read


def transcribe_media(path: str | Path, recognizer: SpeechRecognizer | None = None) -> list[Utterance]:
    """The final utterances heard in ``path``'s first audio track, on media time [s]; none for a
    file without audio. recognizer: default, Whisper tiny.en from its pinned wheel."""
    if not probe(str(path)).has_audio:
        return []
    if recognizer is None:
        from emotion_ros.model.whisper_tiny import load_whisper

        recognizer = SpeechRecognizer(load_whisper())
    heard = []
    for chunk in read_audio(str(path), chunk=READ_CHUNK):
        heard += recognizer.push(chunk, partials=False)
    return heard + recognizer.finish()


def media_words(media: str | Path, transcript: str | Path | None = None, transcribe: bool = True) -> list[Utterance] | None:
    """What was said in ``media``: ``transcript`` (a file) when given, else the transcript beside
    the media, else (``transcribe``) its audio transcribed; None when there is none of these."""
    source = Path(transcript) if transcript else sidecar(media)
    if source is not None:
        return read_transcript(source)
    return transcribe_media(media) if transcribe else None


def words_json(utterances: list[Utterance] | None) -> list[dict]:
    """[{"start": s, "end": s, "text": "..."}] (media time), as predict --json lists what was heard."""
    return [{"start": round(u.t_start, 3), "end": round(u.t_end, 3), "text": u.text} for u in utterances or ()]
