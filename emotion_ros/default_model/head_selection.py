"""Several language heads trained with different seeds, and the one chosen on validation questions.

One training run's held-out rates move by several points with its seed alone (the build
reports of earlier retrains), so a single run is a draw. train_seeds trains one head per seed
(in parallel processes when asked), chooses by the validation questions only (score: how many
TARGETS a head meets there, then the sum of those rates), and writes the chosen head's parts
and report, with every candidate's validation and held-out rates, so the choice can be audited.
The held-out questions never take part in the choice.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from emotion_ros.default_model.language_head import HEAD_REPORT, TARGETS, HeadConfig, train_language_head
from emotion_ros.model.head_checkpoint import HEAD_FILE


def validation_score(rates: dict[str, float]) -> tuple[int, float]:
    """(TARGETS met, the sum of their rates): the larger, the better. A check with no case counts as met."""
    return (sum(rates.get(name, 1.0) >= floor for name, floor in TARGETS.items()),
            round(sum(rates.get(name, 1.0) for name in TARGETS), 4))


def _train_one(checkpoint: str, output: str, cfg: HeadConfig) -> dict:
    from emotion_ros.model.checkpoint import load_checkpoint
    from emotion_ros.model.gguf_llama import load_gguf_llama, smollm2_path

    prefix = f"[seed {cfg.seed}]"
    return train_language_head(load_checkpoint(checkpoint).network, load_gguf_llama(smollm2_path()), output, cfg,
                               progress=lambda line: print(f"{prefix} {line}", flush=True))


def train_seeds(checkpoint: str | Path, output: str | Path, cfg: HeadConfig, seeds: list[int], jobs: int = 1) -> dict:
    """Train a head per seed on the perception of ``checkpoint`` (a built tiny checkpoint), write
    the one validation chooses into ``output`` and return its report. jobs: heads trained at
    once, each with cfg.threads threads."""
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {seeds}")
    with tempfile.TemporaryDirectory() as scratch:
        outputs = {seed: str(Path(scratch) / f"seed-{seed}") for seed in seeds}
        configs = {seed: replace(cfg, seed=seed) for seed in seeds}
        if jobs > 1:
            with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = {seed: pool.submit(_train_one, str(checkpoint), outputs[seed], configs[seed]) for seed in seeds}
                reports = {seed: future.result() for seed, future in futures.items()}
        else:
            reports = {seed: _train_one(str(checkpoint), outputs[seed], configs[seed]) for seed in seeds}
        scores = {seed: validation_score(report["validation"]["rates"]) for seed, report in reports.items()}
        chosen = max(seeds, key=lambda seed: scores[seed])
        report = dict(reports[chosen])
        report["seed_selection"] = {
            "chosen": chosen, "by": "validation questions only: TARGETS met, then the sum of their rates",
            "targets": TARGETS,
            "candidates": {str(seed): {"validation_score": list(scores[seed]), "validation": reports[seed]["validation"]["rates"],
                                       "held_out": reports[seed]["faithfulness"]["rates"]} for seed in seeds}}
        output = Path(output)
        output.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(outputs[chosen]) / HEAD_FILE, output / HEAD_FILE)
        (output / HEAD_REPORT).write_text(json.dumps(report, indent=2) + "\n")
    return report
