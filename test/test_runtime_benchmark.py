"""The runtime benchmark's bookkeeping (its timings are reported, never asserted)."""

from emotion_ros.eval.runtime_benchmark import benchmark_runtime, simulate_drops


def test_drop_simulation_follows_the_one_slot_mailbox():
    ends = [0.0, 0.5, 1.0, 1.5, 2.0]
    assert simulate_drops(ends, [0.1] * 5, max_latency=0.15) == 0  # always done before the next window
    # 1.2 s per window: window 1 waits, window 2 replaces it (drop), window 3 replaces 2 (drop) ...
    assert simulate_drops(ends, [1.2] * 5, max_latency=0.15) == 2
    # One slow window delays the next, which still runs (it waited alone): no drop.
    assert simulate_drops(ends, [0.1, 0.7, 0.1, 0.1, 0.1], max_latency=0.15) == 0


def test_benchmark_report_covers_backends_targets_and_the_cache(sample_clip):
    report = benchmark_runtime(sample_clip, backends=("onnxruntime", "torch"), threads=2)
    for name in ("onnxruntime", "torch"):
        result = report["backends"][name]
        # A 4 s clip, as a live node sees it: windows ending 2.0 .. 3.5 s (4.0 + max_latency is past the end).
        assert result["backend"] == name and result["windows"] == 4
        # The first window encodes its 4 frames, each later one only its 1 new frame.
        assert result["frame_cache"]["misses"] == 4 + 1 * 3
        assert result["stride_latency_ms"]["p50"] > 0 and result["real_time_factor"] > 0
    assert set(report["targets"]) == {"p99_under_half_stride", "incremental_encoding_speedup", "no_dropped_windows",
                                      "onnxruntime_vs_torch", "peak_rss_under_1_gib"}
    assert all(isinstance(t["pass"], bool) for t in report["targets"].values())
