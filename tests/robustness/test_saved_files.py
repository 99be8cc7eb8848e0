"""Nothing a user saved is lost: files are written whole (flushed to the disk
before the rename), a write error names the file and leaves no temporary file,
a training run that cannot write is recorded as failed, and the demo names no
folder that it removes."""

import errno
import json
import os
import sys
import tempfile

import pytest

from keras_umdf.data import atomic_file
from keras_umdf.data.atomic_file import atomic_path
from keras_umdf.data.atomic_file import write_text_atomically

pytestmark = pytest.mark.only_backend("tensorflow")  # file bookkeeping only


def test_a_file_is_flushed_before_the_rename_and_its_folder_after(
    tmp_path, monkeypatch
):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(
        os, "fsync", lambda fd: events.append(("fsync", fd)) or real_fsync(fd)
    )
    monkeypatch.setattr(
        os, "replace", lambda a, b: events.append(("replace", b)) or real_replace(a, b)
    )
    path = tmp_path / "history.json"
    path.write_text("old")
    write_text_atomically(path, "new")
    assert path.read_text() == "new"
    kinds = [kind for kind, _ in events]
    expected = ["fsync", "replace", "fsync"] if os.name == "posix" else kinds
    assert kinds == expected, events
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.json"]


def test_a_write_error_names_the_file_and_leaves_nothing_behind(tmp_path):
    path = tmp_path / "checkpoint.keras"
    path.write_text("the last good epoch")
    with pytest.raises(OSError, match=r"could not write '.*checkpoint\.keras': File"):
        with atomic_path(path) as temporary:
            with open(temporary, "w") as file:
                file.write("half")
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))
    assert path.read_text() == "the last good epoch"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.keras"]
    assert atomic_file.temporary_name(str(path)).endswith("checkpoint.tmp.keras")


@pytest.mark.skipif(sys.platform != "linux", reason="needs RLIMIT_FSIZE")
def test_a_run_that_cannot_write_its_checkpoint_is_recorded_as_failed(capsys, tmp_path):
    """A full disk (here a 200 KB file-size limit): one line naming the file,
    no temporary file left, run.json says "failed"."""
    import resource

    from keras_umdf.cli import main

    out = tmp_path / "run"
    argv = ["train", "--dataset", "mosi", "--scale", "0.02", "--hidden-dim", "8",
            "--num-heads", "2", "--num-layers", "1", "--epochs", "1",
            "--select-epoch", "last", "--no-curves", "--conditions", "l",
            "--verbose", "0", "--output", str(out)]  # fmt: skip
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, hard))
    try:
        code = main(argv)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert "could not write" in lines[0] and "checkpoint.keras" in lines[0]
    assert not any("tmp" in name for name in os.listdir(out))
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "failed" and "checkpoint.keras" in record["error"]


def test_the_demo_names_no_folder_that_it_removes(capsys):
    from keras_umdf.experiments.demo import run_demo

    lines = []
    tiny = {"epochs": 1, "hidden_dim": 8, "num_heads": 2, "num_layers": 1}
    run_demo(
        settings=tiny, train_samples=32, variants=("UMDF",), verbose=0,
        progress=lines.append,
    )  # fmt: skip
    wrote = [line for line in lines if line.startswith("wrote ")]
    assert wrote and all("<temporary directory>" in line for line in wrote), lines
    # No line names the temporary folder, which is gone by now.
    assert not [line for line in lines if tempfile.gettempdir() in line], lines


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# A child process: if HDF5 met the limit it would die of a segmentation fault,
# which must not take the test session with it.
BEST_EPOCH_UNDER_A_LIMIT = """
import resource, sys
from keras_umdf.cli import main
resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, resource.RLIM_INFINITY))
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="needs RLIMIT_FSIZE")
def test_a_weights_file_over_the_file_size_limit_is_a_clean_error(
    tmp_path, subprocess_env
):
    """HDF5 crashes (SIGSEGV) when a `.weights.h5` file reaches the file-size
    limit; the best epoch's weights and the training state are refused before
    HDF5 writes."""
    import subprocess

    out = tmp_path / "run"
    argv = ["train", "--dataset", "mosi", "--scale", "0.02", "--hidden-dim", "8",
            "--num-heads", "2", "--num-layers", "1", "--epochs", "1",
            "--no-curves", "--conditions", "l", "--verbose", "0",
            "--output", str(out)]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", BEST_EPOCH_UNDER_A_LIMIT, *argv],
        capture_output=True,
        text=True,
        env={**subprocess_env, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"},
        cwd=ROOT,
        timeout=300,
    )
    errors = [
        line
        for line in result.stderr.splitlines()
        if line.startswith("keras-umdf train:")
    ]
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(errors) == 1 and "could not write" in errors[0], result.stderr
    assert ".weights.h5" in errors[0] and "ulimit -f" in errors[0], errors[0]
    assert not any("tmp" in name for name in os.listdir(out))
    assert json.loads((out / "run.json").read_text())["status"] == "failed"


def test_the_room_check_names_the_file_the_need_and_the_fix(tmp_path):
    from keras_umdf.experiments.weights_file import check_room

    path = str(tmp_path / "model.weights.h5")
    with pytest.raises(OSError, match="model.weights.h5") as raised:
        check_room(path, 10**18)  # more than any disk holds
    assert raised.value.errno == errno.ENOSPC
    assert f"{10**18} bytes needed" in str(raised.value)
    check_room(path, 1000)  # fits: no error, nothing written
    assert not os.listdir(tmp_path)


def test_the_weights_file_estimate_bounds_the_file(tmp_path):
    import keras

    import keras_umdf
    from keras_umdf.data import synthetic
    from keras_umdf.experiments.weights_file import weights_file_bytes

    data = synthetic("mosi", scale=0.02)
    model = keras_umdf.UMDF.for_dataset(data, hidden_dim=8, num_heads=2, num_layers=1)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.optimizer.build(model.trainable_variables)
    path = str(tmp_path / "model.weights.h5")
    model.save_weights(path)
    size = os.path.getsize(path)
    estimate = weights_file_bytes(model)
    assert size <= estimate <= 1.25 * size, (size, estimate)


@pytest.mark.parametrize(
    "name", ["model.keras", "epoch-3.weights.h5", "history.json", "shards.npz"]
)
def test_a_temporary_name_leads_back_to_its_file(name):
    temporary = atomic_file.temporary_name(name)
    target, pid = atomic_file.temporary_target(temporary)
    assert target == name
    assert pid in (None, os.getpid())
    assert atomic_file.temporary_target(name) is None
