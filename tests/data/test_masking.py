"""The masking specification: training views (decision 4) and test conditions."""

import numpy as np
import pytest

from keras_umdf.data.masking import ViewSampler
from keras_umdf.data.masking import apply_condition
from keras_umdf.data.masking import apply_condition_tf
from keras_umdf.data.masking import modality_sets
from keras_umdf.modalities import CONDITIONS
from keras_umdf.modalities import condition_modalities

STEPS = {"text": 20, "audio": 15, "vision": 10}
DIMS = {"text": 4, "audio": 3, "vision": 2}


def draw(implementation, sampler, batch_size, seed, lengths=None):
    """Draws with the NumPy or the TensorFlow implementation, as NumPy arrays."""
    if implementation == "numpy":
        masks = sampler.draw(np.random.default_rng(seed), batch_size, STEPS, lengths)
        return masks.set_a, masks.set_b, masks.drop_rate, masks.frames
    import tensorflow as tf

    out = sampler.draw_tf(tf.constant([seed, 7], tf.int64), batch_size, STEPS, lengths)
    frames = {m: v.numpy() for m, v in out["frames"].items()}
    return out["set_a"].numpy(), out["set_b"].numpy(), out["drop_rate"].numpy(), frames


def features(rng, n):
    # Strictly positive, so a zero can only come from masking.
    return {
        m: rng.uniform(0.5, 1.5, (n, STEPS[m], DIMS[m])).astype("float32")
        for m in STEPS
    }


def test_the_seven_sets_are_the_papers_conditions():
    sets = modality_sets(("text", "audio", "vision"))
    assert sets == tuple(condition_modalities(c) for c in CONDITIONS)
    assert modality_sets(("text", "audio")) == (
        ("text",),
        ("audio",),
        ("text", "audio"),
    )


@pytest.mark.parametrize("implementation", ["numpy", "tensorflow"])
def test_training_view_statistics(implementation):
    n, p_max = 42_000, 0.5
    sampler = ViewSampler(p_max=p_max)
    set_a, set_b, rate, frames = draw(implementation, sampler, n, seed=3)
    # Heterogeneous: the two views of a sample never share a modality set.
    assert not np.any(set_a == set_b)
    # Each view's set is uniform over the 7 sets (binomial sd ~0.0017).
    for sets in (set_a, set_b):
        freq = np.bincount(sets, minlength=7) / n
        np.testing.assert_allclose(freq, 1 / 7, atol=0.008)
    # Ordered pairs are uniform over the 42 pairs of different sets.
    pairs = np.bincount(set_a * 7 + set_b, minlength=49).reshape(7, 7) / n
    off_diagonal = pairs[~np.eye(7, dtype=bool)]
    np.testing.assert_allclose(off_diagonal, 1 / 42, atol=0.0045)
    # p ~ U[0, p_max]: mean p_max/2, quartiles at p_max/4, p_max/2, 3p_max/4.
    assert 0 <= rate.min() and rate.max() < p_max
    np.testing.assert_allclose(rate.mean(), p_max / 2, atol=0.003)
    np.testing.assert_allclose(
        np.quantile(rate, [0.25, 0.5, 0.75]), [0.125, 0.25, 0.375], atol=0.006
    )
    # Absent modalities have no frame; present ones drop frames at rate p.
    presence = sampler.presence[np.stack([set_a, set_b], 1)]  # (n, 2, 3)
    for j, modality in enumerate(sampler.modalities):
        kept = frames[modality].mean(-1)  # (n, 2) fraction of frames kept
        present = presence[:, :, j]
        assert np.all(kept[~present] == 0)
        dropped = 1 - kept[present]
        p = rate[present]
        np.testing.assert_allclose(dropped.mean(), p_max / 2, atol=0.004)
        # Conditional on p, the dropped fraction is p (in bins of p).
        for low in (0.0, 0.2, 0.4):
            in_bin = (p >= low) & (p < low + 0.1)
            np.testing.assert_allclose(
                dropped[in_bin].mean(), p[in_bin].mean(), atol=0.006
            )


