"""The network: presets, shapes, the published fusion layout, masking, and the audio front end."""

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from emotion_ros.model.config import ConfigError, config_from_dict, load_preset, preset_path
from emotion_ros.model.network import build_network, parameter_count
from emotion_ros.model.pooling import adaptive_pool_matrix
from emotion_ros.model.video import frame_feature_shape

torch.manual_seed(0)


@pytest.fixture(scope="module")
def tiny():
    return build_network(load_preset("tiny")).eval()


def window_inputs(seed=0, batch=1, frames=4, height=120, width=160):
    g = torch.Generator().manual_seed(seed)
    video = torch.randint(0, 256, (batch, frames, height, width, 3), dtype=torch.uint8, generator=g)
    audio = 0.1 * torch.randn(batch, 32000, generator=g)
    return video, audio


@pytest.mark.parametrize("name, low, high", [("tiny", 1e6, 5e6), ("edge", 2.5e8, 4e8), ("v2", 9e9, 1e10)])
def test_every_preset_builds_without_allocating(name, low, high):
    config = load_preset(name)
    network = build_network(config, device="meta")
    assert low < parameter_count(network) < high
    assert next(network.parameters()).device.type == "meta"


def test_v2_llm_is_llama_2_7b_sized():
    network = build_network(load_preset("v2"), device="meta")
    assert parameter_count(network.llm) == 6_738_415_616  # Llama-2-7B


# V2_FACTS.md section 2 and 3: names and shapes of the published fusion and projections.
V2_FUSION = {
    "feats_prep.0.0.weight": (512, 1280), "feats_prep.0.3.weight": (128, 512),
    "feats_prep.1.0.weight": (512, 1408), "feats_prep.1.3.weight": (128, 512),
    "feats_prep.2.0.weight": (512, 1408), "feats_prep.2.3.weight": (128, 512),
    "attention_mlp.0.weight": (512, 384), "attention_mlp.3.weight": (128, 512),
    "fc_att.weight": (3, 128), "conv_entry.weight": (128, 384, 1), "fc_final.weight": (256, 128),
    **{f"conv_module.conv_blocks.{i}.conv_block.0.weight": (128, 128, 3) for i in range(4)},
}
V2_PROJECTIONS = {
    "llama_proj.weight": (4096, 5632), "llama_proj_video.weight": (4096, 1408),
    "llama_proj_audio.weight": (4096, 1280), "llama_proj_fusion.weight": (4096, 256),
}


def test_v2_fusion_and_projections_have_the_published_names_and_shapes():
    network = build_network(load_preset("v2"), device="meta")
    fusion = {k: tuple(v.shape) for k, v in network.conv_pro_module.state_dict().items()}
    weights = {k: v for k, v in fusion.items() if k.endswith("weight")}
    biases = {k[: -len("bias")] for k in fusion if k.endswith("bias")}
    assert weights == V2_FUSION
    assert biases == {k[: -len("weight")] for k in V2_FUSION}  # every layer has a bias
    assert parameter_count(network.conv_pro_module) == 2_838_275  # "2.84 M"
    projections = {f"{name}.{p}": tuple(t.shape) for name in ("llama_proj", "llama_proj_video", "llama_proj_audio", "llama_proj_fusion")
                   for p, t in getattr(network, name).state_dict().items()}
    assert {k: v for k, v in projections.items() if k.endswith("weight")} == V2_PROJECTIONS
    assert sum(np.prod(s) for s in projections.values()) == 35_143_680  # "35.14 M"


def test_tiny_runs_a_full_window(tiny):
    video, audio = window_inputs()
    with torch.no_grad():
        out = tiny.forward_window(video, audio, torch.tensor([True]), torch.tensor([True]))
    config = tiny.config
    assert out.logits.shape == (1, len(config.labels))
    assert torch.allclose(out.probabilities.sum(-1), torch.tensor(1.0))
    assert out.valence_arousal.shape == (1, 2) and out.valence_arousal.abs().max() <= 1
    expected_prefix = config.tokens * 3 + config.global_tokens + 1  # ... and the words' token
    assert out.prefix.shape == (1, expected_prefix, config.llm.dim)
    assert out.prefix_mask[:, :-1].all() and not out.prefix_mask[:, -1].any()  # nothing said: the words masked
    assert torch.isfinite(out.prefix).all()


def test_per_frame_features_are_independent_of_their_batch(tiny):
    """What makes the per-frame cache valid: a frame's feature is the same alone or in a batch."""
    video, _ = window_inputs(frames=5)
    with torch.no_grad():
        batch = tiny.encode_frames(video[0])
        alone = torch.cat([tiny.encode_frames(video[0, i : i + 1]) for i in range(5)])
    assert batch.shape == (5, *frame_feature_shape(tiny.config.video.temporal))  # tiny: 8 face tokens per frame
    torch.testing.assert_close(batch, alone, atol=1e-5, rtol=1e-5)


