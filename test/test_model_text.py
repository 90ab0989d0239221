"""The LLaMA head's text side: KV-cached decoding, tokenizers, prompts, label parsing."""

import dataclasses

import pytest
import torch

from emotion_ros.model.config import LlamaConfig, load_preset
from emotion_ros.model.generation import GenerationConfig, generate
from emotion_ros.model.labels import parse_label
from emotion_ros.model.llama import LlamaForCausalLM
from emotion_ros.model.prompt import PLACEHOLDER, build_prompt, instruction_text
from emotion_ros.model.tokenizer import TextTokenizer, TokenizerError

CORPUS = [
    "The person smiles broadly and speaks in a lively voice, so they look happy.",
    "Her brows are lowered and her voice is loud and sharp: she seems angry.",
    "He is quiet, his face is still, and his voice is flat; he looks neutral.",
    "Tears and a trembling voice suggest that the person is sad.",
    "[INST] <Vid></Vid> The person in video says: hello. [emotion] Please determine [/INST]",
] * 20


@pytest.fixture(scope="module")
def bpe_file(tmp_path_factory):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "<s>", "</s>", "<pad>"])
    tokenizer.train_from_iterator(CORPUS, trainer)
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tokenizer.save(str(path))
    return path


def small_llm(seed=0, **overrides) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    values = dict(vocab_size=97, dim=64, layers=3, heads=4, kv_heads=2, ffn_dim=96, max_positions=256)
    return LlamaForCausalLM(LlamaConfig(**{**values, **overrides})).eval()


@pytest.mark.parametrize("kv_heads", [1, 2, 4])
def test_kv_cache_decoding_matches_full_recomputation(kv_heads):
    llm = small_llm(kv_heads=kv_heads)
    prompt = torch.randn(1, 12, 64)
    mask = torch.ones(1, 12, dtype=torch.bool)
    mask[0, 3:6] = False  # a masked modality inside the prompt
    config = GenerationConfig(max_new_tokens=20)
    cached = generate(llm, prompt, mask, config, use_cache=True, keep_logits=True)
    full = generate(llm, prompt, mask, config, use_cache=False, keep_logits=True)
    assert cached.tokens == full.tokens and len(cached.tokens) == 20 and cached.stop_reason == "budget"
    torch.testing.assert_close(torch.stack(cached.step_logits), torch.stack(full.step_logits), atol=1e-5, rtol=1e-5)


def test_sampling_is_reproducible_and_respects_top_k():
    llm = small_llm()
    prompt = torch.randn(1, 5, 64)
    config = GenerationConfig(max_new_tokens=15, do_sample=True, temperature=1.0, top_k=3, top_p=1.0, seed=7)
    first = generate(llm, prompt, config=config, keep_logits=True)
    assert first.tokens == generate(llm, prompt, config=config).tokens
    assert first.tokens == generate(llm, prompt, config=config, use_cache=False).tokens
    for token, logits in zip(first.tokens, first.step_logits):
        assert token in torch.topk(logits, 3).indices.tolist()


def test_stop_tokens_end_generation():
    llm = small_llm()
    prompt = torch.randn(1, 5, 64)
    greedy = generate(llm, prompt, config=GenerationConfig(max_new_tokens=10))
    stop = greedy.tokens[3]
    result = generate(llm, prompt, config=GenerationConfig(max_new_tokens=10, stop_token_ids=(stop,)))
    assert result.stop_reason == "stop" and result.tokens == greedy.tokens[: greedy.tokens.index(stop)]


def test_masked_prompt_positions_are_invisible():
    llm = small_llm()
    prompt = torch.randn(1, 10, 64)
    other = prompt.clone()
    other[0, 2:5] = torch.randn(3, 64) * 10
    mask = torch.ones(1, 10, dtype=torch.bool)
    mask[0, 2:5] = False
    a = generate(llm, prompt, mask, GenerationConfig(max_new_tokens=8), keep_logits=True)
    b = generate(llm, other, mask, GenerationConfig(max_new_tokens=8), keep_logits=True)
    assert a.tokens == b.tokens
    torch.testing.assert_close(torch.stack(a.step_logits), torch.stack(b.step_logits))


