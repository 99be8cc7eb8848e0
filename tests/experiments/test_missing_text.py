"""UMDF against SDUMC with the text missing: `keras-umdf reproduce --models`."""

import json
import os
import shutil

import numpy as np
import pytest

from keras_umdf import SDUMC
from keras_umdf.cli import main
from keras_umdf.experiments import missing_text
from keras_umdf.experiments.missing_text import COMPARISON_CONDITIONS
from keras_umdf.experiments.missing_text import parse_models
from keras_umdf.experiments.run_directory import RunDirectory
from keras_umdf.modalities import INCOMPLETE_CONDITIONS

# The comparison's bookkeeping does not depend on the backend; the models it
# trains are tested on every backend in tests/models.
pytestmark = pytest.mark.only_backend("torch")
COMMAND = [
    "reproduce",
    "--dataset",
    "mosei",
    "--models",
    "umdf,sdumc",
    "--scale",
    "0.004",
    "--epochs",
    "1",
    "--hidden-dim",
    "8",
    "--num-heads",
    "2",
    "--num-layers",
    "1",
    "--seeds",
    "2",
]
SETTINGS = dict(
    epochs=1, batch_size=16, hidden_dim=8, num_heads=2, num_layers=1, learning_rate=1e-3
)
HEADINGS = ("{l}", "{a}", "{v}", "{l,a}", "{l,v}", "{a,v}", "Avg.", "{l,a,v}")


@pytest.fixture(scope="module")
def eager():
    """Tiny models train faster step by step than TensorFlow traces them."""
    import tensorflow as tf

    tf.config.run_functions_eagerly(True)
    yield
    tf.config.run_functions_eagerly(False)


@pytest.fixture(scope="module")
def tiny_mosei():
    """Synthetic MOSEI with a pseudo text, shrunk: 8 frames, narrow features."""
    from keras_umdf.data import synthetic

    return synthetic(
        "mosei",
        scale=0.004,
        sequence_length=8,
        modality_dims={"text": 12, "audio": 6, "vision": 5},
        pseudo_text=True,
        pseudo_text_dim=7,
    )


def compare(data, output, **kwargs):
    """The comparison on 16 training clips (one step an epoch), 2 seeds."""
    return missing_text.compare_missing_text(
        data,
        output,
        settings=SETTINGS,
        seeds=(0, 1),
        train_samples=16,
        verbose=0,
        **kwargs,
    )


@pytest.fixture(scope="module")
def comparison(tmp_path_factory, tiny_mosei, eager):
    """One end-to-end comparison: 2 models x 2 seeds, 1 epoch."""
    output = str(tmp_path_factory.mktemp("missing-text") / "out")
    compare(tiny_mosei, output, progress=None)
    with open(os.path.join(output, "results.json")) as file:
        document = json.load(file)
    return output, document


@pytest.mark.slow
def test_the_command_writes_both_models_under_eight_conditions(comparison):
    output, document = comparison
    assert set(document["models"]) == {"UMDF", "SDUMC"}
    assert document["seeds"] == [0, 1]
    assert document["config"]["pseudo_text"] is True
    for name, record in document["models"].items():
        assert set(record["seeds"]) == {"0", "1"}
        summary = record["summary"]
        assert set(summary) == {*COMPARISON_CONDITIONS, "avg"}, name
        maes = [record["seeds"][s]["text_missing"]["mae"] for s in ("0", "1")]
        np.testing.assert_allclose(summary["text_missing"]["mae"], np.mean(maes))
        assert summary["text_missing"]["mae_std"] >= 0
    assert set(document["winners"]) == {*COMPARISON_CONDITIONS, "avg"}
    umdf = document["models"]["UMDF"]["summary"]["text_missing"]["mae"]
    sdumc = document["models"]["SDUMC"]["summary"]["text_missing"]["mae"]
    assert document["winners"]["text_missing"]["mae"] == (
        "UMDF" if umdf < sdumc else "SDUMC"
    )
    with open(os.path.join(output, "results.md")) as file:
        report = file.read()
    header = next(line for line in report.splitlines() if line.startswith("| Model"))
    assert [c.strip() for c in header.strip("|").split("|")] == [
        "Model",
        *HEADINGS,
        "text_missing",
    ]
    assert "| UMDF |" in report and "| SDUMC |" in report
    # The table ends with predicting the mean of the 16 training clips.
    baseline = document["baseline"]
    assert baseline["num_samples"] == 16 and baseline["source"] == "train"
    row = next(line for line in report.splitlines() if "| Predict the " in line)
    assert row.startswith(
        f"| Predict the training mean | {baseline['metrics']['mae']:.3f} / "
    )
    winner = document["winners"]["text_missing"]["mae"]
    assert f"- text_missing: MAE: **{winner}**" in report
    for unit in ("umdf/seed-0", "umdf/seed-1", "sdumc/seed-0", "sdumc/seed-1"):
        for name in ("model.keras", "evaluation.json"):
            assert os.path.exists(os.path.join(output, "runs", unit, name)), unit


