"""`emotion-ros bench`: the runtime on a media file, per backend, as JSON.

For each backend it plays the file (decoding included) through the same SensorInput and
EmotionEstimator the node uses, with the node's window and face settings (config/emotion.yaml),
as fast as possible; like the node, it encodes each frame the window buffers keep as it arrives
(a face reader finds faces at faces.detection_rate and follows them on the frames between). It
reports:
- frames read per second, per-frame encoding on arrival (frames where faces were found, and
  frames where they were followed), and per-stride latency p50/p99 (estimating one window whose
  frames are cached),
- full-window latency (encoding all T picked frames again) and the incremental speed-up,
- the frame path's load: CPU seconds of frame encoding per second of media,
- the sustained real-time factor (media seconds per wall second, decoding included),
- windows a real-time node would drop: the measured latencies replayed on the real-time
  schedule of the window ends, with the node's one-slot mailbox (a window waiting when a
  newer one arrives is dropped),
- peak RSS: each backend runs in a process of its own, so each has its own peak.
With explanations (explain_rate > 0) each backend plays the file twice in real time (items fed
at their media time, as a camera delivers them), without explanations and then with them in
every other block of explain_block s: every 1 / explain_rate s of media time in those blocks
the newest window's main person is explained on a thread of its own with a one-slot mailbox
at background priority, as the node's explanation worker does, each decoding exactly
explain_tokens greedy tokens (no stop token, as `bench-explain` does, so times compare like
for like). It reports the explanations' latency, and the stride latency of that run's blocks
with explanations on against its blocks with them off: one process and the same minutes, so
a machine's drift between runs (p99 moved between 72 and 126 ms from run to run here) does
not enter the ratio.
Targets (for `tiny` on a 2-core CPU with ONNX Runtime) are checked as ratios measured in
this run; shared machines are noisy, so read them as a trend, not a guarantee.
"""

from __future__ import annotations

import multiprocessing
import resource
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from emotion_ros.io.media import VideoFrame, probe, read_media
from emotion_ros.model.generation import GenerationConfig, generate
from emotion_ros.runtime.backends import create_backend
from emotion_ros.runtime.estimator import EmotionEstimator
from emotion_ros.runtime.explainer import stated_facts, their_words
from emotion_ros.runtime.latest_worker import LatestWorker
from emotion_ros.runtime.people import main_person_view
from emotion_ros.window.config import emotion_node_parameters, emotion_node_window
from emotion_ros.window.sensor_input import SensorInput


def simulate_drops(ends: list[float], latencies: list[float], max_latency: float) -> int:
    """Windows a real-time node drops: window i is ready at ends[i] + max_latency and takes
    latencies[i]; the worker takes the newest ready window when it becomes free."""
    dropped, free_at, pending = 0, float("-inf"), None
    for ready, latency in zip((e + max_latency for e in ends), latencies):
        if pending is not None:
            if free_at <= ready:  # the worker got to the pending window before this one arrived
                free_at = max(free_at, pending[0]) + pending[1]
            else:
                dropped += 1  # replaced in the mailbox
            pending = None
        if free_at <= ready:
            free_at = ready + latency
        else:
            pending = (ready, latency)
    return dropped


def _percentile_ms(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)) * 1000, 2)


class _TimedEncoder:
    """The backend, with the time spent in encode_frames recorded per call."""

    def __init__(self, backend):
        self._backend, self.calls = backend, []

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def encode_frames(self, frames):
        started = time.perf_counter()
        features = self._backend.encode_frames(frames)
        self.calls.append(time.perf_counter() - started)
        return features


