"""score_benchmark per metric family and the written report, against hand-worked values."""

import json
import math

import numpy as np
import pytest
from sklearn.metrics import f1_score, recall_score

from emotion_ros.eval.benchmark import BenchmarkResult, score_benchmark, write_report
from emotion_ros.eval.wheel import EmotionWheels, open_vocabulary_f

LABELS = ("Happy", "Sad", "Angry")
TRUTH = [("happy",), ("SAD",), ("angry",), ("Happy",)]
# Happy; the answer span wins (Angry); a synonym (Angry); nothing readable
RESPONSES = ["I feel happy", "not sad <answer>angry</answer>", "furious", "no idea"]


def test_single_label_reads_responses_and_matches_ground_truth_case_insensitively():
    result = score_benchmark("caer", "single", TRUTH, RESPONSES, LABELS)
    gt, predicted = ["Happy", "Sad", "Angry", "Happy"], ["Happy", "Angry", "Angry", "<none>"]
    assert result.scores["accuracy"] == pytest.approx(0.5)
    # Happy 2/3 (P 1, R 1/2), Sad 0, Angry 2/3 (P 1/2, R 1); weights 2:1:1 -> 0.5
    assert result.scores["weighted_f1"] == pytest.approx(0.5)
    assert result.scores["weighted_f1"] == pytest.approx(
        f1_score(gt, predicted, labels=sorted(set(gt)), average="weighted", zero_division=0))
    assert result.samples == 4 and result.labels == LABELS and result.family == "single"
    np.testing.assert_array_equal(result.confusion, [[1, 0, 0, 1], [0, 0, 1, 0], [0, 0, 1, 0]])


def test_uar_war_adds_mean_class_recall():
    result = score_benchmark("dfew", "uar_war", TRUTH, RESPONSES, LABELS)
    assert result.scores["uar"] == pytest.approx((0.5 + 0 + 1) / 3)
    assert result.scores["uar"] == pytest.approx(recall_score(
        ["Happy", "Sad", "Angry", "Happy"], ["Happy", "Angry", "Angry", "x"],
        labels=["Angry", "Happy", "Sad"], average="macro", zero_division=0))
    assert result.scores["war"] == pytest.approx(0.5) and result.scores["accuracy"] == pytest.approx(0.5)
    assert result.confusion.shape == (3, 4)


def test_sentiment_drops_neutral_ground_truth_but_keeps_it_in_the_confusion_matrix():
    result = score_benchmark("cmu_mosi", "sentiment", [("Positive",), ("neutral",), ("NEGATIVE",), ("negative",)],
                             ["positive", "positive", "neutral", "it is negative"], ("Positive", "Negative", "Neutral"))
    assert result.scores["dropped_neutral"] == 1 and result.scores["samples"] == 3
    assert result.scores["accuracy"] == pytest.approx(2 / 3)
    assert result.scores["weighted_f1"] == pytest.approx((2 * 2 / 3 + 1) / 3)  # negative 2/3 (support 2), positive 1
    assert result.labels == ("positive", "negative", "neutral")
    np.testing.assert_array_equal(result.confusion, [[1, 0, 0, 0], [0, 1, 1, 0], [1, 0, 0, 0]])


def test_multi_label_splits_the_answer_span():
    result = score_benchmark("mafw_multi", "multi_label", [("Happiness", "surprise"), ("fear",)],
                             ["<think>maybe anger</think><answer>happiness; joy</answer>", "fear, surprise"], None)
    # TP 2 (happiness, fear), FP 1 (surprise in sample 2; joy is outside the vocabulary), FN 1 (surprise)
    assert result.scores["micro_f1"] == pytest.approx(2 / 3)
    assert result.scores["samples_f1"] == pytest.approx(2 / 3) and result.scores["jaccard"] == pytest.approx(0.5)
    assert result.confusion is None


@pytest.fixture
def wheels(tmp_path):
    path = tmp_path / "wheels.csv"
    path.write_text("wheel,word,level1\nw1,joy,happy\nw1,sorrow,sad\nw2,happy,positive\nw2,sad,negative\n"
                    "w2,sorrow,negative\n", encoding="utf-8")
    return EmotionWheels.from_files(path)


HIT_TRUTH = [("happy",), ("sad",), ("neutral",)]
HIT_RESPONSES = ["happy, sorrow", "joy", "happy"]


def test_hit_rate_family_gives_closed_set_numbers_without_tables_and_the_hit_rate_with_them(wheels):
    labels = ("happy", "sad", "neutral")
    plain = score_benchmark("mer2023", "hit_rate", HIT_TRUTH, HIT_RESPONSES, labels)
    assert plain.scores["accuracy"] == pytest.approx(1 / 3)  # every response reads as happy
    assert plain.scores["weighted_f1"] == pytest.approx(0.5 / 3)  # happy P 1/3 R 1 -> 0.5; sad, neutral 0
    assert "hit_rate" not in plain.scores
    np.testing.assert_array_equal(plain.confusion, [[1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]])

    # w1: {happy}/{happy, sad} 1, {sad}/{happy} 0, neutral skipped; w2: {positive}/{positive, negative} 1,
    # {negative}/{} 0 (joy is not in w2)
    scored = score_benchmark("mer2023", "hit_rate", HIT_TRUTH, HIT_RESPONSES, labels, wheels)
    assert scored.scores["hit_rate"] == pytest.approx(0.5)
    assert scored.scores["hit_rate@w1"] == pytest.approx(0.5) and scored.scores["hit_rate@w2"] == pytest.approx(0.5)
    assert scored.scores["hit_rate_samples"] == 2 and scored.scores["hit_rate_skipped"] == 1
    assert scored.scores["accuracy"] == pytest.approx(1 / 3) and scored.scores["samples"] == 3

    with pytest.raises(ValueError, match="label list or the --wheel tables"):
        score_benchmark("x", "hit_rate", HIT_TRUTH, HIT_RESPONSES, None)


