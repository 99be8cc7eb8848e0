"""`keras-umdf reproduce` end to end: 2 seeds x 2 variants, interrupted and resumed."""

import json
import warnings

import pytest

from keras_umdf.cli import main
from keras_umdf.evaluation.report import read_results
from keras_umdf.experiments import reproduction

# Orchestration (units on disk, resume bookkeeping, report files): the same on
# every backend, and quickest on eager PyTorch (nothing to trace per model); the
# exactness of a resumed training run is tested per backend in tests/experiments,
# the frame-drop curves in tests/evaluation and tests/cli/test_cli_commands.py.
pytestmark = [pytest.mark.only_backend("torch"), pytest.mark.slow]

REPRODUCE = [
    "reproduce", "--dataset", "mosi", "--scale", "0.02", "--hidden-dim", "8",
    "--num-heads", "2", "--num-layers", "1", "--batch-size", "8",
    "--train-samples", "16", "--epochs", "1", "--seeds", "0,1",
    "--variants", "umdf,wo-distillation", "--no-curves", "--verbose", "0",
]  # fmt: skip
UNITS = [
    ("UMDF", 0, "umdf"),
    ("UMDF", 1, "umdf"),
    ("w/o distillation", 0, "wo-distillation"),
    ("w/o distillation", 1, "wo-distillation"),
]


def test_reproduce_is_interrupted_then_resumed_without_redoing_units(
    capsys, tmp_path, monkeypatch
):
    output = tmp_path / "repro"
    evaluate = reproduction.evaluate_protocol
    calls = []

    def interrupted_on_the_third_unit(*args, **kwargs):
        calls.append(kwargs["seed"])
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C after the third unit's training
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(
        reproduction, "evaluate_protocol", interrupted_on_the_third_unit
    )
    assert main([*REPRODUCE, "--output", str(output)]) == 130
    out, err = capsys.readouterr()
    assert "interrupted; run the same command again to resume" in err
    assert "Traceback" not in err
    unit_dirs = [output / "runs" / slug / f"seed-{seed}" for _, seed, slug in UNITS]
    finished = [(d / reproduction.UNIT_RESULTS).is_file() for d in unit_dirs]
    assert finished == [True, True, False, False]
    assert (unit_dirs[2] / "model.keras").is_file()  # trained, not evaluated
    assert not (output / "results.json").exists()
    assert json.loads((output / "run.json").read_text())["status"] == "running"
    first_results = (unit_dirs[0] / reproduction.UNIT_RESULTS).read_text()
    model_time = (unit_dirs[0] / "model.keras").stat().st_mtime_ns

    monkeypatch.setattr(reproduction, "evaluate_protocol", evaluate)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main([*REPRODUCE, "--output", str(output)]) == 0
    # Plain training leaves f_y without gradient by design: no warning about it.
    assert not [w for w in caught if "Gradients do not exist" in str(w.message)]
    out, err = capsys.readouterr()
    assert "resuming the reproduction" in out
    assert "[1/4] UMDF, seed 0: done earlier" in out
    assert "[2/4] UMDF, seed 1: done earlier" in out
    assert "finished run found, not trained again" in out  # unit 3's model
    assert "[4/4] w/o distillation, seed 1: training" in out
    trained = [line for line in out.splitlines() if line.endswith(": training")]
    assert trained == [
        "[3/4] w/o distillation, seed 0: training",  # reloaded, then evaluated
        "[4/4] w/o distillation, seed 1: training",
    ]
    # Finished units are left as they were.
    assert (unit_dirs[0] / reproduction.UNIT_RESULTS).read_text() == first_results
    assert (unit_dirs[0] / "model.keras").stat().st_mtime_ns == model_time
    assert all((d / reproduction.UNIT_RESULTS).is_file() for d in unit_dirs)

    document = read_results(output / "results.json")
    assert document["seeds"] == [0, 1]
    assert list(document["runs"]) == ["UMDF", "w/o distillation"]
    for run in document["runs"].values():
        assert set(run["summary"]["conditions"]) == {
            "l", "a", "v", "la", "lv", "av", "lav", "avg"
        }  # fmt: skip
        assert [int(seed) for seed in run["seeds"]] == [0, 1]
    table = (output / "results.md").read_text()
    assert "| UMDF |" in table and "| w/o distillation |" in table
    assert "| {a,v} | Avg. | {l,a,v} |" in table
    assert "| Predict the training mean |" in table
    assert document["baseline"]["num_samples"] == 16  # --train-samples
    tsne = (output / "figures" / "tsne.png").read_bytes()  # Figure 6
    assert tsne[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((output / "run.json").read_text())["status"] == "finished"

    # A finished reproduction is refused, not overwritten, without --overwrite.
    assert main([*REPRODUCE, "--output", str(output)]) == 2
    _, err = capsys.readouterr()
    assert "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert read_results(output / "results.json") == document


def test_tuned_distillation_weights_reach_every_variant(capsys, tmp_path, monkeypatch):
    seen = {}

    def record(data, directory, **kwargs):
        seen.update(kwargs)
        raise ValueError("stop before training")

    monkeypatch.setattr(reproduction, "reproduce", record)
    weights = ["--lambda-fea", "0.3", "--lambda-logits", "0.1"]
    warmup = ["--distillation-warmup", "40"]
    assert main([*REPRODUCE, *weights, *warmup, "--output", str(tmp_path / "r")]) == 2
    assert "stop before training" in capsys.readouterr().err
    assert seen["model_arguments"] == {
        "lambda_fea": 0.3,
        "lambda_logits": 0.1,
        "distillation_warmup": 40,
    }
    assert seen["variants"] == ("UMDF", "w/o distillation")

    code = main([*REPRODUCE, "--lambda-logits", "-1", "--output", str(tmp_path / "n")])
    err = capsys.readouterr().err
    assert code == 2 and "--lambda-logits must be >= 0; received -1.0." in err
    code = main(
        [*REPRODUCE, "--distillation-warmup", "-3", "--output", str(tmp_path / "n")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--distillation-warmup must be >= 0; received -3." in err
    code = main(
        [*REPRODUCE, "--models", "umdf,sdumc", *weights, "--output", str(tmp_path)]
    )
    assert code == 2 and "do not apply with --models" in capsys.readouterr().err
