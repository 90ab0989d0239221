"""`emotion-ros convert`, `assemble-tiny`, `build-tiny`, `train-head` and `eval-head`: checkpoints
from foreign weights, the default tiny checkpoint assembled from the weights that packages ship
and the committed trained parts (or trained from scratch), its language head's trained parts,
and that head's faithfulness as the node decodes it."""

from __future__ import annotations

import argparse
from pathlib import Path

from emotion_ros.paths import share_dir


def add_parser(sub) -> None:
    convert = sub.add_parser("convert", help="import foreign weights into a checkpoint directory")
    kinds = convert.add_subparsers(dest="source_kind", required=True)
    llama = kinds.add_parser("llama", help="a Hugging Face Llama directory (config.json + safetensors) as the LLaMA head")
    llama.add_argument("source", help="Hugging Face model directory")
    llama.add_argument("--out", required=True, help="output checkpoint directory")
    llama.add_argument("--base", help="checkpoint that provides the rest of the network")
    llama.add_argument("--preset", default="tiny", help="preset for the rest of the network when there is no --base")
    gguf = kinds.add_parser("gguf", help="a llama GGUF file (llama.cpp's format, e.g. SmolLM2) as the LLaMA head")
    gguf.add_argument("source", help="the .gguf file")
    gguf.add_argument("--out", required=True, help="output checkpoint directory")
    gguf.add_argument("--base", help="checkpoint that provides the rest of the network")
    gguf.add_argument("--preset", default="tiny", help="preset for the rest of the network when there is no --base")
    v2 = kinds.add_parser("v2", help="an official Emotion-LLaMA-v2 training checkpoint plus its base Llama")
    v2.add_argument("source", help="checkpoint_N.pth ({'model': state_dict})")
    v2.add_argument("--llama", required=True, help="the base Llama-2-7b-chat-hf directory")
    v2.add_argument("--out", required=True, help="output checkpoint directory")
    v2.add_argument("--preset", default="v2", help="preset of the non-LLM parts")
    v2.add_argument("--lora-alpha", type=float, default=16.0, help="LoRA alpha (the published run used 16 with r=64)")
    convert.set_defaults(func=run_convert)
    assemble = sub.add_parser("assemble-tiny", help="assemble the default tiny checkpoint from the weights packages ship "
                                                    "and the committed trained parts (seconds; make does)")
    assemble.add_argument("--out", help="output directory (default: the package's models/tiny)")
    assemble.add_argument("--parts", help="trained perception parts (default: the package's models/perception)")
    assemble.add_argument("--language-head", help="trained language-head parts (default: the package's models/language_head)")
    assemble.add_argument("--no-onnx", dest="onnx", action="store_false",
                          help="do not export it for ONNX Runtime into the cache (the first run will)")
    assemble.set_defaults(func=run_assemble_tiny)
    build_tiny = sub.add_parser("build-tiny", help="train the default tiny checkpoint's own parts from scratch on the weights "
                                                   "packages ship (about 3 minutes on 2 cores)")
    build_tiny.add_argument("--out", help="output directory (default: the package's models/tiny)")
    build_tiny.add_argument("--parts-out", help="also write the trained perception parts and the build report there "
                                                "(the package's models/perception to update the committed ones)")
    build_tiny.add_argument("--seed", type=int, default=0)
    heads = build_tiny.add_mutually_exclusive_group()
    heads.add_argument("--language-head", help="trained language-head parts to assemble with SmolLM2 "
                                               "(default: the package's models/language_head)")
    heads.add_argument("--template-head", action="store_true",
                       help="train the small template explanation head instead of assembling the language head")
    build_tiny.add_argument("--no-onnx", dest="onnx", action="store_false",
                            help="do not export it for ONNX Runtime into the cache (the first run will)")
    build_tiny.set_defaults(func=run_build_tiny)
    head = sub.add_parser("train-head", help="train the language head's projections and LoRA adapters on SmolLM2 "
                                             "(about an hour on 2 cores)")
    head.add_argument("--out", help="output directory (default: the package's models/language_head)")
    head.add_argument("--checkpoint", help="the built tiny checkpoint whose perception it reads (default: models/tiny)")
    head.add_argument("--steps", type=int, help="training steps (default: HeadConfig's)")
    head.add_argument("--perception-steps", type=int, help="of them, stage 1 (perception) steps (default: HeadConfig's)")
    head.add_argument("--eval-cases", type=int, help="held-out questions answered and checked (default: HeadConfig's)")
    head.add_argument("--tokens-only", action="store_true",
                      help="state only the people in view as text, not the published reading (the ablation)")
    head.add_argument("--seeds", type=int, nargs="+", default=[0],
                      help="train a head per seed and keep the one the validation questions choose (default: 0)")
    head.add_argument("--jobs", type=int, default=1, help="heads trained at once, in separate processes")
    head.add_argument("--threads", type=int, help="PyTorch threads per head (default: HeadConfig's)")
    head.set_defaults(func=run_train_head)
    decoders = sub.add_parser("eval-head", help="the language head's faithfulness decoded by PyTorch float32 and by ONNX "
                                                "Runtime int8 (as the node decodes) on the same held-out windows (JSON)")
    decoders.add_argument("--head", help="language-head parts (default: the package's models/language_head)")
    decoders.add_argument("--checkpoint", help="the built tiny checkpoint whose perception it reads (default: models/tiny)")
    decoders.add_argument("--eval-cases", type=int, help="held-out questions answered and checked (default: HeadConfig's)")
    decoders.add_argument("--seed", type=int, default=12345, help="of the held-out windows (training used 0)")
    decoders.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: its choice)")
    decoders.add_argument("--out", help="also write the JSON report here")
    decoders.set_defaults(func=run_eval_head)


