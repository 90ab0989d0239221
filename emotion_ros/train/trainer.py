"""One training stage under torchrun (or a single process): data, DDP, schedule, logs, checkpoints.

Every process encodes its share of the clips into the feature cache, then trains on its
shard of each epoch (DistributedSampler). The randomness of a step (window choice, modality
dropout) comes from a generator seeded by (seed, step, rank), and the batch order from the
epoch, so a resumed run continues exactly where the interrupted one stood.

Outputs in config.output:
  log.jsonl          one JSON object per logged step (losses averaged over processes, lr, samples/s)
  loss.png           the curves of log.jsonl
  checkpoints/       resumable training state (resume.py)
  model/             the trained network as an inference checkpoint (LoRA merged)
"""

from __future__ import annotations

import json
import logging
import math
import time
from contextlib import nullcontext
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

from emotion_ros.model.checkpoint import load_checkpoint, save_checkpoint
from emotion_ros.model.config import load_preset
from emotion_ros.model.network import EmotionNetwork, build_network
from emotion_ros.model.tokenizer import TextTokenizer
from emotion_ros.model.resolve import resolve_model
from emotion_ros.train import distributed
from emotion_ros.train.config import TrainConfig
from emotion_ros.train.features import FeatureCache
from emotion_ros.train.finetune import TrainableNetwork
from emotion_ros.train.objective import HeadObjective
from emotion_ros.train.records import read_records
from emotion_ros.train.resume import latest_checkpoint, load_training_state, save_training_state
from emotion_ros.train.samples import TrainingSet, make_batch
from emotion_ros.train.teacher import TeacherOutputs

_log = logging.getLogger(__name__)


def load_start(init: str, device: torch.device) -> tuple[EmotionNetwork, TextTokenizer]:
    """The network and tokenizer a stage starts from: a checkpoint, or a preset (random head)."""
    source = resolve_model(init)
    if isinstance(source, Path):
        checkpoint = load_checkpoint(source, device=str(device))
        network, tokenizer = checkpoint.network, checkpoint.tokenizer
    else:
        network, tokenizer = build_network(load_preset(source), device=device), None
        _log.warning("starting from preset %r: the encoders have random weights", source)
    tokenizer = tokenizer or TextTokenizer.byte_level()
    if tokenizer.vocab_size > network.config.llm.vocab_size:
        raise ValueError(f"the tokenizer has {tokenizer.vocab_size} tokens, the LLM embeds {network.config.llm.vocab_size}")
    return network.eval(), tokenizer