class _Explanations:
    """Periodic explanations on a thread of their own, as the node makes them: every 1 / rate s
    of media time the newest window is submitted to a one-slot mailbox (a request waiting when
    a newer one comes is dropped); each decodes exactly ``tokens`` greedy tokens. They run in
    every other ``block`` s of media time only (blocks 1, 3, 5, ...), so one run holds windows
    perceived with explanations on and off under the same machine conditions."""

    def __init__(self, backend, rate: float, tokens: int, block: float):
        self.backend, self.period, self.block = backend, 1.0 / rate, block
        self.config = GenerationConfig(max_new_tokens=tokens)  # no stop token: always ``tokens``
        self.seconds: list[float] = []
        self.decoding: list[tuple[float, float]] = []  # perf_counter spans of each explanation
        self.errors: list[str] = []
        self.worker = LatestWorker(self._explain, "explanations", on_error=lambda _, exc: self.errors.append(repr(exc)),
                                   background=True).start()
        self._next = 0.0

    def on(self, t_end: float) -> bool:
        """Whether explanations run in the block of media time ``t_end`` [s] falls in."""
        return int(t_end // self.block) % 2 == 1

    def offer(self, estimate, contexts) -> None:
        if self.on(estimate.t_end) and estimate.t_end >= self._next:
            self._next = estimate.t_end + self.period
            self.worker.submit((estimate, contexts))

    def _explain(self, item) -> None:
        estimate, contexts = item
        started = time.perf_counter()
        try:
            prompt = self.backend.prompt(contexts.main, "", their_words(estimate), stated_facts(estimate, None))
            generate(self.backend._stepper(), prompt.embeds, prompt.mask, self.config)
        finally:
            self.decoding.append((started, time.perf_counter()))
        self.seconds.append(self.decoding[-1][1] - started)

    def decoding_during(self, start: float, end: float) -> bool:
        return any(a < end and b > start for a, b in self.decoding)

    def report(self, spans: list[tuple[float, float, float]]) -> dict:
        """After the stream: waits for the explanation in progress, then its numbers, with the
        stride latency of the windows (perf_counter start and end, media t_end) of blocks with
        explanations on, and of blocks with them off during which none was still decoding."""
        self.worker.wait_idle(60.0)
        self.worker.stop()
        steady = spans[1:] or spans  # the first window fills the cache
        on = [b - a for a, b, t in steady if self.on(t)]
        off = [b - a for a, b, t in steady if not self.on(t) and not self.decoding_during(a, b)]
        latency = lambda values: {"windows": len(values), "p50": _percentile_ms(values, 50),  # noqa: E731
                                  "p99": _percentile_ms(values, 99)} if values else None
        return {"made": len(self.seconds), "dropped": self.worker.dropped, "errors": self.errors,
                "new_tokens": self.config.max_new_tokens, "block_s": self.block,
                "seconds_p50": round(statistics.median(self.seconds), 3) if self.seconds else None,
                "seconds_max": round(max(self.seconds), 3) if self.seconds else None,
                "stride_latency_ms_blocks_on": latency(on), "stride_latency_ms_blocks_off": latency(off)}


def run_backend(name: str, model: str, clip: Path, threads: int, real_time: bool = False, explain_rate: float = 0.0,
                explain_tokens: int = 40, explain_block: float = 10.0) -> dict:
    """One backend on ``clip``: as fast as possible, or at the media's own pace (``real_time``),
    with periodic explanations in alternate blocks of ``explain_block`` s when ``explain_rate``
    [Hz] > 0 (see the module docstring)."""
    backend = create_backend(name, model, threads, allow_untrained=True)  # timing: any weights
    explanations = (_Explanations(backend, explain_rate, explain_tokens, explain_block)
                    if explain_rate > 0 and backend.can_explain else None)
    node = emotion_node_window()
    config = replace(node, duration=backend.window, num_frames=backend.num_frames, sample_rate=backend.sample_rate)
    timed = _TimedEncoder(backend)
    estimator = EmotionEstimator(timed, detection_rate=emotion_node_parameters()["faces"]["detection_rate"])
    on_arrival, found, followed = [], [], []  # [s] encoding each frame as it arrives, as the node's frame worker does

    def prefill(stamp, rgb, timeline=0):
        detected = estimator.follower.detected if estimator.follower else 0
        t0 = time.perf_counter()
        estimator.prefill(stamp, rgb, timeline)
        on_arrival.append(time.perf_counter() - t0)
        if estimator.follower:
            (found if estimator.follower.detected > detected else followed).append(on_arrival[-1])

    sensor_input = SensorInput(config, frame_size=backend.frame_size, on_frame=prefill)
    latencies, spans, full, ends, encode_new, encode_all = [], [], [], [], [], []
    started = time.perf_counter()
    media_seconds = 0.0
    for item in read_media(str(clip), chunk=0.1):
        if real_time and item.stamp is not None:  # as a camera and microphone deliver it
            time.sleep(max(0.0, started + item.stamp - time.perf_counter()))
        if isinstance(item, VideoFrame):
            windows = sensor_input.frame(item.stamp, item.rgb)
            media_seconds = max(media_seconds, item.stamp)
        else:
            windows = sensor_input.pcm(item)
        for window in windows:
            timed.calls.clear()
            t0 = time.perf_counter()
            estimate, contexts = estimator.estimate(window)
            spans.append((t0, time.perf_counter(), window.t_end))
            latencies.append(spans[-1][1] - t0)
            encode_new.append(sum(timed.calls))
            ends.append(window.t_end)
            if explanations is not None:
                explanations.offer(estimate, contexts)
            elif window.video_present and len(full) < 30 and not real_time:
                t0 = time.perf_counter()
                # one frame per call, as frames arrive in the node (a batch of all T frames would
                # also grow the runtime's memory arena far beyond what the node ever uses)
                features = np.concatenate([backend.encode_frames(frame[None]) for frame in window.frames])
                encode_all.append(time.perf_counter() - t0)
                view = main_person_view(features, backend.reads_faces, window.frame_mask)
                backend.perceive(view, window.frames[-1], window.audio, True, window.audio_present)
                full.append(time.perf_counter() - t0)
    wall = time.perf_counter() - started
    explained = explanations.report(spans) if explanations is not None else None
    steady = latencies[1:] or latencies  # the first window fills the cache
    strides = max(media_seconds / config.stride, 1e-9)
    per_stride = sum(on_arrival) / strides  # [s] encoding on arrival, per stride of media
    return {
        "backend": backend.name,
        "model_id": backend.model_id,
        "windows": len(latencies),
        "stride_latency_ms": {"p50": _percentile_ms(steady, 50), "p99": _percentile_ms(steady, 99), "max": _percentile_ms(steady, 100)},
        "full_window_latency_ms": {"p50": _percentile_ms(full, 50)} if full else None,
        "incremental_stride_speedup": round(statistics.median(full) / statistics.median(steady), 2) if full else None,
        "frames_read_per_second": round(len(on_arrival) / max(media_seconds, 1e-9), 2),
        "frame_encoding_ms": {"on_arrival_per_frame_p50": _percentile_ms(on_arrival, 50) if on_arrival else None,
                              "faces_found_p50": _percentile_ms(found, 50) if found else None,
                              "faces_followed_p50": _percentile_ms(followed, 50) if followed else None,
                              "on_arrival_per_stride_mean": round(per_stride * 1000, 2),
                              "at_window_time_p50": _percentile_ms(encode_new[1:] or encode_new, 50),
                              "all_frames_p50": _percentile_ms(encode_all, 50) if encode_all else None},
        # CPU seconds of frame encoding per second of media: what reading the camera costs.
        "frame_path_load": round(per_stride / config.stride, 3),
        "frames_encoded_on_arrival": estimator.cache.prefilled,
        "frames_with_faces_found_followed": [len(found), len(followed)] if estimator.follower else None,
        "followed_faces_lost": estimator.follower.lost if estimator.follower else None,
        "incremental_encoding_speedup": (round(statistics.median(encode_all) / per_stride, 2)
                                         if encode_all and per_stride else None),
        "real_time_factor": round(media_seconds / wall, 2),
        "dropped_windows_real_time": simulate_drops(ends, latencies, config.max_latency),
        "frame_cache": {"hits": estimator.cache.hits, "misses": estimator.cache.misses},
        "real_time": real_time,
        "explanations": explained,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),  # Linux: KiB
    }


