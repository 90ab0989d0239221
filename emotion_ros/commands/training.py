"""The training commands on MMEVerse-format records: `import-dataset`, `train`, `teacher-outputs`
and `eval` (run under `torchrun ... -m emotion_ros` for several processes)."""

from __future__ import annotations

import argparse
import os

from emotion_ros.commands.common import CliError


def add_parser(sub) -> None:
    importer = sub.add_parser("import-dataset", help="a published <DS>_label.csv + its clips -> MMEVerse records (JSONL)")
    importer.add_argument("name", help="data set name (mer2023, meld_emotion, dfew, mafw, ...)")
    importer.add_argument("label_csv", help="the data set's label CSV")
    importer.add_argument("--clips", required=True, help="directory of <name>.mp4 (or .avi, .mkv, ...) clips")
    importer.add_argument("--out", required=True, help="output JSONL")
    importer.add_argument("--label-column", help="override the published ground-truth column")
    importer.add_argument("--split-column", help="override the split column (default: mode)")
    importer.add_argument("--id-column", help="override the clip-name column (default: name)")
    importer.add_argument("--subtitle-column", help="column with what the person says")
    importer.add_argument("--split", default="train", help="split of rows without a split column value")
    importer.set_defaults(func=run_import_dataset)
    trainer = sub.add_parser("train", help="one curriculum stage or a distillation run (torchrun-aware)")
    trainer.add_argument("config", help="stage YAML, or a shipped one: stage1_perception, stage2_cognition, distill")
    trainer.add_argument("--records", help="record file (JSONL or CSV)")
    trainer.add_argument("--init", help="checkpoint directory or preset to start from")
    trainer.add_argument("--output", help="output directory")
    trainer.add_argument("--steps", type=int, help="optimizer steps")
    trainer.add_argument("--batch-size", type=int, help="samples per process and step")
    trainer.add_argument("--teacher", help="teacher-outputs directory (distillation)")
    trainer.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --output")
    trainer.set_defaults(func=run_train)
    teacher = sub.add_parser("teacher-outputs", help="a teacher's answers and top-k logits for records (distillation)")
    teacher.add_argument("model", help="teacher checkpoint directory (e.g. a converted Emotion-LLaMA-v2)")
    teacher.add_argument("--records", required=True, help="record file (JSONL or CSV)")
    teacher.add_argument("--out", required=True, help="output directory")
    teacher.add_argument("--splits", default="train", help="comma-separated splits ('' = all)")
    teacher.add_argument("--top-k", type=int, default=16, help="logits kept per token (0: texts only)")
    teacher.set_defaults(func=run_teacher_outputs)
    evaluation = sub.add_parser("eval", help="MMEVerse metrics of a checkpoint (or stored responses) on test records")
    evaluation.add_argument("model", nargs="?", help="checkpoint directory or preset")
    evaluation.add_argument("--records", required=True, help="record file (JSONL or CSV) with labels")
    evaluation.add_argument("--out", required=True, help="report directory")
    evaluation.add_argument("--splits", default="test", help="comma-separated splits ('' = all)")
    evaluation.add_argument("--responses", help="score stored responses (JSONL: id, response) instead of a model")
    evaluation.add_argument("--wheel", help="emotion-wheel table (CSV: wheel,word,level1) for hit rate / open vocabulary")
    evaluation.add_argument("--synonyms", help="synonym table (CSV: word,synonym)")
    evaluation.add_argument("--word-forms", help="word-form table (CSV: word,base)")
    evaluation.set_defaults(func=run_eval)
    for command in (teacher, evaluation):
        command.add_argument("--max-new-tokens", type=int, default=200)
        command.add_argument("--features", help="feature cache directory (default: <out>/features); share it "
                             "between runs whose models have the same encoders")


def run_import_dataset(args: argparse.Namespace) -> int:
    from emotion_ros.train.datasets import CATALOGUE, import_label_csv
    from emotion_ros.train.records import write_records

    spec = CATALOGUE.get(args.name.lower())
    if spec is None:
        raise CliError(f"unknown data set {args.name!r} (known: {', '.join(CATALOGUE)})")
    records, skipped = import_label_csv(spec, args.label_csv, args.clips, args.label_column, args.split_column,
                                        args.id_column, args.subtitle_column, args.split)
    if not records:
        raise CliError(f"no records: {len(skipped)} row(s) skipped, e.g. {skipped[0] if skipped else 'an empty file'}")
    write_records(records, args.out)
    print(f"{len(records)} records -> {args.out}" + (f" ({len(skipped)} skipped, e.g. {skipped[0]})" if skipped else ""))
    return 0


def run_train(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.train.config import load_train_config
    from emotion_ros.train.trainer import train

    config = load_train_config(args.config, records=args.records, init=args.init, output=args.output, steps=args.steps,
                               batch_size=args.batch_size, teacher=args.teacher)
    summary = train(config, resume=args.resume)
    if "model" in summary:  # the main process
        print(json.dumps(summary))
    return 0


def run_teacher_outputs(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.train.teacher_run import write_teacher_outputs

    splits = tuple(args.splits.split(",")) if args.splits else None
    result = write_teacher_outputs(args.model, args.records, args.out, splits, top_k=args.top_k,
                                   max_new_tokens=args.max_new_tokens, features=args.features)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(result))
    return 0


def run_eval(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.eval.harness import evaluate
    from emotion_ros.eval.wheel import EmotionWheels

    if (args.model is None) == (args.responses is None):
        raise CliError("give a model to answer the records, or --responses with stored answers (not both)")
    wheels = EmotionWheels.from_files(args.wheel, args.synonyms, args.word_forms) if args.wheel else None
    splits = tuple(args.splits.split(",")) if args.splits else None
    result = evaluate(args.model, args.records, args.out, splits, args.responses, wheels, args.max_new_tokens,
                      args.features)
    if result:
        print(json.dumps(result))
    return 0
