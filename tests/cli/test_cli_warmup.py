"""`--lr-warmup-steps`: the commands' learning-rate warm-up, recorded and checked."""

import json

import pytest

from keras_umdf.cli import build_parser
from keras_umdf.cli import main
from keras_umdf.cli.dataset_options import training_settings
from keras_umdf.data import synthetic
from keras_umdf.experiments import load_umdf_model
from keras_umdf.experiments.model_building import build_model
from keras_umdf.optimizers import WARMUP_STEPS
from tests.cli.test_cli_commands import DATA
from tests.cli.test_cli_commands import TINY
from tests.cli.test_cli_commands import assert_one_line_error
from tests.cli.test_cli_commands import run_cli

# Command-line plumbing: the same on every backend.
pytestmark = pytest.mark.only_backend("tensorflow")

TRAIN = ["train", *DATA, *TINY, "--epochs", "1", "--batch-size", "8",
         "--train-samples", "8", "--conditions", "lav", "--no-curves",
         "--verbose", "0"]  # fmt: skip


def _recorded_schedule(run):
    settings = json.loads((run / "run.json").read_text())["config"]["settings"]
    model = load_umdf_model(str(run / "model.keras"))
    return settings["warmup_steps"], model.optimizer.get_config()["learning_rate"]


@pytest.mark.slow
def test_train_warms_up_by_default_and_records_the_length(capsys, tmp_path):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, *TRAIN, "--output", run)
    assert code == 0, err
    steps, rate = _recorded_schedule(run)
    assert steps == WARMUP_STEPS
    assert rate["config"] == {"learning_rate": 1e-3, "warmup_steps": WARMUP_STEPS}


def test_zero_warmup_steps_give_the_papers_plain_adam():
    args = build_parser().parse_args(
        [*TRAIN, "--lr-warmup-steps", "0", "--output", "o"]
    )
    data = synthetic("mosi", scale=0.02)
    settings = training_settings(args, data)
    assert settings["warmup_steps"] == 0
    model = build_model(data, settings)
    assert isinstance(model.optimizer.get_config()["learning_rate"], float)


@pytest.mark.parametrize(
    "flag, value, message",
    [
        (
            "--lr-warmup-steps",
            "-1",
            "--lr-warmup-steps must be >= 0 (0: no warm-up); received -1",
        ),
        ("--learning-rate", "nan", "--learning-rate: 'nan' is not a finite number"),
        ("--learning-rate", "inf", "--learning-rate: 'inf' is not a finite number"),
        ("--learning-rate", "0", "--learning-rate must be > 0 and finite; received"),
        ("--epochs", "0", "--epochs must be > 0 and finite; received 0"),
    ],
)
def test_a_bad_warmup_or_learning_rate_is_refused_before_any_work(
    capsys, tmp_path, flag, value, message
):
    output = tmp_path / "o"
    code, _, err = run_cli(capsys, *TRAIN, flag, value, "--output", output)
    assert_one_line_error(code, err, message)
    assert not output.exists()
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "--lr-warmup-steps" in capsys.readouterr().out
