"""Write a teacher checkpoint's answers and top-k logits for records (teacher.py's format)."""

from __future__ import annotations

from pathlib import Path

from emotion_ros.train import distributed
from emotion_ros.train.answering import RecordAnswerer
from emotion_ros.train.features import FeatureCache
from emotion_ros.train.records import read_records
from emotion_ros.train.teacher import TeacherOutputsWriter, write_teacher_info
from emotion_ros.train.trainer import encode_clips, load_start


def write_teacher_outputs(teacher: str, records_path: str | Path, out: str | Path, splits: tuple[str, ...] | None = None,
                          top_k: int = 16, max_new_tokens: int = 200, features: str | Path | None = None,
                          progress: bool = True) -> dict:
    """Answer every record with ``teacher`` (under torchrun, each process a share); returns counts."""
    from tqdm import tqdm

    context = distributed.start()
    try:
        network, tokenizer = load_start(teacher, context.device)
        records = read_records(records_path, splits)
        out = Path(out)
        cache = FeatureCache(network, features or out / "features")
        encode_clips(cache, records, context, progress and context.is_main)
        answerer = RecordAnswerer(network, tokenizer, cache, max_new_tokens)
        writer = TeacherOutputsWriter(out, context.rank)
        mine = records[context.rank :: context.world_size]
        for record in tqdm(mine, desc="teacher answers", disable=not (progress and context.is_main), unit="record"):
            answer = answerer.answer(record, keep_logits=top_k > 0)
            writer.add(record.id, answer.text, answer.tokens, answer.step_logits, top_k)
        writer.write()
        if context.is_main:
            write_teacher_info(out, str(teacher), tokenizer, top_k)
        context.barrier()
        return {"records": len(records), "processes": context.world_size, "out": str(out)}
    finally:
        distributed.stop()