def run_convert(args: argparse.Namespace) -> int:
    from emotion_ros.model.convert import convert_emotion_llama_v2, convert_gguf_llama, convert_hf_llama

    if args.source_kind == "llama":
        report = convert_hf_llama(args.source, args.out, preset=args.preset, base=args.base)
    elif args.source_kind == "gguf":
        report = convert_gguf_llama(args.source, args.out, preset=args.preset, base=args.base)
    else:
        print("reading the official checkpoint with torch.load(weights_only=True): tensors only, no code", flush=True)
        report = convert_emotion_llama_v2(args.source, args.llama, args.out, preset=args.preset or "v2", lora_alpha=args.lora_alpha)
    print(f"wrote {report.tensors} tensors to {report.out}")
    if report.merged_lora:
        print(f"merged LoRA into {len(report.merged_lora)} projections")
    if report.missing:
        print(f"not in the source (train or convert them separately): {', '.join(report.missing)}")
    print(f"tokenizer: {report.tokenizer or 'none found in the source directory'}")
    return 0


def _export_for_onnx_runtime(out: Path) -> None:
    from emotion_ros.runtime.onnx_backend import OnnxRuntimeBackend

    # The node's default backend runs the ONNX export from the cache: made now, the first run starts at once.
    print("exporting it for ONNX Runtime into the cache", flush=True)
    OnnxRuntimeBackend.for_model(str(out))


def run_assemble_tiny(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.default_model.assembly import assemble_tiny

    out = Path(args.out) if args.out else share_dir() / "models" / "tiny"
    report = assemble_tiny(out, args.parts, args.language_head, progress=lambda line: print(f"[assemble-tiny] {line}", flush=True))
    print(json.dumps(report["assembled"]))
    if args.onnx:
        _export_for_onnx_runtime(out)
    print(f"checkpoint: {out}")
    return 0


def run_build_tiny(args: argparse.Namespace) -> int:
    import json

    from emotion_ros.default_model.assembly import language_head_dir
    from emotion_ros.default_model.builder import BuildConfig, build_tiny
    from emotion_ros.model.checkpoint import CheckpointError
    from emotion_ros.model.head_checkpoint import HEAD_FILE

    config = BuildConfig(seed=args.seed)
    out = Path(args.out) if args.out else share_dir() / "models" / "tiny"
    head = None if args.template_head else Path(args.language_head or language_head_dir())
    if head is not None and not (head / HEAD_FILE).is_file():
        raise CheckpointError(f"no language head in {head} (train one with `emotion-ros train-head`, or pass --template-head)")
    report = build_tiny(out, config, progress=lambda line: print(f"[build-tiny] {line}", flush=True), language_head=head,
                        parts_out=args.parts_out)
    print(json.dumps({key: value for key, value in report.items() if key != "config"}))
    if args.onnx:
        _export_for_onnx_runtime(out)
    print(f"checkpoint: {out}")
    return 0


def run_train_head(args: argparse.Namespace) -> int:
    import json
    from dataclasses import replace

    from emotion_ros.default_model.assembly import language_head_dir
    from emotion_ros.default_model.head_selection import train_seeds
    from emotion_ros.default_model.language_head import HeadConfig

    overrides = {"steps": args.steps, "perception_steps": args.perception_steps, "eval_cases": args.eval_cases,
                 "threads": args.threads}
    config = replace(HeadConfig(facts_as_text=not args.tokens_only),
                     **{key: value for key, value in overrides.items() if value is not None})
    out = Path(args.out) if args.out else language_head_dir()
    report = train_seeds(args.checkpoint or share_dir() / "models" / "tiny", out, config, args.seeds, args.jobs)
    print(json.dumps({"chosen_seed": report["seed_selection"]["chosen"], "rates": report["faithfulness"]["rates"],
                      "validation": report["validation"]["rates"], "loss": report["loss"],
                      "training_seconds": report["training_seconds"]}))
    print(f"language head: {out}")
    return 0


def run_eval_head(args: argparse.Namespace) -> int:
    import json
    from dataclasses import replace

    from emotion_ros.default_model.assembly import language_head_dir
    from emotion_ros.default_model.head_decoding import compare_decoders
    from emotion_ros.default_model.language_head import HEAD_REPORT, HeadConfig, load_language_head
    from emotion_ros.model.checkpoint import load_checkpoint
    from emotion_ros.model.gguf_llama import load_gguf_llama, smollm2_path

    head = Path(args.head) if args.head else language_head_dir()
    trained = json.loads((head / HEAD_REPORT).read_text())["config"]
    config = replace(HeadConfig(), facts_as_text=trained["facts_as_text"],
                     **({"eval_cases": args.eval_cases} if args.eval_cases else {}))
    base = load_gguf_llama(smollm2_path())
    network = load_language_head(load_checkpoint(args.checkpoint or share_dir() / "models" / "tiny").network, base, head)
    report = compare_decoders(network, base, config, args.seed, args.threads)
    text = json.dumps(report, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0
