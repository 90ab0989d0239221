"""A checkpoint answering records' prompts: evaluation and teacher outputs both run this.

Each record is answered from its clip's middle window, with the record's prompt and greedy
decoding (the published evaluation decodes greedily and stops at EOS).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from emotion_ros.model.generation import GenerationConfig, generate
from emotion_ros.model.network import EmotionNetwork
from emotion_ros.model.prompt import build_prompt
from emotion_ros.model.tokenizer import TextTokenizer
from emotion_ros.train.features import FeatureCache
from emotion_ros.train.records import Record
from emotion_ros.train.samples import AUDIO_ONLY, VIDEO_ONLY, record_prompt, record_words


@dataclass
class Answer:
    text: str
    tokens: list[int]  # generated ids, ending with EOS when decoding stopped there
    step_logits: list[torch.Tensor]  # (V,) before each of ``tokens`` (empty unless asked for)


class RecordAnswerer:
    def __init__(self, network: EmotionNetwork, tokenizer: TextTokenizer, cache: FeatureCache,
                 max_new_tokens: int = 200):
        self.network, self.tokenizer, self.cache = network.eval(), tokenizer, cache
        stop = tuple(i for i in (tokenizer.eos_id,) if i is not None)
        self.generation = GenerationConfig(max_new_tokens=max_new_tokens, stop_token_ids=stop,
                                           vocab_limit=tokenizer.vocab_size)

    @torch.no_grad()
    def answer(self, record: Record, keep_logits: bool = False) -> Answer:
        features = self.cache.load(record)
        f = features.window(len(features) // 2)
        video, audio = f.video_present.clone(), f.audio_present.clone()
        if record.task in AUDIO_ONLY:
            video[:] = False
        elif record.task in VIDEO_ONLY:
            audio[:] = False
        out = self.network.fuse(f.video_tokens, f.cls, f.image_tokens, f.audio_tokens, video, audio,
                                record_words(record)[None])
        prompt = build_prompt(self.network.llm.embed, self.tokenizer, out.prefix, out.prefix_mask,
                              record_prompt(record))
        result = generate(self.network.llm, prompt.embeds, prompt.mask, self.generation, keep_logits=keep_logits)
        tokens = result.tokens + ([self.tokenizer.eos_id] if result.stop_reason == "stop" else [])
        return Answer(self.tokenizer.decode(result.tokens).strip(), tokens, result.step_logits)
