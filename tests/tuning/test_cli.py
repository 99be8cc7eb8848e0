"""`keras-umdf tune`: how its flags build the search, and its refusals."""

import json
import socket
import sys
import threading

import keras_tuner
import pytest

from keras_umdf.cli import build_parser
from keras_umdf.cli import main
from keras_umdf.cli.tune import search_space_from_args
from tests.tuning.conftest import TINY_FLAGS
from tuning import DistributedSettings
from tuning.distributed import serve_oracle

pytestmark = pytest.mark.only_backend("torch")


def parse(*flags):
    return build_parser().parse_args(
        ["tune", "--dataset", "mosi", "--directory", "d", *flags]
    )


def test_the_command_offers_every_tuner_and_objective():
    import tuning
    from keras_umdf.cli import tune

    assert tune.TUNERS == tuning.TUNER_NAMES
    assert tune.METRICS == tuple(tuning.OBJECTIVE_METRICS)


def test_flags_override_the_file_which_overrides_the_defaults(tmp_path):
    path = tmp_path / "space.json"
    path.write_text(
        json.dumps(
            {
                "lambda_fea": [0.001, 1],
                "lambda_logits": [0.1, 1],
                "learning_rate": 0.002,
            }
        )
    )
    space = search_space_from_args(
        parse(
            "--search-space", str(path), "--lambda-fea", "0.05", "5",
            "--no-lambda-off", "--search-hidden-dim", "16", "32",
        )
    )  # fmt: skip
    assert space.lambda_fea == (0.05, 5.0)  # flag
    assert space.lambda_logits == (0.1, 1.0)  # file
    assert space.learning_rate == 0.002  # file
    assert space.lambda_off is False and space.hidden_dim == (16, 32)
    assert space.num_layers is None  # default: fixed
    # A fixed --learning-rate takes the rate out of the search.
    assert (
        search_space_from_args(parse("--learning-rate", "0.01")).learning_rate is None
    )


@pytest.mark.parametrize(
    "flags, message",
    [
        (
            ["--learning-rate", "1e-3", "--search-learning-rate", "1e-4", "1e-2"],
            "--learning-rate 0.001 fixes learning_rate but --search-learning-rate",
        ),
        (["--lambda-fea", "0", "1"], "0 cannot lie on a log scale"),
        (["--oracle-port", "8000"], "without a tuner id"),
        (["--tuner-id", "tuner0"], "needs the oracle's port"),
    ],
)
def test_contradictory_or_bad_flags_exit_with_a_message(flags, message, capsys):
    assert main(["tune", "--dataset", "mosi", "--directory", "d", *flags]) == 2
    assert message in capsys.readouterr().err


def test_a_foreign_directory_and_a_deleting_worker_are_refused(
    tmp_path, tiny_pickle, capsys
):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    base = ["tune", "--dataset", tiny_pickle, *TINY_FLAGS]
    assert main([*base, "--directory", str(mine)]) == 2
    assert "is not a keras-umdf search" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    worker = ["--tuner-id", "tuner0", "--oracle-port", "8000", "--overwrite"]
    assert main([*base, "--directory", str(tmp_path / "new"), *worker]) == 2
    assert "only the chief may delete" in capsys.readouterr().err


def test_a_chief_whose_port_is_taken_says_so_instead_of_waiting(tmp_path):
    class Tuner:  # What serve_oracle uses of a tuner.
        oracle = keras_tuner.oracles.RandomSearchOracle(max_trials=1)

        def save(self):
            pass

    errors = []
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        def serve():
            try:
                serve_oracle(Tuner(), DistributedSettings("chief", port=port))
            except OSError as error:
                errors.append(error)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        thread.join(timeout=60)
    assert errors and f"cannot listen on 127.0.0.1:{port}" in str(errors[0])


def test_bayesian_without_scikit_learn_says_what_to_install_and_writes_nothing(
    tmp_path, tiny_pickle, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn fails
    directory = tmp_path / "search"
    args = ["tune", "--dataset", tiny_pickle, *TINY_FLAGS, "--tuner", "bayesian"]
    assert main([*args, "--directory", str(directory)]) == 2
    message = capsys.readouterr().err
    assert 'pip install "keras-umdf[bayesian]"' in message
    assert "pip install scikit-learn" in message
    assert not directory.exists()