@pytest.mark.parametrize("implementation", ["numpy", "tensorflow"])
def test_same_seed_same_masks_other_seed_other_masks(implementation):
    sampler = ViewSampler()
    first = draw(implementation, sampler, 64, seed=5)
    again = draw(implementation, sampler, 64, seed=5)
    other = draw(implementation, sampler, 64, seed=6)
    for a, b in zip(first[:3], again[:3], strict=True):
        np.testing.assert_array_equal(a, b)
    for m in STEPS:
        np.testing.assert_array_equal(first[3][m], again[3][m])
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[3]["text"], other[3]["text"])


def test_p_max_sets_the_mean_drop_rate():
    for p_max in (1.0, 0.2, 0.0):
        sampler = ViewSampler(p_max=p_max)
        set_a, set_b, rate, frames = draw("numpy", sampler, 5000, seed=0)
        np.testing.assert_allclose(rate.mean(), p_max / 2, atol=0.01)
        present = sampler.presence[np.stack([set_a, set_b], 1), 0]  # text
        dropped = 1 - frames["text"].mean(-1)[present]
        np.testing.assert_allclose(dropped.mean(), p_max / 2, atol=0.01)
    # p_max = 0: a view keeps every frame of its modalities.
    assert np.all(frames["text"].all(-1) == present)


def test_views_zero_exactly_the_absent_frames(rng):
    x = features(rng, 300)
    lengths = {"audio": rng.integers(0, 16, 300)}
    views = ViewSampler()(x, rng=np.random.default_rng(1), lengths=lengths)
    for name in ("view_a", "view_b"):
        view = views[name]
        for m in STEPS:
            mask = view[f"{m}_mask"]
            assert mask.dtype == np.float32 and mask.shape == x[m].shape[:2]
            assert set(np.unique(mask)) <= {0.0, 1.0}
            np.testing.assert_array_equal(view[m][mask == 0], 0.0)  # exactly zero
            np.testing.assert_array_equal(view[m][mask == 1], x[m][mask == 1])
        beyond = np.arange(15)[None] >= lengths["audio"][:, None]
        assert np.all(view["audio_mask"][beyond] == 0)
    # Without lengths, the modalities a view holds are its set: they differ.
    views = ViewSampler()(x, rng=np.random.default_rng(2))
    held = [np.stack([views[k][f"{m}_mask"].any(-1) for m in STEPS], 1) for k in views]
    assert np.all(np.any(held[0] != held[1], axis=1))


def test_tensorflow_views_zero_exactly_the_absent_frames(rng):
    import tensorflow as tf

    x = features(rng, 50)
    views = ViewSampler().apply_tf(
        {m: tf.constant(v) for m, v in x.items()}, tf.constant([1, 2], tf.int64)
    )
    for view in views.values():
        for m in STEPS:
            values, mask = view[m].numpy(), view[f"{m}_mask"].numpy()
            np.testing.assert_array_equal(values[mask == 0], 0.0)
            np.testing.assert_array_equal(values[mask == 1], x[m][mask == 1])


def test_sampler_argument_errors():
    with pytest.raises(ValueError, match=r"p_max=1\.5"):
        ViewSampler(p_max=1.5)
    with pytest.raises(ValueError, match=r"p_max=-0\.1"):
        ViewSampler(p_max=-0.1)
    with pytest.raises(ValueError, match="at least two distinct modalities"):
        ViewSampler(("text",))
    with pytest.raises(ValueError, match="lack"):
        ViewSampler()({"text": np.zeros((1, 2, 3))}, rng=np.random.default_rng(0))


# ----------------------------------------------------------------- evaluation
def test_condition_la_removes_vision_and_nothing_else(rng):
    x = features(rng, 40)
    for condition in ("la", "al", "AL"):
        view = apply_condition(x, condition)
        np.testing.assert_array_equal(view["vision"], 0.0)
        np.testing.assert_array_equal(view["vision_mask"], 0.0)
        for m in ("text", "audio"):
            np.testing.assert_array_equal(view[m], x[m])
            np.testing.assert_array_equal(view[f"{m}_mask"], 1.0)


def test_every_condition_keeps_exactly_its_modalities(rng):
    x = features(rng, 5)
    for condition in CONDITIONS:
        view = apply_condition(x, condition, drop_rate=0.0)
        present = condition_modalities(condition)
        for m in STEPS:
            assert np.all(view[f"{m}_mask"] == float(m in present)), (condition, m)


def test_drop_rate_one_zeroes_everything(rng):
    x = features(rng, 10)
    view = apply_condition(x, "lav", drop_rate=1.0, seed=3)
    for m in STEPS:
        np.testing.assert_array_equal(view[m], 0.0)
        np.testing.assert_array_equal(view[f"{m}_mask"], 0.0)


