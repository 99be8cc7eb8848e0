import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf.layers import FeatureNormalization
from keras_umdf.layers import feature_normalization
from tests.layers import reference
from tests.layers.reference import to_numpy
from tests.layers.saving import save_and_load

pytestmark = pytest.mark.filterwarnings(reference.NUMPY_COPY_WARNING)


def raw_features(rng, num=6, steps=9, width=5):
    """Features in very different units per dimension (0.4 ... 300), zero frames
    as padding at the front (clip 0), at the end (clip 1) and inside (clip 2)."""
    scale = np.array([0.4, 3.0, 50.0, 300.0, 1.0])[:width]
    offset = np.array([0.1, -2.0, 200.0, -500.0, 0.5])[:width]
    x = (offset + scale * rng.normal(size=(num, steps, width))).astype("float32")
    x[0, :3] = 0.0  # front padding
    x[1, -4:] = 0.0  # end padding
    x[2, [2, 5]] = 0.0  # missing frames
    return x


def standardize(x, present):
    """The formula: mean and population std over the present frames only, then
    (x - mean) / std on present frames and 0 elsewhere."""
    x = np.asarray(x, "float64")
    frames = x[present]
    mean, std = frames.mean(0), frames.std(0)
    std = np.where(std < 1e-6, 1.0, std)
    return np.where(present[..., None], (x - mean) / std, 0.0), mean, std


def test_fits_present_frames_only_and_applies_the_formula(rng):
    x = raw_features(rng)
    present = np.any(x != 0, axis=-1)
    assert present.sum() == 6 * 9 - 3 - 4 - 2
    expected, mean, std = standardize(x, present)
    layer = FeatureNormalization()
    layer.adapt(x)
    np.testing.assert_allclose(reference.value(layer.mean), mean, rtol=1e-6)
    np.testing.assert_allclose(reference.value(layer.std), std, rtol=1e-6)
    assert float(to_numpy(layer.count)) == present.sum()
    output = to_numpy(layer(x))
    np.testing.assert_allclose(output, expected, rtol=1e-4, atol=1e-4)
    assert output.dtype == np.float32
    # The padding must not count: including it would move every mean.
    assert not np.allclose(reference.value(layer.mean), x.reshape(-1, 5).mean(0))


def test_absent_frames_stay_exactly_zero(rng):
    x = raw_features(rng)
    layer = FeatureNormalization()
    layer.adapt(x)
    mask = np.ones((6, 9), "float32")
    mask[3, 1] = 0.0  # a nonzero frame the mask calls absent
    for output in (to_numpy(layer(x)), to_numpy(layer(x, mask=mask))):
        assert np.all(output[0, :3] == 0.0) and np.all(output[1, -4:] == 0.0)
        assert np.all(output[2, [2, 5]] == 0.0)
        assert np.all(np.any(output[4] != 0.0, axis=-1))
    output = to_numpy(layer(x, mask=mask))
    assert np.all(output[3, 1] == 0.0)
    present = np.any(x != 0, axis=-1) & (mask != 0)
    np.testing.assert_allclose(
        output,
        np.where(present[..., None], to_numpy(layer(x)), 0.0),
        rtol=1e-6,
    )


def test_adapt_with_a_mask_counts_only_the_masked_present_frames(rng):
    x = raw_features(rng)
    mask = rng.random((6, 9)) < 0.6
    mask[0, :3] = True  # zero padding marked present still does not count
    layer = FeatureNormalization()
    layer.adapt(x, mask=mask.astype("float32"), lengths=np.zeros(6, int))
    _, mean, std = standardize(x, mask & np.any(x != 0, axis=-1))
    np.testing.assert_allclose(reference.value(layer.mean), mean, rtol=1e-6)
    np.testing.assert_allclose(reference.value(layer.std), std, rtol=1e-6)


def test_adapt_with_lengths_counts_the_valid_leading_frames(rng):
    x = raw_features(rng)
    # Clip 1's end padding is garbage instead of zeros; lengths leaves it out.
    x[1, -4:] = 1e4
    lengths = np.array([9, 5, 9, 7, 9, 2])
    layer = FeatureNormalization()
    layer.adapt(x, lengths=lengths)
    valid = np.arange(9)[None, :] < lengths[:, None]
    _, mean, std = standardize(x, valid & np.any(x != 0, axis=-1))
    np.testing.assert_allclose(reference.value(layer.mean), mean, rtol=1e-6)
    np.testing.assert_allclose(reference.value(layer.std), std, rtol=1e-6)
    assert float(to_numpy(layer.count)) == (valid & np.any(x != 0, -1)).sum()


def test_chunked_pass_matches_one_pass(rng, monkeypatch):
    # 7 values per chunk: one clip (9 x 5) at a time, merged with Chan's update.
    monkeypatch.setattr(feature_normalization, "_CHUNK_VALUES", 7)
    x = raw_features(rng, num=11)
    layer = FeatureNormalization()
    layer.adapt(x)
    _, mean, std = standardize(x, np.any(x != 0, axis=-1))
    np.testing.assert_allclose(reference.value(layer.mean), mean, rtol=1e-6)
    np.testing.assert_allclose(reference.value(layer.std), std, rtol=1e-6)


