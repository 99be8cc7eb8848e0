"""Every bad input gets one line and nothing is lost.

For each bad input the command exits with status 2 and prints exactly one line
on stderr that names the file or flag (never a traceback), and its output
directory is not created, or, when it existed, is left byte for byte as it was.
The commands run in-process (`keras_umdf.cli.main`), on tiny synthetic data or
files the tests write.
"""

import hashlib
import json
import os
import pickle

import keras
import numpy as np
import pytest

import keras_umdf
from keras_umdf.cli import main
from keras_umdf.experiments.run_directory import RunDirectory

# Command-line plumbing: the same on every backend.
pytestmark = pytest.mark.only_backend("tensorflow")

PAPER_DIMS = {"text": 300, "audio": 74, "vision": 35}
TINY = ["--hidden-dim", "8", "--num-heads", "2", "--num-layers", "1"]
DATA = ["--dataset", "mosi", "--scale", "0.02"]  # synthetic MOSI, 26 train clips
FAST = [*TINY, "--epochs", "1", "--no-curves", "--conditions", "l", "--verbose", "0"]


def mult_dict(rng, sizes=None, steps=4, dims=(6, 3, 4)):
    """A small MulT dict: split -> text/audio/vision, labels (N, 1, 1), id."""
    sizes = sizes or {"train": 6, "valid": 3, "test": 3}
    data = {}
    for split, num in sizes.items():
        entry = {
            m: rng.normal(size=(num, steps, d)).astype(np.float32)
            for m, d in zip(("text", "audio", "vision"), dims, strict=True)
        }
        entry["labels"] = rng.uniform(-3, 3, size=(num, 1, 1)).astype(np.float32)
        entry["id"] = np.array([[f"{split}{i}".encode()] for i in range(num)])
        data[split] = entry
    return data


def write_pickle(path, data):
    with open(path, "wb") as file:
        pickle.dump(data, file)
    return path


def no_frames(d):
    for entry in d.values():
        entry["audio"] = entry["audio"][:, :0]
    return d


def empty_test(d):
    d["test"] = {k: v[:0] for k, v in d["test"].items()}
    return d


def nan_feature(d):
    d["train"]["vision"][2, 1, 0] = np.nan
    return d


def inf_feature(d):
    d["valid"]["text"][0, 0, 0] = np.inf
    return d


def nan_label(d):
    d["train"]["labels"][1] = np.nan
    return d