def _in_own_process(*args, **kwargs) -> dict:
    """run_backend in a fresh process: its peak RSS is that backend's alone, and no backend's
    threads or memory arenas are left behind for the next one."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(run_backend, *args, **kwargs).result()


def benchmark_runtime(clip: Path, model: str = "tiny", backends: tuple[str, ...] = ("onnxruntime", "torch"), threads: int = 0,
                      explain_rate: float = 0.0, explain_tokens: int = 40, explain_block: float = 10.0) -> dict:
    info = probe(str(clip))
    explaining = explain_rate > 0
    results = {name: _in_own_process(name, model, clip, threads, real_time=explaining) for name in backends}
    with_explanations = {name: _in_own_process(name, model, clip, threads, True, explain_rate, explain_tokens, explain_block)
                         for name in backends} if explaining else {}
    config = emotion_node_window()
    report = {
        "clip": {"path": str(clip), "seconds": round(info.duration, 2), "fps": info.fps, "size": [info.width, info.height]},
        "stride_s": config.stride,
        "backends": results,
    }
    if explaining:
        report["explain_rate_hz"] = explain_rate
        report["with_explanations"] = with_explanations
    ort_result = results.get("onnxruntime")
    torch_result = results.get("torch")
    targets = {}
    if ort_result:
        targets["p99_under_100_ms"] = _target(ort_result["stride_latency_ms"]["p99"], "<", 100)
        fps = min(info.fps or config.max_frame_rate, config.max_frame_rate)
        targets["every_frame_read"] = _target(ort_result["frames_read_per_second"], ">=", round(0.99 * fps, 2))
        targets["frame_path_under_0.4_of_a_core"] = _target(ort_result["frame_path_load"], "<", 0.4)
        targets["no_dropped_windows"] = _target(ort_result["dropped_windows_real_time"], "==", 0)
        if torch_result:
            ratio = round(torch_result["stride_latency_ms"]["p50"] / ort_result["stride_latency_ms"]["p50"], 2)
            targets["onnxruntime_vs_torch"] = _target(ratio, ">=", 1.5)
    ort_explaining = with_explanations.get("onnxruntime")
    if ort_explaining:
        blocks = ort_explaining["explanations"]
        on, off = blocks["stride_latency_ms_blocks_on"], blocks["stride_latency_ms_blocks_off"]
        ratio = round(on["p99"] / max(off["p99"], 1e-9), 2) if on and off else None  # the same run: the same conditions
        targets["stride_p99_with_explanations_within_10_percent"] = _target(ratio, "<=", 1.1)
        targets[f"explanation_{explain_tokens}_tokens_p50_under_1.5_s"] = _target(
            ort_explaining["explanations"]["seconds_p50"], "<=", 1.5)
    for name in backends:  # the node's whole memory, explanations included when they run
        peak = (with_explanations.get(name) or results[name])["peak_rss_mib"]
        targets[f"peak_rss_under_1_gib_{name}"] = _target(peak, "<=", 1024)
    report["targets"] = targets
    return report


def _target(value, op: str, threshold) -> dict:
    checks = {"<": lambda: value < threshold, "<=": lambda: value <= threshold, ">=": lambda: value >= threshold,
              "==": lambda: value == threshold}
    passed = value is not None and checks[op]()
    return {"value": value, "target": f"{op} {threshold}", "pass": bool(passed)}
