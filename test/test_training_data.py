"""MMEVerse records, data-set adapters, clip windows and cached encoder features."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from emotion_ros.train.datasets import CATALOGUE, import_label_csv
from emotion_ros.train.records import RecordError, read_records, write_records


def write(path, text):
    path.write_text(text)
    return path


@pytest.fixture
def clip_dir(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    for name in ("a", "b", "c"):
        (clips / f"{name}.mp4").write_bytes(b"\0")
    return clips


def test_jsonl_records_resolve_paths_and_filter_splits(tmp_path, clip_dir):
    rows = [
        {"id": "a", "task": "emotion", "answer": "happy", "labels": ["happy"], "clip": "clips/a.mp4", "split": "train",
         "valence": 0.5, "arousal": -0.25, "speaker": "x"},
        {"id": "b", "task": "think", "answer": "<think>smile</think><answer>happy</answer>", "clip": "clips/b.mp4",
         "split": "test"},
    ]
    path = write(tmp_path / "r.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n\n")
    records = read_records(path)
    assert [r.id for r in records] == ["a", "b"]
    assert records[0].clip == clip_dir / "a.mp4" and records[0].labels == ("happy",)
    assert (records[0].valence, records[0].arousal) == (0.5, -0.25) and records[0].extra == {"speaker": "x"}
    assert [r.id for r in read_records(path, splits=["test"])] == ["b"]
    again = read_records(write_records(records, tmp_path / "out" / "copy.jsonl"))
    assert again == records  # paths written relative to the new file still resolve to the clips


def test_csv_records_split_label_text(tmp_path, clip_dir):
    path = write(tmp_path / "r.csv", 'id,task,labels,clip,subtitle\nc,multi-label,"happiness; surprise, fear",'
                 'clips/c.mp4,Hi there\n')
    (record,) = read_records(path)
    assert record.labels == ("happiness", "surprise", "fear") and record.subtitle == "Hi there"


@pytest.mark.parametrize("line, message", [
    ("{not json", "r.jsonl:2: not JSON"),
    ('{"task": "emotion", "answer": "x", "clip": "clips/a.mp4"}', "r.jsonl:2: id is missing"),
    ('{"id": "z", "task": "dance", "answer": "x", "clip": "clips/a.mp4"}', "task 'dance' is not one of"),
    ('{"id": "z", "task": "emotion", "answer": "x"}', "needs a clip or features"),
    ('{"id": "z", "task": "emotion", "clip": "clips/a.mp4"}', "needs an answer or labels"),
    ('{"id": "a", "task": "emotion", "answer": "x", "clip": "clips/a.mp4"}', "r.jsonl:2: duplicate id 'a'"),
    ('{"id": "z", "task": "emotion", "answer": "x", "clip": "clips/gone.mp4"}', "gone.mp4 does not exist"),
    ('{"id": "z", "task": "emotion", "answer": "x", "clip": "clips/a.mp4", "valence": 3}', "valence must lie in"),
])
def test_bad_records_name_file_and_line(tmp_path, clip_dir, line, message):
    good = '{"id": "a", "task": "emotion", "answer": "happy", "clip": "clips/a.mp4"}'
    with pytest.raises(RecordError, match=message.replace("(", r"\(")):
        read_records(write(tmp_path / "r.jsonl", good + "\n" + line + "\n"))


def test_record_file_must_exist_and_be_jsonl_or_csv(tmp_path):
    with pytest.raises(RecordError, match="not found"):
        read_records(tmp_path / "missing.jsonl")
    with pytest.raises(RecordError, match=".jsonl or .csv"):
        read_records(write(tmp_path / "r.txt", ""))


def test_iemocap_adapter_maps_excited_and_drops_other_labels(tmp_path, clip_dir):
    csv_file = write(tmp_path / "iemocap_label.csv",
                     "name,official_label,mode\na,excited,Session5\nb,frustrated,Session5\nc,anger,Session1\n"
                     "d,sadness,Session5\n")
    records, skipped = import_label_csv(CATALOGUE["iemocap"], csv_file, clip_dir)
    assert [(r.id, r.labels, r.split) for r in records] == [("iemocap/a", ("happiness",), "Session5"),
                                                            ("iemocap/c", ("anger",), "Session1")]
    assert records[0].answer == "happiness" and "anger, sadness, happiness" in records[0].instruction
    assert skipped == ["b: label left out", f"d: no clip in {clip_dir}"]


def test_adapter_reads_multi_labels_and_names_missing_columns(tmp_path, clip_dir):
    csv_file = write(tmp_path / "mafw.csv", 'name,multi_label\na,"Anger, Disgust"\n')
    records, _ = import_label_csv(CATALOGUE["mafw_multi"], csv_file, clip_dir, default_split="test")
    assert records[0].labels == ("anger", "disgust") and records[0].task == "multi-label"
    assert records[0].split == "test"
    with pytest.raises(RecordError, match="no column 'emotion_label'"):
        import_label_csv(CATALOGUE["mer2023"], csv_file, clip_dir)


def test_short_clip_gives_one_partial_window(tmp_path):
    """A 1 s clip (shorter than a 2 s window) is one window whose missing start is masked."""
    from emotion_ros.samples.sample_clip import camera_motion
    from emotion_ros.window.config import WindowConfig
    from emotion_ros.window.media_windows import media_windows

    av = pytest.importorskip("av")
    path = tmp_path / "short.mp4"
    rate, fps = 16000, 10
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        sound = out.add_stream("aac", rate=rate, layout="mono")
        image = np.full((64, 64, 3), 128, np.uint8)
        for i in range(10):
            out.mux(video.encode(av.VideoFrame.from_ndarray(camera_motion(image, i / fps, (64, 64)), format="rgb24")))
        tone = (0.3 * np.sin(np.arange(rate) / 5)).astype(np.float32)[None]
        for offset in range(0, tone.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, offset : offset + 1024]), format="fltp",
                                               layout="mono")
            frame.sample_rate, frame.pts = rate, offset
            out.mux(sound.encode(frame))
        out.mux(video.encode(None))
        out.mux(sound.encode(None))
    config = WindowConfig(duration=2.0, num_frames=4, sample_rate=rate)
    assert media_windows(path, config, 32) == []
    (window,) = media_windows(path, config, 32, partial=True)
    assert window.frames.shape == (4, 32, 32, 3)
    assert window.video_present and window.audio_present
    assert not window.frame_mask[0] and window.frame_mask[-1]  # the first slice precedes the clip
    assert not window.audio_mask[0] and window.audio_mask[-4000]


@pytest.fixture(scope="module")
def network():
    from emotion_ros.model.config import load_preset
    from emotion_ros.model.network import build_network

    torch.manual_seed(0)
    return build_network(load_preset("tiny")).eval()


def test_clip_features_are_cached_checked_and_match_the_runtime(network, sample_clip, tmp_path):
    """The cached features of a clip window give the network the same output as the runtime path."""
    from emotion_ros.train.features import (FeatureCache, FeatureError, load_features, save_features,
                                            window_config)
    from emotion_ros.runtime.people import main_person_view
    from emotion_ros.train.records import Record
    from emotion_ros.window.media_windows import media_windows

    record = Record(id="s", task="emotion", answer="happy", clip=sample_clip)
    cache = FeatureCache(network, tmp_path / "features")
    features = cache.load(record)
    assert cache.path(record).is_file() and len(features) >= 3
    w = media_windows(sample_clip, window_config(network), network.config.video.frame_size)[1]
    with torch.no_grad():  # the runtime's path: the main person's view of the window's face tokens
        view = main_person_view(network.encode_frames(torch.from_numpy(w.frames)).numpy(), True, w.frame_mask)
        newest = int(np.flatnonzero(w.frame_mask)[-1])
        direct = network(torch.from_numpy(view)[None], torch.from_numpy(w.frames[newest])[None], torch.from_numpy(w.audio)[None],
                         torch.tensor([w.video_present]), torch.tensor([w.audio_present]))
        f = features.window(1)
        cached = network.fuse(f.video_tokens, f.cls, f.image_tokens, f.audio_tokens, f.video_present, f.audio_present)
    torch.testing.assert_close(cached.logits, direct.logits, atol=1e-5, rtol=1e-4)
    # A feature file made for other encoders is refused with its shapes.
    bad = features.window(0)
    bad.video_tokens = bad.video_tokens[:, :, :4]
    save_features(bad, tmp_path / "bad.safetensors", "x")
    with pytest.raises(FeatureError, match="video_tokens is"):
        load_features(tmp_path / "bad.safetensors", network)
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(FeatureError, match="not a readable"):
        load_features(tmp_path / "junk.safetensors", network)


def test_cache_key_follows_the_clip_file(network, sample_clip, tmp_path):
    from emotion_ros.train.features import FeatureCache
    from emotion_ros.train.records import Record

    copy = shutil.copy(sample_clip, tmp_path / "clip.mp4")
    cache = FeatureCache(network, tmp_path / "features")
    record = Record(id="s", task="emotion", answer="happy", clip=tmp_path / "clip.mp4")
    before = cache.path(record)
    with open(copy, "ab") as handle:
        handle.write(b"\0")
    assert cache.path(record) != before  # an edited clip is encoded again
