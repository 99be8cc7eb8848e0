import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf.layers import ModalityImagination
from tests.layers import reference
from tests.layers.gradients import gradients
from tests.layers.reference import randomize_weights
from tests.layers.reference import to_numpy
from tests.layers.saving import save_and_load

pytestmark = pytest.mark.filterwarnings(reference.NUMPY_COPY_WARNING)


def numpy_imagination(layer, sources, residual=None):
    """The residual autoencoder's formula, in float64, from the layer's weights."""

    def dense(x, dense_layer):
        return x @ reference.value(dense_layer.kernel) + reference.value(
            dense_layer.bias
        )

    def leaky_relu(x):
        return np.where(x > 0, x, 0.2 * x)

    parts = [np.asarray(s, np.float64) for s in sources]
    if residual is not None:
        parts.append(np.asarray(residual, np.float64))
    x = np.concatenate(parts, axis=-1)
    h = dense(np.maximum(dense(x, layer.transition[0]), 0.0), layer.transition[1])
    for encoder, decoder in zip(layer.encoders, layer.decoders, strict=True):
        code = h
        for dense_layer in encoder:
            code = leaky_relu(dense(code, dense_layer))
        out = code
        for i, dense_layer in enumerate(decoder):
            out = dense(np.maximum(out, 0.0) if i else out, dense_layer)
        h = h + out
    return h if residual is None else residual + h


@pytest.mark.parametrize("with_residual", [True, False])
def test_matches_the_formula_on_sequences_and_vectors(with_residual, rng):
    audio = rng.normal(size=(2, 5, 3)).astype("float32")
    vision = rng.normal(size=(2, 5, 2)).astype("float32")
    pseudo = rng.normal(size=(2, 5, 4)).astype("float32") if with_residual else None
    layer = ModalityImagination(4, hidden_dims=(6, 3), num_blocks=2)
    layer.build(
        [(None, None, 3), (None, None, 2)],
        (None, None, 4) if pseudo is not None else None,
    )
    randomize_weights(layer)
    got = to_numpy(layer([audio, vision], residual=pseudo))
    expected = numpy_imagination(layer, [audio, vision], pseudo)
    assert got.shape == (2, 5, 4)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    # Frame by frame: a vector input gives the same as its frame.
    frame = to_numpy(
        layer(
            [audio[:, 2], vision[:, 2]],
            residual=None if pseudo is None else pseudo[:, 2],
        )
    )
    np.testing.assert_allclose(frame, got[:, 2], rtol=1e-5, atol=1e-5)


def test_learns_a_predictable_target_and_not_an_unpredictable_one():
    """Two MIAs trained side by side on the same sources: one target is a
    function of the sources (linear in one, nonlinear in the other, plus a
    little noise), the other is independent noise. On held-out samples the
    first's error falls far below the target's variance (predicting the mean);
    the second's does not."""
    rng = np.random.default_rng(0)
    n_train, n_test = 512, 256
    a = rng.normal(size=(n_train + n_test, 6)).astype("float32")
    v = rng.normal(size=(n_train + n_test, 4)).astype("float32")
    w_a = rng.normal(size=(6, 8)) / np.sqrt(6)
    w_v = rng.normal(size=(4, 8)) / np.sqrt(4)
    predictable = a @ w_a + np.tanh(2 * v @ w_v)
    predictable += 0.1 * rng.normal(size=predictable.shape)
    targets = {
        "predictable": predictable.astype("float32"),
        "unpredictable": rng.normal(size=predictable.shape).astype("float32"),
    }
    keras.utils.set_random_seed(0)
    inputs = [keras.Input((6,)), keras.Input((4,))]
    outputs = {
        name: ModalityImagination(8, hidden_dims=(16,), name=name)(inputs)
        for name in targets
    }
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    train, test = slice(0, n_train), slice(n_train, None)
    model.fit(
        [a[train], v[train]],
        {k: t[train] for k, t in targets.items()},
        epochs=100,
        batch_size=n_train,
        verbose=0,
    )
    predicted = model.predict([a[test], v[test]], verbose=0)
    for name, target in targets.items():
        baseline = np.mean((target[test] - target[train].mean(0)) ** 2)
        error = np.mean((to_numpy(predicted[name]) - target[test]) ** 2)
        if name == "predictable":
            assert error < 0.3 * baseline, (error, baseline)
        else:
            assert error > 0.95 * baseline, (error, baseline)


