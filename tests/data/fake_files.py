"""Writers of small fake files in the field's formats, for the reader tests.

Each writer follows the layout described in the formats' own documentation (MulT, MMSA and the CMU-MultimodalSDK; "Data, as the field ships
it"), independently of the readers under test.
"""

import json
import pickle
import struct

import h5py
import numpy as np
import pytest


@pytest.fixture(name="_fresh_keras_state")
def keras_state_untouched():
    """Stands in for the suite's autouse Keras reset in the reader tests.

    Readers never touch Keras state, and `keras.backend.clear_session()` after
    every test costs about half a second under torch; a test module imports this
    fixture to override the reset.
    """
    yield


SIZES = {"train": 5, "valid": 3, "test": 4}
DIMS = {"text": 6, "audio": 3, "vision": 4}


def mult_splits(rng, *, iemocap=False, aligned=True, steps=None):
    """A MulT dict: split -> text/audio/vision float32, labels, id (N, 3) bytes."""
    if steps is None:
        steps = (
            {"text": 8, "audio": 8, "vision": 8}
            if aligned
            else {"text": 8, "audio": 11, "vision": 13}
        )
    data = {}
    for split, num in SIZES.items():
        entry = {
            m: rng.normal(size=(num, steps[m], d)).astype(np.float32)
            for m, d in DIMS.items()
        }
        if iemocap:
            present = rng.integers(0, 2, size=(num, 4))
            present[0] = (0, 1, 0, 0)  # one clip only happy
            labels = np.zeros((num, 4, 2), np.float32)
            labels[..., 1] = present
            labels[..., 0] = 1 - present
            entry["labels"] = labels
        else:
            entry["labels"] = rng.uniform(-3, 3, size=(num, 1, 1)).astype(np.float32)
        entry["id"] = np.array(
            [
                [f"{split}vid{i}".encode(), f"{i}.5".encode(), f"{i + 2}.25".encode()]
                for i in range(num)
            ]
        )
        data[split] = entry
    return data


def mmsa_splits(rng, *, aligned=True):
    """An MMSA dict with BERT-like text, token ids, -inf in audio, lengths if unaligned."""
    steps = (
        {"text": 7, "audio": 7, "vision": 7}
        if aligned
        else {"text": 7, "audio": 9, "vision": 10}
    )
    dims = {"text": 8, "audio": 3, "vision": 4}
    data = {}
    for split, num in SIZES.items():
        entry = {
            m: rng.normal(size=(num, steps[m], d)).astype(np.float32)
            for m, d in dims.items()
        }
        entry["audio"][0, 0, 1] = -np.inf
        entry["audio"][num - 1, 2, 0] = -np.inf
        regression = np.round(rng.uniform(-3, 3, size=num), 1).astype(np.float32)
        regression[0] = 0.0
        entry["regression_labels"] = regression
        entry["classification_labels"] = np.where(
            regression < 0, 0, np.where(regression == 0, 1, 2)
        ).astype(np.float32)
        entry["annotations"] = [
            ("Negative", "Neutral", "Positive")[int(c)]
            for c in entry["classification_labels"]
        ]
        entry["raw_text"] = [f"words of clip {i}" for i in range(num)]
        entry["id"] = [f"{split}video{i // 2}$_${i % 2 + 1}" for i in range(num)]
        entry["text_bert"] = rng.integers(0, 3000, size=(num, 3, steps["text"]))
        if not aligned:
            entry["audio_lengths"] = list(rng.integers(1, steps["audio"] + 1, num))
            entry["vision_lengths"] = rng.integers(1, steps["vision"] + 1, num)
            entry["vision_lengths"][0] = steps["vision"] + 40  # MMSA: before truncation
        data[split] = entry
    return data


def write_pickle(path, obj, protocol=pickle.HIGHEST_PROTOCOL):
    with open(path, "wb") as file:
        pickle.dump(obj, file, protocol=protocol)
    return path


def write_csd(path, root, videos, metadata=None):
    """A computational sequence: root/data/<video>/{features, intervals}, metadata."""
    with h5py.File(path, "w") as file:
        group = file.create_group(root)
        data = group.create_group("data")
        for video, (features, intervals) in videos.items():
            entry = data.create_group(video)
            entry.create_dataset("features", data=features)
            entry.create_dataset("intervals", data=intervals)
        meta = group.create_group("metadata")
        for key, value in (metadata or {"root name": root}).items():
            dataset = meta.create_dataset(key, (1,), dtype=h5py.special_dtype(vlen=str))
            dataset[0] = json.dumps(value)
    return path


# A Python 2 pickle writer (protocol 2, as Python 2 and NumPy 1 wrote them): str
# is a byte string (BINSTRING), arrays reduce through numpy.core.multiarray.


def _py2(obj, out):
    if obj is None:
        out.append(b"N")
    elif obj is True or obj is False:
        out.append(b"\x88" if obj else b"\x89")
    elif isinstance(obj, int):
        out.append(b"J" + struct.pack("<i", obj))
    elif isinstance(obj, float):
        out.append(b"G" + struct.pack(">d", obj))
    elif isinstance(obj, (str, bytes)):
        raw = obj.encode("latin-1") if isinstance(obj, str) else obj
        if len(raw) < 256:
            out.append(b"U" + bytes([len(raw)]) + raw)
        else:
            out.append(b"T" + struct.pack("<i", len(raw)) + raw)
    elif isinstance(obj, tuple):
        out.append(b"(")
        for item in obj:
            _py2(item, out)
        out.append(b"t")
    elif isinstance(obj, list):
        out.append(b"](")
        for item in obj:
            _py2(item, out)
        out.append(b"e")
    elif isinstance(obj, dict):
        out.append(b"}(")
        for key, value in obj.items():
            _py2(key, out)
            _py2(value, out)
        out.append(b"u")
    elif isinstance(obj, np.ndarray):
        array = np.ascontiguousarray(obj)
        out.append(b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n")
        _py2((0,), out)
        _py2(b"b", out)
        out.append(b"\x87R(")  # TUPLE3, REDUCE: the empty array; MARK its state
        _py2(1, out)
        _py2(tuple(array.shape), out)
        out.append(b"cnumpy\ndtype\n")
        _py2((array.dtype.str[1:], 0, 1), out)
        out.append(b"R")
        _py2((3, array.dtype.str[0], None, None, None, -1, -1, 0), out)
        out.append(b"b")
        _py2(False, out)
        _py2(array.tobytes(), out)
        out.append(b"tb")  # the state tuple, BUILD
    else:
        raise TypeError(f"py2 writer: unsupported {type(obj)}")


def py2_pickle(obj):
    """Bytes of `obj` pickled as Python 2 with NumPy 1 would have (protocol 2)."""
    out = [b"\x80\x02"]
    _py2(obj, out)
    out.append(b".")
    return b"".join(out)
