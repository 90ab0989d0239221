"""Transcripts of media files: SubRip (.srt) or JSON lines ({"start": s, "end": s, "text": ...}).

A media file's transcript is its sidecar: the same name with .srt (or .jsonl) beside it, as video
players find subtitles.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from emotion_ros.io.transcript import MAX_CHARACTERS, Utterance

_SRT_TIME = re.compile(r"(\d+):(\d{2}):(\d{2})[,.](\d{3})\s*-->\s*(\d+):(\d{2}):(\d{2})[,.](\d{3})")
SUFFIXES = (".srt", ".jsonl")


class TranscriptError(ValueError):
    """A transcript file that cannot be read; the message says where and why."""


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def _checked(text: str, start: float, end: float, where: str) -> Utterance:
    text = " ".join(text.split())
    if not text or end < start or start < 0:
        raise TranscriptError(f"{where}: an entry needs text and 0 <= start <= end (got {start}, {end}, {text!r})")
    if len(text) > MAX_CHARACTERS:
        raise TranscriptError(f"{where}: an entry of {len(text)} characters (limit {MAX_CHARACTERS})")
    return Utterance(text, start, end)


def read_transcript(path: str | Path) -> list[Utterance]:
    """The utterances of a .srt or .jsonl transcript, in order of their end [s, media time]."""
    path = Path(path)
    try:
        content = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptError(f"cannot read the transcript {path}: {exc}") from exc
    utterances = []
    if path.suffix == ".srt":
        for number, block in enumerate(re.split(r"\n\s*\n", content.strip()), start=1):
            lines = block.strip().splitlines()
            timing = next((i for i, line in enumerate(lines) if _SRT_TIME.search(line)), None)
            if timing is None:
                raise TranscriptError(f"{path}: subtitle {number} has no 'HH:MM:SS,mmm --> HH:MM:SS,mmm' line")
            times = _SRT_TIME.search(lines[timing]).groups()
            text = re.sub(r"<[^>]+>", "", " ".join(lines[timing + 1:]))  # SubRip's <i>, <b>, <font> tags
            utterances.append(_checked(text, _seconds(*times[:4]), _seconds(*times[4:]), f"{path}: subtitle {number}"))
    elif path.suffix == ".jsonl":
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                utterances.append(_checked(str(entry["text"]), float(entry["start"]), float(entry["end"]), f"{path}:{number}"))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                if isinstance(exc, TranscriptError):
                    raise
                raise TranscriptError(f"{path}:{number}: expected {{\"start\": s, \"end\": s, \"text\": ...}} ({exc})") from exc
    else:
        raise TranscriptError(f"{path}: a transcript is .srt or .jsonl")
    return sorted(utterances, key=lambda u: u.t_end)


def write_srt(path: str | Path, utterances: list[Utterance]) -> Path:
    """Write utterances as SubRip."""
    def stamp(t: float) -> str:
        ms = round(t * 1000)
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    blocks = [f"{i}\n{stamp(u.t_start)} --> {stamp(u.t_end)}\n{u.text}\n" for i, u in enumerate(utterances, start=1)]
    Path(path).write_text("\n".join(blocks), encoding="utf-8")
    return Path(path)


def sidecar(media: str | Path) -> Path | None:
    """The transcript beside a media file (same name, .srt or .jsonl), if there is one."""
    media = Path(media)
    return next((media.with_suffix(s) for s in SUFFIXES if media.with_suffix(s).is_file()), None)

