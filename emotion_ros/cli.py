"""The `emotion-ros` command: the command modules of emotion_ros/commands/, in the groups that
`emotion-ros --help` lists them under, and main(), which runs the chosen command."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import traceback

from emotion_ros.commands import bench, deployment, models, nodes, predict, replay, run, samples, training

# The headings and order of `emotion-ros --help` (argparse itself lists sub-commands flat).
COMMANDS = (
    ("run", (run, nodes, predict, replay)),
    ("models", (models,)),
    ("data/training", (samples, training)),
    ("deployment", (deployment,)),
    ("measure", (bench,)),
)


class _Listing:
    """The sub-parsers as a command module's add_parser(sub) sees them: each command's one-line
    help goes to the grouped listing rather than to argparse's flat one, so it is shown once."""

    def __init__(self, sub) -> None:
        self.sub, self.lines = sub, []

    def add_parser(self, name: str, help: str, **kwargs) -> argparse.ArgumentParser:
        self.lines.append(textwrap.fill(help, 79, initial_indent=f"  {name:<17}", subsequent_indent=" " * 19))
        return self.sub.add_parser(name, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emotion-ros", formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="command", required=True,
                                help="one of the commands above (emotion-ros COMMAND --help: its arguments)")
    sections = ["Real-time multimodal emotion understanding for ROS 2."]
    for title, modules in COMMANDS:
        listing = _Listing(sub)
        for module in modules:
            module.add_parser(listing)
        sections.append("\n".join([f"{title}:", *listing.lines]))
    parser.description = "\n\n".join(sections)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything from --ros-args on belongs to ROS, not to argparse.
    split = argv.index("--ros-args") if "--ros-args" in argv else len(argv)
    args = build_parser().parse_args(argv[:split])
    args.ros_args = argv[split:]
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line for the user; the traceback on request
        if os.environ.get("EMOTION_ROS_DEBUG"):
            traceback.print_exc()
        print(f"emotion-ros {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
