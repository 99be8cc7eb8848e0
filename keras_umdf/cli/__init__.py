"""The `keras-umdf` command line (also `python -m keras_umdf`).

Commands: `train`, `evaluate`, `predict`, `reproduce`, `demo`, `tune`, `features`. A user
error (unknown dataset or format, missing file, a model that does not fit the
data, an output directory that holds another run or cannot be written, a loss
that became NaN) prints one line and exits with status 2; `--debug` (before or
after the command's name) shows the traceback instead. An interrupt (Ctrl-C)
exits with status 130. A model that looks collapsed
(`keras_umdf.evaluation.collapse`) gets one warning line on stderr,
"keras-umdf <command>: warning: ...", each time it is found.
"""

import argparse
import contextlib
import pickle
import sys
import warnings

from keras_umdf.cli import demo
from keras_umdf.cli import evaluate
from keras_umdf.cli import features
from keras_umdf.cli import predict
from keras_umdf.cli import reproduce
from keras_umdf.cli import train
from keras_umdf.cli import tune
from keras_umdf.cli.one_line_argument_parser import OneLineArgumentParser


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(
        prog="keras-umdf",
        description="UMDF self-distillation for multimodal sentiment analysis "
        "with missing modalities.",
    )
    debug_help = "show full tracebacks on errors, and TensorFlow's own log lines"
    parser.add_argument("--debug", action="store_true", help=debug_help)
    commands = parser.add_subparsers(dest="command", required=True)
    for command in (train, evaluate, predict, reproduce, demo, tune, features):
        command.add_parser(commands)
    # `--debug` also after the command's name; SUPPRESS keeps the value given
    # before it when it is not repeated.
    for command_parser in commands.choices.values():
        command_parser.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=debug_help
        )
    return parser


def _user_errors() -> tuple:
    from keras_umdf.experiments.nan_guard import TrainingDiverged

    # OSError covers FileNotFoundError, FileExistsError, PermissionError and an
    # output directory that cannot be written (read-only file system, full disk).
    # pickle.UnpicklingError: a dataset file that is not a pickle, is cut short,
    # or names a global the restricted unpickler refuses (UnsafePickleError).
    return (
        ValueError,
        KeyError,
        OSError,
        ImportError,
        pickle.UnpicklingError,
        TrainingDiverged,
    )


@contextlib.contextmanager
def _collapse_warnings_on_stderr(command: str):
    """Shows every `ModelCollapseWarning` as one line on stderr (not Python's
    "file:line: category" format, and not only once per place)."""
    from keras_umdf.evaluation.collapse import ModelCollapseWarning

    with warnings.catch_warnings():
        warnings.simplefilter("always", ModelCollapseWarning)
        show = warnings.showwarning

        def show_collapse(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, ModelCollapseWarning):
                print(f"keras-umdf {command}: warning: {message}", file=sys.stderr)
            else:
                show(message, category, filename, lineno, file, line)

        warnings.showwarning = show_collapse
        yield


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _collapse_warnings_on_stderr(args.command):
            return args.run(args) or 0
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(
            f"keras-umdf {args.command}: interrupted; run the same command again to "
            "resume",
            file=sys.stderr,
        )
        return 130
    except _user_errors() as error:
        if args.debug:
            raise
        message = str(error).strip() or type(error).__name__
        if isinstance(error, KeyError):
            message = str(error.args[0]) if error.args else message
        message = " ".join(message.split())
        print(f"keras-umdf {args.command}: error: {message}", file=sys.stderr)
        return 2
