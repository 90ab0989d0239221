"""Write test/data/smollm2_reference.npz: what Hugging Face transformers' own GGUF loading of the
pinned SmolLM2 file gives for one chat prompt (its tokens, the last position's logits at a
fixed sample of ids, and 12 greedy tokens), for test_gguf_llama.py to check our port against
without transformers' 20 s load.

    python scripts/make_smollm2_reference.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from emotion_ros.model.gguf_llama import smollm2_path

OUT = Path(__file__).resolve().parents[1] / "test" / "data" / "smollm2_reference.npz"
MESSAGES = [{"role": "user", "content": "The face shows a clear happy expression (0.92). Is the person sad? Answer in one sentence."}]
SAMPLED_IDS = np.random.default_rng(0).choice(49152, 512, replace=False)
GREEDY_TOKENS = 12


@torch.no_grad()
def main() -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = smollm2_path()
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, torch_dtype=torch.float32).eval()
    text = tokenizer.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
    logits = model(ids).logits[0, -1]
    greedy = model.generate(ids, max_new_tokens=GREEDY_TOKENS, do_sample=False)[0, ids.shape[1]:]
    np.savez_compressed(OUT, text=np.array(text), ids=ids[0].numpy(), sampled_ids=SAMPLED_IDS,
                        logits=logits[SAMPLED_IDS].numpy(), greedy=greedy.numpy())
    print(f"wrote {OUT}: {ids.shape[1]} prompt tokens, greedy {tokenizer.decode(greedy)!r}")


if __name__ == "__main__":
    main()
