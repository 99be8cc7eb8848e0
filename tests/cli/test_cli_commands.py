"""`keras-umdf` commands: errors as one line, predict on partial inputs, and the
train -> evaluate -> predict path end to end."""

import csv
import json
import os
import pickle
import zipfile

import keras
import numpy as np
import pytest

import keras_umdf
from keras_umdf.cli import main
from keras_umdf.evaluation.report import read_results

# Command-line plumbing: the same on every backend.
pytestmark = pytest.mark.only_backend("tensorflow")

PAPER_DIMS = {"text": 300, "audio": 74, "vision": 35}
TINY = ["--hidden-dim", "8", "--num-heads", "2", "--num-layers", "1"]
DATA = ["--dataset", "mosi", "--scale", "0.02"]  # synthetic MOSI, 14 test clips


def run_cli(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit:  # a usage error, one line too
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def untrained_model(tmp_path_factory):
    """A saved UMDF for the paper's feature widths (untrained: predict and
    evaluate only need a model file)."""
    keras.utils.set_random_seed(0)
    model = keras_umdf.UMDF(PAPER_DIMS, hidden_dim=8, num_heads=2, num_layers=1)
    path = tmp_path_factory.mktemp("model") / "model.keras"
    model.save(path)
    return path


def test_unknown_dataset_or_format_is_one_line(capsys, tmp_path):
    code, _, err = run_cli(
        capsys, "train", "--dataset", "nope.pkl", "--output", tmp_path / "o"
    )
    assert_one_line_error(code, err, "keras-umdf train: error:", "'nope.pkl'")
    code, _, err = run_cli(
        capsys, "train", "--dataset", "mosi", "--format", "mult", "--output", tmp_path
    )
    assert_one_line_error(code, err, "MulT pickle not found: 'mosi'")
    assert not (tmp_path / "o").exists()


def test_missing_or_foreign_model_files_are_one_line(capsys, tmp_path):
    out = tmp_path / "report"
    code, _, err = run_cli(
        capsys, "evaluate", "--model", tmp_path / "none.keras", *DATA, "--output", out
    )
    assert_one_line_error(code, err, "No model file", "none.keras")
    text = tmp_path / "notes.keras"
    text.write_text("not a model")
    code, _, err = run_cli(capsys, "evaluate", "--model", text, *DATA, "--output", out)
    assert_one_line_error(code, err, "is not a Keras model file")
    archive = tmp_path / "other.keras"
    with zipfile.ZipFile(archive, "w") as file:
        file.writestr("config.json", '{"class_name": "Nothing"}')
    code, _, err = run_cli(
        capsys, "evaluate", "--model", archive, *DATA, "--output", out
    )
    assert_one_line_error(code, err, "Could not load", "other.keras")
    dense = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    dense.save(tmp_path / "dense.keras")
    code, _, err = run_cli(
        capsys, "evaluate", "--model", tmp_path / "dense.keras", *DATA, "--output", out
    )
    assert_one_line_error(code, err, "not a keras_umdf model")
    assert not out.exists()


def test_a_model_of_other_widths_is_refused_before_evaluating(capsys, tmp_path):
    model = keras_umdf.UMDF({"text": 6, "audio": 5, "vision": 4}, hidden_dim=8,
                            num_heads=2, num_layers=1)  # fmt: skip
    model.save(tmp_path / "small.keras")
    code, _, err = run_cli(
        capsys,
        "evaluate",
        "--model",
        tmp_path / "small.keras",
        *DATA,
        "--output",
        tmp_path / "o",
    )
    assert_one_line_error(code, err, "built for modality widths", "'text': 300")


def test_unknown_conditions_and_nothing_to_evaluate_are_one_line(
    capsys, tmp_path, untrained_model
):
    out = tmp_path / "report"
    evaluate = ["evaluate", "--model", untrained_model, *DATA, "--output", out]
    code, _, err = run_cli(capsys, *evaluate, "--conditions", "l,lx")
    assert_one_line_error(
        code,
        err,
        "keras-umdf evaluate: error: --conditions: Unknown test condition 'lx'",
    )
    code, _, err = run_cli(capsys, *evaluate, "--conditions", "none", "--no-curves")
    assert_one_line_error(
        code, err, "Nothing to evaluate: --conditions none with --no-curves"
    )
    assert not out.exists()


def test_output_directories_are_never_overwritten_without_the_flag(capsys, tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    code, _, err = run_cli(capsys, "train", *DATA, "--output", tmp_path)
    assert_one_line_error(code, err, "not a keras_umdf run (keep.txt)", "--overwrite")
    assert (tmp_path / "keep.txt").read_text() == "mine"
    blocker = tmp_path / "keep.txt"
    code, _, err = run_cli(capsys, "train", *DATA, "--output", blocker / "run")
    assert_one_line_error(code, err, "keep.txt")  # cannot be created: one line
    with pytest.raises(FileExistsError):
        main(["--debug", "train", *DATA, "--output", str(tmp_path)])


def write_npz(path, n=5, skip=("vision",), **extra):
    rng = np.random.default_rng(0)
    arrays = {
        m: rng.normal(size=(n, 50, d)).astype("float32")
        for m, d in PAPER_DIMS.items()
        if m not in skip
    }
    np.savez(path, **arrays, **extra)
    return arrays


def test_predict_an_npz_with_a_missing_modality(capsys, tmp_path, untrained_model):
    arrays = write_npz(tmp_path / "clips.npz", ids=np.array(list("abcde")))
    out = tmp_path / "predictions.csv"
    code, stdout, err = run_cli(
        capsys, "predict", "--model", untrained_model, "--input",
        tmp_path / "clips.npz", "--output", out,
    )  # fmt: skip
    assert code == 0, err
    assert "(missing: vision)" in stdout
    rows = list(csv.DictReader(out.open()))
    assert [r["id"] for r in rows] == list("abcde") and list(rows[0]) == [
        "id",
        "prediction",
    ]
    # The same as the model on zeros for vision.
    model = keras.saving.load_model(untrained_model)
    view = {**arrays, "vision": np.zeros((5, 50, 35), "float32")}
    expected = model.predict(view, verbose=0).reshape(-1)
    np.testing.assert_allclose(
        [float(r["prediction"]) for r in rows], expected, rtol=1e-4, atol=1e-5
    )
    code, _, err = run_cli(
        capsys, "predict", "--model", untrained_model, "--input",
        tmp_path / "clips.npz", "--output", out,
    )  # fmt: skip
    assert_one_line_error(code, err, "already exists", "--overwrite")
    code, _, err = run_cli(
        capsys, "predict", "--model", untrained_model, "--input",
        tmp_path / "clips.npz", "--output", tmp_path / "p.json", "--condition", "v",
    )  # fmt: skip
    assert_one_line_error(code, err, "nothing to predict from")


def test_predict_refuses_arrays_of_the_wrong_width(capsys, tmp_path, untrained_model):
    np.savez(tmp_path / "bad.npz", text=np.zeros((2, 50, 299), "float32"))
    code, _, err = run_cli(
        capsys, "predict", "--model", untrained_model, "--input",
        tmp_path / "bad.npz", "--output", tmp_path / "p.csv",
    )  # fmt: skip
    assert_one_line_error(code, err, "'text' has shape (2, 50, 299)", "(N, T, 300)")


@pytest.mark.slow
def test_train_evaluate_predict_end_to_end(capsys, tmp_path):
    run = tmp_path / "run"
    code, out, err = run_cli(
        capsys, "train", *DATA, *TINY, "--epochs", "2", "--batch-size", "8",
        "--distillation-warmup", "3", "--verbose", "2", "--output", run,
    )  # fmt: skip
    assert code == 0, err
    for name in ("model.keras", "history.json", "history.csv", "results.json",
                 "results.md", "run.json"):  # fmt: skip
        assert (run / name).is_file(), name
    assert list((run / "logs").rglob("events.out.tfevents*")), "no TensorBoard log"
    assert "condition {l,v}: MAE" in out and "Epoch 2/2" in out
    history = json.loads((run / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]
    assert {"loss", "task_loss", "fea_loss", "mae", "non0_f1", "val_mae"} <= set(
        history[0]
    )
    results = read_results(run / "results.json")
    summary = results["runs"]["UMDF"]["summary"]
    assert set(summary["conditions"]) == {"l", "a", "v", "la", "lv", "av", "lav", "avg"}
    assert len(summary["frame_drop"]) == 11
    assert results["config"]["training"]["epochs"] == 2
    assert results["config"]["distillation_warmup"] == 3
    table = (run / "results.md").read_text()
    header = next(line for line in table.splitlines() if line.startswith("| Model"))
    for heading in ("{l}", "{a}", "{v}", "{l,a}", "{l,v}", "{a,v}", "Avg.", "{l,a,v}"):
        assert f"| {heading} |" in header + " |"
    # The epoch kept is the one with the best validation MAE.
    best = min(history, key=lambda row: row["val_mae"])
    assert results["config"]["kept_epoch"]["epoch"] == best["epoch"]
    assert f"kept epoch {best['epoch']} of 2 (val_mae" in out
    # The tables end with predicting the mean of the training labels.
    assert results["baseline"]["name"] == "Predict the training mean"
    assert "| Predict the training mean |" in table
    # A finished run is not trained again.
    code, _, err = run_cli(capsys, "train", *DATA, *TINY, "--epochs", "2",
                           "--batch-size", "8", "--output", run)  # fmt: skip
    assert_one_line_error(code, err, "already holds a finished run")

    report = tmp_path / "report"
    code, out, err = run_cli(
        capsys, "evaluate", "--model", run / "model.keras", *DATA,
        "--conditions", "l,lav", "--no-curves", "--output", report,
    )  # fmt: skip
    assert code == 0, err
    evaluated_document = read_results(report / "results.json")
    evaluated = evaluated_document["runs"]["model"]["summary"]
    assert set(evaluated) == {"conditions"}
    # evaluate takes the baseline from the dataset's train split (all of it).
    assert evaluated_document["baseline"]["source"] == "train"
    assert "| Predict the training mean |" in out
    # The same model on the same clips; Corr near 0 differs in its 7th digit
    # between the training process's model and the one loaded from the file.
    assert evaluated["conditions"]["l"] == pytest.approx(
        summary["conditions"]["l"], rel=1e-6, abs=1e-6
    )

    code, out, err = run_cli(
        capsys, "predict", "--model", run / "model.keras", "--input", "mosi",
        "--scale", "0.02", "--output", tmp_path / "test.json",
    )  # fmt: skip
    assert code == 0, err
    predictions = json.loads((tmp_path / "test.json").read_text())["predictions"]
    assert len(predictions) == results["dataset"]["num_samples"]
    assert {"id", "prediction", "label"} <= set(predictions[0])


class _Refused:
    """Pickles as a call of os.getcwd: a global the restricted unpickler refuses
    (harmless were it run)."""

    def __reduce__(self):
        return (os.getcwd, ())


def _unreadable_pickles(directory):
    """Dataset files that are not usable pickles, by what is wrong with them."""
    whole = pickle.dumps({"train": {"text": np.zeros((2, 3, 4), "float32")}})
    contents = {
        "empty": b"",
        "truncated": whole[: len(whole) // 2],
        "random": b"\x00not a pickle\xff" * 8,
        "refused": pickle.dumps({"train": _Refused()}),
    }
    for name, content in contents.items():
        path = directory / f"{name}.pkl"
        path.write_bytes(content)
        yield name, path


@pytest.mark.parametrize("command", ["train", "tune"])
def test_an_unreadable_or_refused_pickle_is_one_line_that_names_it(
    capsys, tmp_path, command
):
    for name, path in _unreadable_pickles(tmp_path):
        output = tmp_path / f"out-{command}-{name}"
        where = "--directory" if command == "tune" else "--output"
        code, _, err = run_cli(capsys, command, "--dataset", path, where, output)
        assert_one_line_error(code, err, str(path))
        assert not output.exists(), name
