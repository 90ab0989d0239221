"""The runtime benchmark's bookkeeping (its timings are reported, never asserted)."""

import pytest

from emotion_ros.eval.runtime_benchmark import benchmark_runtime, simulate_drops


def test_drop_simulation_follows_the_one_slot_mailbox():
    ends = [0.0, 0.5, 1.0, 1.5, 2.0]
    assert simulate_drops(ends, [0.1] * 5, max_latency=0.15) == 0  # always done before the next window
    # 1.2 s per window: window 1 waits, window 2 replaces it (drop), window 3 replaces 2 (drop) ...
    assert simulate_drops(ends, [1.2] * 5, max_latency=0.15) == 2
    # One slow window delays the next, which still runs (it waited alone): no drop.
    assert simulate_drops(ends, [0.1, 0.7, 0.1, 0.1, 0.1], max_latency=0.15) == 0


@pytest.mark.slow
def test_benchmark_report_covers_backends_targets_and_the_cache(sample_clip):
    report = benchmark_runtime(sample_clip, backends=("onnxruntime", "torch"), threads=2)
    for name in ("onnxruntime", "torch"):
        result = report["backends"][name]
        # A 4 s clip, as a live node sees it: windows ending 2.0 .. 3.5 s (4.0 + max_latency is past the end).
        assert result["backend"] == name and result["windows"] == 4
        # Every frame of the 25 fps clip is encoded as it arrives (faces found in one of 2.5),
        # so windows find them cached: none is encoded twice.
        assert result["frames_encoded_on_arrival"] > 0 and result["frames_read_per_second"] > 24
        assert result["frame_cache"]["misses"] + result["frames_encoded_on_arrival"] <= 25 * 4.2 + 1
        found, followed = result["frames_with_faces_found_followed"]
        assert found + followed == result["frames_encoded_on_arrival"] and 0.3 < found / (found + followed) < 0.5
        assert result["stride_latency_ms"]["p50"] > 0 and result["real_time_factor"] > 0
        assert result["explanations"] is None and result["peak_rss_mib"] > 100  # its own process: a model loaded
    assert set(report["targets"]) == {"p99_under_100_ms", "every_frame_read", "frame_path_under_0.4_of_a_core", "no_dropped_windows",
                                      "onnxruntime_vs_torch", "peak_rss_under_1_gib_onnxruntime", "peak_rss_under_1_gib_torch"}
    assert all(isinstance(t["pass"], bool) for t in report["targets"].values())
    assert "with_explanations" not in report


def test_with_explanations_both_runs_keep_the_media_pace_and_explanations_decode_beside_perception(sample_clip):
    report = benchmark_runtime(sample_clip, backends=("onnxruntime",), threads=2, explain_rate=2.0, explain_tokens=4,
                               explain_block=1.0)
    without, explaining = report["backends"]["onnxruntime"], report["with_explanations"]["onnxruntime"]
    for result in (without, explaining):
        # fed at the clip's pace: a 4 s clip takes about 4 s, never much less
        assert result["real_time"] and result["windows"] == 4 and result["real_time_factor"] < 1.2
    made = explaining["explanations"]
    # windows end at 2.0, 2.5 (block 2: off), 3.0 and 3.5 s (block 3: on): requests at 3.0 and 3.5 s only,
    # never lost silently
    assert made["errors"] == [] and made["new_tokens"] == 4 and made["block_s"] == 1.0
    assert made["made"] + made["dropped"] == 2 and made["made"] >= 1 and made["seconds_p50"] > 0
    # the first window fills the cache and is left out; the off block's other one decoded beside nothing
    assert made["stride_latency_ms_blocks_on"]["windows"] == 2 and made["stride_latency_ms_blocks_off"]["windows"] == 1
    assert {"stride_p99_with_explanations_within_10_percent", "explanation_4_tokens_p50_under_1.5_s",
            "peak_rss_under_1_gib_onnxruntime"} <= set(report["targets"])


def test_face_benchmark_reads_every_face_and_skips_a_missing_peer_with_the_reason(tiny_checkpoint, tmp_path):
    from emotion_ros.eval.face_benchmark import benchmark_faces

    report = benchmark_faces(str(tiny_checkpoint), "torch", peer_python=tmp_path / "no-python", repeats=1)
    for case, faces in (("1 face", 1), ("4 faces", 4)):
        ours = report["ours"][case]
        assert ours["faces"] == ours["faces_matched"] == ours["faces_true"] == faces and ours["fps"] > 0
        assert ours["labels"] == ["happy"] * faces
    assert "no peer Python" in report["fer_peer"]["skipped"] and "speedup" not in report


def test_people_benchmark_reads_each_person_and_times_the_tracker(tiny_checkpoint):
    from emotion_ros.eval.people_benchmark import benchmark_people

    report = benchmark_people(str(tiny_checkpoint), "torch", counts=(1, 2), duration=3.0, threads=2)
    for count in (1, 2):
        result = report["people"][str(count)]
        assert result["windows"] == 2 and result["people_per_window"] == {"min": count, "max": count}
        assert result["ids_given"] == count  # one track each, through the whole stream
        assert 0 < result["tracking_share_of_frame_cost"] < 1 and result["frame_ms"]["faces_found_p50"] > 0
    assert set(report["targets"]) == {"tracking_under_5_percent_1_people", "tracking_under_5_percent_2_people",
                                      "keeps_up_with_2_people", "no_dropped_windows_2_people"}


def test_explanation_benchmark_decodes_the_same_tokens_in_every_runtime(tiny_checkpoint):
    from emotion_ros.eval.explain_benchmark import PROMPTS, benchmark_explanations

    report = benchmark_explanations(str(tiny_checkpoint), threads=2, tokens=3)
    assert set(report["runtimes"]) == {"onnxruntime", "onnxruntime_fp32", "torch", "transformers"}
    assert report["prompts"] == len(PROMPTS) and all(r["tokens_per_second"] > 0 for r in report["runtimes"].values())
    # the float32 runtimes decode the same tokens (int8's answers are checked for what they say: test_onnx_backend)
    equal = report["greedy_tokens_equal_torch"]
    assert (equal["onnxruntime_fp32"], equal["torch"], equal["transformers"]) == (True, True, True)
    assert min(report["prompt_tokens"]) > 60  # the chat prompt, with the perception tokens in it
