"""The emotion node: windows of camera and microphone data in, emotion states and explanations out.

Publishes
  emotion/state        EmotionState of the main person (`people.main_person`), one per window
                       (every `stride` seconds of sensor time)
  emotion/people       PersonEmotionArray: every tracked person, one per window
  emotion/event        EmotionState when the main person's debounced label changes (transient
                       local: a late subscriber gets the current state at once)
  emotion/explanation  Explanation, about the newest window at `explanation.rate`
  /diagnostics         sensor input and pipeline health
  /humans/faces/...    REP-155 faces (expression; roi and tracked unless another node publishes
                       faces), when hri_msgs is importable (rep155_faces.py)
Serves
  ~/explain            emotion_msgs/Explain: on-demand questions about the newest window (about
                       the main person, or the person the request names)

Perception runs on its own worker thread and the LLaMA head on another; both take only the
newest work item, so a slow explanation never delays perception and nothing queues up.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from diagnostic_msgs.msg import DiagnosticArray
from emotion_msgs.msg import EmotionState
from emotion_msgs.msg import Explanation as ExplanationMsg
from emotion_msgs.msg import PersonEmotionArray
from emotion_msgs.srv import Explain
from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.task import Future

from emotion_ros.nodes.managed_node import SUCCESS, ManagedNode
from emotion_ros.nodes.parameters import declare, declare_config, read_config
from emotion_ros.nodes.rclpy_api import on_parameters_set
from emotion_ros.nodes.rep155_face_input import Rep155FaceInput
from emotion_ros.nodes.rep155_faces import Rep155Faces, hri_msgs_available
from emotion_ros.nodes.runner import main_for
from emotion_ros.nodes.sensor_subscriptions import (SensorSubscriptions, check_sensor_parameters, declare_sensor_parameters,
                                                    sensor_qos)
from emotion_ros.nodes.throttled_log import ThrottledLog
from emotion_ros.runtime.backends import BACKENDS, create_backend
from emotion_ros.runtime.debounce import LabelDebouncer, MainPersonEvents
from emotion_ros.runtime.diagnostics import perception_status
from emotion_ros.runtime.estimate import ID_SCHEMES, EmotionEstimate, ExplanationContexts, id_prefix
from emotion_ros.runtime.estimator import MAIN_PERSON_POLICIES, EmotionEstimator, StaleWindow
from emotion_ros.runtime.explain_limits import MAX_NEW_TOKENS, ExplainLimits
from emotion_ros.runtime.explainer import explain_person
from emotion_ros.runtime.external_faces import ExternalFaces
from emotion_ros.runtime.face_follower import DEFAULT_DETECTION_RATE
from emotion_ros.runtime.face_publishing import PUBLISH_FACES
from emotion_ros.runtime.person_tracker import DEFAULT_TRACK_TIMEOUT
from emotion_ros.runtime.latency import LatencyStats
from emotion_ros.runtime.latest_worker import LatestWorker
from emotion_ros.runtime.messages import estimate_to_msg, explanation_to_msg, people_to_msg
from emotion_ros.window.config import WindowConfig
from emotion_ros.window.diagnostics import input_status
from emotion_ros.window.sensor_input import SensorInput
from emotion_ros.window.window import Window

MIN_EXPLANATION_RATE = 0.001  # [Hz]: slower periods overflow the timer (1e-300 Hz is an infinite period)
FACE_SOURCES = ("camera", "ros4hri")
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
# The services profile with room for a burst of calls (the default keeps 10: more are lost unanswered).
SERVICE_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


@dataclass
class ExplainRequest:
    estimate: EmotionEstimate
    context: Any
    person_id: str  # who it is about ("" without tracking)
    question: str
    max_new_tokens: int
    reply: Future | None  # set for ~/explain calls; None for the periodic explanation


class PerceptionNode(ManagedNode):
    """Lifecycle: configure loads the model (a missing or corrupt one fails with the reason),
    activate subscribes and starts the workers, deactivate stops them."""

    def __init__(self, **kwargs):
        super().__init__("emotion", **kwargs)
        declare(self, "model", "tiny", "Checkpoint directory, or a preset name (its bundled checkpoint if any).")
        declare(self, "backend", "auto", f"Inference backend: one of {', '.join(BACKENDS)}.")
        declare(self, "allow_untrained", False,
                "Run a preset that has no trained checkpoint on random weights (tests and timing only); otherwise "
                "configure fails and says how to build or give one.")
        declare(self, "threads", 0, "Intra-op threads for the backend; 0 lets it choose.", 0, 64)
        declare(self, "int8", False, "ONNX Runtime: run the export's dynamic int8 graphs (emotion-ros export --profile cpu).")
        declare(self, "force_engine_update", False,
                "TensorRT: rebuild engines whose sidecar does not match this machine or their ONNX, instead of refusing.")
        declare(self, "frame_id", "camera", "frame_id of the published states (the camera's frame).")
        declare_config(self, "window", WindowConfig)
        declare_sensor_parameters(self)
        declare(self, "faces.source", "camera",
                "Where faces come from: camera (found in the image by the model) or ros4hri (another node's REP-155 "
                "faces: /humans/faces/tracked and /humans/faces/<id>/cropped and roi, e.g. hri_face_detect).")
        declare(self, "faces.detection_rate", DEFAULT_DETECTION_RATE,
                "A face-reading model finds faces this often per second of sensor time and follows them on "
                "the frames between, so every frame is read at a bounded cost [Hz].", 0.5, 120.0)
        declare(self, "people.track_timeout", DEFAULT_TRACK_TIMEOUT,
                "A tracked face not found for this long ends its track; if it comes back it gets a new id [s].",
                0.1, 60.0)
        declare(self, "people.main_person", "largest",
                f"Whom emotion/state and emotion/event report: one of {', '.join(MAIN_PERSON_POLICIES)} (the largest "
                "face, the longest tracked, or the one speaking: the voice's person while one person is in view, "
                "else the largest face).")
        declare(self, "people.ids", "unique",
                f"Person ids: one of {', '.join(ID_SCHEMES)} (unique: f, four random letters or digits chosen at "
                "each configure, _ and a count, e.g. fq3k9_1, so ids never repeat across restarts; sequential: "
                "f1, f2, ... from each configure).")
        declare(self, "hri.enabled", True, "Publish REP-155 (ROS4HRI) face topics when hri_msgs is importable.")
        declare(self, "hri.publish_faces", "auto",
                "Also publish /humans/faces/tracked and /humans/faces/<id>/roi: always, never, or auto (while no other "
                "node publishes /humans/faces/tracked, decided again at every window).")
        declare(self, "event.hysteresis", 0.15, "A new label must beat the current one by this probability.", 0.0, 1.0)
        declare(self, "event.min_dwell", 1.0, "... and lead for this long before emotion/event reports it [s].", 0.0, 60.0)
        declare(self, "event.min_confidence", 0.4, "... with at least this probability.", 0.0, 1.0)
        declare(self, "explanation.enabled", True, "Load and run the LLaMA head (explanations and ~/explain).")
        declare(self, "explanation.rate", 0.2, "Periodic explanations per second of wall time, at least "
                f"{MIN_EXPLANATION_RATE:g}; 0 for on demand only.", 0.0, 10.0)
        declare(self, "explanation.max_new_tokens", 48, "Token budget of one explanation.", 1, MAX_NEW_TOKENS)
        declare(self, "diagnostics_period", 1.0, "Period of /diagnostics messages [s].", 0.1, 60.0)
        on_parameters_set(self, self._check_parameter_change, self._apply_parameter_change)
        self.state_listeners: list[Callable[[EmotionState], None]] = []
        self.people_listeners: list[Callable[[PersonEmotionArray], None]] = []
        self.explanation_listeners: list[Callable[[ExplanationMsg], None]] = []
        self.input: SensorInput | None = None
        self.backend = None
        self._throttled = ThrottledLog(self.get_logger().warning)
        self._sensors: SensorSubscriptions | None = None
        self._estimator: EmotionEstimator | None = None
        self._debouncer: LabelDebouncer | None = None
        self._events: MainPersonEvents | None = None
        self._perception_worker: LatestWorker | None = None
        self._frame_worker: LatestWorker | None = None
        self._explanation_worker: LatestWorker | None = None
        self._latest: tuple[EmotionEstimate, ExplanationContexts] | None = None
        self._latest_lock = threading.Lock()
        self._explained_until = float("-inf")
        self._published_timeline = 0
        self.latency = LatencyStats()
        self.explanation_latency = LatencyStats()
        self.counts = {"states": 0, "events": 0, "explanations": 0, "explanations_replaced": 0, "backend_errors": 0,
                       "explanation_errors": 0, "dropped_windows": 0, "skipped_windows": 0}
        self.explain_limits = ExplainLimits()
        self._reported = {"rejected": 0, "backend_errors": 0}
        self._last_error = ""
        self._pubs: dict[str, Any] = {}
        self._rep155: Rep155Faces | None = None
        self._external_faces: ExternalFaces | None = None
        self._face_input: Rep155FaceInput | None = None
        self._service = None
        self._diagnostics_timer = None
        self._explanation_timer = None

    # -- parameters -----------------------------------------------------------------------------
    # These take effect at once; every other parameter shapes what configure built, so it is
    # refused while the node is configured (deactivate, clean up, change, configure again).
    # use_sim_time switches the node's clock (rclpy's TimeSource); its timers run on wall time.
    LIVE_PARAMETERS = ("event.hysteresis", "event.min_dwell", "event.min_confidence", "explanation.rate",
                       "explanation.max_new_tokens", "frame_id", "silent_after", "use_sim_time")

    def _check_parameter_change(self, params) -> SetParametersResult:
        for p in params:
            if p.name == "explanation.rate" and explanation_rate_problem(p.value):
                return SetParametersResult(successful=False, reason=explanation_rate_problem(p.value))
            if p.name not in self.LIVE_PARAMETERS and self.backend is not None:
                return SetParametersResult(
                    successful=False,
                    reason=f"{p.name} is used when the node is configured: deactivate and clean up the node, "
                    "set it, then configure again",
                )
        return SetParametersResult(successful=True)

    def _apply_parameter_change(self, params) -> None:
        new = {p.name: p.value for p in params}  # on Humble this runs before the values are stored
        if self._debouncer is not None:
            self._debouncer.hysteresis = new.get("event.hysteresis", self._debouncer.hysteresis)
            self._debouncer.min_dwell = new.get("event.min_dwell", self._debouncer.min_dwell)
            self._debouncer.min_confidence = new.get("event.min_confidence", self._debouncer.min_confidence)
        if "explanation.rate" in new and self._explanation_worker is not None:
            if self._explanation_timer is not None:
                self.destroy_timer(self._explanation_timer)
                self._explanation_timer = None
            if new["explanation.rate"] > 0:
                self._explanation_timer = self.create_wall_timer(1.0 / new["explanation.rate"], self._periodic_explanation)

    # -- lifecycle ------------------------------------------------------------------------------
    def on_configure(self, state):
        try:
            window = read_config(self, "window", WindowConfig)
        except ValueError as exc:
            return self.fail(str(exc))
        problem = check_sensor_parameters(self) or explanation_rate_problem(self.param("explanation.rate"))
        if problem:
            return self.fail(problem)
        if self.param("faces.source") not in FACE_SOURCES:
            return self.fail(f"faces.source must be one of {', '.join(FACE_SOURCES)}, not {self.param('faces.source')!r}")
        if self.param("faces.source") == "ros4hri" and not hri_msgs_available():
            return self.fail("faces.source ros4hri needs ROS4HRI's hri_msgs, which is not installed "
                             "(apt install ros-$ROS_DISTRO-hri-msgs)")
        if self.param("hri.publish_faces") not in PUBLISH_FACES:
            return self.fail(f"hri.publish_faces must be one of {', '.join(PUBLISH_FACES)}, not {self.param('hri.publish_faces')!r}")
        try:
            backend = create_backend(self.param("backend"), self.param("model"), self.param("threads"),
                                     self.param("force_engine_update"), self.param("int8"), self.param("allow_untrained"))
        except Exception as exc:  # missing/corrupt checkpoint, unknown backend, ...: one clear reason
            return self.fail(f"cannot load model {self.param('model')!r}: {exc}")
        mismatch = [
            f"window.{name} = {mine} but the model takes {theirs}"
            for name, mine, theirs in (
                ("num_frames", window.num_frames, backend.num_frames),
                ("sample_rate", window.sample_rate, backend.sample_rate),
                ("duration", window.duration, backend.window),
            )
            if mine != theirs
        ]
        if mismatch:
            return self.fail("; ".join(mismatch))
        self.backend = backend
        self.input = SensorInput(window, report=self._throttled, frame_size=backend.frame_size, on_frame=self._on_frame)
        self._sensors = SensorSubscriptions(self, self.input, self._on_windows, self._throttled)
        try:
            outside = self.param("faces.source") == "ros4hri" and backend.reads_faces
            self._external_faces = ExternalFaces(backend, lambda: self.input.source_size if self.input else None) \
                if outside else None
            self._estimator = EmotionEstimator(backend, detection_rate=self.param("faces.detection_rate"),
                                               track_timeout=self.param("people.track_timeout"),
                                               main_person=self.param("people.main_person"), faces=self._external_faces,
                                               id_prefix=id_prefix(self.param("people.ids")))
        except ValueError as exc:
            return self.fail(str(exc))
        self._debouncer = LabelDebouncer(
            backend.labels, self.param("event.hysteresis"), self.param("event.min_dwell"), self.param("event.min_confidence")
        )
        self._events = MainPersonEvents(self._debouncer)
        self._published_timeline = 0  # Window.timeline of the newest state published
        self._pubs = {
            "state": self.create_lifecycle_publisher(EmotionState, "emotion/state", RELIABLE),
            "event": self.create_lifecycle_publisher(EmotionState, "emotion/event", LATCHED),
            "people": self.create_lifecycle_publisher(PersonEmotionArray, "emotion/people", RELIABLE),
            "explanation": self.create_lifecycle_publisher(ExplanationMsg, "emotion/explanation", RELIABLE),
            "diagnostics": self.create_lifecycle_publisher(DiagnosticArray, "/diagnostics", 10),
        }
        if self.param("explanation.enabled") and backend.can_explain:
            # From configure to cleanup, so a call in flight when the node deactivates is still
            # answered. Reentrant: every call is taken at once and answered (a newer one
            # supersedes a waiting one), instead of calls queueing in DDS behind the one in
            # progress and being lost.
            self._service = self.create_service(Explain, "~/explain", self._on_explain, qos_profile=SERVICE_QOS,
                                                callback_group=ReentrantCallbackGroup())
        if not backend.trained:
            self.get_logger().warning("running untrained weights (allow_untrained): the states are meaningless")
        self.get_logger().info(f"model {backend.model_id} on the {backend.name} backend, labels {list(backend.labels)}")
        return SUCCESS

    def start(self):
        self._perception_worker = LatestWorker(
            self._perceive, "perception", on_drop=self._window_dropped, on_error=self._worker_error
        ).start()
        # Frames are encoded as they arrive, so a window finds them cached; when this worker
        # falls behind it skips to the newest frame and the window encodes the rest itself.
        self._frame_worker = LatestWorker(self._prefill, "frames", on_error=self._worker_error).start()
        if self.param("explanation.enabled") and self.backend.can_explain:
            self._explanation_worker = LatestWorker(
                self._explain, "explanation", on_drop=self._request_dropped, on_error=self._explanation_error,
                background=True,  # decoding yields the cores to perception
            ).start()
            if self.param("explanation.rate") > 0:
                self._explanation_timer = self.create_wall_timer(1.0 / self.param("explanation.rate"), self._periodic_explanation)
        if self._external_faces is not None:
            self._face_input = Rep155FaceInput(self, self._external_faces, sensor_qos(self), self._reject_face)
        if self.param("hri.enabled") and self.backend.reads_faces and hri_msgs_available():
            self._rep155 = Rep155Faces(self, self.param("hri.publish_faces"))
        self._diagnostics_timer = self.create_wall_timer(self.param("diagnostics_period"), self._publish_diagnostics)
        self._sensors.start()
        return SUCCESS

    def stop(self) -> None:
        if self._sensors is not None:
            self._sensors.stop()
        for timer in (self._diagnostics_timer, self._explanation_timer):
            if timer is not None:
                self.destroy_timer(timer)
        self._diagnostics_timer = self._explanation_timer = None
        workers = (self._frame_worker, self._perception_worker, self._explanation_worker)
        # None first: a request dropped now, or one asked from here on, is told the node deactivated
        self._frame_worker = self._perception_worker = self._explanation_worker = None
        for worker in workers:
            if worker is not None:
                worker.stop()
        if self._rep155 is not None:
            self._rep155.close()
            self._rep155 = None
        if self._face_input is not None:
            self._face_input.close()
            self._face_input = None

    def release(self) -> None:
        if self._service is not None:
            self.destroy_service(self._service)
            self._service = None
        for publisher in self._pubs.values():
            self.destroy_lifecycle_publisher(publisher)
        self._pubs = {}
        if self.input is not None:
            self.input.close()
        self.input = self._sensors = self._estimator = self._external_faces = self.backend = None
        with self._latest_lock:
            self._latest = None

    # -- perception -----------------------------------------------------------------------------
    def _on_windows(self, windows: list[Window]) -> None:
        """Windows one message completed. Several at once (a stream resuming after a gap, the
        end of a file) are all due now: only the newest is perceived, the others are counted as
        skipped; windows replaced while perception is busy are the ones counted as dropped."""
        worker = self._perception_worker
        if worker is not None and windows:
            self.counts["skipped_windows"] += len(windows) - 1
            worker.submit((windows[-1], time.monotonic()))

    def finish_input(self, timeout: float = 10.0) -> int:
        """The end of a finite input (a file played into the node in this process): perceive the
        windows still in the buffers, the last reaching past the end (Window.tail), one after
        another so none is dropped, and let the explanation being generated finish (a language
        model takes a second or more); returns how many windows. Call it from the thread that
        spins the node."""
        worker = self._perception_worker
        if self.input is None or worker is None:
            return 0
        windows = self.input.flush(tail=True)
        for window in windows:
            worker.wait_idle(timeout)
            worker.submit((window, time.monotonic()))
        worker.wait_idle(timeout)
        if self._explanation_worker is not None:
            self._explanation_worker.wait_idle(3 * timeout)
        return len(windows)

    def _on_frame(self, stamp: float, rgb, timeline: int) -> None:
        worker = self._frame_worker
        if worker is not None:
            worker.submit((stamp, rgb, timeline))

    def _prefill(self, item) -> None:
        estimator = self._estimator
        if estimator is not None:
            estimator.prefill(*item)

    def _reject_face(self, topic: str, reason: str) -> None:
        self.input.rejected[(topic, "invalid")] += 1
        self._throttled(topic, "invalid", f"rejected a message: {reason}")

    def _window_dropped(self, item) -> None:
        self.counts["dropped_windows"] += 1
        self._throttled("perception", "dropped", f"perception is behind: dropped the window ending {item[0].t_end:.3f} s")

    def _worker_error(self, item, exc: Exception) -> None:
        self.counts["backend_errors"] += 1
        self._last_error = str(exc)
        self._throttled("backend", "error", str(exc))

    def _explanation_error(self, request: ExplainRequest, exc: Exception) -> None:
        self.counts["explanation_errors"] += 1
        self._throttled("explanation", "error", f"explanation failed: {exc}")
        if request.reply is not None and not request.reply.done():
            request.reply.set_result((False, f"explanation failed: {exc}", None))

    def _perceive(self, item: tuple[Window, float]) -> None:
        window, completed_at = item
        try:
            estimate, context = self._estimator.estimate(window, completed_at)  # BackendError -> _worker_error
        except StaleWindow:
            self.counts["skipped_windows"] += 1
            return
        if self._estimator.timeline != window.timeline:  # the stamps jumped back while it was estimated
            self.counts["skipped_windows"] += 1
            return
        if window.timeline != self._published_timeline:  # the first state of a new run of sensor time
            self._published_timeline = window.timeline
            self._events.reset()
            self._explained_until = float("-inf")
        # Explainable before it is published: a subscriber that asks ~/explain about a state at
        # once must find its window.
        with self._latest_lock:
            self._latest = (estimate, context)
        frame_id, model_id = self.param("frame_id"), self.backend.model_id
        msg = estimate_to_msg(estimate, frame_id, model_id)
        self._pubs["state"].publish(msg)
        if estimate.reads_faces:
            people = people_to_msg(estimate, frame_id, model_id)
            self._pubs["people"].publish(people)
            for listener in self.people_listeners:
                listener(people)
            if self._rep155 is not None:
                self._rep155.publish(estimate, frame_id)
        self.counts["states"] += 1
        self.latency.add(estimate.latency)
        change = self._events.update(estimate.t_end, estimate.person_id, estimate.person_visible, estimate.scores)
        if change is not None:
            self._pubs["event"].publish(msg)
            self.counts["events"] += 1
            who = f"{estimate.person_id}: " if estimate.person_id else ""
            self.get_logger().info(f"emotion: {who}{change.previous or '-'} -> {change.label or 'nobody'} ({change.confidence:.2f})")
        for listener in self.state_listeners:
            listener(msg)

    # -- explanation ----------------------------------------------------------------------------
    def _newest(self) -> tuple[EmotionEstimate, Any] | None:
        with self._latest_lock:
            return self._latest

    def _periodic_explanation(self) -> None:
        newest, worker = self._newest(), self._explanation_worker
        if newest is None or worker is None or newest[0].t_end <= self._explained_until or not worker.idle():
            return  # nothing new, or still busy: skip this tick rather than queue
        self._explained_until = newest[0].t_end
        worker.submit(ExplainRequest(newest[0], newest[1].main, newest[0].person_id, "",
                                     self.param("explanation.max_new_tokens"), None))

    async def _on_explain(self, request: Explain.Request, response: Explain.Response) -> Explain.Response:
        newest, worker = self._newest(), self._explanation_worker
        if worker is None:
            response.success, response.message = False, "the node is not active: ~/explain answers while it is"
            return response
        if newest is None:
            response.success, response.message = False, "no window has been perceived yet"
            return response
        estimate, contexts = newest
        context = contexts.of(request.person_id)
        if context is None:
            in_view = ", ".join(p.id for p in estimate.people) or "nobody"
            response.success, response.message = False, f"no person {request.person_id!r} in the newest window (in view: {in_view})"
            return response
        backend = self.backend
        if backend is None:
            response.success, response.message = False, "the node is shutting down"
            return response
        problem = self.explain_limits.question_problem(request.question, lambda q: len(backend.tokenizer.encode(q)))
        if problem:
            response.success, response.message = False, problem
            return response
        budget, clamped = self.explain_limits.budget(request.max_new_tokens, self.param("explanation.max_new_tokens"))
        reply = Future()
        worker.submit(ExplainRequest(estimate, context, request.person_id or estimate.person_id, request.question, budget, reply))
        success, message, explanation = await reply
        response.success, response.message = success, "; ".join(m for m in (clamped, message) if m)
        if explanation is not None:
            response.explanation = explanation
        return response

    def _request_dropped(self, request: ExplainRequest) -> None:
        if request.reply is not None and not request.reply.done():
            why = "the node deactivated" if self._explanation_worker is None else "superseded by a newer request"
            request.reply.set_result((False, f"{why} before it started", None))

    def _explain(self, request: ExplainRequest) -> None:
        explanation = explain_person(self.backend, request.estimate, request.context, request.person_id, request.question,
                                     request.max_new_tokens)
        self.explanation_latency.add(explanation.latency)
        self.counts["explanations_replaced"] += explanation.replaced  # answers and periodic ones alike
        msg = explanation_to_msg(explanation, self.param("frame_id"), self.backend.model_id)
        if request.reply is not None:
            request.reply.set_result((True, "", msg))
        else:
            self._pubs["explanation"].publish(msg)
            self.counts["explanations"] += 1
            for listener in self.explanation_listeners:
                listener(msg)

    # -- diagnostics ----------------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        if self.input is None or "diagnostics" not in self._pubs:
            return
        counters = self.input.counters()
        sensor = input_status(
            f"{self.get_name()}: sensor input", self.get_fully_qualified_name(), counters,
            self._sensors.topic_ages(), self.param("silent_after"), counters["rejected"] - self._reported["rejected"],
            self._sensors.arrival_ages(),
        )
        values = {
            "backend": self.backend.name,
            "model_id": self.backend.model_id,
            **self.counts,
            "latency p50 [ms]": _ms(self.latency.percentile_ms(50)),
            "latency p99 [ms]": _ms(self.latency.percentile_ms(99)),
            "explanation latency p50 [ms]": _ms(self.explanation_latency.percentile_ms(50)),
            "window lag [s]": f"{(self.input.assembler.clock or 0.0) - self._last_window_end():.3f}",
            "frame cache hits/misses": f"{self._estimator.cache.hits}/{self._estimator.cache.misses}",
            "frames encoded on arrival": str(self._estimator.cache.prefilled),
        }
        follower = self._estimator.follower
        if follower is not None:
            values["frames with faces found/followed"] = f"{follower.detected}/{follower.followed}"
            values["followed faces lost"] = str(follower.lost)
        if self._external_faces is not None:
            values["ROS4HRI face crops read"] = str(self._external_faces.crops_read)
        pipeline = perception_status(
            f"{self.get_name()}: perception", self.get_fully_qualified_name(), values, self.latency.percentile_ms(99),
            self.input.config.stride, self.counts["backend_errors"] - self._reported["backend_errors"], self._last_error,
        )
        self._reported = {"rejected": counters["rejected"], "backend_errors": self.counts["backend_errors"]}
        array = DiagnosticArray(status=[sensor, pipeline])
        array.header.stamp = self.get_clock().now().to_msg()
        self._pubs["diagnostics"].publish(array)

    def _last_window_end(self) -> float:
        newest = self._newest()
        return newest[0].t_end if newest is not None else (self.input.assembler.clock or 0.0)


def explanation_rate_problem(rate: float) -> str | None:
    """Why ``rate`` [Hz] cannot drive the explanation timer, or None (0 turns it off)."""
    if rate != 0 and rate < MIN_EXPLANATION_RATE:
        return (f"explanation.rate {rate:g} Hz is below {MIN_EXPLANATION_RATE:g} Hz (one per "
                f"{1 / MIN_EXPLANATION_RATE:g} s); use 0 for on-demand explanations only")
    return None


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def main(args=None) -> int:
    return main_for(PerceptionNode, args)