def test_drop_rate_drops_that_fraction_of_frames(rng):
    x = features(rng, 400)
    for p in (0.1, 0.5, 0.9):
        view = apply_condition(x, "lv", drop_rate=p, seed=1)
        for m in ("text", "vision"):
            mask = view[f"{m}_mask"]
            np.testing.assert_allclose(1 - mask.mean(), p, atol=0.02)
            np.testing.assert_array_equal(view[m][mask == 0], 0.0)
            np.testing.assert_array_equal(view[m][mask == 1], x[m][mask == 1])
        np.testing.assert_array_equal(view["audio_mask"], 0.0)


def test_condition_masks_are_keyed_by_seed_and_sample(rng):
    x = features(rng, 30)
    whole = apply_condition(x, "lav", drop_rate=0.4, seed=9)
    again = apply_condition(x, "lav", drop_rate=0.4, seed=9)
    other = apply_condition(x, "lav", drop_rate=0.4, seed=10)
    np.testing.assert_array_equal(whole["text_mask"], again["text_mask"])
    assert not np.array_equal(whole["text_mask"], other["text_mask"])
    # A batch of samples 10..19 gets the masks they get in the whole split.
    part = apply_condition(
        {m: v[10:20] for m, v in x.items()},
        "lav",
        drop_rate=0.4,
        seed=9,
        indices=np.arange(10, 20),
    )
    np.testing.assert_array_equal(part["audio_mask"], whole["audio_mask"][10:20])


def test_condition_lengths_remove_frames_beyond(rng):
    x = features(rng, 6)
    lengths = {"text": np.array([0, 3, 20, 5, 1, 19])}
    view = apply_condition(x, "lav", lengths=lengths)
    np.testing.assert_array_equal(view["text_mask"].sum(1), lengths["text"])
    np.testing.assert_array_equal(view["text"][:, 5:][view["text_mask"][:, 5:] == 0], 0)


def test_tensorflow_condition_equals_numpy_where_deterministic(rng):
    import tensorflow as tf

    x = features(rng, 8)
    tensors = {m: tf.constant(v) for m, v in x.items()}
    for condition, p in [("la", 0.0), ("v", 1.0), ("lav", 0.0), ("av", 0.0)]:
        expected = apply_condition(x, condition, drop_rate=p, seed=2)
        got = apply_condition_tf(tensors, condition, p, 2)
        for key, value in expected.items():
            np.testing.assert_array_equal(got[key].numpy(), value)


def test_tensorflow_condition_drop_rate(rng):
    import tensorflow as tf

    x = features(rng, 300)
    indices = tf.range(300, dtype=tf.int64)
    tensors = {m: tf.constant(v) for m, v in x.items()}
    condition = tf.function(
        lambda x, i: apply_condition_tf(x, "lav", 0.3, 4, indices=i)
    )
    view = condition(tensors, indices)
    again = condition(tensors, indices)
    for m in STEPS:
        mask = view[f"{m}_mask"].numpy()
        np.testing.assert_allclose(1 - mask.mean(), 0.3, atol=0.02)
        np.testing.assert_array_equal(mask, again[f"{m}_mask"].numpy())
        np.testing.assert_array_equal(view[m].numpy()[mask == 0], 0.0)
    # Keyed by sample index: a reversed batch gets the same masks, reversed.
    flipped = condition({m: v[::-1] for m, v in tensors.items()}, indices[::-1])
    np.testing.assert_array_equal(
        flipped["text_mask"].numpy()[::-1], view["text_mask"].numpy()
    )


def test_condition_argument_errors(rng):
    x = features(rng, 2)
    with pytest.raises(ValueError, match=r"drop_rate=1\.2"):
        apply_condition(x, "la", drop_rate=1.2)
    with pytest.raises(ValueError, match=r"drop_rate=-0\.5"):
        apply_condition(x, "la", drop_rate=-0.5)
    with pytest.raises(ValueError, match="'lx'"):
        apply_condition(x, "lx")
    with pytest.raises(ValueError, match="'lla'"):
        apply_condition(x, "lla")
    with pytest.raises(ValueError, match="seed=-1"):
        apply_condition(x, "la", drop_rate=0.1, seed=-1)
