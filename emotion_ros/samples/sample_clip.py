"""A real sample clip for demos and tests, made offline from data that packages ship.

Picture: ``skimage.data.astronaut()`` (a photograph of a smiling person), with a slow
camera-like pan and zoom so consecutive frames differ. Sound: a sentence spoken by
espeak-ng. Written as an MP4 (H.264 video, AAC stereo audio at 44.1 kHz), i.e. what a
phone or webcam recording looks like to the file source.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import av
import cv2
import numpy as np
import soxr

from emotion_ros.io.transcript import Utterance
from emotion_ros.io.transcript_file import write_srt
from emotion_ros.samples.scenes import TEST_PERSON, photograph

SPEECH = "Hello there! It is so good to see you again. I am really happy today."
AUDIO_RATE = 44100


class SampleClipError(RuntimeError):
    pass


def synthesize_speech(text: str, rate: int = AUDIO_RATE, words_per_minute: int = 150, pitch: int = 50,
                      voice: str = "") -> np.ndarray:
    """Speak ``text`` with espeak-ng (pitch 0-99; voice: an espeak-ng voice such as "en-us" or
    "en-gb-x-rp+f3", "" for its default): (N,) float32 mono at ``rate`` Hz."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SampleClipError("espeak-ng is not installed (Debian package espeak-ng; `make` installs it)")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        command = [espeak, *(["-v", voice] if voice else []), "-s", str(words_per_minute), "-p", str(pitch), "-w", str(wav), text]
        subprocess.run(command, check=True, capture_output=True)
        with av.open(str(wav)) as container:
            stream = container.streams.audio[0]
            source_rate = stream.codec_context.sample_rate
            resampler = av.AudioResampler(format="fltp", layout="mono", rate=source_rate)
            parts = [f.to_ndarray()[0] for frame in container.decode(stream) for f in resampler.resample(frame)]
    speech = np.concatenate(parts).astype(np.float32)
    return soxr.resample(speech, source_rate, rate).astype(np.float32)


def camera_motion(image: np.ndarray, t: float, size: tuple[int, int]) -> np.ndarray:
    """The image seen by a slowly panning and zooming camera at time t [s]."""
    height, width = image.shape[:2]
    zoom = 1.0 + 0.06 * (1 - np.cos(2 * np.pi * t / 6.0))
    dx, dy = 12 * np.sin(2 * np.pi * t / 4.0), 8 * np.sin(2 * np.pi * t / 5.0)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 0.0, zoom)
    matrix[:, 2] += (dx, dy)
    moved = cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
    return cv2.resize(moved, size, interpolation=cv2.INTER_AREA)


def make_sample_clip(
    path: str | Path,
    duration: float = 6.0,
    fps: int = 30,
    size: tuple[int, int] = (512, 512),
    text: str = SPEECH,
    image: np.ndarray | None = None,
    words_per_minute: int = 150,
    pitch: int = 50,
) -> Path:
    """Write the sample clip to ``path`` (MP4), with its transcript beside it (the same name
    with .srt: the sentence, from when the speech starts to when it ends), and return the path.

    duration [s] is a minimum: the clip is lengthened to fit the speech plus half a second.
    image: (H, W, 3) uint8 RGB filmed by the moving camera (default: the astronaut photo);
    words_per_minute, pitch: the espeak-ng voice.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if image is None:
        image = photograph(TEST_PERSON)
    speech = synthesize_speech(text, words_per_minute=words_per_minute, pitch=pitch)
    lead_in = 0.5
    duration = max(duration, lead_in + speech.size / AUDIO_RATE + 0.5)
    audio = np.zeros(round(duration * AUDIO_RATE), dtype=np.float32)
    start = round(lead_in * AUDIO_RATE)
    audio[start : start + speech.size] = speech[: audio.size - start]
    stereo = np.stack([audio, audio])  # (2, N) planar

    tmp = path.with_suffix(".partial.mp4")
    with av.open(str(tmp), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        video.options = {"crf": "20", "preset": "veryfast"}
        sound = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        for i in range(round(duration * fps)):
            frame = av.VideoFrame.from_ndarray(camera_motion(image, i / fps, size), format="rgb24")
            out.mux(video.encode(frame))
        block = 1024
        for offset in range(0, stereo.shape[1], block):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(stereo[:, offset : offset + block]), format="fltp", layout="stereo")
            frame.sample_rate = AUDIO_RATE
            frame.pts = offset
            out.mux(sound.encode(frame))
        out.mux(video.encode(None))
        out.mux(sound.encode(None))
    tmp.replace(path)
    write_srt(path.with_suffix(".srt"), [Utterance(text, lead_in, lead_in + speech.size / AUDIO_RATE)])
    return path
