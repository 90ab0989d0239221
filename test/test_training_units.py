"""Training parts: stage configs, batches, the objective, distillation, resume state."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from emotion_ros.model.config import load_preset
from emotion_ros.model.network import build_network
from emotion_ros.model.tokenizer import TextTokenizer
from emotion_ros.train.config import TrainConfigError, load_train_config
from emotion_ros.train.features import ClipFeatures
from emotion_ros.train.records import Record
from emotion_ros.train.samples import IGNORE, Sample, make_batch, record_prompt


@pytest.fixture(scope="module")
def network():
    torch.manual_seed(0)
    return build_network(load_preset("tiny")).eval()


@pytest.fixture(scope="module")
def tokenizer():
    return TextTokenizer.byte_level()


def features_of(network, windows: int = 3, video=True, audio=True) -> ClipFeatures:
    c = network.config
    g = torch.Generator().manual_seed(windows)
    return ClipFeatures(
        torch.randn(windows, c.tokens, network.temporal_view.dim, generator=g),
        torch.randn(windows, network.global_view.dim, generator=g),
        torch.randn(windows, c.global_tokens, 4 * network.global_view.dim, generator=g),
        torch.randn(windows, c.tokens, network.audio_encoder.dim, generator=g),
        torch.full((windows,), video), torch.full((windows,), audio))


def sample(network, tokenizer, task="emotion", answer="happy", label=2, windows=3) -> Sample:
    record = Record(id=f"{task}-{answer}", task=task, answer=answer, labels=(answer,), clip=Path("x.mp4"))
    tail = tokenizer.encode(record_prompt(record).split("<VideoHere>")[1])
    answer_ids = tokenizer.encode(" " + answer) + [tokenizer.eos_id]
    return Sample(record, features_of(network, windows), tail + answer_ids, len(tail), label, (0.5, 0.1), None)


@pytest.mark.parametrize("name", ["stage1_perception", "stage2_cognition", "distill"])
def test_shipped_stage_configs_load(name):
    config = load_train_config(name, records="train.jsonl")
    assert config.records == "train.jsonl" and config.steps > 0
    if name == "distill":
        assert config.distill.teacher and config.finetune == "full"
        assert load_train_config(name, records="r", teacher="t").distill.teacher == "t"


def test_stage1_and_stage2_follow_the_curriculum():
    stage1, stage2 = (load_train_config(n, records="r") for n in ("stage1_perception", "stage2_cognition"))
    assert {"audio", "image", "emotion"} <= set(stage1.tasks) and not {"reason", "think"} & set(stage1.tasks)
    assert {"reason", "think"} <= set(stage2.tasks) and stage2.init == "runs/stage1/model"


@pytest.mark.parametrize("text, message", [
    ("stepz: 3", "unknown key"),
    ("tasks: [emotion, dance]", "unknown"),
    ("finetune: half", "finetune must be"),
    ("modality_dropout: {video: 0.7, audio: 0.6}", "must not exceed 1"),
    ("lora: {rank: 4}", "stage.yaml.lora: unknown key"),
    ("steps: many", "expected int"),
])
def test_bad_stage_configs_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "stage.yaml"
    path.write_text(text + "\n")
    with pytest.raises(TrainConfigError, match=message):
        load_train_config(path, records="r")


def test_a_config_needs_records(tmp_path):
    with pytest.raises(TrainConfigError, match="records"):
        load_train_config("stage1_perception")


def test_learning_rate_warms_up_then_decays():
    from emotion_ros.train.trainer import learning_rate

    config = replace(load_train_config("stage1_perception", records="r"), steps=100, warmup_steps=10, lr=1.0,
                     min_lr_ratio=0.1)
    assert learning_rate(config, 0) == pytest.approx(0.1)
    assert learning_rate(config, 9) == pytest.approx(1.0)
    assert learning_rate(config, 10) == pytest.approx(1.0)
    assert learning_rate(config, 55) == pytest.approx(0.55)
    assert learning_rate(config, 100) == pytest.approx(0.1)


def test_batches_mask_what_a_task_does_not_see(network, tokenizer):
    samples = [sample(network, tokenizer, "audio", "a bright voice"), sample(network, tokenizer, "image", "a smile"),
               sample(network, tokenizer, "emotion", "happy")]
    batch = make_batch(samples, tokenizer.pad_id)
    assert batch.features.video_present.tolist() == [False, True, True]
    assert batch.features.audio_present.tolist() == [True, False, True]
    # Without a generator the middle window is taken (evaluation); with one, a seeded random window.
    torch.testing.assert_close(batch.features.cls[2], samples[2].features.cls[1])
    for i, s in enumerate(samples):
        answer = batch.text_targets[i][batch.text_targets[i] != IGNORE]
        assert answer.tolist() == s.text_ids[s.answer_start :]  # loss only on the answer and its EOS
        assert int(batch.text_mask[i].sum()) == len(s.text_ids)


def test_modality_dropout_masks_one_modality_never_both(network, tokenizer):
    samples = [sample(network, tokenizer) for _ in range(64)]
    g = torch.Generator().manual_seed(0)
    batch = make_batch(samples, tokenizer.pad_id, g, video_dropout=0.3, audio_dropout=0.3)
    video, audio = batch.features.video_present, batch.features.audio_present
    assert (video | audio).all()
    assert 8 <= int((~video).sum()) <= 32 and 8 <= int((~audio).sum()) <= 32
    assert (~make_batch(samples, tokenizer.pad_id, g, video_dropout=1.0).features.video_present).all()


def test_training_layout_is_the_inference_prompt(network, tokenizer):
    """The loss the objective computes equals the answer's negative log-likelihood after the
    exact prompt build_prompt() gives the runtime."""
    from emotion_ros.model.prompt import build_prompt
    from emotion_ros.train.config import LossWeights
    from emotion_ros.train.objective import HeadObjective

    one = sample(network, tokenizer, "reason", "The face shows joy.")
    batch = make_batch([one, sample(network, tokenizer, "image", "a smile")], tokenizer.pad_id)
    objective = HeadObjective(network, tokenizer.encode("[INST] <Vid>", add_bos=True), LossWeights())
    with torch.no_grad():
        losses = objective(make_batch([one], tokenizer.pad_id))
        padded = objective(batch)
        f = one.features.window(1)
        out = network.fuse(f.video_tokens, f.cls, f.image_tokens, f.audio_tokens, f.video_present, f.audio_present)
        prompt = build_prompt(network.llm.embed, tokenizer, out.prefix, out.prefix_mask, record_prompt(one.record))
        answer = torch.tensor([one.text_ids[one.answer_start :]])
        embeds = torch.cat([prompt.embeds, network.llm.embed(answer)], dim=1)
        mask = torch.cat([prompt.mask, torch.ones_like(answer, dtype=torch.bool)], dim=1)
        logits, _ = network.llm(embeds, mask)
        expected = F.cross_entropy(logits[0, prompt.embeds.shape[1] - 1 : -1], answer[0])
        label = F.cross_entropy(out.logits, torch.tensor([2]))
    torch.testing.assert_close(losses["lm"], expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(losses["label"], label, atol=1e-5, rtol=1e-5)
    assert torch.isfinite(padded["loss"])  # right-padding a shorter answer changes nothing for the longer one


def test_sparse_kl_is_the_kl_over_the_teachers_top_k():
    from emotion_ros.train.objective import sparse_kl

    student = torch.tensor([[2.0, 0.0, -1.0, 5.0]])
    ids = torch.tensor([[0, 1, 2]])
    teacher_logprobs = torch.log_softmax(torch.tensor([[1.0, 0.5, -0.5]]), dim=-1)
    t = 2.0
    p = torch.softmax(teacher_logprobs / t, dim=-1)
    q = torch.softmax(student[:, :3] / t, dim=-1)
    expected = (p * (p.log() - q.log())).sum(-1) * t * t
    torch.testing.assert_close(sparse_kl(student, ids, teacher_logprobs, t), expected)
    same = torch.log_softmax(student[:, :3], dim=-1)
    assert float(sparse_kl(student, ids, same, 1.0)) == pytest.approx(0.0, abs=1e-6)


def test_teacher_outputs_round_trip_and_guard_the_vocabulary(network, tokenizer, tmp_path):
    from emotion_ros.train.samples import TrainingSet
    from emotion_ros.train.teacher import TeacherError, TeacherOutputs, TeacherOutputsWriter, write_teacher_info

    writer = TeacherOutputsWriter(tmp_path, part=1)
    logits = [torch.randn(tokenizer.vocab_size) for _ in range(3)]
    writer.add("clip/emotion", "happy", [70, 71, tokenizer.eos_id], logits, top_k=4)
    writer.write()
    write_teacher_info(tmp_path, "teacher@x", tokenizer, 4)
    outputs = TeacherOutputs(tmp_path)
    assert outputs.texts == {"clip/emotion": "happy"}
    tokens, top_ids, top_logprobs = outputs.logits("clip/emotion")
    assert tokens.tolist() == [70, 71, tokenizer.eos_id] and top_ids.shape == (3, 4)
    torch.testing.assert_close(top_logprobs[0], torch.log_softmax(logits[0], -1).topk(4).values)
    outputs.check_tokenizer(tokenizer)

    class Cache:
        def load(self, record):
            return features_of(network)

    record = Record(id="clip/emotion", task="emotion", answer="sad", labels=("sad",), clip=Path("x.mp4"))
    item = TrainingSet([record], Cache(), tokenizer, network.config.labels, teacher=outputs,
                       use_teacher_logits=True)[0]
    assert item.text_ids[item.answer_start :] == [70, 71, tokenizer.eos_id]  # the teacher's tokens, not "sad"
    batch = make_batch([item], tokenizer.pad_id)
    assert batch.teacher_mask[0].nonzero().flatten().tolist() == list(range(item.answer_start, len(item.text_ids)))

    from emotion_ros.default_model.builder import train_tokenizer

    other = train_tokenizer(["the face shows a smile"] * 20, 300, tmp_path / "student")
    with pytest.raises(TeacherError, match="tokenizer differs"):
        outputs.check_tokenizer(other)
    with pytest.raises(TeacherError, match="not a teacher-outputs directory"):
        TeacherOutputs(tmp_path / "nothing")


def test_training_state_round_trips_and_refuses_other_settings(tmp_path):
    from emotion_ros.train.resume import ResumeError, latest_checkpoint, load_training_state, save_training_state

    config = load_train_config("stage1_perception", records="r")
    torch.manual_seed(0)
    layer = torch.nn.Linear(3, 2)
    params = dict(layer.named_parameters())
    optimizer = torch.optim.AdamW(params.values(), lr=0.1)
    for step in range(1, 4):
        layer(torch.randn(4, 3)).square().sum().backward()
        optimizer.step()
        save_training_state(tmp_path, step, params, optimizer, config, keep=2)
    assert [p.name for p in sorted((tmp_path / "checkpoints").iterdir())] == ["step-0000002", "step-0000003"]
    saved = {k: v.detach().clone() for k, v in params.items()}
    moments = {k: optimizer.state[p]["exp_avg_sq"].clone() for k, p in params.items()}

    fresh = torch.nn.Linear(3, 2)
    fresh_params = dict(fresh.named_parameters())
    fresh_optimizer = torch.optim.AdamW(fresh_params.values(), lr=0.1)
    assert load_training_state(latest_checkpoint(tmp_path), fresh_params, fresh_optimizer, config) == 3
    for name, p in fresh_params.items():
        torch.testing.assert_close(p.detach(), saved[name])
        torch.testing.assert_close(fresh_optimizer.state[p]["exp_avg_sq"], moments[name])
        assert float(fresh_optimizer.state[p]["step"]) == 3.0
    with pytest.raises(ResumeError, match="different tasks"):
        load_training_state(latest_checkpoint(tmp_path), fresh_params, fresh_optimizer,
                            replace(config, tasks=("emotion",)))


def test_cli_errors_are_one_line(tmp_path, capsys, monkeypatch):
    from emotion_ros.cli import main

    monkeypatch.chdir(tmp_path)  # the default output runs/<stage> is relative: keep the checkout's own runs/ out

    assert main(["train", "stage1_perception"]) == 1
    assert "records: no record file given" in capsys.readouterr().err
    assert main(["train", "stage1_perception", "--records", str(tmp_path / "none.jsonl")]) == 1
    assert "record file not found" in capsys.readouterr().err
    assert main(["eval", "--records", "r.jsonl", "--out", str(tmp_path)]) == 1
    assert "give a model" in capsys.readouterr().err
    assert main(["import-dataset", "nope", "x.csv", "--clips", ".", "--out", "o.jsonl"]) == 1
    assert "unknown data set 'nope'" in capsys.readouterr().err


def test_eval_scores_stored_responses_without_a_model(tmp_path):
    """`emotion-ros eval --responses` scores published answers, e.g. of the real v2 model."""
    from emotion_ros.cli import main

    rows = [{"id": f"c{i}", "task": "emotion", "dataset": "dfew", "split": "test", "labels": [label],
             "clip": f"clips/c{i}.mp4"} for i, label in enumerate(["happy", "sad", "sad", "angry"])]
    (tmp_path / "records.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    responses = ["happy", "<answer>sad</answer>", "I think the person is happy", "furious"]
    (tmp_path / "responses.jsonl").write_text("\n".join(json.dumps({"id": f"c{i}", "response": r})
                                                        for i, r in enumerate(responses)) + "\n")
    assert main(["eval", "--records", str(tmp_path / "records.jsonl"), "--responses", str(tmp_path / "responses.jsonl"),
                 "--out", str(tmp_path / "report")]) == 0
    dfew = json.loads((tmp_path / "report" / "report.json").read_text())["benchmarks"]["dfew"]
    assert dfew["family"] == "uar_war"
    assert dfew["scores"]["accuracy"] == pytest.approx(0.75)  # "furious" reads as angry; the third answer is wrong
    assert dfew["scores"]["uar"] == pytest.approx((1 + 0.5 + 1) / 3)
    assert dfew["confusion"][dfew["labels"].index("sad")][dfew["labels"].index("happy")] == 1
    assert "| dfew | uar_war | 4 |" in (tmp_path / "report" / "report.md").read_text()


def test_import_dataset_writes_records_the_trainer_reads(tmp_path, capsys):
    from emotion_ros.cli import main
    from emotion_ros.train.records import read_records

    (tmp_path / "video").mkdir()
    for name in ("s1", "s2"):
        (tmp_path / "video" / f"{name}.avi").write_bytes(b"\0")
    (tmp_path / "dfew.csv").write_text("name,label,mode,text\ns1,happy,train,I won!\ns2,sad,test,Oh no.\ns3,fear,test,x\n")
    out = tmp_path / "data" / "dfew.jsonl"
    assert main(["import-dataset", "dfew", str(tmp_path / "dfew.csv"), "--clips", str(tmp_path / "video"),
                 "--out", str(out), "--subtitle-column", "text"]) == 0
    printed = capsys.readouterr().out
    assert "2 records" in printed and "1 skipped, e.g. s3: no clip" in printed
    train, test = read_records(out, ["train"]), read_records(out, ["test"])
    assert [(r.id, r.answer, r.subtitle, r.clip.name) for r in train] == [("dfew/s1", "happy", "I won!", "s1.avi")]
    assert [r.labels for r in test] == [("sad",)]
    assert "angry, disgust, fear, happy, neutral, sad, surprise" in train[0].instruction


def test_a_new_run_does_not_overwrite_an_earlier_ones_checkpoints(tmp_path, capsys):
    from emotion_ros.cli import main

    (tmp_path / "run" / "checkpoints" / "step-0000500").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints" / "step-0000500" / "state.json").write_text("{}")
    (tmp_path / "r.jsonl").write_text('{"id": "a", "task": "emotion", "answer": "happy", "features": "f.safetensors"}\n')
    (tmp_path / "f.safetensors").write_bytes(b"")
    assert main(["train", "stage1_perception", "--init", "tiny", "--records", str(tmp_path / "r.jsonl"),
                 "--output", str(tmp_path / "run")]) == 1
    assert "holds checkpoints of an earlier run: pass --resume" in capsys.readouterr().err


def test_the_sample_sets_test_clips_hold_out_sentences_and_voices():
    from emotion_ros.train.synthetic_set import PERSONAS

    for persona in PERSONAS:
        assert not set(persona.test_sentences) & {s for p in PERSONAS for s in p.sentences}
        assert all(abs(a - b) > 10 for a, b in zip(persona.test_voice, persona.voice))  # outside the training jitter
