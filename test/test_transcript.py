"""Words in: recogniser messages and transcript files -> utterances on sensor time -> the windows
they overlap."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from emotion_ros.io.audio import PcmChunk
from emotion_ros.io.errors import InvalidInput
from emotion_ros.io.transcript import SECONDS_PER_WORD, live_speech_to_utterance, string_to_utterance, utterance
from emotion_ros.io.transcript_file import TranscriptError, read_transcript, sidecar, write_srt
from emotion_ros.window.config import WindowConfig
from emotion_ros.window.sensor_input import SensorInput
from emotion_ros.window.utterances import UtteranceBuffer


def live_speech(t, final="", incremental="", confidence=0.0):
    stamp = SimpleNamespace(sec=int(t), nanosec=round(t % 1 * 1e9))
    return SimpleNamespace(header=SimpleNamespace(stamp=stamp), final=final, incremental=incremental, confidence=confidence)


def feed(sensors, t0, t1, step=0.04):
    """Camera and microphone from t0 to t1 [s]; the windows they complete."""
    windows = []
    for t in np.arange(t0, t1, step):
        windows += sensors.frame(float(t), np.zeros((8, 8, 3), np.uint8))
        windows += sensors.pcm(PcmChunk(np.zeros((round(step * 16000), 1), np.float32), 16000, float(t)))
    return windows


def test_a_string_is_stamped_at_the_newest_sensor_time_minus_the_delay():
    sensors = SensorInput(WindowConfig())
    feed(sensors, 100.0, 103.0)
    # arrival on sensor time is the newest sensor stamp (the node's clock only before any)
    assert sensors.transcript(SimpleNamespace(data="  I am   so happy  "), delay=0.5, now=5e9) == []
    said = sensors.utterances.during(0, 1e12)[0]
    assert said.text == "I am so happy" and said.t_end == pytest.approx(sensors.assembler.clock - 0.5)
    assert said.t_end - said.t_start == pytest.approx(4 * SECONDS_PER_WORD)
    before_any = SensorInput(WindowConfig())
    before_any.transcript(SimpleNamespace(data="hi"), delay=0.5, now=50.0)
    assert before_any.utterances.during(0, 1e12)[0].t_end == 49.5


def test_live_speech_uses_its_stamp_and_finals_replace_hypotheses():
    said = live_speech_to_utterance(live_speech(12.0, incremental="I can"), arrival=99.0, delay=0.5)
    assert (said.text, said.t_end, said.final) == ("I can", 12.0, False) and math.isnan(said.confidence)
    unstamped = live_speech_to_utterance(live_speech(0.0, final="yes", confidence=0.8), arrival=99.0, delay=0.5)
    assert (unstamped.t_end, unstamped.final, unstamped.confidence) == (98.5, True, 0.8)
    buffer = UtteranceBuffer(horizon=10.0)
    for text in ("I can", "I can't believe"):
        buffer.add(utterance(text, 12.0, final=False))
    assert [u.text for u in buffer.during(10, 12)] == ["I can't believe"]  # the newer hypothesis only
    buffer.add(utterance("I can't believe it", 12.2))
    buffer.add(utterance("Really", 13.0, final=False))
    assert [(u.text, u.final) for u in buffer.during(10, 14)] == [("I can't believe it", True), ("Really", False)]
    buffer.add(utterance("Really?", 13.1))
    buffer.add(utterance("Later", 40.0))  # older than the horizon before it: forgotten
    assert [u.text for u in buffer.during(0, 100)] == ["Later"]


def test_utterances_land_in_every_window_they_overlap_and_no_other():
    sensors = SensorInput(WindowConfig())  # 2 s windows every 0.5 s
    windows = feed(sensors, 0.0, 3.0)
    sensors.utterance(utterance("Watch out, the door is closing!", 4.0))  # 6 words: 1.9 .. 4.0 s
    windows += feed(sensors, 3.0, 8.0)
    said = {w.t_end: w.text for w in windows}
    for t_end, text in said.items():
        overlaps = t_end >= 1.9 and t_end - 2.0 <= 4.0
        cut_after_it_arrived = t_end >= 3.0
        assert (text == "Watch out, the door is closing!") == (overlaps and cut_after_it_arrived), t_end
    assert said[4.0] and said[5.5] and not said[6.5]
    assert "says 'Watch out" in next(w for w in windows if w.t_end == 4.0).summary()


def test_a_clock_jump_back_forgets_the_words_of_the_old_run():
    sensors = SensorInput(WindowConfig())
    feed(sensors, 10.0, 12.0)
    sensors.utterance(utterance("old words", 11.5))
    windows = feed(sensors, 0.0, 3.0)  # a bag loop: stamps start again
    assert windows and all(w.timeline == 1 and not w.words for w in windows)


@pytest.mark.parametrize("text, kind", [("x" * 2001, "size")])
def test_bad_transcripts_are_rejected_and_counted(text, kind):
    sensors = SensorInput(WindowConfig())
    sensors.transcript(SimpleNamespace(data=text), delay=0.5, now=10.0)
    sensors.live_speech(live_speech(5.0, final="ok", confidence=3.0), delay=0.5, now=10.0)
    sensors.live_speech(SimpleNamespace(header=SimpleNamespace(stamp=SimpleNamespace(sec=-1, nanosec=0)), final="x",
                                        incremental="", confidence=0.5), delay=0.5, now=10.0)
    assert sensors.rejected == {("speech", kind): 1, ("speech", "confidence"): 1, ("speech", "stamp"): 1}
    assert len(sensors.utterances) == 0
    assert string_to_utterance(SimpleNamespace(data="   "), 10.0, 0.5) is None  # silence is not an utterance
    with pytest.raises(InvalidInput):
        utterance("a" * 3000, 1.0)


def test_transcript_files_srt_and_jsonl_beside_their_media(tmp_path):
    media = tmp_path / "talk.mp4"
    media.write_bytes(b"")
    assert sidecar(media) is None
    written = [utterance("Hello there!", 1.5), utterance("I <i>really</i> mean it.", 4.25)]
    write_srt(media.with_suffix(".srt"), written)
    assert sidecar(media) == media.with_suffix(".srt")
    read = read_transcript(media.with_suffix(".srt"))
    assert [(u.text, u.t_start, u.t_end) for u in read] == [("Hello there!", 0.8, 1.5), ("I really mean it.", 2.85, 4.25)]
    lines = tmp_path / "talk.jsonl"
    lines.write_text('{"start": 3.0, "end": 4.5, "text": "later"}\n\n{"start": 0.5, "end": 1.0, "text": "first"}\n')
    assert [u.text for u in read_transcript(lines)] == ["first", "later"]
    lines.write_text('{"start": 3.0, "text": "no end"}\n')
    with pytest.raises(TranscriptError, match=r"talk.jsonl:1: expected"):
        read_transcript(lines)
    (tmp_path / "bad.srt").write_text("1\nnot a time\nhello\n")
    with pytest.raises(TranscriptError, match="subtitle 1 has no"):
        read_transcript(tmp_path / "bad.srt")
