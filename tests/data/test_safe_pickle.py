import builtins
import io
import os
import pickle

import h5py
import numpy as np
import pytest

from keras_umdf.data import safe_pickle_load
from keras_umdf.data.safe_pickle import UnsafePickleError
from tests.data.fake_files import keras_state_untouched  # noqa: F401
from tests.data.fake_files import py2_pickle


class _Payload:
    """Pickles to `function(*args)`: what a malicious dataset file would hold."""

    def __init__(self, function, *args):
        self.function = function
        self.args = args

    def __reduce__(self):
        return self.function, self.args


def _armed_pickles(marker):
    """Pickles that create `marker` when loaded, and the global each one names."""
    payloads = {
        f"{builtins.open.__module__}.open": _Payload(builtins.open, marker, "w"),
        f"{os.system.__module__}.system": _Payload(os.system, f"touch '{marker}'"),
    }
    for name, payload in payloads.items():
        for wrapped in (
            {"train": {"text": np.zeros((1, 2, 3)), "labels": [payload]}},
            np.array([payload, None], dtype=object),  # hidden in an object array
        ):
            for protocol in (2, pickle.HIGHEST_PROTOCOL):
                yield name, pickle.dumps(wrapped, protocol=protocol)


def test_refuses_code_and_the_code_does_not_run(tmp_path):
    marker = tmp_path / "marker"
    for name, data in _armed_pickles(str(marker)):
        path = tmp_path / "evil.pkl"
        path.write_bytes(data)
        with pytest.raises(UnsafePickleError) as info:
            safe_pickle_load(path)
        message = str(info.value)
        assert name in message
        assert str(path) in message  # the file is named
        assert "runs arbitrary code" in message
        assert not marker.exists(), f"the payload {name} ran"
        assert isinstance(info.value, pickle.UnpicklingError)
    # The same bytes are live: the plain unpickler runs them.
    pickle.loads(next(_armed_pickles(str(marker)))[1])
    assert marker.exists()


def test_refuses_codecs_other_than_latin1():
    # A protocol-2 pickle calling _codecs.encode("abc", "rot13").
    data = b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R."
    with pytest.raises(UnsafePickleError, match="latin1"):
        safe_pickle_load(io.BytesIO(data))


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_numpy_arrays_and_containers_load(protocol, rng):
    obj = {
        "train": {
            "text": rng.normal(size=(3, 4, 5)).astype(np.float32),
            "labels": rng.normal(size=(3, 1, 1)),
            "id": np.array([[b"vid", b"1.5", b"2.0"]] * 3),
            "names": np.array(["a", "b", "c"]),
            "raw_text": np.array(["hello", None, 3], dtype=object),
            "scalar": np.float32(1.5),
            "count": np.int64(7),
            "flags": {True, False},
            "pair": (b"\xff\x00", 2.5, None),
            "words": ["x", "y"],
        }
    }
    loaded = safe_pickle_load(io.BytesIO(pickle.dumps(obj, protocol=protocol)))
    got, want = loaded["train"], obj["train"]
    for key in ("text", "labels", "id", "names"):
        np.testing.assert_array_equal(got[key], want[key])
        assert got[key].dtype == want[key].dtype
    assert list(got["raw_text"]) == ["hello", None, 3]
    assert got["scalar"] == np.float32(1.5) and got["scalar"].dtype == np.float32
    assert got["count"] == 7 and got["flags"] == {True, False}
    assert got["pair"] == (b"\xff\x00", 2.5, None) and got["words"] == ["x", "y"]


def test_python2_latin1_pickle_loads(tmp_path, rng):
    audio = rng.normal(size=(2, 3, 4)).astype(np.float32)
    audio[0, 0, 0] = -1.0  # bytes >= 0x80, so ASCII decoding fails
    obj = {
        "train": {
            "audio": audio,
            "labels": np.array([[[1.5]], [[-2.0]]]),
            "id": ["caf\xe9", "plain"],
        }
    }
    data = py2_pickle(obj)
    with pytest.raises(UnicodeDecodeError):
        pickle.loads(data)  # what plain pickle.load does with MulT's files
    path = tmp_path / "py2.pkl"
    path.write_bytes(data)
    loaded = safe_pickle_load(path)
    np.testing.assert_array_equal(loaded["train"]["audio"], audio)
    np.testing.assert_array_equal(loaded["train"]["labels"], obj["train"]["labels"])
    assert loaded["train"]["id"] == ["caf\xe9", "plain"]
    # And from a file object.
    with open(path, "rb") as file:
        np.testing.assert_array_equal(safe_pickle_load(file)["train"]["audio"], audio)


def test_python2_ascii_pickle_loads():
    obj = {"valid": {"vision": np.arange(6, dtype=np.int64).reshape(2, 3), "n": 2}}
    loaded = safe_pickle_load(io.BytesIO(py2_pickle(obj)))
    np.testing.assert_array_equal(loaded["valid"]["vision"], obj["valid"]["vision"])


def test_missing_file_and_non_pickles(tmp_path):
    missing = tmp_path / "nope.pkl"
    with pytest.raises(FileNotFoundError, match="nope.pkl"):
        safe_pickle_load(missing)
    hdf5 = tmp_path / "features.csd"
    with h5py.File(hdf5, "w") as file:
        file.create_group("root")
    with pytest.raises(pickle.UnpicklingError, match="features.csd.*load_csd"):
        safe_pickle_load(hdf5)
    text = tmp_path / "notes.pkl"
    text.write_text("just some text\n")
    with pytest.raises(pickle.UnpicklingError, match="notes.pkl.*not a readable"):
        safe_pickle_load(text)
