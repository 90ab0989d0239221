"""Speech recogniser node: the words said near the robot, from the microphone it already listens to.

Subscribes:  audio                              AudioFrame, or an audio_common layout (audio_type)
Publishes:   speech                             std_msgs/String, each final utterance
             /humans/voices/<voice_id>/speech   hri_msgs/LiveSpeech (when hri_msgs is installed):
                                                incremental while the person talks, final at the
                                                end, stamped with the audio time the words ended
             /diagnostics                       utterances, real-time factor, dropped audio

Audio is only queued on the executor; a worker thread cuts utterances with Silero VAD and
transcribes them with Whisper tiny.en (runtime/speech_recognizer.py), so a long transcription
never stops the callbacks. When the worker falls behind by more than ``max_backlog`` seconds of
audio the oldest audio is dropped (counted, reported) rather than the node falling further
behind; incremental results are skipped while it is behind. When the audio stops (a stalled
publisher, a microphone unplugged) the utterance in progress is ended and transcribed.
"""

from __future__ import annotations

import collections
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from emotion_msgs.msg import AudioFrame
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header, String

from emotion_ros.io.audio import PcmChunk, audio_frame_to_pcm
from emotion_ros.io.audio_common import audio_common_types, audio_data_to_pcm, audio_stamped_to_pcm
from emotion_ros.io.errors import InvalidInput
from emotion_ros.io.stamps import checked_seconds, to_stamp
from emotion_ros.io.transcript import Utterance
from emotion_ros.model.checkpoint import CheckpointError
from emotion_ros.nodes.managed_node import SUCCESS, ManagedNode
from emotion_ros.nodes.parameters import declare, declare_config, read_config
from emotion_ros.nodes.runner import main_for
from emotion_ros.nodes.sensor_subscriptions import AUDIO_TYPES, live_speech_type, sensor_qos
from emotion_ros.runtime.speech_cutter import CutterConfig, SpeechCutter
from emotion_ros.runtime.speech_recognizer import RecognizerConfig, SpeechRecognizer

BEHIND = 1.0  # [s] of queued audio from which incremental results are skipped


