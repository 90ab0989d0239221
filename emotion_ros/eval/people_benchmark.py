"""`emotion-ros bench-people`: what each person in view costs, as JSON.

Plays generated 640 x 480, 30 fps streams with 1, 2 and 4 people (people_clip.py: copies of
the real astronaut face, walking slowly) through the node's SensorInput and EmotionEstimator with
its window and face settings, frames encoded on arrival as the node's frame worker does. The
frames are made before the clock starts, so only the pipeline is timed. Per people count it
reports the cost of a frame (found / followed), the time in the tracker and its share of the frame
cost, stride latency (one perception per person), the frame path's load, the real-time factor of
the whole pipeline on one thread, and the windows a real-time node would drop. Ratios are
measured in one run; shared machines are noisy.
"""

from __future__ import annotations

import time
from dataclasses import replace

from emotion_ros.samples.people_clip import Walk, people_clip
from emotion_ros.eval.runtime_benchmark import _percentile_ms, _target, simulate_drops
from emotion_ros.runtime.backends import create_backend
from emotion_ros.runtime.estimator import EmotionEstimator
from emotion_ros.window.config import emotion_node_parameters, emotion_node_window
from emotion_ros.window.sensor_input import SensorInput

# Where each of up to four people stands (face centre, fractions of the frame); they drift
# sideways by 0.1 of the frame over the clip. Rows far enough apart that no head covers a face.
PLACES = ((0.28, 0.27), (0.72, 0.72), (0.72, 0.27), (0.28, 0.72))


def standing_people(count: int, duration: float) -> tuple[Walk, ...]:
    return tuple(Walk(f"person {i}", ((0.0, duration),), (x - 0.05, y), (x + 0.05, y), width=0.11)
                 for i, (x, y) in enumerate(PLACES[:count]))


class _TimedTracker:
    """A PersonTracker with the time of each update recorded."""

    def __init__(self, tracker):
        self._tracker, self.seconds = tracker, 0.0

    def __getattr__(self, name):
        return getattr(self._tracker, name)

    def update(self, *args):
        started = time.perf_counter()
        ids = self._tracker.update(*args)
        self.seconds += time.perf_counter() - started
        return ids


def run_people(backend, count: int, duration: float, fps: float) -> dict:
    node = emotion_node_window()
    config = replace(node, duration=backend.window, num_frames=backend.num_frames, sample_rate=backend.sample_rate)
    faces = emotion_node_parameters()["faces"]
    estimator = EmotionEstimator(backend, detection_rate=faces["detection_rate"])
    tracker = estimator.follower.tracker = _TimedTracker(estimator.follower.tracker)
    frames = list(people_clip(fps=fps, duration=duration, script=standing_people(count, duration)))
    on_arrival, found, followed = [], [], []

    def prefill(stamp, rgb, timeline=0):
        detected = estimator.follower.detected
        t0 = time.perf_counter()
        estimator.prefill(stamp, rgb, timeline)
        on_arrival.append(time.perf_counter() - t0)
        (found if estimator.follower.detected > detected else followed).append(on_arrival[-1])

    sensor_input = SensorInput(config, frame_size=backend.frame_size, on_frame=prefill)
    latencies, ends, people = [], [], []
    started = time.perf_counter()
    for frame in frames:
        for window in sensor_input.frame(frame.stamp, frame.rgb):
            t0 = time.perf_counter()
            estimate, _ = estimator.estimate(window)
            latencies.append(time.perf_counter() - t0)
            ends.append(window.t_end)
            people.append(len(estimate.people))
    wall = time.perf_counter() - started
    sensor_input.close()
    steady = latencies[1:] or latencies
    frame_seconds = sum(on_arrival)
    return {
        "people": count,
        "windows": len(latencies),
        "people_per_window": {"min": min(people), "max": max(people)} if people else None,
        "ids_given": estimator.follower.tracker.total_ids,
        "frame_ms": {"mean": round(frame_seconds / len(on_arrival) * 1000, 2),
                     "faces_found_p50": _percentile_ms(found, 50) if found else None,
                     "faces_followed_p50": _percentile_ms(followed, 50) if followed else None},
        "tracking_ms_per_frame": round(tracker.seconds / len(on_arrival) * 1000, 3),
        "tracking_share_of_frame_cost": round(tracker.seconds / frame_seconds, 4),
        "stride_latency_ms": {"p50": _percentile_ms(steady, 50), "p99": _percentile_ms(steady, 99)},
        "frame_path_load": round(frame_seconds / duration, 3),
        "real_time_factor": round(duration / wall, 2),
        "dropped_windows_real_time": simulate_drops(ends, latencies, config.max_latency),
    }


def benchmark_people(model: str = "tiny", backend_name: str = "onnxruntime", counts: tuple[int, ...] = (1, 2, 4),
                     duration: float = 10.0, fps: float = 30.0, threads: int = 0) -> dict:
    backend = create_backend(backend_name, model, threads, allow_untrained=True)  # timing: any weights
    results = {str(count): run_people(backend, count, duration, fps) for count in counts}
    report = {"backend": backend.name, "model_id": backend.model_id, "clip": {"seconds": duration, "fps": fps, "size": [640, 480]},
              "people": results}
    targets = {}
    for key, result in results.items():
        targets[f"tracking_under_5_percent_{key}_people"] = _target(result["tracking_share_of_frame_cost"], "<", 0.05)
    most = results[str(max(counts))]
    targets[f"keeps_up_with_{max(counts)}_people"] = _target(most["real_time_factor"], ">=", 1.0)
    targets[f"no_dropped_windows_{max(counts)}_people"] = _target(most["dropped_windows_real_time"], "==", 0)
    if "1" in results:
        report["frame_cost_vs_one_person"] = {key: round(r["frame_ms"]["mean"] / results["1"]["frame_ms"]["mean"], 2)
                                              for key, r in results.items()}
    report["targets"] = targets
    return report
