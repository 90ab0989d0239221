"""Checkpoints and converters: safetensors only, clear mismatch errors, faithful conversion."""

import json

import pytest
import torch
import yaml
from safetensors.torch import save_file

from emotion_ros.model.checkpoint import CheckpointError, load_checkpoint, read_state_dict, save_checkpoint
from emotion_ros.model.config import load_preset
from emotion_ros.model.convert import convert_emotion_llama_v2, convert_hf_llama, load_hf_llama
from emotion_ros.model.network import build_network

transformers = pytest.importorskip("transformers")


def random_hf_llama(directory, seed=0, tie=False, kv_heads=2, hidden=64, layers=2, vocab=128):
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(
        vocab_size=vocab, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=kv_heads, max_position_embeddings=128,
        rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=tie,
    )
    model = transformers.LlamaForCausalLM(config).eval()
    model.save_pretrained(directory, safe_serialization=True)
    return model


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    network = build_network(load_preset("tiny")).eval()
    return network, save_checkpoint(network, tmp_path_factory.mktemp("ckpt") / "tiny")


def test_checkpoint_round_trip_gives_identical_outputs(tiny_checkpoint):
    network, path = tiny_checkpoint
    loaded = load_checkpoint(path)
    assert loaded.model_id.startswith("tiny@") and len(loaded.model_id) == len("tiny@") + 12
    frames = torch.randint(0, 256, (1, network.config.num_frames, 64, 80, 3), dtype=torch.uint8)
    audio = torch.randn(1, 32000) * 0.1
    yes = torch.tensor([True])
    with torch.no_grad():
        a = network.forward_window(frames, audio, yes, yes)
        b = loaded.network.forward_window(frames, audio, yes, yes)
    torch.testing.assert_close(a.logits, b.logits)
    torch.testing.assert_close(a.prefix, b.prefix)
    # Tied embeddings stay tied after loading.
    assert loaded.network.llm.lm_head.weight is loaded.network.llm.model.embed_tokens.weight


def test_pickles_are_refused_unless_allowed(tmp_path):
    path = tmp_path / "weights.pth"
    torch.save({"model": {"w": torch.ones(2)}}, path)
    with pytest.raises(CheckpointError, match="pickle"):
        read_state_dict(path)
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(path)
    assert torch.equal(read_state_dict(path, allow_pickle=True)["model"]["w"], torch.ones(2))


