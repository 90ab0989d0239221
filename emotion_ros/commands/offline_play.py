"""`demo` and `run --clip` at --rate 0: a clip through the offline pipeline (every window, in
order, the same on every run), shown in the live view as the node's topics would show it."""

from __future__ import annotations

import argparse
from pathlib import Path


def play_offline(args: argparse.Namespace, clip: Path, plot: Path | None) -> int:
    """`demo` / `run --clip` at --rate 0: the clip through the offline pipeline (every window,
    in order, the same on every run), shown in the live view; explanations every
    1 / explanation.rate seconds of the clip."""
    from emotion_ros.commands.live_view import LiveView
    from emotion_ros.eval.timeline import plot_timeline
    from emotion_ros.runtime.backends import create_backend
    from emotion_ros.runtime.messages import explanation_to_msg
    from emotion_ros.runtime.offline_replay import OfflineReplay, PeriodicExplainer, recorded_items
    from emotion_ros.window.config import emotion_node_parameters

    node = emotion_node_parameters()
    backend = create_backend(node["backend"], args.model or node["model"], node["threads"])
    rate = node["explanation"]["rate"] if args.explain_rate is None else float(args.explain_rate)
    replay, view = OfflineReplay(backend), LiveView()
    explain = PeriodicExplainer(backend, rate, node["explanation"]["max_new_tokens"])
    print(f"playing {clip} offline, every window (as fast as the machine allows)", flush=True)
    _, items = recorded_items(clip, transcribe=not args.no_transcribe)
    for _, estimate, contexts in (result for kind, item in items for result in replay.feed(kind, item)):
        _show(view, backend, estimate)
        explanation = explain(estimate, contexts)
        if explanation is not None:
            view.explanation(explanation_to_msg(explanation, "camera", backend.model_id))
    for _, estimate, _ in replay.finish():
        _show(view, backend, estimate)
    print(f"done: {replay.windows} states (every window, the last reaching past the end), "
          f"{len(view.explanations)} explanations, 0 dropped windows", flush=True)
    if plot is not None and view.estimates:
        print(f"timeline: {plot_timeline(list(view.estimates), list(view.explanations), plot, title=f'emotion-ros on {clip.name}', people=view.people_steps)}")
    return 0


def _show(view, backend, estimate) -> None:
    from emotion_ros.runtime.messages import estimate_to_msg, people_to_msg

    view.state(estimate_to_msg(estimate, "camera", backend.model_id))
    if estimate.reads_faces:
        view.people(people_to_msg(estimate, "camera", backend.model_id))
