"""Tiny searches end to end: each tuner, failed trials, the search directory."""

import json
import os
import shutil

import keras
import numpy as np
import pytest

from keras_umdf.data import MaskedPyDataset
from keras_umdf.data import synthetic
from tests.tuning.conftest import TINY_MODEL
from tuning import SearchSpace
from tuning import search

pytestmark = [pytest.mark.only_backend("torch"), pytest.mark.slow]

SETTINGS = dict(batch_size=32, epochs=1, verbose=0, **TINY_MODEL)
RESULT_FILES = ("results.json", "results.md", "best_model.keras", "objective.png")


@pytest.fixture(scope="module")
def random_search(tmp_path_factory, tiny):
    directory = tmp_path_factory.mktemp("random") / "search"
    results = search(tiny, directory, tuner="random", max_trials=2, **SETTINGS)
    return directory, results


def valid_mae(model, split):
    batches = MaskedPyDataset(split, training=False, batch_size=32)
    prediction = model.predict(batches, verbose=0).reshape(-1)
    return float(np.mean(np.abs(prediction - np.asarray(split.labels).reshape(-1))))


def check_results(directory, results, objective, num_trials, tiny):
    """What a user reads after any search: files, table, best model."""
    for name in RESULT_FILES:
        assert (directory / name).is_file(), name
    assert (directory / "objective.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((directory / "results.json").read_text())
    assert saved["objective"]["name"] == objective
    assert saved["num_trials"] == saved["num_completed"] == num_trials
    scores = {}
    for record in saved["trials"]:
        assert record["status"] == "COMPLETED"
        # The score is the task metric at the best epoch, never the loss.
        assert record["score"] == pytest.approx(record["metrics"][objective])
        assert record["score"] != pytest.approx(record["metrics"]["val_loss"])
        assert record["worker"] == "tuner0"
        scores[record["trial_id"]] = record["score"]
    best = saved["best"]
    direction = saved["objective"]["direction"]
    assert best["score"] == (min if direction == "min" else max)(scores.values())
    assert scores[best["trial_id"]] == best["score"]
    table = (directory / "results.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert len(rows) == num_trials
    assert rows[0].startswith(f"| 1 | {best['trial_id']} | completed |")
    # The saved best model is the best trial's at its best epoch.
    model = keras.saving.load_model(directory / "best_model.keras")
    assert model.lambda_fea == best["lambda_fea"]
    assert model.lambda_logits == best["lambda_logits"]
    best_record = next(r for r in saved["trials"] if r["trial_id"] == best["trial_id"])
    assert valid_mae(model, tiny["valid"]) == pytest.approx(
        best_record["metrics"]["val_mae"], rel=1e-4
    )
    return saved


def test_random_search_writes_the_table_the_best_model_and_the_picture(
    random_search, tiny
):
    directory, results = random_search
    saved = check_results(directory, results, "val_mae", 2, tiny)
    assert results["best"] == saved["best"]
    assert results["resumed_trials"] == 0
    assert len({r["learning_rate"] for r in saved["trials"]}) == 2  # searched
    assert saved["best"]["model_arguments"]["hidden_dim"] == 8


def test_bayesian_search_on_the_incomplete_average_overwriting_a_search(
    random_search, tmp_path, tiny
):
    # --overwrite on a copy of a finished search: only the search's own files go.
    directory = tmp_path / "copy"
    shutil.copytree(random_search[0], directory)
    (directory / "notes.txt").write_text("my notes")
    results = search(
        tiny,
        directory,
        tuner="bayesian",
        max_trials=2,
        incomplete_average=True,
        overwrite=True,
        **SETTINGS,
    )
    saved = check_results(directory, results, "val_avg_mae", 2, tiny)
    assert saved["tuner"] == "bayesian" and results["resumed_trials"] == 0
    assert saved["objective"]["incomplete_average"] is True
    for record in saved["trials"]:
        assert record["metrics"]["val_avg_mae"] != record["metrics"]["val_mae"]
    assert (directory / "notes.txt").read_text() == "my notes"
    config = json.loads((directory / "search_config.json").read_text())
    assert config["tuner"] == "bayesian"


def test_hyperband_runs_a_trial_per_bracket_and_iteration(tmp_path, tiny):
    directory = tmp_path / "hyperband"
    # max_epochs 1: one bracket of one 1-epoch trial per iteration.
    results = search(
        tiny, directory, tuner="hyperband", hyperband_iterations=2, **SETTINGS
    )
    saved = check_results(directory, results, "val_mae", 2, tiny)
    assert saved["tuner"] == "hyperband"
    assert [r["epochs"] for r in saved["trials"]] == [1, 1]  # Hyperband's budget
    assert "| epochs |" in (directory / "results.md").read_text()


def test_a_diverging_trial_is_recorded_as_failed_and_never_best(tmp_path, tiny):
    directory = tmp_path / "nan"
    results = search(
        tiny,
        directory,
        max_trials=1,
        search_space=SearchSpace(learning_rate=1e30),
        **SETTINGS,
    )
    (record,) = results["trials"]
    assert record["status"] == "FAILED" and record["score"] is None
    assert "diverged" in record["message"] and "nan" in record["message"]
    assert results["best"] is None and results["num_completed"] == 0
    assert not (directory / "best_model.keras").exists()
    table = (directory / "results.md").read_text()
    assert "| - | 0 | failed |" in table and "Training diverged" in table
    assert (directory / "objective.png").is_file()


def _trial_files(directory):
    found = {}
    for root, _, files in os.walk(directory / "trials"):
        for name in files:
            if name != "oracle.json" and not name.startswith("tuner"):
                path = os.path.join(root, name)
                found[path] = os.stat(path).st_mtime_ns
    return found


def test_restarting_a_finished_search_keeps_its_trials_and_can_extend_it(
    random_search, tiny
):
    directory, first = random_search
    before = _trial_files(directory)
    assert any(path.endswith("checkpoint.weights.h5") for path in before)
    again = search(
        tiny, directory, tuner="random", max_trials=2, save_model=False, **SETTINGS
    )
    assert again["resumed_trials"] == 2 and again["num_trials"] == 2
    assert _trial_files(directory) == before  # no trial ran or was rewritten
    assert again["best"] == first["best"]
    # More trials extend it: one new trial, the others untouched.
    extended = search(
        tiny, directory, tuner="random", max_trials=3, save_model=False, **SETTINGS
    )
    assert extended["resumed_trials"] == 2 and extended["num_completed"] == 3
    after = _trial_files(directory)
    assert {path: after[path] for path in before} == before
    assert any("trial_2" in path for path in after)


def test_other_settings_other_data_and_other_files_are_refused(
    random_search, tmp_path, tiny
):
    directory, _ = random_search
    listing = sorted(os.listdir(directory))
    with pytest.raises(ValueError, match="tuner: saved 'random', now 'bayesian'"):
        search(tiny, directory, tuner="bayesian", max_trials=2, **SETTINGS)
    other = synthetic(
        "mosi", seed=1, scale=0.02, sequence_length=8,
        modality_dims={"text": 6, "audio": 4, "vision": 3},
    )  # fmt: skip
    with pytest.raises(ValueError, match="dataset.labels_sha256.*--overwrite"):
        search(other, directory, max_trials=2, **SETTINGS)
    assert sorted(os.listdir(directory)) == listing
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    with pytest.raises(FileExistsError, match="is not a keras-umdf search"):
        search(tiny, mine, max_trials=1, overwrite=True, **SETTINGS)
    assert os.listdir(mine) == ["notes.txt"]
    with pytest.raises(FileExistsError, match="is a file"):
        search(tiny, mine / "notes.txt", max_trials=1, **SETTINGS)
    # Bad settings are refused before anything is written.
    with pytest.raises(ValueError, match="max_trials must be an int >= 1; received 0"):
        search(tiny, tmp_path / "new", max_trials=0, **SETTINGS)
    assert not (tmp_path / "new").exists()
