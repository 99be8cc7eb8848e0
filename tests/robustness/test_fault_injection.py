"""Fault injection: `keras-umdf train` killed at random moments, then run again
until it finishes, ends exactly where an uninterrupted run ends.

One uninterrupted run is the reference. Two faulted chains run beside it, each
in its own output directory: the same command is started, killed with SIGKILL
(no handler runs, as in a power cut or the OOM killer) at a moment drawn from a
seeded `random.Random`, started again (and in one chain killed once more), and
then left to finish: 3 kills, 6 processes. Each process spends about 6 s
importing TensorFlow and building the model and 10 s tracing its first steps,
so the kills are few. They are:

- chain 0, "state save": at the end of a drawn epoch, while its files are
  being written (`checkpoint.tmp.keras` beside the older `checkpoint.keras`,
  the epoch's history row already written; or the `training_state/epoch-k`
  folder, before `latest.json` points at it), or right after `latest.json`
  commits the epoch (what a kill in the middle of the next epoch finds);
- chain 1, "start-up": up to 2 s after the run directory is created, in the
  first epoch, whose steps are being traced; nothing is saved yet;
- chain 1, "evaluation": up to 0.3 s after `model.keras` is written, while the
  run is marked finished and its resume files removed, or while the test split
  is evaluated, before the report exists.

The resumed runs must equal the reference exactly: TensorFlow restores the
weights, the optimizer and the random states bit for bit (the in-process
resume tests in tests/experiments/test_training_run.py assert equality too),
and the same command gives the same bits in two processes. So the history
(every loss and metric of every epoch), the weights and optimizer state in
`model.keras`, `results.json` / `results.md` and the kept epoch in `run.json`
are compared with `==`. The finished directory holds no temporary file, no
training state and no checkpoint.

The kills follow events on disk or in the log, not wall time alone, so a slow
or busy machine moves them less; every process has a hard deadline.
"""

import csv
import dataclasses
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_EXCEPTION
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait

import keras
import numpy as np
import pytest

import keras_umdf  # noqa: F401  (registers the UMDF classes for load_model)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EPOCHS = 3
SEED = 10  # of the kill plan (it hits epoch 2's state folder before it is committed)
PROCESS_DEADLINE = 240.0  # seconds: a process that runs longer fails the test
POLL = 0.01  # seconds between looks at the output directory and the log
POLL_SAVE = 0.001  # while waiting for an epoch's files, written in milliseconds
CHAINS = (("state save",), ("start-up", "evaluation"))  # the kills, in run order
MARKERS = ("checkpoint", "state folder", "committed")  # where a state save is hit
RUN_ONLY = {"attempt", "seconds"}  # history columns that differ between runs

# Process and file plumbing around the TensorFlow backend's bit-exact resume
# (the orchestration does not depend on the backend; CI runs it on TensorFlow).
pytestmark = [pytest.mark.only_backend("tensorflow"), pytest.mark.slow]


def train_command(output):
    # A learning rate large enough for the weights to move, warm-ups that
    # span the epochs (their step counters must resume), and a seed whose
    # best validation epoch is 2 of 3, so the kept weights come from
    # training_state/best/ and not from the last epoch.
    return [
        sys.executable, "-m", "keras_umdf", "train", "--dataset", "mosi",
        "--scale", "0.02", "--hidden-dim", "8", "--num-heads", "2",
        "--num-layers", "1", "--batch-size", "8", "--train-samples", "16",
        "--epochs", str(EPOCHS), "--learning-rate", "0.01",
        "--lr-warmup-steps", "3", "--distillation-warmup", "3", "--seed", "0",
        "--conditions", "lav", "--no-curves", "--verbose", "2",
        "--output", str(output),
    ]  # fmt: skip


def epochs_saved(output):
    try:
        with open(output / "training_state" / "latest.json") as file:
            return json.load(file)["epochs_done"]
    except (OSError, ValueError, KeyError):
        return 0


def temporary_files(output):
    return sorted(
        os.path.relpath(os.path.join(folder, name), output)
        for folder, _, names in os.walk(output)
        for name in names
        if ".tmp" in name
    )


def kill_plans(rng):
    """The kills of each chain, in run order, their moments drawn from `rng`."""
    return [
        [
            {
                "phase": phase,
                "delay": rng.uniform(0.0, 2.0 if phase == "start-up" else 0.3),
                "epoch": rng.randint(1, EPOCHS),
                "marker": rng.choice(MARKERS),
            }
            for phase in chain
        ]
        for chain in CHAINS
    ]


