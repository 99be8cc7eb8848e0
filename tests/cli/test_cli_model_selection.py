"""`--select-epoch`, the training-mean row of every table, and the warning a
collapsed model gets on stderr."""

import json
import pickle
import types

import numpy as np
import pytest

from keras_umdf.cli import main
from keras_umdf.evaluation.report import read_results
from keras_umdf.experiments import reproduction
from keras_umdf.experiments.evaluation_run import baseline_split_name
from tests.cli.test_cli_commands import DATA
from tests.cli.test_cli_commands import TINY
from tests.cli.test_cli_commands import run_cli

# Command-line plumbing: the same on every backend.
pytestmark = pytest.mark.only_backend("tensorflow")


def table_row(text, name):
    return next(line for line in text.splitlines() if line.startswith(f"| {name} |"))


def write_clips_that_all_look_alike(path, rng):
    """A MulT pickle (`mosi_data.pkl` layout) whose clips share one set of
    features (varying over frames and dimensions, not over clips) but carry
    random sentiment labels: a model can only predict a constant."""
    frames = np.arange(8, dtype="float32")[:, None]
    splits = {}
    for split, size in {"train": 24, "valid": 8, "test": 8}.items():
        entry = {
            m: np.broadcast_to(np.sin(frames + np.arange(d)), (size, 8, d))
            .astype("float32")
            .copy()
            for m, d in {"text": 6, "audio": 5, "vision": 4}.items()
        }
        entry["labels"] = rng.uniform(-3, 3, size=(size, 1, 1)).astype("float32")
        entry["id"] = np.array(
            [[f"{split}{i}".encode(), b"0", b"1"] for i in range(size)]
        )
        splits[split] = entry
    with open(path, "wb") as file:
        pickle.dump(splits, file)
    return splits


@pytest.mark.slow
def test_train_warns_on_stderr_when_the_model_collapsed(capsys, tmp_path, rng):
    splits = write_clips_that_all_look_alike(tmp_path / "mosi_data.pkl", rng)
    run = tmp_path / "run"
    code, out, err = run_cli(
        capsys, "train", "--dataset", tmp_path / "mosi_data.pkl", *TINY,
        "--epochs", "1", "--batch-size", "8", "--conditions", "lav",
        "--no-curves", "--verbose", "0", "--output", run,
    )  # fmt: skip
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "warning:" in line]
    assert len(warnings) == 2, err  # one for the validation, one for the test split
    assert warnings[0].startswith(f"keras-umdf train: warning: the model of {run} ")
    assert "looks collapsed on the validation split" in warnings[0]
    assert warnings[1].startswith(
        "keras-umdf train: warning: the model looks collapsed on the test split: "
        "it predicts nearly a constant (std "
    )
    test = splits["test"]["labels"].reshape(-1)
    assert f"labels std {np.std(test):.3g})" in warnings[1]
    assert "inputs are normalised" in warnings[1] and "learning rate" in warnings[1]
    # The baseline, computed here from the labels written above.
    expected = float(np.mean(np.abs(test - splits["train"]["labels"].mean())))
    results = read_results(run / "results.json")
    assert results["baseline"]["metrics"]["mae"] == pytest.approx(expected, rel=1e-5)
    assert results["baseline"]["source"] == "train"
    # The printed table and results.md end with the baseline's row.
    row = table_row(out, "Predict the training mean")
    assert row.startswith(f"| Predict the training mean | {expected:.3f} / ")
    assert row in (run / "results.md").read_text()
    record = json.loads((run / "run.json").read_text())
    assert "looks collapsed on the validation split" in record["collapse_warning"]
    assert record["config"]["select_epoch"] == "best"
    assert record["kept_epoch"]["rule"] == "best"
    assert results["config"]["kept_epoch"] == record["kept_epoch"]


@pytest.mark.slow
def test_select_epoch_last_is_recorded_and_a_resume_must_keep_it(capsys, tmp_path):
    run = tmp_path / "run"
    train = ["train", *DATA, *TINY, "--epochs", "1", "--batch-size", "8",
             "--train-samples", "8", "--conditions", "lav", "--no-curves",
             "--verbose", "0", "--output", run]  # fmt: skip
    code, out, err = run_cli(capsys, *train, "--select-epoch", "last")
    assert code == 0, err
    assert "kept the last epoch (1 of 1)" in out
    record = json.loads((run / "run.json").read_text())
    assert record["config"]["select_epoch"] == "last"
    assert record["kept_epoch"] == {
        "epoch": 1,
        "epochs": 1,
        "rule": "last",
        "metric": None,
        "value": None,
        "note": None,
    }
    # An unfinished run recorded with "last" does not resume with "best".
    record["status"] = "running"
    (run / "run.json").write_text(json.dumps(record))
    (run / "results.json").unlink()
    code, _, err = run_cli(capsys, *train)
    assert code == 2 and "select_epoch: recorded 'last', now 'best'" in err


def test_a_select_epoch_that_is_not_a_choice_is_refused(capsys, tmp_path):
    for command in ("train", "reproduce"):
        with pytest.raises(SystemExit) as caught:
            main([command, *DATA, "--select-epoch", "first", "--output", str(tmp_path)])
        assert caught.value.code == 2
        err = capsys.readouterr().err
        assert "--select-epoch: invalid choice: 'first'" in err
        assert "'best', 'last'" in err
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--select-epoch {best,last}" in capsys.readouterr().out


def test_reproduce_passes_select_epoch_to_every_unit(capsys, tmp_path, monkeypatch):
    seen = {}

    def record(data, directory, **kwargs):
        seen.update(kwargs)
        raise ValueError("stop before training")

    monkeypatch.setattr(reproduction, "reproduce", record)
    argv = ["reproduce", *DATA, "--seeds", "1", "--output", tmp_path / "r"]
    assert run_cli(capsys, *argv)[0] == 2
    assert seen["select_epoch"] == "best"
    assert run_cli(capsys, *argv, "--select-epoch", "last")[0] == 2
    assert seen["select_epoch"] == "last"


def test_evaluate_takes_the_baseline_from_train_else_another_split():
    def data(*splits):
        return types.SimpleNamespace(splits=dict.fromkeys(splits))

    assert baseline_split_name(data("train", "valid", "test"), "test") == "train"
    assert baseline_split_name(data("valid", "test"), "test") == "valid"
    assert baseline_split_name(data("test"), "test") == "test"
    assert baseline_split_name(data("train", "test"), "train") == "train"