def test_constant_dimension_is_centred_not_divided(rng):
    x = raw_features(rng)
    present = np.any(x != 0, axis=-1)
    x[..., 2] = np.where(present, 123.5, 0.0)  # constant on present frames
    layer = FeatureNormalization()
    layer.adapt(x)
    assert reference.value(layer.std)[2] == 1.0
    assert reference.value(layer.mean)[2] == 123.5
    output = to_numpy(layer(x))
    assert np.isfinite(output).all()
    np.testing.assert_array_equal(output[..., 2], 0.0)
    np.testing.assert_allclose(output, standardize(x, present)[0], atol=1e-4)


def test_identity_on_present_frames_before_adapt(rng):
    x = raw_features(rng)
    layer = FeatureNormalization()
    assert not layer.adapted
    output = to_numpy(layer(x))
    assert not layer.adapted
    np.testing.assert_array_equal(output, x)
    layer.adapt(x)
    assert layer.adapted
    assert layer.compute_output_shape((None, 9, 5)) == (None, 9, 5)


def test_consumes_the_keras_mask():
    """The mask is applied (masked frames become zeros) and not passed on."""
    layer = FeatureNormalization()
    mask = np.array([[True, False, True]])
    x = np.ones((1, 3, 4), "float32")
    assert layer.compute_mask(x, mask) is None
    np.testing.assert_array_equal(to_numpy(layer(x, mask=mask))[0, 1], 0.0)


def test_config_round_trip():
    layer = FeatureNormalization(epsilon=1e-3, name="audio_norm")
    config = layer.get_config()
    assert config["epsilon"] == 1e-3 and config["name"] == "audio_norm"
    assert FeatureNormalization.from_config(config).get_config() == config


def test_statistics_survive_save_and_load(tmp_path, rng):
    x = raw_features(rng)
    mask = np.ones((6, 9), "float32")
    mask[4, :2] = 0.0
    features = keras.Input((None, 5), name="audio")
    frames = keras.Input((None,), name="audio_mask")
    norm = FeatureNormalization(name="norm")
    model = keras.Model([features, frames], norm(features, mask=frames))
    norm.adapt(x)
    loaded = save_and_load(model, tmp_path)
    loaded_norm = loaded.get_layer("norm")
    assert loaded_norm.adapted
    for name in ("mean", "std", "count"):
        np.testing.assert_array_equal(
            reference.value(getattr(loaded_norm, name)),
            reference.value(getattr(norm, name)),
        )
    assert not np.all(reference.value(loaded_norm.std) == 1.0)
    output = loaded.predict([x, mask], verbose=0)
    present = np.any(x != 0, axis=-1) & (mask != 0)
    np.testing.assert_allclose(
        output, standardize(x, np.any(x != 0, -1))[0] * present[..., None], atol=1e-4
    )


def test_mixed_float16_is_finite_and_close_to_float32(rng):
    x = raw_features(rng)
    full = FeatureNormalization()
    full.adapt(x)
    mixed = FeatureNormalization(dtype="mixed_float16")
    mixed.adapt(x)
    assert mixed.mean.dtype == "float32"
    output = mixed(x)
    assert keras.backend.standardize_dtype(output.dtype) == "float16"
    output = to_numpy(ops.cast(output, "float32"))
    assert np.isfinite(output).all()
    np.testing.assert_allclose(output, to_numpy(full(x)), rtol=2e-3, atol=2e-3)
    assert np.all(output[1, -4:] == 0.0)


def test_no_present_frame_is_an_error():
    layer = FeatureNormalization()
    with pytest.raises(ValueError, match=r"no present frame.*\(2, 3, 4\)"):
        layer.adapt(np.zeros((2, 3, 4), "float32"))
    x = np.ones((2, 3, 4), "float32")
    with pytest.raises(ValueError, match="no present frame"):
        layer.adapt(x, mask=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="no present frame"):
        layer.adapt(x, lengths=[0, 0])
    assert not layer.adapted


def test_non_finite_features_are_an_error(rng):
    x = raw_features(rng)
    x[3, 4, 1] = np.nan
    x[4, 0, 0] = np.inf
    layer = FeatureNormalization()
    with pytest.raises(ValueError, match="hold 2 non-finite values"):
        layer.adapt(x)
    assert not layer.adapted


def test_wrong_width_at_call_and_adapt_names_the_shape(rng):
    layer = FeatureNormalization()
    layer.adapt(raw_features(rng))
    with pytest.raises(ValueError, match=r"\(batch, time, 5\).*\(2, 9, 4\)"):
        layer(np.ones((2, 9, 4), "float32"))
    with pytest.raises(ValueError, match=r"built for 5 features.*\(2, 9, 4\)"):
        layer.adapt(np.ones((2, 9, 4), "float32"))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"features": np.ones((2, 3))}, r"\(N, T, d\); received shape \(2, 3\)"),
        ({"mask": np.ones((2, 4))}, r"mask must be .*\(2, 3\).*\(2, 4\)"),
        ({"lengths": np.array([1, -1])}, "lengths must be .* minimum -1"),
        ({"lengths": np.array([1.5, 2.0])}, "lengths must be .*float64"),
    ],
)
def test_bad_adapt_arguments(kwargs, match):
    arguments = {"features": np.ones((2, 3, 4), "float32"), **kwargs}
    with pytest.raises(ValueError, match=match):
        FeatureNormalization().adapt(**arguments)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="epsilon=0"):
        FeatureNormalization(epsilon=0)
    with pytest.raises(ValueError, match="autocast=True"):
        FeatureNormalization(autocast=True)
