"""UMDF reads each clip at its last real frame, whichever side the padding is on."""

import keras
import numpy as np
import pytest
from keras import ops

import keras_umdf
from keras_umdf.models.readout import readout_index

WIDTHS = {"text": 6, "audio": 3, "vision": 2}


def _reference_index(presence):
    """The paper's "last element", moved to the last present frame."""
    length = presence.shape[1]
    index = np.full(presence.shape[0], length - 1)
    for i, row in enumerate(presence):
        if row.any():
            index[i] = np.flatnonzero(row)[-1]
    return index


def _padded(lengths, length=7, side="end", seed=0):
    """Clips of the given real lengths, zero-padded at one side."""
    rng = np.random.default_rng(seed)
    view = {}
    for m, width in WIDTHS.items():
        x = np.zeros((len(lengths), length, width), "float32")
        for i, n in enumerate(lengths):
            frames = rng.normal(size=(n, width)).astype("float32")
            if side == "end":
                x[i, :n] = frames
            else:
                x[i, length - n :] = frames
        view[m] = x
    return view


def test_readout_index_matches_reference():
    rng = np.random.default_rng(3)
    presence = rng.random((32, 9)) < 0.3
    presence[0] = False  # no present frame: read at T - 1
    presence[1] = [True] * 4 + [False] * 5  # end padding
    presence[2] = [False] * 5 + [True] * 4  # front padding
    got = ops.convert_to_numpy(readout_index(ops.convert_to_tensor(presence)))
    np.testing.assert_array_equal(got, _reference_index(presence))
    last = readout_index(ops.convert_to_tensor(presence), "last")
    np.testing.assert_array_equal(ops.convert_to_numpy(last), np.full(32, 8))


@pytest.mark.parametrize("side", ["end", "front"])
def test_prediction_is_read_at_the_last_real_frame(side):
    keras.utils.set_random_seed(0)
    model = keras_umdf.UMDF(WIDTHS, hidden_dim=8, num_heads=2, num_layers=1, dropout=0)
    lengths = [2, 5, 7, 3]
    view = _padded(lengths, side=side)
    prediction = ops.convert_to_numpy(model(view))
    h = model.encode(view)
    present = np.any(np.concatenate(list(view.values()), axis=-1) != 0, axis=-1)
    index = _reference_index(present)
    expected = ops.convert_to_numpy(model._head(h, h, ops.convert_to_tensor(index)))
    np.testing.assert_allclose(prediction, expected, rtol=1e-5, atol=1e-5)
    literal = keras_umdf.UMDF.from_config({**model.get_config(), "readout": "last"})
    literal.set_weights(model.get_weights())
    at_end = ops.convert_to_numpy(literal(view))
    if side == "front":
        # Front padding: the last real frame is the last frame, as in the paper.
        np.testing.assert_allclose(prediction, at_end, rtol=1e-5, atol=1e-5)
    else:
        # End padding: the literal last frame is padding, and gives other values
        # for the clips that do not fill the sequence.
        short = np.array(lengths) < 7
        assert np.all(np.abs(prediction - at_end)[short] > 1e-6)
        np.testing.assert_allclose(
            prediction[~short], at_end[~short], rtol=1e-5, atol=1e-5
        )


def test_training_views_are_read_at_their_own_last_frames():
    keras.utils.set_random_seed(1)
    model = keras_umdf.UMDF(WIDTHS, hidden_dim=8, num_heads=2, num_layers=1, dropout=0)
    view_a = _padded([3, 6], side="end", seed=1)
    view_b = {m: x.copy() for m, x in view_a.items()}
    for x in view_b.values():
        x[0, 2] = 0.0  # view b lost clip 0's last real frame
    out = model({"view_a": view_a, "view_b": view_b})
    h = ops.convert_to_numpy(model.encode(view_b))
    np.testing.assert_allclose(
        ops.convert_to_numpy(out["h_b"]), h[[0, 1], [1, 5]], rtol=1e-5, atol=1e-5
    )


def test_readout_is_validated_and_saved(tmp_path):
    with pytest.raises(ValueError, match="readout"):
        keras_umdf.UMDF(WIDTHS, hidden_dim=8, num_heads=2, readout="first")
    model = keras_umdf.UMDF(
        WIDTHS, hidden_dim=8, num_heads=2, num_layers=1, readout="last"
    )
    path = str(tmp_path / "m.keras")
    model.save(path)
    assert keras.saving.load_model(path).readout == "last"
