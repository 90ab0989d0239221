"""`emotion-ros predict`: the emotion in one image or media file (label, scores, valence, arousal,
the people in view, an explanation), as text or one JSON object."""

from __future__ import annotations

import argparse
from pathlib import Path

from emotion_ros.commands.common import CliError


def add_parser(sub) -> None:
    predict = sub.add_parser("predict", help="the emotion in an image or a media file (label, scores, valence, arousal, explanation)")
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", help="an image file (the whole frame; no face crop needed)")
    source.add_argument("--video", help="a media file: its windows are averaged")
    predict.add_argument("--audio", help="an audio (or media) file heard with the image or video")
    words = predict.add_mutually_exclusive_group()
    words.add_argument("--subtitle", help="what the person says (throughout the image or video)")
    words.add_argument("--transcript", help="with --video: what is said when, as .srt or .jsonl (default: the video's own "
                       "transcript beside it, the same name with .srt or .jsonl, else its audio transcribed)")
    words.add_argument("--no-transcribe", action="store_true",
                       help="without a transcript, do not transcribe the audio (no words)")
    predict.add_argument("--model", default="tiny", help="checkpoint, export directory or preset")
    predict.add_argument("--backend", default="auto", help="auto, onnxruntime, torch or tensorrt")
    predict.add_argument("--allow-untrained", action="store_true", help="run a preset without a checkpoint (random weights)")
    predict.add_argument("--json", action="store_true", help="one JSON object: label, confidence, scores, valence, arousal, "
                         "explanation, windows, people, words (and timeline for --video)")
    predict.add_argument("--no-explain", action="store_true", help="skip the explanation")
    predict.add_argument("--question", default="", help="a question about the person, answered as the explanation "
                         "(at most 256 tokens; default: the model's own explanation)")
    predict.add_argument("--max-new-tokens", type=int, default=48)
    predict.set_defaults(func=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.runtime.backends import create_backend
    from emotion_ros.runtime.explain_limits import ExplainLimits
    from emotion_ros.runtime.file_prediction import predict_file

    paths = [Path(p) for p in (args.image, args.video, args.audio) if p]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise CliError(f"file not found: {', '.join(missing)}")
    if args.transcript and args.image:
        raise CliError("--transcript is for --video (an image's words: --subtitle)")
    transcript, heard = None, args.audio or args.video  # the file whose sound is heard
    if heard and not args.subtitle:
        from emotion_ros.io.transcript_file import sidecar
        from emotion_ros.runtime.media_transcription import media_words

        source = args.transcript or (sidecar(args.video) if args.video else None)
        transcript = media_words(heard, source, transcribe=not args.no_transcribe)
    if args.question and args.no_explain:
        raise CliError("--question is answered as the explanation; it cannot go with --no-explain")
    backend = create_backend(args.backend, args.model, allow_untrained=args.allow_untrained)
    problem = ExplainLimits().question_problem(args.question, lambda q: len(backend.tokenizer.encode(q)))
    if problem:
        raise CliError(problem)
    result = predict_file(
        backend, image=Path(args.image) if args.image else None, video=Path(args.video) if args.video else None,
        audio=Path(args.audio) if args.audio else None, explain=not args.no_explain, max_new_tokens=args.max_new_tokens,
        subtitle=args.subtitle or "", transcript=transcript, question=args.question,
    )
    if args.json:
        print(json.dumps(result.as_json()))
        return 0
    if result.label is None:
        print(f"label: none (nobody visible)   model: {backend.model_id}")
    else:
        print(f"label: {result.label} ({result.confidence:.2f})   model: {backend.model_id}")
    print("scores: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(result.scores.items(), key=lambda kv: -kv[1])))
    print(f"valence {result.valence:+.2f}   arousal {result.arousal:+.2f}   windows {result.windows}")
    for person in result.people:
        x0, y0, x1, y1 = person["box"]
        seen = f"   in {person['windows']} windows, {person['first']:.1f} - {person['last']:.1f} s" if args.video else ""
        print(f"person {person['id']}: {person['label']} ({person['confidence']:.2f})   "
              f"box {x0:.0f},{y0:.0f} - {x1:.0f},{y1:.0f} px{seen}")
    for said in result.words:
        print(f'heard {said["start"]:.1f} - {said["end"]:.1f} s: "{said["text"]}"')
    if result.explanation:
        print(f"explanation: {result.explanation}")
    return 0
