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
