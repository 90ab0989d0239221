"""A teacher's outputs on disk, for distillation: its answers and its top-k next-token logits.

Directory layout (one part per process that wrote it):
  texts-NNN.jsonl          {"id": ..., "text": ...} per record
  logits-NNN.safetensors   per record id: "<id>::tokens" (L,) int64, the teacher's answer
                           tokens with the closing EOS; "<id>::top_ids" (L, k) int64 and
                           "<id>::top_logprobs" (L, k) float32, its k most likely tokens at
                           each of those positions (log-probabilities at temperature 1)
  teacher.json             the teacher's model id, tokenizer hash and k

Logit distillation needs the student to share the teacher's tokenizer; the hash is checked.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from emotion_ros.model.tokenizer import TextTokenizer

SEPARATOR = "::"


class TeacherError(ValueError):
    pass


class TeacherOutputsWriter:
    """Collects one process's share of teacher outputs and writes its part files."""

    def __init__(self, directory: str | Path, part: int):
        self.directory, self.part = Path(directory), part
        self.texts: list[dict] = []
        self.tensors: dict[str, torch.Tensor] = {}

    def add(self, record_id: str, text: str, tokens: list[int], step_logits: list[torch.Tensor], top_k: int) -> None:
        if SEPARATOR in record_id:
            raise TeacherError(f"record id {record_id!r} contains {SEPARATOR!r}")
        self.texts.append({"id": record_id, "text": text})
        if step_logits:
            logprobs = torch.log_softmax(torch.stack(step_logits).float(), dim=-1)  # (L, V)
            top = torch.topk(logprobs, min(top_k, logprobs.shape[-1]), dim=-1)
            self.tensors[f"{record_id}{SEPARATOR}tokens"] = torch.tensor(tokens, dtype=torch.int64)
            self.tensors[f"{record_id}{SEPARATOR}top_ids"] = top.indices.to(torch.int64).contiguous()
            self.tensors[f"{record_id}{SEPARATOR}top_logprobs"] = top.values.contiguous()

    def write(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / f"texts-{self.part:03d}.jsonl", "w", encoding="utf-8") as handle:
            for row in self.texts:
                handle.write(json.dumps(row) + "\n")
        if self.tensors:
            save_file(self.tensors, str(self.directory / f"logits-{self.part:03d}.safetensors"))


def write_teacher_info(directory: str | Path, model_id: str, tokenizer: TextTokenizer, top_k: int) -> None:
    info = {"model_id": model_id, "tokenizer": tokenizer.fingerprint(), "top_k": top_k}
    (Path(directory) / "teacher.json").write_text(json.dumps(info, indent=2) + "\n")


class TeacherOutputs:
    """Reads a teacher-outputs directory (texts eagerly, logits on demand)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        info = self.directory / "teacher.json"
        if not info.is_file():
            raise TeacherError(f"{self.directory} is not a teacher-outputs directory (no teacher.json); "
                               "write one with `emotion-ros teacher-outputs`")
        self.info = json.loads(info.read_text())
        self.texts: dict[str, str] = {}
        for part in sorted(self.directory.glob("texts-*.jsonl")):
            for number, line in enumerate(part.read_text(encoding="utf-8").splitlines(), 1):
                try:
                    row = json.loads(line)
                    self.texts[str(row["id"])] = str(row["text"])
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise TeacherError(f"{part}:{number}: expected {{\"id\": ..., \"text\": ...}}") from None
        self._where: dict[str, Path] = {}
        for part in sorted(self.directory.glob("logits-*.safetensors")):
            try:
                with safe_open(str(part), framework="pt") as handle:
                    for key in handle.keys():
                        self._where.setdefault(key.split(SEPARATOR)[0], part)
            except (SafetensorError, OSError) as exc:
                raise TeacherError(f"{part} is not a readable safetensors file: {exc}") from None

    @property
    def has_logits(self) -> bool:
        return bool(self._where)

    def check_tokenizer(self, tokenizer: TextTokenizer) -> None:
        if self.info.get("tokenizer") != tokenizer.fingerprint():
            raise TeacherError("the student's tokenizer differs from the teacher's: logit distillation needs the "
                               "same vocabulary (start the student from a checkpoint with the teacher's tokenizer, "
                               "or set distill.logits: false)")

    def logits(self, record_id: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """(tokens (L,), top_ids (L, k), top_logprobs (L, k)) or None."""
        part = self._where.get(record_id)
        if part is None:
            return None
        with safe_open(str(part), framework="pt") as handle:
            return tuple(handle.get_tensor(f"{record_id}{SEPARATOR}{key}") for key in ("tokens", "top_ids", "top_logprobs"))
