"""A search killed after its first trial resumes without running that trial again."""

import hashlib
import json
import os
import signal
import time

import pytest

from keras_umdf.cli import main
from tests.tuning.conftest import TINY_FLAGS

pytestmark = [pytest.mark.only_backend("torch"), pytest.mark.slow]


def _read_json(path):
    try:
        with open(path) as file:
            return json.load(file)
    except (OSError, ValueError):  # not there yet, or being written
        return None


def _fingerprint(path):
    with open(path, "rb") as file:
        return os.stat(path).st_mtime_ns, hashlib.sha256(file.read()).hexdigest()


def test_a_killed_search_restarts_without_rerunning_finished_trials(
    tmp_path, tiny_pickle, cli_env, processes, capsys
):
    directory = tmp_path / "search"
    args = ["tune", "--dataset", tiny_pickle, *TINY_FLAGS]
    args += ["--directory", str(directory), "--max-trials", "3"]
    trial_0 = directory / "trials" / "trial_0"
    first = processes(args, cli_env, tmp_path / "first.log")
    deadline = time.monotonic() + 600
    while (_read_json(trial_0 / "trial.json") or {}).get("status") != "COMPLETED":
        assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "the first trial did not finish"
        time.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)  # a real kill: no handler runs
    first.wait(timeout=60)
    assert not (directory / "results.json").exists()  # it was cut off mid-search
    finished = _read_json(trial_0 / "trial.json")
    checkpoint = _fingerprint(trial_0 / "checkpoint.weights.h5")

    # The restart: the same command, here in the test's own process.
    code = main(args)
    output = capsys.readouterr()
    assert code == 0, output.err[-3000:]
    assert "Resuming the search" in output.out and "1 finished trial kept" in output.out
    results = _read_json(directory / "results.json")
    assert results["num_trials"] == results["num_completed"] == 3
    # Trial 0 was not run again: same record, same checkpoint, run by the first
    # process; the restart ran the rest.
    assert _read_json(trial_0 / "trial.json") == finished
    assert _fingerprint(trial_0 / "checkpoint.weights.h5") == checkpoint
    pids = {
        r["trial_id"]: _read_json(directory / "trials" / f"trial_{r['trial_id']}"
                                  / "worker.json")["pid"]
        for r in results["trials"]
    }  # fmt: skip
    assert pids["0"] == first.pid
    assert pids["1"] == pids["2"] == os.getpid()
