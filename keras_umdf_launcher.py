"""Starts the `keras-umdf` command quickly and quietly.

This module lives beside the `keras_umdf` package, not in it, because anything
inside the package first runs `keras_umdf/__init__.py`, which imports Keras
(and with it TensorFlow) to register the serializable classes: about 4 s, and
TensorFlow's C++ log lines, before a single argument is read.

What it does before the package is imported:

- TensorFlow's own C++ log lines (the oneDNN notice, "could not find cuda
  drivers", CPU-feature advice) are hidden unless `--debug` is on the line
  (before or after the command's name). TensorFlow 2.21 writes them while it
  loads, before its logging is initialised, and then ignores
  `TF_CPP_MIN_LOG_LEVEL`; so the package is imported with the standard error
  stream going to a temporary file, and every line of it that is not such a
  log line is written back. `TF_CPP_MIN_LOG_LEVEL=3` is also set (unless the
  user set it) for the lines TensorFlow logs later. Python's warnings and
  errors are not affected.
- A request for help (`-h` or `--help`, or no arguments at all) builds the
  parser without running `keras_umdf/__init__.py`: the package is entered as
  a bare namespace, the command-line modules import only light modules
  (presets, modalities, the choice lists), argparse prints the help and the
  process exits. Nothing else happens in that process.

Every other command line goes through `keras_umdf.cli.main` after a normal
import of the package.
"""

import importlib
import importlib.util
import os
import re
import sys
import tempfile
import types

PACKAGE = "keras_umdf"
HELP_FLAGS = ("-h", "--help")
# absl's C++ log lines ("I0000 00:00:1796... 726 port.cc:153] ..."; fatal ones
# are kept), its notice about them, and the second line of TensorFlow's
# CPU-feature advice.
TENSORFLOW_LOG_LINE = re.compile(
    r"^[IWE]\d{4} [\d:.]+\s+\d+ \S+:\d+\] "
    r"|^WARNING: All log messages before absl::InitializeLog\(\)"
    r"|^To enable the following instructions: .*rebuild TensorFlow"
)


def _options(argv):
    """The arguments before a `--` (after it, every token is a value)."""
    return argv[: argv.index("--")] if "--" in argv else argv


def _debug(argv) -> bool:
    return "--debug" in _options(argv)


def _import_without_tensorflow_logs(module: str):
    """Imports `module` while TensorFlow's start-up log lines are dropped."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            return importlib.import_module(module)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", errors="replace")
            kept = [
                line
                for line in text.splitlines(keepends=True)
                if not TENSORFLOW_LOG_LINE.match(line)
            ]
            sys.stderr.write("".join(kept))


def _asks_for_help(argv) -> bool:
    return not argv or any(flag in _options(argv) for flag in HELP_FLAGS)


def _print_help(argv) -> int:
    """Parses `argv` with the package entered as a bare namespace.

    argparse exits on `-h`/`--help` (status 0) and on a usage error (status 2)
    before any command runs. If it returns anyway, the command is started
    again in a fresh interpreter, where the package is imported normally.
    """
    spec = importlib.util.find_spec(PACKAGE)
    namespace = types.ModuleType(PACKAGE)
    namespace.__path__ = list(spec.submodule_search_locations)
    namespace.__spec__ = spec
    sys.modules[PACKAGE] = namespace
    from keras_umdf.cli import build_parser

    build_parser().parse_args(argv)
    os.execv(sys.executable, [sys.executable, "-m", PACKAGE, *argv])


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if _asks_for_help(argv) and PACKAGE not in sys.modules:
        return _print_help(argv)
    if _debug(argv):
        command_line = importlib.import_module("keras_umdf.cli")
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        command_line = _import_without_tensorflow_logs("keras_umdf.cli")
    return command_line.main(argv)


if __name__ == "__main__":
    sys.exit(main())
