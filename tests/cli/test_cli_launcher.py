"""The `keras-umdf` launcher: help without importing Keras, TensorFlow's start-up
log lines hidden unless --debug, --debug on either side of the command's name,
and the report of a dataset being read."""

import io
import os
import subprocess
import sys
import time

import pytest

import keras_umdf_launcher
from keras_umdf.cli import build_parser
from keras_umdf.cli.load_progress import describe_size
from keras_umdf.cli.load_progress import reporting_load

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HELP_WITHOUT_KERAS = """
import sys
import keras_umdf_launcher
try:
    keras_umdf_launcher.main(sys.argv[1:])
except SystemExit as exit:
    print("status", exit.code)
print("imported:", sorted(
    name for name in ("keras", "tensorflow", "jax", "torch") if name in sys.modules
))
"""


def run_python(code_or_args, env, *, timeout=300):
    command = [sys.executable, *code_or_args]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT
    )


@pytest.fixture
def child_env(subprocess_env):
    return {**subprocess_env, "PYTHONPATH": ROOT}


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], []])
def test_help_is_answered_without_importing_keras(child_env, argv):
    result = run_python(["-c", HELP_WITHOUT_KERAS, *argv], child_env)
    assert "imported: []" in result.stdout, result.stdout + result.stderr
    if argv:
        assert "status 0" in result.stdout
        assert "usage: keras-umdf" in result.stdout
    else:
        # No command: argparse's usage error, status 2, one line of advice.
        assert "status 2" in result.stdout
        assert "required: command" in result.stderr
    if argv == ["train", "--help"]:
        assert "--batch-size" in result.stdout


# TensorFlow's log lines are what is hidden; the launcher is the same on every
# backend.
@pytest.mark.only_backend("tensorflow")
def test_a_command_error_is_one_line_without_tensorflow_logs(child_env, tmp_path):
    args = [
        "-m", "keras_umdf_launcher", "evaluate",
        "--model", str(tmp_path / "missing.keras"),
        "--dataset", "mosi", "--output", str(tmp_path / "out"),
    ]  # fmt: skip
    quiet = run_python(args, child_env)
    assert quiet.returncode == 2
    lines = quiet.stderr.splitlines()
    assert len(lines) == 1, quiet.stderr
    assert lines[0].startswith("keras-umdf evaluate: error: No model file")
    assert not (tmp_path / "out").exists()

    debug = run_python([*args, "--debug"], child_env)
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr
    assert "FileNotFoundError" in debug.stderr


@pytest.mark.parametrize(
    "line",
    [
        "I0000 00:00:1796670403.113559     726 port.cc:153] oneDNN custom "
        "operations are on.\n",
        "E0000 00:00:1796670488.196358     757 util.cc:131] oneDNN supports "
        "DT_INT32 only on platforms with AVX-512.\n",
        "WARNING: All log messages before absl::InitializeLog() is called are "
        "written to STDERR\n",
        "To enable the following instructions: AVX2 FMA, in other operations, "
        "rebuild TensorFlow with the appropriate compiler flags.\n",
    ],
)
def test_tensorflow_log_lines_are_recognised(line):
    assert keras_umdf_launcher.TENSORFLOW_LOG_LINE.match(line)


@pytest.mark.parametrize(
    "line",
    [
        "keras-umdf train: error: No such file: 'x.pkl'\n",
        "/work/x.py:3: UserWarning: something the user should see\n",
        "F0000 00:00:1796670488.196358     757 check.cc:1] fatal: kept\n",
        "WARNING: a warning of the user's own\n",
    ],
)
def test_other_stderr_lines_are_kept(line):
    assert not keras_umdf_launcher.TENSORFLOW_LOG_LINE.match(line)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--debug", "demo"], True),
        (["demo", "--debug"], True),
        (["demo"], False),
    ],
)
def test_debug_is_accepted_before_or_after_the_command(argv, expected):
    assert build_parser().parse_args(argv).debug is expected


def test_debug_after_a_double_dash_is_not_a_flag():
    assert keras_umdf_launcher._debug(["predict", "--", "--debug"]) is False
    assert keras_umdf_launcher._asks_for_help(["predict", "--", "-h"]) is False
    assert keras_umdf_launcher._asks_for_help(["predict", "-h"]) is True


def test_a_slow_read_is_reported_and_a_quick_one_is_silent(tmp_path):
    from keras_umdf.data import synthetic

    path = tmp_path / "data.pkl"
    path.write_bytes(b"x" * 2500)
    data = synthetic("mosi", scale=0.02)
    stream = io.StringIO()
    with reporting_load(str(path), delay=0.05, interval=0.05, stream=stream) as report:
        time.sleep(0.4)
        report(data)
    lines = stream.getvalue().splitlines()
    assert lines[0] == f"{path}: reading the dataset (2.5 kB)"
    assert any("still reading" in line for line in lines[1:-1]), lines
    counts = ", ".join(
        f"{name} {split.num_samples}" for name, split in data.splits.items()
    )
    assert lines[-1].endswith(f"clips: {counts}")
    assert len(lines) < 20  # the heartbeat stopped with the load

    quick = io.StringIO()
    with reporting_load(str(path), delay=5.0, stream=quick) as report:
        report(data)
    assert quick.getvalue() == ""
    # An error while reading: no report line, and the heartbeat stops.
    failed = io.StringIO()
    with pytest.raises(ValueError):
        with reporting_load(str(path), delay=5.0, stream=failed):
            raise ValueError("not a pickle")
    assert failed.getvalue() == ""


def test_sizes_are_described_in_readable_units():
    assert describe_size(512) == "512 bytes"
    assert describe_size(184_811_440) == "184.8 MB"
    assert describe_size(3_200_000_000) == "3.2 GB"