def learning_rate(config: TrainConfig, step: int) -> float:
    """Linear warm-up, then cosine decay to lr * min_lr_ratio (step counts from 0)."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    floor = config.min_lr_ratio
    return config.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def encode_clips(cache: FeatureCache, records, context: distributed.DistributedContext, progress: bool) -> None:
    """Each process encodes every world_size-th record; the others wait at the barrier."""
    from tqdm import tqdm

    clips = list({cache.path(record): record for record in records}.values())  # several tasks share a clip
    mine = clips[context.rank :: context.world_size]
    for record in tqdm(mine, desc="encoding clips", disable=not progress, unit="clip"):
        cache.ensure(record)
    context.barrier()


def plot_log(log_path: Path, out: Path) -> Path:
    """loss.png: total and component losses over steps, and the learning rate."""
    # The object API on an Agg canvas: no pyplot, so the caller's matplotlib backend is left alone.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    figure = Figure(figsize=(7, 5))
    FigureCanvasAgg(figure)
    losses, rate = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    steps = [row["step"] for row in rows]
    for key in ("loss", "lm", "label", "valence_arousal", "kd"):
        if rows and key in rows[0]:
            losses.plot(steps, [row[key] for row in rows], label=key, linewidth=2 if key == "loss" else 1)
    losses.set_ylabel("loss")
    losses.legend()
    losses.grid(alpha=0.3)
    rate.plot(steps, [row["lr"] for row in rows])
    rate.set_ylabel("learning rate")
    rate.set_xlabel("step")
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    return out


def train(config: TrainConfig, resume: bool = False, progress: bool = True) -> dict:
    """Run one stage; returns a summary (first/last logged loss, steps, output paths)."""
    context = distributed.start()
    try:
        return _train(config, context, resume, progress and context.is_main)
    finally:
        distributed.stop()


def _train(config: TrainConfig, context: distributed.DistributedContext, resume: bool, progress: bool) -> dict:
    from tqdm import tqdm

    torch.manual_seed(config.seed)
    output = Path(config.output)
    if not resume and latest_checkpoint(output) is not None:
        raise ValueError(f"{output} holds checkpoints of an earlier run: pass --resume to continue it, or choose "
                         "another --output")
    network, tokenizer = load_start(config.init, context.device)
    records = [r for r in read_records(config.records, config.splits) if r.task in config.tasks]
    if not records:
        raise ValueError(f"{config.records} has no records of tasks {', '.join(config.tasks)} in splits "
                         f"{', '.join(config.splits)}")
    teacher = None
    if config.distill is not None:
        teacher = TeacherOutputs(config.distill.teacher)
        if config.distill.logits:
            teacher.check_tokenizer(tokenizer)
    cache = FeatureCache(network, config.feature_dir)
    encode_clips(cache, records, context, progress)

    trainable = TrainableNetwork(network, config)
    parameters = trainable.trainable()
    temperature = config.distill.temperature if config.distill else 1.0
    objective = HeadObjective(network, tokenizer.encode("[INST] <Vid>", add_bos=True), config.loss, temperature)
    objective.to(context.device)
    model = objective
    if context.enabled:
        on_gpu = context.device.type == "cuda"
        model = DistributedDataParallel(objective, device_ids=[context.local_rank] if on_gpu else None)
    optimizer = torch.optim.AdamW(parameters.values(), lr=config.lr, weight_decay=config.weight_decay)
    step = 0
    if resume:
        found = latest_checkpoint(output)
        if found is None:
            raise ValueError(f"nothing to resume: {output / 'checkpoints'} holds no checkpoint")
        step = load_training_state(found, parameters, optimizer, config)
        if progress:
            print(f"resuming from {found} (step {step})", flush=True)

    dataset = TrainingSet(records, cache, tokenizer, network.config.labels, config.max_answer_tokens, teacher,
                          use_teacher_texts=bool(config.distill and config.distill.sequence),
                          use_teacher_logits=bool(config.distill and config.distill.logits))
    sampler = torch.utils.data.DistributedSampler(dataset, context.world_size, context.rank, shuffle=True,
                                                  seed=config.seed)
    per_epoch = max(1, len(sampler) // config.batch_size)
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if config.precision == "bf16"
                and context.device.type == "cuda" else nullcontext())
    log_path = output / "log.jsonl"
    if context.is_main:
        output.mkdir(parents=True, exist_ok=True)
        if not resume:
            log_path.write_text("")
    network.train()  # dropout in LoRA and the perception head
    for frozen in (network.temporal_view, network.global_view, network.audio_encoder):
        frozen.eval()
    bar = tqdm(total=config.steps, initial=step, desc=f"{config.stage}", disable=not progress, unit="step")
    first = last = None
    window_start, window_samples = time.monotonic(), 0
    while step < config.steps:
        epoch, skip = divmod(step, per_epoch)
        sampler.set_epoch(epoch)
        order = list(sampler)
        batches = [order[i * config.batch_size : (i + 1) * config.batch_size] for i in range(per_epoch)]
        if len(order) < config.batch_size:  # fewer samples than a batch: use what there is
            batches = [order]
        loader = torch.utils.data.DataLoader(dataset, batch_sampler=batches[skip:], collate_fn=list,
                                             num_workers=config.num_workers)
        for samples in loader:
            # Dropout draws from the global generator, window choice and modality dropout from
            # this one: both seeded per step, so a resumed run repeats the interrupted one.
            step_seed = config.seed * 1_000_003 + step * 1009 + context.rank
            torch.manual_seed(step_seed)
            generator = torch.Generator().manual_seed(step_seed)
            batch = make_batch(samples, tokenizer.pad_id if tokenizer.pad_id is not None else 0, generator,
                               config.modality_dropout.video, config.modality_dropout.audio).to(context.device)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config, step)
            with autocast:
                losses = model(batch)
            optimizer.zero_grad(set_to_none=True)
            losses["loss"].backward()
            torch.nn.utils.clip_grad_norm_(parameters.values(), config.grad_clip)
            optimizer.step()
            step += 1
            window_samples += len(samples)
            bar.update(1)
            if step % config.log_every == 0 or step == config.steps:
                values = context.mean({key: float(value.detach()) for key, value in losses.items()})
                elapsed = time.monotonic() - window_start
                row = {"step": step, "epoch": epoch, **{k: round(v, 5) for k, v in values.items()},
                       "lr": optimizer.param_groups[0]["lr"],
                       "samples_per_s": round(window_samples * context.world_size / max(elapsed, 1e-9), 2)}
                window_start, window_samples = time.monotonic(), 0
                first = first or row
                last = row
                bar.set_postfix(loss=f"{values['loss']:.4f}")
                if context.is_main:
                    with open(log_path, "a") as handle:
                        handle.write(json.dumps(row) + "\n")
            if context.is_main and (step % config.save_every == 0 or step == config.steps):
                save_training_state(output, step, parameters, optimizer, config, config.keep_checkpoints)
            if step >= config.steps:
                break
    bar.close()
    context.barrier()
    summary = {"stage": config.stage, "steps": step, "records": len(records), "processes": context.world_size,
               "first": first, "last": last, "output": str(output)}
    if context.is_main:
        network.eval()
        final = trainable.merged()
        model_dir = output / "model"
        metadata = {"trained_by": "emotion-ros train", "stage": config.stage, "steps": str(step)}
        save_checkpoint(final, model_dir, tokenizer=tokenizer, metadata=metadata)
        summary["model"] = str(model_dir)
        if log_path.read_text().strip():
            summary["plot"] = str(plot_log(log_path, output / "loss.png"))
        (output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    context.barrier()
    return summary
