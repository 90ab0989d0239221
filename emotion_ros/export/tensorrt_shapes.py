"""TensorRT optimisation profiles (min/opt/max input shapes) for the exported graphs."""

from __future__ import annotations

from emotion_ros.export.profile import ExportProfile
from emotion_ros.model.face_encoder import SLOTS as MAX_PEOPLE  # people per window: the window graph's batch

def optimisation_profiles(profile: ExportProfile, config: dict, frame_size: int) -> dict[str, dict[str, list[list[int]]]]:
    """graph -> input name -> [min, opt, max] shapes.

    Frames reach the graphs at frame_size x frame_size (the node letterboxes them on arrival), so
    only the frame count and the token counts vary.
    """
    llm = config["llm"]
    head_dim = llm["dim"] // llm["heads"]
    frames = profile.frames
    prompt, past = profile.prompt_tokens, profile.past_tokens
    temporal_dim = config["video"]["temporal"]["dim"]
    samples = round(config["window"] * config["audio"]["sample_rate"])
    fixed = lambda shape: [list(shape)] * 3  # noqa: E731
    shapes = {
        "frame_encoder": {"frames": [[n, frame_size, frame_size, 3] for n in frames]},
        "face_reader": {  # one frame, the faces followed in it
            "frames": fixed((1, frame_size, frame_size, 3)),
            "boxes": [[1, faces, 4] for faces in (1, 2, MAX_PEOPLE)],
            "keypoints": [[1, faces, 6, 2] for faces in (1, 2, MAX_PEOPLE)],
        },
        "window": {
            "frame_features": [[people, config.get("frames_read") or config["num_frames"], 4, temporal_dim]
                               for people in (1, 2, MAX_PEOPLE)],
            "global_frame": fixed((1, frame_size, frame_size, 3)),
            "audio": fixed((1, samples)),
            "audio_mask": fixed((1, samples)),
            "video_present": fixed((1,)),
            "audio_present": fixed((1,)),
        },
        "token_embedding": {"token_ids": [[1, n] for n in prompt]},
        "llm_step": {
            "inputs_embeds": [[1, n, llm["dim"]] for n in prompt],
            "key_mask": [[1, p + n] for p, n in zip(past, prompt)],
        },
    }
    for i in range(llm["layers"]):
        for kind in ("key", "value"):
            shapes["llm_step"][f"past_{kind}_{i}"] = [[1, llm["kv_heads"], p, head_dim] for p in past]
    if config.get("text"):
        shapes["window"]["text"] = fixed((1, config["text"]["dim"]))
    if config["video"]["temporal"]["type"] != "face_reader":
        del shapes["face_reader"]
    return {name: value for name, value in shapes.items() if name in profile.graphs}