@pytest.mark.slow
def test_resume_skips_finished_units(comparison, tiny_mosei, monkeypatch):
    output, document = comparison
    copy = output + "-interrupted"
    shutil.copytree(output, copy)
    # As if cut off after the last unit, before the results were written.
    RunDirectory(copy, "missing_text").update(status="running")
    for name in ("results.json", "results.md"):
        os.remove(os.path.join(copy, name))

    def not_again(*args, **kwargs):
        raise AssertionError("a finished unit was trained or tested again")

    monkeypatch.setattr(missing_text, "train_model", not_again)
    monkeypatch.setattr(missing_text, "evaluate_conditions", not_again)
    monkeypatch.setattr(SDUMC, "fit", not_again)
    lines = []
    compare(tiny_mosei, copy, progress=lines.append)
    assert sum("done earlier" in line for line in lines) == 4
    with open(os.path.join(copy, "results.json")) as file:
        resumed = json.load(file)
    assert resumed["models"] == document["models"]
    assert resumed["winners"] == document["winners"]


@pytest.mark.slow
def test_a_finished_comparison_is_not_overwritten(comparison, tiny_mosei):
    output, _ = comparison
    path = os.path.join(output, "results.json")
    before = os.path.getmtime(path)
    with pytest.raises(FileExistsError, match="already holds a finished run"):
        compare(tiny_mosei, output, progress=None)
    assert os.path.getmtime(path) == before


def test_the_command_line_flag_runs_the_comparison(monkeypatch, tmp_path, capsys):
    calls = []

    def fake_compare(data, directory, **kwargs):
        calls.append((data, directory, kwargs))
        raise ValueError("comparison reached")

    monkeypatch.setattr(missing_text, "compare_missing_text", fake_compare)
    output = str(tmp_path / "out")
    assert main([*COMMAND, "--output", output]) == 2
    assert "comparison reached" in capsys.readouterr().err
    ((data, directory, kwargs),) = calls
    assert directory == output and data.name == "synthetic-mosei"
    assert "pseudo_text" in data.modality_dims  # synthetic data gets one
    assert kwargs["models"] == ("UMDF", "SDUMC") and kwargs["seeds"] == (0, 1)
    assert kwargs["conditions"][-1] == "text_missing" and len(kwargs["conditions"]) == 8
    assert kwargs["settings"]["epochs"] == 1 and kwargs["settings"]["hidden_dim"] == 8
    # Without --models, reproduce runs the paper's variants as before.
    import keras_umdf.experiments.reproduction as reproduction

    def fake_reproduce(*args, **kwargs):
        raise ValueError("variants reached")

    monkeypatch.setattr(reproduction, "reproduce", fake_reproduce)
    default = [a for a in COMMAND if a not in ("--models", "umdf,sdumc")]
    assert main([*default, "--output", output]) == 2
    assert "variants reached" in capsys.readouterr().err


def test_models_are_parsed_and_checked(capsys, tmp_path):
    assert parse_models("umdf,SDUMC") == ("UMDF", "SDUMC")
    with pytest.raises(ValueError, match="unknown model 'mult'"):
        parse_models("umdf,mult")
    with pytest.raises(ValueError, match="listed twice"):
        parse_models("sdumc,sdumc")
    output = str(tmp_path / "out")
    assert main([*COMMAND[:3], "--models", "umdf,foo", "--output", output]) == 2
    assert "unknown model 'foo'" in capsys.readouterr().err
    assert not os.path.exists(output)


@pytest.mark.slow
def test_protocol_reports_text_missing_outside_the_average(comparison):
    _, document = comparison
    for record in document["models"].values():
        for results in record["seeds"].values():
            assert set(results) == {*COMPARISON_CONDITIONS, "avg"}
            for metric in ("mae", "non0_f1"):
                six = [results[c][metric] for c in INCOMPLETE_CONDITIONS]
                np.testing.assert_allclose(results["avg"][metric], np.mean(six))
    # UMDF has no pseudo-text input: under text_missing it sees audio and vision.
    for results in document["models"]["UMDF"]["seeds"].values():
        assert results["text_missing"] == results["av"]
