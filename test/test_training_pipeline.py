"""The MMEVerse training flow end to end, under torchrun with two CPU processes (gloo):
stage 1 -> resume -> stage 2 -> teacher outputs -> distillation -> evaluation."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from safetensors.numpy import load_file

pytestmark = [pytest.mark.slow,  # torchrun
              pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (make installs it)")]

COMMON = {
    "batch_size": 3, "lr": 3.0e-3, "warmup_steps": 2, "log_every": 2, "keep_checkpoints": 2, "seed": 0,
    "lora": {"r": 16, "alpha": 32, "dropout": 0.05,
             "targets": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]},
    "modality_dropout": {"video": 0.2, "audio": 0.2},
}


def torchrun(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "emotion_ros", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def write_config(path: Path, **values) -> Path:
    path.write_text(yaml.safe_dump({**COMMON, **values}))
    return path


def losses(output: Path, key: str = "loss") -> list[float]:
    return [json.loads(line)[key] for line in (output / "log.jsonl").read_text().splitlines()]


def assert_decreases(values: list[float]) -> None:
    third = max(1, len(values) // 3)
    assert np.mean(values[-third:]) < 0.9 * np.mean(values[:third]), values


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    from emotion_ros.train.synthetic_set import make_synthetic_set

    directory = tmp_path_factory.mktemp("mmeverse")
    make_synthetic_set(directory, clips_per_label=2, test_per_label=1)
    return directory


def test_curriculum_resume_distillation_and_evaluation(data, tiny_checkpoint, tmp_path):
    features = str(tmp_path / "features")  # every model here shares the tiny encoders: one cache
    records = str(data / "train.jsonl")

    # Stage 1 (perception) on two processes, checkpoints every 8 steps.
    stage1 = tmp_path / "stage1"
    config1 = write_config(tmp_path / "stage1.yaml", stage="perception", init=str(tiny_checkpoint), records=records,
                           tasks=["emotion", "audio", "image"], output=str(stage1), features=features, steps=16,
                           save_every=8, finetune="lora")
    torchrun("train", str(config1))
    summary = json.loads((stage1 / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["steps"] == 16
    assert_decreases(losses(stage1))
    assert (stage1 / "loss.png").stat().st_size > 0
    assert sorted(p.name for p in (stage1 / "checkpoints").iterdir()) == ["step-0000008", "step-0000016"]
    finished = load_file(str(stage1 / "model" / "model.safetensors"))
    assert not any("lora" in name for name in finished)  # adapters merged: the plain inference layout

    # Interrupted after step 8: resuming repeats steps 9-16 exactly.
    shutil.rmtree(stage1 / "checkpoints" / "step-0000016")
    shutil.rmtree(stage1 / "model")
    done = torchrun("train", str(config1), "--resume")
    assert "resuming from" in done.stdout + done.stderr
    resumed = load_file(str(stage1 / "model" / "model.safetensors"))
    for name, tensor in finished.items():
        np.testing.assert_allclose(resumed[name], tensor, atol=1e-5, err_msg=name)

    # Stage 2 (cognition) from stage 1's model.
    stage2 = tmp_path / "stage2"
    config2 = write_config(tmp_path / "stage2.yaml", stage="cognition", init=str(stage1 / "model"), records=records,
                           tasks=["emotion", "reason", "think"], output=str(stage2), features=features, steps=24,
                           save_every=24, finetune="lora", lr=5.0e-3)
    torchrun("train", str(config2))
    assert_decreases(losses(stage2))

    # The stage-2 model as a teacher: answers and top-k logits on disk, one part per process.
    teacher = tmp_path / "teacher"
    torchrun("teacher-outputs", str(stage2 / "model"), "--records", records, "--out", str(teacher), "--top-k", "8",
             "--max-new-tokens", "24", "--features", features)
    assert sorted(p.name for p in teacher.glob("logits-*.safetensors")) == ["logits-000.safetensors",
                                                                            "logits-001.safetensors"]
    texts = [json.loads(line) for part in teacher.glob("texts-*.jsonl") for line in part.read_text().splitlines()]
    assert len(texts) == len((data / "train.jsonl").read_text().splitlines())

    # Distil a fully fine-tuned head from the teacher's texts and logits.
    student = tmp_path / "distill"
    config3 = write_config(tmp_path / "distill.yaml", stage="distill", init=str(tiny_checkpoint), records=records,
                           tasks=["emotion", "reason", "think"], output=str(student), features=features, steps=16,
                           save_every=16, finetune="full", distill={"teacher": str(teacher), "temperature": 2.0})
    torchrun("train", str(config3))
    assert_decreases(losses(student, "kd"))
    assert_decreases(losses(student))

    # Evaluate the student on the test split.
    report = tmp_path / "eval"
    torchrun("eval", str(student / "model"), "--records", str(data / "test.jsonl"), "--out", str(report),
             "--max-new-tokens", "16", "--features", features)
    scores = json.loads((report / "report.json").read_text())
    assert "synthetic" in json.dumps(scores)
    assert "| synthetic | single |" in (report / "report.md").read_text()
    assert (report / "confusion_synthetic.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((report / "predictions.jsonl").read_text().splitlines()) == 2
