"""The `emotion-ros` command as a user runs it."""

import re
import subprocess
import sys

import pytest


def emotion_ros(*args, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "emotion_ros.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def test_demo_prints_states_and_explanations_and_writes_a_timeline(sample_clip, tmp_path):
    plot = tmp_path / "timeline.png"
    result = emotion_ros("demo", "--clip", str(sample_clip), "--rate", "1", "--explain-rate", "1", "--plot", str(plot), timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [l for l in result.stdout.splitlines() if re.match(r"\s+\d+\.\d\d s  \w+", l)]
    states = [l for l in lines if "explanation:" not in l]
    assert len(states) >= 3
    assert all(re.search(r"(angry|disgust|fear|happy|sad|surprise|neutral) +0\.\d\d .* V [+-]\d\.\d\d A [+-]\d\.\d\d", l) for l in states)
    assert any("explanation:" in l for l in lines)
    assert re.search(r"done: \d+ states, \d+ label changes, [1-9]\d* explanations, 0 dropped windows, 0 backend errors", result.stdout)
    assert plot.is_file() and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (("demo", "--clip", "/no/such/clip.mp4"), "clip not found: /no/such/clip.mp4"),
        (("file-source", "--ros-args", "-p", "path:=/no/such/clip.mp4"), "media file not found"),
        (("file-source", "--ros-args", "-p", "rate:=-3.0"), "rate"),
        (("camera", "--ros-args", "-p", "encoding:=rgb16"), "unsupported image encoding 'rgb16'"),
        (("emotion", "--ros-args", "-p", "model:=/no/such/model"), "cannot load model '/no/such/model'"),
    ],
)
def test_failures_exit_non_zero_with_one_clear_line(args, message):
    result = emotion_ros(*args)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [l for l in result.stderr.splitlines() if "error" in l.lower() and "[ERROR]" not in l]
    assert len(errors) == 1 and message in errors[0], result.stderr


def test_convert_llama_writes_a_checkpoint_and_reports(tmp_path):
    transformers = pytest.importorskip("transformers")
    config = transformers.LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                      num_attention_heads=2, num_key_value_heads=2)
    transformers.LlamaForCausalLM(config).save_pretrained(tmp_path / "hf", safe_serialization=True)
    result = emotion_ros("convert", "llama", str(tmp_path / "hf"), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and "not in the source" in result.stdout
    assert (tmp_path / "out" / "model.safetensors").is_file() and (tmp_path / "out" / "config.yaml").is_file()
    bad = emotion_ros("convert", "v2", str(tmp_path / "missing.pth"), "--llama", str(tmp_path / "hf"), "--out", str(tmp_path / "x"))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "not found" in bad.stderr


@pytest.mark.slow
def test_predict_reports_an_image_and_a_clip_as_json(sample_clip, tmp_path):
    import json

    import cv2
    from skimage import data

    image = tmp_path / "astronaut.png"
    cv2.imwrite(str(image), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    for args, windows in ((("--image", str(image)), 1), (("--image", str(image), "--audio", str(sample_clip)), 1),
                          (("--video", str(sample_clip)), 5)):
        result = emotion_ros("predict", *args, "--json", "--max-new-tokens", "4", "--backend", "torch")
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout.strip().splitlines()[-1])
        assert {"label", "scores", "valence", "arousal", "explanation"} <= set(report)
        assert report["label"] == max(report["scores"], key=report["scores"].get)
        assert abs(sum(report["scores"].values()) - 1) < 1e-3 and -1 <= report["valence"] <= 1
        assert report["windows"] == windows  # a 4 s clip: windows ending 2.0 ... 4.0 s
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    result = emotion_ros("predict", "--image", str(broken))
    assert result.returncode == 1 and "cannot read an image" in result.stderr and "Traceback" not in result.stderr


def test_demo_as_fast_as_possible_reports_every_window_to_the_clips_end(sample_clip, tmp_path):
    """--rate 0 runs the offline pipeline: the windows real time gives, to the clip's end (the
    end of a file is perceived at both rates), and the same states on every run."""
    def demo(rate, name):
        result = emotion_ros("demo", "--clip", str(sample_clip), "--rate", rate, "--explain-rate", "0",
                             "--plot", str(tmp_path / f"{name}.png"), timeout=120)
        assert result.returncode == 0, result.stderr
        states = re.findall(r"^\s+(\d+\.\d\d s .*? A [+-]\d\.\d\d)", result.stdout, re.MULTILINE)
        assert int(re.search(r"done: (\d+) states", result.stdout).group(1)) == len(states)
        return states

    fast, again, real_time = demo("0", "a"), demo("0", "b"), demo("1", "c")
    assert fast == again  # deterministic
    assert len(fast) == len(real_time) >= 5  # a 4 s clip: windows end every 0.5 s from 2 s to its end
    # the same labels (the node's ids are its run's, the offline pipeline's f1, f2, ...)
    label = lambda state: re.sub(r"^\S+ s\s+(f\w*\d\s+)?", "", state).split()[0]  # noqa: E731
    assert [label(s) for s in fast] == [label(s) for s in real_time] and label(fast[-1]) == "happy"


def test_bench_model_times_the_default_preset():
    """bench-model builds the preset with random weights and reports sizes and times as JSON;
    the default preset is a face reader, whose per-frame tokens are people's views."""
    from emotion_ros.eval.model_benchmark import benchmark_model

    report = benchmark_model("tiny", repeats=1, height=120, width=160, tokens=2)
    parts = {k: v for k, v in report["parameters"].items() if k != "total"}
    assert sum(parts.values()) == report["parameters"]["total"]
    assert report["full_window_ms"] > 0 and report["incremental_stride_ms"] > 0


def test_predict_answers_a_question_and_refuses_one_it_cannot_take(tmp_path):
    import json

    import cv2
    from skimage import data

    from emotion_ros.model.label_sets import FER_LABELS
    from emotion_ros.runtime.faithful_answer import named_expression
    from emotion_ros.runtime.file_prediction import predict_file
    from emotion_ros.runtime.torch_backend import TorchBackend

    image = tmp_path / "astronaut.png"
    cv2.imwrite(str(image), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    asked = []

    class Recording(TorchBackend):
        def explain(self, context, question, max_new_tokens, subtitle="", facts=""):
            asked.append(question)
            return super().explain(context, question, max_new_tokens, subtitle, facts)

    result = predict_file(Recording("tiny"), image=image, question="Is the person sad?", max_new_tokens=24)
    assert asked == ["Is the person sad?"] and result.explanation
    assert named_expression(result.explanation, FER_LABELS) in (None, result.label)  # never another label
    answered = emotion_ros("predict", "--image", str(image), "--question", "Is the person sad?", "--json", "--backend", "torch")
    assert answered.returncode == 0, answered.stderr
    assert json.loads(answered.stdout.strip().splitlines()[-1])["explanation"]
    for args, message in ((("--question", "why " * 2000), "the question has 8000 characters"),
                          (("--question", "Why?", "--no-explain"), "cannot go with --no-explain")):
        refused = emotion_ros("predict", "--image", str(image), *args)
        errors = [line for line in refused.stderr.splitlines() if "error" in line.lower()]
        assert refused.returncode == 1 and len(errors) == 1 and message in errors[0], refused.stderr