def test_open_vocabulary_needs_the_wheel_tables(wheels):
    truth, responses = [("joy", "sad"), ("happy",)], ["<answer>sorrow</answer>", "sad"]
    with pytest.raises(ValueError, match="--wheel"):
        score_benchmark("ov_merd+", "open_vocabulary", truth, responses, None)
    result = score_benchmark("ov_merd+", "open_vocabulary", truth, responses, None, wheels)
    reference = open_vocabulary_f(truth, responses, wheels)
    # w1: {happy, sad}/{sad} P 1 R 1/2; {happy}/{sad} 0 0 -> P 1/2 R 1/4 F 1/3.
    # w2 (joy is no w2 word): {negative}/{negative} 1 1; {positive}/{negative} 0 0 -> P 1/2 R 1/2 F 1/2
    assert result.scores["f_score"] == pytest.approx((1 / 3 + 1 / 2) / 2) == reference["f_score"]
    assert result.scores["precision"] == pytest.approx(0.5) and result.scores["recall"] == pytest.approx(0.375)
    assert result.scores["f_score@w1"] == pytest.approx(1 / 3) and result.scores["recall@w2"] == pytest.approx(0.5)
    assert result.scores["ov_samples"] == 2 and result.scores["ov_skipped"] == 0
    assert result.confusion is None and result.labels is None


def test_bad_calls_raise():
    with pytest.raises(ValueError, match="unknown metric family"):
        score_benchmark("x", "bleu", TRUTH, RESPONSES, LABELS)
    with pytest.raises(ValueError, match="needs the benchmark's label list"):
        score_benchmark("x", "single", TRUTH, RESPONSES, None)
    with pytest.raises(ValueError, match="4 ground-truth items but 1 responses"):
        score_benchmark("x", "single", TRUTH, RESPONSES[:1], LABELS)
    with pytest.raises(ValueError, match="sample 0 has no ground-truth label"):
        score_benchmark("x", "single", [()], ["happy"], LABELS)


def test_write_report_writes_json_markdown_and_a_png(tmp_path):
    single = score_benchmark("caer+test", "single", TRUTH, RESPONSES, LABELS)
    open_set = BenchmarkResult("ov_merd+", "open_vocabulary", {"f_score": math.nan, "ov_samples": 0}, samples=3)
    paths = write_report([single, open_set], tmp_path / "out", title="My run", meta={"model": "tiny", "steps": 800})

    assert set(paths) == {"json", "markdown", "confusion_caer+test"}
    png = paths["confusion_caer+test"]
    assert png.name == "confusion_caer_test.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    image = matplotlib.image.imread(png)
    assert image.ndim == 3 and image.shape[2] == 4 and image.shape[0] >= 200 and image.shape[1] >= 200

    report = json.loads(paths["json"].read_text(encoding="utf-8"))  # strict JSON: NaN was written as null
    assert report["title"] == "My run" and report["meta"] == {"model": "tiny", "steps": 800}
    caer = report["benchmarks"]["caer+test"]
    assert caer["family"] == "single" and caer["samples"] == 4 and caer["labels"] == list(LABELS)
    assert caer["scores"]["accuracy"] == 0.5 and caer["confusion"] == [[1, 0, 0, 1], [0, 0, 1, 0], [0, 0, 1, 0]]
    assert caer["confusion_png"] == "confusion_caer_test.png"
    assert report["benchmarks"]["ov_merd+"]["scores"] == {"f_score": None, "ov_samples": 0}
    assert report["benchmarks"]["ov_merd+"]["confusion"] is None

    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert markdown.startswith("# My run\n") and "- model: tiny" in markdown
    assert "| benchmark | family | samples | metrics | confusion |" in markdown
    assert "| caer+test | single | 4 | accuracy 0.5000, weighted_f1 0.5000, samples 4 | " \
           "[png](confusion_caer_test.png) |" in markdown
    assert "| ov_merd+ | open_vocabulary | 3 | f_score n/a, ov_samples 0 | - |" in markdown
    assert not list((tmp_path / "out").glob("confusion_ov*"))

    with pytest.raises(ValueError, match="clash"):
        write_report([single, BenchmarkResult("caer_test", "single", {}, LABELS, single.confusion, 4)], tmp_path)


def test_ground_truth_word_forms_are_read_onto_the_label_list():
    """MELD's label column says "sadness" and "joy"; its prompt offers "sad" and "joy"."""
    labels = ("anger", "disgust", "fear", "joy", "neutral", "sad", "surprise")
    result = score_benchmark("meld_emotion", "hit_rate", [("sadness",), ("joy",), ("Neutral",)],
                             ["sad", "joy", "anger"], labels)
    assert result.scores["accuracy"] == pytest.approx(2 / 3)
    assert result.confusion[labels.index("sad"), labels.index("sad")] == 1
