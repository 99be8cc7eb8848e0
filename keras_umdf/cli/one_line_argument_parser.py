"""The command line's parser: a usage error is one line on stderr, exit status 2."""

from __future__ import annotations

import argparse


class OneLineArgumentParser(argparse.ArgumentParser):
    """An `ArgumentParser` whose errors (an unknown flag, a bad value, a missing
    argument) print one line, "keras-umdf <command>: error: <what>; see
    keras-umdf <command> --help", instead of the usage block and the message;
    like argparse it exits with status 2. A flag must be spelled out whole
    ("--epoch" is not taken for "--epochs"). Subcommand parsers are of this class
    too (`add_subparsers` makes them from the parent's class)."""

    def __init__(self, *args, **kwargs):
        # "--epoch 3" must not silently mean --epochs 3 (nor any other prefix).
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        message = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")