class SpeechRecognizerNode(ManagedNode):
    """Lifecycle: configure loads Whisper and checks the parameters, activate subscribes and
    starts the transcription thread, deactivate stops both (the utterance in progress is ended)."""

    worker_name = "transcription"

    def __init__(self, **kwargs):
        super().__init__("speech_recognizer", **kwargs)
        declare(self, "model_dir", "", "A CTranslate2 Whisper model directory; empty for the pinned Whisper tiny.en.")
        declare(self, "threads", 1, "CPU threads Whisper decodes with.", 1, 64)
        declare(self, "audio_type", "audio_frame", f"Message type on `audio`: one of {', '.join(AUDIO_TYPES)}.")
        declare(self, "voice_id", "anonymous_speaker",
                "REP-155 voice id: LiveSpeech goes to /humans/voices/<voice_id>/speech.")
        declare(self, "max_backlog", 5.0, "Queued audio beyond this is dropped, oldest first [s].", 0.5, 120.0)
        declare(self, "stall_timeout", 1.0, "Wall time without audio after which the utterance in progress ends [s].",
                0.1, 60.0)
        declare(self, "diagnostics_period", 1.0, "Period of /diagnostics messages [s].", 0.1, 60.0)
        declare(self, "qos.depth", 50, "History depth of the audio subscription.", 1, 1000)
        declare(self, "qos.reliable", False, "Subscribe to `audio` reliably (default: best effort, as sensors publish).")
        declare_config(self, "vad", CutterConfig)
        declare_config(self, "whisper", RecognizerConfig)
        self.recognizer: SpeechRecognizer | None = None
        self._queue: collections.deque[PcmChunk] = collections.deque()
        self._queued_seconds = 0.0
        self._wake = threading.Condition()
        self._subscriptions, self._pubs, self._timer = [], {}, None
        self._audio_info = None
        self._live_speech_type = None  # hri_msgs/LiveSpeech when installed
        self.counts = collections.Counter()  # chunks, rejected, dropped_chunks, utterances, partials
        self.dropped_seconds = 0.0
        self.last_error = ""
        self._reported = (0.0, 0)  # dropped seconds and rejected messages at the last status

    # -- lifecycle ---------------------------------------------------------------------------
    def on_configure(self, state):
        audio_type = self.param("audio_type")
        if audio_type not in AUDIO_TYPES:
            return self.fail(f"audio_type must be one of {AUDIO_TYPES}, got {audio_type!r}")
        if audio_type != "audio_frame" and not audio_common_types():
            return self.fail(f"audio_type {audio_type!r} needs audio_common_msgs, which is not installed")
        if not self.param("voice_id").replace("_", "").isalnum():
            return self.fail(f"voice_id must be letters, digits and underscores (a ROS name), got {self.param('voice_id')!r}")
        try:
            cutter_config, recognizer_config = read_config(self, "vad", CutterConfig), read_config(self, "whisper", RecognizerConfig)
        except ValueError as exc:
            return self.fail(str(exc))
        from emotion_ros.model.whisper_tiny import load_whisper

        try:
            whisper = load_whisper(self.param("model_dir") or None, threads=self.param("threads"))
        except CheckpointError as exc:
            return self.fail(str(exc))
        self.recognizer = SpeechRecognizer(whisper, recognizer_config, SpeechCutter(cutter_config))
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self._pubs = {"speech": self.create_lifecycle_publisher(String, "speech", reliable),
                      "diagnostics": self.create_lifecycle_publisher(DiagnosticArray, "/diagnostics", 10)}
        live_speech = self._live_speech_type = live_speech_type()
        if live_speech is not None:
            topic = f"/humans/voices/{self.param('voice_id')}/speech"
            self._pubs["live_speech"] = self.create_lifecycle_publisher(live_speech, topic, reliable)
        self.get_logger().info(f"Whisper loaded; LiveSpeech {'on ' + topic if live_speech else 'off (no hri_msgs)'}")
        return SUCCESS

    def start(self):
        audio_type, types = self.param("audio_type"), audio_common_types()
        if audio_type == "audio_frame":
            self._subscribe(AudioFrame, audio_frame_to_pcm)
        elif audio_type == "audio_common_stamped":
            self._subscribe(types["AudioStamped"], audio_stamped_to_pcm)
        else:
            latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
            self._subscriptions.append(self.create_subscription(types["AudioInfo"], "audio_info", self._on_audio_info, latched))
            self._subscribe(types["AudioDataStamped"], lambda msg: audio_data_to_pcm(msg, self._audio_info))
        self._timer = self.create_wall_timer(self.param("diagnostics_period"), self._publish_diagnostics)
        return SUCCESS

    def stop(self) -> None:
        for subscription in self._subscriptions:
            self.destroy_subscription(subscription)
        self._subscriptions = []
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None
        with self._wake:
            self._queue.clear()
            self._queued_seconds = 0.0

    def release(self) -> None:
        for publisher in self._pubs.values():
            self.destroy_lifecycle_publisher(publisher)
        self._pubs, self.recognizer = {}, None

    # -- audio in (executor thread) ------------------------------------------------------------
    def _subscribe(self, msg_type, decode) -> None:
        def callback(msg) -> None:
            try:
                if hasattr(msg, "header"):
                    checked_seconds(msg.header.stamp)
                chunk = decode(msg)
                if chunk.stamp is None:
                    raise InvalidInput("stamp", "audio without a stamp")
            except (InvalidInput, ValueError) as exc:
                self.counts["rejected"] += 1
                self.last_error = f"audio rejected: {exc}"
                return
            self._enqueue(chunk)

        self._subscriptions.append(self.create_subscription(msg_type, "audio", callback, sensor_qos(self)))

    def _on_audio_info(self, msg) -> None:
        self._audio_info = msg

    def _enqueue(self, chunk: PcmChunk) -> None:
        with self._wake:
            self._queue.append(chunk)
            self._queued_seconds += chunk.duration
            self.counts["chunks"] += 1
            while self._queued_seconds > self.param("max_backlog") and len(self._queue) > 1:
                dropped = self._queue.popleft()
                self._queued_seconds -= dropped.duration
                self.dropped_seconds += dropped.duration
                self.counts["dropped_chunks"] += 1
            self._wake.notify()

    # -- transcription (worker thread) ---------------------------------------------------------
    def work(self) -> None:
        last_audio = time.monotonic()
        while self.running:
            with self._wake:
                if not self._queue:
                    self._wake.wait(timeout=0.1)
                chunk = self._queue.popleft() if self._queue else None
                if chunk is not None:
                    self._queued_seconds -= chunk.duration
                behind = self._queued_seconds
            recognizer = self.recognizer
            if recognizer is None:
                continue
            if chunk is not None:
                last_audio = time.monotonic()
                heard = recognizer.push(chunk, partials=behind < BEHIND)
            elif recognizer.cutter.in_speech and time.monotonic() - last_audio > self.param("stall_timeout"):
                heard = recognizer.finish()  # the audio stopped: end the utterance where it stopped
            else:
                continue
            for utterance in heard:
                self._publish(utterance)
        if self.recognizer is not None:  # deactivating: the utterance in progress, ended here
            for utterance in self.recognizer.finish():
                self._publish(utterance)

    def _publish(self, utterance: Utterance) -> None:
        self.counts["utterances" if utterance.final else "partials"] += 1
        if utterance.final and "speech" in self._pubs:
            self._pubs["speech"].publish(String(data=utterance.text))
        live_speech = self._pubs.get("live_speech")
        if live_speech is not None:
            msg = self._live_speech_type()
            msg.header = Header(stamp=to_stamp(utterance.t_end), frame_id=self.param("voice_id"))
            if utterance.final:
                msg.final, msg.confidence = utterance.text, float(utterance.confidence)
            else:
                msg.incremental = utterance.text
            live_speech.publish(msg)

    # -- diagnostics ---------------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        recognizer, publisher = self.recognizer, self._pubs.get("diagnostics")
        if recognizer is None or publisher is None:
            return
        rtf = recognizer.real_time_factor
        values = {"utterances": self.counts["utterances"], "partials": self.counts["partials"],
                  "audio_seconds": round(recognizer.audio_seconds, 2), "real_time_factor": round(rtf, 3),
                  "queued_seconds": round(self._queued_seconds, 2), "dropped_audio_seconds": round(self.dropped_seconds, 2),
                  "rejected_messages": self.counts["rejected"], "short_bursts_dropped": recognizer.cutter.dropped_short,
                  "non_speech_segments_dropped": recognizer.rejected, "stream_discontinuities": recognizer.cutter.discontinuities}
        dropped, rejected = self.dropped_seconds - self._reported[0], self.counts["rejected"] - self._reported[1]
        self._reported = (self.dropped_seconds, self.counts["rejected"])
        if dropped:  # since the last status
            level = DiagnosticStatus.WARN
            message = f"transcription fell behind: {dropped:.1f} s of audio dropped (lower whisper.beam_size, or free a core)"
        elif rejected:
            level, message = DiagnosticStatus.WARN, f"{rejected} audio message(s) rejected, the last: {self.last_error}"
        else:
            level, message = DiagnosticStatus.OK, "listening"
        status = DiagnosticStatus(level=level, name=f"{self.get_fully_qualified_name()}: speech recognition",
                                  message=message, hardware_id="whisper-tiny.en",
                                  values=[KeyValue(key=k, value=str(v)) for k, v in values.items()])
        publisher.publish(DiagnosticArray(header=Header(stamp=self.get_clock().now().to_msg()), status=[status]))


def main(args=None) -> int:
    return main_for(SpeechRecognizerNode, args)