def write_files(root, rng):
    """The bad files of the table, by name."""
    files = {}
    for name, damage in [
        ("no_frames", no_frames),
        ("empty_split", empty_test),
        ("nan_feature", nan_feature),
        ("inf_feature", inf_feature),
        ("nan_label", nan_label),
    ]:
        files[name] = write_pickle(root / f"{name}.pkl", damage(mult_dict(rng)))
    files["not_a_pickle"] = root / "notes.pkl"
    files["not_a_pickle"].write_text("not a pickle")
    # An HDF5 file whose superblock is damaged (version byte).
    import h5py

    good = root / "good.csd"
    with h5py.File(good, "w") as file:
        file.create_group("text/data")
    raw = bytearray(good.read_bytes())
    raw[8] = 99
    files["bad_csd"] = root / "bad.csd"
    files["bad_csd"].write_bytes(bytes(raw))
    files["object_npz"] = root / "objects.npz"
    np.savez(files["object_npz"], text=np.array([{"a": 1}], dtype=object))
    return files


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A saved (untrained) model, a finished training run holding it, and the
    bad files."""
    root = tmp_path_factory.mktemp("bad_inputs")
    keras.utils.set_random_seed(0)
    model = keras_umdf.UMDF(PAPER_DIMS, hidden_dim=8, num_heads=2, num_layers=1)
    model_path = root / "model.keras"
    model.save(model_path)
    run_dir = root / "trained"
    run = RunDirectory(run_dir, "train")
    run.prepare({"settings": {"epochs": 1}})
    model.save(run_dir / "model.keras")
    (run_dir / "history.json").write_text("[]")
    (run_dir / "logs").mkdir()
    (run_dir / "logs" / "events").write_text("log")
    run.mark_finished()
    files = write_files(root, np.random.default_rng(0))
    return {"root": root, "model": model_path, "trained": run_dir, **files}


def flag_case(flag, value):
    return lambda w, out: ["train", *DATA, *FAST, flag, value, "--output", out]


def train(dataset, *extra):
    return ["train", "--dataset", dataset, *FAST, *extra]


# (id, argv from the world and the output directory, what the line must name,
#  the output directory: "new" (must not be created) or a world key (unchanged))
CASES = [
    # Issue 24's bad inputs.
    (
        "evaluate --overwrite into the model's own training run",
        lambda w, out: [
            "evaluate",
            "--model",
            w["trained"] / "model.keras",
            *DATA,
            "--no-curves",
            "--conditions",
            "l",
            "--output",
            w["trained"],
            "--overwrite",
        ],  # fmt: skip
        "'train' run",
        "trained",
    ),
    (
        "heads that do not divide the width",
        lambda w, out: ["train", *DATA, *FAST, "--num-heads", "3", "--output", out],
        "num_heads=3",
        "new",
    ),
    (
        "a split with T = 0",
        lambda w, out: train(str(w["no_frames"]), "--output", out),
        "no_frames.pkl",
        "new",
    ),  # fmt: skip
    (
        "a split with 0 clips",
        lambda w, out: train(str(w["empty_split"]), "--output", out),
        "empty_split.pkl",
        "new",
    ),  # fmt: skip
    (
        "--eval-batch-size 0",
        lambda w, out: [
            "train",
            *DATA,
            *FAST,
            "--eval-batch-size",
            "0",
            "--output",
            out,
        ],
        "--eval-batch-size",
        "new",
    ),  # fmt: skip
    (
        "an unknown --curve-condition",
        lambda w, out: [
            "train",
            *DATA,
            *FAST,
            "--curve-condition",
            "lx",
            "--output",
            out,
        ],
        "--curve-condition",
        "new",
    ),  # fmt: skip
    *[
        (f"{flag} {value}", flag_case(flag, value), flag, "new")
        for flag, value in [
            ("--scale", "nan"),
            ("--scale", "inf"),
            ("--lambda-fea", "inf"),
            ("--lambda-logits", "nan"),
            ("--learning-rate", "nan"),
            ("--learning-rate", "-inf"),
        ]
    ],
    (
        "reproduce --lambda-fea nan",
        lambda w, out: ["reproduce", *DATA, "--lambda-fea", "nan", "--output", out],
        "--lambda-fea",
        "new",
    ),  # fmt: skip
    (
        "tune --lambda-logits inf",
        lambda w, out: [
            "tune",
            *DATA,
            "--lambda-logits",
            "0.1",
            "inf",
            "--directory",
            out,
        ],  # fmt: skip
        "--lambda-logits",
        "new",
    ),
    (
        "predict --scale nan",
        lambda w, out: [
            "predict",
            "--model",
            w["model"],
            "--input",
            "mosi",
            "--scale",
            "nan",
            "--output",
            out / "p.csv",
        ],  # fmt: skip
        "--scale",
        "new",
    ),
    (
        "a damaged .csd",
        lambda w, out: train(
            f"text={w['bad_csd']},audio={w['bad_csd']},"
            f"vision={w['bad_csd']},labels={w['bad_csd']}",
            "--output",
            out,
        ),  # fmt: skip
        "bad.csd",
        "new",
    ),
    (
        "an .npz of Python objects",
        lambda w, out: [
            "predict",
            "--model",
            w["model"],
            "--input",
            w["object_npz"],
            "--output",
            out / "p.csv",
        ],  # fmt: skip
        "objects.npz",
        "new",
    ),
    # Bad inputs handled before issue 24.
    (
        "a missing dataset file",
        lambda w, out: train("nope.pkl", "--output", out),
        "nope.pkl",
        "new",
    ),
    (
        "a missing model file",
        lambda w, out: [
            "evaluate",
            "--model",
            w["root"] / "nope.keras",
            *DATA,
            "--output",
            out,
        ],  # fmt: skip
        "nope.keras",
        "new",
    ),
    (
        "a file that is not a pickle",
        lambda w, out: train(str(w["not_a_pickle"]), "--output", out),
        "notes.pkl",
        "new",
    ),  # fmt: skip
    (
        "NaN features",
        lambda w, out: train(str(w["nan_feature"]), "--output", out),
        "nan_feature.pkl",
        "new",
    ),  # fmt: skip
    (
        "inf features",
        lambda w, out: train(str(w["inf_feature"]), "--output", out),
        "inf_feature.pkl",
        "new",
    ),  # fmt: skip
    (
        "NaN labels",
        lambda w, out: train(str(w["nan_label"]), "--output", out),
        "nan_label.pkl",
        "new",
    ),  # fmt: skip
    (
        "an unknown --variant",
        lambda w, out: [
            "train",
            *DATA,
            *FAST,
            "--variant",
            "w/o magic",
            "--output",
            out,
        ],
        "w/o magic",
        "new",
    ),  # fmt: skip
    (
        "an unknown --conditions",
        lambda w, out: ["train", *DATA, *TINY, "--conditions", "l,lx", "--output", out],
        "--conditions",
        "new",
    ),  # fmt: skip
    (
        "an unknown --format",
        lambda w, out: ["train", *DATA, "--format", "xml", "--output", out],
        "--format",
        "new",
    ),  # fmt: skip
    (
        "an unknown --select-epoch",
        lambda w, out: ["train", *DATA, "--select-epoch", "first", "--output", out],
        "--select-epoch",
        "new",
    ),  # fmt: skip
    (
        "an unknown flag",
        lambda w, out: ["train", *DATA, "--epoch", "3", "--output", out],
        "--epoch",
        "new",
    ),  # fmt: skip
    (
        "--epochs 0",
        lambda w, out: ["train", *DATA, "--epochs", "0", "--output", out],
        "--epochs",
        "new",
    ),  # fmt: skip
    (
        "--seed -1",
        lambda w, out: ["train", *DATA, "--seed", "-1", "--output", out],
        "--seed",
        "new",
    ),  # fmt: skip
    (
        "--train-samples -1",
        lambda w, out: ["train", *DATA, "--train-samples", "-1", "--output", out],
        "--train-samples",
        "new",
    ),  # fmt: skip
    (
        "nothing to evaluate",
        lambda w, out: [
            "train",
            *DATA,
            "--conditions",
            "none",
            "--no-curves",
            "--output",
            out,
        ],  # fmt: skip
        "--no-curves",
        "new",
    ),
]


def checksums(directory):
    """Relative path -> SHA-256 of every file under `directory` (None if absent)."""
    if not os.path.exists(directory):
        return None
    sums = {}
    for root, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as file:
                sums[os.path.relpath(path, directory)] = hashlib.sha256(
                    file.read()
                ).hexdigest()
    return sums


def run_cli(capsys, argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit:  # argparse's errors
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "make_argv, names, output", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_bad_input_gets_one_line_and_nothing_is_lost(
    capsys, tmp_path, world, make_argv, names, output
):
    out = tmp_path / "out" if output == "new" else world[output]
    before = checksums(out)
    code, _, err = run_cli(capsys, make_argv(world, out))
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("keras-umdf"), lines[0]
    assert names in lines[0], lines[0]
    assert checksums(out) == before


def test_the_table_covers_every_bad_input_of_the_issue():
    assert len(CASES) >= 30


def test_a_model_evaluated_in_its_own_directory_is_kept(capsys, tmp_path, world):
    """`evaluate --output <the model's folder> --overwrite` writes beside a model
    that no run recorded, and never deletes it."""
    folder = tmp_path / "models"
    folder.mkdir()
    model = folder / "model.keras"
    model.write_bytes(world["model"].read_bytes())
    argv = ["evaluate", "--model", model, *DATA, "--no-curves", "--conditions", "l",
            "--output", folder, "--overwrite"]  # fmt: skip
    code, _, err = run_cli(capsys, argv)
    assert code == 0, err
    assert model.read_bytes() == world["model"].read_bytes()
    assert (folder / "results.json").exists()
    record = json.loads((folder / "run.json").read_text())
    assert record["kind"] == "evaluate" and record["status"] == "finished"


def test_the_corrected_command_runs_after_a_refused_model(capsys, tmp_path):
    """A failed model construction leaves no run behind, so the corrected
    command is not refused as "an unfinished run with another configuration"."""
    out = tmp_path / "run"
    code, _, err = run_cli(
        capsys, ["train", *DATA, *FAST, "--num-heads", "3", "--output", out]
    )
    assert code == 2 and not out.exists(), err
    # (With more training clips asked for than there are: said on stderr.)
    argv = ["train", *DATA, *FAST, "--train-samples", "5000", "--output", out]
    code, _, err = run_cli(capsys, argv)
    assert code == 0, err
    assert json.loads((out / "run.json").read_text())["status"] == "finished"
    assert "--train-samples 5000 is more than the 26 training clips" in err