class Runner:
    """Starts the processes of the test and kills every one still running at
    the end, whatever happened."""

    def __init__(self, tmp_path, env):
        self.tmp_path, self.env = tmp_path, env
        self.processes, self.lock, self.count = [], threading.Lock(), 0
        self.closed = False

    def start(self, output):
        with self.lock:  # close() kills every process started before it
            if self.closed:
                raise RuntimeError("the test stopped its processes")
            self.count += 1
            log_path = self.tmp_path / f"process-{self.count}.log"
            with open(log_path, "w") as log:
                process = subprocess.Popen(
                    train_command(output),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                )
            process.log_path = log_path
            process.deadline = time.monotonic() + PROCESS_DEADLINE
            self.processes.append(process)
        return process

    def check_deadline(self, process):
        if time.monotonic() > process.deadline:
            process.kill()
            process.wait()
            pytest.fail(
                f"a train process ran past {PROCESS_DEADLINE:.0f} s:\n"
                + tail(process.log_path)
            )

    def finish(self, process):
        while process.poll() is None:
            self.check_deadline(process)
            time.sleep(0.05)
        assert process.returncode == 0, tail(process.log_path)

    def close(self):
        with self.lock:
            self.closed = True
            for process in self.processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()


def tail(path, size=3000):
    return path.read_text(errors="replace")[-size:]


def after_delay(plan, happened):
    """Whether `plan["delay"]` seconds have passed since `happened` was first
    seen true."""
    if not happened:
        return False
    seen = plan.setdefault("seen", time.monotonic())
    return time.monotonic() - seen >= plan["delay"]


def kill_due(plan, output, saved_at_start):
    """Whether the planned moment of `plan` has come: None, or a few words
    saying where it landed."""
    if plan["phase"] == "start-up":  # the first plan of a chain: a new directory
        if after_delay(plan, (output / "run.json").exists()):
            return "start-up (first epoch)"
        return None
    epoch = max(plan["epoch"], saved_at_start + 1)
    if plan["phase"] == "evaluation" or epoch > EPOCHS:  # no epoch left to aim at
        if after_delay(plan, (output / "model.keras").exists()):
            return "evaluation"
        return None
    # "state save": while the files of `epoch` are written (a file that the
    # epoch's save creates first, and removes or commits by its end), or
    # right after they are committed.
    saved = epochs_saved(output)
    if saved >= epoch:
        return f"saving epoch {epoch} (just after its state was committed)"
    marker = {
        "checkpoint": output / "checkpoint.tmp.keras",
        "state folder": output / "training_state" / f"epoch-{epoch}",
        "committed": None,
    }[plan["marker"]]
    if marker is not None and saved == epoch - 1 and marker.exists():
        return f"saving epoch {epoch} ({plan['marker']} being written)"
    return None


@dataclasses.dataclass
class Chain:
    """One output directory, the kills planned for it, and what happened."""

    output: pathlib.Path
    plans: list
    landed: list = dataclasses.field(default_factory=list)  # a line per process
    # Per process: the epochs saved and whether the run had finished before
    # it started, and its log.
    starts: list = dataclasses.field(default_factory=list)

    def start(self, runner):
        saved = epochs_saved(self.output)
        try:
            finished = read_json(self.output / "run.json")["status"] == "finished"
        except (OSError, ValueError, KeyError):
            finished = False
        process = runner.start(self.output)
        self.starts.append((saved, finished, process.log_path))
        return process, saved


def run_chain(runner, chain):
    """Runs the command into `chain.output`, killing it as `chain.plans` say,
    then lets it finish."""
    for plan in chain.plans:
        plan = dict(plan)
        process, saved = chain.start(runner)
        started = time.monotonic()
        where = None
        while process.poll() is None:
            runner.check_deadline(process)
            where = kill_due(plan, chain.output, saved)
            if where:
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(POLL_SAVE if plan["phase"] == "state save" else POLL)
        process.wait()
        if process.returncode == 0:  # finished before the planned moment
            chain.landed.append(f"{plan['phase']}: finished before the kill")
            return
        assert process.returncode == -signal.SIGKILL, tail(process.log_path)
        output = chain.output
        chain.landed.append(
            f"{plan['phase']} -> {where}, after {time.monotonic() - started:.1f} s; "
            f"on disk: {epochs_saved(output)} epochs saved, model.keras "
            f"{(output / 'model.keras').exists()}, temporary files "
            f"{temporary_files(output)}"
        )
    started = time.monotonic()
    runner.finish(chain.start(runner)[0])
    chain.landed.append(f"finished in {time.monotonic() - started:.1f} s")


def comparable_history(rows):
    return [{k: v for k, v in row.items() if k not in RUN_ONLY} for row in rows]


def read_csv(path):
    with open(path, newline="") as file:
        return [
            {k: v for k, v in row.items() if k not in RUN_ONLY}
            for row in csv.DictReader(file)
        ]