def test_weights_only_loading_refuses_code_in_a_pickle(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil.pth"
    torch.save({"model": Payload()}, path)
    with pytest.raises(CheckpointError, match="cannot read"):
        read_state_dict(path, allow_pickle=True)


def test_corrupt_and_mismatched_checkpoints_name_the_problem(tiny_checkpoint, tmp_path):
    _, path = tiny_checkpoint
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "config.yaml").write_text((path / "config.yaml").read_text())
    (corrupt / "model.safetensors").write_bytes((path / "model.safetensors").read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        load_checkpoint(corrupt)

    mismatched = tmp_path / "mismatched"
    mismatched.mkdir()
    config = yaml.safe_load((path / "config.yaml").read_text())
    config["llm"]["ffn_dim"] = 384
    (mismatched / "config.yaml").write_text(yaml.safe_dump(config))
    (mismatched / "model.safetensors").write_bytes((path / "model.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match=r"shape mismatch.*llm\.model\.layers\.0\.mlp\.down_proj\.weight \(checkpoint \(192, 512\), model \(192, 384\)\)"):
        load_checkpoint(mismatched)

    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.yaml").write_text((path / "config.yaml").read_text())
    state = read_state_dict(path / "model.safetensors")
    state.pop("perception_head.classifier.weight")
    state["extra.bias"] = torch.zeros(1)
    save_file(state, str(partial / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"missing 1 tensor\(s\): perception_head\.classifier\.weight; unexpected 1 tensor\(s\): extra\.bias"):
        load_checkpoint(partial)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nowhere")


@pytest.mark.parametrize("tie, kv_heads", [(False, 2), (True, 4), (False, 1)])
def test_hf_llama_converts_with_identical_logits(tmp_path, tie, kv_heads):
    hf = random_hf_llama(tmp_path / "hf", tie=tie, kv_heads=kv_heads)
    ours = load_hf_llama(tmp_path / "hf")
    ids = torch.randint(0, 128, (2, 17))
    with torch.no_grad():
        expected = hf(input_ids=ids).logits
        logits, _ = ours(ours.embed(ids))
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=1e-5)


def test_hf_llama_into_a_checkpoint_keeps_the_base_network(tmp_path, tiny_checkpoint):
    _, base = tiny_checkpoint
    hf = random_hf_llama(tmp_path / "hf", hidden=192, layers=1, vocab=300)
    report = convert_hf_llama(tmp_path / "hf", tmp_path / "out", base=base)
    assert report.missing == []
    loaded = load_checkpoint(tmp_path / "out")
    assert loaded.config.llm.layers == 1 and loaded.config.llm.vocab_size == 300
    ids = torch.randint(0, 300, (1, 9))
    with torch.no_grad():
        torch.testing.assert_close(loaded.network.llm(loaded.network.llm.embed(ids))[0], hf(input_ids=ids).logits, atol=1e-5, rtol=1e-5)
    base_state = read_state_dict(base / "model.safetensors")
    torch.testing.assert_close(loaded.network.conv_pro_module.fc_final.weight, base_state["conv_pro_module.fc_final.weight"])
    alone = convert_hf_llama(tmp_path / "hf", tmp_path / "alone", preset="tiny")
    assert "conv_pro_module" in alone.missing and "temporal_view" in alone.missing


def synthetic_v2_checkpoint(path, llm_dim, layers, rank, adapter_name):
    """The official layout: projections, conv_pro_module.*, and peft LoRA on q_proj/v_proj."""
    torch.manual_seed(1)
    fusion = build_network(load_preset("v2"), device="meta").conv_pro_module  # shapes only
    state = {f"conv_pro_module.{k}": torch.randn(v.shape) * 0.02 for k, v in fusion.state_dict().items()}
    for name, d_in in (("llama_proj", 5632), ("llama_proj_video", 1408), ("llama_proj_audio", 1280), ("llama_proj_fusion", 256)):
        state[f"{name}.weight"] = torch.randn(llm_dim, d_in) * 0.02
        state[f"{name}.bias"] = torch.randn(llm_dim) * 0.02
    suffix = ".default" if adapter_name else ""
    for layer in range(layers):
        for proj in ("q_proj", "v_proj"):
            base = f"llama_model.base_model.model.model.layers.{layer}.self_attn.{proj}"
            state[f"{base}.lora_A{suffix}.weight"] = torch.randn(rank, llm_dim) * 0.1
            state[f"{base}.lora_B{suffix}.weight"] = torch.randn(llm_dim, rank) * 0.1
    torch.save({"model": state, "epoch": 9, "config": {"run": {"lr": 1e-4}}}, path)
    return state


@pytest.mark.parametrize("adapter_name", [False, True], ids=["peft-0.2", "peft-0.3+"])
def test_official_v2_checkpoint_converts_with_lora_merged(tmp_path, adapter_name):
    hf = random_hf_llama(tmp_path / "llama", hidden=64, layers=2, vocab=128, kv_heads=4)  # MHA, as Llama-2-7B
    official = synthetic_v2_checkpoint(tmp_path / "checkpoint_9.pth", llm_dim=64, layers=2, rank=8, adapter_name=adapter_name)
    report = convert_emotion_llama_v2(tmp_path / "checkpoint_9.pth", tmp_path / "llama", tmp_path / "out", lora_alpha=16.0)
    assert len(report.merged_lora) == 4
    assert set(report.missing) == {"temporal_view", "global_view", "audio_encoder", "perception_head"}
    converted = read_state_dict(tmp_path / "out" / "model.safetensors")
    suffix = ".default" if adapter_name else ""
    base = hf.state_dict()
    for layer in range(2):
        for proj in ("q_proj", "v_proj"):
            lora = f"llama_model.base_model.model.model.layers.{layer}.self_attn.{proj}"
            a, b = official[f"{lora}.lora_A{suffix}.weight"], official[f"{lora}.lora_B{suffix}.weight"]
            expected = base[f"model.layers.{layer}.self_attn.{proj}.weight"] + (16.0 / 8) * b @ a
            torch.testing.assert_close(converted[f"llm.model.layers.{layer}.self_attn.{proj}.weight"], expected)
        # k_proj and the MLP are untouched.
        torch.testing.assert_close(converted[f"llm.model.layers.{layer}.self_attn.k_proj.weight"], base[f"model.layers.{layer}.self_attn.k_proj.weight"])
    for key in ("conv_pro_module.fc_att.weight", "llama_proj.weight", "llama_proj_fusion.bias"):
        torch.testing.assert_close(converted[key], official[key])
    config = yaml.safe_load((tmp_path / "out" / "config.yaml").read_text())
    assert config["name"] == "v2" and config["llm"]["dim"] == 64
    assert json.loads((tmp_path / "llama" / "config.json").read_text())["hidden_size"] == 64


def test_v2_converter_refuses_unknown_tensors_and_half_loras(tmp_path):
    random_hf_llama(tmp_path / "llama", hidden=64, layers=2, kv_heads=4)
    state = synthetic_v2_checkpoint(tmp_path / "ok.pth", llm_dim=64, layers=2, rank=4, adapter_name=False)
    torch.save({"model": {**state, "llama_model.something_else": torch.zeros(1)}}, tmp_path / "unknown.pth")
    with pytest.raises(CheckpointError, match="unknown role.*something_else"):
        convert_emotion_llama_v2(tmp_path / "unknown.pth", tmp_path / "llama", tmp_path / "out")
    half = {k: v for k, v in state.items() if "layers.1.self_attn.v_proj.lora_B" not in k}
    torch.save({"model": half}, tmp_path / "half.pth")
    with pytest.raises(CheckpointError, match="layer 1 v_proj: LoRA has A but not the other half"):
        convert_emotion_llama_v2(tmp_path / "half.pth", tmp_path / "llama", tmp_path / "out")
    wrong = {**state, "llama_proj.weight": torch.zeros(32, 5632)}
    torch.save({"model": wrong}, tmp_path / "wrong.pth")
    with pytest.raises(CheckpointError, match=r"llama_proj\.weight \(checkpoint \(32, 5632\), model \(64, 5632\)\)"):
        convert_emotion_llama_v2(tmp_path / "wrong.pth", tmp_path / "llama", tmp_path / "out")
