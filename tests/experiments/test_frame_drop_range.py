"""The frame-drop range of the training views (`p_max`, design decision 4): from
`--frame-drop-max` and `settings["p_max"]` to the batches, and refused when it
is not a rate."""

import json

import numpy as np
import pytest

from keras_umdf.cli import build_parser
from keras_umdf.cli.dataset_options import training_settings
from keras_umdf.data import synthetic
from keras_umdf.data.batches import masked_batches
from keras_umdf.experiments import training_run
from keras_umdf.modalities import DEFAULT_P_MAX
from keras_umdf.modalities import MODALITIES
from tests.cli.test_cli_commands import DATA
from tests.cli.test_cli_commands import TINY
from tests.cli.test_cli_commands import assert_one_line_error
from tests.cli.test_cli_commands import run_cli
from tuning import UMDFHyperModel

# Argument plumbing and the tf.data pipeline: the same on every backend.
pytestmark = pytest.mark.only_backend("tensorflow")

TRAIN = ["train", *DATA, *TINY, "--epochs", "1", "--batch-size", "8",
         "--train-samples", "8", "--conditions", "lav", "--no-curves",
         "--verbose", "0"]  # fmt: skip


def _kept_frame_share(p_max):
    """The share of frames kept in the present modalities of two training batches."""
    data = synthetic("mosi", scale=0.02)
    batches = masked_batches(
        data["train"], training=True, batch_size=64, seed=3, p_max=p_max
    )
    kept, frames = 0.0, 0.0
    for x, _ in batches.take(2):
        for view in ("view_a", "view_b"):
            for name in MODALITIES:
                mask = np.asarray(x[view][f"{name}_mask"])
                present = mask.max(axis=1) > 0
                kept += mask[present].sum()
                frames += mask[present].size
    return kept / frames


def test_the_batches_drop_frames_over_the_range_they_are_given():
    default = _kept_frame_share(DEFAULT_P_MAX)
    # p ~ U[0, 0.5] drops a quarter of the frames on average; p_max = 0 none.
    assert _kept_frame_share(0.0) > 1.15 * default
    assert _kept_frame_share(1.0) < 0.85 * default


def test_the_option_sets_the_range_and_is_recorded_only_when_not_the_default():
    data = synthetic("mosi", scale=0.02)
    parser = build_parser()
    given = training_settings(
        parser.parse_args([*TRAIN, "--frame-drop-max", "0.2", "--output", "o"]), data
    )
    assert given["p_max"] == 0.2
    # Runs recorded before the option existed hold no "p_max" and still resume,
    # with or without the default range given explicitly.
    for flags in ([], ["--frame-drop-max", str(DEFAULT_P_MAX)]):
        args = parser.parse_args([*TRAIN, *flags, "--output", "o"])
        assert "p_max" not in training_settings(args, data)


def test_train_model_hands_the_range_to_the_training_batches(monkeypatch, tmp_path):
    received = {}

    class Stop(Exception):
        pass

    def spy(split, **kwargs):
        if kwargs["training"]:
            received.update(kwargs)
            raise Stop
        return masked_batches(split, **kwargs)

    monkeypatch.setattr(training_run, "masked_batches", spy)
    data = synthetic("mosi", scale=0.02)
    settings = {"epochs": 1, "batch_size": 8, "num_heads": 2, "hidden_dim": 8,
                "num_layers": 1, "p_max": 0.8}  # fmt: skip
    with pytest.raises(Stop):
        training_run.train_model(
            data, tmp_path / "run", settings=settings, train_samples=8, verbose=0
        )
    assert received["p_max"] == 0.8
    recorded = json.loads((tmp_path / "run" / "run.json").read_text())
    assert recorded["config"]["settings"]["p_max"] == 0.8


@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan"])
def test_a_range_that_is_not_a_rate_is_refused_before_any_work(capsys, tmp_path, value):
    output = tmp_path / "o"
    code, _, err = run_cli(
        capsys, *TRAIN, "--frame-drop-max", value, "--output", output
    )
    assert_one_line_error(
        code, err, f"--frame-drop-max must be a rate in [0, 1]; received {value}"
    )
    assert not output.exists()


def test_the_functions_refuse_a_range_that_is_not_a_rate(tmp_path):
    data = synthetic("mosi", scale=0.02)
    with pytest.raises(ValueError, match=r'settings\["p_max"\]=1.5'):
        training_run.train_model(
            data, tmp_path / "run", settings={"p_max": 1.5}, verbose=0
        )
    assert not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match="p_max=-1"):
        UMDFHyperModel.for_dataset(data, p_max=-1)


def test_a_search_records_the_range_only_when_it_is_not_the_default():
    data = synthetic("mosi", scale=0.02)
    assert "p_max" not in UMDFHyperModel.for_dataset(data).to_dict()
    assert UMDFHyperModel.for_dataset(data, p_max=0.3).to_dict()["p_max"] == 0.3
