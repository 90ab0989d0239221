"""The published scoring rules, against values worked out by hand."""

import numpy as np
import pytest

from emotion_ros.eval.metrics import confusion, multi_label, sentiment_without_neutral, single_label, split_labels, uar_war


def test_single_label_accuracy_and_weighted_f1_with_an_unreadable_prediction():
    scores = single_label(["a", "a", "b", "c"], ["a", "b", "b", None])
    # F1: a 2/3 (P 1, R 1/2), b 2/3 (P 1/2, R 1), c 0; weights 2:1:1
    assert scores["accuracy"] == pytest.approx(0.5)
    assert scores["weighted_f1"] == pytest.approx((2 * 2 / 3 + 2 / 3 + 0) / 4)


def test_a_predicted_class_absent_from_the_ground_truth_only_costs_recall():
    scores = single_label(["a", "a"], ["a", "z"])
    assert scores["accuracy"] == pytest.approx(0.5) and scores["weighted_f1"] == pytest.approx(2 / 3)


def test_uar_averages_recall_over_ground_truth_classes():
    scores = uar_war(["a", "a", "a", "b"], ["a", "a", "b", "b"])
    assert scores["uar"] == pytest.approx((2 / 3 + 1) / 2) and scores["war"] == pytest.approx(0.75)


def test_sentiment_drops_neutral_ground_truth_but_not_neutral_predictions():
    scores = sentiment_without_neutral(["Positive", "Neutral", "Negative", "Negative"],
                                       ["positive", "positive", "neutral", "negative"])
    assert scores["dropped_neutral"] == 1 and scores["samples"] == 3
    assert scores["accuracy"] == pytest.approx(2 / 3)
    assert scores["weighted_f1"] == pytest.approx((2 * 2 / 3 + 1) / 3)  # negative 2/3 (support 2), positive 1
    with pytest.raises(ValueError, match="every ground-truth label is neutral"):
        sentiment_without_neutral(["neutral"], ["positive"])


def test_multi_label_ignores_predictions_outside_the_ground_truth_vocabulary():
    assert split_labels(" Happiness; surprise,fear ") == ["happiness", "surprise", "fear"]
    scores = multi_label(["happiness, surprise", "fear"], ["happiness; joy", ""])
    assert scores["micro_f1"] == pytest.approx(0.5)  # TP 1, FP 0 (joy ignored), FN 2
    assert scores["samples_f1"] == pytest.approx((2 / 3 + 0) / 2)  # an empty prediction scores 0
    assert scores["jaccard"] == pytest.approx((1 / 2 + 0) / 2)
    assert multi_label([["Fear"]], [None])["micro_f1"] == 0.0


def test_confusion_counts_and_bad_input():
    matrix = confusion(["a", "a", "b"], ["a", None, "a"], ["a", "b"])
    np.testing.assert_array_equal(matrix, [[1, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match="2 ground-truth labels but 1 predictions"):
        single_label(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no samples"):
        uar_war([], [])
