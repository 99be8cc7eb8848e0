"""A `keras-umdf train` killed by a signal resumes where it stopped."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EPOCHS = 4

# Process and file plumbing, the same on every backend; PyTorch starts a process
# and runs a tiny epoch fastest. The exactness of a resumed run (weights,
# optimizer, random states) is checked per backend in tests/experiments.
pytestmark = [pytest.mark.only_backend("torch"), pytest.mark.slow]


def train_command(output):
    return [
        sys.executable, "-m", "keras_umdf", "train", "--dataset", "mosi",
        "--scale", "0.02", "--hidden-dim", "8", "--num-heads", "2",
        "--num-layers", "1", "--batch-size", "8", "--train-samples", "16",
        "--epochs", str(EPOCHS),
        "--conditions", "lav", "--no-curves", "--verbose", "2",
        "--output", str(output),
    ]  # fmt: skip


def epochs_saved(output):
    try:
        with open(output / "training_state" / "latest.json") as file:
            return json.load(file)["epochs_done"]
    except (OSError, ValueError, KeyError):
        return 0


def test_a_killed_train_resumes_without_redoing_finished_epochs(
    tmp_path, subprocess_env
):
    output = tmp_path / "run"
    env = {**subprocess_env, "PYTHONPATH": ROOT, "PYTHONUNBUFFERED": "1"}
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(
            train_command(output), stdout=log, stderr=subprocess.STDOUT, env=env
        )
        deadline = time.monotonic() + 600
        while epochs_saved(output) < 1 and first.poll() is None:
            assert time.monotonic() < deadline, "no epoch finished in 10 minutes"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert first.returncode == -signal.SIGKILL, (tmp_path / "first.log").read_text()
    done = epochs_saved(output)
    assert 1 <= done < EPOCHS
    assert json.loads((output / "run.json").read_text())["status"] == "running"
    assert not (output / "model.keras").exists()

    second = subprocess.run(
        train_command(output), capture_output=True, text=True, env=env, timeout=900
    )
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert f"resuming after epoch {done} of {EPOCHS}" in second.stdout
    epoch_lines = [
        line for line in second.stdout.splitlines() if line.startswith("Epoch ")
    ]
    assert epoch_lines[0] == f"Epoch {done + 1}/{EPOCHS}"
    assert len(epoch_lines) == EPOCHS - done  # finished epochs are not redone
    history = json.loads((output / "history.json").read_text())
    assert [row["epoch"] for row in history] == list(range(1, EPOCHS + 1))
    assert [row["attempt"] for row in history] == [1] * done + [2] * (EPOCHS - done)
    assert (output / "model.keras").exists() and (output / "results.json").exists()
    assert json.loads((output / "run.json").read_text())["status"] == "finished"