def test_bpe_tokenizer_from_a_local_file(bpe_file):
    tokenizer = TextTokenizer.from_file(bpe_file)
    assert (tokenizer.bos_id, tokenizer.eos_id, tokenizer.pad_id) == (1, 2, 3)
    text = "The person smiles and looks happy."
    ids = tokenizer.encode(text, add_bos=True)
    assert ids[0] == 1 and tokenizer.decode(ids) == text
    assert TextTokenizer.from_file(bpe_file.parent).vocab_size == tokenizer.vocab_size


def test_sentencepiece_tokenizer_from_a_local_file(tmp_path):
    import sentencepiece

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS))
    sentencepiece.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(tmp_path / "tokenizer"), vocab_size=120, model_type="bpe",
        bos_id=1, eos_id=2, unk_id=0, pad_id=3, minloglevel=2,
    )
    tokenizer = TextTokenizer.from_file(tmp_path / "tokenizer.model")
    ids = tokenizer.encode("she seems angry", add_bos=True)
    assert ids[0] == tokenizer.bos_id == 1 and tokenizer.eos_id == 2
    assert tokenizer.decode(ids[1:]) == "she seems angry"


def test_bad_tokenizer_files_are_refused(tmp_path):
    with pytest.raises(TokenizerError, match="not found"):
        TextTokenizer.from_file(tmp_path / "missing.json")
    broken = tmp_path / "tokenizer.json"
    broken.write_text("{not json")
    with pytest.raises(TokenizerError, match="cannot read"):
        TextTokenizer.from_file(broken)


def test_prompt_follows_the_emotion_llama_format_and_splices_the_prefix(bpe_file):
    labels = ("angry", "happy", "sad")
    text = instruction_text("emotion", labels, subtitle="I got the job.")
    assert text == (
        f"[INST] <Vid>{PLACEHOLDER}</Vid> The person in video says: I got the job. [emotion] "
        "Please determine which emotion label in the video represents: angry, happy, sad. [/INST]"
    )
    assert "says" not in instruction_text("reason", labels)
    tokenizer = TextTokenizer.from_file(bpe_file)
    config = dataclasses.replace(load_preset("tiny").llm, vocab_size=400)
    llm = LlamaForCausalLM(config).eval()
    prefix = torch.randn(1, 7, config.dim)
    prefix_mask = torch.tensor([[True] * 4 + [False] * 3])
    prompt = build_prompt(llm.embed, tokenizer, prefix, prefix_mask, text)
    before = len(tokenizer.encode(text.split(PLACEHOLDER)[0], add_bos=True))
    assert torch.equal(prompt.embeds[0, before : before + 7], prefix[0])
    assert prompt.mask[0, before + 4 : before + 7].tolist() == [False] * 3
    assert prompt.mask.sum() == prompt.mask.shape[1] - 3
    assert torch.equal(prompt.embeds[0, 0], llm.embed(torch.tensor(tokenizer.bos_id)))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("<think>she smiles widely</think><answer>happy</answer>", "happy"),
        ("<think>not angry at all</think><answer> Joy </answer>", "happy"),
        ("The person looks furious.", "angry"),
        ("happy, not sad", "happy"),
        ("They seem anxious about it", "fear"),
        ("Hard to say.", None),
        ("unhappy", "sad"),
        ("She is not sad; she looks happy.", "happy"),
        ("No, they don't look angry. They look surprised.", "surprise"),
        ("There is no sign of fear.", None),
        ("not happy but sad", "sad"),
        ("Never angry, always calm.", "neutral"),
    ],
)
def test_labels_are_parsed_from_free_text(text, expected):
    assert parse_label(text, ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]) == expected


def test_worried_label_set_keeps_its_own_word():
    assert parse_label("the speaker is anxious", ["angry", "happy", "neutral", "sad", "surprise", "worried"]) == "worried"
