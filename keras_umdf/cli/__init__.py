"""The `keras-umdf` command line (also `python -m keras_umdf`)."""

import argparse
import sys

from keras_umdf.cli import demo


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keras-umdf",
        description="UMDF self-distillation for multimodal sentiment analysis "
        "with missing modalities.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show full tracebacks on errors"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo.add_parser(commands)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except (ValueError, FileNotFoundError, FileExistsError, PermissionError) as error:
        if args.debug:
            raise
        print(f"keras-umdf {args.command}: error: {error}", file=sys.stderr)
        return 2