def test_temporal_tokens_are_in_t_h_w_order(tiny):
    features = torch.arange(2 * 3 * 4 * 1, dtype=torch.float32).reshape(2, 3, 4, 1)
    tokens = tiny.temporal_view.tokens(features)
    assert tokens[0, :, 0].tolist() == list(range(12))  # frame 0: 4 tokens, then frame 1, ...


@pytest.mark.parametrize("modality", ["audio", "video"])
def test_masked_modality_values_do_not_matter(tiny, modality):
    video, audio = window_inputs(seed=1)
    other_video, other_audio = window_inputs(seed=2)
    present = {"video": torch.tensor([modality != "video"]), "audio": torch.tensor([modality != "audio"])}
    with torch.no_grad():
        a = tiny.forward_window(video, audio, present["video"], present["audio"])
        b = tiny.forward_window(
            other_video if modality == "video" else video,
            other_audio if modality == "audio" else audio,
            present["video"], present["audio"],
        )
        # The LLM sees the same thing too: logits over the prefix agree where it is not masked.
        la, _ = tiny.llm(a.prefix, a.prefix_mask)
        lb, _ = tiny.llm(b.prefix, b.prefix_mask)
    torch.testing.assert_close(a.logits, b.logits)
    torch.testing.assert_close(a.valence_arousal, b.valence_arousal)
    torch.testing.assert_close(a.fused, b.fused)
    visible = a.prefix_mask[0]
    assert not visible.all()
    torch.testing.assert_close(la[0, visible], lb[0, visible], atol=1e-5, rtol=1e-5)
    # And the modality does matter when present.
    with torch.no_grad():
        c = tiny.forward_window(other_video if modality == "video" else video,
                                other_audio if modality == "audio" else audio,
                                torch.tensor([True]), torch.tensor([True]))
        d = tiny.forward_window(video, audio, torch.tensor([True]), torch.tensor([True]))
    assert not torch.allclose(c.fused, d.fused)


def test_log_mel_matches_whisper_feature_extractor():
    transformers = pytest.importorskip("transformers")
    from emotion_ros.model.audio import LogMelSpectrogram, mel_filterbank

    config = load_preset("tiny").audio
    t = np.arange(32000) / 16000
    audio = (0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t) + 0.02 * np.random.default_rng(0).standard_normal(32000)).astype(np.float32)
    extractor = transformers.WhisperFeatureExtractor(feature_size=config.n_mels)
    reference = extractor(audio, sampling_rate=16000, return_tensors="np").input_features[0, :, :200]
    ours = LogMelSpectrogram(config)(torch.from_numpy(audio)[None])[0].numpy()
    assert ours.shape == (80, 200)
    # The last frame reaches past the window: Whisper sees its 30 s zero padding there, the
    # window reflects its own end (as Whisper does at the end of its input).
    np.testing.assert_allclose(ours[:, :199], reference[:, :199], atol=2e-3)
    reference_filters = transformers.audio_utils.mel_filter_bank(
        num_frequency_bins=201, num_mel_filters=80, min_frequency=0.0, max_frequency=8000.0,
        sampling_rate=16000, norm="slaney", mel_scale="slaney",
    )
    np.testing.assert_allclose(mel_filterbank(16000, 400, 80), reference_filters.T, atol=1e-6)


@pytest.mark.parametrize("n_in, n_out", [(100, 64), (8, 2), (14, 2), (1500, 64), (7, 2)])
def test_pool_matrix_equals_adaptive_average_pooling(n_in, n_out):
    x = torch.randn(3, 5, n_in)
    torch.testing.assert_close(x @ adaptive_pool_matrix(n_in, n_out).T, F.adaptive_avg_pool1d(x, n_out))


def test_presets_reject_unknown_and_missing_keys():
    values = yaml.safe_load(preset_path("tiny").read_text())
    with pytest.raises(ConfigError, match="unknown key.*heads_count"):
        config_from_dict({**values, "llm": {**values["llm"], "heads_count": 4}})
    with pytest.raises(ConfigError, match="audio"):
        config_from_dict({k: v for k, v in values.items() if k != "audio"})
    with pytest.raises(ConfigError, match="kv_heads"):
        config_from_dict({**values, "llm": {**values["llm"], "kv_heads": 2}})
    with pytest.raises(ConfigError, match="unknown preset"):
        load_preset("huge")
    assert dataclasses.replace(load_preset("tiny")).tokens == 16
