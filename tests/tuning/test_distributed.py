"""A chief and two workers, separate processes on 127.0.0.1, share one search."""

import json
import socket
import time

import pytest

from tests.tuning.conftest import TINY_FLAGS
from tuning import DistributedSettings

pytestmark = pytest.mark.only_backend("torch")


def test_settings_default_to_loopback_and_follow_kerastuner_variables():
    assert DistributedSettings.resolve(environ={}) is None
    chief = DistributedSettings.resolve("chief", port=8000, environ={})
    assert chief.is_chief and chief.address == "127.0.0.1"
    env = {
        "KERASTUNER_TUNER_ID": "tuner3",
        "KERASTUNER_ORACLE_IP": "10.0.0.5",
        "KERASTUNER_ORACLE_PORT": "8001",
    }
    worker = DistributedSettings.resolve(environ=env)
    assert (worker.tuner_id, worker.address, worker.port) == (
        "tuner3",
        "10.0.0.5",
        8001,
    )
    assert not worker.is_chief
    assert worker.environment() == env
    with pytest.raises(ValueError, match="needs the oracle's port"):
        DistributedSettings.resolve("tuner0", environ={})
    with pytest.raises(ValueError, match="without a tuner id"):
        DistributedSettings.resolve(port=8000, environ={})
    with pytest.raises(ValueError, match="KERASTUNER_TUNER_ID is not"):
        DistributedSettings.resolve(environ={"KERASTUNER_ORACLE_IP": "127.0.0.1"})
    with pytest.raises(ValueError, match=r"\[1, 65535\]; received 70000"):
        DistributedSettings("chief", port=70000)


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_a_chief_and_two_workers_complete_a_search_together(
    tmp_path, tiny_pickle, cli_env, processes
):
    directory = tmp_path / "shared"
    port = str(_free_port())
    args = [
        "tune",
        "--dataset",
        tiny_pickle,
        *TINY_FLAGS,
        "--directory",
        str(directory),
    ]
    args += ["--max-trials", "3", "--oracle-port", port]
    # All three at once: the workers wait for the chief's oracle, then each asks
    # for a trial as soon as it is up.
    chief_log = tmp_path / "chief.log"
    chief = processes([*args, "--tuner-id", "chief"], cli_env, chief_log)
    workers = [
        processes([*args, "--tuner-id", f"tuner{i}"], cli_env, tmp_path / f"w{i}.log")
        for i in range(2)
    ]
    deadline = time.monotonic() + 900
    logs = [tmp_path / "w0.log", tmp_path / "w1.log", chief_log]
    everyone = [*workers, chief]
    while any(process.poll() is None for process in everyone):
        for process, log in zip(everyone, logs, strict=True):
            # A process that fails ends the test at once (the fixture kills the
            # rest) rather than leaving the others waiting on it.
            assert process.poll() in (None, 0), log.read_text()[-3000:]
        assert time.monotonic() < deadline, "the search did not finish"
        time.sleep(0.2)
    for i in range(2):
        assert f"Worker tuner{i}: no trials left" in logs[i].read_text()
    results = json.loads((directory / "results.json").read_text())
    assert results["num_trials"] == results["num_completed"] == 3
    # Every trial records the worker that ran it; both workers ran trials.
    ran = [record["worker"] for record in results["trials"]]
    assert set(ran) == {"tuner0", "tuner1"}, ran
    assert (directory / "best_model.keras").is_file()
    assert f"listens on 127.0.0.1:{port}" in chief_log.read_text()  # loopback
    assert "Best: trial" in chief_log.read_text()