def variables(model):
    optimizer = model.optimizer.variables if model.optimizer else []
    return [keras.ops.convert_to_numpy(v) for v in [*model.weights, *optimizer]]


def read_json(path):
    with open(path) as file:
        return json.load(file)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The uninterrupted run and the faulted chains, side by side: the kills
    follow events, not the reference's timing, and running beside other
    processes does not change a bit of what TensorFlow computes."""
    tmp_path = tmp_path_factory.mktemp("fault_injection")
    env = dict(
        os.environ,
        KERAS_BACKEND=keras.backend.backend(),
        PYTHONPATH=ROOT,
        PYTHONUNBUFFERED="1",
    )
    reference = Chain(tmp_path / "uninterrupted", [])
    chains = [
        Chain(tmp_path / f"faulted-{i}", plans)
        for i, plans in enumerate(kill_plans(random.Random(SEED)))
    ]
    runner = Runner(tmp_path, env)
    pool = ThreadPoolExecutor(len(chains) + 1)
    try:
        jobs = [pool.submit(run_chain, runner, c) for c in [reference, *chains]]
        wait(jobs, return_when=FIRST_EXCEPTION)
        for job in sorted(jobs, key=lambda job: not job.done()):
            job.result()  # the first failure, before waiting for the others
    finally:
        runner.close()  # a failed chain stops the others at once
        pool.shutdown()
    report = "\n".join(
        f"{c.output.name}: " + "; ".join(c.landed) for c in [*chains, reference]
    )
    print(f"\n{runner.count} processes:\n{report}")
    return reference.output, chains, report


def test_the_planned_kills_land_and_every_chain_finishes(runs):
    reference, chains, report = runs
    kills = sum(" -> " in line for chain in chains for line in chain.landed)
    assert kills == sum(len(chain.plans) for chain in chains), report
    for output in [reference, *(chain.output for chain in chains)]:
        record = read_json(output / "run.json")
        assert record["status"] == "finished", (output.name, record)
        assert record["epochs_trained"] == EPOCHS


def test_a_rerun_resumes_and_redoes_no_saved_epoch(runs):
    _, chains, report = runs
    for chain in chains:
        for saved, finished, log in chain.starts:
            text = log.read_text(errors="replace")
            epochs = [line for line in text.splitlines() if line.startswith("Epoch ")]
            if finished:
                assert "finished run found, not trained again" in text, text[-3000:]
                assert epochs == [], (log.name, report)
            elif saved:
                assert f"resuming after epoch {saved} of {EPOCHS}" in text, text[-3000:]
                expected = [f"Epoch {k}/{EPOCHS}" for k in range(saved + 1, EPOCHS + 1)]
                # Killed runs stop early: their epochs begin where they should.
                assert epochs == expected[: len(epochs)], (log.name, report)
        history = read_json(chain.output / "history.json")
        attempts = [row["attempt"] for row in history]
        assert attempts == sorted(attempts), (chain.output.name, attempts)


def test_a_resumed_run_trains_exactly_as_the_uninterrupted_one(runs):
    reference, chains, report = runs
    expected = read_json(reference / "run.json")
    expected_history = read_json(reference / "history.json")
    expected_model = keras.saving.load_model(reference / "model.keras")
    for output in (chain.output for chain in chains):
        record = read_json(output / "run.json")
        for key in ("config", "kept_epoch"):
            assert record[key] == expected[key], (output.name, key, report)
        history = read_json(output / "history.json")
        assert [row["epoch"] for row in history] == list(range(1, EPOCHS + 1))
        # Bit for bit: every loss and metric of every epoch.
        assert comparable_history(history) == comparable_history(expected_history), (
            output.name,
            report,
        )
        assert read_csv(output / "history.csv") == read_csv(reference / "history.csv")
        # The kept weights, and the optimizer's state (its step count too).
        got = variables(keras.saving.load_model(output / "model.keras"))
        want = variables(expected_model)
        assert len(got) == len(want)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=f"{output.name}: {report}")


def test_a_resumed_run_leaves_no_temporary_or_resume_files(runs):
    reference, chains, report = runs
    for output in [reference, *(chain.output for chain in chains)]:
        assert temporary_files(output) == [], (output.name, report)
        assert not (output / "training_state").exists(), (output.name, report)
        assert not (output / "checkpoint.keras").exists(), (output.name, report)


def test_a_resumed_run_writes_the_report_of_the_uninterrupted_one(runs):
    reference, chains, report = runs
    expected = read_json(reference / "results.json")
    del expected["created"]
    for output in (chain.output for chain in chains):
        results = read_json(output / "results.json")
        del results["created"]
        assert results == expected, (output.name, report)
        assert (output / "results.md").read_text() == (
            reference / "results.md"
        ).read_text(), (output.name, report)