def test_reconstruction_loss_masks_and_leaves_the_target_alone(rng):
    layer = ModalityImagination(3)
    target = rng.normal(size=(4, 5, 3)).astype("float32")
    imagined = rng.normal(size=(4, 5, 3)).astype("float32")
    present = (rng.random((4, 5)) < 0.6).astype("float32")
    got = float(to_numpy(layer.reconstruction_loss(target, imagined, present)))
    squared = ((imagined - target) ** 2).mean(-1)
    expected = (squared * present).sum() / present.sum()
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    per_sample = np.array([1.0, 0.0, 1.0, 0.0], "float32")
    np.testing.assert_allclose(
        float(to_numpy(layer.reconstruction_loss(target, imagined, per_sample))),
        squared[[0, 2]].mean(),
        rtol=1e-5,
    )
    assert (
        float(to_numpy(layer.reconstruction_loss(target, imagined, 0 * present))) == 0
    )
    # The real representation is the teacher: no gradient flows into it.
    grad_target, grad_imagined = gradients(
        keras.layers.Identity(),
        lambda t, i: layer.reconstruction_loss(t, i, present),
        [target, imagined],
    )
    np.testing.assert_array_equal(grad_target, 0.0)
    assert np.any(grad_imagined != 0)


def test_config_round_trip_and_saving(rng, tmp_path):
    layer = ModalityImagination(4, hidden_dims=(3,), num_blocks=2, dropout=0.2)
    clone = ModalityImagination.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    inputs = [keras.Input((None, 3)), keras.Input((None, 2))]
    residual = keras.Input((None, 4))
    model = keras.Model([*inputs, residual], layer(inputs, residual=residual))
    randomize_weights(layer)
    x = [
        rng.normal(size=(2, 5, 3)).astype("float32"),
        rng.normal(size=(2, 5, 2)).astype("float32"),
        rng.normal(size=(2, 5, 4)).astype("float32"),
    ]
    loaded = save_and_load(model, tmp_path)
    np.testing.assert_allclose(to_numpy(loaded(x)), to_numpy(model(x)), atol=1e-6)


def test_mixed_precision_computes_in_the_policy_and_the_loss_in_float32(rng):
    layer = ModalityImagination(4, dtype="mixed_bfloat16")
    x = [rng.normal(size=(2, 3)).astype("float32")] * 2
    out = layer(x, residual=rng.normal(size=(2, 4)).astype("float32"))
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    loss = layer.reconstruction_loss(np.zeros((2, 4), "float32"), out)
    assert keras.backend.standardize_dtype(loss.dtype) == "float32"
    assert np.isfinite(float(to_numpy(loss)))


def test_argument_errors(rng):
    with pytest.raises(
        ValueError, match="target_dim must be a positive int; received 0"
    ):
        ModalityImagination(0)
    with pytest.raises(ValueError, match=r"hidden_dims.*received \[\]"):
        ModalityImagination(4, hidden_dims=[])
    with pytest.raises(ValueError, match="dropout"):
        ModalityImagination(4, dropout=1.0)
    layer = ModalityImagination(4)
    with pytest.raises(ValueError, match="residual has width 3 but target_dim is 4"):
        layer.build([(None, 2)], (None, 3))
    layer = ModalityImagination(4)
    x = rng.normal(size=(2, 3)).astype("float32")
    layer([x], residual=np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="built with a residual"):
        layer([x])
    with pytest.raises(ValueError, match=r"total width 7; received widths \[5, 4\]"):
        layer([np.zeros((2, 5), "float32")], residual=np.zeros((2, 4), "float32"))
    assert ops.shape(layer([x], residual=np.zeros((2, 4), "float32"))) == (2, 4)
